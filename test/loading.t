#!/usr/bin/env bash
# The extension works with the library in shared_preload_libraries and when
# it is only loaded on demand (the first call of one of its functions).
. "$(dirname "$0")/tap.sh"

db=crm_loading_$CRM_PRELOAD
q postgres "DROP DATABASE IF EXISTS $db" >/dev/null
q postgres "CREATE DATABASE $db" >/dev/null
q "$db" "CREATE EXTENSION crm_privacy;
         CREATE TABLE customer (customer_id int PRIMARY KEY, email text);
         CREATE TABLE orders (order_id int, customer_id int);" >/dev/null
raw="SECURITY LABEL FOR crm_privacy ON COLUMN customer.email IS 'identifier mask=email'"

if [ "$CRM_PRELOAD" = on ]; then
	plan 4
	is "$(q "$db" "SHOW shared_preload_libraries")" "crm_privacy" "the library is preloaded"
	q "$db" "SELECT privacy.label_table('customer', 'subject key=customer_id');
	         SELECT privacy.label_column('customer', 'customer_id', 'public')" >/dev/null
	is "$(q "$db" "SELECT count(*) FROM privacy_full.customer")" "0" "the full views can be read"
	q "$db" "$raw" >/dev/null
	ok $? "SECURITY LABEL works in a fresh session"
	out=$(q "$db" "$raw; SECURITY LABEL FOR crm_privacy ON COLUMN customer.email IS 'identifier mask=nope'")
	like "$out" 'unknown rule "mask=nope"' "labels are validated in a fresh session"
else
	plan 12
	is "$(q "$db" "SHOW shared_preload_libraries")" "" "the library is not preloaded"
	q "$db" "$raw" >/dev/null
	ok $? "a raw SECURITY LABEL works in a fresh session (the DDL event trigger loads the library)"
	q "$db" "SELECT privacy.label_column('customer', 'email', 'identifier mask=email')" >/dev/null
	ok $? "the wrappers load the library on demand"
	q "$db" "LOAD 'crm_privacy'; $raw" >/dev/null
	ok $? "SECURITY LABEL works after LOAD 'crm_privacy'"
	PGOPTIONS="-c session_preload_libraries=crm_privacy" q "$db" "$raw" >/dev/null
	ok $? "SECURITY LABEL works with session_preload_libraries"
	out=$(q "$db" "SELECT label FROM privacy.labels WHERE \"column\" = 'email'")
	is "$out" "identifier mask=email" "privacy.labels works in a fresh session"
	q "$db" "SELECT privacy.label_table('customer', 'subject key=customer_id');
	         SELECT privacy.label_table('orders', 'related subject=public.customer key=customer_id')" >/dev/null
	out=$(q "$db" "ALTER TABLE customer RENAME TO client; SELECT label FROM privacy.labels WHERE \"table\" = 'orders' AND \"column\" IS NULL")
	is "$out" "related subject=public.client key=customer_id" "event triggers load the library and rewrite labels"
	out=$(q "$db" "ALTER TABLE client DROP COLUMN customer_id CASCADE")
	like "$out" 'key column "customer_id" does not exist' "event triggers refuse DDL that breaks a label"
	# Reads of the full views cannot be recorded: refused, with how to fix it.
	out=$(q "$db" "SELECT count(*) FROM privacy_full.client")
	like "$out" 'ERROR:  reads of privacy_full views cannot be recorded: crm_privacy is not in shared_preload_libraries' \
		"without preloading, a full view refuses to be read"
	like "$out" "HINT:  Add crm_privacy to shared_preload_libraries" "the error says how to fix the setup"
	out=$(q "$db" "SELECT privacy.subject_report('client', '1')")
	like "$out" 'cannot be recorded' "so does subject_report"
	out=$(q "$db" "SET crm_privacy.require_access_log = off; SELECT count(*) FROM privacy_full.client;
	               SELECT count(*) FROM privacy.access_log")
	is "$out" "0
0" "a superuser can turn the requirement off, and reads unrecorded"
fi

q postgres "DROP DATABASE IF EXISTS $db" >/dev/null
done_testing
