/*
 * addr.h — numeric socket addresses: "127.0.0.1:9001", "[::1]:8080",
 * "*:8080" (all IPv4 addresses).  Names are not resolved here: resolving
 * would block the event loop.
 */
#ifndef CUTOVER_ADDR_H
#define CUTOVER_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define ADDR_TEXT_MAX	64	/* "[" IPv6 "]:" port, NUL-terminated */

struct addr {
	struct sockaddr_storage	ss;
	socklen_t		len;
	char			text[ADDR_TEXT_MAX];	/* canonical form */
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

#endif
