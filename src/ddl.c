/*-------------------------------------------------------------------------
 *
 * ddl.c
 *	  Event triggers that keep crm_privacy labels true across DDL.
 *
 * Column labels are stored against column numbers, so they follow column
 * renames by themselves.  But labels also name things in text, so that they
 * survive pg_dump: a table label names its key column (key=) and its subject
 * table (subject=), and a column label may name a function (fn()).
 *
 *	- ddl_command_start: before a rename or a move to another schema, the
 *	  labels that name the object are rewritten to its new name.
 *	- sql_drop: a command may not drop a key column, a subject table that
 *	  still has related tables, or a function that a label uses.
 *	- ddl_command_end: after ALTER TABLE (or ALTER TYPE of a typed table's
 *	  type), the labels of the altered tables must still hold (a masked
 *	  column retyped so that its rule no longer fits is refused); after ALTER
 *	  FUNCTION or ALTER SCHEMA, every fn() rule must still name a function of
 *	  a trusted schema.
 *	- REASSIGN OWNED fires no event trigger: a utility hook gives the new
 *	  owner the records that wait for the old owners' dropped tables.
 *
 * Only labels that touch the objects of the command are checked, so a label
 * that was already broken (say, by a partial restore) never blocks unrelated
 * DDL.
 *
 * These functions run with the caller's search_path (they have no SET clause),
 * because they must resolve the unqualified names of the command exactly as
 * the command itself does.  The only SQL they run is schema-qualified.
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/ddl.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/partition.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "commands/seclabel.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parse_func.h"
#include "parser/parse_type.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "crm_privacy.h"
#include "label.h"

/* Error context of a label check: which label, after which command. */
typedef struct CheckContext
{
	const CrmLabelEntry *entry;
	const char *command;
} CheckContext;

/* A function dropped by the current command. */
typedef struct DroppedFunction
{
	char	   *schema;
	char	   *name;
} DroppedFunction;

/* Refuse to run an event trigger function as anything else. */
static EventTriggerData *
event_trigger_data(FunctionCallInfo fcinfo, const char *name)
{
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function %s must be fired as an event trigger", name)));
	return (EventTriggerData *) fcinfo->context;
}

/*
 * Replace the stored label of a table or column.  The provider hook is not
 * called: the new label is the old one with a renamed object's new name.
 */
static void
store_label(const CrmLabelEntry *entry, const char *label)
{
	ObjectAddress addr;

	ObjectAddressSubSet(addr, RelationRelationId, entry->relid, entry->attnum);
	SetSecurityLabel(&addr, CRM_PROVIDER, label);
	CommandCounterIncrement();
}

/* Rewrite key=old to key=new in the table label of relid. */
static void
rename_key_column(Oid relid, const char *old_name, const char *new_name)
{
	ListCell   *lc;

	foreach(lc, crm_relation_labels())
	{
		CrmLabelEntry *entry = (CrmLabelEntry *) lfirst(lc);
		CrmTableLabel tl;

		if (entry->relid != relid || entry->attnum != 0)
			continue;
		crm_parse_table_label(entry->label, &tl);
		if (strcmp(tl.key, old_name) != 0)
			continue;
		tl.key = pstrdup(new_name);
		store_label(entry, crm_table_label_to_string(&tl));
	}
}

/*
 * Point related labels that name old_schema.old_name (any table of
 * old_schema when old_name is NULL) at new_schema.new_name (NULL: unchanged).
 */
static void
retarget_subject(const char *old_schema, const char *old_name,
				 const char *new_schema, const char *new_name)
{
	ListCell   *lc;

	foreach(lc, crm_relation_labels())
	{
		CrmLabelEntry *entry = (CrmLabelEntry *) lfirst(lc);
		CrmTableLabel tl;

		if (entry->attnum != 0)
			continue;
		crm_parse_table_label(entry->label, &tl);
		if (!tl.related || strcmp(tl.subject_schema, old_schema) != 0 ||
			(old_name != NULL && strcmp(tl.subject_name, old_name) != 0))
			continue;
		if (new_schema)
			tl.subject_schema = pstrdup(new_schema);
		if (new_name)
			tl.subject_name = pstrdup(new_name);
		store_label(entry, crm_table_label_to_string(&tl));
	}
}

/* Does rule call schema.name (any function of schema when name is NULL)? */
static bool
rule_calls(const CrmRule *rule, const char *schema, const char *name)
{
	return rule->kind == CRM_RULE_FN && strcmp(rule->fn_schema, schema) == 0 &&
		(name == NULL || strcmp(rule->fn_name, name) == 0);
}

/*
 * Does rule call the function funcoid, named schema.name, on a column of type
 * argtype?  With name NULL: does it call any function of schema?
 */
static bool
rule_names_function(const CrmRule *rule, const char *schema, const char *name,
					Oid funcoid, Oid argtype)
{
	Oid			argtypes[1];

	if (!rule_calls(rule, schema, name))
		return false;
	if (name == NULL)
		return true;
	argtypes[0] = argtype;
	return LookupFuncName(list_make2(makeString(rule->fn_schema), makeString(rule->fn_name)),
						  1, argtypes, true) == funcoid;
}

/* Move one fn() rule to a new schema and/or name (NULL: unchanged). */
static void
retarget_rule(CrmRule *rule, const char *new_schema, const char *new_name)
{
	if (new_schema)
		rule->fn_schema = pstrdup(new_schema);
	if (new_name)
		rule->fn_name = pstrdup(new_name);
}

/*
 * Point fn() rules that name schema.name (function funcoid; any function of
 * schema when name is NULL) at new_schema.new_name (NULL: unchanged).
 */
static void
retarget_functions(const char *schema, const char *name, Oid funcoid,
				   const char *new_schema, const char *new_name)
{
	ListCell   *lc;

	foreach(lc, crm_relation_labels())
	{
		CrmLabelEntry *entry = (CrmLabelEntry *) lfirst(lc);
		CrmColumnLabel cl;
		Oid			atttype;
		bool		changed = false;

		if (entry->attnum <= 0)
			continue;
		crm_parse_column_label(entry->label, &cl);
		atttype = get_atttype(entry->relid, entry->attnum);
		if (rule_names_function(&cl.mask, schema, name, funcoid, atttype))
		{
			retarget_rule(&cl.mask, new_schema, new_name);
			changed = true;
		}
		if (rule_names_function(&cl.anon, schema, name, funcoid, atttype))
		{
			retarget_rule(&cl.anon, new_schema, new_name);
			changed = true;
		}
		if (changed)
			store_label(entry, crm_column_label_to_string(&cl));
	}
}

/* Schema and name of a table, or false if it does not exist. */
static bool
table_names(RangeVar *rv, char **schema, char **name)
{
	Oid			relid = RangeVarGetRelid(rv, NoLock, true);

	if (!OidIsValid(relid))
		return false;
	*schema = get_namespace_name(get_rel_namespace(relid));
	*name = get_rel_name(relid);
	return true;
}

/* The function a statement names, or InvalidOid. */
static Oid
statement_function(ObjectType objtype, Node *object)
{
	return LookupFuncWithArgs(objtype, castNode(ObjectWithArgs, object), true);
}

/* Rewrite labels before ALTER ... RENAME. */
/*
 * Does the current user own the relation?  What the start-time triggers
 * rewrite before a rename or SET SCHEMA, they rewrite only for one whom the
 * command will allow (anyone else's command fails, and must not wait for
 * or touch anything first).
 */
static bool
owns_rangevar(RangeVar *rv)
{
	Oid			relid = RangeVarGetRelid(rv, NoLock, true);

	return OidIsValid(relid) && crm_owns_relation(relid, GetUserId());
}

