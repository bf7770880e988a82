/*
 * conn_tunnel.c — byte tunnels after an Upgrade.
 *
 * Both halves move what they read to the other side's output; when that
 * output grows past the high-water mark the reading side stops until it
 * has drained (le-proxy's idiom).  Either side's EOF ends the tunnel once
 * what it sent has been written to the other side.
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

static void
conn_tunnel_arm_idle(struct conn *c)
{
	struct timeval	tv;

	if (!c->draining)
		evtimer_add(&c->x->timer, io_timeval(c->w->base,
		    c->snap->config->tunnel_idle_ms, &tv));
}

/* Moves what src has read to dst; stops src while dst is full. */
static void
conn_tunnel_relay(struct conn *c, struct io *src, struct io *dst)
{
	/* out of memory: what is left is moved on the next event */
	if (io_move(dst->out, src->in, evbuffer_get_length(src->in)) == -1)
		log_error("client %s: tunnel: out of memory", c->peer);
	io_flush(dst);
	if (io_pending(dst) >= CONN_HIGH_WATER)
		io_read(src, false);
	conn_tunnel_arm_idle(c);
}

/* dst's output fell to its low-water mark.  May free c. */
static void
conn_tunnel_resume(struct conn *c, struct io *src, struct io *dst, bool src_eof)
{
	if (io_pending(dst) == 0 && src_eof) {
		conn_close(c, "tunnel closed");
		return;
	}
	if (!src_eof)
		io_read(src, true);
}

/* One side is done: close once the other side has what it sent. */
static void
conn_tunnel_side_closed(struct conn *c, int what, bool client)
{
	struct io	*other = client ? &c->up->io : &c->io;

	if (what & (IO_ERROR | IO_TIMEOUT)) {
		conn_close(c, client ? "tunnel: client connection failed" :
		    "tunnel: member connection failed");
		return;
	}
	if (client)
		c->client_eof = true;
	else
		c->up_eof = true;
	if (io_pending(other) == 0)
		conn_close(c, client ? "tunnel closed by the client" :
		    "tunnel closed by the member");
}

static void
conn_tunnel_client_cb(struct io *io, int what, void *arg)
{
	struct conn	*c = arg;

	if (what & IO_READ)
		conn_tunnel_relay(c, &c->io, &c->up->io);
	else if (what & IO_DRAINED)
		conn_tunnel_resume(c, &c->up->io, &c->io, c->up_eof);
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
		conn_tunnel_resume(c, &c->io, &c->up->io, c->client_eof);
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
	log_debug("client %s: tunnel to %s %s", c->peer,
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
	return (0);
}

void
conn_tunnel_timer(struct conn *c)
{
	if (!c->draining) {
		conn_close(c, "tunnel idle timeout");
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
