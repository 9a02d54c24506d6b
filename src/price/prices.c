/*
 * prices.c
 *	  The latest aggregate of every price pair in shared memory, so that
 *	  tpwallet.price() touches no table; publication at commit.
 *
 * Aggregation (SQL, tpwallet._aggregate) calls _publish_price inside its
 * transaction; the entry is copied into shared memory only when that
 * transaction commits (an XactCallback), so a rolled-back aggregate is
 * never served, and before its NOTIFY reaches listeners (AtCommit_Notify
 * runs after the commit callbacks).  Readers take the lock in shared mode
 * and copy the entry out.  Without shared_preload_libraries there is no
 * shared memory: price() then reads the newest row of price_aggregates.
 *
 * Numerics are kept as their varlena bytes (the form PG_GETARG_NUMERIC
 * gives), which price() copies back out without parsing.
 */
#include "postgres.h"

#include "price/prices.h"
#include "tpwallet.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#define CODE_LEN	33			/* 32 characters and a NUL */
#define NUMERIC_MAX 64			/* varlena bytes of one stored numeric */

typedef struct StoredNumeric
{
	uint16		len;			/* 0: NULL (or too long to keep) */
	char		bytes[NUMERIC_MAX];
} StoredNumeric;

typedef struct PriceEntry
{
	bool		used;
	Oid			database;		/* entries are per database ... */
	Oid			extension;		/* ... and per CREATE EXTENSION (a dropped one's never match) */
	char		base[CODE_LEN];
	char		quote[CODE_LEN];
	StoredNumeric price;
	StoredNumeric confidence;
	StoredNumeric twap;
	int			sources_used;
	char		status[12];
	float8		volatility;
	bool		observed_null;
	TimestampTz observed_at;
	TimestampTz computed_at;
	char		via[CODE_LEN];
	int64		stale_after_us;
} PriceEntry;

typedef struct PriceShared
{
	LWLock	   *lock;
	pg_atomic_uint32 sources_version;
	Latch	   *feed_latch;		/* the feed worker's, when it runs */
	int			capacity;
	PriceEntry	entries[FLEXIBLE_ARRAY_MEMBER];
} PriceShared;

int			tpwallet_max_price_pairs = 256;
char	   *tpwallet_reporting_currency = NULL;

static PriceShared *shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* entries published by the current transaction, copied in at commit */
static List *pending = NIL;
static bool sources_changed_pending = false;
static bool callback_registered = false;

static Size
shared_size(void)
{
	return add_size(offsetof(PriceShared, entries),
					mul_size(sizeof(PriceEntry), tpwallet_max_price_pairs));
}

static void
prices_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(shared_size());
	RequestNamedLWLockTranche("tpwallet_prices", 1);
}

static void
prices_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("tpwallet prices", shared_size(), &found);
	if (!found)
	{
		memset(shared, 0, shared_size());
		shared->lock = &(GetNamedLWLockTranche("tpwallet_prices"))->lock;
		pg_atomic_init_u32(&shared->sources_version, 1);
		shared->capacity = tpwallet_max_price_pairs;
	}
	LWLockRelease(AddinShmemInitLock);
}

void
tpw_prices_define_gucs(void)
{
	DefineCustomIntVariable("tpwallet.max_price_pairs",
							"Price pairs kept in shared memory.",
							"Pairs beyond this are served from the price_aggregates table.",
							&tpwallet_max_price_pairs, 256, 1, 100000,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("tpwallet.reporting_currency",
							   "Currency of tpwallet.valuations and tpwallet.portfolios.",
							   NULL,
							   &tpwallet_reporting_currency, "USD", PGC_USERSET, 0,
							   NULL, NULL, NULL);
}

void
tpw_prices_shmem_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = prices_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = prices_shmem_startup;
}

/* ---------------------------------------------------------------- entries */

static void
store_numeric(StoredNumeric *dst, bool isnull, Datum d)
{
	Numeric		n;

	dst->len = 0;
	if (isnull)
		return;
	n = DatumGetNumeric(d);
	if (VARSIZE(n) <= NUMERIC_MAX)
	{
		dst->len = VARSIZE(n);
		memcpy(dst->bytes, n, VARSIZE(n));
	}
}

static Datum
load_numeric(const StoredNumeric *src, bool *isnull)
{
	Numeric		n;

	*isnull = (src->len == 0);
	if (*isnull)
		return (Datum) 0;
	n = palloc(src->len);
	memcpy(n, src->bytes, src->len);
	return NumericGetDatum(n);
}

/*
 * This database's tpwallet extension.  Readers use a cached OID (a catalog
 * lookup per price() call would cost more than the read); when it finds
 * nothing they refresh it once, so a dropped and re-created extension is
 * seen by long-lived backends too.  Publishers always look it up.
 */
