/*-------------------------------------------------------------------------
 *
 * roles.c
 *	  Role labels: clearances and privacy administrators (doc/labels.md,
 *	  "Role labels").
 *
 * A role label is "clearance=LEVEL", "privacy_admin" or both.  Who may set
 * them is decided here, in the label provider's hook, so that a raw
 * SECURITY LABEL and privacy.set_clearance() obey the same rules: only a
 * superuser names (or un-names) privacy administrators; only a superuser or
 * a privacy administrator sets, changes or removes a clearance.
 *
 * Both follow PostgreSQL's privilege inheritance (has_privs_of_role): a role
 * has the clearance, and is a privacy administrator, when it has the
 * privileges of a role so labelled -- a NOINHERIT membership counts only
 * after SET ROLE.  Superusers have clearance secret and are privacy
 * administrators.
 *
 * The labelled roles are cached per backend.  pg_shseclabel has no syscache,
 * so nothing invalidates the cache by itself: the label hook sends a
 * relcache invalidation of pg_shseclabel (a shared catalog, so every backend
 * of every database gets it when the labelling transaction commits), and a
 * syscache callback on pg_authid catches roles dropped with their labels.
 *
 * The administrative functions are gated where PostgreSQL checks EXECUTE:
 * an object access hook (OAT_FUNCTION_EXECUTE) runs in the caller's context
 * when a call is set up, before the function runs and before a SECURITY
 * DEFINER function switches to its owner.  Each of those functions also
 * starts with privacy.require_privacy_admin(), which loads the library (and
 * so the hook) and covers the one call the hook cannot have seen: the one
 * set up before the library was loaded on demand.
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/roles.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/objectaccess.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_shseclabel.h"
#include "commands/event_trigger.h"
#include "commands/seclabel.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "crm_privacy.h"
#include "label.h"

#define ADMIN_HINT \
	"A superuser names privacy administrators with SECURITY LABEL FOR crm_privacy ON ROLE name IS 'privacy_admin'."

/*
 * The administrative functions of schema privacy (every overload of each
 * name), sorted for bsearch.  Only superusers and privacy administrators may
 * call them; each also starts with privacy.require_privacy_admin().
 */
static const char *const admin_functions[] = {
	"add_purpose",
	"adopt_choices",
	"anonymize_database",
	"anonymize_table",
	"audit_head",
	"check_setup",
	"create_disclosure",
	"detect",
	"disable_audit",
	"disclose",
	"drop_disclosure",
	"enable_audit",
	"erase_subject",
	"grant_access",
	"k_anonymity",
	"opt_in",
	"opt_out",
	"refresh_views",
	"report_access",
	"report_coverage",
	"report_data_model",
	"report_views",
	"request_change",
	"review_change",
	"revoke_access",
	"rotate_pseudonym_key",
	"seal_audit",
	"set_clearance",
	"set_masked",
	"subject_report",
	"verify_audit",
};

/* One labelled role, as cached. */
typedef struct RoleEntry
{
	Oid			roleid;
	CrmRoleLabel label;
} RoleEntry;

static RoleEntry *role_entries = NULL;	/* in TopMemoryContext */
static int	n_role_entries = 0;
static bool role_cache_valid = false;
static uint64 role_cache_invals = 0;	/* invalidations seen */

/* Was the library loaded on demand in the current transaction? */
static bool loaded_in_this_xact = false;

static object_access_hook_type prev_object_access_hook = NULL;

static void
invalidate_role_cache(void)
{
	role_cache_valid = false;
	role_cache_invals++;
}

/* A relcache invalidation (from crm_privacy.c's callback). */
void
crm_roles_relcache(Oid relid)
{
	if (relid == InvalidOid || relid == SharedSecLabelRelationId)
		invalidate_role_cache();
	/* masking may have changed: no plan made before survives (masking.c) */
	if (relid == SharedSecLabelRelationId)
		ResetPlanCache();
}

/*
 * A number that changes whenever the role labels (clearances, privacy
 * administrators) may have changed: the read audit checks a reader again.
 */
uint64
crm_role_labels_generation(void)
{
	return role_cache_invals;
}

static void
role_syscache_callback(Datum arg pg_attribute_unused(), int cacheid pg_attribute_unused(),
					   uint32 hashvalue pg_attribute_unused())
{
	invalidate_role_cache();
}

