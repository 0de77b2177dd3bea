/*-------------------------------------------------------------------------
 *
 * requests.c
 *	  Data subjects' requests (doc/audit.md, "Subject requests"): applying
 *	  an approved change and erasing a subject.
 *
 * Both change a labelled table with a normal UPDATE, so its triggers (the
 * change audit among them) see it.  Whatever touches a user's table (these
 * UPDATEs, the subject report's read of a subject's rows, the check of a
 * requested value) runs as the table's owner under
 * SECURITY_RESTRICTED_OPERATION, as PostgreSQL runs maintenance of a user's
 * table: code the table owner wrote (a trigger, a cast, a type's input
 * function, a domain CHECK, an operator, a policy) never runs with the
 * caller's or the extension owner's rights.
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/requests.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "access/table.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_trigger.h"
#include "catalog/indexing.h"
#include "catalog/pg_type.h"
#include "commands/seclabel.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "crm_privacy.h"
#include "label.h"

/* Quoted, schema-qualified name of a relation. */
char *
crm_qualified_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/* Raise 22004 when argument argno is NULL. */
static void
require_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" must not be NULL", name)));
}

/* Check that relid is a table (ordinary, partitioned or foreign); return its owner. */
Oid
crm_table_owner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Form_pg_class form;
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	form = (Form_pg_class) GETSTRUCT(tup);
	if (form->relkind != RELKIND_RELATION && form->relkind != RELKIND_PARTITIONED_TABLE &&
		form->relkind != RELKIND_FOREIGN_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", NameStr(form->relname))));
	owner = form->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/* The number of a user column of relid; 42703 when there is none. */
static AttrNumber
user_column(Oid relid, const char *col)
{
	AttrNumber	attnum = get_attnum(relid, col);

	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist", col, get_rel_name(relid))));
	return attnum;
}

/*
 * Run sql, with text parameter $1 = param (none when NULL), as the owner of
 * the table relid, under SECURITY_RESTRICTED_OPERATION: as PostgreSQL runs
 * maintenance of a user's table, so that code the table's owner wrote (a
 * cast, a type's input function, a domain CHECK, an operator, a trigger, a
 * policy) runs with the owner's rights only, never with the caller's or the
 * extension owner's, and cannot change roles or settings beyond the
 * operation.  Returns the number of rows processed; with result non-NULL,
 * also the first column of the first row, copied out of SPI's memory into
 * the caller's (*isnull when there is no row or the value is NULL).
 */
static uint64
run_as_crm_table_owner(Oid relid, const char *sql, const char *param, bool read_only,
				   Datum *result, bool *isnull)
{
	return crm_run_as_table_owner_keyed(relid, sql, param, NULL, (Datum) 0, NULL, read_only, result, isnull);
}

/*
 * The same, with the pseudonym key as bytea parameter $2 (erasure): the key
 * is no text of the statement, so no error context, log line or code of the
 * table's owner sees it; and with the bytea[] done as parameter $3 and, when
 * rows is given, the first column (bytea) of every row returned appended to
 * *rows, copied into the caller's memory.
 */
/* The caller's identity and settings while a statement runs as a table's owner. */
typedef struct OwnerRun
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
} OwnerRun;

/* Become the owner of relid, restricted, with its settings undone at owner_leave(). */
static void
owner_enter(Oid relid, OwnerRun *run)
{
	Oid			owner = crm_table_owner(relid);

	GetUserIdAndSecContext(&run->save_userid, &run->save_sec_context);
	SetUserIdAndSecContext(owner,
						   run->save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	/* settings the owner's code changes are undone, as after VACUUM */
	run->save_nestlevel = NewGUCNestLevel();

	/*
	 * A policy the owner forces on itself would hide rows from the statement
	 * silently (an erasure that skips them): with row_security off such a
	 * statement fails instead.
	 */
	(void) set_config_option("row_security", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

static void
owner_leave(OwnerRun *run)
{
	AtEOXact_GUC(false, run->save_nestlevel);
	SetUserIdAndSecContext(run->save_userid, run->save_sec_context);
}

uint64
crm_run_as_table_owner_keyed(Oid relid, const char *sql, const char *param, bytea *key,
							 Datum done, List **rows,
							 bool read_only, Datum *result, bool *isnull)
{
	OwnerRun	run;
	Oid			argtypes[3] = {TEXTOID, BYTEAOID, BYTEAARRAYOID};
	Datum		args[3];
	volatile int nargs = done ? 3 : key ? 2 : (param ? 1 : 0);	/* (used in PG_TRY) */
	char		nulls[3] = {' ', ' ', ' '};
	uint64		n;
	MemoryContext caller;

	owner_enter(relid, &run);
	if (param)
		args[0] = CStringGetTextDatum(param);
	else
		nulls[0] = 'n';
	if (key)
		args[1] = PointerGetDatum(key);
	else
		nulls[1] = 'n';
	args[2] = done;
	caller = CurrentMemoryContext;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* any result but an error: a rule of the owner's may turn an UPDATE into nothing */
	crm_masking_suspend(true);	/* our statement, even if the owner is masked */
	PG_TRY();
	{
		if (SPI_execute_with_args(sql, nargs, argtypes, args, nulls, read_only, 0) < 0)
			elog(ERROR, "SPI_execute_with_args failed: %s", sql);
	}
	PG_FINALLY();
	{
		crm_masking_suspend(false);
	}
	PG_END_TRY();
	n = SPI_processed;
	if (rows && SPI_tuptable != NULL)
	{
		for (uint64 i = 0; i < n; i++)
		{
			bool		null;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &null);

			CHECK_FOR_INTERRUPTS();
			if (SPI_tuptable->tupdesc->natts >= 2)
			{
				bool		null2;
				Datum		d2 = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &null2);

				if (null || null2 ||
					VARSIZE_ANY_EXHDR(DatumGetPointer(d)) != VARSIZE_ANY_EXHDR(DatumGetPointer(d2)) ||
					memcmp(VARDATA_ANY(DatumGetPointer(d)), VARDATA_ANY(DatumGetPointer(d2)),
						   VARSIZE_ANY_EXHDR(DatumGetPointer(d))) != 0)
					ereport(ERROR,
							(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
							 errmsg("the erasure of table %s was undone by the table's own code", crm_qualified_name(relid)),
							 errdetail("A trigger or rule of the table wrote other values than the erasure did; nothing was erased."),
							 errhint("Make the table's triggers leave the erased values alone, then erase the subject again.")));
			}
			if (!null)
			{
				/* value and list cell in the caller's memory, which SPI_finish leaves */
				Datum		copy = SPI_datumTransfer(d, false, -1);
				MemoryContext spi = MemoryContextSwitchTo(caller);

				*rows = lappend(*rows, DatumGetPointer(copy));
				MemoryContextSwitchTo(spi);
			}
		}
	}
	if (result)
	{
		*isnull = true;
		if (n > 0 && SPI_tuptable != NULL)
		{
			Form_pg_attribute att = TupleDescAttr(SPI_tuptable->tupdesc, 0);
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);

			/* into the memory of the caller, which SPI_finish does not free */
			if (!*isnull)
				*result = SPI_datumTransfer(d, att->attbyval, att->attlen);
		}
	}
	SPI_finish();
	owner_leave(&run);
	return n;
}

