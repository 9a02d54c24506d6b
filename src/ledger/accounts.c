/*
 * accounts.c
 *	  Per-backend cache of immutable account attributes.
 *
 * An account's id, book, asset, normal side and overdraft flag never change
 * after it is created, so a backend may remember them: a transfer then needs
 * no lookup query.  What can change (status, totals) is always read under a
 * row lock by the engine.  An account created by the still-open transaction
 * is cached provisionally: if that transaction or a subtransaction aborts,
 * the whole cache is dropped.  The cache follows the accounts table's OID,
 * so DROP/CREATE EXTENSION resets it too.
 */
#include "postgres.h"

#include "ledger/accounts.h"
#include "ledger/engine.h"
#include "tpwallet.h"

#include "access/transam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#define ACCOUNT_CODE_KEYLEN 201
/* about 300 bytes an entry: at most some 15 MB per session */
#ifndef MAX_CACHED_ACCOUNTS
#define MAX_CACHED_ACCOUNTS 50000
#endif

typedef struct CacheEntry
{
	char		code[ACCOUNT_CODE_KEYLEN];
	AccountInfo info;
} CacheEntry;

static HTAB *account_cache = NULL;
static Oid	account_cache_relid = InvalidOid;
static bool has_provisional = false;
static bool callbacks_registered = false;
static SPIPlanPtr lookup_plan = NULL;

void
account_cache_reset(void)
{
	if (account_cache)
		hash_destroy(account_cache);
	account_cache = NULL;
	has_provisional = false;
}

static void
xact_callback(XactEvent event, void *arg)
{
	if (!has_provisional)
		return;
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		account_cache_reset();
	else if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
			 event == XACT_EVENT_PREPARE)
		has_provisional = false;
}

static void
subxact_callback(SubXactEvent event, SubTransactionId mySubid,
				 SubTransactionId parentSubid, void *arg)
{
	if (has_provisional && event == SUBXACT_EVENT_ABORT_SUB)
		account_cache_reset();
}

/*
 * Called once per engine call: drop the cache if the accounts table is not
 * the one it was filled from (the extension was dropped and created again).
 */
void
account_cache_validate(void)
{
	Oid			relid = tpw_relid("accounts");

	if (!callbacks_registered)
	{
		RegisterXactCallback(xact_callback, NULL);
		RegisterSubXactCallback(subxact_callback, NULL);
		callbacks_registered = true;
	}
	if (account_cache && relid != account_cache_relid)
		account_cache_reset();
	if (account_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = ACCOUNT_CODE_KEYLEN;
		ctl.entrysize = sizeof(CacheEntry);
		ctl.hcxt = CacheMemoryContext;
		account_cache = hash_create("tpwallet account cache", 1024, &ctl,
									HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
		account_cache_relid = relid;
	}
}

static void
cache_row(HeapTuple tup, TupleDesc desc)
{
	bool		isnull;
	char	   *code = TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull));
	TransactionId xmin = DatumGetTransactionId(SPI_getbinval(tup, desc, 8, &isnull));
	CacheEntry *ce = hash_search(account_cache, code, HASH_ENTER, NULL);
	AccountInfo *info = &ce->info;

	info->id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
	strlcpy(info->book, TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull)),
			sizeof(info->book));
	strlcpy(info->asset, TextDatumGetCString(SPI_getbinval(tup, desc, 4, &isnull)),
			sizeof(info->asset));
	info->decimals = DatumGetInt32(SPI_getbinval(tup, desc, 5, &isnull));
	info->debit_normal = DatumGetBool(SPI_getbinval(tup, desc, 6, &isnull));
	info->allow_negative = DatumGetBool(SPI_getbinval(tup, desc, 7, &isnull));
	if (TransactionIdIsCurrentTransactionId(xmin))
		has_provisional = true;
}

void
account_prefetch(char **codes, int ncodes)
{
	Datum	   *elems;
	int			nmissing = 0;
	Oid			argtypes[1] = {TEXTARRAYOID};
	Datum		args[1];

	if (account_cache == NULL)
		account_cache_validate();
	/* a bound on the memory: a session that touched very many accounts starts over */
	if (hash_get_num_entries(account_cache) + ncodes > MAX_CACHED_ACCOUNTS)
	{
		account_cache_reset();
		account_cache_validate();
	}
	elems = palloc(sizeof(Datum) * Max(ncodes, 1));
	for (int i = 0; i < ncodes; i++)
	{
		if (strlen(codes[i]) >= ACCOUNT_CODE_KEYLEN)
			continue;			/* cannot exist: codes are at most 200 bytes */
		if (!hash_search(account_cache, codes[i], HASH_FIND, NULL))
			elems[nmissing++] = CStringGetTextDatum(codes[i]);
	}
	if (nmissing == 0)
		return;

	args[0] = PointerGetDatum(construct_array(elems, nmissing, TEXTOID, -1, false,
											  TYPALIGN_INT));
	ledger_plan(&lookup_plan,
				"SELECT a.code, a.id, a.book, a.asset, s.decimals, a.normal_side = 'debit',"
				"       a.allow_negative, a.xmin"
				"  FROM tpwallet.accounts a JOIN tpwallet.assets s ON s.code = a.asset"
				" WHERE a.code = ANY ($1)",
				1, argtypes);
	if (SPI_execute_plan(lookup_plan, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "account lookup failed");
	for (uint64 r = 0; r < SPI_processed; r++)
		cache_row(SPI_tuptable->vals[r], SPI_tuptable->tupdesc);
}

const AccountInfo *
account_info(const char *code)
{
	CacheEntry *ce = NULL;

	if (account_cache == NULL)
		account_cache_validate();
	if (strlen(code) < ACCOUNT_CODE_KEYLEN)
	{
		ce = hash_search(account_cache, code, HASH_FIND, NULL);
		if (ce == NULL)
		{
			char	   *one[1] = {(char *) code};

			account_prefetch(one, 1);
			ce = hash_search(account_cache, code, HASH_FIND, NULL);
		}
	}
	if (ce == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("account \"%s\" does not exist", code),
				 errhint("Create it first with tpwallet.create_account().")));
	return &ce->info;
}
