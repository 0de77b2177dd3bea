--
-- snapshot: snapshots of the anonymous and disclosure views, kept in tables
-- (indexed, analyzed) and read through views that apply opt-outs and
-- erasures as they are when read.
--
CREATE ROLE regress_sn_owner;
CREATE ROLE regress_sn_reader;
CREATE ROLE regress_sn_plain;
CREATE SCHEMA sn AUTHORIZATION regress_sn_owner;
GRANT USAGE ON SCHEMA sn TO PUBLIC;
SET ROLE regress_sn_owner;
-- The owner's code: a domain whose CHECK notes who runs it.
CREATE TABLE sn.ran_as (who name);
GRANT INSERT ON sn.ran_as TO PUBLIC;
CREATE FUNCTION sn.note(v int) RETURNS boolean LANGUAGE sql VOLATILE
    AS $$ INSERT INTO sn.ran_as VALUES (current_user); SELECT true $$;
GRANT EXECUTE ON FUNCTION sn.note(int) TO PUBLIC;
CREATE DOMAIN sn.points AS int CHECK (sn.note(VALUE));
CREATE TABLE sn.customer (id int PRIMARY KEY, name text, city text, born int, religion text, points sn.points);
CREATE TABLE sn.orders (order_id int PRIMARY KEY, customer_id int REFERENCES sn.customer, amount numeric);
INSERT INTO sn.customer
SELECT i, 'name ' || i, (ARRAY['北京', '上海', '广州'])[1 + i % 3], 1970 + i % 4,
       CASE WHEN i % 2 = 0 THEN 'religion ' || i END, i
  FROM generate_series(1, 40) i;
-- customer 41 alone in its class (深圳): suppressed with k=2; 42 and 43 a
-- class of 2 (成都)
INSERT INTO sn.customer VALUES (41, 'name 41', '深圳', 1970, 'religion 41', 41),
    (42, 'name 42', '成都', 1971, NULL, 42), (43, 'name 43', '成都', 1972, NULL, 43);
INSERT INTO sn.orders SELECT i, 1 + i % 41, i * 10 FROM generate_series(1, 123) i;
RESET ROLE;
SELECT privacy.label_table('sn.customer', 'subject key=id k=2');
SELECT privacy.label_table('sn.orders', 'related subject=sn.customer key=customer_id');
SELECT privacy.label_column('sn.customer', 'id', 'identifier anon=pseudonym');
SELECT privacy.label_column('sn.customer', 'name', 'identifier');
SELECT privacy.label_column('sn.customer', 'city', 'quasi_identifier anon=keep');
SELECT privacy.label_column('sn.customer', 'born', 'quasi_identifier anon=generalize(10)');
SELECT privacy.label_column('sn.customer', 'religion', 'sensitive anon=keep');
SELECT privacy.label_column('sn.customer', 'points', 'personal anon=keep');
SELECT privacy.label_column('sn.orders', 'order_id', 'public');
SELECT privacy.label_column('sn.orders', 'customer_id', 'identifier anon=pseudonym');
SELECT privacy.label_column('sn.orders', 'amount', 'personal anon=keep');
SELECT privacy.create_disclosure('sn_partner', 'direct_marketing');
SELECT privacy.disclose('sn_partner', 'sn.customer', 'id', 'pseudonym');
SELECT privacy.disclose('sn_partner', 'sn.customer', 'city', 'keep');
SELECT privacy.disclose('sn_partner', 'sn.customer', 'religion', 'keep');
SELECT privacy.grant_access('regress_sn_reader', 'anon');
SELECT privacy.grant_access('regress_sn_reader', 'disclose', 'sn_partner');
-- Two subjects opted out before the snapshots: 2 of direct marketing, 4 of
-- sensitive data.
SELECT privacy.opt_out('sn.customer', '2', 'direct_marketing');
SELECT privacy.opt_out('sn.customer', '4', 'sensitive_data');

-- Made (as a privacy administrator): rows as the view's.
DELETE FROM sn.ran_as;
SELECT privacy.refresh_snapshot('sn.customer') AS customers,
       privacy.refresh_snapshot('sn.orders') AS orders,
       privacy.refresh_snapshot('sn.customer', 'privacy_disclose_sn_partner') AS disclosed;
