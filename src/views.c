/*-------------------------------------------------------------------------
 *
 * views.c
 *	  The privacy views (doc/views.md), generated from labels.
 *
 * For every table labelled subject or related, refresh builds
 *
 *	privacy_standard.T			clear at or below the reader's clearance, else mask=
 *	privacy_full.T				everything in clear
 *	privacy_anon.T				anon= rules, k-anonymity suppression with k=
 *	privacy_optout_P.T			as standard, without subjects opted out of P
 *	privacy_disclose_X.T		profile X's treatments, without subjects opted
 *								out of X's purpose
 *
 * with exactly T's column names, order and types.  Sensitive columns are NULL
 * for subjects who opted out of sensitive_data in every view but the full one;
 * unlabelled columns are NULL in every view but the full one.
 *
 * The view text is generated here from parsed labels: identifiers are quoted,
 * functions and operators schema-qualified, and literals quoted, so neither a
 * label nor a caller's search_path can change what a view computes.  Views
 * are built with search_path pinned, then given to crm_privacy_views, a role
 * that is no superuser and cannot bypass row-level security, so the base
 * tables' policies apply through them (trust.c vets those policies).  The
 * views that drop rows (opt-out, anonymous, disclosure) are security
 * barriers; the standard and full views drop none, and a reader's condition
 * on them only ever sees what the view shows, so they are plain views the
 * planner flattens (see flattened()).  All are members of the extension:
 * pg_dump leaves them out and a restore builds them again from the restored
 * labels.
 *
 * The reader's clearance and the pseudonym key (read with the view owner's
 * rights, passed to keyed_pseudonym() and keyed_noise()) are scalar
 * subqueries, which PostgreSQL evaluates once per query (initplans, whose
 * values a parallel worker receives): no join, so the views can run in
 * parallel.
 * Opt-outs are EXISTS against privacy.subject_choices, which the planner
 * runs as an anti-join, a hashed pass or an index probe (on a Citus cluster
 * against privacy.optout_keys, a copy on every node: see citus.c).
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/views.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_auth_members.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_index.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_shseclabel.h"
#include "catalog/pg_type.h"
#include "commands/comment.h"
#include "commands/extension.h"
#include "common/md5.h"
#include "commands/seclabel.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "parser/parse_func.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/regproc.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "crm_privacy.h"
#include "label.h"

/* The kinds of privacy view. */
typedef enum ViewKind
{
	VIEW_STANDARD,
	VIEW_FULL,
	VIEW_ANON,
	VIEW_OPTOUT,
	VIEW_DISCLOSE
} ViewKind;

static const char *const kind_names[] = {"standard", "full", "anon", "optout", "disclose"};

/* A schema of views to build. */
typedef struct ViewTarget
{
	ViewKind	kind;
	char	   *schema;			/* e.g. privacy_optout_direct_marketing */
	char	   *name;			/* purpose (optout) or profile (disclose) */
	char	   *row_purpose;	/* opt-outs of this purpose drop rows */
	bool		snapshot;		/* the query that fills a snapshot of the view */
								/* (snapshot.c): key $2, subject key first, */
								/* no opt-out looked up, no read audit */
} ViewTarget;

/*
 * The standard and full views have no row filter: they are plain views the
 * planner flattens into the reader's query (statistics, indexes, join
 * estimates and parallel plans work as on the table).  Their table is
 * named by the view's schema (EXPLAIN shows "customer privacy_standard"),
 * which is how the read audit finds the scans whose rows the view produces
 * (hooks.c).  The other kinds filter rows (opt-outs, k-anonymity) and stay
 * security barriers, with the table named t.
 */
static bool
flattened(const ViewTarget *v)
{
	return v->kind == VIEW_STANDARD || v->kind == VIEW_FULL;
}

static const char *
table_alias(const ViewTarget *v)
{
	return flattened(v) ? v->schema : "t";
}

/* A labelled table. */
typedef struct TableSpec
{
	Oid			relid;
	char	   *nspname;
	char	   *relname;
	CrmTableLabel tl;
	Oid			subject;		/* the subject table: itself, or its subject */
	char	   *subject_name;	/* its qualified name: the pseudonym context */
} TableSpec;

/* A column of a labelled table. */
typedef struct ColumnSpec
{
	char	   *name;
	AttrNumber	attnum;
	Oid			typid;
	int32		typmod;
	bool		labelled;
	bool		warned;			/* its untrusted domain was reported */
	CrmColumnLabel cl;
	char	   *does;			/* what the view being built does to it */
	bool		hidden;			/* and whether it is always NULL there */
} ColumnSpec;

/* A treatment of a disclosure profile. */
typedef struct Treatment
{
	char	   *profile;
	Oid			relid;
	char	   *col;
	char	   *rule;
} Treatment;

/* Run one generated statement through SPI. */
static void
exec_sql(const char *sql)
{
	if (SPI_execute(sql, false, 0) < 0)
		elog(ERROR, "could not run generated statement: %s", sql);
}

/* The subject table label of relid; raises 22023 if relid is no subject. */
static void
require_subject(Oid relid, CrmTableLabel *tl)
{
	if (!crm_get_table_label(relid, tl) || tl->related)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("table %s is not labelled as a subject table",
						get_rel_name(relid) ? get_rel_name(relid) : "(dropped)"),
				 errhint("Label it with SECURITY LABEL FOR crm_privacy ON TABLE ... IS 'subject key=COLUMN'.")));
}

/* The schema-qualified name of a type, with typmod when given. */
static char *
type_name(Oid typid, int32 typmod)
{
	return format_type_extended(typid, typmod,
								FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY);
}

/*
 * SQL: privacy.subject_key(subject regclass, key text): the key's canonical
 * text, as the views compare it: read with the input function of the key
 * column's base type and written back with its output function.  A key that
 * does not read raises the input function's own error (22P02 for numbers).
 *
 * No cast and no domain CHECK is involved: those may be code of the table's
 * owner, and this runs inside SECURITY DEFINER functions.  Input and output
 * functions of base and enum types are C functions a superuser installed;
 * keys of other kinds of types (composite, range, arrays of domains), whose
 * input could reach a domain's CHECK, are refused.
 */
/*
 * The text a key is recorded as, for a key column of base type basetype
 * with typmod: read as that type (its input function's error if it does not
 * read), written by its output function; a number without the zeros after
 * its point (1002.0 is 1002).  NULL when the column would hold it as another
 * value ('abc   ' in varchar(3), 5.004 in numeric(10,2)) or it is no finite
 * number: recorded, it would be the key of no row.
 */
char *
crm_canonical_key(Oid basetype, int32 typmod, const char *key)
{
	Oid			infunc;
	Oid			ioparam;
	Oid			outfunc;
	bool		isvarlena;
	Datum		value;

	getTypeInputInfo(basetype, &infunc, &ioparam);
	getTypeOutputInfo(basetype, &outfunc, &isvarlena);
	value = OidInputFunctionCall(infunc, unconstify(char *, key), ioparam, -1);
	if (typmod >= 0)
	{
		Datum		held = OidInputFunctionCall(infunc, unconstify(char *, key), ioparam, typmod);

		if (basetype == NUMERICOID
			? !DatumGetBool(DirectFunctionCall2(numeric_eq, value, held))
			: strcmp(OidOutputFunctionCall(outfunc, value), OidOutputFunctionCall(outfunc, held)) != 0)
			return NULL;
	}
	if (basetype == NUMERICOID)
	{
		if (numeric_is_nan(DatumGetNumeric(value)) || numeric_is_inf(DatumGetNumeric(value)))
			return NULL;
		value = DirectFunctionCall1(numeric_trim_scale, value);
	}
	return OidOutputFunctionCall(outfunc, value);
}

PG_FUNCTION_INFO_V1(crm_subject_key);
Datum
crm_subject_key(PG_FUNCTION_ARGS)
{
	CrmTableLabel tl;
	Oid			relid;
	AttrNumber	keyatt;
	Oid			basetype;
	int32		typmod;
	Oid			collid;
	char	   *key;
	char	   *canonical;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("subject and key must not be NULL")));
	relid = PG_GETARG_OID(0);
	crm_require_relation(relid);
	require_subject(relid, &tl);
	keyatt = get_attnum(relid, tl.key);
	if (keyatt == InvalidAttrNumber)	/* dropped since (a reload): no key column */
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("table %u was renamed or dropped while this was being recorded", relid),
				 errhint("Record it again: it then goes to the table that has the name now.")));
	get_atttypetypmodcoll(relid, keyatt, &basetype, &typmod, &collid);
	basetype = getBaseTypeAndTypmod(basetype, &typmod);
	if (!crm_key_type_supported(basetype))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the key column \"%s\" of table %s has type %s, which crm_privacy cannot read keys of",
						tl.key, get_rel_name(relid), format_type_be(basetype)),
				 errhint("Key columns of subject tables are smallint, integer, bigint, numeric, uuid, text or varchar (or a domain over one), or an enum.")));

	key = text_to_cstring(PG_GETARG_TEXT_PP(1));
	canonical = crm_canonical_key(basetype, typmod, key);
	if (canonical == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("key \"%s\" does not fit key column \"%s\" of table %s, of type %s",
						key, tl.key, get_rel_name(relid), format_type_with_typemod(basetype, typmod)),
				 errdetail("The column holds it as another value, or as no number.")));
	PG_RETURN_TEXT_P(cstring_to_text(canonical));
}

/*
 * SQL: privacy.check_rule(tbl, col, rule): refuse a treatment that does not
 * parse or does not fit the column of a labelled table.
 */
PG_FUNCTION_INFO_V1(crm_check_rule);
Datum
crm_check_rule(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *col;
	char	   *ruletext;
	CrmTableLabel tl;
	AttrNumber	attnum;
	CrmRule		rule;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table, column and rule must not be NULL")));
	relid = PG_GETARG_OID(0);
	col = NameStr(*PG_GETARG_NAME(1));
	ruletext = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (!crm_get_table_label(relid, &tl))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("table %s is not labelled as a subject or related table",
						get_rel_name(relid) ? get_rel_name(relid) : "(dropped)")));
	attnum = get_attnum(relid, col);
	if (attnum == InvalidAttrNumber || attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						col, get_rel_name(relid))));
	crm_parse_rule(ruletext, &rule);
	(void) crm_rule_fits(ruletext, &rule, col, get_atttype(relid, attnum), true);
	PG_RETURN_VOID();
}

