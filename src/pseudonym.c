/*-------------------------------------------------------------------------
 *
 * pseudonym.c
 *	  Keyed pseudonyms (doc/functions.md, "Pseudonyms"):
 *	  pseudonym(text [, context]), pseudonym(bigint [, context]),
 *	  pseudonym_int(integer [, context]) and rotate_pseudonym_key().
 *
 * The secret is a 128-bit key made from pg_strong_random at CREATE EXTENSION
 * and kept in privacy.pseudonym_key, a table no role but the extension's owner
 * may read.  This code reads it directly (not through SQL), so the callers of
 * pseudonym() need no privilege on it; it never leaves this file except as
 * pseudonyms.  Each backend caches it; any change to the table (by
 * rotate_pseudonym_key() or otherwise) fires a trigger that sends a relcache
 * invalidation for the table, which makes every backend read the key again.
 *
 * No oracle: pseudonym() and pseudonym_int() compute with the key, so only
 * superusers and privacy administrators may call them (42501 for anyone
 * else).  The generated views use keyed_pseudonym() and keyed_noise()
 * instead, pure functions of (value, key, context) to which the view passes
 * the key read from privacy.pseudonym_key with the view owner's rights: a
 * reader cannot read the key, so calling them gives it nothing, and a key
 * rotation is seen by the next statement with no cached state to go stale.
 *
 * For each context a subkey is derived from the key with SipHash-2-4.  A text
 * pseudonym is SipHash-2-4 of the value under the context's subkey, written as
 * 16 hexadecimal digits (64 bits).  An integer pseudonym is a six-round
 * Feistel network over the bits of the value whose round function is
 * SipHash-2-4 under the subkey: a permutation of the type's range, so no two
 * values ever share a pseudonym and keys stay unique and joinable.
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/pseudonym.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "crm_privacy.h"

#define KEY_LEN			16
#define FEISTEL_ROUNDS	6

/* The cached key and the subkey of the last context used. */
static bool key_loaded = false;
static uint64 key[2];
static Oid	key_relid = InvalidOid;
static char *subkey_context = NULL;
static uint64 subkey[2];

#define ROTL(x, b) (uint64) (((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND \
	do { \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

/* Read 8 bytes little-endian. */
static inline uint64
load64(const unsigned char *p)
{
	return (uint64) p[0] | ((uint64) p[1] << 8) | ((uint64) p[2] << 16) |
		((uint64) p[3] << 24) | ((uint64) p[4] << 32) | ((uint64) p[5] << 40) |
		((uint64) p[6] << 48) | ((uint64) p[7] << 56);
}

/* SipHash-2-4 of data under the 128-bit key k (Aumasson and Bernstein, 2012). */
static uint64
siphash24(const uint64 k[2], const void *data, size_t len)
{
	const unsigned char *in = (const unsigned char *) data;
	const unsigned char *end = in + len - (len % 8);
	uint64		v0 = UINT64CONST(0x736f6d6570736575) ^ k[0];
	uint64		v1 = UINT64CONST(0x646f72616e646f6d) ^ k[1];
	uint64		v2 = UINT64CONST(0x6c7967656e657261) ^ k[0];
	uint64		v3 = UINT64CONST(0x7465646279746573) ^ k[1];
	uint64		b = ((uint64) len) << 56;

	for (; in != end; in += 8)
	{
		uint64		m = load64(in);

		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (int i = len % 8 - 1; i >= 0; i--)
		b |= ((uint64) in[i]) << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/*
 * Forget the cached key when privacy.pseudonym_key changes (called by
 * crm_privacy.c's relcache callback).
 */
void
crm_pseudonym_relcache(Oid relid)
{
	if (relid == InvalidOid || relid == key_relid)
	{
		key_loaded = false;
		key_relid = InvalidOid;
		explicit_bzero(key, sizeof(key));
		explicit_bzero(subkey, sizeof(subkey));
		if (subkey_context)
			pfree(subkey_context);
		subkey_context = NULL;
	}
}

/* The OID of privacy.pseudonym_key. */
static Oid
key_table(void)
{
	Oid			nsp = get_namespace_oid(CRM_SCHEMA, true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid("pseudonym_key", nsp) : InvalidOid;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension crm_privacy is not installed in this database")));
	return relid;
}

/*
 * On a Citus cluster the key is a reference table (privacy.citus_setup()):
 * the same rows on every node, in a shard that only a query reaches (the
 * table itself is an empty shell there, or holds the node's own key of
 * before).  Read it with a query, as the extension's owner.  The trigger
 * fires on every node's shard and drops the cache of the table itself.
 */
static void
load_key_citus(void)
{
	CrmOwnerContext ctx;
	bool		found = false;

	crm_become_owner(&ctx, true);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT k.key FROM privacy.pseudonym_key k ORDER BY k.id DESC LIMIT 1",
					true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the pseudonym key");
	if (SPI_processed == 1)
	{
		bool		isnull;
		bytea	   *k = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0],
													  SPI_tuptable->tupdesc, 1, &isnull));

		if (!isnull && VARSIZE_ANY_EXHDR(k) == KEY_LEN)
		{
			key[0] = load64((unsigned char *) VARDATA_ANY(k));
			key[1] = load64((unsigned char *) VARDATA_ANY(k) + 8);
			found = true;
			explicit_bzero(VARDATA_ANY(k), KEY_LEN);
		}
	}
	SPI_finish();
	crm_end_owner(&ctx);
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("crm_privacy has no pseudonym key"),
				 errhint("The extension's owner can make one with privacy.rotate_pseudonym_key().")));
	key_loaded = true;
}

