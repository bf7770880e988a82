/*
 * upstream.h — connections from cutover to pool members, and each member's
 * list of idle keep-alive connections.  A busy upstream belongs to one
 * client connection (conn.c sets its callbacks); an idle one belongs to its
 * member's list of its worker and is closed when the member leaves the
 * configuration, when it goes down, or when the peer closes it.  The
 * inactive pool keeps at most upstream.warm_idle of them per member per
 * worker (upstream_warm opens them, upstream_trim_idle cuts down to it),
 * so that the first requests after a switch need not connect.
 * Layer 2 (runtime).
 */
#ifndef CUTOVER_UPSTREAM_H
#define CUTOVER_UPSTREAM_H

#include <stdbool.h>
#include <sys/queue.h>

#include "http.h"
#include "io.h"

struct event_base;
struct member;
struct pool;
struct conn;

#define UPSTREAM_IDLE_MS	30000	/* an idle connection is closed after */

struct upstream {
	TAILQ_ENTRY(upstream)	 entry;		/* in member->idle */
	struct member		*member;	/* a reference */
	unsigned		 worker;	/* whose thread it belongs to */
	struct io		 io;
	struct http_msg		 resp;
	struct conn		*conn;		/* owner while busy */
	bool			 connected;
	unsigned		 uses;		/* requests sent on it */
};

/*
 * An idle, connected upstream to m of worker's list, or NULL.  With check,
 * one the member closed an instant ago is dropped first (a syscall each):
 * for a request that could not be sent again if it were lost on it.  Its
 * idle timeouts stay until the caller, before the loop runs again, sets
 * its own (io_timeouts).
 */
struct upstream	*upstream_take(struct member *m, unsigned worker,
		    bool check);

/*
 * Starts a connection to m.  The caller sets the callback (io_setcb); it
 * sees IO_CONNECTED, or an error or IO_TIMEOUT after connect_ms.  Returns
 * NULL with errno set when the attempt failed at once.
 */
struct upstream	*upstream_connect(struct event_base *base, unsigned worker,
		    struct member *m, unsigned connect_ms);

/* Puts u on its member's idle list of its worker; frees it when that list
 * already holds max (upstream.max_idle for a connection that carried a
 * request). */
void		 upstream_park(struct upstream *u, unsigned max);

/* Closes u and drops its member reference; NULL is a no-op. */
void		 upstream_free(struct upstream *u);

/*
 * Closes worker's idle connections to m, and those upstream_warm() has
 * under way (on worker's thread).  The idle
 * lists of struct member_local are this module's alone (pool.h): nothing
 * below it closes one.
 */
void		 upstream_close_idle(struct member *m, unsigned worker);

/*
 * Closes worker's idle connections to m beyond the keep most recently
 * parked (on worker's thread).
 */
void		 upstream_trim_idle(struct member *m, unsigned worker,
		    unsigned keep);

/*
 * Starts connections to m until worker's idle ones and those under way
 * reach want; each joins the idle list once connected.  A failed attempt
 * is logged at debug level only: probes judge the member's health.  On
 * worker's thread, whose event base is base.
 */
void		 upstream_warm(struct event_base *base, unsigned worker,
		    struct member *m, unsigned want, unsigned connect_ms);

/* Closes worker's idle connections to every member of p (its thread). */
void		 upstream_close_pool_idle(struct pool *p, unsigned worker);

#endif