/* The columns of a table with their labels. */
static List *
table_columns(Oid relid)
{
	List	   *result = NIL;
	Relation	rel = relation_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		ColumnSpec *c;
		ObjectAddress addr;
		char	   *label;

		if (att->attisdropped)
			continue;
		c = palloc0(sizeof(ColumnSpec));
		c->name = pstrdup(NameStr(att->attname));
		c->attnum = att->attnum;
		c->typid = att->atttypid;
		c->typmod = att->atttypmod;
		ObjectAddressSubSet(addr, RelationRelationId, relid, att->attnum);
		label = GetSecurityLabel(&addr, CRM_PROVIDER);
		c->labelled = (label != NULL);
		if (c->labelled)
			crm_parse_column_label(label, &c->cl);
		else
			crm_default_column_label(&c->cl);
		result = lappend(result, c);
	}
	relation_close(rel, AccessShareLock);
	return result;
}

/*
 * The text of a key value, as privacy.subject_key() writes it: through the
 * output function of the key's base type.  For a built-in base type the
 * cast to text is that (only a superuser can add casts between built-in
 * types); for any other type format('%s') calls the output function, so no
 * cast the table's owner may have created runs in the reader's query.
 */
static char *
key_text(const char *col, Oid typid)
{
	Oid			base = getBaseType(typid);

	if (base < FirstNormalObjectId)
		return psprintf("CAST(CAST(%s AS %s) AS pg_catalog.text)", col, type_name(base, -1));
	return psprintf("pg_catalog.format('%%s', %s)", col);
}

/*
 * Append the SQL of a rule applied to the column reference col; the result
 * has the column's exact type.  keyexpr is the SQL of the pseudonym key
 * (bytea) for pseudonym and noise rules; seedexpr the text of the row's key,
 * which makes noise stable (NULL: random noise).  Without keyexpr pseudonym
 * rules call privacy.pseudonym(), which only privacy administrators may.
 */
void
crm_append_rule(StringInfo buf, const CrmRule *rule, const char *col, Oid typid, int32 typmod,
				const char *context, const char *keyexpr, const char *seedexpr)
{
	Oid			base = getBaseType(typid);
	char	   *type = type_name(typid, typmod);
	char	   *basename = type_name(base, -1);
	const char *mask_fn = NULL;
	char	   *noise_args;

	/* the masks take a character(n) value as it is (mask.sql), else text */
	const char *mask_arg = base == BPCHAROID ? "pg_catalog.bpchar" : "pg_catalog.text";

	switch (rule->kind)
	{
		case CRM_RULE_KEEP:
			appendStringInfoString(buf, col);
			return;
		case CRM_RULE_NULL:
			appendStringInfo(buf, "CAST(NULL AS %s)", type);
			return;
		case CRM_RULE_PARTIAL:
			appendStringInfo(buf, "CAST(privacy.mask_partial(CAST(%s AS %s), %d, %d) AS %s)",
							 col, mask_arg, rule->first, rule->last, type);
			return;
		case CRM_RULE_EMAIL:
			mask_fn = "privacy.mask_email";
			break;
		case CRM_RULE_PHONE:
			mask_fn = "privacy.mask_phone";
			break;
		case CRM_RULE_NAME:
			mask_fn = "privacy.mask_name";
			break;
		case CRM_RULE_CN_ID:
			mask_fn = "privacy.mask_cn_id";
			break;
		case CRM_RULE_CARD:
			mask_fn = "privacy.mask_card";
			break;
		case CRM_RULE_PSEUDONYM:
			{
				const char *fn = keyexpr ? "privacy.keyed_pseudonym" : "privacy.pseudonym";
				char	   *args = keyexpr ? psprintf("%s, %s", keyexpr, quote_literal_cstr(context))
					: quote_literal_cstr(context);

				if (base == INT8OID)
					appendStringInfo(buf, "CAST(%s(CAST(%s AS pg_catalog.int8), %s) AS %s)",
									 fn, col, args, type);
				else if (base == INT4OID)
					appendStringInfo(buf, "CAST(%s_int(CAST(%s AS pg_catalog.int4), %s) AS %s)",
									 fn, col, args, type);
				else
					appendStringInfo(buf, "CAST(%s(CAST(%s AS pg_catalog.text), %s) AS %s)",
									 fn, col, args, type);
				return;
			}
		case CRM_RULE_GENERALIZE_STEP:
			appendStringInfo(buf, "CAST(privacy.generalize(CAST(%s AS %s), CAST(%s AS %s)) AS %s)",
							 col, basename, quote_literal_cstr(rule->number), basename, type);
			return;
		case CRM_RULE_GENERALIZE_UNIT:
			appendStringInfo(buf, "CAST(privacy.generalize(CAST(%s AS %s), %s) AS %s)",
							 col, basename, quote_literal_cstr(rule->unit), type);
			return;
		case CRM_RULE_NOISE_RATIO:
		case CRM_RULE_NOISE_INTERVAL:
			noise_args = rule->kind == CRM_RULE_NOISE_RATIO
				? psprintf("CAST(%s AS pg_catalog.float8)", quote_literal_cstr(rule->number))
				: psprintf("CAST(%s AS pg_catalog.interval)",
						   quote_literal_cstr(psprintf("%d %ss", rule->amount, rule->unit)));
			if (keyexpr && seedexpr)
				appendStringInfo(buf, "CAST(privacy.keyed_noise(CAST(%s AS %s), %s, %s, %s, %s) AS %s)",
								 col, basename, noise_args, keyexpr,
								 quote_literal_cstr(psprintf("noise %s", context)), seedexpr, type);
			else
				appendStringInfo(buf, "CAST(privacy.noise(CAST(%s AS %s), %s) AS %s)",
								 col, basename, noise_args, type);
			return;
		case CRM_RULE_FN:
			appendStringInfo(buf, "%s(%s)",
							 quote_qualified_identifier(rule->fn_schema, rule->fn_name), col);
			return;
	}
	appendStringInfo(buf, "CAST(%s(CAST(%s AS %s)) AS %s)", mask_fn, col, mask_arg, type);
}

/* The treatment of column col of relid in a disclosure profile, or NULL. */
static const char *
treatment_of(List *treatments, const char *profile, Oid relid, const char *col)
{
	ListCell   *lc;

	foreach(lc, treatments)
	{
		Treatment  *t = (Treatment *) lfirst(lc);

		if (t->relid == relid && strcmp(t->profile, profile) == 0 && strcmp(t->col, col) == 0)
			return t->rule;
	}
	return NULL;
}

/*
 * A NULL of the column's exact type.  For a domain, CAST(NULL AS domain)
 * would run the domain's checks in the reader's query (code of the type's
 * owner, and an error for NOT NULL domains), so the NULL is read from the
 * column itself, in a subquery that returns no row and runs once.
 */
static char *
typed_null(const TableSpec *t, const ColumnSpec *c)
{
	if (get_typtype(c->typid) != TYPTYPE_DOMAIN)
		return psprintf("CAST(NULL AS %s)", type_name(c->typid, c->typmod));
	return psprintf("(SELECT z.%s FROM ONLY %s z WHERE false)", quote_identifier(c->name),
					quote_qualified_identifier(t->nspname, t->relname));
}

/* What the SELECT of a view needs besides the table (filled by append_column). */
typedef struct ViewNeeds
{
	const char *seed;			/* the text of the row's key, for stable noise */
	const char *sensitive;		/* the condition "subject opted out of sensitive_data" */
} ViewNeeds;

static const CrmRule null_rule = {.kind = CRM_RULE_NULL};

/*
 * The newest pseudonym key, read with the view owner's rights: a scalar
 * subquery, evaluated once per query.  It is no column of the view, so no
 * reader's function can see it.
 */
#define CURRENT_KEY "(SELECT k.key FROM privacy.pseudonym_key k ORDER BY k.id DESC LIMIT 1)"

/*
 * What a view does to a column, for the column's comment: a tool shows it
 * beside the base table's own comment.  rule is the rule applied (NULL: in
 * clear), hidden whether the column is NULL for every reader.
 */
static char *
describe_column(const ColumnSpec *c, const ViewTarget *v, const CrmRule *rule, bool hidden)
{
	if (v->kind == VIEW_FULL)
		return pstrdup("in clear");
	if (!c->labelled)
		return pstrdup("NULL: the column has no crm_privacy label");
	if (v->kind == VIEW_STANDARD || v->kind == VIEW_OPTOUT)
	{
		if (rule == NULL || rule->kind == CRM_RULE_KEEP)
			return pstrdup("in clear");
		if (rule->kind == CRM_RULE_NULL)
			return psprintf("NULL below %s clearance", crm_level_name(c->cl.level));
		return psprintf("masked (%s) below %s clearance", crm_rule_to_string(rule),
						crm_level_name(c->cl.level));
	}
	if (hidden && v->kind == VIEW_DISCLOSE && rule == NULL)
		return psprintf("NULL: not disclosed to %s", v->name);
	if (hidden || rule == NULL || rule->kind == CRM_RULE_NULL)
		return pstrdup("NULL");
	if (rule->kind == CRM_RULE_KEEP)
		return pstrdup("in clear");
	return psprintf("%s (%s)", v->kind == VIEW_ANON ? "anonymized" : "disclosed as",
					crm_rule_to_string(rule));
}

