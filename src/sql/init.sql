-- crm_privacy install script, assembled by the Makefile from src/sql/*.sql.
-- Part 1: the extension schema.

\echo Use "CREATE EXTENSION crm_privacy" to load this file. \quit

-- The schema "privacy" is created by CREATE EXTENSION (crm_privacy.control).
GRANT USAGE ON SCHEMA privacy TO PUBLIC;
COMMENT ON SCHEMA privacy IS 'crm_privacy: labels, masking, privacy views and audit';

-- Load the library now, so that the label provider is registered in this
-- session even when the functions below are not validated (pg_restore runs
-- with check_function_bodies off) and the library is not preloaded.
LOAD 'MODULE_PATHNAME';
