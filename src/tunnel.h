/*
 * tunnel.h — a client connection after a 101 Switching Protocols: bytes
 * relayed both ways with backpressure until either side closes, an idle
 * timeout, and the drain of tunnels left on a pool after a switch.
 */
#ifndef CUTOVER_TUNNEL_H
#define CUTOVER_TUNNEL_H

#include "pool.h"

struct conn;
struct worker;

/*
 * Turns c, whose 101 head is queued to the client, into a tunnel to its
 * upstream.  May free c: returns -1 then.
 */
int	tunnel_start(struct conn *c);

/* c's timer fired while it is a tunnel: idle, or its drain turn.  Frees c
 * when it closes it. */
void	tunnel_timer(struct conn *c);

/*
 * Closes w's tunnels on pool, each at a random moment within spread_ms,
 * unless pool is active again by then.  Returns how many were scheduled.
 */
unsigned tunnel_drain(struct worker *w, enum pool_id pool,
	    unsigned spread_ms);

#endif