/* Append the select-list expression of one column in one kind of view. */
static void
append_column(StringInfo buf, const TableSpec *t, ColumnSpec *c,
			  const ViewTarget *v, List *treatments, ViewNeeds *needs)
{
	StringInfoData expr;
	char	   *col = psprintf("%s.%s", table_alias(v), quote_identifier(c->name));
	const CrmRule *rule = NULL;
	CrmRule		treatment;
	bool		hidden = false;

	initStringInfo(&expr);
	if (v->kind == VIEW_FULL)
		appendStringInfoString(&expr, col);
	else if (!c->labelled)
		hidden = true;
	else if (v->kind == VIEW_ANON)
		rule = &c->cl.anon;
	else if (v->kind == VIEW_DISCLOSE)
	{
		const char *text = treatment_of(treatments, v->name, t->relid, c->name);

		if (text == NULL)
			hidden = true;
		else
		{
			crm_parse_rule(text, &treatment);
			rule = &treatment;

			/*
			 * A treatment set for a column that has since changed type (a
			 * reload): the column is NULL in this profile, not an error in
			 * the owner's DDL nor in the recipient's query.
			 */
			if (!crm_rule_fits(text, &treatment, c->name, c->typid, false))
			{
				ereport(WARNING,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("treatment \"%s\" of disclosure profile \"%s\" does not fit column \"%s\" of table %s, of type %s",
								text, v->name, c->name,
								quote_qualified_identifier(t->nspname, t->relname),
								format_type_be(c->typid)),
						 errdetail("The column is NULL in view %s until the treatment or the column's type changes.",
								   quote_qualified_identifier(v->schema, t->relname)),
						 errhint("privacy.disclose() sets a treatment that fits; privacy.disclosure_columns lists them.")));
				rule = &null_rule;
			}
		}
	}
	else if (c->cl.level == CRM_LEVEL_PUBLIC || c->cl.mask.kind == CRM_RULE_KEEP)
		appendStringInfoString(&expr, col);
	else
		rule = &c->cl.mask;

	if (rule && rule->kind != CRM_RULE_KEEP)
	{
		bool		clearance = (v->kind == VIEW_STANDARD || v->kind == VIEW_OPTOUT);
		bool		untrusted = (rule->kind != CRM_RULE_NULL &&
								 get_typtype(c->typid) == TYPTYPE_DOMAIN &&
								 !crm_domain_trusted(c->typid));

		if (untrusted && !c->warned)
			ereport(WARNING,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("column \"%s\" of table %s is NULL where the privacy views would mask it",
							c->name, quote_qualified_identifier(t->nspname, t->relname)),
					 errdetail("Its type %s is a domain whose checks could run code of a role other than a superuser (a function it owns, a volatile function, a type other than a plain built-in one); crm_privacy never runs them for a reader.",
							   format_type_be(c->typid)),
					 errhint("Use a domain whose checks use only built-in types and non-volatile built-in functions.")));
		c->warned |= untrusted;
		if (untrusted)
			rule = &null_rule;	/* described as what it is: NULL */
		if (clearance)
		{
			/* in clear at or above the column's level */
			appendStringInfo(&expr,
							 "CASE WHEN (SELECT privacy.clearance_level()) OPERATOR(pg_catalog.>=) %d THEN %s ELSE ",
							 (int) c->cl.level, col);
		}
		else if (rule->kind == CRM_RULE_NULL)
			hidden = true;
		if (rule->kind == CRM_RULE_NULL)
			appendStringInfoString(&expr, typed_null(t, c));
		else
		{
			/*
			 * Pseudonym contexts: a subject's key gets the same pseudonym in
			 * the subject table and its related tables (joins work); every
			 * other column has a context of its own, so values written into
			 * one column (or into a table not related to the subject) are no
			 * dictionary for another.  Per profile too: recipients cannot
			 * link their data sets.  Noise per column.
			 */
			const char *column = strcmp(c->name, t->tl.key) == 0 ? t->subject_name
				: psprintf("%s %s.%s", t->subject_name, t->relname, c->name);
			const char *context = rule->kind == CRM_RULE_PSEUDONYM
				? (v->kind == VIEW_DISCLOSE ? psprintf("%s %s", v->name, column) : column)
				: psprintf("%s.%s", t->relname, c->name);

			crm_append_rule(&expr, rule, col, c->typid, c->typmod, context,
							v->snapshot ? "$2" : CURRENT_KEY, needs->seed);
		}
		if (clearance)
			appendStringInfoString(&expr, " END");
	}
	else if (rule)
		appendStringInfoString(&expr, col);

	c->does = describe_column(c, v, rule, hidden);
	c->hidden = hidden;
	if (hidden)
		appendStringInfoString(buf, typed_null(t, c));
	else if (needs->sensitive && v->kind != VIEW_FULL && c->cl.cls == CRM_CLASS_SENSITIVE)
	{
		c->does = psprintf("%s; NULL for subjects who opted out of sensitive_data", c->does);
		/*
		 * NULL for subjects who opted out of sensitive_data.  The opt-out is
		 * looked up only for a value that would otherwise not be NULL, so a
		 * reader whose clearance masks the column to NULL never makes
		 * EXPLAIN ANALYZE count a subject's choice.
		 */
		appendStringInfo(buf, "CASE WHEN (%s) IS NULL OR NOT (%s) THEN %s ELSE %s END",
						 expr.data, needs->sensitive, expr.data, typed_null(t, c));
	}
	else
		appendStringInfoString(buf, expr.data);
	appendStringInfo(buf, " AS %s", quote_identifier(c->name));
}

/*
 * The text of the row's own key, which seeds stable noise: its primary key
 * when it has one (a related table's rows then draw independently), else
 * the label's key column.
 */
static char *
row_seed(const TableSpec *t, const char *alias)
{
	Relation	rel = relation_open(t->relid, AccessShareLock);
	Oid			pk = crm_primary_key_index(rel);
	StringInfoData seed;

	initStringInfo(&seed);
	if (OidIsValid(pk))
	{
		HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(pk));
		Form_pg_index index;

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for index %u", pk);
		index = (Form_pg_index) GETSTRUCT(tup);
		for (int i = 0; i < index->indnkeyatts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), index->indkey.values[i] - 1);

			if (i > 0)
				appendStringInfoString(&seed, " OPERATOR(pg_catalog.||) E'\\x1f' OPERATOR(pg_catalog.||) ");
			appendStringInfoString(&seed, key_text(psprintf("%s.%s", alias, quote_identifier(NameStr(att->attname))),
												   att->atttypid));
		}
		ReleaseSysCache(tup);
	}
	relation_close(rel, AccessShareLock);
	if (seed.len == 0)
		appendStringInfoString(&seed, key_text(psprintf("%s.%s", alias, quote_identifier(t->tl.key)),
											   get_atttype(t->relid, get_attnum(t->relid, t->tl.key))));
	return seed.data;
}

/*
 * The choice's column a key column (keycol, an expression) compares with, in
 * *choicecol, and what it compares: keycol, or its canonical text.
 */
static const char *
choice_key(const TableSpec *t, const char *keycol, const char **choicecol)
{
	Oid			keytype = getBaseType(get_atttype(t->relid, get_attnum(t->relid, t->tl.key)));

	/*
	 * Numbers compare as numbers, in the column's own type against the
	 * choice's key_int or key_num (an int4 column of a related table against
	 * a bigint subject key, numeric(12,2) against numeric(12,0)); any other
	 * key as the text of its type, which subject_key() made canonical.
	 */
	if (keytype == INT2OID || keytype == INT4OID || keytype == INT8OID)
		*choicecol = "key_int";
	else if (keytype == NUMERICOID || keytype == FLOAT4OID || keytype == FLOAT8OID)
		*choicecol = "key_num";	/* a float column compares with it as a float */
	else
	{
		*choicecol = "key";
		return key_text(keycol, keytype);
	}
	return keycol;
}

/*
 * The condition "the row's subject opted out of purpose", as EXISTS: in a
 * WHERE clause NOT EXISTS runs as an anti-join (or an index probe for a
 * point lookup); inside an expression the planner gets both an index probe
 * per row and a hashed pass over the opt-outs, and picks by the rows it
 * expects.
 */
static char *
opted_out_key(const TableSpec *t, const char *keycol, const char *purpose)
{
	const char *choicecol;
	const char *key = choice_key(t, keycol, &choicecol);

	/*
	 * On a Citus cluster the views look in the copy on every node (a
	 * reference table, privacy.citus_setup()), which holds opt-outs only:
	 * Citus joins no distributed table with the coordinator's own tables.
	 */
	if (crm_citus_present())
		return psprintf("EXISTS (SELECT FROM privacy.optout_keys c"
						" WHERE c.subject OPERATOR(pg_catalog.=) CAST(%u AS pg_catalog.oid)"
						" AND c.purpose OPERATOR(pg_catalog.=) %s"
						" AND c.%s OPERATOR(pg_catalog.=) %s)",
						t->subject, quote_literal_cstr(purpose), choicecol, key);
	return psprintf("EXISTS (SELECT FROM privacy.subject_choices c"
					" WHERE c.subject OPERATOR(pg_catalog.=) CAST(%u AS pg_catalog.oid)"
					" AND c.purpose OPERATOR(pg_catalog.=) %s AND c.opted_out"
					" AND c.%s OPERATOR(pg_catalog.=) %s)",
					t->subject, quote_literal_cstr(purpose), choicecol, key);
}

static char *
opted_out(const TableSpec *t, const char *alias, const char *purpose)
{
	return opted_out_key(t, psprintf("%s.%s", alias, quote_identifier(t->tl.key)), purpose);
}

/*
 * Append "SELECT <columns> FROM table t": the columns
 * as view v shows them, after first (raw SQL, or NULL).
 */
static void
append_core(StringInfo buf, const TableSpec *t, List *columns, List *all_columns,
			const ViewTarget *v, List *treatments, const char *first)
{
	ViewNeeds	needs = {0};
	ListCell   *lc;
	bool		sensitive = false;

	foreach(lc, all_columns)
	{
		ColumnSpec *c = (ColumnSpec *) lfirst(lc);

		sensitive |= (c->labelled && c->cl.cls == CRM_CLASS_SENSITIVE);
	}
	if (sensitive && v->kind != VIEW_FULL && !v->snapshot)
		needs.sensitive = opted_out(t, table_alias(v), "sensitive_data");
	if (v->kind != VIEW_FULL)
		needs.seed = row_seed(t, table_alias(v));

	appendStringInfoString(buf, "SELECT ");
	if (first)
		appendStringInfo(buf, "%s%s", first, columns != NIL ? ", " : "");
	foreach(lc, columns)
	{
		if (foreach_current_index(lc) > 0)
			appendStringInfoString(buf, ", ");
		append_column(buf, t, (ColumnSpec *) lfirst(lc), v, treatments, &needs);
	}
	appendStringInfo(buf, " FROM %s %s", quote_qualified_identifier(t->nspname, t->relname),
					 quote_identifier(table_alias(v)));
}

/* The quasi-identifier columns of a table, in its order. */
static List *
quasi_identifiers(List *columns)
{
	List	   *qi = NIL;
	ListCell   *lc;

	foreach(lc, columns)
	{
		ColumnSpec *c = (ColumnSpec *) lfirst(lc);

		if (c->labelled && c->cl.cls == CRM_CLASS_QUASI_IDENTIFIER)
			qi = lappend(qi, c);
	}
	return qi;
}

/* Append "PARTITION BY a.qi1, a.qi2 ...", or nothing (one class: the table). */
static void
append_classes(StringInfo buf, List *qi)
{
	ListCell   *lc;

	foreach(lc, qi)
		appendStringInfo(buf, "%sa.%s", foreach_current_index(lc) > 0 ? ", " : "PARTITION BY ",
						 quote_identifier(((ColumnSpec *) lfirst(lc))->name));
}

static bool table_spec(Oid relid, TableSpec *t);

/*
 * The anonymous view of a related table leaves out the rows of the subjects
 * its subject's anonymous view suppresses (k-anonymity): the join and the
 * condition that do it, or NULL when the subject asks for no k.  The classes
 * are those of the subject's view, of the anonymized quasi-identifiers; a
 * row with no subject (its key NULL) stays.  An outer join to the distinct
 * keys kept, not "key IN (...)" under an OR: that is a subquery the planner
 * can hash only while the keys fit in work_mem, and otherwise scans once per
 * row (hours for a million subjects).
 */
