-- doc/demo.sql -- the crm_privacy demo: what a DBA sees on a labelled CRM.
-- Run by "bash test/run.sh demo [ROWS]" in a fresh database; works on any
-- PostgreSQL 15 database where crm_privacy is installed:
--     psql -v rows=1000 -f doc/demo.sql
-- Calls of functions that return nothing run between "\o /dev/null" and "\o":
-- psql shows each statement (and would show an error) but no empty result.
\set ON_ERROR_STOP on
\set QUIET on
\pset pager off
\pset null '(null)'
-- pg_temp.wrap(text, width): a long text as lines of at most width
-- characters, broken at spaces, so that the tables fit a narrow terminal
CREATE FUNCTION pg_temp.wrap(t text, width int) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$SELECT rtrim(regexp_replace(t, '(.{1,' || width || '})( +|$)', E'\\1\n', 'g'), E'\n')$$;
\if :{?rows}
\else
\set rows 1000
\endif

\echo
\echo '== 1. A CRM with' :rows 'customers, generated deterministically (bench/crm_data.sql)'
\ir ../bench/crm_data.sql
SELECT (SELECT count(*) FROM customer) AS customers, (SELECT count(*) FROM orders) AS orders;
SELECT customer_id AS id, full_name, birth_date, mobile, id_number, city, income, religion
  FROM customer ORDER BY customer_id LIMIT 5;
\echo 'Customers 1 to 5 are the same for any size; customers 3 and 4 have a religion (sensitive data).'

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
\o /dev/null
SELECT privacy.label_column('orders', 'shipping_address', 'identifier mask=fn(mymasks.city_only)');
\o
\set ECHO none

\echo
\echo '== 3. What every column is: privacy.labels (class, level, and the mask and anon rules)'
\echo 'The table labels: customer is the table of data subjects (key customer_id; k=5 for the'
\echo 'anonymous view), orders is related to it through its customer_id:'
SELECT "table", label FROM privacy.labels
 WHERE schema = 'public' AND "column" IS NULL ORDER BY "table";
\echo 'The columns of customer, then of orders (a label gives the class and what differs from its defaults;'
\echo '* marks a column without a label: the defaults of privacy by default apply):'
SELECT "column" || CASE WHEN label IS NULL THEN '*' ELSE '' END AS "customer column", class, level, mask, anon
  FROM privacy.labels WHERE schema = 'public' AND "table" = 'customer' AND "column" IS NOT NULL
 ORDER BY "column";
SELECT "column" || CASE WHEN label IS NULL THEN '*' ELSE '' END AS "orders column", class, level, mask, anon
  FROM privacy.labels WHERE schema = 'public' AND "table" = 'orders' AND "column" IS NOT NULL
 ORDER BY "column";

