/*
 * health.h — active HTTP probes of every member of both pools, the
 * rise/fall state machine and passive failures seen on real traffic.  The
 * settings are check.h's.
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
