/*
 * admin.h — the admin socket: a UNIX stream socket, one command per line,
 * one reply per command.  A reply's first line is "ok" or "error: reason";
 * the reply ends with an empty line.  One table maps each command word to
 * its handler, arity and usage, so `help` cannot drift from what exists.
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
#define ADMIN_IDLE_MS		60000	/* an idle admin client is closed */

/*
 * Listens on path (replacing a stale socket file, creating its directory
 * when missing) with the given mode.  Returns NULL with a reason in err.
 */
struct admin	*admin_new(struct cutover *cx, const char *path, mode_t mode,
		    char *err, size_t errlen);

/* Closes the socket and every admin client, removes the socket file. */
void		 admin_free(struct admin *a);

/*
 * Runs one command line (no newline) and appends its whole reply, ending
 * in an empty line, to out.  Returns 0 when the reply is "ok", else -1.
 */
int		 admin_run(struct cutover *cx, const char *line,
		    struct evbuffer *out);

#endif
