/*
 * post.c
 *	  SQL entry points that post journal entries: transfer, post_entry,
 *	  post_batch and reverse_entry.  Parsing and argument checks live here;
 *	  the engine does the rest.
 */
#include "postgres.h"

#include "ledger/amount.h"
#include "ledger/accounts.h"
#include "ledger/engine.h"
#include "tpwallet.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(tpwallet_transfer);
PG_FUNCTION_INFO_V1(tpwallet_post_entry);
PG_FUNCTION_INFO_V1(tpwallet_post_batch);
PG_FUNCTION_INFO_V1(tpwallet_reverse_entry);

static char *
required_text(FunctionCallInfo fcinfo, int arg, const char *name)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
	return text_to_cstring(PG_GETARG_TEXT_PP(arg));
}

static char *
optional_text(FunctionCallInfo fcinfo, int arg)
{
	return PG_ARGISNULL(arg) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(arg));
}

/* Common optional arguments: key, reference, occurred_at, metadata. */
static void
set_options(LedgerEntry *e, FunctionCallInfo fcinfo, int first)
{
	e->idempotency_key = optional_text(fcinfo, first);
	e->reference = optional_text(fcinfo, first + 1);
	e->occurred_given = !PG_ARGISNULL(first + 2);
	if (e->occurred_given)
		e->occurred_at = PG_GETARG_TIMESTAMPTZ(first + 2);
	e->metadata = PG_ARGISNULL(first + 3) ? NULL : PG_GETARG_JSONB_P(first + 3);
}

static void
add_transfer_legs(LedgerCall *call, LedgerEntry *e, const char *debit, const char *credit,
				  Numeric amount, int position)
{
	int			d = ledger_account(call, debit);
	int			c = ledger_account(call, credit);
	const char *where = position > 0 ? psprintf(" (batch element %d)", position) : "";

	if (d == c)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("debit and credit account are the same account \"%s\"%s", debit, where),
				 errhint("A transfer moves value between two different accounts.")));
	if (strcmp(call->accounts[d].asset, call->accounts[c].asset) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_TW_ASSET_MISMATCH),
				 errmsg("accounts \"%s\" and \"%s\" hold different assets%s", debit, credit, where),
				 errdetail("\"%s\" holds %s and \"%s\" holds %s.", debit, call->accounts[d].asset,
						   credit, call->accounts[c].asset),
				 errhint("Exchange between assets is two entries through a conversion account.")));
	ledger_add_leg(call, e, d, false, amount, psprintf("amount%s", where));
	ledger_add_leg(call, e, c, true, amount, psprintf("amount%s", where));
}

Datum
tpwallet_transfer(PG_FUNCTION_ARGS)
{
	char	   *debit = required_text(fcinfo, 0, "debit_account");
	char	   *credit = required_text(fcinfo, 1, "credit_account");
	LedgerCall *call;
	LedgerEntry *e;
	int64		id;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("amount must not be null")));
	call = ledger_call_begin();
	e = ledger_new_entry(call, "transfer");
	add_transfer_legs(call, e, debit, credit, PG_GETARG_NUMERIC(2), 0);
	set_options(e, fcinfo, 3);
	ledger_check_entry(call, e, 0);
	ledger_call_commit(call);
	id = e->id;
	ledger_call_end(call);
	PG_RETURN_INT64(id);
}

/* ---------- jsonb parsing ---------- */

static const char *
jb_type_name(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "a string";
		case jbvNumeric:
			return "a number";
		case jbvBool:
			return "a boolean";
		case jbvBinary:
			return JsonContainerIsArray(v->val.binary.data) ? "an array" : "an object";
		default:
			return "an unexpected value";
	}
}

static void
bad_json(const char *what, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s", what),
			 detail ? errdetail("%s", detail) : 0,
			 errhint("See tpwallet.post_entry and tpwallet.post_batch in docs/sql-reference.md for the format.")));
}

static bool
is_object(JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data);
}

static bool
is_array(JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data);
}

/* Refuse keys outside "allowed" (a typo must not be silently ignored). */
static void
check_keys(JsonbContainer *obj, const char *const *allowed, const char *what)
{
	JsonbIterator *it = JsonbIteratorInit(obj);
	JsonbValue	v;
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		bool		ok = false;

		if (tok != WJB_KEY)
			continue;
		for (int i = 0; allowed[i]; i++)
			ok |= (strlen(allowed[i]) == (size_t) v.val.string.len &&
				   memcmp(allowed[i], v.val.string.val, v.val.string.len) == 0);
		if (!ok)
			bad_json(psprintf("unknown key \"%.*s\" in %s", Min(v.val.string.len, 60),
							  v.val.string.val, what), NULL);
	}
}

