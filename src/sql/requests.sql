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
    -- an archive made by version 0.1 has no table OIDs: its records apply
    -- by name and owner
    ALTER TABLE crm_privacy_archive.change_requests ADD COLUMN IF NOT EXISTS subject_oid pg_catalog.oid;
    ALTER TABLE crm_privacy_archive.erasures ADD COLUMN IF NOT EXISTS subject_oid pg_catalog.oid;
    INSERT INTO privacy.change_request_data (id, subject, subject_name, key, col, new_value, requested_by,
                                             requested_at, status, decided_by, decided_at, note, table_owner)
    OVERRIDING SYSTEM VALUE
    SELECT a.id, CASE WHEN m.name IS NOT NULL THEN 0 END,
           COALESCE(m.name, a.subject_name), a.key, a.col, a.new_value, a.requested_by, a.requested_at,
           a.status, a.decided_by, a.decided_at, a.note, a.table_owner
      FROM crm_privacy_archive.change_requests a
     CROSS JOIN LATERAL (SELECT privacy.archived_name(a.applied, a.subject_oid, a.subject_name,
                                                      a.table_owner) AS name) m
     ORDER BY a.id;
    PERFORM pg_catalog.setval(pg_catalog.pg_get_serial_sequence('privacy.change_request_data', 'id'),
                              pg_catalog.max(id))
       FROM privacy.change_request_data HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 0;
    INSERT INTO privacy.erasure_data (subject, subject_name, key, erased_at, erased_by, rows_changed, runs,
                                      not_erased, fingerprints, table_owner)
    SELECT CASE WHEN m.name IS NOT NULL THEN 0 END,
           COALESCE(m.name, a.subject_name), a.key, a.erased_at, a.erased_by, a.rows_changed, a.runs,
           a.not_erased, a.fingerprints, a.table_owner
      FROM crm_privacy_archive.erasures a
     CROSS JOIN LATERAL (SELECT privacy.archived_name(a.applied, a.subject_oid, a.subject_name,
                                                      a.table_owner) AS name) m
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
