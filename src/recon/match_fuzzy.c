/*-------------------------------------------------------------------------
 *
 * match_fuzzy.c
 *	  Pass 3 of the matcher (see match.h): pairs of the same asset with
 *	  amounts within the tolerance, times within the window and keys that
 *	  do not contradict.
 *
 * Every such (left, right) pair is an edge.  A round matches the edges
 * whose two items are each other's unique closest; when a round finds
 * none, the edges tied at the smallest distance make their items
 * ambiguous rather than one of them being picked, and the rounds go on
 * until no edge is left between free items.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>

#include "match_internal.h"

/*
 * Within the amount tolerance of item l: |a(l) - a(r)| <= max(abs_tol,
 * rel * |a(l)|), exactly (in integers).  *allowed gets the bound.
 */
static bool
tolerance_bound(run_state *st, const recon_item *l, recon_amount *allowed)
{
	recon_amount prod;
	recon_amount bound = st->rules->abs_tol;

	if (st->rules->rel_num > 0)
	{
		if (__builtin_mul_overflow(st->rules->rel_num, amount_abs(l->amount), &prod))
		{
			st->out->error = RECON_ERR_OVERFLOW;
			return false;
		}
		/* da <= prod / den  <=>  da <= floor(prod / den) for integer da */
		if (prod / st->rel_den > bound)
			bound = prod / st->rel_den;
	}
	*allowed = bound;
	return true;
}

typedef struct fuzzy_edge
{
	uint32_t	l,
				r;
	int64_t		dt;
	recon_amount da;
	recon_amount allowed;
} fuzzy_edge;

static const fuzzy_edge *sort_edges;

/* closeness: time, then amount */
static int
cmp_closeness(const fuzzy_edge *x, const fuzzy_edge *y)
{
	int			c = cmp_i64(x->dt, y->dt);

	return c ? c : cmp_amount(x->da, y->da);
}

/* a left item's edges: l, closeness, the right item's id */
static int
cmp_edge_left(const void *pa, const void *pb)
{
	const fuzzy_edge *x = &sort_edges[*(const uint32_t *) pa];
	const fuzzy_edge *y = &sort_edges[*(const uint32_t *) pb];
	int			c;

	if (x->l != y->l)
		return cmp_i64(rm_sort_items[x->l].id, rm_sort_items[y->l].id);
	if ((c = cmp_closeness(x, y)) != 0)
		return c;
	return cmp_i64(rm_sort_items[x->r].id, rm_sort_items[y->r].id);
}

static int
cmp_edge_right(const void *pa, const void *pb)
{
	const fuzzy_edge *x = &sort_edges[*(const uint32_t *) pa];
	const fuzzy_edge *y = &sort_edges[*(const uint32_t *) pb];
	int			c;

	if (x->r != y->r)
		return cmp_i64(rm_sort_items[x->r].id, rm_sort_items[y->r].id);
	if ((c = cmp_closeness(x, y)) != 0)
		return c;
	return cmp_i64(rm_sort_items[x->l].id, rm_sort_items[y->l].id);
}

/* Every (left, right) pair within the tolerance and the window. */
static fuzzy_edge *
fuzzy_edges(run_state *st, size_t *n_edges)
{
	const recon_item *it = st->items;
	size_t		nl,
				nr,
				cap = 0,
				ne = 0;
	uint32_t   *L = rm_collect(st, 0, NULL, &nl);
	uint32_t   *R = rm_collect(st, 1, NULL, &nr);
	fuzzy_edge *edges = NULL;
	int64_t		w = st->rules->window;

	rm_sort_items = it;
	qsort(R, nr, sizeof(uint32_t), rm_cmp_value);
	for (size_t a = 0; a < nl && st->out->error == RECON_OK; a++)
	{
		const recon_item *l = &it[L[a]];
		recon_amount allowed;
		size_t		lo = 0,
					hi = nr;

		if (!tolerance_bound(st, l, &allowed))
			break;
		/* first right of the asset with amount >= a(l) - allowed */
		while (lo < hi)
		{
			size_t		mid = lo + (hi - lo) / 2;
			const recon_item *m = &it[R[mid]];

			if (m->asset < l->asset || (m->asset == l->asset && m->amount < l->amount - allowed))
				lo = mid + 1;
			else
				hi = mid;
		}
		/* each amount in range is a run sorted by time: search the window in it */
		while (lo < nr && it[R[lo]].asset == l->asset && it[R[lo]].amount <= l->amount + allowed)
		{
			size_t		end = rm_group_end(it, R, lo, nr, true);
			size_t		b = rm_lower_ts(it, R, lo, end, l->ts - w);
			size_t		e = rm_upper_ts(it, R, lo, end, l->ts + w);

			for (; b < e; b++)
			{
				const recon_item *r = &it[R[b]];

				if (keys_contradict(l, r))
					continue;
				if (ne == cap)
					edges = rm_grow(st->a, edges, ne, &cap, sizeof(fuzzy_edge));
				edges[ne].l = L[a];
				edges[ne].r = R[b];
				edges[ne].dt = time_gap(l, r);
				edges[ne].da = amount_abs(l->amount - r->amount);
				edges[ne].allowed = allowed;
				ne++;
			}
			lo = end;
		}
	}
	st->a->free(L);
	st->a->free(R);
	*n_edges = ne;
	return edges;
}

