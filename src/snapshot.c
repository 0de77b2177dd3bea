/*-------------------------------------------------------------------------
 *
 * snapshot.c
 *	  Snapshots of the anonymous and disclosure views (doc/snapshots.md):
 *	  the view's rows kept in a table, indexed and analyzed, refreshed on
 *	  demand (privacy.refresh_snapshot) and on a schedule kept by a
 *	  background worker, read through a view of privacy_snapshot_<kind>.
 *
 * A refresh fills a new table of privacy_snapshot_data (owned by
 * crm_privacy_views, granted to nobody) with the view's query, run as the
 * table's owner under SECURITY_RESTRICTED_OPERATION with the pseudonym key
 * as a parameter (the owner may insert into that new table for this one
 * statement); indexes the (pseudonymized) subject key and a one-column
 * primary key; analyzes it; points the reader's view at it and drops the
 * old table, all in one transaction: readers see the old snapshot or the new
 * one.  The reader's view (views.c, crm_snapshot_sql) applies the opt-outs
 * as they are when it is read.  A subject's erasure makes the snapshots of
 * its table and related tables again, in its transaction: no copy of the
 * erased values stays.
 *
 * The schedule: privacy.snapshots.refresh_every.  The launcher (accesslog.c)
 * starts a scheduler for each database of crm_privacy.snapshot_databases,
 * which refreshes the snapshots that are due.
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/snapshot.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "catalog/pg_namespace.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "crm_privacy.h"
#include "compat.h"
#include "label.h"

#define DATA_SCHEMA		"privacy_snapshot_data"

PGDLLEXPORT void crm_snapshot_scheduler_main(Datum arg);
static void drop_storage(Oid storage);

/* crm_privacy.snapshot_databases, crm_privacy.snapshot_naptime */
static char *snapshot_databases = NULL;
static int	snapshot_naptime = 60;

/* Run one statement through SPI (connected). */
static void
exec_sql(const char *sql)
{
	if (SPI_execute(sql, false, 0) < 0)
		elog(ERROR, "SPI_execute failed: %s", sql);
}

/*
 * The id of the snapshot of views_schema's view of relid (its table is
 * privacy_snapshot_data.s<id>), or 0 if there is none; with create, the
 * snapshot's row is made if missing.
 */
static int64
snapshot_id(Oid relid, const char *views_schema, bool create)
{
	Oid			argtypes[3] = {OIDOID, TEXTOID, TEXTOID};
	Datum		args[3];
	bool		isnull;
	int64		id = 0;

	args[0] = ObjectIdGetDatum(relid);
	args[1] = CStringGetTextDatum(views_schema);
	args[2] = CStringGetTextDatum(create ? crm_qualified_name(relid) : "");
	if (SPI_execute_with_args(create
							  ? "INSERT INTO privacy.snapshot_data AS d (tbl, tbl_name, views, refreshed_at, row_count)"
							  " VALUES ($1, $3, $2, pg_catalog.now(), 0)"
							  " ON CONFLICT (tbl, views) DO UPDATE SET tbl_name = excluded.tbl_name RETURNING d.id"
							  : "SELECT d.id FROM privacy.snapshot_data d"
							  " WHERE d.tbl OPERATOR(pg_catalog.=) $1 AND d.views OPERATOR(pg_catalog.=) $2",
							  3, argtypes, args, NULL, false, 0) < 0)
		elog(ERROR, "could not read privacy.snapshot_data");
	if (SPI_processed > 0)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			id = DatumGetInt64(d);
	}
	return id;
}

/* The name of the table of snapshot id. */
static char *
storage_name(int64 id)
{
	return psprintf("s" INT64_FORMAT, id);
}

/* Has table relid row-level security enabled? */
static bool
row_security(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	bool		on = false;

	if (HeapTupleIsValid(tup))
	{
		on = ((Form_pg_class) GETSTRUCT(tup))->relrowsecurity;
		ReleaseSysCache(tup);
	}
	return on;
}

/*
 * Are view viewid's columns the first ones of the snapshot table storage
 * (after its hidden key)?  Then CREATE OR REPLACE VIEW keeps the view, and
 * what users built on it, when columns were only added.
 */
static bool
columns_kept(Oid viewid, Oid storage)
{
	Relation	v = relation_open(viewid, AccessShareLock);
	Relation	t = relation_open(storage, AccessShareLock);
	TupleDesc	vd = RelationGetDescr(v);
	TupleDesc	td = RelationGetDescr(t);
	bool		same = (vd->natts <= td->natts - 1);

	for (int i = 0; same && i < vd->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(vd, i);
		Form_pg_attribute b = TupleDescAttr(td, i + 1);

		same = strcmp(NameStr(a->attname), NameStr(b->attname)) == 0 &&
			a->atttypid == b->atttypid && a->atttypmod == b->atttypmod;
	}
	relation_close(t, AccessShareLock);
	relation_close(v, AccessShareLock);
	return same;
}

/*
 * Refresh the snapshot of views_schema's view of relid; SPI connected, as the
 * extension's owner.  Returns its rows.
 */
