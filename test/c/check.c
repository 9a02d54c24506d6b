/*-------------------------------------------------------------------------
 *
 * check.c
 *	  The harness the standalone C tests share; see check.h.
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hex.h"

static int	n_passed = 0;
static int	n_failed = 0;

void
check_pass(void)
{
	n_passed++;
}

void
check_fail(const char *fmt,...)
{
	va_list		ap;

	n_failed++;
	fputs("FAIL ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void
check_impl(int ok, const char *expr, const char *file, int line)
{
	if (ok)
		check_pass();
	else
		check_fail("%s:%d: %s", file, line, expr);
}

void
check_int_impl(long got, long want, const char *expr, const char *file,
			   int line)
{
	if (got == want)
		check_pass();
	else
		check_fail("%s:%d: %s == %ld, want %ld", file, line, expr, got, want);
}

void
check_hex_impl(const uint8_t *bytes, size_t len, const char *want,
			   const char *expr, const char *file, int line)
{
	char	   *got = malloc(2 * len + 1);

	if (got == NULL)
		abort();
	tp_hex_encode(bytes, len, got);
	if (strcmp(got, want) == 0)
		check_pass();
	else
		check_fail("%s:%d: %s\n  got  %s\n  want %s", file, line, expr, got,
				   want);
	free(got);
}

int
check_summary(void)
{
	printf("%d passed, %d failed\n", n_passed, n_failed);
	return n_failed == 0 ? 0 : 1;
}

/* the state until rng_seed() is called; xorshift needs a nonzero one */
static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

void
rng_seed(uint64_t seed)
{
	if (seed == 0)
	{
		printf("rng_seed: the seed must not be zero\n");
		abort();
	}
	rng_state = seed;
}

uint32_t
rng_next(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t) (rng_state >> 32);
}

void
rng_fill(uint8_t *p, size_t len)
{
	size_t		i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t) rng_next();
}

size_t
unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t		len;

	if (tp_hex_decode(s, strlen(s), out, cap, &len) != HEX_OK)
	{
		printf("bad hex literal in test: %s\n", s);
		abort();
	}
	return len;
}

int			alloc_live = 0;
int			alloc_calls = 0;
size_t		alloc_max = 0;

void *
count_alloc(size_t n)
{
	alloc_live++;
	alloc_calls++;
	if (n > alloc_max)
		alloc_max = n;
	return malloc(n);
}

void *
count_realloc(void *p, size_t n)
{
	alloc_calls++;
	if (n > alloc_max)
		alloc_max = n;
	return realloc(p, n);
}

void
count_free(void *p)
{
	alloc_live--;
	free(p);
}

void *
fail_alloc(size_t n)
{
	(void) n;
	return NULL;
}

void *
fail_realloc(void *p, size_t n)
{
	(void) p;
	(void) n;
	return NULL;
}

void
alloc_reset(void)
{
	alloc_live = 0;
	alloc_calls = 0;
	alloc_max = 0;
}
