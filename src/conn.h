/*
 * conn.h — one client connection and the upstream serving its current
 * request: the proxy state machine.  Requests on a connection are handled
 * one at a time, in order (pipelined requests wait in the input buffer);
 * each is routed on its own, so a keep-alive connection follows a switch.
 */
#ifndef CUTOVER_CONN_H
#define CUTOVER_CONN_H

#include <stdbool.h>
#include <sys/queue.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/event_struct.h>

#include "addr.h"
#include "http.h"
#include "io.h"

struct cutover;

enum conn_state {
	CONN_READ_HEAD,		/* reading a request head */
	CONN_CONNECT,		/* head parsed, connecting to a member */
	CONN_STREAM,		/* request and response under way */
	CONN_IDLE,		/* keep-alive, between requests */
	CONN_CLOSING,		/* flushing the last bytes, then close */
	CONN_TUNNEL,		/* after a 101: bytes both ways (tunnel.c) */
};

#define CONN_TRIES_MAX		8	/* members tried for one request */
#define CONN_HIGH_WATER		(256 * 1024)
#define CONN_LINGER_MS		2000

struct snapshot;
struct member;
struct upstream;

/*
 * What one request needs from its first byte to its end, and no longer:
 * the parser, the forwarded head, the members tried, the log line and the
 * request timer.  An idle keep-alive connection holds none; exchanges are
 * reused from a per-thread cache, so steady traffic allocates none.
 */
struct exchange {
	struct exchange		*next;		/* in the cache */
	struct event		 timer;		/* header, linger or tunnel */
	struct http_msg		 req;
	struct http_buf		 head;		/* request head, for retries */
	struct member		*tried[CONN_TRIES_MAX];
	unsigned		 ntried;
	int			 status;	/* response status, for the log */
	struct timespec		 t0;
	char			 line[256];	/* "GET /path", for the log */
};

struct conn {
	TAILQ_ENTRY(conn)	 entry;		/* in cx->conns */
	struct cutover		*cx;
	enum conn_state		 state;
	struct io		 io;
	struct exchange		*x;		/* from a request's first byte */
	/* the request in flight */
	struct snapshot		*snap;		/* routed with; a reference */
	struct member		*member;	/* counted in its inflight */
	struct upstream		*up;
	bool			 req_done;	/* request fully sent upstream */
	bool			 resp_started;	/* response bytes to client */
	bool			 keep_alive;
	bool			 http10;
	bool			 body_sent;	/* request body bytes upstream */
	bool			 retried;	/* stale keep-alive retried */
	bool			 client_eof;	/* client sent FIN */
	bool			 shut;		/* we sent FIN */
	bool			 client_paused;	/* reading stopped: backpressure */
	bool			 up_paused;	/* upstream reading stopped */
	bool			 up_eof;	/* the member sent FIN */
	bool			 tunnel;	/* counted in cx->tunnels */
	bool			 draining;	/* tunnel: closing after a switch */
	char			 peer[ADDR_TEXT_MAX];	/* "ip:port" */
	char			 peer_ip[INET6_ADDRSTRLEN];
};

/*
 * Takes over an accepted socket fd.  Returns 0, or -1 (fd closed) when out
 * of memory.
 */
int	conn_new(struct cutover *cx, int fd, const struct sockaddr *sa,
	    socklen_t salen);

/*
 * Closes c at once and frees it, with a reason for the log.  May be called
 * from any callback of c; the caller must not touch c afterwards.
 */
void	conn_close(struct conn *c, const char *reason);

/* Frees the calling thread's cache of exchanges (at exit). */
void	conn_cache_free(void);

/*
 * Shutdown: closes c now if it is between requests, otherwise makes its
 * current response its last.  May free c.
 */
void	conn_drain(struct conn *c);

#endif
