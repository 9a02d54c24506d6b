/*-------------------------------------------------------------------------
 *
 * match_partial.c
 *	  Pass 4 of the matcher (see match.h): an item whose amount is the sum
 *	  of 2 to max_parts items of the other side.
 *
 * A depth-first search over at most PARTIAL_MAX_CANDIDATES candidates,
 * largest first, bounded by the rules' budget; a second solution, or a
 * search that runs out of budget, makes the item ambiguous rather than
 * picking one.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "match_internal.h"

#define PARTIAL_MAX_CANDIDATES	64

typedef struct subset_search
{
	const recon_item *items;
	const uint32_t *cand;		/* candidates, by magnitude descending */
	const recon_amount *mag;	/* their magnitudes */
	const recon_amount *prefix; /* prefix[k] = mag[0] + ... + mag[k-1] */
	size_t		n;
	int			max_parts;
	recon_amount target;
	recon_amount tol;
	long		budget;
	uint32_t	chosen[32];
	uint32_t	first[32];		/* the first solution */
	int			first_len;
	int			solutions;
} subset_search;

/* Find subsets of cand[from..] with k more items summing to remaining (within tol). */
static void
subset_dfs(subset_search *s, size_t from, int depth, recon_amount remaining)
{
	for (size_t j = from; j < s->n && s->solutions < 2; j++)
	{
		int			room = s->max_parts - depth;
		size_t		top = j + (size_t) room < s->n ? j + (size_t) room : s->n;

		if (--s->budget < 0)
			return;
		/* the largest sum still reachable from j is too small: nothing further is larger */
		if (s->prefix[top] - s->prefix[j] < remaining - s->tol)
			return;
		if (s->mag[j] > remaining + s->tol)
			continue;
		s->chosen[depth] = s->cand[j];
		if (amount_abs(remaining - s->mag[j]) <= s->tol && depth + 1 >= 2)
		{
			if (s->solutions++ == 0)
			{
				memcpy(s->first, s->chosen, (size_t) (depth + 1) * sizeof(uint32_t));
				s->first_len = depth + 1;
			}
			continue;
		}
		if (depth + 1 < s->max_parts && remaining - s->mag[j] > s->tol)
			subset_dfs(s, j + 1, depth + 1, remaining - s->mag[j]);
	}
}

static int
cmp_magnitude_desc(const void *pa, const void *pb)
{
	uint32_t	x = *(const uint32_t *) pa;
	uint32_t	y = *(const uint32_t *) pb;
	int			c = cmp_amount(amount_abs(rm_sort_items[y].amount), amount_abs(rm_sort_items[x].amount));

	return c ? c : cmp_i64(rm_sort_items[x].id, rm_sort_items[y].id);
}

static const recon_item *sort_anchor;

/* nearest in time to the anchor first, then by id */
static int
cmp_nearest(const void *pa, const void *pb)
{
	const recon_item *x = &rm_sort_items[*(const uint32_t *) pa];
	const recon_item *y = &rm_sort_items[*(const uint32_t *) pb];
	int			c = cmp_i64(time_gap(x, sort_anchor), time_gap(y, sort_anchor));

	return c ? c : cmp_i64(x->id, y->id);
}