static JsonbValue *
get_key(JsonbContainer *obj, const char *key)
{
	JsonbValue *res = palloc(sizeof(JsonbValue));

	if (getKeyJsonValueFromContainer(obj, key, strlen(key), res) == NULL)
		return NULL;
	if (res->type == jbvNull)
		return NULL;
	return res;
}

static char *
get_string(JsonbContainer *obj, const char *key, bool required, const char *what)
{
	JsonbValue *v = get_key(obj, key);

	if (v == NULL)
	{
		if (required)
			bad_json(psprintf("%s has no \"%s\"", what, key), NULL);
		return NULL;
	}
	if (v->type != jbvString)
		bad_json(psprintf("\"%s\" in %s must be a string", key, what),
				 psprintf("Got %s.", jb_type_name(v)));
	return pnstrdup(v->val.string.val, v->val.string.len);
}

static void
get_options(LedgerEntry *e, JsonbContainer *obj, const char *what)
{
	char	   *occurred = get_string(obj, "occurred_at", false, what);
	JsonbValue *meta = get_key(obj, "metadata");

	e->idempotency_key = get_string(obj, "idempotency_key", false, what);
	e->reference = get_string(obj, "reference", false, what);
	if (occurred)
	{
		e->occurred_given = true;
		e->occurred_at = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in,
																 CStringGetDatum(occurred),
																 ObjectIdGetDatum(InvalidOid),
																 Int32GetDatum(-1)));
	}
	if (meta)
	{
		if (!is_object(meta))
			bad_json(psprintf("\"metadata\" in %s must be an object", what),
					 psprintf("Got %s.", jb_type_name(meta)));
		e->metadata = JsonbValueToJsonb(meta);
	}
}

static const char *const posting_keys[] = {"account", "side", "amount", NULL};
static const char *const entry_keys[] = {"book", "postings", "idempotency_key", "reference",
	"occurred_at", "metadata", NULL};
static const char *const transfer_keys[] = {"debit_account", "credit_account", "amount",
	"idempotency_key", "reference", "occurred_at", "metadata", NULL};

static void
check_book_name(const char *book)
{
	if (strcmp(book, "ops") != 0 && strcmp(book, "gl") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown book \"%s\"", book),
				 errhint("The books are \"ops\" (operational) and \"gl\" (accounting).")));
}

static void
parse_postings(LedgerCall *call, LedgerEntry *e, JsonbValue *postings, const char *where)
{
	JsonbContainer *arr;
	int			n;

	if (postings == NULL || !is_array(postings))
		bad_json(psprintf("postings%s must be a JSON array", where),
				 postings ? psprintf("Got %s.", jb_type_name(postings)) : "They are missing.");
	arr = postings->val.binary.data;
	n = JsonContainerSize(arr);
	for (int i = 0; i < n; i++)
	{
		JsonbValue *p = getIthJsonbValueFromContainer(arr, i);
		char	   *what = psprintf("posting %d%s", i + 1, where);
		char	   *side;
		bool		credit = false;

		if (!is_object(p))
			bad_json(psprintf("%s must be an object", what), psprintf("Got %s.", jb_type_name(p)));
		check_keys(p->val.binary.data, posting_keys, what);
		side = get_string(p->val.binary.data, "side", true, what);
		if (strcmp(side, "debit") == 0)
			credit = false;
		else if (strcmp(side, "credit") == 0)
			credit = true;
		else
			bad_json(psprintf("side of %s must be \"debit\" or \"credit\"", what),
					 psprintf("Got \"%s\".", side));
		ledger_add_leg(call, e,
					   ledger_account(call, get_string(p->val.binary.data, "account", true, what)),
					   credit,
					   amount_from_jsonb(get_key(p->val.binary.data, "amount"),
										 psprintf("amount of %s", what)),
					   psprintf("amount of %s", what));
	}
}

/* Parse one multi-leg entry object (post_entry arguments or a batch element). */
static void
parse_entry_object(LedgerCall *call, LedgerEntry *e, JsonbContainer *obj, int position)
{
	const char *where = position > 0 ? psprintf(" of batch element %d", position) : "";
	char	   *book = get_string(obj, "book", true, psprintf("batch element %d", position));

	check_book_name(book);
	e->book = book;
	parse_postings(call, e, get_key(obj, "postings"), where);
	get_options(e, obj, psprintf("batch element %d", position));
}

