/*
 * test_admin_cmd.c — the admin command table (src/admin_cmd.c): parsing,
 * arity and usage, help generated from the table, each handler's reply,
 * the read-only gate, and admin_run(), its in-process face.  No socket:
 * test_admin.c runs the same lines through the admin socket.
 *
 * The root context's operations are the fake of tests/fake_cutover.h
 * (linked with ADMIN_WRAP): each test scripts the answers it needs and
 * checks the arguments the handler passed; a call no test scripted fails
 * the test.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <event2/buffer.h>

#include "admin.h"
#include "admin_cmd.h"
#include "cutover.h"
#include "log.h"

#include "../fake_cutover.h"

/* ------------------------------------------------------------- helpers */

struct fixture {
	struct cutover	 cx;
	struct evbuffer	*out;
	char		*reply;		/* last reply, NUL-terminated */
};

/* An operation of the root context that the test did not script. */
static void
unexpected(const char *op)
{
	fail_msg("unexpected call of the root context's %s", op);
}

static int
setup(void **state)
{
	struct fixture	*fx;

	log_set_level(LL_ERROR);
	fake_reset();
	fake.unexpected = unexpected;
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

/* Copies out into fx->reply, NUL-terminated. */
static void
take_reply(struct fixture *fx)
{
	size_t	len = evbuffer_get_length(fx->out);

	free(fx->reply);
	fx->reply = malloc(len + 1);
	assert_non_null(fx->reply);
	evbuffer_copyout(fx->out, fx->reply, len);
	fx->reply[len] = '\0';
}

/* Runs line; returns admin_run()'s result, the reply is in fx->reply. */
static int
run(struct fixture *fx, const char *line)
{
	int	rc;

	evbuffer_drain(fx->out, evbuffer_get_length(fx->out));
	rc = admin_run(&fx->cx, line, fx->out);
	take_reply(fx);
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
	int	rc;

	evbuffer_drain(fx->out, evbuffer_get_length(fx->out));
	rc = admin_cmd_exec(&fx->cx, "uid 7 pid 8", ADMIN_ACCESS_READONLY,
	    line, fx->out, NULL, NULL);
	take_reply(fx);
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

/* No operation of the root context was called. */
static void
assert_no_calls(void)
{
	assert_int_equal(fake_changes(), 0);
	assert_int_equal(fake.status.calls + fake.metrics.calls, 0);
	assert_int_equal(fake.healthy.calls + fake.drained.calls, 0);
}

/* --------------------------------------------------------------- status */

static void
test_admin_cmd_status_ok_body_from_status(void **state)
{
	fake.status_text = "active blue\npools 2\n";
	expect_reply(*state, "status", 0, "ok\nactive blue\npools 2\n\n");
	assert_int_equal(fake.status.calls, 1);
	assert_false(fake.status.json);
}

static void
test_admin_cmd_status_json_passes_json(void **state)
{
	/* no text report scripted: asking for one fails the test */
	fake.status_json = "{\"active\":\"blue\"}\n";
	expect_reply(*state, "status json", 0, "ok\n{\"active\":\"blue\"}\n\n");
	assert_int_equal(fake.status.calls, 1);
	assert_true(fake.status.json);
}

static void
test_admin_cmd_status_empty_lines_in_body_dropped(void **state)
{
	fake.status_text = "a\n\n\nb";
	expect_reply(*state, "status", 0, "ok\na\nb\n\n");
	assert_false(fake.status.json);
}

static void
test_admin_cmd_status_bad_argument_usage(void **state)
{
	expect_reply(*state, "status yaml", -1,
	    "error: usage: status [json]\n\n");
	expect_reply(*state, "status json json", -1,
	    "error: usage: status [json]\n\n");
	assert_no_calls();
}

/* -------------------------------------------------------------- metrics */

static void
test_admin_cmd_metrics_ok_body_from_status_metrics(void **state)
{
	fake.metrics_text = "# TYPE cutover_generation gauge\n"
	    "cutover_generation 3\n";
	expect_reply(*state, "metrics", 0, "ok\n# TYPE cutover_generation "
	    "gauge\ncutover_generation 3\n\n");
	assert_int_equal(fake.metrics.calls, 1);
	assert_int_equal(fake.status.calls, 0);
}

static void
test_admin_cmd_metrics_argument_usage(void **state)
{
	expect_reply(*state, "metrics json", -1,
	    "error: usage: metrics\n\n");
	assert_no_calls();
}

static void
test_admin_cmd_metrics_readonly_runs(void **state)
{
	fake.metrics_text = "cutover_generation 1\n";
	expect_readonly_reply(*state, "metrics", 0,
	    "ok\ncutover_generation 1\n\n");
	assert_int_equal(fake.metrics.calls, 1);
}

/* --------------------------------------------------------------- switch */

static void
test_admin_cmd_switch_ok_reply(void **state)
{
	fake_answer(&fake.sw, 0, "switched blue -> green");
	expect_reply(*state, "switch green", 0,
	    "ok\nswitched blue -> green\n\n");
	assert_int_equal(fake.sw.calls, 1);
	assert_string_equal(fake.sw.pool, "green");
	assert_false(fake.sw.force);
}

static void
test_admin_cmd_switch_force_passes_force(void **state)
{
	fake_answer(&fake.sw, 0, "switched blue -> green (forced)");
	expect_reply(*state, "switch green force", 0,
	    "ok\nswitched blue -> green (forced)\n\n");
	assert_int_equal(fake.sw.calls, 1);
	assert_string_equal(fake.sw.pool, "green");
	assert_true(fake.sw.force);
}

static void
test_admin_cmd_switch_bad_third_word_usage(void **state)
{
	/* no answer is scripted: a call of cutover_switch fails the test */
	expect_reply(*state, "switch green now", -1,
	    "error: usage: switch <pool> [force] [at <unix-ms>] [gen <n>] [guard <seconds>]\n\n");
	assert_no_calls();
}

static void
test_admin_cmd_switch_arity_usage(void **state)
{
	expect_reply(*state, "switch", -1,
	    "error: usage: switch <pool> [force] [at <unix-ms>] [gen <n>] [guard <seconds>]\n\n");
	expect_reply(*state, "switch green force force", -1,
	    "error: usage: switch <pool> [force] [at <unix-ms>] [gen <n>] [guard <seconds>]\n\n");
	assert_no_calls();
}

/* at and gen, in any order, reach cutover_switch_gen; a plain switch
 * does not. */
static void
test_admin_cmd_switch_at_gen_passed(void **state)
{
	struct fixture	*fx = *state;
	char		 line[128];
	long long	 at = cutover_now_ms() + 5000;

	fake_answer(&fake.sw_gen, 0, "switch to green scheduled");
	snprintf(line, sizeof(line), "switch green gen 7 at %lld force", at);
	expect_reply(fx, line, 0, "ok\nswitch to green scheduled\n\n");
	assert_int_equal(fake.sw_gen.calls, 1);
	assert_string_equal(fake.sw_gen.pool, "green");
	assert_true(fake.sw_gen.force);
	assert_true(fake.sw_gen.at_ms == at);
	assert_true(fake.sw_gen.gen == 7);
	expect_reply(fx, "switch blue gen 8", 0,
	    "ok\nswitch to green scheduled\n\n");
	assert_true(fake.sw_gen.at_ms == 0);
	assert_true(fake.sw_gen.gen == 8);
	/* the largest generation a configuration file can declare */
	expect_reply(fx, "switch blue gen 2147483647", 0,
	    "ok\nswitch to green scheduled\n\n");
	assert_true(fake.sw_gen.gen == 2147483647);
	assert_int_equal(fake.sw_gen.guard, -1);
	assert_int_equal(fake.sw.calls, 0);
}

/* guard S reaches cutover_switch_gen, 0 too (no guard for this one);
 * a bad number is a usage error that reaches nothing. */
static void
test_admin_cmd_switch_guard(void **state)
{
	struct fixture	*fx = *state;
	const char	*bad[] = { "x", "-1", "3601", "999999", "5s" };
	char		 line[128];

	fake_answer(&fake.sw_gen, 0, "green (was blue)");
	expect_reply(fx, "switch green guard 30", 0,
	    "ok\ngreen (was blue)\n\n");
	assert_int_equal(fake.sw_gen.guard, 30);
	assert_true(fake.sw_gen.at_ms == 0 && fake.sw_gen.gen == 0);
	expect_reply(fx, "switch green force guard 0 gen 3", 0,
	    "ok\ngreen (was blue)\n\n");
	assert_int_equal(fake.sw_gen.guard, 0);
	assert_true(fake.sw_gen.force && fake.sw_gen.gen == 3);
	assert_int_equal(fake.sw_gen.calls, 2);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "switch green guard %s", bad[i]);
		assert_int_equal(run(fx, line), -1);
	}
	expect_reply(fx, "switch green guard 5 guard 6", -1,
	    "error: usage: switch <pool> [force] [at <unix-ms>] [gen <n>] "
	    "[guard <seconds>]\n\n");
	assert_int_equal(fake.sw_gen.calls, 2);
	assert_int_equal(fake.sw.calls, 0);
}