/* Load the newest key of privacy.pseudonym_key into the cache. */
static void
load_key(void)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	int32		best_id = -1;
	Snapshot	snapshot;
	Oid			scan_relid;

	key_relid = key_table();
	scan_relid = key_relid;
	/* a reference table on Citus: this node's copy, or a query where it has none */
	if (crm_citus_table(key_relid))
	{
		scan_relid = crm_citus_local_copy(key_relid);
		if (!OidIsValid(scan_relid))
		{
			load_key_citus();
			return;
		}
	}
	rel = table_open(scan_relid, AccessShareLock);
	snapshot = ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot();
	scan = table_beginscan(rel, snapshot, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		int32		id = DatumGetInt32(heap_getattr(tup, 1, RelationGetDescr(rel), &isnull));
		bytea	   *k;

		if (isnull || id <= best_id)
			continue;
		k = DatumGetByteaPP(heap_getattr(tup, 2, RelationGetDescr(rel), &isnull));
		if (isnull || VARSIZE_ANY_EXHDR(k) != KEY_LEN)
			continue;
		key[0] = load64((unsigned char *) VARDATA_ANY(k));
		key[1] = load64((unsigned char *) VARDATA_ANY(k) + 8);
		best_id = id;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);

	if (best_id < 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("crm_privacy has no pseudonym key"),
				 errhint("The extension's owner can make one with privacy.rotate_pseudonym_key().")));
	key_loaded = true;
}

/* Derive the subkey of a context from a key: two tweaks give its two halves. */
static void
derive_subkey(const uint64 k[2], const char *context, int len, uint64 out[2])
{
	char	   *buf = palloc(len + 1);

	memcpy(buf + 1, context, len);
	buf[0] = 1;
	out[0] = siphash24(k, buf, len + 1);
	buf[0] = 2;
	out[1] = siphash24(k, buf, len + 1);
	pfree(buf);
}

/* The subkey of a context, derived from the key; cached for the last context. */
static const uint64 *
context_subkey(const char *context, int len)
{
	if (!key_loaded)
		load_key();
	if (subkey_context == NULL || (int) strlen(subkey_context) != len ||
		memcmp(subkey_context, context, len) != 0)
	{
		derive_subkey(key, context, len, subkey);
		if (subkey_context)
			pfree(subkey_context);
		subkey_context = MemoryContextAlloc(TopMemoryContext, len + 1);
		memcpy(subkey_context, context, len);
		subkey_context[len] = '\0';
	}
	return subkey;
}

/*
 * pseudonym() and pseudonym_int() are no oracle: only superusers and privacy
 * administrators may compute with the key.  The role found allowed is
 * remembered per call site (the FmgrInfo), so a row-by-row call costs a
 * comparison; another current user is checked again.
 */
