/*
 * conn_relay.c — the upstream half of a client connection: choosing a member
 * and connecting (or reusing an idle connection), sending the request,
 * relaying the response, retrying a stale keep-alive connection, and
 * every way a member can fail.  conn.c owns the client half.
 *
 * Functions that may free the connection say so and return -1 when they
 * did; callers then return at once without touching it.
 */
#include "autoconf.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conn_int.h"
#include "fdlimit.h"
#include "http_head.h"
#include "log.h"
#include "mirror.h"
#include "pool.h"
#include "snapshot.h"
#include "upstream.h"
#include "worker.h"

static void	conn_relay_io_cb(struct io *, int, void *);

static void
conn_relay_attach(struct conn *c, struct upstream *u)
{
	c->up = u;
	u->conn = c;
	u->resp.out = c->io.out;
	u->resp.skip_body = c->x->req.method == HTTP_HEAD;
	io_setcb(&u->io, conn_relay_io_cb, c);
	u->io.in_max = CONN_HIGH_WATER / 4;
	u->io.low_water = CONN_HIGH_WATER / 2;
	io_read(&u->io, true);
}

/* Connected (or reused): send the head, then the body.  May free c. */
static int
conn_relay_ready(struct conn *c)
{
	struct upstream	*u = c->up;

	u->connected = true;
	u->uses++;
	/* the write timeout now; the read timeout once the request is sent,
	 * where conn_relay_request_body sets it: a request sent whole at
	 * once (most) re-arms the read event once, not twice */
	io_timeouts(&u->io, u->io.read_ms, c->snap->config->upstream_ms);
	evbuffer_add(u->io.out, c->x->head.p, c->x->head.len);
	c->x->req.out = u->io.out;
	c->x->req.chunked_out = (c->x->req.parser.flags & F_CHUNKED) != 0;
	conn_set_state(c, CONN_STREAM);
	if (conn_relay_request_body(c) == -1)
		return (-1);
	if (c->req_done)
		return (0);
	/* no read timeout while the request is still being sent */
	io_timeouts(&u->io, 0, c->snap->config->upstream_ms);
	/* a client that stalls mid-body gets timeouts.client_body_ms (unless
	 * the body already failed and the connection is closing) */
	if (c->state == CONN_STREAM)
		conn_client_timeouts(c, c->snap->config->client_body_ms);
	return (0);
}

static void
conn_relay_member_failed(struct conn *c, struct member *m, const char *why,
    bool timeout)
{
	if (timeout)
		COUNT_ADD(&m->local[c->w->id].connect_timeouts, 1);
	else
		COUNT_ADD(&m->local[c->w->id].connect_errors, 1);
	COUNT_ADD(&c->w->stats.upstream_failures, 1);
	log_warn("%s %s: connect failed: %s", pool_name(m->pool), m->addr.text,
	    why);
	conn_passive(c, m, why);
}

/*
 * Whether an error opening a connection is cutover's own shortage (file
 * descriptors, memory, local ports) rather than the member's doing: it
 * must not count against the member's health, or a client that exhausts
 * descriptors would take every member down.
 */
static bool
conn_relay_is_local_error(int e)
{
	return (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM ||
	    e == EADDRNOTAVAIL || e == EAGAIN);
}

/* cutover could not open a connection for c's request: 503, the member
 * untouched.  Returns -1 (conn_error). */
static int
conn_relay_local_failure(struct conn *c, struct member *m, int e)
{
	char	what[128];

	COUNT_ADD(&c->w->stats.upstream_failures, 1);
	if (fdlimit_is_error(e)) {
		/* logged once per episode, not per request */
		snprintf(what, sizeof(what), "%s %s", pool_name(m->pool),
		    m->addr.text);
		fdlimit_fail(FDLIMIT_UPSTREAM, what, e);
	} else
		log_warn("%s %s: cannot open a connection: %s (cutover's own "
		    "limit, not the member's)", pool_name(m->pool),
		    m->addr.text, strerror(e));
	return (conn_error(c, 503, "cannot open an upstream connection"));
}