\echo
\echo '== 4. Staff clearances (a role without one has public) and what each may read'
DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['crm_intern', 'crm_clerk', 'crm_analyst', 'crm_officer'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I', r);
        ELSE   -- roles are the cluster's: forget the clearance of an earlier run
            EXECUTE format('SECURITY LABEL FOR crm_privacy ON ROLE %I IS NULL', r);
        END IF;
    END LOOP;
END $$;
\set ECHO queries
\o /dev/null
SELECT privacy.set_clearance('crm_clerk', 'internal');
SELECT privacy.set_clearance('crm_analyst', 'confidential');
SECURITY LABEL FOR crm_privacy ON ROLE crm_officer IS 'clearance=secret';
SELECT privacy.grant_access(r::regrole, 'standard')
  FROM unnest(ARRAY['crm_intern', 'crm_clerk', 'crm_analyst', 'crm_officer']) r;
SELECT privacy.grant_access('crm_clerk', 'optout', 'direct_marketing');
SELECT privacy.grant_access('crm_analyst', 'anon');
SELECT privacy.grant_access('crm_officer', 'full');
\o
\set ECHO none
SELECT r AS role, privacy.clearance(r::regrole) AS clearance,
       string_agg(g.kind || CASE WHEN g.name <> '' THEN ' ' || g.name ELSE '' END, ', ' ORDER BY g.kind) AS views
  FROM unnest(ARRAY['crm_intern', 'crm_clerk', 'crm_analyst', 'crm_officer']) r
  JOIN privacy.access_grants g ON g.role = r::regrole
 GROUP BY r ORDER BY 2, 1;

\echo '== 5. Bad labels are refused when they are set (SQLSTATE 22023), and nothing is written'
\set ON_ERROR_STOP off
\set ECHO queries
SECURITY LABEL FOR crm_privacy ON COLUMN customer.mobile IS 'identifier mask=partial(3)';
\echo '=> SQLSTATE' :LAST_ERROR_SQLSTATE
SECURITY LABEL FOR crm_privacy ON COLUMN customer.birth_date IS 'personal mask=email';
\echo '=> SQLSTATE' :LAST_ERROR_SQLSTATE
SECURITY LABEL FOR crm_privacy ON COLUMN customer.email IS 'identifier mask=email; DROP TABLE customer';
\echo '=> SQLSTATE' :LAST_ERROR_SQLSTATE
SECURITY LABEL FOR crm_privacy ON COLUMN customer.email IS 'identifier mask=fn(public.upper)';
\echo '=> SQLSTATE' :LAST_ERROR_SQLSTATE
\set ECHO none
\set ON_ERROR_STOP on
\echo 'The three columns keep the labels of section 2, and the table is still there:'
SELECT "column", label FROM privacy.labels
 WHERE schema = 'public' AND "table" = 'customer' AND "column" IN ('mobile', 'birth_date', 'email')
 ORDER BY "column";

\echo
\echo '== 6. Labels follow DDL: renames rewrite the labels that name the object; breaking DDL is refused'
\set ECHO queries
ALTER TABLE customer RENAME TO client;
SELECT "table", label FROM privacy.labels WHERE "table" = 'orders' AND "column" IS NULL;
ALTER TABLE client RENAME TO customer;
\set ECHO none
-- (DROP COLUMN ... CASCADE would also announce the foreign key it drops
-- with it: a NOTICE about a statement that is refused as a whole)
SET client_min_messages = warning;
\set ON_ERROR_STOP off
\set ECHO queries
ALTER TABLE customer DROP COLUMN customer_id CASCADE;
ALTER TABLE customer ALTER COLUMN email TYPE bytea USING email::bytea;
\set ECHO none
\set ON_ERROR_STOP on
RESET client_min_messages;
\echo 'Both statements were rolled back: the key, the foreign key of orders and the e-mail column stand:'
SELECT format_type(k.atttypid, k.atttypmod) AS customer_id,
       (SELECT count(*) FROM pg_constraint WHERE conrelid = 'orders'::regclass AND contype = 'f') AS "foreign keys of orders",
       format_type(e.atttypid, e.atttypmod) AS email
  FROM pg_attribute k, pg_attribute e
 WHERE k.attrelid = 'customer'::regclass AND k.attname = 'customer_id'
   AND e.attrelid = 'customer'::regclass AND e.attname = 'email';

\echo
\echo '== 7. Coverage: labelled and unlabelled columns of each labelled table'
SELECT "table", count(*) FILTER (WHERE label IS NOT NULL) AS labelled_columns,
       count(*) FILTER (WHERE label IS NULL) AS unlabelled_columns,
       string_agg("column", ', ') FILTER (WHERE label IS NULL) AS "unlabelled (hidden by default)"
  FROM privacy.labels WHERE schema = 'public' AND "column" IS NOT NULL
 GROUP BY "table" ORDER BY 1;

\echo
\echo '== 8. Opt-outs: customer 2 refuses direct marketing, 3 sensitive data use, 4 third-party disclosure'
\set ECHO queries
\o /dev/null
SELECT privacy.opt_out('customer', '2', 'direct_marketing', 'web form');
SELECT privacy.opt_out('customer', '3', 'sensitive_data', 'letter');
SELECT privacy.opt_out('customer', '4', 'third_party_disclosure', 'phone call');
\o
\set ECHO none
SELECT subject, key, purpose, opted_out, source FROM privacy.choices ORDER BY key;

\echo
\echo '== 9. The same customers through the views (generated by crm_privacy, never written by hand)'
\echo 'privacy_standard.customer: every role runs the same query and sees what its clearance allows.'
\echo 'The rows each reads are kept in a temporary table, "seen", to show them side by side:'
CREATE TEMP TABLE seen (reader name, customer_id bigint, full_name text, id_number text,
                        birth_date date, income numeric, religion text);
GRANT INSERT ON seen TO crm_intern, crm_clerk, crm_analyst, crm_officer;
\set ECHO queries
SET ROLE crm_intern;
INSERT INTO seen SELECT current_user, customer_id, full_name, id_number, birth_date,
                        income, religion FROM privacy_standard.customer WHERE customer_id IN (3, 4);
\set ECHO none
SET ROLE crm_clerk;
INSERT INTO seen SELECT current_user, customer_id, full_name, id_number, birth_date,
                        income, religion FROM privacy_standard.customer WHERE customer_id IN (3, 4);
SET ROLE crm_analyst;
INSERT INTO seen SELECT current_user, customer_id, full_name, id_number, birth_date,
                        income, religion FROM privacy_standard.customer WHERE customer_id IN (3, 4);
SET ROLE crm_officer;
INSERT INTO seen SELECT current_user, customer_id, full_name, id_number, birth_date,
                        income, religion FROM privacy_standard.customer WHERE customer_id IN (3, 4);
RESET ROLE;
\echo '(the same as crm_clerk, crm_analyst and crm_officer; the last row of each customer: the base table)'
INSERT INTO seen SELECT NULL, customer_id, full_name, id_number, birth_date, income, religion
  FROM public.customer WHERE customer_id IN (3, 4);
SELECT s.customer_id AS id, coalesce(privacy.clearance(s.reader::regrole), '(table)') AS clearance,
       s.full_name, s.id_number, s.birth_date, s.income, s.religion
  FROM seen s
 ORDER BY s.customer_id,
          array_position(ARRAY['public', 'internal', 'confidential', 'secret'], privacy.clearance(s.reader::regrole)) NULLS LAST;
\echo 'public: every personal column masked or NULL; internal: birth date in clear; confidential: name and'
\echo 'income too; secret (crm_officer): the resident ID and religion too (sensitive data) -- but not the'
\echo 'religion of customer 3, who opted out of the use of sensitive data (section 8).'
\echo
\echo 'privacy_full.customer as crm_officer: all in clear, despite opt-outs, the unlabelled column too'
SET ROLE crm_officer;
SELECT customer_id, full_name, mobile, id_number, religion, marketing_notes
  FROM privacy_full.customer WHERE customer_id IN (3, 4) ORDER BY customer_id;
\echo 'privacy_optout_direct_marketing.customer as crm_clerk: customer 2 and their orders are gone'
SET ROLE crm_clerk;
SELECT customer_id, full_name, city FROM privacy_optout_direct_marketing.customer
 WHERE customer_id <= 3 ORDER BY customer_id;
SELECT (SELECT count(*) FROM privacy_standard.orders WHERE customer_id = 2) AS "orders of 2 (standard)",
       (SELECT count(*) FROM privacy_optout_direct_marketing.orders WHERE customer_id = 2) AS "orders of 2 (opt-out view)";
\echo
\echo 'privacy_anon.customer as crm_analyst: pseudonyms, generalized quasi-identifiers, k=5 suppression'
SET ROLE crm_analyst;
SELECT customer_id, full_name, gender, birth_date, zip, city, income, loyalty_points AS points
  FROM privacy_anon.customer ORDER BY birth_date, zip, customer_id LIMIT 5;
RESET ROLE;
\echo 'customer_id is a pseudonym, the name is gone, birth dates are decades, zips keep 3 digits, incomes'
\echo 'are rounded to 10,000 and loyalty points carry noise (up to ±10 %).'
\echo 'Rows whose class of quasi-identifiers (gender, birth decade, zip prefix, city) has fewer than 5'
\echo 'customers are left out; the smallest class left has k customers:'
SELECT t AS "customers (table)", v AS "rows (anon view)", t - v AS suppressed,
       privacy.k_anonymity('customer') AS k
  FROM (SELECT (SELECT count(*) FROM public.customer) AS t,
               (SELECT count(*) FROM privacy_anon.customer) AS v) c;
\echo
\echo 'A disclosure profile for a partner: only the columns it names, the e-mail as a pseudonym,'
\echo 'and no subject who opted out of disclosure to third parties (customer 4, section 8)'
\set ECHO queries
\o /dev/null
SELECT privacy.create_disclosure('partner', recipient => 'Partner Logistics Ltd');
SELECT privacy.disclose('partner', 'customer', 'customer_id', 'keep');
SELECT privacy.disclose('partner', 'customer', 'email', 'pseudonym');
SELECT privacy.disclose('partner', 'customer', 'city', 'keep');
SELECT privacy.disclose('partner', 'customer', 'birth_date', 'generalize(decade)');
SELECT privacy.disclose('partner', 'orders', 'customer_id', 'keep');
SELECT privacy.disclose('partner', 'orders', 'amount', 'keep');
\o
\set ECHO none
SELECT customer_id, full_name, email, birth_date, city, income
  FROM privacy_disclose_partner.customer WHERE customer_id <= 5 ORDER BY customer_id;
\echo 'The subjects who opted out of third-party disclosure, and what the partner''s views hold of them:'
SELECT key, purpose, opted_out, source FROM privacy.choices
 WHERE purpose = 'third_party_disclosure' AND opted_out ORDER BY key;
\set ECHO queries
SELECT customer_id, email, birth_date, city FROM privacy_disclose_partner.customer
 WHERE customer_id IN (SELECT key::bigint FROM privacy.choices
                        WHERE purpose = 'third_party_disclosure' AND opted_out);
\set ECHO none
WITH opted_out AS (SELECT key::bigint AS customer_id FROM privacy.choices
                    WHERE purpose = 'third_party_disclosure' AND opted_out)
SELECT what, in_table AS "public (table)", in_view AS "privacy_disclose_partner (view)"
  FROM (VALUES
    (1, 'customers', (SELECT count(*) FROM public.customer),
                     (SELECT count(*) FROM privacy_disclose_partner.customer)),
    (2, 'customers who opted out', (SELECT count(*) FROM public.customer WHERE customer_id IN (SELECT customer_id FROM opted_out)),
                                   (SELECT count(*) FROM privacy_disclose_partner.customer WHERE customer_id IN (SELECT customer_id FROM opted_out))),
    (3, 'orders', (SELECT count(*) FROM public.orders),
                  (SELECT count(*) FROM privacy_disclose_partner.orders)),
    (4, 'orders of customers who opted out', (SELECT count(*) FROM public.orders WHERE customer_id IN (SELECT customer_id FROM opted_out)),
                                             (SELECT count(*) FROM privacy_disclose_partner.orders WHERE customer_id IN (SELECT customer_id FROM opted_out)))
  ) v(n, what, in_table, in_view)
 ORDER BY n;
\echo
\echo 'Without a grant, a role reads nothing: not the views, not the base table'
SET ROLE crm_intern;
\set ON_ERROR_STOP off
\set ECHO queries
SELECT count(*) FROM privacy_full.customer;
SELECT count(*) FROM public.customer;
\set ECHO none
\set ON_ERROR_STOP on
RESET ROLE;

\echo
\echo '== 10. What still needs attention (privacy.report_coverage())'
SELECT kind, "table", "column", pg_temp.wrap(detail, 50) AS detail
  FROM privacy.report_coverage() WHERE schema = 'public' ORDER BY kind, "table", detail;
\echo 'pg_read_all_data is PostgreSQL''s predefined role that reads every table: whoever is granted it'
\echo 'reads around the views (nobody in this demo). marketing_notes is left unlabelled on purpose.'


\echo
\echo '== 11. The change audit: every change of customer, non-public values as pseudonyms, never in clear'
\o /dev/null
SELECT privacy.enable_audit('customer');
\o
GRANT SELECT, UPDATE ON public.customer TO crm_officer;
SET ROLE crm_officer;
\set ECHO queries
SET application_name = 'crm front office';
UPDATE public.customer SET mobile = '13900001111', city = '杭州', income = income
 WHERE customer_id = 1;
RESET ROLE;
\set ECHO none
\echo 'privacy.audit_log: who (the login and the role in use), from which application, what, about whom'
\echo '(the subject key, a pseudonym) -- the opt-outs of section 8 are there too:'
SELECT id, session_user_name AS "session", current_user_name AS "user", application_name AS app,
       op, subject_key AS subject, changed_columns AS changed
  FROM privacy.audit_log ORDER BY id;
\echo 'The values of the UPDATE: city (level public) in clear, mobile as a pseudonym; income = income'
\echo 'changed nothing and is not recorded:'
SELECT a.id, c AS "column", l.level, a.old_values ->> c AS old, a.new_values ->> c AS new
  FROM privacy.audit_log a, unnest(a.changed_columns) c, privacy.labels l
 WHERE a.op = 'UPDATE' AND l.schema = 'public' AND l."table" = 'customer' AND l."column" = c
 ORDER BY a.id, c;
SELECT count(*) AS "log rows holding 13900001111" FROM privacy.audit_log
 WHERE old_values::text LIKE '%13900001111%' OR new_values::text LIKE '%13900001111%';
\echo 'Nobody, the owner included, can change the log:'
\set ON_ERROR_STOP off
\set ECHO queries
DELETE FROM privacy.audit_log;
\set ECHO none
\set ON_ERROR_STOP on

\echo
\echo '== 12. The read audit: every read of a full view, and every secret column read in clear, is in'
\echo '       privacy.access_log (literals replaced by $n), even when rolled back'
SET ROLE crm_officer;
\set ECHO queries
BEGIN;
SELECT customer_id, full_name, mobile, id_number FROM privacy_full.customer WHERE customer_id = 1;
ROLLBACK;
\set ECHO none
RESET ROLE;
\o /dev/null
SELECT pg_sleep(0.5);
\o
SELECT id, current_user_name AS "user", relations, row_count FROM privacy.access_log ORDER BY id;
\echo 'The statements recorded: crm_officer''s read of section 9 that showed resident IDs and religion in'
\echo 'clear, its read of the full view in section 9, and the read just rolled back:'
SELECT id, pg_temp.wrap(query, 80) AS query FROM privacy.access_log ORDER BY id;

\echo
\echo '== 13. A customer asks to correct their e-mail; a reviewer approves it, exactly once'
\set ECHO queries
SELECT privacy.request_change('customer', '1', 'email', 'new.address@example.cn',
                              'customer portal') AS request;
\o /dev/null
SELECT privacy.review_change(1, true, 'identity checked by phone');
\o
\set ON_ERROR_STOP off
SELECT privacy.review_change(1, false);
\set ON_ERROR_STOP on
\set ECHO none
SELECT id, col, new_value, requested_by, status, note FROM privacy.change_requests;
\echo 'What the database holds about customer 1, for the customer (privacy.subject_report):'
SELECT jsonb_pretty(r - 'generated_at' - 'labels' || jsonb_build_object('labels', jsonb_array_length(r->'labels'),
                    'audit', jsonb_path_query_array(r->'audit', '$[*].op')))
  FROM privacy.subject_report('customer', '1') r;

\echo
\echo '== 14. The seal: a SHA-256 chain over both logs; keep the head outside the database'
SELECT privacy.seal_audit() AS rows_sealed;
SELECT * FROM privacy.verify_audit();
SELECT log, id, left(hash, 16) || '...' AS hash FROM privacy.audit_head();

\echo
\echo '== 15. Reports for a reviewer: privileged reads, and the checks of the set-up'
SELECT at::time(0) AS at, session_user_name AS "session", current_user_name AS "user", relations, row_count
  FROM privacy.report_access() ORDER BY at;
\echo 'privacy.check_setup(): one row per check; ok = f is a warning, and detail says what was found:'
SELECT "check", ok, pg_temp.wrap(detail, 50) AS detail FROM privacy.check_setup();
\echo 'What each check means (t: fine; f: a warning), and what to do about a warning:'
\echo '  library preloaded         without it the full views refuse to be read (their reads could not be'
\echo '                            recorded): add crm_privacy to shared_preload_libraries and restart'
\echo '  pseudonym key             the key of every pseudonym; if there is none: rotate_pseudonym_key()'
\echo '  event triggers enabled    they keep labels true and rebuild the views after DDL: ALTER EVENT'
\echo '                            TRIGGER ... ENABLE for each one the detail names'
\echo '  related tables point ...  each related label names a labelled subject table: fix the label'
\echo '  views built               each labelled table has its views: privacy.refresh_views()'
\echo '  views owner unprivileged  crm_privacy_views, which owns the views, cannot log in, is no superuser'
\echo '                            and has no members; until a superuser makes it so, no view is rebuilt'
\echo '  no unlabelled columns     f here on purpose: marketing_notes stays hidden (NULL in every view'
\echo '                            but the full one) until someone labels it (privacy.label_column)'
\echo '  no direct access ...      f here: section 11 granted crm_officer SELECT, UPDATE on customer, a'
\echo '                            way around the views: REVOKE it (privacy.report_coverage() names the'
\echo '                            roles; pg_read_all_data, which it lists too, is not counted here)'
\echo '  subject tables audited    f here: section 11 audited customer only: privacy.enable_audit(''orders'')'
\echo '  audit trail intact        the sealed rows verify; rows added since wait for privacy.seal_audit()'
\echo 'Acting on the two warnings that call for it, then checking again:'
\set ECHO queries
REVOKE SELECT, UPDATE ON public.customer FROM crm_officer;
\o /dev/null
SELECT privacy.enable_audit('orders');
\o
\set ECHO none
SELECT "check", ok, pg_temp.wrap(detail, 50) AS detail FROM privacy.check_setup() WHERE NOT ok;

\echo
\echo '== 16. The chief privacy officer does the whole job without being a superuser'
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'crm_cpo') THEN
        CREATE ROLE crm_cpo NOSUPERUSER NOCREATEROLE;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'crm_provisioner') THEN
        CREATE ROLE crm_provisioner NOSUPERUSER CREATEROLE;
    END IF;
