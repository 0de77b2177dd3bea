#!/usr/bin/env bash
# A hostile table owner's code never runs with someone else's rights.
#
# crm_evil, a table owner who is not a superuser, gives its subject and
# related tables its own types: an enum with casts from text and to text and
# json (to_jsonb uses a cast to json when there is one), a domain whose CHECK
# calls its function, its own "=" operator, a trigger on its table and a
# row-level security policy.  Every one of these calls evil.trap(), which
# records current_user and session_user (in evil.spy and as a WARNING, which
# survives a rollback) and tries ALTER ROLE crm_evil SUPERUSER.
#
# Then a superuser and a plain privileged caller (crm_officer, granted EXECUTE
# on the extension's functions and SELECT on the table) call every entry
# point of the extension on those tables; crm_evil itself changes and alters
# its tables (the audit trigger, the event triggers); the read audit's
# background writer records the privileged reads.  Passing means the trap
# only ever ran as crm_evil (where the extension reads or changes the table
# for someone, as crm_evil under SECURITY_RESTRICTED_OPERATION) and crm_evil
# never became a superuser.  The generated views are covered by their own
# suite.
. "$(dirname "$0")/tap.sh"

db=crm_owner_hostile_$CRM_PRELOAD
q postgres "DROP DATABASE IF EXISTS $db" >/dev/null
q postgres "DROP ROLE IF EXISTS crm_evil" >/dev/null
q postgres "DROP ROLE IF EXISTS crm_officer" >/dev/null
q postgres "CREATE DATABASE $db" >/dev/null
q postgres "CREATE ROLE crm_evil LOGIN; CREATE ROLE crm_officer LOGIN" >/dev/null