/*
 * The next member for c's request from p: a usable one; or, when p has
 * none usable at all, a new one (pool_select_new); or, when it has none
 * of those either and health.panic is on, one that is ready but down
 * (a probe that fails everywhere must not become an outage), the request
 * counted once as routed in panic.  NULL when none is left to try.
 */
static struct member *
conn_relay_select(struct conn *c, struct pool *p)
{
	struct exchange	*x = c->x;
	struct member	*m;
	bool		 panic;

	if (x->ntried == CONN_TRIES_MAX)
		return (NULL);
	if ((m = pool_select(p, c->w->id, x->tried, x->ntried)) != NULL ||
	    pool_usable(p) > 0)
		return (m);
	panic = c->snap->config->pools[p->id].health.panic;
	/* new members stand in for replaced ones; for members that fail
	 * their probes only health.panic may (an address that left DNS and
	 * came back is new again, its failures forgotten) */
	if (!panic && pool_panic_members(p) > 0)
		return (NULL);
	if ((m = pool_select_new(p, c->w->id, x->tried, x->ntried)) != NULL ||
	    !panic)
		return (m);
	if ((m = pool_select_panic(p, c->w->id, x->tried, x->ntried)) !=
	    NULL && !x->panic) {
		x->panic = true;
		metrics_panic(&c->w->metrics, p->id);
	}
	return (m);
}

static bool	conn_relay_idempotent(const struct conn *);

/*
 * Whether c's request could go again on a fresh connection if a reused
 * one were found closed under it (conn_relay_may_send_again): idempotent,
 * without a body.  Others take a reused connection only once it is seen
 * alive, or a POST is lost to a member that died a moment ago.
 */
static bool
conn_relay_retryable(const struct conn *c)
{
	return (conn_relay_idempotent(c) && !c->x->req.chunked_in &&
	    c->x->req.remaining == 0);
}

/* Picks a member and connects (or reuses a connection).  May free c. */
int
conn_relay_connect(struct conn *c)
{
	/* the pool chosen with the head (conn.c, pick.h): a preview
	 * never falls back to another, so a tester sees it down */
	struct pool	*p = c->x->picked ? c->snap->pools[c->x->pool] :
			    snapshot_active(c->snap);
	struct member	*m;
	struct upstream	*u;
	char		 why[64];

	for (;;) {
		/* one look at the members' state, which the control thread
		 * may change meanwhile: none usable at first is a 503 */
		m = conn_relay_select(c, p);
		if (m == NULL && c->x->ntried == 0 && p->id ==
		    c->snap->active)
			return (conn_error(c, 503, "no healthy member in the "
			    "active pool"));
		if (m == NULL && c->x->ntried == 0) {
			snprintf(why, sizeof(why), "no healthy member in pool "
			    "%s", pool_name(p->id));
			return (conn_error(c, 503, why));
		}
		if (m == NULL)
			return (conn_error(c, 502, "no member could be reached"));
		c->x->tried[c->x->ntried++] = m;
		/* a retry goes only to a member that is still one: an
		 * address that left DNS may be another Pod's by now */
		if (c->x->ntried > 1 && c->w->snap != NULL &&
		    c->w->snap != c->snap &&
		    !snapshot_has_member(c->w->snap, m))
			continue;
		conn_set_member(c, m);
		if ((u = upstream_take(m, c->w->id,
		    !conn_relay_retryable(c))) != NULL) {
			conn_relay_attach(c, u);
			return (conn_relay_ready(c));
		}
		if ((u = upstream_connect(c->w->base, c->w->id, m,
		    c->snap->config->connect_ms)) != NULL) {
			conn_relay_attach(c, u);
			conn_set_state(c, CONN_CONNECT);
			return (0);
		}
		if (conn_relay_is_local_error(errno))
			return (conn_relay_local_failure(c, m, errno));
		conn_relay_member_failed(c, m, strerror(errno), false);
	}
}

