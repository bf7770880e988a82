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

#include "addr.h"
#include "pool.h"

struct config;

/*
 * What DNS last said of one pool's name (pools.NAME.dns): the address set
 * its snapshots merge with the pool's static members.  The root keeps one
 * per pool and feeds it every answer (snapshot_dns_apply); a failed or
 * empty answer never reaches it, so the last set is kept.
 */
struct snapshot_dns {
	struct addr	*addrs;		/* sorted, unique; owned */
	size_t		 naddrs;
	unsigned	 answers;	/* non-empty answers applied */
};

struct snapshot {
	atomic_uint	 refcnt;
	uint64_t	 generation;
	struct config	*config;
	struct pool	*pools[POOL_COUNT];
	enum pool_id	 active;
	bool		 has_previous;	/* a switch has happened */
	enum pool_id	 previous;	/* where rollback goes */
	/* a weighted shift: shift_percent (0: none) of the clients, by
	 * their bucket (pick.h), go to shift_pool, never the active one */
	enum pool_id	 shift_pool;
	unsigned	 shift_percent;
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
 * snapshot_build, where each pool's members are its static members
 * followed by the addresses of dns[pool] that are not among them (dns may
 * be NULL: none; a pool whose name never resolved has naddrs 0).  A member
 * that old has is shared, with its health, admin state, counters and idle
 * connections; an address that old lacks is a new member, which is
 * HEALTH_NEW (no traffic until probed up) when it came from DNS after the
 * pool's first answer, and unknown (usable) otherwise, as static members
 * are.
 */
struct snapshot	*snapshot_build_dns(struct config *config,
		    const struct snapshot *old, enum pool_id active,
		    const struct snapshot_dns *dns);

/*
 * Applies a non-empty answer of n addresses (any order; repeats allowed)
 * to d: the set becomes exactly them.  An empty answer (n == 0) keeps the
 * last set.  Returns 1 when the set changed, 0 when not, -1 when out of
 * memory (d unchanged).
 */
int		 snapshot_dns_apply(struct snapshot_dns *d,
		    const struct addr *a, size_t n);

/* Frees d's set and forgets its answers (a name that changed). */
void		 snapshot_dns_clear(struct snapshot_dns *d);

/*
 * How pool id's members differ from old to s: writes "+ADDR ... -ADDR
 * ..." (cut short with "..." when it does not fit) into buf and the counts
 * into *added and *removed (members shared by both are neither).
 */
void		 snapshot_diff(const struct snapshot *old,
		    const struct snapshot *s, enum pool_id id, char *buf,
		    size_t len, size_t *added, size_t *removed);

/*
 * A copy of old that shares its configuration and pools but has another
 * active pool, remembering old's active one as previous, and no shift.
 * NULL on ENOMEM.
 */
struct snapshot	*snapshot_with_active(const struct snapshot *old,
		    enum pool_id active);

/*
 * A copy of old that shares its configuration, pools and active pool but
 * shifts percent (0..100; 0 ends a shift) of the clients to pool, which is
 * not old's active one.  A switch (snapshot_with_active) ends a shift; a
 * reload or DNS answer (snapshot_build_dns, same active pool) keeps it.
 * NULL on ENOMEM.
 */
struct snapshot	*snapshot_with_shift(const struct snapshot *old,
		    enum pool_id pool, unsigned percent);

struct snapshot	*snapshot_ref(struct snapshot *s);
/* Drops a reference; the last one frees s and its share of the pools. */
void		 snapshot_unref(struct snapshot *s);

/* The active pool of s. */
struct pool	*snapshot_active(const struct snapshot *s);

/* Whether m (pool and address) is a member of s. */
bool		 snapshot_has_member(const struct snapshot *s,
		    const struct member *m);

#endif