/* An instant past or beyond the window, or a bad number, is a usage
 * error that reaches nothing. */
static void
test_admin_cmd_switch_at_bad_usage(void **state)
{
	struct fixture	*fx = *state;
	char		 line[128];
	const char	*bad[] = { "switch green at", "switch green at x",
	    "switch green at -5", "switch green at 0",
	    "switch green gen", "switch green gen 5 gen 6",
	    "switch green at 1 at 2" };
	/* one range for a generation: the configuration's and the state
	 * file's, 1..2147483647 */
	const char	*big[] = { "0", "2147483648", "99999999999999999999",
	    "999999999999999999", "02147483647" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_reply(fx, bad[i], -1, "error: usage: switch <pool> [force] [at <unix-ms>] [gen <n>] [guard <seconds>]\n\n");
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		snprintf(line, sizeof(line), "switch green gen %s", big[i]);
		assert_int_equal(run(fx, line), -1);
		snprintf(line, sizeof(line), "error: usage: gen %s: a generation "
		    "is a number from 1 to 2147483647\n\n", big[i]);
		assert_string_equal(fx->reply, line);
	}
	assert_int_equal(fake.sw_gen.calls, 0);
	snprintf(line, sizeof(line), "switch green at %lld",
	    cutover_now_ms() - 1);
	assert_int_equal(run(fx, line), -1);
	assert_non_null(strstr(fx->reply, "error: usage: at "));
	assert_non_null(strstr(fx->reply, "is past"));
	snprintf(line, sizeof(line), "switch green at %lld",
	    cutover_now_ms() + CUTOVER_SCHED_MAX_MS + 5000);
	assert_int_equal(run(fx, line), -1);
	assert_non_null(strstr(fx->reply, "too far ahead"));
	assert_no_calls();
}

