/*
 * status.c — the status report: what cutover is doing, for people (a few
 * lines and aligned tables) and for tools (JSON), formatted from what the
 * root and the workers report (layer 4: it reads them, nothing reads it
 * but admin_cmd and admin_http).  Both are built from the same facts, so
 * they cannot say different things; the JSON has every field, the table
 * what a person reads at a glance.
 */
#include "autoconf.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "cutover.h"
#include "fdlimit.h"
#include "listen.h"
#include "metrics.h"
#include "pool.h"
#include "router.h"
#include "snapshot.h"
#include "status.h"
#include "watch.h"
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

/* Worker 0's listeners: every worker listens on the same addresses.  Read
 * on the control thread, off worker 0's: only a job (workers_run, which
 * orders it) replaces the set, and the addresses read here never change. */
static const struct listeners *
status_listeners(struct cutover *cx)
{
	return (workers_get(cx->workers, 0)->listeners);
}

/* ---------------------------------------------------------------- table */

void
status_table(struct evbuffer *out, const struct status_column *cols,
    size_t ncols, size_t nrows, status_row_fn row, void *arg)
{
	char	cells[STATUS_COLS_MAX][STATUS_CELL_MAX];
	size_t	width[STATUS_COLS_MAX], len, end;

	if (ncols == 0 || ncols > STATUS_COLS_MAX)
		return;
	/* pass 1: the widest cell (or heading) of each column */
	for (size_t c = 0; c < ncols; c++)
		width[c] = strlen(cols[c].head);
	for (size_t r = 0; r < nrows; r++) {
		memset(cells, 0, sizeof(cells));
		row(arg, r, cells);
		for (size_t c = 0; c < ncols; c++)
			if ((len = strlen(cells[c])) > width[c])
				width[c] = len;
	}
	/* pass 2: the heading (r == 0), then the rows, aligned; no
	 * trailing blanks, so a last column on the left is not padded */
	for (size_t r = 0; r <= nrows; r++) {
		memset(cells, 0, sizeof(cells));
		if (r == 0)
			for (size_t c = 0; c < ncols; c++)
				snprintf(cells[c], STATUS_CELL_MAX, "%s",
				    cols[c].head);
		else
			row(arg, r - 1, cells);
		end = ncols;
		while (end > 1 && cells[end - 1][0] == '\0' &&
		    !cols[end - 1].right)
			end--;
		for (size_t c = 0; c < end; c++) {
			len = strlen(cells[c]);
			if (c > 0)
				evbuffer_add(out, "  ", 2);
			if (cols[c].right || c + 1 < end)
				evbuffer_add_printf(out, cols[c].right ?
				    "%*s" : "%-*s", (int)width[c], cells[c]);
			else
				evbuffer_add(out, cells[c], len);
		}
		evbuffer_add(out, "\n", 1);
	}
}

/* "45s", "3m12s", "1h02m03s", "2d03h04m05s" */
static void
status_uptime(long long s, char *buf, size_t len)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm%02llds", s / 3600,
		    s / 60 % 60, s % 60);
	else
		snprintf(buf, len, "%lldd%02lldh%02lldm%02llds", s / 86400,
		    s / 3600 % 24, s / 60 % 60, s % 60);
}

/* What the rows of the tables read. */
struct status_rows {
	struct cutover			*cx;
	const struct snapshot		*s;
	const struct workers_totals	*t;
};

static const struct status_column status_worker_cols[] = {
	{ "WORKER", false }, { "CONNECTIONS", true }, { "REQUESTS", true },
};

static void
status_worker_row(void *arg, size_t r, char (*cells)[STATUS_CELL_MAX])
{
	struct status_rows	*x = arg;
	struct workers_totals	 wt;

	memset(&wt, 0, sizeof(wt));
	worker_totals(workers_get(x->cx->workers, (unsigned)r), &wt);
	snprintf(cells[0], STATUS_CELL_MAX, "%zu", r);
	snprintf(cells[1], STATUS_CELL_MAX, "%u", wt.conns);
	snprintf(cells[2], STATUS_CELL_MAX, "%llu",
	    (unsigned long long)wt.requests);
}

static const struct status_column status_pool_cols[] = {
	{ "POOL", false }, { "MEMBERS", true }, { "HEALTHY", true },
	{ "INFLIGHT", true }, { "TUNNELS", true },
};

static void
status_pool_row(void *arg, size_t r, char (*cells)[STATUS_CELL_MAX])
{
	struct status_rows	*x = arg;
	const struct pool	*p = x->s->pools[r];

	snprintf(cells[0], STATUS_CELL_MAX, "%s%s", pool_name(p->id),
	    p->id == x->s->active ? " (active)" : "");
	snprintf(cells[1], STATUS_CELL_MAX, "%zu", p->nmembers);
	snprintf(cells[2], STATUS_CELL_MAX, "%zu", pool_healthy(p));
	snprintf(cells[3], STATUS_CELL_MAX, "%u", x->t->inflight[p->id]);
	snprintf(cells[4], STATUS_CELL_MAX, "%u", x->t->tunnels[p->id]);
}

/* LAST PROBE comes last: its text has blanks and any length. */
static const struct status_column status_member_cols[] = {
	{ "POOL", false }, { "MEMBER", false }, { "HEALTH", false },
	{ "ADMIN", false }, { "INFLIGHT", true }, { "REQUESTS", true },
	{ "LATENCY", true }, { "LAST PROBE", false },
};

static void
status_member_row(void *arg, size_t r, char (*cells)[STATUS_CELL_MAX])
{
	struct status_rows	*x = arg;
	const struct pool	*p = NULL;
	const struct member	*m;
	struct member_counts	 n;

	/* row r counts the members of every pool, in pool order */
	for (int i = 0; i < POOL_COUNT; i++) {
		p = x->s->pools[i];
		if (r < p->nmembers)
			break;
		r -= p->nmembers;
	}
	m = p->members[r];
	member_counts(m, &n);
	snprintf(cells[0], STATUS_CELL_MAX, "%s", pool_name(m->pool));
	snprintf(cells[1], STATUS_CELL_MAX, "%s", m->addr.text);
	snprintf(cells[2], STATUS_CELL_MAX, "%s",
	    member_health_name(m->health));
	snprintf(cells[3], STATUS_CELL_MAX, "%s", member_admin_name(m->admin));
	snprintf(cells[4], STATUS_CELL_MAX, "%u", n.inflight);
	snprintf(cells[5], STATUS_CELL_MAX, "%llu",
	    (unsigned long long)n.requests);
	/* no probe has answered yet: no latency to show */
	if (m->probes[0] + m->probes[1] == 0)
		snprintf(cells[6], STATUS_CELL_MAX, "-");
	else
		snprintf(cells[6], STATUS_CELL_MAX, "%u ms", m->latency_ms);
	snprintf(cells[7], STATUS_CELL_MAX, "%s", m->last);
}