static void
before_rename(RenameStmt *stmt)
{
	char	   *schema;
	char	   *name;
	Oid			funcoid;

	switch (stmt->renameType)
	{
		case OBJECT_COLUMN:
			{
				Oid			relid = RangeVarGetRelid(stmt->relation, NoLock, true);

				if (OidIsValid(relid) && crm_owns_relation(relid, GetUserId()))
					rename_key_column(relid, stmt->subname, stmt->newname);
				break;
			}
		case OBJECT_TABLE:
		case OBJECT_FOREIGN_TABLE:
			if (owns_rangevar(stmt->relation) && table_names(stmt->relation, &schema, &name))
				retarget_subject(schema, name, NULL, stmt->newname);
			break;
		case OBJECT_SCHEMA:
			if (!OidIsValid(get_namespace_oid(stmt->subname, true)) ||
				!crm_owns_namespace(get_namespace_oid(stmt->subname, true), GetUserId()))
				break;
			retarget_subject(stmt->subname, NULL, stmt->newname, NULL);
			retarget_functions(stmt->subname, NULL, InvalidOid, stmt->newname, NULL);
			break;
		case OBJECT_FUNCTION:
		case OBJECT_ROUTINE:
			funcoid = statement_function(stmt->renameType, stmt->object);
			if (OidIsValid(funcoid) && crm_owns_function(funcoid, GetUserId()))
				retarget_functions(get_namespace_name(get_func_namespace(funcoid)),
								   get_func_name(funcoid), funcoid, NULL, stmt->newname);
			break;
		default:
			break;
	}
}

/* Rewrite labels before ALTER ... SET SCHEMA. */
static void
before_set_schema(AlterObjectSchemaStmt *stmt)
{
	char	   *schema;
	char	   *name;
	Oid			funcoid;

	switch (stmt->objectType)
	{
		case OBJECT_TABLE:
		case OBJECT_FOREIGN_TABLE:
			if (owns_rangevar(stmt->relation) && table_names(stmt->relation, &schema, &name))
				retarget_subject(schema, name, stmt->newschema, NULL);
			break;
		case OBJECT_FUNCTION:
		case OBJECT_ROUTINE:
			funcoid = statement_function(stmt->objectType, stmt->object);
			if (OidIsValid(funcoid) && crm_owns_function(funcoid, GetUserId()))
				retarget_functions(get_namespace_name(get_func_namespace(funcoid)),
								   get_func_name(funcoid), funcoid, stmt->newschema, NULL);
			break;
		default:
			break;
	}
}

static void archive_logs(void);
static void record_type_change(Oid target, const char *op, const char *attribute);
static void check_key_retype(Oid relid, const char *column, TypeName *newtypename);

/* Does relid carry a crm_privacy table label (and so, privacy views)? */
static bool
has_views(Oid relid)
{
	CrmTableLabel tl;

	return OidIsValid(relid) && crm_get_table_label(relid, &tl);
}

/* Before DROP FUNCTION: refuse to drop a function that a column label uses. */
static void
before_drop_function(Oid funcoid)
{
	char	   *schema;
	char	   *name;
	ListCell   *lc;

	if (!OidIsValid(funcoid))
		return;
	schema = get_namespace_name(get_func_namespace(funcoid));
	name = get_func_name(funcoid);
	foreach(lc, crm_relation_labels())
	{
		CrmLabelEntry *entry = (CrmLabelEntry *) lfirst(lc);
		CrmColumnLabel cl;
		Oid			atttype;

		if (entry->attnum <= 0)
			continue;
		crm_parse_column_label(entry->label, &cl);
		atttype = get_atttype(entry->relid, entry->attnum);
		if (rule_names_function(&cl.mask, schema, name, funcoid, atttype) ||
			rule_names_function(&cl.anon, schema, name, funcoid, atttype))
			ereport(ERROR,
					(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
					 errmsg("cannot drop function %s.%s: the crm_privacy label of column \"%s\" of table \"%s\" uses it",
							quote_identifier(schema), quote_identifier(name),
							get_attname(entry->relid, entry->attnum, false),
							get_rel_name(entry->relid)),
					 errhint("Relabel the column first.")));
	}
}

/*
 * Before DROP TABLE or DROP SCHEMA: drop the privacy views of the labelled
 * tables that go, which would otherwise block the command.  Before DROP
 * FUNCTION: refuse to drop a function a label uses.
 */
static void
before_drop(DropStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->objects)
	{
		if (stmt->removeType == OBJECT_TABLE || stmt->removeType == OBJECT_FOREIGN_TABLE)
		{
			Oid			relid = RangeVarGetRelid(makeRangeVarFromNameList(castNode(List, lfirst(lc))),
												 NoLock, true);

			/*
			 * Only for whom the command will drop it (the table's or the
			 * schema's owner): anyone else is refused, and must not make
			 * anything happen first.
			 */
			if (!OidIsValid(relid) ||
				!(crm_owns_relation(relid, GetUserId()) ||
				  crm_owns_namespace(get_rel_namespace(relid), GetUserId())))
				continue;
			/* the rows an audited table loses are counted in the log */
			if (crm_is_audited(relid))
				crm_audit_table_action(relid, "DROP TABLE", NULL);
			if (has_views(relid))
				crm_drop_views_of(relid);
			crm_snapshots_drop(relid);
		}
		else if (stmt->removeType == OBJECT_EXTENSION &&
				 strcmp(strVal(lfirst(lc)), CRM_PROVIDER) == 0)
			archive_logs();
		else if ((stmt->removeType == OBJECT_TYPE || stmt->removeType == OBJECT_DOMAIN) &&
				 stmt->behavior == DROP_CASCADE)
			record_type_change(LookupTypeNameOid(NULL, castNode(TypeName, lfirst(lc)), true),
							   "DROP TYPE", NULL);
		else if (stmt->removeType == OBJECT_FUNCTION || stmt->removeType == OBJECT_ROUTINE)
			before_drop_function(LookupFuncWithArgs(stmt->removeType,
													castNode(ObjectWithArgs, lfirst(lc)), true));
		else if (stmt->removeType == OBJECT_SCHEMA)
		{
			Oid			nspid = get_namespace_oid(strVal(lfirst(lc)), true);
			ListCell   *lc2;

			if (!OidIsValid(nspid) || !crm_owns_namespace(nspid, GetUserId()))
				continue;		/* refused by the command itself */
			/* DROP SCHEMA privacy CASCADE drops the extension too */
			if (OidIsValid(nspid) && nspid == get_namespace_oid(CRM_SCHEMA, true) &&
				stmt->behavior == DROP_CASCADE)
				archive_logs();

			foreach(lc2, crm_relation_labels())
			{
				CrmLabelEntry *entry = (CrmLabelEntry *) lfirst(lc2);

				if (entry->attnum == 0 && get_rel_namespace(entry->relid) == nspid)
				{
					crm_drop_views_of(entry->relid);
					crm_snapshots_drop(entry->relid);
				}
			}
		}
	}
}

/*
 * Is the trigger named name of the table rv (a name list when rv is NULL: the
 * table's name, then the trigger's) one of the audit triggers
 * privacy.enable_audit() makes?  A look-alike of the owner's is not.
 */
static bool
is_audit_trigger(RangeVar *rv, List *names, const char *name)
{
	if (rv == NULL)
	{
		if (list_length(names) < 2)
			return false;
		rv = makeRangeVarFromNameList(list_truncate(list_copy(names), list_length(names) - 1));
		name = strVal(llast(names));
	}
	return crm_is_audit_trigger(RangeVarGetRelid(rv, NoLock, true), name);
}

/* Only superusers (and privacy.disable_audit()) may touch the audit triggers. */
static void
refuse_audit_change(const char *what)
{
	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot %s the crm_privacy audit trigger of a table", what),
				 errdetail("Only privacy.disable_audit() stops the audit of a table."),
				 errhint("The extension's owner can grant EXECUTE on privacy.disable_audit().")));
}

