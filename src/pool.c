/*
 * pool.c — members of a pool and the choice among them; a member's health
 * (rise/fall, passive failures) and admin state.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pool.h"

static const char *pool_names[POOL_COUNT] = { "blue", "green" };
static unsigned pool_nworkers = 1;

void
pool_set_workers(unsigned n)
{
	pool_nworkers = n > 0 ? n : 1;
}

const char *
pool_name(enum pool_id id)
{
	return (id < POOL_COUNT ? pool_names[id] : "none");
}

int
pool_parse(const char *s, enum pool_id *id)
{
	for (int i = 0; i < POOL_COUNT; i++)
		if (strcmp(s, pool_names[i]) == 0) {
			*id = (enum pool_id)i;
			return (0);
		}
	return (-1);
}

struct member *
member_new(enum pool_id pool, const struct addr *addr)
{
	struct member	*m;

	size_t		 size = pool_nworkers * sizeof(*m->local);

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return (NULL);
	if ((m->local = aligned_alloc(_Alignof(struct member_local), size))
	    == NULL) {
		free(m);
		return (NULL);
	}
	memset(m->local, 0, size);
	m->nlocal = pool_nworkers;
	for (unsigned i = 0; i < m->nlocal; i++) {
		TAILQ_INIT(&m->local[i].idle);
		TAILQ_INIT(&m->local[i].warming);
	}
	m->refcnt = 1;
	m->pool = pool;
	m->addr = *addr;
	snprintf(m->last, sizeof(m->last), "none yet");
	return (m);
}

struct member *
member_ref(struct member *m)
{
	m->refcnt++;
	return (m);
}

void
member_unref(struct member *m)
{
	if (m == NULL || --m->refcnt > 0)
		return;
	/* an idle connection holds a reference: none is left */
	free(m->local);
	free(m);
}

struct pool *
pool_new(enum pool_id id, size_t n)
{
	struct pool	*p;

	size_t		 size = pool_nworkers * sizeof(*p->cursor);

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return (NULL);
	if ((n > 0 && (p->members = calloc(n, sizeof(*p->members))) == NULL) ||
	    (p->cursor = aligned_alloc(_Alignof(struct pool_cursor), size)) ==
	    NULL) {
		free(p->members);
		free(p);
		return (NULL);
	}
	/* workers start apart, so their first requests spread */
	for (unsigned i = 0; i < pool_nworkers; i++)
		p->cursor[i].next = i;
	p->refcnt = 1;
	p->id = id;
	return (p);
}

void
pool_add(struct pool *p, struct member *m)
{
	p->members[p->nmembers++] = m;
}

struct pool *
pool_ref(struct pool *p)
{
	p->refcnt++;
	return (p);
}

void
pool_unref(struct pool *p)
{
	if (p == NULL || --p->refcnt > 0)
		return;
	for (size_t i = 0; i < p->nmembers; i++)
		member_unref(p->members[i]);
	free(p->members);
	free(p->sorted);
	free(p->cursor);
	free(p);
}

static int
pool_member_cmp(const void *x, const void *y)
{
	return (addr_cmp(&(*(struct member *const *)x)->addr,
	    &(*(struct member *const *)y)->addr));
}

int
pool_index(struct pool *p)
{
	free(p->sorted);
	p->sorted = NULL;
	if (p->nmembers == 0)
		return (0);
	if ((p->sorted = calloc(p->nmembers, sizeof(*p->sorted))) == NULL)
		return (-1);
	memcpy(p->sorted, p->members, p->nmembers * sizeof(*p->sorted));
	qsort(p->sorted, p->nmembers, sizeof(*p->sorted), pool_member_cmp);
	return (0);
}

struct member *
pool_find(const struct pool *p, const struct addr *a)
{
	size_t	lo = 0, hi = p->nmembers, mid;
	int	d;

	if (p->sorted == NULL) {
		for (size_t i = 0; i < p->nmembers; i++)
			if (addr_equal(&p->members[i]->addr, a))
				return (p->members[i]);
		return (NULL);
	}
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((d = addr_cmp(&p->sorted[mid]->addr, a)) == 0)
			return (p->sorted[mid]);
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (NULL);
}

static bool
pool_was_tried(const struct member *m, struct member *const *tried,
    size_t ntried)
{
	for (size_t i = 0; i < ntried; i++)
		if (tried[i] == m)
			return (true);
	return (false);
}

struct member *
pool_select(struct pool *p, unsigned worker, struct member *const *tried,
    size_t ntried)
{
	struct member	*m;

	for (size_t n = 0; n < p->nmembers; n++) {
		m = p->members[p->cursor[worker].next++ % p->nmembers];
		if (member_is_usable(m) && !pool_was_tried(m, tried, ntried))
			return (m);
	}
	return (NULL);
}

/* Whether a panic pick may choose m: ready, and down by health only. */
static bool
member_is_panic_pick(const struct member *m)
{
	return (m->admin == MEMBER_READY && m->health == HEALTH_DOWN);
}

/* Whether m is ready and new: found by DNS, its probes not passed yet. */
static bool
member_is_new_pick(const struct member *m)
{
	return (m->admin == MEMBER_READY && m->health == HEALTH_NEW);
}

/* The next member in worker's turn that pick accepts, not in tried. */
static struct member *
pool_select_if(struct pool *p, unsigned worker, struct member *const *tried,
    size_t ntried, bool (*pick)(const struct member *))
{
	struct member	*m;

	/* the same cursor as pool_select: its lap that found nothing left
	 * it where it was, so these picks go round in turn too */
	for (size_t n = 0; n < p->nmembers; n++) {
		m = p->members[p->cursor[worker].next++ % p->nmembers];
		if (pick(m) && !pool_was_tried(m, tried, ntried))
			return (m);
	}
	return (NULL);
}

