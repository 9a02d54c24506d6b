/*
 * crypto_sql.c
 *	  Pure SQL-callable primitives: keccak256, rlp_encode/rlp_decode,
 *	  eth_address, ecrecover, verify_signature.
 *
 * None of these touch a table or a key; they are safe for anyone to call.
 * The jsonb form of RLP: an array is a list, a string starting with "0x"
 * is bytes in hex, any other string is its UTF-8 bytes, a non-negative
 * integer number is its minimal big-endian bytes (zero is the empty
 * string).  rlp_decode gives lists as arrays and every byte string as
 * "0x" hex, so rlp_encode(rlp_decode(x)) = x for every canonical x.
 */
#include "postgres.h"

#include "crypto/crypto_pg.h"
#include "crypto/hex.h"
#include "crypto/keccak.h"
#include "crypto/rlp.h"
#include "crypto/secp.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

/* Integers in rlp_encode: 1000 decimal digits is about 415 bytes. */
#define RLP_JSON_MAX_DIGITS 1000

static void *
rlp_palloc(size_t size)
{
	return palloc(size);
}

static void *
rlp_repalloc(void *ptr, size_t size)
{
	return ptr ? repalloc(ptr, size) : palloc(size);
}

static void
rlp_pfree(void *ptr)
{
	if (ptr)
		pfree(ptr);
}

const rlp_allocator tpw_palloc_allocator = {rlp_palloc, rlp_repalloc, rlp_pfree};

void
tpw_check_length(const char *what, size_t got, size_t want)
{
	if (got != want)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be %zu bytes, not %zu", what, want, got)));
}

bytea *
tpw_bytea_from(const void *data, size_t len)
{
	bytea	   *b = palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	if (len > 0)
		memcpy(VARDATA(b), data, len);
	return b;
}

char *
tpw_hex0x(const uint8 *data, size_t len)
{
	char	   *s = palloc(2 * len + 3);

	s[0] = '0';
	s[1] = 'x';
	tp_hex_encode(data, len, s + 2);
	return s;
}

/* ---------------------------------------------------------------- keccak */

PG_FUNCTION_INFO_V1(tpwallet_keccak256);

Datum
tpwallet_keccak256(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	uint8		out[KECCAK256_DIGEST_LEN];

	keccak256(TPW_BYTEA_PTR(in), TPW_BYTEA_LEN(in), out);
	PG_RETURN_BYTEA_P(tpw_bytea_from(out, sizeof(out)));
}

/* ---------------------------------------------------------------- rlp_encode */

static void
rlp_check(int rc, const char *what)
{
	if (rc == RLP_OK)
		return;
	if (rc == RLP_ERR_TOO_DEEP)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("RLP lists nest at most %d deep", RLP_MAX_DEPTH)));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("could not RLP-encode %s: %s", what, rlp_strerror(rc))));
}

/*
 * Decimal digits to minimal big-endian bytes: schoolbook base conversion,
 * little-endian accumulator.  Zero gives no bytes.
 */
static void
decimal_to_bytes(const char *digits, size_t ndigits, rlp_buf *buf)
{
	size_t		cap = ndigits / 2 + 2;
	uint8	   *le = palloc0(cap);
	size_t		used = 0;
	uint8	   *be;

	for (size_t i = 0; i < ndigits; i++)
	{
		unsigned	carry = (unsigned) (digits[i] - '0');

		for (size_t j = 0; j < used; j++)
		{
			unsigned	v = le[j] * 10u + carry;

			le[j] = v & 0xff;
			carry = v >> 8;
		}
		if (carry)
			le[used++] = (uint8) carry;
	}
	be = palloc(Max(used, 1));
	for (size_t j = 0; j < used; j++)
		be[j] = le[used - 1 - j];
	rlp_check(rlp_append_uint(buf, be, used), "an integer");
	pfree(le);
	pfree(be);
}

static void
rlp_encode_number(Numeric num, rlp_buf *buf)
{
	char	   *s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(num)));
	size_t		n = strcspn(s, ".");

	if (s[0] == '-')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("RLP cannot encode the negative number %s", s),
				 errhint("RLP integers are non-negative; encode signed values as bytes yourself.")));
	if (s[n] == '.' && strspn(s + n + 1, "0") != strlen(s + n + 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("RLP cannot encode the fractional number %s", s),
				 errhint("Pass an integer, or a \"0x\" hex string for raw bytes.")));
	while (n > 1 && s[0] == '0')
	{
		s++;
		n--;
	}
	if (n > RLP_JSON_MAX_DIGITS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("integer too large for rlp_encode (%zu digits, at most %d)", n, RLP_JSON_MAX_DIGITS)));
	if (n == 1 && s[0] == '0')
		n = 0;
	decimal_to_bytes(s, n, buf);
}

