/*-------------------------------------------------------------------------
 *
 * match.c
 *	  The reconciliation matcher; see match.h for the passes.
 *
 * Everything works on indexes into the caller's item array, sorted in the
 * order each pass needs, so the cost is a few sorts and binary searches
 * over n items: 2,000,000 items match in about a second.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "match.h"

/* ---------------------------------------------------------------- helpers */

#define FREE_ITEM	0
#define USED_ITEM	1

static recon_amount
amount_abs(recon_amount a)
{
	return a < 0 ? -a : a;
}

static int
amount_sign(recon_amount a)
{
	return (a > 0) - (a < 0);
}

static int64_t
time_gap(const recon_item *x, const recon_item *y)
{
	return x->ts > y->ts ? x->ts - y->ts : y->ts - x->ts;
}

/* 10^e for 0 <= e <= 38 */
static recon_amount
pow10_amount(int e)
{
	recon_amount p = 1;

	while (e-- > 0)
		p *= 10;
	return p;
}

/* Keys contradict when both items have one and they differ. */
static bool
keys_contradict(const recon_item *x, const recon_item *y)
{
	return (x->txid && y->txid && x->txid != y->txid) ||
		(x->order_id && y->order_id && x->order_id != y->order_id);
}

static bool
keys_shared(const recon_item *x, const recon_item *y)
{
	return (x->txid && x->txid == y->txid) || (x->order_id && x->order_id == y->order_id);
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

/* ---------------------------------------------------------------- interner */

typedef struct intern_slot
{
	uint64_t	hash;
	uint32_t	id;				/* 0 = empty */
	uint32_t	len;
	const char *bytes;
} intern_slot;

typedef struct arena_block
{
	struct arena_block *next;
	size_t		used;
	size_t		cap;
	char		data[];
} arena_block;

struct recon_interner
{
	const recon_allocator *a;
	intern_slot *slots;
	size_t		cap;			/* a power of two */
	uint32_t	count;
	arena_block *arena;
};

/* FNV-1a, then a final mix: keys are short and often share prefixes. */
static uint64_t
hash_bytes64(const char *s, size_t len)
{
	uint64_t	h = 1469598103934665603ULL;
	size_t		i;

	for (i = 0; i < len; i++)
	{
		h ^= (unsigned char) s[i];
		h *= 1099511628211ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static char *
arena_copy(recon_interner *in, const char *bytes, size_t len)
{
	arena_block *b = in->arena;
	char	   *p;

	if (b == NULL || b->cap - b->used < len)
	{
		size_t		cap = len > 65536 ? len : 65536;

		b = in->a->alloc(sizeof(arena_block) + cap);
		b->next = in->arena;
		b->used = 0;
		b->cap = cap;
		in->arena = b;
	}
	p = b->data + b->used;
	if (len > 0)
		memcpy(p, bytes, len);
	b->used += len;
	return p;
}

recon_interner *
recon_interner_create(const recon_allocator *a)
{
	recon_interner *in = a->alloc(sizeof(recon_interner));

	in->a = a;
	in->cap = 1024;
	in->count = 0;
	in->arena = NULL;
	in->slots = a->alloc(in->cap * sizeof(intern_slot));
	memset(in->slots, 0, in->cap * sizeof(intern_slot));
	return in;
}

static void
interner_grow(recon_interner *in)
{
	size_t		cap = in->cap * 2;
	intern_slot *slots = in->a->alloc(cap * sizeof(intern_slot));
	size_t		i;

	memset(slots, 0, cap * sizeof(intern_slot));
	for (i = 0; i < in->cap; i++)
	{
		size_t		j;

		if (in->slots[i].id == 0)
			continue;
		for (j = in->slots[i].hash & (cap - 1); slots[j].id != 0; j = (j + 1) & (cap - 1))
			;
		slots[j] = in->slots[i];
	}
	in->a->free(in->slots);
	in->slots = slots;
	in->cap = cap;
}

uint32_t
recon_intern(recon_interner *in, const char *bytes, size_t len)
{
	uint64_t	h = hash_bytes64(bytes, len);
	size_t		j;

	if ((size_t) (in->count + 1) * 2 > in->cap)
		interner_grow(in);
	for (j = h & (in->cap - 1); in->slots[j].id != 0; j = (j + 1) & (in->cap - 1))
	{
		intern_slot *s = &in->slots[j];

		if (s->hash == h && s->len == len && memcmp(s->bytes, bytes, len) == 0)
			return s->id;
	}
	in->slots[j].hash = h;
	in->slots[j].len = (uint32_t) len;
	in->slots[j].bytes = arena_copy(in, bytes, len);
	in->slots[j].id = ++in->count;
	return in->slots[j].id;
}

uint32_t
recon_interner_count(const recon_interner *in)
{
	return in->count;
}

void
recon_interner_destroy(recon_interner *in)
{
	arena_block *b = in->arena;

	while (b)
	{
		arena_block *next = b->next;

		in->a->free(b);
		b = next;
	}
	in->a->free(in->slots);
	in->a->free(in);
}

/* ---------------------------------------------------------------- run state */

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

static void *
grow(const recon_allocator *a, void *old, size_t used, size_t *cap, size_t elem)
{
	size_t		ncap = *cap ? *cap * 2 : 1024;
	void	   *p = a->alloc(ncap * elem);

	if (old)
	{
		memcpy(p, old, used * elem);
		a->free(old);
	}
	*cap = ncap;
	return p;
}

static void
add_member(run_state *st, uint32_t item)
{
	recon_result *o = st->out;

	if (o->n_members == st->cap_members)
		o->members = grow(st->a, o->members, o->n_members, &st->cap_members, sizeof(uint32_t));
	o->members[o->n_members++] = item;
	st->state[item] = USED_ITEM;
}

/* Start a match; its members follow with add_member(). */
static void
begin_match(run_state *st, recon_rule rule, double confidence)
{
	recon_result *o = st->out;
	recon_match *m;
	long		bp;

	if (o->n_matches == st->cap_matches)
		o->matches = grow(st->a, o->matches, o->n_matches, &st->cap_matches, sizeof(recon_match));
	if (confidence < 0)
		confidence = 0;
	if (confidence > 1)
		confidence = 1;
	bp = (long) (confidence * 10000.0 + 0.5);
	m = &o->matches[o->n_matches++];
	m->rule = (uint8_t) rule;
	m->confidence = (uint16_t) bp;
	m->first = (uint32_t) o->n_members;
	m->count = 0;
	o->by_rule[rule]++;
}

static void
end_match(run_state *st)
{
	recon_match *m = &st->out->matches[st->out->n_matches - 1];

	m->count = (uint32_t) (st->out->n_members - m->first);
}

static void
add_pair(run_state *st, recon_rule rule, double confidence, uint32_t x, uint32_t y)
{
	begin_match(st, rule, confidence);
	add_member(st, x);
	add_member(st, y);
	end_match(st);
}

static void
add_exception(run_state *st, uint32_t item, recon_class cls, int64_t counterpart)
{
	recon_result *o = st->out;
	recon_exception *e;

	if (o->n_exceptions == st->cap_exceptions)
		o->exceptions = grow(st->a, o->exceptions, o->n_exceptions, &st->cap_exceptions, sizeof(recon_exception));
	e = &o->exceptions[o->n_exceptions++];
	e->item = item;
	e->cls = (uint8_t) cls;
	e->counterpart = counterpart;
	st->state[item] = USED_ITEM;
}

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

/* ---------------------------------------------------------------- sorting */

/*
 * qsort has no context argument in C99: the comparators read the items
 * through this pointer, set by each pass before it sorts.
 */
static const recon_item *sort_items;
static int	sort_key_kind;		/* exact pass: 0 = txid, 1 = order_id */

static int
cmp_i64(int64_t a, int64_t b)
{
	return (a > b) - (a < b);
}

static int
cmp_amount(recon_amount a, recon_amount b)
{
	return (a > b) - (a < b);
}

/* duplicates: side, key kind (ext_id first), key, id */
static int
cmp_dup(const void *pa, const void *pb)
{
	const recon_item *x = &sort_items[*(const uint32_t *) pa];
	const recon_item *y = &sort_items[*(const uint32_t *) pb];
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
static int
cmp_exact(const void *pa, const void *pb)
{
	const recon_item *x = &sort_items[*(const uint32_t *) pa];
	const recon_item *y = &sort_items[*(const uint32_t *) pb];
	uint32_t	kx = sort_key_kind ? x->order_id : x->txid;
	uint32_t	ky = sort_key_kind ? y->order_id : y->txid;
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
static int
cmp_value(const void *pa, const void *pb)
{
	const recon_item *x = &sort_items[*(const uint32_t *) pa];
	const recon_item *y = &sort_items[*(const uint32_t *) pb];
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
static int
cmp_time(const void *pa, const void *pb)
{
	const recon_item *x = &sort_items[*(const uint32_t *) pa];
	const recon_item *y = &sort_items[*(const uint32_t *) pb];
	int			c;

	if (x->asset != y->asset)
		return x->asset < y->asset ? -1 : 1;
	if ((c = cmp_i64(x->ts, y->ts)) != 0)
		return c;
	return cmp_i64(x->id, y->id);
}

/* reversals: side, asset, |amount|, id */
static int
cmp_magnitude(const void *pa, const void *pb)
{
	const recon_item *x = &sort_items[*(const uint32_t *) pa];
	const recon_item *y = &sort_items[*(const uint32_t *) pb];
	int			c;

	if (x->side != y->side)
		return x->side - y->side;
	if (x->asset != y->asset)
		return x->asset < y->asset ? -1 : 1;
	if ((c = cmp_amount(amount_abs(x->amount), amount_abs(y->amount))) != 0)
		return c;
	return cmp_i64(x->id, y->id);
}

static int
cmp_id(const void *pa, const void *pb)
{
	return cmp_i64(sort_items[*(const uint32_t *) pa].id, sort_items[*(const uint32_t *) pb].id);
}

/* the free items of one side (or both: side < 0) that pass a filter */
static uint32_t *
collect(run_state *st, int side, bool (*keep) (const recon_item *), size_t *count)
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

/* first position in idx[lo, hi) (sorted by cmp_time within one asset) with ts >= t */
static size_t
lower_ts(const recon_item *items, const uint32_t *idx, size_t lo, size_t hi, int64_t t)
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
static size_t
upper_ts(const recon_item *items, const uint32_t *idx, size_t lo, size_t hi, int64_t t)
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
static size_t
group_end(const recon_item *items, const uint32_t *idx, size_t from, size_t n, bool same_amount)
{
	const recon_item *f = &items[idx[from]];
	size_t		j = from + 1;

	while (j < n && items[idx[j]].asset == f->asset &&
		   (!same_amount || items[idx[j]].amount == f->amount))
		j++;
	return j;
}

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

static void
pass_duplicates(run_state *st)
{
	size_t		n,
				i = 0;
	uint32_t   *idx = collect(st, -1, is_statement, &n);

	sort_items = st->items;
	qsort(idx, n, sizeof(uint32_t), cmp_dup);
	while (i < n)
	{
		const recon_item *first = &st->items[idx[i]];
		size_t		j = i + 1;

		/* a group: same side, same kind of key, same key */
		while (j < n && same_dup_key(first, &st->items[idx[j]]))
			j++;
		if (first->twin_before)
			add_exception(st, idx[i], RC_DUPLICATE, first->twin_before);
		for (size_t k = i + 1; k < j; k++)
			add_exception(st, idx[k], RC_DUPLICATE, first->twin_before ? first->twin_before : first->id);
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
		size_t		lo = lower_ts(it, R, 0, nr, l->ts - w);
		size_t		hi = upper_ts(it, R, 0, nr, l->ts + w);

		for (size_t b = lo; b < hi; b++)
		{
			const recon_item *r = &it[R[b]];
			size_t		rlo = lower_ts(it, L, 0, nl, r->ts - w);
			size_t		rhi = upper_ts(it, L, 0, nl, r->ts + w);

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

static void
pass_exact(run_state *st, int key_kind)
{
	recon_rule	rule = key_kind ? RR_EXACT_ORDER_ID : RR_EXACT_TXID;
	size_t		n,
				i = 0,
				n_pairs = 0,
				n_amb = 0;
	uint32_t   *idx = collect(st, -1, key_kind ? has_order_id : has_txid, &n);
	uint32_t   *pairs = st->a->alloc((2 * n + 2) * sizeof(uint32_t));
	uint32_t   *amb;
	size_t		cap_amb = 2 * n + 2;

	amb = st->a->alloc(cap_amb * sizeof(uint32_t));
	sort_items = st->items;
	sort_key_kind = key_kind;
	qsort(idx, n, sizeof(uint32_t), cmp_exact);
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
	sort_items = st->items;
	qsort(pairs, n_pairs, 2 * sizeof(uint32_t), cmp_id);
	for (size_t k = 0; k < n_pairs; k++)
		add_pair(st, rule, key_kind ? 0.99 : 1.0, pairs[2 * k], pairs[2 * k + 1]);
	for (size_t k = 0; k < n_amb; k++)
		if (st->state[amb[k]] == FREE_ITEM)
			add_exception(st, amb[k], RC_AMBIGUOUS, 0);
	st->a->free(idx);
	st->a->free(pairs);
	st->a->free(amb);
}

/* ---------------------------------------------------------------- 3. fuzzy */

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
		return cmp_i64(sort_items[x->l].id, sort_items[y->l].id);
	if ((c = cmp_closeness(x, y)) != 0)
		return c;
	return cmp_i64(sort_items[x->r].id, sort_items[y->r].id);
}

static int
cmp_edge_right(const void *pa, const void *pb)
{
	const fuzzy_edge *x = &sort_edges[*(const uint32_t *) pa];
	const fuzzy_edge *y = &sort_edges[*(const uint32_t *) pb];
	int			c;

	if (x->r != y->r)
		return cmp_i64(sort_items[x->r].id, sort_items[y->r].id);
	if ((c = cmp_closeness(x, y)) != 0)
		return c;
	return cmp_i64(sort_items[x->l].id, sort_items[y->l].id);
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
	uint32_t   *L = collect(st, 0, NULL, &nl);
	uint32_t   *R = collect(st, 1, NULL, &nr);
	fuzzy_edge *edges = NULL;
	int64_t		w = st->rules->window;

	sort_items = it;
	qsort(R, nr, sizeof(uint32_t), cmp_value);
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
			size_t		end = group_end(it, R, lo, nr, true);
			size_t		b = lower_ts(it, R, lo, end, l->ts - w);
			size_t		e = upper_ts(it, R, lo, end, l->ts + w);

			for (; b < e; b++)
			{
				const recon_item *r = &it[R[b]];

				if (keys_contradict(l, r))
					continue;
				if (ne == cap)
					edges = grow(st->a, edges, ne, &cap, sizeof(fuzzy_edge));
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

static void
pass_fuzzy(run_state *st)
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
	sort_items = st->items;
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

				add_pair(st, RR_FUZZY, fuzzy_confidence(st, e), e->l, e->r);
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
						add_exception(st, e->l, RC_AMBIGUOUS, 0);
					if (st->state[e->r] == FREE_ITEM)
						add_exception(st, e->r, RC_AMBIGUOUS, 0);
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

/* ---------------------------------------------------------------- 4. partial */

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
	int			c = cmp_amount(amount_abs(sort_items[y].amount), amount_abs(sort_items[x].amount));

	return c ? c : cmp_i64(sort_items[x].id, sort_items[y].id);
}

static const recon_item *sort_anchor;

/* nearest in time to the anchor first, then by id */
static int
cmp_nearest(const void *pa, const void *pb)
{
	const recon_item *x = &sort_items[*(const uint32_t *) pa];
	const recon_item *y = &sort_items[*(const uint32_t *) pb];
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
	sort_items = it;
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
		add_exception(st, oi, RC_AMBIGUOUS, it[s.first[0]].id);
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
		sort_items = it;
		qsort(s.first, (size_t) s.first_len, sizeof(uint32_t), cmp_id);
		begin_match(st, RR_PARTIAL, conf);
		if (o->side == 0)
			add_member(st, oi);
		for (int k = 0; k < s.first_len; k++)
			add_member(st, s.first[k]);
		if (o->side == 1)
			add_member(st, oi);
		end_match(st);
	}
}

static void
pass_partial(run_state *st)
{
	if (st->rules->max_parts < 2)
		return;
	/* one-to-many (a left item is the whole), then many-to-one */
	for (int one_side = 0; one_side <= 1; one_side++)
	{
		size_t		n_one,
					n_others;
		uint32_t   *ones = collect(st, one_side, NULL, &n_one);
		uint32_t   *others = collect(st, 1 - one_side, NULL, &n_others);
		uint32_t   *cand = st->a->alloc((n_others ? n_others : 1) * sizeof(uint32_t));

		sort_items = st->items;
		qsort(ones, n_one, sizeof(uint32_t), cmp_time);
		qsort(others, n_others, sizeof(uint32_t), cmp_time);
		for (size_t k = 0; k < n_one; k++)
			if (st->state[ones[k]] == FREE_ITEM && st->items[ones[k]].amount != 0)
				partial_one(st, ones[k], others, n_others, cand);
		st->a->free(ones);
		st->a->free(others);
		st->a->free(cand);
	}
}

/* ---------------------------------------------------------------- 5. reversals */

static bool
reverses(const recon_item *x, const recon_item *y)
{
	return x->amount == -y->amount && x->amount != 0 &&
		(x->reversal != y->reversal || keys_shared(x, y));
}

static void
pass_reversals(run_state *st)
{
	const recon_item *it = st->items;
	size_t		n,
				i = 0;
	uint32_t   *idx = collect(st, -1, NULL, &n);
	uint32_t   *best = st->a->alloc((st->n ? st->n : 1) * sizeof(uint32_t));
	uint32_t   *pairs = st->a->alloc((n + 1) * sizeof(uint32_t));
	size_t		n_pairs = 0;

	sort_items = it;
	qsort(idx, n, sizeof(uint32_t), cmp_magnitude);
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
	qsort(pairs, n_pairs, sizeof(uint32_t), cmp_id);
	for (size_t k = 0; k < n_pairs; k++)
		add_pair(st, RR_REVERSAL, 0.9, pairs[k], best[pairs[k]]);
	st->a->free(idx);
	st->a->free(best);
	st->a->free(pairs);
}

/* ---------------------------------------------------------------- 6. leftovers */

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

static void
pass_leftovers(run_state *st)
{
	const recon_item *it = st->items;
	size_t		n;
	uint32_t   *left = collect(st, -1, NULL, &n);
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
	sort_items = it;
	qsort(by_value, n, sizeof(uint32_t), cmp_value);
	qsort(by_time, n, sizeof(uint32_t), cmp_time);
	sort_key_kind = 0;
	qsort(by_txid, n_txid, sizeof(uint32_t), cmp_exact);
	sort_key_kind = 1;
	qsort(by_order, n_order, sizeof(uint32_t), cmp_exact);

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
		add_exception(st, left[k], cls[k], cps[k]);
	st->a->free(left);
	st->a->free(by_value);
	st->a->free(by_time);
	st->a->free(by_txid);
	st->a->free(by_order);
	st->a->free(cls);
	st->a->free(cps);
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

	pass_duplicates(&st);
	pass_exact(&st, 0);
	pass_exact(&st, 1);
	if (out->error == RECON_OK)
		pass_fuzzy(&st);
	if (out->error == RECON_OK)
		pass_partial(&st);
	if (out->error == RECON_OK)
		pass_reversals(&st);
	if (out->error == RECON_OK)
		pass_leftovers(&st);
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
