/*
 * guard.c
 *	  The append-only guard: a statement-level trigger function that refuses
 *	  UPDATE, DELETE and TRUNCATE on the journal and its companions.
 *
 * The triggers are ENABLE ALWAYS, so session_replication_role = replica
 * does not bypass them; an event trigger (SQL) refuses disabling or
 * dropping them to anyone but a superuser.  A superuser can still get past
 * all of this; the hashes and seals are what catch that (verify.c).
 */
#include "postgres.h"

#include "tpwallet.h"

#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(tpwallet_guard_append_only);

static bool
is_key_store_table(const char *relname)
{
	return strcmp(relname, "signing_keys") == 0 || strcmp(relname, "key_secrets") == 0 ||
		strcmp(relname, "signature_log") == 0 || strncmp(relname, "frost_", 6) == 0;
}

Datum
tpwallet_guard_append_only(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	const char *op;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "tpwallet_guard_append_only: not called by trigger manager");

	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		op = "UPDATE";
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		op = "DELETE";
	else if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		op = "TRUNCATE";
	else
		op = "this change";

	if (is_key_store_table(RelationGetRelationName(trigdata->tg_relation)))
		ereport(ERROR,
				(errcode(ERRCODE_TW_APPEND_ONLY),
				 errmsg("%s of tpwallet.%s is not allowed: keys and signatures are append-only",
						op, RelationGetRelationName(trigdata->tg_relation)),
				 errdetail("Keys are never removed and the signature log is never changed."),
				 errhint("Disable or retire a key with tpwallet.set_key_status(label, status).")));
	ereport(ERROR,
			(errcode(ERRCODE_TW_APPEND_ONLY),
			 errmsg("%s of tpwallet.%s is not allowed: the ledger is append-only",
					op, RelationGetRelationName(trigdata->tg_relation)),
			 errdetail("Journal entries, postings, holds, seals and the audit log are never changed or removed."),
			 errhint("Correct a posted entry with tpwallet.reverse_entry(entry_id, reason).")));
	PG_RETURN_NULL();
}
