/*
 * router.h — which pool serves a request: the live routing snapshot, switch
 * and rollback.  The router owns one reference to the live snapshot; every
 * change builds a new snapshot aside and swaps it in one assignment.
 * Layer 1 (data).
 */
#ifndef CUTOVER_ROUTER_H
#define CUTOVER_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "pool.h"
#include "snapshot.h"

struct router {
	struct snapshot	*live;
};

/* A router serving s (takes the caller's reference); NULL on ENOMEM. */
struct router	*router_new(struct snapshot *s);
void		 router_free(struct router *r);

/* The live snapshot, borrowed: take a reference to keep it. */
struct snapshot	*router_live(const struct router *r);

/*
 * Makes pool `to` active for every snapshot taken from now on (workers
 * take it and close their idle connections to the pool that was active:
 * cutover.c).  Returns 0
 * with what happened in msg ("switched blue -> green", or "green is already
 * active"), or -1 with the reason in msg.
 */
int		 router_switch(struct router *r, enum pool_id to,
		    char *msg, size_t msglen);

/*
 * The pool that was active before the last switch, where a rollback goes:
 * 0 with *id set, or -1 with the reason in msg.
 */
int		 router_previous(const struct router *r, enum pool_id *id,
		    char *msg, size_t msglen);

/* Installs s (a reload; takes the caller's reference). */
void		 router_install(struct router *r, struct snapshot *s);

#endif
