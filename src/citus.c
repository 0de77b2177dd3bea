/*-------------------------------------------------------------------------
 *
 * citus.c
 *	  crm_privacy on a Citus cluster (doc/scale.md).
 *
 * Citus keeps a distributed table's rows in shards on worker nodes and sends
 * each query's scans there, over connections it opens as the current user.
 * A privacy view's tables are read with the rights of the views' owner
 * (crm_privacy_views), but Citus checks the shards' privileges on the
 * workers as the reader, who may read none: so a query of privacy views on
 * distributed tables runs, on every node, as crm_privacy_views.  That role
 * then runs everything the query computes, on the coordinator and in the
 * shard queries, so this is done only for a query vetted when it is
 * planned (vet_reader_query):
 *
 *	- a SELECT that reads every table through a privacy view (no table of
 *	  its own, nothing read directly: crm_privacy_views may read every
 *	  labelled table), with the reader's permissions checked as the executor
 *	  would check them;
 *	- whose functions and operators are built in (not volatile, not among
 *	  those that run SQL they are given) or crm_privacy's pure ones, never
 *	  Citus's (vet_function), and which the reader may execute;
 *	- whose values are of built-in types or enums, or rows and domains that
 *	  run no user's code (vet_type), and whose polymorphic functions get only
 *	  plain values (plain_call: to_json looks up a user's casts).
 *
 * Three red-team rounds shaped these rules (citus1: Citus's functions;
 * citus2: input functions of rows and arrays reached from a constant;
 * citus3: casts looked up at run time, domain checks run where the
 * coordinator reads the workers' rows back).
 *
 * A vetted plan carries a mark (a PlanInvalItem on the privacy schema, which
 * PostgreSQL never makes itself); its executor runs as crm_privacy_views
 * under SECURITY_RESTRICTED_OPERATION, inside the read audit (which records
 * the reader).  A query that reads privacy views over distributed tables and
 * cannot be vetted is refused with the reason.
 *
 * On every node a session logged in as crm_privacy_views (Citus's
 * connections) may run only such vetted code, and no utility command but
 * transaction control and settings: defence in depth should its login leak.
 *
 * Citus's shards are its own business: crm_privacy's DDL triggers leave them
 * alone (crm_citus_shard).
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/citus.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "utils/inval.h"
#include "utils/array.h"
#include "executor/spi.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/planner.h"
#include "parser/parse_relation.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

#include "crm_privacy.h"

static planner_hook_type prev_planner = NULL;
static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/* Planner calls in progress: above 0, Citus plans parts of a query. */
static int	planner_depth = 0;

/* A Citus catalog table of pg_catalog, or InvalidOid without Citus. */
static Oid
citus_catalog(const char *name)
{
	return get_relname_relid(name, PG_CATALOG_NAMESPACE);
}

/* Is Citus installed in this database? */
bool
crm_citus_present(void)
{
	return OidIsValid(citus_catalog("pg_dist_partition"));
}

/*
 * Is there a row in Citus catalog table `table` whose int8 or oid column
 * `attnum` (with index `index` on it) equals value?  The row's columns
 * cols[0..ncols-1] (by-value types only) go to values/nulls when found, and
 * NULL where the catalog has fewer columns.
 */
