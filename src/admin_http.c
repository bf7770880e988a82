/*
 * admin_http.c — the read-only HTTP listener: a small server of its own
 * rather than libevent's evhttp, because evhttp (2.1) cannot bound the
 * number of connections it accepts (evhttp_set_max_connections is 2.2),
 * keeps connections alive, and times out inactivity only, so a client
 * that trickles a byte a second holds its connection for ever.  Here a
 * request head is parsed by the proxy's own strict llhttp framing
 * (http.h), each connection carries one request and has one deadline for
 * all of it, and the clients are counted.
 *
 * A client reads its head, gets its whole reply at once, and is closed
 * once the reply is written and the client has closed its side (unread
 * input would make close() send a reset that could destroy the reply) or
 * its deadline passes, whichever comes first.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "addr.h"
#include "admin_http.h"
#include "config.h"
#include "cutover.h"
#include "fdlimit.h"
#include "http.h"
#include "http_head.h"
#include "listen.h"
#include "log.h"
#include "pool.h"
#include "router.h"
#include "snapshot.h"
#include "status.h"
#include "worker.h"

/* fdlimit.h counts admin.http's descriptors */
_Static_assert(ADMIN_HTTP_CLIENTS_MAX + 1 <= FDLIMIT_ADMIN_HTTP,
    "FDLIMIT_ADMIN_HTTP is below what admin.http may hold");

struct admin_http_client {
	TAILQ_ENTRY(admin_http_client)	 entry;
	struct admin_http		*h;
	struct bufferevent		*bev;
	struct event			*deadline;
	struct addr_ip			 peer;
	struct http_msg			 msg;
	bool				 replied;
	bool				 shut;		/* write side closed */
	bool				 eof;		/* the client's too */
};

struct admin_http {
	struct cutover			*cx;
	struct evconnlistener		*lev;
	struct event			*ping;
	bool				*late;		/* by worker */
	unsigned			 nlate;		/* its length */
	struct addr			 bound;
	struct listen_guard		 guard;		/* pauses on EMFILE */
	TAILQ_HEAD(, admin_http_client)	 clients;
	time_t				 refused_logged;	/* second */
	unsigned			 nclients;
};

/* ---------------------------------------------------------------- routes */

enum admin_http_route
admin_http_route(uint8_t method, const char *target, size_t len)
{
	static const struct {
		const char		*path;
		enum admin_http_route	 route;
	} routes[] = {
		{ "/healthz", ADMIN_HTTP_HEALTHZ },
		{ "/readyz", ADMIN_HTTP_READYZ },
		{ "/status", ADMIN_HTTP_STATUS },
		{ "/metrics", ADMIN_HTTP_METRICS },
	};
	const char	*q;

	if (method != HTTP_GET && method != HTTP_HEAD)
		return (ADMIN_HTTP_BAD_METHOD);
	if ((q = memchr(target, '?', len)) != NULL)
		len = (size_t)(q - target);
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strlen(routes[i].path) == len &&
		    memcmp(routes[i].path, target, len) == 0)
			return (routes[i].route);
	return (ADMIN_HTTP_NOT_FOUND);
}

/* /healthz: 200 when no worker is late, else 503 naming the late ones. */
static int
admin_http_healthz(struct admin_http *h, struct evbuffer *body)
{
	struct workers	*ws = h->cx->workers;
	uint64_t	 age;
	int		 status = 200;

	for (unsigned i = 0; i < workers_count(ws); i++) {
		age = worker_pong_age_ms(workers_get(ws, i));
		if (age < ADMIN_HTTP_LIVE_MS)
			continue;
		evbuffer_add_printf(body, "worker %u: last answered a ping "
		    "sent %llu ms ago (bound %u ms)\n", i,
		    (unsigned long long)age, ADMIN_HTTP_LIVE_MS);
		status = 503;
	}
	if (status == 200)
		evbuffer_add_printf(body, "ok\n");
	return (status);
}

