/*-------------------------------------------------------------------------
 *
 * audit.c
 *	  The change audit (doc/audit.md, "Change audit"): a C trigger that
 *	  records every INSERT, UPDATE and DELETE row, and every TRUNCATE, of an
 *	  audited table in privacy.audit_log; and the guard that keeps the log
 *	  tables append-only.
 *
 * Values of labelled columns whose level is not public (and of every
 * unlabelled column of a subject or related table: privacy by default) are
 * stored as
 * pseudonym(value, 'audit'), never in clear; so is the subject key when its
 * column is not public.  On UPDATE only the changed columns are stored.  The
 * actor is session_user and current_user, taken from the backend, not from
 * any setting a user can change.  The row is written as the extension's
 * owner: users need (and get) no privilege on the log.
 *
 * On a Citus cluster the trigger fires on the shards, on the nodes that hold
 * them (Citus copies it there as crm_privacy_audit_<shard number>): each
 * node writes its own log, naming the distributed table (found from the
 * number in the trigger's name, through Citus's catalog), with the labels
 * privacy.citus_labels copies to every node (doc/scale.md).
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/audit.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/genam.h"
#include "access/heapam.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/seclabel.h"
#include "common/sha2.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "pgtime.h"
#include "rewrite/rewriteHandler.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/bytea.h"
#include "utils/datum.h"
#include "utils/float.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "crm_privacy.h"
#include "label.h"

/* What the audit needs to know of a table's columns, cached per relation. */
typedef struct AuditTable
{
	Oid			relid;			/* hash key */
	Oid			rootid;			/* its partitioned root, or relid */
	bool		valid;
	int			natts;
	bool	   *hide;			/* store pseudonym(value, 'audit') */
	FmgrInfo   *output;			/* output functions */
	AttrNumber	keyatt;			/* subject key column, or 0 */
	Oid			keybase;		/* its base type */
	char	   *name;			/* schema-qualified name of the root */
	char	   *partition;		/* schema-qualified name of a partition, or NULL */
	char	   *shard;			/* schema-qualified name of a Citus shard, or NULL */
	int64		shardid;		/* the shard's number, or 0 */
	TimestampTz checked_xact;	/* a shard: the statement whose labels were checked */
	TimestampTz checked_stmt;
	bool		unsettled;		/* a shard: its labels were changing: all hidden */
} AuditTable;

static HTAB *audit_tables = NULL;
static void log_invalidate(Oid relid);
static SPIPlanPtr insert_plan = NULL;

/* Forget cached tables when their relcache entries are invalidated. */
static void
audit_invalidate(Oid relid)
{
	HASH_SEQ_STATUS status;
	AuditTable *t;

	if (audit_tables == NULL)
		return;
	hash_seq_init(&status, audit_tables);
	while ((t = (AuditTable *) hash_seq_search(&status)) != NULL)
	{
		if (relid == InvalidOid || t->relid == relid || t->rootid == relid)
			t->valid = false;
	}
}

/* A relcache invalidation (from crm_privacy.c's callback). */
void
crm_audit_relcache(Oid relid)
{
	audit_invalidate(relid);
	log_invalidate(relid);
}

/* Schema-qualified, quoted name of a relation. */
static char *
qualified_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/* Are two lists of C strings the same, in the same order? */
static bool
equal_strings(List *a, List *b)
{
	ListCell   *la;
	ListCell   *lb;

	if (list_length(a) != list_length(b))
		return false;
	forboth(la, a, lb, b)
	{
		if (strcmp((char *) lfirst(la), (char *) lfirst(lb)) != 0)
			return false;
	}
	return true;
}

/*
 * The label of a column of an audited table's root: from the catalog, or
 * for a Citus shard from the copy of its table's labels that
 * privacy.citus_labels holds (SECURITY LABEL stays on the coordinator).
 * NULL when the column has none.
 */
static char *
column_label(Oid rootid, const char *attname, CrmCitusLabels *shard_labels)
{
	AttrNumber	rootatt;
	ObjectAddress addr;
	ListCell   *name;
	ListCell   *label;

	if (shard_labels)
	{
		forboth(name, shard_labels->columns, label, shard_labels->labels)
		{
			if (strcmp((char *) lfirst(name), attname) == 0)
				return (char *) lfirst(label);
		}
		return NULL;
	}
	rootatt = get_attnum(rootid, attname);
	if (rootatt == InvalidAttrNumber)
		return NULL;
	ObjectAddressSubSet(addr, RelationRelationId, rootid, rootatt);
	return GetSecurityLabel(&addr, CRM_PROVIDER);
}

/*
 * Must a shard's cached description be built again: once per statement, are
 * its table's labels being changed (crm_citus_labels_changing()), or were
 * they while it was built?
 */
static bool
shard_labels_changing(AuditTable *t)
{
	if (t->shardid == 0)
		return false;
	if (t->checked_xact == GetCurrentTransactionStartTimestamp() &&
		t->checked_stmt == GetCurrentStatementStartTimestamp())
		return false;			/* checked for this statement */
	if (t->unsettled || crm_citus_labels_changing(t->shardid))
	{
		t->valid = false;
		return true;
	}
	t->checked_xact = GetCurrentTransactionStartTimestamp();
	t->checked_stmt = GetCurrentStatementStartTimestamp();
	return false;
}

/*
 * The cached description of an audited table, built on first use.  A
 * partition is audited as its root: the root's labels (matched by column
 * name, since a partition's columns may be numbered differently) and the
 * root's name.  So is a Citus shard, on whichever node holds it: as the
 * distributed table, under its name on the coordinator and with its labels,
 * both found in the copy of privacy.citus_labels on every node by the
 * shard's number (which its audit trigger's name carries); a shard whose
 * number is not there yet hides every value and records no key, until
 * privacy.refresh_views() (or a label change) on the coordinator copies it.
 */
