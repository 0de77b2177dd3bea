#!/usr/bin/env bash
# Privacy administration with the library preloaded and loaded on demand.
# Without preloading, the first call of an administrative function in a
# session is set up before the library (and its check of the caller) is
# loaded: that call must be refused to everyone but a superuser session, and
# the next transaction is checked as usual.
. "$(dirname "$0")/tap.sh"

db=crm_admin_loading_$CRM_PRELOAD
q postgres "DROP DATABASE IF EXISTS $db" >/dev/null
q postgres "DROP ROLE IF EXISTS crm_al_cpo; DROP ROLE IF EXISTS crm_al_plain" >/dev/null
q postgres "CREATE DATABASE $db" >/dev/null
q "$db" "CREATE EXTENSION crm_privacy;
         CREATE ROLE crm_al_cpo NOSUPERUSER NOCREATEROLE LOGIN;
         CREATE ROLE crm_al_plain LOGIN;
         LOAD 'crm_privacy';
         SECURITY LABEL FOR crm_privacy ON ROLE crm_al_cpo IS 'privacy_admin';
         CREATE TABLE customer (customer_id int PRIMARY KEY, email text);
         INSERT INTO customer VALUES (1, 'a@b.c');
         SELECT privacy.label_table('customer', 'subject key=customer_id');" >/dev/null

as() { local r=$1; shift; PGUSER=$r q "$db" "$@"; }
optout="SELECT privacy.opt_out('customer', '1', 'direct_marketing', 'test')"

plan 9
# In a fresh session each: the first statement is the administrative call.
out=$(as crm_al_plain "$optout")
like "$out" 'ERROR: +(permission denied|must be a privacy administrator)' "a plain role's first call of a SECURITY DEFINER administrative function is refused"
out=$(as crm_al_plain "SELECT privacy.rotate_pseudonym_key()")
like "$out" 'ERROR: +(permission denied|must be a privacy administrator)' "a plain role's first call of an administrative C function is refused"
out=$(as crm_al_plain "SELECT count(*) FROM privacy.report_views()")
like "$out" 'ERROR: +(permission denied|must be a privacy administrator)' "a plain role's first call of an invoker administrative function is refused"
out=$(as crm_al_plain "SELECT count(*) FROM privacy.choices")
like "$out" 'ERROR: +(permission denied|must be a privacy administrator)' "a plain role's first read of privacy.choices is refused"
is "$(q "$db" "SELECT count(*) FROM privacy.choices")" "0" "nothing was recorded by the plain role"
out=$(as crm_al_cpo "$optout")
if [ "$CRM_PRELOAD" = on ]; then
	is "$out" "" "a privacy administrator's first call succeeds (preloaded)"
else
	like "$out" 'before crm_privacy is loaded' "a privacy administrator's first call, unchecked, is refused with a hint (not preloaded)"
fi
# Two transactions in one session: the first loads the library.
out=$(PGUSER=crm_al_cpo psql -X -q -At -d "$db" -c "SELECT privacy.clearance_level()" -c "$optout" 2>&1)
is "$out" "0" "a privacy administrator's call after the library is loaded succeeds"
is "$(q "$db" "$optout")" "" "a superuser's first call succeeds"

is "$(q "$db" "SELECT count(*) FROM privacy.choices")" "1" "the choice is recorded"

q postgres "DROP DATABASE $db" >/dev/null
q postgres "DROP ROLE crm_al_cpo; DROP ROLE crm_al_plain" >/dev/null
done_testing
