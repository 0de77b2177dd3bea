#!/usr/bin/env bash
# bench/audit.sh -- the cost of the audit, in one run.
#
#   bash bench/audit.sh DBNAME [SECONDS] [reads]
#
# DBNAME holds the labelled CRM of bench/views.sh.  Measures, with pgbench
# (2 clients, prepared statements, SECONDS each, 30 by default):
#   - UPDATE of one customer (two labelled columns change) with no audit,
#     with crm_privacy's change audit (a C trigger) and with the same audit
#     written as a PL/pgSQL trigger, alternated ROUNDS times (3 by default;
#     each round runs the three), each round's ratios and their medians; then
#     with pgaudit logging the statements (when pgaudit is preloaded: it logs
#     statement text, not values);
#   - point lookups in privacy_full.customer, each recorded in
#     privacy.access_log by the read audit, against the same view definition
#     outside privacy_full (not recorded), and the base table; with 1 and 2
#     clients; with 2 clients, recorded against unrecorded as a ratio (the
#     goal is at least 0.8).
# With "reads" as third argument, only the 2-client recorded/unrecorded
# comparison runs (privacy_full.customer against the same view definition
# outside privacy_full), each SECONDS, and the ratio is printed; with
# "updates", only the UPDATE rounds.
set -euo pipefail
db=$1
seconds=${2:-30}
only=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
sql() { PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

sql <<'EOF' >/dev/null
SET client_min_messages = warning;
SELECT privacy.disable_audit('public.customer')
 WHERE EXISTS (SELECT FROM pg_trigger WHERE tgrelid = 'public.customer'::regclass AND tgname = 'crm_privacy_audit');
DROP TRIGGER IF EXISTS bench_plpgsql_audit ON public.customer;
DROP TABLE IF EXISTS public.bench_audit_log;
CREATE TABLE public.bench_audit_log (
    id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), txid bigint NOT NULL,
    session_user_name name NOT NULL, current_user_name name NOT NULL, application_name text,
    client_addr inet, table_name text NOT NULL, op text NOT NULL, subject_key text,
    changed_columns text[], old_values jsonb, new_values jsonb);
-- The change audit as PL/pgSQL: the changed columns, non-public values as
-- pseudonyms (the public columns listed by hand: no label lookup at all).
CREATE OR REPLACE FUNCTION public.bench_plpgsql_audit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    o jsonb := to_jsonb(OLD);
    n jsonb := to_jsonb(NEW);
    k text;
    oc jsonb := '{}';
    nc jsonb := '{}';
    cols text[] := '{}';
BEGIN
    FOR k IN SELECT jsonb_object_keys(n) LOOP
        IF o->k IS DISTINCT FROM n->k THEN
            cols := cols || k;
            IF k = ANY ('{signup_at,city}') THEN
                oc := oc || jsonb_build_object(k, o->k);
                nc := nc || jsonb_build_object(k, n->k);
            ELSE
                oc := oc || jsonb_build_object(k, privacy.pseudonym(o->>k, 'audit'));
                nc := nc || jsonb_build_object(k, privacy.pseudonym(n->>k, 'audit'));
            END IF;
        END IF;
    END LOOP;
    INSERT INTO public.bench_audit_log (txid, session_user_name, current_user_name, application_name,
                                        client_addr, table_name, op, subject_key, changed_columns,
                                        old_values, new_values)
    VALUES (txid_current(), session_user, current_user, current_setting('application_name'),
            inet_client_addr(), TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, TG_OP,
            privacy.pseudonym(NEW.customer_id::text, 'audit'), cols, oc, nc);
    RETURN NULL;
END $$;
-- The full view's definition outside privacy_full: read, not recorded.
DROP VIEW IF EXISTS public.bench_full_unrecorded;
DO $$ BEGIN
    EXECUTE format('CREATE VIEW public.bench_full_unrecorded WITH (security_barrier) AS %s',
                   pg_get_viewdef('privacy_full.customer'::regclass));
END $$;
EOF