static char *
related_survivors(const TableSpec *t, List *treatments, bool snapshot)
{
	TableSpec	s;
	List	   *columns;
	StringInfoData buf;
	ViewTarget	anon = {.kind = VIEW_ANON, .schema = "privacy_anon", .snapshot = snapshot};
	const char *fk = psprintf("t.%s", quote_identifier(t->tl.key));

	if (!t->tl.related || !table_spec(t->subject, &s) || s.tl.k <= 0)
		return NULL;
	columns = table_columns(s.relid);
	initStringInfo(&buf);
	appendStringInfoString(&buf, " LEFT JOIN (SELECT DISTINCT s.crm_privacy_key FROM"
						   " (SELECT a.crm_privacy_key, pg_catalog.count(*) OVER (");
	append_classes(&buf, quasi_identifiers(columns));
	appendStringInfoString(&buf, ") AS crm_privacy_class_size FROM (");
	append_core(&buf, &s, quasi_identifiers(columns), columns, &anon, treatments,
				psprintf("t.%s AS crm_privacy_key", quote_identifier(s.tl.key)));
	appendStringInfo(&buf, ") a) s WHERE s.crm_privacy_class_size OPERATOR(pg_catalog.>=) %d) crm_privacy_kept"
					 " ON crm_privacy_kept.crm_privacy_key OPERATOR(pg_catalog.=) %s"
					 " WHERE (%s IS NULL OR crm_privacy_kept.crm_privacy_key IS NOT NULL)", s.tl.k, fk, fk);
	return buf.data;
}

/* The MD5 of a view's query, in hex: what a snapshot was made from. */
static char *
query_md5(const char *query)
{
	char	   *md5 = palloc(33);
	const char *errstr = NULL;

	if (!pg_md5_hash(query, strlen(query), md5, &errstr))
		elog(ERROR, "could not compute an MD5 hash: %s", errstr ? errstr : "out of memory");
	return md5;
}

/* Append the SELECT of one view of a table. */
static void
append_view_query(StringInfo buf, const TableSpec *t, List *columns, const ViewTarget *v,
				  List *treatments)
{
	ListCell   *lc;
	const char *survivors = v->kind == VIEW_ANON ? related_survivors(t, treatments, v->snapshot) : NULL;
	const char *hidden = v->snapshot ? psprintf("%s.%s AS crm_privacy_key", table_alias(v),
												quote_identifier(t->tl.key)) : NULL;

	/* k-anonymity: count each quasi-identifier class, suppress the small ones */
	if (v->kind == VIEW_ANON && t->tl.k > 0)
	{
		appendStringInfoString(buf, "SELECT ");
		if (hidden)
			appendStringInfoString(buf, "s.crm_privacy_key, ");
		foreach(lc, columns)
		{
			ColumnSpec *c = (ColumnSpec *) lfirst(lc);

			appendStringInfo(buf, "%ss.%s", foreach_current_index(lc) > 0 ? ", " : "",
							 quote_identifier(c->name));
		}
		appendStringInfoString(buf, " FROM (SELECT a.*, pg_catalog.count(*) OVER (");
		append_classes(buf, quasi_identifiers(columns));
		appendStringInfoString(buf, ") AS crm_privacy_class_size FROM (");
	}

	if (survivors)
	{
		/*
		 * The subjects' suppression is applied below an OFFSET 0, where no
		 * condition of the reader's query can go: a reader's condition that
		 * became an index condition beside it would make EXPLAIN ANALYZE
		 * count the suppressed rows that meet it, an oracle on their values.
		 */
		appendStringInfoString(buf, "SELECT ");
		if (hidden)
			appendStringInfoString(buf, "kept.crm_privacy_key, ");
		foreach(lc, columns)
			appendStringInfo(buf, "%skept.%s", foreach_current_index(lc) > 0 ? ", " : "",
							 quote_identifier(((ColumnSpec *) lfirst(lc))->name));
		appendStringInfoString(buf, " FROM (");
		append_core(buf, t, columns, columns, v, treatments, hidden);
		appendStringInfo(buf, "%s OFFSET 0) kept", survivors);
	}
	else
		append_core(buf, t, columns, columns, v, treatments, hidden);

	/*
	 * A full view refuses to be read unrecorded (a one-time check).  The read
	 * audit counts the rows a flattened view produces at its table's scans;
	 * the other views end in privacy.view_rows('schema.view'), which has no
	 * column and is not volatile: the planner makes it a one-time filter of a
	 * Result node at the top of the view's plan, whose rows are the rows the
	 * view produces, and the read audit counts them there (hooks.c).
	 */
	if (v->kind == VIEW_FULL)
		appendStringInfoString(buf, " WHERE (SELECT privacy.read_audit_ready())");
	if (flattened(v))
		return;
	appendStringInfoString(buf, " WHERE ");
	if (v->snapshot)
	{
		/* the opt-outs are the reader's view's (crm_snapshot_sql) */
		if (v->kind == VIEW_ANON && t->tl.k > 0)
			appendStringInfo(buf, "true) a) s WHERE s.crm_privacy_class_size OPERATOR(pg_catalog.>=) %d",
							 t->tl.k);
		else
			appendStringInfoString(buf, "true");
		return;
	}
	if (v->row_purpose)
		appendStringInfo(buf, "NOT %s AND ", opted_out(t, table_alias(v), v->row_purpose));
	if (v->kind == VIEW_ANON && t->tl.k > 0)
		appendStringInfo(buf, "true) a) s WHERE s.crm_privacy_class_size OPERATOR(pg_catalog.>=) %d AND ",
						 t->tl.k);
	appendStringInfo(buf, "privacy.view_rows(%s)",
					 quote_literal_cstr(quote_qualified_identifier(v->schema, t->relname)));
}

/*
 * The COMMENT statements of a view: the table's comment and its columns',
 * each followed by what the view does, so that a BI tool shows users what
 * they get.  After append_view_query, which sets what each column gets.
 */
static char *
view_comments(const TableSpec *t, List *columns, const ViewTarget *v, const char *qname)
{
	StringInfoData sql;
	StringInfoData does;
	char	   *own = GetComment(t->relid, RelationRelationId, 0);
	ListCell   *lc;

	initStringInfo(&does);
	appendStringInfo(&does, "crm_privacy %s view of %s", kind_names[v->kind],
					 quote_qualified_identifier(t->nspname, t->relname));
	switch (v->kind)
	{
		case VIEW_STANDARD:
		case VIEW_OPTOUT:
			appendStringInfoString(&does, ": columns masked below the reader's clearance");
			break;
		case VIEW_FULL:
			appendStringInfoString(&does, ": every column in clear, every read recorded in privacy.access_log");
			break;
		case VIEW_ANON:
			appendStringInfoString(&does, ": anonymized");
			if (t->tl.k > 0)
				appendStringInfo(&does, ", rows whose quasi-identifiers are shared by fewer than %d rows left out", t->tl.k);
			break;
		case VIEW_DISCLOSE:
			appendStringInfo(&does, ": what disclosure profile %s receives", v->name);
			break;
	}
	if (v->row_purpose)
		appendStringInfo(&does, "; subjects who opted out of %s left out", v->row_purpose);

	initStringInfo(&sql);
	appendStringInfo(&sql, "COMMENT ON VIEW %s IS %s;", qname,
					 quote_literal_cstr(own ? psprintf("%s [%s]", own, does.data) : does.data));
	foreach(lc, columns)
	{
		ColumnSpec *c = (ColumnSpec *) lfirst(lc);
		char	   *col = GetComment(t->relid, RelationRelationId, c->attnum);

		appendStringInfo(&sql, " COMMENT ON COLUMN %s.%s IS %s;", qname, quote_identifier(c->name),
						 quote_literal_cstr(col ? psprintf("%s [crm_privacy: %s]", col, c->does)
											: psprintf("crm_privacy: %s", c->does)));
	}
	return sql.data;
}

/* Make obj (class classid) a member of the extension, unless it is already. */
static void
add_to_extension(Oid classid, Oid objid)
{
	ObjectAddress obj;
	ObjectAddress ext;

	if (creating_extension)
		return;					/* CREATE EXTENSION records membership itself */
	ObjectAddressSet(obj, classid, objid);
	ObjectAddressSet(ext, ExtensionRelationId, crm_extension_oid());
	recordDependencyOn(&obj, &ext, DEPENDENCY_EXTENSION);
}

/*
 * Record the privileges the extension has just given a generated schema or
 * view as its initial privileges, as CREATE EXTENSION does for what its
 * script grants: pg_dump then writes only what users granted or revoked
 * since (a GRANT on a schema or view that a --schema-only restore does not
 * make would fail), and the grants of privacy.access_grants come back with
 * its rows.
 */
static void
record_baseline(Oid classid, Oid objid)
{
	if (creating_extension)
		return;					/* CREATE EXTENSION records them itself */
	CommandCounterIncrement();
	recordExtObjInitPriv(objid, classid);
}

/*
 * SQL: privacy.record_baseline(view regclass), for privacy.grants_changed(),
 * which leaves the view with only the grants of privacy.access_grants when
 * it calls this.  Only for the extension's own views.
 */
PG_FUNCTION_INFO_V1(crm_record_baseline);
Datum
crm_record_baseline(PG_FUNCTION_ARGS)
{
	Oid			viewid = PG_GETARG_OID(0);
	char	   *name = get_rel_name(viewid);

	if (get_rel_relkind(viewid) != RELKIND_VIEW ||
		!crm_is_extension_member(RelationRelationId, viewid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a crm_privacy view", name ? name : psprintf("%u", viewid))));
	record_baseline(RelationRelationId, viewid);
	PG_RETURN_VOID();
}

static void refuse_if_used(Oid viewid, const char *detail);

/* Drop a generated object (a view or a schema) that belongs to the extension. */
static void
drop_member(Oid classid, Oid objid, DropBehavior behavior)
{
	ObjectAddress obj;

	deleteDependencyRecordsForSpecific(classid, objid, DEPENDENCY_EXTENSION,
									   ExtensionRelationId, crm_extension_oid());
	CommandCounterIncrement();
	ObjectAddressSet(obj, classid, objid);
	performDeletion(&obj, behavior, PERFORM_DELETION_INTERNAL);
	CommandCounterIncrement();
}

/* Is this the name of one of the schemas of generated views? */
static bool
is_view_schema_name(const char *nspname)
{
	return strcmp(nspname, "privacy_standard") == 0 || strcmp(nspname, "privacy_full") == 0 ||
		strcmp(nspname, "privacy_anon") == 0 ||
		strncmp(nspname, "privacy_optout_", 15) == 0 ||
		strncmp(nspname, "privacy_disclose_", 17) == 0;
}

/*
 * The generated views (members of the extension in its view schemas), all
 * of them or those built on base (a table OID), but those in keep_views.
 * SPI is connected.
 */
static List *
generated_views(Oid base, List *keep_views)
{
	StringInfoData sql;
	List	   *views = NIL;

	initStringInfo(&sql);
	appendStringInfoString(&sql,
						   "SELECT c.oid, n.nspname FROM pg_catalog.pg_class c"
						   " JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
						   " WHERE c.relkind OPERATOR(pg_catalog.=) 'v'");
	if (OidIsValid(base))
		appendStringInfo(&sql,
						 " AND EXISTS (SELECT FROM pg_catalog.pg_depend d"
						 " JOIN pg_catalog.pg_rewrite r ON r.oid OPERATOR(pg_catalog.=) d.objid"
						 " WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
						 " AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
						 " AND d.refobjid OPERATOR(pg_catalog.=) CAST(%u AS pg_catalog.oid)"
						 " AND r.ev_class OPERATOR(pg_catalog.=) c.oid)", base);
	appendStringInfoString(&sql, " ORDER BY n.nspname, c.relname");
	exec_sql(sql.data);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid			viewid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
															SPI_tuptable->tupdesc, 1, &isnull));
		char	   *nspname = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);

		if (is_view_schema_name(nspname) && crm_is_extension_member(RelationRelationId, viewid) &&
			!list_member_oid(keep_views, viewid))
			views = lappend_oid(views, viewid);
	}
	return views;
}

