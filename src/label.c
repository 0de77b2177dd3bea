/*-------------------------------------------------------------------------
 *
 * label.c
 *	  The crm_privacy security label provider: parsing and validation of
 *	  column, table, schema and role labels.
 *
 * Labels are words separated by white space.  A word is either bare
 * ("identifier", "subject", "trusted") or NAME=VALUE ("level=secret",
 * "mask=partial(3,4)", "key=customer_id").  White space inside parentheses
 * and double-quoted identifiers does not split words.  Keywords are matched
 * case-insensitively; identifiers follow SQL rules (unquoted ones are folded
 * to lower case, double-quoted ones are taken as written).
 *
 * The provider hook validates every label when it is set, so that what is
 * stored in pg_seclabel always parses.  Everything else in the extension
 * reads labels through the parse functions here, never as raw text.
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/label.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_seclabel.h"
#include "catalog/pg_type.h"
#include "commands/seclabel.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "parser/parse_oper.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

#include "crm_privacy.h"
#include "label.h"

/* Longest part of a label or word quoted in an error message, in bytes. */
#define SHOWN_MAX_LEN	120

#define COLUMN_HINT \
	"A column label is a class (public, identifier, quasi_identifier, personal or sensitive) " \
	"followed by optional words level=LEVEL, mask=RULE and anon=RULE; " \
	"subject and related labels go on tables."
#define TABLE_HINT \
	"A table label is \"subject key=COLUMN [k=N]\" or " \
	"\"related subject=SCHEMA.TABLE key=COLUMN [k=N]\"."
#define LEVEL_HINT \
	"Valid levels are public, internal, confidential and secret."
#define RULE_HINT \
	"Valid rules are keep, null, partial(F,L), email, phone, name, cn_id, card, pseudonym, " \
	"generalize(N), generalize(year|month|decade), noise(R), noise(N days|weeks|months|years) " \
	"and fn(schema.function)."
#define SCHEMA_HINT \
	"The only schema label is \"trusted\"."
#define ROLE_HINT \
	"A role label is any of \"clearance=LEVEL\", \"privacy_admin\" and \"masked\", with LEVEL one of public, internal, confidential and secret."

/*
 * Raise the standard "invalid label" error: the message quotes the label and
 * names the offending word; the caller adds a hint (and maybe a detail).
 */
#define LABEL_ERROR(label, problem, word, ...) \
	ereport(ERROR, \
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE), \
			 errmsg("invalid crm_privacy label \"%s\": %s \"%s\"", \
					shown(label), (problem), shown(word)), \
			 __VA_ARGS__))

/* One word of a label. */
typedef struct LabelWord
{
	char	   *text;			/* the word as written */
	char	   *name;			/* bare word or option name, lower-cased */
	char	   *value;			/* text after '=', NULL for a bare word */
} LabelWord;

/* Argument forms a rule takes. */
typedef enum RuleArgs
{
	ARGS_NONE,
	ARGS_PARTIAL,
	ARGS_GENERALIZE,
	ARGS_NOISE,
	ARGS_FN
} RuleArgs;

typedef struct RuleSpec
{
	const char *name;
	CrmRuleKind kind;
	RuleArgs	args;
} RuleSpec;

static const RuleSpec rule_specs[] = {
	{"keep", CRM_RULE_KEEP, ARGS_NONE},
	{"null", CRM_RULE_NULL, ARGS_NONE},
	{"partial", CRM_RULE_PARTIAL, ARGS_PARTIAL},
	{"email", CRM_RULE_EMAIL, ARGS_NONE},
	{"phone", CRM_RULE_PHONE, ARGS_NONE},
	{"name", CRM_RULE_NAME, ARGS_NONE},
	{"cn_id", CRM_RULE_CN_ID, ARGS_NONE},
	{"card", CRM_RULE_CARD, ARGS_NONE},
	{"pseudonym", CRM_RULE_PSEUDONYM, ARGS_NONE},
	{"generalize", CRM_RULE_GENERALIZE_STEP, ARGS_GENERALIZE},
	{"noise", CRM_RULE_NOISE_RATIO, ARGS_NOISE},
	{"fn", CRM_RULE_FN, ARGS_FN},
};

static const char *const level_names[] = {
	"public", "internal", "confidential", "secret"
};

static const char *const class_names[] = {
	"public", "identifier", "quasi_identifier", "personal", "sensitive"
};

/* Default level, mask and anon rule of each class, in CrmClass order. */
static const struct
{
	CrmLevel	level;
	CrmRuleKind mask;
	CrmRuleKind anon;
}			class_defaults[] = {
	{CRM_LEVEL_PUBLIC, CRM_RULE_KEEP, CRM_RULE_KEEP},
	{CRM_LEVEL_CONFIDENTIAL, CRM_RULE_NULL, CRM_RULE_NULL},
	{CRM_LEVEL_INTERNAL, CRM_RULE_NULL, CRM_RULE_NULL},
	{CRM_LEVEL_INTERNAL, CRM_RULE_NULL, CRM_RULE_KEEP},
	{CRM_LEVEL_SECRET, CRM_RULE_NULL, CRM_RULE_NULL},
};

static const char *const generalize_units[] = {"year", "month", "decade"};

/* Interval units of noise(N unit): accepted spellings and canonical (singular) form. */
static const struct
{
	const char *spelling;
	const char *canonical;
}			noise_units[] = {
	{"day", "day"}, {"days", "day"},
	{"week", "week"}, {"weeks", "week"},
	{"month", "month"}, {"months", "month"},
	{"year", "year"}, {"years", "year"},
};

/* Return text for an error message, clipped at a character boundary. */
static const char *
shown(const char *text)
{
	int			len = strlen(text);
	int			cut;

	if (len <= SHOWN_MAX_LEN)
		return text;
	cut = pg_mbcliplen(text, len, SHOWN_MAX_LEN);
	return psprintf("%.*s...", cut, text);
}

/* Is c white space that separates words? */
static inline bool
is_label_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Return the index of name in a list of words, or -1. */
static int
lookup_word(const char *name, const char *const *words, int nwords)
{
	for (int i = 0; i < nwords; i++)
	{
		if (strcmp(name, words[i]) == 0)
			return i;
	}
	return -1;
}

/* Lower-case ASCII letters of s in place; report whether s is [a-z_]+. */
static bool
downcase_keyword(char *s)
{
	if (*s == '\0')
		return false;
	for (char *p = s; *p; p++)
	{
		*p = pg_ascii_tolower((unsigned char) *p);
		if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
			return false;
	}
	return true;
}