#define STATUS_NCOLS(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * The last change of the active pool, for people: "last-change switch
 * blue -> green at 2026-01-02T03:04:05Z by uid 0 pid 42 generation 2".
 */
static void
status_text_change(const struct cutover_change *c, struct evbuffer *out)
{
	char	when[32];

	if (c->action == CUTOVER_NONE) {
		evbuffer_add_printf(out, "last-change none\n");
		return;
	}
	status_when(c->at.tv_sec, when, sizeof(when));
	evbuffer_add_printf(out, "last-change %s%s %s -> %s at %s by %s "
	    "generation %llu\n", cutover_action_name(c->action),
	    c->forced ? " (forced)" : "", pool_name(c->from), pool_name(c->to),
	    when, c->by, (unsigned long long)c->generation);
}

/* The same for tools: null, or an object; uid and pid null without one. */
static void
status_json_change(const struct cutover_change *c, struct evbuffer *out)
{
	char		when[32];
	unsigned	uid;
	long		pid;

	if (c->action == CUTOVER_NONE) {
		evbuffer_add_printf(out, ",\"last_change\":null");
		return;
	}
	status_when(c->at.tv_sec, when, sizeof(when));
	evbuffer_add_printf(out, ",\"last_change\":{\"action\":\"%s\","
	    "\"from\":\"%s\",\"to\":\"%s\",\"forced\":%s,\"at\":\"%s\","
	    "\"generation\":%llu,\"by\":", cutover_action_name(c->action),
	    pool_name(c->from), pool_name(c->to), c->forced ? "true" : "false",
	    when, (unsigned long long)c->generation);
	status_json_str(out, c->by);
	/* admin.c's peer is "uid U pid P" (SO_PEERCRED) */
	if (sscanf(c->by, "uid %u pid %ld", &uid, &pid) == 2)
		evbuffer_add_printf(out, ",\"uid\":%u,\"pid\":%ld}", uid, pid);
	else
		evbuffer_add_printf(out, ",\"uid\":null,\"pid\":null}");
}

/*
 * A pool's name line: "dns green NAME:PORT  3 address(es)  last ok 2s
 * ago", then "  failing since TIME" while lookups fail.
 */
static void
status_text_dns(struct cutover *cx, enum pool_id id, struct evbuffer *out)
{
	const struct cutover_dns	*pd = &cx->dns_pool[id];
	const char			*name = cutover_config(cx)->pools[id].dns;
	char				 ago[32], when[32];

	if (name == NULL)
		return;
	evbuffer_add_printf(out, "dns %s %s  %zu address(es)  ", pool_name(id),
	    name, pd->set.naddrs);
	if (pd->last_at == 0)
		evbuffer_add_printf(out, "no answer yet");
	else {
		status_uptime((long long)(time(NULL) - pd->last_at), ago,
		    sizeof(ago));
		evbuffer_add_printf(out, "last %s %s ago", pd->last, ago);
	}
	if (pd->failing_since != 0) {
		status_when(pd->failing_since, when, sizeof(when));
		evbuffer_add_printf(out, "  failing since %s", when);
	}
	evbuffer_add_printf(out, "\n");
}

/* ms since the epoch as "2026-01-02T03:04:05.678Z". */
static void
status_when_ms(long long ms, char *buf, size_t len)
{
	char	s[32];

	status_when((time_t)(ms / 1000), s, sizeof(s));
	/* status_when ends in Z: the milliseconds go before it */
	snprintf(buf, len, "%.*s.%03lldZ", (int)strlen(s) - 1, s, ms % 1000);
}

/*
 * Whether the declared colour serves, and why not: "applied", "refused:
 * green has 0 of 3 ...", or "superseded: release generation 6 is newer",
 * in why (len bytes).  Returns whether it is applied.
 */
static bool
status_declared(struct cutover *cx, const struct snapshot *s, char *why,
    size_t len)
{
	if (s->active == cx->release.declared) {
		snprintf(why, len, "applied");
		return (true);
	}
	if (cx->release.why[0] != '\0')
		snprintf(why, len, "%s", cx->release.why);
	else if (cx->release.declared_gen == 0)
		snprintf(why, len, "no generation declared");
	else
		snprintf(why, len, "release generation %llu is not older",
		    (unsigned long long)cx->release.generation);
	return (false);
}

/*
 * "release generation 5  declared green (generation 5) applied", or
 * "... declared green (generation 5), serving blue: green has 0 of 3
 * ..."; the scheduled switch, pending and last; the configuration file's
 * hash, load time and watch.
 */
static void
status_text_release(struct cutover *cx, const struct snapshot *s,
    struct evbuffer *out)
{
	const struct cutover_sched	*sc = &cx->sched;
	char				 why[600], when[40];

	evbuffer_add_printf(out, "release generation %llu  declared %s "
	    "(generation %llu)", (unsigned long long)cx->release.generation,
	    pool_name(cx->release.declared),
	    (unsigned long long)cx->release.declared_gen);
	if (status_declared(cx, s, why, sizeof(why)))
		evbuffer_add_printf(out, " applied\n");
	else
		evbuffer_add_printf(out, ", serving %s: %s\n",
		    pool_name(s->active), why);
	if (sc->pending) {
		status_when_ms(sc->at_ms, when, sizeof(when));
		evbuffer_add_printf(out, "scheduled switch %s%s at %s (in %lld "
		    "ms) generation %llu by %s\n", pool_name(sc->pool),
		    sc->force ? " force" : "", when, sc->at_ms -
		    cutover_now_ms(), (unsigned long long)sc->gen, sc->by);
	} else
		evbuffer_add_printf(out, "scheduled none\n");
	if (sc->last.result != CUTOVER_SCHED_NONE) {
		status_when_ms(sc->last.at_ms, when, sizeof(when));
		evbuffer_add_printf(out, "scheduled-last %s %s at %s: %+.3f ms: "
		    "%s\n", cutover_sched_result_name(sc->last.result),
		    pool_name(sc->last.pool), when, (double)(sc->last.done_us -
		    sc->last.at_ms * 1000) / 1000, sc->last.msg);
	}
	/* two lines: the hash alone is 64 columns */
	status_when_ms((long long)cx->file.at.tv_sec * 1000 +
	    cx->file.at.tv_nsec / 1000000, when, sizeof(when));
	evbuffer_add_printf(out, "config %s loaded %s watch %s\n"
	    "config-sha256 %s\n", cx->config_path, when, cx->file.watch ==
	    NULL ? "off" : watch_active(cx->file.watch) ? "on" :
	    "lost: retrying", cx->file.sha256[0] != '\0' ?
	    cx->file.sha256 : "unknown");
}

/* The descriptor line: needed, the soft limit, errors, whether it is
 * being hit now (fdlimit.h). */
