/*
 * test_fdlimit.c — the descriptors a configuration needs (the formula of
 * cutover(8), Limits), the max_connections a limit supports (its
 * inverse), the warning, and raising the soft limit.
 */
#include "autoconf.h"

#include <sys/resource.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "fdlimit.h"
#include "io.h"

/* A configuration as fdlimit_need reads it: max_connections, members
 * per pool, listen addresses, admin sockets. */
static void
conf(struct config *cf, unsigned max, size_t blue, size_t green,
    size_t nlisten)
{
	memset(cf, 0, sizeof(*cf));
	cf->max_connections = max;
	cf->pools[POOL_BLUE].nmembers = blue;
	cf->pools[POOL_GREEN].nmembers = green;
	cf->nlisten = nlisten;
	cf->max_idle = CONFIG_DEFAULT_MAX_IDLE;
}

static void
test_fdlimit_need_sums_every_use(void **state)
{
	struct config		cf;
	struct fdlimit_need	n;

	conf(&cf, 1000, 2, 1, 1);
	fdlimit_need(&cf, 2, &n);
	assert_true(n.bounded);
	assert_int_equal(n.clients, 1000);
	assert_int_equal(n.upstream, 1000);
	/* min(1000, max_idle 1024) x 2 workers x 3 members */
	assert_int_equal(n.idle, 6000);
	assert_int_equal(n.probes, 3);
	assert_int_equal(n.listeners, 2);
	assert_int_equal(n.admin, FDLIMIT_ADMIN_SOCKET);
	assert_int_equal(n.internal, FDLIMIT_INTERNAL + 4);
	assert_int_equal(n.total, 8000 + 3 + 2 + FDLIMIT_ADMIN_SOCKET +
	    FDLIMIT_INTERNAL + 4);
}

/* upstream.warm_idle per member per worker, over every member (either
 * pool may be the inactive one), beside the clients' share. */
static void
test_fdlimit_need_counts_warm_connections(void **state)
{
	struct config		cf;
	struct fdlimit_need	n, none;

	conf(&cf, 1000, 2, 1, 1);
	fdlimit_need(&cf, 2, &none);
	assert_int_equal(none.warm, 0);
	cf.warm_idle = 2;
	fdlimit_need(&cf, 2, &n);
	assert_int_equal(n.warm, 2 * 2 * 3);
	assert_int_equal(n.total, none.total + 12);
	/* the fixed part: 12 descriptors fewer for the clients' share */
	assert_true(fdlimit_supports(&n, none.total) <
	    fdlimit_supports(&none, none.total));
}

/* upstream.splice: each worker may hold IO_PIPES_MAX pipes of two
 * descriptors, counted in the total and in what a limit supports */
static void
test_fdlimit_need_counts_splice_pipes(void **state)
{
	struct config		cf;
	struct fdlimit_need	n, off;

	conf(&cf, 1000, 2, 1, 1);
	fdlimit_need(&cf, 2, &off);
	assert_int_equal(off.pipes, 0);
	cf.splice = true;
	fdlimit_need(&cf, 2, &n);
	assert_int_equal(n.pipes, 2 * IO_PIPES_MAX * 2);
	assert_int_equal(n.total, off.total + 2 * IO_PIPES_MAX * 2);
	assert_int_equal(fdlimit_supports(&n, n.probes + n.listeners +
	    n.admin + n.internal + n.pipes), 0);
	assert_true(fdlimit_supports(&n, off.total) <
	    fdlimit_supports(&off, off.total));
}

/* One idle list per member per worker, each holding as many as were busy
 * on it at once (at most max_connections) up to upstream.max_idle: traffic
 * that moves from member to member fills every list in turn. */
static void
test_fdlimit_need_idle_per_member_and_worker(void **state)
{
	struct config		cf;
	struct fdlimit_need	n;

	conf(&cf, 10000, 1, 1, 1);
	fdlimit_need(&cf, 1, &n);
	assert_int_equal(n.idle, 2 * CONFIG_DEFAULT_MAX_IDLE);
	cf.max_idle = 100;
	fdlimit_need(&cf, 3, &n);
	assert_int_equal(n.idle, 100 * 3 * 2);
	assert_int_equal(n.total, 2 * 10000 + 600 + 2 + 3 +
	    FDLIMIT_ADMIN_SOCKET + FDLIMIT_INTERNAL + 2 * 3);
	/* fewer clients than max_idle: each list holds max_connections */
	conf(&cf, 200, 3, 1, 1);
	fdlimit_need(&cf, 1, &n);
	assert_int_equal(n.idle, 200 * 4);
}

/* Mirroring on: mirror.max_inflight copies per worker, each on its own
 * connection, and as many more on one idle list (a switch makes the
 * copies' pool the clients' own with copies in flight); off, nothing. */
