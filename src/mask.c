/*-------------------------------------------------------------------------
 *
 * mask.c
 *	  Masking functions for text and the format checks (doc/functions.md).
 *
 *	  mask_partial, mask_email, mask_phone, mask_name, mask_cn_id, mask_card
 *	  is_valid_cn_id, luhn_valid, is_cn_mobile, is_email
 *
 * The masks count characters, not bytes.  A character is a base code point
 * together with the combining marks, variation selectors, emoji modifiers and
 * zero-width joins that follow it, so that a mask never leaves half a
 * character behind.  The database encoding is UTF-8 (decoded inline, the fast
 * path), EUC_CN or a single-byte encoding (each non-ASCII character looked up
 * in a table of Unicode code points built on first use), so every encoding
 * gives the same results for the same characters; the install script refuses
 * any other encoding (crm_check_database_encoding).  Each mask reads its input
 * twice at most and writes its result once, straight into the result text,
 * copying the kept characters' bytes as they are.
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/mask.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_conversion.h"
#include "catalog/pg_namespace.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/memutils.h"

#include "crm_privacy.h"

#define MASK_CHAR	'*'

/*
 * A text argument, as bytes.  A character(n) argument is its characters
 * without the trailing spaces (as its cast to text has them); trailing
 * counts those spaces, which the result gets back (out_finish).
 */
typedef struct TextBytes
{
	const char *data;
	int			len;
	int			trailing;
} TextBytes;

/*
 * Common two-character (compound) Chinese surnames, kept whole by mask_name.
 * This file is UTF-8; the list is compared by code points, in every encoding.
 */
static const char *const compound_surnames[] = {
	"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
	"宇文", "司徒", "夏侯", "令狐", "端木", "南宫", "轩辕", "西门", "独孤", "百里",
	"呼延", "东郭", "太史", "申屠", "万俟", "闻人", "澹台", "公冶", "宗政", "濮阳",
	"淳于", "单于", "拓跋", "钟离", "赫连", "司空", "司寇", "左丘", "谷梁", "梁丘",
	"乐正", "段干", "东门", "微生", "羊舌", "公羊", "公西", "闾丘", "仲孙", "叔孙",
	"巫马", "颛孙", "鲜于", "第五",
	/* traditional forms */
	"歐陽", "司馬", "諸葛", "東方", "尉遲", "公孫", "長孫", "南宮", "軒轅", "獨孤",
	"鍾離", "閭丘", "單于", "東郭", "澹臺", "聞人", "濮陽", "萬俟",
};

/* The bytes of a text datum, detoasted but not copied when it is not toasted. */
static TextBytes
text_bytes(text *t)
{
	TextBytes	b;

	b.data = VARDATA_ANY(t);
	b.len = VARSIZE_ANY_EXHDR(t);
	b.trailing = 0;
	return b;
}

/* The bytes of a character(n) datum, its trailing spaces counted apart. */
static TextBytes
bpchar_bytes(BpChar *t)
{
	TextBytes	b;
	int			len = VARSIZE_ANY_EXHDR(t);

	b.data = VARDATA_ANY(t);
	b.len = bpchartruelen(VARDATA_ANY(t), len);
	b.trailing = len - b.len;
	return b;
}

/* Does a code point extend the character before it? */
static inline bool
is_extender(pg_wchar c)
{
	return (c >= 0x0300 && c <= 0x036F) ||	/* combining diacritical marks */
		(c >= 0x1AB0 && c <= 0x1AFF) ||
		(c >= 0x1DC0 && c <= 0x1DFF) ||
		(c >= 0x20D0 && c <= 0x20FF) ||
		(c >= 0xFE20 && c <= 0xFE2F) ||
		(c >= 0xFE00 && c <= 0xFE0F) ||		/* variation selectors */
		(c >= 0xE0100 && c <= 0xE01EF) ||
		(c >= 0x1F3FB && c <= 0x1F3FF) ||	/* emoji skin tone modifiers */
		c == 0x200D ||						/* zero-width joiner */
		(c >= 0x3099 && c <= 0x309A);		/* kana voiced marks */
}

/*
 * Can a UTF-8 sequence with this lead byte encode an extender?  Everything
 * else (ASCII, Latin letters, Han, Hangul...) is skipped without decoding.
 */
