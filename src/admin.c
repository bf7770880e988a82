/*
 * admin.c — the admin socket: command table, parsing, replies, and the
 * UNIX socket server that feeds it.
 *
 * A reply is "ok" or "error: reason", then body lines, then one empty line.
 * Handlers fill a request (body or error text); admin_exec() alone writes
 * the reply, so no handler can break its shape.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
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
#include "cutover.h"
#include "log.h"

#define ADMIN_WORDS_MAX		8		/* words in one command line */
#define ADMIN_OUT_MAX		(256 * 1024)	/* unread replies we hold */
#define ADMIN_MSG_MAX		2048		/* a cutover_* message */
#define ADMIN_ECHO_MAX		40		/* user text echoed in errors */

struct admin_client {
	TAILQ_ENTRY(admin_client)	 entry;
	struct admin			*admin;
	struct bufferevent		*bev;
	char				 peer[64];	/* "uid 0 pid 123" */
	bool				 closing;	/* reply, then close */
	bool				 paused;	/* output too full */
	bool				 eof;		/* client sent EOF */
};

TAILQ_HEAD(admin_clients, admin_client);

struct admin {
	struct cutover		*cx;
	struct evconnlistener	*lev;
	char			*path;
	bool			 bound;		/* path is our socket */
	dev_t			 dev;
	ino_t			 ino;
	struct admin_clients	 clients;
	unsigned		 nclients;
};

/* One command being run: its words, its caller, and what it answers. */
struct admin_req {
	struct cutover	*cx;
	const char	*peer;		/* for the log; NULL when not a client */
	const char	*cmd;		/* the words, printable, for the log */
	int		 argc;
	char		**argv;
	struct evbuffer	*body;		/* body lines of an ok reply */
	char		 err[ADMIN_MSG_MAX];	/* reason of an error reply */
	bool		 quit;		/* close the connection after this */
};

typedef int (*admin_handler)(struct admin_req *);

struct admin_cmd {
	const char	*name;
	int		 min_args;	/* words after the command's own */
	int		 max_args;
	const char	*usage;
	const char	*help;
	admin_handler	 handler;
};

static int	cmd_status(struct admin_req *);
static int	cmd_switch(struct admin_req *);
static int	cmd_rollback(struct admin_req *);
static int	cmd_reload(struct admin_req *);
static int	cmd_version(struct admin_req *);
static int	cmd_help(struct admin_req *);
static int	cmd_quit(struct admin_req *);

/* The truth about commands: help, usage errors and the man page follow it. */
static const struct admin_cmd admin_cmds[] = {
	{ "status", 0, 1, "status [json]",
	    "show the active pool, pools and counters", cmd_status },
	{ "switch", 1, 2, "switch <pool> [force]",
	    "send new requests to pool (force: even if unhealthy)",
	    cmd_switch },
	{ "rollback", 0, 0, "rollback",
	    "switch back to the pool that was active before", cmd_rollback },
	{ "reload", 0, 0, "reload",
	    "re-read the configuration file (a bad file changes nothing)",
	    cmd_reload },
	{ "version", 0, 0, "version", "show the version of cutover",
	    cmd_version },
	{ "help", 0, 0, "help", "list the commands", cmd_help },
	{ "quit", 0, 0, "quit", "close this connection", cmd_quit },
};

#define ADMIN_NCMDS	(sizeof(admin_cmds) / sizeof(admin_cmds[0]))

/* ------------------------------------------------------------ commands */

/* Copies user text for an error or a log line: printable, bounded. */
static void
admin_printable(char *dst, size_t dstlen, const char *src, size_t max)
{
	size_t	i;

	for (i = 0; src[i] != '\0' && i < max && i + 1 < dstlen; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
	if (src[i] != '\0' && i + 4 < dstlen)
		strcpy(dst + i, "...");
}

/* Appends the non-empty lines of text to out, each ending in LF. */
static void
admin_put_lines(struct evbuffer *out, const char *text, size_t len)
{
	const char	*p = text, *end = text + len, *nl;
	size_t		 n;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > 0) {
			evbuffer_add(out, p, n);
			evbuffer_add(out, "\n", 1);
		}
		p = nl + 1;
	}
}

