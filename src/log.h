/*
 * log.h — the error log (stderr) and the access log.
 * Layer 0 (leaf): no project header beyond layer 0.
 *
 * One line per event: "2026-11-28T00:45:16.123Z cutover[42]: info: text".
 * Logging is synchronous to stderr; under Kubernetes the kubelet collects it.
 */
#ifndef CUTOVER_LOG_H
#define CUTOVER_LOG_H

#include <stdbool.h>

enum log_level {
	LL_ERROR,
	LL_WARN,
	LL_INFO,
	LL_DEBUG,
};

/* Sets the most verbose level that is written (default LL_INFO). */
void	log_set_level(enum log_level level);

/* Whether messages at level would be written: lets callers skip work. */
bool	log_enabled(enum log_level level);

/* Parses "error", "warning", "info" or "debug"; 0, or -1 if unknown. */
int	log_level_parse(const char *s, enum log_level *level);

/* Name of a level, for messages. */
const char *log_level_name(enum log_level level);

/* Writes one line at level; a trailing newline in fmt is not needed. */
void	log_msg(enum log_level level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#define log_error(...)	log_msg(LL_ERROR, __VA_ARGS__)
#define log_warn(...)	log_msg(LL_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LL_INFO, __VA_ARGS__)
#define log_debug(...)	do { if (log_enabled(LL_DEBUG)) \
				log_msg(LL_DEBUG, __VA_ARGS__); } while (0)

/*
 * Logs the message at level "fatal" and exits 1: at start-up and for
 * broken invariants only, and on the control thread only.  Called on
 * another thread (see log_set_control_thread) it logs and aborts instead:
 * a worker that cannot go on tells the control thread (worker.c).
 */
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/*
 * Records the calling thread as the control thread, the one fatal() may
 * exit from.  Call it before any other thread starts.  Until then every
 * thread counts as the control thread.
 */
void	log_set_control_thread(void);

/* Whether the caller runs on the control thread (true until it is set). */
bool	log_is_control_thread(void);

#endif
