/*
 * engine.c
 *	  The posting engine: validate, claim idempotency keys, lock, check,
 *	  write.  See engine.h for the order of steps and why.
 */
#include "postgres.h"

#include "ledger/engine.h"
#include "crypto/crypto_pg.h"
#include "ledger/accounts.h"
#include "ledger/amount.h"
#include "ledger/rowlock.h"
#include "ledger/write.h"
#include "tpwallet.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"


typedef struct CodeIndex
{
	char		code[201];
	int			index;
} CodeIndex;

/* ---------- small helpers ---------- */

SPIPlanPtr
ledger_plan(SPIPlanPtr *slot, const char *sql, int nargs, Oid *argtypes)
{
	if (*slot == NULL)
	{
		/*
		 * Always a generic plan: with array parameters the plan cache would
		 * otherwise keep replanning (custom plans look cheaper), costing far
		 * more than the statements themselves.
		 */
		SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql,
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		*slot = plan;
	}
	return *slot;
}

static int64
next_id(Oid seq)
{
	/*
	 * The sealer's floor (seal.c) relies on every id being drawn after its
	 * transaction has an xid, so assign it first.
	 */
	(void) GetTopTransactionId();
	return nextval_internal(seq, false);
}

int64
ledger_next_id(const char *seqname)
{
	return next_id(tpw_relid(seqname));
}

/* The metadata of an entry given none: one shared empty object. */
static Jsonb *
empty_object(void)
{
	static Jsonb *empty = NULL;

	if (empty == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		empty = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
		MemoryContextSwitchTo(old);
	}
	return empty;
}

/* " (batch element N)" for error messages; evaluated only when one is raised. */
static const char *
where_of(int position)
{
	return position > 0 ? psprintf(" (batch element %d)", position) : "";
}

/* ---------- building a call ---------- */

LedgerCall *
ledger_call_begin(void)
{
	LedgerCall *call = palloc0(sizeof(LedgerCall));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	account_cache_validate();
	call->journal_seq = tpw_relid("journal_id_seq");
	call->hold_seq = tpw_relid("hold_id_seq");
	call->maxaccounts = 16;
	call->accounts = palloc(sizeof(LedgerAccount) * call->maxaccounts);
	call->maxentries = 16;
	call->entries = palloc(sizeof(LedgerEntry *) * call->maxentries);
	call->now = GetCurrentTransactionStartTimestamp();
	call->user = GetUserNameFromId(GetSessionUserId(), false);
	return call;
}

void
ledger_call_end(LedgerCall *call)
{
	SPI_finish();
}

/* Index of a code among the call's accounts, or -1; a hash once there are many. */
static int
find_in_call(LedgerCall *call, const char *code)
{
	if (call->by_code == NULL)
	{
		for (int i = 0; i < call->naccounts; i++)
			if (strcmp(call->accounts[i].code, code) == 0)
				return i;
		return -1;
	}
	else
	{
		CodeIndex  *ci = hash_search(call->by_code, code, HASH_FIND, NULL);

		return ci ? ci->index : -1;
	}
}

static void
remember_in_call(LedgerCall *call, const char *code, int index)
{
	if (call->by_code == NULL && call->naccounts >= 16)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(((CodeIndex *) 0)->code);
		ctl.entrysize = sizeof(CodeIndex);
		ctl.hcxt = CurrentMemoryContext;
		call->by_code = hash_create("tpwallet call accounts", 256, &ctl,
									HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
		for (int i = 0; i < call->naccounts; i++)
			((CodeIndex *) hash_search(call->by_code, call->accounts[i].code,
									   HASH_ENTER, NULL))->index = i;
	}
	if (call->by_code)
		((CodeIndex *) hash_search(call->by_code, code, HASH_ENTER, NULL))->index = index;
}