/* A reused keep-alive connection was closed by the member before it
 * answered: the race every proxy has.  Nothing of the request is lost
 * yet, so it goes again on a fresh connection.  May free c. */
static int
conn_relay_retry_fresh(struct conn *c)
{
	struct member	*m = c->up->member;
	struct upstream	*u;

	log_debug("%s %s: reused connection closed, retrying",
	    pool_name(m->pool), m->addr.text);
	upstream_free(c->up);
	c->up = NULL;
	c->retried = true;
	if ((u = upstream_connect(c->w->base, c->w->id, m,
	    c->snap->config->connect_ms)) == NULL) {
		if (conn_relay_is_local_error(errno))
			return (conn_relay_local_failure(c, m, errno));
		conn_relay_member_failed(c, m, strerror(errno), false);
		return (conn_relay_connect(c));
	}
	conn_relay_attach(c, u);
	conn_set_state(c, CONN_CONNECT);
	return (0);
}

/*
 * Sends the rest of msg's body, arriving on src, to dst through a pipe in
 * the kernel (io_splice) rather than through user space: a Content-Length
 * body forwarded as received (a chunked one is decoded and re-framed), with
 * at least upstream.splice_min_bytes of it still to come and none of it
 * buffered.  Without a pipe to be had it is copied as before.
 *
 * A request body only with upstream.splice_requests as well (the
 * default): bench/run measured a 1 MiB upload spliced at a quarter of
 * the CPU it costs copied, at the same rate or higher, with a higher p99
 * (cutover.conf(5)).  A member on the same host then spends 1.2 to 2.1
 * times as much reading it: on loopback, the side that keeps up least
 * runs its peer's sending in its own time.  Both CPUs together spent
 * about 0.8 times as much per upload.
 */
static void
conn_relay_splice(struct conn *c, struct http_msg *msg, struct io *src,
    struct io *dst)
{
	const struct config	*cf = c->snap->config;

	if (cf->splice && (msg != &c->x->req || cf->splice_requests) &&
	    msg->fast && !msg->chunked_out && !msg->complete &&
	    msg->remaining >= cf->splice_min_bytes)
		(void)io_splice(src, dst, msg->remaining);
}

/*
 * Whether the rest of a request body whose response is complete may still
 * be relayed to the member, so that neither connection is lost: a body
 * whose length is known (Content-Length or chunked) and at most
 * CONN_ANSWERED_MAX in all.  A chunked body is held to it as it arrives.
 */
static bool
conn_relay_may_finish_body(const struct conn *c)
{
	const struct http_msg	*req = &c->x->req;

	return (req->chunked_in ? req->body_bytes <= CONN_ANSWERED_MAX :
	    req->body_bytes + req->remaining <= CONN_ANSWERED_MAX);
}

/*
 * The last byte of an answered request's body is parsed: once the member
 * has it all, the request ends (logged now, its bytes all counted) and
 * both connections go on, the client's to its next request, the member's
 * to the idle pool.  Returns -1: c may have been freed or may be serving
 * its next request.  0 while the member still has bytes to read.
 */
static int
conn_relay_answered_sent(struct conn *c)
{
	struct upstream	*u = c->up;

	if (io_pending(&u->io) > 0) {
		u->io.low_water = 0;	/* IO_DRAINED: all is out */
		return (0);
	}
	conn_log_access(c, NULL);
	conn_end_request(c, true);
	return (conn_next(c));
}

/* Whether the member sent bytes after its complete response: framing we
 * cannot trust, said and counted against it. */
static bool
conn_relay_stray(struct conn *c)
{
	size_t	n = evbuffer_get_length(c->up->io.in);

	if (n == 0)
		return (false);
	log_warn("%s %s: %zu unexpected bytes after the response",
	    pool_name(c->member->pool), conn_member_text(c), n);
	conn_observe(c, "bytes after the response");
	return (true);
}

