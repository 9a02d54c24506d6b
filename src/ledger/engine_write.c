/*
 * engine_write.c
 *	  The posting engine's writes, once every check has passed: journal rows
 *	  with their entry hash, postings, the new totals of row-locked accounts
 *	  and deltas for busy ones.  Step 4 of engine.h.
 */
#include "postgres.h"

#include "ledger/engine_internal.h"
#include "crypto/crypto_pg.h"
#include "ledger/amount.h"
#include "ledger/write.h"

#include "utils/builtins.h"
#include "utils/jsonb.h"

/* ---------- an account's new totals ---------- */

const char *const engine_total_columns[] = {"debits_posted", "credits_posted",
"debits_pending", "credits_pending"};

/* What the call adds to total t of the row: its changes and the deltas it folded. */
static Numeric
row_delta(LedgerAccount *a, int t)
{
	Numeric		v = a->change[t] ? a->change[t] : amount_zero();

	return a->folded[t] ? amount_add(v, a->folded[t]) : v;
}

bool
engine_row_changes(LedgerAccount *a)
{
	for (int t = 0; t < 4; t++)
		if (!amount_is_zero(row_delta(a, t)))
			return true;
	return false;
}

/* Total t of the row after the call, checked as the table's CHECK (... >= 0) would. */
Numeric
engine_checked_total(LedgerAccount *a, int t, Numeric current)
{
	Numeric		total = amount_add(current, row_delta(a, t));

	/* the CHECK (... >= 0) of the table, which direct writes do not run */
	if (amount_cmp(total, amount_zero()) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("total %s of account \"%s\" would become negative", engine_total_columns[t], a->code),
				 errdetail("Totals are sums of non-negative amounts; %s is not.", amount_text(total))));
	return total;
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
		v[t] = NumericGetDatum(engine_checked_total(a, t, DatumGetNumeric(v[t])));
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

void
engine_write_all(LedgerCall *call)
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

		if (a->updated || !engine_row_changes(a))
			continue;
		if (a->locked)
		{
			if (accounts == NULL)
				accounts = writer_open("accounts", lengthof(engine_total_columns), engine_total_columns);
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