int
ledger_account(LedgerCall *call, const char *code)
{
	const AccountInfo *info;
	LedgerAccount *a;
	int			index;

	if (strlen(code) > 200)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("account \"%.40s...\" does not exist", code),
				 errdetail("Account codes are at most 200 bytes long.")));
	index = find_in_call(call, code);
	if (index >= 0)
		return index;

	info = account_info(code);	/* errors on an unknown code */
	if (call->naccounts == call->maxaccounts)
	{
		call->maxaccounts *= 2;
		call->accounts = repalloc(call->accounts, sizeof(LedgerAccount) * call->maxaccounts);
	}
	a = &call->accounts[call->naccounts];
	memset(a, 0, sizeof(*a));
	a->id = info->id;
	a->code = pstrdup(code);
	a->book = pstrdup(info->book);
	a->asset = pstrdup(info->asset);
	a->decimals = info->decimals;
	a->debit_normal = info->debit_normal;
	a->allow_negative = info->allow_negative;
	remember_in_call(call, a->code, call->naccounts);
	return call->naccounts++;
}

LedgerEntry *
ledger_new_entry(LedgerCall *call, const char *kind)
{
	LedgerEntry *e = palloc0(sizeof(LedgerEntry));

	e->kind = kind;
	e->writes_journal = true;
	strlcpy(e->idem_kind, "entry", sizeof(e->idem_kind));
	if (call->nentries == call->maxentries)
	{
		call->maxentries *= 2;
		call->entries = repalloc(call->entries, sizeof(LedgerEntry *) * call->maxentries);
	}
	call->entries[call->nentries++] = e;
	return e;
}

void
ledger_add_leg(LedgerCall *call, LedgerEntry *e, int acct, bool credit, Numeric amount,
			   const char *what)
{
	LedgerAccount *a = &call->accounts[acct];
	LedgerLeg  *leg;

	if (e->nlegs % 8 == 0)
		e->legs = e->legs ? repalloc(e->legs, sizeof(LedgerLeg) * (e->nlegs + 8))
			: palloc(sizeof(LedgerLeg) * 8);
	leg = &e->legs[e->nlegs++];
	leg->acct = acct;
	leg->credit = credit;
	leg->amount = amount_validate(amount, a->decimals, a->asset, what);
}

/* ---------- validation of one entry (before anything is locked) ---------- */

static void
check_book(LedgerCall *call, LedgerEntry *e, int position)
{
	for (int i = 0; i < e->nlegs; i++)
	{
		LedgerAccount *a = &call->accounts[e->legs[i].acct];

		if (e->book == NULL)
			e->book = a->book;
		else if (strcmp(e->book, a->book) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_TW_BOOK_MISMATCH),
					 errmsg("account \"%s\" is in book %s, not %s%s", a->code, a->book,
							e->book, where_of(position)),
					 errdetail("Every posting of an entry must be in the entry's book."),
					 errhint("Post to the other book in a separate entry.")));
	}
}

/* Per asset, debits must equal credits. */
static void
check_balanced(LedgerCall *call, LedgerEntry *e, int position)
{
	bool		done_local[8];
	bool	   *done = e->nlegs <= 8 ? done_local : palloc(sizeof(bool) * e->nlegs);

	memset(done, 0, sizeof(bool) * Max(e->nlegs, 1));

	for (int i = 0; i < e->nlegs; i++)
	{
		const char *asset = call->accounts[e->legs[i].acct].asset;
		Numeric		dr = amount_zero();
		Numeric		cr = amount_zero();

		if (done[i])
			continue;
		for (int j = i; j < e->nlegs; j++)
		{
			if (strcmp(call->accounts[e->legs[j].acct].asset, asset) != 0)
				continue;
			done[j] = true;
			if (e->legs[j].credit)
				cr = amount_add(cr, e->legs[j].amount);
			else
				dr = amount_add(dr, e->legs[j].amount);
		}
		if (amount_cmp(dr, cr) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_TW_UNBALANCED_ENTRY),
					 errmsg("entry is not balanced in %s%s", asset, where_of(position)),
					 errdetail("Debits total %s and credits total %s.",
							   amount_text(dr), amount_text(cr)),
					 errhint("Every entry must have equal debits and credits in each asset.")));
	}
}

