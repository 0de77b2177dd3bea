--
-- keys: a subject's choices hold whatever the key column's type: integers
-- of every width (all 19 digits of a bigint), numeric of any scale (1002.0
-- is 1002), uuid (in any case), text; and across a subject's key and a
-- related table's column of another, comparable type.  A key that does not
-- read as the key column's type is refused and nothing is written.
--
SET client_min_messages = warning;
CREATE TABLE k_big (id bigint PRIMARY KEY, name text);
INSERT INTO k_big VALUES (1234567890123456789, 'Snow Flake'), (9223372036854775807, 'Max Int'),
                         (-9223372036854775808, 'Min Int'), (7, 'Seven');
CREATE TABLE k_big_orders (order_id int PRIMARY KEY, customer bigint REFERENCES k_big, item text);
INSERT INTO k_big_orders VALUES (1, 1234567890123456789, 'skis'), (2, 7, 'tea'),
                                (3, 9223372036854775807, 'pen');
CREATE TABLE k_small (id smallint PRIMARY KEY, name text);
INSERT INTO k_small VALUES (32767, 'Top'), (1, 'One');
CREATE TABLE k_num (id numeric(12,0) PRIMARY KEY, name text);
INSERT INTO k_num VALUES (1002, 'Num Two'), (1003, 'Num Three');
CREATE TABLE k_num_orders (order_id int PRIMARY KEY, customer numeric(12,2), item text);
INSERT INTO k_num_orders VALUES (1, 1002.00, 'lamp'), (2, 1003, 'desk');
CREATE TABLE k_free (id numeric PRIMARY KEY, name text);
INSERT INTO k_free VALUES (1002.00, 'Free Two'), (1002.5, 'Free Half'), (3, 'Free Three');
CREATE TABLE k_uuid (id uuid PRIMARY KEY, name text);
INSERT INTO k_uuid VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'Uu One'),
                          ('b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', 'Uu Two');
CREATE TABLE k_text (id varchar(20) PRIMARY KEY, name text);
INSERT INTO k_text VALUES ('C-001', 'Tx Upper'), ('c-001', 'Tx Lower');
SECURITY LABEL FOR crm_privacy ON TABLE k_big IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON TABLE k_big_orders IS 'related subject=public.k_big key=customer';
SECURITY LABEL FOR crm_privacy ON TABLE k_small IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON TABLE k_num IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON TABLE k_num_orders IS 'related subject=public.k_num key=customer';
SECURITY LABEL FOR crm_privacy ON TABLE k_free IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON TABLE k_uuid IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON TABLE k_text IS 'subject key=id';
-- keys in clear, the rest private by default
SECURITY LABEL FOR crm_privacy ON COLUMN k_big.id IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN k_big_orders.order_id IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN k_big_orders.customer IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN k_small.id IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN k_num.id IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN k_num_orders.order_id IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN k_num_orders.customer IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN k_free.id IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN k_uuid.id IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN k_text.id IS 'public';
RESET client_min_messages;

SELECT privacy.opt_out('k_big', '1234567890123456789', 'direct_marketing');
SELECT privacy.opt_out('k_big', '+9223372036854775807', 'direct_marketing');
SELECT privacy.opt_out('k_big', '-9223372036854775808', 'direct_marketing');
SELECT privacy.opt_out('k_small', '32767', 'direct_marketing');
SELECT privacy.opt_out('k_num', '1002.0', 'direct_marketing');
SELECT privacy.opt_out('k_free', '1002.000', 'direct_marketing');
SELECT privacy.opt_out('k_uuid', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 'direct_marketing');
SELECT privacy.opt_out('k_text', 'C-001', 'direct_marketing');
-- Each choice is kept under the key's canonical spelling.
SELECT subject, key FROM privacy.choices WHERE subject::text LIKE 'k\_%' ORDER BY 1, 2;

-- The opted-out subjects and their related rows are gone from the purpose's views.
SELECT id FROM privacy_optout_direct_marketing.k_big ORDER BY id;
SELECT order_id FROM privacy_optout_direct_marketing.k_big_orders ORDER BY order_id;
SELECT id FROM privacy_optout_direct_marketing.k_small ORDER BY id;
SELECT id FROM privacy_optout_direct_marketing.k_num ORDER BY id;
SELECT order_id FROM privacy_optout_direct_marketing.k_num_orders ORDER BY order_id;
SELECT id FROM privacy_optout_direct_marketing.k_free ORDER BY id;
SELECT id FROM privacy_optout_direct_marketing.k_uuid ORDER BY id;
SELECT id FROM privacy_optout_direct_marketing.k_text ORDER BY id;