/* The end of a state-changing command: logs it and fills the reply. */
static int
admin_done(struct admin_req *r, int rc, const char *msg)
{
	char	 flat[ADMIN_MSG_MAX];
	size_t	 i, n = 0;

	/* one log line: the message's lines joined with "; " */
	for (i = 0; msg[i] != '\0' && n + 3 < sizeof(flat); i++) {
		if (msg[i] == '\r')
			continue;
		if (msg[i] != '\n')
			flat[n++] = msg[i];
		else if (n > 0 && flat[n - 1] != ' ' && msg[i + 1] != '\0') {
			flat[n++] = ';';
			flat[n++] = ' ';
		}
	}
	flat[n] = '\0';
	log_info("admin: %s%s%s -> %s: %s", r->peer ? r->peer : "",
	    r->peer ? ": " : "", r->cmd, rc == 0 ? "ok" : "error", flat);
	if (rc == 0)
		admin_put_lines(r->body, msg, strlen(msg));
	else
		snprintf(r->err, sizeof(r->err), "%s",
		    msg[0] != '\0' ? msg : "failed");
	return (rc == 0 ? 0 : -1);
}

static int
admin_usage(struct admin_req *r, const struct admin_cmd *c)
{
	snprintf(r->err, sizeof(r->err), "usage: %s", c->usage);
	return (-1);
}

static int
cmd_status(struct admin_req *r)
{
	bool	json = false;

	if (r->argc == 2) {
		if (strcmp(r->argv[1], "json") != 0)
			return (-2);
		json = true;
	}
	cutover_status(r->cx, r->body, json);
	return (0);
}

static int
cmd_switch(struct admin_req *r)
{
	char	msg[ADMIN_MSG_MAX] = "";
	bool	force = false;
	int	rc;

	if (r->argc == 3) {
		if (strcmp(r->argv[2], "force") != 0)
			return (-2);
		force = true;
	}
	rc = cutover_switch(r->cx, r->argv[1], force, msg, sizeof(msg));
	return (admin_done(r, rc, msg));
}

static int
cmd_rollback(struct admin_req *r)
{
	char	msg[ADMIN_MSG_MAX] = "";

	return (admin_done(r, cutover_rollback(r->cx, msg, sizeof(msg)), msg));
}

static int
cmd_reload(struct admin_req *r)
{
	char	msg[ADMIN_MSG_MAX] = "";

	return (admin_done(r, cutover_reload(r->cx, msg, sizeof(msg)), msg));
}

static int
cmd_version(struct admin_req *r)
{
	evbuffer_add_printf(r->body, "cutover %s\n", PACKAGE_VERSION);
	return (0);
}

static int
cmd_help(struct admin_req *r)
{
	for (size_t i = 0; i < ADMIN_NCMDS; i++)
		evbuffer_add_printf(r->body, "%-24s %s\n", admin_cmds[i].usage,
		    admin_cmds[i].help);
	return (0);
}

static int
cmd_quit(struct admin_req *r)
{
	r->quit = true;
	return (0);
}

/* Splits line into words at spaces and tabs; -1 if there are too many. */
static int
admin_split(char *line, char **argv, int *argc)
{
	char	*p = line;

	*argc = 0;
	for (;;) {
		p += strspn(p, " \t");
		if (*p == '\0')
			return (0);
		if (*argc == ADMIN_WORDS_MAX)
			return (-1);
		argv[(*argc)++] = p;
		p += strcspn(p, " \t");
		if (*p != '\0')
			*p++ = '\0';
	}
}

static const struct admin_cmd *
admin_lookup(const char *name)
{
	for (size_t i = 0; i < ADMIN_NCMDS; i++)
		if (strcmp(admin_cmds[i].name, name) == 0)
			return (&admin_cmds[i]);
	return (NULL);
}

