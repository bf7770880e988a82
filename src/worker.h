/*
 * worker.h — the event-loop threads that serve clients.  Layer 2
 * (runtime): it knows the snapshot, pools and listeners below it, and
 * tells its owner (the root, layer 3) what happens only through the
 * struct worker_ops it was made with.
 *
 * Each worker has its own event loop, its own listening sockets (bound with
 * SO_REUSEPORT when there are several, so the kernel spreads connections),
 * its own client connections, its own idle upstream connections and its own
 * counters.  None of them runs on the control thread (the process's main
 * thread), which owns the admin sockets, health probes, DNS, passive
 * health and signals and never accepts or serves a client: so a burst of
 * traffic does not delay `switch` or a probe, and the control work does
 * not stall a worker.  `workers = N` runs N worker threads, all alike,
 * named "cutover-w0" to "cutover-wN-1" (top -H), beside the control
 * thread, which keeps the process's name.
 *
 * Workers route with the router's live snapshot: each holds a reference
 * to the snapshot it routes with, and per request compares it with the
 * router's live pointer (one acquire load, no store: router.h), taking the
 * new one when it changed.  So a switch reaches every request routed after
 * the router published it, without waiting for busy workers; the control
 * thread then wakes idle workers to take it too (workers_snap_nudge), not
 * waiting for them.  For other changes of shared state the control thread
 * runs a job on every worker (workers_run) and waits until each has done
 * it.  The other way, a worker posts work to the control thread
 * (worker_post), such as a member that failed a request.  Nothing else
 * crosses threads: every event base is touched only by its own thread.
 * A worker whose loop fails tells the control thread, which exits: only
 * the control thread ends the process (fatal() refuses elsewhere).
 */
#ifndef CUTOVER_WORKER_H
#define CUTOVER_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "metrics.h"
#include "pool.h"

struct event_base;
struct event;
struct member;
struct snapshot;
struct listeners;
struct conn;
struct workers;

TAILQ_HEAD(conn_list, conn);

#define WORKERS_MAX	256

/* Counters with one writer (the worker) and any readers (status). */
struct worker_stats {
	_Atomic uint64_t	 connections;	/* accepted */
	_Atomic uint64_t	 requests;	/* request heads parsed */
	_Atomic uint64_t	 responses;	/* responses relayed */
	_Atomic uint64_t	 errors;	/* error responses we made */
	_Atomic uint64_t	 upstream_failures; /* connects refused or timed out */
	_Atomic uint64_t	 access_dropped; /* access log lines: pipe full */
};

/* Adds to a counter only its own worker writes: no locked instruction. */
#define COUNT_ADD(p, n)	atomic_store_explicit((p), \
	atomic_load_explicit((p), memory_order_relaxed) + (n), \
	memory_order_relaxed)
#define COUNT_SUB(p, n)	atomic_store_explicit((p), \
	atomic_load_explicit((p), memory_order_relaxed) - (n), \
	memory_order_relaxed)
#define COUNT_GET(p)	atomic_load_explicit((p), memory_order_relaxed)

/* A snapshot the worker's requests still use after it was replaced. */
struct worker_held {
	struct snapshot		*s;		/* a reference */
	unsigned		 users;		/* requests routed with it */
};

/*
 * Threads: a field that is not atomic belongs to the worker's own thread
 * (the control thread's before the thread starts and after it is joined,
 * when workers_run runs its jobs there), except the few said otherwise.
 * Atomic ones have one writer, the worker, and are read by status.
 */
struct worker {
	/* set before the thread starts, then only read */
	void			*ctx;		/* the owner's (workers_new) */
	struct workers		*ws;
	unsigned		 id;		/* 0 to n-1 */
	struct event_base	*base;
	struct router		*router;	/* publishes the snapshot */
	struct snapshot		*snap;		/* routes with; a reference */
	unsigned		 snap_users;	/* requests routed with snap */
	struct worker_held	*held;		/* replaced, still in use */
	unsigned		 nheld;
	struct listeners	*listeners;
	struct event		*ev_warm;	/* the owner's warm-up timer */
	/* a reload's, until it commits; with err, read by the control
	 * thread after the job that set it (workers_run orders them) */
	struct listeners	*pending;
	char			 err[512];	/* why pending is NULL */
	struct conn_list	 conns;
	_Atomic unsigned	 nconns;
	struct worker_stats	 stats;
	struct metrics		 metrics;	/* per pool; own cache lines */
	_Atomic unsigned	 inflight[POOL_COUNT];	/* requests per pool */
	_Atomic unsigned	 tunnels[POOL_COUNT];	/* of which tunnels */
	bool			 draining;	/* listeners closed, exiting */
	/* the pool a switch left keeps the connections it had, busy ones
	 * too, for a while (cutover.c sets and clears it; conn_end_request
	 * reads it); the worker's own */
	bool			 keep_left;
	/* jobs and pings from the control thread */
	int			 wake_fd;	/* eventfd */
	struct event		*ev_wake;
	uint64_t		 done;		/* the last job it finished */
	/* the send time (ms, monotonic) of the last ping it answered:
	 * written by the worker, read by the control thread */
	_Atomic uint64_t	 pong_ms;
	/* the control thread's alone: its thread runs (started, not joined) */
	pthread_t		 thread;
	bool			 running;
};

