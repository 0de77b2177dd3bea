-- Part 6: keyed pseudonyms (src/pseudonym.c), SPEC section 2.

-- The secret key.  Only the extension's owner may change it and only the
-- owner and the role that owns the views (crm_privacy_views, which passes
-- it to keyed_pseudonym() and keyed_noise()) may read it; the C code of
-- pseudonym() and of the audit reads it directly.
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
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.pseudonym(pg_catalog.text, pg_catalog.text) IS
'keyed, deterministic pseudonym of a text (64 bits as 16 hex digits); other contexts give unrelated results';

CREATE FUNCTION privacy.pseudonym(v pg_catalog.int8, context pg_catalog.text DEFAULT '')
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'crm_pseudonym_int8'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.pseudonym(pg_catalog.int8, pg_catalog.text) IS
'keyed permutation of bigint: no two values share a pseudonym, so keys stay unique and joinable';

CREATE FUNCTION privacy.pseudonym_int(v pg_catalog.int4, context pg_catalog.text DEFAULT '')
RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'crm_pseudonym_int4'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.pseudonym_int(pg_catalog.int4, pg_catalog.text) IS
'keyed permutation of integer, for integer key columns';

-- The same pseudonyms as pure functions of (value, key, context), for the
-- views: they pass the key, read from privacy.pseudonym_key with their
-- owner's rights.  IMMUTABLE for real (nothing cached can go stale after a
-- rotation), and no oracle: a caller without the key computes nothing useful.
CREATE FUNCTION privacy.keyed_pseudonym(v pg_catalog.text, key pg_catalog.bytea, context pg_catalog.text)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'crm_keyed_pseudonym_text'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.keyed_pseudonym(v pg_catalog.int8, key pg_catalog.bytea, context pg_catalog.text)
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'crm_keyed_pseudonym_int8'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.keyed_pseudonym_int(v pg_catalog.int4, key pg_catalog.bytea, context pg_catalog.text)
RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'crm_keyed_pseudonym_int4'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.keyed_pseudonym(pg_catalog.text, pg_catalog.bytea, pg_catalog.text) IS
'the pseudonym of a text under a given key and context (used by the views, which pass the secret key)';

CREATE FUNCTION privacy.rotate_pseudonym_key() RETURNS void
AS 'MODULE_PATHNAME', 'crm_rotate_pseudonym_key'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION privacy.rotate_pseudonym_key() FROM PUBLIC;
COMMENT ON FUNCTION privacy.rotate_pseudonym_key() IS
'replace the pseudonym key with a new random one: every pseudonym changes';

-- The first key.
SELECT privacy.rotate_pseudonym_key();
