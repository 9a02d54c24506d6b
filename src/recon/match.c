/*-------------------------------------------------------------------------
 *
 * match.c
 *	  The reconciliation matcher; see match.h for the passes.
 *
 * Everything works on indexes into the caller's item array, sorted in the
 * order each pass needs, so the cost is a few sorts and binary searches
 * over n items: 2,000,000 items match in about a second.
 *
 * This file runs the passes and hands out the result.  The passes are in
 * match_exact.c (1, 2), match_fuzzy.c (3), match_partial.c (4) and
 * match_leftovers.c (5, 6); what they share in match_internal.h,
 * match_state.c and match_sort.c; the key interner in interner.c.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "match_internal.h"

/* 10^e for 0 <= e <= 38 */
static recon_amount
pow10_amount(int e)
{
	recon_amount p = 1;

	while (e-- > 0)
		p *= 10;
	return p;
}

const char *
recon_class_name(recon_class c)
{
	switch (c)
	{
		case RC_MISSING_IN_LEDGER:
			return "missing_in_ledger";
		case RC_MISSING_IN_STATEMENT:
			return "missing_in_statement";
		case RC_AMOUNT_MISMATCH:
			return "amount_mismatch";
		case RC_TIMING:
			return "timing";
		case RC_FEE_DIFFERENCE:
			return "fee_difference";
		case RC_DUPLICATE:
			return "duplicate";
		case RC_AMBIGUOUS:
			return "ambiguous";
		case RC_REVERSAL:
			return "reversal";
		case RC_NONE:
			break;
	}
	return "none";
}

const char *
recon_rule_name(recon_rule r)
{
	switch (r)
	{
		case RR_EXACT_TXID:
			return "exact_txid";
		case RR_EXACT_ORDER_ID:
			return "exact_order_id";
		case RR_FUZZY:
			return "fuzzy";
		case RR_PARTIAL:
			return "partial";
		case RR_REVERSAL:
			return "reversal";
	}
	return "none";
}

/* ---------------------------------------------------------------- the run */

static const recon_item *sort_exc_items;

static int
cmp_exception(const void *pa, const void *pb)
{
	const recon_exception *x = pa;
	const recon_exception *y = pb;

	return cmp_i64(sort_exc_items[x->item].id, sort_exc_items[y->item].id);
}

void
recon_result_free(recon_result *r, const recon_allocator *a)
{
	if (r->matches)
		a->free(r->matches);
	if (r->members)
		a->free(r->members);
	if (r->exceptions)
		a->free(r->exceptions);
	memset(r, 0, sizeof(*r));
}

int
recon_match_run(const recon_item *items, size_t n, const recon_rules *rules,
				const recon_allocator *a, recon_result *out)
{
	run_state	st;

	memset(out, 0, sizeof(*out));
	memset(&st, 0, sizeof(st));
	st.items = items;
	st.n = n;
	st.rules = rules;
	st.a = a;
	st.out = out;
	st.state = a->alloc(n ? n : 1);
	memset(st.state, FREE_ITEM, n ? n : 1);
	st.rel_den = pow10_amount(rules->rel_exp);
	st.fee_den = pow10_amount(rules->fee_exp);

	rm_pass_duplicates(&st);
	rm_pass_exact(&st, 0);
	rm_pass_exact(&st, 1);
	if (out->error == RECON_OK)
		rm_pass_fuzzy(&st);
	if (out->error == RECON_OK)
		rm_pass_partial(&st);
	if (out->error == RECON_OK)
		rm_pass_reversals(&st);
	if (out->error == RECON_OK)
		rm_pass_leftovers(&st);
	a->free(st.state);
	if (out->error != RECON_OK)
	{
		int			err = out->error;

		recon_result_free(out, a);
		out->error = err;
		return err;
	}
	sort_exc_items = items;
	qsort(out->exceptions, out->n_exceptions, sizeof(recon_exception), cmp_exception);
	return RECON_OK;
}
