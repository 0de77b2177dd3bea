#!/usr/bin/env bash
# bench/views.sh -- the privacy views against their base table, in one run.
#
#   bash bench/views.sh DBNAME [SECONDS]
#
# DBNAME holds the generated CRM (bench/crm_data.sql) with crm_privacy
# installed; "bash test/run.sh bench" prepares it and calls this script.
# Labels the data (bench/setup.sh: labels, 10 % of the customers opted out of
# direct marketing and 2 % out of sensitive data, a disclosure profile, the
# reader roles), and then, reading as a role with public clearance (every
# mask applied):
#   - COPY (SELECT * FROM v) TO '/dev/null' for the base table and each kind of
#     view, best of three, so that every column of every row is computed;
#   - pgbench point lookups by key (WHERE customer_id = $1), SECONDS each
#     (20 by default), one client.
set -euo pipefail
db=$1
seconds=${2:-20}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bash "$here/setup.sh" "$db"

echo
echo "Privacy views on $(psql -X -At -d "$db" -c 'SELECT count(*) FROM public.customer') customers,"
echo "10 % opted out of direct marketing, read by a role with public clearance:"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'EOF'
SET ROLE crm_bench_reader;
SET max_parallel_workers_per_gather = 0;
SET jit = off;
CREATE FUNCTION pg_temp.copy_ms(rel text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; best float8 := 'Infinity';
BEGIN
    FOR i IN 1..3 LOOP
        t0 := clock_timestamp();
        EXECUTE format('COPY (SELECT * FROM %s) TO %L', rel, '/dev/null');
        best := least(best, 1000 * extract(epoch FROM clock_timestamp() - t0));
    END LOOP;
    RETURN best;
END $$;
CREATE TEMP TABLE bench_views AS
SELECT ord, kind, rel, goal, pg_temp.copy_ms(rel) AS ms
  FROM (VALUES (1, 'base table', 'public.customer', NULL::text),
               (2, 'full', 'privacy_full.customer', '<= 1.05 x base'),
               (3, 'standard', 'privacy_standard.customer', '<= 1.5 x base'),
               (4, 'opt-out', 'privacy_optout_direct_marketing.customer', '<= 1.15 x standard'),
               (5, 'anonymous (k=5)', 'privacy_anon.customer', '<= 2 x base'),
               (6, 'disclosure', 'privacy_disclose_bench_partner.customer', '<= 1.5 x base')) AS v(ord, kind, rel, goal);
SELECT v.kind, v.rel AS relation, round(v.ms::numeric, 0) AS "COPY ms",
       round((v.ms / b.ms)::numeric, 2) AS "x base",
       round((v.ms / s.ms)::numeric, 2) AS "x standard",
       v.goal,
       CASE v.ord WHEN 1 THEN '' WHEN 2 THEN CASE WHEN v.ms / b.ms <= 1.05 THEN 'met' ELSE 'MISSED' END
                  WHEN 3 THEN CASE WHEN v.ms / b.ms <= 1.5 THEN 'met' ELSE 'MISSED' END
                  WHEN 4 THEN CASE WHEN v.ms / s.ms <= 1.15 THEN 'met' ELSE 'MISSED' END
                  WHEN 5 THEN CASE WHEN v.ms / b.ms <= 2 THEN 'met' ELSE 'MISSED' END
                  ELSE CASE WHEN v.ms / b.ms <= 1.5 THEN 'met' ELSE 'MISSED' END END AS result
  FROM bench_views v, bench_views b, bench_views s
 WHERE b.ord = 1 AND s.ord = 3 ORDER BY v.ord;
-- The same standard view for a reader of confidential clearance, who sees most
-- columns in clear.
SET ROLE crm_bench_confidential;
SELECT pg_temp.copy_ms('privacy_standard.customer') AS confidential_ms \gset
RESET ROLE;
SELECT round(:confidential_ms::numeric, 0) AS "standard, confidential reader: COPY ms",
       round((:confidential_ms / b.ms)::numeric, 2) AS "x base"
  FROM bench_views b WHERE b.ord = 1;
EOF

echo
echo "Point lookups by key (pgbench, ${seconds} s each, 1 client, prepared statements):"
printf '%-45s %10s %10s\n' relation tps "x base"
base_tps=
for rel in public.customer privacy_full.customer privacy_standard.customer \
	privacy_optout_direct_marketing.customer privacy_disclose_bench_partner.customer; do
	printf '\\set id random(1, 1000000)\nSELECT * FROM %s WHERE customer_id = :id;\n' "$rel" >"$tmp/lookup.sql"
	tps=$(pgbench -n -M prepared -U crm_bench_reader -T "$seconds" -c 1 -f "$tmp/lookup.sql" "$db" 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
	[ -n "$base_tps" ] || base_tps=$tps
	awk -v r="$rel" -v t="$tps" -v b="$base_tps" 'BEGIN { printf "%-45s %10.0f %10.2f\n", r, t, b / t }'
done
echo "(goal: every view <= 2 x the base table's time per lookup; the anonymous view"
echo " pseudonymizes the key, so it has no lookup by key)"
