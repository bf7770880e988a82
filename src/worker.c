/*
 * worker.c — event-loop threads, jobs for them and posts from them.
 */
#include "autoconf.h"

#include <errno.h>
#include <limits.h>
#include <event2/event.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "io.h"
#include "listen.h"
#include "log.h"
#include "router.h"
#include "snapshot.h"
#include "worker.h"

#define WORKERS_PACE_LOG_S	5	/* seconds between pacing log lines */

struct post {
	STAILQ_ENTRY(post)	 entry;
	void			(*fn)(void *);
	void			*arg;
};

struct workers {
	void			*ctx;		/* the owner's */
	const struct worker_ops	*ops;
	/* SIGTERM: not ready.  Written once by the control thread, read by
	 * every worker per response; it publishes nothing else, so seq_cst
	 * loads and stores of an atomic_bool are more than enough. */
	atomic_bool		 stopping;
	/* whether the workers' total is at limits.max_connections (read by
	 * every worker, written by the control thread), and whether a worker
	 * has posted a recount (set by the worker that posts) */
	atomic_bool		 full;
	atomic_bool		 pace_posted;
	bool			 exiting;	/* workers_free under way: the
						 * control thread's */
	/* the control thread's: when a pacing change was last logged, and
	 * how many changes since were not (a total that hovers at the limit
	 * would otherwise write two lines per connection) */
	struct timespec		 pace_logged;
	unsigned		 pace_quiet;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	/* the job every worker runs; guarded by mu */
	void			(*fn)(struct worker *, void *);
	void			*arg;
	uint64_t		 job;		/* its number */
	unsigned		 pending;	/* workers not done with it */
	/* 1 + the id of a worker whose event loop failed, 0: none; guarded
	 * by mu, so workers_run's wait sees it with the wake-up */
	unsigned		 failed;
	/* the workers the job is for: ids from first to last - 1 */
	unsigned		 first, last;
	/* workers_run is under way: the control thread's alone */
	bool			 running;
	/* posts to the control thread; guarded by mu */
	STAILQ_HEAD(, post)	 posts;
	/* the send time of the last ping (ms, monotonic): written by the
	 * control thread, read by workers as they wake */
	_Atomic uint64_t	 ping_ms;
	/* limits.max_connections as the worker that last posted a recount
	 * routes with (the control thread reads no worker's snapshot) */
	atomic_uint		 max_conns;
	/* set before the threads start, then only read */
	char			*wedge;		/* CUTOVER_TEST_WEDGE */
	int			 post_fd;	/* eventfd */
	struct event		*ev_post;
	unsigned		 n;
	struct worker		*v[];
};

/* ------------------------------------------------------------ worker count */

unsigned
workers_cpu_quota(const char *root, char *src, size_t srclen)
{
	FILE		*f;
	long long	 quota = -1, period = 0;
	char		 path[PATH_MAX], max[32];

	snprintf(path, sizeof(path), "%s/cpu.max", root);
	if ((f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%31s %lld", max, &period) == 2 &&
		    strcmp(max, "max") != 0)
			quota = strtoll(max, NULL, 10);
		fclose(f);
		snprintf(src, srclen, "cgroup cpu.max");
	} else {
		snprintf(path, sizeof(path), "%s/cpu/cpu.cfs_quota_us", root);
		if ((f = fopen(path, "r")) != NULL) {
			if (fscanf(f, "%lld", &quota) != 1)
				quota = -1;
			fclose(f);
		}
		snprintf(path, sizeof(path), "%s/cpu/cpu.cfs_period_us",
		    root);
		if ((f = fopen(path, "r")) != NULL) {
			if (fscanf(f, "%lld", &period) != 1)
				period = 0;
			fclose(f);
		}
		snprintf(src, srclen, "cgroup cpu.cfs_quota_us");
	}
	if (quota <= 0 || period <= 0)
		return (0);
	quota = quota / period + (quota % period != 0);
	return (quota > WORKERS_MAX ? WORKERS_MAX : (unsigned)quota);
}

