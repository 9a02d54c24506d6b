/*-------------------------------------------------------------------------
 *
 * score_sql.c
 *	  The SQL side of the anomaly score's trainer: fit a logistic
 *	  regression on a matrix of features (logreg.c).
 *
 * The features, the labels and the model table are SQL
 * (src/sql/88_recon_score.sql); this is only the numerical loop, which
 * would take minutes in PL/pgSQL and takes milliseconds here.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "recon/logreg.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(tpwallet_recon_logreg);

static ArrayType *
float8_array(const double *v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = Float8GetDatum(v[i]);
	return construct_array(d, n, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

/*
 * _recon_logreg(x float8[][] (n rows of d features), y boolean[] (n labels),
 *               l2 float8, max_iter int)
 *   -> (means float8[], stds float8[], weights float8[], bias float8,
 *       iterations int, loss float8, converged boolean)
 */
Datum
tpwallet_recon_logreg(PG_FUNCTION_ARGS)
{
	ArrayType  *xa = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *ya = PG_GETARG_ARRAYTYPE_P(1);
	float8		l2 = PG_GETARG_FLOAT8(2);
	int32		max_iter = PG_GETARG_INT32(3);
	TupleDesc	tupdesc;
	int			n;
	int			d;
	unsigned char *y;
	Datum	   *xd;
	Datum	   *yd;
	int			nx;
	int			ny;
	double	   *x;
	double	   *mean;
	double	   *sd;
	double	   *w;
	double		b;
	double	   *work;
	logreg_fit_info info;
	Datum		values[7];
	bool		nulls[7] = {false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "_recon_logreg must return a record");
	tupdesc = BlessTupleDesc(tupdesc);

	if (ARR_ELEMTYPE(xa) != FLOAT8OID || ARR_NDIM(xa) != 2 || array_contains_nulls(xa))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("features must be a two-dimensional float8 array without nulls"),
				 errhint("One row per labelled exception, one column per feature.")));
	n = ARR_DIMS(xa)[0];
	d = ARR_DIMS(xa)[1];
	if (ARR_ELEMTYPE(ya) != BOOLOID || ARR_NDIM(ya) != 1 || array_contains_nulls(ya) || ARR_DIMS(ya)[0] != n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("labels must be a boolean array without nulls, one per row of features (%d)", n)));
	if (max_iter < 0 || !(l2 >= 0) || isinf(l2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("l2 must be a finite number >= 0 and max_iter >= 0")));

	deconstruct_array(xa, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &xd, NULL, &nx);
	deconstruct_array(ya, BOOLOID, 1, true, TYPALIGN_CHAR, &yd, NULL, &ny);
	x = palloc(sizeof(double) * Max(nx, 1));
	for (int i = 0; i < nx; i++)
		x[i] = DatumGetFloat8(xd[i]);
	y = palloc(Max(ny, 1));
	for (int i = 0; i < ny; i++)
		y[i] = DatumGetBool(yd[i]) ? 1 : 0;
	mean = palloc(sizeof(double) * d);
	sd = palloc(sizeof(double) * d);
	w = palloc(sizeof(double) * d);
	work = palloc(sizeof(double) * 4 * (d + 1));

	logreg_standardize(x, n, d, mean, sd);
	if (logreg_fit(x, y, n, d, mean, sd, l2, max_iter, 1e-6,
				   w, &b, work, &info) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot fit a model on these features"),
				 errdetail("A feature value is not finite, or there are no rows or no features.")));

	values[0] = PointerGetDatum(float8_array(mean, d));
	values[1] = PointerGetDatum(float8_array(sd, d));
	values[2] = PointerGetDatum(float8_array(w, d));
	values[3] = Float8GetDatum(b);
	values[4] = Int32GetDatum(info.iterations);
	values[5] = Float8GetDatum(info.loss);
	values[6] = BoolGetDatum(info.converged != 0);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
