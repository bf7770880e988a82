/*
 * test_admin.c — the admin command table and the admin socket.
 *
 * The boundary to the root context (cutover_switch, cutover_rollback,
 * cutover_reload, cutover_status, cutover_member, cutover_healthy,
 * cutover_drained) is mocked with -Wl,--wrap; the socket tests run a real
 * event loop on a socket in a temporary directory.  The read-only socket,
 * the socket's group and each listener's limits: test_admin_socket.c.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "admin.h"
#include "admin_cmd.h"
#include "cutover.h"
#include "log.h"

/* ---------------------------------------------------------------- mocks */

int	__wrap_cutover_switch(struct cutover *, const char *, bool, char *,
	    size_t);
int	__wrap_cutover_rollback(struct cutover *, bool, char *, size_t);
int	__wrap_cutover_reload(struct cutover *, char *, size_t);
void	__wrap_status_report(struct cutover *, struct evbuffer *, bool);
int	__wrap_cutover_member(struct cutover *, const char *, const char *,
	    const char *, char *, size_t);
int	__wrap_cutover_healthy(struct cutover *, const char *, char *, size_t);
int	__wrap_cutover_drained(struct cutover *, const char *, char *, size_t);

int
__wrap_cutover_switch(struct cutover *cx, const char *pool, bool force,
    char *msg, size_t msglen)
{
	check_expected(pool);
	check_expected(force);
	snprintf(msg, msglen, "%s", mock_ptr_type(const char *));
	return (mock_type(int));
}

int
__wrap_cutover_rollback(struct cutover *cx, bool force, char *msg,
    size_t msglen)
{
	check_expected(force);
	snprintf(msg, msglen, "%s", mock_ptr_type(const char *));
	return (mock_type(int));
}

int
__wrap_cutover_reload(struct cutover *cx, char *msg, size_t msglen)
{
	snprintf(msg, msglen, "%s", mock_ptr_type(const char *));
	return (mock_type(int));
}

void
__wrap_status_report(struct cutover *cx, struct evbuffer *out, bool json)
{
	check_expected(json);
	evbuffer_add_printf(out, "%s", mock_ptr_type(const char *));
}

int
__wrap_cutover_member(struct cutover *cx, const char *pool, const char *addr,
    const char *state, char *msg, size_t msglen)
{
	check_expected(pool);
	check_expected(addr);
	check_expected(state);
	snprintf(msg, msglen, "%s", mock_ptr_type(const char *));
	return (mock_type(int));
}

/*
 * The wait conditions answer from a script, not from cmocka's queues, as a
 * deferred wait calls them an unknown number of times: call i answers
 * rc[i], the last entry repeating.
 */
static struct {
	const char	*fn;		/* "healthy" or "drained" */
	char		 pool[64];	/* as last called */
	int		 calls;
	int		 nrc;
	int		 rc[8];
	const char	*msg[8];
} cond;

static void
cond_script(int n, const int *rc, const char *const *msg)
{
	memset(&cond, 0, sizeof(cond));
	cond.nrc = n;
	for (int i = 0; i < n; i++) {
		cond.rc[i] = rc[i];
		cond.msg[i] = msg[i];
	}
}

static int
cond_answer(const char *fn, const char *pool, char *msg, size_t msglen)
{
	int	i = cond.calls < cond.nrc ? cond.calls : cond.nrc - 1;

	assert_true(cond.nrc > 0);
	cond.fn = fn;
	snprintf(cond.pool, sizeof(cond.pool), "%s", pool);
	cond.calls++;
	snprintf(msg, msglen, "%s", cond.msg[i]);
	return (cond.rc[i]);
}

int
__wrap_cutover_healthy(struct cutover *cx, const char *pool, char *msg,
    size_t msglen)
{
	return (cond_answer("healthy", pool, msg, msglen));
}

int
__wrap_cutover_drained(struct cutover *cx, const char *pool, char *msg,
    size_t msglen)
{
	return (cond_answer("drained", pool, msg, msglen));
}

/* ------------------------------------------------------------- helpers */

struct fixture {
	struct cutover	 cx;
	struct evbuffer	*out;
	char		*reply;		/* last reply, NUL-terminated */
	char		 dir[40];
	char		 sub[80];
	char		 path[100];
	struct admin	*admin;
};

static int
setup(void **state)
{
	struct fixture	*fx;

	log_set_level(LL_ERROR);
	signal(SIGPIPE, SIG_IGN);
	memset(&cond, 0, sizeof(cond));
	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	assert_non_null(fx->out = evbuffer_new());
	*state = fx;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture	*fx = *state;

	evbuffer_free(fx->out);
	free(fx->reply);
	free(fx);
	return (0);
}

/* Runs line; returns admin_run()'s result, the reply is in fx->reply. */
static int
run(struct fixture *fx, const char *line)
{
	size_t	len;
	int	rc;

	evbuffer_drain(fx->out, evbuffer_get_length(fx->out));
	rc = admin_run(&fx->cx, line, fx->out);
	len = evbuffer_get_length(fx->out);
	free(fx->reply);
	fx->reply = malloc(len + 1);
	assert_non_null(fx->reply);
	evbuffer_copyout(fx->out, fx->reply, len);
	fx->reply[len] = '\0';
	return (rc);
}

/* A reply ends in exactly one empty line, and holds no other. */
static void
assert_one_reply(const char *reply)
{
	const char	*blank = strstr(reply, "\n\n");

	assert_non_null(blank);
	assert_string_equal(blank, "\n\n");
	assert_true(reply[0] != '\n');
}

