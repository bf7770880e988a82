/*
 * fuzz_admin.c — libFuzzer harness: command lines through admin_run()
 * (src/admin.c, src/admin_cmd.c) with no daemon behind it.
 *
 * The root context's operations (cutover_switch, cutover_rollback,
 * cutover_reload, cutover_member, cutover_healthy, cutover_drained,
 * cutover_status) are replaced at link time with -Wl,--wrap, as in
 * tests/unit/test_admin.c, by stubs that return fixed answers.  Input
 * byte 0 picks the answers (success or failure, and a message from a
 * table of awkward ones: empty, several lines, CRLF, blank lines, longer
 * than the reply buffer); the rest is split into lines at LF, and each
 * line is one admin_run() call.
 *
 * Invariants: admin_run returns 0, -1 or 1; 1 (pending) appends nothing;
 * otherwise the reply starts with "ok\n" (0) or "error: " (-1), holds no
 * NUL, and ends with the only empty line in it ("\n\n" at its end), so a
 * client reading up to the empty line reads exactly one reply.
 *
 * Run it:  make fuzz  (in a build directory configured with --enable-fuzz),
 * or by hand:  tests/fuzz/fuzz_admin -max_len=4608 \
 *	-dict=$srcdir/tests/fuzz/admin.dict CORPUS_DIR
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "admin.h"
#include "cutover.h"
#include "log.h"

#define FUZZ_LINES	64	/* command lines per input */

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int	__wrap_cutover_switch(struct cutover *, const char *, bool, char *,
	    size_t);
int	__wrap_cutover_rollback(struct cutover *, bool, char *, size_t);
int	__wrap_cutover_reload(struct cutover *, char *, size_t);
void	__wrap_status_report(struct cutover *, struct evbuffer *, bool);
int	__wrap_cutover_member(struct cutover *, const char *, const char *,
	    const char *, char *, size_t);
int	__wrap_cutover_healthy(struct cutover *, const char *, char *, size_t);
int	__wrap_cutover_drained(struct cutover *, const char *, char *, size_t);

/* The stubs' answers, chosen by input byte 0. */
static unsigned	fuzz_answer;
static char	fuzz_long[3000];

static const char *
fuzz_msg(void)
{
	static const char *const msgs[] = {
		"", "switched to green", "one\ntwo", "crlf\r\nlines\r\n",
		"\n", "gap\n\n\nafter\n", "\r", NULL,
	};
	const char	*m = msgs[(fuzz_answer >> 1) & 7];

	return (m != NULL ? m : fuzz_long);
}

/* The answer of an operation: 0 or -1. */
static int
fuzz_rc(void)
{
	return ((fuzz_answer & 1) ? -1 : 0);
}

int
__wrap_cutover_switch(struct cutover *cx, const char *pool, bool force,
    char *msg, size_t msglen)
{
	snprintf(msg, msglen, "%s", fuzz_msg());
	return (fuzz_rc());
}

int
__wrap_cutover_rollback(struct cutover *cx, bool force, char *msg,
    size_t msglen)
{
	snprintf(msg, msglen, "%s", fuzz_msg());
	return (fuzz_rc());
}

int
__wrap_cutover_reload(struct cutover *cx, char *msg, size_t msglen)
{
	snprintf(msg, msglen, "%s", fuzz_msg());
	return (fuzz_rc());
}

int
__wrap_cutover_member(struct cutover *cx, const char *pool, const char *addr,
    const char *state, char *msg, size_t msglen)
{
	snprintf(msg, msglen, "%s", fuzz_msg());
	return (fuzz_rc());
}

/* A wait condition: holds (1), not yet (0) or never (-1). */
static int
fuzz_cond(char *msg, size_t msglen)
{
	snprintf(msg, msglen, "%s", fuzz_msg());
	return ((int)((fuzz_answer >> 4) % 3) - 1);
}

int
__wrap_cutover_healthy(struct cutover *cx, const char *pool, char *msg,
    size_t msglen)
{
	return (fuzz_cond(msg, msglen));
}

int
__wrap_cutover_drained(struct cutover *cx, const char *pool, char *msg,
    size_t msglen)
{
	return (fuzz_cond(msg, msglen));
}

void
__wrap_status_report(struct cutover *cx, struct evbuffer *out, bool json)
{
	/* status promises lines without an empty one; give it one anyway */
	if (json)
		evbuffer_add_printf(out, "{\"active\":\"blue\"}");
	else
		evbuffer_add_printf(out, "active blue\n%s\npools 2",
		    fuzz_msg());
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LL_ERROR);
	memset(fuzz_long, 'x', sizeof(fuzz_long) - 1);
	for (size_t i = 100; i < sizeof(fuzz_long) - 1; i += 100)
		fuzz_long[i] = '\n';
	return (0);
}

/* Checks the reply in out to a line that admin_run answered with rc. */
static void
fuzz_check_reply(const char *line, int rc, struct evbuffer *out)
{
	size_t		 len = evbuffer_get_length(out);
	const char	*p = (const char *)evbuffer_pullup(out, -1);
	const char	*blank;
	const char	*why = NULL;

	if (rc != 0 && rc != -1 && rc != 1)
		why = "admin_run returned neither 0, -1 nor 1";
	else if (rc == 1)
		why = len != 0 ? "a pending command appended a reply" : NULL;
	else if (rc == 0 && (len < 3 || memcmp(p, "ok\n", 3) != 0))
		why = "returned 0 but the reply does not start with \"ok\"";
	else if (rc == -1 && (len < 7 || memcmp(p, "error: ", 7) != 0))
		why = "returned -1 but the reply does not start with "
		    "\"error: \"";
	else if (memchr(p, '\0', len) != NULL)
		why = "NUL in the reply";
	else if ((blank = memmem(p, len, "\n\n", 2)) == NULL)
		why = "the reply does not end with an empty line";
	else if ((size_t)(blank - p) != len - 2)
		why = "an empty line inside the reply";
	if (why == NULL)
		return;
	fprintf(stderr, "fuzz: line \"%s\" answer %u rc %d reply \"%.*s\"\n",
	    line, fuzz_answer, rc, (int)len, p != NULL ? p : "");
	fprintf(stderr, "fuzz: invariant violated: %s\n", why);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evbuffer	*out;
	const uint8_t	*p, *end = data + size, *nl;
	char		*line;
	int		 rc, n = 0;

	if (size < 1)
		return (0);
	fuzz_answer = data[0];
	if ((out = evbuffer_new()) == NULL)
		abort();
	for (p = data + 1; p < end && n < FUZZ_LINES; p = nl + 1, n++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((line = strndup((const char *)p, (size_t)(nl - p))) ==
		    NULL)
			abort();
		rc = admin_run(NULL, line, out);
		fuzz_check_reply(line, rc, out);
		evbuffer_drain(out, evbuffer_get_length(out));
		free(line);
	}
	evbuffer_free(out);
	return (0);
}
