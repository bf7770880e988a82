/*
 * router.c — the live snapshot, switch and rollback.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>

#include "router.h"

struct router *
router_new(struct snapshot *s)
{
	struct router	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return (NULL);
	r->live = s;
	return (r);
}

void
router_free(struct router *r)
{
	if (r == NULL)
		return;
	snapshot_unref(r->live);
	free(r);
}

struct snapshot *
router_live(const struct router *r)
{
	return (r->live);
}

int
router_switch(struct router *r, enum pool_id to, char *msg, size_t msglen)
{
	struct snapshot	*old = r->live, *s;

	if (to >= POOL_COUNT) {
		snprintf(msg, msglen, "no such pool");
		return (-1);
	}
	if (old->active == to) {
		snprintf(msg, msglen, "%s is already active", pool_name(to));
		return (0);
	}
	if ((s = snapshot_with_active(old, to)) == NULL) {
		snprintf(msg, msglen, "out of memory");
		return (-1);
	}
	r->live = s;
	snprintf(msg, msglen, "switched %s -> %s", pool_name(old->active),
	    pool_name(to));
	snapshot_unref(old);
	return (0);
}

int
router_previous(const struct router *r, enum pool_id *id, char *msg,
    size_t msglen)
{
	if (!r->live->has_previous) {
		snprintf(msg, msglen, "nothing to roll back: %s has been "
		    "active since start", pool_name(r->live->active));
		return (-1);
	}
	*id = r->live->previous;
	return (0);
}

void
router_install(struct router *r, struct snapshot *s)
{
	struct snapshot	*old = r->live;

	r->live = s;
	snapshot_unref(old);
}