static inline bool
may_start_extender(unsigned char lead)
{
	return lead == 0xCC || lead == 0xCD ||	/* U+0300-036F */
		lead == 0xE1 || lead == 0xE2 || lead == 0xE3 ||
		lead == 0xEF || lead == 0xF0 || lead == 0xF3;
}

/* Decode the code point at s (UTF-8), with its byte length in *len. */
static inline pg_wchar
decode_char(const char *s, int *len)
{
	unsigned char c = (unsigned char) *s;

	if (c < 0x80)
	{
		*len = 1;
		return c;
	}
	*len = pg_utf_mblen((const unsigned char *) s);
	return utf8_to_unicode((const unsigned char *) s);
}

/*
 * Server encodings other than UTF-8 that the masks can read: EUC_CN and the
 * single-byte encodings.  SQL_ASCII declares no encoding at all (its bytes
 * may be UTF-8, GBK or anything), so its characters cannot be counted; the
 * other multibyte encodings (EUC_JP, EUC_KR, EUC_TW, EUC_JIS_2004,
 * MULE_INTERNAL) are not supported.
 */
static bool
encoding_supported(int encoding)
{
	return encoding == PG_UTF8 || encoding == PG_EUC_CN ||
		(encoding != PG_SQL_ASCII && PG_VALID_BE_ENCODING(encoding) &&
		 pg_encoding_max_length(encoding) == 1);
}

#define SUPPORTED_ENCODINGS_HINT \
	"Create the database with ENCODING 'UTF8', 'EUC_CN' or a single-byte encoding " \
	"(LATIN1 to LATIN10, ISO_8859_5 to ISO_8859_8, WIN866, WIN874, WIN1250 to WIN1258, " \
	"KOI8R, KOI8U) and TEMPLATE template0."

/* Refuse a database encoding the masks cannot read character by character. */
static void
require_supported_encoding(void)
{
	int			encoding = GetDatabaseEncoding();

	if (!encoding_supported(encoding))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("crm_privacy does not support the database encoding \"%s\"",
						GetDatabaseEncodingName()),
				 errdetail("The masking functions count characters, and crm_privacy can tell the characters apart only in UTF8, EUC_CN and the single-byte encodings."),
				 errhint(SUPPORTED_ENCODINGS_HINT)));
}

/*
 * SQL: privacy.check_database_encoding(), run first by the install script
 * (and dropped by it), so that CREATE EXTENSION refuses an unsupported
 * database encoding before creating anything.
 */
PG_FUNCTION_INFO_V1(crm_check_database_encoding);
Datum
crm_check_database_encoding(PG_FUNCTION_ARGS pg_attribute_unused())
{
	require_supported_encoding();
	PG_RETURN_VOID();
}

/*
 * The Unicode code points of the non-ASCII characters of the database
 * encoding when it is not UTF-8, built on first use and kept for the
 * backend's life: for a single-byte encoding one per byte 0x80-0xFF (128
 * entries); for EUC_CN one per two-byte character, both bytes 0xA1-0xFE
 * (94 x 94 entries).  A character with no Unicode equivalent (a user-defined
 * EUC_CN cell, an unassigned WIN1252 byte) is U+FFFD, which is no digit, Han
 * character, separator or extender: it is masked like any other letter.
 */
#define EUC_CELLS	94
#define NO_UNICODE	0xFFFD

static pg_wchar *local_to_unicode = NULL;
static bool local_two_byte = false;
static bool local_has_extenders = false;	/* WIN1258's combining tone marks */