n=$(psql -X -At -d "$db" -c "SELECT max(customer_id) FROM public.customer")
# A customer earns points and gives a new mobile number: rows keep their size
# (a growing value would make every run slower than the one before).
cat >"$tmp/update.sql" <<EOF
\\set id random(1, $n)
\\set m random(13000000000, 19999999999)
UPDATE public.customer SET loyalty_points = loyalty_points + 1, mobile = :m WHERE customer_id = :id;
EOF
run() { pgbench -n -M prepared -c "${2:-2}" -j "${2:-2}" -T "$seconds" -f "$1" "$db" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'; }
row() { awk -v r="$1" -v t="$2" -v b="$3" 'BEGIN { printf "%-58s %10.0f %10.2f\n", r, t, b / t }'; }
# a variant's TPS as a fraction of the unaudited TPS
rowf() { awk -v r="$1" -v t="$2" -v b="$3" 'BEGIN { printf "%-58s %10.0f %10.2f\n", r, t, t / b }'; }

# The UPDATE variants, alternated ROUNDS times (3 unless set in the
# environment): each round runs no audit, the C trigger and the PL/pgSQL
# trigger, so that a change in the machine's speed hits all three.  Before
# each run the tables the last run wrote are vacuumed and a checkpoint is
# taken (as pgbench does for its own tables unless told -n), so that no run
# pays for the vacuum or the checkpoint its predecessor caused.
audit_none() { sql -c "SELECT privacy.disable_audit('public.customer')
                       WHERE EXISTS (SELECT FROM pg_trigger WHERE tgrelid = 'public.customer'::regclass AND tgname = 'crm_privacy_audit')" \
                   -c "DROP TRIGGER IF EXISTS bench_plpgsql_audit ON public.customer" >/dev/null; }
audit_c() { audit_none; sql -c "SELECT privacy.enable_audit('public.customer')" >/dev/null; }
audit_plpgsql() { audit_none; sql -c "CREATE TRIGGER bench_plpgsql_audit AFTER UPDATE ON public.customer
                                       FOR EACH ROW EXECUTE FUNCTION public.bench_plpgsql_audit()" >/dev/null; }
settle() { sql -c "VACUUM public.customer, privacy.audit_log, public.bench_audit_log" -c "CHECKPOINT" >/dev/null; }
# median of the numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
if [ "$only" != reads ]; then
rounds=${ROUNDS:-3}
echo
echo "UPDATE of one customer, two labelled columns changed (pgbench, $rounds x ${seconds} s each, alternated, 2 clients):"
printf '%-10s %10s %10s %10s %10s %10s\n' round "no audit" "C trigger" "PL/pgSQL" "C / none" "C / PL"
: >"$tmp/rounds"
for r in $(seq 1 "$rounds"); do
	audit_none; settle; none=$(run "$tmp/update.sql")
	audit_c; settle; c=$(run "$tmp/update.sql")
	audit_plpgsql; settle; plpgsql=$(run "$tmp/update.sql")
	echo "$none $c $plpgsql" >>"$tmp/rounds"
	awk -v r="$r" -v n="$none" -v c="$c" -v p="$plpgsql" \
		'BEGIN { printf "%-10s %10.0f %10.0f %10.0f %10.2f %10.2f\n", r, n, c, p, c / n, c / p }'
done
audit_none
awk '{ n += $1; c += $2; p += $3 } END {
	printf "%-10s %10.0f %10.0f %10.0f %10.2f %10.2f\n", "mean", n / NR, c / NR, p / NR, c / n, c / p }' "$tmp/rounds"
cn=$(awk '{ print $2 / $1 }' "$tmp/rounds" | median)
cp=$(awk '{ print $2 / $3 }' "$tmp/rounds" | median)
awk -v a="$cn" -v b="$cp" 'BEGIN {
	printf "audited / unaudited: median of the rounds %.2f (goal >= 0.75); C trigger / PL/pgSQL trigger: %.2f (goal >= 1.5)\n", a, b }'
if [ "$(psql -X -At -d "$db" -c "SELECT current_setting('shared_preload_libraries') ~ 'pgaudit'")" = t ]; then
	settle
	t=$(PGOPTIONS="-c pgaudit.log=write" run "$tmp/update.sql")
	rowf "pgaudit, pgaudit.log = write (statement text only, 1 run)" "$t" "$(awk '{ n += $1 } END { print n / NR }' "$tmp/rounds")"
else
	echo "pgaudit: not preloaded, skipped"
fi
audit_c

fi

[ "$only" = updates ] && exit 0

lookup() { printf '\\set id random(1, %s)\nSELECT * FROM %s WHERE customer_id = :id;\n' "$n" "$1" >"$tmp/lookup.sql"; }
if [ "$only" != reads ]; then
for clients in 1 2; do
	echo
	echo "Point lookups by key (pgbench, ${seconds} s, $clients client(s), as a superuser):"
	printf '%-58s %10s %10s\n' relation tps "x base"
	base=
	for rel in public.customer public.bench_full_unrecorded privacy_full.customer; do
		lookup "$rel"
		t=$(run "$tmp/lookup.sql" "$clients")
		[ -n "$base" ] || base=$t
		label=$rel
		[ "$rel" = privacy_full.customer ] && label="$rel (each read recorded)"
		row "$label" "$t" "$base"
	done
done
fi

# Recorded against unrecorded reads, 2 clients, alternated ROUNDS times (3
# unless set in the environment) so that a change in the machine's load hits
# both.
before=$(psql -X -At -d "$db" -c "SELECT count(*) FROM privacy.access_log WHERE relations = '{privacy_full.customer}'")
rounds=${ROUNDS:-3}
: >"$tmp/reads"
for _ in $(seq 1 "$rounds"); do
	sql -c "VACUUM privacy.access_log" -c "CHECKPOINT" >/dev/null
	lookup public.bench_full_unrecorded
	u=$(run "$tmp/lookup.sql" 2)
	sql -c "VACUUM privacy.access_log" -c "CHECKPOINT" >/dev/null
	lookup privacy_full.customer
	echo "$u $(run "$tmp/lookup.sql" 2)" >>"$tmp/reads"
done
echo
echo "Recorded full-view point lookups, 2 clients (pgbench, $rounds x ${seconds} s each, alternated, as a superuser):"
printf '%-10s %12s %12s %10s\n' round unrecorded recorded ratio
awk '{ printf "%-10s %12.0f %12.0f %10.2f\n", NR, $1, $2, $2 / $1; u += $1; r += $2 }
     END { printf "%-10s %12.0f %12.0f %10.2f\n", "mean", u / NR, r / NR, r / u }' "$tmp/reads"
awk -v m="$(awk '{ print $2 / $1 }' "$tmp/reads" | median)" 'BEGIN {
	printf "recorded / unrecorded: median of the rounds %.2f (goal >= 0.80)\n", m }'
sleep 3
echo "access_log rows of the recorded reads: $(psql -X -At -d "$db" -c "SELECT count(*) - $before FROM privacy.access_log WHERE relations = '{privacy_full.customer}'")"