/*
 * The member sent something after a response that ended before the
 * request body (or closed): it cannot be framed, so both connections
 * close once the response is out.  May free c.
 */
static int
conn_relay_answered_member(struct conn *c, int what)
{
	struct upstream	*u = c->up;

	if (what & IO_EOF)
		return (conn_answered_fail(c, "member closed before the "
		    "request body ended"));
	if (what & IO_TIMEOUT)
		return (conn_answered_fail(c, "member stopped reading the "
		    "request body"));
	if (what & IO_ERROR)
		return (conn_answered_fail(c, strerror(u->io.error)));
	if (!conn_relay_stray(c))
		return (0);
	return (conn_answered_fail(c, "member sent bytes after the "
	    "response"));
}

/* The bytes of a Content-Length body at the front of the client's input:
 * what http_msg_body moves next. */
static size_t
conn_relay_body_ahead(const struct conn *c)
{
	size_t	n = evbuffer_get_length(c->io.in);

	return (n < c->x->req.remaining ? n : (size_t)c->x->req.remaining);
}

/*
 * Forwards what the client has of the request body, and writes what is
 * queued for the member.  A request sent again on a fresh connection (the
 * stale keep-alive retry) was already read whole: only its head goes, and
 * the member owes an answer from now.  May free c.
 */
int
conn_relay_request_body(struct conn *c)
{
	struct io		*uio = &c->up->io;
	enum http_result	 r = HTTP_DONE;

	if (!c->req_done) {
		/* what went through a pipe first: it came before c->io.in */
		http_msg_moved(&c->x->req, io_spliced(&c->io));
		if (c->x->mirror != NULL)	/* its copy has what goes on */
			c->x->mirror = mirror_feed(c->x->mirror, c->io.in,
			    conn_relay_body_ahead(c));
		r = http_msg_body(&c->x->req, c->io.in);
		/* a chunked body's framing goes out even when it is empty:
		 * the head kept for retries is not all of the request */
		if (c->x->req.body_bytes > 0 || c->x->req.chunked_out)
			c->body_sent = true;
		if (r == HTTP_ERROR && c->answered)
			return (conn_answered_fail(c, c->x->req.error));
		if (r == HTTP_ERROR)
			return (conn_error(c, c->x->req.status,
			    c->x->req.error));
		if (c->snap->config->max_body_bytes > 0 &&
		    c->x->req.body_bytes >
		    (uint64_t)c->snap->config->max_body_bytes)
			return (c->answered ? conn_answered_fail(c, "request "
			    "body larger than limits.max_body_bytes") :
			    conn_error(c, 413, "request body larger than "
			    "limits.max_body_bytes"));
		if (c->answered && c->x->req.body_bytes > CONN_ANSWERED_MAX)
			return (conn_answered_fail(c, "request body too long "
			    "to relay after the response"));
		if (r == HTTP_MORE && c->client_eof) {
			/* all it sent is parsed, and no more is coming */
			conn_abandoned(c);
			if (c->answered)	/* the response may be unsent */
				return (conn_finish(c));
			conn_close(c, "client closed mid-request");
			return (-1);
		}
		/* a body over max_body_bytes is refused as it arrives */
		if (r == HTTP_MORE && c->x->mirror == NULL &&
		    (c->snap->config->max_body_bytes == 0 ||
		    c->x->req.body_bytes + c->x->req.remaining <=
		    (uint64_t)c->snap->config->max_body_bytes))
			conn_relay_splice(c, &c->x->req, &c->io, uio);
	}
	io_flush(uio);
	if (r == HTTP_DONE) {
		c->req_done = true;
		conn_client_timeouts(c, 0);
		if (c->answered)
			return (conn_relay_answered_sent(c));
		/* now the member owes us an answer within upstream_ms */
		io_timeouts(uio, c->snap->config->upstream_ms,
		    c->snap->config->upstream_ms);
	} else if (io_pending(uio) >= CONN_HIGH_WATER) {
		/* the member reads slower than the client sends */
		io_read(&c->io, false);
		c->client_paused = true;
	}
	return (0);
}