static void
test_fdlimit_need_counts_mirror_copies(void **state)
{
	struct config		cf;
	struct fdlimit_need	n, off;

	conf(&cf, 100, 2, 1, 1);
	cf.mirror.max_inflight = 64;
	fdlimit_need(&cf, 4, &off);		/* percent 0: off */
	assert_int_equal(off.mirror, 0);
	assert_int_equal(off.idle, 100 * 4 * 3);
	cf.mirror.percent = 5;
	fdlimit_need(&cf, 4, &n);
	assert_int_equal(n.mirror, 64 * 4);
	/* min(100 + 64, max_idle 1024) x 4 workers x 3 members */
	assert_int_equal(n.idle, 164 * 4 * 3);
	assert_int_equal(n.total, off.total + 64 * 4 + 64 * 4 * 3);
	/* max_idle bounds the lists still */
	cf.max_idle = 120;
	fdlimit_need(&cf, 4, &n);
	assert_int_equal(n.idle, 120 * 4 * 3);
	assert_true(fdlimit_supports(&n, off.total) <
	    fdlimit_supports(&off, off.total));
}

static void
test_fdlimit_need_dns_and_admin_count(void **state)
{
	struct config		cf;
	struct fdlimit_need	n;
	struct addr		http;
	char			name[] = "app.example:80", ro[] = "/ro.sock";

	conf(&cf, 100, 1, 0, 2);
	cf.pools[POOL_GREEN].dns = name;
	cf.admin_http = &http;
	cf.admin_readonly_socket = ro;
	fdlimit_need(&cf, 4, &n);
	assert_int_equal(n.probes, 1 + FDLIMIT_DNS_MEMBERS);
	assert_int_equal(n.listeners, 8);
	assert_int_equal(n.admin, 2 * FDLIMIT_ADMIN_SOCKET +
	    FDLIMIT_ADMIN_HTTP);
}

/* A DNS pool counts its last answer's addresses once they pass
 * FDLIMIT_DNS_MEMBERS, in every per-member term; a static pool's count
 * is its own whatever dns_members says. */
static void
test_fdlimit_need_counts_a_large_dns_answer(void **state)
{
	struct config		cf;
	struct fdlimit_need	n, big;
	char			name[] = "app.example:80";
	size_t			few[POOL_COUNT] = { 0, 5 },
				many[POOL_COUNT] = { 500, 200 };

	conf(&cf, 100, 1, 0, 1);
	cf.pools[POOL_GREEN].dns = name;
	cf.warm_idle = 2;
	fdlimit_need(&cf, 2, &n);
	fdlimit_need_dns(&cf, 2, few, &big);
	assert_int_equal(big.total, n.total);	/* 5 < 32: 32 counted */
	fdlimit_need_dns(&cf, 2, many, &big);
	assert_int_equal(big.probes, 1 + 200);
	/* 168 members more: idle min(100, 1024) x 2, warm 2 x 2, a probe */
	assert_int_equal(big.total - n.total, 168 * (100 * 2 + 2 * 2 + 1));
}

static void
test_fdlimit_need_unbounded_without_max(void **state)
{
	struct config		cf;
	struct fdlimit_need	n;

	conf(&cf, 0, 1, 1, 1);
	fdlimit_need(&cf, 1, &n);
	assert_false(n.bounded);
	assert_int_equal(n.clients + n.upstream + n.idle, 0);
}

/* supports(limit) is the largest m whose need fits in limit, whether the
 * idle part is capped or not, with mirror copies adding to each list or
 * not, and 0 only when not even m = 1 fits. */
static void
test_fdlimit_supports_is_the_inverse(void **state)
{
	struct config		cf;
	struct fdlimit_need	n, at;
	uint64_t		m;
	size_t			members[] = { 1, 40 };
	unsigned		idle[] = { 5, 1024 };	/* m past it, and not */
	unsigned		copies[] = { 0, 3, 5, 64, 2000 };

	for (size_t k = 0; k < 2 * 2 * 5; k++) {
		for (uint64_t limit = 64; limit < 6000; limit += 37) {
			conf(&cf, 10000, members[k / 10], 0, 1);
			cf.max_idle = idle[k / 5 % 2];
			cf.mirror.percent = copies[k % 5] > 0 ? 100 : 0;
			cf.mirror.max_inflight = copies[k % 5];
			fdlimit_need(&cf, 2, &n);
			m = fdlimit_supports(&n, limit);
			cf.max_connections = (unsigned)m + 1;
			fdlimit_need(&cf, 2, &at);
			assert_true(at.total > limit);
			if (m == 0)
				continue;
			cf.max_connections = (unsigned)m;
			fdlimit_need(&cf, 2, &at);
			assert_true(at.total <= limit);
		}
	}
}

