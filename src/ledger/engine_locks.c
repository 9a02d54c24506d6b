/*
 * engine_locks.c
 *	  The posting engine's row locks (step 2 of engine.h): which accounts
 *	  must wait for their lock (some change may lower their available
 *	  balance), then every lock in account id order -- or the row updated
 *	  in place at once -- and the deltas of the rows held folded in.
 */
#include "postgres.h"

#include "ledger/engine_internal.h"
#include "ledger/accounts.h"
#include "ledger/amount.h"
#include "ledger/rowlock.h"
#include "ledger/write.h"
#include "tpwallet.h"

static bool
lowers_available(LedgerAccount *a, int total, bool increase)
{
	/* Available = normal-side posted balance - pending against the normal side. */
	if (a->allow_negative)
		return false;
	switch (total)
	{
		case T_DP:
			return increase != a->debit_normal; /* debit on credit-normal */
		case T_CP:
			return increase == a->debit_normal; /* credit on debit-normal */
		case T_DPEND:
			return increase && !a->debit_normal;
		case T_CPEND:
			return increase && a->debit_normal;
	}
	return false;
}

void
engine_mark_locks(LedgerCall *call)
{
	for (int i = 0; i < call->nentries; i++)
	{
		LedgerEntry *e = call->entries[i];

		if (e->replay)
			continue;
		for (int l = 0; l < e->nlegs; l++)
		{
			LedgerAccount *a = &call->accounts[e->legs[l].acct];

			a->must_be_open = true;
			if (lowers_available(a, e->legs[l].credit ? T_CP : T_DP, true))
				a->needs_lock = true;
		}
		for (int p = 0; p < e->npending; p++)
		{
			LedgerAccount *a = &call->accounts[e->pending[p].acct];
			bool		reserve = amount_cmp(e->pending[p].amount, amount_zero()) > 0;

			/* releasing a reservation is allowed on a closed account */
			a->must_be_open |= reserve;
			if (lowers_available(a, e->pending[p].total, reserve))
				a->needs_lock = true;
		}
	}
}

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/* The call's accounts in id order: the order every lock is taken in. */
struct IdMap
{
	int64	   *ids;
	int		   *idx;
	int			n;
};

IdMap *
engine_build_idmap(LedgerCall *call)
{
	IdMap	   *m = palloc(sizeof(IdMap));
	int64	   *pairs = palloc(sizeof(int64) * 2 * Max(call->naccounts, 1));

	m->n = call->naccounts;
	m->ids = palloc(sizeof(int64) * Max(m->n, 1));
	m->idx = palloc(sizeof(int) * Max(m->n, 1));
	for (int i = 0; i < m->n; i++)
	{
		pairs[2 * i] = call->accounts[i].id;
		pairs[2 * i + 1] = i;
	}
	qsort(pairs, m->n, 2 * sizeof(int64), cmp_int64);
	for (int i = 0; i < m->n; i++)
	{
		m->ids[i] = pairs[2 * i];
		m->idx[i] = (int) pairs[2 * i + 1];
	}
	return m;
}

static void
check_open(LedgerAccount *a, bool open)
{
	if (a->must_be_open && !open)
		ereport(ERROR,
				(errcode(ERRCODE_TW_ACCOUNT_CLOSED),
				 errmsg("account \"%s\" is closed", a->code),
				 errdetail("A closed account takes no new postings or holds; its history stays."),
				 errhint("Post to an open account.")));
}

static void
vanished(void)
{
	/* Its creation rolled back after we cached it. */
	account_cache_reset();
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("an account of this request no longer exists"),
			 errhint("Its creation was rolled back; create it again.")));
}

/* A row we now hold: its version, and for checked accounts its totals. */
static void
take_locked_row(LedgerAccount *a, AccountRow *row)
{
	check_open(a, row->open);
	ItemPointerCopy(&row->tid, &a->tid);	/* write.c updates exactly this version */
	if (a->needs_lock)
		memcpy(a->base, row->totals, sizeof(a->base));
	a->locked = true;
}

/*
 * Consume the deltas of a row-locked account: they are added to the row
 * together with this call's changes.  Done after every lock: a delta that
 * committed before is seen, one still in flight stays for later, and nobody
 * else can fold these accounts meanwhile (the worker's fold takes the same
 * row locks).
 */
