/*
 * fuzz_dnsmsg.c — libFuzzer harness: the input is a nameserver's answer
 * to the stub resolver's query (src/dnsmsg.c).  Its first byte picks the
 * query (even: A, odd: AAAA, of app.prod.svc.cluster.local with id
 * 0x1234), the rest is the answer.  dnsmsg_parse must never read outside
 * the answer (ASan: the answer is copied to a buffer of its exact size),
 * never write more addresses than the room it was given, and its result
 * must hold together: addresses only in a NOERROR answer that is not
 * truncated, a reason for every malformed one.
 *
 * Run it:  make fuzz FUZZ_TARGETS=fuzz_dnsmsg  (in a build directory
 * configured with --enable-fuzz), or by hand:  tests/fuzz/fuzz_dnsmsg \
 *	-max_len=4096 -dict=$srcdir/tests/fuzz/dnsmsg.dict CORPUS_DIR
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsmsg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NAME	"app.prod.svc.cluster.local"
#define FUZZ_ID		0x1234

static void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz: %s\n", what);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnsmsg_reply	 r;
	uint8_t			 q[DNSMSG_QUERY_MAX], *msg, *addrs;
	size_t			 qlen, len, cap, asize;
	int			 type;

	if (size < 1)
		return (0);
	type = data[0] & 1 ? DNSMSG_AAAA : DNSMSG_A;
	asize = type == DNSMSG_AAAA ? 16 : 4;
	if ((qlen = dnsmsg_query(q, sizeof(q), FUZZ_ID, FUZZ_NAME, type)) == 0)
		fuzz_fail("dnsmsg_query refused a good name");
	len = size - 1;
	cap = DNSMSG_ADDRS_MAX(len);
	/* exact sizes: one byte past either is an ASan report */
	if ((msg = malloc(len > 0 ? len : 1)) == NULL ||
	    (addrs = malloc(cap * asize)) == NULL)
		abort();
	memcpy(msg, data + 1, len);
	switch (dnsmsg_parse(q, qlen, msg, len, &r, addrs, cap)) {
	case DNSMSG_OK:
		if (r.naddrs > cap)
			fuzz_fail("more addresses than room");
		if (r.naddrs > 0 && (r.tc || r.rcode != DNSMSG_NOERROR))
			fuzz_fail("addresses in a truncated or failed answer");
		if (r.naddrs > 0 && r.ttl > INT32_MAX)
			fuzz_fail("addresses without a TTL");
		if (len < DNSMSG_HEADER || dnsmsg_id(msg) != FUZZ_ID)
			fuzz_fail("an answer of another id taken");
		break;
	case DNSMSG_MALFORMED:
		if (r.why == NULL)
			fuzz_fail("malformed without a reason");
		break;
	case DNSMSG_NOT_OURS:
		break;
	default:
		fuzz_fail("an unknown result");
	}
	free(addrs);
	free(msg);
	return (0);
}
