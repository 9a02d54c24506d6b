/*
 * engine.c
 *	  The posting engine: build a call, validate each entry, and commit --
 *	  ids, idempotency keys (engine_keys.c), locks (engine_locks.c), the
 *	  checks of every entry, writes (engine_write.c).  See engine.h for the
 *	  order of steps and why.
 */
#include "postgres.h"

#include "ledger/engine.h"
#include "ledger/engine_internal.h"
#include "ledger/accounts.h"
#include "ledger/amount.h"
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
 * update in place (engine_lock_accounts) writes at once.  The entries are
 * checked one by one afterwards (apply_entry), against the totals the locks
 * saw.
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
	engine_dedupe_keys_in_call(call);
	engine_claim_keys(call);
	/* In-call replays take the (possibly replayed) id of their original. */
	for (int i = 0; i < call->nentries; i++)
	{
		LedgerEntry *e = call->entries[i];

		if (e->original)
			e->id = e->original->id;
	}

	engine_mark_locks(call);
	plan_changes(call);
	map = engine_build_idmap(call);
	engine_lock_accounts(call, map);
	for (int i = 0; i < call->nentries; i++)
	{
		if (!call->entries[i]->replay)
			apply_entry(call, call->entries[i], call->nentries > 1 ? i + 1 : 0);
	}
	engine_write_all(call);
}
