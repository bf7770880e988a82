/*
 * test_http.c — parsing heads in place (across reads and chains), strict
 * framing and its limits, re-framing bodies, trailers, end of message.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "http.h"
#include "http_head.h"

#include "http_fixture.h"

/* A first trailer without a name is refused, a member's with 502 (and,
 * under UBSan, nothing is computed from the still empty trailer
 * buffer). */
static void
test_http_trailer_without_name_refused(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(head_of(f, HTTP_RESPONSE, "HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"), HTTP_DONE);
	http_msg_head_drain(&f->msg, f->in);
	f->msg.chunked_out = true;
	evbuffer_add(f->in, "0\r\n: x\r\n\r\n", 10);
	assert_int_equal(http_msg_body(&f->msg, f->in), HTTP_ERROR);
	assert_int_equal(f->msg.status, 502);
}

static void
test_http_response_bad_status_or_reason_is_502(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(head_of(f, HTTP_RESPONSE,
	    "HTTP/1.1 051 Weird\r\n\r\n"), HTTP_ERROR);
	assert_int_equal(f->msg.status, 502);
	evbuffer_drain(f->in, evbuffer_get_length(f->in));
	assert_int_equal(head_of(f, HTTP_RESPONSE,
	    "HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n"), HTTP_ERROR);
	assert_int_equal(f->msg.status, 502);
}

static void
test_http_request_head_split_over_reads_parses_once(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(head_of(f, HTTP_REQUEST, "POST /up HTTP/1.1\r\nHo"),
	    HTTP_MORE);
	evbuffer_add(f->in, "st: h\r\nContent-Length: 3\r\n\r\nabc", 32);
	assert_int_equal(http_msg_head(&f->msg, f->in), HTTP_DONE);
	assert_int_equal(f->msg.nhdrs, 2);
	assert_int_equal(request_head(f, "127.0.0.1", "x", true), 0);
	assert_string_equal(head_text(f), "POST /up HTTP/1.1\r\nHost: h\r\n"
	    "X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n"
	    "X-Forwarded-Host: h\r\nContent-Length: 3\r\n\r\n");
	http_msg_head_drain(&f->msg, f->in);
	assert_int_equal(http_msg_body(&f->msg, f->in), HTTP_DONE);
	assert_string_equal(out_text(f), "abc");
}

/* A head that ends in the middle of a second chain is parsed whole. */
static void
test_http_head_across_chains_in_one_read(void **state)
{
	struct fixture	*f = *state;
	static const char tail[] = "st: h\r\nX-A: 1\r\n\r\n";

	http_msg_init(&f->msg, HTTP_REQUEST);
	f->msg.out = f->out;
	evbuffer_add(f->in, "GET /x HTTP/1.1\r\nHo", 19);
	/* a reference chain never merges with the one before it */
	evbuffer_add_reference(f->in, tail, sizeof(tail) - 1, NULL, NULL);
	assert_int_equal(http_msg_head(&f->msg, f->in), HTTP_DONE);
	assert_int_equal(f->msg.nhdrs, 2);
	assert_true(http_hdr_is(&f->msg, http_msg_head_base(&f->msg, f->in),
	    0, "host"));
	assert_int_equal(f->msg.head_len, 19 + sizeof(tail) - 1);
}

/* A head found in the first chain does not make the body behind it
 * contiguous: a response's body is never copied to parse its head. */
static void
test_http_head_parse_leaves_body_chains_alone(void **state)
{
	struct fixture	*f = *state;
	static char	 body[8192];
	const char	*head = "HTTP/1.1 200 OK\r\nContent-Length: 8192\r\n"
			    "\r\n";

	memset(body, 'b', sizeof(body));
	http_msg_init(&f->msg, HTTP_RESPONSE);
	f->msg.out = f->out;
	evbuffer_add(f->in, head, strlen(head));
	evbuffer_add_reference(f->in, body, sizeof(body), NULL, NULL);
	assert_int_equal(http_msg_head(&f->msg, f->in), HTTP_DONE);
	assert_int_equal(evbuffer_get_contiguous_space(f->in), strlen(head));
	http_msg_head_drain(&f->msg, f->in);
	assert_int_equal(http_msg_body(&f->msg, f->in), HTTP_DONE);
	assert_int_equal(evbuffer_get_length(f->out), sizeof(body));
}

