/*
 * test_http_head.c — rewriting heads (hop-by-hop fields and Connection
 * tokens, X-Forwarded-*, Host, target forms, framing for the client), the
 * trailer field filter, and error replies.
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

static void
test_http_request_head_drops_hop_by_hop_and_appends_xff(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(head_of(f, HTTP_REQUEST,
	    "GET /a?b=1 HTTP/1.1\r\nHost: example\r\n"
	    "Connection: keep-alive, X-Secret\r\nX-Secret: 1\r\n"
	    "Keep-Alive: timeout=5\r\nTE: trailers\r\n"
	    "Proxy-Connection: keep-alive\r\n"
	    "X-Forwarded-For: 10.1.1.1\r\nAccept: */*\r\n\r\n"), HTTP_DONE);
	assert_int_equal(request_head(f, "127.0.0.9", "ignored", true), 0);
	assert_string_equal(head_text(f),
	    "GET /a?b=1 HTTP/1.1\r\nHost: example\r\nAccept: */*\r\n"
	    "X-Forwarded-For: 10.1.1.1, 127.0.0.9\r\n"
	    "X-Forwarded-Proto: http\r\nX-Forwarded-Host: example\r\n\r\n");
}

/* fwd.drop: preview routing's own fields never reach the member, in any
 * case or spelled with underscores; "" and NULL drop nothing. */
static void
test_http_request_head_drops_named_fields(void **state)
{
	struct fixture	*f = *state;
	const char	*base;
	struct http_fwd	 fwd = { 0 };

	assert_int_equal(head_of(f, HTTP_REQUEST,
	    "GET / HTTP/1.1\r\nHost: h\r\nx-cutover-pool: green\r\n"
	    "X_Cutover_Token: t\r\nX-Cutover-Poolx: kept\r\n"
	    "Cookie: cv=green\r\n\r\n"), HTTP_DONE);
	base = http_msg_head_base(&f->msg, f->in);
	fwd.client_ip = "127.0.0.1";
	fwd.host_default = "x";
	fwd.target = base + f->msg.url.off;
	fwd.target_len = f->msg.url.len;
	fwd.drop[0] = "X-Cutover-Pool";
	fwd.drop[1] = "X-Cutover-Token";
	assert_int_equal(http_request_head(&f->msg, base, &fwd, &f->head), 0);
	assert_string_equal(head_text(f), "GET / HTTP/1.1\r\nHost: h\r\n"
	    "X-Cutover-Poolx: kept\r\nCookie: cv=green\r\n\r\n");
	fwd.drop[0] = "";
	fwd.drop[1] = NULL;
	assert_int_equal(http_request_head(&f->msg, base, &fwd, &f->head), 0);
	assert_string_equal(head_text(f), "GET / HTTP/1.1\r\nHost: h\r\n"
	    "x-cutover-pool: green\r\nX_Cutover_Token: t\r\n"
	    "X-Cutover-Poolx: kept\r\nCookie: cv=green\r\n\r\n");
}

static void
test_http_request_untrusted_forwarded_headers_replaced(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(head_of(f, HTTP_REQUEST,
	    "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 6.6.6.6\r\n"
	    "X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil\r\n\r\n"),
	    HTTP_DONE);
	assert_int_equal(request_head(f, "127.0.0.1", "x", false), 0);
	assert_string_equal(head_text(f), "GET / HTTP/1.1\r\nHost: h\r\n"
	    "X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n"
	    "X-Forwarded-Host: h\r\n\r\n");
}

static void
test_http_request_trusted_forwarded_headers_kept(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(head_of(f, HTTP_REQUEST,
	    "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: https\r\n"
	    "X-Forwarded-Host: public\r\n\r\n"), HTTP_DONE);
	assert_int_equal(request_head(f, "127.0.0.1", "x", true), 0);
	assert_string_equal(head_text(f), "GET / HTTP/1.1\r\nHost: h\r\n"
	    "X-Forwarded-Proto: https\r\nX-Forwarded-Host: public\r\n"
	    "X-Forwarded-For: 127.0.0.1\r\n\r\n");
}