static AuditTable *
audit_table(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	TupleDesc	desc = RelationGetDescr(rel);
	Oid			rootid = relid;
	Oid			dist;
	AuditTable *t;
	bool		found;
	CrmTableLabel tl;
	bool		labelled;
	CrmCitusLabels shard_labels;
	CrmCitusLabels *from_copy = NULL;
	int64		shardid;
	MemoryContext oldcxt;

	if (audit_tables == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(AuditTable);
		audit_tables = hash_create("crm_privacy audited tables", 16, &ctl,
								   HASH_ELEM | HASH_BLOBS);
	}
	t = (AuditTable *) hash_search(audit_tables, &relid, HASH_ENTER, &found);
	if (found && t->valid && !shard_labels_changing(t))
		return t;
	if (found)
	{
		/* NULL where an earlier build failed half-way */
		if (t->hide)
			pfree(t->hide);
		if (t->output)
			pfree(t->output);
		if (t->name)
			pfree(t->name);
		if (t->partition)
			pfree(t->partition);
		if (t->shard)
			pfree(t->shard);
	}
	t->valid = false;
	t->hide = NULL;
	t->output = NULL;
	t->name = NULL;
	t->partition = NULL;
	t->shard = NULL;

	/* a shard: its table from Citus's catalog, by the number its trigger carries */
	shardid = crm_audit_shard_id(relid);
	t->shardid = shardid;
	t->checked_xact = GetCurrentTransactionStartTimestamp();
	t->checked_stmt = GetCurrentStatementStartTimestamp();
	t->unsettled = shardid > 0 && crm_citus_labels_changing(shardid);
	dist = shardid > 0 ? crm_citus_shard_table(shardid) : InvalidOid;
	if (OidIsValid(dist))
		rootid = dist;
	if (get_rel_relispartition(rootid))
		rootid = llast_oid(get_partition_ancestors(rootid));

	oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	t->rootid = rootid;
	t->natts = desc->natts;
	t->hide = palloc0(sizeof(bool) * desc->natts);
	t->output = palloc0(sizeof(FmgrInfo) * desc->natts);
	t->name = qualified_name(rootid);
	if (shardid > 0)
		t->shard = qualified_name(relid);
	else if (rootid != relid)
		t->partition = qualified_name(relid);
	MemoryContextSwitchTo(oldcxt);

	if (shardid > 0)
	{
		/*
		 * The table's name on the coordinator and its labels, copied for
		 * every node, found by the shard's number; none (not copied yet):
		 * every value hidden, no key
		 */
		from_copy = &shard_labels;
		if (!t->unsettled && crm_citus_labels(shardid, &shard_labels) &&
			equal_strings(crm_citus_columns(relid), shard_labels.table_columns))
		{
			pfree(t->name);
			t->name = MemoryContextStrdup(TopMemoryContext, shard_labels.table_name);
			labelled = shard_labels.table_label[0] != '\0';
			if (labelled)
				crm_parse_table_label(shard_labels.table_label, &tl);
		}
		else
		{
			/*
			 * (or the shard's columns are not its table's: renamed on this
			 * node; or its labels are being changed)
			 */
			labelled = true;
			tl.key = NULL;
			shard_labels.columns = shard_labels.labels = NIL;
		}
	}
	else
		labelled = crm_get_table_label(rootid, &tl);
	t->keyatt = labelled && tl.key ? get_attnum(relid, tl.key) : 0;
	if (t->keyatt == InvalidAttrNumber)
		t->keyatt = 0;
	t->keybase = t->keyatt > 0 ? getBaseType(TupleDescAttr(desc, t->keyatt - 1)->atttypid) : InvalidOid;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		char	   *label;
		Oid			typoutput;
		bool		isvarlena;

		if (att->attisdropped)
			continue;
		label = column_label(rootid, NameStr(att->attname), from_copy);
		if (label != NULL)
		{
			CrmColumnLabel cl;

			crm_parse_column_label(label, &cl);
			t->hide[i] = (cl.level != CRM_LEVEL_PUBLIC);
		}
		else
			t->hide[i] = labelled;	/* privacy by default */
		getTypeOutputInfo(att->atttypid, &typoutput, &isvarlena);
		fmgr_info_cxt(typoutput, &t->output[i], TopMemoryContext);
	}
	t->valid = true;
	return t;
}

/*
 * A value kept in clear is cut after this many bytes, with its length and
 * SHA-256 after it: a row of the log stays far below what row_to_json (the
 * seal) and jsonb can hold, whatever a writer puts in an audited column.
 */
#define AUDIT_CLEAR_LIMIT 16384

static char *
clip_clear(char *text)
{
	size_t		len = strlen(text);
	bytea	   *whole;
	bytea	   *digest;
	char		hex[PG_SHA256_DIGEST_LENGTH * 2 + 1];

	if (len <= AUDIT_CLEAR_LIMIT)
		return text;
	whole = palloc(VARHDRSZ + len);
	SET_VARSIZE(whole, VARHDRSZ + len);
	memcpy(VARDATA(whole), text, len);
	digest = DatumGetByteaPP(DirectFunctionCall1(sha256_bytea, PointerGetDatum(whole)));
	hex[hex_encode(VARDATA_ANY(digest), VARSIZE_ANY_EXHDR(digest), hex)] = '\0';
	return psprintf("%.*s... [%zu bytes, sha256 %s]",
					pg_mbcliplen(text, (int) Min(len, (size_t) INT_MAX), AUDIT_CLEAR_LIMIT), text, len, hex);
}

/*
 * The text stored for column i: its value (clipped), or its audit pseudonym.
 * The key column's text is the subject key's canonical form, as
 * privacy.subject_key() makes it (so that subject_report finds the row): a
 * number without the zeros after its point (a related numeric(12,2) column
 * under an integer key), a char(n) without its padding.
 */
static char *
stored_value(AuditTable *t, int i, Datum value)
{
	char	   *text;

	if (i == t->keyatt - 1 && t->keybase == NUMERICOID &&
		!numeric_is_nan(DatumGetNumeric(value)) && !numeric_is_inf(DatumGetNumeric(value)))
		value = DirectFunctionCall1(numeric_trim_scale, value);
	text = OutputFunctionCall(&t->output[i], value);
	if (i == t->keyatt - 1 && t->keybase == BPCHAROID)
	{
		int			len = strlen(text);

		while (len > 0 && text[len - 1] == ' ')
			text[--len] = '\0';
	}
	return t->hide[i] ? crm_pseudonym_cstring(text, strlen(text), "audit") : clip_clear(text);
}