/* The request's fingerprint, for idempotency: everything the caller said. */
static void
hash_request(LedgerCall *call, LedgerEntry *e, const char *extra)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, "TPW-REQUEST-v1", 14);
	canon_text(&buf, e->kind);
	canon_text(&buf, e->book);
	canon_u32(&buf, e->nlegs);
	for (int i = 0; i < e->nlegs; i++)
	{
		canon_text(&buf, call->accounts[e->legs[i].acct].code);
		canon_u8(&buf, e->legs[i].credit ? 'C' : 'D');
		canon_numeric(&buf, e->legs[i].amount);
	}
	canon_text(&buf, e->reference);
	canon_opt_i64(&buf, !e->occurred_given, e->occurred_given ? e->occurred_at : 0);
	canon_opt_i64(&buf, e->reverses == 0, e->reverses);
	canon_opt_i64(&buf, e->hold_id == 0, e->hold_id);
	canon_text(&buf, extra);
	if (e->metadata)
		canon_jsonb(&buf, e->metadata);
	sha256(buf.data, buf.len, e->request_hash);
	pfree(buf.data);
}

/*
 * Check an entry's content; "position" (1-based, 0 for a single call) is
 * named in errors so that a batch caller knows which element is wrong.
 */
void
ledger_check_entry(LedgerCall *call, LedgerEntry *e, int position)
{
	char	   *extra = NULL;

	if (e->writes_journal && e->nlegs < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an entry needs at least two postings%s", where_of(position))));
	check_book(call, e, position);
	if (e->nlegs > 0)
		check_balanced(call, e, position);
	if (e->occurred_given && TIMESTAMP_NOT_FINITE(e->occurred_at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("occurred_at must be a finite time%s", where_of(position))));
	if (!e->occurred_given)
		e->occurred_at = call->now;
	if (e->metadata == NULL)
		e->metadata = empty_object();
	else if (!JB_ROOT_IS_OBJECT(e->metadata) || JB_ROOT_IS_SCALAR(e->metadata))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("metadata must be a JSON object%s", where_of(position))));
	for (int i = 0; i < e->npending; i++)
		extra = psprintf("%s|%s:%d:%s", extra ? extra : "",
						 call->accounts[e->pending[i].acct].code,
						 e->pending[i].total, amount_text(e->pending[i].amount));
	if (e->idempotency_key)
	{
		if (e->idempotency_key[0] == '\0' || strlen(e->idempotency_key) > 200)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("idempotency key must be 1 to 200 bytes long%s", where_of(position))));
		hash_request(call, e, extra);
	}
}

/* ---------- idempotency ---------- */

static void
idempotency_conflict(LedgerEntry *e, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_TW_IDEMPOTENCY_CONFLICT),
			 errmsg("idempotency key \"%s\" was already used for a different request",
					e->idempotency_key),
			 errdetail("%s", why),
			 errhint("Repeat a request with exactly the same content, or use a new key.")));
}

