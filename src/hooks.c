/*-------------------------------------------------------------------------
 *
 * hooks.c
 *	  The read audit (doc/audit.md, "Read audit"): every read of a
 *	  privacy_full view, every read through a generated view that shows a
 *	  column at or above crm_privacy.record_clear_level in clear, and every
 *	  call of subject_report and erase_subject, recorded in
 *	  privacy.access_log, durably, even when the reading transaction rolls
 *	  back.
 *
 * With the library in shared_preload_libraries, executor hooks (chained to
 * any hook installed before) find the reads by what the executor checks: the
 * plan's permission entries (PlannedStmt->permInfos from PostgreSQL 16 on,
 * the range table's entries with requiredPerms on 15; see compat.h), so a
 * view read through a function, a wrapping view, a CTE or an inlined SQL
 * function is found on every version, whatever shape the planner gave the
 * view.  The record is filled at ExecutorStart (on abort, catalogs cannot be
 * read) and kept in the query's own memory (es_query_cxt); the rows its
 * views produce are counted at the top of each view's plan (see
 * count_view_rows), and ExecutorEnd sends it with that count.  A query that
 * never reaches ExecutorEnd (it failed, or its (sub)transaction aborted) is
 * sent when its transaction aborts or, at the latest, by the memory context
 * callback that runs when its memory goes, with the rows produced until then.
 * A record is not written by the reading transaction: accesslog.c delivers
 * it to privacy.access_log in a transaction of its own, so a ROLLBACK of the
 * reader does not undo it.
 *
 * The stored query text is normalized by default: constants become $n and
 * comments go, with the core scanner (as pg_stat_statements does), so no
 * literal a reader typed lands in the log (crm_privacy.access_log_query).
 *
 * Without preloading there is no hook: the full views call
 * privacy.read_audit_ready() once per query, which refuses the read while
 * crm_privacy.require_access_log is on (the default; superuser-only).
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/hooks.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "access/relation.h"
#include "access/sysattr.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/seclabel.h"
#include "common/keywords.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "lib/ilist.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/planner.h"
#include "parser/parser.h"
#include "parser/scanner.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteHandler.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "crm_privacy.h"
#include "label.h"
#include "access.h"

/* crm_privacy.access_log_query: what access_log.query keeps. */
typedef enum QueryTextMode
{
	QUERY_TEXT_NORMALIZED,
	QUERY_TEXT_FULL,
	QUERY_TEXT_NONE
} QueryTextMode;

static const struct config_enum_entry query_text_options[] = {
	{"normalized", QUERY_TEXT_NORMALIZED, false},
	{"full", QUERY_TEXT_FULL, false},
	{"none", QUERY_TEXT_NONE, false},
	{NULL, 0, false}
};

static const struct config_enum_entry level_options[] = {
	{"public", CRM_LEVEL_PUBLIC, false},
	{"internal", CRM_LEVEL_INTERNAL, false},
	{"confidential", CRM_LEVEL_CONFIDENTIAL, false},
	{"secret", CRM_LEVEL_SECRET, false},
	{NULL, 0, false}
};

bool		crm_require_access_log = true;
static int	access_log_query = QUERY_TEXT_NORMALIZED;
static int	record_clear_level = CRM_LEVEL_SECRET;
static bool read_audit_active = false;

/*
 * A recorded read of a running query, in the query's memory (es_query_cxt):
 * the callback that runs when that memory goes takes it off the list, and
 * sends it (without a row count) if the query never reached ExecutorEnd.
 */
typedef struct ActiveRead
{
	dlist_node	node;
	EState	   *estate;			/* the query's */
	bool		sent;
	uint64		rows;			/* rows its parallel workers' views produced */
	bool		parallel;		/* a parallel plan: its workers count too */
	MemoryContextCallback callback;

	/*
	 * A possible clear read: the query selects columns a generated view shows
	 * in clear to a higher clearance than the reader's when it started.  A
	 * plan whose clearance was decided when it was made (access_planner)
	 * shows what it was checked for at the start, whoever fetches its rows.
	 * Otherwise the view asks for the clearance when it runs, so after each
	 * run the reader (a SET ROLE, a changed clearance) is checked again; the
	 * read is recorded once it is one.
	 */
	bool		pending;
	bool		folded;			/* the plan decided the clearance (planner) */
	bool		citus;			/* of distributed tables: rows not counted here */
	Oid			userid;			/* the reader last checked */
	uint64		generation;		/* of the role labels then */
	int			seen_level;		/* the highest clearance its views ran with */
	QueryDesc  *query;			/* the query, while it runs */
	List	   *more;			/* further relations arrays, a record each */
	List	   *names;			/* the recorded views, once it is a read */
	List	   *tops;			/* ViewTop: where its generated views end */
	AccessRecord record;		/* filled when it is known to be a read */
} ActiveRead;

static dlist_head active_reads = DLIST_STATIC_INIT(active_reads);

/*
 * ExecutorRun calls in progress in this process.  In a parallel worker the
 * query started at depth 0 is the leader's plan (the leader records it);
 * queries started deeper are the worker's own (a function it calls reads a
 * view) and are recorded like any other.
 */
static int	run_depth = 0;
static EState *running_estate = NULL;	/* the innermost ExecutorRun's */

/*
 * What a generated view shows of one column: in clear to readers whose
 * clearance is at least clear_from (NEVER_CLEAR: to no one), and the level
 * of the base column it shows.
 */
#define NEVER_CLEAR			(CRM_LEVEL_SECRET + 1)

typedef struct ViewColumn
{
	int			clear_from;
	int			level;
} ViewColumn;

/* A view, as the read audit sees it; cached per backend, by OID. */
typedef struct ViewInfo
{
	Oid			relid;			/* hash key */
	bool		valid;			/* false once invalidated */
	bool		ours;			/* a view the extension generated */
	bool		full;			/* in privacy_full */
	char	   *name;			/* schema.view, quoted */
	int			natts;
	ViewColumn *cols;			/* [natts] */
} ViewInfo;

static HTAB *view_cache = NULL;

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;

/* Copy a C string into a fixed buffer, cut at a character boundary. */
static void
copy_clipped(char *dst, const char *src, int size)
{
	int			len = src ? strlen(src) : 0;

	if (len >= size)
		len = pg_mbcliplen(src, len, size - 1);
	if (len > 0)
		memcpy(dst, src, len);
	dst[len] = '\0';
}

/* The client's address as text, or "". */
static void
client_addr_text(char *buf, int size)
{
	Datum		addr;

	buf[0] = '\0';
	if (crm_client_addr(&addr))
		copy_clipped(buf, DatumGetCString(DirectFunctionCall1(inet_out, addr)), size);
}

/* Fill a record with the reader and the query; the row count comes later. */
static void
fill_record(AccessRecord *r, const char *relations, const char *query, Oid user)
{
	const char *appname = GetConfigOption("application_name", true, false);

	/* every field is set: the strings' room beyond their ends is never read */
	r->has_rows = false;
	r->row_count = 0;
	r->dbid = MyDatabaseId;
	r->at = GetCurrentTimestamp();
	copy_clipped(r->session_user_name, GetUserNameFromId(GetSessionUserId(), false), NAMEDATALEN);
	copy_clipped(r->current_user_name, GetUserNameFromId(user, false), NAMEDATALEN);
	copy_clipped(r->application_name, appname, NAMEDATALEN);
	client_addr_text(r->client_addr, sizeof(r->client_addr));
	copy_clipped(r->relations, relations, RELATIONS_MAX);	/* a JSON array that fits */
	copy_clipped(r->query, query, QUERY_MAX);
}

