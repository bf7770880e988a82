/*
 * conn.c — the proxy state machine for one client connection.
 *
 * Functions that may free the connection say so and return -1 when they
 * did; callers then return at once without touching it.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "accesslog.h"
#include "config.h"
#include "conn_int.h"
#include "http_head.h"
#include "log.h"
#include "metrics.h"
#include "mirror.h"
#include "pick.h"
#include "pool.h"
#include "router.h"
#include "snapshot.h"
#include "upstream.h"
#include "worker.h"

static void	client_io_cb(struct io *, int, void *);
static void	conn_timer_cb(evutil_socket_t, short, void *);

static const char *conn_state_names[] = {
	"read-head", "connect", "stream", "idle", "closing", "tunnel",
	"wait-client",
};

const struct config *
conn_config(const struct conn *c)
{
	return (c->snap != NULL ? c->snap->config : c->w->snap->config);
}

/* Formats c's address into buf (INET6_ADDRSTRLEN bytes).  An IPv4 one,
 * formatted for every forwarded request, by hand: inet_ntop's sprintf
 * costs it a thousand instructions. */
static const char *
conn_peer_format(const struct conn *c, char *buf)
{
	uint8_t	 b[16];
	char	*p = buf;

	memcpy(b, c->peer_w, sizeof(b));
	if (c->peer_inet6) {
		inet_ntop(AF_INET6, b, buf, INET6_ADDRSTRLEN);
		return (buf);
	}
	for (int i = 12; i < 16; i++) {
		if (b[i] >= 100)
			*p++ = (char)('0' + b[i] / 100);
		if (b[i] >= 10)
			*p++ = (char)('0' + b[i] / 10 % 10);
		*p++ = (char)('0' + b[i] % 10);
		*p++ = i < 15 ? '.' : '\0';
	}
	return (buf);
}

/* Formatted for every forwarded request: the last one is remembered, as
 * a keep-alive client's next request (or another client's on the same
 * host) most often comes from the same address. */
const char *
conn_peer_ip(const struct conn *c)
{
	static _Thread_local char	buf[INET6_ADDRSTRLEN];
	static _Thread_local uint64_t	last[2];
	static _Thread_local bool	last_inet6, valid;

	if (valid && c->peer_w[0] == last[0] && c->peer_w[1] == last[1] &&
	    c->peer_inet6 == last_inet6)
		return (buf);
	last[0] = c->peer_w[0];
	last[1] = c->peer_w[1];
	last_inet6 = c->peer_inet6;
	valid = true;
	return (conn_peer_format(c, buf));
}

const char *
conn_peer(const struct conn *c)
{
	static _Thread_local char	buf[ADDR_TEXT_MAX];
	char				ip[INET6_ADDRSTRLEN];

	conn_peer_format(c, ip);
	snprintf(buf, sizeof(buf), c->peer_inet6 ? "[%s]:%u" : "%s:%u", ip,
	    c->peer_port);
	return (buf);
}

const char *
conn_member_text(const struct conn *c)
{
	return (c->member != NULL ? c->member->addr.text : "-");
}

static void
conn_arm(struct conn *c, unsigned ms)
{
	struct timeval	tv;

	evtimer_add(&c->x->timer, io_timeval(c->w->base, ms, &tv));
}

/*
 * States without an exchange (a new connection, and IDLE) are timed by the
 * client's read timeout: nothing has arrived, so inactivity is the whole
 * wait.  A head being read has a deadline from its first byte, which a
 * client sending one byte at a time cannot push back.
 */
void
conn_set_state(struct conn *c, enum conn_state st)
{
	const struct config	*cf = conn_config(c);

	log_debug("client %s: %s -> %s", conn_peer(c),
	    conn_state_names[c->state], conn_state_names[st]);
	c->state = st;
	if (c->x == NULL) {
		io_timeouts(&c->io, st == CONN_IDLE ? cf->idle_ms :
		    cf->client_header_ms, cf->idle_ms);
		return;
	}
	/* a head's deadline is armed by conn_read_head, and only when the
	 * head is not whole with the bytes that started it (most are) */
	c->x->head_timed = false;
	evtimer_del(&c->x->timer);
}

#define CONN_EXCHANGES_CACHED	256

static _Thread_local struct exchange	*conn_exchanges;
static _Thread_local unsigned		 conn_nexchanges;

static void
exchange_free(struct exchange *x)
{
	http_buf_free(&x->head);
	free(x);
}

