/*-------------------------------------------------------------------------
 *
 * hooks.c
 *	  The read audit (SPEC section 6): every read of a privacy_full view, and
 *	  every call of subject_report and erase_subject, recorded in
 *	  privacy.access_log, durably, even when the reading transaction rolls
 *	  back.
 *
 * With the library in shared_preload_libraries, ExecutorStart and
 * ExecutorEnd hooks (chained to any hook installed before) notice queries
 * that read a privacy_full view and record them with the number of rows
 * returned; a transaction-abort callback records those whose query failed or
 * was rolled back, with no row count.  A record is not written by the reading
 * transaction: accesslog.c delivers it to privacy.access_log in a
 * transaction of its own, so a ROLLBACK of the reader does not undo it.
 *
 * Without preloading there is no hook: the full views call
 * privacy.read_audit_ready() once per query, which refuses the read while
 * crm_privacy.require_access_log is on (the default; superuser-only).
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/hooks.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "access/parallel.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "crm_privacy.h"
#include "access.h"

/*
 * A full-view read seen at ExecutorStart, waiting for its end.  The record is
 * filled at the start: on abort, catalogs cannot be read.
 */
typedef struct PendingRead
{
	QueryDesc  *query;
	SubTransactionId subid;		/* where it started */
	AccessRecord record;
} PendingRead;

bool		crm_require_access_log = true;
static bool read_audit_active = false;
static List *pending_reads = NIL;	/* in TopMemoryContext */

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;

/* Copy a C string into a fixed buffer, cut at a character boundary. */
static void
copy_clipped(char *dst, const char *src, int size)
{
	int			len = src ? strlen(src) : 0;

	if (len >= size)
		len = pg_mbcliplen(src, len, size - 1);
	if (len > 0)
		memcpy(dst, src, len);
	dst[len] = '\0';
}

/* The client's address as text, or "". */
static void
client_addr_text(char *buf, int size)
{
	Datum		addr;

	buf[0] = '\0';
	if (crm_client_addr(&addr))
		copy_clipped(buf, DatumGetCString(DirectFunctionCall1(inet_out, addr)), size);
}

/* Fill a record with the reader and the query; the row count comes later. */
static void
fill_record(AccessRecord *r, const char *relations, const char *query)
{
	const char *appname = GetConfigOption("application_name", true, false);

	memset(r, 0, sizeof(AccessRecord));
	r->dbid = MyDatabaseId;
	r->at = GetCurrentTimestamp();
	copy_clipped(r->session_user_name, GetUserNameFromId(GetSessionUserId(), false), NAMEDATALEN);
	copy_clipped(r->current_user_name, GetUserNameFromId(GetUserId(), false), NAMEDATALEN);
	copy_clipped(r->application_name, appname, NAMEDATALEN);
	client_addr_text(r->client_addr, sizeof(r->client_addr));
	copy_clipped(r->relations, relations, RELATIONS_MAX);	/* a JSON array that fits */
	copy_clipped(r->query, query, QUERY_MAX);
}

/* Record a read now (a function's privileged read): no row count. */
static void
record_read_now(const char *relations)
{
	AccessRecord rec;

	fill_record(&rec, relations, debug_query_string);
	crm_access_queue(&rec);
}

/*
 * Names as a JSON array of at most RELATIONS_MAX bytes: names that do not
 * fit are left out, and a last element "..." says so.  JSON escaping keeps a
 * name with a newline, a quote or a comma one element.
 */
static char *
relations_json(List *names)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	foreach(lc, names)
	{
		int			start = buf.len;

		if (start > 1)
			appendStringInfoChar(&buf, ',');
		escape_json(&buf, (const char *) lfirst(lc));
		/* room for ',"..."]' and the terminating zero */
		if (buf.len + 8 > RELATIONS_MAX)
		{
			buf.len = start;
			buf.data[start] = '\0';
			appendStringInfoString(&buf, start > 1 ? ",\"...\"" : "\"...\"");
			break;
		}
	}
	appendStringInfoChar(&buf, ']');
	return buf.data;
}

/* The privacy_full views a query reads, as a JSON array of names; or NULL. */
static char *
full_views_read(QueryDesc *queryDesc)
{
	Oid			full;
	List	   *names = NIL;
	List	   *seen = NIL;		/* PostgreSQL 15 lists a view up to 3 times */
	ListCell   *lc;

	if (queryDesc->plannedstmt == NULL)
		return NULL;
	full = get_namespace_oid("privacy_full", true);
	if (!OidIsValid(full))
		return NULL;
	foreach(lc, queryDesc->plannedstmt->rtable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);

		if (rte->rtekind == RTE_RELATION && rte->relkind == RELKIND_VIEW &&
			!list_member_oid(seen, rte->relid) && get_rel_namespace(rte->relid) == full)
		{
			char	   *name = get_rel_name(rte->relid);

			if (name == NULL)
				continue;
			seen = lappend_oid(seen, rte->relid);
			names = lappend(names, psprintf("privacy_full.%s", quote_identifier(name)));
		}
	}
	list_free(seen);
	if (names == NIL)
		return NULL;
	/* only the extension's own schema: another privacy_full is not ours */
	if (!crm_is_extension_member(NamespaceRelationId, full))
		return NULL;
	return relations_json(names);
}

