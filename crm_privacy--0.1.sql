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
-- Part 2: labels; doc/labels.md.

CREATE FUNCTION privacy.parse_label(label pg_catalog.text,
    OUT class pg_catalog.text, OUT level pg_catalog.text,
    OUT mask pg_catalog.text, OUT anon pg_catalog.text,
    OUT key pg_catalog.name, OUT subject pg_catalog.text, OUT k pg_catalog.int4)
RETURNS record
AS 'MODULE_PATHNAME', 'crm_parse_label'
LANGUAGE C IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION privacy.parse_label(pg_catalog.text) IS
'parts of a crm_privacy column or table label, with class defaults; NULL gives the label of an unlabelled column';

CREATE FUNCTION privacy.label_column(tbl pg_catalog.regclass, col pg_catalog.name, label pg_catalog.text)
RETURNS void
AS 'MODULE_PATHNAME', 'crm_label_column'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION privacy.label_column(pg_catalog.regclass, pg_catalog.name, pg_catalog.text) IS
'SECURITY LABEL FOR crm_privacy ON COLUMN tbl.col IS label (NULL removes the label)';

CREATE FUNCTION privacy.label_table(tbl pg_catalog.regclass, label pg_catalog.text)
RETURNS void
AS 'MODULE_PATHNAME', 'crm_label_table'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION privacy.label_table(pg_catalog.regclass, pg_catalog.text) IS
'SECURITY LABEL FOR crm_privacy ON TABLE tbl IS label (NULL removes the label)';

-- Privacy administrators: superusers, and roles with the privileges of a role
-- labelled privacy_admin (which only a superuser can label).
CREATE FUNCTION privacy.is_privacy_admin(role pg_catalog.regrole DEFAULT CURRENT_USER::pg_catalog.regrole)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'crm_is_privacy_admin_sql'
LANGUAGE C STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION privacy.is_privacy_admin(pg_catalog.regrole) IS
'is the role a privacy administrator: a superuser, or a role with the privileges of a role labelled privacy_admin';

-- True, or 42501 unless the current user is a privacy administrator: the
-- first line of every administrative function, and the guard of the views
-- and logs only privacy administrators read.
CREATE FUNCTION privacy.require_privacy_admin() RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'crm_require_privacy_admin_sql'
LANGUAGE C STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION privacy.require_privacy_admin() IS
'true when the current user is a privacy administrator; otherwise raises 42501';

-- Superusers and privacy administrators only (checked in C, which writes the
-- label itself: no CREATEROLE needed).
CREATE FUNCTION privacy.set_clearance(role pg_catalog.regrole, level pg_catalog.text)
RETURNS void
AS 'MODULE_PATHNAME', 'crm_set_clearance'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION privacy.set_clearance(pg_catalog.regrole, pg_catalog.text) IS
'set the clearance= word of a role''s crm_privacy label (NULL removes the clearance); superusers and privacy administrators only';

-- Every labelled column, every labelled table (column NULL), and every
-- unlabelled column of a subject or related table with its privacy-by-default
-- label (label NULL).
CREATE VIEW privacy.labels AS
WITH crm_labels AS (
    SELECT s.objoid, s.objsubid, s.label
      FROM pg_catalog.pg_seclabel s
     WHERE s.provider OPERATOR(pg_catalog.=) 'crm_privacy'
       AND s.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
), labelled_tables AS (
    SELECT l.objoid FROM crm_labels l WHERE l.objsubid OPERATOR(pg_catalog.=) 0
)
SELECT n.nspname AS schema, c.relname AS "table", NULL::pg_catalog.name AS "column",
       p.class, p.level, p.mask, p.anon, l.label
  FROM crm_labels l
  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) l.objoid
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
 CROSS JOIN LATERAL privacy.parse_label(l.label) p
 WHERE l.objsubid OPERATOR(pg_catalog.=) 0
UNION ALL
SELECT n.nspname, c.relname, a.attname, p.class, p.level, p.mask, p.anon, l.label
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
  LEFT JOIN crm_labels l ON l.objoid OPERATOR(pg_catalog.=) a.attrelid
                        AND l.objsubid OPERATOR(pg_catalog.=) a.attnum
 CROSS JOIN LATERAL privacy.parse_label(l.label) p
 WHERE a.attnum OPERATOR(pg_catalog.>) 0
   AND NOT a.attisdropped
   AND (l.label IS NOT NULL
        OR EXISTS (SELECT FROM labelled_tables t WHERE t.objoid OPERATOR(pg_catalog.=) a.attrelid));
COMMENT ON VIEW privacy.labels IS
'crm_privacy labels of tables and columns, with class defaults and privacy-by-default rows for unlabelled columns of labelled tables';
GRANT SELECT ON privacy.labels TO PUBLIC;
-- Part 4: masking functions and format checks (src/mask.c); doc/functions.md.
-- STRICT (NULL in, NULL out), IMMUTABLE, PARALLEL SAFE; they count characters.
--
-- The C functions of parts 4 to 6 that are called once per row (masks,
-- checks, generalize, noise, pseudonym) have no SET search_path: they run no
-- SQL and look up no name through the search path, so pinning it protects
-- nothing, while it costs a GUC save and restore on every call.  Measured on
-- 1,000,000 rows: mask_email 1.13x a plain read of the column without the
-- pin, 6.9x with it (doc/functions.md).

CREATE FUNCTION privacy.mask_partial(v pg_catalog.text, f pg_catalog.int4, l pg_catalog.int4,
                                     pad pg_catalog.text DEFAULT '*')
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'crm_mask_partial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.mask_partial(pg_catalog.text, pg_catalog.int4, pg_catalog.int4, pg_catalog.text) IS
'keep the first f and last l characters, each other character becomes pad: mask_partial(''13812345678'', 3, 4) = 138****5678';

CREATE FUNCTION privacy.mask_email(pg_catalog.text) RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'crm_mask_email'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.mask_email(pg_catalog.text) IS
'first character of the local part, ***, domain: z***@example.com; not an address: every character *';

CREATE FUNCTION privacy.mask_phone(pg_catalog.text) RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'crm_mask_phone'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.mask_phone(pg_catalog.text) IS
'mainland mobiles keep their first 3 and last 4 digits (and a leading 86), other numbers their last 4; separators stay';

CREATE FUNCTION privacy.mask_name(pg_catalog.text) RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'crm_mask_name'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.mask_name(pg_catalog.text) IS
'names with Han characters keep the surname only (one character, two for a compound surname), separators stay; other names the first character of each word (J*** S****)';

CREATE FUNCTION privacy.mask_cn_id(pg_catalog.text) RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'crm_mask_cn_id'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.mask_cn_id(pg_catalog.text) IS
'resident ID: 18 characters keep the first 6 and last 4, 15 keep 6 and 3, other lengths are all *';

CREATE FUNCTION privacy.mask_card(pg_catalog.text) RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'crm_mask_card'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.mask_card(pg_catalog.text) IS
'bank card: last 4 digits kept, other digits *, separators stay';

CREATE FUNCTION privacy.is_valid_cn_id(pg_catalog.text) RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'crm_is_valid_cn_id'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.is_valid_cn_id(pg_catalog.text) IS
'18-character resident ID: 17 digits, a real birth date, ISO 7064 MOD 11-2 check character';

CREATE FUNCTION privacy.luhn_valid(pg_catalog.text) RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'crm_luhn_valid'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.luhn_valid(pg_catalog.text) IS
'Luhn checksum over at least 12 digits; spaces and hyphens ignored';

CREATE FUNCTION privacy.is_cn_mobile(pg_catalog.text) RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'crm_is_cn_mobile'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.is_cn_mobile(pg_catalog.text) IS
'mainland mobile number: 11 digits 1[3-9]..., optional +86 or 86, spaces and hyphens';

CREATE FUNCTION privacy.is_email(pg_catalog.text) RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'crm_is_email'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.is_email(pg_catalog.text) IS
'one @, a non-empty local part, a domain with a dot';
-- Part 5: generalize and noise (src/anon.c); doc/functions.md.
-- generalize is IMMUTABLE; noise is VOLATILE.  Both STRICT and PARALLEL SAFE.

CREATE FUNCTION privacy.generalize(v pg_catalog.int2, step pg_catalog.int2) RETURNS pg_catalog.int2
AS 'MODULE_PATHNAME', 'crm_generalize_int2' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.generalize(v pg_catalog.int4, step pg_catalog.int4) RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'crm_generalize_int4' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.generalize(v pg_catalog.int8, step pg_catalog.int8) RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'crm_generalize_int8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.generalize(v pg_catalog.numeric, step pg_catalog.numeric) RETURNS pg_catalog.numeric
AS 'MODULE_PATHNAME', 'crm_generalize_numeric' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.generalize(v pg_catalog.float8, step pg_catalog.float8) RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'crm_generalize_float8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.generalize(v pg_catalog.date, unit pg_catalog.text) RETURNS pg_catalog.date
AS 'MODULE_PATHNAME', 'crm_generalize_date' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.generalize(v pg_catalog.timestamp, unit pg_catalog.text) RETURNS pg_catalog.timestamp
AS 'MODULE_PATHNAME', 'crm_generalize_timestamp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.generalize(v pg_catalog.timestamptz, unit pg_catalog.text) RETURNS pg_catalog.timestamptz
AS 'MODULE_PATHNAME', 'crm_generalize_timestamptz' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.generalize(pg_catalog.int4, pg_catalog.int4) IS
'floor to a multiple of step: generalize(37, 10) = 30, generalize(-3, 10) = -10';
COMMENT ON FUNCTION privacy.generalize(pg_catalog.date, pg_catalog.text) IS
'truncate to year, month or decade: generalize(date ''1987-06-15'', ''decade'') = 1980-01-01';
COMMENT ON FUNCTION privacy.generalize(pg_catalog.timestamptz, pg_catalog.text) IS
'truncate to year, month or decade, in UTC (the result does not depend on the session time zone)';

CREATE FUNCTION privacy.noise(v pg_catalog.int2, ratio pg_catalog.float8) RETURNS pg_catalog.int2
AS 'MODULE_PATHNAME', 'crm_noise_int2' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.noise(v pg_catalog.int4, ratio pg_catalog.float8) RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'crm_noise_int4' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.noise(v pg_catalog.int8, ratio pg_catalog.float8) RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'crm_noise_int8' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.noise(v pg_catalog.numeric, ratio pg_catalog.float8) RETURNS pg_catalog.numeric
AS 'MODULE_PATHNAME', 'crm_noise_numeric' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.noise(v pg_catalog.float8, ratio pg_catalog.float8) RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'crm_noise_float8' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.noise(v pg_catalog.date, amount pg_catalog.interval) RETURNS pg_catalog.date
AS 'MODULE_PATHNAME', 'crm_noise_date' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.noise(v pg_catalog.timestamp, amount pg_catalog.interval) RETURNS pg_catalog.timestamp
AS 'MODULE_PATHNAME', 'crm_noise_timestamp' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.noise(v pg_catalog.timestamptz, amount pg_catalog.interval) RETURNS pg_catalog.timestamptz
AS 'MODULE_PATHNAME', 'crm_noise_timestamptz' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.noise(pg_catalog.int4, pg_catalog.float8) IS
'v * (1 + u), u uniform in [-ratio, ratio], rounded and kept within the type';
COMMENT ON FUNCTION privacy.noise(pg_catalog.date, pg_catalog.interval) IS
'shifted by up to +/- amount';

-- keyed_noise(v, ratio|amount, key, context, seed): the same noise, with u
-- derived from seed (the row's key) under the secret key and the context
-- (the column): stable, so reading a row again gives the same value.  The
-- views pass the key, which they read with their owner's rights; without the
-- key these functions give a caller nothing.
CREATE FUNCTION privacy.keyed_noise(v pg_catalog.int2, ratio pg_catalog.float8, key pg_catalog.bytea,
                                    context pg_catalog.text, seed pg_catalog.text) RETURNS pg_catalog.int2
AS 'MODULE_PATHNAME', 'crm_noise_int2' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.keyed_noise(v pg_catalog.int4, ratio pg_catalog.float8, key pg_catalog.bytea,
                                    context pg_catalog.text, seed pg_catalog.text) RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'crm_noise_int4' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.keyed_noise(v pg_catalog.int8, ratio pg_catalog.float8, key pg_catalog.bytea,
                                    context pg_catalog.text, seed pg_catalog.text) RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'crm_noise_int8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.keyed_noise(v pg_catalog.numeric, ratio pg_catalog.float8, key pg_catalog.bytea,
                                    context pg_catalog.text, seed pg_catalog.text) RETURNS pg_catalog.numeric
AS 'MODULE_PATHNAME', 'crm_noise_numeric' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.keyed_noise(v pg_catalog.float8, ratio pg_catalog.float8, key pg_catalog.bytea,
                                    context pg_catalog.text, seed pg_catalog.text) RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'crm_noise_float8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.keyed_noise(v pg_catalog.date, amount pg_catalog.interval, key pg_catalog.bytea,
                                    context pg_catalog.text, seed pg_catalog.text) RETURNS pg_catalog.date
AS 'MODULE_PATHNAME', 'crm_noise_date' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.keyed_noise(v pg_catalog.timestamp, amount pg_catalog.interval, key pg_catalog.bytea,
                                    context pg_catalog.text, seed pg_catalog.text) RETURNS pg_catalog.timestamp
AS 'MODULE_PATHNAME', 'crm_noise_timestamp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.keyed_noise(v pg_catalog.timestamptz, amount pg_catalog.interval, key pg_catalog.bytea,
                                    context pg_catalog.text, seed pg_catalog.text) RETURNS pg_catalog.timestamptz
AS 'MODULE_PATHNAME', 'crm_noise_timestamptz' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.keyed_noise(pg_catalog.int4, pg_catalog.float8, pg_catalog.bytea, pg_catalog.text, pg_catalog.text) IS
'noise derived from seed under a key and context: the same arguments give the same value (used by the views)';
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
-- Part 7: purposes, choices, disclosure profiles, access and the privacy
-- views (src/views.c); doc/views.md.

-- The role that owns the generated views and reads the base tables for
-- them: not a superuser, unable to log in, no BYPASSRLS, so row-level
-- security on a base table applies to every read through every view.  Roles
-- belong to the cluster: a second database's CREATE EXTENSION finds it and
-- resets its attributes.  privacy.refresh_views() refuses to build views
-- while it has any of these attributes or any member.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'crm_privacy_views') THEN
        CREATE ROLE crm_privacy_views NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT
            NOREPLICATION NOBYPASSRLS;
    ELSE
        ALTER ROLE crm_privacy_views NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT
            NOREPLICATION NOBYPASSRLS;
    END IF;
END $$;
-- The views read the key (they pass it to keyed_pseudonym() and
-- keyed_noise()); readers cannot.
GRANT SELECT ON privacy.pseudonym_key TO crm_privacy_views;

-- Schemas of the generated views.  Everyone may look into them; what a role
-- may read is granted per view by privacy.grant_access().
CREATE SCHEMA privacy_standard;
CREATE SCHEMA privacy_full;
CREATE SCHEMA privacy_anon;
GRANT USAGE ON SCHEMA privacy_standard, privacy_full, privacy_anon TO PUBLIC;
COMMENT ON SCHEMA privacy_standard IS 'crm_privacy: standard views (masked below the reader''s clearance)';
COMMENT ON SCHEMA privacy_full IS 'crm_privacy: full personal-data views (every read recorded)';
COMMENT ON SCHEMA privacy_anon IS 'crm_privacy: anonymous views for analysis';

-- Purposes a data subject can opt out of.  "rows" purposes get opt-out views;
-- "sensitive_columns" (sensitive_data) nulls sensitive columns in every view
-- but the full one.
CREATE TABLE privacy.purposes (
    name        pg_catalog.text PRIMARY KEY
                CHECK (pg_catalog.octet_length(name) OPERATOR(pg_catalog.>=) 1
                       AND pg_catalog.octet_length(name) OPERATOR(pg_catalog.<=) 48),
    description pg_catalog.text,
    effect      pg_catalog.text NOT NULL
                CHECK (effect OPERATOR(pg_catalog.=) ANY (ARRAY['rows', 'sensitive_columns'])),
    builtin     pg_catalog.bool NOT NULL DEFAULT false
);
INSERT INTO privacy.purposes (name, description, effect, builtin) VALUES
    ('direct_marketing', 'commercial messages: mail, e-mail, SMS, calls', 'rows', true),
    ('third_party_disclosure', 'disclosure of personal data to third parties', 'rows', true),
    ('automated_decision', 'decisions made by automated processing, including profiling', 'rows', true),
    ('sensitive_data', 'use of sensitive data: ethnicity, religion, health', 'sensitive_columns', true);
SELECT pg_catalog.pg_extension_config_dump('privacy.purposes', 'WHERE NOT builtin');
GRANT SELECT ON privacy.purposes TO PUBLIC;

-- One row per subject and purpose with a recorded choice.  key is the
-- subject's key in the text form of the key column's type.
--
-- A choice belongs to a subject table by name, so that it outlives the
-- table (a nightly reload that creates a new table, drops or renames the old
-- one and renames the new one); privacy.resolve_choices() (src/sql/keeping.sql)
-- keeps it so after every rename, label and drop:
--   subject       the table it applies to now (which the views compare
--                 with), NULL while it waits for one;
--   subject_name  that table's name ("public.customer"), kept up to date on
--                 renames; while the choice waits, the table's last name;
--   previous_names the names the table gave up by renames: a subject table
--                 of the same owner that takes one of them gets a copy;
--   table_owner   the table's owner (a role OID): a table of another owner
--                 takes nothing;
--   key_column, key_attnum  the key column the key belongs to.
-- subject is an oid, not a regclass: a dump names no table it could fail to
-- find, and a restore finds each by subject_name (choice_subject()).
CREATE TABLE privacy.subject_choices (
    subject       pg_catalog.oid,
    subject_name  pg_catalog.text NOT NULL,
    key           pg_catalog.text NOT NULL,
    purpose       pg_catalog.text NOT NULL
                  REFERENCES privacy.purposes ON UPDATE CASCADE ON DELETE CASCADE,
    opted_out     pg_catalog.bool NOT NULL,
    changed_at    pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    source        pg_catalog.text,
    changed_by    pg_catalog.name NOT NULL DEFAULT SESSION_USER,
    previous_names pg_catalog.text[],
    table_owner   pg_catalog.oid,
    key_column    pg_catalog.name,
    key_attnum    pg_catalog.int2,
    -- the key as a number, when it is one: views compare it with a number
    -- column in that column's own type, with no text conversion per row
    -- (key_int: every bigint, all 19 digits; key_num: any number)
    key_int       pg_catalog.int8 GENERATED ALWAYS AS (
                      CASE WHEN key OPERATOR(pg_catalog.~) '^-?[0-9]{1,18}$'
                           THEN CAST(key AS pg_catalog.int8)
                           WHEN key OPERATOR(pg_catalog.~) '^-?[0-9]{19}$'
                            AND CAST(key AS pg_catalog.numeric) OPERATOR(pg_catalog.>=) -9223372036854775808
                            AND CAST(key AS pg_catalog.numeric) OPERATOR(pg_catalog.<=) 9223372036854775807
                           THEN CAST(key AS pg_catalog.int8) END) STORED,
    key_num       pg_catalog.numeric GENERATED ALWAYS AS (
                      CASE WHEN key OPERATOR(pg_catalog.~) '^-?[0-9]+([.][0-9]+)?$'
                           THEN CAST(key AS pg_catalog.numeric) END) STORED,
    id            pg_catalog.int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY
);
-- One choice per table, purpose and key (waiting choices: any number).
CREATE UNIQUE INDEX subject_choices_subject ON privacy.subject_choices (subject, purpose, key);
CREATE INDEX subject_choices_name ON privacy.subject_choices (subject_name) WHERE subject IS NULL;
CREATE INDEX subject_choices_previous ON privacy.subject_choices USING gin (previous_names)
    WHERE previous_names IS NOT NULL;