/* Return a copy of s without leading and trailing white space. */
static char *
trimmed(const char *s)
{
	const char *end;

	while (is_label_space(*s))
		s++;
	end = s + strlen(s);
	while (end > s && is_label_space(end[-1]))
		end--;
	return pnstrdup(s, end - s);
}

/*
 * Split a label into words.  Refuses over-long labels, unbalanced
 * parentheses and unterminated quoted identifiers.
 *
 * The scan is byte by byte: every delimiter is ASCII, and in every server
 * encoding ASCII bytes never occur inside a multibyte character.
 */
static List *
split_label(const char *label)
{
	List	   *words = NIL;
	const char *p = label;
	size_t		len = strlen(label);

	if (len > CRM_LABEL_MAX_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid crm_privacy label \"%s\": too long (%zu bytes)",
						shown(label), len),
				 errhint("A label may be at most %d bytes long.", CRM_LABEL_MAX_LEN)));

	for (;;)
	{
		const char *start;
		const char *eq = NULL;
		int			depth = 0;
		bool		in_quotes = false;
		LabelWord  *w;

		while (is_label_space(*p))
			p++;
		if (*p == '\0')
			break;

		start = p;
		for (; *p && (in_quotes || depth > 0 || !is_label_space(*p)); p++)
		{
			if (*p == '"')
			{
				if (in_quotes && p[1] == '"')
					p++;		/* doubled quote inside a quoted identifier */
				else
					in_quotes = !in_quotes;
			}
			else if (in_quotes)
				continue;
			else if (*p == '(')
				depth++;
			else if (*p == ')' && --depth < 0)
				break;
			else if (*p == '=' && eq == NULL && depth == 0)
				eq = p;
		}

		w = palloc0(sizeof(LabelWord));
		if (depth < 0)
		{
			w->text = pnstrdup(start, p - start + 1);
			LABEL_ERROR(label, "unbalanced parenthesis in", w->text, errhint(RULE_HINT));
		}
		w->text = pnstrdup(start, p - start);
		if (in_quotes)
			LABEL_ERROR(label, "unterminated quoted identifier in", w->text,
						errhint("Double-quoted identifiers end with a double quote; write \"\" for a quote inside one."));
		if (depth > 0)
			LABEL_ERROR(label, "unbalanced parenthesis in", w->text, errhint(RULE_HINT));

		if (eq)
		{
			w->name = pnstrdup(start, eq - start);
			w->value = pnstrdup(eq + 1, p - eq - 1);
		}
		else
			w->name = pstrdup(w->text);

		/*
		 * A name that is not a keyword matches no word, so the parsers report
		 * it as unknown in the order the words come.
		 */
		(void) downcase_keyword(w->name);
		if (w->value && w->value[0] == '\0')
			LABEL_ERROR(label, "missing value in", w->text, errhint("Write NAME=VALUE with no spaces around the equals sign."));

		words = lappend(words, w);
	}
	return words;
}

/* Refuse an empty label. */
static void
check_not_empty(const char *label, List *words, const char *hint)
{
	if (words == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid crm_privacy label \"%s\": the label is empty", shown(label)),
				 errhint("%s", hint)));
}

/* Refuse a second occurrence of an option. */
static void
check_once(const char *label, const LabelWord *w, bool *seen)
{
	if (*seen)
		LABEL_ERROR(label, "duplicate word", w->text,
					errhint("Each word may appear only once in a label."));
	*seen = true;
}

/* Parse a count: plain decimal digits, at most 9 of them. */
static bool
parse_count(const char *s, int *out)
{
	int			v = 0;
	int			n = 0;

	for (; *s; s++, n++)
	{
		if (*s < '0' || *s > '9' || n >= 9)
			return false;
		v = v * 10 + (*s - '0');
	}
	if (n == 0)
		return false;
	*out = v;
	return true;
}

/* Is s a plain unsigned decimal number: digits, optionally .digits? */
static bool
is_plain_decimal(const char *s)
{
	int			before = 0;
	int			after = 0;

	for (; *s >= '0' && *s <= '9'; s++)
		before++;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			after++;
	return *s == '\0' && before > 0 && before + after <= 30 &&
		(after > 0 || s[-1] != '.');
}

/* Does a plain decimal number have a non-zero digit? */
static bool
decimal_is_positive(const char *s)
{
	for (; *s; s++)
	{
		if (*s >= '1' && *s <= '9')
			return true;
	}
	return false;
}

/* Parse an identifier list separated by dots, following SQL rules. */
static List *
parse_qualified_name(const char *value, int nparts)
{
	char	   *copy = pstrdup(value);
	List	   *names;

	if (!SplitIdentifierString(copy, '.', &names) || list_length(names) != nparts)
		return NIL;
	return names;
}

/* Parse level=LEVEL. */
static CrmLevel
parse_level(const char *label, const LabelWord *w)
{
	char	   *v = pstrdup(w->value);
	int			level;

	if (!downcase_keyword(v) ||
		(level = lookup_word(v, level_names, lengthof(level_names))) < 0)
		LABEL_ERROR(label, "unknown level", w->text, errhint(LEVEL_HINT));
	return (CrmLevel) level;
}

/* Parse the arguments of partial(F,L). */
static void
parse_partial_args(const char *label, const LabelWord *w, const char *args, CrmRule *rule)
{
	const char *comma = strchr(args, ',');
	char	   *first;
	char	   *last;

	if (comma == NULL)
		LABEL_ERROR(label, "bad arguments in", w->text,
					errdetail("partial() takes two whole numbers: characters kept at the start and at the end."),
					errhint(RULE_HINT));
	first = trimmed(pnstrdup(args, comma - args));
	last = trimmed(comma + 1);
	if (!parse_count(first, &rule->first) || !parse_count(last, &rule->last))
		LABEL_ERROR(label, "bad number in", w->text,
					errdetail("partial() takes two whole numbers from 0 to 999999999."),
					errhint(RULE_HINT));
}

