#!/usr/bin/env bash
# The change audit cannot be evaded by a table owner, and the logs outlive
# the extension.
#
# crm_chg_owner, a table owner who is not a superuser, owns a partitioned
# table whose root a superuser labelled and audited.  Its changes through the
# root and straight into partitions (present, created later, attached later
# with its columns in another order) are recorded as changes of the root:
# values pseudonymized per the root's labels, the subject key filled, no
# clear value anywhere.  TRUNCATE of a partition is recorded.  Every route to
# drop or disable the audit triggers is refused (42501), so are inheritance
# children of labelled or audited tables (0A000); DDL that rewrites or removes
# values is recorded with the number of rows it touches.  Then DROP EXTENSION
# (with and without CASCADE) keeps every log row, readable by superusers
# only, and CREATE EXTENSION adopts them: the seal still verifies.
. "$(dirname "$0")/tap.sh"
plan 118

db=crm_audit_change_$CRM_PRELOAD
q postgres "DROP DATABASE IF EXISTS $db" >/dev/null
q postgres "DROP ROLE IF EXISTS crm_chg_owner" >/dev/null
q postgres "CREATE DATABASE $db" >/dev/null
q postgres "CREATE ROLE crm_chg_owner LOGIN" >/dev/null

# state SQL: the SQLSTATE of SQL's error, run as crm_chg_owner ("" if none).
state() {
	psql -X -q -At -d "$db" -v VERBOSITY=sqlstate -c "SET ROLE crm_chg_owner; $1" 2>&1 |
		sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\).*/\1/p'
}
# su_state SQL: the same, as a superuser (the label provider loaded, also
# without preloading).
su_state() {
	psql -X -q -At -d "$db" -v VERBOSITY=sqlstate -c "SET client_min_messages = error; LOAD 'crm_privacy'; $1" 2>&1 |
		sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\).*/\1/p'
}
# as_owner SQL: run SQL as crm_chg_owner, stop at the first error.
as_owner() { q "$db" "SET ROLE crm_chg_owner; $1"; }
# log SQL: a query on the change audit log, as a superuser.
log() { q "$db" "$1"; }

q "$db" "
SET client_min_messages = warning;
CREATE EXTENSION crm_privacy;
CREATE SCHEMA crm AUTHORIZATION crm_chg_owner;
CREATE SCHEMA crm2 AUTHORIZATION crm_chg_owner;
SET ROLE crm_chg_owner;
CREATE TABLE crm.pc (id bigint, name text, mobile text, email text, region text) PARTITION BY LIST (region);
CREATE TABLE crm.pc_n PARTITION OF crm.pc FOR VALUES IN ('n');
RESET ROLE;
SECURITY LABEL FOR crm_privacy ON TABLE crm.pc IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN crm.pc.id IS 'identifier';
SECURITY LABEL FOR crm_privacy ON COLUMN crm.pc.name IS 'identifier mask=name';
SECURITY LABEL FOR crm_privacy ON COLUMN crm.pc.mobile IS 'identifier mask=phone';
SECURITY LABEL FOR crm_privacy ON COLUMN crm.pc.region IS 'public';
SELECT privacy.enable_audit('crm.pc');
" >/dev/null
ok $? "a superuser labels and audits a partitioned table of crm_chg_owner"

