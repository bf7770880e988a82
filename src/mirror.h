/*
 * mirror.h — shadow traffic: a share of the requests routed to the active
 * pool (mirror.percent) is copied to a member of the other pool, whose
 * answer is parsed for its framing and status only, counted, and
 * discarded.  Layer 2 (runtime).
 *
 * A copy lives on its own: its own upstream connection, its own timer
 * (mirror.timeout_ms, connect included), its own few bytes of state.  It
 * holds no pointer to the client's connection or exchange (a request whose
 * body is still coming holds one to its copy, to feed it), and nothing on
 * the client's path waits for it or reads it: the client's response is the
 * same with mirroring as without, whatever the other pool does.  Copies
 * are the worker thread's own (per-thread state, no shared writes); at
 * most mirror.max_inflight per worker, beyond which a request is skipped
 * and counted.  They do not feed passive health, the members' request
 * counts or the ordinary per-pool metrics.
 */
#ifndef CUTOVER_MIRROR_H
#define CUTOVER_MIRROR_H

#include <stdbool.h>
#include <stddef.h>

#include "pool.h"

/* The field that marks a copy; a client's own is removed (conn.c). */
#define MIRROR_FIELD	"X-Cutover-Mirror"

struct evbuffer;
struct http_buf;
struct http_msg;
struct mirror;
struct snapshot;
struct worker;

/*
 * On w's thread, once per request whose head is parsed and whose pool is
 * chosen (pool, routed with s): whether it is sampled and eligible, and
 * if so starts its copy to the other pool.  head is the head as forwarded
 * (the copy adds X-Cutover-Mirror: 1).  A Content-Length body of at most
 * mirror.max_body goes with the copy: copied from the front of in when it
 * is all there; when it is not, the copy waits for it and *feed is set:
 * the caller then hands the copy every body byte as it forwards it
 * (mirror_feed), or lets it go (mirror_drop).  Returns true when the
 * request counts as mirrored (its copy may still fail): the caller counts
 * the client's response with metrics_mirror(pool) at the request's end.
 * Never blocks, never touches the caller's state.
 */
bool	mirror_request(struct worker *w, const struct snapshot *s,
	    enum pool_id pool, const struct http_msg *req,
	    const struct http_buf *head, struct evbuffer *in,
	    struct mirror **feed);

/*
 * The next n body bytes of the request that copy m waits for are at the
 * front of in (left as they are: the caller forwards them).  Returns m
 * while it waits for more, NULL once it has them all or has ended; then m
 * is no longer the caller's.
 */
struct mirror *mirror_feed(struct mirror *m, struct evbuffer *in, size_t n);

/* The request's body will not come whole (the client went, or its
 * request ended first): m is no longer the caller's.  Returns true when
 * m's copy was still going: it is cut and counted as skipped ("body"), and
 * the request no longer counts as mirrored; false when it had ended
 * already (counted then). */
bool	mirror_drop(struct mirror *m);

/* On a worker's thread: cuts every copy it has in flight (shutdown), and
 * frees what the thread keeps for copies. */
void	mirror_cut_all(void);

/* On a worker's thread, after a reload: cuts its oldest copies in flight
 * beyond max (0: every one, mirroring turned off), so that the copies
 * hold no more connections than the new mirror.max_inflight counts;
 * returns how many it cut.  Each counts as a failed copy of its pool,
 * as one past mirror.timeout_ms does, so that the pools' counts stay
 * side by side. */
unsigned mirror_trim(unsigned max);

/* The copies in flight on the calling thread. */
unsigned mirror_inflight(void);

#endif
