/*
 * pool.h — the members of one upstream pool and the choice among them.
 *
 * Members and pools are reference-counted: routing snapshots share them, a
 * reload carries a member whose address is unchanged into the new snapshot
 * (with its counters and idle connections), and a request keeps the
 * snapshot it was routed with, so nothing it uses is freed under it.
 */
#ifndef CUTOVER_POOL_H
#define CUTOVER_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "addr.h"
#include "health.h"

enum pool_id {
	POOL_BLUE,
	POOL_GREEN,
	POOL_COUNT,
};

struct upstream;
struct probe;
TAILQ_HEAD(upstream_list, upstream);

/*
 * What one worker keeps of a member.  Only that worker writes it, so
 * counting a request takes no locked instruction and no cache line is
 * shared between workers; status sums the workers' counts.
 */
struct member_local {
	_Alignas(64) struct upstream_list idle;	/* keep-alive connections */
	_Atomic unsigned	 nidle;
	_Atomic unsigned	 inflight;	/* requests routed here, not ended */
	_Atomic uint64_t	 requests;	/* requests routed here */
	_Atomic uint64_t	 connect_failures;
};

/*
 * A member's health and admin state are written by the control thread
 * only (workers post what they observe to it) and read by every worker.
 */
struct member {
	atomic_uint		 refcnt;
	enum pool_id		 pool;
	struct addr		 addr;
	struct member_local	*local;		/* one per worker */
	unsigned		 nlocal;
	_Atomic enum member_health health;
	_Atomic enum member_admin admin;
	unsigned		 ok_streak;	/* consecutive probe results */
	unsigned		 fail_streak;
	unsigned		 latency_ms;	/* of the last probe */
	char			 last[64];	/* the last probe's result */
	struct probe		*probe;		/* while it is probed */
};

/* A worker's round-robin cursor over a pool, on a cache line of its own. */
struct pool_cursor {
	_Alignas(64) size_t	 next;
};

struct pool {
	atomic_uint		 refcnt;
	enum pool_id		 id;
	struct member		**members;	/* in configuration order */
	size_t			 nmembers;
	struct member		**sorted;	/* by address (pool_index) */
	struct pool_cursor	*cursor;	/* one per worker */
};

/* "blue" or "green": the one place pool names come from. */
const char	*pool_name(enum pool_id id);

/* Parses a pool name; 0, or -1 if s names no pool. */
int		 pool_parse(const char *s, enum pool_id *id);

/*
 * How many workers members keep a struct member_local for (default 1).
 * Set once, before the first member is made.
 */
void		 pool_set_workers(unsigned n);

/* A new member with one reference, or NULL when out of memory. */
struct member	*member_new(enum pool_id pool, const struct addr *addr);
struct member	*member_ref(struct member *m);
/* Drops a reference; the last one closes idle connections and frees. */
void		 member_unref(struct member *m);

/* An empty pool with one reference, room for n members; NULL on ENOMEM. */
struct pool	*pool_new(enum pool_id id, size_t n);
/* Appends m (the pool takes the caller's reference). */
void		 pool_add(struct pool *p, struct member *m);
struct pool	*pool_ref(struct pool *p);
void		 pool_unref(struct pool *p);

/*
 * Sorts an index of p's members by address, so that pool_find takes
 * O(log n) (a pool may have tens of thousands).  Call once every member is
 * added.  0, or -1 when out of memory (pool_find then scans).
 */
int		 pool_index(struct pool *p);

/* The member of p with address a, or NULL. */
struct member	*pool_find(const struct pool *p, const struct addr *a);

/*
 * Chooses the next usable member in worker's round-robin order (each
 * worker goes round on its own), passing over the ntried members in tried
 * (those that already failed this request).  Returns a borrowed member,
 * or NULL when no usable member is left.
 */
struct member	*pool_select(struct pool *p, unsigned worker,
		    struct member *const *tried, size_t ntried);

/* Whether m may take a new request: ready, and not known to be down. */
bool		 member_is_usable(const struct member *m);

/* Whether m counts as healthy for a switch: ready and probed up. */
bool		 member_is_healthy(const struct member *m);

/* How many members of p are healthy. */
size_t		 pool_healthy(const struct pool *p);

/* m's counts, summed over the workers. */
struct member_counts {
	unsigned	 inflight;
	unsigned	 idle;
	uint64_t	 requests;
	uint64_t	 connect_failures;
};
void		 member_counts(const struct member *m,
		    struct member_counts *c);

/* Closes worker's idle keep-alive connections to the members of p. */
void		 pool_close_idle(struct pool *p, unsigned worker);

#endif
