/*
 * test_router.c — switch and rollback on the live snapshot; a request's
 * snapshot is untouched by a switch; a reload keeps unchanged members;
 * readers on other threads take the published snapshot while it changes.
 */
#include "autoconf.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "router.h"
#include "snapshot.h"

struct fixture {
	char		 path[64];
	struct config	*cf;
	struct router	*r;
	char		 msg[256];
};

static struct config *
load(struct fixture *f, const char *text)
{
	FILE		*fp;
	struct config	*cf;
	char		 err[512];

	assert_non_null(fp = fopen(f->path, "w"));
	fputs(text, fp);
	fclose(fp);
	cf = config_load(f->path, err, sizeof(err));
	if (cf == NULL)
		fail_msg("%s", err);
	return (cf);
}

#define TWO_POOLS(extra) \
	"pools = { blue = { members = [ \"127.0.0.1:9001\", " \
	"\"127.0.0.1:9003\" ]; }; green = { members = [ \"127.0.0.1:9002\" ]; };" \
	" };\n" extra

/* What cutover_rollback does after its health gate. */
static int
rollback(struct fixture *f)
{
	enum pool_id	id;

	if (router_previous(f->r, &id, f->msg, sizeof(f->msg)) == -1)
		return (-1);
	return (router_switch(f->r, id, f->msg, sizeof(f->msg)));
}

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));
	int		 fd;

	snprintf(f->path, sizeof(f->path), "/tmp/test_router.XXXXXX");
	assert_true((fd = mkstemp(f->path)) != -1);
	close(fd);
	f->cf = load(f, TWO_POOLS(""));
	f->r = router_new(snapshot_build(f->cf, NULL, f->cf->active), 1);
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	router_free(f->r);
	config_free(f->cf);
	unlink(f->path);
	free(f);
	return (0);
}

static void
test_router_starts_on_configured_pool_without_history(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(router_live(f->r)->active, POOL_BLUE);
	assert_false(router_live(f->r)->has_previous);
	assert_int_equal(rollback(f), -1);
	assert_string_equal(f->msg,
	    "nothing to roll back: blue has been active since start");
}

static void
test_router_switch_changes_active_pool(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(router_switch(f->r, POOL_GREEN, f->msg,
	    sizeof(f->msg)), 0);
	assert_string_equal(f->msg, "switched blue -> green");
	assert_int_equal(router_live(f->r)->active, POOL_GREEN);
	assert_ptr_equal(snapshot_active(router_live(f->r)),
	    router_live(f->r)->pools[POOL_GREEN]);
}

static void
test_router_switch_to_active_pool_is_ok_and_changes_nothing(void **state)
{
	struct fixture	*f = *state;
	struct snapshot	*before = router_live(f->r);

	assert_int_equal(router_switch(f->r, POOL_BLUE, f->msg,
	    sizeof(f->msg)), 0);
	assert_string_equal(f->msg, "blue is already active");
	assert_ptr_equal(router_live(f->r), before);
}

static void
test_router_rollback_returns_to_previous_pool(void **state)
{
	struct fixture	*f = *state;

	router_switch(f->r, POOL_GREEN, f->msg, sizeof(f->msg));
	assert_int_equal(rollback(f), 0);
	assert_string_equal(f->msg, "switched green -> blue");
	assert_int_equal(router_live(f->r)->active, POOL_BLUE);
	/* and rollback again undoes the rollback */
	assert_int_equal(rollback(f), 0);
	assert_int_equal(router_live(f->r)->active, POOL_GREEN);
}

static void
test_router_request_snapshot_survives_switch(void **state)
{
	struct fixture	*f = *state;
	struct snapshot	*held = snapshot_ref(router_live(f->r));

	router_switch(f->r, POOL_GREEN, f->msg, sizeof(f->msg));
	/* a request routed before the switch still sees blue */
	assert_int_equal(held->active, POOL_BLUE);
	assert_int_equal(router_live(f->r)->active, POOL_GREEN);
	/* the pools are shared, not copied */
	assert_ptr_equal(held->pools[POOL_BLUE],
	    router_live(f->r)->pools[POOL_BLUE]);
	snapshot_unref(held);
}