/* Does a CREATE TRIGGER statement run privacy.audit_trigger()? */
static bool
runs_audit_trigger(CreateTrigStmt *stmt)
{
	Oid			funcoid = LookupFuncName(stmt->funcname, 0, NULL, true);

	return OidIsValid(funcoid) && crm_is_audit_function(funcoid);
}

static bool labelled_or_audited(Oid relid);

/* Does a value of type typid hold a value of type target? */
static bool
type_uses(Oid typid, Oid target)
{
	HeapTuple	tup;
	Form_pg_type typ;
	Oid			next = InvalidOid;
	Oid			composite = InvalidOid;
	bool		result = false;

	check_stack_depth();
	CHECK_FOR_INTERRUPTS();
	if (typid == target)
		return true;
	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	if (!HeapTupleIsValid(tup))
		return false;
	typ = (Form_pg_type) GETSTRUCT(tup);
	if (typ->typtype == TYPTYPE_DOMAIN)
		next = typ->typbasetype;
	else if (IsTrueArrayType(typ))
		next = typ->typelem;
	else if (typ->typtype == TYPTYPE_RANGE)
		next = get_range_subtype(typid);
	else if (typ->typtype == TYPTYPE_MULTIRANGE)
		next = get_multirange_range(typid);
	else if (typ->typtype == TYPTYPE_COMPOSITE)
		composite = typ->typrelid;
	ReleaseSysCache(tup);
	if (OidIsValid(next))
		return type_uses(next, target);
	if (OidIsValid(composite))
	{
		HeapTuple	ctup = SearchSysCache1(RELOID, ObjectIdGetDatum(composite));
		int			natts = 0;

		if (HeapTupleIsValid(ctup))
		{
			natts = ((Form_pg_class) GETSTRUCT(ctup))->relnatts;
			ReleaseSysCache(ctup);
		}
		for (AttrNumber a = 1; a <= natts && !result; a++)
		{
			HeapTuple	atup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(composite), Int16GetDatum(a));

			if (!HeapTupleIsValid(atup))
				continue;
			if (!((Form_pg_attribute) GETSTRUCT(atup))->attisdropped)
				result = type_uses(((Form_pg_attribute) GETSTRUCT(atup))->atttypid, target);
			ReleaseSysCache(atup);
		}
	}
	return result;
}

/*
 * Before DDL that changes or removes the values of type target wherever they
 * are stored (ALTER TYPE ... RENAME VALUE, DROP ATTRIBUTE or ALTER ATTRIBUTE
 * TYPE; DROP TYPE or DOMAIN ... CASCADE): record it as a privacy action on
 * each audited table, for each column that holds such values, with its rows.
 * A typed table (OF target) loses or changes the attribute the command names,
 * or, when it names none (DROP TYPE), goes.
 */
static void
record_type_change(Oid target, const char *op, const char *attribute)
{
	List	   *tables = NIL;
	MemoryContext callercxt = CurrentMemoryContext;
	ListCell   *lc;

	if (!OidIsValid(target))
		return;
	/* the audited tables: roots of partition trees, not their clones */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT DISTINCT t.tgrelid FROM pg_catalog.pg_trigger t"
					" WHERE t.tgname OPERATOR(pg_catalog.=) '" CRM_AUDIT_TRIGGER "'"
					"   AND t.tgparentid OPERATOR(pg_catalog.=) 0", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the audited tables");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		MemoryContext oldcxt = MemoryContextSwitchTo(callercxt);

		tables = lappend_oid(tables, DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
																	 SPI_tuptable->tupdesc, 1, &isnull)));
		MemoryContextSwitchTo(oldcxt);
	}
	SPI_finish();

	foreach(lc, tables)
	{
		Oid			relid = lfirst_oid(lc);
		HeapTuple	tup;
		Oid			oftype;
		int			natts;

		if (!crm_is_audited(relid))
			continue;
		tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
		if (!HeapTupleIsValid(tup))
			continue;
		oftype = ((Form_pg_class) GETSTRUCT(tup))->reloftype;
		natts = ((Form_pg_class) GETSTRUCT(tup))->relnatts;
		ReleaseSysCache(tup);
		if (oftype == target)
		{
			crm_audit_table_action(relid, attribute ? op : "DROP TABLE", attribute);
			continue;
		}
		for (AttrNumber a = 1; a <= natts; a++)
		{
			HeapTuple	atup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid), Int16GetDatum(a));
			Form_pg_attribute att;

			if (!HeapTupleIsValid(atup))
				continue;
			att = (Form_pg_attribute) GETSTRUCT(atup);
			if (!att->attisdropped && type_uses(att->atttypid, target))
				crm_audit_table_action(relid, op, pstrdup(NameStr(att->attname)));
			ReleaseSysCache(atup);
		}
	}
}

/*
 * A labelled or audited table, or a table with such partitions, may not
 * become a partition: the change audit and the views would name and label
 * its rows by the new root, the owner's table.  (Under an audited root its
 * audit trigger would clash with the root's anyway.)
 */
static void
refuse_attach(Oid partid, Oid parentid)
{
	ListCell   *lc;

	if (!OidIsValid(partid))
		return;
	foreach(lc, find_all_inheritors(partid, NoLock, NULL))
	{
		if (labelled_or_audited(lfirst_oid(lc)))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot attach the labelled or audited table \"%s\" as a partition of \"%s\"",
							get_rel_name(lfirst_oid(lc)), get_rel_name(parentid)),
					 errdetail("A partition is labelled, audited and named in the audit log by its root."),
					 errhint("Label and audit the partitioned table, then attach a table without labels or audit.")));
	}
}

/*
 * ALTER TABLE on an audited table: refuse what would disable its audit
 * triggers, and detaching a partition (which loses them) to anyone but a
 * privacy administrator; record, before it runs, DDL that rewrites or removes
 * the values of a column (ALTER COLUMN TYPE, DROP COLUMN, and from
 * PostgreSQL 17 SET EXPRESSION of a generated column) as a privacy action
 * with the number of rows it touches.
 */
