-- Part 7: purposes, choices, disclosure profiles, access and the privacy
-- views (src/views.c); doc/views.md.

-- The role that owns the generated views and reads the base tables for
-- them: not a superuser, unable to log in, no BYPASSRLS, so row-level
-- security on a base table applies to every read through every view.  Roles
-- belong to the cluster: a second database's CREATE EXTENSION finds it and
-- resets its attributes.  privacy.refresh_views() refuses to build views
-- while it has any of these attributes or any member.  CREATE EXTENSION in
-- several databases at once: the role is made once, and changed only when
-- it must be (two changes of one role at once fail).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'crm_privacy_views') THEN
        BEGIN
            CREATE ROLE crm_privacy_views NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT
                NOREPLICATION NOBYPASSRLS;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;   -- another database's CREATE EXTENSION made it first
        END;
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.pg_roles r
                WHERE r.rolname OPERATOR(pg_catalog.=) 'crm_privacy_views'
                  AND (r.rolsuper OR r.rolcreatedb OR r.rolcreaterole OR r.rolinherit
                       OR r.rolreplication OR r.rolbypassrls)) THEN
        ALTER ROLE crm_privacy_views NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT
            NOREPLICATION NOBYPASSRLS;
    END IF;
    -- On a node of a Citus cluster it logs in to the other nodes
    -- (privacy.citus_setup(), src/citus.c): Citus gives a node it adds
    -- the role as the coordinator has it, before it creates the extension.
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL
       AND EXISTS (SELECT FROM pg_catalog.pg_roles r
                    WHERE r.rolname OPERATOR(pg_catalog.=) 'crm_privacy_views' AND r.rolcanlogin) THEN
        ALTER ROLE crm_privacy_views NOLOGIN;
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
-- views call it once per query and column (an initplan each); it runs no SQL
-- and looks up no names, so it has no search_path of its own (a SET clause
-- would make every call save and restore the settings).
CREATE FUNCTION privacy.clearance_level() RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'crm_clearance_level'
LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION privacy.clearance(role pg_catalog.regrole DEFAULT CURRENT_USER::pg_catalog.regrole)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'crm_clearance'
LANGUAGE C STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION privacy.clearance(pg_catalog.regrole) IS
'effective clearance of a role: the highest clearance of any role whose privileges it has (has_privs_of_role), else public; secret for superusers';

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
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION USING ERRCODE = 'duplicate_object',
        MESSAGE = format('purpose "%s" already exists', name),
        HINT = 'The purposes are listed in privacy.purposes.';
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
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION USING ERRCODE = 'duplicate_object',
        MESSAGE = format('disclosure profile "%s" already exists', profile),
        HINT = 'The profiles are listed in privacy.disclosure_profiles.';
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
