/*
 * feed_worker.c
 *	  The price feed background worker: polls every enabled price source
 *	  over HTTP(S) with libcurl's multi interface, all sources at once, and
 *	  hands each answer to tpwallet._ingest in its own short transaction.
 *
 * The worker only moves bytes.  What to fetch comes from SQL
 * (tpwallet._poll_request, read with the source list: it depends on the
 * source's row only), and parsing, ticks, source errors and aggregation are
 * SQL too (tpwallet._ingest); see src/sql/70_prices.sql.
 * Transfers run concurrently and no network wait ever happens inside a
 * transaction, so a slow or dead source delays neither the other sources
 * nor anybody's locks.
 *
 * Scheduling: a source is due at its next_poll; at most one transfer per
 * source is in flight.  After a success the next poll is poll_interval
 * later; after a failure (transport error, HTTP error, or _ingest saying
 * the answer held no price) it backs off: poll_interval x 2^failures, at
 * most 60 s.  Every second tpwallet.refresh_prices() marks pairs whose
 * sources went silent as stale.
 *
 * Shaped like the sealer (worker.c): registered from _PG_init, connects to
 * tpwallet.database, reloads its configuration on SIGHUP, exits on SIGTERM,
 * is restarted by the postmaster after a crash, and does nothing while the
 * extension is absent.
 */
#include "postgres.h"

#include <curl/curl.h>

#include "price/prices.h"
#include "tpwallet.h"

#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/pmsignal.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#define FEED_MAX_BODY		(1024 * 1024)	/* bytes of one answer; more aborts it */
#define FEED_BUSY_WAIT_MS	50	/* longest wait on sockets before looking at the latch */
#define FEED_IDLE_WAIT_MS	1000	/* longest sleep with nothing in flight */
#define FEED_RELOAD_MS		30000	/* reload the sources this often anyway */
#define FEED_RECHECK_MS		20	/* first re-reload while a change may be uncommitted */
#define FEED_RECHECK_MAX_MS 250 /* ... doubling up to this */
#define FEED_REFRESH_MS		1000	/* tpwallet.refresh_prices() */
#define FEED_MAX_BACKOFF_MS 60000
#define FEED_USER_AGENT		"tpwallet/0.1"

typedef struct FeedTransfer
{
	CURL	   *easy;
	int			source_id;
	/* malloc'd, not palloc'd: it grows inside libcurl, where ereport must never run */
	char	   *buf;
	size_t		len;
	size_t		cap;
	bool		too_large;
	bool		out_of_memory;
	char		errbuf[CURL_ERROR_SIZE];
} FeedTransfer;

typedef struct FeedSource
{
	int			id;
	char	   *name;
	char	   *url;
	char	   *body;			/* a JSON-RPC request to POST, or NULL: GET */
	int64		interval_ms;
	int64		timeout_ms;
	TimestampTz next_poll;
	int			failures;		/* consecutive, for the back-off */
	FeedTransfer *transfer;		/* the one in flight, or NULL */
} FeedSource;

/* One poll's outcome, for the ingest step. */
typedef struct FeedAnswer
{
	int			source_id;
	long		http_status;	/* 0: no HTTP answer */
	const char *body;
	size_t		body_len;
	const char *error;			/* transport error, or NULL */
	char		error_buf[CURL_ERROR_SIZE + 64];
	bool		ingested;		/* out: _ingest recorded a tick */
} FeedAnswer;

/* The source list with its own memory context, replaced whole on reload. */
typedef struct FeedList
{
	MemoryContext cxt;
	FeedSource *sources;
	int			n;
} FeedList;

typedef tpw_step_fn FeedStep;

PGDLLEXPORT void tpwallet_price_feed_main(Datum arg);

static CURLM *multi = NULL;
static struct curl_slist *post_headers = NULL;
static MemoryContext feed_cxt = NULL;	/* transfers (they outlive source lists) */
static FeedList list = {NULL, NULL, 0};
static int	in_flight = 0;

