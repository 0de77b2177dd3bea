-- doc/demo.sql -- the crm_privacy demo: what a DBA sees on a labelled CRM.
-- Run by "bash test/run.sh demo [ROWS]" in a fresh database; works on any
-- PostgreSQL 15 database where crm_privacy is installed:
--     psql -v rows=1000 -f doc/demo.sql
\set ON_ERROR_STOP on
\set QUIET on
\pset null '(null)'
\if :{?rows}
\else
\set rows 1000
\endif

\echo
\echo '== 1. A CRM with' :rows 'customers, generated deterministically (bench/crm_data.sql)'
\ir ../bench/crm_data.sql
SELECT (SELECT count(*) FROM customer) AS customers, (SELECT count(*) FROM orders) AS orders;
SELECT customer_id, full_name, gender, birth_date, mobile, email, id_number, city, income, ethnicity, religion
  FROM customer ORDER BY customer_id LIMIT 5;

\echo
\echo '== 2. CREATE EXTENSION crm_privacy, then label every column (bench/crm_labels.sql)'
CREATE EXTENSION IF NOT EXISTS crm_privacy;
\ir ../bench/crm_labels.sql
\echo 'A custom mask lives in a schema that a superuser trusts:'
\set ECHO queries
CREATE SCHEMA IF NOT EXISTS mymasks;
CREATE OR REPLACE FUNCTION mymasks.city_only(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$SELECT left($1, 2) || '***'$$;
SECURITY LABEL FOR crm_privacy ON SCHEMA mymasks IS 'trusted';
SELECT privacy.label_column('orders', 'shipping_address', 'identifier mask=fn(mymasks.city_only)');
\set ECHO none

\echo
\echo '== 3. What every column is: privacy.labels (class, level, and the mask and anon rules)'
SELECT "table", coalesce("column", '(table)') AS "column", class, level, mask, anon,
       CASE WHEN label IS NULL THEN 'unlabelled: privacy by default' ELSE label END AS label
  FROM privacy.labels
 WHERE schema = 'public'
 ORDER BY "table", "column" NULLS FIRST;

\echo
\echo '== 4. Staff clearances (a role without one has public)'
DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['crm_clerk', 'crm_analyst', 'crm_officer'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I', r);
        END IF;
    END LOOP;
END $$;
\set ECHO queries
SELECT privacy.set_clearance('crm_clerk', 'internal');
SELECT privacy.set_clearance('crm_analyst', 'confidential');
SECURITY LABEL FOR crm_privacy ON ROLE crm_officer IS 'clearance=secret';
\set ECHO none
SELECT objname AS role, label AS clearance FROM pg_seclabels
 WHERE provider = 'crm_privacy' AND objtype = 'role' ORDER BY 1;
\echo 'Which columns each clearance may read in clear (the rest is masked):'
SELECT l.level AS "column level", count(*) AS columns,
       CASE l.level WHEN 'public' THEN 'everyone' WHEN 'internal' THEN 'crm_clerk and up'
                    WHEN 'confidential' THEN 'crm_analyst and up' ELSE 'crm_officer only' END AS "in clear for"
  FROM privacy.labels l
 WHERE l.schema = 'public' AND l."column" IS NOT NULL
 GROUP BY l.level
 ORDER BY array_position(ARRAY['public', 'internal', 'confidential', 'secret'], l.level);

\echo
\echo '== 5. Bad labels are refused when they are set (SQLSTATE 22023), and nothing is written'
\set ON_ERROR_STOP off
\set ECHO queries
SECURITY LABEL FOR crm_privacy ON COLUMN customer.mobile IS 'identifier mask=partial(3)';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.birth_date IS 'personal mask=email';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.email IS 'identifier mask=email; DROP TABLE customer';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.email IS 'identifier mask=fn(public.upper)';
\set ECHO none
\set ON_ERROR_STOP on

\echo
\echo '== 6. Labels follow DDL: renames rewrite the labels that name the object; breaking DDL is refused'
\set ECHO queries
ALTER TABLE customer RENAME TO client;
SELECT "table", label FROM privacy.labels WHERE "table" = 'orders' AND "column" IS NULL;
ALTER TABLE client RENAME TO customer;
\set ON_ERROR_STOP off
ALTER TABLE customer DROP COLUMN customer_id CASCADE;
ALTER TABLE customer ALTER COLUMN email TYPE bytea USING email::bytea;
\set ON_ERROR_STOP on
\set ECHO none

\echo
\echo '== 7. Coverage'
SELECT "table", count(*) FILTER (WHERE label IS NOT NULL) AS labelled_columns,
       count(*) FILTER (WHERE label IS NULL) AS unlabelled_columns,
       string_agg("column", ', ') FILTER (WHERE label IS NULL) AS "unlabelled (hidden by default)"
  FROM privacy.labels WHERE schema = 'public' AND "column" IS NOT NULL
 GROUP BY "table" ORDER BY 1;
\echo
\echo '== 8. The same customers through the masking functions (doc/functions.md)'
\echo 'As a role below each column''s level will see them in the standard view (the mask= rules):'
SELECT customer_id, privacy.mask_name(full_name) AS full_name, privacy.mask_phone(mobile) AS mobile,
       privacy.mask_email(email) AS email, privacy.mask_cn_id(id_number) AS id_number,
       privacy.generalize(birth_date, 'year') AS birth_date, privacy.mask_partial(zip, 3, 0) AS zip
  FROM customer ORDER BY customer_id LIMIT 5;
\echo 'As analysts will see them in the anonymous view (the anon= rules): keyed pseudonyms,'
\echo 'generalized quasi-identifiers, noisy counts; the same pseudonym joins orders to customers:'
SELECT privacy.pseudonym(c.customer_id) AS customer_id, privacy.pseudonym(c.email) AS email,
       c.gender, privacy.generalize(c.birth_date, 'decade') AS birth_date, c.city,
       privacy.generalize(c.income, 10000) AS income, privacy.noise(c.loyalty_points, 0.1) AS loyalty_points,
       (SELECT count(*) FROM orders o
         WHERE privacy.pseudonym(o.customer_id) = privacy.pseudonym(c.customer_id)) AS orders
  FROM customer c ORDER BY c.customer_id LIMIT 5;
\echo 'Format checks find personal data by its values:'
SELECT count(*) FILTER (WHERE privacy.is_valid_cn_id(id_number)) AS valid_resident_ids,
       count(*) FILTER (WHERE privacy.is_cn_mobile(mobile)) AS mainland_mobiles,
       count(*) FILTER (WHERE privacy.is_email(email)) AS emails,
       count(*) AS customers
  FROM customer;

\echo
\echo 'Next in crm_privacy: the five kinds of privacy views, opt-outs, and audit.'
