/*-------------------------------------------------------------------------
 *
 * test_ethtx.c
 *	  Unit tests for src/crypto/ethtx: uint256 quantities and Ethereum
 *	  transaction encoding and strict decoding.
 *
 * Plain C, no framework.  Prints one line per failure and, last, exactly
 * "N passed, M failed"; exits non-zero if anything failed.
 *
 * Vectors:
 * - EIP-155's worked example (signing data, signing hash, v r s, signed
 *   transaction), as published in the EIP.
 * - A pre-EIP-155 mainnet transaction (hash 0x0c79e3ae...): keccak of the
 *   raw bytes must give its published hash.
 * - EIP-1559 transactions from ethereumjs' test data (packages/tx/test/
 *   json/eip1559.json, unwrapped from their RLP byte-string envelope).
 *
 * The signing hashes asserted for the mainnet and ethereumjs transactions
 * were checked independently of this code: recovering the public key from
 * (hash, r, s, recovery id) with a separate secp256k1 implementation gives
 * the vector's private key's public key (or, for the mainnet transaction,
 * its published sender).  The access-list transaction takes its fields
 * from ethereumjs' eip1559txs.json, whose signature does not verify; its
 * signing hash was instead cross-checked with a separate RLP encoder.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ethtx.h"
#include "keccak.h"
#include "rlp.h"

/* Repeated hex bytes as one string literal: HEX20("cc") is 20 bytes. */
#define HEX4(b)		b b b b
#define HEX16(b)	HEX4(b) HEX4(b) HEX4(b) HEX4(b)
#define HEX19(b)	HEX16(b) b b b
#define HEX20(b)	HEX16(b) HEX4(b)
#define HEX31(b)	HEX16(b) HEX4(b) HEX4(b) HEX4(b) b b b
#define HEX32(b)	HEX16(b) HEX16(b)
#define HEX33(b)	HEX32(b) b

/* A 32-byte big-endian number from a hex literal of up to 64 digits. */
static void
u256_hex(const char *s, uint8_t out[32])
{
	uint8_t		tmp[32];
	size_t		len = unhex(s, tmp, sizeof(tmp));

	memset(out, 0, 32);
	memcpy(out + 32 - len, tmp, len);
}

/* A 32-byte number from a decimal literal (via the parser under test). */
static void
u256_dec(const char *s, uint8_t out[32])
{
	if (eth_uint256_parse(s, strlen(s), out) != ETH_OK)
	{
		printf("bad decimal literal in test: %s\n", s);
		abort();
	}
}

/* check.h's counting hooks: leaks, call counts and the largest request */
static const rlp_allocator counting = {count_alloc, count_realloc, count_free};
static const rlp_allocator failing = {fail_alloc, fail_realloc, count_free};

/* ------------------------------------------------------------ quantities */

/* Parse s; on ETH_OK the value must equal want (hex, up to 64 digits). */
static void
check_parse_impl(const char *s, size_t len, int want_rc, const char *want,
				 int line)
{
	uint8_t		got[32];
	uint8_t		expect[32];
	int			rc;

	memset(got, 0xee, sizeof(got));
	rc = eth_uint256_parse(s, len, got);
	if (rc != want_rc)
	{
		check_fail("%s:%d: parse \"%.*s\" == %d, want %d", __FILE__, line,
				   (int) (len > 80 ? 80 : len), s, rc, want_rc);
		return;
	}
	if (rc != ETH_OK)
	{
		/* failures never write the output */
		memset(expect, 0xee, sizeof(expect));
		check_impl(memcmp(got, expect, 32) == 0, "output untouched",
				   __FILE__, line);
		return;
	}
	u256_hex(want, expect);
	check_impl(memcmp(got, expect, 32) == 0, s, __FILE__, line);
}

#define CHECK_PARSE(s, rc, want) \
	check_parse_impl((s), strlen(s), (rc), (want), __LINE__)

static const char max_dec[] =
"115792089237316195423570985008687907853269984665640564039457584007913129639935";
static const char max_plus1_dec[] =
"115792089237316195423570985008687907853269984665640564039457584007913129639936";
static const char max_hex[] = "0x" HEX32("ff");

static void
test_quantity_parse(void)
{
	char		buf[300];
	uint8_t		v[32];

	/* hex */
	CHECK_PARSE("0x0", ETH_OK, "00");
	CHECK_PARSE("0x00", ETH_OK, "00");
	CHECK_PARSE("0x1", ETH_OK, "01");
	CHECK_PARSE("0xff", ETH_OK, "ff");
	CHECK_PARSE("0x100", ETH_OK, "0100");
	CHECK_PARSE("0XaBcD", ETH_OK, "abcd");
	CHECK_PARSE("0x0de0b6b3a7640000", ETH_OK, "0de0b6b3a7640000");
	CHECK_PARSE(max_hex, ETH_OK, HEX32("ff"));
	CHECK_PARSE("0x1" HEX32("00"), ETH_ERR_OUT_OF_RANGE, NULL);
	CHECK_PARSE("0x" HEX32("ff") "f", ETH_ERR_OUT_OF_RANGE, NULL);
	/* leading zeros are tolerated, however many */
	CHECK_PARSE("0x" HEX32("00") HEX32("00") "7", ETH_OK, "07");
	CHECK_PARSE("0x000" HEX32("ff"), ETH_OK, HEX32("ff"));
	CHECK_PARSE("0x", ETH_ERR_INVALID_NUMBER, NULL);
	CHECK_PARSE("0X", ETH_ERR_INVALID_NUMBER, NULL);
	CHECK_PARSE("0xg", ETH_ERR_INVALID_NUMBER, NULL);
	CHECK_PARSE("0x1g", ETH_ERR_INVALID_NUMBER, NULL);
	CHECK_PARSE("0x 1", ETH_ERR_INVALID_NUMBER, NULL);
	CHECK_PARSE("0x0x1", ETH_ERR_INVALID_NUMBER, NULL);
	CHECK_PARSE("x1", ETH_ERR_INVALID_NUMBER, NULL);
	CHECK_PARSE("0xff ", ETH_ERR_INVALID_NUMBER, NULL);
	/* syntax is judged before range */
	CHECK_PARSE("0x1" HEX32("00") "z", ETH_ERR_INVALID_NUMBER, NULL);

	/* decimal */
	CHECK_PARSE("0", ETH_OK, "00");
	CHECK_PARSE("1", ETH_OK, "01");
	CHECK_PARSE("255", ETH_OK, "ff");
	CHECK_PARSE("256", ETH_OK, "0100");
	CHECK_PARSE("1000000000000000000", ETH_OK, "0de0b6b3a7640000");
	CHECK_PARSE("18446744073709551615", ETH_OK, "ffffffffffffffff");
	CHECK_PARSE("18446744073709551616", ETH_OK, "010000000000000000");
	CHECK_PARSE("007", ETH_OK, "07");
	CHECK_PARSE("0000", ETH_OK, "00");
	CHECK_PARSE(max_dec, ETH_OK, HEX32("ff"));
	CHECK_PARSE(max_plus1_dec, ETH_ERR_OUT_OF_RANGE, NULL);
	snprintf(buf, sizeof(buf), "000%s", max_dec);
	CHECK_PARSE(buf, ETH_OK, HEX32("ff"));
	snprintf(buf, sizeof(buf), "%s0", max_dec);
	CHECK_PARSE(buf, ETH_ERR_OUT_OF_RANGE, NULL);
	memset(buf, '9', 200);
	buf[200] = '\0';
	CHECK_PARSE(buf, ETH_ERR_OUT_OF_RANGE, NULL);
	buf[199] = 'x';
	CHECK_PARSE(buf, ETH_ERR_INVALID_NUMBER, NULL);

	/* signs */
	CHECK_PARSE("-1", ETH_ERR_NEGATIVE, NULL);
	CHECK_PARSE("-0", ETH_ERR_NEGATIVE, NULL);
	CHECK_PARSE("-0x1", ETH_ERR_NEGATIVE, NULL);
	snprintf(buf, sizeof(buf), "-%s", max_plus1_dec);
	CHECK_PARSE(buf, ETH_ERR_NEGATIVE, NULL);
	CHECK_PARSE("-", ETH_ERR_INVALID_NUMBER, NULL);
	CHECK_PARSE("-x", ETH_ERR_INVALID_NUMBER, NULL);
	CHECK_PARSE("--1", ETH_ERR_INVALID_NUMBER, NULL);
	CHECK_PARSE("+1", ETH_ERR_INVALID_NUMBER, NULL);

	/* everything else */
	CHECK_PARSE("", ETH_ERR_INVALID_NUMBER, NULL);
	CHECK_PARSE("1e18", ETH_ERR_INVALID_NUMBER, NULL);
	CHECK_PARSE("12.5", ETH_ERR_INVALID_NUMBER, NULL);
	CHECK_PARSE("12.", ETH_ERR_INVALID_NUMBER, NULL);
	CHECK_PARSE(" 1", ETH_ERR_INVALID_NUMBER, NULL);
	CHECK_PARSE("1 ", ETH_ERR_INVALID_NUMBER, NULL);
	CHECK_PARSE("1_000", ETH_ERR_INVALID_NUMBER, NULL);
	CHECK_PARSE("1,000", ETH_ERR_INVALID_NUMBER, NULL);
	CHECK_PARSE("ff", ETH_ERR_INVALID_NUMBER, NULL);
	CHECK_PARSE("\xd9\xa1", ETH_ERR_INVALID_NUMBER, NULL); /* Arabic-Indic 1 */
	check_parse_impl("1\0" "2", 3, ETH_ERR_INVALID_NUMBER, NULL, __LINE__);
	check_parse_impl("12", 1, ETH_OK, "01", __LINE__);	/* len, not NUL */
	CHECK_INT(eth_uint256_parse(NULL, 0, v), ETH_ERR_INVALID_NUMBER);
}

