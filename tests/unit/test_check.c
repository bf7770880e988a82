/*
 * test_check.c — the health-check settings: defaults, merging, and the
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

#include "check.h"

static void
test_check_expect_parses_codes_and_ranges(void **state)
{
	struct check_expect	e;
	char			err[256];

	assert_int_equal(check_expect_parse("200,204, 300-399", &e, err,
	    sizeof(err)), 0);
	assert_int_equal(e.n, 3);
	assert_true(check_expect_match(&e, 200));
	assert_true(check_expect_match(&e, 204));
	assert_true(check_expect_match(&e, 302));
	assert_false(check_expect_match(&e, 201));
	assert_false(check_expect_match(&e, 400));
}

static void
test_check_expect_rejects_bad_input(void **state)
{
	struct check_expect	e;
	char			err[256];
	const char		*bad[] = { "", "20", "2000", "99", "600",
				    "300-200", "200-", "200,", "abc",
				    "200;300", "-200" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(check_expect_parse(bad[i], &e, err,
		    sizeof(err)), -1);
		assert_non_null(strstr(err, "expected status codes"));
	}
}

static void
test_check_min_parses_count_and_percentage(void **state)
{
	struct check_min	m;
	char			err[256];

	assert_int_equal(check_min_parse("3", &m, err, sizeof(err)), 0);
	assert_int_equal(m.count, 3);
	assert_int_equal(check_min_parse("50%", &m, err, sizeof(err)), 0);
	assert_int_equal(m.percent, 50);
	assert_int_equal(m.count, 0);
	assert_int_equal(check_min_parse("0", &m, err, sizeof(err)), -1);
	assert_int_equal(check_min_parse("101%", &m, err, sizeof(err)), -1);
	assert_int_equal(check_min_parse("0%", &m, err, sizeof(err)), -1);
	assert_int_equal(check_min_parse("50 %", &m, err, sizeof(err)), -1);
	assert_int_equal(check_min_parse("", &m, err, sizeof(err)), -1);
}

static void
test_check_min_required_counts(void **state)
{
	struct check_min	all = { 0, 0 }, two = { 2, 0 };
	struct check_min	half = { 0, 50 }, third = { 0, 34 };

	assert_int_equal(check_min_required(&all, 3), 3);
	assert_int_equal(check_min_required(&all, 0), 1);
	assert_int_equal(check_min_required(&two, 5), 2);
	assert_int_equal(check_min_required(&half, 3), 2);	/* rounded up */
	assert_int_equal(check_min_required(&half, 1), 1);
	assert_int_equal(check_min_required(&third, 3), 2);
}

static void
test_check_expect_more_than_max_rejected(void **state)
{
	struct check_expect	e;
	char			s[256] = "", err[256];

	for (int i = 0; i < CHECK_EXPECT_MAX; i++)
		snprintf(s + strlen(s), sizeof(s) - strlen(s), "%s%d",
		    i > 0 ? "," : "", 200 + i);
	assert_int_equal(check_expect_parse(s, &e, err, sizeof(err)), 0);
	assert_int_equal(e.n, CHECK_EXPECT_MAX);
	strcat(s, ",299");
	assert_int_equal(check_expect_parse(s, &e, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "at most 16 codes or ranges"));
}

static void
test_check_defaults_are_the_documented_ones(void **state)
{
	struct check_config	hc;

	check_config_defaults(&hc);
	assert_string_equal(hc.path, "/");
	assert_string_equal(hc.host, "");
	assert_int_equal(hc.interval_ms, 2000);
	assert_int_equal(hc.timeout_ms, 1000);
	assert_int_equal(hc.rise, 2);
	assert_int_equal(hc.fall, 3);
	assert_true(check_expect_match(&hc.expect, 200));
	assert_true(check_expect_match(&hc.expect, 399));
	assert_false(check_expect_match(&hc.expect, 400));
	assert_true(hc.panic);
	assert_int_equal(hc.set, 0);
}

static void
test_check_merge_keeps_the_pools_own_keys(void **state)
{
	struct check_config	global, pool;
	char			err[256];

	check_config_defaults(&global);
	snprintf(global.path, sizeof(global.path), "/healthz");
	global.fall = 5;
	check_config_defaults(&pool);
	pool.rise = 7;
	pool.set = CHECK_SET_RISE | CHECK_SET_EXPECT;
	assert_int_equal(check_expect_parse("204", &pool.expect, err,
	    sizeof(err)), 0);
	check_config_merge(&pool, &global);
	assert_string_equal(pool.path, "/healthz");
	assert_int_equal(pool.fall, 5);
	assert_int_equal(pool.rise, 7);
	assert_true(check_expect_match(&pool.expect, 204));
	assert_false(check_expect_match(&pool.expect, 200));
}

static void
test_check_merge_panic_from_global_unless_pool_set_it(void **state)
{
	struct check_config	global, pool;

	check_config_defaults(&global);
	global.panic = false;
	check_config_defaults(&pool);
	check_config_merge(&pool, &global);
	assert_false(pool.panic);		/* the global's */
	check_config_defaults(&pool);
	pool.set = CHECK_SET_PANIC;		/* the pool said true */
	check_config_merge(&pool, &global);
	assert_true(pool.panic);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_expect_parses_codes_and_ranges),
		cmocka_unit_test(test_check_expect_rejects_bad_input),
		cmocka_unit_test(test_check_min_parses_count_and_percentage),
		cmocka_unit_test(test_check_min_required_counts),
		cmocka_unit_test(test_check_expect_more_than_max_rejected),
		cmocka_unit_test(test_check_defaults_are_the_documented_ones),
		cmocka_unit_test(test_check_merge_keeps_the_pools_own_keys),
		cmocka_unit_test(
		    test_check_merge_panic_from_global_unless_pool_set_it),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
