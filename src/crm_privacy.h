/*-------------------------------------------------------------------------
 *
 * crm_privacy.h
 *	  Declarations shared by the C files of the crm_privacy extension.
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/crm_privacy.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CRM_PRIVACY_H
#define CRM_PRIVACY_H

#include "access/attnum.h"
#include "catalog/pg_attribute.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "nodes/pg_list.h"
#include "compat.h"

/* Name of the security label provider, the GUC prefix and the schema. */
#define CRM_PROVIDER		"crm_privacy"
#define CRM_SCHEMA			"privacy"

/*
 * The role that owns the generated views and reads the base tables for them:
 * not a superuser, cannot log in (but to the nodes of a Citus cluster), no
 * BYPASSRLS (made by CREATE EXTENSION).
 */
#define CRM_VIEW_ROLE		"crm_privacy_views"

/* Saved state while running as the extension's owner (crm_privacy.c). */
typedef struct CrmOwnerContext
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
} CrmOwnerContext;

/* A column of one of the logs, as the extension creates it (audit.c, accesslog.c). */
typedef struct CrmLogColumn
{
	const char *name;
	Oid			type;
	bool		notnull;		/* NOT NULL (the audit log's direct insert checks it) */
} CrmLogColumn;

extern Oid	crm_extension_oid(void);
extern bool crm_is_extension_member(Oid classid, Oid objid);
extern void crm_lock_view_admin(void);
extern void crm_require_relation(Oid relid);
extern bool crm_client_addr(Datum *result);
extern void crm_become_owner(CrmOwnerContext *ctx, bool pin_search_path);
extern void crm_end_owner(CrmOwnerContext *ctx);

/* label.c */
extern void crm_label_init(void);

/* ddl.c */
extern void crm_ddl_init(void);

/* pseudonym.c */
extern void crm_pseudonym_relcache(Oid relid);
extern char *crm_pseudonym_cstring(const char *value, int len, const char *context);
extern float8 crm_keyed_unit(FunctionCallInfo fcinfo, int keyarg, bool value_varlena);
extern bytea *crm_pseudonym_key(void);

/* audit.c: the triggers privacy.enable_audit() puts on a table */
#define CRM_AUDIT_TRIGGER			"crm_privacy_audit"
#define CRM_AUDIT_TRUNCATE_TRIGGER	"crm_privacy_audit_truncate"
extern void crm_audit_relcache(Oid relid);
extern bool crm_is_audit_function(Oid funcoid);
extern bool crm_is_audited(Oid relid);
extern bool crm_is_audit_trigger(Oid relid, const char *name);
extern void crm_audit_shard_truncate(Oid relid);
extern int64 crm_audit_shard_id(Oid relid);
extern void crm_audit_table_action(Oid relid, const char *op, const char *column);
extern void crm_audit_attach_partition(Oid parentid, Oid partid);
extern void crm_audit_cover_partitions(Oid relid);
extern void crm_audit_uncover_partition(Oid partid);

/* hooks.c */
extern bool crm_require_access_log;
extern void crm_read_audit_init(void);
extern void crm_read_audit_relcache(Oid relid);
extern void crm_read_audit_clearance_seen(int level);

/* accesslog.c */
extern void crm_access_log_relcache(Oid relid);

/* masking.c */
extern void crm_masking_init(void);
extern void crm_masking_relcache(Oid relid);
extern void crm_masking_check_utility(Node *parsetree);
extern void crm_masking_suspend(bool suspend);
extern bool crm_labelled_or_child(Oid relid, Oid *ancestor);

/* stats.c */
extern void crm_stats_init(void);
extern bool crm_stats_strict_begin(Query *parse);
extern void crm_stats_strict_end(bool was);

/* requests.c: shared with anonymize.c */
extern char *crm_qualified_name(Oid relid);
extern Oid	crm_table_owner(Oid relid);
extern uint64 crm_run_as_table_owner_keyed(Oid relid, const char *sql, const char *param, bytea *key,
										   Datum done, List **rows,
										   bool read_only, Datum *result, bool *isnull);
