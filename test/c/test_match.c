/*
 * test_match.c
 *	  The reconciliation matcher (src/recon/match.c): each pass on small
 *	  hand-made cases, then randomized runs checked against invariants
 *	  (every item is in exactly one match or one exception; a match's
 *	  amounts balance as its rule says; the same input gives the same
 *	  output).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "match.h"

static void *
xalloc(size_t size)
{
	void	   *p = malloc(size ? size : 1);

	if (p == NULL)
		abort();
	return p;
}

static const recon_allocator A = {xalloc, free};

#define HOUR	3600000000LL
#define MINUTE	60000000LL

static recon_rules
default_rules(void)
{
	recon_rules r;

	memset(&r, 0, sizeof(r));
	r.window = HOUR;
	r.fee_num = 5;				/* 0.005 */
	r.fee_exp = 3;
	r.max_parts = 5;
	r.partial_budget = 200000;
	return r;
}

static recon_item
item(int64_t id, int side, int64_t amount, int64_t ts)
{
	recon_item it;

	memset(&it, 0, sizeof(it));
	it.id = id;
	it.side = (uint8_t) side;
	it.amount = amount;
	it.ts = ts;
	it.asset = 1;
	it.statement = side == 1;
	return it;
}

/* the match (index) that holds item id, or -1 */
static long
match_of(const recon_result *r, const recon_item *items, int64_t id)
{
	for (size_t m = 0; m < r->n_matches; m++)
		for (uint32_t k = 0; k < r->matches[m].count; k++)
			if (items[r->members[r->matches[m].first + k]].id == id)
				return (long) m;
	return -1;
}

/* the class of item id's exception, or RC_NONE */
static int
class_of(const recon_result *r, const recon_item *items, int64_t id)
{
	for (size_t e = 0; e < r->n_exceptions; e++)
		if (items[r->exceptions[e].item].id == id)
			return r->exceptions[e].cls;
	return RC_NONE;
}

static int64_t
counterpart_of(const recon_result *r, const recon_item *items, int64_t id)
{
	for (size_t e = 0; e < r->n_exceptions; e++)
		if (items[r->exceptions[e].item].id == id)
			return r->exceptions[e].counterpart;
	return -1;
}

/* every item in exactly one match or one exception */
static void
check_partition(const recon_result *r, size_t n, int line)
{
	int		   *seen = calloc(n ? n : 1, sizeof(int));
	bool		ok = true;

	for (size_t k = 0; k < r->n_members; k++)
		seen[r->members[k]]++;
	for (size_t e = 0; e < r->n_exceptions; e++)
		seen[r->exceptions[e].item]++;
	for (size_t i = 0; i < n; i++)
		if (seen[i] != 1)
			ok = false;
	check_impl(ok, "every item in exactly one match or exception", __FILE__, line);
	free(seen);
}

static void
test_interner(void)
{
	recon_interner *in = recon_interner_create(&A);
	uint32_t	a = recon_intern(in, "0xabc", 5);
	uint32_t	b = recon_intern(in, "0xabd", 5);
	char		buf[16];

	CHECK(a != 0 && b != 0 && a != b);
	CHECK_INT(recon_intern(in, "0xabc", 5), a);
	CHECK_INT(recon_intern(in, "", 0) != 0, 1);
	/* growth keeps every id */
	for (int i = 0; i < 100000; i++)
	{
		snprintf(buf, sizeof(buf), "k%d", i);
		recon_intern(in, buf, strlen(buf));
	}
	CHECK_INT(recon_intern(in, "0xabd", 5), b);
	snprintf(buf, sizeof(buf), "k%d", 4242);
	CHECK_INT(recon_intern(in, buf, strlen(buf)), recon_intern(in, buf, strlen(buf)));
	CHECK_INT(recon_interner_count(in), 100003);
	recon_interner_destroy(in);
}

/*
 * recon_intern_many gives what recon_intern one key after the other gives:
 * the same ids in the same order, 0 for no key, through table growth, with
 * repeated keys within a call, and past RECON_INTERN_MANY_MAX keys.
 */