static int64
refresh_connected(Oid relid, const char *views_schema)
{
	CrmSnapshotSql ss;
	char	   *base;
	char	   *fresh;
	char	   *fresh_q;
	Oid			datanspid = get_namespace_oid(DATA_SCHEMA, false);
	Oid			owner = crm_table_owner(relid);
	const char *owner_q = quote_identifier(GetUserNameFromId(owner, false));
	Oid			old;
	Oid			viewid;
	Oid			nspid;
	char	   *view_q;
	bytea	   *key;
	int64		rows;
	ListCell   *lc;

	/*
	 * Each statement sees what committed before it (READ COMMITTED), after
	 * the lock that orders refreshes: a refresh that waited for an erasure's
	 * sees it, and never puts erased values back.
	 */
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("a snapshot cannot be refreshed in a %s transaction",
						IsolationIsSerializable() ? "SERIALIZABLE" : "REPEATABLE READ"),
				 errdetail("A refresh must see every change committed before it, erasures included."),
				 errhint("Refresh it in a READ COMMITTED transaction.")));
	base = storage_name(snapshot_id(relid, views_schema, true));
	fresh = psprintf("%s_new", base);
	fresh_q = quote_qualified_identifier(DATA_SCHEMA, fresh);
	crm_snapshot_sql(relid, views_schema, fresh_q, &ss);
	if (row_security(relid) || (ss.subject != relid && row_security(ss.subject)))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("table %s has row-level security, which a snapshot cannot apply",
						crm_qualified_name(row_security(relid) ? relid : ss.subject)),
				 errdetail("The live views apply the table's policies for each reader; a snapshot computed once would show every row to every reader."),
				 errhint("Read the live view, or disable row-level security on the table.")));
	if (ss.subject_k > 0 && crm_table_owner(ss.subject) != owner)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tables %s and %s have different owners", crm_qualified_name(relid),
						crm_qualified_name(ss.subject)),
				 errdetail("The snapshot of a related table is computed as its owner, who must read its subject table's classes (k-anonymity)."),
				 errhint("Give them one owner (ALTER TABLE ... OWNER TO), then refresh again.")));
	if (ss.subject_k > 0 && snapshot_id(ss.subject, views_schema, false) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s has no snapshot of its anonymous view", crm_qualified_name(ss.subject)),
				 errdetail("The anonymous snapshot of a related table leaves out the subjects its subject table's snapshot suppresses (k-anonymity), and an erasure updates both."),
				 errhint("Make the snapshot of %s first.", crm_qualified_name(ss.subject))));
	crm_view_schema(ss.snapshot_schema, psprintf("snapshots of the %s views", views_schema));
	nspid = get_namespace_oid(ss.snapshot_schema, false);
	view_q = quote_qualified_identifier(ss.snapshot_schema, ss.relname);

	/* the new table, filled as the table's owner */
	exec_sql(psprintf("CREATE TABLE %s (%s)", fresh_q, ss.columns));
	crm_extension_member(RelationRelationId, get_relname_relid(fresh, datanspid), true);
	exec_sql(psprintf("ALTER TABLE %s OWNER TO %s", fresh_q, quote_identifier(CRM_VIEW_ROLE)));
	exec_sql(psprintf("GRANT INSERT ON %s TO %s", fresh_q, owner_q));
	key = crm_pseudonym_key();
	rows = (int64) crm_run_as_table_owner_keyed(relid,
												psprintf("INSERT INTO %s SELECT * FROM (%s) f", fresh_q, ss.fill),
												NULL, key, (Datum) 0, NULL, false, NULL, NULL);
	explicit_bzero(VARDATA(key), VARSIZE(key) - VARHDRSZ);
	exec_sql(psprintf("REVOKE INSERT ON %s FROM %s", fresh_q, owner_q));
	/* the opt-outs made before the refresh: gone from its rows and statistics */
	foreach(lc, ss.prune)
	{
		exec_sql((char *) lfirst(lc));
		if (strncmp((char *) lfirst(lc), "DELETE", 6) == 0)
			rows -= (int64) SPI_processed;
	}
	foreach(lc, ss.indexed)
		exec_sql(psprintf("CREATE INDEX ON %s (%s)", fresh_q, quote_identifier((char *) lfirst(lc))));
	exec_sql(psprintf("ANALYZE %s", fresh_q));

	/*
	 * The reader's view, now on the new table: replaced in place, unless a
	 * column it has is gone or changed; then made anew (what users built on
	 * it stands in the way, and the error names it).
	 */
	viewid = get_relname_relid(ss.relname, nspid);
	if (OidIsValid(viewid) && !columns_kept(viewid, get_relname_relid(fresh, datanspid)))
	{
		crm_extension_member(RelationRelationId, viewid, false);
		viewid = InvalidOid;
	}
	if (OidIsValid(viewid))
		exec_sql(psprintf("CREATE OR REPLACE VIEW %s WITH (security_barrier) AS %s", view_q, ss.reader));
	else
	{
		exec_sql(psprintf("CREATE VIEW %s WITH (security_barrier) AS %s", view_q, ss.reader));
		viewid = get_relname_relid(ss.relname, nspid);
		crm_extension_member(RelationRelationId, viewid, true);
		exec_sql(psprintf("ALTER VIEW %s OWNER TO %s", view_q, quote_identifier(CRM_VIEW_ROLE)));
		foreach(lc, ss.grantees)
			exec_sql(psprintf("GRANT SELECT ON %s TO %s", view_q, quote_identifier((char *) lfirst(lc))));
		exec_sql(psprintf("SELECT privacy.record_baseline(%u)", viewid));
	}
	exec_sql(ss.comments);

	/* the old table goes (with a view left under the table's former name) */
	old = get_relname_relid(base, datanspid);
	if (OidIsValid(old))
		drop_storage(old);
	exec_sql(psprintf("ALTER TABLE %s RENAME TO %s", fresh_q, quote_identifier(base)));

	{
		Datum	   *names = palloc(sizeof(Datum) * (list_length(ss.quasi) + 1));
		Oid			argtypes[1] = {TEXTARRAYOID};
		Datum		args[1];
		int			n = 0;

		foreach(lc, ss.quasi)
			names[n++] = CStringGetTextDatum((char *) lfirst(lc));
		args[0] = PointerGetDatum(construct_array(names, n, TEXTOID, -1, false, TYPALIGN_INT));
		if (SPI_execute_with_args(psprintf("UPDATE privacy.snapshot_data SET refreshed_at = pg_catalog.now(),"
										   " row_count = " INT64_FORMAT ", k = %d, subject = %u, quasi = $1,"
										   " definition = %s, out_of_date = false"
										   " WHERE tbl OPERATOR(pg_catalog.=) %u AND views OPERATOR(pg_catalog.=) %s",
										   rows, ss.k, ss.subject, quote_literal_cstr(ss.live_md5),
										   relid, quote_literal_cstr(views_schema)),
								  1, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not update privacy.snapshot_data");
	}
	return rows;
}

/* The views that read snapshot table storage; SPI connected. */
static List *
views_reading(Oid storage)
{
	List	   *views = NIL;

	exec_sql(psprintf("SELECT DISTINCT r.ev_class FROM pg_catalog.pg_depend d"
					  " JOIN pg_catalog.pg_rewrite r ON r.oid OPERATOR(pg_catalog.=) d.objid"
					  " WHERE d.classid OPERATOR(pg_catalog.=) CAST('pg_catalog.pg_rewrite' AS pg_catalog.regclass)"
					  " AND d.refobjid OPERATOR(pg_catalog.=) CAST(%u AS pg_catalog.oid)"
					  " AND r.ev_class OPERATOR(pg_catalog.<>) CAST(%u AS pg_catalog.oid)", storage, storage));
	for (uint64 i = 0; i < SPI_processed; i++)
		views = lappend_oid(views, atooid(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1)));
	return views;
}

