/*
 * names.c
 *	  The extension's relations and columns by name, cached per backend.
 *
 * The posting engine opens its tables by name on every call (so that it
 * follows the install script, not hard-coded OIDs).  Looking the names up in
 * the system caches each time was 6 % of a transfer's instructions: a
 * namespace lookup and a pg_class probe per relation, a pg_attribute probe
 * per column (27 columns a transfer).  The answers are kept here until an
 * invalidation of the relation (DROP, RENAME, ALTER TABLE of any kind) or a
 * full cache reset arrives; those are processed when a lock is taken, exactly
 * when the system caches see them, so a cached answer is never staler than
 * the system cache's would be.
 *
 * Column lists are cached by the address of the caller's array: the callers
 * pass static arrays of names, so that one pointer comparison finds all of a
 * table's attribute numbers at once.
 */
#include "postgres.h"

#include "tpwallet.h"

#include "catalog/namespace.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"

#define CACHED_RELATIONS 32
#define CACHED_COLUMN_LISTS 16
#define MAX_CACHED_COLUMNS 32

typedef struct CachedRelation
{
	Oid			relid;
	NameData	name;
} CachedRelation;

typedef struct CachedColumns
{
	Oid			relid;
	const char *const *columns; /* the caller's static array: the key */
	int			ncolumns;
	AttrNumber	attnums[MAX_CACHED_COLUMNS];
} CachedColumns;

static CachedRelation relations[CACHED_RELATIONS];
static int	nrelations = 0;
static CachedColumns column_lists[CACHED_COLUMN_LISTS];
static int	ncolumn_lists = 0;
static bool callback_registered = false;

/* Forget what we know of the relation (or of every relation, for InvalidOid). */
static void
forget_relation(Datum arg, Oid relid)
{
	int			kept = 0;

	for (int i = 0; i < nrelations; i++)
		if (OidIsValid(relid) && relations[i].relid != relid)
			relations[kept++] = relations[i];
	nrelations = kept;
	kept = 0;
	for (int i = 0; i < ncolumn_lists; i++)
		if (OidIsValid(relid) && column_lists[i].relid != relid)
			column_lists[kept++] = column_lists[i];
	ncolumn_lists = kept;
}

static void
register_callback(void)
{
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(forget_relation, (Datum) 0);
		callback_registered = true;
	}
}

/* A relation of the tpwallet schema (a table, an index, a sequence) by name. */
Oid
tpw_relid(const char *name)
{
	Oid			relid;

	for (int i = 0; i < nrelations; i++)
		if (strcmp(NameStr(relations[i].name), name) == 0)
			return relations[i].relid;
	relid = get_relname_relid(name, get_namespace_oid("tpwallet", false));
	if (!OidIsValid(relid))
		elog(ERROR, "relation tpwallet.%s does not exist", name);
	register_callback();
	if (nrelations == CACHED_RELATIONS)
		nrelations = 0;			/* more than the engine uses: start over */
	relations[nrelations].relid = relid;
	namestrcpy(&relations[nrelations].name, name);
	nrelations++;
	return relid;
}

/* A column's attribute number, from the system cache. */
static AttrNumber
attnum_of(Oid relid, const char *column)
{
	AttrNumber	a = get_attnum(relid, column);

	if (a == InvalidAttrNumber)
		elog(ERROR, "column %s of %s does not exist", column, get_rel_name(relid));
	return a;
}

/*
 * The attribute numbers of columns[0..n-1] of relid into attnums.  columns
 * must be a static array (its address is the cache key).
 */
void
tpw_attnums(Oid relid, int n, const char *const *columns, AttrNumber *attnums)
{
	CachedColumns *c;

	for (int i = 0; i < ncolumn_lists; i++)
	{
		c = &column_lists[i];
		if (c->relid == relid && c->columns == columns && c->ncolumns == n)
		{
			memcpy(attnums, c->attnums, sizeof(AttrNumber) * n);
			return;
		}
	}
	for (int i = 0; i < n; i++)
		attnums[i] = attnum_of(relid, columns[i]);
	if (n > MAX_CACHED_COLUMNS)
		return;
	register_callback();
	if (ncolumn_lists == CACHED_COLUMN_LISTS)
		ncolumn_lists = 0;
	c = &column_lists[ncolumn_lists++];
	c->relid = relid;
	c->columns = columns;
	c->ncolumns = n;
	memcpy(c->attnums, attnums, sizeof(AttrNumber) * n);
}
