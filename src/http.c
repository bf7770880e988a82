/*
 * http.c — HTTP/1.1 message framing for both directions: llhttp glue,
 * heads parsed in place, chunked bodies decoded (chunked.c), bodies
 * re-framed, trailers kept.  Rewriting heads for the other side is
 * http_head.c's.
 */
#include "autoconf.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "io.h"
#include "http_head.h"

static struct http_msg *
msg_of(llhttp_t *p)
{
	return (p->data);
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

/*
 * Keeps a piece of a trailer field (a header after the last chunk; the
 * chunked decoder's field op) to send after our own last chunk; only a
 * chunked output can carry them.  Each kept field ends in CRLF.  A field
 * that may not be a trailer (http_head_trailer_is_allowed) is dropped once
 * its name is complete: at its first value piece, or at its end when its
 * value is empty.
 */
static int
http_trailer(void *ctx, const char *at, size_t len, bool value)
{
	struct http_msg	*msg = ctx;
	struct http_buf	*t;

	if (!msg->chunked_out)
		return (0);
	if (msg->trailers == NULL &&
	    (msg->trailers = calloc(1, sizeof(*msg->trailers))) == NULL)
		return (http_reject(msg, 502, "out of memory"));
	t = msg->trailers;
	if (value && !msg->trailer_value) {	/* its name is complete */
		msg->trailer_value = true;
		/* no name yet (": x", refused at its end): t->p may be NULL */
		msg->trailer_drop = t->len == msg->trailer_start ||
		    !http_head_trailer_is_allowed(t->p + msg->trailer_start,
		    t->len - msg->trailer_start);
		if (msg->trailer_drop)
			t->len = msg->trailer_start;
		else if (http_buf_add(t, ": ", 2) == -1)
			return (http_reject(msg, 502, "out of memory"));
	}
	if (msg->trailer_drop)
		return (0);
	if (t->len + len + 4 > HTTP_HEAD_MAX)
		return (http_reject(msg, msg->parser.type == HTTP_REQUEST ?
		    400 : 502, "trailer fields too large"));
	if (http_buf_add(t, at, len) == -1)
		return (http_reject(msg, 502, "out of memory"));
	return (0);
}

/* A trailer field is complete: ends it, without its trailing OWS, with
 * CRLF. */
static int
http_trailer_end(void *ctx)
{
	struct http_msg	*msg = ctx;
	struct http_buf	*t = msg->trailers;

	/* an empty value comes in no piece */
	if (!msg->trailer_value && http_trailer(msg, "", 0, true) == -1)
		return (-1);
	msg->trailer_value = msg->trailer_drop = false;
	if (!msg->chunked_out)
		return (0);
	if (t->len > msg->trailer_start) {	/* kept */
		while (t->p[t->len - 1] == ' ' || t->p[t->len - 1] == '\t')
			t->len--;
		if (http_buf_add(t, "\r\n", 2) == -1)
			return (http_reject(msg, 502, "out of memory"));
	}
	msg->trailer_start = (uint32_t)t->len;	/* the next field's */
	return (0);
}

static int
on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct http_msg	*msg = msg_of(p);

	msg->name_seen |= len > 0;
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
	struct http_span	*v, *n;
	const char		*from;

	if (len == 0)
		return (0);
	v = &msg->hdrs[msg->nhdrs].value;
	n = &msg->hdrs[msg->nhdrs].name;
	from = msg->base + n->off + n->len;
	/* a value arriving in two pieces that do not touch was folded
	 * over lines (obs-fold), which RFC 9112 5.2 lets us reject; so is
	 * one whose first line was empty, which llhttp hands over as one
	 * piece after the line break */
	if ((v->len > 0 && at != msg->base + v->off + v->len) ||
	    (v->len == 0 && n->len > 0 && at > from &&
	    memchr(from, '\n', (size_t)(at - from)) != NULL))
		return (http_reject(msg, p->type == HTTP_REQUEST ? 400 : 502,
		    "obsolete line folding"));
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

/* Body bytes, from llhttp (a body until close) or the chunked decoder:
 * appended to out, as a chunk when the output is chunked. */
static int
http_body(void *ctx, const char *at, size_t len)
{
	struct http_msg	*msg = ctx;
	char		 size[HTTP_DIGITS_MAX];
	size_t		 n;

	if (len == 0)
		return (0);	/* llhttp flushes empty spans at buffer ends */
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
on_body(llhttp_t *p, const char *at, size_t len)
{
	return (http_body(msg_of(p), at, len));
}

/* The message is complete: a chunked output gets its last chunk and the
 * trailers kept. */
static void
http_msg_end(struct http_msg *msg)
{
	if (msg->chunked_out) {
		evbuffer_add(msg->out, "0\r\n", 3);
		if (msg->trailers != NULL && msg->trailers->len > 0)
			evbuffer_add(msg->out, msg->trailers->p,
			    msg->trailers->len);
		evbuffer_add(msg->out, "\r\n", 2);
	}
	msg->complete = true;
}

static int
on_message_complete(llhttp_t *p)
{
	struct http_msg	*msg = msg_of(p);

	http_msg_end(msg);
	if (!llhttp_should_keep_alive(p))
		msg->keep_alive = false;
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
	.on_message_complete = on_message_complete,
};

/* What the chunked decoder hands on; constant, as http_settings. */
static const struct chunked_ops	http_chunked_ops = {
	.data = http_body,
	.field = http_trailer,
	.field_end = http_trailer_end,
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

/*
 * Why a request line llhttp 8.1 took is refused, or NULL.  RFC 9112 3:
 * one SP between method, target and version; llhttp lets more through,
 * and a member that reads the line otherwise would see another target
 * than ours.  The target's bytes are http_head_target_check's.
 */
static const char *
http_request_line_check(const struct http_msg *msg, const char *base)
{
	const char	*t = base + msg->url.off;
	size_t		 n = msg->url.len;

	/* the method is a token, so a SP before the target's SP is a second */
	if (msg->url.off < 2 || t[-1] != ' ' || t[-2] == ' ' ||
	    t[n] != ' ' || t[n + 1] == ' ')
		return ("request line elements not separated by one space");
	return (NULL);
}

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
	if (p->type == HTTP_REQUEST && (why = http_request_line_check(msg,
	    base)) != NULL)
		return (http_msg_fail(msg, 400, why));
	if (p->type == HTTP_REQUEST && (why = http_head_target_check(p->method,
	    base + msg->url.off, msg->url.len)) != NULL)
		return (http_msg_fail(msg, 400, why));
	if (!http_head_conn_tokens_fit(msg, base))
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
	/* a 101's body is the tunnel's */
	msg->chunked_in = !msg->complete && (p->flags & F_CHUNKED) &&
	    !(p->type == HTTP_RESPONSE && p->status_code == 101);
	if (msg->chunked_in)
		chunked_init(&msg->chunk);
}

/*
 * llhttp 8.1 takes a CR followed by any other byte where the grammar
 * wants CRLF: "\r\n\rX" ended a head, and what followed was parsed as the
 * next request.  So every CR of a head must be followed by LF, checked
 * before llhttp sees the bytes: base[msg->scanned, lim) up to the end of
 * the head, the first empty line after the start line (empty lines before
 * it are skipped, as llhttp does; bytes after it are the body's, where a
 * CR is data).  A CR at lim - 1 is decided with the next byte.  Returns
 * -1 at a CR not followed by LF.  Costs one memchr per line.
 */
static int
http_head_scan(struct http_msg *msg, const char *base, size_t lim)
{
	size_t		 i = msg->scanned;
	const char	*cr;

	while (i < lim && msg->head_end == 0) {
		if ((cr = memchr(base + i, '\r', lim - i)) == NULL) {
			i = lim;
			break;
		}
		i = (size_t)(cr - base);
		if (i + 1 == lim)
			break;
		if (base[i + 1] != '\n')
			return (-1);
		if (i == msg->lead)		/* an empty line first */
			msg->lead = (uint32_t)i + 2;
		else if (i >= msg->lead + 2 && base[i - 1] == '\n' &&
		    base[i - 2] == '\r')
			msg->head_end = (uint32_t)i + 2;
		i += 2;
	}
	msg->scanned = (uint32_t)i;
	return (0);
}

static void
http_head_scan_reset(struct http_msg *msg)
{
	msg->scanned = msg->lead = msg->head_end = 0;
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
	if (http_head_scan(msg, base, lim) == -1)
		return (http_msg_fail(msg, msg->parser.type == HTTP_REQUEST ?
		    400 : 502, "CR not followed by LF in the head"));
	e = llhttp_execute(&msg->parser, base + msg->parsed,
	    lim - msg->parsed);
	/* where llhttp's end of the head is not the empty line's, it took
	 * some other byte for a line's end ("\r\n\n") */
	if (((e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) &&
	    llhttp_get_error_pos(&msg->parser) != base + msg->head_end) ||
	    (e == HPE_OK && msg->head_end != 0))
		return (http_msg_fail(msg, msg->parser.type == HTTP_REQUEST ?
		    400 : 502, "the head does not end in CRLF CRLF"));
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
	http_head_scan_reset(msg);
	msg->base = NULL;
	http_hdrs_put(msg);
}

static enum http_result
http_msg_step(struct http_msg *msg, struct evbuffer *in, const char *data,
    size_t len)
{
	llhttp_errno_t	 e;

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
	if (io_move(msg->out, in, n) == -1)
		return (http_msg_fail(msg, 502, "out of memory"));
	http_msg_moved(msg, n);
	return (msg->complete ? HTTP_DONE : HTTP_MORE);
}

void
http_msg_moved(struct http_msg *msg, uint64_t n)
{
	if (n == 0)
		return;
	msg->remaining -= n;
	msg->body_bytes += n;
	if (msg->remaining > 0)
		return;
	msg->complete = true;
	llhttp_reset(&msg->parser);
}

/*
 * A chunked body, decoded without llhttp (chunked.h says why), a chain at
 * a time; what follows it stays in in.  At its end llhttp starts afresh
 * for the next message, as after http_msg_move, except after an Upgrade
 * request: then, as llhttp would, the message ends as upgraded.
 */
static enum http_result
http_msg_chunked(struct http_msg *msg, struct evbuffer *in)
{
	struct evbuffer_iovec	 v;
	ssize_t			 n;

	while (evbuffer_peek(in, -1, NULL, &v, 1) > 0 && v.iov_len > 0) {
		n = chunked_execute(&msg->chunk, &http_chunked_ops, msg,
		    v.iov_base, v.iov_len);
		if (n == -1)	/* an op's error is already in msg */
			return (http_msg_fail(msg, msg->parser.type ==
			    HTTP_REQUEST ? 400 : 502, msg->chunk.error));
		evbuffer_drain(in, (size_t)n);
		if (msg->chunk.done) {
			http_msg_end(msg);
			if (msg->parser.upgrade)
				msg->upgraded = true;
			else
				llhttp_reset(&msg->parser);
			return (HTTP_DONE);
		}
	}
	return (HTTP_MORE);
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
	if (msg->chunked_in)
		return (http_msg_chunked(msg, in));
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
	if (msg->chunked_in)	/* its end is in its framing, not a close */
		return (http_msg_fail(msg, 502, "connection closed "
		    "mid-message"));
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
	http_head_scan_reset(msg);
	msg->head_done = msg->complete = msg->chunked_out = false;
	msg->chunked_in = false;
	msg->skip_body = msg->fast = false;
	msg->remaining = 0;
	msg->status = 0;
	msg->error = NULL;
}

/* -------------------------------------------------------------- buffers */

int
http_buf_grow(struct http_buf *b, size_t len)
{
	size_t	 cap;
	char	*p;

	if (b->len + len <= b->cap)
		return (0);
	cap = b->cap ? b->cap : 1024;
	while (cap < b->len + len)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL)
		return (-1);
	b->p = p;
	b->cap = cap;
	return (0);
}

void
http_buf_free(struct http_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}
