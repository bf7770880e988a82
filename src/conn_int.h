/*
 * conn_int.h — what the three files of the connection state machine
 * (conn.c, conn_relay.c, conn_tunnel.c) share, and nothing else may use:
 * the connection's structure, its states, and the functions each half
 * calls in the others.  Layer 2 (runtime), private to conn.
 *
 * Functions that may free the connection say so and return -1 when they
 * did; callers then return at once without touching it.
 */
#ifndef CUTOVER_CONN_INT_H
#define CUTOVER_CONN_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/event_struct.h>

#include "addr.h"
#include "conn.h"
#include "http.h"
#include "io.h"
#include "pool.h"

enum conn_state {
	CONN_READ_HEAD,		/* reading a request head */
	CONN_CONNECT,		/* head parsed, connecting to a member */
	CONN_STREAM,		/* request and response under way */
	CONN_IDLE,		/* keep-alive, between requests */
	CONN_CLOSING,		/* flushing the last bytes, then close */
	CONN_TUNNEL,		/* after a 101: bytes both ways (conn_tunnel.c) */
	CONN_WAIT_CLIENT,	/* a pipelined request waits until the
				 * client has read what it was sent */
};

#define CONN_TRIES_MAX		8	/* members tried for one request */
#define CONN_INTERIM_MAX	16	/* 1xx responses to one request */
#define CONN_HIGH_WATER		(256 * 1024)
#define CONN_LINGER_MS		2000
/* The longest request body whose rest still goes to the member after its
 * response ended early (conn_relay.c): past it, keeping two connections
 * is not worth holding a member's connection for that long an upload, and
 * both close, as before. */
#define CONN_ANSWERED_MAX	(64ULL * 1024 * 1024)

struct config;
struct snapshot;
struct member;
struct mirror;
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
	bool			 panic;		/* routed in panic (counted) */
	bool			 picked;	/* pool and route are set */
	enum pool_id		 pool;		/* chosen once (pick.h) */
	uint8_t			 route;		/* enum pick_route */
	bool			 mirrored;	/* a copy went to the other pool:
						 * counted in metrics_mirror too */
	struct mirror		*mirror;	/* that copy, while it waits for
						 * the body (mirror_feed) */
	unsigned		 ninterim;	/* 1xx responses relayed */
	int			 status;	/* response status, for the log */
	struct timespec		 t0;		/* head parsed (when timed) */
	bool			 timed;		/* t0 is this request's */
	bool			 head_timed;	/* timer: the head's deadline */
	char			 line[256];	/* "GET /path", for the log */
};

/*
 * An idle keep-alive connection costs its struct conn, its socket's
 * libevent bookkeeping and nothing else: the exchange is cached, the io's
 * buffers are given back (io_rest), the peer's address is kept as bytes and
 * formatted when a log line or a forwarded header needs it (conn_peer,
 * conn_peer_ip), the flags are bits, and the byte counts for metrics are
 * the io's own, restarted at each count (conn_bytes).  Keep it so: a field
 * added here is paid for by every idle client (bench/idle-mem measures
 * it).
 */
struct conn {
	TAILQ_ENTRY(conn)	 entry;		/* in w->conns */
	struct worker		*w;		/* whose thread serves it */
	enum conn_state		 state;
	uint16_t		 peer_port;	/* host order */
	bool			 peer_inet6;	/* AF_INET6 (else AF_INET) */
	bool			 peer_v4;	/* as in struct addr_ip */
	struct io		 io;
	struct exchange		*x;		/* from a request's first byte */
	/* the request in flight */
	struct snapshot		*snap;		/* routed with; a reference */
	struct member		*member;	/* counted in its inflight */
	struct upstream		*up;
	/* bits, not bools: 15 bytes less for every idle client */
	bool			 req_done : 1;	/* request fully sent upstream */
	bool			 answered : 1;	/* the response ended before the
						 * body: its rest still goes */
	bool			 resp_started : 1; /* response bytes to client */
	bool			 keep_alive : 1;
	bool			 http10 : 1;
	bool			 body_sent : 1;	/* request body bytes upstream */
	bool			 retried : 1;	/* stale keep-alive retried */
	bool			 client_eof : 1; /* client sent FIN */
	bool			 shut : 1;	/* we sent the client FIN */
	bool			 client_paused : 1; /* reading stopped:
						     * backpressure */
	bool			 up_paused : 1;	/* upstream reading stopped */
	bool			 up_eof : 1;	/* the member sent FIN */
	bool			 up_shut : 1;	/* tunnel: we sent the member
						 * FIN */
	bool			 tunnel : 1;	/* counted in w->tunnels */
	bool			 draining : 1;	/* tunnel: closing after a
						 * switch */
	uint64_t		 peer_w[2];	/* as in struct addr_ip */
};