static void
test_intern_many(void)
{
	recon_interner *one = recon_interner_create(&A);
	recon_interner *many = recon_interner_create(&A);
	char		bufs[RECON_INTERN_MANY_MAX + 2][16];
	recon_key	keys[RECON_INTERN_MANY_MAX + 2];
	uint32_t	ids[RECON_INTERN_MANY_MAX + 2];
	int			mismatches = 0;

	for (int row = 0; row < 50000; row++)
	{
		size_t		n = row % 1000 == 0 ? RECON_INTERN_MANY_MAX + 2 : 1 + row % 5;

		for (size_t k = 0; k < n; k++)
		{
			/* a key of an earlier row, a new key, a repeat within the row, or none */
			int			v = k == 2 ? row / 3 : k == 3 ? -1 : row * 7 + (int) k;

			snprintf(bufs[k], sizeof(bufs[k]), "k%d", v);
			keys[k].bytes = k == 4 ? NULL : bufs[k];
			keys[k].len = strlen(bufs[k]);
			if (k == 3)
				keys[k] = keys[0];
		}
		recon_intern_many(many, keys, n, ids);
		for (size_t k = 0; k < n; k++)
			mismatches += ids[k] != (keys[k].bytes ? recon_intern(one, keys[k].bytes, keys[k].len) : 0);
	}
	CHECK_INT(mismatches, 0);
	CHECK_INT(recon_interner_count(many), recon_interner_count(one));
	recon_interner_destroy(one);
	recon_interner_destroy(many);
}

static void
test_exact(void)
{
	recon_rules rules = default_rules();
	recon_item it[6];
	recon_result r;

	it[0] = item(1, 0, 1000, 0);
	it[0].txid = 7;
	it[1] = item(2, 1, 1000, 5 * MINUTE);
	it[1].txid = 7;
	/* same txid twice on the right: both partners ambiguous with the left */
	it[2] = item(3, 0, 500, 0);
	it[2].txid = 8;
	it[3] = item(4, 1, 500, MINUTE);
	it[3].txid = 8;
	it[4] = item(5, 1, 500, 2 * MINUTE);
	it[4].txid = 8;
	/* order id, outside the window: not exact (timing) */
	it[5] = item(6, 1, 2000, 3 * HOUR);
	it[5].order_id = 9;
	CHECK_INT(recon_match_run(it, 6, &rules, &A, &r), RECON_OK);
	check_partition(&r, 6, __LINE__);
	CHECK(match_of(&r, it, 1) >= 0 && match_of(&r, it, 1) == match_of(&r, it, 2));
	CHECK_INT(r.matches[match_of(&r, it, 1)].rule, RR_EXACT_TXID);
	CHECK_INT(r.matches[match_of(&r, it, 1)].confidence, 10000);
	CHECK_INT(class_of(&r, it, 3), RC_AMBIGUOUS);
	CHECK_INT(class_of(&r, it, 4), RC_AMBIGUOUS);
	CHECK_INT(class_of(&r, it, 5), RC_AMBIGUOUS);
	CHECK_INT(class_of(&r, it, 6), RC_MISSING_IN_LEDGER);
	recon_result_free(&r, &A);
}

