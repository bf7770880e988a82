/*
 * listen.c — listening sockets and accepting.
 */
#include "autoconf.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "fdlimit.h"
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

	fdlimit_ok();
	if (l->accept(l->w, fd, sa, (socklen_t)salen) == 0)
		worker_pace(l->w);
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

/*
 * After a pause: accept again, and when no error has come FDLIMIT_CALM_MS
 * later (the backlog was accepted whole), say so to fdlimit, which may end
 * the episode.
 */
static void
listen_guard_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listen_guard	*g = arg;
	struct timeval		 tv = { FDLIMIT_CALM_MS / 1000,
				    (FDLIMIT_CALM_MS % 1000) * 1000 };

	if (g->trying) {
		g->trying = false;
		fdlimit_ok();
		return;
	}
	if (g->may_resume == NULL || g->may_resume(g->arg)) {
		evconnlistener_enable(g->lev);
		g->trying = true;
		evtimer_add(g->retry, &tv);
	}
}

void
listen_guard_error(struct listen_guard *g)
{
	struct timeval	tv = { 0, LISTEN_RETRY_MS * 1000 };
	int		err = EVUTIL_SOCKET_ERROR();

	/* pause instead of spinning on accept: what waits stays in the
	 * kernel's backlog and is accepted when descriptors free up */
	evconnlistener_disable(g->lev);
	g->trying = false;
	if (fdlimit_is_error(err))
		fdlimit_fail(FDLIMIT_ACCEPT, g->what, err);
	else
		log_error("accept on %s: %s; pausing %d ms", g->what,
		    evutil_socket_error_to_string(err), LISTEN_RETRY_MS);
	evtimer_add(g->retry, &tv);
}

int
listen_guard_init(struct listen_guard *g, struct event_base *base,
    struct evconnlistener *lev, const char *what)
{
	g->lev = lev;
	g->what = what;
	g->trying = false;
	if ((g->retry = evtimer_new(base, listen_guard_retry_cb, g)) == NULL)
		return (-1);
	return (0);
}

void
listen_guard_clear(struct listen_guard *g)
{
	if (g->retry != NULL)
		event_free(g->retry);
	g->retry = NULL;
}

static void
listen_error_cb(struct evconnlistener *lev, void *arg)
{
	struct listener	*l = arg;

	listen_guard_error(&l->guard);
}

/* A worker's listener resumes unless the worker paused them all. */
static bool
listener_may_resume(void *arg)
{
	struct listener	*l = arg;

	return (l->w->listeners == NULL || !l->w->listeners->paused);
}

static void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	if (l->lev != NULL)
		evconnlistener_free(l->lev);
	listen_guard_clear(&l->guard);
	free(l);
}

/*
 * With SO_REUSEPORT, a second process of ours could bind a port already
 * in use and silently take part of its connections.  So before worker 0
 * binds a fixed port, a plain bind checks that nobody listens there:
 * 0, or an errno (EADDRINUSE).
 */
static int
listen_check_free(const struct addr *at)
{
	const struct sockaddr	*sa = (const struct sockaddr *)&at->ss;
	in_port_t		 port;
	int			 fd, one = 1, e = 0;

	port = sa->sa_family == AF_INET6 ?
	    ((const struct sockaddr_in6 *)(const void *)sa)->sin6_port :
	    ((const struct sockaddr_in *)(const void *)sa)->sin_port;
	if (port == 0)
		return (0);	/* the kernel picks a free one */
	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (errno);
	/* SO_REUSEADDR: connections in TIME_WAIT do not count */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, sa, at->len) == -1)
		e = errno;
	close(fd);
	return (e);
}

/* The port of a, in host order. */
static unsigned
listen_port(const struct addr *a)
{
	const struct sockaddr	*sa = (const struct sockaddr *)&a->ss;

	return (ntohs(sa->sa_family == AF_INET6 ?
	    ((const struct sockaddr_in6 *)(const void *)sa)->sin6_port :
	    ((const struct sockaddr_in *)(const void *)sa)->sin_port));
}

/* The first port anyone may bind (net.ipv4.ip_unprivileged_port_start). */
static unsigned
listen_unprivileged_start(void)
{
	FILE		*fp;
	unsigned	 v = 1024;

	if ((fp = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start",
	    "r")) != NULL) {
		if (fscanf(fp, "%u", &v) != 1)
			v = 1024;
		fclose(fp);
	}
	return (v);
}

/* Whether we have CAP_NET_BIND_SERVICE (bit 10 of CapEff); root has. */
static bool
listen_may_bind_low(void)
{
	FILE			*fp;
	char			 line[128];
	unsigned long long	 caps = 0;

	if (geteuid() == 0)
		return (true);
	if ((fp = fopen("/proc/self/status", "r")) == NULL)
		return (false);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	fclose(fp);
	return ((caps >> 10) & 1);
}

bool
listen_needs_privilege(const struct addr *a)
{
	unsigned	port = listen_port(a);

	return (port > 0 && port < listen_unprivileged_start() &&
	    !listen_may_bind_low());
}

int
listen_try(const struct addr *a)
{
	const struct sockaddr	*sa = (const struct sockaddr *)&a->ss;
	int			 fd, one = 1, e = 0;

	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (errno);
	/* as the listeners bind: a running cutover with several workers
	 * shares its port with us, so only what a start would meet fails */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1 ||
	    bind(fd, sa, a->len) == -1)
		e = errno;
	close(fd);
	return (e);
}

/* A listener on a as configured, bound to at (the address worker 0's
 * listener got, for the others).  It accepts once listeners_resync()
 * enables it, when the set it belongs to is committed. */
static struct listener *
listener_new(struct worker *w, const struct addr *a, const struct addr *at,
    listen_accept_fn accept, char *err, size_t errlen)
{
	struct listener		*l;
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	unsigned		 flags = LEV_OPT_CLOSE_ON_FREE |
				    LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE |
				    LEV_OPT_DISABLED;
	int			 e;

	if (workers_count(w->ws) > 1) {
		flags |= LEV_OPT_REUSEABLE_PORT;
		if (w->id == 0 && (e = listen_check_free(at)) != 0) {
			snprintf(err, errlen, "cannot listen on %s: %s",
			    at->text, strerror(e));
			return (NULL);
		}
	}
	if ((l = calloc(1, sizeof(*l))) == NULL)
		goto fail;
	l->w = w;
	l->accept = accept;
	l->want = *a;
	if ((l->lev = evconnlistener_new_bind(w->base, listen_accept_cb, l,
	    flags, LISTEN_BACKLOG, (const struct sockaddr *)&at->ss,
	    (int)at->len)) == NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", at->text,
		    strerror(errno));
		listener_free(l);
		return (NULL);
	}
	if (getsockname(evconnlistener_get_fd(l->lev), (struct sockaddr *)&ss,
	    &len) == 0)
		addr_from_sockaddr(&l->bound, (struct sockaddr *)&ss, len);
	else
		l->bound = *at;
	if (listen_guard_init(&l->guard, w->base, l->lev, l->bound.text) ==
	    -1)
		goto fail;
	l->guard.may_resume = listener_may_resume;
	l->guard.arg = l;
	evconnlistener_set_error_cb(l->lev, listen_error_cb);
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
    const struct listeners *old, const struct listeners *lead,
    listen_accept_fn accept, char *err, size_t errlen)
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
		    (x = listener_new(w, &cf->listen[i], at, accept, err,
		    errlen)) == NULL) {
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
