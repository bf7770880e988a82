/*
 * bench/relay: the least a proxy can do, as a floor for bench/run.
 *
 *	relay LISTEN_PORT BACKEND_PORT
 *
 * One thread, one epoll set, level-triggered.  Every accepted client gets
 * its own connection to 127.0.0.1:BACKEND_PORT, and bytes are copied
 * between the two as they come: recv(2) into a buffer, send(2) out of it,
 * and a direction stops reading while its buffer still holds bytes the
 * other side has not taken.  No HTTP is parsed, nothing is routed or
 * timed out, no connection is reused.  With keep-alive clients that send
 * one request at a time, it makes the same system calls per request as an
 * HTTP proxy that keeps its member connections (a recv and a send each
 * way, and epoll_wait), so the CPU it spends per request is what the
 * kernel costs whatever a proxy does in user space.
 *
 * A benchmark tool, not part of cutover: it trusts its peers, stops at
 * the first failed system call it cannot explain, and frees nothing at
 * exit.
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RELAY_BUF	(64 * 1024)
#define RELAY_EVENTS	256

struct side {
	int		 fd;
	struct side	*peer;
	char		*buf;		/* bytes read here, for the peer */
	size_t		 off, len;
	unsigned	 mask;		/* events asked of epoll */
	struct side	*next;		/* dropped in this batch */
};

static int		 ep;
static struct side	*dead;	/* pairs to free once the batch is done */

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

static void
nodelay(int fd)
{
	int	on = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

/* Reads while the buffer is empty; writes while the peer's holds bytes. */
static void
want(struct side *s)
{
	struct epoll_event	e;
	unsigned		mask = 0;

	if (s->len == 0)
		mask |= EPOLLIN;
	if (s->peer->len > 0)
		mask |= EPOLLOUT;
	if (mask == s->mask)
		return;
	s->mask = mask;
	e.events = mask;
	e.data.ptr = s;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &e) == -1)
		die("epoll_ctl");
}

static void
drop(struct side *s)
{
	struct side	*p = s->peer;

	/* later events of the same batch may name either side: free the
	 * pair after the batch */
	close(s->fd);
	close(p->fd);
	s->fd = p->fd = -1;
	s = s < p ? s : p;
	s->next = dead;
	dead = s;
}

/* Sends what s read to its peer; false if the pair was dropped. */
static int
flush(struct side *s)
{
	ssize_t	n;

	while (s->len > 0) {
		n = send(s->peer->fd, s->buf + s->off, s->len, MSG_NOSIGNAL);
		if (n == -1 && (errno == EAGAIN || errno == ENOTCONN))
			break;
		if (n <= 0)
			return (0);
		s->off += (size_t)n;
		s->len -= (size_t)n;
	}
	if (s->len == 0)
		s->off = 0;
	return (1);
}

static int
add(struct side *s)
{
	struct epoll_event	e = { .events = EPOLLIN, .data.ptr = s };

	s->mask = EPOLLIN;
	return (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &e));
}

static void
accept_one(int lfd, const struct sockaddr_in *backend)
{
	struct side	*pair;
	int		 cfd, bfd;

	if ((cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) == -1)
		return;
	if ((bfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1 ||
	    (connect(bfd, (const struct sockaddr *)backend,
	    sizeof(*backend)) == -1 && errno != EINPROGRESS) ||
	    (pair = calloc(2, sizeof(*pair))) == NULL ||
	    (pair[0].buf = malloc(RELAY_BUF)) == NULL ||
	    (pair[1].buf = malloc(RELAY_BUF)) == NULL)
		die("backend");
	nodelay(cfd);
	nodelay(bfd);
	pair[0].fd = cfd;
	pair[1].fd = bfd;
	pair[0].peer = &pair[1];
	pair[1].peer = &pair[0];
	if (add(&pair[0]) == -1 || add(&pair[1]) == -1)
		die("epoll_ctl");
}

int
main(int argc, char **argv)
{
	struct epoll_event	ev[RELAY_EVENTS];
	struct sockaddr_in	sin = { .sin_family = AF_INET }, backend;
	struct epoll_event	e = { .events = EPOLLIN };
	int			lfd, on = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: relay LISTEN_PORT BACKEND_PORT\n");
		return (2);
	}
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	backend = sin;
	sin.sin_port = htons((unsigned short)atoi(argv[1]));
	backend.sin_port = htons((unsigned short)atoi(argv[2]));
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 4096) == -1)
		die("listen");
	if ((ep = epoll_create1(0)) == -1)
		die("epoll_create1");
	e.data.ptr = NULL;			/* the listener */
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e) == -1)
		die("epoll_ctl");
	for (;;) {
		int	n = epoll_wait(ep, ev, RELAY_EVENTS, -1);

		if (n == -1 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			struct side	*s = ev[i].data.ptr;
			ssize_t		 r;

			if (s == NULL) {
				accept_one(lfd, &backend);
				continue;
			}
			if (s->fd == -1)
				continue;
			if ((ev[i].events & EPOLLOUT) && !flush(s->peer)) {
				drop(s);
				continue;
			}
			if ((ev[i].events & (EPOLLHUP | EPOLLERR)) &&
			    s->len > 0) {		/* cannot make way */
				drop(s);
				continue;
			}
			if ((ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
			    s->len == 0) {
				r = recv(s->fd, s->buf, RELAY_BUF, 0);
				if (r == -1 && errno == EAGAIN)
					continue;
				if (r <= 0) {
					drop(s);
					continue;
				}
				s->len = (size_t)r;
				if (!flush(s)) {
					drop(s);
					continue;
				}
			}
			want(s);
			want(s->peer);
		}
		while (dead != NULL) {
			struct side	*s = dead;

			dead = s->next;
			free(s[0].buf);
			free(s[1].buf);
			free(s);
		}
	}
}
