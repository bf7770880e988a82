/*
 * mirror.c — shadow traffic: copies of sampled requests to the other
 * pool, each on its own upstream connection, answers discarded.
 */
#include "autoconf.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "mirror.h"
#include "pool.h"
#include "snapshot.h"
#include "upstream.h"
#include "worker.h"

#define MIRROR_HEADER	MIRROR_FIELD ": 1\r\n\r\n"
/* The most of a fed body a copy keeps unsent: a member of the other pool
 * that reads slower than the client sends costs no more than this. */
#define MIRROR_PENDING_MAX	(256 * 1024)

/*
 * One copy in flight.  It knows its worker (for its metrics and the live
 * snapshot), its upstream and its timer: nothing of the client's.  A copy
 * whose body is still coming is also held by its request (held), which
 * frees it when the copy has ended before (up is NULL).
 */
struct mirror {
	TAILQ_ENTRY(mirror)	 entry;		/* in mirror_list */
	struct worker		*w;
	struct upstream		*up;		/* NULL once the copy ended */
	struct event		 timer;		/* mirror.timeout_ms */
	struct timespec		 t0;
	enum pool_id		 pool;		/* the other pool */
	bool			 head_req;	/* a HEAD: no response body */
	bool			 held;		/* its request feeds it */
	uint64_t		 owed;		/* body bytes still to come */
};

TAILQ_HEAD(mirror_head, mirror);

/* The calling worker thread's copies, count, sampler and body sink. */
static _Thread_local struct mirror_head	 mirror_list;	/* see mirror_init */
static _Thread_local unsigned		 mirror_n;
static _Thread_local uint64_t		 mirror_rng;
static _Thread_local struct evbuffer	*mirror_sink;

/* xorshift64*: cheap, per thread, good enough to pick a share. */
static unsigned
mirror_sample(unsigned worker)
{
	struct timespec	ts;
	uint64_t	x = mirror_rng;

	if (x == 0) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^
		    ((uint64_t)worker + 1) << 32 ^ (uint64_t)ts.tv_sec;
		if (x == 0)
			x = 1;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	mirror_rng = x;
	return ((unsigned)((x * 0x2545f4914f6cdd1dULL >> 32) % 100));
}

unsigned
mirror_inflight(void)
{
	return (mirror_n);
}

/* Ends copy m: its connection goes back to the idle pool when reusable,
 * else closes. */
static void
mirror_end(struct mirror *m, bool reusable)
{
	struct upstream		*u = m->up;
	const struct snapshot	*live = m->w->snap;

	evtimer_del(&m->timer);
	TAILQ_REMOVE(&mirror_list, m, entry);
	mirror_n--;
	if (u != NULL) {
		/* only to a member still configured, with a bounded list: the
		 * warm-up trims the inactive pool's lists back later; never
		 * one still owed part of a request */
		if (reusable && m->owed == 0 && !workers_stopping(m->w->ws) &&
		    member_is_usable(u->member) && live != NULL &&
		    snapshot_has_member(live, u->member) &&
		    COUNT_GET(&u->member->local[u->worker].nidle) <
		    live->config->mirror.max_inflight &&
		    evbuffer_get_length(u->io.in) == 0 &&
		    io_pending(&u->io) == 0)
			upstream_park(u, live->config->max_idle);
		else
			upstream_free(u);
		m->up = NULL;
	}
	if (!m->held)	/* else its request frees it (mirror_feed, drop) */
		free(m);
}

/* The copy failed: counted as an error of its pool, never against the
 * member's health. */
static void
mirror_fail(struct mirror *m, const char *why)
{
	log_debug("mirror %s %s: %s", pool_name(m->pool),
	    m->up != NULL ? m->up->member->addr.text : "-", why);
	metrics_mirror(&m->w->metrics, m->pool, -1, METRICS_UNTIMED);
	mirror_end(m, false);
}

/* The copy's response is complete: counted, then discarded. */
static void
mirror_done(struct mirror *m, bool reusable)
{
	struct timespec	now;
	uint64_t	ns;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (uint64_t)(now.tv_sec - m->t0.tv_sec) * 1000000000u +
	    (uint64_t)now.tv_nsec - (uint64_t)m->t0.tv_nsec;
	metrics_mirror(&m->w->metrics, m->pool, m->up->resp.status_code, ns);
	mirror_end(m, reusable && m->up->resp.keep_alive);
}

/* Parses what the member sent, for framing and status only.  Returns 0
 * while the response goes on, -1 when it ended or failed (m is freed). */
