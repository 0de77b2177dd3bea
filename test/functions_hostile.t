#!/usr/bin/env bash
# Every SQL-callable function of schema privacy survives hostile calls.
#
# The functions are read from pg_proc, so a new function is covered without
# editing this file (a new argument type with no hostile values fails the
# test).  Each is called with NULLs, empty, huge (10 MB text, 100,000-element
# jsonb), extreme (integer limits, NaN, infinities, dates at the limits, huge
# intervals) and invalid arguments (regclass 0, system catalogs, views,
# sequences, indexes, composite types, a dropped table, unlabelled tables and
# columns, regrole 0, a dropped role, names with quotes and newlines, invalid
# labels, 1 MB contexts...): all NULL, a plausible call, each position with
# every value of its type, and combinations; once as an unprivileged role and
# once as a superuser, each call in a transaction rolled back, under
# statement_timeout.  Errors are expected; what fails the test is a crash
# (the session is lost, or "terminated by signal" in the server log), a call
# that hangs (57014), or an internal error (SQLSTATE class XX: an elog
# without a SQLSTATE, "cache lookup failed", "could not open relation").
# Trigger and event-trigger functions must refuse direct calls, and misfired
# triggers (wrong timing, level or event) must refuse cleanly.
#
# CRM_VALGRIND=1 (bash test/run.sh valgrind) allows slower calls.
. "$(dirname "$0")/tap.sh"

db=crm_hostile_$CRM_PRELOAD
work=$CRM_TMP/functions_hostile_$CRM_PRELOAD
mkdir -p "$work" && chmod 777 "$work"
timeout=${CRM_VALGRIND:+600s}
timeout=${timeout:-20s}
# the huge text: 10 MB (2 MB under valgrind)
huge=${CRM_VALGRIND:+2097152}
huge=${huge:-10485760}
log=$CRM_TMP/server.log
crashes_before=$(grep -cE 'terminated by signal|terminated by exception' "$log" 2>/dev/null || true)
postmaster_pid() { head -1 "$CRM_TMP/data/postmaster.pid" 2>/dev/null; }
pid_before=$(postmaster_pid)

q postgres "DROP DATABASE IF EXISTS $db" >/dev/null
q postgres "DROP ROLE IF EXISTS crm_hostile_user" >/dev/null
q postgres "DROP ROLE IF EXISTS crm_hostile_gone" >/dev/null
q postgres "CREATE DATABASE $db" >/dev/null
q postgres "CREATE ROLE crm_hostile_user LOGIN; CREATE ROLE crm_hostile_gone" >/dev/null

