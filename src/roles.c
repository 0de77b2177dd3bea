/*-------------------------------------------------------------------------
 *
 * roles.c
 *	  Role labels: clearances and privacy administrators (SPEC section 1).
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
#include "catalog/pg_authid.h"
#include "catalog/pg_shseclabel.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/rel.h"

#include "crm_privacy.h"
#include "label.h"

/*
 * The highest clearance of any labelled role that roleid is a member of.
 * Superusers, who may read the base tables anyway, have secret.
 */
static CrmLevel
clearance_of(Oid roleid)
{
	CrmLevel	best = CRM_LEVEL_PUBLIC;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;

	if (superuser_arg(roleid))
		return CRM_LEVEL_SECRET;
	rel = table_open(SharedSecLabelRelationId, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);

	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		FormData_pg_shseclabel *sl = (FormData_pg_shseclabel *) GETSTRUCT(tup);
		bool		isnull;
		Datum		d;
		CrmLevel	level;

		if (sl->classoid != AuthIdRelationId || !is_member_of_role(roleid, sl->objoid))
			continue;
		d = heap_getattr(tup, Anum_pg_shseclabel_provider, RelationGetDescr(rel), &isnull);
		if (isnull || strcmp(TextDatumGetCString(d), CRM_PROVIDER) != 0)
			continue;
		d = heap_getattr(tup, Anum_pg_shseclabel_label, RelationGetDescr(rel), &isnull);
		level = crm_parse_role_label(TextDatumGetCString(d));
		if (level > best)
			best = level;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return best;
}

/* SQL: privacy.clearance_level(): the current user's clearance as 0..3. */
PG_FUNCTION_INFO_V1(crm_clearance_level);
Datum
crm_clearance_level(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32((int32) clearance_of(GetUserId()));
}

/* SQL: privacy.clearance(role regrole): a role's clearance by name. */
PG_FUNCTION_INFO_V1(crm_clearance);
Datum
crm_clearance(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(crm_level_name(clearance_of(PG_GETARG_OID(0)))));
}

/*
 * Is roleid a privacy administrator?  For now: a superuser.
 */
bool
crm_is_privacy_admin(Oid roleid)
{
	return superuser_arg(roleid);
}