static void
status_text_fd(struct cutover *cx, struct evbuffer *out)
{
	struct fdlimit_stats	st;

	fdlimit_stats(&st);
	evbuffer_add_printf(out, "descriptors %llu needed, limit %llu (hard "
	    "%llu)%s, errors: %llu accept, %llu upstream, %llu probe\n",
	    (unsigned long long)cx->fdlimit.need.total,
	    (unsigned long long)cx->fdlimit.soft,
	    (unsigned long long)cx->fdlimit.hard,
	    st.reached ? ", LIMIT REACHED" : "",
	    (unsigned long long)st.errors[FDLIMIT_ACCEPT],
	    (unsigned long long)st.errors[FDLIMIT_UPSTREAM],
	    (unsigned long long)st.errors[FDLIMIT_PROBE]);
}

/* As status_text_fd, in JSON. */
static void
status_json_fd(struct cutover *cx, struct evbuffer *out)
{
	struct fdlimit_stats	st;

	fdlimit_stats(&st);
	evbuffer_add_printf(out, ",\"descriptors\":{\"needed\":%llu,"
	    "\"limit\":%llu,\"hard\":%llu,\"supports_max_connections\":%llu,"
	    "\"limit_reached\":%s,\"errors\":{",
	    (unsigned long long)cx->fdlimit.need.total,
	    (unsigned long long)cx->fdlimit.soft,
	    (unsigned long long)cx->fdlimit.hard,
	    (unsigned long long)cx->fdlimit.supports,
	    st.reached ? "true" : "false");
	for (int i = 0; i < FDLIMIT_NOPS; i++)
		evbuffer_add_printf(out, "%s\"%s\":%llu", i ? "," : "",
		    fdlimit_op_name((enum fdlimit_op)i),
		    (unsigned long long)st.errors[i]);
	evbuffer_add_printf(out, "}}");
}

/*
 * The lines above the tables: who, routing, traffic, the last reload, the
 * last change of the active pool, the release, each pool's DNS name.
 */
static void
status_text_head(struct cutover *cx, const struct snapshot *s,
    const struct workers_totals *t, struct evbuffer *out)
{
	const struct listeners	*l = status_listeners(cx);
	char			 up[32], when[32];

	status_uptime((long long)(time(NULL) - cx->started), up, sizeof(up));
	evbuffer_add_printf(out, "cutover %s  pid %ld  up %s  workers %u  %s\n",
	    PACKAGE_VERSION, (long)getpid(), up, workers_count(cx->workers),
	    cutover_stopping(cx) ? "stopping (not ready)" : "ready");
	evbuffer_add_printf(out, "active %s  generation %llu  previous %s\n",
	    pool_name(s->active), (unsigned long long)cx->stats.generation,
	    s->has_previous ? pool_name(s->previous) : "none");
	if (s->shift_percent > 0)
		evbuffer_add_printf(out, "shift %u%% of clients to %s "
		    "(sticky by %s%s)\n", s->shift_percent,
		    pool_name(s->shift_pool), s->config->shift_cookie != NULL ?
		    "cookie " : "client address", s->config->shift_cookie !=
		    NULL ? s->config->shift_cookie : "");
	if (cutover_in_panic(cx, s->active))
		evbuffer_add_printf(out, "panic %s: 0 of %zu members up, "
		    "routing to %zu anyway (health.panic)\n",
		    pool_name(s->active), s->pools[s->active]->nmembers,
		    pool_panic_members(s->pools[s->active]));
	evbuffer_add_printf(out, "listen");
	for (size_t i = 0; l != NULL && i < l->n; i++)
		evbuffer_add_printf(out, " %s", l->v[i]->bound.text);
	evbuffer_add_printf(out, "\nconnections %u open, %llu total\n"
	    "requests %llu, responses %llu, errors %llu, upstream failures "
	    "%llu\n", t->conns, (unsigned long long)t->connections,
	    (unsigned long long)t->requests,
	    (unsigned long long)t->responses,
	    (unsigned long long)t->errors,
	    (unsigned long long)t->upstream_failures);
	status_text_fd(cx, out);
	if (cx->reload.at == 0)
		evbuffer_add_printf(out, "reload never\n");
	else {
		status_when(cx->reload.at, when, sizeof(when));
		evbuffer_add_printf(out, "reload %s %s: %s\n",
		    cx->reload.ok ? "ok" : "failed", when, cx->reload.msg);
	}
	status_text_change(&cx->last_change, out);
	status_text_release(cx, s, out);
	for (int i = 0; i < POOL_COUNT; i++)
		status_text_dns(cx, (enum pool_id)i, out);
}

/*
 * The mirror comparison (mirror.h), when mirroring is on or has counted:
 * per pool the mirrored requests, the shares of 2xx, 4xx, 5xx and error,
 * and a p99 estimated from the histogram (the bound of its bucket).
 */
struct status_mirror {
	unsigned			percent;
	struct metrics_totals		mt;
	uint64_t			n[POOL_COUNT];
	uint64_t			skipped;
};

/* Fills m; false when there is nothing to show. */
static bool
status_mirror_get(struct cutover *cx, const struct snapshot *s,
    struct status_mirror *m)
{
	memset(m, 0, sizeof(*m));
	m->percent = s->config->mirror.percent;
	for (unsigned i = 0; i < workers_count(cx->workers); i++)
		metrics_add(&workers_get(cx->workers, i)->metrics, &m->mt);
	for (int i = 0; i < POOL_COUNT; i++)
		for (unsigned k = 0; k < METRICS_MIRROR_CLASSES; k++)
			m->n[i] += m->mt.mirror[i].requests[k];
	for (unsigned k = 0; k < METRICS_SKIPS; k++)
		m->skipped += m->mt.mirror_skipped[k];
	return (m->percent > 0 || m->n[0] + m->n[1] + m->skipped > 0);
}

/* Class k's share of pool i's mirrored requests, in percent. */
static double
status_mirror_share(const struct status_mirror *m, int i, unsigned k)
{
	return (m->n[i] == 0 ? 0.0 :
	    100.0 * (double)m->mt.mirror[i].requests[k] / (double)m->n[i]);
}

/* The p99 estimate of pool i in seconds; -1: none, 1e9: past 10 s. */
static double
status_mirror_p99(const struct status_mirror *m, int i)
{
	uint64_t	ns = metrics_p99_ns(m->mt.mirror[i].buckets,
			    m->mt.mirror[i].count);

	if (m->mt.mirror[i].count == 0)
		return (-1);
	return (ns == UINT64_MAX ? 1e9 : (double)ns / 1e9);
}

static const unsigned status_mirror_classes[] = { 1, 3, 4,
    METRICS_MIRROR_ERROR };

static void
status_text_mirror(struct cutover *cx, const struct snapshot *s,
    struct evbuffer *out)
{
	struct status_mirror	m;
	double			p99;

