/*-------------------------------------------------------------------------
 *
 * logreg.c
 *	  L2-regularized logistic regression by batch gradient descent (see
 *	  logreg.h).
 *
 * One pass over the rows evaluates the objective and its gradient at a
 * point; the rows are summed in their order, so the result depends only on
 * the input.  The step adapts (halved when it overshoots, grown by 5 %
 * when it is accepted), which makes the descent safe without knowing the
 * curvature of the data.
 *
 *-------------------------------------------------------------------------
 */
#include "logreg.h"

#include <math.h>
#include <string.h>

double
logreg_sigmoid(double z)
{
	if (z >= 0)
		return 1.0 / (1.0 + exp(-z));
	else
	{
		double		e = exp(z);

		return e / (1.0 + e);
	}
}

/* log(1 + e^t) without overflow */
static double
softplus(double t)
{
	return t > 0 ? t + log1p(exp(-t)) : log1p(exp(t));
}

void
logreg_standardize(const double *x, size_t n, size_t d, double *mean, double *sd)
{
	for (size_t j = 0; j < d; j++)
	{
		double		s = 0;
		double		ss = 0;

		for (size_t i = 0; i < n; i++)
			s += x[i * d + j];
		mean[j] = n > 0 ? s / (double) n : 0;
		for (size_t i = 0; i < n; i++)
		{
			double		v = x[i * d + j] - mean[j];

			ss += v * v;
		}
		sd[j] = n > 0 ? sqrt(ss / (double) n) : 0;
		if (!(sd[j] >= 1e-12))
			sd[j] = 1;
	}
}

/*
 * The objective at (w, b) (w[d] is the bias), and its gradient into g
 * (d + 1 values, the bias last).
 */
static double
objective(const double *x, const unsigned char *y, size_t n, size_t d,
		  const double *mean, const double *sd, double l2,
		  const double *w, double *g)
{
	double		loss = 0;
	double		reg = 0;

	memset(g, 0, sizeof(double) * (d + 1));
	for (size_t i = 0; i < n; i++)
	{
		const double *row = x + i * d;
		double		z = w[d];
		double		r;

		for (size_t j = 0; j < d; j++)
			z += w[j] * ((row[j] - mean[j]) / sd[j]);
		loss += softplus(y[i] ? -z : z);
		r = logreg_sigmoid(z) - (double) y[i];
		for (size_t j = 0; j < d; j++)
			g[j] += r * ((row[j] - mean[j]) / sd[j]);
		g[d] += r;
	}
	for (size_t j = 0; j <= d; j++)
		g[j] /= (double) n;
	for (size_t j = 0; j < d; j++)
	{
		g[j] += l2 / (double) n * w[j];
		reg += w[j] * w[j];
	}
	return loss / (double) n + l2 / (2.0 * (double) n) * reg;
}

static double
max_abs(const double *v, size_t len)
{
	double		m = 0;

	for (size_t j = 0; j < len; j++)
		if (fabs(v[j]) > m)
			m = fabs(v[j]);
	return m;
}

int
logreg_fit(const double *x, const unsigned char *y, size_t n, size_t d,
		   const double *mean, const double *sd,
		   double l2, int max_iter, double tol,
		   double *w, double *b, double *work, logreg_fit_info *info)
{
	double	   *cur = work;				/* d weights, then the bias */
	double	   *grad = work + (d + 1);
	double	   *trial = work + 2 * (d + 1);
	double	   *tgrad = work + 3 * (d + 1);
	double		loss;
	double		step = 1.0;
	int			evals = 0;
	int			accepted = 0;

	if (n == 0 || d == 0 || !(l2 >= 0) || !isfinite(l2) || max_iter < 0 || !(tol > 0))
		return -1;
	for (size_t i = 0; i < n; i++)
	{
		if (y[i] > 1)
			return -1;
		for (size_t j = 0; j < d; j++)
			if (!isfinite(x[i * d + j]))
				return -1;
	}
	for (size_t j = 0; j < d; j++)
		if (!isfinite(mean[j]) || !isfinite(sd[j]) || !(sd[j] > 0))
			return -1;

	memset(cur, 0, sizeof(double) * (d + 1));
	loss = objective(x, y, n, d, mean, sd, l2, cur, grad);
	while (evals < max_iter && max_abs(grad, d + 1) >= tol && step > 1e-12)
	{
		double		tloss;

		for (size_t j = 0; j <= d; j++)
			trial[j] = cur[j] - step * grad[j];
		tloss = objective(x, y, n, d, mean, sd, l2, trial, tgrad);
		evals++;
		if (tloss < loss)
		{
			memcpy(cur, trial, sizeof(double) * (d + 1));
			memcpy(grad, tgrad, sizeof(double) * (d + 1));
			loss = tloss;
			accepted++;
			step *= 1.05;
		}
		else
			step /= 2;
	}
	for (size_t j = 0; j < d; j++)
		w[j] = cur[j];
	*b = cur[d];
	if (info)
	{
		info->iterations = accepted;
		info->loss = loss;
		info->grad_max = max_abs(grad, d + 1);
		info->step = step;
		info->converged = info->grad_max < tol;
	}
	return 0;
}
