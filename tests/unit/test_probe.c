/*
 * test_probe.c — the active prober against a real loopback backend: an
 * expected answer makes a member up, a refusal or an unexpected status
 * takes it down, every change of health reaches the owner through
 * on_change (up as well as down), the request is the configured one, a
 * member in maintenance is not probed, and probes_sync stops the probes of
 * members that left.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "config.h"
#include "pool.h"
#include "probe.h"
#include "snapshot.h"

struct fixture {
	struct event_base	*base;
	char			 path[64];
	struct config		*cf;
	struct snapshot		*s;
	struct probes		*ps;
	int			 lfd;		/* the backend's listener */
	int			 rfd;		/* bound, never listening */
	struct event		*lev;
	unsigned		 port, refused;	/* blue's and green's ports */
	int			 status;	/* what the backend answers */
	char			 req[1024];	/* the last request it read */
	unsigned		 ndown;		/* on_change calls: down */
	unsigned		 ndown_of[POOL_COUNT];	/* of those per pool */
	unsigned		 nup_of[POOL_COUNT];	/* to up, per pool */
	struct member		*down;		/* the last down one */
	void			*down_ctx;
	struct peer		*peers;		/* accepted, not yet answered */
};

struct peer {
	struct fixture		*f;
	int			 fd;
	struct event		*ev;
	struct peer		*next, **prevp;	/* in f->peers */
};

/* Closes and frees p (answered, or left at teardown). */
static void
peer_free(struct peer *p)
{
	if ((*p->prevp = p->next) != NULL)
		p->next->prevp = p->prevp;
	close(p->fd);
	event_free(p->ev);
	free(p);
}

static void
peer_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer	*p = arg;
	char		 resp[128];
	ssize_t		 n;
	int		 len;

	if ((n = read(fd, p->f->req, sizeof(p->f->req) - 1)) < 0)
		n = 0;
	p->f->req[n] = '\0';
	len = snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\n"
	    "Content-Length: 0\r\n\r\n", p->f->status);
	assert_int_equal(write(fd, resp, (size_t)len), len);
	peer_free(p);
}

static void
backend_accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fixture	*f = arg;
	struct peer	*p;
	int		 cfd;

	if ((cfd = accept(fd, NULL, NULL)) == -1)
		return;
	assert_non_null(p = calloc(1, sizeof(*p)));
	p->f = f;
	p->fd = cfd;
	assert_non_null(p->ev = event_new(f->base, cfd, EV_READ, peer_read_cb,
	    p));
	if ((p->next = f->peers) != NULL)
		f->peers->prevp = &p->next;
	f->peers = p;
	p->prevp = &f->peers;
	event_add(p->ev, NULL);
}

/* A loopback socket bound to a free port; listening or not. */
static int
loopback_socket(unsigned *port, bool listening)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET };
	socklen_t		len = sizeof(sin);
	int			fd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) >=
	    0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	if (listening)
		assert_int_equal(listen(fd, 16), 0);
	return (fd);
}

static struct config *
load(struct fixture *f, const char *text)
{
	FILE		*fp;
	struct config	*cf;
	char		 err[512];

	assert_non_null(fp = fopen(f->path, "w"));
	fputs(text, fp);
	fclose(fp);
	if ((cf = config_load(f->path, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	return (cf);
}

static void
on_change(void *ctx, struct member *m)
{
	struct fixture	*f = ctx;

	if (m->health == HEALTH_UP)
		f->nup_of[m->pool]++;
	if (m->health != HEALTH_DOWN)
		return;
	f->ndown++;
	f->ndown_of[m->pool]++;
	f->down = m;
	f->down_ctx = ctx;
}

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));
	char		 text[1024];
	int		 fd;

	assert_non_null(f);
	assert_non_null(f->base = event_base_new());
	snprintf(f->path, sizeof(f->path), "/tmp/test_probe.XXXXXX");
	assert_true((fd = mkstemp(f->path)) != -1);
	close(fd);
	f->lfd = loopback_socket(&f->port, true);
	/* bound, never listening: connecting is refused, and no one else
	 * can take the port while the test runs */
	f->rfd = loopback_socket(&f->refused, false);
	f->status = 200;
	assert_non_null(f->lev = event_new(f->base, f->lfd,
	    EV_READ | EV_PERSIST, backend_accept_cb, f));
	event_add(f->lev, NULL);
	snprintf(text, sizeof(text), "pools = { blue = { members = "
	    "[ \"127.0.0.1:%u\" ]; }; green = { members = "
	    "[ \"127.0.0.1:%u\" ]; }; };\n"
	    "health = { path = \"/hz\"; host = \"app.test\"; "
	    "interval_ms = 20; timeout_ms = 1000; rise = 1; fall = 1; "
	    "expect = \"200-299\"; };\n", f->port, f->refused);
	f->cf = load(f, text);
	assert_non_null(f->s = snapshot_build(f->cf, NULL, POOL_BLUE));
	assert_non_null(f->ps = probes_new(f->base, on_change, f));
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	probes_free(f->ps);
	/* connections the probes made that the loop never got to answer */
	while (f->peers != NULL)
		peer_free(f->peers);
	snapshot_unref(f->s);
	config_free(f->cf);
	event_free(f->lev);
	close(f->lfd);
	close(f->rfd);
	event_base_free(f->base);
	unlink(f->path);
	free(f);
	return (0);
}

