/*
 * http.c — HTTP/1.1 message parsing and rewriting for both directions.
 */
#include "autoconf.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"

static struct http_msg *
msg_of(llhttp_t *p)
{
	return (p->data);
}

#define HTTP_DIGITS_MAX	24

/* Writes n in base 10 or 16 at the end of d; returns how many digits.
 * (snprintf cost a request more than its whole head parse.) */
static size_t
http_digits(uint64_t n, unsigned base, char d[HTTP_DIGITS_MAX])
{
	size_t	i = HTTP_DIGITS_MAX;

	do
		d[--i] = "0123456789abcdef"[n % base];
	while ((n /= base) != 0);
	return (HTTP_DIGITS_MAX - i);
}

static void
span_extend(struct http_msg *msg, struct http_span *s, const char *at,
    size_t len)
{
	if (s->len == 0)
		s->off = (uint32_t)(at - msg->base);
	s->len += (uint32_t)len;
}

/*
 * Field arrays are 1.6 KiB and needed only while a head is parsed and
 * forwarded, so a connection borrows one from a per-thread cache instead of
 * carrying it: an idle keep-alive connection holds none, and steady traffic
 * allocates none.
 */
#define HTTP_HDRS_CACHED	64

union http_hdrs_slot {
	union http_hdrs_slot	*next;
	struct http_hdr		 hdrs[HTTP_HEADERS_MAX];
};

static _Thread_local union http_hdrs_slot	*http_hdrs_free;
static _Thread_local unsigned			 http_hdrs_nfree;

static struct http_hdr *
http_hdrs_get(void)
{
	union http_hdrs_slot	*s;

	if ((s = http_hdrs_free) != NULL) {
		http_hdrs_free = s->next;
		http_hdrs_nfree--;
		return (s->hdrs);
	}
	if ((s = malloc(sizeof(*s))) == NULL)
		return (NULL);
	return (s->hdrs);
}

static void
http_hdrs_put(struct http_msg *msg)
{
	union http_hdrs_slot	*s = (union http_hdrs_slot *)(void *)msg->hdrs;

	if (s == NULL)
		return;
	msg->hdrs = NULL;
	msg->nhdrs = 0;
	if (http_hdrs_nfree == HTTP_HDRS_CACHED) {
		free(s);
		return;
	}
	s->next = http_hdrs_free;
	http_hdrs_free = s;
	http_hdrs_nfree++;
}

void
http_hdrs_cache_free(void)
{
	union http_hdrs_slot	*s;

	while ((s = http_hdrs_free) != NULL) {
		http_hdrs_free = s->next;
		free(s);
	}
	http_hdrs_nfree = 0;
}

static int
on_message_begin(llhttp_t *p)
{
	struct http_msg	*msg = msg_of(p);

	msg->url.len = msg->reason.len = 0;
	msg->nhdrs = 0;
	if (msg->hdrs != NULL)
		msg->hdrs[0].name.len = msg->hdrs[0].value.len = 0;
	msg->head_done = msg->complete = msg->in_value = false;
	msg->trailer_value = msg->trailer_drop = msg->name_seen = false;
	msg->trailer_start = 0;
	if (msg->trailers != NULL)
		msg->trailers->len = 0;
	msg->body_bytes = 0;
	msg->crlf_need = 0;
	return (0);
}

/* Records an error for the caller of llhttp_execute; returns -1. */
static int
http_reject(struct http_msg *msg, int status, const char *why)
{
	msg->status = status;
	msg->error = why;
	return (-1);
}

static int
on_url(llhttp_t *p, const char *at, size_t len)
{
	struct http_msg	*msg = msg_of(p);

	if (msg->url.len + len > HTTP_HEAD_MAX / 2) {
		msg->status = 414;
		msg->error = "request target too long";
		return (-1);
	}
	span_extend(msg, &msg->url, at, len);
	return (0);
}

static int
on_status(llhttp_t *p, const char *at, size_t len)
{
	struct http_msg	*msg = msg_of(p);

	/* llhttp 8.1 lets anything through; RFC 9112 4: HTAB, SP, VCHAR,
	 * obs-text */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)at[i] < 0x20 && at[i] != '\t')
			return (http_reject(msg, 502, "control character in "
			    "the reason phrase"));
		else if (at[i] == 0x7f)
			return (http_reject(msg, 502, "control character in "
			    "the reason phrase"));

	span_extend(msg, &msg->reason, at, len);
	return (0);
}

static bool	http_trailer_is_allowed(const char *name, size_t len);

/*
 * Keeps a piece of a trailer field (a header after the last chunk) to
 * send after our own last chunk; only a chunked output can carry them.
 * Each kept field ends in CRLF.  A field that may not be a trailer
 * (http_trailer_is_allowed) is dropped once its name is complete: at its
 * first value piece, or at its end when its value is empty.
 */
static int
http_trailer(struct http_msg *msg, const char *at, size_t len, bool value)
{
	struct http_buf	*t;

	if (!msg->chunked_out)
		return (0);
	if (msg->trailers == NULL &&
	    (msg->trailers = calloc(1, sizeof(*msg->trailers))) == NULL)
		return (http_reject(msg, 502, "out of memory"));
	t = msg->trailers;
	if (!value && msg->trailer_value) {	/* a new field begins */
		msg->trailer_value = msg->trailer_drop = false;
		msg->trailer_start = (uint32_t)t->len;
	}
	if (value && !msg->trailer_value) {	/* its name is complete */
		msg->trailer_value = true;
		/* no name yet (": x", refused at its end): t->p may be NULL */
		msg->trailer_drop = t->len == msg->trailer_start ||
		    !http_trailer_is_allowed(t->p + msg->trailer_start,
		    t->len - msg->trailer_start);
		if (msg->trailer_drop)
			t->len = msg->trailer_start;
		else if (http_buf_add(t, ": ", 2) == -1)
			return (http_reject(msg, 502, "out of memory"));
	}
	if (msg->trailer_drop)
		return (0);
	if (t->len + len + 4 > HTTP_HEAD_MAX)
		return (http_reject(msg, 400, "trailer fields too large"));
	if (http_buf_add(t, at, len) == -1)
		return (http_reject(msg, 502, "out of memory"));
	return (0);
}

