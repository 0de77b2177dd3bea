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

-- The audit rows of a subject (subject_report), of every Citus node: through the BRIN index
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

-- The opt-out, anonymous and disclosure views end their WHERE in
-- view_rows('schema.view'): a one-time filter at the top of the view's plan,
-- where the read audit counts the rows the view produces (row_count).  It
-- only returns true.
CREATE FUNCTION privacy.view_rows(view pg_catalog.text) RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'crm_view_rows'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.view_rows(pg_catalog.text) IS
'true; marks the top of an opt-out, anonymous or disclosure view''s plan, where the read audit counts the rows the view produces';

-- The planner puts view_row('schema.view') first in the filter of every scan
-- of a standard or full view's table (flattened into the reader's query),
-- where the read audit counts the rows read (row_count).  It only returns
-- true.
CREATE FUNCTION privacy.view_row(view pg_catalog.text) RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'crm_view_row'
LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.view_row(pg_catalog.text) IS
'true; first in the filter of each scan of a standard or full view''s table, where the read audit counts the rows read';

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
        -- an archive made by version 0.1 has no table OIDs: its records
        -- apply by name and owner
        ALTER TABLE crm_privacy_archive.choices ADD COLUMN IF NOT EXISTS subject_oid pg_catalog.oid;
        INSERT INTO privacy.purposes (name, description, effect)
        SELECT a.name, a.description, a.effect FROM crm_privacy_archive.purposes a
        ON CONFLICT DO NOTHING;
        -- a choice that applied to a table applies to it still, or to the
        -- one of its name and owner (privacy.choice_subject() finds it by
        -- name; the owner is brought up to date at the end of the script)
        INSERT INTO privacy.subject_choices (subject, subject_name, key, purpose, opted_out, changed_at,
                                             source, changed_by, previous_names, table_owner, key_column)
        SELECT CASE WHEN m.name IS NOT NULL THEN 0 END,
               COALESCE(m.name, a.subject_name), a.key, a.purpose, a.opted_out, a.changed_at, a.source,
               a.changed_by, a.previous_names, a.table_owner, a.key_column
          FROM crm_privacy_archive.choices a
         CROSS JOIN LATERAL (SELECT privacy.archived_name(a.applied, a.subject_oid, a.subject_name,
                                                          a.table_owner) AS name) m
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
    -- on a Citus coordinator, each worker's logs, in the worker's own chain
    SELECT n OPERATOR(pg_catalog.+) COALESCE(pg_catalog.sum(w.result::pg_catalog.int8), 0) INTO n
      FROM privacy.citus_workers('SELECT privacy.seal_audit()') w;
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
    -- on a Citus coordinator, each worker's, named after the node
    UNION ALL
    SELECT * FROM (
        SELECT pg_catalog.format('%s on %s', h.log, w.node), h.id, h.hash
          FROM privacy.citus_workers('SELECT pg_catalog.json_agg(h) FROM privacy.audit_head() h') w
         CROSS JOIN LATERAL pg_catalog.json_to_recordset(w.result::pg_catalog.json)
               AS h(log pg_catalog.text, id pg_catalog.int8, hash pg_catalog.text)
         ORDER BY w.node, h.log) x
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
