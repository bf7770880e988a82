/*
 * dns.c — the pools' DNS names, resolved by a stub resolver of our own on
 * the control thread's loop and asked again on a timer.
 *
 * Why not libevent's evdns: 2.1's asks over UDP only, without EDNS0, so a
 * headless Service of more than ~29 Pods comes back truncated and never
 * resolves; it keeps at most 32 addresses; it walks the search list for A
 * and AAAA separately (one pool could mix two names' addresses); it reads
 * resolv.conf with a blocking read (a FIFO hangs the process); and it
 * reports SERVFAIL as a timeout.  A and AAAA is all cutover asks, which a
 * small strict client does (dnsmsg.c builds and parses the messages).
 *
 * A lookup walks the name's search candidates (dns_candidate) one at a
 * time, asking A and AAAA of each at once, each query on a socket of its
 * own: UDP connect()ed to the nameserver (the kernel then refuses
 * datagrams from anyone else, and picks a random source port), a random
 * id, and on a truncated answer TCP to the same nameserver.  Tries cycle
 * over the nameservers.  Every socket and event belongs to its query, so
 * dns_free closes them all and no callback comes after it.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "dns.h"
#include "dnsmsg.h"
#include "log.h"

/* What a query (one type of one candidate name) came to. */
enum dns_outcome {
	DNS_ADDRS,	/* addresses */
	DNS_NODATA,	/* the name, but none of the type */
	DNS_NXDOMAIN,	/* no such name */
	DNS_FAILED	/* every try failed: why says how the last did */
};

enum dns_state {
	DNS_IDLE,
	DNS_UDP,		/* sent, waiting for the answer */
	DNS_TCP_CONNECT,
	DNS_TCP_WRITE,
	DNS_TCP_READ,
	DNS_DONE
};

struct dns_lookup;

/* The A or AAAA query of a lookup's current candidate. */
struct dns_query {
	struct dns_lookup	*l;
	int			 v6;
	enum dns_state		 state;
	int			 fd;	/* -1: none */
	struct event		*ev;	/* waits on fd, with the deadline */
	struct timespec		 deadline;	/* of this try */
	unsigned		 try;	/* 0 .. the lookup's tries - 1 */
	uint8_t			 q[2 + DNSMSG_QUERY_MAX];	/* TCP's
						   length, then the query */
	size_t			 qlen;	/* of the query alone */
	size_t			 done;	/* TCP: bytes written or read */
	uint8_t			*buf;	/* 2 + DNSMSG_TCP_MAX: answers */
	enum dns_outcome	 outcome;
	const char		*why;	/* DNS_FAILED */
	char			 err[96];	/* why, when it is made up */
	uint8_t			*addrs;	/* DNS_ADDRS: 4 or 16 bytes each */
	size_t			 naddrs;
	unsigned		 ttl;
};

/* The lookups of one pool's name. */
struct dns_lookup {
	struct dns		*d;
	enum pool_id		 pool;
	char			*name;	/* as configured */
	unsigned		 port;
	struct event		*timer;	/* the next lookup */
	size_t			 cand;	/* dns_candidate's index */
	char			 cname[DNSMSG_NAME_MAX + 1];
	bool			 nodata;	/* a candidate had no address */
	bool			 starting;	/* in dns_lookup_candidate */
	struct dns_query	 q[2];	/* [v6] */
	struct addr		*addrs;	/* the answer */
	size_t			 naddrs, cap;
	char			 why[96];
};

struct dns {
	struct event_base	*base;
	const struct dns_ops	*ops;
	void			*ctx;
	unsigned		 refresh_ms;
	unsigned		 timeout_ms;
	struct dns_resolv	 rc;	/* search, ndots, attempts */
	struct addr		*ns;	/* the nameservers asked */
	size_t			 nns;
	struct dns_lookup	*lookups[POOL_COUNT];	/* NULL: no name */
};

static void	dns_lookup_start(struct dns_lookup *);
static void	dns_lookup_candidate(struct dns_lookup *);
static void	dns_lookup_next(struct dns_lookup *);
static void	dns_query_try(struct dns_query *);
static void	dns_query_cb(evutil_socket_t, short, void *);

