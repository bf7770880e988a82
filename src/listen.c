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

#define LISTEN_BACKLOG		511
#define LISTEN_RETRY_MS		100

static void
listen_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener	*l = arg;

	conn_new(l->cx, fd, sa, (socklen_t)salen);
	listeners_pace(l->cx);
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

void
listeners_pace(struct cutover *cx)
{
	struct listeners	*l = cx->listeners;
	unsigned		 max = cx->config->max_connections;
	bool			 full = max > 0 && cx->nconns >= max;

	if (l == NULL || full == l->paused)
		return;
	l->paused = full;
	listeners_resync(l);
	if (full)
		log_warn("limits.max_connections (%u) reached: not accepting",
		    max);
	else
		log_info("accepting again (%u connections)", cx->nconns);
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

static struct listener *
listener_new(struct cutover *cx, const struct addr *a, char *err,
    size_t errlen)
{
	struct listener		*l;
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);

	if ((l = calloc(1, sizeof(*l))) == NULL)
		goto fail;
	l->cx = cx;
	l->want = *a;
	if ((l->retry = evtimer_new(cx->base, listen_retry_cb, l)) == NULL)
		goto fail;
	if ((l->lev = evconnlistener_new_bind(cx->base, listen_accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    LISTEN_BACKLOG, (const struct sockaddr *)&a->ss,
	    (int)a->len)) == NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", a->text,
		    strerror(errno));
		listener_free(l);
		return (NULL);
	}
	evconnlistener_set_error_cb(l->lev, listen_error_cb);
	if (getsockname(evconnlistener_get_fd(l->lev), (struct sockaddr *)&ss,
	    &len) == 0)
		addr_from_sockaddr(&l->bound, (struct sockaddr *)&ss, len);
	else
		l->bound = *a;
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
listeners_open(struct cutover *cx, const struct config *cf,
    const struct listeners *old, char *err, size_t errlen)
{
	struct listeners	*l;
	struct listener		*x;

	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->v = calloc(cf->nlisten, sizeof(*l->v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(l);
		return (NULL);
	}
	for (size_t i = 0; i < cf->nlisten; i++) {
		if ((x = listeners_find(old, &cf->listen[i])) == NULL &&
		    (x = listener_new(cx, &cf->listen[i], err, errlen)) ==
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
			log_info("closed listener %s", l->v[i]->bound.text);
			listener_free(l->v[i]);
		}
	free(l->v);
	free(l);
}
