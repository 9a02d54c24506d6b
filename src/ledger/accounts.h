/*
 * accounts.h
 *	  Per-backend cache of the immutable attributes of accounts.
 */
#ifndef TPWALLET_ACCOUNTS_H
#define TPWALLET_ACCOUNTS_H

#include "postgres.h"

typedef struct AccountInfo
{
	int64		id;
	char		book[4];
	char		asset[33];
	int			decimals;
	bool		debit_normal;
	bool		allow_negative;
} AccountInfo;

/* Look codes up (one query for every code not cached yet); unknown ones are skipped. */
extern void account_prefetch(char **codes, int ncodes);
/* The attributes of one account, or an error naming the unknown code. */
extern const AccountInfo *account_info(const char *code);
/* Check the cache still belongs to this database's accounts table (once per call). */
extern void account_cache_validate(void);
/* Forget everything (an account row vanished: its creation rolled back). */
extern void account_cache_reset(void);

#endif
