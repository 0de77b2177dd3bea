--
-- access: the read audit (doc/audit.md, "Read audit").  Every read of a privacy_full view
-- is written to privacy.access_log by a background writer, in its own
-- transaction: it survives the reader's ROLLBACK and errors.  Reads are
-- written asynchronously, so the suite waits for them
-- (regress_wait_reads, sql/init.sql).
--
-- What the suite starts from.
CREATE TEMP TABLE start AS SELECT coalesce(max(id), 0) AS id FROM privacy.access_log;
CREATE FUNCTION pg_temp.reads() RETURNS TABLE (session_user_name name, current_user_name name,
    application_name text, relations text[], query text, row_count bigint)
LANGUAGE sql AS $$
    SELECT session_user_name, current_user_name, application_name, relations, query, row_count
      FROM privacy.access_log WHERE id > (SELECT id FROM start) ORDER BY id
$$;

CREATE TABLE member (id int PRIMARY KEY, name text, religion text);
SECURITY LABEL FOR crm_privacy ON TABLE member IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN member.id IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN member.name IS 'identifier mask=name';
SECURITY LABEL FOR crm_privacy ON COLUMN member.religion IS 'sensitive';
INSERT INTO member SELECT g, 'name ' || g, 'r' || g FROM generate_series(1, 10) g;
CREATE ROLE regress_crm_auditor;
CREATE ROLE regress_crm_reader;
SELECT privacy.grant_access('regress_crm_reader', 'full');
SELECT privacy.grant_access('regress_crm_reader', 'standard');
SET application_name = 'access suite';

-- 1. A read, with the rows it returned and who read.
SET ROLE regress_crm_reader;
SELECT id, name, religion FROM privacy_full.member WHERE id <= 2 ORDER BY id;
RESET ROLE;
-- 2. A read in a transaction that rolls back is still recorded.
BEGIN;
SET LOCAL ROLE regress_crm_reader;
SELECT count(*) FROM privacy_full.member;
ROLLBACK;
-- 3. A read that fails part-way: recorded with no row count.
SET ROLE regress_crm_reader;
SELECT id, 10 / (id - 5) FROM privacy_full.member ORDER BY id;
RESET ROLE;
-- 4. A read inside a subtransaction that is rolled back.
DO $$
BEGIN
    BEGIN
        PERFORM 1 / (id - 7) FROM privacy_full.member WHERE id = 7;
    EXCEPTION WHEN division_by_zero THEN
        RAISE NOTICE 'caught';
    END;