/* From an untrusted source every forwarding field goes; ours are set. */
static void
test_http_request_untrusted_every_forwarding_field_removed(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(head_of(f, HTTP_REQUEST,
	    "GET / HTTP/1.1\r\nHost: h\r\nForwarded: for=6.6.6.6\r\n"
	    "X-Real-IP: 6.6.6.6\r\nX-Forwarded-Port: 443\r\n"
	    "X-Forwarded-Prefix: /admin\r\nX-Forwarded-Server: lb\r\n"
	    "X-Forwarded-Ssl: on\r\nFront-End-Https: on\r\n"
	    "x-forwarded-tls-client-cert: CN=root\r\n"
	    "True-Client-IP: 6.6.6.6\r\nX-Client-IP: 6.6.6.6\r\n"
	    "X-Cluster-Client-IP: 6.6.6.6\r\nX-Url-Scheme: https\r\n"
	    "X-Original-Forwarded-For: 6.6.6.6\r\n"
	    "X-Forwarded: kept\r\nX-Forwarded-Forx: kept\r\n\r\n"),
	    HTTP_DONE);
	assert_int_equal(request_head(f, "127.0.0.1", "x", false), 0);
	assert_string_equal(head_text(f), "GET / HTTP/1.1\r\nHost: h\r\n"
	    "X-Forwarded: kept\r\n"
	    "X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n"
	    "X-Forwarded-Host: h\r\n\r\n");
	/* what a trusted source says is kept, ours appended */
	assert_int_equal(request_head(f, "127.0.0.1", "x", true), 0);
	assert_non_null(strstr(head_text(f), "\r\nForwarded: for=6.6.6.6\r\n"
	    "X-Real-IP: 6.6.6.6\r\nX-Forwarded-Port: 443\r\n"
	    "X-Forwarded-Prefix: /admin\r\n"));
	assert_non_null(strstr(head_text(f), "X-Forwarded-Forx: kept\r\n"));
}

/*
 * CGI, WSGI and PHP servers read X_Forwarded_For as HTTP_X_FORWARDED_FOR:
 * from an untrusted source an underscore spelling (or a mixed one) of a
 * forwarding, hop-by-hop or framing field goes as its dash spelling does;
 * other names with underscores pass.
 */
static void
test_http_request_untrusted_underscore_spellings_removed(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(head_of(f, HTTP_REQUEST,
	    "GET / HTTP/1.1\r\nHost: h\r\nX_Forwarded_For: 6.6.6.6\r\n"
	    "X_Forwarded-For: 6.6.6.7\r\nx_real_ip: 6.6.6.6\r\n"
	    "X_Forwarded_Host: evil\r\nX_FORWARDED_PROTO: https\r\n"
	    "X_Forwarded_Port: 443\r\nx-forwarded_prefix: /admin\r\n"
	    "True_Client_IP: 6.6.6.6\r\nX_Cluster_Client_IP: 6.6.6.6\r\n"
	    "Front_End_Https: on\r\nX_Url_Scheme: https\r\n"
	    "X_Original_Forwarded_For: 6.6.6.6\r\n"
	    "Transfer_Encoding: chunked\r\nContent_Length: 5\r\n"
	    "Proxy_Connection: keep-alive\r\nKeep_Alive: timeout=5\r\n"
	    "X_Forwarded: kept\r\nX_App_Id: kept\r\n\r\n"), HTTP_DONE);
	assert_int_equal(request_head(f, "127.0.0.1", "x", false), 0);
	assert_string_equal(head_text(f), "GET / HTTP/1.1\r\nHost: h\r\n"
	    "X_Forwarded: kept\r\nX_App_Id: kept\r\n"
	    "X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n"
	    "X-Forwarded-Host: h\r\n\r\n");
}

/*
 * From a trusted source an underscore spelling is kept as the dash one
 * is: X_Forwarded_For joins the list cutover appends to, X_Forwarded_Proto
 * and X_Forwarded_Host stand for cutover's own; hop-by-hop fields go.
 */
