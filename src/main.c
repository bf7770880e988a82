/*
 * main.c — command line, start-up and the event loop.  Layer 4 (front
 * end): it makes the root (cutover.h), opens the admin sockets that speak
 * to it, starts it, and frees them in the reverse order.
 */
#include "autoconf.h"

#include <event2/event.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accesslog.h"
#include "admin.h"
#include "admin_http.h"
#include "config.h"
#include "conn.h"
#include "cutover.h"
#include "fdlimit.h"
#include "http.h"
#include "io.h"
#include "listen.h"
#include "log.h"
#include "worker.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: cutover [-t [-b] | -T] [-c FILE]\n"
	    "       cutover -h | -V\n"
	    "\n"
	    "A reverse proxy for blue/green releases.\n"
	    "\n"
	    "  -c FILE  configuration file (default %s/cutover.conf)\n"
	    "  -t       check the configuration and exit: 0 if valid,\n"
	    "           1 with FILE:LINE: message if not; also binds the\n"
	    "           listen addresses and admin.http where that needs no\n"
	    "           privilege, and says which it did; warns when the\n"
	    "           file descriptor limit is below what it needs\n"
	    "  -b       with -t: try binding every address, low ports too\n"
	    "  -T       print the effective configuration (every setting,\n"
	    "           defaults filled in) in the file's syntax and exit\n"
	    "  -h       show this help\n"
	    "  -V       show the version\n"
	    "\n"
	    "Runs in the foreground and logs to stderr, serving clients with\n"
	    "`workers` threads (default: one per CPU it may use) beside a\n"
	    "control thread for the admin socket and probes. SIGHUP\n"
	    "reloads the configuration. SIGTERM or SIGINT makes it not ready,\n"
	    "serves on for shutdown.delay_ms, then drains and exits (a second\n"
	    "one exits at once). Control it with cutoverctl(8). At start it\n"
	    "raises its soft RLIMIT_NOFILE to what limits.max_connections\n"
	    "needs (cutover(8), Limits).\n",
	    SYSCONFDIR);
}

/*
 * Binds a (the setting key) for -t, unless that needs a privilege we lack
 * and force is not set.  Says what it did; -1 when the bind failed in a
 * way a start would too.  A port in use is only a warning: it is most
 * likely the running cutover's, which a reload keeps.
 */
static int
check_bind(const char *path, const char *key, const struct addr *a,
    bool force)
{
	int	e;

	if (!force && listen_needs_privilege(a)) {
		printf("%s:%u: %s: %s: not bound (a port below 1024 needs "
		    "privileges; -b tries)\n", path, a->line, key, a->text);
		return (0);
	}
	if ((e = listen_try(a)) == 0) {
		printf("%s:%u: %s: %s: bound\n", path, a->line, key, a->text);
		return (0);
	}
	if (e == EADDRINUSE) {
		fprintf(stderr, "%s:%u: %s: warning: %s: %s (fine if the "
		    "running cutover holds it; a start would fail)\n", path,
		    a->line, key, a->text, strerror(e));
		return (0);
	}
	fprintf(stderr, "%s:%u: %s: cannot bind %s: %s\n", path, a->line, key,
	    a->text, strerror(e));
	return (-1);
}

/*
 * For -t: the descriptors cf needs against RLIMIT_NOFILE as a start would
 * raise it (fdlimit.h).  Too few is a warning, as at start, not an error.
 */
static void
check_fdlimit(const char *path, const struct config *cf)
{
	struct fdlimit_need	 need;
	struct fdlimit		 f;
	char			 why[128], msg[1024];
	unsigned		 n = cf->workers;

	if (n == 0)
		n = workers_auto(why, sizeof(why));
	fdlimit_need(cf, n, &need);
	if (fdlimit_raise(&need, false, &f) == -1) {
		fprintf(stderr, "%s: warning: file descriptors: %s\n", path,
		    strerror(errno));
		return;
	}
	printf("%s: file descriptors: %llu needed%s, soft limit %llu at "
	    "start (now %llu, hard %llu)\n", path,
	    (unsigned long long)need.total, need.bounded ? "" :
	    " without limits.max_connections", (unsigned long long)f.soft,
	    (unsigned long long)f.was, (unsigned long long)f.hard);
	if (fdlimit_warning(&f, msg, sizeof(msg)))
		fprintf(stderr, "%s: warning: %s\n", path, msg);
}

