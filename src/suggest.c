/*
 * suggest.c — "did you mean": the optimal string alignment distance
 * (Damerau-Levenshtein without repeated edits of one substring).
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "suggest.h"

/* Names longer than this are never suggested (nor compared). */
#define SUGGEST_LEN_MAX	64

/* The distance between a and b (lengths la, lb), case ignored. */
static unsigned
suggest_distance(const char *a, size_t la, const char *b, size_t lb)
{
	unsigned	d[SUGGEST_LEN_MAX + 1][SUGGEST_LEN_MAX + 1], cost, v;

	for (size_t i = 0; i <= la; i++)
		d[i][0] = (unsigned)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			cost = tolower((unsigned char)a[i - 1]) !=
			    tolower((unsigned char)b[j - 1]);
			v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && tolower((unsigned char)a[i - 1])
			    == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) ==
			    tolower((unsigned char)b[j - 1]) &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return (d[la][lb]);
}

const char *
suggest(const char *word, const char *const *names, size_t n)
{
	const char	*best = NULL;
	size_t		 lw = strlen(word), ln;
	unsigned	 limit, dist, bestd = ~0U;

	if (lw == 0 || lw > SUGGEST_LEN_MAX)
		return (NULL);
	limit = lw <= 4 ? 1 : lw <= 8 ? 2 : 3;
	for (size_t i = 0; i < n; i++) {
		if (names[i] == NULL ||
		    (ln = strlen(names[i])) > SUGGEST_LEN_MAX)
			continue;
		/* the distance is at least the difference in length */
		if ((ln > lw ? ln - lw : lw - ln) > limit)
			continue;
		dist = suggest_distance(word, lw, names[i], ln);
		if (dist <= limit && dist < bestd) {
			best = names[i];
			bestd = dist;
		}
	}
	return (best);
}

char *
suggest_append(char *buf, size_t len, const char *word,
    const char *const *names, size_t n)
{
	const char	*s = suggest(word, names, n);
	size_t		 used = strnlen(buf, len);

	if (s != NULL && used + 1 < len)
		snprintf(buf + used, len - used, " (did you mean '%s'?)", s);
	return (buf);
}