bool
dns_wanted(const struct config *cf)
{
	for (int i = 0; i < POOL_COUNT; i++)
		if (cf->pools[i].dns != NULL)
			return (true);
	return (false);
}

static bool
dns_same_str(const char *a, const char *b)
{
	return (a == b || (a != NULL && b != NULL && strcmp(a, b) == 0));
}

bool
dns_same(const struct config *a, const struct config *b)
{
	const struct config_dns	*x = &a->dns, *y = &b->dns;

	for (int i = 0; i < POOL_COUNT; i++)
		if (!dns_same_str(a->pools[i].dns, b->pools[i].dns))
			return (false);
	if (x->nnameservers != y->nnameservers ||
	    x->refresh_ms != y->refresh_ms || x->timeout_ms != y->timeout_ms ||
	    !dns_same_str(x->resolv_conf, y->resolv_conf))
		return (false);
	for (size_t i = 0; i < x->nnameservers; i++)
		if (!addr_equal(&x->nameservers[i], &y->nameservers[i]))
			return (false);
	return (true);
}

unsigned
dns_next_ms(unsigned refresh_ms, unsigned ttl)
{
	unsigned long long	ttl_ms = (unsigned long long)ttl * 1000;

	if (ttl_ms < DNS_REFRESH_FLOOR_MS)
		ttl_ms = DNS_REFRESH_FLOOR_MS;
	return (ttl_ms < refresh_ms ? (unsigned)ttl_ms : refresh_ms);
}

/* ---------------------------------------------------------------- queries */

static void
dns_arm(struct dns_lookup *l, unsigned ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(l->timer, &tv);
}

static void
dns_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	dns_lookup_start(arg);
}

/* A fresh query id: getrandom, which does not block once the pool is
 * ready (it always is by the time a daemon runs). */
static uint16_t
dns_random_id(void)
{
	static uint16_t	 fallback;
	struct timespec	 ts;
	uint16_t	 id;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) == sizeof(id))
		return (id);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint16_t)(ts.tv_nsec ^ (ts.tv_nsec >> 16) ^ ++fallback));
}

/* Closes q's socket and its event: nothing of it runs later. */
static void
dns_query_close(struct dns_query *q)
{
	if (q->ev != NULL) {
		event_free(q->ev);
		q->ev = NULL;
	}
	if (q->fd != -1) {
		close(q->fd);
		q->fd = -1;
	}
}

/* Waits for what (EV_READ or EV_WRITE) on q's socket until its deadline. */
static int
dns_query_wait(struct dns_query *q, short what)
{
	struct timespec	 now;
	struct timeval	 tv = { 0, 0 };
	long long	 ns;

	if (q->ev != NULL)
		event_free(q->ev);
	if ((q->ev = event_new(q->l->d->base, q->fd, what, dns_query_cb,
	    q)) == NULL)
		return (-1);
	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (long long)(q->deadline.tv_sec - now.tv_sec) * 1000000000LL +
	    (q->deadline.tv_nsec - now.tv_nsec);
	if (ns > 0) {
		tv.tv_sec = (time_t)(ns / 1000000000LL);
		tv.tv_usec = (suseconds_t)(ns % 1000000000LL / 1000);
	}
	return (event_add(q->ev, &tv));
}

static void
dns_query_finish(struct dns_query *q, enum dns_outcome outcome)
{
	struct dns_lookup	*l = q->l;

	dns_query_close(q);
	q->state = DNS_DONE;
	q->outcome = outcome;
	if (!l->starting && l->q[!q->v6].state == DNS_DONE)
		dns_lookup_next(l);
}

/* This try failed (why): the next one, with the next nameserver. */
static void
dns_query_retry(struct dns_query *q, const char *why)
{
	const struct dns	*d = q->l->d;

	/* the lookup's outcome is logged once per change (cutover.c);
	 * each try is detail */
	log_debug("dns: %s %s to %s: %s (try %u of %u)", q->l->cname,
	    q->v6 ? "AAAA" : "A", d->ns[q->try % d->nns].text, why,
	    q->try + 1, d->rc.attempts * (unsigned)d->nns);
	dns_query_close(q);
	q->why = why;
	q->try++;
	dns_query_try(q);
}

