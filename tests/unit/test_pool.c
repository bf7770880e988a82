/*
 * test_pool.c — pool names, round-robin member selection, skipping the
 * members a request already tried, in-flight counts, reference counts.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "pool.h"

static struct pool *
pool_of(size_t n)
{
	struct pool	*p;
	struct addr	 a;
	char		 s[32], err[128];

	p = pool_new(POOL_BLUE, n);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		snprintf(s, sizeof(s), "127.0.0.1:%zu", 9001 + i);
		assert_int_equal(addr_parse(s, &a, false, err, sizeof(err)), 0);
		pool_add(p, member_new(POOL_BLUE, &a));
	}
	return (p);
}

static int
setup(void **state)
{
	*state = pool_of(3);
	return (0);
}

static int
teardown(void **state)
{
	pool_unref(*state);
	return (0);
}

static void
test_pool_names_parse_and_print(void **state)
{
	enum pool_id	id;

	assert_int_equal(pool_parse("blue", &id), 0);
	assert_int_equal(id, POOL_BLUE);
	assert_int_equal(pool_parse("green", &id), 0);
	assert_int_equal(id, POOL_GREEN);
	assert_int_equal(pool_parse("Blue", &id), -1);
	assert_int_equal(pool_parse("", &id), -1);
	assert_string_equal(pool_name(POOL_GREEN), "green");
}

static void
test_pool_select_round_robin_visits_each_in_turn(void **state)
{
	struct pool	*p = *state;

	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < p->nmembers; i++)
			assert_ptr_equal(pool_select(p, 0, NULL, 0),
			    p->members[i]);
}

static void
test_pool_select_skips_tried_members(void **state)
{
	struct pool	*p = *state;
	struct member	*tried[2] = { p->members[0], p->members[1] };

	/* whatever the cursor says, only the untried member is chosen */
	for (int i = 0; i < 4; i++)
		assert_ptr_equal(pool_select(p, 0, tried, 2), p->members[2]);
}

static void
test_pool_select_all_tried_returns_null(void **state)
{
	struct pool	*p = *state;

	assert_null(pool_select(p, 0, p->members, p->nmembers));
}

static void
test_pool_find_by_address(void **state)
{
	struct pool	*p = *state;
	struct addr	 a;
	char		 err[128];

	assert_int_equal(addr_parse("127.0.0.1:9002", &a, false, err,
	    sizeof(err)), 0);
	assert_ptr_equal(pool_find(p, &a), p->members[1]);
	assert_int_equal(addr_parse("127.0.0.1:9999", &a, false, err,
	    sizeof(err)), 0);
	assert_null(pool_find(p, &a));
}

static void
test_pool_find_indexed_many_members_finds_each(void **state)
{
	struct pool	*p = pool_new(POOL_BLUE, 16000);
	struct addr	 a;
	char		 s[48], err[128];

	assert_non_null(p);
	/* IPv4 and IPv6, ports and addresses mixed, in no sorted order */
	for (size_t i = 0; i < 16000; i++) {
		if (i % 2 == 0)
			snprintf(s, sizeof(s), "127.%zu.%zu.1:%zu", i % 7,
			    i / 7 % 256, 80 + i / 1792);
		else
			snprintf(s, sizeof(s), "[fd00::%zx]:%zu", i, 443 + i % 3);
		assert_int_equal(addr_parse(s, &a, false, err, sizeof(err)), 0);
		pool_add(p, member_new(POOL_BLUE, &a));
	}
	assert_int_equal(pool_index(p), 0);
	for (size_t i = 0; i < p->nmembers; i++)
		assert_ptr_equal(pool_find(p, &p->members[i]->addr),
		    p->members[i]);
	/* the configuration order is kept for round robin */
	assert_string_equal(p->members[1]->addr.text, "[fd00::1]:444");
	assert_int_equal(addr_parse("127.0.0.1:9", &a, false, err,
	    sizeof(err)), 0);
	assert_null(pool_find(p, &a));
	assert_int_equal(addr_parse("[fd00::1]:443", &a, false, err,
	    sizeof(err)), 0);
	assert_null(pool_find(p, &a));
	pool_unref(p);
}

static void
test_pool_member_outlives_pool_while_referenced(void **state)
{
	struct pool	*p = pool_of(1);
	struct member	*m = member_ref(p->members[0]);

	pool_unref(p);
	/* still valid: a request routed to it holds a reference */
	assert_string_equal(m->addr.text, "127.0.0.1:9001");
	assert_int_equal(m->refcnt, 1);
	member_unref(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_names_parse_and_print),
		cmocka_unit_test_setup_teardown(
		    test_pool_select_round_robin_visits_each_in_turn,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_pool_select_skips_tried_members, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_pool_select_all_tried_returns_null, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_find_by_address,
		    setup, teardown),
		cmocka_unit_test(
		    test_pool_find_indexed_many_members_finds_each),
		cmocka_unit_test(
		    test_pool_member_outlives_pool_while_referenced),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