/*
 * What a token of the core scanner is, from its text (the token numbers of
 * gram.h are not installed for extensions from PostgreSQL 16 on): a
 * parameter $n (its number in *param), a constant (a number; a string, bit
 * string or byte string in any quoting, dollar quotes included), or else.
 */
typedef enum TokenKind
{
	TOKEN_OTHER,
	TOKEN_PARAM,
	TOKEN_CONSTANT
} TokenKind;

static TokenKind
token_kind(const char *tok, int *param)
{
	char		c = tok[0];

	if (c == '$')
	{
		if (isdigit((unsigned char) tok[1]))
		{
			*param = atoi(tok + 1);
			return TOKEN_PARAM;
		}
		return TOKEN_CONSTANT;	/* $$...$$, $tag$...$tag$ */
	}
	if (isdigit((unsigned char) c) || (c == '.' && isdigit((unsigned char) tok[1])) || c == '\'')
		return TOKEN_CONSTANT;
	if (c != '\0' && strchr("eEbBxX", c) && tok[1] == '\'')
		return TOKEN_CONSTANT;	/* E'...', B'...', X'...' */
	if ((c == 'u' || c == 'U') && tok[1] == '&' && tok[2] == '\'')
		return TOKEN_CONSTANT;	/* U&'...' */
	return TOKEN_OTHER;
}

/*
 * A query text with its constants replaced by $n (numbered after the
 * highest $n it already has), comments dropped and runs of white space made
 * one space, read with the core scanner as pg_stat_statements does.  A text
 * the scanner refuses (standard_conforming_strings changed since a
 * statement was prepared) is not stored; any other error (a cancel, out of
 * memory) is raised.
 */
static char *
normalize_query(const char *text)
{
	MemoryContext cxt = CurrentMemoryContext;
	StringInfoData out;
	volatile int max_param = 0;

	initStringInfo(&out);
	PG_TRY();
	{
		for (int pass = 0; pass < 2; pass++)
		{
			core_yy_extra_type yyextra;
			core_YYSTYPE yylval;
			YYLTYPE		yylloc;
			core_yyscan_t yyscanner;
			int			last_end = 0;

			yyscanner = scanner_init(text, &yyextra, &ScanKeywords, ScanKeywordTokens);
			yyextra.escape_string_warning = false;
			while (core_yylex(&yylval, &yylloc, yyscanner) != 0)
			{
				/* flex ends the current token's text with a zero byte */
				const char *start = yyextra.scanbuf + yylloc;
				int			len = strlen(start);
				int			param = 0;
				TokenKind	kind = token_kind(start, &param);

				if (pass == 0)
				{
					if (kind == TOKEN_PARAM && param > max_param)
						max_param = param;
					continue;
				}
				if (out.len > 0 && yylloc > last_end)
					appendStringInfoChar(&out, ' ');
				if (kind == TOKEN_CONSTANT)
					appendStringInfo(&out, "$%d", ++max_param);
				else
					appendBinaryStringInfo(&out, yyextra.scanbuf + yylloc, len);
				last_end = yylloc + len;
			}
			scanner_finish(yyscanner);
		}
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		int			category;

		/* only the scanner ran: nothing to release but its own errors */
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		category = ERRCODE_TO_CATEGORY(edata->sqlerrcode);
		if (category != ERRCODE_DATA_EXCEPTION &&
			category != ERRCODE_SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION)
			PG_RE_THROW();
		FlushErrorState();
		FreeErrorData(edata);
		resetStringInfo(&out);
	}
	PG_END_TRY();
	return out.data;
}

/*
 * The last texts normalized, and their normalized forms, in this backend: an
 * application runs the same statements again and again (a prepared one, a
 * function's), and scanning each time would cost more than the record.  The
 * scanner reads quotes as standard_conforming_strings says, so that is part
 * of the key.
 */
#define NORMALIZED_CACHE	16
#define NORMALIZED_CACHE_MAX 1024	/* longer texts are normalized each time */

typedef struct NormalizedText
{
	char	   *text;			/* NULL: unused */
	int			len;
	bool		standard_strings;
	char	   *normalized;
} NormalizedText;

static NormalizedText normalized_cache[NORMALIZED_CACHE];
static int	normalized_next = 0;

/* text (len bytes) normalized, from the cache if it was lately. */
static char *
normalized_text(const char *text, int len)
{
	NormalizedText *e;
	char	   *normalized;

	if (len <= NORMALIZED_CACHE_MAX)
	{
		for (int i = 0; i < NORMALIZED_CACHE; i++)
		{
			e = &normalized_cache[i];
			if (e->text && e->len == len && e->standard_strings == standard_conforming_strings &&
				memcmp(e->text, text, len) == 0)
				return pstrdup(e->normalized);
		}
	}
	normalized = normalize_query(text);
	if (len <= NORMALIZED_CACHE_MAX)
	{
		e = &normalized_cache[normalized_next];
		normalized_next = (normalized_next + 1) % NORMALIZED_CACHE;
		if (e->text)
		{
			pfree(e->text);
			pfree(e->normalized);
			e->text = NULL;
		}
		e->normalized = MemoryContextStrdup(TopMemoryContext, normalized);
		e->text = MemoryContextStrdup(TopMemoryContext, text);
		e->len = len;
		e->standard_strings = standard_conforming_strings;
	}
	return normalized;
}

/* The text of the statement a plan runs, as crm_privacy.access_log_query says. */
static char *
statement_text(QueryDesc *queryDesc)
{
	const char *src = queryDesc->sourceText;
	int			loc = queryDesc->plannedstmt->stmt_location;
	int			len = queryDesc->plannedstmt->stmt_len;
	int			total;
	char	   *text;

	if (src == NULL || access_log_query == QUERY_TEXT_NONE)
		return "";
	/* only this statement of a string of several */
	total = strlen(src);
	if (loc < 0 || loc > total)
		loc = 0;
	if (len <= 0 || len > total - loc)
		len = total - loc;
	text = pnstrdup(src + loc, len);
	return access_log_query == QUERY_TEXT_FULL ? text : normalized_text(text, strlen(text));
}

/*
 * Names as JSON arrays of at most RELATIONS_MAX bytes each: as many arrays as
 * it takes, so that no name is ever left out (a record is written for each).
 * JSON escaping keeps a name with a newline, a quote or a comma one element;
 * a single name too long for a record (only function reads can give one) is
 * cut at a character boundary and ends in "...".
 */
static List *
relations_arrays(List *names)
{
	List	   *arrays = NIL;
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	foreach(lc, names)
	{
		const char *name = (const char *) lfirst(lc);
		StringInfoData one;

		initStringInfo(&one);
		escape_json(&one, name);
		if (one.len + 3 > RELATIONS_MAX)
		{
			int			keep = pg_mbcliplen(name, strlen(name), RELATIONS_MAX / 8);

			resetStringInfo(&one);
			escape_json(&one, psprintf("%.*s...", keep, name));
		}
		/* the separator, the closing bracket and the terminating zero */
		if (buf.len > 1 && buf.len + one.len + 3 > RELATIONS_MAX)
		{
			appendStringInfoChar(&buf, ']');
			arrays = lappend(arrays, buf.data);
			initStringInfo(&buf);
			appendStringInfoChar(&buf, '[');
		}
		if (buf.len > 1)
			appendStringInfoChar(&buf, ',');
		appendStringInfoString(&buf, one.data);
		pfree(one.data);
	}
	appendStringInfoChar(&buf, ']');
	return lappend(arrays, buf.data);
}