/* position of the first edge in order[*pos, end) whose items are both free */
static bool
first_alive(run_state *st, const fuzzy_edge *edges, const uint32_t *order, size_t *pos, size_t end)
{
	while (*pos < end)
	{
		const fuzzy_edge *e = &edges[order[*pos]];

		if (st->state[e->l] == FREE_ITEM && st->state[e->r] == FREE_ITEM)
			return true;
		(*pos)++;
	}
	return false;
}

/* whether the best alive edge at order[pos] is strictly closer than the next alive one */
static bool
unique_best(run_state *st, const fuzzy_edge *edges, const uint32_t *order, size_t pos, size_t end)
{
	size_t		next = pos + 1;

	if (!first_alive(st, edges, order, &next, end))
		return true;
	return cmp_closeness(&edges[order[pos]], &edges[order[next]]) != 0;
}

static double
fuzzy_confidence(const run_state *st, const fuzzy_edge *e)
{
	double		c = 0.95;

	if (st->rules->window > 0)
		c -= 0.45 * (double) e->dt / (double) st->rules->window;
	if (e->allowed > 0)
		c -= 0.45 * (double) e->da / (double) e->allowed;
	return c;
}

void
rm_pass_fuzzy(run_state *st)
{
	size_t		ne;
	fuzzy_edge *edges = fuzzy_edges(st, &ne);
	uint32_t   *by_l,
			   *by_r;
	size_t	   *l_pos,
			   *r_pos;
	size_t		n = st->n;
	uint32_t   *picked;

	if (ne == 0 || st->out->error != RECON_OK)
	{
		if (edges)
			st->a->free(edges);
		return;
	}
	by_l = st->a->alloc(ne * sizeof(uint32_t));
	by_r = st->a->alloc(ne * sizeof(uint32_t));
	picked = st->a->alloc(ne * sizeof(uint32_t));
	for (size_t k = 0; k < ne; k++)
		by_l[k] = by_r[k] = (uint32_t) k;
	rm_sort_items = st->items;
	sort_edges = edges;
	qsort(by_l, ne, sizeof(uint32_t), cmp_edge_left);
	qsort(by_r, ne, sizeof(uint32_t), cmp_edge_right);

	/* per item: a cursor into by_l / by_r, from its first edge on */
	l_pos = st->a->alloc((n + 1) * sizeof(size_t));
	r_pos = st->a->alloc((n + 1) * sizeof(size_t));
	for (size_t i = 0; i <= n; i++)
		l_pos[i] = r_pos[i] = (size_t) -1;
	for (size_t k = ne; k-- > 0;)
	{
		l_pos[edges[by_l[k]].l] = k;
		r_pos[edges[by_r[k]].r] = k;
	}

	for (;;)
	{
		size_t		n_picked = 0;
		size_t		k = 0;

		/* a round: every pair that is each other's unique closest */
		while (k < ne)
		{
			uint32_t	l = edges[by_l[k]].l;
			size_t		end = k;
			size_t		pos;

			while (end < ne && edges[by_l[end]].l == l)
				end++;
			pos = l_pos[l];
			if (st->state[l] == FREE_ITEM && first_alive(st, edges, by_l, &pos, end))
			{
				l_pos[l] = pos;
				if (unique_best(st, edges, by_l, pos, end))
				{
					const fuzzy_edge *e = &edges[by_l[pos]];
					uint32_t	r = e->r;
					size_t		rpos = r_pos[r],
								rend = rpos;

					while (rend < ne && edges[by_r[rend]].r == r)
						rend++;
					if (first_alive(st, edges, by_r, &rpos, rend))
					{
						r_pos[r] = rpos;
						if (by_r[rpos] == by_l[pos] && unique_best(st, edges, by_r, rpos, rend))
							picked[n_picked++] = by_l[pos];
					}
				}
			}
			k = end;
		}
		if (n_picked > 0)
		{
			/* picked is in the order of the left item's id already */
			for (size_t p = 0; p < n_picked; p++)
			{
				const fuzzy_edge *e = &edges[picked[p]];

				rm_add_pair(st, RR_FUZZY, fuzzy_confidence(st, e), e->l, e->r);
			}
			continue;
		}
		/* no unique closest pair: the pairs tied at the smallest distance are ambiguous */
		{
			const fuzzy_edge *best = NULL;

			for (size_t q = 0; q < ne; q++)
			{
				const fuzzy_edge *e = &edges[q];

				if (st->state[e->l] != FREE_ITEM || st->state[e->r] != FREE_ITEM)
					continue;
				if (best == NULL || cmp_closeness(e, best) < 0)
					best = e;
			}
			if (best == NULL)
				break;
			{
				fuzzy_edge	tie = *best;
				size_t		n_tied = 0;

				for (size_t q = 0; q < ne; q++)
				{
					const fuzzy_edge *e = &edges[q];

					if (st->state[e->l] == FREE_ITEM && st->state[e->r] == FREE_ITEM &&
						cmp_closeness(e, &tie) == 0)
						picked[n_tied++] = (uint32_t) q;
				}
				for (size_t p = 0; p < n_tied; p++)
				{
					const fuzzy_edge *e = &edges[picked[p]];

					if (st->state[e->l] == FREE_ITEM)
						rm_add_exception(st, e->l, RC_AMBIGUOUS, 0);
					if (st->state[e->r] == FREE_ITEM)
						rm_add_exception(st, e->r, RC_AMBIGUOUS, 0);
				}
			}
		}
	}
	st->a->free(by_l);
	st->a->free(by_r);
	st->a->free(picked);
	st->a->free(l_pos);
	st->a->free(r_pos);
	st->a->free(edges);
}