static void
expect_reply(struct fixture *fx, const char *line, int rc, const char *want)
{
	assert_int_equal(run(fx, line), rc);
	assert_string_equal(fx->reply, want);
	assert_one_reply(fx->reply);
}

/* Runs line as a client of a read-only socket; the reply is in fx->reply. */
static int
run_readonly(struct fixture *fx, const char *line)
{
	size_t	len;
	int	rc;

	evbuffer_drain(fx->out, evbuffer_get_length(fx->out));
	rc = admin_cmd_exec(&fx->cx, "uid 7 pid 8", ADMIN_ACCESS_READONLY,
	    line, fx->out, NULL, NULL);
	len = evbuffer_get_length(fx->out);
	free(fx->reply);
	fx->reply = malloc(len + 1);
	assert_non_null(fx->reply);
	evbuffer_copyout(fx->out, fx->reply, len);
	fx->reply[len] = '\0';
	return (rc);
}

static void
expect_readonly_reply(struct fixture *fx, const char *line, int rc,
    const char *want)
{
	assert_int_equal(run_readonly(fx, line), rc);
	assert_string_equal(fx->reply, want);
	assert_one_reply(fx->reply);
}

/* ------------------------------------------------------- command tests */

static void
test_admin_status_ok_body_from_status(void **state)
{
	expect_value(__wrap_status_report, json, false);
	will_return(__wrap_status_report, "active blue\npools 2\n");
	expect_reply(*state, "status", 0, "ok\nactive blue\npools 2\n\n");
}

static void
test_admin_status_json_passes_json(void **state)
{
	expect_value(__wrap_status_report, json, true);
	will_return(__wrap_status_report, "{\"active\":\"blue\"}\n");
	expect_reply(*state, "status json", 0, "ok\n{\"active\":\"blue\"}\n\n");
}

static void
test_admin_status_empty_lines_in_body_dropped(void **state)
{
	expect_value(__wrap_status_report, json, false);
	will_return(__wrap_status_report, "a\n\n\nb");
	expect_reply(*state, "status", 0, "ok\na\nb\n\n");
}

static void
test_admin_status_bad_argument_usage(void **state)
{
	expect_reply(*state, "status yaml", -1,
	    "error: usage: status [json]\n\n");
	expect_reply(*state, "status json json", -1,
	    "error: usage: status [json]\n\n");
}

static void
test_admin_switch_ok_reply(void **state)
{
	expect_string(__wrap_cutover_switch, pool, "green");
	expect_value(__wrap_cutover_switch, force, false);
	will_return(__wrap_cutover_switch, "switched blue -> green");
	will_return(__wrap_cutover_switch, 0);
	expect_reply(*state, "switch green", 0,
	    "ok\nswitched blue -> green\n\n");
}

static void
test_admin_switch_force_passes_force(void **state)
{
	expect_string(__wrap_cutover_switch, pool, "green");
	expect_value(__wrap_cutover_switch, force, true);
	will_return(__wrap_cutover_switch, "switched blue -> green (forced)");
	will_return(__wrap_cutover_switch, 0);
	expect_reply(*state, "switch green force", 0,
	    "ok\nswitched blue -> green (forced)\n\n");
}

static void
test_admin_switch_bad_third_word_usage(void **state)
{
	/* no call to cutover_switch is expected: cmocka fails if one comes */
	expect_reply(*state, "switch green now", -1,
	    "error: usage: switch <pool> [force]\n\n");
}

static void
test_admin_switch_arity_usage(void **state)
{
	expect_reply(*state, "switch", -1,
	    "error: usage: switch <pool> [force]\n\n");
	expect_reply(*state, "switch green force now", -1,
	    "error: usage: switch <pool> [force]\n\n");
}

static void
test_admin_switch_refused_error_reply(void **state)
{
	expect_string(__wrap_cutover_switch, pool, "green");
	expect_value(__wrap_cutover_switch, force, false);
	will_return(__wrap_cutover_switch, "green has 0 healthy members (1 "
	    "needed)");
	will_return(__wrap_cutover_switch, -1);
	expect_reply(*state, "switch green", -1,
	    "error: green has 0 healthy members (1 needed)\n\n");
}

static void
test_admin_reload_multiline_error_first_line_is_reason(void **state)
{
	will_return(__wrap_cutover_reload, "cutover.conf:3: bad pool\n\n"
	    "cutover.conf:9: bad port\n");
	will_return(__wrap_cutover_reload, -1);
	expect_reply(*state, "reload", -1, "error: cutover.conf:3: bad pool\n"
	    "cutover.conf:9: bad port\n\n");
}

static void
test_admin_reload_ok_reply(void **state)
{
	will_return(__wrap_cutover_reload, "reloaded /etc/cutover.conf");
	will_return(__wrap_cutover_reload, 0);
	expect_reply(*state, "reload", 0, "ok\nreloaded /etc/cutover.conf\n\n");
}

static void
test_admin_rollback_ok_and_error(void **state)
{
	expect_value_count(__wrap_cutover_rollback, force, false, 3);
	will_return(__wrap_cutover_rollback, "switched green -> blue");
	will_return(__wrap_cutover_rollback, 0);
	expect_reply(*state, "rollback", 0, "ok\nswitched green -> blue\n\n");
	will_return(__wrap_cutover_rollback, "no previous pool");
	will_return(__wrap_cutover_rollback, -1);
	expect_reply(*state, "rollback", -1, "error: no previous pool\n\n");
	will_return(__wrap_cutover_rollback, "");
	will_return(__wrap_cutover_rollback, -1);
	expect_reply(*state, "rollback", -1, "error: failed\n\n");
}