static SPIPlanPtr ingest_plan = NULL;
static SPIPlanPtr refresh_plan = NULL;
static SPIPlanPtr sources_plan = NULL;

/*
 * tpwallet's OID in our database as of the last reload; the one our SQL
 * steps have run under; and whether a step saw it change since.
 */
static Oid	extension_oid = InvalidOid;
static Oid	served_extension = InvalidOid;
static bool extension_changed = false;

static uint32 loaded_version = 0;
static TimestampTz next_reload = 0;
static TimestampTz next_refresh = 0;
/* a source change was seen: reload until no transaction older than this runs */
static TransactionId awaited_xid = InvalidTransactionId;
static TimestampTz awaited_until = 0;
static int	recheck_ms = FEED_RECHECK_MS;

void
tpw_price_register_worker(void)
{
	tpw_register_worker("tpwallet_price_feed_main", "tpwallet price feeds");
}

/* ---------------------------------------------------------------- transactions */

static bool
run_step(const char *what, FeedStep step, void *arg)
{
	return tpw_run_step("tpwallet price feeds", what, step, arg);
}

/* A plan prepared once and kept for the process's life (plancache revalidates it). */
static SPIPlanPtr
keep_plan(SPIPlanPtr *plan, const char *sql, int nargs, Oid *types)
{
	if (*plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(sql, nargs, types);

		if (p == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "SPI_keepplan failed");
		*plan = p;
	}
	return *plan;
}

/*
 * Is the extension the one the source list was loaded under?  If it was
 * dropped or re-created since, the step is skipped and the list reloaded.
 */
static bool
extension_is_current(void)
{
	if (!OidIsValid(extension_oid) || !tpw_lock_extension(extension_oid))
	{
		extension_changed = true;
		return false;
	}
	served_extension = extension_oid;
	return true;
}

/* ---------------------------------------------------------------- sources */

static char *
copy_value(MemoryContext cxt, HeapTuple tuple, TupleDesc desc, int col)
{
	char	   *v = SPI_getvalue(tuple, desc, col);

	return v ? MemoryContextStrdup(cxt, v) : NULL;
}