static void
test_http_chunked_body_reframed_across_reads(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(head_of(f, HTTP_RESPONSE, "HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"), HTTP_DONE);
	http_msg_head_drain(&f->msg, f->in);
	f->msg.chunked_out = true;
	evbuffer_add(f->in, "5;ext=1\r\nhe", 11);
	assert_int_equal(http_msg_body(&f->msg, f->in), HTTP_MORE);
	/* resuming with nothing buffered (after backpressure): llhttp
	 * reports an empty body span, which must not become a last-chunk */
	assert_int_equal(http_msg_body(&f->msg, f->in), HTTP_MORE);
	evbuffer_add(f->in, "llo\r\n", 5);
	assert_int_equal(http_msg_body(&f->msg, f->in), HTTP_MORE);
	evbuffer_add(f->in, "0\r\n\r\n", 5);
	assert_int_equal(http_msg_body(&f->msg, f->in), HTTP_DONE);
	assert_string_equal(out_text(f),
	    "2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n");
	assert_int_equal(f->msg.body_bytes, 5);
}

/* Feeds a chunked request body in the given pieces; returns the result
 * of the last one. */
static enum http_result
chunked_body(struct fixture *f, const char *const *pieces)
{
	enum http_result	r = HTTP_MORE;

	assert_int_equal(head_of(f, HTTP_REQUEST, "POST / HTTP/1.1\r\nHost: a"
	    "\r\nTransfer-Encoding: chunked\r\n\r\n"), HTTP_DONE);
	http_msg_head_drain(&f->msg, f->in);
	for (; *pieces != NULL && r == HTTP_MORE; pieces++) {
		evbuffer_add(f->in, *pieces, strlen(*pieces));
		r = http_msg_body(&f->msg, f->in);
	}
	return (r);
}

static void
test_http_chunk_data_must_end_in_crlf(void **state)
{
	struct fixture		*f = *state;
	const char		*whole[] = { "5\r\nhelloXX3\r\nabc\r\n0\r\n\r\n",
				    NULL };
	const char		*split[] = { "5\r\nhello", "\r", "X3\r\nabc", NULL };
	const char		*good[] = { "5\r\nhello", "\r", "\n0\r\n\r\n",
				    NULL };

	assert_int_equal(chunked_body(f, whole), HTTP_ERROR);
	assert_int_equal(f->msg.status, 400);
	evbuffer_drain(f->in, evbuffer_get_length(f->in));
	assert_int_equal(chunked_body(f, split), HTTP_ERROR);
	assert_int_equal(f->msg.status, 400);
	evbuffer_drain(f->in, evbuffer_get_length(f->in));
	assert_int_equal(chunked_body(f, good), HTTP_DONE);
}

