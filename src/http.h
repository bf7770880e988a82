/*
 * http.h — Layer 0 (leaf): HTTP/1.1 message framing on one side of a
 * connection: llhttp in strict mode for heads (every CR of a head checked
 * for its LF first, llhttp 8.1 being lenient there), the head captured
 * without copying, chunked bodies decoded by chunked.h, bodies re-framed
 * from what was parsed (never forwarded as received), trailers kept for a
 * chunked output, and the byte buffer heads are built in.  Rewriting a head for the other side and error replies are
 * http_head.h's.
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
#include <string.h>
#include <strings.h>

#include <llhttp.h>

#include "chunked.h"

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

int	http_buf_grow(struct http_buf *b, size_t len);
void	http_buf_free(struct http_buf *b);

/*
 * The helpers below are inline, as they were while one file held both
 * framing and rewriting: with a literal argument strlen folds to a
 * constant, and they run for every field of every head.
 */

/* Makes room for len more bytes in b: 0, or -1 on ENOMEM. */
static inline int
http_buf_room(struct http_buf *b, size_t len)
{
	return (b->cap - b->len >= len ? 0 : http_buf_grow(b, len));
}

/* Appends len bytes to b: 0, or -1 on ENOMEM.  A head is built of many
 * short pieces, most of them literals, whose copies inline. */
static inline int
http_buf_add(struct http_buf *b, const void *data, size_t len)
{
	if (len == 0)
		return (0);
	if (http_buf_room(b, len) == -1)
		return (-1);
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return (0);
}

/* Appends the string s to b: 0, or -1 on ENOMEM. */
static inline int
http_buf_str(struct http_buf *b, const char *s)
{
	return (http_buf_add(b, s, strlen(s)));
}

#define HTTP_DIGITS_MAX	24

/*
 * Writes n in base 10 or 16 at the end of d; returns how many digits.
 * (snprintf cost a request more than its whole head parse.)
 */
static inline size_t
http_digits(uint64_t n, unsigned base, char d[HTTP_DIGITS_MAX])
{
	size_t	i = HTTP_DIGITS_MAX;

	do
		d[--i] = "0123456789abcdef"[n % base];
	while ((n /= base) != 0);
	return (HTTP_DIGITS_MAX - i);
}

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
	uint32_t		 scanned;	/* head bytes checked for CRLF */
	uint32_t		 lead;		/* empty lines before the head */
	uint32_t		 head_end;	/* after its CRLF CRLF, if seen */
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
	bool			 chunked_in;	/* a chunked body: decoded by
						 * chunk, never by llhttp */
	struct chunked		 chunk;
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

/*
 * n bytes of msg's Content-Length body went to the other side without
 * passing through the input (io_splice): counts them, and at the body's
 * length ends the message as http_msg_body would.  n is at most
 * msg->remaining.
 */
void	http_msg_moved(struct http_msg *msg, uint64_t n);

/* Frees what msg holds (trailers, a field array); msg may be initialised
 * again. */
void	http_msg_free(struct http_msg *msg);

/* Frees the calling thread's cache of field arrays (at exit). */
void	http_hdrs_cache_free(void);

/* Readies msg for the next message on the same connection. */
void	http_msg_next(struct http_msg *msg);

/* Whether a request asks for a protocol upgrade (Upgrade, not CONNECT). */
static inline bool
http_msg_is_upgrade(const struct http_msg *msg)
{
	return (msg->parser.upgrade && msg->parser.method != HTTP_CONNECT);
}

/* Whether header i is named name (case-insensitive); base is the head's
 * start. */
static inline bool
http_hdr_is(const struct http_msg *msg, const char *base, unsigned i,
    const char *name)
{
	const struct http_span	*n = &msg->hdrs[i].name;

	return (strlen(name) == n->len &&
	    strncasecmp(base + n->off, name, n->len) == 0);
}

#endif
