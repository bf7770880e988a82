/*
 * test_snapshot.c — a pool's members as the merge of its static members
 * and its DNS answer: added, removed, unchanged, flapping, overlapping
 * addresses, empty answers, and which new members may serve at once.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "pool.h"
#include "snapshot.h"

/* blue: one static member and a name; green: static only */
#define CONF \
	"pools = {\n" \
	"  blue = { members = [ \"127.0.0.1:9001\" ];\n" \
	"    dns = \"app-blue.prod.svc.cluster.local:8080\"; };\n" \
	"  green = { members = [ \"127.0.0.1:9002\" ]; };\n" \
	"};\n"

struct fixture {
	char			 path[64];
	struct config		*cf;
	struct snapshot_dns	 dns[POOL_COUNT];
	struct snapshot		*s;	/* the live one */
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));
	FILE		*fp;
	char		 err[512];
	int		 fd;

	snprintf(f->path, sizeof(f->path), "/tmp/test_snapshot.XXXXXX");
	assert_true((fd = mkstemp(f->path)) != -1);
	assert_non_null(fp = fdopen(fd, "w"));
	fputs(CONF, fp);
	fclose(fp);
	if ((f->cf = config_load(f->path, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	snapshot_unref(f->s);
	for (int i = 0; i < POOL_COUNT; i++)
		snapshot_dns_clear(&f->dns[i]);
	config_free(f->cf);
	unlink(f->path);
	free(f);
	return (0);
}

/* Applies an answer of n "ip:port" strings to blue's set; returns what
 * snapshot_dns_apply returned. */
static int
answer(struct fixture *f, size_t n, ...)
{
	struct addr	a[8];
	char		err[128];
	va_list		ap;
	int		rc;

	assert_true(n <= 8);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		if (addr_parse(va_arg(ap, const char *), &a[i], false, err,
		    sizeof(err)) == -1)
			fail_msg("%s", err);
	va_end(ap);
	rc = snapshot_dns_apply(&f->dns[POOL_BLUE], a, n);
	return (rc);
}

/* Builds the next snapshot from the live one and makes it live; returns
 * the old one (the caller drops it), as a request still holding it would
 * see it. */
static struct snapshot *
rebuild(struct fixture *f)
{
	struct snapshot	*old = f->s, *s;

	assert_non_null(s = snapshot_build_dns(f->cf, old, POOL_BLUE,
	    f->dns));
	f->s = s;
	return (old);
}

static struct member *
find(const struct snapshot *s, const char *text)
{
	struct addr	a;
	char		err[128];

	assert_int_equal(addr_parse(text, &a, false, err, sizeof(err)), 0);
	return (pool_find(s->pools[POOL_BLUE], &a));
}

/* Makes m up as its probes would: rise (2) successes. */
static void
probe_up(struct member *m)
{
	member_apply_probe(m, true, 2, 3);
	member_apply_probe(m, true, 2, 3);
	assert_int_equal(m->health, HEALTH_UP);
}

static void
test_snapshot_never_resolved_has_static_members_only(void **state)
{
	struct fixture	*f = *state;

	snapshot_unref(rebuild(f));
	assert_int_equal(f->s->pools[POOL_BLUE]->nmembers, 1);
	assert_non_null(find(f->s, "127.0.0.1:9001"));
	/* and a pool with only a name that never resolved has none */
	free(f->cf->pools[POOL_BLUE].members);
	f->cf->pools[POOL_BLUE].members = NULL;
	f->cf->pools[POOL_BLUE].nmembers = 0;
	snapshot_unref(rebuild(f));
	assert_int_equal(f->s->pools[POOL_BLUE]->nmembers, 0);
	assert_null(pool_select(f->s->pools[POOL_BLUE], 0, NULL, 0));
}

static void
test_snapshot_first_answer_members_usable_at_once(void **state)
{
	struct fixture	*f = *state;
	struct member	*m;

	snapshot_unref(rebuild(f));
	assert_int_equal(answer(f, 2, "127.0.0.3:8080", "127.0.0.2:8080"), 1);
	snapshot_unref(rebuild(f));
	assert_int_equal(f->s->pools[POOL_BLUE]->nmembers, 3);
	/* static first, then the answer in address order */
	assert_string_equal(f->s->pools[POOL_BLUE]->members[0]->addr.text,
	    "127.0.0.1:9001");
	assert_string_equal(f->s->pools[POOL_BLUE]->members[1]->addr.text,
	    "127.0.0.2:8080");
	assert_non_null(m = find(f->s, "127.0.0.3:8080"));
	assert_int_equal(m->health, HEALTH_UNKNOWN);
	assert_true(member_is_usable(m));
	assert_false(member_is_healthy(m));
	assert_int_equal(m->pool, POOL_BLUE);
	/* green has no name: untouched */
	assert_int_equal(f->s->pools[POOL_GREEN]->nmembers, 1);
}

static void
test_snapshot_added_later_waits_for_probes(void **state)
{
	struct fixture	*f = *state;
	struct member	*m;

	answer(f, 1, "127.0.0.2:8080");
	snapshot_unref(rebuild(f));
	assert_int_equal(answer(f, 2, "127.0.0.2:8080", "127.0.0.5:8080"), 1);
	snapshot_unref(rebuild(f));
	assert_non_null(m = find(f->s, "127.0.0.5:8080"));
	assert_int_equal(m->health, HEALTH_NEW);
	assert_string_equal(member_health_name(m->health), "new");
	assert_false(member_is_usable(m));
	assert_false(member_is_healthy(m));
	assert_int_equal(pool_healthy(f->s->pools[POOL_BLUE]), 0);
	/* round robin passes it over, however often it comes round */
	for (int i = 0; i < 6; i++)
		assert_ptr_not_equal(pool_select(f->s->pools[POOL_BLUE], 0,
		    NULL, 0), m);
	/* one success is not enough; rise is */
	assert_false(member_apply_probe(m, true, 2, 3));
	assert_false(member_is_usable(m));
	assert_true(member_apply_probe(m, true, 2, 3));
	assert_int_equal(m->health, HEALTH_UP);
	assert_true(member_is_usable(m));
	assert_int_equal(pool_healthy(f->s->pools[POOL_BLUE]), 1);
}

static void
test_snapshot_new_member_down_at_first_failed_probe(void **state)
{
	struct fixture	*f = *state;
	struct member	*m;

	answer(f, 1, "127.0.0.2:8080");
	snapshot_unref(rebuild(f));
	answer(f, 2, "127.0.0.2:8080", "127.0.0.5:8080");
	snapshot_unref(rebuild(f));
	m = find(f->s, "127.0.0.5:8080");
	assert_true(member_apply_probe(m, false, 2, 3));
	assert_int_equal(m->health, HEALTH_DOWN);
}

static void
test_snapshot_unchanged_member_is_shared_with_its_state(void **state)
{
	struct fixture	*f = *state;
	struct member	*m, *st;
	struct member_counts n;

	answer(f, 2, "127.0.0.2:8080", "127.0.0.3:8080");
	snapshot_unref(rebuild(f));
	m = find(f->s, "127.0.0.2:8080");
	st = find(f->s, "127.0.0.1:9001");
	probe_up(m);
	member_set_admin(m, MEMBER_DRAIN);
	m->local[0].requests = 41;
	answer(f, 3, "127.0.0.2:8080", "127.0.0.3:8080", "127.0.0.4:8080");
	snapshot_unref(rebuild(f));
	assert_ptr_equal(find(f->s, "127.0.0.2:8080"), m);
	assert_ptr_equal(find(f->s, "127.0.0.1:9001"), st);
	assert_int_equal(m->health, HEALTH_UP);
	assert_int_equal(m->admin, MEMBER_DRAIN);
	member_counts(m, &n);
	assert_int_equal(n.requests, 41);
}

static void
test_snapshot_removed_member_leaves_but_old_snapshot_keeps_it(void **state)
{
	struct fixture	*f = *state;
	struct snapshot	*old;
	struct member	*m;
	char		 diff[128];
	size_t		 added, removed;

	answer(f, 2, "127.0.0.2:8080", "127.0.0.3:8080");
	snapshot_unref(rebuild(f));
	m = find(f->s, "127.0.0.3:8080");
	assert_int_equal(answer(f, 1, "127.0.0.2:8080"), 1);
	old = rebuild(f);
	assert_null(find(f->s, "127.0.0.3:8080"));
	assert_int_equal(f->s->pools[POOL_BLUE]->nmembers, 2);
	assert_false(snapshot_has_member(f->s, m));
	/* a request routed with old finishes on it: m lives while it does */
	assert_ptr_equal(find(old, "127.0.0.3:8080"), m);
	assert_true(snapshot_has_member(old, m));
	snapshot_diff(old, f->s, POOL_BLUE, diff, sizeof(diff), &added,
	    &removed);
	assert_string_equal(diff, "-127.0.0.3:8080");
	assert_int_equal(added, 0);
	assert_int_equal(removed, 1);
	snapshot_unref(old);
}

static void
test_snapshot_flapping_address_is_a_new_member(void **state)
{
	struct fixture	*f = *state;
	struct member	*m, *again;

	answer(f, 2, "127.0.0.2:8080", "127.0.0.3:8080");
	snapshot_unref(rebuild(f));
	m = member_ref(find(f->s, "127.0.0.3:8080"));
	probe_up(m);
	answer(f, 1, "127.0.0.2:8080");
	snapshot_unref(rebuild(f));
	answer(f, 2, "127.0.0.2:8080", "127.0.0.3:8080");
	snapshot_unref(rebuild(f));
	assert_non_null(again = find(f->s, "127.0.0.3:8080"));
	assert_ptr_not_equal(again, m);
	assert_int_equal(again->health, HEALTH_NEW);
	assert_false(member_is_usable(again));
	member_unref(m);
}

static void
test_snapshot_static_and_dns_overlap_once(void **state)
{
	struct fixture	*f = *state;
	struct member	*st;
	char		 diff[128];
	size_t		 added, removed;
	struct snapshot	*old;

	snapshot_unref(rebuild(f));
	st = find(f->s, "127.0.0.1:9001");
	answer(f, 2, "127.0.0.1:9001", "127.0.0.2:9001");
	snapshot_unref(rebuild(f));
	assert_int_equal(f->s->pools[POOL_BLUE]->nmembers, 2);
	assert_ptr_equal(find(f->s, "127.0.0.1:9001"), st);
	/* leaving DNS does not take away a static member */
	answer(f, 1, "127.0.0.2:9001");
	old = rebuild(f);
	assert_ptr_equal(find(f->s, "127.0.0.1:9001"), st);
	snapshot_diff(old, f->s, POOL_BLUE, diff, sizeof(diff), &added,
	    &removed);
	assert_int_equal(added + removed, 0);
	assert_string_equal(diff, "");
	snapshot_unref(old);
}

static void
test_snapshot_empty_answer_keeps_the_last_set(void **state)
{
	struct fixture		*f = *state;
	struct snapshot_dns	*d = &f->dns[POOL_BLUE];

	assert_int_equal(answer(f, 2, "127.0.0.2:8080", "127.0.0.3:8080"), 1);
	assert_int_equal(answer(f, 0), 0);
	assert_int_equal(d->naddrs, 2);
	snapshot_unref(rebuild(f));
	assert_int_equal(f->s->pools[POOL_BLUE]->nmembers, 3);
	/* a failed lookup is never applied: the snapshot built after it
	 * from the same set has the same members */
	struct member *m = find(f->s, "127.0.0.2:8080");
	snapshot_unref(rebuild(f));
	assert_ptr_equal(find(f->s, "127.0.0.2:8080"), m);
	assert_int_equal(f->s->pools[POOL_BLUE]->nmembers, 3);
}

static void
test_snapshot_dns_apply_sorts_and_drops_repeats(void **state)
{
	struct fixture		*f = *state;
	struct snapshot_dns	*d = &f->dns[POOL_BLUE];

	assert_int_equal(answer(f, 4, "127.0.0.3:8080", "[::1]:8080",
	    "127.0.0.2:8080", "127.0.0.3:8080"), 1);
	assert_int_equal(d->naddrs, 3);
	for (size_t i = 1; i < d->naddrs; i++)
		assert_true(addr_cmp(&d->addrs[i - 1], &d->addrs[i]) < 0);
	/* the same set in another order is no change */
	assert_int_equal(answer(f, 3, "[::1]:8080", "127.0.0.2:8080",
	    "127.0.0.3:8080"), 0);
	assert_int_equal(d->answers, 2);
	assert_int_equal(answer(f, 1, "127.0.0.2:8080"), 1);
	assert_int_equal(d->naddrs, 1);
	snapshot_dns_clear(d);
	assert_int_equal(d->naddrs, 0);
	assert_int_equal(d->answers, 0);
}

static void
test_snapshot_diff_lists_added_and_removed(void **state)
{
	struct fixture	*f = *state;
	struct snapshot	*old;
	char		 diff[128], tiny[24];
	size_t		 added, removed;

	answer(f, 2, "127.0.0.2:8080", "127.0.0.3:8080");
	snapshot_unref(rebuild(f));
	answer(f, 3, "127.0.0.2:8080", "127.0.0.5:8080", "127.0.0.6:8080");
	old = rebuild(f);
	snapshot_diff(old, f->s, POOL_BLUE, diff, sizeof(diff), &added,
	    &removed);
	assert_string_equal(diff, "+127.0.0.5:8080 +127.0.0.6:8080 "
	    "-127.0.0.3:8080");
	assert_int_equal(added, 2);
	assert_int_equal(removed, 1);
	/* too long for the buffer: cut short, counts still whole */
	snapshot_diff(old, f->s, POOL_BLUE, tiny, sizeof(tiny), &added,
	    &removed);
	assert_string_equal(tiny, "+127.0.0.5:8080 ...");
	assert_int_equal(added + removed, 3);
	snapshot_unref(old);
}

#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_snapshot_never_resolved_has_static_members_only),
		T(test_snapshot_first_answer_members_usable_at_once),
		T(test_snapshot_added_later_waits_for_probes),
		T(test_snapshot_new_member_down_at_first_failed_probe),
		T(test_snapshot_unchanged_member_is_shared_with_its_state),
		T(test_snapshot_removed_member_leaves_but_old_snapshot_keeps_it),
		T(test_snapshot_flapping_address_is_a_new_member),
		T(test_snapshot_static_and_dns_overlap_once),
		T(test_snapshot_empty_answer_keeps_the_last_set),
		T(test_snapshot_dns_apply_sorts_and_drops_repeats),
		T(test_snapshot_diff_lists_added_and_removed),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