static void
test_http_request_trusted_underscore_spellings_kept(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(head_of(f, HTTP_REQUEST,
	    "GET / HTTP/1.1\r\nHost: h\r\nX_Forwarded_For: 10.1.1.1\r\n"
	    "x_real_ip: 10.1.1.1\r\nX_Forwarded_Proto: https\r\n"
	    "X_Forwarded-Host: public\r\nTransfer_Encoding: chunked\r\n"
	    "Proxy_Connection: keep-alive\r\n\r\n"), HTTP_DONE);
	assert_int_equal(request_head(f, "127.0.0.9", "x", true), 0);
	assert_string_equal(head_text(f), "GET / HTTP/1.1\r\nHost: h\r\n"
	    "x_real_ip: 10.1.1.1\r\nX_Forwarded_Proto: https\r\n"
	    "X_Forwarded-Host: public\r\n"
	    "X-Forwarded-For: 10.1.1.1, 127.0.0.9\r\n\r\n");
}

/* A Connection token names a field whichever way either is spelled. */
static void
test_http_connection_token_underscore_spellings_match(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(head_of(f, HTTP_REQUEST,
	    "GET / HTTP/1.1\r\nHost: h\r\nConnection: X_Secret, x-other\r\n"
	    "X-Secret: 1\r\nx_secret: 2\r\nX_Other: 3\r\n"
	    "X_Secrets: kept\r\n\r\n"), HTTP_DONE);
	assert_int_equal(request_head(f, "127.0.0.1", "x", true), 0);
	assert_string_equal(head_text(f), "GET / HTTP/1.1\r\nHost: h\r\n"
	    "X_Secrets: kept\r\nX-Forwarded-For: 127.0.0.1\r\n"
	    "X-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\n\r\n");
}

/* Every field named in Connection goes, the 17th and the 64th too. */
static void
test_http_connection_every_token_honoured(void **state)
{
	struct fixture	*f = *state;
	char		 s[4096];
	size_t		 n;

	n = (size_t)snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nHost: h\r\n"
	    "Connection: keep-alive");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n, ", X-%d", i);
	n += (size_t)snprintf(s + n, sizeof(s) - n, "\r\nConnection: ");
	for (int i = 40; i < 63; i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n, "X-%d,", i);
	snprintf(s + n, sizeof(s) - n, "\r\nX-0: a\r\nX-16: b\r\n"
	    "x-62: c\r\nX-63: kept\r\n\r\n");
	assert_int_equal(head_of(f, HTTP_REQUEST, s), HTTP_DONE);
	assert_int_equal(request_head(f, "127.0.0.1", "x", true), 0);
	assert_string_equal(head_text(f), "GET / HTTP/1.1\r\nHost: h\r\n"
	    "X-63: kept\r\nX-Forwarded-For: 127.0.0.1\r\n"
	    "X-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\n\r\n");
}

