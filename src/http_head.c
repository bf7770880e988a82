/*
 * http_head.c — rewriting parsed heads for the other side (hop-by-hop
 * fields, Connection tokens, forwarding fields, target forms, framing) and
 * making error replies.  The field tables here are the one place that says
 * what a field name means to a proxy; http.c asks them about trailers.
 *
 * Field names are compared with case and '_' folded ('_' as '-'): CGI,
 * WSGI and PHP servers map X_Forwarded_For and X-Forwarded-For to the same
 * variable (HTTP_X_FORWARDED_FOR), so a spelling with underscores means to
 * a member what the one with dashes means, and is treated as it is.
 */
#include "autoconf.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "http_head.h"

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
 * Front-End-Https and X-Url-Scheme, each also spelled with underscores
 * (X_Real_IP, X_Forwarded-For).  From a trusted source either spelling
 * is kept as the dash one is: an X_Forwarded_For joins the list cutover
 * appends to (sent as X-Forwarded-For), X_Forwarded_Proto and _Host stand
 * for cutover's own.  Names are not refused for an underscore (HAProxy
 * accepts them, nginx drops them): only the ones that mean something here
 * are removed.  http_field_kind knows their names, and the hop-by-hop and
 * framing ones.
 */

/*
 * Fields that may not be trailers (RFC 9110 6.5.1: a recipient needs them
 * before the content, or they would override what the header section
 * said), besides those http_field_kind names (framing, connection, Host,
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

/* A field name's byte as compared: lower case, '_' as '-'. */
static inline unsigned char
name_fold(char c)
{
	unsigned char	u = (unsigned char)c;

	if (u == '_')
		return ('-');
	return (u >= 'A' && u <= 'Z' ? (unsigned char)(u + ('a' - 'A')) : u);
}

/*
 * Whether the len bytes at a and at b name the same field (case and '_'
 * folded, see above).  One pass, no copy: this runs for every field.
 */
static bool
name_eq(const char *a, const char *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (name_fold(a[i]) != name_fold(b[i]))
			return (false);
	return (true);
}

static bool
name_in(const struct http_field_name *t, size_t n, const char *name,
    size_t len, enum http_field *kind)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].len == len && name_eq(name, t[i].name, len)) {
			*kind = t[i].kind;
			return (true);
		}
	return (false);
}

static bool
name_has_prefix(const char *name, size_t len, const char *prefix,
    size_t plen)
{
	return (len > plen && name_eq(name, prefix, plen));
}

#define PREFIX(name, len, p)	name_has_prefix(name, len, p, sizeof(p) - 1)

/*
 * What the field name (len bytes) is.  This runs for every field of every
 * head, so the names are sorted by their first byte: most fields (Accept,
 * Date, Server, User-Agent, ...) are told apart by it and their length,
 * without comparing a name.
 */
static enum http_field
http_field_kind(const char *name, size_t len)
{
#define IS(s)	(len == sizeof(s) - 1 && name_eq(name, s, sizeof(s) - 1))
	if (len == 0)
		return (HF_OTHER);
	switch (name_fold(name[0])) {
	case 'c':
		if (IS("connection") || IS("content-length"))
			return (HF_HOP);
		break;
	case 'f':
		if (IS("forwarded") || IS("front-end-https"))
			return (HF_FWD);
		break;
	case 'h':
		if (IS("host"))
			return (HF_HOST);
		break;
	case 'k':
		if (IS("keep-alive"))
			return (HF_HOP);
		break;
	case 'p':
		if (IS("proxy-connection"))
			return (HF_HOP);
		break;
	case 't':
		if (IS("te") || IS("trailer") || IS("transfer-encoding"))
			return (HF_HOP);
		if (IS("true-client-ip"))
			return (HF_FWD);
		break;
	case 'u':
		if (IS("upgrade"))
			return (HF_HOP);
		break;
	case 'x':
		if (IS("x-forwarded-for"))
			return (HF_XFF);
		if (IS("x-forwarded-proto"))
			return (HF_XFPROTO);
		if (IS("x-forwarded-host"))
			return (HF_XFHOST);
		if (PREFIX(name, len, "x-forwarded-") || IS("x-real-ip") ||
		    IS("x-client-ip") || IS("x-cluster-client-ip") ||
		    IS("x-original-forwarded-for") || IS("x-url-scheme"))
			return (HF_FWD);
		break;
	}
	return (HF_OTHER);
#undef IS
}