static Oid	cached_extension = InvalidOid;

static Oid
current_extension(void)
{
	if (!OidIsValid(cached_extension))
		cached_extension = get_extension_oid("tpwallet", true);
	return cached_extension;
}

static bool
refresh_extension(void)
{
	Oid			fresh = get_extension_oid("tpwallet", true);
	bool		changed = fresh != cached_extension;

	cached_extension = fresh;
	return changed;
}

static PriceEntry *
find_entry(Oid database, Oid extension, const char *base, const char *quote)
{
	for (int i = 0; i < shared->capacity; i++)
	{
		PriceEntry *e = &shared->entries[i];

		if (!e->used)
			return NULL;		/* entries fill from the front and are never removed */
		if (e->database == database && e->extension == extension &&
			strcmp(e->base, base) == 0 && strcmp(e->quote, quote) == 0)
			return e;
	}
	return NULL;
}

static void
publish_pending(XactEvent event, void *arg)
{
	ListCell   *lc;

	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT)
	{
		/* the feed worker reloads once the change is visible to it */
		if (shared != NULL && sources_changed_pending)
		{
			pg_atomic_fetch_add_u32(&shared->sources_version, 1);
			if (shared->feed_latch != NULL)
				SetLatch(shared->feed_latch);
		}
		sources_changed_pending = false;
		if (shared != NULL && pending != NIL)
		{
			LWLockAcquire(shared->lock, LW_EXCLUSIVE);
			foreach(lc, pending)
			{
				PriceEntry *src = (PriceEntry *) lfirst(lc);
				PriceEntry *dst = find_entry(src->database, src->extension, src->base, src->quote);

				if (dst == NULL)
				{
					for (int i = 0; i < shared->capacity && dst == NULL; i++)
						if (!shared->entries[i].used)
							dst = &shared->entries[i];
				}
				/* a full table: the pair is served from price_aggregates */
				if (dst != NULL)
					*dst = *src;
			}
			LWLockRelease(shared->lock);
		}
		pending = NIL;
	}
	else if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
	{
		pending = NIL;
		sources_changed_pending = false;
	}
}

static void
register_callback(void)
{
	if (!callback_registered)
	{
		RegisterXactCallback(publish_pending, NULL);
		callback_registered = true;
	}
}

static void
copy_code(char *dst, text *src, const char *what)
{
	char	   *s = text_to_cstring(src);

	if (strlen(s) >= CODE_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s code \"%s\" is longer than %d characters", what, s, CODE_LEN - 1)));
	strlcpy(dst, s, CODE_LEN);
}

PG_FUNCTION_INFO_V1(tpwallet_publish_price);

Datum
tpwallet_publish_price(PG_FUNCTION_ARGS)
{
	PriceEntry *e;
	MemoryContext old;

	if (shared == NULL || PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_VOID();
	register_callback();
	refresh_extension();
	old = MemoryContextSwitchTo(TopTransactionContext);
	e = palloc0(sizeof(PriceEntry));
	e->used = true;
	e->database = MyDatabaseId;
	e->extension = current_extension();
	copy_code(e->base, PG_GETARG_TEXT_PP(0), "base");
	copy_code(e->quote, PG_GETARG_TEXT_PP(1), "quote");
	store_numeric(&e->price, PG_ARGISNULL(2), PG_GETARG_DATUM(2));
	store_numeric(&e->confidence, PG_ARGISNULL(3), PG_GETARG_DATUM(3));
	e->sources_used = PG_ARGISNULL(4) ? 0 : PG_GETARG_INT32(4);
	if (!PG_ARGISNULL(5))
		strlcpy(e->status, text_to_cstring(PG_GETARG_TEXT_PP(5)), sizeof(e->status));
	store_numeric(&e->twap, PG_ARGISNULL(6), PG_GETARG_DATUM(6));
	e->volatility = PG_ARGISNULL(7) ? 0 : PG_GETARG_FLOAT8(7);
	e->observed_null = PG_ARGISNULL(8);
	e->observed_at = e->observed_null ? 0 : PG_GETARG_TIMESTAMPTZ(8);
	e->computed_at = PG_ARGISNULL(9) ? GetCurrentTimestamp() : PG_GETARG_TIMESTAMPTZ(9);
	if (!PG_ARGISNULL(10))
		copy_code(e->via, PG_GETARG_TEXT_PP(10), "via");
	if (!PG_ARGISNULL(11))
	{
		Interval   *iv = PG_GETARG_INTERVAL_P(11);

		e->stale_after_us = iv->time + (int64) iv->day * USECS_PER_DAY +
			(int64) iv->month * DAYS_PER_MONTH * USECS_PER_DAY;
	}
	/* the same pair twice in one transaction: the later aggregate wins */
	pending = lappend(pending, e);
	MemoryContextSwitchTo(old);
	PG_RETURN_VOID();
}

static Datum
interval_from_us(int64 us)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = us;
	return IntervalPGetDatum(iv);
}