static void
build_local_to_unicode(void)
{
	int			encoding = GetDatabaseEncoding();
	bool		two_byte = (encoding == PG_EUC_CN);
	int			n = two_byte ? EUC_CELLS * EUC_CELLS : 128;
	pg_wchar   *map;
	Oid			proc;
	FmgrInfo	flinfo;

	require_supported_encoding();

	/*
	 * The built-in conversion, found in pg_catalog whatever the search path
	 * says; called with noError, so that a character without an equivalent
	 * is reported by a short count instead of an error.
	 */
	proc = FindDefaultConversion(PG_CATALOG_NAMESPACE, encoding, PG_UTF8);
	if (!OidIsValid(proc))
		elog(ERROR, "no conversion from encoding \"%s\" to UTF8 in pg_catalog",
			 GetDatabaseEncodingName());
	fmgr_info(proc, &flinfo);

	map = MemoryContextAlloc(TopMemoryContext, n * sizeof(pg_wchar));
	for (int i = 0; i < n; i++)
	{
		unsigned char src[3];
		unsigned char dst[16];
		int			srclen;
		int			converted;

		if (two_byte)
		{
			src[0] = 0xA1 + i / EUC_CELLS;
			src[1] = 0xA1 + i % EUC_CELLS;
			srclen = 2;
		}
		else
		{
			src[0] = 0x80 + i;
			srclen = 1;
		}
		src[srclen] = '\0';
		dst[0] = '\0';
		converted = DatumGetInt32(FunctionCall6(&flinfo,
												Int32GetDatum(encoding),
												Int32GetDatum(PG_UTF8),
												CStringGetDatum((char *) src),
												CStringGetDatum((char *) dst),
												Int32GetDatum(srclen),
												BoolGetDatum(true)));
		map[i] = (converted == srclen && dst[0] != '\0') ? utf8_to_unicode(dst) : NO_UNICODE;
		local_has_extenders |= is_extender(map[i]);
	}
	local_two_byte = two_byte;
	local_to_unicode = map;
}

/*
 * Decode the character at s in a database that is not UTF-8 (its byte
 * length, at most end - s, in *len).
 */
static pg_wchar
decode_local(const char *s, const char *end, int *len)
{
	const unsigned char *u = (const unsigned char *) s;

	if (*u < 0x80)
	{
		*len = 1;
		return *u;
	}
	*len = Min(pg_mblen(s), end - s);
	if (local_to_unicode == NULL)
		build_local_to_unicode();
	if (!local_two_byte)
		return local_to_unicode[*u - 0x80];
	if (*len == 2 && u[0] >= 0xA1 && u[0] <= 0xFE && u[1] >= 0xA1 && u[1] <= 0xFE)
		return local_to_unicode[(u[0] - 0xA1) * EUC_CELLS + (u[1] - 0xA1)];
	return NO_UNICODE;
}

/* Can a character of this database encoding (not UTF-8) be an extender? */
static inline bool
local_may_extend(void)
{
	if (local_to_unicode == NULL)
		build_local_to_unicode();
	return local_has_extenders;
}

/*
 * The code point at s and its byte length in *len (within end), in the
 * database encoding: utf8 says whether it is UTF-8.
 */
static inline pg_wchar
next_code(const char *s, const char *end, bool utf8, int *len)
{
	pg_wchar	c;

	if (!utf8)
		return decode_local(s, end, len);
	c = decode_char(s, len);
	*len = Min(*len, end - s);
	return c;
}

/*
 * Length in bytes of the character starting at s, within end, counting the
 * extenders that follow it.  *cp gets its base code point.
 */
static int
char_len(const char *s, const char *end, bool utf8, pg_wchar *cp)
{
	int			len;
	int			n;
	bool		joined;

	*cp = next_code(s, end, utf8, &len);
	joined = false;
	while (s + len < end &&
		   (joined || (utf8 ? may_start_extender((unsigned char) s[len]) :
					   IS_HIGHBIT_SET(s[len]) && local_may_extend())))
	{
		pg_wchar	next = next_code(s + len, end, utf8, &n);

		if (joined || is_extender(next))
		{
			/* a zero-width joiner also pulls in the character after it */
			joined = (next == 0x200D);
			len += n;
		}
		else
			break;
	}
	return Min(len, end - s);
}

/* Is every byte of b ASCII?  Then bytes are characters. */
static bool
is_ascii(TextBytes b)
{
	const unsigned char *p = (const unsigned char *) b.data;
	const unsigned char *end = p + b.len;
	uint64		word;

	for (; p + sizeof(uint64) <= end; p += sizeof(uint64))
	{
		memcpy(&word, p, sizeof(uint64));
		if (word & UINT64CONST(0x8080808080808080))
			return false;
	}
	for (; p < end; p++)
	{
		if (*p & 0x80)
			return false;
	}
	return true;
}

/* Number of characters in b. */
static int
count_chars(TextBytes b, bool utf8)
{
	const char *p = b.data;
	const char *end = b.data + b.len;
	int			n = 0;
	pg_wchar	cp;

	while (p < end)
	{
		p += char_len(p, end, utf8, &cp);
		n++;
	}
	return n;
}

