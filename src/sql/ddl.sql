-- Part 3: event triggers that keep labels true across DDL (src/ddl.c).
--
-- Unlike every other function of the extension, these three have no
-- SET search_path: they must resolve the unqualified names of the command
-- being run (ALTER TABLE t RENAME ...) with the caller's search_path, exactly
-- as the command does.  The only SQL they run is fully schema-qualified.

CREATE FUNCTION privacy.ddl_command_start() RETURNS event_trigger
AS 'MODULE_PATHNAME', 'crm_ddl_command_start'
LANGUAGE C;
COMMENT ON FUNCTION privacy.ddl_command_start() IS
'event trigger: rewrite crm_privacy labels that name an object being renamed or moved; drop the privacy views that would block ALTER or DROP';

CREATE FUNCTION privacy.sql_drop() RETURNS event_trigger
AS 'MODULE_PATHNAME', 'crm_sql_drop'
LANGUAGE C;
COMMENT ON FUNCTION privacy.sql_drop() IS
'event trigger: refuse to drop a key column, a subject table with related tables, or a function a label uses';

CREATE FUNCTION privacy.ddl_command_end() RETURNS event_trigger
AS 'MODULE_PATHNAME', 'crm_ddl_command_end'
LANGUAGE C;
COMMENT ON FUNCTION privacy.ddl_command_end() IS
'event trigger: after ALTER TABLE, FUNCTION, SCHEMA or TYPE, the crm_privacy labels they touch must still hold; rebuild the privacy views of relabelled, altered or commented tables, and after policy or domain changes';

REVOKE ALL ON FUNCTION privacy.ddl_command_start(), privacy.sql_drop(),
    privacy.ddl_command_end() FROM PUBLIC;

CREATE EVENT TRIGGER crm_privacy_ddl_command_start ON ddl_command_start
    WHEN TAG IN ('ALTER TABLE', 'ALTER FOREIGN TABLE', 'ALTER SCHEMA',
                 'ALTER FUNCTION', 'ALTER ROUTINE', 'DROP TABLE',
                 'DROP FOREIGN TABLE', 'DROP SCHEMA', 'DROP FUNCTION', 'DROP ROUTINE',
                 'DROP TRIGGER', 'ALTER TRIGGER', 'CREATE TRIGGER', 'DROP EXTENSION', 'DROP OWNED',
                 'ALTER EXTENSION', 'ALTER TYPE', 'DROP TYPE', 'DROP DOMAIN', 'SECURITY LABEL')
    EXECUTE FUNCTION privacy.ddl_command_start();
-- Also with session_replication_role = replica: the guard of the audit
-- triggers and the archive of the logs on DROP EXTENSION.
ALTER EVENT TRIGGER crm_privacy_ddl_command_start ENABLE ALWAYS;
CREATE EVENT TRIGGER crm_privacy_sql_drop ON sql_drop
    EXECUTE FUNCTION privacy.sql_drop();
CREATE EVENT TRIGGER crm_privacy_ddl_command_end ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'ALTER FOREIGN TABLE', 'ALTER SCHEMA',
                 'ALTER FUNCTION', 'ALTER ROUTINE', 'SECURITY LABEL', 'ALTER TYPE',
                 'CREATE POLICY', 'ALTER POLICY', 'DROP POLICY', 'ALTER DOMAIN', 'CREATE RULE',
                 'CREATE TABLE', 'CREATE TRIGGER', 'CREATE SCHEMA', 'COMMENT')
    EXECUTE FUNCTION privacy.ddl_command_end();
-- The checks of new tables and triggers hold in replica mode too.
ALTER EVENT TRIGGER crm_privacy_ddl_command_end ENABLE ALWAYS;

-- Before any DDL, in any session: load the library, whose object access
-- hook refuses a CASCADE that would drop the extension with its logs.
CREATE FUNCTION privacy.load_guards() RETURNS event_trigger
AS 'MODULE_PATHNAME', 'crm_load_guards'
LANGUAGE C;
REVOKE ALL ON FUNCTION privacy.load_guards() FROM PUBLIC;
COMMENT ON FUNCTION privacy.load_guards() IS
'event trigger: loads crm_privacy before any DDL, so that its guards are in place';
CREATE EVENT TRIGGER crm_privacy_load_guards ON ddl_command_start
    EXECUTE FUNCTION privacy.load_guards();
ALTER EVENT TRIGGER crm_privacy_load_guards ENABLE ALWAYS;

-- Last, when every function the views call exists: give the records adopted
-- from an archive their tables, and build the views of every table labelled
-- before the extension was (re)created.
SELECT privacy.resolve_choices(NULL, '{}', '{}');
SELECT privacy.refresh_views();
