--
-- init: the extension installs into schema privacy, pins search_path on every
-- function, registers its label provider and reserves its setting prefix.
--
CREATE EXTENSION crm_privacy;

SELECT e.extname, n.nspname, e.extrelocatable, e.extversion
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE e.extname = 'crm_privacy';

-- Every object of the extension.  (From PostgreSQL 17 on, the row types of
-- its tables and views, and their array types, are listed as members too:
-- they are left out.)
SELECT pg_describe_object(classid, objid, objsubid) AS object
  FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'crm_privacy')
   AND deptype = 'e'
   AND NOT EXISTS (SELECT FROM pg_type t JOIN pg_class c ON c.oid = t.typrelid
                    WHERE classid = 'pg_type'::regclass AND objid IN (t.oid, t.typarray)
                      AND c.relkind <> 'c')
 ORDER BY 1;

-- Every function runs with a fixed search_path, but the event trigger
-- functions, which must resolve names as the command does (src/sql/ddl.sql),
-- and the C functions that run no SQL and look up no names, called once per
-- row or per query in the privacy views (src/sql/mask.sql, src/sql/audit.sql).
SELECT p.oid::regprocedure::text AS function, p.proconfig, p.prosecdef, p.provolatile
  FROM pg_proc p
 WHERE p.pronamespace = 'privacy'::regnamespace
 ORDER BY 1;

-- The provider is registered (a label can be set) ...
CREATE TABLE init_t (a int);
SECURITY LABEL FOR crm_privacy ON COLUMN init_t.a IS 'public';
SELECT provider, label FROM pg_seclabels WHERE objname = 'init_t.a';

-- ... and the setting prefix is reserved.
SET crm_privacy.no_such_setting = 'on';

-- Dropping and re-creating the extension works and keeps labels (they belong
-- to the labelled objects, not to the extension).
DROP EXTENSION crm_privacy;
CREATE EXTENSION crm_privacy;
SELECT "column", class, label FROM privacy.labels WHERE "table" = 'init_t';
DROP TABLE init_t;

-- Reads of the full views are written to privacy.access_log by a background
-- writer, asynchronously: the suites that count them wait for them first
-- (up to 20 s).  Returns how many rows the log has.
CREATE FUNCTION regress_wait_reads(n int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    have int;
BEGIN
    FOR i IN 1..400 LOOP
        SELECT count(*) INTO have FROM privacy.access_log;
        EXIT WHEN have >= n;
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN have;
END $$;