END $$;
\echo 'A superuser names the privacy administrator (a role label nobody else can set):'
\set ECHO queries
SECURITY LABEL FOR crm_privacy ON ROLE crm_cpo IS 'privacy_admin';
SET ROLE crm_cpo;
SELECT current_setting('is_superuser') AS superuser,
       pg_has_role('crm_cpo', 'pg_read_all_data', 'USAGE') AS reads_all_data,
       privacy.is_privacy_admin() AS privacy_admin;
\o /dev/null
SELECT privacy.set_clearance('crm_intern', 'internal');
SELECT privacy.opt_out('customer', '5', 'direct_marketing', 'call centre');
-- customer 5 changes their mind, and again
SELECT privacy.opt_in('customer', '5', 'direct_marketing', 'customer app');
SELECT privacy.opt_out('customer', '5', 'direct_marketing', 'letter');
SELECT privacy.create_disclosure('insurer', recipient => 'Insurer Co');
SELECT privacy.disclose('insurer', 'customer', 'birth_date', 'generalize(decade)');
SELECT privacy.disclose('insurer', 'customer', 'city', 'keep');
SELECT privacy.grant_access('crm_analyst', 'disclose', 'insurer');
SELECT privacy.request_change('customer', '6', 'city', '杭州', 'customer portal') AS request \gset
SELECT privacy.review_change(:request, true, 'proof of address received');
\o
SELECT privacy.erase_subject('customer', '7') AS rows_erased;
SELECT privacy.erase_subject('customer', '7') AS erased_again;   -- nothing more to erase
RESET ROLE;
-- a late order of the erased customer arrives from the web shop...
INSERT INTO public.orders VALUES ((SELECT max(order_id) + 1 FROM public.orders), 7, now(),
                                  'tea set', 'web', 39.90, '北京市朝阳区建国路 88 号');
