/*-------------------------------------------------------------------------
 *
 * accesslog.c
 *	  Delivery of the read audit's records (see hooks.c) to
 *	  privacy.access_log.
 *
 * A record is not written by the reading transaction: it goes into shared
 * memory, and a background writer for the database (started on demand, gone
 * when idle) inserts it into privacy.access_log in its own transaction.  So a
 * ROLLBACK of the reader does not undo it.  Every record reaches the table
 * or, when it cannot, the server log as one line of JSON:
 *
 * - a reader queues a record only while a writer of its database is
 *   attached; otherwise it starts one and waits for it to attach, and if
 *   none can start (no worker slot, it dies at its start) the record goes to
 *   the server log;
 * - a full queue: the reader waits on a condition variable for room, up to
 *   crm_privacy.access_log_queue_wait, then logs the record;
 * - a writer frees its slots only after its transaction commits; one that
 *   fails logs what it holds and its queue; one told to stop (SIGTERM: a
 *   fast shutdown) takes no more records, writes its queue, then exits;
 * - SIGQUIT (an immediate shutdown, a crash of any process): each dying
 *   writer writes every record still in shared memory to stderr (the server
 *   log) with write(2), each slot claimed by compare-and-exchange; a reader
 *   that queues a record after that (its own SIGQUIT not there yet) writes
 *   it to the server log itself before it answers; the records of a batch
 *   being committed go to a pending file instead, which the database's
 *   writer settles after the restart (PENDING_DIR);
 * - a hot standby cannot write: the record goes to the server log.
 *
 * What can still be lost: the queue when the only writer is killed with
 * SIGKILL or crashes itself, and anything not on disk when the operating
 * system crashes (doc/audit.md, "Delivery").
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/accesslog.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "access/parallel.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_tablespace_d.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "common/relpath.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "parser/parse_relation.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/condition_variable.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/inet.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "crm_privacy.h"
#include "access.h"
#include "compat.h"

#define ACCESS_WRITERS		16		/* databases with a writer at once */
#define WRITER_IDLE_MS		2000	/* a writer exits after this long idle: */
										/* DROP DATABASE waits 5 s for it */
#define WRITER_NAP_MS		10		/* a writer looks for records this often */
#define WRITER_START_MS		5000	/* a writer attaches within this, or fails */
#define PENDING_SCAN_MS		10000	/* a running writer looks for pending files */
#define PENDING_CHUNK		64		/* and inserts this many between batches */
#define WAKE_AT				256		/* queued records that wake a writer early */
#define INSERT_CHUNK		64		/* rows a writer inserts together */

/* The JSON of a record: every string escaped at most 6-fold, and the keys. */
#define JSON_MAX	(6 * (QUERY_MAX + 3 * NAMEDATALEN + 64 + MAXDATELEN) + RELATIONS_MAX + 512)

/*
 * A slot of shared memory holding one record.  Its state changes under the
 * lock, except that a dying writer (SIGQUIT) claims QUEUED and TAKEN slots
 * for the server log with an atomic compare-and-exchange, with no lock.
 */
#define SLOT_FREE			0
#define SLOT_QUEUED			1	/* in a writer's queue */
#define SLOT_TAKEN			2	/* in a writer's transaction, before its commit */
#define SLOT_COMMITTING		3	/* in a writer's transaction (xid), committing */
#define SLOT_DUMPED			4	/* claimed by a dying process */
#define SLOT_LOGGING		5	/* being written to the server log by its writer */

typedef struct AccessSlot
{
	pg_atomic_uint32 state;
	int			next;			/* next slot of the queue or the free list; -1 */
	FullTransactionId xid;		/* COMMITTING: the writer's transaction */
	AccessRecord rec;
} AccessSlot;

/*
 * Records whose writer's transaction was committing when shared memory went
 * away (an immediate shutdown, a crash) cannot go to the server log: the
 * commit may have reached the WAL, and they would be in the table too.  A
 * dying process writes them instead to a file of PENDING_DIR (in the data
 * directory): a PendingHeader, then the records.  After the restart, the
 * writer of the database looks the transaction up: committed, the file goes;
 * not, it inserts the records, in a transaction that first puts its own xid
 * into the file, so that a crash at any point neither loses nor repeats
 * them.  The launcher starts those writers.  The names begin with
 * pgsql_tmp, which base backups leave out (a standby must not insert them
 * again).
 */
#define PENDING_DIR			"crm_privacy"
#define PENDING_PREFIX		"pgsql_tmp.access."	/* then dbid.pid.n */
#define PENDING_MAGIC		0x50524d43	/* "CRMP" */

typedef struct PendingHeader
{
	uint32		magic;
	uint32		record_size;	/* sizeof(AccessRecord) of the build that wrote it */
	Oid			dbid;
	uint32		unused;
	uint64		xid;			/* FullTransactionId: the records are in the */
								/* table if and only if it committed */
} PendingHeader;

/* A database's writer and its queue. */
#define WRITER_FREE			0
#define WRITER_STARTING		1	/* a reader started it: not attached yet */
#define WRITER_RUNNING		2	/* attached: takes records */
#define WRITER_DRAINING		3	/* shutting down: writes its queue, takes no more */

typedef struct AccessWriter
{
	int			state;
	Oid			dbid;
	int			starter;		/* STARTING: the pid of the reader starting it */
	TimestampTz claimed;		/* STARTING: since when */
	PGPROC	   *proc;			/* RUNNING, DRAINING: the writer */
	int			head;			/* its queue, oldest first; -1: empty */
	int			tail;
	int			count;
} AccessWriter;

typedef struct AccessShared
{
	LWLock	   *lock;
	pg_atomic_uint32 dying;		/* a writer got SIGQUIT: shared memory is */
									/* going away with what it holds */
	ConditionVariable changed;	/* slots were freed; a writer attached or left */
	int			free_head;		/* free slots; -1: none */
	AccessWriter writers[ACCESS_WRITERS];
	AccessSlot	slots[FLEXIBLE_ARRAY_MEMBER];	/* [queue_size] */
} AccessShared;

static AccessShared *access_shared = NULL;

/*
 * Rows of generated views that parallel workers produced for their leader
 * (hooks.c), by the leader's process number: a worker adds, its leader takes.
 */
static pg_atomic_uint64 *worker_rows = NULL;	/* [MaxBackends] */

/* crm_privacy.access_log_queue_wait: how long a reader waits for room */
static int	queue_wait_ms = 10000;

/*
 * crm_privacy.access_log_queue_size: records waiting for a writer, in all
 * databases (a slot takes about 6.5 kB of shared memory).  The default holds
 * about 50 ms of reads at 40,000 a second: a writer's commit that waits that
 * long for its WAL flush makes readers wait for room.
 */
static int	queue_size = 2048;

#define ACCESS_SHARED_SIZE \
	add_size(offsetof(AccessShared, slots), mul_size(queue_size, sizeof(AccessSlot)))

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

PGDLLEXPORT void crm_access_writer_main(Datum arg);
PGDLLEXPORT void crm_access_launcher_main(Datum arg);
static void pending_dir_create(void);
static void register_launcher(void);

