-- Part 8: detection and coverage reports (SPEC section 8).

-- Suggested labels for unlabelled columns, from column names and sampled
-- values, with the evidence.  Reads up to "sample" non-NULL values of each
-- text column with the caller's privileges.
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
BEGIN
    IF sample IS NULL OR sample OPERATOR(pg_catalog.<) 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'argument "sample" of detect must be at least 1';
    END IF;
    FOR c IN
        SELECT n.nspname, k.relname, a.attname,
               CASE WHEN t.typtype OPERATOR(pg_catalog.=) 'd' THEN t.typbasetype ELSE t.oid END AS basetype,
               pg_catalog.has_column_privilege(k.oid, a.attnum, 'SELECT') AS readable
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
                (1, '(^|_)(full_?name|name|first_?name|last_?name|surname)($|_)|姓名', 'identifier mask=name', true, 'a person''s name'),
                (2, 'e_?mail|邮箱', 'identifier mask=email anon=pseudonym', true, 'an e-mail address'),
                (3, 'phone|mobile|(^|_)tel($|_)|cell|手机|电话', 'identifier mask=phone anon=pseudonym', true, 'a phone number'),
                (4, 'id_?(number|no|card)|passport|ssn|身份证', 'identifier level=secret mask=cn_id', true, 'an identity document number'),
                (5, 'card_?(no|number)|iban|account_?(no|number)', 'identifier level=secret mask=card', true, 'a card or account number'),
                (6, 'address|(^|_)addr($|_)|地址', 'identifier mask=partial(2,0)', true, 'a postal address'),
                (7, 'religio|ethnic|(^|_)race($|_)|health|diagnos|disease|宗教|民族', 'sensitive', false, 'special-category (sensitive) data'),
                (8, 'birth|(^|_)dob($|_)|生日', 'quasi_identifier anon=generalize(year)', false, 'a birth date'),
                (9, '(^|_)(zip|postcode|postal_?code)($|_)|邮编', 'quasi_identifier mask=partial(3,0) anon=partial(3,0)', true, 'a postal code'),
                (10, '(^|_)(gender|sex)($|_)|性别', 'quasi_identifier mask=keep anon=keep', false, 'a gender'),
                (11, 'income|salary|wage|收入', 'personal level=confidential anon=null', false, 'an income')
              ) AS r(ord, pattern, label, needs_text, what)
             WHERE pg_catalog.lower(c.attname::pg_catalog.text) OPERATOR(pg_catalog.~) r.pattern
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
       AND r.rolname OPERATOR(pg_catalog.<>) ALL (ARRAY['pg_database_owner'])
       AND pg_catalog.has_any_column_privilege(r.oid, k.oid, 'SELECT')
     ORDER BY 1, 2, 3, 4, 5
$$;
COMMENT ON FUNCTION privacy.report_coverage() IS
'unlabelled columns of labelled tables, detection suggestions, and roles that can read labelled base tables directly';
