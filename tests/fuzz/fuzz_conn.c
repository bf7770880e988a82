/*
 * fuzz_conn.c — libFuzzer harness: the proxy's connection state machine
 * (src/conn.c, src/conn_relay.c, src/conn_tunnel.c) in-process, with a fuzzed client
 * and a fuzzed member talking to it over loopback TCP.
 *
 * Set-up, once: the smallest real cutover — one worker (worker 0, on this
 * thread's event loop), a configuration loaded from a file with one blue
 * member at a listening socket of ours, a snapshot and a router; no
 * listeners, no admin socket and no health probes (no timers that fire by
 * the clock).  Timeouts are a minute, longer than any input runs.
 * The workers' observe op is a no-op, so a member
 * that failed one input is not down for the next: each input starts from
 * the same state.
 *
 * Per input: a client socket connected to a listener of ours, whose
 * accepted end goes to conn_new() as the daemon's accept would; member
 * connections that the proxy makes are accepted as they come.  Both of our
 * ends have small socket buffers, so a peer that stops reading pushes back
 * at once.  The input is a program of operations, one byte each:
 *
 *	bit 7	   no loop step after this operation
 *	bits 4-6   arg (0-7)
 *	bits 0-3   operation:
 *	0 CSEND	   next byte L, then L bytes: the client sends them
 *	1 MSEND	   the same, from the current member connection
 *	2 CFILL	   next byte n: the client sends (n+1)*256 bytes 'x'
 *	3 MFILL	   the same, from the member
 *	4 CREPEAT  next byte n: the client sends its last chunk (what the last
 *		   CSEND and the CFILLs after it sent) n+1 more times; arg
 *		   bit 0: one loop step before each
 *	5 MREPEAT  the same for the member (the current connection each
 *		   time: a new one if the proxy opened one meanwhile)
 *	6 CSHUT	   the client half-closes (shutdown SHUT_WR) once its
 *		   queued bytes are out
 *	7 MSHUT	   the same, the member
 *	8 CRESET   the client resets (SO_LINGER 0, close)
 *	9 MRESET   the member resets
 *	10 CPAUSE  the client stops reading, or reads again
 *	11 MPAUSE  the member stops reading, or reads again
 *	12 STEP	   arg more loop steps (and the one after it)
 *	13 MSELECT member operations go to member connection arg (in
 *		   accept order), or with arg 7 to the newest one (the start)
 *	14 CCLOSE  the client closes
 *	15 MCLOSE  the member closes
 *
 * A loop step: each side writes what it has queued (non-blocking), the
 * worker's loop runs once (EVLOOP_NONBLOCK), new member connections are
 * accepted, and each side reads and discards what it was sent unless it
 * stopped reading.  Loopback delivers at once, so a step is repeatable.
 * At the end: some steps more, then both sides close, steps until the
 * worker has no connection left (any left then are closed with
 * conn_close, as at exit), and idle member connections are closed, so
 * LeakSanitizer sees anything the state machine lost.
 *
 * Invariant, after every loop step, for every connection of the worker:
 * conn_buffered(c) <= CONN_BUFFERED_MAX (src/conn.h).  A violation
 * prints "fuzz: ..." and aborts; ASan and UBSan report the rest.
 *
 * Run it:  make fuzz FUZZ_TARGETS=fuzz_conn  (in a build directory
 * configured with --enable-fuzz), or by hand:  tests/fuzz/fuzz_conn \
 *	-max_len=4096 -dict=$srcdir/tests/fuzz/conn.dict CORPUS_DIR
 * Replay one input:  tests/fuzz/fuzz_conn FILE  (with FUZZ_CONN_TRACE=1 in
 * the environment it prints each operation and what each side read).
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "config.h"
#include "conn_int.h"
#include "log.h"
#include "pool.h"
#include "router.h"
#include "snapshot.h"
#include "upstream.h"
#include "worker.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MEMBERS	8		/* member connections per input */
#define FUZZ_STEPS	4096		/* loop steps per input, at most */
#define FUZZ_SETTLE	16		/* steps after the program */
#define FUZZ_FINAL	64		/* steps for the worker to close all */
#define FUZZ_BUF	(16 * 1024)	/* SO_SNDBUF, SO_RCVBUF of our ends */
#define FUZZ_QUEUED_MAX	(8 * 1024 * 1024)	/* one side's unsent bytes */
#define FUZZ_CHUNK_MAX	(128 * 1024)	/* a chunk to repeat */
#define FUZZ_READ	(256 * 1024)	/* bytes one side reads per step */