static const char *
dns_query_errno(struct dns_query *q, const char *what)
{
	snprintf(q->err, sizeof(q->err), "%s: %s", what, strerror(errno));
	return (q->err);
}

/* Opens a socket of type to the try's nameserver; connect() may be under
 * way (TCP). */
static int
dns_query_socket(struct dns_query *q, int type)
{
	const struct dns	*d = q->l->d;
	const struct addr	*ns = &d->ns[q->try % d->nns];
	struct timespec		*t = &q->deadline;

	if ((q->fd = socket(ns->ss.ss_family, type | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	if (connect(q->fd, (const struct sockaddr *)&ns->ss, ns->len) == -1 &&
	    errno != EINPROGRESS)
		return (-1);
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += d->timeout_ms / 1000;
	t->tv_nsec += (long)(d->timeout_ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
	return (0);
}

/* Sends the next try over UDP, or ends q when the tries are spent. */
static void
dns_query_try(struct dns_query *q)
{
	const struct dns	*d = q->l->d;
	uint16_t		 id;

	for (; q->try < d->rc.attempts * d->nns; q->try++) {
		id = dns_random_id();
		q->q[2] = (uint8_t)(id >> 8);
		q->q[3] = (uint8_t)id;
		if (dns_query_socket(q, SOCK_DGRAM) == -1 ||
		    send(q->fd, q->q + 2, q->qlen, 0) == -1) {
			q->why = dns_query_errno(q, "cannot send");
			dns_query_close(q);
			continue;
		}
		q->state = DNS_UDP;
		if (dns_query_wait(q, EV_READ) == -1) {
			q->why = "out of memory";
			dns_query_close(q);
			continue;
		}
		return;
	}
	dns_query_finish(q, DNS_FAILED);
}

/* The same question over TCP, to the same nameserver, as a truncated
 * answer asks (RFC 7766). */
static void
dns_query_tcp(struct dns_query *q)
{
	dns_query_close(q);
	q->q[0] = (uint8_t)(q->qlen >> 8);
	q->q[1] = (uint8_t)q->qlen;
	q->done = 0;
	q->state = DNS_TCP_CONNECT;
	if (dns_query_socket(q, SOCK_STREAM) == -1)
		dns_query_retry(q, dns_query_errno(q, "TCP"));
	else if (dns_query_wait(q, EV_WRITE) == -1)
		dns_query_retry(q, "out of memory");
}

/* An answer of ours arrived (in q->buf, len bytes). */
static void
dns_query_answer(struct dns_query *q, size_t len)
{
	struct dnsmsg_reply	 r;
	size_t			 cap = DNSMSG_ADDRS_MAX(len), size = q->v6 ?
				    16 : 4;
	uint8_t			*addrs;
	bool			 tcp = q->state != DNS_UDP;

	if ((addrs = malloc(cap * size)) == NULL) {
		dns_query_retry(q, "out of memory");
		return;
	}
	switch (dnsmsg_parse(q->q + 2, q->qlen, q->buf + (tcp ? 2 : 0), len,
	    &r, addrs, cap)) {
	case DNSMSG_NOT_OURS:
		/* over UDP a stray (another id or question: a late answer to
		 * an earlier try, a spoofing attempt) is dropped and the
		 * answer may still come; over TCP the stream is ours */
		free(addrs);
		if (!tcp && dns_query_wait(q, EV_READ) == 0)
			return;
		dns_query_retry(q, tcp ? "malformed answer (another id or "
		    "question over TCP)" : "out of memory");
		return;
	case DNSMSG_MALFORMED:
		free(addrs);
		snprintf(q->err, sizeof(q->err), "malformed answer (%s)",
		    r.why != NULL ? r.why : "?");
		dns_query_retry(q, q->err);
		return;
	case DNSMSG_OK:
		break;
	}
	if (r.tc || r.rcode != DNSMSG_NOERROR || r.naddrs == 0) {
		free(addrs);
		addrs = NULL;
	}
	if (r.tc && !tcp)
		dns_query_tcp(q);
	else if (r.tc)
		dns_query_retry(q, "truncated over TCP too");
	else if (r.rcode == DNSMSG_NOERROR) {
		q->addrs = addrs;
		q->naddrs = r.naddrs;
		q->ttl = r.ttl;
		dns_query_finish(q, r.naddrs > 0 ? DNS_ADDRS : DNS_NODATA);
	} else if (r.rcode == DNSMSG_NXDOMAIN)
		dns_query_finish(q, DNS_NXDOMAIN);
	else if (r.rcode == DNSMSG_SERVFAIL)
		dns_query_retry(q, "server failed");
	else if (r.rcode == DNSMSG_REFUSED)
		dns_query_retry(q, "refused");
	else if (r.rcode == DNSMSG_FORMERR)
		dns_query_retry(q, "format error");
	else if (r.rcode == DNSMSG_NOTIMP)
		dns_query_retry(q, "not implemented");
	else {
		snprintf(q->err, sizeof(q->err), "server error (rcode %d)",
		    r.rcode);
		dns_query_retry(q, q->err);
	}
}

/* UDP: every datagram waiting; a stray one (another id or question)
 * is dropped and the wait goes on. */
static void
dns_query_udp_read(struct dns_query *q)
{
	ssize_t	n;

	n = recv(q->fd, q->buf, 2 + DNSMSG_TCP_MAX, 0);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR)) {
		if (dns_query_wait(q, EV_READ) == -1)
			dns_query_retry(q, "out of memory");
	} else if (n == -1)
		/* ECONNREFUSED: nothing listens there */
		dns_query_retry(q, dns_query_errno(q, "no answer"));
	else
		dns_query_answer(q, (size_t)n);
}

/* TCP: connect, write the length and query, read the length and answer. */
static void
dns_query_tcp_io(struct dns_query *q)
{
	ssize_t		n;
	size_t		want;
	int		err = 0;
	socklen_t	len = sizeof(err);

	if (q->state == DNS_TCP_CONNECT) {
		if (getsockopt(q->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			errno = err;
			dns_query_retry(q, dns_query_errno(q, "TCP"));
			return;
		}
		q->state = DNS_TCP_WRITE;
	}
	if (q->state == DNS_TCP_WRITE) {
		n = send(q->fd, q->q + q->done, 2 + q->qlen - q->done,
		    MSG_NOSIGNAL);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			dns_query_retry(q, dns_query_errno(q, "TCP"));
			return;
		}
		if (n > 0)
			q->done += (size_t)n;
		if (q->done < 2 + q->qlen) {
			if (dns_query_wait(q, EV_WRITE) == -1)
				dns_query_retry(q, "out of memory");
			return;
		}
		q->state = DNS_TCP_READ;
		q->done = 0;
		if (dns_query_wait(q, EV_READ) == -1)
			dns_query_retry(q, "out of memory");
		return;
	}
	/* DNS_TCP_READ: the 2-byte length first, then that much (at most
	 * DNSMSG_TCP_MAX: the buffer's size) */
	want = q->done < 2 ? 2 : 2 + ((size_t)q->buf[0] << 8 | q->buf[1]);
	n = recv(q->fd, q->buf + q->done, want - q->done, 0);
	if (n == 0) {
		dns_query_retry(q, "TCP: connection closed before the answer");
		return;
	}
	if (n == -1 && errno != EAGAIN && errno != EINTR) {
		dns_query_retry(q, dns_query_errno(q, "TCP"));
		return;
	}
	if (n > 0)
		q->done += (size_t)n;
	if (q->done >= 2)
		want = 2 + ((size_t)q->buf[0] << 8 | q->buf[1]);
	if (q->done < want) {
		if (dns_query_wait(q, EV_READ) == -1)
			dns_query_retry(q, "out of memory");
		return;
	}
	dns_query_answer(q, want - 2);
}

static void
dns_query_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query	*q = arg;

	if (what & EV_TIMEOUT)
		dns_query_retry(q, "timed out");
	else if (q->state == DNS_UDP)
		dns_query_udp_read(q);
	else
		dns_query_tcp_io(q);
}

/* Starts q for the lookup's current candidate (in l->cname); 0, or -1
 * when the name cannot be asked (too long). */
static int
dns_query_start(struct dns_query *q)
{
	free(q->addrs);
	q->addrs = NULL;
	q->naddrs = 0;
	q->ttl = UINT32_MAX;
	q->why = NULL;
	q->try = 0;
	if ((q->qlen = dnsmsg_query(q->q + 2, sizeof(q->q) - 2, 0,
	    q->l->cname, q->v6 ? DNSMSG_AAAA : DNSMSG_A)) == 0)
		return (-1);
	q->state = DNS_IDLE;
	dns_query_try(q);
	return (0);
}

/* ---------------------------------------------------------------- lookups */

static int
dns_addr_cmp(const void *x, const void *y)
{
	return (addr_cmp(x, y));
}

/* Appends one address of the answer, with the pool's port. */
static int
dns_lookup_add(struct dns_lookup *l, const uint8_t *ip, int v6)
{
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
	struct addr		*v;

	if (l->naddrs == l->cap) {
		size_t n = l->cap > 0 ? l->cap * 2 : 8;

		if ((v = reallocarray(l->addrs, n, sizeof(*v))) == NULL)
			return (-1);
		l->addrs = v;
		l->cap = n;
	}
	if (v6) {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons((uint16_t)l->port);
		memcpy(&sin6.sin6_addr, ip, sizeof(sin6.sin6_addr));
		addr_from_sockaddr(&l->addrs[l->naddrs++],
		    (struct sockaddr *)&sin6, sizeof(sin6));
	} else {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)l->port);
		memcpy(&sin.sin_addr, ip, sizeof(sin.sin_addr));
		addr_from_sockaddr(&l->addrs[l->naddrs++],
		    (struct sockaddr *)&sin, sizeof(sin));
	}
	return (0);
}

