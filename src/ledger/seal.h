/*
 * seal.h
 *	  Sealing journal entries into hash-chained Merkle blocks.
 */
#ifndef TPWALLET_SEAL_H
#define TPWALLET_SEAL_H

#include "postgres.h"
#include "ledger/canon.h"

typedef struct BlockHeader
{
	int64		block_id;
	const char *book;
	int64		height;
	int32		entry_count;
	int64		first_entry;
	int64		last_entry;
	uint8		merkle_root[SHA256_LEN];
	uint8		prev_hash[SHA256_LEN];
	int64		floor_entry;
	int64		seq_mark;
	int64		xid_mark;
	TimestampTz sealed_at;
} BlockHeader;

extern void block_hash(const BlockHeader *b, uint8 out[SHA256_LEN]);

/* Seal every unsealed committed entry of one book; returns how many. Needs SPI. */
extern int64 seal_book(const char *book);

#endif
