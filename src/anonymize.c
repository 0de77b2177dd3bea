/*-------------------------------------------------------------------------
 *
 * anonymize.c
 *	  Static anonymization (doc/anonymize.md): privacy.anonymize_table()
 *	  rewrites a labelled table in place with its columns' anon rules,
 *	  privacy.anonymize_database() every labelled table of the database.
 *
 * A subject table and its related tables share the subject key's pseudonyms
 * (the anonymous views' contexts), so they are rewritten together, in one
 * statement run as their owner under SECURITY_RESTRICTED_OPERATION with the
 * pseudonym key as a parameter (as an erasure is, requests.c): every
 * foreign key between them is checked at the end of that statement, on the
 * new values, and holds.  What a column gets:
 *
 *	- public columns, and anon=keep, stay as they are;
 *	- sensitive columns become NULL whatever their anon rule: a static copy
 *	  could not honour a later opt-out of sensitive data;
 *	- a key, unique, foreign-key or partition-key column changes only with
 *	  anon=pseudonym (a keyed permutation of integers, a keyed hash of
 *	  text: unique and joinable; a foreign key to a labelled table's key
 *	  gets that key's pseudonyms); with any other rule it stays and is named
 *	  in "kept";
 *	- a NOT NULL column whose rule gives NULL gets its mask, else stars
 *	  (text) or a value of its type that reveals nothing (as an erasure);
 *	- noise is drawn at random (each value once).
 *
 * Before anything is written: the caller must be a privacy administrator
 * with the privileges of the tables' owner, name the table (or database) in
 * the confirmation, and no foreign key may join a changing column to a
 * column that does not change the same way (a table outside the group, a
 * different rule or type): the statement would fail half-way otherwise.
 * Each table's anonymization is recorded in privacy.audit_log (op
 * ANONYMIZE, with its row count); an audited table's row changes are
 * recorded as any.
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/anonymize.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "catalog/pg_trigger.h"
#include "commands/dbcommands.h"
#include "commands/seclabel.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "crm_privacy.h"
#include "label.h"

static const CrmRule null_rule = {.kind = CRM_RULE_NULL};

/* One column that changes. */
typedef struct ChangedColumn
{
	AttrNumber	attnum;
	Oid			base;			/* its base type */
	const char *pseudonym;		/* its pseudonym context, or NULL: another rule */
} ChangedColumn;

/* One table of a group, and what its anonymization does. */
typedef struct TablePlan
{
	Oid			relid;
	StringInfoData set;			/* "col = expr, ..." */
	List	   *changed;		/* ChangedColumn */
	List	   *kept;			/* text: labelled columns left as they are, and why */
} TablePlan;

/* The changed column attnum of relid in the plans, or NULL. */
static ChangedColumn *
changed_column(List *plans, Oid relid, AttrNumber attnum)
{
	ListCell   *lc;
	ListCell   *c;

	foreach(lc, plans)
	{
		TablePlan  *tp = (TablePlan *) lfirst(lc);

		if (tp->relid != relid)
			continue;
		foreach(c, tp->changed)
			if (((ChangedColumn *) lfirst(c))->attnum == attnum)
				return (ChangedColumn *) lfirst(c);
	}
	return NULL;
}

/*
 * The pseudonym context of a column that is a foreign key to a labelled
 * table's key (a referrer, a second link to the subject): that key's, so that
 * it stays joinable; NULL for any other column.
 */