/* The lookup ended (why NULL: with l->q's addresses): the outcome goes
 * up, and the next lookup is due. */
static void
dns_lookup_done(struct dns_lookup *l, const char *why)
{
	struct dns_answer	a;
	size_t			k = 0;
	unsigned		ms = l->d->refresh_ms, ttl = UINT32_MAX;

	memset(&a, 0, sizeof(a));
	l->naddrs = 0;
	for (int v6 = 0; v6 < 2 && why == NULL; v6++) {
		for (size_t i = 0; i < l->q[v6].naddrs && why == NULL; i++)
			if (dns_lookup_add(l, l->q[v6].addrs + i * (v6 ? 16 :
			    4), v6) == -1)
				why = "out of memory";
		if (l->q[v6].ttl < ttl)
			ttl = l->q[v6].ttl;
	}
	if (l->naddrs > 1)
		qsort(l->addrs, l->naddrs, sizeof(*l->addrs), dns_addr_cmp);
	for (size_t i = 0; i < l->naddrs; i++)
		if (k == 0 || addr_cmp(&l->addrs[k - 1], &l->addrs[i]) != 0)
			l->addrs[k++] = l->addrs[i];
	l->naddrs = k;
	if (why != NULL) {
		snprintf(l->why, sizeof(l->why), "%s", why);
		a.why = l->why;
	} else {
		a.ok = true;
		a.addrs = l->addrs;
		a.naddrs = l->naddrs;
		a.ttl = ttl;
		ms = dns_next_ms(ms, ttl);
	}
	for (int v6 = 0; v6 < 2; v6++) {
		free(l->q[v6].addrs);
		l->q[v6].addrs = NULL;
		l->q[v6].state = DNS_IDLE;
	}
	a.next_ms = ms;
	dns_arm(l, ms);
	l->d->ops->answer(l->d->ctx, l->pool, &a);
}