/* /readyz: 200 while cutover should be sent traffic, else 503 and why. */
static int
admin_http_readyz(struct admin_http *h, struct evbuffer *body)
{
	struct cutover		*cx = h->cx;
	const struct snapshot	*s;
	const struct pool	*p;

	if (cutover_stopping(cx)) {
		evbuffer_add_printf(body, "stopping\n");
		return (503);
	}
	/* a worker that does not answer takes its share of connections and
	 * serves none: not ready either */
	for (unsigned i = 0; i < workers_count(cx->workers); i++)
		if (worker_pong_age_ms(workers_get(cx->workers, i)) >=
		    ADMIN_HTTP_LIVE_MS) {
			evbuffer_add_printf(body, "worker %u is not answering\n",
			    i);
			return (503);
		}
	if (cutover_config(cx) == NULL || cx->router == NULL ||
	    (s = router_live(cx->router)) == NULL) {
		evbuffer_add_printf(body, "no configuration loaded\n");
		return (503);
	}
	p = s->pools[s->active];
	if (pool_usable(p) > 0) {
		evbuffer_add_printf(body, "ready\n");
		return (200);
	}
	/* every replica sees the same members: taking this one out of the
	 * Service would turn a probe that fails everywhere into an outage,
	 * while in panic it still serves */
	if (cutover_in_panic(cx, s->active)) {
		evbuffer_add_printf(body, "ready (panic: %s has no member up; "
		    "routing to %zu anyway)\n", pool_name(s->active),
		    pool_panic_members(p));
		return (200);
	}
	evbuffer_add_printf(body, "%s: no usable member\n",
	    pool_name(s->active));
	return (503);
}

/* /metrics: the Prometheus text exposition, as `metrics` on the admin
 * socket gives it. */
static int
admin_http_metrics(struct admin_http *h, struct evbuffer *body)
{
	status_metrics(h->cx, body);
	return (200);
}

/* http_reason() knows the statuses the proxy makes; these are ours. */
static const char *
admin_http_reason(int status)
{
	switch (status) {
	case 200:
		return ("OK");
	case 404:
		return ("Not Found");
	default:
		return (http_reason(status));
	}
}

/* Appends the reply to req (whose method is method) to out. */
static void
admin_http_answer(struct admin_http *h, uint8_t method, const char *target,
    size_t len, struct evbuffer *out)
{
	struct evbuffer		*body;
	const char		*type = "text/plain";
	enum admin_http_route	 r = admin_http_route(method, target, len);
	int			 status;

	if ((body = evbuffer_new()) == NULL) {
		http_error(out, 503, "out of memory", 0);
		return;
	}
	switch (r) {
	case ADMIN_HTTP_HEALTHZ:
		status = admin_http_healthz(h, body);
		break;
	case ADMIN_HTTP_READYZ:
		status = admin_http_readyz(h, body);
		break;
	case ADMIN_HTTP_STATUS:
		status_report(h->cx, body, true);
		type = "application/json";
		status = 200;
		break;
	case ADMIN_HTTP_METRICS:
		status = admin_http_metrics(h, body);
		type = "text/plain; version=0.0.4";
		break;
	case ADMIN_HTTP_BAD_METHOD:
		evbuffer_add_printf(body, "405 %s: this listener serves GET "
		    "and HEAD only\n", http_reason(405));
		status = 405;
		break;
	default:
		evbuffer_add_printf(body, "404 %s: try /healthz, /readyz, "
		    "/status or /metrics\n", admin_http_reason(404));
		status = 404;
		break;
	}
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n%s"
	    "Connection: close\r\n\r\n", status, admin_http_reason(status),
	    type, evbuffer_get_length(body),
	    status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (method != HTTP_HEAD)
		evbuffer_add_buffer(out, body);
	evbuffer_free(body);
}

/* ---------------------------------------------------------------- clients */

static void
admin_http_client_free(struct admin_http_client *c)
{
	TAILQ_REMOVE(&c->h->clients, c, entry);
	c->h->nclients--;
	if (c->deadline != NULL)
		event_free(c->deadline);
	bufferevent_free(c->bev);
	http_msg_free(&c->msg);
	free(c);
}

/* The reply is in the output: no more parsing, only draining. */
static void
admin_http_client_reply(struct admin_http_client *c)
{
	c->replied = true;
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
}

static void
admin_http_client_read_cb(struct bufferevent *bev, void *arg)
{
	struct admin_http_client *c = arg;
	struct evbuffer		 *in = bufferevent_get_input(bev);
	struct evbuffer		 *out = bufferevent_get_output(bev);
	const char		 *base;

	if (c->replied) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	switch (http_msg_head(&c->msg, in)) {
	case HTTP_MORE:
		if (evbuffer_get_length(in) < ADMIN_HTTP_HEAD_MAX)
			return;
		http_error(out, 431, "head too large", 0);
		break;
	case HTTP_ERROR:
		http_error(out, c->msg.status, c->msg.error, 0);
		break;
	case HTTP_DONE:
		base = http_msg_head_base(&c->msg, in);
		admin_http_answer(c->h, c->msg.parser.method, base + c->msg.url.off,
		    c->msg.url.len, out);
		break;
	}
	evbuffer_drain(in, evbuffer_get_length(in));
	admin_http_client_reply(c);
}

