/*
 * pick.h — which pool one request goes to, decided once when its head is
 * complete: a preview request (a header or cookie naming a pool, with the
 * token when one is set) goes to the pool it names, whatever is active;
 * else, during a weighted shift, a client whose bucket is below the
 * shift's percent goes to the shifted pool; else the active pool.  Pure:
 * the connection finds the header, cookie and token (conn.c), this says
 * what they mean.
 * Layer 1 (data).
 */
#ifndef CUTOVER_PICK_H
#define CUTOVER_PICK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pool.h"

struct snapshot;

/* The header whose value must match preview.token. */
#define PICK_TOKEN_HEADER	"X-Cutover-Token"

/* What a request asks of the routing, as its head says. */
struct pick_req {
	const char	*pool;		/* the pool a preview names, or NULL */
	size_t		 pool_len;
	const char	*token;		/* X-Cutover-Token's value, or NULL */
	size_t		 token_len;
	unsigned	 bucket;	/* the client's, 0..99: pick_bucket() */
};

enum pick_route {
	PICK_ACTIVE,		/* the active pool */
	PICK_SHIFT,		/* the shifted pool, by the client's bucket */
	PICK_PREVIEW,		/* the pool the request named */
	PICK_REFUSED,		/* named a pool without the right token: 403 */
	PICK_BAD_POOL,		/* named something that is no pool: 400 */
};

/*
 * The route of q in s and, for the first three outcomes, its pool in *id.
 * token is preview.token (NULL: none needed).
 */
enum pick_route	 pick_route(const struct snapshot *s, const char *token,
		    const struct pick_req *q, enum pool_id *id);

/* "active", "shift", "preview" (what the access log says), ... */
const char	*pick_route_name(enum pick_route r);

/*
 * 64-bit FNV-1a of len bytes: the same on every worker, process, restart
 * and replica (no random seed), so a client keeps its bucket.
 */
uint64_t	 pick_hash(const void *p, size_t len);

/* The bucket 0..99 of a client's key (its cookie or its address). */
unsigned	 pick_bucket(const void *p, size_t len);

/*
 * Whether got (len bytes) equals the NUL-terminated want, in a time that
 * depends on len and want's length only, never on where they differ.
 */
bool		 pick_token_eq(const char *want, const char *got, size_t len);

/*
 * The value of the cookie name in a Cookie field's value v (len bytes,
 * "a=1; b=2"): its start, its length in *vlen; NULL when absent.  Names
 * are compared exactly (RFC 6265); surrounding double quotes are kept.
 */
const char	*pick_cookie(const char *v, size_t len, const char *name,
		    size_t *vlen);

#endif
