/*
 * cutover.h — the root context: one per process, made in main().  It owns
 * the control thread's event loop, the live configuration, the router, the
 * workers (worker.h: their listeners and client connections), the admin
 * sockets and the health probes, and does what touches several of them at
 * once: start, reload, switch, status, shutdown.  Everything here runs on
 * the control thread unless it says otherwise.
 */
#ifndef CUTOVER_CUTOVER_H
#define CUTOVER_CUTOVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include "pool.h"
#include "worker.h"

struct event_base;
struct event;
struct evbuffer;
struct config;
struct router;
struct admin;
struct probes;
struct member;

/* The workers' counters, summed. */
struct cutover_totals {
	unsigned	 conns;			/* client connections open */
	uint64_t	 connections;		/* accepted */
	uint64_t	 requests;		/* request heads parsed */
	uint64_t	 responses;		/* responses relayed */
	uint64_t	 errors;		/* error responses we made */
	uint64_t	 upstream_failures;	/* connects refused or timed out */
	unsigned	 inflight[POOL_COUNT];	/* requests per pool */
	unsigned	 tunnels[POOL_COUNT];	/* of which tunnels */
};

/*
 * Threads: the control thread owns every field.  Workers read base,
 * config, router and workers only inside a job (workers_run), while the
 * control thread waits for them, so the job's mutex orders those reads
 * after the writes.  The fields workers use outside jobs are atomic and
 * say so.
 */
struct cutover {
	struct event_base	*base;		/* the control thread's */
	char			*config_path;
	struct config		*config;	/* last configuration loaded */
	struct router		*router;
	struct workers		*workers;
	struct admin		*admin;
	struct admin		*admin_readonly;	/* NULL: none */
	struct cutover_drain {
		struct cutover	*cx;
		enum pool_id	 pool;
		struct event	*ev;
		atomic_uint	 n;		/* tunnels the workers close
						 * (summed by jobs) */
	}			 drain[POOL_COUNT];	/* after a switch */
	struct probes		*probes;
	time_t			 started;
	struct {
		time_t		 at;		/* 0: no reload yet */
		bool		 ok;
		char		 msg[512];
	}			 reload;
	/* SIGTERM: not ready.  Written once by the control thread, read by
	 * every worker per response (Connection: close); it publishes nothing
	 * else, so the (seq_cst) plain reads and writes of an atomic_bool are
	 * more than enough. */
	atomic_bool		 stopping;
	/* the control thread's alone (read in its posts and timers) */
	bool			 draining;	/* listeners closed, exiting */
	bool			 exiting;	/* cutover_free under way */
	/* listen.c: whether the workers' total is at limits.max_connections
	 * (read by every worker, written by the control thread), and whether
	 * a worker has posted a recount (set by the worker that posts) */
	atomic_bool		 full;
	atomic_bool		 pace_posted;
	struct event		*ev_hup, *ev_term, *ev_int, *ev_grace;
	struct event		*ev_delay;	/* shutdown.delay_ms */
};

/*
 * Loads path, opens listeners and the admin socket, and installs signal
 * handlers on base.  Returns the context, or NULL with a reason in err.
 */
struct cutover	*cutover_new(struct event_base *base, const char *path,
		    char *err, size_t errlen);

/* Frees the context and everything it owns, closing every connection. */
void		 cutover_free(struct cutover *cx);

/* Sums the workers' counters into t. */
void		 cutover_totals(struct cutover *cx, struct cutover_totals *t);

/* Posted by a worker that drained its last connection at shutdown. */
void		 cutover_worker_drained(struct cutover *cx, void *arg);

/* Closes every worker's idle connections to m. */
void		 cutover_close_idle(struct cutover *cx, struct member *m);

/* The `fall` of cutover_observe for a failure that takes m down at once
 * (a configured fall is 1 to 100). */
#define CUTOVER_FAIL_NOW	0u

/*
 * On worker w's thread: m failed a request.  fall CUTOVER_FAIL_NOW: it is
 * down at once (refused, reset: member_fail_now); otherwise it counts as
 * one failed probe of `fall` (member_observe).  The control thread applies
 * it, logs a change and closes m's idle connections when m went down.
 */
void		 cutover_observe(struct worker *w, struct member *m,
		    const char *why, unsigned fall);

/*
 * Admin operations.  Each returns 0 with what happened in msg, or -1 with
 * the reason in msg; each logs itself once.
 */
int		 cutover_switch(struct cutover *cx, const char *pool,
		    bool force, char *msg, size_t msglen);
int		 cutover_rollback(struct cutover *cx, bool force, char *msg,
		    size_t msglen);
int		 cutover_reload(struct cutover *cx, char *msg, size_t msglen);

/* Sets a member's admin state: state is "ready", "drain" or "maint". */
int		 cutover_member(struct cutover *cx, const char *pool,
		    const char *addr, const char *state, char *msg,
		    size_t msglen);

/*
 * Conditions that admin commands wait for.  Each returns 1 when it holds,
 * 0 when not yet, -1 when it never can (no such pool, ...); msg says why
 * in every case ("green: 1 of 3 members healthy, ...").
 */
int		 cutover_healthy(struct cutover *cx, const char *pool,
		    char *msg, size_t msglen);
int		 cutover_drained(struct cutover *cx, const char *pool,
		    char *msg, size_t msglen);

/*
 * Appends a status report to out: text lines (no empty line), or one line
 * of JSON when json is set.
 */
void		 cutover_status(struct cutover *cx, struct evbuffer *out,
		    bool json);

/*
 * Starts the graceful shutdown (why: "SIGTERM received", for the log): not
 * ready at once, listeners closed after shutdown.delay_ms, connections
 * drained for shutdown.grace_ms.  A second call exits at once.
 */
void		 cutover_stop(struct cutover *cx, const char *why);

#endif
