/*
 * status.h — the status report of the admin `status` command.
 */
#ifndef CUTOVER_STATUS_H
#define CUTOVER_STATUS_H

struct cutover;
struct evbuffer;

/* Appends the report as "key value" lines, without an empty line. */
void	status_text(struct cutover *cx, struct evbuffer *out);

/* Appends the report as one line of JSON. */
void	status_json(struct cutover *cx, struct evbuffer *out);

#endif
