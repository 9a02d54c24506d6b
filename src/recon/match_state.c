/*-------------------------------------------------------------------------
 *
 * match_state.c
 *	  The result of a run as the passes build it: matches with their
 *	  members, and exceptions; every item recorded is marked used, so
 *	  that later passes leave it alone.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "match_internal.h"

void *
rm_grow(const recon_allocator *a, void *old, size_t used, size_t *cap, size_t elem)
{
	size_t		ncap = *cap ? *cap * 2 : 1024;
	void	   *p = a->alloc(ncap * elem);

	if (old)
	{
		memcpy(p, old, used * elem);
		a->free(old);
	}
	*cap = ncap;
	return p;
}

void
rm_add_member(run_state *st, uint32_t item)
{
	recon_result *o = st->out;

	if (o->n_members == st->cap_members)
		o->members = rm_grow(st->a, o->members, o->n_members, &st->cap_members, sizeof(uint32_t));
	o->members[o->n_members++] = item;
	st->state[item] = USED_ITEM;
}

/* Start a match; its members follow with rm_add_member(). */
void
rm_begin_match(run_state *st, recon_rule rule, double confidence)
{
	recon_result *o = st->out;
	recon_match *m;
	long		bp;

	if (o->n_matches == st->cap_matches)
		o->matches = rm_grow(st->a, o->matches, o->n_matches, &st->cap_matches, sizeof(recon_match));
	if (confidence < 0)
		confidence = 0;
	if (confidence > 1)
		confidence = 1;
	bp = (long) (confidence * 10000.0 + 0.5);
	m = &o->matches[o->n_matches++];
	m->rule = (uint8_t) rule;
	m->confidence = (uint16_t) bp;
	m->first = (uint32_t) o->n_members;
	m->count = 0;
	o->by_rule[rule]++;
}

void
rm_end_match(run_state *st)
{
	recon_match *m = &st->out->matches[st->out->n_matches - 1];

	m->count = (uint32_t) (st->out->n_members - m->first);
}

void
rm_add_pair(run_state *st, recon_rule rule, double confidence, uint32_t x, uint32_t y)
{
	rm_begin_match(st, rule, confidence);
	rm_add_member(st, x);
	rm_add_member(st, y);
	rm_end_match(st);
}

void
rm_add_exception(run_state *st, uint32_t item, recon_class cls, int64_t counterpart)
{
	recon_result *o = st->out;
	recon_exception *e;

	if (o->n_exceptions == st->cap_exceptions)
		o->exceptions = rm_grow(st->a, o->exceptions, o->n_exceptions, &st->cap_exceptions, sizeof(recon_exception));
	e = &o->exceptions[o->n_exceptions++];
	e->item = item;
	e->cls = (uint8_t) cls;
	e->counterpart = counterpart;
	st->state[item] = USED_ITEM;
}
