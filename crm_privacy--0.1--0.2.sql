-- crm_privacy 0.1 -> 0.2 (ALTER EXTENSION crm_privacy UPDATE TO '0.2')
--
-- What 0.2 adds or changes in the SQL objects of 0.1; the library (the .so)
-- of 0.2 serves both until the update.  Labels, choices, change requests,
-- erasures and the audit and access logs are rows of tables this script
-- does not touch.  test/upgrade.t checks that a 0.1 database updated with
-- this script has the same objects as one created at 0.2.
\echo Use "ALTER EXTENSION crm_privacy UPDATE TO '0.2'" to load this file. \quit

-- Purposes and disclosure profiles that exist already: 42710, not 23505.
CREATE OR REPLACE FUNCTION privacy.add_purpose(name pg_catalog.text, description pg_catalog.text)
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
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION USING ERRCODE = 'duplicate_object',
        MESSAGE = format('purpose "%s" already exists', name),
        HINT = 'The purposes are listed in privacy.purposes.';
END $$;
GRANT EXECUTE ON FUNCTION privacy.add_purpose(pg_catalog.text, pg_catalog.text) TO PUBLIC;
COMMENT ON FUNCTION privacy.add_purpose(pg_catalog.text, pg_catalog.text) IS
'add a purpose subjects can opt out of, and its opt-out views';

CREATE OR REPLACE FUNCTION privacy.create_disclosure(profile pg_catalog.text,
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
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION USING ERRCODE = 'duplicate_object',
        MESSAGE = format('disclosure profile "%s" already exists', profile),
        HINT = 'The profiles are listed in privacy.disclosure_profiles.';
END $$;

-- The archive at DROP EXTENSION keeps each record's table OID (a table renamed
-- or given another owner while the extension is gone keeps its records).
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
CREATE OR REPLACE FUNCTION privacy.archive_logs() RETURNS void
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
               c.previous_names, c.table_owner, c.key_column, c.subject IS NOT NULL AS applied,
               c.subject AS subject_oid
          FROM privacy.subject_choices c;
    CREATE TABLE crm_privacy_archive.choice_history AS
        SELECT h.* FROM privacy.subject_choice_history h;
    -- and the subjects' change requests and erasures
    CREATE TABLE crm_privacy_archive.change_requests AS
        SELECT r.id, r.subject_name, r.key, r.col, r.new_value, r.requested_by, r.requested_at, r.status,
               r.decided_by, r.decided_at, r.note, r.table_owner, r.subject IS NOT NULL AS applied,
               r.subject AS subject_oid
          FROM privacy.change_request_data r;
    CREATE TABLE crm_privacy_archive.erasures AS
        SELECT e.subject_name, e.key, e.erased_at, e.erased_by, e.rows_changed, e.runs, e.not_erased,
               e.fingerprints, e.table_owner, e.subject IS NOT NULL AS applied, e.subject AS subject_oid
          FROM privacy.erasure_data e;
    FOREACH t IN ARRAY ARRAY['purposes', 'choices', 'choice_history', 'change_requests', 'erasures'] LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON crm_privacy_archive.%I FROM PUBLIC', t);
        EXECUTE pg_catalog.format('ALTER TABLE crm_privacy_archive.%I OWNER TO %s', t, boot);
    END LOOP;
END $$;
REVOKE ALL ON FUNCTION privacy.archive_logs() FROM PUBLIC;
COMMENT ON FUNCTION privacy.archive_logs() IS
'called by DROP EXTENSION crm_privacy: move the logs out of the extension, and copy the choices, to schema crm_privacy_archive';

DROP FUNCTION privacy.archived_applies(pg_catalog.bool, pg_catalog.text, pg_catalog.oid);

-- The table an archived record that applied to a table (relid, then named
-- name and owned by owner) applies to now, by its name: that table still
-- (renamed, or given to another owner, while the extension was gone; the
-- same OID and the same name or owner, not an OID reused by another's
-- table), or the table of the same name and owner (a reload meanwhile);
-- NULL: none, the record waits under its name.
CREATE FUNCTION privacy.archived_name(applied pg_catalog.bool, relid pg_catalog.oid, name pg_catalog.text,
                                      owner pg_catalog.oid)
RETURNS pg_catalog.text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT CASE WHEN applied THEN
    COALESCE((SELECT privacy.choice_table_name(k.oid) FROM pg_catalog.pg_class k
               WHERE k.oid OPERATOR(pg_catalog.=) relid
                 AND (privacy.choice_table_name(k.oid) OPERATOR(pg_catalog.=) name
                      OR k.relowner OPERATOR(pg_catalog.=) owner)),
             (SELECT name FROM pg_catalog.pg_class k
               WHERE k.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(name)
                 AND k.relowner OPERATOR(pg_catalog.=) owner))
END
$$;
REVOKE ALL ON FUNCTION privacy.archived_name(pg_catalog.bool, pg_catalog.oid, pg_catalog.text, pg_catalog.oid)
    FROM PUBLIC;

-- disable_audit of a table that is gone: 42P01.
CREATE OR REPLACE FUNCTION privacy.disable_audit(tbl pg_catalog.regclass) RETURNS void
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
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_class k WHERE k.oid OPERATOR(pg_catalog.=) tbl::pg_catalog.oid) THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_table',
            MESSAGE = pg_catalog.format('relation with OID %s does not exist', tbl::pg_catalog.oid);
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

-- Records follow renames and owners (REASSIGN OWNED, enum values renamed).
-- The owner a record is checked against: its table's owner now while the
-- table is there (REASSIGN OWNED fires no event trigger), else the owner
-- the table had when it was dropped.
CREATE FUNCTION privacy.record_owner(tbl pg_catalog.oid, kept_owner pg_catalog.oid)
RETURNS pg_catalog.oid
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT COALESCE((SELECT k.relowner FROM pg_catalog.pg_class k WHERE k.oid OPERATOR(pg_catalog.=) tbl), kept_owner)
$$;
REVOKE ALL ON FUNCTION privacy.record_owner(pg_catalog.oid, pg_catalog.oid) FROM PUBLIC;

