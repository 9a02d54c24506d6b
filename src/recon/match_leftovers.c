/*-------------------------------------------------------------------------
 *
 * match_leftovers.c
 *	  Passes 5 and 6 of the matcher (see match.h): reversals, two items of
 *	  one source that cancel each other; then every item still free
 *	  becomes an exception, classed by its likeliest counterpart on the
 *	  other side.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "match_internal.h"

static bool
keys_shared(const recon_item *x, const recon_item *y)
{
	return (x->txid && x->txid == y->txid) || (x->order_id && x->order_id == y->order_id);
}

/* ---------------------------------------------------------------- 5. reversals */

static bool
reverses(const recon_item *x, const recon_item *y)
{
	return x->amount == -y->amount && x->amount != 0 &&
		(x->reversal != y->reversal || keys_shared(x, y));
}

void
rm_pass_reversals(run_state *st)
{
	const recon_item *it = st->items;
	size_t		n,
				i = 0;
	uint32_t   *idx = rm_collect(st, -1, NULL, &n);
	uint32_t   *best = st->a->alloc((st->n ? st->n : 1) * sizeof(uint32_t));
	uint32_t   *pairs = st->a->alloc((n + 1) * sizeof(uint32_t));
	size_t		n_pairs = 0;

	rm_sort_items = it;
	qsort(idx, n, sizeof(uint32_t), rm_cmp_magnitude);
	while (i < n)
	{
		size_t		j = i + 1;

		while (j < n && it[idx[j]].side == it[idx[i]].side && it[idx[j]].asset == it[idx[i]].asset &&
			   amount_abs(it[idx[j]].amount) == amount_abs(it[idx[i]].amount))
			j++;
		/* each item's unique closest partner in the group, or none */
		for (size_t a = i; a < j; a++)
		{
			int64_t		bdt = -1;
			int			ties = 0;

			best[idx[a]] = UINT32_MAX;
			for (size_t b = i; b < j; b++)
			{
				int64_t		dt;

				if (b == a || !reverses(&it[idx[a]], &it[idx[b]]))
					continue;
				dt = time_gap(&it[idx[a]], &it[idx[b]]);
				if (bdt < 0 || dt < bdt)
				{
					bdt = dt;
					ties = 1;
					best[idx[a]] = idx[b];
				}
				else if (dt == bdt)
					ties++;
			}
			if (ties != 1)
				best[idx[a]] = UINT32_MAX;
		}
		for (size_t a = i; a < j; a++)
		{
			uint32_t	x = idx[a],
						y = best[x];

			if (y != UINT32_MAX && best[y] == x && it[x].id < it[y].id)
				pairs[n_pairs++] = x;
		}
		i = j;
	}
	qsort(pairs, n_pairs, sizeof(uint32_t), rm_cmp_id);
	for (size_t k = 0; k < n_pairs; k++)
		rm_add_pair(st, RR_REVERSAL, 0.9, pairs[k], best[pairs[k]]);
	st->a->free(idx);
	st->a->free(best);
	st->a->free(pairs);
}

/* ---------------------------------------------------------------- 6. leftovers */

/* |x - y| <= fee * max(|x|, |y|) and the same sign: a fee taken off */
static bool
within_fee(run_state *st, recon_amount x, recon_amount y)
{
	recon_amount diff = amount_abs(x - y);
	recon_amount big = amount_abs(x) > amount_abs(y) ? amount_abs(x) : amount_abs(y);
	recon_amount lhs,
				rhs;

	if (amount_sign(x) != amount_sign(y))
		return false;
	if (__builtin_mul_overflow(diff, st->fee_den, &lhs) ||
		__builtin_mul_overflow(st->rules->fee_num, big, &rhs))
	{
		st->out->error = RECON_ERR_OVERFLOW;
		return false;
	}
	return lhs <= rhs;
}

typedef struct counterpart
{
	int			prio;			/* 1 shared key, 2 same amount, 3 fee; 0 = none */
	int64_t		dt;
	int64_t		id;
	recon_class cls;
} counterpart;

static void
consider(counterpart *best, int prio, int64_t dt, int64_t id, recon_class cls)
{
	if (best->prio == 0 || prio < best->prio ||
		(prio == best->prio && (dt < best->dt || (dt == best->dt && id < best->id))))
	{
		best->prio = prio;
		best->dt = dt;
		best->id = id;
		best->cls = cls;
	}
}

/* the class an (o, g) pair would give, with its priority; 0 = not a counterpart */
static int
pair_class(run_state *st, const recon_item *o, const recon_item *g, recon_class *cls)
{
	if (g->asset != o->asset)
		return 0;
	if (keys_shared(o, g))
	{
		if (g->amount == o->amount)
			*cls = RC_TIMING;
		else if (within_fee(st, g->amount, o->amount))
			*cls = RC_FEE_DIFFERENCE;
		else
			*cls = RC_AMOUNT_MISMATCH;
		return 1;
	}
	if (keys_contradict(o, g))
		return 0;
	if (g->amount == o->amount)
	{
		*cls = RC_TIMING;
		return 2;
	}
	if (time_gap(o, g) <= st->rules->window && within_fee(st, g->amount, o->amount))
	{
		*cls = RC_FEE_DIFFERENCE;
		return 3;
	}
	return 0;
}