/*
 * Both queries of the current candidate ended: the lookup ends with its
 * addresses, or fails, or the next candidate is asked.  An error ends the
 * lookup: asking the next candidate could find an unrelated host's
 * addresses while the right name's server is down.  And a partial answer
 * (A, but AAAA timed out) is a failure, or members that still exist
 * would be dropped for a lost packet.
 */
static void
dns_lookup_next(struct dns_lookup *l)
{
	const struct dns_query	*a = &l->q[0], *b = &l->q[1];

	if (a->outcome == DNS_FAILED || b->outcome == DNS_FAILED)
		dns_lookup_done(l, a->outcome == DNS_FAILED ? a->why : b->why);
	else if (a->outcome == DNS_ADDRS || b->outcome == DNS_ADDRS)
		dns_lookup_done(l, NULL);
	else {
		l->nodata |= a->outcome == DNS_NODATA ||
		    b->outcome == DNS_NODATA;
		l->q[0].state = l->q[1].state = DNS_IDLE;
		l->cand++;
		dns_lookup_candidate(l);
	}
}

/*
 * Asks the current candidate (l->cand) A and AAAA at once; passes over
 * one too long to ask.  Called again when both queries ended.
 */
static void
dns_lookup_candidate(struct dns_lookup *l)
{
	for (;; l->cand++) {
		if (!dns_candidate(l->name, &l->d->rc, l->cand, l->cname,
		    sizeof(l->cname))) {
			dns_lookup_done(l, l->nodata ? "no addresses" :
			    "NXDOMAIN");
			return;
		}
		/* a query that ends at once (no socket) must not move on
		 * before its sibling is under way */
		l->starting = true;
		if (dns_query_start(&l->q[0]) == 0) {
			(void)dns_query_start(&l->q[1]);
			l->starting = false;
			break;
		}
		l->starting = false;
	}
	if (l->q[0].state == DNS_DONE && l->q[1].state == DNS_DONE)
		dns_lookup_next(l);
}

