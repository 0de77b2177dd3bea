--
-- views: the privacy views generated from labels (doc/views.md):
-- the five kinds, clearances, opt-outs, disclosure profiles, k-anonymity,
-- grants, and rebuilds after DDL.
--
CREATE TABLE customer (
    customer_id bigint PRIMARY KEY,
    full_name   text NOT NULL,
    email       varchar(60),
    mobile      text,
    birth_date  date,
    zip         char(6),
    city        text,
    income      numeric(12,2),
    religion    text,
    points      integer,
    notes       text
);
INSERT INTO customer VALUES
    (1, '张三丰', 'zhang.san@example.com', '13812345678', '1987-06-15', '100020', '北京', 12345.67, NULL, 100, 'likes tea'),
    (2, '欧阳娜娜', 'nana@example.cn', '+86 139-8765-4321', '1990-02-01', '100080', '北京', 88000, '佛教', 250, NULL),
    (3, 'John Smith', 'john@example.org', '010-6552 1234', '1985-12-31', '200120', '上海', 56000, NULL, 0, NULL),
    (4, '李四', 'li.si@example.com', '18600001111', '1982-03-03', '200030', '上海', 43000, '基督教', 75, NULL),
    (5, '王五', NULL, '15900002222', '1989-09-09', '100020', '北京', 61000, NULL, 10, NULL);
CREATE TABLE orders (
    order_id    bigint PRIMARY KEY,
    customer_id bigint REFERENCES customer,
    amount      numeric(10,2),
    address     text
);
INSERT INTO orders VALUES (10, 1, 99.50, '北京朝阳路1号'), (11, 2, 20.00, '北京人民路2号'),
                          (12, 2, 35.00, '北京人民路2号'), (13, 3, 12.00, '上海中山路3号');

SECURITY LABEL FOR crm_privacy ON TABLE customer IS 'subject key=customer_id';
SECURITY LABEL FOR crm_privacy ON TABLE orders IS 'related subject=public.customer key=customer_id';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.customer_id IS 'identifier level=internal mask=keep anon=pseudonym';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.full_name IS 'identifier mask=name';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.email IS 'identifier mask=email anon=pseudonym';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.mobile IS 'identifier level=secret mask=phone';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.birth_date IS 'quasi_identifier mask=generalize(year) anon=generalize(decade)';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.zip IS 'quasi_identifier mask=partial(3,0) anon=partial(3,0)';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.city IS 'quasi_identifier level=public anon=keep';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.income IS 'personal level=confidential anon=generalize(10000)';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.religion IS 'sensitive';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.points IS 'personal mask=keep anon=keep';
-- customer.notes stays unlabelled: privacy by default.
SECURITY LABEL FOR crm_privacy ON COLUMN orders.order_id IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN orders.customer_id IS 'identifier level=internal mask=keep anon=pseudonym';
SECURITY LABEL FOR crm_privacy ON COLUMN orders.amount IS 'personal mask=keep anon=keep';
SECURITY LABEL FOR crm_privacy ON COLUMN orders.address IS 'identifier mask=partial(2,0)';

-- The views exist by themselves after labelling, owned by crm_privacy_views,
-- which is no superuser, cannot log in and cannot bypass row-level security.
SELECT rolsuper, rolcanlogin, rolbypassrls, rolinherit, rolcreaterole, rolcreatedb, rolreplication,
       (SELECT count(*) FROM pg_auth_members WHERE roleid = r.oid) AS members
  FROM pg_roles r WHERE rolname = 'crm_privacy_views';
SELECT n.nspname AS schema, c.relname AS view, c.reloptions,
       pg_get_userbyid(c.relowner) AS owner
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname LIKE 'privacy\_%' AND c.relkind = 'v' ORDER BY 1, 2;

-- Exactly the base table's column names, order and types, in every view.
SELECT v.nspname AS schema, v.relname AS view,
       (SELECT array_agg(attname || ' ' || format_type(atttypid, atttypmod) ORDER BY attnum)
          FROM pg_attribute WHERE attrelid = v.oid AND attnum > 0)
     = (SELECT array_agg(attname || ' ' || format_type(atttypid, atttypmod) ORDER BY attnum)
          FROM pg_attribute WHERE attrelid = ('public.' || quote_ident(v.relname))::regclass
           AND attnum > 0 AND NOT attisdropped) AS same_columns
  FROM (SELECT c.oid, c.relname, n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname LIKE 'privacy\_%' AND c.relkind = 'v') v
 ORDER BY 1, 2;

