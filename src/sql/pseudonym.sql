-- Part 6: keyed pseudonyms (src/pseudonym.c), SPEC section 2.

-- The secret key.  Only the extension's owner may read or change it; the C
-- code reads it directly, so callers of pseudonym() need no privilege on it.
-- It is not dumped by pg_dump: a restored database gets a new key.
CREATE TABLE privacy.pseudonym_key (
    id         pg_catalog.int4 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key        pg_catalog.bytea NOT NULL
               CHECK (pg_catalog.length(key) OPERATOR(pg_catalog.=) 16),
    created_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
REVOKE ALL ON privacy.pseudonym_key FROM PUBLIC;
COMMENT ON TABLE privacy.pseudonym_key IS
'crm_privacy pseudonym key: readable by the extension owner only';

-- Any change to the key makes every backend drop its cached copy.
CREATE FUNCTION privacy.pseudonym_key_changed() RETURNS trigger
AS 'MODULE_PATHNAME', 'crm_pseudonym_key_changed'
LANGUAGE C SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION privacy.pseudonym_key_changed() FROM PUBLIC;
CREATE TRIGGER pseudonym_key_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy.pseudonym_key
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.pseudonym_key_changed();

CREATE FUNCTION privacy.pseudonym(v pg_catalog.text, context pg_catalog.text DEFAULT '')
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'crm_pseudonym_text'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.pseudonym(pg_catalog.text, pg_catalog.text) IS
'keyed, deterministic pseudonym of a text (64 bits as 16 hex digits); other contexts give unrelated results';

CREATE FUNCTION privacy.pseudonym(v pg_catalog.int8, context pg_catalog.text DEFAULT '')
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'crm_pseudonym_int8'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.pseudonym(pg_catalog.int8, pg_catalog.text) IS
'keyed permutation of bigint: no two values share a pseudonym, so keys stay unique and joinable';

CREATE FUNCTION privacy.pseudonym_int(v pg_catalog.int4, context pg_catalog.text DEFAULT '')
RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'crm_pseudonym_int4'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.pseudonym_int(pg_catalog.int4, pg_catalog.text) IS
'keyed permutation of integer, for integer key columns';

CREATE FUNCTION privacy.rotate_pseudonym_key() RETURNS void
AS 'MODULE_PATHNAME', 'crm_rotate_pseudonym_key'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
-- Privacy administrators only: checked in the caller's context when the call
-- is set up, and again in C.
GRANT EXECUTE ON FUNCTION privacy.rotate_pseudonym_key() TO PUBLIC;
COMMENT ON FUNCTION privacy.rotate_pseudonym_key() IS
'replace the pseudonym key with a new random one: every pseudonym changes';

-- The first key.
SELECT privacy.rotate_pseudonym_key();
