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

#include "admin.h"
#include "config.h"
#include "conn.h"
#include "cutover.h"
#include "listen.h"
#include "log.h"
#include "pool.h"
#include "router.h"
#include "snapshot.h"
#include "upstream.h"

static void	cutover_signal_cb(evutil_socket_t, short, void *);
static void	cutover_grace_cb(evutil_socket_t, short, void *);

struct cutover *
cutover_new(struct event_base *base, const char *path, char *err,
    size_t errlen)
{
	struct cutover	*cx;
	struct snapshot	*s;

	if ((cx = calloc(1, sizeof(*cx))) == NULL ||
	    (cx->config_path = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(cx);
		return (NULL);
	}
	cx->base = base;
	cx->started = time(NULL);
	TAILQ_INIT(&cx->conns);
	if ((cx->config = config_load(path, err, errlen)) == NULL)
		goto fail;
	log_set_level(cx->config->log_level);
	if ((s = snapshot_build(cx->config, NULL, cx->config->active)) ==
	    NULL || (cx->router = router_new(s)) == NULL) {
		snapshot_unref(s);
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if ((cx->listeners = listeners_open(cx, cx->config, NULL, err,
	    errlen)) == NULL)
		goto fail;
	if ((cx->admin = admin_new(cx, cx->config->admin_socket,
	    cx->config->admin_socket_mode, err, errlen)) == NULL)
		goto fail;
	log_info("admin socket %s", cx->config->admin_socket);
	cx->ev_hup = evsignal_new(base, SIGHUP, cutover_signal_cb, cx);
	cx->ev_term = evsignal_new(base, SIGTERM, cutover_signal_cb, cx);
	cx->ev_int = evsignal_new(base, SIGINT, cutover_signal_cb, cx);
	cx->ev_grace = evtimer_new(base, cutover_grace_cb, cx);
	if (cx->ev_hup == NULL || cx->ev_term == NULL || cx->ev_int == NULL ||
	    cx->ev_grace == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	evsignal_add(cx->ev_hup, NULL);
	evsignal_add(cx->ev_term, NULL);
	evsignal_add(cx->ev_int, NULL);
	log_info("cutover %s started: active pool %s (from %s)",
	    PACKAGE_VERSION, pool_name(cx->config->active), path);
	return (cx);
fail:
	cutover_free(cx);
	return (NULL);
}

void
cutover_free(struct cutover *cx)
{
	struct conn	*c;
	struct snapshot	*s;

	if (cx == NULL)
		return;
	while ((c = TAILQ_FIRST(&cx->conns)) != NULL)
		conn_close(c, "exiting");
	admin_free(cx->admin);
	listeners_free(cx->listeners, NULL);
	if (cx->router != NULL) {
		s = router_live(cx->router);
		/* idle connections hold member references: close them */
		for (int i = 0; i < POOL_COUNT; i++)
			pool_close_idle(s->pools[i]);
		router_free(cx->router);
	}
	config_free(cx->config);
	if (cx->ev_hup != NULL)
		event_free(cx->ev_hup);
	if (cx->ev_term != NULL)
		event_free(cx->ev_term);
	if (cx->ev_int != NULL)
		event_free(cx->ev_int);
	if (cx->ev_grace != NULL)
		event_free(cx->ev_grace);
	free(cx->config_path);
	free(cx);
}

int
cutover_switch(struct cutover *cx, const char *pool, bool force, char *msg,
    size_t msglen)
{
	enum pool_id	id;

	if (pool_parse(pool, &id) == -1) {
		snprintf(msg, msglen, "no pool named '%.40s' (pools: %s, %s)",
		    pool, pool_name(POOL_BLUE), pool_name(POOL_GREEN));
		return (-1);
	}
	if (router_switch(cx->router, id, msg, msglen) == -1)
		return (-1);
	log_info("switch%s: %s", force ? " (forced)" : "", msg);
	return (0);
}

int
cutover_rollback(struct cutover *cx, char *msg, size_t msglen)
{
	if (router_rollback(cx->router, msg, msglen) == -1)
		return (-1);
	log_info("rollback: %s", msg);
	return (0);
}

/* Closes idle connections the new snapshot no longer wants: to members
 * that left, and to the pool that stopped being active. */
static void
cutover_prune_idle(const struct snapshot *old, const struct snapshot *s)
{
	struct member	*m;

	for (int i = 0; i < POOL_COUNT; i++)
		for (size_t k = 0; k < old->pools[i]->nmembers; k++) {
			m = old->pools[i]->members[k];
			if (!snapshot_has_member(s, m) ||
			    m->pool != s->active)
				upstream_close_idle(m);
		}
}

static void
cutover_reload_result(struct cutover *cx, bool ok, const char *text,
    char *msg, size_t msglen)
{
	cx->reload.at = time(NULL);
	cx->reload.ok = ok;
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

int
cutover_reload(struct cutover *cx, char *msg, size_t msglen)
{
	struct config		*cf;
	struct listeners	*l;
	struct snapshot		*old = router_live(cx->router), *s;
	enum pool_id		 active;
	char			 text[1024];

	cf = NULL;
	if (cx->stopping) {
		snprintf(text, sizeof(text), "shutting down");
		goto fail;
	}
	if ((cf = config_load(cx->config_path, text, sizeof(text))) == NULL)
		goto fail;
	/* the file's `active` wins only when the file changed it */
	active = cf->active != cx->config->active ? cf->active : old->active;
	if ((l = listeners_open(cx, cf, cx->listeners, text, sizeof(text))) ==
	    NULL)
		goto fail;
	if ((s = snapshot_build(cf, old, active)) == NULL) {
		listeners_free(l, cx->listeners);
		snprintf(text, sizeof(text), "out of memory");
		goto fail;
	}
	/* commit: nothing below can fail */
	if (strcmp(cf->admin_socket, cx->config->admin_socket) != 0 ||
	    cf->admin_socket_mode != cx->config->admin_socket_mode)
		log_warn("reload: admin.socket changes take effect at restart");
	listeners_free(cx->listeners, l);
	cx->listeners = l;
	cutover_prune_idle(old, s);
	router_install(cx->router, s);
	config_free(cx->config);
	cx->config = cf;
	log_set_level(cf->log_level);
	snprintf(text, sizeof(text), "reloaded %s: active %s, blue %zu "
	    "member(s), green %zu member(s), %zu listener(s)", cf->path,
	    pool_name(active), cf->pools[POOL_BLUE].nmembers,
	    cf->pools[POOL_GREEN].nmembers, cf->nlisten);
	cutover_reload_result(cx, true, text, msg, msglen);
	return (0);
fail:
	config_free(cf);
	cutover_reload_result(cx, false, text, msg, msglen);
	return (-1);
}

void
cutover_stop(struct cutover *cx)
{
	struct conn	*c, *next;
	unsigned	 ms = cx->config->grace_ms;
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };

	if (cx->stopping) {
		log_warn("second stop signal: exiting now");
		event_base_loopbreak(cx->base);
		return;
	}
	cx->stopping = true;
	listeners_free(cx->listeners, NULL);
	cx->listeners = NULL;
	log_info("stopping: listeners closed, draining %u connection(s) for "
	    "up to %u ms", cx->nconns, ms);
	for (c = TAILQ_FIRST(&cx->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		conn_drain(c);
	}
	if (cx->nconns == 0)
		event_base_loopexit(cx->base, NULL);
	else
		evtimer_add(cx->ev_grace, &tv);
}

static void
cutover_grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cutover	*cx = arg;

	log_warn("grace time over: closing %u connection(s) still busy",
	    cx->nconns);
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
	log_info("%s received", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	cutover_stop(cx);
}

/* ---------------------------------------------------------------- status */

static void
json_str(struct evbuffer *out, const char *s)
{
	evbuffer_add(out, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			evbuffer_add_printf(out, "\\%c", ch);
		else if (ch < 0x20)
			evbuffer_add_printf(out, "\\u%04x", ch);
		else
			evbuffer_add(out, s, 1);
	}
	evbuffer_add(out, "\"", 1);
}

static void
cutover_reload_text(const struct cutover *cx, char *buf, size_t len)
{
	struct tm	tm;
	char		when[32];

	if (cx->reload.at == 0) {
		snprintf(buf, len, "never");
		return;
	}
	gmtime_r(&cx->reload.at, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(buf, len, "%s", when);
}

static void
cutover_status_text(struct cutover *cx, const struct snapshot *s,
    struct evbuffer *out)
{
	char		 when[32];
	struct pool	*p;
	struct member	*m;

	evbuffer_add_printf(out, "version %s\npid %ld\nuptime_s %lld\n"
	    "active %s\nprevious %s\n", PACKAGE_VERSION, (long)getpid(),
	    (long long)(time(NULL) - cx->started), pool_name(s->active),
	    s->has_previous ? pool_name(s->previous) : "none");
	for (size_t i = 0; cx->listeners != NULL && i < cx->listeners->n; i++)
		evbuffer_add_printf(out, "listen %s\n",
		    cx->listeners->v[i]->bound.text);
	evbuffer_add_printf(out, "connections_open %u\nconnections_total %llu\n"
	    "requests_total %llu\nresponses_total %llu\nerrors_total %llu\n"
	    "upstream_failures_total %llu\nstopping %s\n", cx->nconns,
	    (unsigned long long)cx->stats.connections,
	    (unsigned long long)cx->stats.requests,
	    (unsigned long long)cx->stats.responses,
	    (unsigned long long)cx->stats.errors,
	    (unsigned long long)cx->stats.upstream_failures,
	    cx->stopping ? "yes" : "no");
	cutover_reload_text(cx, when, sizeof(when));
	if (cx->reload.at == 0)
		evbuffer_add_printf(out, "reload never\n");
	else
		evbuffer_add_printf(out, "reload %s %s: %s\n",
		    cx->reload.ok ? "ok" : "failed", when, cx->reload.msg);
	for (int i = 0; i < POOL_COUNT; i++) {
		p = s->pools[i];
		evbuffer_add_printf(out, "pool %s %s members %zu inflight %u\n",
		    pool_name(p->id), p->id == s->active ? "active" : "standby",
		    p->nmembers, pool_inflight(p));
		for (size_t k = 0; k < p->nmembers; k++) {
			m = p->members[k];
			evbuffer_add_printf(out, "member %s %s inflight %u "
			    "requests %llu idle %u connect_failures %llu\n",
			    pool_name(p->id), m->addr.text, m->inflight,
			    (unsigned long long)m->requests, m->nidle,
			    (unsigned long long)m->connect_failures);
		}
	}
}

static void
cutover_status_json(struct cutover *cx, const struct snapshot *s,
    struct evbuffer *out)
{
	char		 when[32];
	struct pool	*p;
	struct member	*m;

	evbuffer_add_printf(out, "{\"version\":\"%s\",\"pid\":%ld,"
	    "\"uptime_s\":%lld,\"active\":\"%s\",\"previous\":",
	    PACKAGE_VERSION, (long)getpid(),
	    (long long)(time(NULL) - cx->started), pool_name(s->active));
	if (s->has_previous)
		evbuffer_add_printf(out, "\"%s\"", pool_name(s->previous));
	else
		evbuffer_add_printf(out, "null");
	evbuffer_add_printf(out, ",\"listen\":[");
	for (size_t i = 0; cx->listeners != NULL && i < cx->listeners->n; i++)
		evbuffer_add_printf(out, "%s\"%s\"", i ? "," : "",
		    cx->listeners->v[i]->bound.text);
	evbuffer_add_printf(out, "],\"connections_open\":%u,"
	    "\"connections_total\":%llu,\"requests_total\":%llu,"
	    "\"responses_total\":%llu,\"errors_total\":%llu,"
	    "\"upstream_failures_total\":%llu,\"stopping\":%s,\"reload\":{",
	    cx->nconns, (unsigned long long)cx->stats.connections,
	    (unsigned long long)cx->stats.requests,
	    (unsigned long long)cx->stats.responses,
	    (unsigned long long)cx->stats.errors,
	    (unsigned long long)cx->stats.upstream_failures,
	    cx->stopping ? "true" : "false");
	cutover_reload_text(cx, when, sizeof(when));
	if (cx->reload.at == 0)
		evbuffer_add_printf(out, "\"result\":\"never\"}");
	else {
		evbuffer_add_printf(out, "\"result\":\"%s\",\"at\":\"%s\","
		    "\"message\":", cx->reload.ok ? "ok" : "failed", when);
		json_str(out, cx->reload.msg);
		evbuffer_add_printf(out, "}");
	}
	evbuffer_add_printf(out, ",\"pools\":{");
	for (int i = 0; i < POOL_COUNT; i++) {
		p = s->pools[i];
		evbuffer_add_printf(out, "%s\"%s\":{\"active\":%s,\"inflight\":%u,"
		    "\"members\":[", i ? "," : "", pool_name(p->id),
		    p->id == s->active ? "true" : "false", pool_inflight(p));
		for (size_t k = 0; k < p->nmembers; k++) {
			m = p->members[k];
			evbuffer_add_printf(out, "%s{\"addr\":\"%s\","
			    "\"inflight\":%u,\"requests\":%llu,\"idle\":%u,"
			    "\"connect_failures\":%llu}", k ? "," : "",
			    m->addr.text, m->inflight,
			    (unsigned long long)m->requests, m->nidle,
			    (unsigned long long)m->connect_failures);
		}
		evbuffer_add_printf(out, "]}");
	}
	evbuffer_add_printf(out, "}}\n");
}

void
cutover_status(struct cutover *cx, struct evbuffer *out, bool json)
{
	const struct snapshot	*s = router_live(cx->router);

	if (json)
		cutover_status_json(cx, s, out);
	else
		cutover_status_text(cx, s, out);
}