static void
test_fdlimit_supports_nothing_below_the_fixed_part(void **state)
{
	struct config		cf;
	struct fdlimit_need	n;

	conf(&cf, 10000, 1, 1, 1);
	fdlimit_need(&cf, 1, &n);
	assert_int_equal(fdlimit_supports(&n, n.probes + n.listeners +
	    n.admin + n.internal), 0);
	assert_int_equal(fdlimit_supports(&n, 10), 0);
}

static void
test_fdlimit_warning_only_when_short(void **state)
{
	struct fdlimit	f;
	char		msg[1024];

	memset(&f, 0, sizeof(f));
	f.enough = true;
	assert_false(fdlimit_warning(&f, msg, sizeof(msg)));
	assert_string_equal(msg, "");
	f.enough = false;
	f.need.total = 30100;
	f.need.clients = 10000;
	f.soft = f.hard = 1024;
	f.supports = 300;
	assert_true(fdlimit_warning(&f, msg, sizeof(msg)));
	assert_non_null(strstr(msg, "30100 needed for "
	    "limits.max_connections = 10000"));
	assert_non_null(strstr(msg, "soft limit is 1024 and the hard limit "
	    "1024: enough for max_connections = 300"));
	assert_non_null(strstr(msg, "LimitNOFILE="));
	assert_non_null(strstr(msg, "lower limits.max_connections or "
	    "upstream.max_idle"));
	/* not even one client's share fits: the warning says so, and names
	 * what else to lower */
	f.supports = 0;
	f.need.warm = 1000;
	f.need.idle_max = 1024;
	f.need.idle_lists = 4;
	assert_true(fdlimit_warning(&f, msg, sizeof(msg)));
	assert_null(strstr(msg, "max_connections = 0"));
	/* 1000 + 2 + min(1, 1024) x 4 */
	assert_non_null(strstr(msg, "not enough even for max_connections = "
	    "1, which needs 1006 (1000 of them whatever max_connections "
	    "is)"));
	/* mirroring with max_inflight past max_idle: the idle lists are
	 * full whatever max_connections is, and the share says so */
	f.need.idle_extra = 2000;
	f.need.idle_max = 5;
	assert_true(fdlimit_warning(&f, msg, sizeof(msg)));
	assert_non_null(strstr(msg, "not enough even for max_connections = "
	    "1, which needs 1022 (1020 of them whatever max_connections "
	    "is)"));
	assert_non_null(strstr(msg, "upstream.warm_idle"));
	assert_non_null(strstr(msg, "upstream.splice off"));
}

/* A real setrlimit: the soft limit goes up to the need, never down, and
 * a check (raise false) changes nothing. */
static void
test_fdlimit_raise_up_to_the_need(void **state)
{
	struct rlimit		rl, now;
	struct fdlimit_need	n;
	struct fdlimit		f;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 200)
		fail_msg("hard limit %llu too low for this test",
		    (unsigned long long)rl.rlim_max);
	now = rl;
	now.rlim_cur = 100;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &now), 0);
	memset(&n, 0, sizeof(n));
	n.bounded = true;
	n.total = 150;
	assert_int_equal(fdlimit_raise(&n, false, &f), 0);
	assert_int_equal(f.was, 100);
	assert_int_equal(f.soft, 150);		/* what a start would set */
	assert_true(f.enough);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &now), 0);
	assert_int_equal(now.rlim_cur, 100);
	assert_int_equal(fdlimit_raise(&n, true, &f), 0);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &now), 0);
	assert_int_equal(now.rlim_cur, 150);
	n.total = 120;				/* never lowered */
	assert_int_equal(fdlimit_raise(&n, true, &f), 0);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &now), 0);
	assert_int_equal(now.rlim_cur, 150);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fdlimit_need_sums_every_use),
		cmocka_unit_test(test_fdlimit_need_counts_warm_connections),
		cmocka_unit_test(test_fdlimit_need_counts_splice_pipes),
		cmocka_unit_test(test_fdlimit_need_idle_per_member_and_worker),
		cmocka_unit_test(test_fdlimit_need_counts_mirror_copies),
		cmocka_unit_test(test_fdlimit_need_dns_and_admin_count),
		cmocka_unit_test(test_fdlimit_need_counts_a_large_dns_answer),
		cmocka_unit_test(test_fdlimit_need_unbounded_without_max),
		cmocka_unit_test(test_fdlimit_supports_is_the_inverse),
		cmocka_unit_test(
		    test_fdlimit_supports_nothing_below_the_fixed_part),
		cmocka_unit_test(test_fdlimit_warning_only_when_short),
		cmocka_unit_test(test_fdlimit_raise_up_to_the_need),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
