#!/usr/bin/env bash
# bench/snapshot.sh -- the snapshots of the anonymous views against the base
# tables and the live anonymous views, in one run.
#
#   bash bench/snapshot.sh DBNAME [ROUNDS]     (ROUNDS: 5 by default)
#
# DBNAME holds the generated CRM (bench/crm_data.sql) with crm_privacy
# installed; labelled here as bench/views.sh does (bench/setup.sh: customer
# with k=5, 10 % opted out of direct marketing, 2 % of sensitive data).
# Makes the snapshots of privacy_anon.customer and privacy_anon.orders
# (timed), then each round, in alternating order:
#   - a full read (COPY (SELECT *) TO '/dev/null') of each table as its
#     owner, of its snapshot and of its live anonymous view as
#     crm_bench_reader (public clearance);
#   - 200 lookups of a customer by key (the table: its customer_id; the
#     snapshot: the pseudonymized customer_id), and 200 of a customer's
#     orders, each one planned and run (as a client's simple query is).
# Prints the median ms and the median of the per-round ratios.  Ratios
# only: nothing here fails on a time.
set -euo pipefail
db=$1
rounds=${2:-5}
here=$(cd "$(dirname "$0")" && pwd)
sql() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

bash "$here/setup.sh" "$db"
owner=$(sql -At -c "SELECT relowner::regrole FROM pg_class WHERE oid = 'public.customer'::regclass")
sql -At <<'EOF'
SET client_min_messages = warning;
VACUUM ANALYZE public.customer, public.orders;
\timing on
\echo making the snapshots (customer, then orders):
SELECT privacy.refresh_snapshot('public.customer');
SELECT privacy.refresh_snapshot('public.orders');
\timing off
-- 200 keys, and the pseudonyms the snapshot shows for them
DROP TABLE IF EXISTS public.bench_keys;
CREATE TABLE public.bench_keys AS
SELECT n, customer_id AS id FROM (SELECT row_number() OVER () AS n, customer_id
                                    FROM public.customer TABLESAMPLE SYSTEM (1) REPEATABLE (7) LIMIT 200) s;
ALTER TABLE public.bench_keys ADD COLUMN pseudonym bigint;
EOF
storage=$(sql -At -c "SELECT DISTINCT d.refobjid::regclass FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
                       JOIN pg_class c ON c.oid = d.refobjid AND c.relnamespace = 'privacy_snapshot_data'::regnamespace
                      WHERE r.ev_class = 'privacy_snapshot_anon.customer'::regclass")
sql <<EOF >/dev/null
UPDATE public.bench_keys k SET pseudonym = s.customer_id FROM $storage s WHERE s.crm_privacy_key = k.id;
GRANT SELECT ON public.bench_keys TO crm_bench_reader;
EOF
echo "$(sql -At -c 'SELECT count(*) FROM public.customer') customers, $(sql -At -c 'SELECT count(*) FROM public.orders') orders;" \
	"$(sql -At -c "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c WHERE c.relnamespace = 'privacy_snapshot_data'::regnamespace AND c.relkind = 'r'") in the snapshot tables (with indexes)"
sql -At -c "SELECT format('PostgreSQL %s, jit = %s, max_parallel_workers_per_gather = %s, %s rounds after a warm-up',
                          current_setting('server_version'), current_setting('jit'),
                          current_setting('max_parallel_workers_per_gather'), $rounds)"

sql <<EOF
CREATE FUNCTION pg_temp.ms(q text, reader name, loops int DEFAULT 0) RETURNS float8
LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz; k record; r record;
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', reader);
    t0 := clock_timestamp();
    IF loops = 0 THEN
        EXECUTE format('COPY (%s) TO %L', q, '/dev/null');
    ELSE
        FOR k IN SELECT * FROM public.bench_keys ORDER BY n LIMIT loops LOOP
            FOR r IN EXECUTE format(q, CASE WHEN q LIKE '%privacy_snapshot%' THEN k.pseudonym ELSE k.id END) LOOP
            END LOOP;
        END LOOP;
    END IF;
    RESET ROLE;
    RETURN 1000 * extract(epoch FROM clock_timestamp() - t0);
END \$\$;
CREATE TEMP TABLE case_ (n int, name text, base text, snap text, live text, loops int);
INSERT INTO case_ VALUES
 (1, 'full read customer', 'SELECT * FROM public.customer', 'SELECT * FROM privacy_snapshot_anon.customer', 'SELECT * FROM privacy_anon.customer', 0),
 (2, 'full read orders', 'SELECT * FROM public.orders', 'SELECT * FROM privacy_snapshot_anon.orders', 'SELECT * FROM privacy_anon.orders', 0),
 (3, '200 customer lookups by key', 'SELECT * FROM public.customer WHERE customer_id = %s',
     'SELECT * FROM privacy_snapshot_anon.customer WHERE customer_id = %s', NULL, 200),
 (4, '200 lookups of a customer''s orders', 'SELECT * FROM public.orders WHERE customer_id = %s',
     'SELECT * FROM privacy_snapshot_anon.orders WHERE customer_id = %s', NULL, 200);
CREATE TEMP TABLE t (round int, n int, base_ms float8, snap_ms float8, live_ms float8);
DO \$\$
DECLARE c record; b float8; s float8; l float8;
BEGIN
    FOR r IN 0..$rounds LOOP
        FOR c IN SELECT * FROM case_ ORDER BY n LOOP
            IF r % 2 = 0 THEN b := pg_temp.ms(c.base, '$owner', c.loops); END IF;
            s := pg_temp.ms(c.snap, 'crm_bench_reader', c.loops);
            l := CASE WHEN c.live IS NOT NULL THEN pg_temp.ms(c.live, 'crm_bench_reader', c.loops) END;
            IF r % 2 = 1 THEN b := pg_temp.ms(c.base, '$owner', c.loops); END IF;
            IF r > 0 THEN INSERT INTO t VALUES (r, c.n, b, s, l); END IF;
        END LOOP;
    END LOOP;
END \$\$;
\pset footer off
SELECT c.name AS "case",
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY base_ms)::numeric, 1) AS "table ms",
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY snap_ms)::numeric, 1) AS "snapshot ms",
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY snap_ms / base_ms)::numeric, 2) AS "snapshot/table",
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY live_ms)::numeric, 1) AS "live view ms",
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY live_ms / base_ms)::numeric, 2) AS "live/table"
  FROM t JOIN case_ c USING (n) GROUP BY c.n, c.name ORDER BY c.n;
EOF
sql -c "DROP TABLE public.bench_keys" >/dev/null