/*
 * The settings that change the text of a value (DateStyle, TimeZone,
 * IntervalStyle, bytea_output, extra_float_digits) are any session's to
 * set; while the audit reads values they are fixed, as the seal fixes them,
 * so that one value always gives one pseudonym.  The output functions read
 * these variables directly; they are set back however the reading ends.
 */
typedef struct OutputSettings
{
	int			datestyle;
	int			intervalstyle;
	int			byteaoutput;
	int			floatdigits;
	pg_tz	   *tz;
} OutputSettings;

static bool
fix_output_settings(OutputSettings *saved)
{
	static pg_tz *utc = NULL;

	if (utc == NULL)
		utc = pg_tzset("UTC");
	if (DateStyle == USE_ISO_DATES && IntervalStyle == INTSTYLE_POSTGRES &&
		bytea_output == BYTEA_OUTPUT_HEX && extra_float_digits == 1 &&
		(session_timezone == utc || utc == NULL))
		return false;
	saved->datestyle = DateStyle;
	saved->intervalstyle = IntervalStyle;
	saved->byteaoutput = bytea_output;
	saved->floatdigits = extra_float_digits;
	saved->tz = session_timezone;
	DateStyle = USE_ISO_DATES;
	IntervalStyle = INTSTYLE_POSTGRES;
	bytea_output = BYTEA_OUTPUT_HEX;
	extra_float_digits = 1;
	if (utc != NULL)
		session_timezone = utc;
	return true;
}

static void
restore_output_settings(const OutputSettings *saved)
{
	DateStyle = saved->datestyle;
	IntervalStyle = saved->intervalstyle;
	bytea_output = saved->byteaoutput;
	extra_float_digits = saved->floatdigits;
	session_timezone = saved->tz;
}

/*
 * The JSON objects of a log row are built as jsonb directly, never printed
 * and parsed again.
 */
static void
begin_json(JsonbParseState **state)
{
	*state = NULL;
	(void) pushJsonbValue(state, WJB_BEGIN_OBJECT, NULL);
}

/* Push a string key. */
static void
push_json_key(JsonbParseState **state, const char *name)
{
	JsonbValue	key;

	key.type = jbvString;
	key.val.string.val = (char *) name;
	key.val.string.len = strlen(name);
	(void) pushJsonbValue(state, WJB_KEY, &key);
}

/* Add "name": value (NULL: JSON null) to the object under construction. */
static void
append_json_field(JsonbParseState **state, const char *name, const char *value)
{
	JsonbValue	v;

	push_json_key(state, name);
	if (value == NULL)
		v.type = jbvNull;
	else
	{
		v.type = jbvString;
		v.val.string.val = (char *) value;
		v.val.string.len = strlen(value);
	}
	(void) pushJsonbValue(state, WJB_VALUE, &v);
}

/* Add "name": n, a JSON number. */
static void
append_json_number(JsonbParseState **state, const char *name, int64 n)
{
	JsonbValue	v;

	push_json_key(state, name);
	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(n);
	(void) pushJsonbValue(state, WJB_VALUE, &v);
}

/* The object as a jsonb datum. */
static Datum
finish_json(JsonbParseState **state)
{
	return JsonbPGetDatum(JsonbValueToJsonb(pushJsonbValue(state, WJB_END_OBJECT, NULL)));
}

/*
 * privacy.audit_log as the extension made it: these columns, in this order,
 * then no trigger on INSERT, no CHECK constraint, no index on an expression
 * or with a predicate.  Only then is a row written directly (heap and index
 * inserts, as PostgreSQL writes its catalogs), without the executor; a log
 * a superuser changed is written through SPI, with whatever he added.
 */
static const CrmLogColumn log_columns[] =
{
	{"id", INT8OID, true}, {"at", TIMESTAMPTZOID, true}, {"txid", INT8OID, true},
	{"session_user_name", NAMEOID, true}, {"current_user_name", NAMEOID, true},
	{"application_name", TEXTOID, false}, {"client_addr", INETOID, false},
	{"table_name", TEXTOID, true}, {"op", TEXTOID, true}, {"subject_key", TEXTOID, false},
	{"changed_columns", TEXTARRAYOID, false}, {"old_values", JSONBOID, false},
	{"new_values", JSONBOID, false},
};
#define LOG_NATTS ((int) lengthof(log_columns))

static Oid	direct_relid = InvalidOid;	/* the log, when it can be written directly */
static Oid	direct_seqid = InvalidOid;	/* its identity sequence */
static Oid	checked_relid = InvalidOid;	/* the log whose shape was checked */

/*
 * The log's indexes as the check found them, each with the IndexInfo that
 * BuildIndexInfo made then: an insert copies it instead of building it again.
 * Kept in log_index_cxt until the next check (an invalidation only clears
 * checked_relid, since it can arrive while an insert walks this array).
 */
typedef struct LogIndex
{
	Oid			indexoid;
	IndexInfo  *info;
} LogIndex;
static MemoryContext log_index_cxt = NULL;
static LogIndex *log_indexes = NULL;
static int	log_nindexes = 0;

/* Forget the check when the log's relcache entry is invalidated. */
static void
log_invalidate(Oid relid)
{
	if (relid == InvalidOid || relid == checked_relid)
	{
		checked_relid = InvalidOid;
		direct_relid = InvalidOid;
	}
}

/*
 * Has the open log rel the shape the direct insert writes?  If so, remember
 * its indexes and identity sequence.
 */
