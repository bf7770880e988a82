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
#include <unistd.h>

#include "log.h"
#include "watch.h"

/* What changes a file's content under a name, or the name's target. */
#define WATCH_EVENTS	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | \
			    IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | \
			    IN_DELETE_SELF | IN_MOVE_SELF)

struct watch {
	int		 fd;
	char		*dir;
	char		*name;		/* the file's name in dir */
	struct event	*ev_read;
	struct event	*ev_quiet;	/* the debounce timer */
	struct timeval	 quiet;
	watch_fn	 changed;
	void		*arg;
};

/* Whether an event on name may change the file: its own name, or the
 * "..data" link and "..TIMESTAMP" directories of a ConfigMap volume. */
static bool
watch_is_relevant(const struct watch *w, const struct inotify_event *e)
{
	if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_Q_OVERFLOW))
		return (true);
	if (e->len == 0)
		return (false);
	return (strcmp(e->name, w->name) == 0 ||
	    strncmp(e->name, "..", 2) == 0);
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
			if (e->mask & IN_IGNORED)
				log_warn("watch %s: the directory is gone; "
				    "no longer watching", w->dir);
			if (watch_is_relevant(w, e))
				hit = true;
		}
	}
	/* a quiet period after the last event: one update, one call */
	if (hit)
		evtimer_add(w->ev_quiet, &w->quiet);
}

static void
watch_quiet_cb(evutil_socket_t fd, short what, void *arg)
{
	struct watch	*w = arg;

	/* the last thing done here: the callback may free w */
	w->changed(w->arg);
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
	if (inotify_add_watch(w->fd, w->dir, WATCH_EVENTS | IN_ONLYDIR) ==
	    -1) {
		snprintf(err, errlen, "cannot watch %s: %s", w->dir,
		    strerror(errno));
		goto fail;
	}
	if ((w->ev_read = event_new(base, w->fd, EV_READ | EV_PERSIST,
	    watch_read_cb, w)) == NULL || (w->ev_quiet = evtimer_new(base,
	    watch_quiet_cb, w)) == NULL || event_add(w->ev_read, NULL) == -1) {
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
	if (w->fd != -1)
		close(w->fd);
	free(w->dir);
	free(w->name);
	free(w);
}