static void
fold_deltas_of(AccountRows *rows, LedgerAccount *a)
{
	Numeric		sums[4];

	if (!account_deltas_take(rows, a->id, sums))
		return;
	for (int t = 0; t < 4; t++)
	{
		a->folded[t] = a->folded[t] ? amount_add(a->folded[t], sums[t]) : sums[t];
		if (a->needs_lock)
			a->base[t] = amount_add(a->base[t], sums[t]);
	}
}

/*
 * Update an account's row in place, without a row lock first: read the
 * version our snapshot sees, write it back with the call's whole change, and
 * let the update take the row lock.  The update succeeds only on the newest
 * version, so the totals it started from are the row's current ones; the
 * entries are checked against them afterwards, and a refusal rolls the
 * update back with the rest.  That saves the lock's WAL record and a second
 * read of the row.  Only for rows without deltas (a fold needs the lock
 * before it reads) and only as an attempt: when the row changed since the
 * snapshot, or (without waiting) another transaction holds it, false, and
 * the caller takes the lock path, which does exactly what it did before.
 */
static bool
update_in_place(AccountRows *rows, TableWriter **writer, LedgerAccount *a, bool wait)
{
	AccountRow	row;
	Datum		v[4];
	bool		n[4] = {false, false, false, false};

	if (account_has_deltas(rows, a->id))
		return false;
	if (account_row_read(rows, a->id, &row) != ACCOUNT_FOUND)
		vanished();
	check_open(a, row.open);
	for (int t = 0; t < 4; t++)
		v[t] = NumericGetDatum(engine_checked_total(a, t, row.totals[t]));
	if (*writer == NULL)
		*writer = writer_open("accounts", lengthof(engine_total_columns), engine_total_columns);
	if (writer_try_update(*writer, row.slot, v, n, wait) != TM_Ok)
		return false;
	if (a->needs_lock)
		memcpy(a->base, row.totals, sizeof(a->base));
	a->locked = true;
	a->updated = true;
	return true;
}

/* Every lock in account id order (map), so that two calls never deadlock. */
void
engine_lock_accounts(LedgerCall *call, IdMap *map)
{
	AccountRows *rows = account_rows_open();
	TableWriter *in_place = NULL;
	AccountRow	row;

	/* 1. wait for the rows whose balance we must check */
	for (int k = 0; k < map->n; k++)
	{
		LedgerAccount *a = &call->accounts[map->idx[k]];

		if (!a->needs_lock || (engine_row_changes(a) && update_in_place(rows, &in_place, a, true)))
			continue;
		if (account_row_lock(rows, a->id, LockTupleNoKeyExclusive, LockWaitBlock, &row) != ACCOUNT_LOCKED)
			vanished();
		take_locked_row(a, &row);
	}
	/* 2. take the others' row locks only where nobody holds them */
	for (int k = 0; k < map->n; k++)
	{
		LedgerAccount *a = &call->accounts[map->idx[k]];

		if (a->needs_lock || (engine_row_changes(a) && update_in_place(rows, &in_place, a, false)))
			continue;
		switch (account_row_lock(rows, a->id, LockTupleNoKeyExclusive, LockWaitSkip, &row))
		{
			case ACCOUNT_LOCKED:
				take_locked_row(a, &row);
				break;
			case ACCOUNT_BUSY:
				break;
			default:
				vanished();
		}
	}
	/* 3. fold the deltas of every row we hold (rows updated in place had none) */
	for (int k = 0; k < map->n; k++)
		if (call->accounts[map->idx[k]].locked && !call->accounts[map->idx[k]].updated)
			fold_deltas_of(rows, &call->accounts[map->idx[k]]);
	/* 4. busy rows: a share lock (closing waits for it) and a delta later */
	for (int k = 0; k < map->n; k++)
	{
		LedgerAccount *a = &call->accounts[map->idx[k]];

		if (a->locked)
			continue;
		if (account_row_lock(rows, a->id, LockTupleKeyShare, LockWaitBlock, &row) != ACCOUNT_LOCKED)
			vanished();
		check_open(a, row.open);
	}
	if (in_place)
		writer_close(in_place);
	account_rows_close(rows);
}
