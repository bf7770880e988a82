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

#define HTTP_CONN_TOKENS_MAX	16

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

static int
on_message_begin(llhttp_t *p)
{
	struct http_msg	*msg = msg_of(p);

	msg->url.len = msg->reason.len = 0;
	msg->nhdrs = 0;
	msg->hdrs[0].name.len = msg->hdrs[0].value.len = 0;
	msg->head_done = msg->complete = msg->in_value = false;
	msg->body_bytes = 0;
	return (0);
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

	span_extend(msg, &msg->reason, at, len);
	return (0);
}

static int
on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct http_msg	*msg = msg_of(p);

	if (msg->head_done)
		return (0);	/* trailers are not forwarded */
	if (msg->nhdrs == HTTP_HEADERS_MAX) {
		msg->status = 431;
		msg->error = "too many header fields";
		return (-1);
	}
	span_extend(msg, &msg->hdrs[msg->nhdrs].name, at, len);
	return (0);
}

static int
on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct http_msg	*msg = msg_of(p);

	if (!msg->head_done)
		span_extend(msg, &msg->hdrs[msg->nhdrs].value, at, len);
	return (0);
}

static int
on_header_value_complete(llhttp_t *p)
{
	struct http_msg	*msg = msg_of(p);

	if (msg->head_done)
		return (0);
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
	/* a response to HEAD has no body whatever its headers say */
	return (msg->skip_body ? 1 : HPE_PAUSED);
}