static void
test_admin_cmd_cancel_passed(void **state)
{
	fake_answer(&fake.cancel, 0, "nothing scheduled");
	expect_reply(*state, "cancel", 0, "ok\nnothing scheduled\n\n");
	assert_int_equal(fake.cancel.calls, 1);
	expect_reply(*state, "cancel now", -1, "error: usage: cancel\n\n");
	assert_int_equal(fake.cancel.calls, 1);
}

static void
test_admin_cmd_switch_refused_error_reply(void **state)
{
	fake_answer(&fake.sw, -1, "green has 0 healthy members (1 needed)");
	expect_reply(*state, "switch green", -1,
	    "error: green has 0 healthy members (1 needed)\n\n");
	assert_int_equal(fake.sw.calls, 1);
	assert_string_equal(fake.sw.pool, "green");
	assert_false(fake.sw.force);
}

/* --------------------------------------------------------------- reload */

static void
test_admin_cmd_reload_multiline_error_first_line_is_reason(void **state)
{
	fake_answer(&fake.reload, -1, "cutover.conf:3: bad pool\n\n"
	    "cutover.conf:9: bad port\n");
	expect_reply(*state, "reload", -1, "error: cutover.conf:3: bad pool\n"
	    "cutover.conf:9: bad port\n\n");
	assert_int_equal(fake.reload.calls, 1);
}

static void
test_admin_cmd_reload_ok_reply(void **state)
{
	fake_answer(&fake.reload, 0, "reloaded /etc/cutover.conf");
	expect_reply(*state, "reload", 0, "ok\nreloaded /etc/cutover.conf\n\n");
	assert_int_equal(fake.reload.calls, 1);
}

/* ---------------------------------------------------------------- shift */

static void
test_admin_cmd_shift_args(void **state)
{
	fake_script(&fake.shift, 3, (int[]){ 0, 0, -1 },
	    (const char *[]){ "shifted 10% to green (was 0%)",
	    "shift ended: all to blue", "refused: green has 0 of 1 members "
	    "healthy" });
	expect_reply(*state, "shift green 10", 0,
	    "ok\nshifted 10% to green (was 0%)\n\n");
	assert_string_equal(fake.shift.pool, "green");
	assert_int_equal(fake.shift.percent, 10);
	assert_false(fake.shift.force);
	expect_reply(*state, "shift green 0", 0,
	    "ok\nshift ended: all to blue\n\n");
	assert_int_equal(fake.shift.percent, 0);
	expect_reply(*state, "shift green 100 force", -1,
	    "error: refused: green has 0 of 1 members healthy\n\n");
	assert_int_equal(fake.shift.percent, 100);
	assert_true(fake.shift.force);
	assert_int_equal(fake.shift.calls, 3);
}