# The fixture: labelled subject tables (integer and text keys), a related
# table, audit, a pending change request, opt-outs, a disclosure profile;
# and every kind of relation that is not a labelled table.
out=$(psql -X -q -v ON_ERROR_STOP=1 -v huge="$huge" -d "$db" 2>&1 >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION crm_privacy;
GRANT CREATE ON SCHEMA public TO crm_hostile_user;
CREATE TABLE public.subj_int (id int PRIMARY KEY, email text, name text, phone text,
                              birth date, income numeric, note text);
CREATE TABLE public.subj_text (code text PRIMARY KEY, name text, seen timestamptz);
CREATE TABLE public.rel_int (id serial PRIMARY KEY, subj_id int REFERENCES public.subj_int,
                             amount numeric, at timestamp);
SELECT privacy.label_table('public.subj_int', 'subject key=id k=2');
SELECT privacy.label_column('public.subj_int', 'id', 'public');
SELECT privacy.label_column('public.subj_int', 'email', 'identifier mask=email anon=pseudonym');
SELECT privacy.label_column('public.subj_int', 'name', 'identifier level=secret mask=name');
SELECT privacy.label_column('public.subj_int', 'phone', 'identifier mask=phone anon=pseudonym');
SELECT privacy.label_column('public.subj_int', 'birth', 'quasi_identifier anon=generalize(year)');
SELECT privacy.label_column('public.subj_int', 'income', 'personal anon=noise(0.1)');
SELECT privacy.label_table('public.subj_text', 'subject key=code');
SELECT privacy.label_column('public.subj_text', 'name', 'identifier mask=name');
SELECT privacy.label_table('public.rel_int', 'related subject=public.subj_int key=subj_id');
SELECT privacy.label_column('public.rel_int', 'amount', 'personal anon=generalize(100)');
INSERT INTO public.subj_int
SELECT g, 'user' || g || '@example.com', '张三' || g, '1381234' || lpad(g::text, 4, '0'),
       date '1980-01-01' + g, g * 100, 'note ' || g
  FROM generate_series(1, 20) g;
INSERT INTO public.subj_text VALUES ('a', 'Ann', now()), ('b''q', 'Bob', now());
INSERT INTO public.rel_int (subj_id, amount, at) SELECT 1 + g % 20, g, now() FROM generate_series(1, 40) g;
SELECT privacy.enable_audit('public.subj_int');
SELECT privacy.enable_audit('public.rel_int');
SELECT privacy.request_change('public.subj_int', '1', 'email', 'new@example.com', 'the subject');
SELECT privacy.opt_out('public.subj_int', '2', 'direct_marketing');
SELECT privacy.create_disclosure('partner');
SELECT privacy.disclose('partner', 'public.subj_int', 'email', 'pseudonym');
SELECT privacy.seal_audit();

-- relations of every other kind
CREATE TABLE public.plain_t (a int, b text);
CREATE VIEW public.v_plain AS SELECT * FROM public.plain_t;
CREATE SEQUENCE public.seq_plain;
CREATE MATERIALIZED VIEW public.mv_plain AS SELECT 1 AS a;
CREATE INDEX idx_plain ON public.plain_t (a);
CREATE TYPE public.ct_plain AS (a int, b text);
CREATE TABLE public.part_t (id int, v text) PARTITION BY RANGE (id);
CREATE TABLE public.gone (a int);
CREATE TABLE public.hostile_gone AS SELECT 'public.gone'::regclass::oid AS relid,
                                           'crm_hostile_gone'::regrole::oid AS roleid;
DROP TABLE public.gone;
DROP ROLE crm_hostile_gone;
GRANT SELECT ON public.subj_int, public.plain_t TO crm_hostile_user;

-- Hostile values per argument type, as SQL expressions; ord 1 is the
-- plausible value of a "good" call.  Values the server cannot build
-- (an infinite interval before PostgreSQL 17) are dropped below.
CREATE TABLE public.hostile_values (typ regtype, ord int, expr text);
INSERT INTO public.hostile_values (typ, ord, expr)
SELECT t.typ, v.ord, v.expr
  FROM (VALUES ('text'::regtype)) t(typ),
       LATERAL (SELECT row_number() OVER () AS ord, e AS expr FROM unnest(ARRAY[
    $$'1'$$, 'NULL', $$''$$, $$' '$$, $$'a'$$, $$'direct_marketing'$$, $$'sensitive_data'$$,
    $$'partner'$$, $$'audit'$$, $$'standard'$$, $$'full'$$, $$'anon'$$, $$'optout'$$, $$'disclose'$$,
    $$'secret'$$, $$'public'$$, $$'year'$$, $$'decade'$$, $$'5 days'$$,
    $$'subject key=id'$$, $$'subject key=nosuch'$$,
    $$'related subject=public.subj_int key=subj_id'$$,
    $$'related subject=public.rel_int key=id'$$,
    $$'identifier level=secret mask=email anon=pseudonym'$$,
    $$'identifier mask=fn(pg_catalog.pg_sleep)'$$, $$'fn(public.nosuch)'$$,
    $$'personal mask=partial(2,2) anon=generalize(10)'$$,
    $$'quasi_identifier anon=noise(0.1)'$$, $$'partial(2,2)'$$, $$'partial(99999999999,-1)'$$,
    $$'generalize(1e400)'$$, $$'noise(NaN)'$$, $$'pseudonym'$$, $$'clearance=secret'$$,
    $$'subject key=' || repeat('k', 5000)$$,
    $$repeat('a', 1048576)$$, $$repeat('x', 10485760)$$, $$repeat('张', 100000)$$,
    $$repeat('a@', 100000) || 'b.c'$$,
    $$E'quote''s "dq" \\ back\nnewline\ttab\r'$$, $$E'\x01\x02\x7f'$$,
    $$'Robert''); DROP TABLE public.subj_int; --'$$, $$'%s%n%x%d%%'$$,
    $$'-1'$$, $$'2147483648'$$, $$'-9223372036854775809'$$, $$'99999999999999999999999999'$$,
    $$'NaN'$$, $$'-infinity'$$, $$'4714-11-24 BC'$$, $$E'e\u0301\u200b\ufeff'$$,
    $$E'\U0001F600'$$, $$'000000000000000000'$$, $$'11010519491231002X'$$,
    $$'4111111111111111'$$, $$'13812345678'$$, $$'a@b.c'$$, $$'b''q'$$
  ]) e) v
UNION ALL
SELECT t.typ::regtype, v.ord, v.expr
  FROM (VALUES ('int2', ARRAY['1', 'NULL', '0', '-1', '2', '100', '-32768', '32767']),
               ('int4', ARRAY['1', 'NULL', '0', '-1', '2', '7', '100', '-2147483648', '2147483647']),
               ('int8', ARRAY['1', 'NULL', '0', '-1', '2', '100', '-9223372036854775808',
                              '9223372036854775807']),
               ('numeric', ARRAY['1', 'NULL', '0', '-1', '0.5', '123456789.123456789',
                                 $$'NaN'::numeric$$, $$'Infinity'::numeric$$,
                                 $$'-Infinity'::numeric$$, $$('9' || repeat('0', 131071))::numeric$$,
                                 $$'1e-16383'::numeric$$]),
               ('float8', ARRAY['1', 'NULL', '0', $$'-0'::float8$$, '-1', '0.1', '2',
                                $$'NaN'::float8$$, $$'Infinity'::float8$$, $$'-Infinity'::float8$$,
                                '1.7976931348623157e308', '5e-324', '1e-300']),
               ('bool', ARRAY['true', 'NULL', 'false']),
               ('text[]', ARRAY[$$ARRAY['public.subj_int']$$, 'NULL', $$'{}'::text[]$$,
                                $$ARRAY[NULL]::text[]$$, $$ARRAY[E'a\nb', '"', '\\', '']$$,
                                $$array_fill('x'::text, ARRAY[10000])$$,
                                $$ARRAY[repeat('x', 1048576)]$$, $$'{{a,b},{c,d}}'::text[]$$,
                                $$'[5:6]={a,b}'::text[]$$]),
               ('bytea', ARRAY[$$'\x000102030405060708090a0b0c0d0e0f'::bytea$$, 'NULL', $$''::bytea$$,
                               $$'\x00'::bytea$$, $$decode(repeat('ff', 17), 'hex')$$,
                               $$decode(repeat('00', 1048576), 'hex')$$]),
               ('bytea[]', ARRAY[$$ARRAY['\x00'::bytea]$$, 'NULL', $$'{}'::bytea[]$$,
                                 $$ARRAY[NULL]::bytea[]$$, $$ARRAY[decode(repeat('ff', 32), 'hex'), '']$$,
                                 $$array_fill('\x01'::bytea, ARRAY[10000])$$,
                                 $$'{{"\\x00","\\x01"},{"\\x02","\\x03"}}'::bytea[]$$,
                                 $$'[5:6]={"\\x00","\\x01"}'::bytea[]$$]),
               ('date', ARRAY[$$'2000-02-29'::date$$, 'NULL', $$'4714-11-24 BC'::date$$,
                              $$'5874897-12-31'::date$$, $$'infinity'::date$$,
                              $$'-infinity'::date$$, $$'epoch'::date$$]),
               ('timestamp', ARRAY[$$'2000-02-29 12:34:56.789'::timestamp$$, 'NULL',
                                   $$'4714-11-24 00:00:00 BC'::timestamp$$,
                                   $$'294276-12-31 23:59:59.999999'::timestamp$$,
                                   $$'infinity'::timestamp$$, $$'-infinity'::timestamp$$]),
               ('timestamptz', ARRAY[$$'2000-02-29 12:34:56.789+08'::timestamptz$$, 'NULL',
                                     $$'4714-11-24 00:00:00+00 BC'::timestamptz$$,
                                     $$'294276-12-31 23:59:59.999999+00'::timestamptz$$,
                                     $$'infinity'::timestamptz$$, $$'-infinity'::timestamptz$$]),
               ('interval', ARRAY[$$'1 day'::interval$$, 'NULL', $$'0'::interval$$,
                                  $$'-1 day'::interval$$, $$'1 microsecond'::interval$$,
                                  $$'178000000 years'::interval$$, $$'-178000000 years'::interval$$,
                                  $$'2147483647 days 2562047788 hours'::interval$$,
                                  $$'-2147483648 months -2147483648 days'::interval$$,
                                  $$'infinity'::interval$$, $$'-infinity'::interval$$]),
               ('regclass', ARRAY[$$'public.subj_int'::regclass$$, 'NULL', '0::oid::regclass',
                                  $$'public.subj_text'::regclass$$, $$'public.rel_int'::regclass$$,
                                  $$'public.plain_t'::regclass$$, $$'pg_catalog.pg_class'::regclass$$,
                                  $$'pg_catalog.pg_authid'::regclass$$, $$'public.v_plain'::regclass$$,
                                  $$'public.seq_plain'::regclass$$, $$'public.mv_plain'::regclass$$,
                                  $$'public.idx_plain'::regclass$$, $$'public.ct_plain'::regclass$$,
                                  $$'public.part_t'::regclass$$,
                                  '(SELECT relid FROM public.hostile_gone)::regclass',
                                  '4294967295::oid::regclass',
                                  $$(SELECT reltoastrelid FROM pg_class WHERE oid = 'pg_proc'::regclass)::regclass$$,
                                  $$'privacy.audit_log'::regclass$$, $$'privacy.subject_choices'::regclass$$,
                                  $$'privacy_standard.subj_int'::regclass$$,
                                  $$'public.hostile_values'::regclass$$]),
               ('name', ARRAY[$$'email'$$, 'NULL', $$''$$, $$'id'$$, $$'name'$$, $$'code'$$,
                              $$'subj_id'$$, $$'note'$$, $$'nosuch'$$, $$'ctid'$$, $$'xmin'$$,
                              $$'tableoid'$$, $$repeat('n', 200)$$, $$E'a"b\nc'$$, $$'EMAIL'$$,
                              $$'........pg.dropped.7........'$$]),
               ('oid', ARRAY[$$'public.subj_int'::regclass::oid$$, 'NULL', '0::oid', '4294967295::oid',
                             '(SELECT relid FROM public.hostile_gone)::oid',
                             $$'privacy.subject_choices'::regclass::oid$$]),
               ('bigint[]', ARRAY[$$ARRAY[102008]::bigint[]$$, 'NULL', $$'{}'::bigint[]$$,
                                  $$'{-9223372036854775808,9223372036854775807}'::bigint[]$$,
                                  $$'{{1,2},{3,4}}'::bigint[]$$, $$'[5:6]={1,2}'::bigint[]$$,
                                  'ARRAY[NULL]::bigint[]', '(SELECT array_agg(g::bigint) FROM generate_series(1, 100000) g)']),
               ('oid[]', ARRAY[$$ARRAY['public.subj_int'::regclass::oid]$$, 'NULL', $$'{}'::oid[]$$,
                               $$'{0,4294967295}'::oid[]$$, $$'[5:6]={1,2}'::oid[]$$,
                               'ARRAY[NULL]::oid[]', '(SELECT array_agg(oid) FROM pg_class)']),
               ('regrole', ARRAY[$$'crm_hostile_user'::regrole$$, 'NULL', '0::oid::regrole',
                                 $$'postgres'::regrole$$, $$'pg_read_all_data'::regrole$$,
                                 $$'pg_database_owner'::regrole$$,
                                 '(SELECT roleid FROM public.hostile_gone)::regrole',
                                 '4294967295::oid::regrole']),
               ('jsonb', ARRAY[$$'{}'::jsonb$$, 'NULL', $$'[]'::jsonb$$, $$'null'::jsonb$$,
                               $$'"x"'::jsonb$$,
                               $$(repeat('[', 5000) || repeat(']', 5000))::jsonb$$,
                               '(SELECT jsonb_agg(g) FROM generate_series(1, 100000) g)',
                               '(SELECT jsonb_object_agg(g::text, g) FROM generate_series(1, 100000) g)'])
       ) t(typ, vals),
       LATERAL (SELECT row_number() OVER () AS ord, e AS expr FROM unnest(t.vals) e) v;

-- character(n) (the masks' second signatures): each text value as character,
-- and a few padded ones.
INSERT INTO public.hostile_values (typ, ord, expr)
SELECT 'bpchar'::regtype, ord, '(' || expr || ')::bpchar' FROM public.hostile_values WHERE typ = 'text'::regtype
UNION ALL
SELECT 'bpchar'::regtype, 1000 + ord, e
  FROM unnest(ARRAY[$$'13812345678'::char(20)$$, $$''::char(5)$$, $$'张 三'::char(9)$$,
                    $$repeat(' ', 1048576)::bpchar$$]) WITH ORDINALITY AS u(e, ord);
UPDATE public.hostile_values SET expr = replace(expr, '10485760', :'huge');
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT * FROM public.hostile_values LOOP
        BEGIN
            EXECUTE format('SELECT CAST(%s AS %s)', r.expr, r.typ);
        EXCEPTION WHEN OTHERS THEN
            DELETE FROM public.hostile_values v WHERE v.typ = r.typ AND v.ord = r.ord;
        END;
    END LOOP;
END $$;
SQL
)
[ -z "$out" ] || { echo "$out" | sed 's/^/# /'; echo "Bail out! the fixture failed"; exit 1; }

# The calls, built from pg_proc: all NULL, the plausible call, the defaults
# only, each position with every value of its type, the k-th value of every
# position, and pseudo-random combinations.  A function whose argument type
# has no hostile values gets a call that says so (and fails).
psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<'SQL' || { echo "Bail out! could not build the calls"; exit 1; }
CREATE TABLE public.hostile_calls (id serial PRIMARY KEY, fn regprocedure, kind text, call text);
CREATE FUNCTION pg_temp.arg(typ oid, k int) RETURNS text LANGUAGE sql AS $$
    SELECT format('CAST(%s AS %s)', v.expr, format_type(typ, NULL))
      FROM (SELECT expr, row_number() OVER (ORDER BY ord) - 1 AS i, count(*) OVER () AS n
              FROM public.hostile_values WHERE hostile_values.typ = arg.typ) v
     WHERE v.i = k % v.n $$;
CREATE FUNCTION pg_temp.pool(typ oid) RETURNS int LANGUAGE sql AS $$
    SELECT count(*)::int FROM public.hostile_values WHERE hostile_values.typ = pool.typ $$;
CREATE TEMP TABLE arglists (n serial, kind text, a text[]);
DO $$
DECLARE
    f record;
    r record;
    nargs int;
    args text[];
    base text[];
    k int;
    maxpool int;
    call text;
    wrap text;
BEGIN
    FOR f IN SELECT p.oid, p.proretset, p.prorettype, p.pronargs, p.pronargdefaults,
                    ARRAY(SELECT unnest(p.proargtypes)) AS types
               FROM pg_proc p
              WHERE p.pronamespace = 'privacy'::regnamespace
                AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)
              ORDER BY p.oid::regprocedure::text LOOP
        nargs := f.pronargs;
        base := ARRAY[]::text[];
        maxpool := 1;
        FOR i IN 1 .. nargs LOOP
            IF pg_temp.pool(f.types[i]) = 0 THEN
                INSERT INTO public.hostile_calls (fn, kind, call)
                VALUES (f.oid, 'plausible', format('no hostile values for type %s', format_type(f.types[i], NULL)));
                CONTINUE;
            END IF;
            base := base || pg_temp.arg(f.types[i], 0);
            maxpool := greatest(maxpool, pg_temp.pool(f.types[i]));
        END LOOP;
        -- the result goes through its output function, as psql would
        wrap := CASE WHEN f.proretset OR f.prorettype = 'record'::regtype
                     THEN 'SELECT pg_catalog.sum(pg_catalog.length(CAST(x AS pg_catalog.text))) FROM %s AS x'
                     ELSE 'SELECT pg_catalog.length(CAST(%s AS pg_catalog.text))' END;
        -- the candidate argument lists
        DELETE FROM arglists;
        INSERT INTO arglists (kind, a) SELECT 'null', array_fill('NULL'::text, ARRAY[nargs]) WHERE nargs > 0;
        INSERT INTO arglists (kind, a) VALUES ('plausible', base);
        IF f.pronargdefaults > 0 THEN
            INSERT INTO arglists (kind, a) VALUES ('plausible', base[1 : nargs - f.pronargdefaults]);
        END IF;
        FOR i IN 1 .. nargs LOOP
            FOR k IN 1 .. pg_temp.pool(f.types[i]) - 1 LOOP
                args := base;
                args[i] := pg_temp.arg(f.types[i], k);
                INSERT INTO arglists (kind, a) VALUES ('position', args);
            END LOOP;
        END LOOP;
        IF nargs > 1 THEN
            FOR k IN 1 .. maxpool - 1 LOOP
                INSERT INTO arglists (kind, a)
                SELECT 'combination', array_agg(pg_temp.arg(f.types[i], k + i) ORDER BY i)
                  FROM generate_series(1, nargs) i;
            END LOOP;
            FOR k IN 1 .. 6 LOOP
                INSERT INTO arglists (kind, a)
                SELECT 'combination', array_agg(pg_temp.arg(f.types[i],
                                 abs(hashtext(format('%s/%s/%s', f.oid::regprocedure, k, i)))) ORDER BY i)
                  FROM generate_series(1, nargs) i;
            END LOOP;
        END IF;
        FOR r IN SELECT (array_agg(kind ORDER BY n))[1] AS kind, a FROM arglists WHERE a IS NOT NULL OR nargs = 0
                   GROUP BY a ORDER BY min(n) LOOP
            call := format(wrap, format('%s(%s)', f.oid::regproc, array_to_string(r.a, ', ')));
            INSERT INTO public.hostile_calls (fn, kind, call) VALUES (f.oid, r.kind, call);
        END LOOP;
    END LOOP;
