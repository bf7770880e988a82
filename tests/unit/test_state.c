/*
 * test_state.c — the state file: a write/read round trip, and the files a
 * local user may plant in its way.  A symlink or FIFO where the old code
 * put its temporary file ("<path>.tmp") is never opened; a FIFO, directory
 * or symlink at the state path itself is refused when read, without
 * blocking; no temporary file is left behind, on success or failure.
 *
 * A blocking open would hang the daemon's control thread; here SIGALRM
 * (installed without SA_RESTART) interrupts it instead, so a regression
 * fails the test rather than hanging it.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "state.h"

#define GUARD_SECONDS	3	/* far longer than any state_*() may take */

static volatile sig_atomic_t	alarmed;

struct fixture {
	char	dir[40];
	char	path[100];	/* the state file */
	char	old_tmp[110];	/* where the old code put its temporary */
	char	victim[100];	/* a file a symlink points at */
	char	err[512];
	uint64_t gen;	/* what state_read() read */
};

static void
alarm_handler(int sig)
{
	alarmed = 1;
}

static int
setup(void **state)
{
	struct fixture		*fx;
	struct sigaction	 sa;

	assert_non_null(fx = calloc(1, sizeof(*fx)));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_state.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/active", fx->dir);
	snprintf(fx->old_tmp, sizeof(fx->old_tmp), "%s.tmp", fx->path);
	snprintf(fx->victim, sizeof(fx->victim), "%s/victim", fx->dir);
	/* no SA_RESTART: a blocked open() returns EINTR */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = alarm_handler;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	alarmed = 0;
	alarm(GUARD_SECONDS);
	*state = fx;
	return (0);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return (remove(path) == -1 ? -1 : 0);
}

static int
teardown(void **state)
{
	struct fixture	*fx = *state;

	alarm(0);
	nftw(fx->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return (0);
}

static void
write_file(const char *path, const char *text)
{
	FILE	*f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* The contents of path (at most 255 bytes), or "" if it cannot be read. */
static const char *
read_file(const char *path)
{
	static char	buf[256];
	ssize_t		n;
	int		fd;

	buf[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_NONBLOCK)) == -1)
		return (buf);
	if ((n = read(fd, buf, sizeof(buf) - 1)) < 0)
		n = 0;
	buf[n] = '\0';
	close(fd);
	return (buf);
}

/* The number of entries in fx->dir named like a temporary state file. */
static int
temp_files(struct fixture *fx)
{
	struct dirent	*e;
	DIR		*d = opendir(fx->dir);
	int		 n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, ".active.", 8) == 0)
			n++;
	closedir(d);
	return (n);
}

