/*-------------------------------------------------------------------------
 *
 * timefmt.h
 *	  Dates and times in statements: ISO 8601, or a simple date_format.
 *
 * ISO 8601 (fmt NULL), extended format only:
 *	  YYYY-MM-DD
 *	  YYYY-MM-DD{T| }hh:mm[:ss[{.|,}fraction]][Z|{+|-}hh[[:]mm]]
 *
 * date_format (fmt given): the tokens YYYY (four digits), MM, DD, HH24 (or
 * HH), MI and SS (one or two digits each) and literal characters, which
 * must match exactly.  YYYY, MM and DD must each appear once; MI needs
 * HH, SS needs MI.  The time is all or nothing: when the input ends
 * before the first time token (only time tokens and literals left), the
 * time is midnight, so "DD.MM.YYYY HH24:MI" reads "31.12.2024" as well as
 * "31.12.2024 23:59", but not "31.12.2024 23".
 *
 * Surrounding blanks are ignored.  Fields are range-checked (days per
 * month, leap years, hours 0-23, minutes and seconds 0-59, years
 * 1-9999, zone offsets up to 15:59), so that what is accepted is a real
 * time PostgreSQL can store.  No time zone names: a time without an
 * offset is for the caller to place (statement import uses the mapping's
 * timezone).
 *
 * Self-contained C99: no PostgreSQL dependency.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TPWALLET_TIMEFMT_H
#define TPWALLET_TIMEFMT_H

#include <stddef.h>

/* Longest input and format looked at. */
#define RECON_TIME_MAX_LEN	64

typedef enum
{
	TIME_OK = 0,
	TIME_ERR_SYNTAX = -1,		/* does not match ISO 8601 / the format */
	TIME_ERR_RANGE = -2,		/* a field out of range (month 13, Feb 30) */
	TIME_ERR_FORMAT = -3		/* the date_format itself is invalid */
} recon_time_error;

typedef struct
{
	int			year;
	int			month;
	int			day;
	int			hour;
	int			minute;
	int			second;
	char		fraction[16];	/* digits after the second, "" if none */
	int			has_time;		/* a time of day was given */
	int			has_zone;		/* an offset was given */
	int			zone_minutes;	/* the offset, east of UTC */
} recon_time;

extern const char *recon_time_strerror(int err);

/* TIME_OK if fmt is a usable date_format, else TIME_ERR_FORMAT. */
extern int	recon_time_format_check(const char *fmt);

/*
 * Parse s[0..len) as ISO 8601 (fmt NULL) or by date_format fmt into *t.
 * A fraction of more than 15 digits is a syntax error.
 */
extern int	recon_time_parse(const char *s, size_t len, const char *fmt,
							 recon_time *t);

#endif							/* TPWALLET_TIMEFMT_H */
