/*-------------------------------------------------------------------------
 *
 * match_sort.c
 *	  The orders the passes sort item indexes in, the free items a pass
 *	  starts from, and binary searches in the sorted runs.
 *
 *-------------------------------------------------------------------------
 */
#include "match_internal.h"

/*
 * qsort has no context argument in C99: the comparators read the items
 * through this pointer, set by each pass before it sorts.
 */
const recon_item *rm_sort_items;
int			rm_sort_key_kind;	/* exact pass: 0 = txid, 1 = order_id */

/* duplicates: side, key kind (ext_id first), key, id */
int
rm_cmp_dup(const void *pa, const void *pb)
{
	const recon_item *x = &rm_sort_items[*(const uint32_t *) pa];
	const recon_item *y = &rm_sort_items[*(const uint32_t *) pb];
	uint32_t	kx = x->ext_id ? x->ext_id : x->content;
	uint32_t	ky = y->ext_id ? y->ext_id : y->content;
	int			c;

	if (x->side != y->side)
		return x->side - y->side;
	if ((x->ext_id != 0) != (y->ext_id != 0))
		return x->ext_id ? -1 : 1;
	if (kx != ky)
		return kx < ky ? -1 : 1;
	c = cmp_i64(x->id, y->id);
	return c;
}

/* exact: key, asset, amount, side, ts, id */
int
rm_cmp_exact(const void *pa, const void *pb)
{
	const recon_item *x = &rm_sort_items[*(const uint32_t *) pa];
	const recon_item *y = &rm_sort_items[*(const uint32_t *) pb];
	uint32_t	kx = rm_sort_key_kind ? x->order_id : x->txid;
	uint32_t	ky = rm_sort_key_kind ? y->order_id : y->txid;
	int			c;

	if (kx != ky)
		return kx < ky ? -1 : 1;
	if (x->asset != y->asset)
		return x->asset < y->asset ? -1 : 1;
	if ((c = cmp_amount(x->amount, y->amount)) != 0)
		return c;
	if (x->side != y->side)
		return x->side - y->side;
	if ((c = cmp_i64(x->ts, y->ts)) != 0)
		return c;
	return cmp_i64(x->id, y->id);
}

/* by value: asset, amount, ts, id */
int
rm_cmp_value(const void *pa, const void *pb)
{
	const recon_item *x = &rm_sort_items[*(const uint32_t *) pa];
	const recon_item *y = &rm_sort_items[*(const uint32_t *) pb];
	int			c;

	if (x->asset != y->asset)
		return x->asset < y->asset ? -1 : 1;
	if ((c = cmp_amount(x->amount, y->amount)) != 0)
		return c;
	if ((c = cmp_i64(x->ts, y->ts)) != 0)
		return c;
	return cmp_i64(x->id, y->id);
}

/* by time: asset, ts, id */
int
rm_cmp_time(const void *pa, const void *pb)
{
	const recon_item *x = &rm_sort_items[*(const uint32_t *) pa];
	const recon_item *y = &rm_sort_items[*(const uint32_t *) pb];
	int			c;

	if (x->asset != y->asset)
		return x->asset < y->asset ? -1 : 1;
	if ((c = cmp_i64(x->ts, y->ts)) != 0)
		return c;
	return cmp_i64(x->id, y->id);
}

/* reversals: side, asset, |amount|, id */
int
rm_cmp_magnitude(const void *pa, const void *pb)
{
	const recon_item *x = &rm_sort_items[*(const uint32_t *) pa];
	const recon_item *y = &rm_sort_items[*(const uint32_t *) pb];
	int			c;

	if (x->side != y->side)
		return x->side - y->side;
	if (x->asset != y->asset)
		return x->asset < y->asset ? -1 : 1;
	if ((c = cmp_amount(amount_abs(x->amount), amount_abs(y->amount))) != 0)
		return c;
	return cmp_i64(x->id, y->id);
}

int
rm_cmp_id(const void *pa, const void *pb)
{
	return cmp_i64(rm_sort_items[*(const uint32_t *) pa].id, rm_sort_items[*(const uint32_t *) pb].id);
}

/* the free items of one side (or both: side < 0) that pass a filter */
uint32_t *
rm_collect(run_state *st, int side, bool (*keep) (const recon_item *), size_t *count)
{
	uint32_t   *idx = st->a->alloc((st->n ? st->n : 1) * sizeof(uint32_t));
	size_t		i,
				k = 0;

	for (i = 0; i < st->n; i++)
	{
		const recon_item *it = &st->items[i];

		if (st->state[i] != FREE_ITEM || (side >= 0 && it->side != side))
			continue;
		if (keep && !keep(it))
			continue;
		idx[k++] = (uint32_t) i;
	}
	*count = k;
	return idx;
}

/* first position in idx[lo, hi) (sorted by rm_cmp_time within one asset) with ts >= t */
size_t
rm_lower_ts(const recon_item *items, const uint32_t *idx, size_t lo, size_t hi, int64_t t)
{
	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (items[idx[mid]].ts < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* first position in idx[lo, hi) with ts > t */
size_t
rm_upper_ts(const recon_item *items, const uint32_t *idx, size_t lo, size_t hi, int64_t t)
{
	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (items[idx[mid]].ts <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* end of the run of idx[from, n) with the same asset (and amount, if same_amount) */
size_t
rm_group_end(const recon_item *items, const uint32_t *idx, size_t from, size_t n, bool same_amount)
{
	const recon_item *f = &items[idx[from]];
	size_t		j = from + 1;

	while (j < n && items[idx[j]].asset == f->asset &&
		   (!same_amount || items[idx[j]].amount == f->amount))
		j++;
	return j;
}
