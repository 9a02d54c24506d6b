/*
 * engine.h
 *	  The posting engine shared by transfer, post_entry, post_batch,
 *	  reverse_entry and the hold functions.
 *
 * A call collects entries, then ledger_call_commit():
 *   1. claims idempotency keys (repeats return the original id),
 *   2. locks, in id order, the accounts whose available balance some change
 *	    may lower (FOR NO KEY UPDATE, waiting); tries the same lock on every
 *	    other touched account without waiting (SKIP LOCKED): a free row is
 *	    updated directly, a busy one (a hot account) only share-locked (FOR
 *	    KEY SHARE, so closing waits) and given an appended delta -- no hot
 *	    spot.  Deltas of every row-locked account are folded into its row,
 *   3. applies every entry in order to in-memory copies and checks the
 *	    overdraft rules after each entry,
 *   4. writes journal, postings, account totals and deltas through the
 *	    table access method (write.c), as COPY does.
 * Nothing is written before every check has passed.
 */
#ifndef TPWALLET_ENGINE_H
#define TPWALLET_ENGINE_H

#include "postgres.h"
#include "ledger/canon.h"
#include "storage/itemptr.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

typedef struct LedgerAccount
{
	int64		id;
	char	   *code;
	char	   *book;
	char	   *asset;
	int			decimals;
	bool		debit_normal;
	bool		allow_negative;

	bool		needs_lock;		/* some change may lower its available balance */
	bool		must_be_open;	/* receives postings or new reservations */
	bool		locked;			/* row-locked: its changes update the row */
	bool		updated;		/* its row already carries the call's changes */
	ItemPointerData tid;		/* locked rows: the version we locked */
	/* needs_lock accounts: totals read under the lock (row + deltas) */
	Numeric		base[4];
	/* deltas consumed under the row lock, added to the row with the changes */
	Numeric		folded[4];
	/* this call's changes: debits/credits posted, debits/credits pending */
	Numeric		change[4];
	/* the same summed entry by entry while each entry is checked */
	Numeric		running[4];
} LedgerAccount;

#define T_DP 0
#define T_CP 1
#define T_DPEND 2
#define T_CPEND 3

typedef struct LedgerLeg
{
	int			acct;			/* index into the call's accounts */
	bool		credit;
	Numeric		amount;			/* positive, trimmed */
} LedgerLeg;

/* A pending-total change (holds): acct, which total, signed amount. */
typedef struct LedgerPending
{
	int			acct;
	int			total;			/* T_DPEND or T_CPEND */
	Numeric		amount;			/* signed */
} LedgerPending;

typedef struct LedgerEntry
{
	const char *kind;			/* transfer | entry | reversal | hold */
	char	   *book;
	LedgerLeg  *legs;
	int			nlegs;
	LedgerPending *pending;		/* hold reservations / releases */
	int			npending;
	bool		writes_journal; /* false for a hold reservation or a void */
	char	   *idempotency_key;
	char		idem_kind[8];	/* "entry" or "hold" */
	char	   *reference;
	bool		occurred_given;
	TimestampTz occurred_at;
	Jsonb	   *metadata;
	int64		reverses;		/* 0: none */
	int64		hold_id;		/* 0: none */
	/* results */
	int64		id;				/* journal id (or hold id for a reservation) */
	bool		replay;			/* idempotent repeat: id is the original */
	struct LedgerEntry *original;	/* for a key repeated inside one call */
	uint8		request_hash[SHA256_LEN];
} LedgerEntry;

typedef struct LedgerCall
{
	LedgerAccount *accounts;
	int			naccounts;
	int			maxaccounts;
	struct HTAB *by_code;		/* code -> index, once there are many */
	Oid			journal_seq;
	Oid			hold_seq;
	LedgerEntry **entries;
	int			nentries;
	int			maxentries;
	TimestampTz now;
	char	   *user;
} LedgerCall;

extern LedgerCall *ledger_call_begin(void);
extern int	ledger_account(LedgerCall *call, const char *code);
extern LedgerEntry *ledger_new_entry(LedgerCall *call, const char *kind);
extern void ledger_add_leg(LedgerCall *call, LedgerEntry *e, int acct, bool credit,
						   Numeric amount, const char *what);
extern void ledger_check_entry(LedgerCall *call, LedgerEntry *e, int position);
extern void ledger_call_commit(LedgerCall *call);
extern void ledger_call_end(LedgerCall *call);

/* Draw ids from a sequence after the transaction has its xid (see seal.c). */
extern int64 ledger_next_id(const char *seqname);

/* Prepared SPI plans, kept for the backend's life. */
extern struct _SPI_plan *ledger_plan(struct _SPI_plan **slot, const char *sql,
									 int nargs, Oid *argtypes);

#endif
