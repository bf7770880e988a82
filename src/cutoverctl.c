/*
 * cutoverctl.c — the control client: sends one command line to the admin
 * socket, prints the reply's body, and maps the reply to an exit status:
 * 0 done, 1 refused by cutover, 2 a usage error (found here or by cutover)
 * or no talking to cutover, 3 timed out.  A script may retry with force
 * after 1 only: 1 means cutover read the command and said no.  libc only.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"

#define CTL_EXIT_OK		0
#define CTL_EXIT_REFUSED	1	/* cutover answered with a refusal */
#define CTL_EXIT_USAGE		2	/* bad command line, no daemon, or no
					   answer that can be trusted */
#define CTL_EXIT_TIMEOUT	3	/* a wait ran out, or no reply in -t */

#define CTL_TIMEOUT_DEFAULT	10	/* seconds */
#define CTL_TIMEOUT_MAX		86400
#define CTL_REPLY_MAX		(16 * 1024 * 1024)
#define CTL_WAIT_MARGIN		10	/* s beyond a wait-* command's own */

struct ctl {
	const char	*path;
	long		 timeout;	/* seconds */
	struct timespec	 deadline;
	int		 fd;
	int		 send_errno;	/* the daemon closed before we sent */
	bool		 timed_out;	/* no reply within the timeout */
	char		*buf;		/* the reply as received */
	size_t		 len, size;
};

static void
ctl_usage(FILE *f)
{
	fprintf(f,
	    "usage: cutoverctl [-s socket] [-t seconds] command [arg ...]\n"
	    "       cutoverctl -h | --help | -V | --version\n"
	    "\n"
	    "  -s socket   admin socket (default $CUTOVER_SOCKET, else %s)\n"
	    "  -t seconds  wait this long for the reply (default %d; for\n"
	    "              wait-healthy and wait-drained at least their\n"
	    "              seconds + %d)\n"
	    "  -h          show this help\n"
	    "  -V          show the version\n"
	    "\n"
	    "Commands: see 'cutoverctl help', 'cutoverctl help COMMAND' and\n"
	    "cutoverctl(8).  Exit status: 0 done, 1 refused by cutover, 2 usage\n"
	    "error or cutover unreachable, 3 timed out.\n",
	    DEFAULT_ADMIN_SOCKET, CTL_TIMEOUT_DEFAULT, CTL_WAIT_MARGIN);
}

/* Milliseconds left before the deadline, at least 0. */
static int
ctl_remaining_ms(const struct ctl *c)
{
	struct timespec	now;
	long long	ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(c->deadline.tv_sec - now.tv_sec) * 1000 +
	    (c->deadline.tv_nsec - now.tv_nsec) / 1000000;
	if (ms < 0)
		return (0);
	return (ms > INT_MAX ? INT_MAX : (int)ms);
}

/* Joins the words into one command line ending in LF; NULL if unfit. */
static char *
ctl_line(int argc, char **argv)
{
	size_t	 len = 0;
	char	*line;
	int	 i;

	for (i = 0; i < argc; i++) {
		if (strpbrk(argv[i], "\r\n") != NULL) {
			fprintf(stderr, "cutoverctl: a word may not contain "
			    "a line break\n");
			return (NULL);
		}
		len += strlen(argv[i]) + 1;
	}
	if (len - 1 > ADMIN_LINE_MAX) {
		fprintf(stderr, "cutoverctl: command longer than %d bytes\n",
		    ADMIN_LINE_MAX);
		return (NULL);
	}
	if ((line = malloc(len + 1)) == NULL) {
		fprintf(stderr, "cutoverctl: out of memory\n");
		return (NULL);
	}
	line[0] = '\0';
	for (i = 0; i < argc; i++) {
		strcat(line, argv[i]);
		strcat(line, i + 1 < argc ? " " : "\n");
	}
	return (line);
}