/*
 * Drop a snapshot table, and the extension's views that read it (its
 * reader's view, or one left under a table's former name); SPI connected,
 * as the extension's owner.
 */
static void
drop_storage(Oid storage)
{
	List	   *views = NIL;
	ListCell   *lc;

	views = views_reading(storage);
	foreach(lc, views)
		if (crm_is_extension_member(RelationRelationId, lfirst_oid(lc)))
			crm_extension_member(RelationRelationId, lfirst_oid(lc), false);
	crm_extension_member(RelationRelationId, storage, false);
}

/*
 * Drop the snapshot of views_schema's view of relid (which may be dropped
 * already); SPI connected, as the extension's owner.
 */
static void
drop_connected(Oid relid, const char *views_schema)
{
	int64		id = snapshot_id(relid, views_schema, false);
	Oid			storage = id > 0 ? get_relname_relid(storage_name(id), get_namespace_oid(DATA_SCHEMA, false))
		: InvalidOid;
	const char *snapshot_schema = psprintf("privacy_snapshot_%s", views_schema + strlen("privacy_"));
	Oid			nspid;

	if (OidIsValid(storage))
		drop_storage(storage);
	/* a snapshot schema left empty goes too (that of a dropped profile) */
	nspid = get_namespace_oid(snapshot_schema, true);
	if (OidIsValid(nspid) && crm_is_extension_member(NamespaceRelationId, nspid))
	{
		exec_sql(psprintf("SELECT FROM pg_catalog.pg_class WHERE relnamespace OPERATOR(pg_catalog.=) %u LIMIT 1", nspid));
		if (SPI_processed == 0)
			crm_extension_member(NamespaceRelationId, nspid, false);
	}
	exec_sql(psprintf("DELETE FROM privacy.snapshot_data WHERE tbl OPERATOR(pg_catalog.=) %u"
					  " AND views OPERATOR(pg_catalog.=) %s", relid, quote_literal_cstr(views_schema)));
}

/*
 * The snapshots a query of privacy.snapshot_data returns (its columns: tbl,
 * views), as a list of pairs: table OID, then views schema.  SPI connected.
 */
static List *
snapshot_pairs(const char *sql)
{
	List	   *pairs = NIL;

	exec_sql(sql);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		pairs = lappend_oid(pairs, atooid(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1)));
		pairs = lappend(pairs, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2));
	}
	return pairs;
}

