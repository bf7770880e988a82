/*
 * io.c — buffered non-blocking sockets for the proxy's hot path.
 *
 * libevent 2.1's bufferevents cost a request two system calls it does not
 * need: a FIONREAD ioctl before every read of at most 4 KiB, and an
 * epoll_ctl pair around every write, since they arm EV_WRITE whenever
 * output is queued.  Here output is written as soon as the owner has queued
 * all of it, and EV_WRITE is armed only when the socket would block.
 * Sockets are read and written with recv(2) and send(2), never readv(2)
 * and writev(2), whose trip through the VFS layer cost a proxied request
 * some 1.4 us more of kernel time (perf record on cutover and on HAProxy
 * under the same wrk load; HAProxy uses the socket calls).
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "io.h"

/*
 * A reservation that fits one 32 KiB evbuffer chain with its header: one
 * readv takes a 16 KiB response with its head, where a 16 KiB chain took
 * two (the second for the last few hundred bytes).  The chain is the
 * same 32 KiB those two took; IO_MOVE_MIN keeps what outputs hold of it
 * in proportion.
 */
#define IO_CHUNK	(32768 - 128)

/* Chains one send takes at most (libevent's own writev takes 128). */
#define IO_WRITE_IOV	64

static void	io_read_cb(evutil_socket_t, short, void *);
static void	io_write_cb(evutil_socket_t, short, void *);
static void	io_rest_buffers(struct io *);

/*
 * A pipe between two sockets (io_splice).  src keeps it until its owner
 * has been told the last of its bytes (io_spliced), dst until it has
 * written them; whichever lets go last gives it back.
 */
struct io_splice {
	struct io_splice	*next;		/* in the cache */
	int			 fd[2];		/* read end, write end */
	struct io		*src, *dst;
	uint64_t		 left;		/* src bytes still to splice */
	uint64_t		 moved;		/* spliced, not yet told */
	size_t			 len;		/* in the pipe, not written */
	size_t			 before;	/* dst output bytes due first */
	bool			 blocked;	/* the pipe is full: src waits */
};

/* Each thread's pipes: IO_PIPES_CACHE idle ones at most are kept, and no
 * more than IO_PIPES_MAX are open at once (fdlimit counts them). */
static _Thread_local struct io_splice *io_pipes;
static _Thread_local unsigned io_npipes_idle, io_npipes;
static _Thread_local bool io_splice_off;	/* EINVAL or ENOSYS seen */
static _Thread_local bool io_pipes_nocache;	/* io_pipes_keep(false) */

/*
 * Timeouts of a few durations (the configured ones) are re-armed on every
 * request: libevent's common timeouts keep each duration in a queue,
 * O(1) to add and remove, where the timer heap costs O(log n) with one
 * entry per connection.  The table is per thread, keyed by base.
 */
#define IO_COMMON_MAX	16

static _Thread_local struct io_common {
	const struct event_base	*base;
	unsigned		 ms;
	const struct timeval	*tv;
}			 io_common[IO_COMMON_MAX];
static _Thread_local unsigned io_ncommon;

const struct timeval *
io_timeval(struct event_base *base, unsigned ms, struct timeval *tv)
{
	const struct timeval	*common;

	if (ms == 0)
		return (NULL);
	for (unsigned i = 0; i < io_ncommon; i++)
		if (io_common[i].base == base && io_common[i].ms == ms)
			return (io_common[i].tv);
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
	if (io_ncommon == IO_COMMON_MAX ||
	    (common = event_base_init_common_timeout(base, tv)) == NULL)
		return (tv);
	io_common[io_ncommon].base = base;
	io_common[io_ncommon].ms = ms;
	io_common[io_ncommon++].tv = common;
	return (common);
}

void
io_forget(const struct event_base *base)
{
	unsigned	n = 0;

	for (unsigned i = 0; i < io_ncommon; i++)
		if (io_common[i].base != base)
			io_common[n++] = io_common[i];
	io_ncommon = n;
}

static const struct timeval *
io_tv(struct io *io, unsigned ms, struct timeval *tv)
{
	return (io_timeval(event_get_base(&io->rd), ms, tv));
}

/* Makes the read event pending exactly when input is wanted and can be
 * taken, with the read timeout. */
