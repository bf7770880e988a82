/*
 * accesslog.c — the access log: formatting, and the pipe and thread that
 * carry lines to stdout without blocking a worker (accesslog.h).
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "accesslog.h"
#include "log.h"

#if ACCESSLOG_LINE_MAX > PIPE_BUF
#error "an access log line must fit one atomic pipe write"
#endif

/* the pipe's size we ask for: room for a few thousand lines of slack */
#define ACCESSLOG_PIPE_SIZE	(1024 * 1024)

static const char	*accesslog_names[] = { "off", "text", "json" };

/* the pipe's write end: set before the workers start, closed after they
 * stopped (pthread_create and join order it) */
static int		 accesslog_wfd = -1;
static pthread_t	 accesslog_thread;

int
accesslog_format_parse(const char *s, enum accesslog_format *f)
{
	for (size_t i = 0; i < sizeof(accesslog_names) /
	    sizeof(accesslog_names[0]); i++)
		if (strcmp(s, accesslog_names[i]) == 0) {
			*f = (enum accesslog_format)i;
			return (0);
		}
	return (-1);
}

const char *
accesslog_format_name(enum accesslog_format f)
{
	return (accesslog_names[f]);
}

/* A line being built; full when n reaches cap (room kept for the end). */
struct accesslog_buf {
	char	*p;
	size_t	 n;
	size_t	 cap;
};

static void
accesslog_put(struct accesslog_buf *b, const char *s)
{
	size_t	len = strlen(s);

	if (len > b->cap - b->n)
		len = b->cap - b->n;
	memcpy(b->p + b->n, s, len);
	b->n += len;
}

static void
accesslog_putf(struct accesslog_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
accesslog_putf(struct accesslog_buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	w;

	va_start(ap, fmt);
	w = vsnprintf(b->p + b->n, b->cap - b->n + 1, fmt, ap);
	va_end(ap);
	if (w > 0)
		b->n += (size_t)w > b->cap - b->n ? b->cap - b->n : (size_t)w;
}

size_t
accesslog_json_escape(char *dst, size_t dstlen, const char *src, size_t len,
    size_t *used)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 n = 0, i;
	unsigned char		 ch;

	for (i = 0; i < len; i++) {
		ch = (unsigned char)src[i];
		if (ch == '"' || ch == '\\') {
			if (dstlen - n < 2)
				break;
			dst[n++] = '\\';
			dst[n++] = (char)ch;
		} else if (ch < 0x20 || ch >= 0x7f) {
			if (dstlen - n < 6)
				break;
			memcpy(dst + n, "\\u00", 4);
			dst[n + 4] = hex[ch >> 4];
			dst[n + 5] = hex[ch & 15];
			n += 6;
		} else {
			if (dstlen - n < 1)
				break;
			dst[n++] = (char)ch;
		}
	}
	if (used != NULL)
		*used = i;
	return (n);
}

/*
 * What each string field may take of a line, escaped: their sum and the
 * rest (keys, numbers, the time: under 400 bytes) stay below
 * ACCESSLOG_LINE_MAX, so a line is never cut and its JSON stays whole.
 */
#define ACCESSLOG_MAX_TARGET	2048
#define ACCESSLOG_MAX_ERROR	512
#define ACCESSLOG_MAX_MEMBER	256
#define ACCESSLOG_MAX_SHORT	64	/* client, method, pool, route */

#if ACCESSLOG_MAX_TARGET + ACCESSLOG_MAX_ERROR + ACCESSLOG_MAX_MEMBER + \
    4 * ACCESSLOG_MAX_SHORT + 400 > ACCESSLOG_LINE_MAX
#error "access log fields may not fit a line"
#endif

/* The text format's escape: nginx's \xHH for what would break a field;
 * at most max bytes. */
static void
accesslog_put_text(struct accesslog_buf *b, const char *s, size_t len,
    size_t max)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 ch;
	size_t			 end = b->n + max < b->cap ? b->n + max : b->cap;

	for (size_t i = 0; i < len && b->n + 4 <= end; i++) {
		ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\' || ch < 0x20 || ch >= 0x7f) {
			memcpy(b->p + b->n, "\\x", 2);
			b->p[b->n + 2] = hex[ch >> 4];
			b->p[b->n + 3] = hex[ch & 15];
			b->n += 4;
		} else
			b->p[b->n++] = (char)ch;
	}
}

