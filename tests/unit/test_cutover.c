/*
 * test_cutover.c — the root's pure arithmetic: the timer of a switch
 * scheduled at a wall-clock instant (cutover_sched_delay).  The rest of
 * the root is tested through the real binary (tests/integration).
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "cutover.h"

#define NOW_US	1764490000123456LL	/* 2025-11-30T08:06:40.123456Z */

static void
test_sched_delay_exact(void **state)
{
	struct timeval	tv;

	/* 2.5 s ahead, from a clock 456 us into its millisecond */
	assert_int_equal(cutover_sched_delay(NOW_US / 1000 + 2500, NOW_US,
	    &tv), 0);
	assert_int_equal(tv.tv_sec, 2);
	assert_int_equal(tv.tv_usec, 500000 - 456);
	/* the next millisecond: 544 us away */
	assert_int_equal(cutover_sched_delay(NOW_US / 1000 + 1, NOW_US, &tv),
	    0);
	assert_int_equal(tv.tv_sec, 0);
	assert_int_equal(tv.tv_usec, 544);
}

static void
test_sched_delay_bounds(void **state)
{
	struct timeval	tv;
	long long	now_ms = NOW_US / 1000;

	/* passed, or this very millisecond (already begun) */
	assert_int_equal(cutover_sched_delay(now_ms - 1, NOW_US, &tv), -1);
	assert_int_equal(cutover_sched_delay(now_ms, NOW_US, &tv), -1);
	assert_int_equal(cutover_sched_delay(0, NOW_US, &tv), -1);
	/* the limit itself is fine; one ms beyond it is not */
	assert_int_equal(cutover_sched_delay(now_ms + CUTOVER_SCHED_MAX_MS,
	    (now_ms) * 1000, &tv), 0);
	assert_int_equal(tv.tv_sec, CUTOVER_SCHED_MAX_MS / 1000);
	assert_int_equal(tv.tv_usec, 0);
	assert_int_equal(cutover_sched_delay(now_ms + CUTOVER_SCHED_MAX_MS + 1,
	    now_ms * 1000, &tv), -1);
	/* absurd instants do not overflow into the window */
	assert_int_equal(cutover_sched_delay(999999999999999999LL, NOW_US,
	    &tv), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sched_delay_exact),
		cmocka_unit_test(test_sched_delay_bounds),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