void
conn_cache_free(void)
{
	struct exchange	*x;

	while ((x = conn_exchanges) != NULL) {
		conn_exchanges = x->next;
		exchange_free(x);
	}
	conn_nexchanges = 0;
	io_pipes_free();	/* the pipes its connections spliced through */
	io_spares_free();	/* the buffers its idle connections gave */
}

size_t
conn_buffered(const struct conn *c)
{
	size_t	n = io_pending(&c->io);

	if (c->io.in != NULL)		/* else resting (io_rest) */
		n += evbuffer_get_length(c->io.in);

	if (c->up != NULL)
		n += io_pending(&c->up->io) + evbuffer_get_length(c->up->io.in);
	return (n);
}

/* A request's first byte arrived: give c an exchange.  May free c. */
static int
conn_begin(struct conn *c)
{
	struct exchange	*x;

	if ((x = conn_exchanges) != NULL) {
		conn_exchanges = x->next;
		conn_nexchanges--;
	} else if ((x = calloc(1, sizeof(*x))) == NULL) {
		log_error("client %s: out of memory", conn_peer(c));
		conn_close(c, "out of memory");
		return (-1);
	}
	c->x = x;
	evtimer_assign(&x->timer, c->w->base, conn_timer_cb, c);
	http_msg_init(&x->req, HTTP_REQUEST);
	x->head.len = 0;
	x->ntried = 0;
	x->panic = false;
	x->picked = false;
	x->mirrored = false;
	x->mirror = NULL;
	x->status = 0;
	x->timed = false;
	x->line[0] = '\0';
	conn_client_timeouts(c, 0);
	return (0);
}

/* A copy still waiting for x's body gets no more of it: cut, and then
 * skipped, not mirrored.  At the request's count (conn_count), and at its
 * end for a request never counted (conn_end_request, which every
 * exchange's end passes through). */
static void
conn_mirror_drop(struct exchange *x)
{
	if (x->mirror != NULL) {
		if (mirror_drop(x->mirror))
			x->mirrored = false;
		x->mirror = NULL;
	}
}

/* Gives c's exchange back (c is between requests or closing). */
void
conn_rest(struct conn *c)
{
	struct exchange	*x = c->x;

	if (x == NULL)
		return;
	c->x = NULL;
	evtimer_del(&x->timer);
	http_msg_free(&x->req);
	if (conn_nexchanges == CONN_EXCHANGES_CACHED) {
		exchange_free(x);
		return;
	}
	x->next = conn_exchanges;
	conn_exchanges = x;
	conn_nexchanges++;
}

/* A bad answer from the request's member counts against its health. */
void
conn_observe(struct conn *c, const char *why)
{
	worker_observe(c->w, c->member, why,
	    c->snap->config->pools[c->member->pool].health.fall);
}

void
conn_passive(struct conn *c, struct member *m, const char *why)
{
	worker_observe(c->w, m, why, WORKER_FAIL_NOW);
}

/* Moves the request's in-flight count to m (NULL: ends it). */
void
conn_set_member(struct conn *c, struct member *m)
{
	struct worker	*w = c->w;

	if (c->member != NULL) {
		COUNT_SUB(&c->member->local[w->id].inflight, 1);
		COUNT_SUB(&w->inflight[c->member->pool], 1);
	}
	if ((c->member = m) != NULL) {
		COUNT_ADD(&m->local[w->id].inflight, 1);
		COUNT_ADD(&m->local[w->id].requests, 1);
		COUNT_ADD(&w->inflight[m->pool], 1);
	}
}

/* Ends the request in flight: gives back the upstream (reusable or not),
 * the member's in-flight count and the snapshot. */