static void
check_format(const char *value_hex, const char *want_dec, const char *want_q)
{
	uint8_t		v[32];
	char		dec[ETH_UINT256_DECIMAL_LEN];
	char		q[ETH_UINT256_QUANTITY_LEN];

	u256_hex(value_hex, v);
	eth_uint256_to_decimal(v, dec);
	eth_uint256_to_quantity(v, q);
	CHECK(strcmp(dec, want_dec) == 0);
	CHECK(strcmp(q, want_q) == 0);
}

static void
test_quantity_format(void)
{
	uint8_t		v[32];
	uint8_t		back[32];
	uint64_t	u;
	int			i;
	int			bad = 0;

	check_format("00", "0", "0x0");
	check_format("01", "1", "0x1");
	check_format("0a", "10", "0xa");
	check_format("0100", "256", "0x100");
	check_format("0de0b6b3a7640000", "1000000000000000000", "0xde0b6b3a7640000");
	check_format(HEX32("ff"), max_dec, max_hex);

	eth_uint256_from_u64(UINT64_MAX, v);
	CHECK_HEX(v, 32, HEX16("00") HEX4("00") HEX4("00") HEX4("ff") HEX4("ff"));
	CHECK_INT(eth_uint256_to_u64(v, &u), ETH_OK);
	CHECK(u == UINT64_MAX);
	eth_uint256_from_u64(0, v);
	CHECK_INT(eth_uint256_to_u64(v, &u), ETH_OK);
	CHECK(u == 0);
	u = 42;
	u256_hex("010000000000000000", v);
	CHECK_INT(eth_uint256_to_u64(v, &u), ETH_ERR_OUT_OF_RANGE);
	CHECK(u == 42);

	/* random values of every width survive both text forms */
	for (i = 0; i < 2000; i++)
	{
		char		dec[ETH_UINT256_DECIMAL_LEN];
		char		q[ETH_UINT256_QUANTITY_LEN];
		size_t		width = (size_t) (rng_next() % 33);

		memset(v, 0, sizeof(v));
		rng_fill(v + 32 - width, width);
		eth_uint256_to_decimal(v, dec);
		eth_uint256_to_quantity(v, q);
		if (eth_uint256_parse(dec, strlen(dec), back) != ETH_OK ||
			memcmp(back, v, 32) != 0)
			bad++;
		if (eth_uint256_parse(q, strlen(q), back) != ETH_OK ||
			memcmp(back, v, 32) != 0)
			bad++;
		/* minimal forms: no leading zeros */
		if ((dec[0] == '0' && dec[1] != '\0') ||
			(q[2] == '0' && q[3] != '\0'))
			bad++;
	}
	CHECK_INT(bad, 0);
}

/* --------------------------------------------------------- transactions */

static const char eip155_payload[] =
"ec098504a817c800825208943535353535353535353535353535353535353535"
"880de0b6b3a764000080018080";
static const char eip155_hash[] =
"daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53";
static const char eip155_r[] =
"18515461264373351373200002665853028612451056578545711640558177340181847433846";
static const char eip155_s[] =
"46948507304638947509940763649030358759909902576025900602547168820602576006531";
static const char eip155_signed[] =
"f86c098504a817c800825208943535353535353535353535353535353535353535"
"880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c"
"71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc"
"64214b297fb1966a3b6d83";

static void
eip155_tx(eth_tx *tx)
{
	memset(tx, 0, sizeof(*tx));
	tx->type = ETH_TX_LEGACY;
	eth_uint256_from_u64(9, tx->nonce);
	u256_dec("20000000000", tx->gas_price);
	eth_uint256_from_u64(21000, tx->gas);
	tx->has_to = 1;
	memset(tx->to, 0x35, 20);
	u256_dec("1000000000000000000", tx->value);
	eth_uint256_from_u64(1, tx->chain_id);
}

/* The fields both transactions define must agree. */
static int
same_tx(const eth_tx *a, const eth_tx *b)
{
	size_t		i;

	if (a->type != b->type || a->has_to != b->has_to ||
		a->data_len != b->data_len || a->pre_eip155 != b->pre_eip155 ||
		memcmp(a->chain_id, b->chain_id, 32) != 0 ||
		memcmp(a->nonce, b->nonce, 32) != 0 ||
		memcmp(a->gas, b->gas, 32) != 0 ||
		memcmp(a->value, b->value, 32) != 0 ||
		(a->has_to && memcmp(a->to, b->to, 20) != 0) ||
		(a->data_len > 0 && memcmp(a->data, b->data, a->data_len) != 0))
		return 0;
	if (a->type == ETH_TX_LEGACY)
		return memcmp(a->gas_price, b->gas_price, 32) == 0;

	if (memcmp(a->max_priority_fee_per_gas, b->max_priority_fee_per_gas, 32) != 0 ||
		memcmp(a->max_fee_per_gas, b->max_fee_per_gas, 32) != 0 ||
		a->n_access != b->n_access)
		return 0;
	for (i = 0; i < a->n_access; i++)
	{
		const eth_access_entry *x = &a->access_list[i];
		const eth_access_entry *y = &b->access_list[i];

		if (memcmp(x->address, y->address, 20) != 0 || x->n_keys != y->n_keys ||
			(x->n_keys > 0 && memcmp(x->keys, y->keys, 32 * x->n_keys) != 0))
			return 0;
	}
	return 1;
}

/*
 * Decode raw, compare with want (when given), check the signature fields,
 * re-encode with the decoded signature (must be byte-identical) and
 * return the decoded signing hash.  Uses the counting allocator and
 * checks that nothing leaks.
 */
static void
check_round_trip(const uint8_t *raw, size_t len, const eth_tx *want,
				 int want_y, uint8_t hash[32])
{
	eth_tx		tx;
	uint8_t    *again = NULL;
	size_t		again_len = 0;

	alloc_reset();
	CHECK_INT(eth_tx_decode(raw, len, &counting, &tx), ETH_OK);
	CHECK_INT(tx.has_signature, 1);
	CHECK_INT(tx.y_parity, want_y);
	if (want != NULL)
		CHECK(same_tx(&tx, want));
	CHECK_INT(eth_tx_encode_signed(&tx, tx.y_parity, tx.r, tx.s, &counting,
								   &again, &again_len), ETH_OK);
	CHECK(again_len == len && again != NULL && memcmp(again, raw, len) == 0);
	CHECK_INT(eth_tx_signing_hash(&tx, &counting, hash), ETH_OK);
	count_free(again);
	eth_tx_free(&tx, &counting);
	CHECK_INT(alloc_live, 0);
	/* one block for data and access list, a few for the encoders */
	CHECK(alloc_max <= 3 * len + 64);
}

/* Encode tx signed with (y, r, s), then check_round_trip() the result. */
static void
check_signed_round_trip(const eth_tx *tx, int y, const uint8_t r[32],
						const uint8_t s[32], uint8_t hash[32])
{
	uint8_t    *out = NULL;
	size_t		out_len = 0;

	CHECK_INT(eth_tx_encode_signed(tx, y, r, s, NULL, &out, &out_len), ETH_OK);
	if (out == NULL)
		return;
	check_round_trip(out, out_len, tx, y, hash);
	free(out);
}