# --- partitions: present, created, attached (columns in another order) ---
out=$(as_owner "
INSERT INTO crm.pc VALUES (1, 'Alice Smith', '0712345678', 'alice@example.com', 'n');
INSERT INTO crm.pc_n VALUES (2, 'Bob Jones', '0711111111', 'bob@example.com', 'n');
CREATE TABLE crm.pc_s PARTITION OF crm.pc FOR VALUES IN ('s');
CREATE TABLE crm.pc_w (region text, email text, mobile text, name text, id bigint);
ALTER TABLE crm.pc ATTACH PARTITION crm.pc_w FOR VALUES IN ('w');
INSERT INTO crm.pc_s VALUES (3, 'Carol King', '0722222222', 'carol@example.com', 's');
INSERT INTO crm.pc_w (id, name, mobile, email, region) VALUES (4, 'Dan Brown', '0733333333', 'dan@example.com', 'w');
UPDATE crm.pc_w SET mobile = '0744444444' WHERE id = 4;
DELETE FROM crm.pc WHERE id = 2;" 2>&1)
is "$out" "" "the owner creates and attaches partitions, and changes rows through the root and the partitions"
is "$(log "SELECT string_agg(op || ':' || table_name, ' ' ORDER BY id) FROM privacy.audit_log")" \
	"ENABLE AUDIT:crm.pc INSERT:crm.pc INSERT:crm.pc INSERT:crm.pc INSERT:crm.pc UPDATE:crm.pc DELETE:crm.pc" \
	"enable_audit is recorded; every change of every partition is recorded once, as a change of the root"
is "$(log "SELECT string_agg((subject_key = privacy.pseudonym(k, 'audit'))::text, ',' ORDER BY l.id)
             FROM privacy.audit_log l JOIN (VALUES (2, '1'), (3, '2'), (4, '3'), (5, '4'), (6, '4'), (7, '2')) v(n, k)
               ON v.n = l.id")" "true,true,true,true,true,true" \
	"the subject key is filled and pseudonymized (the key column is not public)"
is "$(log "SELECT new_values->>'name' = privacy.pseudonym('Dan Brown', 'audit')
                  AND new_values->>'mobile' = privacy.pseudonym('0733333333', 'audit')
                  AND new_values->>'email' = privacy.pseudonym('dan@example.com', 'audit')
                  AND new_values->>'region' = 'w'
             FROM privacy.audit_log WHERE id = 5")" "t" \
	"a partition with its columns in another order: each value by the root's label of its column"
is "$(log "SELECT changed_columns::text || ' ' || (old_values->>'mobile' = privacy.pseudonym('0733333333', 'audit'))::text
                  || ' ' || (new_values->>'mobile' = privacy.pseudonym('0744444444', 'audit'))::text
             FROM privacy.audit_log WHERE op = 'UPDATE'")" "{mobile} true true" "an UPDATE of a partition: the changed column, pseudonymized"
is "$(log "SELECT count(*) FROM privacy.audit_log
            WHERE concat_ws(' ', table_name, subject_key, old_values, new_values) ~ '(Alice|Bob|Carol|Dan|(^|[^0-9a-f])07[0-9]{8}([^0-9a-f]|$)|@example)'")" \
	"0" "no name, mobile or e-mail in clear anywhere in the log"

as_owner "TRUNCATE crm.pc_n" >/dev/null
is "$(log "SELECT table_name || ' ' || (new_values->>'partition') FROM privacy.audit_log WHERE op = 'TRUNCATE'")" \
	"crm.pc crm.pc_n" "TRUNCATE of a partition is recorded as a change of the root, naming the partition"
is "$(log "SELECT count(*) FROM pg_trigger WHERE tgname = 'crm_privacy_audit_truncate'")" "4" \
	"every partition, created or attached later too, has its TRUNCATE trigger"

# A log a superuser changed (here: an INSERT trigger of his) is written
# through SQL, so that what he added still runs.
q "$db" "CREATE TABLE public.seen (n int); CREATE FUNCTION public.seen() RETURNS trigger LANGUAGE plpgsql AS
         \$\$BEGIN INSERT INTO public.seen VALUES (1); RETURN NULL; END\$\$;
         CREATE TRIGGER seen AFTER INSERT ON privacy.audit_log FOR EACH ROW EXECUTE FUNCTION public.seen()" >/dev/null
n=$(log "SELECT count(*) FROM privacy.audit_log")
as_owner "INSERT INTO crm.pc VALUES (7, 'Gil Hunt', '0777777777', 'gil@example.com', 'w')" >/dev/null
is "$(log "SELECT (SELECT count(*) FROM privacy.audit_log) - $n || ' ' || (SELECT count(*) FROM public.seen)")" "1 1" \
	"a superuser's INSERT trigger on the log still runs"
q "$db" "DROP TRIGGER seen ON privacy.audit_log; DROP TABLE public.seen; DROP FUNCTION public.seen()" >/dev/null
as_owner "DELETE FROM crm.pc WHERE id = 7" >/dev/null
is "$(log "SELECT count(*) FROM privacy.audit_log") " "$((n + 2)) " "and without it the log is written directly again"

# A log whose column types a superuser changed is written through SQL too:
# the direct insert would put a name where a text now is.
q "$db" "ALTER TABLE privacy.audit_log ALTER COLUMN session_user_name TYPE text" >/dev/null
as_owner "INSERT INTO crm.pc VALUES (8, 'Hal Iver', '0788888888', 'hal@example.com', 'w')" >/dev/null
is "$(log "SELECT session_user_name || ' ' || op FROM privacy.audit_log ORDER BY id DESC LIMIT 1")" \
	"$(log "SELECT session_user") INSERT" "a log with a column of another type gets a correct row (written through SQL)"
q "$db" "ALTER TABLE privacy.audit_log ALTER COLUMN session_user_name TYPE name" >/dev/null
as_owner "DELETE FROM crm.pc WHERE id = 8" >/dev/null
is "$(log "SELECT session_user_name || ' ' || op FROM privacy.audit_log ORDER BY id DESC LIMIT 1")" \
	"$(log "SELECT session_user") DELETE" "and with its own types again, directly"

# --- no route to drop or disable the audit triggers ---
is "$(state "ALTER TRIGGER crm_privacy_audit ON crm.pc DEPENDS ON EXTENSION crm_privacy")" "42501" \
	"ALTER TRIGGER ... DEPENDS ON EXTENSION is refused"
is "$(state "ALTER TRIGGER crm_privacy_audit_truncate ON crm.pc_n DEPENDS ON EXTENSION crm_privacy")" "42501" \
	"... also on a partition's TRUNCATE trigger"
is "$(state "DROP TRIGGER crm_privacy_audit ON crm.pc")" "42501" "DROP TRIGGER is refused"
is "$(state "DROP TRIGGER crm_privacy_audit_truncate ON crm.pc_s")" "42501" "DROP TRIGGER of a partition's is refused"
is "$(state "ALTER TABLE crm.pc DISABLE TRIGGER ALL")" "42501" "DISABLE TRIGGER ALL is refused"
is "$(state "ALTER TABLE crm.pc DISABLE TRIGGER USER")" "42501" "DISABLE TRIGGER USER is refused"
is "$(state "ALTER TABLE crm.pc_s DISABLE TRIGGER crm_privacy_audit")" "42501" "disabling a partition's clone is refused"
is "$(state "ALTER TABLE crm.pc_s ENABLE REPLICA TRIGGER crm_privacy_audit")" "42501" "ENABLE REPLICA TRIGGER is refused"
is "$(state "ALTER TRIGGER crm_privacy_audit ON crm.pc RENAME TO x")" "42501" "ALTER TRIGGER ... RENAME is refused"
is "$(state "CREATE TABLE crm.other (id int); CREATE TRIGGER t AFTER INSERT ON crm.other FOR EACH ROW EXECUTE FUNCTION privacy.audit_trigger()")" \
	"42501" "CREATE TRIGGER with privacy.audit_trigger() (to forge log rows) is refused"
is "$(state "ALTER TABLE crm.pc DETACH PARTITION crm.pc_s")" "42501" "DETACH PARTITION (which loses the triggers) is refused"
is "$(state "SET session_replication_role = replica")" "42501" "session_replication_role is for superusers"
is "$(state "ALTER TABLE crm.pc RENAME TO pc2; ALTER TABLE crm.pc2 SET SCHEMA crm2;
             INSERT INTO crm2.pc2 VALUES (5, 'Eve Adams', '0755555555', 'eve@example.com', 's')")" "" \
	"renaming the table and moving it to another schema are allowed"
is "$(log "SELECT table_name || ' ' || (subject_key = privacy.pseudonym('5', 'audit'))::text FROM privacy.audit_log ORDER BY id DESC LIMIT 1")" \
	"crm2.pc2 true" "... and it is still audited, under its new name"
q "$db" "ALTER TABLE crm2.pc2 SET SCHEMA crm; ALTER TABLE crm.pc2 RENAME TO pc" >/dev/null

# --- DDL that rewrites or removes values: recorded with its row count ---
n=$(log "SELECT max(id) FROM privacy.audit_log")
as_owner "ALTER TABLE crm.pc ALTER COLUMN mobile TYPE text USING 'x' || mobile" >/dev/null
is "$(log "SELECT op || ' ' || table_name || ' ' || new_values::text FROM privacy.audit_log WHERE id > $n")" \
	'ALTER COLUMN TYPE crm.pc {"rows": 3, "column": "mobile"}' \
	"ALTER COLUMN ... TYPE ... USING is recorded with the column and the rows it rewrote"
as_owner "ALTER TABLE crm.pc DROP COLUMN email" >/dev/null
is "$(log "SELECT op || ' ' || new_values::text FROM privacy.audit_log WHERE id > $n AND op = 'DROP COLUMN'")" \
	'DROP COLUMN {"rows": 3, "column": "email"}' "DROP COLUMN is recorded with the rows that lose a value"
as_owner "DROP TABLE crm.pc_s" >/dev/null
is "$(log "SELECT op || ' ' || table_name || ' ' || new_values::text FROM privacy.audit_log WHERE id > $n AND op = 'DROP TABLE'")" \
	'DROP TABLE crm.pc {"rows": 2, "partition": "crm.pc_s"}' "dropping a partition is recorded as a change of the root"
q "$db" "ALTER TABLE crm.pc DETACH PARTITION crm.pc_w" >/dev/null
is "$(log "SELECT op || ' ' || new_values::text FROM privacy.audit_log WHERE id > $n AND op = 'DETACH PARTITION'")" \
	'DETACH PARTITION {"rows": 1, "partition": "crm.pc_w"}' "a superuser may detach a partition: recorded"

# A look-alike: the owner's own trigger named crm_privacy_audit on its view,
# whose query calls its function (which warns who runs it: a warning survives
# the command's failure).  The DDL records count rows of real audited tables
# only: the function never runs as anyone but the owner.
as_owner "CREATE FUNCTION crm.trap() RETURNS int LANGUAGE plpgsql AS
  \$\$BEGIN RAISE WARNING 'trap ran as %', current_user; RETURN 1; END\$\$;
CREATE VIEW crm.v AS SELECT crm.trap() AS x;
CREATE FUNCTION crm.instead() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN RETURN NULL; END\$\$;
CREATE TRIGGER crm_privacy_audit INSTEAD OF INSERT ON crm.v FOR EACH ROW EXECUTE FUNCTION crm.instead()" >/dev/null
out=$(psql -X -q -d "$db" -c "SET ROLE crm_chg_owner" -c "ALTER TABLE crm.v DROP COLUMN x" -c "DROP TABLE crm.v" 2>&1)
is "$(printf '%s\n' "$out" | grep -c 'trap ran as' || true)" "0" \
	"DDL on a look-alike never runs the owner's code as someone else"

# --- inheritance children of labelled or audited tables are refused ---
q "$db" "
CREATE TABLE crm.parent (id bigint, name text); ALTER TABLE crm.parent OWNER TO crm_chg_owner;
SECURITY LABEL FOR crm_privacy ON TABLE crm.parent IS 'subject key=id';
CREATE TABLE crm.plain (id bigint, name text); ALTER TABLE crm.plain OWNER TO crm_chg_owner;
CREATE TABLE crm.plain_child () INHERITS (crm.plain); ALTER TABLE crm.plain_child OWNER TO crm_chg_owner;
CREATE TABLE crm.audited (id bigint); SELECT privacy.enable_audit('crm.audited');
ALTER TABLE crm.audited OWNER TO crm_chg_owner;" >/dev/null
is "$(state "CREATE TABLE crm.child () INHERITS (crm.parent)")" "0A000" "CREATE TABLE ... INHERITS a labelled table is refused"
is "$(state "CREATE TABLE crm.child (id bigint, name text); ALTER TABLE crm.child INHERIT crm.parent")" "0A000" \
	"ALTER TABLE ... INHERIT a labelled table is refused"
is "$(state "CREATE TABLE crm.child (id bigint); ALTER TABLE crm.child INHERIT crm.audited")" "0A000" \
	"ALTER TABLE ... INHERIT an audited table is refused"
is "$(su_state "SECURITY LABEL FOR crm_privacy ON TABLE crm.plain IS 'subject key=id'")" "0A000" \
	"labelling a table that has inheritance children is refused"
is "$(su_state "SELECT privacy.enable_audit('crm.plain')")" "0A000" "auditing a table that has inheritance children is refused"

# --- commands nested in CREATE SCHEMA are checked like the others ---
q "$db" "GRANT CREATE ON DATABASE $db TO crm_chg_owner;
CREATE FUNCTION crm.noop() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN RETURN NULL; END\$\$;
ALTER FUNCTION crm.noop() OWNER TO crm_chg_owner" >/dev/null
is "$(state "CREATE SCHEMA s_forge CREATE TABLE cust (id int)
             CREATE TRIGGER x AFTER INSERT ON cust FOR EACH ROW EXECUTE FUNCTION privacy.audit_trigger()")" "42501" \
	"CREATE SCHEMA ... CREATE TRIGGER with privacy.audit_trigger() is refused"
is "$(state "CREATE SCHEMA s_inh CREATE TABLE ch () INHERITS (crm.parent)")" "0A000" \
	"CREATE SCHEMA ... CREATE TABLE ... INHERITS a labelled table is refused"
is "$(state "CREATE SCHEMA s_part CREATE TABLE pz PARTITION OF crm.pc FOR VALUES IN ('z')")" "" \
	"CREATE SCHEMA ... CREATE TABLE ... PARTITION OF an audited table is allowed"
n=$(log "SELECT max(id) FROM privacy.audit_log")
as_owner "TRUNCATE s_part.pz" >/dev/null
is "$(log "SELECT op || ' ' || table_name || ' ' || (new_values->>'partition') FROM privacy.audit_log WHERE id > $n")" \
	"TRUNCATE crm.pc s_part.pz" "... and that partition gets its TRUNCATE trigger: TRUNCATE of it is recorded"
is "$(state "CREATE SCHEMA s_sq CREATE TABLE py PARTITION OF crm.pc FOR VALUES IN ('y')
             CREATE TRIGGER crm_privacy_audit_truncate AFTER TRUNCATE ON py FOR EACH STATEMENT EXECUTE FUNCTION crm.noop()")" \
	"42710" "a new partition with the owner's own trigger named crm_privacy_audit_truncate is refused"
is "$(state "CREATE TABLE crm.pq (id bigint, name text, mobile text, region text);
             CREATE TRIGGER crm_privacy_audit_truncate AFTER TRUNCATE ON crm.pq FOR EACH STATEMENT EXECUTE FUNCTION crm.noop();
             ALTER TABLE crm.pc ATTACH PARTITION crm.pq FOR VALUES IN ('q')")" \
	"42710" "attaching a partition that has its own trigger named crm_privacy_audit_truncate is refused"

# --- enable_audit and check_setup know the audit trigger by what it is ---
q "$db" "CREATE TABLE crm.sq (id bigint, name text); ALTER TABLE crm.sq OWNER TO crm_chg_owner" >/dev/null
as_owner "CREATE TRIGGER crm_privacy_audit AFTER INSERT OR UPDATE OR DELETE ON crm.sq FOR EACH ROW EXECUTE FUNCTION crm.noop();
          CREATE TRIGGER crm_privacy_audit_truncate AFTER TRUNCATE ON crm.sq FOR EACH STATEMENT EXECUTE FUNCTION crm.noop()" >/dev/null
q "$db" "LOAD 'crm_privacy'; SECURITY LABEL FOR crm_privacy ON TABLE crm.sq IS 'subject key=id'" >/dev/null
is "$(su_state "SELECT privacy.enable_audit('crm.sq')")" "42710" \
	"enable_audit refuses a table with the owner's own triggers named like the audit triggers"
is "$(log "SELECT ok || ' ' || (detail LIKE '%crm.sq%')::text FROM privacy.check_setup() WHERE \"check\" = 'subject tables audited'")" \
	"false true" "check_setup reports that table as not audited"
