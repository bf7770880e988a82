/*
 * state.h — the state file: the active pool and the release generation,
 * kept across restarts.  Layer 1 (data).
 *
 * The file is the pool's name on a line, then "generation N" on a second
 * line: "green\ngeneration 5\n".  A file of one line (written before the
 * generation existed) reads as generation 0.
 */
#ifndef CUTOVER_STATE_H
#define CUTOVER_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "pool.h"

/*
 * Reads the active pool and the release generation from path.  Returns 1
 * with *id and *gen set (*gen 0 when the file has no generation line), 0
 * when the
 * file does not exist yet, or -1 with a reason in err, which begins with
 * path: such a file is not trusted.  Not trusted are a file that cannot
 * be read, a symbolic link (not followed), anything but a regular file (a
 * FIFO is refused without waiting for a writer), a file owned by neither
 * our effective uid nor root, a file writable by everyone, and contents
 * that are not a pool name and an optional generation line.
 */
int	state_read(const char *path, enum pool_id *id, uint64_t *gen,
	    char *err, size_t errlen);

/*
 * Writes id and gen to path atomically: a new temporary file in the same
 * directory with a random name (".NAME.XXXXXX", created exclusively, so a
 * symlink or FIFO planted there is never opened), mode 0644, fsync,
 * rename over path (a symlink at path is replaced, not followed), fsync
 * of the directory.  Returns 0, or -1 with a reason naming path in err;
 * the temporary file is removed then, and path is unchanged unless only
 * the directory's fsync failed (err says so).
 */
int	state_write(const char *path, enum pool_id id, uint64_t gen,
	    char *err, size_t errlen);

#endif
