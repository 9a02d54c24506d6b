/*
 * canon.h
 *	  The canonical, length-prefixed byte encoding of stored ledger values
 *	  that entry hashes are computed over, and SHA-256.
 *
 * docs/architecture.md ("Entry hash v1") specifies the encoding so that an
 * auditor can recompute hashes without tpwallet.  Never hash jsonb text:
 * its text form is not a stable contract; the walk below is.
 */
#ifndef TPWALLET_CANON_H
#define TPWALLET_CANON_H

#include "postgres.h"
#include "lib/stringinfo.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#define SHA256_LEN 32
#define ENTRY_HASH_VERSION 1

extern void canon_u8(StringInfo buf, uint8 v);
extern void canon_u32(StringInfo buf, uint32 v);
extern void canon_i64(StringInfo buf, int64 v);
extern void canon_bytes(StringInfo buf, const void *data, uint32 len);
extern void canon_text(StringInfo buf, const char *s);	/* NULL-able */
extern void canon_opt_i64(StringInfo buf, bool isnull, int64 v);
extern void canon_numeric(StringInfo buf, Numeric n);
extern void canon_timestamptz(StringInfo buf, TimestampTz t);
extern void canon_jsonb(StringInfo buf, Jsonb *jb);

extern void sha256(const void *data, size_t len, uint8 out[SHA256_LEN]);

/* Everything an entry hash covers, as stored. */
typedef struct EntryImage
{
	int64		id;
	const char *book;
	const char *kind;
	TimestampTz occurred_at;
	TimestampTz created_at;
	const char *created_by;
	const char *reference;		/* NULL-able */
	const char *idempotency_key;	/* NULL-able */
	bool		reverses_null;
	int64		reverses;
	bool		hold_null;
	int64		hold_id;
	Jsonb	   *metadata;
	int			nlegs;
	int64	   *leg_account;	/* in leg order */
	Numeric    *leg_amount;		/* signed: debit > 0, credit < 0 */
} EntryImage;

extern void entry_hash(const EntryImage *e, uint8 out[SHA256_LEN]);

#endif