as_owner "DROP TRIGGER crm_privacy_audit ON crm.sq; DROP TRIGGER crm_privacy_audit_truncate ON crm.sq" >/dev/null
q "$db" "CREATE TRIGGER crm_privacy_audit AFTER INSERT OR UPDATE OR DELETE ON crm.sq FOR EACH ROW WHEN (false)
         EXECUTE FUNCTION privacy.audit_trigger()" >/dev/null
is "$(su_state "SELECT privacy.enable_audit('crm.sq')")" "42710" \
	"enable_audit refuses a look-alike on privacy.audit_trigger() with a WHEN clause"
is "$(state "DROP TRIGGER crm_privacy_audit ON crm.sq")" "" "the owner may drop such a look-alike: it is not the audit trigger"
is "$(su_state "SELECT privacy.enable_audit('crm.sq')")" "" "then enable_audit adds the real triggers"
n=$(log "SELECT max(id) FROM privacy.audit_log")
as_owner "INSERT INTO crm.sq VALUES (1, 'Sam Squat')" >/dev/null
is "$(log "SELECT string_agg(op || ' ' || table_name, ',') FROM privacy.audit_log WHERE id > $n")" "INSERT crm.sq" \
	"... which record the owner's changes"

# --- the audit triggers fire always, also in replica mode ---
is "$(log "SELECT string_agg(DISTINCT tgenabled::text, ',') FROM pg_trigger WHERE tgfoid = 'privacy.audit_trigger'::regproc")" "A" \
	"every audit trigger, of roots, partitions and plain tables, is ENABLE ALWAYS"