static const char *
referenced_key_context(Oid relid, AttrNumber attnum)
{
	const char *result = NULL;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(psprintf("SELECT c.confrelid, c.confkey[1] FROM pg_catalog.pg_constraint c"
							 " WHERE c.contype OPERATOR(pg_catalog.=) 'f' AND c.conrelid OPERATOR(pg_catalog.=) %u"
							 " AND c.conkey OPERATOR(pg_catalog.=) ARRAY[%d]::pg_catalog.int2[]"
							 " ORDER BY c.oid LIMIT 1", relid, attnum), true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the foreign keys");
	if (SPI_processed == 1)
	{
		bool		isnull;
		Oid			to = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		AttrNumber	toatt = DatumGetInt16(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		CrmTableLabel tl;
		char	   *attname = get_attname(to, toatt, true);

		if (attname && crm_get_table_label(to, &tl) && strcmp(attname, tl.key) == 0)
		{
			Oid			subject = tl.related ? crm_subject_relid(&tl) : to;

			result = OidIsValid(subject) ? crm_qualified_name(subject) : NULL;
		}
	}
	SPI_finish();
	return result;
}

/* Plan one column of a table of a group whose subject is subject_name. */
static void
plan_column(TablePlan *tp, Form_pg_attribute att, const CrmTableLabel *tl,
			const char *relname, const char *subject_name)
{
	ObjectAddress addr;
	char	   *label;
	CrmColumnLabel cl;
	const CrmRule *rule;
	const char *name = NameStr(att->attname);
	char	   *col;
	const char *context;
	bool		key;
	StringInfoData expr;
	ChangedColumn *cc;

	if (att->attisdropped || att->attgenerated)
		return;
	ObjectAddressSubSet(addr, RelationRelationId, tp->relid, att->attnum);
	label = GetSecurityLabel(&addr, CRM_PROVIDER);
	if (label)
		crm_parse_column_label(label, &cl);
	else
		crm_default_column_label(&cl);
	if (label && cl.level == CRM_LEVEL_PUBLIC)
		return;
	rule = cl.cls == CRM_CLASS_SENSITIVE ? &null_rule : &cl.anon;
	if (rule->kind == CRM_RULE_KEEP)
		return;

	key = crm_is_key_column(tp->relid, att->attnum);
	if (att->attidentity == ATTRIBUTE_IDENTITY_ALWAYS)
	{
		tp->kept = lappend(tp->kept, psprintf("%s (an identity column GENERATED ALWAYS)", name));
		return;
	}
	if (key && rule->kind != CRM_RULE_PSEUDONYM)
	{
		tp->kept = lappend(tp->kept,
						   psprintf("%s (a key, unique, foreign-key or partition-key column: only anon=pseudonym keeps it unique and joinable)",
									name));
		return;
	}
	/* NOT NULL: the mask, unless it keeps the value (then as below) */
	if (att->attnotnull && rule->kind == CRM_RULE_NULL && cl.mask.kind != CRM_RULE_KEEP)
		rule = &cl.mask;

	col = psprintf("crm_t.%s", quote_identifier(name));
	initStringInfo(&expr);
	if (att->attnotnull && rule->kind == CRM_RULE_NULL)
	{
		char	   *blank = crm_blank_value(att, col);

		if (blank == NULL)
		{
			tp->kept = lappend(tp->kept,
							   psprintf("%s (NOT NULL, and its type has no value that reveals nothing)", name));
			return;
		}
		appendStringInfoString(&expr, blank);
		context = NULL;
	}
	else
	{
		/* the anonymous views' contexts: the subject key's joins its related tables */
		if (rule->kind == CRM_RULE_PSEUDONYM)
		{
			const char *referenced = strcmp(name, tl->key) == 0 ? subject_name
				: referenced_key_context(tp->relid, att->attnum);

			context = referenced ? referenced : psprintf("%s %s.%s", subject_name, relname, name);
		}
		else
			context = psprintf("%s.%s", relname, name);
		crm_append_rule(&expr, rule, col, att->atttypid, att->atttypmod, context, "$2", NULL);
		if (rule->kind != CRM_RULE_PSEUDONYM)
			context = NULL;
	}
	appendStringInfo(&tp->set, "%s%s = %s", tp->set.len > 0 ? ", " : "",
					 quote_identifier(name), expr.data);
	cc = palloc(sizeof(ChangedColumn));
	cc->attnum = att->attnum;
	cc->base = getBaseType(att->atttypid);
	cc->pseudonym = context;
	tp->changed = lappend(tp->changed, cc);
}

/* Plan a table of a group. */
static TablePlan *
plan_table(Oid relid, const CrmTableLabel *tl, const char *subject_name)
{
	TablePlan  *tp = palloc0(sizeof(TablePlan));
	Relation	rel;
	TupleDesc	desc;

	if (get_rel_relkind(relid) == RELKIND_FOREIGN_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot anonymize foreign table %s", crm_qualified_name(relid)),
				 errhint("Anonymize the table on the server that holds it.")));
	tp->relid = relid;
	initStringInfo(&tp->set);
	rel = relation_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	for (int i = 0; i < desc->natts; i++)
		plan_column(tp, TupleDescAttr(desc, i), tl, RelationGetRelationName(rel), subject_name);
	relation_close(rel, AccessShareLock);
	return tp;
}

/*
 * Refuse a group whose rewrite would break a foreign key: every pair of
 * columns a foreign key joins must both stay, or both change to pseudonyms
 * of the same context and type.
 */
static void
check_foreign_keys(List *plans)
{
	StringInfoData oids;
	ListCell   *lc;

	initStringInfo(&oids);
	foreach(lc, plans)
		appendStringInfo(&oids, "%s%u", oids.len > 0 ? ", " : "", ((TablePlan *) lfirst(lc))->relid);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(psprintf("SELECT c.conname, c.conrelid, c.conkey, c.confrelid, c.confkey"
							 " FROM pg_catalog.pg_constraint c"
							 " WHERE c.contype OPERATOR(pg_catalog.=) 'f'"
							 " AND c.conparentid OPERATOR(pg_catalog.=) 0"	/* a partition's copy: its parent's counts */
							 " AND (c.conrelid OPERATOR(pg_catalog.=) ANY (ARRAY[%s]::pg_catalog.oid[])"
							 "   OR c.confrelid OPERATOR(pg_catalog.=) ANY (ARRAY[%s]::pg_catalog.oid[]))",
							 oids.data, oids.data), true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the foreign keys");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *conname = SPI_getvalue(tup, desc, 1);
		Oid			from = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
		ArrayType  *fromkey = DatumGetArrayTypeP(SPI_getbinval(tup, desc, 3, &isnull));
		Oid			to = DatumGetObjectId(SPI_getbinval(tup, desc, 4, &isnull));
		ArrayType  *tokey = DatumGetArrayTypeP(SPI_getbinval(tup, desc, 5, &isnull));
		int16	   *a = (int16 *) ARR_DATA_PTR(fromkey);
		int16	   *b = (int16 *) ARR_DATA_PTR(tokey);
		int			n = Min(ArrayGetNItems(ARR_NDIM(fromkey), ARR_DIMS(fromkey)),
							ArrayGetNItems(ARR_NDIM(tokey), ARR_DIMS(tokey)));

		CHECK_FOR_INTERRUPTS();
		for (int i = 0; i < n; i++)
		{
			ChangedColumn *x = changed_column(plans, from, a[i]);
			ChangedColumn *y = changed_column(plans, to, b[i]);

			if (x == NULL && y == NULL)
				continue;
			if (x && y && x->pseudonym && y->pseudonym && x->base == y->base &&
				strcmp(x->pseudonym, y->pseudonym) == 0)
				continue;
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("anonymizing would break foreign key \"%s\" from %s.%s to %s.%s",
							conname, crm_qualified_name(from), quote_identifier(get_attname(from, a[i], false)),
							crm_qualified_name(to), quote_identifier(get_attname(to, b[i], false))),
					 errdetail("%s.%s %s, %s.%s %s.",
							   get_rel_name(from), get_attname(from, a[i], false),
							   x ? (x->pseudonym ? "would get pseudonyms" : "would change") : "would not change",
							   get_rel_name(to), get_attname(to, b[i], false),
							   y ? (y->pseudonym ? "would get pseudonyms" : "would change") : "would not change"),
					 errhint("Both columns need anon=pseudonym in one group (a subject table and the tables labelled related to it, anonymized together), with the same type; or label both so that neither changes.")));
		}
	}
	SPI_finish();
}

