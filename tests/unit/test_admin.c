/*
 * test_admin.c — the admin socket (src/admin.c): the socket's file and
 * its directory (mode, group, symlinks, stale and live sockets), lines
 * (pipelined, half-closed, too long, NUL), the client table and its
 * limits per listener, a read-only listener beside the full one, replies
 * a client does not read, and wait-* commands parked until their reply.
 * What each command answers: test_admin_cmd.c.
 *
 * The root context's operations are the fake of tests/fake_cutover.h
 * (linked with ADMIN_WRAP), scripted in setup with plain answers a test
 * may change.  log_msg is wrapped so a test can read what was logged;
 * bind is wrapped so that a test can play a local user who swaps the
 * fresh socket for a symlink.  The tests run a real event loop on
 * sockets in a temporary directory.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "admin.h"
#include "cutover.h"
#include "log.h"

#include "../fake_cutover.h"

/* ---------------------------------------------------------------- wraps */

void	__wrap_log_msg(enum log_level, const char *, ...);
int	__wrap_bind(int, const struct sockaddr *, socklen_t);
int	__real_bind(int, const struct sockaddr *, socklen_t);

static char	logged[8192];	/* what was logged, one line each */
static const char *swap_to;	/* bind: then replace the socket by a
				   symlink to this file */

/*
 * The real bind; with swap_to set, a local user then moves the new socket
 * aside and puts a symlink to swap_to in its place, before cutover gets to
 * set the socket's mode.
 */
int
__wrap_bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	const struct sockaddr_un	*sun = (const struct sockaddr_un *)sa;
	char				 aside[sizeof(sun->sun_path) + 8];
	int				 rc = __real_bind(fd, sa, len);

	if (rc == 0 && swap_to != NULL && sa->sa_family == AF_UNIX) {
		snprintf(aside, sizeof(aside), "%s.aside", sun->sun_path);
		assert_int_equal(rename(sun->sun_path, aside), 0);
		assert_int_equal(symlink(swap_to, sun->sun_path), 0);
	}
	return (rc);
}

void
__wrap_log_msg(enum log_level level, const char *fmt, ...)
{
	size_t	len = strlen(logged);
	va_list	ap;

	if (len + 2 >= sizeof(logged))
		return;
	va_start(ap, fmt);
	vsnprintf(logged + len, sizeof(logged) - len - 1, fmt, ap);
	va_end(ap);
	strcat(logged, "\n");
}

/* ------------------------------------------------------------- fixture */

struct fixture {
	struct cutover	 cx;
	char		 dir[40];
	char		 sub[80];	/* made by admin_new */
	char		 path[100];	/* full access, in sub */
	char		 ro_path[100];	/* read-only, in sub */
	struct admin	*admin;
	struct admin	*ro;
};

/* An operation of the root context that setup did not script. */
static void
unexpected(const char *op)
{
	fail_msg("unexpected call of the root context's %s", op);
}