static void
load_sources_step(void *arg)
{
	FeedList   *fresh = (FeedList *) arg;
	Snapshot	snap = GetActiveSnapshot();

	/* every transaction that was running when the change was seen is over */
	if (TransactionIdIsValid(awaited_xid) &&
		TransactionIdFollowsOrEquals(snap->xmin, awaited_xid))
		awaited_xid = InvalidTransactionId;

	extension_oid = get_extension_oid("tpwallet", true);
	if (OidIsValid(extension_oid) && !tpw_lock_extension(extension_oid))
		extension_oid = InvalidOid; /* dropped while we waited */
	if (!OidIsValid(extension_oid))
		return;
	if (OidIsValid(served_extension) && served_extension != extension_oid)
		return;					/* re-created: the caller restarts the worker */

	if (SPI_execute_plan(keep_plan(&sources_plan,
								   "SELECT f.source_id, f.name, f.poll_interval_ms, f.timeout_ms, r.url, r.body"
								   "  FROM tpwallet._feed_sources() f"
								   " CROSS JOIN LATERAL tpwallet._poll_request(f.source_id) r",
								   0, NULL),
						 NULL, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading the price sources failed");

	fresh->sources = MemoryContextAllocZero(fresh->cxt, sizeof(FeedSource) * Max(SPI_processed, 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		FeedSource *s = &fresh->sources[fresh->n];
		bool		isnull;

		s->id = DatumGetInt32(SPI_getbinval(tuple, desc, 1, &isnull));
		s->name = copy_value(fresh->cxt, tuple, desc, 2);
		s->interval_ms = Max(DatumGetInt64(SPI_getbinval(tuple, desc, 3, &isnull)), 1);
		/* 0 would mean "no timeout" to libcurl */
		s->timeout_ms = Max(DatumGetInt64(SPI_getbinval(tuple, desc, 4, &isnull)), 1);
		s->url = copy_value(fresh->cxt, tuple, desc, 5);
		s->body = copy_value(fresh->cxt, tuple, desc, 6);
		if (s->url == NULL)
			continue;			/* nothing to fetch (add_price_source refuses this) */
		fresh->n++;
	}
}

static FeedSource *
find_source(FeedList *l, int id)
{
	for (int i = 0; i < l->n; i++)
		if (l->sources[i].id == id)
			return &l->sources[i];
	return NULL;
}

static void abort_transfer(FeedTransfer *t);

/*
 * Install a freshly loaded list: sources that stay keep their schedule,
 * back-off and transfer in flight; new ones are due now; the transfers of
 * sources that went away are aborted.
 */
static void
install_sources(FeedList *fresh, TimestampTz now)
{
	for (int i = 0; i < fresh->n; i++)
	{
		FeedSource *s = &fresh->sources[i];
		FeedSource *old = find_source(&list, s->id);

		s->next_poll = now;
		if (old != NULL)
		{
			s->next_poll = old->next_poll;
			s->failures = old->failures;
			s->transfer = old->transfer;
			old->transfer = NULL;
		}
	}
	for (int i = 0; i < list.n; i++)
		if (list.sources[i].transfer != NULL)
			abort_transfer(list.sources[i].transfer);
	if (list.cxt != NULL)
		MemoryContextDelete(list.cxt);
	list = *fresh;
}

static void
reload_sources(TimestampTz now)
{
	FeedList	fresh = {NULL, NULL, 0};
	uint32		version = tpw_prices_sources_version();

	fresh.cxt = AllocSetContextCreate(feed_cxt, "tpwallet feed sources", ALLOCSET_SMALL_SIZES);
	extension_changed = false;
	loaded_version = version;
	if (!run_step("load price sources", load_sources_step, &fresh))
	{
		/* keep polling the old list; try again in a second, not at once */
		MemoryContextDelete(fresh.cxt);
		next_reload = TimestampTzPlusMilliseconds(now, FEED_IDLE_WAIT_MS);
		return;
	}
	if (OidIsValid(extension_oid) && OidIsValid(served_extension) && served_extension != extension_oid)
	{
		/*
		 * prices.c caches the extension's OID for the life of a process, so
		 * what this process published would be filed under the dropped
		 * extension.  A new process starts clean.
		 */
		ereport(LOG,
				(errmsg("tpwallet price feeds: the extension was re-created, restarting")));
		proc_exit(1);
	}
	install_sources(&fresh, now);
	if (!OidIsValid(extension_oid))
		next_reload = TimestampTzPlusMilliseconds(now, FEED_IDLE_WAIT_MS);
	else if (TransactionIdIsValid(awaited_xid) && now < awaited_until)
	{
		next_reload = TimestampTzPlusMilliseconds(now, recheck_ms);
		recheck_ms = Min(recheck_ms * 2, FEED_RECHECK_MAX_MS);
	}
	else
	{
		awaited_xid = InvalidTransactionId;
		next_reload = TimestampTzPlusMilliseconds(now, FEED_RELOAD_MS);
	}
}

/*
 * Reload when the sources changed, when a step saw the extension change,
 * and every FEED_RELOAD_MS anyway (a source row changed by hand).
 *
 * _sources_changed() bumps the version inside the changing transaction,
 * before it commits, and the latch wakes us at once: a reload then may not
 * see the change yet.  So after a bump we reload again (after 20, 40, 80 ...
 * ms, at most 250 ms apart) until no transaction that was running at the
 * bump is left: the reload's snapshot xmin has passed the next xid we saw
 * then.  An unrelated long transaction costs a few small reloads a second,
 * for at most FEED_RELOAD_MS.
 */
static bool
reload_due(TimestampTz now)
{
	if (tpw_prices_sources_version() != loaded_version)
	{
		awaited_xid = ReadNextTransactionId();
		awaited_until = TimestampTzPlusMilliseconds(now, FEED_RELOAD_MS);
		recheck_ms = FEED_RECHECK_MS;
		return true;
	}
	return extension_changed || now >= next_reload;
}

/* ---------------------------------------------------------------- transfers */

/* libcurl's write callback: keep the answer, up to FEED_MAX_BODY bytes. */
static size_t
collect_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	FeedTransfer *t = (FeedTransfer *) userdata;
	size_t		n = size * nmemb;

	if (n > FEED_MAX_BODY - t->len)
	{
		t->too_large = true;
		return 0;				/* aborts the transfer */
	}
	if (t->len + n + 1 > t->cap)
	{
		size_t		cap = Min(Max(t->cap * 2, t->len + n + 1), FEED_MAX_BODY + 1);
		char	   *buf = realloc(t->buf, cap);

		if (buf == NULL)
		{
			t->out_of_memory = true;
			return 0;
		}
		t->buf = buf;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, data, n);
	t->len += n;
	t->buf[t->len] = '\0';
	return n;
}

static CURLcode
setup_easy(CURL *easy, FeedSource *s, FeedTransfer *t)
{
	CURLcode	rc = CURLE_OK;

#define SET(option, value) \
	do { if (rc == CURLE_OK) rc = curl_easy_setopt(easy, option, value); } while (0)

	SET(CURLOPT_URL, s->url);
	/* a source is a web API or a node: no file://, no redirect elsewhere */
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	/* libcurl must not use signals (SIGALRM for DNS timeouts) in a backend */
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_TIMEOUT_MS, (long) s->timeout_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long) s->timeout_ms);
	/* refused up front when the server announces a larger answer */
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) FEED_MAX_BODY);
	SET(CURLOPT_USERAGENT, FEED_USER_AGENT);
	SET(CURLOPT_WRITEFUNCTION, collect_body);
	SET(CURLOPT_WRITEDATA, t);
	SET(CURLOPT_ERRORBUFFER, t->errbuf);
	SET(CURLOPT_PRIVATE, t);
	if (s->body != NULL)
	{
		SET(CURLOPT_HTTPHEADER, post_headers);
		SET(CURLOPT_COPYPOSTFIELDS, s->body);
	}