Datum
tpwallet_post_entry(PG_FUNCTION_ARGS)
{
	char	   *book = required_text(fcinfo, 0, "book");
	LedgerCall *call;
	LedgerEntry *e;
	JsonbValue	postings;
	int64		id;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("postings must not be null")));
	check_book_name(book);
	call = ledger_call_begin();
	e = ledger_new_entry(call, "entry");
	e->book = book;
	JsonbToJsonbValue(PG_GETARG_JSONB_P(1), &postings);
	parse_postings(call, e, &postings, "");
	set_options(e, fcinfo, 2);
	ledger_check_entry(call, e, 0);
	ledger_call_commit(call);
	id = e->id;
	ledger_call_end(call);
	PG_RETURN_INT64(id);
}

/* Every account code a batch names, to look them up in one query. */
static void
prefetch_batch_accounts(JsonbContainer *arr, int n)
{
	char	  **codes = palloc(sizeof(char *) * Max(4 * n, 1));
	int			ncodes = 0;
	int			cap = Max(4 * n, 1);

	for (int i = 0; i < n; i++)
	{
		JsonbValue *el = getIthJsonbValueFromContainer(arr, i);
		JsonbValue *v;

		if (!is_object(el))
			continue;			/* reported while parsing */
		for (int k = 0; k < 2; k++)
		{
			v = get_key(el->val.binary.data, k == 0 ? "debit_account" : "credit_account");
			if (v && v->type == jbvString && ncodes < cap)
				codes[ncodes++] = pnstrdup(v->val.string.val, v->val.string.len);
		}
		v = get_key(el->val.binary.data, "postings");
		if (v && is_array(v))
		{
			int			np = JsonContainerSize(v->val.binary.data);

			for (int p = 0; p < np; p++)
			{
				JsonbValue *post = getIthJsonbValueFromContainer(v->val.binary.data, p);
				JsonbValue *acct;

				if (!is_object(post))
					continue;
				acct = get_key(post->val.binary.data, "account");
				if (acct && acct->type == jbvString)
				{
					if (ncodes == cap)
					{
						cap *= 2;
						codes = repalloc(codes, sizeof(char *) * cap);
					}
					codes[ncodes++] = pnstrdup(acct->val.string.val, acct->val.string.len);
				}
			}
		}
	}
	account_prefetch(codes, ncodes);
}

static void
batch_element_context(void *arg)
{
	errcontext("batch element %d", *(int *) arg);
}

static void
parse_batch_element(LedgerCall *call, JsonbValue *el, int position)
{
	char	   *what = psprintf("batch element %d", position);
	JsonbContainer *obj;
	LedgerEntry *e;
	ErrorContextCallback context;

	context.callback = batch_element_context;
	context.arg = &position;
	context.previous = error_context_stack;
	error_context_stack = &context;

	if (!is_object(el))
		bad_json(psprintf("%s must be an object", what), psprintf("Got %s.", jb_type_name(el)));
	obj = el->val.binary.data;
	if (get_key(obj, "postings") != NULL || get_key(obj, "book") != NULL)
	{
		check_keys(obj, entry_keys, what);
		e = ledger_new_entry(call, "entry");
		parse_entry_object(call, e, obj, position);
	}
	else
	{
		char	   *debit;
		char	   *credit;

		check_keys(obj, transfer_keys, what);
		debit = get_string(obj, "debit_account", true, what);
		credit = get_string(obj, "credit_account", true, what);
		e = ledger_new_entry(call, "transfer");
		add_transfer_legs(call, e, debit, credit,
						  amount_from_jsonb(get_key(obj, "amount"), psprintf("amount of %s", what)),
						  position);
		get_options(e, obj, what);
	}
	ledger_check_entry(call, e, position);
	error_context_stack = context.previous;
}

Datum
tpwallet_post_batch(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Jsonb	   *batch;
	JsonbValue	root;
	JsonbContainer *arr;
	LedgerCall *call;
	int			n;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("entries must not be null")));
	batch = PG_GETARG_JSONB_P(0);
	JsonbToJsonbValue(batch, &root);
	if (!is_array(&root))
		bad_json("entries must be a JSON array", psprintf("Got %s.", jb_type_name(&root)));
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);

	arr = root.val.binary.data;
	n = JsonContainerSize(arr);
	call = ledger_call_begin();
	prefetch_batch_accounts(arr, n);
	for (int i = 0; i < n; i++)
		parse_batch_element(call, getIthJsonbValueFromContainer(arr, i), i + 1);
	if (n > 0)
		ledger_call_commit(call);
	for (int i = 0; i < n; i++)
	{
		Datum		v = Int64GetDatum(call->entries[i]->id);
		bool		isnull = false;

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &v, &isnull);
	}
	ledger_call_end(call);
	return (Datum) 0;
}

