#!/usr/bin/env bash
# bench/bi.sh -- BI queries on the base tables and through the standard
# privacy views, in one run.
#
#   bash bench/bi.sh DBNAME [ROUNDS]     the benchmark (ROUNDS: 3 by default)
#   bash bench/bi.sh DBNAME explain NAME EXPLAIN (ANALYZE) of query NAME of
#                                        bench/bi_queries.sql, base and view
#
# DBNAME holds the generated CRM (bench/crm_data.sql) with crm_privacy
# installed; "bash test/run.sh bench" prepares it and calls this script after
# bench/views.sh.  Labels the data as bench/views.sh does (bench/setup.sh) and
# makes public.city_tier, a small dimension table without personal data.
#
# Every query of bench/bi_queries.sql runs as COPY (query) TO '/dev/null'
#   - on the base tables: search_path = public, as the tables' owner;
#   - through the standard views: search_path = privacy_standard, public, as
#     crm_bench_confidential (confidential clearance: the resident ID is
#     masked, the sensitive columns are NULL, the rest is in clear),
# the two one after the other (which goes first alternates), ROUNDS rounds
# after one round to warm up, all at the server's settings (JIT and parallel
# query as configured; planning time included).  It prints each query's
# median base and view time and the median of its per-round ratios
# view/base, then the median and the worst of those ratios over all queries;
# then the same for a full read of each table (SELECT *) through the standard
# view by crm_bench_reader (public clearance: every mask applied); then, for
# the queries in $explain below, what EXPLAIN (ANALYZE) shows of the plans on
# the base tables and through the views: the customer-orders join's estimated
# and actual rows, whether the customer key's index, a sort and a parallel
# plan are used.  Ratios only: nothing here fails on a time.
#
# When PostgreSQL Anonymizer's masking views are there (bench/anonymizer.sh
# made them: extension anon, mask.customer and mask.orders, with the masks
# of a public-clearance reader), every query and full read also runs
# through them (search_path = mask, public, as the tables' owner) in the
# same rounds, and its times and ratios to the tables are printed beside.
set -euo pipefail
db=$1
here=$(cd "$(dirname "$0")" && pwd)
sql() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

# The queries of bench/bi_queries.sql as SQL rows (n, name, what, query).
queries_sql() {
	awk '
	function flush() {
		if (name != "") {
			sub(/;[ \t\n]*$/, "", body)
			printf "(%d, $bi$%s$bi$, $bi$%s$bi$, $bi$%s$bi$),\n", n, name, what, body
		}
		name = ""; body = ""
	}
	/^-- @ / {
		flush(); n++
		line = substr($0, 6); i = index(line, ":")
		name = substr(line, 1, i - 1); what = substr(line, i + 2)
		next
	}
	/^--/ || /^[ \t]*$/ { next }
	name != "" { body = body $0 "\n" }
	END { flush() }' "$here/bi_queries.sql" | sed '$ s/,$//'
}

# bi_query: the queries.  pg_temp.bi_ms(query, role, search_path): COPY
# (query) TO '/dev/null' as role with that search_path: ms, and nrows, the
# rows it copied (printed when base and view differ).  A query that takes
# less than 20 ms is run again until 20 ms have passed, and ms is the mean
# (one run of a 0.1 ms query is mostly timer and scheduling noise).
functions='
CREATE TEMP TABLE bi_query (n int PRIMARY KEY, name text UNIQUE, what text, q text);
INSERT INTO bi_query VALUES '"$(queries_sql)"';
CREATE FUNCTION pg_temp.bi_ms(q text, reader name, path text, OUT ms float8, OUT nrows bigint)
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    runs int := 0;
BEGIN
    PERFORM set_config('"'"'search_path'"'"', path, true);
    EXECUTE format('"'"'SET LOCAL ROLE %I'"'"', reader);
    t0 := clock_timestamp();
    LOOP
        EXECUTE format('"'"'COPY (%s) TO %L'"'"', q, '"'"'/dev/null'"'"');
        runs := runs + 1;
        ms := 1000 * extract(epoch FROM clock_timestamp() - t0);
        EXIT WHEN ms >= 20 OR runs >= 1000;
    END LOOP;
    ms := ms / runs;
    GET DIAGNOSTICS nrows = ROW_COUNT;
    RESET ROLE;
    PERFORM set_config('"'"'search_path'"'"', '"'"'public'"'"', true);
END $$;
'

if [ "${2:-}" = explain ]; then
	name=$3
	sql <<EOF
