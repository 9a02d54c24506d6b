/*-------------------------------------------------------------------------
 *
 * match_internal.h
 *	  Private to the reconciliation matcher: the state of a run, the
 *	  helpers its passes share, and what each of its files offers the
 *	  others.  Callers use match.h; only the matcher's own files (match.c,
 *	  match_state.c, match_sort.c, match_exact.c, match_fuzzy.c,
 *	  match_partial.c, match_leftovers.c) include this header.
 *
 * Functions and variables shared between those files carry the prefix
 * rm_ (reconciliation matcher): the matcher is linked into the server's
 * shared library, where a plain global name such as collect() could
 * collide with another one.  The small helpers are static inline here:
 * the passes call them in their inner loops.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TPWALLET_RECON_MATCH_INTERNAL_H
#define TPWALLET_RECON_MATCH_INTERNAL_H

#include "match.h"

#define FREE_ITEM	0
#define USED_ITEM	1

static inline recon_amount
amount_abs(recon_amount a)
{
	return a < 0 ? -a : a;
}

static inline int
amount_sign(recon_amount a)
{
	return (a > 0) - (a < 0);
}

static inline int64_t
time_gap(const recon_item *x, const recon_item *y)
{
	return x->ts > y->ts ? x->ts - y->ts : y->ts - x->ts;
}

/* Keys contradict when both items have one and they differ. */
static inline bool
keys_contradict(const recon_item *x, const recon_item *y)
{
	return (x->txid && y->txid && x->txid != y->txid) ||
		(x->order_id && y->order_id && x->order_id != y->order_id);
}

static inline int
cmp_i64(int64_t a, int64_t b)
{
	return (a > b) - (a < b);
}

static inline int
cmp_amount(recon_amount a, recon_amount b)
{
	return (a > b) - (a < b);
}

typedef struct run_state
{
	const recon_item *items;
	size_t		n;
	const recon_rules *rules;
	const recon_allocator *a;
	uint8_t    *state;			/* FREE_ITEM / USED_ITEM per item */
	recon_result *out;
	size_t		cap_matches;
	size_t		cap_members;
	size_t		cap_exceptions;
	recon_amount rel_den;		/* 10^rel_exp */
	recon_amount fee_den;		/* 10^fee_exp */
} run_state;

/* match_state.c: recording matches and exceptions */
extern void *rm_grow(const recon_allocator *a, void *old, size_t used, size_t *cap, size_t elem);
extern void rm_add_member(run_state *st, uint32_t item);
extern void rm_begin_match(run_state *st, recon_rule rule, double confidence);
extern void rm_end_match(run_state *st);
extern void rm_add_pair(run_state *st, recon_rule rule, double confidence, uint32_t x, uint32_t y);
extern void rm_add_exception(run_state *st, uint32_t item, recon_class cls, int64_t counterpart);

/* match_sort.c: the orders of item indexes, for qsort (set rm_sort_items first) */
extern const recon_item *rm_sort_items;
extern int	rm_sort_key_kind;
extern int	rm_cmp_dup(const void *pa, const void *pb);
extern int	rm_cmp_exact(const void *pa, const void *pb);
extern int	rm_cmp_value(const void *pa, const void *pb);
extern int	rm_cmp_time(const void *pa, const void *pb);
extern int	rm_cmp_magnitude(const void *pa, const void *pb);
extern int	rm_cmp_id(const void *pa, const void *pb);
extern uint32_t *rm_collect(run_state *st, int side, bool (*keep) (const recon_item *), size_t *count);
extern size_t rm_lower_ts(const recon_item *items, const uint32_t *idx, size_t lo, size_t hi, int64_t t);
extern size_t rm_upper_ts(const recon_item *items, const uint32_t *idx, size_t lo, size_t hi, int64_t t);
extern size_t rm_group_end(const recon_item *items, const uint32_t *idx, size_t from, size_t n, bool same_amount);

/* the passes, in the order recon_match_run() calls them */
extern void rm_pass_duplicates(run_state *st);	/* match_exact.c */
extern void rm_pass_exact(run_state *st, int key_kind);	/* match_exact.c */
extern void rm_pass_fuzzy(run_state *st);	/* match_fuzzy.c */
extern void rm_pass_partial(run_state *st);	/* match_partial.c */
extern void rm_pass_reversals(run_state *st);	/* match_leftovers.c */
extern void rm_pass_leftovers(run_state *st);	/* match_leftovers.c */

#endif							/* TPWALLET_RECON_MATCH_INTERNAL_H */
