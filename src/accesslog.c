/*-------------------------------------------------------------------------
 *
 * accesslog.c
 *	  Delivery of the read audit's records (see hooks.c) to
 *	  privacy.access_log.
 *
 * A record is not written by the reading transaction: it goes into shared
 * memory, and a background writer for the database (started on demand, gone
 * when idle) inserts it into privacy.access_log in its own transaction.  So a
 * ROLLBACK of the reader does not undo it.  When the slots in shared memory
 * are full, the reader waits for the writers to free one (up to 10 s);
 * failing that, the record goes to the server log instead of being lost.  On
 * a hot standby nothing can be written: the record goes to the server log as
 * one line of JSON.
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/accesslog.c
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

#define ACCESS_SLOTS		256		/* records waiting for a writer */
#define ACCESS_WRITERS		16		/* databases with a writer at once */
#define WRITER_IDLE_MS		2000	/* a writer exits after this long idle: */
										/* DROP DATABASE waits 5 s for it */
#define WRITER_NAP_MS		250
#define WRITE_BATCH			128		/* records per transaction of a writer */
#define FULL_WAIT_MS		10000	/* a reader waits this long for a slot */

/* A database's writer. */
typedef struct AccessWriter
{
	Oid			dbid;			/* InvalidOid: free */
	int			pgprocno;		/* -1 until it runs */
	TimestampTz claimed;		/* when a backend asked for it */
} AccessWriter;

typedef struct AccessShared
{
	LWLock	   *lock;
	uint64		next_seq;
	AccessWriter writers[ACCESS_WRITERS];
	AccessRecord records[ACCESS_SLOTS];
} AccessShared;

static AccessShared *access_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

PGDLLEXPORT void crm_access_writer_main(Datum arg);

/* Reserve the shared memory of the read audit. */
static void
access_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(AccessShared)));
	RequestNamedLWLockTranche("crm_privacy", 1);
}

/* Attach to (or create) the shared memory of the read audit. */
static void
access_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	access_shared = ShmemInitStruct("crm_privacy read audit", sizeof(AccessShared), &found);
	if (!found)
	{
		memset(access_shared, 0, sizeof(AccessShared));
		access_shared->lock = &(GetNamedLWLockTranche("crm_privacy"))->lock;
		for (int i = 0; i < ACCESS_WRITERS; i++)
			access_shared->writers[i].pgprocno = -1;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Install the shared-memory hooks; called from _PG_init when preloaded. */
void
crm_access_shmem_install(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = access_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = access_shmem_startup;
}

/* The record as one line of JSON, for the server log. */
static char *
record_json(const AccessRecord *r)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"crm_privacy_access\":{\"at\":");
	escape_json(&buf, timestamptz_to_str(r->at));
	appendStringInfo(&buf, ",\"database_oid\":%u,\"session_user\":", r->dbid);
	escape_json(&buf, r->session_user_name);
	appendStringInfoString(&buf, ",\"current_user\":");
	escape_json(&buf, r->current_user_name);
	appendStringInfoString(&buf, ",\"application_name\":");
	escape_json(&buf, r->application_name);
	appendStringInfoString(&buf, ",\"client_addr\":");
	escape_json(&buf, r->client_addr);
	appendStringInfoString(&buf, ",\"relations\":");
	appendStringInfoString(&buf, r->relations[0] ? r->relations : "[]");
	appendStringInfoString(&buf, ",\"row_count\":");
	if (r->has_rows)
		appendStringInfo(&buf, INT64_FORMAT, r->row_count);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfoString(&buf, ",\"query\":");
	escape_json(&buf, r->query);
	appendStringInfoString(&buf, "}}");
	return buf.data;
}

/* Write a record to the server log, with why it is there. */
void
crm_access_log_record(const AccessRecord *r, const char *why)
{
	ereport(LOG,
			(errmsg("%s", record_json(r)),
			 errdetail_internal("%s", why),
			 errhidestmt(true)));
}

/* Start a writer for the current database; false if none could be started. */
static bool
start_writer(void)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "crm_privacy");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "crm_access_writer_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "crm_privacy access log writer");
	snprintf(worker.bgw_type, BGW_MAXLEN, "crm_privacy access log writer");
	worker.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
	worker.bgw_notify_pid = 0;
	if (RegisterDynamicBackgroundWorker(&worker, &handle))
		return true;
	ereport(WARNING,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("could not start the crm_privacy access log writer"),
			 errhint("Raise max_worker_processes; until a writer runs, reads wait in shared memory and are also written to the server log.")));
	return false;
}

/*
 * Queue a finished record for the database's writer, starting one if needed;
 * on a hot standby, or when shared memory is full, write it to the server log.
 */