#define ALL_SNAPSHOTS "SELECT tbl, views FROM privacy.snapshot_data ORDER BY tbl, views"

/* The snapshots (tbl, views) whose table is relid or, with related, one of its related tables. */
static List *
snapshots_of(Oid relid, bool related)
{
	List	   *all = snapshot_pairs(ALL_SNAPSHOTS);
	List	   *result = NIL;

	for (int i = 0; i + 1 < list_length(all); i += 2)
	{
		Oid			tbl = list_nth_oid(all, i);
		CrmTableLabel tl;

		if (tbl == relid ||
			(related && crm_get_table_label(tbl, &tl) && tl.related && crm_subject_relid(&tl) == relid))
		{
			result = lappend_oid(result, tbl);
			result = lappend(result, list_nth(all, i + 1));
		}
	}
	return result;
}

/*
 * The (tbl regclass, views text) arguments of the snapshot functions, after
 * the caller is checked: a privacy administrator.  Neither may be NULL; with
 * must_exist, the table must exist.
 */
static void
snapshot_args(FunctionCallInfo fcinfo, bool must_exist, Oid *relid, char **views)
{
	crm_require_privacy_admin();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the table must not be null")));
	*relid = PG_GETARG_OID(0);
	if (must_exist)
		crm_require_relation(*relid);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the schema of the views must not be null"),
				 errhint("Name privacy_anon or a privacy_disclose_* schema.")));
	*views = text_to_cstring(PG_GETARG_TEXT_PP(1));
}

/* SQL: privacy.refresh_snapshot(tbl regclass, views text DEFAULT 'privacy_anon') */
PG_FUNCTION_INFO_V1(crm_refresh_snapshot);
Datum
crm_refresh_snapshot(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *views;
	CrmOwnerContext ctx;
	int64		rows;

	snapshot_args(fcinfo, true, &relid, &views);
	crm_lock_view_admin();
	crm_become_owner(&ctx, true);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rows = refresh_connected(relid, views);
	SPI_finish();
	crm_end_owner(&ctx);
	PG_RETURN_INT64(rows);
}

/* SQL: privacy.drop_snapshot(tbl regclass, views text DEFAULT 'privacy_anon') */
PG_FUNCTION_INFO_V1(crm_drop_snapshot);
Datum
crm_drop_snapshot(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *views;
	CrmOwnerContext ctx;
	bool		found = false;
	List	   *snaps;

	snapshot_args(fcinfo, true, &relid, &views);
	crm_lock_view_admin();
	crm_become_owner(&ctx, true);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	snaps = snapshots_of(relid, false);
	for (int i = 0; i + 1 < list_length(snaps); i += 2)
		found |= (strcmp(list_nth(snaps, i + 1), views) == 0);
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("table %s has no snapshot of its %s view", crm_qualified_name(relid), views),
				 errhint("privacy.snapshots lists the snapshots.")));
	drop_connected(relid, views);
	/* the anonymous snapshots of related tables need the subject's (k-anonymity) */
	if (strcmp(views, "privacy_anon") == 0)
	{
		snaps = snapshots_of(relid, true);
		for (int i = 0; i + 1 < list_length(snaps); i += 2)
			if (list_nth_oid(snaps, i) != relid && strcmp(list_nth(snaps, i + 1), views) == 0)
				drop_connected(list_nth_oid(snaps, i), views);
	}
	SPI_finish();
	crm_end_owner(&ctx);
	PG_RETURN_VOID();
}

/*
 * SQL: privacy.schedule_snapshot(tbl regclass, views text, refresh_every
 * interval): refresh it every refresh_every (NULL: on demand only).
 */
PG_FUNCTION_INFO_V1(crm_schedule_snapshot);
Datum
crm_schedule_snapshot(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *views;
	CrmOwnerContext ctx;
	Oid			argtypes[3] = {OIDOID, TEXTOID, INTERVALOID};
	Datum		args[3];
	char		nulls[3] = {' ', ' ', ' '};
	uint64		n;

	snapshot_args(fcinfo, false, &relid, &views);
	if (!PG_ARGISNULL(2))
	{
		Interval   *every = PG_GETARG_INTERVAL_P(2);
		Interval	minute = {.time = USECS_PER_MINUTE};
		Interval	century = {.month = 100 * MONTHS_PER_YEAR};

		/* no negative part: "1200 months -36500 days" compares as small, adds as huge */
		if (every->month < 0 || every->day < 0 || every->time < 0 ||
			DatumGetInt32(DirectFunctionCall2(interval_cmp, IntervalPGetDatum(every),
											  IntervalPGetDatum(&minute))) < 0 ||
			DatumGetInt32(DirectFunctionCall2(interval_cmp, IntervalPGetDatum(every),
											  IntervalPGetDatum(&century))) > 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a snapshot is refreshed every minute to every 100 years, not every %s",
							DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(every)))),
					 errhint("NULL refreshes it on demand only.")));
		args[2] = IntervalPGetDatum(every);
	}
	else
		nulls[2] = 'n';
	args[0] = ObjectIdGetDatum(relid);
	args[1] = CStringGetTextDatum(views);
	crm_become_owner(&ctx, true);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("UPDATE privacy.snapshot_data SET refresh_every = $3"
							  " WHERE tbl OPERATOR(pg_catalog.=) $1 AND views OPERATOR(pg_catalog.=) $2",
							  3, argtypes, args, nulls, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update privacy.snapshot_data");
	n = SPI_processed;
	SPI_finish();
	crm_end_owner(&ctx);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("table %s has no snapshot of its %s view",
						get_rel_name(relid) ? crm_qualified_name(relid) : psprintf("%u", relid), views),
				 errhint("Make it with privacy.refresh_snapshot() first.")));
	PG_RETURN_VOID();
}