static char *key_condition_of(Oid relid, const char *keycol);

/*
 * The WHERE clause matching a subject key given as text parameter $1.  On a
 * Citus table, put so that Citus cannot send it to the one shard the key
 * hashes to: a row its owner wrote into another shard, on that node, is the
 * subject's too (and the views show it).
 */
static char *
key_condition(Oid relid, const char *keycol)
{
	char	   *cond = key_condition_of(relid, keycol);

	return crm_citus_table(relid) ? psprintf("(%s) IS TRUE", cond) : cond;
}

static char *
key_condition_of(Oid relid, const char *keycol)
{
	Oid			keytype = getBaseType(get_atttype(relid, user_column(relid, keycol)));

	/*
	 * An integer column (of a related table) under a bigint or numeric subject
	 * key: 2.00 is 2, and 2.5 or 3000000000 in an int4 column is no value at
	 * all (NULL: no row), not an error that stops an erasure.
	 */
	if (keytype == INT2OID || keytype == INT4OID || keytype == INT8OID)
	{
		const char *type = format_type_extended(keytype, -1, FORMAT_TYPE_FORCE_QUALIFY);
		const char *low = keytype == INT2OID ? "-32768" : keytype == INT4OID ? "-2147483648" : "-9223372036854775808";
		const char *high = keytype == INT2OID ? "32767" : keytype == INT4OID ? "2147483647" : "9223372036854775807";

		return psprintf("%s OPERATOR(pg_catalog.=) CASE"
						" WHEN CAST($1 AS pg_catalog.numeric) OPERATOR(pg_catalog.=) pg_catalog.trunc(CAST($1 AS pg_catalog.numeric))"
						" AND CAST($1 AS pg_catalog.numeric) OPERATOR(pg_catalog.>=) CAST('%s' AS pg_catalog.numeric)"
						" AND CAST($1 AS pg_catalog.numeric) OPERATOR(pg_catalog.<=) CAST('%s' AS pg_catalog.numeric)"
						" THEN CAST(CAST($1 AS pg_catalog.numeric) AS %s) END",
						quote_identifier(keycol), low, high, type);
	}
	return psprintf("%s OPERATOR(pg_catalog.=) CAST($1 AS %s)", quote_identifier(keycol),
					format_type_extended(keytype, -1, FORMAT_TYPE_FORCE_QUALIFY));
}

/* value (NULL: SQL NULL) cast to the type of column attnum of relid, as SQL. */
static char *
value_as_column(Oid relid, AttrNumber attnum, const char *value)
{
	Oid			typid;
	int32		typmod;
	Oid			collid;

	get_atttypetypmodcoll(relid, attnum, &typid, &typmod, &collid);
	return psprintf("CAST(%s AS %s)", value ? quote_literal_cstr(value) : "NULL",
					format_type_extended(typid, typmod,
										 FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY));
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
	Oid			relid;
	char	   *keycol;
	char	   *col;
	char	   *sql;

	require_arg(fcinfo, 0, "tbl");
	require_arg(fcinfo, 1, "keycol");
	require_arg(fcinfo, 2, "col");
	require_arg(fcinfo, 4, "key");
	relid = PG_GETARG_OID(0);
	keycol = NameStr(*PG_GETARG_NAME(1));
	col = NameStr(*PG_GETARG_NAME(2));
	(void) crm_table_owner(relid);
	/* the new value goes through the column type's own cast, as the owner */
	sql = psprintf("UPDATE %s SET %s = %s WHERE %s", crm_qualified_name(relid), quote_identifier(col),
				   value_as_column(relid, user_column(relid, col),
								   PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3))),
				   key_condition(relid, keycol));
	PG_RETURN_INT64((int64) run_as_crm_table_owner(relid, sql, text_to_cstring(PG_GETARG_TEXT_PP(4)),
											   false, NULL, NULL));
}