-- Roles of each clearance, and grants.
CREATE ROLE regress_crm_public;
CREATE ROLE regress_crm_clerk;
CREATE ROLE regress_crm_analyst;
CREATE ROLE regress_crm_officer;
CREATE ROLE regress_crm_team;
CREATE ROLE regress_crm_member IN ROLE regress_crm_team;
SELECT privacy.set_clearance('regress_crm_clerk', 'internal');
SELECT privacy.set_clearance('regress_crm_analyst', 'confidential');
SELECT privacy.set_clearance('regress_crm_officer', 'secret');
SELECT privacy.set_clearance('regress_crm_team', 'confidential');
SELECT r, privacy.clearance(r::regrole)
  FROM unnest(ARRAY['regress_crm_public', 'regress_crm_clerk', 'regress_crm_analyst',
                    'regress_crm_officer', 'regress_crm_member']) AS r;
SELECT privacy.grant_access(r::regrole, 'standard')
  FROM unnest(ARRAY['regress_crm_public', 'regress_crm_clerk', 'regress_crm_analyst',
                    'regress_crm_officer', 'regress_crm_team']) AS r;
SELECT privacy.grant_access('regress_crm_officer', 'full');
SELECT privacy.grant_access('regress_crm_analyst', 'anon');
SELECT privacy.grant_access('regress_crm_clerk', 'optout', 'direct_marketing');

--
-- Standard view: clear up to the reader's clearance, masked above it.
--
SET ROLE regress_crm_public;
SELECT * FROM privacy_standard.customer ORDER BY customer_id;
SET ROLE regress_crm_clerk;
SELECT * FROM privacy_standard.customer ORDER BY customer_id;
SET ROLE regress_crm_analyst;
SELECT * FROM privacy_standard.customer ORDER BY customer_id;
SET ROLE regress_crm_member;  -- clearance through membership
SELECT customer_id, full_name, income FROM privacy_standard.customer ORDER BY customer_id;
SET ROLE regress_crm_officer;
SELECT * FROM privacy_standard.customer ORDER BY customer_id;
SELECT * FROM privacy_standard.orders ORDER BY order_id;
RESET ROLE;

-- Full view: everything in clear, for those granted it.
SET ROLE regress_crm_officer;
SELECT * FROM privacy_full.customer ORDER BY customer_id;
RESET ROLE;

-- Without a grant: permission denied, on the views and on the base tables.
SET ROLE regress_crm_public;
SELECT count(*) FROM privacy_full.customer;
SELECT count(*) FROM privacy_anon.customer;
SELECT count(*) FROM privacy_optout_direct_marketing.customer;
SELECT count(*) FROM public.customer;
RESET ROLE;

--
-- Opt-outs.
--
SELECT privacy.opt_out('customer', '2', 'direct_marketing', 'web form');
SELECT privacy.opt_out('customer', '4', 'sensitive_data', 'letter');
SELECT privacy.opt_out('customer', '3', 'third_party_disclosure');
SELECT privacy.opt_in('customer', '3', 'third_party_disclosure', 'phone call');
SELECT subject, key, purpose, opted_out, source, changed_by = session_user AS by_me
  FROM privacy.choices ORDER BY key, purpose;
-- Opting out twice keeps one row; keys are compared in the key type's form.
SELECT privacy.opt_out('customer', '002', 'direct_marketing');
SELECT count(*) FROM privacy.choices WHERE purpose = 'direct_marketing';
-- Bad input: a clear error, nothing written.
SELECT privacy.opt_out('customer', '1', 'no_such_purpose');
SELECT privacy.opt_out('orders', '1', 'direct_marketing');
SELECT privacy.opt_out('customer', 'abc', 'direct_marketing');
SELECT privacy.opt_out('customer', NULL, 'direct_marketing');
SELECT count(*) FROM privacy.choices;

SET ROLE regress_crm_clerk;
-- Subject 2 and its orders are gone from the direct-marketing views...
SELECT customer_id, full_name FROM privacy_optout_direct_marketing.customer ORDER BY customer_id;
SELECT order_id, customer_id FROM privacy_optout_direct_marketing.orders ORDER BY order_id;
-- ...but not from the standard view.
SELECT count(*) FROM privacy_standard.customer;
RESET ROLE;
-- Subject 4's sensitive column is NULL everywhere but the full view.
SET ROLE regress_crm_officer;
SELECT customer_id, religion FROM privacy_standard.customer ORDER BY customer_id;
SELECT customer_id, religion FROM privacy_full.customer WHERE customer_id = 4;
RESET ROLE;