static void
io_arm_read(struct io *io)
{
	struct timeval	tv;

	if (io->reading && io->eof && !io->eof_said) {
		event_active(&io->rd, EV_READ, 1);	/* say it now */
		return;
	}
	if (!io->reading || io->eof || io->full != NULL || io->connecting ||
	    (io->sp != NULL && io->sp->src == io && io->sp->blocked)) {
		event_del(&io->rd);
		return;
	}
	event_add(&io->rd, io_tv(io, io->read_ms, &tv));
	if (io->read_ms == 0)
		event_remove_timer(&io->rd);
}

/* The owner drained input that had reached in_max: read again. */
static void
io_in_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct io	*io = arg;

	if (evbuffer_get_length(buf) >= io->in_max)
		return;
	evbuffer_remove_cb_entry(buf, io->full);
	io->full = NULL;
	io_arm_read(io);
}

/* ---------------------------------------------------------------- splice */

static struct io_splice *
io_pipe_get(void)
{
	struct io_splice	*sp;

	if ((sp = io_pipes) != NULL) {
		io_pipes = sp->next;
		io_npipes_idle--;
		return (sp);
	}
	if (io_npipes == IO_PIPES_MAX || (sp = calloc(1, sizeof(*sp))) == NULL)
		return (NULL);
	if (pipe2(sp->fd, O_NONBLOCK | O_CLOEXEC) == -1) {
		free(sp);
		return (NULL);
	}
	/* room for CONN_HIGH_WATER and a splice past it (IO_SPLICE_MAX), so
	 * that the owner's backpressure, not a full pipe, stops the source;
	 * refused beyond fs.pipe-max-size or a user's pipe pages, and 64 KiB
	 * works too */
	(void)fcntl(sp->fd[1], F_SETPIPE_SZ, IO_PIPE_SIZE);
	io_npipes++;
	return (sp);
}

/* Caches sp, or closes it: a pipe that still holds bytes is never reused. */
static void
io_pipe_put(struct io_splice *sp)
{
	if (sp->len == 0 && io_npipes_idle < IO_PIPES_CACHE &&
	    !io_pipes_nocache) {
		sp->src = sp->dst = NULL;
		sp->left = sp->moved = 0;
		sp->before = 0;
		sp->blocked = false;
		sp->next = io_pipes;
		io_pipes = sp;
		io_npipes_idle++;
		return;
	}
	close(sp->fd[0]);
	close(sp->fd[1]);
	free(sp);
	io_npipes--;
}

/* Gives sp back once neither side needs it: src is done and told, and dst
 * has written the pipe's bytes (or is gone). */
static void
io_splice_check(struct io_splice *sp)
{
	if (sp->src != NULL || (sp->dst != NULL && sp->len > 0))
		return;
	if (sp->dst != NULL)
		sp->dst->sp = NULL;
	io_pipe_put(sp);
}

/* io is closing: the pipe's bytes, if it is their destination, are lost
 * with it; if it is their source, dst writes what it has. */
static void
io_splice_detach(struct io *io)
{
	struct io_splice	*sp = io->sp;

	io->sp = NULL;
	if (sp->dst == io) {
		sp->dst = NULL;
		if (sp->src != NULL) {
			sp->src->sp = NULL;
			sp->blocked = false;
			io_arm_read(sp->src);
			sp->src = NULL;
		}
	} else {
		sp->src = NULL;
		sp->left = sp->moved = 0;
		sp->blocked = false;
	}
	io_splice_check(sp);
}

int
io_splice(struct io *src, struct io *dst, uint64_t n)
{
	struct io_splice	*sp;

	if (io_splice_off || n == 0 || src->sp != NULL || dst->sp != NULL ||
	    evbuffer_get_length(src->in) > 0 || (sp = io_pipe_get()) == NULL)
		return (-1);
	sp->src = src;
	sp->dst = dst;
	sp->left = n;
	sp->before = evbuffer_get_length(dst->out);
	src->sp = dst->sp = sp;
	return (0);
}

uint64_t
io_spliced(struct io *src)
{
	struct io_splice	*sp = src->sp;
	uint64_t		 n;

	if (sp == NULL || sp->src != src)
		return (0);
	n = sp->moved;
	sp->moved = 0;
	if (sp->left == 0) {
		/* src reads as usual from now on */
		src->sp = NULL;
		sp->src = NULL;
		if (sp->blocked) {
			sp->blocked = false;
			io_arm_read(src);
		}
		io_splice_check(sp);
	}
	return (n);
}