CREATE OR REPLACE FUNCTION privacy.resolve_choices(tables pg_catalog.oid[], dropped pg_catalog.oid[],
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

    -- 2. The records of each table of the command (labelled or not: a table
    -- renamed while it has no label gives its name up all the same) carry
    -- its name and owner now; the name they had is a name it gave up.
    FOR t IN SELECT k.oid, privacy.choice_table_name(k.oid) AS name, k.relowner AS owner
               FROM pg_catalog.pg_class k
              WHERE k.oid OPERATOR(pg_catalog.=) ANY (COALESCE(tables, ARRAY(
                        SELECT s.subject FROM privacy.subject_choices s WHERE s.subject IS NOT NULL
                        UNION SELECT r.subject FROM privacy.change_request_data r WHERE r.subject IS NOT NULL
                        UNION SELECT e.subject FROM privacy.erasure_data e WHERE e.subject IS NOT NULL
                        UNION SELECT x.tbl FROM privacy.disclosure_column_data x WHERE x.tbl IS NOT NULL)))
              ORDER BY k.oid LOOP
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
        UPDATE privacy.disclosure_column_data x
           SET previous_names = privacy.gave_up(x.previous_names, x.tbl_name, t.name), tbl_name = t.name,
               table_owner = t.owner
         WHERE x.tbl OPERATOR(pg_catalog.=) t.oid
           AND (x.tbl_name OPERATOR(pg_catalog.<>) t.name OR x.table_owner IS DISTINCT FROM t.owner);
    END LOOP;

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
        -- 3. Disclosure treatments (of subject and related tables), of the same
        -- owner: a privacy administrator disclosed that owner's table.
        UPDATE privacy.disclosure_column_data x
           SET tbl = t.oid, tbl_name = t.name, previous_names = NULL, table_owner = t.owner
         WHERE x.tbl IS NULL
           AND (x.tbl_name OPERATOR(pg_catalog.=) t.name OR t.name OPERATOR(pg_catalog.=) ANY (x.previous_names))
           AND (any_owner OR privacy.record_owner(x.tbl, x.table_owner) OPERATOR(pg_catalog.=) t.owner)
           AND NOT EXISTS (SELECT FROM privacy.disclosure_column_data m
                            WHERE m.tbl OPERATOR(pg_catalog.=) t.oid AND m.profile OPERATOR(pg_catalog.=) x.profile
                              AND m.col OPERATOR(pg_catalog.=) x.col);
        DELETE FROM privacy.disclosure_column_data x
         WHERE x.tbl IS NULL
           AND (x.tbl_name OPERATOR(pg_catalog.=) t.name OR t.name OPERATOR(pg_catalog.=) ANY (x.previous_names))
           AND (any_owner OR privacy.record_owner(x.tbl, x.table_owner) OPERATOR(pg_catalog.=) t.owner);
        INSERT INTO privacy.disclosure_column_data (profile, tbl, tbl_name, col, treatment, table_owner)
        SELECT x.profile, t.oid, t.name, x.col, x.treatment, t.owner
          FROM privacy.disclosure_column_data x
         WHERE x.tbl IS NOT NULL AND x.tbl OPERATOR(pg_catalog.<>) t.oid
           AND t.name OPERATOR(pg_catalog.=) ANY (x.previous_names)
           AND (any_owner OR privacy.record_owner(x.tbl, x.table_owner) OPERATOR(pg_catalog.=) t.owner)
        ON CONFLICT DO NOTHING;
        UPDATE privacy.disclosure_column_data x SET previous_names = pg_catalog.array_remove(x.previous_names, t.name)
         WHERE x.tbl IS NOT NULL AND x.tbl OPERATOR(pg_catalog.<>) t.oid
           AND t.name OPERATOR(pg_catalog.=) ANY (x.previous_names)
           AND (any_owner OR privacy.record_owner(x.tbl, x.table_owner) OPERATOR(pg_catalog.=) t.owner);

        CONTINUE WHEN t.class OPERATOR(pg_catalog.<>) 'subject';

        -- 4. Its own choices stay with their key column (as the table
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

        -- 5. The choices it takes: those waiting under its name (or whose
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
                   AND (any_owner OR privacy.record_owner(s.subject, s.table_owner) OPERATOR(pg_catalog.=) t.owner)
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

        -- 6. Its change requests: those waiting under its name, and the
        -- pending ones of a table still there that gave the name up.
        UPDATE privacy.change_request_data r
           SET subject = t.oid, subject_name = t.name, previous_names = NULL, table_owner = t.owner
         WHERE ((r.subject IS NULL AND (r.subject_name OPERATOR(pg_catalog.=) t.name
                                        OR t.name OPERATOR(pg_catalog.=) ANY (r.previous_names)))
                OR (r.subject IS NOT NULL AND r.subject OPERATOR(pg_catalog.<>) t.oid
                    AND t.name OPERATOR(pg_catalog.=) ANY (r.previous_names)
                    AND r.status OPERATOR(pg_catalog.=) 'pending'))
           AND (any_owner OR privacy.record_owner(r.subject, r.table_owner) OPERATOR(pg_catalog.=) t.owner);

        -- 7. Its erasures: one record per key.  Two records that meet may be
        -- copies of one (a table that gave the name up keeps its own, and
        -- gives it again after it is dropped): the fingerprints are their
        -- union, runs and rows those of the larger, never a sum.
        FOR c IN SELECT e.*, e.ctid AS tid FROM privacy.erasure_data e
                  WHERE ((e.subject IS NULL AND (e.subject_name OPERATOR(pg_catalog.=) t.name
                                                 OR t.name OPERATOR(pg_catalog.=) ANY (e.previous_names)))
                         OR (e.subject IS NOT NULL AND e.subject OPERATOR(pg_catalog.<>) t.oid
                             AND t.name OPERATOR(pg_catalog.=) ANY (e.previous_names)))
                    AND (any_owner OR privacy.record_owner(e.subject, e.table_owner) OPERATOR(pg_catalog.=) t.owner)
                  ORDER BY e.key, e.erased_at FOR UPDATE LOOP
            UPDATE privacy.erasure_data e
               SET rows_changed = GREATEST(e.rows_changed, c.rows_changed),
                   runs = GREATEST(e.runs, c.runs),
                   fingerprints = ARRAY(SELECT DISTINCT f.f
                                          FROM pg_catalog.unnest(e.fingerprints OPERATOR(pg_catalog.||)
                                                                 c.fingerprints) AS f(f)
                                         ORDER BY f.f),
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

    END LOOP;
END $$;
REVOKE ALL ON FUNCTION privacy.resolve_choices(pg_catalog.oid[], pg_catalog.oid[], pg_catalog.text[],
                                               pg_catalog.bool) FROM PUBLIC;

-- After REASSIGN OWNED BY old_owners TO new_owner (which fires no event
-- trigger; the library's utility hook calls this as the extension's owner):
-- what waits under the names of the old owners' dropped tables is the new
-- owner's, and every labelled table takes what it now may.
CREATE FUNCTION privacy.reassign_records(old_owners pg_catalog.oid[], new_owner pg_catalog.oid)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE privacy.subject_choices s SET table_owner = new_owner
     WHERE s.subject IS NULL AND s.table_owner OPERATOR(pg_catalog.=) ANY (old_owners);
    UPDATE privacy.change_request_data r SET table_owner = new_owner
     WHERE r.subject IS NULL AND r.table_owner OPERATOR(pg_catalog.=) ANY (old_owners);
    UPDATE privacy.erasure_data e SET table_owner = new_owner
     WHERE e.subject IS NULL AND e.table_owner OPERATOR(pg_catalog.=) ANY (old_owners);
    UPDATE privacy.disclosure_column_data x SET table_owner = new_owner
     WHERE x.tbl IS NULL AND x.table_owner OPERATOR(pg_catalog.=) ANY (old_owners);
    PERFORM privacy.resolve_choices(NULL, '{}', '{}');
END $$;
REVOKE ALL ON FUNCTION privacy.reassign_records(pg_catalog.oid[], pg_catalog.oid) FROM PUBLIC;

-- Before ALTER TYPE typ RENAME VALUE old_label TO new_label (the event
-- trigger, for the type's owner): the choices, change requests and erasures
-- of the subject tables keyed by typ (or a domain over it) are keyed by the
-- new value, as their rows are.
CREATE FUNCTION privacy.rename_enum_keys(typ pg_catalog.oid, old_label pg_catalog.text,
                                         new_label pg_catalog.text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    keyed pg_catalog.oid[];
BEGIN
    WITH RECURSIVE types(oid) AS (
        SELECT typ
        UNION SELECT d.oid FROM pg_catalog.pg_type d JOIN types ON d.typbasetype OPERATOR(pg_catalog.=) types.oid)
    SELECT pg_catalog.array_agg(k.oid) INTO keyed
      FROM pg_catalog.pg_seclabel l
      JOIN pg_catalog.pg_class k ON k.oid OPERATOR(pg_catalog.=) l.objoid
     CROSS JOIN LATERAL privacy.parse_label(l.label) p
      JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) k.oid
                                    AND a.attname OPERATOR(pg_catalog.=) p.key AND NOT a.attisdropped
     WHERE l.provider OPERATOR(pg_catalog.=) 'crm_privacy'
       AND l.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND l.objsubid OPERATOR(pg_catalog.=) 0 AND p.class OPERATOR(pg_catalog.=) 'subject'
       AND a.atttypid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT t.oid FROM types t));
    IF keyed IS NULL THEN
        RETURN;
    END IF;
    UPDATE privacy.subject_choices s SET key = new_label
     WHERE s.subject OPERATOR(pg_catalog.=) ANY (keyed) AND s.key OPERATOR(pg_catalog.=) old_label;
    UPDATE privacy.change_request_data r SET key = new_label
     WHERE r.subject OPERATOR(pg_catalog.=) ANY (keyed) AND r.key OPERATOR(pg_catalog.=) old_label;
    UPDATE privacy.erasure_data e SET key = new_label
     WHERE e.subject OPERATOR(pg_catalog.=) ANY (keyed) AND e.key OPERATOR(pg_catalog.=) old_label;
END $$;
REVOKE ALL ON FUNCTION privacy.rename_enum_keys(pg_catalog.oid, pg_catalog.text, pg_catalog.text) FROM PUBLIC;

-- detect() reads text values in the C collation (a column in a
-- nondeterministic collation made it, report_coverage and check_setup fail).
-- Suggested labels for unlabelled columns, from column names and sampled
-- values, with the evidence.  Reads up to "sample" non-NULL values of each
-- text column with the caller's privileges; not those of a table whose
-- row-level security applies to the caller (its policies are the table
-- owner's code, which would run as the caller).
CREATE OR REPLACE FUNCTION privacy.detect(tbl pg_catalog.regclass DEFAULT NULL,
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

        -- What the values say (text columns the caller may read), in the
        -- C collation: a nondeterministic one has no regular expressions.
        IF is_text AND c.readable THEN
            EXECUTE pg_catalog.format(
                'SELECT pg_catalog.count(*) AS n,'
                ' pg_catalog.count(*) FILTER (WHERE privacy.is_email(v::pg_catalog.text)) AS email,'
                ' pg_catalog.count(*) FILTER (WHERE privacy.is_cn_mobile(v::pg_catalog.text)) AS mobile,'
                ' pg_catalog.count(*) FILTER (WHERE privacy.is_valid_cn_id(v::pg_catalog.text)) AS cn_id,'
                ' pg_catalog.count(*) FILTER (WHERE privacy.luhn_valid(v::pg_catalog.text)) AS card,'
                ' pg_catalog.count(*) FILTER (WHERE v::pg_catalog.text OPERATOR(pg_catalog.~)'
                '   ''^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}$'') AS ipv4'
                ' FROM (SELECT %I::pg_catalog.text COLLATE pg_catalog."C" AS v FROM %I.%I WHERE %I IS NOT NULL LIMIT %s) s',
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

-- What a role sees of each column.
-- What a role sees of each column of the standard views: in clear, masked
-- (and by which rule) or NULL, from the labels and the role's clearance.
-- The views' column comments say the same for every clearance.
CREATE FUNCTION privacy.role_columns(role pg_catalog.regrole DEFAULT CURRENT_USER::pg_catalog.regrole)
RETURNS TABLE (view pg_catalog.text, "column" pg_catalog.name, class pg_catalog.text,
               level pg_catalog.text, clearance pg_catalog.text, sees pg_catalog.text)
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    WITH r AS (SELECT privacy.clearance(role) AS clearance),
    levels (name, rank) AS (VALUES ('public', 0), ('internal', 1), ('confidential', 2), ('secret', 3))
    SELECT pg_catalog.format('privacy_standard.%I', v.relname), l."column", l.class, l.level, r.clearance,
           x.sees OPERATOR(pg_catalog.||)
           CASE WHEN x.sees OPERATOR(pg_catalog.<>) 'NULL' AND l.class OPERATOR(pg_catalog.=) 'sensitive'
                THEN ', NULL for subjects who opted out of sensitive_data' ELSE '' END
      FROM privacy.labels l
      JOIN pg_catalog.pg_namespace n ON n.nspname OPERATOR(pg_catalog.=) l.schema
      JOIN pg_catalog.pg_class b ON b.relnamespace OPERATOR(pg_catalog.=) n.oid
                                AND b.relname OPERATOR(pg_catalog.=) l."table"
      JOIN pg_catalog.pg_class v ON v.relname OPERATOR(pg_catalog.=) b.relname
                                AND v.relnamespace OPERATOR(pg_catalog.=) 'privacy_standard'::pg_catalog.regnamespace
                                AND v.relkind OPERATOR(pg_catalog.=) 'v'
      JOIN levels ll ON ll.name OPERATOR(pg_catalog.=) l.level
     CROSS JOIN r
      JOIN levels cl ON cl.name OPERATOR(pg_catalog.=) r.clearance
     CROSS JOIN LATERAL (SELECT
           CASE WHEN l.label IS NULL THEN 'NULL (no label)'
                WHEN l.level OPERATOR(pg_catalog.=) 'public' OR l.mask OPERATOR(pg_catalog.=) 'keep'
                     OR cl.rank OPERATOR(pg_catalog.>=) ll.rank THEN 'in clear'
                WHEN l.mask OPERATOR(pg_catalog.=) 'null' THEN 'NULL'
                ELSE 'masked (' OPERATOR(pg_catalog.||) l.mask OPERATOR(pg_catalog.||) ')' END AS sees) x
     WHERE l."column" IS NOT NULL
       AND EXISTS (SELECT FROM pg_catalog.pg_depend d
                    WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
                      AND d.refobjid OPERATOR(pg_catalog.=) b.oid
                      AND d.objid IN (SELECT w.oid FROM pg_catalog.pg_rewrite w
                                       WHERE w.ev_class OPERATOR(pg_catalog.=) v.oid))
     ORDER BY 1, l."column"
$$;
COMMENT ON FUNCTION privacy.role_columns(pg_catalog.regrole) IS
'what a role sees of each column of the standard views (in clear, masked by which rule, or NULL), from the labels and its clearance';

-- The event trigger after DDL also follows ALTER TYPE (key columns retyped
-- with their type) and COMMENT (the views carry the comments).
COMMENT ON FUNCTION privacy.ddl_command_end() IS
'event trigger: after ALTER TABLE, FUNCTION, SCHEMA or TYPE, the crm_privacy labels they touch must still hold; rebuild the privacy views of relabelled, altered or commented tables, and after policy or domain changes';
DROP EVENT TRIGGER crm_privacy_ddl_command_end;
CREATE EVENT TRIGGER crm_privacy_ddl_command_end ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'ALTER FOREIGN TABLE', 'ALTER SCHEMA',
                 'ALTER FUNCTION', 'ALTER ROUTINE', 'SECURITY LABEL', 'ALTER TYPE',
                 'CREATE POLICY', 'ALTER POLICY', 'DROP POLICY', 'ALTER DOMAIN', 'CREATE RULE',
                 'CREATE TABLE', 'CREATE TRIGGER', 'CREATE SCHEMA', 'COMMENT')
    EXECUTE FUNCTION privacy.ddl_command_end();
-- The checks of new tables and triggers hold in replica mode too.
ALTER EVENT TRIGGER crm_privacy_ddl_command_end ENABLE ALWAYS;

-- The same masks of character(n): the value without its trailing spaces (as
-- its cast to text), masked, with those spaces given back.  The views mask a
-- character(n) column with these, without a cast to text and back (which
-- cost 30 % of a full read of a customer table by a public-clearance reader).
CREATE FUNCTION privacy.mask_partial(v pg_catalog.bpchar, f pg_catalog.int4, l pg_catalog.int4,
                                     pad pg_catalog.text DEFAULT '*')
RETURNS pg_catalog.bpchar
AS 'MODULE_PATHNAME', 'crm_mask_partial_bpchar'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.mask_email(pg_catalog.bpchar) RETURNS pg_catalog.bpchar
AS 'MODULE_PATHNAME', 'crm_mask_email_bpchar'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.mask_phone(pg_catalog.bpchar) RETURNS pg_catalog.bpchar
AS 'MODULE_PATHNAME', 'crm_mask_phone_bpchar'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.mask_name(pg_catalog.bpchar) RETURNS pg_catalog.bpchar
AS 'MODULE_PATHNAME', 'crm_mask_name_bpchar'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.mask_cn_id(pg_catalog.bpchar) RETURNS pg_catalog.bpchar
AS 'MODULE_PATHNAME', 'crm_mask_cn_id_bpchar'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION privacy.mask_card(pg_catalog.bpchar) RETURNS pg_catalog.bpchar
AS 'MODULE_PATHNAME', 'crm_mask_card_bpchar'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.mask_partial(pg_catalog.bpchar, pg_catalog.int4, pg_catalog.int4, pg_catalog.text) IS
'mask_partial of text; a character(n) value keeps its trailing spaces';
COMMENT ON FUNCTION privacy.mask_email(pg_catalog.bpchar) IS
'mask_email of text; a character(n) value keeps its trailing spaces';
COMMENT ON FUNCTION privacy.mask_phone(pg_catalog.bpchar) IS
'mask_phone of text; a character(n) value keeps its trailing spaces';
COMMENT ON FUNCTION privacy.mask_name(pg_catalog.bpchar) IS
'mask_name of text; a character(n) value keeps its trailing spaces';
COMMENT ON FUNCTION privacy.mask_cn_id(pg_catalog.bpchar) IS
'mask_cn_id of text; a character(n) value keeps its trailing spaces';
COMMENT ON FUNCTION privacy.mask_card(pg_catalog.bpchar) IS
'mask_card of text; a character(n) value keeps its trailing spaces';

-- Every view built again: they carry the comments now.
-- (0.2) the opt-outs again, for the views of distributed tables (Citus)
-- The opt-outs again, one row per subject, purpose and key opted out, for
-- the views of distributed tables on a Citus cluster: there
-- privacy.citus_setup() makes it a reference table (a copy on every node),
-- so that the workers look opt-outs up next to the rows (doc/scale.md).
-- Kept by the triggers below from privacy.subject_choices, which stays the
-- record (history, waiting choices); never written otherwise.
CREATE TABLE privacy.optout_keys (
    subject pg_catalog.oid NOT NULL,
    purpose pg_catalog.text NOT NULL,
    key     pg_catalog.text NOT NULL,
    key_int pg_catalog.int8,
    key_num pg_catalog.numeric,
    PRIMARY KEY (subject, purpose, key)
);
CREATE INDEX optout_keys_key_int ON privacy.optout_keys (subject, purpose, key_int);
CREATE INDEX optout_keys_key_num ON privacy.optout_keys (subject, purpose, key_num);
REVOKE ALL ON privacy.optout_keys FROM PUBLIC;
GRANT SELECT ON privacy.optout_keys TO crm_privacy_views;
COMMENT ON TABLE privacy.optout_keys IS
'crm_privacy: the opt-outs of privacy.subject_choices that apply to a table, for the views of distributed tables (kept by triggers)';

-- The rows a statement on subject_choices changed, as arrays: a Citus
-- reference table is written with plain values, not a transition table.
CREATE FUNCTION privacy.optout_keys_sync() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s pg_catalog.oid[];
    p pg_catalog.text[];
    k pg_catalog.text[];
    ki pg_catalog.int8[];
    kn pg_catalog.numeric[];
BEGIN
    IF TG_OP OPERATOR(pg_catalog.=) 'TRUNCATE' THEN
        DELETE FROM privacy.optout_keys;
        RETURN NULL;
    END IF;
    IF TG_OP OPERATOR(pg_catalog.<>) 'INSERT' THEN
        SELECT pg_catalog.array_agg(o.subject), pg_catalog.array_agg(o.purpose), pg_catalog.array_agg(o.key)
          INTO s, p, k
          FROM old_rows o WHERE o.opted_out AND o.subject IS NOT NULL;
        IF s IS NOT NULL THEN
            DELETE FROM privacy.optout_keys c
             WHERE (c.subject, c.purpose, c.key) IN (SELECT * FROM ROWS FROM (pg_catalog.unnest(s), pg_catalog.unnest(p), pg_catalog.unnest(k)));
        END IF;
    END IF;
    IF TG_OP OPERATOR(pg_catalog.<>) 'DELETE' THEN
        SELECT pg_catalog.array_agg(n.subject), pg_catalog.array_agg(n.purpose), pg_catalog.array_agg(n.key),
               pg_catalog.array_agg(n.key_int), pg_catalog.array_agg(n.key_num)
          INTO s, p, k, ki, kn
          FROM new_rows n WHERE n.opted_out AND n.subject IS NOT NULL;
        IF s IS NOT NULL THEN
            INSERT INTO privacy.optout_keys (subject, purpose, key, key_int, key_num)
            SELECT * FROM ROWS FROM (pg_catalog.unnest(s), pg_catalog.unnest(p), pg_catalog.unnest(k),
                                    pg_catalog.unnest(ki), pg_catalog.unnest(kn))
            ON CONFLICT DO NOTHING;
        END IF;
    END IF;
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION privacy.optout_keys_sync() FROM PUBLIC;
CREATE TRIGGER optout_keys_insert AFTER INSERT ON privacy.subject_choices
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.optout_keys_sync();
CREATE TRIGGER optout_keys_update AFTER UPDATE ON privacy.subject_choices
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.optout_keys_sync();
CREATE TRIGGER optout_keys_delete AFTER DELETE ON privacy.subject_choices
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.optout_keys_sync();
CREATE TRIGGER optout_keys_truncate AFTER TRUNCATE ON privacy.subject_choices
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.optout_keys_sync();
INSERT INTO privacy.optout_keys (subject, purpose, key, key_int, key_num)
SELECT subject, purpose, key, key_int, key_num FROM privacy.subject_choices
 WHERE opted_out AND subject IS NOT NULL;

-- (0.2) a Citus cluster (src/citus.c, doc/scale.md).

-- Run once on the coordinator by a superuser, after CREATE EXTENSION
-- crm_privacy (which Citus runs on every node) and again after labelled
-- tables were distributed; safe to run again:
--   - the opt-outs (privacy.optout_keys) and the pseudonym key become
--     reference tables, with a copy on every node, nodes added later
--     included: the workers look opt-outs up next to the rows, every node
--     computes the same pseudonyms, and a rotation changes the key on all
--     of them in one transaction;
--   - crm_privacy_views may log in, on every node: the coordinator's
--     queries of privacy views read the shards as that role (give it a
--     password or certificate for the nodes only, in pg_hba.conf and
--     pg_dist_authinfo);
--   - the labels of the distributed tables are copied to every node
--     (privacy.citus_labels, a reference table too): their change audit,
--     on the nodes that hold the shards, stores what the labels hide as
--     pseudonyms (src/audit.c);
--   - the views are built again (opt-out views look in the reference table).
-- Returns what it did, a line each.
CREATE FUNCTION privacy.citus_setup() RETURNS SETOF pg_catalog.text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t pg_catalog.text;
BEGIN
    IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER) THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = 'permission denied for function citus_setup',
            DETAIL = 'Only a superuser may set crm_privacy up on a Citus cluster.';
    END IF;
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = 'Citus is not installed in this database',
            HINT = 'CREATE EXTENSION citus first, with shared_preload_libraries = ''citus,crm_privacy'' on every node.';
    END IF;
    IF NOT (SELECT pg_catalog.citus_is_coordinator()) THEN
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = 'privacy.citus_setup() runs on the coordinator';
    END IF;
    -- (Citus's notices about copying the rows: what this returns says it)
    PERFORM pg_catalog.set_config('client_min_messages', 'warning', true);
    FOREACH t IN ARRAY ARRAY['privacy.optout_keys', 'privacy.pseudonym_key', 'privacy.citus_labels'] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
                        WHERE p.logicalrelid OPERATOR(pg_catalog.=) CAST(t AS pg_catalog.regclass)) THEN
            -- (the key's and the labels' triggers go to every copy: each
            -- node drops its cached key or labels when a change commits)
            PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
            PERFORM pg_catalog.create_reference_table(CAST(t AS pg_catalog.regclass));
            PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'off', true);
            RETURN NEXT pg_catalog.format('%s: a reference table now', t);
        END IF;
    END LOOP;
    -- Each worker where it cannot log in yet, on its own (committed there
    -- before the coordinator's change, which Citus passes to every node
    -- too, nodes added later included, when the role is one of its
    -- distributed objects)
    SELECT pg_catalog.string_agg(pg_catalog.format('%s:%s: %s', r.nodename, r.nodeport, r.result), '; ')
      INTO t
      FROM pg_catalog.run_command_on_workers($cmd$DO $do$ BEGIN
               IF NOT (SELECT rolcanlogin FROM pg_catalog.pg_roles WHERE rolname = 'crm_privacy_views') THEN
                   SET LOCAL citus.enable_ddl_propagation TO off;
                   ALTER ROLE crm_privacy_views LOGIN;
               END IF;
           END $do$ $cmd$) r
     WHERE NOT r.success;
    IF t IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = 'could not let crm_privacy_views log in on every node',
            DETAIL = t;
    END IF;
    ALTER ROLE crm_privacy_views LOGIN;
    RETURN NEXT 'crm_privacy_views: may log in on every node';
    PERFORM privacy.refresh_views();     -- (and privacy.citus_sync_labels())
    RETURN NEXT 'views: built again, labels copied to every node';
END $$;
REVOKE ALL ON FUNCTION privacy.citus_setup() FROM PUBLIC;
COMMENT ON FUNCTION privacy.citus_setup() IS
'set crm_privacy up on a Citus cluster: opt-outs and the pseudonym key as reference tables, the views'' role on every node; superuser, on the coordinator';

-- The labels of the tables Citus distributes, copied to every node
-- (privacy.citus_setup() makes it a reference table): SECURITY LABEL stays
-- on the coordinator, and the change audit on a worker finds here, by the
-- number of the shard it audits, the table's name on the coordinator, which
-- values of a row it must store as pseudonyms and which column is the
-- subject key (src/audit.c).  A row per labelled or audited Citus table
-- (an audited table without label: table_label ''), kept by
-- privacy.citus_sync_labels() each time the views are built (a label, a
-- column or a name changed) and by enable_audit.
CREATE TABLE privacy.citus_labels (
    table_name  pg_catalog.text PRIMARY KEY,    -- format('%I.%I', schema, table) on the coordinator
    table_label pg_catalog.text NOT NULL,
    columns     pg_catalog.text[] NOT NULL,
    labels      pg_catalog.text[] NOT NULL,
    shards      pg_catalog.int8[] NOT NULL,     -- its shards' numbers
    table_columns pg_catalog.text[] NOT NULL    -- its columns, in order: privacy.citus_columns()
);
REVOKE ALL ON privacy.citus_labels FROM PUBLIC;
COMMENT ON TABLE privacy.citus_labels IS
'the labels of distributed tables, copied to every Citus node for their change audit';

-- Each node's sessions read the labels again when they change.
CREATE FUNCTION privacy.citus_labels_changed() RETURNS trigger
AS 'MODULE_PATHNAME', 'crm_citus_labels_changed'
LANGUAGE C;
REVOKE ALL ON FUNCTION privacy.citus_labels_changed() FROM PUBLIC;
-- (Citus copies no TRUNCATE trigger to a shard: two triggers)
CREATE TRIGGER citus_labels_changed AFTER INSERT OR UPDATE OR DELETE ON privacy.citus_labels
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.citus_labels_changed();
CREATE TRIGGER citus_labels_truncated AFTER TRUNCATE ON privacy.citus_labels
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.citus_labels_changed();

-- Is tbl a Citus table (distributed, reference or Citus-managed local)?
CREATE FUNCTION privacy.citus_table(tbl pg_catalog.regclass) RETURNS pg_catalog.bool
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RETURN false;           -- (no Citus: its catalog cannot be named)
    END IF;
    RETURN EXISTS (SELECT FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid OPERATOR(pg_catalog.=) tbl);
END $$;
REVOKE ALL ON FUNCTION privacy.citus_table(pg_catalog.regclass) FROM PUBLIC;

-- Is this the coordinator of a Citus cluster crm_privacy was set up on
-- (privacy.citus_setup())?
CREATE FUNCTION privacy.citus_coordinator() RETURNS pg_catalog.bool
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT privacy.citus_table('privacy.citus_labels') THEN
        RETURN false;           -- (no Citus: its functions cannot be named)
    END IF;
    RETURN pg_catalog.citus_is_coordinator();
END $$;
REVOKE ALL ON FUNCTION privacy.citus_coordinator() FROM PUBLIC;

-- A table's columns in order, each as its quoted name and its type's
-- schema-qualified name: what a shard's columns must be, on every node, for
-- its table's labels to apply by name (src/audit.c makes the same list).
CREATE FUNCTION privacy.citus_columns(tbl pg_catalog.oid) RETURNS pg_catalog.text[]
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT COALESCE(pg_catalog.array_agg(pg_catalog.format('%I %I.%I', a.attname, n.nspname, t.typname) ORDER BY a.attnum), '{}')
      FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid
      JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace
     WHERE a.attrelid OPERATOR(pg_catalog.=) tbl AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
$$;
REVOKE ALL ON FUNCTION privacy.citus_columns(pg_catalog.oid) FROM PUBLIC;

-- The schema-qualified name Citus gives shard shardid of tbl (a long name
-- is cut and hashed: Citus's shard_name()).
CREATE FUNCTION privacy.citus_shard_relation(tbl pg_catalog.oid, shardid pg_catalog.int8) RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    nsp text := (SELECT n.nspname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n
                     ON n.oid OPERATOR(pg_catalog.=) c.relnamespace WHERE c.oid OPERATOR(pg_catalog.=) tbl);
    name text;
BEGIN
    EXECUTE 'SELECT pg_catalog.shard_name($1, $2)' INTO name USING tbl::pg_catalog.regclass, shardid;
    -- (public is left out of shard_name()'s name)
    RETURN CASE WHEN nsp OPERATOR(pg_catalog.=) 'public' THEN 'public.' OPERATOR(pg_catalog.||) name ELSE name END;
END $$;
REVOKE ALL ON FUNCTION privacy.citus_shard_relation(pg_catalog.oid, pg_catalog.int8) FROM PUBLIC;

-- The rows privacy.citus_labels must hold: every Citus table that is
-- labelled or audited (here, on the coordinator), with its shards.
CREATE FUNCTION privacy.citus_labels_wanted()
RETURNS TABLE (table_name pg_catalog.text, table_label pg_catalog.text, columns pg_catalog.text[],
               labels pg_catalog.text[], shards pg_catalog.int8[], table_columns pg_catalog.text[])
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
        SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), COALESCE(s.label, ''),
               COALESCE(cl.columns, '{}'), COALESCE(cl.labels, '{}'),
               COALESCE((SELECT pg_catalog.array_agg(d.shardid ORDER BY d.shardid) FROM pg_catalog.pg_dist_shard d
                          WHERE d.logicalrelid OPERATOR(pg_catalog.=) c.oid), '{}'),
               privacy.citus_columns(c.oid)
          FROM pg_catalog.pg_dist_partition p
          JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) p.logicalrelid
          JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
          LEFT JOIN pg_catalog.pg_seclabel s ON s.objoid OPERATOR(pg_catalog.=) c.oid
           AND s.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
           AND s.objsubid OPERATOR(pg_catalog.=) 0 AND s.provider OPERATOR(pg_catalog.=) 'crm_privacy'
          LEFT JOIN LATERAL (
               SELECT pg_catalog.array_agg(a.attname::pg_catalog.text ORDER BY a.attnum) AS columns,
                      pg_catalog.array_agg(l.label ORDER BY a.attnum) AS labels
                 FROM pg_catalog.pg_seclabel l
                 JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) l.objoid
                  AND a.attnum OPERATOR(pg_catalog.=) l.objsubid AND NOT a.attisdropped
                WHERE l.objoid OPERATOR(pg_catalog.=) c.oid
                  AND l.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                  AND l.objsubid OPERATOR(pg_catalog.>) 0 AND l.provider OPERATOR(pg_catalog.=) 'crm_privacy') cl ON true
         WHERE c.oid OPERATOR(pg_catalog.<>) ALL (ARRAY['privacy.citus_labels', 'privacy.optout_keys',
                                                        'privacy.pseudonym_key']::pg_catalog.regclass[])
           AND (s.label IS NOT NULL
                OR privacy.audit_trigger_state(c.oid, 'crm_privacy_audit') OPERATOR(pg_catalog.<>) 'absent');
END $$;
REVOKE ALL ON FUNCTION privacy.citus_labels_wanted() FROM PUBLIC;

-- The tables whose rows in privacy.citus_labels are missing or out of
-- date, or NULL.
CREATE FUNCTION privacy.citus_labels_stale() RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT privacy.citus_coordinator() THEN
        RETURN NULL;
    END IF;
    RETURN (SELECT pg_catalog.string_agg(w.table_name, ', ' ORDER BY w.table_name)
              FROM privacy.citus_labels_wanted() w
             WHERE NOT EXISTS (SELECT FROM privacy.citus_labels l
                                WHERE l.table_name OPERATOR(pg_catalog.=) w.table_name
                                  AND l.table_label OPERATOR(pg_catalog.=) w.table_label
                                  AND l.columns OPERATOR(pg_catalog.=) w.columns
                                  AND l.labels OPERATOR(pg_catalog.=) w.labels
                                  AND l.shards OPERATOR(pg_catalog.=) w.shards
                                  AND l.table_columns OPERATOR(pg_catalog.=) w.table_columns));
END $$;
REVOKE ALL ON FUNCTION privacy.citus_labels_stale() FROM PUBLIC;

-- Bring privacy.citus_labels up to date (on the coordinator; nothing
-- elsewhere).  Writes only what changed: each write goes to every node.
CREATE FUNCTION privacy.citus_sync_labels() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    names pg_catalog.text[] := '{}';
BEGIN
    IF NOT privacy.citus_coordinator() THEN
        RETURN;
    END IF;
    FOR r IN SELECT * FROM privacy.citus_labels_wanted() LOOP
        names := names OPERATOR(pg_catalog.||) r.table_name;
        IF NOT EXISTS (SELECT FROM privacy.citus_labels l
                        WHERE l.table_name OPERATOR(pg_catalog.=) r.table_name
                          AND l.table_label OPERATOR(pg_catalog.=) r.table_label
                          AND l.columns OPERATOR(pg_catalog.=) r.columns
                          AND l.labels OPERATOR(pg_catalog.=) r.labels
                          AND l.shards OPERATOR(pg_catalog.=) r.shards
                          AND l.table_columns OPERATOR(pg_catalog.=) r.table_columns) THEN
            INSERT INTO privacy.citus_labels AS l (table_name, table_label, columns, labels, shards, table_columns)
            VALUES (r.table_name, r.table_label, r.columns, r.labels, r.shards, r.table_columns)
            ON CONFLICT (table_name) DO UPDATE
               SET table_label = excluded.table_label, columns = excluded.columns, labels = excluded.labels,
                   shards = excluded.shards, table_columns = excluded.table_columns;
        END IF;
    END LOOP;
    IF EXISTS (SELECT FROM privacy.citus_labels l WHERE l.table_name OPERATOR(pg_catalog.<>) ALL (names)) THEN
        DELETE FROM privacy.citus_labels l WHERE l.table_name OPERATOR(pg_catalog.<>) ALL (names);
    END IF;
END $$;
REVOKE ALL ON FUNCTION privacy.citus_sync_labels() FROM PUBLIC;

-- Run command (one value back) on every worker of the cluster, when this is
-- its coordinator: each node's result, or an error naming the first node
-- that failed (a node that cannot be read is never left out silently).
-- Connects as the current user: called by the SECURITY DEFINER functions
-- below, the extension's owner.
CREATE FUNCTION privacy.citus_workers(command pg_catalog.text)
RETURNS TABLE (node pg_catalog.text, result pg_catalog.text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    IF NOT privacy.citus_coordinator() THEN
        RETURN;
    END IF;
    FOR r IN EXECUTE 'SELECT w.nodename, w.nodeport, w.success, w.result'
                     '  FROM pg_catalog.run_command_on_workers($1) w ORDER BY w.nodename, w.nodeport'
             USING command LOOP
        node := pg_catalog.format('%s:%s', r.nodename, r.nodeport);
        IF NOT r.success THEN
            RAISE EXCEPTION USING ERRCODE = 'connection_exception',
                MESSAGE = pg_catalog.format('could not read the crm_privacy logs of Citus node %s', node),
                DETAIL = r.result,
                HINT = 'Every node''s log is part of the audit trail: bring the node back, then try again.';
        END IF;
        result := r.result;
        RETURN NEXT;
    END LOOP;
END $$;
REVOKE ALL ON FUNCTION privacy.citus_workers(pg_catalog.text) FROM PUBLIC;

-- On a node, what its change audit of Citus tables lacks, or NULL: of the
-- shards Citus's catalog places on this node, of tables audited here, those
-- that are not what Citus writes to (missing, or something else in their
-- place), do not carry an audit trigger firing always that Citus copied
-- from their table (or from the partitioned table above it), or whose
-- columns differ from their table's on the coordinator (renamed or changed
-- on this node: the table's labels apply by name); and the tables named
-- here otherwise than on the coordinator.  (Citus copies row triggers only:
-- a shard's TRUNCATE is recorded by src/ddl.c's utility hook.)
CREATE FUNCTION privacy.citus_audit_gaps() RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    shards text;
    changed text;
    renamed text;
BEGIN
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_placement') IS NULL THEN
        RETURN NULL;
    END IF;
    WITH here AS (
        SELECT d.shardid, d.logicalrelid, pg_catalog.format('%I.%I', n.nspname, c.relname) AS name,
               privacy.citus_shard_relation(d.logicalrelid, d.shardid) AS shardname,
               pg_catalog.to_regclass(privacy.citus_shard_relation(d.logicalrelid, d.shardid)) AS shard,
               (SELECT l FROM privacy.citus_labels l WHERE d.shardid OPERATOR(pg_catalog.=) ANY (l.shards)) AS copy
          FROM pg_catalog.pg_dist_placement p
          JOIN pg_catalog.pg_dist_shard d ON d.shardid OPERATOR(pg_catalog.=) p.shardid
          JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) d.logicalrelid
          JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
         WHERE p.groupid OPERATOR(pg_catalog.=) (SELECT g.groupid FROM pg_catalog.pg_dist_local_group g)
           AND privacy.audit_trigger_state(d.logicalrelid, 'crm_privacy_audit') OPERATOR(pg_catalog.<>) 'absent')
    SELECT pg_catalog.string_agg(h.shardname, ', ' ORDER BY h.shardname)
             FILTER (WHERE h.shard IS NULL
                        OR (SELECT k.relkind FROM pg_catalog.pg_class k WHERE k.oid OPERATOR(pg_catalog.=) h.shard)
                           OPERATOR(pg_catalog.<>) ALL (ARRAY['r', 'p']::"char"[])
                        OR privacy.audit_trigger_state(h.shard, 'crm_privacy_audit') OPERATOR(pg_catalog.<>) 'always'
                        OR NOT EXISTS (SELECT FROM pg_catalog.pg_trigger t
                                         JOIN pg_catalog.pg_dist_shard o
                                           ON t.tgname OPERATOR(pg_catalog.=) ('crm_privacy_audit_' OPERATOR(pg_catalog.||) o.shardid)
                                        WHERE t.tgrelid OPERATOR(pg_catalog.=) h.shard
                                          AND (o.logicalrelid OPERATOR(pg_catalog.=) h.logicalrelid
                                               OR o.logicalrelid OPERATOR(pg_catalog.=) ANY
                                                  (SELECT a.relid FROM pg_catalog.pg_partition_ancestors(h.logicalrelid) a)))),
           pg_catalog.string_agg(h.shardname, ', ' ORDER BY h.shardname)
             FILTER (WHERE h.shard IS NOT NULL AND (h.copy).table_columns IS NOT NULL
                       AND privacy.citus_columns(h.shard) OPERATOR(pg_catalog.<>) (h.copy).table_columns),
           pg_catalog.string_agg(DISTINCT h.name, ', ')
             FILTER (WHERE (h.copy).table_name OPERATOR(pg_catalog.<>) h.name)
      INTO shards, changed, renamed
      FROM here h;
    RETURN NULLIF(pg_catalog.concat_ws('; ',
                      'shards not audited: ' OPERATOR(pg_catalog.||) shards,
                      'shards whose columns differ from their table''s: ' OPERATOR(pg_catalog.||) changed,
                      'tables not named as on the coordinator: ' OPERATOR(pg_catalog.||) renamed), '');
END $$;
REVOKE ALL ON FUNCTION privacy.citus_audit_gaps() FROM PUBLIC;

-- On a node: of the shards given (their numbers and the names Citus gives
-- them, on the coordinator), those placed here that are not plain tables
-- an erasure reads whole (missing, a view or something else in their place,
-- with a rule, with row-level security forced on their owner, with other
-- columns than their table's, or with a deferrable trigger), or NULL.
CREATE FUNCTION privacy.citus_node_shard_problems(shards pg_catalog.int8[], names pg_catalog.text[],
                                                  table_columns pg_catalog.text[])
RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_placement') IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN (SELECT pg_catalog.string_agg(x.name, ', ' ORDER BY x.name)
              FROM (SELECT s.name
                      FROM ROWS FROM (pg_catalog.unnest(shards), pg_catalog.unnest(names)) AS s(shardid, name)
                      JOIN pg_catalog.pg_dist_placement p ON p.shardid OPERATOR(pg_catalog.=) s.shardid
                     WHERE p.groupid OPERATOR(pg_catalog.=) (SELECT g.groupid FROM pg_catalog.pg_dist_local_group g)) x
              LEFT JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(x.name)
             WHERE c.oid IS NULL OR c.relkind OPERATOR(pg_catalog.<>) ALL (ARRAY['r', 'p']::"char"[])
                OR c.relhasrules OR c.relforcerowsecurity
                OR privacy.citus_columns(c.oid) OPERATOR(pg_catalog.<>) table_columns
                -- (a deferrable trigger fires at commit, after the erasure's check)
                OR EXISTS (SELECT FROM pg_catalog.pg_trigger t
                            WHERE t.tgrelid OPERATOR(pg_catalog.=) c.oid AND t.tgdeferrable AND NOT t.tgisinternal));
END $$;
REVOKE ALL ON FUNCTION privacy.citus_node_shard_problems(pg_catalog.int8[], pg_catalog.text[], pg_catalog.text[]) FROM PUBLIC;

-- The shards of the Citus table tbl, on every node, that an erasure cannot
-- rely on (privacy.citus_node_shard_problems()), or NULL; a node that cannot
-- be read is an error.
CREATE FUNCTION privacy.citus_shard_problems(tbl pg_catalog.regclass) RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    shards pg_catalog.int8[];
    names pg_catalog.text[];
    cmd text;
BEGIN
    IF NOT privacy.citus_table(tbl) THEN
        RETURN NULL;
    END IF;
    EXECUTE 'SELECT pg_catalog.array_agg(d.shardid ORDER BY d.shardid),'
            '       pg_catalog.array_agg(privacy.citus_shard_relation(d.logicalrelid, d.shardid) ORDER BY d.shardid)'
            '  FROM pg_catalog.pg_dist_shard d WHERE d.logicalrelid OPERATOR(pg_catalog.=) $1'
       INTO shards, names USING tbl;
    cmd := pg_catalog.format('SELECT privacy.citus_node_shard_problems(%L, %L, %L)', shards, names,
                             privacy.citus_columns(tbl));
    RETURN (SELECT NULLIF(pg_catalog.concat_ws('; ', VARIADIC pg_catalog.array_agg(p.problem ORDER BY p.problem)), '')
              FROM (SELECT privacy.citus_node_shard_problems(shards, names, privacy.citus_columns(tbl)) AS problem
                    UNION ALL
                    SELECT NULLIF(w.result, '') FROM privacy.citus_workers(cmd) w) p
             WHERE p.problem IS NOT NULL);
END $$;
REVOKE ALL ON FUNCTION privacy.citus_shard_problems(pg_catalog.regclass) FROM PUBLIC;

-- (0.2) check_setup: on a Citus cluster the views' owner logs in to the nodes
CREATE OR REPLACE FUNCTION privacy.check_setup()
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
    -- (on a Citus cluster it logs in to the other nodes: src/citus.c)
    SELECT NOT (r.rolsuper OR (r.rolcanlogin AND pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL)
                OR r.rolbypassrls OR r.rolcreaterole OR r.rolreplication)
           AND NOT EXISTS (SELECT FROM pg_catalog.pg_auth_members m WHERE m.roleid OPERATOR(pg_catalog.=) r.oid)
      INTO ok
      FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) 'crm_privacy_views';
    ok := COALESCE(ok, false);
    detail := CASE WHEN ok AND pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL
                   THEN 'crm_privacy_views owns the views: no superuser, no BYPASSRLS, no members; it logs in to the Citus nodes only (see doc/scale.md)'
                   WHEN ok THEN 'crm_privacy_views owns the views: no superuser, no login, no BYPASSRLS, no members'
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

    -- On a Citus coordinator: the shards of audited tables, on every node,
    -- carry the audit triggers, and every node has their tables' labels.
    IF privacy.citus_coordinator() THEN
        "check" := 'change audit on every Citus node';
        SELECT pg_catalog.string_agg(x.gap, '; ' ORDER BY x.gap) INTO names FROM (
            SELECT pg_catalog.format('on %s: %s', w.node, w.result) AS gap
              FROM privacy.citus_workers('SELECT COALESCE(privacy.citus_audit_gaps(), '''')') w
             WHERE w.result OPERATOR(pg_catalog.<>) ''
            UNION ALL
            SELECT 'on the coordinator: ' OPERATOR(pg_catalog.||) u.gaps
              FROM (SELECT privacy.citus_audit_gaps() AS gaps) u WHERE u.gaps IS NOT NULL
            UNION ALL
            SELECT 'labels not copied to the nodes (privacy.refresh_views()): ' OPERATOR(pg_catalog.||) o.stale
              FROM (SELECT privacy.citus_labels_stale() AS stale) o WHERE o.stale IS NOT NULL) x;
        ok := names IS NULL;
        detail := COALESCE(names, 'every node audits the shards of audited tables, with their tables'' labels');
        RETURN NEXT;
    END IF;

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

SELECT privacy.refresh_views();

-- Transparent masking: privacy.set_masked (the masked word of a role label).
CREATE FUNCTION privacy.set_masked(role pg_catalog.regrole, masked pg_catalog.bool)
RETURNS void
AS 'MODULE_PATHNAME', 'crm_set_masked'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION privacy.set_masked(pg_catalog.regrole, pg_catalog.bool) IS
'mark (true) or unmark (false) a role for transparent masking: its queries of labelled tables read their standard views; superusers and privacy administrators only';

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

-- The read audit counts the rows of the flattened standard and full views
-- where they are read: privacy.view_row; view_rows marks the other views.
COMMENT ON FUNCTION privacy.view_rows(pg_catalog.text) IS
'true; marks the top of an opt-out, anonymous or disclosure view''s plan, where the read audit counts the rows the view produces';
CREATE FUNCTION privacy.view_row(view pg_catalog.text) RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'crm_view_row'
LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.view_row(pg_catalog.text) IS
'true; first in the filter of each scan of a standard or full view''s table, where the read audit counts the rows read';

-- The views call clearance_level() once per query and column: no SET clause.
ALTER FUNCTION privacy.clearance_level() RESET search_path;

-- The grants of privacy.access_grants reach the snapshots' views too.
CREATE OR REPLACE FUNCTION privacy.grants_changed() RETURNS trigger
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
         CROSS JOIN LATERAL (SELECT CASE g.kind
                   WHEN 'optout' THEN 'optout_' OPERATOR(pg_catalog.||) g.name
                   WHEN 'disclose' THEN 'disclose_' OPERATOR(pg_catalog.||) g.name
                   ELSE g.kind END AS suffix) s
         WHERE c.relkind OPERATOR(pg_catalog.=) 'v'
           -- the views of the kind, and their snapshots' views
           AND n.nspname OPERATOR(pg_catalog.=) ANY (ARRAY['privacy_' OPERATOR(pg_catalog.||) s.suffix,
                                                         'privacy_snapshot_' OPERATOR(pg_catalog.||) s.suffix])
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

-- Snapshots (doc/snapshots.md): the rows of an anonymous or disclosure view
-- kept in a table of privacy_snapshot_data (indexed, analyzed; granted to
-- nobody) and read through a view of privacy_snapshot_<kind>, which applies
-- opt-outs and erasures as they are when it is read.  Refreshed on demand
-- and, for the databases of crm_privacy.snapshot_databases, on a schedule.
CREATE SCHEMA privacy_snapshot_data;
COMMENT ON SCHEMA privacy_snapshot_data IS
'crm_privacy: the tables that keep the snapshots (granted to nobody; read them through the privacy_snapshot_* views)';
-- a table's owner inserts its snapshot's rows into a new table while it is refreshed
GRANT USAGE ON SCHEMA privacy_snapshot_data TO PUBLIC;

-- One row per snapshot; its table is privacy_snapshot_data.s<id>.
CREATE TABLE privacy.snapshot_data (
    id            pg_catalog.int8 GENERATED ALWAYS AS IDENTITY UNIQUE,
    tbl           pg_catalog.oid NOT NULL,
    tbl_name      pg_catalog.text NOT NULL,
    views         pg_catalog.text NOT NULL,
    refresh_every pg_catalog.interval,
    refreshed_at  pg_catalog.timestamptz NOT NULL,
    row_count     pg_catalog.int8 NOT NULL,
    -- at the last refresh: the subject table, its k, the quasi-identifier
    -- columns (an erasure takes the subject's rows out, and small classes)
    subject       pg_catalog.oid,
    k             pg_catalog.int4 NOT NULL DEFAULT 0,
    quasi         pg_catalog.text[],
    -- the MD5 of the live view's query it was made from; out of date when
    -- the live view changed since (its view then answers with an error)
    definition    pg_catalog.text,
    out_of_date   pg_catalog.bool NOT NULL DEFAULT false,
    PRIMARY KEY (tbl, views)
);

CREATE VIEW privacy.snapshots AS
SELECT s.tbl_name AS table_name, s.views,
       'privacy_snapshot_' OPERATOR(pg_catalog.||) pg_catalog.substr(s.views, 9) AS snapshot_schema,
       s.refresh_every, s.refreshed_at, s.row_count, s.out_of_date
  FROM privacy.snapshot_data s;
GRANT SELECT ON privacy.snapshots TO PUBLIC;
COMMENT ON VIEW privacy.snapshots IS
'the snapshots of the anonymous and disclosure views: when each was refreshed, its rows, its schedule';

CREATE FUNCTION privacy.refresh_snapshot(tbl pg_catalog.regclass, views pg_catalog.text DEFAULT 'privacy_anon')
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'crm_refresh_snapshot'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION privacy.refresh_snapshot(pg_catalog.regclass, pg_catalog.text) IS
'make or refresh the snapshot of a table''s anonymous (or disclosure) view; returns its rows; privacy administrators';

CREATE FUNCTION privacy.drop_snapshot(tbl pg_catalog.regclass, views pg_catalog.text DEFAULT 'privacy_anon')
RETURNS void
AS 'MODULE_PATHNAME', 'crm_drop_snapshot'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION privacy.drop_snapshot(pg_catalog.regclass, pg_catalog.text) IS
'drop the snapshot of a table''s anonymous (or disclosure) view; privacy administrators';

-- The filter of an out-of-date snapshot's view: an error for every read.
CREATE FUNCTION privacy.snapshot_out_of_date(view pg_catalog.text)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'crm_snapshot_out_of_date'
LANGUAGE C STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION privacy.snapshot_out_of_date(pg_catalog.text) IS
'raises an error: the filter of a snapshot view that is out of date';

CREATE FUNCTION privacy.refresh_due_snapshots()
RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'crm_refresh_due_snapshots'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION privacy.refresh_due_snapshots() IS
'refresh the snapshots whose refresh_every has passed; returns how many; privacy administrators (the scheduler calls it)';

CREATE FUNCTION privacy.schedule_snapshot(tbl pg_catalog.regclass, views pg_catalog.text,
                                          refresh_every pg_catalog.interval)
RETURNS void
AS 'MODULE_PATHNAME', 'crm_schedule_snapshot'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION privacy.schedule_snapshot(pg_catalog.regclass, pg_catalog.text, pg_catalog.interval) IS
'refresh a snapshot every refresh_every (NULL: on demand only), in the databases of crm_privacy.snapshot_databases; privacy administrators';

-- (0.2) the change audit of Citus tables: on every node, read whole from the coordinator
CREATE OR REPLACE FUNCTION privacy.subject_audit_rows(tables pg_catalog.text[], keys pg_catalog.text[])
RETURNS pg_catalog.jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET jit = off
AS $$
    SELECT (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(a) ORDER BY a.id), '[]')
              FROM privacy.audit_log a
             WHERE a.table_name OPERATOR(pg_catalog.=) ANY (tables)
               AND a.subject_key OPERATOR(pg_catalog.=) ANY (keys))
    -- on a Citus coordinator, then each worker's, naming the node
    OPERATOR(pg_catalog.||)
    (SELECT COALESCE(pg_catalog.jsonb_agg(e.row OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('node', w.node)
                                          ORDER BY w.node, e.n), '[]')
       FROM privacy.citus_workers(pg_catalog.format('SELECT privacy.subject_audit_rows(%L, %L)', tables, keys)) w
      CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(w.result::pg_catalog.jsonb) WITH ORDINALITY AS e(row, n))
$$;
CREATE OR REPLACE FUNCTION privacy.enable_audit(tbl pg_catalog.regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- quoted, and schema-qualified but in pg_temp (search_path is pinned)
    target text := tbl::pg_catalog.text;
    trig text;
    part pg_catalog.regclass;
    citus_triggers text;
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
    -- A Citus table: its triggers go to every shard (Citus calls them
    -- unsafe: they run on the workers, where the shards are), each writing
    -- its node's log with the labels copied to every node (doc/scale.md).
    IF privacy.citus_table(tbl) THEN
        citus_triggers := pg_catalog.current_setting('citus.enable_unsafe_triggers');
        PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
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
    IF citus_triggers IS NOT NULL THEN
        PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', citus_triggers, true);
        PERFORM privacy.citus_sync_labels();    -- (its name and shards, labelled or not)
    END IF;
END $$;
CREATE OR REPLACE FUNCTION privacy.seal_audit() RETURNS pg_catalog.int8
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
    -- on a Citus coordinator, each worker's logs, in the worker's own chain
    SELECT n OPERATOR(pg_catalog.+) COALESCE(pg_catalog.sum(w.result::pg_catalog.int8), 0) INTO n
      FROM privacy.citus_workers('SELECT privacy.seal_audit()') w;
    RETURN n;
END $$;
CREATE OR REPLACE FUNCTION privacy.verify_audit()
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
    -- on a Citus coordinator, each worker's chains, named after the node
    FOR r IN SELECT w.node, v.*
               FROM privacy.citus_workers('SELECT pg_catalog.json_agg(v) FROM privacy.verify_audit() v') w
              CROSS JOIN LATERAL pg_catalog.json_to_recordset(w.result::pg_catalog.json)
                    AS v(log pg_catalog.text, rows_checked pg_catalog.int8, first_bad_id pg_catalog.int8, ok pg_catalog.bool)
    LOOP
        log := pg_catalog.format('%s on %s', r.log, r.node);
        rows_checked := r.rows_checked;
        first_bad_id := r.first_bad_id;
        ok := r.ok;
        RETURN NEXT;
    END LOOP;
END $$;
CREATE OR REPLACE FUNCTION privacy.audit_head()
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
    -- on a Citus coordinator, each worker's, named after the node
    UNION ALL
    SELECT * FROM (
        SELECT pg_catalog.format('%s on %s', h.log, w.node), h.id, h.hash
          FROM privacy.citus_workers('SELECT pg_catalog.json_agg(h) FROM privacy.audit_head() h') w
         CROSS JOIN LATERAL pg_catalog.json_to_recordset(w.result::pg_catalog.json)
               AS h(log pg_catalog.text, id pg_catalog.int8, hash pg_catalog.text)
         ORDER BY w.node, h.log) x
$$;
