/*
 * router.c — the live snapshot, its publication, switch and rollback.
 */
#include "autoconf.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"

struct router *
router_new(struct snapshot *s, unsigned nreaders)
{
	struct router	*r;

	/* live on a cache line of its own, as the slots */
	if ((r = aligned_alloc(_Alignof(struct router), sizeof(*r))) == NULL)
		return (NULL);
	memset(r, 0, sizeof(*r));
	if (nreaders > 0 && (r->slots = aligned_alloc(64,
	    nreaders * sizeof(*r->slots))) == NULL) {
		free(r);
		return (NULL);
	}
	for (unsigned i = 0; i < nreaders; i++)
		atomic_init(&r->slots[i].hazard, NULL);
	r->nslots = nreaders;
	atomic_init(&r->live, s);
	return (r);
}

void
router_free(struct router *r)
{
	if (r == NULL)
		return;
	snapshot_unref(atomic_load(&r->live));
	free(r->slots);
	free(r);
}

struct snapshot *
router_live(const struct router *r)
{
	return (atomic_load_explicit(&((struct router *)r)->live,
	    memory_order_acquire));
}

/*
 * The hazard protocol (router.h).  Both sides store, then load the other
 * side's location, all sequentially consistent: either the reader's second
 * load sees the new pointer (and it tries again), or the control thread's
 * scan sees the reader's hazard (and waits for its reference).
 */
struct snapshot *
router_acquire(struct router *r, unsigned reader)
{
	_Atomic(struct snapshot *)	*h = &r->slots[reader].hazard;
	struct snapshot			*s;

	for (;;) {
		s = atomic_load(&r->live);
		atomic_store(h, s);
		if (atomic_load(&r->live) == s)
			break;
	}
	snapshot_ref(s);
	atomic_store_explicit(h, NULL, memory_order_release);
	return (s);
}

/* Publishes s and drops the router's reference to the snapshot it
 * replaces, once no reader is between loading and referencing it: a
 * window of a few instructions, so waiting for it is short. */
static void
router_publish(struct router *r, struct snapshot *s)
{
	struct snapshot	*old = atomic_load(&r->live);

	atomic_store(&r->live, s);
	for (unsigned i = 0; i < r->nslots; i++)
		while (atomic_load(&r->slots[i].hazard) == old)
			sched_yield();
	snapshot_unref(old);
}

int
router_switch(struct router *r, enum pool_id to, char *msg, size_t msglen)
{
	struct snapshot	*old = router_live(r), *s;

	if (to >= POOL_COUNT) {
		snprintf(msg, msglen, "no such pool");
		return (-1);
	}
	if (old->active == to && old->shift_percent == 0) {
		snprintf(msg, msglen, "%s is already active", pool_name(to));
		return (0);
	}
	/* a switch ends a shift, even to the pool already active */
	if (old->active == to) {
		if ((s = snapshot_with_shift(old, to, 0)) == NULL) {
			snprintf(msg, msglen, "out of memory");
			return (-1);
		}
		snprintf(msg, msglen, "%s is already active", pool_name(to));
		router_publish(r, s);
		return (0);
	}
	if ((s = snapshot_with_active(old, to)) == NULL) {
		snprintf(msg, msglen, "out of memory");
		return (-1);
	}
	snprintf(msg, msglen, "switched %s -> %s", pool_name(old->active),
	    pool_name(to));
	router_publish(r, s);
	return (0);
}

int
router_shift(struct router *r, enum pool_id to, unsigned percent, char *msg,
    size_t msglen)
{
	struct snapshot	*old = router_live(r), *s;

	if (to >= POOL_COUNT) {
		snprintf(msg, msglen, "no such pool");
		return (-1);
	}
	if (percent > 100) {
		snprintf(msg, msglen, "percent %u is not in 0..100", percent);
		return (-1);
	}
	if (old->active == to) {
		snprintf(msg, msglen, "%s is the active pool: shift the other "
		    "one, or switch", pool_name(to));
		return (-1);
	}
	if ((s = snapshot_with_shift(old, to, percent)) == NULL) {
		snprintf(msg, msglen, "out of memory");
		return (-1);
	}
	if (percent == 0)
		snprintf(msg, msglen, old->shift_percent > 0 ? "shift ended: "
		    "all to %s" : "no shift: all to %s",
		    pool_name(old->active));
	else
		snprintf(msg, msglen, "shifted %u%% to %s (was %u%%)", percent,
		    pool_name(to), old->shift_percent);
	router_publish(r, s);
	return (0);
}

int
router_previous(const struct router *r, enum pool_id *id, char *msg,
    size_t msglen)
{
	const struct snapshot	*s = router_live(r);

	if (!s->has_previous) {
		snprintf(msg, msglen, "nothing to roll back: %s has been "
		    "active since start", pool_name(s->active));
		return (-1);
	}
	*id = s->previous;
	return (0);
}

void
router_install(struct router *r, struct snapshot *s)
{
	router_publish(r, s);
}
