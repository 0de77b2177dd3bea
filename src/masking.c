/*-------------------------------------------------------------------------
 *
 * masking.c
 *	  Transparent masking (doc/views.md, "Transparent masking"): a masked
 *	  role that names a labelled table -- public.customer, qualified or
 *	  not -- reads the table's standard view for its clearance instead,
 *	  with no change to its SQL; its writes to labelled tables are refused.
 *
 * A role is masked when it has the privileges of a role labelled "masked"
 * (roles.c; superusers never are).  After parse analysis (the
 * post_parse_analyze hook, so before the rewriter expands views), every
 * range-table entry of a labelled table in the masked role's query, at any
 * depth (subqueries, CTEs, sublinks, EXPLAIN, DECLARE CURSOR, CREATE TABLE
 * AS), becomes a subquery
 *
 *		SELECT col1, col2, ... FROM privacy_standard.table
 *
 * with one output column per column of the table, in the table's attribute
 * numbers (a dropped column is a NULL placeholder), so every Var the parser
 * made for the table points at the view's column of the same name.  The
 * permission the parser asked on the table goes; the subquery asks SELECT on
 * the view, which privacy.grant_access(role, 'standard') gives.  So a masked
 * role needs no privilege on the tables at all, and should have none.
 *
 * Plans depend on who parsed them: every query that names a labelled table
 * is marked hasRowSecurity (while any role is masked), which makes the plan
 * cache analyse it again when the current user changes (SET ROLE, a
 * SECURITY DEFINER function), as for row-level security.  A change of a
 * role label or of a membership resets this backend's plan cache, so a
 * prepared statement or a PL/pgSQL plan never outlives the masking it was
 * made under.
 *
 * What is parsed is masked: the masked role's own statements, prepared
 * statements, cursors, SQL and PL/pgSQL functions it runs with its own
 * rights, and the views it creates (their stored query reads the standard
 * view).  A view or SECURITY DEFINER function of another role runs with
 * that role's rights, as PostgreSQL always does.  Without the library in
 * shared_preload_libraries there is no hook, and a masked role gets what its
 * grants say: nothing from a table it is not granted.
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/masking.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/sysattr.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "parser/parsetree.h"
#if PG_VERSION_NUM >= 160000
#include "parser/parse_relation.h"
#endif
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "compat.h"
#include "crm_privacy.h"
#include "label.h"

static post_parse_analyze_hook_type prev_post_parse_analyze = NULL;

/* crm_privacy's own statements, run as a table's owner: never masked */
static int	suspended = 0;

/*
 * Which relations carry a crm_privacy table label, or are partitions or
 * inheritance children of one (a masked role reads those only through the
 * labelled table), cached per backend.
 */
typedef struct LabelledEntry
{
	Oid			relid;			/* hash key */
	bool		labelled;
	Oid			labelled_ancestor;	/* for a partition or child: the labelled table */
} LabelledEntry;

static HTAB *labelled_cache = NULL;

/* A relcache invalidation (from crm_privacy.c's callback). */
void
crm_masking_relcache(Oid relid pg_attribute_unused())
{
	/*
	 * Any table's: a label set on a parent changes what its partitions are,
	 * and the cache is small and cheap to fill again.
	 */
	if (labelled_cache == NULL)
		return;
	hash_destroy(labelled_cache);
	labelled_cache = NULL;
}

/* Role labels or memberships changed: no plan survives that was made before. */
static void
masking_role_callback(Datum arg pg_attribute_unused(), int cacheid pg_attribute_unused(),
					  uint32 hashvalue pg_attribute_unused())
{
	ResetPlanCache();
}

/*
 * Does relid carry a crm_privacy table label, or is it a partition or child
 * of a table that does?  *ancestor (if given) is set to that table for a
 * partition or child, else InvalidOid.
 */