--
-- Anonymous view: anon rules; keys pseudonymized the same in related tables.
--
SET ROLE regress_crm_analyst;
SELECT full_name, email ~ '^[0-9a-f]{16}$' AS email_pseudonym, mobile, birth_date, zip, city, income,
       religion, points, notes
  FROM privacy_anon.customer ORDER BY birth_date, zip;
SELECT count(*) AS joined_orders
  FROM privacy_anon.orders o JOIN privacy_anon.customer c USING (customer_id);
RESET ROLE;
SELECT count(*) = 5 AS all_keys_match
  FROM privacy_anon.customer a JOIN customer c ON a.customer_id = privacy.pseudonym(c.customer_id, 'public.customer');

-- k-anonymity: with k=2, rows whose quasi-identifier class (birth decade,
-- zip prefix, city) has fewer than 2 rows are suppressed.
SELECT privacy.k_anonymity('customer') AS k_before;
SECURITY LABEL FOR crm_privacy ON TABLE customer IS 'subject key=customer_id k=2';
SET ROLE regress_crm_analyst;
SELECT birth_date, zip, city, count(*) FROM privacy_anon.customer GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
RESET ROLE;
SELECT privacy.k_anonymity('customer') AS k_after;
SECURITY LABEL FOR crm_privacy ON TABLE customer IS 'subject key=customer_id k=3';
SELECT privacy.k_anonymity('customer') AS k_3_everything_suppressed;
SECURITY LABEL FOR crm_privacy ON TABLE customer IS 'subject key=customer_id';

-- Grants follow the rebuilt views.
SET ROLE regress_crm_analyst;
SELECT count(*) AS analyst_still_reads FROM privacy_anon.customer;
RESET ROLE;

--
-- Disclosure profiles (selective anonymization).
--
SELECT privacy.create_disclosure('acme', recipient => 'ACME Marketing Ltd');
SELECT privacy.disclose('acme', 'customer', 'email', 'pseudonym');
SELECT privacy.disclose('acme', 'customer', 'city', 'keep');
SELECT privacy.disclose('acme', 'customer', 'birth_date', 'generalize(year)');
SELECT privacy.disclose('acme', 'customer', 'religion', 'keep');
SELECT privacy.disclose('acme', 'orders', 'amount', 'keep');
SELECT privacy.opt_out('customer', '5', 'third_party_disclosure');
SELECT count(*) AS acme_rows FROM privacy_disclose_acme.customer;
SELECT c.customer_id, d.customer_id AS disclosed_id, d.full_name, d.mobile,
       d.email = privacy.pseudonym(c.email, 'acme public.customer customer.email') AS email_is_acme_pseudonym,
       d.email <> privacy.pseudonym(c.email, 'public.customer customer.email') AS not_linkable_to_anon,
       d.birth_date, d.city, d.religion
  FROM privacy_disclose_acme.customer d JOIN customer c ON d.email = privacy.pseudonym(c.email, 'acme public.customer customer.email')
 ORDER BY c.customer_id;
SELECT count(*) AS acme_orders, sum(amount) FROM privacy_disclose_acme.orders;
-- Bad treatments and names.
SELECT privacy.disclose('acme', 'customer', 'birth_date', 'mask=email');
SELECT privacy.disclose('acme', 'customer', 'birth_date', 'email');
SELECT privacy.disclose('acme', 'customer', 'no_such_column', 'keep');
SELECT privacy.disclose('nobody', 'customer', 'city', 'keep');
SELECT privacy.create_disclosure('acme');
SELECT privacy.create_disclosure('other', 'sensitive_data');
SELECT privacy.create_disclosure('other', 'nope');
SELECT privacy.disclose('acme', 'customer', 'city', NULL);
SELECT count(*) FROM privacy.disclosure_columns WHERE profile = 'acme';
SELECT privacy.drop_disclosure('acme');
SELECT privacy.drop_disclosure('acme');
SELECT count(*) FROM pg_namespace WHERE nspname = 'privacy_disclose_acme';