static void
test_admin_rollback_force_passes_force(void **state)
{
	expect_value(__wrap_cutover_rollback, force, true);
	will_return(__wrap_cutover_rollback, "switched green -> blue (forced)");
	will_return(__wrap_cutover_rollback, 0);
	expect_reply(*state, "rollback force", 0,
	    "ok\nswitched green -> blue (forced)\n\n");
}

static void
test_admin_rollback_bad_word_usage(void **state)
{
	/* no call to cutover_rollback is expected */
	expect_reply(*state, "rollback now", -1,
	    "error: usage: rollback [force]\n\n");
	expect_reply(*state, "rollback FORCE", -1,
	    "error: usage: rollback [force]\n\n");
}

static void
test_admin_member_each_state_passed(void **state)
{
	const char	*states[] = { "ready", "drain", "maint" };
	char		 line[80], want[120];

	for (size_t i = 0; i < 3; i++) {
		expect_string(__wrap_cutover_member, pool, "blue");
		expect_string(__wrap_cutover_member, addr, "127.0.0.1:9001");
		expect_string(__wrap_cutover_member, state, states[i]);
		will_return(__wrap_cutover_member, "blue 127.0.0.1:9001: ready "
		    "-> x");
		will_return(__wrap_cutover_member, 0);
		snprintf(line, sizeof(line), "member blue 127.0.0.1:9001 %s",
		    states[i]);
		snprintf(want, sizeof(want), "ok\nblue 127.0.0.1:9001: ready "
		    "-> x\n\n");
		expect_reply(*state, line, 0, want);
	}
}

static void
test_admin_member_unknown_member_error_reply(void **state)
{
	expect_string(__wrap_cutover_member, pool, "blue");
	expect_string(__wrap_cutover_member, addr, "10.0.0.9:80");
	expect_string(__wrap_cutover_member, state, "drain");
	will_return(__wrap_cutover_member, "blue has no member 10.0.0.9:80");
	will_return(__wrap_cutover_member, -1);
	expect_reply(*state, "member blue 10.0.0.9:80 drain", -1,
	    "error: blue has no member 10.0.0.9:80\n\n");
}

static void
test_admin_member_bad_state_usage(void **state)
{
	/* no call to cutover_member is expected */
	expect_reply(*state, "member blue 127.0.0.1:9001 down", -1,
	    "error: usage: member <pool> <host:port> ready|drain|maint\n\n");
	expect_reply(*state, "member blue 127.0.0.1:9001 READY", -1,
	    "error: usage: member <pool> <host:port> ready|drain|maint\n\n");
}

static void
test_admin_member_arity_usage(void **state)
{
	expect_reply(*state, "member", -1,
	    "error: usage: member <pool> <host:port> ready|drain|maint\n\n");
	expect_reply(*state, "member blue 127.0.0.1:9001", -1,
	    "error: usage: member <pool> <host:port> ready|drain|maint\n\n");
	expect_reply(*state, "member blue 127.0.0.1:9001 drain now", -1,
	    "error: usage: member <pool> <host:port> ready|drain|maint\n\n");
}

static void
test_admin_wait_healthy_holds_ok_at_once(void **state)
{
	cond_script(1, (int[]){ 1 },
	    (const char *[]){ "green: 3 of 3 members healthy" });
	expect_reply(*state, "wait-healthy green 10", 0,
	    "ok\ngreen: 3 of 3 members healthy\n\n");
	assert_string_equal(cond.fn, "healthy");
	assert_string_equal(cond.pool, "green");
	assert_int_equal(cond.calls, 1);
}

static void
test_admin_wait_healthy_never_error_at_once(void **state)
{
	cond_script(1, (int[]){ -1 }, (const char *[]){ "no pool 'red'" });
	expect_reply(*state, "wait-healthy red 10", -1,
	    "error: no pool 'red'\n\n");
	assert_int_equal(cond.calls, 1);
}

static void
test_admin_wait_drained_calls_drained(void **state)
{
	cond_script(1, (int[]){ -1 }, (const char *[]){ "blue is the active "
	    "pool: it will not drain (switch first)" });
	expect_reply(*state, "wait-drained blue 5", -1, "error: blue is the "
	    "active pool: it will not drain (switch first)\n\n");
	assert_string_equal(cond.fn, "drained");
	assert_string_equal(cond.pool, "blue");
}

static void
test_admin_wait_bad_seconds_usage(void **state)
{
	const char	*bad[] = { "abc", "-1", "86401", "1e3", "+5", "5s",
			    "999999999999999999999" };
	char		 line[80];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "wait-healthy green %s", bad[i]);
		expect_reply(*state, line, -1,
		    "error: usage: wait-healthy <pool> <seconds>\n\n");
	}
	expect_reply(*state, "wait-drained blue", -1,
	    "error: usage: wait-drained <pool> <seconds>\n\n");
	expect_reply(*state, "wait-drained blue 5 x", -1,
	    "error: usage: wait-drained <pool> <seconds>\n\n");
	/* the condition is not looked at for a usage error */
	assert_int_equal(cond.calls, 0);
}