$functions
SELECT q AS query FROM bi_query WHERE name = '$name' \gset
\echo '== $name on the base tables (search_path = public, table owner)'
SET search_path = public;
EXPLAIN (ANALYZE, VERBOSE, BUFFERS) :query;
\echo '== $name through privacy_standard (crm_bench_confidential)'
SET search_path = privacy_standard, public;
SET ROLE crm_bench_confidential;
EXPLAIN (ANALYZE, VERBOSE, BUFFERS) :query;
EOF
	exit 0
fi

rounds=${2:-3}
# The queries whose plans are compared (bench/bi_queries.sql names).
explain="city_revenue latest_order_contact orders_export first_page keyset_page point_lookup"

bash "$here/setup.sh" "$db"
sql <<'EOF' >/dev/null
SET client_min_messages = warning;
DROP TABLE IF EXISTS public.city_tier CASCADE;  -- and PostgreSQL Anonymizer's view of it
CREATE TABLE public.city_tier (city text PRIMARY KEY, region text NOT NULL, tier int NOT NULL);
INSERT INTO public.city_tier VALUES
    ('北京', '华北', 1), ('天津', '华北', 2), ('上海', '华东', 1), ('杭州', '华东', 2),
    ('南京', '华东', 2), ('青岛', '华东', 2), ('厦门', '华东', 2), ('广州', '华南', 1),
    ('深圳', '华南', 1), ('成都', '西南', 2), ('重庆', '西南', 2), ('武汉', '华中', 2),
    ('西安', '西北', 2);
GRANT SELECT ON public.city_tier TO crm_bench_reader, crm_bench_confidential;
GRANT SELECT ON public.orders TO crm_bench_reader, crm_bench_confidential;
VACUUM ANALYZE public.city_tier, public.customer, public.orders;
EOF

# PostgreSQL Anonymizer's masking views (bench/anonymizer.sh), if made.
anon=$(sql -At -c "SELECT count(*) FROM pg_extension WHERE extname = 'anon' AND to_regclass('mask.customer') IS NOT NULL
                                                       AND to_regclass('mask.orders') IS NOT NULL")
nq=$(queries_sql | grep -c '^(')
echo
echo "BI queries (bench/bi_queries.sql: $nq) on $(sql -At -c 'SELECT count(*) FROM public.customer') customers"
echo "and $(sql -At -c 'SELECT count(*) FROM public.orders') orders, base tables against privacy_standard;"
sql -At -c "SELECT format('PostgreSQL %s, jit = %s, max_parallel_workers_per_gather = %s, work_mem = %s, %s rounds after a warm-up',
                          current_setting('server_version'), current_setting('jit'),
                          current_setting('max_parallel_workers_per_gather'), current_setting('work_mem'), $rounds)"
owner=$(sql -At -c "SELECT relowner::regrole FROM pg_class WHERE oid = 'public.customer'::regclass")
[ "$anon" = 1 ] && echo "and through PostgreSQL Anonymizer $(sql -At -c "SELECT extversion FROM pg_extension WHERE extname = 'anon'")'s masking views (mask, public masks)"
sql -v anon="$anon" <<EOF
$functions
-- The full reads: base table as owner against the standard view by a
-- public-clearance reader.
INSERT INTO bi_query
SELECT 1000 + ord, 'full read ' || t, 'SELECT * of ' || t || ', public-clearance reader', 'SELECT * FROM ' || t
  FROM unnest(ARRAY['customer', 'orders']) WITH ORDINALITY AS u(t, ord);
CREATE TEMP TABLE bi_time (round int, n int, base_ms float8, view_ms float8,
                           base_rows bigint, view_rows bigint, anon_ms float8, anon_rows bigint);
CREATE FUNCTION pg_temp.bi_round(r int) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE
    x record;
    b record;
    v record;
    a_ms float8;
    a_rows bigint;
BEGIN
    FOR x IN SELECT * FROM bi_query ORDER BY n LOOP
        IF (r + x.n) % 2 = 0 THEN
            b := pg_temp.bi_ms(x.q, '$owner', 'public');
        END IF;
        v := pg_temp.bi_ms(x.q, CASE WHEN x.n > 1000 THEN 'crm_bench_reader' ELSE 'crm_bench_confidential' END,
                           'privacy_standard, public');
        IF $anon = 1 THEN
            SELECT ms, nrows INTO a_ms, a_rows FROM pg_temp.bi_ms(x.q, '$owner', 'mask, public');
        END IF;
        IF (r + x.n) % 2 = 1 THEN
            b := pg_temp.bi_ms(x.q, '$owner', 'public');
        END IF;
        INSERT INTO bi_time VALUES (r, x.n, b.ms, v.ms, b.nrows, v.nrows, a_ms, a_rows);
    END LOOP;
