/*
 * probe.h — active HTTP probes of every member of both pools.  The
 * settings are check.h's; the member's state and its rise/fall state
 * machine are pool.h's.
 *
 * A probe is one chain: connect -> send -> read the head -> done, with one
 * deadline for the whole probe and one completion (probe_done) which alone
 * records the result, applies rise/fall (member_apply_probe) and logs the
 * transition.
 *
 * The prober (L2) knows nothing of its owner: it is made with the event
 * base it runs on and an on_change callback with a context pointer, which
 * it calls when a probe has just changed a member's health (the owner,
 * cutover.c, closes the idle connections of a member that went down on
 * every worker, and tells whether its pool starts or stops routing in
 * panic).  The settings it
 * probes with come from the configuration of the snapshot it was last
 * synchronised with (probes_sync), of which it keeps a reference.
 * Everything here runs on the control thread.
 */
#ifndef CUTOVER_PROBE_H
#define CUTOVER_PROBE_H

struct event_base;
struct member;
struct snapshot;

struct probes;

/*
 * Called when a probe changed m's health (m->health is the new one), after
 * the transition is logged.  ctx is the one given to probes_new; m is
 * borrowed (take a reference to keep it).
 */
typedef void	(*probe_change_fn)(void *ctx, struct member *m);

/*
 * A prober with no probes yet, running on base; on_change (may be NULL) is
 * told about every change of a member's health.  NULL on ENOMEM.
 */
struct probes	*probes_new(struct event_base *base,
		    probe_change_fn on_change, void *ctx);

/* Stops every probe and frees ps; NULL is a no-op. */
void		 probes_free(struct probes *ps);

/*
 * Probes exactly the members of s with the settings of s's configuration:
 * starts probes (within 100 ms) for members that have none, stops those of
 * members no longer in s.  Call it whenever the live snapshot's members or
 * configuration change (start, reload).
 */
void		 probes_sync(struct probes *ps, struct snapshot *s);

#endif
