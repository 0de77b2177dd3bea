/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  The differences between the PostgreSQL versions crm_privacy supports
 *	  (15, 17 and 18), in one place.  Code is written against the newest API;
 *	  each shim below gives the older servers that API.
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/compat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CRM_COMPAT_H
#define CRM_COMPAT_H

/* --- read audit delivery (src/accesslog.c; branch h4) --- */

/*
 * 17: getIdentitySequence() takes the Relation, not its OID (include
 * catalog/dependency.h and utils/rel.h first).
 */
#if PG_VERSION_NUM < 170000
#define getIdentitySequence(rel, attnum, missing_ok) \
	getIdentitySequence(RelationGetRelid(rel), (attnum), (missing_ok))
#endif

/* --- end of read audit delivery --- */

#endif							/* CRM_COMPAT_H */