void
conn_end_request(struct conn *c, bool reusable)
{
	struct snapshot	*live = c->w->snap;
	struct upstream	*u = c->up;

	if (u != NULL) {
		c->up = NULL;
		/* the inactive pool keeps upstream.warm_idle of them
		 * (DESIGN.md), and for CUTOVER_KEEP_MS after a switch every
		 * one to a usable member, busy at the switch or not, so that
		 * a switch back finds them open; a pool the request's
		 * snapshot shares with the live one still has the member,
		 * without a search; none to a member down, drained or in
		 * maintenance, whose idle ones were closed (no request
		 * would take them), unless requests are routed to it in
		 * panic */
		if (reusable && !workers_stopping(c->w->ws) &&
		    (member_is_usable(u->member) || (c->x != NULL &&
		    c->x->panic && u->member->admin == MEMBER_READY)) &&
		    (live->active == u->member->pool ||
		    (c->w->keep_left && member_is_usable(u->member)) ||
		    (live->shift_percent > 0 &&
		    live->shift_pool == u->member->pool) ||
		    COUNT_GET(&u->member->local[u->worker].nidle) <
		    live->config->warm_idle) &&
		    (live->pools[u->member->pool] ==
		    c->snap->pools[u->member->pool] ||
		    snapshot_has_member(live, u->member)) &&
		    evbuffer_get_length(u->io.in) == 0 &&
		    io_pending(&u->io) == 0)
			upstream_park(u, live->config->max_idle);
		else
			upstream_free(u);
	}
	if (c->tunnel) {
		conn_count_bytes(c, c->member->pool);
		COUNT_SUB(&c->w->tunnels[c->member->pool], 1);
		c->tunnel = false;
	}
	conn_set_member(c, NULL);
	if (c->snap != NULL) {
		worker_snap_drop(c->w, c->snap);
		c->snap = NULL;
	}
	if (c->x != NULL) {
		c->x->ntried = 0;
		c->x->panic = false;
		conn_mirror_drop(c->x);
	}
}

void
conn_close(struct conn *c, const char *reason)
{
	struct worker	*w = c->w;

	log_debug("client %s: closed: %s", conn_peer(c), reason);
	/* a request answered before its body ended is logged at its end */
	if (c->answered && c->x != NULL && c->x->timed)
		conn_log_access(c, reason);
	conn_end_request(c, false);
	TAILQ_REMOVE(&w->conns, c, entry);
	COUNT_SUB(&w->nconns, 1);
	conn_rest(c);
	io_close(&c->io);
	free(c);
	worker_conn_closed(w);
}

/* The last byte is out: half-close and linger.  May free c. */
static void
conn_flushed(struct conn *c)
{
	if (c->client_eof) {
		conn_close(c, "done");
		return;
	}
	if (!c->shut) {
		c->shut = true;
		io_shutdown(&c->io);
		conn_arm(c, CONN_LINGER_MS);
	}
}

/* Stops reading requests and closes once the output is flushed; lingers
 * reading (and discarding) so unread input does not turn into a reset
 * that destroys the response.  May free c. */
int
conn_finish(struct conn *c)
{
	conn_end_request(c, false);
	conn_set_state(c, CONN_CLOSING);
	evbuffer_drain(c->io.in, evbuffer_get_length(c->io.in));
	c->io.low_water = 0;		/* IO_DRAINED: all is out */
	conn_client_timeouts(c, 0);
	io_read(&c->io, true);
	io_flush(&c->io);
	if (io_pending(&c->io) == 0)
		conn_flushed(c);
	return (-1);
}

/* The client may read again; reading had stopped for backpressure. */
static void
conn_client_resume(struct conn *c)
{
	if (c->client_paused) {
		c->client_paused = false;
		io_read(&c->io, true);
	}
}

int
conn_next(struct conn *c)
{
	if (!c->keep_alive)
		return (conn_finish(c));
	/* nothing of the next request has been answered: a bad head after
	 * this response gets its 400, not a cut connection */
	c->req_done = c->resp_started = c->body_sent = c->retried = false;
	c->answered = false;
	if (evbuffer_get_length(c->io.in) == 0) {
		/* a client that half-closed after its requests is done */
		if (c->client_eof)
			return (conn_finish(c));
		conn_client_resume(c);
		conn_rest(c);
		conn_set_state(c, CONN_IDLE);
		io_rest(&c->io);	/* unless the response is still going out */
		return (-1);
	}
	http_msg_next(&c->x->req);
	c->x->status = 0;
	c->x->line[0] = '\0';
	if (io_pending(&c->io) >= CONN_HIGH_WATER) {
		/* pipelined requests faster than the client reads what they
		 * get: the next one waits, or one connection could make
		 * cutover buffer every response it asked for */
		io_read(&c->io, false);
		c->client_paused = true;
		conn_set_state(c, CONN_WAIT_CLIENT);
		return (-1);
	}
	conn_client_resume(c);
	conn_set_state(c, CONN_READ_HEAD);
	conn_read_head(c);
	return (-1);
}

/*
 * The client bytes since the last count.  The io's counters restart at
 * each count, so a connection keeps no marks of its own: nwritten restarts
 * below zero by what is still queued (counted now as queued), modulo 2^64.
 */
static void
conn_bytes(struct conn *c, uint64_t *in, uint64_t *out)
{
	uint64_t	pending = io_pending(&c->io);

	*in = c->io.nread;
	*out = c->io.nwritten + pending;
	c->io.nread = 0;
	c->io.nwritten = 0 - pending;
}

