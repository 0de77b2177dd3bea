/*-------------------------------------------------------------------------
 *
 * access.h
 *	  The record of one privileged read, shared by the read audit's executor
 *	  hooks (hooks.c) and its delivery to privacy.access_log (accesslog.c).
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/access.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CRM_ACCESS_H
#define CRM_ACCESS_H

#include "datatype/timestamp.h"

#define QUERY_MAX			4096	/* bytes of query text kept */
#define RELATIONS_MAX		2048	/* bytes of the relations' JSON array */

/* One read, to be written. */
typedef struct AccessRecord
{
	Oid			dbid;
	TimestampTz at;
	char		session_user_name[NAMEDATALEN];
	char		current_user_name[NAMEDATALEN];
	char		application_name[NAMEDATALEN];
	char		client_addr[64];	/* empty: none */
	char		relations[RELATIONS_MAX];	/* a JSON array of names */
	char		query[QUERY_MAX];
	bool		has_rows;
	int64		row_count;
} AccessRecord;

/* accesslog.c */
extern void crm_access_shmem_install(void);
extern void crm_access_queue(const AccessRecord *rec);
extern void crm_access_log_record(const AccessRecord *r, const char *why);
extern void crm_access_worker_rows_add(uint64 rows);
extern uint64 crm_access_worker_rows_take(void);

#endif							/* CRM_ACCESS_H */