bool
http_head_trailer_is_allowed(const char *name, size_t len)
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

bool
http_head_conn_tokens_fit(const struct http_msg *msg, const char *base)
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
		if (n->len == tk->t[k].len && name_eq(base + n->off,
		    base + tk->t[k].off, n->len))
			return (true);
	return (false);
}

/* Whether header i of a request is one of fwd->drop. */
static bool
http_is_dropped(const struct http_msg *msg, const char *base, unsigned i,
    const struct http_fwd *fwd)
{
	const struct http_span	*n = &msg->hdrs[i].name;

	for (unsigned k = 0; k < HTTP_FWD_DROP_MAX; k++)
		if (fwd->drop[k] != NULL && strlen(fwd->drop[k]) == n->len &&
		    name_eq(base + n->off, fwd->drop[k], n->len))
			return (true);
	return (false);
}

/* "name: value\r\n", the room taken once: it runs for every field. */
static int
http_add_field(struct http_buf *b, const char *base, const struct http_hdr *h)
{
	char	*q;

	if (http_buf_room(b, h->name.len + h->value.len + 4) == -1)
		return (-1);
	q = b->p + b->len;
	memcpy(q, base + h->name.off, h->name.len);
	q += h->name.len;
	*q++ = ':';
	*q++ = ' ';
	memcpy(q, base + h->value.off, h->value.len);
	q += h->value.len;
	*q++ = '\r';
	*q++ = '\n';
	b->len = (size_t)(q - b->p);
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
		if (http_is_hop(msg, base, i, kind, &tk) ||
		    (fwd != NULL && http_is_dropped(msg, base, i, fwd)))
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
 * left to the caller (405).  A "#" or a byte that is not visible ASCII
 * is refused in every form.  Returns
 * NULL, or why t is refused (400).
 */
const char *
http_head_target_check(uint8_t method, const char *t, size_t len)
{
	struct http_span	a, p;
	const char		*colon;

	/* visible ASCII only (RFC 9112 3.2), which llhttp 8.1 does not
	 * hold to: a member that splits the line on any whitespace would
	 * read another target.  A fragment is the client's, never part of
	 * a target, and members would not agree on where the path ends. */
	for (size_t i = 0; i < len; i++) {
		if (t[i] == '#')
			return ("fragment (#) in the request target");
		if ((unsigned char)t[i] <= ' ' || (unsigned char)t[i] >= 0x7f)
			return ("invalid character in the request target");
	}
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
	if (status == 405)	/* RFC 9110 15.5.6: a 405 must say what is */
		evbuffer_add_printf(out, "Allow: %s\r\n", HTTP_ALLOW);
	evbuffer_add_printf(out, "Content-Type: text/plain\r\n"
	    "Content-Length: %d\r\nConnection: close\r\n\r\n", n);
	evbuffer_add(out, body, (size_t)n);
}

bool
http_head_fits(const struct http_msg *msg, const struct http_buf *out)
{
	const unsigned	 limit = HTTP_HEADERS_MAX - HTTP_HEADERS_ADDED;
	const char	*p = out->p, *end = out->p + out->len;
	unsigned	 lines = 0;

	if (out->len > HTTP_HEAD_MAX)
		return (false);
	if (msg->nhdrs + HTTP_HEADERS_ADDED <= limit)
		return (true);	/* what forwarding adds cannot reach it */
	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		lines++;
		p++;
	}
	/* the start line and the empty line end in LF too */
	return (lines < 2 || lines - 2 <= limit);
}