static void
assert_err_has(struct fixture *fx, const char *want)
{
	if (strstr(fx->err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", fx->err, want);
}

/* -------------------------------------------------------------- tests */

static void
test_state_write_then_read_round_trip(void **state)
{
	struct fixture	*fx = *state;
	struct stat	 st;
	enum pool_id	 id = POOL_BLUE;

	assert_int_equal(state_read(fx->path, &id, &fx->gen, fx->err, sizeof(fx->err)),
	    0);
	if (state_write(fx->path, POOL_GREEN, 0, fx->err, sizeof(fx->err)) == -1)
		fail_msg("state_write: %s", fx->err);
	assert_string_equal(read_file(fx->path), "green\ngeneration 0\n");
	assert_int_equal(lstat(fx->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(state_read(fx->path, &id, &fx->gen, fx->err, sizeof(fx->err)),
	    1);
	assert_int_equal(id, POOL_GREEN);
	assert_int_equal(state_write(fx->path, POOL_BLUE, 0, fx->err,
	    sizeof(fx->err)), 0);
	assert_int_equal(state_read(fx->path, &id, &fx->gen, fx->err, sizeof(fx->err)),
	    1);
	assert_int_equal(id, POOL_BLUE);
	assert_int_equal(temp_files(fx), 0);
	assert_false(alarmed);
}

static void
test_state_write_symlink_at_old_tmp_victim_untouched(void **state)
{
	struct fixture	*fx = *state;
	enum pool_id	 id;

	write_file(fx->victim, "precious\n");
	assert_int_equal(symlink(fx->victim, fx->old_tmp), 0);
	if (state_write(fx->path, POOL_GREEN, 0, fx->err, sizeof(fx->err)) == -1)
		fail_msg("state_write: %s", fx->err);
	assert_string_equal(read_file(fx->victim), "precious\n");
	assert_int_equal(state_read(fx->path, &id, &fx->gen, fx->err, sizeof(fx->err)),
	    1);
	assert_int_equal(id, POOL_GREEN);
	/* the planted link is not ours to remove either */
	assert_int_equal(access(fx->old_tmp, F_OK), 0);
	assert_int_equal(temp_files(fx), 0);
}

static void
test_state_write_fifo_at_old_tmp_no_hang(void **state)
{
	struct fixture	*fx = *state;
	enum pool_id	 id;
	int		 rc;

	assert_int_equal(mkfifo(fx->old_tmp, 0600), 0);
	rc = state_write(fx->path, POOL_GREEN, 0, fx->err, sizeof(fx->err));
	assert_false(alarmed);
	if (rc == -1)
		fail_msg("state_write: %s", fx->err);
	assert_int_equal(state_read(fx->path, &id, &fx->gen, fx->err, sizeof(fx->err)),
	    1);
	assert_int_equal(id, POOL_GREEN);
	assert_int_equal(temp_files(fx), 0);
}

static void
test_state_read_fifo_refused_no_hang(void **state)
{
	struct fixture	*fx = *state;
	enum pool_id	 id;
	int		 rc;

	assert_int_equal(mkfifo(fx->path, 0600), 0);
	rc = state_read(fx->path, &id, &fx->gen, fx->err, sizeof(fx->err));
	assert_false(alarmed);
	assert_int_equal(rc, -1);
	assert_err_has(fx, fx->path);
	assert_err_has(fx, "is a FIFO, not a regular file");
}

static void
test_state_read_directory_refused(void **state)
{
	struct fixture	*fx = *state;
	enum pool_id	 id;

	assert_int_equal(mkdir(fx->path, 0700), 0);
	assert_int_equal(state_read(fx->path, &id, &fx->gen, fx->err, sizeof(fx->err)),
	    -1);
	assert_false(alarmed);
	assert_err_has(fx, fx->path);
	assert_err_has(fx, "is a directory, not a regular file");
}

/* A symlink at the state path is not followed, even to a valid file. */
static void
test_state_read_symlink_refused(void **state)
{
	struct fixture	*fx = *state;
	enum pool_id	 id;

	write_file(fx->victim, "green\n");
	assert_int_equal(symlink(fx->victim, fx->path), 0);
	assert_int_equal(state_read(fx->path, &id, &fx->gen, fx->err, sizeof(fx->err)),
	    -1);
	assert_err_has(fx, fx->path);
	assert_err_has(fx, "symbolic link, not followed");
}

/* A symlink to a FIFO: refused as a symlink, without opening the FIFO. */
static void
test_state_read_symlink_to_fifo_refused_no_hang(void **state)
{
	struct fixture	*fx = *state;
	enum pool_id	 id;
	int		 rc;

	assert_int_equal(mkfifo(fx->victim, 0600), 0);
	assert_int_equal(symlink(fx->victim, fx->path), 0);
	rc = state_read(fx->path, &id, &fx->gen, fx->err, sizeof(fx->err));
	assert_false(alarmed);
	assert_int_equal(rc, -1);
	assert_err_has(fx, "symbolic link, not followed");
}

/* Writing replaces a symlink at the state path; its target is untouched. */
static void
test_state_write_symlink_at_path_replaced_victim_untouched(void **state)
{
	struct fixture	*fx = *state;
	struct stat	 st;

	write_file(fx->victim, "precious\n");
	assert_int_equal(symlink(fx->victim, fx->path), 0);
	assert_int_equal(state_write(fx->path, POOL_GREEN, 0, fx->err,
	    sizeof(fx->err)), 0);
	assert_string_equal(read_file(fx->victim), "precious\n");
	assert_int_equal(lstat(fx->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_string_equal(read_file(fx->path), "green\ngeneration 0\n");
}

static void
test_state_read_world_writable_refused(void **state)
{
	struct fixture	*fx = *state;
	enum pool_id	 id;

	write_file(fx->path, "green\n");
	assert_int_equal(chmod(fx->path, 0666), 0);
	assert_int_equal(state_read(fx->path, &id, &fx->gen, fx->err, sizeof(fx->err)),
	    -1);
	assert_err_has(fx, "writable by everyone (mode 0666)");
}

/* As root, a file given to another user; skipped otherwise. */
static void
test_state_read_foreign_owner_refused(void **state)
{
	struct fixture	*fx = *state;
	enum pool_id	 id;

	if (geteuid() != 0)
		skip();
	write_file(fx->path, "green\n");
	assert_int_equal(chown(fx->path, 65534, 65534), 0);
	assert_int_equal(state_read(fx->path, &id, &fx->gen, fx->err, sizeof(fx->err)),
	    -1);
	assert_err_has(fx, "owned by uid 65534, not by us");
}

static void
test_state_read_not_a_pool_refused(void **state)
{
	struct fixture	*fx = *state;
	enum pool_id	 id;

	write_file(fx->path, "purple\n");
	assert_int_equal(state_read(fx->path, &id, &fx->gen, fx->err, sizeof(fx->err)),
	    -1);
	assert_err_has(fx, "\"purple\" is not a pool name");
}

/* The release generation: written, read back; a file of one line (from
 * before the generation) reads as generation 0; a bad second line is
 * refused, naming it. */
static void
test_state_generation_round_trip_and_old_format(void **state)
{
	struct fixture	*fx = *state;
	enum pool_id	 id = POOL_BLUE;

	assert_int_equal(state_write(fx->path, POOL_GREEN, 2147483647ULL,
	    fx->err, sizeof(fx->err)), 0);
	assert_string_equal(read_file(fx->path),
	    "green\ngeneration 2147483647\n");
	assert_int_equal(state_read(fx->path, &id, &fx->gen, fx->err,
	    sizeof(fx->err)), 1);
	assert_int_equal(id, POOL_GREEN);
	assert_true(fx->gen == 2147483647ULL);

	write_file(fx->path, "blue\n");
	fx->gen = 99;
	assert_int_equal(state_read(fx->path, &id, &fx->gen, fx->err,
	    sizeof(fx->err)), 1);
	assert_int_equal(id, POOL_BLUE);
	assert_true(fx->gen == 0);

	write_file(fx->path, "blue");	/* no LF at all */
	assert_int_equal(state_read(fx->path, &id, &fx->gen, fx->err,
	    sizeof(fx->err)), 1);
	assert_int_equal(id, POOL_BLUE);
	assert_true(fx->gen == 0);
}

static void
test_state_generation_bad_line_refused(void **state)
{
	struct fixture	*fx = *state;
	const char	*bad[] = { "green\ngeneration\n", "green\ngeneration "
	    "-1\n", "green\ngeneration 5x\n", "green\ngen 5\n",
	    "green\n\n", "green\ngeneration 5\nmore\n",
	    "green\ngeneration 123456789012345678901\n",
	    /* beyond the range of a declared or admin generation */
	    "green\ngeneration 2147483648\n",
	    "green\ngeneration 9999999999999999999\n",
	    "green\ngeneration 02147483647\n" };
	enum pool_id	 id;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(fx->path, bad[i]);
		assert_int_equal(state_read(fx->path, &id, &fx->gen, fx->err,
		    sizeof(fx->err)), -1);
		assert_err_has(fx, "is not \"generation N\"");
	}
}

/* The file's bytes reach the log escaped: no line of its own, no
 * terminal escape. */
static void
test_state_bad_bytes_escaped(void **state)
{
	struct fixture	*fx = *state;
	enum pool_id	 id;

	write_file(fx->path, "green\ngeneration 5\n"
	    "error: fake\x1b[2J\n");
	assert_int_equal(state_read(fx->path, &id, &fx->gen, fx->err,
	    sizeof(fx->err)), -1);
	assert_err_has(fx, "\"generation 5\\u000aerror: fake\\u001b[2J\" is not "
	    "\"generation N\"");
	assert_null(strchr(fx->err, '\n'));
	assert_null(strchr(fx->err, '\x1b'));

	write_file(fx->path, "gr\x1b[1meen\r\n");
	assert_int_equal(state_read(fx->path, &id, &fx->gen, fx->err,
	    sizeof(fx->err)), -1);
	assert_err_has(fx, "\"gr\\u001b[1meen\\u000d\" is not a pool name");
	assert_null(strchr(fx->err, '\r'));
	assert_null(strchr(fx->err, '\x1b'));
}

/* rename() over a directory fails: the error names the path, no leftover. */
static void
test_state_write_failure_leaves_no_temp_file(void **state)
{
	struct fixture	*fx = *state;
	char		 inner[120];

	assert_int_equal(mkdir(fx->path, 0700), 0);
	snprintf(inner, sizeof(inner), "%s/x", fx->path);
	write_file(inner, "x");
	assert_int_equal(state_write(fx->path, POOL_GREEN, 0, fx->err,
	    sizeof(fx->err)), -1);
	assert_err_has(fx, "cannot write state file ");
	assert_err_has(fx, fx->path);
	assert_int_equal(temp_files(fx), 0);
	assert_string_equal(read_file(inner), "x");
}

static void
test_state_write_missing_directory_names_path(void **state)
{
	struct fixture	*fx = *state;
	char		 path[120];

	snprintf(path, sizeof(path), "%s/gone/active", fx->dir);
	assert_int_equal(state_write(path, POOL_GREEN, 0, fx->err,
	    sizeof(fx->err)), -1);
	assert_err_has(fx, path);
	assert_err_has(fx, "No such file or directory");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_state_write_then_read_round_trip),
		T(test_state_write_symlink_at_old_tmp_victim_untouched),
		T(test_state_write_fifo_at_old_tmp_no_hang),
		T(test_state_read_fifo_refused_no_hang),
		T(test_state_read_directory_refused),
		T(test_state_read_symlink_refused),
		T(test_state_read_symlink_to_fifo_refused_no_hang),
		T(test_state_write_symlink_at_path_replaced_victim_untouched),
		T(test_state_read_world_writable_refused),
		T(test_state_read_foreign_owner_refused),
		T(test_state_read_not_a_pool_refused),
		T(test_state_generation_round_trip_and_old_format),
		T(test_state_generation_bad_line_refused),
		T(test_state_bad_bytes_escaped),
		T(test_state_write_failure_leaves_no_temp_file),
		T(test_state_write_missing_directory_names_path),
#undef T
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