static void
test_eip155_example(void)
{
	eth_tx		tx;
	eth_tx		dec;
	uint8_t    *out;
	size_t		out_len;
	uint8_t		hash[32];
	uint8_t		r[32];
	uint8_t		s[32];
	uint8_t		raw[200];
	size_t		raw_len;
	char		text[ETH_UINT256_DECIMAL_LEN];

	eip155_tx(&tx);
	CHECK_INT(eth_tx_signing_payload(&tx, NULL, &out, &out_len), ETH_OK);
	CHECK_HEX(out, out_len, eip155_payload);
	free(out);
	CHECK_INT(eth_tx_signing_hash(&tx, NULL, hash), ETH_OK);
	CHECK_HEX(hash, 32, eip155_hash);

	u256_dec(eip155_r, r);
	u256_dec(eip155_s, s);
	CHECK_INT(eth_tx_encode_signed(&tx, 0, r, s, NULL, &out, &out_len), ETH_OK);
	CHECK_HEX(out, out_len, eip155_signed);
	free(out);

	/* decode it back: every field */
	raw_len = unhex(eip155_signed, raw, sizeof(raw));
	CHECK_INT(eth_tx_decode(raw, raw_len, NULL, &dec), ETH_OK);
	CHECK_INT(dec.type, ETH_TX_LEGACY);
	CHECK_INT(dec.pre_eip155, 0);
	CHECK(same_tx(&dec, &tx));
	CHECK_HEX(dec.nonce, 32, HEX31("00") "09");
	CHECK_HEX(dec.gas_price + 27, 5, "04a817c800");
	CHECK_HEX(dec.gas + 30, 2, "5208");
	CHECK_HEX(dec.to, 20, HEX20("35"));
	CHECK_INT(dec.has_to, 1);
	eth_uint256_to_decimal(dec.value, text);
	CHECK(strcmp(text, "1000000000000000000") == 0);
	CHECK_INT(dec.data_len, 0);
	CHECK(dec.data == NULL);
	CHECK_INT(dec.n_access, 0);
	CHECK(dec.access_list == NULL);
	CHECK(dec.owned == NULL);	/* nothing to copy, nothing allocated */
	CHECK_HEX(dec.chain_id, 32, HEX31("00") "01");
	CHECK_HEX(dec.v, 32, HEX31("00") "25");	/* 37 */
	CHECK_INT(dec.has_signature, 1);
	CHECK_INT(dec.y_parity, 0);
	CHECK(memcmp(dec.r, r, 32) == 0);
	CHECK(memcmp(dec.s, s, 32) == 0);
	CHECK_INT(eth_tx_signing_hash(&dec, NULL, hash), ETH_OK);
	CHECK_HEX(hash, 32, eip155_hash);
	eth_tx_free(&dec, NULL);

	check_round_trip(raw, raw_len, &tx, 0, hash);
	CHECK_HEX(hash, 32, eip155_hash);

	/* recovery id 1 gives v = 38 */
	CHECK_INT(eth_tx_encode_signed(&tx, 1, r, s, NULL, &out, &out_len), ETH_OK);
	CHECK(out_len == raw_len && out[raw_len - 67] == 0x26);
	CHECK_INT(eth_tx_decode(out, out_len, NULL, &dec), ETH_OK);
	CHECK_INT(dec.y_parity, 1);
	free(out);
}

/*
 * Mainnet transaction 0x0c79e3ae..., a pre-EIP-155 signature (v = 27):
 * the signing hash covers only the first six fields.
 */
static const char frontier_signed[] =
"f8708308f7da8506fc23ac0083015f9094ef9f4c1d4103d42e05d54063337086d6"
"884aee9a880e0c8912851e356c801ba04ed3077c674d49918f3dce6e25781070fc"
"e36b915e4c36554e704556f6a3e00ba03974fb9426ce34d0c520f1245e75f5b14a"
"62795dd01c69063079a5353eb6cfb7";
static const char frontier_hash[] =
"0c79e3ae36150eb36d6a631cc8d6250db4b9b832a82ac58ea356357f5987debe";
static const char frontier_signing_hash[] =
"6711ee8b7230afa3d51902abaa1bfbc174b98f4ec05289ef54ee705be8035393";

static void
test_pre_eip155(void)
{
	uint8_t		raw[200];
	size_t		raw_len = unhex(frontier_signed, raw, sizeof(raw));
	uint8_t		hash[32];
	uint8_t    *out;
	size_t		out_len;
	eth_tx		tx;

	keccak256(raw, raw_len, hash);
	CHECK_HEX(hash, 32, frontier_hash);

	CHECK_INT(eth_tx_decode(raw, raw_len, NULL, &tx), ETH_OK);
	CHECK_INT(tx.pre_eip155, 1);
	CHECK_INT(tx.y_parity, 0);
	CHECK_HEX(tx.v + 31, 1, "1b");
	CHECK_HEX(tx.chain_id, 32, HEX32("00"));
	CHECK_HEX(tx.nonce + 29, 3, "08f7da");
	CHECK_HEX(tx.to, 20, "ef9f4c1d4103d42e05d54063337086d6884aee9a");

	/* six fields, no chain id */
	CHECK_INT(eth_tx_signing_payload(&tx, NULL, &out, &out_len), ETH_OK);
	CHECK_HEX(out, out_len,
			  "ed8308f7da8506fc23ac0083015f9094ef9f4c1d4103d42e05d54063337086d6"
			  "884aee9a880e0c8912851e356c80");
	free(out);
	CHECK_INT(eth_tx_signing_hash(&tx, NULL, hash), ETH_OK);
	CHECK_HEX(hash, 32, frontier_signing_hash);
	eth_tx_free(&tx, NULL);

	check_round_trip(raw, raw_len, NULL, 0, hash);
	CHECK_HEX(hash, 32, frontier_signing_hash);

	/* v = 28 for recovery id 1 */
	CHECK_INT(eth_tx_decode(raw, raw_len, NULL, &tx), ETH_OK);
	CHECK_INT(eth_tx_encode_signed(&tx, 1, tx.r, tx.s, NULL, &out, &out_len),
			  ETH_OK);
	CHECK(out_len == raw_len && out[raw_len - 67] == 0x1c);
	free(out);
	eth_tx_free(&tx, NULL);
}

/* ethereumjs eip1559.json, entries 1 and 2 (yParity 0 and 1). */
static const char js1559_a[] =
"02f870821e8e8203338301284d8301d97c828ae094000000000000000000000000"
"000000000000aaaa8402933bc980c080a0d067f2167008c59219652f91cbf8788d"
"bca5f771f6e91e2b7657e85b78b472e0a01d305af9fe81fdba43f0dfcd400ed24d"
"cace0a7e30d4e85701dcaaf484cd079e";
static const char js1559_a_hash[] =
"5dac58bc5ee23609037e7d8523aa255f9797ce47113f67f6753284c3b02907dd";
static const char js1559_b[] =
"02f86f821e8e8201618297c283021467827f5194000000000000000000000000000"
"000000000aaaa8403b08b3380c001a004205678f13fc1d7b10feea6513dfa76e244"
"18b6e08097d95c6f93a3b64e536da01d45ad61bfece43862de2cce7d2575a8c1d08"
"c26c87f3cb5f26d7b0be54a91b2";
static const char js1559_b_hash[] =
"c095f0da6c911c1724727a11655d359aa78bb98361baee59a67fd9d1de4da8e9";

static void
js1559_tx(eth_tx *tx, uint64_t nonce, uint64_t value, uint64_t gas,
		  uint64_t prio, uint64_t max_fee)
{
	memset(tx, 0, sizeof(*tx));
	tx->type = ETH_TX_EIP1559;
	eth_uint256_from_u64(7822, tx->chain_id);
	eth_uint256_from_u64(nonce, tx->nonce);
	eth_uint256_from_u64(value, tx->value);
	eth_uint256_from_u64(gas, tx->gas);
	eth_uint256_from_u64(prio, tx->max_priority_fee_per_gas);
	eth_uint256_from_u64(max_fee, tx->max_fee_per_gas);
	tx->has_to = 1;
	tx->to[18] = 0xaa;
	tx->to[19] = 0xaa;
}

static void
test_eip1559_vectors(void)
{
	uint8_t		raw[200];
	size_t		raw_len;
	uint8_t		hash[32];
	uint8_t    *out;
	size_t		out_len;
	eth_tx		want;
	eth_tx		tx;

	js1559_tx(&want, 819, 43203529, 35552, 75853, 121212);
	raw_len = unhex(js1559_a, raw, sizeof(raw));
	check_round_trip(raw, raw_len, &want, 0, hash);
	CHECK_HEX(hash, 32, js1559_a_hash);
	CHECK_INT(eth_tx_signing_hash(&want, NULL, hash), ETH_OK);
	CHECK_HEX(hash, 32, js1559_a_hash);

	/* the payload is the type byte and the first nine fields */
	CHECK_INT(eth_tx_signing_payload(&want, NULL, &out, &out_len), ETH_OK);
	CHECK_HEX(out, out_len,
			  "02ed821e8e8203338301284d8301d97c828ae094000000000000000000000000"
			  "000000000000aaaa8402933bc980c0");
	free(out);

	CHECK_INT(eth_tx_decode(raw, raw_len, NULL, &tx), ETH_OK);
	CHECK_INT(tx.type, ETH_TX_EIP1559);
	CHECK_HEX(tx.chain_id + 30, 2, "1e8e");
	CHECK_HEX(tx.r, 32,
			  "d067f2167008c59219652f91cbf8788dbca5f771f6e91e2b7657e85b78b472e0");
	CHECK_HEX(tx.s, 32,
			  "1d305af9fe81fdba43f0dfcd400ed24dcace0a7e30d4e85701dcaaf484cd079e");
	CHECK_HEX(tx.v, 32, HEX32("00"));
	CHECK_INT(tx.pre_eip155, 0);
	eth_tx_free(&tx, NULL);

	js1559_tx(&want, 353, 61901619, 32593, 38850, 136295);
	raw_len = unhex(js1559_b, raw, sizeof(raw));
	check_round_trip(raw, raw_len, &want, 1, hash);
	CHECK_HEX(hash, 32, js1559_b_hash);
}