static void
test_admin_cmd_shift_bad_args(void **state)
{
	const char	*bad[] = { "shift green 101", "shift green -1",
			    "shift green 1000", "shift green 10%",
			    "shift green ten", "shift green 007x" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(run(*state, bad[i]), -1);
		assert_non_null(strstr(((struct fixture *)*state)->reply,
		    "error: usage: percent "));
	}
	assert_int_equal(run(*state, "shift purple 10"), -1);
	assert_int_equal(run(*state, "shift green 10 now"), -1);
	assert_int_equal(run(*state, "shift green"), -1);
	assert_int_equal(fake.shift.calls, 0);
}

/* ------------------------------------------------------------- rollback */

static void
test_admin_cmd_rollback_ok_and_error(void **state)
{
	fake_script(&fake.rollback, 3, (int[]){ 0, -1, -1 },
	    (const char *[]){ "switched green -> blue", "no previous pool",
	    "" });
	expect_reply(*state, "rollback", 0, "ok\nswitched green -> blue\n\n");
	assert_false(fake.rollback.force);
	expect_reply(*state, "rollback", -1, "error: no previous pool\n\n");
	assert_false(fake.rollback.force);
	expect_reply(*state, "rollback", -1, "error: failed\n\n");
	assert_false(fake.rollback.force);
	assert_int_equal(fake.rollback.calls, 3);
}

static void
test_admin_cmd_rollback_force_passes_force(void **state)
{
	fake_answer(&fake.rollback, 0, "switched green -> blue (forced)");
	expect_reply(*state, "rollback force", 0,
	    "ok\nswitched green -> blue (forced)\n\n");
	assert_int_equal(fake.rollback.calls, 1);
	assert_true(fake.rollback.force);
}

static void
test_admin_cmd_rollback_bad_word_usage(void **state)
{
	/* no answer is scripted: a call of cutover_rollback fails the test */
	expect_reply(*state, "rollback now", -1,
	    "error: usage: rollback [force]\n\n");
	expect_reply(*state, "rollback FORCE", -1,
	    "error: usage: rollback [force]\n\n");
	assert_no_calls();
}

/* --------------------------------------------------------------- member */

static void
test_admin_cmd_member_each_state_passed(void **state)
{
	const char	*states[] = { "ready", "drain", "maint" };
	char		 line[80];

	fake_answer(&fake.member, 0, "blue 127.0.0.1:9001: ready -> x");
	for (size_t i = 0; i < 3; i++) {
		snprintf(line, sizeof(line), "member blue 127.0.0.1:9001 %s",
		    states[i]);
		expect_reply(*state, line, 0,
		    "ok\nblue 127.0.0.1:9001: ready -> x\n\n");
		assert_int_equal(fake.member.calls, (int)i + 1);
		assert_string_equal(fake.member.pool, "blue");
		assert_string_equal(fake.member.addr, "127.0.0.1:9001");
		assert_string_equal(fake.member.state, states[i]);
	}
}

static void
test_admin_cmd_member_unknown_member_error_reply(void **state)
{
	fake_answer(&fake.member, -1, "blue has no member 10.0.0.9:80");
	expect_reply(*state, "member blue 10.0.0.9:80 drain", -1,
	    "error: blue has no member 10.0.0.9:80\n\n");
	assert_int_equal(fake.member.calls, 1);
	assert_string_equal(fake.member.pool, "blue");
	assert_string_equal(fake.member.addr, "10.0.0.9:80");
	assert_string_equal(fake.member.state, "drain");
}

static void
test_admin_cmd_member_bad_state_usage(void **state)
{
	/* no answer is scripted: a call of cutover_member fails the test */
	expect_reply(*state, "member blue 127.0.0.1:9001 down", -1,
	    "error: usage: member <pool> <host:port> ready|drain|maint "
	    "[force]\n\n");
	expect_reply(*state, "member blue 127.0.0.1:9001 READY", -1,
	    "error: usage: member <pool> <host:port> ready|drain|maint "
	    "[force]\n\n");
	assert_no_calls();
}

