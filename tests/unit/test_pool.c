/*
 * test_pool.c — pool names, round-robin member selection, skipping the
 * members a request already tried, panic picks when no member is usable,
 * in-flight counts, reference counts; a
 * member's state: the rise/fall state machine, passive failures, the admin
 * states and their names.
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

/* Takes every member of p down, as probes or refusals would. */
static void
pool_all_down(struct pool *p)
{
	for (size_t i = 0; i < p->nmembers; i++)
		member_fail_now(p->members[i], "connection refused");
}

/* What conn_relay does: a usable member, else a new one, else (panic on)
 * a panic pick. */
static struct member *
pick(struct pool *p, struct member *const *tried, size_t ntried)
{
	struct member	*m = pool_select(p, 0, tried, ntried);

	if (m == NULL)
		m = pool_select_new(p, 0, tried, ntried);
	return (m != NULL ? m : pool_select_panic(p, 0, tried, ntried));
}

static void
test_pool_select_panic_all_down_picks_ready_round_robin(void **state)
{
	struct pool	*p = *state;
	struct member	*m;

	pool_all_down(p);
	assert_null(pool_select(p, 0, NULL, 0));	/* panic off: none */
	assert_true(pool_is_panic(p));
	assert_int_equal(pool_usable(p), 0);
	assert_int_equal(pool_panic_members(p), 3);
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < p->nmembers; i++) {
			m = pick(p, NULL, 0);
			assert_ptr_equal(m, p->members[i]);
			/* a panic pick changes nothing: probes decide */
			assert_int_equal(m->health, HEALTH_DOWN);
			assert_int_equal(m->ok_streak, 0);
			assert_int_equal(m->fail_streak, 1);
		}
}

static void
test_pool_select_panic_never_picks_drain_or_maint(void **state)
{
	struct pool	*p = *state;

	pool_all_down(p);
	member_set_admin(p->members[0], MEMBER_DRAIN);
	member_set_admin(p->members[1], MEMBER_MAINT);
	assert_true(pool_is_panic(p));
	assert_int_equal(pool_panic_members(p), 1);
	for (int i = 0; i < 6; i++)
		assert_ptr_equal(pick(p, NULL, 0), p->members[2]);
	/* none ready: no panic, nothing to route to */
	member_set_admin(p->members[2], MEMBER_MAINT);
	assert_false(pool_is_panic(p));
	assert_null(pick(p, NULL, 0));
}

static void
test_pool_select_panic_skips_tried_members(void **state)
{
	struct pool	*p = *state;
	struct member	*tried[2] = { p->members[0], p->members[2] };

	pool_all_down(p);
	for (int i = 0; i < 4; i++)
		assert_ptr_equal(pick(p, tried, 2), p->members[1]);
	assert_null(pick(p, p->members, p->nmembers));
}

static void
test_pool_select_new_members_serve_when_nothing_else_can(void **state)
{
	struct pool	*p = *state;

	/* every old Pod replaced: the new ones wait for their probes */
	member_fail_now(p->members[0], "connection refused");
	member_set_new(p->members[1]);
	member_set_new(p->members[2]);
	assert_null(pool_select(p, 0, NULL, 0));
	assert_false(pool_is_panic(p));
	for (int round = 0; round < 2; round++) {
		assert_ptr_equal(pick(p, NULL, 0), p->members[1]);
		assert_ptr_equal(pick(p, NULL, 0), p->members[2]);
	}
	assert_int_equal(p->members[1]->health, HEALTH_NEW);
	/* a new member in maint is never picked; tried ones are passed */
	member_set_admin(p->members[1], MEMBER_MAINT);
	for (int i = 0; i < 3; i++)
		assert_ptr_equal(pick(p, NULL, 0), p->members[2]);
	assert_ptr_equal(pick(p, &p->members[2], 1), p->members[0]);
	/* one usable member: new ones wait for their probes again */
	member_set_admin(p->members[1], MEMBER_READY);
	assert_true(member_apply_probe(p->members[0], true, 1, 1));
	for (int i = 0; i < 3; i++)
		assert_ptr_equal(pick(p, NULL, 0), p->members[0]);
}

