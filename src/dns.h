/*
 * dns.h — re-resolution of the pools' DNS names (pools.NAME.dns, a
 * Kubernetes headless Service: one A or AAAA record per ready Pod).
 * Layer 2 (runtime).
 *
 * libevent's evdns on the control thread's event base: lookups never
 * block and never run on a worker.  One struct dns per configuration of
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

struct config;
struct event_base;
struct dns;

/* The outcome of one lookup of a pool's name (A and AAAA together). */
struct dns_answer {
	bool			 ok;	/* false: failed, or no address */
	const char		*why;	/* !ok: "timed out", "NXDOMAIN",
					   "no addresses", "server failed" */
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
 * cf is not kept.  Returns the resolver, or NULL with a reason in err;
 * warn (NUL-terminated, empty when all is well) says what was odd but not
 * fatal, such as an unreadable resolv_conf.
 */
struct dns	*dns_new(struct event_base *base, const struct config *cf,
		    const struct dns_ops *ops, void *ctx, char *err,
		    size_t errlen, char *warn, size_t warnlen);

/*
 * Cancels every lookup under way (their callbacks, run later by the loop,
 * only free what was theirs) and frees d; NULL is a no-op.
 */
void		 dns_free(struct dns *d);

#endif
