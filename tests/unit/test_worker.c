/*
 * test_worker.c — worker threads: the CPU quota read from cgroup files,
 * jobs that run on every worker's own thread before workers_run returns,
 * posts that come back to the control thread in order, teardown, the
 * snapshots a worker keeps alive for its requests, and a worker that
 * cannot go on: the process exits from the control thread, never from it.
 */
#include "autoconf.h"

#include <event2/event.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "pool.h"
#include "log.h"
#include "snapshot.h"
#include "worker.h"

/* ------------------------------------------------------------- cgroups */

static char	cg_root[64];

static void
cg_write(const char *rel, const char *text)
{
	char	path[256];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", cg_root, rel);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static int
cg_setup(void **state)
{
	char	sub[128];

	snprintf(cg_root, sizeof(cg_root), "/tmp/test_worker.XXXXXX");
	assert_non_null(mkdtemp(cg_root));
	snprintf(sub, sizeof(sub), "%s/cpu", cg_root);
	assert_int_equal(mkdir(sub, 0700), 0);
	return (0);
}

static int
cg_teardown(void **state)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cg_root);
	assert_int_equal(system(cmd), 0);
	return (0);
}

static void
test_quota_v2(void **state)
{
	char	src[64];

	cg_write("cpu.max", "max 100000\n");
	assert_int_equal(workers_cpu_quota(cg_root, src, sizeof(src)), 0);
	assert_string_equal(src, "cgroup cpu.max");
	cg_write("cpu.max", "200000 100000\n");
	assert_int_equal(workers_cpu_quota(cg_root, src, sizeof(src)), 2);
	/* Kubernetes' limits.cpu: 1500m is two workers, 250m is one */
	cg_write("cpu.max", "150000 100000\n");
	assert_int_equal(workers_cpu_quota(cg_root, src, sizeof(src)), 2);
	cg_write("cpu.max", "25000 100000\n");
	assert_int_equal(workers_cpu_quota(cg_root, src, sizeof(src)), 1);
	cg_write("cpu.max", "garbage\n");
	assert_int_equal(workers_cpu_quota(cg_root, src, sizeof(src)), 0);
	cg_write("cpu.max", "9223372036854775807 1\n");
	assert_int_equal(workers_cpu_quota(cg_root, src, sizeof(src)),
	    WORKERS_MAX);
}

static void
test_quota_v1(void **state)
{
	char	src[64];

	/* no cpu.max: cgroup v1's files decide */
	assert_int_equal(workers_cpu_quota(cg_root, src, sizeof(src)), 0);
	cg_write("cpu/cpu.cfs_quota_us", "-1\n");
	cg_write("cpu/cpu.cfs_period_us", "100000\n");
	assert_int_equal(workers_cpu_quota(cg_root, src, sizeof(src)), 0);
	assert_string_equal(src, "cgroup cpu.cfs_quota_us");
	cg_write("cpu/cpu.cfs_quota_us", "300000\n");
	assert_int_equal(workers_cpu_quota(cg_root, src, sizeof(src)), 3);
	cg_write("cpu/cpu.cfs_period_us", "0\n");
	assert_int_equal(workers_cpu_quota(cg_root, src, sizeof(src)), 0);
}

static void
test_auto_is_within_affinity(void **state)
{
	char		why[128];
	unsigned	n = workers_auto(why, sizeof(why));
	long		cpus = sysconf(_SC_NPROCESSORS_ONLN);

	assert_true(n >= 1);
	assert_true(cpus < 1 || n <= (unsigned)cpus);
	assert_non_null(strstr(why, "CPU(s) to run on"));
}

/* ---------------------------------------------------------------- jobs */

#define NW	3

struct seen {
	pthread_t	 control;	/* the thread that made the workers */
	pthread_t	 thread[NW];
	int		 runs[NW];
	int		 posts[8];
	int		 nposts;
	_Atomic int	 exits[NW];	/* thread_exit, by worker */
	atomic_bool	 lead_done;	/* worker 0 finished the job */
	bool		 saw_lead[NW];	/* worker i saw it had */
	pthread_t	 exit_thread[NW];
	int		 observed;	/* observe, on the control thread */
	char		 why[64];
	unsigned	 fall;
};