END $$;
-- Trigger and event-trigger functions: called directly.
INSERT INTO public.hostile_calls (fn, kind, call)
SELECT p.oid, 'plausible', format('SELECT %s()', p.oid::regproc)
  FROM pg_proc p
 WHERE p.pronamespace = 'privacy'::regnamespace
   AND p.prorettype IN ('trigger'::regtype, 'event_trigger'::regtype)
 ORDER BY p.oid::regprocedure::text;
GRANT SELECT ON public.hostile_calls, public.hostile_values TO crm_hostile_user;
SQL

# Run every call as ROLE, each in a transaction rolled back.  A lost session
# (a crash) is recorded against the call that was running, the server is
# waited for, and the calls go on after it.
run_calls() {
	local role=$1 from=0 rc script results
	results=$work/results-$role
	: >"$results"
	while :; do
		script=$work/calls-$role.sql
		{
			echo '\set VERBOSITY verbose'
			echo '\set SHOW_CONTEXT never'
			echo "SET statement_timeout = '$timeout';"
			echo "SET client_min_messages = error;"
			psql -X -At -d "$db" -c "SELECT format(E'\\\\warn @@ %s\\nBEGIN \\\\; %s;\\nROLLBACK;', id, call)
			                           FROM public.hostile_calls WHERE id > $from AND ($2) ORDER BY id"
		} >"$script"
		rc=0
		psql -X -q -U "$role" -d "$db" -f "$script" >/dev/null 2>"$work/stderr-$role" || rc=$?
		# "@@ id" starts a call; keep its first ERROR's SQLSTATE and message
		LC_ALL=C awk -v OFS='\t' '
			/^@@ [0-9]+$/ { id = $2; next }
			id != "" && !(id in seen) && match($0, /ERROR:  [0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z]: /) {
				seen[id] = 1
				msg = substr($0, RSTART + 15, 200)
				gsub(/[^ -~]|\\/, "?", msg)
				print id, substr($0, RSTART + 8, 5), msg
			}
			END { print "last", id }' "$work/stderr-$role" >"$work/parsed-$role"
		grep -av '^last' "$work/parsed-$role" >>"$results" || true
		if grep -aqE 'server closed the connection|connection to server was lost|terminated abnormally' \
				"$work/stderr-$role"; then
			from=$(sed -n 's/^last\t//p' "$work/parsed-$role")
			printf '%s\tCRASH\tthe server crashed (session lost)\n' "$from" >>"$results"
			for _ in $(seq 1 600); do
				psql -X -q -d "$db" -c 'SELECT 1' >/dev/null 2>&1 && break
				sleep 0.2
			done
			continue
		fi
		[ "$rc" -eq 0 ] || { sed 's/^/# /' "$work/stderr-$role" | tail -5; printf '0\tPSQL\tpsql failed (%s)\n' "$rc" >>"$results"; }
		break
	done
}