/* Queue a record, and a copy of it for each further relations array. */
static void
queue_records(AccessRecord *rec, List *more)
{
	ListCell   *lc;

	crm_access_queue(rec);
	foreach(lc, more)
	{
		AccessRecord *copy = palloc(sizeof(AccessRecord));

		memcpy(copy, rec, sizeof(AccessRecord));
		copy_clipped(copy->relations, (const char *) lfirst(lc), RELATIONS_MAX);
		crm_access_queue(copy);
		pfree(copy);
	}
}

/* Record a read now (a function's privileged read): no row count. */
static void
record_read_now(List *names)
{
	AccessRecord rec;
	List	   *arrays = relations_arrays(names);

	fill_record(&rec, (const char *) linitial(arrays),
				access_log_query == QUERY_TEXT_NONE ? "" :
				access_log_query == QUERY_TEXT_FULL ? debug_query_string :
				normalize_query(debug_query_string ? debug_query_string : ""),
				GetUserId());
	queue_records(&rec, list_delete_first(arrays));
}

/*
 * A view changed or went: its cache entry is rebuilt when next needed
 * (called by crm_privacy.c's relcache callback).
 */
void
crm_read_audit_relcache(Oid relid)
{
	HASH_SEQ_STATUS status;
	ViewInfo   *v;

	if (view_cache == NULL)
		return;
	if (OidIsValid(relid))
	{
		v = hash_search(view_cache, &relid, HASH_FIND, NULL);
		if (v)
			v->valid = false;
		return;
	}
	hash_seq_init(&status, view_cache);
	while ((v = hash_seq_search(&status)) != NULL)
		v->valid = false;
}

/* Is nspname the schema of a kind of generated view (views.c)? */
static bool
generated_schema(const char *nspname)
{
	return strcmp(nspname, "privacy_standard") == 0 || strcmp(nspname, "privacy_full") == 0 ||
		strcmp(nspname, "privacy_anon") == 0 ||
		strncmp(nspname, "privacy_optout_", 15) == 0 ||
		strncmp(nspname, "privacy_disclose_", 17) == 0;
}

/* The level a column's label gives it (unlabelled: the default label's). */
static int
column_level(Oid relid, AttrNumber attnum)
{
	ObjectAddress addr;
	char	   *label;
	CrmColumnLabel cl;

	ObjectAddressSubSet(addr, RelationRelationId, relid, attnum);
	label = GetSecurityLabel(&addr, CRM_PROVIDER);
	if (label == NULL)
		crm_default_column_label(&cl);
	else
		crm_parse_column_label(label, &cl);
	return (int) cl.level;
}

/* Is node the generated views' "(SELECT privacy.clearance_level())"? */
static bool
is_clearance_sublink(Node *node)
{
	SubLink    *sl = (SubLink *) node;
	Query	   *sq;
	TargetEntry *tle;
	Oid			fn;
	char	   *name;

	if (!IsA(node, SubLink) || sl->subLinkType != EXPR_SUBLINK || !IsA(sl->subselect, Query))
		return false;
	sq = (Query *) sl->subselect;
	if (sq->commandType != CMD_SELECT || sq->rtable != NIL || sq->cteList != NIL ||
		list_length(sq->targetList) != 1 || sq->hasAggs || sq->hasWindowFuncs ||
		sq->hasTargetSRFs || sq->hasSubLinks || sq->setOperations != NULL ||
		(sq->jointree != NULL && (sq->jointree->fromlist != NIL || sq->jointree->quals != NULL)) ||
		sq->groupClause != NIL || sq->groupingSets != NIL || sq->havingQual != NULL ||
		sq->limitCount != NULL || sq->limitOffset != NULL)
		return false;
	tle = (TargetEntry *) linitial(sq->targetList);
	if (!IsA(tle->expr, FuncExpr) || ((FuncExpr *) tle->expr)->args != NIL)
		return false;
	fn = ((FuncExpr *) tle->expr)->funcid;
	name = get_func_name(fn);
	return name != NULL && strcmp(name, "clearance_level") == 0 &&
		get_func_namespace(fn) == get_namespace_oid(CRM_SCHEMA, true);
}

/*
 * The clearance a condition of a CASE asks of the reader: N for the
 * generated views' "(SELECT privacy.clearance_level()) >= N" (or, in views
 * built by version 0.1, "crm.level >= N"), none for any other condition.
 */
static int
condition_clearance(Node *cond)
{
	OpExpr	   *op = (OpExpr *) cond;
	Const	   *c;
	char	   *opname;

	if (!IsA(cond, OpExpr) || list_length(op->args) != 2 ||
		!(IsA(linitial(op->args), Var) || is_clearance_sublink((Node *) linitial(op->args))) ||
		!IsA(lsecond(op->args), Const))
		return CRM_LEVEL_PUBLIC;
	c = (Const *) lsecond(op->args);
	opname = get_opname(op->opno);
	if (c->constisnull || c->consttype != INT4OID || opname == NULL || strcmp(opname, ">=") != 0)
		return CRM_LEVEL_PUBLIC;
	return Max(CRM_LEVEL_PUBLIC, Min(DatumGetInt32(c->constvalue), NEVER_CLEAR));
}

/*
 * Who sees the value of a view's output expression in clear: a plain column
 * of a table to everyone, through a CASE to the readers its conditions let
 * through, anything else (a masking function, a NULL) to no one.  Sets
 * *relid and *attnum to the table column shown.
 */
static int
clear_from(Query *q, Node *expr, Oid *relid, AttrNumber *attnum, int depth)
{
	check_stack_depth();
	if (expr == NULL || depth > 16)
		return NEVER_CLEAR;
	if (IsA(expr, RelabelType))
		return clear_from(q, (Node *) ((RelabelType *) expr)->arg, relid, attnum, depth + 1);
	if (IsA(expr, Var))
	{
		Var		   *var = (Var *) expr;
		RangeTblEntry *rte;

		if (var->varlevelsup != 0 || var->varattno <= 0 || var->varno < 1 ||
			var->varno > list_length(q->rtable))
			return NEVER_CLEAR;
		rte = rt_fetch(var->varno, q->rtable);
		if (rte->rtekind == RTE_RELATION)
		{
			*relid = rte->relid;
			*attnum = var->varattno;
			return CRM_LEVEL_PUBLIC;
		}
		if (rte->rtekind == RTE_SUBQUERY)
		{
			TargetEntry *tle = get_tle_by_resno(rte->subquery->targetList, var->varattno);

			return tle ? clear_from(rte->subquery, (Node *) tle->expr, relid, attnum, depth + 1)
				: NEVER_CLEAR;
		}
		return NEVER_CLEAR;
	}
	if (IsA(expr, CaseExpr) && ((CaseExpr *) expr)->arg == NULL)
	{
		CaseExpr   *ce = (CaseExpr *) expr;
		int			best = clear_from(q, (Node *) ce->defresult, relid, attnum, depth + 1);
		ListCell   *lc;

		foreach(lc, ce->args)
		{
			CaseWhen   *w = (CaseWhen *) lfirst(lc);
			Oid			r = InvalidOid;
			AttrNumber	a = 0;
			int			from = Max(condition_clearance((Node *) w->expr),
								   clear_from(q, (Node *) w->result, &r, &a, depth + 1));

			if (from < best)
			{
				best = from;
				*relid = r;
				*attnum = a;
			}
		}
		return best;
	}
	return NEVER_CLEAR;
}

