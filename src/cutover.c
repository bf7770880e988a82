/*
 * cutover.c — the root context: start-up, reload, switch, status, stop.
 */
#include "autoconf.h"

#include <sys/timerfd.h>

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "cutover.h"
#include "dns.h"
#include "fdlimit.h"
#include "http.h"
#include "io.h"
#include "listen.h"
#include "log.h"
#include "mirror.h"
#include "pool.h"
#include "probe.h"
#include "router.h"
#include "snapshot.h"
#include "state.h"
#include "upstream.h"
#include "watch.h"
#include "worker.h"

/* How often each worker refills its warm connections to the inactive
 * pool (upstream.warm_idle): a member that closes them gets them back
 * within this, and one that refuses costs a failed connect per worker and
 * warm connection in this time. */
#define CUTOVER_WARM_MS	500
#define CUTOVER_TRIM_MAX	64	/* idle connections closed per member at
					 * a turn of cutover_warm_cb */
/* How long the connections to the pool a switch left are all kept (with
 * upstream.warm_idle > 0), idle ones and those whose request ends
 * meanwhile (worker.keep_left), so that a rollback soon after, or a
 * switch back and forth, finds them open, under load too; then they are
 * cut down to warm_idle.  Written and read on the worker's own thread. */
#define CUTOVER_KEEP_MS		5000
#define CUTOVER_GUARD_TICK_MS	250	/* a guard judges this often */
static _Thread_local struct timespec	cutover_left;

static void	cutover_signal_cb(evutil_socket_t, short, void *);
static void	cutover_member_failed(void *, struct member *, const char *,
		    unsigned);
static void	cutover_member_changed(void *, struct member *);
static void	cutover_panic_check(struct cutover *);
static void	cutover_worker_drained(void *, struct worker *);
static void	cutover_thread_exit(void *, struct worker *);
static void	cutover_snap_changed(void *, struct worker *, struct snapshot *,
		    struct snapshot *);
static void	cutover_changed(struct cutover *, enum cutover_action,
		    enum pool_id, enum pool_id, bool, const char *);
static void	cutover_dns_answer(void *, enum pool_id,
		    const struct dns_answer *);
static void	cutover_sched_cb(evutil_socket_t, short, void *);
static void	cutover_guard_cb(evutil_socket_t, short, void *);
static void	cutover_guard_end(struct cutover *, enum cutover_guard_state,
		    const char *);
static int	cutover_switch_guarded(struct cutover *, enum pool_id, bool,
		    uint64_t, int, const char *, char *, size_t);
static void	cutover_watch_sync(struct cutover *);
static void	cutover_preview_note(const struct config *);
static void	cutover_declare(struct cutover *, const struct config *,
		    enum pool_id,
		    char *, size_t);

static const struct dns_ops cutover_dns_ops = {
	.answer = cutover_dns_answer,
};

static const struct worker_ops cutover_worker_ops = {
	.observe = cutover_member_failed,
	.drained = cutover_worker_drained,
	.snap_changed = cutover_snap_changed,
	.thread_exit = cutover_thread_exit,
};

/*
 * The pool to start on: the state file's when it has a valid one whose
 * release generation is not older than the one the configuration
 * declares, else the configuration's (so that a new replica, without a
 * state file, starts on the colour its ConfigMap declares); the log says
 * which decided.  Sets the release generation to match.
 */
static enum pool_id
cutover_initial_active(struct cutover *cx)
{
	const struct config	*cf = cx->config;
	enum pool_id		 id;
	uint64_t		 gen;
	char			 err[512];

	cx->release.generation = cf->generation;
	cx->release.declared = cf->active;
	cx->release.declared_gen = cf->generation;
	if (cf->state_file == NULL) {
		log_info("active pool %s (from configuration, generation %u)",
		    pool_name(cf->active), cf->generation);
		return (cf->active);
	}
	switch (state_read(cf->state_file, &id, &gen, err, sizeof(err))) {
	case 1:
		if (gen < cf->generation) {
			log_info("active pool %s (from configuration: it "
			    "declares generation %u, state file %s has %s at "
			    "generation %" PRIu64 ")", pool_name(cf->active),
			    cf->generation, cf->state_file, pool_name(id),
			    gen);
			return (cf->active);
		}
		cx->release.generation = gen;
		log_info("active pool %s (from state file %s, generation %"
		    PRIu64 ")", pool_name(id), cf->state_file, gen);
		return (id);
	case 0:
		log_info("active pool %s (from configuration: no state file "
		    "%s yet)", pool_name(cf->active), cf->state_file);
		return (cf->active);
	default:
		log_error("state file %s: not trusted; active pool %s (from "
		    "configuration)", err, pool_name(cf->active));
		return (cf->active);
	}
}
static void	cutover_grace_cb(evutil_socket_t, short, void *);
static void	cutover_delay_cb(evutil_socket_t, short, void *);
static void	cutover_drain_cb(evutil_socket_t, short, void *);

/* How many workers cf asks for, logged once at start. */
static unsigned
cutover_nworkers(const struct config *cf)
{
	char		why[128];
	unsigned	n;

	if (cf->workers > 0) {
		log_info("%u worker(s) (workers in the configuration)",
		    cf->workers);
		return (cf->workers);
	}
	n = workers_auto(why, sizeof(why));
	log_info("%u worker(s) (%s)", n, why);
	return (n);
}

/*
 * Worker w routes with s instead of old from now on (worker_ops.
 * snap_changed, on w's thread): it closes its idle connections to members
 * that left.  Those to the pool that stopped being active carry no
 * request from now on; cutover_warm_cb cuts them down to
 * upstream.warm_idle at its next turns, not here: closing hundreds of
 * sockets at once would hold up the first requests to the new pool.
 */
static void
cutover_snap_changed(void *ctx, struct worker *w, struct snapshot *old,
    struct snapshot *s)
{
	struct member	*m;

	for (int i = 0; old != NULL && i < POOL_COUNT; i++)
		for (size_t k = 0; k < old->pools[i]->nmembers; k++) {
			m = old->pools[i]->members[k];
			if (!snapshot_has_member(s, m))
				upstream_close_idle(m, w->id);
		}
	if (old != NULL && old->active != s->active) {
		clock_gettime(CLOCK_MONOTONIC, &cutover_left);
		w->keep_left = s->config->warm_idle > 0;
	}
}

/* Takes the live snapshot (a job: reload, DNS). */
static void
cutover_sync(struct worker *w, void *arg)
{
	worker_snap_refresh(w);
}

/* Closes m's idle connections on w beyond keep, CUTOVER_TRIM_MAX at a
 * turn at most, the oldest first. */
static void
cutover_trim(struct worker *w, struct member *m, unsigned keep)
{
	unsigned	n = COUNT_GET(&m->local[w->id].nidle);

	if (n > keep)
		upstream_trim_idle(m, w->id, n - keep < CUTOVER_TRIM_MAX ?
		    keep : n - CUTOVER_TRIM_MAX);
}

/*
 * Keeps w's idle connections within bounds, on w's thread, every
 * CUTOVER_WARM_MS, never while stopping.  A pool that serves clients
 * (the active one, and the one a shift sends a share to) keeps up to
 * upstream.max_idle per member, which a reload may have lowered.  The
 * inactive pool keeps warm ones (upstream.warm_idle): what a switch left
 * is cut down to that many, what is missing to its usable members is
 * opened, and those to the others (down, drained, in maintenance) are
 * closed.  Cuts go CUTOVER_TRIM_MAX per member at a turn, so that no turn
 * holds the loop up for long.  None is opened while descriptors are
 * short: the clients waiting for them come first.
 */
static void
cutover_warm_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker		*w = arg;
	struct snapshot		*s;
	struct pool		*p;
	struct member		*m;
	struct timeval		 tv = { 0, CUTOVER_WARM_MS * 1000 };
	struct timespec		 now;
	unsigned		 n, warm, max;
	bool			 keep, serving;

	if (workers_stopping(w->ws))
		return;
	worker_snap_refresh(w);
	clock_gettime(CLOCK_MONOTONIC, &now);
	keep = (now.tv_sec - cutover_left.tv_sec) * 1000 +
	    (now.tv_nsec - cutover_left.tv_nsec) / 1000000 < CUTOVER_KEEP_MS;
	if ((s = w->snap) != NULL) {
		warm = s->config->warm_idle;
		max = s->config->max_idle;
		keep = keep && warm > 0;
		w->keep_left = keep;
		for (int i = 0; i < POOL_COUNT; i++) {
			p = s->pools[i];
			serving = (enum pool_id)i == s->active ||
			    (s->shift_percent > 0 &&
			    (enum pool_id)i == s->shift_pool);
			for (size_t k = 0; k < p->nmembers; k++) {
				m = p->members[k];
				n = COUNT_GET(&m->local[w->id].nidle);
				/* in panic, requests go to members down */
				if (serving && (member_is_usable(m) ||
				    pool_is_panic(p)))
					cutover_trim(w, m, max);
				else if (!member_is_usable(m))
					upstream_close_idle(m, w->id);
				else if (n > warm)
					/* warm ones come past max_idle */
					cutover_trim(w, m, keep ? (max > warm ?
					    max : warm) : warm);
				else if (n < warm && !fdlimit_short())
					upstream_warm(w->base, w->id, m, warm,
					    s->config->connect_ms);
			}
		}
	}
	evtimer_add(w->ev_warm, &tv);
}

/* What makes cutover_fdlimit compute the need. */
enum cutover_fd_why {
	CUTOVER_FD_START,
	CUTOVER_FD_RELOAD,
	CUTOVER_FD_DNS,
};

/*
 * Raises the soft RLIMIT_NOFILE toward what cf needs (fdlimit.h), a pool
 * named by DNS counting its last answer's addresses when they are more
 * than FDLIMIT_DNS_MEMBERS, and logs the numbers at start; a reload or a
 * DNS answer does so only when the number needed changed.  A limit too
 * low for it is a warning (with how to raise it), not an error: cutover
 * serves what it can and logs when it runs out.  A DNS answer, which may
 * change every refresh, logs only when the soft limit rises, and warns
 * only when the limit was enough until then.
 */