static bool
log_shape_ok(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	TriggerDesc *trig = rel->trigdesc;
	List	   *indexes;
	List	   *owned;
	ListCell   *lc;
	MemoryContext old;

	if (rel->rd_rel->relkind != RELKIND_RELATION || desc->natts != LOG_NATTS ||
		(desc->constr && desc->constr->num_check > 0))
		return false;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || strcmp(NameStr(att->attname), log_columns[i].name) != 0 ||
			att->atttypid != log_columns[i].type || att->attgenerated ||
			att->attnotnull != log_columns[i].notnull)
			return false;
		/* no default but "at"'s now(), which the direct insert computes itself */
		if (att->atthasdef)
		{
			Node	   *def = build_column_default(rel, att->attnum);

			if (i != 1 || def == NULL || !IsA(def, FuncExpr) ||
				((FuncExpr *) def)->funcid != F_NOW)
				return false;
		}
	}
	if (trig && (trig->trig_insert_before_row || trig->trig_insert_after_row ||
				 trig->trig_insert_instead_row || trig->trig_insert_before_statement ||
				 trig->trig_insert_after_statement || trig->trig_insert_new_table))
		return false;
	owned = getOwnedSequences(RelationGetRelid(rel));
	if (list_length(owned) != 1)
		return false;

	if (log_index_cxt == NULL)
		log_index_cxt = AllocSetContextCreate(CacheMemoryContext, "crm_privacy audit log indexes",
											  ALLOCSET_SMALL_SIZES);
	MemoryContextReset(log_index_cxt);
	log_indexes = NULL;
	log_nindexes = 0;
	indexes = RelationGetIndexList(rel);
	old = MemoryContextSwitchTo(log_index_cxt);
	log_indexes = palloc0(sizeof(LogIndex) * Max(list_length(indexes), 1));
	MemoryContextSwitchTo(old);
	foreach(lc, indexes)
	{
		Relation	idx = index_open(lfirst_oid(lc), AccessShareLock);
		bool		plain = RelationGetIndexExpressions(idx) == NIL &&
			RelationGetIndexPredicate(idx) == NIL && idx->rd_index->indimmediate &&
			!idx->rd_index->indisexclusion;

		if (plain)
		{
			old = MemoryContextSwitchTo(log_index_cxt);
			log_indexes[log_nindexes].indexoid = RelationGetRelid(idx);
			log_indexes[log_nindexes].info = BuildIndexInfo(idx);
			log_nindexes++;
			MemoryContextSwitchTo(old);
		}
		index_close(idx, AccessShareLock);
		if (!plain)
			return false;
	}
	direct_seqid = linitial_oid(owned);
	return true;
}

/*
 * Write a log row directly; false when the log must be written through SPI.
 * values[0..10] are the columns from txid on.
 */
static bool
insert_direct(Datum *values, char *nulls)
{
	Oid			relid = OidIsValid(direct_relid) ? direct_relid :
		get_relname_relid("audit_log", get_namespace_oid(CRM_SCHEMA, false));
	Relation	rel;
	Datum		row[LOG_NATTS];
	bool		rownulls[LOG_NATTS];
	HeapTuple	tup;
	TupleTableSlot *slot;

	if (!OidIsValid(relid))
		return false;
	rel = table_open(relid, RowExclusiveLock);
	/* still privacy.audit_log once locked (not moved out by DROP EXTENSION)? */
	if (strcmp(RelationGetRelationName(rel), "audit_log") != 0 ||
		RelationGetNamespace(rel) != get_namespace_oid(CRM_SCHEMA, true))
	{
		table_close(rel, RowExclusiveLock);
		direct_relid = InvalidOid;
		return false;
	}
	if (checked_relid != relid)
	{
		direct_relid = log_shape_ok(rel) ? relid : InvalidOid;
		checked_relid = relid;
	}
	if (direct_relid != relid)
	{
		table_close(rel, RowExclusiveLock);
		return false;
	}

	row[0] = Int64GetDatum(nextval_internal(direct_seqid, false));
	rownulls[0] = false;
	row[1] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());	/* now() */
	rownulls[1] = false;
	for (int i = 0; i < LOG_NATTS - 2; i++)
	{
		row[i + 2] = values[i];
		rownulls[i + 2] = (nulls[i] == 'n');
	}
	tup = heap_form_tuple(RelationGetDescr(rel), row, rownulls);
	heap_insert(rel, tup, GetCurrentCommandId(true), 0, NULL);

	slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
	ExecStoreHeapTuple(tup, slot, false);
	for (int i = 0; i < log_nindexes; i++)
	{
		Relation	idx = index_open(log_indexes[i].indexoid, RowExclusiveLock);
		IndexInfo  *info = palloc(sizeof(IndexInfo));
		Datum		ivalues[INDEX_MAX_KEYS];
		bool		inulls[INDEX_MAX_KEYS];

		/* a fresh copy, as BuildIndexInfo would make it now */
		memcpy(info, log_indexes[i].info, sizeof(IndexInfo));
		info->ii_Context = CurrentMemoryContext;
		info->ii_AmCache = NULL;
		/* an index being built concurrently gets rows once it is ready, as the executor does */
		if (idx->rd_index->indisready)
		{
			FormIndexDatum(info, slot, NULL, ivalues, inulls);
			(void) index_insert(idx, ivalues, inulls, &tup->t_self, rel,
								idx->rd_index->indisunique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
								false, info);
			index_insert_cleanup(idx, info);
		}
		index_close(idx, NoLock);
	}
	ExecDropSingleTupleTableSlot(slot);
	heap_freetuple(tup);
	/* the lock is held to the end of the transaction: seal_audit() waits for it */
	table_close(rel, NoLock);
	return true;
}

