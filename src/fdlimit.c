/*
 * fdlimit.c — descriptors needed, the soft limit raised, running out
 * logged per episode.
 */
#include "autoconf.h"

#include <sys/resource.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "fdlimit.h"
#include "io.h"
#include "log.h"

/* Linux's own ceiling (fs.nr_open) when the hard limit says infinity. */
#define FDLIMIT_NR_OPEN_DEFAULT	1048576

static const char *const fdlimit_op_names[FDLIMIT_NOPS] = {
	"accept", "upstream", "probe",
};

/*
 * The episode: one mutex for its transitions, which are rare; the counters
 * and the flag are atomic so that a success (every accept) costs one
 * relaxed load while no episode is under way.
 */
static pthread_mutex_t	 fdlimit_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool	 fdlimit_reached;
static _Atomic uint64_t	 fdlimit_errors[FDLIMIT_NOPS];
static uint64_t		 fdlimit_base[FDLIMIT_NOPS];	/* at its start */
static uint64_t		 fdlimit_since_ms, fdlimit_last_ms;

/* What one idle list may hold with max_connections m: as many as were
 * busy on it at once (m clients' and idle_extra copies'), up to
 * idle_max. */
static uint64_t
fdlimit_list(const struct fdlimit_need *n, uint64_t m)
{
	return (m + n->idle_extra < n->idle_max ? m + n->idle_extra :
	    n->idle_max);
}

void
fdlimit_need(const struct config *cf, unsigned workers,
    struct fdlimit_need *n)
{
	fdlimit_need_dns(cf, workers, NULL, n);
}

void
fdlimit_need_dns(const struct config *cf, unsigned workers,
    const size_t *dns_members, struct fdlimit_need *n)
{
	uint64_t	members = 0, max = cf->max_connections;

	memset(n, 0, sizeof(*n));
	for (int i = 0; i < POOL_COUNT; i++) {
		members += cf->pools[i].nmembers;
		if (cf->pools[i].dns != NULL)
			members += dns_members != NULL &&
			    dns_members[i] > FDLIMIT_DNS_MEMBERS ?
			    dns_members[i] : FDLIMIT_DNS_MEMBERS;
	}
	n->bounded = max > 0;
	/* one idle list per member per worker, each holding no more than
	 * were busy at once on it: the clients' requests, and the mirror's
	 * copies while mirroring is on (to the other pool, which a switch
	 * makes the clients' own with copies still in flight); traffic
	 * that moves from member to member fills one list after another */
	n->idle_lists = (uint64_t)workers * members;
	n->idle_max = cf->max_idle;
	n->idle_extra = cf->mirror.percent > 0 ? cf->mirror.max_inflight : 0;
	n->clients = max;
	n->upstream = max;
	n->idle = fdlimit_list(n, max) * n->idle_lists;
	n->mirror = n->idle_extra * workers;
	/* kept apart from client traffic: every member may be the inactive
	 * pool's at some time */
	n->warm = (uint64_t)cf->warm_idle * workers * members;
	n->probes = members;
	n->listeners = (uint64_t)cf->nlisten * workers;
	n->admin = FDLIMIT_ADMIN_SOCKET +
	    (cf->admin_readonly_socket != NULL ? FDLIMIT_ADMIN_SOCKET : 0) +
	    (cf->admin_http != NULL ? FDLIMIT_ADMIN_HTTP : 0);
	n->internal = FDLIMIT_INTERNAL + 2 * (uint64_t)workers;
	/* two descriptors a pipe, each worker holding IO_PIPES_MAX at most */
	n->pipes = cf->splice ? 2 * (uint64_t)IO_PIPES_MAX * workers : 0;
	n->total = n->clients + n->upstream + n->idle + n->warm + n->probes +
	    n->listeners + n->admin + n->internal + n->pipes + n->mirror;
}

/* What does not depend on max_connections. */
static uint64_t
fdlimit_fixed(const struct fdlimit_need *n)
{
	return (n->warm + n->probes + n->listeners + n->admin + n->internal +
	    n->pipes + n->mirror);
}

uint64_t
fdlimit_supports(const struct fdlimit_need *n, uint64_t limit)
{
	uint64_t	fixed = fdlimit_fixed(n), r, k = n->idle_extra,
			i = n->idle_max, l = n->idle_lists, m;

	if (limit <= fixed)
		return (0);
	r = limit - fixed;
	/* the largest m with 2m + min(m + k, i) x l <= r: where m + k stays
	 * below i, the lists grow with m; past it, they hold i each */
	if (k < i && r >= k * l) {
		m = (r - k * l) / (2 + l);
		if (m < i - k)
			return (m);
	}
	if (r < i * l)
		return (0);
	return ((r - i * l) / 2);
}

/* fs.nr_open: what an unlimited hard limit allows in fact. */
static uint64_t
fdlimit_nr_open(void)
{
	FILE			*fp;
	unsigned long long	 v = FDLIMIT_NR_OPEN_DEFAULT;

	if ((fp = fopen("/proc/sys/fs/nr_open", "re")) != NULL) {
		if (fscanf(fp, "%llu", &v) != 1)
			v = FDLIMIT_NR_OPEN_DEFAULT;
		fclose(fp);
	}
	return (v);
}