/* A trailer field is complete: ends it with CRLF. */
static int
http_trailer_end(struct http_msg *msg)
{
	/* llhttp reports no value piece for an empty value */
	if (!msg->trailer_value && http_trailer(msg, "", 0, true) == -1)
		return (-1);
	if (msg->chunked_out && !msg->trailer_drop &&
	    http_buf_add(msg->trailers, "\r\n", 2) == -1)
		return (http_reject(msg, 502, "out of memory"));
	return (0);
}

static int
on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct http_msg	*msg = msg_of(p);

	msg->name_seen |= len > 0;
	if (msg->head_done)
		return (http_trailer(msg, at, len, false));
	/* room for what forwarding adds, so what we send we would take */
	if (msg->nhdrs == HTTP_HEADERS_MAX - HTTP_HEADERS_ADDED)
		return (http_reject(msg, 431, "too many header fields"));
	/* RFC 9112 5.1: no whitespace between a field name and its colon */
	if (memchr(at, ' ', len) != NULL || memchr(at, '\t', len) != NULL)
		return (http_reject(msg, 400, "whitespace in a field name"));
	span_extend(msg, &msg->hdrs[msg->nhdrs].name, at, len);
	return (0);
}

static int
on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct http_msg		*msg = msg_of(p);
	struct http_span	*v;

	if (msg->head_done)
		return (http_trailer(msg, at, len, true));
	if (len == 0)
		return (0);
	v = &msg->hdrs[msg->nhdrs].value;
	/* a value arriving in two pieces that do not touch was folded
	 * over lines (obs-fold), which RFC 9112 5.2 lets us reject */
	if (v->len > 0 && at != msg->base + v->off + v->len)
		return (http_reject(msg, 400, "obsolete line folding"));
	span_extend(msg, v, at, len);
	return (0);
}

static int
on_header_value_complete(llhttp_t *p)
{
	struct http_msg	*msg = msg_of(p);

	/* llhttp 8.1 takes ": value", a field without a name */
	if (!msg->name_seen)
		return (http_reject(msg, 400, "empty field name"));
	msg->name_seen = false;
	if (msg->head_done)
		return (http_trailer_end(msg));
	if (++msg->nhdrs < HTTP_HEADERS_MAX)
		msg->hdrs[msg->nhdrs].name.len =
		    msg->hdrs[msg->nhdrs].value.len = 0;
	return (0);
}

static int
on_headers_complete(llhttp_t *p)
{
	struct http_msg	*msg = msg_of(p);

	msg->head_done = true;
	/* a response to HEAD, a 1xx, 204 or 304 has no body whatever its
	 * headers say (RFC 9112 6.3); llhttp 8.1 would wait for one */
	if (p->type == HTTP_RESPONSE && p->status_code != 101 &&
	    (p->status_code < 200 || p->status_code == 204 ||
	    p->status_code == 304))
		msg->skip_body = true;
	return (msg->skip_body ? 1 : HPE_PAUSED);
}

/*
 * llhttp 8.1 takes the two bytes after a chunk's data without looking at
 * them, so "5\r\nhelloXX3\r\n..." would pass: a smuggling hole.  We check
 * them: those in this buffer now, the rest at the start of the next.
 */
static int
http_check_crlf(struct http_msg *msg, const char *at, const char *end)
{
	unsigned	 have = (unsigned)(end - at);
	unsigned	 k = msg->crlf_need < have ? msg->crlf_need : have;
	const char	*want = &"\r\n"[2 - msg->crlf_need];

	if (memcmp(at, want, k) != 0)
		return (http_reject(msg, 400, "chunk data not followed by "
		    "CRLF"));
	msg->crlf_need -= k;
	return (0);
}

static int
on_chunk_header(llhttp_t *p)
{
	msg_of(p)->chunk_left = p->content_length;
	return (0);
}

static int
on_body(llhttp_t *p, const char *at, size_t len)
{
	struct http_msg	*msg = msg_of(p);
	char		 size[HTTP_DIGITS_MAX];
	size_t		 n;

	if (len == 0)
		return (0);	/* llhttp flushes empty spans at buffer ends */
	if ((p->flags & F_CHUNKED) && (msg->chunk_left -= len) == 0) {
		msg->crlf_need = 2;
		if (http_check_crlf(msg, at + len, msg->step_end) == -1)
			return (-1);
	}
	msg->body_bytes += len;
	if (msg->chunked_out) {
		n = http_digits(len, 16, size);
		evbuffer_add(msg->out, size + sizeof(size) - n, n);
		evbuffer_add(msg->out, "\r\n", 2);
		evbuffer_add(msg->out, at, len);
		evbuffer_add(msg->out, "\r\n", 2);
	} else
		evbuffer_add(msg->out, at, len);
	return (0);
}

