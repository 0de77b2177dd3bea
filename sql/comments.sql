--
-- comments: the views carry the table's and the columns' comments, each
-- followed by what the view does; privacy.role_columns() says what a role
-- sees of each column of the standard views.
--
CREATE TABLE cm_customer (
    id       int PRIMARY KEY,
    name     text,
    phone    text,
    religion text,
    income   numeric,
    zip      text,
    notes    text
);
COMMENT ON TABLE cm_customer IS 'CRM customers';
COMMENT ON COLUMN cm_customer.name IS 'full name';
COMMENT ON COLUMN cm_customer.phone IS 'mobile, as typed';
SELECT privacy.label_table('cm_customer', 'subject key=id k=2');
SELECT privacy.label_column('cm_customer', 'id', 'public');
SELECT privacy.label_column('cm_customer', 'name', 'identifier mask=name anon=pseudonym');
SELECT privacy.label_column('cm_customer', 'phone', 'identifier level=internal mask=phone');
SELECT privacy.label_column('cm_customer', 'religion', 'sensitive');
SELECT privacy.label_column('cm_customer', 'income', 'personal mask=keep anon=noise(0.1)');
SELECT privacy.label_column('cm_customer', 'zip', 'quasi_identifier anon=partial(3,0)');
-- notes has no label.
SELECT privacy.create_disclosure('cm_partner', recipient => 'Partner Ltd');
SELECT privacy.disclose('cm_partner', 'cm_customer', 'zip', 'keep');

-- Each view, and each column, in each kind of view.
SELECT c.relnamespace::regnamespace AS schema, obj_description(c.oid, 'pg_class') AS view_comment
  FROM pg_class c WHERE c.relname = 'cm_customer' ORDER BY c.relnamespace::regnamespace::text;
SELECT a.attname AS column,
       col_description('privacy_standard.cm_customer'::regclass, a.attnum) AS standard,
       col_description('privacy_anon.cm_customer'::regclass, a.attnum) AS anon
  FROM pg_attribute a
 WHERE a.attrelid = 'cm_customer'::regclass AND a.attnum > 0 ORDER BY a.attnum;
SELECT a.attname AS column,
       col_description('privacy_full.cm_customer'::regclass, a.attnum) AS "full",
       col_description('privacy_disclose_cm_partner.cm_customer'::regclass, a.attnum) AS disclosed
  FROM pg_attribute a
 WHERE a.attrelid = 'cm_customer'::regclass AND a.attnum > 0 ORDER BY a.attnum;

-- A new comment on the table or a column reaches every view at once; a
-- comment is text, never SQL.
COMMENT ON COLUMN cm_customer.notes IS 'free text''); DROP TABLE cm_customer; --';
COMMENT ON TABLE cm_customer IS NULL;
SELECT col_description('privacy_standard.cm_customer'::regclass, 7) AS notes,
       obj_description('privacy_optout_direct_marketing.cm_customer'::regclass, 'pg_class') AS optout_view;
SELECT count(*) AS customer_still_there FROM cm_customer;
-- A new label too.
SELECT privacy.label_column('cm_customer', 'notes', 'personal level=confidential');
SELECT col_description('privacy_standard.cm_customer'::regclass, 7) AS notes;

-- What a role sees of each column, by clearance.
CREATE ROLE regress_cm_public;
CREATE ROLE regress_cm_internal;
CREATE ROLE regress_cm_secret;
SELECT privacy.set_clearance('regress_cm_internal', 'internal');
SELECT privacy.set_clearance('regress_cm_secret', 'secret');
SELECT p."column", p.sees AS public_sees, i.sees AS internal_sees, s.sees AS secret_sees
  FROM privacy.role_columns('regress_cm_public') p
  JOIN privacy.role_columns('regress_cm_internal') i USING (view, "column")
  JOIN privacy.role_columns('regress_cm_secret') s USING (view, "column")
 WHERE p.view = 'privacy_standard.cm_customer' ORDER BY p."column";
-- Any role may ask, of itself by default: clearances are no secret.
SET ROLE regress_cm_internal;
SELECT "column", clearance, sees FROM privacy.role_columns()
 WHERE view = 'privacy_standard.cm_customer' AND "column" IN ('name', 'phone') ORDER BY 1;
RESET ROLE;
-- The answer agrees with what the standard view computes for that role.
INSERT INTO cm_customer VALUES (1, 'John Smith', '13812345678', 'none', 100, '100020', 'x');
GRANT USAGE ON SCHEMA privacy_standard TO regress_cm_internal;
SELECT privacy.grant_access('regress_cm_internal', 'standard');
SET ROLE regress_cm_internal;
SELECT name, phone, religion, income, notes FROM privacy_standard.cm_customer;
RESET ROLE;
SELECT count(*) AS rows_for_null FROM privacy.role_columns(NULL);

-- Clean up.
SELECT privacy.revoke_access('regress_cm_internal', 'standard');
REVOKE USAGE ON SCHEMA privacy_standard FROM regress_cm_internal;
SELECT privacy.drop_disclosure('cm_partner');
DROP TABLE cm_customer;
DROP ROLE regress_cm_public, regress_cm_internal, regress_cm_secret;
