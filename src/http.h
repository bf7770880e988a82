/*
 * http.h — HTTP/1.1 messages on one side of a connection: llhttp in strict
 * mode, the head captured without copying, bodies re-framed from what was
 * parsed (never forwarded as received), hop-by-hop headers, error replies.
 *
 * A head is parsed in place: the input buffer is made contiguous up to the
 * end of the head and the header spans are offsets into it, so no byte is
 * copied or parsed twice.  The spans are valid until the head's bytes are
 * drained from the input (http_msg_head_drain).
 */
#ifndef CUTOVER_HTTP_H
#define CUTOVER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

struct evbuffer;

#define HTTP_HEAD_MAX		16384	/* request or response head, bytes */
#define HTTP_HEADERS_MAX	100	/* header fields in one head */
#define HTTP_HEADERS_ADDED	8	/* at most, by forwarding a head */

/* Growable byte buffer for building heads. */
struct http_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

int	http_buf_add(struct http_buf *b, const void *data, size_t len);
int	http_buf_str(struct http_buf *b, const char *s);
void	http_buf_free(struct http_buf *b);

struct http_span {
	uint32_t	 off;
	uint32_t	 len;
};

struct http_hdr {
	struct http_span name;
	struct http_span value;
};

enum http_result {
	HTTP_MORE,		/* need more input */
	HTTP_DONE,		/* the head, or the message, is complete */
	HTTP_ERROR,		/* malformed: see status and reason */
};

struct http_msg {
	llhttp_t		 parser;
	const char		*base;		/* head start, during execute */
	size_t			 parsed;	/* head bytes given to llhttp */
	size_t			 head_len;	/* once the head is complete */
	struct http_span	 url;		/* request target */
	struct http_span	 reason;	/* response reason phrase */
	/* the fields' spans: HTTP_HEADERS_MAX of them, held only from the
	 * first byte of a head until http_msg_head_drain (http_hdrs_get) */
	struct http_hdr		*hdrs;
	unsigned		 nhdrs;
	bool			 in_value;	/* inside a header value */
	bool			 head_done;
	bool			 complete;	/* the whole message is parsed */
	bool			 skip_body;	/* response to HEAD */
	bool			 chunked_out;	/* re-frame body as chunked */
	bool			 upgraded;	/* llhttp stopped for Upgrade */
	bool			 trailer_value;	/* inside a trailer's value */
	bool			 trailer_drop;	/* this trailer is not sent */
	uint32_t		 trailer_start;	/* its offset in trailers */
	bool			 name_seen;	/* the field has a name */
	int			 status;	/* error status to answer */
	/* what the head said, kept for after the body (llhttp may be reset) */
	int			 status_code;	/* a response's */
	uint8_t			 method;	/* a request's */
	bool			 keep_alive;	/* the peer keeps the connection */
	bool			 fast;		/* Content-Length body: chains move */
	uint64_t		 remaining;	/* of a fast body */
	uint64_t		 chunk_left;	/* data bytes left in this chunk */
	unsigned		 crlf_need;	/* CRLF bytes after chunk data */
	const char		*step_end;	/* end of the bytes llhttp has */
	const char		*error;		/* error reason, static text */
	struct evbuffer		*out;		/* body bytes go here */
	uint64_t		 body_bytes;	/* body bytes parsed */
	struct http_buf		*trailers;	/* of a chunked body, re-sent */
};

/* Prepares msg to parse requests (HTTP_REQUEST) or responses. */
void	http_msg_init(struct http_msg *msg, llhttp_type_t type);

/*
 * Parses the head at the front of in.  HTTP_DONE: the head is complete,
 * head_len bytes of in are contiguous and the spans point into them.
 * HTTP_ERROR: msg->status and msg->error say what to answer.
 */
enum http_result http_msg_head(struct http_msg *msg, struct evbuffer *in);

/* The head's start; valid between HTTP_DONE and http_msg_head_drain. */
const char	*http_msg_head_base(const struct http_msg *msg,
		    struct evbuffer *in);

/* Drops the parsed head from in; the spans are invalid afterwards. */
void	http_msg_head_drain(struct http_msg *msg, struct evbuffer *in);

/*
 * Parses body bytes from in and appends them, re-framed, to msg->out.
 * HTTP_DONE once the message is complete (then, for a request, the next
 * message's bytes stay in in); HTTP_ERROR when the body is malformed.
 */
enum http_result http_msg_body(struct http_msg *msg, struct evbuffer *in);

/*
 * The peer closed the connection: completes a message whose body runs
 * until close.  HTTP_DONE, or HTTP_ERROR when the message was cut short.
 */
enum http_result http_msg_eof(struct http_msg *msg);

/* Frees what msg holds (trailers, a field array); msg may be initialised
 * again. */
void	http_msg_free(struct http_msg *msg);

/* Frees the calling thread's cache of field arrays (at exit). */
void	http_hdrs_cache_free(void);

/* Readies msg for the next message on the same connection. */
void	http_msg_next(struct http_msg *msg);

/* Whether a request asks for a protocol upgrade (Upgrade, not CONNECT). */
bool	http_msg_is_upgrade(const struct http_msg *msg);

/* Whether header i is named name (case-insensitive). */
bool	http_hdr_is(const struct http_msg *msg, const char *base, unsigned i,
	    const char *name);


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
 * authority becomes the Host), headers without hop-by-hop ones, framing
 * from what was parsed, the forwarded headers as fwd says, Host when an
 * HTTP/1.0 request had none, and Upgrade with "Connection: Upgrade" for an
 * upgrade request.  Returns 0, or -1 on ENOMEM.
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
 * Appends a complete error response with Connection: close to out, with
 * Retry-After when retry_after (seconds) is not 0.
 */
void	http_error(struct evbuffer *out, int status, const char *detail,
	    unsigned retry_after);

/* Standard reason phrase for status. */
const char *http_reason(int status);

#endif
