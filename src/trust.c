/*-------------------------------------------------------------------------
 *
 * trust.c
 *	  Which code may run inside a reader's query through a privacy view.
 *
 * Functions in a view's expressions run as the reader, whoever owns the
 * view.  The generated views call only crm_privacy's and built-in functions,
 * but two things of a table's owner can still end up in them: the CHECK
 * constraints of a domain that a masked value is cast into, and the
 * row-level security policies of the table (PostgreSQL evaluates policy
 * expressions as the querying role, and their subqueries with the rights of
 * the views' owner).  So such an expression is trusted only when it is made
 * of columns, constants and computations of plain built-in types (no domain,
 * composite, range or pseudo-type, whose input functions, casts and checks
 * reach other code) by functions that a superuser owns, as every built-in
 * one is, that take and return plain built-in types only (no "anyelement":
 * to_json or "||" look up the caller's casts), that are not volatile (no
 * effect that outlives the query: set_config, pg_notify, lo_export ...) and
 * that do not run SQL they are given (query_to_xml ...) and are not
 * crm_privacy's own (pseudonym() would compute with the key as a privileged
 * reader, for the owner to read through a side channel); subqueries are
 * refused.  Anything else could run a table owner's code with a reader's
 * rights, so the views never run it: a masked value is not cast into a
 * domain whose checks are not trusted (views.c), and a table with a policy
 * (for any command) that is not trusted gets no views.
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/trust.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "crm_privacy.h"

typedef struct TrustWalk
{
	char	   *culprit;		/* what was found untrusted first */
} TrustWalk;

/*
 * Built-in functions that run SQL given to them as text, or read a table or
 * view by name (whose code then runs): as good as the caller's own code.
 */
static const char *const runs_sql[] = {
	"query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema",
	"cursor_to_xml", "cursor_to_xmlschema",
	"table_to_xml", "table_to_xmlschema", "table_to_xml_and_xmlschema",
	"schema_to_xml", "schema_to_xmlschema", "schema_to_xml_and_xmlschema",
	"database_to_xml", "database_to_xmlschema", "database_to_xml_and_xmlschema",
	"ts_stat", "ts_rewrite",
	NULL
};

/* Is this built-in function (of pg_catalog) one of runs_sql? */
bool
crm_runs_sql(const char *name)
{
	for (int i = 0; runs_sql[i]; i++)
	{
		if (strcmp(name, runs_sql[i]) == 0)
			return true;
	}
	return false;
}

/*
 * A built-in type that is no pseudo-type (a function taking "anyelement" or
 * "any" may cast, convert or inline its way to the caller's types), no
 * domain, composite or range (whose input and checks reach other types).
 * Only superusers create built-in types and casts between them.
 */
static bool
plain_type(Oid typid)
{
	char		typtype;

	if (typid >= FirstNormalObjectId)
		return false;
	typtype = get_typtype(typid);
	return typtype == TYPTYPE_BASE || typtype == TYPTYPE_ENUM;
}

/* Note what was found untrusted, the first time. */
static void
untrusted(TrustWalk *walk, char *what)
{
	if (walk->culprit == NULL)
		walk->culprit = what;
}

static bool trusted_walker(Node *node, TrustWalk *walk);

/*
 * Is the function trusted: owned by a superuser (as every built-in one is),
 * not volatile (set_config, pg_notify, lo_export ... act beyond the query,
 * with the reader's rights), and not one of the built-in functions that run
 * SQL they are given?
 */
static bool
func_trusted(Oid funcid, void *context)
{
	TrustWalk  *walk = (TrustWalk *) context;
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	Form_pg_proc proc;
	bool		ok;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for function %u", funcid);
	proc = (Form_pg_proc) GETSTRUCT(tup);
	ok = superuser_arg(proc->proowner) && proc->provolatile != PROVOLATILE_VOLATILE &&
		plain_type(proc->prorettype);
	for (int i = 0; ok && i < proc->pronargs; i++)
		ok = plain_type(proc->proargtypes.values[i]);
	/* crm_privacy's own functions compute with the key or read other views */
	if (ok && proc->pronamespace == get_namespace_oid(CRM_SCHEMA, true))
		ok = false;
	if (ok && proc->pronamespace == PG_CATALOG_NAMESPACE)
	{
		ok = !crm_runs_sql(NameStr(proc->proname));
	}
	ReleaseSysCache(tup);
	if (!ok)
		untrusted(walk, psprintf("function %s", format_procedure(funcid)));
	return !ok;					/* check_functions_in_node stops on true */
}