/* Reserve the shared memory of the read audit. */
static void
access_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(ACCESS_SHARED_SIZE));
	RequestAddinShmemSpace(MAXALIGN(mul_size(MaxBackends, sizeof(pg_atomic_uint64))));
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
	access_shared = ShmemInitStruct("crm_privacy read audit", ACCESS_SHARED_SIZE, &found);
	if (!found)
	{
		pending_dir_create();
		memset(access_shared, 0, ACCESS_SHARED_SIZE);
		access_shared->lock = &(GetNamedLWLockTranche("crm_privacy"))->lock;
		pg_atomic_init_u32(&access_shared->dying, 0);
		ConditionVariableInit(&access_shared->changed);
		for (int i = 0; i < queue_size; i++)
		{
			pg_atomic_init_u32(&access_shared->slots[i].state, SLOT_FREE);
			access_shared->slots[i].next = (i + 1 < queue_size) ? i + 1 : -1;
		}
		access_shared->free_head = 0;
		for (int i = 0; i < ACCESS_WRITERS; i++)
			access_shared->writers[i].head = access_shared->writers[i].tail = -1;
	}
	worker_rows = ShmemInitStruct("crm_privacy view rows of parallel workers",
								  mul_size(MaxBackends, sizeof(pg_atomic_uint64)), &found);
	if (!found)
	{
		for (int i = 0; i < MaxBackends; i++)
			pg_atomic_init_u64(&worker_rows[i], 0);
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * Install the shared-memory hooks and define the delivery's setting; called
 * from _PG_init when preloaded.
 */
void
crm_access_shmem_install(void)
{
	DefineCustomIntVariable("crm_privacy.access_log_queue_wait",
							"How long a reader waits for room in the read audit's queue.",
							"When the queue stays full this long, the read is recorded in the server log instead.",
							&queue_wait_ms, 10000, 0, 600000, PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("crm_privacy.access_log_queue_size",
							"How many read audit records can wait for a writer, in all databases.",
							"Each takes about 6.5 kB of shared memory. Raise it when readers wait for room while writers wait for their WAL flush.",
							&queue_size, 2048, 16, 65536, PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = access_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = access_shmem_startup;
	register_launcher();
}

/*
 * JSON rendering into a fixed buffer, with no memory allocation and no
 * library call that is unsafe in a signal handler: a dying writer uses it.
 */
typedef struct JsonBuf
{
	char	   *data;
	int			len;
} JsonBuf;

static void
json_raw(JsonBuf *b, const char *s)
{
	while (*s && b->len < JSON_MAX - 1)
		b->data[b->len++] = *s++;
	b->data[b->len] = '\0';
}

/* A JSON string, escaped as escape_json() does. */
static void
json_str(JsonBuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	char		esc[7];

	json_raw(b, "\"");
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		esc[0] = '\\';
		esc[2] = '\0';
		switch (c)
		{
			case '"': esc[1] = '"'; break;
			case '\\': esc[1] = '\\'; break;
			case '\b': esc[1] = 'b'; break;
			case '\f': esc[1] = 'f'; break;
			case '\n': esc[1] = 'n'; break;
			case '\r': esc[1] = 'r'; break;
			case '\t': esc[1] = 't'; break;
			default:
				if (c < ' ')
				{
					esc[1] = 'u';
					esc[2] = esc[3] = '0';
					esc[4] = hex[c >> 4];
					esc[5] = hex[c & 15];
					esc[6] = '\0';
				}
				else
				{
					esc[0] = (char) c;
					esc[1] = '\0';
				}
		}
		json_raw(b, esc);
	}
	json_raw(b, "\"");
}

/* A signed integer in decimal. */
static void
json_int(JsonBuf *b, int64 v)
{
	char		digits[24];
	int			i = sizeof(digits) - 1;
	uint64		u = (v < 0) ? -(uint64) v : (uint64) v;

	digits[i] = '\0';
	do
	{
		digits[--i] = '0' + (u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		digits[--i] = '-';
	json_raw(b, &digits[i]);
}

/*
 * The record as one line of JSON, into buf[JSON_MAX].  Its time is written in
 * UTC, with arithmetic only (no time zone to look up), so that a dying writer
 * can write records from its signal handler.
 */
static void
record_json(char *buf, const AccessRecord *r)
{
	JsonBuf		b = {buf, 0};
	char		at[MAXDATELEN + 1];
	struct pg_tm tm;
	fsec_t		fsec;

	if (timestamp2tm(r->at, NULL, &tm, &fsec, NULL, NULL) == 0)
	{
		tm.tm_isdst = 0;		/* UTC: print the offset, +00 */
		EncodeDateTime(&tm, fsec, true, 0, NULL, USE_ISO_DATES, at);
	}
	else
		strlcpy(at, "invalid", sizeof(at));

	json_raw(&b, "{\"crm_privacy_access\":{\"at\":");
	json_str(&b, at);
	json_raw(&b, ",\"database_oid\":");
	json_int(&b, (int64) r->dbid);
	json_raw(&b, ",\"session_user\":");
	json_str(&b, r->session_user_name);
	json_raw(&b, ",\"current_user\":");
	json_str(&b, r->current_user_name);
	json_raw(&b, ",\"application_name\":");
	json_str(&b, r->application_name);
	json_raw(&b, ",\"client_addr\":");
	json_str(&b, r->client_addr);
	json_raw(&b, ",\"relations\":");
	json_raw(&b, r->relations[0] ? r->relations : "[]");
	json_raw(&b, ",\"row_count\":");
	if (r->has_rows)
		json_int(&b, r->row_count);
	else
		json_raw(&b, "null");
	json_raw(&b, ",\"query\":");
	json_str(&b, r->query);
	json_raw(&b, "}}");
}

/* Write a record to the server log, with why it is there. */
static void
log_record(const AccessRecord *r, const char *why)
{
	char	   *buf = palloc(JSON_MAX);

	record_json(buf, r);
	ereport(LOG,
			(errmsg("%s", buf),
			 errdetail_internal("%s", why),
			 errhidestmt(true)));
	pfree(buf);
}

void
crm_access_log_record(const AccessRecord *r, const char *why)
{
	log_record(r, why);
}

/* In a parallel worker: add rows of views to the leader's count. */
void
crm_access_worker_rows_add(uint64 rows)
{
	PGPROC	   *leader = MyProc->lockGroupLeader;
	int			i;

	if (worker_rows == NULL || leader == NULL)
		return;
	i = GetNumberFromPGProc(leader);
	if (i >= 0 && i < MaxBackends)
		pg_atomic_fetch_add_u64(&worker_rows[i], rows);
}

/* In a parallel leader: take the rows its workers added since last taken. */
uint64
crm_access_worker_rows_take(void)
{
	if (worker_rows == NULL || MyProcNumber < 0 || MyProcNumber >= MaxBackends)
		return 0;
	return pg_atomic_exchange_u64(&worker_rows[MyProcNumber], 0);
}

/* Block SIGQUIT, keeping the mask to restore in *old.  Safe in a signal handler. */
static void
quit_block(sigset_t *old)
{
	sigset_t	quit;

	sigemptyset(&quit);
	sigaddset(&quit, SIGQUIT);
	sigprocmask(SIG_BLOCK, &quit, old);
}

/* write(2) all of buf to fd; false if it could not.  Safe in a signal handler. */
static bool
write_all(int fd, const void *buf, size_t len)
{
	const char *c = buf;

	while (len > 0)
	{
		ssize_t		w = write(fd, c, len);

		if (w <= 0)
			return false;
		c += w;
		len -= w;
	}
	return true;
}

/* Append the decimal digits of v to p; returns the end.  Signal-safe. */
static char *
append_uint(char *p, uint64 v)
{
	char		digits[24];
	int			n = 0;

	do
		digits[n++] = '0' + v % 10;
	while ((v /= 10) > 0);
	while (n > 0)
		*p++ = digits[--n];
	*p = '\0';
	return p;
}

/* Write a record to stderr (the server log) as a LOG line.  Signal-safe. */
static void
dump_record(const AccessRecord *rec, const char *detail)
{
	static char buf[JSON_MAX];

	record_json(buf, rec);
	if (write_all(STDERR_FILENO, "LOG:  ", 6) && write_all(STDERR_FILENO, buf, strlen(buf)))
	{
		(void) write_all(STDERR_FILENO, "\nDETAIL:  ", 10);
		(void) write_all(STDERR_FILENO, detail, strlen(detail));
		(void) write_all(STDERR_FILENO, "\n", 1);
	}
}

/* A pending file a dying process is writing: one per committing transaction. */
typedef struct DumpFile
{
	Oid			dbid;
	FullTransactionId xid;
	int			fd;
} DumpFile;

/*
 * Write a COMMITTING record to the pending file of its transaction, opening
 * that file first if needed; false if no file could be written.  Signal-safe:
 * open(2) and write(2) only.  No fsync: the records outlive the processes
 * (an immediate shutdown, a crash), not the operating system (nor does the
 * shared memory they were in).
 */
static bool
dump_pending(DumpFile *files, int *nfiles, const AccessSlot *s)
{
	DumpFile   *f = NULL;

	for (int i = 0; i < *nfiles && f == NULL; i++)
		if (files[i].dbid == s->rec.dbid && FullTransactionIdEquals(files[i].xid, s->xid))
			f = &files[i];
	if (f == NULL)
	{
		char		path[MAXPGPATH];
		char	   *p;
		PendingHeader h;
		int			fd = -1;

		if (*nfiles >= ACCESS_WRITERS)
			return false;
		for (uint32 n = 0; fd < 0 && n < 1000; n++)
		{
			strcpy(path, PENDING_DIR "/" PENDING_PREFIX);
			p = append_uint(path + strlen(path), s->rec.dbid);
			*p++ = '.';
			p = append_uint(p, (uint64) getpid());
			*p++ = '.';
			append_uint(p, n);
			fd = open(path, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY, S_IRUSR | S_IWUSR);
			if (fd < 0 && errno != EEXIST)
				return false;
		}
		if (fd < 0)
			return false;
		memset(&h, 0, sizeof(h));
		h.magic = PENDING_MAGIC;
		h.record_size = sizeof(AccessRecord);
		h.dbid = s->rec.dbid;
		h.xid = U64FromFullTransactionId(s->xid);
		if (!write_all(fd, &h, sizeof(h)))
		{
			close(fd);
			(void) unlink(path);
			return false;
		}
		f = &files[(*nfiles)++];
		f->dbid = s->rec.dbid;
		f->xid = s->xid;
		f->fd = fd;
	}
	return write_all(f->fd, &s->rec, sizeof(AccessRecord));
}

/*
 * Write every record still in shared memory (of any database) out, as plain
 * write(2)s: nothing here allocates or locks, so a signal handler may call
 * it.  Each slot is claimed with a compare-and-exchange, so that no two
 * processes write it.  A queued record, or one whose writer has not begun to
 * commit (it will not: its own claim fails, see mark_committing), goes to
 * stderr, the server log; one whose writer is committing, to a pending file.
 */
static void
dump_slots(void)
{
	DumpFile	files[ACCESS_WRITERS];
	int			nfiles = 0;
	sigset_t	old;

	/*
	 * A claimed record must be written before this process dies: a reader
	 * that dumps gets its own SIGQUIT meanwhile (quickdie exits at once).
	 */
	quit_block(&old);

	for (int i = 0; access_shared != NULL && i < queue_size; i++)
	{
		AccessSlot *s = &access_shared->slots[i];
		uint32		st = pg_atomic_read_u32(&s->state);

		if ((st == SLOT_QUEUED || st == SLOT_TAKEN) &&
			pg_atomic_compare_exchange_u32(&s->state, &st, SLOT_DUMPED))
			dump_record(&s->rec, "Recorded in the server log at an immediate shutdown or crash.");
		else if (st == SLOT_COMMITTING &&
				 pg_atomic_compare_exchange_u32(&s->state, &st, SLOT_DUMPED) &&
				 !dump_pending(files, &nfiles, s))
			dump_record(&s->rec, "Recorded in the server log at an immediate shutdown or crash, while its transaction was committing: it may also be in privacy.access_log.");
	}
	for (int i = 0; i < nfiles; i++)
		close(files[i].fd);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/*
 * SIGQUIT of a writer (an immediate shutdown, or a crash of any server
 * process): nothing else of it will run, so it writes what shared memory
 * holds to the server log now.  The flag comes first: a reader that has not
 * got its own SIGQUIT yet may still queue a record and answer its client
 * after this scan, and it then writes the record itself (crm_access_queue).
 */
static void
writer_quickdie(SIGNAL_ARGS)
{
	if (access_shared != NULL)
	{
		pg_atomic_write_u32(&access_shared->dying, 1);
		pg_memory_barrier();
	}
	dump_slots();
	_exit(2);
}

/* The writer of a database that takes records (STARTING or RUNNING); lock held. */
static AccessWriter *
find_writer(Oid dbid)
{
	for (int i = 0; i < ACCESS_WRITERS; i++)
	{
		AccessWriter *w = &access_shared->writers[i];

		if (w->dbid == dbid && (w->state == WRITER_STARTING || w->state == WRITER_RUNNING))
			return w;
	}
	return NULL;
}

/* Claim writer entry w for a writer of dbid that we start; lock held. */
static void
claim_writer(AccessWriter *w, Oid dbid)
{
	w->state = WRITER_STARTING;
	w->dbid = dbid;
	w->starter = MyProcPid;
	w->claimed = GetCurrentTimestamp();
	w->proc = NULL;
}

/* Give up our claim of w: the writer we started did not attach. */
static void
release_claim(AccessWriter *w)
{
	LWLockAcquire(access_shared->lock, LW_EXCLUSIVE);
	if (w->state == WRITER_STARTING && w->starter == MyProcPid)
		w->state = WRITER_FREE;
	LWLockRelease(access_shared->lock);
	ConditionVariableBroadcast(&access_shared->changed);
}

/*
 * Start a writer for database dbid, whose entry the caller has claimed,
 * and wait until it attaches; false if it does not (no worker slot, it died
 * at its start, the server is shutting down).
 */
static bool
start_writer(Oid dbid)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	bool		attached = false;
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), WRITER_START_MS);

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "crm_privacy");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "crm_access_writer_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "crm_privacy access log writer");
	snprintf(worker.bgw_type, BGW_MAXLEN, "crm_privacy access log writer");
	worker.bgw_main_arg = ObjectIdGetDatum(dbid);
	worker.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start the crm_privacy access log writer"),
				 errhint("Raise max_worker_processes, or lower max_parallel_workers; until a writer runs, read records wait in files of the data directory.")));
		return false;
	}
	for (;;)
	{
		AccessWriter *w;
		pid_t		pid;
		BgwHandleStatus status;

		LWLockAcquire(access_shared->lock, LW_SHARED);
		w = find_writer(dbid);
		attached = (w != NULL && w->state == WRITER_RUNNING);
		LWLockRelease(access_shared->lock);
		if (attached)
			break;
		status = GetBackgroundWorkerPid(handle, &pid);
		if (status == BGWH_STOPPED || status == BGWH_POSTMASTER_DIED ||
			ProcDiePending || GetCurrentTimestamp() >= deadline)
			break;
		(void) ConditionVariableTimedSleep(&access_shared->changed, 10, PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
	if (!attached)
		TerminateBackgroundWorker(handle);
	pfree(handle);
	return attached;
}

/*
 * Copy a record: its fixed fields, and only the bytes of its strings in use
 * (most of a record is room for a long query).
 */
static void
copy_record(AccessRecord *dst, const AccessRecord *src)
{
	dst->dbid = src->dbid;
	dst->at = src->at;
	strlcpy(dst->session_user_name, src->session_user_name, sizeof(dst->session_user_name));
	strlcpy(dst->current_user_name, src->current_user_name, sizeof(dst->current_user_name));
	strlcpy(dst->application_name, src->application_name, sizeof(dst->application_name));
	strlcpy(dst->client_addr, src->client_addr, sizeof(dst->client_addr));
	strlcpy(dst->relations, src->relations, sizeof(dst->relations));
	strlcpy(dst->query, src->query, sizeof(dst->query));
	dst->has_rows = src->has_rows;
	dst->row_count = src->row_count;
}

/*
 * A record that no writer could take (crm_access_queue, why says why):
 * written to a pending file of its own as one never inserted (transaction
 * number 0), aside first and renamed in once it is on disk, so that no
 * writer reads half of it.  The launcher starts the database's writer as
 * soon as one can start, and a running writer looks for such files every
 * PENDING_SCAN_MS; either inserts it (pending_settle).  So a reader that
 * holds every background worker slot, or fills the queue, delays its
 * records, it does not move them out of privacy.access_log.  Only a file
 * that cannot be written sends the record to the server log; so does a hot
 * standby, which never writes the table.
 */
static void
pending_append(const AccessRecord *rec, const char *why)
{
	static uint32 seq = 0;
	char		path[MAXPGPATH];
	char		tmp[MAXPGPATH + 4];
	int			fd = -1;
	bool		ok = false;

	for (int tries = 0; fd < 0 && tries < 1000 && !RecoveryInProgress(); tries++)
	{
		snprintf(path, sizeof(path), "%s/%s%u.%d.w%u", PENDING_DIR, PENDING_PREFIX,
				 rec->dbid, MyProcPid, seq++);
		snprintf(tmp, sizeof(tmp), "%s.new", path);
		if (access(path, F_OK) == 0)
			continue;			/* an earlier process with this pid left it */
		fd = OpenTransientFile(tmp, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd >= 0)
	{
		PendingHeader h;

		memset(&h, 0, sizeof(h));
		h.magic = PENDING_MAGIC;
		h.record_size = sizeof(AccessRecord);
		h.dbid = rec->dbid;
		h.xid = 0;
		ok = write_all(fd, &h, sizeof(h)) && write_all(fd, rec, sizeof(AccessRecord));
		if (CloseTransientFile(fd) != 0)
			ok = false;
		if (ok)
			ok = (durable_rename(tmp, path, LOG) == 0);
		if (!ok)
			(void) unlink(tmp);
	}
	if (ok)
		ereport(LOG,
				(errmsg("crm_privacy: a read record waits in \"%s\" for the access log writer", path),
				 errdetail("It could not be queued: %s.", why),
				 errhidestmt(true)));
	else
		log_record(rec, psprintf("Recorded in the server log: %s, and no file could hold it.", why));
}

/*
 * Queue a finished record for the database's writer, starting one if needed.
 * A record enters shared memory only while a writer of its database is
 * attached; when none can be, on a hot standby, or when the queue stays full
 * for crm_privacy.access_log_queue_wait, the record goes to the server log.
 * Interrupts are held: a reader told to exit records its read first.
 */
void
crm_access_queue(const AccessRecord *rec)
{
	const char *why = NULL;
	TimestampTz deadline;

	if (RecoveryInProgress() || access_shared == NULL)
	{
		log_record(rec, "Recorded in the server log: a hot standby cannot write privacy.access_log.");
		return;
	}

	HOLD_INTERRUPTS();
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), queue_wait_ms);
	for (;;)
	{
		/* a reader that is exiting neither starts a writer nor waits */
		bool		may_wait = !(proc_exit_inprogress || ProcDiePending);
		AccessWriter *w;
		bool		claimed = false;

		LWLockAcquire(access_shared->lock, LW_EXCLUSIVE);
		w = find_writer(MyDatabaseId);
		if (w != NULL && w->state == WRITER_RUNNING && access_shared->free_head >= 0)
		{
			int			i = access_shared->free_head;
			AccessSlot *s = &access_shared->slots[i];
			PGPROC	   *wake = NULL;

			access_shared->free_head = s->next;
			copy_record(&s->rec, rec);
			s->next = -1;
			pg_write_barrier();
			pg_atomic_write_u32(&s->state, SLOT_QUEUED);
			if (w->tail >= 0)
				access_shared->slots[w->tail].next = i;
			else
				w->head = i;
			w->tail = i;
			if (++w->count == WAKE_AT)
				wake = w->proc;
			LWLockRelease(access_shared->lock);
			if (wake)
				SetLatch(&wake->procLatch);
			break;
		}
		if (w == NULL || (w->state == WRITER_STARTING &&
						  TimestampDifferenceExceeds(w->claimed, GetCurrentTimestamp(), WRITER_START_MS + 1000)))
		{
			/* no writer, or its starter is gone: claim one */
			if (w == NULL)
			{
				for (int i = 0; i < ACCESS_WRITERS && w == NULL; i++)
					if (access_shared->writers[i].state == WRITER_FREE)
						w = &access_shared->writers[i];
			}
			if (w != NULL && may_wait)
			{
				claim_writer(w, MyDatabaseId);
				claimed = true;
			}
			else if (w == NULL)
				why = "too many databases have a crm_privacy access log writer";
			else
				why = "the session was ending and could not queue the record at once";
		}
		else if (!may_wait)
			why = "the session was ending and could not queue the record at once";
		else if (GetCurrentTimestamp() >= deadline)
			why = w->state == WRITER_RUNNING
				? "the crm_privacy read audit's queue stayed full"
				: "no crm_privacy access log writer attached in time";
		LWLockRelease(access_shared->lock);
		if (why)
			break;
		if (claimed)
		{
			if (!start_writer(MyDatabaseId))
			{
				release_claim(w);
				why = "no crm_privacy access log writer could be started";
				break;
			}
			continue;
		}
		/* full, or a writer is starting: wait for a change */
		(void) ConditionVariableTimedSleep(&access_shared->changed, 10, PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();

	/*
	 * Queued while a writer was dying: its scan may have missed the record,
	 * and no writer will take it; write it (and whatever else is left) to
	 * the server log before the client gets its answer.  With the barriers
	 * on both sides, the scan or this check sees the other's write.
	 */
	if (why == NULL)
	{
		pg_memory_barrier();
		if (pg_atomic_read_u32(&access_shared->dying) != 0)
			dump_slots();
	}
	RESUME_INTERRUPTS();
	if (why)
		pending_append(rec, why);
}

/*
 * Take every record of the writer's queue, oldest first, into batch[] (room
 * for queue_size).  The queue is detached under the lock at once; its
 * slots are walked after, when no reader can reach them any more (readers
 * append to the queue's tail only).
 */
static int
take_records(AccessWriter *w, int *batch)
{
	int			n = 0;
	int			i;

	LWLockAcquire(access_shared->lock, LW_EXCLUSIVE);
	i = w->head;
	w->head = w->tail = -1;
	w->count = 0;
	LWLockRelease(access_shared->lock);
	for (; i >= 0; i = access_shared->slots[i].next)
	{
		uint32		st = SLOT_QUEUED;

		/* a dying process may have written it out already */
		if (pg_atomic_compare_exchange_u32(&access_shared->slots[i].state, &st, SLOT_TAKEN))
			batch[n++] = i;
	}
	return n;
}

/* How many records wait in writer w's queue. */
static int
queued_records(AccessWriter *w)
{
	int			n;

	LWLockAcquire(access_shared->lock, LW_SHARED);
	n = w->count;
	LWLockRelease(access_shared->lock);
	return n;
}

/*
 * Free the slots of a batch (written, or logged); wake waiting readers.  The
 * slots are the writer's alone until they are on the free list: they are
 * chained first, and the chain is put on the list under the lock at once.
 */
static void
free_records(int *batch, int n, uint32 from)
{
	int			first = -1;
	int			last = -1;

	for (int k = 0; k < n; k++)
	{
		uint32		st = from;

		/*
		 * Only a slot still ours: one a dying process claimed may be being
		 * copied out (shared memory is going away; it need not be reused).
		 */
		if (!pg_atomic_compare_exchange_u32(&access_shared->slots[batch[k]].state, &st, SLOT_FREE))
			continue;
		if (last >= 0)
			access_shared->slots[last].next = batch[k];
		else
			first = batch[k];
		last = batch[k];
	}
	if (first < 0)
		return;
	LWLockAcquire(access_shared->lock, LW_EXCLUSIVE);
	access_shared->slots[last].next = access_shared->free_head;
	access_shared->free_head = first;
	LWLockRelease(access_shared->lock);
	ConditionVariableBroadcast(&access_shared->changed);
}

/*
 * The names of a record's relations (a JSON array of strings, as hooks.c
 * writes it with escape_json) as a text[].  Anything else is an error.
 */
static Datum
relations_array(const char *json)
{
	const char *p = json;
	List	   *names = NIL;
	Datum	   *elems;
	int			n = 0;
	ListCell   *lc;

	if (*p == '\0')
		p = "[]";
	if (*p++ != '[')
		goto bad;
	while (*p != ']')
	{
		StringInfoData name;

		if (n > 0 && *p++ != ',')
			goto bad;
		if (*p++ != '"')
			goto bad;
		initStringInfo(&name);
		while (*p != '"')
		{
			if (*p == '\0')
				goto bad;
			if (*p != '\\')
			{
				appendStringInfoChar(&name, *p++);
				continue;
			}
			p++;
			switch (*p++)
			{
				case '"': appendStringInfoChar(&name, '"'); break;
				case '\\': appendStringInfoChar(&name, '\\'); break;
				case '/': appendStringInfoChar(&name, '/'); break;
				case 'b': appendStringInfoChar(&name, '\b'); break;
				case 'f': appendStringInfoChar(&name, '\f'); break;
				case 'n': appendStringInfoChar(&name, '\n'); break;
				case 'r': appendStringInfoChar(&name, '\r'); break;
				case 't': appendStringInfoChar(&name, '\t'); break;
				case 'u':
					{
						/* escape_json writes \u only for control characters */
						unsigned int c = 0;

						for (int k = 0; k < 4; k++, p++)
						{
							if (!isxdigit((unsigned char) *p))
								goto bad;
							c = c * 16 + (isdigit((unsigned char) *p) ? *p - '0' : (tolower((unsigned char) *p) - 'a' + 10));
						}
						if (c == 0 || c >= 0x80)
							goto bad;
						appendStringInfoChar(&name, (char) c);
						break;
					}
				default:
					goto bad;
			}
		}
		p++;
		names = lappend(names, name.data);
		n++;
	}
	if (p[1] != '\0')
		goto bad;
	elems = palloc(sizeof(Datum) * (n + 1));
	n = 0;
	foreach(lc, names)
		elems[n++] = CStringGetTextDatum((char *) lfirst(lc));
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));

bad:
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("a read audit record's relations are not a JSON array of strings")));
	return (Datum) 0;			/* keep the compiler quiet */
}

