/*
 * metrics.h — the request counters of one worker, per pool: requests by
 * status class, a latency histogram, bytes from and to clients.  Layer 2
 * (runtime).
 *
 * Each worker has one struct metrics (embedded in struct worker) that
 * only its own thread writes, with relaxed atomic loads and stores: no
 * locked instruction, and the block starts a cache line of its own.  A
 * scrape (status.c, on the control thread) sums the workers' blocks with
 * metrics_add.  Counting a request is one call at its end
 * (metrics_request): no allocation, no lock, no formatting.
 */
#ifndef CUTOVER_METRICS_H
#define CUTOVER_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "pool.h"

#define METRICS_CLASSES	5		/* 1xx .. 5xx */
#define METRICS_BOUNDS	13		/* finite histogram bounds */
#define METRICS_BUCKETS	(METRICS_BOUNDS + 1)	/* and +Inf */

/* One pool's counters in one worker.  buckets are not cumulative here
 * (one store per request); the exposition accumulates them. */
struct metrics_pool {
	_Atomic uint64_t	 requests[METRICS_CLASSES];
	_Atomic uint64_t	 buckets[METRICS_BUCKETS];
	_Atomic uint64_t	 sum_ns;	/* of the timed requests */
	_Atomic uint64_t	 bytes_in;	/* from clients */
	_Atomic uint64_t	 bytes_out;	/* to clients */
	_Atomic uint64_t	 panic;		/* requests routed in panic */
	_Atomic uint64_t	 preview;	/* preview requests (pick.h) */
};

/*
 * Mirrored requests (mirror.h), side by side: for the active pool the
 * client's responses, for the other pool the copies' (class
 * METRICS_MIRROR_ERROR: a copy that got no valid response, not timed).
 * Copies count here alone, never in struct metrics_pool.
 */
#define METRICS_MIRROR_ERROR	METRICS_CLASSES
#define METRICS_MIRROR_CLASSES	(METRICS_CLASSES + 1)

/* Why a sampled request was not mirrored. */
enum metrics_skip {
	METRICS_SKIP_BUSY,		/* mirror.max_inflight copies */
	METRICS_SKIP_BODY,		/* chunked, longer than max_body, or
					 * not sent whole (the copy cut) */
	METRICS_SKIP_NO_MEMBER,		/* no usable member in the other */
	METRICS_SKIP_LOCAL,		/* cutover's own shortage (memory) */
	METRICS_SKIPS
};

struct metrics_mirror {
	_Atomic uint64_t	 requests[METRICS_MIRROR_CLASSES];
	_Atomic uint64_t	 buckets[METRICS_BUCKETS];
	_Atomic uint64_t	 sum_ns;
};

struct metrics {
	_Alignas(64) struct metrics_pool pool[POOL_COUNT];
	_Atomic uint64_t	 preview_refused;	/* without the token */
	struct metrics_mirror	 mirror[POOL_COUNT];
	_Atomic uint64_t	 mirror_skipped[METRICS_SKIPS];
};

/* The same counters, summed over workers (plain numbers). */
struct metrics_totals {
	struct metrics_totals_pool {
		uint64_t	 requests[METRICS_CLASSES];
		uint64_t	 buckets[METRICS_BUCKETS];	/* not cumulative */
		uint64_t	 count;		/* timed requests */
		uint64_t	 sum_ns;
		uint64_t	 bytes_in;
		uint64_t	 bytes_out;
		uint64_t	 panic;
		uint64_t	 preview;
	}		 pool[POOL_COUNT];
	uint64_t	 preview_refused;
	struct metrics_totals_mirror {
		uint64_t	 requests[METRICS_MIRROR_CLASSES];
		uint64_t	 buckets[METRICS_BUCKETS];	/* not cumulative */
		uint64_t	 count;		/* timed */
		uint64_t	 sum_ns;
	}		 mirror[POOL_COUNT];
	uint64_t	 mirror_skipped[METRICS_SKIPS];
};

/* Requests whose head never was complete are counted, not timed. */
#define METRICS_UNTIMED	UINT64_MAX

/*
 * The histogram bucket of a request that took ns nanoseconds: the first
 * bound it does not exceed (Prometheus' le is inclusive), METRICS_BOUNDS
 * for +Inf.
 */
unsigned	 metrics_bucket(uint64_t ns);

/* Bucket i's upper bound in nanoseconds (i < METRICS_BOUNDS); UINT64_MAX
 * for +Inf. */
uint64_t	 metrics_bucket_bound_ns(unsigned i);

/* A bucket's upper bound as the exposition writes it: "0.001" ... "10",
 * "+Inf". */
const char	*metrics_bucket_le(unsigned i);

/* The class of a status: 0 for 1xx ... 4 for 5xx; codes below 200 count
 * as 1xx and codes from 600 as 5xx. */
unsigned	 metrics_class(int status);

/* "1xx" ... "5xx". */
const char	*metrics_class_name(unsigned cls);

/*
 * On the owning worker's thread: a request on pool ended with status,
 * after ns nanoseconds (METRICS_UNTIMED: not timed), having read in bytes
 * from its client and queued out bytes to it.
 */
void		 metrics_request(struct metrics *mx, enum pool_id pool,
		    int status, uint64_t ns, uint64_t in, uint64_t out);

/* On the owning worker's thread: bytes of a tunnel on pool (counted when
 * it ends; its 101 was counted as a request). */
void		 metrics_bytes(struct metrics *mx, enum pool_id pool,
		    uint64_t in, uint64_t out);

/* On the owning worker's thread: a request on pool was routed in panic
 * (health.panic), counted once however many members it tried. */
void		 metrics_panic(struct metrics *mx, enum pool_id pool);

/* On the owning worker's thread: a preview request went to pool. */
void		 metrics_preview(struct metrics *mx, enum pool_id pool);

/* On the owning worker's thread: a preview without the right token. */
void		 metrics_preview_refused(struct metrics *mx);
/*
 * On the owning worker's thread: a mirrored request's response on pool
 * (the client's on the active pool, the copy's on the other) had status
 * after ns nanoseconds; status -1 is a copy that failed (not timed).
 */
void		 metrics_mirror(struct metrics *mx, enum pool_id pool,
		    int status, uint64_t ns);

/* On the owning worker's thread: a sampled request was not mirrored. */
void		 metrics_mirror_skip(struct metrics *mx, enum metrics_skip why);

/* "1xx" ... "5xx", "error". */
const char	*metrics_mirror_class_name(unsigned cls);

/* "busy", "body", "no_member", "local". */
const char	*metrics_skip_name(enum metrics_skip why);

/*
 * The p99 of a histogram (not cumulative buckets, count in all) as the
 * upper bound of the bucket it falls in, in nanoseconds: an estimate, at
 * most the next bound above the true one.  0 when count is 0,
 * UINT64_MAX when it is past the last finite bound.
 */
uint64_t	 metrics_p99_ns(const uint64_t *buckets, uint64_t count);

/* Adds mx's counters to t (which it does not clear first).  Any thread. */
void		 metrics_add(const struct metrics *mx,
		    struct metrics_totals *t);

#endif
