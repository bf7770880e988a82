/*
 * listen.c — listening sockets and accepting.
 */
#include "autoconf.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conn.h"
#include "cutover.h"
#include "listen.h"
#include "log.h"
#include "snapshot.h"
#include "worker.h"

#define LISTEN_BACKLOG		511
#define LISTEN_RETRY_MS		100

static void
listen_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener	*l = arg;

	conn_new(l->w, fd, sa, (socklen_t)salen);
	listeners_pace(l->w);
}

void
listeners_resync(struct listeners *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->paused)
			evconnlistener_disable(l->v[i]->lev);
		else
			evconnlistener_enable(l->v[i]->lev);
}

/* The client connections of every worker. */
static unsigned
listeners_open_conns(struct cutover *cx)
{
	unsigned	n = 0;

	for (unsigned i = 0; i < workers_count(cx); i++)
		n += COUNT_GET(&workers_get(cx, i)->nconns);
	return (n);
}

/* Whether w should stop accepting (the limit as w's snapshot has it). */
static bool
listeners_full(struct worker *w)
{
	unsigned	max = w->snap->config->max_connections;

	return (max > 0 && listeners_open_conns(w->cx) >= max);
}

static void
listeners_pace_job(struct worker *w, void *arg)
{
	if (w->listeners != NULL && w->snap != NULL &&
	    listeners_full(w) != w->listeners->paused) {
		w->listeners->paused = !w->listeners->paused;
		listeners_resync(w->listeners);
	}
}

/* Posted by a worker that paused or resumed: the others follow, and the
 * log says so once. */
static void
listeners_pace_all(struct cutover *cx, void *arg)
{
	bool		full;
	unsigned	max = cx->config->max_connections;

	atomic_store(&cx->pace_posted, false);
	if (cx->exiting)
		return;
	workers_run(cx, listeners_pace_job, NULL);
	full = max > 0 && listeners_open_conns(cx) >= max;
	if (full == cx->full)
		return;
	if ((cx->full = full))
		log_warn("limits.max_connections (%u) reached: not accepting",
		    max);
	else
		log_info("accepting again (%u connections)",
		    listeners_open_conns(cx));
}

void
listeners_pace(struct worker *w)
{
	if (w->listeners == NULL ||
	    listeners_full(w) == w->listeners->paused)
		return;
	listeners_pace_job(w, NULL);
	if (!atomic_exchange(&w->cx->pace_posted, true) &&
	    worker_post(w, listeners_pace_all, NULL) == -1)
		atomic_store(&w->cx->pace_posted, false);
}

static void
listen_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener	*l = arg;

	evconnlistener_enable(l->lev);
}

static void
listen_error_cb(struct evconnlistener *lev, void *arg)
{
	struct listener	*l = arg;
	struct timeval	 tv = { 0, LISTEN_RETRY_MS * 1000 };
	int		 err = EVUTIL_SOCKET_ERROR();

	/* out of descriptors: pause instead of spinning on accept */
	log_error("accept on %s: %s; pausing %d ms", l->bound.text,
	    evutil_socket_error_to_string(err), LISTEN_RETRY_MS);
	evconnlistener_disable(lev);
	evtimer_add(l->retry, &tv);
}

static void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	if (l->lev != NULL)
		evconnlistener_free(l->lev);
	if (l->retry != NULL)
		event_free(l->retry);
	free(l);
}

/* A listener on a as configured, bound to at (the address worker 0's
 * listener got, for the others). */
static struct listener *
listener_new(struct worker *w, const struct addr *a, const struct addr *at,
    char *err, size_t errlen)
{
	struct listener		*l;
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	unsigned		 flags = LEV_OPT_CLOSE_ON_FREE |
				    LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE;

	if (workers_count(w->cx) > 1)
		flags |= LEV_OPT_REUSEABLE_PORT;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		goto fail;
	l->w = w;
	l->want = *a;
	if ((l->retry = evtimer_new(w->base, listen_retry_cb, l)) == NULL)
		goto fail;
	if ((l->lev = evconnlistener_new_bind(w->base, listen_accept_cb, l,
	    flags, LISTEN_BACKLOG, (const struct sockaddr *)&at->ss,
	    (int)at->len)) == NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", at->text,
		    strerror(errno));
		listener_free(l);
		return (NULL);
	}
	evconnlistener_set_error_cb(l->lev, listen_error_cb);
	if (getsockname(evconnlistener_get_fd(l->lev), (struct sockaddr *)&ss,
	    &len) == 0)
		addr_from_sockaddr(&l->bound, (struct sockaddr *)&ss, len);
	else
		l->bound = *at;
	if (w->id == 0)
		log_info("listening on %s", l->bound.text);
	return (l);
fail:
	snprintf(err, errlen, "out of memory");
	listener_free(l);
	return (NULL);
}

static struct listener *
listeners_find(const struct listeners *l, const struct addr *a)
{
	for (size_t i = 0; l != NULL && i < l->n; i++)
		if (addr_equal(&l->v[i]->want, a))
			return (l->v[i]);
	return (NULL);
}

struct listeners *
listeners_open(struct worker *w, const struct config *cf,
    const struct listeners *old, const struct listeners *lead, char *err,
    size_t errlen)
{
	struct listeners	*l;
	struct listener		*x, *first;
	const struct addr	*at;

	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->v = calloc(cf->nlisten, sizeof(*l->v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(l);
		return (NULL);
	}
	for (size_t i = 0; i < cf->nlisten; i++) {
		at = &cf->listen[i];
		if (lead != NULL && (first = listeners_find(lead, at)) != NULL)
			at = &first->bound;
		if ((x = listeners_find(old, &cf->listen[i])) == NULL &&
		    (x = listener_new(w, &cf->listen[i], at, err, errlen)) ==
		    NULL) {
			listeners_free(l, old);
			return (NULL);
		}
		l->v[l->n++] = x;
	}
	return (l);
}

void
listeners_free(struct listeners *l, const struct listeners *keep)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		if (listeners_find(keep, &l->v[i]->want) != l->v[i]) {
			if (l->v[i]->w->id == 0)
				log_info("closed listener %s",
				    l->v[i]->bound.text);
			listener_free(l->v[i]);
		}
	free(l->v);
	free(l);
}