static void
test_pool_select_one_usable_member_is_no_panic(void **state)
{
	struct pool	*p = *state;

	member_fail_now(p->members[0], "connection refused");
	member_fail_now(p->members[1], "connection refused");
	/* members[2] is unknown: usable, so the pool is not in panic */
	assert_false(pool_is_panic(p));
	assert_int_equal(pool_usable(p), 1);
	for (int i = 0; i < 4; i++)
		assert_ptr_equal(pick(p, NULL, 0), p->members[2]);
	assert_true(member_apply_probe(p->members[2], true, 1, 1));
	assert_false(pool_is_panic(p));
	assert_ptr_equal(pick(p, NULL, 0), p->members[2]);
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

static int
setup_member(void **state)
{
	struct addr	a;
	char		err[128];

	assert_int_equal(addr_parse("127.0.0.1:9001", &a, false, err,
	    sizeof(err)), 0);
	*state = member_new(POOL_BLUE, &a);
	return (0);
}

static int
teardown_member(void **state)
{
	member_unref(*state);
	return (0);
}

static void
test_member_unknown_member_is_usable_but_not_healthy(void **state)
{
	struct member	*m = *state;

	assert_int_equal(m->health, HEALTH_UNKNOWN);
	assert_true(member_is_usable(m));
	assert_false(member_is_healthy(m));
}

static void
test_member_rise_successes_make_it_up(void **state)
{
	struct member	*m = *state;

	assert_false(member_apply_probe(m, true, 2, 3));
	assert_int_equal(m->health, HEALTH_UNKNOWN);
	assert_true(member_apply_probe(m, true, 2, 3));
	assert_int_equal(m->health, HEALTH_UP);
	assert_true(member_is_healthy(m));
}

static void
test_member_unknown_goes_down_on_first_failure(void **state)
{
	struct member	*m = *state;

	assert_true(member_apply_probe(m, false, 2, 3));
	assert_int_equal(m->health, HEALTH_DOWN);
	assert_false(member_is_usable(m));
}

static void
test_member_up_needs_fall_failures_to_go_down(void **state)
{
	struct member	*m = *state;

	member_apply_probe(m, true, 1, 3);
	assert_false(member_apply_probe(m, false, 1, 3));
	assert_false(member_apply_probe(m, false, 1, 3));
	assert_int_equal(m->health, HEALTH_UP);
	assert_true(member_apply_probe(m, false, 1, 3));
	assert_int_equal(m->health, HEALTH_DOWN);
}

static void
test_member_success_resets_failure_streak(void **state)
{
	struct member	*m = *state;

	member_apply_probe(m, true, 1, 2);
	member_apply_probe(m, false, 1, 2);
	member_apply_probe(m, true, 1, 2);
	assert_int_equal(m->fail_streak, 0);
	assert_false(member_apply_probe(m, false, 1, 2));
	assert_int_equal(m->health, HEALTH_UP);
}

static void
test_member_down_needs_rise_successes_to_return(void **state)
{
	struct member	*m = *state;

	member_apply_probe(m, false, 3, 1);
	assert_false(member_apply_probe(m, true, 3, 1));
	assert_false(member_apply_probe(m, true, 3, 1));
	assert_true(member_apply_probe(m, true, 3, 1));
	assert_int_equal(m->health, HEALTH_UP);
}

static void
test_member_passive_failure_takes_member_down_at_once(void **state)
{
	struct member	*m = *state;

	member_apply_probe(m, true, 1, 3);
	member_fail_now(m, "connection refused");
	assert_int_equal(m->health, HEALTH_DOWN);
	assert_int_equal(m->ok_streak, 0);
	assert_string_equal(m->last, "passive: connection refused");
}

static void
test_member_observed_bad_answers_need_fall_in_a_row(void **state)
{
	struct member	*m = *state;

	member_apply_probe(m, true, 1, 3);
	member_observe(m, "invalid response", 3);
	member_observe(m, "invalid response", 3);
	assert_int_equal(m->health, HEALTH_UP);
	member_apply_probe(m, true, 1, 3);	/* a good probe forgives */
	member_observe(m, "invalid response", 3);
	member_observe(m, "invalid response", 3);
	assert_int_equal(m->health, HEALTH_UP);
	member_observe(m, "closed mid-response", 3);
	assert_int_equal(m->health, HEALTH_DOWN);
	assert_string_equal(m->last, "passive: closed mid-response");
}

static void
test_member_admin_state_overrides_health(void **state)
{
	struct member	*m = *state;

	member_apply_probe(m, true, 1, 3);
	member_set_admin(m, MEMBER_DRAIN);
	assert_false(member_is_usable(m));
	assert_false(member_is_healthy(m));
	member_set_admin(m, MEMBER_READY);
	assert_true(member_is_usable(m));
}

static void
test_member_fail_now_when_down_counts_but_reports_no_change(void **state)
{
	struct member	*m = *state;

	assert_true(member_fail_now(m, "connection refused"));
	assert_false(member_fail_now(m, "connection reset"));
	assert_int_equal(m->health, HEALTH_DOWN);
	assert_int_equal(m->fail_streak, 2);
	assert_string_equal(m->last, "passive: connection reset");
}

static void
test_member_observe_reports_going_down_once(void **state)
{
	struct member	*m = *state;

	member_apply_probe(m, true, 1, 2);
	assert_false(member_observe(m, "invalid response", 2));
	assert_true(member_observe(m, "invalid response", 2));
	assert_false(member_observe(m, "invalid response", 2));
	assert_int_equal(m->health, HEALTH_DOWN);
}

static void
test_member_set_last_records_result_lower_cased(void **state)
{
	struct member	*m = *state;

	assert_string_equal(m->last, "none yet");
	member_set_last(m, "Connection refused", 3);
	assert_string_equal(m->last, "connection refused");
	assert_int_equal(m->latency_ms, 3);
	member_set_last(m, "200", 1);
	assert_string_equal(m->last, "200");
	member_set_last(m, "OK", 1);		/* not a capitalised word */
	assert_string_equal(m->last, "OK");
}

static void
test_member_admin_names_parse_and_print(void **state)
{
	const char		*names[] = { "ready", "drain", "maint" };
	const char		*bad[] = { "", "Ready", "maintenance", "up",
				    "drain " };
	enum member_admin	 a;

	for (int i = 0; i < 3; i++) {
		assert_int_equal(member_admin_parse(names[i], &a), 0);
		assert_int_equal(a, i);
		assert_string_equal(member_admin_name(a), names[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(member_admin_parse(bad[i], &a), -1);
	assert_string_equal(member_health_name(HEALTH_UNKNOWN), "unknown");
	assert_string_equal(member_health_name(HEALTH_UP), "up");
	assert_string_equal(member_health_name(HEALTH_DOWN), "down");
}

static void
test_member_set_admin_returns_previous_state(void **state)
{
	struct member	*m = *state;

	assert_int_equal(member_set_admin(m, MEMBER_MAINT), MEMBER_READY);
	assert_int_equal(m->admin, MEMBER_MAINT);
	assert_false(member_is_usable(m));
	assert_int_equal(member_set_admin(m, MEMBER_READY), MEMBER_MAINT);
	assert_true(member_is_usable(m));
}

static void
test_pool_healthy_counts_ready_up_members(void **state)
{
	struct pool	*p = *state;

	assert_int_equal(pool_healthy(p), 0);
	member_apply_probe(p->members[0], true, 1, 3);
	member_apply_probe(p->members[1], true, 1, 3);
	assert_int_equal(pool_healthy(p), 2);
	member_set_admin(p->members[1], MEMBER_DRAIN);
	assert_int_equal(pool_healthy(p), 1);
	member_fail_now(p->members[0], "connection refused");
	assert_int_equal(pool_healthy(p), 0);
}

#define TM(name) cmocka_unit_test_setup_teardown(name, setup_member, \
	teardown_member)

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
		cmocka_unit_test_setup_teardown(
		    test_pool_select_panic_all_down_picks_ready_round_robin,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_pool_select_panic_never_picks_drain_or_maint,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_pool_select_panic_skips_tried_members, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_pool_select_new_members_serve_when_nothing_else_can,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_pool_select_one_usable_member_is_no_panic, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pool_find_by_address,
		    setup, teardown),
		cmocka_unit_test(
		    test_pool_find_indexed_many_members_finds_each),
		cmocka_unit_test(
		    test_pool_member_outlives_pool_while_referenced),
		cmocka_unit_test_setup_teardown(
		    test_pool_healthy_counts_ready_up_members, setup, teardown),
		cmocka_unit_test(test_member_admin_names_parse_and_print),
		TM(test_member_unknown_member_is_usable_but_not_healthy),
		TM(test_member_rise_successes_make_it_up),
		TM(test_member_unknown_goes_down_on_first_failure),
		TM(test_member_up_needs_fall_failures_to_go_down),
		TM(test_member_success_resets_failure_streak),
		TM(test_member_down_needs_rise_successes_to_return),
		TM(test_member_passive_failure_takes_member_down_at_once),
		TM(test_member_observed_bad_answers_need_fall_in_a_row),
		TM(test_member_admin_state_overrides_health),
		TM(test_member_fail_now_when_down_counts_but_reports_no_change),
		TM(test_member_observe_reports_going_down_once),
		TM(test_member_set_last_records_result_lower_cased),
		TM(test_member_set_admin_returns_previous_state),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
