/*
 * frost_sql.h
 *	  What frost_sql.c (the pure SQL functions) shares with
 *	  frost_held_sql.c (signing with shares held here): the mapping of
 *	  FROST errors to SQLSTATEs, a length check and the commitments' jsonb
 *	  parser.  Private to those two files.
 */
#ifndef TPW_FROST_SQL_H
#define TPW_FROST_SQL_H

#include "crypto/frost.h"
#include "utils/jsonb.h"

/* ERROR with the SQLSTATE for a FROST result other than FROST_OK */
extern void frost_sql_check(int rc, int culprit, const char *what);
extern void frost_sql_check_len(const char *what, bytea *b, size_t want);
/* a commitments array, and the verifying shares some of its elements carry */
extern frost_commitment *frost_sql_parse_commitments(Jsonb *jb, int *n,
													 frost_verifying_share **vs,
													 int *nvs);

#endif							/* TPW_FROST_SQL_H */
