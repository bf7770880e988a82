/*
 * health.h — active HTTP probes of every member of both pools.  The
 * settings are check.h's; the member's state and its rise/fall state
 * machine are pool.h's.
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
