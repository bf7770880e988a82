/*
 * status.h — the report of the admin `status` command.  Layer 4 (front
 * end): it formats what the root (cutover.h) and the workers report.
 */
#ifndef CUTOVER_STATUS_H
#define CUTOVER_STATUS_H

#include <stdbool.h>
#include <stddef.h>

struct cutover;
struct evbuffer;

/*
 * Appends the report to out: for people, a few lines then aligned tables
 * of the workers, the pools and the members (no empty line, no colour);
 * or, when json is set, one line of JSON with every field, for tools.
 * man/cutoverctl.8 describes both.
 */
void	status_report(struct cutover *cx, struct evbuffer *out, bool json);

#define STATUS_COLS_MAX	8	/* columns of a table */
#define STATUS_CELL_MAX	80	/* a cell's bytes with its NUL: an address,
				   a member's last probe result */

/* A column of a table: its heading; numbers align right. */
struct status_column {
	const char	*head;
	bool		 right;
};

/* Fills the cells of row r (NUL-terminated; longer text is cut). */
typedef void (*status_row_fn)(void *arg, size_t r,
    char (*cells)[STATUS_CELL_MAX]);

/*
 * Appends a table to out: a heading line, then nrows rows, whose cells
 * row(arg, r, cells) fills (it is called twice per row: once to measure,
 * once to print).  Each column is as wide as its widest cell and starts at
 * the same offset on every line, two blanks apart; lines carry no trailing
 * blanks.  Nothing is allocated.  ncols is 1 .. STATUS_COLS_MAX.
 */
void	status_table(struct evbuffer *out, const struct status_column *cols,
	    size_t ncols, size_t nrows, status_row_fn row, void *arg);

/*
 * Appends the Prometheus text exposition (format 0.0.4) to out: every
 * family cutover_*, with # HELP and # TYPE, the workers' counters summed
 * now.  On the control thread.  man/cutover.8, METRICS, lists them.
 */
void	status_metrics(struct cutover *cx, struct evbuffer *out);

#endif
