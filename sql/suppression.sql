--
-- suppression: the anonymous view of a related table leaves out the rows of
-- the subjects the subject's anonymous view suppresses (k-anonymity), so
-- that no suppressed customer's orders stay, linkable by their pseudonym.
--
CREATE TABLE sp_customer (id bigint PRIMARY KEY, name text, city text, born int);
CREATE TABLE sp_orders (order_id int PRIMARY KEY, customer_id bigint REFERENCES sp_customer, amount numeric);
SELECT privacy.label_table('sp_customer', 'subject key=id k=2');
SELECT privacy.label_table('sp_orders', 'related subject=public.sp_customer key=customer_id');
SELECT privacy.label_column('sp_customer', 'id', 'identifier anon=pseudonym');
SELECT privacy.label_column('sp_customer', 'name', 'identifier');
SELECT privacy.label_column('sp_customer', 'city', 'quasi_identifier anon=keep');
SELECT privacy.label_column('sp_customer', 'born', 'quasi_identifier anon=generalize(10)');
SELECT privacy.label_column('sp_orders', 'order_id', 'public');
SELECT privacy.label_column('sp_orders', 'customer_id', 'identifier anon=pseudonym');
SELECT privacy.label_column('sp_orders', 'amount', 'personal anon=keep');
-- Classes of the anonymized quasi-identifiers: (北京, 1980) has 3, (上海,
-- 1990) 2, (广州, 1980) 1 (customer 6), (北京, 1990) 1 (customer 7).
INSERT INTO sp_customer VALUES
    (1, 'a', '北京', 1981), (2, 'b', '北京', 1985), (3, 'c', '北京', 1989),
    (4, 'd', '上海', 1990), (5, 'e', '上海', 1999), (6, 'f', '广州', 1980), (7, 'g', '北京', 1991);
INSERT INTO sp_orders SELECT i, 1 + i % 7, i * 10 FROM generate_series(1, 28) i;
INSERT INTO sp_orders VALUES (100, NULL, 5);   -- an order of no customer
SELECT count(*) AS customers, count(*) FILTER (WHERE city IS NOT NULL) AS with_city FROM privacy_anon.sp_customer;
-- The orders of customers 6 and 7 (4 each) are gone; the one of no customer stays.
SELECT count(*) AS orders FROM privacy_anon.sp_orders;
SELECT count(*) AS orders_of_no_customer FROM privacy_anon.sp_orders WHERE customer_id IS NULL;
-- No order links to a customer the anonymous view does not show.
SELECT count(*) AS orphans
  FROM privacy_anon.sp_orders o
 WHERE o.customer_id IS NOT NULL
   AND NOT EXISTS (SELECT FROM privacy_anon.sp_customer c WHERE c.id = o.customer_id);
SELECT sum(amount) AS revenue FROM privacy_anon.sp_orders;
-- A reader's condition never goes below the suppression (an index condition
-- there would make EXPLAIN ANALYZE count the suppressed orders meeting it,
-- an oracle on their values): it filters what is left.
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE j jsonb;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON, COSTS OFF) ' || q INTO j;
    RETURN j;
END $$;
SET enable_seqscan = off;
SELECT (SELECT count(DISTINCT x) FROM jsonb_path_query(p, 'lax $.**."Index Cond" ? (@ like_regex "order_id")') x)
           AS index_conditions_on_order_id,
       (SELECT string_agg(DISTINCT x #>> '{}', ', ')
          FROM jsonb_path_query(p, 'lax $.** ? (@."Filter" like_regex "order_id >= ")."Node Type"') x)
           AS reader_condition_on
  FROM pg_temp.plan_of('SELECT * FROM privacy_anon.sp_orders WHERE order_id >= 20') p;
-- (the same query on the table: the index is used)
SELECT (SELECT count(DISTINCT x) FROM jsonb_path_query(p, 'lax $.**."Index Cond" ? (@ like_regex "order_id")') x)
           AS index_conditions_on_order_id
  FROM pg_temp.plan_of('SELECT * FROM sp_orders WHERE order_id >= 20') p;
RESET enable_seqscan;
SELECT sum(amount) AS revenue_of_shown_customers FROM sp_orders WHERE customer_id IS NULL OR customer_id NOT IN (6, 7);
-- The data changes: a second customer in (广州, 1980) makes customer 6 and
-- their orders visible, at once.
INSERT INTO sp_customer VALUES (8, 'h', '广州', 1982);
SELECT count(*) AS orders FROM privacy_anon.sp_orders;
-- The subject's k changes: its related tables' anonymous views follow.
SELECT privacy.label_table('sp_customer', 'subject key=id k=3');
SELECT count(*) AS customers FROM privacy_anon.sp_customer;
SELECT count(*) AS orders FROM privacy_anon.sp_orders;
SELECT privacy.label_table('sp_customer', 'subject key=id');
SELECT count(*) AS orders FROM privacy_anon.sp_orders;
DROP TABLE sp_orders, sp_customer;
