--
-- labels_owner: labels set by a plain table owner, who is no superuser.
-- The owner labels its own tables and columns and may use functions of
-- schemas a superuser trusted; it may not trust a schema, set a clearance,
-- label other people's tables, or get its own functions into a label.
--
CREATE ROLE regress_crm_owner;
CREATE ROLE regress_crm_other;
CREATE ROLE regress_crm_analyst;
CREATE SCHEMA owner_area AUTHORIZATION regress_crm_owner;
CREATE SCHEMA blessed;
CREATE FUNCTION blessed.initials(text) RETURNS text
    LANGUAGE sql IMMUTABLE AS 'SELECT left($1, 1)';
SECURITY LABEL FOR crm_privacy ON SCHEMA blessed IS 'trusted';
GRANT USAGE ON SCHEMA blessed TO regress_crm_owner;
CREATE TABLE public.others_table (id int, secret text);
ALTER TABLE public.others_table OWNER TO regress_crm_other;

SET ROLE regress_crm_owner;
CREATE TABLE owner_area.member (member_id int PRIMARY KEY, name text, phone text, born date);
CREATE TABLE owner_area.purchase (member_id int, total numeric);

-- Its own tables and columns: fine, with raw commands and with the wrappers.
SECURITY LABEL FOR crm_privacy ON TABLE owner_area.member IS 'subject key=member_id k=3';
SECURITY LABEL FOR crm_privacy ON TABLE owner_area.purchase IS 'related subject=owner_area.member key=member_id';
SECURITY LABEL FOR crm_privacy ON COLUMN owner_area.member.name IS 'identifier mask=fn(blessed.initials)';
SELECT privacy.label_column('owner_area.member', 'phone', 'identifier mask=phone anon=pseudonym');
SELECT privacy.label_column('owner_area.member', 'born', 'quasi_identifier anon=generalize(decade)');
SELECT "table", "column", class, level, mask, anon FROM privacy.labels
 WHERE schema = 'owner_area' ORDER BY 1, 2;

-- Bad labels are refused for the owner exactly as for a superuser.
SECURITY LABEL FOR crm_privacy ON COLUMN owner_area.member.name IS 'identifier mask=partial(1)';
SECURITY LABEL FOR crm_privacy ON COLUMN owner_area.member.born IS 'identifier mask=email';

-- Its own functions cannot get into a label: its schema is not trusted, and
-- it cannot trust it.
CREATE FUNCTION owner_area.leak(text) RETURNS text LANGUAGE sql AS 'SELECT $1';
SECURITY LABEL FOR crm_privacy ON COLUMN owner_area.member.name IS 'identifier mask=fn(owner_area.leak)';
SECURITY LABEL FOR crm_privacy ON SCHEMA owner_area IS 'trusted';
SECURITY LABEL FOR crm_privacy ON SCHEMA blessed IS NULL;
-- Nor can it put a function into a trusted schema.
CREATE FUNCTION blessed.leak(text) RETURNS text LANGUAGE sql AS 'SELECT $1';
ALTER FUNCTION owner_area.leak(text) SET SCHEMA blessed;

-- Other people's tables, roles: refused by PostgreSQL's own ownership checks.
SECURITY LABEL FOR crm_privacy ON TABLE public.others_table IS 'subject key=id';
SELECT privacy.label_column('public.others_table', 'secret', 'public');
SELECT privacy.set_clearance('regress_crm_owner', 'secret');
SELECT privacy.set_clearance('regress_crm_analyst', 'secret');
-- PostgreSQL refuses first (its message differs by version: 15 names
-- CREATEROLE, 16 and later also the ADMIN option).
\set VERBOSITY sqlstate
SECURITY LABEL FOR crm_privacy ON ROLE regress_crm_analyst IS 'clearance=secret';
\set VERBOSITY default

-- Relabelling and removing its own labels is fine.
SELECT privacy.label_table('owner_area.purchase', NULL);
SECURITY LABEL FOR crm_privacy ON COLUMN owner_area.member.born IS NULL;
SELECT "table", "column", label FROM privacy.labels
 WHERE schema = 'owner_area' AND label IS NOT NULL ORDER BY 1, 2;

-- Its DDL goes through the event triggers like anyone's.
ALTER TABLE owner_area.member RENAME COLUMN member_id TO id;
SELECT label FROM privacy.labels WHERE "table" = 'member' AND "column" IS NULL;
ALTER TABLE owner_area.member DROP COLUMN id;

RESET ROLE;

-- CREATEROLE alone sets no clearance (sql/admin.sql has the rest); only a
-- superuser trusts schemas.
CREATE ROLE regress_crm_admin CREATEROLE;
SET ROLE regress_crm_admin;
SELECT privacy.set_clearance('regress_crm_analyst', 'confidential');
SECURITY LABEL FOR crm_privacy ON SCHEMA owner_area IS 'trusted';
RESET ROLE;
SELECT objname, label FROM pg_seclabels
 WHERE provider = 'crm_privacy' AND objtype = 'role' AND objname LIKE 'regress_crm%' ORDER BY 1;

DROP SCHEMA owner_area CASCADE;
DROP SCHEMA blessed CASCADE;
DROP TABLE public.others_table;
DROP ROLE regress_crm_owner, regress_crm_other, regress_crm_analyst, regress_crm_admin;
