/*
 * test_accesslog.c — access log lines: the JSON escaper, both formats
 * field by field, and lines that stay whole (one newline, under
 * ACCESSLOG_LINE_MAX) whatever the client sent.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "accesslog.h"

static size_t
escape(const char *src, size_t len, char *dst, size_t dstlen, size_t *used)
{
	size_t	n = accesslog_json_escape(dst, dstlen, src, len, used);

	dst[n] = '\0';
	return (n);
}

static void
test_accesslog_json_escape_plain_copied(void **state)
{
	char	out[64];
	size_t	used;

	(void)state;
	assert_int_equal(escape("/a?b=c%20", 9, out, sizeof(out), &used), 9);
	assert_string_equal(out, "/a?b=c%20");
	assert_int_equal(used, 9);
}

static void
test_accesslog_json_escape_quote_backslash_escaped(void **state)
{
	char	out[64];

	(void)state;
	escape("a\"b\\c", 5, out, sizeof(out), NULL);
	assert_string_equal(out, "a\\\"b\\\\c");
}

static void
test_accesslog_json_escape_control_and_high_bytes_as_u00xx(void **state)
{
	char	out[64];

	(void)state;
	escape("\n\t\x01\x7f\x80\xff", 6, out, sizeof(out), NULL);
	assert_string_equal(out,
	    "\\u000a\\u0009\\u0001\\u007f\\u0080\\u00ff");
}

static void
test_accesslog_json_escape_nul_byte_escaped(void **state)
{
	char	out[64];

	(void)state;
	escape("a\0b", 3, out, sizeof(out), NULL);
	assert_string_equal(out, "a\\u0000b");
}

static void
test_accesslog_json_escape_short_room_never_cuts_an_escape(void **state)
{
	char	out[64];
	size_t	used;

	(void)state;
	/* "ab" fits, the 6-byte escape of \n does not in 7 bytes */
	assert_int_equal(escape("ab\ncd", 5, out, 7, &used), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(used, 2);
	assert_int_equal(escape("a\"", 2, out, 2, &used), 1);
	assert_int_equal(used, 1);
}

static void
rec_fill(struct accesslog_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->time.tv_sec = 1796020200;	/* 2026-11-30T06:30:00Z */
	r->time.tv_nsec = 123456789;
	r->client = "127.0.0.1";
	r->method = "GET";
	r->target = "/path";
	r->target_len = 5;
	r->status = 200;
	r->bytes_in = 123;
	r->bytes_out = 4567;
	r->ns = 1234567;
	r->pool = "blue";
	r->member = "127.0.0.1:9001";
	r->route = "preview";
}

static void
test_accesslog_text_fields_in_order(void **state)
{
	struct accesslog_rec	r;
	char			buf[ACCESSLOG_LINE_MAX + 1];
	size_t			n;

	(void)state;
	rec_fill(&r);
	n = accesslog_format(ACCESSLOG_TEXT, &r, buf);
	buf[n] = '\0';
	assert_string_equal(buf, "2026-11-30T06:30:00.123Z 127.0.0.1 "
	    "\"GET /path\" 200 123 4567 1.2ms blue 127.0.0.1:9001 "
	    "retried=0 route=preview -\n");
}

static void
test_accesslog_text_own_reply_has_dashes_and_quoted_error(void **state)
{
	struct accesslog_rec	r;
	char			buf[ACCESSLOG_LINE_MAX + 1];
	size_t			n;

	(void)state;
	rec_fill(&r);
	r.method = NULL;
	r.status = 400;
	r.ns = ACCESSLOG_UNTIMED;
	r.member = NULL;
	r.route = NULL;
	r.retried = true;
	r.error = "bad \"request\"";
	n = accesslog_format(ACCESSLOG_TEXT, &r, buf);
	buf[n] = '\0';
	assert_string_equal(buf, "2026-11-30T06:30:00.123Z 127.0.0.1 \"-\" "
	    "400 123 4567 - blue - retried=1 route=- "
	    "\"bad \\x22request\\x22\"\n");
}