static int
setup(void **state)
{
	struct fixture	*fx;
	char		 err[256];

	signal(SIGPIPE, SIG_IGN);
	logged[0] = '\0';
	swap_to = NULL;
	fake_reset();
	fake.unexpected = unexpected;
	fake_answer(&fake.sw, 0, "switched blue -> green");
	fake_answer(&fake.rollback, 0, "switched green -> blue");
	fake_answer(&fake.reload, 0, "reloaded");
	fake_answer(&fake.member, 0, "blue 10.0.0.1:80: ready -> drain");
	fake_answer(&fake.healthy, 1, "green: healthy");
	fake_answer(&fake.drained, 1, "blue: drained");
	fake.status_text = "active blue\n";
	fake.status_json = "{\"active\":\"blue\"}\n";
	assert_non_null(fx = calloc(1, sizeof(*fx)));
	assert_non_null(fx->cx.base = event_base_new());
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_admin.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	/* the sockets' directory does not exist yet: admin_new makes it */
	snprintf(fx->sub, sizeof(fx->sub), "%s/run", fx->dir);
	snprintf(fx->path, sizeof(fx->path), "%s/admin.sock", fx->sub);
	snprintf(fx->ro_path, sizeof(fx->ro_path), "%s/ro.sock", fx->sub);
	if ((fx->admin = admin_new(&fx->cx, fx->path, 0600, NULL,
	    ADMIN_ACCESS_FULL, err, sizeof(err))) == NULL)
		fail_msg("admin_new: %s", err);
	if ((fx->ro = admin_new(&fx->cx, fx->ro_path, 0600, NULL,
	    ADMIN_ACCESS_READONLY, err, sizeof(err))) == NULL)
		fail_msg("admin_new (read-only): %s", err);
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

	admin_free(fx->admin);
	admin_free(fx->ro);
	nftw(fx->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	event_base_free(fx->cx.base);
	free(fx);
	return (0);
}

static int
client_connect(const char *path)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(fd != -1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return (fd);
}

static void
client_send(int fd, const void *data, size_t len)
{
	assert_int_equal(send(fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void
client_puts(int fd, const char *text)
{
	client_send(fd, text, strlen(text));
}

/*
 * Runs the loop and reads from fd until want (if not NULL) has arrived,
 * or until EOF; gives up after two seconds.  Sets *eof when fd was closed.
 */
static char *
client_read(struct fixture *fx, int fd, const char *want, bool *eof)
{
	static char	buf[65536];
	size_t		len = 0;
	ssize_t		n;

	*eof = false;
	for (int i = 0; i < 2000; i++) {
		event_base_loop(fx->cx.base, EVLOOP_NONBLOCK);
		n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n > 0)
			len += (size_t)n;
		buf[len] = '\0';
		if (n == 0 || (n == -1 && errno != EAGAIN)) {
			*eof = true;
			break;
		}
		if (want != NULL && strstr(buf, want) != NULL)
			break;
		poll(NULL, 0, 1);
	}
	return (buf);
}

/* Sends one line on a fresh connection to path; returns the reply. */
static char *
ask(struct fixture *fx, const char *path, const char *line)
{
	char	*r;
	bool	 eof;
	int	 fd = client_connect(path);

	client_puts(fd, line);
	r = client_read(fx, fd, "\n\n", &eof);
	close(fd);
	return (r);
}

/* The name of this process's primary group. */
static const char *
own_group(void)
{
	struct group	*gr = getgrgid(getgid());

	assert_non_null(gr);
	return (gr->gr_name);
}

/* ---------------------------------------------------- the socket's file */

/* The fixture's directory did not exist: admin_new made it, for us only. */
static void
test_admin_socket_dir_missing_created_socket_mode_applied(void **state)
{
	struct fixture	*fx = *state;
	struct stat	 st;

	assert_int_equal(stat(fx->sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_mode & 0022, 0);
	assert_int_equal(lstat(fx->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void
test_admin_socket_in_use_refused(void **state)
{
	struct fixture	*fx = *state;
	char		 err[256], want[256];

	assert_null(admin_new(&fx->cx, fx->path, 0600, NULL,
	    ADMIN_ACCESS_FULL, err, sizeof(err)));
	snprintf(want, sizeof(want), "admin socket %s is in use by another "
	    "process", fx->path);
	assert_string_equal(err, want);
	/* the refusal left the live socket alone */
	assert_int_equal(access(fx->path, F_OK), 0);
}

static void
test_admin_socket_stale_replaced_and_removed_on_free(void **state)
{
	struct fixture		*fx = *state;
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	char			 err[256];
	int			 fd;

	admin_free(fx->admin);
	fx->admin = NULL;
	assert_int_equal(access(fx->path, F_OK), -1);
	/* a socket file nobody listens on, as a crash leaves it */
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", fx->path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	fx->admin = admin_new(&fx->cx, fx->path, 0600, NULL,
	    ADMIN_ACCESS_FULL, err, sizeof(err));
	assert_non_null(fx->admin);
}

static void
test_admin_socket_not_a_socket_refused(void **state)
{
	struct fixture	*fx = *state;
	char		 err[256], other[160];
	FILE		*f;

	snprintf(other, sizeof(other), "%s/file", fx->sub);
	assert_non_null(f = fopen(other, "w"));
	fclose(f);
	assert_null(admin_new(&fx->cx, other, 0600, NULL, ADMIN_ACCESS_FULL,
	    err, sizeof(err)));
	assert_non_null(strstr(err, "is not a socket"));
	assert_int_equal(access(other, F_OK), 0);
	unlink(other);
}

/*
 * A local user swaps the fresh socket for a symlink to a file of ours
 * right after bind: cutover must not chmod (or otherwise touch) the
 * file, and must refuse to start on what is not its socket.
 */
static void
test_admin_socket_swapped_for_symlink_after_bind_refused(void **state)
{
	struct fixture	*fx = *state;
	struct stat	 st;
	char		 err[256], path[120], victim[120];
	int		 fd;

	snprintf(path, sizeof(path), "%s/swapped.sock", fx->dir);
	snprintf(victim, sizeof(victim), "%s/victim", fx->dir);
	assert_true((fd = open(victim, O_WRONLY | O_CREAT | O_EXCL, 0644))
	    != -1);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_int_equal(chmod(victim, 0644), 0);
	swap_to = victim;
	assert_null(admin_new(&fx->cx, path, 0600, NULL, ADMIN_ACCESS_FULL,
	    err, sizeof(err)));
	swap_to = NULL;
	if (strstr(err, "not our socket after bind") == NULL)
		fail_msg("unexpected error: %s", err);
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	/* the planted symlink is left where it is */
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
}

static void
test_admin_socket_symlink_at_path_refused_target_untouched(void **state)
{
	struct fixture	*fx = *state;
	struct stat	 st;
	char		 err[256], path[120], victim[120], want[300];
	int		 fd;

	snprintf(path, sizeof(path), "%s/link.sock", fx->dir);
	snprintf(victim, sizeof(victim), "%s/victim", fx->dir);
	assert_true((fd = open(victim, O_WRONLY | O_CREAT | O_EXCL, 0644))
	    != -1);
	close(fd);
	assert_int_equal(chmod(victim, 0644), 0);
	assert_int_equal(symlink(victim, path), 0);
	assert_null(admin_new(&fx->cx, path, 0600, NULL, ADMIN_ACCESS_FULL,
	    err, sizeof(err)));
	snprintf(want, sizeof(want), "admin socket %s exists and is a "
	    "symbolic link, not a socket (not followed)", path);
	assert_string_equal(err, want);
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
}

/* The mode is the socket's from bind on; the process umask is restored. */
static void
test_admin_socket_mode_from_bind_umask_restored(void **state)
{
	struct fixture	*fx = *state;
	struct stat	 st;
	char		 err[256], path[120];
	mode_t		 before = umask(0022), after;
	struct admin	*a;

	snprintf(path, sizeof(path), "%s/mode.sock", fx->dir);
	a = admin_new(&fx->cx, path, 0640, NULL, ADMIN_ACCESS_FULL, err,
	    sizeof(err));
	after = umask(before);
	if (a == NULL)
		fail_msg("admin_new: %s", err);
	assert_int_equal(after, 0022);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_mode & 0777, 0640);
	admin_free(a);
}

/* Makes fx->dir/sub with mode (exactly); returns the socket path in it. */
static const char *
sub_dir(struct fixture *fx, mode_t mode)
{
	static char	path[120];
	char		dir[100];

	snprintf(dir, sizeof(dir), "%s/sub", fx->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chmod(dir, mode), 0);
	snprintf(path, sizeof(path), "%s/admin.sock", dir);
	return (path);
}

static void
test_admin_socket_dir_world_writable_refused(void **state)
{
	struct fixture	*fx = *state;
	const char	*path = sub_dir(fx, 0777);
	char		 err[256], want[300];

	assert_null(admin_new(&fx->cx, path, 0600, NULL, ADMIN_ACCESS_FULL,
	    err, sizeof(err)));
	snprintf(want, sizeof(want), "admin socket %s: directory %s/sub is "
	    "writable by everyone (mode 0777) and not sticky", path, fx->dir);
	assert_string_equal(err, want);
	assert_int_equal(access(path, F_OK), -1);
}

static void
test_admin_socket_dir_group_writable_refused(void **state)
{
	struct fixture	*fx = *state;
	const char	*path = sub_dir(fx, 0770);
	char		 err[256];

	assert_null(admin_new(&fx->cx, path, 0600, NULL, ADMIN_ACCESS_FULL,
	    err, sizeof(err)));
	if (strstr(err, "is writable by its group (mode 0770) and not sticky")
	    == NULL)
		fail_msg("unexpected error: %s", err);
	assert_int_equal(access(path, F_OK), -1);
}

/* Like /tmp: others may write, but not remove or rename our files. */
static void
test_admin_socket_dir_sticky_world_writable_accepted(void **state)
{
	struct fixture	*fx = *state;
	const char	*path = sub_dir(fx, 01777);
	char		 err[256];
	struct admin	*a;

	if ((a = admin_new(&fx->cx, path, 0600, NULL, ADMIN_ACCESS_FULL,
	    err, sizeof(err))) == NULL)
		fail_msg("admin_new: %s", err);
	admin_free(a);
}

/* As root, a directory given to another user; skipped otherwise. */
static void
test_admin_socket_dir_foreign_owner_refused(void **state)
{
	struct fixture	*fx = *state;
	const char	*path = sub_dir(fx, 0755);
	char		 err[256], dir[100];

	if (geteuid() != 0)
		skip();
	snprintf(dir, sizeof(dir), "%s/sub", fx->dir);
	assert_int_equal(chown(dir, 65534, 65534), 0);
	assert_null(admin_new(&fx->cx, path, 0600, NULL, ADMIN_ACCESS_FULL,
	    err, sizeof(err)));
	if (strstr(err, "is owned by uid 65534, not by root or us") == NULL)
		fail_msg("unexpected error: %s", err);
}

static void
test_admin_socket_group_own_primary_group_applied(void **state)
{
	struct fixture	*fx = *state;
	struct stat	 st;
	char		 err[256], path[120];
	struct admin	*a;

	snprintf(path, sizeof(path), "%s/group.sock", fx->dir);
	a = admin_new(&fx->cx, path, 0660, own_group(), ADMIN_ACCESS_FULL,
	    err, sizeof(err));
	if (a == NULL)
		fail_msg("admin_new: %s", err);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_gid, getgid());
	assert_int_equal(st.st_mode & 0777, 0660);
	admin_free(a);
	assert_int_equal(access(path, F_OK), -1);
}

/* A group other than our primary one, when we may give sockets to one. */
static void
test_admin_socket_group_other_group_applied(void **state)
{
	struct fixture	*fx = *state;
	struct group	*gr = NULL;
	struct stat	 st;
	char		 err[256], path[120], name[256] = "";
	gid_t		 gid = getgid(), groups[64];
	int		 n = getgroups(64, groups);
	struct admin	*a;

	/* a supplementary group; as root, any group at all */
	for (int i = 0; i < n && name[0] == '\0'; i++)
		if (groups[i] != getgid() && (gr = getgrgid(groups[i])) != NULL)
			snprintf(name, sizeof(name), "%s", gr->gr_name);
	if (name[0] == '\0' && geteuid() == 0) {
		setgrent();
		while ((gr = getgrent()) != NULL && gr->gr_gid == getgid())
			;
		if (gr != NULL)
			snprintf(name, sizeof(name), "%s", gr->gr_name);
		endgrent();
	}
	if (name[0] == '\0')
		skip();
	gid = getgrnam(name)->gr_gid;
	snprintf(path, sizeof(path), "%s/other.sock", fx->dir);
	a = admin_new(&fx->cx, path, 0660, name, ADMIN_ACCESS_READONLY, err,
	    sizeof(err));
	if (a == NULL)
		fail_msg("admin_new(group %s): %s", name, err);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_gid, gid);
	assert_int_equal(st.st_mode & 0777, 0660);
	admin_free(a);
}

static void
test_admin_socket_group_unknown_refused_no_socket_made(void **state)
{
	struct fixture	*fx = *state;
	char		 err[256], path[120];

	snprintf(path, sizeof(path), "%s/nogroup.sock", fx->dir);
	assert_null(admin_new(&fx->cx, path, 0660, "no-such-group-x7",
	    ADMIN_ACCESS_FULL, err, sizeof(err)));
	assert_string_equal(err,
	    "admin.socket_group: no group named 'no-such-group-x7'");
	assert_int_equal(access(path, F_OK), -1);
}

static void
test_admin_socket_listening_log_names_group_and_access(void **state)
{
	struct fixture	*fx = *state;
	char		 err[256], path[120], want[256];
	struct admin	*a;

	snprintf(path, sizeof(path), "%s/logged.sock", fx->dir);
	a = admin_new(&fx->cx, path, 0660, own_group(), ADMIN_ACCESS_READONLY,
	    err, sizeof(err));
	assert_non_null(a);
	snprintf(want, sizeof(want), "admin: listening on %s (mode 0660, "
	    "group %s, read-only)\n", path, own_group());
	if (strstr(logged, want) == NULL)
		fail_msg("no line \"%s\" in the log:\n%s", want, logged);
	admin_free(a);
}

/* ---------------------------------------------------------------- lines */

static void
test_admin_socket_pipelined_answered_in_order(void **state)
{
	struct fixture	*fx = *state;
	const char	 cmds[] = "version\nbogus\r\n\nversion\nquit\nversion\n";
	char		*r;
	bool		 eof;
	int		 fd = client_connect(fx->path);

	client_send(fd, cmds, sizeof(cmds) - 1);
	r = client_read(fx, fd, NULL, &eof);
	assert_true(eof);
	/* quit closed the connection: the last version was not run */
	assert_string_equal(r,
	    "ok\ncutover " PACKAGE_VERSION "\n\n"
	    "error: usage: unknown command 'bogus' (try 'help')\n\n"
	    "error: usage: empty command (try 'help')\n\n"
	    "ok\ncutover " PACKAGE_VERSION "\n\n"
	    "ok\n\n");
	close(fd);
}

static void
test_admin_socket_half_close_answers_last_line(void **state)
{
	struct fixture	*fx = *state;
	bool		 eof;
	int		 fd = client_connect(fx->path);

	/* no LF before EOF, as `printf version | nc -U` sends it */
	client_send(fd, "version", 7);
	shutdown(fd, SHUT_WR);
	assert_string_equal(client_read(fx, fd, NULL, &eof),
	    "ok\ncutover " PACKAGE_VERSION "\n\n");
	assert_true(eof);
	close(fd);
}

/* On either listener. */
static void
test_admin_socket_long_line_error_then_closed(void **state)
{
	struct fixture	*fx = *state;
	static char	 junk[ADMIN_LINE_MAX + 100];
	const char	*paths[] = { fx->path, fx->ro_path };
	bool		 eof;
	int		 fd;

	memset(junk, 'x', sizeof(junk));
	for (size_t i = 0; i < 2; i++) {
		fd = client_connect(paths[i]);
		client_send(fd, junk, sizeof(junk));
		assert_string_equal(client_read(fx, fd, NULL, &eof),
		    "error: usage: line too long (max 4096 bytes)\n\n");
		assert_true(eof);
		close(fd);
	}
}

static void
test_admin_socket_nul_byte_error_connection_kept(void **state)
{
	struct fixture	*fx = *state;
	const char	 cmds[] = "version\0rm\nversion\n";
	bool		 eof;
	int		 fd = client_connect(fx->path);

	client_send(fd, cmds, sizeof(cmds) - 1);
	assert_string_equal(client_read(fx, fd, "\n\nok\ncutover", &eof),
	    "error: usage: NUL byte in command\n\n"
	    "ok\ncutover " PACKAGE_VERSION "\n\n");
	assert_false(eof);
	close(fd);
}

static void
test_admin_socket_unread_replies_paused_then_all_answered(void **state)
{
	struct fixture	*fx = *state;
	enum { NCMDS = 5000 };
	static char	 cmds[NCMDS * 5 + 5], buf[1 << 16];
	size_t		 replies = 0, len = 0;
	ssize_t		 n;
	int		 fd = client_connect(fx->path);

	/* help answers ~100 times what it costs: the client never reads */
	for (size_t i = 0; i < NCMDS; i++)
		memcpy(cmds + i * 5, "help\n", 5);
	memcpy(cmds + NCMDS * 5, "quit\n", 5);
	client_send(fd, cmds, sizeof(cmds));
	for (int i = 0; i < 100; i++)
		event_base_loop(fx->cx.base, EVLOOP_NONBLOCK);
	/* now read: every command is answered once, in order, then EOF */
	for (int i = 0; i < 100000; i++) {
		event_base_loop(fx->cx.base, EVLOOP_NONBLOCK);
		n = recv(fd, buf + len, sizeof(buf) - len, 0);
		if (n == 0)
			break;
		if (n < 0) {
			assert_int_equal(errno, EAGAIN);
			continue;
		}
		len += (size_t)n;
		/* count whole replies, keep the unfinished one */
		for (char *p; (p = memmem(buf, len, "\n\n", 2)) != NULL;) {
			replies++;
			len -= (size_t)(p + 2 - buf);
			memmove(buf, p + 2, len);
		}
	}
	assert_int_equal(replies, NCMDS + 1);
	assert_int_equal(len, 0);
	close(fd);
}

/* -------------------------------------------------------------- clients */

static void
test_admin_socket_too_many_clients_refused(void **state)
{
	struct fixture	*fx = *state;
	int		 fds[ADMIN_CLIENTS_MAX + 1];
	bool		 eof;

	for (int i = 0; i < ADMIN_CLIENTS_MAX; i++) {
		fds[i] = client_connect(fx->path);
		event_base_loop(fx->cx.base, EVLOOP_NONBLOCK);
	}
	fds[ADMIN_CLIENTS_MAX] = client_connect(fx->path);
	assert_string_equal(client_read(fx, fds[ADMIN_CLIENTS_MAX], NULL,
	    &eof), "error: too many admin clients (64 connected)\n\n");
	assert_true(eof);
	/* the ones admitted still work */
	client_send(fds[0], "version\n", 8);
	assert_string_equal(client_read(fx, fds[0], "\n\n", &eof),
	    "ok\ncutover " PACKAGE_VERSION "\n\n");
	for (int i = 0; i <= ADMIN_CLIENTS_MAX; i++)
		close(fds[i]);
}

/* ADMIN_CLIENTS_MAX on one listener leaves the other's clients alone. */
static void
test_admin_socket_client_limit_per_listener(void **state)
{
	struct fixture	*fx = *state;
	int		 fds[ADMIN_CLIENTS_MAX], ro[ADMIN_CLIENTS_MAX + 1];
	bool		 eof;

	for (int i = 0; i < ADMIN_CLIENTS_MAX; i++) {
		fds[i] = client_connect(fx->path);
		event_base_loop(fx->cx.base, EVLOOP_NONBLOCK);
	}
	for (int i = 0; i < ADMIN_CLIENTS_MAX; i++) {
		ro[i] = client_connect(fx->ro_path);
		event_base_loop(fx->cx.base, EVLOOP_NONBLOCK);
	}
	client_puts(ro[ADMIN_CLIENTS_MAX - 1], "version\n");
	assert_string_equal(client_read(fx, ro[ADMIN_CLIENTS_MAX - 1],
	    "\n\n", &eof), "ok\ncutover " PACKAGE_VERSION "\n\n");
	/* the 65th on the read-only socket is refused */
	ro[ADMIN_CLIENTS_MAX] = client_connect(fx->ro_path);
	assert_string_equal(client_read(fx, ro[ADMIN_CLIENTS_MAX], NULL,
	    &eof), "error: too many admin clients (64 connected)\n\n");
	assert_true(eof);
	for (int i = 0; i < ADMIN_CLIENTS_MAX; i++)
		close(fds[i]);
	for (int i = 0; i <= ADMIN_CLIENTS_MAX; i++)
		close(ro[i]);
}

/* ----------------------------------------------- the read-only listener */

static void
test_admin_socket_readonly_answers_reading_commands(void **state)
{
	struct fixture	*fx = *state;

	assert_string_equal(ask(fx, fx->ro_path, "status\n"),
	    "ok\nactive blue\n\n");
	assert_string_equal(ask(fx, fx->ro_path, "version\n"),
	    "ok\ncutover " PACKAGE_VERSION "\n\n");
	assert_string_equal(ask(fx, fx->ro_path, "wait-healthy green 5\n"),
	    "ok\ngreen: healthy\n\n");
	assert_string_equal(fake.healthy.pool, "green");
	assert_string_equal(ask(fx, fx->ro_path, "wait-drained blue 5\n"),
	    "ok\nblue: drained\n\n");
	assert_string_equal(fake.drained.pool, "blue");
	assert_int_equal(fake_changes(), 0);
}

static void
test_admin_socket_readonly_refuses_switch_nothing_changes(void **state)
{
	struct fixture	*fx = *state;
	const char	*lines[] = { "switch green\n", "switch green force\n",
			    "rollback\n", "member blue 10.0.0.1:80 drain\n",
			    "reload\n" };
	const char	*names[] = { "switch", "switch", "rollback", "member",
			    "reload" };
	char		 want[128];

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		snprintf(want, sizeof(want), "error: read-only socket: '%s' "
		    "changes state\n\n", names[i]);
		assert_string_equal(ask(fx, fx->ro_path, lines[i]), want);
	}
	assert_int_equal(fake_changes(), 0);
	/* the full socket, beside it, still runs them */
	assert_string_equal(ask(fx, fx->path, "switch green\n"),
	    "ok\nswitched blue -> green\n\n");
	assert_int_equal(fake_changes(), 1);
	assert_int_equal(fake.sw.calls, 1);
	assert_string_equal(fake.sw.pool, "green");
}

static void
test_admin_socket_readonly_refusal_logged_with_peer(void **state)
{
	struct fixture	*fx = *state;
	char		 want[160];

	ask(fx, fx->ro_path, "switch green\n");
	snprintf(want, sizeof(want), "admin: uid %u pid %ld: switch green -> "
	    "error: read-only socket: 'switch' changes state\n",
	    (unsigned)getuid(), (long)getpid());
	if (strstr(logged, want) == NULL)
		fail_msg("no line \"%s\" in the log:\n%s", want, logged);
}

static void
test_admin_socket_readonly_connection_kept_after_refusal(void **state)
{
	struct fixture	*fx = *state;
	bool		 eof;
	int		 fd = client_connect(fx->ro_path);

	client_puts(fd, "switch green\nversion\n");
	assert_string_equal(client_read(fx, fd, "\n\nok\ncutover", &eof),
	    "error: read-only socket: 'switch' changes state\n\n"
	    "ok\ncutover " PACKAGE_VERSION "\n\n");
	assert_false(eof);
	close(fd);
}

static void
test_admin_socket_readonly_help_lists_only_readers(void **state)
{
	struct fixture	*fx = *state;
	const char	*r = ask(fx, fx->ro_path, "help\n");
	const char	*p;
	int		 lines = 0;

	assert_memory_equal(r, "ok\n", 3);
	assert_non_null(strstr(r, "\nstatus [json] "));
	assert_non_null(strstr(r, "\nwait-drained <pool> <seconds> "));
	assert_null(strstr(r, "\nswitch "));
	assert_null(strstr(r, "\nreload "));
	assert_null(strstr(r, "\ncancel "));
	for (p = r; *p != '\0'; p++)
		lines += *p == '\n';
	/* ok, status, metrics, wait-healthy, wait-drained, version, help,
	 * quit, "" */
	assert_int_equal(lines, 9);
	assert_non_null(strstr(r, "\nmetrics "));
	/* the full socket's help lists all thirteen */
	r = ask(fx, fx->path, "help\n");
	assert_non_null(strstr(r, "\nswitch <pool> [force] "));
	assert_non_null(strstr(r, "\ncancel "));
	for (lines = 0, p = r; *p != '\0'; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 15);
}

static void
test_admin_socket_readonly_unknown_command_usual_error(void **state)
{
	struct fixture	*fx = *state;

	assert_string_equal(ask(fx, fx->ro_path, "frobnicate\n"),
	    "error: usage: unknown command 'frobnicate' (try 'help')\n\n");
}

/* ------------------------------------------------- parked wait commands */

/* A client that waits: the reply comes when the condition holds. */
static void
test_admin_socket_wait_deferred_then_pipelined_in_order(void **state)
{
	struct fixture	*fx = *state;
	const char	 cmds[] = "wait-healthy green 5\nversion\n";
	bool		 eof;
	int		 fd = client_connect(fx->path);

	fake_script(&fake.healthy, 3, (int[]){ 0, 0, 1 },
	    (const char *[]){ "green: 1 of 3", "green: 2 of 3",
	    "green: 3 of 3 members healthy" });
	client_send(fd, cmds, sizeof(cmds) - 1);
	assert_string_equal(client_read(fx, fd, "\n\nok\ncutover", &eof),
	    "ok\ngreen: 3 of 3 members healthy\n\n"
	    "ok\ncutover " PACKAGE_VERSION "\n\n");
	assert_false(eof);
	assert_int_equal(fake.healthy.calls, 3);
	/* the connection reads on as before */
	client_send(fd, "version\n", 8);
	assert_string_equal(client_read(fx, fd, "\n\n", &eof),
	    "ok\ncutover " PACKAGE_VERSION "\n\n");
	close(fd);
}

static void
test_admin_socket_wait_never_error_reply(void **state)
{
	struct fixture	*fx = *state;
	bool		 eof;
	int		 fd = client_connect(fx->path);

	fake_script(&fake.drained, 2, (int[]){ 0, -1 },
	    (const char *[]){ "blue: 2 in flight",
	    "blue is the active pool: it will not drain (switch first)" });
	client_send(fd, "wait-drained blue 5\n", 20);
	assert_string_equal(client_read(fx, fd, "\n\n", &eof),
	    "error: blue is the active pool: it will not drain (switch "
	    "first)\n\n");
	assert_int_equal(fake.drained.calls, 2);
	assert_int_equal(fake.healthy.calls, 0);
	assert_string_equal(fake.drained.pool, "blue");
	close(fd);
}

static void
test_admin_socket_wait_timeout_error_reply(void **state)
{
	struct fixture	*fx = *state;
	struct timespec	 t0, t1;
	double		 s;
	bool		 eof;
	int		 fd = client_connect(fx->path);

	fake_answer(&fake.drained, 0, "blue has 2 request(s) in flight");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	client_send(fd, "wait-drained blue 1\nversion\n", 28);
	assert_string_equal(client_read(fx, fd, "\n\nok\ncutover", &eof),
	    "error: timeout: after 1 s: blue has 2 request(s) in flight\n\n"
	    "ok\ncutover " PACKAGE_VERSION "\n\n");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(s >= 0.95 && s < 1.8);
	/* checked about every 50 ms meanwhile */
	assert_true(fake.drained.calls >= 10 && fake.drained.calls <= 25);
	close(fd);
}

static void
test_admin_socket_wait_half_close_answered_then_closed(void **state)
{
	struct fixture	*fx = *state;
	bool		 eof;
	int		 fd = client_connect(fx->path);

	/* `printf 'wait-healthy green 5' | nc -U` sends EOF and waits */
	fake_script(&fake.healthy, 2, (int[]){ 0, 1 },
	    (const char *[]){ "green: 1 of 3", "green: 3 of 3" });
	client_send(fd, "wait-healthy green 5", 20);
	shutdown(fd, SHUT_WR);
	assert_string_equal(client_read(fx, fd, NULL, &eof),
	    "ok\ngreen: 3 of 3\n\n");
	assert_true(eof);
	close(fd);
}

static void
test_admin_socket_wait_client_gone_freed_no_more_checks(void **state)
{
	struct fixture	*fx = *state;
	int		 fd = client_connect(fx->path), calls;

	fake_answer(&fake.healthy, 0, "green: 1 of 3");
	client_send(fd, "wait-healthy green 30\nversion\n", 30);
	for (int i = 0; i < 120; i++) {
		event_base_loop(fx->cx.base, EVLOOP_NONBLOCK);
		poll(NULL, 0, 1);
	}
	assert_true(fake.healthy.calls >= 2);
	close(fd);
	for (int i = 0; i < 60; i++) {
		event_base_loop(fx->cx.base, EVLOOP_NONBLOCK);
		poll(NULL, 0, 1);
	}
	/* the timer is gone with the client (leaks: run under valgrind) */
	calls = fake.healthy.calls;
	for (int i = 0; i < 200; i++) {
		event_base_loop(fx->cx.base, EVLOOP_NONBLOCK);
		poll(NULL, 0, 1);
	}
	assert_int_equal(fake.healthy.calls, calls);
}

static void
test_admin_socket_waiting_clients_freed_by_admin_free(void **state)
{
	struct fixture	*fx = *state;
	int		 fds[3];

	fake_answer(&fake.healthy, 0, "green: 1 of 3");
	for (int i = 0; i < 3; i++) {
		fds[i] = client_connect(fx->path);
		client_send(fds[i], "wait-healthy green 60\n", 22);
	}
	for (int i = 0; i < 100; i++) {
		event_base_loop(fx->cx.base, EVLOOP_NONBLOCK);
		poll(NULL, 0, 1);
	}
	assert_true(fake.healthy.calls >= 3);
	/* teardown's admin_free() frees them, their timers and their waits */
	for (int i = 0; i < 3; i++)
		close(fds[i]);
}

/*
 * ADMIN_WAITS_MAX clients parked in wait-healthy: a further wait is
 * refused (its connection kept), and the spare connections still run
 * status and switch.  Once a parked client leaves, a wait is taken again.
 */
static void
test_admin_socket_waits_capped_spare_clients_answered(void **state)
{
	struct fixture	*fx = *state;
	int		 w[ADMIN_WAITS_MAX], extra, again;
	char		 want[160], c;
	bool		 eof;

	fake_answer(&fake.healthy, 0, "green: 0 of 1 up");
	for (int i = 0; i < ADMIN_WAITS_MAX; i++) {
		w[i] = client_connect(fx->path);
		client_puts(w[i], "wait-healthy green 86400\n");
		event_base_loop(fx->cx.base, EVLOOP_NONBLOCK);
	}
	extra = client_connect(fx->path);
	client_puts(extra, "wait-healthy green 86400\n");
	snprintf(want, sizeof(want), "error: too many pending waits (%d, at "
	    "most %d): try again later\n\n", ADMIN_WAITS_MAX, ADMIN_WAITS_MAX);
	assert_string_equal(client_read(fx, extra, "\n\n", &eof), want);
	assert_false(eof);
	snprintf(want, sizeof(want), "wait refused: %d clients waiting (at "
	    "most %d)\n", ADMIN_WAITS_MAX, ADMIN_WAITS_MAX);
	if (strstr(logged, want) == NULL)
		fail_msg("no \"%s\" in the log:\n%s", want, logged);
	/* the refused client may go on with other commands */
	client_puts(extra, "version\n");
	assert_string_equal(client_read(fx, extra, "\n\n", &eof),
	    "ok\ncutover " PACKAGE_VERSION "\n\n");
	assert_string_equal(ask(fx, fx->path, "status\n"),
	    "ok\nactive blue\n\n");
	assert_string_equal(ask(fx, fx->path, "switch green\n"),
	    "ok\nswitched blue -> green\n\n");
	/* none of the parked ones was answered meanwhile */
	for (int i = 0; i < ADMIN_WAITS_MAX; i++) {
		assert_int_equal(recv(w[i], &c, 1, MSG_DONTWAIT), -1);
		assert_int_equal(errno, EAGAIN);
	}
	/* one leaves: its place is free for a wait again */
	close(w[0]);
	for (int i = 0; i < 100; i++) {
		event_base_loop(fx->cx.base, EVLOOP_NONBLOCK);
		poll(NULL, 0, 5);
	}
	again = client_connect(fx->path);
	client_puts(again, "wait-healthy green 86400\n");
	for (int i = 0; i < 20; i++)
		event_base_loop(fx->cx.base, EVLOOP_NONBLOCK);
	fake_answer(&fake.healthy, 1, "green: healthy");
	assert_string_equal(client_read(fx, again, "\n\n", &eof),
	    "ok\ngreen: healthy\n\n");
	for (int i = 1; i < ADMIN_WAITS_MAX; i++) {
		assert_string_equal(client_read(fx, w[i], "\n\n", &eof),
		    "ok\ngreen: healthy\n\n");
		close(w[i]);
	}
	close(extra);
	close(again);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_admin_socket_dir_missing_created_socket_mode_applied),
		T(test_admin_socket_in_use_refused),
		T(test_admin_socket_stale_replaced_and_removed_on_free),
		T(test_admin_socket_not_a_socket_refused),
		T(test_admin_socket_swapped_for_symlink_after_bind_refused),
		T(test_admin_socket_symlink_at_path_refused_target_untouched),
		T(test_admin_socket_mode_from_bind_umask_restored),
		T(test_admin_socket_dir_world_writable_refused),
		T(test_admin_socket_dir_group_writable_refused),
		T(test_admin_socket_dir_sticky_world_writable_accepted),
		T(test_admin_socket_dir_foreign_owner_refused),
		T(test_admin_socket_group_own_primary_group_applied),
		T(test_admin_socket_group_other_group_applied),
		T(test_admin_socket_group_unknown_refused_no_socket_made),
		T(test_admin_socket_listening_log_names_group_and_access),
		T(test_admin_socket_pipelined_answered_in_order),
		T(test_admin_socket_half_close_answers_last_line),
		T(test_admin_socket_long_line_error_then_closed),
		T(test_admin_socket_nul_byte_error_connection_kept),
		T(test_admin_socket_unread_replies_paused_then_all_answered),
		T(test_admin_socket_too_many_clients_refused),
		T(test_admin_socket_client_limit_per_listener),
		T(test_admin_socket_readonly_answers_reading_commands),
		T(test_admin_socket_readonly_refuses_switch_nothing_changes),
		T(test_admin_socket_readonly_refusal_logged_with_peer),
		T(test_admin_socket_readonly_connection_kept_after_refusal),
		T(test_admin_socket_readonly_help_lists_only_readers),
		T(test_admin_socket_readonly_unknown_command_usual_error),
		T(test_admin_socket_wait_deferred_then_pipelined_in_order),
		T(test_admin_socket_wait_never_error_reply),
		T(test_admin_socket_wait_timeout_error_reply),
		T(test_admin_socket_wait_half_close_answered_then_closed),
		T(test_admin_socket_wait_client_gone_freed_no_more_checks),
		T(test_admin_socket_waiting_clients_freed_by_admin_free),
		T(test_admin_socket_waits_capped_spare_clients_answered),
#undef T
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