static void
test_admin_wait_zero_seconds_not_yet_times_out_at_once(void **state)
{
	cond_script(1, (int[]){ 0 }, (const char *[]){ "green has 1 of 3 "
	    "members healthy, switch.min_healthy requires 3" });
	expect_reply(*state, "wait-healthy green 0", -1,
	    "error: timed out after 0 s: green has 1 of 3 members healthy, "
	    "switch.min_healthy requires 3\n\n");
	/* the limit itself is accepted */
	cond_script(1, (int[]){ 1 }, (const char *[]){ "green: ok" });
	expect_reply(*state, "wait-healthy green 86400", 0,
	    "ok\ngreen: ok\n\n");
}

static void
test_admin_run_wait_not_yet_pending_nothing_appended(void **state)
{
	struct fixture	*fx = *state;

	cond_script(1, (int[]){ 0 }, (const char *[]){ "green: 1 of 3" });
	assert_int_equal(run(fx, "wait-healthy green 10"), 1);
	assert_string_equal(fx->reply, "");
	assert_int_equal(cond.calls, 1);
}

static void
test_admin_noarg_commands_extra_argument_usage(void **state)
{
	expect_reply(*state, "rollback force now", -1,
	    "error: usage: rollback [force]\n\n");
	expect_reply(*state, "reload x", -1, "error: usage: reload\n\n");
	expect_reply(*state, "version 2", -1, "error: usage: version\n\n");
	expect_reply(*state, "help me", -1, "error: usage: help\n\n");
	expect_reply(*state, "quit now", -1, "error: usage: quit\n\n");
}

static void
test_admin_version_ok_reply(void **state)
{
	expect_reply(*state, "version", 0,
	    "ok\ncutover " PACKAGE_VERSION "\n\n");
}

static void
test_admin_quit_ok_reply(void **state)
{
	expect_reply(*state, "quit", 0, "ok\n\n");
}

static void
test_admin_help_lists_every_command(void **state)
{
	struct fixture	*fx = *state;
	const char	*usages[] = { "status [json]", "switch <pool> [force]",
			    "rollback [force]",
			    "member <pool> <host:port> ready|drain|maint",
			    "wait-healthy <pool> <seconds>",
			    "wait-drained <pool> <seconds>",
			    "reload", "version", "help", "quit" };
	const size_t	 ncmds = sizeof(usages) / sizeof(usages[0]);
	const char	*p;
	int		 lines = 0;

	assert_int_equal(run(fx, "help"), 0);
	assert_one_reply(fx->reply);
	assert_memory_equal(fx->reply, "ok\n", 3);
	for (size_t i = 0; i < ncmds; i++) {
		char	want[64];

		snprintf(want, sizeof(want), "\n%s ", usages[i]);
		assert_non_null(strstr(fx->reply, want));
	}
	for (p = fx->reply; *p != '\0'; p++)
		lines += *p == '\n';
	/* "ok", one line per command, the empty line */
	assert_int_equal(lines, 1 + ncmds + 1);
}

static void
test_admin_unknown_command_error(void **state)
{
	expect_reply(*state, "frobnicate blue", -1,
	    "error: unknown command 'frobnicate' (try 'help')\n\n");
	/* commands are case-sensitive and whole words */
	expect_reply(*state, "STATUS", -1,
	    "error: unknown command 'STATUS' (try 'help')\n\n");
}

static void
test_admin_unknown_command_binary_echo_sanitized(void **state)
{
	struct fixture	*fx = *state;

	assert_int_equal(run(fx, "\x01\x1b[2Jx\x7f"), -1);
	assert_string_equal(fx->reply,
	    "error: unknown command '??[2Jx?' (try 'help')\n\n");
}

static void
test_admin_empty_line_error(void **state)
{
	expect_reply(*state, "", -1, "error: empty command (try 'help')\n\n");
	expect_reply(*state, " \t \r", -1,
	    "error: empty command (try 'help')\n\n");
}

static void
test_admin_too_many_words_error(void **state)
{
	expect_reply(*state, "switch a b c d e f g", -1,
	    "error: usage: switch <pool> [force]\n\n");
	expect_reply(*state, "switch a b c d e f g h", -1,
	    "error: too many arguments\n\n");
}

static void
test_admin_tokenizer_tabs_spaces_cr(void **state)
{
	expect_string(__wrap_cutover_switch, pool, "green");
	expect_value(__wrap_cutover_switch, force, true);
	will_return(__wrap_cutover_switch, "switched");
	will_return(__wrap_cutover_switch, 0);
	expect_reply(*state, "\t switch  \t green\t\tforce  \r", 0,
	    "ok\nswitched\n\n");
}

static void
test_admin_line_too_long_error(void **state)
{
	char	*line = malloc(ADMIN_LINE_MAX + 2);

	assert_non_null(line);
	memset(line, 'x', ADMIN_LINE_MAX + 1);
	line[ADMIN_LINE_MAX + 1] = '\0';
	expect_reply(*state, line, -1, "error: line too long (max 4096 "
	    "bytes)\n\n");
	/* exactly the limit is a line, here an unknown command */
	line[ADMIN_LINE_MAX] = '\0';
	assert_int_equal(run(*state, line), -1);
	assert_non_null(strstr(((struct fixture *)*state)->reply,
	    "unknown command 'xxx"));
	free(line);
}

/* ------------------------------------------------- read-only gate tests */

