/*
 * addr.c — numeric socket addresses.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

static int
addr_port(const char *s, bool zero_ok, in_port_t *port)
{
	char		*end;
	unsigned long	 v;

	if (*s < '0' || *s > '9')
		return (-1);
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v > 65535 || (v == 0 && !zero_ok))
		return (-1);
	*port = htons((in_port_t)v);
	return (0);
}

int
addr_parse(const char *s, struct addr *a, bool port_zero_ok, char *err,
    size_t errlen)
{
	char			 host[INET6_ADDRSTRLEN + 2];
	const char		*colon, *port;
	size_t			 hlen;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&a->ss;
	in_port_t		 p;

	memset(a, 0, sizeof(*a));
	if (s[0] == '[') {
		if ((colon = strstr(s, "]:")) == NULL) {
			snprintf(err, errlen, "\"%s\": expected [IPv6]:port", s);
			return (-1);
		}
		hlen = (size_t)(colon - s - 1);
		port = colon + 2;
		s++;
	} else {
		if ((colon = strrchr(s, ':')) == NULL) {
			snprintf(err, errlen, "\"%s\": missing port "
			    "(expected host:port)", s);
			return (-1);
		}
		hlen = (size_t)(colon - s);
		port = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		snprintf(err, errlen, "\"%.*s\": missing or overlong address",
		    (int)(port - s), s);
		return (-1);
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (addr_port(port, port_zero_ok, &p) == -1) {
		snprintf(err, errlen, "\"%s\": bad port (1-65535)", port);
		return (-1);
	}
	if (strcmp(host, "*") == 0) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		sin->sin_port = p;
		a->len = sizeof(*sin);
	} else if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = p;
		a->len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = p;
		a->len = sizeof(*sin6);
	} else {
		snprintf(err, errlen, "\"%s\": not a numeric IP address "
		    "(IPv6 goes in brackets: [::1]:8080)", host);
		return (-1);
	}
	addr_from_sockaddr(a, (struct sockaddr *)&a->ss, a->len);
	return (0);
}

void
addr_from_sockaddr(struct addr *a, const struct sockaddr *sa, socklen_t len)
{
	char	buf[INET6_ADDRSTRLEN];

	if (len > sizeof(a->ss))
		len = sizeof(a->ss);
	if ((const void *)sa != (void *)&a->ss)
		memcpy(&a->ss, sa, len);
	a->len = len;
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof(buf));
		snprintf(a->text, sizeof(a->text), "[%s]:%u", buf,
		    ntohs(s6->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, buf, sizeof(buf));
		snprintf(a->text, sizeof(a->text), "%s:%u", buf,
		    ntohs(s4->sin_port));
	} else
		snprintf(a->text, sizeof(a->text), "unix");
}

int
addr_cmp(const struct addr *a, const struct addr *b)
{
	const struct sockaddr	*x = (const void *)&a->ss;
	const struct sockaddr	*y = (const void *)&b->ss;

	if (x->sa_family != y->sa_family)
		return (x->sa_family < y->sa_family ? -1 : 1);
	if (x->sa_family == AF_INET) {
		const struct sockaddr_in *p = (const void *)x;
		const struct sockaddr_in *q = (const void *)y;

		if (p->sin_port != q->sin_port)
			return (p->sin_port < q->sin_port ? -1 : 1);
		return (memcmp(&p->sin_addr, &q->sin_addr,
		    sizeof(p->sin_addr)));
	}
	if (x->sa_family == AF_INET6) {
		const struct sockaddr_in6 *p = (const void *)x;
		const struct sockaddr_in6 *q = (const void *)y;

		if (p->sin6_port != q->sin6_port)
			return (p->sin6_port < q->sin6_port ? -1 : 1);
		return (memcmp(&p->sin6_addr, &q->sin6_addr,
		    sizeof(p->sin6_addr)));
	}
	return (memcmp(&a->ss, &b->ss, sizeof(a->ss)));
}

bool
addr_equal(const struct addr *a, const struct addr *b)
{
	const struct sockaddr	*x = (const void *)&a->ss;
	const struct sockaddr	*y = (const void *)&b->ss;

	if (x->sa_family != y->sa_family)
		return (false);
	if (x->sa_family == AF_INET) {
		const struct sockaddr_in *p = (const void *)x;
		const struct sockaddr_in *q = (const void *)y;

		return (p->sin_port == q->sin_port &&
		    p->sin_addr.s_addr == q->sin_addr.s_addr);
	}
	if (x->sa_family == AF_INET6) {
		const struct sockaddr_in6 *p = (const void *)x;
		const struct sockaddr_in6 *q = (const void *)y;

		return (p->sin6_port == q->sin6_port &&
		    memcmp(&p->sin6_addr, &q->sin6_addr,
		    sizeof(p->sin6_addr)) == 0);
	}
	return (false);
}
