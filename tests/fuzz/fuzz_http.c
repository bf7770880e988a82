/*
 * fuzz_http.c — feeding and invariants shared by fuzz_request and
 * fuzz_response (see fuzz_http.h).
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "fuzz_http.h"
#include "http_head.h"

void
fuzz_feed_init(struct fuzz_feed *f, const uint8_t *data, size_t size)
{
	static const unsigned	 pieces[] = { 0, 8, 64, 1024 };

	memset(f, 0, sizeof(*f));
	f->max_piece = pieces[data[0] & 3];
	f->by_ref = (data[0] & 4) != 0;
	f->rng = 0x9e3779b9u ^ ((uint32_t)data[1] << 8 | data[1]);
	f->data = data + FUZZ_CTL_BYTES;
	f->size = size - FUZZ_CTL_BYTES;
}

/* xorshift32: the same input always splits the same way. */
static uint32_t
fuzz_rand(struct fuzz_feed *f)
{
	f->rng ^= f->rng << 13;
	f->rng ^= f->rng >> 17;
	f->rng ^= f->rng << 5;
	return (f->rng);
}

size_t
fuzz_feed_next(struct fuzz_feed *f, struct evbuffer *in)
{
	size_t	n = f->size - f->pos;

	if (n == 0)
		return (0);
	if (f->max_piece > 0 && n > 1)
		n = 1 + fuzz_rand(f) % (n < f->max_piece ? n : f->max_piece);
	/* by reference, each piece is a chain of its own, as reads of
	 * several packets can be; otherwise pieces share chains */
	if (f->by_ref)
		evbuffer_add_reference(in, f->data + f->pos, n, NULL, NULL);
	else
		evbuffer_add(in, f->data + f->pos, n);
	f->pos += n;
	return (n);
}