/* More names than we track is refused, never forwarded half-honoured. */
static void
test_http_connection_too_many_tokens_refused(void **state)
{
	struct fixture	*f = *state;
	char		 s[4096];
	size_t		 n;

	for (int type = HTTP_REQUEST; type <= HTTP_RESPONSE; type++) {
		n = (size_t)snprintf(s, sizeof(s), type == HTTP_REQUEST ?
		    "GET / HTTP/1.1\r\nHost: h\r\nConnection: a" :
		    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: a");
		for (int i = 0; i < 64; i++)
			n += (size_t)snprintf(s + n, sizeof(s) - n, ",x%d", i);
		snprintf(s + n, sizeof(s) - n, "\r\n\r\n");
		evbuffer_drain(f->in, evbuffer_get_length(f->in));
		assert_int_equal(head_of(f, (llhttp_type_t)type, s),
		    HTTP_ERROR);
		assert_int_equal(f->msg.status, type == HTTP_REQUEST ? 400 :
		    502);
	}
}

/* Request targets a member must not be sent. */
static void
test_http_request_target_forms_table(void **state)
{
	struct fixture	*f = *state;
	static const struct {
		const char	*line;
		int		 status;	/* 0: accepted */
	} cases[] = {
		{ "GET * HTTP/1.1", 400 },
		{ "POST * HTTP/1.1", 400 },
		{ "OPTIONS * HTTP/1.1", 0 },
		{ "OPTIONS /x HTTP/1.1", 0 },
		{ "GET http://user@evil.example:81/p HTTP/1.1", 400 },
		{ "GET http://u:p@evil.example/ HTTP/1.1", 400 },
		{ "GET https://evil.example@ HTTP/1.1", 400 },
		{ "GET ftp://example/p HTTP/1.1", 400 },
		{ "GET FTP://example/p HTTP/1.1", 400 },
		{ "GET ws://example/p HTTP/1.1", 400 },
		{ "GET http:///p HTTP/1.1", 400 },
		{ "GET example.test:80 HTTP/1.1", 400 },
		{ "GET HTTP://Example.test:80/p HTTP/1.1", 0 },
		{ "GET hTTpS://example.test?q HTTP/1.1", 0 },
		{ "GET http://[::1]:80/p HTTP/1.1", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(f->text, sizeof(f->text), "%s\r\nHost: h\r\n\r\n",
		    cases[i].line);
		evbuffer_drain(f->in, evbuffer_get_length(f->in));
		if (head_of(f, HTTP_REQUEST, f->text) != (cases[i].status ?
		    HTTP_ERROR : HTTP_DONE))
			fail_msg("case %zu: %s: %s", i, cases[i].line,
			    f->msg.error ? f->msg.error : "accepted");
		if (f->msg.status != cases[i].status)
			fail_msg("case %zu: status %d, want %d (%s)", i,
			    f->msg.status, cases[i].status, f->msg.error);
	}
	evbuffer_drain(f->in, evbuffer_get_length(f->in));
	assert_int_equal(head_of(f, HTTP_REQUEST, "GET http://u@e/ HTTP/1.1"
	    "\r\nHost: e\r\n\r\n"), HTTP_ERROR);
	assert_string_equal(f->msg.error, "userinfo in an absolute-form "
	    "target");
}

/* RFC 9112 3.2.4: OPTIONS with an absolute form and empty path is "*". */
static void
test_http_request_options_absolute_empty_path_is_asterisk(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(head_of(f, HTTP_REQUEST, "OPTIONS http://e:8 "
	    "HTTP/1.1\r\nHost: e:8\r\n\r\n"), HTTP_DONE);
	assert_int_equal(request_head(f, "127.0.0.1", "x", true), 0);
	assert_non_null(strstr(head_text(f), "OPTIONS * HTTP/1.1\r\n"
	    "Host: e:8\r\n"));
}

/* Trailers that would frame, route, authenticate or modify: dropped.
 * (llhttp itself refuses a second Transfer-Encoding: chunked there.) */
static void
test_http_trailers_forbidden_fields_dropped(void **state)
{
	struct fixture	*f = *state;
	static const char trailers[] = "0\r\nContent-Length: 5\r\n"
	    "X-Sum: 1\r\nHost: evil\r\nIf-Match: x\r\nProxy-Foo: y\r\n"
	    "X-Forwarded-For: 6.6.6.6\r\nset-cookie: a=b\r\n"
	    "Content-Type:\r\n"
	    "Server-Timing: db;dur=5\r\nAuthorization: x\r\nX-Empty:\r\n"
	    "Cache-Control: no-store\r\nConnection: close\r\n\r\n";

	for (int type = HTTP_REQUEST; type <= HTTP_RESPONSE; type++) {
		evbuffer_drain(f->in, evbuffer_get_length(f->in));
		assert_int_equal(head_of(f, (llhttp_type_t)type,
		    type == HTTP_REQUEST ? "POST / HTTP/1.1\r\nHost: a\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n" : "HTTP/1.1 200 OK"
		    "\r\nTransfer-Encoding: chunked\r\n\r\n"), HTTP_DONE);
		http_msg_head_drain(&f->msg, f->in);
		f->msg.chunked_out = true;
		evbuffer_add(f->in, "2\r\nhi\r\n", 7);
		/* in two reads, so a name is split between them */
		evbuffer_add(f->in, trailers, 40);
		assert_int_equal(http_msg_body(&f->msg, f->in), HTTP_MORE);
		evbuffer_add(f->in, trailers + 40, sizeof(trailers) - 41);
		if (http_msg_body(&f->msg, f->in) != HTTP_DONE)
			fail_msg("type %d: %s", type, f->msg.error);
		assert_string_equal(out_text(f), "2\r\nhi\r\n0\r\n"
		    "X-Sum: 1\r\nServer-Timing: db;dur=5\r\nX-Empty:\r\n"
		    "\r\n");
	}
}

/* Underscore spellings of forbidden trailers go too, in both directions. */
static void
test_http_trailers_underscore_spellings_dropped(void **state)
{
	struct fixture	*f = *state;
	static const char trailers[] = "0\r\nX_Forwarded_For: 6.6.6.6\r\n"
	    "x_real_ip: 6.6.6.6\r\nX_Forwarded-Host: evil\r\n"
	    "Transfer_Encoding: chunked\r\nContent_Length: 5\r\n"
	    "Proxy_Authorization: x\r\nIf_Match: x\r\nSet_Cookie: a=b\r\n"
	    "X_Sum: 1\r\nProxy_Connection: close\r\n\r\n";

	for (int type = HTTP_REQUEST; type <= HTTP_RESPONSE; type++) {
		evbuffer_drain(f->in, evbuffer_get_length(f->in));
		assert_int_equal(head_of(f, (llhttp_type_t)type,
		    type == HTTP_REQUEST ? "POST / HTTP/1.1\r\nHost: a\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n" : "HTTP/1.1 200 OK"
		    "\r\nTransfer-Encoding: chunked\r\n\r\n"), HTTP_DONE);
		http_msg_head_drain(&f->msg, f->in);
		f->msg.chunked_out = true;
		evbuffer_add(f->in, "2\r\nhi\r\n", 7);
		evbuffer_add(f->in, trailers, sizeof(trailers) - 1);
		if (http_msg_body(&f->msg, f->in) != HTTP_DONE)
			fail_msg("type %d: %s", type, f->msg.error);
		assert_string_equal(out_text(f), "2\r\nhi\r\n0\r\n"
		    "X_Sum: 1\r\n\r\n");
	}
}

static void
test_http_request_absolute_form_becomes_origin_form(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(head_of(f, HTTP_REQUEST,
	    "GET http://example:8080/p?q=1 HTTP/1.1\r\nHost: other\r\n\r\n"),
	    HTTP_DONE);
	assert_int_equal(request_head(f, "127.0.0.1", "x", true), 0);
	assert_string_equal(head_text(f), "GET /p?q=1 HTTP/1.1\r\n"
	    "Host: example:8080\r\nX-Forwarded-For: 127.0.0.1\r\n"
	    "X-Forwarded-Proto: http\r\nX-Forwarded-Host: example:8080\r\n"
	    "\r\n");
	evbuffer_drain(f->in, evbuffer_get_length(f->in));
	assert_int_equal(head_of(f, HTTP_REQUEST,
	    "GET http://example HTTP/1.1\r\nHost: example\r\n\r\n"),
	    HTTP_DONE);
	assert_int_equal(request_head(f, "127.0.0.1", "x", true), 0);
	assert_non_null(strstr(head_text(f), "GET / HTTP/1.1\r\n"));
	evbuffer_drain(f->in, evbuffer_get_length(f->in));
	assert_int_equal(head_of(f, HTTP_REQUEST,
	    "GET http://example?q=1 HTTP/1.1\r\nHost: example\r\n\r\n"),
	    HTTP_DONE);
	assert_int_equal(request_head(f, "127.0.0.1", "x", true), 0);
	assert_non_null(strstr(head_text(f), "GET /?q=1 HTTP/1.1\r\n"));
}

static void
test_http_request_http10_without_host_gets_one(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(head_of(f, HTTP_REQUEST,
	    "GET / HTTP/1.0\r\n\r\n"), HTTP_DONE);
	assert_int_equal(request_head(f, "127.0.0.1", "10.0.0.1:80", true), 0);
	assert_string_equal(head_text(f), "GET / HTTP/1.1\r\n"
	    "Host: 10.0.0.1:80\r\nX-Forwarded-For: 127.0.0.1\r\n"
	    "X-Forwarded-Proto: http\r\nX-Forwarded-Host: 10.0.0.1:80\r\n\r\n");
}

static void
test_http_response_until_close_is_chunked_for_http11(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(head_of(f, HTTP_RESPONSE, "HTTP/1.1 200 OK\r\n"
	    "Connection: close\r\nX-A: b\r\n\r\n"), HTTP_DONE);
	assert_int_equal(http_response_head(&f->msg,
	    http_msg_head_base(&f->msg, f->in), false, false, false, &f->head),
	    0);
	assert_string_equal(head_text(f), "HTTP/1.1 200 OK\r\nX-A: b\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n");
	assert_true(f->msg.chunked_out);
	http_msg_head_drain(&f->msg, f->in);
	evbuffer_add(f->in, "xyz", 3);
	assert_int_equal(http_msg_body(&f->msg, f->in), HTTP_MORE);
	assert_int_equal(http_msg_eof(&f->msg), HTTP_DONE);
	assert_string_equal(out_text(f), "3\r\nxyz\r\n0\r\n\r\n");
}

static void
test_http_response_to_head_keeps_length_and_has_no_body(void **state)
{
	struct fixture	*f = *state;

	http_msg_free(&f->msg);
	http_msg_init(&f->msg, HTTP_RESPONSE);
	f->msg.out = f->out;
	f->msg.skip_body = true;
	evbuffer_add(f->in, "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n",
	    40);
	assert_int_equal(http_msg_head(&f->msg, f->in), HTTP_DONE);
	assert_true(f->msg.complete);
	assert_int_equal(http_response_head(&f->msg,
	    http_msg_head_base(&f->msg, f->in), false, true, false, &f->head),
	    0);
	assert_string_equal(head_text(f), "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 99\r\nConnection: close\r\n\r\n");
}

static void
test_http_response_for_http10_client_is_not_chunked(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(head_of(f, HTTP_RESPONSE, "HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"), HTTP_DONE);
	assert_int_equal(http_response_head(&f->msg,
	    http_msg_head_base(&f->msg, f->in), true, true, false, &f->head),
	    0);
	assert_string_equal(head_text(f), "HTTP/1.1 200 OK\r\n"
	    "Connection: close\r\n\r\n");
	assert_false(f->msg.chunked_out);
}

/* A response of n fields forwarded with Via and Connection: close. */
static bool
fits_with_fields(struct fixture *f, unsigned n)
{
	char	head[8192];
	size_t	len = 0;

	len += (size_t)snprintf(head + len, sizeof(head) - len,
	    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n");
	for (unsigned i = 1; i < n; i++)
		len += (size_t)snprintf(head + len, sizeof(head) - len,
		    "X-F%u: v\r\n", i);
	snprintf(head + len, sizeof(head) - len, "\r\n");
	assert_int_equal(head_of(f, HTTP_RESPONSE, head), HTTP_DONE);
	assert_int_equal(f->msg.nhdrs, n);
	assert_int_equal(http_response_head(&f->msg, http_msg_head_base(
	    &f->msg, f->in), false, true, true, &f->head), 0);
	return (http_head_fits(&f->msg, &f->head));
}

static void
test_http_head_fits_counts_what_forwarding_adds(void **state)
{
	struct fixture	*f = *state;

	/* 92 fields are taken; forwarding adds Via and Connection, so a
	 * head of 91 would go out with 93: refused rather than sent */
	assert_true(fits_with_fields(f, 84));
	evbuffer_drain(f->in, evbuffer_get_length(f->in));
	assert_true(fits_with_fields(f, 90));
	evbuffer_drain(f->in, evbuffer_get_length(f->in));
	assert_false(fits_with_fields(f, 91));
}

static void
test_http_error_503_says_when_to_retry(void **state)
{
	struct fixture	*f = *state;

	http_error(f->out, 503, "Service Unavailable", 1);
	assert_string_equal(out_text(f), "HTTP/1.1 503 Service Unavailable\r\n"
	    "Retry-After: 1\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 45\r\nConnection: close\r\n\r\n"
	    "503 Service Unavailable: Service Unavailable\n");
}

static void
test_http_error_reply_is_complete_and_closes(void **state)
{
	struct fixture	*f = *state;

	http_error(f->out, 502, "Bad Gateway", 0);
	assert_string_equal(out_text(f), "HTTP/1.1 502 Bad Gateway\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 29\r\n"
	    "Connection: close\r\n\r\n502 Bad Gateway: Bad Gateway\n");
}

static void
test_http_error_405_lists_allowed_methods(void **state)
{
	struct fixture	*f = *state;

	http_error(f->out, 405, "CONNECT is not supported", 0);
	assert_string_equal(out_text(f), "HTTP/1.1 405 Method Not Allowed\r\n"
	    "Allow: GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 49\r\n"
	    "Connection: close\r\n\r\n"
	    "405 Method Not Allowed: CONNECT is not supported\n");
}

/* The trailer filter alone: names, prefixes, case, and the empty name. */
static void
test_http_head_trailer_is_allowed_table(void **state)
{
	static const struct {
		const char	*name;
		bool		 ok;
	} cases[] = {
		{ "X-Sum", true },
		{ "Server-Timing", true },
		{ "Content-Digest", true },
		{ "X-Forwarded", true },
		{ "", false },
		{ "Content-Length", false },
		{ "TRANSFER-ENCODING", false },
		{ "Host", false },
		{ "X-Forwarded-For", false },
		{ "x-forwarded-anything", false },
		{ "X-Real-IP", false },
		{ "Set-Cookie", false },
		{ "If-None-Match", false },
		{ "Proxy-Authorization", false },
		{ "Content-Type", false },
		{ "X_Sum", true },
		{ "X_Forwarded", true },
		{ "X_Forwarded_For", false },
		{ "X_Forwarded-For", false },
		{ "x_forwarded_anything", false },
		{ "x_real_ip", false },
		{ "Transfer_Encoding", false },
		{ "content_length", false },
		{ "Proxy_Connection", false },
		{ "Keep_Alive", false },
		{ "Proxy_Authorization", false },
		{ "If_None_Match", false },
		{ "Set_Cookie", false },
		{ "WWW_Authenticate", false },
		{ "_", true },
		/* every name http_field_kind knows, and near misses */
		{ "TE", false },
		{ "Trailer", false },
		{ "Upgrade", false },
		{ "Connection", false },
		{ "Keep-Alive", false },
		{ "Proxy-Connection", false },
		{ "Forwarded", false },
		{ "X-Forwarded-Proto", false },
		{ "X-Forwarded-Host", false },
		{ "X-Client-IP", false },
		{ "True-Client-IP", false },
		{ "X-Cluster-Client-IP", false },
		{ "X-Original-Forwarded-For", false },
		{ "Front-End-Https", false },
		{ "X-Url-Scheme", false },
		{ "Tee", true },
		{ "Upgraded", true },
		{ "Hosts", true },
		{ "Forwarded-By", true },
		{ "X-Real-IPs", true },
		{ "X-Url-Schemes", true },
		{ "Keep-Alive-Ms", true },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (http_head_trailer_is_allowed(cases[i].name,
		    strlen(cases[i].name)) != cases[i].ok)
			fail_msg("case %zu: %s: want %s", i, cases[i].name,
			    cases[i].ok ? "allowed" : "dropped");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_http_request_head_drops_hop_by_hop_and_appends_xff),
		T(test_http_request_head_drops_named_fields),
		T(test_http_request_http10_without_host_gets_one),
		T(test_http_request_untrusted_forwarded_headers_replaced),
		T(test_http_request_trusted_forwarded_headers_kept),
		T(test_http_request_absolute_form_becomes_origin_form),
		T(test_http_request_untrusted_every_forwarding_field_removed),
		T(test_http_request_untrusted_underscore_spellings_removed),
		T(test_http_request_trusted_underscore_spellings_kept),
		T(test_http_connection_token_underscore_spellings_match),
		T(test_http_connection_every_token_honoured),
		T(test_http_connection_too_many_tokens_refused),
		T(test_http_request_target_forms_table),
		T(test_http_request_options_absolute_empty_path_is_asterisk),
		T(test_http_trailers_forbidden_fields_dropped),
		T(test_http_trailers_underscore_spellings_dropped),
		T(test_http_head_trailer_is_allowed_table),
		T(test_http_response_until_close_is_chunked_for_http11),
		T(test_http_response_to_head_keeps_length_and_has_no_body),
		T(test_http_response_for_http10_client_is_not_chunked),
		T(test_http_error_reply_is_complete_and_closes),
		T(test_http_error_405_lists_allowed_methods),
		T(test_http_error_503_says_when_to_retry),
		T(test_http_head_fits_counts_what_forwarding_adds),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
