/*
 * conn_tunnel.c — byte tunnels after an Upgrade.
 *
 * A tunnel is two directions, client to member and member to client.  Each
 * half moves what it reads to the other side's output; when that output
 * grows past the high-water mark the reading side stops until it has
 * drained (le-proxy's idiom).  A side's EOF is a half-close, and is passed
 * on as one: once what that side sent has been written, the other side's
 * socket is shut for writing (io_shutdown), and the other direction goes
 * on.  The tunnel closes when both directions are done (both EOFs passed
 * on, both outputs flushed), when either side fails or is reset, or on
 * its idle or drain timer.
 */
#include "autoconf.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdlib.h>

#include "config.h"
#include "conn_int.h"
#include "log.h"
#include "router.h"
#include "snapshot.h"
#include "upstream.h"
#include "worker.h"

/* Arms the idle timer: tunnel_idle_ms, or once a direction has ended
 * (one side's FIN passed on) the shorter tunnel_fin_ms, so a peer that
 * ignores a FIN does not hold the tunnel for an hour. */
static void
conn_tunnel_arm_idle(struct conn *c)
{
	const struct config	*cf = c->snap->config;
	struct timeval		 tv;
	unsigned		 ms = cf->tunnel_idle_ms;

	if (c->draining)
		return;
	if ((c->shut || c->up_shut) && cf->tunnel_fin_ms < ms)
		ms = cf->tunnel_fin_ms;
	evtimer_add(&c->x->timer, io_timeval(c->w->base, ms, &tv));
}

/* Moves what src has read to dst; stops src while dst is full. */
static void
conn_tunnel_relay(struct conn *c, struct io *src, struct io *dst)
{
	/* out of memory: what is left is moved on the next event */
	if (io_move(dst->out, src->in, evbuffer_get_length(src->in)) == -1)
		log_error("client %s: tunnel: out of memory", conn_peer(c));
	io_flush(dst);
	if (io_pending(dst) >= CONN_HIGH_WATER)
		io_read(src, false);
	conn_tunnel_arm_idle(c);
}

/*
 * Passes each EOF on whose side's bytes are all written: shuts the other
 * side's socket for writing, once.  Closes c when both directions are
 * done.  May free c: returns -1 then.
 */
static int
conn_tunnel_pass_eof(struct conn *c)
{
	bool	passed = false;

	if (c->client_eof && !c->up_shut && io_pending(&c->up->io) == 0) {
		c->up_shut = passed = true;
		io_shutdown(&c->up->io);
		log_debug("client %s: tunnel: client half-closed, passed on to "
		    "%s", conn_peer(c), c->member->addr.text);
	}
	if (c->up_eof && !c->shut && io_pending(&c->io) == 0) {
		c->shut = passed = true;
		io_shutdown(&c->io);
		log_debug("client %s: tunnel: %s half-closed, passed on",
		    conn_peer(c), c->member->addr.text);
	}
	if (c->up_shut && c->shut) {
		conn_close(c, "tunnel closed by both sides");
		return (-1);
	}
	if (passed)
		conn_tunnel_arm_idle(c);	/* now tunnel_fin_ms */
	return (0);
}

/* dst's output fell to its low-water mark: src may read again, or, if it
 * is done, its EOF may go on.  May free c. */
static void
conn_tunnel_resume(struct conn *c, struct io *src, bool src_eof)
{
	if (src_eof)
		conn_tunnel_pass_eof(c);
	else
		io_read(src, true);
}

/* One side failed, timed out or half-closed.  May free c. */
static void
conn_tunnel_side_closed(struct conn *c, int what, bool client)
{
	if (what & (IO_ERROR | IO_TIMEOUT)) {
		conn_close(c, client ? "tunnel: client connection failed" :
		    "tunnel: member connection failed");
		return;
	}
	if (client)
		c->client_eof = true;
	else
		c->up_eof = true;
	conn_tunnel_pass_eof(c);
}

static void
conn_tunnel_client_cb(struct io *io, int what, void *arg)
{
	struct conn	*c = arg;

	if (what & IO_READ)
		conn_tunnel_relay(c, &c->io, &c->up->io);
	else if (what & IO_DRAINED)
		conn_tunnel_resume(c, &c->up->io, c->up_eof);
	else
		conn_tunnel_side_closed(c, what, true);
}

static void
conn_tunnel_up_cb(struct io *io, int what, void *arg)
{
	struct conn	*c = arg;

	if (what & IO_READ)
		conn_tunnel_relay(c, &c->up->io, &c->io);
	else if (what & IO_DRAINED)
		conn_tunnel_resume(c, &c->io, c->client_eof);
	else
		conn_tunnel_side_closed(c, what, false);
}

int
conn_tunnel_start(struct conn *c)
{
	struct upstream	*u = c->up;

	c->state = CONN_TUNNEL;
	c->tunnel = true;
	COUNT_ADD(&c->w->tunnels[c->member->pool], 1);
	log_debug("client %s: tunnel to %s %s", conn_peer(c),
	    pool_name(c->member->pool), c->member->addr.text);
	/* a tunnel is quiet for as long as its protocol likes */
	io_timeouts(&u->io, 0, 0);
	io_timeouts(&c->io, 0, c->io.write_ms);
	io_setcb(&c->io, conn_tunnel_client_cb, c);
	io_setcb(&u->io, conn_tunnel_up_cb, c);
	c->io.in_max = u->io.in_max = CONN_HIGH_WATER / 4;
	c->io.low_water = u->io.low_water = CONN_HIGH_WATER / 2;
	io_read(&c->io, true);
	io_read(&u->io, true);
	/* bytes that came with the handshake go through at once */
	conn_tunnel_relay(c, &u->io, &c->io);
	conn_tunnel_relay(c, &c->io, &u->io);
	/* a client that half-closed after its request, before the 101, was
	 * told of once (c->client_eof) and will not be again: its FIN goes
	 * on now, or the member would wait for it until tunnel_idle_ms */
	return (conn_tunnel_pass_eof(c));
}

void
conn_tunnel_timer(struct conn *c)
{
	if (!c->draining) {
		conn_close(c, c->shut || c->up_shut ? "tunnel half-closed, "
		    "no bytes within timeouts.tunnel_fin_ms" :
		    "tunnel idle timeout");
		return;
	}
	if (c->w->snap->active == c->member->pool) {
		c->draining = false;	/* switched back: keep it */
		conn_tunnel_arm_idle(c);
		return;
	}
	conn_close(c, "tunnel drained after a switch");
}

unsigned
conn_tunnel_drain(struct worker *w, enum pool_id pool, unsigned spread_ms)
{
	struct conn	*c;
	struct timeval	 tv;
	unsigned	 n = 0, ms;

	TAILQ_FOREACH(c, &w->conns, entry) {
		if (!c->tunnel || c->member->pool != pool || c->draining)
			continue;
		/* spread the closes so clients do not reconnect as a storm */
		ms = spread_ms > 0 ? (unsigned)(random() % (spread_ms + 1)) : 0;
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		c->draining = true;
		evtimer_add(&c->x->timer, &tv);
		n++;
	}
	return (n);
}