SET ROLE crm_cpo;
-- ...and erasing again erases it, and only it
SELECT privacy.erase_subject('customer', '7') AS late_rows_erased;
\set ECHO none
SELECT r AS role, privacy.clearance(r::regrole) AS clearance FROM unnest(ARRAY['crm_intern', 'crm_cpo']) r;
SELECT key, purpose, opted_out, source, changed_by FROM privacy.choices WHERE key IN ('5', '7') ORDER BY key, purpose;
\echo 'Customer 5''s consent history (privacy.choice_history): every change, by whom, from where,'
\echo 'before and after:'
SELECT changed_at::timestamp(0) AS changed_at, changed_by, purpose, event, old_opted_out AS before,
       new_opted_out AS after, source
  FROM privacy.choice_history WHERE subject_name = 'public.customer' AND key = '5' ORDER BY id;
SELECT id, col, new_value, status, note FROM privacy.change_requests ORDER BY id;
SELECT subject, key, rows_changed, runs, not_erased FROM privacy.erasures;
\echo 'What the database still holds about the erased customer 7 (privacy.subject_report; the read'
\echo 'is recorded):'
SELECT privacy.subject_report('customer', '7') AS report \gset
SELECT jsonb_pretty(:'report'::jsonb -> 'data') AS data;
\echo 'and the audit rows about customer 7 in the same report, by operation:'
SELECT a->>'op' AS op, count(*) AS rows
  FROM jsonb_array_elements(:'report'::jsonb -> 'audit') WITH ORDINALITY AS t(a, n)
 GROUP BY a->>'op' ORDER BY min(n);
\o /dev/null
SELECT pg_sleep(0.5);
\o
\echo 'The access report, and the seal:'
SELECT at::time(0) AS at, session_user_name AS "session", current_user_name AS "user", relations, row_count
  FROM privacy.report_access() ORDER BY at;
SELECT privacy.seal_audit() > 0 AS sealed;
SELECT * FROM privacy.verify_audit();
\echo 'What the chief privacy officer cannot do: read the base tables around the views, or name'
\echo 'administrators:'
\set ON_ERROR_STOP off
\set ECHO queries
SELECT count(*) FROM public.customer;
RESET ROLE;
SET ROLE crm_provisioner;
\echo 'A role with CREATEROLE gives itself no clearance and names no administrator:'
SECURITY LABEL FOR crm_privacy ON ROLE crm_provisioner IS 'clearance=secret';
SELECT privacy.set_clearance('crm_provisioner', 'secret');
SECURITY LABEL FOR crm_privacy ON ROLE crm_provisioner IS 'privacy_admin';
\echo 'and, below a privacy administrator, nobody calls the administration functions:'
SELECT privacy.grant_access('crm_provisioner', 'full');
SELECT count(*) FROM privacy.choices;
\set ECHO none
\set ON_ERROR_STOP on
RESET ROLE;