/*
 * The condition "the row's subject is one of $1 (text[] of canonical keys)"
 * on a snapshot table's hidden key: numbers compare as numbers (an int4
 * column of a related table against a bigint subject key, numeric(12,2)
 * against numeric(12,3)), anything else as its text.
 */
static char *
key_in(Oid storage)
{
	Oid			type = get_atttype(storage, 1);

	if (type == INT2OID || type == INT4OID || type == INT8OID || type == NUMERICOID ||
		type == FLOAT4OID || type == FLOAT8OID)
		return "CAST(crm_privacy_key AS pg_catalog.numeric) OPERATOR(pg_catalog.=) ANY (CAST($1 AS pg_catalog.numeric[]))";
	return "CAST(crm_privacy_key AS pg_catalog.text) OPERATOR(pg_catalog.=) ANY ($1)";
}

/*
 * Take the subjects keys (text[]) out of snapshot table storage; with k > 0
 * (the anonymous snapshot of a subject table), also every row of their
 * quasi-identifier classes that have fewer than k rows left (quasi: the
 * names of the class's columns).  Returns the keys taken out, as a text[]
 * (0 when none).
 */
static Datum
take_out(Oid storage, Datum keys, int k, List *quasi)
{
	char	   *st = quote_qualified_identifier(DATA_SCHEMA, get_rel_name(storage));
	Oid			argtypes[1] = {TEXTARRAYOID};
	Datum		args[1] = {keys};
	StringInfoData sql;
	bool		isnull;
	Datum		result;

	initStringInfo(&sql);
	if (k <= 0)
		appendStringInfo(&sql, "WITH gone AS (DELETE FROM %s WHERE %s RETURNING crm_privacy_key)"
						 " SELECT pg_catalog.array_agg(CAST(crm_privacy_key AS pg_catalog.text)) FROM gone",
						 st, key_in(storage));
	else
	{
		/* the erased rows' classes, as the live view counts them (NULLs alike) */
		ListCell   *lc;
		StringInfoData same;
		StringInfoData classes;

		initStringInfo(&same);
		appendStringInfoString(&same, "true");
		foreach(lc, quasi)
			appendStringInfo(&same, " AND x.%s IS NOT DISTINCT FROM e.%s",
							 quote_identifier((char *) lfirst(lc)), quote_identifier((char *) lfirst(lc)));
		initStringInfo(&classes);
		foreach(lc, quasi)
			appendStringInfo(&classes, "%sa.%s", classes.len > 0 ? ", " : "",
							 quote_identifier((char *) lfirst(lc)));

		/*
		 * Each row of the erased rows' classes, with how many rows of its
		 * class stay; a class left with fewer than k goes whole.
		 */
		appendStringInfo(&sql,
						 "WITH e AS (SELECT ctid AS crm_row, * FROM %s WHERE %s),"
						 " a AS (SELECT x.ctid AS crm_row, x.*,"
						 " EXISTS (SELECT FROM e WHERE e.crm_row OPERATOR(pg_catalog.=) x.ctid) AS crm_erased"
						 " FROM %s x WHERE EXISTS (SELECT FROM e WHERE %s)),"
						 " c AS (SELECT a.crm_row, a.crm_erased, pg_catalog.count(*) FILTER (WHERE NOT a.crm_erased)"
						 " OVER (%s%s) AS crm_left FROM a),"
						 " gone AS (DELETE FROM %s d WHERE d.ctid OPERATOR(pg_catalog.=) ANY (SELECT c.crm_row FROM c"
						 " WHERE c.crm_erased OR c.crm_left OPERATOR(pg_catalog.<) %d) RETURNING crm_privacy_key)"
						 " SELECT pg_catalog.array_agg(CAST(crm_privacy_key AS pg_catalog.text)) FROM gone",
						 st, key_in(storage), st, same.data,
						 classes.len > 0 ? "PARTITION BY " : "", classes.data, st, k);
	}
	if (SPI_execute_with_args(sql.data, 1, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not take subjects out of snapshot %s", st);
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return (Datum) 0;
	return SPI_datumTransfer(result, false, -1);
}

/*
 * After the erasure of subject key of table subject (requests.c): take the
 * subject out of every snapshot of the table and its related tables, in the
 * erasure's transaction, so that no copy of the erased values stays; with
 * k-anonymity, the rows of the classes it leaves too small go too (and the
 * related rows of their subjects, as the live views suppress them).  Rows,
 * not a rebuild: nothing a reader made on a snapshot's view can stop it.
 */
void
crm_snapshots_erased(Oid subject, const char *key)
{
	CrmOwnerContext ctx;
	Datum		erased;
	Datum		classes = (Datum) 0;
	Datum		one = CStringGetTextDatum(key);
	int			subject_k = 0;

	if (!OidIsValid(get_namespace_oid(DATA_SCHEMA, true)) ||
		!OidIsValid(get_relname_relid("snapshot_data", get_namespace_oid(CRM_SCHEMA, true))))
		return;					/* during CREATE or DROP EXTENSION */
	erased = PointerGetDatum(construct_array(&one, 1, TEXTOID, -1, false, TYPALIGN_INT));
	crm_lock_view_admin();
	crm_become_owner(&ctx, true);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	exec_sql(psprintf("SELECT d.tbl, d.views, d.k, d.quasi, d.id,"
					  " d.tbl OPERATOR(pg_catalog.=) %u AND d.views OPERATOR(pg_catalog.=) 'privacy_anon' AS first"
					  " FROM privacy.snapshot_data d WHERE d.subject OPERATOR(pg_catalog.=) %u"
					  " ORDER BY first DESC, d.id", subject, subject));
	if (SPI_processed > 0 && IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("a subject with snapshots cannot be erased in a %s transaction",
						IsolationIsSerializable() ? "SERIALIZABLE" : "REPEATABLE READ"),
				 errdetail("The erasure takes the subject out of the snapshots as they are now."),
				 errhint("Erase it in a READ COMMITTED transaction.")));
	{
		SPITupleTable *snaps = SPI_tuptable;
		uint64		n = SPI_processed;

		for (uint64 i = 0; i < n; i++)
		{
			HeapTuple	tup = snaps->vals[i];
			TupleDesc	desc = snaps->tupdesc;
			Oid			tbl = atooid(SPI_getvalue(tup, desc, 1));
			char	   *views = SPI_getvalue(tup, desc, 2);
			int			k = atoi(SPI_getvalue(tup, desc, 3));
			List	   *quasi = NIL;
			char	   *name = storage_name(atoll(SPI_getvalue(tup, desc, 5)));
			Oid			storage = get_relname_relid(name, get_namespace_oid(DATA_SCHEMA, false));
			bool		first = strcmp(SPI_getvalue(tup, desc, 6), "t") == 0;
			Datum		keys = erased;
			int64		gone;
			Datum		out;

			bool		isnull;
			Datum		q = SPI_getbinval(tup, desc, 4, &isnull);

			if (!OidIsValid(storage))
				continue;
			if (!isnull)
			{
				Datum	   *elems;
				bool	   *nulls;
				int			nelems;

				deconstruct_array(DatumGetArrayTypeP(q), TEXTOID, -1, false, TYPALIGN_INT,
								  &elems, &nulls, &nelems);
				for (int j = 0; j < nelems; j++)
					if (!nulls[j])
						quasi = lappend(quasi, TextDatumGetCString(elems[j]));
			}
			if (first)
				subject_k = k;
			else if (strcmp(views, "privacy_anon") == 0 && subject_k > 0 && classes != (Datum) 0)
				keys = classes; /* the subjects the subject's snapshot lost */
			out = take_out(storage, keys, k, quasi);
			if (first && out != (Datum) 0)
				classes = out;
			gone = out != (Datum) 0 ? ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(out)),
													 ARR_DIMS(DatumGetArrayTypeP(out))) : 0;
			if (gone > 0)
				exec_sql(psprintf("UPDATE privacy.snapshot_data SET row_count = row_count OPERATOR(pg_catalog.-) " INT64_FORMAT
								  " WHERE tbl OPERATOR(pg_catalog.=) %u AND views OPERATOR(pg_catalog.=) %s",
								  gone, tbl, quote_literal_cstr(views)));
		}
	}
	SPI_finish();
	crm_end_owner(&ctx);
}