start=$(date +%s)
if [ -n "${CRM_VALGRIND:-}" ]; then
	# under valgrind: every position as a superuser; the unprivileged role's
	# calls, mostly refused, only all NULL and plausible
	run_calls crm_hostile_user "kind IN ('null', 'plausible')"
	run_calls postgres "kind <> 'combination'"
else
	run_calls crm_hostile_user true
	run_calls postgres true
fi
elapsed=$(( $(date +%s) - start ))

q "$db" "CREATE TABLE public.hostile_results (id int, role text, sqlstate text, message text)" >/dev/null
for role in crm_hostile_user postgres; do
	sed "s/^\([^\t]*\)\t/\1\t$role\t/" "$work/results-$role" |
		psql -X -q -d "$db" -c "\\copy public.hostile_results FROM STDIN" || true
done

ncalls=$(q "$db" "SELECT count(*) FROM public.hostile_calls")
nfuncs=$(q "$db" "SELECT count(DISTINCT fn) FROM public.hostile_calls")
nproc=$(q "$db" "SELECT count(*) FROM pg_proc WHERE pronamespace = 'privacy'::regnamespace")
echo "# $nfuncs functions, $ncalls calls per role, in ${elapsed}s"
plan $((2 * nfuncs + 7))

is "$nfuncs" "$nproc" "every function of schema privacy is called"

