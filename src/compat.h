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

#if PG_VERSION_NUM < 150000
#error "crm_privacy needs PostgreSQL 15 or later"
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

#endif							/* CRM_COMPAT_H */