/* Is the database encoding UTF-8? */
static inline bool
database_is_utf8(void)
{
	static int	utf8 = -1;		/* a database's encoding never changes */

	if (utf8 < 0)
		utf8 = (GetDatabaseEncoding() == PG_UTF8);
	return utf8 == 1;
}

/*
 * A result buffer: a text datum being filled.  It is allocated once with room
 * for the worst case, so appending never reallocates.
 */
typedef struct Out
{
	text	   *t;
	char	   *p;
	int			trailing;		/* spaces to put at the end */
} Out;

/*
 * Start the result of masking src, of at most maxlen bytes before the
 * trailing spaces src had (a character(n) argument).
 */
static Out
out_start(TextBytes src, Size maxlen)
{
	Out			o;

	if (maxlen > MaxAllocSize - VARHDRSZ - src.trailing)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("masked value would be too long")));
	o.t = (text *) palloc(VARHDRSZ + maxlen + src.trailing);
	o.p = VARDATA(o.t);
	o.trailing = src.trailing;
	return o;
}

/* Append n bytes. */
static inline void
out_bytes(Out *o, const char *s, int n)
{
	memcpy(o->p, s, n);
	o->p += n;
}

/* Append count copies of a one-character pad of padlen bytes. */
static inline void
out_pad(Out *o, const char *pad, int padlen, int count)
{
	if (padlen == 1)
	{
		memset(o->p, *pad, count);
		o->p += count;
		return;
	}
	for (int i = 0; i < count; i++)
		out_bytes(o, pad, padlen);
}

/* Finish the result and return it as a text datum. */
static Datum
out_finish(Out *o)
{
	memset(o->p, ' ', o->trailing);
	o->p += o->trailing;
	SET_VARSIZE(o->t, o->p - (char *) o->t);
	PG_RETURN_TEXT_P(o->t);
}

/* Every character of b replaced by one '*'. */
static Datum
mask_all(TextBytes b, bool utf8)
{
	int			n = count_chars(b, utf8);
	Out			o = out_start(b, n);

	out_pad(&o, "*", 1, n);
	return out_finish(&o);
}

/*
 * Keep the first f and the last l characters of b and replace each other
 * character by pad; when f + l reaches the length, replace them all.
 */
static Datum
partial(TextBytes b, int f, int l, const char *pad, int padlen)
{
	bool		utf8 = database_is_utf8();
	bool		ascii = is_ascii(b);
	int			n = ascii ? b.len : count_chars(b, utf8);
	const char *p = b.data;
	const char *end = b.data + b.len;
	Out			o;
	pg_wchar	cp;

	if ((int64) f + l >= n)
	{
		o = out_start(b, (Size) n * padlen);
		out_pad(&o, pad, padlen, n);
		return out_finish(&o);
	}

	if (ascii)
	{
		o = out_start(b, (Size) f + l + (Size) (n - f - l) * padlen);
		out_bytes(&o, b.data, f);
		out_pad(&o, pad, padlen, n - f - l);
		out_bytes(&o, b.data + n - l, l);
		return out_finish(&o);
	}

	o = out_start(b, (Size) b.len + (Size) (n - f - l) * padlen);
	for (int i = 0; i < n; i++)
	{
		int			len = char_len(p, end, utf8, &cp);

		if (i < f || i >= n - l)
			out_bytes(&o, p, len);
		else
			out_pad(&o, pad, padlen, 1);
		p += len;
	}
	return out_finish(&o);
}

/* Refuse a negative count argument. */
static void
check_not_negative(int32 value, const char *argname, const char *function)
{
	if (value < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"%s\" of %s must not be negative", argname, function),
				 errdetail("It was %d.", value)));
}

/* privacy.mask_partial(v, f int, l int, pad text DEFAULT '*'), v read. */
static Datum
mask_partial(TextBytes v, FunctionCallInfo fcinfo)
{
	int32		f = PG_GETARG_INT32(1);
	int32		l = PG_GETARG_INT32(2);
	TextBytes	pad = {"*", 1, 0};

	check_not_negative(f, "f", "mask_partial");
	check_not_negative(l, "l", "mask_partial");
	if (PG_NARGS() > 3)
	{
		pad = text_bytes(PG_GETARG_TEXT_PP(3));
		if (pad.len == 0 || count_chars(pad, database_is_utf8()) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("argument \"pad\" of mask_partial must be exactly one character"),
					 errdetail("It has %d characters.", count_chars(pad, database_is_utf8()))));
	}
	return partial(v, f, l, pad.data, pad.len);
}

