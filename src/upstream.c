/*
 * upstream.c — connections to members and the idle keep-alive lists.
 */
#include "autoconf.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "pool.h"
#include "upstream.h"

static void
upstream_idle_read_cb(struct bufferevent *bev, void *arg)
{
	struct upstream	*u = arg;

	/* an idle connection that talks has broken framing: drop it */
	log_debug("%s %s: %zu unexpected bytes on an idle connection",
	    pool_name(u->member->pool), u->member->addr.text,
	    evbuffer_get_length(bufferevent_get_input(bev)));
	TAILQ_REMOVE(&u->member->idle, u, entry);
	u->member->nidle--;
	upstream_free(u);
}

static void
upstream_idle_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct upstream	*u = arg;

	TAILQ_REMOVE(&u->member->idle, u, entry);
	u->member->nidle--;
	upstream_free(u);
}

struct upstream *
upstream_take(struct member *m)
{
	struct upstream	*u;

	if ((u = TAILQ_FIRST(&m->idle)) == NULL)
		return (NULL);
	TAILQ_REMOVE(&m->idle, u, entry);
	m->nidle--;
	bufferevent_set_timeouts(u->bev, NULL, NULL);
	return (u);
}

struct upstream *
upstream_connect(struct event_base *base, struct member *m,
    unsigned connect_ms)
{
	struct upstream	*u;
	struct timeval	 tv = { connect_ms / 1000, (connect_ms % 1000) * 1000 };
	int		 fd, one = 1, saved;

	if ((u = calloc(1, sizeof(*u))) == NULL)
		return (NULL);
	if ((fd = socket(m->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((u->bev = bufferevent_socket_new(base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		goto fail;
	}
	http_msg_init(&u->resp, HTTP_RESPONSE);
	/* libevent applies the write timeout to the connect */
	bufferevent_set_timeouts(u->bev, NULL, &tv);
	if (bufferevent_socket_connect(u->bev, (struct sockaddr *)&m->addr.ss,
	    (int)m->addr.len) == -1)
		goto fail;
	u->member = member_ref(m);
	return (u);
fail:
	saved = errno;
	if (u->bev != NULL)
		bufferevent_free(u->bev);
	free(u);
	errno = saved;
	return (NULL);
}

void
upstream_park(struct upstream *u)
{
	struct member	*m = u->member;
	struct timeval	 tv = { UPSTREAM_IDLE_MS / 1000, 0 };

	if (m->nidle >= UPSTREAM_IDLE_MAX) {
		upstream_free(u);
		return;
	}
	u->conn = NULL;
	http_msg_next(&u->resp);
	bufferevent_setcb(u->bev, upstream_idle_read_cb, NULL,
	    upstream_idle_event_cb, u);
	bufferevent_set_timeouts(u->bev, &tv, NULL);
	bufferevent_enable(u->bev, EV_READ);
	TAILQ_INSERT_HEAD(&m->idle, u, entry);
	m->nidle++;
}

void
upstream_free(struct upstream *u)
{
	if (u == NULL)
		return;
	bufferevent_free(u->bev);
	http_msg_free(&u->resp);
	member_unref(u->member);
	free(u);
}

void
upstream_close_idle(struct member *m)
{
	struct upstream	*u;

	while ((u = TAILQ_FIRST(&m->idle)) != NULL) {
		TAILQ_REMOVE(&m->idle, u, entry);
		m->nidle--;
		upstream_free(u);
	}
}
