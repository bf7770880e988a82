/*
 * upstream.c — connections to members and the idle keep-alive lists.
 */
#include "autoconf.h"

#include <errno.h>
#include <event2/buffer.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fdlimit.h"
#include "log.h"
#include "pool.h"
#include "upstream.h"
#include "worker.h"

/* An idle connection that talks has broken framing, and one that closes
 * or times out is done: either way it leaves the list. */
static void
upstream_idle_cb(struct io *io, int what, void *arg)
{
	struct upstream	*u = arg;

	if (what & IO_READ)
		log_debug("%s %s: %zu unexpected bytes on an idle connection",
		    pool_name(u->member->pool), u->member->addr.text,
		    evbuffer_get_length(io->in));
	struct member_local	*l = &u->member->local[u->worker];

	TAILQ_REMOVE(&l->idle, u, entry);
	COUNT_SUB(&l->nidle, 1);
	upstream_free(u);
}

/*
 * Whether idle u's member has not closed it (or talked on it) an instant
 * ago, before the loop ran the event that would have dropped it: a member
 * that dies (the kernel closes a killed process's sockets) or times the
 * connection out.  One recv(MSG_PEEK): nothing to read is what a live
 * idle connection has.
 */
static bool
upstream_alive(const struct upstream *u)
{
	char	b;

	return (evbuffer_get_length(u->io.in) == 0 && !u->io.eof &&
	    recv(u->io.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == -1 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK));
}

struct upstream *
upstream_take(struct member *m, unsigned worker, bool check)
{
	struct member_local	*l = &m->local[worker];
	struct upstream		*u;

	while ((u = TAILQ_FIRST(&l->idle)) != NULL) {
		TAILQ_REMOVE(&l->idle, u, entry);
		COUNT_SUB(&l->nidle, 1);
		if (!check || upstream_alive(u))
			return (u);
		log_debug("%s %s: idle connection closed by the member",
		    pool_name(m->pool), m->addr.text);
		upstream_free(u);
	}
	return (NULL);
}

struct upstream *
upstream_connect(struct event_base *base, unsigned worker, struct member *m,
    unsigned connect_ms)
{
	struct upstream	*u;
	int		 saved;

	if ((u = calloc(1, sizeof(*u))) == NULL)
		return (NULL);
	if (io_connect(&u->io, base, (struct sockaddr *)&m->addr.ss,
	    m->addr.len, connect_ms, NULL, NULL) == -1) {
		saved = errno;
		free(u);
		errno = saved;
		return (NULL);
	}
	fdlimit_ok();
	http_msg_init(&u->resp, HTTP_RESPONSE);
	u->member = member_ref(m);
	u->worker = worker;
	return (u);
}

void
upstream_park(struct upstream *u, unsigned max)
{
	struct member_local	*l = &u->member->local[u->worker];

	if (COUNT_GET(&l->nidle) >= max) {
		upstream_free(u);
		return;
	}
	u->conn = NULL;
	http_msg_next(&u->resp);
	io_setcb(&u->io, upstream_idle_cb, u);
	io_timeouts(&u->io, UPSTREAM_IDLE_MS, 0);
	io_read(&u->io, true);
	TAILQ_INSERT_HEAD(&l->idle, u, entry);
	COUNT_ADD(&l->nidle, 1);
}

void
upstream_free(struct upstream *u)
{
	if (u == NULL)
		return;
	io_close(&u->io);
	http_msg_free(&u->resp);
	member_unref(u->member);
	free(u);
}

void
upstream_close_idle(struct member *m, unsigned worker)
{
	struct member_local	*l = &m->local[worker];
	struct upstream		*u;

	while ((u = TAILQ_FIRST(&l->idle)) != NULL) {
		TAILQ_REMOVE(&l->idle, u, entry);
		COUNT_SUB(&l->nidle, 1);
		upstream_free(u);
	}
	while ((u = TAILQ_FIRST(&l->warming)) != NULL) {
		TAILQ_REMOVE(&l->warming, u, entry);
		l->nwarming--;
		upstream_free(u);
	}
}

void
upstream_trim_idle(struct member *m, unsigned worker, unsigned keep)
{
	struct member_local	*l = &m->local[worker];
	struct upstream		*u;

	/* parked at the head: the oldest are last */
	while (COUNT_GET(&l->nidle) > keep &&
	    (u = TAILQ_LAST(&l->idle, upstream_list)) != NULL) {
		TAILQ_REMOVE(&l->idle, u, entry);
		COUNT_SUB(&l->nidle, 1);
		upstream_free(u);
	}
}

/* A warm connection's connect ended: it joins the idle list, or goes. */
static void
upstream_warm_cb(struct io *io, int what, void *arg)
{
	struct upstream		*u = arg;
	struct member_local	*l = &u->member->local[u->worker];

	TAILQ_REMOVE(&l->warming, u, entry);
	l->nwarming--;
	if (what & IO_CONNECTED) {
		u->connected = true;
		/* upstream_warm opens no more than warm_idle */
		upstream_park(u, UINT_MAX);
		return;
	}
	log_debug("%s %s: warm connection: %s", pool_name(u->member->pool),
	    u->member->addr.text, what & IO_TIMEOUT ? "connect timed out" :
	    strerror(io->error));
	upstream_free(u);
}

void
upstream_warm(struct event_base *base, unsigned worker, struct member *m,
    unsigned want, unsigned connect_ms)
{
	struct member_local	*l = &m->local[worker];
	struct upstream		*u;

	while (COUNT_GET(&l->nidle) + l->nwarming < want) {
		if ((u = upstream_connect(base, worker, m, connect_ms)) ==
		    NULL) {
			log_debug("%s %s: warm connection: %s",
			    pool_name(m->pool), m->addr.text, strerror(errno));
			return;
		}
		io_setcb(&u->io, upstream_warm_cb, u);
		TAILQ_INSERT_TAIL(&l->warming, u, entry);
		l->nwarming++;
	}
}

void
upstream_close_pool_idle(struct pool *p, unsigned worker)
{
	for (size_t i = 0; i < p->nmembers; i++)
		upstream_close_idle(p->members[i], worker);
}