/* Load every crm_privacy role label from pg_shseclabel, if not cached. */
static void
load_role_labels(void)
{
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	RoleEntry  *entries;
	int			n = 0;
	int			size = 8;
	MemoryContext oldcxt;
	uint64		invals = role_cache_invals;

	if (role_cache_valid)
		return;

	oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	entries = palloc(size * sizeof(RoleEntry));
	MemoryContextSwitchTo(oldcxt);

	rel = table_open(SharedSecLabelRelationId, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		FormData_pg_shseclabel *sl = (FormData_pg_shseclabel *) GETSTRUCT(tup);
		bool		isnull;
		Datum		d;
		char	   *provider;

		CHECK_FOR_INTERRUPTS();
		if (sl->classoid != AuthIdRelationId)
			continue;
		d = heap_getattr(tup, Anum_pg_shseclabel_provider, RelationGetDescr(rel), &isnull);
		if (isnull)
			continue;
		provider = TextDatumGetCString(d);
		if (strcmp(provider, CRM_PROVIDER) != 0)
			continue;
		d = heap_getattr(tup, Anum_pg_shseclabel_label, RelationGetDescr(rel), &isnull);
		if (isnull)
			continue;
		if (n == size)
		{
			size *= 2;
			entries = repalloc(entries, size * sizeof(RoleEntry));
		}
		entries[n].roleid = sl->objoid;
		crm_parse_role_label(TextDatumGetCString(d), &entries[n].label);
		n++;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	if (role_entries)
		pfree(role_entries);
	role_entries = entries;
	n_role_entries = n;
	/* Valid unless an invalidation arrived while we read. */
	role_cache_valid = (invals == role_cache_invals);
}

/*
 * The highest clearance of any labelled role whose privileges roleid has.
 * Superusers, who may read the base tables anyway, have secret.
 */
static CrmLevel
clearance_of(Oid roleid)
{
	CrmLevel	best = CRM_LEVEL_PUBLIC;

	if (superuser_arg(roleid))
		return CRM_LEVEL_SECRET;
	load_role_labels();
	for (int i = 0; i < n_role_entries; i++)
	{
		const RoleEntry *e = &role_entries[i];

		if (e->label.has_clearance && e->label.clearance > best &&
			has_privs_of_role(roleid, e->roleid))
			best = e->label.clearance;
	}
	return best;
}

/* The clearance of roleid, for the read audit's clear reads (hooks.c). */
CrmLevel
crm_clearance_of(Oid roleid)
{
	return clearance_of(roleid);
}

/*
 * Is roleid a privacy administrator: a superuser, or a role with the
 * privileges of a role labelled privacy_admin?
 */
bool
crm_is_privacy_admin(Oid roleid)
{
	if (superuser_arg(roleid))
		return true;
	load_role_labels();
	for (int i = 0; i < n_role_entries; i++)
	{
		const RoleEntry *e = &role_entries[i];

		if (e->label.privacy_admin && has_privs_of_role(roleid, e->roleid))
			return true;
	}
	return false;
}

/*
 * Is roleid masked (doc/views.md, "Transparent masking"): not a superuser,
 * and with the privileges of a role labelled masked?
 */
bool
crm_role_is_masked(Oid roleid)
{
	if (superuser_arg(roleid))
		return false;
	load_role_labels();
	for (int i = 0; i < n_role_entries; i++)
	{
		const RoleEntry *e = &role_entries[i];

		if (e->label.masked && has_privs_of_role(roleid, e->roleid))
			return true;
	}
	return false;
}

/* Is any role labelled masked?  (Nothing to mask otherwise.) */
bool
crm_any_masked_role(void)
{
	load_role_labels();
	for (int i = 0; i < n_role_entries; i++)
		if (role_entries[i].label.masked)
			return true;
	return false;
}

/* Raise 42501 unless roleid is a privacy administrator. */
static void
require_admin(Oid roleid, const char *what)
{
	if (!crm_is_privacy_admin(roleid))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be a privacy administrator to %s", what),
				 errdetail("Only superusers and privacy administrators may do this."),
				 errhint(ADMIN_HINT)));
}

/*
 * The provider hook for a role: may the current user change roleid's label
 * to seclabel (NULL: remove it)?  Naming or un-naming a privacy administrator
 * takes a superuser; setting, changing or removing a clearance a privacy
 * administrator.  Setting the label it already has changes nothing and is
 * allowed (a restore may do it).
 */
void
crm_check_role_relabel(Oid roleid, const char *seclabel)
{
	ObjectAddress addr;
	char	   *oldtext;
	CrmRoleLabel old;
	CrmRoleLabel new;

	memset(&new, 0, sizeof(new));
	if (seclabel != NULL)
		crm_parse_role_label(seclabel, &new);

	ObjectAddressSet(addr, AuthIdRelationId, roleid);
	oldtext = GetSecurityLabel(&addr, CRM_PROVIDER);
	memset(&old, 0, sizeof(old));
	if (oldtext != NULL)
		crm_parse_role_label(oldtext, &old);

	if (old.privacy_admin != new.privacy_admin && !superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s privacy administrator",
						new.privacy_admin ? "name a" : "remove a"),
				 errdetail("Only superusers name and remove privacy administrators (the privacy_admin role label)."),
				 errhint("Ask a superuser to run SECURITY LABEL FOR crm_privacy ON ROLE %s.",
						 quote_identifier(GetUserNameFromId(roleid, false)))));
	if (old.has_clearance != new.has_clearance ||
		(new.has_clearance && old.clearance != new.clearance))
		require_admin(GetUserId(), "set, change or remove a clearance");
	if (old.masked != new.masked)
		require_admin(GetUserId(), "mark or unmark a masked role");

	/* Every backend forgets its cached role labels when this commits. */
	CacheInvalidateRelcacheByRelid(SharedSecLabelRelationId);
}