/* Finds and runs the command in r's words: 0 ok, -1 error in r->err. */
static int
admin_dispatch(struct admin_req *r)
{
	const struct admin_cmd	*c;
	char			 word[ADMIN_ECHO_MAX + 8];
	int			 rc;

	if (r->argc == 0) {
		snprintf(r->err, sizeof(r->err),
		    "empty command (try 'help')");
		return (-1);
	}
	if ((c = admin_lookup(r->argv[0])) == NULL) {
		admin_printable(word, sizeof(word), r->argv[0],
		    ADMIN_ECHO_MAX);
		snprintf(r->err, sizeof(r->err),
		    "unknown command '%s' (try 'help')", word);
		return (-1);
	}
	if (r->argc - 1 < c->min_args || r->argc - 1 > c->max_args)
		return (admin_usage(r, c));
	/* -2: the handler found a bad argument; answer with the usage */
	if ((rc = c->handler(r)) == -2)
		return (admin_usage(r, c));
	return (rc == 0 ? 0 : -1);
}

/* Writes the reply for r: the one place that knows the reply's shape. */
static void
admin_reply(struct admin_req *r, int rc, struct evbuffer *out)
{
	const char	*nl;
	size_t		 len;

	if (rc == 0) {
		evbuffer_add(out, "ok\n", 3);
		len = evbuffer_get_length(r->body);
		if (len > 0)
			admin_put_lines(out,
			    (const char *)evbuffer_pullup(r->body, -1), len);
	} else {
		/* first line of the reason; any further lines are the body */
		if ((nl = strchr(r->err, '\n')) == NULL)
			nl = r->err + strlen(r->err);
		len = (size_t)(nl - r->err);
		if (len > 0 && r->err[len - 1] == '\r')
			len--;
		evbuffer_add_printf(out, "error: %.*s\n", (int)len, r->err);
		if (*nl != '\0')
			admin_put_lines(out, nl + 1, strlen(nl + 1));
	}
	evbuffer_add(out, "\n", 1);
}

/* Runs line for peer (may be NULL); sets *quit when the client is done. */
static int
admin_exec(struct cutover *cx, const char *peer, const char *line,
    struct evbuffer *out, bool *quit)
{
	struct admin_req	 r;
	char			 buf[ADMIN_LINE_MAX + 2], cmd[ADMIN_LINE_MAX + 8];
	char			*argv[ADMIN_WORDS_MAX];
	size_t			 len = strlen(line), i;
	int			 rc = -1;

	memset(&r, 0, sizeof(r));
	r.cx = cx;
	r.peer = peer;
	r.argv = argv;
	r.cmd = cmd;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if ((r.body = evbuffer_new()) == NULL) {
		snprintf(r.err, sizeof(r.err), "out of memory");
		goto fail;
	}
	if (len > ADMIN_LINE_MAX) {
		snprintf(r.err, sizeof(r.err), "line too long (max %d bytes)",
		    ADMIN_LINE_MAX);
		goto fail;
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (admin_split(buf, argv, &r.argc) == -1) {
		snprintf(r.err, sizeof(r.err), "too many arguments");
		goto fail;
	}
	cmd[0] = '\0';
	for (i = 0; i < (size_t)r.argc; i++) {
		if (i > 0)
			strcat(cmd, " ");
		admin_printable(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd),
		    argv[i], ADMIN_LINE_MAX);
	}
	rc = admin_dispatch(&r);
fail:
	admin_reply(&r, rc, out);
	if (quit != NULL)
		*quit = r.quit;
	if (r.body != NULL)
		evbuffer_free(r.body);
	return (rc);
}

/*
 * Runs one command line for an in-process caller (tests, the daemon
 * itself); the reply, ending in an empty line, is appended to out, which
 * the caller owns.  Returns 0 for an "ok" reply, -1 for an "error: " one.
 */
int
admin_run(struct cutover *cx, const char *line, struct evbuffer *out)
{
	return (admin_exec(cx, NULL, line, out, NULL));
}

/* -------------------------------------------------------------- clients */

static void	admin_client_free(struct admin_client *c);

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