/*
 * The fields of ethereumjs' eip1559txs.json: an access list with two
 * storage keys.  r and s are only carried along (they do not verify).
 */
static const char jsal_r[] =
"afb6e247b1c490e284053c87ab5f6b59e219d51f743f7a4d83e400782bc7e4b9";
static const char jsal_s[] =
"479a268e0e0acd4de3f1e28e4fac2a6b32a4195e8dfa9d19147abe8807aa6f64";
static const char jsal_hash[] =
"a3491b82987a48227a915318085d93d709d8650530fa017153f6366d884799d8";
static const char jsal_data[] = "1a8451e6" HEX32("00") HEX32("00");

static void
test_eip1559_access_list(void)
{
	uint8_t		keys[2][32];
	uint8_t		data[68];
	uint8_t		r[32];
	uint8_t		s[32];
	uint8_t		hash[32];
	eth_access_entry entry;
	eth_tx		tx;

	memset(&tx, 0, sizeof(tx));
	tx.type = ETH_TX_EIP1559;
	eth_uint256_from_u64(1, tx.chain_id);
	eth_uint256_from_u64(1, tx.max_priority_fee_per_gas);
	eth_uint256_from_u64(1, tx.max_fee_per_gas);
	eth_uint256_from_u64(0x02625a00, tx.gas);
	tx.has_to = 1;
	memset(tx.to, 0xcc, 20);
	eth_uint256_from_u64(0x0186a0, tx.value);
	tx.data_len = unhex(jsal_data, data, sizeof(data));
	tx.data = data;
	memset(&entry, 0, sizeof(entry));
	entry.address[18] = 0x01;
	entry.address[19] = 0x01;
	memset(keys, 0, sizeof(keys));
	keys[1][30] = 0x60;
	keys[1][31] = 0xa7;
	entry.n_keys = 2;
	entry.keys = keys;
	tx.n_access = 1;
	tx.access_list = &entry;

	CHECK_INT(eth_tx_signing_hash(&tx, NULL, hash), ETH_OK);
	CHECK_HEX(hash, 32, jsal_hash);

	u256_hex(jsal_r, r);
	u256_hex(jsal_s, s);
	check_signed_round_trip(&tx, 1, r, s, hash);
	CHECK_HEX(hash, 32, jsal_hash);
}

/* A type-2 round trip with two access list entries, built here. */
static void
test_eip1559_two_entries(void)
{
	uint8_t		keys_a[2][32];
	uint8_t		keys_b[1][32];
	uint8_t		data[300];
	uint8_t		r[32];
	uint8_t		s[32];
	uint8_t		h1[32];
	uint8_t		h2[32];
	uint8_t    *out;
	size_t		out_len;
	eth_access_entry entries[2];
	eth_tx		tx;
	eth_tx		dec;

	memset(&tx, 0, sizeof(tx));
	tx.type = ETH_TX_EIP1559;
	eth_uint256_from_u64(137, tx.chain_id);
	eth_uint256_from_u64(UINT64_MAX, tx.nonce);
	u256_dec("1500000000", tx.max_priority_fee_per_gas);
	u256_dec("300000000000", tx.max_fee_per_gas);
	eth_uint256_from_u64(100000, tx.gas);
	tx.has_to = 1;
	memset(tx.to, 0xab, 20);
	u256_hex(HEX32("ff"), tx.value);
	rng_fill(data, sizeof(data));
	tx.data = data;
	tx.data_len = sizeof(data);
	rng_fill(&keys_a[0][0], sizeof(keys_a));
	rng_fill(&keys_b[0][0], sizeof(keys_b));
	memset(entries, 0, sizeof(entries));
	memset(entries[0].address, 0x11, 20);
	entries[0].n_keys = 2;
	entries[0].keys = keys_a;
	memset(entries[1].address, 0x22, 20);
	entries[1].n_keys = 1;
	entries[1].keys = keys_b;
	tx.n_access = 2;
	tx.access_list = entries;

	u256_hex("7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0", s);
	u256_hex("01", r);
	CHECK_INT(eth_tx_encode_signed(&tx, 0, r, s, NULL, &out, &out_len), ETH_OK);
	CHECK(out[0] == 0x02);
	CHECK_INT(eth_tx_signing_hash(&tx, NULL, h1), ETH_OK);
	check_round_trip(out, out_len, &tx, 0, h2);
	CHECK(memcmp(h1, h2, 32) == 0);

	/* the decoded copy owns its data and keys: the input can go away */
	CHECK_INT(eth_tx_decode(out, out_len, NULL, &dec), ETH_OK);
	memset(out, 0, out_len);
	free(out);
	CHECK(same_tx(&dec, &tx));
	CHECK(dec.owned != NULL);
	CHECK(dec.data != NULL && dec.data != data);
	CHECK_INT(dec.n_access, 2);
	CHECK_INT(dec.access_list[0].n_keys, 2);
	CHECK_INT(dec.access_list[1].n_keys, 1);
	CHECK_HEX(dec.access_list[1].address, 20, HEX20("22"));
	CHECK(memcmp(dec.access_list[1].keys[0], keys_b[0], 32) == 0);
	CHECK(memcmp(dec.s, s, 32) == 0);
	eth_tx_free(&dec, NULL);
	CHECK(dec.owned == NULL && dec.data == NULL && dec.access_list == NULL);
	eth_tx_free(&dec, NULL);	/* a second free is harmless */

	/* an entry without keys, and an empty access list */
	entries[1].n_keys = 0;
	entries[1].keys = NULL;
	check_signed_round_trip(&tx, 1, r, s, h2);
	tx.n_access = 0;
	tx.access_list = NULL;
	check_signed_round_trip(&tx, 1, r, s, h2);
}

static void
test_contract_creation(void)
{
	static const uint8_t init_code[] = {0x60, 0x80, 0x60, 0x40, 0x52};
	uint8_t		r[32];
	uint8_t		s[32];
	uint8_t		hash[32];
	uint8_t    *out;
	size_t		out_len;
	eth_tx		tx;
	eth_tx		dec;

	eip155_tx(&tx);
	tx.has_to = 0;
	memset(tx.to, 0x99, 20);	/* ignored without has_to */
	tx.data = init_code;
	tx.data_len = sizeof(init_code);
	CHECK_INT(eth_tx_signing_payload(&tx, NULL, &out, &out_len), ETH_OK);
	/* to is the empty string 0x80 */
	CHECK_HEX(out, out_len,
			  "dd098504a817c80082520880880de0b6b3a7640000856080604052018080");
	free(out);

	u256_dec(eip155_r, r);
	u256_dec(eip155_s, s);
	CHECK_INT(eth_tx_encode_signed(&tx, 1, r, s, NULL, &out, &out_len), ETH_OK);
	CHECK_INT(eth_tx_decode(out, out_len, NULL, &dec), ETH_OK);
	CHECK_INT(dec.has_to, 0);
	CHECK_HEX(dec.to, 20, HEX20("00"));
	CHECK_HEX(dec.data, dec.data_len, "6080604052");
	eth_tx_free(&dec, NULL);
	memset(tx.to, 0, 20);
	check_round_trip(out, out_len, &tx, 1, hash);
	free(out);

	tx.type = ETH_TX_EIP1559;
	check_signed_round_trip(&tx, 0, r, s, hash);
}

/* chainId * 2 + 35 + recovery id, exactly, for chain ids past 64 bits. */
static void
test_large_chain_id(void)
{
	uint8_t		r[32];
	uint8_t		s[32];
	uint8_t		hash[32];
	uint8_t    *out;
	size_t		out_len;
	eth_tx		tx;
	eth_tx		dec;

	eip155_tx(&tx);
	u256_dec("18446744073709551617", tx.chain_id);	/* 2^64 + 1 */
	u256_dec(eip155_r, r);
	u256_dec(eip155_s, s);

	CHECK_INT(eth_tx_signing_payload(&tx, NULL, &out, &out_len), ETH_OK);
	CHECK_HEX(out, out_len,
			  "f5098504a817c800825208943535353535353535353535353535353535353535"
			  "880de0b6b3a764000080890100000000000000018080");
	free(out);

	/* v = 2^65 + 2 + 35 + 1 = 0x020000000000000026 */
	CHECK_INT(eth_tx_encode_signed(&tx, 1, r, s, NULL, &out, &out_len), ETH_OK);
	CHECK_HEX(out + 43, 10, "89020000000000000026");
	CHECK_INT(eth_tx_decode(out, out_len, NULL, &dec), ETH_OK);
	CHECK_HEX(dec.chain_id, 32, HEX16("00") "0000000000000001" "0000000000000001");
	CHECK_HEX(dec.v, 32, HEX16("00") "0000000000000002" "0000000000000026");
	CHECK_INT(dec.y_parity, 1);
	eth_tx_free(&dec, NULL);
	check_round_trip(out, out_len, &tx, 1, hash);
	free(out);

	/* the largest chain id whose v fits: 2 * (2^255 - 18) + 35 = 2^256 - 1 */
	u256_hex("7f" HEX31("ff"), tx.chain_id);
	tx.chain_id[31] = 0xee;
	CHECK_INT(eth_tx_encode_signed(&tx, 0, r, s, NULL, &out, &out_len), ETH_OK);
	CHECK_INT(eth_tx_decode(out, out_len, NULL, &dec), ETH_OK);
	CHECK_HEX(dec.v, 32, HEX32("ff"));
	CHECK(memcmp(dec.chain_id, tx.chain_id, 32) == 0);
	CHECK_INT(dec.y_parity, 0);
	eth_tx_free(&dec, NULL);
	check_round_trip(out, out_len, &tx, 0, hash);
	free(out);
	/* one more and v would be 2^256 */
	CHECK_INT(eth_tx_encode_signed(&tx, 1, r, s, NULL, &out, &out_len),
			  ETH_ERR_OUT_OF_RANGE);
	tx.chain_id[31] = 0xef;
	CHECK_INT(eth_tx_encode_signed(&tx, 0, r, s, NULL, &out, &out_len),
			  ETH_ERR_OUT_OF_RANGE);
	u256_hex(HEX32("ff"), tx.chain_id);
	CHECK_INT(eth_tx_encode_signed(&tx, 0, r, s, NULL, &out, &out_len),
			  ETH_ERR_OUT_OF_RANGE);
	/* type 2 carries the chain id as is, so any uint256 will do */
	tx.type = ETH_TX_EIP1559;
	check_signed_round_trip(&tx, 0, r, s, hash);

	/* chain id 0: v = 35 */
	eip155_tx(&tx);
	memset(tx.chain_id, 0, 32);
	CHECK_INT(eth_tx_encode_signed(&tx, 0, r, s, NULL, &out, &out_len), ETH_OK);
	CHECK_INT(eth_tx_decode(out, out_len, NULL, &dec), ETH_OK);
	CHECK_INT(dec.pre_eip155, 0);
	CHECK_HEX(dec.v + 31, 1, "23");
	eth_tx_free(&dec, NULL);
	free(out);
}