static void check_update_code_of(Oid relid);

/*
 * Refuse a group with a trigger (but crm_privacy's audit triggers) or rule
 * that fires on UPDATE: it would run on every row rewritten, and could keep
 * or copy the values being replaced.
 */
static void
check_update_code(List *plans)
{
	ListCell   *lc;

	foreach(lc, plans)
	{
		TablePlan  *tp = (TablePlan *) lfirst(lc);
		ListCell   *t;

		if (tp->set.len == 0)
			continue;
		/* the table and its partitions and children: their triggers fire too */
		foreach(t, find_all_inheritors(tp->relid, NoLock, NULL))
			check_update_code_of(lfirst_oid(t));
	}
}

/* Refuse a table with a trigger or rule (above) that fires on UPDATE. */
static void
check_update_code_of(Oid relid)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(psprintf("SELECT 't', t.tgname FROM pg_catalog.pg_trigger t"
							 " WHERE t.tgrelid OPERATOR(pg_catalog.=) %u AND NOT t.tgisinternal"
							 " AND t.tgenabled OPERATOR(pg_catalog.<>) 'D'"
							 " AND (CAST(t.tgtype AS pg_catalog.int4) OPERATOR(pg_catalog.&) %d) OPERATOR(pg_catalog.<>) 0"
							 " UNION ALL SELECT 'r', r.rulename FROM pg_catalog.pg_rewrite r"
							 " WHERE r.ev_class OPERATOR(pg_catalog.=) %u AND r.ev_type OPERATOR(pg_catalog.=) '2'"
							 " ORDER BY 1, 2",
							 relid, TRIGGER_TYPE_UPDATE, relid), true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the triggers");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		char	   *kind = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);
		char	   *name = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2);

		if (kind[0] == 't' && crm_is_audit_trigger(relid, name))
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s has %s \"%s\", which fires on UPDATE",
						crm_qualified_name(relid), kind[0] == 't' ? "trigger" : "rule", name),
				 errdetail("It would run on every row the anonymization rewrites, and could keep or copy the values being replaced."),
				 kind[0] == 't'
				 ? errhint("Disable it for the anonymization (ALTER TABLE %s DISABLE TRIGGER %s), then enable it again.",
						   crm_qualified_name(relid), quote_identifier(name))
				 : errhint("Drop the rule for the anonymization, then create it again.")));
	}
	SPI_finish();
}