/*
 * Lock the generated views built on relid, before DDL on relid that
 * rebuilds them locks relid itself: a reader locks a view, then its table;
 * DDL that locked the table first and then replaced the view would deadlock
 * with it.
 */
void
crm_lock_views_of(Oid relid)
{
	MemoryContext callercxt = CurrentMemoryContext;
	List	   *views;
	ListCell   *lc;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	views = generated_views(relid, NIL);
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(callercxt);

		views = list_copy(views);	/* out of SPI's memory */
		MemoryContextSwitchTo(oldcxt);
	}
	SPI_finish();
	foreach(lc, views)
		LockRelationOid(lfirst_oid(lc), AccessExclusiveLock);
}

/*
 * Drop the generated views, all of them or those built on base (a table
 * OID); with all, also the opt-out and disclosure schemas that keep is not
 * to keep.
 */
static void
drop_generated(Oid base, List *keep_schemas, List *keep_views)
{
	List	   *views = generated_views(base, keep_views);
	List	   *schemas = NIL;
	ListCell   *lc;

	foreach(lc, views)
	{
		refuse_if_used(lfirst_oid(lc),
					   "The command drops or changes what the view shows, and PostgreSQL cannot drop a view that another view reads.");
		exec_sql(psprintf("DELETE FROM privacy.view_definitions WHERE view OPERATOR(pg_catalog.=) CAST(%u AS pg_catalog.oid)",
						  lfirst_oid(lc)));
		drop_member(RelationRelationId, lfirst_oid(lc), DROP_RESTRICT);
	}

	if (OidIsValid(base))
		return;

	exec_sql("SELECT n.oid, n.nspname FROM pg_catalog.pg_namespace n"
			 " WHERE n.nspname LIKE 'privacy\\_optout\\_%' OR n.nspname LIKE 'privacy\\_disclose\\_%'");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid			nspid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc, 1, &isnull));
		char	   *nspname = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		bool		kept = false;
		ListCell   *lc2;

		foreach(lc2, keep_schemas)
			kept |= (strcmp((char *) lfirst(lc2), nspname) == 0);
		if (!kept && crm_is_extension_member(NamespaceRelationId, nspid))
			schemas = lappend_oid(schemas, nspid);
	}
	foreach(lc, schemas)
		drop_member(NamespaceRelationId, lfirst_oid(lc), DROP_RESTRICT);
}

/* The schemas of views to build: the fixed three, opt-outs and disclosures. */
static List *
view_targets(void)
{
	List	   *targets = NIL;
	ViewTarget *v;

	for (int k = VIEW_STANDARD; k <= VIEW_ANON; k++)
	{
		v = palloc0(sizeof(ViewTarget));
		v->kind = (ViewKind) k;
		v->schema = psprintf("privacy_%s", kind_names[k]);
		targets = lappend(targets, v);
	}

	exec_sql("SELECT name FROM privacy.purposes WHERE effect OPERATOR(pg_catalog.=) 'rows' ORDER BY name");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		v = palloc0(sizeof(ViewTarget));
		v->kind = VIEW_OPTOUT;
		v->name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		v->schema = psprintf("privacy_optout_%s", v->name);
		v->row_purpose = v->name;
		targets = lappend(targets, v);
	}

	exec_sql("SELECT name, purpose FROM privacy.disclosure_profiles ORDER BY name");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		v = palloc0(sizeof(ViewTarget));
		v->kind = VIEW_DISCLOSE;
		v->name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		v->schema = psprintf("privacy_disclose_%s", v->name);
		v->row_purpose = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		targets = lappend(targets, v);
	}
	return targets;
}

/* The treatments of every disclosure profile. */
static List *
disclosure_treatments(void)
{
	List	   *result = NIL;

	exec_sql("SELECT profile, tbl, col, treatment FROM privacy.disclosure_column_data WHERE tbl IS NOT NULL");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Treatment  *t = palloc(sizeof(Treatment));
		bool		isnull;

		t->profile = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		t->relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
		t->col = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);
		t->rule = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 4);
		result = lappend(result, t);
	}
	return result;
}

/* Make sure the schema of a target exists and belongs to the extension. */
static void
ensure_schema_named(const char *schema, const char *what)
{
	Oid			nspid = get_namespace_oid(schema, true);

	if (OidIsValid(nspid))
	{
		if (!crm_is_extension_member(NamespaceRelationId, nspid))
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_SCHEMA),
					 errmsg("schema \"%s\" exists and does not belong to crm_privacy", schema),
					 errhint("Rename or drop it; crm_privacy keeps its %s there.", what)));
		return;
	}
	exec_sql(psprintf("CREATE SCHEMA %s", quote_identifier(schema)));
	exec_sql(psprintf("GRANT USAGE ON SCHEMA %s TO PUBLIC", quote_identifier(schema)));
	exec_sql(psprintf("COMMENT ON SCHEMA %s IS %s", quote_identifier(schema),
					  quote_literal_cstr(psprintf("crm_privacy: %s", what))));
	add_to_extension(NamespaceRelationId, get_namespace_oid(schema, false));
	record_baseline(NamespaceRelationId, get_namespace_oid(schema, false));
}

static void
ensure_schema(const ViewTarget *v)
{
	ensure_schema_named(v->schema, psprintf("%s views%s%s", kind_names[v->kind],
											v->name ? " of " : "", v->name ? v->name : ""));
}

/* Does view viewid read table relid? */
static bool
view_reads(Oid viewid, Oid relid)
{
	exec_sql(psprintf("SELECT FROM pg_catalog.pg_depend d"
					  " JOIN pg_catalog.pg_rewrite r ON r.oid OPERATOR(pg_catalog.=) d.objid"
					  " WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
					  " AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
					  " AND r.ev_class OPERATOR(pg_catalog.=) CAST(%u AS pg_catalog.oid)"
					  " AND d.refobjid OPERATOR(pg_catalog.=) CAST(%u AS pg_catalog.oid)",
					  viewid, relid));
	return SPI_processed > 0;
}

/* Was view viewid built from the query whose MD5 is md5? */
static bool
stored_definition_is(Oid viewid, const char *md5)
{
	exec_sql(psprintf("SELECT FROM privacy.view_definitions WHERE view OPERATOR(pg_catalog.=) CAST(%u AS pg_catalog.oid)"
					  " AND md5 OPERATOR(pg_catalog.=) '%s'", viewid, md5));
	return SPI_processed > 0;
}

/*
 * Are the view's columns the first of columns, by name and type?  Then
 * CREATE OR REPLACE VIEW can replace it (new columns go at the end).
 */