/* The columns of privacy.access_log the writer fills, and their types. */
static const CrmLogColumn log_columns[] =
{
	{"id", INT8OID, true},
	{"at", TIMESTAMPTZOID, true},
	{"session_user_name", NAMEOID, false},
	{"current_user_name", NAMEOID, false},
	{"application_name", TEXTOID, false},
	{"client_addr", INETOID, false},
	{"relations", TEXTARRAYOID, false},
	{"query", TEXTOID, false},
	{"row_count", INT8OID, false},
};
#define LOG_COLUMNS lengthof(log_columns)

/*
 * The access log the writer found to be the extension's own, the columns it
 * fills and the identity sequence, until a relcache invalidation of the log
 * (DROP EXTENSION drops or alters it; ALTER TABLE changes its columns).
 */
static Oid	verified_log_relid = InvalidOid;
static AttrNumber verified_attnums[LOG_COLUMNS];
static Oid	verified_seqid = InvalidOid;

/* A relcache invalidation (from crm_privacy.c's callback). */
void
crm_access_log_relcache(Oid relid)
{
	if (relid == InvalidOid || relid == verified_log_relid)
		verified_log_relid = InvalidOid;
}

/*
 * Check that rel (locked) is the extension's access log with the columns the
 * writer fills, and remember them.
 */