/* Parse the argument of generalize(N) or generalize(year|month|decade). */
static void
parse_generalize_args(const char *label, const LabelWord *w, const char *args, CrmRule *rule)
{
	char	   *unit = pstrdup(args);
	int			i;

	if (downcase_keyword(unit))
	{
		if ((i = lookup_word(unit, generalize_units, lengthof(generalize_units))) < 0)
			LABEL_ERROR(label, "unknown unit in", w->text,
						errdetail("generalize() takes a positive step or one of year, month and decade."),
						errhint(RULE_HINT));
		rule->kind = CRM_RULE_GENERALIZE_UNIT;
		rule->unit = pstrdup(generalize_units[i]);
		return;
	}
	if (!is_plain_decimal(args) || !decimal_is_positive(args))
		LABEL_ERROR(label, "bad number in", w->text,
					errdetail("generalize() takes a positive step or one of year, month and decade."),
					errhint(RULE_HINT));
	rule->kind = CRM_RULE_GENERALIZE_STEP;
	rule->number = pstrdup(args);
}

/* Parse the argument of noise(R) or noise(N unit). */
static void
parse_noise_args(const char *label, const LabelWord *w, const char *args, CrmRule *rule)
{
	const char *sp = args;

	while (*sp && !is_label_space(*sp))
		sp++;
	if (*sp)
	{
		/* noise(N unit) */
		char	   *amount = pnstrdup(args, sp - args);
		char	   *unit = trimmed(sp);

		if (!parse_count(amount, &rule->amount))
			LABEL_ERROR(label, "bad number in", w->text,
						errdetail("noise() takes a ratio from 0 to 1 or a whole number of days, weeks, months or years."),
						errhint(RULE_HINT));
		if (downcase_keyword(unit))
		{
			for (size_t i = 0; i < lengthof(noise_units); i++)
			{
				if (strcmp(unit, noise_units[i].spelling) == 0)
				{
					rule->kind = CRM_RULE_NOISE_INTERVAL;
					rule->unit = pstrdup(noise_units[i].canonical);
					return;
				}
			}
		}
		LABEL_ERROR(label, "unknown unit in", w->text,
					errdetail("noise() intervals are in days, weeks, months or years."),
					errhint(RULE_HINT));
	}
	if (!is_plain_decimal(args) || strtod(args, NULL) > 1.0)
		LABEL_ERROR(label, "bad number in", w->text,
					errdetail("noise() takes a ratio from 0 to 1 or a whole number of days, weeks, months or years."),
					errhint(RULE_HINT));
	rule->kind = CRM_RULE_NOISE_RATIO;
	rule->number = pstrdup(args);
}

/* Parse mask=RULE or anon=RULE. */
static void
parse_rule(const char *label, const LabelWord *w, CrmRule *rule)
{
	const char *value = w->value;
	const char *open = strchr(value, '(');
	const RuleSpec *spec = NULL;
	char	   *name;
	char	   *args = NULL;

	memset(rule, 0, sizeof(CrmRule));
	if (open)
	{
		size_t		len = strlen(value);

		if (value[len - 1] != ')')
			LABEL_ERROR(label, "text after the closing parenthesis in", w->text, errhint(RULE_HINT));
		name = pnstrdup(value, open - value);
		args = trimmed(pnstrdup(open + 1, len - (open - value) - 2));
	}
	else
		name = pstrdup(value);

	if (downcase_keyword(name))
	{
		for (size_t i = 0; i < lengthof(rule_specs); i++)
		{
			if (strcmp(name, rule_specs[i].name) == 0)
				spec = &rule_specs[i];
		}
	}
	if (spec == NULL)
		LABEL_ERROR(label, "unknown rule", w->text, errhint(RULE_HINT));

	rule->kind = spec->kind;
	if (spec->args == ARGS_NONE)
	{
		if (args != NULL)
			LABEL_ERROR(label, "rule takes no arguments in", w->text, errhint(RULE_HINT));
		return;
	}
	if (args == NULL || args[0] == '\0')
		LABEL_ERROR(label, "missing arguments in", w->text, errhint(RULE_HINT));

	switch (spec->args)
	{
		case ARGS_PARTIAL:
			parse_partial_args(label, w, args, rule);
			break;
		case ARGS_GENERALIZE:
			parse_generalize_args(label, w, args, rule);
			break;
		case ARGS_NOISE:
			parse_noise_args(label, w, args, rule);
			break;
		case ARGS_FN:
			{
				List	   *names = parse_qualified_name(args, 2);

				if (names == NIL)
					LABEL_ERROR(label, "bad function name in", w->text,
								errdetail("fn() takes a schema-qualified function name, for example fn(privacy.mask_email)."),
								errhint(RULE_HINT));
				rule->fn_schema = pstrdup(linitial(names));
				rule->fn_name = pstrdup(lsecond(names));
				break;
			}
		case ARGS_NONE:
			break;
	}
}

/*
 * Parse a rule given on its own (a disclosure treatment); errors quote it as
 * the label.
 */
void
crm_parse_rule(const char *text, CrmRule *rule)
{
	LabelWord	w;

	if (strlen(text) > CRM_LABEL_MAX_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid crm_privacy rule \"%s\": too long", shown(text))));
	w.text = pstrdup(text);
	w.name = "treatment";
	w.value = trimmed(text);
	if (w.value[0] == '\0')
		LABEL_ERROR(text, "missing rule in", w.text, errhint(RULE_HINT));
	parse_rule(text, &w, rule);
}

/* Fill in the label of a column that has none: privacy by default. */
void
crm_default_column_label(CrmColumnLabel *out)
{
	memset(out, 0, sizeof(CrmColumnLabel));
	out->cls = CRM_CLASS_PERSONAL;
	out->level = class_defaults[CRM_CLASS_PERSONAL].level;
	out->mask.kind = CRM_RULE_NULL;
	out->anon.kind = CRM_RULE_NULL;
}

/* Parse a column label; fill in the defaults of its class. */
void
crm_parse_column_label(const char *label, CrmColumnLabel *out)
{
	List	   *words = split_label(label);
	bool		have_class = false;
	bool		have_level = false;
	bool		have_mask = false;
	bool		have_anon = false;
	ListCell   *lc;

	check_not_empty(label, words, COLUMN_HINT);
	memset(out, 0, sizeof(CrmColumnLabel));

	foreach(lc, words)
	{
		LabelWord  *w = (LabelWord *) lfirst(lc);

		if (w->value == NULL)
		{
			int			cls = lookup_word(w->name, class_names, lengthof(class_names));

			if (cls < 0)
				LABEL_ERROR(label, "unknown word", w->text, errhint(COLUMN_HINT));
			if (have_class)
				LABEL_ERROR(label, "second class", w->text,
							errhint("A column label has exactly one class."));
			have_class = true;
			out->cls = (CrmClass) cls;
		}
		else if (strcmp(w->name, "level") == 0)
		{
			check_once(label, w, &have_level);
			out->level = parse_level(label, w);
		}
		else if (strcmp(w->name, "mask") == 0)
		{
			check_once(label, w, &have_mask);
			parse_rule(label, w, &out->mask);
		}
		else if (strcmp(w->name, "anon") == 0)
		{
			check_once(label, w, &have_anon);
			parse_rule(label, w, &out->anon);
		}
		else
			LABEL_ERROR(label, "unknown word", w->text, errhint(COLUMN_HINT));
	}

	if (!have_class)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid crm_privacy label \"%s\": no class", shown(label)),
				 errhint(COLUMN_HINT)));
	if (!have_level)
		out->level = class_defaults[out->cls].level;
	if (!have_mask)
		out->mask.kind = class_defaults[out->cls].mask;
	if (!have_anon)
		out->anon.kind = class_defaults[out->cls].anon;
}