/* The typed tables of a composite type (CREATE TABLE ... OF type). */
static List *
typed_tables(Oid typid)
{
	List	   *result = NIL;
	Relation	rel = table_open(RelationRelationId, AccessShareLock);
	TableScanDesc scan = table_beginscan_catalog(rel, 0, NULL);
	HeapTuple	tup;

	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_class cls = (Form_pg_class) GETSTRUCT(tup);

		if (cls->reloftype == typid)
			result = lappend_oid(result, cls->oid);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

static void
guard_alter_table(AlterTableStmt *stmt)
{
	Oid			relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	bool		audited = crm_is_audited(relid);
	ListCell   *lc;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

		/*
		 * ALTER TYPE of a composite type: its values in audited tables; the
		 * keys of its typed tables (for the type's owner)
		 */
		if (stmt->objtype == OBJECT_TYPE)
		{
			if (OidIsValid(relid) &&
				(cmd->subtype == AT_DropColumn || cmd->subtype == AT_AlterColumnType))
				record_type_change(get_rel_type_id(relid), "ALTER TYPE", cmd->name);
			if (OidIsValid(relid) && cmd->subtype == AT_AlterColumnType &&
				crm_owns_relation(relid, GetUserId()))
			{
				ListCell   *lc2;

				foreach(lc2, typed_tables(get_rel_type_id(relid)))
					check_key_retype(lfirst_oid(lc2), cmd->name,
									 castNode(ColumnDef, cmd->def)->typeName);
			}
			continue;
		}
		switch (cmd->subtype)
		{
			/* an audit trigger fires always, also in replica mode */
			case AT_DisableTrig:
			case AT_EnableTrig:
			case AT_EnableAlwaysTrig:
			case AT_EnableReplicaTrig:
				if (crm_is_audit_trigger(relid, cmd->name))
					refuse_audit_change("enable or disable");
				break;
			case AT_DisableTrigAll:
			case AT_DisableTrigUser:
			case AT_EnableTrigAll:
			case AT_EnableTrigUser:
				if (audited || crm_is_audit_trigger(relid, CRM_AUDIT_TRUNCATE_TRIGGER))
					refuse_audit_change("enable or disable");
				break;
			case AT_AlterColumnType:
				if (OidIsValid(relid) && crm_owns_relation(relid, GetUserId()))
					check_key_retype(relid, cmd->name, castNode(ColumnDef, cmd->def)->typeName);
				if (audited)
					crm_audit_table_action(relid, "ALTER COLUMN TYPE", cmd->name);
				break;
			case AT_DropColumn:
				if (audited)
					crm_audit_table_action(relid, "DROP COLUMN", cmd->name);
				break;
#if PG_VERSION_NUM >= 170000
			case AT_SetExpression:
				if (audited)
					crm_audit_table_action(relid, "SET EXPRESSION", cmd->name);
				break;
#endif
			case AT_AttachPartition:
				if (stmt->objtype == OBJECT_TABLE)
				{
					PartitionCmd *part = castNode(PartitionCmd, cmd->def);
					Oid			partid = RangeVarGetRelid(part->name, NoLock, true);

					refuse_attach(partid, relid);
					/* the rows it brings into the audited table */
					if (audited && OidIsValid(partid))
						crm_audit_attach_partition(relid, partid);
				}
				break;
			case AT_DetachPartition:
				if (audited)
				{
					PartitionCmd *part = castNode(PartitionCmd, cmd->def);
					Oid			partid = RangeVarGetRelid(part->name, NoLock, true);

					if (!crm_is_privacy_admin(GetUserId()))
						ereport(ERROR,
								(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
								 errmsg("cannot detach a partition of the audited table \"%s\"",
										get_rel_name(relid)),
								 errdetail("A detached partition is no longer audited."),
								 errhint("A privacy administrator can detach it; the detach is recorded.")));
					if (OidIsValid(partid))
					{
						crm_audit_table_action(partid, "DETACH PARTITION", NULL);
						crm_audit_uncover_partition(partid);
					}
				}
				break;
			default:
				break;
		}
	}
}

/*
 * How a key of this type is written: numbers (compared as numbers), uuids,
 * text, or the labels of one enum type (its OID).  A key column retyped to
 * another kind writes its keys another way ('5' becomes '5.00' through
 * numeric(10,2) to text).
 */
static Oid
key_kind(Oid typid)
{
	Oid			base = getBaseType(typid);

	if (base == INT2OID || base == INT4OID || base == INT8OID || base == NUMERICOID)
		return NUMERICOID;
	if (base == VARCHAROID)
		return TEXTOID;
	return base;
}

/*
 * ALTER COLUMN ... TYPE of a subject table's key column (or ALTER TYPE ...
 * ALTER ATTRIBUTE of a typed table's type): while choices, change requests
 * or erasures are recorded for its keys, only to a type of the same kind (a
 * number to a number ...) in which every recorded key is still the same key
 * (not 5.4 in numeric(10,0), not 'ab ' in varchar(2)); else the recorded
 * keys would not find their subjects.  The records are read as the
 * extension's owner.
 */
static void
check_key_retype(Oid relid, const char *column, TypeName *newtypename)
{
	CrmTableLabel tl;
	Oid			newtype;
	int32		newmod;
	Oid			oldtype;
	CrmOwnerContext ctx;
	MemoryContext callercxt = CurrentMemoryContext;
	List	   *keys = NIL;
	ListCell   *lc;
	const char *misfit = NULL;

	if (!OidIsValid(relid) || !crm_get_table_label(relid, &tl) || tl.related ||
		strcmp(tl.key, column) != 0)
		return;
	newtype = LookupTypeNameOid(NULL, newtypename, true);
	if (!OidIsValid(newtype))
		return;					/* the command fails on its own */
	typenameTypeIdAndMod(NULL, newtypename, &newtype, &newmod);
	oldtype = get_atttype(relid, get_attnum(relid, tl.key));

	crm_become_owner(&ctx, true);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(psprintf("SELECT s.key FROM privacy.subject_choices s WHERE s.subject OPERATOR(pg_catalog.=) %u"
							 " UNION SELECT r.key FROM privacy.change_request_data r"
							 " WHERE r.subject OPERATOR(pg_catalog.=) %u"
							 " UNION SELECT e.key FROM privacy.erasure_data e"
							 " WHERE e.subject OPERATOR(pg_catalog.=) %u", relid, relid, relid),
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the records of table %u", relid);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(callercxt);

		keys = lappend(keys, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		MemoryContextSwitchTo(oldcxt);
	}
	SPI_finish();
	crm_end_owner(&ctx);
	if (keys == NIL)
		return;

	if (key_kind(newtype) != key_kind(oldtype) || !crm_key_type_supported(newtype))
		misfit = "";
	else
	{
		Oid			base = getBaseTypeAndTypmod(newtype, &newmod);

		foreach(lc, keys)
		{
			char	   *canonical;

			CHECK_FOR_INTERRUPTS();
			canonical = crm_canonical_key(base, newmod, (char *) lfirst(lc));
			if (canonical == NULL || strcmp(canonical, (char *) lfirst(lc)) != 0)
			{
				misfit = (char *) lfirst(lc);
				break;
			}
		}
	}
	if (misfit)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("cannot change key column \"%s\" of table %s from %s to %s",
						tl.key, get_rel_name(relid), format_type_be(oldtype),
						format_type_with_typemod(newtype, newmod)),
				 *misfit
				 ? errdetail("Choices, change requests or erasures are recorded for its keys; key \"%s\" would be another key of the new type.", misfit)
				 : errdetail("Choices, change requests or erasures are recorded for its keys; a key of type %s is written another way, and they would not find their subjects.",
							 format_type_be(newtype)),
				 errhint("Change it to a type of the same kind (a number to a number, text to text) that holds every recorded key, or copy the table to one keyed the new way.")));
}

/*
 * Refuse to disable, drop, rename, replace or make droppable an audit
 * trigger; record or refuse DDL that changes an audited table's values.
 */
static void
guard_audit_triggers(Node *tree)
{
	if (IsA(tree, DropStmt) && ((DropStmt *) tree)->removeType == OBJECT_TRIGGER)
	{
		ListCell   *lc;

		foreach(lc, ((DropStmt *) tree)->objects)
		{
			if (is_audit_trigger(NULL, castNode(List, lfirst(lc)), NULL))
				refuse_audit_change("drop");
		}
	}
	else if (IsA(tree, RenameStmt) && ((RenameStmt *) tree)->renameType == OBJECT_TRIGGER &&
			 is_audit_trigger(((RenameStmt *) tree)->relation, NIL, ((RenameStmt *) tree)->subname))
		refuse_audit_change("rename");
	else if (IsA(tree, AlterObjectDependsStmt) &&
			 ((AlterObjectDependsStmt *) tree)->objectType == OBJECT_TRIGGER &&
			 is_audit_trigger(((AlterObjectDependsStmt *) tree)->relation,
							  castNode(List, ((AlterObjectDependsStmt *) tree)->object),
							  strVal(llast(castNode(List, ((AlterObjectDependsStmt *) tree)->object)))))
		refuse_audit_change("make an extension own");
	else if (IsA(tree, CreateTrigStmt))
	{
		CreateTrigStmt *stmt = (CreateTrigStmt *) tree;

		if (stmt->replace && is_audit_trigger(stmt->relation, NIL, stmt->trigname))
			refuse_audit_change("replace");
		/* privacy.audit_trigger() is executable by PUBLIC for partitions' clones */
		if (runs_audit_trigger(stmt))
			refuse_audit_change("create");
	}
	else if (IsA(tree, AlterTableStmt))
		guard_alter_table((AlterTableStmt *) tree);
}

