/*
 * probe.c — active probes: one chain per member, one deadline, one
 * completion.
 */
#include "autoconf.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "fdlimit.h"
#include "http.h"
#include "log.h"
#include "pool.h"
#include "probe.h"
#include "snapshot.h"

#define PROBE_FIRST_MS	100	/* the first probe of a member, at most */

struct probe {
	TAILQ_ENTRY(probe)	 entry;
	struct probes		*ps;
	struct member		*m;		/* a reference */
	struct bufferevent	*bev;		/* while running */
	struct event		*timer;		/* next probe, or deadline */
	struct http_msg		 resp;
	struct timespec		 t0;
	unsigned		 seen;		/* sync generation */
};

TAILQ_HEAD(probe_list, probe);

struct probes {
	struct event_base	*base;
	probe_change_fn		 on_change;	/* may be NULL */
	void			*ctx;
	struct config		*config;	/* of the last sync (a ref) */
	struct probe_list	 probes;
	unsigned		 gen;
};

static void	probe_start(struct probe *);

/* The settings for m's pool in the configuration of the last sync. */
static const struct check_config *
probe_config(const struct probe *p)
{
	return (&p->ps->config->pools[p->m->pool].health);
}

static void
probe_arm(struct probe *p, unsigned ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(p->timer, &tv);
}

/* Logs m's change of health from old, which probe p's result made. */
static void
probe_log(const struct probe *p, enum member_health old, bool ok,
    const char *why)
{
	const struct check_config	*hc = probe_config(p);
	const struct member		*m = p->m;

	if (ok)
		log_info("health: %s %s %s -> %s (%u/%u ok, %u ms)",
		    pool_name(m->pool), m->addr.text, member_health_name(old),
		    member_health_name(m->health), m->ok_streak, hc->rise,
		    m->latency_ms);
	else
		log_warn("health: %s %s %s -> %s (%u/%u failed: %s)",
		    pool_name(m->pool), m->addr.text, member_health_name(old),
		    member_health_name(m->health), m->fail_streak,
		    old == HEALTH_UP ? hc->fall : 1, why);
}

/* The one completion of a probe: state, log, owner told, next probe. */
static void
probe_done(struct probe *p, bool ok, const char *why)
{
	const struct check_config	*hc = probe_config(p);
	struct member			*m = p->m;
	enum member_health		 old = m->health;
	struct timespec			 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	bufferevent_free(p->bev);
	p->bev = NULL;
	http_msg_free(&p->resp);
	member_set_last(m, why, (unsigned)((now.tv_sec - p->t0.tv_sec) * 1000 +
	    (now.tv_nsec - p->t0.tv_nsec) / 1000000));
	if (member_apply_probe(m, ok, hc->rise, hc->fall)) {
		probe_log(p, old, ok, why);
		if (p->ps->on_change != NULL)
			p->ps->on_change(p->ps->ctx, m);
	}
	probe_arm(p, hc->interval_ms);
}

static void
probe_read_cb(struct bufferevent *bev, void *arg)
{
	struct probe	*p = arg;
	char		 why[64];
	int		 status;

	switch (http_msg_head(&p->resp, bufferevent_get_input(bev))) {
	case HTTP_MORE:
		return;
	case HTTP_ERROR:
		evtimer_del(p->timer);
		probe_done(p, false, "invalid response");
		return;
	case HTTP_DONE:
		break;
	}
	evtimer_del(p->timer);
	status = p->resp.parser.status_code;
	if (check_expect_match(&probe_config(p)->expect, status)) {
		snprintf(why, sizeof(why), "%d", status);
		probe_done(p, true, why);
	} else {
		snprintf(why, sizeof(why), "%d not expected", status);
		probe_done(p, false, why);
	}
}

static void
probe_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct probe	*p = arg;
	int		 err = EVUTIL_SOCKET_ERROR();

	if (what & BEV_EVENT_CONNECTED)
		return;
	evtimer_del(p->timer);
	if (what & BEV_EVENT_EOF)
		probe_done(p, false, "closed before answering");
	else
		probe_done(p, false, err != 0 ?
		    evutil_socket_error_to_string(err) : "connection failed");
}