static bool
citus_catalog_row(const char *table, const char *index, AttrNumber attnum, Oid eqproc,
				  Datum value, int ncols, const AttrNumber *cols, Datum *values, bool *nulls)
{
	Oid			relid = citus_catalog(table);
	Oid			indexid = citus_catalog(index);
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	if (!OidIsValid(relid))
		return false;
	rel = table_open(relid, AccessShareLock);
	ScanKeyInit(&key, attnum, BTEqualStrategyNumber, eqproc, value);
	scan = systable_beginscan(rel, indexid, OidIsValid(indexid), NULL, 1, &key);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		found = true;
		for (int i = 0; i < ncols; i++)
		{
			nulls[i] = true;
			values[i] = (Datum) 0;
			if (cols[i] <= RelationGetDescr(rel)->natts)
				values[i] = heap_getattr(tup, cols[i], RelationGetDescr(rel), &nulls[i]);
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/* Is relid a distributed, reference or Citus-managed local table? */
bool
crm_citus_table(Oid relid)
{
	return citus_catalog_row("pg_dist_partition", "pg_dist_partition_logical_relid_index",
							 1, F_OIDEQ, ObjectIdGetDatum(relid), 0, NULL, NULL, NULL);
}

/* Is this node a Citus worker (its group, pg_dist_local_group, is not the coordinator's 0)? */
bool
crm_citus_worker(void)
{
	Oid			relid = citus_catalog("pg_dist_local_group");
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		worker = false;

	if (!OidIsValid(relid))
		return false;
	rel = table_open(relid, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, 1, RelationGetDescr(rel), &isnull);

		worker = !isnull && DatumGetInt32(d) != 0;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return worker;
}

/* The table shard shardid is a shard of, from Citus's catalog; or InvalidOid. */
Oid
crm_citus_shard_table(int64 shardid)
{
	static const AttrNumber cols[1] = {1};	/* logicalrelid */
	Datum		logical;
	bool		isnull;

	if (!citus_catalog_row("pg_dist_shard", "pg_dist_shard_shardid_index", 2, F_INT8EQ,
						   Int64GetDatum(shardid), 1, cols, &logical, &isnull) || isnull)
		return InvalidOid;
	return DatumGetObjectId(logical);
}

/*
 * Is relid a Citus reference table (replicated to every node, and
 * co-located with every other reference table, crm_privacy's opt-outs,
 * key and labels among them)?
 */
bool
crm_citus_reference_table(Oid relid)
{
	static const AttrNumber cols[2] = {2, 5};	/* partmethod, repmodel */
	Datum		values[2];
	bool		nulls[2];

	/* no distribution column, replicated by two-phase commit */
	return citus_catalog_row("pg_dist_partition", "pg_dist_partition_logical_relid_index",
							 1, F_OIDEQ, ObjectIdGetDatum(relid), 2, cols, values, nulls) &&
		!nulls[0] && !nulls[1] && DatumGetChar(values[0]) == 'n' && DatumGetChar(values[1]) == 't';
}

/*
 * If relid is one of Citus's shards (a placement of a distributed or
 * reference table, named after it with the shard's number: customer_102008),
 * the table it is a shard of, and the shard's number in *shardid; else
 * InvalidOid.  Only nodes that have Citus's metadata know (Citus syncs it to
 * every node by default).
 */
Oid
crm_citus_shard(Oid relid, int64 *shardid)
{
	char	   *name;
	char	   *us;
	char	   *end;
	int64		id;
	Oid			logical = InvalidOid;
	char	   *logical_name;

	if (!crm_citus_present())
		return InvalidOid;
	name = get_rel_name(relid);
	if (name == NULL || (us = strrchr(name, '_')) == NULL || us[1] < '0' || us[1] > '9')
		return InvalidOid;
	errno = 0;
	id = strtoi64(us + 1, &end, 10);
	if (*end != '\0' || errno != 0)
		return InvalidOid;
	logical = crm_citus_shard_table(id);
	if (!OidIsValid(logical))
		return InvalidOid;
	logical_name = get_rel_name(logical);
	if (logical_name == NULL || get_rel_namespace(logical) != get_rel_namespace(relid) ||
		strlen(logical_name) != (size_t) (us - name) ||
		strncmp(logical_name, name, us - name) != 0)
		return InvalidOid;
	if (shardid)
		*shardid = id;
	return logical;
}

/*
 * This node's copy of the reference table relid (its one shard, e.g.
 * privacy.pseudonym_key_102100), or InvalidOid when it has none.  Read
 * directly, not through Citus: code that runs in a shard's query on a worker
 * (the change audit's trigger, a TRUNCATE of a shard) may not start a
 * distributed query.
 */
Oid
crm_citus_local_copy(Oid relid)
{
	static const AttrNumber cols[1] = {2};	/* shardid */
	Datum		shardid;
	bool		isnull;
	char	   *name;

	if (!citus_catalog_row("pg_dist_shard", "pg_dist_shard_logical_relid_index", 1, F_OIDEQ,
						   ObjectIdGetDatum(relid), 1, cols, &shardid, &isnull) || isnull)
		return InvalidOid;
	name = psprintf("%s_" INT64_FORMAT, get_rel_name(relid), DatumGetInt64(shardid));
	return strlen(name) < NAMEDATALEN ? get_relname_relid(name, get_rel_namespace(relid)) : InvalidOid;
}

/* The elements of a text[] datum, as C strings in the current memory context. */
static List *
text_array_list(Datum d)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *result = NIL;

	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
		result = lappend(result, nulls[i] ? NULL : TextDatumGetCString(elems[i]));
	return result;
}

/*
 * The labels of the Citus table that has shard shardid, and its name on the
 * coordinator, as privacy.citus_labels, a reference table, copies them to
 * every node (this node's copy, read directly); false when it has none.
 * Found by the shard's number, not by a name: a table's owner may rename
 * the table or its shards on a worker, not Citus's numbers.
 */
bool
crm_citus_labels(int64 shardid, CrmCitusLabels *out)
{
	Oid			labels = get_relname_relid("citus_labels", get_namespace_oid(CRM_SCHEMA, false));
	Oid			copy = OidIsValid(labels) ? crm_citus_local_copy(labels) : InvalidOid;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	if (!OidIsValid(copy))
		return false;
	rel = table_open(copy, AccessShareLock);
	if (RelationGetDescr(rel)->natts != 6 ||
		TupleDescAttr(RelationGetDescr(rel), 4)->atttypid != INT8ARRAYOID ||
		TupleDescAttr(RelationGetDescr(rel), 5)->atttypid != TEXTARRAYOID)
		elog(ERROR, "privacy.citus_labels has an unexpected shape");
	scan = table_beginscan(rel, ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot(),
						   0, NULL);
	while (!found && (tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Datum		values[6];
		bool		nulls[6];
		Datum	   *shards;
		bool	   *shardnulls;
		int			nshards;

		CHECK_FOR_INTERRUPTS();
		heap_deform_tuple(tup, RelationGetDescr(rel), values, nulls);
		if (nulls[0] || nulls[1] || nulls[2] || nulls[3] || nulls[4] || nulls[5])
			continue;
		deconstruct_array(DatumGetArrayTypeP(values[4]), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
						  &shards, &shardnulls, &nshards);
		for (int i = 0; i < nshards && !found; i++)
			found = !shardnulls[i] && DatumGetInt64(shards[i]) == shardid;
		if (!found)
			continue;
		out->table_name = TextDatumGetCString(values[0]);
		out->table_label = TextDatumGetCString(values[1]);
		out->columns = text_array_list(values[2]);
		out->labels = text_array_list(values[3]);
		out->table_columns = text_array_list(values[5]);
		found = list_length(out->columns) == list_length(out->labels);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * Is a row of privacy.citus_labels about the table of shard shardid being
 * changed by a transaction in progress (this node's copy, read with a dirty
 * snapshot)?  A label tightened in the coordinator's transaction reaches
 * this node's copy in that same distributed transaction, but through
 * another connection: until it commits, the audit here must not trust the
 * labels it has (src/audit.c hides every value meanwhile).
 */
bool
crm_citus_labels_changing(int64 shardid)
{
	Oid			labels = get_relname_relid("citus_labels", get_namespace_oid(CRM_SCHEMA, false));
	Oid			copy = OidIsValid(labels) ? crm_citus_local_copy(labels) : InvalidOid;
	SnapshotData dirty;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	bool		changing = false;

	if (!OidIsValid(copy))
		return false;
	InitDirtySnapshot(dirty);
	rel = table_open(copy, AccessShareLock);
	scan = table_beginscan(rel, &dirty, 0, NULL);
	while (!changing && (tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		in_progress = TransactionIdIsValid(dirty.xmin) || TransactionIdIsValid(dirty.xmax);
		bool		isnull;
		Datum		d;
		Datum	   *shards;
		bool	   *shardnulls;
		int			nshards;

		CHECK_FOR_INTERRUPTS();
		if (!in_progress || RelationGetDescr(rel)->natts < 5)
			continue;
		d = heap_getattr(tup, 5, RelationGetDescr(rel), &isnull);
		if (isnull)
			continue;
		deconstruct_array(DatumGetArrayTypeP(d), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
						  &shards, &shardnulls, &nshards);
		for (int i = 0; i < nshards && !changing; i++)
			changing = !shardnulls[i] && DatumGetInt64(shards[i]) == shardid;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return changing;
}

/*
 * relid's columns in order, as privacy.citus_columns() lists them: each
 * column's quoted name and its type's quoted, schema-qualified name.
 */
List *
crm_citus_columns(Oid relid)
{
	List	   *result = NIL;
	Relation	rel = relation_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		HeapTuple	typ;
		Form_pg_type t;

		if (att->attisdropped)
			continue;
		typ = SearchSysCache1(TYPEOID, ObjectIdGetDatum(att->atttypid));
		if (!HeapTupleIsValid(typ))
			elog(ERROR, "cache lookup failed for type %u", att->atttypid);
		t = (Form_pg_type) GETSTRUCT(typ);
		result = lappend(result, psprintf("%s %s.%s", quote_identifier(NameStr(att->attname)),
										  quote_identifier(get_namespace_name(t->typnamespace)),
										  quote_identifier(NameStr(t->typname))));
		ReleaseSysCache(typ);
	}
	relation_close(rel, AccessShareLock);
	return result;
}

/*
 * SQL: trigger privacy.citus_labels_changed, after each statement that
 * changes privacy.citus_labels (and Citus's copy of it on every node): the
 * change audit of every session of the node reads the labels again.
 */
PG_FUNCTION_INFO_V1(crm_citus_labels_changed);
Datum
crm_citus_labels_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function privacy.citus_labels_changed must be fired as a trigger")));
	CacheInvalidateRelcacheAll();
	return PointerGetDatum(NULL);
}

/*
 * The objects crm_privacy makes (views, their grants and comments,
 * snapshots) are the coordinator's own: Citus is told not to copy them to
 * the other nodes, where they would read the empty shell tables of the
 * distributed tables, and stay behind as stale records when the views are
 * made again.  Called where a GUC nest level is open.
 */
void
crm_citus_local_ddl(void)
{
	if (GetConfigOption("citus.enable_ddl_propagation", true, false) != NULL)
		(void) set_config_option("citus.enable_ddl_propagation", "off", PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
}

/*
 * The exception: a command that must reach every node (a GRANT on a
 * distributed table reaches its shards).  Returns the GUC nest level to end
 * with AtEOXact_GUC(true, level).
 */
int
crm_citus_propagate_begin(void)
{
	int			level = NewGUCNestLevel();

	if (GetConfigOption("citus.enable_ddl_propagation", true, false) != NULL)
		(void) set_config_option("citus.enable_ddl_propagation", "on", PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	return level;
}

/* The views' owner, or InvalidOid. */
static Oid
views_role(void)
{
	return get_role_oid(CRM_VIEW_ROLE, true);
}

/* What a vetting walk found. */
typedef struct Vet
{
	Oid			viewrole;
	Oid			reader;			/* InvalidOid: a worker's shard query */
	bool		nested;			/* planned by Citus while it plans a vetted query */
	char	   *culprit;		/* the first thing that may not run */
} Vet;

static bool vet_walker(Node *node, Vet *vet);

static void
refuse(Vet *vet, char *what)
{
	if (vet->culprit == NULL)
		vet->culprit = what;
}

/* The extension a function or type belongs to, or InvalidOid. */
static Oid
member_of(Oid classid, Oid objid)
{
	return getExtensionOfObject(classid, objid);
}

/* The name of the extension an object belongs to, or NULL. */
static char *
extension_of(Oid classid, Oid objid)
{
	Oid			ext = member_of(classid, objid);

	return OidIsValid(ext) ? get_extension_name(ext) : NULL;
}

/*
 * May a value of this type be computed as crm_privacy_views, here and in
 * the query text Citus sends to the workers (which parse its constants with
 * their types' input functions, before any check there)?
 *
 *	- a built-in base type, an enum (its input and output are built in), an
 *	  anonymous row (its fields are vetted where they are made), an untyped
 *	  literal;
 *	- a domain over such a type whose checks are trusted (trust.c): they run
 *	  where a value is cast into it, and also where the coordinator reads a
 *	  worker's rows back through the column types' input functions (red
 *	  team citus3 #5);
 *	- a row of a table or view and an array of a domain or of rows, only as a
 *	  stored value read (a column, a whole-row reference): their input
 *	  functions run the columns' or elements' input and checks, so a
 *	  constant of such a type would run a domain's checks on a worker while
 *	  it parses the query (red team citus2 #3, #7, #8);
 *	- an array of any of the others.
 */
static bool
vet_type_depth(Oid typid, bool stored, int depth)
{
	char		typtype;
	Oid			elem;

	if (depth > 4)
		return false;
	if (typid == RECORDOID || typid == UNKNOWNOID)
		return true;
	typtype = get_typtype(typid);
	if (typtype == TYPTYPE_DOMAIN)
		return crm_domain_trusted(typid) &&
			vet_type_depth(getBaseType(typid), stored, depth + 1);
	if (OidIsValid(elem = get_element_type(typid)))
	{
		char		elemtype = get_typtype(elem);

		if ((elemtype == TYPTYPE_DOMAIN || elemtype == TYPTYPE_COMPOSITE) && !stored)
			return false;
		return vet_type_depth(elem, stored, depth + 1);
	}
	if (typtype == TYPTYPE_ENUM)
		return true;
	if (typtype == TYPTYPE_COMPOSITE)
	{
		Relation	rel;
		bool		ok = stored;

		if (!ok)
			return false;
		rel = relation_open(get_typ_typrelid(typid), AccessShareLock);
		for (int i = 0; ok && i < RelationGetNumberOfAttributes(rel); i++)
		{
			Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), i);

			ok = att->attisdropped || vet_type_depth(att->atttypid, true, depth + 1);
		}
		relation_close(rel, AccessShareLock);
		return ok;
	}
	return typid < FirstNormalObjectId && typtype == TYPTYPE_BASE;
}

static bool
vet_type(Oid typid, bool stored)
{
	return vet_type_depth(typid, stored, 0);
}

/*
 * A type whose values no code of a user's reaches: a built-in base type or
 * an array of one, or a row of such columns.  A function with a polymorphic,
 * "any" or record parameter may look up, for its actual argument, a cast a
 * user created from an enum or a domain of theirs (to_json, json_build_object
 * and json_agg look for casts to json: red team citus3 #2, #3): it gets only
 * such plain values.
 */
static bool
plain_type(Oid typid, int depth)
{
	Oid			elem;

	if (depth > 4)
		return false;
	if (typid == UNKNOWNOID)
		return true;
	if (OidIsValid(elem = get_element_type(typid)))
		return plain_type(elem, depth + 1);
	if (get_typtype(typid) == TYPTYPE_COMPOSITE)
	{
		Relation	rel = relation_open(get_typ_typrelid(typid), AccessShareLock);
		bool		ok = true;

		for (int i = 0; ok && i < RelationGetNumberOfAttributes(rel); i++)
		{
			Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), i);

			ok = att->attisdropped || plain_type(att->atttypid, depth + 1);
		}
		relation_close(rel, AccessShareLock);
		return ok;
	}
	return typid < FirstNormalObjectId && get_typtype(typid) == TYPTYPE_BASE && typid != RECORDOID;
}

/* An argument of a polymorphic parameter: plain, or a row made of plain values. */
static bool
plain_argument(Node *arg)
{
	Oid			type = exprType(arg);

	if (IsA(arg, RowExpr))
	{
		ListCell   *lc;

		foreach(lc, ((RowExpr *) arg)->args)
		{
			if (!plain_argument(lfirst(lc)))
				return false;
		}
		return true;
	}
	return plain_type(type, 0);
}

/* Do the function's polymorphic, "any" or record parameters get plain values? */
static bool
plain_call(Oid funcid, List *args, Vet *vet)
{
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	Form_pg_proc proc;
	bool		pseudo = false;
	ListCell   *lc;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for function %u", funcid);
	proc = (Form_pg_proc) GETSTRUCT(tup);
	for (int i = 0; i < proc->pronargs && !pseudo; i++)
		pseudo = get_typtype(proc->proargtypes.values[i]) == TYPTYPE_PSEUDO;
	ReleaseSysCache(tup);
	if (!pseudo)
		return true;
	foreach(lc, args)
	{
		Node	   *arg = (Node *) lfirst(lc);

		if (IsA(arg, TargetEntry))
			arg = (Node *) ((TargetEntry *) arg)->expr;
		if (IsA(arg, NamedArgExpr))
			arg = (Node *) ((NamedArgExpr *) arg)->arg;
		/*
		 * (On a node, an anonymous row from a subquery of the shard query:
		 * the coordinator vetted what it holds when it planned the query.)
		 */
		if (!OidIsValid(vet->reader) && exprType(arg) == RECORDOID)
			continue;
		if (!plain_argument(arg))
		{
			refuse(vet, psprintf("function %s on a value of type %s", format_procedure(funcid),
								 format_type_be(exprType(arg))));
			return false;
		}
	}
	return true;
}

/*
 * May a function run as crm_privacy_views in the query being vetted?
 *
 *	- a built-in function that is not volatile (set_config, nextval, lo_*,
 *	  pg_read_file ... act beyond the query) and does not run SQL it is
 *	  given (query_to_xml ...);
 *	- a function of crm_privacy's that computes only from its arguments
 *	  (immutable: the masks, checks, generalize, keyed_pseudonym and
 *	  keyed_noise the views call), or one the views call for the read
 *	  audit; never one that reads tables or computes with the key (it would
 *	  do so as crm_privacy_views), nor clearance_level(), which would answer
 *	  for crm_privacy_views (the views' own calls were replaced by the
 *	  reader's clearance when planned: hooks.c);
 *	- of Citus's functions, in a reader's query none at all (several run SQL
 *	  they are given on any node: master_run_on_worker); in the queries Citus
 *	  makes while planning a vetted one (nested planning), only the two that
 *	  read back a subquery's rows it planned apart; in a session of
 *	  crm_privacy_views on a node (vet->reader invalid), what Citus sends
 *	  (taking part in the distributed transaction, passing results);
 *	- and, for a reader, one it may execute.
 */
static bool
vet_function(Oid funcid, void *context)
{
	Vet		   *vet = (Vet *) context;
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	Form_pg_proc proc;
	char	   *ext;
	bool		ok;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for function %u", funcid);
	proc = (Form_pg_proc) GETSTRUCT(tup);
	ext = funcid < FirstNormalObjectId ? NULL : extension_of(ProcedureRelationId, funcid);
	if (funcid < FirstNormalObjectId)
		ok = proc->provolatile != PROVOLATILE_VOLATILE &&
			!(proc->pronamespace == PG_CATALOG_NAMESPACE && crm_runs_sql(NameStr(proc->proname)));
	else if (ext && strcmp(ext, CRM_PROVIDER) == 0)
		ok = proc->provolatile == PROVOLATILE_IMMUTABLE ||
			strcmp(NameStr(proc->proname), "read_audit_ready") == 0 ||
			strcmp(NameStr(proc->proname), "view_rows") == 0;
	else if (ext && strcmp(ext, "citus") == 0)
		ok = !OidIsValid(vet->reader) ||
			(vet->nested && proc->pronamespace == PG_CATALOG_NAMESPACE &&
			 (strcmp(NameStr(proc->proname), "read_intermediate_result") == 0 ||
			  strcmp(NameStr(proc->proname), "read_intermediate_results") == 0));
	else
		ok = false;
	ReleaseSysCache(tup);
	if (ok && OidIsValid(vet->reader))
		ok = crm_proc_aclcheck(funcid, vet->reader, ACL_EXECUTE) == ACLCHECK_OK;
	if (!ok)
		refuse(vet, psprintf("function %s", format_procedure(funcid)));
	return !ok;
}

/* An operator (of a sort, a grouping, DISTINCT): its function. */
static bool
vet_operator(Oid opno, Vet *vet)
{
	if (!OidIsValid(opno))
		return false;
	return vet_function(get_opcode(opno), vet);
}

/*
 * The relation entries of one query level.  The reader's permissions are
 * checked here, as the executor would check them (views as the reader, the
 * tables under a view as the view's owner): the executor runs as
 * crm_privacy_views, which owns the privacy views.
 */
static bool
vet_range_table(Query *q, Vet *vet)
{
	ListCell   *lc;

	if (OidIsValid(vet->reader))
		crm_check_query_permissions(q);
	foreach(lc, q->rtable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);

		if (rte->rtekind != RTE_RELATION)
			continue;
		if (OidIsValid(vet->reader) && rte->relkind != RELKIND_VIEW)
		{
			/*
			 * Every table is read under a privacy view (the views' own
			 * subqueries, the key and the choices, are theirs too): the
			 * views' owner may read every labelled table.
			 */
			if (crm_rte_check_as_user(q, rte) != vet->viewrole)
			{
				refuse(vet, psprintf("table %s, read directly", crm_qualified_name(rte->relid)));
				return true;
			}
		}
		if (rte->tablesample && vet_function(rte->tablesample->tsmhandler, vet))
			return true;
	}
	return false;
}

static bool
vet_walker(Node *node, Vet *vet)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;
		ListCell   *lc;

		if (q->commandType != CMD_SELECT || q->hasModifyingCTE || q->rowMarks != NIL ||
			q->utilityStmt != NULL)
		{
			refuse(vet, pstrdup("a statement other than a plain SELECT"));
			return true;
		}
		if (vet_range_table(q, vet))
			return true;
		foreach(lc, list_concat_copy(q->sortClause, q->groupClause))
		{
			SortGroupClause *s = (SortGroupClause *) lfirst(lc);

			if (vet_operator(s->eqop, vet) || vet_operator(s->sortop, vet))
				return true;
		}
		foreach(lc, q->distinctClause)
		{
			SortGroupClause *s = (SortGroupClause *) lfirst(lc);

			if (vet_operator(s->eqop, vet) || vet_operator(s->sortop, vet))
				return true;
		}
		foreach(lc, q->windowClause)
		{
			if (vet_walker(lfirst(lc), vet))
				return true;
		}
		return query_tree_walker(q, vet_walker, vet, 0);
	}
	if (IsA(node, SetOperationStmt))
	{
		ListCell   *lc;

		foreach(lc, ((SetOperationStmt *) node)->groupClauses)
		{
			SortGroupClause *s = (SortGroupClause *) lfirst(lc);

			if (vet_operator(s->eqop, vet) || vet_operator(s->sortop, vet))
				return true;
		}
		return expression_tree_walker(node, vet_walker, vet);
	}
	if (IsA(node, SortGroupClause))
	{
		SortGroupClause *sg = (SortGroupClause *) node;

		/* (an aggregate's DISTINCT or ORDER BY) */
		return vet_operator(sg->eqop, vet) || vet_operator(sg->sortop, vet);
	}
	if (IsA(node, WindowClause))
	{
		WindowClause *wc = (WindowClause *) node;

		return vet_walker((Node *) wc->partitionClause, vet) ||
			vet_walker((Node *) wc->orderClause, vet) ||
			vet_walker(wc->startOffset, vet) || vet_walker(wc->endOffset, vet);
	}
	if (IsA(node, RangeTblFunction) || IsA(node, TargetEntry) || IsA(node, List) ||
		IsA(node, FromExpr) || IsA(node, JoinExpr) || IsA(node, RangeTblRef) ||
		IsA(node, NamedArgExpr) || IsA(node, CommonTableExpr))
		return expression_tree_walker(node, vet_walker, vet);
	/* a domain's checks run when a value is cast into it */
	if (IsA(node, CoerceToDomain) && !crm_domain_trusted(((CoerceToDomain *) node)->resulttype))
	{
		refuse(vet, psprintf("a cast into domain %s",
							 format_type_be(((CoerceToDomain *) node)->resulttype)));
		return true;
	}
	if (IsA(node, Const) || IsA(node, Param) || IsA(node, Var) || IsA(node, CaseTestExpr) ||
		IsA(node, SQLValueFunction) || IsA(node, RelabelType) || IsA(node, SubLink) ||
		IsA(node, Aggref) || IsA(node, FuncExpr) || IsA(node, OpExpr) ||
		IsA(node, BoolExpr) || IsA(node, CaseExpr) || IsA(node, CaseWhen) || IsA(node, NullTest) ||
		IsA(node, BooleanTest) || IsA(node, CoalesceExpr) || IsA(node, MinMaxExpr) ||
		IsA(node, ScalarArrayOpExpr) || IsA(node, DistinctExpr) || IsA(node, NullIfExpr) ||
		IsA(node, CoerceViaIO) || IsA(node, ArrayExpr) || IsA(node, WindowFunc) ||
		IsA(node, RowCompareExpr) || IsA(node, ArrayCoerceExpr) || IsA(node, CoerceToDomain) ||
		IsA(node, CoerceToDomainValue) || IsA(node, GroupingFunc) ||
		IsA(node, FieldSelect) || IsA(node, SubscriptingRef) || IsA(node, RowExpr) ||
		IsA(node, ConvertRowtypeExpr) || IsA(node, CollateExpr))
	{
		Oid			type = exprType(node);

		/*
		 * A sublink's rows are vetted as a query; its result is a plain
		 * value.  A row's columns are vetted one by one.
		 */
		if (!IsA(node, SubLink) && OidIsValid(type) && !vet_type(type, IsA(node, Var)) &&
			!(type == VOIDOID && !OidIsValid(vet->reader)))
		{
			refuse(vet, psprintf("a value of type %s", format_type_be(type)));
			return true;
		}
		/* subscripting runs its container type's handler */
		if (IsA(node, SubscriptingRef) &&
			!vet_type(((SubscriptingRef *) node)->refcontainertype, false))
		{
			refuse(vet, psprintf("a subscript of type %s",
								 format_type_be(((SubscriptingRef *) node)->refcontainertype)));
			return true;
		}
		if (check_functions_in_node(node, vet_function, vet))
			return true;
		if ((IsA(node, FuncExpr) && !plain_call(((FuncExpr *) node)->funcid, ((FuncExpr *) node)->args, vet)) ||
			(IsA(node, Aggref) && !plain_call(((Aggref *) node)->aggfnoid, ((Aggref *) node)->args, vet)) ||
			(IsA(node, WindowFunc) && !plain_call(((WindowFunc *) node)->winfnoid, ((WindowFunc *) node)->args, vet)))
			return true;
		return expression_tree_walker(node, vet_walker, vet);
	}
	/* anything else: not known to run only vetted code */
	refuse(vet, psprintf("an expression this check does not know (node %d)", (int) nodeTag(node)));
	return true;
}