/*
 * The client half (conn.c), for the other two.
 */


/* The client's "ip:port" and its address alone, for logs and forwarded
 * headers: each in a buffer of the calling thread, valid until the next
 * call of the same function. */
const char *conn_peer(const struct conn *c);
const char *conn_peer_ip(const struct conn *c);

/* The configuration c's request was routed with (or the live one). */
const struct config *conn_config(const struct conn *c);

/* The member's address, or "-", for logs. */
const char *conn_member_text(const struct conn *c);

/* Moves c to st and arms or clears the timer that state has. */
void	conn_set_state(struct conn *c, enum conn_state st);

/* A bad answer from the request's member counts against its health. */
void	conn_observe(struct conn *c, const char *why);

/* m failed c's request (refused, reset): it is down at once. */
void	conn_passive(struct conn *c, struct member *m, const char *why);

/* Moves the request's in-flight count to m (NULL: ends it). */
void	conn_set_member(struct conn *c, struct member *m);

/* Ends the request in flight: gives back the upstream (parked when
 * reusable), the in-flight count and the snapshot. */
void	conn_end_request(struct conn *c, bool reusable);

/*
 * Sends what is queued, then closes (lingering).  Returns -1: c may have
 * been freed, and if it was not it is closing; the caller must not touch
 * it again.
 */
int	conn_finish(struct conn *c);

/*
 * The request's end: counts it in the worker's metrics (its member's pool,
 * or for cutover's own replies the pool it was routed to, else the
 * snapshot's active pool; status, time,
 * bytes) and, if log.access is on, writes its access line with the same
 * numbers and error, cutover's own reason when it answered itself or cut
 * the response short (NULL otherwise).  Once per request, after its
 * response is queued.  Never blocks: a line the log cannot take at once
 * is dropped and counted (stats.access_dropped).
 */
void	conn_log_access(struct conn *c, const char *error);

/* The status a request the client abandoned (closed before it was whole)
 * is counted and logged with: nginx's 499. */
#define CONN_STATUS_ABANDONED	499

/* The client closed before its request was whole: counts it (bytes
 * included) and logs it, as CONN_STATUS_ABANDONED (or, when it was
 * answered already, with the status it got); c is not freed. */
void	conn_abandoned(struct conn *c);

/*
 * The rest of a body whose response is out (c->answered) cannot go on:
 * counts the error, logs the request with why, and closes once the
 * response is flushed.  Returns -1 as conn_finish() does.
 */
int	conn_answered_fail(struct conn *c, const char *why);

/* A tunnel on c ended: its bytes count for its pool. */
void	conn_count_bytes(struct conn *c, enum pool_id pool);

/*
 * Answers with status (or cuts a begun response) and closes: the request
 * and its upstream are gone.  Returns -1: c may have been freed, and if it
 * was not it is closing; the caller must not touch it again.
 */
int	conn_error(struct conn *c, int status, const char *reason);

/*
 * Parses and routes the next request head in c's input.  Returns 0 while
 * c waits for more of it or its request is under way, -1 when c may have
 * been freed.
 */
int	conn_read_head(struct conn *c);

/*
 * The response to c's request has ended: serves the next pipelined
 * request once the client has read enough of what it was sent, or rests
 * (idle keep-alive), or closes.  Returns -1: c may have been freed or may
 * be serving its next request; the caller must not touch c's request
 * state (or its old upstream) again.
 */
int	conn_next(struct conn *c);

/* Gives c's exchange back to the cache (c is idle or closing). */
void	conn_rest(struct conn *c);

/* The client's read timeout (0: none) and its write timeout (idle_ms). */
void	conn_client_timeouts(struct conn *c, unsigned read_ms);

/*
 * The upstream half (conn_relay.c).
 */

/*
 * The request head of c is parsed and its snapshot taken: picks a member
 * and connects to it, or takes an idle connection and sends at once.
 * May free c: returns -1 then.
 */
int	conn_relay_connect(struct conn *c);

/*
 * Forwards what the client has sent of the request body and writes what
 * is queued for the member.  May free c: returns -1 then.
 */
int	conn_relay_request_body(struct conn *c);

/*
 * Relays what the member has sent.  Returns 0 while the response goes on
 * with c->up; -1 when it ended: c may have been freed, or may be serving
 * its next request, and its old upstream is gone.
 */
int	conn_relay_response(struct conn *c);

/*
 * Tunnels (conn_tunnel.c).
 */

/*
 * Turns c, whose 101 head is queued to the client, into a tunnel to its
 * upstream.  May free c: returns -1 then.
 */
int	conn_tunnel_start(struct conn *c);

/* c's timer fired while it is a tunnel: idle, or its drain turn.  Frees c
 * when it closes it. */
void	conn_tunnel_timer(struct conn *c);

#endif
