/*
 * fuzz_admin.c — libFuzzer harness: command lines through admin_run()
 * (src/admin.c, src/admin_cmd.c) with no daemon behind it.
 *
 * The root context's operations (cutover_switch, cutover_rollback,
 * cutover_reload, cutover_member, cutover_healthy, cutover_drained,
 * status_report) are replaced at link time with -Wl,--wrap by the fake
 * the admin unit tests use (tests/fake_cutover.c), scripted here to
 * answer without failing the run or blocking.  Input byte 0 picks the
 * answers (success or failure, and a message from a table of awkward
 * ones: empty, several lines, CRLF, blank lines, longer than the reply
 * buffer); the rest is split into lines at LF, and each line is one
 * admin_run() call.
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
#include "log.h"

#include "../fake_cutover.h"

#define FUZZ_LINES	64	/* command lines per input */

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fake's answers, chosen by input byte 0. */
static unsigned	fuzz_answer;
static char	fuzz_long[3000];
static char	fuzz_status[sizeof(fuzz_long) + 64];

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

/*
 * Scripts the fake (tests/fake_cutover.h) for one input: every operation
 * answers 0 or -1 with fuzz_msg(), a wait condition holds (1), not yet
 * (0) or never (-1), and status promises lines without an empty one but
 * gets one anyway.
 */
static void
fuzz_script(void)
{
	int		 rc = (fuzz_answer & 1) ? -1 : 0;
	int		 cond = (int)((fuzz_answer >> 4) % 3) - 1;
	const char	*msg = fuzz_msg();

	fake_reset();
	fake_answer(&fake.sw, rc, msg);
	fake_answer(&fake.rollback, rc, msg);
	fake_answer(&fake.reload, rc, msg);
	fake_answer(&fake.member, rc, msg);
	fake_answer(&fake.healthy, cond, msg);
	fake_answer(&fake.drained, cond, msg);
	snprintf(fuzz_status, sizeof(fuzz_status), "active blue\n%s\npools 2",
	    msg);
	fake.status_text = fuzz_status;
	fake.status_json = "{\"active\":\"blue\"}";
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
	fuzz_script();
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
