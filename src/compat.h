/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  The differences between the PostgreSQL versions crm_privacy supports
 *	  (15, 17 and 18), in one place.  Code is written against the newest API;
 *	  each shim below gives the older servers that API, or, where a function
 *	  kept its name but changed its arguments, a crm_ wrapper works on all.
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

#if PG_VERSION_NUM < 150000
#error "crm_privacy needs PostgreSQL 15 or later"
#endif

/* 16: the varlena macros (VARDATA, VARSIZE_ANY, ...) left postgres.h. */
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

/*
 * 17: PGPROC lost pgprocno; a backend's slot number is a ProcNumber, ours is
 * MyProcNumber, another PGPROC's GetNumberFromPGProc(proc).
 */
#if PG_VERSION_NUM < 170000
typedef int ProcNumber;
#define INVALID_PROC_NUMBER		(-1)
#define MyProcNumber			(MyProc->pgprocno)
#define GetNumberFromPGProc(proc) ((proc)->pgprocno)
#endif

/*
 * 18: RelationGetPrimaryKeyIndex() takes deferrable_ok; before, a deferrable
 * primary key was never returned (the same as deferrable_ok = false).
 */
#if PG_VERSION_NUM >= 180000
#define crm_primary_key_index(rel)	RelationGetPrimaryKeyIndex((rel), false)
#else
#define crm_primary_key_index(rel)	RelationGetPrimaryKeyIndex(rel)
#endif

#endif							/* CRM_COMPAT_H */