/* Does the query read a Citus table through a privacy view, at any level? */
static bool
reads_citus_view(Node *node, Vet *vet)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;
		ListCell   *lc;

		foreach(lc, q->rtable)
		{
			RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);

			if (rte->rtekind == RTE_RELATION && rte->relkind != RELKIND_VIEW &&
				crm_rte_check_as_user(q, rte) == vet->viewrole && crm_citus_table(rte->relid))
				return true;
		}
		return query_tree_walker(q, reads_citus_view, vet, 0);
	}
	return expression_tree_walker(node, reads_citus_view, vet);
}

/*
 * Vet a query for running as crm_privacy_views on the nodes of a Citus
 * cluster (see the file's header).  Returns true when it reads privacy views
 * over Citus tables and may run so; false when it reads none; an error
 * when it reads some and may not.
 */
static bool
vet_reader_query(Query *parse)
{
	Vet			vet = {0};
	bool		bad;

	vet.viewrole = views_role();
	vet.reader = GetUserId();
	vet.nested = planner_depth > 0;
	if (!OidIsValid(vet.viewrole) || vet.reader == vet.viewrole || superuser() ||
		!reads_citus_view((Node *) parse, &vet))
		return false;
	bad = vet_walker((Node *) parse, &vet);
	if (bad)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot read privacy views of distributed tables in this query"),
				 errdetail("The query has %s: on a Citus cluster a query of privacy views runs on the nodes as the views' owner, which runs only plain SELECTs of the views with built-in functions and types.",
						   vet.culprit),
				 errhint("Read the views with built-in functions only, for instance into a table of your own, and compute on that.")));
	return true;
}