/* Parse a table label. */
void
crm_parse_table_label(const char *label, CrmTableLabel *out)
{
	List	   *words = split_label(label);
	LabelWord  *kind_word = NULL;
	bool		have_key = false;
	bool		have_subject = false;
	bool		have_k = false;
	ListCell   *lc;

	check_not_empty(label, words, TABLE_HINT);
	memset(out, 0, sizeof(CrmTableLabel));

	foreach(lc, words)
	{
		LabelWord  *w = (LabelWord *) lfirst(lc);

		if (w->value == NULL)
		{
			if (strcmp(w->name, "subject") != 0 && strcmp(w->name, "related") != 0)
				LABEL_ERROR(label, "unknown word", w->text, errhint(TABLE_HINT));
			if (kind_word != NULL)
				LABEL_ERROR(label, "second kind", w->text,
							errhint("A table label starts with exactly one of subject and related."));
			kind_word = w;
			out->related = (strcmp(w->name, "related") == 0);
		}
		else if (strcmp(w->name, "key") == 0)
		{
			List	   *names;

			check_once(label, w, &have_key);
			names = parse_qualified_name(w->value, 1);
			if (names == NIL)
				LABEL_ERROR(label, "bad column name in", w->text,
							errhint("Name the key column, for example key=customer_id."));
			out->key = pstrdup(linitial(names));
		}
		else if (strcmp(w->name, "subject") == 0)
		{
			List	   *names;

			check_once(label, w, &have_subject);
			names = parse_qualified_name(w->value, 2);
			if (names == NIL)
				LABEL_ERROR(label, "bad table name in", w->text,
							errhint("Name the subject table with its schema, for example subject=public.customer."));
			out->subject_schema = pstrdup(linitial(names));
			out->subject_name = pstrdup(lsecond(names));
		}
		else if (strcmp(w->name, "k") == 0)
		{
			check_once(label, w, &have_k);
			if (!parse_count(w->value, &out->k) || out->k < 2)
				LABEL_ERROR(label, "bad number in", w->text,
							errdetail("k must be a whole number of at least 2."),
							errhint(TABLE_HINT));
		}
		else
			LABEL_ERROR(label, "unknown word", w->text, errhint(TABLE_HINT));
	}

	if (kind_word == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid crm_privacy label \"%s\": no subject or related word", shown(label)),
				 errhint(TABLE_HINT)));
	if (!have_key)
		LABEL_ERROR(label, "missing key= after", kind_word->text, errhint(TABLE_HINT));
	if (out->related && !have_subject)
		LABEL_ERROR(label, "missing subject= after", kind_word->text, errhint(TABLE_HINT));
	if (!out->related && have_subject)
		LABEL_ERROR(label, "subject= needs \"related\", not", kind_word->text, errhint(TABLE_HINT));
}

/* Parse a role label: clearance=LEVEL, privacy_admin, masked, in any order. */
void
crm_parse_role_label(const char *label, CrmRoleLabel *out)
{
	List	   *words = split_label(label);
	ListCell   *lc;

	check_not_empty(label, words, ROLE_HINT);
	memset(out, 0, sizeof(CrmRoleLabel));
	foreach(lc, words)
	{
		LabelWord  *w = (LabelWord *) lfirst(lc);

		if (w->value != NULL && strcmp(w->name, "clearance") == 0)
		{
			check_once(label, w, &out->has_clearance);
			out->clearance = parse_level(label, w);
		}
		else if (w->value == NULL && strcmp(w->name, "privacy_admin") == 0)
			check_once(label, w, &out->privacy_admin);
		else if (w->value == NULL && strcmp(w->name, "masked") == 0)
			check_once(label, w, &out->masked);
		else
			LABEL_ERROR(label, "unknown word", w->text, errhint(ROLE_HINT));
	}
}

/* Canonical text of a role label; it parses back to the same label. */
char *
crm_role_label_to_string(const CrmRoleLabel *rl)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (rl->has_clearance)
		appendStringInfo(&buf, "clearance=%s", crm_level_name(rl->clearance));
	if (rl->privacy_admin)
		appendStringInfo(&buf, "%sprivacy_admin", buf.len > 0 ? " " : "");
	if (rl->masked)
		appendStringInfo(&buf, "%smasked", buf.len > 0 ? " " : "");
	return buf.data;
}

/* Parse a level given on its own (privacy.set_clearance). */
CrmLevel
crm_parse_level(const char *level)
{
	char	   *v = pstrdup(level);
	int			i;

	if (!downcase_keyword(v) ||
		(i = lookup_word(v, level_names, lengthof(level_names))) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid clearance level \"%s\"", shown(level)),
				 errhint(LEVEL_HINT)));
	return (CrmLevel) i;
}

/* Parse a schema label: trusted. */
void
crm_parse_schema_label(const char *label)
{
	List	   *words = split_label(label);
	LabelWord  *w;

	check_not_empty(label, words, SCHEMA_HINT);
	w = (LabelWord *) linitial(words);
	if (w->value != NULL || strcmp(w->name, "trusted") != 0)
		LABEL_ERROR(label, "unknown word", w->text, errhint(SCHEMA_HINT));
	if (list_length(words) > 1)
		LABEL_ERROR(label, "unknown word", ((LabelWord *) lsecond(words))->text,
					errhint(SCHEMA_HINT));
}

/* Name of a level. */
const char *
crm_level_name(CrmLevel level)
{
	return level_names[level];
}

/* Name of a class. */
const char *
crm_class_name(CrmClass cls)
{
	return class_names[cls];
}