static void
test_http_pipelined_requests_stay_in_input(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(head_of(f, HTTP_REQUEST, "GET /1 HTTP/1.1\r\nHost: a"
	    "\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP_DONE);
	http_msg_head_drain(&f->msg, f->in);
	assert_int_equal(http_msg_body(&f->msg, f->in), HTTP_DONE);
	assert_int_equal(evbuffer_get_length(f->in), 28);
	http_msg_next(&f->msg);
	assert_int_equal(http_msg_head(&f->msg, f->in), HTTP_DONE);
	assert_int_equal(f->msg.url.len, 2);
}

static void
test_http_both_lengths_rejected(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(head_of(f, HTTP_REQUEST, "POST / HTTP/1.1\r\nHost: a"
	    "\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"),
	    HTTP_ERROR);
	assert_int_equal(f->msg.status, 400);
}

/* Each raw request is refused with the status a client should see. */
static void
test_http_strict_framing_table(void **state)
{
	struct fixture	*f = *state;
	static const struct {
		const char	*raw;
		int		 status;
	} cases[] = {
		{ "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\nHost: a\n\n", 400 },
		{ "GET /\r\n\r\n", 505 },
		{ "GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505 },
		{ "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, "
		    "chunked\r\n\r\n", 501 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip"
		    "\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
		    "Content-Length: 2\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n"
		    "\r\n", 400 },
		{ "G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "GET /a\fb HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "GET /a\x80 HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n", 400 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		evbuffer_drain(f->in, evbuffer_get_length(f->in));
		if (head_of(f, HTTP_REQUEST, cases[i].raw) != HTTP_ERROR)
			fail_msg("case %zu accepted: %s", i, cases[i].raw);
		if (f->msg.status != cases[i].status)
			fail_msg("case %zu: status %d, want %d (%s)", i,
			    f->msg.status, cases[i].status, f->msg.error);
	}
}

static void
test_http_chunked_coding_any_case_accepted(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(head_of(f, HTTP_REQUEST, "POST / HTTP/1.1\r\nHost: a"
	    "\r\nTransfer-Encoding: Chunked \r\n\r\n"), HTTP_DONE);
	assert_true(f->msg.parser.flags & F_CHUNKED);
}

static void
test_http_too_many_headers_is_431(void **state)
{
	struct fixture	*f = *state;
	char		 s[4096];
	size_t		 n = 0;

	n += (size_t)snprintf(s, sizeof(s), "GET / HTTP/1.1\r\n");
	for (int i = 0; i <= HTTP_HEADERS_MAX; i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n, "X-%d: v\r\n", i);
	snprintf(s + n, sizeof(s) - n, "\r\n");
	assert_int_equal(head_of(f, HTTP_REQUEST, s), HTTP_ERROR);
	assert_int_equal(f->msg.status, 431);
}

static void
test_http_oversize_head_is_431(void **state)
{
	struct fixture	*f = *state;
	char		*s = malloc(HTTP_HEAD_MAX + 64);

	strcpy(s, "GET / HTTP/1.1\r\nX-Big: ");
	memset(s + strlen(s), 'a', HTTP_HEAD_MAX);
	s[HTTP_HEAD_MAX + 20] = '\0';
	assert_int_equal(head_of(f, HTTP_REQUEST, s), HTTP_ERROR);
	assert_int_equal(f->msg.status, 431);
	free(s);
}

static void
test_http_response_truncated_body_is_error(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(head_of(f, HTTP_RESPONSE, "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 10\r\n\r\nabc"), HTTP_DONE);
	http_msg_head_drain(&f->msg, f->in);
	assert_int_equal(http_msg_body(&f->msg, f->in), HTTP_MORE);
	assert_int_equal(http_msg_eof(&f->msg), HTTP_ERROR);
}

/*
 * Parses one message of type from s (len bytes) fed in pieces: cut at
 * split (0: whole), or one byte at a time when split is (size_t)-1.
 * Returns the last result; the body (not re-chunked) is in f->out.
 */
static enum http_result
message_fed(struct fixture *f, llhttp_type_t type, const char *s, size_t len,
    size_t split)
{
	enum http_result	r;
	size_t			off = 0, piece;
	bool			head = true;

	http_msg_free(&f->msg);
	http_msg_init(&f->msg, type);
	f->msg.out = f->out;
	evbuffer_drain(f->in, evbuffer_get_length(f->in));
	evbuffer_drain(f->out, evbuffer_get_length(f->out));
	for (;;) {
		if (head) {
			r = http_msg_head(&f->msg, f->in);
			if (r == HTTP_DONE) {
				http_msg_head_drain(&f->msg, f->in);
				head = false;
				continue;
			}
		} else
			r = http_msg_body(&f->msg, f->in);
		if (r != HTTP_MORE || off == len)
			return (r);
		if (split == (size_t)-1)
			piece = 1;
		else if (split > 0 && off < split)
			piece = split - off;
		else
			piece = len - off;
		evbuffer_add(f->in, s + off, piece);
		off += piece;
	}
}

struct fed_case {
	llhttp_type_t	 type;
	const char	*in;
	int		 status;	/* 0: accepted */
	const char	*body;		/* if accepted */
};

#define CHUNKED_POST	"POST / HTTP/1.1\r\nHost: t\r\n" \
			"Transfer-Encoding: chunked\r\n\r\n"
#define CHUNKED_200	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

static const struct fed_case	fed_cases[] = {
	/* a CR not followed by LF in a head: refused, llhttp 8.1 or not */
	{ HTTP_REQUEST, "GET / HTTP/1.1\r\nHost: t\r\n\rXGET /s HTTP/1.1\r\n"
	    "Host: t\r\n\r\n", 400, NULL },
	{ HTTP_REQUEST, "GET / HTTP/1.1\r\nHost: t\r\n\r\r\n", 400, NULL },
	{ HTTP_REQUEST, "GET / HTTP/1.1\r\nHost: t\r\r\n\r\n", 400, NULL },
	{ HTTP_REQUEST, "GET / HTTP/1.1\rHost: t\r\n\r\n", 400, NULL },
	{ HTTP_REQUEST, "GET / HTTP/1.1\r\nHost: t\r\n\rX-A: 1\r\n\r\n", 400,
	    NULL },
	{ HTTP_REQUEST, "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\rb\r\n\r\n", 400,
	    NULL },
	{ HTTP_REQUEST, "GET / HTTP/1.1\r\nHost: t\r\n\n", 400, NULL },
	{ HTTP_RESPONSE, "HTTP/1.1 200 OK\rContent-Length: 0\r\n\r\n", 502,
	    NULL },
	{ HTTP_RESPONSE, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\rXok", 502,
	    NULL },
	/* obs-fold, with or without a value on the first line */
	{ HTTP_REQUEST, "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\r\n b\r\n\r\n",
	    400, NULL },
	{ HTTP_REQUEST, "GET / HTTP/1.1\r\nHost: t\r\nX-A:\r\n b\r\n\r\n",
	    400, NULL },
	{ HTTP_REQUEST, "GET / HTTP/1.1\r\nHost: t\r\nX-A: \r\n\tb\r\n\r\n",
	    400, NULL },
	{ HTTP_RESPONSE, "HTTP/1.1 200 OK\r\nX-A:\r\n b\r\n"
	    "Content-Length: 0\r\n\r\n", 502, NULL },
	/* an empty value is no fold */
	{ HTTP_REQUEST, "GET / HTTP/1.1\r\nHost: t\r\nX-A:\r\nX-B: \r\n\r\n",
	    0, "" },
	/* a fragment in the target */
	{ HTTP_REQUEST, "GET /a#b HTTP/1.1\r\nHost: t\r\n\r\n", 400, NULL },
	{ HTTP_REQUEST, "GET http://t/a#b HTTP/1.1\r\nHost: t\r\n\r\n", 400,
	    NULL },
	{ HTTP_REQUEST, "OPTIONS *# HTTP/1.1\r\nHost: t\r\n\r\n", 400, NULL },
	/* chunk framing: 400 for a request, 502 for a response */
	{ HTTP_REQUEST, CHUNKED_POST "5\rhello\r\n0\r\n\r\n", 400, NULL },
	{ HTTP_REQUEST, CHUNKED_POST "5\r\nhello\r\n0\r\n\rX", 400, NULL },
	{ HTTP_REQUEST, CHUNKED_POST "5\r\nhello\r\n0\r\nX: 1\rY\r\n\r\n", 400,
	    NULL },
	{ HTTP_RESPONSE, CHUNKED_200 "5\r\nhello\r\r\n0\r\n\r\n", 502, NULL },
	{ HTTP_RESPONSE, CHUNKED_200 "0x5\r\nhello\r\n0\r\n\r\n", 502, NULL },
	/* accepted: an empty line before a request, CRs in body data,
	 * whitespace before ";" */
	{ HTTP_REQUEST, "\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n", 0, "" },
	{ HTTP_REQUEST, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
	    "\r\n\rX\r\r", 0, "\rX\r\r" },
	{ HTTP_REQUEST, CHUNKED_POST "5 ;a=b\r\nh\rll\r\r\n0\t;c\r\nX: 1\r\n"
	    "\r\n", 0, "h\rll\r" },
	{ HTTP_RESPONSE, CHUNKED_200 "3;q=\"\\\"\"\r\n\r\r\r\r\n0\r\n\r\n", 0,
	    "\r\r\r" },
};

/* Every case whole, one byte at a time and cut in two at every point:
 * a CR at the end of a piece is decided with the next byte. */
static void
test_http_bare_cr_and_chunks_at_every_split(void **state)
{
	struct fixture	*f = *state;
	enum http_result r;

	for (size_t i = 0; i < sizeof(fed_cases) / sizeof(fed_cases[0]); i++) {
		const struct fed_case *c = &fed_cases[i];
		size_t len = strlen(c->in);

		for (size_t split = 0; split <= len + 1; split++) {
			r = message_fed(f, c->type, c->in, len,
			    split == len + 1 ? (size_t)-1 : split);
			if (c->status != 0 && (r != HTTP_ERROR ||
			    f->msg.status != c->status))
				fail_msg("case %zu, split %zu: %d, status %d",
				    i, split, r, f->msg.status);
			if (c->status == 0 && (r != HTTP_DONE ||
			    strcmp(out_text(f), c->body) != 0))
				fail_msg("case %zu, split %zu: %d (%s)", i,
				    split, r, f->msg.error);
		}
	}
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_http_trailer_without_name_refused),
		T(test_http_response_bad_status_or_reason_is_502),
		T(test_http_request_head_split_over_reads_parses_once),
		T(test_http_head_across_chains_in_one_read),
		T(test_http_head_parse_leaves_body_chains_alone),
		T(test_http_chunked_body_reframed_across_reads),
		T(test_http_pipelined_requests_stay_in_input),
		T(test_http_chunk_data_must_end_in_crlf),
		T(test_http_both_lengths_rejected),
		T(test_http_strict_framing_table),
		T(test_http_chunked_coding_any_case_accepted),
		T(test_http_too_many_headers_is_431),
		T(test_http_oversize_head_is_431),
		T(test_http_response_truncated_body_is_error),
		T(test_http_bare_cr_and_chunks_at_every_split),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
