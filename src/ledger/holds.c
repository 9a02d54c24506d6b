/*
 * holds.c
 *	  Two-phase transfers: hold (reserve), post_hold (full or partial),
 *	  void_hold, and expiry.
 *
 * A hold raises the debit account's pending debits and the credit
 * account's pending credits; pending amounts count against overdraft rules.
 * A hold resolves exactly once: the resolution row's primary key (hold_id)
 * is the enforcement, so two sessions racing to post or void the same hold
 * cannot both succeed.
 */
#include "postgres.h"

#include "ledger/amount.h"
#include "ledger/engine.h"
#include "tpwallet.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(tpwallet_hold);
PG_FUNCTION_INFO_V1(tpwallet_post_hold);
PG_FUNCTION_INFO_V1(tpwallet_void_hold);
PG_FUNCTION_INFO_V1(tpwallet_expire_holds);

static SPIPlanPtr insert_hold_plan = NULL;
static SPIPlanPtr read_hold_plan = NULL;
static SPIPlanPtr resolve_plan = NULL;
static SPIPlanPtr expired_plan = NULL;

static void
add_pending(LedgerEntry *e, int acct, int total, Numeric amount)
{
	if (e->npending % 4 == 0)
		e->pending = e->pending ? repalloc(e->pending, sizeof(LedgerPending) * (e->npending + 4))
			: palloc(sizeof(LedgerPending) * 4);
	e->pending[e->npending].acct = acct;
	e->pending[e->npending].total = total;
	e->pending[e->npending].amount = amount;
	e->npending++;
}

Datum
tpwallet_hold(PG_FUNCTION_ARGS)
{
	LedgerCall *call;
	LedgerEntry *e;
	int			d,
				c;
	Numeric		amount;
	char	   *debit,
			   *credit;
	bool		has_expiry = !PG_ARGISNULL(3);
	TimestampTz expires_at = has_expiry ? PG_GETARG_TIMESTAMPTZ(3) : 0;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("debit_account, credit_account and amount must not be null")));
	debit = text_to_cstring(PG_GETARG_TEXT_PP(0));
	credit = text_to_cstring(PG_GETARG_TEXT_PP(1));

	call = ledger_call_begin();
	if (has_expiry && (TIMESTAMP_NOT_FINITE(expires_at) || expires_at <= call->now))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expires_at must be a finite time in the future"),
				 errhint("Leave it NULL for a hold that does not expire.")));
	d = ledger_account(call, debit);
	c = ledger_account(call, credit);
	if (d == c)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("debit and credit account are the same account \"%s\"", debit)));
	if (strcmp(call->accounts[d].asset, call->accounts[c].asset) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_TW_ASSET_MISMATCH),
				 errmsg("accounts \"%s\" and \"%s\" hold different assets", debit, credit)));
	if (strcmp(call->accounts[d].book, call->accounts[c].book) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_TW_BOOK_MISMATCH),
				 errmsg("accounts \"%s\" and \"%s\" are in different books", debit, credit)));
	amount = amount_validate(PG_GETARG_NUMERIC(2), call->accounts[d].decimals,
							 call->accounts[d].asset, "amount");

	e = ledger_new_entry(call, "hold");
	e->writes_journal = false;
	strlcpy(e->idem_kind, "hold", sizeof(e->idem_kind));
	add_pending(e, d, T_DPEND, amount);
	add_pending(e, c, T_CPEND, amount);
	e->idempotency_key = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	e->reference = PG_ARGISNULL(5) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(5));
	e->metadata = PG_ARGISNULL(6) ? NULL : PG_GETARG_JSONB_P(6);
	/* the expiry is part of the request for idempotency */
	e->occurred_given = has_expiry;
	e->occurred_at = expires_at;
	ledger_check_entry(call, e, 0);
	ledger_call_commit(call);

	if (!e->replay)
	{
		Oid			types[10] = {INT8OID, INT8OID, INT8OID, NUMERICOID, TIMESTAMPTZOID,
		TEXTOID, TEXTOID, JSONBOID, TIMESTAMPTZOID, TEXTOID};
		Datum		args[10];
		char		nulls[10] = "          ";

		args[0] = Int64GetDatum(e->id);
		args[1] = Int64GetDatum(call->accounts[d].id);
		args[2] = Int64GetDatum(call->accounts[c].id);
		args[3] = NumericGetDatum(amount);
		args[4] = TimestampTzGetDatum(expires_at);
		nulls[4] = has_expiry ? ' ' : 'n';
		args[5] = e->reference ? CStringGetTextDatum(e->reference) : (Datum) 0;
		nulls[5] = e->reference ? ' ' : 'n';
		args[6] = e->idempotency_key ? CStringGetTextDatum(e->idempotency_key) : (Datum) 0;
		nulls[6] = e->idempotency_key ? ' ' : 'n';
		args[7] = JsonbPGetDatum(e->metadata);
		args[8] = TimestampTzGetDatum(call->now);
		args[9] = CStringGetTextDatum(call->user);
		ledger_plan(&insert_hold_plan,
					"INSERT INTO tpwallet.holds (id, debit_account_id, credit_account_id, amount,"
					" expires_at, reference, idempotency_key, metadata, created_at, created_by)"
					" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
					10, types);
		if (SPI_execute_plan(insert_hold_plan, args, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "hold insert failed");
	}
	ledger_call_end(call);
	PG_RETURN_INT64(e->id);
}

