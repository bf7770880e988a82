/*
 * tunnel.c — byte tunnels after an Upgrade.
 *
 * Both halves move what they read to the other side's output; when that
 * output grows past the high-water mark the reading side stops until it
 * has drained (le-proxy's idiom).  Either side's EOF ends the tunnel once
 * what it sent has been written to the other side.
 */
#include "autoconf.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>

#include "config.h"
#include "conn.h"
#include "cutover.h"
#include "log.h"
#include "router.h"
#include "snapshot.h"
#include "tunnel.h"
#include "upstream.h"

static void
tunnel_arm_idle(struct conn *c)
{
	unsigned	ms = c->snap->config->tunnel_idle_ms;
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	if (!c->draining)
		evtimer_add(c->timer, &tv);
}

/* Moves what src has read to dst; stops src while dst is full. */
static void
tunnel_relay(struct conn *c, struct bufferevent *src, struct bufferevent *dst)
{
	struct evbuffer	*out = bufferevent_get_output(dst);

	evbuffer_add_buffer(out, bufferevent_get_input(src));
	if (evbuffer_get_length(out) >= CONN_HIGH_WATER)
		bufferevent_disable(src, EV_READ);
	tunnel_arm_idle(c);
}

/* Called when dst's output fell below the low-water mark. */
static void
tunnel_resume(struct conn *c, struct bufferevent *src, struct bufferevent *dst,
    bool src_eof)
{
	if (evbuffer_get_length(bufferevent_get_output(dst)) == 0 && src_eof) {
		conn_close(c, "tunnel closed");
		return;
	}
	if (!src_eof)
		bufferevent_enable(src, EV_READ);
}

static void
tunnel_client_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	tunnel_relay(c, c->bev, c->up->bev);
}

static void
tunnel_up_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	tunnel_relay(c, c->up->bev, c->bev);
}

static void
tunnel_client_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	tunnel_resume(c, c->up->bev, c->bev, c->up_eof);
}

static void
tunnel_up_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	tunnel_resume(c, c->bev, c->up->bev, c->client_eof);
}

/* One side is done: close once the other side has what it sent. */
static void
tunnel_side_closed(struct conn *c, short what, bool client)
{
	struct bufferevent	*other = client ? c->up->bev : c->bev;

	if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		conn_close(c, client ? "tunnel: client connection failed" :
		    "tunnel: member connection failed");
		return;
	}
	if (client)
		c->client_eof = true;
	else
		c->up_eof = true;
	if (evbuffer_get_length(bufferevent_get_output(other)) == 0)
		conn_close(c, client ? "tunnel closed by the client" :
		    "tunnel closed by the member");
}

static void
tunnel_client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	tunnel_side_closed(arg, what, true);
}

static void
tunnel_up_event_cb(struct bufferevent *bev, short what, void *arg)
{
	tunnel_side_closed(arg, what, false);
}

int
tunnel_start(struct conn *c)
{
	struct upstream	*u = c->up;

	c->state = CONN_TUNNEL;
	c->tunnel = true;
	c->cx->tunnels[c->member->pool]++;
	log_debug("client %s: tunnel to %s %s", c->peer.text,
	    pool_name(c->member->pool), c->member->addr.text);
	/* a tunnel is quiet for as long as its protocol likes */
	bufferevent_set_timeouts(u->bev, NULL, NULL);
	bufferevent_setcb(c->bev, tunnel_client_read_cb,
	    tunnel_client_write_cb, tunnel_client_event_cb, c);
	bufferevent_setcb(u->bev, tunnel_up_read_cb, tunnel_up_write_cb,
	    tunnel_up_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, CONN_HIGH_WATER / 4);
	bufferevent_setwatermark(c->bev, EV_WRITE, CONN_HIGH_WATER / 2, 0);
	bufferevent_setwatermark(u->bev, EV_WRITE, CONN_HIGH_WATER / 2, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	bufferevent_enable(u->bev, EV_READ | EV_WRITE);
	/* bytes that came with the handshake go through at once */
	tunnel_relay(c, u->bev, c->bev);
	tunnel_relay(c, c->bev, u->bev);
	return (0);
}

void
tunnel_timer(struct conn *c)
{
	if (!c->draining) {
		conn_close(c, "tunnel idle timeout");
		return;
	}
	if (router_live(c->cx->router)->active == c->member->pool) {
		c->draining = false;	/* switched back: keep it */
		tunnel_arm_idle(c);
		return;
	}
	conn_close(c, "tunnel drained after a switch");
}

unsigned
tunnel_drain(struct cutover *cx, enum pool_id pool, unsigned spread_ms)
{
	struct conn	*c;
	struct timeval	 tv;
	unsigned	 n = 0, ms;

	TAILQ_FOREACH(c, &cx->conns, entry) {
		if (!c->tunnel || c->member->pool != pool || c->draining)
			continue;
		/* spread the closes so clients do not reconnect as a storm */
		ms = spread_ms > 0 ? (unsigned)(random() % (spread_ms + 1)) : 0;
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		c->draining = true;
		evtimer_add(c->timer, &tv);
		n++;
	}
	return (n);
}
