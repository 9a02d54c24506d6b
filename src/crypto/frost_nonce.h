/*
 * frost_nonce.h
 *	  Durable, exactly-once consumption of FROST round-one nonces (see
 *	  frost_nonce.c for why a background worker does it).
 */
#ifndef TPWALLET_FROST_NONCE_H
#define TPWALLET_FROST_NONCE_H

#include "postgres.h"

#define FROST_CONSUME_OK	0	/* deleted and recorded, committed */
#define FROST_CONSUME_GONE	1	/* no such nonces any more: used */
#define FROST_CONSUME_ERROR 2

/*
 * Delete the commitment's sealed nonces and record the use, in a committed
 * transaction of a background worker; on FROST_CONSUME_OK *sealed holds the
 * nonces as they were stored.
 */
extern int	tpw_frost_consume_durably(int64 commitment_id, int64 share_id,
									  const uint8 message_hash[32], bytea **sealed);

#endif							/* TPWALLET_FROST_NONCE_H */
