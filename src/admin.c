/*
 * admin.c — the admin socket: the UNIX socket server and its clients,
 * which feed their lines to the command table (admin_cmd.c) in order.
 *
 * A client whose command is pending (wait-*) is parked: its later lines
 * stay in its input buffer, its idle timeout is off, and a timer of its own
 * re-checks the condition until the reply is written; then the client
 * reads on.  A client that hangs up while parked is freed without a reply.
 *
 * Each listener has its own clients and limits; a read-only one (its
 * access) hands that access to the command table with every line.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "admin.h"
#include "admin_cmd.h"
#include "config.h"
#include "cutover.h"
#include "fdlimit.h"
#include "listen.h"
#include "log.h"

/* fdlimit.h counts an admin socket's descriptors */
_Static_assert(ADMIN_CLIENTS_MAX + 1 <= FDLIMIT_ADMIN_SOCKET,
    "FDLIMIT_ADMIN_SOCKET is below what an admin socket may hold");

#define ADMIN_OUT_MAX		(256 * 1024)	/* unread replies we hold */
#define ADMIN_PARKED_IN_MAX	(64 * 1024)	/* input held while waiting */

struct admin_client {
	TAILQ_ENTRY(admin_client)	 entry;
	struct admin			*admin;
	struct bufferevent		*bev;
	char				 peer[64];	/* "uid 0 pid 123" */
	bool				 closing;	/* reply, then close */
	bool				 paused;	/* output too full */
	bool				 eof;		/* client sent EOF */
	struct admin_wait		*wait;		/* reply pending */
	struct event			*timer;		/* re-checks wait */
};

TAILQ_HEAD(admin_clients, admin_client);

struct admin {
	struct cutover		*cx;
	struct evconnlistener	*lev;
	char			*path;
	enum admin_access	 access;	/* what its clients may run */
	bool			 bound;		/* path is our socket */
	dev_t			 dev;
	ino_t			 ino;
	struct listen_guard	 guard;		/* pauses on EMFILE */
	struct admin_clients	 clients;
	unsigned		 nclients;
	unsigned		 nwaiting;	/* clients parked in wait-* */
};

static const struct timeval admin_idle = { ADMIN_IDLE_MS / 1000,
	(ADMIN_IDLE_MS % 1000) * 1000 };

/*
 * Runs one command line for an in-process caller (tests, the daemon
 * itself); the reply, ending in an empty line, is appended to out, which
 * the caller owns.  Returns 0 for an "ok" reply, -1 for an "error: " one,
 * 1 for a pending wait-* command (nothing appended; see admin.h).
 */
int
admin_run(struct cutover *cx, const char *line, struct evbuffer *out)
{
	return (admin_cmd_exec(cx, NULL, ADMIN_ACCESS_FULL, line, out, NULL,
	    NULL));
}

/* -------------------------------------------------------------- clients */

static void	admin_client_free(struct admin_client *c);
static int	admin_client_process(struct admin_client *c);
static void	admin_client_wait_cb(evutil_socket_t, short, void *);

/* Stops reading; the client is freed once its output has been flushed. */
static void
admin_client_close_after(struct admin_client *c)
{
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
	evbuffer_drain(bufferevent_get_input(c->bev),
	    evbuffer_get_length(bufferevent_get_input(c->bev)));
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
}

/* Schedules the next check of c's wait; 0, or -1 if the timer failed. */
static int
admin_client_arm(struct admin_client *c)
{
	long		ms = admin_cmd_wait_next_ms(c->wait);
	struct timeval	tv = { 0, (ms > 0 ? ms : 1) * 1000 };

	return (evtimer_add(c->timer, &tv));
}

/*
 * Parks c until w is decided: its later lines wait in its input (bounded:
 * reading stops at ADMIN_PARKED_IN_MAX), the idle timeout is off, and a
 * timer re-checks w.  Takes w; -1 if no timer can be made (w is freed).
 */
static int
admin_client_park(struct admin_client *c, struct admin_wait *w)
{
	c->admin->nwaiting++;
	c->wait = w;
	c->timer = evtimer_new(bufferevent_get_base(c->bev),
	    admin_client_wait_cb, c);
	if (c->timer == NULL || admin_client_arm(c) == -1) {
		if (c->timer != NULL)
			event_free(c->timer);
		c->timer = NULL;
		admin_cmd_wait_free(w);
		c->wait = NULL;
		c->admin->nwaiting--;
		return (-1);
	}
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	bufferevent_setwatermark(c->bev, EV_READ, 0, ADMIN_PARKED_IN_MAX);
	return (0);
}

