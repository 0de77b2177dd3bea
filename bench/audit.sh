#!/usr/bin/env bash
# bench/audit.sh -- the cost of the audit, in one run.
#
#   bash bench/audit.sh DBNAME [SECONDS] [reads]
#
# DBNAME holds the labelled CRM of bench/views.sh.  Measures, with pgbench
# (2 clients, prepared statements, SECONDS each, 30 by default):
#   - UPDATE of one customer (two labelled columns change), alternated three
#     times (each pass: no audit, the C trigger, the PL/pgSQL trigger): with no audit, with
#     crm_privacy's change audit (a C trigger), with the same audit written as
#     a PL/pgSQL trigger, and with pgaudit logging the statements (when pgaudit
#     is preloaded: it logs statement text, not values);
#   - point lookups in privacy_full.customer, each recorded in
#     privacy.access_log by the read audit, against the same view definition
#     outside privacy_full (not recorded), and the base table; with 1 and 2
#     clients; with 2 clients, recorded against unrecorded as a ratio (the
#     goal is at least 0.8).
# With "reads" as third argument, only the 2-client recorded/unrecorded
# comparison runs (privacy_full.customer against the same view definition
# outside privacy_full), each SECONDS, and the ratio is printed.
set -euo pipefail
db=$1
seconds=${2:-30}
only=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
sql() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

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
cat >"$tmp/update.sql" <<EOF
\\set id random(1, $n)
UPDATE public.customer SET loyalty_points = loyalty_points + 1, mobile = mobile || '0' WHERE customer_id = :id;
EOF
run() { pgbench -n -M prepared -c "${2:-2}" -j "${2:-2}" -T "$seconds" -f "$1" "$db" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'; }
row() { awk -v r="$1" -v t="$2" -v b="$3" 'BEGIN { printf "%-58s %10.0f %10.2f\n", r, t, b / t }'; }
# a variant's TPS as a fraction of the unaudited TPS
rowf() { awk -v r="$1" -v t="$2" -v b="$3" 'BEGIN { printf "%-58s %10.0f %10.2f\n", r, t, t / b }'; }

# The UPDATE variants, alternated three times (none, C trigger, PL/pgSQL
# trigger in each pass) so that a change in the machine's load hits all.
audit_none() { sql -c "SELECT privacy.disable_audit('public.customer')
                       WHERE EXISTS (SELECT FROM pg_trigger WHERE tgrelid = 'public.customer'::regclass AND tgname = 'crm_privacy_audit')" \
                   -c "DROP TRIGGER IF EXISTS bench_plpgsql_audit ON public.customer" >/dev/null; }
audit_c() { audit_none; sql -c "SELECT privacy.enable_audit('public.customer')" >/dev/null; }
audit_plpgsql() { audit_none; sql -c "CREATE TRIGGER bench_plpgsql_audit AFTER UPDATE ON public.customer
                                       FOR EACH ROW EXECUTE FUNCTION public.bench_plpgsql_audit()" >/dev/null; }
if [ "$only" != reads ]; then
echo
echo "UPDATE of one customer, two labelled columns changed (pgbench, 3 x ${seconds} s each, alternated, 2 clients):"
printf '%-58s %10s %10s\n' variant tps "x none"
none=0 c=0 plpgsql=0
for _ in 1 2 3; do
	audit_none; none=$(awk -v a="$none" -v b="$(run "$tmp/update.sql")" 'BEGIN { print a + b }')
	audit_c; c=$(awk -v a="$c" -v b="$(run "$tmp/update.sql")" 'BEGIN { print a + b }')
	audit_plpgsql; plpgsql=$(awk -v a="$plpgsql" -v b="$(run "$tmp/update.sql")" 'BEGIN { print a + b }')
done
audit_none
rowf "no audit" "$(awk -v t="$none" 'BEGIN { print t / 3 }')" "$(awk -v t="$none" 'BEGIN { print t / 3 }')"
rowf "crm_privacy change audit (C trigger)" "$(awk -v t="$c" 'BEGIN { print t / 3 }')" "$(awk -v t="$none" 'BEGIN { print t / 3 }')"
rowf "the same audit as a PL/pgSQL trigger" "$(awk -v t="$plpgsql" 'BEGIN { print t / 3 }')" "$(awk -v t="$none" 'BEGIN { print t / 3 }')"
awk -v n="$none" -v c="$c" -v p="$plpgsql" 'BEGIN {
	printf "audited / unaudited: %.2f (goal >= 0.75); C trigger / PL/pgSQL trigger: %.2f (goal >= 1.5)\n", c / n, c / p }'
if [ "$(psql -X -At -d "$db" -c "SELECT current_setting('shared_preload_libraries') ~ 'pgaudit'")" = t ]; then
	t=$(PGOPTIONS="-c pgaudit.log=write" run "$tmp/update.sql")
	rowf "pgaudit, pgaudit.log = write (statement text only, 1 run)" "$t" "$(awk -v t="$none" 'BEGIN { print t / 3 }')"
else
	echo "pgaudit: not preloaded, skipped"
fi
audit_c

fi

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
unrec=0 rec=0
rounds=${ROUNDS:-3}
for _ in $(seq 1 "$rounds"); do
	lookup public.bench_full_unrecorded
	unrec=$(awk -v a="$unrec" -v b="$(run "$tmp/lookup.sql" 2)" 'BEGIN { print a + b }')
	lookup privacy_full.customer
	rec=$(awk -v a="$rec" -v b="$(run "$tmp/lookup.sql" 2)" 'BEGIN { print a + b }')
done
echo
echo "Recorded full-view point lookups, 2 clients (pgbench, $rounds x ${seconds} s each, alternated, as a superuser):"
awk -v u="$unrec" -v r="$rec" -v n="$rounds" 'BEGIN {
	printf "%-58s %10.0f\n", "same view definition outside privacy_full (not recorded)", u / n
	printf "%-58s %10.0f\n", "privacy_full.customer (each read recorded)", r / n
	printf "recorded / unrecorded: %.2f (goal >= 0.80)\n", r / u }'
sleep 3
echo "access_log rows of the recorded reads: $(psql -X -At -d "$db" -c "SELECT count(*) - $before FROM privacy.access_log WHERE relations = '{privacy_full.customer}'")"