enum {
	OP_CSEND, OP_MSEND, OP_CFILL, OP_MFILL, OP_CREPEAT, OP_MREPEAT,
	OP_CSHUT, OP_MSHUT, OP_CRESET, OP_MRESET, OP_CPAUSE, OP_MPAUSE,
	OP_STEP, OP_MSELECT, OP_CCLOSE, OP_MCLOSE,
};

/* One of our ends: the client, or the member's side of a connection. */
struct fuzz_peer {
	int		 fd;		/* -1: closed */
	bool		 paused;	/* not reading */
	bool		 shut_due;	/* SHUT_WR once queued bytes are out */
	bool		 shut;
	bool		 eof;		/* read 0 or an error */
	uint8_t		*q;		/* queued: q[qoff..qlen) */
	size_t		 qoff, qlen, qsize;
};

/* A repeatable chunk of bytes, for CREPEAT and MREPEAT. */
struct fuzz_chunk {
	uint8_t		 b[FUZZ_CHUNK_MAX];
	size_t		 len;
};

static struct event_base	*fuzz_base;
static struct config		*fuzz_cf;
static struct router		*fuzz_router;
static struct workers		*fuzz_ws;
static struct worker		*fuzz_w;
static int			 fuzz_client_lfd = -1, fuzz_member_lfd = -1;
static char			 fuzz_conf_dir[1024];

/* This input's state. */
static struct fuzz_peer		 fuzz_client;
static struct fuzz_peer		 fuzz_members[FUZZ_MEMBERS];
static unsigned			 fuzz_nmembers;
static int			 fuzz_msel;	/* -1: the newest */
static unsigned			 fuzz_steps;
static struct fuzz_chunk	 fuzz_cchunk, fuzz_mchunk;
static uint8_t			 fuzz_sink[FUZZ_READ];
static uint8_t			 fuzz_fill[64 * 1024];
static bool			 fuzz_trace;	/* FUZZ_CONN_TRACE set */

/* health is not under test: every input starts with the member usable,
 * so what a worker observes goes nowhere */
static void
fuzz_observe(void *ctx, struct member *m, const char *why, unsigned fall)
{
}

static void
fuzz_drained(void *ctx, struct worker *w)
{
}

static void
fuzz_thread_exit(void *ctx, struct worker *w)
{
}

static const struct worker_ops fuzz_ops = {
	.observe = fuzz_observe,
	.drained = fuzz_drained,
	.thread_exit = fuzz_thread_exit,
};

static _Noreturn void
fuzz_fatal(const char *what)
{
	fprintf(stderr, "fuzz_conn: set-up: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
fuzz_bufsize(int fd)
{
	int	n = FUZZ_BUF;

	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &n, sizeof(n));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &n, sizeof(n));
}

/* A listening socket on 127.0.0.1, a port the kernel picks. */
static int
fuzz_listen(bool nonblock, struct sockaddr_in *sin)
{
	socklen_t	len = sizeof(*sin);
	int		fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC |
	    (nonblock ? SOCK_NONBLOCK : 0), 0)) == -1)
		fuzz_fatal("socket");
	fuzz_bufsize(fd);	/* accepted sockets inherit it */
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)sin, sizeof(*sin)) == -1 ||
	    listen(fd, 128) == -1 ||
	    getsockname(fd, (struct sockaddr *)sin, &len) == -1)
		fuzz_fatal("listen");
	return (fd);
}

