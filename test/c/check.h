/*-------------------------------------------------------------------------
 *
 * check.h
 *	  The harness the standalone C tests share: pass/fail counting,
 *	  CHECK macros, a deterministic random generator, hex literals and a
 *	  counting allocator.
 *
 * Plain C99, no framework.  A check that fails prints one line (or, for
 * CHECK_HEX, three) starting "FAIL file:line:"; check_summary() prints,
 * last, exactly "N passed, M failed" and gives main's exit status.
 * Everything goes to stdout, so failures and the summary stay in order.
 *
 * Depends only on src/crypto/hex.h (and hex.c at link time).
 *
 *-------------------------------------------------------------------------
 */
#ifndef TPWALLET_TEST_CHECK_H
#define TPWALLET_TEST_CHECK_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define CHECK_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CHECK_PRINTF(fmt, args)
#endif

/* cond is true */
#define CHECK(cond) \
	check_impl((cond) ? 1 : 0, #cond, __FILE__, __LINE__)

/* integer equality, printing both sides on failure */
#define CHECK_INT(got, want) \
	check_int_impl((long) (got), (long) (want), #got, __FILE__, __LINE__)

/* len bytes equal to a lowercase hex string */
#define CHECK_HEX(bytes, len, hexstr) \
	check_hex_impl((bytes), (len), (hexstr), #bytes, __FILE__, __LINE__)

/*
 * The functions behind the macros, for helpers that report a caller's
 * line (pass __LINE__ down) or a description instead of an expression.
 */
extern void check_impl(int ok, const char *expr, const char *file, int line);
extern void check_int_impl(long got, long want, const char *expr,
						   const char *file, int line);
extern void check_hex_impl(const uint8_t *bytes, size_t len, const char *want,
						   const char *expr, const char *file, int line);

/*
 * For checks of a file's own: count a pass, or count a failure and print
 * "FAIL " followed by the formatted message and a newline.
 */
extern void check_pass(void);
extern void check_fail(const char *fmt,...) CHECK_PRINTF(1, 2);

/* Prints "N passed, M failed"; returns 0 if nothing failed, else 1. */
extern int	check_summary(void);

/*
 * Deterministic xorshift64 so failures reproduce.  A program that uses it
 * seeds it once, first thing in main; the seed must not be zero.
 */
extern void rng_seed(uint64_t seed);
extern uint32_t rng_next(void);
extern void rng_fill(uint8_t *p, size_t len);

/*
 * Decode a known-good hex literal in test code into out (at most cap
 * bytes) and return its length; aborts if it is not one.
 */
extern size_t unhex(const char *s, uint8_t *out, size_t cap);

/*
 * malloc-style hooks for allocator parameters (rlp_allocator and the
 * like).  The count_ ones pass through to malloc/realloc/free and record
 * the blocks still live, the calls made and the largest size asked for;
 * the fail_ ones always return NULL (pair them with count_free).
 * alloc_reset() zeroes the three counters.
 */
extern int	alloc_live;
extern int	alloc_calls;
extern size_t alloc_max;

extern void *count_alloc(size_t n);
extern void *count_realloc(void *p, size_t n);
extern void count_free(void *p);
extern void *fail_alloc(size_t n);
extern void *fail_realloc(void *p, size_t n);
extern void alloc_reset(void);

#endif							/* TPWALLET_TEST_CHECK_H */