is "$(state "ALTER TABLE crm.pc ENABLE TRIGGER crm_privacy_audit")" "42501" "ENABLE TRIGGER (back to origin only) is refused"
is "$(state "ALTER TABLE crm.sq ENABLE TRIGGER ALL")" "42501" "ENABLE TRIGGER ALL is refused"
is "$(state "ALTER TABLE crm.pc_n ENABLE TRIGGER USER")" "42501" "ENABLE TRIGGER USER on a partition is refused"
is "$(state "ALTER TABLE crm.pc_n ENABLE TRIGGER crm_privacy_audit_truncate")" "42501" \
	"ENABLE TRIGGER on a partition's TRUNCATE trigger is refused"
q "$db" "GRANT SET ON PARAMETER session_replication_role TO crm_chg_owner" >/dev/null
n=$(log "SELECT max(id) FROM privacy.audit_log")
out=$(as_owner "SET session_replication_role = replica; INSERT INTO crm.sq VALUES (2, 'Rita Replica'); TRUNCATE crm.pc_n" 2>&1)
q "$db" "REVOKE SET ON PARAMETER session_replication_role FROM crm_chg_owner" >/dev/null
is "$(log "SELECT string_agg(op || ' ' || table_name, ',' ORDER BY id) FROM privacy.audit_log WHERE id > $n")" \
	"INSERT crm.sq,TRUNCATE crm.pc" "an owner granted SET on session_replication_role is still audited in replica mode"
q "$db" "REVOKE CREATE ON DATABASE $db FROM crm_chg_owner" >/dev/null

# --- a labelled or audited table never goes under the owner's own parent ---
as_owner "CREATE TABLE crm.top (id bigint, name text) PARTITION BY RANGE (id);
          CREATE TABLE crm.top2 (id bigint, name text, mobile text, region text) PARTITION BY LIST (region)" >/dev/null
is "$(state "ALTER TABLE crm.top ATTACH PARTITION crm.sq FOR VALUES FROM (0) TO (100)")" "0A000" \
	"attaching an audited table under the owner's partitioned table is refused"