/* ---------------------------------------------------------- rejections */

/* A list of pre-encoded items (hex), after type_byte unless it is < 0. */
static size_t
build_raw(int type_byte, const char *const *items, size_t n, uint8_t *out,
		  size_t cap)
{
	uint8_t		tmp[1024];
	rlp_buf		b;
	size_t		i;
	size_t		len;

	rlp_buf_init(&b, NULL);
	if (type_byte >= 0)
	{
		uint8_t		t = (uint8_t) type_byte;

		rlp_append_raw(&b, &t, 1);
	}
	rlp_list_begin(&b);
	for (i = 0; i < n; i++)
		rlp_append_raw(&b, tmp, unhex(items[i], tmp, sizeof(tmp)));
	rlp_list_end(&b);
	if (rlp_buf_finish(&b) != RLP_OK || b.len > cap)
		abort();
	memcpy(out, b.data, b.len);
	len = b.len;
	rlp_buf_free(&b);
	return len;
}

/*
 * Decoding must give want; a failure must leave a zeroed struct, and
 * nothing may stay allocated either way.
 */
static void
expect_reject_impl(const uint8_t *raw, size_t len, int want, int line)
{
	eth_tx		tx;
	eth_tx		zero;
	int			rc;

	alloc_reset();
	memset(&tx, 0x5a, sizeof(tx));
	memset(&zero, 0, sizeof(zero));
	rc = eth_tx_decode(raw, len, &counting, &tx);
	check_int_impl(rc, want, "eth_tx_decode", __FILE__, line);
	if (rc == ETH_OK)
		eth_tx_free(&tx, &counting);
	else
		check_impl(memcmp(&tx, &zero, sizeof(tx)) == 0, "zeroed on failure",
				   __FILE__, line);
	check_int_impl(alloc_live, 0, "alloc_live", __FILE__, line);
}

#define EXPECT_REJECT(raw, len, want) \
	expect_reject_impl((raw), (len), (want), __LINE__)

static const char *const legacy_fields[9] = {
	"09", "8504a817c800", "825208", "94" HEX20("35"), "880de0b6b3a7640000",
	"80", "25",
	"a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276",
	"a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"
};

static const char access_one[] =	/* [[0x11..11, [0x22..22]]] */
"f838f794" HEX20("11") "e1a0" HEX32("22");

static const char *const eip1559_fields[12] = {
	"01", "80", "01", "02", "825208", "94" HEX20("cc"), "80", "80",
	access_one, "01",
	"a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276",
	"a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"
};

/* The legacy base transaction with field i replaced by item (hex). */
static void
expect_legacy_impl(int i, const char *item, int want, int line)
{
	const char *f[9];
	uint8_t		raw[1200];
	size_t		len;

	memcpy(f, legacy_fields, sizeof(f));
	f[i] = item;
	len = build_raw(-1, f, 9, raw, sizeof(raw));
	expect_reject_impl(raw, len, want, line);
}

static void
expect_1559_impl(int i, const char *item, int want, int line)
{
	const char *f[12];
	uint8_t		raw[1200];
	size_t		len;

	memcpy(f, eip1559_fields, sizeof(f));
	f[i] = item;
	len = build_raw(ETH_TX_EIP1559, f, 12, raw, sizeof(raw));
	expect_reject_impl(raw, len, want, line);
}

#define EXPECT_LEGACY(i, item, want) expect_legacy_impl((i), (item), (want), __LINE__)
#define EXPECT_1559(i, item, want) expect_1559_impl((i), (item), (want), __LINE__)

static void
test_reject_envelope(void)
{
	uint8_t		raw[1200];
	size_t		len;
	int			t;

	/* the base transactions themselves are fine */
	len = build_raw(-1, legacy_fields, 9, raw, sizeof(raw));
	EXPECT_REJECT(raw, len, ETH_OK);
	len = build_raw(ETH_TX_EIP1559, eip1559_fields, 12, raw, sizeof(raw));
	EXPECT_REJECT(raw, len, ETH_OK);

	/* every other EIP-2718 type, whatever follows */
	{
		int			wrong = 0;

		for (t = 0; t < 0x80; t++)
		{
			eth_tx		tx;

			if (t == ETH_TX_EIP1559)
				continue;
			len = build_raw(t, eip1559_fields, 12, raw, sizeof(raw));
			if (eth_tx_decode(raw, len, NULL, &tx) != ETH_ERR_UNSUPPORTED_TYPE)
				wrong++;
		}
		CHECK_INT(wrong, 0);
	}
	len = build_raw(0x01, eip1559_fields, 11, raw, sizeof(raw));
	EXPECT_REJECT(raw, len, ETH_ERR_UNSUPPORTED_TYPE);
	len = build_raw(0x03, eip1559_fields, 12, raw, sizeof(raw));
	EXPECT_REJECT(raw, len, ETH_ERR_UNSUPPORTED_TYPE);
	len = build_raw(0x00, legacy_fields, 9, raw, sizeof(raw));
	EXPECT_REJECT(raw, len, ETH_ERR_UNSUPPORTED_TYPE);
	len = build_raw(0x7f, legacy_fields, 9, raw, sizeof(raw));
	EXPECT_REJECT(raw, len, ETH_ERR_UNSUPPORTED_TYPE);
	raw[0] = 0x04;
	EXPECT_REJECT(raw, 1, ETH_ERR_UNSUPPORTED_TYPE);

	/* not a transaction envelope at all */
	EXPECT_REJECT(raw, 0, ETH_ERR_RLP(RLP_ERR_EMPTY_INPUT));
	EXPECT_REJECT(NULL, 0, ETH_ERR_RLP(RLP_ERR_EMPTY_INPUT));
	raw[0] = 0x02;
	EXPECT_REJECT(raw, 1, ETH_ERR_RLP(RLP_ERR_EMPTY_INPUT));
	len = unhex("83646f67", raw, sizeof(raw));	/* "dog" */
	EXPECT_REJECT(raw, len, ETH_ERR_RLP(RLP_ERR_EXPECTED_LIST));
	len = unhex("0283646f67", raw, sizeof(raw));
	EXPECT_REJECT(raw, len, ETH_ERR_RLP(RLP_ERR_EXPECTED_LIST));
	len = unhex("c0", raw, sizeof(raw));
	EXPECT_REJECT(raw, len, ETH_ERR_FIELD_COUNT);

	/* trailing bytes, truncation, non-canonical list headers */
	len = build_raw(-1, legacy_fields, 9, raw, sizeof(raw));
	raw[len] = 0x00;
	EXPECT_REJECT(raw, len + 1, ETH_ERR_RLP(RLP_ERR_TRAILING_BYTES));
	EXPECT_REJECT(raw, len - 1, ETH_ERR_RLP(RLP_ERR_LENGTH_EXCEEDS_INPUT));
	len = build_raw(ETH_TX_EIP1559, eip1559_fields, 12, raw, sizeof(raw));
	raw[len] = 0x80;
	EXPECT_REJECT(raw, len + 1, ETH_ERR_RLP(RLP_ERR_TRAILING_BYTES));
	/* a double type byte: the payload is the single byte 0x02, then junk */
	memmove(raw + 1, raw, len);
	EXPECT_REJECT(raw, len + 1, ETH_ERR_RLP(RLP_ERR_TRAILING_BYTES));
	len = unhex("f8020180", raw, sizeof(raw));	/* long form for 2 bytes */
	EXPECT_REJECT(raw, len, ETH_ERR_RLP(RLP_ERR_NONCANONICAL_LONG_FORM));

	/* field counts: unsigned (6), one short, one long */
	len = build_raw(-1, legacy_fields, 6, raw, sizeof(raw));
	EXPECT_REJECT(raw, len, ETH_ERR_FIELD_COUNT);
	len = build_raw(-1, legacy_fields, 8, raw, sizeof(raw));
	EXPECT_REJECT(raw, len, ETH_ERR_FIELD_COUNT);
	{
		const char *f[13];

		memcpy(f, eip1559_fields, sizeof(eip1559_fields));
		f[12] = "80";
		len = build_raw(-1, f, 10, raw, sizeof(raw));
		EXPECT_REJECT(raw, len, ETH_ERR_FIELD_COUNT);
		len = build_raw(ETH_TX_EIP1559, f, 9, raw, sizeof(raw));
		EXPECT_REJECT(raw, len, ETH_ERR_FIELD_COUNT);
		len = build_raw(ETH_TX_EIP1559, f, 11, raw, sizeof(raw));
		EXPECT_REJECT(raw, len, ETH_ERR_FIELD_COUNT);
		len = build_raw(ETH_TX_EIP1559, f, 13, raw, sizeof(raw));
		EXPECT_REJECT(raw, len, ETH_ERR_FIELD_COUNT);
		/* a legacy transaction behind a type-2 byte */
		len = build_raw(ETH_TX_EIP1559, legacy_fields, 9, raw, sizeof(raw));
		EXPECT_REJECT(raw, len, ETH_ERR_FIELD_COUNT);
	}
}

