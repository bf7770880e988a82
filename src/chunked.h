/*
 * chunked.h — Layer 0 (leaf): a strict, incremental decoder of the chunked
 * transfer coding (RFC 9112 7.1).  Pure: it reads the bytes it is given
 * and hands the chunk data and the trailer fields to the functions it was
 * given; no I/O, no allocation, no state but struct chunked.
 *
 * cutover decodes chunked bodies with it, not with llhttp: llhttp 8.1
 * takes a CR followed by any byte where the grammar wants CRLF, does not
 * look at the CRLF after chunk data, reads chunk extensions without a
 * bound and refuses whitespace before ";" that the grammar allows.  Here
 * every line must end in CRLF (a CR not followed by LF, or an LF without
 * its CR, is an error), a chunk-size line is at most CHUNKED_LINE_MAX
 * bytes, and what RFC 9112 allows is taken:
 *
 *   chunk-size [ chunk-ext ] CRLF, chunk-size = 1*HEXDIG (leading zeros
 *   taken, at most 64 bits of value), chunk-ext = *( BWS ";" BWS name
 *   [ BWS "=" BWS ( token / quoted-string ) ] ), BWS = *( SP / HTAB )
 *
 * so "5 ;a=b", "5;a", "5;a=\"x\\\"y\"" pass and "0x5", "+5", "5 5",
 * "5 " (whitespace not followed by ";"), "5;" (no name) are refused.
 * Trailer fields are name ":" OWS value OWS CRLF: a token for the name
 * (no whitespace before the colon, no obs-fold), visible characters,
 * SP, HTAB and obs-text in the value, at most CHUNKED_TRAILERS_MAX bytes
 * for the whole trailer section.
 */
#ifndef CUTOVER_CHUNKED_H
#define CUTOVER_CHUNKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * A chunk-size line, extensions and CRLF included.  Real clients and
 * servers send none (a size and CRLF, 3-18 bytes); Go's net/http refuses
 * lines past 4096 bytes too.  Without a bound a peer could keep a
 * connection busy with one endless line that carries no data, past
 * max_body_bytes, which counts data only.
 */
#define CHUNKED_LINE_MAX	4096
/* The trailer section, its final CRLF included: as much as a head
 * (HTTP_HEAD_MAX). */
#define CHUNKED_TRAILERS_MAX	16384

/*
 * What a decoder hands on.  Each returns 0, or -1 to stop decoding (the
 * caller then knows why).  data: chunk data bytes, in order.  field: a
 * piece of a trailer field's name (value false) or of its value (value
 * true: leading OWS left out, trailing OWS included); a name comes
 * before its value and is never empty; an empty value has no piece.
 * field_end: the field is complete.
 */
struct chunked_ops {
	int	(*data)(void *ctx, const char *at, size_t len);
	int	(*field)(void *ctx, const char *at, size_t len, bool value);
	int	(*field_end)(void *ctx);
};

struct chunked {
	uint64_t	 left;		/* chunk size, then data bytes left */
	uint32_t	 line;		/* bytes of this chunk-size line */
	uint32_t	 trailers;	/* bytes of the trailer section */
	uint8_t		 state;
	bool		 done;		/* the body is complete */
	const char	*error;		/* why it was refused, static text */
};

void	chunked_init(struct chunked *ch);

/*
 * Decodes up to len bytes at p.  Returns how many it used: all of them
 * until the body ends, then up to its last byte (ch->done is set; what
 * follows is the next message's).  Returns -1 when the bytes are not a
 * chunked body (ch->error says why) or when an op returned -1 (then
 * ch->error is NULL); the decoder may not be used again.
 */
ssize_t	chunked_execute(struct chunked *ch, const struct chunked_ops *ops,
	    void *ctx, const char *p, size_t len);

#endif