/* Says why connecting to the socket failed, with a hint at the fix. */
static void
ctl_connect_error(const struct ctl *c, int err)
{
	struct stat	 st;
	struct passwd	*pw;
	struct group	*gr;
	char		 owner[32], group[32];

	switch (err) {
	case ENOENT:
		fprintf(stderr, "cutoverctl: cannot connect to %s: no such "
		    "socket (is cutover running? set CUTOVER_SOCKET or -s to "
		    "its admin.socket)\n", c->path);
		return;
	case ECONNREFUSED:
		if (stat(c->path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "cutoverctl: cannot connect to %s: "
			    "not a socket\n", c->path);
			return;
		}
		fprintf(stderr, "cutoverctl: cannot connect to %s: stale "
		    "socket: cutover is not running\n", c->path);
		return;
	case EACCES:
	case EPERM:
		if (stat(c->path, &st) == -1) {
			fprintf(stderr, "cutoverctl: cannot connect to %s: "
			    "%s (a directory on the way to it is closed to "
			    "uid %u)\n", c->path, strerror(err),
			    (unsigned)geteuid());
			return;
		}
		if ((pw = getpwuid(st.st_uid)) != NULL)
			snprintf(owner, sizeof(owner), "%s", pw->pw_name);
		else
			snprintf(owner, sizeof(owner), "%u",
			    (unsigned)st.st_uid);
		if ((gr = getgrgid(st.st_gid)) != NULL)
			snprintf(group, sizeof(group), "%s", gr->gr_name);
		else
			snprintf(group, sizeof(group), "%u",
			    (unsigned)st.st_gid);
		fprintf(stderr, "cutoverctl: cannot connect to %s: %s (owner "
		    "%s, group %s, mode %04o; cutover's admin.socket_group "
		    "and admin.socket_mode decide who may connect)\n",
		    c->path, strerror(err), owner, group,
		    (unsigned)(st.st_mode & 07777));
		return;
	default:
		break;
	}
	fprintf(stderr, "cutoverctl: cannot connect to %s: %s\n", c->path,
	    strerror(err));
}

static int
ctl_connect(struct ctl *c)
{
	struct sockaddr_un	sun;
	struct timeval		tv = { c->timeout, 0 };

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(c->path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	strcpy(sun.sun_path, c->path);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	/* a listener with a full backlog makes connect() wait this long */
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		goto fail;
	return (0);
fail:
	ctl_connect_error(c, errno);
	return (-1);
}

/* Waits for fd to be ready for events: 1 ready, 0 timed out, -1 error. */
static int
ctl_wait(struct ctl *c, short events)
{
	struct pollfd	pfd = { .fd = c->fd, .events = events };
	int		n;

	for (;;) {
		n = poll(&pfd, 1, ctl_remaining_ms(c));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0) {
			fprintf(stderr, "cutoverctl: no reply from %s within "
			    "%ld s\n", c->path, c->timeout);
			c->timed_out = true;
		}
		else if (n == -1)
			fprintf(stderr, "cutoverctl: poll: %s\n",
			    strerror(errno));
		return (n);
	}
}

/*
 * Sends line.  The daemon may have answered and closed before the line
 * went out (too many clients): then the send fails with EPIPE or
 * ECONNRESET, but its reply waits to be read, so that is not an error
 * here (c->send_errno says it happened).  0, or -1 with a message printed.
 */
static int
ctl_send(struct ctl *c, const char *line)
{
	size_t	len = strlen(line), off = 0;
	ssize_t	n;

	while (off < len) {
		if (ctl_wait(c, POLLOUT) != 1)
			return (-1);
		n = send(c->fd, line + off, len - off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1 && (errno == EPIPE || errno == ECONNRESET)) {
			c->send_errno = errno;
			return (0);
		}
		if (n == -1) {
			fprintf(stderr, "cutoverctl: %s: send: %s\n",
			    c->path, strerror(errno));
			return (-1);
		}
		off += (size_t)n;
	}
	return (0);
}

