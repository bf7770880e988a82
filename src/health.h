/*
 * health.h — active HTTP probes of every member of both pools, the
 * rise/fall state machine, passive failures seen on real traffic, and the
 * parsers of the settings that go with them (`expect`, `min_healthy`).
 *
 * A probe is one chain: connect -> send -> read the head -> done, with one
 * deadline for the whole probe and one completion (probe_done) which alone
 * changes the member's state, applies rise/fall and logs the transition.
 */
#ifndef CUTOVER_HEALTH_H
#define CUTOVER_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cutover;
struct member;
struct snapshot;

enum member_health {
	HEALTH_UNKNOWN,		/* not probed yet: usable */
	HEALTH_UP,
	HEALTH_DOWN,
};

enum member_admin {
	MEMBER_READY,
	MEMBER_DRAIN,		/* no new requests; still probed */
	MEMBER_MAINT,		/* no requests, no probes */
};

#define HEALTH_EXPECT_MAX	16
#define HEALTH_STR_MAX		256

struct health_expect {
	struct {
		uint16_t lo, hi;
	}		 r[HEALTH_EXPECT_MAX];
	unsigned	 n;
};

/* Which keys a pool's own `health` group gave (for merging). */
enum {
	HEALTH_SET_PATH = 1 << 0,
	HEALTH_SET_HOST = 1 << 1,
	HEALTH_SET_INTERVAL = 1 << 2,
	HEALTH_SET_TIMEOUT = 1 << 3,
	HEALTH_SET_RISE = 1 << 4,
	HEALTH_SET_FALL = 1 << 5,
	HEALTH_SET_EXPECT = 1 << 6,
};

struct health_config {
	char			 path[HEALTH_STR_MAX];
	char			 host[HEALTH_STR_MAX];	/* "": the member */
	unsigned		 interval_ms;
	unsigned		 timeout_ms;
	unsigned		 rise;
	unsigned		 fall;
	struct health_expect	 expect;
	unsigned		 set;			/* HEALTH_SET_* */
};

/* switch.min_healthy: a count, a percentage, or (both 0) all members. */
struct health_min {
	unsigned	 count;
	unsigned	 percent;
};

/* The defaults: "/", 2000 ms, 1000 ms, rise 2, fall 3, "200-399". */
void		 health_config_defaults(struct health_config *hc);

/* Fills the keys of pool that it did not set from global. */
void		 health_config_merge(struct health_config *pool,
		    const struct health_config *global);

/* Parses "200", "200-399", "200,204,300-399"; 0, or -1 with a reason. */
int		 health_expect_parse(const char *s, struct health_expect *e,
		    char *err, size_t errlen);

/* Whether status is one of e's codes. */
bool		 health_expect_match(const struct health_expect *e,
		    int status);

/* Parses a min_healthy string: "3" or "50%"; 0, or -1 with a reason. */
int		 health_min_parse(const char *s, struct health_min *m,
		    char *err, size_t errlen);

/* How many healthy members of n a pool needs under m (at least one). */
unsigned	 health_min_required(const struct health_min *m, size_t n);

/* "unknown", "up", "down"; "ready", "drain", "maint". */
const char	*health_name(enum member_health h);
const char	*health_admin_name(enum member_admin a);
int		 health_admin_parse(const char *s, enum member_admin *a);

/*
 * The rise/fall state machine: applies one probe result to m's streaks and
 * state.  Returns true when m's health changed.
 */
bool		 health_apply(struct member *m, bool ok, unsigned rise,
		    unsigned fall);

/*
 * A failure seen on real traffic (refused, reset, connect timeout): m is
 * down at once, and active probes bring it back after `rise` successes.
 * Returns true when m went down: the caller closes its idle connections.
 * The control thread's, like every change of health (cutover_observe).
 */
bool		 health_passive(struct member *m, const char *why);

/*
 * A bad answer seen on real traffic (an invalid response, a close in the
 * middle of one): counts as one failed probe, so `fall` of them in a row
 * take the member down; one buggy endpoint does not eject it at once.
 * Returns true when m went down.
 */
bool		 health_observe(struct member *m, const char *why,
		    unsigned fall);

struct health;

/* The prober of cx; NULL on ENOMEM. */
struct health	*health_new(struct cutover *cx);

/* Stops every probe and frees h; NULL is a no-op. */
void		 health_free(struct health *h);

/*
 * Probes exactly the members of s: starts probes (within 100 ms) for
 * members that have none, stops those of members no longer in s.
 */
void		 health_sync(struct health *h, const struct snapshot *s);

#endif