static void
test_admin_readonly_state_changing_commands_refused(void **state)
{
	/* no mock is primed: a handler that ran would fail the test */
	expect_readonly_reply(*state, "switch green", -1,
	    "error: read-only socket: 'switch' changes state\n\n");
	expect_readonly_reply(*state, "switch green force", -1,
	    "error: read-only socket: 'switch' changes state\n\n");
	expect_readonly_reply(*state, "rollback", -1,
	    "error: read-only socket: 'rollback' changes state\n\n");
	expect_readonly_reply(*state, "member blue 127.0.0.1:9001 drain", -1,
	    "error: read-only socket: 'member' changes state\n\n");
	expect_readonly_reply(*state, "reload", -1,
	    "error: read-only socket: 'reload' changes state\n\n");
}

static void
test_admin_readonly_refused_whatever_the_arguments(void **state)
{
	/* refused before the usage check: the reply says nothing of arity */
	expect_readonly_reply(*state, "switch", -1,
	    "error: read-only socket: 'switch' changes state\n\n");
	expect_readonly_reply(*state, "reload now please", -1,
	    "error: read-only socket: 'reload' changes state\n\n");
}

static void
test_admin_readonly_reading_commands_run(void **state)
{
	struct fixture	*fx = *state;
	bool		 quit = false;

	expect_value(__wrap_status_report, json, true);
	will_return(__wrap_status_report, "{\"active\":\"blue\"}\n");
	expect_readonly_reply(fx, "status json", 0,
	    "ok\n{\"active\":\"blue\"}\n\n");
	expect_readonly_reply(fx, "version", 0,
	    "ok\ncutover " PACKAGE_VERSION "\n\n");
	cond_script(1, (int[]){ 1 }, (const char *[]){ "green: 3 of 3" });
	expect_readonly_reply(fx, "wait-healthy green 5", 0,
	    "ok\ngreen: 3 of 3\n\n");
	cond_script(1, (int[]){ 1 }, (const char *[]){ "blue: drained" });
	expect_readonly_reply(fx, "wait-drained blue 5", 0,
	    "ok\nblue: drained\n\n");
	evbuffer_drain(fx->out, evbuffer_get_length(fx->out));
	assert_int_equal(admin_cmd_exec(&fx->cx, "uid 7 pid 8",
	    ADMIN_ACCESS_READONLY, "quit", fx->out, &quit, NULL), 0);
	assert_true(quit);
}

static void
test_admin_readonly_help_lists_only_readers(void **state)
{
	struct fixture	*fx = *state;
	const char	*readers[] = { "status [json]",
			    "wait-healthy <pool> <seconds>",
			    "wait-drained <pool> <seconds>", "version", "help",
			    "quit" };
	const char	*writers[] = { "switch", "rollback", "member",
			    "reload" };
	const size_t	 nreaders = sizeof(readers) / sizeof(readers[0]);
	char		 want[64];
	const char	*p;
	int		 lines = 0;

	assert_int_equal(run_readonly(fx, "help"), 0);
	assert_one_reply(fx->reply);
	assert_memory_equal(fx->reply, "ok\n", 3);
	for (size_t i = 0; i < nreaders; i++) {
		snprintf(want, sizeof(want), "\n%s ", readers[i]);
		assert_non_null(strstr(fx->reply, want));
	}
	for (size_t i = 0; i < sizeof(writers) / sizeof(writers[0]); i++) {
		snprintf(want, sizeof(want), "\n%s ", writers[i]);
		assert_null(strstr(fx->reply, want));
	}
	for (p = fx->reply; *p != '\0'; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 1 + nreaders + 1);
}

static void
test_admin_readonly_unknown_command_usual_error(void **state)
{
	expect_readonly_reply(*state, "frobnicate blue", -1,
	    "error: unknown command 'frobnicate' (try 'help')\n\n");
	expect_readonly_reply(*state, "", -1,
	    "error: empty command (try 'help')\n\n");
}

static void
test_admin_readonly_usage_errors_of_readers_kept(void **state)
{
	expect_readonly_reply(*state, "status yaml", -1,
	    "error: usage: status [json]\n\n");
	expect_readonly_reply(*state, "wait-drained blue", -1,
	    "error: usage: wait-drained <pool> <seconds>\n\n");
}

/* --------------------------------------------------------- socket tests */

static int
setup_socket(void **state)
{
	struct fixture	*fx;
	char		 err[256];

	setup(state);
	fx = *state;
	assert_non_null(fx->cx.base = event_base_new());
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_admin.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	/* the socket's directory does not exist yet: admin_new makes it */
	snprintf(fx->sub, sizeof(fx->sub), "%s/run", fx->dir);
	snprintf(fx->path, sizeof(fx->path), "%s/admin.sock", fx->sub);
	fx->admin = admin_new(&fx->cx, fx->path, 0600, NULL,
	    ADMIN_ACCESS_FULL, err, sizeof(err));
	if (fx->admin == NULL)
		fail_msg("admin_new: %s", err);
	return (0);
}

static int
teardown_socket(void **state)
{
	struct fixture	*fx = *state;

	admin_free(fx->admin);
	unlink(fx->path);
	rmdir(fx->sub);
	rmdir(fx->dir);
	event_base_free(fx->cx.base);
	return (teardown(state));
}

static int
client_connect(struct fixture *fx)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", fx->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(fd != -1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return (fd);
}