	if (!status_mirror_get(cx, s, &m))
		return;
	evbuffer_add_printf(out, "mirror %u%% to the other pool, skipped "
	    "%llu (", m.percent, (unsigned long long)m.skipped);
	for (unsigned k = 0; k < METRICS_SKIPS; k++)
		evbuffer_add_printf(out, "%s%s %llu", k ? ", " : "",
		    metrics_skip_name((enum metrics_skip)k),
		    (unsigned long long)m.mt.mirror_skipped[k]);
	evbuffer_add_printf(out, ")\n");
	for (int i = 0; i < POOL_COUNT; i++) {
		evbuffer_add_printf(out, "mirror %-5s %llu", pool_name(i),
		    (unsigned long long)m.n[i]);
		for (size_t k = 0; k < 4; k++)
			evbuffer_add_printf(out, "  %s %.1f%%",
			    metrics_mirror_class_name(status_mirror_classes[k]),
			    status_mirror_share(&m, i, status_mirror_classes[k]));
		if ((p99 = status_mirror_p99(&m, i)) < 0)
			evbuffer_add_printf(out, "  p99 -\n");
		else if (p99 >= 1e9)
			evbuffer_add_printf(out, "  p99 > 10s (estimated)\n");
		else
			evbuffer_add_printf(out, "  p99 <= %gs (estimated from "
			    "the histogram)\n", p99);
	}
}

static void
status_json_mirror(struct cutover *cx, const struct snapshot *s,
    struct evbuffer *out)
{
	struct status_mirror	m;
	double			p99;

	if (!status_mirror_get(cx, s, &m))
		return;
	evbuffer_add_printf(out, ",\"mirror\":{\"percent\":%u,"
	    "\"skipped\":{", m.percent);
	for (unsigned k = 0; k < METRICS_SKIPS; k++)
		evbuffer_add_printf(out, "%s\"%s\":%llu", k ? "," : "",
		    metrics_skip_name((enum metrics_skip)k),
		    (unsigned long long)m.mt.mirror_skipped[k]);
	evbuffer_add_printf(out, "},\"pools\":{");
	for (int i = 0; i < POOL_COUNT; i++) {
		evbuffer_add_printf(out, "%s\"%s\":{\"requests\":%llu",
		    i ? "," : "", pool_name(i), (unsigned long long)m.n[i]);
		for (size_t k = 0; k < 4; k++)
			evbuffer_add_printf(out, ",\"%s\":%.4f",
			    metrics_mirror_class_name(status_mirror_classes[k]),
			    status_mirror_share(&m, i,
			    status_mirror_classes[k]) / 100.0);
		/* an estimate: the upper bound of the p99's bucket */
		if ((p99 = status_mirror_p99(&m, i)) < 0 || p99 >= 1e9)
			evbuffer_add_printf(out, ",\"p99_s_estimate\":null}");
		else
			evbuffer_add_printf(out, ",\"p99_s_estimate\":%g}",
			    p99);
	}
	evbuffer_add_printf(out, "}}");
}

/*
 * The guarded switch: "guard none"; "guard watching green for 5 s: 3.2 s
 * left, ..."; or how the last one ended, when, and why.
 */
static void
status_text_guard(struct cutover *cx, struct evbuffer *out)
{
	const struct cutover_guard	*g = &cx->guard;
	char				 when[40], p99[32] = "none";

	if (g->state == CUTOVER_GUARD_NONE) {
		evbuffer_add_printf(out, "guard none\n");
		return;
	}
	if (g->last.p99_ms >= 0)
		snprintf(p99, sizeof(p99), "%.1f ms", g->last.p99_ms);
	if (g->state == CUTOVER_GUARD_WATCHING)
		evbuffer_add_printf(out, "guard watching %s for %u s: %.1f s "
		    "left, back to %s on a trip; %llu request(s), 5xx %.1f%%, "
		    "p99 %s; limits 5xx > %.1f%%, p99 > %u ms (0: none), "
		    "min %u request(s)\n", pool_name(g->pool), g->seconds,
		    cutover_guard_left(cx), pool_name(g->from),
		    (unsigned long long)g->last.requests,
		    g->last.error_ratio * 100, p99,
		    g->limits.max_error_ratio * 100, g->limits.max_p99_ms,
		    g->limits.min_requests);
	else {
		status_when_ms(g->done_ms, when, sizeof(when));
		evbuffer_add_printf(out, "guard %s %s (from %s) at %s: %s\n",
		    cutover_guard_state_name(g->state), pool_name(g->pool),
		    pool_name(g->from), when, g->why);
	}
	evbuffer_add_printf(out, "guard-rollbacks %llu\n",
	    (unsigned long long)g->rollbacks);
}

/* ,"guard":{...}: the guarded switch, as status_text_guard. */
static void
status_json_guard(struct cutover *cx, struct evbuffer *out)
{
	const struct cutover_guard	*g = &cx->guard;

	evbuffer_add_printf(out, ",\"guard\":{\"state\":\"%s\","
	    "\"rollbacks_total\":%llu", cutover_guard_state_name(g->state),
	    (unsigned long long)g->rollbacks);
	if (g->state == CUTOVER_GUARD_NONE) {
		evbuffer_add_printf(out, "}");
		return;
	}
	evbuffer_add_printf(out, ",\"pool\":\"%s\",\"from\":\"%s\","
	    "\"seconds\":%u,\"left_s\":%.3f,\"started_ms\":%lld,"
	    "\"done_ms\":", pool_name(g->pool), pool_name(g->from),
	    g->seconds, cutover_guard_left(cx), g->started_ms);
	if (g->done_ms == 0)
		evbuffer_add_printf(out, "null");
	else
		evbuffer_add_printf(out, "%lld", g->done_ms);
	evbuffer_add_printf(out, ",\"requests\":%llu,\"errors\":%llu,"
	    "\"error_ratio\":%.6f,\"p99_ms\":",
	    (unsigned long long)g->last.requests,
	    (unsigned long long)g->last.errors, g->last.error_ratio);
	if (g->last.p99_ms < 0)
		evbuffer_add_printf(out, "null");
	else
		evbuffer_add_printf(out, "%.3f", g->last.p99_ms);
	evbuffer_add_printf(out, ",\"verdict\":\"%s\",\"limits\":{"
	    "\"max_error_ratio\":%g,\"max_p99_ms\":%u,"
	    "\"min_requests\":%u},\"why\":",
	    guard_verdict_name(g->verdict), g->limits.max_error_ratio,
	    g->limits.max_p99_ms, g->limits.min_requests);
	status_json_str(out, g->why);
	evbuffer_add_printf(out, "}");
}

/*
 * For people: a few lines, then three aligned tables (workers, pools,
 * members).  No blank line: the admin protocol ends a reply with one.
 */