/*
 * True while DROP EXTENSION crm_privacy moves the logs out: the DDL of
 * privacy.archive_logs() is the extension's own and is not checked.
 */
static bool archiving = false;

/* Before DROP EXTENSION crm_privacy: keep the logs (privacy.archive_logs()). */
static void
archive_logs(void)
{
	archiving = true;
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute("SELECT privacy.archive_logs()", false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not archive the crm_privacy logs");
		SPI_finish();
	}
	PG_FINALLY();
	{
		archiving = false;
	}
	PG_END_TRY();
}

/*
 * Before DROP OWNED BY: the audited tables (and partitions) the roles own go,
 * and are recorded as DROP TABLE would record them, with their rows; DROP
 * OWNED BY the extension's owner drops the extension: its logs are archived.
 */
static void
before_drop_owned(DropOwnedStmt *stmt)
{
	Oid			ext = get_extension_oid(CRM_PROVIDER, true);
	Oid			owner;
	bool		isnull;
	ListCell   *lc;
	List	   *roles = NIL;
	List	   *tables = NIL;
	MemoryContext callercxt = CurrentMemoryContext;
	StringInfoData list;

	if (!OidIsValid(ext))
		return;
	initStringInfo(&list);
	foreach(lc, stmt->roles)
	{
		Oid			role = get_rolespec_oid((RoleSpec *) lfirst(lc), true);

		/* the command refuses a role whose privileges the caller lacks: do nothing first */
		if (OidIsValid(role) && !has_privs_of_role(GetUserId(), role))
			return;
		if (OidIsValid(role))
		{
			roles = lappend_oid(roles, role);
			appendStringInfo(&list, "%s%u", list.len > 0 ? ", " : "", role);
		}
	}
	if (list.len > 0)
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute(psprintf("SELECT DISTINCT t.tgrelid FROM pg_catalog.pg_trigger t"
								 " JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.tgrelid"
								 " WHERE t.tgname OPERATOR(pg_catalog.=) '" CRM_AUDIT_TRIGGER "'"
								 "   AND c.relowner OPERATOR(pg_catalog.=) ANY (ARRAY[%s]::pg_catalog.oid[])",
								 list.data), true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read the audited tables");
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			MemoryContext oldcxt = MemoryContextSwitchTo(callercxt);

			tables = lappend_oid(tables, DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
																		 SPI_tuptable->tupdesc, 1,
																		 &isnull)));
			MemoryContextSwitchTo(oldcxt);
		}
		SPI_finish();
		foreach(lc, tables)
		{
			if (crm_is_audited(lfirst_oid(lc)))
				crm_audit_table_action(lfirst_oid(lc), "DROP TABLE", NULL);
		}
		/* the views of the labelled tables it drops (theirs or in their schemas) go first */
		foreach(lc, crm_relation_labels())
		{
			CrmLabelEntry *entry = (CrmLabelEntry *) lfirst(lc);
			HeapTuple	tup;
			Oid			relowner;
			Oid			nspowner = InvalidOid;
			Oid			nspid;

			if (entry->attnum != 0)
				continue;
			tup = SearchSysCache1(RELOID, ObjectIdGetDatum(entry->relid));
			if (!HeapTupleIsValid(tup))
				continue;
			relowner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
			nspid = ((Form_pg_class) GETSTRUCT(tup))->relnamespace;
			ReleaseSysCache(tup);
			tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nspid));
			if (HeapTupleIsValid(tup))
			{
				nspowner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
				ReleaseSysCache(tup);
			}
			if (list_member_oid(roles, relowner) || list_member_oid(roles, nspowner))
			{
				crm_drop_views_of(entry->relid);
				crm_snapshots_drop(entry->relid);
			}
		}
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(psprintf("SELECT extowner FROM pg_catalog.pg_extension WHERE oid OPERATOR(pg_catalog.=) %u",
							 ext), true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the owner of extension %s", CRM_PROVIDER);
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	if (list_member_oid(roles, owner))
		archive_logs();
}

/* Is relid labelled (subject or related) or audited? */
static bool
labelled_or_audited(Oid relid)
{
	return has_views(relid) || crm_is_audited(relid);
}

/*
 * A labelled or audited table may not have inheritance children: the views
 * would show their rows, the row triggers would not see their changes.
 * Declarative partitions are covered by their root instead.
 */
static void
check_inheritance(Oid relid)
{
	Relation	inh;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	char		relkind = get_rel_relkind(relid);

	/*
	 * A partition is audited through its root only: audited by itself, under
	 * an unaudited root, its rows would be logged under the root's name and
	 * labels, in clear.
	 */
	if (get_rel_relispartition(relid) && crm_is_audited(relid))
	{
		Oid			root = llast_oid(get_partition_ancestors(relid));

		if (!crm_is_audited(root))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("partition \"%s\" cannot be audited apart from its partitioned table \"%s\"",
							get_rel_name(relid), get_rel_name(root)),
					 errdetail("The audit records a partition's changes as its root's, by the root's labels."),
					 errhint("Label and audit the partitioned table: that covers every partition.")));
	}
	if (relkind != RELKIND_RELATION && relkind != RELKIND_FOREIGN_TABLE)
		return;
	if (labelled_or_audited(relid) && find_inheritance_children(relid, NoLock) != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("labelled or audited table \"%s\" cannot have inheritance children",
						get_rel_name(relid)),
				 errdetail("The privacy views and the change audit cover one table, not the tables that inherit from it."),
				 errhint("Use declarative partitioning: the root's labels and audit cover every partition.")));
	if (get_rel_relispartition(relid))
		return;
	inh = table_open(InheritsRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_inherits_inhrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(inh, InheritsRelidSeqnoIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Oid			parent = ((Form_pg_inherits) GETSTRUCT(tup))->inhparent;

		/* DDL on the parent (ALTER COLUMN TYPE, DROP COLUMN) would change its values */
		if (labelled_or_audited(relid))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("labelled or audited table \"%s\" cannot inherit from table \"%s\"",
							get_rel_name(relid), get_rel_name(parent)),
					 errdetail("DDL on the parent would change the values of the labelled or audited table unrecorded."),
					 errhint("Remove the inheritance (ALTER TABLE ... NO INHERIT) first.")));
		if (labelled_or_audited(parent))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("table \"%s\" cannot inherit from the labelled or audited table \"%s\"",
							get_rel_name(relid), get_rel_name(parent)),
					 errdetail("The privacy views and the change audit cover one table, not the tables that inherit from it."),
					 errhint("Use declarative partitioning: the root's labels and audit cover every partition.")));
	}
	systable_endscan(scan);
	table_close(inh, AccessShareLock);
}

/*
 * Before ALTER EXTENSION ... ADD TABLE: a labelled or audited table, a
 * partition of one or a table with such partitions joins no extension, whose
 * DROP would drop it with no record.
 */
static void
guard_extension_member(AlterExtensionContentsStmt *stmt)
{
	Oid			relid;
	List	   *tables;
	ListCell   *lc;

	if (stmt->action <= 0 ||
		(stmt->objtype != OBJECT_TABLE && stmt->objtype != OBJECT_FOREIGN_TABLE))
		return;
	relid = RangeVarGetRelid(makeRangeVarFromNameList(castNode(List, stmt->object)), NoLock, true);
	if (!OidIsValid(relid))
		return;
	tables = find_all_inheritors(relid, NoLock, NULL);
	if (get_rel_relispartition(relid))
		tables = list_concat(tables, get_partition_ancestors(relid));
	foreach(lc, tables)
	{
		if (labelled_or_audited(lfirst_oid(lc)))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot add table \"%s\" to extension \"%s\": it is labelled or audited, or a partition of such a table",
							get_rel_name(relid), stmt->extname),
					 errdetail("DROP EXTENSION would drop the table with no record in the audit log.")));
	}
}

