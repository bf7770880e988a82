/*
 * dnsmsg.h — DNS messages of a stub resolver (RFC 1035, RFC 6891): the
 * query for a name's A or AAAA records, and a strict parse of the answer.
 * Layer 0: pure functions on buffers; no I/O, no allocation.
 *
 * The parse trusts nothing in the answer: every read is checked against
 * the message's length, the header and the question must be those of the
 * query, names obey RFC 1035's limits (labels of at most 63 bytes, names
 * of at most 255) and their compression pointers point backwards, and a
 * CNAME chain is followed at most DNSMSG_CNAME_MAX links, a loop being an
 * error.
 */
#ifndef CUTOVER_DNSMSG_H
#define CUTOVER_DNSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNSMSG_HEADER		12
#define DNSMSG_NAME_MAX		255	/* wire form, with the root's 0 */
#define DNSMSG_UDP_PAYLOAD	1232	/* EDNS0: fits any path's MTU */
#define DNSMSG_UDP_PLAIN	512	/* without EDNS0 */
#define DNSMSG_TCP_MAX		65535	/* the 2-byte length prefix */
#define DNSMSG_QUERY_MAX	(DNSMSG_HEADER + DNSMSG_NAME_MAX + 4 + 11)
#define DNSMSG_CNAME_MAX	8	/* links followed in one answer */
#define DNSMSG_PTR_MAX		32	/* compression pointers in one name */

/* The smallest record an address can come in: a 1-byte name (the
 * root), type, class, TTL, length and 4 bytes of data. */
#define DNSMSG_ADDRS_MAX(len)	((len) / 15 + 1)

enum dnsmsg_type {
	DNSMSG_A = 1,
	DNSMSG_CNAME = 5,
	DNSMSG_AAAA = 28,
	DNSMSG_OPT = 41
};

enum dnsmsg_rcode {
	DNSMSG_NOERROR = 0,
	DNSMSG_FORMERR = 1,
	DNSMSG_SERVFAIL = 2,
	DNSMSG_NXDOMAIN = 3,
	DNSMSG_NOTIMP = 4,
	DNSMSG_REFUSED = 5
};

/* What dnsmsg_parse made of a message. */
enum dnsmsg_result {
	DNSMSG_OK,		/* the answer to the query: see the reply */
	DNSMSG_NOT_OURS,	/* another id or question, or not a response:
				   ignore it, the answer may still come */
	DNSMSG_MALFORMED	/* ours, but broken: a failed try */
};

struct dnsmsg_reply {
	int		 rcode;	/* enum dnsmsg_rcode, or another value */
	bool		 tc;	/* truncated: ask again over TCP */
	size_t		 naddrs;	/* addresses of the final name */
	unsigned	 ttl;	/* smallest TTL of the records used (CNAMEs
				   and addresses); UINT32_MAX: none */
	const char	*why;	/* DNSMSG_MALFORMED: what was wrong */
};

/*
 * Writes the query for name's records of type (DNSMSG_A or DNSMSG_AAAA)
 * into buf: id, recursion desired, one question of class IN, and an EDNS0
 * OPT record offering DNSMSG_UDP_PAYLOAD bytes.  name is dotted text; a
 * final dot is allowed, escapes are not.  Returns the query's length, or
 * 0 when name is no DNS name (an empty label, a label over 63 bytes, a
 * name over 255) or len is too short (DNSMSG_QUERY_MAX always does).
 */
size_t		 dnsmsg_query(uint8_t *buf, size_t len, uint16_t id,
		    const char *name, int type);

/*
 * Parses msg, the answer to query q (as dnsmsg_query wrote it).  On
 * DNSMSG_OK, r says the rcode and TC bit and, for NOERROR, addrs holds
 * r->naddrs addresses of the question's type (4 or 16 bytes each, one
 * after another, in the answer's order, repeats kept) of the name the
 * CNAME chain from the question ends at.  cap is addrs' room in
 * addresses: DNSMSG_ADDRS_MAX(len) always suffices.
 */
enum dnsmsg_result dnsmsg_parse(const uint8_t *q, size_t qlen,
		    const uint8_t *msg, size_t len, struct dnsmsg_reply *r,
		    uint8_t *addrs, size_t cap);

/* The id of a query or answer of at least 2 bytes. */
uint16_t	 dnsmsg_id(const uint8_t *msg);

#endif