static int
mirror_read(struct mirror *m)
{
	struct upstream	*u = m->up;
	struct evbuffer	*in = u->io.in;
	enum http_result r;

	for (;;) {
		if (!u->resp.head_done) {
			if ((r = http_msg_head(&u->resp, in)) == HTTP_MORE)
				return (0);
			if (r == HTTP_ERROR) {
				mirror_fail(m, "invalid response");
				return (-1);
			}
			if (u->resp.status_code == 101) {
				mirror_fail(m, "101 without an upgrade");
				return (-1);
			}
			http_msg_head_drain(&u->resp, in);
		}
		r = http_msg_body(&u->resp, in);
		evbuffer_drain(mirror_sink, evbuffer_get_length(mirror_sink));
		if (r == HTTP_ERROR) {
			mirror_fail(m, "invalid response body");
			return (-1);
		}
		if (r == HTTP_MORE)
			return (0);
		if (u->resp.status_code >= 200) {
			/* bytes after the response: framing not trusted */
			mirror_done(m, evbuffer_get_length(in) == 0);
			return (-1);
		}
		http_msg_next(&u->resp);	/* a 1xx: the final one follows */
		u->resp.skip_body = m->head_req;
		u->resp.out = mirror_sink;
	}
}

static void
mirror_io_cb(struct io *io, int what, void *arg)
{
	struct mirror	*m = arg;
	struct upstream	*u = m->up;

	if (what & IO_CONNECTED) {
		u->connected = true;
		io_flush(&u->io);
		return;
	}
	if (what & IO_READ) {
		mirror_read(m);
		return;
	}
	if (what & IO_DRAINED)
		return;
	if ((what & IO_EOF) && u->resp.head_done) {
		/* a body that runs until close ends here */
		if (mirror_read(m) == -1)
			return;
		if (u->resp.head_done && http_msg_eof(&u->resp) == HTTP_DONE)
			mirror_done(m, false);
		else
			mirror_fail(m, "closed mid-response");
		return;
	}
	mirror_fail(m, (what & IO_TIMEOUT) ? "timed out" : (what & IO_EOF) ?
	    "closed before answering" : strerror(io->error));
}

static void
mirror_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	mirror_fail(arg, "no answer within mirror.timeout_ms");
}

/* Whether req's body can go with its copy: a Content-Length of at most
 * max_body (req->remaining is the whole body: none of it is read yet). */
static bool
mirror_body_ok(const struct config_mirror *cf, const struct http_msg *req)
{
	return (!req->chunked_in && req->remaining <= cf->max_body);
}

/* Appends the first n bytes of in to out, leaving in as it was (the
 * client's request still reads them). */
static int
mirror_copy_body(struct evbuffer *out, struct evbuffer *in, size_t n)
{
	struct evbuffer_iovec	 v[16];
	struct evbuffer_ptr	 at;
	size_t			 left = n, k;
	int			 nv;

	evbuffer_ptr_set(in, &at, 0, EVBUFFER_PTR_SET);
	while (left > 0) {
		nv = evbuffer_peek(in, (ev_ssize_t)left, &at, v, 16);
		if (nv <= 0)
			return (-1);
		for (int i = 0; i < nv && i < 16 && left > 0; i++) {
			k = v[i].iov_len < left ? v[i].iov_len : left;
			if (evbuffer_add(out, v[i].iov_base, k) == -1)
				return (-1);
			left -= k;
			if (evbuffer_ptr_set(in, &at, k, EVBUFFER_PTR_ADD) ==
			    -1 && left > 0)
				return (-1);
		}
	}
	return (0);
}

/* A thread's list starts zeroed: a thread-local's address is no
 * constant to initialise it with. */
static void
mirror_init(void)
{
	if (mirror_list.tqh_last == NULL)
		TAILQ_INIT(&mirror_list);
}

/* Starts a copy to member mb of pool.  Returns -1 when cutover could
 * not (memory, descriptors): skipped as "local". */