static bool
columns_extend(Oid viewid, List *columns)
{
	Relation	rel = relation_open(viewid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	bool		result = desc->natts <= list_length(columns);

	for (int i = 0; result && i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		ColumnSpec *c = (ColumnSpec *) list_nth(columns, i);

		result = !att->attisdropped && strcmp(NameStr(att->attname), c->name) == 0 &&
			att->atttypid == c->typid && att->atttypmod == c->typmod;
	}
	relation_close(rel, AccessShareLock);
	return result;
}

/*
 * A view that must be built anew cannot be while other views (a user's
 * report, a TEMP view) read it: name them, and say what to do.
 */
static void
refuse_if_used(Oid viewid, const char *detail)
{
	StringInfoData users;
	char	   *qname = quote_qualified_identifier(get_namespace_name(get_rel_namespace(viewid)),
												   get_rel_name(viewid));

	exec_sql(psprintf("SELECT DISTINCT CAST(CAST(r.ev_class AS pg_catalog.regclass) AS pg_catalog.text)"
					  " FROM pg_catalog.pg_depend d"
					  " JOIN pg_catalog.pg_rewrite r ON r.oid OPERATOR(pg_catalog.=) d.objid"
					  " WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
					  " AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
					  " AND d.refobjid OPERATOR(pg_catalog.=) CAST(%u AS pg_catalog.oid)"
					  " AND r.ev_class OPERATOR(pg_catalog.<>) CAST(%u AS pg_catalog.oid)"
					  " ORDER BY 1", viewid, viewid));
	if (SPI_processed == 0)
		return;
	initStringInfo(&users);
	for (uint64 i = 0; i < SPI_processed; i++)
		appendStringInfo(&users, "%s%s", i > 0 ? ", " : "",
						 SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
	ereport(ERROR,
			(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
			 errmsg("cannot rebuild privacy view %s: %s %s it",
					qname, users.data, SPI_processed > 1 ? "read" : "reads"),
			 errdetail_internal("%s", detail),
			 errhint("Drop %s, run the command again (or privacy.refresh_views()), then create %s again.",
					 users.data, SPI_processed > 1 ? "them" : "it")));
}

/* The names of the roles granted the views of v's kind (privacy.access_grants). */
static List *
grantees(const ViewTarget *v)
{
	List	   *roles = NIL;
	List	   *names = NIL;
	ListCell   *lc;
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		args[2];

	args[0] = CStringGetTextDatum(kind_names[v->kind]);
	args[1] = CStringGetTextDatum(v->name ? v->name : "");
	if (SPI_execute_with_args("SELECT CAST(CAST(role AS pg_catalog.oid) AS pg_catalog.text)"
							  " FROM privacy.access_grants"
							  " WHERE kind OPERATOR(pg_catalog.=) $1 AND name OPERATOR(pg_catalog.=) $2",
							  2, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read privacy.access_grants");
	for (uint64 i = 0; i < SPI_processed; i++)
		roles = lappend_oid(roles, atooid(SPI_getvalue(SPI_tuptable->vals[i],
													   SPI_tuptable->tupdesc, 1)));
	foreach(lc, roles)
	{
		char	   *rolname = GetUserNameFromId(lfirst_oid(lc), true);

		if (rolname)
			names = lappend(names, rolname);
	}
	return names;
}

/* Grant SELECT on view schema.viewname to the roles granted the views of v's kind. */
static void
apply_grants(const ViewTarget *v, const char *schema, const char *viewname)
{
	ListCell   *lc;

	foreach(lc, grantees(v))
		exec_sql(psprintf("GRANT SELECT ON %s.%s TO %s", quote_identifier(schema),
						  quote_identifier(viewname), quote_identifier((char *) lfirst(lc))));
}

/* Is any role a member of roleid? */
static bool
role_has_members(Oid roleid)
{
	Relation	rel = table_open(AuthMemRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	bool		found;

	ScanKeyInit(&key, Anum_pg_auth_members_roleid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(roleid));
	scan = systable_beginscan(rel, AuthMemRoleMemIndexId, true, NULL, 1, &key);
	found = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * The role that owns the views, checked every time views are built: it must
 * exist and be no superuser, unable to log in (but on a Citus cluster, where
 * it logs in to the nodes: citus.c), without BYPASSRLS, and with no member
 * (a member could read every labelled table through its grants).
 */
static Oid
view_role(void)
{
	Oid			roleid = get_role_oid(CRM_VIEW_ROLE, true);
	HeapTuple	tup;
	Form_pg_authid role;
	bool		sound;

	if (!OidIsValid(roleid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role \"%s\" does not exist", CRM_VIEW_ROLE),
				 errhint("DROP EXTENSION crm_privacy and CREATE EXTENSION crm_privacy again make it.")));
	tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(roleid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for role %u", roleid);
	role = (Form_pg_authid) GETSTRUCT(tup);
	/* on a Citus cluster it logs in to the other nodes (citus.c) */
	sound = !role->rolsuper && (!role->rolcanlogin || crm_citus_present()) &&
		!role->rolbypassrls && !role->rolcreaterole && !role->rolreplication;
	ReleaseSysCache(tup);
	if (sound)
		sound = !role_has_members(roleid);
	if (!sound)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" is not fit to own the privacy views", CRM_VIEW_ROLE),
				 errdetail("It must not be a superuser, log in, bypass row-level security, create roles or replicate, and no role may be a member of it."),
				 errhint("A superuser can run ALTER ROLE %s NOSUPERUSER NOLOGIN NOBYPASSRLS NOCREATEROLE NOREPLICATION and revoke its memberships.",
						 CRM_VIEW_ROLE)));
	return roleid;
}

/*
 * Does a labelled table get privacy views (with warn, a WARNING says why
 * not)?  Its policies are evaluated as the reader: they must call trusted
 * code only.  Its key must be of a type the views compare right (a typed
 * table's key can change type with ALTER TYPE, which the label check after
 * it refuses; this is the second line).
 */
static bool
gets_views(const TableSpec *t, bool warn)
{
	char	   *culprit;
	Oid			keytype = get_atttype(t->relid, get_attnum(t->relid, t->tl.key));

	if (!crm_policies_trusted(t->relid, &culprit))
	{
		if (warn)
			ereport(WARNING,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("table %s gets no privacy views",
							quote_qualified_identifier(t->nspname, t->relname)),
					 errdetail("A row-level security policy on it reaches %s, which could run code of a role other than a superuser; policies run as the role that reads a view.",
							   culprit),
					 errhint("Use policies that call only built-in or superuser-owned functions, then run privacy.refresh_views().")));
		return false;
	}
	if (!crm_key_type_supported(keytype))
	{
		if (warn)
			ereport(WARNING,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("table %s gets no privacy views",
							quote_qualified_identifier(t->nspname, t->relname)),
					 errdetail("Its key column \"%s\" has type %s, which cannot be a key.",
							   t->tl.key, OidIsValid(keytype) ? format_type_be(keytype) : "(none)"),
					 errhint("Give the key column a type that can be a key (see the table labels), then run privacy.refresh_views().")));
		return false;
	}
	return true;
}

/* Build every view of one labelled table, owned by the view role. */
static void
build_views(const TableSpec *t, List *targets, List *treatments)
{
	List	   *columns;
	ListCell   *lc;
	int			nest;

	if (!gets_views(t, true))
		return;

	/*
	 * The view role reads the table; RLS policies apply to it.  (On a Citus
	 * cluster, on every node: its shards are read there as that role.)
	 */
	if (pg_class_aclcheck(t->relid, get_role_oid(CRM_VIEW_ROLE, false), ACL_SELECT) != ACLCHECK_OK)
	{
		/*
		 * (only when missing: on Citus, a GRANT in the transaction of the
		 * owner's ALTER TABLE, as another role, waits for the shards the
		 * owner's command holds)
		 */
		nest = crm_citus_propagate_begin();
		exec_sql(psprintf("GRANT SELECT ON TABLE %s TO %s",
						  quote_qualified_identifier(t->nspname, t->relname),
						  quote_identifier(CRM_VIEW_ROLE)));
		AtEOXact_GUC(true, nest);
	}
	columns = table_columns(t->relid);
	foreach(lc, targets)
	{
		ViewTarget *v = (ViewTarget *) lfirst(lc);
		StringInfoData sql;
		Oid			nspid = get_namespace_oid(v->schema, false);
		Oid			existing = get_relname_relid(t->relname, nspid);
		char	   *qname = psprintf("%s.%s", quote_identifier(v->schema), quote_identifier(t->relname));

		StringInfoData query;
		char	   *comments;
		char	   *hashed;
		const char *options = flattened(v) ? "security_barrier = false" : "security_barrier";
		char		md5[33];	/* 32 hex digits */
		const char *errstr = NULL;

		if (OidIsValid(existing) &&
			(!crm_is_extension_member(RelationRelationId, existing) ||
			 get_rel_relkind(existing) != RELKIND_VIEW || !view_reads(existing, t->relid)))
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_TABLE),
					 errmsg("cannot build the privacy views of table %s: %s exists already",
							quote_qualified_identifier(t->nspname, t->relname), qname),
					 errhint("Two labelled tables have the same name in different schemas; the views of both would be %s.",
							 qname)));

		initStringInfo(&query);
		append_view_query(&query, t, columns, v, treatments);
		comments = view_comments(t, columns, v, qname);
		/* the comments count: a new comment on the table rewrites them */
		hashed = psprintf("%s\n%s\n%s", options, query.data, comments);
		if (!pg_md5_hash(hashed, strlen(hashed), md5, &errstr))
			elog(ERROR, "could not compute an MD5 hash: %s", errstr ? errstr : "out of memory");
		if (OidIsValid(existing))
		{
			/* unchanged: nothing to do, no lock taken */
			if (stored_definition_is(existing, md5))
				continue;
			/* its snapshot, made from the former definition, is out of date */
			if (v->kind == VIEW_ANON || v->kind == VIEW_DISCLOSE)
				crm_snapshot_check(t->relid, v->schema, query_md5(query.data));
			/* other columns than it has (a column dropped, renamed, retyped): built anew */
			if (!columns_extend(existing, columns))
			{
				refuse_if_used(existing,
							   psprintf("The columns of table %s changed, and PostgreSQL replaces a view in place only when its columns stay as they were.",
										quote_qualified_identifier(t->nspname, t->relname)));
				exec_sql(psprintf("DELETE FROM privacy.view_definitions WHERE view OPERATOR(pg_catalog.=) CAST(%u AS pg_catalog.oid)",
								  existing));
				drop_member(RelationRelationId, existing, DROP_RESTRICT);
				existing = InvalidOid;
			}
		}

		initStringInfo(&sql);
		if (OidIsValid(existing))
		{
			/* in place: its grants and the views users built on it stay */
			appendStringInfo(&sql, "CREATE OR REPLACE VIEW %s WITH (%s) AS %s", qname, options, query.data);
			exec_sql(sql.data);
			exec_sql(comments);
		}
		else
		{
			appendStringInfo(&sql, "CREATE VIEW %s WITH (%s) AS %s", qname, options, query.data);
			exec_sql(sql.data);
			existing = get_relname_relid(t->relname, nspid);
			add_to_extension(RelationRelationId, existing);
			exec_sql(psprintf("ALTER VIEW %s OWNER TO %s", qname, quote_identifier(CRM_VIEW_ROLE)));
			exec_sql(comments);
			apply_grants(v, v->schema, t->relname);
			record_baseline(RelationRelationId, existing);
		}
		exec_sql(psprintf("INSERT INTO privacy.view_definitions (view, md5) VALUES (%u, '%s')"
						  " ON CONFLICT (view) DO UPDATE SET md5 = excluded.md5", existing, md5));
	}
}

/*
 * Describe a labelled table for building its views; false when it cannot
 * have views yet (a related table whose subject is missing during a restore).
 */
static bool
table_spec(Oid relid, TableSpec *t)
{
	char		relkind = get_rel_relkind(relid);

	if ((relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
		 relkind != RELKIND_FOREIGN_TABLE) || !crm_get_table_label(relid, &t->tl))
		return false;
	t->relid = relid;
	t->nspname = get_namespace_name(get_rel_namespace(relid));
	t->relname = get_rel_name(relid);
	t->subject = t->tl.related ? crm_subject_relid(&t->tl) : relid;
	if (!OidIsValid(t->subject))
		return false;
	t->subject_name = quote_qualified_identifier(get_namespace_name(get_rel_namespace(t->subject)),
												 get_rel_name(t->subject));
	return true;
}

/* The OIDs of every table with a subject or related label. */
static List *
labelled_tables(void)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, crm_relation_labels())
	{
		CrmLabelEntry *entry = (CrmLabelEntry *) lfirst(lc);

		if (entry->attnum == 0)
			result = lappend_oid(result, entry->relid);
	}
	return result;
}

/*
 * The existing generated views that a rebuild of tables replaces in place:
 * the view of each table in each target schema, where both exist.
 */
static List *
views_to_keep(List *tables, List *targets)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, tables)
	{
		TableSpec	t;
		ListCell   *lc2;

		/* a table that gets no views (an untrusted policy) loses those it had */
		if (!table_spec(lfirst_oid(lc), &t) || !gets_views(&t, false))
			continue;
		foreach(lc2, targets)
		{
			Oid			nspid = get_namespace_oid(((ViewTarget *) lfirst(lc2))->schema, true);
			Oid			viewid = OidIsValid(nspid) ? get_relname_relid(t.relname, nspid) : InvalidOid;

			if (OidIsValid(viewid) && crm_is_extension_member(RelationRelationId, viewid))
				result = lappend_oid(result, viewid);
		}
	}
	return result;
}

/*
 * How deep this backend is in a rebuild or a resolve: the statement
 * triggers on the configuration tables fire for what they write themselves
 * (resolve_choices() moves disclosure treatments with their tables), and
 * must not start another rebuild inside it.
 */