void
fuzz_fail(const char *fmt, ...)
{
	va_list	ap;

	fputs("fuzz: invariant violated: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* Prints bytes escaped, for a failure report. */
static void
fuzz_dump(const char *what, const char *p, size_t len)
{
	fprintf(stderr, "fuzz: %s (%zu bytes): \"", what, len);
	for (size_t i = 0; i < len && i < 2048; i++) {
		unsigned char	c = (unsigned char)p[i];

		if (c == '\r')
			fputs("\\r", stderr);
		else if (c == '\n')
			fputs("\\n\"\n  \"", stderr);
		else if (c == '"' || c == '\\')
			fprintf(stderr, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(stderr, "\\x%02x", c);
		else
			fputc(c, stderr);
	}
	fputs("\"\n", stderr);
}

void
fuzz_check_head(const struct http_buf *head)
{
	const char	*p = head->p;
	size_t		 len = head->len;

	if (len < 4 || memcmp(p + len - 4, "\r\n\r\n", 4) != 0) {
		fuzz_dump("head", p, len);
		fuzz_fail("a built head does not end with CRLF CRLF");
	}
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\0') {
			fuzz_dump("head", p, len);
			fuzz_fail("NUL at %zu of a built head", i);
		}
		if ((p[i] == '\n' && (i == 0 || p[i - 1] != '\r')) ||
		    (p[i] == '\r' && (i + 1 == len || p[i + 1] != '\n'))) {
			fuzz_dump("head", p, len);
			fuzz_fail("bare %s at %zu of a built head",
			    p[i] == '\n' ? "LF" : "CR", i);
		}
	}
}

/* Counts the fields of msg named name. */
static unsigned
fuzz_count(const struct http_msg *msg, const char *base, const char *name)
{
	unsigned	n = 0;

	for (unsigned i = 0; i < msg->nhdrs; i++)
		if (http_hdr_is(msg, base, i, name))
			n++;
	return (n);
}

void
fuzz_check_error(const struct http_msg *msg)
{
	struct evbuffer	*out;
	struct http_msg	 chk;
	enum http_result r;

	if (msg->status < 400 || msg->status > 599 || msg->error == NULL)
		fuzz_fail("HTTP_ERROR with status %d, reason %s", msg->status,
		    msg->error != NULL ? msg->error : "(null)");
	if ((out = evbuffer_new()) == NULL)
		abort();
	http_error(out, msg->status, msg->error, 0);
	http_msg_init(&chk, HTTP_RESPONSE);
	chk.out = evbuffer_new();
	if ((r = http_msg_head(&chk, out)) == HTTP_DONE) {
		http_msg_head_drain(&chk, out);
		r = http_msg_body(&chk, out);
	}
	if (r != HTTP_DONE || evbuffer_get_length(out) != 0)
		fuzz_fail("the error reply for %d \"%s\" is not one response",
		    msg->status, msg->error);
	http_msg_free(&chk);
	evbuffer_free(chk.out);
	evbuffer_free(out);
}

/* Whether the bytes of a and b are the same. */
static bool
fuzz_same(struct evbuffer *a, struct evbuffer *b)
{
	size_t	len = evbuffer_get_length(a);

	return (len == evbuffer_get_length(b) && (len == 0 ||
	    memcmp(evbuffer_pullup(a, -1), evbuffer_pullup(b, -1), len) == 0));
}

/* The framing fields of the parsed head in chk: at most one of them. */
static void
fuzz_check_framing(struct http_msg *chk, struct evbuffer *wire,
    const struct http_buf *head)
{
	const char	*base = http_msg_head_base(chk, wire);
	unsigned	 te, cl;

	te = fuzz_count(chk, base, "transfer-encoding");
	cl = fuzz_count(chk, base, "content-length");
	if (te + cl > 1) {
		fuzz_dump("head", head->p, head->len);
		fuzz_fail("forwarded head has %u Transfer-Encoding and %u "
		    "Content-Length fields", te, cl);
	}
}

void
fuzz_check_forwarded(llhttp_type_t type, const struct http_buf *head,
    struct evbuffer *body, const struct http_msg *msg)
{
	struct evbuffer	*wire, *decoded;
	struct http_msg	 chk;
	enum http_result r;

	if ((wire = evbuffer_new()) == NULL ||
	    (decoded = evbuffer_new()) == NULL)
		abort();
	evbuffer_add(wire, head->p, head->len);
	evbuffer_add(wire, evbuffer_pullup(body, -1),
	    evbuffer_get_length(body));
	http_msg_init(&chk, type);
	chk.out = decoded;
	chk.skip_body = msg->skip_body;
	if ((r = http_msg_head(&chk, wire)) != HTTP_DONE) {
		fuzz_dump("head", head->p, head->len);
		fuzz_fail("forwarded head does not parse again: %s",
		    r == HTTP_MORE ? "incomplete" : chk.error);
	}
	if (chk.head_len != head->len) {
		fuzz_dump("head", head->p, head->len);
		fuzz_fail("forwarded head parses as %zu bytes, not %zu",
		    chk.head_len, head->len);
	}
	fuzz_check_framing(&chk, wire, head);
	http_msg_head_drain(&chk, wire);
	r = http_msg_body(&chk, wire);
	if (r == HTTP_MORE && llhttp_message_needs_eof(&chk.parser)) {
		/* a body delimited by close must say the connection closes */
		if (!(chk.parser.flags & F_CONNECTION_CLOSE)) {
			fuzz_dump("head", head->p, head->len);
			fuzz_fail("body runs until close without "
			    "\"Connection: close\"");
		}
		r = http_msg_eof(&chk);
	}
	if (r != HTTP_DONE) {
		fuzz_dump("head", head->p, head->len);
		fuzz_dump("body", (const char *)evbuffer_pullup(body, -1),
		    evbuffer_get_length(body));
		fuzz_fail("forwarded message does not parse again as one "
		    "complete message: %s", r == HTTP_MORE ? "incomplete" :
		    chk.error);
	}
	if (evbuffer_get_length(wire) != 0)
		fuzz_fail("%zu bytes after the forwarded message",
		    evbuffer_get_length(wire));
	if (chk.body_bytes != msg->body_bytes)
		fuzz_fail("forwarded body is %llu bytes, the received one %llu",
		    (unsigned long long)chk.body_bytes,
		    (unsigned long long)msg->body_bytes);
	if (!msg->chunked_out && !fuzz_same(decoded, body))
		fuzz_fail("forwarded body differs from the received one");
	http_msg_free(&chk);
	evbuffer_free(decoded);
	evbuffer_free(wire);
}