/* Keys repeated inside one call: the later use replays the earlier one. */
static void
dedupe_keys_in_call(LedgerCall *call)
{
	HASHCTL		ctl;
	HTAB	   *seen;

	ctl.keysize = 201;
	ctl.entrysize = 201 + sizeof(LedgerEntry *);
	ctl.hcxt = CurrentMemoryContext;
	seen = hash_create("tpwallet keys in call", 64, &ctl,
					   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	for (int i = 0; i < call->nentries; i++)
	{
		LedgerEntry *e = call->entries[i];
		bool		found;
		char	   *slot;
		LedgerEntry *first;

		if (e->idempotency_key == NULL)
			continue;
		slot = hash_search(seen, e->idempotency_key, HASH_ENTER, &found);
		if (!found)
		{
			memcpy(slot + 201, &e, sizeof(LedgerEntry *));
			continue;
		}
		memcpy(&first, slot + 201, sizeof(LedgerEntry *));
		if (memcmp(first->request_hash, e->request_hash, SHA256_LEN) != 0 ||
			strcmp(first->idem_kind, e->idem_kind) != 0)
			idempotency_conflict(e, "The key appears twice in this call with different content.");
		e->replay = true;
		e->original = first;
	}
}

static int
cmp_entry_key(const void *a, const void *b)
{
	return strcmp((*(LedgerEntry *const *) a)->idempotency_key,
				  (*(LedgerEntry *const *) b)->idempotency_key);
}

static const char *const key_columns[] = {"key", "kind", "request_hash", "result_id",
"created_at"};

/*
 * Insert every key (ON CONFLICT DO NOTHING, write.c); a key that is already
 * there (committed by an earlier call, or by a concurrent one we waited
 * for) replays its original result, or is refused if the request differs.
 */
static void
claim_keys(LedgerCall *call)
{
	LedgerEntry **keyed = palloc(sizeof(LedgerEntry *) * Max(call->nentries, 1));
	int			nkeyed = 0;
	TableWriter *keys;

	/*
	 * Claim keys in key order, so that two batches sharing keys wait for
	 * each other instead of deadlocking.
	 */
	for (int i = 0; i < call->nentries; i++)
		if (call->entries[i]->idempotency_key && !call->entries[i]->replay)
			keyed[nkeyed++] = call->entries[i];
	if (nkeyed == 0)
		return;
	qsort(keyed, nkeyed, sizeof(LedgerEntry *), cmp_entry_key);

	keys = writer_open("idempotency", lengthof(key_columns), key_columns);
	for (int i = 0; i < nkeyed; i++)
	{
		LedgerEntry *e = keyed[i];
		Datum		v[5];
		bool		n[5] = {false, false, false, false, false};
		bytea	   *h;

		v[0] = CStringGetTextDatum(e->idempotency_key);
		v[1] = CStringGetTextDatum(e->idem_kind);
		v[2] = PointerGetDatum(tpw_bytea_from(e->request_hash, SHA256_LEN));
		v[3] = Int64GetDatum(e->id);
		v[4] = TimestampTzGetDatum(call->now);
		if (writer_insert_or_fetch(keys, v, n))
			continue;
		/* taken: v now holds the earlier request's row */
		if (strcmp(TextDatumGetCString(v[1]), e->idem_kind) != 0)
			idempotency_conflict(e, "The key was used for another kind of request.");
		h = DatumGetByteaPP(v[2]);
		if (VARSIZE_ANY_EXHDR(h) != SHA256_LEN ||
			memcmp(VARDATA_ANY(h), e->request_hash, SHA256_LEN) != 0)
			idempotency_conflict(e, "The earlier request had other accounts, amounts, reference, time or metadata.");
		e->replay = true;
		e->id = DatumGetInt64(v[3]);
	}
	writer_close(keys);
}

/* ---------- locking ---------- */

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

static void
mark_locks(LedgerCall *call)
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
typedef struct IdMap
{
	int64	   *ids;
	int		   *idx;
	int			n;
} IdMap;

static IdMap *
build_idmap(LedgerCall *call)
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

/* ---------- an account's new totals ---------- */

static const char *const total_columns[] = {"debits_posted", "credits_posted",
"debits_pending", "credits_pending"};

/* What the call adds to total t of the row: its changes and the deltas it folded. */
static Numeric
row_delta(LedgerAccount *a, int t)
{
	Numeric		v = a->change[t] ? a->change[t] : amount_zero();

	return a->folded[t] ? amount_add(v, a->folded[t]) : v;
}

static bool
row_changes(LedgerAccount *a)
{
	for (int t = 0; t < 4; t++)
		if (!amount_is_zero(row_delta(a, t)))
			return true;
	return false;
}

/* Total t of the row after the call, checked as the table's CHECK (... >= 0) would. */
static Numeric
checked_total(LedgerAccount *a, int t, Numeric current)
{
	Numeric		total = amount_add(current, row_delta(a, t));

	/* the CHECK (... >= 0) of the table, which direct writes do not run */
	if (amount_cmp(total, amount_zero()) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("total %s of account \"%s\" would become negative", total_columns[t], a->code),
				 errdetail("Totals are sums of non-negative amounts; %s is not.", amount_text(total))));
	return total;
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
		v[t] = NumericGetDatum(checked_total(a, t, row.totals[t]));
	if (*writer == NULL)
		*writer = writer_open("accounts", lengthof(total_columns), total_columns);
	if (writer_try_update(*writer, row.slot, v, n, wait) != TM_Ok)
		return false;
	if (a->needs_lock)
		memcpy(a->base, row.totals, sizeof(a->base));
	a->locked = true;
	a->updated = true;
	return true;
}