/*
 * Each mask has two SQL signatures: one of text, and one of character (n)
 * that gives the argument's trailing spaces back, so that the views show a
 * character(n) column masked without casting it to text and back.
 */
#define MASK_SQL_FUNCTIONS(name, mask) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	return mask(text_bytes(PG_GETARG_TEXT_PP(0)), fcinfo); \
} \
PG_FUNCTION_INFO_V1(name##_bpchar); \
Datum \
name##_bpchar(PG_FUNCTION_ARGS) \
{ \
	return mask(bpchar_bytes(PG_GETARG_BPCHAR_PP(0)), fcinfo); \
}

/* SQL: privacy.mask_partial(v text or character, f int, l int, pad text DEFAULT '*'). */
MASK_SQL_FUNCTIONS(crm_mask_partial, mask_partial)

/* privacy.mask_email: first character of the local part, ***, domain. */
static Datum
mask_email(TextBytes v, FunctionCallInfo fcinfo pg_attribute_unused())
{
	bool		utf8 = database_is_utf8();
	const char *at = NULL;
	int			first;
	pg_wchar	cp;
	Out			o;

	for (const char *p = v.data + v.len - 1; p >= v.data; p--)
	{
		if (*p == '@')
		{
			at = p;
			break;
		}
	}
	if (at == NULL || at == v.data || at == v.data + v.len - 1)
		return mask_all(v, utf8);

	first = char_len(v.data, at, utf8, &cp);
	o = out_start(v, first + 3 + (v.data + v.len - at));
	out_bytes(&o, v.data, first);
	out_pad(&o, "*", 1, 3);
	out_bytes(&o, at, v.data + v.len - at);
	return out_finish(&o);
}

/* SQL: privacy.mask_email(text or character). */
MASK_SQL_FUNCTIONS(crm_mask_email, mask_email)

/* The value of a digit (ASCII or full-width), or -1. */
static inline int
digit_value(pg_wchar c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 0xFF10 && c <= 0xFF19)
		return c - 0xFF10;
	return -1;
}

/*
 * Write b with its digits masked: digit number i (0-based, counting digits
 * only) is kept when keep(i) is true, else replaced by '*'.  Everything that
 * is not a digit stays in place.
 */
typedef bool (*KeepDigit) (int i, int ndigits, void *arg);

static Datum
mask_digits(TextBytes b, KeepDigit keep, void *arg)
{
	bool		utf8 = database_is_utf8();
	const char *p = b.data;
	const char *end = b.data + b.len;
	int			ndigits = 0;
	int			i = 0;
	Out			o;

	if (is_ascii(b))
	{
		/* bytes are characters: no decoding (phone numbers, card numbers) */
		for (; p < end; p++)
			ndigits += (*p >= '0' && *p <= '9');
		o = out_start(b, b.len);
		for (p = b.data; p < end; p++)
			*o.p++ = (*p >= '0' && *p <= '9' && !keep(i++, ndigits, arg)) ? MASK_CHAR : *p;
		return out_finish(&o);
	}
	while (p < end)
	{
		int			len;
		pg_wchar	c = next_code(p, end, utf8, &len);

		if (digit_value(c) >= 0)
			ndigits++;
		p += len;
	}

	o = out_start(b, b.len);
	for (p = b.data; p < end;)
	{
		int			len;
		pg_wchar	c = next_code(p, end, utf8, &len);

		if (digit_value(c) >= 0 && !keep(i++, ndigits, arg))
			out_pad(&o, "*", 1, 1);
		else
			out_bytes(&o, p, len);
		p += len;
	}
	return out_finish(&o);
}