/*
 * Walk a policy or domain check expression: true when it reaches anything
 * but trusted functions.  Subqueries are refused outright: a policy's
 * subquery reads with the rights of the role the policy applies to, the
 * views' owner, which may read the key and every labelled table.
 */
static bool
trusted_walker(Node *node, TrustWalk *walk)
{
	if (node == NULL)
		return false;
	if (IsA(node, SubLink) || IsA(node, Query))
	{
		untrusted(walk, pstrdup("a subquery"));
		return true;
	}
	/* reading a column, a constant or the checked value runs no code */
	if (IsA(node, Var) || IsA(node, Const) || IsA(node, Param) ||
		IsA(node, CoerceToDomainValue) || IsA(node, CaseTestExpr) || IsA(node, List))
		return expression_tree_walker(node, trusted_walker, walk);
	/* anything else computes: only of plain built-in types, by trusted functions */
	if (!plain_type(exprType(node)))
	{
		untrusted(walk, psprintf("an expression of type %s", format_type_be(exprType(node))));
		return true;
	}
	if (check_functions_in_node(node, func_trusted, walk))
		return true;
	return expression_tree_walker(node, trusted_walker, walk);
}

/* The type a domain is based on, one level down. */
static Oid
domain_base(Oid typid)
{
	HeapTuple	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	Oid			base;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for type %u", typid);
	base = ((Form_pg_type) GETSTRUCT(tup))->typbasetype;
	ReleaseSysCache(tup);
	return base;
}

/* Walk the CHECK constraints of a domain and of the domains it is based on. */
static bool
domain_walk(Oid typid, TrustWalk *walk)
{
	while (get_typtype(typid) == TYPTYPE_DOMAIN)
	{
		Relation	rel = table_open(ConstraintRelationId, AccessShareLock);
		ScanKeyData key;
		SysScanDesc scan;
		HeapTuple	tup;
		bool		bad = false;

		ScanKeyInit(&key, Anum_pg_constraint_contypid, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(typid));
		scan = systable_beginscan(rel, ConstraintTypidIndexId, true, NULL, 1, &key);
		while (!bad && HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			bool		isnull;
			Datum		bin;

			if (((Form_pg_constraint) GETSTRUCT(tup))->contype != CONSTRAINT_CHECK)
				continue;
			bin = heap_getattr(tup, Anum_pg_constraint_conbin, RelationGetDescr(rel), &isnull);
			if (!isnull)
				bad = trusted_walker(stringToNode(TextDatumGetCString(bin)), walk);
		}
		systable_endscan(scan);
		table_close(rel, AccessShareLock);
		if (bad)
			return true;
		typid = domain_base(typid);
	}
	return false;
}

/*
 * Walk every policy of a table (SELECT ... FOR UPDATE applies the UPDATE
 * policies too), whether row-level security is on now or not (its owner can
 * turn it on at any time).
 */
static bool
policies_walk(Oid relid, TrustWalk *walk)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		bad = false;

	rel = table_open(PolicyRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_policy_polrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, PolicyPolrelidPolnameIndexId, true, NULL, 1, &key);
	while (!bad && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		qual;

		qual = heap_getattr(tup, Anum_pg_policy_polqual, RelationGetDescr(rel), &isnull);
		if (!isnull)
			bad = trusted_walker(stringToNode(TextDatumGetCString(qual)), walk);
		qual = heap_getattr(tup, Anum_pg_policy_polwithcheck, RelationGetDescr(rel), &isnull);
		if (!bad && !isnull)
			bad = trusted_walker(stringToNode(TextDatumGetCString(qual)), walk);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return bad;
}

/*
 * May a value be cast into the domain typid in a reader's query: do its
 * checks (and those of the domains under it) call only trusted functions?
 */
bool
crm_domain_trusted(Oid typid)
{
	TrustWalk	walk = {0};

	return !domain_walk(typid, &walk);
}

/*
 * Are the row-level security policies of relid made of trusted functions
 * only, with no subquery?  If not, *culprit says what was found first.
 */
bool
crm_policies_trusted(Oid relid, char **culprit)
{
	TrustWalk	walk = {0};
	bool		bad = policies_walk(relid, &walk);

	*culprit = walk.culprit;
	return !bad;
}