static bool
is_labelled_or_child(Oid relid, Oid *ancestor)
{
	LabelledEntry *e = NULL;
	bool		found;
	Oid			above = InvalidOid;
	CrmTableLabel tl;
	ListCell   *lc;

	if (labelled_cache)
		e = (LabelledEntry *) hash_search(labelled_cache, &relid, HASH_FIND, NULL);
	if (e == NULL)
	{
		/*
		 * The labels are read first: reading catalogs may take invalidations,
		 * which drop the cache (crm_masking_relcache); an error leaves no
		 * entry.
		 */
		found = crm_get_table_label(relid, &tl);
		if (!found)
		{
			foreach(lc, get_partition_ancestors(relid))
			{
				if (crm_get_table_label(lfirst_oid(lc), &tl))
				{
					above = lfirst_oid(lc);
					break;
				}
			}
		}
		if (labelled_cache == NULL)
		{
			HASHCTL		ctl;

			ctl.keysize = sizeof(Oid);
			ctl.entrysize = sizeof(LabelledEntry);
			ctl.hcxt = CacheMemoryContext;
			labelled_cache = hash_create("crm_privacy labelled tables", 64, &ctl,
										 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		}
		e = (LabelledEntry *) hash_search(labelled_cache, &relid, HASH_ENTER, NULL);
		e->labelled = found || OidIsValid(above);
		e->labelled_ancestor = above;
	}
	if (ancestor)
		*ancestor = e->labelled_ancestor;
	return e->labelled;
}

static bool
is_labelled(Oid relid)
{
	return is_labelled_or_child(relid, NULL);
}

/* The same, for the rest of the library (stats.c). */
bool
crm_labelled_or_child(Oid relid, Oid *ancestor)
{
	return is_labelled_or_child(relid, ancestor);
}

/* Raise 42501: a masked role may not change a labelled table. */
static void
refuse_write(Oid relid, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s table %s: role \"%s\" is masked",
					what, quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
													 get_rel_name(relid)),
					GetUserNameFromId(GetUserId(), false)),
			 errdetail("A masked role reads labelled tables through their standard views and cannot change them."),
			 errhint("Change the table as a role that is not masked.")));
}

/* The standard view of a labelled table, or an error. */
static Oid
standard_view_of(Oid relid)
{
	Oid			nsp = get_namespace_oid("privacy_standard", true);
	char	   *relname = get_rel_name(relid);
	Oid			view = (OidIsValid(nsp) && relname) ? get_relname_relid(relname, nsp) : InvalidOid;

	if (!OidIsValid(view) || get_rel_relkind(view) != RELKIND_VIEW ||
		!crm_is_extension_member(RelationRelationId, view))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s has no standard view for masked role \"%s\" to read",
						quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), relname),
						GetUserNameFromId(GetUserId(), false)),
				 errhint("A privacy administrator can build the views with privacy.refresh_views().")));
	return view;
}

/*
 * The query "SELECT the table's columns FROM its standard view", one output
 * column per attribute number of the table.
 */
static Query *
view_subquery(Oid relid, Oid view)
{
	Relation	rel = relation_open(relid, NoLock);	/* locked by the parser */
	TupleDesc	desc = RelationGetDescr(rel);
	StringInfoData sql;
	List	   *raw;
	Query	   *q;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (i > 0)
			appendStringInfoString(&sql, ", ");
		if (att->attisdropped)
			appendStringInfoString(&sql, "NULL::pg_catalog.int4");
		else
			appendStringInfo(&sql, "v.%s", quote_identifier(NameStr(att->attname)));
	}
	appendStringInfo(&sql, " FROM %s v",
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(view)),
												get_rel_name(view)));
	relation_close(rel, NoLock);

	raw = raw_parser(sql.data, RAW_PARSE_DEFAULT);
	q = parse_analyze_fixedparams(linitial_node(RawStmt, raw), sql.data, NULL, 0, NULL);
	if (list_length(q->targetList) != desc->natts)
		elog(ERROR, "crm_privacy: the standard view of %u does not match its table", relid);
	return q;
}

