/*-------------------------------------------------------------------------
 *
 * hex.c
 *	  Strict hexadecimal parsing and formatting.
 *
 *-------------------------------------------------------------------------
 */
#include "hex.h"

/* Value of one hex digit, or -1.  Explicit ranges: no locale involvement. */
static int
hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
tp_hex_decode(const char *s, size_t len, uint8_t *out, size_t out_cap,
			  size_t *out_len)
{
	size_t		nbytes;
	size_t		i;

	*out_len = 0;

	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
	{
		s += 2;
		len -= 2;
	}

	if (len % 2 != 0)
		return HEX_ERR_ODD_LENGTH;

	/* check capacity before writing anything, so out_cap is a hard bound */
	nbytes = len / 2;
	if (nbytes > out_cap)
		return HEX_ERR_TOO_LONG;

	for (i = 0; i < nbytes; i++)
	{
		int			hi = hex_digit_value(s[2 * i]);
		int			lo = hex_digit_value(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return HEX_ERR_BAD_DIGIT;
		out[i] = (uint8_t) ((hi << 4) | lo);
	}

	*out_len = nbytes;
	return HEX_OK;
}

void
tp_hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t		i;

	for (i = 0; i < len; i++)
	{
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

const char *
tp_hex_strerror(int err)
{
	switch (err)
	{
		case HEX_OK:
			return "success";
		case HEX_ERR_ODD_LENGTH:
			return "odd number of hex digits";
		case HEX_ERR_BAD_DIGIT:
			return "invalid hex digit";
		case HEX_ERR_TOO_LONG:
			return "hex string too long for output buffer";
	}
	return "unknown hex error";
}
