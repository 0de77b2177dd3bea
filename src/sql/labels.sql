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

-- Superusers and privacy administrators only (checked in C, as set_clearance).
CREATE FUNCTION privacy.set_masked(role pg_catalog.regrole, masked pg_catalog.bool)
RETURNS void
AS 'MODULE_PATHNAME', 'crm_set_masked'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION privacy.set_masked(pg_catalog.regrole, pg_catalog.bool) IS
'mark (true) or unmark (false) a role for transparent masking: its queries of labelled tables read their standard views; superusers and privacy administrators only';

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