static struct member *
blue(struct fixture *f)
{
	return (f->s->pools[POOL_BLUE]->members[0]);
}

static struct member *
green(struct fixture *f)
{
	return (f->s->pools[POOL_GREEN]->members[0]);
}

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Runs the loop until m's health is h, or ms pass; whether it is. */
static bool
run_until(struct fixture *f, struct member *m, enum member_health h,
    long ms)
{
	long	end = now_ms() + ms;

	while (m->health != h && now_ms() < end)
		event_base_loop(f->base, EVLOOP_ONCE);
	return (m->health == h);
}

static void
test_probe_expected_answer_makes_member_up(void **state)
{
	struct fixture	*f = *state;

	probes_sync(f->ps, f->s);
	assert_true(run_until(f, blue(f), HEALTH_UP, 3000));
	assert_string_equal(blue(f)->last, "200");
	assert_non_null(strstr(f->req, "GET /hz HTTP/1.1\r\n"));
	assert_non_null(strstr(f->req, "\r\nHost: app.test\r\n"));
	assert_non_null(strstr(f->req, "\r\nUser-Agent: cutover-health\r\n"));
	assert_non_null(strstr(f->req, "\r\nConnection: close\r\n"));
	/* unknown -> up reaches the owner too (it ends a panic) */
	assert_int_equal(f->nup_of[POOL_BLUE], 1);
}

static void
test_probe_refused_takes_member_down_and_tells_owner(void **state)
{
	struct fixture	*f = *state;
	unsigned	 streak;

	probes_sync(f->ps, f->s);
	assert_true(run_until(f, green(f), HEALTH_DOWN, 3000));
	assert_int_equal(f->ndown, 1);
	assert_int_equal(f->ndown_of[POOL_GREEN], 1);
	assert_ptr_equal(f->down, green(f));
	assert_ptr_equal(f->down_ctx, f);
	assert_string_equal(green(f)->last, "connection refused");
	/* still down: told once, on the transition */
	streak = green(f)->fail_streak;
	while (green(f)->fail_streak < streak + 3)
		event_base_loop(f->base, EVLOOP_ONCE);
	assert_int_equal(f->ndown, 1);
}

static void
test_probe_unexpected_status_takes_member_down(void **state)
{
	struct fixture	*f = *state;

	f->status = 503;
	probes_sync(f->ps, f->s);
	assert_true(run_until(f, blue(f), HEALTH_DOWN, 3000));
	assert_string_equal(blue(f)->last, "503 not expected");
	assert_int_equal(f->ndown_of[POOL_BLUE], 1);
	f->status = 204;		/* in 200-299: back with rise 1 */
	assert_true(run_until(f, blue(f), HEALTH_UP, 3000));
	assert_int_equal(f->nup_of[POOL_BLUE], 1);
}

static void
test_probe_member_in_maintenance_is_not_probed(void **state)
{
	struct fixture	*f = *state;

	member_set_admin(blue(f), MEMBER_MAINT);
	probes_sync(f->ps, f->s);
	/* green's probes show time passing: several rounds of them */
	assert_true(run_until(f, green(f), HEALTH_DOWN, 3000));
	while (green(f)->fail_streak < 5)
		event_base_loop(f->base, EVLOOP_ONCE);
	assert_int_equal(blue(f)->health, HEALTH_UNKNOWN);
	assert_string_equal(blue(f)->last, "none yet");
	assert_string_equal(f->req, "");
}

static void
test_probe_sync_stops_probes_of_members_gone(void **state)
{
	struct fixture	*f = *state;
	struct config	*cf;
	struct snapshot	*s;
	char		 text[512];
	unsigned	 port;
	int		 fd = loopback_socket(&port, false);

	probes_sync(f->ps, f->s);
	assert_non_null(blue(f)->probe);
	assert_non_null(green(f)->probe);
	/* blue keeps its member (and its probe), green's is replaced */
	snprintf(text, sizeof(text), "pools = { blue = { members = "
	    "[ \"127.0.0.1:%u\" ]; }; green = { members = "
	    "[ \"127.0.0.1:%u\" ]; }; };\n"
	    "health = { interval_ms = 20; rise = 1; };\n", f->port, port);
	cf = load(f, text);
	assert_non_null(s = snapshot_build(cf, f->s, POOL_BLUE));
	config_free(cf);
	probes_sync(f->ps, s);
	assert_ptr_equal(s->pools[POOL_BLUE]->members[0], blue(f));
	assert_non_null(blue(f)->probe);
	assert_null(green(f)->probe);
	assert_non_null(s->pools[POOL_GREEN]->members[0]->probe);
	/* the new settings apply: the default path, not /hz */
	assert_true(run_until(f, blue(f), HEALTH_UP, 3000));
	assert_non_null(strstr(f->req, "GET / HTTP/1.1\r\n"));
	probes_sync(f->ps, f->s);		/* back, before s goes */
	snapshot_unref(s);
	close(fd);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_probe_expected_answer_makes_member_up),
		T(test_probe_refused_takes_member_down_and_tells_owner),
		T(test_probe_unexpected_status_takes_member_down),
		T(test_probe_member_in_maintenance_is_not_probed),
		T(test_probe_sync_stops_probes_of_members_gone),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
