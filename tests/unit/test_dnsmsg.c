/*
 * test_dnsmsg.c — the stub resolver's messages: the query it sends and
 * every rule of the strict parse of an answer, on crafted messages.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dnsmsg.h"

#define QNAME	"\003app\004prod\007example"	/* sizeof: with the root */
#define ID	0x1234

struct msg {
	uint8_t	b[65536];
	size_t	len;
};

static uint8_t	q[DNSMSG_QUERY_MAX];
static size_t	qlen;
static uint8_t	addrs[16 * 8192];

static void
put(struct msg *m, const void *p, size_t n)
{
	assert_true(m->len + n <= sizeof(m->b));
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static void
put16(struct msg *m, unsigned v)
{
	uint8_t	b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(m, b, 2);
}

static void
put32(struct msg *m, uint32_t v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

/* The query for QNAME of type, and the start of its answer in m: the
 * header (QR, RA, rcode, ancount) and the question echoed. */
static void
answer(struct msg *m, int type, int rcode, unsigned ancount)
{
	qlen = dnsmsg_query(q, sizeof(q), ID, "app.prod.example", type);
	assert_true(qlen > 0);
	m->len = 0;
	put(m, q, qlen - 11);		/* without the OPT record */
	m->b[2] = 0x81;
	m->b[3] = (uint8_t)(0x80 | rcode);
	m->b[6] = (uint8_t)(ancount >> 8);
	m->b[7] = (uint8_t)ancount;
	m->b[10] = m->b[11] = 0;
}

/* A record: owner (wire form, or a pointer), type, class IN, ttl, data. */
static void
rr(struct msg *m, const void *owner, size_t olen, unsigned type,
    uint32_t ttl, const void *data, size_t dlen)
{
	put(m, owner, olen);
	put16(m, type);
	put16(m, 1);
	put32(m, ttl);
	put16(m, (unsigned)dlen);
	put(m, data, dlen);
}

static const uint8_t	ptr_q[] = { 0xc0, 0x0c };	/* the question */

static enum dnsmsg_result
parse(const struct msg *m, struct dnsmsg_reply *r)
{
	return (dnsmsg_parse(q, qlen, m->b, m->len, r, addrs,
	    DNSMSG_ADDRS_MAX(m->len)));
}

static void
test_dnsmsg_query_bytes(void **state)
{
	static const uint8_t	want[] = {
		0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1,
		3, 'a', 'p', 'p', 4, 'P', 'r', 'o', 'd', 0, 0, 28, 0, 1,
		0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0
	};
	uint8_t			b[DNSMSG_QUERY_MAX];
	char			name[300];

	assert_int_equal(dnsmsg_query(b, sizeof(b), 0xabcd, "app.Prod",
	    DNSMSG_AAAA), sizeof(want));
	assert_memory_equal(b, want, sizeof(want));
	/* a final dot changes nothing; 1232 is the payload offered */
	assert_int_equal(dnsmsg_query(b, sizeof(b), 0xabcd, "app.Prod.",
	    DNSMSG_AAAA), sizeof(want));
	assert_memory_equal(b, want, sizeof(want));
	assert_int_equal(dnsmsg_id(b), 0xabcd);
	/* no name: empty labels, a label over 63, a name over 255 */
	assert_int_equal(dnsmsg_query(b, sizeof(b), 1, "", DNSMSG_A), 0);
	assert_int_equal(dnsmsg_query(b, sizeof(b), 1, ".", DNSMSG_A), 0);
	assert_int_equal(dnsmsg_query(b, sizeof(b), 1, "a..b", DNSMSG_A), 0);
	assert_int_equal(dnsmsg_query(b, sizeof(b), 1, ".a", DNSMSG_A), 0);
	memset(name, 'a', 64);
	name[64] = '\0';
	assert_int_equal(dnsmsg_query(b, sizeof(b), 1, name, DNSMSG_A), 0);
	name[63] = '\0';
	assert_true(dnsmsg_query(b, sizeof(b), 1, name, DNSMSG_A) > 0);
	/* 253 bytes of text is 255 on the wire: the most there is */
	for (int i = 0; i < 253; i++)
		name[i] = i % 2 ? '.' : 'a';
	name[253] = '\0';
	assert_true(dnsmsg_query(b, sizeof(b), 1, name, DNSMSG_A) > 0);
	name[253] = 'a';
	name[254] = '\0';
	assert_int_equal(dnsmsg_query(b, sizeof(b), 1, name, DNSMSG_A), 0);
	/* a buffer too short */
	assert_int_equal(dnsmsg_query(b, 20, 1, "app.prod", DNSMSG_A), 0);
}

static void
test_dnsmsg_addresses_and_smallest_ttl(void **state)
{
	struct msg		 m;
	struct dnsmsg_reply	 r;
	static const uint8_t	 a1[] = { 10, 0, 0, 1 }, a2[] = { 10, 0, 0, 2 };

	answer(&m, DNSMSG_A, 0, 3);
	rr(&m, ptr_q, 2, DNSMSG_A, 30, a1, 4);
	rr(&m, QNAME, sizeof(QNAME), DNSMSG_A, 7, a2, 4);
	rr(&m, ptr_q, 2, DNSMSG_A, 0x80000000u, a1, 4);	/* counts as 0 */
	assert_int_equal(parse(&m, &r), DNSMSG_OK);
	assert_int_equal(r.rcode, DNSMSG_NOERROR);
	assert_false(r.tc);
	assert_int_equal(r.naddrs, 3);
	assert_memory_equal(addrs, a1, 4);
	assert_memory_equal(addrs + 4, a2, 4);
	assert_int_equal(r.ttl, 0);
	m.len -= 16;
	m.b[7] = 2;
	assert_int_equal(parse(&m, &r), DNSMSG_OK);
	assert_int_equal(r.ttl, 7);
	/* no record: no data, no TTL */
	answer(&m, DNSMSG_A, 0, 0);
	assert_int_equal(parse(&m, &r), DNSMSG_OK);
	assert_int_equal(r.naddrs, 0);
	assert_int_equal(r.ttl, UINT32_MAX);
}

static void
test_dnsmsg_aaaa_and_other_records_ignored(void **state)
{
	struct msg		 m;
	struct dnsmsg_reply	 r;
	uint8_t			 v6[16] = { 0xfd, 0, [15] = 1 }, v4[4] = { 1 };

	answer(&m, DNSMSG_AAAA, 0, 4);
	rr(&m, ptr_q, 2, DNSMSG_A, 5, v4, 4);		/* not asked */
	rr(&m, "\005other\0", 7, DNSMSG_AAAA, 5, v6, 16);	/* not ours */
	rr(&m, ptr_q, 2, 46, 5, "sig", 3);		/* RRSIG */
	rr(&m, ptr_q, 2, DNSMSG_AAAA, 60, v6, 16);
	assert_int_equal(parse(&m, &r), DNSMSG_OK);
	assert_int_equal(r.naddrs, 1);
	assert_memory_equal(addrs, v6, 16);
	assert_int_equal(r.ttl, 60);
	/* another class than IN does not count */
	answer(&m, DNSMSG_AAAA, 0, 1);
	rr(&m, ptr_q, 2, DNSMSG_AAAA, 60, v6, 16);
	m.b[m.len - 16 - 10 + 3] = 3;		/* CH */
	assert_int_equal(parse(&m, &r), DNSMSG_OK);
	assert_int_equal(r.naddrs, 0);
	/* an address of the wrong size is an error */
	answer(&m, DNSMSG_AAAA, 0, 1);
	rr(&m, ptr_q, 2, DNSMSG_AAAA, 60, v6, 15);
	assert_int_equal(parse(&m, &r), DNSMSG_MALFORMED);
	answer(&m, DNSMSG_A, 0, 1);
	rr(&m, ptr_q, 2, DNSMSG_A, 60, v6, 5);
	assert_int_equal(parse(&m, &r), DNSMSG_MALFORMED);
}

static void
test_dnsmsg_not_ours(void **state)
{
	struct msg		 m;
	struct dnsmsg_reply	 r;

	answer(&m, DNSMSG_A, 0, 0);
	assert_int_equal(parse(&m, &r), DNSMSG_OK);
	m.b[1] ^= 1;					/* another id */
	assert_int_equal(parse(&m, &r), DNSMSG_NOT_OURS);
	answer(&m, DNSMSG_A, 0, 0);
	m.b[2] &= 0x7f;					/* a query */
	assert_int_equal(parse(&m, &r), DNSMSG_NOT_OURS);
	answer(&m, DNSMSG_A, 0, 0);
	m.b[2] |= 0x10;					/* opcode 2 */
	assert_int_equal(parse(&m, &r), DNSMSG_NOT_OURS);
	answer(&m, DNSMSG_A, 0, 0);
	m.b[13] = 'b';					/* bpp.prod... */
	assert_int_equal(parse(&m, &r), DNSMSG_NOT_OURS);
	answer(&m, DNSMSG_A, 0, 0);
	m.b[13] = 'A';				/* case does not matter */
	assert_int_equal(parse(&m, &r), DNSMSG_OK);
	answer(&m, DNSMSG_A, 0, 0);
	m.b[m.len - 3] = 28;				/* AAAA */
	assert_int_equal(parse(&m, &r), DNSMSG_NOT_OURS);
	answer(&m, DNSMSG_A, 0, 0);
	m.b[m.len - 1] = 3;				/* class CH */
	assert_int_equal(parse(&m, &r), DNSMSG_NOT_OURS);
	answer(&m, DNSMSG_A, 0, 0);
	m.b[5] = 2;					/* 2 questions */
	assert_int_equal(parse(&m, &r), DNSMSG_NOT_OURS);
	answer(&m, DNSMSG_A, 0, 0);
	m.len = 11;					/* no header */
	assert_int_equal(parse(&m, &r), DNSMSG_NOT_OURS);
	answer(&m, DNSMSG_A, 0, 0);
	m.len -= 1;					/* question cut */
	assert_int_equal(parse(&m, &r), DNSMSG_NOT_OURS);
	/* an error without its question is ours by the id; an answer is
	 * not */
	answer(&m, DNSMSG_A, DNSMSG_REFUSED, 0);
	m.b[5] = 0;
	m.len = 12;
	assert_int_equal(parse(&m, &r), DNSMSG_OK);
	assert_int_equal(r.rcode, DNSMSG_REFUSED);
	m.b[3] = 0x80;
	assert_int_equal(parse(&m, &r), DNSMSG_NOT_OURS);
}

static void
test_dnsmsg_rcodes_and_truncation(void **state)
{
	struct msg		 m;
	struct dnsmsg_reply	 r;
	static const int	 rc[] = { DNSMSG_NXDOMAIN, DNSMSG_SERVFAIL,
				    DNSMSG_REFUSED, DNSMSG_FORMERR, 9 };

	for (size_t i = 0; i < sizeof(rc) / sizeof(rc[0]); i++) {
		answer(&m, DNSMSG_A, rc[i], 0);
		assert_int_equal(parse(&m, &r), DNSMSG_OK);
		assert_int_equal(r.rcode, rc[i]);
		assert_int_equal(r.naddrs, 0);
	}
	/* TC: what follows the question may be cut anywhere */
	answer(&m, DNSMSG_A, 0, 40);
	m.b[2] |= 0x02;
	put(&m, "\xc0\x0c\x00", 3);
	assert_int_equal(parse(&m, &r), DNSMSG_OK);
	assert_true(r.tc);
	assert_int_equal(r.naddrs, 0);
}

static void
test_dnsmsg_cname_chain(void **state)
{
	struct msg		 m;
	struct dnsmsg_reply	 r;
	static const uint8_t	 a1[] = { 10, 0, 0, 1 }, a9[] = { 10, 0, 0, 9 };
	size_t			 c1;

	/* app.prod.example -> c1.example -> c2.example (compressed) */
	answer(&m, DNSMSG_A, 0, 5);
	rr(&m, ptr_q, 2, DNSMSG_A, 5, a9, 4);	/* beside a CNAME: unused */
	c1 = m.len + 2 + 10;
	rr(&m, ptr_q, 2, DNSMSG_CNAME, 50, "\002c1\007example", 12);
	/* c2.example, as "c2" and a pointer to c1's "example" */
	rr(&m, (uint8_t[]){ 0xc0 | (uint8_t)(c1 >> 8), (uint8_t)c1 }, 2,
	    DNSMSG_CNAME, 40, (uint8_t[]){ 2, 'c', '2', 0xc0,
	    (uint8_t)(c1 + 3) }, 5);
	rr(&m, "\002C2\007EXAMPLE", 12, DNSMSG_A, 30, a1, 4);
	rr(&m, "\002c1\007example", 12, DNSMSG_A, 1, a9, 4);	/* mid-chain */
	assert_int_equal(parse(&m, &r), DNSMSG_OK);
	assert_int_equal(r.naddrs, 1);
	assert_memory_equal(addrs, a1, 4);
	assert_int_equal(r.ttl, 30);
	/* a chain to a name without addresses: no data */
	answer(&m, DNSMSG_A, 0, 1);
	rr(&m, ptr_q, 2, DNSMSG_CNAME, 50, "\002c1\007example", 12);
	assert_int_equal(parse(&m, &r), DNSMSG_OK);
	assert_int_equal(r.naddrs, 0);
	/* a loop back to the question */
	answer(&m, DNSMSG_A, 0, 2);
	rr(&m, ptr_q, 2, DNSMSG_CNAME, 50, "\002c1\007example", 12);
	rr(&m, "\002c1\007example", 12, DNSMSG_CNAME, 50, QNAME,
	    sizeof(QNAME));
	assert_int_equal(parse(&m, &r), DNSMSG_MALFORMED);
	assert_string_equal(r.why, "a CNAME loop");
	/* two CNAMEs for one name */
	answer(&m, DNSMSG_A, 0, 2);
	rr(&m, ptr_q, 2, DNSMSG_CNAME, 50, "\002c1\007example", 12);
	rr(&m, ptr_q, 2, DNSMSG_CNAME, 50, "\002c2\007example", 12);
	assert_int_equal(parse(&m, &r), DNSMSG_MALFORMED);
	/* a target that does not fill its record's data */
	answer(&m, DNSMSG_A, 0, 1);
	rr(&m, ptr_q, 2, DNSMSG_CNAME, 50, "\002c1\007example\0", 13);
	assert_int_equal(parse(&m, &r), DNSMSG_MALFORMED);
	answer(&m, DNSMSG_A, 0, 1);
	rr(&m, ptr_q, 2, DNSMSG_CNAME, 50, "\002c1\007exam", 8);
	assert_int_equal(parse(&m, &r), DNSMSG_MALFORMED);
}

/* A chain of n links q -> l1 -> ... -> ln, and an A record of ln. */
static enum dnsmsg_result
chain(int n, struct dnsmsg_reply *r)
{
	struct msg	m;
	uint8_t		name[4] = { 2, 'l', '0', 0 }, next[4];
	static const uint8_t	a1[] = { 10, 0, 0, 1 };

	answer(&m, DNSMSG_A, 0, (unsigned)n + 1);
	for (int i = 1; i <= n; i++) {
		memcpy(next, name, 4);
		next[2] = (uint8_t)('0' + i);
		if (i == 1)
			rr(&m, ptr_q, 2, DNSMSG_CNAME, 9, next, 4);
		else
			rr(&m, name, 4, DNSMSG_CNAME, 9, next, 4);
		memcpy(name, next, 4);
	}
	rr(&m, name, 4, DNSMSG_A, 9, a1, 4);
	return (dnsmsg_parse(q, qlen, m.b, m.len, r, addrs,
	    DNSMSG_ADDRS_MAX(m.len)));
}

static void
test_dnsmsg_cname_chain_bounded(void **state)
{
	struct dnsmsg_reply	r;

	assert_int_equal(chain(DNSMSG_CNAME_MAX, &r), DNSMSG_OK);
	assert_int_equal(r.naddrs, 1);
	assert_int_equal(chain(DNSMSG_CNAME_MAX + 1, &r), DNSMSG_MALFORMED);
	assert_string_equal(r.why, "a CNAME chain of more than 8 links");
}

static void
test_dnsmsg_names_strict(void **state)
{
	struct msg		 m;
	struct dnsmsg_reply	 r;
	static const uint8_t	 a1[] = { 10, 0, 0, 1 };
	uint8_t			 label[80];
	size_t			 at;

	/* a pointer forwards, to itself, into the header */
	answer(&m, DNSMSG_A, 0, 1);
	at = m.len;
	rr(&m, (uint8_t[]){ 0xc0, (uint8_t)(at + 2) }, 2, DNSMSG_A, 5, a1, 4);
	assert_int_equal(parse(&m, &r), DNSMSG_MALFORMED);
	answer(&m, DNSMSG_A, 0, 1);
	rr(&m, (uint8_t[]){ 0xc0, (uint8_t)at }, 2, DNSMSG_A, 5, a1, 4);
	assert_int_equal(parse(&m, &r), DNSMSG_MALFORMED);
	answer(&m, DNSMSG_A, 0, 1);
	rr(&m, (uint8_t[]){ 0xc0, 0x02 }, 2, DNSMSG_A, 5, a1, 4);
	assert_int_equal(parse(&m, &r), DNSMSG_MALFORMED);
	/* the label types 0x40 and 0x80 */
	answer(&m, DNSMSG_A, 0, 1);
	rr(&m, "\x41x", 3, DNSMSG_A, 5, a1, 4);
	assert_int_equal(parse(&m, &r), DNSMSG_MALFORMED);
	answer(&m, DNSMSG_A, 0, 1);
	rr(&m, "\x81x", 3, DNSMSG_A, 5, a1, 4);
	assert_int_equal(parse(&m, &r), DNSMSG_MALFORMED);
	/* a name over 255 bytes: four labels of 63 and the root, 257 */
	answer(&m, DNSMSG_A, 0, 1);
	memset(label, 'x', sizeof(label));
	label[0] = 63;
	for (int i = 0; i < 4; i++)
		put(&m, label, 64);
	put(&m, "", 1);
	put16(&m, DNSMSG_A);
	put16(&m, 1);
	put32(&m, 5);
	put16(&m, 4);
	put(&m, a1, 4);
	assert_int_equal(parse(&m, &r), DNSMSG_MALFORMED);
	/* a name running past the end, a record cut short */
	answer(&m, DNSMSG_A, 0, 1);
	put(&m, "\005ab", 3);
	assert_int_equal(parse(&m, &r), DNSMSG_MALFORMED);
	answer(&m, DNSMSG_A, 0, 1);
	rr(&m, ptr_q, 2, DNSMSG_A, 5, a1, 4);
	m.len--;
	assert_int_equal(parse(&m, &r), DNSMSG_MALFORMED);
	assert_string_equal(r.why, "a record runs past the message's end");
	/* ancount says more records than there are */
	answer(&m, DNSMSG_A, 0, 2);
	rr(&m, ptr_q, 2, DNSMSG_A, 5, a1, 4);
	assert_int_equal(parse(&m, &r), DNSMSG_MALFORMED);
	/* a compressed question is fine */
	answer(&m, DNSMSG_A, 0, 1);
	rr(&m, ptr_q, 2, DNSMSG_A, 5, a1, 4);
	assert_int_equal(parse(&m, &r), DNSMSG_OK);
	assert_int_equal(r.naddrs, 1);
}

static void
test_dnsmsg_no_cap_on_addresses(void **state)
{
	struct msg		 m;
	struct dnsmsg_reply	 r;
	uint8_t			 a[4] = { 10, 0, 0, 0 };

	answer(&m, DNSMSG_A, 0, 4000);
	for (int i = 0; i < 4000; i++) {
		a[2] = (uint8_t)(i >> 8);
		a[3] = (uint8_t)i;
		rr(&m, ptr_q, 2, DNSMSG_A, 5, a, 4);
	}
	assert_int_equal(parse(&m, &r), DNSMSG_OK);
	assert_int_equal(r.naddrs, 4000);
	assert_memory_equal(addrs + 3999 * 4, "\x0a\x00\x0f\x9f", 4);
	/* the room asked for is respected */
	assert_int_equal(dnsmsg_parse(q, qlen, m.b, m.len, &r, addrs, 10),
	    DNSMSG_MALFORMED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dnsmsg_query_bytes),
		cmocka_unit_test(test_dnsmsg_addresses_and_smallest_ttl),
		cmocka_unit_test(test_dnsmsg_aaaa_and_other_records_ignored),
		cmocka_unit_test(test_dnsmsg_not_ours),
		cmocka_unit_test(test_dnsmsg_rcodes_and_truncation),
		cmocka_unit_test(test_dnsmsg_cname_chain),
		cmocka_unit_test(test_dnsmsg_cname_chain_bounded),
		cmocka_unit_test(test_dnsmsg_names_strict),
		cmocka_unit_test(test_dnsmsg_no_cap_on_addresses),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