void
conn_count_bytes(struct conn *c, enum pool_id pool)
{
	uint64_t	in, out;

	conn_bytes(c, &in, &out);
	metrics_bytes(&c->w->metrics, pool, in, out);
}

/* What a request's end counted: the access log says the same. */
struct conn_end {
	enum pool_id	 pool;
	uint64_t	 ns;		/* METRICS_UNTIMED: head never complete */
	uint64_t	 in;		/* bytes read from the client */
	uint64_t	 out;		/* bytes queued to it */
};

/* Counts the request's end in the worker's metrics, and says what it
 * counted in e. */
static void
conn_count(struct conn *c, struct conn_end *e)
{
	struct exchange	*x = c->x;
	struct timespec	 now;

	/* cutover's own replies count for the pool the request would have
	 * gone to */
	e->pool = c->member != NULL ? c->member->pool : x->picked ? x->pool :
	    c->snap != NULL ? c->snap->active : c->w->snap->active;
	e->ns = METRICS_UNTIMED;
	if (x->timed) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		e->ns = (uint64_t)(now.tv_sec - x->t0.tv_sec) * 1000000000u +
		    (uint64_t)now.tv_nsec - (uint64_t)x->t0.tv_nsec;
		x->timed = false;
	}
	conn_bytes(c, &e->in, &e->out);
	metrics_request(&c->w->metrics, e->pool, x->status, e->ns, e->in,
	    e->out);
	conn_mirror_drop(x);	/* the request is over: all its body is sent */
	if (x->mirrored) {	/* side by side with its copy's */
		metrics_mirror(&c->w->metrics, e->pool, x->status, e->ns);
		x->mirrored = false;
	}
}

/* Formats the access line of c's request on the stack and hands it to
 * the writer; a line the full pipe refuses is counted, never waited for. */
static void
conn_log_line(struct conn *c, enum accesslog_format f,
    const struct conn_end *e, const char *error)
{
	struct accesslog_rec	 r;
	char			 buf[ACCESSLOG_LINE_MAX], method[32];
	const char		*sp = strchr(c->x->line, ' ');
	size_t			 n;

	memset(&r, 0, sizeof(r));
	clock_gettime(CLOCK_REALTIME, &r.time);
	r.client = conn_peer_ip(c);
	if (sp != NULL && (n = (size_t)(sp - c->x->line)) < sizeof(method)) {
		memcpy(method, c->x->line, n);
		method[n] = '\0';
		r.method = method;
		r.target = sp + 1;
		r.target_len = strlen(sp + 1);
	}
	r.status = c->x->status;
	r.bytes_in = e->in;
	r.bytes_out = e->out;
	r.ns = e->ns == METRICS_UNTIMED ? ACCESSLOG_UNTIMED : e->ns;
	r.pool = pool_name(e->pool);
	r.member = c->member != NULL ? c->member->addr.text : NULL;
	r.retried = c->retried;
	r.route = c->x->picked ? pick_route_name(c->x->route) : NULL;
	r.error = error;
	n = accesslog_format(f, &r, buf);
	if (accesslog_write(buf, n) == -1)
		COUNT_ADD(&c->w->stats.access_dropped, 1);
}

void
conn_abandoned(struct conn *c)
{
	/* logged here, so a reset says so as a FIN does */
	log_info("client %s: \"%s\": closed mid-request", conn_peer_ip(c),
	    c->x->line[0] ? c->x->line : "-");
	if (!c->answered)
		c->x->status = CONN_STATUS_ABANDONED;
	conn_log_access(c, "client closed mid-request");
}

int
conn_answered_fail(struct conn *c, const char *why)
{
	COUNT_ADD(&c->w->stats.errors, 1);
	log_warn("client %s: \"%s\": closing after an early %d: %s",
	    conn_peer_ip(c), c->x->line, c->x->status, why);
	conn_log_access(c, why);
	return (conn_finish(c));
}

void
conn_log_access(struct conn *c, const char *error)
{
	struct conn_end		e;
	enum accesslog_format	f;

	conn_count(c, &e);
	if ((f = conn_config(c)->log_access) == ACCESSLOG_OFF)
		return;
	conn_log_line(c, f, &e, error);
}

/*
 * Answers the request in flight with an error (or, if its final response
 * has begun, just closes) and closes the connection.  After interim (1xx)
 * responses alone a final one may still follow, so the error is sent.
 * May free c.
 */