out=$(psql -X -q -v ON_ERROR_STOP=1 -d "$db" 2>&1 >/dev/null <<'SQL'
SET client_min_messages = error;
CREATE EXTENSION crm_privacy;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA privacy TO crm_officer;
CREATE SCHEMA evil AUTHORIZATION crm_evil;
GRANT USAGE ON SCHEMA evil TO PUBLIC;
SET ROLE crm_evil;
CREATE TABLE evil.spy (n serial, what text, cur name, sess name, backend text, alter_role text);
GRANT INSERT, SELECT ON evil.spy TO PUBLIC;
GRANT USAGE ON SEQUENCE evil.spy_n_seq TO PUBLIC;
-- The trap: record who runs it, try to become a superuser.
CREATE FUNCTION evil.trap(what text) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    result text;
BEGIN
    BEGIN
        EXECUTE 'ALTER ROLE crm_evil SUPERUSER';
        result := 'ALTER ROLE succeeded';
    EXCEPTION WHEN OTHERS THEN
        result := SQLSTATE;
    END;
    INSERT INTO evil.spy (what, cur, sess, backend, alter_role)
    VALUES (what, current_user, session_user,
            (SELECT backend_type FROM pg_catalog.pg_stat_activity WHERE pid = pg_catalog.pg_backend_pid()),
            result);
    RAISE WARNING 'TRAP % current_user=% session_user=% alter_role=%', what, current_user, session_user, result;
    RETURN true;
END $$;
GRANT EXECUTE ON FUNCTION evil.trap(text) TO PUBLIC;
CREATE TYPE evil.mood AS ENUM ('happy', 'sad', 'calm');
CREATE FUNCTION evil.mood_from_text(t text) RETURNS evil.mood LANGUAGE plpgsql AS $$
BEGIN
    PERFORM evil.trap('cast text to evil.mood');
    RETURN (SELECT e FROM unnest(enum_range(NULL::evil.mood)) e WHERE format('%s', e) = t);
END $$;
CREATE FUNCTION evil.mood_to_text(m evil.mood) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM evil.trap('cast evil.mood to text');
    RETURN format('%s', m);
END $$;
CREATE FUNCTION evil.mood_to_json(m evil.mood) RETURNS json LANGUAGE plpgsql AS $$
BEGIN
    PERFORM evil.trap('cast evil.mood to json');
    RETURN to_json(format('%s', m));
END $$;
CREATE FUNCTION evil.mood_eq(a evil.mood, b evil.mood) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    PERFORM evil.trap('operator evil.=');
    RETURN format('%s', a) = format('%s', b);
END $$;
CREATE CAST (text AS evil.mood) WITH FUNCTION evil.mood_from_text(text);
CREATE CAST (varchar AS evil.mood) WITH FUNCTION evil.mood_from_text(text);
CREATE CAST (evil.mood AS text) WITH FUNCTION evil.mood_to_text(evil.mood);
CREATE CAST (evil.mood AS json) WITH FUNCTION evil.mood_to_json(evil.mood);
CREATE OPERATOR evil.= (LEFTARG = evil.mood, RIGHTARG = evil.mood, FUNCTION = evil.mood_eq);
CREATE DOMAIN evil.note AS text CHECK (evil.trap('domain CHECK of evil.note'));
CREATE FUNCTION evil.on_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM evil.trap('trigger ' || TG_OP || ' on ' || TG_TABLE_NAME);
    RETURN NEW;
END $$;
-- The subject table (key of the owner's enum) and a related table.
CREATE TABLE evil.person (id evil.mood PRIMARY KEY, mood evil.mood, note evil.note, email text);
CREATE TABLE evil.visit (n int PRIMARY KEY, person evil.mood, mood evil.mood, note evil.note);
CREATE TRIGGER on_change BEFORE UPDATE ON evil.person FOR EACH ROW EXECUTE FUNCTION evil.on_change();
CREATE TRIGGER on_change BEFORE UPDATE ON evil.visit FOR EACH ROW EXECUTE FUNCTION evil.on_change();
ALTER TABLE evil.person ENABLE ROW LEVEL SECURITY;
CREATE POLICY spy ON evil.person USING (evil.trap('row-level security policy'));
GRANT SELECT ON evil.person, evil.visit TO crm_officer;
SELECT privacy.label_table('evil.person', 'subject key=id');
SELECT privacy.label_column('evil.person', 'mood', 'quasi_identifier mask=null anon=keep');
SELECT privacy.label_column('evil.person', 'note', 'personal mask=partial(1,0) anon=pseudonym');
SELECT privacy.label_table('evil.visit', 'related subject=evil.person key=person');
SELECT privacy.label_column('evil.visit', 'note', 'personal anon=null');
INSERT INTO evil.person VALUES ('happy', 'happy', 'a happy note', 'h@example.com'),
                               ('sad', 'sad', 'a sad note', 's@example.com'),
                               ('calm', 'calm', 'a calm note', 'c@example.com');
INSERT INTO evil.visit VALUES (1, 'happy', 'calm', 'visit 1'), (2, 'sad', 'sad', 'visit 2');
-- A table the owner changes itself, under the audit trigger.
CREATE TABLE evil.diary (id evil.mood, mood evil.mood[], note evil.note, at timestamptz);
RESET ROLE;
SELECT privacy.enable_audit('evil.person');
SELECT privacy.enable_audit('evil.visit');
SELECT privacy.enable_audit('evil.diary');
TRUNCATE evil.spy;
SQL
)
[ -z "$out" ] || { echo "$out" | sed 's/^/# /'; echo "Bail out! the fixture failed"; exit 1; }

plan 38

# check NAME OUTPUT: the trap ran as crm_evil only (evil.spy and the
# WARNINGs in OUTPUT), and crm_evil is no superuser; then reset.
check() {
	local name=$1 output=$2 bad
	bad=$(q "$db" "SELECT string_agg(format('%s as %s (session %s, %s): ALTER ROLE %s', what, cur, sess, backend, alter_role), '; ')
	                 FROM evil.spy WHERE cur <> 'crm_evil' OR alter_role <> '42501'")
	bad+=$(printf '%s\n' "$output" | grep -E 'TRAP .* current_user=' | grep -vE 'current_user=crm_evil .*alter_role=42501' | head -3)
	bad+=$(q "$db" "SELECT 'crm_evil became a superuser' FROM pg_roles WHERE rolname = 'crm_evil' AND rolsuper")
	is "$bad" "" "$name: the owner's code runs as the owner only, and cannot escalate"
	q "$db" "ALTER ROLE crm_evil NOSUPERUSER; TRUNCATE evil.spy" >/dev/null
}

# as ROLE SQL: run SQL as ROLE in a fresh session; print its output.  (A
# superuser may read unrecorded when the library is not preloaded.)
as() {
	if [ "$1" = postgres ]; then
		PGOPTIONS="-c crm_privacy.require_access_log=off" psql -X -q -At -U "$1" -d "$db" -c "$2" 2>&1
	else
		psql -X -q -At -U "$1" -d "$db" -c "$2" 2>&1
	fi
}

# How many times the trap ran, as whom (what the last call left in evil.spy).
spied() { q "$db" "SELECT coalesce(string_agg(DISTINCT cur, ','), 'nobody') FROM evil.spy"; }

for caller in postgres crm_officer; do
	out=$(as $caller "SELECT privacy.opt_out('evil.person', 'happy', 'direct_marketing')")
	check "opt_out by $caller" "$out"
	out=$(as $caller "SELECT privacy.opt_in('evil.person', 'happy', 'direct_marketing')")
	check "opt_in by $caller" "$out"
	out=$(as $caller "SELECT privacy.record_choice('evil.person', 'sad', 'automated_decision', true, 'form')")
	check "record_choice by $caller" "$out"

	out=$(as $caller "SELECT privacy.request_change('evil.person', 'happy', 'mood', 'calm', 'the subject')")
	check "request_change of an enum column by $caller" "$out"
	out=$(as $caller "SELECT privacy.request_change('evil.person', 'happy', 'note', 'new note')")
	check "request_change of a domain column by $caller" "$out"
	id=$(q "$db" "SELECT max(id) FROM privacy.change_requests WHERE status = 'pending'")
	out=$(as $caller "SELECT privacy.review_change($id, true, 'ok')")
	check "review_change (applied) by $caller" "$out"

	out=$(as $caller "SELECT privacy.subject_report('evil.person', 'happy')")
	check "subject_report by $caller" "$out"
	out=$(as $caller "SELECT privacy.k_anonymity('evil.person')")
	check "k_anonymity by $caller" "$out"
	out=$(as $caller "SELECT count(*) FROM privacy.detect('evil.person');
	                  SELECT count(*) FROM privacy.detect()")
	check "detect by $caller" "$out"
	out=$(as $caller "SELECT count(*) FROM privacy.report_coverage(); SELECT count(*) FROM privacy.report_data_model();
	                  SELECT count(*) FROM privacy.report_views(); SELECT count(*) FROM privacy.report_access();
	                  SELECT count(*) FROM privacy.check_setup()")
	check "report_* and check_setup by $caller" "$out"
	out=$(as $caller "SELECT privacy.disable_audit('evil.person'); SELECT privacy.enable_audit('evil.person');
	                  SELECT privacy.seal_audit(); SELECT count(*) FROM privacy.verify_audit();
	                  SELECT count(*) FROM privacy.audit_head()")
	check "enable_audit, disable_audit, seal_audit, verify_audit, audit_head by $caller" "$out"
	out=$(as $caller "SELECT privacy.add_purpose('evil_$caller', 'x');
	                  SELECT privacy.create_disclosure('evil_$caller');
	                  SELECT privacy.disclose('evil_$caller', 'evil.person', 'note', 'pseudonym');
	                  SELECT privacy.disclose('evil_$caller', 'evil.person', 'mood', 'keep');
	                  SELECT privacy.grant_access('crm_officer', 'standard');
	                  SELECT privacy.revoke_access('crm_officer', 'standard');
	                  SELECT privacy.drop_disclosure('evil_$caller');
	                  SELECT privacy.refresh_views('evil.person'); SELECT privacy.refresh_views();
	                  SELECT privacy.rotate_pseudonym_key();
	                  SELECT privacy.label_column('evil.person', 'email', 'identifier mask=email');
	                  SELECT privacy.label_table('evil.visit', 'related subject=evil.person key=person');
	                  SELECT privacy.set_clearance('crm_evil', 'internal')")
	check "purposes, disclosures, grants, labels, refresh_views, rotate_pseudonym_key by $caller" "$out"
	out=$(as $caller "SELECT privacy.erase_subject('evil.person', 'sad')")
	check "erase_subject by $caller" "$out"
done

# What the extension does with the table for someone, it does as the owner:
# the owner's casts, CHECKs and trigger did run, as crm_evil.
out=$(as postgres "SELECT privacy.request_change('evil.person', 'calm', 'mood', 'happy')")
is "$(spied)" "crm_evil" "request_change casts the new value as the owner (its cast ran, as crm_evil)"
check "request_change, again" "$out"
out=$(as postgres "SELECT privacy.review_change((SELECT max(id) FROM privacy.change_requests), true)")
is "$(spied)" "crm_evil" "review_change updates as the owner (its cast and trigger ran, as crm_evil)"
check "review_change, again" "$out"
out=$(as postgres "SELECT privacy.subject_report('evil.person', 'happy') -> 'data' -> 'evil.person' -> 0 ->> 'mood'")
like "$out" '(^|[^a-z])happy$' "subject_report reads the subject's rows (its json cast ran)"
is "$(spied)" "crm_evil" "subject_report reads the rows as the owner (to_jsonb's cast ran as crm_evil)"
check "subject_report, again" "$out"

# The owner's own changes and DDL: the audit trigger and the event triggers
# (which rebuild the views as the extension's owner) run none of its code
# with another role's rights.
out=$(as crm_evil "INSERT INTO evil.diary VALUES ('happy', '{happy,sad}', 'dear diary', now());
                   UPDATE evil.diary SET mood = '{calm}', note = 'changed';
                   DELETE FROM evil.diary; TRUNCATE evil.diary")
check "the audit trigger on the owner's INSERT, UPDATE, DELETE, TRUNCATE" "$out"
out=$(as crm_evil "ALTER TABLE evil.person ADD COLUMN extra evil.note DEFAULT 'extra';
                   ALTER TABLE evil.person RENAME COLUMN extra TO extra2;
                   SECURITY LABEL FOR crm_privacy ON COLUMN evil.person.extra2 IS 'personal';
                   ALTER TABLE evil.person ALTER COLUMN extra2 TYPE evil.mood USING 'calm';
                   ALTER TABLE evil.person DROP COLUMN extra2;
                   ALTER TABLE evil.visit RENAME TO visits;
                   ALTER TABLE evil.visits RENAME TO visit")
check "the event triggers on the owner's DDL" "$out"

# The read audit's background writer records the privileged reads above and
# runs nothing of the owner's.
if [ "$CRM_PRELOAD" = on ]; then
	before=$(q "$db" "SELECT count(*) FROM privacy.access_log")
	as postgres "SELECT privacy.subject_report('evil.person', 'calm')" >/dev/null
	q "$db" "ALTER ROLE crm_evil NOSUPERUSER; TRUNCATE evil.spy" >/dev/null
	wait_for "$db" "SELECT count(*) > $before FROM privacy.access_log"
	ok $? "the background writer recorded the read"
	check "the read audit's background writer" ""
else
	ok 0 "the background writer needs the library preloaded # SKIP"
	ok 0 "the read audit's background writer # SKIP"
fi

# Nothing above made crm_evil a superuser, ever.
is "$(q "$db" "SELECT rolsuper FROM pg_roles WHERE rolname = 'crm_evil'")" "f" "crm_evil is not a superuser"

q postgres "DROP DATABASE IF EXISTS $db" >/dev/null
q postgres "DROP ROLE IF EXISTS crm_evil; DROP ROLE IF EXISTS crm_officer" >/dev/null
done_testing
