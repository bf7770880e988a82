/*
 * status.h — the report of the admin `status` command.  Layer 4 (front
 * end): it formats what the root (cutover.h) and the workers report.
 */
#ifndef CUTOVER_STATUS_H
#define CUTOVER_STATUS_H

#include <stdbool.h>

struct cutover;
struct evbuffer;

/*
 * Appends the report to out: "key value" lines (no empty line), or one
 * line of JSON when json is set.  Both say the same facts in the same
 * order.
 */
void	status_report(struct cutover *cx, struct evbuffer *out, bool json);

/*
 * Appends the Prometheus text exposition (format 0.0.4) to out: every
 * family cutover_*, with # HELP and # TYPE, the workers' counters summed
 * now.  On the control thread.  man/cutover.8, METRICS, lists them.
 */
void	status_metrics(struct cutover *cx, struct evbuffer *out);

#endif