/*
 * How many workers to run when the configuration does not say: the CPUs
 * this process may run on, capped by a cgroup CPU quota (as Kubernetes
 * sets from resources.limits.cpu), at least 1.  why says how it decided.
 */
unsigned	 workers_auto(char *why, size_t whylen);

/*
 * The CPU quota of the cgroup mounted at root, in CPUs rounded up: cgroup
 * v2's cpu.max ("200000 100000"; "max ..." is none) or v1's
 * cpu/cpu.cfs_quota_us over cpu/cpu.cfs_period_us (-1 is none).  0 when
 * there is none; src names the file that decided.
 */
unsigned	 workers_cpu_quota(const char *root, char *src, size_t srclen);

/* worker_observe's fall for a failure that takes a member down at once
 * (refused, reset: member_fail_now) rather than counting as one failed
 * probe (member_observe); a configured fall is 1 to 100. */
#define WORKER_FAIL_NOW	0u

/*
 * What the workers tell their owner, each with the owner's ctx.
 */
struct worker_ops {
	/* On the control thread: a request on some worker saw m fail (m is
	 * referenced for the call).  fall WORKER_FAIL_NOW: refused or reset,
	 * down at once; otherwise a bad answer, one failed probe of fall. */
	void	(*observe)(void *ctx, struct member *m, const char *why,
		    unsigned fall);
	/* On the control thread: w, draining at shutdown, holds no client
	 * connection any more. */
	void	(*drained)(void *ctx, struct worker *w);
	/* On w's thread: w is about to route with snapshot s instead of old
	 * (old may be NULL at start; both stay referenced for the call). */
	void	(*snap_changed)(void *ctx, struct worker *w,
		    struct snapshot *old, struct snapshot *s);
	/* On the thread of worker w as it ends: frees what the thread
	 * cached (the control thread's caches are its owner's to free). */
	void	(*thread_exit)(void *ctx, struct worker *w);
};

/*
 * Makes n workers for ctx, which ops tells (ops is not copied: it must
 * outlive the workers), each with an event loop of its own; base is the
 * control thread's, where posts arrive.  The caller's thread is the
 * control thread from now on.  Nothing runs yet.  Returns the workers, or
 * NULL with the reason in err.
 */
struct workers	*workers_new(void *ctx, const struct worker_ops *ops,
		    struct event_base *base, unsigned n, char *err,
		    size_t errlen);

/*
 * A request on w's thread starts: it routes with the router's live
 * snapshot (w->router; w's own snapshot when it has no router), which
 * stays alive until worker_snap_drop().  Counted in w alone, so starting
 * and ending a request writes no cache line that another worker uses.
 */
struct snapshot	*worker_snap_take(struct worker *w);

/*
 * On w's thread: w takes the router's live snapshot if it is not the one
 * w has (worker_ops.snap_changed first).  worker_snap_take() does so per
 * request; a wake-up does so too.
 */
void		 worker_snap_refresh(struct worker *w);

/*
 * On the control thread, after the router published a snapshot: every
 * worker takes it soon, on its own thread (here, at once, for a worker
 * whose thread does not run), without waiting.
 */
void		 workers_snap_nudge(struct workers *ws);

/* A request that took s from w ended. */
void		 worker_snap_drop(struct worker *w, struct snapshot *s);

/*
 * w routes with s from now on (takes a reference); the snapshot it had is
 * released once the last request routed with it ends.  On w's thread.
 */
void		 worker_snap_set(struct worker *w, struct snapshot *s);