/* -t and -T: loads path and checks it, or prints it. */
static int
check_config(const char *path, bool force_bind, bool print)
{
	char		 err[1024], key[32];
	struct config	*cf;
	int		 rc = 0;

	if ((cf = config_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return (1);
	}
	if (print) {
		config_print(cf, stdout);
		config_free(cf);
		return (fflush(stdout) == 0 ? 0 : 1);
	}
	for (size_t i = 0; i < cf->nlisten; i++) {
		snprintf(key, sizeof(key), "listen[%zu]", i);
		if (check_bind(path, key, &cf->listen[i], force_bind) == -1)
			rc = 1;
	}
	if (cf->admin_http != NULL && check_bind(path, "admin.http",
	    cf->admin_http, force_bind) == -1)
		rc = 1;
	if (rc != 0) {
		config_free(cf);
		return (rc);
	}
	check_fdlimit(path, cf);
	/* a dns name is not looked up here: its members are not known */
	printf("%s: configuration ok (active %s", path, pool_name(cf->active));
	for (int i = 0; i < POOL_COUNT; i++) {
		printf(", %s ", pool_name((enum pool_id)i));
		if (cf->pools[i].nmembers > 0 || cf->pools[i].dns == NULL)
			printf("%zu member(s)%s", cf->pools[i].nmembers,
			    cf->pools[i].dns != NULL ? " and " : "");
		if (cf->pools[i].dns != NULL)
			printf("dns %s", cf->pools[i].dns);
	}
	printf(")\n");
	config_free(cf);
	return (rc);
}

/*
 * Opens the admin socket, and the read-only one and the HTTP listener when
 * configured, before any worker thread runs (admin_new sets the umask
 * around bind).
 */
static int
main_admin(struct cutover *cx, struct admin **admin, struct admin **readonly,
    struct admin_http **http, char *err, size_t errlen)
{
	const struct config	*cf = cutover_config(cx);

	if ((*admin = admin_new(cx, cf->admin_socket, cf->admin_socket_mode,
	    cf->admin_socket_group, ADMIN_ACCESS_FULL, err, errlen)) == NULL)
		return (-1);
	log_info("admin socket %s", cf->admin_socket);
	if (cf->admin_readonly_socket != NULL &&
	    (*readonly = admin_new(cx, cf->admin_readonly_socket,
	    cf->admin_socket_mode, cf->admin_socket_group,
	    ADMIN_ACCESS_READONLY, err, errlen)) == NULL)
		return (-1);
	if (cf->admin_http != NULL &&
	    (*http = admin_http_new(cx, cf->admin_http, err, errlen)) == NULL)
		return (-1);
	return (0);
}

int
main(int argc, char *argv[])
{
	const char		*path = SYSCONFDIR "/cutover.conf";
	bool			 test = false, print = false, force = false;
	struct event_base	*base;
	struct cutover		*cx = NULL;
	struct admin		*admin = NULL, *readonly = NULL;
	struct admin_http	*http = NULL;
	char			 err[1024];
	int			 ch;

	while ((ch = getopt(argc, argv, "bc:tThV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test = true;
			break;
		case 'T':
			print = true;
			break;
		case 'b':
			force = true;
			break;
		case 'h':
			usage(stdout);
			return (0);
		case 'V':
			printf("cutover %s\n", PACKAGE_VERSION);
			return (0);
		default:
			usage(stderr);
			return (2);
		}
	}
	/* -b only means something to -t; -T prints without checking */
	if (optind != argc || (force && !test) || (test && print)) {
		usage(stderr);
		return (2);
	}
	if (test || print)
		return (check_config(path, force, print));
	/* a peer that goes away must cost an error, not the process */
	signal(SIGPIPE, SIG_IGN);
	/* no EPOLL_USE_CHANGELIST: a change deferred to the next loop could
	 * reach a descriptor number that another worker has reused */
	if ((base = event_base_new()) == NULL)
		fatal("cannot create the event loop");
	/* before any worker runs; idle (a thread blocked in read) while
	 * log.access is off, so a reload can turn it on */
	if (accesslog_open(err, sizeof(err)) == -1 ||
	    (cx = cutover_new(base, path, err, sizeof(err))) == NULL ||
	    main_admin(cx, &admin, &readonly, &http, err, sizeof(err)) == -1 ||
	    cutover_start(cx, err, sizeof(err)) == -1) {
		fprintf(stderr, "cutover: %s\n", err);
		admin_http_free(http);
		admin_free(readonly);
		admin_free(admin);
		cutover_free(cx);
		accesslog_close();
		io_forget(base);
		event_base_free(base);
		return (1);
	}
	event_base_dispatch(base);
	log_info("exiting");
	admin_http_free(http);
	admin_free(readonly);
	admin_free(admin);
	cutover_free(cx);
	/* lookups cancelled on the way out free themselves from callbacks
	 * the loop runs (dns.h); nothing else is left to run */
	event_base_loop(base, EVLOOP_NONBLOCK);
	accesslog_close();
	io_forget(base);
	event_base_free(base);
	conn_cache_free();
	http_hdrs_cache_free();
	return (0);
}
