/*
 * watch.c — the configuration file's watch: inotify on its directory,
 * debounced.
 */
#include "autoconf.h"

#include <sys/inotify.h>

#include <errno.h>
#include <event2/event.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "watch.h"

/* What changes a file's content under a name, or the name's target. */
#define WATCH_EVENTS	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | \
			    IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | \
			    IN_DELETE_SELF | IN_MOVE_SELF)

struct watch {
	int		 fd;
	int		 wd;		/* the directory's; -1: lost */
	char		*dir;
	char		*name;		/* the file's name in dir */
	struct event	*ev_read;
	struct event	*ev_quiet;	/* the debounce timer */
	struct event	*ev_retry;	/* while lost: watch dir again */
	struct timeval	 quiet;
	bool		 burst;		/* ev_quiet is pending */
	struct timespec	 first;		/* the burst's first event */
	watch_fn	 changed;
	void		*arg;
};

/* Whether an event on name may change the file: its own name, or the
 * "..data" link and "..TIMESTAMP" directories of a ConfigMap volume. */
static bool
watch_is_relevant(const struct watch *w, const struct inotify_event *e)
{
	if (e->mask & IN_Q_OVERFLOW)
		return (true);
	if (e->wd != w->wd || e->len == 0)
		return (false);
	return (strcmp(e->name, w->name) == 0 ||
	    strncmp(e->name, "..", 2) == 0);
}

/*
 * Something changed: the callback runs once events have been quiet for
 * w->quiet, but no later than WATCH_MAX_DELAY_MS after the first event of
 * the burst, however often events come.
 */
static void
watch_hit(struct watch *w)
{
	struct timespec	now;
	struct timeval	tv = w->quiet;
	long long	left_us;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!w->burst) {
		w->burst = true;
		w->first = now;
	}
	left_us = WATCH_MAX_DELAY_MS * 1000LL -
	    ((long long)(now.tv_sec - w->first.tv_sec) * 1000000 +
	    (now.tv_nsec - w->first.tv_nsec) / 1000);
	if (left_us < 0)
		left_us = 0;
	if (left_us < (long long)tv.tv_sec * 1000000 + tv.tv_usec) {
		tv.tv_sec = left_us / 1000000;
		tv.tv_usec = left_us % 1000000;
	}
	evtimer_add(w->ev_quiet, &tv);
}

/* Watches w->dir again: true, or false with the retry timer armed. */
static bool
watch_retry(struct watch *w)
{
	struct timeval	tv = { WATCH_RETRY_MS / 1000,
			    (WATCH_RETRY_MS % 1000) * 1000 };

	if (w->wd != -1)
		return (true);
	if ((w->wd = inotify_add_watch(w->fd, w->dir, WATCH_EVENTS |
	    IN_ONLYDIR)) == -1) {
		evtimer_add(w->ev_retry, &tv);
		return (false);
	}
	evtimer_del(w->ev_retry);
	log_info("watch %s: the directory is back; watching it again", w->dir);
	/* the file may have changed while nothing watched it */
	watch_hit(w);
	return (true);
}

static void
watch_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	watch_retry(arg);
}

/* The directory at w->dir went (removed, or renamed away): the watch is
 * on a directory that is no longer the path's, or on none. */
static void
watch_lost(struct watch *w, const char *why)
{
	if (w->wd == -1)
		return;
	/* after IN_MOVE_SELF the kernel keeps watching the moved inode */
	(void)inotify_rm_watch(w->fd, w->wd);
	w->wd = -1;
	log_warn("watch %s: the directory %s; watching it again once it is "
	    "back (retrying every %d ms)", w->dir, why, WATCH_RETRY_MS);
	watch_retry(w);
}

static void
watch_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct watch			*w = arg;
	char				 buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event	*e;
	bool				 hit = false;
	ssize_t				 n;

	for (;;) {
		if ((n = read(fd, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				log_warn("watch %s: %s", w->dir,
				    strerror(errno));
			break;
		}
		if (n == 0)
			break;
		for (char *p = buf; p < buf + n;
		    p += sizeof(*e) + e->len) {
			e = (const struct inotify_event *)(void *)p;
			if (watch_is_relevant(w, e))
				hit = true;
			if (e->wd != w->wd)
				continue;
			if (e->mask & IN_DELETE_SELF)
				watch_lost(w, "was removed");
			else if (e->mask & IN_MOVE_SELF)
				watch_lost(w, "was moved away");
			else if (e->mask & IN_IGNORED)
				watch_lost(w, "is gone");
		}
	}
	if (hit)
		watch_hit(w);
}

static void
watch_quiet_cb(evutil_socket_t fd, short what, void *arg)
{
	struct watch	*w = arg;

	w->burst = false;
	/* the last thing done here: the callback may free w */
	w->changed(w->arg);
}

bool
watch_active(const struct watch *w)
{
	return (w->wd != -1);
}

bool
watch_rearm(struct watch *w)
{
	return (watch_retry(w));
}

struct watch *
watch_new(struct event_base *base, const char *path, unsigned debounce_ms,
    watch_fn changed, void *arg, char *err, size_t errlen)
{
	struct watch	*w;
	char		*d = NULL, *b = NULL;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	w->fd = -1;
	w->wd = -1;
	w->changed = changed;
	w->arg = arg;
	w->quiet.tv_sec = debounce_ms / 1000;
	w->quiet.tv_usec = (debounce_ms % 1000) * 1000;
	if ((d = strdup(path)) == NULL || (b = strdup(path)) == NULL ||
	    (w->dir = strdup(dirname(d))) == NULL ||
	    (w->name = strdup(basename(b))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if ((w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		snprintf(err, errlen, "inotify: %s", strerror(errno));
		goto fail;
	}
	if ((w->wd = inotify_add_watch(w->fd, w->dir, WATCH_EVENTS |
	    IN_ONLYDIR)) == -1) {
		snprintf(err, errlen, "cannot watch %s: %s", w->dir,
		    strerror(errno));
		goto fail;
	}
	if ((w->ev_read = event_new(base, w->fd, EV_READ | EV_PERSIST,
	    watch_read_cb, w)) == NULL || (w->ev_quiet = evtimer_new(base,
	    watch_quiet_cb, w)) == NULL || (w->ev_retry = evtimer_new(base,
	    watch_retry_cb, w)) == NULL || event_add(w->ev_read, NULL) == -1) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	free(d);
	free(b);
	return (w);
fail:
	free(d);
	free(b);
	watch_free(w);
	return (NULL);
}

void
watch_free(struct watch *w)
{
	if (w == NULL)
		return;
	if (w->ev_read != NULL)
		event_free(w->ev_read);
	if (w->ev_quiet != NULL)
		event_free(w->ev_quiet);
	if (w->ev_retry != NULL)
		event_free(w->ev_retry);
	if (w->fd != -1)
		close(w->fd);
	free(w->dir);
	free(w->name);
	free(w);
}
