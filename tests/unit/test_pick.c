/*
 * test_pick.c — a request's pool: preview (with and without the token),
 * weighted shift by bucket, active; the hash, the buckets' spread, the
 * cookie parser and the token compare.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pick.h"
#include "snapshot.h"

#define TOKEN	"s3cret-token"

/* A request naming pool (NULL: none) with token (NULL: none). */
static struct pick_req
req(const char *pool, const char *token, unsigned bucket)
{
	struct pick_req	q;

	memset(&q, 0, sizeof(q));
	q.pool = pool;
	q.pool_len = pool != NULL ? strlen(pool) : 0;
	q.token = token;
	q.token_len = token != NULL ? strlen(token) : 0;
	q.bucket = bucket;
	return (q);
}

/* pick_route reads the active pool and the shift of a snapshot only. */
static struct snapshot
snap(enum pool_id active, enum pool_id shift_pool, unsigned percent)
{
	struct snapshot	s;

	memset(&s, 0, sizeof(s));
	s.active = active;
	s.shift_pool = shift_pool;
	s.shift_percent = percent;
	return (s);
}

static void
test_active(void **state)
{
	struct snapshot	s = snap(POOL_GREEN, POOL_BLUE, 0);
	struct pick_req	q = req(NULL, NULL, 0);
	enum pool_id	id = POOL_BLUE;

	(void)state;
	assert_int_equal(pick_route(&s, NULL, &q, &id), PICK_ACTIVE);
	assert_int_equal(id, POOL_GREEN);
	/* a token set changes nothing for a request naming no pool */
	assert_int_equal(pick_route(&s, TOKEN, &q, &id), PICK_ACTIVE);
	assert_string_equal(pick_route_name(PICK_ACTIVE), "active");
}

static void
test_shift_buckets(void **state)
{
	struct snapshot	s = snap(POOL_BLUE, POOL_GREEN, 10);
	struct pick_req	q;
	enum pool_id	id;

	(void)state;
	for (unsigned b = 0; b < 100; b++) {
		q = req(NULL, NULL, b);
		assert_int_equal(pick_route(&s, NULL, &q, &id),
		    b < 10 ? PICK_SHIFT : PICK_ACTIVE);
		assert_int_equal(id, b < 10 ? POOL_GREEN : POOL_BLUE);
	}
	s.shift_percent = 100;
	q = req(NULL, NULL, 99);
	assert_int_equal(pick_route(&s, NULL, &q, &id), PICK_SHIFT);
	assert_int_equal(id, POOL_GREEN);
	s.shift_percent = 0;
	q = req(NULL, NULL, 0);
	assert_int_equal(pick_route(&s, NULL, &q, &id), PICK_ACTIVE);
	assert_int_equal(id, POOL_BLUE);
}

static void
test_preview_no_token(void **state)
{
	struct snapshot	s = snap(POOL_BLUE, POOL_GREEN, 100);
	struct pick_req	q = req("green", NULL, 50);
	enum pool_id	id;

	(void)state;
	assert_int_equal(pick_route(&s, NULL, &q, &id), PICK_PREVIEW);
	assert_int_equal(id, POOL_GREEN);
	/* preview wins over the shift, even to the active pool */
	q = req("blue", NULL, 0);
	assert_int_equal(pick_route(&s, NULL, &q, &id), PICK_PREVIEW);
	assert_int_equal(id, POOL_BLUE);
	/* any token is ignored when none is configured */
	q = req("green", "whatever", 0);
	assert_int_equal(pick_route(&s, NULL, &q, &id), PICK_PREVIEW);
}

static void
test_preview_token(void **state)
{
	struct snapshot	s = snap(POOL_BLUE, POOL_GREEN, 0);
	struct pick_req	q;
	enum pool_id	id;

	(void)state;
	q = req("green", TOKEN, 0);
	assert_int_equal(pick_route(&s, TOKEN, &q, &id), PICK_PREVIEW);
	assert_int_equal(id, POOL_GREEN);
	q = req("green", NULL, 0);
	assert_int_equal(pick_route(&s, TOKEN, &q, &id), PICK_REFUSED);
	q = req("green", "s3cret-tokeN", 0);
	assert_int_equal(pick_route(&s, TOKEN, &q, &id), PICK_REFUSED);
	q = req("green", "s3cret-token-and-more", 0);
	assert_int_equal(pick_route(&s, TOKEN, &q, &id), PICK_REFUSED);
	q = req("green", "s3cret", 0);
	assert_int_equal(pick_route(&s, TOKEN, &q, &id), PICK_REFUSED);
	q = req("green", "", 0);
	assert_int_equal(pick_route(&s, TOKEN, &q, &id), PICK_REFUSED);
	/* without the token, nothing is said about pool names either */
	q = req("purple", NULL, 0);
	assert_int_equal(pick_route(&s, TOKEN, &q, &id), PICK_REFUSED);
	q = req("purple", TOKEN, 0);
	assert_int_equal(pick_route(&s, TOKEN, &q, &id), PICK_BAD_POOL);
}