/*
 * An audited table, and every partition of one, stays logged: a crash
 * empties an unlogged table with no record.
 */
static void
check_logged(Oid relid)
{
	ListCell   *lc;

	if (!crm_is_audited(relid))
		return;
	foreach(lc, find_all_inheritors(relid, NoLock, NULL))
	{
		if (get_rel_persistence(lfirst_oid(lc)) == RELPERSISTENCE_UNLOGGED)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("audited table \"%s\" cannot be unlogged", get_rel_name(lfirst_oid(lc))),
					 errdetail("A crash would empty an unlogged table with no record in the audit log.")));
	}
}

/* Does ALTER TABLE drop or retype a column (which the table's views show)? */
static bool
changes_view_columns(AlterTableStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

		if (cmd->subtype == AT_DropColumn || cmd->subtype == AT_AlterColumnType)
			return true;
	}
	return false;
}

/*
 * DDL that rebuilds privacy views at ddl_command_end (ALTER, RENAME or SET
 * SCHEMA of a labelled table by its owner, a crm_privacy label by one who
 * may set it) waits for any other administration of the views first
 * (crm_lock_view_admin()), before it locks the table: a rebuild or a grant
 * holding that lock and waiting for the table would deadlock with it.
 */
static void
lock_view_admin(Node *tree)
{
	RangeVar   *rv = NULL;
	Oid			relid;

	if (IsA(tree, AlterTableStmt))
		rv = ((AlterTableStmt *) tree)->relation;
	else if (IsA(tree, RenameStmt))
		rv = ((RenameStmt *) tree)->relation;
	else if (IsA(tree, AlterObjectSchemaStmt))
		rv = ((AlterObjectSchemaStmt *) tree)->relation;
	else if (IsA(tree, SecLabelStmt))
	{
		SecLabelStmt *stmt = (SecLabelStmt *) tree;

		if ((stmt->objtype == OBJECT_TABLE || stmt->objtype == OBJECT_COLUMN) &&
			(stmt->provider == NULL || strcmp(stmt->provider, CRM_PROVIDER) == 0))
		{
			List	   *names = castNode(List, stmt->object);

			if (stmt->objtype == OBJECT_COLUMN)
				names = list_truncate(list_copy(names), list_length(names) - 1);
			if (names != NIL)
				rv = makeRangeVarFromNameList(names);
			relid = rv ? RangeVarGetRelid(rv, NoLock, true) : InvalidOid;
			if (OidIsValid(relid) &&
				(crm_owns_relation(relid, GetUserId()) || crm_is_privacy_admin(GetUserId())))
				crm_lock_view_admin();
		}
		return;
	}
	if (rv == NULL)
		return;
	relid = RangeVarGetRelid(rv, NoLock, true);
	if (has_views(relid) && crm_owns_relation(relid, GetUserId()))
	{
		crm_lock_view_admin();
		/* and its views, before the command locks the table (as readers do) */
		crm_lock_views_of(relid);
	}
}

/* SQL: event trigger on ddl_command_start. */
/* Does an ALTER TABLE turn row-level security on (or force it)? */
static bool
enables_row_security(AlterTableStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

		if (cmd->subtype == AT_EnableRowSecurity || cmd->subtype == AT_ForceRowSecurity)
			return true;
	}
	return false;
}

PG_FUNCTION_INFO_V1(crm_ddl_command_start);
Datum
crm_ddl_command_start(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata = event_trigger_data(fcinfo, "privacy.ddl_command_start");
	Node	   *tree = trigdata->parsetree;

	if (archiving)
		PG_RETURN_NULL();

	guard_audit_triggers(tree);
	lock_view_admin(tree);
	if (IsA(tree, RenameStmt))
		before_rename((RenameStmt *) tree);
	else if (IsA(tree, AlterObjectSchemaStmt))
		before_set_schema((AlterObjectSchemaStmt *) tree);
	else if (IsA(tree, AlterTableStmt))
	{
		/*
		 * A view depends on the columns it shows: before one is dropped or
		 * retyped the table's views go, and ddl_command_end builds them
		 * again.  Every other change leaves them for ddl_command_end to
		 * replace in place.  Only for the table's owner: anyone else's
		 * command is refused, and must not drop anything first.
		 */
		AlterTableStmt *stmt = (AlterTableStmt *) tree;
		Oid			relid = RangeVarGetRelid(stmt->relation, NoLock, true);

		if (has_views(relid) && changes_view_columns(stmt) && crm_owns_relation(relid, GetUserId()))
			crm_drop_views_of(relid);
		/* a snapshot cannot apply policies: it goes when they are turned on */
		if (OidIsValid(relid) && enables_row_security(stmt) && crm_owns_relation(relid, GetUserId()))
			crm_snapshots_drop(relid);
	}
	else if (IsA(tree, DropStmt))
		before_drop((DropStmt *) tree);
	else if (IsA(tree, DropOwnedStmt))
		before_drop_owned((DropOwnedStmt *) tree);
	else if (IsA(tree, AlterExtensionContentsStmt))
		guard_extension_member((AlterExtensionContentsStmt *) tree);
	else if (IsA(tree, AlterEnumStmt) && ((AlterEnumStmt *) tree)->oldVal != NULL)
	{
		/*
		 * RENAME VALUE changes the value of every row that holds it; the
		 * records keyed by it follow (for the type's owner only: anyone
		 * else's command is refused).
		 */
		AlterEnumStmt *stmt = (AlterEnumStmt *) tree;
		Oid			typid = LookupTypeNameOid(NULL, makeTypeNameFromNameList(stmt->typeName), true);

		record_type_change(typid, "ALTER TYPE", NULL);
		if (OidIsValid(typid) && crm_owns_type(typid, GetUserId()))
			crm_rename_enum_keys(typid, stmt->oldVal, stmt->newVal);
	}
	PG_RETURN_NULL();
}

/* Error context: which label was being checked, after which command. */
static void
check_error_callback(void *arg)
{
	CheckContext *ctx = (CheckContext *) arg;

	if (ctx->entry->attnum == 0)
		errcontext("checking the crm_privacy label of table \"%s\" after %s",
				   get_rel_name(ctx->entry->relid), ctx->command);
	else
		errcontext("checking the crm_privacy label of column \"%s\" of table \"%s\" after %s",
				   get_attname(ctx->entry->relid, ctx->entry->attnum, true),
				   get_rel_name(ctx->entry->relid), ctx->command);
}

/* Check one label against the catalog as it is now; raise if it fails. */
static void
check_entry(const CrmLabelEntry *entry, const char *command)
{
	CheckContext ctx = {entry, command};
	ErrorContextCallback errcb;

	errcb.callback = check_error_callback;
	errcb.arg = &ctx;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	if (entry->attnum == 0)
	{
		CrmTableLabel tl;

		crm_parse_table_label(entry->label, &tl);
		crm_check_table_label(entry->label, &tl, entry->relid);
	}
	else
	{
		CrmColumnLabel cl;

		crm_parse_column_label(entry->label, &cl);
		crm_check_column_label(entry->label, &cl, entry->relid, entry->attnum);
	}

	error_context_stack = errcb.previous;
}

/*
 * Connect to SPI and run a read-only catalog query.  The caller reads
 * SPI_tuptable, copies what it keeps out of SPI's memory, and calls
 * SPI_finish.
 */
