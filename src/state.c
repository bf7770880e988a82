/*
 * state.c — the state file: the pool, then "generation N".  Small local file I/O on a switch: the one
 * blocking call the loop makes, by design, so that a switch is on disk
 * before it answers.
 *
 * Nothing here may block on, or write through, something another user put
 * in the way: the temporary file gets a fresh random name and is created
 * exclusively (a symlink or FIFO planted at any name we might use is never
 * opened), and the state file is opened without following a symlink and
 * without waiting for a FIFO's writer, then checked with fstat.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accesslog.h"
#include "config.h"
#include "state.h"

#define STATE_MAX	96	/* a pool name, "generation N", two LFs */
#define STATE_GEN_WORD	"generation "
#define STATE_PATH_MAX	4096

/* What kind of file st is, for an error message. */
static const char *
state_type_str(const struct stat *st)
{
	switch (st->st_mode & S_IFMT) {
	case S_IFDIR:
		return ("a directory");
	case S_IFIFO:
		return ("a FIFO");
	case S_IFSOCK:
		return ("a socket");
	case S_IFCHR:
		return ("a character device");
	case S_IFBLK:
		return ("a block device");
	case S_IFLNK:
		return ("a symbolic link");
	default:
		return ("not a regular file");
	}
}

/*
 * Whether the open file st may be trusted: a regular file, small, owned by
 * us or root, and not writable by everyone.  false with a reason in err.
 */
static bool
state_is_trusted(const char *path, const struct stat *st, char *err,
    size_t errlen)
{
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%s: is %s, not a regular file", path,
		    state_type_str(st));
		return (false);
	}
	if (st->st_uid != geteuid() && st->st_uid != 0) {
		snprintf(err, errlen, "%s: owned by uid %lu, not by us (uid "
		    "%lu) or root", path, (unsigned long)st->st_uid,
		    (unsigned long)geteuid());
		return (false);
	}
	if (st->st_mode & S_IWOTH) {
		snprintf(err, errlen, "%s: writable by everyone (mode %04o)",
		    path, (unsigned)(st->st_mode & 07777));
		return (false);
	}
	if (st->st_size >= STATE_MAX) {
		snprintf(err, errlen, "%s: %lld bytes, too long for a state "
		    "file", path, (long long)st->st_size);
		return (false);
	}
	return (true);
}

/*
 * Parses the second line, "generation N" (N decimal, no sign, no blanks);
 * 0, or -1 if it is anything else.
 */
static int
state_parse_gen(const char *line, uint64_t *gen)
{
	const char	*p = line + strlen(STATE_GEN_WORD);
	size_t		 n;
	uint64_t	 v = 0;

	if (strncmp(line, STATE_GEN_WORD, strlen(STATE_GEN_WORD)) != 0)
		return (-1);
	/* the range of a declared or admin generation, and no more: a
	 * larger one could never be followed by a newer release */
	if ((n = strspn(p, "0123456789")) == 0 || n > 10 || p[n] != '\0')
		return (-1);
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (uint64_t)(p[i] - '0');
	if (v > CONFIG_GENERATION_MAX)
		return (-1);
	*gen = v;
	return (0);
}