END $$;
-- 5. A cursor: the rows fetched.
BEGIN;
DECLARE c CURSOR FOR SELECT id FROM privacy_full.member ORDER BY id;
FETCH 3 FROM c;
CLOSE c;
COMMIT;
-- 6. A join of the full view with another table names both views once.
SELECT count(*) FROM privacy_full.member f JOIN privacy_standard.member s USING (id);
-- 7. EXPLAIN without ANALYZE is recorded, of 0 rows (its estimates come
--    from the columns' statistics); not reads of a full view: the standard
--    view, the base table, and a read refused for want of privilege.
--    (The plan's wording differs by version: only errors are shown.)
\o /dev/null
EXPLAIN (COSTS OFF) SELECT * FROM privacy_full.member;
\o
SELECT count(*) FROM privacy_standard.member;
SELECT count(*) FROM member;
SET ROLE regress_crm_auditor;
SELECT count(*) FROM privacy_full.member;
RESET ROLE;
-- 8. A parallel query is recorded once, by the leader.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
-- (force_parallel_mode is debug_parallel_query from PostgreSQL 16 on.)
SELECT CASE WHEN current_setting('server_version_num')::int >= 160000
            THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END AS force_parallel \gset
SET :force_parallel = on;
SELECT count(*) FROM privacy_full.member WHERE name LIKE 'name%';
RESET :force_parallel;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

SELECT regress_wait_reads((SELECT id FROM start)::int + 8) - (SELECT id FROM start) AS written;
SELECT * FROM pg_temp.reads();
-- The reader is refused the log itself; the client address is NULL on a
-- Unix socket.
SELECT count(*) AS no_address FROM privacy.access_log
 WHERE id > (SELECT id FROM start) AND client_addr IS NULL;
SET ROLE regress_crm_reader;
SELECT count(*) FROM privacy.access_log;
RESET ROLE;

-- Append-only, for the superuser too.
UPDATE privacy.access_log SET row_count = 0;
DELETE FROM privacy.access_log;

-- The functions behind it.  read_audit_ready is true here (preloaded);
-- record_access is not for PUBLIC; the setting is superuser-only.
SELECT privacy.read_audit_ready();
SET ROLE regress_crm_reader;
SELECT privacy.record_access(ARRAY['public.member']);
SET crm_privacy.require_access_log = off;
RESET ROLE;
SELECT privacy.record_access(NULL);
SHOW crm_privacy.require_access_log;

-- A long query text is cut at a character boundary: 4095 bytes at most
-- (with crm_privacy.access_log_query = full; normalized, the literal is $1).
-- The prefix is 56 bytes, then 3-byte characters: 56 + 3 * 1346 = 4094.
SET crm_privacy.access_log_query = full;
DO $$
BEGIN
    EXECUTE 'SELECT count(*) FROM privacy_full.member WHERE name <> '
            || quote_literal(repeat('名', 3000));
END $$;
SELECT regress_wait_reads((SELECT id FROM start)::int + 9) - (SELECT id FROM start) AS written;
SELECT octet_length(query) AS bytes, left(query, 56) AS prefix, right(query, 2) AS ends, row_count
  FROM privacy.access_log ORDER BY id DESC LIMIT 1;
RESET crm_privacy.access_log_query;

-- Honest records (each of these was wrong before: row_count 1 for the
-- cursor, 0 for the loop, the comment and the phone number stored, the name
-- with a newline split, the clear read through the standard view and the
-- inlined function's read not recorded).
CREATE TEMP TABLE start2 AS SELECT coalesce(max(id), 0) AS id FROM privacy.access_log;
CREATE TABLE crowd (id int PRIMARY KEY, name text, phone text, religion text);
SECURITY LABEL FOR crm_privacy ON TABLE crowd IS 'subject key=id';
SECURITY LABEL FOR crm_privacy ON COLUMN crowd.id IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN crowd.name IS 'identifier mask=name';
SECURITY LABEL FOR crm_privacy ON COLUMN crowd.phone IS 'identifier mask=phone';
SECURITY LABEL FOR crm_privacy ON COLUMN crowd.religion IS 'sensitive';
INSERT INTO crowd SELECT g, 'name ' || g, '1380013' || lpad(g::text, 4, '0'), 'r' || g
  FROM generate_series(1, 1000) g;
-- Its statistics now, so that the plans (and the rows their scans read, the
-- row counts below) do not depend on when autovacuum gets to it.
ANALYZE crowd;
CREATE TABLE "cr
owd"",x" (id int PRIMARY KEY);
SECURITY LABEL FOR crm_privacy ON TABLE "cr
owd"",x" IS 'subject key=id';
INSERT INTO "cr
owd"",x" VALUES (1);
CREATE ROLE regress_crm_secret;
CREATE ROLE regress_crm_plain;
SELECT privacy.set_clearance('regress_crm_secret', 'secret');
SELECT privacy.grant_access('regress_crm_secret', 'standard');
SELECT privacy.grant_access('regress_crm_plain', 'standard');
-- a. A cursor: the rows of every FETCH (999 + 1).
BEGIN;
DECLARE c CURSOR FOR SELECT id FROM privacy_full.crowd ORDER BY id;
FETCH 999 FROM c \g /dev/null
FETCH 1 FROM c;
COMMIT;
-- b. A PL/pgSQL loop: every row it consumed.
DO $$
DECLARE
    r record;
    n int := 0;
BEGIN
    FOR r IN SELECT * FROM privacy_full.crowd LOOP
        n := n + 1;
    END LOOP;
    RAISE NOTICE 'looped over % rows', n;
END $$;
-- c, d. A 4 kB comment in front, a phone number and an ID typed in WHERE:
--       the stored text has neither.  (Every row the scan read is counted,
--       before the condition.)
SELECT format('/* %s */ SELECT id FROM privacy_full.crowd WHERE phone = %L OR id = 990 -- %s',
              repeat('x', 4000), '13800130007', 'bye') AS q \gset
:q;
-- e. A table named with a newline, a quote and a comma is one element.
SELECT * FROM privacy_full."cr
owd"",x";
-- f. Clear reads through the standard view: recorded for a reader with
--    clearance secret who selects the sensitive (secret) column; not for a
--    reader without clearance (it is masked), nor for public columns or
--    count(*).  (The standard view is flattened: its rows are counted where
--    the table's scan reads them, before any condition the index does not
--    take: here an index scan of the 3 rows with id <= 3 counts 3, a
--    sequential scan of the 1000 rows would count 1000.)
SET ROLE regress_crm_secret;
SELECT religion FROM privacy_standard.crowd WHERE id <= 3 ORDER BY id;
SELECT id FROM privacy_standard.crowd WHERE id = 1;
SELECT count(*) FROM privacy_standard.crowd;
SELECT count(*) FROM privacy_standard.crowd c WHERE c.religion IS NOT NULL;
RESET ROLE;
SET ROLE regress_crm_plain;
SELECT religion FROM privacy_standard.crowd WHERE id <= 3 ORDER BY id;
SET crm_privacy.record_clear_level = public;
RESET ROLE;
--    A superuser lowers the level: the name (confidential) of a reader who
--    sees it in clear is recorded; the masked name of a plain reader is not.
SET crm_privacy.record_clear_level = confidential;
SELECT name FROM privacy_standard.crowd WHERE id = 2;
SET ROLE regress_crm_plain;
SELECT name FROM privacy_standard.crowd WHERE id = 2;
RESET ROLE;
RESET crm_privacy.record_clear_level;
--    Any generated view: the anonymous view (k-anonymity's nested query)
--    with anon=keep, a disclosure profile that keeps the column, an opt-out
--    view read with clearance secret; not a name the anonymous view hides,
--    nor a pseudonymized column.
SECURITY LABEL FOR crm_privacy ON TABLE crowd IS 'subject key=id k=2';
SECURITY LABEL FOR crm_privacy ON COLUMN crowd.religion IS 'sensitive anon=keep';
SELECT privacy.create_disclosure('regress_insurer');
SELECT privacy.disclose('regress_insurer', 'crowd', 'religion', 'keep');
SELECT privacy.disclose('regress_insurer', 'crowd', 'phone', 'pseudonym');
SELECT privacy.grant_access('regress_crm_secret', 'anon');
SELECT privacy.grant_access('regress_crm_secret', 'disclose', 'regress_insurer');
SELECT privacy.grant_access('regress_crm_secret', 'optout', 'direct_marketing');
SET ROLE regress_crm_secret;
SELECT religion FROM privacy_anon.crowd WHERE id = 4;
SELECT count(name) FROM privacy_anon.crowd;
SELECT count(religion) FROM privacy_disclose_regress_insurer.crowd;
SELECT count(phone) FROM privacy_disclose_regress_insurer.crowd;
SELECT religion FROM privacy_optout_direct_marketing.crowd WHERE id = 6;
RESET ROLE;
-- g. Overlapping cursors: each with its own rows.
BEGIN;
DECLARE a CURSOR FOR SELECT id FROM privacy_full.crowd;
DECLARE b CURSOR FOR SELECT id FROM privacy_full.crowd;
FETCH 2 FROM a \g /dev/null
FETCH 3 FROM b \g /dev/null
CLOSE a;
DECLARE d CURSOR FOR SELECT id FROM privacy_full.crowd;
FETCH 4 FROM d \g /dev/null
CLOSE b;
FETCH 1 FROM d \g /dev/null
CLOSE d;
COMMIT;
-- h. EXPLAIN reads no row (recorded, 0 rows); EXPLAIN ANALYZE reads.
EXPLAIN (COSTS OFF) SELECT id FROM privacy_full.crowd WHERE id < 5 \g /dev/null
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT id FROM privacy_full.crowd WHERE id < 5 \g /dev/null
-- i. A SQL function inlined into the calling query.
CREATE FUNCTION pg_temp.few(n int) RETURNS TABLE (id int, name text) LANGUAGE sql STABLE
AS 'SELECT id, name FROM privacy_full.crowd WHERE id <= n';
SELECT count(*) FROM pg_temp.few(7);
-- j. A prepared statement: one record per execution.
PREPARE p(int) AS SELECT name FROM privacy_full.crowd WHERE id = $1;
EXECUTE p(1);
EXECUTE p(2);
DEALLOCATE p;
-- k. The query text setting: none stores nothing; only a superuser sets it.
SET crm_privacy.access_log_query = none;
SELECT id FROM privacy_full.crowd WHERE id = 1;
RESET crm_privacy.access_log_query;
SET ROLE regress_crm_secret;
SET crm_privacy.access_log_query = full;
SET crm_privacy.record_clear_level = public;
RESET ROLE;
SHOW crm_privacy.access_log_query;
SHOW crm_privacy.record_clear_level;
-- l. row_count is the rows the view produced, whatever the statement
--    returned (each of these recorded 1 before): count(*) over the view;
--    only the rows a WHERE lets through the view; the view read twice in one
--    statement (2 + 3 rows); a writable CTE
--    copying rows; a parallel scan whose rows all come from workers; not
--    the rows of a view the record does not name (a superuser's standard
--    view).
SELECT count(*) FROM privacy_full.crowd;
SELECT count(*) FROM privacy_full.crowd WHERE id <= 3;
SELECT (SELECT count(*) FROM privacy_full.crowd WHERE id <= 2)
     + (SELECT count(*) FROM privacy_full.crowd WHERE id <= 3) AS both;
CREATE TEMP TABLE copied (id int);
WITH w AS (INSERT INTO copied SELECT id FROM privacy_full.crowd WHERE id <= 40 RETURNING 1)
SELECT count(*) FROM w;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET parallel_leader_participation = off;
SELECT count(*) FROM privacy_full.crowd WHERE name IS NOT NULL;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET parallel_leader_participation;
SELECT count(*) FROM privacy_full.crowd f JOIN privacy_standard.crowd s USING (id) WHERE f.id <= 6;

SELECT regress_wait_reads((SELECT id FROM start2)::int + 25) - (SELECT id FROM start2) AS written;
SELECT current_user_name, relations, left(query, 100) AS query, row_count
  FROM privacy.access_log WHERE id > (SELECT id FROM start2) ORDER BY id;
SELECT count(*) AS literals_stored FROM privacy.access_log
 WHERE id > (SELECT id FROM start2)
   AND (query LIKE '%13800130007%' OR query LIKE '%990%' OR query LIKE '%xxxx%' OR query LIKE '%bye%');
SELECT array_length(relations, 1) AS elements, relations[1] = 'privacy_full.' || quote_ident(E'cr\nowd",x') AS same_name
  FROM privacy.access_log WHERE id > (SELECT id FROM start2) AND relations[1] LIKE '%owd%x%';
DROP FUNCTION pg_temp.few(int);
SELECT privacy.revoke_access('regress_crm_secret', 'standard');
SELECT privacy.revoke_access('regress_crm_secret', 'anon');
SELECT privacy.revoke_access('regress_crm_secret', 'disclose', 'regress_insurer');
SELECT privacy.revoke_access('regress_crm_secret', 'optout', 'direct_marketing');
SELECT privacy.drop_disclosure('regress_insurer');
SELECT privacy.revoke_access('regress_crm_plain', 'standard');
SELECT privacy.set_clearance('regress_crm_secret', NULL);
DROP ROLE regress_crm_secret;
DROP ROLE regress_crm_plain;
DROP TABLE crowd;
DROP TABLE "cr
owd"",x";

SELECT privacy.revoke_access('regress_crm_reader', 'full');
SELECT privacy.revoke_access('regress_crm_reader', 'standard');
DROP TABLE member;
DROP ROLE regress_crm_reader;
DROP ROLE regress_crm_auditor;

-- Exporting the pseudonym key is recorded in the access log too, which
-- keeps the record when the transaction rolls back (the audit log's row goes
-- with it; the key has left all the same).
SELECT count(*) AS before FROM privacy.access_log \gset
BEGIN;
SELECT length(privacy.export_pseudonym_key()) AS key_bytes;
ROLLBACK;
SELECT regress_wait_reads(:before + 1) - :before AS recorded;
SELECT relations, query FROM privacy.access_log ORDER BY id DESC LIMIT 1;