/* The digits of b as ASCII, at most max of them; returns how many there are. */
static int
collect_digits(TextBytes b, char *digits, int max)
{
	bool		utf8 = database_is_utf8();
	const char *p = b.data;
	const char *end = b.data + b.len;
	int			n = 0;

	while (p < end)
	{
		int			len;
		int			d;

		if (!IS_HIGHBIT_SET(*p))
		{
			/* an ASCII character: no decoding */
			if (*p >= '0' && *p <= '9')
			{
				if (n < max)
					digits[n] = *p;
				n++;
			}
			p++;
			continue;
		}
		d = digit_value(next_code(p, end, utf8, &len));

		if (d >= 0)
		{
			if (n < max)
				digits[n] = '0' + d;
			n++;
		}
		p += len;
	}
	return n;
}

/* Is this a mainland mobile number: 11 digits 1[3-9]...? */
static inline bool
is_mobile_digits(const char *d)
{
	return d[0] == '1' && d[1] >= '3' && d[1] <= '9';
}

/* Which digits mask_phone keeps; arg points at the mobile's first digit index. */
static bool
phone_keeps(int i, int ndigits, void *arg)
{
	int			mobile_start = *(int *) arg;

	if (mobile_start >= 0)
		return i < mobile_start + 3 || i >= ndigits - 4;
	if (ndigits < 7)
		return false;
	return i >= ndigits - 4;
}

/* privacy.mask_phone. */
static Datum
mask_phone(TextBytes v, FunctionCallInfo fcinfo pg_attribute_unused())
{
	char		d[13];
	int			n = collect_digits(v, d, lengthof(d));
	int			mobile_start = -1;

	const char *first = v.data;
	bool		plus;

	/* "+CC ..." names its country: only +86 can be a mainland mobile */
	while (first < v.data + v.len && (*first == ' ' || *first == '\t'))
		first++;
	plus = (first < v.data + v.len && *first == '+');

	/* a mainland mobile, bare or after 86: keep 3 and 4 of its digits */
	if (n == 11 && !plus && is_mobile_digits(d))
		mobile_start = 0;
	else if (n == 13 && d[0] == '8' && d[1] == '6' && is_mobile_digits(d + 2))
		mobile_start = 2;
	return mask_digits(v, phone_keeps, &mobile_start);
}

/* SQL: privacy.mask_phone(text or character). */
MASK_SQL_FUNCTIONS(crm_mask_phone, mask_phone)

/* Which digits mask_card keeps: the last four, when there are more than four. */
static bool
card_keeps(int i, int ndigits, void *arg pg_attribute_unused())
{
	return ndigits > 4 && i >= ndigits - 4;
}

/* privacy.mask_card. */
static Datum
mask_card(TextBytes v, FunctionCallInfo fcinfo pg_attribute_unused())
{
	return mask_digits(v, card_keeps, NULL);
}

/* SQL: privacy.mask_card(text or character). */
MASK_SQL_FUNCTIONS(crm_mask_card, mask_card)

/* privacy.mask_cn_id: 18 characters keep 6 and 4, 15 keep 6 and 3. */
static Datum
mask_cn_id(TextBytes v, FunctionCallInfo fcinfo pg_attribute_unused())
{
	int			n = is_ascii(v) ? v.len : count_chars(v, database_is_utf8());

	if (n == 18)
		return partial(v, 6, 4, "*", 1);
	if (n == 15)
		return partial(v, 6, 3, "*", 1);
	return mask_all(v, database_is_utf8());
}

/* SQL: privacy.mask_cn_id(text or character). */
MASK_SQL_FUNCTIONS(crm_mask_cn_id, mask_cn_id)

/* Is c a Han character? */
static inline bool
is_han(pg_wchar c)
{
	return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
		(c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x323AF);
}

/*
 * Is c a dot separating the parts of a name (阿沛·阿旺晋美, 欧阳・娜娜)?
 * U+00B7 middle dot, U+30FB katakana middle dot (the one EUC_CN has),
 * U+2022 bullet, U+2027 hyphenation point, U+FF0E full-width full stop.
 */
static inline bool
is_name_dot(pg_wchar c)
{
	return c == 0x00B7 || c == 0x30FB || c == 0x2022 || c == 0x2027 || c == 0xFF0E;
}

/* Does c separate the words of a name? */
static inline bool
is_word_separator(pg_wchar c)
{
	return c == ' ' || c == '-' || c == '\t' || c == 0x3000 || c == 0x2010 || c == 0x2011;
}

