/*
 * cutoverctl.c — the control client: sends one command line to the admin
 * socket, prints the reply's body, and maps the reply to an exit status
 * (0 ok, 1 refused or failed, 2 usage or no daemon).  libc only.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"

#define CTL_EXIT_OK		0
#define CTL_EXIT_FAILED		1	/* error reply, time-out, cut short */
#define CTL_EXIT_USAGE		2	/* bad command line, no daemon */

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
	char		*buf;		/* the reply as received */
	size_t		 len, size;
};

static void
ctl_usage(FILE *f)
{
	fprintf(f,
	    "usage: cutoverctl [-s socket] [-t seconds] command [arg ...]\n"
	    "       cutoverctl -h | -V\n"
	    "\n"
	    "  -s socket   admin socket (default $CUTOVER_SOCKET, else %s)\n"
	    "  -t seconds  wait this long for the reply (default %d; for\n"
	    "              wait-healthy and wait-drained at least their\n"
	    "              seconds + %d)\n"
	    "  -h          show this help\n"
	    "  -V          show the version\n"
	    "\n"
	    "Commands: see 'cutoverctl help' and cutoverctl(8).\n",
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
	fprintf(stderr, "cutoverctl: cannot connect to %s: %s\n", c->path,
	    strerror(errno));
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
		if (n == 0)
			fprintf(stderr, "cutoverctl: no reply from %s within "
			    "%ld s\n", c->path, c->timeout);
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

/* Prints the body (stdout for ok, stderr for an error); the exit status. */
static int
ctl_print(struct ctl *c)
{
	char	*end = ctl_reply_end(c), *nl, *body;
	size_t	 blen;

	*end = '\0';
	if (end == c->buf) {
		fprintf(stderr, "cutoverctl: empty reply from %s\n", c->path);
		return (CTL_EXIT_FAILED);
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
		return (fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAILED);
	}
	if (strncmp(c->buf, "error: ", 7) == 0)
		fprintf(stderr, "cutoverctl: %s\n", c->buf + 7);
	else
		fprintf(stderr, "cutoverctl: unexpected reply: %s\n", c->buf);
	if (blen > 0)
		fprintf(stderr, "%.*s\n", (int)blen, body);
	return (CTL_EXIT_FAILED);
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

int
main(int argc, char **argv)
{
	struct ctl	 c = { .timeout = CTL_TIMEOUT_DEFAULT, .fd = -1 };
	char		*line = NULL;
	int		 ch, rc = CTL_EXIT_FAILED;

	if ((c.path = getenv("CUTOVER_SOCKET")) == NULL || c.path[0] == '\0')
		c.path = DEFAULT_ADMIN_SOCKET;
	/* '+': words after the command are its own, even "-x" */
	while ((ch = getopt(argc, argv, "+s:t:hV")) != -1) {
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
			ctl_usage(stderr);
			return (CTL_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		ctl_usage(stderr);
		return (CTL_EXIT_USAGE);
	}
	if ((line = ctl_line(argc, argv)) == NULL)
		return (CTL_EXIT_USAGE);
	ctl_wait_timeout(&c, argc, argv);
	clock_gettime(CLOCK_MONOTONIC, &c.deadline);
	c.deadline.tv_sec += c.timeout;
	if (ctl_connect(&c) == -1)
		rc = CTL_EXIT_USAGE;
	else if (ctl_send(&c, line) == 0 && ctl_receive(&c) == 0)
		rc = ctl_print(&c);
	if (c.fd != -1)
		close(c.fd);
	free(c.buf);
	free(line);
	return (rc);
}