/*
 * SQL: privacy.check_value(tbl regclass, col name, value text): raise the
 * error that casting value to the type of column col would raise (the cast,
 * the type's input function and its domain's CHECKs run as the table's
 * owner).  Called by privacy.request_change(); EXECUTE revoked from PUBLIC.
 */
PG_FUNCTION_INFO_V1(crm_check_value);
Datum
crm_check_value(PG_FUNCTION_ARGS)
{
	Oid			relid;

	require_arg(fcinfo, 0, "tbl");
	require_arg(fcinfo, 1, "col");
	relid = PG_GETARG_OID(0);
	(void) crm_table_owner(relid);
	run_as_crm_table_owner(relid,
					   psprintf("SELECT %s",
								value_as_column(relid, user_column(relid, NameStr(*PG_GETARG_NAME(1))),
												PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)))),
					   NULL, true, NULL, NULL);
	PG_RETURN_VOID();
}

/*
 * SQL: privacy.subject_rows(tbl regclass, key text): the rows of a labelled
 * subject or related table whose key is key, as a jsonb array (to_jsonb of
 * each row), read as the table's owner.  Called by privacy.subject_report()
 * and privacy.request_change(); EXECUTE revoked from PUBLIC.
 */
PG_FUNCTION_INFO_V1(crm_subject_rows);
Datum
crm_subject_rows(PG_FUNCTION_ARGS)
{
	Oid			relid;
	CrmTableLabel tl;
	Datum		result = (Datum) 0;
	bool		isnull;

	require_arg(fcinfo, 0, "tbl");
	require_arg(fcinfo, 1, "key");
	relid = PG_GETARG_OID(0);
	(void) crm_table_owner(relid);
	if (!crm_get_table_label(relid, &tl))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("table %s is not labelled as a subject or related table", get_rel_name(relid))));
	run_as_crm_table_owner(relid,
					   psprintf("SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(crm_row.*))"
								" FROM %s crm_row WHERE %s",
								crm_qualified_name(relid), key_condition(relid, tl.key)),
					   text_to_cstring(PG_GETARG_TEXT_PP(1)), true, &result, &isnull);
	if (isnull)
		PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum("[]")));
	PG_RETURN_DATUM(result);
}

/*
 * Is column attnum of relid part of a primary key, a unique constraint, a
 * foreign key (either end) or the partition key?
 */
bool
crm_is_key_column(Oid relid, AttrNumber attnum)
{
	bool		result = false;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(psprintf("SELECT 1 FROM pg_catalog.pg_constraint c"
							 " WHERE c.contype OPERATOR(pg_catalog.=) ANY (ARRAY['f', 'p', 'u']::\"char\"[])"
							 " AND ((c.conrelid OPERATOR(pg_catalog.=) %u AND %d OPERATOR(pg_catalog.=) ANY (c.conkey))"
							 "   OR (c.confrelid OPERATOR(pg_catalog.=) %u AND %d OPERATOR(pg_catalog.=) ANY (c.confkey)))"
							 " UNION ALL SELECT 1 FROM pg_catalog.pg_partitioned_table p"
							 " WHERE p.partrelid OPERATOR(pg_catalog.=) %u"
							 " AND %d OPERATOR(pg_catalog.=) ANY (CAST(p.partattrs AS pg_catalog.int2[]))",
							 relid, attnum, relid, attnum, relid, attnum), true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the constraints");
	result = SPI_processed > 0;
	SPI_finish();
	return result;
}

/*
 * A value of base type typid that reveals nothing, as SQL of type type, for
 * a NOT NULL column with nothing else to put there; NULL for a type that has
 * none (an enum, a composite, a range: the caller reports the column).
 */
static char *
neutral_value(Oid base, const char *type)
{
	const char *v;

	switch (base)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case NUMERICOID:
		case FLOAT4OID:
		case FLOAT8OID:
		case CASHOID:
		case OIDOID:
			v = "0";
			break;
		case BOOLOID:
			v = "false";
			break;
		case DATEOID:
			v = "1970-01-01";
			break;
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			v = "1970-01-01 00:00:00+00";
			break;
		case TIMEOID:
		case TIMETZOID:
			v = "00:00:00+00";
			break;
		case INTERVALOID:
			v = "0";
			break;
		case UUIDOID:
			v = "00000000-0000-0000-0000-000000000000";
			break;
		case BYTEAOID:
			v = "\\x";
			break;
		case JSONOID:
		case JSONBOID:
			v = "{}";
			break;
		case INETOID:
		case CIDROID:
			v = "0.0.0.0/32";
			break;
		case MACADDROID:
			v = "00:00:00:00:00:00";
			break;
		default:
			if (OidIsValid(get_element_type(base)))
				v = "{}";		/* an empty array */
			else
				return NULL;
	}
	return psprintf("CAST(%s AS %s)", quote_literal_cstr(v), type);
}

/*
 * What a NOT NULL column gets where its rules give NULL (an erasure, an
 * anonymization): stars for text, else a value of its type that reveals
 * nothing; NULL when its type has none.  col is the column's reference.
 */
char *
crm_blank_value(Form_pg_attribute att, const char *col)
{
	Oid			base = getBaseType(att->atttypid);
	char	   *type = format_type_extended(att->atttypid, att->atttypmod,
											FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY);

	if (base == TEXTOID || base == VARCHAROID || base == BPCHAROID)
		return psprintf("CAST(pg_catalog.repeat('*', pg_catalog.length(%s)) AS %s)", col, type);
	return neutral_value(base, type);
}

/*
 * Append "<erased value> AS col" for one column to a select list, or
 * nothing when the column is public, a key, or cannot change.  A NOT NULL
 * column whose rules give NULL gets stars (text) or a value of its type that
 * reveals nothing; when its type has none, its name goes to *not_erased.
 */