is "$(state "ALTER TABLE crm.top2 ATTACH PARTITION crm.pc DEFAULT")" "0A000" \
	"attaching an audited partitioned table under the owner's partitioned table is refused"
is "$(state "ALTER TABLE crm.top ATTACH PARTITION crm.parent FOR VALUES FROM (200) TO (300)")" "0A000" \
	"attaching a labelled table under the owner's partitioned table is refused"
is "$(state "CREATE TABLE crm.plain2 (id bigint, name text); ALTER TABLE crm.top ATTACH PARTITION crm.plain2 FOR VALUES FROM (100) TO (200)")" "" \
	"attaching a plain table is still allowed"
is "$(su_state "SELECT privacy.enable_audit('crm.plain2')")" "0A000" \
	"auditing a partition of the owner's unaudited partitioned table is refused (it would be logged as that table, in clear)"
is "$(state "CREATE TABLE crm.inh (id bigint, name text); ALTER TABLE crm.sq INHERIT crm.inh")" "0A000" \
	"an audited table cannot inherit from the owner's table (its DDL would change the audited columns)"
q "$db" "CREATE TABLE crm.inh_child () INHERITS (crm.plain); ALTER TABLE crm.inh_child OWNER TO crm_chg_owner" >/dev/null
is "$(su_state "SELECT privacy.enable_audit('crm.inh_child')")" "0A000" "auditing an inheritance child is refused"

# --- ATTACH PARTITION of a table that has rows is recorded ---
as_owner "CREATE TABLE crm.pv (id bigint, name text, mobile text, region text);
          INSERT INTO crm.pv VALUES (8, 'Vic Vale', '0788888888', 'v'), (9, 'Val Vine', '0799999999', 'v')" >/dev/null
n=$(log "SELECT max(id) FROM privacy.audit_log")
is "$(state "ALTER TABLE crm.pc ATTACH PARTITION crm.pv FOR VALUES IN ('v')")" "" "the owner attaches a partition that has rows"
is "$(log "SELECT op || ' ' || table_name || ' ' || new_values::text FROM privacy.audit_log WHERE id > $n")" \
	'ATTACH PARTITION crm.pc {"rows": 2, "partition": "crm.pv"}' "... recorded as a change of the root with the rows it brings"

# --- an audited or labelled table joins no other extension ---
is "$(su_state "ALTER EXTENSION plpgsql ADD TABLE crm.sq")" "0A000" \
	"ALTER EXTENSION ... ADD TABLE of an audited table is refused (DROP EXTENSION would drop it unrecorded)"
is "$(su_state "ALTER EXTENSION plpgsql ADD TABLE crm.pc_n")" "0A000" "... also of a partition of an audited table"
is "$(su_state "ALTER EXTENSION plpgsql ADD TABLE crm.parent")" "0A000" "... also of a labelled table"
is "$(su_state "ALTER EXTENSION crm_privacy ADD TABLE crm.sq")" "0A000" "... also to crm_privacy itself"

# --- type changes that rewrite audited values are recorded; audited tables stay logged ---
q "$db" "CREATE TYPE crm.mood AS ENUM ('happy', 'sad'); ALTER TYPE crm.mood OWNER TO crm_chg_owner;
         CREATE TYPE crm.addr AS (street text, city text); ALTER TYPE crm.addr OWNER TO crm_chg_owner;
         CREATE DOMAIN crm.dmood AS crm.mood; ALTER DOMAIN crm.dmood OWNER TO crm_chg_owner" >/dev/null
as_owner "ALTER TABLE crm.audited ADD COLUMN mood crm.mood, ADD COLUMN moods crm.dmood[], ADD COLUMN addr crm.addr;
          INSERT INTO crm.audited VALUES (1, 'happy', '{happy}', ROW('Main St', 'Springfield')), (2, 'sad', '{sad}', NULL)" >/dev/null
n=$(log "SELECT max(id) FROM privacy.audit_log")
as_owner "ALTER TYPE crm.mood RENAME VALUE 'happy' TO 'furious'" >/dev/null
is "$(log "SELECT string_agg(op || ' ' || table_name || ' ' || new_values::text, ', ' ORDER BY id) FROM privacy.audit_log WHERE id > $n")" \
	'ALTER TYPE crm.audited {"rows": 2, "column": "mood"}, ALTER TYPE crm.audited {"rows": 2, "column": "moods"}' \
	"ALTER TYPE ... RENAME VALUE is recorded for each audited column using the type (also through a domain array)"
n=$(log "SELECT max(id) FROM privacy.audit_log")
as_owner "ALTER TYPE crm.addr DROP ATTRIBUTE city CASCADE" >/dev/null
is "$(log "SELECT string_agg(op || ' ' || table_name || ' ' || new_values::text, ', ' ORDER BY id) FROM privacy.audit_log WHERE id > $n")" \
	'ALTER TYPE crm.audited {"rows": 2, "column": "addr"}' "ALTER TYPE ... DROP ATTRIBUTE is recorded"
n=$(log "SELECT max(id) FROM privacy.audit_log")
as_owner "DROP DOMAIN crm.dmood CASCADE" >/dev/null
is "$(log "SELECT string_agg(op || ' ' || table_name || ' ' || new_values::text, ', ' ORDER BY id) FROM privacy.audit_log WHERE id > $n")" \
	'DROP TYPE crm.audited {"rows": 2, "column": "moods"}' "DROP DOMAIN ... CASCADE, which drops an audited column, is recorded"
is "$(state "ALTER TABLE crm.audited SET UNLOGGED")" "0A000" "SET UNLOGGED of an audited table is refused (a crash would empty it unrecorded)"
is "$(state "CREATE UNLOGGED TABLE crm.pu PARTITION OF crm.pc FOR VALUES IN ('u')")" "0A000" \
	"an unlogged partition of an audited table is refused"
