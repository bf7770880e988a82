/*
 * snapshot.c — immutable routing snapshots.
 */
#include "autoconf.h"

#include <stdlib.h>

#include "config.h"
#include "snapshot.h"

static uint64_t	snapshot_generation;

static struct pool *
snapshot_build_pool(const struct config_pool *cp, enum pool_id id,
    const struct snapshot *old)
{
	struct pool	*p;
	struct member	*m;

	if ((p = pool_new(id, cp->nmembers)) == NULL)
		return (NULL);
	for (size_t i = 0; i < cp->nmembers; i++) {
		m = old != NULL ? pool_find(old->pools[id], &cp->members[i]) :
		    NULL;
		if (m != NULL)
			m = member_ref(m);
		else if ((m = member_new(id, &cp->members[i])) == NULL) {
			pool_unref(p);
			return (NULL);
		}
		pool_add(p, m);
	}
	if (pool_index(p) == -1) {
		pool_unref(p);
		return (NULL);
	}
	return (p);
}

struct snapshot *
snapshot_build(struct config *config, const struct snapshot *old,
    enum pool_id active)
{
	struct snapshot	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	s->refcnt = 1;
	s->generation = ++snapshot_generation;
	s->config = config_ref(config);
	s->active = active;
	if (old != NULL && old->active != active) {
		s->has_previous = true;
		s->previous = old->active;
	} else if (old != NULL) {
		s->has_previous = old->has_previous;
		s->previous = old->previous;
	}
	for (int i = 0; i < POOL_COUNT; i++)
		if ((s->pools[i] = snapshot_build_pool(&config->pools[i],
		    (enum pool_id)i, old)) == NULL) {
			snapshot_unref(s);
			return (NULL);
		}
	return (s);
}

struct snapshot *
snapshot_with_active(const struct snapshot *old, enum pool_id active)
{
	struct snapshot	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	s->refcnt = 1;
	s->generation = ++snapshot_generation;
	s->config = config_ref(old->config);
	for (int i = 0; i < POOL_COUNT; i++)
		s->pools[i] = pool_ref(old->pools[i]);
	s->active = active;
	s->has_previous = true;
	s->previous = old->active;
	return (s);
}

struct snapshot *
snapshot_ref(struct snapshot *s)
{
	s->refcnt++;
	return (s);
}

void
snapshot_unref(struct snapshot *s)
{
	if (s == NULL || --s->refcnt > 0)
		return;
	for (int i = 0; i < POOL_COUNT; i++)
		pool_unref(s->pools[i]);
	config_free(s->config);
	free(s);
}

struct pool *
snapshot_active(const struct snapshot *s)
{
	return (s->pools[s->active]);
}

bool
snapshot_has_member(const struct snapshot *s, const struct member *m)
{
	return (pool_find(s->pools[m->pool], &m->addr) == m);
}
