--
-- admin: role labels and who may set them; clearances and privacy
-- administrators through PostgreSQL's privilege inheritance; what a privacy
-- administrator who is not a superuser can do, and what nobody below can.
--

-- as_role(r, q) runs q as role r (SET ROLE) and reports "ok" or the SQLSTATE
-- and message of its error.
CREATE FUNCTION as_role(r name, q text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE detail text;
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', r);
    BEGIN
        EXECUTE q;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
        RESET ROLE;
        -- PostgreSQL's own check of SECURITY LABEL ON ROLE, worded by
        -- version (15: CREATEROLE; 16 and later: CREATEROLE and the ADMIN
        -- option on the role).
        IF SQLERRM = 'must have CREATEROLE privilege'
           OR (SQLERRM = 'permission denied' AND detail LIKE 'The current user must have the %') THEN
            RETURN SQLSTATE || ' refused by PostgreSQL (CREATEROLE, ADMIN option)';
        END IF;
        RETURN SQLSTATE || ' ' || SQLERRM;
    END;
    RESET ROLE;
    RETURN 'ok';
END $$;
CREATE VIEW adm_role_labels AS
SELECT objname AS role, label FROM pg_seclabels
 WHERE provider = 'crm_privacy' AND objtype = 'role' AND objname LIKE 'regress_adm%';

CREATE ROLE regress_adm_prov CREATEROLE;          -- provisions accounts
CREATE ROLE regress_adm_cpo NOSUPERUSER NOCREATEROLE;   -- the chief privacy officer
CREATE ROLE regress_adm_officer;
CREATE ROLE regress_adm_plain;
CREATE ROLE regress_adm_noinherit NOINHERIT;
GRANT regress_adm_officer TO regress_adm_noinherit;
CREATE ROLE regress_adm_inherit;
GRANT regress_adm_officer TO regress_adm_inherit;
-- From PostgreSQL 16 on, a CREATEROLE role labels only the roles it holds the
-- ADMIN option on (as it does on the roles it creates): give the provisioning
-- role that, and no membership, so that crm_privacy's own checks are reached
-- on every version; likewise the privacy officer for the test with CREATEROLE.
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 160000 THEN
        EXECUTE 'GRANT regress_adm_officer, regress_adm_plain, regress_adm_cpo TO regress_adm_prov
                 WITH ADMIN TRUE, INHERIT FALSE, SET FALSE';
        EXECUTE 'GRANT regress_adm_plain TO regress_adm_cpo WITH ADMIN TRUE, INHERIT FALSE, SET FALSE';
    END IF;
END $$;

--
-- Role labels: clearance=LEVEL, privacy_admin, or both.
--
SELECT l AS label, as_role('postgres', format('SECURITY LABEL FOR crm_privacy ON ROLE regress_adm_plain IS %L', l)) AS result
  FROM (VALUES ('privacy_admin'), ('clearance=secret privacy_admin'), ('PRIVACY_ADMIN clearance=internal'),
               ('clearance=internal'), ('privacy_admin privacy_admin'), ('privacy_admin=yes'),
               ('admin'), ('clearance=secret clearance=public'), ('')) AS v(l);
SECURITY LABEL FOR crm_privacy ON ROLE regress_adm_plain IS NULL;

-- Only a superuser names privacy administrators.
SECURITY LABEL FOR crm_privacy ON ROLE regress_adm_cpo IS 'privacy_admin';

--
-- A role with CREATEROLE can neither set, change nor remove a clearance, nor
-- name or remove a privacy administrator: not with SECURITY LABEL, not with
-- privacy.set_clearance.
--
SECURITY LABEL FOR crm_privacy ON ROLE regress_adm_officer IS 'clearance=internal';
SELECT q AS attempt, as_role('regress_adm_prov', q) AS result
  FROM (VALUES
    ('SECURITY LABEL FOR crm_privacy ON ROLE regress_adm_plain IS ''clearance=public'''),
    ('SECURITY LABEL FOR crm_privacy ON ROLE regress_adm_officer IS ''clearance=secret'''),
    ('SECURITY LABEL FOR crm_privacy ON ROLE regress_adm_officer IS NULL'),
    ('SECURITY LABEL FOR crm_privacy ON ROLE regress_adm_officer IS ''clearance=internal privacy_admin'''),
    ('SECURITY LABEL FOR crm_privacy ON ROLE regress_adm_cpo IS NULL'),
    ('SELECT privacy.set_clearance(''regress_adm_prov'', ''secret'')'),
    ('SELECT privacy.set_clearance(''regress_adm_officer'', NULL)')) AS v(q);
-- Nor on itself (refused by crm_privacy on 15, by PostgreSQL from 16 on:
-- a role never holds the ADMIN option on itself there).
SELECT q AS attempt, left(as_role('regress_adm_prov', q), 5) AS result
  FROM (VALUES
    ('SECURITY LABEL FOR crm_privacy ON ROLE regress_adm_prov IS ''clearance=secret'''),
    ('SECURITY LABEL FOR crm_privacy ON ROLE regress_adm_prov IS ''privacy_admin''')) AS v(q);
-- The same label again changes nothing and is allowed (a restore may do it).
SELECT as_role('regress_adm_prov', 'SECURITY LABEL FOR crm_privacy ON ROLE regress_adm_officer IS ''clearance=internal''');
SELECT * FROM adm_role_labels ORDER BY 1;
SELECT privacy.clearance('regress_adm_prov') AS prov, privacy.is_privacy_admin('regress_adm_prov') AS prov_admin;

--
-- A privacy administrator (no CREATEROLE) sets clearances with
-- privacy.set_clearance, secret included, its own included; the privacy_admin
-- word stays.  It cannot name or remove privacy administrators.
--
SELECT q AS attempt, as_role('regress_adm_cpo', q) AS result
  FROM (VALUES
    ('SELECT privacy.set_clearance(''regress_adm_officer'', ''secret'')'),
    ('SELECT privacy.set_clearance(''regress_adm_cpo'', ''confidential'')'),
    ('SELECT privacy.set_clearance(''regress_adm_plain'', ''internal'')'),
    ('SELECT privacy.set_clearance(''regress_adm_plain'', NULL)'),
    ('SELECT privacy.set_clearance(''regress_adm_plain'', ''top'')'),
    ('SELECT privacy.set_clearance(NULL, ''secret'')'),
    ('SECURITY LABEL FOR crm_privacy ON ROLE regress_adm_plain IS ''privacy_admin''')) AS v(q);
SELECT * FROM adm_role_labels ORDER BY 1;
-- With CREATEROLE too, a privacy administrator may relabel clearances but
-- never the privacy_admin word, its own included.
ALTER ROLE regress_adm_cpo CREATEROLE;
SELECT q AS attempt, as_role('regress_adm_cpo', q) AS result
  FROM (VALUES
    ('SECURITY LABEL FOR crm_privacy ON ROLE regress_adm_plain IS ''clearance=internal'''),
    ('SECURITY LABEL FOR crm_privacy ON ROLE regress_adm_plain IS ''clearance=internal privacy_admin'''),
    ('SECURITY LABEL FOR crm_privacy ON ROLE regress_adm_plain IS NULL')) AS v(q);
-- Its own label neither (crm_privacy refuses on 15, PostgreSQL from 16 on).
SELECT left(as_role('regress_adm_cpo', 'SECURITY LABEL FOR crm_privacy ON ROLE regress_adm_cpo IS ''clearance=confidential'''), 5) AS own_label;
ALTER ROLE regress_adm_cpo NOCREATEROLE;
SELECT * FROM adm_role_labels ORDER BY 1;

--
-- Clearance and administration follow has_privs_of_role: an INHERIT member
-- has them at once; a NOINHERIT member only after SET ROLE.
--
SELECT privacy.clearance('regress_adm_officer') AS officer,
       privacy.clearance('regress_adm_inherit') AS inherit,
       privacy.clearance('regress_adm_noinherit') AS noinherit,
       privacy.clearance('postgres') AS superuser;
SET ROLE regress_adm_noinherit;
SELECT privacy.clearance_level() AS noinherit_level;
SET ROLE regress_adm_officer;
SELECT privacy.clearance_level() AS after_set_role;
RESET ROLE;
GRANT regress_adm_cpo TO regress_adm_inherit;
GRANT regress_adm_cpo TO regress_adm_noinherit;
SELECT privacy.is_privacy_admin('regress_adm_inherit') AS inherit,
       privacy.is_privacy_admin('regress_adm_noinherit') AS noinherit,
       privacy.is_privacy_admin('regress_adm_plain') AS plain,
       privacy.is_privacy_admin('postgres') AS superuser;
SELECT as_role('regress_adm_noinherit', 'SELECT privacy.report_views()') AS noinherit_calls;
SET ROLE regress_adm_noinherit;
SET ROLE regress_adm_cpo;
SELECT privacy.is_privacy_admin() AS after_set_role, count(*) >= 0 AS calls FROM privacy.report_views();
RESET ROLE;
REVOKE regress_adm_cpo FROM regress_adm_inherit, regress_adm_noinherit;
SELECT privacy.is_privacy_admin('regress_adm_inherit') AS inherit_after_revoke;

-- Another backend sees a changed clearance and a named administrator at once
-- (its cache of role labels is invalidated when the change commits).
CREATE EXTENSION dblink;
SELECT dblink_connect('other', format('host=%s port=%s dbname=%s user=%s',
    split_part(current_setting('unix_socket_directories'), ',', 1),
    current_setting('port'), current_database(), current_user));
SELECT * FROM dblink('other', $$SELECT privacy.clearance('regress_adm_officer'), privacy.is_privacy_admin('regress_adm_plain')$$)
    AS t(clearance text, admin boolean);
SELECT privacy.set_clearance('regress_adm_officer', 'internal');
SECURITY LABEL FOR crm_privacy ON ROLE regress_adm_plain IS 'privacy_admin';
SELECT * FROM dblink('other', $$SELECT privacy.clearance('regress_adm_officer'), privacy.is_privacy_admin('regress_adm_plain')$$)
    AS t(clearance text, admin boolean);
SECURITY LABEL FOR crm_privacy ON ROLE regress_adm_plain IS NULL;
DROP ROLE regress_adm_officer;   -- its label goes with it
SELECT * FROM dblink('other', $$SELECT privacy.is_privacy_admin('regress_adm_plain'),
                                       (SELECT count(*) FROM pg_shseclabel WHERE provider = 'crm_privacy'
                                           AND objoid NOT IN (SELECT oid FROM pg_roles))$$)
    AS t(admin boolean, orphans bigint);
SELECT dblink_disconnect('other');
DROP EXTENSION dblink;

--
-- The data the privacy administrator works on.
--
CREATE TABLE adm_customer (id bigint PRIMARY KEY, full_name text, email text, city text);
INSERT INTO adm_customer VALUES (1, '张三', 'zhang@example.cn', '北京'), (2, '李四', 'li@example.cn', '上海');
CREATE TABLE adm_orders (order_id int PRIMARY KEY, customer_id bigint, amount numeric);
INSERT INTO adm_orders VALUES (10, 1, 5), (11, 2, 7);
SECURITY LABEL FOR crm_privacy ON TABLE adm_customer IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN adm_customer.full_name IS 'identifier mask=name';
SECURITY LABEL FOR crm_privacy ON COLUMN adm_customer.email IS 'identifier mask=email anon=pseudonym';
SECURITY LABEL FOR crm_privacy ON COLUMN adm_customer.city IS 'quasi_identifier level=public';

-- Relating a table to a subject table takes owning the subject table or
-- being a privacy administrator, also while check_function_bodies is off.
GRANT CREATE ON SCHEMA public TO regress_adm_plain, regress_adm_cpo;
SET ROLE regress_adm_plain;
CREATE TABLE adm_mine (id int, customer_id bigint);
SECURITY LABEL FOR crm_privacy ON TABLE adm_mine IS 'related subject=public.adm_customer key=customer_id';
SET check_function_bodies = off;
SECURITY LABEL FOR crm_privacy ON TABLE adm_mine IS 'related subject=public.adm_customer key=customer_id';
SECURITY LABEL FOR crm_privacy ON TABLE adm_mine IS 'related subject=public.adm_not_yet key=customer_id';
RESET check_function_bodies;
CREATE TABLE adm_own_subject (id bigint PRIMARY KEY);
SECURITY LABEL FOR crm_privacy ON TABLE adm_own_subject IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON TABLE adm_mine IS 'related subject=public.adm_own_subject key=customer_id';
SECURITY LABEL FOR crm_privacy ON TABLE adm_mine IS NULL;
SECURITY LABEL FOR crm_privacy ON TABLE adm_own_subject IS NULL;
RESET ROLE;
ALTER TABLE adm_orders OWNER TO regress_adm_cpo;
SET ROLE regress_adm_cpo;
SECURITY LABEL FOR crm_privacy ON TABLE adm_orders IS 'related subject=public.adm_customer key=customer_id';
RESET ROLE;
SELECT "table", label FROM privacy.labels WHERE "table" LIKE 'adm%' AND "column" IS NULL ORDER BY 1;

--
-- A role below a privacy administrator is refused every function of schema
-- privacy but those meant for everyone (listed here), with 42501, before the
-- function runs: every other function, present and future, is in this list.
--
CREATE TABLE adm_everyones (name name PRIMARY KEY);
INSERT INTO adm_everyones VALUES
    ('check_access_kind'), ('check_rule'), ('clearance'), ('clearance_level'), ('generalize'),
    ('is_cn_mobile'), ('is_email'), ('is_privacy_admin'), ('is_valid_cn_id'), ('keyed_noise'),
    ('keyed_pseudonym'), ('keyed_pseudonym_int'), ('label_column'),
    ('label_table'), ('luhn_valid'), ('mask_card'), ('mask_cn_id'), ('mask_email'), ('mask_name'),
    ('mask_partial'), ('mask_phone'), ('noise'), ('parse_label'),
    ('read_audit_ready'), ('role_columns'), ('snapshot_out_of_date'), ('subject_key'), ('subject_key_column'),
    ('view_row'), ('view_rows');
-- Each function called with an ordinary value of each argument's type (NULLs
-- would let the planner fold away the call of a STRICT function), and with
-- NULLs (for the privacy administrator below: no side effects).
CREATE VIEW adm_calls AS
SELECT p.oid::regprocedure AS function,
       format('SELECT privacy.%I(%s)', p.proname,
              (SELECT string_agg(format('%L::%s',
                         CASE format_type(t, NULL)
                              WHEN 'regclass' THEN 'pg_catalog.pg_class'
                              WHEN 'regrole' THEN 'regress_adm_plain'
                              WHEN 'boolean' THEN 'false'
                              WHEN 'jsonb' THEN '{}'
                              WHEN 'timestamp with time zone' THEN 'now'
                              WHEN 'bigint' THEN '0' WHEN 'integer' THEN '0'
                              WHEN 'interval' THEN '1 hour'
                              WHEN 'text[]' THEN '{x}'
                              WHEN 'bytea[]' THEN '{}' WHEN 'bigint[]' THEN '{}'
                              WHEN 'oid' THEN '0' WHEN 'oid[]' THEN '{}'
                              ELSE 'x' END, format_type(t, NULL)), ', ' ORDER BY n)
                 FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(t, n))) AS call,
       format('SELECT privacy.%I(%s)', p.proname,
              (SELECT string_agg('NULL::' || format_type(t, NULL), ', ' ORDER BY n)
                 FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(t, n))) AS null_call
  FROM pg_proc p
 WHERE p.pronamespace = 'privacy'::regnamespace
   AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)
   AND p.proname NOT IN (SELECT name FROM adm_everyones);