static void
test_reject_fields(void)
{
	/* integers: canonical, and nonce and gas within 64 bits */
	EXPECT_LEGACY(0, "00", ETH_ERR_RLP(RLP_ERR_UINT_LEADING_ZERO));
	EXPECT_LEGACY(0, "8109", ETH_ERR_RLP(RLP_ERR_NONCANONICAL_SINGLE_BYTE));
	EXPECT_LEGACY(0, "820009", ETH_ERR_RLP(RLP_ERR_UINT_LEADING_ZERO));
	EXPECT_LEGACY(0, "c109", ETH_ERR_RLP(RLP_ERR_EXPECTED_STRING));
	EXPECT_LEGACY(0, "88ffffffffffffffff", ETH_OK);
	EXPECT_LEGACY(0, "89010000000000000000", ETH_ERR_UINT64_FIELD);
	EXPECT_LEGACY(0, "a1" HEX33("01"), ETH_ERR_UINT64_FIELD);
	EXPECT_LEGACY(2, "89010000000000000000", ETH_ERR_UINT64_FIELD);
	EXPECT_LEGACY(1, "a0" HEX32("ff"), ETH_OK);
	EXPECT_LEGACY(1, "a1" HEX33("01"), ETH_ERR_RLP(RLP_ERR_UINT_TOO_LONG));
	EXPECT_LEGACY(4, "890de0b6b3a764000000", ETH_OK);
	EXPECT_LEGACY(4, "b838" HEX16("00") HEX16("00") HEX16("00") HEX4("00")
				  "00000001",
				  ETH_ERR_RLP(RLP_ERR_UINT_LEADING_ZERO));
	EXPECT_1559(0, "00", ETH_ERR_RLP(RLP_ERR_UINT_LEADING_ZERO));
	EXPECT_1559(1, "89010000000000000000", ETH_ERR_UINT64_FIELD);
	EXPECT_1559(2, "820001", ETH_ERR_RLP(RLP_ERR_UINT_LEADING_ZERO));
	EXPECT_1559(3, "c0", ETH_ERR_RLP(RLP_ERR_EXPECTED_STRING));
	EXPECT_1559(4, "89010000000000000000", ETH_ERR_UINT64_FIELD);
	EXPECT_1559(6, "a1" HEX33("01"), ETH_ERR_RLP(RLP_ERR_UINT_TOO_LONG));

	/* to: empty or exactly 20 bytes */
	EXPECT_LEGACY(3, "80", ETH_OK);
	EXPECT_LEGACY(3, "93" HEX19("35"), ETH_ERR_BAD_TO);
	EXPECT_LEGACY(3, "95" HEX20("35") "35", ETH_ERR_BAD_TO);
	EXPECT_LEGACY(3, "35", ETH_ERR_BAD_TO);
	EXPECT_LEGACY(3, "c0", ETH_ERR_BAD_TO);
	EXPECT_1559(5, "93" HEX19("cc"), ETH_ERR_BAD_TO);
	EXPECT_1559(5, "d594" HEX20("cc"), ETH_ERR_BAD_TO);

	/* data: a byte string, any length */
	EXPECT_LEGACY(5, "c0", ETH_ERR_RLP(RLP_ERR_EXPECTED_STRING));
	EXPECT_LEGACY(5, "00", ETH_OK);
	EXPECT_LEGACY(5, "8100", ETH_ERR_RLP(RLP_ERR_NONCANONICAL_SINGLE_BYTE));
	EXPECT_LEGACY(5, "8101", ETH_ERR_RLP(RLP_ERR_NONCANONICAL_SINGLE_BYTE));
	EXPECT_1559(7, "c180", ETH_ERR_RLP(RLP_ERR_EXPECTED_STRING));
}

static void
test_reject_signature(void)
{
	static const char n_hex[] =
		"fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
	static const char half_n[] =
		"7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0";
	static const char half_n1[] =
		"7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a1";
	char		item[80];

	/* legacy v: 27, 28 or >= 35 */
	EXPECT_LEGACY(6, "80", ETH_ERR_BAD_V);
	EXPECT_LEGACY(6, "01", ETH_ERR_BAD_V);
	EXPECT_LEGACY(6, "1a", ETH_ERR_BAD_V);
	EXPECT_LEGACY(6, "1b", ETH_OK);
	EXPECT_LEGACY(6, "1c", ETH_OK);
	EXPECT_LEGACY(6, "1d", ETH_ERR_BAD_V);
	EXPECT_LEGACY(6, "22", ETH_ERR_BAD_V);
	EXPECT_LEGACY(6, "23", ETH_OK);
	EXPECT_LEGACY(6, "24", ETH_OK);
	EXPECT_LEGACY(6, "26", ETH_OK);
	EXPECT_LEGACY(6, "a0" HEX32("ff"), ETH_OK);
	EXPECT_LEGACY(6, "a1" HEX33("01"), ETH_ERR_BAD_V);
	EXPECT_LEGACY(6, "820025", ETH_ERR_RLP(RLP_ERR_UINT_LEADING_ZERO));
	EXPECT_LEGACY(6, "c125", ETH_ERR_RLP(RLP_ERR_EXPECTED_STRING));

	/* type-2 yParity: 0 or 1, canonical */
	EXPECT_1559(9, "80", ETH_OK);
	EXPECT_1559(9, "02", ETH_ERR_BAD_Y_PARITY);
	EXPECT_1559(9, "1b", ETH_ERR_BAD_Y_PARITY);
	EXPECT_1559(9, "00", ETH_ERR_RLP(RLP_ERR_UINT_LEADING_ZERO));
	EXPECT_1559(9, "8101", ETH_ERR_RLP(RLP_ERR_NONCANONICAL_SINGLE_BYTE));
	EXPECT_1559(9, "89010000000000000000", ETH_ERR_BAD_Y_PARITY);
	EXPECT_1559(9, "c0", ETH_ERR_RLP(RLP_ERR_EXPECTED_STRING));

	/* r and s: nonzero, at most 32 bytes, r < n, s <= n/2 */
	EXPECT_LEGACY(7, "80", ETH_ERR_BAD_SIGNATURE);
	EXPECT_LEGACY(8, "80", ETH_ERR_BAD_SIGNATURE);
	EXPECT_LEGACY(7, "01", ETH_OK);
	EXPECT_LEGACY(8, "01", ETH_OK);
	EXPECT_LEGACY(7, "a1" HEX33("01"), ETH_ERR_BAD_SIGNATURE);
	EXPECT_LEGACY(8, "a1" HEX33("01"), ETH_ERR_BAD_SIGNATURE);
	EXPECT_LEGACY(7, "a000" HEX31("11"), ETH_ERR_RLP(RLP_ERR_UINT_LEADING_ZERO));
	EXPECT_LEGACY(7, "c0", ETH_ERR_RLP(RLP_ERR_EXPECTED_STRING));
	snprintf(item, sizeof(item), "a0%s", n_hex);
	EXPECT_LEGACY(7, item, ETH_ERR_BAD_SIGNATURE);
	item[65] = '0';				/* n - 1 */
	EXPECT_LEGACY(7, item, ETH_OK);
	snprintf(item, sizeof(item), "a0%s", half_n);
	EXPECT_LEGACY(8, item, ETH_OK);
	snprintf(item, sizeof(item), "a0%s", half_n1);
	EXPECT_LEGACY(8, item, ETH_ERR_BAD_SIGNATURE);
	EXPECT_1559(10, "80", ETH_ERR_BAD_SIGNATURE);
	EXPECT_1559(11, "80", ETH_ERR_BAD_SIGNATURE);
	EXPECT_1559(11, item, ETH_ERR_BAD_SIGNATURE);
	EXPECT_1559(10, "a1" HEX33("01"), ETH_ERR_BAD_SIGNATURE);
}

