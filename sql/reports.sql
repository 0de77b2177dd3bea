--
-- reports: privacy.detect() and privacy.report_coverage() (doc/views.md, "Reports").
--
CREATE TABLE leads (
    id        int PRIMARY KEY,
    contact   text,           -- e-mail addresses, by value
    ref       varchar(20),    -- mainland mobiles, by value
    doc       char(18),       -- resident IDs with valid check characters, by value
    pay       text,           -- card numbers passing Luhn, by value
    seen_from text,           -- IPv4 addresses, by value
    full_name text,           -- by name
    birthday  date,           -- by name, a date
    dob_text  text,           -- by name, not a date: no generalize(year)
    religion  text,           -- by name
    notes     text,           -- nothing personal recognisable
    mixed     text            -- e-mails in only half the values: below 80 %
);
INSERT INTO leads
SELECT i, 'lead' || i || '@example.cn', '1381234' || lpad(i::text, 4, '0'),
       '11010519491231002X', '4111 1111 1111 1111', '10.0.' || (i % 200) || '.' || (i % 250),
       'x', '1990-01-01', '1990', NULL, 'note ' || i,
       CASE WHEN i % 2 = 0 THEN 'a' || i || '@b.cn' ELSE 'n/a' END
  FROM generate_series(1, 40) AS i;

SELECT "column", suggested_label, evidence FROM privacy.detect('leads') ORDER BY "column";
-- The sample size is the caller's to choose; it must be positive.
SELECT count(*) FROM privacy.detect('leads', 1);
SELECT * FROM privacy.detect('leads', 0);
-- A column in a nondeterministic collation, in which regular expressions
-- fail: its values are read in the C collation, and the reports run.
CREATE COLLATION regress_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE leads_ci (id int PRIMARY KEY, contact text COLLATE regress_ci, seen_from text COLLATE regress_ci);
INSERT INTO leads_ci SELECT i, 'Lead' || i || '@Example.cn', '10.0.0.' || i FROM generate_series(1, 10) i;
SELECT "column", suggested_label FROM privacy.detect('leads_ci') ORDER BY 1;
SELECT count(*) > 0 AS coverage_runs FROM privacy.report_coverage();
SELECT count(*) > 0 AS check_setup_runs FROM privacy.check_setup();
DROP TABLE leads_ci;
DROP COLLATION regress_ci;
-- Labelled columns are not suggested again.
SECURITY LABEL FOR crm_privacy ON COLUMN leads.contact IS 'identifier mask=email';
SELECT count(*) FROM privacy.detect('leads') WHERE "column" = 'contact';
-- A privacy administrator who cannot read the values gets suggestions from
-- names only; a role that is no privacy administrator gets none.
CREATE ROLE regress_crm_detector;
CREATE ROLE regress_crm_cpo;
SECURITY LABEL FOR crm_privacy ON ROLE regress_crm_cpo IS 'privacy_admin';
SET ROLE regress_crm_cpo;
SELECT "column", suggested_label FROM privacy.detect('leads') ORDER BY "column";
SET ROLE regress_crm_detector;
SELECT "column", suggested_label FROM privacy.detect('leads') ORDER BY "column";
RESET ROLE;
DROP ROLE regress_crm_cpo;

-- Coverage: unlabelled columns of labelled tables, detection, direct access.
SECURITY LABEL FOR crm_privacy ON TABLE leads IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN leads.id IS 'public';
GRANT SELECT (id, notes) ON leads TO regress_crm_detector;
SELECT kind, "column", detail FROM privacy.report_coverage()
 WHERE "table" = 'leads' AND detail NOT LIKE '%pg\_read\_all\_data%' ORDER BY kind, "column";
REVOKE SELECT (id, notes) ON leads FROM regress_crm_detector;
SELECT count(*) FROM privacy.report_coverage()
 WHERE kind = 'direct access' AND detail LIKE '%regress_crm_detector%';

-- The data model and the views, as a reviewer sees them.
SELECT "column", data_type, class, level, mask, anon, labelled
  FROM privacy.report_data_model() WHERE "table" = 'leads';
SELECT privacy.grant_access('regress_crm_detector', 'standard');
SELECT kind, schema, view, base_table, roles FROM privacy.report_views() WHERE view = 'leads';
SELECT privacy.revoke_access('regress_crm_detector', 'standard');
SELECT count(*) AS reads FROM privacy.report_access();
-- check_setup: one row per check.  The audit of leads is missing.
SELECT "check", ok FROM privacy.check_setup()
 WHERE "check" IN ('pseudonym key', 'event triggers enabled', 'views built', 'no unlabelled columns',
                   'subject tables audited', 'audit trail intact');
SELECT privacy.enable_audit('leads');
SELECT ok FROM privacy.check_setup() WHERE "check" = 'subject tables audited';
SET ROLE regress_crm_detector;
SELECT * FROM privacy.check_setup();
SELECT * FROM privacy.report_access();
RESET ROLE;

DROP TABLE leads;
DROP ROLE regress_crm_detector;
