/*-------------------------------------------------------------------------
 *
 * match.h
 *	  The reconciliation matcher: items of two sides in, matches and
 *	  classified exceptions out.  Pure C99 (no PostgreSQL), so that the
 *	  algorithm is unit-tested and fuzzed on its own (test/c/test_match.c).
 *
 * The caller (match_sql.c) loads a run's candidates, turns their keys
 * into small integers with recon_interner (equal ids <=> equal bytes),
 * their amounts into integers at one common scale, and their times into
 * microseconds; then recon_match_run() does every pass in memory:
 *
 *	1. duplicates: a statement item with the same ext_id or the same
 *	   content as an earlier item of its source;
 *	2. exact: same txid, then same order_id, with the same asset and
 *	   amount, within the time window; one to one, an item with two such
 *	   partners is ambiguous;
 *	3. fuzzy: same asset, amount within the tolerance, time within the
 *	   window, keys not contradicting; in rounds, pairs that are each
 *	   other's unique closest (time, then amount) match; when no pair is,
 *	   the pairs tied at the smallest distance are ambiguous;
 *	4. partial: an item and 2..max_parts items of the other side of the
 *	   same sign whose amounts sum to it (within the absolute tolerance),
 *	   all within the window; exactly one such set matches, two or more
 *	   (or a search that ran out of budget) make the item ambiguous;
 *	   one-to-many first (a left item), then many-to-one;
 *	5. reversals: two items of one source with opposite amounts, one of
 *	   them a reversal or both with the same key; mutual unique closest;
 *	6. every item left is an exception, classed by its likeliest
 *	   counterpart on the other side.
 *
 * Every choice is deterministic: ties are broken by item id or refused.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TPWALLET_RECON_MATCH_H
#define TPWALLET_RECON_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * An amount as an integer count of 10^-scale units (one scale per run).
 * Aligned to 8 bytes, not 16: palloc gives 8-byte alignment, and a
 * 16-byte-aligned int128 in palloc'd memory faults (PostgreSQL's own
 * int128 is declared the same way).
 */
__extension__ typedef __int128 recon_amount __attribute__((aligned(8)));

typedef struct recon_allocator
{
	void	   *(*alloc) (size_t size);		/* never returns NULL */
	void		(*free) (void *ptr);
} recon_allocator;

/* ----------------------------------------------------------------
 * Interning byte strings: equal strings get equal ids, ids start at 1
 * (0 means "no key").  The interner copies the bytes.
 * ---------------------------------------------------------------- */
typedef struct recon_interner recon_interner;

extern recon_interner *recon_interner_create(const recon_allocator *a);
extern uint32_t recon_intern(recon_interner *in, const char *bytes, size_t len);

/*
 * Several keys at once (a row's), as recon_intern one after the other:
 * ids[i] for keys[i], 0 for a key with bytes == NULL.  Their table slots
 * are fetched together, so that the cache misses of a big table overlap
 * instead of following one another.
 */
#define RECON_INTERN_MANY_MAX 8
typedef struct recon_key
{
	const char *bytes;			/* NULL: no key */
	size_t		len;
} recon_key;
extern void recon_intern_many(recon_interner *in, const recon_key *keys, size_t n, uint32_t *ids);
extern uint32_t recon_interner_count(const recon_interner *in);

/*
 * Room for n keys in all, made at once: a caller that knows about how many
 * keys are coming saves the table's rehashes on the way (each one moves
 * every key to a new table of twice the size).  Growing on demand goes on
 * beyond n; a smaller n than the table has room for does nothing.
 */
extern void recon_interner_reserve(recon_interner *in, size_t n);
extern void recon_interner_destroy(recon_interner *in);

/* ----------------------------------------------------------------
 * Items and results
 * ---------------------------------------------------------------- */
typedef enum recon_class
{
	RC_NONE = 0,
	RC_MISSING_IN_LEDGER,
	RC_MISSING_IN_STATEMENT,
	RC_AMOUNT_MISMATCH,
	RC_TIMING,
	RC_FEE_DIFFERENCE,
	RC_DUPLICATE,
	RC_AMBIGUOUS,
	RC_REVERSAL
} recon_class;

typedef enum recon_rule
{
	RR_EXACT_TXID = 0,
	RR_EXACT_ORDER_ID,
	RR_FUZZY,
	RR_PARTIAL,
	RR_REVERSAL
} recon_rule;

extern const char *recon_class_name(recon_class c);
extern const char *recon_rule_name(recon_rule r);

typedef struct recon_item
{
	int64_t		id;				/* item id; unique, sets the order of ties */
	int64_t		ts;				/* occurred_at, microseconds */
	recon_amount amount;		/* signed, money in positive */
	uint32_t	asset;			/* interned */
	uint32_t	txid;			/* interned, 0 = none */
	uint32_t	order_id;		/* interned, 0 = none */
	uint32_t	ext_id;			/* interned (statement items), 0 = none */
	uint32_t	content;		/* interned content key (statement items without ext_id: */
								/* their duplicate key; an ext_id is the key otherwise), 0 = none */
	int64_t		twin_before;	/* an earlier identical item outside the set, 0 = none */
	uint8_t		side;			/* 0 = left, 1 = right */
	bool		statement;		/* a statement item (else a ledger item) */
	bool		reversal;		/* flagged as a reversal by its source */
} recon_item;

typedef struct recon_rules
{
	recon_amount abs_tol;		/* amount tolerance, at the run's scale */
	/* relative tolerance rel_num / 10^rel_exp (0.001 = 1 / 10^3) */
	recon_amount rel_num;
	int			rel_exp;
	/* fee tolerance for classing, fee_num / 10^fee_exp */
	recon_amount fee_num;
	int			fee_exp;
	int64_t		window;			/* time window, microseconds (>= 0) */
	int			max_parts;		/* partial: at most this many items on the "many" side (>= 2) */
	long		partial_budget; /* partial: search steps per item before giving up */
} recon_rules;

typedef struct recon_match
{
	uint8_t		rule;			/* recon_rule */
	uint16_t	confidence;		/* basis points: 10000 = 1.0 */
	uint32_t	first;			/* index into recon_result.members */
	uint32_t	count;			/* members: item indexes, left side first */
} recon_match;

typedef struct recon_exception
{
	uint32_t	item;			/* index into the items */
	uint8_t		cls;			/* recon_class */
	int64_t		counterpart;	/* item id of the likely other item, 0 = none */
} recon_exception;

typedef struct recon_result
{
	recon_match *matches;
	size_t		n_matches;
	uint32_t   *members;		/* item indexes */
	size_t		n_members;
	recon_exception *exceptions;
	size_t		n_exceptions;
	int			error;			/* RECON_OK or RECON_ERR_OVERFLOW */
	/* what the passes did, for the run's record */
	size_t		by_rule[RR_REVERSAL + 1];
	size_t		partial_gave_up;	/* items whose search ran out of budget */
} recon_result;

#define RECON_OK				0
#define RECON_ERR_OVERFLOW		(-1)	/* a tolerance product overflowed 128 bits */

/*
 * Run every pass over items[0..n).  The items array is not changed.
 * Returns RECON_OK, or an error (then the result is empty).  Free the
 * result with recon_result_free().
 */
extern int	recon_match_run(const recon_item *items, size_t n, const recon_rules *rules,
							const recon_allocator *a, recon_result *out);
extern void recon_result_free(recon_result *r, const recon_allocator *a);

#endif							/* TPWALLET_RECON_MATCH_H */