/* Every lock in account id order (map), so that two calls never deadlock. */
static void
lock_accounts(LedgerCall *call, IdMap *map)
{
	AccountRows *rows = account_rows_open();
	TableWriter *in_place = NULL;
	AccountRow	row;

	/* 1. wait for the rows whose balance we must check */
	for (int k = 0; k < map->n; k++)
	{
		LedgerAccount *a = &call->accounts[map->idx[k]];

		if (!a->needs_lock || (row_changes(a) && update_in_place(rows, &in_place, a, true)))
			continue;
		if (account_row_lock(rows, a->id, LockTupleNoKeyExclusive, LockWaitBlock, &row) != ACCOUNT_LOCKED)
			vanished();
		take_locked_row(a, &row);
	}
	/* 2. take the others' row locks only where nobody holds them */
	for (int k = 0; k < map->n; k++)
	{
		LedgerAccount *a = &call->accounts[map->idx[k]];

		if (a->needs_lock || (row_changes(a) && update_in_place(rows, &in_place, a, false)))
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

/* ---------- applying and checking ---------- */

static Numeric
total_of(LedgerAccount *a, int t)
{
	Numeric		v = a->base[t] ? a->base[t] : amount_zero();

	return a->running[t] ? amount_add(v, a->running[t]) : v;
}

static Numeric
available(LedgerAccount *a)
{
	Numeric		posted = amount_sub(total_of(a, T_DP), total_of(a, T_CP));

	if (a->debit_normal)
		return amount_sub(posted, total_of(a, T_CPEND));
	return amount_sub(amount_neg(posted), total_of(a, T_DPEND));
}

static void
add_to(Numeric *sums, int t, Numeric amount)
{
	sums[t] = sums[t] ? amount_add(sums[t], amount) : amount;
}

/* Every change an entry makes, added to the sums chosen by running. */
static void
add_entry_changes(LedgerCall *call, LedgerEntry *e, bool running)
{
	for (int l = 0; l < e->nlegs; l++)
	{
		LedgerAccount *a = &call->accounts[e->legs[l].acct];

		add_to(running ? a->running : a->change, e->legs[l].credit ? T_CP : T_DP,
			   e->legs[l].amount);
	}
	for (int p = 0; p < e->npending; p++)
	{
		LedgerAccount *a = &call->accounts[e->pending[p].acct];

		add_to(running ? a->running : a->change, e->pending[p].total, e->pending[p].amount);
	}
}

/*
 * The call's total change per account, known before any lock: what an
 * update in place (lock_accounts) writes at once.  The entries are checked
 * one by one afterwards (apply_entry), against the totals the locks saw.
 */
static void
plan_changes(LedgerCall *call)
{
	for (int i = 0; i < call->nentries; i++)
		if (!call->entries[i]->replay)
			add_entry_changes(call, call->entries[i], false);
}

static void
apply_entry(LedgerCall *call, LedgerEntry *e, int position)
{
	int			nacc = e->nlegs + e->npending;
	int		   *touched = palloc(sizeof(int) * Max(nacc, 1));
	Numeric    *before = palloc(sizeof(Numeric) * Max(nacc, 1));
	int			n = 0;

	/* Remember the available balance of each checked account before. */
	for (int i = 0; i < nacc; i++)
	{
		int			acct = i < e->nlegs ? e->legs[i].acct : e->pending[i - e->nlegs].acct;
		bool		dup = false;

		if (!call->accounts[acct].needs_lock)
			continue;
		for (int j = 0; j < n; j++)
			dup |= touched[j] == acct;
		if (!dup)
		{
			touched[n] = acct;
			before[n++] = available(&call->accounts[acct]);
		}
	}

	add_entry_changes(call, e, true);

	for (int j = 0; j < n; j++)
	{
		LedgerAccount *a = &call->accounts[touched[j]];
		Numeric		after = available(a);

		if (amount_cmp(after, amount_zero()) < 0 && amount_cmp(after, before[j]) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_TW_INSUFFICIENT_FUNDS),
					 errmsg("insufficient funds in account \"%s\"%s", a->code, where_of(position)),
					 errdetail("Available balance is %s %s (pending holds included); this would take it to %s.",
							   amount_text(before[j]), a->asset, amount_text(after)),
					 errhint("Post a smaller amount, or use an account created with allow_negative.")));
	}
}

