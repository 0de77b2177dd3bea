#!/usr/bin/env bash
# The audit under load, on a standby and through a crash (SPEC sections 5, 6):
#  - 8 pgbench clients read a full view and update an audited table for
#    CRM_STRESS_SECONDS (30 by default) while the logs are sealed every
#    second: every read is in privacy.access_log, every update in
#    privacy.audit_log, and the chain verifies;
#  - on a hot standby a full view can be read, and the read goes to the
#    standby's server log;
#  - after a crash (immediate stop) in the middle of the load, the chain still
#    verifies and can be extended.
. "$(dirname "$0")/tap.sh"

[ "$CRM_PRELOAD" = on ] || skip_all "the read audit needs the library preloaded"
db=crm_read_audit
seconds=${CRM_STRESS_SECONDS:-30}
data=$CRM_TMP/data
plan 14

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

script=$CRM_TMP/read_audit.pgbench
cat >"$script" <<'SQL'
\set id random(1, 1000)
SELECT name FROM privacy_full.member WHERE id = :id;
UPDATE member SET points = points + 1 WHERE id = :id;
SQL
chmod 644 "$script"

# The load, with a seal every second beside it.
(
	end=$((SECONDS + seconds))
	while [ $SECONDS -lt $end ]; do q "$db" "SELECT privacy.seal_audit()" >/dev/null; sleep 1; done
) &
sealer=$!
out=$(pgbench -n -c 8 -j 2 -T "$seconds" -f "$script" "$db" 2>&1)
wait $sealer
tx=$(printf '%s\n' "$out" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
failed=$(printf '%s\n' "$out" | sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p')
[ -n "$tx" ] && [ "$tx" -gt 0 ]
ok $? "pgbench ran $tx transactions with 8 clients in ${seconds} s"
echo "# $(printf '%s\n' "$out" | grep -E '^tps')"
is "${failed:-0}" 0 "no transaction failed"
is "$(q "$db" "SELECT count(*) FROM privacy.audit_log WHERE op = 'UPDATE'")" "$tx" "every update is in the audit log"
is "$(q "$db" "SELECT sum(points) FROM member")" "$tx" "and in the table"
wait_for "$db" "SELECT count(*) >= $tx FROM privacy.access_log"
is "$(q "$db" "SELECT count(*) FROM privacy.access_log")" "$tx" "every read is in the access log, once"
is "$(q "$db" "SELECT count(*) FROM privacy.access_log WHERE row_count = 1 AND relations = '{privacy_full.member}'")" \
	"$tx" "each with its row count and view"
q "$db" "SELECT privacy.seal_audit()" >/dev/null
is "$(q "$db" "SELECT string_agg(log || ':' || ok, ',' ORDER BY log) FROM privacy.verify_audit()")" \
	"access_log:true,audit_log:true" "the chain sealed under load verifies"
is "$(q "$db" "SELECT (SELECT count(*) FROM privacy.audit_seal) = (SELECT count(*) FROM privacy.audit_log) + (SELECT count(*) FROM privacy.access_log)")" \
	"t" "every row is sealed, once"

# A hot standby: the read runs and goes to the standby's server log.
standby=$CRM_TMP/standby
as_pg pg_basebackup -D "$standby" -R -X stream -c fast >/dev/null 2>&1
ok $? "a standby is cloned with pg_basebackup"
as_pg sed -i "s/^port = .*/port = 5433/" "$standby/postgresql.conf"
as_pg pg_ctl -D "$standby" -l "$standby/server.log" -w start >/dev/null
before=$(q "$db" "SELECT count(*) FROM privacy.access_log")
out=$(PGPORT=5433 q "$db" "SET application_name = 'on the standby'; SELECT pg_is_in_recovery(), name FROM privacy_full.member WHERE id = 7")
is "$out" "t|member 7" "a full view can be read on the standby"
sleep 1
like "$(cat "$standby/server.log")" '\{"crm_privacy_access":\{.*"application_name":"on the standby".*"relations":"privacy_full.member","row_count":1,' \
	"the read is in the standby's server log, as JSON"
as_pg pg_ctl -D "$standby" -m fast -w stop >/dev/null
is "$(q "$db" "SELECT count(*) FROM privacy.access_log")" "$before" "and not in the primary's access log"

# A crash in the middle of the load.
pgbench -n -c 4 -j 2 -T 10 -f "$script" "$db" >/dev/null 2>&1 &
bench=$!
(while kill -0 $bench 2>/dev/null; do q "$db" "SELECT privacy.seal_audit()" >/dev/null; sleep 0.5; done) &
sleep 4
as_pg pg_ctl -D "$data" -m immediate -w stop >/dev/null
wait $bench 2>/dev/null
wait
as_pg pg_ctl -D "$data" -l "$CRM_TMP/server.log" -w -t 120 start >/dev/null
is "$(q "$db" "SELECT string_agg(log || ':' || ok, ',' ORDER BY log) FROM privacy.verify_audit()")" \
	"access_log:true,audit_log:true" "after a crash under load, the chain verifies"
q "$db" "SELECT privacy.seal_audit()" >/dev/null
is "$(q "$db" "SELECT bool_and(ok) FROM privacy.verify_audit()")" "t" "and can be extended"

q postgres "DROP DATABASE $db" >/dev/null 2>&1 || { sleep 3; q postgres "DROP DATABASE $db" >/dev/null; }
done_testing
