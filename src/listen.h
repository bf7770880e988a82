/*
 * listen.h — the client listening sockets of one worker.  A reload opens
 * the new set beside the old one, keeping the sockets whose address is
 * unchanged, so no connection is refused while it happens.  With several
 * workers, each has its own socket on every address, bound with
 * SO_REUSEPORT, and the kernel spreads new connections over them.
 */
#ifndef CUTOVER_LISTEN_H
#define CUTOVER_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

struct worker;
struct config;
struct evconnlistener;
struct event;

struct listener {
	struct addr		 want;		/* as configured */
	struct addr		 bound;		/* as bound: the real port */
	struct evconnlistener	*lev;
	struct event		*retry;		/* resume after EMFILE */
	struct worker		*w;
};

struct listeners {
	struct listener		**v;
	size_t			 n;
	bool			 paused;	/* at limits.max_connections;
						 * the worker's own */
};

/*
 * Opens w's listeners of cf, reusing those of old (may be NULL) with the
 * same configured address.  A new address is bound as lead's listener for
 * it was (lead: worker 0's set; NULL for worker 0), so that all workers
 * share the port the kernel chose for "host:0".  Returns the new set, or
 * NULL with a reason in err; old is unchanged either way.
 */
struct listeners *listeners_open(struct worker *w, const struct config *cf,
		    const struct listeners *old, const struct listeners *lead,
		    char *err, size_t errlen);

/*
 * Stops accepting while the workers hold limits.max_connections client
 * connections, and starts again below it; called on w's thread when a
 * connection opens or closes.  w follows at once and the other workers
 * soon after (through the control thread), so the limit may be passed by
 * a connection per worker accepted in that instant.
 */
void		 listeners_pace(struct worker *w);

/* Makes every listener of l accept or not, as l->paused says. */
void		 listeners_resync(struct listeners *l);

/* Closes the listeners of l that are not in keep (may be NULL) and frees l. */
void		 listeners_free(struct listeners *l, const struct listeners *keep);

#endif
