/*
 * router.h — which pool serves a request: the live routing snapshot, switch
 * and rollback.  The router owns one reference to the live snapshot; every
 * change builds a new snapshot aside and publishes it in one atomic store.
 * Layer 1 (data).
 *
 * Publication.  The control thread alone changes the router.  Readers
 * (the workers, each with its own reader number) look at the live pointer
 * per request with one acquire load (router_peek) and take a reference only
 * when it changed (router_acquire).  A reader announces the pointer it is
 * about to reference in a hazard slot of its own before it takes the
 * reference, and the control thread, having published a new snapshot,
 * drops the router's reference to the old one only once no slot names it:
 * so no snapshot is freed between a reader's load and its reference, and
 * no reader writes a shared cache line per request.
 */
#ifndef CUTOVER_ROUTER_H
#define CUTOVER_ROUTER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "pool.h"
#include "snapshot.h"

/* A reader's hazard slot, on a cache line of its own. */
struct router_slot {
	_Alignas(64) _Atomic(struct snapshot *) hazard;
};

struct router {
	/* written by the control thread, read by every reader: apart from
	 * the slots, which readers write (only when the pointer changed) */
	_Alignas(64) _Atomic(struct snapshot *) live;
	struct router_slot	*slots;
	unsigned		 nslots;
};

/*
 * A router serving s (takes the caller's reference) to readers 0 to
 * nreaders-1; NULL on ENOMEM.
 */
struct router	*router_new(struct snapshot *s, unsigned nreaders);
void		 router_free(struct router *r);

/* The live snapshot, borrowed: on the control thread only (which alone
 * replaces it); take a reference to keep it. */
struct snapshot	*router_live(const struct router *r);

/* The live snapshot's address, to compare with the one a reader holds;
 * any thread.  Not to be dereferenced: router_acquire() for that. */
static inline const struct snapshot *
router_peek(const struct router *r)
{
	return (atomic_load_explicit(&((struct router *)r)->live,
	    memory_order_acquire));
}

/* The live snapshot with a reference for the caller, reader `reader`. */
struct snapshot	*router_acquire(struct router *r, unsigned reader);

/*
 * Makes pool `to` active for every snapshot taken from now on (workers
 * pick it up at their next request: worker.h), and ends a shift (also
 * when `to` is active already).  Returns 0
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

/*
 * Sends percent (0..100) of the clients to pool `to` (pick.h), published
 * as a switch is; 0 ends a shift.  Returns 0 with what happened in msg, or
 * -1 with the reason (to is the active pool, percent above 100).
 */
int		 router_shift(struct router *r, enum pool_id to,
		    unsigned percent, char *msg, size_t msglen);

/* Installs s (a reload; takes the caller's reference). */
void		 router_install(struct router *r, struct snapshot *s);

#endif
