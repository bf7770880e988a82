/*
 * test_health.c — the rise/fall state machine and passive failures.
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
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