#undef SET
	return rc;
}

static void finish_transfer(FeedTransfer *t, CURLcode rc, long http_status);

static void
start_transfer(FeedSource *s)
{
	FeedTransfer *t = MemoryContextAllocZero(feed_cxt, sizeof(FeedTransfer));
	CURLcode	rc = CURLE_OUT_OF_MEMORY;

	t->source_id = s->id;
	t->easy = curl_easy_init();
	s->transfer = t;
	in_flight++;
	if (t->easy != NULL)
		rc = setup_easy(t->easy, s, t);
	if (rc == CURLE_OK && curl_multi_add_handle(multi, t->easy) != CURLM_OK)
		rc = CURLE_FAILED_INIT;
	/* could not even start: the source's error like any other */
	if (rc != CURLE_OK)
		finish_transfer(t, rc, 0);
}

static void
free_transfer(FeedTransfer *t)
{
	if (t->easy != NULL)
		curl_easy_cleanup(t->easy);
	free(t->buf);
	pfree(t);
	in_flight--;
}

static void
abort_transfer(FeedTransfer *t)
{
	curl_multi_remove_handle(multi, t->easy);
	free_transfer(t);
}

static void
start_due_transfers(TimestampTz now)
{
	for (int i = 0; i < list.n; i++)
	{
		FeedSource *s = &list.sources[i];

		if (s->transfer == NULL && s->next_poll <= now)
			start_transfer(s);
	}
}

/* ---------------------------------------------------------------- answers */

/*
 * The body as text of the database encoding: bytes that are not (NUL, bad
 * UTF-8) become U+FFFD, or "?" in other encodings.  _ingest then records
 * "not JSON" with a readable excerpt.
 */
