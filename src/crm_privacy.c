/*-------------------------------------------------------------------------
 *
 * crm_privacy.c
 *	  Module entry point of the crm_privacy extension.
 *
 * _PG_init runs when the library is loaded, either from
 * shared_preload_libraries or on demand when one of the extension's C
 * functions is first called in a session.  It registers the security label
 * provider, the utility and executor hooks and the one cache invalidation
 * callback, and reserves the "crm_privacy." setting prefix.
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/crm_privacy.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "crm_privacy.h"

PG_MODULE_MAGIC;

void		_PG_init(void);
static void crm_relcache_callback(Datum arg, Oid relid);

/*
 * Register the label provider, the hooks and the one relcache callback that
 * serves every cache of the library; reserve crm_privacy. settings.
 */
void
_PG_init(void)
{
	crm_label_init();
	crm_ddl_init();
	crm_citus_init();			/* inside the read audit's hooks */
	crm_read_audit_init();
	crm_masking_init();
	crm_stats_init();
	crm_snapshot_init();
	CacheRegisterRelcacheCallback(crm_relcache_callback, (Datum) 0);

#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved(CRM_PROVIDER);
#else
	EmitWarningsOnPlaceholders(CRM_PROVIDER);
#endif
}

/* The OID of the extension in this database. */
Oid
crm_extension_oid(void)
{
	return get_extension_oid(CRM_PROVIDER, false);
}

/* The client's address as inet (inet_client_addr()); false over a Unix socket. */
bool
crm_client_addr(Datum *result)
{
	LOCAL_FCINFO(fcinfo, 0);
	FmgrInfo	flinfo;

	fmgr_info(F_INET_CLIENT_ADDR, &flinfo);
	InitFunctionCallInfoData(*fcinfo, &flinfo, 0, InvalidOid, NULL, NULL);
	*result = FunctionCallInvoke(fcinfo);
	return !fcinfo->isnull;
}

/* Is the object a member of the extension (which may not be installed)? */
bool
crm_is_extension_member(Oid classid, Oid objid)
{
	Oid			ext = get_extension_oid(CRM_PROVIDER, true);

	return OidIsValid(ext) && OidIsValid(objid) && getExtensionOfObject(classid, objid) == ext;
}

/*
 * One administration of the privacy views at a time: rebuilding views,
 * granting and revoking them (privacy.grant_access() takes the same lock in
 * SQL), and DDL on labelled tables, which rebuilds them.  Two GRANTs or
 * CREATE OR REPLACE VIEWs on one object at once fail with "tuple
 * concurrently updated".  SHARE ROW EXCLUSIVE on privacy.access_grants
 * conflicts with itself only: readers of the views and of the table go on.
 */
void
crm_lock_view_admin(void)
{
	Oid			relid = get_relname_relid("access_grants", get_namespace_oid(CRM_SCHEMA, true));

	if (OidIsValid(relid))
		LockRelationOid(relid, ShareRowExclusiveLock);
}

/*
 * A relation a call was given must exist: a regclass argument is an OID
 * resolved before the call ran, or any number.
 */
void
crm_require_relation(Oid relid)
{
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid),
				 errhint("A table dropped while the call was being made (by a reload, say) is gone: name the table again.")));
}

/*
 * SQL: privacy.lock_subject(tbl regclass, name text): lock a subject table
 * for a record about it (ACCESS SHARE: a rename or drop waits for the
 * record), by OID, and check that it is still the table the caller named:
 * a rename or drop that came first makes the call fail (40001, to retry),
 * never record on a table that is gone or on yesterday's copy.
 */
PG_FUNCTION_INFO_V1(crm_lock_subject);
Datum
crm_lock_subject(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_ARGISNULL(0) ? InvalidOid : PG_GETARG_OID(0);
	char	   *name = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *relname;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the subject table must not be NULL")));
	crm_require_relation(relid);
	LockRelationOid(relid, AccessShareLock);
	relname = get_rel_name(relid);
	if (name == NULL || relname == NULL ||
		strcmp(quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), relname),
			   name) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("table %s was renamed or dropped while this was being recorded",
						name ? name : psprintf("%u", relid)),
				 errdetail("A reload or rename of the table committed first."),
				 errhint("Record it again: it then goes to the table that has the name now.")));
	PG_RETURN_VOID();
}

/*
 * The owner of the extension, cached: looked up once per backend, and again
 * after a relcache invalidation of privacy.audit_log.  The extension cannot
 * change owner or be dropped without one (REASSIGN OWNED gives the log a new
 * owner; DROP EXTENSION drops it).
 */
static Oid	cached_owner = InvalidOid;
static Oid	cached_log_relid = InvalidOid;

/*
 * The library's relcache callback: relid's entry (or, InvalidOid, every
 * entry) was invalidated.  Each cache forgets what depends on it: the
 * extension's owner here, audited tables and the log (audit.c), the views of
 * the read audit (hooks.c), the writer's log (accesslog.c), the pseudonym key
 * (pseudonym.c) and the role labels (roles.c).
 */
static void
crm_relcache_callback(Datum arg pg_attribute_unused(), Oid relid)
{
	if (relid == InvalidOid || relid == cached_log_relid)
	{
		cached_owner = InvalidOid;
		cached_log_relid = InvalidOid;
	}
	crm_audit_relcache(relid);
	crm_read_audit_relcache(relid);
	crm_access_log_relcache(relid);
	crm_pseudonym_relcache(relid);
	crm_roles_relcache(relid);
	crm_masking_relcache(relid);
}

/* The owner of the extension. */
static Oid
extension_owner(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			owner;
	Oid			log_relid;

	if (OidIsValid(cached_owner))
		return cached_owner;
	log_relid = get_relname_relid("audit_log", get_namespace_oid(CRM_SCHEMA, true));
	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(crm_extension_oid()));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "could not find extension %s", CRM_PROVIDER);
	owner = ((Form_pg_extension) GETSTRUCT(tup))->extowner;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (OidIsValid(log_relid))
	{
		cached_log_relid = log_relid;
		cached_owner = owner;
	}
	return owner;
}

/*
 * Become the extension's owner to write what only the owner may write
 * (generated views, audit rows); with pin_search_path, also set search_path
 * to pg_catalog, pg_temp (for generated SQL that is not all qualified).
 */
void
crm_become_owner(CrmOwnerContext *ctx, bool pin_search_path)
{
	GetUserIdAndSecContext(&ctx->save_userid, &ctx->save_sec_context);
	SetUserIdAndSecContext(extension_owner(),
						   ctx->save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	ctx->save_nestlevel = -1;
	if (pin_search_path)
	{
		ctx->save_nestlevel = NewGUCNestLevel();
		(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
		crm_citus_local_ddl();
	}
}

/* Return to the caller's identity and settings. */
void
crm_end_owner(CrmOwnerContext *ctx)
{
	if (ctx->save_nestlevel >= 0)
		AtEOXact_GUC(true, ctx->save_nestlevel);
	SetUserIdAndSecContext(ctx->save_userid, ctx->save_sec_context);
}