static void
verify_log(Relation rel)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);

	if (!crm_is_extension_member(RelationRelationId, RelationGetRelid(rel)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("privacy.access_log of the crm_privacy extension does not exist in this database")));
	for (int c = 0; c < (int) LOG_COLUMNS; c++)
	{
		verified_attnums[c] = InvalidAttrNumber;
		for (int a = 0; a < tupdesc->natts; a++)
		{
			Form_pg_attribute att = TupleDescAttr(tupdesc, a);

			if (!att->attisdropped && strcmp(NameStr(att->attname), log_columns[c].name) == 0 &&
				att->atttypid == log_columns[c].type)
				verified_attnums[c] = att->attnum;
		}
		if (verified_attnums[c] == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("privacy.access_log has no column \"%s\" of the expected type", log_columns[c].name)));
	}
	verified_seqid = getIdentitySequence(rel, verified_attnums[0], false);
	verified_log_relid = RelationGetRelid(rel);
}

/* Fill slot with record r as a row of the log (tupdesc), in the current context. */
static void
fill_row(TupleTableSlot *slot, TupleDesc tupdesc, const AccessRecord *r)
{
	const AttrNumber *attnums = verified_attnums;
	Datum	   *values = slot->tts_values;
	bool	   *nulls = slot->tts_isnull;

	ExecClearTuple(slot);
	/* columns the writer does not know (none today) are null */
	for (int a = 0; a < tupdesc->natts; a++)
		nulls[a] = true;
#define SET(c, v, isnull) (values[attnums[c] - 1] = (v), nulls[attnums[c] - 1] = (isnull))
	SET(0, Int64GetDatum(nextval_internal(verified_seqid, false)), false);
	SET(1, TimestampTzGetDatum(r->at), false);
	SET(2, DirectFunctionCall1(namein, CStringGetDatum(r->session_user_name)), false);
	SET(3, DirectFunctionCall1(namein, CStringGetDatum(r->current_user_name)), false);
	SET(4, CStringGetTextDatum(r->application_name), r->application_name[0] == '\0');
	SET(5, r->client_addr[0] ? DirectFunctionCall1(inet_in, CStringGetDatum(r->client_addr)) : (Datum) 0,
		r->client_addr[0] == '\0');
	SET(6, relations_array(r->relations), false);
	SET(7, CStringGetTextDatum(r->query), r->query[0] == '\0');
	SET(8, Int64GetDatum(r->row_count), !r->has_rows);
#undef SET
	ExecStoreVirtualTuple(slot);
}