unsigned
workers_auto(char *why, size_t whylen)
{
	cpu_set_t	set;
	unsigned	cpus = 1, quota, n;
	char		src[64];

	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) == 0 &&
	    CPU_COUNT(&set) > 0)
		cpus = (unsigned)CPU_COUNT(&set);
	quota = workers_cpu_quota("/sys/fs/cgroup", src, sizeof(src));
	n = quota > 0 && quota < cpus ? quota : cpus;
	if (n > WORKERS_MAX)
		n = WORKERS_MAX;
	if (quota > 0)
		snprintf(why, whylen, "%u CPU(s) to run on, %s allows %u",
		    cpus, src, quota);
	else
		snprintf(why, whylen, "%u CPU(s) to run on, no CPU quota",
		    cpus);
	return (n);
}

/* ---------------------------------------------------------------- setup */

static uint64_t
workers_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static void	worker_wake_cb(evutil_socket_t, short, void *);
static void	workers_post_cb(evutil_socket_t, short, void *);

struct workers *
workers_new(void *ctx, const struct worker_ops *ops, struct event_base *base,
    unsigned n, char *err, size_t errlen)
{
	struct workers	*ws;
	struct worker	*w;

	/* the thread that calls workers_run, and the only one that exits */
	log_set_control_thread();
	if ((ws = calloc(1, sizeof(*ws) + n * sizeof(ws->v[0]))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	ws->ctx = ctx;
	ws->ops = ops;
	pthread_mutex_init(&ws->mu, NULL);
	pthread_cond_init(&ws->cv, NULL);
	STAILQ_INIT(&ws->posts);
	ws->post_fd = -1;
	ws->ping_ms = workers_now_ms();
	if (getenv("CUTOVER_TEST_WEDGE") != NULL &&
	    (ws->wedge = strdup(getenv("CUTOVER_TEST_WEDGE"))) == NULL)
		goto nomem;
	for (unsigned i = 0; i < n; i++) {
		/* aligned: its counters (struct metrics) share no cache line
		 * with another worker's */
		if ((w = aligned_alloc(_Alignof(struct worker), sizeof(*w))) ==
		    NULL)
			goto nomem;
		memset(w, 0, sizeof(*w));
		ws->v[ws->n++] = w;
		w->ctx = ctx;
		w->ws = ws;
		w->id = i;
		w->wake_fd = -1;
		w->pong_ms = ws->ping_ms;
		TAILQ_INIT(&w->conns);
		if ((w->base = event_base_new()) == NULL) {
			snprintf(err, errlen, "cannot create the event loop "
			    "of worker %u", i);
			goto fail;
		}
		if ((w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) ==
		    -1 || (w->ev_wake = event_new(w->base, w->wake_fd,
		    EV_READ | EV_PERSIST, worker_wake_cb, w)) == NULL ||
		    event_add(w->ev_wake, NULL) == -1) {
			snprintf(err, errlen, "worker %u: %s", i,
			    strerror(errno));
			goto fail;
		}
	}
	if ((ws->post_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (ws->ev_post = event_new(base, ws->post_fd, EV_READ | EV_PERSIST,
	    workers_post_cb, ws)) == NULL || event_add(ws->ev_post, NULL) ==
	    -1) {
		snprintf(err, errlen, "workers: %s", strerror(errno));
		goto fail;
	}
	return (ws);
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	workers_free(ws, NULL);
	return (NULL);
}

/* ---------------------------------------------------------- snapshots */

void
worker_snap_refresh(struct worker *w)
{
	struct snapshot	*s;

	if (w->router == NULL || router_peek(w->router) == w->snap)
		return;
	s = router_acquire(w->router, w->id);
	if (s != w->snap) {
		if (w->ws->ops->snap_changed != NULL)
			w->ws->ops->snap_changed(w->ws->ctx, w, w->snap, s);
		worker_snap_set(w, s);
	}
	snapshot_unref(s);
}

struct snapshot *
worker_snap_take(struct worker *w)
{
	/* one acquire load of a read-mostly line: router.h */
	if (w->router != NULL && router_peek(w->router) != w->snap)
		worker_snap_refresh(w);
	w->snap_users++;
	return (w->snap);
}

void
workers_snap_nudge(struct workers *ws)
{
	uint64_t	one = 1;
	struct worker	*w;

	for (unsigned i = 0; i < ws->n; i++) {
		w = ws->v[i];
		if (!w->running)	/* not started, or stopped: ours */
			worker_snap_refresh(w);
		else if (write(w->wake_fd, &one, sizeof(one)) == -1 &&
		    errno != EAGAIN)
			log_error("worker %u: wake-up: %s", i,
			    strerror(errno));
	}
}

void
worker_snap_drop(struct worker *w, struct snapshot *s)
{
	struct worker_held	*h;

	if (s == w->snap) {
		w->snap_users--;
		return;
	}
	for (unsigned i = 0; i < w->nheld; i++) {
		h = &w->held[i];
		if (h->s != s)
			continue;
		if (--h->users == 0) {
			snapshot_unref(h->s);
			*h = w->held[--w->nheld];
		}
		return;
	}
}

void
worker_snap_set(struct worker *w, struct snapshot *s)
{
	struct worker_held	*v;

	if (w->snap == s)
		return;
	if (w->snap != NULL && w->snap_users > 0) {
		if ((v = realloc(w->held, (w->nheld + 1) * sizeof(*v))) ==
		    NULL) {
			/* requests still use it: better kept than freed */
			log_error("worker %u: out of memory: a replaced "
			    "snapshot is never freed", w->id);
		} else {
			w->held = v;
			w->held[w->nheld].s = w->snap;
			w->held[w->nheld++].users = w->snap_users;
		}
	} else if (w->snap != NULL)
		snapshot_unref(w->snap);
	w->snap = s != NULL ? snapshot_ref(s) : NULL;
	w->snap_users = 0;
}

unsigned
workers_count(const struct workers *ws)
{
	return (ws != NULL ? ws->n : 0);
}

struct worker *
workers_get(const struct workers *ws, unsigned i)
{
	return (ws->v[i]);
}

void
worker_totals(const struct worker *w, struct workers_totals *t)
{
	t->conns += COUNT_GET(&w->nconns);
	t->connections += COUNT_GET(&w->stats.connections);
	t->requests += COUNT_GET(&w->stats.requests);
	t->responses += COUNT_GET(&w->stats.responses);
	t->errors += COUNT_GET(&w->stats.errors);
	t->upstream_failures += COUNT_GET(&w->stats.upstream_failures);
	t->access_dropped += COUNT_GET(&w->stats.access_dropped);
	for (int p = 0; p < POOL_COUNT; p++) {
		t->inflight[p] += COUNT_GET(&w->inflight[p]);
		t->tunnels[p] += COUNT_GET(&w->tunnels[p]);
	}
}

void
workers_totals(const struct workers *ws, struct workers_totals *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < workers_count(ws); i++)
		worker_totals(ws->v[i], t);
}

void
workers_set_stopping(struct workers *ws)
{
	atomic_store(&ws->stopping, true);
}

bool
workers_stopping(const struct workers *ws)
{
	return (atomic_load(&ws->stopping));
}

/* ---------------------------------------------------------------- threads */

/*
 * On w's thread, whose loop cannot go on: tells the control thread, which
 * exits (workers_check).  Exiting here would run atexit handlers under the
 * other threads; the process must end from the thread that owns it.
 */
static void
worker_fail(struct worker *w)
{
	struct workers	*ws = w->ws;
	uint64_t	 one = 1;

	log_error("worker %u: its event loop failed", w->id);
	pthread_mutex_lock(&ws->mu);
	if (ws->failed == 0)
		ws->failed = w->id + 1;
	pthread_cond_signal(&ws->cv);	/* workers_run may wait for w */
	pthread_mutex_unlock(&ws->mu);
	if (write(ws->post_fd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_error("worker %u: post: %s", w->id, strerror(errno));
}

/* On the control thread: when a worker's loop failed, reaps its thread
 * (it has returned, or is about to) and exits. */
static void
workers_check(struct workers *ws)
{
	struct worker	*w;
	unsigned	 failed;

	pthread_mutex_lock(&ws->mu);
	failed = ws->failed;
	pthread_mutex_unlock(&ws->mu);
	if (failed == 0)
		return;
	w = ws->v[failed - 1];
	if (w->running) {
		pthread_join(w->thread, NULL);
		w->running = false;
	}
	fatal("worker %u stopped serving: exiting", w->id);
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;

	if (event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY) == -1 ||
	    !event_base_got_break(w->base))
		worker_fail(w);
	/* what this thread cached for itself */
	w->ws->ops->thread_exit(w->ctx, w);
	io_forget(w->base);
	return (NULL);
}

int
workers_start(struct workers *ws, char *err, size_t errlen)
{
	sigset_t	 all, old;
	char		 name[24];
	int		 e;

	/* signals are for the control thread's loop */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 0; i < ws->n; i++) {
		if ((e = pthread_create(&ws->v[i]->thread, NULL, worker_main,
		    ws->v[i])) != 0) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			snprintf(err, errlen, "cannot start worker %u: %s", i,
			    strerror(e));
			return (-1);
		}
		ws->v[i]->running = true;
		/* what top -H and /proc/PID/task/TID/comm show, named here so
		 * that it is so before cutover says it started; the control
		 * thread keeps the process's name (ps -C, killall) */
		snprintf(name, sizeof(name), "cutover-w%u", i);
		name[15] = '\0';	/* the kernel keeps 15 bytes */
		pthread_setname_np(ws->v[i]->thread, name);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return (0);
}

/* ------------------------------------------------------------------- jobs */

/* On w's thread, woken: answers the last ping (a job's wake-up does too). */
static void
worker_pong(struct worker *w)
{
	struct workers	*ws = w->ws;

	/* the test hook (worker.h): a loop stuck as a bug would stick it */
	while (ws->wedge != NULL && w->id == ws->n - 1 &&
	    access(ws->wedge, F_OK) == 0)
		usleep(50000);
	atomic_store(&w->pong_ms, atomic_load(&ws->ping_ms));
}

void
workers_ping(struct workers *ws)
{
	uint64_t	now = workers_now_ms(), one = 1;
	struct worker	*w;

	atomic_store(&ws->ping_ms, now);
	for (unsigned i = 0; i < ws->n; i++) {
		w = ws->v[i];
		if (!w->running)
			atomic_store(&w->pong_ms, now);
		else if (write(w->wake_fd, &one, sizeof(one)) == -1 &&
		    errno != EAGAIN)
			log_error("worker %u: ping: %s", i, strerror(errno));
	}
}

uint64_t
worker_pong_age_ms(const struct worker *w)
{
	uint64_t	now = workers_now_ms(), pong = atomic_load(&w->pong_ms);

	return (now > pong ? now - pong : 0);
}

static void
worker_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	struct workers	*ws = w->ws;
	void		(*fn)(struct worker *, void *);
	void		*fnarg;
	uint64_t	 v, job;

	if (read(fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		log_error("worker %u: wake-up: %s", w->id, strerror(errno));
	worker_pong(w);
	worker_snap_refresh(w);		/* workers_snap_nudge */
	pthread_mutex_lock(&ws->mu);
	fn = ws->fn;
	fnarg = ws->arg;
	job = ws->job;
	/* a ping, the job done already, or one for other workers */
	if (w->id < ws->first || w->id >= ws->last)
		fn = NULL;
	pthread_mutex_unlock(&ws->mu);
	if (fn == NULL || job == w->done)
		return;
	fn(w, fnarg);
	pthread_mutex_lock(&ws->mu);
	w->done = job;
	if (--ws->pending == 0)
		pthread_cond_signal(&ws->cv);
	pthread_mutex_unlock(&ws->mu);
}

/* workers_run for workers first to last - 1. */
static void
workers_run_some(struct workers *ws, unsigned first, unsigned last,
    void (*fn)(struct worker *, void *), void *arg)
{
	uint64_t	 one = 1;
	unsigned	 n = 0;

	/* a worker whose thread is not running yet (or any more) is ours */
	for (unsigned i = first; i < last; i++)
		if (!ws->v[i]->running)
			fn(ws->v[i], arg);
	pthread_mutex_lock(&ws->mu);
	ws->fn = fn;
	ws->arg = arg;
	ws->first = first;
	ws->last = last;
	ws->job++;
	for (unsigned i = first; i < last; i++)
		if (ws->v[i]->running)
			n++;
	ws->pending = n;
	pthread_mutex_unlock(&ws->mu);
	for (unsigned i = first; i < last; i++)
		if (ws->v[i]->running &&
		    write(ws->v[i]->wake_fd, &one, sizeof(one)) == -1)
			fatal("worker %u: wake-up: %s", i, strerror(errno));
	pthread_mutex_lock(&ws->mu);
	/* a worker whose loop failed never finishes the job */
	while (ws->pending > 0 && ws->failed == 0)
		pthread_cond_wait(&ws->cv, &ws->mu);
	ws->fn = NULL;
	pthread_mutex_unlock(&ws->mu);
	workers_check(ws);
}

/* workers_run, or with lead workers_run_lead. */
static void
workers_job(struct workers *ws, bool lead,
    void (*fn)(struct worker *, void *), void *arg)
{
	if (!log_is_control_thread() || ws->running)
		fatal("workers_run: called from a job or another thread");
	ws->running = true;
	if (lead) {
		workers_run_some(ws, 0, 1, fn, arg);
		workers_run_some(ws, 1, ws->n, fn, arg);
	} else
		workers_run_some(ws, 0, ws->n, fn, arg);
	ws->running = false;
}

void
workers_run(struct workers *ws, void (*fn)(struct worker *, void *),
    void *arg)
{
	workers_job(ws, false, fn, arg);
}

void
workers_run_lead(struct workers *ws, void (*fn)(struct worker *, void *),
    void *arg)
{
	workers_job(ws, true, fn, arg);
}

/* ------------------------------------------------------------------ posts */

int
worker_post(struct worker *w, void (*fn)(void *), void *arg)
{
	struct workers	*ws = w->ws;
	struct post	*p;
	uint64_t	 one = 1;

	/* queued even on the control thread (a job run there for a worker
	 * not started): it runs later, from the loop, in order */
	if ((p = malloc(sizeof(*p))) == NULL)
		return (-1);
	p->fn = fn;
	p->arg = arg;
	pthread_mutex_lock(&ws->mu);
	STAILQ_INSERT_TAIL(&ws->posts, p, entry);
	pthread_mutex_unlock(&ws->mu);
	if (write(ws->post_fd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_error("worker %u: post: %s", w->id, strerror(errno));
	return (0);
}

/* Runs what the workers posted, in order. */
static void
workers_post_run(struct workers *ws)
{
	struct post	*p;

	for (;;) {
		pthread_mutex_lock(&ws->mu);
		if ((p = STAILQ_FIRST(&ws->posts)) != NULL)
			STAILQ_REMOVE_HEAD(&ws->posts, entry);
		pthread_mutex_unlock(&ws->mu);
		if (p == NULL)
			return;
		p->fn(p->arg);
		free(p);
	}
}

static void
workers_post_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t	v;

	if (read(fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		log_error("workers: post: %s", strerror(errno));
	workers_post_run(arg);
	workers_check(arg);
}

/* ---------------------------------------------------- what workers saw */

struct worker_seen {
	struct workers	*ws;
	struct member	*m;		/* a reference */
	unsigned	 fall;		/* 0: down at once */
	char		 why[64];
};

static void
worker_observed(void *arg)
{
	struct worker_seen	*o = arg;

	if (!o->ws->exiting)
		o->ws->ops->observe(o->ws->ctx, o->m, o->why, o->fall);
	member_unref(o->m);
	free(o);
}

void
worker_observe(struct worker *w, struct member *m, const char *why,
    unsigned fall)
{
	struct worker_seen	*o;

	if ((o = malloc(sizeof(*o))) == NULL)
		goto nomem;
	o->ws = w->ws;
	o->m = member_ref(m);
	o->fall = fall;
	snprintf(o->why, sizeof(o->why), "%s", why);
	if (worker_post(w, worker_observed, o) == -1) {
		member_unref(o->m);
		free(o);
		goto nomem;
	}
	return;
nomem:
	log_error("%s %s: %s: not counted against its health: out of memory",
	    pool_name(m->pool), m->addr.text, why);
}

static void
worker_drained(void *arg)
{
	struct worker	*w = arg;

	if (!w->ws->exiting)
		w->ws->ops->drained(w->ctx, w);
}

void
worker_conn_closed(struct worker *w)
{
	if (w->draining && COUNT_GET(&w->nconns) == 0 &&
	    worker_post(w, worker_drained, w) == -1)
		log_error("worker %u: drained, but cannot say so: out of "
		    "memory", w->id);
	worker_pace(w);
}

/* --------------------------------------------------------------- pacing */

static unsigned
workers_open_conns(const struct workers *ws)
{
	unsigned	n = 0;

	for (unsigned i = 0; i < ws->n; i++)
		n += COUNT_GET(&ws->v[i]->nconns);
	return (n);
}

/* Whether w should stop accepting (the limit as w's snapshot has it). */
static bool
worker_full(const struct worker *w)
{
	unsigned	max = w->snap->config->max_connections;

	return (max > 0 && workers_open_conns(w->ws) >= max);
}

static void
worker_pace_job(struct worker *w, void *arg)
{
	if (w->listeners != NULL && w->snap != NULL &&
	    worker_full(w) != w->listeners->paused) {
		w->listeners->paused = !w->listeners->paused;
		listeners_resync(w->listeners);
	}
}

/*
 * Posted by a worker that saw the total cross the limit: publishes whether
 * it is full, then every worker follows.  A change after the publication
 * makes the worker that sees it post again, so no worker is left paused
 * (or accepting) against the total.
 */
/* Logs a change of ws->full, at most once every WORKERS_PACE_LOG_S. */
static void
workers_pace_log(struct workers *ws, bool full, unsigned max)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (ws->pace_logged.tv_sec != 0 &&
	    now.tv_sec - ws->pace_logged.tv_sec < WORKERS_PACE_LOG_S) {
		ws->pace_quiet++;
		return;
	}
	ws->pace_logged = now;
	if (full)
		log_warn("limits.max_connections (%u) reached: not accepting "
		    "(%u change(s) not logged before)", max, ws->pace_quiet);
	else
		log_info("accepting again (%u connections; %u change(s) not "
		    "logged before)", workers_open_conns(ws), ws->pace_quiet);
	ws->pace_quiet = 0;
}

static void
workers_pace_all(void *arg)
{
	struct workers	*ws = arg;
	bool		 full;
	unsigned	 max;

	atomic_store(&ws->pace_posted, false);
	if (ws->exiting)
		return;
	max = atomic_load(&ws->max_conns);
	/* a worker that closed or accepted while the job ran read the old
	 * ws->full and did not post: look again until the total agrees
	 * with what every worker was told (a few rounds at most) */
	for (int round = 0; round < 4; round++) {
		full = max > 0 && workers_open_conns(ws) >= max;
		if (full != atomic_exchange(&ws->full, full))
			workers_pace_log(ws, full, max);
		else if (round > 0)
			return;
		workers_run(ws, worker_pace_job, NULL);
	}
}

void
worker_pace(struct worker *w)
{
	struct workers	*ws = w->ws;
	bool		 full;

	if (w->listeners == NULL || w->snap == NULL)
		return;
	full = worker_full(w);
	if (full != w->listeners->paused)
		worker_pace_job(w, NULL);	/* this worker at once */
	if (full != atomic_load(&ws->full) &&
	    !atomic_exchange(&ws->pace_posted, true)) {
		/* written only with a post: no shared line per connection */
		atomic_store(&ws->max_conns, w->snap->config->max_connections);
		if (worker_post(w, workers_pace_all, ws) == -1)
			atomic_store(&ws->pace_posted, false);
	}
}

/* -------------------------------------------------------------- teardown */

struct worker_fin {
	void	(*fn)(struct worker *, void *);
};

static void
worker_stop(struct worker *w, void *arg)
{
	struct worker_fin	*fin = arg;

	fin->fn(w, NULL);
	event_base_loopbreak(w->base);
}

void
workers_free(struct workers *ws, void (*fin)(struct worker *, void *))
{
	struct worker		*w;
	struct worker_fin	 stop = { fin };

	if (ws == NULL)
		return;
	ws->exiting = true;
	if (fin != NULL)
		workers_run(ws, worker_stop, &stop);
	for (unsigned i = 0; i < ws->n; i++)
		if (ws->v[i]->running) {
			pthread_join(ws->v[i]->thread, NULL);
			ws->v[i]->running = false;
		}
	/* posts the stopped workers left: their members are referenced */
	workers_post_run(ws);
	for (unsigned i = 0; i < ws->n; i++) {
		w = ws->v[i];
		if (w->ev_wake != NULL)
			event_free(w->ev_wake);
		if (w->wake_fd != -1)
			close(w->wake_fd);
		if (w->base != NULL)
			event_base_free(w->base);
		free(w->held);
		free(w);
	}
	if (ws->ev_post != NULL)
		event_free(ws->ev_post);
	if (ws->post_fd != -1)
		close(ws->post_fd);
	pthread_mutex_destroy(&ws->mu);
	pthread_cond_destroy(&ws->cv);
	free(ws->wedge);
	free(ws);
}