SELECT function, left(as_role('regress_adm_plain', call), 5) AS plain_role
  FROM adm_calls ORDER BY function::text;
-- CREATEROLE changes nothing.
SELECT count(*) AS calls, count(*) FILTER (WHERE left(as_role('regress_adm_prov', call), 5) = '42501') AS refused
  FROM adm_calls;
-- The records only privacy administrators read.
INSERT INTO adm_customer VALUES (3, '王五', 'wang@example.cn', '广州');   -- not audited yet
SELECT privacy.enable_audit('adm_customer');
UPDATE adm_customer SET city = city WHERE id = 3;                        -- an audit row
SELECT count(*) AS access_before FROM privacy.access_log \gset
SELECT privacy.subject_report('adm_customer', '3') IS NOT NULL AS read;  -- an access row
SELECT regress_wait_reads(:access_before + 1) > :access_before AS access_logged;
SELECT privacy.opt_out('adm_customer', '3', 'direct_marketing');
SELECT privacy.request_change('adm_customer', '3', 'city', '深圳') > 0 AS requested;
SELECT r AS record, as_role('regress_adm_plain', format('SELECT count(*) FROM privacy.%I', r)) AS plain_role
  FROM unnest(ARRAY['choices', 'choice_history', 'change_requests', 'audit_log', 'access_log', 'subject_choices',
                    'subject_choice_history', 'change_request_data', 'erasures', 'audit_seal', 'pseudonym_key',
                    'view_definitions']) r;