/* A compound surname as one number: its two code points. */
static inline uint64
surname_pair(pg_wchar first, pg_wchar second)
{
	return ((uint64) first << 32) | second;
}

static int
pair_cmp(const void *a, const void *b)
{
	uint64		x = *(const uint64 *) a;
	uint64		y = *(const uint64 *) b;

	return x < y ? -1 : x > y;
}

/* Are these two characters a compound surname? */
static bool
is_compound_surname(pg_wchar first, pg_wchar second)
{
	static uint64 sorted[lengthof(compound_surnames)];
	static bool sorted_ready = false;
	uint64		key = surname_pair(first, second);

	if (!sorted_ready)
	{
		for (size_t i = 0; i < lengthof(compound_surnames); i++)
		{
			const unsigned char *s = (const unsigned char *) compound_surnames[i];

			sorted[i] = surname_pair(utf8_to_unicode(s), utf8_to_unicode(s + pg_utf_mblen(s)));
		}
		qsort(sorted, lengthof(sorted), sizeof(uint64), pair_cmp);
		sorted_ready = true;
	}
	return bsearch(&key, sorted, lengthof(sorted), sizeof(uint64), pair_cmp) != NULL;
}

/*
 * The surname of a name with Han characters: the byte offsets of its first
 * character that is not a separator (the start of the surname) and of the end
 * of the surname (after one character, or two adjacent ones that form a
 * compound surname).  *rest tells whether any character other than the
 * surname and separators follows.  Returns false when b has no Han character.
 */
static bool
han_surname(TextBytes b, bool utf8, int *start, int *stop, bool *rest)
{
	const char *p = b.data;
	const char *end = b.data + b.len;
	bool		any_han = false;
	int			nkept = 0;
	pg_wchar	first = 0;

	*start = *stop = -1;
	*rest = false;
	while (p < end && !(any_han && *rest))
	{
		pg_wchar	cp;
		int			len = char_len(p, end, utf8, &cp);

		any_han |= is_han(cp);
		if (is_word_separator(cp) || is_name_dot(cp))
		{
			if (nkept == 1)
				nkept = 2;		/* a separator ends the surname */
		}
		else if (nkept == 0)
		{
			*start = p - b.data;
			*stop = *start + len;
			first = cp;
			nkept = 1;
		}
		else if (nkept == 1 && is_han(first) && is_compound_surname(first, cp))
		{
			*stop += len;
			nkept = 2;
		}
		else
		{
			nkept = 2;
			*rest = true;
		}
		p += len;
		CHECK_FOR_INTERRUPTS();
	}
	return any_han;
}

/*
 * privacy.mask_name: a name with Han characters keeps its surname
 * only: its first character that is not a separator, or the first two when
 * they are a compound surname (欧阳), with separators (spaces, ideographic
 * spaces, hyphens, middle dots) in place; a name that is only a surname is
 * masked whole.  Other names keep the first character of each word, with
 * spaces and hyphens in place.
 */
static Datum
mask_name(TextBytes v, FunctionCallInfo fcinfo pg_attribute_unused())
{
	bool		utf8 = database_is_utf8();
	const char *p = v.data;
	const char *end = v.data + v.len;
	int			start = -1;
	int			stop = -1;
	bool		rest = false;
	bool		han = !is_ascii(v) && han_surname(v, utf8, &start, &stop, &rest);
	bool		word_start = true;
	Out			o;

	/* a Han name that is only a surname hides it too */
	if (han && !rest)
		start = stop = -1;

	o = out_start(v, v.len);
	while (p < end)
	{
		pg_wchar	cp;
		int			len = char_len(p, end, utf8, &cp);
		bool		keep;

		if (han)
			keep = (p - v.data >= start && p - v.data < stop) ||
				is_word_separator(cp) || is_name_dot(cp);
		else
			keep = word_start || is_word_separator(cp);
		if (keep)
			out_bytes(&o, p, len);
		else
			out_pad(&o, "*", 1, 1);
		word_start = is_word_separator(cp);
		p += len;
	}
	return out_finish(&o);
}

/* SQL: privacy.mask_name(text or character). */
MASK_SQL_FUNCTIONS(crm_mask_name, mask_name)

