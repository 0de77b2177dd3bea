--
-- planner: the standard and full views are plain views the planner flattens
-- into the reader's query.  Columns every reader sees in clear are plain
-- column references (statistics, indexes, join estimates and parallel plans
-- work as on the tables); masked columns stay masked in every place a
-- reader's condition can reach; the read audit counts the rows the views
-- produce at their tables' scans.
--
CREATE TEMP TABLE start AS SELECT coalesce(max(id), 0) AS id, count(*)::int AS n FROM privacy.access_log;
CREATE FUNCTION pg_temp.reads() RETURNS TABLE (relations text[], query text, row_count bigint)
LANGUAGE sql AS $$
    SELECT relations, query, row_count FROM privacy.access_log
     WHERE id > (SELECT id FROM start) ORDER BY id
$$;
-- The plan of a query (EXPLAIN options before FORMAT JSON), and facts about it.
CREATE FUNCTION pg_temp.plan_of(q text, options text DEFAULT '') RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE j jsonb;
BEGIN
    EXECUTE 'EXPLAIN (' || options || 'FORMAT JSON) ' || q INTO j;
    RETURN j;
END $$;
CREATE FUNCTION pg_temp.scans(q text) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(x->>'Node Type' || coalesce(' using ' || (x->>'Index Name'), '') || ' on '
                      || (x->>'Relation Name') || ' ' || (x->>'Alias'), '; ' ORDER BY x::text)
      FROM jsonb_path_query(pg_temp.plan_of(q), 'strict $.** ? (exists(@."Relation Name"))') x
$$;
CREATE FUNCTION pg_temp.join_rows(q text) RETURNS numeric LANGUAGE sql AS $$
    SELECT (x->>'Plan Rows')::numeric
      FROM jsonb_path_query(pg_temp.plan_of(q), 'strict $.** ? (@."Node Type" like_regex "Join|Nested Loop")') x
     LIMIT 1