-- No code of the owner ran for it (the values keep their domain: its check
-- does not run again), and none as anyone else.
SELECT DISTINCT who FROM sn.ran_as;
SELECT table_name, views, snapshot_schema, refresh_every, row_count FROM privacy.snapshots ORDER BY 1, 2;
-- Indexed on the pseudonymized key (and the orders' primary key), analyzed.
SELECT c.relname ~ '^s[0-9]+$' AS named_by_id, c.reltuples,
       (SELECT string_agg(a.attname, ', ' ORDER BY a.attname)
          FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
         WHERE i.indrelid = c.oid) AS indexed,
       c.relowner::regrole AS owner,
       (SELECT string_agg(DISTINCT a.grantee::regrole::text, ', ') FROM aclexplode(c.relacl) a) AS grantees
  FROM pg_class c
 WHERE c.relnamespace = 'privacy_snapshot_data'::regnamespace AND c.relkind = 'r'
 ORDER BY c.reltuples;
SELECT c.oid::regclass AS snapshot_view, c.relowner::regrole AS owner, c.reloptions
  FROM pg_class c
 WHERE c.relnamespace::regnamespace::text LIKE 'privacy\_snapshot\_%' AND c.relkind = 'v'
 ORDER BY c.oid::regclass::text;

-- Each snapshot reads as its live view, row for row.
CREATE FUNCTION pg_temp.same(live text, snap text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE a bigint; b bigint; n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s', live) INTO n;
    EXECUTE format('SELECT count(*) FROM (SELECT * FROM %s EXCEPT ALL SELECT * FROM %s) x', live, snap) INTO a;
    EXECUTE format('SELECT count(*) FROM (SELECT * FROM %s EXCEPT ALL SELECT * FROM %s) x', snap, live) INTO b;
    RETURN format('%s rows, %s only live, %s only in the snapshot', n, a, b);
END $$;
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE j jsonb;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON, COSTS OFF) ' || q INTO j;
    RETURN j;
END $$;
SET ROLE regress_sn_reader;
SELECT pg_temp.same('privacy_anon.customer', 'privacy_snapshot_anon.customer') AS customer,
       pg_temp.same('privacy_anon.orders', 'privacy_snapshot_anon.orders') AS orders,
       pg_temp.same('privacy_disclose_sn_partner.customer', 'privacy_snapshot_disclose_sn_partner.customer') AS disclosed;
-- Suppressed: customer 41 and their 3 orders; opted out of sensitive data:
-- customer 4's religion.
SELECT count(*) AS customers, count(religion) AS religions FROM privacy_snapshot_anon.customer;
SELECT count(*) AS orders FROM privacy_snapshot_anon.orders;
-- The tables are nobody's to read.
DO $$ DECLARE r regclass; BEGIN
    FOR r IN SELECT c.oid FROM pg_class c
              WHERE c.relnamespace = 'privacy_snapshot_data'::regnamespace AND c.relkind = 'r' LOOP
        BEGIN
            EXECUTE format('SELECT count(*) FROM %s', r);
            RAISE NOTICE 'read %', r;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'refused (42501)';
        END;
    END LOOP;
END $$;
-- A lookup by the pseudonymized key can use the snapshot's index.
SET enable_seqscan = off;
SELECT (SELECT count(*) FROM jsonb_path_query(pg_temp.plan_of(
            format('SELECT * FROM privacy_snapshot_anon.customer WHERE id = %s',
                   (SELECT id FROM privacy_snapshot_anon.customer ORDER BY id LIMIT 1))),
            'lax $.**."Index Cond" ? (@ like_regex "\\(id = ")')) > 0 AS uses_index;
RESET enable_seqscan;
RESET ROLE;
-- EXPLAIN ANALYZE tells nothing of a choice the row does not show: customer
-- 7 (no religion) opts out of sensitive data, 9 (no religion) does not; a
-- lookup of either reads the same rows of the choices.
SELECT privacy.opt_out('sn.customer', '7', 'sensitive_data');
CREATE FUNCTION pg_temp.choice_rows(q text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE j jsonb;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON, COSTS OFF, TIMING OFF) ' || q INTO j;
    RETURN (SELECT coalesce(sum((x #>> '{}')::numeric), 0)
              FROM jsonb_path_query(j, 'lax $.** ? (@."Relation Name" == "subject_choices")."Actual Rows"') x);
END $$;
SELECT (SELECT id FROM privacy_snapshot_data.s1 WHERE crm_privacy_key = 7) AS p7,
       (SELECT id FROM privacy_snapshot_data.s1 WHERE crm_privacy_key = 9) AS p9 \gset
SET ROLE regress_sn_reader;
SELECT pg_temp.choice_rows('SELECT id FROM privacy_snapshot_anon.customer WHERE id = ' || :p7)
       = pg_temp.choice_rows('SELECT id FROM privacy_snapshot_anon.customer WHERE id = ' || :p9) AS same_choice_rows;
-- (also when each lookup probes the choices' index)
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SELECT pg_temp.choice_rows('SELECT id FROM privacy_snapshot_anon.customer WHERE id = ' || :p7)
       = pg_temp.choice_rows('SELECT id FROM privacy_snapshot_anon.customer WHERE id = ' || :p9) AS same_choice_rows;
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET ROLE;
SELECT privacy.opt_in('sn.customer', '7', 'sensitive_data');

-- Grants follow the live view's kind: given and taken after the snapshot.
SELECT privacy.grant_access('regress_sn_plain', 'anon');
SET ROLE regress_sn_plain;
SELECT count(*) AS plain_reads FROM privacy_snapshot_anon.customer;
RESET ROLE;
SELECT privacy.revoke_access('regress_sn_plain', 'anon');
SET ROLE regress_sn_plain;
SELECT count(*) AS plain_reads FROM privacy_snapshot_anon.customer;
RESET ROLE;
-- The columns say what they hold, as the live view's.
SELECT col_description('privacy_snapshot_anon.customer'::regclass, 3) AS city,
       col_description('privacy_anon.customer'::regclass, 3) AS live_city;

-- Opt-outs made after the refresh hold at once: customer 3 out of direct
-- marketing (gone from the disclosure snapshot), customer 6 out of
-- sensitive data (religion NULL in every snapshot).
SELECT privacy.opt_out('sn.customer', '3', 'direct_marketing');
SELECT privacy.opt_out('sn.customer', '6', 'sensitive_data');
SET ROLE regress_sn_reader;
SELECT count(*) AS disclosed, count(religion) AS disclosed_religions FROM privacy_snapshot_disclose_sn_partner.customer;
SELECT count(*) AS customers, count(religion) AS religions FROM privacy_snapshot_anon.customer;
SELECT pg_temp.same('privacy_anon.customer', 'privacy_snapshot_anon.customer') AS customer,
       pg_temp.same('privacy_disclose_sn_partner.customer', 'privacy_snapshot_disclose_sn_partner.customer') AS disclosed;
RESET ROLE;
-- An opt-in shows the subject again.
SELECT privacy.opt_in('sn.customer', '3', 'direct_marketing');
SELECT count(*) AS disclosed FROM privacy_snapshot_disclose_sn_partner.customer;

-- An erasure takes the subject out of every snapshot of its table and
-- related tables, in its own transaction (rows, not a rebuild): no copy of
-- the erased values stays.  The live views show the subject's row as the
-- erasure left it; the snapshots leave it out until their next refresh.
SELECT views, row_count FROM privacy.snapshot_data ORDER BY tbl, views;
SELECT privacy.erase_subject('sn.customer', '5') IS NOT NULL AS erased;
SELECT views, row_count FROM privacy.snapshot_data ORDER BY tbl, views;
-- The snapshot tables hold nothing of customer 5.
SELECT (SELECT count(*) FROM privacy_snapshot_data.s1 WHERE crm_privacy_key = 5) AS customer_rows,
       (SELECT count(*) FROM privacy_snapshot_data.s2 WHERE crm_privacy_key = 5) AS order_rows,
       (SELECT count(*) FROM privacy_snapshot_data.s3 WHERE crm_privacy_key = 5) AS disclosed_rows;
-- With k=2, a class the erasure leaves with fewer than 2 rows in the
-- snapshot goes with it, and the orders of its subjects: erasing 42 takes
-- 43 out of the snapshots too (stricter than the live view, which still
-- counts 42's erased row in the class).
SELECT privacy.erase_subject('sn.customer', '42') IS NOT NULL AS erased;
SELECT (SELECT count(*) FROM privacy_snapshot_data.s1 WHERE crm_privacy_key IN (42, 43)) AS customer_rows,
       (SELECT count(*) FROM privacy_snapshot_data.s2 WHERE crm_privacy_key IN (42, 43)) AS order_rows,
       (SELECT count(*) FROM privacy_snapshot_data.s3 WHERE crm_privacy_key IN (42, 43)) AS disclosed_43;
SELECT views, row_count FROM privacy.snapshot_data ORDER BY tbl, views;
SET ROLE regress_sn_reader;
SELECT pg_temp.same('privacy_anon.customer', 'privacy_snapshot_anon.customer') AS customer,
       pg_temp.same('privacy_anon.orders', 'privacy_snapshot_anon.orders') AS orders,
       pg_temp.same('privacy_disclose_sn_partner.customer', 'privacy_snapshot_disclose_sn_partner.customer') AS disclosed;
RESET ROLE;

-- Who may do what.
SET ROLE regress_sn_plain;
SELECT privacy.refresh_snapshot('sn.customer');
SELECT privacy.drop_snapshot('sn.customer');
SELECT privacy.schedule_snapshot('sn.customer', 'privacy_anon', '1 hour');
SELECT privacy.refresh_due_snapshots();
SELECT count(*) FROM privacy_snapshot_anon.customer;
RESET ROLE;
-- Bad arguments: a clear error, nothing made.
SELECT privacy.refresh_snapshot(NULL);
SELECT privacy.refresh_snapshot('sn.customer', NULL);
SELECT privacy.refresh_snapshot('sn.customer', 'privacy_standard');
SELECT privacy.refresh_snapshot('sn.customer', 'privacy_full');
SELECT privacy.refresh_snapshot('sn.customer', 'no_such_schema');
SELECT privacy.refresh_snapshot('sn.ran_as');
SELECT privacy.refresh_snapshot(0::oid::regclass);
SELECT privacy.drop_snapshot('sn.customer', 'privacy_disclose_no_such');
SELECT privacy.schedule_snapshot('sn.customer', 'privacy_anon', '59 seconds');
SELECT privacy.schedule_snapshot('sn.customer', 'privacy_anon', '178000000 years');
SELECT privacy.schedule_snapshot('sn.orders', 'privacy_disclose_sn_partner', '1 hour');
SELECT count(*) AS snapshots FROM privacy.snapshot_data;
-- A refresh sees what committed before each of its statements: not in a
-- REPEATABLE READ or SERIALIZABLE transaction (it could put erased values
-- back), nor an erasure that takes a subject out of snapshots.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT privacy.refresh_snapshot('sn.customer');
ROLLBACK;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT privacy.erase_subject('sn.customer', '7') IS NOT NULL;
ROLLBACK;
-- A reader's own view on a snapshot's view stops no erasure, nor a refresh.
SELECT privacy.grant_access('regress_sn_plain', 'anon');
CREATE SCHEMA sn_plain AUTHORIZATION regress_sn_plain;
SET ROLE regress_sn_plain;
CREATE VIEW sn_plain.mine AS SELECT id, city FROM privacy_snapshot_anon.customer;
RESET ROLE;
SELECT privacy.erase_subject('sn.customer', '8') IS NOT NULL AS erased;
SELECT privacy.refresh_snapshot('sn.customer') AS customers;
DROP SCHEMA sn_plain CASCADE;
SELECT privacy.revoke_access('regress_sn_plain', 'anon');
-- A type the snapshot's statistics would run the owner's code for: refused.
SET ROLE regress_sn_owner;
CREATE TYPE sn.mood AS (level int);
CREATE TABLE sn.odd (id int PRIMARY KEY, mood sn.mood);
RESET ROLE;
SELECT privacy.label_table('sn.odd', 'subject key=id');
SELECT privacy.label_column('sn.odd', 'mood', 'personal anon=keep');
SELECT privacy.refresh_snapshot('sn.odd');
SELECT privacy.label_table('sn.odd', NULL);

-- Row-level security: the live views apply the table's policies for each
-- reader, a snapshot could not.  Turning it on drops the table's snapshots
-- and its related tables'; a refresh is refused while it is on.
SET ROLE regress_sn_owner;
ALTER TABLE sn.customer ENABLE ROW LEVEL SECURITY;
RESET ROLE;
SELECT count(*) AS snapshots_left FROM privacy.snapshot_data;
SELECT to_regclass('privacy_snapshot_anon.orders') AS orders_view_left;
SELECT privacy.refresh_snapshot('sn.customer');
SELECT privacy.refresh_snapshot('sn.orders');
SET ROLE regress_sn_owner;
ALTER TABLE sn.customer DISABLE ROW LEVEL SECURITY;
RESET ROLE;
SELECT privacy.refresh_snapshot('sn.customer') AS customers,
       privacy.refresh_snapshot('sn.orders') AS orders,
       privacy.refresh_snapshot('sn.customer', 'privacy_disclose_sn_partner') AS disclosed;

-- The schedule: due when refresh_every has passed since the last refresh.
SELECT privacy.schedule_snapshot('sn.customer', 'privacy_anon', '1 hour');
SELECT privacy.refresh_due_snapshots() AS refreshed_now;
UPDATE privacy.snapshot_data SET refreshed_at = refreshed_at - interval '2 hours'
 WHERE tbl = 'sn.customer'::regclass AND views = 'privacy_anon';
SELECT privacy.refresh_due_snapshots() AS refreshed_when_due;
SELECT privacy.refresh_due_snapshots() AS refreshed_again;
SELECT privacy.schedule_snapshot('sn.customer', 'privacy_anon', NULL);
SELECT table_name, views, refresh_every FROM privacy.snapshots ORDER BY 1, 2;

-- Read audit: a snapshot's view is recorded as its live view is.  A column
-- of level secret kept in clear by anon=keep makes a read a clear read.
SELECT privacy.label_column('sn.customer', 'points', 'personal level=secret anon=keep');
SELECT privacy.refresh_snapshot('sn.customer') AS customers;
SELECT count(*) AS before FROM privacy.access_log \gset
SET ROLE regress_sn_reader;
SELECT count(points) AS points FROM privacy_snapshot_anon.customer WHERE city = '北京';
SELECT count(city) AS cities FROM privacy_snapshot_anon.customer;
RESET ROLE;
SELECT regress_wait_reads(:before + 1) - :before AS recorded;
SELECT relations, row_count, query FROM privacy.access_log ORDER BY id DESC LIMIT 1;

-- The live view changes (a treatment tightened): the snapshot, made from
-- the former view, answers with an error until it is refreshed; a comment
-- does not change what it shows.
COMMENT ON TABLE sn.customer IS 'customers';
SELECT table_name, views, out_of_date FROM privacy.snapshots ORDER BY 1, 2;
SELECT privacy.disclose('sn_partner', 'sn.customer', 'religion', 'null');
SELECT table_name, views, out_of_date FROM privacy.snapshots ORDER BY 1, 2;
SET ROLE regress_sn_reader;
SELECT count(religion) FROM privacy_snapshot_disclose_sn_partner.customer;
RESET ROLE;
SELECT privacy.refresh_due_snapshots() AS refreshed;
SET ROLE regress_sn_reader;
SELECT count(religion) AS religions FROM privacy_snapshot_disclose_sn_partner.customer;
SELECT pg_temp.same('privacy_disclose_sn_partner.customer', 'privacy_snapshot_disclose_sn_partner.customer') AS disclosed;
RESET ROLE;
SELECT privacy.disclose('sn_partner', 'sn.customer', 'religion', 'keep');
SELECT privacy.refresh_due_snapshots() AS refreshed;

-- The table gains a column: the snapshot is out of date until refreshed,
-- then has it; its view is replaced in place, so a reader's own view on it
-- stays.
CREATE SCHEMA sn_reader AUTHORIZATION regress_sn_reader;
SET ROLE regress_sn_reader;
CREATE VIEW sn_reader.cities AS SELECT city FROM privacy_snapshot_anon.customer;
RESET ROLE;
SET ROLE regress_sn_owner;
ALTER TABLE sn.customer ADD COLUMN note text;
RESET ROLE;
SELECT table_name, views, out_of_date FROM privacy.snapshots ORDER BY 1, 2;
SELECT count(*) AS columns_before FROM information_schema.columns
 WHERE table_schema = 'privacy_snapshot_anon' AND table_name = 'customer';
SELECT privacy.refresh_snapshot('sn.customer') AS customers;
SELECT count(*) AS columns_after FROM information_schema.columns
 WHERE table_schema = 'privacy_snapshot_anon' AND table_name = 'customer';
SET ROLE regress_sn_reader;
SELECT pg_temp.same('privacy_anon.customer', 'privacy_snapshot_anon.customer') AS customer;
SELECT count(*) AS cities FROM sn_reader.cities;
RESET ROLE;
DROP SCHEMA sn_reader CASCADE;

-- A related table with a k of its own: an erasure keeps its classes at k
-- or more in the snapshot too (visits of shop A: 3, B: 3; erasing the
-- customer with a visit at each leaves 2 and 2, and both classes go).
CREATE TABLE sn.visit (id int PRIMARY KEY, customer_id int REFERENCES sn.customer, shop text);
ALTER TABLE sn.visit OWNER TO regress_sn_owner;
INSERT INTO sn.visit VALUES (1, 10, 'A'), (2, 11, 'A'), (3, 12, 'A'), (4, 12, 'B'), (5, 13, 'B'), (6, 14, 'B');
SELECT privacy.label_table('sn.visit', 'related subject=sn.customer key=customer_id k=3');
SELECT privacy.label_column('sn.visit', 'id', 'public');
SELECT privacy.label_column('sn.visit', 'customer_id', 'identifier anon=pseudonym');
SELECT privacy.label_column('sn.visit', 'shop', 'quasi_identifier anon=keep');
SELECT privacy.refresh_snapshot('sn.visit') AS visits;
SELECT privacy.erase_subject('sn.customer', '12') IS NOT NULL AS erased;
SET ROLE regress_sn_reader;
SELECT shop, count(*) FROM privacy_snapshot_anon.visit GROUP BY shop ORDER BY shop;
RESET ROLE;
SELECT privacy.label_table('sn.visit', NULL);
DROP TABLE sn.visit;

-- Dropped: its view and table go.
SELECT privacy.drop_snapshot('sn.customer', 'privacy_disclose_sn_partner');
SELECT to_regclass('privacy_snapshot_disclose_sn_partner.customer') AS view_left;
SELECT to_regnamespace('privacy_snapshot_disclose_sn_partner') AS schema_left;
SELECT count(*) AS snapshot_tables FROM pg_class
 WHERE relnamespace = 'privacy_snapshot_data'::regnamespace AND relkind = 'r';
-- The table's views go (unlabelled, dropped): its snapshots go with them.
SELECT privacy.label_table('sn.orders', NULL);
SELECT to_regclass('privacy_snapshot_anon.orders') AS orders_view_left;
DROP TABLE sn.orders;
DROP TABLE sn.customer;
SELECT to_regclass('privacy_snapshot_anon.customer') AS customer_view_left;
SELECT count(*) AS snapshots, (SELECT count(*) FROM pg_class
 WHERE relnamespace = 'privacy_snapshot_data'::regnamespace) AS snapshot_relations FROM privacy.snapshot_data;

SELECT privacy.revoke_access('regress_sn_reader', 'anon');
SELECT privacy.drop_disclosure('sn_partner');
DROP SCHEMA sn CASCADE;
DROP ROLE regress_sn_owner;
DROP ROLE regress_sn_reader;
DROP ROLE regress_sn_plain;
