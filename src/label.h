/*-------------------------------------------------------------------------
 *
 * label.h
 *	  Parsed form of crm_privacy security labels.
 *
 * Every label the provider accepts is parsed by label.c into one of the
 * structures below; nothing else in the extension reads label text.
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/label.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CRM_LABEL_H
#define CRM_LABEL_H

#include "access/attnum.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"

/* Longest label text accepted, in bytes. */
#define CRM_LABEL_MAX_LEN	1024

/* Sensitivity levels, low to high; the order is significant. */
typedef enum CrmLevel
{
	CRM_LEVEL_PUBLIC = 0,
	CRM_LEVEL_INTERNAL,
	CRM_LEVEL_CONFIDENTIAL,
	CRM_LEVEL_SECRET
} CrmLevel;

/* Column classes. */
typedef enum CrmClass
{
	CRM_CLASS_PUBLIC = 0,
	CRM_CLASS_IDENTIFIER,
	CRM_CLASS_QUASI_IDENTIFIER,
	CRM_CLASS_PERSONAL,
	CRM_CLASS_SENSITIVE
} CrmClass;

/* Masking and anonymization rules. */
typedef enum CrmRuleKind
{
	CRM_RULE_KEEP = 0,
	CRM_RULE_NULL,
	CRM_RULE_PARTIAL,			/* partial(first, last) */
	CRM_RULE_EMAIL,
	CRM_RULE_PHONE,
	CRM_RULE_NAME,
	CRM_RULE_CN_ID,
	CRM_RULE_CARD,
	CRM_RULE_PSEUDONYM,
	CRM_RULE_GENERALIZE_STEP,	/* generalize(N) on numbers */
	CRM_RULE_GENERALIZE_UNIT,	/* generalize(year|month|decade) on dates */
	CRM_RULE_NOISE_RATIO,		/* noise(R) on numbers */
	CRM_RULE_NOISE_INTERVAL,	/* noise(N days) on dates */
	CRM_RULE_FN					/* fn(schema.function) */
} CrmRuleKind;

typedef struct CrmRule
{
	CrmRuleKind kind;
	int			first;			/* partial: characters kept at the start */
	int			last;			/* partial: characters kept at the end */
	char	   *number;			/* generalize step or noise ratio, as digits */
	int			amount;			/* noise interval: how many units */
	char	   *unit;			/* generalize or noise interval unit (singular) */
	char	   *fn_schema;		/* fn: schema name */
	char	   *fn_name;		/* fn: function name */
} CrmRule;

/* A column label, with the class defaults filled in. */
typedef struct CrmColumnLabel
{
	CrmClass	cls;
	CrmLevel	level;
	CrmRule		mask;
	CrmRule		anon;
} CrmColumnLabel;

/* A table label: "subject key=COL [k=N]" or "related subject=T key=COL [k=N]". */
typedef struct CrmTableLabel
{
	bool		related;
	char	   *key;			/* key column name */
	char	   *subject_schema; /* related only */
	char	   *subject_name;	/* related only */
	int			k;				/* 0 when no k-anonymity is asked for */
} CrmTableLabel;

/* A role label: "clearance=LEVEL", "privacy_admin" or both. */
typedef struct CrmRoleLabel
{
	bool		has_clearance;
	CrmLevel	clearance;
	bool		privacy_admin;
	bool		masked;			/* its reads of labelled tables are masked */
} CrmRoleLabel;

/* One crm_privacy label on a table (attnum 0) or a column. */
typedef struct CrmLabelEntry
{
	Oid			relid;
	AttrNumber	attnum;
	char	   *label;
} CrmLabelEntry;

extern List *crm_relation_labels(void);
extern void crm_parse_column_label(const char *label, CrmColumnLabel *out);
extern void crm_default_column_label(CrmColumnLabel *out);
extern void crm_check_column_label(const char *label, const CrmColumnLabel *cl,
								   Oid relid, AttrNumber attnum);
extern void crm_parse_table_label(const char *label, CrmTableLabel *out);
extern void crm_check_table_label(const char *label, const CrmTableLabel *tl, Oid relid);
extern Oid	crm_subject_relid(const CrmTableLabel *tl);
extern bool crm_get_table_label(Oid relid, CrmTableLabel *out);
extern List *crm_related_tables(Oid subject);
extern void crm_parse_role_label(const char *label, CrmRoleLabel *out);
extern char *crm_role_label_to_string(const CrmRoleLabel *rl);
extern CrmLevel crm_parse_level(const char *level);
extern void crm_parse_schema_label(const char *label);

extern void crm_parse_rule(const char *text, CrmRule *rule);
extern bool crm_key_type_supported(Oid typid);
extern bool crm_rule_fits(const char *label, const CrmRule *rule,
						  const char *colname, Oid typid, bool report);
extern const char *crm_level_name(CrmLevel level);
extern const char *crm_class_name(CrmClass cls);
extern char *crm_rule_to_string(const CrmRule *rule);
extern char *crm_column_label_to_string(const CrmColumnLabel *cl);
extern char *crm_table_label_to_string(const CrmTableLabel *tl);

/* roles.c: who may set role labels; the privacy administrators' hook. */
extern void crm_check_role_relabel(Oid roleid, const char *seclabel);
extern void crm_roles_init(void);
extern CrmLevel crm_clearance_of(Oid roleid);
extern uint64 crm_role_labels_generation(void);

/* views.c: the SQL of a rule applied to a column reference. */
extern void crm_append_rule(StringInfo buf, const CrmRule *rule, const char *col,
							Oid typid, int32 typmod, const char *context,
							const char *keyexpr, const char *seedexpr);

#endif							/* CRM_LABEL_H */
