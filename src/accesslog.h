/*
 * accesslog.h — the access log: one line per request on stdout, as text
 * or JSON, written without ever blocking a worker.  Layer 0 (leaf): no
 * project header beyond layer 0.
 *
 * Workers format a line into a buffer of their own (accesslog_format) and
 * hand it over with one write() of at most ACCESSLOG_LINE_MAX bytes to a
 * pipe this module owns, whose write end is non-blocking: a write that
 * small to a pipe is atomic, so lines from different workers never mix,
 * and when the pipe is full the line is dropped (the caller counts it)
 * rather than waiting.  One writer thread copies the pipe to stdout with
 * ordinary blocking writes; it alone may wait for a slow reader, and since
 * it is the only writer of stdout's access lines, a partial write there
 * is simply finished.  stdout's own flags are never changed: it may be a
 * terminal or a pipe that other processes share.
 */
#ifndef CUTOVER_ACCESSLOG_H
#define CUTOVER_ACCESSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum accesslog_format {
	ACCESSLOG_OFF,
	ACCESSLOG_TEXT,
	ACCESSLOG_JSON,
};

/* The longest line, newline included: PIPE_BUF, so one write is atomic. */
#define ACCESSLOG_LINE_MAX	4096

/* rec.ns of a request whose head never was complete. */
#define ACCESSLOG_UNTIMED	UINT64_MAX

/* What one line says.  NULL strings are absent ("-" or null). */
struct accesslog_rec {
	struct timespec	 time;		/* CLOCK_REALTIME, the request's end */
	const char	*client;	/* address */
	const char	*method;
	const char	*target;	/* client-controlled: any bytes */
	size_t		 target_len;
	int		 status;	/* 0: none */
	uint64_t	 bytes_in;	/* read from the client */
	uint64_t	 bytes_out;	/* queued to the client */
	uint64_t	 ns;		/* duration, or ACCESSLOG_UNTIMED */
	const char	*pool;
	const char	*member;
	bool		 retried;
	const char	*route;		/* "active", "shift", "preview"; NULL:
					 * not routed (a 400 before it) */
	const char	*error;		/* cutover's own reason, if it answered */
};

/* Parses "off", "text" or "json"; 0, or -1 if unknown. */
int	accesslog_format_parse(const char *s, enum accesslog_format *f);

/* "off", "text" or "json". */
const char *accesslog_format_name(enum accesslog_format f);

/*
 * Formats r as one line in format f (not ACCESSLOG_OFF) into buf, which
 * holds ACCESSLOG_LINE_MAX bytes.  Returns the line's length, its final
 * newline included; the line holds no other newline.  No allocation.
 */
size_t	accesslog_format(enum accesslog_format f,
	    const struct accesslog_rec *r, char *buf);

/*
 * Writes src (len bytes, any bytes) as the inside of a JSON string into
 * dst, at most dstlen bytes, never cutting an escape: '"' and '\\' are
 * escaped, and control bytes, DEL and every byte from 0x80 as \u00XX (so
 * the output is ASCII and a byte maps to one code point).  Returns the
 * bytes written; *used (if not NULL) is how many bytes of src they hold.
 */
size_t	accesslog_json_escape(char *dst, size_t dstlen, const char *src,
	    size_t len, size_t *used);

/*
 * Starts the writer thread and its pipe; stdout (fd 1) is where lines go.
 * On the control thread, before any worker writes.  0, or -1 with a
 * reason in err.
 */
int	accesslog_open(char *err, size_t errlen);

/*
 * Any thread: hands one line (len <= ACCESSLOG_LINE_MAX) to the writer,
 * without blocking.  0, or -1 when it was dropped (the pipe is full, or
 * the log is not open): the caller counts it.
 */
int	accesslog_write(const char *line, size_t len);

/*
 * Closes the pipe after the workers stopped, and gives the writer up to a
 * second to copy what is left to stdout (it is left behind, blocked, if
 * stdout is not read).  No-op when not open.
 */
void	accesslog_close(void);

#endif
