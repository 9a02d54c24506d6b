/*
 * canon.c
 *	  Canonical encoding of stored values and entry hashes (version 1).
 *
 * Integers are big-endian; text is a presence byte (0 = NULL, 1 = value)
 * then a 4-byte length and the UTF-8 bytes; numerics are their canonical
 * decimal text; timestamps are microseconds since the Unix epoch; jsonb is
 * walked in its stored order (object keys sorted by byte length, then
 * bytes) with one tag byte per value.  See docs/architecture.md.
 */
#include "postgres.h"

#include "ledger/canon.h"
#include "ledger/amount.h"

#include <openssl/evp.h>

#include "utils/builtins.h"

void
canon_u8(StringInfo buf, uint8 v)
{
	appendStringInfoCharMacro(buf, (char) v);
}

void
canon_u32(StringInfo buf, uint32 v)
{
	uint8		b[4];

	b[0] = v >> 24;
	b[1] = v >> 16;
	b[2] = v >> 8;
	b[3] = v;
	appendBinaryStringInfo(buf, (const char *) b, 4);
}

void
canon_i64(StringInfo buf, int64 v)
{
	uint64		u = (uint64) v;
	uint8		b[8];

	for (int i = 7; i >= 0; i--, u >>= 8)
		b[i] = u & 0xff;
	appendBinaryStringInfo(buf, (const char *) b, 8);
}

void
canon_bytes(StringInfo buf, const void *data, uint32 len)
{
	canon_u32(buf, len);
	appendBinaryStringInfo(buf, data, len);
}

void
canon_text(StringInfo buf, const char *s)
{
	if (s == NULL)
	{
		canon_u8(buf, 0);
		return;
	}
	canon_u8(buf, 1);
	canon_bytes(buf, s, strlen(s));
}

void
canon_opt_i64(StringInfo buf, bool isnull, int64 v)
{
	canon_u8(buf, isnull ? 0 : 1);
	if (!isnull)
		canon_i64(buf, v);
}

void
canon_numeric(StringInfo buf, Numeric n)
{
	canon_text(buf, amount_text(n));
}

void
canon_timestamptz(StringInfo buf, TimestampTz t)
{
	/* PostgreSQL counts from 2000-01-01; the encoding counts from 1970. */
	canon_i64(buf, t + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY);
}

static void
canon_jsonb_scalar(StringInfo buf, JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			canon_u8(buf, 'z');
			break;
		case jbvBool:
			canon_u8(buf, 'b');
			canon_u8(buf, v->val.boolean ? 1 : 0);
			break;
		case jbvString:
			canon_u8(buf, 's');
			canon_bytes(buf, v->val.string.val, v->val.string.len);
			break;
		case jbvNumeric:
			{
				char	   *s = amount_text(v->val.numeric);

				canon_u8(buf, 'n');
				canon_bytes(buf, s, strlen(s));
				break;
			}
		default:
			elog(ERROR, "unexpected jsonb scalar type %d", v->type);
	}
}

void
canon_jsonb(StringInfo buf, Jsonb *jb)
{
	JsonbIterator *it = JsonbIteratorInit(&jb->root);
	JsonbValue	v;
	JsonbIteratorToken tok;
	bool		raw_scalar = false;

	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		switch (tok)
		{
			case WJB_BEGIN_OBJECT:
				canon_u8(buf, 'o');
				canon_u32(buf, v.val.object.nPairs);
				break;
			case WJB_BEGIN_ARRAY:
				/* a top-level scalar is stored as a one-element raw array */
				raw_scalar = v.val.array.rawScalar;
				if (!raw_scalar)
				{
					canon_u8(buf, 'a');
					canon_u32(buf, v.val.array.nElems);
				}
				break;
			case WJB_KEY:
			case WJB_VALUE:
			case WJB_ELEM:
				canon_jsonb_scalar(buf, &v);
				break;
			case WJB_END_OBJECT:
			case WJB_END_ARRAY:
			case WJB_DONE:
				break;
		}
	}
}

/*
 * SHA-256 through OpenSSL's EVP interface, with the digest fetched once per
 * backend (a fetch per call would dominate the cost of small messages).
 */
void
sha256(const void *data, size_t len, uint8 out[SHA256_LEN])
{
	static EVP_MD *md = NULL;
	static EVP_MD_CTX *ctx = NULL;
	unsigned int outlen;

	if (md == NULL)
	{
		md = EVP_MD_fetch(NULL, "SHA256", NULL);
		ctx = EVP_MD_CTX_new();
		if (md == NULL || ctx == NULL)
			elog(ERROR, "OpenSSL SHA-256 is not available");
	}
	if (EVP_DigestInit_ex2(ctx, md, NULL) != 1 ||
		EVP_DigestUpdate(ctx, data, len) != 1 ||
		EVP_DigestFinal_ex(ctx, out, &outlen) != 1)
		elog(ERROR, "OpenSSL SHA-256 failed");
}

void
entry_hash(const EntryImage *e, uint8 out[SHA256_LEN])
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, "TPW-ENTRY-v1", 12);
	canon_i64(&buf, e->id);
	canon_text(&buf, e->book);
	canon_text(&buf, e->kind);
	canon_timestamptz(&buf, e->occurred_at);
	canon_timestamptz(&buf, e->created_at);
	canon_text(&buf, e->created_by);
	canon_text(&buf, e->reference);
	canon_text(&buf, e->idempotency_key);
	canon_opt_i64(&buf, e->reverses_null, e->reverses);
	canon_opt_i64(&buf, e->hold_null, e->hold_id);
	canon_jsonb(&buf, e->metadata);
	canon_u32(&buf, e->nlegs);
	for (int i = 0; i < e->nlegs; i++)
	{
		canon_i64(&buf, e->leg_account[i]);
		canon_numeric(&buf, e->leg_amount[i]);
	}
	sha256(buf.data, buf.len, out);
	pfree(buf.data);
}
