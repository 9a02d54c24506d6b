/*-------------------------------------------------------------------------
 *
 * match_exact.c
 *	  Passes 1 and 2 of the matcher (see match.h): duplicates, then exact
 *	  matches on txid and on order_id.  Both sort the items once and
 *	  work on the groups of equal key that the sort makes.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "match_internal.h"

/* ---------------------------------------------------------------- 1. duplicates */

static bool
is_statement(const recon_item *it)
{
	return it->statement && (it->ext_id || it->content || it->twin_before);
}

static bool
same_dup_key(const recon_item *x, const recon_item *y)
{
	if (x->side != y->side)
		return false;
	if (x->ext_id)
		return y->ext_id == x->ext_id;
	return y->ext_id == 0 && x->content != 0 && y->content == x->content;
}

void
rm_pass_duplicates(run_state *st)
{
	size_t		n,
				i = 0;
	uint32_t   *idx = rm_collect(st, -1, is_statement, &n);

	rm_sort_items = st->items;
	qsort(idx, n, sizeof(uint32_t), rm_cmp_dup);
	while (i < n)
	{
		const recon_item *first = &st->items[idx[i]];
		size_t		j = i + 1;

		/* a group: same side, same kind of key, same key */
		while (j < n && same_dup_key(first, &st->items[idx[j]]))
			j++;
		if (first->twin_before)
			rm_add_exception(st, idx[i], RC_DUPLICATE, first->twin_before);
		for (size_t k = i + 1; k < j; k++)
			rm_add_exception(st, idx[k], RC_DUPLICATE, first->twin_before ? first->twin_before : first->id);
		i = j;
	}
	st->a->free(idx);
}

/* ---------------------------------------------------------------- 2. exact keys */

static bool
has_txid(const recon_item *it)
{
	return it->txid != 0;
}

static bool
has_order_id(const recon_item *it)
{
	return it->order_id != 0;
}

/* One group of equal key, asset and amount: lefts L[0..nl), rights R[0..nr), by time. */
static void
exact_group(run_state *st, const uint32_t *L, size_t nl, const uint32_t *R, size_t nr,
			uint32_t *pairs, size_t *n_pairs, uint32_t *amb, size_t *n_amb)
{
	const recon_item *it = st->items;
	int64_t		w = st->rules->window;

	for (size_t a = 0; a < nl; a++)
	{
		const recon_item *l = &it[L[a]];
		size_t		lo = rm_lower_ts(it, R, 0, nr, l->ts - w);
		size_t		hi = rm_upper_ts(it, R, 0, nr, l->ts + w);

		for (size_t b = lo; b < hi; b++)
		{
			const recon_item *r = &it[R[b]];
			size_t		rlo = rm_lower_ts(it, L, 0, nl, r->ts - w);
			size_t		rhi = rm_upper_ts(it, L, 0, nl, r->ts + w);

			if (hi - lo == 1 && rhi - rlo == 1)
			{
				pairs[2 * *n_pairs] = L[a];
				pairs[2 * *n_pairs + 1] = R[b];
				(*n_pairs)++;
			}
			else
			{
				amb[(*n_amb)++] = L[a];
				amb[(*n_amb)++] = R[b];
			}
		}
	}
}

void
rm_pass_exact(run_state *st, int key_kind)
{
	recon_rule	rule = key_kind ? RR_EXACT_ORDER_ID : RR_EXACT_TXID;
	size_t		n,
				i = 0,
				n_pairs = 0,
				n_amb = 0;
	uint32_t   *idx = rm_collect(st, -1, key_kind ? has_order_id : has_txid, &n);
	uint32_t   *pairs = st->a->alloc((2 * n + 2) * sizeof(uint32_t));
	uint32_t   *amb;
	size_t		cap_amb = 2 * n + 2;

	amb = st->a->alloc(cap_amb * sizeof(uint32_t));
	rm_sort_items = st->items;
	rm_sort_key_kind = key_kind;
	qsort(idx, n, sizeof(uint32_t), rm_cmp_exact);
	while (i < n)
	{
		const recon_item *f = &st->items[idx[i]];
		size_t		j = i,
					mid;

		while (j < n)
		{
			const recon_item *g = &st->items[idx[j]];

			if ((key_kind ? g->order_id != f->order_id : g->txid != f->txid) ||
				g->asset != f->asset || g->amount != f->amount)
				break;
			j++;
		}
		for (mid = i; mid < j && st->items[idx[mid]].side == 0; mid++)
			;
		if (mid > i && mid < j)
		{
			/* ambiguity can name an item once per partner: bound the buffer */
			size_t		need = n_amb + 2 * (mid - i) * (j - mid);

			if (need > cap_amb)
			{
				uint32_t   *bigger = st->a->alloc(need * sizeof(uint32_t));

				memcpy(bigger, amb, n_amb * sizeof(uint32_t));
				st->a->free(amb);
				amb = bigger;
				cap_amb = need;
			}
			exact_group(st, &idx[i], mid - i, &idx[mid], j - mid, pairs, &n_pairs, amb, &n_amb);
		}
		i = j;
	}
	/* matches in the order of their left item (pairs are disjoint) */
	rm_sort_items = st->items;
	qsort(pairs, n_pairs, 2 * sizeof(uint32_t), rm_cmp_id);
	for (size_t k = 0; k < n_pairs; k++)
		rm_add_pair(st, rule, key_kind ? 0.99 : 1.0, pairs[2 * k], pairs[2 * k + 1]);
	for (size_t k = 0; k < n_amb; k++)
		if (st->state[amb[k]] == FREE_ITEM)
			rm_add_exception(st, amb[k], RC_AMBIGUOUS, 0);
	st->a->free(idx);
	st->a->free(pairs);
	st->a->free(amb);
}