/* Write one row of privacy.audit_log as the extension's owner. */
static void
insert_audit_row(const char *table_name, const char *op, const char *subject_key,
				 List *changed, Datum old_values, bool old_null,
				 Datum new_values, bool new_null)
{
	Datum		values[11];
	char		nulls[11];
	const char *appname = application_name;
	CrmOwnerContext ctx;
	Datum		addr;

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum((int64) U64FromFullTransactionId(GetTopFullTransactionId()));
	values[1] = DirectFunctionCall1(namein,
									CStringGetDatum(GetUserNameFromId(GetSessionUserId(), false)));
	values[2] = DirectFunctionCall1(namein,
									CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
	if (appname && appname[0])
		values[3] = CStringGetTextDatum(appname);
	else
		nulls[3] = 'n';
	if (crm_client_addr(&addr))
		values[4] = addr;
	else
		nulls[4] = 'n';
	values[5] = CStringGetTextDatum(table_name);
	values[6] = CStringGetTextDatum(op);
	if (subject_key)
		values[7] = CStringGetTextDatum(subject_key);
	else
		nulls[7] = 'n';
	if (changed != NIL || strcmp(op, "UPDATE") == 0)
	{
		Datum	   *elems = palloc(sizeof(Datum) * (list_length(changed) + 1));
		int			n = 0;
		ListCell   *lc;

		foreach(lc, changed)
			elems[n++] = CStringGetTextDatum((char *) lfirst(lc));
		values[8] = PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
	}
	else
		nulls[8] = 'n';
	values[9] = old_values;
	nulls[9] = old_null ? 'n' : ' ';
	values[10] = new_values;
	nulls[10] = new_null ? 'n' : ' ';

	if (!insert_direct(values, nulls))
	{
		crm_become_owner(&ctx, false);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (insert_plan == NULL)
		{
			Oid			types[11] = {INT8OID, NAMEOID, NAMEOID, TEXTOID, INETOID, TEXTOID,
			TEXTOID, TEXTOID, TEXTARRAYOID, JSONBOID, JSONBOID};
			SPIPlanPtr	plan = SPI_prepare("INSERT INTO privacy.audit_log (txid, session_user_name,"
										   " current_user_name, application_name, client_addr,"
										   " table_name, op, subject_key, changed_columns,"
										   " old_values, new_values)"
										   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
										   11, types);

			if (plan == NULL || SPI_keepplan(plan) != 0)
				elog(ERROR, "could not prepare the audit insert");
			insert_plan = plan;
		}
		if (SPI_execute_plan(insert_plan, values, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not write the audit row");
		SPI_finish();
		crm_end_owner(&ctx);
	}
}

/*
 * The old and new values of a changed row as the log keeps them (every
 * column of an INSERT or DELETE, the changed ones of an UPDATE), the names
 * of the changed columns, and the row's subject key.
 */
static void
read_row(AuditTable *t, TupleDesc desc, HeapTuple oldtup, HeapTuple newtup,
		 JsonbParseState **oldjson_p, JsonbParseState **newjson_p, List **changed_p, char **key_p)
{
	Datum	   *oldvals = NULL;
	bool	   *oldnulls = NULL;
	Datum	   *newvals = NULL;
	bool	   *newnulls = NULL;
	List	   *changed = NIL;
	char	   *key = NULL;

	/* every column at once: heap_getattr one by one walks the tuple again */
	if (oldtup)
	{
		begin_json(oldjson_p);
		oldvals = palloc(sizeof(Datum) * desc->natts);
		oldnulls = palloc(sizeof(bool) * desc->natts);
		heap_deform_tuple(oldtup, desc, oldvals, oldnulls);
	}
	if (newtup)
	{
		begin_json(newjson_p);
		newvals = palloc(sizeof(Datum) * desc->natts);
		newnulls = palloc(sizeof(bool) * desc->natts);
		heap_deform_tuple(newtup, desc, newvals, newnulls);
	}
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		bool		oldnull = oldtup ? oldnulls[i] : true;
		bool		newnull = newtup ? newnulls[i] : true;
		Datum		oldval = oldtup ? oldvals[i] : (Datum) 0;
		Datum		newval = newtup ? newvals[i] : (Datum) 0;
		const char *name = NameStr(att->attname);

		if (att->attisdropped)
			continue;

		/* on UPDATE, only the columns whose value changed */
		if (oldtup && newtup)
		{
			if (oldnull == newnull &&
				(oldnull || datum_image_eq(oldval, newval, att->attbyval, att->attlen)))
				continue;
			changed = lappend(changed, pstrdup(name));
		}
		if (oldtup)
			append_json_field(oldjson_p, name, oldnull ? NULL : stored_value(t, i, oldval));
		if (newtup)
			append_json_field(newjson_p, name, newnull ? NULL : stored_value(t, i, newval));

		if (att->attnum == t->keyatt)
		{
			bool		isnull = newtup ? newnull : oldnull;

			if (!isnull)
				key = stored_value(t, i, newtup ? newval : oldval);
		}
	}

	/* the key of the row, even when an UPDATE left it unchanged */
	if (key == NULL && t->keyatt > 0)
	{
		int			k = t->keyatt - 1;

		if (!(newtup ? newnulls[k] : oldnulls[k]))
			key = stored_value(t, k, newtup ? newvals[k] : oldvals[k]);
	}

	*changed_p = changed;
	*key_p = key;
}

/* read_row() under the fixed output settings, set back however it ends. */
static void
read_row_fixed(AuditTable *t, TupleDesc desc, HeapTuple oldtup, HeapTuple newtup,
			   JsonbParseState **oldjson_p, JsonbParseState **newjson_p, List **changed_p, char **key_p)
{
	OutputSettings saved;
	bool		fixed = fix_output_settings(&saved);

	PG_TRY();
	{
		read_row(t, desc, oldtup, newtup, oldjson_p, newjson_p, changed_p, key_p);
	}
	PG_FINALLY();
	{
		if (fixed)
			restore_output_settings(&saved);
	}
	PG_END_TRY();
}

/* {"partition": name} or {"shard": name} for a row about a part of t. */
static Datum
part_details(AuditTable *t)
{
	JsonbParseState *state;

	if (t->partition == NULL && t->shard == NULL)
		return (Datum) 0;
	begin_json(&state);
	if (t->partition)
		append_json_field(&state, "partition", t->partition);
	else
		append_json_field(&state, "shard", t->shard);
	return finish_json(&state);
}

/*
 * SQL: privacy.audit_trigger(), AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW
 * and AFTER TRUNCATE FOR EACH STATEMENT on an audited table.
 */
PG_FUNCTION_INFO_V1(crm_audit_trigger);
Datum
crm_audit_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	AuditTable *t;
	HeapTuple	oldtup = NULL;
	HeapTuple	newtup = NULL;
	JsonbParseState *oldjson = NULL;
	JsonbParseState *newjson = NULL;
	List	   *changed = NIL;
	char	   *key = NULL;
	const char *op;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function privacy.audit_trigger must be fired as an AFTER trigger")));

	t = audit_table(td->tg_relation);
	if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
	{
		/* a partition's or shard's TRUNCATE is a change of its table, naming it */
		insert_audit_row(t->name, "TRUNCATE", NULL, NIL, (Datum) 0, true,
						 part_details(t), t->partition == NULL && t->shard == NULL);
		return PointerGetDatum(NULL);
	}
	if (!TRIGGER_FIRED_FOR_ROW(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function privacy.audit_trigger must be fired for each row")));

	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
	{
		op = "INSERT";
		newtup = td->tg_trigtuple;
	}
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		op = "UPDATE";
		oldtup = td->tg_trigtuple;
		newtup = td->tg_newtuple;
	}
	else
	{
		op = "DELETE";
		oldtup = td->tg_trigtuple;
	}

	read_row_fixed(t, RelationGetDescr(td->tg_relation), oldtup, newtup,
				   &oldjson, &newjson, &changed, &key);

	insert_audit_row(t->name, op, key, changed,
					 oldtup ? finish_json(&oldjson) : (Datum) 0, oldtup == NULL,
					 newtup ? finish_json(&newjson) : (Datum) 0, newtup == NULL);
	return PointerGetDatum(NULL);
}

/*
 * SQL: privacy.audit_action(subject regclass, key text, action text,
 * details jsonb): record a privacy action (opt_out, request_change,
 * erase_subject...) about a subject in privacy.audit_log.  The key is stored
 * as the change audit stores it (a pseudonym when its column is not public).
 * EXECUTE is revoked from PUBLIC: only the extension's definer functions call it.
 */
PG_FUNCTION_INFO_V1(crm_audit_action);
Datum
crm_audit_action(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *key = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *action = text_to_cstring(PG_GETARG_TEXT_PP(2));
	Relation	rel = try_relation_open(relid, AccessShareLock);
	AuditTable *t;
	CrmTableLabel tl;
	char	   *stored = key;

	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (!crm_get_table_label(relid, &tl))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("table %s is not labelled as a subject or related table",
						RelationGetRelationName(rel))));
	t = audit_table(rel);

	if (t->keyatt > 0 && t->hide[t->keyatt - 1])
		stored = crm_pseudonym_cstring(key, strlen(key), "audit");
	insert_audit_row(t->name, action, stored, NIL,
					 (Datum) 0, true,
					 PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3), PG_ARGISNULL(3));
	relation_close(rel, AccessShareLock);
	PG_RETURN_VOID();
}

