-- Part 6: keyed pseudonyms (src/pseudonym.c); doc/functions.md.

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
-- Privacy administrators only: checked in the caller's context when the call
-- is set up, and again in C.
GRANT EXECUTE ON FUNCTION privacy.rotate_pseudonym_key() TO PUBLIC;
COMMENT ON FUNCTION privacy.rotate_pseudonym_key() IS
'replace the pseudonym key with a new random one: every pseudonym changes';

-- The first key.
SELECT privacy.rotate_pseudonym_key();

-- Carrying the key to a restored or migrated database, or to every server of
-- a cluster, so that pseudonyms stay the same there.  Superusers only;
-- each call is recorded in privacy.audit_log with the key's fingerprint (the
-- first 8 bytes of its SHA-256), never the key.
CREATE FUNCTION privacy.key_event(action pg_catalog.text, k pg_catalog.bytea) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO privacy.audit_log (txid, session_user_name, current_user_name, application_name,
                                   client_addr, table_name, op, new_values)
    VALUES (pg_catalog.txid_current(), SESSION_USER, CURRENT_USER,
            NULLIF(pg_catalog.current_setting('application_name'), ''), pg_catalog.inet_client_addr(),
            'privacy.pseudonym_key', action,
            pg_catalog.jsonb_build_object('fingerprint',
                pg_catalog.encode(pg_catalog.substr(pg_catalog.sha256(k), 1, 8), 'hex')));
END $$;
REVOKE ALL ON FUNCTION privacy.key_event(pg_catalog.text, pg_catalog.bytea) FROM PUBLIC;

-- Only a superuser exports or imports the key (EXECUTE is revoked from
-- PUBLIC too; this holds if someone grants it).
CREATE FUNCTION privacy.key_superuser(action pg_catalog.text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER) THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = pg_catalog.format('permission denied to %s the pseudonym key', action),
            DETAIL = 'Only a superuser may export or import the key.';
    END IF;
END $$;
REVOKE ALL ON FUNCTION privacy.key_superuser(pg_catalog.text) FROM PUBLIC;

CREATE FUNCTION privacy.export_pseudonym_key() RETURNS pg_catalog.bytea
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k bytea;
BEGIN
    PERFORM privacy.key_superuser('export');
    SELECT p.key INTO k FROM privacy.pseudonym_key p ORDER BY p.id DESC LIMIT 1;
    IF k IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = 'crm_privacy has no pseudonym key',
            HINT = 'privacy.rotate_pseudonym_key() makes one.';
    END IF;
    PERFORM privacy.key_event('export_pseudonym_key', k);
    -- and in the access log, which keeps it even if this transaction rolls
    -- back (the key has left the database all the same); that needs the
    -- library preloaded, without which the audit row above is all
    BEGIN
        PERFORM privacy.record_access(ARRAY['privacy.pseudonym_key']);
    EXCEPTION WHEN object_not_in_prerequisite_state THEN
        NULL;
    END;
    RETURN k;
END $$;
REVOKE ALL ON FUNCTION privacy.export_pseudonym_key() FROM PUBLIC;
COMMENT ON FUNCTION privacy.export_pseudonym_key() IS
'the pseudonym key, for import_pseudonym_key() elsewhere; superuser only, recorded in the audit log';

CREATE FUNCTION privacy.import_pseudonym_key(key pg_catalog.bytea) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM privacy.key_superuser('import');
    IF key IS NULL OR pg_catalog.length(key) OPERATOR(pg_catalog.<>) 16 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'a pseudonym key has 16 bytes',
            HINT = 'Import what privacy.export_pseudonym_key() returned.';
    END IF;
    DELETE FROM privacy.pseudonym_key;
    INSERT INTO privacy.pseudonym_key (key) VALUES (import_pseudonym_key.key);
    PERFORM privacy.key_event('import_pseudonym_key', key);
END $$;
REVOKE ALL ON FUNCTION privacy.import_pseudonym_key(pg_catalog.bytea) FROM PUBLIC;
COMMENT ON FUNCTION privacy.import_pseudonym_key(pg_catalog.bytea) IS
'replace the pseudonym key with one exported from another database; superuser only, recorded in the audit log';
