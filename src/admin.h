/*
 * admin.h — the admin socket: a UNIX stream socket, one command per line,
 * one reply per command.  A reply's first line is "ok" or "error: reason";
 * the reply ends with an empty line.  A reason that starts "usage: " or
 * "timeout: " is a usage error or a wait that ran out; any other is a
 * refusal (admin_cmd.c; cutoverctl's exit status follows).  One table (admin_cmd.c) maps each
 * command word to its handler, arity and usage, so `help` cannot drift
 * from what exists.  A wait-* command's reply may come later; commands
 * sent after it on the same connection are answered after it, in order.
 * Layer 4 (front end).
 *
 * A read-only listener (admin.readonly_socket) runs only the commands
 * that change nothing; the command table marks which those are.
 */
#ifndef CUTOVER_ADMIN_H
#define CUTOVER_ADMIN_H

#include <stddef.h>
#include <sys/types.h>

struct cutover;
struct evbuffer;
struct admin;

#define ADMIN_LINE_MAX		4096	/* longest command line accepted */
#define ADMIN_CLIENTS_MAX	64	/* admin connections at once */
#define ADMIN_CLIENTS_SPARE	8	/* of them never taken by waits */
#define ADMIN_WAITS_MAX		(ADMIN_CLIENTS_MAX - ADMIN_CLIENTS_SPARE)
#define ADMIN_IDLE_MS		60000	/* an idle admin client is closed */
#define ADMIN_WAIT_MAX		86400	/* longest wait-* SECONDS, in s */

/* What a listener's clients may do. */
enum admin_access {
	ADMIN_ACCESS_FULL,	/* every command */
	ADMIN_ACCESS_READONLY,	/* only the commands that change nothing */
};

/*
 * Listens on path (replacing a stale socket file, creating its directory
 * when missing) with the given mode and, when group is not NULL, that
 * group; its clients get access.  Returns NULL with a reason in err (an
 * unknown group: "admin.socket_group: no group named 'x'").
 *
 * Refuses an existing directory owned by neither root nor our effective
 * uid, or writable by group or others without the sticky bit; anything
 * at path but a stale socket (a symlink is never followed).  The mode
 * comes from the umask at bind(), which admin_new() sets around it: call
 * it while no other thread creates files.  After bind() the path must be
 * a socket owned by us with exactly mode, or it is refused.
 *
 * A listener's clients beyond ADMIN_CLIENTS_MAX are answered "error: too
 * many admin clients (N connected)" and closed; at most ADMIN_WAITS_MAX of
 * them may wait in wait-* at once (a further one is answered with an
 * error), so that the other commands always find a place.
 */
struct admin	*admin_new(struct cutover *cx, const char *path, mode_t mode,
		    const char *group, enum admin_access access, char *err,
		    size_t errlen);

/* Closes the socket and every admin client, removes the socket file. */
void		 admin_free(struct admin *a);

/*
 * Runs one command line (no newline), with full access, and appends its
 * whole reply, ending in an empty line, to out.  Returns 0 when the reply
 * is "ok", -1 when it is "error: ...", and 1 when it is pending: a wait-*
 * command whose condition does not hold yet and whose SECONDS is not 0.
 * An in-process caller cannot wait, so then nothing is appended and
 * nothing is kept; it may run the line again later.  (On the socket the
 * client is answered when the condition is decided or SECONDS have
 * passed.)
 */
int		 admin_run(struct cutover *cx, const char *line,
		    struct evbuffer *out);

#endif