void
rm_pass_leftovers(run_state *st)
{
	const recon_item *it = st->items;
	size_t		n;
	uint32_t   *left = rm_collect(st, -1, NULL, &n);
	uint32_t   *by_value = st->a->alloc((n ? n : 1) * sizeof(uint32_t));
	uint32_t   *by_time = st->a->alloc((n ? n : 1) * sizeof(uint32_t));
	uint32_t   *by_txid = st->a->alloc((n ? n : 1) * sizeof(uint32_t));
	uint32_t   *by_order = st->a->alloc((n ? n : 1) * sizeof(uint32_t));
	recon_class *cls = st->a->alloc((n ? n : 1) * sizeof(recon_class));
	int64_t    *cps = st->a->alloc((n ? n : 1) * sizeof(int64_t));
	size_t		n_txid = 0,
				n_order = 0;

	memcpy(by_value, left, n * sizeof(uint32_t));
	memcpy(by_time, left, n * sizeof(uint32_t));
	for (size_t k = 0; k < n; k++)
	{
		if (it[left[k]].txid)
			by_txid[n_txid++] = left[k];
		if (it[left[k]].order_id)
			by_order[n_order++] = left[k];
	}
	rm_sort_items = it;
	qsort(by_value, n, sizeof(uint32_t), rm_cmp_value);
	qsort(by_time, n, sizeof(uint32_t), rm_cmp_time);
	rm_sort_key_kind = 0;
	qsort(by_txid, n_txid, sizeof(uint32_t), rm_cmp_exact);
	rm_sort_key_kind = 1;
	qsort(by_order, n_order, sizeof(uint32_t), rm_cmp_exact);

	for (size_t k = 0; k < n && st->out->error == RECON_OK; k++)
	{
		const recon_item *o = &it[left[k]];
		counterpart best = {0, 0, 0, RC_NONE};
		recon_class c;
		int			prio;

		/* 1. a shared key: the items with the same txid or order_id */
		for (int kind = 0; kind <= 1; kind++)
		{
			uint32_t	key = kind ? o->order_id : o->txid;
			uint32_t   *list = kind ? by_order : by_txid;
			size_t		len = kind ? n_order : n_txid,
						lo = 0,
						hi = len;

			if (key == 0)
				continue;
			while (lo < hi)
			{
				size_t		mid = lo + (hi - lo) / 2;
				uint32_t	mk = kind ? it[list[mid]].order_id : it[list[mid]].txid;

				if (mk < key)
					lo = mid + 1;
				else
					hi = mid;
			}
			for (; lo < len && (kind ? it[list[lo]].order_id : it[list[lo]].txid) == key; lo++)
			{
				const recon_item *g = &it[list[lo]];

				if (g->side != o->side && (prio = pair_class(st, o, g, &c)) != 0)
					consider(&best, prio, time_gap(o, g), g->id, c);
			}
		}
		/* 2. the same amount, at any time */
		if (best.prio == 0 || best.prio > 2)
		{
			size_t		lo = 0,
						hi = n;

			while (lo < hi)
			{
				size_t		mid = lo + (hi - lo) / 2;
				const recon_item *m = &it[by_value[mid]];

				if (m->asset < o->asset || (m->asset == o->asset && m->amount < o->amount))
					lo = mid + 1;
				else
					hi = mid;
			}
			for (; lo < n && it[by_value[lo]].asset == o->asset && it[by_value[lo]].amount == o->amount; lo++)
			{
				const recon_item *g = &it[by_value[lo]];

				if (g->side != o->side && (prio = pair_class(st, o, g, &c)) != 0)
					consider(&best, prio, time_gap(o, g), g->id, c);
			}
		}
		/* 3. a fee's difference within the window */
		if (best.prio == 0)
		{
			size_t		lo = 0,
						hi = n;

			while (lo < hi)
			{
				size_t		mid = lo + (hi - lo) / 2;
				const recon_item *m = &it[by_time[mid]];

				if (m->asset < o->asset || (m->asset == o->asset && m->ts < o->ts - st->rules->window))
					lo = mid + 1;
				else
					hi = mid;
			}
			for (; lo < n && it[by_time[lo]].asset == o->asset && it[by_time[lo]].ts <= o->ts + st->rules->window; lo++)
			{
				const recon_item *g = &it[by_time[lo]];

				if (g->side != o->side && (prio = pair_class(st, o, g, &c)) != 0)
					consider(&best, prio, time_gap(o, g), g->id, c);
			}
		}
		if (best.prio)
		{
			cls[k] = best.cls;
			cps[k] = best.id;
		}
		else
		{
			cls[k] = o->reversal ? RC_REVERSAL : o->statement ? RC_MISSING_IN_LEDGER : RC_MISSING_IN_STATEMENT;
			cps[k] = 0;
		}
	}
	/* classed against each other all at once, then recorded */
	for (size_t k = 0; k < n && st->out->error == RECON_OK; k++)
		rm_add_exception(st, left[k], cls[k], cps[k]);
	st->a->free(left);
	st->a->free(by_value);
	st->a->free(by_time);
	st->a->free(by_txid);
	st->a->free(by_order);
	st->a->free(cls);
	st->a->free(cps);
}