-- A role's SECURITY DEFINER function runs with that role's rights, also when
-- a privacy administrator calls it: it cannot reach the administration
-- functions.  A privacy administrator's own SECURITY DEFINER function can
-- (that is how it delegates a task).
CREATE FUNCTION public.adm_plain_grabs() RETURNS void LANGUAGE sql SECURITY DEFINER
    AS $$ SELECT privacy.grant_access('regress_adm_plain', 'full') $$;
ALTER FUNCTION public.adm_plain_grabs() OWNER TO regress_adm_plain;
CREATE FUNCTION public.adm_cpo_opts_out(k text) RETURNS void LANGUAGE sql SECURITY DEFINER
    AS $$ SELECT privacy.opt_out('adm_customer', k, 'direct_marketing', 'portal') $$;
ALTER FUNCTION public.adm_cpo_opts_out(text) OWNER TO regress_adm_cpo;
SELECT as_role('regress_adm_cpo', 'SELECT public.adm_plain_grabs()') AS plain_function_called_by_cpo,
       as_role('postgres', 'SELECT public.adm_plain_grabs()') AS called_by_superuser,
       as_role('regress_adm_plain', 'SELECT public.adm_cpo_opts_out(''2'')') AS cpo_function_called_by_plain;
SELECT count(*) AS full_grants FROM privacy.access_grants WHERE role = 'regress_adm_plain'::regrole;

