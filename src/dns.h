/*
 * dns.h — re-resolution of the pools' DNS names (pools.NAME.dns, a
 * Kubernetes headless Service: one A or AAAA record per ready Pod).
 * Layer 2 (runtime).
 *
 * A stub resolver of its own (messages in dnsmsg.c) on the control
 * thread's event base: lookups never block and never run on a worker.
 * Each asks over UDP with EDNS0, again over TCP when the answer comes
 * back truncated, tries every nameserver in turn, and walks the search
 * list as glibc does, taking A and AAAA from one candidate name only.
 * One struct dns per configuration of
 * dns.* and of the pools' names; a reload that changes them makes a new
 * one.  For every pool with a name it asks for A and AAAA, combines both
 * answers into one sorted list without repeats, and asks again every
 * dns.refresh_ms, or sooner when the answer's smallest TTL is shorter
 * (never sooner than DNS_REFRESH_FLOOR_MS).
 *
 * It knows nothing of its owner: each outcome goes to the answer callback
 * of the ops it was made with, with the owner's context pointer.
 */
#ifndef CUTOVER_DNS_H
#define CUTOVER_DNS_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "pool.h"

#define DNS_REFRESH_FLOOR_MS	1000	/* a TTL of 0 must not spin */
#define DNS_NS_MAX		8	/* nameservers of resolv.conf used */
#define DNS_SEARCH_MAX		32	/* search domains used */
#define DNS_NDOTS_MAX		15	/* as glibc */
#define DNS_ATTEMPTS_MAX	5	/* as glibc */
#define DNS_RESOLV_CONF_MAX	65536	/* bytes of resolv.conf read */

struct config;
struct event_base;
struct dns;

/* The outcome of one lookup of a pool's name (A and AAAA together). */
struct dns_answer {
	bool			 ok;	/* false: failed, or no address */
	const char		*why;	/* !ok: "timed out", "NXDOMAIN",
					   "no addresses", "server failed",
					   "refused", "truncated over TCP
					   too", ... */
	const struct addr	*addrs;	/* ok: sorted, unique, with the
					   pool's port; borrowed */
	size_t			 naddrs;	/* ok: at least 1 */
	unsigned		 ttl;	/* ok: the smallest TTL, seconds */
	unsigned		 next_ms;	/* when it asks again */
};

struct dns_ops {
	/* One lookup of pool's name ended (a cancelled one never does). */
	void	(*answer)(void *ctx, enum pool_id pool,
		    const struct dns_answer *a);
};

/*
 * When to look a name up again after an answer whose smallest TTL is ttl
 * seconds: refresh_ms, or sooner when the TTL runs out sooner, but never
 * sooner than DNS_REFRESH_FLOOR_MS (a TTL of 0 must not spin).  A failed
 * lookup is tried again after refresh_ms.
 */
unsigned	 dns_next_ms(unsigned refresh_ms, unsigned ttl);

/* What resolv.conf says (dns_resolv_parse), with glibc's defaults. */
struct dns_resolv {
	struct addr	 ns[DNS_NS_MAX];	/* port 53 */
	size_t		 nns;
	char		 search[DNS_SEARCH_MAX][256];	/* no final dot */
	size_t		 nsearch;
	unsigned	 ndots;		/* default 1 */
	unsigned	 attempts;	/* tries per nameserver; default 2 */
};

/*
 * Parses len bytes of a resolv.conf(5) into rc: `nameserver` (numeric
 * addresses), `search` and `domain` (the last such line wins), `options`
 * ndots:N, attempts:N (and timeout:N, which dns.timeout_ms replaces);
 * other lines and options are ignored, as by glibc.  What it cannot use
 * (a bad address, too many nameservers or domains) is skipped and said in
 * warn (NUL-terminated, empty when all is well).
 */
void		 dns_resolv_parse(struct dns_resolv *rc, const char *text,
		    size_t len, char *warn, size_t warnlen);

/*
 * The i-th name to ask for name (0, 1, ...) into buf, glibc's order: a
 * name with a final dot is only itself (without the dot); one with at
 * least ndots dots is asked as it is first, then with each search domain;
 * one with fewer, with each domain first, then as it is.  Returns false
 * when there is no i-th name.  A candidate longer than len is cut (the
 * query cannot be built and the candidate is passed over).
 */
bool		 dns_candidate(const char *name, const struct dns_resolv *rc,
		    size_t i, char *buf, size_t len);

/* Whether cf names a pool by DNS (a struct dns would have work). */
bool		 dns_wanted(const struct config *cf);

/*
 * Whether a and b ask for the same lookups: the same dns.* settings and
 * the same name for every pool (a reload keeps the struct dns then).
 */
bool		 dns_same(const struct config *a, const struct config *b);

/*
 * Starts resolving every pool name of cf on base (the first lookups go
 * out as soon as the loop runs).  Nameservers are dns.nameservers, or
 * those of dns.resolv_conf when there are none; search, ndots and the
 * other options always come from dns.resolv_conf when it is readable.
 * resolv_conf must be a regular file (it is opened without blocking: a
 * FIFO would hang the control thread); one that is not, or that cannot
 * be read, gives the defaults (nameserver 127.0.0.1:53, no search, ndots
 * 1) and a warning.  cf is not kept.  Returns the resolver, or NULL with a reason in err;
 * warn (NUL-terminated, empty when all is well) says what was odd but not
 * fatal, such as an unreadable resolv_conf.
 */
struct dns	*dns_new(struct event_base *base, const struct config *cf,
		    const struct dns_ops *ops, void *ctx, char *err,
		    size_t errlen, char *warn, size_t warnlen);

/*
 * Cancels every lookup under way (no answer callback runs after this;
 * every socket is closed) and frees d; NULL is a no-op.
 */
void		 dns_free(struct dns *d);

#endif
