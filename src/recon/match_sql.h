/*-------------------------------------------------------------------------
 *
 * match_sql.h
 *	  What match_sql.c (the run: rules, writes, the SQL function) and
 *	  match_load.c (reading the run's candidates) share.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TPWALLET_MATCH_SQL_H
#define TPWALLET_MATCH_SQL_H

#include "recon/match.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

/* an amount as read: mantissa * 10^-scale, exactly */
typedef struct scaled
{
	recon_amount mantissa;
	int			scale;
} scaled;

extern scaled numeric_scaled(Numeric num, const char *what);

/* the run's memory (a context of the call); for the interner and the arrays */
extern void *match_alloc(size_t size);

/* the run: its two sources (and whether each is a statement) and window */
typedef struct run_info
{
	int32		left_id;
	int32		right_id;
	bool		left_statement;
	bool		right_statement;
	TimestampTz from;
	TimestampTz to;
} run_info;

/* the run's candidates, read into memory */
typedef struct loaded
{
	recon_item *items;
	scaled	   *amounts;		/* as read, before rescaling */
	size_t		n;
	size_t		cap;
	int			scale;			/* the largest scale read */
	recon_interner *keys;
} loaded;

extern run_info read_run(int64 run);
extern void load_candidates(loaded *ld, int64 run, const run_info *ri, Datum lookback, bool *open_query);

#endif