static bool vetted_plan(PlannedStmt *stmt);

/* The mark of a vetted plan: an invalidation item PostgreSQL never makes. */
static bool
is_mark(PlanInvalItem *item)
{
	Oid			nsp = get_namespace_oid(CRM_SCHEMA, true);

	return item->cacheId == NAMESPACEOID && OidIsValid(nsp) &&
		item->hashValue == GetSysCacheHashValue1(NAMESPACEOID, ObjectIdGetDatum(nsp));
}

/* Is this the plan of a query of privacy views of distributed tables? */
bool
crm_citus_plan(PlannedStmt *stmt)
{
	return vetted_plan(stmt);
}

static bool
vetted_plan(PlannedStmt *stmt)
{
	ListCell   *lc;

	if (stmt == NULL || stmt->commandType != CMD_SELECT)
		return false;
	foreach(lc, stmt->invalItems)
	{
		if (IsA(lfirst(lc), PlanInvalItem) && is_mark((PlanInvalItem *) lfirst(lc)))
			return true;
	}
	return false;
}

/* A session logged in as the views' owner: Citus's connections to a node. */
static bool
views_session(void)
{
	Oid			role = views_role();

	return OidIsValid(role) && GetSessionUserId() == role;
}

static PlannedStmt *
citus_planner(CRM_PLANNER_PARAMS)
{
	PlannedStmt *volatile stmt = NULL;
	volatile bool vetted = false;

	if (crm_citus_present())
	{
		if (views_session())
		{
			/* a shard query sent by a coordinator: vetted code only */
			Vet			vet = {0};

			vet.viewrole = views_role();
			if (vet_walker((Node *) parse, &vet))
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("role \"%s\" may not run this query", CRM_VIEW_ROLE),
						 errdetail("The query has %s.", vet.culprit)));
		}
		else
			vetted = vet_reader_query(parse);
	}
	planner_depth++;
	PG_TRY();
	{
		stmt = prev_planner ? prev_planner(CRM_PLANNER_ARGS) : standard_planner(CRM_PLANNER_ARGS);
	}
	PG_FINALLY();
	{
		planner_depth--;
	}
	PG_END_TRY();
	if (vetted)
	{
		PlanInvalItem *item = makeNode(PlanInvalItem);

		item->cacheId = NAMESPACEOID;
		item->hashValue = GetSysCacheHashValue1(NAMESPACEOID,
												ObjectIdGetDatum(get_namespace_oid(CRM_SCHEMA, false)));
		stmt->invalItems = lappend(stmt->invalItems, item);
		stmt->dependsOnRole = true;
	}
	return stmt;
}

