/*-------------------------------------------------------------------------
 *
 * hex.h
 *	  Strict hexadecimal parsing and formatting.
 *
 * The functions carry a tp_ prefix because PostgreSQL's backend already
 * exports hex_encode() and hex_decode() (utils/builtins.h) with different
 * signatures; reusing those names would fail to compile next to builtins.h
 * and, on servers that do not build modules with -fvisibility=hidden
 * (PostgreSQL < 16), would bind at load time to the server's functions.
 *
 * Self-contained C99: no PostgreSQL or OpenSSL dependency.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TPWALLET_HEX_H
#define TPWALLET_HEX_H

#include <stddef.h>
#include <stdint.h>

typedef enum
{
	HEX_OK = 0,
	HEX_ERR_ODD_LENGTH = -1,	/* odd number of digits */
	HEX_ERR_BAD_DIGIT = -2,		/* a character outside [0-9a-fA-F] */
	HEX_ERR_TOO_LONG = -3		/* decoded bytes would exceed out_cap */
} hex_error;

/*
 * Decode len characters of s (no NUL terminator needed) into out.
 *
 * Accepts an optional "0x"/"0X" prefix; "0x" alone and "" decode to zero
 * bytes.  Digits may be upper or lower case; no whitespace or separators.
 * Returns HEX_OK and sets *out_len, or a negative hex_error.  Never writes
 * more than out_cap bytes to out; on error, out's contents are unspecified
 * (a prefix may have been written) and *out_len is 0.
 */
extern int	tp_hex_decode(const char *s, size_t len, uint8_t *out,
						  size_t out_cap, size_t *out_len);

/* Lowercase, no prefix, NUL-terminated: out must hold 2 * len + 1 chars. */
extern void tp_hex_encode(const uint8_t *in, size_t len, char *out);

/* Static lowercase message for a hex_error (or "unknown hex error"). */
extern const char *tp_hex_strerror(int err);

#endif							/* TPWALLET_HEX_H */