static void
status_text(struct cutover *cx, struct evbuffer *out)
{
	struct workers_totals	 t;
	struct status_rows	 x;
	size_t			 nmembers = 0;

	workers_totals(cx->workers, &t);
	x.cx = cx;
	x.s = router_live(cx->router);
	x.t = &t;
	status_text_head(cx, x.s, &t, out);
	status_text_mirror(cx, x.s, out);
	status_text_guard(cx, out);
	status_table(out, status_worker_cols, STATUS_NCOLS(status_worker_cols),
	    workers_count(cx->workers), status_worker_row, &x);
	status_table(out, status_pool_cols, STATUS_NCOLS(status_pool_cols),
	    POOL_COUNT, status_pool_row, &x);
	for (int i = 0; i < POOL_COUNT; i++)
		nmembers += x.s->pools[i]->nmembers;
	status_table(out, status_member_cols, STATUS_NCOLS(status_member_cols),
	    nmembers, status_member_row, &x);
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

/* ,"dns":{...} of pool id, or ,"dns":null when it has no name. */
static void
status_json_dns(struct cutover *cx, enum pool_id id, struct evbuffer *out)
{
	const struct cutover_dns	*pd = &cx->dns_pool[id];
	const char			*name = cutover_config(cx)->pools[id].dns;
	char				 when[32];

	if (name == NULL) {
		evbuffer_add_printf(out, ",\"dns\":null");
		return;
	}
	evbuffer_add_printf(out, ",\"dns\":{\"name\":");
	status_json_str(out, name);
	evbuffer_add_printf(out, ",\"addresses\":%zu,\"last\":",
	    pd->set.naddrs);
	if (pd->last_at == 0)
		evbuffer_add_printf(out, "null,\"last_age_s\":null");
	else {
		status_json_str(out, pd->last);
		evbuffer_add_printf(out, ",\"last_age_s\":%lld",
		    (long long)(time(NULL) - pd->last_at));
	}
	evbuffer_add_printf(out, ",\"failing_since\":");
	if (pd->failing_since == 0)
		evbuffer_add_printf(out, "null");
	else {
		status_when(pd->failing_since, when, sizeof(when));
		evbuffer_add_printf(out, "\"%s\"", when);
	}
	evbuffer_add_printf(out, ",\"lookups_ok\":%llu,\"lookups_failed\":%llu,"
	    "\"members_added\":%llu,\"members_removed\":%llu}",
	    (unsigned long long)pd->lookups[1],
	    (unsigned long long)pd->lookups[0],
	    (unsigned long long)pd->added, (unsigned long long)pd->removed);
}

static void
status_json_pools(struct cutover *cx, const struct workers_totals *t,
    const struct snapshot *s, struct evbuffer *out)
{
	const struct pool	*p;

	evbuffer_add_printf(out, ",\"pools\":{");
	for (int i = 0; i < POOL_COUNT; i++) {
		p = s->pools[i];
		evbuffer_add_printf(out, "%s\"%s\":{\"active\":%s,"
		    "\"healthy\":%zu,\"panic\":%s,\"inflight\":%u,"
		    "\"tunnels\":%u,\"members\":[", i ? "," : "",
		    pool_name(p->id), p->id == s->active ? "true" : "false",
		    pool_healthy(p), cutover_in_panic(cx, p->id) ? "true" :
		    "false", t->inflight[p->id], t->tunnels[p->id]);
		for (size_t k = 0; k < p->nmembers; k++)
			status_json_member(out, p->members[k], k == 0);
		evbuffer_add_printf(out, "]");
		status_json_dns(cx, p->id, out);
		evbuffer_add_printf(out, "}");
	}
	evbuffer_add_printf(out, "}");
}

/* ,"release":{...},"scheduled":...,"config":{...} */
static void
status_json_release(struct cutover *cx, const struct snapshot *s,
    struct evbuffer *out)
{
	const struct cutover_sched	*sc = &cx->sched;
	char				 why[600], when[40];
	bool				 applied;

	applied = status_declared(cx, s, why, sizeof(why));
	evbuffer_add_printf(out, ",\"release\":{\"generation\":%llu,"
	    "\"declared\":{\"pool\":\"%s\",\"generation\":%llu,"
	    "\"applied\":%s,\"why\":",
	    (unsigned long long)cx->release.generation,
	    pool_name(cx->release.declared),
	    (unsigned long long)cx->release.declared_gen,
	    applied ? "true" : "false");
	if (applied)
		evbuffer_add_printf(out, "null");
	else
		status_json_str(out, why);
	evbuffer_add_printf(out, "},\"declared_refused_total\":%llu},"
	    "\"scheduled\":", (unsigned long long)cx->release.refused);
	if (!sc->pending)
		evbuffer_add_printf(out, "null");
	else {
		status_when_ms(sc->at_ms, when, sizeof(when));
		evbuffer_add_printf(out, "{\"pool\":\"%s\",\"force\":%s,"
		    "\"at_ms\":%lld,\"at\":\"%s\",\"generation\":%llu,"
		    "\"by\":", pool_name(sc->pool), sc->force ? "true" :
		    "false", sc->at_ms, when, (unsigned long long)sc->gen);
		status_json_str(out, sc->by);
		evbuffer_add_printf(out, "}");
	}
	evbuffer_add_printf(out, ",\"scheduled_last\":");
	if (sc->last.result == CUTOVER_SCHED_NONE)
		evbuffer_add_printf(out, "null");
	else {
		evbuffer_add_printf(out, "{\"result\":\"%s\",\"pool\":\"%s\","
		    "\"generation\":%llu,\"at_ms\":%lld,\"done_us\":%lld,"
		    "\"late_ms\":%.3f,\"message\":",
		    cutover_sched_result_name(sc->last.result),
		    pool_name(sc->last.pool), (unsigned long long)sc->last.gen,
		    sc->last.at_ms, sc->last.done_us, (double)(sc->last.done_us -
		    sc->last.at_ms * 1000) / 1000);
		status_json_str(out, sc->last.msg);
		evbuffer_add_printf(out, "}");
	}
	status_when_ms((long long)cx->file.at.tv_sec * 1000 +
	    cx->file.at.tv_nsec / 1000000, when, sizeof(when));
	evbuffer_add_printf(out, ",\"config\":{\"path\":");
	status_json_str(out, cx->config_path);
	evbuffer_add_printf(out, ",\"sha256\":");
	if (cx->file.sha256[0] == '\0')
		evbuffer_add_printf(out, "null");
	else
		evbuffer_add_printf(out, "\"%s\"", cx->file.sha256);
	evbuffer_add_printf(out, ",\"loaded\":\"%s\",\"watch\":%s,"
	    "\"watch_lost\":%s}", when, cx->file.watch != NULL ? "true" :
	    "false", cx->file.watch != NULL && !watch_active(cx->file.watch) ?
	    "true" : "false");
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
	    "\"generation\":%llu,\"previous\":", PACKAGE_VERSION,
	    (long)getpid(), (long long)(time(NULL) - cx->started),
	    workers_count(cx->workers), pool_name(s->active),
	    (unsigned long long)cx->stats.generation);
	if (s->has_previous)
		evbuffer_add_printf(out, "\"%s\"", pool_name(s->previous));
	else
		evbuffer_add_printf(out, "null");
	status_json_change(&cx->last_change, out);
	if (s->shift_percent > 0)
		evbuffer_add_printf(out, ",\"shift\":{\"pool\":\"%s\","
		    "\"percent\":%u}", pool_name(s->shift_pool),
		    s->shift_percent);
	else
		evbuffer_add_printf(out, ",\"shift\":null");
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
	status_json_fd(cx, out);
	status_json_release(cx, s, out);
	status_json_guard(cx, out);
	status_json_pools(cx, &t, s, out);
	status_json_mirror(cx, s, out);
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

/* ------------------------------------------------------------- metrics */

/* # HELP and # TYPE of the family cutover_<name>. */
static void
status_family(struct evbuffer *out, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(out, "# HELP cutover_%s %s\n# TYPE cutover_%s %s\n",
	    name, help, name, type);
}

/* A label value as the text format wants it: \\, \" and \n escaped. */
static void
status_label(struct evbuffer *out, const char *name, const char *value,
    bool first)
{
	evbuffer_add_printf(out, "%s%s=\"", first ? "" : ",", name);
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '\\' || *p == '"')
			evbuffer_add_printf(out, "\\%c", *p);
		else if (*p == '\n')
			evbuffer_add(out, "\\n", 2);
		else
			evbuffer_add(out, p, 1);
	}
	evbuffer_add(out, "\"", 1);
}

