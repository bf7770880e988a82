/*
 * admin_http.h — the read-only HTTP listener (admin.http): liveness,
 * readiness, status and metrics for probes and scrapers.  Layer 4 (front
 * end): it reads the root (cutover.h), the workers and the status report,
 * and changes nothing.  It runs on the control thread's event base, on a
 * socket of its own: it never shares a queue with client traffic.
 *
 * One request per connection: every reply says Connection: close, so no
 * client holds the listener with keep-alive.  A request head longer than
 * ADMIN_HTTP_HEAD_MAX is answered 431, a malformed one 400; a client has
 * ADMIN_HTTP_DEADLINE_MS from accept to close, whatever it sends.  At
 * ADMIN_HTTP_CLIENTS_MAX clients at once, or ADMIN_HTTP_PEER_MAX from one
 * address, a new client takes the place of the oldest one still sending
 * its head (of its own address first), so clients that trickle heads
 * cannot starve a probe; when every client has its reply already, the
 * new one is answered 503 and closed.
 *
 *   GET|HEAD /healthz  200 "ok": every worker answered a ping sent less
 *                      than ADMIN_HTTP_LIVE_MS ago (pings go out every
 *                      ADMIN_HTTP_PING_MS, worker.h); else 503 naming the
 *                      late workers
 *   GET|HEAD /readyz   200 "ready": the configuration is loaded, the active
 *                      pool has a usable member and shutdown has not
 *                      begun; else 503 with the reason ("stopping",
 *                      "blue: no usable member")
 *   GET|HEAD /status   200, `status json` (application/json)
 *   GET|HEAD /metrics  the metrics exposition (text/plain; version=0.0.4)
 *   other methods      405 with Allow: GET, HEAD
 *   other paths        404
 */
#ifndef CUTOVER_ADMIN_HTTP_H
#define CUTOVER_ADMIN_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct cutover;
struct addr;
struct admin_http;

#define ADMIN_HTTP_HEAD_MAX	4096	/* request head, bytes */
#define ADMIN_HTTP_CLIENTS_MAX	32	/* connections at once */
#define ADMIN_HTTP_PEER_MAX	8	/* of them from one address */
#define ADMIN_HTTP_DEADLINE_MS	5000	/* from accept to close */
#define ADMIN_HTTP_PING_MS	1000	/* workers are pinged this often */
#define ADMIN_HTTP_LIVE_MS	5000	/* a later answer is a late worker */

enum admin_http_route {
	ADMIN_HTTP_HEALTHZ,
	ADMIN_HTTP_READYZ,
	ADMIN_HTTP_STATUS,
	ADMIN_HTTP_METRICS,
	ADMIN_HTTP_NOT_FOUND,		/* 404 */
	ADMIN_HTTP_BAD_METHOD,		/* 405 */
};

/*
 * What a request of method (an llhttp method) for target (len bytes, the
 * request target as sent) asks for: a method other than GET and HEAD is
 * ADMIN_HTTP_BAD_METHOD whatever the path; the query is ignored.
 */
enum admin_http_route admin_http_route(uint8_t method, const char *target,
		    size_t len);

/*
 * Listens on a for cx, on cx's (the control thread's) event base, and
 * pings cx's workers every ADMIN_HTTP_PING_MS.  The bound address (a port
 * 0 is the kernel's pick) is logged.  Returns the listener, or NULL with
 * a reason in err.
 */
struct admin_http *admin_http_new(struct cutover *cx, const struct addr *a,
		    char *err, size_t errlen);

/* Closes the listener and every client.  NULL is a no-op. */
void		 admin_http_free(struct admin_http *h);

#endif