static bool
append_erasure(StringInfo set, Relation rel, Form_pg_attribute att, AttrNumber keyatt,
			   List **not_erased)
{
	ObjectAddress addr;
	char	   *label;
	CrmColumnLabel cl;
	const CrmRule *rule;
	const char *col;
	StringInfoData expr;

	if (att->attisdropped || att->attnum == keyatt || att->attgenerated)
		return false;
	ObjectAddressSubSet(addr, RelationRelationId, RelationGetRelid(rel), att->attnum);
	label = GetSecurityLabel(&addr, CRM_PROVIDER);
	if (label)
		crm_parse_column_label(label, &cl);
	else
		crm_default_column_label(&cl);
	if (label && cl.level == CRM_LEVEL_PUBLIC)
		return false;

	/*
	 * Keys, unique and foreign-key columns, partition keys and identities
	 * stay (their values tie rows together); one labelled as personal is
	 * named among the values not erased, never kept silently.
	 */
	if (att->attidentity == ATTRIBUTE_IDENTITY_ALWAYS ||
		crm_is_key_column(RelationGetRelid(rel), att->attnum))
	{
		if (label)
			*not_erased = lappend(*not_erased,
								  psprintf("%s.%s", crm_qualified_name(RelationGetRelid(rel)),
										   quote_identifier(NameStr(att->attname))));
		return false;
	}

	/* the anon result; for a NOT NULL column the mask result; else stars */
	rule = &cl.anon;
	if (att->attnotnull && rule->kind == CRM_RULE_NULL)
		rule = &cl.mask;
	col = quote_identifier(NameStr(att->attname));
	initStringInfo(&expr);
	if (att->attnotnull && rule->kind == CRM_RULE_NULL)
	{
		char	   *blank = crm_blank_value(att, col);

		if (blank == NULL)
		{
			*not_erased = lappend(*not_erased,
								  psprintf("%s.%s", crm_qualified_name(RelationGetRelid(rel)), col));
			return false;
		}
		appendStringInfoString(&expr, blank);
	}
	else
		crm_append_rule(&expr, rule, col, att->atttypid, att->atttypmod, "erasure", "$2", NULL);
	appendStringInfo(set, "%s%s AS %s", set->len > 0 ? ", " : "", expr.data, col);
	return true;
}

/* Run sql (SPI connected, as the owner) with nargs parameters; error unless it gives expected. */
static void
citus_erase_step(const char *sql, int nargs, Oid *types, Datum *args, const char *nulls, int expected)
{
	volatile int rc = 0;

	crm_masking_suspend(true);	/* our statement, even if the owner is masked */
	PG_TRY();
	{
		rc = SPI_execute_with_args(sql, nargs, types, args, nulls, false, 0);
	}
	PG_FINALLY();
	{
		crm_masking_suspend(false);
	}
	PG_END_TRY();
	if (rc != expected)
		elog(ERROR, "SPI_execute_with_args failed: %s", sql);
}

/* The bytea in column col of row i of an SPI result; error when NULL. */
static bytea *
spi_bytea_of(SPITupleTable *tuptable, uint64 i, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuptable->vals[i], tuptable->tupdesc, col, &isnull);

	if (isnull)
		elog(ERROR, "the erasure read a NULL fingerprint");
	return DatumGetByteaPCopy(d);
}


/* Put the values of row r of tuptable, columns first.., as text parameters from args[at]. */
static void
row_params(SPITupleTable *tuptable, uint64 r, int first, int count, Datum *args, char *nulls, int at)
{
	for (int i = 0; i < count; i++)
	{
		/* the text of this node's output function, read back by its input function */
		char	   *v = SPI_getvalue(tuptable->vals[r], tuptable->tupdesc, first + i);

		args[at + i] = v ? CStringGetTextDatum(v) : (Datum) 0;
		nulls[at + i] = v ? ' ' : 'n';
	}
}

/*
 * Each row the erasure listed (on every shard) must have its own primary
 * key: two rows with one key are one in its shard and one its owner wrote
 * into another shard, where writing back by key cannot reach it.
 */
static void
check_listed_once(SPITupleTable *rows, uint64 nrows, int npk, Oid relid)
{
	char	  **keys = palloc(sizeof(char *) * Max(nrows, 1));

	for (uint64 r = 0; r < nrows; r++)
	{
		StringInfoData k;

		CHECK_FOR_INTERRUPTS();
		initStringInfo(&k);
		for (int i = 0; i < npk; i++)
		{
			char	   *v = SPI_getvalue(rows->vals[r], rows->tupdesc, 1 + i);

			appendStringInfo(&k, "%d:%s|", v ? (int) strlen(v) : -1, v ? v : "");
		}
		keys[r] = k.data;
	}
	qsort(keys, nrows, sizeof(char *), pg_qsort_strcmp);
	for (uint64 r = 1; r < nrows; r++)
	{
		if (strcmp(keys[r - 1], keys[r]) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("cannot erase rows of %s: a row of the subject is in a shard that is not its own",
							crm_qualified_name(relid)),
					 errdetail("Two rows of the subject have one primary key: one was written into another shard directly, on its node; nothing was erased."),
					 errhint("Move or delete the misplaced row (a superuser, on its node), then erase the subject again.")));
	}
}