/* Run one executor step as the views' owner when the plan was vetted. */
#define AS_VIEWS(stmt, call) \
	do { \
		if (vetted_plan(stmt) && OidIsValid(views_role())) \
		{ \
			Oid			save_user; \
			int			save_sec; \
			GetUserIdAndSecContext(&save_user, &save_sec); \
			SetUserIdAndSecContext(views_role(), save_sec | SECURITY_LOCAL_USERID_CHANGE | \
								   SECURITY_RESTRICTED_OPERATION); \
			PG_TRY(); \
			{ \
				call; \
			} \
			PG_FINALLY(); \
			{ \
				SetUserIdAndSecContext(save_user, save_sec); \
			} \
			PG_END_TRY(); \
		} \
		else \
			call; \
	} while (0)

static void
citus_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	AS_VIEWS(queryDesc->plannedstmt,
			 (prev_ExecutorStart ? prev_ExecutorStart(queryDesc, eflags)
			  : standard_ExecutorStart(queryDesc, eflags)));
}

static void
citus_ExecutorRun(CRM_EXECUTOR_RUN_PARAMS)
{
	AS_VIEWS(queryDesc->plannedstmt,
			 (prev_ExecutorRun ? prev_ExecutorRun(CRM_EXECUTOR_RUN_ARGS)
			  : standard_ExecutorRun(CRM_EXECUTOR_RUN_ARGS)));
}