static void
test_admin_cmd_member_arity_usage(void **state)
{
	expect_reply(*state, "member", -1,
	    "error: usage: member <pool> <host:port> ready|drain|maint "
	    "[force]\n\n");
	expect_reply(*state, "member blue 127.0.0.1:9001", -1,
	    "error: usage: member <pool> <host:port> ready|drain|maint "
	    "[force]\n\n");
	expect_reply(*state, "member blue 127.0.0.1:9001 drain force now", -1,
	    "error: usage: member <pool> <host:port> ready|drain|maint "
	    "[force]\n\n");
	assert_no_calls();
}

/* ---------------------------------------------------------------- wait-* */

static void
test_admin_cmd_wait_healthy_holds_ok_at_once(void **state)
{
	fake_answer(&fake.healthy, 1, "green: 3 of 3 members healthy");
	expect_reply(*state, "wait-healthy green 10", 0,
	    "ok\ngreen: 3 of 3 members healthy\n\n");
	assert_string_equal(fake.healthy.pool, "green");
	assert_int_equal(fake.healthy.calls, 1);
	assert_int_equal(fake.drained.calls, 0);
}

static void
test_admin_cmd_wait_healthy_never_error_at_once(void **state)
{
	fake_answer(&fake.healthy, -1, "green cannot be healthy");
	expect_reply(*state, "wait-healthy green 10", -1,
	    "error: green cannot be healthy\n\n");
	assert_int_equal(fake.healthy.calls, 1);
	assert_string_equal(fake.healthy.pool, "green");
}

static void
test_admin_cmd_wait_unknown_pool_usage_not_asked(void **state)
{
	/* no answer is scripted: a call of cutover_healthy fails the test */
	expect_reply(*state, "wait-healthy red 10", -1,
	    "error: usage: no pool named 'red' (pools: blue, green)\n\n");
	expect_reply(*state, "wait-drained bleu 10", -1,
	    "error: usage: no pool named 'bleu' (did you mean 'blue'?)\n\n");
	assert_int_equal(fake.healthy.calls + fake.drained.calls, 0);
}

static void
test_admin_cmd_wait_drained_calls_drained(void **state)
{
	fake_answer(&fake.drained, -1, "blue is the active pool: it will not "
	    "drain (switch first)");
	expect_reply(*state, "wait-drained blue 5", -1, "error: blue is the "
	    "active pool: it will not drain (switch first)\n\n");
	assert_int_equal(fake.drained.calls, 1);
	assert_int_equal(fake.healthy.calls, 0);
	assert_string_equal(fake.drained.pool, "blue");
}

static void
test_admin_cmd_wait_bad_seconds_usage(void **state)
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
	assert_no_calls();
}

static void
test_admin_cmd_wait_zero_seconds_not_yet_times_out_at_once(void **state)
{
	fake_answer(&fake.healthy, 0, "green has 1 of 3 members healthy, "
	    "switch.min_healthy requires 3");
	expect_reply(*state, "wait-healthy green 0", -1,
	    "error: timeout: after 0 s: green has 1 of 3 members healthy, "
	    "switch.min_healthy requires 3\n\n");
	/* the limit itself is accepted */
	fake_answer(&fake.healthy, 1, "green: ok");
	expect_reply(*state, "wait-healthy green 86400", 0,
	    "ok\ngreen: ok\n\n");
}

static void
test_admin_run_wait_not_yet_pending_nothing_appended(void **state)
{
	struct fixture	*fx = *state;

	fake_answer(&fake.healthy, 0, "green: 1 of 3");
	assert_int_equal(run(fx, "wait-healthy green 10"), 1);
	assert_string_equal(fx->reply, "");
	assert_int_equal(fake.healthy.calls, 1);
}

/* ---------------------------------------------------- the other commands */

static void
test_admin_cmd_noarg_commands_extra_argument_usage(void **state)
{
	expect_reply(*state, "rollback force now", -1,
	    "error: usage: rollback [force]\n\n");
	expect_reply(*state, "reload x", -1, "error: usage: reload\n\n");
	expect_reply(*state, "version 2", -1, "error: usage: version\n\n");
	expect_reply(*state, "help me now", -1,
	    "error: usage: help [command]\n\n");
	expect_reply(*state, "quit now", -1, "error: usage: quit\n\n");
}

static void
test_admin_cmd_version_ok_reply(void **state)
{
	expect_reply(*state, "version", 0,
	    "ok\ncutover " PACKAGE_VERSION "\n\n");
}

