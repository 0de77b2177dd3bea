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
 * So while a query that calls a function or operator of a user's own (not
 * built in, not crm_privacy's) is planned (crm_stats_strict, from the
 * planner hook), these hooks fetch a labelled table's statistics as
 * PostgreSQL does and let only leakproof functions see them, unless the
 * current user itself may read the table or the column (its owner, a
 * superuser, a role granted it).  Other queries -- only built-in functions,
 * which keep what they see to themselves -- are estimated as PostgreSQL
 * estimates them, with every statistic (numeric comparisons are not marked
 * leakproof); an EXPLAIN that shows their estimates is a recorded read
 * (hooks.c).
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
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/selfuncs.h"
#include "utils/syscache.h"

#include "crm_privacy.h"

static get_relation_stats_hook_type prev_relation_stats = NULL;
static get_index_stats_hook_type prev_index_stats = NULL;

/* Is a query with a function of a user's own being planned? */
static bool strict = false;

/* check_functions_in_node: a function neither built in nor crm_privacy's? */
static bool
user_function(Oid funcid, void *context)
{
	Oid			privacy = *(Oid *) context;

	return funcid >= FirstNormalObjectId && get_func_namespace(funcid) != privacy;
}

static bool
has_user_function(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, has_user_function, context, 0);
	if (check_functions_in_node(node, user_function, context))
		return true;
	return expression_tree_walker(node, has_user_function, context);
}

/*
 * The planner hook, before planning parse: strict while a query with a
 * function of a user's own is planned.  Returns the previous value, which
 * crm_stats_strict_end puts back (also after an error: nested planning).
 */
bool
crm_stats_strict_begin(Query *parse)
{
	bool		was = strict;
	Oid			privacy = get_namespace_oid(CRM_SCHEMA, true);

	strict = was || has_user_function((Node *) parse, &privacy);
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
	vardata->statsTuple = SearchSysCache3(STATRELATTINH, ObjectIdGetDatum(rte->relid),
										  Int16GetDatum(attnum), BoolGetDatum(rte->inh));
	vardata->freefunc = ReleaseSysCache;
	/* as PostgreSQL: no statistics, nothing to hide; all rows must be visible */
	vardata->acl_ok = !HeapTupleIsValid(vardata->statsTuple) ||
		(rte->securityQuals == NIL &&
		 (may_read(rte->relid, attnum) || (OidIsValid(ancestor) && may_read(ancestor, 0))));
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
	vardata->statsTuple = SearchSysCache3(STATRELATTINH, ObjectIdGetDatum(indexoid),
										  Int16GetDatum(attnum), BoolGetDatum(false));
	vardata->freefunc = ReleaseSysCache;
	vardata->acl_ok = !HeapTupleIsValid(vardata->statsTuple) ||
		may_read(table, 0) || (OidIsValid(ancestor) && may_read(ancestor, 0));
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
