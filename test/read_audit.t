#!/usr/bin/env bash
# The audit under load, on a standby and through a crash (doc/audit.md):
#  - 8 pgbench clients read a full view and update, insert into, delete from
#    an audited table and change opt-outs for CRM_STRESS_SECONDS (30 by
#    default) while the logs are sealed every second: every read is in
#    privacy.access_log, every committed change in privacy.audit_log, once,
#    and the chain verifies;
#  - on a hot standby a full view can be read, and the read goes to the
#    standby's server log;
#  - after a crash (immediate stop) in the middle of the load, the data and
#    the audit agree, and the chain verifies and can be extended.
. "$(dirname "$0")/tap.sh"

[ "$CRM_PRELOAD" = on ] || skip_all "the read audit needs the library preloaded"
db=crm_read_audit
seconds=${CRM_STRESS_SECONDS:-30}
data=$CRM_TMP/data
plan 21

q postgres "DROP DATABASE IF EXISTS $db" >/dev/null
q postgres "CREATE DATABASE $db" >/dev/null
q "$db" "CREATE EXTENSION crm_privacy;
         CREATE TABLE member (id int PRIMARY KEY, name text, points int);
         SELECT privacy.label_table('member', 'subject key=id');
         SELECT privacy.label_column('member', 'id', 'public');
         SELECT privacy.label_column('member', 'name', 'identifier mask=name');
         SELECT privacy.label_column('member', 'points', 'personal');
         INSERT INTO member SELECT g, 'member ' || g, 0 FROM generate_series(1, 1000) g;
         SELECT privacy.enable_audit('member');" >/dev/null

# Four kinds of transactions, by weight: read a full view and update (5),
# insert (2), delete an inserted row (1), opt out or in (2).
q "$db" "CREATE SEQUENCE member_new START 1001; CREATE TABLE choice_calls (id serial)" >/dev/null
for f in read_update insert delete choice; do : >"$CRM_TMP/$f.pgbench"; done
# Each read and its update are one statement, and each opt-out change is
# counted in choice_calls by its own statement: when pgbench stops, a
# transaction is either all done or not at all.
cat >"$CRM_TMP/read_update.pgbench" <<'SQL'
\set id random(1, 1000)
UPDATE member SET points = points + 1
 WHERE id = :id AND EXISTS (SELECT FROM privacy_full.member f WHERE f.id = :id);
SQL
cat >"$CRM_TMP/insert.pgbench" <<'SQL'
INSERT INTO member (id, name, points) VALUES (nextval('member_new'), 'new member', 0);
SQL
cat >"$CRM_TMP/delete.pgbench" <<'SQL'
DELETE FROM member WHERE id = (SELECT id FROM member WHERE id > 1000 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED);
SQL
cat >"$CRM_TMP/choice.pgbench" <<'SQL'
\set id random(1, 1000)
\set out random(0, 1)
WITH c AS (INSERT INTO choice_calls DEFAULT VALUES RETURNING 1)
SELECT CASE WHEN :out = 1 THEN privacy.opt_out('member', :id::text, 'direct_marketing')
            ELSE privacy.opt_in('member', :id::text, 'direct_marketing') END FROM c;
SQL
chmod 644 "$CRM_TMP"/*.pgbench
scripts=(-f "$CRM_TMP/read_update.pgbench@5" -f "$CRM_TMP/insert.pgbench@2"
         -f "$CRM_TMP/delete.pgbench@1" -f "$CRM_TMP/choice.pgbench@2")
# The transactions pgbench ran of script number $2 (0-based) in its output $1.
script_tx() { printf '%s\n' "$1" | grep -E '^ - [0-9]+ transactions' | sed -n "$(($2 + 1))s/^ - \([0-9]*\) transactions.*/\1/p"; }