/* The reply of c's wait is written: c reads on, with its idle timeout. */
static void
admin_client_unpark(struct admin_client *c)
{
	event_free(c->timer);
	c->timer = NULL;
	admin_cmd_wait_free(c->wait);
	c->wait = NULL;
	c->admin->nwaiting--;
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	bufferevent_set_timeouts(c->bev, &admin_idle, &admin_idle);
}

/*
 * Whether c's peer has closed its socket for good, not just its sending
 * half (which still waits for the reply): only the former sets POLLHUP.
 */
static bool
admin_client_is_gone(struct admin_client *c)
{
	struct pollfd	pfd = { .fd = bufferevent_getfd(c->bev) };

	return (poll(&pfd, 1, 0) == 1 &&
	    (pfd.revents & (POLLHUP | POLLERR)) != 0);
}

static void
admin_client_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct admin_client	*c = arg;
	struct evbuffer		*out = bufferevent_get_output(c->bev);

	if (admin_client_is_gone(c)) {
		log_debug("admin: %s: gone while waiting", c->peer);
		admin_client_free(c);
		return;
	}
	if (admin_cmd_wait_check(c->wait, c->admin->cx, out) == 1) {
		if (admin_client_arm(c) == 0)
			return;
		evbuffer_add_printf(out, "error: cannot wait: timer failed"
		    "\n\n");
	}
	admin_client_unpark(c);
	/* the lines sent meanwhile, in order; may free c */
	admin_client_process(c);
}

/*
 * A pending wait-* of c when ADMIN_WAITS_MAX clients wait already: refused,
 * so that ADMIN_CLIENTS_SPARE connections stay free for other commands.
 * Takes w.  A wait changes nothing, so refusing it after it ran is safe.
 */
static void
admin_client_wait_refuse(struct admin_client *c, struct admin_wait *w)
{
	admin_cmd_wait_free(w);
	evbuffer_add_printf(bufferevent_get_output(c->bev), "error: too many "
	    "pending waits (%u, at most %d): try again later\n\n",
	    c->admin->nwaiting, ADMIN_WAITS_MAX);
	log_warn("admin: %s: wait refused: %u clients waiting (at most %d)",
	    c->peer, c->admin->nwaiting, ADMIN_WAITS_MAX);
}

/* Runs one complete line from c (LF removed, CR kept). */
static void
admin_client_line(struct admin_client *c, const char *line, size_t n)
{
	struct evbuffer		*out = bufferevent_get_output(c->bev);
	struct admin_wait	*w = NULL;
	bool			 quit = false;
	int			 rc;

	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (n > ADMIN_LINE_MAX) {
		evbuffer_add_printf(out, "error: usage: line too long (max %d "
		    "bytes)\n\n", ADMIN_LINE_MAX);
		admin_client_close_after(c);
	} else if (memchr(line, '\0', n) != NULL) {
		/* the line is whole, so the protocol stays in step */
		evbuffer_add_printf(out, "error: usage: NUL byte in "
		    "command\n\n");
	} else {
		rc = admin_cmd_exec(c->admin->cx, c->peer, c->admin->access,
		    line, out, &quit, &w);
		if (rc == 1 && c->admin->nwaiting >= ADMIN_WAITS_MAX)
			admin_client_wait_refuse(c, w);
		else if (rc == 1 && admin_client_park(c, w) == -1)
			evbuffer_add_printf(out, "error: out of memory\n\n");
		if (quit)
			admin_client_close_after(c);
	}
}

/* The client sent EOF: a last line may lack its LF; run it, then close. */
static void
admin_client_eof(struct admin_client *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	char		*line;
	size_t		 n;

	if ((n = evbuffer_get_length(in)) > 0 &&
	    (line = malloc(n + 1)) != NULL) {
		evbuffer_remove(in, line, n);
		line[n] = '\0';
		admin_client_line(c, line, n);
		free(line);
	}
	/* a pending last line: closed once answered (process runs again) */
	if (c->wait == NULL)
		admin_client_close_after(c);
}

/*
 * Runs the complete lines c has sent, as long as its unread replies stay
 * small.  May free c: returns -1 then, and the caller must not touch it.
 */