int
conn_error(struct conn *c, int status, const char *reason)
{
	bool	 final_begun = c->resp_started &&
		     !(c->x->status == 0 && c->x->ninterim > 0);

	COUNT_ADD(&c->w->stats.errors, 1);
	if (final_begun) {
		log_warn("client %s: \"%s\": response cut short: %s",
		    conn_peer_ip(c), c->x->line, reason);
		/* not yet counted: a routed request's (a tunnel's 101 was) */
		if (c->x->timed)
			conn_log_access(c, reason);
		conn_close(c, reason);
		return (-1);
	}
	c->x->status = status;
	log_warn("client %s: \"%s\": %d: %s", conn_peer_ip(c),
	    c->x->line[0] ? c->x->line : "-", status, reason);
	http_error(c->io.out, status, reason,
	    status == 503 ? 1 : 0);
	conn_log_access(c, reason);	/* counts the reply's bytes too */
	c->resp_started = true;
	conn_finish(c);
	return (-1);
}

int
conn_new(struct worker *w, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct conn	*c;
	struct addr_ip	 ip;
	int		 one = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto fail;
	c->w = w;
	addr_ip_from_sockaddr(&ip, sa);
	memcpy(c->peer_w, ip.w, sizeof(c->peer_w));
	c->peer_v4 = ip.v4;
	c->peer_inet6 = sa->sa_family == AF_INET6;
	c->peer_port = ntohs(c->peer_inet6 ?
	    ((const struct sockaddr_in6 *)(const void *)sa)->sin6_port :
	    ((const struct sockaddr_in *)(const void *)sa)->sin_port);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (io_init(&c->io, w->base, fd, client_io_cb, c) == -1)
		goto fail;
	/* bounded input while a request waits for its response */
	c->io.in_max = HTTP_HEAD_MAX * 4;
	c->io.low_water = CONN_HIGH_WATER / 2;
	TAILQ_INSERT_TAIL(&w->conns, c, entry);
	COUNT_ADD(&w->nconns, 1);
	COUNT_ADD(&w->stats.connections, 1);
	conn_set_state(c, CONN_READ_HEAD);
	io_read(&c->io, true);
	return (0);
fail:
	close(fd);
	free(c);
	log_error("accept: out of memory");
	return (-1);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	switch (c->state) {
	case CONN_READ_HEAD:
		/* armed at a head's first byte: nothing at all is the client's
		 * read timeout (conn_client_event) */
		conn_error(c, 408, "request head not received in time");
		return;
	case CONN_CLOSING:
		conn_close(c, "lingering close over");
		return;
	case CONN_TUNNEL:
		conn_tunnel_timer(c);
		return;
	default:
		return;
	}
}

/* Fills c->x->line with "METHOD target" for logs. */
static void
conn_note_request(struct conn *c, const char *base)
{
	const struct http_msg	*m = &c->x->req;
	const char		*method = llhttp_method_name(m->parser.method);
	size_t			 mlen = strlen(method), len = m->url.len;

	/* memcpy, not snprintf: this runs for every request */
	if (len > 200)
		len = 200;
	memcpy(c->x->line, method, mlen);
	c->x->line[mlen] = ' ';
	memcpy(c->x->line + mlen + 1, base + m->url.off, len);
	c->x->line[mlen + 1 + len] = '\0';
}

/* Checks what llhttp leaves to us; NULL, or why the request is bad. */
static const char *
conn_check_request(struct conn *c, const char *base)
{
	unsigned	hosts = 0;

	for (unsigned i = 0; i < c->x->req.nhdrs; i++)
		if (http_hdr_is(&c->x->req, base, i, "host"))
			hosts++;
	if (hosts > 1)
		return ("more than one Host header");
	if (hosts == 0 && !c->http10)
		return ("missing Host header");
	return (NULL);
}

/* How the request is sent on: forwarded headers, origin-form target. */
static void
conn_forwarding(struct conn *c, const char *base, struct http_fwd *fwd,
    struct addr *local)
{
	const struct config	*cf = conn_config(c);
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	struct addr_ip		 peer;