/* Where the reply ends (its empty line), or NULL while incomplete. */
static char *
ctl_reply_end(const struct ctl *c)
{
	if (c->len == 0)
		return (NULL);
	if (c->buf[0] == '\n')
		return (c->buf);
	return (memmem(c->buf, c->len, "\n\n", 2));
}

/* Reads until the reply's empty line; 0, or -1 with a message printed. */
static int
ctl_receive(struct ctl *c)
{
	char	*p;
	ssize_t	 n;

	while (ctl_reply_end(c) == NULL) {
		if (c->len + 4096 + 1 > c->size) {
			if (c->size >= CTL_REPLY_MAX) {
				fprintf(stderr, "cutoverctl: reply from %s "
				    "longer than %d bytes\n", c->path,
				    CTL_REPLY_MAX);
				return (-1);
			}
			c->size = c->size ? c->size * 2 : 8192;
			if ((p = realloc(c->buf, c->size)) == NULL) {
				fprintf(stderr, "cutoverctl: out of memory\n");
				return (-1);
			}
			c->buf = p;
		}
		if (ctl_wait(c, POLLIN) != 1)
			return (-1);
		n = recv(c->fd, c->buf + c->len, c->size - c->len - 1,
		    MSG_DONTWAIT);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1 && errno != ECONNRESET) {
			fprintf(stderr, "cutoverctl: %s: %s\n", c->path,
			    strerror(errno));
			return (-1);
		}
		if (n <= 0 && c->send_errno != 0) {
			fprintf(stderr, "cutoverctl: %s closed the connection "
			    "before the command was sent (%s)\n", c->path,
			    strerror(c->send_errno));
			return (-1);
		}
		if (n <= 0) {
			fprintf(stderr, "cutoverctl: reply from %s cut short "
			    "(connection %s)\n", c->path, n == 0 ? "closed" :
			    "reset");
			return (-1);
		}
		c->len += (size_t)n;
	}
	return (0);
}

/*
 * The exit status for an error reply's reason: its first word is its class
 * (admin_cmd.c): "usage:" or "timeout:"; anything else is a refusal.
 */
static int
ctl_error_status(const char *reason)
{
	if (strncmp(reason, "usage: ", 7) == 0)
		return (CTL_EXIT_USAGE);
	if (strncmp(reason, "timeout: ", 9) == 0)
		return (CTL_EXIT_TIMEOUT);
	return (CTL_EXIT_REFUSED);
}

/* Prints the body (stdout for ok, stderr for an error); the exit status. */
static int
ctl_print(struct ctl *c)
{
	char	*end = ctl_reply_end(c), *nl, *body;
	size_t	 blen;
	int	 rc;

	*end = '\0';
	if (end == c->buf) {
		fprintf(stderr, "cutoverctl: empty reply from %s\n", c->path);
		return (CTL_EXIT_USAGE);
	}
	/* the first line, and the body lines after it */
	if ((nl = strchr(c->buf, '\n')) != NULL) {
		*nl = '\0';
		body = nl + 1;
	} else
		body = end;
	blen = (size_t)(end - body);
	if (strcmp(c->buf, "ok") == 0) {
		if (blen > 0)
			printf("%.*s\n", (int)blen, body);
		/* the answer was not delivered: not done, not refused */
		return (fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_USAGE);
	}
	if (strncmp(c->buf, "error: ", 7) == 0) {
		fprintf(stderr, "cutoverctl: %s\n", c->buf + 7);
		rc = ctl_error_status(c->buf + 7);
	} else {
		fprintf(stderr, "cutoverctl: unexpected reply: %s\n", c->buf);
		rc = CTL_EXIT_USAGE;
	}
	if (blen > 0)
		fprintf(stderr, "%.*s\n", (int)blen, body);
	return (rc);
}

