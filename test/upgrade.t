#!/usr/bin/env bash
# ALTER EXTENSION crm_privacy UPDATE from 0.1 (the script as released,
# crm_privacy--0.1.sql) to 0.2 keeps labels, choices and their history,
# change requests, erasures, disclosure treatments, and the audit and access
# logs (still sealed, still verified); the updated database has exactly the
# objects of one created at 0.2 (test/extension_catalog.psql, compared line by
# line); and an archive left by DROP EXTENSION at 0.1 is adopted by
# CREATE EXTENSION at 0.2.
. "$(dirname "$0")/tap.sh"
plan 16
here=$(dirname "$0")
old=crm_upgrade_old_$CRM_PRELOAD
new=crm_upgrade_new_$CRM_PRELOAD
arc=crm_upgrade_archive_$CRM_PRELOAD
for db in $old $new $arc; do q postgres "DROP DATABASE IF EXISTS $db" >/dev/null; q postgres "CREATE DATABASE $db" >/dev/null; done
q postgres "DROP ROLE IF EXISTS crm_upgrade_reader; CREATE ROLE crm_upgrade_reader" >/dev/null

# Without the library preloaded, erase_subject refuses to run unrecorded
# unless a superuser lets it (doc/audit.md, "Without preloading").
unrecorded=""
[ "$CRM_PRELOAD" = on ] || unrecorded="SET crm_privacy.require_access_log = off;"