q "$db" "CREATE UNLOGGED TABLE crm.unl (id bigint)" >/dev/null
is "$(su_state "SELECT privacy.enable_audit('crm.unl')")" "0A000" "auditing an unlogged table is refused"

# --- disable_audit of a partitioned table removes every trigger ---
q "$db" "SELECT privacy.disable_audit('crm.pc')" >/dev/null
is "$(log "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'crm_privacy_audit%' AND tgrelid::regclass::text LIKE 'crm.pc%'")" \
	"0" "disable_audit removes the triggers of the root and of every partition"
is "$(log "SELECT op || ' ' || table_name || ' ' || (session_user_name = session_user)::text FROM privacy.audit_log ORDER BY id DESC LIMIT 1")" \
	"DISABLE AUDIT crm.pc true" "... and is recorded, with who called it"

# --- the logs outlive the extension ---
q "$db" "SELECT privacy.enable_audit('crm.pc'); SELECT privacy.seal_audit();
         INSERT INTO privacy.access_log (relations, query, row_count) VALUES ('{x}', 'q', 1)" >/dev/null
before=$(log "SELECT (SELECT count(*) FROM privacy.audit_log) || ' ' || (SELECT count(*) FROM privacy.access_log)
                     || ' ' || (SELECT count(*) FROM privacy.audit_seal) || ' ' || (SELECT max(id) FROM privacy.audit_log)")
out=$(q "$db" "SET client_min_messages = warning; DROP EXTENSION crm_privacy CASCADE" 2>&1)
is "$out" "" "DROP EXTENSION crm_privacy CASCADE"
is "$(log "SELECT (SELECT count(*) FROM crm_privacy_archive.audit_log) || ' ' || (SELECT count(*) FROM crm_privacy_archive.access_log)
                  || ' ' || (SELECT count(*) FROM crm_privacy_archive.audit_seal) || ' ' || (SELECT max(id) FROM crm_privacy_archive.audit_log)")" \
	"$before" "every row of the three logs is kept, in schema crm_privacy_archive"
is "$(log "SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a
            WHERE c.relnamespace = 'crm_privacy_archive'::regnamespace AND a.grantee <> c.relowner")" "0" \
	"no grant on the archived logs"
is "$(log "SELECT bool_and(r.rolsuper) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
            WHERE c.relnamespace = 'crm_privacy_archive'::regnamespace")" "t" "the archived logs belong to a superuser"
is "$(state "SELECT count(*) FROM crm_privacy_archive.audit_log")" "42501" "a table owner cannot read them"
out=$(q "$db" "SET client_min_messages = warning; CREATE EXTENSION crm_privacy" 2>&1)
is "$out" "" "CREATE EXTENSION crm_privacy again"
is "$(log "SELECT (SELECT count(*) FROM privacy.audit_log) || ' ' || (SELECT count(*) FROM privacy.access_log)
                  || ' ' || (SELECT count(*) FROM privacy.audit_seal) || ' ' || (SELECT max(id) FROM privacy.audit_log)")" \
	"$before" "it adopts every row, with its id"
is "$(log "SELECT count(*) FROM pg_namespace WHERE nspname = 'crm_privacy_archive'")" "0" "the archive is gone"
sealed=$(log "SELECT count(*) FROM privacy.audit_seal WHERE log = 'audit_log'")
is "$(log "SELECT string_agg(log || ' ' || rows_checked || ' ' || ok, ', ') FROM privacy.verify_audit()")" \
	"audit_log $sealed true, access_log 0 true" "verify_audit() still verifies the chain"
is "$(log "SELECT 'privacy.audit_log'::regclass = ANY (extconfig) AND 'privacy.audit_seal'::regclass = ANY (extconfig)
             FROM pg_extension WHERE extname = 'crm_privacy'")" "t" "the adopted logs are dumped with the extension again"
is "$(state "SELECT count(*) FROM privacy.audit_log")" "42501" "and readable by privacy administrators only"

# without CASCADE, new rows after adoption, a second round trip
q "$db" "SELECT privacy.disable_audit('crm.audited'); SELECT privacy.enable_audit('crm.pc');" >/dev/null
as_owner "INSERT INTO crm.pc VALUES (6, 'Fay Wray', '0766666666', 'n')" >/dev/null
q "$db" "SELECT privacy.disable_audit('crm.pc'); SELECT privacy.seal_audit()" >/dev/null
# choices of an added purpose, and their history, outlive the extension too
q "$db" "SELECT privacy.add_purpose('newsletter', 'the monthly letter');
         SELECT privacy.opt_out('crm.pc', '6', 'newsletter', 'form');
         SELECT privacy.opt_out('crm.pc', '6', 'direct_marketing', 'form');
         SELECT privacy.opt_in('crm.pc', '6', 'direct_marketing', 'phone')" >/dev/null
choices_sql="SELECT string_agg(concat_ws(' ', subject, subject_name, key, purpose, opted_out, source, changed_by), ', '
                               ORDER BY purpose) FROM privacy.choices"
history_sql="SELECT string_agg(concat_ws(' ', subject_name, key, purpose, event, old_opted_out, new_opted_out, source),
                               ', ' ORDER BY id) FROM privacy.choice_history"
# (the $history_sql WHERE ... below filters the aggregate's rows)
# and a change request and an erasure
as_owner "INSERT INTO crm.pc VALUES (7, 'Gil Gray', '0777777777', 'n')" >/dev/null
# (erasures are read audited: without preloading, a superuser goes unrecorded)
q "$db" "SET crm_privacy.require_access_log = off;
         SELECT privacy.request_change('crm.pc', '6', 'region', 'w', 'portal');
         SELECT privacy.erase_subject('crm.pc', '7')" >/dev/null
requests_sql="SELECT string_agg(concat_ws(' ', id, subject, subject_name, key, col, new_value, status), ', ' ORDER BY id)
                FROM privacy.change_requests"
erasures_sql="SELECT string_agg(concat_ws(' ', subject, subject_name, key, rows_changed, runs, cardinality(fingerprints)), ', ')
                FROM privacy.erasures"
