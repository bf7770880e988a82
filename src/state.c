/*
 * state.c — the state file.  Small local file I/O on a switch: the one
 * blocking call the loop makes, by design, so that a switch is on disk
 * before it answers.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state.h"

#define STATE_MAX	64

int
state_read(const char *path, enum pool_id *id, char *err, size_t errlen)
{
	char	buf[STATE_MAX];
	ssize_t	n;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return (0);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	if (pool_parse(buf, id) == -1) {
		snprintf(err, errlen, "%s: \"%.20s\" is not a pool name", path,
		    buf);
		return (-1);
	}
	return (1);
}

static int
state_sync_dir(const char *path)
{
	char	*copy;
	int	 fd, rc = -1;

	if ((copy = strdup(path)) == NULL)
		return (-1);
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) !=
	    -1) {
		rc = fsync(fd);
		close(fd);
	}
	free(copy);
	return (rc);
}

int
state_write(const char *path, enum pool_id id, char *err, size_t errlen)
{
	char		 tmp[4096];
	const char	*name = pool_name(id);
	size_t		 len = strlen(name);
	int		 fd = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return (-1);
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1 || write(fd, name, len) != (ssize_t)len ||
	    write(fd, "\n", 1) != 1 || fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1 || state_sync_dir(path) == -1)
		goto fail;
	return (0);
fail:
	snprintf(err, errlen, "cannot write state file %s: %s", path,
	    strerror(errno));
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return (-1);
}