/* Canonical text of a rule, as shown in privacy.labels. */
char *
crm_rule_to_string(const CrmRule *rule)
{
	switch (rule->kind)
	{
		case CRM_RULE_PARTIAL:
			return psprintf("partial(%d,%d)", rule->first, rule->last);
		case CRM_RULE_GENERALIZE_STEP:
		case CRM_RULE_NOISE_RATIO:
			return psprintf("%s(%s)",
							rule->kind == CRM_RULE_NOISE_RATIO ? "noise" : "generalize",
							rule->number);
		case CRM_RULE_GENERALIZE_UNIT:
			return psprintf("generalize(%s)", rule->unit);
		case CRM_RULE_NOISE_INTERVAL:
			return psprintf("noise(%d %s%s)", rule->amount, rule->unit,
							rule->amount == 1 ? "" : "s");
		case CRM_RULE_FN:
			return psprintf("fn(%s)",
							quote_qualified_identifier(rule->fn_schema, rule->fn_name));
		default:
			for (size_t i = 0; i < lengthof(rule_specs); i++)
			{
				if (rule_specs[i].kind == rule->kind)
					return pstrdup(rule_specs[i].name);
			}
	}
	elog(ERROR, "unrecognized crm_privacy rule kind %d", (int) rule->kind);
	return NULL;				/* keep compiler quiet */
}

/* Canonical text of a column label; it parses back to the same label. */
char *
crm_column_label_to_string(const CrmColumnLabel *cl)
{
	return psprintf("%s level=%s mask=%s anon=%s",
					crm_class_name(cl->cls), crm_level_name(cl->level),
					crm_rule_to_string(&cl->mask), crm_rule_to_string(&cl->anon));
}

/* Canonical text of a table label; it parses back to the same label. */
char *
crm_table_label_to_string(const CrmTableLabel *tl)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (tl->related)
		appendStringInfo(&buf, "related subject=%s ",
						 quote_qualified_identifier(tl->subject_schema, tl->subject_name));
	else
		appendStringInfoString(&buf, "subject ");
	appendStringInfo(&buf, "key=%s", quote_identifier(tl->key));
	if (tl->k > 0)
		appendStringInfo(&buf, " k=%d", tl->k);
	return buf.data;
}

/* Is the schema labelled trusted? */
static bool
schema_is_trusted(Oid nspoid)
{
	ObjectAddress addr;
	char	   *label;

	ObjectAddressSet(addr, NamespaceRelationId, nspoid);
	label = GetSecurityLabel(&addr, CRM_PROVIDER);
	if (label == NULL)
		return false;
	crm_parse_schema_label(label);	/* stored labels always parse */
	return true;
}

/*
 * Check fn(schema.function): trusted schema, exact signature, one value.
 * Does it fit?  With report, an ERROR says why it does not.
 */
static bool
fn_rule_fits(const char *label, const CrmRule *rule, const char *colname, Oid typid, bool report)
{
	Oid			nspoid = get_namespace_oid(rule->fn_schema, true);
	char	   *fname = quote_qualified_identifier(rule->fn_schema, rule->fn_name);
	Oid			argtypes[1];
	Oid			fnoid;
	HeapTuple	tup;
	Form_pg_proc proc;
	bool		fits;

	if (!OidIsValid(nspoid))
	{
		if (!report)
			return false;
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid crm_privacy label \"%s\": schema \"%s\" of fn() does not exist",
						shown(label), rule->fn_schema),
				 errhint("Functions used by fn() must be in schema privacy or in a schema labelled trusted.")));
	}
	if (strcmp(rule->fn_schema, CRM_SCHEMA) != 0 && !schema_is_trusted(nspoid))
	{
		if (!report)
			return false;
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid crm_privacy label \"%s\": schema \"%s\" of fn() is not trusted",
						shown(label), rule->fn_schema),
				 errdetail("Functions used by fn() must be in schema privacy or in a schema labelled trusted."),
				 errhint("A superuser can trust the schema with SECURITY LABEL FOR crm_privacy ON SCHEMA %s IS 'trusted'.",
						 quote_identifier(rule->fn_schema))));
	}

	argtypes[0] = typid;
	fnoid = LookupFuncName(list_make2(makeString(rule->fn_schema), makeString(rule->fn_name)),
						   1, argtypes, true);
	if (!OidIsValid(fnoid))
	{
		if (!report)
			return false;
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid crm_privacy label \"%s\": function %s(%s) of fn() does not exist",
						shown(label), fname, format_type_be(typid)),
				 errhint("fn() needs a function taking and returning the type of column \"%s\".",
						 colname)));
	}

	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fnoid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for function %u", fnoid);
	proc = (Form_pg_proc) GETSTRUCT(tup);
	fits = (proc->prokind == PROKIND_FUNCTION && !proc->proretset && proc->prorettype == typid);
	ReleaseSysCache(tup);
	if (!fits && report)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid crm_privacy label \"%s\": function %s of fn() does not return %s",
						shown(label), fname, format_type_be(typid)),
				 errhint("fn() needs a plain function taking and returning the type of column \"%s\".",
						 colname)));
	return fits;
}

/* Does a generalize(N) step fit the column (whole, and not too big for an integer)? */
static bool
step_fits(const char *label, const CrmRule *rule, const char *colname, Oid typid, Oid base, bool report)
{
	int64		limit;
	int64		step = 0;

	if (base == INT2OID)
		limit = PG_INT16_MAX;
	else if (base == INT4OID)
		limit = PG_INT32_MAX;
	else if (base == INT8OID)
		limit = PG_INT64_MAX;
	else
		return true;			/* numeric and float8 take any positive step */

	for (const char *p = rule->number; *p; p++)
	{
		if (*p < '0' || *p > '9' || step > (limit - (*p - '0')) / 10)
		{
			if (!report)
				return false;
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid crm_privacy label \"%s\": step \"%s\" does not fit column \"%s\" of type %s",
							shown(label), rule->number, colname, format_type_be(typid)),
					 errhint("Columns of type %s need a whole step from 1 to " INT64_FORMAT ".",
							 format_type_be(typid), limit)));
		}
		step = step * 10 + (*p - '0');
	}
	return true;
}

/*
 * Does the rule fit the column's type?  With report, an ERROR says why it
 * does not (the rule is in label); without, the answer is false.
 */
