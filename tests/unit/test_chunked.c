/*
 * test_chunked.c — the chunked decoder: what RFC 9112 7.1 allows is taken
 * (BWS before ";", extensions with and without values, quoted strings
 * with escapes, leading zeros, trailers), what it does not is refused
 * (a CR not followed by LF anywhere in the framing, an LF without its CR,
 * bad sizes, junk, over-long lines), whatever way the bytes are split.
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

#include "chunked.h"

/* What the decoder handed on: data, and trailers as "name=value;" */
struct got {
	char	data[8192];
	size_t	ndata;
	char	fields[1024];
	size_t	nfields;
	bool	in_value;
	int	fail_at_data;	/* the data op fails at this call, if > 0 */
	int	ndata_calls;
};

static int
got_data(void *ctx, const char *at, size_t len)
{
	struct got	*g = ctx;

	if (++g->ndata_calls == g->fail_at_data)
		return (-1);
	assert_true(g->ndata + len <= sizeof(g->data));
	memcpy(g->data + g->ndata, at, len);
	g->ndata += len;
	return (0);
}

static void
got_field_add(struct got *g, const char *at, size_t len)
{
	assert_true(g->nfields + len < sizeof(g->fields));
	memcpy(g->fields + g->nfields, at, len);
	g->nfields += len;
	g->fields[g->nfields] = '\0';
}

static int
got_field(void *ctx, const char *at, size_t len, bool value)
{
	struct got	*g = ctx;

	assert_true(len > 0);
	if (value && !g->in_value)
		got_field_add(g, "=", 1);
	g->in_value = value;
	got_field_add(g, at, len);
	return (0);
}

static int
got_field_end(void *ctx)
{
	struct got	*g = ctx;

	if (!g->in_value)
		got_field_add(g, "=", 1);
	got_field_add(g, ";", 1);
	g->in_value = false;
	return (0);
}

static const struct chunked_ops	ops = {
	.data = got_data,
	.field = got_field,
	.field_end = got_field_end,
};

/*
 * Decodes s (len bytes) fed in pieces: cut at split (0: whole), or byte
 * by byte when split is (size_t)-1.  Returns the bytes used before the
 * end (ch.done), or -1 with *why set.
 */
static ssize_t
decode(const char *s, size_t len, size_t split, struct got *g,
    const char **why)
{
	struct chunked	ch;
	size_t		off = 0, piece;
	ssize_t		n;

	memset(g, 0, sizeof(*g));
	chunked_init(&ch);
	*why = NULL;
	while (off < len && !ch.done) {
		if (split == (size_t)-1)
			piece = 1;
		else if (split > 0 && off < split)
			piece = split - off;
		else
			piece = len - off;
		if ((n = chunked_execute(&ch, &ops, g, s + off, piece)) == -1) {
			*why = ch.error;
			assert_non_null(ch.error);
			return (-1);
		}
		assert_true((size_t)n == piece || ch.done);
		off += (size_t)n;
	}
	return (ch.done ? (ssize_t)off : -2);	/* -2: not complete */
}

struct accepted {
	const char	*in;
	const char	*data;
	const char	*fields;
};

static const struct accepted	accepted[] = {
	{ "5\r\nhello\r\n0\r\n\r\n", "hello", "" },
	{ "5;a=b\r\nhello\r\n0\r\n\r\n", "hello", "" },
	{ "5 ;a=b\r\nhello\r\n0\r\n\r\n", "hello", "" },
	{ "5\t;a=b\r\nhello\r\n0\r\n\r\n", "hello", "" },
	{ "5 \t ; a = b ;c\r\nhello\r\n0\r\n\r\n", "hello", "" },
	{ "5;a\r\nhello\r\n0;last\r\n\r\n", "hello", "" },
	{ "5;a=\"x;\\\"y\\\\ \\\tz\"\r\nhello\r\n0\r\n\r\n", "hello", "" },
	{ "5;a=\"\" ;b=\"\x80\"\r\nhello\r\n0\r\n\r\n", "hello", "" },
	{ "005\r\nhe\rlo\r\n00\r\n\r\n", "he\rlo", "" },
	{ "A\r\n0123456789\r\na\r\n\r\n\r\n\r\n\r\n\r\n\r\n0\r\n\r\n",
	    "0123456789\r\n\r\n\r\n\r\n\r\n", "" },
	{ "3\r\nabc\r\n0\r\nX-Sum: 42\r\nX-E:\r\nX-W:  a b \t\r\n\r\n",
	    "abc", "X-Sum=42;X-E=;X-W=a b \t;" },
	{ "1\r\n\n\r\n0\r\nX-O: \x80\xff\r\n\r\n", "\n", "X-O=\x80\xff;" },
	{ "0000000000000000000001\r\nz\r\n0\r\n\r\n", "z", "" },
};