static void
test_reject_access_list(void)
{
	EXPECT_1559(8, "c0", ETH_OK);
	EXPECT_1559(8, "d7d694" HEX20("11") "c0", ETH_OK);		/* no keys */
	EXPECT_1559(8, "80", ETH_ERR_RLP(RLP_ERR_EXPECTED_LIST));
	EXPECT_1559(8, "94" HEX20("11"), ETH_ERR_RLP(RLP_ERR_EXPECTED_LIST));
	EXPECT_1559(8, "c180", ETH_ERR_BAD_ACCESS_ENTRY);		/* entry a string */
	EXPECT_1559(8, "c1c0", ETH_ERR_BAD_ACCESS_ENTRY);		/* empty entry */
	EXPECT_1559(8, "d6d594" HEX20("11"), ETH_ERR_BAD_ACCESS_ENTRY);
	EXPECT_1559(8, "d8d794" HEX20("11") "c0c0", ETH_ERR_BAD_ACCESS_ENTRY);
	EXPECT_1559(8, "d7d694" HEX20("11") "80", ETH_ERR_BAD_ACCESS_ENTRY);
	EXPECT_1559(8, "d6d593" HEX19("11") "c0", ETH_ERR_BAD_ACCESS_ADDRESS);
	EXPECT_1559(8, "d8d795" HEX20("11") "11c0", ETH_ERR_BAD_ACCESS_ADDRESS);
	EXPECT_1559(8, "c3c2c0c0", ETH_ERR_BAD_ACCESS_ADDRESS);
	EXPECT_1559(8, "c3c280c0", ETH_ERR_BAD_ACCESS_ADDRESS);
	EXPECT_1559(8, "f7f694" HEX20("11") "e09f" HEX31("22"),
				ETH_ERR_BAD_STORAGE_KEY);
	EXPECT_1559(8, "f83af83894" HEX20("11") "e2a1" HEX33("22"),
				ETH_ERR_BAD_STORAGE_KEY);
	EXPECT_1559(8, "d8d794" HEX20("11") "c180", ETH_ERR_BAD_STORAGE_KEY);
	EXPECT_1559(8, "d8d794" HEX20("11") "c1c0", ETH_ERR_BAD_STORAGE_KEY);
	/* the second entry is the bad one */
	EXPECT_1559(8, "f850f794" HEX20("11") "e1a0" HEX32("22")
				"d794" HEX20("33") "c1c0", ETH_ERR_BAD_STORAGE_KEY);
}

/* Size limit: ETH_TX_MAX_SIZE decodes, one byte more does not. */
static void
test_reject_size(void)
{
	size_t		data_len = ETH_TX_MAX_SIZE - 200;
	uint8_t    *data = calloc(1, ETH_TX_MAX_SIZE);
	uint8_t		r[32];
	uint8_t		s[32];
	uint8_t		hash[32];
	uint8_t    *out;
	size_t		out_len;
	eth_tx		tx;

	if (data == NULL)
		abort();
	eip155_tx(&tx);
	u256_dec(eip155_r, r);
	u256_dec(eip155_s, s);
	tx.data = data;

	/* header widths do not change near 1 MiB: one correction suffices */
	tx.data_len = data_len;
	CHECK_INT(eth_tx_encode_signed(&tx, 0, r, s, NULL, &out, &out_len), ETH_OK);
	free(out);
	tx.data_len = data_len + (ETH_TX_MAX_SIZE - out_len);
	CHECK_INT(eth_tx_encode_signed(&tx, 0, r, s, NULL, &out, &out_len), ETH_OK);
	CHECK_INT(out_len, ETH_TX_MAX_SIZE);
	check_round_trip(out, out_len, &tx, 0, hash);
	free(out);

	tx.data_len++;
	CHECK_INT(eth_tx_encode_signed(&tx, 0, r, s, NULL, &out, &out_len), ETH_OK);
	CHECK_INT(out_len, ETH_TX_MAX_SIZE + 1);
	EXPECT_REJECT(out, out_len, ETH_ERR_TOO_LARGE);
	free(out);
	free(data);
}

/* ------------------------------------------------------ encoder errors */

static void
test_encode_errors(void)
{
	uint8_t		r[32];
	uint8_t		s[32];
	uint8_t		zero[32];
	uint8_t		hash[32];
	uint8_t    *out = NULL;
	size_t		out_len = 0;
	uint8_t		key[1][32];
	eth_access_entry entry;
	eth_tx		tx;

	u256_dec(eip155_r, r);
	u256_dec(eip155_s, s);
	memset(zero, 0, sizeof(zero));
	eip155_tx(&tx);

	CHECK_INT(eth_tx_encode_signed(&tx, 2, r, s, NULL, &out, &out_len),
			  ETH_ERR_BAD_RECOVERY_ID);
	CHECK_INT(eth_tx_encode_signed(&tx, -1, r, s, NULL, &out, &out_len),
			  ETH_ERR_BAD_RECOVERY_ID);
	CHECK_INT(eth_tx_encode_signed(&tx, 0, zero, s, NULL, &out, &out_len),
			  ETH_ERR_BAD_SIGNATURE);
	CHECK_INT(eth_tx_encode_signed(&tx, 0, r, zero, NULL, &out, &out_len),
			  ETH_ERR_BAD_SIGNATURE);
	/* the high-s twin of the EIP-155 signature */
	{
		uint8_t		high_s[32];

		u256_hex("98341627668089e51348fccfb4c7ff31c55912f2d2e47ef09652acf665fad3be",
				 high_s);
		CHECK_INT(eth_tx_encode_signed(&tx, 1, r, high_s, NULL, &out, &out_len),
				  ETH_ERR_BAD_SIGNATURE);
	}
	CHECK(out == NULL && out_len == 0);

	tx.type = 1;
	CHECK_INT(eth_tx_signing_hash(&tx, NULL, hash), ETH_ERR_INVALID_TX);
	CHECK_INT(eth_tx_encode_signed(&tx, 0, r, s, NULL, &out, &out_len),
			  ETH_ERR_INVALID_TX);
	tx.type = 3;
	CHECK_INT(eth_tx_signing_hash(&tx, NULL, hash), ETH_ERR_INVALID_TX);

	/* pre-EIP-155: legacy only, and no chain id alongside */
	eip155_tx(&tx);
	tx.pre_eip155 = 1;
	CHECK_INT(eth_tx_signing_hash(&tx, NULL, hash), ETH_ERR_INVALID_TX);
	memset(tx.chain_id, 0, 32);
	CHECK_INT(eth_tx_signing_hash(&tx, NULL, hash), ETH_OK);
	tx.type = ETH_TX_EIP1559;
	CHECK_INT(eth_tx_signing_hash(&tx, NULL, hash), ETH_ERR_INVALID_TX);

	/* dangling pointers */
	eip155_tx(&tx);
	tx.data_len = 1;
	CHECK_INT(eth_tx_signing_hash(&tx, NULL, hash), ETH_ERR_INVALID_TX);
	tx.data_len = 0;
	tx.type = ETH_TX_EIP1559;
	tx.n_access = 1;
	CHECK_INT(eth_tx_signing_hash(&tx, NULL, hash), ETH_ERR_INVALID_TX);
	memset(&entry, 0, sizeof(entry));
	entry.n_keys = 1;
	tx.access_list = &entry;
	CHECK_INT(eth_tx_signing_hash(&tx, NULL, hash), ETH_ERR_INVALID_TX);
	memset(key, 0, sizeof(key));
	entry.keys = key;
	CHECK_INT(eth_tx_signing_hash(&tx, NULL, hash), ETH_OK);
	/* legacy ignores the access list fields entirely */
	tx.type = ETH_TX_LEGACY;
	tx.access_list = NULL;
	CHECK_INT(eth_tx_signing_hash(&tx, NULL, hash), ETH_OK);
	CHECK_HEX(hash, 32, eip155_hash);

	/* nonce and gas past 64 bits */
	eip155_tx(&tx);
	u256_dec("18446744073709551616", tx.nonce);
	CHECK_INT(eth_tx_signing_hash(&tx, NULL, hash), ETH_ERR_UINT64_FIELD);
	CHECK_INT(eth_tx_encode_signed(&tx, 0, r, s, NULL, &out, &out_len),
			  ETH_ERR_UINT64_FIELD);
	eip155_tx(&tx);
	u256_hex(HEX32("ff"), tx.gas);
	CHECK_INT(eth_tx_signing_hash(&tx, NULL, hash), ETH_ERR_UINT64_FIELD);
}

