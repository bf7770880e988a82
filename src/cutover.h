/*
 * cutover.h — the root context: one per process, made in main().  Layer 3
 * (root): it owns the control thread's event loop, the live
 * configuration, the router, the workers (worker.h: their listeners and
 * client connections) and the health probes, and does what touches
 * several of them at once: start, reload, switch, shutdown.  The front
 * ends (layer 4: admin sockets, status, main) call it; it calls none of
 * them.  Everything here runs on the control thread unless it says
 * otherwise.
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
struct probes;
struct member;

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
	/*
	 * What the metrics report of the root.  generation counts changes
	 * of routing: 1 at start, +1 for every switch or rollback that moved
	 * the active pool and every reload that changed the active pool or
	 * a pool's members (a reload of other settings leaves it).
	 */
	struct {
		uint64_t	 generation;
		uint64_t	 switches[2];	/* [forced]: force was given */
		struct timespec	 last_switch;	/* wall clock; 0: none */
		uint64_t	 reloads[2];	/* [ok] */
	}			 stats;
	/* the control thread's alone (read in its posts and timers) */
	bool			 panic[POOL_COUNT];	/* as last logged */
	bool			 draining;	/* listeners closed, exiting */
	bool			 exiting;	/* cutover_free under way */
	struct event		*ev_hup, *ev_term, *ev_int, *ev_grace;
	struct event		*ev_delay;	/* shutdown.delay_ms */
};

/*
 * Loads path, makes the workers and opens their listeners, and installs
 * signal handlers on base; no worker thread runs yet.  Returns the
 * context, or NULL with a reason in err.
 */
struct cutover	*cutover_new(struct event_base *base, const char *path,
		    char *err, size_t errlen);

/*
 * Starts the worker threads and logs that cutover started (the last line
 * of a start: the front ends are up by then).  0, or -1 with err.
 */
int		 cutover_start(struct cutover *cx, char *err, size_t errlen);

/* The configuration in force (read-only, the control thread's). */
const struct config *cutover_config(const struct cutover *cx);

/* Whether shutdown has begun (not ready). */
bool		 cutover_stopping(const struct cutover *cx);

/* Frees the context and everything it owns, closing every connection. */
void		 cutover_free(struct cutover *cx);

/*
 * Whether pool id routes in panic now (health.panic): it is the active
 * pool, its health.panic is on, and none of its members is usable while
 * some are ready and down, so requests go to those anyway.
 */
bool		 cutover_in_panic(const struct cutover *cx, enum pool_id id);

/* Closes every worker's idle connections to m. */
void		 cutover_close_idle(struct cutover *cx, struct member *m);

/*
 * Admin operations.  Each returns 0 with what happened in msg, or -1 with
 * the reason in msg; each logs itself once.  A switch or rollback answers
 * "green (was blue), generation 7", or "green is already active
 * (generation 7)".
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
 * Starts the graceful shutdown (why: "SIGTERM received", for the log): not
 * ready at once, listeners closed after shutdown.delay_ms, connections
 * drained for shutdown.grace_ms.  A second call exits at once.
 */
void		 cutover_stop(struct cutover *cx, const char *why);

#endif
