/*
 * dnsmsg.c — build a stub resolver's query, parse its answer strictly.
 *
 * Names are compared in their wire form (length-prefixed labels, the
 * root's 0 last) with ASCII letters folded to lower case: the text form
 * would let a label holding a dot pass for two labels.
 */
#include "autoconf.h"

#include <stdint.h>
#include <string.h>

#include "dnsmsg.h"

#define DNSMSG_CLASS_IN		1
#define DNSMSG_RR_FIXED		10	/* type, class, TTL, length */

/* A name in wire form, letters in lower case. */
struct dnsmsg_name {
	size_t	 len;
	uint8_t	 b[DNSMSG_NAME_MAX];
};

static uint16_t
dnsmsg_get16(const uint8_t *p)
{
	return ((uint16_t)(p[0] << 8 | p[1]));
}

static uint32_t
dnsmsg_get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3]);
}

static void
dnsmsg_put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

uint16_t
dnsmsg_id(const uint8_t *msg)
{
	return (dnsmsg_get16(msg));
}

size_t
dnsmsg_query(uint8_t *buf, size_t len, uint16_t id, const char *name,
    int type)
{
	size_t	n = strlen(name), off, label;

	if (n > 0 && name[n - 1] == '.')
		n--;
	/* the labels take n + 1 bytes, the root's 0 one more */
	if (n == 0 || n + 2 > DNSMSG_NAME_MAX ||
	    len < DNSMSG_HEADER + n + 2 + 4 + 11)
		return (0);
	memset(buf, 0, DNSMSG_HEADER);
	dnsmsg_put16(buf, id);
	buf[2] = 0x01;			/* RD */
	dnsmsg_put16(buf + 4, 1);	/* QDCOUNT */
	dnsmsg_put16(buf + 10, 1);	/* ARCOUNT: the OPT record */
	off = DNSMSG_HEADER;
	for (size_t i = 0; i < n; i += label + 1) {
		label = strcspn(name + i, ".");
		if (i + label > n)
			label = n - i;
		if (label == 0 || label > 63)
			return (0);
		buf[off++] = (uint8_t)label;
		memcpy(buf + off, name + i, label);
		off += label;
	}
	buf[off++] = 0;
	dnsmsg_put16(buf + off, (unsigned)type);
	dnsmsg_put16(buf + off + 2, DNSMSG_CLASS_IN);
	off += 4;
	/* OPT (RFC 6891): the root, type 41, the payload size where the
	 * class goes, extended rcode, version and flags 0, no data */
	buf[off++] = 0;
	dnsmsg_put16(buf + off, DNSMSG_OPT);
	dnsmsg_put16(buf + off + 2, DNSMSG_UDP_PAYLOAD);
	memset(buf + off + 4, 0, 6);
	off += 10;
	return (off);
}

/*
 * Reads the name at off into nm; *next is where what follows the name
 * starts.  A pointer must point back into the message past the header,
 * before itself, at most DNSMSG_PTR_MAX times; a label is 1-63 bytes
 * (the types 0x40 and 0x80 are refused); the name at most 255 bytes.
 */
static int
dnsmsg_name(const uint8_t *msg, size_t len, size_t off,
    struct dnsmsg_name *nm, size_t *next)
{
	size_t		pos = off, ptr;
	unsigned	hops = 0;
	bool		jumped = false;
	uint8_t		c;

	nm->len = 0;
	for (;;) {
		if (pos >= len)
			return (-1);
		c = msg[pos];
		if ((c & 0xc0) == 0xc0) {
			if (pos + 1 >= len)
				return (-1);
			ptr = (size_t)(c & 0x3f) << 8 | msg[pos + 1];
			if (ptr >= pos || ptr < DNSMSG_HEADER ||
			    ++hops > DNSMSG_PTR_MAX)
				return (-1);
			if (!jumped)
				*next = pos + 2;
			jumped = true;
			pos = ptr;
			continue;
		}
		if ((c & 0xc0) != 0)
			return (-1);
		if (c == 0)
			break;
		/* this label, its length byte and the root's 0 */
		if (nm->len + c + 2 > DNSMSG_NAME_MAX || pos + 1 + c > len)
			return (-1);
		nm->b[nm->len++] = c;
		for (size_t i = 0; i < c; i++) {
			uint8_t	ch = msg[pos + 1 + i];

			nm->b[nm->len++] = ch >= 'A' && ch <= 'Z' ?
			    (uint8_t)(ch - 'A' + 'a') : ch;
		}
		pos += 1 + (size_t)c;
	}
	nm->b[nm->len++] = 0;
	if (!jumped)
		*next = pos + 1;
	return (0);
}

static bool
dnsmsg_name_eq(const struct dnsmsg_name *a, const struct dnsmsg_name *b)
{
	return (a->len == b->len && memcmp(a->b, b->b, a->len) == 0);
}

/* One resource record of the answer section. */
struct dnsmsg_rr {
	struct dnsmsg_name	 owner;
	unsigned		 type, class;
	uint32_t		 ttl;
	size_t			 rdata, rdlen;	/* offset and length */
};

/* Reads the record at *off and moves *off past it. */
static int
dnsmsg_rr(const uint8_t *msg, size_t len, size_t *off, struct dnsmsg_rr *rr)
{
	size_t	p;

	if (dnsmsg_name(msg, len, *off, &rr->owner, &p) == -1 ||
	    len - p < DNSMSG_RR_FIXED)
		return (-1);
	rr->type = dnsmsg_get16(msg + p);
	rr->class = dnsmsg_get16(msg + p + 2);
	rr->ttl = dnsmsg_get32(msg + p + 4);
	/* RFC 2181 8: a TTL with the top bit set counts as 0 */
	if (rr->ttl > INT32_MAX)
		rr->ttl = 0;
	rr->rdlen = dnsmsg_get16(msg + p + 8);
	rr->rdata = p + DNSMSG_RR_FIXED;
	if (len - rr->rdata < rr->rdlen)
		return (-1);
	*off = rr->rdata + rr->rdlen;
	return (0);
}