/* cutover_<name>{pool="..."<more>} value: one sample per pool. */
static void
status_pool_sample(struct evbuffer *out, const char *name, enum pool_id id,
    unsigned long long value)
{
	evbuffer_add_printf(out, "cutover_%s{", name);
	status_label(out, "pool", pool_name(id), true);
	evbuffer_add_printf(out, "} %llu\n", value);
}

/* cutover_<name>{pool,member} value for member m. */
static void
status_member_sample(struct evbuffer *out, const char *name,
    const struct member *m, const char *label, const char *value,
    unsigned long long n)
{
	evbuffer_add_printf(out, "cutover_%s{", name);
	status_label(out, "pool", pool_name(m->pool), true);
	status_label(out, "member", m->addr.text, false);
	if (label != NULL)
		status_label(out, label, value, false);
	evbuffer_add_printf(out, "} %llu\n", n);
}

/* One pool's histogram of family name (cumulative buckets, sum and
 * count), from per-bucket counts. */
static void
status_histogram(struct evbuffer *out, const char *name, int pool,
    const uint64_t *buckets, uint64_t sum_ns, uint64_t count)
{
	char			 sample[96];
	unsigned long long	 cum = 0;

	for (unsigned k = 0; k < METRICS_BUCKETS; k++) {
		cum += buckets[k];
		evbuffer_add_printf(out, "cutover_%s_bucket{", name);
		status_label(out, "pool", pool_name(pool), true);
		status_label(out, "le", metrics_bucket_le(k), false);
		evbuffer_add_printf(out, "} %llu\n", cum);
	}
	evbuffer_add_printf(out, "cutover_%s_sum{", name);
	status_label(out, "pool", pool_name(pool), true);
	evbuffer_add_printf(out, "} %llu.%09llu\n",
	    (unsigned long long)(sum_ns / 1000000000u),
	    (unsigned long long)(sum_ns % 1000000000u));
	snprintf(sample, sizeof(sample), "%s_count", name);
	status_pool_sample(out, sample, pool, count);
}

static void
status_metrics_requests(struct evbuffer *out, const struct metrics_totals *mt)
{
	const struct metrics_totals_pool	*q;

	status_family(out, "requests_total", "counter",
	    "Requests answered, by pool and status class.");
	for (int i = 0; i < POOL_COUNT; i++)
		for (unsigned k = 0; k < METRICS_CLASSES; k++) {
			evbuffer_add_printf(out, "cutover_requests_total{");
			status_label(out, "pool", pool_name(i), true);
			status_label(out, "code", metrics_class_name(k), false);
			evbuffer_add_printf(out, "} %llu\n", (unsigned long long)
			    mt->pool[i].requests[k]);
		}
	status_family(out, "request_duration_seconds", "histogram",
	    "Time from a request's parsed head to its response's end.");
	for (int i = 0; i < POOL_COUNT; i++) {
		q = &mt->pool[i];
		status_histogram(out, "request_duration_seconds", i,
		    q->buckets, q->sum_ns, q->count);
	}
	status_family(out, "panic_requests_total", "counter",
	    "Requests routed in panic, to a member that is down, because the "
	    "pool had none up (health.panic).");
	for (int i = 0; i < POOL_COUNT; i++)
		status_pool_sample(out, "panic_requests_total", i,
		    mt->pool[i].panic);
	status_family(out, "bytes_received_total", "counter",
	    "Bytes read from clients, by the pool of their requests.");
	for (int i = 0; i < POOL_COUNT; i++)
		status_pool_sample(out, "bytes_received_total", i,
		    mt->pool[i].bytes_in);
	status_family(out, "bytes_sent_total", "counter",
	    "Bytes sent to clients, by the pool of their requests.");
	for (int i = 0; i < POOL_COUNT; i++)
		status_pool_sample(out, "bytes_sent_total", i,
		    mt->pool[i].bytes_out);
}

static void
status_metrics_pools(struct cutover *cx, struct evbuffer *out,
    const struct snapshot *s, const struct workers_totals *t)
{
	struct member_counts	n;
	unsigned long long	idle;

	status_family(out, "requests_in_flight", "gauge",
	    "Requests under way, by pool.");
	for (int i = 0; i < POOL_COUNT; i++)
		status_pool_sample(out, "requests_in_flight", i,
		    t->inflight[i]);
	status_family(out, "tunnels_in_flight", "gauge",
	    "Upgraded connections (tunnels) open, by pool.");
	for (int i = 0; i < POOL_COUNT; i++)
		status_pool_sample(out, "tunnels_in_flight", i, t->tunnels[i]);
	status_family(out, "active_pool", "gauge",
	    "1 for the pool new requests go to, 0 for the other.");
	for (int i = 0; i < POOL_COUNT; i++)
		status_pool_sample(out, "active_pool", i, s->active == (enum pool_id)i);
	status_family(out, "pool_members", "gauge", "Members, by pool.");
	for (int i = 0; i < POOL_COUNT; i++)
		status_pool_sample(out, "pool_members", i,
		    s->pools[i]->nmembers);
	status_family(out, "pool_healthy_members", "gauge",
	    "Members ready and probed up, by pool.");
	for (int i = 0; i < POOL_COUNT; i++)
		status_pool_sample(out, "pool_healthy_members", i,
		    pool_healthy(s->pools[i]));
	status_family(out, "pool_panic", "gauge",
	    "1 while the pool routes in panic: no member up, requests sent "
	    "to its ready members anyway (health.panic).");
	for (int i = 0; i < POOL_COUNT; i++)
		status_pool_sample(out, "pool_panic", i, cutover_in_panic(cx, i));
	status_family(out, "upstream_connections_idle", "gauge",
	    "Idle keep-alive connections to members, by pool.");
	for (int i = 0; i < POOL_COUNT; i++) {
		idle = 0;
		for (size_t k = 0; k < s->pools[i]->nmembers; k++) {
			member_counts(s->pools[i]->members[k], &n);
			idle += n.idle;
		}
		status_pool_sample(out, "upstream_connections_idle", i, idle);
	}
}