static void
dns_lookup_start(struct dns_lookup *l)
{
	l->cand = 0;
	l->nodata = false;
	dns_lookup_candidate(l);
}

static void
dns_lookup_free(struct dns_lookup *l)
{
	if (l == NULL)
		return;
	for (int v6 = 0; v6 < 2; v6++) {
		dns_query_close(&l->q[v6]);
		free(l->q[v6].addrs);
		free(l->q[v6].buf);
	}
	if (l->timer != NULL)
		event_free(l->timer);
	free(l->name);
	free(l->addrs);
	free(l);
}

static struct dns_lookup *
dns_lookup_new(struct dns *d, const struct config_pool *cp, enum pool_id id)
{
	struct dns_lookup	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return (NULL);
	l->d = d;
	l->pool = id;
	l->port = cp->dns_port;
	for (int v6 = 0; v6 < 2; v6++) {
		l->q[v6].l = l;
		l->q[v6].v6 = v6;
		l->q[v6].fd = -1;
		l->q[v6].buf = malloc(2 + DNSMSG_TCP_MAX);
	}
	if (l->q[0].buf == NULL || l->q[1].buf == NULL ||
	    (l->name = strdup(cp->dns_name)) == NULL ||
	    (l->timer = evtimer_new(d->base, dns_timer_cb, l)) == NULL) {
		dns_lookup_free(l);
		return (NULL);
	}
	dns_arm(l, 0);
	return (l);
}

/* ------------------------------------------------------------ resolv.conf */

static void
dns_warn(char *warn, size_t warnlen, const char *fmt, const char *arg)
{
	size_t	n = strnlen(warn, warnlen);

	if (n + 3 >= warnlen)
		return;
	if (n > 0) {
		memcpy(warn + n, "; ", 3);
		n += 2;
	}
	snprintf(warn + n, warnlen - n, fmt, arg);
}

/* A numeric nameserver address (an IPv6 one may carry a %scope), port
 * 53, or "IP:PORT" ("[IPv6]:PORT") as evdns took it.  getaddrinfo with
 * AI_NUMERICHOST never asks anyone. */