static int
on_message_complete(llhttp_t *p)
{
	struct http_msg	*msg = msg_of(p);

	if (msg->chunked_out) {
		evbuffer_add(msg->out, "0\r\n", 3);
		if (msg->trailers != NULL && msg->trailers->len > 0)
			evbuffer_add(msg->out, msg->trailers->p,
			    msg->trailers->len);
		evbuffer_add(msg->out, "\r\n", 2);
	}
	/* a "Connection: close" trailer is dropped, but llhttp has seen it
	 * and refuses what follows: the connection cannot be reused */
	if (!llhttp_should_keep_alive(p))
		msg->keep_alive = false;
	msg->complete = true;
	return (HPE_PAUSED);
}

/* Constant, so that every worker thread may share it. */
static const llhttp_settings_t	http_settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_status = on_status,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_header_value_complete = on_header_value_complete,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_chunk_header = on_chunk_header,
	.on_message_complete = on_message_complete,
};

void
http_msg_init(struct http_msg *msg, llhttp_type_t type)
{
	memset(msg, 0, sizeof(*msg));
	llhttp_init(&msg->parser, type, &http_settings);
	msg->parser.data = msg;
}

static enum http_result
http_msg_fail(struct http_msg *msg, int status, const char *why)
{
	if (msg->status == 0) {
		msg->status = status;
		msg->error = why;
	}
	return (HTTP_ERROR);
}

/* Whether the value of header i is exactly the token "chunked"; in *last
 * whether its last coding is chunked. */
static bool
http_value_is_chunked(const struct http_msg *msg, const char *base,
    unsigned i, bool *last)
{
	const char	*v = base + msg->hdrs[i].value.off;
	size_t		 n = msg->hdrs[i].value.len;
	const char	*t;

	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	for (t = v + n; t > v && t[-1] != ',' && t[-1] != ' '; t--)
		;
	*last = (size_t)(v + n - t) == 7 && strncasecmp(t, "chunked", 7) == 0;
	return (n == 7 && *last);
}

static const char	*http_target_check(uint8_t method, const char *t,
			    size_t len);
static bool		 http_conn_tokens_fit(const struct http_msg *msg,
			    const char *base);

/*
 * What llhttp accepts but a proxy must not pass on: HTTP/0.9 and versions
 * other than 1.x, and transfer codings other than a lone "chunked" (we
 * re-frame bodies, so any other coding would reach the peer undeclared).
 * RFC 9112 6.3: without a final chunked the length is unknown (400);
 * codings we do not implement before it are 501 (6.1).
 */
static enum http_result
http_msg_check(struct http_msg *msg, const char *base)
{
	const llhttp_t	*p = &msg->parser;
	bool		 lone = true, last = false;
	const char	*why;

	if (p->http_major != 1 || p->http_minor > 1)
		return (http_msg_fail(msg, 505, "HTTP version not supported"));
	if (p->type == HTTP_RESPONSE && (p->status_code < 100 ||
	    p->status_code > 599))
		return (http_msg_fail(msg, 502, "status code out of range"));
	if (p->type == HTTP_REQUEST && (why = http_target_check(p->method,
	    base + msg->url.off, msg->url.len)) != NULL)
		return (http_msg_fail(msg, 400, why));
	if (!http_conn_tokens_fit(msg, base))
		return (http_msg_fail(msg, p->type == HTTP_REQUEST ? 400 : 502,
		    "more than 64 field names in Connection"));
	if (!(p->flags & F_TRANSFER_ENCODING))
		return (HTTP_DONE);
	for (unsigned i = 0; i < msg->nhdrs; i++)
		if (http_hdr_is(msg, base, i, "transfer-encoding"))
			lone = http_value_is_chunked(msg, base, i, &last) &&
			    lone;
	if (!last)
		return (http_msg_fail(msg, 400, "chunked is not the final "
		    "transfer coding"));
	if (!lone)
		return (http_msg_fail(msg, 501, "transfer coding not "
		    "implemented (only chunked)"));
	return (HTTP_DONE);
}

/*
 * Keeps what the head said.  A body of known length (not re-framed) is
 * moved between buffers whole, without llhttp looking at each byte: the
 * largest cost we control on big responses is that extra copy.
 */
static void
http_msg_note(struct http_msg *msg)
{
	const llhttp_t	*p = &msg->parser;

	msg->status_code = p->status_code;
	msg->method = p->method;
	msg->keep_alive = llhttp_should_keep_alive(p);
	msg->fast = !msg->complete && !msg->skip_body &&
	    (p->flags & F_CONTENT_LENGTH) && !(p->flags & F_CHUNKED) &&
	    p->content_length > 0 && !p->upgrade &&
	    (p->type == HTTP_REQUEST || (p->status_code >= 200 &&
	    p->status_code != 204 && p->status_code != 304));
	msg->remaining = msg->fast ? p->content_length : 0;
}