static void
admin_http_client_write_cb(struct bufferevent *bev, void *arg)
{
	struct admin_http_client *c = arg;

	if (c->replied && c->eof) {
		admin_http_client_free(c);
		return;
	}
	/* written: say so, then wait for the client's close */
	if (c->replied && !c->shut) {
		c->shut = true;
		shutdown(bufferevent_getfd(bev), SHUT_WR);
	}
}

static void
admin_http_client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct admin_http_client *c = arg;

	/* a client that half-closed after its request still gets the reply */
	if ((what & BEV_EVENT_EOF) && c->replied &&
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
		c->eof = true;
		bufferevent_disable(bev, EV_READ);
		return;
	}
	admin_http_client_free(c);
}

static void
admin_http_client_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	log_debug("admin http: a client reached its deadline: closed");
	admin_http_client_free(arg);
}

static bool
admin_http_same_ip(const struct addr_ip *a, const struct addr_ip *b)
{
	return (a->v4 == b->v4 && a->w[0] == b->w[0] && a->w[1] == b->w[1]);
}

/* How many clients come from ip. */
static unsigned
admin_http_peer_count(const struct admin_http *h, const struct addr_ip *ip)
{
	const struct admin_http_client	*c;
	unsigned			 n = 0;

	TAILQ_FOREACH(c, &h->clients, entry)
		if (admin_http_same_ip(&c->peer, ip))
			n++;
	return (n);
}

/* The client accepted first (from ip, unless NULL) that has not sent a
 * whole head, or NULL. */
static struct admin_http_client *
admin_http_oldest_pending(struct admin_http *h, const struct addr_ip *ip)
{
	struct admin_http_client	*c;

	TAILQ_FOREACH(c, &h->clients, entry)
		if (!c->replied && (ip == NULL ||
		    admin_http_same_ip(&c->peer, ip))) {
			log_debug("admin http: full: the oldest unfinished "
			    "client closed for a new one");
			return (c);
		}
	return (NULL);
}

static void
admin_http_refuse(struct admin_http *h, evutil_socket_t fd)
{
	static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 23\r\n"
	    "Connection: close\r\n\r\ntoo many admin clients\n";
	struct timespec		now;

	/* at most a line a second: a flood must not fill the log */
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec != h->refused_logged) {
		h->refused_logged = now.tv_sec;
		log_warn("admin http: too many clients (%u connected, at most "
		    "%u from one address), refusing", h->nclients,
		    ADMIN_HTTP_PEER_MAX);
	}
	/* a fresh socket's buffer takes this short reply at once */
	if (send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) ==
	    -1)
		log_debug("admin http: refusal not sent: %s", strerror(errno));
	evutil_closesocket(fd);
}

/* Out of descriptors, say: pause rather than spin on the backlog. */
static void
admin_http_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct admin_http	*h = arg;

	listen_guard_error(&h->guard);
}

