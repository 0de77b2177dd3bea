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

/* 16: ownership checks take the object's catalog (object_ownercheck). */
#if PG_VERSION_NUM >= 160000
#define crm_owns_relation(relid, roleid) object_ownercheck(RelationRelationId, (relid), (roleid))
#define crm_owns_namespace(nspid, roleid) object_ownercheck(NamespaceRelationId, (nspid), (roleid))
#define crm_owns_function(funcid, roleid) object_ownercheck(ProcedureRelationId, (funcid), (roleid))
#define crm_owns_type(typid, roleid) object_ownercheck(TypeRelationId, (typid), (roleid))
#else
#define crm_owns_relation(relid, roleid) pg_class_ownercheck((relid), (roleid))
#define crm_owns_namespace(nspid, roleid) pg_namespace_ownercheck((nspid), (roleid))
#define crm_owns_function(funcid, roleid) pg_proc_ownercheck((funcid), (roleid))
#define crm_owns_type(typid, roleid) pg_type_ownercheck((typid), (roleid))
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
 * 16: ExecInitRangeTable() takes the permission infos; 18: and the relids
 * left after pruning.  An executor state of one relation (index 1):
 */
#if PG_VERSION_NUM >= 180000
#define crm_exec_init_range_table(estate, rtable, perminfos) \
	ExecInitRangeTable((estate), (rtable), (perminfos), bms_make_singleton(1))
#elif PG_VERSION_NUM >= 160000
#define crm_exec_init_range_table(estate, rtable, perminfos) \
	ExecInitRangeTable((estate), (rtable), (perminfos))
#else
#define crm_exec_init_range_table(estate, rtable, perminfos) \
	((void) (perminfos), ExecInitRangeTable((estate), (rtable)))
#endif

/* 17: ShmemVariableCache became TransamVariables. */
#if PG_VERSION_NUM < 170000
#define TransamVariables ShmemVariableCache
#endif

/*
 * 16: the permissions the executor checks moved from RangeTblEntry to
 * RTEPermissionInfo (PlannedStmt->permInfos, and a second argument of
 * ExecutorCheckPerms_hook).  On 15 the range table itself is that list: an
 * entry with requiredPerms != 0 is a checked relation (RangeTblEntry has the
 * same relid, inh, requiredPerms, checkAsUser, selectedCols, insertedCols and
 * updatedCols fields).  A hook is declared and chained as
 *		static bool my_check(CRM_CHECK_PERMS_PARAMS)
 *		... prev_hook(CRM_CHECK_PERMS_ARGS) ...
 *		foreach(lc, CRM_CHECK_PERMS_INFOS) { RTEPermissionInfo *p = lfirst(lc); ... }
 */
#if PG_VERSION_NUM >= 160000
#define CRM_CHECK_PERMS_PARAMS	List *rangeTable, List *rtePermInfos, bool ereport_on_violation
#define CRM_CHECK_PERMS_ARGS	rangeTable, rtePermInfos, ereport_on_violation
#define CRM_CHECK_PERMS_INFOS	rtePermInfos
#define crm_plan_perm_infos(pstmt)	((pstmt)->permInfos)
#else
#include "nodes/parsenodes.h"
typedef RangeTblEntry RTEPermissionInfo;
#define CRM_CHECK_PERMS_PARAMS	List *rangeTable, bool ereport_on_violation
#define CRM_CHECK_PERMS_ARGS	rangeTable, ereport_on_violation
#define CRM_CHECK_PERMS_INFOS	rangeTable
#define crm_plan_perm_infos(pstmt)	((pstmt)->rtable)
#endif

/*
 * 16: a query's permission checks: which role a range table entry is checked
 * as (0: the current user), EXECUTE on a function, and the executor's check
 * of a range table (ExecCheckPermissions; ExecCheckRTPerms before).
 */
#if PG_VERSION_NUM >= 160000
#define crm_rte_check_as_user(query, rte) \
	((rte)->perminfoindex == 0 ? InvalidOid : \
	 getRTEPermissionInfo((query)->rteperminfos, (rte))->checkAsUser)
#define crm_proc_aclcheck(funcid, roleid, mode) \
	object_aclcheck(ProcedureRelationId, (funcid), (roleid), (mode))