static void
rlp_encode_string(const char *s, int len, rlp_buf *buf)
{
	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
	{
		size_t		cap = (size_t) len / 2;
		uint8	   *bytes = palloc(Max(cap, 1));
		size_t		got;
		int			rc = tp_hex_decode(s, len, bytes, cap, &got);

		if (rc != HEX_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid hex string in rlp_encode: %s", tp_hex_strerror(rc)),
					 errdetail("The string is \"%.*s\".", Min(len, 80), s),
					 errhint("A string starting with 0x must be an even number of hex digits; other strings are encoded as UTF-8.")));
		rlp_check(rlp_append_bytes(buf, bytes, got), "a byte string");
		pfree(bytes);
	}
	else
		rlp_check(rlp_append_bytes(buf, (const uint8 *) s, len), "a string");
}

static void
rlp_encode_scalar(JsonbValue *v, rlp_buf *buf)
{
	switch (v->type)
	{
		case jbvString:
			rlp_encode_string(v->val.string.val, v->val.string.len, buf);
			break;
		case jbvNumeric:
			rlp_encode_number(v->val.numeric, buf);
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("RLP cannot encode JSON %s",
							v->type == jbvNull ? "null" : v->type == jbvBool ? "booleans" : "this value"),
					 errhint("Use arrays (lists), strings (\"0x\" hex or UTF-8) and non-negative integers.")));
	}
}

PG_FUNCTION_INFO_V1(tpwallet_rlp_encode);

Datum
tpwallet_rlp_encode(PG_FUNCTION_ARGS)
{
	Jsonb	   *jb = PG_GETARG_JSONB_P(0);
	JsonbIterator *it = JsonbIteratorInit(&jb->root);
	JsonbIteratorToken tok;
	JsonbValue	v;
	rlp_buf		buf;
	bool		raw_scalar = JB_ROOT_IS_SCALAR(jb);

	rlp_buf_init(&buf, &tpw_palloc_allocator);
	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		switch (tok)
		{
			case WJB_BEGIN_ARRAY:
				/* a bare scalar is stored as a one-element pseudo-array */
				if (!raw_scalar)
					rlp_check(rlp_list_begin(&buf), "a list");
				break;
			case WJB_END_ARRAY:
				if (!raw_scalar)
					rlp_check(rlp_list_end(&buf), "a list");
				break;
			case WJB_ELEM:
				rlp_encode_scalar(&v, &buf);
				break;
			default:
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("RLP cannot encode JSON objects"),
						 errhint("Use arrays (lists), strings (\"0x\" hex or UTF-8) and non-negative integers.")));
		}
	}
	rlp_check(rlp_buf_finish(&buf), "the value");
	PG_RETURN_BYTEA_P(tpw_bytea_from(buf.data, buf.len));
}

/* ---------------------------------------------------------------- rlp_decode */

static JsonbValue *
push_rlp_item(JsonbParseState **state, const rlp_item *item, bool top)
{
	JsonbValue *done = NULL;

	if (!item->is_list)
	{
		JsonbValue	s;

		s.type = jbvString;
		s.val.string.val = tpw_hex0x(item->payload, item->payload_len);
		s.val.string.len = 2 + 2 * item->payload_len;
		if (top)
		{
			/* a bare string at the top: jsonb's raw-scalar pseudo-array */
			JsonbValue	arr;

			arr.type = jbvArray;
			arr.val.array.rawScalar = true;
			arr.val.array.nElems = 1;
			pushJsonbValue(state, WJB_BEGIN_ARRAY, &arr);
			pushJsonbValue(state, WJB_ELEM, &s);
			return pushJsonbValue(state, WJB_END_ARRAY, NULL);
		}
		pushJsonbValue(state, WJB_ELEM, &s);
		return NULL;
	}

	{
		rlp_iter	it;
		rlp_item	child;
		int			rc;

		check_stack_depth();
		rlp_iter_init(&it, item);
		pushJsonbValue(state, WJB_BEGIN_ARRAY, NULL);
		while ((rc = rlp_iter_next(&it, &child)) == 1)
			push_rlp_item(state, &child, false);
		if (rc < 0)
			elog(ERROR, "RLP item changed after validation: %s", rlp_strerror(rc));
		done = pushJsonbValue(state, WJB_END_ARRAY, NULL);
	}
	/* the value of the outermost list, once it is closed */
	return done;
}

