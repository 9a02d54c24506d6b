/*
 * tpwallet.c
 *	  Module entry point: GUCs, the server key and background workers.
 *
 * SQL functions that need neither shared memory nor workers work without
 * shared_preload_libraries; the sealer worker needs it and says so.
 */
#include "tpwallet.h"
#include "keys/hsm.h"
#include "keys/keystore.h"
#include "price/prices.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

char	   *tpwallet_database = NULL;
int			tpwallet_seal_interval_ms = 2000;
int			tpwallet_seal_max_entries = 100000;
bool		tpwallet_recon_full_carry_scan = false;

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomStringVariable("tpwallet.database",
							   "Database in which tpwallet's background workers run.",
							   "The extension must be created in this database.",
							   &tpwallet_database,
							   "postgres",
							   PGC_POSTMASTER,
							   GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("tpwallet.seal_interval",
							"How often the sealer worker seals new journal entries, folds balance deltas and expires holds.",
							"0 disables the worker's periodic work.",
							&tpwallet_seal_interval_ms,
							2000, 0, 3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("tpwallet.seal_max_entries",
							"Most journal entries sealed into one block.",
							NULL,
							&tpwallet_seal_max_entries,
							100000, 1, 10000000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("tpwallet.recon_full_carry_scan",
							 "Reconciliation runs find their carried-forward items by reading the whole lookback range.",
							 "Off: from the open exceptions, revoked matches and late imports, when the previous run of the same sources allows it (docs/reconciliation.md).",
							 &tpwallet_recon_full_carry_scan,
							 false,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	tpw_keystore_define_gucs();
	tpw_hsm_define_gucs();
	tpw_prices_define_gucs();

	MarkGUCPrefixReserved("tpwallet");

	if (process_shared_preload_libraries_in_progress)
	{
		/* read once in the postmaster; backends inherit it through fork() */
		tpw_keystore_load_at_startup();
		tpw_prices_shmem_init();
		tpwallet_register_workers();
		tpw_price_register_worker();
	}
}