struct member *
pool_select_new(struct pool *p, unsigned worker, struct member *const *tried,
    size_t ntried)
{
	return (pool_select_if(p, worker, tried, ntried, member_is_new_pick));
}

struct member *
pool_select_panic(struct pool *p, unsigned worker,
    struct member *const *tried, size_t ntried)
{
	return (pool_select_if(p, worker, tried, ntried,
	    member_is_panic_pick));
}

/* How many members of p are what `is` says. */
static size_t
pool_count(const struct pool *p, bool (*is)(const struct member *))
{
	size_t	n = 0;

	for (size_t i = 0; i < p->nmembers; i++)
		n += is(p->members[i]);
	return (n);
}

size_t
pool_usable(const struct pool *p)
{
	return (pool_count(p, member_is_usable));
}

size_t
pool_panic_members(const struct pool *p)
{
	return (pool_count(p, member_is_panic_pick));
}

bool
pool_is_panic(const struct pool *p)
{
	return (pool_usable(p) == 0 && pool_count(p, member_is_new_pick) == 0 &&
	    pool_panic_members(p) > 0);
}

bool
member_is_usable(const struct member *m)
{
	return (m->admin == MEMBER_READY && (m->health == HEALTH_UNKNOWN ||
	    m->health == HEALTH_UP));
}

bool
member_is_healthy(const struct member *m)
{
	return (m->admin == MEMBER_READY && m->health == HEALTH_UP);
}

size_t
pool_healthy(const struct pool *p)
{
	return (pool_count(p, member_is_healthy));
}

void
member_counts(const struct member *m, struct member_counts *c)
{
	const struct member_local	*l;

	memset(c, 0, sizeof(*c));
	for (unsigned i = 0; i < m->nlocal; i++) {
		l = &m->local[i];
		c->inflight += atomic_load_explicit(&l->inflight,
		    memory_order_relaxed);
		c->idle += atomic_load_explicit(&l->nidle,
		    memory_order_relaxed);
		c->requests += atomic_load_explicit(&l->requests,
		    memory_order_relaxed);
		c->connect_errors += atomic_load_explicit(
		    &l->connect_errors, memory_order_relaxed);
		c->connect_timeouts += atomic_load_explicit(
		    &l->connect_timeouts, memory_order_relaxed);
	}
	c->connect_failures = c->connect_errors + c->connect_timeouts;
}

static const char *const member_health_names[] = { "unknown", "up",
	"down", "new" };
static const char *const member_admin_names[] = { "ready", "drain",
	"maint" };

#define MEMBER_NADMIN	(sizeof(member_admin_names) / \
	sizeof(member_admin_names[0]))

const char *
member_health_name(enum member_health h)
{
	return (member_health_names[h]);
}

const char *
member_admin_name(enum member_admin a)
{
	return (member_admin_names[a]);
}

int
member_admin_parse(const char *s, enum member_admin *a)
{
	for (size_t i = 0; i < MEMBER_NADMIN; i++)
		if (strcmp(s, member_admin_names[i]) == 0) {
			*a = (enum member_admin)i;
			return (0);
		}
	return (-1);
}

enum member_admin
member_set_admin(struct member *m, enum member_admin a)
{
	enum member_admin	old = m->admin;

	m->admin = a;
	return (old);
}

void
member_set_new(struct member *m)
{
	m->health = HEALTH_NEW;
}

bool
member_apply_probe(struct member *m, bool ok, unsigned rise, unsigned fall)
{
	enum member_health	old = m->health;

	m->probes[ok]++;
	if (ok) {
		m->ok_streak++;
		m->fail_streak = 0;
		if (m->health != HEALTH_UP && m->ok_streak >= rise)
			m->health = HEALTH_UP;
	} else {
		m->fail_streak++;
		m->ok_streak = 0;
		/* never seen working: one failure is enough to keep
		 * traffic away; a member that worked gets `fall` chances */
		if (m->health == HEALTH_UNKNOWN || m->health == HEALTH_NEW ||
		    (m->health == HEALTH_UP && m->fail_streak >= fall))
			m->health = HEALTH_DOWN;
	}
	return (m->health != old);
}

void
member_set_last(struct member *m, const char *why, unsigned latency_ms)
{
	m->latency_ms = latency_ms;
	snprintf(m->last, sizeof(m->last), "%s", why);
	/* strerror() capitalises; the log and status read better without */
	if (m->last[0] >= 'A' && m->last[0] <= 'Z' && m->last[1] >= 'a')
		m->last[0] = (char)(m->last[0] - 'A' + 'a');
}

bool
member_fail_now(struct member *m, const char *why)
{
	m->ok_streak = 0;
	m->fail_streak++;
	snprintf(m->last, sizeof(m->last), "passive: %s", why);
	if (m->health == HEALTH_DOWN)
		return (false);
	log_warn("health: %s %s %s -> down (passive: %s)", pool_name(m->pool),
	    m->addr.text, member_health_name(m->health), why);
	m->health = HEALTH_DOWN;
	return (true);
}

bool
member_observe(struct member *m, const char *why, unsigned fall)
{
	m->ok_streak = 0;
	m->fail_streak++;
	snprintf(m->last, sizeof(m->last), "passive: %s", why);
	if (m->health == HEALTH_DOWN || m->fail_streak < fall)
		return (false);
	log_warn("health: %s %s %s -> down (%u/%u failed, passive: %s)",
	    pool_name(m->pool), m->addr.text, member_health_name(m->health),
	    m->fail_streak, fall, why);
	m->health = HEALTH_DOWN;
	return (true);
}
