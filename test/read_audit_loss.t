#!/usr/bin/env bash
# No read of a full view is lost silently (doc/audit.md, "Delivery"): each
# case counts the reads a client saw answered against the records, in
# privacy.access_log or as JSON lines in the server log.  Each read carries
# its own application_name (TAG-i), so a record is matched to its read.
#  - no background worker can start: max_worker_processes = 0, and a
#    database that stops accepting connections (the writer is registered but
#    dies at its start): each record waits in a pending file of the data
#    directory, and reaches the table once a writer can start;
#  - a full queue: the writer is stopped (SIGSTOP) while readers go on; the
#    records that find no room wait in pending files, which the writer
#    inserts once it runs again;
#  - a fast shutdown with records waiting for the writer;
#  - an immediate shutdown with records waiting for the writer, and three
#    in the middle of a load.
. "$(dirname "$0")/tap.sh"

[ "$CRM_PRELOAD" = on ] || skip_all "the read audit needs the library preloaded"
db=crm_read_audit_loss
data=$CRM_TMP/data
log=$CRM_TMP/server.log
plan 44

q postgres "DROP DATABASE IF EXISTS $db" >/dev/null
q postgres "CREATE DATABASE $db" >/dev/null
q "$db" "CREATE EXTENSION crm_privacy;
         CREATE TABLE member (id int PRIMARY KEY, name text);
         SELECT privacy.label_table('member', 'subject key=id');
         SELECT privacy.label_column('member', 'id', 'public');
         SELECT privacy.label_column('member', 'name', 'identifier mask=name');
         INSERT INTO member VALUES (1, 'member 1');" >/dev/null

# reads TAG FIRST LAST [STREAMS]: reads TAG-FIRST .. TAG-LAST, spread over
# STREAMS sessions (1 by default) that run at once; prints the tags of the
# reads that were answered, one a line.
reads() {
	local tag=$1 first=$2 last=$3 streams=${4:-1} s i
	for s in $(seq 0 $((streams - 1))); do
		for i in $(seq $((first + s)) "$streams" "$last"); do
			printf "SET application_name = '%s-%d';\nSELECT '%s-%d' FROM privacy_full.member WHERE id = 1;\n" \
				"$tag" "$i" "$tag" "$i"
		done >"$CRM_TMP/reads-$tag-$s.sql"
		psql -X -q -At -d "$db" -f "$CRM_TMP/reads-$tag-$s.sql" 2>/dev/null &
	done
	wait
}
# records TAG: the tags of the records of TAG's reads, in the table and in the
# server log, one a line, sorted (a tag recorded twice shows twice).
records() {
	{
		q "$db" "SELECT application_name FROM privacy.access_log WHERE application_name LIKE '$1-%'"
		grep -o "\"application_name\":\"$1-[0-9]*\"" "$log" | sed 's/.*:"\(.*\)"/\1/'
	} | sort
}
in_log() { grep -c "\"application_name\":\"$1-[0-9]*\"" "$log"; }
writer_pid() { q "$db" "SELECT pid FROM pg_stat_activity WHERE backend_type = 'crm_privacy access log writer' AND datname = '$db'"; }
# Start the writer with a read, and print its pid.
start_writer() {
	local pid=
	reads warm 1 1 >/dev/null
	for _ in $(seq 1 100); do pid=$(writer_pid); [ -n "$pid" ] && break; sleep 0.1; done
	echo "$pid"
}
restart() { as_pg pg_ctl -D "$data" -m fast -w stop >/dev/null; as_pg pg_ctl -D "$data" -l "$log" -w -t 120 start >/dev/null; }
wait_no_writer() { for _ in $(seq 1 100); do [ -z "$(writer_pid)" ] && return; sleep 0.1; done; }
expect() { seq -f "$1-%g" "$2" "$3" | sort; }

pending_count() { ls "$data/crm_privacy" | grep -cE '^pgsql_tmp\.access\.[0-9]+\.[0-9]+\.w[0-9]+$' || true; }

# 1. No background worker at all: the records wait in pending files until a
# writer can start (here, after a restart with workers), then reach the
# table, with the time of the read.
q postgres "ALTER SYSTEM SET max_worker_processes = 0" >/dev/null
restart
answered=$(reads noworker 1 50 2 | sort)
is "$answered" "$(expect noworker 1 50)" "with max_worker_processes = 0, 50 reads are answered"
is "$(pending_count)" 50 "each record waits in a pending file of the data directory"
is "$(in_log noworker)" 0 "none is in the server log"
q postgres "ALTER SYSTEM RESET max_worker_processes" >/dev/null
restart
wait_for "$db" "SELECT count(*) >= 50 FROM privacy.access_log WHERE application_name LIKE 'noworker-%'"
is "$(records noworker)" "$answered" "once a writer can start, each is recorded once, in privacy.access_log"
is "$(q "$db" "SELECT bool_and(at < pg_postmaster_start_time()) AND count(*) = 50 FROM privacy.access_log WHERE application_name LIKE 'noworker-%'")$(pending_count)" \
	"t0" "with the time of the read; no pending file is left"