-- Opting in under another spelling of the same key undoes the opt-out.
SELECT privacy.opt_in('k_num', '1002.00', 'direct_marketing');
SELECT privacy.opt_in('k_big', '01234567890123456789', 'direct_marketing');
SELECT id FROM privacy_optout_direct_marketing.k_num ORDER BY id;
SELECT id FROM privacy_optout_direct_marketing.k_big ORDER BY id;
SELECT count(*) AS choices FROM privacy.choices WHERE subject::text LIKE 'k\_%';

-- A key's text must not depend on session settings: a float key
-- (extra_float_digits), a date key (DateStyle), a bytea key (bytea_output)
-- are refused, for subject and related tables (0A000).
CREATE TABLE k_free_float (line int PRIMARY KEY, customer float8, item text);
SECURITY LABEL FOR crm_privacy ON TABLE k_free_float IS 'related subject=public.k_free key=customer';
CREATE TABLE k_date (d date PRIMARY KEY, name text);
CREATE TABLE k_bytes (b bytea PRIMARY KEY, name text);
\set VERBOSITY sqlstate
SECURITY LABEL FOR crm_privacy ON TABLE k_date IS 'subject key=d';
SECURITY LABEL FOR crm_privacy ON TABLE k_bytes IS 'subject key=b';
-- nor can a key column change to such a type
CREATE TABLE k_later (id text PRIMARY KEY);
SECURITY LABEL FOR crm_privacy ON TABLE k_later IS 'subject key=id';
ALTER TABLE k_later ALTER COLUMN id TYPE date USING '2020-01-01'::date;
-- nor a typed table's key, by ALTER TYPE (no ALTER TABLE), also while the
-- table has no views (a policy with a subquery) that would hold it
CREATE TYPE k_row AS (id int, name text);
CREATE TABLE k_typed OF k_row (PRIMARY KEY (id));
ALTER TABLE k_typed ENABLE ROW LEVEL SECURITY;
CREATE POLICY k_sub ON k_typed USING (name IN (SELECT 'x'));
SET client_min_messages = error;
SECURITY LABEL FOR crm_privacy ON TABLE k_typed IS 'subject key=id';
RESET client_min_messages;
\set VERBOSITY terse
ALTER TYPE k_row ALTER ATTRIBUTE id TYPE money CASCADE;
\set VERBOSITY sqlstate
-- char(n): 'ab' and 'ab  ' are one value and two texts
CREATE TABLE k_char (code char(6) PRIMARY KEY);
SECURITY LABEL FOR crm_privacy ON TABLE k_char IS 'subject key=code';
\set VERBOSITY default
DROP TABLE k_date, k_bytes, k_later, k_typed, k_char;
DROP TYPE k_row;
-- A key under a case-insensitive collation would be several keys: refused.
CREATE COLLATION k_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE k_ci_subject (id text COLLATE k_ci PRIMARY KEY);
SECURITY LABEL FOR crm_privacy ON TABLE k_ci_subject IS 'subject key=id';
DROP TABLE k_ci_subject;
-- A temporary table is refused with a clear error (0A000).
CREATE TEMP TABLE k_temp (id int PRIMARY KEY);
SECURITY LABEL FOR crm_privacy ON TABLE k_temp IS 'subject key=id';
DROP TABLE k_temp;
DROP COLLATION k_ci;