static struct seen	seen;
static int		owner;		/* the ctx the workers were made with */

static void
ops_observe(void *ctx, struct member *m, const char *why, unsigned fall)
{
	assert_ptr_equal(ctx, &owner);
	assert_true(pthread_equal(pthread_self(), seen.control));
	seen.observed++;
	snprintf(seen.why, sizeof(seen.why), "%s", why);
	seen.fall = fall;
}

static void
ops_drained(void *ctx, struct worker *w)
{
}

static void
ops_thread_exit(void *ctx, struct worker *w)
{
	assert_ptr_equal(ctx, &owner);
	seen.exit_thread[w->id] = pthread_self();
	seen.exits[w->id]++;
}

static const struct worker_ops test_ops = {
	.observe = ops_observe,
	.drained = ops_drained,
	.thread_exit = ops_thread_exit,
};

static void
job_record(struct worker *w, void *arg)
{
	seen.thread[w->id] = pthread_self();
	seen.runs[w->id]++;
}

static void
post_record(void *arg)
{
	/* posts run on the control thread */
	assert_true(pthread_equal(pthread_self(), seen.control));
	seen.posts[seen.nposts++] = (int)(intptr_t)arg;
}

static void
job_post(struct worker *w, void *arg)
{
	if (w->id == 2) {
		assert_int_equal(worker_post(w, post_record, (void *)1), 0);
		assert_int_equal(worker_post(w, post_record, (void *)2), 0);
	}
}

static void
job_observe(struct worker *w, void *arg)
{
	if (w->id == 1)
		worker_observe(w, arg, "connection refused", 0);
}

/* Worker 0 takes its time; the others look whether it has finished. */
static void
job_lead(struct worker *w, void *arg)
{
	if (w->id == 0) {
		usleep(100000);
		atomic_store(&seen.lead_done, true);
	} else
		seen.saw_lead[w->id] = atomic_load(&seen.lead_done);
}

static void
fin_count(struct worker *w, void *arg)
{
	seen.runs[w->id] += 100;
}

static void
test_jobs_and_posts(void **state)
{
	struct workers		*ws;
	struct event_base	*base = event_base_new();
	struct member		*m;
	struct addr		 a;
	char			 err[256];

	memset(&seen, 0, sizeof(seen));
	seen.control = pthread_self();
	assert_non_null(ws = workers_new(&owner, &test_ops, base, NW, err,
	    sizeof(err)));
	assert_int_equal(workers_count(ws), NW);
	assert_ptr_equal(workers_get(ws, 1)->ctx, &owner);
	assert_int_equal(workers_start(ws, err, sizeof(err)), 0);

	/* each worker runs the job once, on its own thread, before return;
	 * none of them is the control thread, worker 0 included */
	workers_run(ws, job_record, NULL);
	for (int i = 0; i < NW; i++) {
		assert_int_equal(seen.runs[i], 1);
		assert_false(pthread_equal(seen.thread[i], pthread_self()));
		for (int k = 0; k < i; k++)
			assert_false(pthread_equal(seen.thread[i],
			    seen.thread[k]));
	}
	workers_run(ws, job_record, NULL);
	for (int i = 0; i < NW; i++)
		assert_int_equal(seen.runs[i], 2);

	/* a worker's posts run on the control thread's loop, in order */
	workers_run(ws, job_post, NULL);
	for (int i = 0; i < 100 && seen.nposts < 2; i++)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(seen.nposts, 2);
	assert_int_equal(seen.posts[0], 1);
	assert_int_equal(seen.posts[1], 2);

	/* workers_run_lead: worker 0 is done before the others begin */
	workers_run_lead(ws, job_lead, NULL);
	assert_true(atomic_load(&seen.lead_done));
	for (int i = 1; i < NW; i++)
		assert_true(seen.saw_lead[i]);

	/* what a worker observes reaches the owner on the control thread,
	 * with the member still referenced until then */
	assert_int_equal(addr_parse("127.0.0.1:9", &a, false, err,
	    sizeof(err)), 0);
	m = member_new(POOL_BLUE, &a);
	workers_run(ws, job_observe, m);
	for (int i = 0; i < 100 && seen.observed == 0; i++)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(seen.observed, 1);
	assert_string_equal(seen.why, "connection refused");
	assert_int_equal(seen.fall, 0);
	assert_int_equal(m->refcnt, 1);
	member_unref(m);

	/* stopping is one flag for every worker */
	assert_false(workers_stopping(ws));
	workers_set_stopping(ws);
	assert_true(workers_stopping(ws));

	/* teardown runs fin on every worker, then joins the threads, each
	 * of which freed its own caches on its own thread */
	workers_free(ws, fin_count);
	for (int i = 0; i < NW; i++)
		assert_int_equal(seen.runs[i], 102);
	for (int i = 0; i < NW; i++) {
		assert_int_equal(seen.exits[i], 1);
		assert_true(pthread_equal(seen.exit_thread[i],
		    seen.thread[i]));
	}
	event_base_free(base);
}