static enum dnsmsg_result
dnsmsg_malformed(struct dnsmsg_reply *r, const char *why)
{
	r->why = why;
	return (DNSMSG_MALFORMED);
}

enum dnsmsg_result
dnsmsg_parse(const uint8_t *q, size_t qlen, const uint8_t *msg, size_t len,
    struct dnsmsg_reply *r, uint8_t *addrs, size_t cap)
{
	struct dnsmsg_name	 qname, rname, chain[DNSMSG_CNAME_MAX + 1];
	struct dnsmsg_rr	 rr;
	size_t			 qend, p, off, ancount, links = 0, found;
	size_t			 size;
	unsigned		 qtype;

	memset(r, 0, sizeof(*r));
	r->ttl = UINT32_MAX;
	if (qlen < DNSMSG_HEADER || dnsmsg_name(q, qlen, DNSMSG_HEADER, &qname,
	    &qend) == -1 || qlen - qend < 4)
		return (DNSMSG_MALFORMED);	/* not a query of ours */
	qtype = dnsmsg_get16(q + qend);
	size = qtype == DNSMSG_AAAA ? 16 : 4;
	/* the header: our id, a response (QR), a standard query */
	if (len < DNSMSG_HEADER || dnsmsg_get16(msg) != dnsmsg_get16(q) ||
	    (msg[2] & 0x80) == 0 || (msg[2] & 0x78) != 0)
		return (DNSMSG_NOT_OURS);
	r->rcode = msg[3] & 0x0f;
	r->tc = (msg[2] & 0x02) != 0;
	/* a server may leave out the question of an error it sends back
	 * (FORMERR, REFUSED): the id alone says it is ours */
	if (dnsmsg_get16(msg + 4) == 0 && r->rcode != DNSMSG_NOERROR &&
	    r->rcode != DNSMSG_NXDOMAIN)
		return (DNSMSG_OK);
	/* the question, echoed: the same name (in any case), type, class */
	if (dnsmsg_get16(msg + 4) != 1 || dnsmsg_name(msg, len, DNSMSG_HEADER,
	    &rname, &p) == -1 || len - p < 4 || !dnsmsg_name_eq(&qname,
	    &rname) || dnsmsg_get16(msg + p) != qtype ||
	    dnsmsg_get16(msg + p + 2) != DNSMSG_CLASS_IN)
		return (DNSMSG_NOT_OURS);
	p += 4;
	/* a truncated answer is asked again over TCP: what it holds may
	 * stop mid-record */
	if (r->tc || r->rcode != DNSMSG_NOERROR)
		return (DNSMSG_OK);
	ancount = dnsmsg_get16(msg + 6);
	for (size_t i = 0, o = p; i < ancount; i++)
		if (dnsmsg_rr(msg, len, &o, &rr) == -1)
			return (dnsmsg_malformed(r, "a record runs past the "
			    "message's end"));
	/* the CNAME chain from the question's name, within the answer */
	chain[0] = qname;
	for (;;) {
		found = 0;
		for (size_t i = 0, o = p; i < ancount; i++) {
			(void)dnsmsg_rr(msg, len, &o, &rr);
			if (rr.type != DNSMSG_CNAME ||
			    rr.class != DNSMSG_CLASS_IN ||
			    !dnsmsg_name_eq(&rr.owner, &chain[links]))
				continue;
			if (found++ > 0)
				return (dnsmsg_malformed(r, "two CNAMEs for "
				    "one name"));
			if (links == DNSMSG_CNAME_MAX)
				return (dnsmsg_malformed(r, "a CNAME chain "
				    "of more than 8 links"));
			/* the target must fill the record's data exactly */
			if (dnsmsg_name(msg, rr.rdata + rr.rdlen, rr.rdata,
			    &chain[links + 1], &off) == -1 ||
			    off != rr.rdata + rr.rdlen)
				return (dnsmsg_malformed(r, "a bad CNAME "
				    "target"));
			for (size_t j = 0; j <= links; j++)
				if (dnsmsg_name_eq(&chain[j],
				    &chain[links + 1]))
					return (dnsmsg_malformed(r,
					    "a CNAME loop"));
			if (rr.ttl < r->ttl)
				r->ttl = rr.ttl;
		}
		if (found == 0)
			break;
		links++;
	}
	/* every address of the chain's last name */
	for (size_t i = 0, o = p; i < ancount; i++) {
		(void)dnsmsg_rr(msg, len, &o, &rr);
		if (rr.type != qtype || rr.class != DNSMSG_CLASS_IN ||
		    !dnsmsg_name_eq(&rr.owner, &chain[links]))
			continue;
		if (rr.rdlen != size)
			return (dnsmsg_malformed(r, qtype == DNSMSG_AAAA ?
			    "an AAAA record not of 16 bytes" :
			    "an A record not of 4 bytes"));
		if (r->naddrs == cap)
			return (dnsmsg_malformed(r, "too many addresses"));
		memcpy(addrs + r->naddrs++ * size, msg + rr.rdata, size);
		if (rr.ttl < r->ttl)
			r->ttl = rr.ttl;
	}
	return (DNSMSG_OK);
}