-- The views look up opt-outs only: partial indexes hold nothing else, so a
-- lookup (and EXPLAIN ANALYZE of it) never touches a subject's opt-in.
CREATE INDEX subject_choices_key_int ON privacy.subject_choices (subject, purpose, key_int)
    WHERE opted_out;
CREATE INDEX subject_choices_key_num ON privacy.subject_choices (subject, purpose, key_num)
    WHERE opted_out;
CREATE INDEX subject_choices_opted_out ON privacy.subject_choices (subject, purpose, key)
    WHERE opted_out;
SELECT pg_catalog.pg_extension_config_dump('privacy.subject_choices', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('privacy.subject_choices', 'id'), '');
REVOKE ALL ON privacy.subject_choices FROM PUBLIC;
GRANT SELECT ON privacy.subject_choices TO crm_privacy_views;

-- The name records about a table are kept under: "schema.table", each part
-- quoted as an identifier when it needs it.
CREATE FUNCTION privacy.choice_table_name(tbl pg_catalog.oid) RETURNS pg_catalog.text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
 WHERE c.oid OPERATOR(pg_catalog.=) tbl
$$;
REVOKE ALL ON FUNCTION privacy.choice_table_name(pg_catalog.oid) FROM PUBLIC;

-- A row that applies to a table (subject or tbl not NULL) applies to the
-- one its name names: the same table when the extension writes it, the
-- restored table when pg_restore loads it.
CREATE FUNCTION privacy.choice_subject() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_NAME OPERATOR(pg_catalog.=) 'disclosure_column_data' THEN
        IF NEW.tbl IS NOT NULL THEN
            NEW.tbl := pg_catalog.to_regclass(NEW.tbl_name)::pg_catalog.oid;
        END IF;
    ELSIF NEW.subject IS NOT NULL THEN
        NEW.subject := pg_catalog.to_regclass(NEW.subject_name)::pg_catalog.oid;
    END IF;
    -- a choice's key column, as that table numbers it
    IF TG_TABLE_NAME OPERATOR(pg_catalog.=) 'subject_choices' THEN
        NEW.key_attnum := (SELECT a.attnum FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid OPERATOR(pg_catalog.=) NEW.subject
                              AND a.attname OPERATOR(pg_catalog.=) NEW.key_column
                              AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped);
    END IF;
    RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION privacy.choice_subject() FROM PUBLIC;
CREATE TRIGGER choice_subject BEFORE INSERT ON privacy.subject_choices
    FOR EACH ROW EXECUTE FUNCTION privacy.choice_subject();

-- Every change of a choice, never updated or deleted: who, when, from what
-- source, the state before (NULL: none) and after.  event says what made
-- the change: a call (opt_out, opt_in, erase_subject), or the extension
-- keeping a choice with its table (kept: its table was dropped and it
-- waits under the table's name; adopted: a table took that name, or the name
-- another table of its owner gave up, and has the choice now; merged: two
-- choices for one key and purpose met, the newer stays).
CREATE TABLE privacy.subject_choice_history (
    id           pg_catalog.int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    changed_at   pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    changed_by   pg_catalog.name NOT NULL DEFAULT SESSION_USER,
    subject_name pg_catalog.text NOT NULL,
    key          pg_catalog.text NOT NULL,
    purpose      pg_catalog.text NOT NULL,
    event        pg_catalog.text NOT NULL,
    old_opted_out pg_catalog.bool,
    new_opted_out pg_catalog.bool,
    source       pg_catalog.text
);
CREATE INDEX subject_choice_history_subject ON privacy.subject_choice_history (subject_name, key);
SELECT pg_catalog.pg_extension_config_dump('privacy.subject_choice_history', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('privacy.subject_choice_history', 'id'), '');
REVOKE ALL ON privacy.subject_choice_history FROM PUBLIC;

-- Readable by privacy administrators; anyone else gets 42501.  subject is
-- the table a choice applies to (NULL while it waits for one), subject_name
-- its name (or the name it waits under).
CREATE VIEW privacy.choices AS
SELECT subject::pg_catalog.regclass AS subject, key, purpose, opted_out, changed_at, source, changed_by,
       subject_name
  FROM privacy.subject_choices
 WHERE privacy.require_privacy_admin();
GRANT SELECT ON privacy.choices TO PUBLIC;
COMMENT ON VIEW privacy.choices IS 'data subjects'' recorded opt-out choices, one row per subject and purpose';

CREATE VIEW privacy.choice_history AS
SELECT changed_at, changed_by, subject_name, key, purpose, event, old_opted_out, new_opted_out, source, id
  FROM privacy.subject_choice_history
 WHERE privacy.require_privacy_admin();
GRANT SELECT ON privacy.choice_history TO PUBLIC;
COMMENT ON VIEW privacy.choice_history IS
'every change of a data subject''s choices: when, by whom, from what source, the state before and after';