/* ---------------------------------------------------------------- pings */

/* Waits up to about 2 s until worker i's last answer is younger than ms. */
static bool
ping_answered(struct workers *ws, unsigned i, uint64_t ms)
{
	for (int n = 0; n < 200; n++) {
		if (worker_pong_age_ms(workers_get(ws, i)) < ms)
			return (true);
		usleep(10000);
	}
	return (false);
}

/*
 * A ping never waits for a worker; a worker answers it in its own loop,
 * and one that is stuck (the CUTOVER_TEST_WEDGE hook) falls behind by the
 * time it has been stuck, while the others keep answering.
 */
static void
test_ping_wedged_worker_falls_behind(void **state)
{
	struct workers		*ws;
	struct event_base	*base = event_base_new();
	char			 wedge[] = "/tmp/test_worker.wedge.XXXXXX";
	char			 err[256];
	int			 fd;

	assert_true((fd = mkstemp(wedge)) != -1);
	close(fd);
	unlink(wedge);
	setenv("CUTOVER_TEST_WEDGE", wedge, 1);
	assert_non_null(ws = workers_new(&owner, &test_ops, base, NW, err,
	    sizeof(err)));
	unsetenv("CUTOVER_TEST_WEDGE");
	assert_int_equal(workers_start(ws, err, sizeof(err)), 0);

	usleep(300000);
	workers_ping(ws);
	/* every worker answers from its own loop, worker 0 too */
	for (unsigned i = 0; i < NW; i++)
		assert_true(ping_answered(ws, i, 250));

	/* the last worker wedged: it takes the next ping and stops there */
	assert_true((fd = open(wedge, O_CREAT | O_WRONLY, 0600)) != -1);
	close(fd);
	workers_ping(ws);
	usleep(400000);
	workers_ping(ws);	/* returns at once, though it is stuck */
	for (unsigned i = 0; i < NW - 1; i++)
		assert_true(ping_answered(ws, i, 100));
	assert_true(worker_pong_age_ms(workers_get(ws, NW - 1)) >= 400);

	/* unwedged, it answers the last ping again */
	unlink(wedge);
	workers_ping(ws);
	assert_true(ping_answered(ws, NW - 1, 300));
	workers_free(ws, fin_count);
	event_base_free(base);
}

/* ------------------------------------------------- a worker that fails */

/* Ends w's loop without a break, as a failing event loop does. */
static void
job_fail_loop(struct worker *w, void *arg)
{
	if (w->id == 1)
		event_base_loopexit(w->base, NULL);
}

static void
job_fatal(struct worker *w, void *arg)
{
	if (w->id == 1)
		fatal("worker %u: test", w->id);
}

/*
 * Runs job in a child process that has 2 workers and then runs the control
 * loop; returns the child's wait status, with its stderr in out.
 */