/* SQL: privacy.append_only(), BEFORE UPDATE, DELETE or TRUNCATE on a log table. */
PG_FUNCTION_INFO_V1(crm_append_only);
Datum
crm_append_only(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function privacy.append_only must be fired as a trigger")));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("%s is append-only", RelationGetRelationName(td->tg_relation)),
			 errdetail("Rows of the crm_privacy logs can be added, never changed or removed."),
			 errhint("privacy.seal_audit() and privacy.verify_audit() prove that they were not.")));
	return PointerGetDatum(NULL);	/* keep compiler quiet */
}

/* Is funcoid the extension's privacy.audit_trigger()? */
bool
crm_is_audit_function(Oid funcoid)
{
	return crm_is_extension_member(ProcedureRelationId, funcoid) &&
		strcmp(get_func_name(funcoid), "audit_trigger") == 0;
}

/*
 * Is name the audit trigger base (CRM_AUDIT_TRIGGER or
 * CRM_AUDIT_TRUNCATE_TRIGGER), or Citus's copy of it on a shard, which
 * Citus names with the shard's number (crm_privacy_audit_102008)?  The
 * number goes to *shardid (0 for base itself).  Only a superuser (or
 * privacy.enable_audit(), or Citus copying it) can give an audit trigger a
 * name, and nobody can rename one (src/ddl.c): so the trigger, not the name
 * of the table it is on, which its owner may change, says which
 * distributed table a shard belongs to.
 */