bool
crm_rule_fits(const char *label, const CrmRule *rule, const char *colname, Oid typid, bool report)
{
	Oid			base = getBaseType(typid);
	bool		is_text = (base == TEXTOID || base == VARCHAROID || base == BPCHAROID);
	bool		is_number = (base == INT2OID || base == INT4OID || base == INT8OID ||
							 base == NUMERICOID || base == FLOAT8OID);
	bool		is_datetime = (base == DATEOID || base == TIMESTAMPOID ||
							   base == TIMESTAMPTZOID);
	const char *applies;

	switch (rule->kind)
	{
		case CRM_RULE_KEEP:
		case CRM_RULE_NULL:
			return true;
		case CRM_RULE_PARTIAL:
		case CRM_RULE_EMAIL:
		case CRM_RULE_PHONE:
		case CRM_RULE_NAME:
		case CRM_RULE_CN_ID:
		case CRM_RULE_CARD:
			if (is_text)
				return true;
			applies = "text, varchar and char";
			break;
		case CRM_RULE_PSEUDONYM:
			if (is_text || base == INT4OID || base == INT8OID)
				return true;
			applies = "text, varchar, char, integer and bigint";
			break;
		case CRM_RULE_GENERALIZE_STEP:
			if (is_number)
				return step_fits(label, rule, colname, typid, base, report);
			applies = "smallint, integer, bigint, numeric and double precision";
			break;
		case CRM_RULE_NOISE_RATIO:
			if (is_number)
				return true;
			applies = "smallint, integer, bigint, numeric and double precision";
			break;
		case CRM_RULE_GENERALIZE_UNIT:
		case CRM_RULE_NOISE_INTERVAL:
			if (is_datetime)
				return true;
			applies = "date, timestamp and timestamp with time zone";
			break;
		case CRM_RULE_FN:
			return fn_rule_fits(label, rule, colname, typid, report);
		default:
			elog(ERROR, "unrecognized crm_privacy rule kind %d", (int) rule->kind);
	}
	if (!report)
		return false;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid crm_privacy label \"%s\": rule \"%s\" does not fit column \"%s\" of type %s",
					shown(label), crm_rule_to_string(rule), colname, format_type_be(typid)),
			 errdetail("This rule applies to %s columns.", applies),
			 errhint("Choose a rule that fits the column's type; keep and null fit every type.")));
	return false;				/* not reached */
}

/* Check that a parsed column label's rules fit the column. */
void
crm_check_column_label(const char *label, const CrmColumnLabel *cl, Oid relid, AttrNumber attnum)
{
	HeapTuple	tup;
	Form_pg_attribute att;
	char	   *colname;
	Oid			typid;

	tup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid), Int16GetDatum(attnum));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for attribute %d of relation %u", attnum, relid);
	att = (Form_pg_attribute) GETSTRUCT(tup);
	colname = pstrdup(NameStr(att->attname));
	typid = att->atttypid;
	ReleaseSysCache(tup);

	(void) crm_rule_fits(label, &cl->mask, colname, typid, true);
	(void) crm_rule_fits(label, &cl->anon, colname, typid, true);
}

/* The table a related label points at, or InvalidOid if it does not exist. */
Oid
crm_subject_relid(const CrmTableLabel *tl)
{
	Oid			nspoid = get_namespace_oid(tl->subject_schema, true);

	return OidIsValid(nspoid) ? get_relname_relid(tl->subject_name, nspoid) : InvalidOid;
}

/* The crm_privacy table label of relid, parsed; false if it has none. */
bool
crm_get_table_label(Oid relid, CrmTableLabel *out)
{
	ObjectAddress addr;
	char	   *label;

	ObjectAddressSet(addr, RelationRelationId, relid);
	label = GetSecurityLabel(&addr, CRM_PROVIDER);
	if (label == NULL)
		return false;
	crm_parse_table_label(label, out);
	return true;
}

/*
 * Every crm_privacy label on a table or column, read from pg_seclabel into a
 * list of CrmLabelEntry, so that callers may change labels while they walk it.
 */
List *
crm_relation_labels(void)
{
	List	   *result = NIL;
	Relation	rel = table_open(SecLabelRelationId, AccessShareLock);
	SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	HeapTuple	tup;

	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		FormData_pg_seclabel *sl = (FormData_pg_seclabel *) GETSTRUCT(tup);
		bool		isnull;
		Datum		d;
		CrmLabelEntry *entry;

		if (sl->classoid != RelationRelationId)
			continue;
		d = heap_getattr(tup, Anum_pg_seclabel_provider, RelationGetDescr(rel), &isnull);
		if (isnull || strcmp(TextDatumGetCString(d), CRM_PROVIDER) != 0)
			continue;
		d = heap_getattr(tup, Anum_pg_seclabel_label, RelationGetDescr(rel), &isnull);
		if (isnull)
			continue;
		entry = palloc(sizeof(CrmLabelEntry));
		entry->relid = sl->objoid;
		entry->attnum = (AttrNumber) sl->objsubid;
		entry->label = TextDatumGetCString(d);
		result = lappend(result, entry);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/* The tables whose related label points at subject (OIDs). */
List *
crm_related_tables(Oid subject)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, crm_relation_labels())
	{
		CrmLabelEntry *entry = (CrmLabelEntry *) lfirst(lc);
		CrmTableLabel tl;

		if (entry->attnum != 0 || entry->relid == subject)
			continue;
		crm_parse_table_label(entry->label, &tl);
		if (tl.related && crm_subject_relid(&tl) == subject)
			result = list_append_unique_oid(result, entry->relid);
	}
	return result;
}

/* Names of the tables whose related label points at subject. */
static List *
related_tables_of(Oid subject)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, crm_related_tables(subject))
		result = lappend(result, get_rel_name(lfirst_oid(lc)));
	return result;
}

/*
 * Can a column of this type be a subject's key?  Only types whose text does
 * not depend on session settings (the views and the records compare keys of
 * other types by their text) and is one text per value: smallint, integer,
 * bigint, numeric, uuid, text and varchar, or a domain over one, and enums
 * (not a domain over one: its values compare with the enum's by no
 * operator).  Not char(n): 'ab' and 'ab  ' are one value of it and two texts.
 */
bool
crm_key_type_supported(Oid typid)
{
	Oid			base = getBaseType(typid);

	return base == INT2OID || base == INT4OID || base == INT8OID || base == NUMERICOID ||
		base == UUIDOID || base == TEXTOID || base == VARCHAROID ||
		(base == typid && get_typtype(base) == TYPTYPE_ENUM);	/* enums compare as themselves */
}

/*
 * Validate a table label against the catalog.  The subject= reference is
 * checked only while check_function_bodies is on: pg_dump turns it off, and a
 * restore may label a related table before its subject table exists.
 */
