/*
 * log.c — the error log on stderr.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* set by the control thread, read by every worker */
static _Atomic enum log_level	 log_max = LL_INFO;
static const char	*log_names[] = { "error", "warning", "info", "debug" };

/* the thread fatal() may exit from: written before the workers start (and
 * published by log_control_set), only read after */
static pthread_t		 log_control;
static atomic_bool		 log_control_set;

void
log_set_control_thread(void)
{
	log_control = pthread_self();
	atomic_store_explicit(&log_control_set, true, memory_order_release);
}

bool
log_is_control_thread(void)
{
	return (!atomic_load_explicit(&log_control_set, memory_order_acquire) ||
	    pthread_equal(pthread_self(), log_control));
}

void
log_set_level(enum log_level level)
{
	atomic_store_explicit(&log_max, level, memory_order_relaxed);
}

bool
log_enabled(enum log_level level)
{
	return (level <= atomic_load_explicit(&log_max, memory_order_relaxed));
}

int
log_level_parse(const char *s, enum log_level *level)
{
	for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (strcmp(s, log_names[i]) == 0) {
			*level = (enum log_level)i;
			return (0);
		}
	return (-1);
}

const char *
log_level_name(enum log_level level)
{
	return (log_names[level]);
}

static void
log_write(const char *level, const char *fmt, va_list ap)
{
	char		 line[2048];
	struct timeval	 tv;
	struct tm	 tm;
	int		 n, m;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ cutover[%ld]: %s: ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000), (long)getpid(),
	    level);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* one write per line, so lines from a dying process stay whole */
	if (write(STDERR_FILENO, line, (size_t)n) == -1)
		return;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list	ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	log_write(log_names[level], fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_write("fatal", fmt, ap);
	va_end(ap);
	if (!log_is_control_thread()) {
		/* exit() here would run atexit handlers and free what the
		 * control thread is using: a bug, so stop hard */
		log_msg(LL_ERROR, "fatal() called off the control thread: "
		    "aborting");
		abort();
	}
	exit(1);
}