static int
admin_client_process(struct admin_client *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	char		*line;
	size_t		 n;

	while (!c->closing && c->wait == NULL) {
		if (evbuffer_get_length(out) >= ADMIN_OUT_MAX) {
			/* the client does not read its replies: wait */
			c->paused = true;
			bufferevent_disable(c->bev, EV_READ);
			bufferevent_setwatermark(c->bev, EV_WRITE,
			    ADMIN_OUT_MAX / 2, 0);
			return (0);
		}
		if ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF)) == NULL)
			break;
		admin_client_line(c, line, n);
		free(line);
	}
	if (c->wait != NULL)
		return (0);
	/* a line and its CR, still without LF: already too long */
	if (!c->closing && evbuffer_get_length(in) > ADMIN_LINE_MAX + 1) {
		evbuffer_add_printf(out, "error: usage: line too long (max %d "
		    "bytes)\n\n", ADMIN_LINE_MAX);
		admin_client_close_after(c);
	}
	if (!c->closing && c->eof)
		admin_client_eof(c);
	if (c->closing && evbuffer_get_length(out) == 0) {
		admin_client_free(c);
		return (-1);
	}
	return (0);
}

static void
admin_client_read_cb(struct bufferevent *bev, void *arg)
{
	admin_client_process(arg);
}

static void
admin_client_write_cb(struct bufferevent *bev, void *arg)
{
	struct admin_client	*c = arg;

	if (c->closing) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			admin_client_free(c);
		return;
	}
	if (c->paused) {
		c->paused = false;
		bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
		if (!c->eof)
			bufferevent_enable(bev, EV_READ);
		admin_client_process(c);
	}
}

static void
admin_client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct admin_client	*c = arg;

	if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		log_debug("admin: %s: %s, closing", c->peer,
		    (what & BEV_EVENT_TIMEOUT) ? "idle" : strerror(errno));
		admin_client_free(c);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		/* answer what was sent, then close (a half-close is fine) */
		c->eof = true;
		bufferevent_disable(bev, EV_READ);
		if (c->wait != NULL && admin_client_is_gone(c)) {
			log_debug("admin: %s: gone while waiting", c->peer);
			admin_client_free(c);
			return;
		}
		admin_client_process(c);
	}
}

static void
admin_client_free(struct admin_client *c)
{
	if (c == NULL)
		return;
	TAILQ_REMOVE(&c->admin->clients, c, entry);
	c->admin->nclients--;
	if (c->wait != NULL)
		c->admin->nwaiting--;
	if (c->timer != NULL)
		event_free(c->timer);
	admin_cmd_wait_free(c->wait);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	free(c);
}

static void
admin_peer(int fd, char *peer, size_t len)
{
	struct ucred	uc;
	socklen_t	ulen = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ulen) == 0)
		snprintf(peer, len, "uid %u pid %ld", (unsigned)uc.uid,
		    (long)uc.pid);
	else
		snprintf(peer, len, "uid ? pid ?");
}

/* Out of descriptors, say: pause rather than spin on the backlog. */
static void
admin_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct admin	*a = arg;

	listen_guard_error(&a->guard);
}

