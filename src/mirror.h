/*
 * mirror.h — shadow traffic: a share of the requests routed to the active
 * pool (mirror.percent) is copied to a member of the other pool, whose
 * answer is parsed for its framing and status only, counted, and
 * discarded.  Layer 2 (runtime).
 *
 * A copy lives on its own: its own upstream connection, its own timer
 * (mirror.timeout_ms, connect included), its own few bytes of state.  It
 * holds no pointer to the client's connection or exchange, and nothing on
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
struct snapshot;
struct worker;

/*
 * On w's thread, once per request whose head is parsed and whose pool is
 * chosen (pool, routed with s): whether it is sampled and eligible, and
 * if so starts its copy to the other pool.  head is the head as forwarded
 * (the copy adds X-Cutover-Mirror: 1); the body, when the request has one,
 * is copied from the front of in only if it is already there whole.
 * Returns true when the request counts as mirrored (its copy may still
 * fail): the caller counts the client's response with
 * metrics_mirror(pool) at the request's end.  Never blocks, never touches
 * the caller's state.
 */
bool	mirror_request(struct worker *w, const struct snapshot *s,
	    enum pool_id pool, const struct http_msg *req,
	    const struct http_buf *head, struct evbuffer *in);

/* On a worker's thread: cuts every copy it has in flight (shutdown), and
 * frees what the thread keeps for copies. */
void	mirror_cut_all(void);

/* The copies in flight on the calling thread. */
unsigned mirror_inflight(void);

#endif
