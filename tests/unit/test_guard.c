/*
 * test_guard.c — the verdict of a guarded switch: the p99 estimated as
 * Prometheus' histogram_quantile does, the 5xx share, min_requests, and
 * the baseline subtracted.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"

static const struct guard_limits limits = {
	.max_error_ratio = 0.05, .max_p99_ms = 0, .min_requests = 20,
};

/* n requests of class cls (0: 1xx .. 4: 5xx) in bucket b. */
static void
add(struct metrics_totals_pool *p, unsigned cls, unsigned b, uint64_t n)
{
	p->requests[cls] += n;
	p->buckets[b] += n;
	p->count += n;
}

static void
test_guard_quantile_empty_is_minus_one(void **state)
{
	uint64_t	b[METRICS_BUCKETS] = { 0 };

	assert_true(guard_quantile(b, 0.99) == -1);
}

/* Inside the first bucket from 0; inside a later one from its lower
 * bound, in proportion to the rank's place among its counts. */
static void
test_guard_quantile_interpolates_in_bucket(void **state)
{
	uint64_t	b[METRICS_BUCKETS] = { 0 };

	b[0] = 100;				/* <= 1 ms */
	assert_float_equal(guard_quantile(b, 0.99), 0.99, 1e-9);
	b[0] = 50;
	b[5] = 50;				/* 25 .. 50 ms */
	assert_float_equal(guard_quantile(b, 0.99), 25 + 25 * 49.0 / 50,
	    1e-9);
	assert_float_equal(guard_quantile(b, 0.5), 1, 1e-9);
	memset(b, 0, sizeof(b));
	b[2] = 10;				/* 2.5 .. 5 ms */
	assert_float_equal(guard_quantile(b, 0.5), 3.75, 1e-9);
}

/* A rank in +Inf is the largest finite bound (10 s), as Prometheus. */
static void
test_guard_quantile_inf_is_last_bound(void **state)
{
	uint64_t	b[METRICS_BUCKETS] = { 0 };

	b[0] = 1;
	b[METRICS_BOUNDS] = 99;
	assert_float_equal(guard_quantile(b, 0.99), 10000, 1e-9);
}

/* Below min_requests no verdict, however bad the share. */
static void
test_guard_min_requests_waits(void **state)
{
	struct metrics_totals_pool	base = { 0 }, now = { 0 };
	struct guard_sample		s;
	char				why[128];

	add(&now, 4, 0, 19);
	assert_int_equal(guard_judge(&base, &now, &limits, &s, why,
	    sizeof(why)), GUARD_WAIT);
	assert_int_equal(s.requests, 19);
	assert_string_equal(why, "19 of 20 request(s) needed");
	add(&now, 4, 0, 1);
	assert_int_equal(guard_judge(&base, &now, &limits, &s, NULL, 0),
	    GUARD_TRIP_ERRORS);
}

/* The share trips only above the limit: 1 of 20 is 5%, not above. */
static void
test_guard_error_ratio(void **state)
{
	struct metrics_totals_pool	base = { 0 }, now = { 0 };
	struct guard_sample		s;
	char				why[128];

	add(&now, 1, 0, 19);
	add(&now, 4, 0, 1);
	assert_int_equal(guard_judge(&base, &now, &limits, &s, why,
	    sizeof(why)), GUARD_OK);
	assert_float_equal(s.error_ratio, 0.05, 1e-12);
	add(&now, 4, 0, 1);
	assert_int_equal(guard_judge(&base, &now, &limits, &s, why,
	    sizeof(why)), GUARD_TRIP_ERRORS);
	assert_int_equal(s.errors, 2);
	assert_string_equal(why, "5xx 2 of 21 (9.5%) > 5.0%");
	/* 4xx are the clients' fault, not the release's */
	memset(&now, 0, sizeof(now));
	add(&now, 3, 0, 40);
	assert_int_equal(guard_judge(&base, &now, &limits, &s, NULL, 0),
	    GUARD_OK);
}

/* What happened before the switch is not the new release's. */
static void
test_guard_baseline_subtracted(void **state)
{
	struct metrics_totals_pool	base = { 0 }, now;
	struct guard_sample		s;

	add(&base, 4, METRICS_BOUNDS, 1000);
	now = base;
	add(&now, 1, 0, 30);
	assert_int_equal(guard_judge(&base, &now, &limits, &s, NULL, 0),
	    GUARD_OK);
	assert_int_equal(s.requests, 30);
	assert_int_equal(s.errors, 0);
	assert_float_equal(s.p99_ms, 0.99, 1e-9);
}

/* max_p99_ms 0 is no limit; otherwise the estimate above it trips. */
static void
test_guard_latency(void **state)
{
	struct guard_limits		lim = limits;
	struct metrics_totals_pool	base = { 0 }, now = { 0 };
	struct guard_sample		s;
	char				why[128];

	add(&now, 1, 7, 100);			/* 100 .. 250 ms */
	assert_int_equal(guard_judge(&base, &now, &lim, &s, NULL, 0),
	    GUARD_OK);
	lim.max_p99_ms = 250;
	assert_int_equal(guard_judge(&base, &now, &lim, &s, NULL, 0),
	    GUARD_OK);
	lim.max_p99_ms = 200;
	assert_int_equal(guard_judge(&base, &now, &lim, &s, why,
	    sizeof(why)), GUARD_TRIP_LATENCY);
	assert_float_equal(s.p99_ms, 248.5, 1e-9);
	assert_string_equal(why, "p99 248.5 ms > 200 ms over 100 "
	    "request(s)");
	/* requests never timed (no complete head) leave no p99 */
	memset(&now, 0, sizeof(now));
	now.requests[4] = 0;
	now.requests[1] = 30;
	assert_int_equal(guard_judge(&base, &now, &lim, &s, NULL, 0),
	    GUARD_OK);
	assert_true(s.p99_ms == -1);
	assert_string_equal(guard_verdict_name(GUARD_TRIP_LATENCY),
	    "latency");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guard_quantile_empty_is_minus_one),
		cmocka_unit_test(test_guard_quantile_interpolates_in_bucket),
		cmocka_unit_test(test_guard_quantile_inf_is_last_bound),
		cmocka_unit_test(test_guard_min_requests_waits),
		cmocka_unit_test(test_guard_error_ratio),
		cmocka_unit_test(test_guard_baseline_subtracted),
		cmocka_unit_test(test_guard_latency),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
