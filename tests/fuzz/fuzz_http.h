/*
 * fuzz_http.h — what fuzz_request and fuzz_response share: feeding the
 * input to an evbuffer in pieces, and the invariants on what cutover
 * forwards (a well-formed head; head and body parse again as exactly one
 * message).  Every violation aborts, so libFuzzer saves the input.
 */
#ifndef CUTOVER_FUZZ_HTTP_H
#define CUTOVER_FUZZ_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

struct evbuffer;

/* The input as a byte stream arriving in pieces. */
struct fuzz_feed {
	const uint8_t	*data;
	size_t		 size;
	size_t		 pos;
	uint32_t	 rng;		/* picks the piece sizes */
	unsigned	 max_piece;	/* 0: everything at once */
	bool		 by_ref;	/* one evbuffer chain per piece */
};

#define FUZZ_CTL_BYTES	2	/* control bytes in front of the stream */

/*
 * Takes the control bytes off data (the caller has checked there are
 * FUZZ_CTL_BYTES): ctl[0] bits 0-1 choose the piece sizes (all at once,
 * 1-8, 1-64 or 1-1024 bytes), bit 2 whether pieces are added by reference
 * (separate chains); ctl[1] seeds the sizes.  The caller reads the other
 * bits of ctl[0] and ctl[1] for its own choices.
 */
void	fuzz_feed_init(struct fuzz_feed *f, const uint8_t *data, size_t size);

/* Appends the next piece to in; returns its length, 0 at the end. */
size_t	fuzz_feed_next(struct fuzz_feed *f, struct evbuffer *in);

/* Prints what broke to stderr and aborts. */
void	fuzz_fail(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/*
 * Checks a head cutover built: it ends with CRLF CRLF, holds no NUL and no
 * LF without its CR.
 */
void	fuzz_check_head(const struct http_buf *head);

/*
 * Checks msg after HTTP_ERROR: an error status and a reason, and the
 * error reply cutover would send parses as one response.
 */
void	fuzz_check_error(const struct http_msg *msg);

/*
 * Parses head + body (what cutover sent for msg) with a fresh parser of
 * the given type and checks it is exactly one complete message carrying
 * msg's body: the head ends where head ends, at most one framing header,
 * the same body length (and bytes, when body is not re-chunked), nothing
 * left over.  A body that the receiver can only end at a close must come
 * with "Connection: close".
 */
void	fuzz_check_forwarded(llhttp_type_t type, const struct http_buf *head,
	    struct evbuffer *body, const struct http_msg *msg);

#endif
