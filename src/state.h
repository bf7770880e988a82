/*
 * state.h — the state file: the active pool, kept across restarts.
 */
#ifndef CUTOVER_STATE_H
#define CUTOVER_STATE_H

#include <stddef.h>

#include "pool.h"

/*
 * Reads the active pool from path.  Returns 1 with *id set, 0 when the
 * file does not exist yet, or -1 with a reason in err (unreadable, or not
 * a pool name: such a file is not trusted).
 */
int	state_read(const char *path, enum pool_id *id, char *err,
	    size_t errlen);

/*
 * Writes id to path atomically: a temporary file in the same directory,
 * fsync, rename, fsync of the directory.  Returns 0, or -1 with a reason
 * in err; path is unchanged then.
 */
int	state_write(const char *path, enum pool_id id, char *err,
	    size_t errlen);

#endif
