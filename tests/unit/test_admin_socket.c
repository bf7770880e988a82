/*
 * test_admin_socket.c — the admin listeners: a full and a read-only socket
 * side by side, each with its own limits, the socket's group, and the log
 * of refused commands.  (The protocol on one socket: test_admin.c.)
 *
 * The root context (cutover_*) is faked with -Wl,--wrap, and log_msg is
 * wrapped so a test can read what was logged; the tests run a real event
 * loop on sockets in a temporary directory.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
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
#include <unistd.h>

#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "admin.h"
#include "cutover.h"
#include "log.h"

/* ---------------------------------------------------------------- fakes */

int	__wrap_cutover_switch(struct cutover *, const char *, bool, char *,
	    size_t);
int	__wrap_cutover_rollback(struct cutover *, bool, char *, size_t);
int	__wrap_cutover_reload(struct cutover *, char *, size_t);
void	__wrap_cutover_status(struct cutover *, struct evbuffer *, bool);
int	__wrap_cutover_member(struct cutover *, const char *, const char *,
	    const char *, char *, size_t);
int	__wrap_cutover_healthy(struct cutover *, const char *, char *, size_t);
int	__wrap_cutover_drained(struct cutover *, const char *, char *, size_t);
void	__wrap_log_msg(enum log_level, const char *, ...);

static int	changes;	/* state-changing calls that got through */
static char	logged[8192];	/* what was logged, one line each */

int
__wrap_cutover_switch(struct cutover *cx, const char *pool, bool force,
    char *msg, size_t msglen)
{
	changes++;
	snprintf(msg, msglen, "switched blue -> %s", pool);
	return (0);
}

int
__wrap_cutover_rollback(struct cutover *cx, bool force, char *msg,
    size_t msglen)
{
	changes++;
	snprintf(msg, msglen, "switched green -> blue");
	return (0);
}

int
__wrap_cutover_reload(struct cutover *cx, char *msg, size_t msglen)
{
	changes++;
	snprintf(msg, msglen, "reloaded");
	return (0);
}

void
__wrap_cutover_status(struct cutover *cx, struct evbuffer *out, bool json)
{
	evbuffer_add_printf(out, "active blue\n");
}

int
__wrap_cutover_member(struct cutover *cx, const char *pool, const char *addr,
    const char *state, char *msg, size_t msglen)
{
	changes++;
	snprintf(msg, msglen, "%s %s: %s", pool, addr, state);
	return (0);
}

int
__wrap_cutover_healthy(struct cutover *cx, const char *pool, char *msg,
    size_t msglen)
{
	snprintf(msg, msglen, "%s: healthy", pool);
	return (1);
}

int
__wrap_cutover_drained(struct cutover *cx, const char *pool, char *msg,
    size_t msglen)
{
	snprintf(msg, msglen, "%s: drained", pool);
	return (1);
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
	char		 path[100];	/* full access */
	char		 ro_path[100];	/* read-only */
	struct admin	*admin;
	struct admin	*ro;
};

static int
setup(void **state)
{
	struct fixture	*fx;
	char		 err[256];

	signal(SIGPIPE, SIG_IGN);
	changes = 0;
	logged[0] = '\0';
	assert_non_null(fx = calloc(1, sizeof(*fx)));
	assert_non_null(fx->cx.base = event_base_new());
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_admin_sock.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/admin.sock", fx->dir);
	snprintf(fx->ro_path, sizeof(fx->ro_path), "%s/ro.sock", fx->dir);
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
teardown(void **state)
{
	struct fixture	*fx = *state;

	admin_free(fx->admin);
	admin_free(fx->ro);
	unlink(fx->path);
	unlink(fx->ro_path);
	rmdir(fx->dir);
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
client_send(int fd, const char *text)
{
	size_t	len = strlen(text);

	assert_int_equal(send(fd, text, len, MSG_NOSIGNAL), (ssize_t)len);
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

	client_send(fd, line);
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

/* -------------------------------------------------------------- tests */

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
	assert_string_equal(ask(fx, fx->ro_path, "wait-drained blue 5\n"),
	    "ok\nblue: drained\n\n");
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
	assert_int_equal(changes, 0);
	/* the full socket, beside it, still runs them */
	assert_string_equal(ask(fx, fx->path, "switch green\n"),
	    "ok\nswitched blue -> green\n\n");
	assert_int_equal(changes, 1);
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

	client_send(fd, "switch green\nversion\n");
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
	for (p = r; *p != '\0'; p++)
		lines += *p == '\n';
	/* ok, status, wait-healthy, wait-drained, version, help, quit, "" */
	assert_int_equal(lines, 8);
	/* the full socket's help lists all ten */
	r = ask(fx, fx->path, "help\n");
	assert_non_null(strstr(r, "\nswitch <pool> [force] "));
	for (lines = 0, p = r; *p != '\0'; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 12);
}

static void
test_admin_socket_readonly_unknown_command_usual_error(void **state)
{
	struct fixture	*fx = *state;

	assert_string_equal(ask(fx, fx->ro_path, "frobnicate\n"),
	    "error: unknown command 'frobnicate' (try 'help')\n\n");
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
	client_send(ro[ADMIN_CLIENTS_MAX - 1], "version\n");
	assert_string_equal(client_read(fx, ro[ADMIN_CLIENTS_MAX - 1],
	    "\n\n", &eof), "ok\ncutover " PACKAGE_VERSION "\n\n");
	/* the 65th on the read-only socket is refused */
	ro[ADMIN_CLIENTS_MAX] = client_connect(fx->ro_path);
	assert_string_equal(client_read(fx, ro[ADMIN_CLIENTS_MAX], NULL,
	    &eof), "error: too many admin clients\n\n");
	assert_true(eof);
	for (int i = 0; i < ADMIN_CLIENTS_MAX; i++)
		close(fds[i]);
	for (int i = 0; i <= ADMIN_CLIENTS_MAX; i++)
		close(ro[i]);
}

static void
test_admin_socket_readonly_long_line_error_then_closed(void **state)
{
	struct fixture	*fx = *state;
	static char	 junk[ADMIN_LINE_MAX + 100];
	bool		 eof;
	int		 fd = client_connect(fx->ro_path);

	memset(junk, 'x', sizeof(junk) - 1);
	client_send(fd, junk);
	assert_string_equal(client_read(fx, fd, NULL, &eof),
	    "error: line too long (max 4096 bytes)\n\n");
	assert_true(eof);
	close(fd);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_admin_socket_readonly_answers_reading_commands),
		T(test_admin_socket_readonly_refuses_switch_nothing_changes),
		T(test_admin_socket_readonly_refusal_logged_with_peer),
		T(test_admin_socket_readonly_connection_kept_after_refusal),
		T(test_admin_socket_readonly_help_lists_only_readers),
		T(test_admin_socket_readonly_unknown_command_usual_error),
		T(test_admin_socket_client_limit_per_listener),
		T(test_admin_socket_readonly_long_line_error_then_closed),
		T(test_admin_socket_group_own_primary_group_applied),
		T(test_admin_socket_group_other_group_applied),
		T(test_admin_socket_group_unknown_refused_no_socket_made),
		T(test_admin_socket_listening_log_names_group_and_access),
#undef T
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