/* The response is complete.  Returns -1: c may have been freed, or may
 * be serving its next request (conn_next). */
static int
conn_relay_response_done(struct conn *c)
{
	struct upstream	*u = c->up;
	bool		 reusable;

	io_flush(&c->io);
	reusable = !conn_relay_stray(c) && u->resp.keep_alive;
	COUNT_ADD(&c->w->stats.responses, 1);
	if (!c->req_done && reusable && c->keep_alive &&
	    conn_relay_may_finish_body(c)) {
		/* answered before the body ended, and the member reads on
		 * (RFC 9112 9.3): the rest goes to it, then both connections
		 * serve their next requests; logged then, with all its bytes */
		c->answered = true;
		return (0);
	}
	conn_log_access(c, NULL);
	if (!c->req_done)
		c->keep_alive = false;	/* answered before the body ended */
	conn_end_request(c, reusable && c->req_done);
	return (conn_next(c));
}

/* The member accepted an Upgrade: relay its 101 and become a tunnel.
 * Returns -1: the caller stops handling responses on c. */
static int
conn_relay_upgrade(struct conn *c, const char *base)
{
	struct upstream	*u = c->up;

	if (http_response_head(&u->resp, base, false, false,
	    c->snap->config->fwd.via, &c->x->head) == -1)
		return (conn_error(c, 502, "out of memory"));
	if (!http_head_fits(&u->resp, &c->x->head))
		return (conn_error(c, 502, "response head too large to "
		    "forward"));
	evbuffer_add(c->io.out, c->x->head.p, c->x->head.len);
	http_msg_head_drain(&u->resp, u->io.in);
	c->resp_started = true;
	c->x->status = 101;
	COUNT_ADD(&c->w->stats.responses, 1);
	conn_log_access(c, NULL);
	conn_tunnel_start(c);
	return (-1);
}

/* A response head is parsed: relay it.  Returns 0 when the response goes
 * on, -1 when it ended (c may have been freed). */
static int
conn_relay_response_head(struct conn *c)
{
	struct upstream	*u = c->up;
	struct evbuffer	*in = u->io.in;
	int		 status = u->resp.status_code;
	bool		 interim = status < 200, close, body;
	const char	*base;

	if (status == 101 && (!http_msg_is_upgrade(&c->x->req) || !c->req_done))
		return (conn_error(c, 502, "member switched protocols "
		    "without being asked"));
	base = http_msg_head_base(&u->resp, in);
	if (status == 101)
		return (conn_relay_upgrade(c, base));
	close = !c->keep_alive || workers_stopping(c->w->ws);
	body = !u->resp.skip_body && status != 204 && status != 304;
	if (!interim && c->http10 && body &&
	    !(u->resp.parser.flags & F_CONTENT_LENGTH))
		close = true;	/* HTTP/1.0 knows no chunks: end by closing */
	if (interim && ++c->x->ninterim > CONN_INTERIM_MAX)
		return (conn_error(c, 502, "too many interim (1xx) "
		    "responses"));
	if (interim && c->http10) {
		http_msg_head_drain(&u->resp, in);	/* 1xx is not for 1.0 */
		return (0);
	}
	if (http_response_head(&u->resp, base, c->http10, interim ? false :
	    close, c->snap->config->fwd.via, &c->x->head) == -1)
		return (conn_error(c, 502, "out of memory"));
	if (!http_head_fits(&u->resp, &c->x->head))
		return (conn_error(c, 502, "response head too large to "
		    "forward"));
	evbuffer_add(c->io.out, c->x->head.p, c->x->head.len);
	http_msg_head_drain(&u->resp, in);
	c->resp_started = true;
	if (!interim) {
		c->x->status = status;
		c->keep_alive = !close;
	}
	return (0);
}

/* Relays what the member has sent.  Returns 0 while the response goes on
 * with c->up, -1 when it ended (c may have been freed, or may be serving
 * its next request). */