/* Describe a view for the read audit (v->relid set). */
static void
describe_view(ViewInfo *v)
{
	Oid			nspid = get_rel_namespace(v->relid);
	char	   *nspname = get_namespace_name(nspid);
	char	   *relname = get_rel_name(v->relid);
	Relation	rel;
	Query	   *q;
	Oid			described = v->relid;

	v->ours = v->full = false;
	v->natts = 0;
	v->cols = NULL;
	v->name = NULL;

	/* a snapshot's view (snapshot.c) shows what its live view shows */
	if (nspname != NULL && relname != NULL && strncmp(nspname, "privacy_snapshot_", 17) == 0)
	{
		char	   *live = psprintf("privacy_%s", nspname + 17);

		if (generated_schema(live) && strcmp(live, "privacy_full") != 0 &&
			OidIsValid(get_namespace_oid(live, true)))
		{
			described = get_relname_relid(relname, get_namespace_oid(live, true));
			if (!OidIsValid(described) || !crm_is_extension_member(RelationRelationId, described))
				described = InvalidOid;
		}
		else
			described = InvalidOid;
	}
	if (nspname == NULL || relname == NULL || !OidIsValid(described) ||
		(described == v->relid && !generated_schema(nspname)) ||
		!crm_is_extension_member(RelationRelationId, v->relid))
		return;
	v->ours = true;
	v->full = (strcmp(nspname, "privacy_full") == 0);
	v->name = MemoryContextStrdup(CacheMemoryContext, quote_qualified_identifier(nspname, relname));
	if (v->full)
		return;					/* every read is recorded */

	rel = relation_open(described, AccessShareLock);
	q = get_view_query(rel);
	v->natts = RelationGetNumberOfAttributes(rel);
	v->cols = MemoryContextAllocZero(CacheMemoryContext, sizeof(ViewColumn) * Max(v->natts, 1));
	for (int i = 0; i < v->natts; i++)
	{
		TargetEntry *tle = get_tle_by_resno(q->targetList, i + 1);
		Oid			relid = InvalidOid;
		AttrNumber	attnum = 0;

		v->cols[i].clear_from = tle ? clear_from(q, (Node *) tle->expr, &relid, &attnum, 0) : NEVER_CLEAR;
		v->cols[i].level = (v->cols[i].clear_from < NEVER_CLEAR && OidIsValid(relid))
			? column_level(relid, attnum) : CRM_LEVEL_PUBLIC;
	}
	relation_close(rel, AccessShareLock);
}