static int
ctl_timeout(const char *s, long *timeout)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 ||
	    v > CTL_TIMEOUT_MAX) {
		fprintf(stderr, "cutoverctl: -t %s: expected seconds, 1 to "
		    "%d\n", s, CTL_TIMEOUT_MAX);
		return (-1);
	}
	*timeout = v;
	return (0);
}

/*
 * A wait-* command answers after up to its SECONDS: wait that long and a
 * margin, if -t is shorter.  A bad SECONDS is left to the daemon to refuse.
 */
static void
ctl_wait_timeout(struct ctl *c, int argc, char **argv)
{
	char	*end;
	long	 v;

	if (argc != 3 || (strcmp(argv[0], "wait-healthy") != 0 &&
	    strcmp(argv[0], "wait-drained") != 0))
		return;
	errno = 0;
	v = strtol(argv[2], &end, 10);
	if (errno != 0 || end == argv[2] || *end != '\0' || v < 0 ||
	    v > ADMIN_WAIT_MAX)
		return;
	if (v + CTL_WAIT_MARGIN > c->timeout)
		c->timeout = v + CTL_WAIT_MARGIN;
}

static const struct option ctl_longopts[] = {
	{ "help",	no_argument,	NULL,	'h' },
	{ "version",	no_argument,	NULL,	'V' },
	{ NULL,		0,		NULL,	0 },
};

/*
 * Says what was wrong with an option (ch: getopt's ':' or '?'); the exit
 * status.
 */
static int
ctl_bad_option(int ch, char **argv)
{
	const char	*word = argv[optind - 1];

	if (ch == ':')
		fprintf(stderr, "cutoverctl: option %s needs an argument\n",
		    word);
	else if (optopt != 0 && strncmp(word, "--", 2) != 0)
		fprintf(stderr, "cutoverctl: unknown option -%c\n", optopt);
	else
		fprintf(stderr, "cutoverctl: unknown option %s\n", word);
	fprintf(stderr, "cutoverctl: see 'cutoverctl -h'\n");
	return (CTL_EXIT_USAGE);
}

int
main(int argc, char **argv)
{
	struct ctl	 c = { .timeout = CTL_TIMEOUT_DEFAULT, .fd = -1 };
	char		*line = NULL;
	int		 ch, rc = CTL_EXIT_USAGE;

	if ((c.path = getenv("CUTOVER_SOCKET")) == NULL || c.path[0] == '\0')
		c.path = DEFAULT_ADMIN_SOCKET;
	/* our own messages, in the "cutoverctl: " form of every other one */
	opterr = 0;
	/* '+': words after the command are its own, even "-x" */
	while ((ch = getopt_long(argc, argv, "+:s:t:hV", ctl_longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 's':
			c.path = optarg;
			break;
		case 't':
			if (ctl_timeout(optarg, &c.timeout) == -1)
				return (CTL_EXIT_USAGE);
			break;
		case 'h':
			ctl_usage(stdout);
			return (CTL_EXIT_OK);
		case 'V':
			printf("cutoverctl %s\n", PACKAGE_VERSION);
			return (CTL_EXIT_OK);
		default:
			return (ctl_bad_option(ch, argv));
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		fprintf(stderr, "cutoverctl: no command given\n");
		ctl_usage(stderr);
		return (CTL_EXIT_USAGE);
	}
	if ((line = ctl_line(argc, argv)) == NULL)
		return (CTL_EXIT_USAGE);
	ctl_wait_timeout(&c, argc, argv);
	clock_gettime(CLOCK_MONOTONIC, &c.deadline);
	c.deadline.tv_sec += c.timeout;
	if (ctl_connect(&c) == 0 && ctl_send(&c, line) == 0 &&
	    ctl_receive(&c) == 0)
		rc = ctl_print(&c);
	else if (c.timed_out)
		rc = CTL_EXIT_TIMEOUT;
	if (c.fd != -1)
		close(c.fd);
	free(c.buf);
	free(line);
	return (rc);
}