int
conn_relay_response(struct conn *c)
{
	struct upstream	*u = c->up;
	struct evbuffer	*in = u->io.in;

	if (c->answered)
		return (conn_relay_answered_member(c, IO_READ));
	for (;;) {
		if (!u->resp.head_done) {
			switch (http_msg_head(&u->resp, in)) {
			case HTTP_MORE:
				io_flush(&c->io);	/* a 1xx before it */
				return (0);
			case HTTP_ERROR:
				log_warn("%s %s: invalid response: %s",
				    pool_name(c->member->pool),
				    conn_member_text(c), u->resp.error);
				conn_observe(c, "invalid response");
				return (conn_error(c, 502, "invalid response"));
			case HTTP_DONE:
				break;
			}
			if (conn_relay_response_head(c) == -1)
				return (-1);
		}
		http_msg_moved(&u->resp, io_spliced(&u->io));
		switch (http_msg_body(&u->resp, in)) {
		case HTTP_ERROR:
			log_warn("%s %s: invalid response body: %s",
			    pool_name(c->member->pool), conn_member_text(c),
			    u->resp.error);
			conn_observe(c, "invalid response body");
			return (conn_error(c, 502, "invalid response body"));
		case HTTP_MORE:
			conn_relay_splice(c, &u->resp, &u->io, &c->io);
			io_flush(&c->io);
			if (io_pending(&c->io) >= CONN_HIGH_WATER) {
				io_read(&u->io, false);
				c->up_paused = true;
			}
			return (0);
		case HTTP_DONE:
			break;
		}
		if (u->resp.status_code >= 200)
			return (conn_relay_response_done(c));
		/* 1xx: the final response follows on the same connection */
		http_msg_next(&u->resp);
		u->resp.skip_body = c->x->req.method == HTTP_HEAD;
		io_flush(&c->io);
		if (io_pending(&c->io) >= CONN_HIGH_WATER) {
			/* interim responses to a client that does not read */
			io_read(&u->io, false);
			c->up_paused = true;
			return (0);
		}
	}
}

/* The member has read enough of the request body: take more from the
 * client. */
static void
conn_relay_up_drained(struct conn *c)
{
	if (c->client_paused && c->state == CONN_STREAM && !c->req_done) {
		c->client_paused = false;
		io_read(&c->io, true);
		conn_relay_request_body(c);
	} else if (c->answered && c->req_done && io_pending(&c->up->io) == 0)
		conn_relay_answered_sent(c);
}

/* Whether the member may act on c's request twice (RFC 9110 9.2.2). */
static bool
conn_relay_idempotent(const struct conn *c)
{
	switch (c->x->req.method) {
	case HTTP_GET:
	case HTTP_HEAD:
	case HTTP_OPTIONS:
	case HTTP_TRACE:
	case HTTP_PUT:
	case HTTP_DELETE:
		return (true);
	default:
		return (false);
	}
}

/*
 * Whether c's request may be sent again after its connection closed or
 * failed: an idempotent request (the member may have read it and acted
 * before closing, as nginx assumes too), no byte of whose body has gone
 * out (the head kept for retries is then all that must go again), and no
 * byte of whose answer has come back.
 */
static bool
conn_relay_may_send_again(const struct conn *c)
{
	const struct upstream	*u = c->up;

	/* resp_started: a relayed 1xx resets the parser, and its head took
	 * the place of the request head kept for retries */
	return (conn_relay_idempotent(c) && !c->body_sent && !c->resp_started &&
	    !u->resp.head_done && u->resp.parsed == 0 &&
	    evbuffer_get_length(u->io.in) == 0);
}

/*
 * Whether a reused keep-alive connection that the member closed before a
 * byte of its answer may be retried on a fresh one: the race with the
 * member's idle timeout every proxy has.  Once per request; any other
 * request gets a 502.
 */
static bool
conn_relay_may_retry_stale(const struct conn *c)
{
	return (c->up->uses > 1 && !c->retried &&
	    conn_relay_may_send_again(c));
}