/* The read audit's view of relid (a view), from the cache. */
static ViewInfo *
view_info(Oid relid)
{
	ViewInfo   *v;
	bool		found;

	if (view_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(ViewInfo);
		ctl.hcxt = CacheMemoryContext;
		view_cache = hash_create("crm_privacy read audit views", 64, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	v = hash_search(view_cache, &relid, HASH_ENTER, &found);
	if (found && v->valid)
		return v;
	if (found)
	{
		if (v->name)
			pfree(v->name);
		if (v->cols)
			pfree(v->cols);
	}
	v->name = NULL;
	v->cols = NULL;
	v->ours = false;
	v->valid = true;			/* an invalidation while describing clears it */
	PG_TRY();
	{
		describe_view(v);
	}
	PG_CATCH();
	{
		hash_search(view_cache, &relid, HASH_REMOVE, NULL);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return v;
}

/*
 * Does the reader see a selected column of level >= the setting in clear?
 * *potential is set when some reader could (a higher clearance).
 */
static bool
clear_read(ViewInfo *v, Bitmapset *selected, int *reader, bool *potential)
{
	bool		whole_row = bms_is_member(InvalidAttrNumber - FirstLowInvalidHeapAttributeNumber,
										  selected);

	for (int i = 0; i < v->natts; i++)
	{
		if (v->cols[i].clear_from == NEVER_CLEAR || v->cols[i].level < record_clear_level ||
			(!whole_row && !bms_is_member(i + 1 - FirstLowInvalidHeapAttributeNumber, selected)))
			continue;
		*potential = true;
		if (*reader < 0)
			*reader = (int) crm_clearance_of(GetUserId());
		if (*reader >= v->cols[i].clear_from)
			return true;
	}
	return false;
}

/*
 * The recorded views a plan reads, as a list of names, or NIL: every
 * privacy_full view it is checked for SELECT on, and every other generated
 * view from which it selects a column the reader sees in clear at or above
 * crm_privacy.record_clear_level.  *potential: a reader of higher clearance
 * would see such a column in clear.  reader: the clearance to assume, or
 * -1 for the current user's.
 */
static List *
recorded_views(PlannedStmt *stmt, bool *potential, int reader)
{
	List	   *names = NIL;
	List	   *seen = NIL;
	ListCell   *lc;

	foreach(lc, crm_plan_perm_infos(stmt))
	{
		RTEPermissionInfo *perm = (RTEPermissionInfo *) lfirst(lc);
		ViewInfo   *v;

#if PG_VERSION_NUM < 160000
		if (perm->rtekind != RTE_RELATION)
			continue;
#endif
		if (!(perm->requiredPerms & ACL_SELECT) || !OidIsValid(perm->relid) ||
			list_member_oid(seen, perm->relid) || get_rel_relkind(perm->relid) != RELKIND_VIEW)
			continue;
		v = view_info(perm->relid);
		if (!v->ours || !(v->full || clear_read(v, perm->selectedCols, &reader, potential)))
			continue;
		seen = lappend_oid(seen, perm->relid);
		names = lappend(names, pstrdup(v->name));
	}
	list_free(seen);
	return names;
}

/* The recorded read of the query whose executor state is estate, if any. */
static ActiveRead *
active_read_of(EState *estate)
{
	dlist_iter	iter;

	dlist_foreach(iter, &active_reads)
	{
		ActiveRead *a = dlist_container(ActiveRead, node, iter.cur);

		if (a->estate == estate)
			return a;
	}
	return NULL;
}

/*
 * The rows a generated view produces are counted where they leave it, or,
 * for the views the planner flattens, where they are read.
 *
 * A standard or full view is flattened into the reader's query, and a
 * condition of the reader's (its own function, say) may be evaluated in the
 * scan of the view's table, on every row the scan reads.  So the rows of
 * those views are counted before any condition: the planner hook puts
 * privacy.view_row('schema.view') first in the filter of every scan of a
 * table the plan names by a flattened view's schema ("customer
 * privacy_standard", views.c), and each call counts one row for that view
 * (crm_view_row).  Only an index condition, which only the table's own
 * operator classes evaluate, comes before it: the rows it excludes are never
 * read.
 *
 * The other views filter rows (opt-outs, k-anonymity) and stay security
 * barriers: a reader's condition that is not leakproof runs only above them.
 * They end in privacy.view_rows('schema.view'), which has no column and is
 * not volatile, so the planner makes it a one-time filter of a Result node at
 * the top of the view's plan (above its joins; views.c).  At ExecutorStart of
 * a query that is or may be a recorded read, those Result nodes get
 * count_view_rows as their ExecProcNodeReal (EXPLAIN ANALYZE's
 * instrumentation still wraps it), which counts each row they return.
 *
 * The record's row_count is the sum over the views it records (not over the
 * other views of the statement).  A parallel worker running its part of the
 * leader's plan counts the rows of the views the leader records (it finds
 * them as the leader does, with the same user) and adds them to its
 * leader's count (accesslog.c) every WORKER_BATCH rows and when its part
 * ends or fails; the leader takes that count when its run ends (its workers
 * have finished), or when it sends the record of a run that failed (the
 * workers were stopped before).  So row_count is the rows the views produced
 * or had read, summed over every run, whatever the statement did with them:
 * count(*) counts every row, a cursor every row its FETCHes pulled through
 * the view, a PL/pgSQL loop every row it took, a writable CTE every row it
 * copied.  (Calling privacy.view_row() or view_rows() oneself, or naming a
 * table one may read oneself privacy_standard, only adds rows to one's own
 * record.)
 */
typedef struct ViewTop
{
	PlanState  *ps;				/* the Result node; NULL: a flattened view's counter */
	ExecProcNodeMtd exec;		/* its own ExecProcNodeReal */
	const char *name;			/* its view, schema.view quoted */
	uint64		rows;
} ViewTop;

#define WORKER_BATCH 1024

static List *worker_names = NIL;	/* in a parallel worker: the views to count */
static List *worker_tops = NIL;		/* ... the Result nodes where it counts them */
static uint64 worker_unsent = 0;	/* ... rows not yet added to the leader's */

/*
 * A parallel worker's part of the plan ends, or fails: add its last rows to
 * its leader's count.  (A leader whose run fails waits for its workers to
 * exit, which aborts their transactions, before it sends the record.)
 */
static void
worker_rows_flush(void)
{
	if (!IsParallelWorker())
		return;
	if (worker_unsent > 0)
		crm_access_worker_rows_add(worker_unsent);
	worker_unsent = 0;
	worker_tops = NIL;
}

/* One more row in a parallel worker. */
static inline void
worker_row(void)
{
	if (++worker_unsent >= WORKER_BATCH)
	{
		crm_access_worker_rows_add(worker_unsent);
		worker_unsent = 0;
	}
}

/* The ViewTop of a counting Result node (there is one: count_view_tops set it). */
static ViewTop *
view_top_of(PlanState *ps, ActiveRead *a)
{
	ListCell   *lc;

	foreach(lc, a ? a->tops : worker_tops)
	{
		ViewTop    *top = (ViewTop *) lfirst(lc);

		if (top->ps == ps)
			return top;
	}
	elog(ERROR, "crm_privacy: no row counter for plan node %d", (int) nodeTag(ps));
	pg_unreachable();
}

static TupleTableSlot *
count_view_rows(PlanState *ps)
{
	ActiveRead *a = active_read_of(ps->state);	/* only a worker's part of a plan has none */
	ViewTop    *top = view_top_of(ps, a);
	TupleTableSlot *slot = top->exec(ps);

	if (!TupIsNull(slot))
	{
		top->rows++;
		if (a == NULL)
			worker_row();
	}
	return slot;
}

/* Is name in names (C strings)? */
static bool
name_in(const char *name, List *names)
{
	ListCell   *lc;

	foreach(lc, names)
		if (strcmp((const char *) lfirst(lc), name) == 0)
			return true;
	return false;
}

/* The rows the views of a's record produced. */
static uint64
read_rows(ActiveRead *a)
{
	uint64		rows = a->rows;
	ListCell   *lc;

	foreach(lc, a->tops)
	{
		ViewTop    *top = (ViewTop *) lfirst(lc);

		if (name_in(top->name, a->names))
			rows += top->rows;
	}
	return rows;
}

/*
 * The OIDs of privacy.view_rows(text) and privacy.view_row(text), or
 * InvalidOid; looked up once, again after any change to pg_proc (CREATE or
 * DROP EXTENSION, ALTER EXTENSION UPDATE).
 */
static Oid	view_rows_oid = InvalidOid;
static Oid	view_row_oid = InvalidOid;
static bool view_functions_known = false;

static void
view_functions_syscache(Datum arg pg_attribute_unused(), int cacheid pg_attribute_unused(),
						uint32 hashvalue pg_attribute_unused())
{
	view_functions_known = false;
}

static Oid
text_function(Oid nsp, const char *name)
{
	Oid			argtype = TEXTOID;

	return GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid, CStringGetDatum(name),
						   PointerGetDatum(buildoidvector(&argtype, 1)), ObjectIdGetDatum(nsp));
}

static void
view_functions(void)
{
	if (!view_functions_known)
	{
		Oid			nsp = get_namespace_oid(CRM_SCHEMA, true);

		view_rows_oid = OidIsValid(nsp) ? text_function(nsp, "view_rows") : InvalidOid;
		view_row_oid = OidIsValid(nsp) ? text_function(nsp, "view_row") : InvalidOid;
		view_functions_known = true;
	}
}

static Oid
view_rows_function(void)
{
	view_functions();
	return view_rows_oid;
}

typedef struct CountContext
{
	Oid			fn;				/* privacy.view_rows(text) */
	ActiveRead *a;				/* the leader's read, or NULL in a worker */
} CountContext;

/*
 * planstate_tree_walker: make the Result nodes of view_rows() count, in a
 * worker only those of the views the leader records.
 */
static bool
count_view_tops(PlanState *ps, void *context)
{
	CountContext *cx = (CountContext *) context;

	if (ps == NULL)
		return false;
	if (IsA(ps, ResultState) && ps->ExecProcNodeReal != count_view_rows)
	{
		ListCell   *lc;

		foreach(lc, (List *) ((Result *) ps->plan)->resconstantqual)
		{
			FuncExpr   *f = (FuncExpr *) lfirst(lc);
			char	   *name;
			ViewTop    *top;

			if (!IsA(f, FuncExpr) || f->funcid != cx->fn || list_length(f->args) != 1 ||
				!IsA(linitial(f->args), Const) || ((Const *) linitial(f->args))->constisnull)
				continue;
			name = TextDatumGetCString(((Const *) linitial(f->args))->constvalue);
			if (cx->a == NULL && !name_in(name, worker_names))
				break;
			top = palloc0(sizeof(ViewTop));
			top->ps = ps;
			top->exec = ps->ExecProcNodeReal;
			top->name = name;
			if (cx->a)
				cx->a->tops = lappend(cx->a->tops, top);
			else
				worker_tops = lappend(worker_tops, top);
			ExecSetExecProcNode(ps, count_view_rows);
			break;
		}
	}
	return planstate_tree_walker(ps, count_view_tops, context);
}

/* Make the places where a query's generated views' rows leave them count. */
static void
count_view_rows_of(QueryDesc *queryDesc, ActiveRead *a)
{
	CountContext cx;

	cx.fn = view_rows_function();
	cx.a = a;
	if (OidIsValid(cx.fn) && queryDesc->planstate)
	{
		MemoryContext old = MemoryContextSwitchTo(queryDesc->estate->es_query_cxt);

		(void) count_view_tops(queryDesc->planstate, &cx);
		MemoryContextSwitchTo(old);
	}
}

/*
 * The planner hook: put privacy.view_row('schema.view') first in the filter
 * of every scan of a table named by a flattened view's schema.
 */
static planner_hook_type prev_planner = NULL;

/* The flattened view a scan of relid, named alias, reads, or NULL. */
static char *
flattened_view_name(Oid relid, const char *alias)
{
	Oid			nsp;
	char	   *relname;
	List	   *tables;
	ListCell   *lc;

	if (strcmp(alias, "privacy_standard") != 0 && strcmp(alias, "privacy_full") != 0)
		return NULL;
	nsp = get_namespace_oid(alias, true);
	if (!OidIsValid(nsp))
		return NULL;
	/* the table; for a partition or inheritance child, the ancestor labelled */
	relname = get_rel_name(relid);
	if (relname && OidIsValid(get_relname_relid(relname, nsp)))
		return quote_qualified_identifier(alias, relname);
	tables = get_partition_ancestors(relid);
	foreach(lc, tables)
	{
		relname = get_rel_name(lfirst_oid(lc));
		if (relname && OidIsValid(get_relname_relid(relname, nsp)))
			return quote_qualified_identifier(alias, relname);
	}
	return NULL;
}

/*
 * What the planner hook walks the plan for: first the range-table entries
 * that some node scans, then (marking) the scans to count at.
 */
typedef struct MarkContext
{
	PlannedStmt *stmt;
	Oid			fn;				/* privacy.view_row(text) */
	bool		marking;		/* false: collect scanned */
	Bitmapset  *scanned;		/* range-table indexes some scan reads */
	List	   *merged_names;	/* flattened views whose own scan is gone */
	List	   *merged_relids;	/* ... and their tables */
} MarkContext;

static Node *
view_row_call(Oid fn, const char *name)
{
	return (Node *) makeFuncExpr(fn, BOOLOID,
								 list_make1(makeConst(TEXTOID, -1, InvalidOid, -1,
													  CStringGetTextDatum(name), false, false)),
								 InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
}

static void
mark_view_scans(Plan *plan, MarkContext *cx)
{
	ListCell   *lc;

	if (plan == NULL)
		return;
	check_stack_depth();
	switch (nodeTag(plan))
	{
		case T_SeqScan:
		case T_SampleScan:
		case T_IndexScan:
		case T_IndexOnlyScan:
		case T_BitmapHeapScan:
		case T_TidScan:
		case T_TidRangeScan:
		case T_ForeignScan:
		case T_CustomScan:
			{
				Index		scanrelid = ((Scan *) plan)->scanrelid;
				RangeTblEntry *rte = scanrelid > 0 ? rt_fetch(scanrelid, cx->stmt->rtable) : NULL;
				char	   *name;
				ListCell   *m;
				ListCell   *r;

				if (!cx->marking)
				{
					if (scanrelid > 0)
						cx->scanned = bms_add_member(cx->scanned, scanrelid);
					break;
				}
				if (rte == NULL || rte->rtekind != RTE_RELATION)
					break;
				/* the views merged into this scan (self-join elimination), then its own */
				forboth(m, cx->merged_names, r, cx->merged_relids)
				{
					if (lfirst_oid(r) == rte->relid)
						plan->qual = lcons(view_row_call(cx->fn, (char *) lfirst(m)), plan->qual);
				}
				if (rte->eref && (name = flattened_view_name(rte->relid, rte->eref->aliasname)) != NULL)
					plan->qual = lcons(view_row_call(cx->fn, name), plan->qual);
				break;
			}
		case T_Append:
			foreach(lc, ((Append *) plan)->appendplans)
				mark_view_scans((Plan *) lfirst(lc), cx);
			break;
		case T_MergeAppend:
			foreach(lc, ((MergeAppend *) plan)->mergeplans)
				mark_view_scans((Plan *) lfirst(lc), cx);
			break;
		case T_SubqueryScan:
			mark_view_scans(((SubqueryScan *) plan)->subplan, cx);
			break;
		default:
			break;
	}
	if (IsA(plan, CustomScan))
		foreach(lc, ((CustomScan *) plan)->custom_plans)
			mark_view_scans((Plan *) lfirst(lc), cx);
	mark_view_scans(plan->lefttree, cx);
	mark_view_scans(plan->righttree, cx);
}

static void
mark_all(MarkContext *cx)
{
	ListCell   *lc;

	mark_view_scans(cx->stmt->planTree, cx);
	foreach(lc, cx->stmt->subplans)
		mark_view_scans((Plan *) lfirst(lc), cx);
}

/*
 * The clearance each reader's view asks, "(SELECT privacy.clearance_level())"
 * in the CASE of every clearance-dependent column (views.c), is decided when
 * the query is planned: the planner hook replaces it by the planning user's
 * clearance, so the CASE folds to the column or to its mask and the plan
 * has no subplan for it (planning 11 of them cost more than a key lookup,
 * and an initplan's value is opaque to the planner).  This is what
 * PostgreSQL does with row-level security policies: the plan depends on the
 * role (dependsOnRole: the plan cache plans again for another user), and
 * every plan is forgotten when a clearance or a membership changes (roles.c,
 * masking.c).  Without the library preloaded the hook is not there and the
 * initplan decides at run time, with the same result.
 *
 * The plan also carries the planning user, as a PlanInvalItem on its
 * pg_authid row (nothing in PostgreSQL matches those; the plan cache is
 * reset by masking.c's callback instead): the read audit takes the
 * clearance of the user the plan was made for (plan_reader).  (A parallel
 * worker's copy of the plan has no such items: it counts rows for the views
 * its user's clearance records, which may be fewer than its leader records
 * for a plan made for another user; the read is recorded all the same.)
 */
typedef struct FoldContext
{
	Oid			user;			/* the planning user */
	int32		level;			/* its clearance, once needed (else -1) */
	int			found;			/* sublinks replaced */
} FoldContext;

/*
 * Replace in place each "(SELECT privacy.clearance_level())" that is an
 * operand of an operator (the views' "... >= N") by the planning user's
 * clearance.  (The planner scribbles on its input: a caller that keeps a
 * query passes a copy, and the rewriter expanded the views from copies of
 * their rules.)  Then simplify the target list of each query where it did,
 * as the planner would after pulling the view up into the reader's query:
 * a column the reader sees masked or NULL loses its CASE, a sensitive
 * column below the clearance its opt-out subquery, before the planner
 * copies them into every place the reader's query uses them.
 */
static bool
fold_clearance_sublinks(Node *node, FoldContext *cx)
{
	if (node == NULL)
		return false;
	if (IsA(node, OpExpr))
	{
		ListCell   *lc;

		foreach(lc, ((OpExpr *) node)->args)
		{
			if (!is_clearance_sublink((Node *) lfirst(lc)))
				continue;
			if (cx->level < 0)
				cx->level = (int32) crm_clearance_of(cx->user);
			lfirst(lc) = makeConst(INT4OID, -1, InvalidOid, sizeof(int32),
								   Int32GetDatum(cx->level), false, true);
			cx->found++;
		}
	}
	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;
		int			before = cx->found;
		bool		done = query_tree_walker(q, fold_clearance_sublinks, cx, 0);

		if (cx->found > before)
			q->targetList = (List *) eval_const_expressions(NULL, (Node *) q->targetList);
		return done;
	}
	return expression_tree_walker(node, fold_clearance_sublinks, cx);
}

/*
 * The clearance the read audit assumes for a plan run by the current user
 * (recorded_views): the user's own (-1), unless the plan's clearance was
 * decided for another user (a function run while planning changed the
 * role, say); then the highest, so that any column it may show in clear is
 * recorded.  *folded: its clearance was decided when it was made.
 */
static int
plan_reader(PlannedStmt *stmt, bool *folded)
{
	uint32		hash = GetSysCacheHashValue1(AUTHOID, ObjectIdGetDatum(GetUserId()));
	int			reader = -1;
	ListCell   *lc;

	*folded = false;
	foreach(lc, stmt->invalItems)
	{
		PlanInvalItem *item = (PlanInvalItem *) lfirst(lc);

		if (item->cacheId != AUTHOID)
			continue;
		*folded = true;
		reader = (item->hashValue == hash) ? -1 : (int) CRM_LEVEL_SECRET;
	}
	return reader;
}

static PlannedStmt *
access_planner(CRM_PLANNER_PARAMS)
{
	PlannedStmt *volatile stmt = NULL;
	MarkContext cx;
	ListCell   *lc;
	FoldContext fold;
	bool		strict;

	fold.user = GetUserId();
	fold.level = -1;
	fold.found = 0;
	(void) fold_clearance_sublinks((Node *) parse, &fold);
	strict = crm_stats_strict_begin(parse);
	PG_TRY();
	{
		stmt = prev_planner ? prev_planner(CRM_PLANNER_ARGS) : standard_planner(CRM_PLANNER_ARGS);
	}
	PG_FINALLY();
	{
		crm_stats_strict_end(strict);
	}
	PG_END_TRY();
	if (fold.found > 0)
	{
		PlanInvalItem *item = makeNode(PlanInvalItem);

		item->cacheId = AUTHOID;
		item->hashValue = GetSysCacheHashValue1(AUTHOID, ObjectIdGetDatum(fold.user));
		stmt->invalItems = lappend(stmt->invalItems, item);
		stmt->dependsOnRole = true;
	}

	view_functions();
	if (stmt->commandType == CMD_UTILITY || !OidIsValid(view_row_oid))
		return stmt;
	memset(&cx, 0, sizeof(cx));
	cx.stmt = stmt;
	cx.fn = view_row_oid;

	/*
	 * A flattened view's table that no node scans, though the query names
	 * it: the planner merged it into another scan of the same table (from
	 * PostgreSQL 18 on, a self-join on its key is eliminated: the full view
	 * joined with the standard view of the same table).  Its rows are read
	 * by that scan, and counted there too.  (A relation a join removed as
	 * useless is counted there too: more, never fewer.)
	 */
	mark_all(&cx);
	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);
		char	   *name;

		if (rte->rtekind != RTE_RELATION || rte->inh || rte->relkind != RELKIND_RELATION ||
			rte->eref == NULL || bms_is_member(foreach_current_index(lc) + 1, cx.scanned) ||
			(name = flattened_view_name(rte->relid, rte->eref->aliasname)) == NULL)
			continue;
		cx.merged_names = lappend(cx.merged_names, name);
		cx.merged_relids = lappend_oid(cx.merged_relids, rte->relid);
	}
	cx.marking = true;
	mark_all(&cx);
	return stmt;
}