/* Make range-table entry rti of q, a labelled table, read its standard view. */
static void
mask_rte(Query *q, int rti, RangeTblEntry *rte)
{
	Oid			relid = rte->relid;
	Oid			parent;
	AclMode		perms;
	Bitmapset  *selected;
	int			col = -1;

#if PG_VERSION_NUM >= 160000
	RTEPermissionInfo *perminfo = rte->perminfoindex > 0
		? getRTEPermissionInfo(q->rteperminfos, rte) : NULL;

	perms = perminfo ? perminfo->requiredPerms : 0;
	selected = perminfo ? perminfo->selectedCols : NULL;
#else
	perms = rte->requiredPerms;
	selected = rte->selectedCols;
#endif

	if (rti == q->resultRelation || (perms & ~ACL_SELECT) != 0 ||
		get_parse_rowmark(q, rti) != NULL)
		refuse_write(relid, q->commandType == CMD_SELECT ? "lock rows of" : "write");
	while ((col = bms_next_member(selected, col)) >= 0)
	{
		AttrNumber	attno = col + FirstLowInvalidHeapAttributeNumber;

		if (attno < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("system columns of table %s are not available to masked role \"%s\"",
							get_rel_name(relid), GetUserNameFromId(GetUserId(), false)),
					 errdetail("A masked role reads the table's standard view, which has no system columns.")));
	}
	if (is_labelled_or_child(relid, &parent) && OidIsValid(parent))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s: role \"%s\" is masked",
						crm_qualified_name(relid), GetUserNameFromId(GetUserId(), false)),
				 errdetail("Table %s is a partition or child of the labelled table %s.",
						   crm_qualified_name(relid), crm_qualified_name(parent)),
				 errhint("Query %s, which reads its standard view.", crm_qualified_name(parent))));
	if (rte->tablesample)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("TABLESAMPLE on table %s is not available to masked role \"%s\"",
						get_rel_name(relid), GetUserNameFromId(GetUserId(), false))));

	rte->subquery = view_subquery(relid, standard_view_of(relid));
	rte->rtekind = RTE_SUBQUERY;
	rte->security_barrier = false;
	rte->relid = InvalidOid;
	rte->relkind = 0;
	rte->rellockmode = NoLock;
	rte->inh = false;
#if PG_VERSION_NUM >= 160000
	if (perminfo)
	{
		Index		gone = rte->perminfoindex;
		ListCell   *lc;

		q->rteperminfos = list_delete_nth_cell(q->rteperminfos, gone - 1);
		foreach(lc, q->rtable)
		{
			RangeTblEntry *other = (RangeTblEntry *) lfirst(lc);

			if (other->perminfoindex > gone)
				other->perminfoindex--;
		}
		rte->perminfoindex = 0;
	}
#else
	rte->requiredPerms = 0;
	rte->checkAsUser = InvalidOid;
	rte->selectedCols = NULL;
	rte->insertedCols = NULL;
	rte->updatedCols = NULL;
	rte->extraUpdatedCols = NULL;
#endif
}

typedef struct MaskContext
{
	bool		masked;			/* the current user is masked */
} MaskContext;

/*
 * Every Query at any depth: mark the ones that name a labelled table as
 * depending on the user, and for a masked user make those entries read the
 * standard view.
 */
static bool
mask_walker(Node *node, MaskContext *cx)
{
	if (node == NULL)
		return false;
	check_stack_depth();
	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;
		ListCell   *lc;
		int			rti = 0;

		if (q->commandType == CMD_UTILITY && q->utilityStmt)
		{
			Node	   *inner = NULL;

			if (IsA(q->utilityStmt, ExplainStmt))
				inner = ((ExplainStmt *) q->utilityStmt)->query;
			else if (IsA(q->utilityStmt, DeclareCursorStmt))
				inner = ((DeclareCursorStmt *) q->utilityStmt)->query;
			else if (IsA(q->utilityStmt, CreateTableAsStmt))
				inner = ((CreateTableAsStmt *) q->utilityStmt)->query;
			return inner != NULL && IsA(inner, Query) ? mask_walker(inner, cx) : false;
		}
		foreach(lc, q->rtable)
		{
			RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);

			rti++;
			if (rte->rtekind != RTE_RELATION ||
				(rte->relkind != RELKIND_RELATION && rte->relkind != RELKIND_PARTITIONED_TABLE) ||
				!is_labelled(rte->relid))
				continue;
			q->hasRowSecurity = true;
			if (cx->masked)
				mask_rte(q, rti, rte);
		}
		return query_tree_walker(q, mask_walker, cx, 0);
	}
	return expression_tree_walker(node, mask_walker, cx);
}