/*
 * Whether c's request may go to another member after its fresh connection
 * closed or failed before a byte of the answer: the member cannot have
 * acted on it, or it can act again (RFC 9110 9.2.2: an idempotent method),
 * and nothing of it is lost (it was sent whole, without a body, so the
 * head kept for retries is all of it).  A member that dies with requests
 * on its connections then costs none of them, as nginx's default
 * proxy_next_upstream error does.  A timeout is never resent: the member
 * may still be working on it.
 */
static bool
conn_relay_may_resend(const struct conn *c)
{
	return (c->up->uses == 1 && c->req_done &&
	    conn_relay_may_send_again(c));
}

/* Sends c's request to the next member (conn_relay_may_resend).  May
 * free c. */
static int
conn_relay_next_member(struct conn *c)
{
	log_info("client %s: \"%s\": resent to another member",
	    conn_peer_ip(c), c->x->line);
	upstream_free(c->up);
	c->up = NULL;
	return (conn_relay_connect(c));
}

/* The member closed the connection.  May free c. */
static int
conn_relay_upstream_eof(struct conn *c)
{
	struct upstream	*u = c->up;

	if (u->resp.head_done) {
		/* a body that runs until close ends here */
		if (conn_relay_response(c) == -1)
			return (-1);
		if (http_msg_eof(&u->resp) == HTTP_DONE)
			return (conn_relay_response_done(c));
		log_warn("%s %s: closed the connection mid-response",
		    pool_name(c->member->pool), conn_member_text(c));
		conn_observe(c, "closed mid-response");
		return (conn_error(c, 502, "member closed mid-response"));
	}
	if (conn_relay_may_retry_stale(c))
		return (conn_relay_retry_fresh(c));
	log_warn("%s %s: closed the connection before answering",
	    pool_name(c->member->pool), conn_member_text(c));
	if (u->uses == 1 && u->resp.parsed == 0)
		conn_passive(c, c->member, "closed before answering");
	if (conn_relay_may_resend(c))
		return (conn_relay_next_member(c));
	return (conn_error(c, 502, "member closed the connection"));
}

/* The upstream connection failed, closed or timed out.  May free c. */
static void
conn_relay_up_event(struct conn *c, int what)
{
	struct upstream	*u = c->up;
	const char	*err = strerror(u->io.error);

	if (!u->connected) {
		conn_relay_member_failed(c, u->member, (what & IO_TIMEOUT) ?
		    "timed out" : err, (what & IO_TIMEOUT) != 0);
		upstream_free(u);
		c->up = NULL;
		conn_relay_connect(c);
		return;
	}
	if (c->answered) {
		conn_relay_answered_member(c, what);
		return;
	}
	if (what & IO_TIMEOUT) {
		log_warn("%s %s: no answer within timeouts.upstream_ms",
		    pool_name(c->member->pool), conn_member_text(c));
		conn_error(c, 504, "member did not answer in time");
		return;
	}
	if (what & IO_EOF) {
		conn_relay_upstream_eof(c);
		return;
	}
	if (conn_relay_may_retry_stale(c)) {
		conn_relay_retry_fresh(c);
		return;
	}
	log_warn("%s %s: connection error: %s", pool_name(c->member->pool),
	    conn_member_text(c), err);
	if (u->uses == 1 && !u->resp.head_done && u->resp.parsed == 0)
		conn_passive(c, c->member, err);
	if (conn_relay_may_resend(c)) {
		conn_relay_next_member(c);
		return;
	}
	conn_error(c, 502, "member connection failed");
}

static void
conn_relay_io_cb(struct io *io, int what, void *arg)
{
	struct conn	*c = arg;

	if (what & IO_READ)
		conn_relay_response(c);
	else if (what & IO_DRAINED)
		conn_relay_up_drained(c);
	else if (what & IO_CONNECTED)
		conn_relay_ready(c);
	else
		conn_relay_up_event(c, what);
}