/* Writes the configuration for a member at port and loads it. */
static struct config *
fuzz_config(unsigned port)
{
	const char	*tmp = getenv("TMPDIR");
	char		 path[sizeof(fuzz_conf_dir) + 16], err[1024];
	struct config	*cf;
	FILE		*fp;

	snprintf(fuzz_conf_dir, sizeof(fuzz_conf_dir),
	    "%s/cutover-fuzz-conn.XXXXXX", tmp != NULL && tmp[0] != '\0' ?
	    tmp : "/tmp");
	if (mkdtemp(fuzz_conf_dir) == NULL)
		fuzz_fatal("mkdtemp");
	snprintf(path, sizeof(path), "%s/fuzz.conf", fuzz_conf_dir);
	if ((fp = fopen(path, "w")) == NULL)
		fuzz_fatal(path);
	fprintf(fp,
	    "listen = [ \"127.0.0.1:0\" ];\n"
	    "workers = 1;\n"
	    "active = \"blue\";\n"
	    "pools = {\n"
	    "  blue = { members = [ \"127.0.0.1:%u\" ]; };\n"
	    "  green = { members = [ \"127.0.0.1:1\" ]; };\n"
	    "};\n"
	    "admin = { socket = \"%s/admin.sock\"; };\n"
	    "timeouts = { connect_ms = 60000; client_header_ms = 60000;\n"
	    "  idle_ms = 60000; upstream_ms = 60000; tunnel_idle_ms = 60000;\n"
	    "  client_body_ms = 60000; };\n"
	    "limits = { max_body_bytes = 1000000; };\n"
	    "log = { level = \"error\"; access = false; };\n",
	    port, fuzz_conf_dir);
	if (fclose(fp) != 0)
		fuzz_fatal(path);
	if ((cf = config_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_conn: set-up: %s\n", err);
		exit(1);
	}
	unlink(path);
	rmdir(fuzz_conf_dir);
	return (cf);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_in	 sin;
	struct snapshot		*s;
	char			 err[512];

	signal(SIGPIPE, SIG_IGN);	/* as main() does */
	fuzz_trace = getenv("FUZZ_CONN_TRACE") != NULL;
	log_set_level(LL_ERROR);
	memset(fuzz_fill, 'x', sizeof(fuzz_fill));
	fuzz_client_lfd = fuzz_listen(false, &sin);
	fuzz_member_lfd = fuzz_listen(true, &sin);
	if ((fuzz_base = event_base_new()) == NULL)
		fuzz_fatal("out of memory");
	fuzz_cf = fuzz_config(ntohs(sin.sin_port));
	log_set_level(fuzz_cf->log_level);
	pool_set_workers(1);
	if ((fuzz_ws = workers_new(NULL, &fuzz_ops, fuzz_base, 1, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_conn: set-up: %s\n", err);
		exit(1);
	}
	if ((s = snapshot_build(fuzz_cf, NULL, POOL_BLUE)) == NULL ||
	    (fuzz_router = router_new(s, 1)) == NULL)
		fuzz_fatal("out of memory");
	fuzz_w = workers_get(fuzz_ws, 0);
	worker_snap_set(fuzz_w, router_live(fuzz_router));
	return (0);
}

/* ------------------------------------------------------------- peers */

static void
fuzz_peer_init(struct fuzz_peer *p, int fd)
{
	memset(p, 0, sizeof(*p));
	p->fd = fd;
}

static void
fuzz_peer_close(struct fuzz_peer *p, bool reset)
{
	struct linger	l = { 1, 0 };

	if (p->fd != -1) {
		if (reset)
			setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &l,
			    sizeof(l));
		close(p->fd);
	}
	p->fd = -1;
	free(p->q);
	p->q = NULL;
	p->qoff = p->qlen = p->qsize = 0;
}

/* Queues n bytes to be sent by p (dropped past FUZZ_QUEUED_MAX). */
static void
fuzz_peer_queue(struct fuzz_peer *p, const uint8_t *b, size_t n)
{
	size_t	size;
	uint8_t	*q;

	if (p == NULL || p->fd == -1 || p->shut_due || p->shut || n == 0)
		return;
	if (n > FUZZ_QUEUED_MAX - (p->qlen - p->qoff))
		n = FUZZ_QUEUED_MAX - (p->qlen - p->qoff);
	if (p->qlen + n > p->qsize && p->qoff > 0) {
		/* what was written makes room, moved only when needed */
		memmove(p->q, p->q + p->qoff, p->qlen - p->qoff);
		p->qlen -= p->qoff;
		p->qoff = 0;
	}
	if (p->qlen + n > p->qsize) {
		size = p->qsize > 0 ? p->qsize : 4096;
		while (size < p->qlen + n)
			size *= 2;
		if ((q = realloc(p->q, size)) == NULL)
			fuzz_fatal("out of memory");
		p->q = q;
		p->qsize = size;
	}
	memcpy(p->q + p->qlen, b, n);
	p->qlen += n;
}

/* Writes what p has queued, as much as the socket takes. */
static void
fuzz_peer_write(struct fuzz_peer *p)
{
	ssize_t	n;

	while (p->fd != -1 && p->qoff < p->qlen) {
		n = send(p->fd, p->q + p->qoff, p->qlen - p->qoff,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n <= 0) {
			if (n == -1 && errno != EAGAIN && errno != EINTR)
				p->qoff = p->qlen;	/* reset: nobody to
							 * send to */
			break;
		}
		p->qoff += (size_t)n;
	}
	if (p->qoff == p->qlen)
		p->qoff = p->qlen = 0;
	if (p->fd != -1 && p->shut_due && p->qlen == 0 && !p->shut) {
		shutdown(p->fd, SHUT_WR);
		p->shut = true;
	}
}

/* Reads and discards what p was sent, unless it stopped reading. */
static void
fuzz_peer_read(struct fuzz_peer *p, const char *who)
{
	size_t	got = 0;
	ssize_t	n;
	bool	eof = p->eof;

	while (p->fd != -1 && !p->paused && !p->eof && got < FUZZ_READ) {
		n = recv(p->fd, fuzz_sink, sizeof(fuzz_sink) - got,
		    MSG_DONTWAIT);
		if (n > 0)
			got += (size_t)n;
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			p->eof = true;
		else
			break;
	}
	if (fuzz_trace && got > 0)
		fprintf(stderr, "fuzz_conn: %s read %zu: %.*s\n", who, got,
		    (int)(got < 200 ? got : 200), (const char *)fuzz_sink);
	if (fuzz_trace && p->eof && !eof)
		fprintf(stderr, "fuzz_conn: %s read EOF\n", who);
}

/* The member connection that member operations go to, or NULL. */
static struct fuzz_peer *
fuzz_member(void)
{
	if (fuzz_nmembers == 0)
		return (NULL);
	if (fuzz_msel < 0 || (unsigned)fuzz_msel >= fuzz_nmembers)
		return (&fuzz_members[fuzz_nmembers - 1]);
	return (&fuzz_members[fuzz_msel]);
}

/* Accepts the connections the proxy made to the member. */
static void
fuzz_member_accept(void)
{
	int	fd;

	while ((fd = accept4(fuzz_member_lfd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) != -1) {
		if (fuzz_nmembers == FUZZ_MEMBERS) {
			close(fd);	/* refused, as by a full backlog */
			continue;
		}
		fuzz_peer_init(&fuzz_members[fuzz_nmembers++], fd);
	}
}

/* ------------------------------------------------------------- steps */

/* The bound that src/conn.h promises, for every connection. */
static void
fuzz_check(void)
{
	struct conn	*c;
	size_t		 n;

	TAILQ_FOREACH(c, &fuzz_w->conns, entry) {
		if ((n = conn_buffered(c)) <= CONN_BUFFERED_MAX)
			continue;
		fprintf(stderr, "fuzz: invariant broken: conn_buffered %zu > "
		    "CONN_BUFFERED_MAX %d (state %d, client out %zu in %zu, "
		    "up %s)\n", n, CONN_BUFFERED_MAX, (int)c->state,
		    io_pending(&c->io), evbuffer_get_length(c->io.in),
		    c->up != NULL ? "yes" : "no");
		abort();
	}
}

/* One loop step; false when the input has used all its steps. */
static bool
fuzz_step(void)
{
	if (fuzz_steps == FUZZ_STEPS)
		return (false);
	fuzz_steps++;
	fuzz_peer_write(&fuzz_client);
	for (unsigned i = 0; i < fuzz_nmembers; i++)
		fuzz_peer_write(&fuzz_members[i]);
	event_base_loop(fuzz_base, EVLOOP_NONBLOCK);
	fuzz_check();
	fuzz_member_accept();
	fuzz_peer_read(&fuzz_client, "client");
	for (unsigned i = 0; i < fuzz_nmembers; i++)
		fuzz_peer_read(&fuzz_members[i], "member");
	return (true);
}

/* Hands a new client connection to the worker, as listen.c would. */
static int
fuzz_connect(void)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	 sin;
	socklen_t		 sslen = sizeof(ss), len = sizeof(sin);
	int			 cfd, sfd;

	if ((cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fuzz_fatal("socket");
	fuzz_bufsize(cfd);
	if (getsockname(fuzz_client_lfd, (struct sockaddr *)&sin, &len) == -1)
		fuzz_fatal("getsockname");
	/* libFuzzer's alarm may interrupt connect(2): the connection goes on
	 * in the kernel, and the (blocking) accept4 waits for it */
	if (connect(cfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
	    errno != EINTR)
		fuzz_fatal("connect");
	while ((sfd = accept4(fuzz_client_lfd, (struct sockaddr *)&ss, &sslen,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1)
		if (errno != EINTR)
			fuzz_fatal("accept");
	fuzz_peer_init(&fuzz_client, cfd);
	if (conn_new(fuzz_w, sfd, (struct sockaddr *)&ss, sslen) == -1)
		return (-1);	/* out of memory: sfd closed */
	return (0);
}

/* The next byte of the program, 0 past its end. */
static uint8_t
fuzz_byte(const uint8_t **p, const uint8_t *end)
{
	return (*p < end ? *(*p)++ : 0);
}

/* The next n bytes of the program (fewer at its end). */
static const uint8_t *
fuzz_take(const uint8_t **p, const uint8_t *end, size_t *n)
{
	const uint8_t	*b = *p;

	if (*n > (size_t)(end - b))
		*n = (size_t)(end - b);
	*p += *n;
	return (b);
}

static void
fuzz_send(struct fuzz_peer *p, struct fuzz_chunk *ch, const uint8_t *b,
    size_t n, bool append)
{
	if (!append)
		ch->len = 0;
	if (n <= sizeof(ch->b) - ch->len) {
		memcpy(ch->b + ch->len, b, n);
		ch->len += n;
	}
	fuzz_peer_queue(p, b, n);
}

static void
fuzz_fill_send(struct fuzz_peer *p, struct fuzz_chunk *ch, size_t n)
{
	size_t	k;

	while (n > 0) {
		k = n < sizeof(fuzz_fill) ? n : sizeof(fuzz_fill);
		fuzz_send(p, ch, fuzz_fill, k, true);
		n -= k;
	}
}

static void
fuzz_pause(struct fuzz_peer *p)
{
	if (p != NULL)
		p->paused = !p->paused;
}

static void
fuzz_shut(struct fuzz_peer *p)
{
	if (p != NULL && p->fd != -1)
		p->shut_due = true;
}

static void
fuzz_close(struct fuzz_peer *p, bool reset)
{
	if (p != NULL)
		fuzz_peer_close(p, reset);
}

/* Runs one operation; false when the input has used all its steps. */
static bool
fuzz_op(const uint8_t **p, const uint8_t *end)
{
	uint8_t		 op = *(*p)++, arg = (op >> 4) & 7;
	size_t		 n, count;
	const uint8_t	*b;
	bool		 member = (op & 1) != 0;

	if (fuzz_trace)
		fprintf(stderr, "fuzz_conn: op %u arg %u%s\n", op & 15, arg,
		    (op & 0x80) ? " (no step)" : "");

	switch (op & 15) {
	case OP_CSEND:
	case OP_MSEND:
		n = fuzz_byte(p, end);
		b = fuzz_take(p, end, &n);
		if (member)
			fuzz_send(fuzz_member(), &fuzz_mchunk, b, n, false);
		else
			fuzz_send(&fuzz_client, &fuzz_cchunk, b, n, false);
		break;
	case OP_CFILL:
	case OP_MFILL:
		count = ((size_t)fuzz_byte(p, end) + 1) * 256;
		if (member)
			fuzz_fill_send(fuzz_member(), &fuzz_mchunk, count);
		else
			fuzz_fill_send(&fuzz_client, &fuzz_cchunk, count);
		break;
	case OP_CREPEAT:
	case OP_MREPEAT:
		count = (size_t)fuzz_byte(p, end) + 1;
		for (size_t i = 0; i < count; i++) {
			if ((arg & 1) && !fuzz_step())
				return (false);
			if (member)
				fuzz_peer_queue(fuzz_member(), fuzz_mchunk.b,
				    fuzz_mchunk.len);
			else
				fuzz_peer_queue(&fuzz_client, fuzz_cchunk.b,
				    fuzz_cchunk.len);
		}
		break;
	case OP_CSHUT:
		fuzz_shut(&fuzz_client);
		break;
	case OP_MSHUT:
		fuzz_shut(fuzz_member());
		break;
	case OP_CRESET:
	case OP_CCLOSE:
		fuzz_close(&fuzz_client, (op & 15) == OP_CRESET);
		break;
	case OP_MRESET:
	case OP_MCLOSE:
		fuzz_close(fuzz_member(), (op & 15) == OP_MRESET);
		break;
	case OP_CPAUSE:
		fuzz_pause(&fuzz_client);
		break;
	case OP_MPAUSE:
		fuzz_pause(fuzz_member());
		break;
	case OP_STEP:
		for (unsigned i = 0; i < arg; i++)
			if (!fuzz_step())
				return (false);
		break;
	case OP_MSELECT:
		fuzz_msel = arg == 7 ? -1 : arg;
		break;
	}
	return ((op & 0x80) != 0 || fuzz_step());
}

/* Closes both sides and everything the worker still holds. */
static void
fuzz_finish(void)
{
	struct conn	*c;

	for (unsigned i = 0; i < FUZZ_SETTLE; i++)
		fuzz_step();
	fuzz_peer_close(&fuzz_client, false);
	for (unsigned i = 0; i < fuzz_nmembers; i++)
		fuzz_peer_close(&fuzz_members[i], false);
	fuzz_steps = 0;
	for (unsigned i = 0; i < FUZZ_FINAL &&
	    !TAILQ_EMPTY(&fuzz_w->conns); i++) {
		fuzz_step();
		/* connections made meanwhile: refuse them */
		for (unsigned k = 0; k < fuzz_nmembers; k++)
			fuzz_peer_close(&fuzz_members[k], false);
	}
	while ((c = TAILQ_FIRST(&fuzz_w->conns)) != NULL)
		conn_close(c, "fuzz: end of input");
	for (int i = 0; i < POOL_COUNT; i++)
		upstream_close_pool_idle(fuzz_w->snap->pools[i], fuzz_w->id);
	fuzz_member_accept();
	for (unsigned i = 0; i < fuzz_nmembers; i++)
		fuzz_peer_close(&fuzz_members[i], false);
	fuzz_nmembers = 0;
	/* events made active by the closes, so none is left for the next */
	event_base_loop(fuzz_base, EVLOOP_NONBLOCK);
	conn_cache_free();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t	*p = data, *end = data + size;

	fuzz_nmembers = 0;
	fuzz_msel = -1;
	fuzz_steps = 0;
	fuzz_cchunk.len = fuzz_mchunk.len = 0;
	if (fuzz_connect() == -1)
		return (0);
	fuzz_step();
	while (p < end && fuzz_op(&p, end))
		;
	fuzz_finish();
	return (0);
}