/* ---------- writing (write.c: through the table AM, as COPY does) ---------- */

static const char *const journal_columns[] = {"id", "book", "kind", "occurred_at",
	"created_at", "created_by", "reference", "idempotency_key", "reverses", "hold_id",
"metadata", "hash_version", "hash"};
static const char *const posting_columns[] = {"entry_id", "leg", "account_id", "amount",
"occurred_at"};
static const char *const delta_columns[] = {"account_id", "debits_posted", "credits_posted",
"debits_pending", "credits_pending"};

static Datum
text_or_null(const char *s, bool *isnull)
{
	*isnull = s == NULL;
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

/* One journal row and its postings; the entry hash covers both. */
static void
write_entry(LedgerCall *call, LedgerEntry *e, TableWriter *journal, TableWriter *postings)
{
	EntryImage	img;
	uint8		hash[SHA256_LEN];
	Datum		occurred = TimestampTzGetDatum(e->occurred_at);
	Datum	   *v;
	bool	   *n;

	img.id = e->id;
	img.book = e->book;
	img.kind = e->kind;
	img.occurred_at = e->occurred_at;
	img.created_at = call->now;
	img.created_by = call->user;
	img.reference = e->reference;
	img.idempotency_key = e->idempotency_key;
	img.reverses_null = e->reverses == 0;
	img.reverses = e->reverses;
	img.hold_null = e->hold_id == 0;
	img.hold_id = e->hold_id;
	img.metadata = e->metadata;
	img.nlegs = e->nlegs;
	img.leg_account = palloc(sizeof(int64) * e->nlegs);
	img.leg_amount = palloc(sizeof(Numeric) * e->nlegs);
	for (int l = 0; l < e->nlegs; l++)
	{
		img.leg_account[l] = call->accounts[e->legs[l].acct].id;
		img.leg_amount[l] = e->legs[l].credit ? amount_neg(e->legs[l].amount) : e->legs[l].amount;

		writer_row(postings, &v, &n);
		v[0] = Int64GetDatum(e->id);
		v[1] = Int16GetDatum(l + 1);
		v[2] = Int64GetDatum(img.leg_account[l]);
		v[3] = NumericGetDatum(img.leg_amount[l]);
		v[4] = occurred;
	}
	entry_hash(&img, hash);

	writer_row(journal, &v, &n);
	v[0] = Int64GetDatum(e->id);
	v[1] = CStringGetTextDatum(e->book);
	v[2] = CStringGetTextDatum(e->kind);
	v[3] = occurred;
	v[4] = TimestampTzGetDatum(call->now);
	v[5] = CStringGetTextDatum(call->user);
	v[6] = text_or_null(e->reference, &n[6]);
	v[7] = text_or_null(e->idempotency_key, &n[7]);
	v[8] = Int64GetDatum(e->reverses);
	n[8] = e->reverses == 0;
	v[9] = Int64GetDatum(e->hold_id);
	n[9] = e->hold_id == 0;
	v[10] = JsonbPGetDatum(e->metadata);
	v[11] = Int16GetDatum(ENTRY_HASH_VERSION);
	v[12] = PointerGetDatum(tpw_bytea_from(hash, SHA256_LEN));
}

/* A row-locked account: its totals plus this call's changes and folded deltas. */
static void
update_totals(TableWriter *accounts, LedgerAccount *a)
{
	Datum		v[4];
	bool		n[4];

	writer_fetch(accounts, &a->tid, v, n);
	for (int t = 0; t < 4; t++)
		v[t] = NumericGetDatum(checked_total(a, t, DatumGetNumeric(v[t])));
	writer_update(accounts, &a->tid, v, n);
}

/* A busy account: an appended delta, folded later (see the table's comment). */
static void
append_delta(TableWriter *deltas, LedgerAccount *a)
{
	Datum	   *v;
	bool	   *n;

	writer_row(deltas, &v, &n);
	v[0] = Int64GetDatum(a->id);
	for (int t = 0; t < 4; t++)
		v[1 + t] = NumericGetDatum(row_delta(a, t));
}

static void
write_all(LedgerCall *call)
{
	TableWriter *journal = NULL,
			   *postings = NULL,
			   *accounts = NULL,
			   *deltas = NULL;

	for (int i = 0; i < call->nentries; i++)
	{
		LedgerEntry *e = call->entries[i];

		if (e->replay || !e->writes_journal)
			continue;
		if (journal == NULL)
		{
			journal = writer_open("journal", lengthof(journal_columns), journal_columns);
			postings = writer_open("postings", lengthof(posting_columns), posting_columns);
		}
		write_entry(call, e, journal, postings);
	}
	for (int i = 0; i < call->naccounts; i++)
	{
		LedgerAccount *a = &call->accounts[i];

		if (a->updated || !row_changes(a))
			continue;
		if (a->locked)
		{
			if (accounts == NULL)
				accounts = writer_open("accounts", lengthof(total_columns), total_columns);
			update_totals(accounts, a);
		}
		else
		{
			if (deltas == NULL)
				deltas = writer_open("account_deltas", lengthof(delta_columns), delta_columns);
			append_delta(deltas, a);
		}
	}
	if (journal)
	{
		writer_close(journal);
		writer_close(postings);
	}
	if (accounts)
		writer_close(accounts);
	if (deltas)
		writer_close(deltas);
}

/* ---------- the whole commit ---------- */

void
ledger_call_commit(LedgerCall *call)
{
	IdMap	   *map;

	/* Ids first (after the xid, for the sealer), so keys can point at them. */
	for (int i = 0; i < call->nentries; i++)
	{
		LedgerEntry *e = call->entries[i];

		if (e->id == 0)
			e->id = next_id(e->writes_journal ? call->journal_seq : call->hold_seq);
	}
	dedupe_keys_in_call(call);
	claim_keys(call);
	/* In-call replays take the (possibly replayed) id of their original. */
	for (int i = 0; i < call->nentries; i++)
	{
		LedgerEntry *e = call->entries[i];

		if (e->original)
			e->id = e->original->id;
	}

	mark_locks(call);
	plan_changes(call);
	map = build_idmap(call);
	lock_accounts(call, map);
	for (int i = 0; i < call->nentries; i++)
	{
		if (!call->entries[i]->replay)
			apply_entry(call, call->entries[i], call->nentries > 1 ? i + 1 : 0);
	}
	write_all(call);
}