static void
partial_one(run_state *st, uint32_t oi, const uint32_t *others, size_t n_others, uint32_t *cand)
{
	const recon_item *it = st->items;
	const recon_item *o = &it[oi];
	int64_t		w = st->rules->window;
	size_t		lo = 0,
				hi = n_others,
				nc = 0;
	recon_amount mag[PARTIAL_MAX_CANDIDATES];
	recon_amount prefix[PARTIAL_MAX_CANDIDATES + 1];
	subset_search s;
	int64_t		max_dt = 0;

	/* the other side's items of the asset within the window (others: by asset, time) */
	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;
		const recon_item *m = &it[others[mid]];

		if (m->asset < o->asset || (m->asset == o->asset && m->ts < o->ts - w))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t j = lo; j < n_others; j++)
	{
		const recon_item *c = &it[others[j]];

		if (c->asset != o->asset || c->ts > o->ts + w)
			break;
		if (st->state[others[j]] != FREE_ITEM || amount_sign(c->amount) != amount_sign(o->amount) ||
			amount_abs(c->amount) >= amount_abs(o->amount) || keys_contradict(o, c))
			continue;
		cand[nc++] = others[j];
	}
	if (nc < 2)
		return;
	rm_sort_items = it;
	if (nc > PARTIAL_MAX_CANDIDATES)
	{
		/* the nearest in time only: a split is booked close to its whole */
		sort_anchor = o;
		qsort(cand, nc, sizeof(uint32_t), cmp_nearest);
		nc = PARTIAL_MAX_CANDIDATES;
	}
	qsort(cand, nc, sizeof(uint32_t), cmp_magnitude_desc);
	prefix[0] = 0;
	for (size_t j = 0; j < nc; j++)
	{
		mag[j] = amount_abs(it[cand[j]].amount);
		prefix[j + 1] = prefix[j] + mag[j];
	}
	memset(&s, 0, sizeof(s));
	s.items = it;
	s.cand = cand;
	s.mag = mag;
	s.prefix = prefix;
	s.n = nc;
	s.max_parts = st->rules->max_parts < 32 ? st->rules->max_parts : 31;
	s.target = amount_abs(o->amount);
	s.tol = st->rules->abs_tol;
	s.budget = st->rules->partial_budget;
	subset_dfs(&s, 0, 0, s.target);
	if (s.solutions == 0)
	{
		if (s.budget < 0)
			st->out->partial_gave_up++;
		return;
	}
	if (s.solutions > 1 || s.budget < 0)
	{
		/* two ways to make the sum, or no proof that there is only one */
		rm_add_exception(st, oi, RC_AMBIGUOUS, it[s.first[0]].id);
		return;
	}
	for (int k = 0; k < s.first_len; k++)
		if (time_gap(&it[s.first[k]], o) > max_dt)
			max_dt = time_gap(&it[s.first[k]], o);
	{
		double		conf = 0.9 - 0.05 * (s.first_len - 2);

		if (w > 0)
			conf -= 0.2 * (double) max_dt / (double) w;
		if (conf < 0.5)
			conf = 0.5;
		/* members: left items first; parts in id order */
		rm_sort_items = it;
		qsort(s.first, (size_t) s.first_len, sizeof(uint32_t), rm_cmp_id);
		rm_begin_match(st, RR_PARTIAL, conf);
		if (o->side == 0)
			rm_add_member(st, oi);
		for (int k = 0; k < s.first_len; k++)
			rm_add_member(st, s.first[k]);
		if (o->side == 1)
			rm_add_member(st, oi);
		rm_end_match(st);
	}
}

void
rm_pass_partial(run_state *st)
{
	if (st->rules->max_parts < 2)
		return;
	/* one-to-many (a left item is the whole), then many-to-one */
	for (int one_side = 0; one_side <= 1; one_side++)
	{
		size_t		n_one,
					n_others;
		uint32_t   *ones = rm_collect(st, one_side, NULL, &n_one);
		uint32_t   *others = rm_collect(st, 1 - one_side, NULL, &n_others);
		uint32_t   *cand = st->a->alloc((n_others ? n_others : 1) * sizeof(uint32_t));

		rm_sort_items = st->items;
		qsort(ones, n_one, sizeof(uint32_t), rm_cmp_time);
		qsort(others, n_others, sizeof(uint32_t), rm_cmp_time);
		for (size_t k = 0; k < n_one; k++)
			if (st->state[ones[k]] == FREE_ITEM && st->items[ones[k]].amount != 0)
				partial_one(st, ones[k], others, n_others, cand);
		st->a->free(ones);
		st->a->free(others);
		st->a->free(cand);
	}
}