requests=$(log "$requests_sql")
erasures=$(log "$erasures_sql")
choices=$(log "$choices_sql")
history=$(log "$history_sql")
before=$(log "SELECT count(*) || ' ' || max(id) FROM privacy.audit_log")
out=$(q "$db" "SET client_min_messages = warning; DROP EXTENSION crm_privacy; CREATE EXTENSION crm_privacy" 2>&1)
is "$out" "" "DROP EXTENSION without CASCADE, then CREATE EXTENSION"
is "$(log "SELECT count(*) || ' ' || max(id) FROM privacy.audit_log")" "$before" "every row is kept"
is "$(log "SELECT bool_and(ok) FROM privacy.verify_audit()")" "t" "and the chain verifies"
is "$(log "$choices_sql")" "$choices" "every choice is kept, with its purpose, source and author"
is "$(log "$history_sql WHERE event <> 'kept'")" "$history" "their history is kept"
is "$(log "SELECT count(*) FROM privacy.choice_history WHERE event = 'kept'
             AND source = 'CREATE EXTENSION adopted the choices kept by DROP EXTENSION'")" \
	"$(log "SELECT count(*) FROM privacy.choices")" "and says, for each choice, that it was kept"
is "$(log "SELECT count(*) FROM privacy_optout_newsletter.pc WHERE id = 6")" "0" \
	"the opt-out of the added purpose holds in its view again"
like "$requests" 'crm.pc crm.pc 6 region w pending' "the source has the change request"
is "$(log "$requests_sql")" "$requests" "change requests are kept, with their ids"
like "$erasures" '^crm.pc crm.pc 7 1 1 1$' "the source has the erasure"
is "$(log "$erasures_sql")" "$erasures" "so are erasures, with their fingerprints"
is "$(log "SET crm_privacy.require_access_log = off; SELECT privacy.erase_subject('crm.pc', '7')")" "0" \
	"and erasing again changes nothing"
q "$db" "SELECT privacy.review_change(id, false, 'test') FROM privacy.change_requests WHERE status = 'pending'" >/dev/null

# The same table, renamed or given to another owner while the extension was
# gone, keeps its records (on the old code they waited under its old name,
# or for its old owner, and its opt-outs were ignored).
records_sql="SELECT string_agg(DISTINCT subject::regclass::text || ' ' || table_owner::regrole, ', ')
               FROM (SELECT subject, table_owner FROM privacy.subject_choices
                     UNION ALL SELECT subject, table_owner FROM privacy.erasure_data) r"
q "$db" "SET client_min_messages = warning; DROP EXTENSION crm_privacy;
         ALTER TABLE crm.pc RENAME TO pc_renamed; CREATE EXTENSION crm_privacy" >/dev/null
is "$(log "$records_sql")" "crm.pc_renamed crm_chg_owner" "a table renamed while the extension was gone keeps its choices and erasures"
is "$(log "SELECT count(*) FROM privacy_optout_newsletter.pc_renamed WHERE id = 6")" "0" "and its opt-outs hold"
q postgres "DROP ROLE IF EXISTS crm_chg_heir; CREATE ROLE crm_chg_heir" >/dev/null
q "$db" "SET client_min_messages = warning; DROP EXTENSION crm_privacy;
         ALTER TABLE crm.pc_renamed OWNER TO crm_chg_heir; CREATE EXTENSION crm_privacy" >/dev/null
is "$(log "$records_sql")" "crm.pc_renamed crm_chg_heir" "so does a table given to another owner"
is "$(log "SELECT count(*) FROM privacy_optout_newsletter.pc_renamed WHERE id = 6")" "0" "and its opt-outs hold"
q "$db" "SET client_min_messages = warning; ALTER TABLE crm.pc_renamed OWNER TO crm_chg_owner;
         ALTER TABLE crm.pc_renamed RENAME TO pc" >/dev/null
q postgres "DROP ROLE crm_chg_heir" >/dev/null

# an archive a non-superuser could have written is not adopted
q "$db" "SET client_min_messages = warning; DROP EXTENSION crm_privacy;
         ALTER SCHEMA crm_privacy_archive OWNER TO crm_chg_owner" >/dev/null
is "$(su_state "CREATE EXTENSION crm_privacy")" "42501" "a non-superuser's archive is refused, not adopted"
# so is a superuser's that others may write (their forged choices)
q "$db" "ALTER SCHEMA crm_privacy_archive OWNER TO postgres;
         GRANT USAGE ON SCHEMA crm_privacy_archive TO crm_chg_owner;
         GRANT UPDATE ON crm_privacy_archive.choices TO crm_chg_owner" >/dev/null
is "$(su_state "CREATE EXTENSION crm_privacy")" "42501" "an archive others may write is refused, not adopted"
q "$db" "REVOKE ALL ON crm_privacy_archive.choices FROM crm_chg_owner;
         REVOKE ALL ON SCHEMA crm_privacy_archive FROM crm_chg_owner" >/dev/null

# a restore (row_security off, as pg_dump's scripts and pg_restore set it)
# brings its own logs: the archive is kept under another name, not adopted
q "$db" "ALTER SCHEMA crm_privacy_archive OWNER TO postgres" >/dev/null
out=$(q "$db" "SET row_security = off; CREATE EXTENSION crm_privacy" 2>&1)
like "$out" "WARNING:  the logs of a dropped crm_privacy are kept in schema crm_privacy_archive_[0-9_]+, not adopted" \
	"CREATE EXTENSION in a restore keeps the archive, renamed, with a warning"
is "$(log "SELECT (SELECT count(*) FROM privacy.audit_log) || ' ' ||
               (SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'crm_privacy_archive_%')")" "0 1" \
	"... and adopts nothing"