/*
 * erase_rows() for a Citus table.  Citus cannot run the one UPDATE of
 * erase_rows() (a join on ctid, the volatile noise() and the key in SET, a
 * fingerprint in RETURNING), and the key must not travel to the workers in
 * a statement.  So, as the table's owner, restricted, throughout: the
 * subject's rows are listed by primary key; each is locked and read (a
 * query Citus sends to its shard); its erased values and fingerprints are
 * computed here, on this node, from the values read and the key; it is
 * written back by primary key, and read again to check that the table's own
 * code left the erased values.  Values travel as text, read and written by
 * this node's functions (Citus's own rule: every node has the same
 * settings).  cols: the quoted columns to erase; types: their SQL types;
 * set: the erased expressions; fp: the fingerprint of crm_t's columns and
 * fp_erased of crm_e's, as erase_rows() builds them.
 */
static uint64
erase_rows_citus(Oid relid, const char *keycol, const char *key, Datum done,
				 List *cols, List *types, const char *set, const char *fp,
				 const char *fp_erased, List **fingerprints)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	Oid			pkoid = crm_primary_key_index(rel);
	List	   *pkcols = NIL;
	List	   *pktypes = NIL;
	StringInfoData list;
	StringInfoData colsql;
	StringInfoData where;
	StringInfoData values;
	char	   *lock;
	char	   *compute;
	char	   *write;
	char	   *reread;
	int			ncols = list_length(cols);
	int			npk;
	int			nargs;
	Oid		   *argtypes;
	Datum	   *args;
	char	   *nulls;
	bytea	   *pkey;
	OwnerRun	run;
	MemoryContext caller = CurrentMemoryContext;
	volatile uint64 n = 0;
	ListCell   *lc;
	ListCell   *lc2;
	int			i;

	if (!OidIsValid(pkoid))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot erase rows of the distributed table %s: it has no primary key",
						crm_qualified_name(relid)),
				 errdetail("On a Citus cluster an erasure writes each row back by its primary key."),
				 errhint("Give the table a primary key (with its distribution column), then erase the subject again.")));
	{
		Relation	idx = index_open(pkoid, AccessShareLock);

		for (i = 0; i < idx->rd_index->indnkeyatts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), idx->rd_index->indkey.values[i] - 1);

			pkcols = lappend(pkcols, pstrdup(quote_identifier(NameStr(att->attname))));
			pktypes = lappend(pktypes, format_type_extended(att->atttypid, att->atttypmod,
															FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY));
		}
		index_close(idx, AccessShareLock);
	}
	relation_close(rel, AccessShareLock);
	npk = list_length(pkcols);

	/*
	 * Parameters: $1 the key (text), $2 the pseudonym key (bytea: only in the
	 * computation, which reads no table), $3 done (bytea[]), then the primary
	 * key's values, then the columns' values, as text.
	 */
	initStringInfo(&list);
	initStringInfo(&where);
	appendStringInfoString(&where, key_condition(relid, keycol));
	i = 0;
	forboth(lc, pkcols, lc2, pktypes)
	{
		appendStringInfo(&list, "%scrm_t.%s", i > 0 ? ", " : "", (char *) lfirst(lc));
		appendStringInfo(&where, " AND crm_t.%s OPERATOR(pg_catalog.=) CAST($%d AS %s)",
						 (char *) lfirst(lc), 4 + i, (char *) lfirst(lc2));
		i++;
	}
	initStringInfo(&colsql);
	initStringInfo(&values);
	i = 0;
	forboth(lc, cols, lc2, types)
	{
		appendStringInfo(&colsql, "%scrm_t.%s", i > 0 ? ", " : "", (char *) lfirst(lc));
		appendStringInfo(&values, "%sCAST($%d AS %s) AS %s", i > 0 ? ", " : "",
						 4 + npk + i, (char *) lfirst(lc2), (char *) lfirst(lc));
		i++;
	}
	lock = psprintf("SELECT %s FROM %s AS crm_t WHERE %s FOR UPDATE",
					colsql.data, crm_qualified_name(relid), where.data);
	reread = psprintf("SELECT %s FROM %s AS crm_t WHERE %s", colsql.data, crm_qualified_name(relid), where.data);
	/* from the values read: their fingerprint, erased before?, the erased fingerprint and values */
	{
		StringInfoData c;

		initStringInfo(&c);
		appendStringInfo(&c, "SELECT %s, %s OPERATOR(pg_catalog.=) ANY ($3), %s", fp, fp, fp_erased);
		foreach(lc, cols)
			appendStringInfo(&c, ", CAST(crm_e.%s AS pg_catalog.text)", (char *) lfirst(lc));
		appendStringInfo(&c, " FROM (SELECT %s) AS crm_t CROSS JOIN LATERAL (SELECT %s) AS crm_e",
						 values.data, set);
		compute = c.data;
	}
	{
		StringInfoData w;

		initStringInfo(&w);
		appendStringInfo(&w, "UPDATE %s AS crm_t SET ", crm_qualified_name(relid));
		i = 0;
		forboth(lc, cols, lc2, types)
		{
			appendStringInfo(&w, "%s%s = CAST($%d AS %s)", i > 0 ? ", " : "", (char *) lfirst(lc),
							 4 + npk + i, (char *) lfirst(lc2));
			i++;
		}
		appendStringInfo(&w, " WHERE %s", where.data);
		write = w.data;
	}

	nargs = 3 + npk + ncols;
	argtypes = palloc(sizeof(Oid) * nargs);
	args = palloc0(sizeof(Datum) * nargs);
	nulls = palloc(nargs + 1);
	memset(nulls, 'n', nargs);
	nulls[nargs] = '\0';
	argtypes[0] = TEXTOID;
	argtypes[1] = BYTEAOID;
	argtypes[2] = BYTEAARRAYOID;
	for (i = 3; i < nargs; i++)
		argtypes[i] = TEXTOID;
	args[0] = CStringGetTextDatum(key);
	nulls[0] = ' ';
	args[2] = done;
	nulls[2] = ' ';

	pkey = crm_pseudonym_key();
	owner_enter(relid, &run);

	/*
	 * Values go through text here, read and written back: with the
	 * caller's DateStyle or extra_float_digits a key could come back as
	 * another (0.1 for 0.10000001).  Fixed as the seal fixes them, undone at
	 * owner_leave().
	 */
	(void) set_config_option("DateStyle", "ISO, YMD", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("IntervalStyle", "postgres", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("extra_float_digits", "3", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("TimeZone", "UTC", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("bytea_output", "hex", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PG_TRY();
	{
		SPITupleTable *rows;
		uint64		nrows;

		/* the subject's rows, by primary key */
		citus_erase_step(psprintf("SELECT %s FROM %s AS crm_t WHERE %s", list.data,
								  crm_qualified_name(relid), key_condition(relid, keycol)),
						 1, argtypes, args, nulls, SPI_OK_SELECT);
		rows = SPI_tuptable;
		nrows = SPI_processed;
		check_listed_once(rows, nrows, npk, relid);
		for (uint64 r = 0; r < nrows; r++)
		{
			bytea	   *erased;
			bool		isnull;

			CHECK_FOR_INTERRUPTS();
			row_params(rows, r, 1, npk, args, nulls, 3);
			citus_erase_step(lock, nargs, argtypes, args, nulls, SPI_OK_SELECT);
			if (SPI_processed != 1)
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("a row of table %s to erase could not be read again on its shard",
								crm_qualified_name(relid)),
						 errdetail("It was deleted or its key changed meanwhile, or the table's own code hides it; nothing was erased."),
						 errhint("Erase the subject again.")));
			row_params(SPI_tuptable, 0, 1, ncols, args, nulls, 3 + npk);
			/* computed from the values, with the key: on this node only */
			args[1] = PointerGetDatum(pkey);
			nulls[1] = ' ';
			citus_erase_step(compute, nargs, argtypes, args, nulls, SPI_OK_SELECT);
			args[1] = (Datum) 0;
			nulls[1] = 'n';
			if (SPI_processed != 1)
				elog(ERROR, "the erasure computed no row");
			if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)))
				continue;		/* as an earlier erasure left it */
			erased = spi_bytea_of(SPI_tuptable, 0, 3);
			row_params(SPI_tuptable, 0, 4, ncols, args, nulls, 3 + npk);
			citus_erase_step(write, nargs, argtypes, args, nulls, SPI_OK_UPDATE);
			if (SPI_processed != 1)
				ereport(ERROR,
						(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
						 errmsg("the erasure of table %s was undone by the table's own code", crm_qualified_name(relid)),
						 errdetail("A row to erase was not written: a rule or trigger of the table, or a policy on one of its shards, stopped it; nothing was erased."),
						 errhint("Make the table's code leave the erasure alone, then erase the subject again.")));
			/* what the row holds now, fingerprinted here as the erased values were */
			citus_erase_step(reread, nargs, argtypes, args, nulls, SPI_OK_SELECT);
			if (SPI_processed == 1)
			{
				row_params(SPI_tuptable, 0, 1, ncols, args, nulls, 3 + npk);
				citus_erase_step(compute, nargs, argtypes, args, nulls, SPI_OK_SELECT);
			}
			if (SPI_processed != 1 ||
				VARSIZE_ANY_EXHDR(spi_bytea_of(SPI_tuptable, 0, 1)) != VARSIZE_ANY_EXHDR(erased) ||
				memcmp(VARDATA_ANY(spi_bytea_of(SPI_tuptable, 0, 1)), VARDATA_ANY(erased),
					   VARSIZE_ANY_EXHDR(erased)) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
						 errmsg("the erasure of table %s was undone by the table's own code", crm_qualified_name(relid)),
						 errdetail("A trigger or rule of the table wrote other values than the erasure did; nothing was erased."),
						 errhint("Make the table's triggers leave the erased values alone, then erase the subject again.")));
			{
				MemoryContext spi = MemoryContextSwitchTo(caller);

				*fingerprints = lappend(*fingerprints, DatumGetByteaPCopy(PointerGetDatum(erased)));
				MemoryContextSwitchTo(spi);
			}
			n++;
		}
	}
	PG_FINALLY();
	{
		explicit_bzero(VARDATA(pkey), VARSIZE(pkey) - VARHDRSZ);
	}
	PG_END_TRY();
	SPI_finish();
	owner_leave(&run);

	/*
	 * What Citus read and wrote for each shard must have been the shard
	 * table itself, seen whole: PostgreSQL's row_security = off, which makes
	 * a policy the owner forces on itself an error, stays on this node, and
	 * a view or a rule in a shard's place would hide rows from the erasure.
	 * Checked on every node once the rows are written: the locks the
	 * erasure holds keep the shards as they were while it read them.
	 */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		Oid			types[1] = {OIDOID};
		Datum		values[1] = {ObjectIdGetDatum(relid)};
		bool		isnull;

		if (SPI_execute_with_args("SELECT privacy.citus_shard_problems($1)", 1, types, values, NULL,
								  false, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "could not check the shards of %s", crm_qualified_name(relid));
		(void) SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (!isnull)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot erase rows of %s: some of its shards are not plain tables read whole",
							crm_qualified_name(relid)),
					 errdetail("%s", SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)),
					 errhint("A shard must be the table Citus made, with its table's columns, no rule, no deferrable trigger and no row-level security forced on its owner; nothing was erased.")));
	}
	SPI_finish();
	return n;
}