/* A JSON string value of at most max bytes escaped, or null. */
static void
accesslog_put_json(struct accesslog_buf *b, const char *s, size_t len,
    size_t max)
{
	if (s == NULL) {
		accesslog_put(b, "null");
		return;
	}
	accesslog_put(b, "\"");
	/* keep room for the closing quote (the budgets leave plenty) */
	if (b->cap - b->n < 1)
		return;
	if (max > b->cap - b->n - 1)
		max = b->cap - b->n - 1;
	b->n += accesslog_json_escape(b->p + b->n, max, s, len, NULL);
	accesslog_put(b, "\"");
}

/* A nul-terminated one. */
static void
accesslog_put_jsonz(struct accesslog_buf *b, const char *s, size_t max)
{
	accesslog_put_json(b, s, s != NULL ? strlen(s) : 0, max);
}

static void
accesslog_put_time(struct accesslog_buf *b, const struct timespec *ts)
{
	struct tm	tm;

	gmtime_r(&ts->tv_sec, &tm);
	accesslog_putf(b, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ts->tv_nsec / 1000000));
}

static const char *
accesslog_dash(const char *s)
{
	return (s != NULL ? s : "-");
}

/* time client "METHOD target" status in out duration pool member
 * retried=0|1 route=active|shift|preview|- "error"|- */
static void
accesslog_format_text(struct accesslog_buf *b, const struct accesslog_rec *r)
{
	accesslog_put_time(b, &r->time);
	accesslog_putf(b, " %s ", accesslog_dash(r->client));
	if (r->method == NULL)
		accesslog_put(b, "\"-\"");
	else {
		accesslog_putf(b, "\"%s ", r->method);
		accesslog_put_text(b, r->target, r->target_len,
		    ACCESSLOG_MAX_TARGET);
		accesslog_put(b, "\"");
	}
	if (r->status > 0)
		accesslog_putf(b, " %d", r->status);
	else
		accesslog_put(b, " -");
	accesslog_putf(b, " %llu %llu ", (unsigned long long)r->bytes_in,
	    (unsigned long long)r->bytes_out);
	if (r->ns == ACCESSLOG_UNTIMED)
		accesslog_put(b, "-");
	else
		accesslog_putf(b, "%llu.%llums",
		    (unsigned long long)(r->ns / 1000000u),
		    (unsigned long long)(r->ns / 100000u % 10u));
	accesslog_putf(b, " %s %s retried=%d route=%s ",
	    accesslog_dash(r->pool), accesslog_dash(r->member),
	    r->retried ? 1 : 0, accesslog_dash(r->route));
	if (r->error == NULL)
		accesslog_put(b, "-");
	else {
		accesslog_put(b, "\"");
		accesslog_put_text(b, r->error, strlen(r->error),
		    ACCESSLOG_MAX_ERROR);
		accesslog_put(b, "\"");
	}
}

static void
accesslog_format_json(struct accesslog_buf *b, const struct accesslog_rec *r)
{
	accesslog_put(b, "{\"time\":\"");
	accesslog_put_time(b, &r->time);
	accesslog_put(b, "\",\"client\":");
	accesslog_put_jsonz(b, r->client, ACCESSLOG_MAX_SHORT);
	accesslog_put(b, ",\"method\":");
	accesslog_put_jsonz(b, r->method, ACCESSLOG_MAX_SHORT);
	accesslog_put(b, ",\"target\":");
	accesslog_put_json(b, r->method != NULL ? r->target : NULL,
	    r->target_len, ACCESSLOG_MAX_TARGET);
	if (r->status > 0)
		accesslog_putf(b, ",\"status\":%d", r->status);
	else
		accesslog_put(b, ",\"status\":null");
	accesslog_putf(b, ",\"bytes_in\":%llu,\"bytes_out\":%llu",
	    (unsigned long long)r->bytes_in, (unsigned long long)r->bytes_out);
	if (r->ns == ACCESSLOG_UNTIMED)
		accesslog_put(b, ",\"duration_ms\":null");
	else
		accesslog_putf(b, ",\"duration_ms\":%llu.%03llu",
		    (unsigned long long)(r->ns / 1000000u),
		    (unsigned long long)(r->ns / 1000u % 1000u));
	accesslog_put(b, ",\"pool\":");
	accesslog_put_jsonz(b, r->pool, ACCESSLOG_MAX_SHORT);
	accesslog_put(b, ",\"member\":");
	accesslog_put_jsonz(b, r->member, ACCESSLOG_MAX_MEMBER);
	accesslog_put(b, r->retried ? ",\"retried\":true" :
	    ",\"retried\":false");
	accesslog_put(b, ",\"route\":");
	accesslog_put_jsonz(b, r->route, ACCESSLOG_MAX_SHORT);
	accesslog_put(b, ",\"error\":");
	accesslog_put_jsonz(b, r->error, ACCESSLOG_MAX_ERROR);
	accesslog_put(b, "}");
}