$$;
CREATE FUNCTION pg_temp.has_node(q text, node text) RETURNS boolean LANGUAGE sql AS $$
    SELECT EXISTS (SELECT FROM jsonb_path_query(pg_temp.plan_of(q), 'strict $.**."Node Type"') x
                    WHERE x #>> '{}' = node)
$$;

CREATE TABLE pl_customer (id int PRIMARY KEY, name text, phone text, city text);
CREATE TABLE pl_orders (order_id int PRIMARY KEY, customer_id int REFERENCES pl_customer, amount numeric);
CREATE INDEX ON pl_orders (customer_id);
SELECT privacy.label_table('pl_customer', 'subject key=id');
SELECT privacy.label_column('pl_customer', 'id', 'public');
SELECT privacy.label_column('pl_customer', 'name', 'identifier mask=name');
SELECT privacy.label_column('pl_customer', 'phone', 'identifier level=secret mask=phone');
SELECT privacy.label_column('pl_customer', 'city', 'quasi_identifier');
SELECT privacy.label_table('pl_orders', 'related subject=public.pl_customer key=customer_id');
SELECT privacy.label_column('pl_orders', 'order_id', 'public');
SELECT privacy.label_column('pl_orders', 'customer_id', 'public');
SELECT privacy.label_column('pl_orders', 'amount', 'personal');
INSERT INTO pl_customer SELECT g, 'name ' || g, '1380000' || lpad(g::text, 4, '0'), 'city ' || g % 20
  FROM generate_series(1, 3000) g;
INSERT INTO pl_orders SELECT g, 1 + g % 3000, g FROM generate_series(1, 9000) g;
ANALYZE pl_customer, pl_orders;
SELECT relname, reloptions FROM pg_class
 WHERE oid IN ('privacy_standard.pl_customer'::regclass, 'privacy_full.pl_customer'::regclass,
               'privacy_anon.pl_customer'::regclass, 'privacy_optout_direct_marketing.pl_customer'::regclass)
 ORDER BY relnamespace::regnamespace::text;
CREATE ROLE regress_pl_public;
CREATE ROLE regress_pl_secret;
SELECT privacy.grant_access('regress_pl_public', 'standard');
SELECT privacy.grant_access('regress_pl_secret', 'standard');
SELECT privacy.grant_access('regress_pl_secret', 'full');
SELECT privacy.set_clearance('regress_pl_secret', 'secret');

SET ROLE regress_pl_public;
-- The first page by key reads the primary key index, as on the table.
SELECT pg_temp.scans('SELECT * FROM privacy_standard.pl_customer ORDER BY id LIMIT 10');
SELECT EXISTS (SELECT FROM jsonb_path_query(pg_temp.plan_of('SELECT * FROM privacy_standard.pl_orders WHERE customer_id = 42'),
                                             'strict $.**."Index Name"') x
                WHERE x #>> '{}' = 'pl_orders_customer_id_idx') AS lookup_uses_index;
-- A join through the views is estimated as the same join of the tables
-- (the owner's plan of the tables, below), also with a condition on a
-- column the reader sees in clear.  (A condition on a masked column is on
-- the masked value, estimated without the column's statistics.)
SELECT pg_temp.join_rows('SELECT c.city, sum(o.amount) FROM privacy_standard.pl_customer c
                          JOIN privacy_standard.pl_orders o ON o.customer_id = c.id GROUP BY c.city')
       AS view_join_rows \gset
SELECT pg_temp.join_rows('SELECT count(*) FROM privacy_standard.pl_customer c
                          JOIN privacy_standard.pl_orders o ON o.customer_id = c.id WHERE o.order_id <= 900')
       AS view_filtered_join_rows \gset
-- ... and can run in parallel.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET min_parallel_index_scan_size = 0;
SELECT pg_temp.has_node('SELECT c.city, sum(o.amount) FROM privacy_standard.pl_customer c
                         JOIN privacy_standard.pl_orders o ON o.customer_id = c.id GROUP BY c.city', 'Gather')
    OR pg_temp.has_node('SELECT c.city, sum(o.amount) FROM privacy_standard.pl_customer c
                         JOIN privacy_standard.pl_orders o ON o.customer_id = c.id GROUP BY c.city', 'Gather Merge')
       AS parallel;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET min_parallel_index_scan_size;

-- A reader's condition or function on a masked column only ever sees the
-- masked value, wherever the planner evaluates it (a function of the
-- reader's own, cheap and marked leakproof-looking, raising what it sees).
CREATE FUNCTION pg_temp.peek(text) RETURNS boolean LANGUAGE plpgsql COST 0.0001 AS $$
BEGIN
    RAISE NOTICE 'peek: %', $1;
    RETURN true;
END $$;
SELECT id FROM privacy_standard.pl_customer WHERE pg_temp.peek(name) AND pg_temp.peek(phone) AND id = 7;
SELECT count(*) AS by_real_phone FROM privacy_standard.pl_customer WHERE phone = '13800000007';
SELECT count(*) AS by_real_name FROM privacy_standard.pl_customer WHERE name = 'name 7';
SELECT count(*) AS joined_on_real_phone
  FROM privacy_standard.pl_customer c
  JOIN (VALUES ('13800000007'), ('13800000008')) v(p) ON v.p = c.phone;
RESET ROLE;
-- The owner's estimate of the same joins of the tables.
SELECT pg_temp.join_rows('SELECT c.city, sum(o.amount) FROM pl_customer c
                          JOIN pl_orders o ON o.customer_id = c.id GROUP BY c.city')
       AS table_join_rows \gset
SELECT pg_temp.join_rows('SELECT count(*) FROM pl_customer c
                          JOIN pl_orders o ON o.customer_id = c.id WHERE o.order_id <= 900')
       AS table_filtered_join_rows \gset
SELECT :view_join_rows / :table_join_rows BETWEEN 0.5 AND 2 AS join_estimate_within_2x,
       :view_filtered_join_rows / :table_filtered_join_rows BETWEEN 0.5 AND 2 AS filtered_join_estimate_within_2x;

-- The read audit counts the rows each recorded view's table scans read,
-- before any condition (the scans read them all: a condition on a column
-- the reader sees, here the city, is evaluated on each row): a join of two
-- full views (3000 customers + 9000 orders, with a condition too), a
-- parallel read, a secret reader's clear read of the standard view (100 rows
-- by the key's index), and neither the standard view of a reader who sees
-- nothing recorded in clear nor another view of the same query.
SELECT count(*) FROM privacy_full.pl_customer c JOIN privacy_full.pl_orders o ON o.customer_id = c.id;
SELECT count(*) FROM privacy_full.pl_customer c JOIN privacy_full.pl_orders o ON o.customer_id = c.id
 WHERE c.city = 'city 3';
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT pg_temp.has_node('SELECT count(*) FROM privacy_full.pl_orders', 'Gather') AS parallel_plan;
SELECT count(*) FROM privacy_full.pl_orders;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SET ROLE regress_pl_secret;
SELECT count(phone) FROM privacy_standard.pl_customer WHERE id <= 100;
SELECT count(*) FROM privacy_full.pl_customer f JOIN privacy_standard.pl_orders s ON s.customer_id = f.id
 WHERE f.id <= 10;
SELECT sum(amount) FROM privacy_standard.pl_orders;
RESET ROLE;
SET ROLE regress_pl_public;
SELECT count(phone) FROM privacy_standard.pl_customer;
RESET ROLE;
SELECT regress_wait_reads((SELECT n + 6 FROM start)) - (SELECT n FROM start) AS new_records;
SELECT * FROM pg_temp.reads();

-- A partitioned labelled table: its partitions' scans count for its views.
CREATE TABLE pl_visits (visit_id int, customer_id int, note text, PRIMARY KEY (visit_id, customer_id))
    PARTITION BY RANGE (customer_id);
CREATE TABLE pl_visits_low PARTITION OF pl_visits FOR VALUES FROM (0) TO (1000);
CREATE TABLE pl_visits_high PARTITION OF pl_visits FOR VALUES FROM (1000) TO (10000);
SELECT privacy.label_table('pl_visits', 'related subject=public.pl_customer key=customer_id');
SELECT privacy.label_column('pl_visits', 'note', 'personal');
INSERT INTO pl_visits SELECT g, 1 + g * 5 % 3000, 'note ' || g FROM generate_series(1, 600) g;
TRUNCATE start;
INSERT INTO start SELECT coalesce(max(id), 0), count(*) FROM privacy.access_log;
SELECT pg_temp.scans('SELECT count(*) FROM privacy_full.pl_visits');
SELECT count(*) FROM privacy_full.pl_visits;
SELECT count(*) FROM privacy_full.pl_visits WHERE customer_id >= 1000;
SELECT regress_wait_reads((SELECT n + 3 FROM start)) - (SELECT n FROM start) AS new_records;
SELECT * FROM pg_temp.reads();

-- A reader's own function in the WHERE of a flattened view runs in the scan
-- of the table, on every row it reads; those rows are counted before it, so
-- a condition that keeps no row, or an error on the first row it sees, does
-- not make the count smaller than what the reader's code saw.
CREATE FUNCTION pg_temp.sink(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS 'BEGIN RETURN false; END';
TRUNCATE start;
INSERT INTO start SELECT coalesce(max(id), 0), count(*) FROM privacy.access_log;
SET ROLE regress_pl_secret;
SELECT count(*) FROM privacy_full.pl_customer WHERE pg_temp.sink(name) AND pg_temp.sink(phone);
SELECT count(*) FROM privacy_standard.pl_customer WHERE pg_temp.sink(phone);
SELECT id FROM privacy_full.pl_customer WHERE id = 42 AND name::int = 0;
RESET ROLE;
SELECT regress_wait_reads((SELECT n + 3 FROM start)) - (SELECT n FROM start) AS new_records;
SELECT * FROM pg_temp.reads();
-- The count is first in the scan's filter (EXPLAIN shows it).
SELECT f #>> '{}' AS filter
  FROM jsonb_path_query(pg_temp.plan_of('SELECT * FROM privacy_full.pl_customer WHERE pg_temp.sink(name)'),
                        'strict $.**."Filter"') f;

-- EXPLAIN without ANALYZE reads no row, but its estimates come from the
-- statistics of the columns a view shows in clear (a reader could bisect
-- their values): an EXPLAIN that would be a recorded read is recorded, with
-- 0 rows; one of a reader who sees nothing recorded in clear is not.  (The
-- EXPLAIN just above is recorded too: wait for it first.)
SELECT regress_wait_reads((SELECT n + 4 FROM start)) - (SELECT n FROM start) AS earlier_records;
TRUNCATE start;
INSERT INTO start SELECT coalesce(max(id), 0), count(*) FROM privacy.access_log;
SET ROLE regress_pl_secret;
SELECT (pg_temp.plan_of('SELECT id FROM privacy_standard.pl_customer WHERE phone < ''13800001''') #>> '{0,Plan,Plan Rows}')::int > 0
       AS estimated;
SELECT (pg_temp.plan_of('SELECT id FROM privacy_full.pl_customer WHERE name = ''name 7''') #>> '{0,Plan,Plan Rows}')::int
       AS full_estimate;
RESET ROLE;
SET ROLE regress_pl_public;
SELECT (pg_temp.plan_of('SELECT id FROM privacy_standard.pl_customer WHERE phone < ''13800001''') #>> '{0,Plan,Plan Rows}')::int > 0
       AS estimated;
RESET ROLE;
SELECT regress_wait_reads((SELECT n + 2 FROM start)) - (SELECT n FROM start) AS new_records;
SELECT * FROM pg_temp.reads();

-- A column's statistics are its values: a reader's operator with a
-- selectivity estimator (matchingsel) would be called by the planner on the
-- most common values and histogram bounds of a column the reader sees in
-- clear, and the statement could then fail before it runs (no read
-- recorded).  While a query with a function of a user's own is planned,
-- only leakproof functions see a labelled table's statistics, unless the
-- reader itself may read the table: no NOTICE below (on the old code, one
-- per histogram bound of the phones and names).
CREATE SCHEMA pl_ops;
CREATE FUNCTION pl_ops.peek(text, text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RAISE NOTICE 'planner showed: %', $1;
    RETURN false;
END $$;
CREATE OPERATOR pl_ops.=== (LEFTARG = text, RIGHTARG = text, FUNCTION = pl_ops.peek, RESTRICT = matchingsel);
-- Built-in functions whose estimators call a user's function: neqsel calls
-- the negator's, scalarltsel the commutator's (a constant on the left), and
-- eqjoinsel, for a semi-join, the commutator's on both sides' most common
-- values.
CREATE OPERATOR pl_ops.<?> (LEFTARG = text, RIGHTARG = text, FUNCTION = pl_ops.peek);
CREATE OPERATOR pl_ops.<!> (LEFTARG = text, RIGHTARG = text, FUNCTION = pg_catalog.texteq,
                            NEGATOR = OPERATOR(pl_ops.<?>), RESTRICT = neqsel);
CREATE OPERATOR pl_ops.>@> (LEFTARG = text, RIGHTARG = text, FUNCTION = pl_ops.peek);
CREATE OPERATOR pl_ops.<@< (LEFTARG = text, RIGHTARG = text, FUNCTION = pg_catalog.text_lt,
                            COMMUTATOR = OPERATOR(pl_ops.>@>), RESTRICT = scalarltsel);
CREATE OPERATOR pl_ops.@= (LEFTARG = text, RIGHTARG = text, FUNCTION = pl_ops.peek);
CREATE OPERATOR pl_ops.=@ (LEFTARG = text, RIGHTARG = text, FUNCTION = pg_catalog.texteq,
                           COMMUTATOR = OPERATOR(pl_ops.@=), RESTRICT = eqsel, JOIN = eqjoinsel);
CREATE TABLE pl_ops.mine AS SELECT 'city ' || g % 3 AS x FROM generate_series(1, 300) g;
ANALYZE pl_ops.mine;
GRANT USAGE ON SCHEMA pl_ops TO regress_pl_secret;
GRANT SELECT ON pl_ops.mine TO regress_pl_secret;
SET ROLE regress_pl_secret;
SELECT (pg_temp.plan_of('SELECT id FROM privacy_standard.pl_customer WHERE phone OPERATOR(pl_ops.===) ''x''')
        #>> '{0,Plan,Plan Rows}')::int > 0 AS planned;
SELECT (pg_temp.plan_of('SELECT id FROM privacy_full.pl_customer WHERE name OPERATOR(pl_ops.===) ''x''')
        #>> '{0,Plan,Plan Rows}')::int > 0 AS planned;
SELECT (pg_temp.plan_of('SELECT id FROM privacy_full.pl_customer WHERE city OPERATOR(pl_ops.<!>) ''x''')
        #>> '{0,Plan,Plan Rows}')::int > 0 AS negator_planned;
SELECT (pg_temp.plan_of('SELECT id FROM privacy_full.pl_customer WHERE ''x'' OPERATOR(pl_ops.<@<) phone')
        #>> '{0,Plan,Plan Rows}')::int > 0 AS commutator_planned;
SELECT (pg_temp.plan_of('SELECT m.x FROM pl_ops.mine m WHERE EXISTS (SELECT FROM privacy_full.pl_customer c
                                                                    WHERE c.city OPERATOR(pl_ops.=@) m.x)')
        #>> '{0,Plan,Plan Rows}')::int > 0 AS semijoin_planned;
-- A query with built-in functions only is estimated with every statistic
-- (numeric comparisons are not leakproof): 100 orders have amount > 8900.
SELECT (pg_temp.plan_of('SELECT count(*) FROM privacy_standard.pl_orders WHERE amount > 8900')
        #>> '{0,Plan,Plans,0,Plan Rows}')::int BETWEEN 50 AND 200 AS estimated_from_histogram;
RESET ROLE;
DROP SCHEMA pl_ops CASCADE;
-- (The EXPLAINs are recorded reads: wait for them.)
SELECT regress_wait_reads((SELECT n + 8 FROM start)) - (SELECT n FROM start) AS earlier_records;

-- The clearance is decided when the query is planned (as PostgreSQL does
-- with row-level security): a key lookup's plan has no subplan, and each
-- column is the column itself or its mask.
TRUNCATE start;
INSERT INTO start SELECT coalesce(max(id), 0), count(*) FROM privacy.access_log;
SET ROLE regress_pl_public;
SELECT jsonb_path_exists(p, 'strict $.**."Subplan Name"') AS has_subplans, p #> '{0,Plan,Output}' AS output
  FROM pg_temp.plan_of('SELECT * FROM privacy_standard.pl_customer WHERE id = 7', 'VERBOSE, ') p;
RESET ROLE;
SET ROLE regress_pl_secret;
SELECT jsonb_path_exists(p, 'strict $.**."Subplan Name"') AS has_subplans, p #> '{0,Plan,Output}' AS output
  FROM pg_temp.plan_of('SELECT * FROM privacy_standard.pl_customer WHERE id = 7', 'VERBOSE, ') p;
RESET ROLE;
-- A prepared statement's generic plan (JDBC's after five runs) and a
-- PL/pgSQL function's cached plan are made again for another role, after a
-- membership changes and after a clearance changes.
CREATE ROLE regress_pl_member;
SELECT privacy.grant_access('regress_pl_member', 'standard');
SET plan_cache_mode = force_generic_plan;
PREPARE pl_one(int) AS SELECT name, phone FROM privacy_standard.pl_customer WHERE id = $1;
CREATE FUNCTION pg_temp.phone_of(i int) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RETURN (SELECT phone FROM privacy_standard.pl_customer WHERE id = i);
END $$;
SET ROLE regress_pl_public;
EXECUTE pl_one(7);
SELECT pg_temp.phone_of(7);
RESET ROLE;
SET ROLE regress_pl_secret;
EXECUTE pl_one(7);
SELECT pg_temp.phone_of(7);
RESET ROLE;
SET ROLE regress_pl_member;
EXECUTE pl_one(7);
SELECT pg_temp.phone_of(7);
RESET ROLE;
GRANT regress_pl_secret TO regress_pl_member;
SET ROLE regress_pl_member;
EXECUTE pl_one(7);
SELECT pg_temp.phone_of(7);
RESET ROLE;
REVOKE regress_pl_secret FROM regress_pl_member;
SET ROLE regress_pl_member;
EXECUTE pl_one(7);
SELECT pg_temp.phone_of(7);
RESET ROLE;
SELECT privacy.set_clearance('regress_pl_member', 'secret');
SET ROLE regress_pl_member;
EXECUTE pl_one(7);
SELECT pg_temp.phone_of(7);
RESET ROLE;
SELECT privacy.set_clearance('regress_pl_member', NULL);
SET ROLE regress_pl_member;
EXECUTE pl_one(7);
SELECT pg_temp.phone_of(7);
RESET ROLE;
-- A reader's own "(SELECT privacy.clearance_level())" is its clearance too
-- (compared by an operator, as in the views, it is replaced by the planning
-- role's clearance); one with a condition is never taken for the views'
-- (and gives NULL here).
SET ROLE regress_pl_public;
SELECT (SELECT privacy.clearance_level()) AS own, (SELECT privacy.clearance_level() WHERE false) AS filtered,
       (SELECT privacy.clearance_level() LIMIT 0) AS limited;
RESET ROLE;
DEALLOCATE pl_one;
RESET plan_cache_mode;
-- Recorded: the secret reader's and the member's reads while cleared (the
-- phone in clear), and the EXPLAIN of the secret reader.
SELECT regress_wait_reads((SELECT n + 7 FROM start)) - (SELECT n FROM start) AS new_records;
SELECT * FROM pg_temp.reads();
SELECT privacy.revoke_access('regress_pl_member', 'standard');
DROP ROLE regress_pl_member;

SELECT privacy.revoke_access(r, k) FROM unnest(ARRAY['regress_pl_public', 'regress_pl_secret']::regrole[]) r,
       unnest(ARRAY['standard', 'full']) k WHERE NOT (r = 'regress_pl_public'::regrole AND k = 'full');
SELECT privacy.set_clearance('regress_pl_secret', NULL);
DROP TABLE pl_visits, pl_orders, pl_customer;
DROP FUNCTION pg_temp.peek(text);
DROP ROLE regress_pl_public;
DROP ROLE regress_pl_secret;
