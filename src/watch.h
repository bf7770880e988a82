/*
 * watch.h — a watch on the configuration file: tells its owner, through
 * the callback it was made with, that the file may have changed.  Layer 2
 * (runtime): inotify on the file's directory, on the control thread's
 * loop.  Linux only.
 *
 * The directory is watched, not the file: an editor replaces the file by
 * renaming a new one over it, and Kubernetes updates a mounted ConfigMap
 * by renaming a new `..data` symlink over the old one (the file being a
 * symlink through `..data`), so the inode the file had is not the one it
 * will have.  Events on the file's name or on a name beginning with ".."
 * count; the callback runs once they have been quiet for the debounce
 * time, so that one update is one call, but never later than
 * WATCH_MAX_DELAY_MS after the first event of a burst (events that never
 * stop must not postpone a reload for ever).  The owner decides whether
 * the content changed (it compares hashes).
 *
 * When the directory itself goes (removed, or renamed away and replaced,
 * as by `mv dir dir.old; mv dir.new dir`), the watch is lost: it is logged
 * and tried again on the path every WATCH_RETRY_MS until the directory is
 * back, and then the callback runs once (the file may have changed
 * meanwhile).
 */
#ifndef CUTOVER_WATCH_H
#define CUTOVER_WATCH_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct watch;

#define WATCH_DEBOUNCE_MS	200
#define WATCH_MAX_DELAY_MS	1000
#define WATCH_RETRY_MS		1000

/* Called on the loop's thread; it may free the watch. */
typedef void (*watch_fn)(void *arg);

/*
 * Watches the directory of path on base.  Returns the watch, or NULL with
 * a reason in err.
 */
struct watch	*watch_new(struct event_base *base, const char *path,
		    unsigned debounce_ms, watch_fn changed, void *arg,
		    char *err, size_t errlen);

/* Whether w watches the directory now (false: lost, being retried). */
bool		 watch_active(const struct watch *w);

/* Tries at once to watch the directory again if the watch is lost (a
 * manual reload does); true if it is active afterwards. */
bool		 watch_rearm(struct watch *w);

/* Stops watching and frees w; NULL is a no-op. */
void		 watch_free(struct watch *w);

#endif