/*
 * Insert records into privacy.access_log, in one transaction, with no SQL
 * statement to plan or run.  As COPY does, the rows go into the heap
 * together (table_multi_insert: one WAL record per page), then into the
 * indexes, with the constraints checked first.  Should someone (a superuser)
 * have put row triggers or generated columns on the log, each row goes in
 * as logical replication's apply inserts one (ExecSimpleRelationInsert),
 * which fires them.
 */
static void
insert_records(const AccessRecord *const *recs, int n, void (*precommit) (void *), void *arg)
{
	Oid			log_relid;
	Relation	rel;
	TupleDesc	tupdesc;
	EState	   *estate;
	ResultRelInfo *rri;
	TriggerDesc *trig;
	bool		together;
	RangeTblEntry *rte;
	List	   *perminfos = NIL;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "crm_privacy: writing privacy.access_log");

	/*
	 * The writer runs as a superuser: it writes only into the extension's own
	 * log, never into a table someone else named privacy.access_log.
	 */
	log_relid = get_relname_relid("access_log", get_namespace_oid(CRM_SCHEMA, true));
	if (!OidIsValid(log_relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("privacy.access_log of the crm_privacy extension does not exist in this database")));
	rel = table_open(log_relid, RowExclusiveLock);
	if (log_relid != verified_log_relid)
		verify_log(rel);
	tupdesc = RelationGetDescr(rel);

	estate = CreateExecutorState();
	/* a range table, as logical replication's apply has: error messages read it */
	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = log_relid;
	rte->relkind = RELKIND_RELATION;
	rte->rellockmode = RowExclusiveLock;
#if PG_VERSION_NUM >= 160000
	addRTEPermissionInfo(&perminfos, rte);
