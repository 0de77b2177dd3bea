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
GRANT EXECUTE ON FUNCTION privacy.check_setup() TO PUBLIC;
COMMENT ON FUNCTION privacy.check_setup() IS
'checks a reviewer starts with: preloading, key, event triggers, labels, views, coverage, audit, seal';