--
-- The privacy administrator, not a superuser and without CREATEROLE, does
-- every task.
--
SET ROLE regress_adm_cpo;
SELECT current_setting('is_superuser') AS superuser, privacy.is_privacy_admin();
SELECT privacy.set_clearance('regress_adm_plain', 'confidential');
SELECT privacy.add_purpose('adm_newsletter', 'a newsletter');
SELECT privacy.opt_out('adm_customer', '1', 'adm_newsletter', 'phone');
SELECT privacy.opt_in('adm_customer', '1', 'adm_newsletter', 'web');
SELECT privacy.create_disclosure('adm_partner', recipient => 'a partner');
SELECT privacy.disclose('adm_partner', 'adm_customer', 'city', 'keep');
SELECT privacy.grant_access('regress_adm_plain', 'standard');
SELECT privacy.grant_access('regress_adm_plain', 'disclose', 'adm_partner');
SELECT privacy.revoke_access('regress_adm_plain', 'disclose', 'adm_partner');
SELECT privacy.drop_disclosure('adm_partner');
SELECT privacy.refresh_views('adm_customer');
SELECT privacy.grant_access('regress_adm_cpo', 'anon');   -- k_anonymity reads the anonymous view
SELECT privacy.k_anonymity('adm_customer') AS k;
SELECT privacy.review_change((SELECT max(id) FROM privacy.change_requests), true, 'checked');
SELECT id > 0 AS has_id, col, new_value, status, decided_by, note FROM privacy.change_requests
 WHERE subject = 'adm_customer'::regclass;