static void
check_oracle(FunctionCallInfo fcinfo)
{
	Oid			userid = GetUserId();
	Oid		   *allowed = fcinfo->flinfo ? (Oid *) fcinfo->flinfo->fn_extra : NULL;

	if (allowed && *allowed == userid)
		return;
	if (!crm_is_privacy_admin(userid))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to compute pseudonyms"),
				 errdetail("Only superusers and privacy administrators may call this function: it computes with the secret key."),
				 errhint("Read pseudonyms through the privacy views.")));
	if (fcinfo->flinfo)
	{
		if (allowed == NULL)
			allowed = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(Oid));
		*allowed = userid;
		fcinfo->flinfo->fn_extra = allowed;
	}
}

/* The subkey of the optional context argument argno ('' when absent). */
static const uint64 *
subkey_arg(FunctionCallInfo fcinfo, int argno)
{
	check_oracle(fcinfo);
	if (PG_NARGS() > argno)
	{
		text	   *ctx = PG_GETARG_TEXT_PP(argno);

		return context_subkey(VARDATA_ANY(ctx), VARSIZE_ANY_EXHDR(ctx));
	}
	return context_subkey("", 0);
}

/* The subkey of a keyed function's (key, context) arguments, cached per call site. */
typedef struct KeyedCache
{
	unsigned char key[KEY_LEN];
	uint64		subkey[2];
	int			ctxlen;
	char		ctx[FLEXIBLE_ARRAY_MEMBER];
} KeyedCache;

static const uint64 *
keyed_subkey(FunctionCallInfo fcinfo, int keyarg, int ctxarg)
{
	bytea	   *k = PG_GETARG_BYTEA_PP(keyarg);
	text	   *ctx = PG_GETARG_TEXT_PP(ctxarg);
	int			ctxlen = VARSIZE_ANY_EXHDR(ctx);
	KeyedCache *cache = fcinfo->flinfo ? (KeyedCache *) fcinfo->flinfo->fn_extra : NULL;
	uint64		kk[2];

	if (VARSIZE_ANY_EXHDR(k) != KEY_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"key\" must have %d bytes", KEY_LEN)));
	if (cache && cache->ctxlen == ctxlen &&
		memcmp(cache->key, VARDATA_ANY(k), KEY_LEN) == 0 &&
		memcmp(cache->ctx, VARDATA_ANY(ctx), ctxlen) == 0)
		return cache->subkey;
	if (fcinfo->flinfo == NULL)
		cache = palloc(offsetof(KeyedCache, ctx) + ctxlen);
	else
	{
		if (cache == NULL || cache->ctxlen < ctxlen)
		{
			if (cache)
				pfree(cache);
			cache = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, offsetof(KeyedCache, ctx) + ctxlen);
			fcinfo->flinfo->fn_extra = cache;
		}
	}
	memcpy(cache->key, VARDATA_ANY(k), KEY_LEN);
	memcpy(cache->ctx, VARDATA_ANY(ctx), ctxlen);
	cache->ctxlen = ctxlen;
	kk[0] = load64(cache->key);
	kk[1] = load64(cache->key + 8);
	derive_subkey(kk, cache->ctx, ctxlen, cache->subkey);
	explicit_bzero(kk, sizeof(kk));
	return cache->subkey;
}

/* Round function of the Feistel networks: bits of SipHash of (round, half). */
static inline uint64
round_function(const uint64 *k, int round, uint64 half)
{
	unsigned char buf[9];

	buf[0] = (unsigned char) round;
	for (int i = 0; i < 8; i++)
		buf[i + 1] = (unsigned char) (half >> (8 * i));
	return siphash24(k, buf, sizeof(buf));
}

/* A keyed permutation of the 2 * halfbits-bit integers. */
static uint64
feistel(const uint64 *k, uint64 v, int halfbits)
{
	uint64		mask = (halfbits == 32) ? UINT64CONST(0xFFFFFFFF) : UINT64CONST(0xFFFF);
	uint64		left = (v >> halfbits) & mask;
	uint64		right = v & mask;

	for (int r = 0; r < FEISTEL_ROUNDS; r++)
	{
		uint64		next = left ^ (round_function(k, r, right) & mask);

		left = right;
		right = next;
	}
	return (left << halfbits) | right;
}

