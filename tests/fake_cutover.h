/*
 * fake_cutover.h — a fake of the root context's admin operations, for the
 * programs that test or fuzz the admin module without a daemon behind it
 * (tests/unit/test_admin_cmd.c, tests/unit/test_admin.c,
 * tests/fuzz/fuzz_admin.c).
 *
 * fake_cutover.c defines __wrap_cutover_switch and its siblings; a program
 * links it with ADMIN_WRAP (Makefile.am), -Wl,--wrap=cutover_switch and so
 * on, so that admin_cmd.c's calls of cutover_switch() land here.
 *
 * A test scripts what each operation answers and reads what it was asked:
 *
 *	fake_answer(&fake.sw, 0, "switched blue -> green");
 *	... "switch green force" ...
 *	assert_int_equal(fake.sw.calls, 1);
 *	assert_true(fake.sw.force);
 *
 * An operation with no answer scripted (after fake_reset()) calls
 * fake.unexpected, which a unit test points at fail_msg(), and then
 * answers -1 "fake: no answer scripted for switch".  The fake never
 * blocks, never allocates, and needs neither cmocka nor libevent's loop.
 */
#ifndef CUTOVER_FAKE_CUTOVER_H
#define CUTOVER_FAKE_CUTOVER_H

#include <stdbool.h>

#define FAKE_ANSWERS	8	/* answers a script holds */

/* One operation: its script, and what its calls were given. */
struct fake_op {
	/* call i since the script was set answers rc[i] and msg[i]; the
	 * last entry repeats.  rc: 0 or -1; a condition's: 1, 0 or -1. */
	int		 n;		/* 0: none scripted */
	int		 from;		/* calls when it was set */
	int		 rc[FAKE_ANSWERS];
	const char	*msg[FAKE_ANSWERS];

	int		 calls;		/* since fake_reset() */
	/* the last call's arguments, those the operation takes */
	char		 pool[64];
	char		 addr[64];
	char		 state[16];
	char		 by[64];	/* the peer; "(null)": in-process */
	bool		 force;
	bool		 json;
	long long	 at_ms;		/* switch_gen's */
	unsigned long long gen;
	unsigned	 percent;	/* shift's */
	int		 guard;		/* switch_gen's; -1: switch.guard */
};

struct fake_cutover {
	struct fake_op	 sw;		/* cutover_switch */
	struct fake_op	 sw_gen;	/* cutover_switch_gen */
	struct fake_op	 cancel;	/* cutover_cancel */
	struct fake_op	 rollback;	/* cutover_rollback */
	struct fake_op	 shift;		/* cutover_shift */
	struct fake_op	 reload;	/* cutover_reload */
	struct fake_op	 member;	/* cutover_member */
	struct fake_op	 healthy;	/* cutover_healthy */
	struct fake_op	 drained;	/* cutover_drained */
	struct fake_op	 status;	/* status_report: calls, json only */
	struct fake_op	 metrics;	/* status_metrics: calls only */

	/* what status appends, as given, per its json argument (NULL: the
	 * call is unexpected) */
	const char	*status_text;
	const char	*status_json;
	const char	*metrics_text;	/* what status_metrics appends */

	/* called with the operation's name ("switch") when it has no
	 * answer; NULL: none */
	void		(*unexpected)(const char *op);
};

extern struct fake_cutover	fake;

/* Forgets every script, count and argument, and fake.unexpected. */
void	fake_reset(void);

/* From op's next call on, answers rc and msg (copied when called). */
void	fake_answer(struct fake_op *op, int rc, const char *msg);

/* From op's next call on, answers rc[i], msg[i] (n <= FAKE_ANSWERS). */
void	fake_script(struct fake_op *op, int n, const int *rc,
	    const char *const *msg);

/* The calls of the operations that change state: switch (both kinds),
 * cancel, rollback, shift, reload and member. */
int	fake_changes(void);

#endif
