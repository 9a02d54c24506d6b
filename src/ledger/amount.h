/*
 * amount.h
 *	  Exact money amounts: validation against an asset's decimals and the
 *	  few numeric operations the ledger needs.  Never floats.
 */
#ifndef TPWALLET_AMOUNT_H
#define TPWALLET_AMOUNT_H

#include "postgres.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

extern Numeric amount_zero(void);
extern Numeric amount_add(Numeric a, Numeric b);
extern Numeric amount_sub(Numeric a, Numeric b);
extern Numeric amount_neg(Numeric a);
extern int	amount_cmp(Numeric a, Numeric b);
extern bool amount_is_zero(Numeric a);
extern char *amount_text(Numeric a);

/*
 * Check that an amount is finite, positive and has no more decimal places
 * than the asset; returns it with trailing zeros trimmed.  "what" names the
 * amount in the error (for example "amount of posting 2 in entry 5").
 */
extern Numeric amount_validate(Numeric n, int decimals, const char *asset,
							   const char *what);

/* A jsonb value (number or decimal string) as numeric, or an error. */
extern Numeric amount_from_jsonb(JsonbValue *v, const char *what);

#endif