PG_FUNCTION_INFO_V1(tpwallet_rlp_decode);

Datum
tpwallet_rlp_decode(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	rlp_item	item;
	JsonbParseState *state = NULL;
	int			rc;

	rc = rlp_decode_exact(TPW_BYTEA_PTR(in), TPW_BYTEA_LEN(in), &item);
	if (rc != RLP_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid RLP: %s", rlp_strerror(rc)),
				 errdetail("The input has %zu bytes.", TPW_BYTEA_LEN(in)),
				 errhint("Only the canonical encoding of one item, with no trailing bytes, is accepted.")));
	PG_RETURN_JSONB_P(JsonbValueToJsonb(push_rlp_item(&state, &item, true)));
}

/* ---------------------------------------------------------------- addresses, signatures */

static void
pubkey_arg(bytea *b, secp256k1_pubkey *pub)
{
	const uint8 *p = TPW_BYTEA_PTR(b);
	size_t		len = TPW_BYTEA_LEN(b);

	/* Ethereum tooling often passes X || Y without the 0x04 prefix */
	if (len == 64)
	{
		uint8		full[TPW_PUBKEY_UNCOMPRESSED_LEN];

		full[0] = 0x04;
		memcpy(full + 1, p, 64);
		tpw_secp_pubkey_parse(full, sizeof(full), pub);
		return;
	}
	tpw_secp_pubkey_parse(p, len, pub);
}

static text *
address_text(const secp256k1_pubkey *pub)
{
	uint8		addr[TPW_ADDRESS_LEN];
	char		out[43];

	tpw_eth_address_bytes(pub, addr);
	tpw_eth_address_checksummed(addr, out);
	return cstring_to_text(out);
}

PG_FUNCTION_INFO_V1(tpwallet_eth_address);

Datum
tpwallet_eth_address(PG_FUNCTION_ARGS)
{
	secp256k1_pubkey pub;

	pubkey_arg(PG_GETARG_BYTEA_PP(0), &pub);
	PG_RETURN_TEXT_P(address_text(&pub));
}

PG_FUNCTION_INFO_V1(tpwallet_ecrecover);

Datum
tpwallet_ecrecover(PG_FUNCTION_ARGS)
{
	bytea	   *digest = PG_GETARG_BYTEA_PP(0);
	bytea	   *sig = PG_GETARG_BYTEA_PP(1);
	secp256k1_pubkey pub;

	tpw_check_length("digest", TPW_BYTEA_LEN(digest), TPW_DIGEST_LEN);
	tpw_check_length("signature", TPW_BYTEA_LEN(sig), TPW_SIGNATURE_LEN);
	if (!tpw_secp_recover(TPW_BYTEA_PTR(digest), TPW_BYTEA_PTR(sig), &pub))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(address_text(&pub));
}

PG_FUNCTION_INFO_V1(tpwallet_verify_signature);

Datum
tpwallet_verify_signature(PG_FUNCTION_ARGS)
{
	bytea	   *digest = PG_GETARG_BYTEA_PP(1);
	bytea	   *sig = PG_GETARG_BYTEA_PP(2);
	secp256k1_pubkey pub;

	pubkey_arg(PG_GETARG_BYTEA_PP(0), &pub);
	tpw_check_length("digest", TPW_BYTEA_LEN(digest), TPW_DIGEST_LEN);
	PG_RETURN_BOOL(tpw_secp_verify(&pub, TPW_BYTEA_PTR(digest), TPW_BYTEA_PTR(sig), TPW_BYTEA_LEN(sig)));
}

PG_FUNCTION_INFO_V1(tpwallet_pubkey_uncompressed);

Datum
tpwallet_pubkey_uncompressed(PG_FUNCTION_ARGS)
{
	secp256k1_pubkey pub;
	uint8		out[TPW_PUBKEY_UNCOMPRESSED_LEN];

	pubkey_arg(PG_GETARG_BYTEA_PP(0), &pub);
	tpw_secp_pubkey_serialize(&pub, false, out);
	PG_RETURN_BYTEA_P(tpw_bytea_from(out, sizeof(out)));
}
