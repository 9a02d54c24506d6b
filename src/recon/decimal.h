/*-------------------------------------------------------------------------
 *
 * decimal.h
 *	  Amounts as people and banks write them, turned into plain decimals.
 *
 * recon_decimal_normalize() reads "1.234,56", "-12.50", "12.50-",
 * "+3", "1 234 567.8" or "1'000.00" and writes "[-]digits[.digits]",
 * which numeric_in reads exactly.  It never rounds and never goes through
 * a float: the digits are copied.  Fraction digits are kept as written
 * ("1.10" stays "1.10"), so the caller sees the scale the file used.
 *
 * Accepted, and nothing else:
 *	- surrounding spaces and tabs (and, in UTF-8, no-break spaces);
 *	- one sign: a leading '+' or '-', or a trailing '-' or '+' (as
 *	  accounting exports write debits: "12.50-"), not both;
 *	- digits with at most one decimal separator (decimal_sep: '.' or ',');
 *	  ".5" and "5." are accepted;
 *	- with a group separator (group_sep, 0 for none), groups of exactly
 *	  three digits after a first group of one to three, in the integer
 *	  part only ("1.234.567,89"); without any separator the integer part
 *	  may be any digits.  A group separator of ' ' also accepts the UTF-8
 *	  no-break spaces U+00A0 and U+202F, which spreadsheets write.
 *
 * Self-contained C99: no PostgreSQL dependency.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TPWALLET_DECIMAL_H
#define TPWALLET_DECIMAL_H

#include <stddef.h>

/* Inputs longer than this (after trimming) are refused. */
#define RECON_DECIMAL_MAX_LEN	1000

typedef enum
{
	DEC_OK = 0,
	DEC_ERR_EMPTY = -1,			/* nothing but blanks */
	DEC_ERR_SYNTAX = -2,		/* not a number in this notation */
	DEC_ERR_GROUPING = -3,		/* group separators in the wrong places */
	DEC_ERR_TOO_LONG = -4,		/* over RECON_DECIMAL_MAX_LEN */
	DEC_ERR_SEPARATORS = -5,	/* decimal_sep/group_sep not usable */
	DEC_ERR_BUFFER = -6			/* out_cap too small */
} recon_decimal_error;

extern const char *recon_decimal_strerror(int err);

/*
 * Whether decimal_sep and group_sep can be used: decimal_sep '.' or ',';
 * group_sep 0 or one of ". , ' _" and space, different from decimal_sep.
 */
extern int	recon_decimal_separators_ok(char decimal_sep, char group_sep);

/*
 * Normalize s[0..len) into out (NUL-terminated) and set *out_len.
 * out_cap of len + 3 always suffices.  Returns DEC_OK or an error; on an
 * error out is the empty string.
 */
extern int	recon_decimal_normalize(const char *s, size_t len, char decimal_sep,
									char group_sep, char *out, size_t out_cap,
									size_t *out_len);

#endif							/* TPWALLET_DECIMAL_H */
