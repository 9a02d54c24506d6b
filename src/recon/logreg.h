/*-------------------------------------------------------------------------
 *
 * logreg.h
 *	  L2-regularized logistic regression by batch gradient descent, for the
 *	  anomaly score of reconciliation exceptions.
 *
 * Plain C99, no PostgreSQL: test/c/test_logreg.c tests it standalone.
 * Everything is deterministic: the same rows in the same order give the
 * same model, bit for bit, on the same machine.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TPWALLET_RECON_LOGREG_H
#define TPWALLET_RECON_LOGREG_H

#include <stddef.h>

typedef struct logreg_fit_info
{
	int			iterations;		/* gradient steps taken (accepted ones) */
	double		loss;			/* final objective */
	double		grad_max;		/* largest |component| of the final gradient */
	double		step;			/* final step size */
	int			converged;		/* 1 if grad_max fell below the tolerance */
} logreg_fit_info;

/* 1 / (1 + e^-z), without overflow for any z. */
extern double logreg_sigmoid(double z);

/*
 * Means and population standard deviations of the d columns of x (n rows,
 * row-major); a column whose deviation is below 1e-12 gets 1 (it carries no
 * information, and its standardized value is 0).
 */
extern void logreg_standardize(const double *x, size_t n, size_t d, double *mean, double *sd);

/*
 * Fit weights w (d of them) and bias *b on rows x (n x d, row-major, used as
 * (x - mean) / sd) with labels y (0 or 1), minimizing
 *
 *	 (1/n) sum log(1 + e^-s_i z_i) + (l2 / 2n) |w|^2,	z_i = b + w . x_i,
 *
 * (s_i = +1 for y_i = 1, -1 for y_i = 0; the bias is not penalized) by full
 * batch gradient descent from zero: a step of size step along the negative
 * gradient; a step that does not lower the objective is undone and the step
 * halved; an accepted step lets the next one grow by 5 %.  Stops when every
 * component of the gradient is below tol, or after max_iter steps.
 *
 * max_iter bounds the objective evaluations (accepted steps and undone
 * ones).  work must hold 4 * (d + 1) doubles.  Returns 0, or -1 for bad
 * arguments (n or d zero, a label other than 0 and 1, a non-finite value,
 * a deviation that is not positive).
 */
extern int	logreg_fit(const double *x, const unsigned char *y, size_t n, size_t d,
					   const double *mean, const double *sd,
					   double l2, int max_iter, double tol,
					   double *w, double *b, double *work, logreg_fit_info *info);

#endif							/* TPWALLET_RECON_LOGREG_H */