# the other commands that drop the extension: DROP SCHEMA privacy CASCADE, and
# DROP OWNED BY its owner (the archive belongs to the bootstrap superuser)
q "$db" "INSERT INTO privacy.access_log (relations, query, row_count) VALUES ('{y}', 'q', 1)" >/dev/null
out=$(q "$db" "SET client_min_messages = warning; DROP SCHEMA privacy CASCADE; CREATE EXTENSION crm_privacy" 2>&1)
is "$out" "" "DROP SCHEMA privacy CASCADE, then CREATE EXTENSION"
is "$(log "SELECT count(*) FROM privacy.access_log WHERE relations = '{y}'")" "1" "... keeps the logs"
q postgres "DROP ROLE IF EXISTS crm_chg_su" >/dev/null
q postgres "CREATE ROLE crm_chg_su SUPERUSER" >/dev/null
out=$(q "$db" "SET client_min_messages = warning; SET ROLE crm_chg_su; DROP EXTENSION crm_privacy; CREATE EXTENSION crm_privacy;
               DROP OWNED BY crm_chg_su; RESET ROLE; CREATE EXTENSION crm_privacy" 2>&1)
is "$out" "" "DROP OWNED BY the extension's owner, then CREATE EXTENSION"
is "$(log "SELECT count(*) FROM privacy.access_log WHERE relations = '{y}'")" "1" "... keeps the logs"
q postgres "DROP ROLE crm_chg_su" >/dev/null

# Tables and columns that go with something else are recorded too.
q postgres "DROP ROLE IF EXISTS crm_chg_owner3" >/dev/null
q "$db" "CREATE ROLE crm_chg_owner3; GRANT CREATE ON SCHEMA public TO crm_chg_owner3;
         SET ROLE crm_chg_owner3;
         CREATE TABLE public.o3 (id int, v text); INSERT INTO public.o3 VALUES (1, 'a'), (2, 'b');
         RESET ROLE; SELECT privacy.enable_audit('public.o3')" >/dev/null
q "$db" "DROP OWNED BY crm_chg_owner3" >/dev/null
is "$(log "SELECT op || ' ' || new_values::text FROM privacy.audit_log WHERE table_name = 'public.o3' ORDER BY id DESC LIMIT 1")" \
	'DROP TABLE {"rows": 2}' "DROP OWNED BY records the audited tables it drops, with their rows"
q "$db" "CREATE COLLATION public.chg_coll (provider = libc, locale = 'C');
         CREATE FUNCTION public.chg_up(text) RETURNS text IMMUTABLE LANGUAGE sql AS 'SELECT upper(\$1)';
         CREATE TABLE public.dc (id int PRIMARY KEY, nm text COLLATE public.chg_coll, memo text,
                                 g text GENERATED ALWAYS AS (public.chg_up(memo)) STORED);
         SELECT privacy.enable_audit('public.dc');
         INSERT INTO public.dc VALUES (1, 'alice', 'm'), (2, 'bob', 'n');
         SET client_min_messages = warning;
         DROP FUNCTION public.chg_up(text) CASCADE; DROP COLLATION public.chg_coll CASCADE" >/dev/null
is "$(log "SELECT string_agg(op || ' ' || (new_values->>'column') || ' ' || (new_values->>'rows'), ', ' ORDER BY id)
             FROM privacy.audit_log WHERE table_name = 'public.dc' AND op = 'DROP COLUMN'")" \
	"DROP COLUMN g 2, DROP COLUMN nm 2" "columns dropped by DROP FUNCTION or DROP COLLATION ... CASCADE are recorded"
q "$db" "DROP TABLE public.dc; DROP ROLE crm_chg_owner3" >/dev/null

# A log a superuser gave an exclusion constraint is written through SQL,
# which checks it (the direct insert would not).
q postgres "DROP DATABASE IF EXISTS ${db}_x" >/dev/null
q postgres "CREATE DATABASE ${db}_x" >/dev/null
q "${db}_x" "SET client_min_messages = warning; CREATE EXTENSION crm_privacy;
             CREATE TABLE public.x (id int PRIMARY KEY, phone text);
             SECURITY LABEL FOR crm_privacy ON TABLE public.x IS 'subject key=id';
             SELECT privacy.enable_audit('public.x');
             ALTER TABLE privacy.audit_log ADD CONSTRAINT one_row_per_table EXCLUDE USING btree (table_name WITH =)" >/dev/null
is "$(psql -X -q -At -d "${db}_x" -v VERBOSITY=sqlstate -c "INSERT INTO public.x VALUES (1, '0711111111')" 2>&1)" \
	"ERROR:  23P01" "an exclusion constraint a superuser put on the log is enforced"
is "$(q "${db}_x" "SELECT count(*) FROM privacy.audit_log WHERE table_name = 'public.x'") $(q "${db}_x" "SELECT count(*) FROM public.x")" \
	"1 0" "and the change it refused is not made"
# ... and so is a log whose column default or NOT NULL a superuser changed.
q "${db}_x" "ALTER TABLE privacy.audit_log DROP CONSTRAINT one_row_per_table;
             ALTER TABLE privacy.audit_log ALTER COLUMN at SET DEFAULT '2000-01-01'" >/dev/null
q "${db}_x" "INSERT INTO public.x VALUES (2, '0722222222')" >/dev/null
is "$(q "${db}_x" "SELECT at::date FROM privacy.audit_log ORDER BY id DESC LIMIT 1")" "2000-01-01" \
	"a default a superuser gave the log's at column applies"
q "${db}_x" "ALTER TABLE privacy.audit_log ALTER COLUMN at SET DEFAULT now();
             ALTER TABLE privacy.audit_log ALTER COLUMN application_name SET NOT NULL" >/dev/null
is "$(psql -X -q -At -d "${db}_x" -v VERBOSITY=sqlstate \
	-c "SET application_name = ''; INSERT INTO public.x VALUES (3, '0733333333')" 2>&1)" \
	"ERROR:  23502" "a NOT NULL a superuser added to the log is enforced"
is "$(q "${db}_x" "SELECT count(*) FROM privacy.audit_log WHERE application_name IS NULL")" "0" \
	"and no row breaks it"
q postgres "DROP DATABASE ${db}_x" >/dev/null

q postgres "DROP DATABASE $db" >/dev/null
q postgres "DROP ROLE crm_chg_owner" >/dev/null
done_testing
