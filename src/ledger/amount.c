/*
 * amount.c
 *	  Exact money amounts (numeric) for the ledger.
 */
#include "postgres.h"

#include "ledger/amount.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

Numeric
amount_zero(void)
{
	static Numeric zero = NULL;

	if (zero == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		zero = int64_to_numeric(0);
		MemoryContextSwitchTo(old);
	}
	return zero;
}

Numeric
amount_add(Numeric a, Numeric b)
{
	return numeric_add_opt_error(a, b, NULL);
}

Numeric
amount_sub(Numeric a, Numeric b)
{
	return numeric_sub_opt_error(a, b, NULL);
}

Numeric
amount_neg(Numeric a)
{
	return DatumGetNumeric(DirectFunctionCall1(numeric_uminus, NumericGetDatum(a)));
}

int
amount_cmp(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp,
											 NumericGetDatum(a),
											 NumericGetDatum(b)));
}

bool
amount_is_zero(Numeric a)
{
	return amount_cmp(a, amount_zero()) == 0;
}

char *
amount_text(Numeric a)
{
	return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(a)));
}

Numeric
amount_validate(Numeric n, int decimals, const char *asset, const char *what)
{
	Numeric		trimmed;
	int			scale;

	if (n == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	if (numeric_is_nan(n) || numeric_is_inf(n))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite number", what),
				 errdetail("Got %s.", amount_text(n)),
				 errhint("Amounts are exact decimals in the asset's units.")));
	if (amount_cmp(n, amount_zero()) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be positive", what),
				 errdetail("Got %s.", amount_text(n)),
				 errhint("The side (debit or credit) gives the direction; amounts are always greater than zero.")));

	trimmed = DatumGetNumeric(DirectFunctionCall1(numeric_trim_scale, NumericGetDatum(n)));
	scale = DatumGetInt32(DirectFunctionCall1(numeric_scale, NumericGetDatum(trimmed)));
	if (scale > decimals)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s has more decimal places than asset %s allows", what, asset),
				 errdetail("Asset %s has %d decimal places; %s has %d.",
						   asset, decimals, amount_text(n), scale),
				 errhint("Round explicitly before posting, for example with round(amount, %d).",
						 decimals)));
	return trimmed;
}

/* A plain decimal literal: optional sign, digits, optional fraction. */
static bool
is_decimal_literal(const char *s, int len)
{
	int			i = 0;
	int			digits = 0;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++, digits++;
	if (i < len && s[i] == '.')
	{
		i++;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++, digits++;
	}
	return digits > 0 && i == len;
}

Numeric
amount_from_jsonb(JsonbValue *v, const char *what)
{
	if (v == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is missing", what),
				 errhint("Give the amount as a decimal string, for example \"10.25\".")));
	if (v->type == jbvNumeric)
		return v->val.numeric;
	if (v->type == jbvString &&
		is_decimal_literal(v->val.string.val, v->val.string.len))
	{
		char	   *s = pnstrdup(v->val.string.val, v->val.string.len);

		return DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(s),
												   ObjectIdGetDatum(InvalidOid),
												   Int32GetDatum(-1)));
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s is not a decimal number", what),
			 errdetail("Got %s.", v->type == jbvString ?
					   psprintf("the string \"%.*s\"", Min(v->val.string.len, 60), v->val.string.val) :
					   "a value that is neither a number nor a string"),
			 errhint("Give the amount as a decimal string, for example \"10.25\".")));
	return NULL;				/* keep compiler quiet */
}