static int	refresh_depth = 0;

/* "ARRAY[oid, ...]::pg_catalog.oid[]", or NULL for all */
static char *
oid_array(List *oids, bool all)
{
	StringInfoData buf;
	ListCell   *lc;

	if (all)
		return "NULL";
	initStringInfo(&buf);
	appendStringInfoString(&buf, "CAST(ARRAY[");
	foreach(lc, oids)
		appendStringInfo(&buf, "%s%u", lc == list_head(oids) ? "" : ", ", lfirst_oid(lc));
	appendStringInfoString(&buf, "] AS pg_catalog.oid[])");
	return buf.data;
}

/*
 * Keep the subjects' choices with their tables (privacy.resolve_choices()):
 * the subject tables among tables (all: every one) take the choices kept
 * under their names; those of dropped tables wait under the names in
 * dropped_names (quoted "schema.table", or NULL).
 */
static char *
resolve_choices_sql(List *tables, bool all, List *dropped, List *dropped_names)
{
	StringInfoData names;
	ListCell   *lc;

	initStringInfo(&names);
	appendStringInfoString(&names, "CAST(ARRAY[");
	foreach(lc, dropped_names)
		appendStringInfo(&names, "%s%s", lc == list_head(dropped_names) ? "" : ", ",
						 lfirst(lc) ? quote_literal_cstr((char *) lfirst(lc)) : "NULL");
	appendStringInfoString(&names, "] AS pg_catalog.text[])");
	return psprintf("SELECT privacy.resolve_choices(%s, %s, %s)",
					oid_array(tables, all), oid_array(dropped, false), names.data);
}

/*
 * Could a command on relid, a table without a label, change what the
 * extension records: does a record apply to it, wait for a table, or keep
 * names a table gave up?  If not, its rebuild has nothing to do, and takes
 * no lock (Citus creates a distributed table's shards on a worker over
 * several connections of one transaction, each altering a table there).
 */