static void
client_send(int fd, const void *data, size_t len)
{
	assert_int_equal(send(fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

/*
 * Runs the loop and reads from fd until want (if not NULL) has arrived,
 * or until EOF; gives up after two seconds.  Sets *eof when fd was closed.
 */
static char *
client_read(struct fixture *fx, int fd, const char *want, bool *eof)
{
	static char	buf[65536];
	size_t		len = 0;
	ssize_t		n;

	*eof = false;
	for (int i = 0; i < 2000; i++) {
		event_base_loop(fx->cx.base, EVLOOP_NONBLOCK);
		n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n > 0)
			len += (size_t)n;
		buf[len] = '\0';
		if (n == 0 || (n == -1 && errno != EAGAIN)) {
			*eof = true;
			break;
		}
		if (want != NULL && strstr(buf, want) != NULL)
			break;
		poll(NULL, 0, 1);
	}
	return (buf);
}

static void
test_admin_socket_made_with_mode_and_directory(void **state)
{
	struct fixture	*fx = *state;
	struct stat	 st;

	assert_int_equal(stat(fx->sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(lstat(fx->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void
test_admin_socket_in_use_refused(void **state)
{
	struct fixture	*fx = *state;
	char		 err[256], want[256];

	assert_null(admin_new(&fx->cx, fx->path, 0600, NULL,
	    ADMIN_ACCESS_FULL, err, sizeof(err)));
	snprintf(want, sizeof(want), "admin socket %s is in use by another "
	    "process", fx->path);
	assert_string_equal(err, want);
	/* the refusal left the live socket alone */
	assert_int_equal(access(fx->path, F_OK), 0);
}

static void
test_admin_socket_stale_replaced_and_removed_on_free(void **state)
{
	struct fixture		*fx = *state;
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	char			 err[256];
	int			 fd;

	admin_free(fx->admin);
	fx->admin = NULL;
	assert_int_equal(access(fx->path, F_OK), -1);
	/* a socket file nobody listens on, as a crash leaves it */
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", fx->path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	fx->admin = admin_new(&fx->cx, fx->path, 0600, NULL,
	    ADMIN_ACCESS_FULL, err, sizeof(err));
	assert_non_null(fx->admin);
}

static void
test_admin_socket_not_a_socket_refused(void **state)
{
	struct fixture	*fx = *state;
	char		 err[256], other[160];
	FILE		*f;

	snprintf(other, sizeof(other), "%s/file", fx->sub);
	assert_non_null(f = fopen(other, "w"));
	fclose(f);
	assert_null(admin_new(&fx->cx, other, 0600, NULL, ADMIN_ACCESS_FULL,
	    err, sizeof(err)));
	assert_non_null(strstr(err, "is not a socket"));
	assert_int_equal(access(other, F_OK), 0);
	unlink(other);
}

static void
test_admin_socket_pipelined_answered_in_order(void **state)
{
	struct fixture	*fx = *state;
	const char	 cmds[] = "version\nbogus\r\n\nversion\nquit\nversion\n";
	char		*r;
	bool		 eof;
	int		 fd = client_connect(fx);

	client_send(fd, cmds, sizeof(cmds) - 1);
	r = client_read(fx, fd, NULL, &eof);
	assert_true(eof);
	/* quit closed the connection: the last version was not run */
	assert_string_equal(r,
	    "ok\ncutover " PACKAGE_VERSION "\n\n"
	    "error: unknown command 'bogus' (try 'help')\n\n"
	    "error: empty command (try 'help')\n\n"
	    "ok\ncutover " PACKAGE_VERSION "\n\n"
	    "ok\n\n");
	close(fd);
}

static void
test_admin_socket_half_close_answers_last_line(void **state)
{
	struct fixture	*fx = *state;
	bool		 eof;
	int		 fd = client_connect(fx);

	/* no LF before EOF, as `printf version | nc -U` sends it */
	client_send(fd, "version", 7);
	shutdown(fd, SHUT_WR);
	assert_string_equal(client_read(fx, fd, NULL, &eof),
	    "ok\ncutover " PACKAGE_VERSION "\n\n");
	assert_true(eof);
	close(fd);
}

static void
test_admin_socket_long_line_error_then_closed(void **state)
{
	struct fixture	*fx = *state;
	char		 junk[ADMIN_LINE_MAX + 100];
	bool		 eof;
	int		 fd = client_connect(fx);

	memset(junk, 'x', sizeof(junk));
	client_send(fd, junk, sizeof(junk));
	assert_string_equal(client_read(fx, fd, NULL, &eof),
	    "error: line too long (max 4096 bytes)\n\n");
	assert_true(eof);
	close(fd);
}

static void
test_admin_socket_nul_byte_error_connection_kept(void **state)
{
	struct fixture	*fx = *state;
	const char	 cmds[] = "version\0rm\nversion\n";
	bool		 eof;
	int		 fd = client_connect(fx);

	client_send(fd, cmds, sizeof(cmds) - 1);
	assert_string_equal(client_read(fx, fd, "\n\nok\ncutover", &eof),
	    "error: NUL byte in command\n\n"
	    "ok\ncutover " PACKAGE_VERSION "\n\n");
	assert_false(eof);
	close(fd);
}

static void
test_admin_socket_too_many_clients_refused(void **state)
{
	struct fixture	*fx = *state;
	int		 fds[ADMIN_CLIENTS_MAX + 1];
	bool		 eof;

	for (int i = 0; i < ADMIN_CLIENTS_MAX; i++) {
		fds[i] = client_connect(fx);
		event_base_loop(fx->cx.base, EVLOOP_NONBLOCK);
	}
	fds[ADMIN_CLIENTS_MAX] = client_connect(fx);
	assert_string_equal(client_read(fx, fds[ADMIN_CLIENTS_MAX], NULL,
	    &eof), "error: too many admin clients (64 connected)\n\n");
	assert_true(eof);
	/* the ones admitted still work */
	client_send(fds[0], "version\n", 8);
	assert_string_equal(client_read(fx, fds[0], "\n\n", &eof),
	    "ok\ncutover " PACKAGE_VERSION "\n\n");
	for (int i = 0; i <= ADMIN_CLIENTS_MAX; i++)
		close(fds[i]);
}

static void
test_admin_socket_unread_replies_paused_then_all_answered(void **state)
{
	struct fixture	*fx = *state;
	enum { NCMDS = 5000 };
	static char	 cmds[NCMDS * 5 + 5], buf[1 << 16];
	size_t		 replies = 0, len = 0;
	ssize_t		 n;
	int		 fd = client_connect(fx);

	/* help answers ~100 times what it costs: the client never reads */
	for (size_t i = 0; i < NCMDS; i++)
		memcpy(cmds + i * 5, "help\n", 5);
	memcpy(cmds + NCMDS * 5, "quit\n", 5);
	client_send(fd, cmds, sizeof(cmds));
	for (int i = 0; i < 100; i++)
		event_base_loop(fx->cx.base, EVLOOP_NONBLOCK);
	/* now read: every command is answered once, in order, then EOF */
	for (int i = 0; i < 100000; i++) {
		event_base_loop(fx->cx.base, EVLOOP_NONBLOCK);
		n = recv(fd, buf + len, sizeof(buf) - len, 0);
		if (n == 0)
			break;
		if (n < 0) {
			assert_int_equal(errno, EAGAIN);
			continue;
		}
		len += (size_t)n;
		/* count whole replies, keep the unfinished one */
		for (char *p; (p = memmem(buf, len, "\n\n", 2)) != NULL;) {
			replies++;
			len -= (size_t)(p + 2 - buf);
			memmove(buf, p + 2, len);
		}
	}
	assert_int_equal(replies, NCMDS + 1);
	assert_int_equal(len, 0);
	close(fd);
}

/* A client that waits: the reply comes when the condition holds. */
static void
test_admin_socket_wait_deferred_then_pipelined_in_order(void **state)
{
	struct fixture	*fx = *state;
	const char	 cmds[] = "wait-healthy green 5\nversion\n";
	bool		 eof;
	int		 fd = client_connect(fx);

	cond_script(3, (int[]){ 0, 0, 1 }, (const char *[]){ "green: 1 of 3",
	    "green: 2 of 3", "green: 3 of 3 members healthy" });
	client_send(fd, cmds, sizeof(cmds) - 1);
	assert_string_equal(client_read(fx, fd, "\n\nok\ncutover", &eof),
	    "ok\ngreen: 3 of 3 members healthy\n\n"
	    "ok\ncutover " PACKAGE_VERSION "\n\n");
	assert_false(eof);
	assert_int_equal(cond.calls, 3);
	/* the connection reads on as before */
	client_send(fd, "version\n", 8);
	assert_string_equal(client_read(fx, fd, "\n\n", &eof),
	    "ok\ncutover " PACKAGE_VERSION "\n\n");
	close(fd);
}

static void
test_admin_socket_wait_never_error_reply(void **state)
{
	struct fixture	*fx = *state;
	bool		 eof;
	int		 fd = client_connect(fx);

	cond_script(2, (int[]){ 0, -1 }, (const char *[]){ "blue: 2 in flight",
	    "blue is the active pool: it will not drain (switch first)" });
	client_send(fd, "wait-drained blue 5\n", 20);
	assert_string_equal(client_read(fx, fd, "\n\n", &eof),
	    "error: blue is the active pool: it will not drain (switch "
	    "first)\n\n");
	assert_string_equal(cond.fn, "drained");
	close(fd);
}

static void
test_admin_socket_wait_timeout_error_reply(void **state)
{
	struct fixture	*fx = *state;
	struct timespec	 t0, t1;
	double		 s;
	bool		 eof;
	int		 fd = client_connect(fx);

	cond_script(1, (int[]){ 0 }, (const char *[]){ "blue has 2 "
	    "request(s) in flight" });
	clock_gettime(CLOCK_MONOTONIC, &t0);
	client_send(fd, "wait-drained blue 1\nversion\n", 28);
	assert_string_equal(client_read(fx, fd, "\n\nok\ncutover", &eof),
	    "error: timed out after 1 s: blue has 2 request(s) in flight\n\n"
	    "ok\ncutover " PACKAGE_VERSION "\n\n");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(s >= 0.95 && s < 1.8);
	/* checked about every 50 ms meanwhile */
	assert_true(cond.calls >= 10 && cond.calls <= 25);
	close(fd);
}

static void
test_admin_socket_wait_half_close_answered_then_closed(void **state)
{
	struct fixture	*fx = *state;
	bool		 eof;
	int		 fd = client_connect(fx);

	/* `printf 'wait-healthy green 5' | nc -U` sends EOF and waits */
	cond_script(2, (int[]){ 0, 1 }, (const char *[]){ "green: 1 of 3",
	    "green: 3 of 3" });
	client_send(fd, "wait-healthy green 5", 20);
	shutdown(fd, SHUT_WR);
	assert_string_equal(client_read(fx, fd, NULL, &eof),
	    "ok\ngreen: 3 of 3\n\n");
	assert_true(eof);
	close(fd);
}

static void
test_admin_socket_wait_client_gone_freed_no_more_checks(void **state)
{
	struct fixture	*fx = *state;
	int		 fd = client_connect(fx), calls;

	cond_script(1, (int[]){ 0 }, (const char *[]){ "green: 1 of 3" });
	client_send(fd, "wait-healthy green 30\nversion\n", 30);
	for (int i = 0; i < 120; i++) {
		event_base_loop(fx->cx.base, EVLOOP_NONBLOCK);
		poll(NULL, 0, 1);
	}
	assert_true(cond.calls >= 2);
	close(fd);
	for (int i = 0; i < 60; i++) {
		event_base_loop(fx->cx.base, EVLOOP_NONBLOCK);
		poll(NULL, 0, 1);
	}
	/* the timer is gone with the client (leaks: run under valgrind) */
	calls = cond.calls;
	for (int i = 0; i < 200; i++) {
		event_base_loop(fx->cx.base, EVLOOP_NONBLOCK);
		poll(NULL, 0, 1);
	}
	assert_int_equal(cond.calls, calls);
}

static void
test_admin_socket_waiting_clients_freed_by_admin_free(void **state)
{
	struct fixture	*fx = *state;
	int		 fds[3];

	cond_script(1, (int[]){ 0 }, (const char *[]){ "green: 1 of 3" });
	for (int i = 0; i < 3; i++) {
		fds[i] = client_connect(fx);
		client_send(fds[i], "wait-healthy green 60\n", 22);
	}
	for (int i = 0; i < 100; i++) {
		event_base_loop(fx->cx.base, EVLOOP_NONBLOCK);
		poll(NULL, 0, 1);
	}
	assert_true(cond.calls >= 3);
	/* teardown's admin_free() frees them, their timers and their waits */
	for (int i = 0; i < 3; i++)
		close(fds[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
#define S(f)	cmocka_unit_test_setup_teardown(f, setup_socket, \
		    teardown_socket)
		T(test_admin_status_ok_body_from_status),
		T(test_admin_status_json_passes_json),
		T(test_admin_status_empty_lines_in_body_dropped),
		T(test_admin_status_bad_argument_usage),
		T(test_admin_switch_ok_reply),
		T(test_admin_switch_force_passes_force),
		T(test_admin_switch_bad_third_word_usage),
		T(test_admin_switch_arity_usage),
		T(test_admin_switch_refused_error_reply),
		T(test_admin_reload_multiline_error_first_line_is_reason),
		T(test_admin_reload_ok_reply),
		T(test_admin_rollback_ok_and_error),
		T(test_admin_rollback_force_passes_force),
		T(test_admin_rollback_bad_word_usage),
		T(test_admin_member_each_state_passed),
		T(test_admin_member_unknown_member_error_reply),
		T(test_admin_member_bad_state_usage),
		T(test_admin_member_arity_usage),
		T(test_admin_wait_healthy_holds_ok_at_once),
		T(test_admin_wait_healthy_never_error_at_once),
		T(test_admin_wait_drained_calls_drained),
		T(test_admin_wait_bad_seconds_usage),
		T(test_admin_wait_zero_seconds_not_yet_times_out_at_once),
		T(test_admin_run_wait_not_yet_pending_nothing_appended),
		T(test_admin_noarg_commands_extra_argument_usage),
		T(test_admin_version_ok_reply),
		T(test_admin_quit_ok_reply),
		T(test_admin_help_lists_every_command),
		T(test_admin_unknown_command_error),
		T(test_admin_unknown_command_binary_echo_sanitized),
		T(test_admin_empty_line_error),
		T(test_admin_too_many_words_error),
		T(test_admin_tokenizer_tabs_spaces_cr),
		T(test_admin_line_too_long_error),
		T(test_admin_readonly_state_changing_commands_refused),
		T(test_admin_readonly_refused_whatever_the_arguments),
		T(test_admin_readonly_reading_commands_run),
		T(test_admin_readonly_help_lists_only_readers),
		T(test_admin_readonly_unknown_command_usual_error),
		T(test_admin_readonly_usage_errors_of_readers_kept),
		S(test_admin_socket_made_with_mode_and_directory),
		S(test_admin_socket_in_use_refused),
		S(test_admin_socket_stale_replaced_and_removed_on_free),
		S(test_admin_socket_not_a_socket_refused),
		S(test_admin_socket_pipelined_answered_in_order),
		S(test_admin_socket_half_close_answers_last_line),
		S(test_admin_socket_long_line_error_then_closed),
		S(test_admin_socket_nul_byte_error_connection_kept),
		S(test_admin_socket_too_many_clients_refused),
		S(test_admin_socket_unread_replies_paused_then_all_answered),
		S(test_admin_socket_wait_deferred_then_pipelined_in_order),
		S(test_admin_socket_wait_never_error_reply),
		S(test_admin_socket_wait_timeout_error_reply),
		S(test_admin_socket_wait_half_close_answered_then_closed),
		S(test_admin_socket_wait_client_gone_freed_no_more_checks),
		S(test_admin_socket_waiting_clients_freed_by_admin_free),
#undef T
#undef S
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
