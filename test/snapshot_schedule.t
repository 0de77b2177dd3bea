#!/usr/bin/env bash
# The snapshots' schedule (doc/snapshots.md): the launcher starts a scheduler
# for each database of crm_privacy.snapshot_databases (at a reload, without a
# restart), which refreshes the snapshots that are due, goes on after an
# error, and stops when its database leaves the list.
. "$(dirname "$0")/tap.sh"

[ "$CRM_PRELOAD" = on ] || skip_all "the schedule needs the library preloaded"
db=crm_snapshot_schedule
log=$CRM_TMP/server.log
plan 10

q postgres "DROP DATABASE IF EXISTS $db" >/dev/null
q postgres "CREATE DATABASE $db" >/dev/null
q "$db" "CREATE EXTENSION crm_privacy;
         CREATE TABLE member (id int PRIMARY KEY, name text, city text);
         INSERT INTO member SELECT i, 'member ' || i, 'city ' || i % 3 FROM generate_series(1, 30) i;
         SELECT privacy.label_table('member', 'subject key=id');
         SELECT privacy.label_column('member', 'id', 'identifier anon=pseudonym');
         SELECT privacy.label_column('member', 'name', 'identifier');
         SELECT privacy.label_column('member', 'city', 'quasi_identifier anon=keep');
         SELECT privacy.refresh_snapshot('member');
         SELECT privacy.schedule_snapshot('member', 'privacy_anon', '1 minute');" >/dev/null
scheduler() { q postgres "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'crm_privacy snapshot scheduler' AND datname = '$db'"; }
refreshed() { q "$db" "SELECT refreshed_at FROM privacy.snapshot_data"; }
is "$(scheduler)" 0 "no scheduler while the database is not listed"

q postgres "ALTER SYSTEM SET crm_privacy.snapshot_naptime = 1" >/dev/null
q postgres "ALTER SYSTEM SET crm_privacy.snapshot_databases = '$db'" >/dev/null
q postgres "SELECT pg_reload_conf()" >/dev/null
wait_for postgres "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'crm_privacy snapshot scheduler' AND datname = '$db'"
ok $? "after a reload the launcher starts the database's scheduler"

# Not due yet: nothing happens.
before=$(refreshed)
sleep 3
is "$(refreshed)" "$before" "a snapshot refreshed less than refresh_every ago is left as it is"

# Due: refreshed, with a row added since.
q "$db" "INSERT INTO member VALUES (31, 'member 31', 'city 1');
         UPDATE privacy.snapshot_data SET refreshed_at = refreshed_at - interval '2 minutes'" >/dev/null
wait_for "$db" "SELECT row_count = 31 FROM privacy.snapshot_data"
ok $? "a due snapshot is refreshed by the scheduler"
is "$(q "$db" "SELECT count(*) FROM privacy_snapshot_anon.member")" 31 "and reads the new row"

# An error (the snapshot cannot be made: the table's column turned into a
# composite type) is logged; the scheduler goes on.
q "$db" "CREATE TYPE pair AS (a int, b int);
         ALTER TABLE member ADD COLUMN p pair;
         UPDATE privacy.snapshot_data SET refreshed_at = refreshed_at - interval '2 minutes'" >/dev/null
for _ in $(seq 1 100); do grep -q 'column "p" of table public.member is of type public.pair' "$log" && break; sleep 0.1; done
like "$(grep -o 'column "p" of table public.member is of type public.pair, which a snapshot cannot hold' "$log" | head -1)" \
	"which a snapshot cannot hold" "a refresh that fails is logged"
sleep 2
is "$(scheduler)" 1 "and the scheduler goes on"
q "$db" "ALTER TABLE member DROP COLUMN p" >/dev/null
wait_for "$db" "SELECT refreshed_at > now() - interval '30 seconds' FROM privacy.snapshot_data"
ok $? "and refreshes the snapshot once it can"

# A scheduler that stops is started again (the launcher looks every 10 s).
q postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'crm_privacy snapshot scheduler'" >/dev/null
sleep 1
for _ in $(seq 1 300); do [ "$(scheduler)" = 1 ] && break; sleep 0.1; done
is "$(scheduler)" 1 "a scheduler that was terminated is started again"

# Out of the list: the scheduler stops.
q postgres "ALTER SYSTEM RESET crm_privacy.snapshot_databases" >/dev/null
q postgres "ALTER SYSTEM RESET crm_privacy.snapshot_naptime" >/dev/null
q postgres "SELECT pg_reload_conf()" >/dev/null
wait_for postgres "SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'crm_privacy snapshot scheduler'"
ok $? "a database taken off the list loses its scheduler"

q postgres "DROP DATABASE $db" >/dev/null 2>&1 || { sleep 3; q postgres "DROP DATABASE $db" >/dev/null; }
done_testing
