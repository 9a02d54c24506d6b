/*
 * crypto_pg.h
 *	  Glue between the dependency-free crypto routines and the backend.
 */
#ifndef TPWALLET_CRYPTO_PG_H
#define TPWALLET_CRYPTO_PG_H

#include "postgres.h"

#include "crypto/rlp.h"

/* RLP encoder memory from the current memory context (palloc never returns NULL). */
extern const rlp_allocator tpw_palloc_allocator;

/* Raise 22023 naming what had the wrong length. */
extern void tpw_check_length(const char *what, size_t got, size_t want);

/* bytea argument as (pointer, length) */
#define TPW_BYTEA_PTR(b) ((const uint8 *) VARDATA_ANY(b))
#define TPW_BYTEA_LEN(b) ((size_t) VARSIZE_ANY_EXHDR(b))

/* A new bytea holding len bytes copied from data. */
extern bytea *tpw_bytea_from(const void *data, size_t len);

/* "0x" + lowercase hex, palloc'd */
extern char *tpw_hex0x(const uint8 *data, size_t len);

#endif							/* TPWALLET_CRYPTO_PG_H */