void
crm_check_table_label(const char *label, const CrmTableLabel *tl, Oid relid)
{
	AttrNumber	keyatt = get_attnum(relid, tl->key);
	Oid			subject;
	CrmTableLabel stl;
	AttrNumber	subjatt;
	Oid			ltype;
	Oid			rtype;
	Operator	eqop;

	if (get_rel_relispartition(relid))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("invalid crm_privacy label \"%s\": table \"%s\" is a partition",
						shown(label), get_rel_name(relid)),
				 errdetail("Its rows are the partitioned table's: views of their own would not honour what is recorded for the partitioned table."),
				 errhint("Label the partitioned table.")));
	if (get_rel_persistence(relid) == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("invalid crm_privacy label \"%s\": table \"%s\" is temporary",
						shown(label), get_rel_name(relid)),
				 errdetail("A temporary table is one session's: it has no privacy views, and what is recorded about its subjects would outlive it."),
				 errhint("Label the permanent table the data comes from.")));
	if (keyatt == InvalidAttrNumber || keyatt < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid crm_privacy label \"%s\": key column \"%s\" does not exist in table \"%s\"",
						shown(label), tl->key, get_rel_name(relid)),
				 errhint(TABLE_HINT)));

	{
		Oid			typid;
		int32		typmod;
		Oid			collid;

		/*
		 * A key's text must not depend on the reader's settings (DateStyle,
		 * TimeZone, bytea_output, extra_float_digits, lc_monetary ...).
		 */
		get_atttypetypmodcoll(relid, keyatt, &typid, &typmod, &collid);
		if (!crm_key_type_supported(typid))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("invalid crm_privacy label \"%s\": key column \"%s\" of table \"%s\" has type %s",
							shown(label), tl->key, get_rel_name(relid), format_type_be(typid)),
					 errdetail("A key is smallint, integer, bigint, numeric, uuid, text or varchar (or a domain over one), or an enum: the text of other types depends on each session's settings or has several spellings, and a subject's choices would not find its rows."),
					 errhint("Key the table by an identifier column of one of those types.")));
		/* under a case-insensitive collation two spellings would be one subject */
		if (OidIsValid(collid) && !get_collation_isdeterministic(collid))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("invalid crm_privacy label \"%s\": key column \"%s\" of table \"%s\" has a nondeterministic collation",
							shown(label), tl->key, get_rel_name(relid)),
					 errdetail("Opt-outs, erasures and reports find a subject's rows by its key; a key that compares equal in other spellings would be several keys to them."),
					 errhint("Give the key column a deterministic collation, for example COLLATE \"C\".")));
	}

	if (!tl->related || !check_function_bodies)
		return;

	subject = crm_subject_relid(tl);
	if (!OidIsValid(subject))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid crm_privacy label \"%s\": subject table %s does not exist",
						shown(label), quote_qualified_identifier(tl->subject_schema, tl->subject_name)),
				 errhint(TABLE_HINT)));
	if (subject == relid)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid crm_privacy label \"%s\": table \"%s\" cannot be related to itself",
						shown(label), get_rel_name(relid)),
				 errhint("Label a table with one row per data subject \"subject key=COLUMN\".")));
	if (!crm_get_table_label(subject, &stl) || stl.related)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid crm_privacy label \"%s\": table %s is not labelled as a subject table",
						shown(label), quote_qualified_identifier(tl->subject_schema, tl->subject_name)),
				 errhint("Label it first, for example SECURITY LABEL FOR crm_privacy ON TABLE %s IS 'subject key=COLUMN'.",
						 quote_qualified_identifier(tl->subject_schema, tl->subject_name))));

	subjatt = get_attnum(subject, stl.key);
	ltype = get_atttype(relid, keyatt);
	rtype = get_atttype(subject, subjatt);
	eqop = oper(NULL, list_make2(makeString("pg_catalog"), makeString("=")),
				ltype, rtype, true, -1);
	if (eqop == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid crm_privacy label \"%s\": key column \"%s\" of type %s cannot be compared with key \"%s\" of type %s of the subject table",
						shown(label), tl->key, format_type_be(ltype), stl.key, format_type_be(rtype)),
				 errhint("The key of a related table must have a type comparable with the subject's key.")));
	ReleaseSysCache(eqop);
}

/*
 * Relating a table to a subject table takes owning the subject table or being
 * a privacy administrator: the related table joins the subject's requests,
 * erasures and opt-outs.  While check_function_bodies is off (a restore) the
 * subject table may not exist yet; then only a privacy administrator may
 * point at it.
 */
static void
check_may_relate(const char *label, const CrmTableLabel *tl)
{
	Oid			subject = crm_subject_relid(tl);
	Oid			user = GetUserId();
	bool		owner;

	if (!OidIsValid(subject))
		owner = false;
	else
		owner = crm_owns_relation(subject, user);
	if (!owner && !crm_is_privacy_admin(user))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to relate a table to subject table %s",
						quote_qualified_identifier(tl->subject_schema, tl->subject_name)),
				 errdetail("Label \"%s\": only the owner of the subject table or a privacy administrator may relate tables to it.",
						   shown(label)),
				 errhint("Ask the owner of the subject table or a privacy administrator to set the label.")));
}

/* Validate setting or removing the label of a table. */
static void
relabel_table(Oid relid, const char *seclabel)
{
	CrmTableLabel tl;
	CrmTableLabel old;
	List	   *related;

	if (seclabel != NULL)
	{
		crm_parse_table_label(seclabel, &tl);
		crm_check_table_label(seclabel, &tl, relid);
		if (!tl.related)
			return;
		check_may_relate(seclabel, &tl);
	}

	/* Do not leave related tables pointing at a table that is no subject. */
	if (!crm_get_table_label(relid, &old) || old.related)
		return;
	related = related_tables_of(relid);
	if (related != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot remove the subject label of table \"%s\"", get_rel_name(relid)),
				 errdetail("Table \"%s\" is labelled as related to it.",
						   (char *) linitial(related)),
				 errhint("Relabel or unlabel the related tables first.")));
}

/* Refuse to untrust a schema whose functions a column label uses. */
static void
check_schema_unused(Oid nspoid)
{
	char	   *nspname = get_namespace_name(nspoid);
	ListCell   *lc;

	foreach(lc, crm_relation_labels())
	{
		CrmLabelEntry *entry = (CrmLabelEntry *) lfirst(lc);
		CrmColumnLabel cl;

		if (entry->attnum <= 0)
			continue;
		crm_parse_column_label(entry->label, &cl);
		if ((cl.mask.kind == CRM_RULE_FN && strcmp(cl.mask.fn_schema, nspname) == 0) ||
			(cl.anon.kind == CRM_RULE_FN && strcmp(cl.anon.fn_schema, nspname) == 0))
			ereport(ERROR,
					(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
					 errmsg("cannot remove the trusted label of schema \"%s\"", nspname),
					 errdetail("Column \"%s\" of table \"%s\" uses a function of it in its label.",
							   get_attname(entry->relid, entry->attnum, false),
							   get_rel_name(entry->relid)),
					 errhint("Relabel the columns that use its functions first.")));
	}
}