typedef struct HoldRow
{
	int64		id;
	char	   *debit;
	char	   *credit;
	Numeric		amount;
	bool		has_expiry;
	TimestampTz expires_at;
	char	   *reference;
	char	   *resolution;		/* NULL while pending */
} HoldRow;

static HoldRow
read_hold(int64 id)
{
	Oid			types[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(id)};
	HoldRow		h;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;

	ledger_plan(&read_hold_plan,
				"SELECT h.id, d.code, c.code, h.amount, h.expires_at, h.reference, r.resolution"
				"  FROM tpwallet.holds h"
				"  JOIN tpwallet.accounts d ON d.id = h.debit_account_id"
				"  JOIN tpwallet.accounts c ON c.id = h.credit_account_id"
				"  LEFT JOIN tpwallet.hold_resolutions r ON r.hold_id = h.id"
				" WHERE h.id = $1",
				1, types);
	if (SPI_execute_plan(read_hold_plan, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "hold lookup failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("hold %lld does not exist", (long long) id)));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	h.id = id;
	h.debit = SPI_getvalue(tup, desc, 2);
	h.credit = SPI_getvalue(tup, desc, 3);
	h.amount = DatumGetNumeric(SPI_getbinval(tup, desc, 4, &isnull));
	h.expires_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 5, &isnull));
	h.has_expiry = !isnull;
	h.reference = SPI_getvalue(tup, desc, 6);
	h.resolution = SPI_getvalue(tup, desc, 7);
	return h;
}

static void
not_pending(HoldRow *h, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_TW_HOLD_NOT_PENDING),
			 errmsg("hold %lld is not pending", (long long) h->id),
			 errdetail("%s", why),
			 errhint("A hold resolves exactly once: posted, voided or expired.")));
}

/*
 * Claim the hold's single resolution.  The primary key makes a concurrent
 * second claim wait for the first and then find the row.
 */