static text *
body_as_text(const char *body, size_t len)
{
	int			enc = GetDatabaseEncoding();
	const char *bad = (enc == PG_UTF8) ? "\xEF\xBF\xBD" : "?";
	StringInfoData out;

	initStringInfo(&out);
	while (len > 0)
	{
		int			valid = pg_encoding_verifymbstr(enc, body, (int) len);

		appendBinaryStringInfo(&out, body, valid);
		body += valid;
		len -= valid;
		if (len > 0)
		{
			appendStringInfoString(&out, bad);
			body++;
			len--;
		}
	}
	return cstring_to_text_with_len(out.data, out.len);
}

static void
ingest_step(void *arg)
{
	FeedAnswer *a = (FeedAnswer *) arg;
	Oid			types[4] = {INT4OID, INT4OID, TEXTOID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	bool		isnull;
	Datum		result;

	if (!extension_is_current())
		return;
	values[0] = Int32GetDatum(a->source_id);
	values[1] = Int32GetDatum((int32) a->http_status);
	if (a->http_status == 0)
		nulls[1] = 'n';
	values[2] = PointerGetDatum(body_as_text(a->body, a->body_len));
	if (a->error != NULL)
		values[3] = CStringGetTextDatum(a->error);
	else
		nulls[3] = 'n';
	if (SPI_execute_plan(keep_plan(&ingest_plan, "SELECT tpwallet._ingest($1, $2, $3, $4)", 4, types),
						 values, nulls, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "tpwallet._ingest failed");
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	a->ingested = !isnull && DatumGetBool(result);
}

/* What went wrong in transport, or NULL; libcurl's detail when it has one. */
static const char *
transport_error(FeedTransfer *t, CURLcode rc, char *buf, size_t size)
{
	if (t->too_large || rc == CURLE_FILESIZE_EXCEEDED)
		return "response too large (over 1 MiB)";
	if (t->out_of_memory)
		return "out of memory for the response";
	if (rc == CURLE_OK)
		return NULL;
	if (t->errbuf[0] == '\0')
		return curl_easy_strerror(rc);
	snprintf(buf, size, "%s: %s", curl_easy_strerror(rc), t->errbuf);
	return buf;
}

/* poll_interval after a success; poll_interval x 2^failures, at most 60 s, after failures */
static int64
next_delay_ms(const FeedSource *s)
{
	int64		delay = s->interval_ms;

	for (int i = 0; i < s->failures && delay < FEED_MAX_BACKOFF_MS; i++)
		delay *= 2;
	/* a source polled less often than the cap is never polled faster after a failure */
	return Max(s->interval_ms, Min(delay, FEED_MAX_BACKOFF_MS));
}

/* One completed (or failed to start) transfer: ingest it, schedule the next. */
static void
finish_transfer(FeedTransfer *t, CURLcode rc, long http_status)
{
	FeedSource *s = find_source(&list, t->source_id);
	FeedAnswer	a;
	char		what[96];

	memset(&a, 0, sizeof(a));
	a.source_id = t->source_id;
	a.http_status = http_status;
	a.body = t->buf ? t->buf : "";
	a.body_len = t->len;
	a.error = transport_error(t, rc, a.error_buf, sizeof(a.error_buf));
	snprintf(what, sizeof(what), "ingest %s", s ? s->name : "a removed price source");
	if (!run_step(what, ingest_step, &a))
		a.ingested = false;
	if (s != NULL)
	{
		s->failures = a.ingested ? 0 : Min(s->failures + 1, 30);
		s->next_poll = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), next_delay_ms(s));
		s->transfer = NULL;
	}
	free_transfer(t);
}

static void
collect_completions(void)
{
	CURLMsg    *msg;
	int			left;

	while ((msg = curl_multi_info_read(multi, &left)) != NULL)
	{
		CURL	   *easy = msg->easy_handle;
		CURLcode	rc = msg->data.result;
		FeedTransfer *t = NULL;
		long		http_status = 0;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &t);
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &http_status);
		/* msg belongs to the handle: it is gone after this */
		curl_multi_remove_handle(multi, easy);
		finish_transfer(t, rc, http_status);
	}
}

/* ---------------------------------------------------------------- the loop */