/*
 * Anonymize one group (a subject table and its related tables, or one
 * table): plan, check, record, rewrite, analyze; append a result row per
 * table.
 */
static void
anonymize_group(List *relids, ReturnSetInfo *rsinfo)
{
	List	   *plans = NIL;
	Oid			owner = InvalidOid;
	ListCell   *lc;
	StringInfoData sql;
	StringInfoData counts;
	int			n = 0;
	Datum		result = (Datum) 0;
	bool		isnull = true;
	Datum	   *rows = NULL;
	int			nrows = 0;
	int			r = 0;

	foreach(lc, relids)
	{
		Oid			relid = lfirst_oid(lc);
		Oid			o = crm_table_owner(relid);
		CrmTableLabel tl;
		CrmTableLabel stl;
		Oid			subject;
		const char *subject_name;

		if (!OidIsValid(owner))
			owner = o;
		if (o != owner)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("tables %s and %s have different owners",
							crm_qualified_name(linitial_oid(relids)), crm_qualified_name(relid)),
					 errdetail("A subject table and its related tables are anonymized together, in one statement run as their owner."),
					 errhint("Give them one owner (ALTER TABLE ... OWNER TO), then anonymize again.")));
		if (!has_privs_of_role(GetUserId(), owner))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("must have the privileges of role \"%s\", owner of table %s, to anonymize it",
							GetUserNameFromId(owner, false), crm_qualified_name(relid)),
					 errdetail("Anonymizing rewrites the owner's data: a privacy administrator needs the owner's consent, as its privileges.")));
		if (!crm_get_table_label(relid, &tl))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("table %s has no crm_privacy label", crm_qualified_name(relid)),
					 errhint("Label it with privacy.label_table(), then anonymize it.")));
		subject = tl.related ? crm_subject_relid(&tl) : relid;
		if (!OidIsValid(subject) || !crm_get_table_label(subject, &stl))
			subject = relid;
		subject_name = crm_qualified_name(subject);
		plans = lappend(plans, plan_table(relid, &tl, subject_name));
	}
	check_foreign_keys(plans);
	check_update_code(plans);

	initStringInfo(&sql);
	initStringInfo(&counts);
	foreach(lc, plans)
	{
		TablePlan  *tp = (TablePlan *) lfirst(lc);

		crm_audit_table_action(tp->relid, "ANONYMIZE", NULL);
		if (tp->set.len == 0)
			continue;
		appendStringInfo(&sql, "%scrm_u%d AS (UPDATE %s AS crm_t SET %s RETURNING 1)",
						 n > 0 ? ", " : "WITH ", n, crm_qualified_name(tp->relid), tp->set.data);
		appendStringInfo(&counts, "%s(SELECT pg_catalog.count(*) FROM crm_u%d)", n > 0 ? ", " : "", n);
		n++;
	}
	if (n > 0)
	{
		bytea	   *key = crm_pseudonym_key();

		appendStringInfo(&sql, " SELECT CAST(ARRAY[%s] AS pg_catalog.int8[])", counts.data);
		(void) crm_run_as_table_owner_keyed(linitial_oid(relids), sql.data, NULL, key, (Datum) 0, NULL,
											false, &result, &isnull);
		explicit_bzero(VARDATA(key), VARSIZE(key) - VARHDRSZ);
		/* the statistics of the clear values go: pg_stats shows the new ones */
		foreach(lc, plans)
			if (((TablePlan *) lfirst(lc))->set.len > 0)
				(void) crm_run_as_table_owner_keyed(((TablePlan *) lfirst(lc))->relid,
													psprintf("ANALYZE %s", crm_qualified_name(((TablePlan *) lfirst(lc))->relid)),
													NULL, NULL, (Datum) 0, NULL, false, NULL, NULL);
		if (!isnull)
		{
			int16		typlen;
			bool		typbyval;
			char		typalign;

			get_typlenbyvalalign(INT8OID, &typlen, &typbyval, &typalign);
			deconstruct_array(DatumGetArrayTypeP(result), INT8OID, typlen, typbyval, typalign,
							  &rows, NULL, &nrows);
		}
	}

	foreach(lc, plans)
	{
		TablePlan  *tp = (TablePlan *) lfirst(lc);
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		Datum	   *kept = palloc(sizeof(Datum) * (list_length(tp->kept) + 1));
		int			k = 0;
		ListCell   *c;

		foreach(c, tp->kept)
			kept[k++] = CStringGetTextDatum((char *) lfirst(c));
		values[0] = ObjectIdGetDatum(tp->relid);
		values[1] = Int64GetDatum(tp->set.len > 0 && r < nrows ? DatumGetInt64(rows[r]) : 0);
		values[2] = PointerGetDatum(construct_array(kept, k, TEXTOID, -1, false, TYPALIGN_INT));
		if (tp->set.len > 0)
			r++;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* Raise 22023 unless confirm is what it must be. */
static void
require_confirmation(FunctionCallInfo fcinfo, int argno, const char *expected, const char *what)
{
	if (PG_ARGISNULL(argno) || strcmp(text_to_cstring(PG_GETARG_TEXT_PP(argno)), expected) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("anonymizing %s needs its confirmation", what),
				 errdetail("It rewrites the data in place with the columns' anon rules; the values cannot be had back."),
				 errhint("Pass confirm => %s.", quote_literal_cstr(expected))));
}