enum http_result
http_msg_head(struct http_msg *msg, struct evbuffer *in)
{
	size_t		 avail = evbuffer_get_length(in), want, lim;
	const char	*base, *pos;
	llhttp_errno_t	 e;

	if (msg->hdrs == NULL) {
		if ((msg->hdrs = http_hdrs_get()) == NULL)
			return (http_msg_fail(msg, 503, "out of memory"));
		msg->hdrs[0].name.len = msg->hdrs[0].value.len = 0;
	}
again:
	want = avail < HTTP_HEAD_MAX ? avail : HTTP_HEAD_MAX;
	if (want <= msg->parsed)
		return (HTTP_MORE);
	/*
	 * Parse what the first chain holds before making more contiguous: a
	 * head usually ends there, and pulling up the body read with it
	 * would copy it (16 KiB for a 16 KiB response).  Spans are offsets,
	 * so they survive base moving.
	 */
	lim = evbuffer_get_contiguous_space(in);
	if (lim <= msg->parsed || lim > want)
		lim = want;
	if ((base = (const char *)evbuffer_pullup(in, (ssize_t)lim)) == NULL)
		return (http_msg_fail(msg, 503, "out of memory"));
	msg->base = base;
	e = llhttp_execute(&msg->parser, base + msg->parsed,
	    lim - msg->parsed);
	switch (e) {
	case HPE_OK:
		msg->parsed = lim;
		if (lim == HTTP_HEAD_MAX)
			return (http_msg_fail(msg, 431, "head too large"));
		if (lim < want)
			goto again;	/* the head goes on in the next chain */
		return (HTTP_MORE);
	case HPE_PAUSED:
	case HPE_PAUSED_UPGRADE:
		pos = llhttp_get_error_pos(&msg->parser);
		msg->head_len = msg->parsed = (size_t)(pos - base);
		if (e == HPE_PAUSED)
			llhttp_resume(&msg->parser);
		else
			msg->upgraded = msg->complete = true;
		if (http_msg_check(msg, base) == HTTP_ERROR)
			return (HTTP_ERROR);
		http_msg_note(msg);
		return (HTTP_DONE);
	case HPE_PAUSED_H2_UPGRADE:
		return (http_msg_fail(msg, 505, "HTTP/2 is not spoken on this "
		    "port"));
	case HPE_INVALID_VERSION:
		return (http_msg_fail(msg, 505, "HTTP version not supported"));
	default:
		return (http_msg_fail(msg, 400, llhttp_get_error_reason(
		    &msg->parser)));
	}
}

const char *
http_msg_head_base(const struct http_msg *msg, struct evbuffer *in)
{
	return ((const char *)evbuffer_pullup(in, (ssize_t)msg->head_len));
}

void
http_msg_head_drain(struct http_msg *msg, struct evbuffer *in)
{
	evbuffer_drain(in, msg->head_len);
	msg->parsed = 0;
	msg->base = NULL;
	http_hdrs_put(msg);
}

static enum http_result
http_msg_step(struct http_msg *msg, struct evbuffer *in, const char *data,
    size_t len)
{
	llhttp_errno_t	 e;

	if (msg->crlf_need > 0 &&
	    http_check_crlf(msg, data, data + len) == -1)
		return (HTTP_ERROR);
	msg->step_end = data + len;
	e = llhttp_execute(&msg->parser, data, len);
	switch (e) {
	case HPE_OK:
		evbuffer_drain(in, len);
		return (HTTP_MORE);
	case HPE_PAUSED:
	case HPE_PAUSED_UPGRADE:
		evbuffer_drain(in, (size_t)(llhttp_get_error_pos(&msg->parser) -
		    data));
		if (e == HPE_PAUSED)
			llhttp_resume(&msg->parser);
		else
			msg->upgraded = msg->complete = true;
		return (msg->complete ? HTTP_DONE : HTTP_MORE);
	default:
		return (http_msg_fail(msg, 400, llhttp_get_error_reason(
		    &msg->parser)));
	}
}

/* The fast path: moves up to the rest of the body from in to out; at its
 * end llhttp starts afresh for the next message on the connection. */
static enum http_result
http_msg_move(struct http_msg *msg, struct evbuffer *in)
{
	size_t	n = evbuffer_get_length(in);

	if (n > msg->remaining)
		n = (size_t)msg->remaining;
	if (n > 0 && evbuffer_remove_buffer(in, msg->out, n) != (int)n)
		return (http_msg_fail(msg, 502, "out of memory"));
	msg->remaining -= n;
	msg->body_bytes += n;
	if (msg->remaining > 0)
		return (HTTP_MORE);
	msg->complete = true;
	llhttp_reset(&msg->parser);
	return (HTTP_DONE);
}

enum http_result
http_msg_body(struct http_msg *msg, struct evbuffer *in)
{
	struct evbuffer_iovec	 v;
	enum http_result	 r;

	if (msg->complete)
		return (HTTP_DONE);
	if (msg->fast && !msg->chunked_out)
		return (http_msg_move(msg, in));
	if (evbuffer_get_length(in) == 0)
		return (http_msg_step(msg, in, "", 0));
	while (evbuffer_peek(in, -1, NULL, &v, 1) > 0 && v.iov_len > 0) {
		if ((r = http_msg_step(msg, in, v.iov_base, v.iov_len)) !=
		    HTTP_MORE)
			return (r);
	}
	return (HTTP_MORE);
}

enum http_result
http_msg_eof(struct http_msg *msg)
{
	llhttp_errno_t	e;

	if (msg->complete)
		return (HTTP_DONE);
	e = llhttp_finish(&msg->parser);
	if ((e == HPE_OK || e == HPE_PAUSED) && msg->complete)
		return (HTTP_DONE);
	return (http_msg_fail(msg, 502, "connection closed mid-message"));
}

void
http_msg_free(struct http_msg *msg)
{
	http_hdrs_put(msg);
	if (msg->trailers != NULL) {
		http_buf_free(msg->trailers);
		free(msg->trailers);
		msg->trailers = NULL;
	}
}

void
http_msg_next(struct http_msg *msg)
{
	if (msg->trailers != NULL)
		msg->trailers->len = 0;
	msg->trailer_value = msg->trailer_drop = false;
	msg->trailer_start = 0;
	/* an Upgrade that was not accepted: the connection stays HTTP, and
	 * llhttp, which stopped at the end of that request, starts afresh */
	if (msg->upgraded || msg->parser.upgrade) {
		llhttp_reset(&msg->parser);
		msg->upgraded = false;
	}
	http_hdrs_put(msg);
	msg->parsed = msg->head_len = 0;
	msg->head_done = msg->complete = msg->chunked_out = false;
	msg->skip_body = msg->fast = false;
	msg->remaining = 0;
	msg->status = 0;
	msg->error = NULL;
}