PG_FUNCTION_INFO_V1(tpwallet_shm_prices);

Datum
tpwallet_shm_prices(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PriceEntry *copy;
	int			n = 0;

	InitMaterializedSRF(fcinfo, 0);
	if (shared == NULL)
		return (Datum) 0;
	copy = palloc(sizeof(PriceEntry) * shared->capacity);
	refresh_extension();
	LWLockAcquire(shared->lock, LW_SHARED);
	for (int i = 0; i < shared->capacity && shared->entries[i].used; i++)
	{
		if (shared->entries[i].database == MyDatabaseId &&
			shared->entries[i].extension == current_extension())
			copy[n++] = shared->entries[i];
	}
	LWLockRelease(shared->lock);
	for (int i = 0; i < n; i++)
	{
		PriceEntry *e = &copy[i];
		Datum		v[12];
		bool		nulls[12] = {0};

		v[0] = CStringGetTextDatum(e->base);
		v[1] = CStringGetTextDatum(e->quote);
		v[2] = load_numeric(&e->price, &nulls[2]);
		v[3] = load_numeric(&e->confidence, &nulls[3]);
		v[4] = Int32GetDatum(e->sources_used);
		v[5] = CStringGetTextDatum(e->status);
		v[6] = load_numeric(&e->twap, &nulls[6]);
		v[7] = Float8GetDatum(e->volatility);
		v[8] = TimestampTzGetDatum(e->observed_at);
		nulls[8] = e->observed_null;
		v[9] = TimestampTzGetDatum(e->computed_at);
		v[10] = CStringGetTextDatum(e->via);
		nulls[10] = (e->via[0] == '\0');
		v[11] = interval_from_us(e->stale_after_us);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(tpwallet_sources_changed);

Datum
tpwallet_sources_changed(PG_FUNCTION_ARGS)
{
	/* at commit: before it, the worker would reload and not see the change */
	if (shared != NULL)
	{
		register_callback();
		sources_changed_pending = true;
	}
	PG_RETURN_VOID();
}

uint32
tpw_prices_sources_version(void)
{
	return shared ? pg_atomic_read_u32(&shared->sources_version) : 0;
}

void
tpw_prices_set_feed_latch(Latch *latch)
{
	if (shared != NULL)
		shared->feed_latch = latch;
}

/* ---------------------------------------------------------------- price() */

/* The newest served price from the table, for pairs not in shared memory. */
static Datum
price_from_table(text *base, text *quote, bool *found, bool *isnull)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		args[2] = {PointerGetDatum(base), PointerGetDatum(quote)};
	Datum		result = (Datum) 0;

	*found = false;
	*isnull = true;
	SPI_connect();
	if (SPI_execute_with_args("SELECT price FROM tpwallet.price_aggregates WHERE base = $1 AND quote = $2"
							  " ORDER BY computed_at DESC LIMIT 1", 2, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "price lookup failed");
	if (SPI_processed > 0)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);

		*found = true;
		if (!*isnull)
			result = SPI_datumTransfer(d, false, -1);
	}
	SPI_finish();
	return result;
}

PG_FUNCTION_INFO_V1(tpwallet_price);

Datum
tpwallet_price(PG_FUNCTION_ARGS)
{
	text	   *base = PG_GETARG_TEXT_PP(0);
	text	   *quote = PG_GETARG_TEXT_PP(1);
	bool		found = false;
	bool		isnull = true;
	Datum		result = (Datum) 0;

	if (shared != NULL)
	{
		char		b[CODE_LEN],
					q[CODE_LEN];
		StoredNumeric price;
		PriceEntry *e;

		text_to_cstring_buffer(base, b, sizeof(b));
		text_to_cstring_buffer(quote, q, sizeof(q));
		for (int attempt = 0; attempt < 2 && !found; attempt++)
		{
			/* a miss may be a stale extension OID: refresh it once and look again */
			if (attempt == 1 && !refresh_extension())
				break;
			LWLockAcquire(shared->lock, LW_SHARED);
			e = find_entry(MyDatabaseId, current_extension(), b, q);
			if (e != NULL)
			{
				found = true;
				price = e->price;
			}
			LWLockRelease(shared->lock);
		}
		if (found)
			result = load_numeric(&price, &isnull);
	}
	if (!found)
		result = price_from_table(base, quote, &found, &isnull);
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("no price for %s/%s", text_to_cstring(base), text_to_cstring(quote)),
				 errhint("Add a source for the pair with tpwallet.add_price_source(), or record a tick.")));
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}
