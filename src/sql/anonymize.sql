-- Static anonymization (doc/anonymize.md): a table, or every labelled table
-- of the database, rewritten in place with its columns' anon rules.
-- Privacy administrators with the privileges of the tables' owner; checked
-- in C, which runs the rewrite as the owner.
CREATE FUNCTION privacy.anonymize_table(tbl pg_catalog.regclass, confirm pg_catalog.text DEFAULT NULL)
RETURNS TABLE (table_name pg_catalog.regclass, rows_changed pg_catalog.int8, kept pg_catalog.text[])
AS 'MODULE_PATHNAME', 'crm_anonymize_table'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION privacy.anonymize_table(pg_catalog.regclass, pg_catalog.text) IS
'rewrite a labelled table (a subject table with its related tables) in place with its anon rules; confirm must name the table; privacy administrators with the owner''s privileges';

CREATE FUNCTION privacy.anonymize_database(confirm pg_catalog.text DEFAULT NULL)
RETURNS TABLE (table_name pg_catalog.regclass, rows_changed pg_catalog.int8, kept pg_catalog.text[])
AS 'MODULE_PATHNAME', 'crm_anonymize_database'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION privacy.anonymize_database(pg_catalog.text) IS
'rewrite every labelled table of the database in place with its anon rules; confirm must name the database; privacy administrators with the owners'' privileges';