static bool
claim_resolution(LedgerCall *call, HoldRow *h, const char *resolution, Numeric amount,
				 int64 entry_id)
{
	Oid			types[6] = {INT8OID, TEXTOID, NUMERICOID, INT8OID, TIMESTAMPTZOID, TEXTOID};
	Datum		args[6];
	char		nulls[6] = "      ";

	args[0] = Int64GetDatum(h->id);
	args[1] = CStringGetTextDatum(resolution);
	args[2] = NumericGetDatum(amount);
	args[3] = Int64GetDatum(entry_id);
	nulls[3] = entry_id ? ' ' : 'n';
	args[4] = TimestampTzGetDatum(call->now);
	args[5] = CStringGetTextDatum(call->user);
	ledger_plan(&resolve_plan,
				"INSERT INTO tpwallet.hold_resolutions (hold_id, resolution, amount, entry_id,"
				" resolved_at, resolved_by) VALUES ($1, $2, $3, $4, $5, $6)"
				" ON CONFLICT (hold_id) DO NOTHING",
				6, types);
	if (SPI_execute_plan(resolve_plan, args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "hold resolution failed");
	return SPI_processed == 1;
}

static void
release_pending(LedgerCall *call, LedgerEntry *e, HoldRow *h)
{
	add_pending(e, ledger_account(call, h->debit), T_DPEND, amount_neg(h->amount));
	add_pending(e, ledger_account(call, h->credit), T_CPEND, amount_neg(h->amount));
}

static void
check_resolvable(LedgerCall *call, HoldRow *h)
{
	if (h->resolution)
		not_pending(h, psprintf("It was already %s.", h->resolution));
	if (h->has_expiry && h->expires_at <= call->now)
		not_pending(h, psprintf("It expired at %s.", timestamptz_to_str(h->expires_at)));
}

Datum
tpwallet_post_hold(PG_FUNCTION_ARGS)
{
	LedgerCall *call;
	LedgerEntry *e;
	HoldRow		h;
	Numeric		amount;
	int			d,
				c;

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("hold id must not be null")));
	call = ledger_call_begin();
	h = read_hold(PG_GETARG_INT64(0));
	check_resolvable(call, &h);
	d = ledger_account(call, h.debit);
	c = ledger_account(call, h.credit);
	amount = PG_ARGISNULL(1) ? h.amount
		: amount_validate(PG_GETARG_NUMERIC(1), call->accounts[d].decimals,
						  call->accounts[d].asset, "amount");
	if (amount_cmp(amount, h.amount) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot post %s from hold %lld of %s", amount_text(amount),
						(long long) h.id, amount_text(h.amount)),
				 errhint("Post at most the held amount; hold again for more.")));

	e = ledger_new_entry(call, "hold");
	e->hold_id = h.id;
	e->reference = h.reference;
	e->id = ledger_next_id("journal_id_seq");
	if (!claim_resolution(call, &h, "posted", amount, e->id))
		not_pending(&h, "Another session resolved it first.");
	ledger_add_leg(call, e, d, false, amount, "amount");
	ledger_add_leg(call, e, c, true, amount, "amount");
	release_pending(call, e, &h);
	ledger_check_entry(call, e, 0);
	ledger_call_commit(call);
	ledger_call_end(call);
	PG_RETURN_INT64(e->id);
}

Datum
tpwallet_void_hold(PG_FUNCTION_ARGS)
{
	LedgerCall *call;
	LedgerEntry *e;
	HoldRow		h;

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("hold id must not be null")));
	call = ledger_call_begin();
	h = read_hold(PG_GETARG_INT64(0));
	check_resolvable(call, &h);
	e = ledger_new_entry(call, "hold");
	e->writes_journal = false;
	e->id = h.id;
	if (!claim_resolution(call, &h, "voided", amount_zero(), 0))
		not_pending(&h, "Another session resolved it first.");
	release_pending(call, e, &h);
	ledger_check_entry(call, e, 0);
	ledger_call_commit(call);
	ledger_call_end(call);
	PG_RETURN_VOID();
}

/* Release every hold whose expiry has passed; returns how many. */
Datum
tpwallet_expire_holds(PG_FUNCTION_ARGS)
{
	LedgerCall *call = ledger_call_begin();
	Oid			types[1] = {TIMESTAMPTZOID};
	Datum		args[1] = {TimestampTzGetDatum(call->now)};
	SPITupleTable *rows;
	uint64		n;

	ledger_plan(&expired_plan,
				"SELECT h.id FROM tpwallet.holds h"
				" WHERE h.expires_at <= $1"
				"   AND NOT EXISTS (SELECT 1 FROM tpwallet.hold_resolutions r WHERE r.hold_id = h.id)"
				" ORDER BY h.id LIMIT 10000",
				1, types);
	if (SPI_execute_plan(expired_plan, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "expired hold lookup failed");
	rows = SPI_tuptable;
	n = SPI_processed;
	for (uint64 r = 0; r < n; r++)
	{
		bool		isnull;
		HoldRow		h = read_hold(DatumGetInt64(SPI_getbinval(rows->vals[r], rows->tupdesc, 1, &isnull)));
		LedgerEntry *e;

		if (h.resolution)
			continue;
		/* resolved meanwhile by another session: nothing to release */
		if (!claim_resolution(call, &h, "expired", amount_zero(), 0))
			continue;
		e = ledger_new_entry(call, "hold");
		e->writes_journal = false;
		e->id = h.id;
		release_pending(call, e, &h);
		ledger_check_entry(call, e, 0);
	}
	if (call->nentries > 0)
		ledger_call_commit(call);
	ledger_call_end(call);
	PG_RETURN_INT64((int64) call->nentries);
}
