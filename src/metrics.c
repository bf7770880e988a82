/*
 * metrics.c — per-worker request counters and their sums.
 */
#include "autoconf.h"

#include "metrics.h"

/* Prometheus' default buckets with 1 ms added: a proxy's answers are
 * mostly fast. */
static const uint64_t metrics_bounds_ns[METRICS_BOUNDS] = {
	1000000, 2500000, 5000000, 10000000, 25000000, 50000000,
	100000000, 250000000, 500000000, 1000000000, 2500000000,
	5000000000, 10000000000,
};

static const char *const metrics_le[METRICS_BUCKETS] = {
	"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
	"0.5", "1", "2.5", "5", "10", "+Inf",
};

static const char *const metrics_class_names[METRICS_CLASSES] = {
	"1xx", "2xx", "3xx", "4xx", "5xx",
};

/* One writer: a load and a store, no locked instruction (worker.h). */
#define METRICS_ADD(p, n)	atomic_store_explicit((p), \
	atomic_load_explicit((p), memory_order_relaxed) + (n), \
	memory_order_relaxed)
#define METRICS_GET(p)		atomic_load_explicit((p), memory_order_relaxed)

static const char *const metrics_skip_names[METRICS_SKIPS] = {
	"busy", "body", "no_member", "local",
};

unsigned
metrics_bucket(uint64_t ns)
{
	unsigned	i;

	for (i = 0; i < METRICS_BOUNDS; i++)
		if (ns <= metrics_bounds_ns[i])
			break;
	return (i);
}

uint64_t
metrics_bucket_bound_ns(unsigned i)
{
	return (i < METRICS_BOUNDS ? metrics_bounds_ns[i] : UINT64_MAX);
}

const char *
metrics_bucket_le(unsigned i)
{
	return (i < METRICS_BUCKETS ? metrics_le[i] : "+Inf");
}

unsigned
metrics_class(int status)
{
	if (status < 200)
		return (0);
	if (status >= 600)
		return (METRICS_CLASSES - 1);
	return ((unsigned)(status / 100 - 1));
}

const char *
metrics_class_name(unsigned cls)
{
	return (metrics_class_names[cls < METRICS_CLASSES ? cls :
	    METRICS_CLASSES - 1]);
}

void
metrics_request(struct metrics *mx, enum pool_id pool, int status,
    uint64_t ns, uint64_t in, uint64_t out)
{
	struct metrics_pool	*p = &mx->pool[pool];

	METRICS_ADD(&p->requests[metrics_class(status)], 1);
	if (ns != METRICS_UNTIMED) {
		METRICS_ADD(&p->buckets[metrics_bucket(ns)], 1);
		METRICS_ADD(&p->sum_ns, ns);
	}
	METRICS_ADD(&p->bytes_in, in);
	METRICS_ADD(&p->bytes_out, out);
}

void
metrics_bytes(struct metrics *mx, enum pool_id pool, uint64_t in,
    uint64_t out)
{
	METRICS_ADD(&mx->pool[pool].bytes_in, in);
	METRICS_ADD(&mx->pool[pool].bytes_out, out);
}

void
metrics_panic(struct metrics *mx, enum pool_id pool)
{
	METRICS_ADD(&mx->pool[pool].panic, 1);
}

void
metrics_preview(struct metrics *mx, enum pool_id pool)
{
	METRICS_ADD(&mx->pool[pool].preview, 1);
}

void
metrics_preview_refused(struct metrics *mx)
{
	METRICS_ADD(&mx->preview_refused, 1);
}

void
metrics_mirror(struct metrics *mx, enum pool_id pool, int status,
    uint64_t ns)
{
	struct metrics_mirror	*p = &mx->mirror[pool];

	if (status < 0) {
		METRICS_ADD(&p->requests[METRICS_MIRROR_ERROR], 1);
		return;
	}
	METRICS_ADD(&p->requests[metrics_class(status)], 1);
	if (ns != METRICS_UNTIMED) {
		METRICS_ADD(&p->buckets[metrics_bucket(ns)], 1);
		METRICS_ADD(&p->sum_ns, ns);
	}
}

void
metrics_mirror_skip(struct metrics *mx, enum metrics_skip why)
{
	METRICS_ADD(&mx->mirror_skipped[why], 1);
}

const char *
metrics_mirror_class_name(unsigned cls)
{
	return (cls >= METRICS_MIRROR_ERROR ? "error" :
	    metrics_class_name(cls));
}

const char *
metrics_skip_name(enum metrics_skip why)
{
	return (metrics_skip_names[why < METRICS_SKIPS ? why : 0]);
}

uint64_t
metrics_p99_ns(const uint64_t *buckets, uint64_t count)
{
	uint64_t	cum = 0, want;

	if (count == 0)
		return (0);
	/* the smallest bucket holding at least 99% of the requests */
	want = count - count / 100;
	for (unsigned k = 0; k < METRICS_BOUNDS; k++)
		if ((cum += buckets[k]) >= want)
			return (metrics_bounds_ns[k]);
	return (UINT64_MAX);
}

void
metrics_add(const struct metrics *mx, struct metrics_totals *t)
{
	const struct metrics_pool	*p;
	struct metrics_totals_pool	*q;
	uint64_t			 n;

	for (int i = 0; i < POOL_COUNT; i++) {
		p = &mx->pool[i];
		q = &t->pool[i];
		for (unsigned k = 0; k < METRICS_CLASSES; k++)
			q->requests[k] += METRICS_GET(&p->requests[k]);
		for (unsigned k = 0; k < METRICS_BUCKETS; k++) {
			n = METRICS_GET(&p->buckets[k]);
			q->buckets[k] += n;
			q->count += n;
		}
		q->sum_ns += METRICS_GET(&p->sum_ns);
		q->bytes_in += METRICS_GET(&p->bytes_in);
		q->bytes_out += METRICS_GET(&p->bytes_out);
		q->panic += METRICS_GET(&p->panic);
		q->preview += METRICS_GET(&p->preview);
	}
	t->preview_refused += METRICS_GET(&mx->preview_refused);
	for (int i = 0; i < POOL_COUNT; i++) {
		const struct metrics_mirror	*m = &mx->mirror[i];
		struct metrics_totals_mirror	*r = &t->mirror[i];

		for (unsigned k = 0; k < METRICS_MIRROR_CLASSES; k++)
			r->requests[k] += METRICS_GET(&m->requests[k]);
		for (unsigned k = 0; k < METRICS_BUCKETS; k++) {
			n = METRICS_GET(&m->buckets[k]);
			r->buckets[k] += n;
			r->count += n;
		}
		r->sum_ns += METRICS_GET(&m->sum_ns);
	}
	for (unsigned k = 0; k < METRICS_SKIPS; k++)
		t->mirror_skipped[k] += METRICS_GET(&mx->mirror_skipped[k]);
}
