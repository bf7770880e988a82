/*
 * guard.c — the verdict of a guarded switch (guard.h).
 */
#include "autoconf.h"

#include <stdio.h>

#include "guard.h"

double
guard_quantile(const uint64_t buckets[METRICS_BUCKETS], double q)
{
	uint64_t	total = 0, below = 0;
	double		rank, lo, hi;
	unsigned	i;

	for (i = 0; i < METRICS_BUCKETS; i++)
		total += buckets[i];
	if (total == 0)
		return (-1);
	rank = q * (double)total;
	for (i = 0; i < METRICS_BUCKETS; i++) {
		if ((double)(below + buckets[i]) >= rank && buckets[i] > 0)
			break;
		below += buckets[i];
	}
	if (i >= METRICS_BOUNDS)	/* +Inf: the largest finite bound */
		return ((double)metrics_bucket_bound_ns(METRICS_BOUNDS - 1) /
		    1e6);
	lo = i == 0 ? 0 : (double)metrics_bucket_bound_ns(i - 1) / 1e6;
	hi = (double)metrics_bucket_bound_ns(i) / 1e6;
	return (lo + (hi - lo) * (rank - (double)below) / (double)buckets[i]);
}

enum guard_verdict
guard_judge(const struct metrics_totals_pool *base,
    const struct metrics_totals_pool *now, const struct guard_limits *lim,
    struct guard_sample *s, char *why, size_t whylen)
{
	uint64_t	d[METRICS_BUCKETS];
	char		scratch[8];

	if (why == NULL) {
		why = scratch;
		whylen = sizeof(scratch);
	}
	s->requests = 0;
	for (unsigned k = 0; k < METRICS_CLASSES; k++)
		s->requests += now->requests[k] - base->requests[k];
	s->errors = now->requests[METRICS_CLASSES - 1] -
	    base->requests[METRICS_CLASSES - 1];
	s->error_ratio = s->requests > 0 ? (double)s->errors /
	    (double)s->requests : 0;
	for (unsigned k = 0; k < METRICS_BUCKETS; k++)
		d[k] = now->buckets[k] - base->buckets[k];
	s->p99_ms = guard_quantile(d, 0.99);
	if (s->requests < lim->min_requests) {
		snprintf(why, whylen, "%llu of %u request(s) needed",
		    (unsigned long long)s->requests, lim->min_requests);
		return (GUARD_WAIT);
	}
	if (s->error_ratio > lim->max_error_ratio) {
		snprintf(why, whylen, "5xx %llu of %llu (%.1f%%) > %.1f%%",
		    (unsigned long long)s->errors,
		    (unsigned long long)s->requests, s->error_ratio * 100,
		    lim->max_error_ratio * 100);
		return (GUARD_TRIP_ERRORS);
	}
	if (lim->max_p99_ms > 0 && s->p99_ms > lim->max_p99_ms) {
		snprintf(why, whylen, "p99 %.1f ms > %u ms over %llu "
		    "request(s)", s->p99_ms, lim->max_p99_ms,
		    (unsigned long long)s->requests);
		return (GUARD_TRIP_LATENCY);
	}
	snprintf(why, whylen, "5xx %llu of %llu (%.1f%%), p99 %.1f ms",
	    (unsigned long long)s->errors, (unsigned long long)s->requests,
	    s->error_ratio * 100, s->p99_ms);
	return (GUARD_OK);
}

const char *
guard_verdict_name(enum guard_verdict v)
{
	switch (v) {
	case GUARD_WAIT:
		return ("wait");
	case GUARD_OK:
		return ("ok");
	case GUARD_TRIP_ERRORS:
		return ("errors");
	case GUARD_TRIP_LATENCY:
		return ("latency");
	default:
		return ("?");
	}
}
