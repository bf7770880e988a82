/*
 * test_io.c — the proxy's buffered sockets: output written at once and
 * EV_WRITE armed only while the socket would block, input then EOF, the
 * input cap and its resumption, timeouts, a refused connect, and bodies
 * spliced through a pipe.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "io.h"

struct fixture {
	struct event_base	*base;
	struct io		 io;
	int			 peer;		/* the other end of io's socket */
	int			 what[64];	/* callbacks, in order */
	unsigned		 n;
};

static void
record_cb(struct io *io, int what, void *arg)
{
	struct fixture	*f = arg;

	if (f->n < 64)
		f->what[f->n++] = what;
}

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));
	int		 sv[2];

	assert_non_null(f);
	assert_non_null(f->base = event_base_new());
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	assert_int_equal(io_init(&f->io, f->base, sv[0], record_cb, f), 0);
	f->peer = sv[1];
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	io_close(&f->io);
	if (f->peer != -1)
		close(f->peer);
	io_pipes_free();
	io_forget(f->base);
	event_base_free(f->base);
	free(f);
	return (0);
}

static void
expired_cb(evutil_socket_t fd, short what, void *arg)
{
	*(bool *)arg = true;
}

/* Runs the loop until a callback arrives or ms pass; the callbacks seen. */
static unsigned
run_for(struct fixture *f, unsigned ms)
{
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };
	struct event	*t;
	bool		 expired = false;
	unsigned	 n0 = f->n;

	assert_non_null(t = evtimer_new(f->base, expired_cb, &expired));
	evtimer_add(t, &tv);
	while (f->n == n0 && !expired)
		event_base_loop(f->base, EVLOOP_ONCE);
	event_free(t);
	return (f->n - n0);
}

#define run_until_callback(f)	run_for((f), 2000)
#define run_expecting_none(f)	run_for((f), 200)