# 2. The writer is registered but dies at its start: its database stopped
# accepting connections while the reader's session stays.
wait_no_writer
answered=$(psql -X -q -At -d "$db" 2>/dev/null <<SQL | grep -v '^$' | sort
\\! psql -X -q -d postgres -c "ALTER DATABASE $db ALLOW_CONNECTIONS false"
$(for i in $(seq 1 20); do printf "SET application_name = 'noconn-%d';\nSELECT 'noconn-%d' FROM privacy_full.member WHERE id = 1;\n" $i $i; done)
\\! psql -X -q -d postgres -c "ALTER DATABASE $db ALLOW_CONNECTIONS true"
SQL
)
is "$answered" "$(expect noconn 1 20)" "while no writer can connect, 20 reads are answered"
restart
wait_for "$db" "SELECT count(*) >= 20 FROM privacy.access_log WHERE application_name LIKE 'noconn-%'"
is "$(records noconn)" "$answered" "each is recorded once, after a restart, in privacy.access_log"

# 3. A full queue (crm_privacy.access_log_queue_size = 512 here): the writer
# is stopped; readers wait for room for crm_privacy.access_log_queue_wait,
# then write their records to pending files, which the writer inserts once it
# runs again.
q postgres "ALTER SYSTEM SET crm_privacy.access_log_queue_size = 512" >/dev/null
restart
is "$(q postgres "SHOW crm_privacy.access_log_queue_size")" 512 "the queue's size is set at server start"
pid=$(start_writer)
as_pg kill -STOP "$pid"
answered=$(PGOPTIONS="-c crm_privacy.access_log_queue_wait=100" reads full 1 600 4 | sort)
as_pg kill -CONT "$pid"
is "$answered" "$(expect full 1 600)" "with the writer stopped, 600 reads are answered"
wait_for "$db" "SELECT count(*) >= 600 FROM privacy.access_log WHERE application_name LIKE 'full-%'"
sleep 1
is "$(records full)" "$answered" "each is recorded once"
is "$(in_log full)$(pending_count)" "00" "those that found no room (600 - 512 slots) reached the table too, none the server log"
q postgres "ALTER SYSTEM RESET crm_privacy.access_log_queue_size" >/dev/null
restart

# 4, 5. A fast, then an immediate, shutdown while 200 records wait for a
# stopped writer: at a fast shutdown it writes them to the table before it
# exits; at an immediate one, to the server log as it dies.
shutdown_with_queue() {
	local mode=$1 pid
	pid=$(start_writer)
	as_pg kill -STOP "$pid"
	answered=$(reads "$mode" 1 200 4 | sort)
	as_pg pg_ctl -D "$data" -m "$mode" -W stop >/dev/null
	sleep 0.5
	as_pg kill -CONT "$pid"
	for _ in $(seq 1 600); do as_pg pg_ctl -D "$data" status >/dev/null 2>&1 || break; sleep 0.1; done
	as_pg pg_ctl -D "$data" -l "$log" -w -t 120 start >/dev/null
	is "$answered" "$(expect "$mode" 1 200)" "200 reads are answered before the $mode shutdown"
	is "$(records "$mode")" "$answered" "after the $mode shutdown each is recorded once"
}
shutdown_with_queue fast
shutdown_with_queue immediate

# 6. An immediate shutdown in the middle of a load of 4 readers, three
# times: every answered read is recorded (a read whose answer the crash cut
# off may be recorded too).  The writer dies first; a reader that has not got
# its own SIGQUIT yet still queues and answers for a moment, and writes those
# records itself (1 round in 5 lost a few before it did).
for round in 1 2 3; do
	tag=load$round
	reads "$tag" 1 100000 4 >"$CRM_TMP/load-answered" &
	loader=$!
	# under way: 200 of its reads recorded (however loaded the machine is)
	wait_for "$db" "SELECT count(*) >= 200 FROM privacy.access_log WHERE application_name LIKE '$tag-%'"
	sleep 1
	as_pg pg_ctl -D "$data" -m immediate -w stop >/dev/null
	wait $loader
	as_pg pg_ctl -D "$data" -l "$log" -w -t 120 start >/dev/null
	sort "$CRM_TMP/load-answered" >"$CRM_TMP/load-answered.sorted"
	n=$(wc -l <"$CRM_TMP/load-answered.sorted")
	[ "$n" -gt 100 ]
	ok $? "round $round: $n reads were answered before an immediate shutdown under load"
	records "$tag" | uniq >"$CRM_TMP/load-recorded"
	is "$(comm -23 "$CRM_TMP/load-answered.sorted" "$CRM_TMP/load-recorded" | wc -l)" 0 \
		"round $round: every one of them is recorded"
	is "$(records "$tag" | uniq -d | wc -l)" 0 "round $round: none twice"
