-- Part 14: a Citus cluster (src/citus.c, doc/scale.md).

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