# One assertion per function and role.
q "$db" "
SELECT r.role || '|' || c.fn::text || '|' ||
       count(*) FILTER (WHERE x.sqlstate ~ '^XX' OR x.sqlstate IN ('CRASH', '57014', 'PSQL')
                        OR c.call LIKE 'no hostile values%')
  FROM public.hostile_calls c
 CROSS JOIN (VALUES ('crm_hostile_user'), ('postgres')) r(role)
  LEFT JOIN public.hostile_results x ON x.role = r.role AND x.id = c.id
 GROUP BY r.role, c.fn::text ORDER BY c.fn::text, r.role" >"$work/summary"
while IFS='|' read -r role fn bad; do
	if [ "$bad" = 0 ]; then
		ok 0 "$fn as $role: no crash, hang or internal error"
	else
		ok 1 "$fn as $role: no crash, hang or internal error"
		q "$db" "(SELECT format('%s %s [%s] %s', x.id, x.sqlstate, left(x.message, 150), left(c.call, 300))
		            FROM public.hostile_results x JOIN public.hostile_calls c ON c.id = x.id
		           WHERE x.role = '$role' AND c.fn::text = '$fn'
		             AND (x.sqlstate ~ '^XX' OR x.sqlstate IN ('CRASH', '57014', 'PSQL'))
		           ORDER BY x.id LIMIT 8)
		         UNION ALL
		         SELECT c.call FROM public.hostile_calls c
		          WHERE c.fn::text = '$fn' AND c.call LIKE 'no hostile values%'" | sed 's/^/#   /'
	fi