static void
test_io_flush_writes_at_once_without_arming_write(void **state)
{
	struct fixture	*f = *state;
	char		 buf[16];

	evbuffer_add(f->io.out, "hello", 5);
	io_flush(&f->io);
	assert_int_equal(io_pending(&f->io), 0);
	assert_false(event_pending(&f->io.wr, EV_WRITE, NULL));
	assert_int_equal(read(f->peer, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(f->n, 0);	/* flushing says nothing */
}

static void
test_io_flush_arms_write_while_blocked_then_drains(void **state)
{
	struct fixture	*f = *state;
	static char	 chunk[65536], sink[65536];
	unsigned	 rounds = 0;

	for (int i = 0; i < 64; i++)		/* 4 MiB: more than fits */
		evbuffer_add(f->io.out, chunk, sizeof(chunk));
	io_flush(&f->io);
	assert_true(io_pending(&f->io) > 0);
	assert_true(event_pending(&f->io.wr, EV_WRITE, NULL));
	while (io_pending(&f->io) > 0 && rounds++ < 10000) {
		while (read(f->peer, sink, sizeof(sink)) > 0)
			;
		event_base_loop(f->base, EVLOOP_NONBLOCK);
	}
	assert_int_equal(io_pending(&f->io), 0);
	assert_false(event_pending(&f->io.wr, EV_WRITE, NULL));
	assert_true(f->n > 0);
	assert_int_equal(f->what[f->n - 1], IO_DRAINED);
}

static void
test_io_read_delivers_input_then_eof(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(write(f->peer, "abc", 3), 3);
	shutdown(f->peer, SHUT_WR);
	io_read(&f->io, true);
	assert_int_equal(run_until_callback(f), 1);
	assert_int_equal(f->what[0], IO_READ);
	assert_int_equal(evbuffer_get_length(f->io.in), 3);
	assert_int_equal(run_until_callback(f), 1);
	assert_int_equal(f->what[1], IO_EOF);
	/* EOF is said once */
	assert_int_equal(run_expecting_none(f), 0);
}

static void
test_io_reads_nothing_while_stopped(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(write(f->peer, "abc", 3), 3);
	assert_int_equal(run_expecting_none(f), 0);
	assert_int_equal(evbuffer_get_length(f->io.in), 0);
	io_read(&f->io, true);
	assert_int_equal(run_until_callback(f), 1);
	assert_int_equal(evbuffer_get_length(f->io.in), 3);
}

static void
test_io_in_max_stops_reading_until_input_is_taken(void **state)
{
	struct fixture	*f = *state;
	char		 data[32];

	memset(data, 'x', sizeof(data));
	f->io.in_max = 8;
	assert_int_equal(write(f->peer, data, sizeof(data)), 32);
	io_read(&f->io, true);
	assert_int_equal(run_until_callback(f), 1);
	assert_int_equal(evbuffer_get_length(f->io.in), 8);
	/* full: the rest waits in the socket */
	assert_int_equal(run_expecting_none(f), 0);
	assert_int_equal(evbuffer_get_length(f->io.in), 8);
	evbuffer_drain(f->io.in, 8);		/* the owner takes it */
	assert_int_equal(run_until_callback(f), 1);
	assert_int_equal(evbuffer_get_length(f->io.in), 8);
}

static void
test_io_read_timeout_is_reported(void **state)
{
	struct fixture	*f = *state;

	io_timeouts(&f->io, 50, 0);
	io_read(&f->io, true);
	assert_int_equal(run_until_callback(f), 1);
	assert_int_equal(f->what[0], IO_TIMEOUT | IO_READING);
}

static void
test_io_connect_refused_is_an_error(void **state)
{
	struct fixture		*f = *state;
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	struct io		 c;
	int			 fd;

	/* a loopback port nobody listens on: bound, then closed */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_not_equal(fd = socket(AF_INET, SOCK_STREAM, 0), -1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	if (io_connect(&c, f->base, (struct sockaddr *)&sin, sizeof(sin),
	    1000, record_cb, f) == -1) {
		assert_int_equal(errno, ECONNREFUSED);
		return;
	}
	assert_int_equal(run_until_callback(f), 1);
	assert_int_equal(f->what[0], IO_ERROR);
	assert_int_equal(c.error, ECONNREFUSED);
	io_close(&c);
}

/* A second io, the destination of a splice, and its peer. */
static int
dst_open(struct fixture *f, struct io *d)
{
	int	sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	assert_int_equal(io_init(d, f->base, sv[0], record_cb, f), 0);
	return (sv[1]);
}

/* What fd has to read now, up to len bytes, NUL-terminated. */
static size_t
drain_text(int fd, char *buf, size_t len)
{
	ssize_t	n;
	size_t	got = 0;

	while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	return (got);
}

static void
test_io_splice_moves_exactly_n_then_reads_as_usual(void **state)
{
	struct fixture	*f = *state;
	struct io	 d;
	char		 buf[64];
	int		 dp = dst_open(f, &d);

	evbuffer_add(d.out, "HEAD|", 5);	/* queued before the pipe */
	assert_int_equal(io_splice(&f->io, &d, 10), 0);
	assert_int_equal(io_splice(&f->io, &d, 10), -1);	/* one at once */
	assert_int_equal(write(f->peer, "0123456789NEXT", 14), 14);
	io_read(&f->io, true);
	assert_int_equal(run_until_callback(f), 1);
	assert_int_equal(f->what[0], IO_READ);
	assert_int_equal(evbuffer_get_length(f->io.in), 0);
	assert_int_equal(io_pending(&d), 15);	/* the pipe's bytes count */
	assert_int_equal(io_spliced(&f->io), 10);
	assert_null(f->io.sp);			/* done: src reads as usual */
	assert_int_equal(io_spliced(&f->io), 0);
	assert_int_equal(run_until_callback(f), 1);
	assert_int_equal(evbuffer_get_length(f->io.in), 4);	/* NEXT */
	evbuffer_add(d.out, "|TAIL", 5);	/* queued after the pipe */
	io_flush(&d);
	assert_int_equal(io_pending(&d), 0);
	assert_null(d.sp);			/* written: given back */
	assert_int_equal(drain_text(dp, buf, sizeof(buf)), 20);
	assert_string_equal(buf, "HEAD|0123456789|TAIL");
	assert_int_equal(f->io.nread, 14);
	assert_int_equal(d.nwritten, 20);
	io_close(&d);
	close(dp);
}

/*
 * What waits in the socket is spliced in rounds of IO_SPLICE_MAX, not
 * IO_READ_MAX: a round costs an epoll_wait and a splice each way, and
 * moves page references, not bytes.  Only a pipe that may grow to
 * IO_PIPE_SIZE holds that much (fs.pipe-max-size); a smaller one is
 * filled instead.
 */
static void
test_io_splice_takes_more_than_a_read_per_readiness(void **state)
{
	struct fixture	*f = *state;
	struct io	 d;
	static char	 chunk[16384];
	size_t		 written = 0;
	ssize_t		 n;
	int		 dp = dst_open(f, &d), pp[2];
	bool		 big;

	assert_int_equal(pipe(pp), 0);
	big = fcntl(pp[1], F_SETPIPE_SZ, IO_PIPE_SIZE) >= IO_PIPE_SIZE;
	close(pp[0]);
	close(pp[1]);
	assert_int_equal(io_splice(&f->io, &d, 1024 * 1024), 0);
	memset(chunk, 'x', sizeof(chunk));
	while (written < IO_SPLICE_MAX - sizeof(chunk) &&
	    (n = write(f->peer, chunk, sizeof(chunk))) > 0)
		written += (size_t)n;
	assert_true(written > IO_READ_MAX);	/* the socket held that */
	io_read(&f->io, true);
	assert_int_equal(run_until_callback(f), 1);
	assert_int_equal(f->what[0], IO_READ);
	if (big)
		assert_int_equal(io_spliced(&f->io), written);
	else
		assert_true(io_spliced(&f->io) > 0);
	io_close(&d);
	close(dp);
}

static void
test_io_splice_ends_when_the_destination_closes(void **state)
{
	struct fixture	*f = *state;
	struct io	 d;
	int		 dp = dst_open(f, &d);

	assert_int_equal(io_splice(&f->io, &d, 100), 0);
	assert_int_equal(write(f->peer, "abcd", 4), 4);
	io_read(&f->io, true);
	assert_int_equal(run_until_callback(f), 1);
	assert_int_equal(io_spliced(&f->io), 4);
	assert_non_null(f->io.sp);		/* 96 bytes still to come */
	io_close(&d);				/* the pipe goes with it */
	assert_null(f->io.sp);
	assert_int_equal(io_spliced(&f->io), 0);
	assert_int_equal(write(f->peer, "efgh", 4), 4);
	assert_int_equal(run_until_callback(f), 1);
	assert_int_equal(evbuffer_get_length(f->io.in), 4);	/* as usual */
	close(dp);
}

static void
test_io_splice_says_eof_mid_body(void **state)
{
	struct fixture	*f = *state;
	struct io	 d;
	int		 dp = dst_open(f, &d);

	assert_int_equal(io_splice(&f->io, &d, 100), 0);
	assert_int_equal(write(f->peer, "abcd", 4), 4);
	shutdown(f->peer, SHUT_WR);
	io_read(&f->io, true);
	assert_int_equal(run_until_callback(f), 1);
	assert_int_equal(f->what[0], IO_READ);
	assert_int_equal(io_spliced(&f->io), 4);
	assert_int_equal(run_until_callback(f), 1);
	assert_int_equal(f->what[1], IO_EOF);
	io_close(&f->io);			/* the source goes first */
	assert_int_equal(io_pending(&d), 4);	/* d still writes them */
	io_flush(&d);
	assert_int_equal(io_pending(&d), 0);
	assert_null(d.sp);
	io_close(&d);
	close(dp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_io_flush_writes_at_once_without_arming_write,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_io_flush_arms_write_while_blocked_then_drains,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_io_read_delivers_input_then_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_io_reads_nothing_while_stopped, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_io_in_max_stops_reading_until_input_is_taken,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_io_read_timeout_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_io_connect_refused_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_io_splice_moves_exactly_n_then_reads_as_usual,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_io_splice_takes_more_than_a_read_per_readiness,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_io_splice_ends_when_the_destination_closes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_io_splice_says_eof_mid_body, setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