#endif
	crm_exec_init_range_table(estate, list_make1(rte), perminfos);
	rri = makeNode(ResultRelInfo);
	InitResultRelInfo(rri, rel, 1, NULL, 0);
	estate->es_result_relations = NULL;
	estate->es_opened_result_relations = list_make1(rri);
	ExecOpenIndices(rri, false);
	AfterTriggerBeginQuery();
	trig = rri->ri_TrigDesc;
	together = !(trig && (trig->trig_insert_before_row || trig->trig_insert_after_row ||
						  trig->trig_insert_instead_row || trig->trig_insert_new_table)) &&
		!(tupdesc->constr && tupdesc->constr->has_generated_stored);

	if (together)
	{
		TupleTableSlot *slots[INSERT_CHUNK];
		BulkInsertState bistate = GetBulkInsertState();
		int			nslots = Min(n, INSERT_CHUNK);

		for (int i = 0; i < nslots; i++)
			slots[i] = ExecAllocTableSlot(&estate->es_tupleTable, tupdesc, table_slot_callbacks(rel));
		for (int done = 0; done < n; done += INSERT_CHUNK)
		{
			int			m = Min(n - done, INSERT_CHUNK);
			MemoryContext oldcxt = MemoryContextSwitchTo(GetPerTupleMemoryContext(estate));

			CHECK_FOR_INTERRUPTS();
			for (int i = 0; i < m; i++)
			{
				fill_row(slots[i], tupdesc, recs[done + i]);
				if (tupdesc->constr)
					ExecConstraints(rri, slots[i], estate);
			}
			table_multi_insert(rel, slots, m, GetCurrentCommandId(true), 0, bistate);
			for (int i = 0; i < m; i++)
			{
				if (rri->ri_NumIndices > 0)
					list_free(CRM_EXEC_INSERT_INDEX_TUPLES(rri, slots[i], estate));
				ExecClearTuple(slots[i]);
			}
			MemoryContextSwitchTo(oldcxt);
			ResetPerTupleExprContext(estate);
		}
		ExecResetTupleTable(estate->es_tupleTable, false);
		FreeBulkInsertState(bistate);
	}
	else
	{
		TupleTableSlot *slot = MakeSingleTupleTableSlot(tupdesc, &TTSOpsVirtual);

		for (int i = 0; i < n; i++)
		{
			MemoryContext oldcxt;

			CHECK_FOR_INTERRUPTS();
			oldcxt = MemoryContextSwitchTo(GetPerTupleMemoryContext(estate));
			fill_row(slot, tupdesc, recs[i]);
			ExecSimpleRelationInsert(rri, estate, slot);
			MemoryContextSwitchTo(oldcxt);
			ResetPerTupleExprContext(estate);
		}
		ExecDropSingleTupleTableSlot(slot);
	}

	AfterTriggerEndQuery(estate);
	ExecCloseIndices(rri);
	FreeExecutorState(estate);
	table_close(rel, NoLock);
	PopActiveSnapshot();
	precommit(arg);
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
}

static AccessWriter *my_writer = NULL;	/* in a writer: its entry */
static int *my_batch = NULL;	/* in a writer: the slots it took [queue_size] */
static const AccessRecord **my_recs = NULL; /* and their records */
static int	my_batch_n = 0;
static volatile sig_atomic_t got_sigterm = false;

/*
 * Put the WAL of the transaction so far (its rows) on disk: after a crash its
 * xid is then known to the server, and never given to another transaction,
 * so that a pending file can name it.
 */
static void
flush_xid(void)
{
	if (XactLastRecEnd != InvalidXLogRecPtr)
		XLogFlush(XactLastRecEnd);
}

/*
 * Just before the commit of a batch: its slots become COMMITTING, with the
 * transaction's xid, so that a process dying from now on writes them to a
 * pending file rather than to the server log.  A slot a dying process has
 * claimed already (shared memory is going away) means no commit: the others
 * go back to TAKEN and the writer writes out what is left and exits, as its
 * own SIGQUIT would make it.
 */
static void
mark_committing(void *arg pg_attribute_unused())
{
	FullTransactionId xid = GetTopFullTransactionId();

	flush_xid();

	for (int k = 0; k < my_batch_n; k++)
	{
		AccessSlot *s = &access_shared->slots[my_batch[k]];
		uint32		st = SLOT_TAKEN;

		s->xid = xid;
		if (!pg_atomic_compare_exchange_u32(&s->state, &st, SLOT_COMMITTING))
		{
			for (int j = 0; j < k; j++)
			{
				st = SLOT_COMMITTING;
				(void) pg_atomic_compare_exchange_u32(&access_shared->slots[my_batch[j]].state,
													  &st, SLOT_TAKEN);
			}
			dump_slots();
			_exit(2);
		}
	}
}

/*
 * Write a batch of the writer's queue; true if there was one.  The slots are
 * freed only once the transaction has committed.  Records that cannot be
 * inserted (the extension was dropped, say) go to the server log, with the
 * rest of the queue, and the writer exits.
 */
static bool
write_records(void)
{
	my_batch_n = take_records(my_writer, my_batch);
	if (my_batch_n == 0)
		return false;
	for (int k = 0; k < my_batch_n; k++)
		my_recs[k] = &access_shared->slots[my_batch[k]].rec;
	PG_TRY();
	{
		insert_records(my_recs, my_batch_n, mark_committing, NULL);
	}
	PG_CATCH();
	{
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		proc_exit(1);			/* writer_exit logs what it holds */
	}
	PG_END_TRY();
	HOLD_INTERRUPTS();
	free_records(my_batch, my_batch_n, SLOT_COMMITTING);
	my_batch_n = 0;
	RESUME_INTERRUPTS();
	return true;
}

/* Write the writer's batch in hand to the server log, and free its slots. */
static void
log_batch(const char *why)
{
	sigset_t	old;

	/* no SIGQUIT between claiming a record and writing it */
	quit_block(&old);
	for (int k = 0; k < my_batch_n; k++)
	{
		AccessSlot *s = &access_shared->slots[my_batch[k]];
		uint32		st = pg_atomic_read_u32(&s->state);

		/* its transaction did not commit; unless a dying process took it */
		if ((st == SLOT_TAKEN || st == SLOT_COMMITTING) &&
			pg_atomic_compare_exchange_u32(&s->state, &st, SLOT_LOGGING))
			log_record(&s->rec, why);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	free_records(my_batch, my_batch_n, SLOT_LOGGING);
	my_batch_n = 0;
}

/*
 * When a writer exits: what it still holds (a batch whose transaction did not
 * commit, its queue) goes to the server log, and it leaves its entry.
 */
static void
writer_exit(int code pg_attribute_unused(), Datum arg pg_attribute_unused())
{
	const char *why = "Recorded in the server log: the crm_privacy access log writer could not write privacy.access_log.";

	if (my_writer == NULL)
		return;
	LWLockReleaseAll();
	log_batch(why);
	LWLockAcquire(access_shared->lock, LW_EXCLUSIVE);
	my_writer->state = WRITER_DRAINING;
	LWLockRelease(access_shared->lock);
	while ((my_batch_n = take_records(my_writer, my_batch)) > 0)
		log_batch(why);
	LWLockAcquire(access_shared->lock, LW_EXCLUSIVE);
	my_writer->state = WRITER_FREE;
	my_writer->dbid = InvalidOid;
	my_writer->proc = NULL;
	LWLockRelease(access_shared->lock);
	my_writer = NULL;
	ConditionVariableBroadcast(&access_shared->changed);
}

/*
 * Pending files (see PENDING_DIR): the records of transactions that were
 * committing when shared memory went away.
 */

/* A pending file read into memory. */
typedef struct PendingFile
{
	char		path[MAXPGPATH];
	PendingHeader h;
	AccessRecord *recs;
	int			n;
} PendingFile;

/* Make PENDING_DIR at server start (in the postmaster). */
static void
pending_dir_create(void)
{
	if (MakePGDirectory(PENDING_DIR) < 0 && errno != EEXIST)
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", PENDING_DIR),
				 errdetail("Reads being recorded when the server crashes will be recorded in the server log.")));
}

/*
 * The database of a pending file's name, or InvalidOid if name is not one
 * (names ending in .new are files being rewritten, .bad unreadable ones).
 */
static Oid
pending_dbid(const char *name)
{
	size_t		len = strlen(name);
	char	   *end;
	unsigned long v;

	if (strncmp(name, PENDING_PREFIX, strlen(PENDING_PREFIX)) != 0 ||
		(len > 4 && (strcmp(name + len - 4, ".new") == 0 || strcmp(name + len - 4, ".bad") == 0)))
		return InvalidOid;
	errno = 0;
	v = strtoul(name + strlen(PENDING_PREFIX), &end, 10);
	if (errno != 0 || *end != '.' || v == 0 || v > PG_UINT32_MAX)
		return InvalidOid;
	return (Oid) v;
}