static int
fail_child(void (*job)(struct worker *, void *), char *out, size_t outlen)
{
	struct workers		*ws;
	struct event_base	*base;
	char			 path[] = "/tmp/test_worker.err.XXXXXX", err[256];
	int			 fd, status;
	ssize_t			 n;
	pid_t			 pid;

	assert_true((fd = mkstemp(path)) != -1);
	unlink(path);
	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		alarm(20);
		dup2(fd, STDERR_FILENO);
		if ((base = event_base_new()) == NULL ||
		    (ws = workers_new(&owner, &test_ops, base, 2, err,
		    sizeof(err))) == NULL ||
		    workers_start(ws, err, sizeof(err)) == -1)
			_exit(2);
		workers_run(ws, job, NULL);
		event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
		_exit(3);	/* the loop ended: nobody exited */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	n = pread(fd, out, outlen - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	fprintf(stderr, "child's stderr:\n%s", out);	/* for the log */
	return (status);
}

static void
test_failed_loop_exits_on_control_thread(void **state)
{
	char	out[8192];
	int	status = fail_child(job_fail_loop, out, sizeof(out));

	/* the worker says why; the control thread exits 1, it does not hang
	 * in workers_run or the loop (3) or abort (a signal) */
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_non_null(strstr(out, "error: worker 1: its event loop failed"));
	assert_non_null(strstr(out, "fatal: worker 1 stopped serving: exiting"));
	assert_null(strstr(out, "aborting"));
}

static void
test_fatal_off_control_thread_aborts(void **state)
{
	char	out[8192];
	int	status = fail_child(job_fatal, out, sizeof(out));

	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	assert_non_null(strstr(out, "fatal: worker 1: test"));
	assert_non_null(strstr(out, "fatal() called off the control thread"));
}

static void
test_fatal_on_control_thread_exits(void **state)
{
	pid_t	pid;
	int	status, devnull;

	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		if ((devnull = open("/dev/null", O_WRONLY)) != -1)
			dup2(devnull, STDERR_FILENO);
		log_set_control_thread();
		fatal("test");
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
}

/* ----------------------------------------------------------- snapshots */

static struct snapshot *
snap_new(void)
{
	struct snapshot	*s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->refcnt = 1;
	return (s);
}

static void
test_snapshot_lives_until_its_last_request(void **state)
{
	struct worker	 w;
	struct snapshot	*a = snap_new(), *b = snap_new(), *r1, *r2, *r3;

	memset(&w, 0, sizeof(w));
	worker_snap_set(&w, a);
	assert_int_equal(a->refcnt, 2);
	r1 = worker_snap_take(&w);
	r2 = worker_snap_take(&w);
	assert_ptr_equal(r1, a);
	assert_ptr_equal(r2, a);
	/* taking does not touch the shared count */
	assert_int_equal(a->refcnt, 2);

	/* a switch: new requests get b, the two on a keep it alive */
	worker_snap_set(&w, b);
	r3 = worker_snap_take(&w);
	assert_ptr_equal(r3, b);
	assert_int_equal(a->refcnt, 2);
	assert_int_equal(w.nheld, 1);
	worker_snap_drop(&w, r1);
	assert_int_equal(a->refcnt, 2);
	worker_snap_drop(&w, r2);
	assert_int_equal(a->refcnt, 1);
	assert_int_equal(w.nheld, 0);

	/* a snapshot nobody uses any more is released at once */
	worker_snap_drop(&w, r3);
	worker_snap_set(&w, a);
	assert_int_equal(b->refcnt, 1);
	assert_int_equal(a->refcnt, 2);
	worker_snap_set(&w, NULL);
	assert_int_equal(a->refcnt, 1);
	free(w.held);
	snapshot_unref(a);
	snapshot_unref(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_quota_v2, cg_setup,
		    cg_teardown),
		cmocka_unit_test_setup_teardown(test_quota_v1, cg_setup,
		    cg_teardown),
		cmocka_unit_test(test_auto_is_within_affinity),
		cmocka_unit_test(test_jobs_and_posts),
		cmocka_unit_test(test_ping_wedged_worker_falls_behind),
		cmocka_unit_test(test_failed_loop_exits_on_control_thread),
		cmocka_unit_test(test_fatal_off_control_thread_aborts),
		cmocka_unit_test(test_fatal_on_control_thread_exits),
		cmocka_unit_test(test_snapshot_lives_until_its_last_request),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