/* SQL: privacy.clearance_level(): the current user's clearance as 0..3. */
PG_FUNCTION_INFO_V1(crm_clearance_level);
Datum
crm_clearance_level(PG_FUNCTION_ARGS)
{
	int32		level = (int32) clearance_of(GetUserId());

	crm_read_audit_clearance_seen(level);	/* the read audit checks it */
	PG_RETURN_INT32(level);
}

/* SQL: privacy.clearance(role regrole): a role's clearance by name. */
PG_FUNCTION_INFO_V1(crm_clearance);
Datum
crm_clearance(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(crm_level_name(clearance_of(PG_GETARG_OID(0)))));
}

/* SQL: privacy.is_privacy_admin(role regrole DEFAULT current_user). */
PG_FUNCTION_INFO_V1(crm_is_privacy_admin_sql);
Datum
crm_is_privacy_admin_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(crm_is_privacy_admin(PG_GETARG_OID(0)));
}

/*
 * The prologue of every administrative function (SQL and C): raise 42501
 * unless the current user is a privacy administrator.  Inside a SECURITY
 * DEFINER function the current user is the extension's owner and the caller
 * was checked by the hook below when the call was set up -- unless the
 * library was loaded on demand after that, in this very transaction.  Then
 * only a superuser session (not in a security-restricted operation) goes on;
 * anyone else is asked to run the command again, now that the library is
 * loaded.
 */
void
crm_require_privacy_admin(void)
{
	require_admin(GetUserId(), "use privacy administration functions and records");
	if (loaded_in_this_xact && InLocalUserIdChange() &&
		(!superuser_arg(GetOuterUserId()) || InSecurityRestrictedOperation()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to call a privacy administration function before crm_privacy is loaded"),
				 errdetail("The library was loaded during this transaction, after the call was checked."),
				 errhint("Run the command again in a new transaction, or add crm_privacy to shared_preload_libraries.")));
}

/* SQL: privacy.require_privacy_admin() returns true, or raises 42501. */
PG_FUNCTION_INFO_V1(crm_require_privacy_admin_sql);
Datum
crm_require_privacy_admin_sql(PG_FUNCTION_ARGS)
{
	crm_require_privacy_admin();
	PG_RETURN_BOOL(true);
}

/*
 * Change one word of roleid's label and write it (the label hook's checks
 * apply).  The label is written here, so that a privacy administrator
 * without CREATEROLE can use privacy.set_clearance and privacy.set_masked.
 */
static void
update_role_label(Oid roleid, const CrmRoleLabel *words, bool clearance, bool masked)
{
	ObjectAddress addr;
	char	   *oldtext;
	char	   *label = NULL;
	CrmRoleLabel rl;

	/* As SECURITY LABEL does: lock the role, then make sure it still exists. */
	LockSharedObject(AuthIdRelationId, roleid, 0, ShareUpdateExclusiveLock);
	if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(roleid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role with OID %u does not exist", roleid)));

	ObjectAddressSet(addr, AuthIdRelationId, roleid);
	oldtext = GetSecurityLabel(&addr, CRM_PROVIDER);
	memset(&rl, 0, sizeof(rl));
	if (oldtext != NULL)
		crm_parse_role_label(oldtext, &rl);
	if (clearance)
	{
		rl.has_clearance = words->has_clearance;
		rl.clearance = words->clearance;
	}
	if (masked)
		rl.masked = words->masked;
	if (rl.has_clearance || rl.privacy_admin || rl.masked)
		label = crm_role_label_to_string(&rl);

	crm_check_role_relabel(roleid, label);
	SetSecurityLabel(&addr, CRM_PROVIDER, label);
}

/*
 * SQL: privacy.set_clearance(role regrole, level text); a NULL level removes
 * the clearance.  Changes only the clearance= word of the role's label.
 */
PG_FUNCTION_INFO_V1(crm_set_clearance);
Datum
crm_set_clearance(PG_FUNCTION_ARGS)
{
	CrmRoleLabel rl;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("role must not be NULL")));
	require_admin(GetUserId(), "set, change or remove a clearance");

	memset(&rl, 0, sizeof(rl));
	if (!PG_ARGISNULL(1))
	{
		rl.has_clearance = true;
		rl.clearance = crm_parse_level(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	}
	update_role_label(PG_GETARG_OID(0), &rl, true, false);
	PG_RETURN_VOID();
}

