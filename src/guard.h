/*
 * guard.h — the verdict of a guarded switch: given the counters of the
 * pool switched to as they were at the switch (the baseline) and as they
 * are now, and the limits (configuration `guard`), whether the switch
 * must be rolled back and why.  Layer 2 (runtime): pure arithmetic on
 * metrics totals, no state, no clock; cutover.c owns the timer.
 */
#ifndef CUTOVER_GUARD_H
#define CUTOVER_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

/* The limits of `guard = { ... }`. */
struct guard_limits {
	double		 max_error_ratio;	/* (0, 1]: 5xx share tripping */
	unsigned	 max_p99_ms;		/* 0: no latency limit */
	unsigned	 min_requests;		/* before any verdict */
};

/* What the window saw: the counters since the baseline. */
struct guard_sample {
	uint64_t	 requests;	/* ended, every class */
	uint64_t	 errors;	/* of which 5xx */
	double		 error_ratio;	/* errors / requests; 0 with none */
	double		 p99_ms;	/* -1: no timed request */
};

enum guard_verdict {
	GUARD_WAIT,		/* fewer than min_requests ended */
	GUARD_OK,		/* within the limits so far */
	GUARD_TRIP_ERRORS,	/* the 5xx share is above max_error_ratio */
	GUARD_TRIP_LATENCY,	/* the p99 is above max_p99_ms */
};

/*
 * The q-quantile (0 < q <= 1) in ms of a histogram of counts per bucket
 * (metrics.h's buckets, not cumulative), as Prometheus' histogram_quantile
 * estimates it: linear interpolation inside the bucket that holds the
 * rank, from 0 for the first bucket; a rank in +Inf gives the largest
 * finite bound.  -1 when the histogram is empty.
 */
double		 guard_quantile(const uint64_t buckets[METRICS_BUCKETS],
		    double q);

/*
 * Judges now minus base against lim, filling *s; why (may be NULL) gets
 * the numbers behind the verdict ("5xx 12 of 40 (30.0%) > 5.0%").
 */
enum guard_verdict guard_judge(const struct metrics_totals_pool *base,
		    const struct metrics_totals_pool *now,
		    const struct guard_limits *lim, struct guard_sample *s,
		    char *why, size_t whylen);

/* "wait", "ok", "errors", "latency". */
const char	*guard_verdict_name(enum guard_verdict v);

#endif