static void
masking_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	MaskContext cx;

	if (prev_post_parse_analyze)
		prev_post_parse_analyze(pstate, query, jstate);
	if (suspended > 0 || !IsTransactionState() || !crm_any_masked_role())
		return;
	cx.masked = crm_role_is_masked(GetUserId());
	(void) mask_walker((Node *) query, &cx);
}

/*
 * ExecutorCheckPerms: a masked role never reads or writes a labelled table
 * directly, whatever its grants -- not through a view, a rule or a SQL
 * function body stored before it was masked (or with BEGIN ATOMIC, which is
 * not parsed again), whose permissions are checked as itself.  What it
 * parses reads the standard views (above), whose own reads of the table are
 * checked as their owner, crm_privacy_views.
 */
static ExecutorCheckPerms_hook_type prev_check_perms = NULL;

static bool
masking_check_perms(CRM_CHECK_PERMS_PARAMS)
{
	ListCell   *lc;

	if (prev_check_perms && !prev_check_perms(CRM_CHECK_PERMS_ARGS))
		return false;
	if (suspended > 0 || !crm_any_masked_role())
		return true;
	foreach(lc, CRM_CHECK_PERMS_INFOS)
	{
		RTEPermissionInfo *p = (RTEPermissionInfo *) lfirst(lc);
		Oid			user;

		if (p->requiredPerms == 0 || !OidIsValid(p->relid))
			continue;
		user = OidIsValid(p->checkAsUser) ? p->checkAsUser : GetUserId();
		if (!is_labelled(p->relid) || !crm_role_is_masked(user))
			continue;
		if (!ereport_on_violation)
			return false;
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s: role \"%s\" is masked",
						quote_qualified_identifier(get_namespace_name(get_rel_namespace(p->relid)),
												   get_rel_name(p->relid)),
						GetUserNameFromId(user, false)),
				 errdetail("A masked role reads labelled tables only through their standard views; a view, rule or function body of its own made before it was masked, or stored already parsed, reads the table directly."),
				 errhint("Create the view or function again while the role is masked, with a SQL body in quotes (not BEGIN ATOMIC).")));
	}
	return true;
}

/*
 * ProcessUtility: a masked role may neither COPY a labelled table (COPY
 * (SELECT ...) TO is a query, masked as any) nor TRUNCATE it.
 */
void
crm_masking_check_utility(Node *parsetree)
{
	ListCell   *lc;

	if (suspended > 0 || !IsTransactionState() || !crm_any_masked_role() ||
		!crm_role_is_masked(GetUserId()))
		return;
	if (IsA(parsetree, CopyStmt) && ((CopyStmt *) parsetree)->relation)
	{
		CopyStmt   *stmt = (CopyStmt *) parsetree;
		Oid			relid = RangeVarGetRelid(stmt->relation, NoLock, true);

		if (OidIsValid(relid) && is_labelled(relid))
		{
			if (stmt->is_from)
				refuse_write(relid, "write");
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to copy table %s: role \"%s\" is masked",
							get_rel_name(relid), GetUserNameFromId(GetUserId(), false)),
					 errhint("Copy a query instead: COPY (SELECT * FROM %s) TO ..., which reads the standard view.",
							 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
														get_rel_name(relid)))));
		}
	}
	else if (IsA(parsetree, TruncateStmt))
	{
		foreach(lc, ((TruncateStmt *) parsetree)->relations)
		{
			Oid			relid = RangeVarGetRelid((RangeVar *) lfirst(lc), NoLock, true);

			if (OidIsValid(relid) && is_labelled(relid))
				refuse_write(relid, "truncate");
		}
	}
}

/*
 * crm_privacy's own statements on a labelled table, run as its owner
 * (requests.c), are not masked: suspend (true) and resume (false) around
 * them, in PG_TRY/PG_FINALLY.
 */
void
crm_masking_suspend(bool suspend)
{
	suspended += suspend ? 1 : -1;
	Assert(suspended >= 0);
}

/* Install the hook and the callbacks (from _PG_init, when preloaded). */
void
crm_masking_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_post_parse_analyze = post_parse_analyze_hook;
	post_parse_analyze_hook = masking_post_parse_analyze;
	prev_check_perms = ExecutorCheckPerms_hook;
	ExecutorCheckPerms_hook = masking_check_perms;
	CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, masking_role_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, masking_role_callback, (Datum) 0);
}