/* Validate setting or removing the label of a column. */
static void
relabel_column(Oid relid, AttrNumber attnum, const char *seclabel)
{
	CrmColumnLabel cl;

	if (attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("crm_privacy labels cannot be set on system columns")));
	if (seclabel == NULL)
		return;
	crm_parse_column_label(seclabel, &cl);
	crm_check_column_label(seclabel, &cl, relid, attnum);
}

/* The label provider hook: validate a label before PostgreSQL stores it. */
static void
crm_object_relabel(const ObjectAddress *object, const char *seclabel)
{
	switch (object->classId)
	{
		case RelationRelationId:
			{
				char		relkind = get_rel_relkind(object->objectId);

				if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
					relkind != RELKIND_FOREIGN_TABLE)
					ereport(ERROR,
							(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							 errmsg("crm_privacy labels cannot be set on %s",
									getObjectDescription(object, false)),
							 errhint("Label tables and their columns; the privacy views are generated from them.")));
				if (object->objectSubId == 0)
					relabel_table(object->objectId, seclabel);
				else
					relabel_column(object->objectId, object->objectSubId, seclabel);
				break;
			}
		case NamespaceRelationId:
			if (!superuser())
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("must be superuser to set or remove a crm_privacy schema label"),
						 errdetail("Functions in a trusted schema run inside every privacy view.")));
			if (seclabel != NULL)
				crm_parse_schema_label(seclabel);
			else
				check_schema_unused(object->objectId);
			break;
		case AuthIdRelationId:
			crm_check_role_relabel(object->objectId, seclabel);
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("crm_privacy labels cannot be set on %s",
							getObjectDescription(object, false)),
					 errhint("crm_privacy labels go on tables, columns, schemas and roles.")));
	}
}

/* Register the label provider; called from _PG_init. */
void
crm_label_init(void)
{
	register_label_provider(CRM_PROVIDER, crm_object_relabel);
	crm_roles_init();			/* role labels: caches and the administrators' hook */
}

/*
 * SQL: privacy.parse_label(label text) returns the parsed parts of a column
 * or table label; NULL gives the privacy-by-default label of an unlabelled
 * column.
 */
PG_FUNCTION_INFO_V1(crm_parse_label);
Datum
crm_parse_label(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7];

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	memset(nulls, true, sizeof(nulls));

	if (!PG_ARGISNULL(0))
	{
		char	   *label = text_to_cstring(PG_GETARG_TEXT_PP(0));
		List	   *words = split_label(label);
		bool		is_table = false;
		ListCell   *lc;

		foreach(lc, words)
		{
			LabelWord  *w = (LabelWord *) lfirst(lc);

			if (w->value == NULL &&
				(strcmp(w->name, "subject") == 0 || strcmp(w->name, "related") == 0))
				is_table = true;
		}
		if (is_table)
		{
			CrmTableLabel tl;

			crm_parse_table_label(label, &tl);
			values[0] = CStringGetTextDatum(tl.related ? "related" : "subject");
			values[4] = DirectFunctionCall1(namein, CStringGetDatum(tl.key));
			if (tl.related)
				values[5] = CStringGetTextDatum(quote_qualified_identifier(tl.subject_schema,
																		   tl.subject_name));
			if (tl.k > 0)
				values[6] = Int32GetDatum(tl.k);
			nulls[0] = nulls[4] = false;
			nulls[5] = !tl.related;
			nulls[6] = (tl.k == 0);
			PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
		}
	}

	{
		CrmColumnLabel cl;

		if (PG_ARGISNULL(0))
			crm_default_column_label(&cl);
		else
			crm_parse_column_label(text_to_cstring(PG_GETARG_TEXT_PP(0)), &cl);
		values[0] = CStringGetTextDatum(crm_class_name(cl.cls));
		values[1] = CStringGetTextDatum(crm_level_name(cl.level));
		values[2] = CStringGetTextDatum(crm_rule_to_string(&cl.mask));
		values[3] = CStringGetTextDatum(crm_rule_to_string(&cl.anon));
		nulls[0] = nulls[1] = nulls[2] = nulls[3] = false;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * Run SECURITY LABEL FOR crm_privacy ON <target> IS <label> through SPI, so
 * that it takes PostgreSQL's own permission checks and event triggers.
 * target is built from quoted identifiers only.
 */
static void
run_security_label(const char *target, const char *label)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SECURITY LABEL FOR %s ON %s IS %s",
					 CRM_PROVIDER, target,
					 label ? quote_literal_cstr(label) : "NULL");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(sql.data, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "SPI_execute failed: %s", sql.data);
	SPI_finish();
}

/* Quoted, schema-qualified name of a table given as regclass argument argno. */
static char *
qualified_table_arg(FunctionCallInfo fcinfo, int argno)
{
	Oid			relid;
	char	   *relname;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("tbl must not be NULL")));
	relid = PG_GETARG_OID(argno);
	relname = get_rel_name(relid);
	if (relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), relname);
}

/* Optional text argument as a C string, NULL when SQL NULL. */
static char *
optional_text_arg(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* SQL: privacy.label_column(tbl regclass, col name, label text). */
PG_FUNCTION_INFO_V1(crm_label_column);
Datum
crm_label_column(PG_FUNCTION_ARGS)
{
	char	   *table = qualified_table_arg(fcinfo, 0);

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("col must not be NULL")));
	run_security_label(psprintf("COLUMN %s.%s", table,
								quote_identifier(NameStr(*PG_GETARG_NAME(1)))),
					   optional_text_arg(fcinfo, 2));
	PG_RETURN_VOID();
}

/* SQL: privacy.label_table(tbl regclass, label text). */
PG_FUNCTION_INFO_V1(crm_label_table);
Datum
crm_label_table(PG_FUNCTION_ARGS)
{
	char	   *table = qualified_table_arg(fcinfo, 0);

	run_security_label(psprintf("TABLE %s", table), optional_text_arg(fcinfo, 1));
	PG_RETURN_VOID();
}
