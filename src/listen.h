/*
 * listen.h — the client listening sockets of one worker.  Layer 2
 * (runtime): an accepted connection goes to the function it was given
 * (conn_new, in the daemon), and pacing against limits.max_connections is
 * the worker's (worker_pace).  A reload opens
 * the new set beside the old one, keeping the sockets whose address is
 * unchanged, so no connection is refused while it happens.  With several
 * workers, each has its own socket on every address, bound with
 * SO_REUSEPORT, and the kernel spreads new connections over them.
 */
#ifndef CUTOVER_LISTEN_H
#define CUTOVER_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "addr.h"

struct worker;
struct config;
struct evconnlistener;
struct event;
struct event_base;

/*
 * Takes an accepted socket fd on worker w's thread (and owns it from then
 * on); 0, or -1 when it could not (fd closed).
 */
typedef int (*listen_accept_fn)(struct worker *w, int fd,
    const struct sockaddr *sa, socklen_t salen);

/*
 * What keeps a listener from spinning when accept(2) fails (out of
 * descriptors, say): the listener pauses for LISTEN_RETRY_MS, so what
 * waits stays in the kernel's backlog and is accepted when descriptors
 * free up; running out is counted and logged by fdlimit, once per
 * episode, and any other error once per pause.
 */
struct listen_guard {
	struct evconnlistener	*lev;
	struct event		*retry;		/* resume after a pause */
	bool			 trying;	/* resumed; no error since */
	const char		*what;		/* "127.0.0.1:8080" */
	/* whether to resume: NULL means always */
	bool			(*may_resume)(void *);
	void			*arg;
};

struct listener {
	struct addr		 want;		/* as configured */
	struct addr		 bound;		/* as bound: the real port */
	struct evconnlistener	*lev;
	struct listen_guard	 guard;
	struct worker		*w;
	listen_accept_fn	 accept;
};

struct listeners {
	struct listener		**v;
	size_t			 n;
	bool			 paused;	/* at limits.max_connections;
						 * the worker's own */
};

/*
 * Opens w's listeners of cf, reusing those of old (may be NULL) with the
 * same configured address; new ones hand what they accept to accept.  A new address is bound as lead's listener for
 * it was (lead: worker 0's set; NULL for worker 0), so that all workers
 * share the port the kernel chose for "host:0".  Returns the new set, or
 * NULL with a reason in err; old is unchanged either way.
 */
struct listeners *listeners_open(struct worker *w, const struct config *cf,
		    const struct listeners *old, const struct listeners *lead,
		    listen_accept_fn accept, char *err, size_t errlen);

/*
 * For `cutover -t`: binds a socket to a as a listener would (SO_REUSEADDR
 * and SO_REUSEPORT, so the port of a running cutover with several workers
 * is no error) and closes it at once.  0, or the errno of the failure.
 */
int		 listen_try(const struct addr *a);

/* Whether binding a needs a privilege we lack (a low port, not root and
 * without CAP_NET_BIND_SERVICE). */
bool		 listen_needs_privilege(const struct addr *a);

/*
 * Guards lev (on base) as struct listen_guard says; what names it in
 * messages and must outlive g.  0, or -1 when out of memory.  The owner's
 * error callback of lev (libevent gives it the owner's argument) calls
 * listen_guard_error(); its accept callback calls fdlimit_ok().
 */
int		 listen_guard_init(struct listen_guard *g, struct event_base *base,
		    struct evconnlistener *lev, const char *what);
void		 listen_guard_error(struct listen_guard *g);
void		 listen_guard_clear(struct listen_guard *g);

/* Makes every listener of l accept or not, as l->paused says. */
void		 listeners_resync(struct listeners *l);

/* Closes the listeners of l that are not in keep (may be NULL) and frees l. */
void		 listeners_free(struct listeners *l, const struct listeners *keep);

#endif
