/*-------------------------------------------------------------------------
 *
 * requests.c
 *	  Data subjects' requests (SPEC section 7): applying an approved change
 *	  and erasing a subject.
 *
 * Both change a labelled table with a normal UPDATE, so its triggers (the
 * change audit among them) see it.  The UPDATE runs as the table's owner, as
 * PostgreSQL runs maintenance of a user's table: code the table owner wrote
 * (a trigger, a domain check) never runs with the extension owner's rights.
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/requests.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_type.h"
#include "commands/seclabel.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "crm_privacy.h"
#include "label.h"

/* Quoted, schema-qualified name of a relation. */
static char *
qualified_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/* The owner of a relation. */
static Oid
get_rel_owner_oid(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * Run an UPDATE of relid with one text parameter, the subject key, as the
 * table's owner; return the number of rows changed.
 */
static uint64
update_as_table_owner(Oid relid, const char *sql, const char *key)
{
	Oid			save_userid;
	int			save_sec_context;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	uint64		n;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(get_rel_owner_oid(relid),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	args[0] = CStringGetTextDatum(key);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(sql, 1, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not run: %s", sql);
	n = SPI_processed;
	SPI_finish();
	SetUserIdAndSecContext(save_userid, save_sec_context);
	return n;
}

/* The WHERE clause matching a subject key given as text parameter $1. */
static char *
key_condition(Oid relid, const char *keycol)
{
	Oid			keytype = getBaseType(get_atttype(relid, get_attnum(relid, keycol)));

	return psprintf("%s OPERATOR(pg_catalog.=) CAST($1 AS %s)", quote_identifier(keycol),
					format_type_extended(keytype, -1, FORMAT_TYPE_FORCE_QUALIFY));
}

/*
 * SQL: privacy.apply_change(tbl regclass, keycol name, col name, new_value
 * text, key text): the UPDATE of an approved change request.  Called by
 * privacy.review_change(), which checks the request and decides it exactly
 * once; EXECUTE revoked from PUBLIC.
 */
PG_FUNCTION_INFO_V1(crm_apply_change);
Datum
crm_apply_change(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *keycol = NameStr(*PG_GETARG_NAME(1));
	char	   *col = NameStr(*PG_GETARG_NAME(2));
	AttrNumber	attnum = get_attnum(relid, col);
	Oid			typid;
	int32		typmod;
	Oid			collid;
	char	   *sql;

	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist", col, get_rel_name(relid))));
	get_atttypetypmodcoll(relid, attnum, &typid, &typmod, &collid);
	/* the new value is $2: it goes through the column type's own cast */
	sql = psprintf("UPDATE %s SET %s = CAST(%s AS %s) WHERE %s", qualified_name(relid),
				   quote_identifier(col),
				   PG_ARGISNULL(3) ? "NULL" : quote_literal_cstr(text_to_cstring(PG_GETARG_TEXT_PP(3))),
				   format_type_extended(typid, typmod,
										FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY),
				   key_condition(relid, keycol));
	PG_RETURN_INT64((int64) update_as_table_owner(relid, sql,
												  text_to_cstring(PG_GETARG_TEXT_PP(4))));
}

/* Is column attnum of relid part of a foreign key (either end) or the key? */
static bool
is_key_column(Oid relid, AttrNumber attnum)
{
	bool		result = false;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(psprintf("SELECT 1 FROM pg_catalog.pg_constraint c"
							 " WHERE c.contype OPERATOR(pg_catalog.=) ANY (ARRAY['f', 'p', 'u']::\"char\"[])"
							 " AND ((c.conrelid OPERATOR(pg_catalog.=) %u AND %d OPERATOR(pg_catalog.=) ANY (c.conkey))"
							 "   OR (c.confrelid OPERATOR(pg_catalog.=) %u AND %d OPERATOR(pg_catalog.=) ANY (c.confkey)))",
							 relid, attnum, relid, attnum), true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the constraints");
	result = SPI_processed > 0;
	SPI_finish();
	return result;
}

/*
 * Append "col = <erased value>" for one column to an UPDATE's SET list, or
 * nothing when the column is public, a key, or cannot change.
 */
static bool
append_erasure(StringInfo set, Relation rel, Form_pg_attribute att, AttrNumber keyatt)
{
	ObjectAddress addr;
	char	   *label;
	CrmColumnLabel cl;
	const CrmRule *rule;
	const char *col;
	StringInfoData expr;

	if (att->attisdropped || att->attnum == keyatt || att->attgenerated ||
		att->attidentity == ATTRIBUTE_IDENTITY_ALWAYS ||
		is_key_column(RelationGetRelid(rel), att->attnum))
		return false;
	ObjectAddressSubSet(addr, RelationRelationId, RelationGetRelid(rel), att->attnum);
	label = GetSecurityLabel(&addr, CRM_PROVIDER);
	if (label)
		crm_parse_column_label(label, &cl);
	else
		crm_default_column_label(&cl);
	if (label && cl.level == CRM_LEVEL_PUBLIC)
		return false;

	/* the anon result; for a NOT NULL column the mask result; else stars */
	rule = &cl.anon;
	if (att->attnotnull && rule->kind == CRM_RULE_NULL)
		rule = &cl.mask;
	col = quote_identifier(NameStr(att->attname));
	initStringInfo(&expr);
	if (att->attnotnull && rule->kind == CRM_RULE_NULL)
	{
		Oid			base = getBaseType(att->atttypid);

		if (base != TEXTOID && base != VARCHAROID && base != BPCHAROID)
			return false;		/* nothing erasable fits: left as it is */
		appendStringInfo(&expr, "CAST(pg_catalog.repeat('*', pg_catalog.length(%s)) AS %s)", col,
						 format_type_extended(att->atttypid, att->atttypmod,
											  FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY));
	}
	else
		crm_append_rule(&expr, rule, col, att->atttypid, att->atttypmod, "", NULL, NULL);
	appendStringInfo(set, "%s%s = %s", set->len > 0 ? ", " : "", col, expr.data);
	return true;
}

/* Erase the labelled non-public values of the rows of relid whose key is key. */
static uint64
erase_rows(Oid relid, const char *keycol, const char *key)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	AttrNumber	keyatt = get_attnum(relid, keycol);
	StringInfoData set;
	uint64		n = 0;

	initStringInfo(&set);
	for (int i = 0; i < desc->natts; i++)
		append_erasure(&set, rel, TupleDescAttr(desc, i), keyatt);
	relation_close(rel, AccessShareLock);
	if (set.len > 0)
		n = update_as_table_owner(relid,
								  psprintf("UPDATE %s SET %s WHERE %s", qualified_name(relid),
										   set.data, key_condition(relid, keycol)),
								  key);
	return n;
}

/*
 * SQL: privacy.erase_rows(subject regclass, key text): erase a subject and
 * its related rows; returns the rows changed.  Called by
 * privacy.erase_subject(), which records the erasure; EXECUTE revoked from
 * PUBLIC.
 */
PG_FUNCTION_INFO_V1(crm_erase_rows);
Datum
crm_erase_rows(PG_FUNCTION_ARGS)
{
	Oid			subject = PG_GETARG_OID(0);
	char	   *key = text_to_cstring(PG_GETARG_TEXT_PP(1));
	CrmTableLabel tl;
	uint64		n;
	ListCell   *lc;

	if (!crm_get_table_label(subject, &tl) || tl.related)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("table %s is not labelled as a subject table", get_rel_name(subject))));
	n = erase_rows(subject, tl.key, key);
	foreach(lc, crm_relation_labels())
	{
		CrmLabelEntry *entry = (CrmLabelEntry *) lfirst(lc);
		CrmTableLabel rtl;

		if (entry->attnum != 0)
			continue;
		crm_parse_table_label(entry->label, &rtl);
		if (rtl.related && crm_subject_relid(&rtl) == subject)
			n += erase_rows(entry->relid, rtl.key, key);
	}
	PG_RETURN_INT64((int64) n);
}
