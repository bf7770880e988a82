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
 * time, so that one update is one call.  The owner decides whether the
 * content changed (it compares hashes).
 */
#ifndef CUTOVER_WATCH_H
#define CUTOVER_WATCH_H

#include <stddef.h>

struct event_base;
struct watch;

#define WATCH_DEBOUNCE_MS	200

/* Called on the loop's thread; it may free the watch. */
typedef void (*watch_fn)(void *arg);

/*
 * Watches the directory of path on base.  Returns the watch, or NULL with
 * a reason in err.
 */
struct watch	*watch_new(struct event_base *base, const char *path,
		    unsigned debounce_ms, watch_fn changed, void *arg,
		    char *err, size_t errlen);

/* Stops watching and frees w; NULL is a no-op. */
void		 watch_free(struct watch *w);

#endif
