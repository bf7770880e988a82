/*
 * cutover.c — the root context: start-up, reload, switch, status, stop.
 */
#include "autoconf.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "cutover.h"
#include "http.h"
#include "listen.h"
#include "log.h"
#include "pool.h"
#include "probe.h"
#include "router.h"
#include "snapshot.h"
#include "state.h"
#include "upstream.h"
#include "worker.h"

static void	cutover_signal_cb(evutil_socket_t, short, void *);
static void	cutover_member_failed(void *, struct member *, const char *,
		    unsigned);
static void	cutover_member_changed(void *, struct member *);
static void	cutover_panic_check(struct cutover *);
static void	cutover_worker_drained(void *, struct worker *);
static void	cutover_thread_exit(void *, struct worker *);

static const struct worker_ops cutover_worker_ops = {
	.observe = cutover_member_failed,
	.drained = cutover_worker_drained,
	.thread_exit = cutover_thread_exit,
};

/* The pool to start on: the state file's when it has a valid one, else
 * the configuration's; the log says which decided. */
static enum pool_id
cutover_initial_active(struct cutover *cx)
{
	const struct config	*cf = cx->config;
	enum pool_id		 id;
	char			 err[512];

	if (cf->state_file == NULL) {
		log_info("active pool %s (from configuration)",
		    pool_name(cf->active));
		return (cf->active);
	}
	switch (state_read(cf->state_file, &id, err, sizeof(err))) {
	case 1:
		log_info("active pool %s (from state file %s)", pool_name(id),
		    cf->state_file);
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

/* Takes the live snapshot and closes idle connections the new one no
 * longer wants: to members that left, and to the pool that stopped being
 * active.  On each worker's thread. */
static void
cutover_sync(struct worker *w, void *arg)
{
	struct snapshot	*old = w->snap, *s = router_live(((struct cutover *)w->ctx)->router);
	struct member	*m;

	if (old == s)
		return;
	for (int i = 0; old != NULL && i < POOL_COUNT; i++)
		for (size_t k = 0; k < old->pools[i]->nmembers; k++) {
			m = old->pools[i]->members[k];
			if (!snapshot_has_member(s, m) ||
			    m->pool != s->active)
				upstream_close_idle(m, w->id);
		}
	worker_snap_set(w, s);
}

struct cutover *
cutover_new(struct event_base *base, const char *path, char *err,
    size_t errlen)
{
	struct cutover	*cx;
	struct snapshot	*s;
	struct worker	*w;
	unsigned	 n;

	if ((cx = calloc(1, sizeof(*cx))) == NULL ||
	    (cx->config_path = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(cx);
		return (NULL);
	}
	cx->base = base;
	cx->started = time(NULL);
	cx->stats.generation = 1;
	if ((cx->config = config_load(path, err, errlen)) == NULL)
		goto fail;
	log_set_level(cx->config->log_level);
	n = cutover_nworkers(cx->config);
	pool_set_workers(n);
	if ((cx->workers = workers_new(cx, &cutover_worker_ops, base, n, err,
	    errlen)) == NULL)
		goto fail;
	if ((s = snapshot_build(cx->config, NULL, cutover_initial_active(cx)))
	    == NULL || (cx->router = router_new(s)) == NULL ||
	    (cx->probes = probes_new(base, cutover_member_changed, cx)) ==
	    NULL) {
		if (cx->router == NULL)
			snapshot_unref(s);
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	probes_sync(cx->probes, s);
	for (unsigned i = 0; i < n; i++) {
		w = workers_get(cx->workers, i);
		cutover_sync(w, NULL);
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
	workers_free(cx->workers, cutover_worker_fin);
	cx->workers = NULL;
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
 * so that the others bind the port it got for "host:0"). */
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

int
cutover_reload(struct cutover *cx, char *msg, size_t msglen)
{
	struct config		*cf;
	struct snapshot		*old = router_live(cx->router), *s;
	enum pool_id		 active;
	char			 text[1024];

	cf = NULL;
	if (workers_stopping(cx->workers)) {
		snprintf(text, sizeof(text), "shutting down");
		goto fail;
	}
	if ((cf = config_load(cx->config_path, text, sizeof(text))) == NULL)
		goto fail;
	/* the file's `active` wins only when the file changed it */
	active = cf->active != cx->config->active ? cf->active : old->active;
	workers_run(cx->workers, cutover_listen_job, cf);
	if (!cutover_listening(cx, text, sizeof(text))) {
		workers_run(cx->workers, cutover_unlisten_job, NULL);
		goto fail;
	}
	if ((s = snapshot_build(cf, old, active)) == NULL) {
		workers_run(cx->workers, cutover_unlisten_job, NULL);
		snprintf(text, sizeof(text), "out of memory");
		goto fail;
	}
	/* commit: nothing below can fail */
	if (!cutover_same_admin(cf, cx->config))
		log_warn("reload: changes to admin.* take effect at restart");
	if (cf->workers != cx->config->workers)
		log_warn("reload: a change to workers takes effect at "
		    "restart");
	if (cutover_routing_changed(old, s))
		cx->stats.generation++;
	router_install(cx->router, s);
	workers_run(cx->workers, cutover_reload_job, NULL);
	probes_sync(cx->probes, s);
	config_free(cx->config);
	cx->config = cf;
	log_set_level(cf->log_level);
	snprintf(text, sizeof(text), "reloaded %s: active %s, blue %zu "
	    "member(s), green %zu member(s), %zu listener(s)", cf->path,
	    pool_name(active), cf->pools[POOL_BLUE].nmembers,
	    cf->pools[POOL_GREEN].nmembers, cf->nlisten);
	cutover_reload_result(cx, true, text, msg, msglen);
	cutover_panic_check(cx);	/* other members, or health.panic */
	return (0);
fail:
	config_free(cf);
	cutover_reload_result(cx, false, text, msg, msglen);
	return (-1);
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

/* Whether pool id of s may take the traffic: 1 yes, 0 no; msg says. */
static int
cutover_gate(const struct snapshot *s, enum pool_id id, char *msg,
    size_t msglen)
{
	const struct pool	*p = s->pools[id];
	unsigned		 need;
	size_t			 ok = pool_healthy(p);

	need = check_min_required(&s->config->min_healthy, p->nmembers);
	if (ok >= need) {
		snprintf(msg, msglen, "%s: %zu of %zu members healthy",
		    pool_name(id), ok, p->nmembers);
		return (1);
	}
	snprintf(msg, msglen, "%s has %zu of %zu members healthy; "
	    "switch.min_healthy requires %u", pool_name(id), ok, p->nmembers,
	    need);
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

/* Switches to id after the gate and the state file; logs the outcome. */
static int
cutover_move(struct cutover *cx, const char *what, enum pool_id id,
    bool force, char *msg, size_t msglen)
{
	const struct snapshot	*s = router_live(cx->router);
	const char		*state = s->config->state_file;
	char			 why[512];
	enum pool_id		 from;

	if (s->active != id && !cutover_gate(s, id, why, sizeof(why))) {
		if (!force) {
			snprintf(msg, msglen, "refused: %s (add 'force' to "
			    "override)", why);
			log_warn("%s %s refused: %s", what, pool_name(id), why);
			return (-1);
		}
		log_warn("%s %s forced: %s", what, pool_name(id), why);
	}
	if (s->active != id && state != NULL &&
	    state_write(state, id, why, sizeof(why)) == -1) {
		snprintf(msg, msglen, "refused: %s; nothing changed", why);
		log_error("%s %s refused: %s", what, pool_name(id), why);
		return (-1);
	}
	from = s->active;
	if (router_switch(cx->router, id, msg, msglen) == -1)
		return (-1);
	if (from == id) {
		snprintf(msg, msglen, "%s is already active (generation %llu)",
		    pool_name(id), (unsigned long long)cx->stats.generation);
		log_info("%s%s: %s", what, force ? " (forced)" : "", msg);
		return (0);
	}
	/* every worker routes with the new snapshot before the reply */
	workers_run(cx->workers, cutover_sync, NULL);
	cx->stats.generation++;
	cx->stats.switches[force]++;
	clock_gettime(CLOCK_REALTIME, &cx->stats.last_switch);
	snprintf(msg, msglen, "%s (was %s), generation %llu", pool_name(id),
	    pool_name(from), (unsigned long long)cx->stats.generation);
	log_info("%s%s: %s", what, force ? " (forced)" : "", msg);
	cutover_panic_check(cx);
	cutover_drain_later(cx, from);
	return (0);
}

int
cutover_switch(struct cutover *cx, const char *pool, bool force, char *msg,
    size_t msglen)
{
	enum pool_id	id;

	if (cutover_pool(pool, &id, msg, msglen) == -1)
		return (-1);
	return (cutover_move(cx, "switch", id, force, msg, msglen));
}

int
cutover_rollback(struct cutover *cx, bool force, char *msg, size_t msglen)
{
	enum pool_id	id;

	if (router_previous(cx->router, &id, msg, msglen) == -1)
		return (-1);
	return (cutover_move(cx, "rollback", id, force, msg, msglen));
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

int
cutover_member(struct cutover *cx, const char *pool, const char *addr,
    const char *state, char *msg, size_t msglen)
{
	struct member		*m;
	enum member_admin	 to, from;

	if (member_admin_parse(state, &to) == -1) {
		snprintf(msg, msglen, "unknown state '%.20s' (ready, drain, "
		    "maint)", state);
		return (-1);
	}
	if ((m = cutover_find_member(cx, pool, addr, msg, msglen)) == NULL)
		return (-1);
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
	return (cutover_gate(router_live(cx->router), id, msg, msglen));
}

int
cutover_drained(struct cutover *cx, const char *pool, char *msg,
    size_t msglen)
{
	struct workers_totals	t;
	enum pool_id		id;

	if (cutover_pool(pool, &id, msg, msglen) == -1)
		return (-1);
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