static void
test_admin_cmd_quit_ok_reply(void **state)
{
	expect_reply(*state, "quit", 0, "ok\n\n");
}

static void
test_admin_cmd_help_lists_every_command(void **state)
{
	struct fixture	*fx = *state;
	const char	*usages[] = { "status [json]",
			    "switch <pool> [force] [at <unix-ms>] [gen <n>] "
			    "[guard <seconds>]",
			    "cancel",
			    "rollback [force]",
			    "shift <pool> <percent> [force]",
			    "member <pool> <host:port> ready|drain|maint "
			    "[force]",
			    "wait-healthy <pool> <seconds>",
			    "wait-drained <pool> <seconds>",
			    "reload", "version", "help [command]", "quit",
			    "metrics" };
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
test_admin_cmd_unknown_command_error(void **state)
{
	expect_reply(*state, "frobnicate blue", -1,
	    "error: usage: unknown command 'frobnicate' (try 'help')\n\n");
	/* commands are case-sensitive and whole words */
	expect_reply(*state, "STATUS", -1,
	    "error: usage: unknown command 'STATUS' (did you mean "
	    "'status'?)\n\n");
}

static void
test_admin_cmd_unknown_command_binary_echo_sanitized(void **state)
{
	struct fixture	*fx = *state;

	assert_int_equal(run(fx, "\x01\x1b[2Jx\x7f"), -1);
	assert_string_equal(fx->reply,
	    "error: usage: unknown command '??[2Jx?' (try 'help')\n\n");
}

static void
test_admin_cmd_empty_line_error(void **state)
{
	expect_reply(*state, "", -1, "error: usage: empty command (try 'help')\n\n");
	expect_reply(*state, " \t \r", -1,
	    "error: usage: empty command (try 'help')\n\n");
}

static void
test_admin_cmd_too_many_words_error(void **state)
{
	expect_reply(*state, "switch a b c d e f g", -1,
	    "error: usage: switch <pool> [force] [at <unix-ms>] [gen <n>] [guard <seconds>]\n\n");
	expect_reply(*state, "switch a b c d e f g h", -1,
	    "error: usage: too many arguments\n\n");
}

static void
test_admin_cmd_tokenizer_tabs_spaces_cr(void **state)
{
	fake_answer(&fake.sw, 0, "switched");
	expect_reply(*state, "\t switch  \t green\t\tforce  \r", 0,
	    "ok\nswitched\n\n");
	assert_int_equal(fake.sw.calls, 1);
	assert_string_equal(fake.sw.pool, "green");
	assert_true(fake.sw.force);
}

static void
test_admin_cmd_line_too_long_error(void **state)
{
	char	*line = malloc(ADMIN_LINE_MAX + 2);

	assert_non_null(line);
	memset(line, 'x', ADMIN_LINE_MAX + 1);
	line[ADMIN_LINE_MAX + 1] = '\0';
	expect_reply(*state, line, -1, "error: usage: line too long (max "
	    "4096 "
	    "bytes)\n\n");
	/* exactly the limit is a line, here an unknown command */
	line[ADMIN_LINE_MAX] = '\0';
	assert_int_equal(run(*state, line), -1);
	assert_non_null(strstr(((struct fixture *)*state)->reply,
	    "unknown command 'xxx"));
	free(line);
}

/* ------------------------------------------- error classes, did you mean */

static void
test_admin_cmd_switch_unknown_pool_usage_suggests(void **state)
{
	/* no answer is scripted: a call of cutover_switch fails the test */
	expect_reply(*state, "switch gren", -1,
	    "error: usage: no pool named 'gren' (did you mean 'green'?)\n\n");
	expect_reply(*state, "switch purple force", -1,
	    "error: usage: no pool named 'purple' (pools: blue, green)\n\n");
	expect_reply(*state, "member red 127.0.0.1:9001 drain", -1,
	    "error: usage: no pool named 'red' (pools: blue, green)\n\n");
	assert_no_calls();
}

static void
test_admin_cmd_unknown_command_suggests_closest(void **state)
{
	expect_reply(*state, "swtich green", -1,
	    "error: usage: unknown command 'swtich' (did you mean "
	    "'switch'?)\n\n");
	expect_reply(*state, "rolback", -1,
	    "error: usage: unknown command 'rolback' (did you mean "
	    "'rollback'?)\n\n");
	assert_no_calls();
}

static void
test_admin_cmd_help_command_prints_its_usage(void **state)
{
	expect_reply(*state, "help switch", 0, "ok\nusage: switch <pool> "
	    "[force] [at <unix-ms>] [gen <n>] [guard <seconds>]\nsend new "
	    "requests to pool (force: even if unhealthy; at: at that "
	    "wall-clock instant, within 60 s; gen: the release generation it "
	    "makes; guard: roll back by itself if pool fails within that "
	    "many seconds, 0: not)\n\n");
	expect_reply(*state, "help swich", -1, "error: usage: unknown command "
	    "'swich' (did you mean 'switch'?)\n\n");
	assert_no_calls();
}

static void
test_admin_cmd_switch_rollback_pass_the_peer(void **state)
{
	struct fixture	*fx = *state;

	fake_answer(&fake.sw, 0, "green (was blue), generation 2");
	fake_answer(&fake.rollback, 0, "blue (was green), generation 3");
	assert_int_equal(admin_cmd_exec(&fx->cx, "uid 7 pid 8",
	    ADMIN_ACCESS_FULL, "switch green", fx->out, NULL, NULL), 0);
	assert_string_equal(fake.sw.by, "uid 7 pid 8");
	assert_int_equal(admin_cmd_exec(&fx->cx, "uid 9 pid 10",
	    ADMIN_ACCESS_FULL, "rollback", fx->out, NULL, NULL), 0);
	assert_string_equal(fake.rollback.by, "uid 9 pid 10");
	/* admin_run() has no peer */
	expect_reply(fx, "switch green", 0,
	    "ok\ngreen (was blue), generation 2\n\n");
	assert_string_equal(fake.sw.by, "(null)");
}

static void
test_admin_cmd_member_force_passes_force(void **state)
{
	fake_answer(&fake.member, 0, "blue 127.0.0.1:9001: ready -> maint");
	expect_reply(*state, "member blue 127.0.0.1:9001 maint force", 0,
	    "ok\nblue 127.0.0.1:9001: ready -> maint\n\n");
	assert_true(fake.member.force);
	expect_reply(*state, "member blue 127.0.0.1:9001 maint", 0,
	    "ok\nblue 127.0.0.1:9001: ready -> maint\n\n");
	assert_false(fake.member.force);
	expect_reply(*state, "member blue 127.0.0.1:9001 maint --force", -1,
	    "error: usage: member <pool> <host:port> ready|drain|maint "
	    "[force]\n\n");
	assert_int_equal(fake.member.calls, 2);
}

/* ------------------------------------------------------- read-only gate */

static void
test_admin_cmd_readonly_state_changing_commands_refused(void **state)
{
	/* no answer is scripted: a handler that ran would fail the test */
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
	assert_no_calls();
}

static void
test_admin_cmd_readonly_refused_whatever_the_arguments(void **state)
{
	/* refused before the usage check: the reply says nothing of arity */
	expect_readonly_reply(*state, "switch", -1,
	    "error: read-only socket: 'switch' changes state\n\n");
	expect_readonly_reply(*state, "reload now please", -1,
	    "error: read-only socket: 'reload' changes state\n\n");
	assert_no_calls();
}

static void
test_admin_cmd_readonly_reading_commands_run(void **state)
{
	struct fixture	*fx = *state;
	bool		 quit = false;

	fake.status_json = "{\"active\":\"blue\"}\n";
	expect_readonly_reply(fx, "status json", 0,
	    "ok\n{\"active\":\"blue\"}\n\n");
	expect_readonly_reply(fx, "version", 0,
	    "ok\ncutover " PACKAGE_VERSION "\n\n");
	assert_true(fake.status.json);
	fake_answer(&fake.healthy, 1, "green: 3 of 3");
	expect_readonly_reply(fx, "wait-healthy green 5", 0,
	    "ok\ngreen: 3 of 3\n\n");
	assert_string_equal(fake.healthy.pool, "green");
	fake_answer(&fake.drained, 1, "blue: drained");
	expect_readonly_reply(fx, "wait-drained blue 5", 0,
	    "ok\nblue: drained\n\n");
	assert_string_equal(fake.drained.pool, "blue");
	evbuffer_drain(fx->out, evbuffer_get_length(fx->out));
	assert_int_equal(admin_cmd_exec(&fx->cx, "uid 7 pid 8",
	    ADMIN_ACCESS_READONLY, "quit", fx->out, &quit, NULL), 0);
	assert_true(quit);
}

static void
test_admin_cmd_readonly_help_lists_only_readers(void **state)
{
	struct fixture	*fx = *state;
	const char	*readers[] = { "status [json]", "metrics",
			    "wait-healthy <pool> <seconds>",
			    "wait-drained <pool> <seconds>", "version",
			    "help [command]", "quit" };
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
test_admin_cmd_readonly_unknown_command_usual_error(void **state)
{
	expect_readonly_reply(*state, "frobnicate blue", -1,
	    "error: usage: unknown command 'frobnicate' (try 'help')\n\n");
	expect_readonly_reply(*state, "", -1,
	    "error: usage: empty command (try 'help')\n\n");
}

static void
test_admin_cmd_readonly_usage_errors_of_readers_kept(void **state)
{
	expect_readonly_reply(*state, "status yaml", -1,
	    "error: usage: status [json]\n\n");
	expect_readonly_reply(*state, "wait-drained blue", -1,
	    "error: usage: wait-drained <pool> <seconds>\n\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_admin_cmd_metrics_ok_body_from_status_metrics),
		T(test_admin_cmd_metrics_argument_usage),
		T(test_admin_cmd_metrics_readonly_runs),
		T(test_admin_cmd_status_ok_body_from_status),
		T(test_admin_cmd_status_json_passes_json),
		T(test_admin_cmd_status_empty_lines_in_body_dropped),
		T(test_admin_cmd_status_bad_argument_usage),
		T(test_admin_cmd_switch_ok_reply),
		T(test_admin_cmd_switch_force_passes_force),
		T(test_admin_cmd_switch_bad_third_word_usage),
		T(test_admin_cmd_switch_arity_usage),
		T(test_admin_cmd_switch_refused_error_reply),
		T(test_admin_cmd_switch_at_gen_passed),
		T(test_admin_cmd_switch_guard),
		T(test_admin_cmd_switch_at_bad_usage),
		T(test_admin_cmd_cancel_passed),
		T(test_admin_cmd_reload_multiline_error_first_line_is_reason),
		T(test_admin_cmd_reload_ok_reply),
		T(test_admin_cmd_rollback_ok_and_error),
		T(test_admin_cmd_rollback_force_passes_force),
		T(test_admin_cmd_rollback_bad_word_usage),
		T(test_admin_cmd_member_each_state_passed),
		T(test_admin_cmd_member_unknown_member_error_reply),
		T(test_admin_cmd_member_bad_state_usage),
		T(test_admin_cmd_member_arity_usage),
		T(test_admin_cmd_wait_healthy_holds_ok_at_once),
		T(test_admin_cmd_wait_healthy_never_error_at_once),
		T(test_admin_cmd_wait_drained_calls_drained),
		T(test_admin_cmd_wait_bad_seconds_usage),
		T(test_admin_cmd_wait_zero_seconds_not_yet_times_out_at_once),
		T(test_admin_run_wait_not_yet_pending_nothing_appended),
		T(test_admin_cmd_noarg_commands_extra_argument_usage),
		T(test_admin_cmd_version_ok_reply),
		T(test_admin_cmd_quit_ok_reply),
		T(test_admin_cmd_help_lists_every_command),
		T(test_admin_cmd_shift_args),
		T(test_admin_cmd_shift_bad_args),
		T(test_admin_cmd_unknown_command_error),
		T(test_admin_cmd_unknown_command_binary_echo_sanitized),
		T(test_admin_cmd_empty_line_error),
		T(test_admin_cmd_too_many_words_error),
		T(test_admin_cmd_tokenizer_tabs_spaces_cr),
		T(test_admin_cmd_line_too_long_error),
		T(test_admin_cmd_readonly_state_changing_commands_refused),
		T(test_admin_cmd_readonly_refused_whatever_the_arguments),
		T(test_admin_cmd_readonly_reading_commands_run),
		T(test_admin_cmd_readonly_help_lists_only_readers),
		T(test_admin_cmd_readonly_unknown_command_usual_error),
		T(test_admin_cmd_readonly_usage_errors_of_readers_kept),
		T(test_admin_cmd_wait_unknown_pool_usage_not_asked),
		T(test_admin_cmd_switch_unknown_pool_usage_suggests),
		T(test_admin_cmd_unknown_command_suggests_closest),
		T(test_admin_cmd_help_command_prints_its_usage),
		T(test_admin_cmd_switch_rollback_pass_the_peer),
		T(test_admin_cmd_member_force_passes_force),
#undef T
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