size_t
accesslog_format(enum accesslog_format f, const struct accesslog_rec *r,
    char *buf)
{
	struct accesslog_buf	b = { buf, 0, ACCESSLOG_LINE_MAX - 1 };

	if (f == ACCESSLOG_JSON)
		accesslog_format_json(&b, r);
	else
		accesslog_format_text(&b, r);
	buf[b.n++] = '\n';
	return (b.n);
}

/* Writes all of p to stdout, waiting as long as it takes (the writer
 * thread alone).  0, or -1 when stdout is gone. */
static int
accesslog_copy(const char *p, size_t len)
{
	struct pollfd	pfd = { .fd = STDOUT_FILENO, .events = POLLOUT };
	ssize_t		n;

	while (len > 0) {
		if ((n = write(STDOUT_FILENO, p, len)) >= 0) {
			p += n;
			len -= (size_t)n;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK)
			/* someone else made stdout non-blocking */
			poll(&pfd, 1, -1);
		else if (errno != EINTR)
			return (-1);
	}
	return (0);
}

/* The writer thread: the pipe to stdout until the pipe closes.  When
 * stdout fails it stops reading: the pipe fills, and workers count the
 * lines they drop from then on. */
static void *
accesslog_run(void *arg)
{
	int	rfd = (int)(intptr_t)arg;
	char	buf[64 * 1024];
	ssize_t	n;

	for (;;) {
		if ((n = read(rfd, buf, sizeof(buf))) > 0) {
			if (accesslog_copy(buf, (size_t)n) == -1) {
				log_warn("access log: cannot write to stdout: "
				    "%s; lines are dropped from now on",
				    strerror(errno));
				break;
			}
		} else if (n == 0 || errno != EINTR)
			break;
	}
	close(rfd);
	return (NULL);
}

int
accesslog_open(char *err, size_t errlen)
{
	sigset_t	all, old;
	int		fds[2] = { -1, -1 }, rc;

	if (accesslog_wfd != -1)
		return (0);
	if (pipe2(fds, O_CLOEXEC) == -1)
		goto fail;
	/* the write end alone is ours to make non-blocking: the workers' */
	if (fcntl(fds[1], F_SETFL, O_NONBLOCK) == -1)
		goto fail;
	/* more slack than the default 64 KiB; the default will do too */
	(void)fcntl(fds[1], F_SETPIPE_SZ, ACCESSLOG_PIPE_SIZE);
	/* signals are the control thread's (libevent's) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&accesslog_thread, NULL, accesslog_run,
	    (void *)(intptr_t)fds[0]);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		goto fail;
	}
	/* for top -H, beside the workers' "cutover-wN" (worker.c) */
	pthread_setname_np(accesslog_thread, "cutover-log");
	accesslog_wfd = fds[1];
	return (0);
fail:
	snprintf(err, errlen, "access log: %s", strerror(errno));
	if (fds[0] != -1)
		close(fds[0]);
	if (fds[1] != -1)
		close(fds[1]);
	return (-1);
}

int
accesslog_write(const char *line, size_t len)
{
	/* len <= PIPE_BUF: all of it, or EAGAIN and nothing */
	if (accesslog_wfd == -1 ||
	    write(accesslog_wfd, line, len) != (ssize_t)len)
		return (-1);
	return (0);
}

void
accesslog_close(void)
{
	struct timespec	deadline;

	if (accesslog_wfd == -1)
		return;
	close(accesslog_wfd);
	accesslog_wfd = -1;
	/* the writer sees the end of the pipe once it copied the rest */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 1;
	if (pthread_timedjoin_np(accesslog_thread, NULL, &deadline) != 0)
		pthread_detach(accesslog_thread);
}
