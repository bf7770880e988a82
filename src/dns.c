/*
 * dns.c — the pools' DNS names, resolved with evdns on the control
 * thread's loop and asked again on a timer.
 *
 * Each lookup sends two requests (A and AAAA).  A request's callback gets
 * a small struct of its own rather than the lookup: evdns runs callbacks
 * later from the loop, even those of requests cancelled meanwhile
 * (DNS_ERR_CANCEL, DNS_ERR_SHUTDOWN), so a cancelled request's struct is
 * cut loose from its lookup and freed by that late callback.
 */
#include "autoconf.h"

#include <netinet/in.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dns.h"
#include "log.h"

struct dns_lookup;

/* One request (A or AAAA) under way. */
struct dns_query {
	struct dns_lookup	*l;	/* NULL: cancelled, nobody waits */
	struct evdns_request	*req;
	int			 v6;
};

/* The lookups of one pool's name. */
struct dns_lookup {
	struct dns		*d;
	enum pool_id		 pool;
	char			*name;	/* without a final dot */
	int			 flags;	/* DNS_QUERY_NO_SEARCH: absolute */
	unsigned		 port;
	struct event		*timer;
	struct dns_query	*q[2];	/* [v6] under way */
	int			 err[2];	/* [v6] DNS_ERR_* once ended */
	struct addr		*addrs;	/* the answers so far */
	size_t			 naddrs, cap;
	unsigned		 ttl;
};

struct dns {
	struct event_base	*base;
	struct evdns_base	*evdns;
	const struct dns_ops	*ops;
	void			*ctx;
	unsigned		 refresh_ms;
	struct dns_lookup	*lookups[POOL_COUNT];	/* NULL: no name */
};

static void	dns_lookup_start(struct dns_lookup *);

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

/* What a failed request's error is called in the log and status. */
static const char *
dns_err_name(int err)
{
	switch (err) {
	case DNS_ERR_NOTEXIST:
		return ("NXDOMAIN");
	case DNS_ERR_NODATA:
		return ("no addresses");
	case DNS_ERR_SERVERFAILED:
		return ("server failed");
	case DNS_ERR_TIMEOUT:
		return ("timed out");
	case DNS_ERR_REFUSED:
		return ("refused");
	case DNS_ERR_FORMAT:
		return ("format error");
	case DNS_ERR_TRUNCATED:
		return ("truncated answer");
	default:
		return (evdns_err_to_string(err));
	}
}

/* Whether err says the name has no such address rather than that the
 * lookup failed: the other family's answer may still hold some. */
static bool
dns_err_empty(int err)
{
	return (err == DNS_ERR_NONE || err == DNS_ERR_NOTEXIST ||
	    err == DNS_ERR_NODATA);
}

static int
dns_addr_cmp(const void *x, const void *y)
{
	return (addr_cmp(x, y));
}

/* Both requests ended: the outcome goes up, and the next lookup is due. */
static void
dns_lookup_done(struct dns_lookup *l)
{
	struct dns_answer	a;
	size_t			k = 0;
	unsigned		ms = l->d->refresh_ms;

	memset(&a, 0, sizeof(a));
	if (l->naddrs > 1)
		qsort(l->addrs, l->naddrs, sizeof(*l->addrs), dns_addr_cmp);
	for (size_t i = 0; i < l->naddrs; i++)
		if (k == 0 || addr_cmp(&l->addrs[k - 1], &l->addrs[i]) != 0)
			l->addrs[k++] = l->addrs[i];
	l->naddrs = k;
	/* a partial answer (A, but AAAA timed out) would drop members that
	 * still exist: only a whole answer counts */
	if (!dns_err_empty(l->err[0]) || !dns_err_empty(l->err[1]))
		a.why = dns_err_name(!dns_err_empty(l->err[0]) ? l->err[0] :
		    l->err[1]);
	else if (l->naddrs == 0)
		a.why = l->err[0] == DNS_ERR_NOTEXIST ||
		    l->err[1] == DNS_ERR_NOTEXIST ? "NXDOMAIN" :
		    "no addresses";
	else {
		a.ok = true;
		a.addrs = l->addrs;
		a.naddrs = l->naddrs;
		a.ttl = l->ttl;
		ms = dns_next_ms(ms, l->ttl);
	}
	a.next_ms = ms;
	dns_arm(l, ms);
	l->d->ops->answer(l->d->ctx, l->pool, &a);
}

/* Appends one address of the answer, with the pool's port. */
static int
dns_lookup_add(struct dns_lookup *l, const void *ip, int v6)
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

static void
dns_answer_cb(int result, char type, int count, int ttl, void *addresses,
    void *arg)
{
	struct dns_query	*q = arg;
	struct dns_lookup	*l = q->l;
	int			 v6 = q->v6;
	size_t			 size = v6 ? 16 : 4;

	free(q);
	if (l == NULL)
		return;		/* cancelled: dns_free let go of it */
	l->q[v6] = NULL;
	l->err[v6] = result;
	if (result == DNS_ERR_NONE && count == 0)
		l->err[v6] = DNS_ERR_NODATA;
	if (result == DNS_ERR_NONE && count > 0 && type == (v6 ?
	    DNS_IPv6_AAAA : DNS_IPv4_A)) {
		if (ttl >= 0 && (unsigned)ttl < l->ttl)
			l->ttl = (unsigned)ttl;
		for (int i = 0; i < count; i++)
			if (dns_lookup_add(l, (const char *)addresses +
			    (size_t)i * size, v6) == -1) {
				l->err[v6] = DNS_ERR_UNKNOWN;
				break;
			}
	}
	if (l->q[0] == NULL && l->q[1] == NULL)
		dns_lookup_done(l);
}

