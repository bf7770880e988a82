/*
 * snapshot.c — immutable routing snapshots.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "snapshot.h"

static uint64_t	snapshot_generation;

/* The member of pool id at a: old's when it has one, else a new one. */
static struct member *
snapshot_member(const struct snapshot *old, enum pool_id id,
    const struct addr *a, bool hold)
{
	struct member	*m;

	m = old != NULL ? pool_find(old->pools[id], a) : NULL;
	if (m != NULL)
		return (member_ref(m));
	if ((m = member_new(id, a)) != NULL && hold)
		member_set_new(m);
	return (m);
}

static struct pool *
snapshot_build_pool(const struct config_pool *cp, enum pool_id id,
    const struct snapshot *old, const struct snapshot_dns *d)
{
	struct pool	*p;
	struct member	*m;
	size_t		 ndns = d != NULL ? d->naddrs : 0;
	size_t		 nstatic = cp->nmembers;
	/* the first answer's members serve at once, as static ones do, so
	 * that a restart does not answer 503 while the probes run */
	bool		 hold = d != NULL && d->answers > 1;

	if ((p = pool_new(id, cp->nmembers + ndns)) == NULL)
		return (NULL);
	for (size_t i = 0; i < cp->nmembers; i++) {
		if ((m = snapshot_member(old, id, &cp->members[i], false)) ==
		    NULL)
			goto fail;
		pool_add(p, m);
	}
	if (pool_index(p) == -1)
		goto fail;
	/* the answer and the index of the static members are both sorted:
	 * one walk finds the addresses that are both, which appear once */
	for (size_t i = 0, k = 0; i < ndns; i++) {
		while (k < nstatic && addr_cmp(&p->sorted[k]->addr,
		    &d->addrs[i]) < 0)
			k++;
		if (k < nstatic && addr_cmp(&p->sorted[k]->addr,
		    &d->addrs[i]) == 0)
			continue;
		if ((m = snapshot_member(old, id, &d->addrs[i], hold)) == NULL)
			goto fail;
		pool_add(p, m);
	}
	if (ndns > 0 && pool_index(p) == -1)
		goto fail;
	return (p);
fail:
	pool_unref(p);
	return (NULL);
}

struct snapshot *
snapshot_build(struct config *config, const struct snapshot *old,
    enum pool_id active)
{
	return (snapshot_build_dns(config, old, active, NULL));
}

struct snapshot *
snapshot_build_dns(struct config *config, const struct snapshot *old,
    enum pool_id active, const struct snapshot_dns *dns)
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
		s->shift_pool = old->shift_pool;
		s->shift_percent = old->shift_percent;
	}
	for (int i = 0; i < POOL_COUNT; i++)
		if ((s->pools[i] = snapshot_build_pool(&config->pools[i],
		    (enum pool_id)i, old, dns != NULL ? &dns[i] : NULL)) ==
		    NULL) {
			snapshot_unref(s);
			return (NULL);
		}
	return (s);
}

/* A copy of old sharing its configuration and pools, without a shift. */
static struct snapshot *
snapshot_copy(const struct snapshot *old)
{
	struct snapshot	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	s->refcnt = 1;
	s->generation = ++snapshot_generation;
	s->config = config_ref(old->config);
	for (int i = 0; i < POOL_COUNT; i++)
		s->pools[i] = pool_ref(old->pools[i]);
	s->active = old->active;
	s->has_previous = old->has_previous;
	s->previous = old->previous;
	return (s);
}

struct snapshot *
snapshot_with_active(const struct snapshot *old, enum pool_id active)
{
	struct snapshot	*s;

	if ((s = snapshot_copy(old)) == NULL)
		return (NULL);
	s->active = active;
	s->has_previous = true;
	s->previous = old->active;
	return (s);
}

struct snapshot *
snapshot_with_shift(const struct snapshot *old, enum pool_id pool,
    unsigned percent)
{
	struct snapshot	*s;

	if ((s = snapshot_copy(old)) == NULL)
		return (NULL);
	if (percent > 0) {
		s->shift_pool = pool;
		s->shift_percent = percent > 100 ? 100 : percent;
	}
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

static int
snapshot_addr_cmp(const void *x, const void *y)
{
	return (addr_cmp(x, y));
}

int
snapshot_dns_apply(struct snapshot_dns *d, const struct addr *a, size_t n)
{
	struct addr	*v;
	size_t		 k = 0;

	if (n == 0)
		return (0);
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return (-1);
	memcpy(v, a, n * sizeof(*v));
	qsort(v, n, sizeof(*v), snapshot_addr_cmp);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || addr_cmp(&v[k - 1], &v[i]) != 0)
			v[k++] = v[i];
	d->answers++;
	if (k == d->naddrs) {
		size_t	i;

		for (i = 0; i < k && addr_cmp(&v[i], &d->addrs[i]) == 0; i++)
			;
		if (i == k) {
			free(v);
			return (0);
		}
	}
	free(d->addrs);
	d->addrs = v;
	d->naddrs = k;
	return (1);
}

void
snapshot_dns_clear(struct snapshot_dns *d)
{
	free(d->addrs);
	memset(d, 0, sizeof(*d));
}

/* Appends " +ADDR" to buf, or "..." once it would not fit. */
static void
snapshot_diff_add(char *buf, size_t len, char sign, const char *text)
{
	size_t	n = strlen(buf);

	if (n + strlen(text) + 6 < len)
		snprintf(buf + n, len - n, "%s%c%s", n > 0 ? " " : "", sign,
		    text);
	else if (n + 4 < len && (n < 3 || strcmp(buf + n - 3, "...") != 0))
		snprintf(buf + n, len - n, " ...");
}

void
snapshot_diff(const struct snapshot *old, const struct snapshot *s,
    enum pool_id id, char *buf, size_t len, size_t *added, size_t *removed)
{
	const struct pool	*a = old->pools[id], *b = s->pools[id];

	*added = *removed = 0;
	if (len > 0)
		buf[0] = '\0';
	for (size_t i = 0; i < b->nmembers; i++)
		if (pool_find(a, &b->members[i]->addr) != b->members[i]) {
			(*added)++;
			snapshot_diff_add(buf, len, '+',
			    b->members[i]->addr.text);
		}
	for (size_t i = 0; i < a->nmembers; i++)
		if (pool_find(b, &a->members[i]->addr) != a->members[i]) {
			(*removed)++;
			snapshot_diff_add(buf, len, '-',
			    a->members[i]->addr.text);
		}
}
