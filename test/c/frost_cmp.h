/*-------------------------------------------------------------------------
 *
 * frost_cmp.h
 *	  Comparing decoded FROST structs, for test_frost.c and fuzz_frost.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TPWALLET_TEST_FROST_CMP_H
#define TPWALLET_TEST_FROST_CMP_H

#include <string.h>

#include "frost.h"

/* Field by field: the structs have padding that decode leaves alone. */
static inline int
commitments_equal(const frost_commitment *a, const frost_commitment *b,
				  size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++)
		if (a[i].identifier != b[i].identifier
			|| memcmp(a[i].hiding, b[i].hiding, FROST_ELEMENT_LEN) != 0
			|| memcmp(a[i].binding, b[i].binding, FROST_ELEMENT_LEN) != 0)
			return 0;
	return 1;
}

#endif							/* TPWALLET_TEST_FROST_CMP_H */
