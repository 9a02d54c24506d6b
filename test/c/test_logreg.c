/*-------------------------------------------------------------------------
 *
 * test_logreg.c
 *	  Unit tests for the anomaly score's trainer, src/recon/logreg.c:
 *	  the sigmoid at the extremes, standardization, a fit that recovers
 *	  the weights of a known model, regularization, determinism and bad
 *	  arguments.
 *
 * Prints "N passed, M failed" last (check.h).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "logreg.h"

#define N 4000
#define D 4

/* a uniform number in [0, 1) */
static double
unit(void)
{
	return (double) rng_next() / 4294967296.0;
}

/* a standard normal number (Box-Muller) */
static double
gauss(void)
{
	double		u = unit();
	double		v = unit();

	if (u < 1e-12)
		u = 1e-12;
	return sqrt(-2 * log(u)) * cos(2 * 3.14159265358979323846 * v);
}

static void
test_sigmoid(void)
{
	CHECK(logreg_sigmoid(0) == 0.5);
	CHECK(logreg_sigmoid(1000) == 1.0);
	CHECK(logreg_sigmoid(-1000) == 0.0);
	CHECK(isfinite(logreg_sigmoid(-1e308)) && isfinite(logreg_sigmoid(1e308)));
	CHECK(fabs(logreg_sigmoid(2) + logreg_sigmoid(-2) - 1) < 1e-15);
}

static void
test_standardize(void)
{
	/* columns: 1, 2, 3, 4 (mean 2.5, sd sqrt(1.25)); constant 7 */
	double		x[] = {1, 7, 2, 7, 3, 7, 4, 7};
	double		mean[2];
	double		sd[2];

	logreg_standardize(x, 4, 2, mean, sd);
	CHECK(mean[0] == 2.5);
	CHECK(fabs(sd[0] - sqrt(1.25)) < 1e-15);
	CHECK(mean[1] == 7);
	CHECK(sd[1] == 1);			/* no information: left as is */
}

/*
 * Rows with four features (one of them constant), labels drawn from a
 * known logistic model: the fit finds weights close to the model's (in
 * standardized units), and converges.
 */
static void
test_recovers_model(double *x, unsigned char *y)
{
	const double truth[D] = {1.5, -2.0, 0.0, 0.0};
	const double bias = -0.5;
	double		mean[D];
	double		sd[D];
	double		w[D];
	double		w2[D];
	double		b;
	double		b2;
	double		work[4 * (D + 1)];
	logreg_fit_info info;
	logreg_fit_info info2;

	for (int i = 0; i < N; i++)
	{
		double		z = bias;

		x[i * D + 0] = gauss();
		x[i * D + 1] = gauss();
		x[i * D + 2] = gauss();
		x[i * D + 3] = 3.0;
		for (int j = 0; j < D; j++)
			if (j < 3)
				z += truth[j] * x[i * D + j];
		y[i] = unit() < logreg_sigmoid(z);
	}
	logreg_standardize(x, N, D, mean, sd);
	CHECK(logreg_fit(x, y, N, D, mean, sd, 1.0, 5000, 1e-7, w, &b, work, &info) == 0);
	CHECK(info.converged);
	CHECK(info.iterations > 0);
	/* standardized weight = raw weight * sd; the sample sd of N(0,1) is close to 1 */
	CHECK(fabs(w[0] / sd[0] - truth[0]) < 0.25);
	CHECK(fabs(w[1] / sd[1] - truth[1]) < 0.25);
	CHECK(fabs(w[2]) < 0.15);
	CHECK(w[3] == 0);			/* a constant feature never moves */
	CHECK(fabs(b - bias) < 0.3);	/* the means are close to 0 */
	CHECK(info.loss > 0 && info.loss < log(2.0));

	/* the same input gives the same model, bit for bit */
	CHECK(logreg_fit(x, y, N, D, mean, sd, 1.0, 5000, 1e-7, w2, &b2, work, &info2) == 0);
	CHECK(memcmp(w, w2, sizeof(w)) == 0 && b == b2 && info.iterations == info2.iterations);

	/* heavy regularization pulls the weights towards zero, not the bias */
	CHECK(logreg_fit(x, y, N, D, mean, sd, 1e6, 5000, 1e-9, w2, &b2, work, &info2) == 0);
	CHECK(fabs(w2[0]) < 0.05 * fabs(w[0]) && fabs(w2[1]) < 0.05 * fabs(w[1]));

	/* max_iter 0: the zero model */
	CHECK(logreg_fit(x, y, N, D, mean, sd, 1.0, 0, 1e-7, w2, &b2, work, &info2) == 0);
	CHECK(w2[0] == 0 && b2 == 0 && info2.iterations == 0 && fabs(info2.loss - log(2.0)) < 1e-12);
}

static void
test_bad_arguments(double *x, unsigned char *y)
{
	double		mean[D] = {0, 0, 0, 0};
	double		sd[D] = {1, 1, 1, 1};
	double		w[D];
	double		b;
	double		work[4 * (D + 1)];

	CHECK(logreg_fit(x, y, 0, D, mean, sd, 1, 10, 1e-6, w, &b, work, NULL) == -1);
	CHECK(logreg_fit(x, y, N, 0, mean, sd, 1, 10, 1e-6, w, &b, work, NULL) == -1);
	CHECK(logreg_fit(x, y, N, D, mean, sd, -1, 10, 1e-6, w, &b, work, NULL) == -1);
	CHECK(logreg_fit(x, y, N, D, mean, sd, 1, 10, 0, w, &b, work, NULL) == -1);
	sd[2] = 0;
	CHECK(logreg_fit(x, y, N, D, mean, sd, 1, 10, 1e-6, w, &b, work, NULL) == -1);
	sd[2] = 1;
	y[5] = 2;
	CHECK(logreg_fit(x, y, N, D, mean, sd, 1, 10, 1e-6, w, &b, work, NULL) == -1);
	y[5] = 1;
	x[7] = NAN;
	CHECK(logreg_fit(x, y, N, D, mean, sd, 1, 10, 1e-6, w, &b, work, NULL) == -1);
	x[7] = INFINITY;
	CHECK(logreg_fit(x, y, N, D, mean, sd, 1, 10, 1e-6, w, &b, work, NULL) == -1);
	x[7] = 0;
	CHECK(logreg_fit(x, y, N, D, mean, sd, 1, 10, 1e-6, w, &b, work, NULL) == 0);
}

/* all labels one: the bias grows, the weights stay small; finite throughout */
static void
test_one_class(double *x, unsigned char *y)
{
	double		mean[D];
	double		sd[D];
	double		w[D];
	double		b;
	double		work[4 * (D + 1)];
	logreg_fit_info info;

	memset(y, 1, N);
	logreg_standardize(x, N, D, mean, sd);
	CHECK(logreg_fit(x, y, N, D, mean, sd, 1.0, 2000, 1e-6, w, &b, work, &info) == 0);
	CHECK(isfinite(b) && b > 3);
	CHECK(isfinite(info.loss) && info.loss < 0.05);
}

int
main(void)
{
	double	   *x = malloc(sizeof(double) * N * D);
	unsigned char *y = malloc(N);

	if (x == NULL || y == NULL)
		return 1;
	rng_seed(0x5eed1095);
	test_sigmoid();
	test_standardize();
	test_recovers_model(x, y);
	test_bad_arguments(x, y);
	test_one_class(x, y);
	free(x);
	free(y);
	return check_summary();
}