/* The paths of the pending files of database dbid (any database: InvalidOid). */
static List *
pending_files(Oid dbid)
{
	DIR		   *dir = AllocateDir(PENDING_DIR);
	struct dirent *de;
	List	   *paths = NIL;

	while ((de = ReadDirExtended(dir, PENDING_DIR, LOG)) != NULL)
	{
		Oid			d = pending_dbid(de->d_name);

		if (OidIsValid(d) && (!OidIsValid(dbid) || d == dbid))
			paths = lappend(paths, psprintf("%s/%s", PENDING_DIR, de->d_name));
	}
	FreeDir(dir);
	return paths;
}

/* Read a pending file; false (and the file renamed .bad) if it is not one. */
static bool
pending_read(const char *path, PendingFile *pf)
{
	int			fd;
	struct stat st;
	char	   *data = NULL;
	bool		ok = false;

	strlcpy(pf->path, path, sizeof(pf->path));
	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0 || fstat(fd, &st) != 0)
	{
		/* not now: tried again at the next start of the writer */
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not read crm_privacy's pending read records \"%s\": %m", path)));
		if (fd >= 0)
			CloseTransientFile(fd);
		return false;
	}
	if (st.st_size >= (off_t) sizeof(PendingHeader) && st.st_size <= (off_t) MaxAllocSize)
	{
		ssize_t		got;

		data = palloc(st.st_size);
		got = read(fd, data, st.st_size);
		if (got < 0)
		{
			ereport(LOG,
					(errcode_for_file_access(),
					 errmsg("could not read crm_privacy's pending read records \"%s\": %m", path)));
			CloseTransientFile(fd);
			return false;
		}
		ok = (got == st.st_size);
	}
	CloseTransientFile(fd);
	if (ok)
	{
		memcpy(&pf->h, data, sizeof(PendingHeader));
		ok = pf->h.magic == PENDING_MAGIC && pf->h.record_size == sizeof(AccessRecord);
	}
	if (!ok)
	{
		char	   *bad = psprintf("%s.%ld.bad", path, (long) time(NULL));

		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("could not read crm_privacy's pending read records \"%s\"", path),
				 errdetail("It was renamed \"%s\": it is not a file of records of this build of crm_privacy.", bad)));
		(void) durable_rename(path, bad, LOG);
		return false;
	}
	pf->n = (st.st_size - sizeof(PendingHeader)) / sizeof(AccessRecord);
	if ((st.st_size - sizeof(PendingHeader)) % sizeof(AccessRecord) != 0)
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("crm_privacy's pending read records \"%s\" end with a record cut short", path),
				 errdetail("The process writing it was killed; its %d whole records are kept, the last one is lost.", pf->n)));
	pf->recs = (AccessRecord *) (data + sizeof(PendingHeader));
	for (int k = 0; k < pf->n; k++)
	{
		AccessRecord *r = &pf->recs[k];

		/* whatever the file holds, its strings end */
		r->session_user_name[NAMEDATALEN - 1] = '\0';
		r->current_user_name[NAMEDATALEN - 1] = '\0';
		r->application_name[NAMEDATALEN - 1] = '\0';
		r->client_addr[sizeof(r->client_addr) - 1] = '\0';
		r->relations[RELATIONS_MAX - 1] = '\0';
		r->query[QUERY_MAX - 1] = '\0';
	}
	return true;
}

/*
 * Before the commit of a pending file's records: the file gets the new
 * transaction's xid (written aside, then renamed over it), so that it is
 * dropped after a crash if and only if they were inserted.
 */
static void
pending_rewrite(void *arg)
{
	PendingFile *pf = arg;
	char	   *tmp = psprintf("%s.new", pf->path);
	int			fd;

	pf->h.xid = U64FromFullTransactionId(GetTopFullTransactionId());
	flush_xid();
	fd = OpenTransientFile(tmp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY);
	if (fd < 0 ||
		write(fd, &pf->h, sizeof(PendingHeader)) != sizeof(PendingHeader) ||
		write(fd, pf->recs, pf->n * sizeof(AccessRecord)) != (ssize_t) (pf->n * sizeof(AccessRecord)) ||
		pg_fsync(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", tmp)));
	CloseTransientFile(fd);
	(void) durable_rename(tmp, pf->path, ERROR);
}

/*
 * Settle a pending file of this database: its transaction committed, drop it;
 * it did not, insert its records (then drop it); its outcome can no longer be
 * told (so old that the commit log is gone), write them to the server log.
 * A file of a transaction still running (a writer of this database inserting
 * it, which cannot be: there is one) is left.
 */
static void
pending_settle(const char *path)
{
	PendingFile pf;
	FullTransactionId fxid;
	FullTransactionId next;
	TransactionId xid;
	char		status;
	bool		waited;
	const char *volatile why = NULL;

	if (!pending_read(path, &pf))
		return;
	waited = (pf.h.xid == 0);
	fxid = FullTransactionIdFromU64(pf.h.xid);
	xid = XidFromFullTransactionId(fxid);
	next = ReadNextFullTransactionId();

	/*
	 * The transaction's status, as pg_xact_status() finds it: in full
	 * (64-bit) numbers, and in the commit log only while it is kept (under
	 * the lock that truncating it takes).
	 */
	if (waited)
		status = 'a';			/* a record no writer could take: never inserted */
	else if (!FullTransactionIdIsNormal(fxid))
		status = 'u';
	else if (!FullTransactionIdPrecedes(fxid, next))
		status = 'a';			/* never reached the WAL: not committed */
	else if (U64FromFullTransactionId(next) - U64FromFullTransactionId(fxid) >= (UINT64CONST(1) << 31))
		status = 'u';
	else
	{
		LWLockAcquire(XactTruncationLock, LW_SHARED);
		if (TransactionIdPrecedes(xid, TransamVariables->oldestClogXid))
			status = 'u';
		else if (TransactionIdIsInProgress(xid))
			status = 'r';
		else
			status = TransactionIdDidCommit(xid) ? 'c' : 'a';
		LWLockRelease(XactTruncationLock);
	}
	if (status == 'r')
		return;
	if (status == 'c')
	{
		ereport(LOG,
				(errmsg("crm_privacy: %d read records of a batch committing at a crash are in privacy.access_log", pf.n)));
		durable_unlink(path, LOG);
		return;
	}
	if (status == 'u')
		why = "Recorded in the server log after a crash: whether its transaction committed is no longer known, so it may also be in privacy.access_log.";
	if (why == NULL && pf.n > 0)
	{
		const AccessRecord **recs = palloc(pf.n * sizeof(AccessRecord *));

		for (int k = 0; k < pf.n; k++)
			recs[k] = &pf.recs[k];
		PG_TRY();
		{
			insert_records(recs, pf.n, pending_rewrite, &pf);
		}
		PG_CATCH();
		{
			EmitErrorReport();
			FlushErrorState();
			AbortCurrentTransaction();
			why = "Recorded in the server log after a crash: the crm_privacy access log writer could not write privacy.access_log.";
		}
		PG_END_TRY();
	}
	if (why == NULL && pf.n > 0 && waited)
		ereport(DEBUG1,
				(errmsg("crm_privacy: %d read records that had waited for the access log writer were written to privacy.access_log", pf.n)));
	else if (why == NULL && pf.n > 0)
		ereport(LOG,
				(errmsg("crm_privacy: %d read records of a batch not committed at a crash were written to privacy.access_log", pf.n)));
	for (int k = 0; why != NULL && k < pf.n; k++)
		log_record(&pf.recs[k], why);
	durable_unlink(path, LOG);
}

/*
 * Settle the pending files of database dbid, each in memory of its own; one
 * that fails (an error) is left for later.  At most max_files of them (0:
 * all); returns whether more are left.
 */
static bool
pending_settle_all(Oid dbid, int max_files)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "crm_privacy pending records",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	List	   *paths = pending_files(dbid);
	bool		more = (max_files > 0 && list_length(paths) > max_files);
	ListCell   *lc;

	MemoryContextSwitchTo(old);
	foreach(lc, paths)
	{
		MemoryContext file;

		if (max_files > 0 && foreach_current_index(lc) >= max_files)
			break;
		file = AllocSetContextCreate(cxt, "crm_privacy pending file", ALLOCSET_DEFAULT_SIZES);

		CHECK_FOR_INTERRUPTS();
		MemoryContextSwitchTo(file);
		PG_TRY();
		{
			pending_settle(lfirst(lc));
		}
		PG_CATCH();
		{
			EmitErrorReport();
			FlushErrorState();
			AbortCurrentTransaction();
		}
		PG_END_TRY();
		MemoryContextSwitchTo(old);
		MemoryContextDelete(file);
	}
	MemoryContextDelete(cxt);
	return more;
}

/*
 * Main of the launcher, a process started with the server (and after each
 * crash restart), connected to no database.  Every 10 s, and at a reload:
 * it starts the writer of each database that has pending files (those of a
 * database that was dropped go to the server log), and keeps the snapshot
 * schedulers of crm_privacy.snapshot_databases running (snapshot.c).
 */
void
crm_access_launcher_main(Datum arg pg_attribute_unused())
{
	MemoryContext round = AllocSetContextCreate(TopMemoryContext, "crm_privacy launcher",
												 ALLOCSET_DEFAULT_SIZES);

	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	/* no database: the shared catalogs only (which databases exist) */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	while (!ShutdownRequestPending)
	{
		MemoryContext old = MemoryContextSwitchTo(round);
		List	   *paths = pending_files(InvalidOid);
		List	   *started = NIL;
		ListCell   *lc;

		foreach(lc, paths)
		{
			const char *path = lfirst(lc);
			Oid			dbid = pending_dbid(strrchr(path, '/') + 1);
			bool		exists;
			AccessWriter *w;
			bool		claimed = false;

			CHECK_FOR_INTERRUPTS();
			if (list_member_oid(started, dbid))
				continue;		/* its writer was seen to this round */
			StartTransactionCommand();
			exists = SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum(dbid));
			CommitTransactionCommand();
			MemoryContextSwitchTo(round);
			if (!exists)
			{
				PendingFile pf;

				if (pending_read(path, &pf))
				{
					for (int k = 0; k < pf.n; k++)
						log_record(&pf.recs[k], "Recorded in the server log: its database was dropped before the records reached privacy.access_log.");
					durable_unlink(path, LOG);
				}
				continue;
			}
			started = lappend_oid(started, dbid);
			LWLockAcquire(access_shared->lock, LW_EXCLUSIVE);
			w = find_writer(dbid);
			if (w == NULL)
			{
				for (int i = 0; i < ACCESS_WRITERS && w == NULL; i++)
					if (access_shared->writers[i].state == WRITER_FREE)
						w = &access_shared->writers[i];
				if (w != NULL)
				{
					claim_writer(w, dbid);
					claimed = true;
				}
			}
			LWLockRelease(access_shared->lock);
			if (claimed && !start_writer(dbid))
				release_claim(w);
		}
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		crm_snapshot_launch();
		MemoryContextSwitchTo(old);
		MemoryContextReset(round);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH | WL_TIMEOUT,
						 10000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	proc_exit(1);				/* started again after a restart */
}

/* Register the launcher; from _PG_init, when preloaded. */
static void
register_launcher(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 10;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "crm_privacy");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "crm_access_launcher_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "crm_privacy launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "crm_privacy launcher");
	RegisterBackgroundWorker(&worker);
}