static void
admin_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct admin		*a = arg;
	struct admin_client	*c = NULL;
	char			 busy[80];
	int			 len;

	fdlimit_ok();

	if (a->nclients >= ADMIN_CLIENTS_MAX) {
		log_warn("admin: too many admin clients (%u connected), "
		    "refusing one", a->nclients);
		/* a fresh socket's buffer takes this short line at once;
		 * cutoverctl reads it even if its command no longer fits */
		len = snprintf(busy, sizeof(busy), "error: too many admin "
		    "clients (%u connected)\n\n", a->nclients);
		if (send(fd, busy, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL)
		    == -1)
			log_debug("admin: refusal not sent: %s",
			    strerror(errno));
		goto fail;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto fail;
	admin_peer(fd, c->peer, sizeof(c->peer));
	c->bev = bufferevent_socket_new(evconnlistener_get_base(lev), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		goto fail;
	c->admin = a;
	TAILQ_INSERT_TAIL(&a->clients, c, entry);
	a->nclients++;
	bufferevent_setcb(c->bev, admin_client_read_cb, admin_client_write_cb,
	    admin_client_event_cb, c);
	bufferevent_set_timeouts(c->bev, &admin_idle, &admin_idle);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	log_debug("admin: %s: connected", c->peer);
	return;
fail:
	if (c == NULL || c->bev == NULL)
		evutil_closesocket(fd);
	free(c);
}

/* --------------------------------------------------------------- socket */

/*
 * Whether the directory dir may hold our socket: owned by root or us, and
 * not writable by group or others unless sticky (then no one else may
 * move our socket away and put something else in its place).
 */
static bool
admin_dir_is_safe(const char *path, const char *dir, char *err,
    size_t errlen)
{
	struct stat	st;

	if (stat(dir, &st) == -1) {
		snprintf(err, errlen, "admin socket %s: directory %s: %s", path,
		    dir, strerror(errno));
		return (false);
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "admin socket %s: %s is not a directory",
		    path, dir);
		return (false);
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen, "admin socket %s: directory %s is owned "
		    "by uid %lu, not by root or us (uid %lu)", path, dir,
		    (unsigned long)st.st_uid, (unsigned long)geteuid());
		return (false);
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
	    (st.st_mode & S_ISVTX) == 0) {
		snprintf(err, errlen, "admin socket %s: directory %s is "
		    "writable by %s (mode %04o) and not sticky", path, dir,
		    (st.st_mode & S_IWOTH) ? "everyone" : "its group",
		    (unsigned)(st.st_mode & 07777));
		return (false);
	}
	return (true);
}

/*
 * Creates the socket's directory when it is missing (one level, mode
 * 0755); checks it when it exists.  0, or -1 with a reason in err.
 */
static int
admin_dir(const char *path, char *err, size_t errlen)
{
	const char	*slash = strrchr(path, '/');
	char		*dir;
	int		 rc = -1;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	if (mkdir(dir, 0755) == 0)
		rc = 0;
	else if (errno != EEXIST)
		snprintf(err, errlen, "admin socket %s: mkdir %s: %s", path,
		    dir, strerror(errno));
	else if (admin_dir_is_safe(path, dir, err, errlen))
		rc = 0;
	free(dir);
	return (rc);
}

/*
 * Removes a socket file left by a process that died; refuses to touch a
 * file that is not a socket or a socket that a live process answers on.
 */
static int
admin_unlink_stale(const struct sockaddr_un *sun, char *err, size_t errlen)
{
	struct stat	st;
	int		fd, rc;

	if (lstat(sun->sun_path, &st) == -1)
		return (0);
	if (S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "admin socket %s exists and is a "
		    "symbolic link, not a socket (not followed)",
		    sun->sun_path);
		return (-1);
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "admin socket %s exists and is not a "
		    "socket", sun->sun_path);
		return (-1);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		snprintf(err, errlen, "admin socket: %s", strerror(errno));
		return (-1);
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	/* EAGAIN: a live listener with a full backlog */
	if (rc == 0 || errno == EAGAIN) {
		snprintf(err, errlen, "admin socket %s is in use by another "
		    "process", sun->sun_path);
		return (-1);
	}
	if (errno != ECONNREFUSED) {
		snprintf(err, errlen, "admin socket %s: %s", sun->sun_path,
		    strerror(errno));
		return (-1);
	}
	log_info("admin: removing stale socket %s", sun->sun_path);
	if (unlink(sun->sun_path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "admin socket %s: unlink: %s",
		    sun->sun_path, strerror(errno));
		return (-1);
	}
	return (0);
}

/*
 * Binds fd to sun with mode, gives it group gid unless that is -1, then
 * listens.  The mode comes from the umask at bind(), so there is neither a
 * window with wider rights nor a chmod() by path afterwards, which would
 * follow a symlink put in the socket's place.  (fchmod() on an AF_UNIX
 * socket does not reach the file bind() makes.)  The umask is the
 * process's: the caller makes sure no other thread creates files now.
 */
