/*
 * check.h — the health-check settings (the `health` groups of the
 * configuration) and the parsers of the values that go with them: the
 * status codes a probe expects (`expect`) and how many healthy members a
 * switch needs (`switch.min_healthy`).
 *
 * A leaf (L0): plain values and pure functions, no state, no I/O.  The
 * member's health itself lives in pool.h; the probes that use these
 * settings in probe.h.
 */
#ifndef CUTOVER_CHECK_H
#define CUTOVER_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHECK_EXPECT_MAX	16	/* codes or ranges in one `expect` */
#define CHECK_STR_MAX		256	/* path and host, with the NUL */

/* The status codes that count as a successful probe. */
struct check_expect {
	struct {
		uint16_t lo, hi;
	}		 r[CHECK_EXPECT_MAX];
	unsigned	 n;
};

/* Which keys a pool's own `health` group gave (for merging). */
enum {
	CHECK_SET_PATH = 1 << 0,
	CHECK_SET_HOST = 1 << 1,
	CHECK_SET_INTERVAL = 1 << 2,
	CHECK_SET_TIMEOUT = 1 << 3,
	CHECK_SET_RISE = 1 << 4,
	CHECK_SET_FALL = 1 << 5,
	CHECK_SET_EXPECT = 1 << 6,
	CHECK_SET_PANIC = 1 << 7,
};

/*
 * One `health` group.  rise and fall are 1 to 100 (the configuration
 * refuses anything else): a member goes down only through `fall` failed
 * probes or through a failure on real traffic (pool.h, member_fail_now).
 */
struct check_config {
	char			 path[CHECK_STR_MAX];
	char			 host[CHECK_STR_MAX];	/* "": the member */
	unsigned		 interval_ms;
	unsigned		 timeout_ms;
	unsigned		 rise;
	unsigned		 fall;
	struct check_expect	 expect;
	/* route to every ready member when all are down (panic routing) */
	bool			 panic;
	unsigned		 set;			/* CHECK_SET_* */
};

/* switch.min_healthy: a count, a percentage, or (both 0) all members. */
struct check_min {
	unsigned	 count;
	unsigned	 percent;
};

/* The defaults: "/", 2000 ms, 1000 ms, rise 2, fall 3, "200-399",
 * panic on. */
void		 check_config_defaults(struct check_config *hc);

/* Fills the keys of pool that it did not set from global. */
void		 check_config_merge(struct check_config *pool,
		    const struct check_config *global);

/* Parses "200", "200-399", "200,204,300-399"; 0, or -1 with a reason. */
int		 check_expect_parse(const char *s, struct check_expect *e,
		    char *err, size_t errlen);

/* Whether status is one of e's codes. */
bool		 check_expect_match(const struct check_expect *e,
		    int status);

/* Parses a min_healthy string: "3", "50%" or "all" (every member, both
 * 0); 0, or -1 with a reason. */
int		 check_min_parse(const char *s, struct check_min *m,
		    char *err, size_t errlen);

/* How many healthy members of n a pool needs under m (at least one). */
unsigned	 check_min_required(const struct check_min *m, size_t n);

#endif
