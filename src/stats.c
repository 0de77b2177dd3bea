/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  The planner's statistics of labelled tables are for the roles that may
 *	  read the tables (doc/security.md, "Nothing leaks through plans").
 *
 * A column's statistics (its most common values, histogram bounds, an
 * index's first and last entries) are values of the column.  PostgreSQL
 * shows them only to leakproof functions unless the user may read the
 * column (statistic_proc_security_check), but for a table read through a
 * view it asks the view's owner: through the standard and full views, which
 * the planner flattens into the reader's query, a reader's own operator with
 * a selectivity estimator would be called on every one of them while the
 * query is planned -- and the statement can fail before it runs, with no
 * read recorded.
 *
 * So while a query is planned that holds an operator whose function, or
 * whose commutator's or negator's function, is a user's own (not built in,
 * not crm_privacy's), or a SQL function of a user's own (it may be inlined
 * with such operators), these hooks give the planner no statistics of a
 * labelled table the current user may not read itself (its owner, a
 * superuser, a role granted it may): its estimators fall back on their
 * defaults.  (Marking the statistics not for leaky functions, as PostgreSQL
 * does for a user without SELECT, is not enough: eqjoinsel checks the
 * operator's function and then calls its commutator's.)  Other queries --
 * built-in operators, whose functions keep what they see to themselves --
 * are estimated as PostgreSQL estimates them, with every statistic; an
 * EXPLAIN that shows their estimates is a recorded read (hooks.c).
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/stats.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/selfuncs.h"
#include "utils/syscache.h"

#include "crm_privacy.h"

static get_relation_stats_hook_type prev_relation_stats = NULL;
static get_index_stats_hook_type prev_index_stats = NULL;

/* Is a query with an operator of a user's own being planned? */
static bool strict = false;

/* A function neither built in nor crm_privacy's? */
static bool
user_function(Oid funcid, Oid privacy)
{
	return OidIsValid(funcid) && funcid >= FirstNormalObjectId &&
		get_func_namespace(funcid) != privacy;
}

/* The language of a function. */
static Oid
func_language(Oid funcid)
{
	HeapTuple	tp = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	Oid			lang;

	if (!HeapTupleIsValid(tp))
		return InvalidOid;
	lang = ((Form_pg_proc) GETSTRUCT(tp))->prolang;
	ReleaseSysCache(tp);
	return lang;
}

/*
 * Could the planner's estimators call a user's function with an operator:
 * the operator's own, or its commutator's or negator's (eqsel and
 * scalarltsel switch to them, eqjoinsel calls the commutator's function on
 * the other side's most common values after checking the operator's)?
 */
static bool
user_operator(Oid opno, Oid privacy)
{
	Oid			other;

	/*
	 * A built-in operator's commutator and negator are built in too (only a
	 * superuser could point them elsewhere): no catalog lookup for them.
	 */
	if (opno < FirstNormalObjectId)
		return false;
	if (user_function(get_opcode(opno), privacy))
		return true;
	other = get_commutator(opno);
	if (OidIsValid(other) && user_function(get_opcode(other), privacy))
		return true;
	other = get_negator(opno);
	return OidIsValid(other) && user_function(get_opcode(other), privacy);
}

/*
 * Does the query hold such an operator, or a SQL function of a user's own
 * (inlined while it is planned, its operators were not looked at)?
 */
static bool
has_user_operator(Node *node, void *context)
{
	Oid			privacy = *(Oid *) context;

	if (node == NULL)
		return false;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, has_user_operator, context, 0);
	if ((IsA(node, OpExpr) || IsA(node, DistinctExpr) || IsA(node, NullIfExpr)) &&
		user_operator(((OpExpr *) node)->opno, privacy))
		return true;
	if (IsA(node, ScalarArrayOpExpr) && user_operator(((ScalarArrayOpExpr *) node)->opno, privacy))
		return true;
	if (IsA(node, RowCompareExpr))
	{
		ListCell   *lc;

		foreach(lc, ((RowCompareExpr *) node)->opnos)
			if (user_operator(lfirst_oid(lc), privacy))
				return true;
	}
	if (IsA(node, FuncExpr) && user_function(((FuncExpr *) node)->funcid, privacy) &&
		func_language(((FuncExpr *) node)->funcid) == SQLlanguageId)
		return true;
	return expression_tree_walker(node, has_user_operator, context);
}

/*
 * The planner hook, before planning parse: strict while a query with an
 * operator of a user's own is planned.  Returns the previous value, which
 * crm_stats_strict_end puts back (also after an error: nested planning).
 */
bool
crm_stats_strict_begin(Query *parse)
{
	bool		was = strict;
	Oid			privacy = get_namespace_oid(CRM_SCHEMA, true);

	strict = was || has_user_operator((Node *) parse, &privacy);
	return was;
}

void
crm_stats_strict_end(bool was)
{
	strict = was;
}

/* May the current user read column attnum of relid (0: the whole table)? */
static bool
may_read(Oid relid, AttrNumber attnum)
{
	Oid			userid = GetUserId();

	return pg_class_aclcheck(relid, userid, ACL_SELECT) == ACLCHECK_OK ||
		(attnum > 0 && pg_attribute_aclcheck(relid, attnum, userid, ACL_SELECT) == ACLCHECK_OK);
}

/* Statistics of a column of a table the query reads. */
static bool
relation_stats(PlannerInfo *root, RangeTblEntry *rte, AttrNumber attnum, VariableStatData *vardata)
{
	Oid			ancestor = InvalidOid;

	if (prev_relation_stats && prev_relation_stats(root, rte, attnum, vardata))
		return true;
	if (!strict || rte->rtekind != RTE_RELATION || !crm_labelled_or_child(rte->relid, &ancestor))
		return false;			/* PostgreSQL's own */
	if (rte->securityQuals == NIL &&
		(may_read(rte->relid, attnum) || (OidIsValid(ancestor) && may_read(ancestor, 0))))
		return false;			/* the user may read them anyway */
	/* no statistics: the estimators fall back on their defaults */
	vardata->statsTuple = NULL;
	vardata->freefunc = NULL;
	vardata->acl_ok = true;
	return true;
}

/* Statistics of an expression index's column. */
static bool
index_stats(PlannerInfo *root, Oid indexoid, AttrNumber attnum, VariableStatData *vardata)
{
	Oid			table;
	Oid			ancestor = InvalidOid;

	if (prev_index_stats && prev_index_stats(root, indexoid, attnum, vardata))
		return true;
	if (!strict)
		return false;
	table = IndexGetRelation(indexoid, true);
	if (!OidIsValid(table) || !crm_labelled_or_child(table, &ancestor))
		return false;
	if (may_read(table, 0) || (OidIsValid(ancestor) && may_read(ancestor, 0)))
		return false;
	vardata->statsTuple = NULL;
	vardata->freefunc = NULL;
	vardata->acl_ok = true;
	return true;
}

/* Install the hooks (from _PG_init, when preloaded). */
void
crm_stats_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_relation_stats = get_relation_stats_hook;
	get_relation_stats_hook = relation_stats;
	prev_index_stats = get_index_stats_hook;
	get_index_stats_hook = index_stats;
}
