/*
 * rowlock.h
 *	  Account row locks and delta folding for the posting engine, straight
 *	  through the primary-key index and the table access method (rowlock.c).
 */
#ifndef TPWALLET_ROWLOCK_H
#define TPWALLET_ROWLOCK_H

#include "postgres.h"
#include "executor/tuptable.h"
#include "nodes/lockoptions.h"
#include "storage/itemptr.h"
#include "utils/numeric.h"

typedef struct AccountRows AccountRows;

/* What a lock returns of the account's row (the version it locked). */
typedef struct AccountRow
{
	ItemPointerData tid;
	TupleTableSlot *slot;		/* the version itself, valid until the next call */
	bool		open;			/* status = 'open' */
	Numeric		totals[4];		/* debits/credits posted, debits/credits pending */
} AccountRow;

typedef enum AccountLockResult
{
	ACCOUNT_FOUND,				/* account_row_read: the visible version, not locked */
	ACCOUNT_LOCKED,
	ACCOUNT_BUSY,				/* LockWaitSkip and another transaction holds it */
	ACCOUNT_MISSING				/* no such row (its creation rolled back) */
} AccountLockResult;

extern AccountRows *account_rows_open(void);

/*
 * Lock the account row with this id in the given mode, as SELECT ... FOR
 * <mode> [SKIP LOCKED] would: waiting (or not), following a concurrent
 * update to the newest version in READ COMMITTED, refusing with a
 * serialization failure under REPEATABLE READ or SERIALIZABLE.
 */
extern AccountLockResult account_row_lock(AccountRows *r, int64 id, LockTupleMode mode,
										  LockWaitPolicy wait, AccountRow *row);

/*
 * The version of the account's row our snapshot sees, without a lock (for
 * an update that locks the row itself: writer_try_update): ACCOUNT_FOUND or
 * ACCOUNT_MISSING.
 */
extern AccountLockResult account_row_read(AccountRows *r, int64 id, AccountRow *row);

/* Whether the account has deltas our snapshot sees (nothing is taken). */
extern bool account_has_deltas(AccountRows *r, int64 id);

/*
 * Take (delete) the committed deltas of a row-locked account and return
 * their sums in sums[4]; false if it had none.  In READ COMMITTED a fresh
 * snapshot, taken after the locks, sees every delta committed before them.
 */
extern bool account_deltas_take(AccountRows *r, int64 id, Numeric *sums);

extern void account_rows_close(AccountRows *r);

#endif