static void
refresh_step(void *arg)
{
	if (!extension_is_current())
		return;
	if (SPI_execute_plan(keep_plan(&refresh_plan, "SELECT tpwallet.refresh_prices()", 0, NULL),
						 NULL, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "tpwallet.refresh_prices() failed");
}

/* Until the next thing to do: a due source, the refresh, a reload. */
static long
wait_ms(TimestampTz now)
{
	TimestampTz next = next_reload;
	long		ms;

	if (OidIsValid(extension_oid))
		next = Min(next, next_refresh);
	for (int i = 0; i < list.n; i++)
		if (list.sources[i].transfer == NULL)
			next = Min(next, list.sources[i].next_poll);
	ms = TimestampDifferenceMilliseconds(now, next);
	return Min(ms, in_flight > 0 ? FEED_BUSY_WAIT_MS : FEED_IDLE_WAIT_MS);
}

/*
 * Wait for sockets while transfers are in flight (for at most
 * FEED_BUSY_WAIT_MS, so that interrupts and due sources are never kept
 * waiting long), on the latch otherwise.
 */
static void
wait_for_work(long timeout_ms)
{
	if (in_flight > 0)
	{
		int			numfds;

		(void) curl_multi_poll(multi, NULL, 0, (int) timeout_ms, &numfds);
		if (!PostmasterIsAlive())
			proc_exit(1);
	}
	else if (timeout_ms > 0)
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout_ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

static void
feed_cleanup(int code, Datum arg)
{
	tpw_prices_set_feed_latch(NULL);
	if (multi == NULL)
		return;
	for (int i = 0; i < list.n; i++)
		if (list.sources[i].transfer != NULL)
			abort_transfer(list.sources[i].transfer);
	list.n = 0;
	curl_multi_cleanup(multi);
	multi = NULL;
	curl_slist_free_all(post_headers);
	curl_global_cleanup();
}

static void
feed_init(void)
{
	/* here, not in the postmaster: libcurl (and its TLS library) live in this process only */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		ereport(FATAL, (errmsg("tpwallet price feeds: curl_global_init failed")));
	multi = curl_multi_init();
	post_headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (multi == NULL || post_headers == NULL)
		ereport(FATAL, (errmsg("tpwallet price feeds: out of memory for libcurl")));
	before_shmem_exit(feed_cleanup, (Datum) 0);
	feed_cxt = AllocSetContextCreate(TopMemoryContext, "tpwallet price feeds", ALLOCSET_DEFAULT_SIZES);
	/*
	 * Steps run one at a time, so a lock wait (a pair's row held by an open
	 * transaction) stalls every feed: give up after a second; the source's
	 * next poll brings a fresher answer anyway.
	 */
	SetConfigOption("lock_timeout", "1s", PGC_SUSET, PGC_S_OVERRIDE);
	tpw_prices_set_feed_latch(MyLatch);
}

void
tpwallet_price_feed_main(Datum arg)
{
	MemoryContext loop_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	/* a peer that hangs up mid-request must not kill the process */
	pqsignal(SIGPIPE, SIG_IGN);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(tpwallet_database, NULL, 0);
	feed_init();
	ereport(LOG, (errmsg("tpwallet price feeds started in database \"%s\"", tpwallet_database)));
	/* whatever one round allocates outside a transaction goes with the round */
	loop_cxt = AllocSetContextCreate(TopMemoryContext, "tpwallet price feeds loop", ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();
		int			running;

		MemoryContextSwitchTo(loop_cxt);
		MemoryContextReset(loop_cxt);
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (reload_due(now))
			reload_sources(now);
		start_due_transfers(now);
		if (in_flight > 0)
		{
			(void) curl_multi_perform(multi, &running);
			collect_completions();
		}
		if (OidIsValid(extension_oid) && now >= next_refresh)
		{
			(void) run_step("refresh prices", refresh_step, NULL);
			next_refresh = TimestampTzPlusMilliseconds(now, FEED_REFRESH_MS);
		}
		wait_for_work(wait_ms(GetCurrentTimestamp()));
	}
}