done

# 7. The same, made certain: the postmaster is stopped (SIGSTOP), so the
# readers get no SIGQUIT, and the writer alone is killed with SIGQUIT; the
# readers go on queueing behind a dead writer for a second (their records,
# in shared memory, would be lost at the crash restart), then the postmaster
# goes on and restarts the server as after any crash.
postmaster=$(head -1 "$data/postmaster.pid")
reads quit 1 100000 4 >"$CRM_TMP/quit-answered" &
loader=$!
# every reader connected and reading (new connections need the postmaster)
wait_for "$db" "SELECT count(*) >= 200 FROM privacy.access_log WHERE application_name LIKE 'quit-%'"
pid=$(writer_pid)
as_pg kill -STOP "$postmaster"
as_pg kill -QUIT "$pid"
ok $? "the writer alone is killed with SIGQUIT, the postmaster stopped"
sleep 1
as_pg kill -CONT "$postmaster"
wait $loader
for _ in $(seq 1 600); do pg_isready -q && break; sleep 0.1; done
sort "$CRM_TMP/quit-answered" >"$CRM_TMP/quit-answered.sorted"
records quit | uniq >"$CRM_TMP/quit-recorded"
ok "$([ "$(wc -l <"$CRM_TMP/quit-answered.sorted")" -gt 100 ]; echo $?)" \
	"reads are answered while the writer is dead and the postmaster stopped"
is "$(comm -23 "$CRM_TMP/quit-answered.sorted" "$CRM_TMP/quit-recorded" | wc -l)" 0 \
	"readers that queue behind a writer dead of SIGQUIT record every answered read themselves"
is "$(records quit | uniq -d | wc -l)" 0 "none twice"
[ "$(in_log quit)" -gt 0 ]
ok $? "$(in_log quit) of them in the server log, written by the readers"

# 8. An immediate shutdown while the writer commits a batch: its commit is
# in the WAL, and it waits for a synchronous standby that never comes.  The
# batch must not go to the server log as well (it did: every read of it was
# recorded twice): the dying writer puts it in a pending file, and after the
# restart the writer of the database finds its transaction committed.
pending() { find "$data/crm_privacy" -name 'pgsql_tmp.access.*' | wc -l; }
writer_waits() { wait_for "$db" "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'crm_privacy access log writer' AND datname = '$db' AND wait_event = '$1'"; }
q postgres "ALTER SYSTEM SET synchronous_standby_names = 'nobody'" >/dev/null
q postgres "SELECT pg_reload_conf()" >/dev/null
answered=$(reads syncrep 1 100 2 | sort)
writer_waits SyncRep
as_pg pg_ctl -D "$data" -m immediate -w stop >/dev/null
is "$(pending)" 1 "an immediate shutdown while the writer waits for its commit leaves its batch in a pending file"
as_pg sed -i '/^synchronous_standby_names/d' "$data/postgresql.auto.conf"
as_pg pg_ctl -D "$data" -l "$log" -w -t 120 start >/dev/null
for _ in $(seq 1 100); do [ "$(pending)" = 0 ] && break; sleep 0.1; done
is "$(pending)" 0 "after the restart, the writer the launcher starts settles it"
is "$answered" "$(expect syncrep 1 100)" "100 reads were answered"
is "$(records syncrep)" "$answered" "each is recorded once: the batch committed, and nothing of it is in the server log"
like "$(grep 'read records of a batch committing at a crash' "$log")" \
	"crm_privacy: [0-9]+ read records of a batch committing at a crash are in privacy.access_log" "the server log says so"

# 9. The same when the batch had not committed: a (superuser's) deferred
# trigger on the log sleeps at the commit of this postmaster's batches.  After
# the restart the records are inserted from the pending file, once.
q "$db" "CREATE TABLE slow_until (t timestamptz);
         INSERT INTO slow_until SELECT pg_postmaster_start_time() + interval '1 microsecond';
         CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS \$\$
         BEGIN
           IF pg_postmaster_start_time() < (SELECT max(t) FROM public.slow_until) THEN
             PERFORM pg_sleep(60);
           END IF;
           RETURN NULL;
         END \$\$;
         CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON privacy.access_log
           DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow();" >/dev/null
