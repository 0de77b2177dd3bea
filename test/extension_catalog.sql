-- extension_catalog.sql: a canonical description of everything the
-- extension crm_privacy owns (its members and what hangs off them), one
-- object a line, so that two databases can be compared with diff: one where
-- the newest version was created, one where an older one was updated to it.
-- OIDs (also those written into the generated views) and the order of
-- creation do not show.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset footer off
\pset tuples_only on
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'crm_privacy'),
members AS (
    SELECT d.classid, d.objid FROM pg_depend d, ext
     WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
),
rels AS (SELECT c.* FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid)
SELECT line FROM (
    -- every member, by its description
    SELECT 'member ' || pg_describe_object(m.classid, m.objid, 0) AS line FROM members m
    UNION ALL
    -- functions: definition, owner, rights, comment
    SELECT 'function ' || p.oid::regprocedure || E'\n' || pg_get_functiondef(p.oid)
           || E'\n  acl ' || coalesce(p.proacl::text, 'default')
           || E'\n  comment ' || coalesce(obj_description(p.oid, 'pg_proc'), '')
      FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
     WHERE p.prokind <> 'a'
    UNION ALL
    SELECT 'aggregate ' || p.oid::regprocedure FROM pg_proc p
      JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid WHERE p.prokind = 'a'
    UNION ALL
    -- relations: kind, options, rights, comment, RLS
    SELECT 'relation ' || r.oid::regclass || ' kind ' || r.relkind::text || ' persistence ' || r.relpersistence::text
           || ' options ' || coalesce(r.reloptions::text, '') || ' rls ' || r.relrowsecurity || '/' || r.relforcerowsecurity
           || ' acl ' || coalesce(r.relacl::text, 'default') || ' comment ' || coalesce(obj_description(r.oid, 'pg_class'), '')
      FROM rels r
    UNION ALL
    SELECT 'column ' || r.oid::regclass || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
           || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
           || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
           || CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END
           || CASE WHEN a.attgenerated <> '' THEN ' generated' ELSE '' END
           || ' comment ' || coalesce(col_description(r.oid, a.attnum), '')
      FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_attrdef ad ON ad.adrelid = r.oid AND ad.adnum = a.attnum
    UNION ALL
    SELECT 'column position ' || r.oid::regclass || ' ' || string_agg(a.attname, ',' ORDER BY a.attnum)
      FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
     GROUP BY r.oid
    UNION ALL
    SELECT 'constraint ' || r.oid::regclass || ' ' || c.conname || ' ' || pg_get_constraintdef(c.oid)
      FROM rels r JOIN pg_constraint c ON c.conrelid = r.oid
    UNION ALL
    SELECT 'index ' || regexp_replace(pg_get_indexdef(i.indexrelid), 'INDEX \S+ ON', 'INDEX ON')
      FROM rels r JOIN pg_index i ON i.indrelid = r.oid
    UNION ALL
    SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled ' || t.tgenabled::text
      FROM rels r JOIN pg_trigger t ON t.tgrelid = r.oid AND NOT t.tgisinternal
    UNION ALL
    SELECT 'policy ' || r.oid::regclass || ' ' || p.polname || ' ' || p.polcmd::text || ' ' || p.polpermissive
           || ' ' || p.polroles::regrole[]::text
           || ' using ' || coalesce(pg_get_expr(p.polqual, p.polrelid), '')
           || ' check ' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '')
      FROM rels r JOIN pg_policy p ON p.polrelid = r.oid
    UNION ALL
    SELECT 'view ' || r.oid::regclass || E'\n' || regexp_replace(pg_get_viewdef(r.oid), '\(\d+\)::oid', '(OID)::oid', 'g')
      FROM rels r WHERE r.relkind IN ('v', 'm')
    UNION ALL
    SELECT 'sequence ' || r.oid::regclass || ' ' || s.seqtypid::regtype || ' ' || s.seqincrement || ' ' || s.seqcycle
      FROM rels r JOIN pg_sequence s ON s.seqrelid = r.oid
    UNION ALL
    SELECT 'type ' || t.oid::regtype || ' ' || t.typtype::text || ' ' || coalesce(obj_description(t.oid, 'pg_type'), '')
           || ' ' || coalesce((SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), '')
      FROM pg_type t JOIN members m ON m.classid = 'pg_type'::regclass AND m.objid = t.oid
    UNION ALL
    SELECT 'schema ' || n.nspname || ' owner ' || n.nspowner::regrole || ' acl ' || coalesce(n.nspacl::text, 'default')
           || ' comment ' || coalesce(obj_description(n.oid, 'pg_namespace'), '')
      FROM pg_namespace n JOIN members m ON m.classid = 'pg_namespace'::regclass AND m.objid = n.oid
    UNION ALL
    SELECT 'event trigger ' || e.evtname || ' on ' || e.evtevent || ' tags ' || coalesce(e.evttags::text, '')
           || ' function ' || e.evtfoid::regproc || ' enabled ' || e.evtenabled::text
      FROM pg_event_trigger e JOIN members m ON m.classid = 'pg_event_trigger'::regclass AND m.objid = e.oid
    UNION ALL
    SELECT 'config ' || c::regclass || ' ' || coalesce(x.extcondition[i], '')
      FROM pg_extension x, ext, unnest(x.extconfig) WITH ORDINALITY AS u(c, i) WHERE x.oid = ext.oid
    UNION ALL
    SELECT 'extension ' || x.extname || ' ' || x.extversion || ' schema ' || x.extnamespace::regnamespace
           || ' relocatable ' || x.extrelocatable
      FROM pg_extension x, ext WHERE x.oid = ext.oid
    UNION ALL
    -- default privileges and the initial privileges pg_dump keeps
    SELECT 'init_privs ' || pg_describe_object(ip.classoid, ip.objoid, ip.objsubid) || ' ' || ip.privtype::text || ' ' || ip.initprivs::text
      FROM pg_init_privs ip JOIN members m ON m.classid = ip.classoid AND m.objid = ip.objoid
) lines ORDER BY line;
