/*
 * main.c — command line, start-up and the event loop.  Layer 4 (front
 * end): it makes the root (cutover.h), opens the admin sockets that speak
 * to it, starts it, and frees them in the reverse order.
 */
#include "autoconf.h"

#include <event2/event.h>
#include <grp.h>
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
#include "http.h"
#include "io.h"
#include "log.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: cutover [-t] [-c FILE]\n"
	    "       cutover -h | -V\n"
	    "\n"
	    "A reverse proxy for blue/green releases.\n"
	    "\n"
	    "  -c FILE  configuration file (default %s/cutover.conf)\n"
	    "  -t       check the configuration and exit: 0 if valid,\n"
	    "           1 with FILE:LINE: message if not\n"
	    "  -h       show this help\n"
	    "  -V       show the version\n"
	    "\n"
	    "Runs in the foreground and logs to stderr, serving clients with\n"
	    "`workers` threads (default: one per CPU it may use). SIGHUP\n"
	    "reloads the configuration. SIGTERM or SIGINT makes it not ready,\n"
	    "serves on for shutdown.delay_ms, then drains and exits (a second\n"
	    "one exits at once). Control it with cutoverctl(8).\n",
	    SYSCONFDIR);
}

static int
check_config(const char *path)
{
	char		 err[1024];
	struct config	*cf;

	if ((cf = config_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return (1);
	}
	/* the group is looked up when the socket is made; -t checks it too */
	if (cf->admin_socket_group != NULL &&
	    getgrnam(cf->admin_socket_group) == NULL) {
		fprintf(stderr, "%s: admin.socket_group: no group named '%s'\n",
		    path, cf->admin_socket_group);
		config_free(cf);
		return (1);
	}
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
	return (0);
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
	bool			 test = false;
	struct event_base	*base;
	struct cutover		*cx = NULL;
	struct admin		*admin = NULL, *readonly = NULL;
	struct admin_http	*http = NULL;
	char			 err[1024];
	int			 ch;

	while ((ch = getopt(argc, argv, "c:thV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test = true;
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
	if (optind != argc) {
		usage(stderr);
		return (2);
	}
	if (test)
		return (check_config(path));
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