END \$\$;
\echo '  warm-up round'
SELECT pg_temp.bi_round(0) \g /dev/null
$(for r in $(seq 1 "$rounds"); do printf '\\echo '"'"'  round %d of %d'"'"'\nSELECT pg_temp.bi_round(%d) \\g /dev/null\n' "$r" "$rounds" "$r"; done)
\echo
CREATE TEMP TABLE bi_result AS
SELECT n, percentile_cont(0.5) WITHIN GROUP (ORDER BY base_ms) AS base_ms,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY view_ms) AS view_ms,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY view_ms / base_ms) AS ratio,
       max(base_rows) AS base_rows, max(view_rows) AS view_rows,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY anon_ms) AS anon_ms,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY anon_ms / base_ms) AS anon_ratio
  FROM bi_time WHERE round > 0 GROUP BY n;
\if :anon
SELECT q.n AS "#", q.name AS query, round(r.base_ms::numeric, CASE WHEN r.base_ms < 10 THEN 3 ELSE 1 END) AS "base ms",
       round(r.view_ms::numeric, CASE WHEN r.view_ms < 10 THEN 3 ELSE 1 END) AS "view ms", round(r.ratio::numeric, 2) AS "view/base",
       round(r.anon_ms::numeric, CASE WHEN r.anon_ms < 10 THEN 3 ELSE 1 END) AS "anon ms", round(r.anon_ratio::numeric, 2) AS "anon/base",
       r.base_rows || CASE WHEN r.view_rows <> r.base_rows THEN ' / ' || r.view_rows ELSE '' END AS "rows (base / view)"
  FROM bi_query q JOIN bi_result r USING (n) WHERE q.n < 1000 ORDER BY q.n;
\else
SELECT q.n AS "#", q.name AS query, round(r.base_ms::numeric, CASE WHEN r.base_ms < 10 THEN 3 ELSE 1 END) AS "base ms",
       round(r.view_ms::numeric, CASE WHEN r.view_ms < 10 THEN 3 ELSE 1 END) AS "view ms", round(r.ratio::numeric, 2) AS "view/base",
       r.base_rows || CASE WHEN r.view_rows <> r.base_rows THEN ' / ' || r.view_rows ELSE '' END AS "rows (base / view)"
  FROM bi_query q JOIN bi_result r USING (n) WHERE q.n < 1000 ORDER BY q.n;
\endif
SELECT count(*) AS queries,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ratio))::numeric, 2) AS "median view/base",
       CASE WHEN percentile_cont(0.5) WITHIN GROUP (ORDER BY ratio) <= 1.2 THEN 'met' ELSE 'MISSED' END AS "goal <= 1.2",
       round(max(ratio)::numeric, 2) AS "worst view/base",
       (SELECT name FROM bi_query JOIN bi_result USING (n) WHERE n < 1000 ORDER BY ratio DESC LIMIT 1) AS worst,
       CASE WHEN max(ratio) <= 2 THEN 'met' ELSE 'MISSED' END AS "goal <= 2",
       round(exp(avg(ln(ratio)))::numeric, 2) AS "geometric mean"
  FROM bi_result WHERE n < 1000;
\if :anon
SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY anon_ratio))::numeric, 2) AS "anon median anon/base",
       round(max(anon_ratio)::numeric, 2) AS "anon worst anon/base",
       round(exp(avg(ln(anon_ratio)))::numeric, 2) AS "anon geometric mean"
  FROM bi_result WHERE n < 1000;
\endif
\echo 'Full read (COPY (SELECT * FROM t)): base table as its owner, standard view as crm_bench_reader (public clearance):'
SELECT q.name AS read, round(r.base_ms::numeric, 1) AS "base ms", round(r.view_ms::numeric, 1) AS "view ms",
       round(r.ratio::numeric, 2) AS "view/base",
       CASE WHEN r.ratio <= 1.5 THEN 'met' ELSE 'MISSED' END AS "goal <= 1.5",
       round(r.anon_ms::numeric, 1) AS "anon ms", round(r.anon_ratio::numeric, 2) AS "anon/base"
  FROM bi_query q JOIN bi_result r USING (n) WHERE q.n > 1000 ORDER BY q.n;

