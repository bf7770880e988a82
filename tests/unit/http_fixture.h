/*
 * http_fixture.h — what test_http.c and test_http_head.c share: a parser
 * with its input and output buffers, built in setup and freed in teardown,
 * and helpers that parse a head and read back what was made.  Included by
 * those two programs only (static functions, one copy in each).
 */
#ifndef CUTOVER_TEST_HTTP_FIXTURE_H
#define CUTOVER_TEST_HTTP_FIXTURE_H

struct fixture {
	struct http_msg	 msg;
	struct evbuffer	*in;
	struct evbuffer	*out;
	struct http_buf	 head;
	char		 text[8192];
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));

	f->in = evbuffer_new();
	f->out = evbuffer_new();
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	http_msg_free(&f->msg);
	http_hdrs_cache_free();
	evbuffer_free(f->in);
	evbuffer_free(f->out);
	http_buf_free(&f->head);
	free(f);
	return (0);
}

/* Feeds s to a new request (or response) parser; returns the result. */
static inline enum http_result
head_of(struct fixture *f, llhttp_type_t type, const char *s)
{
	http_msg_free(&f->msg);		/* a test may parse more than one */
	http_msg_init(&f->msg, type);
	f->msg.out = f->out;
	evbuffer_add(f->in, s, strlen(s));
	return (http_msg_head(&f->msg, f->in));
}

/* Builds the upstream head of the parsed request as a default config
 * would (X-Forwarded-For/-Proto/-Host, trusting incoming values). */
static inline int
request_head(struct fixture *f, const char *ip, const char *host_default,
    bool trust)
{
	const char	*base = http_msg_head_base(&f->msg, f->in);
	struct http_fwd	 fwd = { 0 };

	fwd.client_ip = ip;
	fwd.host_default = host_default;
	fwd.target = base + f->msg.url.off;
	fwd.target_len = f->msg.url.len;
	http_target_absolute(fwd.target, fwd.target_len, &fwd.authority,
	    &fwd.path);
	fwd.xff = fwd.proto = fwd.host = true;
	fwd.trust = trust;
	return (http_request_head(&f->msg, base, &fwd, &f->head));
}

static inline const char *
out_text(struct fixture *f)
{
	size_t	n = evbuffer_get_length(f->out);

	assert_true(n < sizeof(f->text));
	evbuffer_remove(f->out, f->text, n);
	f->text[n] = '\0';
	return (f->text);
}

static inline const char *
head_text(struct fixture *f)
{
	snprintf(f->text, sizeof(f->text), "%.*s", (int)f->head.len,
	    f->head.p);
	return (f->text);
}

#endif