/* SIGTERM (a fast shutdown, pg_terminate_backend): write the queue, then exit. */
static void
writer_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	got_sigterm = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

/* Main of the access log writer of one database. */
void
crm_access_writer_main(Datum arg)
{
	Oid			dbid = DatumGetObjectId(arg);
	long		idle_ms = 0;
	TimestampTz scanned;
	bool		more_pending = false;

	my_batch = MemoryContextAlloc(TopMemoryContext, queue_size * sizeof(int));
	my_recs = MemoryContextAlloc(TopMemoryContext, queue_size * sizeof(AccessRecord *));
	pqsignal(SIGTERM, writer_sigterm);
	pqsignal(SIGQUIT, writer_quickdie);
	BackgroundWorkerUnblockSignals();
	/* registered first, so that it runs after the transaction is aborted */
	before_shmem_exit(writer_exit, (Datum) 0);
	BackgroundWorkerInitializeConnectionByOid(dbid, InvalidOid, 0);

	/*
	 * A batch's slots are freed, and a pending file removed, once its commit
	 * returns: the commit must then be on disk, whatever synchronous_commit
	 * the configuration, the database or the role set (off: it would not be).
	 */
	if (synchronous_commit < SYNCHRONOUS_COMMIT_LOCAL_FLUSH)
		SetConfigOption("synchronous_commit", "local", PGC_SUSET, PGC_S_OVERRIDE);

	/* attach to the entry a reader claimed for us */
	LWLockAcquire(access_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < ACCESS_WRITERS; i++)
	{
		AccessWriter *w = &access_shared->writers[i];

		if (w->dbid == dbid && w->state == WRITER_STARTING)
		{
			w->state = WRITER_RUNNING;
			w->proc = MyProc;
			w->head = w->tail = -1;
			w->count = 0;
			my_writer = w;
			break;
		}
	}
	LWLockRelease(access_shared->lock);
	if (my_writer == NULL)
		proc_exit(0);			/* another writer took the entry */
	ConditionVariableBroadcast(&access_shared->changed);

	/* records a crash left in pending files come first */
	(void) pending_settle_all(dbid, 0);
	scanned = GetCurrentTimestamp();

	while (!got_sigterm)
	{
		bool		leave = false;

		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		/*
		 * Records no writer could take meanwhile (pending_append): looked
		 * for every PENDING_SCAN_MS, and inserted PENDING_CHUNK files at a
		 * time while the queue is empty, so that a backlog of them never
		 * keeps the queue (shared by every database) full.
		 */
		if (TimestampDifferenceExceeds(scanned, GetCurrentTimestamp(), PENDING_SCAN_MS))
		{
			more_pending = true;
			scanned = GetCurrentTimestamp();
		}
		if (more_pending && queued_records(my_writer) == 0)
		{
			more_pending = pending_settle_all(dbid, PENDING_CHUNK);
			idle_ms = 0;
		}
		if (write_records())
		{
			/*
			 * Group commit: unless WAKE_AT records wait already, let more
			 * come (a reader that queues the WAKE_AT-th sets the latch), so
			 * that one commit and one WAL flush serve many records.
			 */
			idle_ms = 0;
			if (queued_records(my_writer) >= WAKE_AT)
				continue;
		}
		else if (idle_ms >= WRITER_IDLE_MS)
		{
			/* leave only with an empty queue, decided under the lock */
			LWLockAcquire(access_shared->lock, LW_EXCLUSIVE);
			if (my_writer->count == 0)
			{
				my_writer->state = WRITER_FREE;
				my_writer->dbid = InvalidOid;
				my_writer->proc = NULL;
				leave = true;
			}
			LWLockRelease(access_shared->lock);
			if (leave)
			{
				my_writer = NULL;
				ConditionVariableBroadcast(&access_shared->changed);
				proc_exit(0);
			}
			idle_ms = 0;
			continue;
		}
		if (WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_POSTMASTER_DEATH, WRITER_NAP_MS,
					  PG_WAIT_EXTENSION) & WL_POSTMASTER_DEATH)
			proc_exit(1);		/* writer_exit logs the queue */
		idle_ms += WRITER_NAP_MS;
	}

	/* SIGTERM: take no more records, write the queue, and exit */
	LWLockAcquire(access_shared->lock, LW_EXCLUSIVE);
	my_writer->state = WRITER_DRAINING;
	LWLockRelease(access_shared->lock);
	ConditionVariableBroadcast(&access_shared->changed);
	while (write_records())
		;
	proc_exit(0);				/* writer_exit leaves the entry */
}
