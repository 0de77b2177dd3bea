-- crm_privacy install script, assembled by the Makefile from src/sql/*.sql.
-- Part 1: the extension schema.

\echo Use "CREATE EXTENSION crm_privacy" to load this file. \quit

-- Refuse, before creating anything, a database encoding whose characters the
-- masks cannot count: supported are UTF8, EUC_CN and the single-byte
-- encodings (src/mask.c).  This script is ASCII only, so that it reads the
-- same in every database encoding and reaches this check.
CREATE FUNCTION privacy.check_database_encoding() RETURNS pg_catalog.void
AS 'MODULE_PATHNAME', 'crm_check_database_encoding'
LANGUAGE C STRICT;
SELECT privacy.check_database_encoding();
DROP FUNCTION privacy.check_database_encoding();

-- The schema "privacy" is created by CREATE EXTENSION (crm_privacy.control).
GRANT USAGE ON SCHEMA privacy TO PUBLIC;
COMMENT ON SCHEMA privacy IS 'crm_privacy: labels, masking, privacy views and audit';

-- Load the library now, so that the label provider is registered in this
-- session even when the functions below are not validated (pg_restore runs
-- with check_function_bodies off) and the library is not preloaded.
LOAD 'MODULE_PATHNAME';