/*
 * Drop the snapshots of a table, or (InvalidOid) those that have no table
 * any more: their table dropped or unlabelled, their disclosure profile
 * dropped.
 */
static void
drop_snapshots(Oid relid)
{
	CrmOwnerContext ctx;
	List	   *snaps;

	if (!OidIsValid(get_namespace_oid(DATA_SCHEMA, true)) ||
		!OidIsValid(get_relname_relid("snapshot_data", get_namespace_oid(CRM_SCHEMA, true))))
		return;					/* during CREATE or DROP EXTENSION */
	crm_become_owner(&ctx, true);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	snaps = snapshot_pairs(ALL_SNAPSHOTS);
	for (int i = 0; i + 1 < list_length(snaps); i += 2)
	{
		Oid			tbl = list_nth_oid(snaps, i);
		char	   *views = list_nth(snaps, i + 1);
		CrmTableLabel tl;

		if (tbl == relid || get_rel_name(tbl) == NULL || !crm_get_table_label(tbl, &tl) ||
			(OidIsValid(relid) && tl.related && crm_subject_relid(&tl) == relid) ||
			!OidIsValid(get_namespace_oid(views, true)))
			drop_connected(tbl, views);
	}
	SPI_finish();
	crm_end_owner(&ctx);
}

/*
 * The live view of views_schema of table relid was made anew (views.c), from
 * a query whose MD5 is live_md5: a snapshot made from another query (a
 * treatment, a label, a column changed) is out of date.  Its view then
 * answers every read with an error until it is refreshed (the scheduler, or
 * privacy.refresh_due_snapshots(), refreshes it at once): it never serves
 * what the view no longer shows.  Only the view's query changes, with the
 * same columns, so nothing built on it stands in the way.  SPI connected, as
 * the extension's owner.
 */
