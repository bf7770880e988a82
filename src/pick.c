/*
 * pick.c — the pool of one request: preview, weighted shift or active.
 */
#include "autoconf.h"

#include <string.h>

#include "pick.h"
#include "snapshot.h"

enum pick_route
pick_route(const struct snapshot *s, const char *token,
    const struct pick_req *q, enum pool_id *id)
{
	char	name[16];

	if (q->pool != NULL) {
		/* the token first: without it, nothing about pools is said */
		if (token != NULL && (q->token == NULL ||
		    !pick_token_eq(token, q->token, q->token_len)))
			return (PICK_REFUSED);
		if (q->pool_len == 0 || q->pool_len >= sizeof(name))
			return (PICK_BAD_POOL);
		memcpy(name, q->pool, q->pool_len);
		name[q->pool_len] = '\0';
		if (pool_parse(name, id) == -1)
			return (PICK_BAD_POOL);
		return (PICK_PREVIEW);
	}
	if (s->shift_percent > 0 && q->bucket < s->shift_percent) {
		*id = s->shift_pool;
		return (PICK_SHIFT);
	}
	*id = s->active;
	return (PICK_ACTIVE);
}

const char *
pick_route_name(enum pick_route r)
{
	switch (r) {
	case PICK_ACTIVE:
		return ("active");
	case PICK_SHIFT:
		return ("shift");
	case PICK_PREVIEW:
		return ("preview");
	case PICK_REFUSED:
		return ("refused");
	case PICK_BAD_POOL:
		return ("bad-pool");
	}
	return ("?");
}

uint64_t
pick_hash(const void *p, size_t len)
{
	const unsigned char	*b = p;
	uint64_t		 h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return (h);
}

unsigned
pick_bucket(const void *p, size_t len)
{
	uint64_t	h = pick_hash(p, len);

	/* FNV-1a's low bits mix least: fold the high half in first */
	return ((unsigned)((h ^ (h >> 32)) % 100));
}

bool
pick_token_eq(const char *want, const char *got, size_t len)
{
	size_t			 wlen = strlen(want);
	volatile unsigned char	 d = wlen != len;

	/* every byte of got is looked at, whatever matched before */
	for (size_t i = 0; i < len; i++)
		d |= (unsigned char)got[i] ^
		    (unsigned char)(i < wlen ? want[i] : 0);
	return (d == 0);
}

const char *
pick_cookie(const char *v, size_t len, const char *name, size_t *vlen)
{
	size_t	nlen = strlen(name), i = 0, s, e;

	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ';'))
			i++;
		s = i;
		while (i < len && v[i] != ';')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s > nlen && memcmp(v + s, name, nlen) == 0 &&
		    v[s + nlen] == '=') {
			*vlen = e - s - nlen - 1;
			return (v + s + nlen + 1);
		}
	}
	return (NULL);
}
