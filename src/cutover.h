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
#include <sys/time.h>
#include <time.h>

#include "fdlimit.h"
#include "guard.h"
#include "pool.h"
#include "snapshot.h"
#include "worker.h"

struct event_base;
struct event;
struct evbuffer;
struct config;
struct router;
struct probes;
struct member;
struct dns;
struct watch;

/*
 * A switch scheduled at a wall-clock instant (`switch POOL at UNIX_MS`):
 * the fleet's replicas each hold one, so that they move together.  The
 * timer is monotonic, computed from CLOCK_REALTIME when it was made.
 */
struct cutover_sched {
	bool		 pending;
	enum pool_id	 pool;
	bool		 force;
	uint64_t	 gen;		/* 0: leaves the release generation */
	unsigned	 guard;		/* seconds; 0: none */
	long long	 at_ms;		/* the instant, ms since the epoch */
	char		 by[64];
	int		 fd;		/* its timerfd */
	struct event	*ev;
	/* the last one that ended */
	struct {
		enum cutover_sched_result {
			CUTOVER_SCHED_NONE,	/* none yet */
			CUTOVER_SCHED_SWITCHED,
			CUTOVER_SCHED_REFUSED,	/* by the gate, at the instant */
			CUTOVER_SCHED_CANCELLED,
			CUTOVER_SCHED_NRESULTS,
		}		 result;
		enum pool_id	 pool;
		uint64_t	 gen;
		long long	 at_ms;		/* the instant asked for */
		long long	 done_us;	/* wall clock when it ended,
						   us since the epoch */
		char		 msg[512];
	}		 last;
};

/*
 * A guarded switch (`switch POOL guard S`, switch.guard): for S seconds
 * after the switch, a timer on the control thread judges the requests the
 * new pool ended (guard.h) and rolls back when they break the limits.
 * The last one stays here for the status until the next begins.
 */
enum cutover_guard_state {
	CUTOVER_GUARD_NONE,		/* none since start */
	CUTOVER_GUARD_WATCHING,
	CUTOVER_GUARD_PASSED,		/* the window ended without a trip */
	CUTOVER_GUARD_ROLLED_BACK,	/* tripped, and rolled back */
	CUTOVER_GUARD_REFUSED,		/* tripped; the rollback was refused */
	CUTOVER_GUARD_CANCELLED,	/* the active pool changed meanwhile */
	CUTOVER_GUARD_NSTATES,
};

struct cutover_guard {
	enum cutover_guard_state state;
	enum pool_id		 pool;		/* switched to: watched */
	enum pool_id		 from;		/* the pool a trip goes back to */
	unsigned		 seconds;	/* the window */
	struct timespec		 started;	/* monotonic */
	long long		 started_ms;	/* wall clock, ms */
	long long		 done_ms;	/* wall clock; 0: watching */
	struct guard_limits	 limits;	/* as when it started */
	struct metrics_totals_pool base;	/* pool's at the switch */
	struct guard_sample	 last;		/* the last judgement */
	enum guard_verdict	 verdict;
	char			 why[512];	/* the numbers, or the reason */
	uint64_t		 rollbacks;	/* guard_rollbacks_total */
	struct event		*ev;		/* the tick, while watching */
};

/*
 * What DNS says of one pool's name (pools.NAME.dns): the address set the
 * pool's members are merged with, and how its lookups fare.  It survives
 * a reload that keeps the name; a new name starts afresh.
 */