-- Disclosure profiles (selective anonymization for a recipient).
CREATE TABLE privacy.disclosure_profiles (
    name       pg_catalog.text PRIMARY KEY
               CHECK (pg_catalog.octet_length(name) OPERATOR(pg_catalog.>=) 1
                      AND pg_catalog.octet_length(name) OPERATOR(pg_catalog.<=) 46),
    purpose    pg_catalog.text NOT NULL REFERENCES privacy.purposes ON UPDATE CASCADE,
    recipient  pg_catalog.text,
    created_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
-- A profile's treatments, kept with their table by name as choices are.
CREATE TABLE privacy.disclosure_column_data (
    profile     pg_catalog.text NOT NULL
                REFERENCES privacy.disclosure_profiles ON UPDATE CASCADE ON DELETE CASCADE,
    tbl         pg_catalog.oid,
    tbl_name    pg_catalog.text NOT NULL,
    col         pg_catalog.name NOT NULL,
    treatment   pg_catalog.text NOT NULL,
    table_owner pg_catalog.oid,
    previous_names pg_catalog.text[],
    PRIMARY KEY (profile, tbl_name, col)
);
CREATE TRIGGER choice_subject BEFORE INSERT ON privacy.disclosure_column_data
    FOR EACH ROW EXECUTE FUNCTION privacy.choice_subject();
SELECT pg_catalog.pg_extension_config_dump('privacy.disclosure_profiles', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.disclosure_column_data', '');
CREATE VIEW privacy.disclosure_columns AS
SELECT profile, tbl::pg_catalog.regclass AS tbl, col, treatment, tbl_name
  FROM privacy.disclosure_column_data;
GRANT SELECT ON privacy.disclosure_profiles, privacy.disclosure_columns TO PUBLIC;

-- Who may read which kind of view; re-applied whenever views are rebuilt.
-- The query each generated view was last built from (its MD5), so that a
-- rebuild leaves a view whose definition did not change alone.
CREATE TABLE privacy.view_definitions (
    view pg_catalog.oid PRIMARY KEY,
    md5  pg_catalog.text NOT NULL
);
REVOKE ALL ON privacy.view_definitions FROM PUBLIC;

CREATE TABLE privacy.access_grants (
    role pg_catalog.regrole NOT NULL,
    kind pg_catalog.text NOT NULL
         CHECK (kind OPERATOR(pg_catalog.=) ANY (ARRAY['standard', 'full', 'anon', 'optout', 'disclose'])),
    name pg_catalog.text NOT NULL DEFAULT '',
    PRIMARY KEY (role, kind, name)
);
SELECT pg_catalog.pg_extension_config_dump('privacy.access_grants', '');
GRANT SELECT ON privacy.access_grants TO PUBLIC;

-- The clearance of the current user, as a level number (0 public .. 3
-- secret): the highest clearance of any role whose privileges it has.  The
-- views call it once per query.
CREATE FUNCTION privacy.clearance_level() RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'crm_clearance_level'
LANGUAGE C STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;
CREATE FUNCTION privacy.clearance(role pg_catalog.regrole DEFAULT CURRENT_USER::pg_catalog.regrole)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'crm_clearance'
LANGUAGE C STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION privacy.clearance(pg_catalog.regrole) IS
'effective clearance of a role: the highest clearance of any role whose privileges it has (has_privs_of_role), else public; secret for superusers';

-- (Re)build the views of one labelled table, or of all.  Runs as the
-- extension's owner, who owns the views.
CREATE FUNCTION privacy.refresh_views(tbl pg_catalog.regclass DEFAULT NULL) RETURNS void
AS 'MODULE_PATHNAME', 'crm_refresh_views'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
GRANT EXECUTE ON FUNCTION privacy.refresh_views(pg_catalog.regclass) TO PUBLIC;   -- privacy administrators only (checked in C)
COMMENT ON FUNCTION privacy.refresh_views(pg_catalog.regclass) IS
'rebuild the privacy views of one labelled table, or of every one; runs by itself after DDL';

-- Check a treatment (a rule) against a column: raises 22023 if it does not fit.
CREATE FUNCTION privacy.check_rule(tbl pg_catalog.regclass, col pg_catalog.name, rule pg_catalog.text)
RETURNS void
AS 'MODULE_PATHNAME', 'crm_check_rule'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;

-- The subject table label of tbl, parsed; raises 22023 if tbl is no subject.
CREATE FUNCTION privacy.subject_key(subject pg_catalog.regclass, key pg_catalog.text)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'crm_subject_key'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION privacy.subject_key(pg_catalog.regclass, pg_catalog.text) IS
'the canonical text of a subject key: cast to the key column''s type and back';

-- Lock a subject table for a record about it, and check that it still has
-- the name it had when the call named it (40001 otherwise).
CREATE FUNCTION privacy.lock_subject(tbl pg_catalog.regclass, name pg_catalog.text) RETURNS void
AS 'MODULE_PATHNAME', 'crm_lock_subject'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION privacy.lock_subject(pg_catalog.regclass, pg_catalog.text) FROM PUBLIC;

-- Record a choice.  Unknown purpose or subject table: 22023; a key that does
-- not cast to the key column's type: the cast's own error; nothing written.
CREATE FUNCTION privacy.record_choice(subject pg_catalog.regclass, key pg_catalog.text,
                                      purpose pg_catalog.text, opted_out pg_catalog.bool,
                                      source pg_catalog.text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    canonical text := privacy.subject_key(subject, key);
    old record;
    n pg_catalog.int8;
BEGIN
    IF NOT EXISTS (SELECT FROM privacy.purposes p WHERE p.name OPERATOR(pg_catalog.=) purpose) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown purpose "%s"', purpose),
            HINT = 'The purposes are listed in privacy.purposes; privacy.add_purpose() adds one.';
    END IF;
    -- A rename or drop of the table waits for this choice, and then keeps it
    -- with the table (one that came first makes this call fail: the table
    -- is gone, or the name now means another).
    PERFORM privacy.lock_subject(subject, privacy.choice_table_name(subject));
    LOOP
        SELECT c.* INTO old FROM privacy.subject_choices c
         WHERE c.subject OPERATOR(pg_catalog.=) record_choice.subject::pg_catalog.oid
           AND c.purpose OPERATOR(pg_catalog.=) record_choice.purpose
           AND c.key OPERATOR(pg_catalog.=) canonical
           FOR UPDATE;
        IF FOUND THEN
            UPDATE privacy.subject_choices c
               SET opted_out = record_choice.opted_out, changed_at = pg_catalog.now(),
                   source = record_choice.source, changed_by = SESSION_USER
             WHERE c.id OPERATOR(pg_catalog.=) old.id;
            EXIT;
        END IF;
        INSERT INTO privacy.subject_choices (subject, subject_name, key, purpose, opted_out, source,
                                             table_owner, key_column)
        SELECT record_choice.subject::pg_catalog.oid, privacy.choice_table_name(record_choice.subject),
               canonical, record_choice.purpose, record_choice.opted_out, record_choice.source,
               k.relowner, privacy.subject_key_column(record_choice.subject)
          FROM pg_catalog.pg_class k WHERE k.oid OPERATOR(pg_catalog.=) record_choice.subject::pg_catalog.oid
        ON CONFLICT DO NOTHING;
        GET DIAGNOSTICS n = ROW_COUNT;
        EXIT WHEN n OPERATOR(pg_catalog.>) 0;
        -- a concurrent call recorded it first: update that one
    END LOOP;
    INSERT INTO privacy.subject_choice_history (subject_name, key, purpose, event, old_opted_out,
                                                new_opted_out, source)
    VALUES (privacy.choice_table_name(subject), canonical, purpose,
            CASE WHEN source OPERATOR(pg_catalog.=) 'erase_subject' THEN 'erase_subject'
                 WHEN opted_out THEN 'opt_out' ELSE 'opt_in' END,
            old.opted_out, opted_out, source);
    -- audited (privacy.audit_action is defined with the audit, src/sql/requests.sql)
    PERFORM privacy.audit_action(subject, canonical,
        CASE WHEN opted_out THEN 'opt_out' ELSE 'opt_in' END,
        pg_catalog.jsonb_build_object('purpose', purpose, 'source', source));
END $$;
REVOKE ALL ON FUNCTION privacy.record_choice(pg_catalog.regclass, pg_catalog.text, pg_catalog.text,
                                             pg_catalog.bool, pg_catalog.text) FROM PUBLIC;

CREATE FUNCTION privacy.opt_out(subject pg_catalog.regclass, key pg_catalog.text,
                                purpose pg_catalog.text, source pg_catalog.text DEFAULT NULL)
RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT privacy.require_privacy_admin(); SELECT privacy.record_choice(subject, key, purpose, true, source) $$;
CREATE FUNCTION privacy.opt_in(subject pg_catalog.regclass, key pg_catalog.text,
                               purpose pg_catalog.text, source pg_catalog.text DEFAULT NULL)
RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT privacy.require_privacy_admin(); SELECT privacy.record_choice(subject, key, purpose, false, source) $$;
-- The administrative functions are executable by PUBLIC but refused to
-- anyone who is not a privacy administrator (or a superuser): checked in the
-- caller's context when the call is set up, and again by the first line.
GRANT EXECUTE ON FUNCTION privacy.opt_out(pg_catalog.regclass, pg_catalog.text, pg_catalog.text, pg_catalog.text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION privacy.opt_in(pg_catalog.regclass, pg_catalog.text, pg_catalog.text, pg_catalog.text) TO PUBLIC;
COMMENT ON FUNCTION privacy.opt_out(pg_catalog.regclass, pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
'record that the subject with this key opted out of a purpose';
COMMENT ON FUNCTION privacy.opt_in(pg_catalog.regclass, pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
'record that the subject with this key opted (back) in to a purpose';

CREATE FUNCTION privacy.add_purpose(name pg_catalog.text, description pg_catalog.text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM privacy.require_privacy_admin();   -- privacy administrators only
    IF name IS NULL OR pg_catalog.octet_length(name) OPERATOR(pg_catalog.<) 1
       OR pg_catalog.octet_length(name) OPERATOR(pg_catalog.>) 48 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('invalid purpose name "%s"', name),
            HINT = 'A purpose name has 1 to 48 bytes.';
    END IF;
    INSERT INTO privacy.purposes (name, description, effect) VALUES (name, description, 'rows');
END $$;
GRANT EXECUTE ON FUNCTION privacy.add_purpose(pg_catalog.text, pg_catalog.text) TO PUBLIC;
COMMENT ON FUNCTION privacy.add_purpose(pg_catalog.text, pg_catalog.text) IS
'add a purpose subjects can opt out of, and its opt-out views';

CREATE FUNCTION privacy.create_disclosure(profile pg_catalog.text,
                                          purpose pg_catalog.text DEFAULT 'third_party_disclosure',
                                          recipient pg_catalog.text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM privacy.require_privacy_admin();   -- privacy administrators only
    IF profile IS NULL OR pg_catalog.octet_length(profile) OPERATOR(pg_catalog.<) 1
       OR pg_catalog.octet_length(profile) OPERATOR(pg_catalog.>) 46 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('invalid disclosure profile name "%s"', profile),
            HINT = 'A profile name has 1 to 46 bytes.';
    END IF;
    IF NOT EXISTS (SELECT FROM privacy.purposes p
                    WHERE p.name OPERATOR(pg_catalog.=) purpose
                      AND p.effect OPERATOR(pg_catalog.=) 'rows') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown purpose "%s"', purpose),
            HINT = 'A disclosure profile needs a row purpose from privacy.purposes.';
    END IF;
    INSERT INTO privacy.disclosure_profiles (name, purpose, recipient) VALUES (profile, purpose, recipient);
END $$;

CREATE FUNCTION privacy.disclose(profile pg_catalog.text, tbl pg_catalog.regclass,
                                 col pg_catalog.name, treatment pg_catalog.text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM privacy.require_privacy_admin();   -- privacy administrators only
    IF NOT EXISTS (SELECT FROM privacy.disclosure_profiles d WHERE d.name OPERATOR(pg_catalog.=) profile) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown disclosure profile "%s"', profile),
            HINT = 'privacy.create_disclosure() makes one.';
    END IF;
    IF treatment IS NULL THEN
        DELETE FROM privacy.disclosure_column_data d
         WHERE d.profile OPERATOR(pg_catalog.=) disclose.profile
           AND d.tbl OPERATOR(pg_catalog.=) disclose.tbl::pg_catalog.oid AND d.col OPERATOR(pg_catalog.=) disclose.col;
    ELSE
        PERFORM privacy.check_rule(tbl, col, treatment);
        INSERT INTO privacy.disclosure_column_data AS d (profile, tbl, tbl_name, col, treatment, table_owner)
        SELECT disclose.profile, disclose.tbl::pg_catalog.oid, privacy.choice_table_name(disclose.tbl),
               disclose.col, disclose.treatment, k.relowner
          FROM pg_catalog.pg_class k WHERE k.oid OPERATOR(pg_catalog.=) disclose.tbl::pg_catalog.oid
        ON CONFLICT ON CONSTRAINT disclosure_column_data_pkey DO UPDATE SET treatment = EXCLUDED.treatment;
    END IF;
END $$;

CREATE FUNCTION privacy.drop_disclosure(profile pg_catalog.text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM privacy.require_privacy_admin();   -- privacy administrators only
    DELETE FROM privacy.disclosure_profiles d WHERE d.name OPERATOR(pg_catalog.=) profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown disclosure profile "%s"', profile);
    END IF;
    DELETE FROM privacy.access_grants g
     WHERE g.kind OPERATOR(pg_catalog.=) 'disclose' AND g.name OPERATOR(pg_catalog.=) profile;
END $$;
GRANT EXECUTE ON FUNCTION privacy.create_disclosure(pg_catalog.text, pg_catalog.text, pg_catalog.text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION privacy.disclose(pg_catalog.text, pg_catalog.regclass, pg_catalog.name, pg_catalog.text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION privacy.drop_disclosure(pg_catalog.text) TO PUBLIC;

-- Grant or revoke SELECT on every view of a kind (name: the purpose of
-- optout, the profile of disclose).  Grants are kept and re-applied when views
-- are rebuilt.
CREATE FUNCTION privacy.grant_access(role pg_catalog.regrole, kind pg_catalog.text,
                                     name pg_catalog.text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM privacy.require_privacy_admin();   -- privacy administrators only
    PERFORM privacy.check_access_kind(kind, name);
    -- one grant or revoke at a time (concurrent GRANTs on one view collide);
    -- readers of the views are not held back
    LOCK TABLE privacy.access_grants IN SHARE ROW EXCLUSIVE MODE;
    INSERT INTO privacy.access_grants (role, kind, name)
    VALUES (role, kind, COALESCE(name, ''))
    ON CONFLICT DO NOTHING;
END $$;
CREATE FUNCTION privacy.revoke_access(role pg_catalog.regrole, kind pg_catalog.text,
                                      name pg_catalog.text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM privacy.require_privacy_admin();   -- privacy administrators only
    PERFORM privacy.check_access_kind(kind, name);
    LOCK TABLE privacy.access_grants IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM privacy.access_grants g
     WHERE g.role OPERATOR(pg_catalog.=) revoke_access.role
       AND g.kind OPERATOR(pg_catalog.=) revoke_access.kind
       AND g.name OPERATOR(pg_catalog.=) COALESCE(revoke_access.name, '');
END $$;
CREATE FUNCTION privacy.check_access_kind(kind pg_catalog.text, name pg_catalog.text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF kind IS NULL OR NOT (kind OPERATOR(pg_catalog.=) ANY (ARRAY['standard', 'full', 'anon', 'optout', 'disclose'])) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown access kind "%s"', kind),
            HINT = 'The kinds are standard, full, anon, optout and disclose.';
    ELSIF kind OPERATOR(pg_catalog.=) 'optout' AND NOT EXISTS (
            SELECT FROM privacy.purposes p
             WHERE p.name OPERATOR(pg_catalog.=) check_access_kind.name
               AND p.effect OPERATOR(pg_catalog.=) 'rows') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown purpose "%s"', name),
            HINT = 'Kind optout needs the name of a row purpose from privacy.purposes.';
    ELSIF kind OPERATOR(pg_catalog.=) 'disclose' AND NOT EXISTS (
            SELECT FROM privacy.disclosure_profiles d
             WHERE d.name OPERATOR(pg_catalog.=) check_access_kind.name) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown disclosure profile "%s"', name);
    ELSIF kind OPERATOR(pg_catalog.=) ANY (ARRAY['standard', 'full', 'anon']) AND name IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('access kind "%s" takes no name', kind);
    END IF;
END $$;
GRANT EXECUTE ON FUNCTION privacy.grant_access(pg_catalog.regrole, pg_catalog.text, pg_catalog.text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION privacy.revoke_access(pg_catalog.regrole, pg_catalog.text, pg_catalog.text) TO PUBLIC;
COMMENT ON FUNCTION privacy.grant_access(pg_catalog.regrole, pg_catalog.text, pg_catalog.text) IS
'grant SELECT on every view of a kind: standard, full, anon, optout (name: purpose) or disclose (name: profile)';

-- Any change to purposes, profiles, treatments or grants rebuilds the views:
-- through the functions above, or when pg_restore loads these tables.
CREATE FUNCTION privacy.config_changed() RETURNS trigger
AS 'MODULE_PATHNAME', 'crm_config_changed'
LANGUAGE C SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION privacy.config_changed() FROM PUBLIC;
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy.purposes
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.config_changed();
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy.disclosure_profiles
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.config_changed();
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy.disclosure_column_data
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.config_changed();
-- A grant or revoke is GRANT or REVOKE SELECT on the existing views of its
-- kind: no view is rebuilt (a rebuild would have to drop what users built on
-- the views).  Views built later get the grants of privacy.access_grants.
CREATE FUNCTION privacy.record_baseline(view pg_catalog.regclass) RETURNS void
AS 'MODULE_PATHNAME', 'crm_record_baseline'
LANGUAGE C STRICT
SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION privacy.record_baseline(pg_catalog.regclass) FROM PUBLIC;

CREATE FUNCTION privacy.grants_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g record;
    v record;
    a record;
    own pg_catalog.aclitem[];
BEGIN
    IF TG_OP OPERATOR(pg_catalog.=) 'DELETE' THEN g := OLD; ELSE g := NEW; END IF;
    FOR v IN
        SELECT c.oid, n.nspname, c.relname
          FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
          JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                                     AND d.objid OPERATOR(pg_catalog.=) c.oid AND d.deptype OPERATOR(pg_catalog.=) 'e'
          JOIN pg_catalog.pg_extension e ON e.oid OPERATOR(pg_catalog.=) d.refobjid
                                         AND e.extname OPERATOR(pg_catalog.=) 'crm_privacy'
         WHERE c.relkind OPERATOR(pg_catalog.=) 'v'
           AND n.nspname OPERATOR(pg_catalog.=) CASE g.kind
                   WHEN 'optout' THEN 'privacy_optout_' OPERATOR(pg_catalog.||) g.name
                   WHEN 'disclose' THEN 'privacy_disclose_' OPERATOR(pg_catalog.||) g.name
                   ELSE 'privacy_' OPERATOR(pg_catalog.||) g.kind END
    LOOP
        IF TG_OP OPERATOR(pg_catalog.=) 'DELETE' THEN
            EXECUTE pg_catalog.format('REVOKE SELECT ON %I.%I FROM %I', v.nspname, v.relname,
                                      pg_catalog.pg_get_userbyid(g.role));
        ELSE
            EXECUTE pg_catalog.format('GRANT SELECT ON %I.%I TO %I', v.nspname, v.relname,
                                      pg_catalog.pg_get_userbyid(g.role));
        END IF;
        -- The view's initial privileges (what pg_dump leaves out) become
        -- the grants of privacy.access_grants: users' own grants are set
        -- aside while they are recorded, and given back.
        SELECT pg_catalog.array_agg(pg_catalog.makeaclitem(e.grantee, e.grantor, e.privilege_type, e.is_grantable))
          INTO own
          FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) e
         WHERE c.oid OPERATOR(pg_catalog.=) v.oid AND e.grantee OPERATOR(pg_catalog.<>) c.relowner
           AND NOT (e.privilege_type OPERATOR(pg_catalog.=) 'SELECT' AND NOT e.is_grantable
                    AND EXISTS (SELECT FROM privacy.access_grants x
                                 WHERE x.role::pg_catalog.oid OPERATOR(pg_catalog.=) e.grantee
                                   AND x.kind OPERATOR(pg_catalog.=) g.kind
                                   AND x.name OPERATOR(pg_catalog.=) g.name));
        FOR a IN SELECT * FROM pg_catalog.aclexplode(own) LOOP
            EXECUTE pg_catalog.format('REVOKE %s ON %I.%I FROM %s', a.privilege_type, v.nspname, v.relname,
                CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                     ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END);
        END LOOP;
        PERFORM privacy.record_baseline(v.oid);
        FOR a IN SELECT * FROM pg_catalog.aclexplode(own) LOOP
            EXECUTE pg_catalog.format('GRANT %s ON %I.%I TO %s%s', a.privilege_type, v.nspname, v.relname,
                CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                     ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END,
                CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
    END LOOP;
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION privacy.grants_changed() FROM PUBLIC;
CREATE TRIGGER grants_changed AFTER INSERT OR DELETE ON privacy.access_grants
    FOR EACH ROW EXECUTE FUNCTION privacy.grants_changed();
CREATE TRIGGER config_changed AFTER UPDATE OR TRUNCATE ON privacy.access_grants
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.config_changed();

-- privacy.k_anonymity(tbl): the smallest quasi-identifier class in the
-- anonymous view (after suppression), or NULL for an empty view.
CREATE FUNCTION privacy.k_anonymity(tbl pg_catalog.regclass) RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'crm_k_anonymity'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
GRANT EXECUTE ON FUNCTION privacy.k_anonymity(pg_catalog.regclass) TO PUBLIC;   -- privacy administrators only (checked in C)
-- Part 9: the audit trail (src/audit.c); doc/audit.md.

-- Every change of an audited table.
CREATE TABLE privacy.audit_log (
    id                pg_catalog.int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at                pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    txid              pg_catalog.int8 NOT NULL,
    session_user_name pg_catalog.name NOT NULL,
    current_user_name pg_catalog.name NOT NULL,
    application_name  pg_catalog.text,
    client_addr       pg_catalog.inet,
    table_name        pg_catalog.text COLLATE "C" NOT NULL,
    op                pg_catalog.text NOT NULL,
    subject_key       pg_catalog.text COLLATE "C",
    changed_columns   pg_catalog.text[],
    old_values        pg_catalog.jsonb,
    new_values        pg_catalog.jsonb
);
-- A subject's rows (subject_report) are found by their key through a BRIN
-- bloom index: one small filter per block range of 64 pages.  The log only
-- grows, so every audited change inserts into its last range, which is not
-- summarized yet: an insert costs a look at the range map, where a hash or
-- B-tree index would cost a random page of an index that soon outgrows
-- memory.  A lookup reads the filters and the ranges that may hold the key
-- (1% false positives), and the ranges not summarized yet: seal_audit() and
-- VACUUM summarize them.  Keys compare byte-wise ("C").
CREATE INDEX audit_log_subject ON privacy.audit_log
    USING brin (subject_key pg_catalog.text_bloom_ops (n_distinct_per_range = 2000, false_positive_rate = 0.01))
    WITH (pages_per_range = 64, autosummarize = off);
COMMENT ON TABLE privacy.audit_log IS
'crm_privacy change audit: one row per changed row of an audited table; append-only';

-- Every privileged read (written by the read audit).
CREATE TABLE privacy.access_log (
    id                pg_catalog.int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at                pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    session_user_name pg_catalog.name,
    current_user_name pg_catalog.name,
    application_name  pg_catalog.text,
    client_addr       pg_catalog.inet,
    relations         pg_catalog.text[],
    query             pg_catalog.text,
    row_count         pg_catalog.int8
);
COMMENT ON TABLE privacy.access_log IS
'crm_privacy read audit: one row per privileged read; append-only';

-- The audit rows of a subject (subject_report): through the BRIN index
-- above.  The planner costs a BRIN scan of keys that are not in insertion
-- order as a read of the whole table, so it is told not to scan it whole;
-- JIT would only add its start-up cost to a small result.
CREATE FUNCTION privacy.subject_audit_rows(tables pg_catalog.text[], keys pg_catalog.text[])
RETURNS pg_catalog.jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET jit = off
AS $$
    SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(a) ORDER BY a.id), '[]')
      FROM privacy.audit_log a
     WHERE a.table_name OPERATOR(pg_catalog.=) ANY (tables)
       AND a.subject_key OPERATOR(pg_catalog.=) ANY (keys)
$$;
REVOKE ALL ON FUNCTION privacy.subject_audit_rows(pg_catalog.text[], pg_catalog.text[]) FROM PUBLIC;
COMMENT ON FUNCTION privacy.subject_audit_rows(pg_catalog.text[], pg_catalog.text[]) IS
'the change audit rows of one subject, for subject_report';

-- The SHA-256 chain over both logs: one link per sealed row, in id order.
CREATE TABLE privacy.audit_seal (
    log       pg_catalog.text NOT NULL
              CHECK (log OPERATOR(pg_catalog.=) ANY (ARRAY['audit_log', 'access_log'])),
    id        pg_catalog.int8 NOT NULL,
    hash      pg_catalog.bytea NOT NULL,
    sealed_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (log, id)
);
COMMENT ON TABLE privacy.audit_seal IS
'crm_privacy seal: the SHA-256 chain linking every sealed row of the logs; append-only';

REVOKE ALL ON privacy.audit_log, privacy.access_log, privacy.audit_seal FROM PUBLIC;
-- Privacy administrators read the logs; anyone else gets 42501.  (The
-- extension's owner, who writes them, is not subject to the policies.)
GRANT SELECT ON privacy.audit_log, privacy.access_log TO PUBLIC;
ALTER TABLE privacy.audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE privacy.access_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY privacy_admins_read ON privacy.audit_log FOR SELECT USING (privacy.require_privacy_admin());
CREATE POLICY privacy_admins_read ON privacy.access_log FOR SELECT USING (privacy.require_privacy_admin());

-- The read audit (src/hooks.c).  The full views call read_audit_ready() once
-- per query: it refuses the read when it cannot be recorded.  It and
-- view_rows() run no SQL and look up no names, so they have no search_path
-- of their own (which would cost a configuration change at each call).
CREATE FUNCTION privacy.read_audit_ready() RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'crm_read_audit_ready'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.read_audit_ready() IS
'true when reads of the privacy_full views are recorded; otherwise an error saying how to fix the setup';

-- Every generated view's WHERE ends in view_rows('schema.view'): a one-time
-- filter at the top of the view's plan, where the read audit counts the rows
-- the view produces (row_count).  It only returns true.
CREATE FUNCTION privacy.view_rows(view pg_catalog.text) RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'crm_view_rows'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.view_rows(pg_catalog.text) IS
'true; marks the top of a generated view''s plan, where the read audit counts the rows the view produces';

-- A privileged read done by a function: the relations it read.
CREATE FUNCTION privacy.record_access(relations pg_catalog.text[]) RETURNS void
AS 'MODULE_PATHNAME', 'crm_record_access'
LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION privacy.record_access(pg_catalog.text[]) FROM PUBLIC;
COMMENT ON FUNCTION privacy.record_access(pg_catalog.text[]) IS
'record a privileged read done by subject_report or erase_subject in privacy.access_log';

-- The logs survive pg_dump, with their identity sequences.
SELECT pg_catalog.pg_extension_config_dump('privacy.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.access_log', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.audit_seal', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('privacy.audit_log', 'id'), '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('privacy.access_log', 'id'), '');

-- Append-only, for everyone, the owner included.
CREATE FUNCTION privacy.append_only() RETURNS trigger
AS 'MODULE_PATHNAME', 'crm_append_only'
LANGUAGE C SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION privacy.append_only() FROM PUBLIC;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON privacy.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.append_only();
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON privacy.access_log
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.append_only();
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON privacy.audit_seal
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.append_only();

-- The logs outlive the extension.  DROP EXTENSION crm_privacy (with or
-- without CASCADE) first runs privacy.archive_logs() (from the event trigger
-- on ddl_command_start, src/ddl.c): the three log tables leave the extension
-- and move, with every row and their identity sequences, to the schema
-- crm_privacy_archive, readable by superusers only (their owner is the
-- bootstrap superuser: no grant, no policy is left).  DROP SCHEMA privacy
-- CASCADE and DROP OWNED BY the extension's owner, which drop the extension
-- too, do the same.  A later
-- CREATE EXTENSION adopts them below: the rows come back with the same ids
-- and values, so the seal still verifies.
CREATE FUNCTION privacy.archive_logs() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t text;
    seq text;
    g record;
    boot text;
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.nspowner
                WHERE n.nspname OPERATOR(pg_catalog.=) 'crm_privacy_archive' AND NOT r.rolsuper)
       OR pg_catalog.to_regclass('crm_privacy_archive.audit_log') IS NOT NULL
       OR pg_catalog.to_regclass('crm_privacy_archive.access_log') IS NOT NULL
       OR pg_catalog.to_regclass('crm_privacy_archive.audit_seal') IS NOT NULL
       OR pg_catalog.to_regclass('crm_privacy_archive.choices') IS NOT NULL
       OR pg_catalog.to_regclass('crm_privacy_archive.erasures') IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'object_in_use',
            MESSAGE = 'cannot archive the crm_privacy logs: schema crm_privacy_archive already holds logs or is not a superuser''s',
            DETAIL = 'DROP EXTENSION crm_privacy moves the logs there, so that they outlive the extension.',
            HINT = 'Rename that schema, or create the extension again to adopt the logs, then drop it.';
    END IF;
    -- owned by the bootstrap superuser, which DROP OWNED cannot drop
    boot := pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(10));
    CREATE SCHEMA IF NOT EXISTS crm_privacy_archive;
    EXECUTE pg_catalog.format('ALTER SCHEMA crm_privacy_archive OWNER TO %s', boot);
    REVOKE ALL ON SCHEMA crm_privacy_archive FROM PUBLIC;
    COMMENT ON SCHEMA crm_privacy_archive IS
    'crm_privacy logs kept after DROP EXTENSION; CREATE EXTENSION crm_privacy adopts them';
    FOREACH t IN ARRAY ARRAY['audit_log', 'access_log', 'audit_seal'] LOOP
        EXECUTE pg_catalog.format('ALTER EXTENSION crm_privacy DROP TABLE privacy.%I', t);
        seq := pg_catalog.pg_get_serial_sequence(pg_catalog.format('privacy.%I', t), 'id');
        IF seq IS NOT NULL AND t OPERATOR(pg_catalog.<>) 'audit_seal' THEN
            EXECUTE pg_catalog.format('ALTER EXTENSION crm_privacy DROP SEQUENCE %s', seq);
        END IF;
        -- what depends on the extension's functions goes: policies, triggers
        IF t OPERATOR(pg_catalog.<>) 'audit_seal' THEN
            EXECUTE pg_catalog.format('DROP POLICY privacy_admins_read ON privacy.%I', t);
        END IF;
        EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS append_only ON privacy.%I', t);
        -- and every grant: only superusers read the archive
        FOR g IN SELECT DISTINCT a.grantee FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
                  WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.format('privacy.%I', t)::pg_catalog.regclass
                    AND a.grantee OPERATOR(pg_catalog.<>) c.relowner LOOP
            EXECUTE pg_catalog.format('REVOKE ALL ON privacy.%I FROM %s', t,
                CASE WHEN g.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                     ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END);
        END LOOP;
        EXECUTE pg_catalog.format('ALTER TABLE privacy.%I OWNER TO %s', t, boot);
        EXECUTE pg_catalog.format('ALTER TABLE privacy.%I SET SCHEMA crm_privacy_archive', t);
    END LOOP;
    -- The subjects' choices, their history and the purposes they name are
    -- kept too, as copies (the tables reference the extension's); the
    -- tables by name, so that they do not depend on OIDs.
    CREATE TABLE crm_privacy_archive.purposes AS
        SELECT p.name, p.description, p.effect FROM privacy.purposes p WHERE NOT p.builtin;
    -- (by the name of their table, which applied says they applied to)
    CREATE TABLE crm_privacy_archive.choices AS
        SELECT c.subject_name, c.key, c.purpose, c.opted_out, c.changed_at, c.source, c.changed_by,
               c.previous_names, c.table_owner, c.key_column, c.subject IS NOT NULL AS applied
          FROM privacy.subject_choices c;
    CREATE TABLE crm_privacy_archive.choice_history AS
        SELECT h.* FROM privacy.subject_choice_history h;
    -- and the subjects' change requests and erasures
    CREATE TABLE crm_privacy_archive.change_requests AS
        SELECT r.id, r.subject_name, r.key, r.col, r.new_value, r.requested_by, r.requested_at, r.status,
               r.decided_by, r.decided_at, r.note, r.table_owner, r.subject IS NOT NULL AS applied
          FROM privacy.change_request_data r;
    CREATE TABLE crm_privacy_archive.erasures AS
        SELECT e.subject_name, e.key, e.erased_at, e.erased_by, e.rows_changed, e.runs, e.not_erased,
               e.fingerprints, e.table_owner, e.subject IS NOT NULL AS applied
          FROM privacy.erasure_data e;
    FOREACH t IN ARRAY ARRAY['purposes', 'choices', 'choice_history', 'change_requests', 'erasures'] LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON crm_privacy_archive.%I FROM PUBLIC', t);
        EXECUTE pg_catalog.format('ALTER TABLE crm_privacy_archive.%I OWNER TO %s', t, boot);
    END LOOP;
END $$;
REVOKE ALL ON FUNCTION privacy.archive_logs() FROM PUBLIC;
COMMENT ON FUNCTION privacy.archive_logs() IS
'called by DROP EXTENSION crm_privacy: move the logs out of the extension, and copy the choices, to schema crm_privacy_archive';

-- The archive, if it is wholly a superuser's (schema and tables); 42501 if
-- not: anyone could have written it, and nothing of it is adopted.
CREATE FUNCTION privacy.trusted_archive() RETURNS pg_catalog.oid
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    arch pg_catalog.oid := (SELECT n.oid FROM pg_catalog.pg_namespace n
                             WHERE n.nspname OPERATOR(pg_catalog.=) 'crm_privacy_archive');
BEGIN
    -- owned by superusers, and no privilege on schema or tables granted to
    -- anyone else (a table others could write is as good as theirs)
    IF arch IS NOT NULL AND
       (EXISTS (SELECT FROM pg_catalog.pg_class c JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) c.relowner
                 WHERE c.relnamespace OPERATOR(pg_catalog.=) arch AND NOT r.rolsuper)
        OR NOT (SELECT r.rolsuper FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r
                    ON r.oid OPERATOR(pg_catalog.=) n.nspowner WHERE n.oid OPERATOR(pg_catalog.=) arch)
        OR EXISTS (SELECT FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) g
                    WHERE c.relnamespace OPERATOR(pg_catalog.=) arch
                      AND NOT COALESCE((SELECT r.rolsuper FROM pg_catalog.pg_roles r
                                         WHERE r.oid OPERATOR(pg_catalog.=) g.grantee), false))
        OR EXISTS (SELECT FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) g
                    WHERE n.oid OPERATOR(pg_catalog.=) arch
                      AND NOT COALESCE((SELECT r.rolsuper FROM pg_catalog.pg_roles r
                                         WHERE r.oid OPERATOR(pg_catalog.=) g.grantee), false))) THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = 'schema crm_privacy_archive is not only a superuser''s: nothing in it is adopted',
            DETAIL = 'Schema and tables must belong to superusers, with no privilege granted to anyone else: others could have written it.',
            HINT = 'Inspect it, then drop or rename it before CREATE EXTENSION crm_privacy.';
    END IF;
    RETURN arch;
END $$;
REVOKE ALL ON FUNCTION privacy.trusted_archive() FROM PUBLIC;

-- Does an archived record that applied to a table apply to the table that
-- has its name now: one of the same owner?
CREATE FUNCTION privacy.archived_applies(applied pg_catalog.bool, name pg_catalog.text, owner pg_catalog.oid)
RETURNS pg_catalog.bool
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT applied AND EXISTS (SELECT FROM pg_catalog.pg_class k
                            WHERE k.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(name)
                              AND k.relowner OPERATOR(pg_catalog.=) owner)
$$;
REVOKE ALL ON FUNCTION privacy.archived_applies(pg_catalog.bool, pg_catalog.text, pg_catalog.oid) FROM PUBLIC;

-- Adopt the logs a dropped crm_privacy left behind (a superuser's only: a
-- look-alike archive made by anyone else is refused, not adopted).
DO $$
DECLARE
    arch pg_catalog.oid := (SELECT n.oid FROM pg_catalog.pg_namespace n
                             WHERE n.nspname OPERATOR(pg_catalog.=) 'crm_privacy_archive');
    t text;
    cols text;
BEGIN
    IF arch IS NULL OR pg_catalog.to_regclass('crm_privacy_archive.audit_log') IS NULL THEN
        RETURN;
    END IF;
    -- A restore brings its own logs, with the same ids: the archive stays,
    -- renamed, not adopted.  pg_dump's scripts and pg_restore turn
    -- row_security off (CREATE EXTENSION turns check_function_bodies off
    -- for every script, so that cannot tell).
    IF NOT pg_catalog.current_setting('row_security')::pg_catalog.bool THEN
        t := 'crm_privacy_archive_' OPERATOR(pg_catalog.||)
             pg_catalog.to_char(pg_catalog.clock_timestamp() AT TIME ZONE 'UTC', 'YYYYMMDD_HH24MISS_US');
        EXECUTE pg_catalog.format('ALTER SCHEMA crm_privacy_archive RENAME TO %I', t);
        RAISE WARNING USING
            MESSAGE = pg_catalog.format('the logs of a dropped crm_privacy are kept in schema %I, not adopted', t),
            DETAIL = 'CREATE EXTENSION runs with row_security off, as in a restore, which brings its own logs.';
        RETURN;
    END IF;
    PERFORM privacy.trusted_archive();
    -- every column the two versions share, by name, ids included
    FOREACH t IN ARRAY ARRAY['audit_log', 'access_log', 'audit_seal'] LOOP
        SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
          FROM pg_catalog.pg_attribute a
         WHERE a.attrelid OPERATOR(pg_catalog.=) pg_catalog.format('privacy.%I', t)::pg_catalog.regclass
           AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
           AND EXISTS (SELECT FROM pg_catalog.pg_attribute o
                        WHERE o.attrelid OPERATOR(pg_catalog.=) pg_catalog.format('crm_privacy_archive.%I', t)::pg_catalog.regclass
                          AND o.attname OPERATOR(pg_catalog.=) a.attname AND NOT o.attisdropped);
        EXECUTE pg_catalog.format('INSERT INTO privacy.%I (%s) OVERRIDING SYSTEM VALUE'
                                  ' SELECT %s FROM crm_privacy_archive.%I ORDER BY id', t, cols, cols, t);
    END LOOP;
    PERFORM pg_catalog.setval(pg_catalog.pg_get_serial_sequence('privacy.audit_log', 'id'),
                              pg_catalog.max(id)) FROM privacy.audit_log HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 0;
    PERFORM pg_catalog.setval(pg_catalog.pg_get_serial_sequence('privacy.access_log', 'id'),
                              pg_catalog.max(id)) FROM privacy.access_log HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 0;
    DROP TABLE crm_privacy_archive.audit_log, crm_privacy_archive.access_log, crm_privacy_archive.audit_seal;
    -- the choices and their history (archived since version 0.1 of this
    -- file: older archives have none); a choice applies to the table it was
    -- kept under, or to the one it applied to then, and waits if neither
    -- exists (the refresh at the end of this script settles it)
    IF pg_catalog.to_regclass('crm_privacy_archive.choices') IS NOT NULL THEN
        INSERT INTO privacy.purposes (name, description, effect)
        SELECT a.name, a.description, a.effect FROM crm_privacy_archive.purposes a
        ON CONFLICT DO NOTHING;
        -- a choice that applied to a table applies to the one of that name,
        -- if its owner is the same (privacy.choice_subject() finds it)
        INSERT INTO privacy.subject_choices (subject, subject_name, key, purpose, opted_out, changed_at,
                                             source, changed_by, previous_names, table_owner, key_column)
        SELECT CASE WHEN privacy.archived_applies(a.applied, a.subject_name, a.table_owner) THEN 0 END,
               a.subject_name, a.key, a.purpose, a.opted_out, a.changed_at, a.source, a.changed_by,
               a.previous_names, a.table_owner, a.key_column
          FROM crm_privacy_archive.choices a
        ON CONFLICT DO NOTHING;
        INSERT INTO privacy.subject_choice_history (changed_at, changed_by, subject_name, key, purpose,
                                                    event, old_opted_out, new_opted_out, source)
        SELECT a.changed_at, a.changed_by, a.subject_name, a.key, a.purpose, a.event,
               a.old_opted_out, a.new_opted_out, a.source
          FROM crm_privacy_archive.choice_history a ORDER BY a.id;
        INSERT INTO privacy.subject_choice_history (subject_name, key, purpose, event, old_opted_out,
                                                    new_opted_out, source)
        SELECT a.subject_name, a.key, a.purpose, 'kept', a.opted_out, a.opted_out,
               'CREATE EXTENSION adopted the choices kept by DROP EXTENSION'
          FROM crm_privacy_archive.choices a ORDER BY a.subject_name, a.purpose, a.key;
        DROP TABLE crm_privacy_archive.purposes, crm_privacy_archive.choices,
                   crm_privacy_archive.choice_history;
    END IF;
    -- (their change requests and erasures: src/sql/requests.sql)
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass
                      AND d.refobjid OPERATOR(pg_catalog.=) arch) THEN
        DROP SCHEMA crm_privacy_archive;
    END IF;
END $$;

-- The change audit trigger.  It runs with the caller's search_path: it looks
-- nothing up by name but its own schema-qualified insert.
-- EXECUTE is granted to PUBLIC because PostgreSQL checks it when it clones the
-- row trigger of an audited partitioned table to a new partition (CREATE
-- TABLE ... PARTITION OF, ATTACH PARTITION by the table's owner); only a
-- trigger can call it, and an event trigger refuses CREATE TRIGGER with it to
-- anyone but superusers (src/ddl.c): privacy.enable_audit() makes them.
CREATE FUNCTION privacy.audit_trigger() RETURNS trigger
AS 'MODULE_PATHNAME', 'crm_audit_trigger'
LANGUAGE C;
GRANT EXECUTE ON FUNCTION privacy.audit_trigger() TO PUBLIC;

-- What a table's trigger of an audit trigger's name is: 'absent',
-- 'look-alike' (not exactly the trigger enable_audit() makes), or, for the
-- audit trigger, when it fires: 'always', 'origin', 'replica', 'disabled'.
CREATE FUNCTION privacy.audit_trigger_state(tbl pg_catalog.regclass, name pg_catalog.text)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'crm_audit_trigger_state'
LANGUAGE C STABLE STRICT SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION privacy.audit_trigger_state(pg_catalog.regclass, pg_catalog.text) FROM PUBLIC;
COMMENT ON FUNCTION privacy.audit_trigger_state(pg_catalog.regclass, pg_catalog.text) IS
'absent, look-alike, or when the crm_privacy audit trigger of that name fires (always, origin, replica, disabled)';

-- Is tbl audited as privacy.enable_audit() makes it: both audit triggers,
-- firing always, on it and on each of its partitions?
CREATE FUNCTION privacy.is_fully_audited(tbl pg_catalog.regclass) RETURNS pg_catalog.bool
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.bool_and(privacy.audit_trigger_state(p.relid, 'crm_privacy_audit') OPERATOR(pg_catalog.=) 'always'
                               AND privacy.audit_trigger_state(p.relid, 'crm_privacy_audit_truncate') OPERATOR(pg_catalog.=) 'always')
      FROM (SELECT tbl AS relid UNION SELECT t.relid FROM pg_catalog.pg_partition_tree(tbl) t) p
$$;
REVOKE ALL ON FUNCTION privacy.is_fully_audited(pg_catalog.regclass) FROM PUBLIC;
COMMENT ON FUNCTION privacy.is_fully_audited(pg_catalog.regclass) IS
'true when both crm_privacy audit triggers fire always on the table and on each of its partitions';

-- The start and the end of a table's audit, recorded in the log.
CREATE FUNCTION privacy.record_audit_change(tbl pg_catalog.regclass, enabled pg_catalog.bool)
RETURNS void
AS 'MODULE_PATHNAME', 'crm_record_audit_change'
LANGUAGE C STRICT SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION privacy.record_audit_change(pg_catalog.regclass, pg_catalog.bool) FROM PUBLIC;
COMMENT ON FUNCTION privacy.record_audit_change(pg_catalog.regclass, pg_catalog.bool) IS
'record in privacy.audit_log that the audit of a table started (ENABLE AUDIT) or stopped (DISABLE AUDIT)';

CREATE FUNCTION privacy.enable_audit(tbl pg_catalog.regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- quoted, and schema-qualified but in pg_temp (search_path is pinned)
    target text := tbl::pg_catalog.text;
    trig text;
    part pg_catalog.regclass;
BEGIN
    PERFORM privacy.require_privacy_admin();   -- privacy administrators only
    IF tbl IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'tbl must not be NULL';
    END IF;
    IF (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) tbl)
       OPERATOR(pg_catalog.<>) ALL (ARRAY['r', 'p']::"char"[]) THEN
        RAISE EXCEPTION USING ERRCODE = 'wrong_object_type',
            MESSAGE = pg_catalog.format('%s is not a table', tbl);
    END IF;
    IF tbl OPERATOR(pg_catalog.=) ANY (ARRAY['privacy.audit_log', 'privacy.access_log',
                                              'privacy.audit_seal']::pg_catalog.regclass[]) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'the crm_privacy logs cannot be audited themselves';
    END IF;
    -- A trigger of that name that is not the audit trigger (the owner's, or a
    -- look-alike with a WHEN clause) is refused, never trusted: nothing of it runs.
    FOREACH trig IN ARRAY ARRAY['crm_privacy_audit', 'crm_privacy_audit_truncate'] LOOP
        IF privacy.audit_trigger_state(tbl, trig) OPERATOR(pg_catalog.=) 'look-alike' THEN
            RAISE EXCEPTION USING ERRCODE = 'duplicate_object',
                MESSAGE = pg_catalog.format('table %s has a trigger named %s that is not the crm_privacy audit trigger',
                                            tbl, trig),
                DETAIL = 'The audit trigger runs privacy.audit_trigger() on every row (or TRUNCATE), with no WHEN clause and no column list.',
                HINT = 'Drop or rename that trigger, then call privacy.enable_audit() again.';
        END IF;
    END LOOP;
    IF NOT privacy.is_fully_audited(tbl) THEN
        PERFORM privacy.record_audit_change(tbl, true);
    END IF;
    IF privacy.audit_trigger_state(tbl, 'crm_privacy_audit') OPERATOR(pg_catalog.=) 'absent' THEN
        EXECUTE pg_catalog.format('CREATE TRIGGER crm_privacy_audit AFTER INSERT OR UPDATE OR DELETE ON %s'
                                  ' FOR EACH ROW EXECUTE FUNCTION privacy.audit_trigger()', target);
    END IF;
    IF privacy.audit_trigger_state(tbl, 'crm_privacy_audit_truncate') OPERATOR(pg_catalog.=) 'absent' THEN
        EXECUTE pg_catalog.format('CREATE TRIGGER crm_privacy_audit_truncate AFTER TRUNCATE ON %s'
                                  ' FOR EACH STATEMENT EXECUTE FUNCTION privacy.audit_trigger()', target);
    END IF;
    -- They fire always, also with session_replication_role = replica (which a
    -- superuser can let a role set): the row trigger's clones on partitions
    -- follow it; a partition's TRUNCATE trigger is made so (src/audit.c).
    FOREACH trig IN ARRAY ARRAY['crm_privacy_audit', 'crm_privacy_audit_truncate'] LOOP
        IF privacy.audit_trigger_state(tbl, trig) OPERATOR(pg_catalog.<>) 'always' THEN
            EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', target, trig);
        END IF;
    END LOOP;
    FOR part IN SELECT p.relid FROM pg_catalog.pg_partition_tree(tbl) p
                 WHERE p.relid OPERATOR(pg_catalog.<>) tbl
                   AND privacy.audit_trigger_state(p.relid, 'crm_privacy_audit_truncate')
                       OPERATOR(pg_catalog.<>) 'always' LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER crm_privacy_audit_truncate', part);
    END LOOP;
END $$;

CREATE FUNCTION privacy.disable_audit(tbl pg_catalog.regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- quoted, and schema-qualified but in pg_temp (search_path is pinned)
    target text := tbl::pg_catalog.text;
    part pg_catalog.regclass;
BEGIN
    PERFORM privacy.require_privacy_admin();   -- privacy administrators only
    IF tbl IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'tbl must not be NULL';
    END IF;
    IF privacy.audit_trigger_state(tbl, 'crm_privacy_audit') OPERATOR(pg_catalog.<>) ALL (ARRAY['absent', 'look-alike'])
       OR privacy.audit_trigger_state(tbl, 'crm_privacy_audit_truncate') OPERATOR(pg_catalog.<>) ALL (ARRAY['absent', 'look-alike']) THEN
        PERFORM privacy.record_audit_change(tbl, false);
    END IF;
    EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS crm_privacy_audit ON %s', target);
    EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS crm_privacy_audit_truncate ON %s', target);
    -- the TRUNCATE triggers of its partitions (the row triggers went with the root's)
    FOR part IN SELECT p.relid FROM pg_catalog.pg_partition_tree(tbl) p
                 WHERE p.relid OPERATOR(pg_catalog.<>) tbl LOOP
        EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS crm_privacy_audit_truncate ON %s', part);
    END LOOP;
END $$;
-- The administrative functions are executable by PUBLIC but refused to
-- anyone who is not a privacy administrator (or a superuser): checked in the
-- caller's context when the call is set up, and again by the first line.
GRANT EXECUTE ON FUNCTION privacy.enable_audit(pg_catalog.regclass) TO PUBLIC;
GRANT EXECUTE ON FUNCTION privacy.disable_audit(pg_catalog.regclass) TO PUBLIC;
COMMENT ON FUNCTION privacy.enable_audit(pg_catalog.regclass) IS
'record every INSERT, UPDATE, DELETE and TRUNCATE of a table in privacy.audit_log';
COMMENT ON FUNCTION privacy.disable_audit(pg_catalog.regclass) IS
'stop auditing a table';

-- Link every unsealed row of both logs into the SHA-256 chain, in id order.
-- The SHARE lock waits for every writer in flight and holds new ones back
-- until the seal commits, so the chain neither forks nor skips a row.
CREATE FUNCTION privacy.seal_audit() RETURNS pg_catalog.int8
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
SET DateStyle = 'ISO, YMD'
SET IntervalStyle = 'postgres'
SET extra_float_digits = 1
AS $$
DECLARE
    lg text;
    prev bytea;
    last pg_catalog.int8;
    r record;
    n pg_catalog.int8 := 0;
BEGIN
    PERFORM privacy.require_privacy_admin();   -- privacy administrators only
    LOCK TABLE privacy.audit_log, privacy.access_log, privacy.audit_seal IN SHARE ROW EXCLUSIVE MODE;
    FOREACH lg IN ARRAY ARRAY['audit_log', 'access_log'] LOOP
        SELECT s.hash, s.id INTO prev, last FROM privacy.audit_seal s
         WHERE s.log OPERATOR(pg_catalog.=) lg ORDER BY s.id DESC LIMIT 1;
        FOR r IN EXECUTE pg_catalog.format(
                'SELECT l.id, pg_catalog.row_to_json(l)::pg_catalog.text AS body FROM privacy.%I l'
                ' WHERE l.id OPERATOR(pg_catalog.>) $1 ORDER BY l.id', lg)
                USING COALESCE(last, 0) LOOP
            prev := pg_catalog.sha256(COALESCE(prev, '\x'::bytea) OPERATOR(pg_catalog.||)
                                      pg_catalog.convert_to(r.body, 'UTF8'));
            INSERT INTO privacy.audit_seal (log, id, hash) VALUES (lg, r.id, prev);
            n := n OPERATOR(pg_catalog.+) 1;
        END LOOP;
    END LOOP;
    -- and summarize the block ranges the logs' BRIN indexes do not cover yet
    -- (subject_report reads those ranges whole)
    PERFORM pg_catalog.brin_summarize_new_values(i.indexrelid)
       FROM pg_catalog.pg_index i
       JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid
       JOIN pg_catalog.pg_am a ON a.oid OPERATOR(pg_catalog.=) c.relam
      WHERE i.indrelid OPERATOR(pg_catalog.=) ANY (ARRAY['privacy.audit_log'::pg_catalog.regclass,
                                                        'privacy.access_log'::pg_catalog.regclass])
        AND a.amname OPERATOR(pg_catalog.=) 'brin' AND i.indisvalid;
    RETURN n;
END $$;

-- Walk the chain again.  A changed, removed or inserted sealed row breaks it
-- at that row: first_bad_id.
CREATE FUNCTION privacy.verify_audit()
RETURNS TABLE (log pg_catalog.text, rows_checked pg_catalog.int8, first_bad_id pg_catalog.int8,
               ok pg_catalog.bool)
LANGUAGE plpgsql SECURITY DEFINER STABLE
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
SET DateStyle = 'ISO, YMD'
SET IntervalStyle = 'postgres'
SET extra_float_digits = 1
AS $$
DECLARE
    lg text;
    prev bytea;
    r record;
BEGIN
    PERFORM privacy.require_privacy_admin();   -- privacy administrators only
    FOREACH lg IN ARRAY ARRAY['audit_log', 'access_log'] LOOP
        log := lg;
        rows_checked := 0;
        first_bad_id := NULL;
        prev := NULL;
        FOR r IN EXECUTE pg_catalog.format(
                'SELECT s.id AS sealed_id, l.id AS row_id, s.hash,'
                '       pg_catalog.row_to_json(l)::pg_catalog.text AS body'
                '  FROM (SELECT * FROM privacy.audit_seal WHERE log OPERATOR(pg_catalog.=) $1) s'
                '  FULL JOIN privacy.%I l ON l.id OPERATOR(pg_catalog.=) s.id'
                ' WHERE COALESCE(s.id, l.id) OPERATOR(pg_catalog.<=)'
                '       (SELECT pg_catalog.max(id) FROM privacy.audit_seal WHERE log OPERATOR(pg_catalog.=) $1)'
                ' ORDER BY COALESCE(s.id, l.id)', lg) USING lg LOOP
            rows_checked := rows_checked OPERATOR(pg_catalog.+) 1;
            IF r.sealed_id IS NULL THEN
                first_bad_id := r.row_id;       -- a row inserted among sealed rows
                EXIT;
            ELSIF r.row_id IS NULL THEN
                first_bad_id := r.sealed_id;    -- a sealed row removed
                EXIT;
            END IF;
            prev := pg_catalog.sha256(COALESCE(prev, '\x'::bytea) OPERATOR(pg_catalog.||)
                                      pg_catalog.convert_to(r.body, 'UTF8'));
            IF prev OPERATOR(pg_catalog.<>) r.hash THEN
                first_bad_id := r.sealed_id;    -- a sealed row changed
                EXIT;
            END IF;
        END LOOP;
        ok := first_bad_id IS NULL;
        RETURN NEXT;
    END LOOP;
END $$;

-- The latest link of each chain, to keep outside the database.
CREATE FUNCTION privacy.audit_head()
RETURNS TABLE (log pg_catalog.text, id pg_catalog.int8, hash pg_catalog.text)
LANGUAGE sql SECURITY DEFINER STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT privacy.require_privacy_admin();   -- privacy administrators only
    SELECT l.log, s.id, pg_catalog.encode(s.hash, 'hex')
      FROM (VALUES ('audit_log'), ('access_log')) AS l(log)
      LEFT JOIN LATERAL (SELECT a.id, a.hash FROM privacy.audit_seal a
                          WHERE a.log OPERATOR(pg_catalog.=) l.log
                          ORDER BY a.id DESC LIMIT 1) s ON true
$$;
GRANT EXECUTE ON FUNCTION privacy.seal_audit() TO PUBLIC;
GRANT EXECUTE ON FUNCTION privacy.verify_audit() TO PUBLIC;
GRANT EXECUTE ON FUNCTION privacy.audit_head() TO PUBLIC;
COMMENT ON FUNCTION privacy.seal_audit() IS
'link every unsealed row of privacy.audit_log and privacy.access_log into a SHA-256 chain; returns how many';
COMMENT ON FUNCTION privacy.verify_audit() IS
'check the SHA-256 chain of each log: rows checked, the first changed, removed or inserted sealed row';
COMMENT ON FUNCTION privacy.audit_head() IS
'the latest link of each chain, to keep outside the database';
-- Part 10: data subjects' requests (src/requests.c); doc/audit.md, "Subject requests".

-- Record a privacy action about a subject in privacy.audit_log.
CREATE FUNCTION privacy.audit_action(subject pg_catalog.regclass, key pg_catalog.text,
                                     action pg_catalog.text, details pg_catalog.jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'crm_audit_action'
LANGUAGE C VOLATILE STRICT
SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION privacy.audit_action(pg_catalog.regclass, pg_catalog.text, pg_catalog.text,
                                            pg_catalog.jsonb) FROM PUBLIC;

-- Change requests: asked for, reviewed, applied exactly once.  Like a
-- choice (privacy.subject_choices), a request belongs to its subject table
-- by name: subject (an oid) the table it applies to now, NULL while it waits
-- for one, subject_name that table's name, table_owner its owner.
CREATE TABLE privacy.change_request_data (
    id           pg_catalog.int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject      pg_catalog.oid,
    subject_name pg_catalog.text NOT NULL,
    key          pg_catalog.text NOT NULL,
    col          pg_catalog.name NOT NULL,
    new_value    pg_catalog.text,
    requested_by pg_catalog.text,
    requested_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    status       pg_catalog.text NOT NULL DEFAULT 'pending'
                 CHECK (status OPERATOR(pg_catalog.=) ANY (ARRAY['pending', 'approved', 'rejected'])),
    decided_by   pg_catalog.name,
    decided_at   pg_catalog.timestamptz,
    note         pg_catalog.text,
    table_owner  pg_catalog.oid,
    previous_names pg_catalog.text[]
);
CREATE INDEX change_request_data_subject ON privacy.change_request_data (subject, key);
CREATE TRIGGER choice_subject BEFORE INSERT ON privacy.change_request_data
    FOR EACH ROW EXECUTE FUNCTION privacy.choice_subject();
REVOKE ALL ON privacy.change_request_data FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('privacy.change_request_data', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('privacy.change_request_data', 'id'), '');
-- Readable by privacy administrators; anyone else gets 42501.
CREATE VIEW privacy.change_requests AS
SELECT id, subject::pg_catalog.regclass AS subject, key, col, new_value, requested_by, requested_at, status,
       decided_by, decided_at, note, subject_name
  FROM privacy.change_request_data
 WHERE privacy.require_privacy_admin();
GRANT SELECT ON privacy.change_requests TO PUBLIC;
COMMENT ON VIEW privacy.change_requests IS 'data subjects'' requests to correct their data, and their decisions';

-- Erasures done: one row per erased subject.  fingerprints holds one
-- sha256 per row erased (of the table and the erased values, which reveal
-- nothing), so that erasing again skips the rows left as they were and
-- erases those that arrived or changed since; not_erased names the columns
-- the last run could not erase.  subject, subject_name and table_owner as
-- for change requests.
CREATE TABLE privacy.erasure_data (
    subject      pg_catalog.oid,
    subject_name pg_catalog.text NOT NULL,
    key          pg_catalog.text NOT NULL,
    erased_at    pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    erased_by    pg_catalog.name NOT NULL DEFAULT SESSION_USER,
    rows_changed pg_catalog.int8 NOT NULL,
    runs         pg_catalog.int4 NOT NULL DEFAULT 1,
    not_erased   pg_catalog.text[] NOT NULL DEFAULT '{}',
    fingerprints pg_catalog.bytea[] NOT NULL DEFAULT '{}',
    table_owner  pg_catalog.oid,
    previous_names pg_catalog.text[],
    CONSTRAINT erasure_data_subject_key UNIQUE (subject, key)
);
CREATE INDEX erasure_data_name ON privacy.erasure_data (subject_name) WHERE subject IS NULL;
CREATE TRIGGER choice_subject BEFORE INSERT ON privacy.erasure_data
    FOR EACH ROW EXECUTE FUNCTION privacy.choice_subject();
REVOKE ALL ON privacy.erasure_data FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('privacy.erasure_data', '');
-- Readable by privacy administrators; anyone else gets 42501.
CREATE VIEW privacy.erasures AS
SELECT subject::pg_catalog.regclass AS subject, key, erased_at, erased_by, rows_changed, runs, not_erased,
       fingerprints, subject_name
  FROM privacy.erasure_data
 WHERE privacy.require_privacy_admin();
GRANT SELECT ON privacy.erasures TO PUBLIC;
COMMENT ON VIEW privacy.erasures IS 'subjects erased: when, by whom, how many rows over how many runs, what could not be erased';

-- The change requests and erasures a dropped crm_privacy kept
-- (privacy.archive_logs(), src/sql/audit.sql, which adopted the rest and
-- checked that the archive is a superuser's).
DO $$
DECLARE
    arch pg_catalog.oid;
BEGIN
    IF pg_catalog.to_regclass('crm_privacy_archive.erasures') IS NULL
       OR pg_catalog.to_regclass('crm_privacy_archive.change_requests') IS NULL THEN
        RETURN;
    END IF;
    arch := privacy.trusted_archive();
    INSERT INTO privacy.change_request_data (id, subject, subject_name, key, col, new_value, requested_by,
                                             requested_at, status, decided_by, decided_at, note, table_owner)
    OVERRIDING SYSTEM VALUE
    SELECT a.id, CASE WHEN privacy.archived_applies(a.applied, a.subject_name, a.table_owner) THEN 0 END,
           a.subject_name, a.key, a.col, a.new_value, a.requested_by, a.requested_at, a.status, a.decided_by,
           a.decided_at, a.note, a.table_owner
      FROM crm_privacy_archive.change_requests a ORDER BY a.id;
    PERFORM pg_catalog.setval(pg_catalog.pg_get_serial_sequence('privacy.change_request_data', 'id'),
                              pg_catalog.max(id))
       FROM privacy.change_request_data HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 0;
    INSERT INTO privacy.erasure_data (subject, subject_name, key, erased_at, erased_by, rows_changed, runs,
                                      not_erased, fingerprints, table_owner)
    SELECT CASE WHEN privacy.archived_applies(a.applied, a.subject_name, a.table_owner) THEN 0 END,
           a.subject_name, a.key, a.erased_at, a.erased_by, a.rows_changed, a.runs, a.not_erased,
           a.fingerprints, a.table_owner
      FROM crm_privacy_archive.erasures a
    ON CONFLICT DO NOTHING;
    DROP TABLE crm_privacy_archive.change_requests, crm_privacy_archive.erasures;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass
                      AND d.refobjid OPERATOR(pg_catalog.=) arch) THEN
        DROP SCHEMA crm_privacy_archive;
    END IF;
END $$;

CREATE FUNCTION privacy.apply_change(tbl pg_catalog.regclass, keycol pg_catalog.name,
                                     col pg_catalog.name, new_value pg_catalog.text, key pg_catalog.text)
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'crm_apply_change'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
CREATE FUNCTION privacy.erase_rows(subject pg_catalog.regclass, key pg_catalog.text,
                                   done pg_catalog.bytea[],
                                   OUT fingerprints pg_catalog.bytea[], OUT not_erased pg_catalog.text[])
AS 'MODULE_PATHNAME', 'crm_erase_rows'
LANGUAGE C VOLATILE STRICT
SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION privacy.apply_change(pg_catalog.regclass, pg_catalog.name, pg_catalog.name,
                                            pg_catalog.text, pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION privacy.erase_rows(pg_catalog.regclass, pg_catalog.text, pg_catalog.bytea[]) FROM PUBLIC;

-- What touches a subject's table reads it as the table's owner (src/requests.c):
-- the check of a requested value, and the subject's rows for subject_report.
CREATE FUNCTION privacy.check_value(tbl pg_catalog.regclass, col pg_catalog.name, value pg_catalog.text)
RETURNS void
AS 'MODULE_PATHNAME', 'crm_check_value'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
CREATE FUNCTION privacy.subject_rows(tbl pg_catalog.regclass, key pg_catalog.text)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'crm_subject_rows'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION privacy.check_value(pg_catalog.regclass, pg_catalog.name, pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION privacy.subject_rows(pg_catalog.regclass, pg_catalog.text) FROM PUBLIC;

-- The key column and key type of a subject table.
CREATE FUNCTION privacy.subject_key_column(subject pg_catalog.regclass)
RETURNS pg_catalog.name
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.key FROM pg_catalog.pg_seclabel s, LATERAL privacy.parse_label(s.label) p
     WHERE s.objoid OPERATOR(pg_catalog.=) subject_key_column.subject
       AND s.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND s.objsubid OPERATOR(pg_catalog.=) 0 AND s.provider OPERATOR(pg_catalog.=) 'crm_privacy'
$$;

CREATE FUNCTION privacy.request_change(subject pg_catalog.regclass, key pg_catalog.text,
                                       col pg_catalog.name, new_value pg_catalog.text,
                                       requested_by pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.int8
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    named text := privacy.choice_table_name(subject);       -- the table the call named, by name
    canonical text := privacy.subject_key(subject, key);   -- 22023 or the cast's error
    keycol name := privacy.subject_key_column(subject);
    request_id pg_catalog.int8;
BEGIN
    PERFORM privacy.require_privacy_admin();   -- privacy administrators only
    -- a rename or drop of the table waits for the request; one under way
    -- when it came makes it fail (40001), never go to another table
    PERFORM privacy.lock_subject(subject, named);
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                    WHERE a.attrelid OPERATOR(pg_catalog.=) subject AND a.attname OPERATOR(pg_catalog.=) col
                      AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped) THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_column',
            MESSAGE = format('column "%s" of relation %s does not exist', col, subject);
    END IF;
    IF col OPERATOR(pg_catalog.=) keycol THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('column "%s" is the subject''s key and cannot be changed by a request', col);
    END IF;
    -- the new value must cast to the column's type; the subject must exist
    -- (both as the table's owner: its casts and CHECKs are its own code)
    PERFORM privacy.check_value(subject, col, new_value);
    IF privacy.subject_rows(subject, canonical) OPERATOR(pg_catalog.=) '[]'::pg_catalog.jsonb THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('no subject with key %s in %s', canonical, subject);
    END IF;
    INSERT INTO privacy.change_request_data (subject, subject_name, key, col, new_value, requested_by, table_owner)
    SELECT request_change.subject::pg_catalog.oid, privacy.choice_table_name(request_change.subject), canonical,
           request_change.col, request_change.new_value, request_change.requested_by, k.relowner
      FROM pg_catalog.pg_class k WHERE k.oid OPERATOR(pg_catalog.=) request_change.subject::pg_catalog.oid
    RETURNING id INTO request_id;
    PERFORM privacy.audit_action(subject, canonical, 'request_change',
        pg_catalog.jsonb_build_object('request', request_id, 'column', col,
                                      -- who asked may be the subject's own address: kept keyed
                                      'requested_by', privacy.pseudonym(requested_by, 'audit'),
                                      'new_value', privacy.pseudonym(COALESCE(new_value, ''), 'audit')));
    RETURN request_id;
END $$;

CREATE FUNCTION privacy.review_change(id pg_catalog.int8, approve pg_catalog.bool,
                                      note pg_catalog.text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    PERFORM privacy.require_privacy_admin();   -- privacy administrators only
    IF id IS NULL OR approve IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'id and approve must not be NULL';
    END IF;
    SELECT * INTO r FROM privacy.change_request_data c WHERE c.id OPERATOR(pg_catalog.=) review_change.id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('change request %s does not exist', id);
    END IF;
    IF r.status OPERATOR(pg_catalog.<>) 'pending' THEN
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('change request %s was already %s', id, r.status),
            DETAIL = 'A request is decided exactly once; privacy.change_requests shows who decided it and when.';
    END IF;
    IF approve AND r.subject IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('change request %s waits for table %s, which does not exist', id, r.subject_name),
            DETAIL = 'Its table was dropped; the next subject table of that name takes the request.',
            HINT = 'Approve it when the table is back, or reject it.';
    END IF;
    IF approve THEN
        PERFORM privacy.apply_change(r.subject, privacy.subject_key_column(r.subject), r.col,
                                     r.new_value, r.key);
    END IF;
    UPDATE privacy.change_request_data c
       SET status = CASE WHEN approve THEN 'approved' ELSE 'rejected' END,
           decided_by = SESSION_USER, decided_at = pg_catalog.now(), note = review_change.note
     WHERE c.id OPERATOR(pg_catalog.=) review_change.id;
    PERFORM privacy.audit_action(r.subject, r.key,
        CASE WHEN approve THEN 'approve_change' ELSE 'reject_change' END,
        pg_catalog.jsonb_build_object('request', id, 'column', r.col, 'note', note));
END $$;

CREATE FUNCTION privacy.erase_subject(subject pg_catalog.regclass, key pg_catalog.text)
RETURNS pg_catalog.int8
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    named text := privacy.choice_table_name(subject);
    canonical text := privacy.subject_key(subject, key);
    done pg_catalog.bytea[];
    r record;
    n pg_catalog.int8;
    p text;
BEGIN
    PERFORM privacy.require_privacy_admin();   -- privacy administrators only
    -- as request_change: the table the call named, or 40001
    PERFORM privacy.lock_subject(subject, named);
    PERFORM privacy.record_access(ARRAY[subject::pg_catalog.text]);
    -- the rows an earlier erasure left are skipped (a second erasure waits for a first)
    SELECT e.fingerprints INTO done FROM privacy.erasure_data e
     WHERE e.subject OPERATOR(pg_catalog.=) erase_subject.subject::pg_catalog.oid
       AND e.key OPERATOR(pg_catalog.=) canonical
       FOR UPDATE;
    r := privacy.erase_rows(subject, canonical, COALESCE(done, '{}'));
    n := pg_catalog.cardinality(r.fingerprints);
    INSERT INTO privacy.erasure_data AS e (subject, subject_name, key, rows_changed, not_erased, fingerprints,
                                           table_owner)
    SELECT erase_subject.subject::pg_catalog.oid, privacy.choice_table_name(erase_subject.subject), canonical, n,
           r.not_erased, r.fingerprints, k.relowner
      FROM pg_catalog.pg_class k WHERE k.oid OPERATOR(pg_catalog.=) erase_subject.subject::pg_catalog.oid
    ON CONFLICT ON CONSTRAINT erasure_data_subject_key DO UPDATE
       SET erased_at = pg_catalog.now(), erased_by = SESSION_USER,
           rows_changed = e.rows_changed OPERATOR(pg_catalog.+) excluded.rows_changed,
           runs = e.runs OPERATOR(pg_catalog.+) 1, not_erased = excluded.not_erased,
           fingerprints = e.fingerprints OPERATOR(pg_catalog.||) excluded.fingerprints;
    -- the values the subject asked for go too; a pending request is closed
    UPDATE privacy.change_request_data c
       SET new_value = NULL, requested_by = NULL,
           note = CASE WHEN c.status OPERATOR(pg_catalog.=) 'pending' THEN 'closed: the subject was erased' END,
           decided_by = COALESCE(c.decided_by, SESSION_USER),
           decided_at = COALESCE(c.decided_at, pg_catalog.now()),
           status = CASE WHEN c.status OPERATOR(pg_catalog.=) 'pending' THEN 'rejected' ELSE c.status END
     WHERE c.subject OPERATOR(pg_catalog.=) erase_subject.subject AND c.key OPERATOR(pg_catalog.=) canonical;
    -- opted out of every purpose (those not yet: erasing again records nothing twice)
    FOR p IN SELECT u.name FROM privacy.purposes u
              WHERE NOT EXISTS (SELECT FROM privacy.subject_choices c
                                 WHERE c.subject OPERATOR(pg_catalog.=) erase_subject.subject
                                   AND c.key OPERATOR(pg_catalog.=) canonical
                                   AND c.purpose OPERATOR(pg_catalog.=) u.name AND c.opted_out)
              ORDER BY u.name LOOP
        PERFORM privacy.record_choice(subject, canonical, p, true, 'erase_subject');
    END LOOP;
    PERFORM privacy.audit_action(subject, canonical, 'erase_subject',
                                 pg_catalog.jsonb_build_object('rows_changed', n, 'not_erased', r.not_erased));
    IF pg_catalog.cardinality(r.not_erased) OPERATOR(pg_catalog.>) 0 THEN
        RAISE WARNING USING ERRCODE = '01000',
            MESSAGE = format('%s column(s) of subject %s in %s could not be erased: %s',
                             pg_catalog.cardinality(r.not_erased), canonical, subject,
                             pg_catalog.array_to_string(r.not_erased, ', ')),
            DETAIL = 'Keys, unique and foreign-key columns and partition keys keep their values (they tie rows together); so does a NOT NULL column whose rules give NULL and whose type has no value that reveals nothing.',
            HINT = 'Give a NOT NULL column an anon or mask rule that fits its type, or take personal data out of keys, then erase the subject again; privacy.erasures lists these columns meanwhile.';
    END IF;
    RETURN n;
END $$;

-- Everything the database holds about one subject, for the subject.
CREATE FUNCTION privacy.subject_report(subject pg_catalog.regclass, key pg_catalog.text)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    canonical text := privacy.subject_key(subject, key);
    t record;
    rows pg_catalog.jsonb := '{}';
    tables text[] := '{}';
    audit_keys text[];
    part pg_catalog.jsonb;
BEGIN
    PERFORM privacy.require_privacy_admin();   -- privacy administrators only
    -- the subject table and its related tables, with their keys
    FOR t IN
        SELECT s.objoid::pg_catalog.regclass AS tbl,
               pg_catalog.format('%I.%I', n.nspname, c.relname) AS name
          FROM pg_catalog.pg_seclabel s
          CROSS JOIN LATERAL privacy.parse_label(s.label) p
          JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) s.objoid
          JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
          JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid AND a.attname OPERATOR(pg_catalog.=) p.key
         WHERE s.provider OPERATOR(pg_catalog.=) 'crm_privacy'
           AND s.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
           AND s.objsubid OPERATOR(pg_catalog.=) 0
           AND (s.objoid OPERATOR(pg_catalog.=) subject_report.subject
                OR (p.class OPERATOR(pg_catalog.=) 'related'
                    AND pg_catalog.to_regclass(p.subject) OPERATOR(pg_catalog.=) subject_report.subject))
         ORDER BY s.objoid OPERATOR(pg_catalog.<>) subject_report.subject, c.relname
    LOOP
        -- read as the table's owner: to_jsonb runs the casts of its types
        part := privacy.subject_rows(t.tbl, canonical);
        rows := rows OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(t.name, part);
        tables := tables OPERATOR(pg_catalog.||) t.name;
    END LOOP;

    PERFORM privacy.record_access(tables);

    -- the audit rows about it: its key as the audit stores it
    audit_keys := ARRAY[canonical, privacy.pseudonym(canonical, 'audit')];

    RETURN pg_catalog.jsonb_build_object(
        'subject', subject::pg_catalog.text,
        'key', canonical,
        'generated_at', pg_catalog.now(),
        'data', rows,
        'labels', (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(l) ORDER BY l."table", l."column"), '[]')
                     FROM privacy.labels l
                    WHERE pg_catalog.format('%I.%I', l.schema, l."table") OPERATOR(pg_catalog.=) ANY (tables)),
        'choices', (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(c) ORDER BY c.purpose), '[]')
                      FROM privacy.choices c
                     WHERE c.subject OPERATOR(pg_catalog.=) subject_report.subject
                       AND c.key OPERATOR(pg_catalog.=) canonical),
        'change_requests', (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(r) ORDER BY r.id), '[]')
                              FROM privacy.change_requests r
                             WHERE r.subject OPERATOR(pg_catalog.=) subject_report.subject
                               AND r.key OPERATOR(pg_catalog.=) canonical),
        'audit', privacy.subject_audit_rows(tables, audit_keys));
END $$;

-- The administrative functions are executable by PUBLIC but refused to
-- anyone who is not a privacy administrator (or a superuser): checked in the
-- caller's context when the call is set up, and again by the first line.
GRANT EXECUTE ON FUNCTION privacy.request_change(pg_catalog.regclass, pg_catalog.text, pg_catalog.name,
                                                pg_catalog.text, pg_catalog.text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION privacy.review_change(pg_catalog.int8, pg_catalog.bool, pg_catalog.text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION privacy.erase_subject(pg_catalog.regclass, pg_catalog.text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION privacy.subject_report(pg_catalog.regclass, pg_catalog.text) TO PUBLIC;
COMMENT ON FUNCTION privacy.request_change(pg_catalog.regclass, pg_catalog.text, pg_catalog.name,
                                           pg_catalog.text, pg_catalog.text) IS
'a data subject''s request to correct a value; returns the request id';
COMMENT ON FUNCTION privacy.review_change(pg_catalog.int8, pg_catalog.bool, pg_catalog.text) IS
'approve (and apply, with a normal UPDATE) or reject a change request, exactly once';
COMMENT ON FUNCTION privacy.erase_subject(pg_catalog.regclass, pg_catalog.text) IS
'replace every labelled non-public value of a subject and its related rows by its anon result; opt out of every purpose';
COMMENT ON FUNCTION privacy.subject_report(pg_catalog.regclass, pg_catalog.text) IS
'everything held about a subject: its rows in clear, labels, choices, change requests and audit rows';
-- Part 11: what the extension records about a table follows the table by
-- name (choices, src/sql/views.sql; change requests and erasures,
-- src/sql/requests.sql; disclosure treatments, src/sql/views.sql), so that it
-- outlives the table: a nightly reload that creates a new table, drops or
-- renames the old one and renames the new one keeps all of it.
--
-- Each record has the table it applies to now (subject or tbl, an oid; NULL
-- while it waits for one), that table's name (kept up to date), the names the
-- table gave up by renames (previous_names) and its owner (a role OID: a role
-- renamed, or dropped and made again, is not the owner).  The rules:
--   - when a table is dropped, what applied to it waits under its last name;
--   - when a table takes a name (created and labelled, renamed, moved), it
--     takes what waits under that name, or under that name as a previous
--     name of a table since dropped; and a copy of what a table still there
--     had when it gave that name up (a reload that keeps yesterday's table,
--     however often it renames it);
--     only from a table of the same owner (any owner for disclosure
--     treatments, which privacy administrators set);
--   - two choices for one key and purpose: the one changed last stays.
-- Run by the event triggers as the extension's owner, with the tables of the
-- command (NULL: every labelled table) and the tables it dropped with their
-- last names.  Not callable by others; privacy.adopt_choices() is the
-- privacy administrators' way to hand waiting records to a table of another
-- owner.
-- The names a table gave up, after it went from name old to name new.
CREATE FUNCTION privacy.gave_up(names pg_catalog.text[], old pg_catalog.text, new pg_catalog.text)
RETURNS pg_catalog.text[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT pg_catalog.array_remove(CASE WHEN old OPERATOR(pg_catalog.=) new THEN names
                                    ELSE pg_catalog.array_append(pg_catalog.array_remove(COALESCE(names, '{}'), old), old)
                               END, new)
$$;
REVOKE ALL ON FUNCTION privacy.gave_up(pg_catalog.text[], pg_catalog.text, pg_catalog.text) FROM PUBLIC;

CREATE FUNCTION privacy.resolve_choices(tables pg_catalog.oid[], dropped pg_catalog.oid[],
                                        dropped_names pg_catalog.text[],
                                        any_owner pg_catalog.bool DEFAULT false)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
    c record;
    mine record;
    n pg_catalog.int8;
BEGIN
    -- 1. What applied to a dropped table waits under its last name.
    WITH gone AS (
        UPDATE privacy.subject_choices s SET subject = NULL, subject_name = COALESCE(d.name, s.subject_name)
          FROM ROWS FROM (pg_catalog.unnest(dropped), pg_catalog.unnest(dropped_names)) AS d(relid, name)
         WHERE s.subject OPERATOR(pg_catalog.=) d.relid
        RETURNING s.subject_name, s.key, s.purpose, s.opted_out, s.source)
    INSERT INTO privacy.subject_choice_history (subject_name, key, purpose, event, old_opted_out, new_opted_out, source)
    SELECT g.subject_name, g.key, g.purpose, 'kept', g.opted_out, g.opted_out, g.source
      FROM gone g ORDER BY g.subject_name, g.purpose, g.key;
    UPDATE privacy.change_request_data r SET subject = NULL, subject_name = COALESCE(d.name, r.subject_name)
      FROM ROWS FROM (pg_catalog.unnest(dropped), pg_catalog.unnest(dropped_names)) AS d(relid, name)
     WHERE r.subject OPERATOR(pg_catalog.=) d.relid;
    UPDATE privacy.erasure_data e SET subject = NULL, subject_name = COALESCE(d.name, e.subject_name)
      FROM ROWS FROM (pg_catalog.unnest(dropped), pg_catalog.unnest(dropped_names)) AS d(relid, name)
     WHERE e.subject OPERATOR(pg_catalog.=) d.relid;
    UPDATE privacy.disclosure_column_data x SET tbl = NULL, tbl_name = COALESCE(d.name, x.tbl_name)
      FROM ROWS FROM (pg_catalog.unnest(dropped), pg_catalog.unnest(dropped_names)) AS d(relid, name)
     WHERE x.tbl OPERATOR(pg_catalog.=) d.relid;
    IF tables IS NULL THEN
        -- (a table gone while the event triggers did not run)
        UPDATE privacy.subject_choices s SET subject = NULL
         WHERE s.subject IS NOT NULL
           AND NOT EXISTS (SELECT FROM pg_catalog.pg_class k WHERE k.oid OPERATOR(pg_catalog.=) s.subject);
        UPDATE privacy.change_request_data r SET subject = NULL
         WHERE r.subject IS NOT NULL
           AND NOT EXISTS (SELECT FROM pg_catalog.pg_class k WHERE k.oid OPERATOR(pg_catalog.=) r.subject);
        UPDATE privacy.erasure_data e SET subject = NULL
         WHERE e.subject IS NOT NULL
           AND NOT EXISTS (SELECT FROM pg_catalog.pg_class k WHERE k.oid OPERATOR(pg_catalog.=) e.subject);
        UPDATE privacy.disclosure_column_data x SET tbl = NULL
         WHERE x.tbl IS NOT NULL
           AND NOT EXISTS (SELECT FROM pg_catalog.pg_class k WHERE k.oid OPERATOR(pg_catalog.=) x.tbl);
    END IF;

    FOR t IN SELECT k.oid, privacy.choice_table_name(k.oid) AS name, k.relowner AS owner, p.class, p.key,
                    (SELECT a.attnum FROM pg_catalog.pg_attribute a
                      WHERE a.attrelid OPERATOR(pg_catalog.=) k.oid AND a.attname OPERATOR(pg_catalog.=) p.key
                        AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped) AS keynum
               FROM pg_catalog.pg_seclabel l
               JOIN pg_catalog.pg_class k ON k.oid OPERATOR(pg_catalog.=) l.objoid
              CROSS JOIN LATERAL privacy.parse_label(l.label) p
              WHERE l.provider OPERATOR(pg_catalog.=) 'crm_privacy'
                AND l.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                AND l.objsubid OPERATOR(pg_catalog.=) 0
                AND (tables IS NULL OR k.oid OPERATOR(pg_catalog.=) ANY (tables))
              ORDER BY k.oid LOOP
        -- 2. Disclosure treatments (of subject and related tables).
        UPDATE privacy.disclosure_column_data x
           SET tbl = t.oid, tbl_name = t.name, previous_names = NULL, table_owner = t.owner
         WHERE x.tbl IS NULL
           AND (x.tbl_name OPERATOR(pg_catalog.=) t.name OR t.name OPERATOR(pg_catalog.=) ANY (x.previous_names))
           AND NOT EXISTS (SELECT FROM privacy.disclosure_column_data m
                            WHERE m.tbl OPERATOR(pg_catalog.=) t.oid AND m.profile OPERATOR(pg_catalog.=) x.profile
                              AND m.col OPERATOR(pg_catalog.=) x.col);
        DELETE FROM privacy.disclosure_column_data x
         WHERE x.tbl IS NULL
           AND (x.tbl_name OPERATOR(pg_catalog.=) t.name OR t.name OPERATOR(pg_catalog.=) ANY (x.previous_names));
        INSERT INTO privacy.disclosure_column_data (profile, tbl, tbl_name, col, treatment, table_owner)
        SELECT x.profile, t.oid, t.name, x.col, x.treatment, t.owner
          FROM privacy.disclosure_column_data x
         WHERE x.tbl IS NOT NULL AND x.tbl OPERATOR(pg_catalog.<>) t.oid
           AND t.name OPERATOR(pg_catalog.=) ANY (x.previous_names)
        ON CONFLICT DO NOTHING;
        UPDATE privacy.disclosure_column_data x SET previous_names = pg_catalog.array_remove(x.previous_names, t.name)
         WHERE x.tbl IS NOT NULL AND x.tbl OPERATOR(pg_catalog.<>) t.oid
           AND t.name OPERATOR(pg_catalog.=) ANY (x.previous_names);
        UPDATE privacy.disclosure_column_data x
           SET previous_names = privacy.gave_up(x.previous_names, x.tbl_name, t.name), tbl_name = t.name,
               table_owner = t.owner
         WHERE x.tbl OPERATOR(pg_catalog.=) t.oid
           AND (x.tbl_name OPERATOR(pg_catalog.<>) t.name OR x.table_owner IS DISTINCT FROM t.owner);

        CONTINUE WHEN t.class OPERATOR(pg_catalog.<>) 'subject';

        -- 3. Its own choices stay with their key column (as the table
        -- numbers it: a renamed column keeps them): a label that names
        -- another column would give them to other subjects.
        IF EXISTS (SELECT FROM privacy.subject_choices s
                    WHERE s.subject OPERATOR(pg_catalog.=) t.oid
                      AND s.key_attnum IS DISTINCT FROM t.keynum) THEN
            RAISE EXCEPTION USING ERRCODE = 'object_in_use',
                MESSAGE = pg_catalog.format('table %s has choices recorded for the keys of another column',
                                            t.name),
                DETAIL = pg_catalog.format('Its subjects'' choices are keyed by column %s (or one since dropped); the label names column %s, where the same key is another subject.',
                    (SELECT s.key_column FROM privacy.subject_choices s
                      WHERE s.subject OPERATOR(pg_catalog.=) t.oid
                        AND s.key_attnum IS DISTINCT FROM t.keynum LIMIT 1),
                    t.key),
                HINT = 'Label the table with its key column; a superuser can move the choices to the new keys.';
        END IF;
        -- (a renamed key column: the choices follow)
        UPDATE privacy.subject_choices s SET key_column = t.key
         WHERE s.subject OPERATOR(pg_catalog.=) t.oid AND s.key_column IS DISTINCT FROM t.key;

        -- 4. The choices it takes: those waiting under its name (or whose
        -- table gave the name up and was dropped), and copies of those of a
        -- table still there that gave the name up; of the same owner, with
        -- the same key column (or one the table no longer has).  The
        -- newest per purpose and key meets the table's own; the newer stays.
        FOR c IN
            WITH cand AS (
                SELECT s.*
                  FROM privacy.subject_choices s
                 WHERE ((s.subject IS NULL AND s.subject_name OPERATOR(pg_catalog.=) t.name)
                        OR (s.previous_names OPERATOR(pg_catalog.@>) ARRAY[t.name]
                            AND s.subject IS DISTINCT FROM t.oid))
                   AND (any_owner OR s.table_owner OPERATOR(pg_catalog.=) t.owner)
                   AND (s.key_column IS NULL OR s.key_column OPERATOR(pg_catalog.=) t.key
                        OR NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                                        WHERE a.attrelid OPERATOR(pg_catalog.=) t.oid
                                          AND a.attname OPERATOR(pg_catalog.=) s.key_column
                                          AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped))
                   FOR UPDATE)
            SELECT x.*, pg_catalog.row_number() OVER (PARTITION BY x.purpose, x.key
                                                       ORDER BY x.changed_at DESC, x.id DESC) AS rank
              FROM cand x ORDER BY x.purpose, x.key, rank
        LOOP
            IF c.rank OPERATOR(pg_catalog.>) 1 THEN
                -- an older one for the same purpose and key: merged away
                IF c.subject IS NULL THEN
                    DELETE FROM privacy.subject_choices s WHERE s.id OPERATOR(pg_catalog.=) c.id;
                ELSE
                    UPDATE privacy.subject_choices s SET previous_names = pg_catalog.array_remove(s.previous_names, t.name)
                     WHERE s.id OPERATOR(pg_catalog.=) c.id;
                END IF;
                CONTINUE;
            END IF;
            SELECT s.* INTO mine FROM privacy.subject_choices s
             WHERE s.subject OPERATOR(pg_catalog.=) t.oid AND s.purpose OPERATOR(pg_catalog.=) c.purpose
               AND s.key OPERATOR(pg_catalog.=) c.key
               FOR UPDATE;
            IF FOUND THEN
                IF c.changed_at OPERATOR(pg_catalog.>) mine.changed_at THEN
                    UPDATE privacy.subject_choices s
                       SET opted_out = c.opted_out, changed_at = c.changed_at, source = c.source,
                           changed_by = c.changed_by
                     WHERE s.id OPERATOR(pg_catalog.=) mine.id;
                END IF;
                INSERT INTO privacy.subject_choice_history (subject_name, key, purpose, event, old_opted_out,
                                                            new_opted_out, source)
                VALUES (t.name, c.key, c.purpose, 'merged', mine.opted_out,
                        CASE WHEN c.changed_at OPERATOR(pg_catalog.>) mine.changed_at THEN c.opted_out
                             ELSE mine.opted_out END,
                        CASE WHEN c.changed_at OPERATOR(pg_catalog.>) mine.changed_at THEN c.source
                             ELSE mine.source END);
                IF c.subject IS NULL THEN
                    DELETE FROM privacy.subject_choices s WHERE s.id OPERATOR(pg_catalog.=) c.id;
                ELSE
                    UPDATE privacy.subject_choices s SET previous_names = pg_catalog.array_remove(s.previous_names, t.name)
                     WHERE s.id OPERATOR(pg_catalog.=) c.id;
                END IF;
            ELSIF c.subject IS NULL THEN
                UPDATE privacy.subject_choices s
                   SET subject = t.oid, subject_name = t.name, previous_names = NULL, table_owner = t.owner,
                       key_column = t.key, key_attnum = t.keynum
                 WHERE s.id OPERATOR(pg_catalog.=) c.id;
                INSERT INTO privacy.subject_choice_history (subject_name, key, purpose, event, old_opted_out,
                                                            new_opted_out, source)
                VALUES (t.name, c.key, c.purpose, 'adopted', NULL, c.opted_out, c.source);
            ELSE
                INSERT INTO privacy.subject_choices (subject, subject_name, key, purpose, opted_out, changed_at,
                                                     source, changed_by, table_owner, key_column)
                VALUES (t.oid, t.name, c.key, c.purpose, c.opted_out, c.changed_at, c.source, c.changed_by,
                        t.owner, t.key);   -- (key_attnum: choice_subject())
                UPDATE privacy.subject_choices s SET previous_names = pg_catalog.array_remove(s.previous_names, t.name)
                 WHERE s.id OPERATOR(pg_catalog.=) c.id;
                INSERT INTO privacy.subject_choice_history (subject_name, key, purpose, event, old_opted_out,
                                                            new_opted_out, source)
                VALUES (t.name, c.key, c.purpose, 'adopted', NULL, c.opted_out, c.source);
            END IF;
        END LOOP;

        -- 5. Its change requests: those waiting under its name, and the
        -- pending ones of a table still there that gave the name up.
        UPDATE privacy.change_request_data r
           SET subject = t.oid, subject_name = t.name, previous_names = NULL, table_owner = t.owner
         WHERE ((r.subject IS NULL AND (r.subject_name OPERATOR(pg_catalog.=) t.name
                                        OR t.name OPERATOR(pg_catalog.=) ANY (r.previous_names)))
                OR (r.subject IS NOT NULL AND r.subject OPERATOR(pg_catalog.<>) t.oid
                    AND t.name OPERATOR(pg_catalog.=) ANY (r.previous_names)
                    AND r.status OPERATOR(pg_catalog.=) 'pending'))
           AND (any_owner OR r.table_owner OPERATOR(pg_catalog.=) t.owner);

        -- 6. Its erasures: one record per key, runs and fingerprints summed
        -- (a table still there that gave the name up keeps its own).
        FOR c IN SELECT e.*, e.ctid AS tid FROM privacy.erasure_data e
                  WHERE ((e.subject IS NULL AND (e.subject_name OPERATOR(pg_catalog.=) t.name
                                                 OR t.name OPERATOR(pg_catalog.=) ANY (e.previous_names)))
                         OR (e.subject IS NOT NULL AND e.subject OPERATOR(pg_catalog.<>) t.oid
                             AND t.name OPERATOR(pg_catalog.=) ANY (e.previous_names)))
                    AND (any_owner OR e.table_owner OPERATOR(pg_catalog.=) t.owner)
                  ORDER BY e.key, e.erased_at FOR UPDATE LOOP
            UPDATE privacy.erasure_data e
               SET rows_changed = e.rows_changed OPERATOR(pg_catalog.+) c.rows_changed,
                   runs = e.runs OPERATOR(pg_catalog.+) c.runs,
                   fingerprints = e.fingerprints OPERATOR(pg_catalog.||) c.fingerprints,
                   not_erased = CASE WHEN c.erased_at OPERATOR(pg_catalog.>) e.erased_at THEN c.not_erased ELSE e.not_erased END,
                   erased_by = CASE WHEN c.erased_at OPERATOR(pg_catalog.>) e.erased_at THEN c.erased_by ELSE e.erased_by END,
                   erased_at = GREATEST(e.erased_at, c.erased_at)
             WHERE e.subject OPERATOR(pg_catalog.=) t.oid AND e.key OPERATOR(pg_catalog.=) c.key;
            IF NOT FOUND THEN
                INSERT INTO privacy.erasure_data (subject, subject_name, key, erased_at, erased_by, rows_changed,
                                                  runs, not_erased, fingerprints, table_owner)
                VALUES (t.oid, t.name, c.key, c.erased_at, c.erased_by, c.rows_changed, c.runs, c.not_erased,
                        c.fingerprints, t.owner);
            END IF;
            IF c.subject IS NULL THEN
                DELETE FROM privacy.erasure_data e WHERE e.ctid OPERATOR(pg_catalog.=) c.tid;
            ELSE
                UPDATE privacy.erasure_data e SET previous_names = pg_catalog.array_remove(e.previous_names, t.name)
                 WHERE e.ctid OPERATOR(pg_catalog.=) c.tid;
            END IF;
        END LOOP;

        -- 7. Its records carry its name and owner now; the name they had
        -- before a rename is a name it gave up.
        UPDATE privacy.subject_choices s
           SET previous_names = privacy.gave_up(s.previous_names, s.subject_name, t.name),
               subject_name = t.name, table_owner = t.owner
         WHERE s.subject OPERATOR(pg_catalog.=) t.oid
           AND (s.subject_name OPERATOR(pg_catalog.<>) t.name OR s.table_owner IS DISTINCT FROM t.owner);
        UPDATE privacy.change_request_data r
           SET previous_names = privacy.gave_up(r.previous_names, r.subject_name, t.name),
               subject_name = t.name, table_owner = t.owner
         WHERE r.subject OPERATOR(pg_catalog.=) t.oid
           AND (r.subject_name OPERATOR(pg_catalog.<>) t.name OR r.table_owner IS DISTINCT FROM t.owner);
        UPDATE privacy.erasure_data e
           SET previous_names = privacy.gave_up(e.previous_names, e.subject_name, t.name),
               subject_name = t.name, table_owner = t.owner
         WHERE e.subject OPERATOR(pg_catalog.=) t.oid
           AND (e.subject_name OPERATOR(pg_catalog.<>) t.name OR e.table_owner IS DISTINCT FROM t.owner);
    END LOOP;
END $$;
REVOKE ALL ON FUNCTION privacy.resolve_choices(pg_catalog.oid[], pg_catalog.oid[], pg_catalog.text[],
                                               pg_catalog.bool) FROM PUBLIC;

-- A privacy administrator hands the records waiting under a table's name
-- (or under the name another table of any owner gave up) to that table,
-- whoever owned the table they applied to.
CREATE FUNCTION privacy.adopt_choices(tbl pg_catalog.regclass) RETURNS pg_catalog.int8
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    before pg_catalog.int8;
BEGIN
    PERFORM privacy.require_privacy_admin();   -- privacy administrators only
    IF tbl IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'tbl must not be NULL';
    END IF;
    PERFORM privacy.lock_subject(tbl, privacy.choice_table_name(tbl));
    SELECT pg_catalog.count(*) INTO before FROM privacy.subject_choices s
     WHERE s.subject OPERATOR(pg_catalog.=) tbl::pg_catalog.oid;
    PERFORM privacy.resolve_choices(ARRAY[tbl::pg_catalog.oid], '{}', '{}', true);
    RETURN (SELECT pg_catalog.count(*) FROM privacy.subject_choices s
             WHERE s.subject OPERATOR(pg_catalog.=) tbl::pg_catalog.oid) OPERATOR(pg_catalog.-) before;
END $$;
GRANT EXECUTE ON FUNCTION privacy.adopt_choices(pg_catalog.regclass) TO PUBLIC;   -- privacy administrators only
COMMENT ON FUNCTION privacy.adopt_choices(pg_catalog.regclass) IS
'give a labelled table the choices, change requests and erasures waiting under its name, whoever owned their table; returns the choices it gained';
-- Part 8: detection and coverage reports; doc/audit.md, "Reports and checks".

-- Suggested labels for unlabelled columns, from column names and sampled
-- values, with the evidence.  Reads up to "sample" non-NULL values of each
-- text column with the caller's privileges; not those of a table whose
-- row-level security applies to the caller (its policies are the table
-- owner's code, which would run as the caller).
CREATE FUNCTION privacy.detect(tbl pg_catalog.regclass DEFAULT NULL,
                               sample pg_catalog.int4 DEFAULT 1000)
RETURNS TABLE (schema pg_catalog.name, "table" pg_catalog.name, "column" pg_catalog.name,
               suggested_label pg_catalog.text, evidence pg_catalog.text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
    n pg_catalog.int8;
    hits record;
    label pg_catalog.text;
    why pg_catalog.text;
    is_text pg_catalog.bool;
    need pg_catalog.int8;
    chinese pg_catalog.jsonb := '{}';
BEGIN
    PERFORM privacy.require_privacy_admin();   -- privacy administrators only
    IF sample IS NULL OR sample OPERATOR(pg_catalog.<) 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'argument "sample" of detect must be at least 1';
    END IF;
    -- The Chinese column names of the rules below (xingming, youxiang,
    -- shouji|dianhua, shenfenzheng, dizhi, zongjiao|minzu, shengri, youbian,
    -- xingbie, shouru), where the database encoding has Han characters.  The
    -- install script is ASCII, so that it reads the same in every database
    -- encoding: they are JSON escapes, decoded here.
    IF pg_catalog.getdatabaseencoding() OPERATOR(pg_catalog.=) ANY (ARRAY['UTF8', 'EUC_CN']) THEN
        chinese := '{"1": "\u59d3\u540d", "2": "\u90ae\u7bb1", "3": "\u624b\u673a|\u7535\u8bdd", "4": "\u8eab\u4efd\u8bc1", "6": "\u5730\u5740", "7": "\u5b97\u6559|\u6c11\u65cf", "8": "\u751f\u65e5", "9": "\u90ae\u7f16", "10": "\u6027\u522b", "11": "\u6536\u5165"}';
    END IF;
    FOR c IN
        SELECT n.nspname, k.relname, a.attname,
               CASE WHEN t.typtype OPERATOR(pg_catalog.=) 'd' THEN t.typbasetype ELSE t.oid END AS basetype,
               pg_catalog.has_column_privilege(k.oid, a.attnum, 'SELECT')
               AND NOT pg_catalog.row_security_active(k.oid) AS readable
          FROM pg_catalog.pg_class k
          JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) k.relnamespace
          JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) k.oid
          JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid
         WHERE k.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p', 'f']::"char"[])
           AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
           AND (tbl IS NULL OR k.oid OPERATOR(pg_catalog.=) tbl)
           AND n.nspname OPERATOR(pg_catalog.<>) ALL (ARRAY['pg_catalog', 'information_schema', 'privacy', 'pg_toast'])
           AND n.nspname OPERATOR(pg_catalog.!~~) 'pg\_temp\_%'
           AND NOT EXISTS (SELECT FROM pg_catalog.pg_seclabel s
                            WHERE s.objoid OPERATOR(pg_catalog.=) k.oid
                              AND s.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                              AND s.objsubid OPERATOR(pg_catalog.=) a.attnum
                              AND s.provider OPERATOR(pg_catalog.=) 'crm_privacy')
         ORDER BY n.nspname, k.relname, a.attnum
    LOOP
        label := NULL;
        why := NULL;
        is_text := c.basetype OPERATOR(pg_catalog.=) ANY (ARRAY['pg_catalog.text'::pg_catalog.regtype,
                   'pg_catalog.varchar'::pg_catalog.regtype, 'pg_catalog.bpchar'::pg_catalog.regtype]::pg_catalog.oid[]);

        -- What the values say (text columns the caller may read).
        IF is_text AND c.readable THEN
            EXECUTE pg_catalog.format(
                'SELECT pg_catalog.count(*) AS n,'
                ' pg_catalog.count(*) FILTER (WHERE privacy.is_email(v::pg_catalog.text)) AS email,'
                ' pg_catalog.count(*) FILTER (WHERE privacy.is_cn_mobile(v::pg_catalog.text)) AS mobile,'
                ' pg_catalog.count(*) FILTER (WHERE privacy.is_valid_cn_id(v::pg_catalog.text)) AS cn_id,'
                ' pg_catalog.count(*) FILTER (WHERE privacy.luhn_valid(v::pg_catalog.text)) AS card,'
                ' pg_catalog.count(*) FILTER (WHERE v::pg_catalog.text OPERATOR(pg_catalog.~)'
                '   ''^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}$'') AS ipv4'
                ' FROM (SELECT %I AS v FROM %I.%I WHERE %I IS NOT NULL LIMIT %s) s',
                c.attname, c.nspname, c.relname, c.attname, sample) INTO hits;
            -- a kind of value wins when at least 80 % of the sample is of it
            need := ((hits.n OPERATOR(pg_catalog.*) 8) OPERATOR(pg_catalog.+) 9) OPERATOR(pg_catalog./) 10;
            IF hits.n OPERATOR(pg_catalog.>) 0 THEN
                IF hits.cn_id OPERATOR(pg_catalog.>=) need THEN
                    label := 'identifier level=secret mask=cn_id';
                    why := pg_catalog.format('%s of %s sampled values are resident IDs with a valid check character', hits.cn_id, hits.n);
                ELSIF hits.card OPERATOR(pg_catalog.>=) need THEN
                    label := 'identifier level=secret mask=card';
                    why := pg_catalog.format('%s of %s sampled values are card numbers with a valid Luhn checksum', hits.card, hits.n);
                ELSIF hits.email OPERATOR(pg_catalog.>=) need THEN
                    label := 'identifier mask=email anon=pseudonym';
                    why := pg_catalog.format('%s of %s sampled values are e-mail addresses', hits.email, hits.n);
                ELSIF hits.mobile OPERATOR(pg_catalog.>=) need THEN
                    label := 'identifier mask=phone anon=pseudonym';
                    why := pg_catalog.format('%s of %s sampled values are mainland mobile numbers', hits.mobile, hits.n);
                ELSIF hits.ipv4 OPERATOR(pg_catalog.>=) need THEN
                    label := 'identifier mask=null anon=pseudonym';
                    why := pg_catalog.format('%s of %s sampled values are IPv4 addresses', hits.ipv4, hits.n);
                END IF;
            END IF;
        END IF;

        -- What the name says.
        IF label IS NULL THEN
            SELECT r.label, pg_catalog.format('the column name %I suggests %s', c.attname, r.what)
              INTO label, why
              FROM (VALUES
                (1, '(^|_)(full_?name|name|first_?name|last_?name|surname)($|_)', 'identifier mask=name', true, 'a person''s name'),
                (2, 'e_?mail', 'identifier mask=email anon=pseudonym', true, 'an e-mail address'),
                (3, 'phone|mobile|(^|_)tel($|_)|cell', 'identifier mask=phone anon=pseudonym', true, 'a phone number'),
                (4, 'id_?(number|no|card)|passport|ssn', 'identifier level=secret mask=cn_id', true, 'an identity document number'),
                (5, 'card_?(no|number)|iban|account_?(no|number)', 'identifier level=secret mask=card', true, 'a card or account number'),
                (6, 'address|(^|_)addr($|_)', 'identifier mask=partial(2,0)', true, 'a postal address'),
                (7, 'religio|ethnic|(^|_)race($|_)|health|diagnos|disease', 'sensitive', false, 'special-category (sensitive) data'),
                (8, 'birth|(^|_)dob($|_)', 'quasi_identifier anon=generalize(year)', false, 'a birth date'),
                (9, '(^|_)(zip|postcode|postal_?code)($|_)', 'quasi_identifier mask=partial(3,0) anon=partial(3,0)', true, 'a postal code'),
                (10, '(^|_)(gender|sex)($|_)', 'quasi_identifier mask=keep anon=keep', false, 'a gender'),
                (11, 'income|salary|wage', 'personal level=confidential anon=null', false, 'an income')
              ) AS r(ord, pattern, label, needs_text, what)
             WHERE pg_catalog.lower(c.attname::pg_catalog.text) OPERATOR(pg_catalog.~)
                   (r.pattern OPERATOR(pg_catalog.||)
                    COALESCE('|' OPERATOR(pg_catalog.||) (chinese OPERATOR(pg_catalog.->>) r.ord::pg_catalog.text), ''))
               AND (is_text OR NOT r.needs_text)
             ORDER BY r.ord LIMIT 1;
            -- a date-only rule for non-date columns falls back to no rule
            IF label OPERATOR(pg_catalog.=) 'quasi_identifier anon=generalize(year)'
               AND c.basetype OPERATOR(pg_catalog.<>) ALL (ARRAY['pg_catalog.date'::pg_catalog.regtype,
                   'pg_catalog.timestamp'::pg_catalog.regtype, 'pg_catalog.timestamptz'::pg_catalog.regtype]::pg_catalog.oid[]) THEN
                label := 'quasi_identifier';
            END IF;
        END IF;

        IF label IS NOT NULL THEN
            schema := c.nspname;
            "table" := c.relname;
            "column" := c.attname;
            suggested_label := label;
            evidence := why;
            RETURN NEXT;
        END IF;
    END LOOP;
END $$;
-- The administrative functions are executable by PUBLIC but refused to
-- anyone who is not a privacy administrator (or a superuser): checked in the
-- caller's context when the call is set up, and again by the first line.
GRANT EXECUTE ON FUNCTION privacy.detect(pg_catalog.regclass, pg_catalog.int4) TO PUBLIC;
COMMENT ON FUNCTION privacy.detect(pg_catalog.regclass, pg_catalog.int4) IS
'suggested labels for unlabelled columns, from column names and sampled values (e-mail, mainland mobile, resident ID, bank card, IPv4), with evidence';

-- What privacy still depends on: unlabelled columns of labelled tables,
-- columns detection thinks personal, and roles that can read labelled base
-- tables directly (around the views).
CREATE FUNCTION privacy.report_coverage()
RETURNS TABLE (kind pg_catalog.text, schema pg_catalog.name, "table" pg_catalog.name,
               "column" pg_catalog.name, detail pg_catalog.text)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT privacy.require_privacy_admin();   -- privacy administrators only
    SELECT 'unlabelled column', l.schema, l."table", l."column",
           'hidden in every view but the full one until labelled (privacy by default)'
      FROM privacy.labels l
     WHERE l."column" IS NOT NULL AND l.label IS NULL
    UNION ALL
    SELECT 'detection', d.schema, d."table", d."column",
           pg_catalog.format('suggested label %L: %s', d.suggested_label, d.evidence)
      FROM privacy.detect() d
    UNION ALL
    SELECT 'direct access', n.nspname, k.relname, NULL::pg_catalog.name,
           pg_catalog.format('role %I can read the base table, around the privacy views', r.rolname)
      FROM pg_catalog.pg_seclabel s
      JOIN pg_catalog.pg_class k ON k.oid OPERATOR(pg_catalog.=) s.objoid
      JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) k.relnamespace
      CROSS JOIN pg_catalog.pg_roles r
     WHERE s.provider OPERATOR(pg_catalog.=) 'crm_privacy'
       AND s.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND s.objsubid OPERATOR(pg_catalog.=) 0
       AND NOT r.rolsuper
       AND r.oid OPERATOR(pg_catalog.<>) k.relowner
       AND r.rolname OPERATOR(pg_catalog.<>) ALL (ARRAY['pg_database_owner', 'crm_privacy_views'])
       AND pg_catalog.has_any_column_privilege(r.oid, k.oid, 'SELECT')
     ORDER BY 1, 2, 3, 4, 5
$$;
GRANT EXECUTE ON FUNCTION privacy.report_coverage() TO PUBLIC;
COMMENT ON FUNCTION privacy.report_coverage() IS
'unlabelled columns of labelled tables, detection suggestions, and roles that can read labelled base tables directly';

-- The data model as labelled: every column of every labelled table, with its
-- type and its effective label, and every labelled table with its role.
CREATE FUNCTION privacy.report_data_model()
RETURNS TABLE (schema pg_catalog.name, "table" pg_catalog.name, "column" pg_catalog.name,
               data_type pg_catalog.text, class pg_catalog.text, level pg_catalog.text,
               mask pg_catalog.text, anon pg_catalog.text, labelled pg_catalog.bool)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT privacy.require_privacy_admin();   -- privacy administrators only
    SELECT l.schema, l."table", l."column",
           CASE WHEN l."column" IS NULL THEN NULL
                ELSE pg_catalog.format_type(a.atttypid, a.atttypmod) END,
           l.class, l.level, l.mask, l.anon, l.label IS NOT NULL
      FROM privacy.labels l
      JOIN pg_catalog.pg_namespace n ON n.nspname OPERATOR(pg_catalog.=) l.schema
      JOIN pg_catalog.pg_class c ON c.relnamespace OPERATOR(pg_catalog.=) n.oid
                                AND c.relname OPERATOR(pg_catalog.=) l."table"
      LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid
                                         AND a.attname OPERATOR(pg_catalog.=) l."column"
     ORDER BY l.schema, l."table", a.attnum NULLS FIRST
$$;
GRANT EXECUTE ON FUNCTION privacy.report_data_model() TO PUBLIC;
COMMENT ON FUNCTION privacy.report_data_model() IS
'every labelled table and column with its type and effective label (class, level, mask, anon)';

-- The generated views: kind, schema, view, base table, and the roles that may
-- read each.
CREATE FUNCTION privacy.report_views()
RETURNS TABLE (kind pg_catalog.text, schema pg_catalog.name, view pg_catalog.name,
               base_table pg_catalog.regclass, roles pg_catalog.name[])
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT privacy.require_privacy_admin();   -- privacy administrators only
    SELECT CASE WHEN n.nspname OPERATOR(pg_catalog.~~) 'privacy\_optout\_%' THEN 'optout'
                WHEN n.nspname OPERATOR(pg_catalog.~~) 'privacy\_disclose\_%' THEN 'disclose'
                ELSE pg_catalog.substr(n.nspname, 9) END,
           n.nspname, v.relname,
           (SELECT DISTINCT d.refobjid::pg_catalog.regclass
              FROM pg_catalog.pg_rewrite r
              JOIN pg_catalog.pg_depend d ON d.objid OPERATOR(pg_catalog.=) r.oid
               AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
               AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
             WHERE r.ev_class OPERATOR(pg_catalog.=) v.oid
               AND d.refobjid OPERATOR(pg_catalog.<>) v.oid
               AND (SELECT k.relkind FROM pg_catalog.pg_class k
                     WHERE k.oid OPERATOR(pg_catalog.=) d.refobjid) OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p', 'f']::"char"[])
               AND d.refobjid OPERATOR(pg_catalog.<>) ALL (ARRAY['privacy.subject_choices'::pg_catalog.regclass,
                                                                 'privacy.pseudonym_key'::pg_catalog.regclass])),
           ARRAY(SELECT r.rolname FROM pg_catalog.aclexplode(v.relacl) x
                   JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) x.grantee
                  WHERE x.privilege_type OPERATOR(pg_catalog.=) 'SELECT'
                    AND x.grantee OPERATOR(pg_catalog.<>) v.relowner
                  ORDER BY r.rolname)
      FROM pg_catalog.pg_class v
      JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) v.relnamespace
     WHERE v.relkind OPERATOR(pg_catalog.=) 'v'
       AND (n.nspname OPERATOR(pg_catalog.=) ANY (ARRAY['privacy_standard', 'privacy_full', 'privacy_anon'])
            OR n.nspname OPERATOR(pg_catalog.~~) 'privacy\_optout\_%'
            OR n.nspname OPERATOR(pg_catalog.~~) 'privacy\_disclose\_%')
     ORDER BY 2, 3
$$;
GRANT EXECUTE ON FUNCTION privacy.report_views() TO PUBLIC;
COMMENT ON FUNCTION privacy.report_views() IS
'the generated privacy views: kind, schema, view, base table and the roles that may read each';

-- Privileged reads recorded since a time.
CREATE FUNCTION privacy.report_access(since pg_catalog.timestamptz DEFAULT pg_catalog.now() OPERATOR(pg_catalog.-) '30 days'::pg_catalog.interval)
RETURNS TABLE (at pg_catalog.timestamptz, session_user_name pg_catalog.name,
               current_user_name pg_catalog.name, application_name pg_catalog.text,
               client_addr pg_catalog.inet, relations pg_catalog.text[],
               row_count pg_catalog.int8, query pg_catalog.text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT privacy.require_privacy_admin();   -- privacy administrators only
    SELECT a.at, a.session_user_name, a.current_user_name, a.application_name, a.client_addr,
           a.relations, a.row_count, a.query
      FROM privacy.access_log a
     WHERE a.at OPERATOR(pg_catalog.>=) since
     ORDER BY a.id
$$;
GRANT EXECUTE ON FUNCTION privacy.report_access(pg_catalog.timestamptz) TO PUBLIC;
COMMENT ON FUNCTION privacy.report_access(pg_catalog.timestamptz) IS
'the privileged reads recorded since a time (30 days by default)';

-- What a reviewer checks first.
CREATE FUNCTION privacy.check_setup()
RETURNS TABLE ("check" pg_catalog.text, ok pg_catalog.bool, detail pg_catalog.text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n pg_catalog.int8;
    names text;
BEGIN
    PERFORM privacy.require_privacy_admin();   -- privacy administrators only
    "check" := 'library preloaded';
    ok := pg_catalog.current_setting('shared_preload_libraries') OPERATOR(pg_catalog.~) '(^|[ ,])crm_privacy($|[ ,])';
    detail := CASE WHEN ok THEN 'shared_preload_libraries includes crm_privacy'
                   ELSE 'add crm_privacy to shared_preload_libraries (needed to record reads of full views)' END;
    RETURN NEXT;

    "check" := 'pseudonym key';
    SELECT pg_catalog.count(*) INTO n FROM privacy.pseudonym_key;
    ok := n OPERATOR(pg_catalog.=) 1;
    detail := CASE WHEN ok THEN 'one key' ELSE 'no key: run privacy.rotate_pseudonym_key()' END;
    RETURN NEXT;

    "check" := 'event triggers enabled';
    SELECT pg_catalog.string_agg(e.evtname, ', ') INTO names FROM pg_catalog.pg_event_trigger e
     WHERE e.evtname OPERATOR(pg_catalog.~~) 'crm\_privacy\_%' AND e.evtenabled OPERATOR(pg_catalog.=) 'D';
    ok := names IS NULL;
    detail := COALESCE('disabled: ' OPERATOR(pg_catalog.||) names, 'labels are kept true and views rebuilt after DDL');
    RETURN NEXT;

    "check" := 'related tables point at subject tables';
    SELECT pg_catalog.string_agg(pg_catalog.format('%s.%s', l.schema, l."table"), ', ') INTO names
      FROM privacy.labels l, LATERAL privacy.parse_label(l.label) p
     WHERE l."column" IS NULL AND l.class OPERATOR(pg_catalog.=) 'related'
       AND NOT EXISTS (SELECT FROM privacy.labels s
                        WHERE s."column" IS NULL AND s.class OPERATOR(pg_catalog.=) 'subject'
                          AND pg_catalog.format('%I.%I', s.schema, s."table") OPERATOR(pg_catalog.=) p.subject);
    ok := names IS NULL;
    detail := COALESCE('dangling: ' OPERATOR(pg_catalog.||) names, 'every related label names a labelled subject table');
    RETURN NEXT;

    "check" := 'views built';
    SELECT pg_catalog.string_agg(pg_catalog.format('%s.%s', l.schema, l."table"), ', ') INTO names
      FROM privacy.labels l
     WHERE l."column" IS NULL
       AND pg_catalog.to_regclass(pg_catalog.format('privacy_standard.%I', l."table")) IS NULL;
    ok := names IS NULL;
    detail := COALESCE('no views for: ' OPERATOR(pg_catalog.||) names OPERATOR(pg_catalog.||) ' (run privacy.refresh_views())',
                       'every labelled table has its views');
    RETURN NEXT;

    "check" := 'views owner unprivileged';
    SELECT NOT (r.rolsuper OR r.rolcanlogin OR r.rolbypassrls OR r.rolcreaterole OR r.rolreplication)
           AND NOT EXISTS (SELECT FROM pg_catalog.pg_auth_members m WHERE m.roleid OPERATOR(pg_catalog.=) r.oid)
      INTO ok
      FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) 'crm_privacy_views';
    ok := COALESCE(ok, false);
    detail := CASE WHEN ok THEN 'crm_privacy_views owns the views: no superuser, no login, no BYPASSRLS, no members'
                   ELSE 'crm_privacy_views is missing, privileged or has members: views are not rebuilt until a superuser fixes it' END;
    RETURN NEXT;

    "check" := 'no unlabelled columns';
    SELECT pg_catalog.count(*) INTO n FROM privacy.labels l WHERE l."column" IS NOT NULL AND l.label IS NULL;
    ok := n OPERATOR(pg_catalog.=) 0;
    detail := pg_catalog.format('%s unlabelled columns of labelled tables (hidden by default; see privacy.report_coverage())', n);
    RETURN NEXT;

    "check" := 'no direct access to labelled tables';
    SELECT pg_catalog.count(*) INTO n FROM privacy.report_coverage() c
     WHERE c.kind OPERATOR(pg_catalog.=) 'direct access'
       AND c.detail OPERATOR(pg_catalog.!~~) '%pg\_read\_all\_data%';
    ok := n OPERATOR(pg_catalog.=) 0;
    detail := pg_catalog.format('%s grants let roles read labelled base tables around the views', n);
    RETURN NEXT;

    "check" := 'subject tables audited';
    SELECT pg_catalog.string_agg(pg_catalog.format('%s.%s', l.schema, l."table"), ', ') INTO names
      FROM privacy.labels l
     WHERE l."column" IS NULL AND l.class OPERATOR(pg_catalog.=) ANY (ARRAY['subject', 'related'])
       AND NOT privacy.is_fully_audited(pg_catalog.to_regclass(pg_catalog.format('%I.%I', l.schema, l."table")));
    ok := names IS NULL;
    detail := COALESCE('not audited: ' OPERATOR(pg_catalog.||) names OPERATOR(pg_catalog.||) ' (privacy.enable_audit())',
                       'every labelled table is audited');
    RETURN NEXT;

    "check" := 'audit trail intact';
    SELECT pg_catalog.string_agg(v.log, ', ') INTO names FROM privacy.verify_audit() v WHERE NOT v.ok;
    ok := names IS NULL;
    SELECT pg_catalog.count(*) INTO n FROM privacy.audit_log a
     WHERE a.id OPERATOR(pg_catalog.>) COALESCE((SELECT pg_catalog.max(s.id) FROM privacy.audit_seal s
                                                  WHERE s.log OPERATOR(pg_catalog.=) 'audit_log'), 0);
    detail := COALESCE('broken chain: ' OPERATOR(pg_catalog.||) names,
                       pg_catalog.format('sealed rows verify; %s audit rows not sealed yet (privacy.seal_audit())', n));
    RETURN NEXT;
END $$;
GRANT EXECUTE ON FUNCTION privacy.check_setup() TO PUBLIC;
COMMENT ON FUNCTION privacy.check_setup() IS
'checks a reviewer starts with: preloading, key, event triggers, labels, views, coverage, audit, seal';
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
'event trigger: after ALTER TABLE, FUNCTION or SCHEMA, the crm_privacy labels they touch must still hold; rebuild the privacy views of relabelled or altered tables, and after policy or domain changes';

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
                 'ALTER FUNCTION', 'ALTER ROUTINE', 'SECURITY LABEL',
                 'CREATE POLICY', 'ALTER POLICY', 'DROP POLICY', 'ALTER DOMAIN', 'CREATE RULE',
                 'CREATE TABLE', 'CREATE TRIGGER', 'CREATE SCHEMA')
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