static void
test_router_reload_keeps_unchanged_members(void **state)
{
	struct fixture		*f = *state;
	struct snapshot		*old = router_live(f->r), *s;
	struct member		*kept = old->pools[POOL_BLUE]->members[0];
	struct member_counts	 n;
	struct config		*cf;

	kept->local[0].requests = 42;
	cf = load(f, "pools = { blue = { members = [ \"127.0.0.1:9001\", "
	    "\"127.0.0.1:9005\" ]; }; green = { members = [ "
	    "\"127.0.0.1:9002\" ]; }; };\n");
	s = snapshot_build(cf, old, old->active);
	router_install(f->r, s);
	config_free(cf);
	assert_ptr_equal(s->pools[POOL_BLUE]->members[0], kept);
	member_counts(kept, &n);
	assert_int_equal(n.requests, 42);
	assert_string_equal(s->pools[POOL_BLUE]->members[1]->addr.text,
	    "127.0.0.1:9005");
	member_counts(s->pools[POOL_BLUE]->members[1], &n);
	assert_int_equal(n.requests, 0);
}

static void
test_router_reload_with_new_active_records_previous(void **state)
{
	struct fixture	*f = *state;
	struct snapshot	*s;

	s = snapshot_build(f->cf, router_live(f->r), POOL_GREEN);
	router_install(f->r, s);
	assert_int_equal(router_live(f->r)->active, POOL_GREEN);
	assert_int_equal(rollback(f), 0);
	assert_int_equal(router_live(f->r)->active, POOL_BLUE);
}

/* A reader's reference is its own: the router's next switch neither frees
 * nor changes it, and the pointer readers compare with moves on. */
static void
test_router_acquire_takes_a_reference(void **state)
{
	struct fixture	*f = *state;
	struct snapshot	*s = router_acquire(f->r, 0);

	assert_ptr_equal(s, router_live(f->r));
	assert_ptr_equal(router_peek(f->r), s);
	assert_int_equal(atomic_load(&s->refcnt), 2);
	assert_int_equal(router_switch(f->r, POOL_GREEN, f->msg,
	    sizeof(f->msg)), 0);
	assert_true(router_peek(f->r) != s);
	assert_int_equal(s->active, POOL_BLUE);
	assert_int_equal(atomic_load(&s->refcnt), 1);
	snapshot_unref(s);
}

#define READERS		2
#define SWITCHES	2000

struct reader {
	pthread_t	 thread;
	struct router	*r;
	unsigned	 id;
	atomic_bool	*stop;
	unsigned	 changes;	/* snapshots it took */
	bool		 bad;		/* saw a snapshot that made no sense */
};

/* What a worker does per request: compare, take the new one if it
 * changed, use it.  A snapshot freed under it is AddressSanitizer's (or
 * ThreadSanitizer's) to report. */
static void *
reader_main(void *arg)
{
	struct reader	*rd = arg;
	struct snapshot	*held = router_acquire(rd->r, rd->id), *s;

	while (!atomic_load(rd->stop)) {
		if (router_peek(rd->r) != held) {
			s = router_acquire(rd->r, rd->id);
			snapshot_unref(held);
			held = s;
			rd->changes++;
		}
		if (held->active >= POOL_COUNT ||
		    held->pools[held->active]->nmembers == 0)
			rd->bad = true;
	}
	snapshot_unref(held);
	return (NULL);
}

static void
test_router_readers_follow_switches(void **state)
{
	struct fixture	*f = *state;
	struct router	*r;
	struct reader	 rd[READERS];
	atomic_bool	 stop = false;
	struct snapshot	*s;

	assert_non_null(r = router_new(snapshot_build(f->cf, NULL, POOL_BLUE),
	    READERS));
	for (unsigned i = 0; i < READERS; i++) {
		rd[i] = (struct reader){ .r = r, .id = i, .stop = &stop };
		assert_int_equal(pthread_create(&rd[i].thread, NULL,
		    reader_main, &rd[i]), 0);
	}
	for (unsigned k = 0; k < SWITCHES; k++)
		assert_int_equal(router_switch(r, k % 2 == 0 ? POOL_GREEN :
		    POOL_BLUE, f->msg, sizeof(f->msg)), 0);
	/* after the last switch, a reader's next look takes it */
	s = router_acquire(r, 0);
	assert_int_equal(s->active, POOL_BLUE);
	snapshot_unref(s);
	atomic_store(&stop, true);
	for (unsigned i = 0; i < READERS; i++) {
		pthread_join(rd[i].thread, NULL);
		assert_false(rd[i].bad);
	}
	router_free(r);
}