done <"$work/summary"

# Trigger and event-trigger functions refuse direct calls.
out=$(q "$db" "SELECT string_agg(c.fn::text || ' ' || coalesce(x.sqlstate, 'no error'), ', ' ORDER BY c.id)
                 FROM public.hostile_calls c
                 LEFT JOIN public.hostile_results x ON x.id = c.id AND x.role = 'postgres'
                WHERE (SELECT prorettype FROM pg_proc WHERE oid = c.fn) IN ('trigger'::regtype, 'event_trigger'::regtype)
                  AND coalesce(x.sqlstate, '') NOT IN ('0A000', '39P01', '39P03')")
is "$out" "" "trigger and event-trigger functions refuse direct calls (39P01, 39P03)"

# Misfired triggers: every trigger function of privacy at every timing and
# level on a scratch table, every event-trigger function on every event.
# Each must refuse cleanly or do its job; none may crash or fail internally.
misfire=$(psql -X -q -d "$db" 2>&1 <<SQL
SET statement_timeout = '$timeout';
\set VERBOSITY verbose
\set SHOW_CONTEXT never
DO \$\$
DECLARE
    f regproc;
    timing text;
    level text;
    ev text;
    st text;
    msg text;
BEGIN
    CREATE TABLE public.misfire (a int, b text);
    FOR f IN SELECT p.oid FROM pg_proc p WHERE p.pronamespace = 'privacy'::regnamespace
                AND p.prorettype = 'trigger'::regtype ORDER BY p.oid::regprocedure::text LOOP
        FOREACH timing IN ARRAY ARRAY['BEFORE', 'AFTER'] LOOP
            FOREACH level IN ARRAY ARRAY['ROW', 'STATEMENT'] LOOP
                BEGIN
                    EXECUTE format('CREATE TRIGGER misfire %s INSERT OR UPDATE OR DELETE ON public.misfire'
                                   ' FOR EACH %s EXECUTE FUNCTION %s()', timing, level, f);
                    INSERT INTO public.misfire VALUES (1, 'x');
                    UPDATE public.misfire SET b = 'y';
                    DELETE FROM public.misfire;
                    RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'rolled back';
                EXCEPTION WHEN OTHERS THEN
                    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
                    IF st ~ '^XX' THEN
                        RAISE WARNING 'MISFIRE % % %: % %', f, timing, level, st, msg;
                    END IF;
                END;
            END LOOP;
        END LOOP;
    END LOOP;
    FOR f IN SELECT p.oid FROM pg_proc p WHERE p.pronamespace = 'privacy'::regnamespace
                AND p.prorettype = 'event_trigger'::regtype ORDER BY p.oid::regprocedure::text LOOP
        FOREACH ev IN ARRAY ARRAY['ddl_command_start', 'ddl_command_end', 'sql_drop', 'table_rewrite'] LOOP
            BEGIN
                EXECUTE format('CREATE EVENT TRIGGER misfire ON %s EXECUTE FUNCTION %s()', ev, f);
                ALTER TABLE public.misfire ADD COLUMN c int;
                ALTER TABLE public.misfire ALTER COLUMN c TYPE bigint;
                ALTER TABLE public.misfire DROP COLUMN c;
                CREATE TABLE public.misfire2 (a int);
                DROP TABLE public.misfire2;
                RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'rolled back';
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
                IF st ~ '^XX' THEN
                    RAISE WARNING 'MISFIRE % %: % %', f, ev, st, msg;
                END IF;
            END;
        END LOOP;
    END LOOP;
    DROP TABLE public.misfire;
END \$\$;
SQL
)
is "$misfire" "" "misfired triggers and event triggers refuse cleanly (no crash, no internal error)"
[ -z "$misfire" ] || printf '%s\n' "$misfire" | head -10 | sed 's/^/#   /'

# The server is still up: a fresh session works, no backend died.
is "$(q "$db" "SELECT 1")" "1" "a fresh session works after all the calls"
crashes_after=$(grep -cE 'terminated by signal|terminated by exception' "$log" 2>/dev/null || true)
is "$crashes_after" "$crashes_before" "no server process was terminated by a signal"
[ "$crashes_after" = "$crashes_before" ] || grep -E 'terminated by signal|terminated by exception' "$log" | tail -5 | sed 's/^/#   /'

is "$(postmaster_pid)" "$pid_before" "the postmaster is the same process"

# Each call must be fast enough for the suite (a guard against hangs that a
# generous timeout would hide).
slow=$(q "$db" "SELECT count(*) FROM public.hostile_results WHERE sqlstate = '57014'")
is "$slow" "0" "no call ran into statement_timeout ($timeout)"

[ -n "${KEEP_DB:-}" ] || {
	q postgres "DROP DATABASE IF EXISTS $db" >/dev/null
	q postgres "DROP ROLE IF EXISTS crm_hostile_user" >/dev/null
}
done_testing