extern bool crm_is_key_column(Oid relid, AttrNumber attnum);
extern char *crm_blank_value(Form_pg_attribute att, const char *col);

/* roles.c */
extern bool crm_is_privacy_admin(Oid roleid);
extern bool crm_role_is_masked(Oid roleid);
extern bool crm_any_masked_role(void);
extern void crm_require_privacy_admin(void);
extern void crm_roles_relcache(Oid relid);

/* trust.c */
extern bool crm_domain_trusted(Oid typid);
extern bool crm_policies_trusted(Oid relid, char **culprit);
extern bool crm_runs_sql(const char *name);

/* citus.c */
extern void crm_citus_init(void);
extern bool crm_citus_present(void);
extern bool crm_citus_table(Oid relid);
extern bool crm_citus_reference_table(Oid relid);
extern Oid	crm_citus_shard(Oid relid, int64 *shardid);
extern Oid	crm_citus_shard_table(int64 shardid);
extern bool crm_citus_worker(void);
extern Oid	crm_citus_local_copy(Oid relid);

/* A distributed table's name and labels as privacy.citus_labels copies them. */
typedef struct CrmCitusLabels
{
	char	   *table_name;		/* its name on the coordinator */
	char	   *table_label;	/* "" when it has none */
	List	   *columns;		/* column names (char *) */
	List	   *labels;			/* their labels (char *) */
	List	   *table_columns;	/* all its columns, as crm_citus_columns() */
} CrmCitusLabels;
extern bool crm_citus_labels(int64 shardid, CrmCitusLabels *out);
extern bool crm_citus_labels_changing(int64 shardid);
extern List *crm_citus_columns(Oid relid);
extern void crm_citus_local_ddl(void);
extern bool crm_citus_plan(PlannedStmt *stmt);
extern int	crm_citus_propagate_begin(void);

/* views.c */
extern void crm_refresh(Oid relid);
extern void crm_drop_views_of(Oid relid);
extern void crm_lock_views_of(Oid relid);
extern void crm_resolve_choices(List *tables, bool all, List *dropped, List *dropped_names);
extern bool crm_records_about(Oid relid);
extern void crm_reassign_records(List *old_roles, Oid new_role);
extern char *crm_canonical_key(Oid basetype, int32 typmod, const char *key);

/* views.c, for snapshot.c */
typedef struct CrmSnapshotSql
{
	char	   *snapshot_schema;	/* privacy_snapshot_anon, ... */
	char	   *relname;		/* the table's name: the view's */
	Oid			subject;		/* the table's subject table */
	int			k;				/* the k its view applies (k-anonymity), or 0 */
	int			subject_k;		/* a related table's anonymous view: its subject's k */
	char	   *fill;			/* SELECT crm_privacy_key, <columns>; key $2 */
	char	   *columns;		/* the snapshot table's column definitions */
	char	   *reader;			/* the SELECT of the reader's view */
	char	   *comments;		/* the COMMENT statements of the reader's view */
	List	   *indexed;		/* names of the columns to index */
	List	   *grantees;		/* names of the roles granted the view's kind */
	List	   *prune;			/* statements run after the fill: opt-outs */
	List	   *quasi;			/* names of the quasi-identifier columns */
	char	   *live_md5;		/* MD5 of the live view's query */
} CrmSnapshotSql;
extern void crm_snapshot_sql(Oid relid, const char *views_schema, const char *storage,
							 CrmSnapshotSql *out);
extern void crm_view_schema(const char *schema, const char *what);
extern void crm_extension_member(Oid classid, Oid objid, bool add);

/* snapshot.c */
extern void crm_snapshot_init(void);
extern void crm_snapshot_launch(void);
extern void crm_snapshots_erased(Oid subject, const char *key);
extern void crm_snapshots_gc(void);
extern void crm_snapshots_drop(Oid relid);
extern void crm_snapshot_check(Oid relid, const char *views_schema, const char *live_md5);
extern void crm_rename_enum_keys(Oid typid, const char *old_value, const char *new_value);

#endif							/* CRM_PRIVACY_H */
