/*
 * snapshot.h — the routing snapshot: the configuration, both pools and the
 * active pool, reached through one pointer (DESIGN.md).  A snapshot never
 * changes once built; a switch or a reload builds a new one and the router
 * swaps the pointer.  A request holds a reference to the snapshot it was
 * routed with until it ends.
 * Layer 1 (data).
 */
#ifndef CUTOVER_SNAPSHOT_H
#define CUTOVER_SNAPSHOT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pool.h"

struct config;

struct snapshot {
	atomic_uint	 refcnt;
	uint64_t	 generation;
	struct config	*config;
	struct pool	*pools[POOL_COUNT];
	enum pool_id	 active;
	bool		 has_previous;	/* a switch has happened */
	enum pool_id	 previous;	/* where rollback goes */
};

/*
 * Builds a snapshot of config (taking a reference to it) with active as the
 * active pool.  Members whose pool and address also appear in old (may be
 * NULL) are shared with it, keeping their counters and idle connections.
 * Returns a snapshot with one reference, or NULL when out of memory.
 */
struct snapshot	*snapshot_build(struct config *config,
		    const struct snapshot *old, enum pool_id active);

/*
 * A copy of old that shares its configuration and pools but has another
 * active pool, remembering old's active one as previous.  NULL on ENOMEM.
 */
struct snapshot	*snapshot_with_active(const struct snapshot *old,
		    enum pool_id active);

struct snapshot	*snapshot_ref(struct snapshot *s);
/* Drops a reference; the last one frees s and its share of the pools. */
void		 snapshot_unref(struct snapshot *s);

/* The active pool of s. */
struct pool	*snapshot_active(const struct snapshot *s);

/* Whether m (pool and address) is a member of s. */
bool		 snapshot_has_member(const struct snapshot *s,
		    const struct member *m);

#endif