	memset(fwd, 0, sizeof(*fwd));
	fwd->client_ip = conn_peer_ip(c);
	fwd->target = base + c->x->req.url.off;
	fwd->target_len = c->x->req.url.len;
	http_target_absolute(fwd->target, fwd->target_len, &fwd->authority,
	    &fwd->path);
	fwd->xff = cf->fwd.xff;
	fwd->proto = cf->fwd.proto;
	fwd->host = cf->fwd.host;
	/* per request, not per connection: a reload applies at once */
	memcpy(peer.w, c->peer_w, sizeof(peer.w));
	peer.v4 = c->peer_v4;
	fwd->trust = addr_cidr_has(cf->fwd.trusted, cf->fwd.ntrusted, &peer);
	fwd->via = cf->fwd.via;
	/* preview routing's own fields are for cutover alone; a mirror
	 * mark is cutover's to set, never a client's */
	fwd->drop[0] = cf->preview.header;
	fwd->drop[1] = PICK_TOKEN_HEADER;
	fwd->drop[2] = MIRROR_FIELD;
	/* an HTTP/1.0 request without Host meant the address it reached */
	snprintf(local->text, sizeof(local->text), "localhost");
	if (c->http10 && getsockname(c->io.fd,
	    (struct sockaddr *)&ss, &sslen) == 0)
		addr_from_sockaddr(local, (struct sockaddr *)&ss, sslen);
	fwd->host_default = local->text;
}

/* A header's value without the blanks around it. */
static const char *
conn_trim(const char *v, size_t *len)
{
	while (*len > 0 && (*v == ' ' || *v == '\t'))
		v++, (*len)--;
	while (*len > 0 && (v[*len - 1] == ' ' || v[*len - 1] == '\t'))
		(*len)--;
	return (v);
}

/*
 * Finds what the pool's choice needs in the head (pick.h): the pool a
 * preview names (preview.header, else preview.cookie), X-Cutover-Token
 * and the shift.cookie's value (in *key, NULL when absent).  NULL, or why
 * the request is bad.
 */
static const char *
conn_pick_find(struct conn *c, const char *base, struct pick_req *q,
    const char **key, size_t *keylen)
{
	const struct config	*cf = conn_config(c);
	const struct http_msg	*m = &c->x->req;
	const char		*v, *cookie = NULL;
	size_t			 len, clen = 0;
	unsigned		 nhdr = 0, ntok = 0;

	memset(q, 0, sizeof(*q));
	*key = NULL;
	for (unsigned i = 0; i < m->nhdrs; i++) {
		len = m->hdrs[i].value.len;
		v = conn_trim(base + m->hdrs[i].value.off, &len);
		if (cf->preview.header[0] != '\0' &&
		    http_hdr_is(m, base, i, cf->preview.header)) {
			if (nhdr++ > 0)
				return ("more than one preview header "
				    "(preview.header)");
			q->pool = v;
			q->pool_len = len;
		} else if (http_hdr_is(m, base, i, PICK_TOKEN_HEADER)) {
			if (ntok++ > 0)
				return ("more than one " PICK_TOKEN_HEADER
				    " header");
			q->token = v;
			q->token_len = len;
		} else if (http_hdr_is(m, base, i, "cookie")) {
			if (cf->preview.cookie != NULL && cookie == NULL)
				cookie = pick_cookie(v, len, cf->preview.cookie,
				    &clen);
			if (cf->shift_cookie != NULL && *key == NULL)
				*key = pick_cookie(v, len, cf->shift_cookie,
				    keylen);
		}
	}
	if (q->pool == NULL && cookie != NULL) {
		q->pool = cookie;
		q->pool_len = clen;
	}
	return (NULL);
}

/*
 * Chooses the request's pool once, with the snapshot it holds: a
 * preview, the shift or the active pool.  q's pointers are into the
 * head, which must still be there.
 */
static void
conn_pick(struct conn *c, struct pick_req *q, const char *key, size_t keylen)
{
	const char	*ip;
	enum pool_id	 id = c->snap->active;

	/* the bucket costs a hash: only while a shift is on */
	if (c->snap->shift_percent > 0 && q->pool == NULL) {
		/* an empty cookie would put every such client in one
		 * bucket */
		if (key == NULL || keylen == 0) {
			ip = conn_peer_ip(c);	/* the address, not the port */
			key = ip;
			keylen = strlen(ip);
		}
		q->bucket = pick_bucket(key, keylen);
	}
	c->x->route = (uint8_t)pick_route(c->snap,
	    conn_config(c)->preview.token, q, &id);
	c->x->pool = id;
	c->x->picked = c->x->route <= PICK_PREVIEW;
}

/*
 * Copies c's request to the other pool when mirror.percent samples it.
 * Only the active pool's own traffic is mirrored, not a preview's nor
 * the shifted share: the one place that compares the pool chosen for the
 * request (conn_pick) with the active one.
 */