answered=$(reads uncommitted 1 100 2 | sort)
writer_waits PgSleep
as_pg pg_ctl -D "$data" -m immediate -w stop >/dev/null
is "$(pending)" 1 "an immediate shutdown in the commit of a batch (before its commit record) leaves it in a pending file"
as_pg pg_ctl -D "$data" -l "$log" -w -t 120 start >/dev/null
for _ in $(seq 1 100); do [ "$(pending)" = 0 ] && break; sleep 0.1; done
is "$(pending)" 0 "after the restart it is settled"
is "$(records uncommitted)" "$answered" "each of the 100 reads is recorded once, in the table"
like "$(grep 'read records of a batch not committed at a crash' "$log")" \
	"crm_privacy: [0-9]+ read records of a batch not committed at a crash were written to privacy.access_log" "the server log says so"
q "$db" "DROP TRIGGER slow ON privacy.access_log" >/dev/null

# 10. A file in that directory that is not one of ours is set aside, with a
# warning, at the next start of a writer of its database.
dbid=$(q postgres "SELECT oid FROM pg_database WHERE datname = '$db'")
as_pg sh -c "echo garbage > '$data/crm_privacy/pgsql_tmp.access.$dbid.1.0'"
as_pg pg_ctl -D "$data" -m fast -w stop >/dev/null
as_pg pg_ctl -D "$data" -l "$log" -w -t 120 start >/dev/null
for _ in $(seq 1 100); do [ -n "$(ls "$data/crm_privacy")" ] && [ ! -e "$data/crm_privacy/pgsql_tmp.access.$dbid.1.0" ] && break; sleep 0.1; done
like "$(ls "$data/crm_privacy")" "^pgsql_tmp\.access\.$dbid\.1\.0\.[0-9]+\.bad\$" "an unreadable pending file is renamed (with the time) .bad"
like "$(grep 'pending read records' "$log")" "WARNING:  could not read crm_privacy's pending read records" "with a warning"
as_pg sh -c "rm -f '$data'/crm_privacy/pgsql_tmp.access.$dbid.1.0.*.bad"

# 11. A constraint the writer's rows break (a superuser added a NOT NULL
# column to the log): the insert fails with an error, not a crash (the
# executor state had no range table for the error message), and the records
# go to the server log.
crashes() { grep -c 'was terminated by signal' "$log"; }
before=$(crashes)
q "$db" "ALTER TABLE privacy.access_log ADD COLUMN extra int NOT NULL DEFAULT 0" >/dev/null
answered=$(reads notnull 1 5 | sort)
sleep 2
is "$(crashes)" "$before" "a NOT NULL the writer's rows break does not crash the server"
is "$(records notnull)" "$answered" "each read is recorded once, in the server log"
like "$(grep -o 'null value in column "extra" of relation "access_log" violates not-null constraint' "$log" | head -1)" \
	'violates not-null constraint' "with the writer's error"
q "$db" "ALTER TABLE privacy.access_log DROP COLUMN extra" >/dev/null

# 12. A reader holds every free background-worker slot with a parallel query
# of its own, so that no writer can start: its reads meanwhile wait in
# pending files and reach the table once a slot is free (they went to the
# server log, where any role can also RAISE lines of the same form).
q "$db" "CREATE TABLE busy AS SELECT g FROM generate_series(1, 20000) g;
         ALTER TABLE busy SET (parallel_workers = 8); ANALYZE busy" >/dev/null
wait_no_writer
psql -X -q -d "$db" -c "SET max_parallel_workers_per_gather = 8; SET parallel_setup_cost = 0;
    SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
    SELECT count(*) FROM busy WHERE pg_sleep(0.004) IS NOT NULL" >/dev/null 2>&1 &
hog=$!
sleep 2
answered=$(reads busy 1 10 | sort)
held=$(pending_count)
wait $hog
wait_for "$db" "SELECT count(*) >= 10 FROM privacy.access_log WHERE application_name LIKE 'busy-%'"
is "$held $(records busy | tr '\n' ' ')$(in_log busy)" "10 $(echo "$answered" | tr '\n' ' ')0" \
	"reads made while a reader's parallel query holds every worker slot wait in pending files, then reach the table, once each"

q postgres "DROP DATABASE $db" >/dev/null 2>&1 || { sleep 3; q postgres "DROP DATABASE $db" >/dev/null; }
done_testing
