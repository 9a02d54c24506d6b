/*
 * prices.h
 *	  Price pairs in shared memory (prices.c) and the feed worker's hooks.
 */
#ifndef TPWALLET_PRICES_H
#define TPWALLET_PRICES_H

#include "postgres.h"

#include "storage/latch.h"

extern int	tpwallet_max_price_pairs;
extern char *tpwallet_reporting_currency;

extern void tpw_prices_define_gucs(void);
/* from _PG_init while preloading: reserve and attach the shared memory */
extern void tpw_prices_shmem_init(void);

/* bumped by tpwallet._sources_changed(); the feed worker reloads on change */
extern uint32 tpw_prices_sources_version(void);
extern void tpw_prices_set_feed_latch(Latch *latch);

/* feed_worker.c: from _PG_init while preloading */
extern void tpw_price_register_worker(void);

#endif							/* TPWALLET_PRICES_H */
