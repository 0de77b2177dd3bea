--
-- access: the read audit (SPEC section 6).  Every read of a privacy_full view
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
-- 7. Not reads of a full view: EXPLAIN without ANALYZE, the standard view,
--    the base table, and a read refused for want of privilege.
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

SELECT regress_wait_reads((SELECT id FROM start)::int + 7) - (SELECT id FROM start) AS written;
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

-- A long query text is cut at a character boundary: 4095 bytes at most.
-- The prefix is 56 bytes, then 3-byte characters: 56 + 3 * 1346 = 4094.
DO $$
BEGIN
    EXECUTE 'SELECT count(*) FROM privacy_full.member WHERE name <> '
            || quote_literal(repeat('名', 3000));
END $$;
SELECT regress_wait_reads((SELECT id FROM start)::int + 8) - (SELECT id FROM start) AS written;
SELECT octet_length(query) AS bytes, left(query, 56) AS prefix, right(query, 2) AS ends, row_count
  FROM privacy.access_log ORDER BY id DESC LIMIT 1;

SELECT privacy.revoke_access('regress_crm_reader', 'full');
SELECT privacy.revoke_access('regress_crm_reader', 'standard');
DROP TABLE member;
DROP ROLE regress_crm_reader;
DROP ROLE regress_crm_auditor;
