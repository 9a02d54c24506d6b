/*-------------------------------------------------------------------------
 *
 * decimal.c
 *	  Amounts as written in statements, normalized; see decimal.h.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "decimal.h"

const char *
recon_decimal_strerror(int err)
{
	switch (err)
	{
		case DEC_OK:
			return "ok";
		case DEC_ERR_EMPTY:
			return "empty amount";
		case DEC_ERR_SYNTAX:
			return "not a number";
		case DEC_ERR_GROUPING:
			return "misplaced thousands separator";
		case DEC_ERR_TOO_LONG:
			return "amount too long";
		case DEC_ERR_SEPARATORS:
			return "invalid decimal or thousands separator";
		case DEC_ERR_BUFFER:
			return "output buffer too small";
	}
	return "unknown decimal error";
}

int
recon_decimal_separators_ok(char decimal_sep, char group_sep)
{
	if (decimal_sep != '.' && decimal_sep != ',')
		return 0;
	if (group_sep == 0)
		return 1;
	if (group_sep == decimal_sep)
		return 0;
	return group_sep == '.' || group_sep == ',' || group_sep == '\'' ||
		group_sep == '_' || group_sep == ' ';
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Length of the blank at s[i] (space, tab, U+00A0 or U+202F in UTF-8), or
 * 0 if there is none.
 */
static size_t
blank_len(const char *s, size_t len, size_t i)
{
	if (s[i] == ' ' || s[i] == '\t')
		return 1;
	if (i + 1 < len && (unsigned char) s[i] == 0xC2 &&
		(unsigned char) s[i + 1] == 0xA0)
		return 2;
	if (i + 2 < len && (unsigned char) s[i] == 0xE2 &&
		(unsigned char) s[i + 1] == 0x80 && (unsigned char) s[i + 2] == 0xAF)
		return 3;
	return 0;
}

/* Trailing blank ending just before s[end], or 0. */
static size_t
blank_len_before(const char *s, size_t end)
{
	if (end >= 1 && (s[end - 1] == ' ' || s[end - 1] == '\t'))
		return 1;
	if (end >= 2 && (unsigned char) s[end - 2] == 0xC2 &&
		(unsigned char) s[end - 1] == 0xA0)
		return 2;
	if (end >= 3 && (unsigned char) s[end - 3] == 0xE2 &&
		(unsigned char) s[end - 2] == 0x80 && (unsigned char) s[end - 1] == 0xAF)
		return 3;
	return 0;
}

/*
 * Length of a group separator at s[i], or 0: the separator byte, or for a
 * space separator any blank.
 */
static size_t
group_len(const char *s, size_t len, size_t i, char group_sep)
{
	if (group_sep == 0)
		return 0;
	if (group_sep == ' ')
		return blank_len(s, len, i);
	return s[i] == group_sep ? 1 : 0;
}

/*
 * The integer part s[i..] up to the decimal separator or the end, into
 * out.  Returns the index after it, or (size_t) -1 with *err set.
 */
static size_t
integer_part(const char *s, size_t len, size_t i, char decimal_sep,
			 char group_sep, char *out, size_t *o, int *err)
{
	size_t		group = 0;		/* digits in the current group */
	int			groups = 0;		/* separators seen */

	while (i < len && s[i] != decimal_sep)
	{
		size_t		g = group_len(s, len, i, group_sep);

		if (is_digit(s[i]))
		{
			out[(*o)++] = s[i++];
			group++;
			continue;
		}
		if (g == 0)
		{
			*err = DEC_ERR_SYNTAX;
			return (size_t) -1;
		}
		/* a separator closes a group: the first of 1-3, then exactly 3 */
		if (group == 0 || (groups == 0 ? group > 3 : group != 3))
		{
			*err = DEC_ERR_GROUPING;
			return (size_t) -1;
		}
		groups++;
		group = 0;
		i += g;
	}
	if (groups > 0 && group != 3)
	{
		*err = DEC_ERR_GROUPING;
		return (size_t) -1;
	}
	return i;
}

/* The unsigned body s[b..e): digits, separators; writes out from *o. */
static int
body(const char *s, size_t b, size_t e, char decimal_sep, char group_sep,
	 char *out, size_t *o)
{
	size_t		int_start = *o;
	size_t		i;
	int			err = DEC_OK;
	int			digits;

	i = integer_part(s, e, b, decimal_sep, group_sep, out, o, &err);
	if (i == (size_t) -1)
		return err;
	digits = (int) (*o - int_start);
	if (digits == 0)
		out[(*o)++] = '0';		/* ".5" is 0.5 */
	if (i < e)
	{
		size_t		frac_start;

		i++;					/* the decimal separator */
		out[(*o)++] = '.';
		frac_start = *o;
		for (; i < e; i++)
		{
			if (!is_digit(s[i]))
				return DEC_ERR_SYNTAX;
			out[(*o)++] = s[i];
		}
		digits += (int) (*o - frac_start);
		if (*o == frac_start)
			(*o)--;				/* "5." is 5 */
	}
	return digits > 0 ? DEC_OK : DEC_ERR_SYNTAX;
}

int
recon_decimal_normalize(const char *s, size_t len, char decimal_sep,
						char group_sep, char *out, size_t out_cap,
						size_t *out_len)
{
	size_t		b = 0;
	size_t		e = len;
	size_t		n;
	size_t		o = 0;
	int			negative = 0;
	int			rc;

	*out_len = 0;
	if (out_cap > 0)
		out[0] = '\0';
	if (!recon_decimal_separators_ok(decimal_sep, group_sep))
		return DEC_ERR_SEPARATORS;
	while (b < e && (n = blank_len(s, e, b)) > 0)
		b += n;
	while (e > b && (n = blank_len_before(s, e)) > 0 && n <= e - b)
		e -= n;
	if (b == e)
		return DEC_ERR_EMPTY;
	if (e - b > RECON_DECIMAL_MAX_LEN)
		return DEC_ERR_TOO_LONG;
	if (out_cap < (e - b) + 3)
		return DEC_ERR_BUFFER;

	if (s[b] == '-' || s[b] == '+')
	{
		negative = s[b] == '-';
		b++;
	}
	else if (s[e - 1] == '-' || s[e - 1] == '+')
	{
		negative = s[e - 1] == '-';
		e--;
	}
	if (b == e)
		return DEC_ERR_SYNTAX;
	if (negative)
		out[o++] = '-';
	rc = body(s, b, e, decimal_sep, group_sep, out, &o);
	if (rc != DEC_OK)
	{
		out[0] = '\0';
		return rc;
	}
	out[o] = '\0';
	*out_len = o;
	return DEC_OK;
}