bool
http_hdr_is(const struct http_msg *msg, const char *base, unsigned i,
    const char *name)
{
	const struct http_span	*n = &msg->hdrs[i].name;

	return (strlen(name) == n->len &&
	    strncasecmp(base + n->off, name, n->len) == 0);
}

/* ---------------------------------------------------------------- heads */

int
http_buf_add(struct http_buf *b, const void *data, size_t len)
{
	size_t	 cap;
	char	*p;

	if (len == 0)
		return (0);
	if (b->len + len > b->cap) {
		cap = b->cap ? b->cap : 1024;
		while (cap < b->len + len)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL)
			return (-1);
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return (0);
}

int
http_buf_str(struct http_buf *b, const char *s)
{
	return (http_buf_add(b, s, strlen(s)));
}

void
http_buf_free(struct http_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* What a field name means to a proxy. */
enum http_field {
	HF_OTHER,	/* end to end */
	HF_HOP,		/* one connection's (RFC 9110 7.6.1), or framing that
			 * we write ourselves: never forwarded */
	HF_HOST,
	HF_XFF,		/* X-Forwarded-For */
	HF_XFPROTO,	/* X-Forwarded-Proto */
	HF_XFHOST,	/* X-Forwarded-Host */
	HF_FWD,		/* another forwarding field */
};

struct http_field_name {
	const char	*name;
	uint8_t		 len;
	uint8_t		 kind;	/* enum http_field */
};

#define HF(s, k)	{ s, sizeof(s) - 1, k }

/*
 * Forwarding fields say who the client is, which host, scheme, port or
 * path prefix it asked for, or how it reached us; a member may act on
 * them (logs, rate limits, redirects, access rules).  From a source not in
 * forwarded.trusted they are all removed: Forwarded (RFC 7239), every
 * X-Forwarded-* (For, Host, Proto, Port, Prefix, Server, Ssl, Scheme, Uri,
 * Method, Client-Cert, ... by prefix), X-Real-IP, X-Client-IP,
 * True-Client-IP, X-Cluster-Client-IP, X-Original-Forwarded-For,
 * Front-End-Https and X-Url-Scheme.
 */
static const struct http_field_name	http_fields[] = {
	HF("connection", HF_HOP),
	HF("keep-alive", HF_HOP),
	HF("proxy-connection", HF_HOP),
	HF("te", HF_HOP),
	HF("trailer", HF_HOP),
	HF("transfer-encoding", HF_HOP),
	HF("upgrade", HF_HOP),
	HF("content-length", HF_HOP),
	HF("host", HF_HOST),
	HF("x-forwarded-for", HF_XFF),
	HF("x-forwarded-proto", HF_XFPROTO),
	HF("x-forwarded-host", HF_XFHOST),
	HF("forwarded", HF_FWD),
	HF("x-real-ip", HF_FWD),
	HF("x-client-ip", HF_FWD),
	HF("true-client-ip", HF_FWD),
	HF("x-cluster-client-ip", HF_FWD),
	HF("x-original-forwarded-for", HF_FWD),
	HF("front-end-https", HF_FWD),
	HF("x-url-scheme", HF_FWD),
};

/*
 * Fields that may not be trailers (RFC 9110 6.5.1: a recipient needs them
 * before the content, or they would override what the header section
 * said), besides those in http_fields (framing, connection, Host,
 * forwarding): request modifiers and controls (Cache-Control, Expect,
 * Max-Forwards, Pragma, Range, every If-*), authentication (Authorization,
 * WWW-Authenticate, Cookie, Set-Cookie, every Proxy-*), response controls
 * (Age, Date, Expires, Location, Retry-After, Vary, Warning) and what says
 * how to process the content (Content-Type, -Encoding, -Range, -Language,
 * -Location).  They are dropped from trailers in both directions; others
 * (a checksum, Server-Timing, Content-Digest) pass.
 */
static const struct http_field_name	http_not_trailers[] = {
	HF("cache-control", 0),
	HF("expect", 0),
	HF("max-forwards", 0),
	HF("pragma", 0),
	HF("range", 0),
	HF("authorization", 0),
	HF("www-authenticate", 0),
	HF("cookie", 0),
	HF("set-cookie", 0),
	HF("age", 0),
	HF("date", 0),
	HF("expires", 0),
	HF("location", 0),
	HF("retry-after", 0),
	HF("vary", 0),
	HF("warning", 0),
	HF("content-type", 0),
	HF("content-encoding", 0),
	HF("content-range", 0),
	HF("content-language", 0),
	HF("content-location", 0),
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static bool
name_in(const struct http_field_name *t, size_t n, const char *name,
    size_t len, enum http_field *kind)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].len == len && strncasecmp(name, t[i].name, len) == 0) {
			*kind = t[i].kind;
			return (true);
		}
	return (false);
}

static bool
name_has_prefix(const char *name, size_t len, const char *prefix,
    size_t plen)
{
	return (len > plen && strncasecmp(name, prefix, plen) == 0);
}

#define PREFIX(name, len, p)	name_has_prefix(name, len, p, sizeof(p) - 1)

/* What the field name (len bytes) is. */
static enum http_field
http_field_kind(const char *name, size_t len)
{
	enum http_field	kind = HF_OTHER;

	if (name_in(http_fields, NELEM(http_fields), name, len, &kind))
		return (kind);
	if ((name[0] == 'x' || name[0] == 'X') &&
	    PREFIX(name, len, "x-forwarded-"))
		return (HF_FWD);
	return (HF_OTHER);
}

