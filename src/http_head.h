/*
 * http_head.h — Layer 0 (leaf): rewriting a parsed head (http.h) for the
 * other side, and making replies: the request head sent upstream
 * (hop-by-hop fields and Connection tokens dropped, forwarding fields as
 * trusted, target forms), the response head for the client (framing chosen
 * for it), and error replies.  http.c asks it three pure questions while
 * parsing (a target's form, Connection's size, a trailer's name), so both
 * files share one set of field rules.
 */
#ifndef CUTOVER_HTTP_HEAD_H
#define CUTOVER_HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

struct evbuffer;

#define HTTP_FWD_DROP_MAX	3

/* How a request is forwarded: who asked, and which headers say so. */
struct http_fwd {
	const char		*client_ip;
	const char		*host_default;	/* Host when none is known */
	const char		*target;	/* the request target */
	size_t			 target_len;
	struct http_span	 authority;	/* absolute form: in target */
	struct http_span	 path;
	bool			 xff;		/* append X-Forwarded-For */
	bool			 proto;		/* X-Forwarded-Proto */
	bool			 host;		/* X-Forwarded-Host */
	bool			 trust;		/* keep the client's forwarding
						 * fields (forwarded.trusted) */
	bool			 via;
	/* fields of cutover's own never forwarded (preview routing):
	 * names compared as hop-by-hop ones are; NULL or "": none */
	const char		*drop[HTTP_FWD_DROP_MAX];
};

/*
 * Splits an absolute-form request target into authority and path (offsets
 * into t); false when t is in another form (then authority is empty and
 * path all of t, unless t is "http://" or "https://" without a host).
 * Requests are parsed only with a target cutover can forward: origin
 * form, "*" with OPTIONS, absolute form with http or https, a host and no
 * userinfo (else 400), or CONNECT (left to the caller).
 */
bool	http_target_absolute(const char *t, size_t len,
	    struct http_span *authority, struct http_span *path);

/*
 * Builds the request head sent upstream into out (replacing its contents):
 * the request line as HTTP/1.1 in origin form (an absolute-form target's
 * authority becomes the Host), headers without hop-by-hop ones (names
 * compared ignoring case, '_' taken as '-'), framing from what was parsed,
 * the forwarded headers as fwd says, Host when an HTTP/1.0 request had
 * none, and Upgrade with "Connection: Upgrade" for an upgrade request.
 * Returns 0, or -1 on ENOMEM.
 */
int	http_request_head(const struct http_msg *req, const char *base,
	    const struct http_fwd *fwd, struct http_buf *out);

/*
 * Builds the response head for the client into out: status line as
 * HTTP/1.1, headers without hop-by-hop ones, framing chosen for the client
 * (sets resp->chunked_out when a body of unknown length is re-chunked),
 * Connection: close when close is set, and Via when via is; a 101 keeps
 * its Upgrade and gets "Connection: Upgrade".  Returns 0, or -1 on ENOMEM.
 */
int	http_response_head(struct http_msg *resp, const char *base,
	    bool client_http10, bool close, bool via, struct http_buf *out);

/*
 * The methods a 405 names in its Allow field: the standard ones cutover
 * forwards (every method but CONNECT is forwarded, extension methods
 * such as WebDAV's too; they are not listed).
 */
#define HTTP_ALLOW	"GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH"

/*
 * Appends a complete error response with Connection: close to out, with
 * Retry-After when retry_after (seconds) is not 0, and with Allow
 * (HTTP_ALLOW) when status is 405.
 */
void	http_error(struct evbuffer *out, int status, const char *detail,
	    unsigned retry_after);

/* Standard reason phrase for status. */
const char *http_reason(int status);

/*
 * Why a request target of this method (an llhttp method) may not be sent
 * to a member (400), or NULL when it may: origin form ("/path?query") for
 * any method; asterisk form ("*") only with OPTIONS; absolute form only
 * with http or https and a host, without userinfo (its authority becomes
 * the Host).  CONNECT's authority form is left to the caller (405).  A
 * fragment ("#") is refused in every form.  Returns static text.
 */
const char *http_head_target_check(uint8_t method, const char *t,
	    size_t len);

/*
 * Whether the field names listed in msg's Connection fields are few enough
 * to honour them all (at most 64); a message listing more is refused, never
 * forwarded with some of them kept.  base is the head's start.
 */
bool	http_head_conn_tokens_fit(const struct http_msg *msg,
	    const char *base);

/*
 * Whether a field named name (len bytes) may be forwarded as a trailer:
 * not empty, not hop-by-hop, framing, Host or forwarding, and none of the
 * fields a recipient needs before the content (RFC 9110 6.5.1).  Like
 * every field rule here it ignores case and takes '_' as '-'
 * (X_Forwarded_For is X-Forwarded-For).
 */
bool	http_head_trailer_is_allowed(const char *name, size_t len);

/*
 * Whether the head built in out from msg is one cutover itself would
 * take: at most HTTP_HEAD_MAX bytes and HTTP_HEADERS_MAX -
 * HTTP_HEADERS_ADDED fields.  What forwarding adds can push a head that
 * was within both past them; such a message is refused (431 for a
 * request, 502 for a response) rather than sent on.  Counts the fields
 * only when msg had nearly as many.
 */
bool	http_head_fits(const struct http_msg *msg, const struct http_buf *out);

#endif