static void
test_chunked_accepts_what_the_grammar_allows(void **state)
{
	struct got	 g;
	const char	*why;
	size_t		 len;

	(void)state;
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		const struct accepted *a = &accepted[i];

		len = strlen(a->in);
		/* whole, byte by byte, and cut at every point */
		for (size_t split = 0; split <= len; split++) {
			if (decode(a->in, len, split, &g, &why) != (ssize_t)len)
				fail_msg("case %zu, split %zu: %s", i, split,
				    why);
			assert_int_equal(g.ndata, strlen(a->data));
			assert_memory_equal(g.data, a->data, g.ndata);
			assert_string_equal(g.nfields ? g.fields : "",
			    a->fields);
		}
		assert_int_equal(decode(a->in, len, (size_t)-1, &g, &why),
		    (ssize_t)len);
		assert_memory_equal(g.data, a->data, g.ndata);
		assert_string_equal(g.nfields ? g.fields : "", a->fields);
	}
}

struct refused {
	const char	*in;
	size_t		 len;	/* a case may hold a NUL */
	const char	*why;	/* words of the reason */
};

#define R(s, why)	{ s, sizeof(s) - 1, why }

static const struct refused	refused[] = {
	/* a CR not followed by LF, anywhere in the framing */
	R("5\rhello\r\n0\r\n\r\n", "CR not followed by LF"),
	R("5;a=b\rX\r\nhello\r\n0\r\n\r\n", "CR not followed by LF"),
	R("5\r\nhello\r\r\n0\r\n\r\n", "CR not followed by LF"),
	R("5\r\nhello\rX0\r\n\r\n", "CR not followed by LF"),
	R("5\r\nhello\r\n0\r\r\n\r\n", "CR not followed by LF"),
	R("5\r\nhello\r\n0\rX\r\n", "CR not followed by LF"),
	R("0\r\nX-A: 1\rX-B: 2\r\n\r\n", "CR not followed by LF"),
	R("0\r\nX-A: 1\r\r\n\r\n", "CR not followed by LF"),
	R("0\r\nX-A: a\rb\r\n\r\n", "CR not followed by LF"),
	R("0\r\n\rX", "CR not followed by LF"),
	R("0\r\n\r\r\n", "CR not followed by LF"),
	R("5;a=\"x\ry\"\r\nhello\r\n0\r\n\r\n", "extension"),
	/* data not followed by CRLF */
	R("5\r\nhelloXX0\r\n\r\n", "not followed by CRLF"),
	/* LF without CR */
	R("5\nhello\r\n0\r\n\r\n", "chunk size"),
	R("5\r\nhello\n0\r\n\r\n", "not followed by CRLF"),
	R("0\r\nX-A: 1\n\r\n", "LF without CR"),
	R("0\r\n\n", "LF without CR"),
	/* sizes */
	R("0x5\r\nhello\r\n0\r\n\r\n", "chunk size"),
	R("+5\r\nhello\r\n0\r\n\r\n", "chunk size"),
	R("-5\r\nhello\r\n0\r\n\r\n", "chunk size"),
	R(" 5\r\nhello\r\n0\r\n\r\n", "chunk size"),
	R("5 5\r\nhello\r\n0\r\n\r\n", "chunk-size line"),
	R("5 \r\nhello\r\n0\r\n\r\n", "chunk-size line"),
	R("\r\nhello\r\n0\r\n\r\n", "chunk size"),
	R("zz\r\nhello\r\n0\r\n\r\n", "chunk size"),
	R("5x\r\nhello\r\n0\r\n\r\n", "chunk size"),
	R("10000000000000000\r\n", "too large"),
	R("1ffffffffffffffff\r\n", "too large"),
	/* extensions */
	R("5;\r\nhello\r\n0\r\n\r\n", "extension"),
	R("5;=b\r\nhello\r\n0\r\n\r\n", "extension"),
	R("5;a=\r\nhello\r\n0\r\n\r\n", "extension"),
	R("5;a b\r\nhello\r\n0\r\n\r\n", "extension"),
	R("5;a=b c\r\nhello\r\n0\r\n\r\n", "chunk-size line"),
	R("5;a=b \r\nhello\r\n0\r\n\r\n", "chunk-size line"),
	R("5;a=\"b\r\nhello\r\n0\r\n\r\n", "extension"),
	R("5;a=\"b\"c\r\nhello\r\n0\r\n\r\n", "extension"),
	R("5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n", "extension"),
	R("5;a=b=c\r\nhello\r\n0\r\n\r\n", "extension"),
	R("5;a@=b\r\nhello\r\n0\r\n\r\n", "extension"),
	/* trailers */
	R("0\r\n: x\r\n\r\n", "trailer field name"),
	R("0\r\nX-A : 1\r\n\r\n", "whitespace"),
	R("0\r\nX-A: 1\r\n b\r\n\r\n", "folding"),
	R("0\r\nX-A: \x01\r\n\r\n", "control character"),
	R("0\r\nX-A: a\x7f\r\n\r\n", "control character"),
	R("0\r\nX-A: a\0b\r\n\r\n", "control character"),
	R("0\r\nX(A): 1\r\n\r\n", "trailer field name"),
	R("0\r\nX-A\r\n\r\n", "trailer field name"),
};

