/*
 * engine_internal.h
 *	  Private to the posting engine: what its files (engine.c,
 *	  engine_keys.c, engine_locks.c, engine_write.c) offer each other.
 *	  Callers use engine.h.
 *
 * Shared names carry the prefix engine_: the extension's library exports
 * every global symbol, where a plain name such as write_all() could collide
 * with another one.
 */
#ifndef TPWALLET_ENGINE_INTERNAL_H
#define TPWALLET_ENGINE_INTERNAL_H

#include "ledger/engine.h"

/* engine_keys.c: idempotency */
extern void engine_dedupe_keys_in_call(LedgerCall *call);
extern void engine_claim_keys(LedgerCall *call);

/* engine_locks.c: which accounts to lock, and every lock in id order */
typedef struct IdMap IdMap;
extern void engine_mark_locks(LedgerCall *call);
extern IdMap *engine_build_idmap(LedgerCall *call);
extern void engine_lock_accounts(LedgerCall *call, IdMap *map);

/*
 * engine_write.c: an account's new totals (also written by an update in
 * place, engine_locks.c) and the writes.  One array of total columns: the
 * names cache (tpw_attnums) keeps column lists by their address.
 */
extern const char *const engine_total_columns[4];
extern bool engine_row_changes(LedgerAccount *a);
extern Numeric engine_checked_total(LedgerAccount *a, int t, Numeric current);
extern void engine_write_all(LedgerCall *call);

#endif