/* ExecutorStart: remember the queries that read full views. */
static void
access_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	/* the leader records parallel queries, once */
	if (!(eflags & EXEC_FLAG_EXPLAIN_ONLY) && !IsParallelWorker())
	{
		char	   *relations = full_views_read(queryDesc);

		if (relations)
		{
			PendingRead *p = MemoryContextAlloc(TopMemoryContext, sizeof(PendingRead));

			p->query = queryDesc;
			p->subid = GetCurrentSubTransactionId();
			fill_record(&p->record, relations, queryDesc->sourceText);
			pending_reads = lappend(pending_reads, p);
		}
	}
}

/* ExecutorEnd: record the reads with the number of rows returned. */
static void
access_ExecutorEnd(QueryDesc *queryDesc)
{
	ListCell   *lc;

	foreach(lc, pending_reads)
	{
		PendingRead *p = (PendingRead *) lfirst(lc);

		if (p->query == queryDesc)
		{
			p->record.has_rows = true;
			p->record.row_count = queryDesc->estate ? (int64) queryDesc->estate->es_processed : 0;
			pending_reads = foreach_delete_current(pending_reads, lc);
			crm_access_queue(&p->record);
			pfree(p);
			break;
		}
	}
	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

/*
 * Record, with no row count, the pending reads whose queries will not end:
 * all of them (subid 0), or those started in an aborted subtransaction.
 */
static void
flush_pending(SubTransactionId subid)
{
	ListCell   *lc;

	foreach(lc, pending_reads)
	{
		PendingRead *p = (PendingRead *) lfirst(lc);

		if (subid != InvalidSubTransactionId && p->subid != subid)
			continue;
		pending_reads = foreach_delete_current(pending_reads, lc);
		crm_access_queue(&p->record);
		pfree(p);
	}
}

/* At the end of a transaction: no query of it is still running. */
static void
access_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PREPARE)
		flush_pending(InvalidSubTransactionId);
}

/* When a subtransaction aborts, its queries will not end either. */
static void
access_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid pg_attribute_unused(),
						void *arg pg_attribute_unused())
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		flush_pending(mySubid);
}

/* Define the setting; install the hooks when the library is preloaded. */
void
crm_read_audit_init(void)
{
	DefineCustomBoolVariable("crm_privacy.require_access_log",
							 "Refuse reads of privacy_full views that cannot be recorded.",
							 "Without crm_privacy in shared_preload_libraries, reads of the full views cannot be recorded.",
							 &crm_require_access_log, true, PGC_SUSET, 0, NULL, NULL, NULL);
	if (!process_shared_preload_libraries_in_progress)
		return;

	crm_access_shmem_install();
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = access_ExecutorStart;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = access_ExecutorEnd;
	RegisterXactCallback(access_xact_callback, NULL);
	RegisterSubXactCallback(access_subxact_callback, NULL);
	read_audit_active = true;
}

/* Refuse a read that cannot be recorded, unless a superuser said not to. */
static void
require_read_audit(void)
{
	if (!read_audit_active && crm_require_access_log)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("reads of privacy_full views cannot be recorded: crm_privacy is not in shared_preload_libraries"),
				 errhint("Add crm_privacy to shared_preload_libraries in postgresql.conf and restart the server; "
						 "or, to read unrecorded, a superuser can set crm_privacy.require_access_log = off.")));
}

/* SQL: privacy.read_audit_ready(), evaluated once per query by the full views. */
PG_FUNCTION_INFO_V1(crm_read_audit_ready);
Datum
crm_read_audit_ready(PG_FUNCTION_ARGS)
{
	require_read_audit();
	PG_RETURN_BOOL(true);
}

/*
 * SQL: privacy.record_access(what text[]): record a privileged read done by a
 * function (subject_report, erase_subject).  EXECUTE revoked from PUBLIC.
 */
PG_FUNCTION_INFO_V1(crm_record_access);
Datum
crm_record_access(PG_FUNCTION_ARGS)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *names = NIL;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("what was read must not be null")));
	arr = PG_GETARG_ARRAYTYPE_P(0);
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("what was read must not contain nulls")));
		names = lappend(names, TextDatumGetCString(elems[i]));
	}
	require_read_audit();
	if (read_audit_active)
		record_read_now(relations_json(names));
	PG_RETURN_VOID();
}