static void
conn_mirror(struct conn *c)
{
	enum pool_id	pool = c->x->pool;

	c->x->mirrored = c->x->route == PICK_ACTIVE &&
	    pool == c->snap->active && mirror_request(c->w,
	    c->snap, pool, &c->x->req, &c->x->head, c->io.in,
	    &c->x->mirror);
}

/* The head is parsed: route the request.  May free c. */
static int
conn_route(struct conn *c)
{
	struct evbuffer	*in = c->io.in;
	const char	*base = http_msg_head_base(&c->x->req, in), *bad;
	struct http_fwd	 fwd;
	struct addr	 local;
	struct pick_req	 q;
	const char	*key;
	size_t		 keylen = 0;
	char		 why[80];

	clock_gettime(CLOCK_MONOTONIC, &c->x->t0);
	c->x->picked = false;
	c->x->timed = true;
	COUNT_ADD(&c->w->stats.requests, 1);
	c->req_done = c->resp_started = c->body_sent = c->retried = false;
	c->answered = false;
	c->x->status = 0;
	c->x->ninterim = 0;
	conn_note_request(c, base);
	c->http10 = c->x->req.parser.http_major == 1 &&
	    c->x->req.parser.http_minor == 0;
	c->keep_alive = llhttp_should_keep_alive(&c->x->req.parser) &&
	    !workers_stopping(c->w->ws);
	if (c->x->req.parser.method == HTTP_CONNECT)
		return (conn_error(c, 405, "CONNECT is not supported"));
	if ((bad = conn_check_request(c, base)) != NULL)
		return (conn_error(c, 400, bad));
	if (conn_config(c)->max_body_bytes > 0 && (c->x->req.parser.flags &
	    F_CONTENT_LENGTH) && c->x->req.parser.content_length >
	    (uint64_t)conn_config(c)->max_body_bytes)
		return (conn_error(c, 413, "request body larger than "
		    "limits.max_body_bytes"));
	if ((bad = conn_pick_find(c, base, &q, &key, &keylen)) != NULL)
		return (conn_error(c, 400, bad));
	conn_forwarding(c, base, &fwd, &local);
	if (http_request_head(&c->x->req, base, &fwd, &c->x->head) == -1)
		return (conn_error(c, 503, "out of memory"));
	if (!http_head_fits(&c->x->req, &c->x->head))	/* with what we add */
		return (conn_error(c, 431, "request head too large"));
	c->snap = worker_snap_take(c->w);
	conn_pick(c, &q, key, keylen);
	http_msg_head_drain(&c->x->req, in);
	switch (c->x->route) {
	case PICK_REFUSED:
		metrics_preview_refused(&c->w->metrics);
		return (conn_error(c, 403, "preview refused: a pool was named "
		    "without the right " PICK_TOKEN_HEADER " (preview.token)"));
	case PICK_BAD_POOL:
		snprintf(why, sizeof(why), "preview names no pool (pools: %s, "
		    "%s)", pool_name(POOL_BLUE), pool_name(POOL_GREEN));
		return (conn_error(c, 400, why));
	case PICK_PREVIEW:
		metrics_preview(&c->w->metrics, c->x->pool);
		break;
	}
	conn_mirror(c);
	return (conn_relay_connect(c));
}

int
conn_read_head(struct conn *c)
{
	switch (http_msg_head(&c->x->req, c->io.in)) {
	case HTTP_MORE:
		if (c->client_eof) {
			/* a pipelined head cut short by the client's FIN:
			 * nothing more can come */
			conn_abandoned(c);
			conn_close(c, "client closed mid-request");
			return (-1);
		}
		if (!c->x->head_timed) {
			/* the first call of this head, with its first bytes:
			 * the deadline counts from them */
			c->x->head_timed = true;
			conn_arm(c, conn_config(c)->client_header_ms);
		}
		return (0);
	case HTTP_ERROR:
		return (conn_error(c, c->x->req.status, c->x->req.error));
	case HTTP_DONE:
		break;
	}
	if (c->x->head_timed) {
		c->x->head_timed = false;
		evtimer_del(&c->x->timer);
	}
	return (conn_route(c));
}

/* The client's read timeout (0: none) and its write timeout (idle_ms). */
void
conn_client_timeouts(struct conn *c, unsigned read_ms)
{
	io_timeouts(&c->io, read_ms, conn_config(c)->idle_ms);
}

