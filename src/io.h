/*
 * io.h — one non-blocking stream socket with an input and an output buffer:
 * what a libevent bufferevent does, cut to what the proxy's hot path needs
 * and without its per-request system calls.
 * Layer 0 (leaf): no project header beyond layer 0.
 *
 * - Output is written at once by io_flush(), head and body in one writev;
 *   EV_WRITE is armed only while the socket would block.
 * - Input is read with readv straight into the input buffer's free space,
 *   up to IO_READ_MAX bytes per readiness and without FIONREAD.
 * - Both events are embedded: an io allocates only its two evbuffers,
 *   and not even those while it rests (io_rest).
 *
 * The owner's callback is told what happened (IO_* flags).  io_flush()
 * never calls it, so it is safe anywhere; an error it meets is reported
 * from the event loop.
 */
#ifndef CUTOVER_IO_H
#define CUTOVER_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#define IO_READ_MAX	(64 * 1024)	/* bytes read per readiness, at most */
#define IO_SPLICE_MAX	(256 * 1024)	/* spliced per readiness, at most */

enum {
	IO_READ		= 0x01,		/* new input */
	IO_DRAINED	= 0x02,		/* output at or below the low-water mark */
	IO_EOF		= 0x04,		/* the peer closed its side */
	IO_ERROR	= 0x08,		/* io->error says why */
	IO_TIMEOUT	= 0x10,		/* with IO_READING or IO_WRITING */
	IO_CONNECTED	= 0x20,
	IO_READING	= 0x40,
	IO_WRITING	= 0x80,
};

struct io;
struct io_splice;
typedef void (*io_cb)(struct io *io, int what, void *arg);

struct io {
	evutil_socket_t		 fd;
	struct event		 rd, wr;
	struct evbuffer		*in, *out;
	io_cb			 cb;
	void			*arg;
	unsigned		 read_ms;	/* 0: no read timeout */
	unsigned		 write_ms;	/* 0: no write timeout */
	unsigned		 in_max;	/* stop reading at (0: none) */
	unsigned		 low_water;	/* IO_DRAINED at or below */
	int			 error;		/* errno of IO_ERROR */
	bool			 reading;	/* the owner wants input */
	bool			 connecting;
	bool			 eof;		/* read side done */
	bool			 eof_said;	/* IO_EOF delivered */
	struct evbuffer_cb_entry *full;		/* input reached in_max */
	struct io_splice	*sp;		/* a pipe to or from (io_splice) */
	uint64_t		 nread;		/* bytes read; owner may reset */
	uint64_t		 nwritten;	/* bytes written; likewise */
};

/*
 * Sets io up on socket fd, which it owns from now on (io_close closes it),
 * reading nothing yet.  Returns 0, or -1 when out of memory (fd still the
 * caller's then).
 */
int	io_init(struct io *io, struct event_base *base, evutil_socket_t fd,
	    io_cb cb, void *arg);

/*
 * Connects a new non-blocking socket to sa; IO_CONNECTED or IO_ERROR (or
 * IO_TIMEOUT|IO_WRITING after ms) follows.  Returns 0, or -1 with errno set
 * when the attempt failed at once (io is then not set up).
 */
int	io_connect(struct io *io, struct event_base *base,
	    const struct sockaddr *sa, socklen_t salen, unsigned ms,
	    io_cb cb, void *arg);

/* Closes the socket and frees the buffers; io_close of a zeroed io is a
 * no-op. */
void	io_close(struct io *io);

/*
 * Gives both buffers up when they are empty and nothing waits to be
 * written (an idle keep-alive connection), and returns true; false when
 * they hold bytes.  They go to the calling thread's few spares, which the
 * next io_wake() or io_init() takes, or are freed.  While io rests io->in and io->out are NULL: io_pending() and
 * io_flush() take that as empty, and the read event takes the buffers
 * back (io_wake) before it reads, so the owner's IO_READ finds them; an
 * owner that wants to queue output first calls io_wake() itself.
 */
bool	io_rest(struct io *io);

/* Gives a resting io its buffers back: 0, or -1 when out of memory. */
int	io_wake(struct io *io);

/* Frees the calling thread's spare buffers (io_rest keeps a few), at the
 * thread's exit. */
void	io_spares_free(void);

void	io_setcb(struct io *io, io_cb cb, void *arg);

/* Starts or stops reading. */
void	io_read(struct io *io, bool on);

/* Sets the read and write inactivity timeouts (0: none). */
void	io_timeouts(struct io *io, unsigned read_ms, unsigned write_ms);

/* Writes what the output holds now; arms EV_WRITE for what is left. */
void	io_flush(struct io *io);

/*
 * The timeval to arm an event of base with for ms (NULL for 0): one of
 * libevent's common timeouts when it can, else tv filled in.
 */
const struct timeval *io_timeval(struct event_base *base, unsigned ms,
	    struct timeval *tv);

/* Forgets base's common timeouts; call before event_base_free(base). */
void	io_forget(const struct event_base *base);

/* Output bytes not yet written. */
size_t	io_pending(const struct io *io);

/*
 * Moves n bytes from the front of src to the end of dst, and returns 0, or
 * -1 when out of memory.  Bytes that arrived in small reads are copied
 * (into dst's last chain), not moved: each read has a chain of up to 32
 * KiB to itself, and moving a 1-byte chain to an output that does not
 * drain would hold 32 KiB for one byte.  What is moved averages at least
 * IO_MOVE_MIN bytes a chain, so an output's memory stays within four
 * times the bytes it holds.
 */
int	io_move(struct evbuffer *dst, struct evbuffer *src, size_t n);

#define IO_MOVE_MIN	8192

/*
 * Splicing: the next n bytes of src's input go to dst's output through a
 * pipe, in the kernel (splice(2)), never through src's input buffer.  What
 * dst's output holds now is written first, then the pipe, then what is
 * added after.  Returns 0, or -1 when no pipe is to be had (the bytes are
 * then read as usual): the per-thread limit of IO_PIPES_MAX is reached, a
 * descriptor limit, src or dst already splices, or splice(2) proved not
 * supported.  src must hold no input.  The pipe is given back (to a small
 * per-thread cache) once its bytes are written, or when either side closes.
 *
 * The owner learns what moved with io_spliced(src), which it must call
 * before it parses src's input: src then reads as usual for what follows
 * the n bytes.  A pipe that cannot take more stops src's reading until dst
 * writes.  EINVAL or ENOSYS from splice(2) ends splicing for the thread's
 * life, and the rest is read as usual.  io_pending(dst) counts the pipe's
 * bytes, so the owner's backpressure holds as for buffered ones.
 */
int	io_splice(struct io *src, struct io *dst, uint64_t n);

/* Bytes io_splice() moved from src since the last call (0 when none). */
uint64_t io_spliced(struct io *src);

#define IO_PIPES_MAX	64		/* pipes one thread holds, at most */
#define IO_PIPES_CACHE	8		/* of which idle, kept for reuse */
#define IO_PIPE_SIZE	(512 * 1024)	/* F_SETPIPE_SZ, when allowed */

/* Closes the calling thread's cached pipes (at its exit). */
void	io_pipes_free(void);

/*
 * Whether the calling thread caches pipes as they are given back (it does
 * until told otherwise).  Off (upstream.splice turned off by a reload)
 * closes the cached ones now and each one in use as its body ends, so
 * that no pipe outlives the bodies spliced before: fdlimit no longer
 * counts them.
 */
void	io_pipes_keep(bool keep);

/* Half-closes the write side. */
void	io_shutdown(struct io *io);

#endif
