/*
 * listen.h — the client listening sockets.  A reload opens the new set
 * beside the old one, keeping the sockets whose address is unchanged, so
 * no connection is refused while it happens.
 */
#ifndef CUTOVER_LISTEN_H
#define CUTOVER_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

struct cutover;
struct config;
struct evconnlistener;
struct event;

struct listener {
	struct addr		 want;		/* as configured */
	struct addr		 bound;		/* as bound: the real port */
	struct evconnlistener	*lev;
	struct event		*retry;		/* resume after EMFILE */
	struct cutover		*cx;
};

struct listeners {
	struct listener		**v;
	size_t			 n;
	bool			 paused;	/* at limits.max_connections */
};

/*
 * Opens the listeners of cf, reusing those of old (may be NULL) with the
 * same configured address.  Returns the new set, or NULL with a reason in
 * err; old is unchanged either way.
 */
struct listeners *listeners_open(struct cutover *cx, const struct config *cf,
		    const struct listeners *old, char *err, size_t errlen);

/*
 * Stops accepting while cx holds limits.max_connections connections, and
 * starts again below it; called when a connection opens or closes.
 */
void		 listeners_pace(struct cutover *cx);

/* Makes every listener of l accept or not, as l->paused says. */
void		 listeners_resync(struct listeners *l);

/* Closes the listeners of l that are not in keep (may be NULL) and frees l. */
void		 listeners_free(struct listeners *l, const struct listeners *keep);

#endif