/* ---------- reversal ---------- */

Datum
tpwallet_reverse_entry(PG_FUNCTION_ARGS)
{
	int64		target;
	char	   *reason;
	LedgerCall *call;
	LedgerEntry *e;
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1];
	static SPIPlanPtr legs_plan = NULL;
	static SPIPlanPtr reversed_plan = NULL;
	static SPIPlanPtr audit_plan = NULL;
	bool		isnull;
	int64		id;
	SPITupleTable *legs;
	uint64		nlegs;

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("entry_id must not be null")));
	target = PG_GETARG_INT64(0);
	reason = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (reason == NULL || reason[strspn(reason, " \t\r\n")] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a reversal needs a reason"),
				 errhint("Say why the entry is reversed; auditors read it.")));

	call = ledger_call_begin();
	args[0] = Int64GetDatum(target);

	/*
	 * Two sessions reversing the same entry: the second waits here, then
	 * (fresh snapshot) finds the first one's reversal and says so.  The
	 * unique index on journal.reverses stays the final guarantee.
	 */
	if (SPI_execute(psprintf("SELECT pg_advisory_xact_lock(1953527656, %d)",
							 (int) (target % 2147483647)), false, 0) != SPI_OK_SELECT)
		elog(ERROR, "reversal lock failed");
	ledger_plan(&reversed_plan,
				"SELECT id FROM tpwallet.journal WHERE reverses = $1", 1, argtypes);
	if (SPI_execute_plan(reversed_plan, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "reversal lookup failed");
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_TW_ALREADY_REVERSED),
				 errmsg("journal entry %lld is already reversed", (long long) target),
				 errdetail("Entry %lld reverses it.",
						   (long long) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
																   SPI_tuptable->tupdesc, 1, &isnull))),
				 errhint("To undo the reversal, reverse the reversing entry.")));

	ledger_plan(&legs_plan,
				"SELECT j.book, a.code, p.amount, j.reference"
				"  FROM tpwallet.journal j"
				"  JOIN tpwallet.postings p ON p.entry_id = j.id"
				"  JOIN tpwallet.accounts a ON a.id = p.account_id"
				" WHERE j.id = $1 ORDER BY p.leg",
				1, argtypes);
	if (SPI_execute_plan(legs_plan, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "journal lookup failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("journal entry %lld does not exist", (long long) target)));
	legs = SPI_tuptable;
	nlegs = SPI_processed;

	e = ledger_new_entry(call, "reversal");
	e->book = TextDatumGetCString(SPI_getbinval(legs->vals[0], legs->tupdesc, 1, &isnull));
	e->reference = SPI_getvalue(legs->vals[0], legs->tupdesc, 4);
	e->reverses = target;
	for (uint64 r = 0; r < nlegs; r++)
	{
		char	   *code = TextDatumGetCString(SPI_getbinval(legs->vals[r], legs->tupdesc, 2, &isnull));
		Numeric		amount = DatumGetNumeric(SPI_getbinval(legs->vals[r], legs->tupdesc, 3, &isnull));
		bool		was_credit = amount_cmp(amount, amount_zero()) < 0;

		ledger_add_leg(call, e, ledger_account(call, code), !was_credit,
					   was_credit ? amount_neg(amount) : amount, "reversed amount");
	}
	{
		StringInfoData js;

		initStringInfo(&js);
		appendStringInfoString(&js, "{\"reason\": ");
		escape_json(&js, reason);
		appendStringInfoChar(&js, '}');
		e->metadata = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(js.data)));
	}
	ledger_check_entry(call, e, 0);
	ledger_call_commit(call);
	id = e->id;

	{
		Oid			atypes[2] = {TEXTOID, JSONBOID};
		Datum		aargs[2];

		aargs[0] = CStringGetTextDatum(psprintf("entry %lld", (long long) target));
		aargs[1] = DirectFunctionCall1(jsonb_in,
									   CStringGetDatum(psprintf("{\"reversal_entry\": %lld}", (long long) id)));
		ledger_plan(&audit_plan,
					"INSERT INTO tpwallet.audit_log (action, object, detail) VALUES ('reverse_entry', $1, $2)",
					2, atypes);
		if (SPI_execute_plan(audit_plan, aargs, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "audit insert failed");
	}
	ledger_call_end(call);
	PG_RETURN_INT64(id);
}