/*
 * Write the 16 hexadecimal digits of a text pseudonym to out.  The value is
 * hashed as UTF-8 whatever the database encoding, so that databases sharing
 * a key (export_pseudonym_key) give the same pseudonyms.
 */
static void
text_pseudonym(const uint64 *k, const char *value, int len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const char *utf8 = value;
	uint64		h;

	if (GetDatabaseEncoding() != PG_UTF8)
	{
		utf8 = pg_server_to_any(value, len, PG_UTF8);
		if (utf8 != value)
			len = strlen(utf8);
	}
	h = siphash24(k, utf8, len);
	if (utf8 != value)
		pfree((char *) utf8);

	for (int i = 15; i >= 0; i--, h >>= 4)
		out[i] = hex[h & 0xF];
}

/*
 * A copy of the key as bytea, for statements that compute pseudonyms with
 * keyed_pseudonym() as another role (erasure runs as the table's owner and
 * passes it as a parameter).  The caller wipes it when done.
 */
bytea *
crm_pseudonym_key(void)
{
	bytea	   *result = (bytea *) palloc(VARHDRSZ + KEY_LEN);

	if (!key_loaded)
		load_key();
	SET_VARSIZE(result, VARHDRSZ + KEY_LEN);
	for (int i = 0; i < 8; i++)
	{
		((unsigned char *) VARDATA(result))[i] = (unsigned char) (key[0] >> (8 * i));
		((unsigned char *) VARDATA(result))[8 + i] = (unsigned char) (key[1] >> (8 * i));
	}
	return result;
}

/* The text pseudonym of value in context, as a C string (for the audit). */
char *
crm_pseudonym_cstring(const char *value, int len, const char *context)
{
	char	   *out = palloc(17);

	text_pseudonym(context_subkey(context, strlen(context)), value, len, out);
	out[16] = '\0';
	return out;
}

/* The text pseudonym of v under subkey k, as a text datum. */
static text *
text_pseudonym_datum(const uint64 *k, text *v)
{
	text	   *result = (text *) palloc(VARHDRSZ + 16);

	text_pseudonym(k, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), VARDATA(result));
	SET_VARSIZE(result, VARHDRSZ + 16);
	return result;
}

/* SQL: privacy.pseudonym(text [, context text]) returns text. */
PG_FUNCTION_INFO_V1(crm_pseudonym_text);
Datum
crm_pseudonym_text(PG_FUNCTION_ARGS)
{
	text	   *v = PG_GETARG_TEXT_PP(0);

	PG_RETURN_TEXT_P(text_pseudonym_datum(subkey_arg(fcinfo, 1), v));
}

/* SQL: privacy.pseudonym(bigint [, context text]) returns bigint. */
PG_FUNCTION_INFO_V1(crm_pseudonym_int8);
Datum
crm_pseudonym_int8(PG_FUNCTION_ARGS)
{
	uint64		v = (uint64) PG_GETARG_INT64(0);

	PG_RETURN_INT64((int64) feistel(subkey_arg(fcinfo, 1), v, 32));
}

/* SQL: privacy.pseudonym_int(integer [, context text]) returns integer. */
PG_FUNCTION_INFO_V1(crm_pseudonym_int4);
Datum
crm_pseudonym_int4(PG_FUNCTION_ARGS)
{
	uint32		v = (uint32) PG_GETARG_INT32(0);

	PG_RETURN_INT32((int32) (uint32) feistel(subkey_arg(fcinfo, 1), v, 16));
}

/* SQL: privacy.keyed_pseudonym(text, key bytea, context text) returns text. */
PG_FUNCTION_INFO_V1(crm_keyed_pseudonym_text);
Datum
crm_keyed_pseudonym_text(PG_FUNCTION_ARGS)
{
	text	   *v = PG_GETARG_TEXT_PP(0);

	PG_RETURN_TEXT_P(text_pseudonym_datum(keyed_subkey(fcinfo, 1, 2), v));
}

/* SQL: privacy.keyed_pseudonym(bigint, key bytea, context text) returns bigint. */
PG_FUNCTION_INFO_V1(crm_keyed_pseudonym_int8);
Datum
crm_keyed_pseudonym_int8(PG_FUNCTION_ARGS)
{
	uint64		v = (uint64) PG_GETARG_INT64(0);

	PG_RETURN_INT64((int64) feistel(keyed_subkey(fcinfo, 1, 2), v, 32));
}