void
crm_snapshot_check(Oid relid, const char *views_schema, const char *live_md5)
{
	int64		id;
	Oid			storage;
	List	   *views = NIL;
	ListCell   *lc;

	if (!OidIsValid(get_namespace_oid(DATA_SCHEMA, true)) ||
		!OidIsValid(get_relname_relid("snapshot_data", get_namespace_oid(CRM_SCHEMA, true))))
		return;
	id = snapshot_id(relid, views_schema, false);
	if (id == 0)
		return;
	exec_sql(psprintf("SELECT FROM privacy.snapshot_data WHERE id OPERATOR(pg_catalog.=) " INT64_FORMAT
					  " AND (out_of_date OR definition OPERATOR(pg_catalog.=) %s)", id, quote_literal_cstr(live_md5)));
	if (SPI_processed > 0)
		return;
	storage = get_relname_relid(storage_name(id), get_namespace_oid(DATA_SCHEMA, false));
	if (OidIsValid(storage))
	{
		views = views_reading(storage);
	}
	foreach(lc, views)
	{
		Oid			viewid = lfirst_oid(lc);
		Relation	rel;
		TupleDesc	desc;
		StringInfoData sql;
		char	   *qname;

		if (!crm_is_extension_member(RelationRelationId, viewid))
			continue;
		qname = quote_qualified_identifier(get_namespace_name(get_rel_namespace(viewid)), get_rel_name(viewid));
		rel = relation_open(viewid, AccessShareLock);
		desc = RelationGetDescr(rel);
		initStringInfo(&sql);
		appendStringInfo(&sql, "CREATE OR REPLACE VIEW %s WITH (security_barrier) AS SELECT ", qname);
		for (int i = 0; i < desc->natts; i++)
			appendStringInfo(&sql, "%ss.%s", i > 0 ? ", " : "",
							 quote_identifier(NameStr(TupleDescAttr(desc, i)->attname)));
		relation_close(rel, AccessShareLock);
		appendStringInfo(&sql, " FROM %s s WHERE privacy.snapshot_out_of_date(%s)",
						 quote_qualified_identifier(DATA_SCHEMA, get_rel_name(storage)),
						 quote_literal_cstr(qname));
		exec_sql(sql.data);
	}
	exec_sql(psprintf("UPDATE privacy.snapshot_data SET out_of_date = true WHERE id OPERATOR(pg_catalog.=) " INT64_FORMAT, id));
}

/*
 * SQL: privacy.snapshot_out_of_date(view text): the filter of a snapshot's
 * view that is out of date (crm_snapshot_check): an error, for every read.
 */
PG_FUNCTION_INFO_V1(crm_snapshot_out_of_date);
Datum
crm_snapshot_out_of_date(PG_FUNCTION_ARGS)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("snapshot %s is out of date", PG_ARGISNULL(0) ? "?" : text_to_cstring(PG_GETARG_TEXT_PP(0))),
			 errdetail("Its view changed (a label, a treatment or a column) since it was made; it shows nothing until it is refreshed."),
			 errhint("A privacy administrator refreshes it with privacy.refresh_snapshot(), or the scheduler does within crm_privacy.snapshot_naptime.")));
	PG_RETURN_BOOL(false);
}

/* Drop the snapshots that have no table any more; after the views changed (views.c). */
void
crm_snapshots_gc(void)
{
	drop_snapshots(InvalidOid);
}

/*
 * Drop the snapshots of a table, and of the tables related to it: it is being
 * dropped, or gets row-level security (ddl.c).
 */
void
crm_snapshots_drop(Oid relid)
{
	drop_snapshots(relid);
}

/*
 * SQL: privacy.refresh_due_snapshots(): refresh each snapshot whose
 * refresh_every has passed since its last refresh; returns how many.
 */
PG_FUNCTION_INFO_V1(crm_refresh_due_snapshots);
Datum
crm_refresh_due_snapshots(PG_FUNCTION_ARGS)
{
	CrmOwnerContext ctx;
	List	   *due;
	int			n = 0;

	crm_require_privacy_admin();
	crm_lock_view_admin();
	crm_become_owner(&ctx, true);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	due = snapshot_pairs("SELECT tbl, views FROM privacy.snapshot_data"
						 " WHERE out_of_date OR (refresh_every IS NOT NULL"
						 " AND refreshed_at OPERATOR(pg_catalog.+) refresh_every OPERATOR(pg_catalog.<=) pg_catalog.now())"
						 " ORDER BY refreshed_at");
	for (int i = 0; i + 1 < list_length(due); i += 2)
	{
		CHECK_FOR_INTERRUPTS();
		if (get_rel_relkind(list_nth_oid(due, i)) == '\0')
			continue;			/* dropped meanwhile */
		(void) refresh_connected(list_nth_oid(due, i), list_nth(due, i + 1));
		n++;
	}
	SPI_finish();
	crm_end_owner(&ctx);
	PG_RETURN_INT32(n);
}

