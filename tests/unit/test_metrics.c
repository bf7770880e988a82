/*
 * test_metrics.c — per-worker request counters: the bucket a duration
 * falls in (bounds are inclusive, as Prometheus' le), the class of a
 * status, the sums over workers, and the mirror counters with their
 * p99 estimate.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

#define MS	1000000ull

static void
test_metrics_bucket_bounds_inclusive(void **state)
{
	assert_int_equal(metrics_bucket(0), 0);
	assert_int_equal(metrics_bucket(1 * MS), 0);
	assert_int_equal(metrics_bucket(1 * MS + 1), 1);
	assert_int_equal(metrics_bucket(2500000), 1);
	assert_int_equal(metrics_bucket(2500001), 2);
	assert_int_equal(metrics_bucket(1000 * MS), 9);
	assert_int_equal(metrics_bucket(10000 * MS), METRICS_BOUNDS - 1);
}

static void
test_metrics_bucket_beyond_last_bound_is_inf(void **state)
{
	assert_int_equal(metrics_bucket(10000 * MS + 1), METRICS_BOUNDS);
	assert_int_equal(metrics_bucket(UINT64_MAX - 1), METRICS_BOUNDS);
	assert_string_equal(metrics_bucket_le(METRICS_BOUNDS), "+Inf");
}

static void
test_metrics_bucket_le_names_bounds(void **state)
{
	assert_string_equal(metrics_bucket_le(0), "0.001");
	assert_string_equal(metrics_bucket_le(1), "0.0025");
	assert_string_equal(metrics_bucket_le(9), "1");
	assert_string_equal(metrics_bucket_le(METRICS_BOUNDS - 1), "10");
}

static void
test_metrics_class_by_hundreds(void **state)
{
	assert_int_equal(metrics_class(100), 0);
	assert_int_equal(metrics_class(101), 0);
	assert_int_equal(metrics_class(199), 0);
	assert_int_equal(metrics_class(200), 1);
	assert_int_equal(metrics_class(299), 1);
	assert_int_equal(metrics_class(304), 2);
	assert_int_equal(metrics_class(404), 3);
	assert_int_equal(metrics_class(500), 4);
	assert_int_equal(metrics_class(599), 4);
	assert_string_equal(metrics_class_name(metrics_class(503)), "5xx");
	assert_string_equal(metrics_class_name(metrics_class(204)), "2xx");
}

static void
test_metrics_class_out_of_range_clamped(void **state)
{
	assert_int_equal(metrics_class(0), 0);
	assert_int_equal(metrics_class(-1), 0);
	assert_int_equal(metrics_class(600), 4);
	assert_int_equal(metrics_class(999), 4);
}

static void
test_metrics_request_counts_class_bucket_sum_bytes(void **state)
{
	struct metrics		 mx;
	struct metrics_totals	 t;

	memset(&mx, 0, sizeof(mx));
	metrics_request(&mx, POOL_GREEN, 200, 3 * MS, 40, 100);
	metrics_request(&mx, POOL_GREEN, 503, METRICS_UNTIMED, 30, 50);
	memset(&t, 0, sizeof(t));
	metrics_add(&mx, &t);
	assert_int_equal(t.pool[POOL_GREEN].requests[1], 1);
	assert_int_equal(t.pool[POOL_GREEN].requests[4], 1);
	assert_int_equal(t.pool[POOL_GREEN].buckets[2], 1);
	assert_int_equal(t.pool[POOL_GREEN].count, 1);	/* one timed */
	assert_int_equal(t.pool[POOL_GREEN].sum_ns, 3 * MS);
	assert_int_equal(t.pool[POOL_GREEN].bytes_in, 70);
	assert_int_equal(t.pool[POOL_GREEN].bytes_out, 150);
	assert_int_equal(t.pool[POOL_BLUE].count, 0);
	assert_int_equal(t.pool[POOL_BLUE].requests[1], 0);
}

static void
test_metrics_add_sums_workers(void **state)
{
	struct metrics		 mx[3];
	struct metrics_totals	 t;

	memset(mx, 0, sizeof(mx));
	for (unsigned w = 0; w < 3; w++)
		for (unsigned i = 0; i <= w; i++)
			metrics_request(&mx[w], POOL_BLUE, 200, 20 * MS, 1, 2);
	metrics_bytes(&mx[2], POOL_BLUE, 1000, 2000);
	memset(&t, 0, sizeof(t));
	for (unsigned w = 0; w < 3; w++)
		metrics_add(&mx[w], &t);
	assert_int_equal(t.pool[POOL_BLUE].requests[1], 6);
	assert_int_equal(t.pool[POOL_BLUE].buckets[4], 6);
	assert_int_equal(t.pool[POOL_BLUE].count, 6);
	assert_int_equal(t.pool[POOL_BLUE].sum_ns, 120 * MS);
	assert_int_equal(t.pool[POOL_BLUE].bytes_in, 1006);
	assert_int_equal(t.pool[POOL_BLUE].bytes_out, 2012);
}