/* Sends the A and AAAA requests of l's name. */
static void
dns_lookup_start(struct dns_lookup *l)
{
	struct dns_query	*q;

	l->naddrs = 0;
	l->ttl = UINT32_MAX;
	for (int v6 = 0; v6 < 2; v6++) {
		l->err[v6] = DNS_ERR_UNKNOWN;	/* could not ask */
		if ((q = calloc(1, sizeof(*q))) == NULL)
			continue;
		q->l = l;
		q->v6 = v6;
		/* the callback runs from the loop, never in here */
		q->req = v6 ? evdns_base_resolve_ipv6(l->d->evdns, l->name,
		    l->flags, dns_answer_cb, q) :
		    evdns_base_resolve_ipv4(l->d->evdns, l->name, l->flags,
		    dns_answer_cb, q);
		if (q->req == NULL)
			free(q);
		else
			l->q[v6] = q;
	}
	if (l->q[0] == NULL && l->q[1] == NULL)
		dns_lookup_done(l);
}

/* Lets go of l's requests: their late callbacks free their structs. */
static void
dns_lookup_cancel(struct dns_lookup *l)
{
	for (int v6 = 0; v6 < 2; v6++)
		if (l->q[v6] != NULL) {
			l->q[v6]->l = NULL;
			evdns_cancel_request(l->d->evdns, l->q[v6]->req);
			l->q[v6] = NULL;
		}
}

static void
dns_lookup_free(struct dns_lookup *l)
{
	if (l == NULL)
		return;
	dns_lookup_cancel(l);
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
	size_t			 n = strlen(cp->dns_name);

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return (NULL);
	l->d = d;
	l->pool = id;
	l->port = cp->dns_port;
	/* a final dot means absolute: no search domains (evdns would
	 * append them to the dot) */
	if (n > 0 && cp->dns_name[n - 1] == '.') {
		n--;
		l->flags = DNS_QUERY_NO_SEARCH;
	}
	if ((l->name = strndup(cp->dns_name, n)) == NULL ||
	    (l->timer = evtimer_new(d->base, dns_timer_cb, l)) == NULL) {
		dns_lookup_free(l);
		return (NULL);
	}
	dns_arm(l, 0);
	return (l);
}

/* evdns speaks of every try ("Nameserver ... has failed"); cutover logs
 * a lookup's outcome once per change (cutover.c), so this is detail. */
static void
dns_evdns_log(int is_warning, const char *msg)
{
	log_debug("dns: evdns: %s", msg);
}

/* The nameservers and options of d, from cf. */
static int
dns_configure(struct dns *d, const struct config *cf, char *err,
    size_t errlen, char *warn, size_t warnlen)
{
	const struct config_dns	*c = &cf->dns;
	char			 v[32];
	int			 flags = DNS_OPTION_SEARCH | DNS_OPTION_MISC, rc;

	if (c->nnameservers == 0)
		flags |= DNS_OPTION_NAMESERVERS;
	rc = evdns_base_resolv_conf_parse(d->evdns, flags, c->resolv_conf);
	if (rc != 0 && (c->nnameservers == 0 || rc != 1))
		snprintf(warn, warnlen, "%s: %s%s", c->resolv_conf,
		    rc == 1 ? "cannot read it" : rc == 6 ?
		    "no nameserver in it" : "cannot parse it",
		    c->nnameservers == 0 ? " (and dns.nameservers is empty): "
		    "asking 127.0.0.1:53" : "");
	for (size_t i = 0; i < c->nnameservers; i++)
		if (evdns_base_nameserver_sockaddr_add(d->evdns,
		    (const struct sockaddr *)&c->nameservers[i].ss,
		    c->nameservers[i].len, 0) != 0) {
			snprintf(err, errlen, "dns: cannot use nameserver %s",
			    c->nameservers[i].text);
			return (-1);
		}
	/* dns.timeout_ms has a default, so it wins over resolv.conf's */
	snprintf(v, sizeof(v), "%u.%03u", c->timeout_ms / 1000,
	    c->timeout_ms % 1000);
	if (evdns_base_set_option(d->evdns, "timeout:", v) != 0) {
		snprintf(err, errlen, "dns: cannot set timeout %s", v);
		return (-1);
	}
	return (0);
}

struct dns *
dns_new(struct event_base *base, const struct config *cf,
    const struct dns_ops *ops, void *ctx, char *err, size_t errlen,
    char *warn, size_t warnlen)
{
	struct dns	*d;

	if (warnlen > 0)
		warn[0] = '\0';
	evdns_set_log_fn(dns_evdns_log);
	if ((d = calloc(1, sizeof(*d))) == NULL)
		goto nomem;
	d->base = base;
	d->ops = ops;
	d->ctx = ctx;
	d->refresh_ms = cf->dns.refresh_ms;
	if ((d->evdns = evdns_base_new(base, 0)) == NULL)
		goto nomem;
	if (dns_configure(d, cf, err, errlen, warn, warnlen) == -1)
		goto fail;
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
	/* 1: what is still queued fails (DNS_ERR_SHUTDOWN) rather than
	 * vanishing; none of it is ours any more */
	if (d->evdns != NULL)
		evdns_base_free(d->evdns, 1);
	free(d);
}