/*
 * Erase the labelled non-public values of the rows of relid whose key is key,
 * but not the rows whose erasable values are as an earlier erasure left them
 * (their fingerprints are in done, a bytea[]): erasing twice changes nothing
 * more, while rows that arrived or changed since are erased.  The fingerprint
 * of each row erased now (sha256 of the table's OID and the erased values'
 * text) is appended to *fingerprints; columns that cannot be erased to
 * *not_erased.  Returns the rows changed.
 */
/*
 * A deferrable trigger of the table's (a constraint trigger its owner made)
 * could fire at commit, after the erasure checked what it wrote, and put
 * the values back: such a table is not erased.  (Internal ones, of foreign
 * keys, change no value of the table.)
 */
static void
refuse_deferrable_triggers(Oid relid)
{
	ListCell   *lc;

	foreach(lc, find_all_inheritors(relid, NoLock, NULL))
	{
		Relation	rel = table_open(TriggerRelationId, AccessShareLock);
		ScanKeyData skey;
		SysScanDesc scan;
		HeapTuple	tup;
		char	   *culprit = NULL;

		ScanKeyInit(&skey, Anum_pg_trigger_tgrelid, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(lfirst_oid(lc)));
		scan = systable_beginscan(rel, TriggerRelidNameIndexId, true, NULL, 1, &skey);
		while (culprit == NULL && HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			Form_pg_trigger trig = (Form_pg_trigger) GETSTRUCT(tup);

			if (trig->tgdeferrable && !trig->tgisinternal)
				culprit = pstrdup(NameStr(trig->tgname));
		}
		systable_endscan(scan);
		table_close(rel, AccessShareLock);
		if (culprit)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot erase rows of %s: it has the deferrable trigger %s",
							crm_qualified_name(lfirst_oid(lc)), culprit),
					 errdetail("A deferrable trigger can fire at commit, after the erasure checked the values it wrote, and write them back; nothing was erased."),
					 errhint("Drop the trigger or make it NOT DEFERRABLE, then erase the subject again.")));
	}
}

