#!/usr/bin/env bash
# The read audit's records where one session cannot show them (doc/audit.md,
# "Read audit"):
#  - a read that fails inside a transaction block (in a function) is recorded
#    at once, while the session still sits in the aborted block (not only at
#    its ROLLBACK);
#  - a query cancelled while it produces rows is recorded, with no row count;
#  - a session that ends with an open cursor: the read is recorded with the
#    rows fetched;
#  - the standard view read by a reader with clearance secret, from a fresh
#    session each time (the per-backend cache of view columns starts empty);
#  - reads made inside parallel workers (a parallel-safe function reading a
#    full view for each row) are recorded, every one;
#  - the clearance of the standard view is decided when the query is planned
#    (as for PostgreSQL's row-level security): a cursor declared by a reader
#    without clearance and fetched after SET ROLE to a reader with it shows
#    masked values and is not recorded, nor is a statement that takes a
#    clearance while it runs; a statement planned with a clearance that a
#    function drops while it is planned is recorded;
#  - a statement reading more views than one record's relations can hold
#    gets as many records as it takes: no view name is left out.
. "$(dirname "$0")/tap.sh"

[ "$CRM_PRELOAD" = on ] || skip_all "the read audit needs the library preloaded"
db=crm_read_records
plan 10

q postgres "DROP DATABASE IF EXISTS $db" >/dev/null
q postgres "DROP ROLE IF EXISTS crm_records_secret" >/dev/null
q postgres "DROP ROLE IF EXISTS crm_records_switch" >/dev/null
q postgres "DROP ROLE IF EXISTS crm_records_low" >/dev/null
q postgres "CREATE DATABASE $db" >/dev/null
q "$db" "CREATE EXTENSION crm_privacy;
         CREATE TABLE member (id int PRIMARY KEY, name text, religion text);
         SELECT privacy.label_table('member', 'subject key=id');
         SELECT privacy.label_column('member', 'id', 'public');
         SELECT privacy.label_column('member', 'name', 'identifier mask=name');
         SELECT privacy.label_column('member', 'religion', 'sensitive');
         INSERT INTO member SELECT g, 'member ' || g, 'r' || g FROM generate_series(1, 100) g;
         CREATE ROLE crm_records_secret;
         SELECT privacy.set_clearance('crm_records_secret', 'secret');
         SELECT privacy.grant_access('crm_records_secret', 'standard');" >/dev/null