static void
spi_query(const char *sql)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(sql, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", sql);
}

/* Text of a text[] datum's element i (1-based), or NULL. */
static char *
text_array_element(Datum array, int i)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(DatumGetArrayTypeP(array), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	if (i > n || nulls[i - 1])
		return NULL;
	return TextDatumGetCString(elems[i - 1]);
}

/* A column that a command dropped. */
typedef struct LostColumn
{
	Oid			relid;
	char	   *name;
} LostColumn;

/*
 * SQL: event trigger on sql_drop.  Refuse the drop of a key column, of a
 * subject table whose related tables remain, or of a function a label uses.
 */
PG_FUNCTION_INFO_V1(crm_sql_drop);
Datum
crm_sql_drop(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata = event_trigger_data(fcinfo, "privacy.sql_drop");
	const char *command = GetCommandTagName(trigdata->tag);
	List	   *altered = NIL;	/* tables that lost a column */
	List	   *lost_columns = NIL; /* which columns (LostColumn) */
	List	   *dropped_tables = NIL;	/* "schema.name" of dropped tables */
	List	   *dropped_relids = NIL;
	List	   *dropped_names = NIL;	/* their quoted names, or NULL */
	List	   *dropped_functions = NIL;
	MemoryContext callercxt = CurrentMemoryContext;
	ListCell   *lc;

	if (archiving)
		PG_RETURN_NULL();

	spi_query("SELECT classid, objid, objsubid, address_names"
			  "  FROM pg_catalog.pg_event_trigger_dropped_objects()"
			  " WHERE classid OPERATOR(pg_catalog.=) ANY (ARRAY["
			  "       'pg_catalog.pg_class'::pg_catalog.regclass,"
			  "       'pg_catalog.pg_proc'::pg_catalog.regclass])");

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Oid			classid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		Oid			objid = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
		int32		objsubid = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
		Datum		names = SPI_getbinval(tup, desc, 4, &isnull);
		MemoryContext oldcxt = MemoryContextSwitchTo(callercxt);

		if (classid == RelationRelationId && objsubid > 0)
		{
			altered = lappend_oid(altered, objid);
			if (!isnull)
			{
				LostColumn *c = palloc(sizeof(LostColumn));

				c->relid = objid;
				c->name = text_array_element(names, 3);
				lost_columns = lappend(lost_columns, c);
			}
		}
		else if (classid == RelationRelationId)
		{
			dropped_relids = lappend_oid(dropped_relids, objid);
			dropped_names = lappend(dropped_names, isnull ? NULL :
									psprintf("%s.%s", quote_identifier(text_array_element(names, 1)),
											 quote_identifier(text_array_element(names, 2))));
			if (!isnull)
				dropped_tables = lappend(dropped_tables,
										 psprintf("%s.%s", text_array_element(names, 1),
												  text_array_element(names, 2)));
		}
		else if (!isnull && classid == ProcedureRelationId)
		{
			DroppedFunction *f = palloc(sizeof(DroppedFunction));

			f->schema = text_array_element(names, 1);
			f->name = text_array_element(names, 2);
			dropped_functions = lappend(dropped_functions, f);
		}
		MemoryContextSwitchTo(oldcxt);
	}
	SPI_finish();

	/*
	 * Columns of audited tables that went with something else (DROP
	 * COLLATION, FUNCTION or EXTENSION ... CASCADE): their values are gone,
	 * which is recorded as ALTER TABLE ... DROP COLUMN is (before it, with
	 * the same record; so are DROP TYPE and DROP DOMAIN ... CASCADE).
	 */
	if (trigdata->tag != CMDTAG_ALTER_TABLE && trigdata->tag != CMDTAG_ALTER_FOREIGN_TABLE &&
		trigdata->tag != CMDTAG_DROP_TYPE && trigdata->tag != CMDTAG_DROP_DOMAIN)
	{
		foreach(lc, lost_columns)
		{
			LostColumn *c = (LostColumn *) lfirst(lc);

			if (crm_is_audited(c->relid))
				crm_audit_table_action(c->relid, "DROP COLUMN", c->name);
		}
	}

	foreach(lc, crm_relation_labels())
	{
		CrmLabelEntry *entry = (CrmLabelEntry *) lfirst(lc);
		bool		touched = false;
		ListCell   *lc2;

		if (entry->attnum == 0)
		{
			CrmTableLabel tl;

			crm_parse_table_label(entry->label, &tl);
			touched = list_member_oid(altered, entry->relid);
			if (tl.related)
			{
				char	   *subject = psprintf("%s.%s", tl.subject_schema, tl.subject_name);

				foreach(lc2, dropped_tables)
					touched |= (strcmp((char *) lfirst(lc2), subject) == 0);
			}
		}
		else
		{
			CrmColumnLabel cl;

			crm_parse_column_label(entry->label, &cl);
			foreach(lc2, dropped_functions)
			{
				DroppedFunction *f = (DroppedFunction *) lfirst(lc2);

				touched |= rule_calls(&cl.mask, f->schema, f->name) ||
					rule_calls(&cl.anon, f->schema, f->name);
			}
		}
		if (touched)
			check_entry(entry, command);
	}

	/* the choices of dropped subject tables wait under their names */
	if (dropped_relids != NIL)
		crm_resolve_choices(NIL, false, dropped_relids, dropped_names);
	PG_RETURN_NULL();
}

/* Is any table labelled subject or related? */
static bool
labelled_tables_exist(void)
{
	ListCell   *lc;

	foreach(lc, crm_relation_labels())
	{
		if (((CrmLabelEntry *) lfirst(lc))->attnum == 0)
			return true;
	}
	return false;
}

/*
 * After CREATE SCHEMA: refuse its CREATE TRIGGER subcommands that run
 * privacy.audit_trigger(), as guard_audit_triggers() refuses a CREATE
 * TRIGGER.  (Its tables can be new only: none has an audit trigger to
 * replace.)
 */
static void
check_schema_triggers(void)
{
	bool		found = false;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT t.tgfoid FROM pg_catalog.pg_event_trigger_ddl_commands() d"
					" JOIN pg_catalog.pg_trigger t ON t.oid OPERATOR(pg_catalog.=) d.objid"
					" WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_trigger'::pg_catalog.regclass",
					false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the triggers of the command");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		found |= crm_is_audit_function(DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
																	  SPI_tuptable->tupdesc, 1,
																	  &isnull)));
	}
	SPI_finish();
	if (found)
		refuse_audit_change("create");
}

/*
 * SQL: event trigger on ddl_command_end.  After ALTER TABLE, the labels of
 * the altered tables, and related labels that point at them, must still
 * hold; after ALTER FUNCTION or ALTER SCHEMA, every fn() rule must.
 */