# A CRM at 0.1, used: labels, clearances, choices and their history, change
# requests, an erasure, a disclosure profile, audited changes and a seal, a
# recorded read of a full view.
setup="$unrecorded
CREATE TABLE customer (id bigint PRIMARY KEY, name text, email text, religion text, city text);
CREATE TABLE orders (order_id int PRIMARY KEY, customer_id bigint REFERENCES customer, amount numeric);
COMMENT ON COLUMN customer.email IS 'primary e-mail';
SELECT privacy.label_table('customer', 'subject key=id');
SELECT privacy.label_table('orders', 'related subject=public.customer key=customer_id');
SELECT privacy.label_column('customer', 'id', 'public');
SELECT privacy.label_column('customer', 'name', 'identifier mask=name anon=pseudonym');
SELECT privacy.label_column('customer', 'email', 'identifier level=internal mask=email');
SELECT privacy.label_column('customer', 'religion', 'sensitive');
SELECT privacy.label_column('customer', 'city', 'quasi_identifier anon=keep');
SELECT privacy.label_column('orders', 'amount', 'personal anon=generalize(100)');
SELECT privacy.set_clearance('crm_upgrade_reader', 'internal');
SELECT privacy.grant_access('crm_upgrade_reader', 'standard');
INSERT INTO customer SELECT i, 'Name ' || i, 'n' || i || '@example.com', NULL, 'City ' || (i % 3) FROM generate_series(1, 20) i;
INSERT INTO orders SELECT i, 1 + i % 20, i * 10 FROM generate_series(1, 40) i;
SELECT privacy.add_purpose('newsletter', 'the monthly newsletter');
SELECT privacy.opt_out('customer', '3', 'direct_marketing', 'web form');
SELECT privacy.opt_out('customer', '4', 'newsletter', 'call');
SELECT privacy.opt_in('customer', '4', 'newsletter', 'call again');
SELECT privacy.create_disclosure('partner', recipient => 'Partner Ltd');
SELECT privacy.disclose('partner', 'customer', 'city', 'keep');
SELECT privacy.enable_audit('customer');
UPDATE customer SET city = 'Moved' WHERE id = 5;
SELECT privacy.request_change('customer', '6', 'city', 'Elsewhere');
SELECT privacy.request_change('customer', '7', 'city', 'Nowhere');
SELECT privacy.review_change((SELECT min(id) FROM privacy.change_requests), true, 'checked');
SELECT privacy.erase_subject('customer', '8');
SELECT privacy.seal_audit();"
# What must survive, as text.
state="
SELECT 'labels', string_agg(format('%s.%s.%s=%s', schema, \"table\", \"column\", label), ' ' ORDER BY 1) FROM privacy.labels
UNION ALL SELECT 'clearance', privacy.clearance('crm_upgrade_reader')
UNION ALL SELECT 'choices', string_agg(format('%s/%s/%s/%s/%s', subject_name, key, purpose, opted_out, source), ' ' ORDER BY 1) FROM privacy.choices
UNION ALL SELECT 'history', count(*)::text FROM privacy.choice_history
UNION ALL SELECT 'purposes', string_agg(name, ' ' ORDER BY name) FROM privacy.purposes
UNION ALL SELECT 'requests', string_agg(format('%s/%s/%s/%s', key, col, status, note), ' ' ORDER BY id) FROM privacy.change_requests
UNION ALL SELECT 'erasures', string_agg(format('%s/%s/%s', subject_name, key, runs), ' ') FROM privacy.erasures
UNION ALL SELECT 'disclosure', string_agg(format('%s/%s/%s', profile, \"column\", rule), ' ') FROM privacy.disclosure_columns
UNION ALL SELECT 'audit', count(*)::text || ' rows, max id ' || max(id) FROM privacy.audit_log
UNION ALL SELECT 'seals', count(*)::text FROM privacy.audit_seal
UNION ALL SELECT 'access', count(*)::text FROM privacy.access_log
UNION ALL SELECT 'grants', string_agg(format('%s/%s/%s', role::regrole, kind, name), ' ') FROM privacy.access_grants"

q "$old" "CREATE EXTENSION crm_privacy VERSION '0.1'" >/dev/null
out=$(q "$old" "$setup" 2>&1)
ok $? "a CRM at 0.1: labels, choices, requests, an erasure, a disclosure, audited changes, a seal"
if [ "$CRM_PRELOAD" = on ]; then
	q "$old" "SELECT count(*) FROM privacy_full.customer" >/dev/null
	wait_for "$old" "SELECT count(*) > 0 FROM privacy.access_log"
fi
before=$(q "$old" "$state")
is "$(q "$old" "SELECT extversion FROM pg_extension WHERE extname = 'crm_privacy'")" 0.1 "it is at version 0.1"

q "$old" "ALTER EXTENSION crm_privacy UPDATE" >/dev/null
ok $? "ALTER EXTENSION crm_privacy UPDATE runs"
is "$(q "$old" "SELECT extversion FROM pg_extension WHERE extname = 'crm_privacy'")" 0.2 "and it is at 0.2"
after=$(q "$old" "$state")
is "$after" "$before" "labels, clearances, choices, history, purposes, requests, erasures, disclosures, logs, seals and grants are as they were"
is "$(q "$old" "SELECT count(*) FROM privacy.verify_audit() WHERE NOT ok")" 0 "the sealed audit log still verifies"
rows=$(q "$old" "SELECT count(*) FROM privacy.audit_log")
q "$old" "UPDATE customer SET city = 'Again' WHERE id = 9; SELECT privacy.seal_audit();" >/dev/null
is "$(q "$old" "SELECT count(*) FROM privacy.verify_audit() WHERE NOT ok")" 0 "and goes on: a change after the update is audited and sealed after the old seals"
is "$(q "$old" "SELECT count(*) - $rows FROM privacy.audit_log")" 1 "the change is in the log"

# The same objects as a database created at 0.2 and used the same way (the
# generated views too).
q "$new" "CREATE EXTENSION crm_privacy" >/dev/null
q "$new" "$setup" >/dev/null
psql -X -q -d "$old" -f "$here/extension_catalog.psql" >"$CRM_TMP/catalog-updated" 2>&1
psql -X -q -d "$new" -f "$here/extension_catalog.psql" >"$CRM_TMP/catalog-created" 2>&1
[ "$(wc -l <"$CRM_TMP/catalog-created")" -gt 1000 ]
ok $? "the catalog description of the extension has $(wc -l <"$CRM_TMP/catalog-created") lines"
is "$(diff "$CRM_TMP/catalog-updated" "$CRM_TMP/catalog-created")" "" \
	"the updated database has exactly the objects, definitions, rights and comments (generated views included) of one created at 0.2"

# The views work, with what 0.2 adds (the columns' comments).
is "$(q "$old" "SET ROLE crm_upgrade_reader; SELECT name, email, religion FROM privacy_standard.customer WHERE id = 1")" \
	"N*** 1|n1@example.com|" "a reader of internal clearance reads the standard view as before"
is "$(q "$old" "SELECT col_description('privacy_standard.customer'::regclass, 3)")" \
	"primary e-mail [crm_privacy: masked (email) below internal clearance]" "the views carry the comments of 0.2"
is "$(q "$old" "SELECT count(*) FROM privacy_optout_direct_marketing.customer WHERE id = 3")" 0 \
	"an opt-out made at 0.1 is honoured at 0.2"

# An archive left by DROP EXTENSION at 0.1 is adopted at 0.2.
q "$arc" "CREATE EXTENSION crm_privacy VERSION '0.1'" >/dev/null
q "$arc" "$setup" >/dev/null
before=$(q "$arc" "SELECT string_agg(format('%s/%s/%s', key, purpose, opted_out), ' ' ORDER BY 1) FROM privacy.choices
                   UNION ALL SELECT count(*)::text FROM privacy.change_requests
                   UNION ALL SELECT count(*)::text FROM privacy.erasures")
q "$arc" "DROP EXTENSION crm_privacy CASCADE" >/dev/null
is "$(q "$arc" "SELECT count(*) FROM pg_class WHERE relnamespace = 'crm_privacy_archive'::regnamespace AND relname IN ('choices', 'change_requests', 'erasures', 'audit_log')")" 4 \
	"DROP EXTENSION at 0.1 leaves its archive"
q "$arc" "CREATE EXTENSION crm_privacy" >/dev/null
ok $? "CREATE EXTENSION at 0.2 over an archive of 0.1"
is "$(q "$arc" "SELECT string_agg(format('%s/%s/%s', key, purpose, opted_out), ' ' ORDER BY 1) FROM privacy.choices
                UNION ALL SELECT count(*)::text FROM privacy.change_requests
                UNION ALL SELECT count(*)::text FROM privacy.erasures")" "$before" \
	"adopts its choices, change requests and erasures"

for db in $old $new $arc; do q postgres "DROP DATABASE $db" >/dev/null; done
q postgres "DROP ROLE crm_upgrade_reader" >/dev/null
done_testing