int
fdlimit_raise(const struct fdlimit_need *need, bool raise, struct fdlimit *f)
{
	struct rlimit	rl;
	uint64_t	hard, want;
	int		rc = 0;

	memset(f, 0, sizeof(*f));
	f->need = *need;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return (-1);
	hard = rl.rlim_max == RLIM_INFINITY ? fdlimit_nr_open() :
	    (uint64_t)rl.rlim_max;
	f->was = f->soft = rl.rlim_cur == RLIM_INFINITY ? hard :
	    (uint64_t)rl.rlim_cur;
	f->hard = hard;
	want = need->bounded && need->total < hard ? need->total : hard;
	if (want > f->soft) {
		if (raise) {
			rl.rlim_cur = (rlim_t)want;
			if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
				rc = -1;
			else
				f->soft = want;
		} else
			f->soft = want;		/* what a start would set */
	}
	f->enough = !need->bounded || f->soft >= need->total;
	f->supports = fdlimit_supports(need, f->soft);
	return (rc);
}

bool
fdlimit_warning(const struct fdlimit *f, char *msg, size_t msglen)
{
	const struct fdlimit_need	*n = &f->need;
	char				 enough[160];

	msg[0] = '\0';
	if (f->enough)
		return (false);
	if (f->supports > 0)
		snprintf(enough, sizeof(enough), "enough for max_connections "
		    "= %llu", (unsigned long long)f->supports);
	else
		snprintf(enough, sizeof(enough), "not enough even for "
		    "max_connections = 1, which needs %llu (%llu of them "
		    "whatever max_connections is)", (unsigned long long)(
		    fdlimit_fixed(n) + 2 + fdlimit_list(n, 1) * n->idle_lists),
		    (unsigned long long)(fdlimit_fixed(n) + fdlimit_list(n, 0) *
		    n->idle_lists));
	snprintf(msg, msglen, "file descriptors: %llu needed for "
	    "limits.max_connections = %llu (%llu clients + %llu upstream + "
	    "%llu idle upstream + %llu warm upstream + %llu probes + %llu "
	    "listeners + %llu admin + %llu internal + %llu splice pipes + "
	    "%llu mirror copies), but the soft limit is %llu and the hard "
	    "limit %llu: %s; raise the hard limit (LimitNOFILE= in the "
	    "systemd unit, ulimit -n in the shell that starts cutover, the "
	    "container runtime's nofile limit for a Pod) or lower %s",
	    (unsigned long long)n->total, (unsigned long long)n->clients,
	    (unsigned long long)n->clients, (unsigned long long)n->upstream,
	    (unsigned long long)n->idle, (unsigned long long)n->warm,
	    (unsigned long long)n->probes,
	    (unsigned long long)n->listeners, (unsigned long long)n->admin,
	    (unsigned long long)n->internal, (unsigned long long)n->pipes,
	    (unsigned long long)n->mirror, (unsigned long long)f->soft,
	    (unsigned long long)f->hard, enough, f->supports > 0 ?
	    "limits.max_connections or upstream.max_idle" :
	    "upstream.max_idle, upstream.warm_idle, mirror.max_inflight or "
	    "workers, or turn upstream.splice off");
	return (true);
}

bool
fdlimit_is_error(int e)
{
	return (e == EMFILE || e == ENFILE);
}

static uint64_t
fdlimit_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

void
fdlimit_fail(enum fdlimit_op op, const char *what, int e)
{
	uint64_t	n;

	n = atomic_fetch_add(&fdlimit_errors[op], 1) + 1;
	pthread_mutex_lock(&fdlimit_mu);
	fdlimit_last_ms = fdlimit_now_ms();
	if (!atomic_load(&fdlimit_reached)) {
		fdlimit_since_ms = fdlimit_last_ms;
		for (int i = 0; i < FDLIMIT_NOPS; i++)
			fdlimit_base[i] = atomic_load(&fdlimit_errors[i]);
		fdlimit_base[op] = n - 1;
		atomic_store(&fdlimit_reached, true);
		/* once per episode: the listeners retry every 100 ms */
		log_warn("descriptor limit reached: %llu accepts refused so "
		    "far (%s %s: %s); clients wait in the listen backlog "
		    "until descriptors free up",
		    (unsigned long long)atomic_load(
		    &fdlimit_errors[FDLIMIT_ACCEPT]), fdlimit_op_names[op],
		    what, strerror(e));
	}
	pthread_mutex_unlock(&fdlimit_mu);
}

bool
fdlimit_short(void)
{
	return (atomic_load_explicit(&fdlimit_reached, memory_order_relaxed));
}

void
fdlimit_ok(void)
{
	uint64_t	now, d[FDLIMIT_NOPS];

	if (!atomic_load_explicit(&fdlimit_reached, memory_order_relaxed))
		return;
	pthread_mutex_lock(&fdlimit_mu);
	now = fdlimit_now_ms();
	if (atomic_load(&fdlimit_reached) &&
	    now - fdlimit_last_ms >= FDLIMIT_CALM_MS) {
		atomic_store(&fdlimit_reached, false);
		for (int i = 0; i < FDLIMIT_NOPS; i++)
			d[i] = atomic_load(&fdlimit_errors[i]) -
			    fdlimit_base[i];
		log_info("descriptor limit: recovered after %llu refused "
		    "accepts in %.1f s (and %llu upstream connections, %llu "
		    "probes that could not open a socket)",
		    (unsigned long long)d[FDLIMIT_ACCEPT],
		    (double)(now - fdlimit_since_ms) / 1000.0,
		    (unsigned long long)d[FDLIMIT_UPSTREAM],
		    (unsigned long long)d[FDLIMIT_PROBE]);
	}
	pthread_mutex_unlock(&fdlimit_mu);
}

void
fdlimit_stats(struct fdlimit_stats *st)
{
	for (int i = 0; i < FDLIMIT_NOPS; i++)
		st->errors[i] = atomic_load(&fdlimit_errors[i]);
	st->reached = atomic_load(&fdlimit_reached);
}

const char *
fdlimit_op_name(enum fdlimit_op op)
{
	return (op < FDLIMIT_NOPS ? fdlimit_op_names[op] : "?");
}