static void
test_accesslog_json_fields(void **state)
{
	struct accesslog_rec	r;
	char			buf[ACCESSLOG_LINE_MAX + 1];
	size_t			n;

	(void)state;
	rec_fill(&r);
	n = accesslog_format(ACCESSLOG_JSON, &r, buf);
	buf[n] = '\0';
	assert_string_equal(buf, "{\"time\":\"2026-11-30T06:30:00.123Z\","
	    "\"client\":\"127.0.0.1\",\"method\":\"GET\",\"target\":\"/path\","
	    "\"status\":200,\"bytes_in\":123,\"bytes_out\":4567,"
	    "\"duration_ms\":1.234,\"pool\":\"blue\","
	    "\"member\":\"127.0.0.1:9001\",\"retried\":false,"
	    "\"route\":\"preview\",\"error\":null}\n");
}

static void
test_accesslog_json_absent_values_null(void **state)
{
	struct accesslog_rec	r;
	char			buf[ACCESSLOG_LINE_MAX + 1];
	size_t			n;

	(void)state;
	rec_fill(&r);
	r.method = NULL;
	r.status = 0;
	r.ns = ACCESSLOG_UNTIMED;
	r.member = NULL;
	r.route = NULL;
	r.error = "header timeout";
	n = accesslog_format(ACCESSLOG_JSON, &r, buf);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "\"method\":null,\"target\":null,"
	    "\"status\":null,"));
	assert_non_null(strstr(buf, "\"duration_ms\":null,"));
	assert_non_null(strstr(buf, "\"member\":null,\"retried\":false,"
	    "\"route\":null,\"error\":\"header timeout\"}\n"));
}

/* Every byte value, 8 KB of target and a long error: one line, under
 * the limit, closed. */
static void
test_accesslog_hostile_target_one_whole_line(void **state)
{
	struct accesslog_rec	r;
	static char		target[8192], error[4096];
	char			buf[ACCESSLOG_LINE_MAX + 1];
	size_t			n;
	enum accesslog_format	f;

	(void)state;
	for (size_t i = 0; i < sizeof(target); i++)
		target[i] = (char)(i % 256);
	memset(error, '\n', sizeof(error) - 1);
	for (f = ACCESSLOG_TEXT; f <= ACCESSLOG_JSON; f++) {
		rec_fill(&r);
		r.target = target;
		r.target_len = sizeof(target);
		r.error = error;
		n = accesslog_format(f, &r, buf);
		assert_true(n <= ACCESSLOG_LINE_MAX);
		assert_int_equal(buf[n - 1], '\n');
		assert_null(memchr(buf, '\n', n - 1));
		assert_null(memchr(buf, '\0', n));
		buf[n] = '\0';
		if (f == ACCESSLOG_JSON)
			assert_non_null(strstr(buf, "\",\"status\":200,"));
		assert_non_null(strstr(buf, "retried"));
	}
}

static void
test_accesslog_format_parse_names(void **state)
{
	enum accesslog_format	f;

	(void)state;
	assert_int_equal(accesslog_format_parse("json", &f), 0);
	assert_int_equal(f, ACCESSLOG_JSON);
	assert_int_equal(accesslog_format_parse("text", &f), 0);
	assert_int_equal(f, ACCESSLOG_TEXT);
	assert_int_equal(accesslog_format_parse("off", &f), 0);
	assert_int_equal(f, ACCESSLOG_OFF);
	assert_int_equal(accesslog_format_parse("JSON", &f), -1);
	assert_string_equal(accesslog_format_name(ACCESSLOG_JSON), "json");
}

static void
test_accesslog_write_not_open_dropped(void **state)
{
	(void)state;
	assert_int_equal(accesslog_write("x\n", 2), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accesslog_json_escape_plain_copied),
		cmocka_unit_test(
		    test_accesslog_json_escape_quote_backslash_escaped),
		cmocka_unit_test(
		    test_accesslog_json_escape_control_and_high_bytes_as_u00xx),
		cmocka_unit_test(test_accesslog_json_escape_nul_byte_escaped),
		cmocka_unit_test(
		    test_accesslog_json_escape_short_room_never_cuts_an_escape),
		cmocka_unit_test(test_accesslog_text_fields_in_order),
		cmocka_unit_test(
		    test_accesslog_text_own_reply_has_dashes_and_quoted_error),
		cmocka_unit_test(test_accesslog_json_fields),
		cmocka_unit_test(test_accesslog_json_absent_values_null),
		cmocka_unit_test(test_accesslog_hostile_target_one_whole_line),
		cmocka_unit_test(test_accesslog_format_parse_names),
		cmocka_unit_test(test_accesslog_write_not_open_dropped),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