static int
admin_bind(struct admin *a, int fd, const struct sockaddr_un *sun,
    mode_t mode, gid_t gid, char *err, size_t errlen)
{
	struct stat	st;
	mode_t		old;
	int		rc;

	old = umask(~mode & 0777);
	rc = bind(fd, (const struct sockaddr *)sun, sizeof(*sun));
	umask(old);
	if (rc == -1) {
		snprintf(err, errlen, "admin socket %s: bind: %s",
		    sun->sun_path, strerror(errno));
		return (-1);
	}
	/* what is at the path now must be the socket we made */
	if (lstat(sun->sun_path, &st) == -1 || !S_ISSOCK(st.st_mode) ||
	    st.st_uid != geteuid()) {
		snprintf(err, errlen, "admin socket %s: not our socket after "
		    "bind (replaced?)", sun->sun_path);
		return (-1);
	}
	a->bound = true;
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	if ((st.st_mode & 0777) != (mode & 0777)) {
		/* e.g. a default ACL on the directory overrides the umask */
		snprintf(err, errlen, "admin socket %s: mode %04o after bind, "
		    "not %04o (a default ACL on its directory?)",
		    sun->sun_path, (unsigned)(st.st_mode & 0777),
		    (unsigned)(mode & 0777));
		return (-1);
	}
	/* lchown: a symlink put in our place must not redirect it */
	if (gid != (gid_t)-1 && lchown(sun->sun_path, (uid_t)-1, gid) == -1) {
		snprintf(err, errlen, "admin socket %s: chown to group %ld: %s",
		    sun->sun_path, (long)gid, strerror(errno));
		return (-1);
	}
	if (listen(fd, 16) == -1) {
		snprintf(err, errlen, "admin socket %s: listen: %s",
		    sun->sun_path, strerror(errno));
		return (-1);
	}
	return (0);
}

/*
 * Listens on path with mode and group (NULL: ours), on cx->base, for
 * clients with access.  Refuses an unknown group, an unsafe directory, a
 * path that is not a socket or that a live process answers on; removes a
 * stale socket file.  Sets the umask around bind(): see admin.h.
 * Returns the server, owned by the caller (admin_free()), or NULL with a
 * reason in err.
 */
struct admin *
admin_new(struct cutover *cx, const char *path, mode_t mode,
    const char *group, enum admin_access access, char *err, size_t errlen)
{
	struct admin		*a = NULL;
	struct sockaddr_un	 sun;
	gid_t			 gid = (gid_t)-1;
	int			 fd = -1;
	char			 why[128];

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (path[0] == '\0' || strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "admin socket \"%s\": empty or longer "
		    "than %zu bytes", path, sizeof(sun.sun_path) - 1);
		goto fail;
	}
	strcpy(sun.sun_path, path);
	if (group != NULL && config_group_id(group, &gid, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "admin.socket_group: %s", why);
		goto fail;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	a->cx = cx;
	a->access = access;
	TAILQ_INIT(&a->clients);
	if (admin_dir(path, err, errlen) == -1 ||
	    admin_unlink_stale(&sun, err, errlen) == -1)
		goto fail;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		snprintf(err, errlen, "admin socket: %s", strerror(errno));
		goto fail;
	}
	if (admin_bind(a, fd, &sun, mode, gid, err, errlen) == -1)
		goto fail;
	a->lev = evconnlistener_new(cx->base, admin_accept_cb, a,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (a->lev == NULL) {
		snprintf(err, errlen, "admin socket %s: cannot listen", path);
		goto fail;
	}
	if (listen_guard_init(&a->guard, cx->base, a->lev, a->path) == -1) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	evconnlistener_set_error_cb(a->lev, admin_accept_error_cb);
	log_info("admin: listening on %s (mode %04o%s%s%s)", path,
	    (unsigned)mode, group != NULL ? ", group " : "",
	    group != NULL ? group : "",
	    access == ADMIN_ACCESS_READONLY ? ", read-only" : "");
	return (a);
fail:
	if (fd != -1)
		close(fd);
	admin_free(a);
	return (NULL);
}

/*
 * Closes every client (replies not yet sent are lost), the listener, and
 * removes the socket file if it is still the one we made.  NULL is a no-op.
 */
void
admin_free(struct admin *a)
{
	struct admin_client	*c;
	struct stat		 st;

	if (a == NULL)
		return;
	while ((c = TAILQ_FIRST(&a->clients)) != NULL)
		admin_client_free(c);
	if (a->lev != NULL)
		evconnlistener_free(a->lev);
	listen_guard_clear(&a->guard);
	/* remove the file only while it is still ours, not a successor's */
	if (a->bound && lstat(a->path, &st) == 0 && st.st_dev == a->dev &&
	    st.st_ino == a->ino)
		unlink(a->path);
	free(a->path);
	free(a);
}