/* How many workers ws has (0 for NULL), and worker i. */
unsigned	 workers_count(const struct workers *ws);
struct worker	*workers_get(const struct workers *ws, unsigned i);

/* The workers' counters, summed. */
struct workers_totals {
	unsigned	 conns;			/* client connections open */
	uint64_t	 connections;		/* accepted */
	uint64_t	 requests;		/* request heads parsed */
	uint64_t	 responses;		/* responses relayed */
	uint64_t	 errors;		/* error responses we made */
	uint64_t	 upstream_failures;	/* connects refused or timed out */
	uint64_t	 access_dropped;	/* access log lines dropped */
	unsigned	 inflight[POOL_COUNT];	/* requests per pool */
	unsigned	 tunnels[POOL_COUNT];	/* of which tunnels */
};

/* Sums w's counters into t (which it does not clear first). */
void		 worker_totals(const struct worker *w,
		    struct workers_totals *t);

/* Sums every worker's counters into t. */
void		 workers_totals(const struct workers *ws,
		    struct workers_totals *t);

/* Starts the threads of workers 0 to n-1.  0, or -1 with err. */
int		 workers_start(struct workers *ws, char *err, size_t errlen);

/*
 * On the control thread only: runs fn(w, arg) on every worker's own thread,
 * all at once, and returns when all have finished (a worker whose thread
 * does not run, before workers_start or after it stopped, runs it here).
 * fn must not call workers_run.
 */
void		 workers_run(struct workers *ws,
		    void (*fn)(struct worker *, void *), void *arg);

/*
 * As workers_run, but worker 0 finishes fn before the others start it, so
 * that they may read what it made (a reload's listeners: the port the
 * kernel chose).  Two round trips: only for jobs that need it.
 */
void		 workers_run_lead(struct workers *ws,
		    void (*fn)(struct worker *, void *), void *arg);

/*
 * Has fn(arg) run on the control thread soon, from its loop, in the order
 * posted (never at once, even when called there).  Returns -1 when out of
 * memory (fn not run).
 */
int		 worker_post(struct worker *w, void (*fn)(void *), void *arg);

/*
 * On w's thread: a request saw m fail; the owner hears it on the control
 * thread (worker_ops.observe), which alone changes a member's health.
 */
void		 worker_observe(struct worker *w, struct member *m,
		    const char *why, unsigned fall);

/*
 * On w's thread, when a client connection closed: once w is draining and
 * holds none, tells the owner (worker_ops.drained), once.
 */
void		 worker_conn_closed(struct worker *w);

/*
 * Shutdown has begun (SIGTERM): every response from now on is a
 * connection's last.  workers_stopping() is read by every worker, per
 * response; set once, by the control thread.
 */
void		 workers_set_stopping(struct workers *ws);
bool		 workers_stopping(const struct workers *ws);

/*
 * limits.max_connections across workers: stops w accepting while the
 * workers hold that many client connections, and starts it again below;
 * called on w's thread when a connection opens or closes.  w follows at
 * once and the other workers soon after (through the control thread), so
 * the limit may be passed by a connection per worker accepted in that
 * instant.
 */
void		 worker_pace(struct worker *w);

/*
 * Liveness, without waiting.  On the control thread: workers_ping() stamps
 * a ping with the time now and wakes every worker thread (as a job does,
 * through its eventfd) without waiting; each takes the stamp in its own
 * loop and keeps it as the last one it answered.  worker_pong_age_ms() is
 * how long ago the ping worker w last answered was sent: a worker whose
 * loop is stuck falls behind by the time since it stopped.  A worker
 * whose thread does not run (before workers_start, after it stopped)
 * answers at once.
 *
 * A test hook: when the environment variable CUTOVER_TEST_WEDGE names a
 * file at workers_new(), the last worker (1 of 2, 0 of 1) sleeps in its
 * loop when it takes a ping while that file exists, until the file is gone
 * (a wedged worker, for tests/integration/test_admin_http.py and
 * test_control.py).  Unset, it costs a pointer test per wake-up.
 */
void		 workers_ping(struct workers *ws);
uint64_t	 worker_pong_age_ms(const struct worker *w);

/*
 * Runs fin(w) on every worker's thread, stops the threads and frees the
 * workers.  fin closes what the worker holds.  NULL ws: no-op.
 */
void		 workers_free(struct workers *ws, void (*fin)(struct worker *,
		    void *));

#endif
