/*
 * engine_keys.c
 *	  The posting engine's idempotency keys: a key repeated inside one call
 *	  replays its first use; every other key is claimed in the idempotency
 *	  table, where a key already there replays its result or is refused.
 */
#include "postgres.h"

#include "ledger/engine_internal.h"
#include "crypto/crypto_pg.h"
#include "ledger/write.h"
#include "tpwallet.h"

#include "utils/builtins.h"
#include "utils/hsearch.h"

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
void
engine_dedupe_keys_in_call(LedgerCall *call)
{
	HASHCTL		ctl;
	HTAB	   *seen;
	int			nkeyed = 0;

	/* a single transfer or entry: no table to build (2 k instructions of a transfer) */
	for (int i = 0; i < call->nentries && nkeyed < 2; i++)
		nkeyed += call->entries[i]->idempotency_key != NULL;
	if (nkeyed < 2)
		return;
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
void
engine_claim_keys(LedgerCall *call)
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