static int
dns_resolv_ns(struct addr *a, const char *text)
{
	struct addrinfo	 hints, *res;
	char		 err[64];

	if (addr_parse(text, a, false, err, sizeof(err)) == 0)
		return (0);

	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_DGRAM;
	if (getaddrinfo(text, "53", &hints, &res) != 0)
		return (-1);
	addr_from_sockaddr(a, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return (0);
}

/* An option's number: "ndots:5" with prefix "ndots:". */
static bool
dns_resolv_opt(const char *word, const char *prefix, unsigned max,
    unsigned *v)
{
	size_t		 n = strlen(prefix);
	unsigned long	 x;
	char		*end;

	if (strncmp(word, prefix, n) != 0 || word[n] < '0' || word[n] > '9')
		return (false);
	x = strtoul(word + n, &end, 10);
	if (*end != '\0')
		return (false);
	*v = x > max ? max : (unsigned)x;
	return (true);
}

void
dns_resolv_parse(struct dns_resolv *rc, const char *text, size_t len,
    char *warn, size_t warnlen)
{
	const char	*sep = " \t\r";
	char		 line[1024], *w, *save;
	size_t		 n, i = 0;
	unsigned	 v;

	if (warnlen > 0)
		warn[0] = '\0';
	memset(rc, 0, sizeof(*rc));
	rc->ndots = 1;
	rc->attempts = 2;
	while (i < len) {
		n = 0;
		while (i < len && text[i] != '\n') {
			if (n < sizeof(line))
				line[n++] = text[i] == '\0' ? ' ' : text[i];
			i++;
		}
		i++;
		/* a line cut short could name another domain: drop it */
		if (n == sizeof(line)) {
			dns_warn(warn, warnlen, "a line longer than 1023 "
			    "bytes %s", "ignored");
			continue;
		}
		line[n] = '\0';
		line[strcspn(line, "#;")] = '\0';
		if ((w = strtok_r(line, sep, &save)) == NULL)
			continue;
		if (strcmp(w, "nameserver") == 0) {
			if ((w = strtok_r(NULL, sep, &save)) == NULL)
				continue;
			if (rc->nns == DNS_NS_MAX)
				dns_warn(warn, warnlen, "nameserver %s: more "
				    "than 8, ignored", w);
			else if (dns_resolv_ns(&rc->ns[rc->nns], w) == -1)
				dns_warn(warn, warnlen, "nameserver %s: not "
				    "a numeric address, ignored", w);
			else
				rc->nns++;
		} else if (strcmp(w, "search") == 0 ||
		    strcmp(w, "domain") == 0) {
			/* the last search or domain line wins */
			rc->nsearch = 0;
			while ((w = strtok_r(NULL, sep, &save)) != NULL) {
				n = strlen(w);
				if (n > 1 && w[n - 1] == '.')
					w[--n] = '\0';
				if (strcmp(w, ".") == 0)
					continue;	/* the root */
				if (n >= sizeof(rc->search[0]))
					dns_warn(warn, warnlen, "search domain "
					    "%.64s...: too long, ignored", w);
				else if (rc->nsearch == DNS_SEARCH_MAX)
					dns_warn(warn, warnlen, "search domain "
					    "%s: more than 32, ignored", w);
				else
					memcpy(rc->search[rc->nsearch++], w,
					    n + 1);
			}
		} else if (strcmp(w, "options") == 0) {
			while ((w = strtok_r(NULL, sep, &save)) != NULL) {
				if (dns_resolv_opt(w, "ndots:", DNS_NDOTS_MAX,
				    &v))
					rc->ndots = v;
				else if (dns_resolv_opt(w, "attempts:",
				    DNS_ATTEMPTS_MAX, &v))
					rc->attempts = v > 0 ? v : 1;
				/* timeout:N: dns.timeout_ms replaces it */
			}
		}
	}
}

bool
dns_candidate(const char *name, const struct dns_resolv *rc, size_t i,
    char *buf, size_t len)
{
	size_t		n = strlen(name), dots = 0, domain;
	bool		asis_first;

	if (n > 0 && name[n - 1] == '.') {
		if (i > 0)
			return (false);
		snprintf(buf, len, "%.*s", (int)(n - 1), name);
		return (true);
	}
	if (i > rc->nsearch)
		return (false);
	for (size_t j = 0; j < n; j++)
		dots += name[j] == '.';
	asis_first = dots >= rc->ndots;
	if (asis_first ? i == 0 : i == rc->nsearch) {
		snprintf(buf, len, "%s", name);
		return (true);
	}
	domain = asis_first ? i - 1 : i;
	/* one too long to hold is empty, which dnsmsg_query refuses: the
	 * candidate is passed over */
	if ((size_t)snprintf(buf, len, "%s.%s", name, rc->search[domain]) >=
	    len)
		buf[0] = '\0';
	return (true);
}

/*
 * Reads dns.resolv_conf into d->rc without ever blocking: O_NONBLOCK, a
 * regular file only (a FIFO's open would wait for a writer), at most
 * DNS_RESOLV_CONF_MAX bytes.
 */
static void
dns_read_resolv(struct dns *d, const struct config_dns *c, char *warn,
    size_t warnlen)
{
	const char	*path = c->resolv_conf;
	struct stat	 st;
	char		*text = NULL, w[512] = "";
	ssize_t		 r;
	size_t		 n = 0;
	int		 fd = -1;
	const char	*bad = NULL;

	dns_resolv_parse(&d->rc, "", 0, w, sizeof(w));
	if (path == NULL)
		return;
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		/* no file is no error when dns.nameservers says whom to ask */
		if (c->nnameservers > 0)
			return;
		bad = strerror(errno);
	} else if (fstat(fd, &st) == -1)
		bad = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		bad = "not a regular file";
	else if ((text = malloc(DNS_RESOLV_CONF_MAX + 1)) == NULL)
		bad = "out of memory";
	else {
		while (n <= DNS_RESOLV_CONF_MAX && (r = read(fd, text + n,
		    DNS_RESOLV_CONF_MAX + 1 - n)) != 0) {
			if (r == -1 && errno == EINTR)
				continue;
			if (r == -1) {
				bad = strerror(errno);
				break;
			}
			n += (size_t)r;
		}
		if (bad == NULL && n > DNS_RESOLV_CONF_MAX) {
			snprintf(warn, warnlen, "%s: longer than 64 KiB, the "
			    "rest ignored", path);
			n = DNS_RESOLV_CONF_MAX;
		}
		if (bad == NULL)
			dns_resolv_parse(&d->rc, text, n, w, sizeof(w));
	}
	if (fd != -1)
		close(fd);
	free(text);
	if (bad != NULL)
		snprintf(warn, warnlen, "%s: %s%s", path, bad,
		    c->nnameservers > 0 ? " (its search and options are not "
		    "used)" : " (and dns.nameservers is empty): asking "
		    "127.0.0.1:53");
	else if (w[0] != '\0' && warn[0] == '\0')
		snprintf(warn, warnlen, "%s: %s", path, w);
	if (bad == NULL && d->rc.nns == 0 && c->nnameservers == 0)
		dns_warn(warn, warnlen, "%s: no nameserver in it: asking "
		    "127.0.0.1:53", path);
}