static int
on_body(llhttp_t *p, const char *at, size_t len)
{
	struct http_msg	*msg = msg_of(p);
	char		 size[24];
	int		 n;

	if (len == 0)
		return (0);	/* llhttp flushes empty spans at buffer ends */
	msg->body_bytes += len;
	if (msg->chunked_out) {
		n = snprintf(size, sizeof(size), "%zx\r\n", len);
		evbuffer_add(msg->out, size, (size_t)n);
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

	if (msg->chunked_out)
		evbuffer_add(msg->out, "0\r\n\r\n", 5);
	msg->complete = true;
	return (HPE_PAUSED);
}

static llhttp_settings_t	http_settings;
static bool			http_settings_ready;

void
http_msg_init(struct http_msg *msg, llhttp_type_t type)
{
	if (!http_settings_ready) {
		llhttp_settings_init(&http_settings);
		http_settings.on_message_begin = on_message_begin;
		http_settings.on_url = on_url;
		http_settings.on_status = on_status;
		http_settings.on_header_field = on_header_field;
		http_settings.on_header_value = on_header_value;
		http_settings.on_header_value_complete =
		    on_header_value_complete;
		http_settings.on_headers_complete = on_headers_complete;
		http_settings.on_body = on_body;
		http_settings.on_message_complete = on_message_complete;
		http_settings_ready = true;
	}
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

enum http_result
http_msg_head(struct http_msg *msg, struct evbuffer *in)
{
	size_t		 avail = evbuffer_get_length(in), lim;
	const char	*base, *pos;
	llhttp_errno_t	 e;

	lim = avail < HTTP_HEAD_MAX ? avail : HTTP_HEAD_MAX;
	if (lim <= msg->parsed)
		return (HTTP_MORE);
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
		return (HTTP_MORE);
	case HPE_PAUSED:
	case HPE_PAUSED_UPGRADE:
		pos = llhttp_get_error_pos(&msg->parser);
		msg->head_len = msg->parsed = (size_t)(pos - base);
		if (e == HPE_PAUSED)
			llhttp_resume(&msg->parser);
		else
			msg->upgraded = msg->complete = true;
		return (HTTP_DONE);
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

enum http_result
http_msg_body(struct http_msg *msg, struct evbuffer *in)
{
	struct evbuffer_iovec	 v;
	enum http_result	 r;

	if (msg->complete)
		return (HTTP_DONE);
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
http_msg_next(struct http_msg *msg)
{
	if (msg->upgraded) {
		llhttp_resume_after_upgrade(&msg->parser);
		msg->upgraded = false;
	}
	msg->parsed = msg->head_len = 0;
	msg->head_done = msg->complete = msg->chunked_out = false;
	msg->skip_body = false;
	msg->status = 0;
	msg->error = NULL;
}

bool
http_msg_has_body(const struct http_msg *msg)
{
	return ((msg->parser.flags & F_CHUNKED) != 0 ||
	    msg->parser.content_length > 0);
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

/* Fields that describe one connection, never the message (RFC 9110 7.6.1),
 * and the framing fields that we write ourselves. */
static const char *http_hop_by_hop[] = {
	"connection", "keep-alive", "proxy-connection", "te", "trailer",
	"transfer-encoding", "upgrade", "content-length",
};

struct http_tokens {
	struct http_span	 t[HTTP_CONN_TOKENS_MAX];
	unsigned		 n;
};

static bool
span_is(const char *base, const struct http_span *s, const char *name)
{
	return (strlen(name) == s->len &&
	    strncasecmp(base + s->off, name, s->len) == 0);
}

/* Collects the field names listed in Connection headers. */
static void
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
		while (v < end && tk->n < HTTP_CONN_TOKENS_MAX) {
			while (v < end && (*v == ' ' || *v == '\t' || *v == ','))
				v++;
			s = v;
			while (v < end && *v != ',')
				v++;
			e = v;
			while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			if (e > s) {
				tk->t[tk->n].off = (uint32_t)(s - base);
				tk->t[tk->n++].len = (uint32_t)(e - s);
			}
		}
	}
}

static bool
http_is_hop(const struct http_msg *msg, const char *base, unsigned i,
    const struct http_tokens *tk)
{
	const struct http_span	*n = &msg->hdrs[i].name;

	for (size_t k = 0; k < sizeof(http_hop_by_hop) /
	    sizeof(http_hop_by_hop[0]); k++)
		if (span_is(base, n, http_hop_by_hop[k]))
			return (true);
	if (span_is(base, n, "host"))
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
	char	line[48];
	int	len;

	len = snprintf(line, sizeof(line), "Content-Length: %llu\r\n",
	    (unsigned long long)n);
	return (http_buf_add(b, line, (size_t)len));
}

/* Copies the end-to-end fields; X-Forwarded-For values go to xff. */
static int
http_copy_fields(const struct http_msg *msg, const char *base,
    struct http_buf *out, struct http_buf *xff, bool *has_host)
{
	struct http_tokens	tk;

	http_conn_tokens(msg, base, &tk);
	for (unsigned i = 0; i < msg->nhdrs; i++) {
		if (http_is_hop(msg, base, i, &tk))
			continue;
		if (xff != NULL && http_hdr_is(msg, base, i,
		    "x-forwarded-for")) {
			if (http_buf_add(xff, base + msg->hdrs[i].value.off,
			    msg->hdrs[i].value.len) == -1 ||
			    http_buf_add(xff, ", ", 2) == -1)
				return (-1);
			continue;
		}
		if (has_host != NULL && http_hdr_is(msg, base, i, "host"))
			*has_host = true;
		if (http_add_field(out, base, &msg->hdrs[i]) == -1)
			return (-1);
	}
	return (0);
}

int
http_request_head(const struct http_msg *req, const char *base,
    const char *client_ip, const char *host_default, struct http_buf *out)
{
	const llhttp_t	*p = &req->parser;
	struct http_buf	 xff = { 0 };
	bool		 has_host = false;
	int		 rc = -1;

	out->len = 0;
	if (http_buf_str(out, llhttp_method_name(p->method)) == -1 ||
	    http_buf_add(out, " ", 1) == -1 ||
	    http_buf_add(out, base + req->url.off, req->url.len) == -1 ||
	    http_buf_add(out, " HTTP/1.1\r\n", 11) == -1 ||
	    http_copy_fields(req, base, out, &xff, &has_host) == -1)
		goto fail;
	if (!has_host && (http_buf_str(out, "Host: ") == -1 ||
	    http_buf_str(out, host_default) == -1 ||
	    http_buf_add(out, "\r\n", 2) == -1))
		goto fail;
	if (http_buf_str(out, "X-Forwarded-For: ") == -1 ||
	    (xff.len > 0 && http_buf_add(out, xff.p, xff.len) == -1) ||
	    http_buf_str(out, client_ip) == -1 ||
	    http_buf_add(out, "\r\n", 2) == -1)
		goto fail;
	if (p->flags & F_CHUNKED) {
		if (http_buf_str(out, "Transfer-Encoding: chunked\r\n") == -1)
			goto fail;
	} else if ((p->flags & F_CONTENT_LENGTH) &&
	    http_add_length(out, p->content_length) == -1)
		goto fail;
	rc = http_buf_add(out, "\r\n", 2);
fail:
	http_buf_free(&xff);
	return (rc);
}

static bool
http_status_has_body(int status)
{
	return (status >= 200 && status != 204 && status != 304);
}

int
http_response_head(struct http_msg *resp, const char *base,
    bool client_http10, bool close, struct http_buf *out)
{
	const llhttp_t	*p = &resp->parser;
	char		 line[64];
	int		 n, status = p->status_code;

	out->len = 0;
	n = snprintf(line, sizeof(line), "HTTP/1.1 %d ", status);
	if (http_buf_add(out, line, (size_t)n) == -1 ||
	    http_buf_add(out, base + resp->reason.off, resp->reason.len) ==
	    -1 || http_buf_add(out, "\r\n", 2) == -1 ||
	    http_copy_fields(resp, base, out, NULL, NULL) == -1)
		return (-1);
	resp->chunked_out = false;
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