/*
 * SQL: privacy.anonymize_table(tbl regclass, confirm text) RETURNS TABLE
 * (table_name regclass, rows_changed bigint, kept text[]): a subject table
 * with its related tables, or one table.
 */
PG_FUNCTION_INFO_V1(crm_anonymize_table);
Datum
crm_anonymize_table(PG_FUNCTION_ARGS)
{
	Oid			relid;
	CrmTableLabel tl;
	List	   *group;

	crm_require_privacy_admin();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"tbl\" must not be NULL")));
	relid = PG_GETARG_OID(0);
	(void) crm_table_owner(relid);
	require_confirmation(fcinfo, 1, crm_qualified_name(relid), psprintf("table %s", crm_qualified_name(relid)));
	InitMaterializedSRF(fcinfo, 0);
	group = list_make1_oid(relid);
	if (crm_get_table_label(relid, &tl) && !tl.related)
		group = list_concat(group, crm_related_tables(relid));
	anonymize_group(group, (ReturnSetInfo *) fcinfo->resultinfo);
	return (Datum) 0;
}

/*
 * SQL: privacy.anonymize_database(confirm text): every labelled table of the
 * database, a group per subject table (and one per related table whose
 * subject is not labelled).
 */
PG_FUNCTION_INFO_V1(crm_anonymize_database);
Datum
crm_anonymize_database(PG_FUNCTION_ARGS)
{
	List	   *done = NIL;
	List	   *subjects = NIL;
	List	   *others = NIL;
	ListCell   *lc;

	crm_require_privacy_admin();
	require_confirmation(fcinfo, 0, get_database_name(MyDatabaseId),
						 psprintf("database %s", get_database_name(MyDatabaseId)));
	InitMaterializedSRF(fcinfo, 0);
	foreach(lc, crm_relation_labels())
	{
		CrmLabelEntry *entry = (CrmLabelEntry *) lfirst(lc);
		CrmTableLabel tl;

		if (entry->attnum != 0)
			continue;
		crm_parse_table_label(entry->label, &tl);
		if (!tl.related)
			subjects = list_append_unique_oid(subjects, entry->relid);
		else
			others = list_append_unique_oid(others, entry->relid);
	}
	foreach(lc, subjects)
	{
		List	   *group = lcons_oid(lfirst_oid(lc), crm_related_tables(lfirst_oid(lc)));

		anonymize_group(group, (ReturnSetInfo *) fcinfo->resultinfo);
		done = list_concat(done, group);
	}
	foreach(lc, others)
	{
		if (list_member_oid(done, lfirst_oid(lc)))
			continue;
		anonymize_group(list_make1_oid(lfirst_oid(lc)), (ReturnSetInfo *) fcinfo->resultinfo);
	}
	return (Datum) 0;
}