int
state_read(const char *path, enum pool_id *id, uint64_t *gen, char *err,
    size_t errlen)
{
	char		buf[STATE_MAX], *nl, text[30 * 6 + 1];
	struct stat	st;
	ssize_t		n;
	int		fd;

	/* O_NONBLOCK: a FIFO without a writer must not stop start-up */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY |
	    O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return (0);
		if (errno == ELOOP)
			snprintf(err, errlen, "%s: is a symbolic link, not "
			    "followed", path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: fstat: %s", path, strerror(errno));
		goto fail;
	}
	if (!state_is_trusted(path, &st, err, errlen))
		goto fail;
	if ((n = read(fd, buf, sizeof(buf) - 1)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	close(fd);
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	*gen = 0;	/* a file from before the generation: one line */
	if ((nl = strchr(buf, '\n')) != NULL) {
		*nl = '\0';
		if (state_parse_gen(nl + 1, gen) == -1) {
			/* escaped: the file's bytes must not make log lines */
			text[accesslog_json_escape(text, sizeof(text) - 1,
			    nl + 1, strnlen(nl + 1, 30), NULL)] = '\0';
			snprintf(err, errlen, "%s: \"%s\" is not \"generation "
			    "N\" (N at most %d)", path, text,
			    CONFIG_GENERATION_MAX);
			return (-1);
		}
	}
	if (pool_parse(buf, id) == -1) {
		text[accesslog_json_escape(text, sizeof(text) - 1, buf,
		    strnlen(buf, 20), NULL)] = '\0';
		snprintf(err, errlen, "%s: \"%s\" is not a pool name", path,
		    text);
		return (-1);
	}
	return (1);
fail:
	close(fd);
	return (-1);
}

/*
 * Makes the template of path's temporary file, "DIR/.NAME.XXXXXX", in tmp
 * (len bytes) and the name of its directory in dir.  0, or -1 when path
 * names no file or is too long.
 */
static int
state_tmpname(const char *path, char *tmp, size_t len, char *dir,
    size_t dirlen)
{
	const char	*slash = strrchr(path, '/');
	const char	*base = slash != NULL ? slash + 1 : path;
	int		 dlen = slash == NULL ? 0 : (int)(slash - path);

	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return (-1);
	if (slash == NULL)
		snprintf(dir, dirlen, ".");
	else if (snprintf(dir, dirlen, "%.*s", dlen > 0 ? dlen : 1,
	    dlen > 0 ? path : "/") >= (int)dirlen)
		return (-1);
	if (snprintf(tmp, len, "%.*s%s.%s.XXXXXX", dlen, path,
	    slash != NULL ? "/" : "", base) >= (int)len)
		return (-1);
	return (0);
}

static int
state_sync_dir(const char *dir)
{
	int	fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (-1);
	rc = fsync(fd);
	close(fd);
	return (rc);
}

/* Writes all of buf to fd; 0, or -1 with errno set (EIO if it stalls). */
static int
state_write_all(int fd, const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return (-1);
		}
		buf += n;
		len -= (size_t)n;
	}
	return (0);
}

int
state_write(const char *path, enum pool_id id, uint64_t gen, char *err,
    size_t errlen)
{
	char	 tmp[STATE_PATH_MAX], dir[STATE_PATH_MAX], line[STATE_MAX];
	bool	 renamed = false;
	int	 fd = -1, len;

	if (state_tmpname(path, tmp, sizeof(tmp), dir, sizeof(dir)) == -1) {
		snprintf(err, errlen, "cannot write state file %s: not a file "
		    "name, or too long", path);
		return (-1);
	}
	len = snprintf(line, sizeof(line), "%s\n" STATE_GEN_WORD "%llu\n",
	    pool_name(id), (unsigned long long)gen);
	/* O_CREAT | O_EXCL with a random name: never an existing file */
	if ((fd = mkostemp(tmp, O_CLOEXEC | O_NOFOLLOW)) == -1) {
		tmp[0] = '\0';	/* nothing of ours to remove */
		goto fail;
	}
	if (fchmod(fd, 0644) == -1 || state_write_all(fd, line, (size_t)len)
	    == -1 || fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	renamed = true;
	if (state_sync_dir(dir) == -1)
		goto fail;
	return (0);
fail:
	snprintf(err, errlen, "cannot write state file %s: %s%s", path,
	    strerror(errno), renamed ? " (syncing its directory)" : "");
	if (fd != -1)
		close(fd);
	/* only the file we created, and only while it has our name */
	if (!renamed && tmp[0] != '\0')
		unlink(tmp);
	return (-1);
}
