/*-------------------------------------------------------------------------
 *
 * timefmt.c
 *	  ISO 8601 and date_format parsing for statement import; see timefmt.h.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "timefmt.h"

typedef enum
{
	TK_END,
	TK_LITERAL,
	TK_YYYY,
	TK_MM,
	TK_DD,
	TK_HH,
	TK_MI,
	TK_SS
} time_token;

const char *
recon_time_strerror(int err)
{
	switch (err)
	{
		case TIME_OK:
			return "ok";
		case TIME_ERR_SYNTAX:
			return "not a date or time in the expected format";
		case TIME_ERR_RANGE:
			return "date or time field out of range";
		case TIME_ERR_FORMAT:
			return "invalid date_format";
	}
	return "unknown time error";
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
days_in_month(int year, int month)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int			leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

static int
check_ranges(const recon_time *t)
{
	if (t->year < 1 || t->year > 9999 || t->month < 1 || t->month > 12)
		return TIME_ERR_RANGE;
	if (t->day < 1 || t->day > days_in_month(t->year, t->month))
		return TIME_ERR_RANGE;
	if (t->hour > 23 || t->minute > 59 || t->second > 59)
		return TIME_ERR_RANGE;
	if (t->zone_minutes > 15 * 60 + 59 || t->zone_minutes < -(15 * 60 + 59))
		return TIME_ERR_RANGE;
	return TIME_OK;
}

/* Exactly n digits at s[*i]. */
static int
fixed_digits(const char *s, size_t len, size_t *i, int n, int *value)
{
	int			v = 0;
	int			k;

	for (k = 0; k < n; k++)
	{
		if (*i >= len || !is_digit(s[*i]))
			return 0;
		v = v * 10 + (s[(*i)++] - '0');
	}
	*value = v;
	return 1;
}

/* One or two digits at s[*i], as many as there are. */
static int
short_digits(const char *s, size_t len, size_t *i, int *value)
{
	if (*i >= len || !is_digit(s[*i]))
		return 0;
	*value = s[(*i)++] - '0';
	if (*i < len && is_digit(s[*i]))
		*value = *value * 10 + (s[(*i)++] - '0');
	return 1;
}

/* Trim spaces and tabs: s[*b..*e). */
static void
trim(const char *s, size_t *b, size_t *e)
{
	while (*b < *e && (s[*b] == ' ' || s[*b] == '\t'))
		(*b)++;
	while (*e > *b && (s[*e - 1] == ' ' || s[*e - 1] == '\t'))
		(*e)--;
}

/* [.|,]digits after the seconds: at least one digit, at most 15. */
static int
fraction(const char *s, size_t e, size_t *i, recon_time *t)
{
	size_t		n = 0;

	if (*i >= e || (s[*i] != '.' && s[*i] != ','))
		return 1;
	(*i)++;
	while (*i < e && is_digit(s[*i]))
	{
		if (n >= sizeof(t->fraction) - 1)
			return 0;
		t->fraction[n++] = s[(*i)++];
	}
	t->fraction[n] = '\0';
	return n > 0;
}

/* Z, or +hh, +hhmm, +hh:mm (or -). */
static int
zone(const char *s, size_t e, size_t *i, recon_time *t)
{
	int			sign;
	int			hh;
	int			mm = 0;

	if (*i >= e)
		return 1;
	t->has_zone = 1;
	if (s[*i] == 'Z' || s[*i] == 'z')
	{
		(*i)++;
		return 1;
	}
	if (s[*i] != '+' && s[*i] != '-')
		return 0;
	sign = s[(*i)++] == '-' ? -1 : 1;
	if (!fixed_digits(s, e, i, 2, &hh))
		return 0;
	if (*i < e && s[*i] == ':')
	{
		(*i)++;
		if (!fixed_digits(s, e, i, 2, &mm))
			return 0;
	}
	else if (*i < e && !fixed_digits(s, e, i, 2, &mm))
		return 0;
	if (hh > 15 || mm > 59)
		t->zone_minutes = 99 * 60;	/* caught by check_ranges */
	else
		t->zone_minutes = sign * (hh * 60 + mm);
	return 1;
}

static int
parse_iso(const char *s, size_t b, size_t e, recon_time *t)
{
	size_t		i = b;

	if (!fixed_digits(s, e, &i, 4, &t->year) || i >= e || s[i++] != '-' ||
		!fixed_digits(s, e, &i, 2, &t->month) || i >= e || s[i++] != '-' ||
		!fixed_digits(s, e, &i, 2, &t->day))
		return TIME_ERR_SYNTAX;
	if (i == e)
		return check_ranges(t);
	if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
		return TIME_ERR_SYNTAX;
	i++;
	t->has_time = 1;
	if (!fixed_digits(s, e, &i, 2, &t->hour) || i >= e || s[i++] != ':' ||
		!fixed_digits(s, e, &i, 2, &t->minute))
		return TIME_ERR_SYNTAX;
	if (i < e && s[i] == ':')
	{
		i++;
		if (!fixed_digits(s, e, &i, 2, &t->second) || !fraction(s, e, &i, t))
			return TIME_ERR_SYNTAX;
	}
	if (!zone(s, e, &i, t) || i != e)
		return TIME_ERR_SYNTAX;
	return check_ranges(t);
}