static void
test_metrics_mirror_counts_apart(void **state)
{
	static struct metrics	mx;
	struct metrics_totals	t;

	memset(&mx, 0, sizeof(mx));
	metrics_mirror(&mx, POOL_GREEN, 200, 3 * MS);
	metrics_mirror(&mx, POOL_GREEN, 503, 1 * MS);
	metrics_mirror(&mx, POOL_GREEN, -1, METRICS_UNTIMED);
	metrics_mirror(&mx, POOL_BLUE, 200, 2 * MS);
	metrics_mirror_skip(&mx, METRICS_SKIP_BUSY);
	metrics_mirror_skip(&mx, METRICS_SKIP_BUSY);
	memset(&t, 0, sizeof(t));
	metrics_add(&mx, &t);
	metrics_add(&mx, &t);		/* a second worker alike */
	assert_int_equal(t.mirror[POOL_GREEN].requests[1], 2);
	assert_int_equal(t.mirror[POOL_GREEN].requests[4], 2);
	assert_int_equal(t.mirror[POOL_GREEN].requests[METRICS_MIRROR_ERROR],
	    2);
	assert_int_equal(t.mirror[POOL_GREEN].count, 4);	/* errors untimed */
	assert_int_equal(t.mirror[POOL_GREEN].sum_ns, 8 * MS);
	assert_int_equal(t.mirror[POOL_BLUE].requests[1], 2);
	assert_int_equal(t.mirror_skipped[METRICS_SKIP_BUSY], 4);
	/* never in the ordinary counters */
	for (int i = 0; i < POOL_COUNT; i++)
		for (unsigned k = 0; k < METRICS_CLASSES; k++)
			assert_int_equal(t.pool[i].requests[k], 0);
	assert_string_equal(metrics_mirror_class_name(METRICS_MIRROR_ERROR),
	    "error");
	assert_string_equal(metrics_mirror_class_name(3), "4xx");
	assert_string_equal(metrics_skip_name(METRICS_SKIP_NO_MEMBER),
	    "no_member");
}

static void
test_metrics_p99_is_the_bucket_bound(void **state)
{
	uint64_t	b[METRICS_BUCKETS];

	memset(b, 0, sizeof(b));
	assert_int_equal(metrics_p99_ns(b, 0), 0);
	b[0] = 99;			/* <= 1 ms */
	b[5] = 1;			/* <= 50 ms */
	assert_int_equal(metrics_p99_ns(b, 100), 1 * MS);
	b[0] = 98;
	b[5] = 2;
	assert_int_equal(metrics_p99_ns(b, 100), 50 * MS);
	b[5] = 0;
	b[METRICS_BOUNDS] = 2;		/* past 10 s */
	assert_int_equal(metrics_p99_ns(b, 100), UINT64_MAX);
	memset(b, 0, sizeof(b));
	b[3] = 1;			/* one request: its own bucket */
	assert_int_equal(metrics_p99_ns(b, 1), 10 * MS);
}

static void
test_metrics_block_on_its_own_cache_line(void **state)
{
	assert_int_equal(_Alignof(struct metrics) % 64, 0);
	assert_int_equal(sizeof(struct metrics) % 64, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_bucket_bounds_inclusive),
		cmocka_unit_test(test_metrics_bucket_beyond_last_bound_is_inf),
		cmocka_unit_test(test_metrics_bucket_le_names_bounds),
		cmocka_unit_test(test_metrics_class_by_hundreds),
		cmocka_unit_test(test_metrics_class_out_of_range_clamped),
		cmocka_unit_test(
		    test_metrics_request_counts_class_bucket_sum_bytes),
		cmocka_unit_test(test_metrics_add_sums_workers),
		cmocka_unit_test(test_metrics_block_on_its_own_cache_line),
		cmocka_unit_test(test_metrics_mirror_counts_apart),
		cmocka_unit_test(test_metrics_p99_is_the_bucket_bound),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