# The load, with a seal every second beside it.
(
	end=$((SECONDS + seconds))
	while [ $SECONDS -lt $end ]; do q "$db" "SELECT privacy.seal_audit()" >/dev/null; sleep 1; done
) &
sealer=$!
out=$(pgbench -n -c 8 -j 2 -T "$seconds" "${scripts[@]}" "$db" 2>&1)
wait $sealer
tx=$(printf '%s\n' "$out" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
failed=$(printf '%s\n' "$out" | sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p')
[ -n "$tx" ] && [ "$tx" -gt 0 ]
ok $? "pgbench ran $tx transactions with 8 clients in ${seconds} s ($(script_tx "$out" 0) reads and updates, $(script_tx "$out" 1) inserts, $(script_tx "$out" 3) opt-out changes)"
echo "# $(printf '%s\n' "$out" | grep -E '^tps')"
is "${failed:-0}" 0 "no transaction failed"
# What was committed, from the data: each update added a point, each insert
# took a number from member_new, each opt-out change added a choice_calls row.
reads=$(q "$db" "SELECT sum(points) FROM member")
inserts=$(q "$db" "SELECT last_value - 1000 FROM member_new")
choices=$(q "$db" "SELECT count(*) FROM choice_calls")
is "$(q "$db" "SELECT count(*) FROM privacy.audit_log WHERE op = 'UPDATE'")" "$reads" "every update is in the audit log, once"
is "$(q "$db" "SELECT count(*) FROM privacy.audit_log WHERE op = 'INSERT'")" "$inserts" "every insert is in the audit log, once"
is "$(q "$db" "SELECT count(*) FROM privacy.audit_log WHERE op = 'DELETE'")" \
	"$(q "$db" "SELECT $inserts - count(*) FROM member WHERE id > 1000")" "every delete is in the audit log, once"
is "$(q "$db" "SELECT string_agg(k, ',' ORDER BY k::int) FROM (
                 SELECT subject_key AS k FROM privacy.audit_log WHERE op = 'INSERT'
                 EXCEPT SELECT subject_key FROM privacy.audit_log WHERE op = 'DELETE') s")" \
	"$(q "$db" "SELECT string_agg(id::text, ',' ORDER BY id) FROM member WHERE id > 1000")" \
	"the rows inserted and not deleted, by the log, are the rows in the table"
is "$(q "$db" "SELECT count(*) FROM privacy.audit_log WHERE op IN ('opt_out', 'opt_in')")" "$choices" \
	"every opt-out change is in the audit log, once"
is "$(q "$db" "SELECT count(*) FROM privacy.subject_choices WHERE opted_out")" \
	"$(q "$db" "SELECT count(*) FROM (SELECT DISTINCT ON (subject_key) op FROM privacy.audit_log
	             WHERE op IN ('opt_out', 'opt_in') ORDER BY subject_key, id DESC) s WHERE op = 'opt_out'")" \
	"the last choice logged for each subject is the one in force"
wait_for "$db" "SELECT count(*) >= $reads FROM privacy.access_log"
is "$(q "$db" "SELECT count(*) FROM privacy.access_log")" "$reads" "every read is in the access log, once"
is "$(q "$db" "SELECT count(*) FROM privacy.access_log WHERE row_count = 1 AND relations = '{privacy_full.member}'")" \
	"$reads" "each with its row count and view"
q "$db" "SELECT privacy.seal_audit()" >/dev/null
is "$(q "$db" "SELECT string_agg(log || ':' || ok, ',' ORDER BY log) FROM privacy.verify_audit()")" \
	"access_log:true,audit_log:true" "the chain sealed under load verifies"
is "$(q "$db" "SELECT (SELECT count(*) FROM privacy.audit_seal) = (SELECT count(*) FROM privacy.audit_log) + (SELECT count(*) FROM privacy.access_log)")" \
	"t" "every row is sealed, once"

# A hot standby: the read runs and goes to the standby's server log.
standby=$CRM_TMP/standby
as_pg pg_basebackup -D "$standby" -R -X stream -c fast >/dev/null 2>&1
ok $? "a standby is cloned with pg_basebackup"
as_pg sh -c "echo port = 5433 >>\"$standby/postgresql.conf\""
as_pg pg_ctl -D "$standby" -l "$standby/server.log" -w start >/dev/null
before=$(q "$db" "SELECT count(*) FROM privacy.access_log")
out=$(PGPORT=5433 q "$db" "SET application_name = 'on the standby'; SELECT pg_is_in_recovery(), name FROM privacy_full.member WHERE id = 7")
is "$out" "t|member 7" "a full view can be read on the standby"
sleep 1
like "$(cat "$standby/server.log")" '\{"crm_privacy_access":\{.*"application_name":"on the standby".*"relations":\["privacy_full.member"\],"row_count":1,' \
	"the read is in the standby's server log, as JSON"
as_pg pg_ctl -D "$standby" -m fast -w stop >/dev/null
is "$(q "$db" "SELECT count(*) FROM privacy.access_log")" "$before" "and not in the primary's access log"

# A crash in the middle of the load: afterwards the data and the audit agree.
pgbench -n -c 4 -j 2 -T 10 "${scripts[@]}" "$db" >/dev/null 2>&1 &
bench=$!
(while kill -0 $bench 2>/dev/null; do q "$db" "SELECT privacy.seal_audit()" >/dev/null; sleep 0.5; done) &
sleep 4
as_pg pg_ctl -D "$data" -m immediate -w stop >/dev/null
wait $bench 2>/dev/null
wait
as_pg pg_ctl -D "$data" -l "$CRM_TMP/server.log" -w -t 120 start >/dev/null
is "$(q "$db" "SELECT (SELECT sum(points) FROM member) = (SELECT count(*) FROM privacy.audit_log WHERE op = 'UPDATE')")" \
	"t" "after a crash under load, every committed update is in the audit log and no other"
is "$(q "$db" "SELECT string_agg(k, ',' ORDER BY k::int) FROM (
                 SELECT subject_key AS k FROM privacy.audit_log WHERE op = 'INSERT'
                 EXCEPT SELECT subject_key FROM privacy.audit_log WHERE op = 'DELETE') s")" \
	"$(q "$db" "SELECT string_agg(id::text, ',' ORDER BY id) FROM member WHERE id > 1000")" \
	"and so is every committed insert and delete"
is "$(q "$db" "SELECT string_agg(log || ':' || ok, ',' ORDER BY log) FROM privacy.verify_audit()")" \
	"access_log:true,audit_log:true" "the chain verifies"
q "$db" "SELECT privacy.seal_audit()" >/dev/null
is "$(q "$db" "SELECT bool_and(ok) FROM privacy.verify_audit()")" "t" "and can be extended"

# A database without the extension, where a plain role made its own
# privacy_full view and privacy.access_log table with a trigger: its reads are
# not "full-view reads", and no superuser writer ever inserts into its table.
fake=crm_read_audit_fake
q postgres "DROP DATABASE IF EXISTS $fake" >/dev/null
q postgres "DROP ROLE IF EXISTS crm_fake" >/dev/null
q postgres "CREATE ROLE crm_fake LOGIN" >/dev/null
q postgres "CREATE DATABASE $fake OWNER crm_fake" >/dev/null
PGUSER=crm_fake q "$fake" "CREATE SCHEMA privacy_full; CREATE SCHEMA privacy;
	CREATE TABLE t (id int); INSERT INTO t VALUES (1);
	CREATE VIEW privacy_full.t AS SELECT * FROM t;
	CREATE TABLE privacy.access_log (at timestamptz, session_user_name name, current_user_name name,
	    application_name text, client_addr inet, relations text[], query text, row_count bigint);
	CREATE TABLE public.who (u name);
	CREATE FUNCTION public.note_who() RETURNS trigger LANGUAGE plpgsql AS
	    'BEGIN INSERT INTO public.who VALUES (current_user); RETURN NEW; END';
	CREATE TRIGGER note_who BEFORE INSERT ON privacy.access_log FOR EACH ROW EXECUTE FUNCTION public.note_who()" >/dev/null
PGUSER=crm_fake q "$fake" "SELECT * FROM privacy_full.t" >/dev/null
sleep 3
is "$(PGUSER=crm_fake q "$fake" "SELECT (SELECT count(*) FROM privacy.access_log) + (SELECT count(*) FROM public.who)")" "0" \
	"a look-alike privacy_full schema is not audited, and no writer touches a look-alike log"
q postgres "DROP DATABASE $fake" >/dev/null
q postgres "DROP ROLE crm_fake" >/dev/null

q postgres "DROP DATABASE $db" >/dev/null 2>&1 || { sleep 3; q postgres "DROP DATABASE $db" >/dev/null; }
done_testing