struct cutover_dns {
	struct snapshot_dns	 set;		/* the last non-empty answer */
	char			 last[64];	/* "ok" or why the last failed */
	time_t			 last_at;	/* 0: no answer yet */
	time_t			 failing_since;	/* 0: not failing */
	uint64_t		 lookups[2];	/* [ok] */
	uint64_t		 added, removed;	/* members, by DNS */
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
	struct cutover_drain {
		struct cutover	*cx;
		enum pool_id	 pool;
		struct event	*ev;
		atomic_uint	 n;		/* tunnels the workers close
						 * (summed by jobs) */
	}			 drain[POOL_COUNT];	/* after a switch */
	struct probes		*probes;
	struct dns		*dns;		/* NULL: no pool has a name */
	struct cutover_dns	 dns_pool[POOL_COUNT];
	time_t			 started;
	struct {
		time_t		 at;		/* 0: no reload yet */
		bool		 ok;
		char		 msg[512];
	}			 reload;
	/*
	 * The release generation R: the generation of the last release
	 * (a switch given `gen N`, or a reload whose file declared a newer
	 * generation), kept in the state file.  Not stats.generation,
	 * which counts every change of routing.  declared is what the
	 * configuration file says: its active pool and generation, and
	 * whether that is what serves (why not, when not).
	 */
	struct {
		uint64_t	 generation;	/* R */
		enum pool_id	 declared;
		uint64_t	 declared_gen;	/* the file's; 0: none */
		bool		 applied;
		char		 why[512];	/* "" when applied */
		uint64_t	 stale_logged;	/* the file generation last
						   logged as not newer */
		uint64_t	 nogen_logged;	/* R last logged as kept from
						   a file without generation */
		uint64_t	 refused;	/* declared colours refused */
	}			 release;
	struct cutover_sched	 sched;
	struct cutover_guard	 guard;
	/* RLIMIT_NOFILE as last raised (fdlimit.h): at start, and at a
	 * reload that changed what is needed */
	struct fdlimit		 fdlimit;
	/* The loaded configuration file: its SHA-256 and when, its watch. */
	struct {
		char		 sha256[65];	/* "": could not be read */
		struct timespec	 at;		/* wall clock */
		char		 tried[65];	/* the last content a watch
						   reload failed on */
		struct watch	*watch;		/* NULL: watch_config off */
	}			 file;
	/*
	 * What the metrics report of the root.  generation counts changes
	 * of routing: 1 at start, +1 for every switch or rollback that moved
	 * the active pool and every reload that changed the active pool or
	 * a pool's members, and every DNS answer that changed the members (a
	 * reload of other settings leaves it).
	 */
	struct {
		uint64_t	 generation;
		uint64_t	 switches[2];	/* [forced]: force was given */
		struct timespec	 last_switch;	/* wall clock; 0: none */
		uint64_t	 reloads[2];	/* [ok] */
		uint64_t	 scheduled[CUTOVER_SCHED_NRESULTS];
	}			 stats;
	/*
	 * The last change of the active pool: what made it (a switch, a
	 * rollback, a reload whose file changed `active`), when, and who
	 * asked ("uid 0 pid 42", "reload").  action CUTOVER_NONE: none
	 * since start.  A rollback after a rollback finds it here and
	 * changes nothing.
	 */
	struct cutover_change {
		enum cutover_action {
			CUTOVER_NONE,
			CUTOVER_SWITCH,
			CUTOVER_ROLLBACK,
			CUTOVER_RELOAD,
		}		 action;
		enum pool_id	 from, to;
		bool		 forced;
		struct timespec	 at;		/* wall clock */
		uint64_t	 generation;	/* after the change */
		char		 by[64];
	}			 last_change;
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
 * the reason in msg; each logs itself once.  by says who asked, for the
 * status ("uid 0 pid 42"; NULL: "in-process").  A switch or rollback
 * answers "green (was blue), generation 7", or "green is already active
 * (generation 7)".  A rollback goes back to the pool that served before
 * the last change of the active pool; after a rollback, another one
 * answers "already rolled back to blue at 2026-01-02T03:04:05Z
 * (generation 7)" and changes nothing, until a switch (or a reload that
 * changes `active`) makes a rollback possible again.
 */
int		 cutover_switch(struct cutover *cx, const char *pool,
		    bool force, const char *by, char *msg, size_t msglen);
int		 cutover_rollback(struct cutover *cx, bool force,
		    const char *by, char *msg, size_t msglen);

/*
 * Sends percent (0..100) of the clients to pool, the one not active,
 * sticky per client (pick.h); 0 ends the shift.  A percent above 0 goes
 * through the health gate as a switch does (force overrides it, unless
 * the pool has no member).  A switch or rollback ends a shift; a reload
 * keeps it; a restart ends it (the state file keeps the active pool
 * only).  0, or -1 with the reason in msg.
 */
int		 cutover_shift(struct cutover *cx, const char *pool,
		    unsigned percent, bool force, const char *by, char *msg,
		    size_t msglen);
int		 cutover_reload(struct cutover *cx, char *msg, size_t msglen);

/*
 * A switch to pool that takes the release generation gen (0: keeps it),
 * guarded for guard seconds (0: not; -1: switch.guard says) from the
 * instant it happens,
 * now (at_ms 0) or at the wall-clock instant at_ms (ms since the epoch),
 * which must lie ahead by at most CUTOVER_SCHED_MAX_MS.  gen must be newer
 * than the release generation.  A scheduled switch checks the gate now
 * (refused: -1) and again at the instant; it is pending until then, and
 * only one is.  cutover_cancel() drops it (nothing pending is fine).
 */
#define CUTOVER_SCHED_MAX_MS	60000
int		 cutover_switch_gen(struct cutover *cx, const char *pool,
		    bool force, long long at_ms, uint64_t gen, int guard,
		    const char *by, char *msg, size_t msglen);
int		 cutover_cancel(struct cutover *cx, const char *by, char *msg,
		    size_t msglen);

/* The wall clock in ms since the epoch. */
long long	 cutover_now_ms(void);

/*
 * The timer of a switch scheduled at at_ms when the wall clock says
 * now_us (us since the epoch): 0 with *tv set, or -1 when the instant has
 * passed or lies more than CUTOVER_SCHED_MAX_MS ahead.
 */
int		 cutover_sched_delay(long long at_ms, long long now_us,
		    struct timeval *tv);

/* The name of a scheduled switch's end: "switched", ...; "none". */
const char	*cutover_sched_result_name(enum cutover_sched_result r);

/* "none", "watching", "passed", "rolled back", "rollback refused",
 * "cancelled". */
const char	*cutover_guard_state_name(enum cutover_guard_state s);

/* Seconds left of a watching guard's window (0 when over). */
double		 cutover_guard_left(const struct cutover *cx);

/* The name of a cutover_change's action: "switch", ...; "none". */
const char	*cutover_action_name(enum cutover_action a);

/*
 * Sets a member's admin state: state is "ready", "drain" or "maint".
 * Taking the last usable member of the active pool out of service (drain
 * or maint) is refused unless force: the next request would get 503.
 * Returns -2 (not -1) when pool and addr name no member, or addr is not
 * an address: the command was wrong, and force cannot help.
 */
int		 cutover_member(struct cutover *cx, const char *pool,
		    const char *addr, const char *state, bool force,
		    char *msg, size_t msglen);

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