/* Is the text an ISO date yyyymmdd with a year from 1800 on? */
static bool
valid_birth_date(const char *s)
{
	int			y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	int			m = (s[4] - '0') * 10 + (s[5] - '0');
	int			d = (s[6] - '0') * 10 + (s[7] - '0');

	if (y < 1800 || m < 1 || m > 12 || d < 1)
		return false;
	return d <= day_tab[isleap(y)][m - 1];
}

/* SQL: privacy.is_valid_cn_id(text): an 18-character resident ID with a valid check character. */
PG_FUNCTION_INFO_V1(crm_is_valid_cn_id);
Datum
crm_is_valid_cn_id(PG_FUNCTION_ARGS)
{
	static const int weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
	static const char checks[] = "10X98765432";
	TextBytes	v = text_bytes(PG_GETARG_TEXT_PP(0));
	int			sum = 0;
	char		last;

	if (v.len != 18)
		PG_RETURN_BOOL(false);
	for (int i = 0; i < 17; i++)
	{
		if (v.data[i] < '0' || v.data[i] > '9')
			PG_RETURN_BOOL(false);
		sum += (v.data[i] - '0') * weights[i];
	}
	last = v.data[17] == 'x' ? 'X' : v.data[17];
	PG_RETURN_BOOL(valid_birth_date(v.data + 6) && last == checks[sum % 11]);
}

/* SQL: privacy.luhn_valid(text): Luhn checksum over at least 12 digits. */
PG_FUNCTION_INFO_V1(crm_luhn_valid);
Datum
crm_luhn_valid(PG_FUNCTION_ARGS)
{
	TextBytes	v = text_bytes(PG_GETARG_TEXT_PP(0));
	int			sum = 0;
	int			n = 0;

	/* from the right: every second digit is doubled */
	for (int i = v.len - 1; i >= 0; i--)
	{
		char		c = v.data[i];
		int			d;

		if (c == ' ' || c == '-')
			continue;
		if (c < '0' || c > '9')
			PG_RETURN_BOOL(false);
		d = c - '0';
		if (n++ % 2 == 1)
			d = d * 2 > 9 ? d * 2 - 9 : d * 2;
		sum += d;
	}
	PG_RETURN_BOOL(n >= 12 && sum % 10 == 0);
}

/* SQL: privacy.is_cn_mobile(text): 11 digits 1[3-9]..., optional +86/86 and separators. */
PG_FUNCTION_INFO_V1(crm_is_cn_mobile);
Datum
crm_is_cn_mobile(PG_FUNCTION_ARGS)
{
	TextBytes	v = text_bytes(PG_GETARG_TEXT_PP(0));
	const char *p = v.data;
	const char *end = v.data + v.len;
	char		d[13];
	int			n = 0;

	if (p < end && *p == '+')
	{
		p++;
		if (end - p < 2 || p[0] != '8' || p[1] != '6')
			PG_RETURN_BOOL(false);
	}
	for (; p < end; p++)
	{
		if (*p == ' ' || *p == '-')
			continue;
		if (*p < '0' || *p > '9' || n == lengthof(d))
			PG_RETURN_BOOL(false);
		d[n++] = *p;
	}
	if (n == 11)
		PG_RETURN_BOOL(is_mobile_digits(d));
	PG_RETURN_BOOL(n == 13 && d[0] == '8' && d[1] == '6' && is_mobile_digits(d + 2));
}

/* SQL: privacy.is_email(text): one @, a local part, a domain with a dot. */
PG_FUNCTION_INFO_V1(crm_is_email);
Datum
crm_is_email(PG_FUNCTION_ARGS)
{
	TextBytes	v = text_bytes(PG_GETARG_TEXT_PP(0));
	const char *at = NULL;
	const char *dot = NULL;

	for (const char *p = v.data; p < v.data + v.len; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (c <= ' ' || c == 0x7F)
			PG_RETURN_BOOL(false);	/* no white space or control characters */
		if (c == '@')
		{
			if (at != NULL)
				PG_RETURN_BOOL(false);
			at = p;
		}
		else if (c == '.' && at != NULL && dot == NULL)
			dot = p;
	}
	/* a local part; a domain with a dot neither first nor last */
	PG_RETURN_BOOL(at != NULL && at > v.data && dot != NULL &&
				   dot > at + 1 && dot < v.data + v.len - 1 &&
				   v.data[v.len - 1] != '.');
}
