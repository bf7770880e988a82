/*
 * test_health.c — the rise/fall state machine, passive failures, and the
 * parsers of `expect` and `min_healthy`.
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

#include "health.h"
#include "pool.h"

static int
setup(void **state)
{
	struct addr	a;
	char		err[128];

	assert_int_equal(addr_parse("127.0.0.1:9001", &a, false, err,
	    sizeof(err)), 0);
	*state = member_new(POOL_BLUE, &a);
	return (0);
}

static int
teardown(void **state)
{
	member_unref(*state);
	return (0);
}

static void
test_health_unknown_member_is_usable_but_not_healthy(void **state)
{
	struct member	*m = *state;

	assert_int_equal(m->health, HEALTH_UNKNOWN);
	assert_true(member_is_usable(m));
	assert_false(member_is_healthy(m));
}

static void
test_health_rise_successes_make_it_up(void **state)
{
	struct member	*m = *state;

	assert_false(health_apply(m, true, 2, 3));
	assert_int_equal(m->health, HEALTH_UNKNOWN);
	assert_true(health_apply(m, true, 2, 3));
	assert_int_equal(m->health, HEALTH_UP);
	assert_true(member_is_healthy(m));
}

static void
test_health_unknown_goes_down_on_first_failure(void **state)
{
	struct member	*m = *state;

	assert_true(health_apply(m, false, 2, 3));
	assert_int_equal(m->health, HEALTH_DOWN);
	assert_false(member_is_usable(m));
}

static void
test_health_up_needs_fall_failures_to_go_down(void **state)
{
	struct member	*m = *state;

	health_apply(m, true, 1, 3);
	assert_false(health_apply(m, false, 1, 3));
	assert_false(health_apply(m, false, 1, 3));
	assert_int_equal(m->health, HEALTH_UP);
	assert_true(health_apply(m, false, 1, 3));
	assert_int_equal(m->health, HEALTH_DOWN);
}

static void
test_health_success_resets_failure_streak(void **state)
{
	struct member	*m = *state;

	health_apply(m, true, 1, 2);
	health_apply(m, false, 1, 2);
	health_apply(m, true, 1, 2);
	assert_int_equal(m->fail_streak, 0);
	assert_false(health_apply(m, false, 1, 2));
	assert_int_equal(m->health, HEALTH_UP);
}

static void
test_health_down_needs_rise_successes_to_return(void **state)
{
	struct member	*m = *state;

	health_apply(m, false, 3, 1);
	assert_false(health_apply(m, true, 3, 1));
	assert_false(health_apply(m, true, 3, 1));
	assert_true(health_apply(m, true, 3, 1));
	assert_int_equal(m->health, HEALTH_UP);
}

static void
test_health_passive_failure_takes_member_down_at_once(void **state)
{
	struct member	*m = *state;

	health_apply(m, true, 1, 3);
	health_passive(m, "connection refused");
	assert_int_equal(m->health, HEALTH_DOWN);
	assert_int_equal(m->ok_streak, 0);
	assert_string_equal(m->last, "passive: connection refused");
}

static void
test_health_observed_bad_answers_need_fall_in_a_row(void **state)
{
	struct member	*m = *state;

	health_apply(m, true, 1, 3);
	health_observe(m, "invalid response", 3);
	health_observe(m, "invalid response", 3);
	assert_int_equal(m->health, HEALTH_UP);
	health_apply(m, true, 1, 3);		/* a good probe forgives */
	health_observe(m, "invalid response", 3);
	health_observe(m, "invalid response", 3);
	assert_int_equal(m->health, HEALTH_UP);
	health_observe(m, "closed mid-response", 3);
	assert_int_equal(m->health, HEALTH_DOWN);
	assert_string_equal(m->last, "passive: closed mid-response");
}

static void
test_health_admin_state_overrides_health(void **state)
{
	struct member	*m = *state;

	health_apply(m, true, 1, 3);
	m->admin = MEMBER_DRAIN;
	assert_false(member_is_usable(m));
	assert_false(member_is_healthy(m));
	m->admin = MEMBER_READY;
	assert_true(member_is_usable(m));
}

static void
test_health_expect_parses_codes_and_ranges(void **state)
{
	struct health_expect	e;
	char			err[256];

	assert_int_equal(health_expect_parse("200,204, 300-399", &e, err,
	    sizeof(err)), 0);
	assert_int_equal(e.n, 3);
	assert_true(health_expect_match(&e, 200));
	assert_true(health_expect_match(&e, 204));
	assert_true(health_expect_match(&e, 302));
	assert_false(health_expect_match(&e, 201));
	assert_false(health_expect_match(&e, 400));
}

static void
test_health_expect_rejects_bad_input(void **state)
{
	struct health_expect	e;
	char			err[256];
	const char		*bad[] = { "", "20", "2000", "99", "600",
				    "300-200", "200-", "200,", "abc",
				    "200;300", "-200" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(health_expect_parse(bad[i], &e, err,
		    sizeof(err)), -1);
		assert_non_null(strstr(err, "expected status codes"));
	}
}

static void
test_health_min_parses_count_and_percentage(void **state)
{
	struct health_min	m;
	char			err[256];

	assert_int_equal(health_min_parse("3", &m, err, sizeof(err)), 0);
	assert_int_equal(m.count, 3);
	assert_int_equal(health_min_parse("50%", &m, err, sizeof(err)), 0);
	assert_int_equal(m.percent, 50);
	assert_int_equal(m.count, 0);
	assert_int_equal(health_min_parse("0", &m, err, sizeof(err)), -1);
	assert_int_equal(health_min_parse("101%", &m, err, sizeof(err)), -1);
	assert_int_equal(health_min_parse("0%", &m, err, sizeof(err)), -1);
	assert_int_equal(health_min_parse("50 %", &m, err, sizeof(err)), -1);
	assert_int_equal(health_min_parse("", &m, err, sizeof(err)), -1);
}

static void
test_health_min_required_counts(void **state)
{
	struct health_min	all = { 0, 0 }, two = { 2, 0 }, half = { 0, 50 };
	struct health_min	third = { 0, 34 };

	assert_int_equal(health_min_required(&all, 3), 3);
	assert_int_equal(health_min_required(&all, 0), 1);
	assert_int_equal(health_min_required(&two, 5), 2);
	assert_int_equal(health_min_required(&half, 3), 2);	/* rounded up */
	assert_int_equal(health_min_required(&half, 1), 1);
	assert_int_equal(health_min_required(&third, 3), 2);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_health_unknown_member_is_usable_but_not_healthy),
		T(test_health_rise_successes_make_it_up),
		T(test_health_unknown_goes_down_on_first_failure),
		T(test_health_up_needs_fall_failures_to_go_down),
		T(test_health_success_resets_failure_streak),
		T(test_health_down_needs_rise_successes_to_return),
		T(test_health_passive_failure_takes_member_down_at_once),
		T(test_health_observed_bad_answers_need_fall_in_a_row),
		T(test_health_admin_state_overrides_health),
		cmocka_unit_test(test_health_expect_parses_codes_and_ranges),
		cmocka_unit_test(test_health_expect_rejects_bad_input),
		cmocka_unit_test(test_health_min_parses_count_and_percentage),
		cmocka_unit_test(test_health_min_required_counts),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