static int
mirror_start(struct worker *w, const struct config_mirror *cf,
    struct member *mb, const struct http_msg *req,
    const struct http_buf *head, struct evbuffer *in, struct mirror **feed)
{
	struct mirror	*m;
	struct upstream	*u;
	struct timeval	 tv;

	mirror_init();
	if (mirror_sink == NULL && (mirror_sink = evbuffer_new()) == NULL)
		return (-1);
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return (-1);
	if ((u = upstream_take(mb, w->id, true)) == NULL &&
	    (u = upstream_connect(w->base, w->id, mb, cf->timeout_ms)) ==
	    NULL) {
		free(m);
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
		    errno == ENOBUFS || errno == EADDRNOTAVAIL ||
		    errno == EAGAIN)
			return (-1);
		/* the member refused at once: the copy failed */
		metrics_mirror(&w->metrics, mb->pool, -1, METRICS_UNTIMED);
		return (0);
	}
	m->w = w;
	m->up = u;
	m->pool = mb->pool;
	m->head_req = req->method == HTTP_HEAD;
	clock_gettime(CLOCK_MONOTONIC, &m->t0);
	u->uses++;
	u->resp.out = mirror_sink;
	u->resp.skip_body = m->head_req;
	/* the head as forwarded, its blank line replaced by our field */
	evbuffer_add(u->io.out, head->p, head->len - 2);
	evbuffer_add(u->io.out, MIRROR_HEADER, sizeof(MIRROR_HEADER) - 1);
	if (evbuffer_get_length(in) < req->remaining) {
		/* the body is still coming: its request feeds the copy as it
		 * forwards it (mirror_feed), the first bytes included */
		m->owed = req->remaining;
		m->held = true;
		*feed = m;
	} else if (req->remaining > 0 && mirror_copy_body(u->io.out, in,
	    req->remaining) == -1) {
		upstream_free(u);
		free(m);
		return (-1);
	}
	io_setcb(&u->io, mirror_io_cb, m);
	io_timeouts(&u->io, 0, 0);	/* the timer is the copy's limit */
	evtimer_assign(&m->timer, w->base, mirror_timer_cb, m);
	evtimer_add(&m->timer, io_timeval(w->base, cf->timeout_ms, &tv));
	TAILQ_INSERT_TAIL(&mirror_list, m, entry);
	mirror_n++;
	io_read(&u->io, true);
	if (u->connected)
		io_flush(&u->io);
	return (0);
}

bool
mirror_request(struct worker *w, const struct snapshot *s,
    enum pool_id pool, const struct http_msg *req,
    const struct http_buf *head, struct evbuffer *in, struct mirror **feed)
{
	const struct config_mirror	*cf = &s->config->mirror;
	enum pool_id			 other;
	struct member			*mb;

	if (cf->percent == 0 || workers_stopping(w->ws) || req->method >= 64 ||
	    !(cf->methods & 1ULL << req->method) || http_msg_is_upgrade(req))
		return (false);
	if (cf->percent < 100 && mirror_sample(w->id) >= cf->percent)
		return (false);
	if (!mirror_body_ok(cf, req)) {
		metrics_mirror_skip(&w->metrics, METRICS_SKIP_BODY);
		return (false);
	}
	if (mirror_n >= cf->max_inflight) {
		metrics_mirror_skip(&w->metrics, METRICS_SKIP_BUSY);
		return (false);
	}
	other = pool == POOL_BLUE ? POOL_GREEN : POOL_BLUE;
	if ((mb = pool_select(s->pools[other], w->id, NULL, 0)) == NULL) {
		metrics_mirror_skip(&w->metrics, METRICS_SKIP_NO_MEMBER);
		return (false);
	}
	if (mirror_start(w, cf, mb, req, head, in, feed) == -1) {
		metrics_mirror_skip(&w->metrics, METRICS_SKIP_LOCAL);
		return (false);
	}
	return (true);
}

struct mirror *
mirror_feed(struct mirror *m, struct evbuffer *in, size_t n)
{
	struct upstream	*u = m->up;

	if (u != NULL && n > 0) {
		if (n > m->owed)	/* the caller's count and ours agree */
			n = (size_t)m->owed;
		m->owed -= n;
		if (mirror_copy_body(u->io.out, in, n) == -1)
			mirror_fail(m, "out of memory");
		else if (u->connected)
			io_flush(&u->io);
		if (m->up != NULL && io_pending(&u->io) > MIRROR_PENDING_MAX)
			mirror_fail(m, "the member reads the body too slowly");
	}
	if (m->up != NULL && m->owed > 0)
		return (m);
	m->held = false;
	if (m->up == NULL)	/* ended: nobody else has it */
		free(m);
	return (NULL);
}

bool
mirror_drop(struct mirror *m)
{
	m->held = false;
	if (m->up == NULL) {	/* ended, and counted then */
		free(m);
		return (false);
	}
	log_debug("mirror %s %s: the request's body did not come whole",
	    pool_name(m->pool), m->up->member->addr.text);
	metrics_mirror_skip(&m->w->metrics, METRICS_SKIP_BODY);
	mirror_end(m, false);
	return (true);
}

unsigned
mirror_trim(unsigned max)
{
	struct mirror	*m;
	unsigned	 n = 0;

	mirror_init();
	/* added at the tail: the oldest first */
	while (mirror_n > max && (m = TAILQ_FIRST(&mirror_list)) != NULL) {
		mirror_fail(m, "cut by a reload");
		n++;
	}
	return (n);
}

void
mirror_cut_all(void)
{
	struct mirror	*m;

	mirror_init();
	while ((m = TAILQ_FIRST(&mirror_list)) != NULL)
		mirror_end(m, false);
	if (mirror_sink != NULL) {
		evbuffer_free(mirror_sink);
		mirror_sink = NULL;
	}
}