static bool
audit_trigger_named(const char *name, const char *base, int64 *shardid)
{
	size_t		len = strlen(base);
	char	   *end;

	*shardid = 0;
	if (strcmp(name, base) == 0)
		return true;
	if (strncmp(name, base, len) != 0 || name[len] != '_' || name[len + 1] < '1' || name[len + 1] > '9')
		return false;
	for (const char *p = name + len + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	errno = 0;
	*shardid = strtoi64(name + len + 1, &end, 10);
	return errno == 0 && *end == '\0' && *shardid > 0;
}

/*
 * Look up relid's trigger named base (or a shard's copy of it, above).  It is
 * the audit trigger only if it is exactly what privacy.enable_audit() makes (or PostgreSQL's clone of it on
 * a partition, or a partition's TRUNCATE trigger): privacy.audit_trigger(),
 * AFTER, FOR EACH ROW on INSERT OR UPDATE OR DELETE (CRM_AUDIT_TRIGGER) or FOR
 * EACH STATEMENT on TRUNCATE (CRM_AUDIT_TRUNCATE_TRIGGER), no WHEN clause, no
 * column list, no arguments, not a constraint trigger.  A table owner may give
 * its own triggers these names, and a superuser may have made a look-alike:
 * those are not the audit trigger.  Returns the audit trigger's OID, or
 * InvalidOid; *exists says whether any trigger of that name exists, *enabled
 * is its tgenabled.
 */
static Oid
audit_trigger_lookup(Oid relid, const char *base, bool *exists, char *enabled, int64 *shardid)
{
	int16		expected = strcmp(base, CRM_AUDIT_TRUNCATE_TRIGGER) == 0 ?
		TRIGGER_TYPE_TRUNCATE :
		(TRIGGER_TYPE_ROW | TRIGGER_TYPE_INSERT | TRIGGER_TYPE_UPDATE | TRIGGER_TYPE_DELETE);
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			result = InvalidOid;

	*exists = false;
	*enabled = TRIGGER_DISABLED;
	*shardid = 0;
	if (!OidIsValid(relid))
		return InvalidOid;
	rel = table_open(TriggerRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_trigger_tgrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, TriggerRelidNameIndexId, true, NULL, 1, &key);
	while (!OidIsValid(result) && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_trigger trig = (Form_pg_trigger) GETSTRUCT(tup);
		int64		id;

		if (!audit_trigger_named(NameStr(trig->tgname), base, &id))
			continue;
		*exists = true;
		*enabled = trig->tgenabled;
		if (crm_is_audit_function(trig->tgfoid) && trig->tgtype == expected &&
			trig->tgattr.dim1 == 0 && trig->tgnargs == 0 &&
			!OidIsValid(trig->tgconstraint) &&
			heap_attisnull(tup, Anum_pg_trigger_tgqual, RelationGetDescr(rel)))
		{
			result = trig->oid;
			*shardid = id;
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/* The audit trigger base of relid (see above), or InvalidOid. */
static Oid
audit_trigger_oid(Oid relid, const char *base)
{
	bool		exists;
	char		enabled;
	int64		shardid;

	return audit_trigger_lookup(relid, base, &exists, &enabled, &shardid);
}

/*
 * When relid carries a Citus shard's copy of the audit trigger: the shard's
 * number, else 0.
 */
int64
crm_audit_shard_id(Oid relid)
{
	bool		exists;
	char		enabled;
	int64		shardid;

	if (!OidIsValid(audit_trigger_lookup(relid, CRM_AUDIT_TRIGGER, &exists, &enabled, &shardid)))
		return 0;
	return shardid;
}

/* Is the trigger of relid named name one of the audit triggers? */
bool
crm_is_audit_trigger(Oid relid, const char *name)
{
	static const char *const bases[] = {CRM_AUDIT_TRIGGER, CRM_AUDIT_TRUNCATE_TRIGGER};

	for (int i = 0; i < (int) lengthof(bases); i++)
	{
		int64		id;
		int64		shardid;
		bool		exists;
		char		enabled;

		if (!audit_trigger_named(name, bases[i], &id))
			continue;
		/* (the audit trigger, and the one named name) */
		if (OidIsValid(audit_trigger_lookup(relid, bases[i], &exists, &enabled, &shardid)) &&
			shardid == id)
			return true;
	}
	return false;
}

/*
 * SQL: privacy.audit_trigger_state(tbl regclass, name text): 'absent', when
 * tbl has no trigger of that name; 'look-alike', when it has one that is not
 * the audit trigger; else when the audit trigger fires: 'always' (as
 * privacy.enable_audit() makes it), 'origin', 'replica' or 'disabled'.
 */
PG_FUNCTION_INFO_V1(crm_audit_trigger_state);
Datum
crm_audit_trigger_state(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	bool		exists = false;
	char		enabled = TRIGGER_DISABLED;
	Oid			trigoid = InvalidOid;
	int64		shardid;
	const char *state;

	if (strcmp(name, CRM_AUDIT_TRIGGER) != 0 && strcmp(name, CRM_AUDIT_TRUNCATE_TRIGGER) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not the name of a crm_privacy audit trigger", name),
				 errhint("The audit triggers are named %s and %s.",
						 CRM_AUDIT_TRIGGER, CRM_AUDIT_TRUNCATE_TRIGGER)));
	if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		trigoid = audit_trigger_lookup(relid, name, &exists, &enabled, &shardid);
	if (!exists)
		state = "absent";
	else if (!OidIsValid(trigoid))
		state = "look-alike";
	else if (enabled == TRIGGER_FIRES_ALWAYS)
		state = "always";
	else if (enabled == TRIGGER_FIRES_ON_ORIGIN)
		state = "origin";
	else if (enabled == TRIGGER_FIRES_ON_REPLICA)
		state = "replica";
	else
		state = "disabled";
	PG_RETURN_TEXT_P(cstring_to_text(state));
}

/* Does relid carry the audit trigger of privacy.enable_audit() (or its clone)? */
bool
crm_is_audited(Oid relid)
{
	return OidIsValid(relid) && OidIsValid(audit_trigger_oid(relid, CRM_AUDIT_TRIGGER));
}

/*
 * The number of rows of relid, and of its partitions, counted as the
 * extension's owner (no row-level security policy of the table's owner
 * hides any) under SECURITY_RESTRICTED_OPERATION.
 */
static int64
audit_count_rows(Oid relid)
{
	CrmOwnerContext ctx;
	Oid			userid;
	int			sec_context;
	char	   *sql = psprintf("SELECT pg_catalog.count(*) FROM %s", qualified_name(relid));
	bool		isnull;
	int64		n;
	char		relkind = get_rel_relkind(relid);
	int			rc;

	/* a table's rows only: nothing of its owner's (a view's query) runs */
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		return -1;

	crm_become_owner(&ctx, true);
	GetUserIdAndSecContext(&userid, &sec_context);
	SetUserIdAndSecContext(userid, sec_context | SECURITY_RESTRICTED_OPERATION);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute(sql, true, 0);	/* (a row limit makes Citus return none) */
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not count the rows of %s: %s, %d rows", sql, SPI_result_code_string(rc), (int) SPI_processed);
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	SetUserIdAndSecContext(userid, sec_context);
	crm_end_owner(&ctx);
	return n;
}

/*
 * Record a privacy action on a whole audited table (DDL that rewrites or
 * removes its values): table_name its root; in new_values the partition when
 * relid is one, the column when not NULL, and the number of rows the command
 * touches.  Called by the event triggers (ddl.c) before the command runs, in
 * its transaction.
 */
void
crm_audit_table_action(Oid relid, const char *op, const char *column)
{
	int64		rows;
	Relation	rel;
	AuditTable *t;
	JsonbParseState *state;

	/*
	 * A Citus table's rows are in its shards, where each node records the
	 * command with the rows of each shard (Citus answers the count with no
	 * row while it runs the command)
	 */
	if (crm_citus_table(relid) && crm_citus_worker())
		return;					/* a worker's copy of the table: no rows, the coordinator's record */
	rows = crm_citus_table(relid) ? -2 : audit_count_rows(relid);
	rel = relation_open(relid, AccessShareLock);
	t = audit_table(rel);

	begin_json(&state);
	if (t->partition)
		append_json_field(&state, "partition", t->partition);
	if (column)
		append_json_field(&state, "column", column);
	if (rows >= 0)
		append_json_number(&state, "rows", rows);
	else
		append_json_field(&state, "rows", NULL);	/* not a table, or distributed */
	if (rows == -2)
		append_json_field(&state, "rows_recorded_by", "the nodes of its shards");
	if (t->shard)
		append_json_field(&state, "shard", t->shard);
	insert_audit_row(t->name, op, NULL, NIL, (Datum) 0, true, finish_json(&state), false);
	relation_close(rel, AccessShareLock);
}

/*
 * Before TRUNCATE of relid: when it is a Citus shard of an audited table,
 * record it (Citus gives shards copies of row triggers only, no TRUNCATE
 * trigger): a TRUNCATE of the distributed table is recorded by the
 * coordinator's trigger and by each shard's node, and a shard truncated on
 * its node by itself is recorded there.
 */
void
crm_audit_shard_truncate(Oid relid)
{
	Relation	rel;
	AuditTable *t;

	if (crm_audit_shard_id(relid) == 0)
		return;
	rel = relation_open(relid, AccessShareLock);
	t = audit_table(rel);
	insert_audit_row(t->name, "TRUNCATE", NULL, NIL, (Datum) 0, true, part_details(t), false);
	relation_close(rel, AccessShareLock);
}

/*
 * Before ALTER TABLE parentid ATTACH PARTITION partid, parentid audited:
 * record the rows the new partition brings, if any, as a privacy action on
 * the root naming the partition.
 */
void
crm_audit_attach_partition(Oid parentid, Oid partid)
{
	int64		rows = audit_count_rows(partid);
	Relation	rel;
	AuditTable *t;
	JsonbParseState *state;

	if (rows == 0)
		return;
	rel = relation_open(parentid, AccessShareLock);
	t = audit_table(rel);
	begin_json(&state);
	append_json_field(&state, "partition", qualified_name(partid));
	if (rows >= 0)
		append_json_number(&state, "rows", rows);
	else
		append_json_field(&state, "rows", NULL);	/* not a table */
	insert_audit_row(t->name, "ATTACH PARTITION", NULL, NIL, (Datum) 0, true, finish_json(&state), false);
	relation_close(rel, AccessShareLock);
}

/*
 * SQL: privacy.record_audit_change(tbl regclass, enabled bool): record that
 * privacy.enable_audit() started (or privacy.disable_audit() stopped) the
 * audit of tbl, as a privacy action naming it (its root, and the partition
 * when it is one).  EXECUTE is revoked from PUBLIC: only those two call it.
 */
PG_FUNCTION_INFO_V1(crm_record_audit_change);
Datum
crm_record_audit_change(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	bool		enabled = PG_GETARG_BOOL(1);
	Relation	rel = try_relation_open(relid, AccessShareLock);
	AuditTable *t;

	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (rel->rd_rel->relkind != RELKIND_RELATION &&
		rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", RelationGetRelationName(rel))));
	t = audit_table(rel);
	insert_audit_row(t->name, enabled ? "ENABLE AUDIT" : "DISABLE AUDIT", NULL, NIL,
					 (Datum) 0, true, part_details(t), t->partition == NULL && t->shard == NULL);
	relation_close(rel, AccessShareLock);
	PG_RETURN_VOID();
}

/*
 * Give every partition under an audited partitioned table (relid: the
 * table, one of its partitions, or any table, which is then left alone) its
 * own TRUNCATE trigger: PostgreSQL clones row triggers to partitions, not
 * statement triggers, and a partition can be truncated by itself.  Runs as
 * the extension's owner, without event triggers.
 */
void
crm_audit_cover_partitions(Oid relid)
{
	Oid			rootid = relid;
	Oid			funcoid;
	CrmOwnerContext ctx;
	ListCell   *lc;

	if (get_rel_relkind(relid) == '\0')
		return;
	if (get_rel_relispartition(relid))
		rootid = llast_oid(get_partition_ancestors(relid));
	if (get_rel_relkind(rootid) != RELKIND_PARTITIONED_TABLE ||
		!OidIsValid(audit_trigger_oid(rootid, CRM_AUDIT_TRUNCATE_TRIGGER)))
		return;
	funcoid = LookupFuncName(list_make2(makeString(CRM_SCHEMA), makeString("audit_trigger")),
							 0, NULL, false);
	crm_become_owner(&ctx, true);
	foreach(lc, find_all_inheritors(rootid, AccessShareLock, NULL))
	{
		Oid			part = lfirst_oid(lc);
		CreateTrigStmt *stmt;

		if (part == rootid || OidIsValid(audit_trigger_oid(part, CRM_AUDIT_TRUNCATE_TRIGGER)))
			continue;
		if (OidIsValid(get_trigger_oid(part, CRM_AUDIT_TRUNCATE_TRIGGER, true)))
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("partition \"%s\" of the audited table \"%s\" has a trigger named %s that is not the crm_privacy audit trigger",
							get_rel_name(part), get_rel_name(rootid), CRM_AUDIT_TRUNCATE_TRIGGER),
					 errhint("Drop or rename that trigger first.")));
		stmt = makeNode(CreateTrigStmt);
		stmt->trigname = CRM_AUDIT_TRUNCATE_TRIGGER;
		stmt->relation = makeRangeVar(get_namespace_name(get_rel_namespace(part)),
									  get_rel_name(part), -1);
		stmt->funcname = list_make2(makeString(CRM_SCHEMA), makeString("audit_trigger"));
		stmt->row = false;
		stmt->timing = TRIGGER_TYPE_AFTER;
		stmt->events = TRIGGER_TYPE_TRUNCATE;
		/* fires also with session_replication_role = replica */
		CreateTriggerFiringOn(stmt, NULL, part, InvalidOid, InvalidOid, InvalidOid, funcoid,
							  InvalidOid, NULL, false, false, TRIGGER_FIRES_ALWAYS);
		CommandCounterIncrement();
	}
	crm_end_owner(&ctx);
}

/*
 * Before DETACH PARTITION: drop the TRUNCATE triggers that
 * crm_audit_cover_partitions gave the partition and its own partitions (the
 * row triggers, clones of the root's, go with the detach).
 */
void
crm_audit_uncover_partition(Oid partid)
{
	ListCell   *lc;

	foreach(lc, find_all_inheritors(partid, AccessExclusiveLock, NULL))
	{
		ObjectAddress addr;

		addr.classId = TriggerRelationId;
		addr.objectId = audit_trigger_oid(lfirst_oid(lc), CRM_AUDIT_TRUNCATE_TRIGGER);
		addr.objectSubId = 0;
		if (OidIsValid(addr.objectId))
		{
			performDeletion(&addr, DROP_RESTRICT, PERFORM_DELETION_INTERNAL);
			CommandCounterIncrement();
		}
	}
}