-- Plans: EXPLAIN (ANALYZE, FORMAT JSON) as bi_ms runs the query.
CREATE FUNCTION pg_temp.bi_plan(q text, reader name, path text) RETURNS jsonb LANGUAGE plpgsql AS \$\$
DECLARE j jsonb;
BEGIN
    PERFORM set_config('search_path', path, true);
    EXECUTE format('SET LOCAL ROLE %I', reader);
    EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON) ' || q INTO j;
    RESET ROLE;
    PERFORM set_config('search_path', 'public', true);
    RETURN j;
END \$\$;
-- What a plan shows: the deepest join of customer and orders (else the scan
-- of customer) with its estimated and actual rows (per loop, as EXPLAIN
-- shows them), whether customer_pkey is used, a sort, parallel workers.
CREATE FUNCTION pg_temp.bi_facts(j jsonb, OUT node text, OUT est float8, OUT act float8,
                                 OUT index bool, OUT sort bool, OUT workers int,
                                 OUT jit_ms float8, OUT plan_ms float8, OUT exec_ms float8)
LANGUAGE sql AS \$\$
WITH RECURSIVE t(node, depth) AS (
    SELECT j->0->'Plan', 0
    UNION ALL
    SELECT p, t.depth + 1 FROM t, jsonb_array_elements(t.node->'Plans') AS p
), pick AS (
    SELECT node FROM t
     WHERE (node->>'Node Type' IN ('Hash Join', 'Merge Join', 'Nested Loop')
            AND node::text LIKE '%"Relation Name": "customer"%'
            AND node::text LIKE '%"Relation Name": "orders"%')
        OR node->>'Relation Name' = 'customer'
     ORDER BY node->>'Node Type' IN ('Hash Join', 'Merge Join', 'Nested Loop') DESC, depth DESC
     LIMIT 1
)
SELECT (SELECT node->>'Node Type' || coalesce(' (' || (node->>'Parent Relationship') || ')', '') FROM pick),
       (SELECT (node->>'Plan Rows')::float8 FROM pick),
       (SELECT (node->>'Actual Rows')::float8 FROM pick),
       j::text LIKE '%"Index Name": "customer_pkey"%',
       EXISTS (SELECT FROM t WHERE node->>'Node Type' IN ('Sort', 'Incremental Sort')),
       (SELECT coalesce(sum((node->>'Workers Launched')::int), 0) FROM t WHERE node ? 'Workers Launched'),
       (j->0->'JIT'->'Timing'->>'Total')::float8,
       (j->0->>'Planning Time')::float8,
       (j->0->>'Execution Time')::float8
\$\$;
CREATE TEMP TABLE bi_plans AS
SELECT q.n, q.name, k.ord, k.kind, (pg_temp.bi_facts(pg_temp.bi_plan(q.q, k.reader, k.path))).*
  FROM bi_query q,
       (VALUES (1, 'base', '$owner', 'public'),
               (2, 'view', 'crm_bench_confidential', 'privacy_standard, public')) AS k(ord, kind, reader, path)
 WHERE q.name = ANY (string_to_array('$explain', ' '))
 ORDER BY q.n, k.ord;
\echo 'Plans (EXPLAIN ANALYZE; rows of the deepest customer-orders join, else of the customer scan, per loop):'
SELECT p.name AS query, p.kind AS read, p.node, p.est::bigint AS "est rows", p.act::bigint AS "actual rows",
       round((p.est / greatest(p.act, 1))::numeric, 2) AS "est/actual",
       CASE p.kind WHEN 'view' THEN round((p.est / greatest(b.est, 1))::numeric, 2) END AS "est view/base",
       CASE WHEN p.index THEN 'yes' ELSE 'no' END AS "pkey index",
       CASE WHEN p.sort THEN 'yes' ELSE 'no' END AS sort, p.workers AS "workers",
       round(p.jit_ms::numeric, 1) AS "JIT ms", round(p.plan_ms::numeric, 1) AS "plan ms",
       round(p.exec_ms::numeric, 1) AS "exec ms"
  FROM bi_plans p JOIN bi_plans b ON b.n = p.n AND b.kind = 'base'
 ORDER BY p.n, p.ord;
EOF
echo "(times are medians over $rounds rounds; view/base is the median of each round's ratio;"
echo " the median and worst goals apply to the queries of bench/bi_queries.sql)"
