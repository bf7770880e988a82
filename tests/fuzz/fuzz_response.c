/*
 * fuzz_response.c — libFuzzer harness: a member's byte stream through the
 * response side of src/http.c, as src/conn.c drives it.
 *
 * Input: 2 control bytes, then the bytes the member sends.  Control byte 0
 * picks how the stream arrives (see fuzz_http.h); its bits 3-6 say what
 * the client asked: an HTTP/1.0 client, a HEAD request (skip_body), a
 * client that did not ask for keep-alive, and whether Via is added.  Byte
 * 1 seeds the piece sizes.
 *
 * Up to FUZZ_MSGS responses (1xx interim ones, then final ones on a reused
 * connection) are parsed: head, the client's head (http_response_head with
 * the close decision of conn_response_head), drain, the body re-framed
 * into an evbuffer, and http_msg_eof when the stream ends mid-body.  What
 * the client would get must be a well-formed head and parse again as
 * exactly one response with the same body (fuzz_check_forwarded); a body
 * delimited by close must come with "Connection: close".  After a final
 * response whose connection closes, or at the end of the stream, it
 * stops.
 *
 * Run it:  make fuzz  (in a build directory configured with --enable-fuzz),
 * or by hand:  tests/fuzz/fuzz_response -max_len=8192 \
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

#define FUZZ_MSGS	8	/* responses per input */

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the client asked, from control byte 0. */
struct fuzz_client {
	bool	http10;
	bool	head;		/* the request was HEAD */
	bool	close;		/* no keep-alive */
	bool	via;
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LL_ERROR);
	return (0);
}

/*
 * Builds and checks the client's head for resp as conn_response_head()
 * does.  Returns false when nothing is sent (a 1xx for an HTTP/1.0
 * client); sets *close to whether the client connection ends after it.
 */
static bool
fuzz_client_head(struct http_msg *resp, struct evbuffer *in,
    const struct fuzz_client *cl, struct http_buf *head, bool *close)
{
	const char	*base = http_msg_head_base(resp, in);
	int		 status = resp->parser.status_code;
	bool		 interim = status < 200, body, fits;

	if (base == NULL || resp->head_len > evbuffer_get_length(in))
		fuzz_fail("head of %zu bytes, %zu buffered", resp->head_len,
		    evbuffer_get_length(in));
	*close = cl->close;
	body = !resp->skip_body && status != 204 && status != 304;
	if (!interim && cl->http10 && body &&
	    !(resp->parser.flags & F_CONTENT_LENGTH))
		*close = true;
	if (interim && cl->http10 && status != 101) {
		http_msg_head_drain(resp, in);
		return (false);
	}
	if (http_response_head(resp, base, cl->http10, interim ? false :
	    *close, cl->via, head) == -1)
		abort();	/* out of memory */
	fuzz_check_head(head);
	/* cutover answers 502 instead of sending what it would not take */
	fits = http_head_fits(resp, head);
	http_msg_head_drain(resp, in);
	return (fits);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_feed	 f;
	struct fuzz_client	 cl;
	struct evbuffer		*in, *body;
	struct http_msg		 resp;
	struct http_buf		 head = { 0 };
	enum http_result	 r;
	bool			 sent, close, eof = false;

	if (size < FUZZ_CTL_BYTES)
		return (0);
	fuzz_feed_init(&f, data, size);
	cl.http10 = (data[0] & 0x08) != 0;
	cl.head = (data[0] & 0x10) != 0;
	cl.close = (data[0] & 0x20) != 0;
	cl.via = (data[0] & 0x40) != 0;
	if ((in = evbuffer_new()) == NULL || (body = evbuffer_new()) == NULL)
		abort();
	http_msg_init(&resp, HTTP_RESPONSE);
	resp.out = body;
	resp.skip_body = cl.head;
	for (int n = 0; n < FUZZ_MSGS && !eof; n++) {
		while ((r = http_msg_head(&resp, in)) == HTTP_MORE)
			if (fuzz_feed_next(&f, in) == 0)
				goto done;
		if (r == HTTP_ERROR) {
			fuzz_check_error(&resp);
			goto done;
		}
		sent = fuzz_client_head(&resp, in, &cl, &head, &close);
		if (resp.parser.status_code == 101)
			goto done;	/* a tunnel from here on */
		while ((r = http_msg_body(&resp, in)) == HTTP_MORE)
			if (fuzz_feed_next(&f, in) == 0) {
				r = http_msg_eof(&resp);
				eof = true;
				break;
			}
		if (r == HTTP_ERROR) {
			fuzz_check_error(&resp);
			goto done;
		}
		if (sent)
			fuzz_check_forwarded(HTTP_RESPONSE, &head, body, &resp);
		if (resp.parser.status_code >= 200 && close)
			goto done;
		evbuffer_drain(body, evbuffer_get_length(body));
		http_msg_next(&resp);
		resp.skip_body = cl.head;
	}
done:
	http_msg_free(&resp);
	http_buf_free(&head);
	evbuffer_free(body);
	evbuffer_free(in);
	return (0);
}