/* The families of members, over every member of s. */
static void
status_metrics_members(struct evbuffer *out, const struct snapshot *s)
{
	const struct member	*m;
	struct member_counts	 n;

	status_family(out, "member_up", "gauge",
	    "1 when the member is probed up, 0 otherwise.");
	for (int i = 0; i < POOL_COUNT; i++)
		for (size_t k = 0; k < s->pools[i]->nmembers; k++) {
			m = s->pools[i]->members[k];
			status_member_sample(out, "member_up", m, NULL, NULL,
			    m->health == HEALTH_UP);
		}
	status_family(out, "member_state", "gauge",
	    "1 for the member's health and admin state.");
	for (int i = 0; i < POOL_COUNT; i++)
		for (size_t k = 0; k < s->pools[i]->nmembers; k++) {
			m = s->pools[i]->members[k];
			evbuffer_add_printf(out, "cutover_member_state{");
			status_label(out, "pool", pool_name(m->pool), true);
			status_label(out, "member", m->addr.text, false);
			status_label(out, "health",
			    member_health_name(m->health), false);
			status_label(out, "admin", member_admin_name(m->admin),
			    false);
			evbuffer_add_printf(out, "} 1\n");
		}
	status_family(out, "member_requests_total", "counter",
	    "Requests routed to the member (retries included).");
	for (int i = 0; i < POOL_COUNT; i++)
		for (size_t k = 0; k < s->pools[i]->nmembers; k++) {
			m = s->pools[i]->members[k];
			member_counts(m, &n);
			status_member_sample(out, "member_requests_total", m,
			    NULL, NULL, n.requests);
		}
	status_family(out, "probes_total", "counter",
	    "Active health probes of the member, by result.");
	for (int i = 0; i < POOL_COUNT; i++)
		for (size_t k = 0; k < s->pools[i]->nmembers; k++) {
			m = s->pools[i]->members[k];
			status_member_sample(out, "probes_total", m, "result",
			    "ok", m->probes[1]);
			status_member_sample(out, "probes_total", m, "result",
			    "fail", m->probes[0]);
		}
	status_family(out, "upstream_connect_errors_total", "counter",
	    "Connections to the member refused, reset or failed "
	    "(not timeouts).");
	for (int i = 0; i < POOL_COUNT; i++)
		for (size_t k = 0; k < s->pools[i]->nmembers; k++) {
			m = s->pools[i]->members[k];
			member_counts(m, &n);
			status_member_sample(out,
			    "upstream_connect_errors_total", m, NULL, NULL,
			    n.connect_errors);
		}
	status_family(out, "upstream_connect_timeouts_total", "counter",
	    "Connections to the member not made within "
	    "timeouts.connect_ms.");
	for (int i = 0; i < POOL_COUNT; i++)
		for (size_t k = 0; k < s->pools[i]->nmembers; k++) {
			m = s->pools[i]->members[k];
			member_counts(m, &n);
			status_member_sample(out,
			    "upstream_connect_timeouts_total", m, NULL, NULL,
			    n.connect_timeouts);
		}
}

/* What the root reports: routing generation, switches, reloads. */
static void
status_metrics_root(struct cutover *cx, struct evbuffer *out,
    const struct workers_totals *t)
{
	status_family(out, "generation", "gauge",
	    "Routing generation: +1 at every switch, rollback, reload and "
	    "DNS answer that changed the active pool or the members.");
	evbuffer_add_printf(out, "cutover_generation %llu\n",
	    (unsigned long long)cx->stats.generation);
	status_family(out, "switches_total", "counter",
	    "Switches and rollbacks that moved the active pool, by whether "
	    "force was given.");
	evbuffer_add_printf(out, "cutover_switches_total{forced=\"false\"} "
	    "%llu\ncutover_switches_total{forced=\"true\"} %llu\n",
	    (unsigned long long)cx->stats.switches[0],
	    (unsigned long long)cx->stats.switches[1]);
	status_family(out, "last_switch_timestamp_seconds", "gauge",
	    "Wall-clock time of the last switch or rollback (0: none).");
	evbuffer_add_printf(out, "cutover_last_switch_timestamp_seconds "
	    "%lld.%03ld\n", (long long)cx->stats.last_switch.tv_sec,
	    cx->stats.last_switch.tv_nsec / 1000000);
	status_family(out, "release_generation", "gauge",
	    "Release generation: that of the last release (a switch with "
	    "gen, or a reload that applied a newer declared generation).");
	evbuffer_add_printf(out, "cutover_release_generation %llu\n",
	    (unsigned long long)cx->release.generation);
	status_family(out, "declared_refused_total", "counter",
	    "Reloads whose declared colour the health gate refused.");
	evbuffer_add_printf(out, "cutover_declared_refused_total %llu\n",
	    (unsigned long long)cx->release.refused);
	status_family(out, "guard_rollbacks_total", "counter",
	    "Guarded switches rolled back because the new pool broke the "
	    "guard's limits.");
	evbuffer_add_printf(out, "cutover_guard_rollbacks_total %llu\n",
	    (unsigned long long)cx->guard.rollbacks);
	status_family(out, "guard_watching", "gauge",
	    "1 while a guarded switch is being watched.");
	evbuffer_add_printf(out, "cutover_guard_watching %d\n",
	    cx->guard.state == CUTOVER_GUARD_WATCHING);
	status_family(out, "scheduled_switches_total", "counter",
	    "Scheduled switches that ended, by result.");
	for (int i = CUTOVER_SCHED_SWITCHED; i < CUTOVER_SCHED_NRESULTS; i++)
		evbuffer_add_printf(out, "cutover_scheduled_switches_total{"
		    "result=\"%s\"} %llu\n", cutover_sched_result_name(i),
		    (unsigned long long)cx->stats.scheduled[i]);
	status_family(out, "reloads_total", "counter",
	    "Configuration reloads, by result.");
	evbuffer_add_printf(out, "cutover_reloads_total{result=\"ok\"} %llu\n"
	    "cutover_reloads_total{result=\"failed\"} %llu\n",
	    (unsigned long long)cx->stats.reloads[1],
	    (unsigned long long)cx->stats.reloads[0]);
	status_family(out, "dns_lookups_total", "counter",
	    "Lookups of the pool's dns name, by result (failed: timed out, "
	    "NXDOMAIN, no address, ...).");
	for (int i = 0; i < POOL_COUNT; i++)
		for (int ok = 1; ok >= 0; ok--) {
			evbuffer_add_printf(out, "cutover_dns_lookups_total{");
			status_label(out, "pool", pool_name(i), true);
			status_label(out, "result", ok ? "ok" : "failed", false);
			evbuffer_add_printf(out, "} %llu\n", (unsigned long long)
			    cx->dns_pool[i].lookups[ok]);
		}
	status_family(out, "member_changes_total", "counter",
	    "Members added to and removed from the pool by DNS answers.");
	for (int i = 0; i < POOL_COUNT; i++) {
		evbuffer_add_printf(out, "cutover_member_changes_total{");
		status_label(out, "pool", pool_name(i), true);
		evbuffer_add_printf(out, ",change=\"added\"} %llu\n",
		    (unsigned long long)cx->dns_pool[i].added);
		evbuffer_add_printf(out, "cutover_member_changes_total{");
		status_label(out, "pool", pool_name(i), true);
		evbuffer_add_printf(out, ",change=\"removed\"} %llu\n",
		    (unsigned long long)cx->dns_pool[i].removed);
	}
	status_family(out, "start_time_seconds", "gauge",
	    "Wall-clock time cutover started.");
	evbuffer_add_printf(out, "cutover_start_time_seconds %lld\n",
	    (long long)cx->started);
	status_family(out, "connections_open", "gauge",
	    "Client connections open.");
	evbuffer_add_printf(out, "cutover_connections_open %u\n", t->conns);
	status_family(out, "connections_total", "counter",
	    "Client connections accepted.");
	evbuffer_add_printf(out, "cutover_connections_total %llu\n",
	    (unsigned long long)t->connections);
}