void
crm_access_queue(const AccessRecord *rec)
{
	AccessRecord *slot = NULL;
	AccessWriter *claim = NULL;
	int			writer_procno = -1;
	bool		have_writer = false;
	TimestampTz now = GetCurrentTimestamp();

	if (RecoveryInProgress() || access_shared == NULL)
	{
		crm_access_log_record(rec, "Recorded in the server log: a hot standby cannot write privacy.access_log.");
		return;
	}

	for (int waited_ms = 0;; waited_ms++)
	{
		bool		writer_running = false;

		LWLockAcquire(access_shared->lock, LW_EXCLUSIVE);
		for (int i = 0; i < ACCESS_SLOTS && slot == NULL; i++)
		{
			if (!access_shared->records[i].used)
				slot = &access_shared->records[i];
		}
		if (slot != NULL || waited_ms >= FULL_WAIT_MS)
			break;

		/* full: while a writer drains the slots, wait for one (back-pressure) */
		for (int i = 0; i < ACCESS_WRITERS; i++)
		{
			AccessWriter *w = &access_shared->writers[i];

			if (w->dbid != InvalidOid && w->pgprocno >= 0)
			{
				writer_running = true;
				SetLatch(&ProcGlobal->allProcs[w->pgprocno].procLatch);
			}
		}
		if (!writer_running)
			break;
		LWLockRelease(access_shared->lock);
		pg_usleep(1000L);
	}
	if (slot)
	{
		memcpy(slot, rec, sizeof(AccessRecord));
		slot->used = true;
		slot->seq = access_shared->next_seq++;
	}
	for (int i = 0; i < ACCESS_WRITERS; i++)
	{
		AccessWriter *w = &access_shared->writers[i];

		if (w->dbid == MyDatabaseId)
		{
			/* a writer that never started within 10 s is replaced */
			if (w->pgprocno < 0 && TimestampDifferenceExceeds(w->claimed, now, 10000))
				claim = w;
			else
			{
				have_writer = true;
				writer_procno = w->pgprocno;
			}
			break;
		}
		if (w->dbid == InvalidOid && claim == NULL)
			claim = w;
	}
	if (have_writer)
		claim = NULL;
	if (claim)
	{
		claim->dbid = MyDatabaseId;
		claim->pgprocno = -1;
		claim->claimed = now;
	}
	LWLockRelease(access_shared->lock);

	if (slot == NULL)
		crm_access_log_record(rec, "Recorded in the server log: the crm_privacy read audit's shared memory is full.");
	if (claim && !start_writer())
	{
		/*
		 * With no writer, a crash would lose what waits in shared memory:
		 * the server log gets this record now (the table gets it too once
		 * a writer runs).
		 */
		if (slot != NULL)
			crm_access_log_record(rec, "Recorded in the server log too: no crm_privacy access log writer could be started; the record also waits in shared memory for one.");
		LWLockAcquire(access_shared->lock, LW_EXCLUSIVE);
		if (claim->dbid == MyDatabaseId && claim->pgprocno < 0)
			claim->dbid = InvalidOid;
		LWLockRelease(access_shared->lock);
	}
	else if (writer_procno >= 0)
		SetLatch(&ProcGlobal->allProcs[writer_procno].procLatch);
}

/* Take up to max records of a database out of shared memory, oldest first. */
static int
take_records(Oid dbid, AccessRecord *batch, int max)
{
	int			n = 0;

	LWLockAcquire(access_shared->lock, LW_EXCLUSIVE);
	while (n < max)
	{
		AccessRecord *oldest = NULL;

		for (int i = 0; i < ACCESS_SLOTS; i++)
		{
			AccessRecord *r = &access_shared->records[i];

			if (r->used && r->dbid == dbid && (oldest == NULL || r->seq < oldest->seq))
				oldest = r;
		}
		if (oldest == NULL)
			break;
		memcpy(&batch[n++], oldest, sizeof(AccessRecord));
		oldest->used = false;
	}
	LWLockRelease(access_shared->lock);
	return n;
}

/* A one-dimensional array of n datums of type typid. */
static Datum
make_array(Datum *elems, bool *nulls, int n, Oid typid)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1] = {n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(typid, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs, typid, typlen, typbyval,
											  typalign));
}

