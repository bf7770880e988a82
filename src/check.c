/*
 * check.c — the health-check settings and the parsers of `expect` and
 * `min_healthy`.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

void
check_config_defaults(struct check_config *hc)
{
	memset(hc, 0, sizeof(*hc));
	snprintf(hc->path, sizeof(hc->path), "/");
	hc->interval_ms = 2000;
	hc->timeout_ms = 1000;
	hc->rise = 2;
	hc->fall = 3;
	hc->expect.r[0].lo = 200;
	hc->expect.r[0].hi = 399;
	hc->expect.n = 1;
	hc->panic = true;
}

void
check_config_merge(struct check_config *pool,
    const struct check_config *global)
{
	unsigned	set = pool->set;

	if (!(set & CHECK_SET_PATH))
		memcpy(pool->path, global->path, sizeof(pool->path));
	if (!(set & CHECK_SET_HOST))
		memcpy(pool->host, global->host, sizeof(pool->host));
	if (!(set & CHECK_SET_INTERVAL))
		pool->interval_ms = global->interval_ms;
	if (!(set & CHECK_SET_TIMEOUT))
		pool->timeout_ms = global->timeout_ms;
	if (!(set & CHECK_SET_RISE))
		pool->rise = global->rise;
	if (!(set & CHECK_SET_FALL))
		pool->fall = global->fall;
	if (!(set & CHECK_SET_EXPECT))
		pool->expect = global->expect;
	if (!(set & CHECK_SET_PANIC))
		pool->panic = global->panic;
}

/* Parses a status code 100-599 at *p, advancing it; -1 if none. */
static int
check_code(const char **p)
{
	char	*end;
	long	 v;

	if (**p < '0' || **p > '9')
		return (-1);
	v = strtol(*p, &end, 10);
	if (end - *p != 3 || v < 100 || v > 599)
		return (-1);
	*p = end;
	return ((int)v);
}

int
check_expect_parse(const char *s, struct check_expect *e, char *err,
    size_t errlen)
{
	const char	*p = s;
	int		 lo, hi;

	memset(e, 0, sizeof(*e));
	for (;;) {
		while (*p == ' ')
			p++;
		if ((lo = check_code(&p)) == -1)
			goto bad;
		hi = lo;
		if (*p == '-') {
			p++;
			if ((hi = check_code(&p)) == -1 || hi < lo)
				goto bad;
		}
		if (e->n == CHECK_EXPECT_MAX) {
			snprintf(err, errlen, "\"%s\": at most %d codes or "
			    "ranges", s, CHECK_EXPECT_MAX);
			return (-1);
		}
		e->r[e->n].lo = (uint16_t)lo;
		e->r[e->n++].hi = (uint16_t)hi;
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return (0);
		if (*p++ != ',')
			goto bad;
	}
bad:
	snprintf(err, errlen, "\"%s\": expected status codes (100-599) and "
	    "ranges such as \"200-399\" or \"200,204,300-399\"", s);
	return (-1);
}

bool
check_expect_match(const struct check_expect *e, int status)
{
	for (unsigned i = 0; i < e->n; i++)
		if (status >= e->r[i].lo && status <= e->r[i].hi)
			return (true);
	return (false);
}

int
check_min_parse(const char *s, struct check_min *m, char *err,
    size_t errlen)
{
	char		*end;
	unsigned long	 v;

	memset(m, 0, sizeof(*m));
	if (strcmp(s, "all") == 0)
		return (0);
	if (*s >= '0' && *s <= '9') {
		v = strtoul(s, &end, 10);
		if (*end == '%' && end[1] == '\0' && v >= 1 && v <= 100) {
			m->percent = (unsigned)v;
			return (0);
		}
		if (*end == '\0' && v >= 1 && v <= 100000) {
			m->count = (unsigned)v;
			return (0);
		}
	}
	snprintf(err, errlen, "\"%s\": expected a count (1 or more), a "
	    "percentage (1%%-100%%) such as \"50%%\", or \"all\"", s);
	return (-1);
}

unsigned
check_min_required(const struct check_min *m, size_t n)
{
	size_t	need;

	if (m->count > 0)
		need = m->count;
	else if (m->percent > 0)
		need = (n * m->percent + 99) / 100;	/* rounded up */
	else
		need = n;
	return (need > 0 ? (unsigned)need : 1);
}