/*
 * The scheduler of one database (its name in bgw_extra): every
 * crm_privacy.snapshot_naptime it refreshes the snapshots that are due, in
 * a transaction of its own, as the bootstrap superuser.  An error is logged
 * and tried again at the next round.
 */
void
crm_snapshot_scheduler_main(Datum arg pg_attribute_unused())
{
	char		dbname[BGW_EXTRALEN];

	strlcpy(dbname, MyBgworkerEntry->bgw_extra, sizeof(dbname));
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(dbname, NULL, 0);
	pgstat_report_appname("crm_privacy snapshot scheduler");

	while (!ShutdownRequestPending)
	{
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "crm_privacy: refreshing due snapshots");
		PG_TRY();
		{
			if (OidIsValid(get_extension_oid("crm_privacy", true)))
			{
				if (SPI_connect() != SPI_OK_CONNECT)
					elog(ERROR, "SPI_connect failed");
				exec_sql("SELECT privacy.refresh_due_snapshots()");
				SPI_finish();
			}
			PopActiveSnapshot();
			CommitTransactionCommand();
		}
		PG_CATCH();
		{
			EmitErrorReport();
			FlushErrorState();
			AbortCurrentTransaction();
		}
		PG_END_TRY();
		pgstat_report_activity(STATE_IDLE, NULL);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 snapshot_naptime * 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	proc_exit(0);
}

/*
 * In the launcher: keep a scheduler running for each database named in
 * crm_privacy.snapshot_databases (started again if it stops; stopped when
 * its database leaves the list).
 */
typedef struct Scheduler
{
	char		dbname[NAMEDATALEN];
	BackgroundWorkerHandle *handle;
} Scheduler;

static List *schedulers = NIL;	/* Scheduler, in TopMemoryContext */

void
crm_snapshot_launch(void)
{
	char	   *copy = pstrdup(snapshot_databases ? snapshot_databases : "");
	List	   *names = NIL;
	ListCell   *lc;
	MemoryContext old;

	if (!SplitIdentifierString(copy, ',', &names))
	{
		ereport(LOG,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("crm_privacy.snapshot_databases is not a list of database names")));
		names = NIL;
	}
	/* stop those no longer named, forget those stopped */
	foreach(lc, schedulers)
	{
		Scheduler  *s = lfirst(lc);
		pid_t		pid;
		bool		named = false;
		ListCell   *n;

		foreach(n, names)
			named |= (strcmp((char *) lfirst(n), s->dbname) == 0);
		if (!named)
			TerminateBackgroundWorker(s->handle);
		if (!named || GetBackgroundWorkerPid(s->handle, &pid) == BGWH_STOPPED)
		{
			pfree(s->handle);
			pfree(s);
			schedulers = foreach_delete_current(schedulers, lc);
		}
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	foreach(lc, names)
	{
		const char *name = lfirst(lc);
		bool		running = false;
		ListCell   *r;
		BackgroundWorker worker;
		Scheduler  *s;

		foreach(r, schedulers)
			running |= (strcmp(((Scheduler *) lfirst(r))->dbname, name) == 0);
		if (running)
			continue;
		memset(&worker, 0, sizeof(worker));
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
		worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
		worker.bgw_restart_time = BGW_NEVER_RESTART;
		snprintf(worker.bgw_library_name, BGW_MAXLEN, "crm_privacy");
		snprintf(worker.bgw_function_name, BGW_MAXLEN, "crm_snapshot_scheduler_main");
		snprintf(worker.bgw_name, BGW_MAXLEN, "crm_privacy snapshot scheduler");
		snprintf(worker.bgw_type, BGW_MAXLEN, "crm_privacy snapshot scheduler");
		strlcpy(worker.bgw_extra, name, BGW_EXTRALEN);
		worker.bgw_notify_pid = MyProcPid;
		s = palloc0(sizeof(Scheduler));
		strlcpy(s->dbname, name, sizeof(s->dbname));
		if (!RegisterDynamicBackgroundWorker(&worker, &s->handle))
		{
			ereport(LOG,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("could not start the crm_privacy snapshot scheduler of database \"%s\"", name),
					 errhint("Raise max_worker_processes.")));
			pfree(s);
			continue;
		}
		schedulers = lappend(schedulers, s);
	}
	MemoryContextSwitchTo(old);
}

/* The settings of the schedule; from _PG_init. */
void
crm_snapshot_init(void)
{
	DefineCustomStringVariable("crm_privacy.snapshot_databases",
							   "Databases whose snapshot schedule the crm_privacy background worker keeps.",
							   "A comma-separated list of database names; each gets a scheduler that refreshes its due snapshots.",
							   &snapshot_databases, "", PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("crm_privacy.snapshot_naptime",
							"How often a snapshot scheduler looks for due snapshots.",
							NULL, &snapshot_naptime, 60, 1, 86400, PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);
}
