/*
 * conn.h — client connections: the proxy state machine.  Layer 2
 * (runtime).  One client connection and the upstream serving its current
 * request; requests on a connection are handled one at a time, in order
 * (pipelined requests wait in the input buffer), and each is routed on its
 * own, so a keep-alive connection follows a switch.
 *
 * The state machine is one module in three files: conn.c (the client
 * half), conn_relay.c (the upstream half: member choice, sending the
 * request, relaying the response) and conn_tunnel.c (after a 101), with
 * what they share in conn_int.h.  This header is what the rest of
 * cutover may use.
 */
#ifndef CUTOVER_CONN_H
#define CUTOVER_CONN_H

#include <stddef.h>
#include <sys/socket.h>

#include "pool.h"

struct conn;
struct worker;

/*
 * What one connection may hold in its buffers at once, both halves
 * together: the client's input (HTTP_HEAD_MAX * 4), the member's input
 * (CONN_HIGH_WATER / 4), and each output up to CONN_HIGH_WATER plus what
 * one step adds past it (one read and one head).  conn_buffered() never
 * exceeds it; the stateful fuzzer checks that after every step.
 */
#define CONN_BUFFERED_MAX	(1024 * 1024)

/*
 * Takes over an accepted socket fd.  Returns 0, or -1 (fd closed) when out
 * of memory.
 */
int	conn_new(struct worker *w, int fd, const struct sockaddr *sa,
	    socklen_t salen);

/*
 * Closes c at once and frees it, with a reason for the log.  May be called
 * from any callback of c; the caller must not touch c afterwards.
 */
void	conn_close(struct conn *c, const char *reason);

/* The bytes c holds in its buffers now, both halves (CONN_BUFFERED_MAX). */
size_t	conn_buffered(const struct conn *c);

/* Frees the calling thread's cache of exchanges and its spare buffers
 * (io_rest), at exit. */
void	conn_cache_free(void);

/*
 * Shutdown: closes c now if it is between requests, otherwise makes its
 * current response its last.  May free c.
 */
void	conn_drain(struct conn *c);

/* Closes every client connection of w (at exit), with reason. */
void	conn_close_all(struct worker *w, const char *reason);

/* Shutdown: conn_drain() on every client connection of w. */
void	conn_drain_all(struct worker *w);

/*
 * Closes w's tunnels on pool, each at a random moment within spread_ms,
 * unless pool is active again by then.  Returns how many were scheduled.
 */
unsigned conn_tunnel_drain(struct worker *w, enum pool_id pool,
	    unsigned spread_ms);

#endif