/* Insert records into privacy.access_log: one statement, one transaction. */
static void
insert_records(AccessRecord *batch, int n)
{
	static SPIPlanPtr plan = NULL;	/* kept across transactions */
	static const Oid coltypes[8] = {TIMESTAMPTZOID, NAMEOID, NAMEOID, TEXTOID, TEXTOID, TEXTOID,
	TEXTOID, INT8OID};
	Datum	   *elems[8];
	bool	   *isnull[8];
	Datum		args[8];
	Oid			log_relid;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "crm_privacy: writing privacy.access_log");

	/*
	 * The writer runs as a superuser: it writes only into the extension's own
	 * log, never into a table someone else named privacy.access_log.
	 */
	log_relid = get_relname_relid("access_log", get_namespace_oid(CRM_SCHEMA, true));
	if (OidIsValid(log_relid))
		LockRelationOid(log_relid, RowExclusiveLock);
	if (!crm_is_extension_member(RelationRelationId, log_relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("privacy.access_log of the crm_privacy extension does not exist in this database")));
	if (plan == NULL)
	{
		Oid			argtypes[8];

		for (int c = 0; c < 8; c++)
			argtypes[c] = get_array_type(coltypes[c]);
		plan = SPI_prepare("INSERT INTO privacy.access_log (at, session_user_name,"
						   " current_user_name, application_name, client_addr, relations,"
						   " query, row_count)"
						   " SELECT u.a, u.s, u.c, u.app, CAST(u.addr AS pg_catalog.inet),"
						   " ARRAY(SELECT e.v FROM pg_catalog.jsonb_array_elements_text(CAST(u.rel AS pg_catalog.jsonb))"
						   " WITH ORDINALITY AS e(v, i) ORDER BY e.i), u.q, u.n"
						   " FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2),"
						   " pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5),"
						   " pg_catalog.unnest($6), pg_catalog.unnest($7), pg_catalog.unnest($8))"
						   " WITH ORDINALITY AS u(a, s, c, app, addr, rel, q, n, ord)"
						   " ORDER BY u.ord",
						   8, argtypes);
		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not prepare the insert into privacy.access_log");
	}

	for (int c = 0; c < 8; c++)
	{
		elems[c] = palloc(sizeof(Datum) * n);
		isnull[c] = palloc0(sizeof(bool) * n);
	}
	for (int i = 0; i < n; i++)
	{
		AccessRecord *r = &batch[i];

		elems[0][i] = TimestampTzGetDatum(r->at);
		elems[1][i] = DirectFunctionCall1(namein, CStringGetDatum(r->session_user_name));
		elems[2][i] = DirectFunctionCall1(namein, CStringGetDatum(r->current_user_name));
		elems[3][i] = CStringGetTextDatum(r->application_name);
		isnull[3][i] = (r->application_name[0] == '\0');
		elems[4][i] = CStringGetTextDatum(r->client_addr);
		isnull[4][i] = (r->client_addr[0] == '\0');
		elems[5][i] = CStringGetTextDatum(r->relations);
		elems[6][i] = CStringGetTextDatum(r->query);
		isnull[6][i] = (r->query[0] == '\0');
		elems[7][i] = Int64GetDatum(r->row_count);
		isnull[7][i] = !r->has_rows;
	}
	for (int c = 0; c < 8; c++)
		args[c] = make_array(elems[c], isnull[c], n, coltypes[c]);
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_INSERT || SPI_processed != (uint64) n)
		elog(ERROR, "could not write to privacy.access_log");
	PopActiveSnapshot();
	SPI_finish();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * Write the waiting records of a database; true if there were any.  Records
 * that cannot be inserted (the extension was dropped, say) go to the server
 * log, and the writer exits.
 */
static bool
write_records(Oid dbid)
{
	AccessRecord *batch = palloc(sizeof(AccessRecord) * WRITE_BATCH);
	volatile int n = take_records(dbid, batch, WRITE_BATCH);

	if (n == 0)
	{
		pfree(batch);
		return false;
	}
	PG_TRY();
	{
		insert_records(batch, n);
	}
	PG_CATCH();
	{
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		for (int i = 0; i < n; i++)
			crm_access_log_record(&batch[i], "Recorded in the server log: privacy.access_log could not be written.");
		proc_exit(1);
	}
	PG_END_TRY();
	pfree(batch);
	return true;
}

/* Give up this writer's place (and not another writer's). */
static void
leave_writers(int code pg_attribute_unused(), Datum arg)
{
	Oid			dbid = DatumGetObjectId(arg);

	LWLockAcquire(access_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < ACCESS_WRITERS; i++)
	{
		if (access_shared->writers[i].dbid == dbid &&
			access_shared->writers[i].pgprocno == MyProc->pgprocno)
		{
			access_shared->writers[i].dbid = InvalidOid;
			access_shared->writers[i].pgprocno = -1;
		}
	}
	LWLockRelease(access_shared->lock);
}

/* Main of the access log writer of one database. */
void
crm_access_writer_main(Datum arg)
{
	Oid			dbid = DatumGetObjectId(arg);
	long		idle_ms = 0;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dbid, InvalidOid, 0);
	before_shmem_exit(leave_writers, arg);

	LWLockAcquire(access_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < ACCESS_WRITERS; i++)
	{
		if (access_shared->writers[i].dbid == dbid && access_shared->writers[i].pgprocno < 0)
		{
			access_shared->writers[i].pgprocno = MyProc->pgprocno;
			break;
		}
	}
	LWLockRelease(access_shared->lock);

	while (idle_ms < WRITER_IDLE_MS)
	{
		CHECK_FOR_INTERRUPTS();
		if (write_records(dbid))
		{
			idle_ms = 0;
			continue;
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, WRITER_NAP_MS,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		idle_ms += WRITER_NAP_MS;
	}

	/*
	 * Leave the writers first, then write what came in meanwhile: a record
	 * queued after this finds no writer and starts a new one.
	 */
	leave_writers(0, arg);
	while (write_records(dbid))
		;
	proc_exit(0);
}