seen() { q "$db" "SELECT coalesce(string_agg(coalesce(row_count::text, 'null'), ',' ORDER BY id), '')
                    FROM privacy.access_log WHERE query LIKE '%$1%'"; }

# 1. A failing read in a transaction block, the session left in the block.
PGAPPNAME='aborted block' psql -X -q -d "$db" >/dev/null 2>&1 <<'SQL' &
BEGIN;
SELECT count(*) FROM privacy_full.member WHERE id > 0 /* block read */;
DO $$ BEGIN PERFORM 1 / (id - 50) FROM privacy_full.member; END $$;
\! sleep 30
ROLLBACK;
SQL
block=$!
wait_for "$db" "SELECT count(*) = 2 FROM privacy.access_log WHERE query LIKE 'SELECT count(*) FROM privacy_full.member WHERE id > \$1' OR query LIKE 'SELECT \$1 / (id - \$2)%'"
is "$(seen 'SELECT count(*) FROM privacy_full.member WHERE id > $1'),$(seen 'SELECT $1 / (id - $2)'),$(q "$db" "SELECT state FROM pg_stat_activity WHERE application_name = 'aborted block'")" \
	"100,50,idle in transaction (aborted)" \
	"reads of a transaction block that failed are recorded while the session sits in the aborted block, with the rows the view produced before the error"
q "$db" "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'aborted block'" >/dev/null
kill $block 2>/dev/null

# 2. A query cancelled while it produces rows.
psql -X -q -d "$db" -c "SELECT pg_sleep(0.05), id FROM privacy_full.member /* slow */" >/dev/null 2>&1 &
slow=$!
sleep 1
q "$db" "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%/* slow */%' AND pid <> pg_backend_pid()" >/dev/null
wait $slow
wait_for "$db" "SELECT count(*) = 1 FROM privacy.access_log WHERE query LIKE '%pg_sleep%'"
like "$(seen 'pg_sleep')" '^[1-9][0-9]?$' "a cancelled read is recorded, with the rows produced before the cancel"

# 3. A session that ends with a cursor open after two fetches.
q "$db" "BEGIN; DECLARE c CURSOR FOR SELECT name FROM privacy_full.member;
         FETCH 7 FROM c; FETCH 3 FROM c;" >/dev/null
wait_for "$db" "SELECT count(*) = 1 FROM privacy.access_log WHERE query LIKE 'DECLARE c%'"
is "$(seen 'DECLARE c')" "10" "a cursor left open when the session ends is recorded with the rows fetched"

# 4, 5. The standard view: a secret column in clear is recorded, a public one not.
PGOPTIONS="-c role=crm_records_secret" q "$db" "SELECT religion FROM privacy_standard.member WHERE id = 3" >/dev/null
PGOPTIONS="-c role=crm_records_secret" q "$db" "SELECT id FROM privacy_standard.member WHERE id < 4" >/dev/null
wait_for "$db" "SELECT count(*) = 1 FROM privacy.access_log WHERE relations = '{privacy_standard.member}'"
is "$(q "$db" "SELECT current_user_name || ' ' || query FROM privacy.access_log WHERE relations = '{privacy_standard.member}'")" \
	'crm_records_secret SELECT religion FROM privacy_standard.member WHERE id = $1' \
	"a secret column read in clear through the standard view is recorded, normalized"
sleep 1
is "$(seen 'SELECT id FROM privacy_standard.member WHERE id < $1')" "" "a public column through the standard view is not"

# 6. Reads inside parallel workers: the whole query runs in one.
force=$(q "$db" "SELECT CASE WHEN current_setting('server_version_num')::int >= 160000
                             THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END")
out=$(PGAPPNAME='in workers' PGOPTIONS="-c $force=on" q "$db" "CREATE FUNCTION pg_temp.nm(i int) RETURNS text LANGUAGE plpgsql STABLE PARALLEL SAFE
             AS \$\$ BEGIN RETURN (SELECT name FROM privacy_full.member WHERE id = i); END \$\$;
         SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
         SET parallel_leader_participation = off; SET max_parallel_workers_per_gather = 2;
         SELECT count(pg_temp.nm(m.id)) FROM member m")
wait_for "$db" "SELECT count(*) >= $out FROM privacy.access_log WHERE application_name = 'in workers'"
is "$(q "$db" "SELECT count(*) FROM privacy.access_log WHERE application_name = 'in workers' AND query LIKE '%WHERE id = i%'")" \
	"$out" "every read made inside a parallel worker is recorded ($out)"

# 7. A cursor declared without clearance, fetched after SET ROLE to a reader
# with it: masked, as when it was declared, and not recorded.  (Checked with
# section 9.)
q "$db" "CREATE ROLE crm_records_switch NOINHERIT IN ROLE crm_records_secret;
         SELECT privacy.grant_access('crm_records_switch', 'standard')" >/dev/null
switched=$(PGAPPNAME='switched' PGOPTIONS="-c role=crm_records_switch" q "$db" "BEGIN;
         DECLARE s CURSOR FOR SELECT religion FROM privacy_standard.member;
         SET ROLE crm_records_secret; FETCH 4 FROM s; COMMIT" | grep -c '^r' || true)

# 8. One statement reading 40 views with long names.
q "$db" "DO \$\$ BEGIN FOR i IN 1..40 LOOP
           EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY)', 'contact_history_archive_partition_region_' || i);
           PERFORM privacy.label_table(format('%I', 'contact_history_archive_partition_region_' || i)::regclass, 'subject key=id');
         END LOOP; END \$\$" >/dev/null
PGAPPNAME='forty' q "$db" "SELECT count(*) FROM $(for i in $(seq 1 40); do printf 'privacy_full.contact_history_archive_partition_region_%s t%s,' $i $i; done | sed 's/,$//')" >/dev/null
wait_for "$db" "SELECT count(*) >= 2 FROM privacy.access_log WHERE application_name = 'forty'"
is "$(q "$db" "SELECT count(DISTINCT r) || ' in ' || count(DISTINCT id) || ' records' FROM privacy.access_log, unnest(relations) r
              WHERE application_name = 'forty' AND r LIKE 'privacy_full.contact_history_archive_partition_region_%'")" \
	"40 in 2 records" "a statement reading 40 views is recorded with every name, in as many records as needed"

# 9, 10. A clearance taken inside the statement and dropped before the run
# ends (set_config('role', ...) in a subquery): the plan was made without
# it, so the values are masked and nothing is recorded.  A statement planned
# with clearance secret whose immutable function drops the role while the
# planner evaluates it: the plan shows religion in clear, so the read is
# recorded (as the role running it).
q "$db" "CREATE ROLE crm_records_low NOINHERIT IN ROLE crm_records_secret;
         SELECT privacy.grant_access('crm_records_low', 'standard')" >/dev/null
inside=$(PGAPPNAME='inside' PGOPTIONS="-c role=crm_records_low" q "$db" "SELECT count(x.religion), set_config('role', 'crm_records_low', false) AS back
    FROM (SELECT set_config('role', 'crm_records_secret', false) AS s OFFSET 0) a
    CROSS JOIN LATERAL (SELECT * FROM privacy_standard.member WHERE a.s IS NOT NULL) x" | cut -d'|' -f1)
inside_cursor=$(PGAPPNAME='inside cursor' PGOPTIONS="-c role=crm_records_low" q "$db" "BEGIN;
    DECLARE i CURSOR FOR SELECT x.religion, CASE WHEN x.id = 3 THEN set_config('role', 'crm_records_low', false) END
    FROM (SELECT set_config('role', 'crm_records_secret', false) AS s OFFSET 0) a
    CROSS JOIN LATERAL (SELECT * FROM privacy_standard.member WHERE a.s IS NOT NULL) x;
    FETCH 5 FROM i; COMMIT" | grep -c '^r' || true)
q "$db" "CREATE FUNCTION public.drop_clearance() RETURNS int LANGUAGE plpgsql IMMUTABLE
         AS \$\$ BEGIN PERFORM set_config('role', 'crm_records_low', false); RETURN 3; END \$\$" >/dev/null
planning=$(PGAPPNAME='planning' PGOPTIONS="-c role=crm_records_secret" q "$db" "SELECT religion, current_user FROM privacy_standard.member WHERE id = public.drop_clearance()")
PGAPPNAME='marker' PGOPTIONS="-c role=crm_records_secret" q "$db" "SELECT religion FROM privacy_standard.member WHERE id = 4" >/dev/null
wait_for "$db" "SELECT count(*) = 1 FROM privacy.access_log WHERE application_name = 'marker'"
is "$switched $inside $inside_cursor $planning $(q "$db" "SELECT string_agg(application_name || ': ' || current_user_name || ' ' || (row_count >= 1) || ' ' || relations::text, '; ' ORDER BY id)
              FROM privacy.access_log WHERE application_name IN ('switched', 'inside', 'inside cursor', 'planning')")" \
	"0 0 0 r3|crm_records_low planning: crm_records_low true {privacy_standard.member}" \
	"a clearance taken after the plan was made shows nothing in clear and is not recorded; one dropped while planning is recorded"

# 11. A cursor whose last FETCH fails: the rows of the completed fetches,
# and those produced before the error, are counted.
PGAPPNAME='failing fetch' q "$db" "BEGIN; DECLARE f CURSOR FOR SELECT id, 1 / (id - 60) FROM privacy_full.member;
    FETCH 40 FROM f; FETCH 40 FROM f; COMMIT" >/dev/null
wait_for "$db" "SELECT count(*) = 1 FROM privacy.access_log WHERE application_name = 'failing fetch'"
is "$(q "$db" "SELECT row_count FROM privacy.access_log WHERE application_name = 'failing fetch'")" "60" \
	"a cursor whose last FETCH fails records the rows produced (40 fetched, 20 more until the error)"

# 12. A parallel read that fails after its workers produced rows: their rows
# are counted (the workers add them in batches of 1,024 and, failing, the
# rest when their transaction aborts; the leader waits for its workers to
# exit before it sends the record of the failed statement).
PGAPPNAME='failing parallel' q "$db" "SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;
    SET min_parallel_table_scan_size = 0; SET parallel_leader_participation = off;
    COPY (SELECT id, name, 1 / (id - 90) FROM privacy_full.member) TO STDOUT" >/dev/null
wait_for "$db" "SELECT count(*) = 1 FROM privacy.access_log WHERE application_name = 'failing parallel'"
is "$(q "$db" "SELECT row_count >= 89 FROM privacy.access_log WHERE application_name = 'failing parallel'")" "t" \
	"a parallel read that fails counts the rows its workers produced before the error (89 sent)"

q "$db" "SELECT privacy.revoke_access('crm_records_low', 'standard');
         SELECT privacy.revoke_access('crm_records_switch', 'standard');
         SELECT privacy.revoke_access('crm_records_secret', 'standard'); SELECT privacy.set_clearance('crm_records_secret', NULL)" >/dev/null
q postgres "DROP DATABASE $db" >/dev/null 2>&1 || { sleep 3; q postgres "DROP DATABASE $db" >/dev/null; }
q postgres "DROP ROLE crm_records_switch" >/dev/null
q postgres "DROP ROLE crm_records_low" >/dev/null
q postgres "DROP ROLE crm_records_secret" >/dev/null
done_testing