static void
test_fuzzy(void)
{
	recon_rules rules = default_rules();
	recon_item it[7];
	recon_result r;

	rules.abs_tol = 5;
	/* closest in time wins: 1 ~ 3 (10 min), 2 ~ 4 */
	it[0] = item(1, 0, 1000, 0);
	it[1] = item(2, 0, 1000, 40 * MINUTE);
	it[2] = item(3, 1, 1002, 10 * MINUTE);
	it[3] = item(4, 1, 1000, 45 * MINUTE);
	/* a tie: 5 is as close to 6 as to 7 */
	it[4] = item(5, 0, 7000, HOUR * 10);
	it[5] = item(6, 1, 7000, HOUR * 10 - MINUTE);
	it[6] = item(7, 1, 7000, HOUR * 10 + MINUTE);
	CHECK_INT(recon_match_run(it, 7, &rules, &A, &r), RECON_OK);
	check_partition(&r, 7, __LINE__);
	CHECK(match_of(&r, it, 1) >= 0 && match_of(&r, it, 1) == match_of(&r, it, 3));
	CHECK(match_of(&r, it, 2) >= 0 && match_of(&r, it, 2) == match_of(&r, it, 4));
	CHECK_INT(r.matches[match_of(&r, it, 1)].rule, RR_FUZZY);
	/* 0.95 - 0.45 * 10/60 - 0.45 * 2/5 = 0.695 */
	CHECK_INT(r.matches[match_of(&r, it, 1)].confidence, 6950);
	CHECK_INT(class_of(&r, it, 5), RC_AMBIGUOUS);
	CHECK_INT(class_of(&r, it, 6), RC_AMBIGUOUS);
	CHECK_INT(class_of(&r, it, 7), RC_AMBIGUOUS);
	recon_result_free(&r, &A);

	/* a contradicting txid keeps equal amounts apart */
	it[0] = item(1, 0, 1000, 0);
	it[0].txid = 1;
	it[1] = item(2, 1, 1000, MINUTE);
	it[1].txid = 2;
	rules.abs_tol = 0;
	CHECK_INT(recon_match_run(it, 2, &rules, &A, &r), RECON_OK);
	CHECK_INT(r.n_matches, 0);
	CHECK_INT(class_of(&r, it, 1), RC_MISSING_IN_STATEMENT);
	recon_result_free(&r, &A);

	/* relative tolerance: 0.01 of 10000 = 100 */
	rules.rel_num = 1;
	rules.rel_exp = 2;
	it[0] = item(1, 0, 10000, 0);
	it[1] = item(2, 1, 10100, MINUTE);
	it[2] = item(3, 0, 20000, 0);
	it[3] = item(4, 1, 20201, MINUTE);
	CHECK_INT(recon_match_run(it, 4, &rules, &A, &r), RECON_OK);
	CHECK(match_of(&r, it, 1) >= 0);
	CHECK(match_of(&r, it, 3) < 0);
	recon_result_free(&r, &A);
}

static void
test_partial(void)
{
	recon_rules rules = default_rules();
	recon_item it[9];
	recon_result r;
	long		m;

	/* one bank line of 1000 = three ledger postings 500 + 300 + 200 */
	it[0] = item(1, 1, 1000, 0);
	it[1] = item(2, 0, 500, MINUTE);
	it[2] = item(3, 0, 300, 2 * MINUTE);
	it[3] = item(4, 0, 200, 3 * MINUTE);
	/* noise that does not complete a sum */
	it[4] = item(5, 0, 777, 4 * MINUTE);
	/* many-to-one the other way: two bank lines = one posting */
	it[5] = item(6, 0, 900, 5 * HOUR);
	it[6] = item(7, 1, 400, 5 * HOUR + MINUTE);
	it[7] = item(8, 1, 500, 5 * HOUR + 2 * MINUTE);
	it[8] = item(9, 1, 50, 9 * HOUR);
	CHECK_INT(recon_match_run(it, 9, &rules, &A, &r), RECON_OK);
	check_partition(&r, 9, __LINE__);
	m = match_of(&r, it, 1);
	CHECK(m >= 0);
	if (m >= 0)
	{
		CHECK_INT(r.matches[m].rule, RR_PARTIAL);
		CHECK_INT(r.matches[m].count, 4);
		CHECK(match_of(&r, it, 2) == m && match_of(&r, it, 3) == m && match_of(&r, it, 4) == m);
		/* left items first */
		CHECK_INT(it[r.members[r.matches[m].first + 3]].id, 1);
	}
	CHECK(match_of(&r, it, 5) < 0);
	m = match_of(&r, it, 6);
	CHECK(m >= 0 && match_of(&r, it, 7) == m && match_of(&r, it, 8) == m);
	CHECK_INT(class_of(&r, it, 9), RC_MISSING_IN_LEDGER);
	recon_result_free(&r, &A);

	/* two ways to make 1000 (600+400, 700+300): not guessed */
	it[0] = item(1, 1, 1000, 0);
	it[1] = item(2, 0, 600, MINUTE);
	it[2] = item(3, 0, 400, MINUTE);
	it[3] = item(4, 0, 700, MINUTE);
	it[4] = item(5, 0, 300, MINUTE);
	CHECK_INT(recon_match_run(it, 5, &rules, &A, &r), RECON_OK);
	check_partition(&r, 5, __LINE__);
	CHECK_INT(class_of(&r, it, 1), RC_AMBIGUOUS);
	CHECK_INT(r.by_rule[RR_PARTIAL], 0);
	recon_result_free(&r, &A);

	/* off: no partial matches */
	rules.max_parts = 0;
	it[0] = item(1, 1, 1000, 0);
	it[1] = item(2, 0, 600, MINUTE);
	it[2] = item(3, 0, 400, MINUTE);
	CHECK_INT(recon_match_run(it, 3, &rules, &A, &r), RECON_OK);
	CHECK_INT(r.n_matches, 0);
	recon_result_free(&r, &A);
}

