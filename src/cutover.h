/*
 * cutover.h — the root context: one per process, made in main().  It owns
 * the event loop, the live configuration, the router, the listeners, the
 * admin socket and the client connections, and does what touches several
 * of them at once: start, reload, switch, status, shutdown.
 */
#ifndef CUTOVER_CUTOVER_H
#define CUTOVER_CUTOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include "pool.h"

struct event_base;
struct event;
struct evbuffer;
struct config;
struct router;
struct listeners;
struct admin;
struct conn;
struct health;

TAILQ_HEAD(conn_list, conn);

struct cutover_stats {
	uint64_t	 connections;		/* accepted */
	uint64_t	 requests;		/* request heads parsed */
	uint64_t	 responses;		/* responses relayed */
	uint64_t	 errors;		/* error responses we made */
	uint64_t	 upstream_failures;	/* connects refused or timed out */
};

struct cutover {
	struct event_base	*base;
	char			*config_path;
	struct config		*config;	/* last configuration loaded */
	struct router		*router;
	struct listeners	*listeners;
	struct admin		*admin;
	struct admin		*admin_readonly;	/* NULL: none */
	struct conn_list	 conns;
	unsigned		 nconns;
	struct cutover_stats	 stats;
	unsigned		 inflight[POOL_COUNT];	/* requests per pool */
	unsigned		 tunnels[POOL_COUNT];	/* of which tunnels */
	struct cutover_drain {
		struct cutover	*cx;
		enum pool_id	 pool;
		struct event	*ev;
	}			 drain[POOL_COUNT];	/* after a switch */
	struct health		*health;
	time_t			 started;
	struct {
		time_t		 at;		/* 0: no reload yet */
		bool		 ok;
		char		 msg[512];
	}			 reload;
	bool			 stopping;	/* SIGTERM: not ready */
	bool			 draining;	/* listeners closed, exiting */
	struct event		*ev_hup, *ev_term, *ev_int, *ev_grace;
	struct event		*ev_delay;	/* shutdown.delay_ms */
};

/*
 * Loads path, opens listeners and the admin socket, and installs signal
 * handlers on base.  Returns the context, or NULL with a reason in err.
 */
struct cutover	*cutover_new(struct event_base *base, const char *path,
		    char *err, size_t errlen);

/* Frees the context and everything it owns, closing every connection. */
void		 cutover_free(struct cutover *cx);

/*
 * Admin operations.  Each returns 0 with what happened in msg, or -1 with
 * the reason in msg; each logs itself once.
 */
int		 cutover_switch(struct cutover *cx, const char *pool,
		    bool force, char *msg, size_t msglen);
int		 cutover_rollback(struct cutover *cx, bool force, char *msg,
		    size_t msglen);
int		 cutover_reload(struct cutover *cx, char *msg, size_t msglen);

/* Sets a member's admin state: state is "ready", "drain" or "maint". */
int		 cutover_member(struct cutover *cx, const char *pool,
		    const char *addr, const char *state, char *msg,
		    size_t msglen);

/*
 * Conditions that admin commands wait for.  Each returns 1 when it holds,
 * 0 when not yet, -1 when it never can (no such pool, ...); msg says why
 * in every case ("green: 1 of 3 members healthy, ...").
 */
int		 cutover_healthy(struct cutover *cx, const char *pool,
		    char *msg, size_t msglen);
int		 cutover_drained(struct cutover *cx, const char *pool,
		    char *msg, size_t msglen);

/*
 * Appends a status report to out: text lines (no empty line), or one line
 * of JSON when json is set.
 */
void		 cutover_status(struct cutover *cx, struct evbuffer *out,
		    bool json);

/*
 * Starts the graceful shutdown (why: "SIGTERM received", for the log): not
 * ready at once, listeners closed after shutdown.delay_ms, connections
 * drained for shutdown.grace_ms.  A second call exits at once.
 */
void		 cutover_stop(struct cutover *cx, const char *why);

#endif