/*
 * SQL: privacy.set_masked(role regrole, masked boolean): mark a role (true)
 * or unmark it (false) for transparent masking.  Changes only the masked
 * word of the role's label.
 */
PG_FUNCTION_INFO_V1(crm_set_masked);
Datum
crm_set_masked(PG_FUNCTION_ARGS)
{
	CrmRoleLabel rl;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", PG_ARGISNULL(0) ? "role" : "masked")));
	require_admin(GetUserId(), "mark or unmark a masked role");

	memset(&rl, 0, sizeof(rl));
	rl.masked = PG_GETARG_BOOL(1);
	update_role_label(PG_GETARG_OID(0), &rl, false, true);
	PG_RETURN_VOID();
}

/* Is funcid one of the administrative functions of schema privacy? */
static bool
is_admin_function(Oid funcid)
{
	HeapTuple	tup;
	Form_pg_proc proc;
	const char *name;
	bool		result = false;

	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	if (!HeapTupleIsValid(tup))
		return false;
	proc = (Form_pg_proc) GETSTRUCT(tup);
	name = NameStr(proc->proname);
	for (int lo = 0, hi = lengthof(admin_functions) - 1; lo <= hi;)
	{
		int			mid = (lo + hi) / 2;
		int			cmp = strcmp(name, admin_functions[mid]);

		if (cmp == 0)
		{
			result = (proc->pronamespace == get_namespace_oid(CRM_SCHEMA, true));
			break;
		}
		if (cmp < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	ReleaseSysCache(tup);
	return result;
}

/*
 * A relation is being dropped.  DROP EXTENSION crm_privacy (and DROP SCHEMA
 * privacy CASCADE, DROP OWNED BY its owner) first moves the logs out of the
 * extension (src/ddl.c, privacy.archive_logs()).  Any other route that drops
 * a log while it is still the extension's -- a CASCADE that reaches a
 * generated view from a user's domain, function or column, or from another
 * extension, and so drops the whole extension -- would delete the trail:
 * refuse.
 */
static void
guard_log_drop(Oid relid)
{
	Oid			nsp = get_rel_namespace(relid);
	char	   *name;

	if (!OidIsValid(nsp) || nsp != get_namespace_oid(CRM_SCHEMA, true))
		return;
	name = get_rel_name(relid);
	if (name == NULL ||
		(strcmp(name, "audit_log") != 0 && strcmp(name, "access_log") != 0 &&
		 strcmp(name, "audit_seal") != 0) ||
		!crm_is_extension_member(RelationRelationId, relid))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
			 errmsg("cannot drop %s.%s: it holds the crm_privacy audit trail", CRM_SCHEMA, name),
			 errdetail("The command drops it, directly or by cascading to extension %s.", CRM_PROVIDER),
			 errhint("Drop without CASCADE and remove the privacy labels of the tables involved first; DROP EXTENSION %s keeps the logs.",
					 CRM_PROVIDER)));
}

/*
 * SQL: privacy.load_guards(), an event trigger on every ddl_command_start:
 * it does nothing but makes sure this library, and so the object access hook
 * below, is loaded before any DDL runs, also in a session that has not used
 * the extension yet.
 */
PG_FUNCTION_INFO_V1(crm_load_guards);
Datum
crm_load_guards(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function privacy.load_guards must be fired as an event trigger")));
	PG_RETURN_VOID();
}

/*
 * Object access hook: when a call of an administrative function is set up,
 * in the caller's context (where PostgreSQL checks EXECUTE), refuse it unless
 * the caller is a privacy administrator; when the extension is dropped, the
 * guard above.
 */
static void
crm_object_access(ObjectAccessType access, Oid classId, Oid objectId, int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);

	if (access == OAT_DROP && classId == RelationRelationId && subId == 0)
		guard_log_drop(objectId);

	if (access == OAT_FUNCTION_EXECUTE && classId == ProcedureRelationId &&
		is_admin_function(objectId) && !crm_is_privacy_admin(GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for function %s", format_procedure_qualified(objectId)),
				 errdetail("Only superusers and privacy administrators may call the privacy administration functions."),
				 errhint(ADMIN_HINT)));
}

static void
roles_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
		loaded_in_this_xact = false;
}

/* Called from _PG_init (through crm_label_init). */
void
crm_roles_init(void)
{
	loaded_in_this_xact = IsTransactionState();
	RegisterXactCallback(roles_xact_callback, NULL);
	CacheRegisterSyscacheCallback(AUTHOID, role_syscache_callback, (Datum) 0);
	prev_object_access_hook = object_access_hook;
	object_access_hook = crm_object_access;
}
