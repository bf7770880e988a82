/*
 * relay.h — the upstream half of a client connection (conn.h has the
 * client half): member choice, connecting or reusing, sending the request
 * and relaying the response.
 */
#ifndef CUTOVER_RELAY_H
#define CUTOVER_RELAY_H

struct conn;

/*
 * The request head of c is parsed and its snapshot taken: picks a member
 * and connects to it, or takes an idle connection and sends at once.
 * May free c: returns -1 then.
 */
int	relay_connect(struct conn *c);

/*
 * Forwards what the client has sent of the request body and writes what
 * is queued for the member.  May free c: returns -1 then.
 */
int	relay_request_body(struct conn *c);

/*
 * Relays what the member has sent.  Returns 0 while the response goes on
 * with c->up; -1 when it ended: c may have been freed, or may be serving
 * its next request, and its old upstream is gone.
 */
int	relay_response(struct conn *c);

#endif
