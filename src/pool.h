/*
 * pool.h — the members of one upstream pool and the choice among them, and
 * each member's state: its health (the rise/fall state machine fed by the
 * probes of probe.c and by failures seen on real traffic) and its admin
 * state (ready, drain, maint).
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

enum pool_id {
	POOL_BLUE,
	POOL_GREEN,
	POOL_COUNT,
};

enum member_health {
	HEALTH_UNKNOWN,		/* not probed yet: usable */
	HEALTH_UP,
	HEALTH_DOWN,
	/* added by DNS to a pool that already had an answer: no traffic
	 * until probes make it up, as a Pod that just started may not be
	 * ready to serve */
	HEALTH_NEW,
};

enum member_admin {
	MEMBER_READY,
	MEMBER_DRAIN,		/* no new requests; still probed */
	MEMBER_MAINT,		/* no requests, no probes */
};

struct upstream;
struct probe;
TAILQ_HEAD(upstream_list, upstream);

/*
 * What one worker keeps of a member.  Only that worker writes it, so
 * counting a request takes no locked instruction and no cache line is
 * shared between workers; status sums the workers' counts.
 *
 * The idle lists belong to upstream.c (L2), which alone parks, takes and
 * closes connections on them (upstream_close_idle, upstream_close_pool_idle):
 * pool.c only makes them empty.  Pool never needs to close one itself,
 * since every idle connection holds a reference to its member: when
 * member_unref drops the last one, the member has none left.
 */
struct member_local {
	_Alignas(64) struct upstream_list idle;	/* keep-alive connections */
	_Atomic unsigned	 nidle;
	struct upstream_list	 warming;	/* upstream_warm's connects */
	unsigned		 nwarming;
	_Atomic unsigned	 inflight;	/* requests routed here, not ended */
	_Atomic uint64_t	 requests;	/* requests routed here */
	/* apart, so that no sum read while a worker counts goes negative */
	_Atomic uint64_t	 connect_errors;	/* refused, reset, ... */
	_Atomic uint64_t	 connect_timeouts;
};

/*
 * A member's health and admin state are written by the control thread
 * only (workers post what they observe to it) and read by every worker;
 * they change only through the member_* functions below, which alone
 * write health, admin, the streaks, latency_ms, last and probes.
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
	uint64_t		 probes[2];	/* [ok]: results of active probes */
	struct probe		*probe;		/* probe.c's, while probed */
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

/*
 * When p has no usable member: the next member in worker's round-robin
 * order that is ready and new (HEALTH_NEW: DNS lists it, its probes have
 * not passed yet), passing over those in tried; NULL when there is none.
 * Kubernetes lists only ready Pods, so when every Pod was replaced
 * between two lookups, the new ones serve at once instead of the pool
 * answering 503 until their probes pass.  The caller asks pool_select
 * first.
 */
struct member	*pool_select_new(struct pool *p, unsigned worker,
		    struct member *const *tried, size_t ntried);

/*
 * Panic routing (health.panic): when p has no usable member, chooses the
 * next member in worker's round-robin order that is ready and down (never
 * one in drain or maintenance), passing over those in tried.  The choice
 * changes nothing of the member: probes alone bring it back.  Returns a
 * borrowed member, or NULL when there is none.  The caller asks
 * pool_select first; this is only the way out when it found nothing.
 */
struct member	*pool_select_panic(struct pool *p, unsigned worker,
		    struct member *const *tried, size_t ntried);

/* How many members of p are usable (member_is_usable). */
size_t		 pool_usable(const struct pool *p);

/* How many members of p a panic pick chooses among: ready and down. */
size_t		 pool_panic_members(const struct pool *p);

/*
 * Whether p would route in panic (health.panic permitting): none of its
 * members is usable or new, yet some are ready and down by health.
 */
bool		 pool_is_panic(const struct pool *p);

/*
 * Whether m may take a new request: ready, and neither known to be down
 * nor new (HEALTH_NEW waits for its probes).
 */
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
	uint64_t	 connect_failures;	/* errors and timeouts */
	uint64_t	 connect_errors;
	uint64_t	 connect_timeouts;
};
void		 member_counts(const struct member *m,
		    struct member_counts *c);

/* "unknown", "up", "down", "new": the names of a member's health. */
const char	*member_health_name(enum member_health h);

/*
 * "ready", "drain", "maint": the admin states, the one list of their
 * names (admin commands, the log and status all use these).
 */
const char	*member_admin_name(enum member_admin a);

/* Parses an admin state's name; 0, or -1 if s names none. */
int		 member_admin_parse(const char *s, enum member_admin *a);

/* Sets m's admin state (control thread); returns the one it had. */
enum member_admin member_set_admin(struct member *m, enum member_admin a);

/*
 * Makes m, which no snapshot holds yet, a new member that takes no
 * traffic until `rise` probes succeed (HEALTH_NEW).  Nothing is logged:
 * it is not a transition of a member anyone saw.
 */
void		 member_set_new(struct member *m);

/*
 * The rise/fall state machine: applies one probe result to m's streaks and
 * health.  An unknown or new member goes down at its first failure, an up one
 * after `fall` failures in a row; `rise` successes in a row make it up.
 * Counts the result in m->probes.  Returns true when m's health changed;
 * the caller logs the transition.
 */
bool		 member_apply_probe(struct member *m, bool ok, unsigned rise,
		    unsigned fall);

/*
 * Records what m's last probe found (why: "200", "timed out", ...;
 * lower-cased at the start, as strerror() capitalises) and how long it took.
 */
void		 member_set_last(struct member *m, const char *why,
		    unsigned latency_ms);

/*
 * A failure seen on real traffic (refused, reset, connect timeout): m is
 * down at once, and active probes bring it back after `rise` successes.
 * Logs the transition.  Returns true when m went down: the caller closes
 * its idle connections.
 */
bool		 member_fail_now(struct member *m, const char *why);

/*
 * A bad answer seen on real traffic (an invalid response, a close in the
 * middle of one): counts as one failed probe, so `fall` (1 or more) of
 * them in a row take the member down; one buggy endpoint does not eject it
 * at once.  Logs the transition.  Returns true when m went down.
 */
bool		 member_observe(struct member *m, const char *why,
		    unsigned fall);

#endif