static bool
http_trailer_is_allowed(const char *name, size_t len)
{
	enum http_field	kind;

	return (len > 0 && http_field_kind(name, len) == HF_OTHER &&
	    !name_in(http_not_trailers, NELEM(http_not_trailers), name, len,
	    &kind) && !PREFIX(name, len, "if-") &&
	    !PREFIX(name, len, "proxy-"));
}

/*
 * The field names listed in a message's Connection headers.  A bound, so
 * that deciding each field stays cheap: a message listing more is refused
 * (http_msg_check), never forwarded with some of them kept.
 */
#define HTTP_CONN_TOKENS_MAX	64

struct http_tokens {
	struct http_span	 t[HTTP_CONN_TOKENS_MAX];
	unsigned		 n;
};

/* Collects the field names listed in Connection headers; -1 when there
 * are more than HTTP_CONN_TOKENS_MAX. */
static int
http_conn_tokens(const struct http_msg *msg, const char *base,
    struct http_tokens *tk)
{
	const char	*v, *end, *s, *e;

	tk->n = 0;
	for (unsigned i = 0; i < msg->nhdrs; i++) {
		if (!http_hdr_is(msg, base, i, "connection"))
			continue;
		v = base + msg->hdrs[i].value.off;
		end = v + msg->hdrs[i].value.len;
		while (v < end) {
			while (v < end && (*v == ' ' || *v == '\t' || *v == ','))
				v++;
			s = v;
			while (v < end && *v != ',')
				v++;
			e = v;
			while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			if (e == s)
				continue;
			if (tk->n == HTTP_CONN_TOKENS_MAX)
				return (-1);
			tk->t[tk->n].off = (uint32_t)(s - base);
			tk->t[tk->n++].len = (uint32_t)(e - s);
		}
	}
	return (0);
}

static bool
http_conn_tokens_fit(const struct http_msg *msg, const char *base)
{
	struct http_tokens	tk;

	return (http_conn_tokens(msg, base, &tk) == 0);
}

/* Whether header i is dropped for being hop-by-hop (kind is its kind). */
static bool
http_is_hop(const struct http_msg *msg, const char *base, unsigned i,
    enum http_field kind, const struct http_tokens *tk)
{
	const struct http_span	*n = &msg->hdrs[i].name;

	if (kind == HF_HOP)
		return (true);
	if (kind == HF_HOST)
		return (false);	/* Connection may not take Host away */
	for (unsigned k = 0; k < tk->n; k++)
		if (n->len == tk->t[k].len && strncasecmp(base + n->off,
		    base + tk->t[k].off, n->len) == 0)
			return (true);
	return (false);
}

static int
http_add_field(struct http_buf *b, const char *base, const struct http_hdr *h)
{
	if (http_buf_add(b, base + h->name.off, h->name.len) == -1 ||
	    http_buf_add(b, ": ", 2) == -1 ||
	    http_buf_add(b, base + h->value.off, h->value.len) == -1 ||
	    http_buf_add(b, "\r\n", 2) == -1)
		return (-1);
	return (0);
}

static int
http_add_length(struct http_buf *b, uint64_t n)
{
	char	digits[HTTP_DIGITS_MAX];
	size_t	len = http_digits(n, 10, digits);

	if (http_buf_str(b, "Content-Length: ") == -1 ||
	    http_buf_add(b, digits + sizeof(digits) - len, len) == -1)
		return (-1);
	return (http_buf_add(b, "\r\n", 2));
}

/* What a request's fields say that the forwarded fields depend on. */
struct http_seen {
	struct http_buf		 xff;		/* incoming X-Forwarded-For */
	struct http_span	 host;		/* the Host value */
	bool			 has_host;
	bool			 has_proto;
	bool			 has_fhost;
};

/* Whether header i (of kind) of a request is dropped or diverted (not
 * copied): 1, 0, or -1 on ENOMEM. */
static int
http_divert(const struct http_msg *msg, const char *base, unsigned i,
    enum http_field kind, const struct http_fwd *fwd, struct http_seen *seen)
{
	const struct http_hdr	*h = &msg->hdrs[i];

	switch (kind) {
	case HF_HOST:
		seen->has_host = true;
		seen->host = h->value;
		return (fwd->authority.len > 0);	/* replaced */
	case HF_XFF:
		if (fwd->trust && fwd->xff && (http_buf_add(&seen->xff,
		    base + h->value.off, h->value.len) == -1 ||
		    http_buf_add(&seen->xff, ", ", 2) == -1))
			return (-1);
		return (!fwd->trust || fwd->xff);
	case HF_XFPROTO:
		seen->has_proto = fwd->trust;
		return (!fwd->trust);
	case HF_XFHOST:
		seen->has_fhost = fwd->trust;
		return (!fwd->trust);
	case HF_FWD:
		return (!fwd->trust);
	default:
		return (0);
	}
}

/*
 * Copies the end-to-end fields of msg to out.  For a request (fwd not
 * NULL) the Host and forwarding fields are noted in seen and copied,
 * dropped or held back as fwd says.
 */
static int
http_copy_fields(const struct http_msg *msg, const char *base,
    struct http_buf *out, const struct http_fwd *fwd, struct http_seen *seen)
{
	struct http_tokens	tk;
	enum http_field		kind;
	int			d = 0;