/* Descriptors: the limit, what is needed, errors (fdlimit.h). */
static void
status_metrics_fd(struct cutover *cx, struct evbuffer *out)
{
	struct fdlimit_stats	st;

	fdlimit_stats(&st);
	const struct {
		const char	*name, *help;
		uint64_t	 v;
	} gauges[] = {
		{ "descriptors_needed", "File descriptors the configuration "
		    "needs (cutover(8), Limits).", cx->fdlimit.need.total },
		{ "descriptors_limit", "The soft RLIMIT_NOFILE, as cutover "
		    "raised it.", cx->fdlimit.soft },
		{ "descriptor_limit_reached", "1 while accept or socket fails "
		    "for want of descriptors.", st.reached },
	};

	for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++) {
		status_family(out, gauges[i].name, "gauge", gauges[i].help);
		evbuffer_add_printf(out, "cutover_%s %llu\n", gauges[i].name,
		    (unsigned long long)gauges[i].v);
	}
	status_family(out, "descriptor_errors_total", "counter",
	    "accept(2) or socket(2) failures with EMFILE or ENFILE, by "
	    "operation.");
	for (int i = 0; i < FDLIMIT_NOPS; i++) {
		evbuffer_add_printf(out, "cutover_descriptor_errors_total{");
		status_label(out, "op", fdlimit_op_name((enum fdlimit_op)i),
		    true);
		evbuffer_add_printf(out, "} %llu\n",
		    (unsigned long long)st.errors[i]);
	}
}

/* Preview routing and the weighted shift (pick.h). */
static void
status_metrics_route(struct evbuffer *out, const struct snapshot *s,
    const struct metrics_totals *mt)
{
	status_family(out, "preview_requests_total", "counter",
	    "Requests routed by preview (preview.header or preview.cookie) "
	    "to the pool they named.");
	for (int i = 0; i < POOL_COUNT; i++)
		status_pool_sample(out, "preview_requests_total", i,
		    mt->pool[i].preview);
	status_family(out, "preview_refused_total", "counter",
	    "Requests that named a pool without the right X-Cutover-Token "
	    "(preview.token): answered 403.");
	evbuffer_add_printf(out, "cutover_preview_refused_total %llu\n",
	    (unsigned long long)mt->preview_refused);
	status_family(out, "shift_percent", "gauge",
	    "Percent of the clients a weighted shift sends to the pool "
	    "(0: none).");
	for (int i = 0; i < POOL_COUNT; i++)
		status_pool_sample(out, "shift_percent", i,
		    s->shift_percent > 0 && s->shift_pool == (enum pool_id)i ?
		    s->shift_percent : 0);
}

/* Mirrored requests side by side (mirror.h): the client's responses on
 * the active pool, the copies' on the other. */
static void
status_metrics_mirror(struct evbuffer *out, const struct metrics_totals *mt)
{
	const struct metrics_totals_mirror	*q;

	status_family(out, "mirror_requests_total", "counter",
	    "Mirrored requests by pool and class: the client's response on "
	    "the pool that served it, the copy's on the other (error: no "
	    "valid response).");
	for (int i = 0; i < POOL_COUNT; i++)
		for (unsigned k = 0; k < METRICS_MIRROR_CLASSES; k++) {
			evbuffer_add_printf(out,
			    "cutover_mirror_requests_total{");
			status_label(out, "pool", pool_name(i), true);
			status_label(out, "class",
			    metrics_mirror_class_name(k), false);
			evbuffer_add_printf(out, "} %llu\n", (unsigned long long)
			    mt->mirror[i].requests[k]);
		}
	status_family(out, "mirror_request_duration_seconds", "histogram",
	    "Time to the response of a mirrored request, by pool (failed "
	    "copies not timed).");
	for (int i = 0; i < POOL_COUNT; i++) {
		q = &mt->mirror[i];
		status_histogram(out, "mirror_request_duration_seconds", i,
		    q->buckets, q->sum_ns, q->count);
	}
	status_family(out, "mirror_skipped_total", "counter",
	    "Requests sampled for mirroring but not copied, by reason.");
	for (unsigned k = 0; k < METRICS_SKIPS; k++) {
		evbuffer_add_printf(out, "cutover_mirror_skipped_total{");
		status_label(out, "reason",
		    metrics_skip_name((enum metrics_skip)k), true);
		evbuffer_add_printf(out, "} %llu\n",
		    (unsigned long long)mt->mirror_skipped[k]);
	}
}

void
status_metrics(struct cutover *cx, struct evbuffer *out)
{
	const struct snapshot	*s = router_live(cx->router);
	struct workers_totals	 t;
	struct metrics_totals	 mt;

	workers_totals(cx->workers, &t);
	memset(&mt, 0, sizeof(mt));
	for (unsigned i = 0; i < workers_count(cx->workers); i++)
		metrics_add(&workers_get(cx->workers, i)->metrics, &mt);
	status_metrics_requests(out, &mt);
	status_metrics_mirror(out, &mt);
	status_metrics_pools(cx, out, s, &t);
	status_metrics_members(out, s);
	status_metrics_root(cx, out, &t);
	status_metrics_fd(cx, out);
	status_metrics_route(out, s, &mt);
	status_family(out, "access_log_dropped_total", "counter",
	    "Access log lines dropped because stdout was not read fast "
	    "enough.");
	evbuffer_add_printf(out, "cutover_access_log_dropped_total %llu\n",
	    (unsigned long long)t.access_dropped);
}