/*
 * SQL: privacy.view_row(view text), first in the filter of every scan of a
 * flattened view's table: count one row read for that view, for the query
 * now running (in a parallel worker, for its leader), and return true.  The
 * counter is found at the first call of each scan and kept in fn_extra (the
 * query's memory).
 */
typedef struct RowCounter
{
	bool		resolved;
	uint64	   *rows;			/* the leader's counter, or NULL */
	bool		worker;			/* a worker counting for its leader */
} RowCounter;

PG_FUNCTION_INFO_V1(crm_view_row);
Datum
crm_view_row(PG_FUNCTION_ARGS)
{
	RowCounter *rc = (RowCounter *) fcinfo->flinfo->fn_extra;

	if (rc == NULL)
	{
		rc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(RowCounter));
		fcinfo->flinfo->fn_extra = rc;
	}
	if (!rc->resolved)
	{
		ActiveRead *a = running_estate ? active_read_of(running_estate) : NULL;
		char	   *name = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));

		if (a && name)
		{
			ListCell   *lc;
			ViewTop    *top = NULL;

			foreach(lc, a->tops)
			{
				ViewTop    *t = (ViewTop *) lfirst(lc);

				if (t->ps == NULL && strcmp(t->name, name) == 0)
					top = t;
			}
			if (top == NULL)
			{
				MemoryContext old = MemoryContextSwitchTo(a->estate->es_query_cxt);

				top = palloc0(sizeof(ViewTop));
				top->name = pstrdup(name);
				a->tops = lappend(a->tops, top);
				MemoryContextSwitchTo(old);
			}
			rc->rows = &top->rows;
		}
		else if (a == NULL && name && IsParallelWorker() && name_in(name, worker_names))
			rc->worker = true;
		rc->resolved = true;
	}
	if (rc->rows)
		(*rc->rows)++;
	else if (rc->worker)
		worker_row();
	PG_RETURN_BOOL(true);
}