	/* http_msg_check refused a message with too many tokens */
	if (http_conn_tokens(msg, base, &tk) == -1)
		return (-1);
	for (unsigned i = 0; i < msg->nhdrs; i++) {
		kind = http_field_kind(base + msg->hdrs[i].name.off,
		    msg->hdrs[i].name.len);
		if (http_is_hop(msg, base, i, kind, &tk))
			continue;
		if (fwd != NULL && (d = http_divert(msg, base, i, kind, fwd,
		    seen)) == -1)
			return (-1);
		if (d == 0 && http_add_field(out, base, &msg->hdrs[i]) == -1)
			return (-1);
	}
	return (0);
}

static int
http_add_line(struct http_buf *b, const char *name, const char *v1,
    size_t len1, const char *v2)
{
	if (http_buf_str(b, name) == -1 || http_buf_add(b, ": ", 2) == -1 ||
	    http_buf_add(b, v1, len1) == -1 ||
	    (v2 != NULL && http_buf_str(b, v2) == -1) ||
	    http_buf_add(b, "\r\n", 2) == -1)
		return (-1);
	return (0);
}

/* Host (when missing or replaced), X-Forwarded-*, Via. */
static int
http_add_forwarded(const char *base, const struct http_fwd *fwd,
    struct http_seen *seen, struct http_buf *out)
{
	const char	*host = fwd->host_default;
	size_t		 hlen = strlen(fwd->host_default);

	if (fwd->authority.len > 0) {
		host = fwd->target + fwd->authority.off;
		hlen = fwd->authority.len;
	} else if (seen->has_host) {
		host = base + seen->host.off;
		hlen = seen->host.len;
	}
	if ((fwd->authority.len > 0 || !seen->has_host) &&
	    http_add_line(out, "Host", host, hlen, NULL) == -1)
		return (-1);
	if (fwd->xff && http_add_line(out, "X-Forwarded-For", seen->xff.p
	    != NULL ? seen->xff.p : "", seen->xff.len, fwd->client_ip) == -1)
		return (-1);
	if (fwd->proto && !seen->has_proto &&
	    http_add_line(out, "X-Forwarded-Proto", "http", 4, NULL) == -1)
		return (-1);
	if (fwd->host && !seen->has_fhost &&
	    http_add_line(out, "X-Forwarded-Host", host, hlen, NULL) == -1)
		return (-1);
	if (fwd->via && http_buf_str(out, "Via: 1.1 cutover\r\n") == -1)
		return (-1);
	return (0);
}

/* The Upgrade fields of msg and "Connection: Upgrade", for a handshake. */
static int
http_add_upgrade(const struct http_msg *msg, const char *base,
    struct http_buf *out)
{
	for (unsigned i = 0; i < msg->nhdrs; i++)
		if (http_hdr_is(msg, base, i, "upgrade") &&
		    http_add_field(out, base, &msg->hdrs[i]) == -1)
			return (-1);
	return (http_buf_str(out, "Connection: Upgrade\r\n"));
}

bool
http_msg_is_upgrade(const struct http_msg *msg)
{
	return (msg->parser.upgrade && msg->parser.method != HTTP_CONNECT);
}

/*
 * Splits an absolute-form target ("http://host:port/path") into its
 * authority and path (RFC 9112 3.2.2); returns false for any other form.
 */
bool
http_target_absolute(const char *t, size_t len, struct http_span *authority,
    struct http_span *path)
{
	size_t	skip, end;

	authority->off = authority->len = 0;
	path->off = 0;
	path->len = (uint32_t)len;
	if (len >= 7 && strncasecmp(t, "http://", 7) == 0)
		skip = 7;
	else if (len >= 8 && strncasecmp(t, "https://", 8) == 0)
		skip = 8;
	else
		return (false);
	for (end = skip; end < len && t[end] != '/' && t[end] != '?'; end++)
		;
	authority->off = (uint32_t)skip;
	authority->len = (uint32_t)(end - skip);
	path->off = (uint32_t)end;
	path->len = (uint32_t)(len - end);
	return (authority->len > 0);
}

/* Whether the n bytes at s are a host[:port] (reg-name or IP literal). */
static bool
http_authority_is_valid(const char *s, size_t n)
{
	static const char	ok[] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
				    "-._~%!$&'()*+,;=:[]";

	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(ok, s[i]) == NULL)
			return (false);
	return (true);
}

/*
 * The forms of request target (RFC 9112 3.2) a member can be sent:
 * origin form ("/path?query") for any method; asterisk form ("*") only
 * with OPTIONS; absolute form only with http or https and a host, without
 * userinfo (its authority becomes the Host).  CONNECT's authority form is
 * left to the caller (405).  Returns NULL, or why t is refused (400).
 */
static const char *
http_target_check(uint8_t method, const char *t, size_t len)
{
	struct http_span	a, p;
	const char		*colon;

	if (method == HTTP_CONNECT || (len > 0 && t[0] == '/'))
		return (NULL);
	if (len == 1 && t[0] == '*')
		return (method == HTTP_OPTIONS ? NULL : "asterisk-form target "
		    "(*) is only for OPTIONS");
	/* http or https, with a host or (the path is not all of t) without */
	if (http_target_absolute(t, len, &a, &p) || p.len != len) {
		if (a.len == 0)
			return ("absolute-form target without a host");
		if (memchr(t + a.off, '@', a.len) != NULL)
			return ("userinfo in an absolute-form target");
		if (!http_authority_is_valid(t + a.off, a.len))
			return ("invalid host in an absolute-form target");
		return (NULL);
	}
	colon = memchr(t, ':', len);
	if (colon != NULL && (size_t)(t + len - colon) >= 3 &&
	    memcmp(colon, "://", 3) == 0)
		return ("absolute-form target with a scheme other than http "
		    "or https");
	if (memchr(t, '/', len) == NULL && colon != NULL)
		return ("authority-form target is only for CONNECT");
	return ("request target is neither origin form (/path) nor absolute "
	    "form (http://host/path)");
}