static uint64
erase_rows(Oid relid, const char *keycol, const char *key, Datum done,
		   List **fingerprints, List **not_erased)
{
	Relation	rel;
	TupleDesc	desc;
	AttrNumber	keyatt = user_column(relid, keycol);
	StringInfoData set;
	StringInfoData cols;
	StringInfoData assign;
	StringInfoData erased;
	List	   *colnames = NIL;
	List	   *coltypes = NIL;
	uint64		n = 0;

	(void) crm_table_owner(relid);
	refuse_deferrable_triggers(relid);
	rel = relation_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);

	initStringInfo(&set);
	initStringInfo(&cols);
	initStringInfo(&assign);
	initStringInfo(&erased);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		const char *col = quote_identifier(NameStr(att->attname));

		if (append_erasure(&set, rel, att, keyatt, not_erased))
		{
			appendStringInfo(&cols, "%scrm_t.%s", cols.len > 0 ? ", " : "", col);
			appendStringInfo(&erased, "%scrm_e.%s", erased.len > 0 ? ", " : "", col);
			appendStringInfo(&assign, "%s%s = crm_e.%s", assign.len > 0 ? ", " : "", col, col);
			colnames = lappend(colnames, pstrdup(col));
			coltypes = lappend(coltypes, format_type_extended(att->atttypid, att->atttypmod,
															  FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY));
		}
	}
	relation_close(rel, AccessShareLock);
	if (set.len > 0 && crm_citus_table(relid))
	{
		const char *fp = "pg_catalog.sha256(pg_catalog.convert_to("
			"CAST(%u AS pg_catalog.text) OPERATOR(pg_catalog.||) "
			"CAST(ROW(%s) AS pg_catalog.text), 'UTF8'))";

		n = erase_rows_citus(relid, keycol, key, done, colnames, coltypes, set.data,
							 psprintf(fp, relid, cols.data), psprintf(fp, relid, erased.data),
							 fingerprints);
	}
	else if (set.len > 0)
	{
		/* pseudonyms under the key, passed as $2, in a context of their own */
		bytea	   *pkey = crm_pseudonym_key();
		const char *fp = "pg_catalog.sha256(pg_catalog.convert_to("
			"CAST(%u AS pg_catalog.text) OPERATOR(pg_catalog.||) "
			"CAST(ROW(%s) AS pg_catalog.text), 'UTF8'))";
		char	   *stored = psprintf(fp, relid, cols.data);
		char	   *intended = psprintf(fp, relid, erased.data);

		/*
		 * The erased values are computed from the rows (locked) first, then
		 * written; each row returns the fingerprint of what it holds now and
		 * of what was written, which differ when a trigger or rule of the
		 * owner put other values back.
		 */
		n = crm_run_as_table_owner_keyed(relid,
									 psprintf("UPDATE %s AS crm_t SET %s"
											  " FROM (SELECT crm_t.tableoid AS crm_tableoid, crm_t.ctid AS crm_ctid, %s"
											  "       FROM %s AS crm_t WHERE %s AND %s OPERATOR(pg_catalog.<>) ALL ($3)"
											  "       FOR UPDATE) crm_e"
											  " WHERE crm_t.tableoid OPERATOR(pg_catalog.=) crm_e.crm_tableoid"
											  " AND crm_t.ctid OPERATOR(pg_catalog.=) crm_e.crm_ctid"
											  " RETURNING %s, %s",
											  crm_qualified_name(relid), assign.data, set.data,
											  crm_qualified_name(relid), key_condition(relid, keycol), stored,
											  stored, intended),
									 key, pkey, done, fingerprints, false, NULL, NULL);
		explicit_bzero(VARDATA(pkey), VARSIZE(pkey) - VARHDRSZ);
	}
	return n;
}