void
io_pipes_free(void)
{
	struct io_splice	*sp;

	while ((sp = io_pipes) != NULL) {
		io_pipes = sp->next;
		close(sp->fd[0]);
		close(sp->fd[1]);
		free(sp);
		io_npipes--;
	}
	io_npipes_idle = 0;
}

void
io_pipes_keep(bool keep)
{
	io_pipes_nocache = !keep;
	if (!keep)
		io_pipes_free();
}

/* Writes what the pipe holds to io; -1 with errno on a hard error. */
static int
io_splice_out(struct io *io, struct io_splice *sp)
{
	ssize_t	n;

	do
		n = splice(sp->fd[0], NULL, io->fd, NULL, sp->len,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return (errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1);
	sp->len -= (size_t)n;
	io->nwritten += (uint64_t)n;
	if (n > 0 && sp->blocked && sp->src != NULL) {
		sp->blocked = false;	/* room again */
		io_arm_read(sp->src);
	}
	return (0);
}

/*
 * io's input goes into its pipe: up to IO_SPLICE_MAX bytes, never past the
 * spliced length, so what follows stays in the socket.  More than a read
 * takes (IO_READ_MAX), since nothing is copied to user space: a 1 MiB
 * body goes in 12 to 14 splices and 5 to 7 epoll_waits, where 64 KiB
 * took 32 and 13 (bench/syscalls).  Returns 1 when the owner was called (io may
 * be gone), 0 when nothing was moved, -1 when splice(2) is not supported
 * (read as usual).
 */
static int
io_splice_in(struct io *io)
{
	struct io_splice	*sp = io->sp;
	size_t			 total = 0, want;
	ssize_t			 n;

	while (total < IO_SPLICE_MAX && sp->left > 0) {
		want = IO_SPLICE_MAX - total;
		if (want > sp->left)
			want = (size_t)sp->left;
		do
			n = splice(io->fd, NULL, sp->fd[1], NULL, want,
			    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		while (n == -1 && errno == EINTR);
		if (n == 0) {
			io->eof = true;
			event_del(&io->rd);
			if (total == 0) {
				io->eof_said = true;
				io->cb(io, IO_EOF, io->arg);
				return (1);
			}
			event_active(&io->rd, EV_READ, 1);
			break;
		}
		if (n == -1) {
			if (errno == EINVAL || errno == ENOSYS) {
				io_splice_off = true;
				sp->left = 0;	/* the rest as usual */
				if (total > 0)
					break;
				return (-1);
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				io->error = errno;
				io->cb(io, IO_ERROR, io->arg);
				return (1);
			}
			if (total == 0 && sp->len > 0) {
				/* the pipe is full, or the socket empty:
				 * either way dst's write comes first */
				sp->blocked = true;
				io_arm_read(io);
				io_flush(sp->dst);
			}
			break;
		}
		sp->left -= (uint64_t)n;
		sp->moved += (uint64_t)n;
		sp->len += (size_t)n;
		io->nread += (uint64_t)n;
		total += (size_t)n;
		if ((size_t)n < want)
			break;		/* the socket is empty for now */
	}
	if (total == 0)
		return (0);
	io->cb(io, IO_READ, io->arg);
	return (1);
}

static void
io_setup(struct io *io, struct event_base *base, evutil_socket_t fd,
    io_cb cb, void *arg)
{
	io->fd = fd;
	io->cb = cb;
	io->arg = arg;
	event_assign(&io->rd, base, fd, EV_READ | EV_PERSIST, io_read_cb, io);
	event_assign(&io->wr, base, fd, EV_WRITE | EV_PERSIST, io_write_cb, io);
}

int
io_init(struct io *io, struct event_base *base, evutil_socket_t fd,
    io_cb cb, void *arg)
{
	memset(io, 0, sizeof(*io));
	if (io_wake(io) == -1)
		return (-1);
	io_setup(io, base, fd, cb, arg);
	return (0);
}

int
io_connect(struct io *io, struct event_base *base, const struct sockaddr *sa,
    socklen_t salen, unsigned ms, io_cb cb, void *arg)
{
	struct timeval	tv;
	int		fd, one = 1, saved;

	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (io_init(io, base, fd, cb, arg) == -1) {
		close(fd);
		errno = ENOMEM;
		return (-1);
	}
	io->connecting = true;
	if (connect(fd, sa, salen) == 0) {
		event_active(&io->wr, EV_WRITE, 1);	/* said from the loop */
		return (0);
	}
	if (errno != EINPROGRESS) {
		saved = errno;
		io_close(io);
		errno = saved;
		return (-1);
	}
	event_add(&io->wr, io_tv(io, ms, &tv));
	return (0);
}

/*
 * Buffers while idle.  An evbuffer costs some 170 bytes with its malloc
 * header even when empty, a third of what an idle keep-alive client
 * connection may cost in all: io_rest() gives both back, and io_wake()
 * (called by the read event before it reads) takes them again.
 *
 * Given back to the calling thread's spares, not to malloc: a keep-alive
 * connection rests after every response, and an evbuffer_free and
 * evbuffer_new of both buffers per request cost it some 1,000
 * instructions.  The next connection to wake (most often the same one)
 * takes them back.  A few are kept, so that idle connections by the
 * thousand still hold none; those beyond IO_SPARE_MAX are freed.  The
 * spares are the thread's own (nothing shared, nothing locked) and freed
 * when it exits (io_spares_free).
 */
#define IO_SPARE_MAX	64

static _Thread_local struct evbuffer	*io_spare[IO_SPARE_MAX];
static _Thread_local unsigned		 io_nspare;

static struct evbuffer *
io_buffer_get(void)
{
	if (io_nspare > 0)
		return (io_spare[--io_nspare]);
	return (evbuffer_new());
}

/* An empty buffer without callbacks, kept or freed. */
static void
io_buffer_put(struct evbuffer *b)
{
	if (io_nspare < IO_SPARE_MAX)
		io_spare[io_nspare++] = b;
	else
		evbuffer_free(b);
}

void
io_spares_free(void)
{
	while (io_nspare > 0)
		evbuffer_free(io_spare[--io_nspare]);
}

static void
io_rest_buffers(struct io *io)
{
	if (io->in != NULL)
		evbuffer_free(io->in);
	if (io->out != NULL)
		evbuffer_free(io->out);
	io->in = io->out = NULL;
	io->full = NULL;
}

bool
io_rest(struct io *io)
{
	if (io->in == NULL)
		return (true);
	if (io->full != NULL || io->sp != NULL ||
	    evbuffer_get_length(io->in) > 0 ||
	    evbuffer_get_length(io->out) > 0 ||
	    event_pending(&io->wr, EV_WRITE, NULL))
		return (false);
	io_buffer_put(io->in);
	io_buffer_put(io->out);
	io->in = io->out = NULL;
	return (true);
}

int
io_wake(struct io *io)
{
	if (io->in != NULL)
		return (0);
	if ((io->in = io_buffer_get()) == NULL ||
	    (io->out = io_buffer_get()) == NULL) {
		io_rest_buffers(io);
		return (-1);
	}
	return (0);
}

void
io_close(struct io *io)
{
	if (io->cb == NULL)
		return;
	if (io->sp != NULL)
		io_splice_detach(io);
	event_del(&io->rd);
	event_del(&io->wr);
	io_rest_buffers(io);
	close(io->fd);
	io->cb = NULL;
}

void
io_setcb(struct io *io, io_cb cb, void *arg)
{
	io->cb = cb;
	io->arg = arg;
}

void
io_read(struct io *io, bool on)
{
	if (io->reading == on)
		return;
	io->reading = on;
	io_arm_read(io);
}

void
io_timeouts(struct io *io, unsigned read_ms, unsigned write_ms)
{
	struct timeval	tv;

	if (io->read_ms != read_ms) {
		io->read_ms = read_ms;
		if (event_pending(&io->rd, EV_READ, NULL))
			io_arm_read(io);
	}
	if (io->write_ms != write_ms) {
		io->write_ms = write_ms;
		if (!io->connecting && event_pending(&io->wr, EV_WRITE, NULL)) {
			event_add(&io->wr, io_tv(io, write_ms, &tv));
			if (write_ms == 0)
				event_remove_timer(&io->wr);
		}
	}
}

size_t
io_pending(const struct io *io)
{
	size_t	n = io->out != NULL ? evbuffer_get_length(io->out) : 0;

	if (io->sp != NULL && io->sp->dst == io)
		n += io->sp->len;
	return (n);
}

int
io_move(struct evbuffer *dst, struct evbuffer *src, size_t n)
{
	struct evbuffer_iovec	 v[8];
	size_t			 k, done;
	int			 nv;

	if (n == 0)
		return (0);
	/* fewer bytes than IO_MOVE_MIN are copied whatever their chains;
	 * more are moved when their chains average IO_MOVE_MIN */
	if (n >= IO_MOVE_MIN && ((nv = evbuffer_peek(src, (ev_ssize_t)n, NULL,
	    NULL, 0)) <= 0 || n / (size_t)nv >= IO_MOVE_MIN))
		return (evbuffer_remove_buffer(src, dst, n) == (int)n ? 0 : -1);
	while (n > 0) {
		if ((nv = evbuffer_peek(src, (ev_ssize_t)n, NULL, v, 8)) > 8)
			nv = 8;
		done = 0;
		for (int i = 0; i < nv && done < n; i++) {
			k = v[i].iov_len < n - done ? v[i].iov_len : n - done;
			if (k > 0 && evbuffer_add(dst, v[i].iov_base, k) == -1) {
				evbuffer_drain(src, done);
				return (-1);
			}
			done += k;
		}
		if (done == 0)
			return (-1);	/* src holds fewer than n bytes */
		evbuffer_drain(src, done);
		n -= done;
	}
	return (0);
}

void
io_shutdown(struct io *io)
{
	shutdown(io->fd, SHUT_WR);
}

/*
 * One send of up to max bytes of the output (-1: all); the byte count, or
 * -1 with errno on a hard error.  send(2) and sendmsg(2), not writev(2):
 * the socket calls skip the VFS layer (fdget_pos, rw_verify_area, the
 * file's notification hooks) that every writev pays.
 */
static int
io_write_buf(struct io *io, ev_ssize_t max)
{
	struct evbuffer_iovec	vec[IO_WRITE_IOV];
	struct msghdr		msg;
	ssize_t			n;
	size_t			left;
	int			nv;

	if ((nv = evbuffer_peek(io->out, max, NULL, vec, IO_WRITE_IOV)) <= 0)
		return (0);
	if (nv > IO_WRITE_IOV)
		nv = IO_WRITE_IOV;
	if (max >= 0) {		/* the last chain may hold more than max */
		left = (size_t)max;
		for (int i = 0; i < nv; i++) {
			if (vec[i].iov_len > left)
				vec[i].iov_len = left;
			left -= vec[i].iov_len;
		}
	}
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = (struct iovec *)vec;
	msg.msg_iovlen = (size_t)nv;
	do
		n = nv == 1 ? send(io->fd, vec[0].iov_base, vec[0].iov_len,
		    MSG_NOSIGNAL) : sendmsg(io->fd, &msg, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return (errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1);
	evbuffer_drain(io->out, (size_t)n);
	io->nwritten += (uint64_t)n;
	return ((int)n);
}

/* Writes the output: with a pipe, what was queued before it, the pipe,
 * then the rest.  -1 with errno on a hard error. */
static int
io_write_now(struct io *io)
{
	struct io_splice	*sp = io->sp;
	int			 n;

	if (sp != NULL && sp->dst == io) {
		/* an owner that dropped its output (closing) drops these */
		if (sp->before > evbuffer_get_length(io->out))
			sp->before = evbuffer_get_length(io->out);
		if (sp->before > 0) {
			if ((n = io_write_buf(io, (ev_ssize_t)sp->before)) ==
			    -1)
				return (-1);
			sp->before -= (size_t)n;
			if (sp->before > 0)
				return (0);
		}
		if (sp->len > 0 && io_splice_out(io, sp) == -1)
			return (-1);
		if (sp->len > 0)
			return (0);
		io_splice_check(sp);
	}
	return (io_write_buf(io, -1) == -1 ? -1 : 0);
}

void
io_flush(struct io *io)
{
	struct timeval	tv;

	if (io->connecting || io->error != 0 || io_pending(io) == 0 ||
	    event_pending(&io->wr, EV_WRITE, NULL))
		return;		/* nothing to do, or the write event will */
	if (io_write_now(io) == -1) {
		io->error = errno;
		event_active(&io->wr, EV_WRITE, 1);	/* said from the loop */
		return;
	}
	if (io_pending(io) > 0)
		event_add(&io->wr, io_tv(io, io->write_ms, &tv));
}

static void
io_connected(struct io *io)
{
	struct timeval	tv;
	int		err = 0;
	socklen_t	len = sizeof(err);

	if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	io->connecting = false;
	event_del(&io->wr);
	if (err != 0) {
		io->error = err;
		io->cb(io, IO_ERROR, io->arg);
		return;
	}
	io_arm_read(io);
	if (evbuffer_get_length(io->out) > 0)
		event_add(&io->wr, io_tv(io, io->write_ms, &tv));
	io->cb(io, IO_CONNECTED, io->arg);
}

static void
io_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct io	*io = arg;

	if (io->error != 0) {
		event_del(&io->wr);
		io->cb(io, IO_ERROR, io->arg);
		return;
	}
	if (what & EV_TIMEOUT) {
		io->cb(io, IO_TIMEOUT | IO_WRITING, io->arg);
		return;
	}
	if (io->connecting) {
		io_connected(io);
		return;
	}
	if (io_write_now(io) == -1) {
		io->error = errno;
		event_del(&io->wr);
		io->cb(io, IO_ERROR, io->arg);
		return;
	}
	if (io_pending(io) == 0)
		event_del(&io->wr);
	if (io_pending(io) <= io->low_water)
		io->cb(io, IO_DRAINED, io->arg);
}

/* Input reached in_max: stop until the owner has taken some of it. */
static void
io_pause_full(struct io *io)
{
	if (io->full == NULL &&
	    (io->full = evbuffer_add_cb(io->in, io_in_cb, io)) == NULL)
		return;		/* out of memory: keep reading, unbounded */
	io_arm_read(io);
}

/* Reads into the input's free space; the byte count, 0 at EOF or -1. */
static ssize_t
io_recv(struct io *io, size_t want)
{
	struct evbuffer_iovec	vec[2];
	struct iovec		iov[2];
	struct msghdr		msg;
	ssize_t			n;
	size_t			left;
	int			nv;

	if ((nv = evbuffer_reserve_space(io->in, (ev_ssize_t)want, vec, 2))
	    <= 0) {
		errno = ENOMEM;
		return (-1);
	}
	/* the reservation may be larger than asked: read no more than want */
	left = want;
	for (int i = 0; i < nv; i++) {
		iov[i].iov_base = vec[i].iov_base;
		iov[i].iov_len = vec[i].iov_len < left ? vec[i].iov_len : left;
		left -= iov[i].iov_len;
	}
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = (size_t)nv;
	do	/* recv(2), not readv(2): see io_write_buf */
		n = nv == 1 ? recv(io->fd, iov[0].iov_base, iov[0].iov_len, 0) :
		    recvmsg(io->fd, &msg, 0);
	while (n == -1 && errno == EINTR);
	left = n > 0 ? (size_t)n : 0;
	io->nread += left;
	for (int i = 0; i < nv; i++) {
		if (vec[i].iov_len > left)
			vec[i].iov_len = left;
		left -= vec[i].iov_len;
	}
	evbuffer_commit_space(io->in, vec, nv);
	return (n);
}

static void
io_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct io	*io = arg;
	size_t		 total = 0, want, len;
	ssize_t		 n;

	if (io->eof) {			/* met after input, said now */
		if (!io->eof_said) {
			io->eof_said = true;
			io->cb(io, IO_EOF, io->arg);
		}
		return;
	}
	if (what & EV_TIMEOUT) {
		io->cb(io, IO_TIMEOUT | IO_READING, io->arg);
		return;
	}
	if (io->sp != NULL && io->sp->src == io && io->sp->left > 0 &&
	    io_splice_in(io) >= 0)
		return;
	if (io_wake(io) == -1) {
		io->error = ENOMEM;
		io->cb(io, IO_ERROR, io->arg);
		return;
	}
	while (total < IO_READ_MAX) {
		want = IO_CHUNK;
		if (io->in_max > 0) {
			if ((len = evbuffer_get_length(io->in)) >= io->in_max) {
				io_pause_full(io);
				break;
			}
			if (want > io->in_max - len)
				want = io->in_max - len;
		}
		if ((n = io_recv(io, want)) == 0) {
			io->eof = true;
			event_del(&io->rd);
			if (total == 0) {
				io->eof_said = true;
				io->cb(io, IO_EOF, io->arg);
				return;
			}
			event_active(&io->rd, EV_READ, 1);
			break;
		}
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			io->error = errno;
			io->cb(io, IO_ERROR, io->arg);
			return;
		}
		total += (size_t)n;
		if ((size_t)n < want)
			break;		/* the socket is empty for now */
	}
	if (total > 0)
		io->cb(io, IO_READ, io->arg);
}
