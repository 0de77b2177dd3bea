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
    FOREACH t IN ARRAY ARRAY['privacy.optout_keys', 'privacy.pseudonym_key'] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
                        WHERE p.logicalrelid OPERATOR(pg_catalog.=) CAST(t AS pg_catalog.regclass)) THEN
            -- (the key's trigger goes to every copy: each node drops its
            -- cached key when a rotation commits)
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
    PERFORM privacy.refresh_views();
    RETURN NEXT 'views: built again';
END $$;
REVOKE ALL ON FUNCTION privacy.citus_setup() FROM PUBLIC;
COMMENT ON FUNCTION privacy.citus_setup() IS
'set crm_privacy up on a Citus cluster: opt-outs and the pseudonym key as reference tables, the views'' role on every node; superuser, on the coordinator';