SELECT privacy.erase_subject('adm_customer', '2') AS rows_erased;
SELECT r->'data' AS data, jsonb_array_length(r->'choices') AS choices
  FROM privacy.subject_report('adm_customer', '3') r;
SELECT subject, key, purpose, opted_out, source FROM privacy.choices
 WHERE subject = 'adm_customer'::regclass ORDER BY key, purpose;
SELECT count(*) > 0 AS audit_rows FROM privacy.audit_log WHERE table_name LIKE '%adm_customer';
SELECT count(*) > 0 AS access_rows FROM privacy.access_log WHERE array_to_string(relations, ',') LIKE '%adm_customer%';
SELECT count(*) > 0 AS reported FROM privacy.report_access();
SELECT count(*) > 0 AS model FROM privacy.report_data_model();
SELECT count(*) > 0 AS views FROM privacy.report_views();
SELECT count(*) >= 0 AS coverage FROM privacy.report_coverage();
SELECT count(*) >= 0 AS detected FROM privacy.detect('adm_customer');
SELECT count(*) > 0 AS checks FROM privacy.check_setup();
SELECT privacy.seal_audit() > 0 AS sealed;
SELECT log, rows_checked > 0 AS checked FROM privacy.verify_audit() ORDER BY log;
SELECT count(*) AS heads FROM privacy.audit_head() WHERE id IS NOT NULL;
SELECT privacy.disable_audit('adm_customer');
SELECT privacy.enable_audit('adm_customer');
SELECT privacy.rotate_pseudonym_key();
RESET ROLE;
-- Every administration function is callable by it (NULL arguments give
-- other errors, never 42501).
SELECT function, as_role('regress_adm_cpo', null_call) AS privacy_admin
  FROM adm_calls
 WHERE has_function_privilege('regress_adm_cpo', function, 'EXECUTE')
   AND left(as_role('regress_adm_cpo', null_call), 5) = '42501';

-- Clean up.
SELECT privacy.disable_audit('adm_customer');
SELECT privacy.revoke_access('regress_adm_plain', 'standard');
SELECT privacy.revoke_access('regress_adm_cpo', 'anon');
DELETE FROM privacy.purposes WHERE name = 'adm_newsletter';
DROP VIEW adm_calls, adm_role_labels;
DROP TABLE adm_orders, adm_customer, adm_mine, adm_own_subject, adm_everyones;
DROP FUNCTION as_role(name, text), public.adm_plain_grabs(), public.adm_cpo_opts_out(text);
REVOKE CREATE ON SCHEMA public FROM regress_adm_plain, regress_adm_cpo;
DROP ROLE regress_adm_prov, regress_adm_cpo, regress_adm_plain, regress_adm_noinherit, regress_adm_inherit;