/* The token at fmt[*j]; advances *j.  A literal's byte goes to *lit. */
static time_token
next_token(const char *fmt, size_t *j, char *lit)
{
	const char *p = fmt + *j;

	if (*p == '\0')
		return TK_END;
	if (strncmp(p, "YYYY", 4) == 0)
	{
		*j += 4;
		return TK_YYYY;
	}
	if (strncmp(p, "HH24", 4) == 0)
	{
		*j += 4;
		return TK_HH;
	}
	*j += 2;
	if (strncmp(p, "HH", 2) == 0)
		return TK_HH;
	if (strncmp(p, "MM", 2) == 0)
		return TK_MM;
	if (strncmp(p, "DD", 2) == 0)
		return TK_DD;
	if (strncmp(p, "MI", 2) == 0)
		return TK_MI;
	if (strncmp(p, "SS", 2) == 0)
		return TK_SS;
	*j -= 1;
	*lit = *p;
	return TK_LITERAL;
}

int
recon_time_format_check(const char *fmt)
{
	int			count[TK_SS + 1] = {0};
	size_t		j = 0;
	time_token	tk;
	char		lit;

	if (fmt == NULL || fmt[0] == '\0' || strlen(fmt) > RECON_TIME_MAX_LEN)
		return TIME_ERR_FORMAT;
	while ((tk = next_token(fmt, &j, &lit)) != TK_END)
		count[tk]++;
	if (count[TK_YYYY] != 1 || count[TK_MM] != 1 || count[TK_DD] != 1 ||
		count[TK_HH] > 1 || count[TK_MI] > 1 || count[TK_SS] > 1)
		return TIME_ERR_FORMAT;
	if ((count[TK_MI] && !count[TK_HH]) || (count[TK_SS] && !count[TK_MI]))
		return TIME_ERR_FORMAT;
	return TIME_OK;
}

/* Whether fmt from *j on has time tokens and no date tokens. */
static int
only_time_left(const char *fmt, size_t j)
{
	time_token	tk;
	char		lit;
	int			time_tokens = 0;

	while ((tk = next_token(fmt, &j, &lit)) != TK_END)
	{
		if (tk == TK_YYYY || tk == TK_MM || tk == TK_DD)
			return 0;
		if (tk != TK_LITERAL)
			time_tokens++;
	}
	return time_tokens > 0;
}

static int
parse_format(const char *s, size_t b, size_t e, const char *fmt, recon_time *t)
{
	size_t		i = b;
	size_t		j = 0;

	for (;;)
	{
		size_t		at = j;
		char		lit = 0;
		time_token	tk = next_token(fmt, &j, &lit);
		int			ok;

		if (tk == TK_END)
			break;
		if (i == e && !t->has_time && only_time_left(fmt, at))
			break;				/* no time at all: midnight */
		switch (tk)
		{
			case TK_YYYY:
				ok = fixed_digits(s, e, &i, 4, &t->year);
				break;
			case TK_MM:
				ok = short_digits(s, e, &i, &t->month);
				break;
			case TK_DD:
				ok = short_digits(s, e, &i, &t->day);
				break;
			case TK_HH:
				ok = short_digits(s, e, &i, &t->hour);
				t->has_time = 1;
				break;
			case TK_MI:
				ok = short_digits(s, e, &i, &t->minute);
				break;
			case TK_SS:
				ok = short_digits(s, e, &i, &t->second);
				break;
			default:
				ok = i < e && s[i] == lit;
				i += ok ? 1 : 0;
				break;
		}
		if (!ok)
			return TIME_ERR_SYNTAX;
	}
	if (i != e)
		return TIME_ERR_SYNTAX;
	return check_ranges(t);
}

int
recon_time_parse(const char *s, size_t len, const char *fmt, recon_time *t)
{
	size_t		b = 0;
	size_t		e = len;

	memset(t, 0, sizeof(*t));
	if (fmt != NULL && recon_time_format_check(fmt) != TIME_OK)
		return TIME_ERR_FORMAT;
	if (s == NULL)
		return TIME_ERR_SYNTAX;
	trim(s, &b, &e);
	if (b == e || e - b > RECON_TIME_MAX_LEN)
		return TIME_ERR_SYNTAX;
	if (fmt == NULL)
		return parse_iso(s, b, e, t);
	return parse_format(s, b, e, fmt, t);
}
