/*-------------------------------------------------------------------------
 *
 * interner.c
 *	  Interning byte strings for the matcher (see match.h): equal strings
 *	  get equal ids, so that the passes compare keys as integers.
 *
 * An open-addressing hash table, kept at most half full by doubling,
 * whose slots point into an arena of the copied bytes; the arena grows
 * by blocks of at least 64 kB and is freed whole.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "match.h"

typedef struct intern_slot
{
	uint64_t	hash;
	uint32_t	id;				/* 0 = empty */
	uint32_t	len;
	const char *bytes;
} intern_slot;

typedef struct arena_block
{
	struct arena_block *next;
	size_t		used;
	size_t		cap;
	char		data[];
} arena_block;

struct recon_interner
{
	const recon_allocator *a;
	intern_slot *slots;
	size_t		cap;			/* a power of two */
	uint32_t	count;
	arena_block *arena;
};

/* FNV-1a, then a final mix: keys are short and often share prefixes. */
static uint64_t
hash_bytes64(const char *s, size_t len)
{
	uint64_t	h = 1469598103934665603ULL;
	size_t		i;

	for (i = 0; i < len; i++)
	{
		h ^= (unsigned char) s[i];
		h *= 1099511628211ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static char *
arena_copy(recon_interner *in, const char *bytes, size_t len)
{
	arena_block *b = in->arena;
	char	   *p;

	if (b == NULL || b->cap - b->used < len)
	{
		size_t		cap = len > 65536 ? len : 65536;

		b = in->a->alloc(sizeof(arena_block) + cap);
		b->next = in->arena;
		b->used = 0;
		b->cap = cap;
		in->arena = b;
	}
	p = b->data + b->used;
	if (len > 0)
		memcpy(p, bytes, len);
	b->used += len;
	return p;
}

recon_interner *
recon_interner_create(const recon_allocator *a)
{
	recon_interner *in = a->alloc(sizeof(recon_interner));

	in->a = a;
	in->cap = 1024;
	in->count = 0;
	in->arena = NULL;
	in->slots = a->alloc(in->cap * sizeof(intern_slot));
	memset(in->slots, 0, in->cap * sizeof(intern_slot));
	return in;
}

/* the table at cap slots (a power of two, more than it has keys), rehashed */
static void
interner_resize(recon_interner *in, size_t cap)
{
	intern_slot *slots = in->a->alloc(cap * sizeof(intern_slot));
	size_t		i;

	memset(slots, 0, cap * sizeof(intern_slot));
	for (i = 0; i < in->cap; i++)
	{
		size_t		j;

		if (in->slots[i].id == 0)
			continue;
		for (j = in->slots[i].hash & (cap - 1); slots[j].id != 0; j = (j + 1) & (cap - 1))
			;
		slots[j] = in->slots[i];
	}
	in->a->free(in->slots);
	in->slots = slots;
	in->cap = cap;
}

static void
interner_grow(recon_interner *in)
{
	interner_resize(in, in->cap * 2);
}

void
recon_interner_reserve(recon_interner *in, size_t n)
{
	size_t		cap = in->cap;

	while (n * 2 > cap)
		cap *= 2;
	if (cap > in->cap)
		interner_resize(in, cap);
}

/* the id of bytes, whose hash is h, in a table with room for one more key */
static uint32_t
intern_hashed(recon_interner *in, const char *bytes, size_t len, uint64_t h)
{
	size_t		j;

	for (j = h & (in->cap - 1); in->slots[j].id != 0; j = (j + 1) & (in->cap - 1))
	{
		intern_slot *s = &in->slots[j];

		if (s->hash == h && s->len == len && memcmp(s->bytes, bytes, len) == 0)
			return s->id;
	}
	in->slots[j].hash = h;
	in->slots[j].len = (uint32_t) len;
	in->slots[j].bytes = arena_copy(in, bytes, len);
	in->slots[j].id = ++in->count;
	return in->slots[j].id;
}

uint32_t
recon_intern(recon_interner *in, const char *bytes, size_t len)
{
	if ((size_t) (in->count + 1) * 2 > in->cap)
		interner_grow(in);
	return intern_hashed(in, bytes, len, hash_bytes64(bytes, len));
}

void
recon_intern_many(recon_interner *in, const recon_key *keys, size_t n, uint32_t *ids)
{
	uint64_t	h[RECON_INTERN_MANY_MAX];
	size_t		i;

	if (n > RECON_INTERN_MANY_MAX)
	{
		for (i = 0; i < n; i++)
			ids[i] = keys[i].bytes ? recon_intern(in, keys[i].bytes, keys[i].len) : 0;
		return;
	}
	/* room for all of them first: the slots fetched below stay where they are */
	while ((size_t) (in->count + n) * 2 > in->cap)
		interner_grow(in);
	for (i = 0; i < n; i++)
		if (keys[i].bytes)
		{
			h[i] = hash_bytes64(keys[i].bytes, keys[i].len);
#if defined(__GNUC__)
			__builtin_prefetch(&in->slots[h[i] & (in->cap - 1)]);
#endif
		}
	for (i = 0; i < n; i++)
		ids[i] = keys[i].bytes ? intern_hashed(in, keys[i].bytes, keys[i].len, h[i]) : 0;
}

uint32_t
recon_interner_count(const recon_interner *in)
{
	return in->count;
}

void
recon_interner_destroy(recon_interner *in)
{
	arena_block *b = in->arena;

	while (b)
	{
		arena_block *next = b->next;

		in->a->free(b);
		b = next;
	}
	in->a->free(in->slots);
	in->a->free(in);
}