/* SQL: privacy.keyed_pseudonym_int(integer, key bytea, context text) returns integer. */
PG_FUNCTION_INFO_V1(crm_keyed_pseudonym_int4);
Datum
crm_keyed_pseudonym_int4(PG_FUNCTION_ARGS)
{
	uint32		v = (uint32) PG_GETARG_INT32(0);

	PG_RETURN_INT32((int32) (uint32) feistel(keyed_subkey(fcinfo, 1, 2), v, 16));
}

/*
 * A draw in [-1, 1] for keyed_noise(): SipHash of seed (the row's key) and
 * the value (argument 0; value_varlena for numeric) under the subkey of
 * (key, context) arguments keyarg and keyarg + 1, seed being argument
 * keyarg + 2.  Stable: the same row, column and value draw the same u.
 */
float8
crm_keyed_unit(FunctionCallInfo fcinfo, int keyarg, bool value_varlena)
{
	const uint64 *k = keyed_subkey(fcinfo, keyarg, keyarg + 1);
	text	   *seed = PG_GETARG_TEXT_PP(keyarg + 2);
	int			seedlen = VARSIZE_ANY_EXHDR(seed);
	Datum		value = PG_GETARG_DATUM(0);
	const char *vbytes;
	int			vlen;
	char	   *buf;
	uint64		h;

	/*
	 * The value is hashed too: a row whose value changes draws anew, so
	 * readings of one row over time do not keep the true ratio between its
	 * values.
	 */
	if (value_varlena)
	{
		struct varlena *n = PG_DETOAST_DATUM_PACKED(value);

		vbytes = VARDATA_ANY(n);
		vlen = VARSIZE_ANY_EXHDR(n);
	}
	else
	{
		vbytes = (const char *) &value;
		vlen = sizeof(Datum);
	}
	buf = palloc(seedlen + vlen);
	memcpy(buf, VARDATA_ANY(seed), seedlen);
	memcpy(buf + seedlen, vbytes, vlen);
	h = siphash24(k, buf, seedlen + vlen);
	pfree(buf);

	/* 53 bits give a double uniform in [0, 1), then [-1, 1) */
	return (float8) (h >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0;
}

/*
 * SQL: privacy.rotate_pseudonym_key().  Replace the key with a new one from
 * pg_strong_random; every pseudonym changes.  Runs as the extension's owner.
 */
PG_FUNCTION_INFO_V1(crm_rotate_pseudonym_key);
Datum
crm_rotate_pseudonym_key(PG_FUNCTION_ARGS)
{
	unsigned char newkey[KEY_LEN];
	bytea	   *value;
	Oid			argtypes[1] = {BYTEAOID};
	Datum		args[1];

	crm_require_privacy_admin();
	if (!pg_strong_random(newkey, KEY_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random pseudonym key")));
	value = (bytea *) palloc(VARHDRSZ + KEY_LEN);
	SET_VARSIZE(value, VARHDRSZ + KEY_LEN);
	memcpy(VARDATA(value), newkey, KEY_LEN);
	explicit_bzero(newkey, KEY_LEN);
	args[0] = PointerGetDatum(value);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("DELETE FROM privacy.pseudonym_key", false, 0) != SPI_OK_DELETE ||
		SPI_execute_with_args("INSERT INTO privacy.pseudonym_key (key) VALUES ($1)",
							  1, argtypes, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not store the new pseudonym key");
	SPI_finish();
	explicit_bzero(VARDATA(value), KEY_LEN);
	PG_RETURN_VOID();
}

/*
 * SQL: trigger privacy.pseudonym_key_changed, after any change to
 * privacy.pseudonym_key: every backend, this one included, reloads the key
 * once the change is committed (or at once here).
 */
PG_FUNCTION_INFO_V1(crm_pseudonym_key_changed);
Datum
crm_pseudonym_key_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function privacy.pseudonym_key_changed must be fired as a trigger")));
	/* (on a Citus node the trigger fires on a shard: the table is the key's) */
	CacheInvalidateRelcacheByRelid(key_table());
	return PointerGetDatum(NULL);
}
