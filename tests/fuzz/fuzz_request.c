/*
 * fuzz_request.c — libFuzzer harness: a client's byte stream through the
 * request side of src/http.c, as src/conn.c drives it.
 *
 * Input: 2 control bytes, then the bytes the client sends.  Control byte 0
 * picks how the stream arrives (all at once or in pieces of 1-8, 1-64 or
 * 1-1024 bytes, shared or separate evbuffer chains; see fuzz_http.h) and,
 * in bits 3-7, the forwarding options (xff, proto, host, trust, via);
 * byte 1 seeds the piece sizes.
 *
 * Up to FUZZ_MSGS pipelined requests are parsed: head (http_msg_head), the
 * upstream head (http_request_head, client 127.0.0.1, host "h"), drain,
 * the body re-framed into an evbuffer (http_msg_body), http_msg_next.  What
 * would be forwarded must be a well-formed head and must parse again as
 * exactly one request with the same body (fuzz_check_forwarded); an error
 * must carry a status and a reason.  Any violation aborts.
 *
 * Run it:  make fuzz  (in a build directory configured with --enable-fuzz),
 * or by hand:  tests/fuzz/fuzz_request -max_len=8192 \
 *	-dict=$srcdir/tests/fuzz/http.dict CORPUS_DIR
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "fuzz_http.h"
#include "http.h"
#include "http_head.h"
#include "log.h"

#define FUZZ_MSGS	8	/* pipelined requests per input */

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LL_ERROR);
	return (0);
}

/* What src/conn.c answers before forwarding: false when it closes. */
static bool
fuzz_would_forward(const struct http_msg *req, const char *base)
{
	unsigned	hosts = 0;
	bool		http10 = req->parser.http_major == 1 &&
			    req->parser.http_minor == 0;

	if (req->parser.method == HTTP_CONNECT)
		return (false);
	for (unsigned i = 0; i < req->nhdrs; i++)
		if (http_hdr_is(req, base, i, "host"))
			hosts++;
	return (hosts == 1 || (hosts == 0 && http10));
}

/* Builds and checks the upstream head of req; false: the client is closed. */
static bool
fuzz_forward_head(struct http_msg *req, struct evbuffer *in, uint8_t ctl,
    struct http_buf *head)
{
	const char	*base = http_msg_head_base(req, in);
	struct http_fwd	 fwd;
	bool		 ok;

	if (base == NULL || req->head_len > evbuffer_get_length(in))
		fuzz_fail("head of %zu bytes, %zu buffered", req->head_len,
		    evbuffer_get_length(in));
	memset(&fwd, 0, sizeof(fwd));
	fwd.client_ip = "127.0.0.1";
	fwd.host_default = "h";
	fwd.target = base + req->url.off;
	fwd.target_len = req->url.len;
	http_target_absolute(fwd.target, fwd.target_len, &fwd.authority,
	    &fwd.path);
	fwd.xff = (ctl & 0x08) != 0;
	fwd.proto = (ctl & 0x10) != 0;
	fwd.host = (ctl & 0x20) != 0;
	fwd.trust = (ctl & 0x40) != 0;
	fwd.via = (ctl & 0x80) != 0;
	if (http_request_head(req, base, &fwd, head) == -1)
		abort();	/* out of memory */
	fuzz_check_head(head);
	/* cutover answers 431 instead of sending what it would not take */
	ok = fuzz_would_forward(req, base) && http_head_fits(req, head);
	http_msg_head_drain(req, in);
	return (ok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_feed	 f;
	struct evbuffer		*in, *body;
	struct http_msg		 req;
	struct http_buf		 head = { 0 };
	enum http_result	 r;

	if (size < FUZZ_CTL_BYTES)
		return (0);
	fuzz_feed_init(&f, data, size);
	if ((in = evbuffer_new()) == NULL || (body = evbuffer_new()) == NULL)
		abort();
	http_msg_init(&req, HTTP_REQUEST);
	req.out = body;
	for (int n = 0; n < FUZZ_MSGS; n++) {
		while ((r = http_msg_head(&req, in)) == HTTP_MORE)
			if (fuzz_feed_next(&f, in) == 0)
				goto done;
		if (r == HTTP_ERROR) {
			fuzz_check_error(&req);
			goto done;
		}
		if (!fuzz_forward_head(&req, in, data[0], &head))
			goto done;
		req.chunked_out = (req.parser.flags & F_CHUNKED) != 0;
		while ((r = http_msg_body(&req, in)) == HTTP_MORE)
			if (fuzz_feed_next(&f, in) == 0)
				goto done;	/* cut short: conn closes */
		if (r == HTTP_ERROR) {
			fuzz_check_error(&req);
			goto done;
		}
		fuzz_check_forwarded(HTTP_REQUEST, &head, body, &req);
		evbuffer_drain(body, evbuffer_get_length(body));
		http_msg_next(&req);
	}
done:
	http_msg_free(&req);
	http_buf_free(&head);
	evbuffer_free(body);
	evbuffer_free(in);
	return (0);
}