bool
crm_records_about(Oid relid)
{
	CrmOwnerContext ctx;
	bool		found;
	char	   *sql;

	sql = psprintf("SELECT EXISTS (SELECT FROM privacy.subject_choices r WHERE r.subject OPERATOR(pg_catalog.=) %u"
				   " OR r.subject IS NULL OR r.previous_names IS NOT NULL)"
				   " OR EXISTS (SELECT FROM privacy.change_request_data r WHERE r.subject OPERATOR(pg_catalog.=) %u"
				   " OR r.subject IS NULL OR r.previous_names IS NOT NULL)"
				   " OR EXISTS (SELECT FROM privacy.erasure_data r WHERE r.subject OPERATOR(pg_catalog.=) %u"
				   " OR r.subject IS NULL OR r.previous_names IS NOT NULL)"
				   " OR EXISTS (SELECT FROM privacy.disclosure_column_data r WHERE r.tbl OPERATOR(pg_catalog.=) %u"
				   " OR r.tbl IS NULL OR r.previous_names IS NOT NULL)",
				   relid, relid, relid, relid);
	crm_become_owner(&ctx, true);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(sql, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the records about tables");
	{
		bool		isnull;

		found = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
	crm_end_owner(&ctx);
	return found;
}

/* Run sql of the records about tables; SPI is connected, as the extension's owner. */
static void
keep_records(const char *sql)
{
	if (SPI_execute(sql, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not keep the choices with their tables");
}

/* The same, connecting SPI as the extension's owner. */
static void
keep_records_as_owner(const char *sql)
{
	CrmOwnerContext ctx;

	crm_become_owner(&ctx, true);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	refresh_depth++;
	PG_TRY();
	{
		keep_records(sql);
	}
	PG_FINALLY();
	{
		refresh_depth--;
	}
	PG_END_TRY();
	SPI_finish();
	crm_end_owner(&ctx);
}

/* For the event triggers (src/ddl.c). */
void
crm_resolve_choices(List *tables, bool all, List *dropped, List *dropped_names)
{
	if (creating_extension)
		return;
	keep_records_as_owner(resolve_choices_sql(tables, all, dropped, dropped_names));
}

/*
 * Before ALTER TYPE typid RENAME VALUE old_value TO new_value: the records
 * keyed by that value follow it (privacy.rename_enum_keys()).
 */
void
crm_rename_enum_keys(Oid typid, const char *old_value, const char *new_value)
{
	if (creating_extension)
		return;
	keep_records_as_owner(psprintf("SELECT privacy.rename_enum_keys(%u, %s, %s)", typid,
								   quote_literal_cstr(old_value), quote_literal_cstr(new_value)));
}

/*
 * After REASSIGN OWNED BY old_roles TO new_role (src/ddl.c): the records
 * waiting for the old roles' tables are the new role's
 * (privacy.reassign_records()).
 */
void
crm_reassign_records(List *old_roles, Oid new_role)
{
	if (creating_extension)
		return;
	keep_records_as_owner(psprintf("SELECT privacy.reassign_records(%s, %u)",
								   oid_array(old_roles, false), new_role));
}

/*
 * Rebuild the views of relid, or of every labelled table when relid is
 * invalid (which also creates and drops opt-out and disclosure schemas).
 * Views are replaced in place (CREATE OR REPLACE VIEW: what users built on
 * them and granted on them stays), and left alone when their definition did
 * not change.  First the records about tables follow renamed, relabelled
 * and dropped tables (privacy.resolve_choices()).  SPI is connected, as the
 * extension's owner; crm_refresh() below sets that up.
 */
static void
refresh_connected(Oid relid)
{
	List	   *targets;
	List	   *treatments;
	List	   *keep = NIL;
	List	   *tables;
	ListCell   *lc;

	if (!creating_extension)	/* (the script resolves them at its end) */
		keep_records(resolve_choices_sql(OidIsValid(relid) ? list_make1_oid(relid) : NIL,
										 !OidIsValid(relid), NIL, NIL));
	(void) view_role();
	targets = view_targets();
	treatments = disclosure_treatments();
	foreach(lc, targets)
		keep = lappend(keep, ((ViewTarget *) lfirst(lc))->schema);

	tables = OidIsValid(relid) ? list_make1_oid(relid) : labelled_tables();
	drop_generated(relid, keep, views_to_keep(tables, targets));
	foreach(lc, targets)
		ensure_schema((ViewTarget *) lfirst(lc));

	foreach(lc, tables)
	{
		TableSpec	t;

		if (table_spec(lfirst_oid(lc), &t))
			build_views(&t, targets, treatments);
	}

	/* on a Citus coordinator, the labels as every node's audit reads them */
	if (crm_citus_present() &&
		OidIsValid(LookupFuncName(list_make2(makeString(CRM_SCHEMA), makeString("citus_sync_labels")),
								  0, NULL, true)) &&
		SPI_execute("SELECT privacy.citus_sync_labels()", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not copy the labels to the Citus nodes");

	/*
	 * The anonymous views of a subject's related tables leave out the rows
	 * of the subjects its own leaves out: built again with it.
	 */
	if (OidIsValid(relid))
	{
		foreach(lc, labelled_tables())
		{
			TableSpec	t;

			if (lfirst_oid(lc) != relid && table_spec(lfirst_oid(lc), &t) &&
				t.tl.related && t.subject == relid)
				build_views(&t, targets, treatments);
		}
	}
}

void
crm_refresh(Oid relid)
{
	CrmOwnerContext ctx;

	crm_lock_view_admin();
	crm_become_owner(&ctx, true);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	refresh_depth++;
	PG_TRY();
	{
		refresh_connected(relid);
	}
	PG_FINALLY();
	{
		refresh_depth--;
	}
	PG_END_TRY();
	SPI_finish();
	crm_end_owner(&ctx);	crm_snapshots_gc();
}

/* Drop the views built on relid; used before DDL that their presence would block. */
void
crm_drop_views_of(Oid relid)
{
	CrmOwnerContext ctx;

	crm_lock_view_admin();
	crm_become_owner(&ctx, true);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	drop_generated(relid, NIL, NIL);
	SPI_finish();
	crm_end_owner(&ctx);
}

/* SQL: privacy.refresh_views(tbl regclass DEFAULT NULL). */
PG_FUNCTION_INFO_V1(crm_refresh_views);
Datum
crm_refresh_views(PG_FUNCTION_ARGS)
{
	crm_require_privacy_admin();
	crm_refresh(PG_ARGISNULL(0) ? InvalidOid : PG_GETARG_OID(0));
	PG_RETURN_VOID();
}

/*
 * SQL: trigger privacy.config_changed, after any change to purposes,
 * disclosure profiles and treatments, or access grants (by the API functions,
 * or by pg_restore loading them): rebuild every view.
 */
PG_FUNCTION_INFO_V1(crm_config_changed);
Datum
crm_config_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function privacy.config_changed must be fired as a trigger")));
	if (refresh_depth == 0)
		crm_refresh(InvalidOid);
	return PointerGetDatum(NULL);
}

/*
 * SQL: privacy.k_anonymity(tbl regclass): the size of the smallest
 * quasi-identifier class in the anonymous view, as the caller sees it.
 */
PG_FUNCTION_INFO_V1(crm_k_anonymity);
Datum
crm_k_anonymity(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	TableSpec	t;
	StringInfoData sql;
	bool		first = true;
	bool		isnull;
	Datum		result;
	ListCell   *lc;

	crm_require_privacy_admin();
	if (!table_spec(relid, &t))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("table %s has no privacy views",
						get_rel_name(relid) ? get_rel_name(relid) : "(dropped)"),
				 errhint("Label it as a subject or related table.")));

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT pg_catalog.min(n) FROM (SELECT pg_catalog.count(*) AS n FROM privacy_anon.%s",
					 quote_identifier(t.relname));
	foreach(lc, table_columns(relid))
	{
		ColumnSpec *c = (ColumnSpec *) lfirst(lc);

		if (!c->labelled || c->cl.cls != CRM_CLASS_QUASI_IDENTIFIER)
			continue;
		appendStringInfo(&sql, "%s%s", first ? " GROUP BY " : ", ", quote_identifier(c->name));
		first = false;
	}
	appendStringInfoString(&sql, ") s");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(sql.data, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not count the classes of the anonymous view");
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	SPI_finish();
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_INT32((int32) DatumGetInt64(result));
}

/*
 * Snapshots (snapshot.c): what makes the snapshot of view schema
 * views_schema (an anonymous or disclosure view) of table relid, to be kept
 * in table storage (qualified).  SPI is connected, as the extension's owner.
 *
 * The snapshot table holds the view's rows as its query computes them, with
 * the pseudonym key as parameter $2 (run as the table's owner), and the
 * row's subject key first (crm_privacy_key), but without any opt-out: the
 * reader's view over it (a security barrier) applies the opt-outs as they
 * are when it is read, and NULLs the sensitive columns it shows of subjects
 * who opted out of sensitive data, so that a choice made after the refresh
 * holds at once.  (An erasure makes the snapshots again, snapshot.c.)
 */
void
crm_snapshot_sql(Oid relid, const char *views_schema, const char *storage, CrmSnapshotSql *out)
{
	TableSpec	t;
	List	   *columns;
	List	   *treatments;
	ViewTarget *v = NULL;
	ListCell   *lc;
	StringInfoData buf;
	Oid			keytype;
	int32		keytypmod;
	bool		sensitive = false;
	const char *sensitive_out;

	if (!table_spec(relid, &t))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("table %s has no privacy views", crm_qualified_name(relid)),
				 errhint("Label it as a subject or related table.")));
	foreach(lc, view_targets())
	{
		ViewTarget *c = (ViewTarget *) lfirst(lc);

		if (strcmp(c->schema, views_schema) == 0 && (c->kind == VIEW_ANON || c->kind == VIEW_DISCLOSE))
			v = c;
	}
	if (v == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not a schema of anonymous or disclosure views", views_schema),
				 errhint("Snapshots are made of privacy_anon and of the privacy_disclose_* schemas of privacy.disclosure_profiles.")));
	out->snapshot_schema = psprintf("privacy_snapshot_%s", views_schema + strlen("privacy_"));
	if (strlen(out->snapshot_schema) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("the snapshot schema of \"%s\" would be longer than %d bytes", views_schema, NAMEDATALEN - 1),
				 errhint("Use a shorter disclosure profile name.")));
	out->relname = t.relname;
	out->subject = t.subject;
	out->k = v->kind == VIEW_ANON ? t.tl.k : 0;
	out->subject_k = 0;
	if (v->kind == VIEW_ANON && t.tl.related)
	{
		TableSpec	subject;

		if (table_spec(t.subject, &subject))
			out->subject_k = subject.tl.k;
	}
	columns = table_columns(relid);
	treatments = disclosure_treatments();
	{
		Oid			coll;

		get_atttypetypmodcoll(relid, get_attnum(relid, t.tl.key), &keytype, &keytypmod, &coll);
	}

	/*
	 * Only built-in types (and enums): the snapshot table's statistics and
	 * indexes are computed as its owner, crm_privacy_views, which must run no
	 * code of a table's owner.
	 */
	foreach(lc, columns)
	{
		ColumnSpec *c = (ColumnSpec *) lfirst(lc);
		Oid			base = getBaseType(c->typid);

		if (get_typ_typrelid(base) != InvalidOid ||
			(get_typtype(base) != TYPTYPE_ENUM && base >= FirstNormalObjectId))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("column \"%s\" of table %s is of type %s, which a snapshot cannot hold",
							c->name, crm_qualified_name(relid), format_type_be(c->typid)),
					 errdetail("A snapshot holds built-in types and enums only: its statistics would run the type's code as the snapshots' owner.")));
		sensitive |= (c->labelled && c->cl.cls == CRM_CLASS_SENSITIVE);
	}

	/* the live view's query, which the snapshot follows (crm_snapshot_check) */
	{
		ViewTarget	live = *v;

		live.snapshot = false;
		initStringInfo(&buf);
		append_view_query(&buf, &t, columns, &live, treatments);
		out->live_md5 = query_md5(buf.data);
	}

	/* the fill: the view's query, as its snapshot */
	v->snapshot = true;
	initStringInfo(&buf);
	append_view_query(&buf, &t, columns, v, treatments);
	sensitive = false;			/* a sensitive column the view shows (not always NULL) */
	foreach(lc, columns)
	{
		ColumnSpec *c = (ColumnSpec *) lfirst(lc);

		sensitive |= (c->labelled && c->cl.cls == CRM_CLASS_SENSITIVE && !c->hidden);
	}
	out->fill = buf.data;
	out->comments = view_comments(&t, columns, v,
								  quote_qualified_identifier(out->snapshot_schema, t.relname));

	/*
	 * The table: each column of its type's base type, so that no domain's
	 * CHECK (code of a table's owner, maybe) runs when rows are written to
	 * it or their opt-outs are applied.
	 */
	initStringInfo(&buf);
	{
		int32		base_typmod = keytypmod;
		Oid			base = getBaseTypeAndTypmod(keytype, &base_typmod);

		appendStringInfo(&buf, "crm_privacy_key %s", type_name(base, base_typmod));
	}
	foreach(lc, columns)
	{
		ColumnSpec *c = (ColumnSpec *) lfirst(lc);
		int32		base_typmod = c->typmod;
		Oid			base = getBaseTypeAndTypmod(c->typid, &base_typmod);

		appendStringInfo(&buf, ", %s %s", quote_identifier(c->name), type_name(base, base_typmod));
	}
	out->columns = buf.data;

	/*
	 * The reader's view.  The subjects who opted out of sensitive data are
	 * a hashed outer join, not a subquery per column and row: its estimate
	 * stays the table's (a subquery's would make a full read look expensive
	 * enough for JIT compilation, which costs more than the read).
	 */
	sensitive_out = sensitive ? "so.crm_privacy_key IS NULL" : NULL;
	initStringInfo(&buf);
	appendStringInfoString(&buf, "SELECT ");
	foreach(lc, columns)
	{
		ColumnSpec *c = (ColumnSpec *) lfirst(lc);
		const char *col = psprintf("s.%s", quote_identifier(c->name));

		if (foreach_current_index(lc) > 0)
			appendStringInfoString(&buf, ", ");
		if (sensitive_out && c->labelled && c->cl.cls == CRM_CLASS_SENSITIVE && !c->hidden)
			appendStringInfo(&buf, "CASE WHEN %s THEN %s ELSE %s END AS %s",
							 sensitive_out, col, typed_null(&t, c), quote_identifier(c->name));
		else
			appendStringInfoString(&buf, col);
	}
	appendStringInfo(&buf, " FROM %s s", storage);
	if (sensitive_out)
	{
		const char *choicecol;
		const char *key = choice_key(&t, "s.crm_privacy_key", &choicecol);
		StringInfoData shown;

		/*
		 * The choice is looked up only for a row with a sensitive value to
		 * show (else the key is NULL): EXPLAIN ANALYZE of the reader's query
		 * counts no choice the row's values do not show anyway.
		 */
		initStringInfo(&shown);
		foreach(lc, columns)
		{
			ColumnSpec *c = (ColumnSpec *) lfirst(lc);

			if (c->labelled && c->cl.cls == CRM_CLASS_SENSITIVE && !c->hidden)
				appendStringInfo(&shown, "%ss.%s IS NOT NULL", shown.len > 0 ? " OR " : "",
								 quote_identifier(c->name));
		}
		key = psprintf("CASE WHEN %s THEN %s END", shown.data, key);

		/*
		 * One choice per subject and purpose: subject_choices is unique on
		 * the key's canonical text, and so on key_int, the integer it is.
		 * Numbers of other types (key_num) may have two texts (numeric(12,2)
		 * turned numeric(12,3)): those are made distinct first.  Without
		 * DISTINCT, a lookup probes the choices' index for its one row.
		 */
		appendStringInfo(&buf, " LEFT JOIN (SELECT %sc.%s AS crm_privacy_key FROM privacy.subject_choices c"
						 " WHERE c.subject OPERATOR(pg_catalog.=) CAST(%u AS pg_catalog.oid)"
						 " AND c.purpose OPERATOR(pg_catalog.=) 'sensitive_data' AND c.opted_out) so"
						 " ON so.crm_privacy_key OPERATOR(pg_catalog.=) %s",
						 strcmp(choicecol, "key_num") == 0 ? "DISTINCT " : "", choicecol, t.subject, key);
	}
	appendStringInfoString(&buf, " WHERE ");
	if (v->row_purpose)
		appendStringInfo(&buf, "NOT %s AND ", opted_out_key(&t, "s.crm_privacy_key", v->row_purpose));
	appendStringInfo(&buf, "privacy.view_rows(%s)",
					 quote_literal_cstr(quote_qualified_identifier(out->snapshot_schema, t.relname)));
	out->reader = buf.data;

	/* lookups: by the (pseudonymized) subject key, and by a one-column primary key */
	out->indexed = list_make1(t.tl.key);
	{
		Relation	rel = relation_open(relid, AccessShareLock);
		Oid			pk = crm_primary_key_index(rel);

		if (OidIsValid(pk))
		{
			HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(pk));

			if (HeapTupleIsValid(tup))
			{
				Form_pg_index index = (Form_pg_index) GETSTRUCT(tup);

				if (index->indnkeyatts == 1 && index->indkey.values[0] != get_attnum(relid, t.tl.key))
					out->indexed = lappend(out->indexed,
										   pstrdup(NameStr(TupleDescAttr(RelationGetDescr(rel),
																		 index->indkey.values[0] - 1)->attname)));
				ReleaseSysCache(tup);
			}
		}
		relation_close(rel, AccessShareLock);
	}
	out->grantees = grantees(v);

	/*
	 * After the fill, before the statistics: the subjects who had opted out
	 * of the view's purpose, or of sensitive data, leave the snapshot table
	 * (or their sensitive values do), so that neither its row count nor its
	 * statistics (a reader's EXPLAIN estimates) count them.
	 */
	out->prune = NIL;
	if (v->row_purpose)
		out->prune = lappend(out->prune,
							 psprintf("DELETE FROM %s s WHERE %s", storage,
									  opted_out_key(&t, "s.crm_privacy_key", v->row_purpose)));
	if (sensitive_out)
	{
		StringInfoData set;

		initStringInfo(&set);
		foreach(lc, columns)
		{
			ColumnSpec *c = (ColumnSpec *) lfirst(lc);

			if (c->labelled && c->cl.cls == CRM_CLASS_SENSITIVE && !c->hidden)
				appendStringInfo(&set, "%s%s = NULL", set.len > 0 ? ", " : "", quote_identifier(c->name));
		}
		out->prune = lappend(out->prune,
							 psprintf("UPDATE %s s SET %s WHERE %s", storage, set.data,
									  opted_out_key(&t, "s.crm_privacy_key", "sensitive_data")));
	}
	out->quasi = NIL;
	foreach(lc, quasi_identifiers(columns))
		out->quasi = lappend(out->quasi, ((ColumnSpec *) lfirst(lc))->name);
}

/* For snapshot.c: a schema of the extension's (made if missing, usable by all). */
void
crm_view_schema(const char *schema, const char *what)
{
	ensure_schema_named(schema, what);
}

/* For snapshot.c: add an object to the extension, or drop one of its objects. */
void
crm_extension_member(Oid classid, Oid objid, bool add)
{
	if (add)
		add_to_extension(classid, objid);
	else
		drop_member(classid, objid, DROP_RESTRICT);
}