static void
conn_client_read(struct conn *c)
{
	switch (c->state) {
	case CONN_IDLE:
	case CONN_READ_HEAD:
		if (c->x == NULL) {
			if (conn_begin(c) == -1)
				return;
			conn_set_state(c, CONN_READ_HEAD);
		}
		conn_read_head(c);
		return;
	case CONN_STREAM:
		if (!c->req_done)
			conn_relay_request_body(c);
		return;
	case CONN_CONNECT:
		return;		/* the body waits for the connection */
	case CONN_CLOSING:
		evbuffer_drain(c->io.in, evbuffer_get_length(c->io.in));
		return;
	case CONN_TUNNEL:
	case CONN_WAIT_CLIENT:
		return;		/* conn_tunnel.c has its own callbacks; a waiting
				 * request starts when the client drains */
	}
}

/* The client's output fell to its low-water mark.  May free c. */
static void
conn_client_drained(struct conn *c)
{
	if (c->state == CONN_IDLE) {
		/* the last response is out: the buffers can go (io_rest) */
		if (io_pending(&c->io) == 0)
			io_rest(&c->io);
		return;
	}
	if (c->state == CONN_CLOSING) {
		if (io_pending(&c->io) == 0)
			conn_flushed(c);
		return;
	}
	if (c->state == CONN_WAIT_CLIENT) {
		conn_client_resume(c);
		conn_set_state(c, CONN_READ_HEAD);
		conn_read_head(c);
		return;
	}
	if (c->up_paused && c->up != NULL) {
		c->up_paused = false;
		io_read(&c->up->io, true);
		conn_relay_response(c);
	}
}

/* The client closed, failed or timed out.  May free c. */
static void
conn_client_event(struct conn *c, int what)
{
	if ((what & IO_TIMEOUT) && (what & IO_READING)) {
		if (c->answered)	/* no 408 after the response */
			conn_answered_fail(c, "request body not received in "
			    "time");
		else if (c->x == NULL)	/* nothing of a request yet */
			conn_close(c, c->state == CONN_IDLE ?
			    "keep-alive idle timeout" : "no request in time");
		else
			conn_error(c, 408, "request body not received in time");
		return;
	}
	if (what & IO_TIMEOUT) {
		/* a response under way is cut short: said, counted, logged */
		if (c->x != NULL && c->resp_started &&
		    !(c->x->status == 0 && c->x->ninterim > 0)) {
			conn_error(c, 0, "client stopped reading");
			return;
		}
		log_info("client %s: stopped reading: closing", conn_peer(c));
		conn_close(c, "client stopped reading");
		return;
	}
	if (what & IO_ERROR) {
		/* a reset in the middle of a request abandons it, as a FIN
		 * there does */
		if (c->x != NULL && !c->req_done && (c->state == CONN_CONNECT ||
		    c->state == CONN_STREAM))
			conn_abandoned(c);
		conn_close(c, strerror(c->io.error));
		return;
	}
	/* EOF */
	c->client_eof = true;
	switch (c->state) {
	case CONN_IDLE:
	case CONN_READ_HEAD:
		conn_close(c, "client closed");
		return;
	case CONN_CONNECT:
		return;		/* whether the request was whole is known once
				 * its body is read (conn_relay_request_body) */
	case CONN_STREAM:
		/* a half-close after a whole request is no abort: answer it,
		 * and any request still buffered, then close (conn_next) */
		if (!c->req_done)
			conn_relay_request_body(c);
		return;
	case CONN_WAIT_CLIENT:
		return;
	case CONN_CLOSING:
		if (io_pending(&c->io) == 0)
			conn_close(c, "done");
		return;
	case CONN_TUNNEL:
		return;		/* conn_tunnel.c has its own callbacks */
	}
}

static void
client_io_cb(struct io *io, int what, void *arg)
{
	struct conn	*c = arg;

	if (what & IO_READ)
		conn_client_read(c);
	else if (what & IO_DRAINED)
		conn_client_drained(c);
	else
		conn_client_event(c, what);
}

void
conn_drain(struct conn *c)
{
	if (c->state == CONN_IDLE || (c->state == CONN_READ_HEAD &&
	    (c->io.in == NULL || evbuffer_get_length(c->io.in) == 0))) {
		conn_close(c, "shutting down");
		return;
	}
	c->keep_alive = false;
}

void
conn_close_all(struct worker *w, const char *reason)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&w->conns)) != NULL)
		conn_close(c, reason);
	mirror_cut_all();
}

void
conn_drain_all(struct worker *w)
{
	struct conn	*c, *next;

	mirror_cut_all();	/* copies never delay a shutdown */
	for (c = TAILQ_FIRST(&w->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		conn_drain(c);
	}
}
