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

static const uint8_t	addr_v4_mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* Fills ip from 16 address bytes. */
static void
addr_ip_set(struct addr_ip *ip, const uint8_t b[16])
{
	memcpy(ip->w, b, 16);
	ip->v4 = memcmp(b, addr_v4_mapped, sizeof(addr_v4_mapped)) == 0;
}

void
addr_ip_from_sockaddr(struct addr_ip *ip, const struct sockaddr *sa)
{
	uint8_t	b[16] = { 0 };

	if (sa->sa_family == AF_INET6)
		memcpy(b, &((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr, 16);
	else if (sa->sa_family == AF_INET) {
		memcpy(b, addr_v4_mapped, sizeof(addr_v4_mapped));
		memcpy(b + 12, &((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr, 4);
	}
	addr_ip_set(ip, b);
}

int
addr_cidr_parse(const char *s, struct addr_cidr *c, char *err, size_t errlen)
{
	char		 host[INET6_ADDRSTRLEN];
	const char	*slash = strchr(s, '/');
	size_t		 hlen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	uint8_t		 b[16], m[16] = { 0 };
	unsigned long	 bits;
	unsigned	 max;
	char		*end;
	struct addr_ip	 ip;

	memset(c, 0, sizeof(*c));
	if (hlen == 0 || hlen >= sizeof(host))
		goto bad;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	memcpy(b, addr_v4_mapped, sizeof(addr_v4_mapped));
	if (inet_pton(AF_INET, host, b + 12) == 1)
		max = 32;
	else if (inet_pton(AF_INET6, host, b) == 1)
		max = 128;
	else
		goto bad;
	bits = max;
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9' ||
		    (bits = strtoul(slash + 1, &end, 10)) > max || *end != '\0') {
			snprintf(err, errlen, "\"%s\": prefix length must be "
			    "0-%u", s, max);
			return (-1);
		}
	}
	addr_ip_set(&ip, b);
	if (max == 128 && ip.v4 && bits >= 96)
		bits -= 96;		/* ::ffff:10.0.0.0/104 is 10.0.0.0/8 */
	else if (max == 128 && ip.v4) {
		snprintf(err, errlen, "\"%s\": an IPv4-mapped network needs a "
		    "prefix of 96 bits or more (or write it in IPv4)", s);
		return (-1);
	}
	if (ip.v4)		/* the 96 mapped bits always match */
		bits += 96;
	for (unsigned i = 0; i < 16; i++)
		m[i] = bits >= (i + 1) * 8 ? 0xff : bits > i * 8 ?
		    (uint8_t)(0xff << (8 - (bits - i * 8))) : 0;
	memcpy(c->mask, m, 16);
	c->v4 = ip.v4;
	c->net[0] = ip.w[0] & c->mask[0];
	c->net[1] = ip.w[1] & c->mask[1];
	if (c->net[0] != ip.w[0] || c->net[1] != ip.w[1]) {
		memcpy(b, c->net, 16);
		inet_ntop(c->v4 ? AF_INET : AF_INET6, c->v4 ? b + 12 : b, host,
		    sizeof(host));
		snprintf(err, errlen, "\"%s\": address has bits set past the "
		    "prefix (the network is %s/%lu)", s, host,
		    c->v4 ? bits - 96 : bits);
		return (-1);
	}
	return (0);
bad:
	snprintf(err, errlen, "\"%s\": expected a numeric IPv4 or IPv6 "
	    "address or network (\"10.244.0.0/16\", \"fd00::/8\")", s);
	return (-1);
}

void
addr_cidr_format(const struct addr_cidr *c, char *buf, size_t len)
{
	char		host[INET6_ADDRSTRLEN];
	uint8_t		b[16], m[16];
	unsigned	bits = 0;

	memcpy(b, c->net, 16);
	memcpy(m, c->mask, 16);
	for (unsigned i = 0; i < 16; i++)
		for (unsigned j = 0; j < 8; j++)
			bits += (m[i] >> j) & 1;
	inet_ntop(c->v4 ? AF_INET : AF_INET6, c->v4 ? b + 12 : b, host,
	    sizeof(host));
	snprintf(buf, len, "%s/%u", host, c->v4 ? bits - 96 : bits);
}

bool
addr_cidr_has(const struct addr_cidr *cidrs, size_t n,
    const struct addr_ip *ip)
{
	for (size_t i = 0; i < n; i++)
		if (cidrs[i].v4 == ip->v4 &&
		    (ip->w[0] & cidrs[i].mask[0]) == cidrs[i].net[0] &&
		    (ip->w[1] & cidrs[i].mask[1]) == cidrs[i].net[1])
			return (true);
	return (false);
}