static void
test_allocator(void)
{
	static const uint8_t data[3] = {1, 2, 3};
	uint8_t		r[32];
	uint8_t		s[32];
	uint8_t		hash[32];
	uint8_t		raw[200];
	size_t		raw_len;
	uint8_t    *out = NULL;
	size_t		out_len = 0;
	eth_tx		tx;
	eth_tx		dec;

	u256_dec(eip155_r, r);
	u256_dec(eip155_s, s);
	eip155_tx(&tx);

	/* every allocation goes through the hooks and is released */
	alloc_reset();
	CHECK_INT(eth_tx_signing_payload(&tx, &counting, &out, &out_len), ETH_OK);
	CHECK_INT(alloc_live, 1);
	count_free(out);
	CHECK_INT(eth_tx_signing_hash(&tx, &counting, hash), ETH_OK);
	CHECK_INT(eth_tx_encode_signed(&tx, 0, r, s, &counting, &out, &out_len),
			  ETH_OK);
	CHECK_INT(alloc_live, 1);
	count_free(out);
	CHECK_INT(alloc_live, 0);

	/* decode: no allocation without data or access list, else one block */
	raw_len = unhex(eip155_signed, raw, sizeof(raw));
	alloc_reset();
	CHECK_INT(eth_tx_decode(raw, raw_len, &counting, &dec), ETH_OK);
	CHECK_INT(alloc_calls, 0);
	eth_tx_free(&dec, &counting);
	tx.data = data;
	tx.data_len = sizeof(data);
	CHECK_INT(eth_tx_encode_signed(&tx, 0, r, s, NULL, &out, &out_len), ETH_OK);
	alloc_reset();
	CHECK_INT(eth_tx_decode(out, out_len, &counting, &dec), ETH_OK);
	CHECK_INT(alloc_calls, 1);
	CHECK_INT(alloc_max, 3);
	CHECK_INT(alloc_live, 1);
	eth_tx_free(&dec, &counting);
	CHECK_INT(alloc_live, 0);

	/* out of memory: an error, nothing leaked, nothing returned */
	alloc_reset();
	CHECK_INT(eth_tx_decode(out, out_len, &failing, &dec),
			  ETH_ERR_OUT_OF_MEMORY);
	CHECK(dec.owned == NULL && dec.data == NULL && dec.has_signature == 0);
	free(out);
	out = NULL;
	CHECK_INT(eth_tx_signing_payload(&tx, &failing, &out, &out_len),
			  ETH_ERR_OUT_OF_MEMORY);
	CHECK_INT(eth_tx_signing_hash(&tx, &failing, hash), ETH_ERR_OUT_OF_MEMORY);
	CHECK_INT(eth_tx_encode_signed(&tx, 0, r, s, &failing, &out, &out_len),
			  ETH_ERR_OUT_OF_MEMORY);
	CHECK(out == NULL);
	CHECK_INT(alloc_live, 0);
}

static void
test_strerror(void)
{
	int			codes[] = {
		ETH_ERR_INVALID_NUMBER, ETH_ERR_NEGATIVE, ETH_ERR_OUT_OF_RANGE,
		ETH_ERR_TOO_LARGE, ETH_ERR_UNSUPPORTED_TYPE, ETH_ERR_FIELD_COUNT,
		ETH_ERR_BAD_TO, ETH_ERR_BAD_ACCESS_ENTRY, ETH_ERR_BAD_ACCESS_ADDRESS,
		ETH_ERR_BAD_STORAGE_KEY, ETH_ERR_UINT64_FIELD, ETH_ERR_BAD_V,
		ETH_ERR_BAD_Y_PARITY, ETH_ERR_BAD_SIGNATURE, ETH_ERR_BAD_RECOVERY_ID,
		ETH_ERR_INVALID_TX, ETH_ERR_OUT_OF_MEMORY
	};
	size_t		n = sizeof(codes) / sizeof(codes[0]);
	size_t		i;
	size_t		j;
	int			dupes = 0;
	int			unknown = 0;

	for (i = 0; i < n; i++)
	{
		if (strstr(eth_strerror(codes[i]), "unknown") != NULL)
			unknown++;
		for (j = 0; j < i; j++)
			if (strcmp(eth_strerror(codes[i]), eth_strerror(codes[j])) == 0)
				dupes++;
	}
	CHECK_INT(unknown, 0);
	CHECK_INT(dupes, 0);
	CHECK(strcmp(eth_strerror(ETH_OK), "success") == 0);
	CHECK(strcmp(eth_strerror(ETH_ERR_UNSUPPORTED_TYPE),
				 "unsupported transaction type") == 0);
	CHECK(strcmp(eth_strerror(ETH_ERR_RLP(RLP_ERR_TRAILING_BYTES)),
				 rlp_strerror(RLP_ERR_TRAILING_BYTES)) == 0);
	CHECK(strcmp(eth_strerror(-42), "unknown ethereum transaction error") == 0);
	CHECK(strcmp(eth_strerror(ETH_ERR_RLP(-42)), "unknown rlp error") == 0);
}

/* ------------------------------------------------------- random trips */

static void
random_u256(uint8_t v[32], size_t max_width)
{
	size_t		width = (size_t) (rng_next() % (max_width + 1));

	memset(v, 0, 32);
	rng_fill(v + 32 - width, width);
}

/* A random valid signature scalar: nonzero and below n/2. */
static void
random_scalar(uint8_t v[32])
{
	random_u256(v, 32);
	v[0] &= 0x7f;
	if (v[31] == 0)
		v[31] = 1;
}

static void
test_random_round_trips(void)
{
	static uint8_t data[512];
	static uint8_t keys[12][32];
	eth_access_entry entries[4];
	int			iter;
	int			bad = 0;

	rng_fill(data, sizeof(data));
	rng_fill(&keys[0][0], sizeof(keys));
	for (iter = 0; iter < 3000; iter++)
	{
		eth_tx		tx;
		eth_tx		dec;
		uint8_t		r[32];
		uint8_t		s[32];
		uint8_t		h1[32];
		uint8_t		h2[32];
		uint8_t    *out;
		uint8_t    *again;
		size_t		out_len;
		size_t		again_len;
		int			y = (int) (rng_next() & 1);
		size_t		i;

		memset(&tx, 0, sizeof(tx));
		tx.type = (rng_next() & 1) ? ETH_TX_EIP1559 : ETH_TX_LEGACY;
		tx.pre_eip155 = tx.type == ETH_TX_LEGACY && rng_next() % 8 == 0;
		if (!tx.pre_eip155)
			random_u256(tx.chain_id, tx.type == ETH_TX_LEGACY ? 31 : 32);
		random_u256(tx.nonce, 8);
		random_u256(tx.gas, 8);
		random_u256(tx.value, 32);
		if (tx.type == ETH_TX_LEGACY)
			random_u256(tx.gas_price, 32);
		else
		{
			random_u256(tx.max_priority_fee_per_gas, 32);
			random_u256(tx.max_fee_per_gas, 32);
			tx.n_access = rng_next() % 5;
			for (i = 0; i < tx.n_access; i++)
			{
				rng_fill(entries[i].address, 20);
				entries[i].n_keys = rng_next() % 4;
				entries[i].keys = entries[i].n_keys ? keys + 3 * i : NULL;
			}
			tx.access_list = tx.n_access ? entries : NULL;
		}
		tx.has_to = (rng_next() % 4) != 0;
		if (tx.has_to)
			rng_fill(tx.to, 20);
		tx.data_len = rng_next() % 4 == 0 ? rng_next() % sizeof(data) : 0;
		tx.data = data;
		random_scalar(r);
		random_scalar(s);

		if (eth_tx_encode_signed(&tx, y, r, s, NULL, &out, &out_len) != ETH_OK)
		{
			bad++;
			continue;
		}
		if (eth_tx_decode(out, out_len, NULL, &dec) != ETH_OK)
		{
			bad++;
			free(out);
			continue;
		}
		if (!same_tx(&dec, &tx) || dec.y_parity != y ||
			memcmp(dec.r, r, 32) != 0 || memcmp(dec.s, s, 32) != 0)
			bad++;
		if (eth_tx_encode_signed(&dec, dec.y_parity, dec.r, dec.s, NULL,
								 &again, &again_len) != ETH_OK)
			bad++;
		else
		{
			if (again_len != out_len || memcmp(again, out, out_len) != 0)
				bad++;
			free(again);
		}
		if (eth_tx_signing_hash(&tx, NULL, h1) != ETH_OK ||
			eth_tx_signing_hash(&dec, NULL, h2) != ETH_OK ||
			memcmp(h1, h2, 32) != 0)
			bad++;
		eth_tx_free(&dec, NULL);
		free(out);
	}
	CHECK_INT(bad, 0);
}

int
main(void)
{
	rng_seed(UINT64_C(0x2545f4914f6cdd1d));

	test_quantity_parse();
	test_quantity_format();
	test_eip155_example();
	test_pre_eip155();
	test_eip1559_vectors();
	test_eip1559_access_list();
	test_eip1559_two_entries();
	test_contract_creation();
	test_large_chain_id();
	test_reject_envelope();
	test_reject_fields();
	test_reject_signature();
	test_reject_access_list();
	test_reject_size();
	test_encode_errors();
	test_allocator();
	test_strerror();
	test_random_round_trips();

	return check_summary();
}