static void
test_reversal_duplicate_classes(void)
{
	recon_rules rules = default_rules();
	recon_item it[10];
	recon_result r;

	/* a posting and its reversal on the ledger side */
	it[0] = item(1, 0, 4200, 0);
	it[1] = item(2, 0, -4200, HOUR * 2);
	it[1].reversal = true;
	/* the same bank line twice (same content), and by ext_id */
	it[2] = item(3, 1, 999, HOUR * 20);
	it[2].content = 11;
	it[3] = item(4, 1, 999, HOUR * 20);
	it[3].content = 11;
	it[4] = item(5, 1, 123, HOUR * 30);
	it[4].ext_id = 12;
	it[5] = item(6, 1, 124, HOUR * 31);
	it[5].ext_id = 12;
	/* same txid, amount off by a fee (0.3%) and by a lot */
	it[6] = item(7, 0, 100000, HOUR * 40);
	it[6].txid = 5;
	it[7] = item(8, 1, 99700, HOUR * 40);
	it[7].txid = 5;
	it[8] = item(9, 0, 5000, HOUR * 50);
	it[8].order_id = 6;
	it[9] = item(10, 1, 3000, HOUR * 50);
	it[9].order_id = 6;
	CHECK_INT(recon_match_run(it, 10, &rules, &A, &r), RECON_OK);
	check_partition(&r, 10, __LINE__);
	CHECK(match_of(&r, it, 1) >= 0 && match_of(&r, it, 1) == match_of(&r, it, 2));
	CHECK_INT(r.matches[match_of(&r, it, 1)].rule, RR_REVERSAL);
	CHECK_INT(class_of(&r, it, 4), RC_DUPLICATE);
	CHECK_INT(counterpart_of(&r, it, 4), 3);
	CHECK_INT(class_of(&r, it, 6), RC_DUPLICATE);
	CHECK_INT(counterpart_of(&r, it, 6), 5);
	CHECK_INT(class_of(&r, it, 3), RC_MISSING_IN_LEDGER);
	CHECK_INT(class_of(&r, it, 7), RC_FEE_DIFFERENCE);
	CHECK_INT(class_of(&r, it, 8), RC_FEE_DIFFERENCE);
	CHECK_INT(counterpart_of(&r, it, 8), 7);
	CHECK_INT(class_of(&r, it, 9), RC_AMOUNT_MISMATCH);
	CHECK_INT(class_of(&r, it, 10), RC_AMOUNT_MISMATCH);
	recon_result_free(&r, &A);

	/* an earlier twin outside the set */
	it[0] = item(1, 1, 5, 0);
	it[0].twin_before = 77;
	CHECK_INT(recon_match_run(it, 1, &rules, &A, &r), RECON_OK);
	CHECK_INT(class_of(&r, it, 1), RC_DUPLICATE);
	CHECK_INT(counterpart_of(&r, it, 1), 77);
	recon_result_free(&r, &A);

	/* same amount far apart in time: timing */
	it[0] = item(1, 0, 31415, 0);
	it[1] = item(2, 1, 31415, HOUR * 5);
	CHECK_INT(recon_match_run(it, 2, &rules, &A, &r), RECON_OK);
	CHECK_INT(class_of(&r, it, 1), RC_TIMING);
	CHECK_INT(class_of(&r, it, 2), RC_TIMING);
	recon_result_free(&r, &A);
}