/* ---------------------------------------------------------------- resolver */

struct dns *
dns_new(struct event_base *base, const struct config *cf,
    const struct dns_ops *ops, void *ctx, char *err, size_t errlen,
    char *warn, size_t warnlen)
{
	const struct config_dns	*c = &cf->dns;
	struct dns		*d;

	if (warnlen > 0)
		warn[0] = '\0';
	if ((d = calloc(1, sizeof(*d))) == NULL)
		goto nomem;
	d->base = base;
	d->ops = ops;
	d->ctx = ctx;
	d->refresh_ms = c->refresh_ms;
	d->timeout_ms = c->timeout_ms;
	dns_read_resolv(d, c, warn, warnlen);
	/* dns.nameservers, else resolv.conf's, else the local one */
	if (c->nnameservers > 0) {
		if ((d->ns = calloc(c->nnameservers, sizeof(*d->ns))) == NULL)
			goto nomem;
		memcpy(d->ns, c->nameservers, c->nnameservers *
		    sizeof(*d->ns));
		d->nns = c->nnameservers;
	} else if (d->rc.nns > 0) {
		d->ns = d->rc.ns;
		d->nns = d->rc.nns;
	} else {
		d->ns = d->rc.ns;
		d->nns = 1;
		if (dns_resolv_ns(&d->ns[0], "127.0.0.1") == -1) {
			snprintf(err, errlen, "dns: cannot use 127.0.0.1:53");
			goto fail;
		}
	}
	for (int i = 0; i < POOL_COUNT; i++)
		if (cf->pools[i].dns != NULL && (d->lookups[i] =
		    dns_lookup_new(d, &cf->pools[i], (enum pool_id)i)) == NULL)
			goto nomem;
	return (d);
nomem:
	snprintf(err, errlen, "dns: out of memory");
fail:
	dns_free(d);
	return (NULL);
}

void
dns_free(struct dns *d)
{
	if (d == NULL)
		return;
	for (int i = 0; i < POOL_COUNT; i++)
		dns_lookup_free(d->lookups[i]);
	if (d->ns != d->rc.ns)
		free(d->ns);
	free(d);
}
