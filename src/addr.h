/*
 * addr.h — numeric socket addresses: "127.0.0.1:9001", "[::1]:8080",
 * "*:8080" (all IPv4 addresses).  Names are not resolved here: resolving
 * would block the event loop.
 * Layer 0 (leaf): no project header beyond layer 0.
 */
#ifndef CUTOVER_ADDR_H
#define CUTOVER_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define ADDR_TEXT_MAX	64	/* "[" IPv6 "]:" port, NUL-terminated */

struct addr {
	struct sockaddr_storage	ss;
	socklen_t		len;
	char			text[ADDR_TEXT_MAX];	/* canonical form */
	unsigned		line;	/* of the configuration; 0: none */
};

/*
 * Parses s into a.  Returns 0, or -1 with a reason in err ("missing port",
 * "bad port", "not a numeric IP address").  port_zero_ok allows port 0
 * (listeners: the kernel picks one).
 */
int	addr_parse(const char *s, struct addr *a, bool port_zero_ok,
	    char *err, size_t errlen);

/* Fills a from a kernel sockaddr (accept, getsockname). */
void	addr_from_sockaddr(struct addr *a, const struct sockaddr *sa,
	    socklen_t len);

/* Whether two addresses are the same family, address and port. */
bool	addr_equal(const struct addr *a, const struct addr *b);

/*
 * Orders addresses (family, port, then address bytes): <0, 0 or >0; for
 * IPv4 and IPv6, 0 exactly when addr_equal().  For sorting and search.
 */
int	addr_cmp(const struct addr *a, const struct addr *b);

/*
 * An IP address without a port, in the form CIDR matching wants: 16 bytes,
 * an IPv4 address (or an IPv4-mapped IPv6 one, as a dual-stack listener
 * sees IPv4 clients) as ::ffff:a.b.c.d with v4 set.
 */
struct addr_ip {
	uint64_t	w[2];		/* the 16 bytes, in network order */
	bool		v4;
};

/* A network: "10.244.0.0/16", "fd00::/8"; a bare address is /32, /128. */
struct addr_cidr {
	uint64_t	net[2];		/* masked, as in struct addr_ip */
	uint64_t	mask[2];
	bool		v4;
};

/* The IP address of sa (AF_INET or AF_INET6; any other: all zero). */
void	addr_ip_from_sockaddr(struct addr_ip *ip, const struct sockaddr *sa);

/*
 * Parses "ADDRESS[/BITS]" into c: an IPv4 address with 0-32 bits or an
 * IPv6 one with 0-128 (IPv4-mapped ::ffff:a.b.c.d/96-128 is taken as the
 * IPv4 network it names).  Host bits set past the prefix are an error, as
 * they are usually a typo.  Returns 0, or -1 with a reason in err.
 */
int	addr_cidr_parse(const char *s, struct addr_cidr *c, char *err,
	    size_t errlen);

/* Writes c as "ADDRESS/BITS" (what addr_cidr_parse reads) into buf. */
void	addr_cidr_format(const struct addr_cidr *c, char *buf, size_t len);

/* Whether ip is in one of the n networks of cidrs (never, when n is 0).
 * IPv4 networks match only IPv4 addresses, IPv6 ones only IPv6. */
bool	addr_cidr_has(const struct addr_cidr *cidrs, size_t n,
	    const struct addr_ip *ip);

#endif