PG_FUNCTION_INFO_V1(crm_ddl_command_end);
Datum
crm_ddl_command_end(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata = event_trigger_data(fcinfo, "privacy.ddl_command_end");
	const char *command = GetCommandTagName(trigdata->tag);
	bool		functions_changed = (trigdata->tag == CMDTAG_ALTER_FUNCTION ||
									 trigdata->tag == CMDTAG_ALTER_ROUTINE ||
									 trigdata->tag == CMDTAG_ALTER_SCHEMA);
	List	   *altered = NIL;
	MemoryContext callercxt = CurrentMemoryContext;
	ListCell   *lc;

	if (archiving)
		PG_RETURN_NULL();

	/*
	 * Policies and domain checks run in readers' queries through the views:
	 * rebuild what they touch, so that the views check them again (trust.c).
	 * CREATE and ALTER POLICY name their table; after DROP POLICY or ALTER
	 * DOMAIN every view is rebuilt.
	 */
	if (trigdata->tag == CMDTAG_DROP_POLICY || trigdata->tag == CMDTAG_ALTER_DOMAIN)
	{
		if (labelled_tables_exist())
			crm_refresh(InvalidOid);
		PG_RETURN_NULL();
	}
	if (trigdata->tag == CMDTAG_CREATE_POLICY || trigdata->tag == CMDTAG_ALTER_POLICY ||
		trigdata->tag == CMDTAG_CREATE_RULE)
	{
		/*
		 * The tables of the new policies and rules (a "_RETURN" rule turns
		 * an empty table into a view whose query would run in the views).
		 * Not read-only: a new snapshot sees the new catalog rows.
		 */
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute("SELECT p.polrelid FROM pg_catalog.pg_event_trigger_ddl_commands() d"
						" JOIN pg_catalog.pg_policy p ON p.oid OPERATOR(pg_catalog.=) d.objid"
						" WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_policy'::pg_catalog.regclass"
						" UNION SELECT r.ev_class FROM pg_catalog.pg_event_trigger_ddl_commands() d"
						" JOIN pg_catalog.pg_rewrite r ON r.oid OPERATOR(pg_catalog.=) d.objid"
						" WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass",
						false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read the policies and rules of the command");
	}
	else
	{
		/*
		 * The tables of the command, those of its triggers, and the typed
		 * tables of its types (ALTER TYPE ... ALTER ATTRIBUTE ... CASCADE
		 * retypes their columns).  Not read-only: a new snapshot sees the
		 * new catalog rows.
		 */
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute("SELECT DISTINCT d.objid FROM pg_catalog.pg_event_trigger_ddl_commands() d"
						" WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
						" UNION SELECT t.tgrelid FROM pg_catalog.pg_event_trigger_ddl_commands() d"
						" JOIN pg_catalog.pg_trigger t ON t.oid OPERATOR(pg_catalog.=) d.objid"
						" WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_trigger'::pg_catalog.regclass"
						" UNION SELECT k.oid FROM pg_catalog.pg_event_trigger_ddl_commands() d"
						" JOIN pg_catalog.pg_type y ON y.typrelid OPERATOR(pg_catalog.=) d.objid"
						" JOIN pg_catalog.pg_class k ON k.reloftype OPERATOR(pg_catalog.=) y.oid"
						" WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass",
						false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read the tables of the command");
	}
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid			relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc, 1, &isnull));
		MemoryContext oldcxt;

		/* Citus's shards carry no label: what they hold is their table's */
		if (OidIsValid(crm_citus_shard(relid, NULL)))
			continue;
		oldcxt = MemoryContextSwitchTo(callercxt);
		altered = lappend_oid(altered, relid);
		MemoryContextSwitchTo(oldcxt);
	}
	SPI_finish();

	/* a comment on a labelled table or its column: its views show it */
	if (trigdata->tag == CMDTAG_COMMENT)
	{
		foreach(lc, altered)
		{
			CrmTableLabel tl;

			if (crm_get_table_label(lfirst_oid(lc), &tl))
				crm_refresh(lfirst_oid(lc));
		}
		PG_RETURN_NULL();
	}

	/*
	 * The commands nested in CREATE SCHEMA fire no ddl_command_start of
	 * their own: check here what ddl_command_start checks of a CREATE TRIGGER.
	 */
	if (trigdata->tag == CMDTAG_CREATE_SCHEMA)
		check_schema_triggers();

	/*
	 * New tables, triggers, partitions and inheritance, new labels: no
	 * inheritance child under a labelled or audited table; the TRUNCATE
	 * trigger on every partition of an audited partitioned table.
	 */
	foreach(lc, altered)
	{
		check_inheritance(lfirst_oid(lc));
		check_logged(lfirst_oid(lc));
		crm_audit_cover_partitions(lfirst_oid(lc));
	}
	if (trigdata->tag == CMDTAG_CREATE_TABLE || trigdata->tag == CMDTAG_CREATE_TRIGGER ||
		trigdata->tag == CMDTAG_CREATE_SCHEMA)
		PG_RETURN_NULL();

	if (altered == NIL && !functions_changed)
		PG_RETURN_NULL();

	/* a renamed schema renames its tables: their choices follow */
	if (trigdata->tag == CMDTAG_ALTER_SCHEMA)
		crm_resolve_choices(NIL, true, NIL, NIL);

	if (trigdata->tag != CMDTAG_SECURITY_LABEL)
	{
		foreach(lc, crm_relation_labels())
		{
			CrmLabelEntry *entry = (CrmLabelEntry *) lfirst(lc);
			bool		touched = list_member_oid(altered, entry->relid);

			if (entry->attnum == 0)
			{
				CrmTableLabel tl;

				crm_parse_table_label(entry->label, &tl);
				touched |= tl.related && list_member_oid(altered, crm_subject_relid(&tl));
			}
			else if (functions_changed)
			{
				CrmColumnLabel cl;

				crm_parse_column_label(entry->label, &cl);
				touched |= (cl.mask.kind == CRM_RULE_FN || cl.anon.kind == CRM_RULE_FN);
			}
			if (touched)
				check_entry(entry, command);
		}
	}

	/* the views of the tables relabelled or altered, built again */
	foreach(lc, altered)
	{
		CrmTableLabel tl;

		if ((trigdata->tag == CMDTAG_CREATE_POLICY || trigdata->tag == CMDTAG_ALTER_POLICY ||
			 trigdata->tag == CMDTAG_CREATE_RULE) &&
			!crm_get_table_label(lfirst_oid(lc), &tl))
			continue;
		/* a new label changes what the audit stores: drop its cached copy */
		if (trigdata->tag == CMDTAG_SECURITY_LABEL)
			CacheInvalidateRelcacheByRelid(lfirst_oid(lc));
		else if (!crm_get_table_label(lfirst_oid(lc), &tl) && !crm_records_about(lfirst_oid(lc)))
			continue;			/* no view, no record: nothing to rebuild */
		crm_refresh(lfirst_oid(lc));
	}
	PG_RETURN_NULL();
}

/*
 * REASSIGN OWNED BY a, b TO c: what waits under the names of tables a and b
 * dropped is c's now (src/sql/keeping.sql).  Only where the extension is
 * installed, and its script has the function (an older script, before
 * ALTER EXTENSION UPDATE, is left alone).  Whoever may run the command has
 * the rights of every role in it.
 */
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static void
after_reassign_owned(ReassignOwnedStmt *stmt)
{
	Oid			argtypes[2] = {OIDARRAYOID, OIDOID};
	List	   *old_roles = NIL;
	ListCell   *lc;

	if (!OidIsValid(get_extension_oid(CRM_PROVIDER, true)) ||
		!OidIsValid(LookupFuncName(list_make2(makeString(CRM_SCHEMA), makeString("reassign_records")),
								   2, argtypes, true)))
		return;
	foreach(lc, stmt->roles)
		old_roles = lappend_oid(old_roles, get_rolespec_oid((RoleSpec *) lfirst(lc), false));
	crm_reassign_records(old_roles, get_rolespec_oid(stmt->newrole, false));
}

static void
crm_ProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				   ProcessUtilityContext context, ParamListInfo params,
				   QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;

	crm_masking_check_utility(parsetree);
	if (IsA(parsetree, TruncateStmt))
	{
		ListCell   *lc;

		foreach(lc, ((TruncateStmt *) parsetree)->relations)
			crm_audit_shard_truncate(RangeVarGetRelid((RangeVar *) lfirst(lc), NoLock, true));
	}
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	if (IsA(parsetree, ReassignOwnedStmt))
		after_reassign_owned((ReassignOwnedStmt *) parsetree);
}

/* Install the utility hook (from _PG_init). */
void
crm_ddl_init(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = crm_ProcessUtility;
}
