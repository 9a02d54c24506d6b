/*-------------------------------------------------------------------------
 *
 * fuzz_hex.c
 *	  libFuzzer target for tp_hex_encode / tp_hex_decode.
 *
 * 1. Any bytes survive encode then decode (with and without "0x").
 * 2. Any text decodes to the verdict of an obviously-correct reference,
 *    and decoding never writes past out_cap (guard bytes, plus ASan on an
 *    exactly-sized allocation).
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "hex.h"

#define GUARD_LEN	16
#define GUARD_BYTE	0xa5

static void *
xmalloc(size_t n)
{
	void	   *p = malloc(n ? n : 1);

	if (p == NULL)
		abort();
	return p;
}

static void
check_round_trip(const uint8_t *data, size_t size)
{
	char	   *text = xmalloc(2 * size + 3);
	uint8_t    *back = xmalloc(size);
	size_t		len;
	size_t		i;

	/* leave room for a "0x" prefix in front */
	text[0] = '0';
	text[1] = 'x';
	tp_hex_encode(data, size, text + 2);
	if (strlen(text + 2) != 2 * size)
		abort();
	for (i = 2; i < 2 * size + 2; i++)
		if (!((text[i] >= '0' && text[i] <= '9') ||
			  (text[i] >= 'a' && text[i] <= 'f')))
			abort();

	if (tp_hex_decode(text + 2, 2 * size, back, size, &len) != HEX_OK ||
		len != size || memcmp(back, data, size) != 0)
		abort();
	if (tp_hex_decode(text, 2 * size + 2, back, size, &len) != HEX_OK ||
		len != size || memcmp(back, data, size) != 0)
		abort();
	if (size > 0 &&
		tp_hex_decode(text, 2 * size + 2, back, size - 1, &len) != HEX_ERR_TOO_LONG)
		abort();

	free(text);
	free(back);
}

static int
ref_digit(unsigned char c)
{
	const char *digits = "0123456789abcdef";
	const char *p;

	if (c >= 'A' && c <= 'F')
		c = (unsigned char) (c - 'A' + 'a');
	if (c == '\0')
		return -1;
	p = strchr(digits, c);
	return p ? (int) (p - digits) : -1;
}

/* Reference verdict, written independently of hex.c. */
static int
ref_decode(const char *s, size_t len, size_t cap)
{
	size_t		i;

	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
	{
		s += 2;
		len -= 2;
	}
	if (len % 2)
		return HEX_ERR_ODD_LENGTH;
	if (len / 2 > cap)
		return HEX_ERR_TOO_LONG;
	for (i = 0; i < len; i++)
		if (ref_digit((unsigned char) s[i]) < 0)
			return HEX_ERR_BAD_DIGIT;
	return HEX_OK;
}

static void
check_decode_text(const uint8_t *data, size_t size)
{
	const char *text;
	size_t		tlen;
	size_t		cap;
	uint8_t    *guarded;
	uint8_t    *exact;
	size_t		len = 12345;
	size_t		len2;
	int			rc;
	size_t		i;

	if (size == 0)
		return;
	/* first byte picks the capacity, the rest is the text */
	cap = data[0] % 64;
	text = (const char *) data + 1;
	tlen = size - 1;

	guarded = xmalloc(cap + GUARD_LEN);
	memset(guarded, GUARD_BYTE, cap + GUARD_LEN);
	rc = tp_hex_decode(text, tlen, guarded, cap, &len);
	for (i = cap; i < cap + GUARD_LEN; i++)
		if (guarded[i] != GUARD_BYTE)
			abort();
	if (rc != ref_decode(text, tlen, cap))
		abort();
	if (strcmp(tp_hex_strerror(rc), "unknown hex error") == 0)
		abort();

	/* an exactly-sized buffer lets ASan see any overrun */
	exact = xmalloc(cap);
	if (tp_hex_decode(text, tlen, exact, cap, &len2) != rc)
		abort();

	if (rc == HEX_OK)
	{
		char	   *again = xmalloc(2 * len + 1);
		size_t		skip = tlen - 2 * len;	/* 0 or the "0x" prefix */

		if (len > cap || len2 != len || memcmp(exact, guarded, len) != 0)
			abort();
		/* re-encoding gives the input digits, lowercased */
		tp_hex_encode(guarded, len, again);
		for (i = 0; i < 2 * len; i++)
			if (ref_digit((unsigned char) again[i]) !=
				ref_digit((unsigned char) text[skip + i]))
				abort();
		free(again);
	}
	else if (len != 0)
		abort();

	free(guarded);
	free(exact);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_round_trip(data, size);
	check_decode_text(data, size);
	return 0;
}