static void
cutover_fdlimit(struct cutover *cx, const struct config *cf,
    enum cutover_fd_why why)
{
	struct fdlimit_need	 need;
	struct fdlimit		 f;
	size_t			 dns[POOL_COUNT];
	char			 msg[1024];
	bool			 was_enough = cx->fdlimit.enough;

	for (int i = 0; i < POOL_COUNT; i++)
		dns[i] = cx->dns_pool[i].set.naddrs;
	fdlimit_need_dns(cf, workers_count(cx->workers), dns, &need);
	if (why != CUTOVER_FD_START && need.total == cx->fdlimit.need.total &&
	    need.bounded == cx->fdlimit.need.bounded)
		return;
	if (fdlimit_raise(&need, true, &f) == -1)
		log_warn("file descriptors: cannot raise the soft limit from "
		    "%llu: %s", (unsigned long long)f.was, strerror(errno));
	if (why != CUTOVER_FD_DNS || f.soft > f.was)
		log_info("file descriptors: soft limit %llu (was %llu, hard "
		    "%llu), %llu needed%s", (unsigned long long)f.soft,
		    (unsigned long long)f.was, (unsigned long long)f.hard,
		    (unsigned long long)need.total, need.bounded ? "" :
		    " without limits.max_connections");
	if (fdlimit_warning(&f, msg, sizeof(msg)) &&
	    (why != CUTOVER_FD_DNS || was_enough))
		log_warn("%s", msg);
	cx->fdlimit = f;
}

