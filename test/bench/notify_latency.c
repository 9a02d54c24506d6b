/*
 * notify_latency.c
 *	  Tick-to-NOTIFY latency, as a listening client sees it.
 *
 *	  notify_latency CONNINFO SOURCE N
 *
 * One connection LISTENs on tpwallet_price; another records N ticks with
 * tpwallet.record_tick (alternating prices, so every tick is a new
 * aggregate).  For each tick the latency is the time from sending the
 * record_tick call to the listener receiving its notification.  Prints
 * "p50_ms X", "p99_ms Y", "max_ms Z", "n N".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include <libpq-fe.h>

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static PGconn *
connect_or_die(const char *conninfo)
{
	PGconn	   *c = PQconnectdb(conninfo);

	if (PQstatus(c) != CONNECTION_OK)
	{
		fprintf(stderr, "notify_latency: %s", PQerrorMessage(c));
		exit(1);
	}
	return c;
}

static void
exec_or_die(PGconn *c, const char *sql)
{
	PGresult   *r = PQexec(c, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
	{
		fprintf(stderr, "notify_latency: %s: %s", sql, PQerrorMessage(c));
		exit(1);
	}
	PQclear(r);
}

/* Wait for one notification on the listener; -1 after 5 s. */
static int
wait_notify(PGconn *listener)
{
	double		deadline = now_ms() + 5000;

	for (;;)
	{
		PGnotify   *n;
		fd_set		fds;
		struct timeval tv = {0, 100000};

		PQconsumeInput(listener);
		if ((n = PQnotifies(listener)) != NULL)
		{
			PQfreemem(n);
			return 0;
		}
		if (now_ms() > deadline)
			return -1;
		FD_ZERO(&fds);
		FD_SET(PQsocket(listener), &fds);
		select(PQsocket(listener) + 1, &fds, NULL, NULL, &tv);
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	PGconn	   *listener,
			   *writer;
	int			n;
	double	   *lat;
	char		sql[512];

	if (argc != 4 || (n = atoi(argv[3])) <= 0)
	{
		fprintf(stderr, "usage: notify_latency CONNINFO SOURCE N\n");
		return 2;
	}
	listener = connect_or_die(argv[1]);
	writer = connect_or_die(argv[1]);
	exec_or_die(listener, "LISTEN tpwallet_price");
	lat = malloc(sizeof(double) * n);
	for (int i = 0; i < n; i++)
	{
		double		t0;

		snprintf(sql, sizeof(sql), "SELECT tpwallet.record_tick('%s', %s, clock_timestamp())",
				 argv[2], (i % 2) ? "3000.10" : "3000.20");
		/* drop anything older, so that each wait sees this tick's notification */
		PQconsumeInput(listener);
		while (PQnotifies(listener) != NULL)
			;
		t0 = now_ms();
		exec_or_die(writer, sql);
		if (wait_notify(listener) != 0)
		{
			fprintf(stderr, "notify_latency: no notification within 5 s for tick %d\n", i);
			return 1;
		}
		lat[i] = now_ms() - t0;
	}
	qsort(lat, n, sizeof(double), cmp_double);
	printf("p50_ms %.3f\np99_ms %.3f\nmax_ms %.3f\nn %d\n", lat[n / 2], lat[(int) (n * 0.99)], lat[n - 1], n);
	PQfinish(listener);
	PQfinish(writer);
	free(lat);
	return 0;
}