-- Spellings that are not a key of the column's type: refused, nothing written.
\set VERBOSITY sqlstate
SELECT privacy.opt_out('k_big', '1002.0', 'direct_marketing');
SELECT privacy.opt_out('k_big', '9223372036854775808', 'direct_marketing');
SELECT privacy.opt_out('k_small', '32768', 'direct_marketing');
SELECT privacy.opt_out('k_uuid', 'not-a-uuid', 'direct_marketing');
SELECT privacy.opt_out('k_free', 'NaN', 'direct_marketing');
SELECT privacy.opt_out('k_free', 'Infinity', 'direct_marketing');
-- a key the column would hold as another value: 'C-001   ' in varchar(20)
-- is 'C-001', 1002.4 in numeric(12,0) is 1002 (1002.0 is 1002, and fits)
SELECT privacy.opt_out('k_text', 'C-001' || repeat(' ', 20), 'direct_marketing');
SELECT privacy.opt_out('k_num', '1002.4', 'direct_marketing');
\set VERBOSITY default
SELECT count(*) AS choices FROM privacy.choices WHERE subject::text LIKE 'k\_%';

-- A partition is not labelled: the partitioned table is (0A000).
CREATE TABLE k_parted (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE k_part1 PARTITION OF k_parted FOR VALUES FROM (0) TO (100);
\set VERBOSITY sqlstate
SECURITY LABEL FOR crm_privacy ON TABLE k_part1 IS 'subject key=id';
\set VERBOSITY default
DROP TABLE k_parted;

-- A key column with choices keeps its kind of type: a number may become
-- another number, not text ('5' would be written '5.00' through
-- numeric(10,2)); 55006.
CREATE TABLE k_retype (id int PRIMARY KEY);
INSERT INTO k_retype VALUES (5), (6);
SECURITY LABEL FOR crm_privacy ON TABLE k_retype IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN k_retype.id IS 'public';
SELECT privacy.opt_out('k_retype', '5', 'direct_marketing');
ALTER TABLE k_retype ALTER COLUMN id TYPE numeric(10,2);
\set VERBOSITY sqlstate
ALTER TABLE k_retype ALTER COLUMN id TYPE text;
\set VERBOSITY default
SELECT id FROM privacy_optout_direct_marketing.k_retype ORDER BY id;
-- nor to a type in which a recorded key is another key (5.4 would be 5)
INSERT INTO k_retype VALUES (5.4);
SELECT privacy.opt_out('k_retype', '5.40', 'direct_marketing');
ALTER TABLE k_retype ALTER COLUMN id TYPE numeric(10,0);
ALTER TABLE k_retype ALTER COLUMN id TYPE numeric(12,2);
SELECT id FROM privacy_optout_direct_marketing.k_retype ORDER BY id;
DELETE FROM privacy.subject_choices WHERE subject = 'k_retype'::regclass;
DROP TABLE k_retype;
-- a typed table's key, by ALTER TYPE, while the table has no views
CREATE TYPE k_row2 AS (id numeric, name text);
CREATE TABLE k_typed2 OF k_row2 (PRIMARY KEY (id));
INSERT INTO k_typed2 VALUES (3.3, 'x');
ALTER TABLE k_typed2 ENABLE ROW LEVEL SECURITY;
CREATE POLICY k_sub2 ON k_typed2 USING (name IN (SELECT 'x'));
SET client_min_messages = error;
SECURITY LABEL FOR crm_privacy ON TABLE k_typed2 IS 'subject key=id';
RESET client_min_messages;
SELECT privacy.opt_out('k_typed2', '3.3', 'direct_marketing');
\set VERBOSITY sqlstate
ALTER TYPE k_row2 ALTER ATTRIBUTE id TYPE text CASCADE;
\set VERBOSITY default
DELETE FROM privacy.subject_choices WHERE subject = 'k_typed2'::regclass;
DROP TABLE k_typed2;
DROP TYPE k_row2;
-- an enum is a key; a domain over an enum is not (it compares with the
-- enum by no operator)
CREATE TYPE k_tier AS ENUM ('a', 'b');
CREATE DOMAIN k_dtier AS k_tier;
CREATE TABLE k_dom_enum (tier k_dtier PRIMARY KEY);
\set VERBOSITY sqlstate
SECURITY LABEL FOR crm_privacy ON TABLE k_dom_enum IS 'subject key=tier';
\set VERBOSITY default
DROP TABLE k_dom_enum;
DROP DOMAIN k_dtier;
DROP TYPE k_tier;

SET client_min_messages = warning;
DELETE FROM privacy.subject_choices WHERE subject::text LIKE 'k\_%';
DROP TABLE k_big_orders, k_big, k_small, k_num_orders, k_num, k_free_float, k_free, k_uuid, k_text;