int
http_request_head(const struct http_msg *req, const char *base,
    const struct http_fwd *fwd, struct http_buf *out)
{
	const llhttp_t	*p = &req->parser;
	struct http_seen seen;
	const char	*t = fwd->target;
	size_t		 tlen = fwd->target_len;
	int		 rc = -1;

	memset(&seen, 0, sizeof(seen));
	out->len = 0;
	if (fwd->authority.len > 0) {	/* absolute form: send the path */
		t = fwd->target + fwd->path.off;
		tlen = fwd->path.len;
	}
	if (http_buf_str(out, llhttp_method_name(p->method)) == -1 ||
	    http_buf_add(out, " ", 1) == -1 ||
	    (fwd->authority.len > 0 && (tlen == 0 || t[0] != '/') &&
	    http_buf_add(out, tlen == 0 && p->method == HTTP_OPTIONS ? "*" :
	    "/", 1) == -1) ||
	    http_buf_add(out, t, tlen) == -1 ||
	    http_buf_add(out, " HTTP/1.1\r\n", 11) == -1 ||
	    http_copy_fields(req, base, out, fwd, &seen) == -1 ||
	    http_add_forwarded(base, fwd, &seen, out) == -1)
		goto fail;
	if (p->flags & F_CHUNKED) {
		if (http_buf_str(out, "Transfer-Encoding: chunked\r\n") == -1)
			goto fail;
	} else if ((p->flags & F_CONTENT_LENGTH) &&
	    http_add_length(out, p->content_length) == -1)
		goto fail;
	if (http_msg_is_upgrade(req) && http_add_upgrade(req, base, out) == -1)
		goto fail;
	rc = http_buf_add(out, "\r\n", 2);
fail:
	http_buf_free(&seen.xff);
	return (rc);
}

static bool
http_status_has_body(int status)
{
	return (status >= 200 && status != 204 && status != 304);
}

int
http_response_head(struct http_msg *resp, const char *base,
    bool client_http10, bool close, bool via, struct http_buf *out)
{
	const llhttp_t	*p = &resp->parser;
	char		 digits[HTTP_DIGITS_MAX];
	int		 status = p->status_code;
	size_t		 n = http_digits((uint64_t)status, 10, digits);

	out->len = 0;
	if (http_buf_str(out, "HTTP/1.1 ") == -1 ||
	    http_buf_add(out, digits + sizeof(digits) - n, n) == -1 ||
	    http_buf_add(out, " ", 1) == -1 ||
	    http_buf_add(out, base + resp->reason.off, resp->reason.len) ==
	    -1 || http_buf_add(out, "\r\n", 2) == -1 ||
	    http_copy_fields(resp, base, out, NULL, NULL) == -1 ||
	    (via && http_buf_str(out, "Via: 1.1 cutover\r\n") == -1))
		return (-1);
	resp->chunked_out = false;
	if (status == 101)
		return (http_add_upgrade(resp, base, out) == -1 ? -1 :
		    http_buf_add(out, "\r\n", 2));
	if (resp->skip_body || !http_status_has_body(status)) {
		/* no body follows: the length only describes the resource */
		for (unsigned i = 0; i < resp->nhdrs; i++)
			if (http_hdr_is(resp, base, i, "content-length") &&
			    http_add_field(out, base, &resp->hdrs[i]) == -1)
				return (-1);
	} else if ((p->flags & F_CONTENT_LENGTH) && !(p->flags & F_CHUNKED)) {
		if (http_add_length(out, p->content_length) == -1)
			return (-1);
	} else if (!client_http10) {
		/* chunked, or until close: chunked keeps the client's
		 * connection open in both cases */
		resp->chunked_out = true;
		if (http_buf_str(out, "Transfer-Encoding: chunked\r\n") == -1)
			return (-1);
	}
	if (close && http_buf_str(out, "Connection: close\r\n") == -1)
		return (-1);
	if (!close && client_http10 &&
	    http_buf_str(out, "Connection: keep-alive\r\n") == -1)
		return (-1);
	return (http_buf_add(out, "\r\n", 2));
}

const char *
http_reason(int status)
{
	switch (status) {
	case 400: return ("Bad Request");
	case 405: return ("Method Not Allowed");
	case 408: return ("Request Timeout");
	case 413: return ("Content Too Large");
	case 414: return ("URI Too Long");
	case 431: return ("Request Header Fields Too Large");
	case 500: return ("Internal Server Error");
	case 501: return ("Not Implemented");
	case 502: return ("Bad Gateway");
	case 503: return ("Service Unavailable");
	case 504: return ("Gateway Timeout");
	case 505: return ("HTTP Version Not Supported");
	default: return ("Error");
	}
}

void
http_error(struct evbuffer *out, int status, const char *detail,
    unsigned retry_after)
{
	char	body[256];
	int	n;

	n = snprintf(body, sizeof(body), "%d %s: %s\n", status,
	    http_reason(status), detail);
	if (n < 0 || (size_t)n >= sizeof(body))
		n = (int)sizeof(body) - 1;
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", status,
	    http_reason(status));
	if (retry_after > 0)
		evbuffer_add_printf(out, "Retry-After: %u\r\n", retry_after);
	evbuffer_add_printf(out, "Content-Type: text/plain\r\n"
	    "Content-Length: %d\r\nConnection: close\r\n\r\n", n);
	evbuffer_add(out, body, (size_t)n);
}