/* The recorded read of a running query, or NULL. */
static ActiveRead *
active_read(QueryDesc *queryDesc)
{
	return queryDesc->estate ? active_read_of(queryDesc->estate) : NULL;
}

/*
 * Send a read, once, with the rows its views produced (for a query that
 * failed, those produced until then).
 */
static void
send_read(ActiveRead *a)
{
	if (a->sent)
		return;
	a->sent = true;
	if (a->pending)
		return;					/* it never became a read */
	/* counted where the views produce them: also those of a failed run */
	if (a->parallel)
		a->rows += crm_access_worker_rows_take();
	/*
	 * A query of views of distributed tables (citus.c) reads their rows on
	 * the worker nodes, which count nothing here: how many is not known.
	 */
	a->record.has_rows = !a->citus;
	a->record.row_count = a->record.has_rows ? (int64) read_rows(a) : 0;
	queue_records(&a->record, a->more);
}

/* Fill the record of a read of these views (catalogs must be readable). */
static void
start_read(ActiveRead *a, QueryDesc *queryDesc, List *names, Oid user)
{
	List	   *arrays = relations_arrays(names);
	MemoryContext old = MemoryContextSwitchTo(a->estate->es_query_cxt);
	ListCell   *lc;

	a->more = NIL;
	for (lc = lnext(arrays, list_head(arrays)); lc; lc = lnext(arrays, lc))
		a->more = lappend(a->more, pstrdup((const char *) lfirst(lc)));
	a->names = NIL;
	foreach(lc, names)
		a->names = lappend(a->names, pstrdup((const char *) lfirst(lc)));
	MemoryContextSwitchTo(old);
	fill_record(&a->record, (const char *) linitial(arrays), statement_text(queryDesc), user);
	a->pending = false;
}

/* After a run of a possible clear read: has the reader changed, is it one now? */
static void
recheck_read(ActiveRead *a, QueryDesc *queryDesc)
{
	bool		potential = false;
	bool		folded;
	List	   *names;

	if (a->folded || (GetUserId() == a->userid && crm_role_labels_generation() == a->generation))
		return;
	a->userid = GetUserId();
	a->generation = crm_role_labels_generation();
	names = recorded_views(queryDesc->plannedstmt, &potential, plan_reader(queryDesc->plannedstmt, &folded));
	if (names != NIL)
		start_read(a, queryDesc, names, GetUserId());
}

/*
 * privacy.clearance_level() ran: a generated view of the innermost running
 * query (its plan holds the view) is about to show columns as this
 * clearance allows.  If that query may be a clear read, it is checked now,
 * with that clearance and the current role, inside the run.  So a statement
 * that takes a clearance (set_config('role', ...)) before the view asks and
 * drops it again, or fails, before its run ends is still recorded.
 */
void
crm_read_audit_clearance_seen(int level)
{
	ActiveRead *a = running_estate ? active_read_of(running_estate) : NULL;
	bool		potential = false;
	List	   *names;

	if (a == NULL || !a->pending || a->query == NULL || level <= a->seen_level)
		return;
	a->seen_level = level;
	names = recorded_views(a->query->plannedstmt, &potential, level);
	if (names != NIL)
		start_read(a, a->query, names, GetUserId());
}

/* The query's memory goes: forget its read, and send it if not yet sent. */
static void
active_read_gone(void *arg)
{
	ActiveRead *a = (ActiveRead *) arg;

	dlist_delete(&a->node);
	send_read(a);
}

/*
 * When a transaction aborts, none of its queries will end: send their reads
 * now.  (Their memory may live on until the ROLLBACK of a transaction block,
 * which may never come before a crash.)
 */
static void
access_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	dlist_iter	iter;

	if (event != XACT_EVENT_ABORT && event != XACT_EVENT_PARALLEL_ABORT)
		return;
	worker_rows_flush();
	dlist_foreach(iter, &active_reads)
		send_read(dlist_container(ActiveRead, node, iter.cur));
}

/*
 * An EXPLAIN (without ANALYZE) of a recorded read: its record, of 0 rows,
 * is sent when the query's memory goes (active_read_gone), as a read's.
 */