static void
citus_ExecutorFinish(QueryDesc *queryDesc)
{
	AS_VIEWS(queryDesc->plannedstmt,
			 (prev_ExecutorFinish ? prev_ExecutorFinish(queryDesc)
			  : standard_ExecutorFinish(queryDesc)));
}

static void
citus_ExecutorEnd(QueryDesc *queryDesc)
{
	AS_VIEWS(queryDesc->plannedstmt,
			 (prev_ExecutorEnd ? prev_ExecutorEnd(queryDesc)
			  : standard_ExecutorEnd(queryDesc)));
}

/*
 * A session of the views' owner runs no utility command but transaction
 * control, settings and the COPY of intermediate results that Citus sends
 * (into its own files, not tables: crm_privacy_views may write no table).
 */
static void
citus_ProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					 ProcessUtilityContext context, ParamListInfo params,
					 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *tree = pstmt->utilityStmt;

	if (views_session() && crm_citus_present() &&
		!(IsA(tree, TransactionStmt) || IsA(tree, VariableSetStmt) ||
		  IsA(tree, VariableShowStmt) || IsA(tree, DeallocateStmt) ||
		  (IsA(tree, CopyStmt) && ((CopyStmt *) tree)->is_from &&
		   ((CopyStmt *) tree)->filename == NULL && ((CopyStmt *) tree)->query == NULL)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" may not run %s", CRM_VIEW_ROLE, GetCommandTagName(CreateCommandTag(tree)))));
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
}

/*
 * Install the hooks (when the library is preloaded).  Called before the read
 * audit installs its own, so that the audit, outside, sees the reader.
 */
void
crm_citus_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_planner = planner_hook;
	planner_hook = citus_planner;
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = citus_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = citus_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = citus_ExecutorFinish;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = citus_ExecutorEnd;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = citus_ProcessUtility;
}
