/*
 * config_scan.h — one pass over a configuration file's text before
 * libconfig reads it, for what libconfig 1.5 gets wrong.
 *
 * libconfig 1.5 calls exit() when an @include names a file it cannot read,
 * silently wraps an integer literal that does not fit in 32 bits unless it
 * ends in L (4294967298 reads as 2), and names a duplicate setting by its
 * line alone.  config_scan() tokenizes the text just enough for those three
 * (comments, strings, @include lines, setting names, groups, lists and
 * numbers), reading included files inline where libconfig would.  It
 * refuses at once what libconfig would exit() on, take silently or take
 * in quadratic time: a NUL byte, an unreadable or too deeply nested
 * include, more than CONFIG_SCAN_FILES_MAX included files or
 * CONFIG_SCAN_BYTES_MAX bytes in all, a string or comment that runs to
 * the end of a file (libconfig ends the file there and ignores the rest
 * without a word), and a group of more than CONFIG_SCAN_GROUP_MAX
 * settings.  It notes the first duplicate name and the integer literals
 * too wide for 32 bits, which the caller reports once libconfig has
 * accepted the syntax.  Pure: files are read through the caller's
 * function.
 */
#ifndef CUTOVER_CONFIG_SCAN_H
#define CUTOVER_CONFIG_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_SCAN_PATH_MAX	256	/* "pools.blue.members[12]" */
#define CONFIG_SCAN_WIDE_MAX	8	/* wide literals kept by path */
#define CONFIG_SCAN_INCLUDE_MAX	10	/* nesting of @include, as libconfig */
#define CONFIG_SCAN_FILES_MAX	64	/* files included in all */
#define CONFIG_SCAN_BYTES_MAX	(16 * 1024 * 1024)	/* read in all */
#define CONFIG_SCAN_GROUP_MAX	4096	/* settings in one group */

/* Reads path whole into *text (NUL-terminated, freed by the caller);
 * 0, or -1 with a message in err. */
typedef int (*config_scan_read_fn)(const char *path, char **text,
    size_t *len, char *err, size_t errlen);

/* An integer literal written without L that libconfig would wrap. */
struct config_scan_wide {
	char		 path[CONFIG_SCAN_PATH_MAX];	/* its setting */
	char		 lit[32];			/* as written */
	char		 where[CONFIG_SCAN_PATH_MAX];	/* "FILE:LINE" */
	bool		 used;		/* reported by the caller already */
};

struct config_scan {
	/* "FILE:LINE: PATH: duplicate setting name (...)" for the first
	 * duplicate in reading order, or "" */
	char			 dup[2 * CONFIG_SCAN_PATH_MAX + 96];
	struct config_scan_wide	 wide[CONFIG_SCAN_WIDE_MAX];
	size_t			 nwide;	/* all found; the first MAX are kept */
};

/*
 * Scans text (len bytes, the file name) and every file it includes, by
 * name relative to incdir.  0 with the findings in *sc, or -1 with
 * "FILE:LINE: message" in err.
 */
int	config_scan(struct config_scan *sc, const char *name, const char *text,
	    size_t len, const char *incdir, config_scan_read_fn read,
	    char *err, size_t errlen);

/* "0x80000000" or "-3000000000" (len bytes at lit): true when an integer
 * literal written without L does not fit in libconfig 1.5's 32-bit int,
 * which would wrap it. */
bool	config_scan_literal_wide(const char *lit, size_t len);

#endif