static void
explained_read(QueryDesc *queryDesc, List *names)
{
	EState	   *estate = queryDesc->estate;
	ActiveRead *a = MemoryContextAlloc(estate->es_query_cxt, sizeof(ActiveRead));

	memset(a, 0, offsetof(ActiveRead, record));
	a->estate = estate;
	a->folded = true;			/* nothing runs: nothing to check again */
	a->userid = GetUserId();
	a->seen_level = -1;
	start_read(a, queryDesc, names, GetUserId());
	a->callback.func = active_read_gone;
	a->callback.arg = a;
	MemoryContextRegisterResetCallback(estate->es_query_cxt, &a->callback);
	dlist_push_head(&active_reads, &a->node);
}

/* ExecutorStart: note the queries that make recorded reads. */
static void
access_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	List	   *names;
	bool		potential = false;
	bool		folded;

	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	/*
	 * The leader records a parallel query, once (its workers' own queries
	 * are recorded by them), and the workers count the rows of the views in
	 * their part of its plan.  EXPLAIN without ANALYZE reads no row, but its
	 * estimates come from the statistics of the columns the views show in
	 * clear (their most common values, histogram bounds, an index's first
	 * and last entries), which a reader can bisect: it is recorded as a read
	 * of those views, of 0 rows.
	 */
	if (queryDesc->estate == NULL)
		return;
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
	{
		names = recorded_views(queryDesc->plannedstmt, &potential, plan_reader(queryDesc->plannedstmt, &folded));
		if (names != NIL)
			explained_read(queryDesc, names);
		return;
	}
	if (IsParallelWorker() && run_depth == 0)
	{
		worker_tops = NIL;
		worker_unsent = 0;
		worker_names = recorded_views(queryDesc->plannedstmt, &potential, plan_reader(queryDesc->plannedstmt, &folded));
		if (worker_names != NIL)
			count_view_rows_of(queryDesc, NULL);
		return;
	}
	names = recorded_views(queryDesc->plannedstmt, &potential, plan_reader(queryDesc->plannedstmt, &folded));
	if (names != NIL || potential)
	{
		EState	   *estate = queryDesc->estate;
		ActiveRead *a = MemoryContextAlloc(estate->es_query_cxt, sizeof(ActiveRead));

		/* all but the record, which start_read fills (most of it is room) */
		memset(a, 0, offsetof(ActiveRead, record));

		a->estate = estate;
		a->pending = true;
		a->folded = folded;
		a->citus = crm_citus_plan(queryDesc->plannedstmt);
		a->userid = GetUserId();
		a->generation = crm_role_labels_generation();
		a->seen_level = -1;
		a->query = queryDesc;
		a->parallel = queryDesc->plannedstmt->parallelModeNeeded;
		if (names != NIL)
			start_read(a, queryDesc, names, GetUserId());
		count_view_rows_of(queryDesc, a);
		a->callback.func = active_read_gone;
		a->callback.arg = a;
		MemoryContextRegisterResetCallback(estate->es_query_cxt, &a->callback);
		dlist_push_head(&active_reads, &a->node);
	}
}

/* Run the executor one level deeper (run_depth, running_estate). */
static void
run_nested(CRM_EXECUTOR_RUN_PARAMS)
{
	EState	   *volatile outer = running_estate;

	run_depth++;
	running_estate = queryDesc->estate;
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(CRM_EXECUTOR_RUN_ARGS);
		else
			standard_ExecutorRun(CRM_EXECUTOR_RUN_ARGS);
	}
	PG_FINALLY();
	{
		run_depth--;
		running_estate = outer;
	}
	PG_END_TRY();
}

/*
 * ExecutorRun: run one level deeper; a parallel leader takes its workers'
 * rows; a possible clear read is checked again.
 */
static void
access_ExecutorRun(CRM_EXECUTOR_RUN_PARAMS)
{
	ActiveRead *a = active_read(queryDesc);
	bool		leader = a && queryDesc->plannedstmt->parallelModeNeeded;

	if (leader)
		(void) crm_access_worker_rows_take();	/* none of this run's yet */
	run_nested(CRM_EXECUTOR_RUN_ARGS);
	if (a)
	{
		if (leader)
			a->rows += crm_access_worker_rows_take();
		if (a->pending)
			recheck_read(a, queryDesc);
	}
}

/* ExecutorEnd: send the read with the rows its views produced. */
static void
access_ExecutorEnd(QueryDesc *queryDesc)
{
	ActiveRead *a = active_read(queryDesc);

	if (a)
		send_read(a);
	else if (IsParallelWorker() && run_depth == 0)
		worker_rows_flush();	/* a worker's part of its leader's plan ends */
	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

/* Define the settings; install the hooks when the library is preloaded. */
void
crm_read_audit_init(void)
{
	DefineCustomBoolVariable("crm_privacy.require_access_log",
							 "Refuse reads of privacy_full views that cannot be recorded.",
							 "Without crm_privacy in shared_preload_libraries, reads of the full views cannot be recorded.",
							 &crm_require_access_log, true, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("crm_privacy.access_log_query",
							 "What privacy.access_log keeps of a recorded read's query text.",
							 "normalized: constants replaced by $n and comments dropped; full: the text as sent; none: nothing.",
							 &access_log_query, QUERY_TEXT_NORMALIZED, query_text_options,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("crm_privacy.record_clear_level",
							 "Record reads through any privacy view that show a column of this level or above in clear.",
							 NULL,
							 &record_clear_level, CRM_LEVEL_SECRET, level_options,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	if (!process_shared_preload_libraries_in_progress)
		return;

	crm_access_shmem_install();
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = access_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = access_ExecutorRun;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = access_ExecutorEnd;
	prev_planner = planner_hook;
	planner_hook = access_planner;
	RegisterXactCallback(access_xact_callback, NULL);
	CacheRegisterSyscacheCallback(PROCOID, view_functions_syscache, (Datum) 0);
	read_audit_active = true;
}

/* Refuse a read that cannot be recorded, unless a superuser said not to. */
static void
require_read_audit(void)
{
	if (!read_audit_active && crm_require_access_log)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("reads of privacy_full views cannot be recorded: crm_privacy is not in shared_preload_libraries"),
				 errhint("Add crm_privacy to shared_preload_libraries in postgresql.conf and restart the server; "
						 "or, to read unrecorded, a superuser can set crm_privacy.require_access_log = off.")));
}

/* SQL: privacy.read_audit_ready(), evaluated once per query by the full views. */
PG_FUNCTION_INFO_V1(crm_read_audit_ready);
Datum
crm_read_audit_ready(PG_FUNCTION_ARGS)
{
	require_read_audit();
	PG_RETURN_BOOL(true);
}

/*
 * SQL: privacy.view_rows(), the one-time filter that ends every generated
 * view (see count_view_rows): true.
 */
PG_FUNCTION_INFO_V1(crm_view_rows);
Datum
crm_view_rows(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(true);
}

/*
 * SQL: privacy.record_access(what text[]): record a privileged read done by a
 * function (subject_report, erase_subject).  EXECUTE revoked from PUBLIC.
 */
PG_FUNCTION_INFO_V1(crm_record_access);
Datum
crm_record_access(PG_FUNCTION_ARGS)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *names = NIL;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("what was read must not be null")));
	arr = PG_GETARG_ARRAYTYPE_P(0);
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("what was read must not contain nulls")));
		names = lappend(names, TextDatumGetCString(elems[i]));
	}
	require_read_audit();
	if (read_audit_active)
		record_read_now(names);
	PG_RETURN_VOID();
}