/* The timer: starts the next probe, or ends a running one. */
static void
probe_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct probe	*p = arg;

	if (p->bev == NULL) {
		probe_start(p);
		return;
	}
	probe_done(p, false, "timed out");
}

static void
probe_start(struct probe *p)
{
	const struct check_config	*hc = probe_config(p);
	struct member			*m = p->m;
	char				 what[128];
	int				 fd, e;

	if (m->admin == MEMBER_MAINT) {
		probe_arm(p, hc->interval_ms);	/* no probes in maintenance */
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &p->t0);
	http_msg_init(&p->resp, HTTP_RESPONSE);
	if ((fd = socket(m->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 || (p->bev = bufferevent_socket_new(
	    p->ps->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		e = errno;
		if (fd != -1)
			close(fd);
		snprintf(what, sizeof(what), "health: %s %s",
		    pool_name(m->pool), m->addr.text);
		/* out of descriptors: once per episode, not per probe */
		if (fd == -1 && fdlimit_is_error(e))
			fdlimit_fail(FDLIMIT_PROBE, what, e);
		else
			log_error("%s: cannot probe: %s", what, strerror(e));
		probe_arm(p, hc->interval_ms);
		return;
	}
	fdlimit_ok();
	bufferevent_setcb(p->bev, probe_read_cb, NULL, probe_event_cb, p);
	evbuffer_add_printf(bufferevent_get_output(p->bev),
	    "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: cutover-health\r\n"
	    "Connection: close\r\n\r\n", hc->path,
	    hc->host[0] != '\0' ? hc->host : m->addr.text);
	probe_arm(p, hc->timeout_ms);
	bufferevent_enable(p->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(p->bev, (struct sockaddr *)&m->addr.ss,
	    (int)m->addr.len) == -1) {
		evtimer_del(p->timer);
		probe_done(p, false, strerror(errno));
	}
}

static struct probe *
probe_new(struct probes *ps, struct member *m)
{
	struct probe	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->timer = evtimer_new(ps->base, probe_timer_cb, p)) == NULL) {
		free(p);
		log_error("health: %s %s: out of memory: not probed",
		    pool_name(m->pool), m->addr.text);
		return (NULL);
	}
	p->ps = ps;
	p->m = member_ref(m);
	m->probe = p;
	TAILQ_INSERT_TAIL(&ps->probes, p, entry);
	/* spread the first probes so they do not all start at once */
	probe_arm(p, (unsigned)(random() % PROBE_FIRST_MS));
	return (p);
}

static void
probe_free(struct probe *p)
{
	TAILQ_REMOVE(&p->ps->probes, p, entry);
	if (p->bev != NULL)
		bufferevent_free(p->bev);
	http_msg_free(&p->resp);
	event_free(p->timer);
	p->m->probe = NULL;
	member_unref(p->m);
	free(p);
}

struct probes *
probes_new(struct event_base *base, probe_change_fn on_change, void *ctx)
{
	struct probes	*ps;

	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		return (NULL);
	ps->base = base;
	ps->on_change = on_change;
	ps->ctx = ctx;
	TAILQ_INIT(&ps->probes);
	return (ps);
}

void
probes_free(struct probes *ps)
{
	struct probe	*p;

	if (ps == NULL)
		return;
	while ((p = TAILQ_FIRST(&ps->probes)) != NULL)
		probe_free(p);
	config_free(ps->config);
	free(ps);
}

void
probes_sync(struct probes *ps, struct snapshot *s)
{
	struct probe	*p, *next;
	struct member	*m;

	/* the new settings first: probe_new's timer reads them later */
	config_free(ps->config);
	ps->config = config_ref(s->config);
	ps->gen++;
	for (int i = 0; i < POOL_COUNT; i++)
		for (size_t k = 0; k < s->pools[i]->nmembers; k++) {
			m = s->pools[i]->members[k];
			if (m->probe == NULL && probe_new(ps, m) == NULL)
				continue;
			m->probe->seen = ps->gen;
		}
	for (p = TAILQ_FIRST(&ps->probes); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->seen != ps->gen)
			probe_free(p);
	}
}
