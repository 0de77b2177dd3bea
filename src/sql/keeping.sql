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
--     only from a table of the same owner;
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