static void
admin_http_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct admin_http		*h = arg;
	struct admin_http_client	*c, *old;
	struct event_base		*base = evconnlistener_get_base(lev);
	struct addr_ip			 ip;
	struct timeval			 tv = { ADMIN_HTTP_DEADLINE_MS / 1000,
	    (ADMIN_HTTP_DEADLINE_MS % 1000) * 1000 };

	fdlimit_ok();

	/*
	 * Full (for this address, or in all): the oldest client still sending
	 * its head makes room, one of this address's own first.  A probe,
	 * whose head comes with its connection, is then never starved by
	 * clients that trickle theirs, and one address cannot push out
	 * another's.
	 */
	addr_ip_from_sockaddr(&ip, sa);
	if (admin_http_peer_count(h, &ip) >= ADMIN_HTTP_PEER_MAX &&
	    (old = admin_http_oldest_pending(h, &ip)) != NULL)
		admin_http_client_free(old);
	if (h->nclients >= ADMIN_HTTP_CLIENTS_MAX &&
	    (old = admin_http_oldest_pending(h, NULL)) != NULL)
		admin_http_client_free(old);
	if (admin_http_peer_count(h, &ip) >= ADMIN_HTTP_PEER_MAX ||
	    h->nclients >= ADMIN_HTTP_CLIENTS_MAX) {
		admin_http_refuse(h, fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->bev = bufferevent_socket_new(base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_warn("admin http: a client refused: out of memory");
		free(c);
		evutil_closesocket(fd);
		return;
	}
	c->h = h;
	c->peer = ip;
	http_msg_init(&c->msg, HTTP_REQUEST);
	TAILQ_INSERT_TAIL(&h->clients, c, entry);
	h->nclients++;
	if ((c->deadline = evtimer_new(base, admin_http_client_deadline_cb,
	    c)) == NULL || evtimer_add(c->deadline, &tv) == -1) {
		log_warn("admin http: a client refused: out of memory");
		admin_http_client_free(c);
		return;
	}
	/* never hold more than a head (and what a read brings with it) */
	bufferevent_setwatermark(c->bev, EV_READ, 0, ADMIN_HTTP_HEAD_MAX);
	bufferevent_setcb(c->bev, admin_http_client_read_cb,
	    admin_http_client_write_cb, admin_http_client_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* ----------------------------------------------------------------- pings */

/* Every ADMIN_HTTP_PING_MS: pings the workers, logs who fell behind. */
static void
admin_http_ping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct admin_http	*h = arg;
	struct workers		*ws = h->cx->workers;
	uint64_t		 age;
	bool			 late;

	for (unsigned i = 0; i < workers_count(ws) && i < h->nlate; i++) {
		age = worker_pong_age_ms(workers_get(ws, i));
		late = age >= ADMIN_HTTP_LIVE_MS;
		if (late == h->late[i])
			continue;
		h->late[i] = late;
		if (late)
			log_warn("worker %u: no answer to a ping for %llu ms: "
			    "not live", i, (unsigned long long)age);
		else
			log_info("worker %u: answers pings again: live", i);
	}
	workers_ping(ws);
}

/* ----------------------------------------------------------------- setup */

struct admin_http *
admin_http_new(struct cutover *cx, const struct addr *a, char *err,
    size_t errlen)
{
	struct admin_http	*h;
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	struct timeval		 tv = { ADMIN_HTTP_PING_MS / 1000,
	    (ADMIN_HTTP_PING_MS % 1000) * 1000 };

	if ((h = calloc(1, sizeof(*h))) == NULL)
		goto nomem;
	h->cx = cx;
	TAILQ_INIT(&h->clients);
	h->nlate = workers_count(cx->workers);
	if ((h->late = calloc(h->nlate + 1, sizeof(*h->late))) == NULL)
		goto nomem;
	h->lev = evconnlistener_new_bind(cx->base, admin_http_accept_cb, h,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    16, (const struct sockaddr *)&a->ss, (int)a->len);
	if (h->lev == NULL) {
		snprintf(err, errlen, "admin.http %s: %s", a->text,
		    strerror(errno));
		goto fail;
	}
	if (getsockname(evconnlistener_get_fd(h->lev), (struct sockaddr *)&ss,
	    &len) == 0)
		addr_from_sockaddr(&h->bound, (struct sockaddr *)&ss, len);
	else
		h->bound = *a;
	if (listen_guard_init(&h->guard, cx->base, h->lev, h->bound.text) ==
	    -1)
		goto nomem;
	evconnlistener_set_error_cb(h->lev, admin_http_accept_error_cb);
	if ((h->ping = event_new(cx->base, -1, EV_PERSIST, admin_http_ping_cb,
	    h)) == NULL || event_add(h->ping, &tv) == -1)
		goto nomem;
	workers_ping(cx->workers);
	log_info("admin http: serving %s (read-only)", h->bound.text);
	return (h);
nomem:
	snprintf(err, errlen, "admin.http: out of memory");
fail:
	admin_http_free(h);
	return (NULL);
}

void
admin_http_free(struct admin_http *h)
{
	struct admin_http_client	*c;

	if (h == NULL)
		return;
	while ((c = TAILQ_FIRST(&h->clients)) != NULL)
		admin_http_client_free(c);
	if (h->ping != NULL)
		event_free(h->ping);
	if (h->lev != NULL)
		evconnlistener_free(h->lev);
	listen_guard_clear(&h->guard);
	free(h->late);
	free(h);
}