static void
test_router_shift_published_and_ended(void **state)
{
	struct fixture	*f = *state;
	struct snapshot	*s = router_live(f->r);
	/* the old snapshot is freed once replaced: keep what is compared */
	uint64_t	 gen = s->generation;
	struct pool	*green = s->pools[POOL_GREEN];

	assert_int_equal(router_shift(f->r, POOL_GREEN, 10, f->msg,
	    sizeof(f->msg)), 0);
	assert_string_equal(f->msg, "shifted 10% to green (was 0%)");
	s = router_live(f->r);
	assert_true(s->generation > gen);
	assert_int_equal(s->active, POOL_BLUE);
	assert_int_equal(s->shift_pool, POOL_GREEN);
	assert_int_equal(s->shift_percent, 10);
	/* the pools are shared, not rebuilt */
	assert_ptr_equal(s->pools[POOL_GREEN], green);
	assert_int_equal(router_shift(f->r, POOL_GREEN, 50, f->msg,
	    sizeof(f->msg)), 0);
	assert_string_equal(f->msg, "shifted 50% to green (was 10%)");
	assert_int_equal(router_shift(f->r, POOL_GREEN, 0, f->msg,
	    sizeof(f->msg)), 0);
	assert_string_equal(f->msg, "shift ended: all to blue");
	assert_int_equal(router_live(f->r)->shift_percent, 0);
	assert_int_equal(router_live(f->r)->active, POOL_BLUE);
}

static void
test_router_shift_refused(void **state)
{
	struct fixture	*f = *state;
	struct snapshot	*before = router_live(f->r);

	/* refused: nothing is published, before stays live */
	assert_int_equal(router_shift(f->r, POOL_BLUE, 10, f->msg,
	    sizeof(f->msg)), -1);
	assert_string_equal(f->msg, "blue is the active pool: shift the "
	    "other one, or switch");
	assert_int_equal(router_shift(f->r, POOL_GREEN, 101, f->msg,
	    sizeof(f->msg)), -1);
	assert_string_equal(f->msg, "percent 101 is not in 0..100");
	assert_ptr_equal(router_live(f->r), before);
}

static void
test_router_switch_ends_shift_reload_keeps_it(void **state)
{
	struct fixture	*f = *state;
	struct config	*cf;

	router_shift(f->r, POOL_GREEN, 30, f->msg, sizeof(f->msg));
	/* a reload (same active pool) keeps it */
	cf = load(f, TWO_POOLS(""));
	router_install(f->r, snapshot_build(cf, router_live(f->r),
	    router_live(f->r)->active));
	config_free(cf);
	assert_int_equal(router_live(f->r)->shift_percent, 30);
	assert_int_equal(router_live(f->r)->shift_pool, POOL_GREEN);
	/* a switch to the active pool ends it, and says only that */
	assert_int_equal(router_switch(f->r, POOL_BLUE, f->msg,
	    sizeof(f->msg)), 0);
	assert_string_equal(f->msg, "blue is already active");
	assert_int_equal(router_live(f->r)->shift_percent, 0);
	/* as does a switch to the shifted pool, and rollback after it */
	router_shift(f->r, POOL_GREEN, 30, f->msg, sizeof(f->msg));
	assert_int_equal(router_switch(f->r, POOL_GREEN, f->msg,
	    sizeof(f->msg)), 0);
	assert_int_equal(router_live(f->r)->active, POOL_GREEN);
	assert_int_equal(router_live(f->r)->shift_percent, 0);
	router_shift(f->r, POOL_BLUE, 5, f->msg, sizeof(f->msg));
	assert_int_equal(rollback(f), 0);
	assert_int_equal(router_live(f->r)->active, POOL_BLUE);
	assert_int_equal(router_live(f->r)->shift_percent, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_router_starts_on_configured_pool_without_history,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_router_switch_changes_active_pool, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_router_switch_to_active_pool_is_ok_and_changes_nothing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_router_rollback_returns_to_previous_pool,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_router_shift_published_and_ended, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_router_shift_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_router_switch_ends_shift_reload_keeps_it, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_router_request_snapshot_survives_switch,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_router_reload_keeps_unchanged_members,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_router_reload_with_new_active_records_previous,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_router_acquire_takes_a_reference, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_router_readers_follow_switches, setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