static void
test_chunked_refuses_what_the_grammar_does_not(void **state)
{
	struct got	 g;
	const char	*why;
	size_t		 len;

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		const struct refused *r = &refused[i];

		len = r->len;
		for (size_t split = 0; split <= len; split++) {
			assert_int_equal(decode(r->in, len, split, &g, &why),
			    -1);
			if (strstr(why, r->why) == NULL)
				fail_msg("case %zu, split %zu: \"%s\" not in "
				    "\"%s\"", i, split, r->why, why);
		}
		assert_int_equal(decode(r->in, len, (size_t)-1, &g, &why), -1);
		assert_non_null(strstr(why, r->why));
	}
}

/* A chunk-size line of 4096 bytes (CRLF included) passes; 4097 do not,
 * an endless one is refused by then. */
static void
test_chunked_size_line_capped(void **state)
{
	char		 s[CHUNKED_LINE_MAX + 64];
	struct got	 g;
	const char	*why;
	size_t		 n;

	(void)state;
	for (int over = 0; over <= 1; over++) {
		/* "5;a=" + value + "\r\n" */
		n = CHUNKED_LINE_MAX + (size_t)over;
		memcpy(s, "5;a=", 4);
		memset(s + 4, 'v', n - 6);
		memcpy(s + n - 2, "\r\nhello\r\n0\r\n\r\n", 15);
		if (over == 0)
			assert_int_equal(decode(s, n + 12, 0, &g, &why),
			    (ssize_t)(n + 12));
		else {
			assert_int_equal(decode(s, n + 12, (size_t)-1, &g,
			    &why), -1);
			assert_string_equal(why, "chunk-size line too long");
		}
	}
	/* whitespace counts as well */
	memset(s, ' ', sizeof(s));
	s[0] = '5';
	assert_int_equal(decode(s, sizeof(s), 0, &g, &why), -1);
	assert_string_equal(why, "chunk-size line too long");
}

static void
test_chunked_trailer_section_capped(void **state)
{
	static char	 s[CHUNKED_TRAILERS_MAX + 64];
	struct got	 g;
	const char	*why;

	(void)state;
	memcpy(s, "0\r\nX: ", 6);
	memset(s + 6, 'v', sizeof(s) - 6);
	assert_int_equal(decode(s, sizeof(s), 0, &g, &why), -1);
	assert_string_equal(why, "trailer section too large");
}

/* The end of the body is its last LF: what follows is left. */
static void
test_chunked_stops_at_its_end(void **state)
{
	static const char	 s[] = "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
	struct got		 g;
	const char		*why;

	(void)state;
	for (size_t split = 0; split < sizeof(s) - 1; split++)
		assert_int_equal(decode(s, sizeof(s) - 1, split, &g, &why),
		    13);
	assert_int_equal(decode(s, sizeof(s) - 1, (size_t)-1, &g, &why), 13);
	/* an incomplete body is not an error, and not done */
	assert_int_equal(decode(s, 12, 0, &g, &why), -2);
	assert_null(why);
}

/* An op that fails stops the decoder, which then refuses to go on. */
static void
test_chunked_op_failure_stops(void **state)
{
	struct got	 g;
	struct chunked	 ch;

	(void)state;
	memset(&g, 0, sizeof(g));
	g.fail_at_data = 1;
	chunked_init(&ch);
	assert_int_equal(chunked_execute(&ch, &ops, &g, "3\r\nabc\r\n", 8),
	    -1);
	assert_null(ch.error);
	assert_int_equal(chunked_execute(&ch, &ops, &g, "0\r\n\r\n", 5), -1);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_chunked_accepts_what_the_grammar_allows),
		cmocka_unit_test(test_chunked_refuses_what_the_grammar_does_not),
		cmocka_unit_test(test_chunked_size_line_capped),
		cmocka_unit_test(test_chunked_trailer_section_capped),
		cmocka_unit_test(test_chunked_stops_at_its_end),
		cmocka_unit_test(test_chunked_op_failure_stops),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
