-- Snapshots (doc/snapshots.md): the rows of an anonymous or disclosure view
-- kept in a table of privacy_snapshot_data (indexed, analyzed; granted to
-- nobody) and read through a view of privacy_snapshot_<kind>, which applies
-- opt-outs and erasures as they are when it is read.  Refreshed on demand
-- and, for the databases of crm_privacy.snapshot_databases, on a schedule.
CREATE SCHEMA privacy_snapshot_data;
COMMENT ON SCHEMA privacy_snapshot_data IS
'crm_privacy: the tables that keep the snapshots (granted to nobody; read them through the privacy_snapshot_* views)';
-- a table's owner inserts its snapshot's rows into a new table while it is refreshed
GRANT USAGE ON SCHEMA privacy_snapshot_data TO PUBLIC;

-- One row per snapshot; its table is privacy_snapshot_data.s<id>.
CREATE TABLE privacy.snapshot_data (
    id            pg_catalog.int8 GENERATED ALWAYS AS IDENTITY UNIQUE,
    tbl           pg_catalog.oid NOT NULL,
    tbl_name      pg_catalog.text NOT NULL,
    views         pg_catalog.text NOT NULL,
    refresh_every pg_catalog.interval,
    refreshed_at  pg_catalog.timestamptz NOT NULL,
    row_count     pg_catalog.int8 NOT NULL,
    -- at the last refresh: the subject table, its k, the quasi-identifier
    -- columns (an erasure takes the subject's rows out, and small classes)
    subject       pg_catalog.oid,
    k             pg_catalog.int4 NOT NULL DEFAULT 0,
    quasi         pg_catalog.text[],
    -- the MD5 of the live view's query it was made from; out of date when
    -- the live view changed since (its view then answers with an error)
    definition    pg_catalog.text,
    out_of_date   pg_catalog.bool NOT NULL DEFAULT false,
    PRIMARY KEY (tbl, views)
);

CREATE VIEW privacy.snapshots AS
SELECT s.tbl_name AS table_name, s.views,
       'privacy_snapshot_' OPERATOR(pg_catalog.||) pg_catalog.substr(s.views, 9) AS snapshot_schema,
       s.refresh_every, s.refreshed_at, s.row_count, s.out_of_date
  FROM privacy.snapshot_data s;
GRANT SELECT ON privacy.snapshots TO PUBLIC;
COMMENT ON VIEW privacy.snapshots IS
'the snapshots of the anonymous and disclosure views: when each was refreshed, its rows, its schedule';

CREATE FUNCTION privacy.refresh_snapshot(tbl pg_catalog.regclass, views pg_catalog.text DEFAULT 'privacy_anon')
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'crm_refresh_snapshot'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION privacy.refresh_snapshot(pg_catalog.regclass, pg_catalog.text) IS
'make or refresh the snapshot of a table''s anonymous (or disclosure) view; returns its rows; privacy administrators';

CREATE FUNCTION privacy.drop_snapshot(tbl pg_catalog.regclass, views pg_catalog.text DEFAULT 'privacy_anon')
RETURNS void
AS 'MODULE_PATHNAME', 'crm_drop_snapshot'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION privacy.drop_snapshot(pg_catalog.regclass, pg_catalog.text) IS
'drop the snapshot of a table''s anonymous (or disclosure) view; privacy administrators';

-- The filter of an out-of-date snapshot's view: an error for every read.
CREATE FUNCTION privacy.snapshot_out_of_date(view pg_catalog.text)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'crm_snapshot_out_of_date'
LANGUAGE C STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION privacy.snapshot_out_of_date(pg_catalog.text) IS
'raises an error: the filter of a snapshot view that is out of date';

CREATE FUNCTION privacy.refresh_due_snapshots()
RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'crm_refresh_due_snapshots'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION privacy.refresh_due_snapshots() IS
'refresh the snapshots whose refresh_every has passed; returns how many; privacy administrators (the scheduler calls it)';

CREATE FUNCTION privacy.schedule_snapshot(tbl pg_catalog.regclass, views pg_catalog.text,
                                          refresh_every pg_catalog.interval)
RETURNS void
AS 'MODULE_PATHNAME', 'crm_schedule_snapshot'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION privacy.schedule_snapshot(pg_catalog.regclass, pg_catalog.text, pg_catalog.interval) IS
'refresh a snapshot every refresh_every (NULL: on demand only), in the databases of crm_privacy.snapshot_databases; privacy administrators';