/*
 * On a Citus cluster, an erasure changes the subject's rows of the subject
 * table and its related tables in one transaction, each as its table's
 * owner; Citus lets one transaction change a shard's rows (and those of the
 * shards co-located with it) as one role only.  Refused before anything is
 * changed when the distributed tables to erase have different owners.
 */
/* The owner of privacy.<name>. */
static Oid
get_rel_owner_of(const char *name)
{
	Oid			relid = get_relname_relid(name, get_namespace_oid(CRM_SCHEMA, false));
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "privacy.%s is missing", name);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

static void
check_citus_owners(Oid subject)
{
	List	   *tables = list_make1_oid(subject);
	Oid			owner = InvalidOid;
	Oid			first = InvalidOid;
	ListCell   *lc;

	if (!crm_citus_present())
		return;
	foreach(lc, crm_relation_labels())
	{
		CrmLabelEntry *entry = (CrmLabelEntry *) lfirst(lc);
		CrmTableLabel rtl;

		if (entry->attnum != 0)
			continue;
		crm_parse_table_label(entry->label, &rtl);
		if (rtl.related && crm_subject_relid(&rtl) == subject)
			tables = lappend_oid(tables, entry->relid);
	}
	foreach(lc, tables)
	{
		Oid			relid = lfirst_oid(lc);
		Oid			o;

		if (!crm_citus_table(relid))
			continue;

		/*
		 * A reference table shares its shard group with privacy.optout_keys,
		 * which the erasure changes as the extension's owner
		 */
		if (crm_citus_reference_table(relid) &&
			crm_table_owner(relid) != get_rel_owner_of("optout_keys"))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot erase subjects of %s on a Citus cluster: the reference table %s is not owned by crm_privacy's owner",
							crm_qualified_name(subject), crm_qualified_name(relid)),
					 errdetail("Citus co-locates every reference table with crm_privacy's opt-outs, which an erasure changes as the extension's owner; one transaction may change them as one role only."),
					 errhint("Distribute the table instead, or give it to the extension's owner.")));
		o = crm_table_owner(relid);
		if (!OidIsValid(owner))
		{
			owner = o;
			first = relid;
		}
		else if (o != owner)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot erase subjects of %s on a Citus cluster: distributed tables %s and %s have different owners",
							crm_qualified_name(subject), crm_qualified_name(first), crm_qualified_name(relid)),
					 errdetail("An erasure changes each table as its owner, in one transaction; Citus lets one transaction change co-located shards as one role only."),
					 errhint("Give the subject table and its related distributed tables one owner, then erase the subject again.")));
	}
}

/*
 * SQL: privacy.erase_rows(subject regclass, key text, done bytea[],
 * OUT fingerprints bytea[], OUT not_erased text[]): erase a subject and its
 * related rows, but not the rows erased before (done); returns the
 * fingerprints of the rows changed (one each) and the columns that could
 * not be erased.  Called by privacy.erase_subject(), which records them;
 * EXECUTE revoked from PUBLIC.
 */
PG_FUNCTION_INFO_V1(crm_erase_rows);
Datum
crm_erase_rows(PG_FUNCTION_ARGS)
{
	Oid			subject;
	char	   *key;
	Datum		done;
	CrmTableLabel tl;
	List	   *fingerprints = NIL;
	List	   *not_erased = NIL;
	ListCell   *lc;
	TupleDesc	desc;
	Datum		result[2];
	bool		nulls[2] = {false, false};
	Datum	   *elems;
	int			i;

	require_arg(fcinfo, 0, "subject");
	require_arg(fcinfo, 1, "key");
	require_arg(fcinfo, 2, "done");
	subject = PG_GETARG_OID(0);
	key = text_to_cstring(PG_GETARG_TEXT_PP(1));
	done = PG_GETARG_DATUM(2);
	if (ARR_NDIM(DatumGetArrayTypeP(done)) > 1 || array_contains_nulls(DatumGetArrayTypeP(done)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("done must be a one-dimensional array of fingerprints without NULLs")));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	(void) crm_table_owner(subject);
	if (!crm_get_table_label(subject, &tl) || tl.related)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("table %s is not labelled as a subject table", get_rel_name(subject))));
	check_citus_owners(subject);
	(void) erase_rows(subject, tl.key, key, done, &fingerprints, &not_erased);
	foreach(lc, crm_relation_labels())
	{
		CrmLabelEntry *entry = (CrmLabelEntry *) lfirst(lc);
		CrmTableLabel rtl;

		if (entry->attnum != 0)
			continue;
		crm_parse_table_label(entry->label, &rtl);
		if (rtl.related && crm_subject_relid(&rtl) == subject)
			(void) erase_rows(entry->relid, rtl.key, key, done, &fingerprints, &not_erased);
	}
	/* the subject leaves the snapshots: no copy of the erased values stays */
	crm_snapshots_erased(subject, key);

	elems = palloc(sizeof(Datum) * (list_length(fingerprints) + 1));
	i = 0;
	foreach(lc, fingerprints)
		elems[i++] = PointerGetDatum(lfirst(lc));
	result[0] = PointerGetDatum(construct_array(elems, i, BYTEAOID, -1, false, TYPALIGN_INT));
	elems = palloc(sizeof(Datum) * (list_length(not_erased) + 1));
	i = 0;
	foreach(lc, not_erased)
		elems[i++] = CStringGetTextDatum((char *) lfirst(lc));
	result[1] = PointerGetDatum(construct_array(elems, i, TEXTOID, -1, false, TYPALIGN_INT));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), result, nulls)));
}