struct cutover *
cutover_new(struct event_base *base, const char *path, char *err,
    size_t errlen)
{
	struct cutover	*cx;
	struct snapshot	*s;
	struct worker	*w;
	unsigned	 n;
	char		 why[512];

	if ((cx = calloc(1, sizeof(*cx))) == NULL ||
	    (cx->config_path = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(cx);
		return (NULL);
	}
	cx->base = base;
	cx->sched.fd = -1;
	cx->started = time(NULL);
	cx->stats.generation = 1;
	if ((cx->config = config_load(path, err, errlen)) == NULL)
		goto fail;
	snprintf(cx->file.sha256, sizeof(cx->file.sha256), "%s",
	    cx->config->sha256);
	clock_gettime(CLOCK_REALTIME, &cx->file.at);
	log_set_level(cx->config->log_level);
	n = cutover_nworkers(cx->config);
	pool_set_workers(n);
	if ((cx->workers = workers_new(cx, &cutover_worker_ops, base, n, err,
	    errlen)) == NULL)
		goto fail;
	/* before the listeners and the admin sockets take descriptors */
	cutover_fdlimit(cx, cx->config, CUTOVER_FD_START);
	if ((s = snapshot_build(cx->config, NULL, cutover_initial_active(cx)))
	    == NULL || (cx->router = router_new(s, n)) == NULL ||
	    (cx->probes = probes_new(base, cutover_member_changed, cx)) ==
	    NULL) {
		if (cx->router == NULL)
			snapshot_unref(s);
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	probes_sync(cx->probes, s);
	if (dns_wanted(cx->config)) {
		if ((cx->dns = dns_new(base, cx->config, &cutover_dns_ops, cx,
		    err, errlen, why, sizeof(why))) == NULL)
			goto fail;
		if (why[0] != '\0')
			log_warn("dns: %s", why);
	}
	for (unsigned i = 0; i < n; i++) {
		w = workers_get(cx->workers, i);
		w->router = cx->router;
		cutover_sync(w, NULL);
		if ((w->ev_warm = evtimer_new(w->base, cutover_warm_cb, w)) ==
		    NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		cutover_warm_cb(-1, 0, w);
		if ((w->listeners = listeners_open(w, cx->config, NULL,
		    i > 0 ? workers_get(cx->workers, 0)->listeners : NULL,
		    conn_new, err, errlen)) == NULL)
			goto fail;
		listeners_resync(w->listeners);
	}
	cx->ev_hup = evsignal_new(base, SIGHUP, cutover_signal_cb, cx);
	cx->ev_term = evsignal_new(base, SIGTERM, cutover_signal_cb, cx);
	cx->ev_int = evsignal_new(base, SIGINT, cutover_signal_cb, cx);
	cx->ev_grace = evtimer_new(base, cutover_grace_cb, cx);
	cx->ev_delay = evtimer_new(base, cutover_delay_cb, cx);
	/*
	 * The scheduled switch's timer: a timerfd, since libevent's own
	 * timers follow CLOCK_MONOTONIC_COARSE, a few ms late.
	 */
	if ((cx->sched.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1) {
		snprintf(err, errlen, "timerfd: %s", strerror(errno));
		goto fail;
	}
	if ((cx->sched.ev = event_new(base, cx->sched.fd, EV_READ,
	    cutover_sched_cb, cx)) == NULL)
		cx->ev_delay = NULL;	/* reported below */
	if ((cx->guard.ev = event_new(base, -1, EV_PERSIST, cutover_guard_cb,
	    cx)) == NULL)
		cx->ev_delay = NULL;	/* reported below */
	for (int i = 0; i < POOL_COUNT; i++) {
		cx->drain[i].cx = cx;
		cx->drain[i].pool = (enum pool_id)i;
		if ((cx->drain[i].ev = evtimer_new(base, cutover_drain_cb,
		    &cx->drain[i])) == NULL)
			cx->ev_delay = NULL;	/* reported below */
	}
	if (cx->ev_hup == NULL || cx->ev_term == NULL || cx->ev_int == NULL ||
	    cx->ev_grace == NULL || cx->ev_delay == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	evsignal_add(cx->ev_hup, NULL);
	evsignal_add(cx->ev_term, NULL);
	evsignal_add(cx->ev_int, NULL);
	cutover_watch_sync(cx);
	return (cx);
fail:
	cutover_free(cx);
	return (NULL);
}

int
cutover_start(struct cutover *cx, char *err, size_t errlen)
{
	if (workers_start(cx->workers, err, errlen) == -1)
		return (-1);
	log_info("cutover %s started with %s", PACKAGE_VERSION,
	    cx->config_path);
	cutover_preview_note(cx->config);
	return (0);
}

/* What a worker's thread cached for itself (worker_ops.thread_exit). */
static void
cutover_thread_exit(void *ctx, struct worker *w)
{
	conn_cache_free();
	http_hdrs_cache_free();
}

const struct config *
cutover_config(const struct cutover *cx)
{
	return (cx->config);
}

bool
cutover_stopping(const struct cutover *cx)
{
	return (workers_stopping(cx->workers));
}

/* What a worker holds, closed on its own thread at exit. */
static void
cutover_worker_fin(struct worker *w, void *arg)
{
	w->draining = false;
	conn_close_all(w, "exiting");
	listeners_free(w->pending, w->listeners);
	w->pending = NULL;
	listeners_free(w->listeners, NULL);
	w->listeners = NULL;
	if (w->ev_warm != NULL) {
		event_free(w->ev_warm);
		w->ev_warm = NULL;
	}
	if (w->snap != NULL) {
		/* idle connections hold member references: close them */
		for (int i = 0; i < POOL_COUNT; i++)
			upstream_close_pool_idle(w->snap->pools[i], w->id);
		worker_snap_set(w, NULL);
	}
}

void
cutover_free(struct cutover *cx)
{
	if (cx == NULL)
		return;
	cx->exiting = true;
	watch_free(cx->file.watch);
	if (cx->sched.ev != NULL)
		event_free(cx->sched.ev);
	if (cx->sched.fd != -1)
		close(cx->sched.fd);
	workers_free(cx->workers, cutover_worker_fin);
	cx->workers = NULL;
	dns_free(cx->dns);
	for (int i = 0; i < POOL_COUNT; i++)
		snapshot_dns_clear(&cx->dns_pool[i].set);
	probes_free(cx->probes);
	router_free(cx->router);
	config_free(cx->config);
	if (cx->ev_hup != NULL)
		event_free(cx->ev_hup);
	if (cx->ev_term != NULL)
		event_free(cx->ev_term);
	if (cx->ev_int != NULL)
		event_free(cx->ev_int);
	if (cx->ev_grace != NULL)
		event_free(cx->ev_grace);
	if (cx->ev_delay != NULL)
		event_free(cx->ev_delay);
	for (int i = 0; i < POOL_COUNT; i++)
		if (cx->drain[i].ev != NULL)
			event_free(cx->drain[i].ev);
	if (cx->guard.ev != NULL)
		event_free(cx->guard.ev);
	free(cx->config_path);
	free(cx);
}

static void
cutover_close_idle_job(struct worker *w, void *arg)
{
	upstream_close_idle(arg, w->id);
}

void
cutover_close_idle(struct cutover *cx, struct member *m)
{
	workers_run(cx->workers, cutover_close_idle_job, m);
}

/* The probes' on_change: a member a probe took down keeps no idle
 * connections; any change may start or end a panic. */
static void
cutover_member_changed(void *ctx, struct member *m)
{
	if (m->health == HEALTH_DOWN)
		cutover_close_idle(ctx, m);
	cutover_panic_check(ctx);
}

bool
cutover_in_panic(const struct cutover *cx, enum pool_id id)
{
	const struct snapshot	*s = router_live(cx->router);

	return (s->active == id && s->config->pools[id].health.panic &&
	    pool_is_panic(s->pools[id]));
}

/* Why pool id of s stopped routing in panic, for the log. */
static void
cutover_panic_over(const struct snapshot *s, enum pool_id id, char *why,
    size_t len)
{
	const struct pool	*p = s->pools[id];
	size_t			 n = pool_usable(p);

	if (s->active != id)
		snprintf(why, len, "%s is no longer the active pool",
		    pool_name(id));
	else if (n > 0)
		snprintf(why, len, "%s has %zu of %zu members usable again",
		    pool_name(id), n, p->nmembers);
	else if (!s->config->pools[id].health.panic)
		snprintf(why, len, "health.panic is off for %s: requests get "
		    "503", pool_name(id));
	else
		snprintf(why, len, "%s has no member left in state ready: "
		    "requests get 503", pool_name(id));
}

/*
 * Logs once when a pool starts routing in panic and once when it stops.
 * Health and admin states, the active pool and the configuration change on
 * the control thread only, and each such change calls this; workers route
 * by the members' state itself, so they need no word of it.
 */
static void
cutover_panic_check(struct cutover *cx)
{
	const struct snapshot	*s = router_live(cx->router);
	const struct pool	*p;
	char			 why[256];
	size_t			 n;
	bool			 now;

	for (int i = 0; i < POOL_COUNT; i++) {
		if ((now = cutover_in_panic(cx, i)) == cx->panic[i])
			continue;
		cx->panic[i] = now;
		p = s->pools[i];
		if (!now) {
			cutover_panic_over(s, i, why, sizeof(why));
			log_info("panic over: %s", why);
			continue;
		}
		if ((n = pool_panic_members(p)) == p->nmembers)
			log_warn("panic: %s has 0 of %zu members up; routing "
			    "to all %zu anyway (health.panic)", pool_name(i),
			    p->nmembers, n);
		else
			log_warn("panic: %s has 0 of %zu members up; routing "
			    "to the %zu in state ready anyway (health.panic)",
			    pool_name(i), p->nmembers, n);
	}
}

/* A request on a worker saw m fail (worker_ops.observe): the member's
 * health changes here, on the control thread, and nowhere else. */
static void
cutover_member_failed(void *ctx, struct member *m, const char *why,
    unsigned fall)
{
	struct cutover	*cx = ctx;
	bool		 down;

	down = fall == WORKER_FAIL_NOW ? member_fail_now(m, why) :
	    member_observe(m, why, fall);
	if (down) {
		cutover_close_idle(cx, m);
		cutover_panic_check(cx);
	}
}

static void
cutover_reload_result(struct cutover *cx, bool ok, const char *text,
    char *msg, size_t msglen)
{
	cx->reload.at = time(NULL);
	cx->reload.ok = ok;
	cx->stats.reloads[ok]++;
	snprintf(cx->reload.msg, sizeof(cx->reload.msg), "%s", text);
	for (char *p = cx->reload.msg; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	snprintf(msg, msglen, "%s", cx->reload.msg);
	if (ok)
		log_info("reload: %s", cx->reload.msg);
	else
		log_error("reload failed, nothing changed: %s",
		    cx->reload.msg);
}

static bool
cutover_same_str(const char *a, const char *b)
{
	return (a == b || (a != NULL && b != NULL && strcmp(a, b) == 0));
}

/* Whether two configurations ask for the same admin sockets. */
static bool
cutover_same_admin(const struct config *a, const struct config *b)
{
	return (cutover_same_str(a->admin_socket, b->admin_socket) &&
	    a->admin_socket_mode == b->admin_socket_mode &&
	    cutover_same_str(a->admin_socket_group, b->admin_socket_group) &&
	    cutover_same_str(a->admin_readonly_socket,
	    b->admin_readonly_socket) &&
	    (a->admin_http == NULL ? b->admin_http == NULL :
	    b->admin_http != NULL && addr_equal(a->admin_http, b->admin_http)));
}

/* Whether b routes differently from a: another active pool, or other
 * members (members are shared when their address stays: snapshot.h). */
static bool
cutover_routing_changed(const struct snapshot *a, const struct snapshot *b)
{
	if (a->active != b->active)
		return (true);
	for (int i = 0; i < POOL_COUNT; i++) {
		if (a->pools[i]->nmembers != b->pools[i]->nmembers)
			return (true);
		for (size_t k = 0; k < a->pools[i]->nmembers; k++)
			if (a->pools[i]->members[k] != b->pools[i]->members[k])
				return (true);
	}
	return (false);
}

/* A reload's listeners, opened beside each worker's own (worker 0 first,
 * workers_run_lead, so that the others bind the port it got for
 * "host:0"). */
static void
cutover_listen_job(struct worker *w, void *arg)
{
	const struct config	*cf = arg;
	struct cutover		*cx = w->ctx;

	w->pending = listeners_open(w, cf, w->listeners, w->id > 0 ?
	    workers_get(cx->workers, 0)->pending : NULL, conn_new, w->err,
	    sizeof(w->err));
}

static void
cutover_unlisten_job(struct worker *w, void *arg)
{
	listeners_free(w->pending, w->listeners);
	w->pending = NULL;
}

/*
 * What a reload counts in the descriptors needed holds on w from now on
 * (on w's thread, in the reload's job, before cutover_fdlimit): idle
 * lists longer than the new upstream.max_idle (or warm_idle, where more)
 * are cut down at once, mirror copies beyond the new mirror.max_inflight
 * (all of them with mirroring off), and with upstream.splice off the
 * cached pipes (those in use close as their bodies end).
 */
static void
cutover_reload_bounds(struct worker *w)
{
	const struct config	*cf;
	unsigned		 keep, cut;

	if (w->snap == NULL)
		return;
	cf = w->snap->config;
	keep = cf->max_idle > cf->warm_idle ? cf->max_idle : cf->warm_idle;
	for (int i = 0; i < POOL_COUNT; i++)
		for (size_t k = 0; k < w->snap->pools[i]->nmembers; k++)
			upstream_trim_idle(w->snap->pools[i]->members[k], w->id,
			    keep);
	io_pipes_keep(cf->splice);	/* fdlimit counts none without it */
	if (cf->mirror.percent == 0) {
		if ((cut = mirror_trim(0)) > 0)
			log_info("mirror: worker %u cut %u cop%s in flight: "
			    "mirroring is off", w->id, cut, cut == 1 ? "y" :
			    "ies");
	} else if ((cut = mirror_trim(cf->mirror.max_inflight)) > 0)
		log_info("mirror: worker %u cut %u cop%s in flight, beyond "
		    "mirror.max_inflight = %u", w->id, cut, cut == 1 ? "y" :
		    "ies", cf->mirror.max_inflight);
}

/* A reload commits: the new listeners and the new snapshot. */
static void
cutover_reload_job(struct worker *w, void *arg)
{
	struct listeners	*l = w->pending;

	w->pending = NULL;
	l->paused = w->listeners->paused;
	listeners_free(w->listeners, l);
	w->listeners = l;
	cutover_sync(w, NULL);
	listeners_resync(l);
	worker_pace(w);		/* limits.max_connections may have changed */
	cutover_reload_bounds(w);
}

/* Whether every worker opened its listeners; text says why not. */
static bool
cutover_listening(struct cutover *cx, char *text, size_t len)
{
	struct worker	*w;

	for (unsigned i = 0; i < workers_count(cx->workers); i++)
		if ((w = workers_get(cx->workers, i))->pending == NULL) {
			snprintf(text, len, "%s", w->err);
			return (false);
		}
	return (true);
}

/*
 * The DNS sets a reload's snapshot merges: the live ones, but none for a
 * pool whose name the new configuration changes (it starts afresh).
 */
static void
cutover_reload_sets(struct cutover *cx, const struct config *cf,
    struct snapshot_dns *sets)
{
	/* a changed name keeps the old one's members until it answers:
	 * validate, then swap, as for everything a reload changes */
	for (int i = 0; i < POOL_COUNT; i++) {
		memset(&sets[i], 0, sizeof(sets[i]));
		if (cf->pools[i].dns != NULL)
			sets[i] = cx->dns_pool[i].set;
	}
}

/* A reload commits its resolver and forgets the names it changed. */
static void
cutover_reload_dns(struct cutover *cx, const struct config *cf,
    struct dns *dns, const char *warn)
{
	struct cutover_dns	*pd;

	if (dns != cx->dns) {
		dns_free(cx->dns);
		cx->dns = dns;
		if (warn[0] != '\0')
			log_warn("dns: %s", warn);
	}
	for (int i = 0; i < POOL_COUNT; i++) {
		pd = &cx->dns_pool[i];
		if (cutover_same_str(cf->pools[i].dns, cx->config->pools[i].dns))
			continue;
		/* the counters go on: they count lookups of the pool */
		pd->last[0] = '\0';
		pd->last_at = pd->failing_since = 0;
		if (cf->pools[i].dns == NULL) {
			snapshot_dns_clear(&pd->set);
			continue;
		}
		if (pd->set.naddrs > 0)
			log_info("dns: %s: now %s; keeping the %zu address(es) "
			    "of %s until it answers", pool_name((enum pool_id)i),
			    cf->pools[i].dns, pd->set.naddrs,
			    cx->config->pools[i].dns != NULL ?
			    cx->config->pools[i].dns : "the last name");
	}
}

int
cutover_reload(struct cutover *cx, char *msg, size_t msglen)
{
	struct config		*cf;
	struct snapshot		*old = router_live(cx->router), *s;
	struct snapshot_dns	 sets[POOL_COUNT];
	struct dns		*dns = cx->dns;
	enum pool_id		 was;
	char			 text[1024], warn[512] = "", decl[512] = "";

	cf = NULL;
	if (workers_stopping(cx->workers)) {
		snprintf(text, sizeof(text), "shutting down");
		goto fail;
	}
	/* cf->sha256 is the hash of the bytes parsed: if the file changes
	 * meanwhile, the watch sees another hash, and loads again */
	if ((cf = config_load(cx->config_path, text, sizeof(text))) == NULL)
		goto fail;
	/* new names or settings: a new resolver, swapped in at commit */
	if (!dns_same(cf, cx->config)) {
		dns = NULL;
		if (dns_wanted(cf) && (dns = dns_new(cx->base, cf,
		    &cutover_dns_ops, cx, text, sizeof(text), warn,
		    sizeof(warn))) == NULL)
			goto fail;
	}
	workers_run_lead(cx->workers, cutover_listen_job, cf);
	if (!cutover_listening(cx, text, sizeof(text))) {
		workers_run(cx->workers, cutover_unlisten_job, NULL);
		goto fail;
	}
	cutover_reload_sets(cx, cf, sets);
	/* the pool serving stays: the file's `active` goes through the gate
	 * after the commit (cutover_declare) */
	if ((s = snapshot_build_dns(cf, old, old->active, sets)) == NULL) {
		workers_run(cx->workers, cutover_unlisten_job, NULL);
		snprintf(text, sizeof(text), "out of memory");
		goto fail;
	}
	/* every request would get a 503, as a switch to it would (which
	 * even force cannot make) */
	if (s->pools[s->active]->nmembers == 0 &&
	    old->pools[old->active]->nmembers > 0) {
		snapshot_unref(s);
		workers_run(cx->workers, cutover_unlisten_job, NULL);
		snprintf(text, sizeof(text), "the active pool %s would have no "
		    "members%s%s%s", pool_name(old->active),
		    cf->pools[old->active].dns != NULL ? ": dns " : "",
		    cf->pools[old->active].dns != NULL ?
		    cf->pools[old->active].dns : "",
		    cf->pools[old->active].dns != NULL ?
		    " has not answered yet" : "");
		goto fail;
	}
	/* commit: nothing below can fail */
	if (!cutover_same_admin(cf, cx->config))
		log_warn("reload: changes to admin.* take effect at restart");
	if (cf->workers != cx->config->workers)
		log_warn("reload: a change to workers takes effect at "
		    "restart");
	cutover_reload_dns(cx, cf, dns, warn);
	if (cutover_routing_changed(old, s))
		cx->stats.generation++;
	router_install(cx->router, s);
	workers_run(cx->workers, cutover_reload_job, NULL);
	probes_sync(cx->probes, s);
	was = cx->config->active;
	config_free(cx->config);
	cx->config = cf;
	log_set_level(cf->log_level);
	snprintf(cx->file.sha256, sizeof(cx->file.sha256), "%s", cf->sha256);
	clock_gettime(CLOCK_REALTIME, &cx->file.at);
	cx->file.tried[0] = '\0';
	cutover_watch_sync(cx);
	cutover_fdlimit(cx, cf, CUTOVER_FD_RELOAD);	/* max_connections, ... */
	/* the reload stands even when the declared colour is refused */
	cutover_declare(cx, cf, was, decl, sizeof(decl));
	/* what serves now: a switch the declaration made replaced s */
	s = router_live(cx->router);
	snprintf(text, sizeof(text), "reloaded %s: active %s, blue %zu "
	    "member(s), green %zu member(s), %zu listener(s)%s", cf->path,
	    pool_name(s->active), s->pools[POOL_BLUE]->nmembers,
	    s->pools[POOL_GREEN]->nmembers, cf->nlisten, decl);
	cutover_reload_result(cx, true, text, msg, msglen);
	cutover_preview_note(cf);
	cutover_panic_check(cx);	/* other members, or health.panic */
	return (0);
fail:
	if (dns != cx->dns)
		dns_free(dns);
	config_free(cf);
	cutover_reload_result(cx, false, text, msg, msglen);
	return (-1);
}

/* ------------------------------------------------------------------ dns */

/* Installs a snapshot with pool's new DNS set, as a reload does. */
static void
cutover_dns_install(struct cutover *cx, enum pool_id pool)
{
	struct cutover_dns	*pd = &cx->dns_pool[pool];
	struct snapshot		*old = router_live(cx->router), *s;
	struct snapshot_dns	 sets[POOL_COUNT];
	char			 diff[512];
	size_t			 added, removed;

	for (int i = 0; i < POOL_COUNT; i++)
		sets[i] = cx->dns_pool[i].set;
	if ((s = snapshot_build_dns(old->config, old, old->active, sets)) ==
	    NULL) {
		log_error("dns: %s %s: out of memory: members unchanged",
		    pool_name(pool), cx->config->pools[pool].dns);
		return;
	}
	snapshot_diff(old, s, pool, diff, sizeof(diff), &added, &removed);
	if (added + removed == 0) {
		/* the addresses that changed are static members too */
		snapshot_unref(s);
		return;
	}
	pd->added += added;
	pd->removed += removed;
	cx->stats.generation++;
	/* workers close their idle connections to members that left;
	 * requests routed with the old snapshot finish on it */
	router_install(cx->router, s);
	workers_run(cx->workers, cutover_sync, NULL);
	probes_sync(cx->probes, s);
	log_info("dns: %s %s: %s (%zu member(s))", pool_name(pool),
	    cx->config->pools[pool].dns, diff, s->pools[pool]->nmembers);
	cutover_panic_check(cx);	/* other members, other health */
}

/* A lookup of pool's name ended (dns_ops.answer). */
static void
cutover_dns_answer(void *ctx, enum pool_id pool, const struct dns_answer *a)
{
	struct cutover		*cx = ctx;
	struct cutover_dns	*pd = &cx->dns_pool[pool];
	const char		*name = cx->config->pools[pool].dns;
	size_t			 n;

	pd->last_at = time(NULL);
	pd->lookups[a->ok]++;
	snprintf(pd->last, sizeof(pd->last), "%s", a->ok ? "ok" : a->why);
	if (!a->ok) {
		/* once per change of state, not once per try */
		if (pd->failing_since == 0) {
			pd->failing_since = pd->last_at;
			n = router_live(cx->router)->pools[pool]->nmembers;
			log_warn("dns: %s %s: lookups failing (%s); keeping %zu "
			    "member(s)", pool_name(pool), name, a->why, n);
		}
		return;
	}
	if (pd->failing_since != 0) {
		pd->failing_since = 0;
		log_info("dns: %s %s: resolving again: %zu address(es)",
		    pool_name(pool), name, a->naddrs);
	}
	switch (snapshot_dns_apply(&pd->set, a->addrs, a->naddrs)) {
	case -1:
		log_error("dns: %s %s: out of memory: members unchanged",
		    pool_name(pool), name);
		return;
	case 0:
		return;
	}
	if (!workers_stopping(cx->workers))
		cutover_dns_install(cx, pool);
	cutover_fdlimit(cx, cx->config, CUTOVER_FD_DNS);
}

/* Why pool id has no members: "green has no members: dns NAME:PORT has
 * not resolved (NXDOMAIN)". */
static void
cutover_why_empty(const struct cutover *cx, enum pool_id id, char *msg,
    size_t msglen)
{
	const struct cutover_dns	*pd = &cx->dns_pool[id];
	const char			*name = cx->config->pools[id].dns;

	if (name == NULL)
		snprintf(msg, msglen, "%s has no members", pool_name(id));
	else
		snprintf(msg, msglen, "%s has no members: dns %s has not "
		    "resolved (%s)", pool_name(id), name, pd->last_at == 0 ?
		    "no answer yet" : pd->last);
}

/* A worker closes its listeners and drains its connections. */
static void
cutover_drain_job(struct worker *w, void *arg)
{
	w->draining = true;
	listeners_free(w->listeners, NULL);
	w->listeners = NULL;
	conn_drain_all(w);
}

/* A worker whose last connection closed while draining
 * (worker_ops.drained). */
static void
cutover_worker_drained(void *ctx, struct worker *w)
{
	struct cutover		*cx = ctx;
	struct workers_totals	 t;

	workers_totals(cx->workers, &t);
	if (cx->draining && t.conns == 0)
		event_base_loopexit(cx->base, NULL);
}

/* Closes the listeners and lets the connections finish within the grace
 * time; the loop exits when the last one is gone. */
static void
cutover_drain_all(struct cutover *cx)
{
	struct workers_totals	t;
	unsigned		ms = cx->config->grace_ms;
	struct timeval		tv = { ms / 1000, (ms % 1000) * 1000 };

	cx->draining = true;
	workers_totals(cx->workers, &t);
	log_info("stopping: listeners closed, draining %u connection(s) for "
	    "up to %u ms", t.conns, ms);
	workers_run(cx->workers, cutover_drain_job, NULL);
	workers_totals(cx->workers, &t);
	if (t.conns == 0)
		event_base_loopexit(cx->base, NULL);
	else
		evtimer_add(cx->ev_grace, &tv);
}

static void
cutover_delay_cb(evutil_socket_t fd, short what, void *arg)
{
	cutover_drain_all(arg);
}

void
cutover_stop(struct cutover *cx, const char *why)
{
	unsigned	ms = cx->config->delay_ms;
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	if (workers_stopping(cx->workers)) {
		log_warn("%s: second stop: exiting now", why);
		event_base_loopbreak(cx->base);
		return;
	}
	/* not ready from now on; responses carry Connection: close */
	workers_set_stopping(cx->workers);
	if (ms == 0) {
		log_info("%s: stopping", why);
		cutover_drain_all(cx);
		return;
	}
	/* Kubernetes still sends traffic until the endpoint is removed */
	log_info("%s: not ready; serving for %u ms before closing listeners",
	    why, ms);
	evtimer_add(cx->ev_delay, &tv);
}

static void
cutover_grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cutover		*cx = arg;
	struct workers_totals	 t;

	workers_totals(cx->workers, &t);
	log_warn("grace time over: closing %u connection(s) still busy",
	    t.conns);
	event_base_loopexit(cx->base, NULL);
}

static void
cutover_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct cutover	*cx = arg;
	char		 msg[1024];

	if (sig == SIGHUP) {
		log_info("SIGHUP: reloading %s", cx->config_path);
		cutover_reload(cx, msg, sizeof(msg));
		return;
	}
	cutover_stop(cx, sig == SIGTERM ? "SIGTERM received" :
	    "SIGINT received");
}

/*
 * Anyone may pick a pool when the preview header or cookie is on and no
 * token is set: said once at start and at every reload, at info (visible
 * by default), so that an operator knows without every log warning.
 */
static void
cutover_preview_note(const struct config *cf)
{
	if (cf->preview.token != NULL || (cf->preview.header[0] == '\0' &&
	    cf->preview.cookie == NULL))
		return;
	log_info("preview: any client can pick a pool with %s%s%s%s "
	    "(preview.token is not set)", cf->preview.header[0] != '\0' ?
	    "header " : "", cf->preview.header, cf->preview.header[0] !=
	    '\0' && cf->preview.cookie != NULL ? " or cookie " :
	    cf->preview.cookie != NULL ? "cookie " : "",
	    cf->preview.cookie != NULL ? cf->preview.cookie : "");
}

/* ---------------------------------------------------------------- switch */

/* Parses a pool name from an admin command; 0, or -1 with msg. */
static int
cutover_pool(const char *pool, enum pool_id *id, char *msg, size_t msglen)
{
	if (pool_parse(pool, id) == 0)
		return (0);
	snprintf(msg, msglen, "no pool named '%.40s' (pools: %s, %s)", pool,
	    pool_name(POOL_BLUE), pool_name(POOL_GREEN));
	return (-1);
}

#define CUTOVER_DOWN_LISTED	4	/* down members a refusal names */

/* Why m does not count as healthy: its admin state, else its last probe. */
static const char *
cutover_why_down(const struct member *m, unsigned rise, char *buf,
    size_t len)
{
	if (m->admin != MEMBER_READY)
		return (member_admin_name(m->admin));
	if (m->health == HEALTH_NEW) {
		/* its last probe may well have passed: it has to rise */
		snprintf(buf, len, "new: %u of %u probes passed", m->ok_streak,
		    rise);
		return (buf);
	}
	if (m->health == HEALTH_UNKNOWN && m->probes[0] + m->probes[1] == 0)
		return ("not probed yet");
	return (m->last[0] != '\0' ? m->last : member_health_name(m->health));
}

/*
 * Appends "; down: ADDR (why), ..." for the members of p that are not
 * healthy, naming at most CUTOVER_DOWN_LISTED of them, so that a huge
 * pool still gives a short answer.
 */
static void
cutover_gate_down(const struct pool *p, unsigned rise, char *msg,
    size_t msglen)
{
	const struct member	*m;
	size_t			 used, listed = 0, more = 0;
	char			 why[64];

	for (size_t i = 0; i < p->nmembers; i++) {
		if (member_is_healthy(m = p->members[i]))
			continue;
		if (listed == CUTOVER_DOWN_LISTED) {
			more++;
			continue;
		}
		used = strlen(msg);
		snprintf(msg + used, msglen - used, "%s%s (%s)",
		    listed == 0 ? "; down: " : ", ", m->addr.text,
		    cutover_why_down(m, rise, why, sizeof(why)));
		listed++;
	}
	used = strlen(msg);
	if (more > 0)
		snprintf(msg + used, msglen - used, " and %zu more", more);
}

/* Whether pool id of s may take the traffic: 1 yes, 0 no; msg says. */
static int
cutover_gate(const struct cutover *cx, const struct snapshot *s,
    enum pool_id id, char *msg, size_t msglen)
{
	const struct pool	*p = s->pools[id];
	unsigned		 need;
	size_t			 ok = pool_healthy(p);

	/* min_healthy of nothing may be nothing: an empty pool never is */
	if (p->nmembers == 0) {
		cutover_why_empty(cx, id, msg, msglen);
		return (0);
	}
	need = check_min_required(&s->config->min_healthy, p->nmembers);
	if (ok >= need) {
		snprintf(msg, msglen, "%s: %zu of %zu members healthy",
		    pool_name(id), ok, p->nmembers);
		return (1);
	}
	snprintf(msg, msglen, "%s has %zu of %zu members healthy; "
	    "switch.min_healthy requires %u", pool_name(id), ok, p->nmembers,
	    need);
	cutover_gate_down(p, s->config->pools[id].health.rise, msg, msglen);
	return (0);
}

/* Tunnels left on pool get drain_timeout_ms, then are closed. */
static void
cutover_drain_later(struct cutover *cx, enum pool_id pool)
{
	unsigned	ms = cx->config->drain_timeout_ms;
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(cx->drain[pool].ev, &tv);
}

static void
cutover_tunnels_job(struct worker *w, void *arg)
{
	struct cutover_drain	*d = arg;

	atomic_fetch_add(&d->n, conn_tunnel_drain(w, d->pool,
	    ((struct cutover *)w->ctx)->config->drain_spread_ms));
}

static void
cutover_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cutover_drain	*d = arg;
	struct cutover		*cx = d->cx;
	unsigned		 n, spread = cx->config->drain_spread_ms;

	if (router_live(cx->router)->active == d->pool)
		return;		/* switched back meanwhile */
	atomic_store(&d->n, 0);
	workers_run(cx->workers, cutover_tunnels_job, d);
	if ((n = atomic_load(&d->n)) > 0)
		log_info("drain: closing %u tunnel(s) on %s over %u ms", n,
		    pool_name(d->pool), spread);
}

const char *
cutover_action_name(enum cutover_action a)
{
	switch (a) {
	case CUTOVER_SWITCH:
		return ("switch");
	case CUTOVER_ROLLBACK:
		return ("rollback");
	case CUTOVER_RELOAD:
		return ("reload");
	default:
		return ("none");
	}
}

/* Remembers a change of the active pool for rollback and the status. */
static void
cutover_changed(struct cutover *cx, enum cutover_action action,
    enum pool_id from, enum pool_id to, bool forced, const char *by)
{
	struct cutover_change	*c = &cx->last_change;

	c->action = action;
	c->from = from;
	c->to = to;
	c->forced = forced;
	clock_gettime(CLOCK_REALTIME, &c->at);
	c->generation = cx->stats.generation;
	snprintf(c->by, sizeof(c->by), "%s", by != NULL ? by : "in-process");
}

long long
cutover_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* The wall clock in microseconds since the epoch. */
static long long
cutover_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

/* ms since the epoch as "2026-01-02T03:04:05.678Z". */
static void
cutover_when_ms(long long ms, char *buf, size_t len)
{
	time_t		t = (time_t)(ms / 1000);
	struct tm	tm;
	char		s[24];

	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03lldZ", s, ms % 1000);
}

/*
 * Switches to id after the gate and the state file; logs the outcome.
 * gen, when not 0, becomes the release generation: it must be newer than
 * the current one, and is written to the state file even when id is
 * already active.
 */
static int
cutover_move(struct cutover *cx, enum cutover_action action, enum pool_id id,
    bool force, uint64_t gen, const char *by, char *msg, size_t msglen)
{
	const struct snapshot	*s = router_live(cx->router);
	const char		*state = s->config->state_file;
	const char		*what = cutover_action_name(action);
	uint64_t		 r = cx->release.generation;
	char			 why[1024], rel[64] = "", when[32];
	enum pool_id		 from, shift_pool;
	unsigned		 shifted;

	if (cx->sched.pending) {
		cutover_when_ms(cx->sched.at_ms, when, sizeof(when));
		snprintf(msg, msglen, "refused: a switch to %s is scheduled "
		    "at %s: cancel it first", pool_name(cx->sched.pool), when);
		log_warn("%s %s refused: a switch is scheduled", what,
		    pool_name(id));
		return (-1);
	}
	if (gen != 0 && gen <= r) {
		snprintf(msg, msglen, "refused: generation %" PRIu64 " is not "
		    "newer than %" PRIu64 " (the release generation)", gen, r);
		log_warn("%s %s refused: generation %" PRIu64 " is not newer "
		    "than %" PRIu64, what, pool_name(id), gen, r);
		return (-1);
	}
	if (gen != 0)
		snprintf(rel, sizeof(rel), ", release generation %" PRIu64,
		    gen);
	if (s->active != id && !cutover_gate(cx, s, id, why, sizeof(why))) {
		/* force cannot help: every request would get a 503 */
		if (!force || s->pools[id]->nmembers == 0) {
			snprintf(msg, msglen, "refused: %s%s", why,
			    s->pools[id]->nmembers == 0 ? "" :
			    " (add 'force' to override)");
			log_warn("%s %s refused: %s", what, pool_name(id), why);
			return (-1);
		}
		log_warn("%s %s forced: %s", what, pool_name(id), why);
	}
	if ((s->active != id || gen != 0) && state != NULL &&
	    state_write(state, id, gen != 0 ? gen : r, why, sizeof(why)) ==
	    -1) {
		snprintf(msg, msglen, "refused: %s; nothing changed", why);
		log_error("%s %s refused: %s", what, pool_name(id), why);
		return (-1);
	}
	from = s->active;
	shifted = s->shift_percent;
	shift_pool = s->shift_pool;
	if (router_switch(cx->router, id, msg, msglen) == -1)
		return (-1);
	if (shifted > 0)
		log_info("%s: shift of %u%% to %s ended", what, shifted,
		    pool_name(shift_pool));
	if (gen != 0)
		cx->release.generation = gen;
	if (from == id) {
		snprintf(msg, msglen, "%s is already active (generation "
		    "%llu%s)%s", pool_name(id),
		    (unsigned long long)cx->stats.generation, rel,
		    shifted > 0 ? "; shift ended" : "");
		if (shifted > 0)
			workers_snap_nudge(cx->workers);
		log_info("%s%s: %s", what, force ? " (forced)" : "", msg);
		return (0);
	}
	cx->release.why[0] = '\0';
	if (cx->guard.state == CUTOVER_GUARD_WATCHING) {
		snprintf(why, sizeof(why), "cancelled: %s to %s by %s", what,
		    pool_name(id), by != NULL ? by : "in-process");
		cutover_guard_end(cx, CUTOVER_GUARD_CANCELLED, why);
		log_info("guard on %s %s", pool_name(cx->guard.pool), why);
	}
	/* published: every request routed from now on takes it (worker.h);
	 * idle workers take it soon, not waited for */
	workers_snap_nudge(cx->workers);
	cx->stats.generation++;
	cx->stats.switches[force]++;
	clock_gettime(CLOCK_REALTIME, &cx->stats.last_switch);
	cutover_changed(cx, action, from, id, force, by);
	snprintf(msg, msglen, "%s (was %s), generation %llu%s", pool_name(id),
	    pool_name(from), (unsigned long long)cx->stats.generation, rel);
	log_info("%s%s: %s", what, force ? " (forced)" : "", msg);
	cutover_panic_check(cx);
	cutover_drain_later(cx, from);
	return (0);
}

int
cutover_switch(struct cutover *cx, const char *pool, bool force,
    const char *by, char *msg, size_t msglen)
{
	enum pool_id	id;

	if (cutover_pool(pool, &id, msg, msglen) == -1)
		return (-1);
	return (cutover_switch_guarded(cx, id, force, 0, -1, by, msg,
	    msglen));
}

int
cutover_rollback(struct cutover *cx, bool force, const char *by, char *msg,
    size_t msglen)
{
	const struct cutover_change	*c = &cx->last_change;
	enum pool_id			 id;
	struct tm			 tm;
	char				 when[32];

	/* a retried rollback must not release the pool it left again */
	if (c->action == CUTOVER_ROLLBACK &&
	    router_live(cx->router)->active == c->to) {
		gmtime_r(&c->at.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(msg, msglen, "already rolled back to %s at %s "
		    "(generation %llu)", pool_name(c->to), when,
		    (unsigned long long)c->generation);
		log_info("rollback: %s", msg);
		return (0);
	}
	if (router_previous(cx->router, &id, msg, msglen) == -1)
		return (-1);
	return (cutover_move(cx, CUTOVER_ROLLBACK, id, force, 0, by, msg,
	    msglen));
}

int
cutover_shift(struct cutover *cx, const char *pool, unsigned percent,
    bool force, const char *by, char *msg, size_t msglen)
{
	const struct snapshot	*s = router_live(cx->router);
	enum pool_id		 id;
	char			 why[1024];

	if (cutover_pool(pool, &id, msg, msglen) == -1)
		return (-1);
	if (s->active == id) {
		snprintf(msg, msglen, "refused: %s is the active pool (shift "
		    "the other one; 'shift %s 0' or a switch ends a shift)",
		    pool_name(id), pool_name(s->shift_pool));
		return (-1);
	}
	if (percent > 0 && !cutover_gate(cx, s, id, why, sizeof(why))) {
		if (!force || s->pools[id]->nmembers == 0) {
			snprintf(msg, msglen, "refused: %s%s", why,
			    s->pools[id]->nmembers == 0 ? "" :
			    " (add 'force' to override)");
			log_warn("shift %s %u%% refused: %s", pool_name(id),
			    percent, why);
			return (-1);
		}
		log_warn("shift %s %u%% forced: %s", pool_name(id), percent,
		    why);
	}
	if (router_shift(cx->router, id, percent, msg, msglen) == -1)
		return (-1);
	workers_snap_nudge(cx->workers);
	log_info("shift%s: %s (by %s)", force ? " (forced)" : "", msg,
	    by != NULL ? by : "in-process");
	return (0);
}

/* The member of pool at addr in the live snapshot, or NULL with msg. */
static struct member *
cutover_find_member(struct cutover *cx, const char *pool, const char *addr,
    char *msg, size_t msglen)
{
	const struct snapshot	*s = router_live(cx->router);
	struct member		*m;
	struct addr		 a;
	enum pool_id		 id;
	char			 why[128];

	if (cutover_pool(pool, &id, msg, msglen) == -1)
		return (NULL);
	if (addr_parse(addr, &a, false, why, sizeof(why)) == -1) {
		snprintf(msg, msglen, "%s", why);
		return (NULL);
	}
	if ((m = pool_find(s->pools[id], &a)) == NULL)
		snprintf(msg, msglen, "pool %s has no member %s", pool_name(id),
		    a.text);
	return (m);
}

/* How many members of p may take a new request. */
static size_t
cutover_usable(const struct pool *p)
{
	size_t	n = 0;

	for (size_t i = 0; i < p->nmembers; i++)
		n += member_is_usable(p->members[i]);
	return (n);
}

int
cutover_member(struct cutover *cx, const char *pool, const char *addr,
    const char *state, bool force, char *msg, size_t msglen)
{
	const struct snapshot	*s = router_live(cx->router);
	struct member		*m;
	enum member_admin	 to, from;

	if (member_admin_parse(state, &to) == -1) {
		snprintf(msg, msglen, "unknown state '%.20s' (ready, drain, "
		    "maint)", state);
		return (-1);
	}
	if ((m = cutover_find_member(cx, pool, addr, msg, msglen)) == NULL)
		return (-2);
	if (to != MEMBER_READY && m->pool == s->active &&
	    member_is_usable(m) && cutover_usable(s->pools[m->pool]) == 1) {
		if (!force) {
			snprintf(msg, msglen, "refused: %s %s is the last "
			    "usable member of the active pool: new requests "
			    "would get 503 (add 'force' to override)",
			    pool_name(m->pool), m->addr.text);
			log_warn("member %s %s %s refused: last usable member "
			    "of the active pool", pool_name(m->pool),
			    m->addr.text, state);
			return (-1);
		}
		log_warn("member %s %s %s forced: last usable member of the "
		    "active pool", pool_name(m->pool), m->addr.text, state);
	}
	from = member_set_admin(m, to);
	if (to != MEMBER_READY)
		cutover_close_idle(cx, m);	/* they would only sit there */
	snprintf(msg, msglen, "%s %s: %s -> %s", pool_name(m->pool),
	    m->addr.text, member_admin_name(from), member_admin_name(to));
	log_info("member %s", msg);
	cutover_panic_check(cx);	/* a panic never picks drain or maint */
	return (0);
}

int
cutover_healthy(struct cutover *cx, const char *pool, char *msg,
    size_t msglen)
{
	enum pool_id	id;

	if (cutover_pool(pool, &id, msg, msglen) == -1)
		return (-1);
	return (cutover_gate(cx, router_live(cx->router), id, msg, msglen));
}

int
cutover_drained(struct cutover *cx, const char *pool, char *msg,
    size_t msglen)
{
	struct workers_totals	t;
	enum pool_id		id;

	if (cutover_pool(pool, &id, msg, msglen) == -1)
		return (-1);
	if (cx->guard.state != CUTOVER_GUARD_NONE && cx->guard.from == id) {
		switch (cx->guard.state) {
		case CUTOVER_GUARD_WATCHING:
			snprintf(msg, msglen, "the guard watches %s: %.1f s "
			    "left (%s)", pool_name(cx->guard.pool),
			    cutover_guard_left(cx), cx->guard.why);
			return (0);
		case CUTOVER_GUARD_ROLLED_BACK:
			if (router_live(cx->router)->active != id)
				break;
			snprintf(msg, msglen, "the guard rolled %s back to %s: "
			    "%s", pool_name(cx->guard.pool), pool_name(id),
			    cx->guard.why);
			return (-1);
		case CUTOVER_GUARD_REFUSED:
			snprintf(msg, msglen, "the guard tripped on %s, and "
			    "the rollback to %s was refused: %s",
			    pool_name(cx->guard.pool), pool_name(id),
			    cx->guard.why);
			return (-1);
		default:
			break;
		}
	}
	if (router_live(cx->router)->active == id) {
		snprintf(msg, msglen, "%s is the active pool: it will not "
		    "drain (switch first)", pool_name(id));
		return (-1);
	}
	workers_totals(cx->workers, &t);
	if (t.inflight[id] > 0) {
		snprintf(msg, msglen, "%s has %u request(s) in flight",
		    pool_name(id), t.inflight[id]);
		return (0);
	}
	snprintf(msg, msglen, "%s: drained", pool_name(id));
	return (1);
}

/* ------------------------------------------------------------- release */

/*
 * What a reload does with the colour its file declares.  Every change of
 * the serving pool a reload makes goes through the gate, as `switch` does,
 * and is written to the state file (the pool and the release generation
 * R); a refusal is logged, counted and shown by status, and never fails
 * the reload.  The file's active pool is wanted:
 * - with a generation newer than R: the generation becomes R;
 * - with a generation not newer than R: never (logged once), so that an
 *   old file never undoes a newer switch;
 * - without a generation (0): only while no release generation is in
 *   force (R 0), and only when the file changed it (was: the active pool
 *   of the file loaded before) or a former attempt was refused — so a
 *   file without a generation never undoes a release either.
 * Appends what happened to text (len bytes).
 */
static void
cutover_declare(struct cutover *cx, const struct config *cf, enum pool_id was,
    char *text, size_t len)
{
	const struct snapshot	*s = router_live(cx->router);
	uint64_t		 r = cx->release.generation;
	char			 why[1024], msg[1024];
	size_t			 used = strlen(text);
	bool			 retry;

	retry = cx->release.why[0] != '\0' &&
	    cx->release.declared == cf->active;
	cx->release.declared = cf->active;
	cx->release.declared_gen = cf->generation;
	if (cf->generation == 0 && (s->active == cf->active ||
	    (cf->active == was && !retry))) {
		cx->release.why[0] = '\0';
		return;
	}
	if (cf->generation == 0 && r > 0) {
		snprintf(cx->release.why, sizeof(cx->release.why), "the file "
		    "declares no generation, and release generation %" PRIu64
		    " is in force", r);
		if (cx->release.nogen_logged != r) {
			log_info("reload: declared %s ignored: the file "
			    "declares no generation, and a file without one "
			    "never undoes release generation %" PRIu64
			    " (serving %s)", pool_name(cf->active), r,
			    pool_name(s->active));
			cx->release.nogen_logged = r;
		}
		snprintf(text + used, len - used, "; declared %s (no "
		    "generation) ignored: release generation %" PRIu64
		    " serves %s", pool_name(cf->active), r,
		    pool_name(s->active));
		return;
	}
	if (cf->generation != 0 && cf->generation <= r) {
		if (s->active != cf->active && cx->release.stale_logged !=
		    cf->generation) {
			log_info("reload: declared %s (generation %u) "
			    "ignored: the release generation %" PRIu64 " is "
			    "not older", pool_name(cf->active), cf->generation,
			    r);
			cx->release.stale_logged = cf->generation;
		}
		if (s->active != cf->active)
			snprintf(text + used, len - used, "; declared %s "
			    "(generation %u) ignored: release generation %"
			    PRIu64 " serves %s", pool_name(cf->active),
			    cf->generation, r, pool_name(s->active));
		return;
	}
	if (s->active != cf->active && !cutover_gate(cx, s, cf->active, why,
	    sizeof(why))) {
		cx->release.refused++;
		snprintf(cx->release.why, sizeof(cx->release.why), "%.500s",
		    why);
		log_warn("reload: declared %s (generation %u) refused, serving "
		    "%s: %s", pool_name(cf->active), cf->generation,
		    pool_name(s->active), why);
		snprintf(text + used, len - used, "; declared %s (generation "
		    "%u) refused, serving %s: %.300s", pool_name(cf->active),
		    cf->generation, pool_name(s->active), why);
		return;
	}
	if (cutover_move(cx, CUTOVER_RELOAD, cf->active, false, cf->generation,
	    "reload", msg, sizeof(msg)) == -1) {
		cx->release.refused++;
		snprintf(cx->release.why, sizeof(cx->release.why), "%.500s",
		    msg);
		snprintf(text + used, len - used, "; declared %s (generation "
		    "%u) %.300s", pool_name(cf->active), cf->generation, msg);
		return;
	}
	cx->release.why[0] = '\0';
	snprintf(text + used, len - used, "; declared %s (generation %u) "
	    "applied: %.300s", pool_name(cf->active), cf->generation, msg);
}

int
cutover_sched_delay(long long at_ms, long long now_us, struct timeval *tv)
{
	long long	us;

	/* in ms first: at_ms * 1000 of a far instant would overflow */
	if (at_ms - now_us / 1000 > CUTOVER_SCHED_MAX_MS + 1 ||
	    at_ms < now_us / 1000)
		return (-1);
	us = at_ms * 1000 - now_us;
	if (us <= 0 || us > (long long)CUTOVER_SCHED_MAX_MS * 1000)
		return (-1);
	tv->tv_sec = (time_t)(us / 1000000);
	tv->tv_usec = (suseconds_t)(us % 1000000);
	return (0);
}

const char *
cutover_sched_result_name(enum cutover_sched_result r)
{
	switch (r) {
	case CUTOVER_SCHED_SWITCHED:
		return ("switched");
	case CUTOVER_SCHED_REFUSED:
		return ("refused");
	case CUTOVER_SCHED_CANCELLED:
		return ("cancelled");
	default:
		return ("none");
	}
}

/*
 * Arms the scheduled switch's timer to fire tv from now (monotonic,
 * absolute, so that nothing is lost between the reading and the arming).
 * 0, or -1 with errno.
 */
static int
cutover_sched_arm(struct cutover_sched *sc, const struct timeval *tv)
{
	struct itimerspec	its;
	struct timespec		now;

	memset(&its, 0, sizeof(its));
	clock_gettime(CLOCK_MONOTONIC, &now);
	its.it_value.tv_sec = now.tv_sec + tv->tv_sec;
	its.it_value.tv_nsec = now.tv_nsec + (long)tv->tv_usec * 1000;
	if (its.it_value.tv_nsec >= 1000000000) {
		its.it_value.tv_sec++;
		its.it_value.tv_nsec -= 1000000000;
	}
	if (timerfd_settime(sc->fd, TFD_TIMER_ABSTIME, &its, NULL) == -1)
		return (-1);
	return (event_add(sc->ev, NULL));
}

static void
cutover_sched_disarm(struct cutover_sched *sc)
{
	struct itimerspec	its;

	memset(&its, 0, sizeof(its));
	timerfd_settime(sc->fd, 0, &its, NULL);
	event_del(sc->ev);
}

/* Ends the scheduled switch with result and msg. */
static void
cutover_sched_end(struct cutover *cx, enum cutover_sched_result result,
    const char *msg)
{
	struct cutover_sched	*sc = &cx->sched;

	sc->pending = false;
	sc->last.result = result;
	sc->last.pool = sc->pool;
	sc->last.gen = sc->gen;
	sc->last.at_ms = sc->at_ms;
	sc->last.done_us = cutover_now_us();
	snprintf(sc->last.msg, sizeof(sc->last.msg), "%.500s", msg);
	cx->stats.scheduled[result]++;
}

/*
 * The instant of a scheduled switch.  The timer is monotonic: if the wall
 * clock says it came early (it was stepped, or the loop rounds), wait the
 * rest.  Then the switch is `switch`'s own: gate, state file, every worker
 * before the reply.  The log says how far from the instant it happened.
 */
static void
cutover_sched_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cutover		*cx = arg;
	struct cutover_sched	*sc = &cx->sched;
	struct timeval		 tv;
	long long		 fired = cutover_now_us(), done;
	uint64_t		 n;
	char			 msg[1024], when[32];
	int			 rc;

	/* drain the expiration count (EAGAIN: it was disarmed) */
	if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		log_warn("scheduled switch: timer: %s", strerror(errno));
	if (!sc->pending)
		return;
	if (cutover_sched_delay(sc->at_ms, fired, &tv) == 0 &&
	    (tv.tv_sec > 0 || tv.tv_usec > 100) &&
	    cutover_sched_arm(sc, &tv) == 0)
		return;
	sc->pending = false;
	rc = cutover_switch_guarded(cx, sc->pool, sc->force, sc->gen,
	    (int)sc->guard, sc->by, msg, sizeof(msg));
	done = cutover_now_us();
	cutover_when_ms(sc->at_ms, when, sizeof(when));
	log_info("scheduled switch to %s at %s: %s; timer %+.3f ms, %s "
	    "%+.3f ms from the instant", pool_name(sc->pool), when,
	    rc == 0 ? "done" : "refused", (double)(fired - sc->at_ms * 1000) /
	    1000, rc == 0 ? "switched" : "refused", (double)(done -
	    sc->at_ms * 1000) / 1000);
	cutover_sched_end(cx, rc == 0 ? CUTOVER_SCHED_SWITCHED :
	    CUTOVER_SCHED_REFUSED, msg);
	sc->last.done_us = done;
}

int
cutover_switch_gen(struct cutover *cx, const char *pool, bool force,
    long long at_ms, uint64_t gen, int guard, const char *by, char *msg,
    size_t msglen)
{
	struct cutover_sched	*sc = &cx->sched;
	const struct snapshot	*s = router_live(cx->router);
	uint64_t		 r = cx->release.generation;
	struct timeval		 tv;
	enum pool_id		 id;
	char			 why[1024], when[32], rel[64] = "";

	if (cutover_pool(pool, &id, msg, msglen) == -1)
		return (-1);
	if (at_ms == 0)
		return (cutover_switch_guarded(cx, id, force, gen, guard, by,
		    msg, msglen));
	if (sc->pending) {
		cutover_when_ms(sc->at_ms, when, sizeof(when));
		snprintf(msg, msglen, "refused: a switch to %s is already "
		    "scheduled at %s (cancel it first)", pool_name(sc->pool),
		    when);
		return (-1);
	}
	if (gen != 0 && gen <= r) {
		snprintf(msg, msglen, "refused: generation %" PRIu64 " is not "
		    "newer than %" PRIu64 " (the release generation)", gen, r);
		log_warn("scheduled switch %s refused: %s", pool_name(id), msg);
		return (-1);
	}
	if (cutover_sched_delay(at_ms, cutover_now_us(), &tv) == -1) {
		snprintf(msg, msglen, "refused: the instant %lld is not within "
		    "the next %d ms", at_ms, CUTOVER_SCHED_MAX_MS);
		return (-1);
	}
	/* prepare: the gate now, and again at the instant */
	if (s->active != id && !cutover_gate(cx, s, id, why, sizeof(why)) &&
	    (!force || s->pools[id]->nmembers == 0)) {
		snprintf(msg, msglen, "refused: %s", why);
		log_warn("scheduled switch %s refused: %s", pool_name(id), why);
		return (-1);
	}
	if (cutover_sched_arm(sc, &tv) == -1) {
		snprintf(msg, msglen, "refused: cannot arm the timer: %s",
		    strerror(errno));
		log_error("scheduled switch %s: %s", pool_name(id), msg);
		return (-1);
	}
	sc->pending = true;
	sc->pool = id;
	sc->force = force;
	sc->gen = gen;
	/* the configuration in force at the instant is not known yet */
	sc->guard = guard >= 0 ? (unsigned)guard : cx->config->guard_s;
	sc->at_ms = at_ms;
	snprintf(sc->by, sizeof(sc->by), "%s", by != NULL ? by : "in-process");
	cutover_when_ms(at_ms, when, sizeof(when));
	if (gen != 0)
		snprintf(rel, sizeof(rel), ", release generation %" PRIu64,
		    gen);
	snprintf(msg, msglen, "switch to %s scheduled at %s (%lld, in %lld "
	    "ms)%s", pool_name(id), when, at_ms, (long long)tv.tv_sec * 1000 +
	    tv.tv_usec / 1000, rel);
	log_info("switch %s scheduled at %s%s by %s", pool_name(id), when,
	    force ? " (forced)" : "", sc->by);
	return (0);
}

int
cutover_cancel(struct cutover *cx, const char *by, char *msg, size_t msglen)
{
	struct cutover_sched	*sc = &cx->sched;
	char			 when[32];

	if (!sc->pending) {
		snprintf(msg, msglen, "nothing scheduled");
		return (0);
	}
	cutover_sched_disarm(sc);
	cutover_when_ms(sc->at_ms, when, sizeof(when));
	snprintf(msg, msglen, "cancelled the switch to %s at %s",
	    pool_name(sc->pool), when);
	cutover_sched_end(cx, CUTOVER_SCHED_CANCELLED, msg);
	log_info("%s (by %s)", msg, by != NULL ? by : "in-process");
	return (0);
}

/* --------------------------------------------------------------- guard */

const char *
cutover_guard_state_name(enum cutover_guard_state st)
{
	switch (st) {
	case CUTOVER_GUARD_WATCHING:
		return ("watching");
	case CUTOVER_GUARD_PASSED:
		return ("passed");
	case CUTOVER_GUARD_ROLLED_BACK:
		return ("rolled back");
	case CUTOVER_GUARD_REFUSED:
		return ("rollback refused");
	case CUTOVER_GUARD_CANCELLED:
		return ("cancelled");
	default:
		return ("none");
	}
}

/* Seconds since g started (monotonic). */
static double
cutover_guard_elapsed(const struct cutover_guard *g)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return ((double)(now.tv_sec - g->started.tv_sec) +
	    (double)(now.tv_nsec - g->started.tv_nsec) / 1e9);
}

double
cutover_guard_left(const struct cutover *cx)
{
	double	left;

	if (cx->guard.state != CUTOVER_GUARD_WATCHING)
		return (0);
	left = cx->guard.seconds - cutover_guard_elapsed(&cx->guard);
	return (left > 0 ? left : 0);
}

/* pool's counters summed over the workers, as the metrics show them. */
static void
cutover_guard_totals(struct cutover *cx, enum pool_id pool,
    struct metrics_totals_pool *t)
{
	struct metrics_totals	mt;

	memset(&mt, 0, sizeof(mt));
	for (unsigned i = 0; i < workers_count(cx->workers); i++)
		metrics_add(&workers_get(cx->workers, i)->metrics, &mt);
	*t = mt.pool[pool];
}

/* Ends the guard with state; why (NULL: keep the last numbers). */
static void
cutover_guard_end(struct cutover *cx, enum cutover_guard_state st,
    const char *why)
{
	struct cutover_guard	*g = &cx->guard;

	event_del(g->ev);
	g->state = st;
	g->done_ms = cutover_now_ms();
	if (why != NULL)
		snprintf(g->why, sizeof(g->why), "%.500s", why);
}

/*
 * Starts watching to (switched to from from) for seconds: the baseline is
 * what to ended before now, so that only the new release is judged.
 */
static void
cutover_guard_start(struct cutover *cx, enum pool_id from, enum pool_id to,
    unsigned seconds)
{
	struct cutover_guard	*g = &cx->guard;
	const struct config	*cf = cx->config;
	struct timeval		 tick = { 0, CUTOVER_GUARD_TICK_MS * 1000 };
	char			 p99[32] = "";

	g->state = CUTOVER_GUARD_WATCHING;
	g->pool = to;
	g->from = from;
	g->seconds = seconds;
	clock_gettime(CLOCK_MONOTONIC, &g->started);
	g->started_ms = cutover_now_ms();
	g->done_ms = 0;
	g->limits.max_error_ratio = cf->guard.max_error_ratio;
	g->limits.max_p99_ms = cf->guard.max_p99_ms;
	g->limits.min_requests = cf->guard.min_requests;
	cutover_guard_totals(cx, to, &g->base);
	memset(&g->last, 0, sizeof(g->last));
	g->last.p99_ms = -1;
	g->verdict = GUARD_WAIT;
	snprintf(g->why, sizeof(g->why), "0 of %u request(s) needed",
	    g->limits.min_requests);
	evtimer_add(g->ev, &tick);
	if (g->limits.max_p99_ms > 0)
		snprintf(p99, sizeof(p99), " or p99 > %u ms",
		    g->limits.max_p99_ms);
	log_info("guard: watching %s for %u s: back to %s when 5xx > %.1f%%%s, "
	    "once %u request(s) ended", pool_name(to), seconds,
	    pool_name(from), g->limits.max_error_ratio * 100, p99,
	    g->limits.min_requests);
}

/*
 * The tick of a watching guard: judge what the pool ended since the
 * switch; roll back on a trip (the ordinary rollback, health gate and
 * all), pass at the end of the window.
 */
static void
cutover_guard_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cutover		*cx = arg;
	struct cutover_guard	*g = &cx->guard;
	struct metrics_totals_pool now;
	char			 why[256], msg[1024], text[400];

	if (g->state != CUTOVER_GUARD_WATCHING) {
		event_del(g->ev);
		return;
	}
	cutover_guard_totals(cx, g->pool, &now);
	g->verdict = guard_judge(&g->base, &now, &g->limits, &g->last, why,
	    sizeof(why));
	snprintf(g->why, sizeof(g->why), "%s", why);
	if (g->verdict == GUARD_TRIP_ERRORS ||
	    g->verdict == GUARD_TRIP_LATENCY) {
		snprintf(text, sizeof(text), "%s tripped after %.1f s: %s",
		    pool_name(g->pool), cutover_guard_elapsed(g), why);
		/* a fleet's release may be moving every replica already:
		 * a scheduled switch away from the pool decides, and a
		 * rollback now would be refused for it; one to the pool
		 * that tripped would keep it, so it is dropped */
		if (cx->sched.pending && cx->sched.pool == g->pool) {
			log_warn("guard: %s; dropping the scheduled switch to "
			    "%s, which would keep it", text,
			    pool_name(g->pool));
			(void)cutover_cancel(cx, "guard", msg, sizeof(msg));
		}
		if (cx->sched.pending) {
			log_warn("guard: %s; a switch to %s is scheduled: "
			    "leaving it to that", text,
			    pool_name(cx->sched.pool));
			cutover_guard_end(cx, CUTOVER_GUARD_CANCELLED, text);
			return;
		}
		log_warn("guard: %s; rolling back to %s", text,
		    pool_name(g->from));
		/* ended first: the rollback must not cancel it */
		cutover_guard_end(cx, CUTOVER_GUARD_ROLLED_BACK, text);
		if (cutover_rollback(cx, false, "guard", msg, sizeof(msg)) ==
		    -1) {
			g->state = CUTOVER_GUARD_REFUSED;
			snprintf(g->why, sizeof(g->why), "%.250s; rollback: "
			    "%.200s", text, msg);
			log_error("guard: both pools are bad: %s, and the "
			    "rollback to %s was refused: %s; %s stays active",
			    text, pool_name(g->from), msg, pool_name(g->pool));
			return;
		}
		g->rollbacks++;
		return;
	}
	if (cutover_guard_elapsed(g) < g->seconds)
		return;
	snprintf(text, sizeof(text), "%s after %u s: %s", g->verdict ==
	    GUARD_WAIT ? "too few requests to judge" : "within the limits",
	    g->seconds, why);
	cutover_guard_end(cx, CUTOVER_GUARD_PASSED, text);
	log_info("guard: %s passed, %s", pool_name(g->pool), text);
}

/*
 * A switch to id, then the guard for guard seconds (-1: switch.guard) if
 * the active pool changed; msg says so.
 */
static int
cutover_switch_guarded(struct cutover *cx, enum pool_id id, bool force,
    uint64_t gen, int guard, const char *by, char *msg, size_t msglen)
{
	enum pool_id	from = router_live(cx->router)->active;
	unsigned	seconds = guard >= 0 ? (unsigned)guard :
			    cx->config->guard_s;
	size_t		n;

	if (cutover_move(cx, CUTOVER_SWITCH, id, force, gen, by, msg,
	    msglen) == -1)
		return (-1);
	if (from == id || seconds == 0)
		return (0);
	cutover_guard_start(cx, from, id, seconds);
	if ((n = strlen(msg)) < msglen)
		snprintf(msg + n, msglen - n, "; guarded for %u s", seconds);
	return (0);
}

/* --------------------------------------------------------------- watch */

/*
 * The file may have changed (watch_fn): reload when its content differs
 * from what was loaded, unless a reload already failed on this content
 * (it is logged once, and the next change tries again).
 */
static void
cutover_watch_cb(void *arg)
{
	struct cutover	*cx = arg;
	char		 hex[65], err[512], msg[1024];

	if (config_hash(cx->config_path, hex, err, sizeof(err)) == -1) {
		log_warn("watch: %s; keeping the configuration loaded", err);
		return;
	}
	if (strcmp(hex, cx->file.sha256) == 0 ||
	    strcmp(hex, cx->file.tried) == 0)
		return;
	log_info("watch: %s changed (sha256 %.16s...): reloading",
	    cx->config_path, hex);
	if (cutover_reload(cx, msg, sizeof(msg)) == -1)
		snprintf(cx->file.tried, sizeof(cx->file.tried), "%s", hex);
}

/* Starts or stops the watch as watch_config says. */
static void
cutover_watch_sync(struct cutover *cx)
{
	char	err[512];

	if (cx->config->watch_config && cx->file.watch == NULL) {
		if ((cx->file.watch = watch_new(cx->base, cx->config_path,
		    WATCH_DEBOUNCE_MS, cutover_watch_cb, cx, err,
		    sizeof(err))) == NULL)
			log_error("watch_config: %s; not watching", err);
		else
			log_info("watching %s for changes", cx->config_path);
	} else if (cx->config->watch_config) {
		/* a reload re-arms a watch whose directory went */
		(void)watch_rearm(cx->file.watch);
	} else if (cx->file.watch != NULL) {
		watch_free(cx->file.watch);
		cx->file.watch = NULL;
		log_info("no longer watching %s", cx->config_path);
	}
}
