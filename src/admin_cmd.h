/*
 * admin_cmd.h — the admin command table: one command line in, one reply
 * out.  admin.c feeds it the lines its clients send; admin_run() (admin.h)
 * is its in-process face.  Internal to the admin module.
 * Layer 4 (front end).
 *
 * A wait-* command whose condition is not decided at once is *pending*: it
 * yields a struct admin_wait that the caller re-checks on a timer until
 * admin_cmd_wait_check() writes the reply.
 */
#ifndef CUTOVER_ADMIN_CMD_H
#define CUTOVER_ADMIN_CMD_H

#include <stdbool.h>

#include "admin.h"

struct cutover;
struct evbuffer;
struct admin_wait;

#define ADMIN_WAIT_TICK_MS	50	/* a pending wait re-checks this often */

/*
 * Runs one command line (without its LF; a trailing CR is ignored) for
 * peer ("uid 0 pid 42", for the log; NULL for an in-process caller),
 * whose access decides which commands it may run: a state-changing
 * command from a read-only peer is refused (and logged with peer).
 * Returns 0 after appending an ok reply to out, -1 after appending an
 * error reply, or 1 when the command is pending: nothing is appended, and
 * *waitp, when waitp is not NULL, is the new wait, owned by the caller
 * (admin_cmd_wait_free()).  With waitp NULL nothing is kept.  Sets *quit,
 * when quit is not NULL, to whether the client asked to be disconnected.
 */
int		 admin_cmd_exec(struct cutover *cx, const char *peer,
		    enum admin_access access, const char *line,
		    struct evbuffer *out, bool *quit,
		    struct admin_wait **waitp);

/*
 * Checks w's condition again.  Returns 1 while it is not decided and its
 * deadline has not passed, appending nothing; otherwise appends the reply
 * to out and returns 0 (ok) or -1 (it can never hold, or timed out).  w is
 * not freed.
 */
int		 admin_cmd_wait_check(struct admin_wait *w, struct cutover *cx,
		    struct evbuffer *out);

/*
 * Milliseconds until w should be checked again: ADMIN_WAIT_TICK_MS, or
 * less near its deadline; 0 once the deadline has passed.
 */
long		 admin_cmd_wait_next_ms(const struct admin_wait *w);

/* Frees w; NULL is a no-op. */
void		 admin_cmd_wait_free(struct admin_wait *w);

#endif