/* Runs one complete line from c (LF removed, CR kept). */
static void
admin_client_line(struct admin_client *c, const char *line, size_t n)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	bool		 quit = false;

	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (n > ADMIN_LINE_MAX) {
		evbuffer_add_printf(out, "error: line too long (max %d bytes)"
		    "\n\n", ADMIN_LINE_MAX);
		admin_client_close_after(c);
	} else if (memchr(line, '\0', n) != NULL) {
		/* the line is whole, so the protocol stays in step */
		evbuffer_add_printf(out, "error: NUL byte in command\n\n");
	} else {
		admin_exec(c->admin->cx, c->peer, line, out, &quit);
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

	while (!c->closing) {
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
	/* a line and its CR, still without LF: already too long */
	if (!c->closing && evbuffer_get_length(in) > ADMIN_LINE_MAX + 1) {
		evbuffer_add_printf(out, "error: line too long (max %d bytes)"
		    "\n\n", ADMIN_LINE_MAX);
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

static void
admin_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	static const char	 busy[] = "error: too many admin clients\n\n";
	struct admin		*a = arg;
	struct admin_client	*c = NULL;
	struct timeval		 idle = { ADMIN_IDLE_MS / 1000,
				    (ADMIN_IDLE_MS % 1000) * 1000 };

	if (a->nclients >= ADMIN_CLIENTS_MAX) {
		log_warn("admin: too many admin clients (%d), refusing one",
		    ADMIN_CLIENTS_MAX);
		/* a fresh socket's buffer takes this short line at once */
		if (send(fd, busy, sizeof(busy) - 1,
		    MSG_DONTWAIT | MSG_NOSIGNAL) == -1)
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
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	log_debug("admin: %s: connected", c->peer);
	return;
fail:
	if (c == NULL || c->bev == NULL)
		evutil_closesocket(fd);
	free(c);
}

static void
admin_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	log_warn("admin: accept: %s", strerror(errno));
}

/* --------------------------------------------------------------- socket */

/* Creates the socket's directory when it is missing (one level). */
static int
admin_mkdir(const char *path, char *err, size_t errlen)
{
	char	*dir, *slash;
	int	 rc = 0;

	if ((dir = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
			snprintf(err, errlen, "admin socket %s: mkdir %s: %s",
			    path, dir, strerror(errno));
			rc = -1;
		}
	}
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

/* Binds fd to sun with mode (no window with wider rights), then listens. */
static int
admin_bind(struct admin *a, int fd, const struct sockaddr_un *sun,
    mode_t mode, char *err, size_t errlen)
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
	a->bound = true;
	if (lstat(sun->sun_path, &st) == 0) {
		a->dev = st.st_dev;
		a->ino = st.st_ino;
	}
	if (chmod(sun->sun_path, mode) == -1 || listen(fd, 16) == -1) {
		snprintf(err, errlen, "admin socket %s: %s", sun->sun_path,
		    strerror(errno));
		return (-1);
	}
	return (0);
}

/*
 * Listens on path with mode, on cx->base.  Refuses a path that is not a
 * socket or that a live process answers on; removes a stale socket file.
 * Returns the server, owned by the caller (admin_free()), or NULL with a
 * reason in err.
 */
struct admin *
admin_new(struct cutover *cx, const char *path, mode_t mode, char *err,
    size_t errlen)
{
	struct admin		*a = NULL;
	struct sockaddr_un	 sun;
	int			 fd = -1;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (path[0] == '\0' || strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "admin socket \"%s\": empty or longer "
		    "than %zu bytes", path, sizeof(sun.sun_path) - 1);
		goto fail;
	}
	strcpy(sun.sun_path, path);
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	a->cx = cx;
	TAILQ_INIT(&a->clients);
	if (admin_mkdir(path, err, errlen) == -1 ||
	    admin_unlink_stale(&sun, err, errlen) == -1)
		goto fail;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		snprintf(err, errlen, "admin socket: %s", strerror(errno));
		goto fail;
	}
	if (admin_bind(a, fd, &sun, mode, err, errlen) == -1)
		goto fail;
	a->lev = evconnlistener_new(cx->base, admin_accept_cb, a,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (a->lev == NULL) {
		snprintf(err, errlen, "admin socket %s: cannot listen", path);
		goto fail;
	}
	evconnlistener_set_error_cb(a->lev, admin_accept_error_cb);
	log_info("admin: listening on %s (mode %04o)", path,
	    (unsigned)mode);
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
	/* remove the file only while it is still ours, not a successor's */
	if (a->bound && lstat(a->path, &st) == 0 && st.st_dev == a->dev &&
	    st.st_ino == a->ino)
		unlink(a->path);
	free(a->path);
	free(a);
}
