/*
 * fdlimit.h — file descriptors: how many a configuration needs, raising
 * the soft RLIMIT_NOFILE toward that, and what happens when the process
 * runs out all the same.  Layer 2 (runtime).
 *
 * What a configuration needs (fdlimit_need) is a pure function of it and
 * of the number of workers:
 *
 *   clients    limits.max_connections
 *   upstream   limits.max_connections (a client holds one at a time)
 *   idle       min(max_connections + mirror.max_inflight,
 *              upstream.max_idle) x workers x members, a pool named by DNS
 *              counting FDLIMIT_DNS_MEMBERS members or its last
 *              answer's addresses, whichever is more: keep-alive
 *              connections parked per member (mirror.max_inflight only
 *              while mirroring is on)
 *   mirror     mirror.max_inflight x workers while mirroring is on: the
 *              copies in flight, each on a connection of its own
 *   probes     one per member of both pools (counted as above for a
 *              DNS name)
 *   listeners  listen addresses x workers
 *   admin      FDLIMIT_ADMIN_SOCKET per admin socket (the read-only one
 *              too), FDLIMIT_ADMIN_HTTP for admin.http
 *   internal   FDLIMIT_INTERNAL + 2 x workers (event loops and wake-ups)
 *
 * With max_connections = 0 (no limit) nothing bounds the first three:
 * the soft limit is raised to the hard one.
 *
 * Running out: accept(2) failing with EMFILE or ENFILE, or socket(2) for
 * an upstream connection or a probe, is counted here (fdlimit_fail), and
 * logged once when the limit is reached and once when it is no longer
 * (fdlimit_ok after FDLIMIT_CALM_MS without a failure), with the counts,
 * whatever thread sees it.  The state is the process's, as descriptors
 * are.
 */
#ifndef CUTOVER_FDLIMIT_H
#define CUTOVER_FDLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;

#define FDLIMIT_ADMIN_SOCKET	65	/* the socket + ADMIN_CLIENTS_MAX */
#define FDLIMIT_ADMIN_HTTP	33	/* + ADMIN_HTTP_CLIENTS_MAX */
#define FDLIMIT_DNS_MEMBERS	32	/* members counted for a DNS name */
/* stdio, the access log's pipe, the scheduled switch's timerfd, the
 * configuration watch's inotify, DNS sockets, the configuration, state
 * and resolv.conf files, /proc reads, with room to spare */
#define FDLIMIT_INTERNAL	32
/* no descriptor error for this long ends a "limit reached" episode */
#define FDLIMIT_CALM_MS		500

/* The descriptors a configuration needs, by use (see above). */
struct fdlimit_need {
	uint64_t	 clients;
	uint64_t	 upstream;
	uint64_t	 idle;
	uint64_t	 warm;		/* upstream.warm_idle's, any pool */
	uint64_t	 probes;
	uint64_t	 listeners;
	uint64_t	 admin;
	uint64_t	 internal;
	uint64_t	 pipes;		/* upstream.splice: IO_PIPES_MAX a worker */
	uint64_t	 mirror;	/* copies in flight, every worker */
	uint64_t	 total;
	uint64_t	 idle_max;	/* upstream.max_idle */
	uint64_t	 idle_lists;	/* workers x members */
	uint64_t	 idle_extra;	/* busy at once beyond max_connections on
					 * one list: mirror.max_inflight */
	bool		 bounded;	/* max_connections > 0 */
};

/* The limits as they stand, and as fdlimit_raise left them. */
struct fdlimit {
	struct fdlimit_need	 need;
	uint64_t		 was;		/* soft limit found */
	uint64_t		 soft;		/* soft limit now */
	uint64_t		 hard;
	uint64_t		 supports;	/* max_connections soft allows */
	bool			 enough;	/* soft >= need.total */
};

enum fdlimit_op {
	FDLIMIT_ACCEPT,
	FDLIMIT_UPSTREAM,
	FDLIMIT_PROBE,
	FDLIMIT_NOPS,
};

/* The descriptor errors counted since start, and the episode now. */
struct fdlimit_stats {
	uint64_t	 errors[FDLIMIT_NOPS];
	bool		 reached;	/* the limit is being hit */
};

/* What cf needs with workers threads.  Pure. */
void		 fdlimit_need(const struct config *cf, unsigned workers,
		    struct fdlimit_need *n);

/* The same, a pool named by DNS counting dns_members[pool] members (its
 * last answer's addresses) where that is more than FDLIMIT_DNS_MEMBERS;
 * dns_members NULL: FDLIMIT_DNS_MEMBERS each.  Pure. */
void		 fdlimit_need_dns(const struct config *cf, unsigned workers,
		    const size_t *dns_members, struct fdlimit_need *n);

/*
 * The largest max_connections with which n (computed for some value of
 * it) would fit in limit descriptors; 0 when not even one client's share
 * fits beside the fixed part.  Pure.
 */
uint64_t	 fdlimit_supports(const struct fdlimit_need *n, uint64_t limit);

/*
 * Reads RLIMIT_NOFILE into f and, when raise is set, raises the soft limit
 * to min(need->total, hard) (to hard when need is unbounded); the soft
 * limit is never lowered.  0, or -1 with errno when getrlimit or
 * setrlimit failed (f then says what was found).
 */
int		 fdlimit_raise(const struct fdlimit_need *need, bool raise,
		    struct fdlimit *f);

/*
 * The warning for a limit below what is needed, with the numbers and how
 * to raise it, into msg; false (msg empty) when f is enough.
 */
bool		 fdlimit_warning(const struct fdlimit *f, char *msg,
		    size_t msglen);

/* Whether errno e says we are out of descriptors (EMFILE, ENFILE). */
bool		 fdlimit_is_error(int e);

/*
 * Any thread: op failed with e (fdlimit_is_error) on what ("accept on
 * 127.0.0.1:8080", "blue 10.0.0.7:8080").  Counted; logged only when it
 * starts an episode.
 */
void		 fdlimit_fail(enum fdlimit_op op, const char *what, int e);

/*
 * Any thread: a descriptor was had.  Ends the episode (logged, with the
 * counts and how long it lasted) once FDLIMIT_CALM_MS have passed without
 * a failure; otherwise nothing.  Cheap when no episode is under way.
 */
void		 fdlimit_ok(void);

/*
 * Any thread: whether descriptors ran out and the episode has not ended
 * (fdlimit_ok): what may wait, such as warm connections, waits.  One
 * relaxed load.
 */
bool		 fdlimit_short(void);

/* Any thread: the counters and the state. */
void		 fdlimit_stats(struct fdlimit_stats *st);

/* "accept", "upstream", "probe": the metrics' label. */
const char	*fdlimit_op_name(enum fdlimit_op op);

#endif