--
-- Purposes.
--
SELECT name, effect, builtin FROM privacy.purposes ORDER BY name;
SELECT privacy.add_purpose('newsletter', 'the monthly newsletter');
SELECT privacy.opt_out('customer', '1', 'newsletter');
SELECT customer_id FROM privacy_optout_newsletter.customer ORDER BY 1;
SELECT privacy.add_purpose('newsletter', 'again');
-- A schema of that name someone else made first: a clear error, nothing
-- written; renaming or dropping it is the way out.
CREATE SCHEMA privacy_optout_regress_squat;
SELECT privacy.add_purpose('regress_squat', 'squatted');
SELECT count(*) AS squat_purposes FROM privacy.purposes WHERE name = 'regress_squat';
DROP SCHEMA privacy_optout_regress_squat;
SELECT privacy.add_purpose('regress_squat', 'no longer squatted');
SELECT count(*) AS squat_views FROM pg_views WHERE schemaname = 'privacy_optout_regress_squat';
DELETE FROM privacy.purposes WHERE name = 'regress_squat';
SELECT privacy.add_purpose('', 'empty');
SELECT privacy.add_purpose(repeat('x', 49), 'too long');

--
-- Access kinds.
--
SELECT privacy.grant_access('regress_crm_clerk', 'everything');
SELECT privacy.grant_access('regress_crm_clerk', 'optout', 'sensitive_data');
SELECT privacy.grant_access('regress_crm_clerk', 'disclose', 'nope');
SELECT privacy.grant_access('regress_crm_clerk', 'standard', 'x');
SELECT privacy.revoke_access('regress_crm_public', 'standard');
SET ROLE regress_crm_public;
SELECT count(*) FROM privacy_standard.customer;
RESET ROLE;
-- Granting and revoking are GRANT and REVOKE: no view is rebuilt, so what
-- users built on the views (here an analyst's view and a TEMP view) does
-- not stand in the way, and a reader's open query is not stalled.
CREATE VIEW public.regress_city_report AS SELECT city, count(*) FROM privacy_standard.customer GROUP BY city;
CREATE TEMP VIEW regress_temp_report AS SELECT count(*) FROM privacy_full.customer;
SELECT 'privacy_standard.customer'::regclass::oid AS standard_before,
       'privacy_full.customer'::regclass::oid AS full_before \gset
SELECT privacy.grant_access('regress_crm_public', 'standard');
SELECT privacy.grant_access('regress_crm_public', 'full');
SELECT privacy.revoke_access('regress_crm_public', 'full');
SELECT 'privacy_standard.customer'::regclass::oid = :standard_before AS same_standard_view,
       'privacy_full.customer'::regclass::oid = :full_before AS same_full_view;
SELECT has_table_privilege('regress_crm_public', 'privacy_standard.customer', 'SELECT') AS standard,
       has_table_privilege('regress_crm_public', 'privacy_standard.orders', 'SELECT') AS standard_orders,
       has_table_privilege('regress_crm_public', 'privacy_full.customer', 'SELECT') AS full;
-- Rebuilds replace views in place, and leave alone those whose definition
-- did not change: a new purpose touches no existing view; a new label
-- replaces the views of its table, keeping the views users built on them and
-- the grants users gave.
GRANT SELECT ON privacy_standard.customer TO regress_crm_member;
SELECT xmin AS rule_xmin FROM pg_rewrite WHERE ev_class = 'privacy_standard.customer'::regclass \gset
SELECT privacy.add_purpose('regress_survey', 'a satisfaction survey');
SELECT xmin = :'rule_xmin' AS standard_view_untouched
  FROM pg_rewrite WHERE ev_class = 'privacy_standard.customer'::regclass;
SECURITY LABEL FOR crm_privacy ON COLUMN customer.notes IS 'personal mask=keep';
SELECT xmin <> :'rule_xmin' AS standard_view_replaced
  FROM pg_rewrite WHERE ev_class = 'privacy_standard.customer'::regclass;
SELECT 'privacy_standard.customer'::regclass::oid = :standard_before AS same_standard_view,
       has_table_privilege('regress_crm_member', 'privacy_standard.customer', 'SELECT') AS users_grant_kept,
       (SELECT count(*) FROM public.regress_city_report) > 0 AS users_view_works;
-- A change a view cannot take in place (a column renamed) names the views
-- that stand in the way, and says what to do; nothing changes.
ALTER TABLE customer RENAME COLUMN city TO town;
SELECT count(*) FROM public.regress_city_report;
-- Adding a column replaces the views in place too.  A role that does not
-- own the table is refused before anything is dropped.  Dropping a column
-- needs the views built anew: the user's view is named.
ALTER TABLE customer ADD COLUMN regress_extra int;
SELECT 'privacy_standard.customer'::regclass::oid = :standard_before AS same_standard_view,
       (SELECT count(*) FROM public.regress_city_report) > 0 AS users_view_works,
       EXISTS (SELECT FROM pg_attribute WHERE attrelid = 'privacy_standard.customer'::regclass
                                          AND attname = 'regress_extra') AS new_column_shown;
SET ROLE regress_crm_clerk;
ALTER TABLE customer DROP COLUMN regress_extra;
RESET ROLE;
SELECT 'privacy_standard.customer'::regclass::oid = :standard_before AS views_not_dropped;
ALTER TABLE customer DROP COLUMN regress_extra;
DROP VIEW public.regress_city_report, regress_temp_report;
ALTER TABLE customer DROP COLUMN regress_extra;
CREATE VIEW public.regress_city_report AS SELECT city, count(*) FROM privacy_standard.customer GROUP BY city;
CREATE TEMP VIEW regress_temp_report AS SELECT count(*) FROM privacy_full.customer;
SECURITY LABEL FOR crm_privacy ON COLUMN customer.notes IS NULL;
DELETE FROM privacy.purposes WHERE name = 'regress_survey';
REVOKE SELECT ON privacy_standard.customer FROM regress_crm_member;
DROP VIEW public.regress_city_report, regress_temp_report;
SELECT privacy.revoke_access('regress_crm_public', 'standard');

--
-- A prepared statement gives the current role's result.
--
GRANT regress_crm_clerk, regress_crm_officer TO CURRENT_USER;
SET ROLE regress_crm_clerk;
PREPARE p AS SELECT mobile, income FROM privacy_standard.customer WHERE customer_id = 1;
EXECUTE p;
SET ROLE regress_crm_officer;
EXECUTE p;
RESET ROLE;
DEALLOCATE p;
REVOKE regress_crm_clerk, regress_crm_officer FROM CURRENT_USER;

--
-- DDL rebuilds the views by itself.
--
ALTER TABLE customer ADD COLUMN vip boolean DEFAULT false;
SET ROLE regress_crm_officer;
SELECT customer_id, vip FROM privacy_standard.customer WHERE customer_id = 1;
SELECT customer_id, vip FROM privacy_full.customer WHERE customer_id = 1;
RESET ROLE;
SECURITY LABEL FOR crm_privacy ON COLUMN customer.vip IS 'public';
ALTER TABLE customer RENAME COLUMN points TO loyalty;
ALTER TABLE customer ALTER COLUMN loyalty TYPE bigint;
ALTER TABLE customer DROP COLUMN notes;
SET ROLE regress_crm_officer;
SELECT customer_id, vip, loyalty, pg_typeof(loyalty) FROM privacy_standard.customer WHERE customer_id = 1;
RESET ROLE;
SELECT attname FROM pg_attribute WHERE attrelid = 'privacy_anon.customer'::regclass AND attnum > 0 ORDER BY attnum;

-- Unlabelling a table drops its views; DROP TABLE works.
SECURITY LABEL FOR crm_privacy ON TABLE orders IS NULL;
SELECT count(*) FROM pg_class WHERE relname = 'orders' AND relkind = 'v';
DROP TABLE orders;
DROP TABLE customer;
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname LIKE 'privacy\_%' AND c.relkind = 'v';

-- The three reads of the full view above are in the read audit (the read
-- refused for want of privilege is not), and so are the four reads through
-- other views that showed a secret column (religion, mobile) in clear: the
-- officer's (clearance secret) through the standard view, its execution of
-- the prepared statement (not the clerk's, who sees mobile masked), and a
-- disclosure profile that keeps religion.  The query text is normalized.
SELECT regress_wait_reads(7);
SELECT current_user_name, relations, left(query, 80) AS query, row_count FROM privacy.access_log ORDER BY id;

DROP ROLE regress_crm_public, regress_crm_clerk, regress_crm_analyst, regress_crm_officer,
          regress_crm_member, regress_crm_team;
DELETE FROM privacy.access_grants;
DELETE FROM privacy.purposes WHERE NOT builtin;