#define crm_check_query_permissions(query) \
	((void) ExecCheckPermissions((query)->rtable, (query)->rteperminfos, true))
#else
#define crm_rte_check_as_user(query, rte)	((void) (query), (rte)->checkAsUser)
#define crm_proc_aclcheck(funcid, roleid, mode)	pg_proc_aclcheck((funcid), (roleid), (mode))
#define crm_check_query_permissions(query)	((void) ExecCheckRTPerms((query)->rtable, true))
#endif

/*
 * 16: query jumbling (for normalized query texts, as pg_stat_statements)
 * moved from utils/ to nodes/ and JumbleQuery() lost its query text
 * argument: #include CRM_QUERYJUMBLE_H.  (18 adds LocationLen.squashed.)
 */
#if PG_VERSION_NUM >= 160000
#define CRM_QUERYJUMBLE_H		"nodes/queryjumble.h"
#define crm_jumble_query(query, text)	JumbleQuery(query)
#else
#define CRM_QUERYJUMBLE_H		"utils/queryjumble.h"
#define crm_jumble_query(query, text)	JumbleQuery((query), (text))
#endif

/*
 * 16: EState.es_total_processed counts the rows of every ExecutorRun of a
 * query (each FETCH of a cursor); es_processed only the last run's (on 15
 * too).  crm_total_processed(estate) works only on 16+; to count on all
 * versions, add es_processed after each ExecutorRun.
 */
#if PG_VERSION_NUM >= 160000
#define crm_total_processed(estate)	((estate)->es_total_processed)
#endif

/* 18: ExecutorRun (and its hook) lost the execute_once argument. */
#if PG_VERSION_NUM >= 180000
#define CRM_EXECUTOR_RUN_PARAMS	QueryDesc *queryDesc, ScanDirection direction, uint64 count
#define CRM_EXECUTOR_RUN_ARGS	queryDesc, direction, count
#else
#define CRM_EXECUTOR_RUN_PARAMS	QueryDesc *queryDesc, ScanDirection direction, uint64 count, bool execute_once
#define CRM_EXECUTOR_RUN_ARGS	queryDesc, direction, count, execute_once
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

/*
 * 17: getIdentitySequence() takes the Relation, not its OID (include
 * catalog/dependency.h and utils/rel.h first).
 */
#if PG_VERSION_NUM < 170000
#define getIdentitySequence(rel, attnum, missing_ok) \
	getIdentitySequence(RelationGetRelid(rel), (attnum), (missing_ok))
#endif

/*
 * 16: ExecInsertIndexTuples() takes onlySummarizing (false: every index).
 * Inserts slot, not an update, into every index of rri.
 */
#if PG_VERSION_NUM >= 160000
#define CRM_EXEC_INSERT_INDEX_TUPLES(rri, slot, estate) \
	ExecInsertIndexTuples((rri), (slot), (estate), false, false, NULL, NIL, false)
#else
#define CRM_EXEC_INSERT_INDEX_TUPLES(rri, slot, estate) \
	ExecInsertIndexTuples((rri), (slot), (estate), false, false, NULL, NIL)
#endif

/*
 * 17: an index AM may keep state across index_insert() calls of one
 * IndexInfo (BRIN keeps its range map pinned); index_insert_cleanup()
 * releases it.  Before 17 there is nothing to release.
 */
#if PG_VERSION_NUM < 170000
#define index_insert_cleanup(index, info)	((void) 0)
#endif

/*
 * The planner hook's parameters (an ExplainState is passed from PostgreSQL
 * 19 on).
 */
#if PG_VERSION_NUM >= 190000
#define CRM_PLANNER_PARAMS	Query *parse, const char *query_string, int cursorOptions, \
	ParamListInfo boundParams, ExplainState *es
#define CRM_PLANNER_ARGS	parse, query_string, cursorOptions, boundParams, es
#else
#define CRM_PLANNER_PARAMS	Query *parse, const char *query_string, int cursorOptions, \
	ParamListInfo boundParams
#define CRM_PLANNER_ARGS	parse, query_string, cursorOptions, boundParams
#endif

#endif							/* CRM_COMPAT_H */