static void
test_bad_pool(void **state)
{
	struct snapshot	s = snap(POOL_BLUE, POOL_GREEN, 0);
	const char	*bad[] = { "", "purple", "Green ", "greenish",
			    "a-very-long-name-for-a-pool" };
	struct pick_req	q;
	enum pool_id	id;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		q = req(bad[i], NULL, 0);
		assert_int_equal(pick_route(&s, NULL, &q, &id),
		    PICK_BAD_POOL);
	}
	/* a value is its bytes, not up to a NUL */
	q = req("green", NULL, 0);
	q.pool_len = 4;
	assert_int_equal(pick_route(&s, NULL, &q, &id), PICK_BAD_POOL);
}

static void
test_hash(void **state)
{
	(void)state;
	/* FNV-1a 64 test vectors (Fowler, Noll, Vo) */
	assert_true(pick_hash("", 0) == 0xcbf29ce484222325ULL);
	assert_true(pick_hash("a", 1) == 0xaf63dc4c8601ec8cULL);
	assert_true(pick_hash("foobar", 6) == 0x85944171f73967e8ULL);
}

/* Buckets spread evenly: within 1.5 points of 10% for 20,000 keys. */
static void
test_bucket_spread(void **state)
{
	char		key[32];
	unsigned	counts[100] = { 0 }, low = 0, b;
	int		n;

	(void)state;
	for (unsigned i = 0; i < 20000; i++) {
		n = snprintf(key, sizeof(key), "127.%u.%u.%u", i >> 16 & 255,
		    i >> 8 & 255, i & 255);
		b = pick_bucket(key, (size_t)n);
		assert_true(b < 100);
		assert_int_equal(b, pick_bucket(key, (size_t)n));
		counts[b]++;
		low += b < 10;
	}
	assert_in_range(low, 1700, 2300);
	for (unsigned i = 0; i < 100; i++)
		assert_in_range(counts[i], 100, 300);
}

static void
test_cookie(void **state)
{
	const char	*h = "a=1; sidx=no;sid=xyz ; b=2";
	const char	*v;
	size_t		 len = 99;

	(void)state;
	assert_non_null(v = pick_cookie(h, strlen(h), "sid", &len));
	assert_int_equal(len, 3);
	assert_memory_equal(v, "xyz", 3);
	assert_non_null(v = pick_cookie(h, strlen(h), "b", &len));
	assert_int_equal(len, 1);
	assert_memory_equal(v, "2", 1);
	assert_non_null(v = pick_cookie(h, strlen(h), "a", &len));
	assert_memory_equal(v, "1", 1);
	assert_null(pick_cookie(h, strlen(h), "si", &len));
	assert_null(pick_cookie(h, strlen(h), "SID", &len));
	assert_null(pick_cookie("", 0, "sid", &len));
	assert_null(pick_cookie("sid", 3, "sid", &len));
	assert_non_null(pick_cookie("sid=", 4, "sid", &len));
	assert_int_equal(len, 0);
	/* only len bytes are read */
	assert_null(pick_cookie("sid=1", 3, "sid", &len));
	assert_non_null(v = pick_cookie(" ; ;x=\"q\"", 9, "x", &len));
	assert_int_equal(len, 3);
}

static void
test_token_eq(void **state)
{
	(void)state;
	assert_true(pick_token_eq(TOKEN, TOKEN, strlen(TOKEN)));
	assert_false(pick_token_eq(TOKEN, TOKEN, strlen(TOKEN) - 1));
	assert_false(pick_token_eq(TOKEN, "s3cret-tokeX", 12));
	assert_false(pick_token_eq(TOKEN, "", 0));
	assert_false(pick_token_eq("", "x", 1));
	assert_true(pick_token_eq("", "", 0));
	/* a NUL inside got does not end the compare */
	assert_false(pick_token_eq("ab", "a\0", 2));
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_active),
		cmocka_unit_test(test_shift_buckets),
		cmocka_unit_test(test_preview_no_token),
		cmocka_unit_test(test_preview_token),
		cmocka_unit_test(test_bad_pool),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_bucket_spread),
		cmocka_unit_test(test_cookie),
		cmocka_unit_test(test_token_eq),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
