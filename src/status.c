/*
 * status.c — the status report: what cutover is doing, for people (text)
 * and for tools (JSON), formatted from what the root and the workers
 * report (layer 4: it reads them, nothing reads it but admin_cmd).  Both are built from the same facts, in the same
 * order, so they cannot say different things.
 */
#include "autoconf.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "cutover.h"
#include "listen.h"
#include "pool.h"
#include "router.h"
#include "snapshot.h"
#include "status.h"
#include "worker.h"

static void
status_json_str(struct evbuffer *out, const char *s)
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
status_when(time_t at, char *buf, size_t len)
{
	struct tm	tm;

	gmtime_r(&at, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
status_text_member(struct evbuffer *out, const struct member *m)
{
	struct member_counts	n;

	member_counts(m, &n);
	evbuffer_add_printf(out, "member %s %s inflight %u requests %llu "
	    "idle %u connect_failures %llu health %s admin %s ok_streak %u "
	    "fail_streak %u latency_ms %u last %s\n", pool_name(m->pool),
	    m->addr.text, n.inflight, (unsigned long long)n.requests, n.idle,
	    (unsigned long long)n.connect_failures,
	    member_health_name(m->health), member_admin_name(m->admin),
	    m->ok_streak, m->fail_streak, m->latency_ms, m->last);
}

/* Worker 0's listeners: every worker listens on the same addresses. */
static const struct listeners *
status_listeners(struct cutover *cx)
{
	return (workers_get(cx->workers, 0)->listeners);
}

static void
status_text(struct cutover *cx, struct evbuffer *out)
{
	const struct snapshot	*s = router_live(cx->router);
	const struct listeners	*l = status_listeners(cx);
	const struct pool	*p;
	struct workers_totals	 t, wt;
	struct worker		*w;
	char			 when[32];

	workers_totals(cx->workers, &t);
	evbuffer_add_printf(out, "version %s\npid %ld\nuptime_s %lld\n"
	    "workers %u\nactive %s\nprevious %s\n", PACKAGE_VERSION,
	    (long)getpid(), (long long)(time(NULL) - cx->started),
	    workers_count(cx->workers), pool_name(s->active),
	    s->has_previous ? pool_name(s->previous) : "none");
	for (size_t i = 0; l != NULL && i < l->n; i++)
		evbuffer_add_printf(out, "listen %s\n", l->v[i]->bound.text);
	evbuffer_add_printf(out, "connections_open %u\nconnections_total %llu\n"
	    "requests_total %llu\nresponses_total %llu\nerrors_total %llu\n"
	    "upstream_failures_total %llu\nstopping %s\nready %s\n", t.conns,
	    (unsigned long long)t.connections,
	    (unsigned long long)t.requests,
	    (unsigned long long)t.responses,
	    (unsigned long long)t.errors,
	    (unsigned long long)t.upstream_failures,
	    cutover_stopping(cx) ? "yes" : "no",
	    cutover_stopping(cx) ? "no" : "yes");
	for (unsigned i = 0; i < workers_count(cx->workers); i++) {
		w = workers_get(cx->workers, i);
		memset(&wt, 0, sizeof(wt));
		worker_totals(w, &wt);
		evbuffer_add_printf(out, "worker %u connections_open %u "
		    "requests_total %llu\n", i, wt.conns,
		    (unsigned long long)wt.requests);
	}
	if (cx->reload.at == 0)
		evbuffer_add_printf(out, "reload never\n");
	else {
		status_when(cx->reload.at, when, sizeof(when));
		evbuffer_add_printf(out, "reload %s %s: %s\n",
		    cx->reload.ok ? "ok" : "failed", when, cx->reload.msg);
	}
	for (int i = 0; i < POOL_COUNT; i++) {
		p = s->pools[i];
		evbuffer_add_printf(out, "pool %s %s members %zu healthy %zu "
		    "inflight %u tunnels %u\n", pool_name(p->id),
		    p->id == s->active ? "active" : "standby", p->nmembers,
		    pool_healthy(p), t.inflight[p->id], t.tunnels[p->id]);
		for (size_t k = 0; k < p->nmembers; k++)
			status_text_member(out, p->members[k]);
	}
}

static void
status_json_member(struct evbuffer *out, const struct member *m, bool first)
{
	struct member_counts	n;

	member_counts(m, &n);
	evbuffer_add_printf(out, "%s{\"addr\":\"%s\",\"inflight\":%u,"
	    "\"requests\":%llu,\"idle\":%u,\"connect_failures\":%llu,"
	    "\"health\":\"%s\",\"admin\":\"%s\",\"ok_streak\":%u,"
	    "\"fail_streak\":%u,\"latency_ms\":%u,\"last\":", first ? "" : ",",
	    m->addr.text, n.inflight, (unsigned long long)n.requests, n.idle,
	    (unsigned long long)n.connect_failures,
	    member_health_name(m->health), member_admin_name(m->admin),
	    m->ok_streak, m->fail_streak, m->latency_ms);
	status_json_str(out, m->last);
	evbuffer_add(out, "}", 1);
}

static void
status_json_pools(const struct workers_totals *t, const struct snapshot *s,
    struct evbuffer *out)
{
	const struct pool	*p;

	evbuffer_add_printf(out, ",\"pools\":{");
	for (int i = 0; i < POOL_COUNT; i++) {
		p = s->pools[i];
		evbuffer_add_printf(out, "%s\"%s\":{\"active\":%s,"
		    "\"healthy\":%zu,\"inflight\":%u,\"tunnels\":%u,"
		    "\"members\":[", i ? "," : "", pool_name(p->id),
		    p->id == s->active ? "true" : "false", pool_healthy(p),
		    t->inflight[p->id], t->tunnels[p->id]);
		for (size_t k = 0; k < p->nmembers; k++)
			status_json_member(out, p->members[k], k == 0);
		evbuffer_add_printf(out, "]}");
	}
	evbuffer_add_printf(out, "}");
}

static void
status_json(struct cutover *cx, struct evbuffer *out)
{
	const struct snapshot	*s = router_live(cx->router);
	const struct listeners	*l = status_listeners(cx);
	struct workers_totals	 t, wt;
	struct worker		*w;
	char			 when[32];

	workers_totals(cx->workers, &t);
	evbuffer_add_printf(out, "{\"version\":\"%s\",\"pid\":%ld,"
	    "\"uptime_s\":%lld,\"workers\":%u,\"active\":\"%s\","
	    "\"previous\":", PACKAGE_VERSION, (long)getpid(),
	    (long long)(time(NULL) - cx->started), workers_count(cx->workers),
	    pool_name(s->active));
	if (s->has_previous)
		evbuffer_add_printf(out, "\"%s\"", pool_name(s->previous));
	else
		evbuffer_add_printf(out, "null");
	evbuffer_add_printf(out, ",\"listen\":[");
	for (size_t i = 0; l != NULL && i < l->n; i++)
		evbuffer_add_printf(out, "%s\"%s\"", i ? "," : "",
		    l->v[i]->bound.text);
	evbuffer_add_printf(out, "],\"connections_open\":%u,"
	    "\"connections_total\":%llu,\"requests_total\":%llu,"
	    "\"responses_total\":%llu,\"errors_total\":%llu,"
	    "\"upstream_failures_total\":%llu,\"stopping\":%s,"
	    "\"ready\":%s,\"per_worker\":[",
	    t.conns, (unsigned long long)t.connections,
	    (unsigned long long)t.requests,
	    (unsigned long long)t.responses,
	    (unsigned long long)t.errors,
	    (unsigned long long)t.upstream_failures,
	    cutover_stopping(cx) ? "true" : "false",
	    cutover_stopping(cx) ? "false" : "true");
	for (unsigned i = 0; i < workers_count(cx->workers); i++) {
		w = workers_get(cx->workers, i);
		memset(&wt, 0, sizeof(wt));
		worker_totals(w, &wt);
		evbuffer_add_printf(out, "%s{\"connections_open\":%u,"
		    "\"requests_total\":%llu}", i ? "," : "",
		    wt.conns, (unsigned long long)wt.requests);
	}
	evbuffer_add_printf(out, "],\"reload\":{");
	if (cx->reload.at == 0)
		evbuffer_add_printf(out, "\"result\":\"never\"}");
	else {
		status_when(cx->reload.at, when, sizeof(when));
		evbuffer_add_printf(out, "\"result\":\"%s\",\"at\":\"%s\","
		    "\"message\":", cx->reload.ok ? "ok" : "failed", when);
		status_json_str(out, cx->reload.msg);
		evbuffer_add_printf(out, "}");
	}
	status_json_pools(&t, s, out);
	evbuffer_add_printf(out, "}\n");
}

void
status_report(struct cutover *cx, struct evbuffer *out, bool json)
{
	if (json)
		status_json(cx, out);
	else
		status_text(cx, out);
}