static void
test_overflow(void)
{
	recon_rules rules = default_rules();
	recon_item it[2];
	recon_result r;
	recon_amount big = 1;

	for (int i = 0; i < 37; i++)
		big *= 10;
	rules.rel_num = big;
	rules.rel_exp = 30;
	it[0] = item(1, 0, 0, 0);
	it[0].amount = big;
	it[1] = item(2, 1, 1, 0);
	CHECK_INT(recon_match_run(it, 2, &rules, &A, &r), RECON_ERR_OVERFLOW);
	CHECK_INT(r.n_matches, 0);
	recon_result_free(&r, &A);
}

/* random runs: invariants and determinism */
static void
test_random(void)
{
	for (int round = 0; round < 200; round++)
	{
		size_t		n = 2 + rng_next() % 120;
		recon_item *it = xalloc(n * sizeof(recon_item));
		recon_rules rules = default_rules();
		recon_result r1,
					r2;
		bool		balanced = true;

		rules.abs_tol = rng_next() % 3;
		rules.max_parts = (rng_next() % 2) ? 5 : 0;
		for (size_t i = 0; i < n; i++)
		{
			it[i] = item((int64_t) (i + 1) * 3, (int) (rng_next() % 2),
						 (int64_t) (rng_next() % 8) * 100 - 200, (int64_t) (rng_next() % 6) * 20 * MINUTE);
			it[i].asset = 1 + rng_next() % 2;
			it[i].txid = rng_next() % 3 == 0 ? 1 + rng_next() % 5 : 0;
			it[i].order_id = rng_next() % 4 == 0 ? 1 + rng_next() % 5 : 0;
			it[i].reversal = rng_next() % 7 == 0;
			if (it[i].statement)
				it[i].content = rng_next() % 5 == 0 ? 1 + rng_next() % 3 : 0;
		}
		CHECK_INT(recon_match_run(it, n, &rules, &A, &r1), RECON_OK);
		CHECK_INT(recon_match_run(it, n, &rules, &A, &r2), RECON_OK);
		check_partition(&r1, n, __LINE__);
		CHECK(r1.n_matches == r2.n_matches && r1.n_members == r2.n_members &&
			  r1.n_exceptions == r2.n_exceptions &&
			  (r1.n_members == 0 || memcmp(r1.members, r2.members, r1.n_members * sizeof(uint32_t)) == 0));
		for (size_t m = 0; m < r1.n_matches; m++)
		{
			const recon_match *mt = &r1.matches[m];
			recon_amount lsum = 0,
						rsum = 0;

			for (uint32_t k = 0; k < mt->count; k++)
			{
				const recon_item *x = &it[r1.members[mt->first + k]];

				if (x->side == 0)
					lsum += x->amount;
				else
					rsum += x->amount;
			}
			if (mt->rule == RR_REVERSAL)
				balanced &= lsum + rsum == 0;
			else if (mt->rule == RR_EXACT_TXID || mt->rule == RR_EXACT_ORDER_ID)
				balanced &= lsum == rsum;
			else
				balanced &= (lsum > rsum ? lsum - rsum : rsum - lsum) <= rules.abs_tol;
		}
		CHECK(balanced);
		recon_result_free(&r1, &A);
		recon_result_free(&r2, &A);
		free(it);
	}
}

int
main(void)
{
	rng_seed(20261201);
	test_interner();
	test_intern_many();
	test_exact();
	test_fuzzy();
	test_partial();
	test_reversal_duplicate_classes();
	test_overflow();
	test_random();
	return check_summary();
}
