/*
 * config.c — the configuration file (libconfig syntax) into struct config.
 *
 * Each group is walked in file order against a table of the keys it may
 * hold, so the first error reported is the first one in the file, and an
 * unknown or misspelt key is always caught.  Settings that must exist (the
 * two pools and their members) are checked after the walk; defaults are
 * filled in before it.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <libconfig.h>
#include <libgen.h>
#include <llhttp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_scan.h"
#include "sha256.h"
#include "suggest.h"

#define CFG_PATH_MAX	256	/* "pools.blue.members[12]" and the like */
#define CFG_ERR_MAX	1024	/* a message, escaped */
#define CFG_CONTROL_CHARS \
	"\001\002\003\004\005\006\007\010\011\012\013\014\015\016\017" \
	"\020\021\022\023\024\025\026\027\030\031\032\033\034\035\036\037\177"
#define SUN_PATH_MAX	sizeof(((struct sockaddr_un *)NULL)->sun_path)

struct cfg_ctx {
	struct config		*c;
	const char		*text;		/* the file's bytes, as parsed */
	size_t			 len;
	const char		*incdir;	/* where @include looks */
	struct config_scan	 scan;		/* what libconfig misses */
	char			*err;
	size_t			 errlen;
};

struct cfg_key;
typedef int (*cfg_load_fn)(struct cfg_ctx *, const config_setting_t *,
    const struct cfg_key *);

/* Where config_print() is: the file, the config, the pool, the depth. */
struct cfg_out {
	FILE			*fp;
	const struct config	*c;
	int			 pool;		/* -1: not inside a pool */
	int			 depth;
};
typedef void (*cfg_print_fn)(struct cfg_out *, const struct cfg_key *);

/*
 * One row per key a group may hold: how it is loaded and how config_print
 * writes it back.  The same rows are the "did you mean" candidates, and
 * tests/check-conf-man reads them to check that cutover.conf(5) documents
 * every key.  A new key is one row (with CFG_KEY or a shorthand below).
 */
struct cfg_key {
	const char		*name;
	cfg_load_fn		 load;
	cfg_print_fn		 print;	/* NULL: never printed (replaced) */
	const struct cfg_key	*keys;	/* a sub-group's own keys */
	size_t			 off;	/* in struct config or check_config */
	unsigned		 min, max;
	unsigned		 bit;	/* health keys: CHECK_SET_* */
};

#define CFG_LOADERS(F) \
	F(group) F(listen) F(active) F(pools) F(members) F(socket) F(mode) \
	F(ms) F(level) F(access) F(bool) F(uint) F(bytes) F(path) F(hstr) \
	F(hnum) F(expect) F(min) F(trusted) F(replaced) F(admin_http) \
	F(socket_group) F(dns) F(nameservers) F(hbool) F(name) F(token) \
	F(methods) F(ratio)
#define CFG_DECLARE_LOAD(n) static int cfg_load_##n(struct cfg_ctx *, \
			    const config_setting_t *, const struct cfg_key *);
CFG_LOADERS(CFG_DECLARE_LOAD)

#define CFG_PRINTERS(F) \
	F(group) F(pools) F(listen) F(active) F(members) F(uint) \
	F(mode) F(path) F(admin_http) F(level) F(access) F(bool) F(bytes) \
	F(hstr) F(hnum) F(expect) F(min) F(trusted) F(dns) F(nameservers) \
	F(hbool) F(token) F(methods) F(ratio)
#define CFG_DECLARE_PRINT(n) static void cfg_print_##n(struct cfg_out *, \
			    const struct cfg_key *);
CFG_PRINTERS(CFG_DECLARE_PRINT)

#define CFG_KEY(n, l, p)	{ .name = (n), .load = cfg_load_##l, \
				    .print = cfg_print_##p }
#define CFG_GROUP(n, k)		{ .name = (n), .load = cfg_load_group, \
				    .print = cfg_print_group, .keys = (k) }
#define CFG_AT(n, l, p, field)	{ .name = (n), .load = cfg_load_##l, \
				    .print = cfg_print_##p, \
				    .off = offsetof(struct config, field) }
#define CFG_UINT(n, field, lo, hi) { .name = (n), .load = cfg_load_uint, \
				    .print = cfg_print_uint, \
				    .off = offsetof(struct config, field), \
				    .min = (lo), .max = (hi) }
#define CFG_MSR(n, lo, hi)	{ .name = #n, .load = cfg_load_ms, \
				    .print = cfg_print_uint, \
				    .off = offsetof(struct config, n), \
				    .min = (lo), .max = (hi) }
#define CFG_MS(n, lo)		CFG_MSR(n, lo, CONFIG_TIMEOUT_MAX_MS)
#define CFG_BOOL(n, field)	CFG_AT(n, bool, bool, field)
#define CFG_PATH(n, field)	CFG_AT(n, path, path, field)
#define CFG_END			{ .name = NULL }

/* Health keys: off is into struct check_config, bit its CHECK_SET_*. */
#define CFG_HSTR(n, b)		{ .name = #n, .load = cfg_load_hstr, \
				    .print = cfg_print_hstr, \
				    .off = offsetof(struct check_config, n), \
				    .bit = (b) }
#define CFG_HNUM(n, b, lo, hi)	{ .name = #n, .load = cfg_load_hnum, \
				    .print = cfg_print_hnum, \
				    .off = offsetof(struct check_config, n), \
				    .min = (lo), .max = (hi), .bit = (b) }

static const struct cfg_key health_keys[] = {
	CFG_HSTR(path, CHECK_SET_PATH),
	CFG_HSTR(host, CHECK_SET_HOST),
	CFG_HNUM(interval_ms, CHECK_SET_INTERVAL, 10, CONFIG_TIMEOUT_MAX_MS),
	CFG_HNUM(timeout_ms, CHECK_SET_TIMEOUT, 10, CONFIG_TIMEOUT_MAX_MS),
	CFG_HNUM(rise, CHECK_SET_RISE, 1, 100),
	CFG_HNUM(fall, CHECK_SET_FALL, 1, 100),
	{ .name = "expect", .load = cfg_load_expect, .print = cfg_print_expect,
	    .bit = CHECK_SET_EXPECT },
	{ .name = "panic", .load = cfg_load_hbool, .print = cfg_print_hbool,
	    .off = offsetof(struct check_config, panic), .bit = CHECK_SET_PANIC },
	CFG_END
};

/* The keys of pools.blue and pools.green. */
static const struct cfg_key pool_keys[] = {
	CFG_KEY("members", members, members),
	CFG_KEY("dns", dns, dns),
	CFG_GROUP("health", health_keys),
	CFG_END
};

static const struct cfg_key switch_keys[] = {
	CFG_KEY("min_healthy", min, min),
	CFG_MS(drain_timeout_ms, 0),
	CFG_MSR(drain_spread_ms, 0, 600000),
	CFG_UINT("guard", guard_s, 0, CONFIG_GUARD_MAX_S),
	CFG_END
};

/* The limits of a guarded switch (switch.guard, `switch ... guard S`). */
static const struct cfg_key guard_keys[] = {
	CFG_AT("max_error_ratio", ratio, ratio, guard.max_error_ratio),
	CFG_UINT("max_p99_ms", guard.max_p99_ms, 0, CONFIG_TIMEOUT_MAX_MS),
	CFG_UINT("min_requests", guard.min_requests, 1, 100000000),
	CFG_END
};

static const struct cfg_key admin_keys[] = {
	CFG_AT("socket", socket, path, admin_socket),
	CFG_KEY("socket_mode", mode, mode),
	CFG_AT("socket_group", socket_group, path, admin_socket_group),
	CFG_PATH("readonly_socket", admin_readonly_socket),
	CFG_KEY("http", admin_http, admin_http),
	CFG_END
};

static const struct cfg_key limit_keys[] = {
	CFG_UINT("max_connections", max_connections, 0, 10000000),
	CFG_KEY("max_body_bytes", bytes, bytes),
	CFG_END
};

static const struct cfg_key forwarded_keys[] = {
	CFG_BOOL("x_forwarded_for", fwd.xff),
	CFG_BOOL("x_forwarded_proto", fwd.proto),
	CFG_BOOL("x_forwarded_host", fwd.host),
	CFG_BOOL("via", fwd.via),
	CFG_KEY("trusted", trusted, trusted),
	/* trusted everyone by default: an error, so that nobody silently
	 * gains or loses trust on upgrading */
	{ .name = "trust_incoming", .load = cfg_load_replaced },
	CFG_END
};

/* .min 1: "" allowed (turns the header off) */
static const struct cfg_key preview_keys[] = {
	{ .name = "header", .load = cfg_load_name, .print = cfg_print_path,
	    .off = offsetof(struct config, preview.header), .min = 1 },
	{ .name = "cookie", .load = cfg_load_name, .print = cfg_print_path,
	    .off = offsetof(struct config, preview.cookie) },
	{ .name = "token", .load = cfg_load_token, .print = cfg_print_token,
	    .off = offsetof(struct config, preview.token) },
	CFG_END
};

static const struct cfg_key shift_keys[] = {
	{ .name = "cookie", .load = cfg_load_name, .print = cfg_print_path,
	    .off = offsetof(struct config, shift_cookie) },
	CFG_END
};

static const struct cfg_key upstream_keys[] = {
	CFG_BOOL("splice", splice),
	CFG_BOOL("splice_requests", splice_requests),
	CFG_UINT("splice_min_bytes", splice_min_bytes, 1, 1073741824),
	CFG_UINT("max_idle", max_idle, 1, CONFIG_MAX_IDLE_MAX),
	CFG_UINT("warm_idle", warm_idle, 0, CONFIG_WARM_IDLE_MAX),
	CFG_END
};

static const struct cfg_key mirror_keys[] = {
	CFG_UINT("percent", mirror.percent, 0, 100),
	CFG_KEY("methods", methods, methods),
	CFG_UINT("max_body", mirror.max_body, 0, CONFIG_MIRROR_MAX_BODY_MAX),
	{ .name = "timeout_ms", .load = cfg_load_ms, .print = cfg_print_uint,
	    .off = offsetof(struct config, mirror.timeout_ms), .min = 1,
	    .max = CONFIG_TIMEOUT_MAX_MS },
	CFG_UINT("max_inflight", mirror.max_inflight, 1,
	    CONFIG_MIRROR_MAX_INFLIGHT_MAX),
	CFG_END
};

static const struct cfg_key timeout_keys[] = {
	CFG_MS(connect_ms, 1),
	CFG_MS(client_header_ms, 1),
	CFG_MS(idle_ms, 1),
	CFG_MS(upstream_ms, 1),
	CFG_MS(tunnel_idle_ms, 1),
	CFG_MS(tunnel_fin_ms, 1),
	CFG_MS(client_body_ms, 1),
	CFG_END
};

static const struct cfg_key shutdown_keys[] = {
	CFG_MS(grace_ms, 0),
	CFG_MS(delay_ms, 0),
	CFG_END
};

static const struct cfg_key log_keys[] = {
	CFG_KEY("level", level, level),
	CFG_KEY("access", access, access),
	CFG_END
};

static const struct cfg_key dns_keys[] = {
	CFG_KEY("nameservers", nameservers, nameservers),
	{ .name = "refresh_ms", .load = cfg_load_ms, .print = cfg_print_uint,
	    .off = offsetof(struct config, dns.refresh_ms),
	    .min = CONFIG_DNS_REFRESH_MIN_MS, .max = CONFIG_TIMEOUT_MAX_MS },
	{ .name = "timeout_ms", .load = cfg_load_ms, .print = cfg_print_uint,
	    .off = offsetof(struct config, dns.timeout_ms), .min = 10,
	    .max = 600000 },
	CFG_PATH("resolv_conf", dns.resolv_conf),
	CFG_END
};

static const struct cfg_key top_keys[] = {
	CFG_KEY("listen", listen, listen),
	CFG_UINT("workers", workers, 0, CONFIG_WORKERS_MAX),
	CFG_KEY("active", active, active),
	CFG_UINT("generation", generation, 0, CONFIG_GENERATION_MAX),
	CFG_BOOL("watch_config", watch_config),
	{ .name = "pools", .load = cfg_load_pools, .print = cfg_print_pools,
	    .keys = pool_keys },
	CFG_GROUP("admin", admin_keys),
	CFG_GROUP("timeouts", timeout_keys),
	CFG_GROUP("shutdown", shutdown_keys),
	CFG_GROUP("log", log_keys),
	CFG_GROUP("health", health_keys),
	CFG_GROUP("switch", switch_keys),
	CFG_GROUP("guard", guard_keys),
	CFG_PATH("state_file", state_file),
	CFG_GROUP("limits", limit_keys),
	CFG_GROUP("upstream", upstream_keys),
	CFG_GROUP("forwarded", forwarded_keys),
	CFG_GROUP("dns", dns_keys),
	CFG_GROUP("preview", preview_keys),
	CFG_GROUP("shift", shift_keys),
	CFG_GROUP("mirror", mirror_keys),
	CFG_END
};

/* What st is, for "not a regular file" messages. */
static const char *
cfg_type_str(const struct stat *st)
{
	if (S_ISFIFO(st->st_mode))
		return ("a FIFO");
	if (S_ISCHR(st->st_mode))
		return ("a character device");
	if (S_ISBLK(st->st_mode))
		return ("a block device");
	if (S_ISSOCK(st->st_mode))
		return ("a socket");
	return ("not a regular file");
}

/*
 * Reads path whole into *text (NUL-terminated, *len bytes without the NUL;
 * the caller frees it).  This runs on the control thread, at start, reload
 * and on every change the watch sees, so it never blocks and never reads
 * without end: only a regular file is read (O_NONBLOCK, then fstat of the
 * opened file, so a FIFO or /dev/zero put in its place is refused), and
 * only up to CONFIG_FILE_MAX bytes.  0, or -1 with "PATH: reason" in err.
 */
static int
cfg_read_text(const char *path, char **text, size_t *len, char *err,
    size_t errlen)
{
	struct stat	 st;
	char		*buf = NULL, *nb;
	size_t		 n = 0, cap;
	ssize_t		 r;
	int		 fd;

	*text = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) ==
	    -1) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    strerror(errno));
		return (-1);
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    strerror(EISDIR));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: cannot read: %s, not a regular file",
		    path, cfg_type_str(&st));
		goto fail;
	}
	if (st.st_size > CONFIG_FILE_MAX)
		goto big;
	/* one byte more than the size: a file that grows meanwhile shows */
	cap = (size_t)st.st_size + 1;
	for (;;) {
		if (n == cap) {
			if (cap > CONFIG_FILE_MAX)
				goto big;
			cap = cap * 2 > CONFIG_FILE_MAX + 1 ?
			    CONFIG_FILE_MAX + 1 : cap * 2;
		}
		if ((nb = realloc(buf, cap + 1)) == NULL) {
			snprintf(err, errlen, "%s: out of memory", path);
			goto fail;
		}
		buf = nb;
		if ((r = read(fd, buf + n, cap - n)) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: cannot read: %s", path,
			    strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > CONFIG_FILE_MAX)
		goto big;
	close(fd);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return (0);
big:
	snprintf(err, errlen, "%s: cannot read: larger than %d bytes (%d MiB), "
	    "too large for a configuration file", path, CONFIG_FILE_MAX,
	    CONFIG_FILE_MAX / (1024 * 1024));
fail:
	free(buf);
	close(fd);
	return (-1);
}

/*
 * A stream over file's text for the error-path scans below: the bytes
 * parsed when file is the configuration file itself, else the included
 * file read again as cfg_read_text reads (into *own, freed by the caller).
 * NULL when it cannot be read.
 */
static FILE *
cfg_open_text(const struct cfg_ctx *x, const char *file, char **own)
{
	char	err[512];
	size_t	len;

	*own = NULL;
	if (x->text != NULL && strcmp(file, x->c->path) == 0)
		return (x->len > 0 ? fmemopen((void *)(uintptr_t)x->text,
		    x->len, "r") : NULL);
	if (cfg_read_text(file, own, &len, err, sizeof(err)) == -1 || len == 0)
		return (NULL);
	return (fmemopen(*own, len, "r"));
}

/* The full path of s: "pools.blue.members[1]"; "" for the root. */
static void
cfg_path(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t	*p;
	size_t			 n;

	buf[0] = '\0';
	if (s == NULL || (p = config_setting_parent(s)) == NULL)
		return;
	cfg_path(p, buf, len);
	n = strlen(buf);
	if (config_setting_is_list(p) || config_setting_is_array(p))
		snprintf(buf + n, len - n, "[%d]", config_setting_index(s));
	else
		snprintf(buf + n, len - n, "%s%s", n > 0 ? "." : "",
		    config_setting_name(s));
}

/* The line of s, or of the nearest enclosing setting that has one, or 1. */
static unsigned
cfg_line(const config_setting_t *s)
{
	for (; s != NULL; s = config_setting_parent(s))
		if (config_setting_source_line(s) > 0)
			return (config_setting_source_line(s));
	return (1);
}

/*
 * The file libconfig names (f, or NULL for the one it was given as text)
 * as a path that opens: libconfig names an included file as the @include
 * wrote it, which is relative to the include directory, not to the cwd.
 */
static const char *
cfg_file_name(const struct cfg_ctx *x, const char *f, char *buf, size_t len)
{
	if (f == NULL || strcmp(f, x->c->path) == 0 || x->incdir == NULL)
		return (x->c->path);
	snprintf(buf, len, "%s/%s", x->incdir, f);
	return (buf);
}

/* The file s is written in, as cfg_file_name says. */
static const char *
cfg_file(const struct cfg_ctx *x, const config_setting_t *s, char *buf,
    size_t len)
{
	return (cfg_file_name(x, s != NULL ? config_setting_source_file(s) :
	    NULL, buf, len));
}

/*
 * libconfig gives a string the line of the token after it (it looks ahead
 * for an adjacent string to concatenate), so the last string of a list
 * written one per line gets the line of the closing bracket.  Returns the
 * last line in from..to that holds the quoted value v, or to.  Only runs
 * on the error path, on a small local file.
 */
static unsigned
cfg_string_line(const struct cfg_ctx *x, const char *file, unsigned from,
    unsigned to, const char *v)
{
	FILE		*fp;
	char		*buf = NULL, *q = NULL, *own;
	size_t		 cap = 0;
	unsigned	 n = 0, found = 0;

	if ((fp = cfg_open_text(x, file, &own)) == NULL ||
	    asprintf(&q, "\"%s\"", v) == -1) {
		q = NULL;
		goto done;
	}
	while (++n <= to && getline(&buf, &cap, fp) != -1)
		if (n >= from && strstr(buf, q) != NULL)
			found = n;
done:
	if (fp != NULL)
		fclose(fp);
	free(own);
	free(buf);
	free(q);
	return (found > 0 ? found : to);
}

/* The line where s is written, for messages. */
static unsigned
cfg_setting_line(struct cfg_ctx *x, const config_setting_t *s)
{
	const config_setting_t	*p = config_setting_parent(s);
	unsigned		 line = cfg_line(s);
	char			 file[PATH_MAX];

	if (config_setting_type(s) == CONFIG_TYPE_STRING && p != NULL &&
	    (config_setting_is_list(p) || config_setting_is_array(p)))
		line = cfg_string_line(x, cfg_file(x, s, file, sizeof(file)),
		    cfg_line(p), line, config_setting_get_string(s));
	return (line);
}

/*
 * Writes "FILE:LINE: PATH[.name]: message" into the error buffer, where
 * FILE and LINE are those of s (or of its nearest ancestor with a line)
 * and name, when given, is a missing member of s.  Returns -1.
 */
static int
cfg_fail(struct cfg_ctx *x, const config_setting_t *s, const char *name,
    const char *fmt, ...)
{
	char	path[CFG_PATH_MAX], file[PATH_MAX];
	size_t	n;
	int	w;
	va_list	ap;

	cfg_path(s, path, sizeof(path));
	if (name != NULL) {
		n = strlen(path);
		snprintf(path + n, sizeof(path) - n, "%s%s", n > 0 ? "." : "",
		    name);
	}
	w = snprintf(x->err, x->errlen, "%s:%u: %s: ", cfg_file(x, s, file,
	    sizeof(file)),
	    s != NULL ? cfg_setting_line(x, s) : 1, path);
	if (w < 0 || (size_t)w >= x->errlen)
		return (-1);
	va_start(ap, fmt);
	vsnprintf(x->err + w, x->errlen - (size_t)w, fmt, ap);
	va_end(ap);
	return (-1);
}

static const struct cfg_key *
cfg_key_find(const struct cfg_key *keys, const char *name)
{
	for (; keys->name != NULL; keys++)
		if (strcmp(keys->name, name) == 0)
			return (keys);
	return (NULL);
}

#define CFG_GROUP_KEYS_MAX	32

/* "unknown setting", with the closest of keys' names when one is close. */
static int
cfg_unknown(struct cfg_ctx *x, const config_setting_t *m,
    const struct cfg_key *keys)
{
	const char	*names[CFG_GROUP_KEYS_MAX];
	size_t		 n = 0;

	for (; keys->name != NULL && n < CFG_GROUP_KEYS_MAX; keys++)
		if (keys->print != NULL)	/* not a replaced key */
			names[n++] = keys->name;
	cfg_fail(x, m, NULL, "unknown setting");
	suggest_append(x->err, x->errlen, config_setting_name(m), names, n);
	return (-1);
}

/* Loads every member of group s through the table keys. */
static int
cfg_walk(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *keys)
{
	const config_setting_t	*m;
	const struct cfg_key	*k;
	int			 i;

	for (i = 0; i < config_setting_length(s); i++) {
		m = config_setting_get_elem(s, i);
		if ((k = cfg_key_find(keys, config_setting_name(m))) == NULL)
			return (cfg_unknown(x, m, keys));
		if (k->load(x, m, k) == -1)
			return (-1);
	}
	return (0);
}

static int
cfg_load_group(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	if (!config_setting_is_group(s))
		return (cfg_fail(x, s, NULL, "expected a group: %s = { ... };",
		    k->name));
	return (cfg_walk(x, s, k->keys));
}

/* The string value of s, or NULL (error written) if s is not a string. */
static const char *
cfg_string(struct cfg_ctx *x, const config_setting_t *s, const char *what)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		cfg_fail(x, s, NULL, "expected %s", what);
		return (NULL);
	}
	return (config_setting_get_string(s));
}

static int
cfg_addr_ptr_cmp(const void *x, const void *y)
{
	const struct addr	*a = *(const struct addr *const *)x;
	const struct addr	*b = *(const struct addr *const *)y;
	int			 d = addr_cmp(a, b);

	/* equal addresses in the order they were written */
	return (d != 0 ? d : (a < b ? -1 : a > b));
}

/*
 * Finds a duplicate among the n addresses of a by sorting pointers to
 * them (a pool may have tens of thousands of members).  Returns 0, or -1
 * with *dup and *first (dup's earlier twin) set; -2 when out of memory.
 */
static int
cfg_addrs_unique(const struct addr *a, size_t n, size_t *dup, size_t *first)
{
	const struct addr	**v;
	int			  rc = 0;

	if (n < 2)
		return (0);
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return (-2);
	for (size_t i = 0; i < n; i++)
		v[i] = &a[i];
	qsort(v, n, sizeof(*v), cfg_addr_ptr_cmp);
	for (size_t i = 1; i < n; i++)
		if (addr_cmp(v[i - 1], v[i]) == 0 &&
		    (rc == 0 || (size_t)(v[i] - a) < *dup)) {
			/* the earliest line that repeats an address */
			*dup = (size_t)(v[i] - a);
			*first = (size_t)(v[i - 1] - a);
			rc = -1;
		}
	free(v);
	return (rc);
}

/*
 * Parses the list or array s of "host:port" strings into a new array of
 * addresses (*out, *n); an empty list or a duplicate address is an error.
 */
static int
cfg_addrs(struct cfg_ctx *x, const config_setting_t *s, bool zero_ok,
    struct addr **out, size_t *n)
{
	const config_setting_t	*e;
	const char		*v;
	struct addr		*a = NULL;
	char			 why[128];
	size_t			 dup = 0, first = 0;
	int			 i, len = config_setting_length(s);

	if (!config_setting_is_list(s) && !config_setting_is_array(s)) {
		cfg_fail(x, s, NULL, "expected a list of \"host:port\" "
		    "strings: [ \"127.0.0.1:9001\", ... ]");
		goto fail;
	}
	if (len == 0 || (a = calloc((size_t)len, sizeof(*a))) == NULL) {
		cfg_fail(x, s, NULL, len == 0 ? "must not be empty" :
		    "out of memory");
		goto fail;
	}
	for (i = 0; i < len; i++) {
		e = config_setting_get_elem(s, i);
		if ((v = cfg_string(x, e, "a \"host:port\" string")) == NULL)
			goto fail;
		if (addr_parse(v, &a[i], zero_ok, why, sizeof(why)) == -1) {
			cfg_fail(x, e, NULL, "%s", why);
			goto fail;
		}
	}
	switch (cfg_addrs_unique(a, (size_t)len, &dup, &first)) {
	case -2:
		cfg_fail(x, s, NULL, "out of memory");
		goto fail;
	case -1:
		e = config_setting_get_elem(s, (unsigned)dup);
		cfg_fail(x, e, NULL, "\"%s\": duplicate (same address as [%zu])",
		    config_setting_get_string(e), first);
		goto fail;
	}
	*out = a;
	*n = (size_t)len;
	return (0);
fail:
	free(a);
	return (-1);
}

static int
cfg_load_listen(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	if (cfg_addrs(x, s, true, &x->c->listen, &x->c->nlisten) == -1)
		return (-1);
	/* for `cutover -t`'s bind lines; only here, since finding a list
	 * element's line reads the file up to it (a pool may hold 16,000) */
	for (size_t i = 0; i < x->c->nlisten; i++)
		x->c->listen[i].line = cfg_setting_line(x,
		    config_setting_get_elem(s, (unsigned)i));
	return (0);
}

static int
cfg_load_active(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	const char	*v;

	if ((v = cfg_string(x, s, "a pool name")) == NULL)
		return (-1);
	if (pool_parse(v, &x->c->active) == -1)
		return (cfg_fail(x, s, NULL, "\"%s\": expected \"%s\" or "
		    "\"%s\"", v, pool_name(POOL_BLUE), pool_name(POOL_GREEN)));
	return (0);
}

/* "unknown pool": the pool meant when the name is close to one. */
static int
cfg_unknown_pool(struct cfg_ctx *x, const config_setting_t *p)
{
	const char	*names[POOL_COUNT], *near;

	for (int i = 0; i < POOL_COUNT; i++)
		names[i] = pool_name((enum pool_id)i);
	if ((near = suggest(config_setting_name(p), names, POOL_COUNT)) != NULL)
		return (cfg_fail(x, p, NULL, "unknown pool (did you mean "
		    "'%s'?)", near));
	return (cfg_fail(x, p, NULL, "unknown pool (expected \"%s\" or "
	    "\"%s\")", pool_name(POOL_BLUE), pool_name(POOL_GREEN)));
}

/* Walks pools.blue and pools.green; both must exist and have members. */
static int
cfg_load_pools(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	const config_setting_t	*p;
	enum pool_id		 id;
	int			 i;

	if (!config_setting_is_group(s))
		return (cfg_fail(x, s, NULL, "expected a group: pools = { "
		    "%s = { ... }; %s = { ... }; };", pool_name(POOL_BLUE),
		    pool_name(POOL_GREEN)));
	for (i = 0; i < config_setting_length(s); i++) {
		p = config_setting_get_elem(s, i);
		if (pool_parse(config_setting_name(p), &id) == -1)
			return (cfg_unknown_pool(x, p));
		if (!config_setting_is_group(p))
			return (cfg_fail(x, p, NULL, "expected a group: "
			    "%s = { members = [ ... ]; };", pool_name(id)));
		if (cfg_walk(x, p, k->keys) == -1)
			return (-1);
	}
	for (id = 0; id < POOL_COUNT; id++) {
		p = config_setting_get_member(s, pool_name(id));
		if (p == NULL)
			return (cfg_fail(x, s, pool_name(id), "missing (both "
			    "pools, %s and %s, must be defined)",
			    pool_name(POOL_BLUE), pool_name(POOL_GREEN)));
		if (x->c->pools[id].nmembers == 0 &&
		    x->c->pools[id].dns == NULL)
			return (cfg_fail(x, p, "members", "missing (pool %s "
			    "needs members, a dns name, or both)",
			    pool_name(id)));
	}
	return (0);
}

static int
cfg_load_members(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	struct config_pool	*cp;
	enum pool_id		 id;

	/* cfg_load_pools has checked the parent's name */
	if (pool_parse(config_setting_name(config_setting_parent(s)),
	    &id) == -1)
		return (cfg_fail(x, s, NULL, "not inside a pool"));
	cp = &x->c->pools[id];
	free(cp->members);
	cp->members = NULL;
	cp->nmembers = 0;
	if (config_setting_length(s) == 0 && (config_setting_is_list(s) ||
	    config_setting_is_array(s)))
		return (cfg_fail(x, s, NULL, "empty: pool %s needs at least "
		    "one member", pool_name(id)));
	return (cfg_addrs(x, s, false, &cp->members, &cp->nmembers));
}

/*
 * Whether name is a DNS name: labels of 1-63 letters, digits, '-' or '_',
 * at most CONFIG_DNS_NAME_MAX bytes without the optional final dot (an
 * absolute name).  0, or -1 with why.
 */
static int
cfg_dns_name(const char *name, char *why, size_t len)
{
	size_t	n = strlen(name), label;

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > CONFIG_DNS_NAME_MAX) {
		snprintf(why, len, "a name of 1-%d bytes", CONFIG_DNS_NAME_MAX);
		return (-1);
	}
	for (size_t i = 0; i < n; i += label + 1) {
		label = strcspn(name + i, ".");
		if (i + label > n)
			label = n - i;
		if (label == 0 || label > 63) {
			snprintf(why, len, "labels (between dots) must be "
			    "1-63 bytes");
			return (-1);
		}
		for (size_t j = i; j < i + label; j++)
			if (!((name[j] >= 'a' && name[j] <= 'z') ||
			    (name[j] >= 'A' && name[j] <= 'Z') ||
			    (name[j] >= '0' && name[j] <= '9') ||
			    name[j] == '-' || name[j] == '_')) {
				snprintf(why, len, "'%c' in a name (letters, "
				    "digits, '-', '_' and dots only)",
				    name[j]);
				return (-1);
			}
	}
	return (0);
}

/* pools.NAME.dns = "name:port": every address of name is a member. */
static int
cfg_load_dns(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	struct config_pool	*cp;
	struct addr		 a;
	const char		*v, *colon;
	char			 why[128], *end;
	unsigned long		 port;
	enum pool_id		 id;

	if (pool_parse(config_setting_name(config_setting_parent(s)),
	    &id) == -1)
		return (cfg_fail(x, s, NULL, "not inside a pool"));
	cp = &x->c->pools[id];
	if ((v = cfg_string(x, s, "a \"name:port\" string such as "
	    "\"app-green.default.svc.cluster.local:8080\"")) == NULL)
		return (-1);
	if (addr_parse(v, &a, false, why, sizeof(why)) == 0)
		return (cfg_fail(x, s, NULL, "\"%s\": a numeric address "
		    "(list it in members)", v));
	if ((colon = strrchr(v, ':')) == NULL || colon[1] == '\0')
		return (cfg_fail(x, s, NULL, "\"%s\": missing port "
		    "(expected name:port)", v));
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || errno != 0 || port < 1 || port > 65535 ||
	    colon[1] < '0' || colon[1] > '9')
		return (cfg_fail(x, s, NULL, "\"%s\": bad port (1-65535)",
		    colon + 1));
	free(cp->dns);
	free(cp->dns_name);
	cp->dns = cp->dns_name = NULL;
	if ((cp->dns_name = strndup(v, (size_t)(colon - v))) == NULL ||
	    (cp->dns = strdup(v)) == NULL)
		return (cfg_fail(x, s, NULL, "out of memory"));
	if (cfg_dns_name(cp->dns_name, why, sizeof(why)) == -1)
		return (cfg_fail(x, s, NULL, "\"%s\": not a DNS name: %s",
		    cp->dns_name, why));
	cp->dns_port = (unsigned)port;
	return (0);
}

/* dns.nameservers: "host:port" strings; an empty list means resolv_conf's. */
static int
cfg_load_nameservers(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	struct config_dns	*d = &x->c->dns;

	free(d->nameservers);
	d->nameservers = NULL;
	d->nnameservers = 0;
	if ((config_setting_is_list(s) || config_setting_is_array(s)) &&
	    config_setting_length(s) == 0)
		return (0);
	return (cfg_addrs(x, s, false, &d->nameservers, &d->nnameservers));
}

static int
cfg_load_socket(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	const char	*v;

	if ((v = cfg_string(x, s, "a path string")) == NULL)
		return (-1);
	if (*v == '\0')
		return (cfg_fail(x, s, NULL, "must not be empty"));
	if (strlen(v) >= SUN_PATH_MAX)
		return (cfg_fail(x, s, NULL, "path too long (%zu bytes, at "
		    "most %zu)", strlen(v), SUN_PATH_MAX - 1));
	free(x->c->admin_socket);
	if ((x->c->admin_socket = strdup(v)) == NULL)
		return (cfg_fail(x, s, NULL, "out of memory"));
	return (0);
}

/* admin.http: "host:port" of the read-only HTTP listener (port 0: any). */
static int
cfg_load_admin_http(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	const char	*v;
	char		 why[128];

	if ((v = cfg_string(x, s, "a \"host:port\" string")) == NULL)
		return (-1);
	if (x->c->admin_http == NULL &&
	    (x->c->admin_http = calloc(1, sizeof(struct addr))) == NULL)
		return (cfg_fail(x, s, NULL, "out of memory"));
	if (addr_parse(v, x->c->admin_http, true, why, sizeof(why)) == -1)
		return (cfg_fail(x, s, NULL, "%s", why));
	x->c->admin_http->line = cfg_setting_line(x, s);
	return (0);
}

/*
 * admin.socket_group: a group that exists, looked up now so that `cutover
 * -t` and a reload name the line (the socket itself is made at start).
 */
static int
cfg_load_socket_group(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	char	why[128];
	gid_t	gid;

	if (cfg_load_path(x, s, k) == -1)
		return (-1);
	if (config_group_id(x->c->admin_socket_group, &gid, why,
	    sizeof(why)) == -1)
		return (cfg_fail(x, s, NULL, "%s", why));
	return (0);
}

/* Looks up group's id (the lookup may block): 0, or -1 with a reason. */
int
config_group_id(const char *group, gid_t *gid, char *err, size_t errlen)
{
	struct group	 gr, *res = NULL;
	char		*buf = NULL, *nbuf;
	long		 size = sysconf(_SC_GETGR_R_SIZE_MAX);
	int		 rc;

	if (size <= 0)
		size = 1024;
	do {
		if ((nbuf = realloc(buf, (size_t)size)) == NULL) {
			rc = ENOMEM;
			break;
		}
		buf = nbuf;
		rc = getgrnam_r(group, &gr, buf, (size_t)size, &res);
		size *= 2;
	} while (rc == ERANGE && size <= 1024 * 1024);
	if (rc == 0 && res != NULL)
		*gid = gr.gr_gid;
	else if (rc == 0 || rc == ENOENT || rc == ESRCH)
		snprintf(err, errlen, "no group named '%s'", group);
	else
		snprintf(err, errlen, "group '%s': %s", group, strerror(rc));
	free(buf);
	return (rc == 0 && res != NULL ? 0 : -1);
}

/* Whether admin.http names a port that a client listener has too. */
static int
cfg_check_admin_http(struct cfg_ctx *x, const config_setting_t *root)
{
	const struct addr	*h = x->c->admin_http;
	const config_setting_t	*a = config_setting_get_member(root, "admin");

	if (h == NULL || strcmp(strrchr(h->text, ':'), ":0") == 0)
		return (0);
	for (size_t i = 0; i < x->c->nlisten; i++)
		if (addr_equal(h, &x->c->listen[i]))
			return (cfg_fail(x, config_setting_get_member(a,
			    "http"), NULL, "\"%s\": must differ from "
			    "listen[%zu] (never share a queue with client "
			    "traffic)", h->text, i));
	return (0);
}

static int
cfg_load_mode(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	const char	*v;
	unsigned long	 mode;

	v = config_setting_type(s) == CONFIG_TYPE_STRING ?
	    config_setting_get_string(s) : NULL;
	if (v == NULL || *v == '\0' || strspn(v, "01234567") != strlen(v))
		return (cfg_fail(x, s, NULL, "expected a string of octal "
		    "digits such as \"0660\" (libconfig has no octal "
		    "numbers)"));
	errno = 0;
	mode = strtoul(v, NULL, 8);
	if (errno != 0 || mode > 0777)
		return (cfg_fail(x, s, NULL, "\"%s\": mode out of range "
		    "(0000-0777)", v));
	x->c->admin_socket_mode = (mode_t)mode;
	return (0);
}

/* The scan's note of s's literal when libconfig wrapped it, or NULL. */
static struct config_scan_wide *
cfg_wide(struct cfg_ctx *x, const config_setting_t *s)
{
	struct config_scan	*sc = &x->scan;
	char			 path[CFG_PATH_MAX];

	if (sc->nwide == 0)
		return (NULL);
	cfg_path(s, path, sizeof(path));
	for (size_t i = 0; i < sc->nwide && i < CONFIG_SCAN_WIDE_MAX; i++)
		if (strcmp(sc->wide[i].path, path) == 0)
			return (&sc->wide[i]);
	return (NULL);
}

/*
 * A literal libconfig wrapped that no setting's check reported (one the
 * scan kept no note of, or one of a setting read another way): an error.
 * 0 when there is none.
 */
static int
cfg_wide_left(struct cfg_ctx *x)
{
	struct config_scan	*sc = &x->scan;

	for (size_t i = 0; i < sc->nwide && i < CONFIG_SCAN_WIDE_MAX; i++)
		if (!sc->wide[i].used || sc->nwide > CONFIG_SCAN_WIDE_MAX) {
			snprintf(x->err, x->errlen, "%s: %s: %s does not fit "
			    "in 32 bits, and libconfig would wrap it: a "
			    "64-bit number is written with an L (%sL)",
			    sc->wide[i].where, sc->wide[i].path[0] != '\0' ?
			    sc->wide[i].path : "(top level)", sc->wide[i].lit,
			    sc->wide[i].lit);
			return (-1);
		}
	return (0);
}

/* The integer value of s in lo..hi into *v; 0, or -1 (error written). */
static int
cfg_int(struct cfg_ctx *x, const config_setting_t *s, long long lo,
    long long hi, const char *what, long long *v)
{
	struct config_scan_wide	*wide;
	long long		 w;

	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64)
		return (cfg_fail(x, s, NULL, "expected %s", what));
	*v = config_setting_get_int64(s);
	/* libconfig 1.5 wraps a literal beyond 32 bits without an L
	 * (4294967298 reads as 2): the scan saw it as written */
	if (config_setting_type(s) == CONFIG_TYPE_INT &&
	    (wide = cfg_wide(x, s)) != NULL) {
		wide->used = true;
		errno = 0;
		w = strtoll(wide->lit, NULL, strpbrk(wide->lit, "xX") != NULL ?
		    16 : 10);
		if (errno != ERANGE && w >= lo && w <= hi)
			return (cfg_fail(x, s, NULL, "%s: a number this large "
			    "is written with an L (%sL), or libconfig reads "
			    "it wrapped to %lld", wide->lit, wide->lit, *v));
		return (cfg_fail(x, s, NULL, "%s out of range (%lld-%lld)",
		    wide->lit, lo, hi));
	}
	if (*v < lo || *v > hi)
		return (cfg_fail(x, s, NULL, "%lld out of range (%lld-%lld)",
		    *v, lo, hi));
	return (0);
}

/* An integer number of milliseconds in k->min..k->max, at k->off. */
static int
cfg_load_ms(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	long long	v = 0;

	if (cfg_int(x, s, k->min, k->max, "an integer number of "
	    "milliseconds", &v) == -1)
		return (-1);
	*(unsigned *)(void *)((char *)x->c + k->off) = (unsigned)v;
	return (0);
}

static int
cfg_load_level(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	const char	*v;

	if ((v = cfg_string(x, s, "a log level string")) == NULL)
		return (-1);
	if (log_level_parse(v, &x->c->log_level) == -1)
		return (cfg_fail(x, s, NULL, "\"%s\": expected \"%s\", "
		    "\"%s\", \"%s\" or \"%s\"", v, log_level_name(LL_ERROR),
		    log_level_name(LL_WARN), log_level_name(LL_INFO),
		    log_level_name(LL_DEBUG)));
	return (0);
}

static int
cfg_load_access(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	const char	*v;

	/* the booleans of old files: true was the text line */
	if (config_setting_type(s) == CONFIG_TYPE_BOOL) {
		x->c->log_access = config_setting_get_bool(s) ?
		    ACCESSLOG_TEXT : ACCESSLOG_OFF;
		return (0);
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return (cfg_fail(x, s, NULL, "expected \"%s\", \"%s\" or "
		    "\"%s\"", accesslog_format_name(ACCESSLOG_OFF),
		    accesslog_format_name(ACCESSLOG_TEXT),
		    accesslog_format_name(ACCESSLOG_JSON)));
	v = config_setting_get_string(s);
	if (accesslog_format_parse(v, &x->c->log_access) == -1)
		return (cfg_fail(x, s, NULL, "\"%s\": expected \"%s\", "
		    "\"%s\" or \"%s\"", v,
		    accesslog_format_name(ACCESSLOG_OFF),
		    accesslog_format_name(ACCESSLOG_TEXT),
		    accesslog_format_name(ACCESSLOG_JSON)));
	return (0);
}

/* The health group s's value belongs to: a pool's, or the global one. */
static struct check_config *
cfg_health(struct cfg_ctx *x, const config_setting_t *s)
{
	const config_setting_t	*group = config_setting_parent(s);
	const config_setting_t	*owner = config_setting_parent(group);
	enum pool_id		 id;

	if (owner != NULL && config_setting_parent(owner) != NULL &&
	    pool_parse(config_setting_name(owner), &id) == 0)
		return (&x->c->pools[id].health);
	return (&x->c->health);
}

static int
cfg_load_hstr(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	struct check_config	*hc = cfg_health(x, s);
	const char		*v;

	if ((v = cfg_string(x, s, "a string")) == NULL)
		return (-1);
	if (strlen(v) >= CHECK_STR_MAX || strpbrk(v, " " CFG_CONTROL_CHARS) !=
	    NULL)
		return (cfg_fail(x, s, NULL, "\"%s\": must be shorter than "
		    "%d bytes, without spaces or control characters", v,
		    CHECK_STR_MAX));
	if (k->bit == CHECK_SET_PATH && v[0] != '/')
		return (cfg_fail(x, s, NULL, "\"%s\": must start with /", v));
	snprintf((char *)hc + k->off, CHECK_STR_MAX, "%s", v);
	hc->set |= k->bit;
	return (0);
}

static int
cfg_load_hnum(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	struct check_config	*hc = cfg_health(x, s);
	long long		 v = 0;

	if (cfg_int(x, s, k->min, k->max, "an integer", &v) == -1)
		return (-1);
	*(unsigned *)(void *)((char *)hc + k->off) = (unsigned)v;
	hc->set |= k->bit;
	return (0);
}

/* s's boolean into *v; 0, or -1 when s is no boolean. */
static int
cfg_bool(struct cfg_ctx *x, const config_setting_t *s, bool *v)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return (cfg_fail(x, s, NULL, "expected true or false"));
	*v = config_setting_get_bool(s) != 0;
	return (0);
}

/* A boolean of a health group (k->off is into struct check_config). */
static int
cfg_load_hbool(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	struct check_config	*hc = cfg_health(x, s);

	if (cfg_bool(x, s, (bool *)(void *)((char *)hc + k->off)) == -1)
		return (-1);
	hc->set |= k->bit;
	return (0);
}

static int
cfg_load_expect(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	struct check_config	*hc = cfg_health(x, s);
	const char		*v;
	char			 why[128];

	if ((v = cfg_string(x, s, "a string of status codes such as "
	    "\"200-399\"")) == NULL)
		return (-1);
	if (check_expect_parse(v, &hc->expect, why, sizeof(why)) == -1)
		return (cfg_fail(x, s, NULL, "%s", why));
	hc->set |= k->bit;
	return (0);
}

static int
cfg_load_min(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	struct check_min	*m = &x->c->min_healthy;
	char			 why[128];
	long long		 v = 0;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		if (check_min_parse(config_setting_get_string(s), m, why,
		    sizeof(why)) == -1)
			return (cfg_fail(x, s, NULL, "%s", why));
		return (0);
	}
	if (cfg_int(x, s, 1, 100000, "a count such as 2 or a percentage "
	    "such as \"50%\"", &v) == -1)
		return (-1);
	m->count = (unsigned)v;
	m->percent = 0;
	return (0);
}

/* A boolean at k->off. */
static int
cfg_load_bool(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	return (cfg_bool(x, s, (bool *)(void *)((char *)x->c + k->off)));
}

/* An integer in k->min..k->max at k->off. */
static int
cfg_load_uint(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	long long	v = 0;

	if (cfg_int(x, s, k->min, k->max, "an integer", &v) == -1)
		return (-1);
	*(unsigned *)(void *)((char *)x->c + k->off) = (unsigned)v;
	return (0);
}

/*
 * A share in (0, 1] at k->off (a double): 0.05 is 5%.  An integer 1 is
 * fine; 0 would trip on the first error, and is refused.
 */
static int
cfg_load_ratio(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	double	v;

	if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
		v = config_setting_get_float(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT ||
	    config_setting_type(s) == CONFIG_TYPE_INT64)
		v = (double)config_setting_get_int64(s);
	else
		return (cfg_fail(x, s, NULL, "expected a share, a number "
		    "greater than 0 and at most 1 (0.05 is 5%%)"));
	if (!(v > 0 && v <= 1))
		return (cfg_fail(x, s, NULL, "%g out of range: a share is "
		    "greater than 0 and at most 1 (0.05 is 5%%)", v));
	*(double *)(void *)((char *)x->c + k->off) = v;
	return (0);
}

static int
cfg_load_bytes(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	return (cfg_int(x, s, 0, 1LL << 50, "a number of bytes (write "
	    "large ones with an L suffix: 10000000000L)",
	    &x->c->max_body_bytes));
}

/* A non-empty string at k->off (a char * the config owns). */
static int
cfg_load_path(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	char		**dst = (char **)(void *)((char *)x->c + k->off);
	const char	*v;

	if ((v = cfg_string(x, s, "a string")) == NULL)
		return (-1);
	if (*v == '\0')
		return (cfg_fail(x, s, NULL, "must not be empty"));
	free(*dst);
	if ((*dst = strdup(v)) == NULL)
		return (cfg_fail(x, s, NULL, "out of memory"));
	return (0);
}

/* Whether c may be in a header or cookie name (RFC 9110 5.6.2 tchar). */
static bool
cfg_is_tchar(unsigned char c)
{
	return (c > 0x20 && c < 0x7f && strchr("\"(),/:;<=>?@[\\]{}", c) ==
	    NULL);
}

/* A header or cookie name at k->off ("" only when k->min is 1). */
static int
cfg_load_name(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	char		**dst = (char **)(void *)((char *)x->c + k->off);
	const char	*v;

	if ((v = cfg_string(x, s, "a string")) == NULL)
		return (-1);
	if (*v == '\0' && k->min == 0)
		return (cfg_fail(x, s, NULL, "must not be empty"));
	if (strlen(v) > 64)
		return (cfg_fail(x, s, NULL, "longer than 64 characters"));
	for (const char *p = v; *p != '\0'; p++)
		if (!cfg_is_tchar((unsigned char)*p))
			return (cfg_fail(x, s, NULL, "'%s' is not a valid "
			    "name: letters, digits and !#$%%&'*+-.^_`|~ only",
			    v));
	free(*dst);
	if ((*dst = strdup(v)) == NULL)
		return (cfg_fail(x, s, NULL, "out of memory"));
	return (0);
}

/* preview.token: what X-Cutover-Token must carry, visible ASCII. */
static int
cfg_load_token(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	const char	*v;

	if ((v = cfg_string(x, s, "a string")) == NULL)
		return (-1);
	if (strlen(v) < 8 || strlen(v) > 256)
		return (cfg_fail(x, s, NULL, "must be 8 to 256 characters "
		    "long"));
	for (const char *p = v; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return (cfg_fail(x, s, NULL, "printable ASCII "
			    "without spaces only (it is a header's value)"));
	return (cfg_load_path(x, s, k));
}

#define CFG_TRUSTED_MAX	64	/* scanned for every request */

/* forwarded.trusted: a list of networks, "10.244.0.0/16" or an address. */
static int
cfg_load_trusted(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	const config_setting_t	*e;
	const char		*v;
	struct addr_cidr	*a = NULL;
	char			 why[160];
	int			 i, len = config_setting_length(s);

	if (!config_setting_is_list(s) && !config_setting_is_array(s))
		return (cfg_fail(x, s, NULL, "expected a list of networks: "
		    "[ \"10.244.0.0/16\", \"fd00::/8\", ... ]"));
	if (len > CFG_TRUSTED_MAX)
		return (cfg_fail(x, s, NULL, "%d networks, at most %d", len,
		    CFG_TRUSTED_MAX));
	if (len > 0 && (a = calloc((size_t)len, sizeof(*a))) == NULL)
		return (cfg_fail(x, s, NULL, "out of memory"));
	for (i = 0; i < len; i++) {
		e = config_setting_get_elem(s, i);
		if ((v = cfg_string(x, e, "a network string such as "
		    "\"10.244.0.0/16\"")) == NULL)
			goto fail;
		if (addr_cidr_parse(v, &a[i], why, sizeof(why)) == -1) {
			cfg_fail(x, e, NULL, "%s", why);
			goto fail;
		}
	}
	free(x->c->fwd.trusted);
	x->c->fwd.trusted = a;
	x->c->fwd.ntrusted = (size_t)len;
	return (0);
fail:
	free(a);
	return (-1);
}

/* A key that was replaced by another: always an error. */
/* The methods mirror.methods may name: those a copy may safely repeat
 * or that a test of the other pool may want (CONNECT is never proxied). */
static const struct {
	const char	*name;
	unsigned	 method;	/* llhttp's */
} cfg_methods[] = {
	{ "GET", HTTP_GET }, { "HEAD", HTTP_HEAD }, { "OPTIONS", HTTP_OPTIONS },
	{ "TRACE", HTTP_TRACE }, { "POST", HTTP_POST }, { "PUT", HTTP_PUT },
	{ "PATCH", HTTP_PATCH }, { "DELETE", HTTP_DELETE },
};
#define CFG_NMETHODS	(sizeof(cfg_methods) / sizeof(cfg_methods[0]))

static int
cfg_load_methods(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	const config_setting_t	*e;
	const char		*v;
	uint64_t		 set = 0;
	size_t			 j;
	int			 i, len = config_setting_length(s);

	if (!config_setting_is_list(s) && !config_setting_is_array(s))
		return (cfg_fail(x, s, NULL, "expected a list of methods: "
		    "[ \"GET\", \"HEAD\", ... ]"));
	if (len == 0)
		return (cfg_fail(x, s, NULL, "no method: to mirror nothing, "
		    "set mirror.percent = 0"));
	for (i = 0; i < len; i++) {
		e = config_setting_get_elem(s, i);
		if ((v = cfg_string(x, e, "a method such as \"GET\"")) ==
		    NULL)
			return (-1);
		for (j = 0; j < CFG_NMETHODS; j++)
			if (strcmp(v, cfg_methods[j].name) == 0)
				break;
		if (j == CFG_NMETHODS)
			return (cfg_fail(x, e, NULL, "unknown method \"%s\" "
			    "(GET, HEAD, OPTIONS, TRACE, POST, PUT, PATCH or "
			    "DELETE, in capitals)", v));
		set |= 1ULL << cfg_methods[j].method;
	}
	x->c->mirror.methods = set;
	return (0);
}

static int
cfg_load_replaced(struct cfg_ctx *x, const config_setting_t *s,
    const struct cfg_key *k)
{
	return (cfg_fail(x, s, NULL, "replaced by forwarded.trusted = [ "
	    "\"CIDR\", ... ], the sources whose forwarding headers are kept "
	    "(default: none); see cutover.conf(5)"));
}

/* Everything that has a default, before the file is read. */
static void
cfg_defaults(struct config *c)
{
	c->active = POOL_BLUE;
	c->admin_socket_mode = CONFIG_DEFAULT_SOCKET_MODE;
	c->connect_ms = CONFIG_DEFAULT_CONNECT_MS;
	c->client_header_ms = CONFIG_DEFAULT_CLIENT_HEADER_MS;
	c->idle_ms = CONFIG_DEFAULT_IDLE_MS;
	c->upstream_ms = CONFIG_DEFAULT_UPSTREAM_MS;
	c->grace_ms = CONFIG_DEFAULT_GRACE_MS;
	c->tunnel_idle_ms = CONFIG_DEFAULT_TUNNEL_IDLE_MS;
	c->tunnel_fin_ms = CONFIG_DEFAULT_TUNNEL_FIN_MS;
	c->drain_timeout_ms = CONFIG_DEFAULT_DRAIN_TIMEOUT_MS;
	c->drain_spread_ms = CONFIG_DEFAULT_DRAIN_SPREAD_MS;
	c->guard.max_error_ratio = CONFIG_DEFAULT_GUARD_RATIO;
	c->guard.min_requests = CONFIG_DEFAULT_GUARD_MIN_REQUESTS;
	c->client_body_ms = CONFIG_DEFAULT_CLIENT_BODY_MS;
	c->max_connections = CONFIG_DEFAULT_MAX_CONNECTIONS;
	c->warm_idle = CONFIG_DEFAULT_WARM_IDLE;
	c->max_idle = CONFIG_DEFAULT_MAX_IDLE;
	c->splice = true;
	c->splice_requests = true;	/* conn_relay_splice */
	c->splice_min_bytes = CONFIG_DEFAULT_SPLICE_MIN_BYTES;
	c->mirror.methods = 1ULL << HTTP_GET | 1ULL << HTTP_HEAD |
	    1ULL << HTTP_OPTIONS;
	c->mirror.max_body = CONFIG_DEFAULT_MIRROR_MAX_BODY;
	c->mirror.timeout_ms = CONFIG_DEFAULT_MIRROR_TIMEOUT_MS;
	c->mirror.max_inflight = CONFIG_DEFAULT_MIRROR_MAX_INFLIGHT;
	c->fwd.xff = c->fwd.proto = c->fwd.host = true;
	c->log_level = LL_INFO;
	c->log_access = ACCESSLOG_OFF;
	c->dns.refresh_ms = CONFIG_DEFAULT_DNS_REFRESH_MS;
	c->dns.timeout_ms = CONFIG_DEFAULT_DNS_TIMEOUT_MS;
	check_config_defaults(&c->health);
}

/*
 * A min_healthy count above a pool's member count refuses every switch to
 * that pool (and every rollback): an error naming the pool.
 */
static int
cfg_check_min(struct cfg_ctx *x, const config_setting_t *root)
{
	const config_setting_t	*sw = config_setting_get_member(root, "switch");
	unsigned		 count = x->c->min_healthy.count;

	for (int i = 0; i < POOL_COUNT; i++) {
		/* a pool whose members come from DNS may grow to count */
		if (count <= x->c->pools[i].nmembers ||
		    x->c->pools[i].dns != NULL)
			continue;
		return (cfg_fail(x, config_setting_get_member(sw,
		    "min_healthy"), NULL, "%u, but pool %s has %zu member(s): "
		    "every switch to it would be refused", count,
		    pool_name((enum pool_id)i), x->c->pools[i].nmembers));
	}
	return (0);
}

/* Defaults that need memory, for settings the file did not give. */
static int
cfg_finish(struct cfg_ctx *x, const config_setting_t *root)
{
	char	why[128];

	if (config_setting_get_member(root, "pools") == NULL)
		return (cfg_fail(x, root, "pools", "missing (both pools, %s "
		    "and %s, must be defined)", pool_name(POOL_BLUE),
		    pool_name(POOL_GREEN)));
	if (x->c->listen == NULL) {
		if ((x->c->listen = calloc(1, sizeof(struct addr))) == NULL)
			return (cfg_fail(x, root, "listen", "out of memory"));
		x->c->nlisten = 1;
		if (addr_parse(CONFIG_DEFAULT_LISTEN, x->c->listen, true, why,
		    sizeof(why)) == -1)
			return (cfg_fail(x, root, "listen", "%s", why));
	}
	if (x->c->dns.resolv_conf == NULL && (x->c->dns.resolv_conf =
	    strdup(CONFIG_DEFAULT_RESOLV_CONF)) == NULL)
		return (cfg_fail(x, root, "dns.resolv_conf", "out of memory"));
	if (x->c->preview.header == NULL && (x->c->preview.header =
	    strdup(CONFIG_DEFAULT_PREVIEW_HEADER)) == NULL)
		return (cfg_fail(x, root, "preview.header", "out of memory"));
	if (x->c->admin_socket == NULL &&
	    (x->c->admin_socket = strdup(DEFAULT_ADMIN_SOCKET)) == NULL)
		return (cfg_fail(x, root, "admin.socket", "out of memory"));
	for (int i = 0; i < POOL_COUNT; i++)
		check_config_merge(&x->c->pools[i].health, &x->c->health);
	if (cfg_check_min(x, root) == -1)
		return (-1);
	if (x->c->admin_readonly_socket != NULL &&
	    strcmp(x->c->admin_readonly_socket, x->c->admin_socket) == 0)
		return (cfg_fail(x, config_setting_get_member(root, "admin"),
		    "readonly_socket", "must differ from admin.socket"));
	return (cfg_check_admin_http(x, root));
}

/* Reports why libconfig could not read path. */
static void
cfg_read_error(const struct cfg_ctx *x, const config_t *lc, const char *path,
    int saved_errno, char *err, size_t errlen)
{
	struct stat	st;
	const char	*file;
	char		 buf[PATH_MAX];

	if (config_error_type(lc) == CONFIG_ERR_FILE_IO) {
		/* libconfig refuses a directory without setting errno */
		if (saved_errno == 0)
			saved_errno = stat(path, &st) == 0 &&
			    S_ISDIR(st.st_mode) ? EISDIR : EIO;
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    strerror(saved_errno));
		return;
	}
	file = cfg_file_name(x, config_error_file(lc), buf, sizeof(buf));
	/* libconfig names the line only; the scan named the key too */
	if (config_error_text(lc) != NULL && strcmp(config_error_text(lc),
	    "duplicate setting name") == 0 && x->scan.dup[0] != '\0') {
		snprintf(err, errlen, "%s", x->scan.dup);
		return;
	}
	snprintf(err, errlen, "%s:%d: %s", file, config_error_line(lc),
	    config_error_text(lc));
}

int
config_hash(const char *path, char *hex, char *err, size_t errlen)
{
	char	*text;
	size_t	 len;

	if (cfg_read_text(path, &text, &len, err, errlen) == -1)
		return (-1);
	sha256_hex(text, len, hex);
	free(text);
	return (0);
}

/*
 * A message quotes what the file holds, which may be any byte: control
 * characters are written as \r, \n, \t or \xNN, so a message stays one
 * line of text in the log, on the terminal and in an admin reply.
 */
static void
cfg_err_escape(char *err, size_t errlen)
{
	char		 out[CFG_ERR_MAX];
	const char	*p;
	size_t		 n = 0;
	unsigned char	 ch;

	if (errlen == 0 || strcspn(err, CFG_CONTROL_CHARS) == strlen(err))
		return;
	for (p = err; *p != '\0' && n + 5 < sizeof(out); p++) {
		ch = (unsigned char)*p;
		if (ch == '\r' || ch == '\n' || ch == '\t')
			n += (size_t)snprintf(out + n, sizeof(out) - n, "\\%c",
			    ch == '\r' ? 'r' : ch == '\n' ? 'n' : 't');
		else if (ch < 0x20 || ch == 0x7f)
			n += (size_t)snprintf(out + n, sizeof(out) - n,
			    "\\x%02x", ch);
		else
			out[n++] = (char)ch;
	}
	out[n] = '\0';
	snprintf(err, errlen, "%s", out);
}

/*
 * Reads and validates path into a new config with one reference (the
 * caller's, dropped with config_free), or returns NULL with
 * "FILE:LINE: message" in err.  Touches nothing but the file, which it
 * reads once: the bytes hashed are the bytes parsed.
 */
struct config *
config_load(const char *path, char *err, size_t errlen)
{
	struct config	*c = NULL;
	struct cfg_ctx	 x;
	config_t	 lc;
	char		*dir = NULL, *text = NULL;
	const char	*incdir;
	size_t		 len;
	int		 rc, saved_errno;

	config_init(&lc);
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(path)) == NULL || (dir = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	c->refcnt = 1;
	cfg_defaults(c);
	if (cfg_read_text(path, &text, &len, err, errlen) == -1)
		goto fail;
	sha256_hex(text, len, c->sha256);
	x.c = c;
	x.text = text;
	x.len = len;
	x.err = err;
	x.errlen = errlen;
	/* @include "x" means x beside this file, not in the cwd */
	x.incdir = incdir = dirname(dir);
	config_set_include_dir(&lc, incdir);
	if (config_scan(&x.scan, path, text, len, incdir, cfg_read_text, err,
	    errlen) == -1)
		goto fail;
	errno = 0;
	rc = config_read_string(&lc, text);
	saved_errno = errno;
	if (rc != CONFIG_TRUE) {
		cfg_read_error(&x, &lc, path, saved_errno, err, errlen);
		goto fail;
	}
	/* more wrapped literals than the scan keeps: the first is enough */
	if ((x.scan.nwide > CONFIG_SCAN_WIDE_MAX && cfg_wide_left(&x) == -1) ||
	    cfg_walk(&x, config_root_setting(&lc), top_keys) == -1 ||
	    cfg_finish(&x, config_root_setting(&lc)) == -1 ||
	    cfg_wide_left(&x) == -1)
		goto fail;
	config_destroy(&lc);
	free(text);
	free(dir);
	return (c);
fail:
	config_destroy(&lc);
	free(text);
	free(dir);
	config_free(c);
	cfg_err_escape(err, errlen);
	return (NULL);
}

/* ---------------------------------------------------------- printing */

/* Starts a line for key k at o's depth: "  name = ". */
static void
cfg_put_key(struct cfg_out *o, const struct cfg_key *k)
{
	fprintf(o->fp, "%*s%s = ", o->depth * 2, "", k->name);
}

/* Writes v as a libconfig string, escaped. */
static void
cfg_put_str(struct cfg_out *o, const char *v)
{
	putc('"', o->fp);
	for (; *v != '\0'; v++)
		if (*v == '"' || *v == '\\')
			fprintf(o->fp, "\\%c", *v);
		else if ((unsigned char)*v < 0x20 || *v == 0x7f)
			fprintf(o->fp, "\\x%02x", (unsigned char)*v);
		else
			putc(*v, o->fp);
	putc('"', o->fp);
}

/* An optional setting that is not set: a comment, so it is still seen. */
static void
cfg_put_unset(struct cfg_out *o, const struct cfg_key *k)
{
	fprintf(o->fp, "%*s# %s: not set\n", o->depth * 2, "", k->name);
}

/* "name = "value";": the string setting k, or a comment if v is NULL. */
static void
cfg_put_string(struct cfg_out *o, const struct cfg_key *k, const char *v)
{
	if (v == NULL) {
		cfg_put_unset(o, k);
		return;
	}
	cfg_put_key(o, k);
	cfg_put_str(o, v);
	fputs(";\n", o->fp);
}

static void
cfg_put_addrs(struct cfg_out *o, const struct cfg_key *k,
    const struct addr *a, size_t n)
{
	cfg_put_key(o, k);
	fputs("[", o->fp);
	for (size_t i = 0; i < n; i++) {
		fputs(i > 0 ? ", " : " ", o->fp);
		cfg_put_str(o, a[i].text);
	}
	fputs(" ];\n", o->fp);
}

static void
cfg_print_keys(struct cfg_out *o, const struct cfg_key *keys)
{
	for (; keys->name != NULL; keys++)
		if (keys->print != NULL)
			keys->print(o, keys);
}

static void
cfg_print_group(struct cfg_out *o, const struct cfg_key *k)
{
	fprintf(o->fp, "%*s%s = {\n", o->depth * 2, "", k->name);
	o->depth++;
	cfg_print_keys(o, k->keys);
	o->depth--;
	fprintf(o->fp, "%*s};\n", o->depth * 2, "");
}

/* A health group: the global one, or a pool's merged with it. */
static const struct check_config *
cfg_out_health(const struct cfg_out *o)
{
	return (o->pool >= 0 ? &o->c->pools[o->pool].health : &o->c->health);
}

static void
cfg_print_pools(struct cfg_out *o, const struct cfg_key *k)
{
	struct cfg_key	 pool = { .keys = k->keys };

	fprintf(o->fp, "%*s%s = {\n", o->depth * 2, "", k->name);
	o->depth++;
	for (o->pool = 0; o->pool < POOL_COUNT; o->pool++) {
		pool.name = pool_name((enum pool_id)o->pool);
		cfg_print_group(o, &pool);
	}
	o->pool = -1;
	o->depth--;
	fprintf(o->fp, "%*s};\n", o->depth * 2, "");
}

static void
cfg_print_listen(struct cfg_out *o, const struct cfg_key *k)
{
	cfg_put_addrs(o, k, o->c->listen, o->c->nlisten);
}

/* A pool with only a dns name has no static members: `members = [ ]`
 * would be refused. */
static void
cfg_print_members(struct cfg_out *o, const struct cfg_key *k)
{
	if (o->c->pools[o->pool].nmembers == 0)
		cfg_put_unset(o, k);
	else
		cfg_put_addrs(o, k, o->c->pools[o->pool].members,
		    o->c->pools[o->pool].nmembers);
}

static void
cfg_print_dns(struct cfg_out *o, const struct cfg_key *k)
{
	cfg_put_string(o, k, o->c->pools[o->pool].dns);
}

static void
cfg_print_nameservers(struct cfg_out *o, const struct cfg_key *k)
{
	cfg_put_addrs(o, k, o->c->dns.nameservers, o->c->dns.nnameservers);
}

static void
cfg_print_active(struct cfg_out *o, const struct cfg_key *k)
{
	cfg_put_string(o, k, pool_name(o->c->active));
}

static void
cfg_print_uint(struct cfg_out *o, const struct cfg_key *k)
{
	cfg_put_key(o, k);
	fprintf(o->fp, "%u;\n",
	    *(const unsigned *)(const void *)((const char *)o->c + k->off));
}

static void
cfg_print_ratio(struct cfg_out *o, const struct cfg_key *k)
{
	cfg_put_key(o, k);
	fprintf(o->fp, "%g;\n",
	    *(const double *)(const void *)((const char *)o->c + k->off));
}

static void
cfg_print_mode(struct cfg_out *o, const struct cfg_key *k)
{
	cfg_put_key(o, k);
	fprintf(o->fp, "\"%04o\";\n", (unsigned)o->c->admin_socket_mode);
}

/* A string at k->off; NULL: not set. */
static void
cfg_print_path(struct cfg_out *o, const struct cfg_key *k)
{
	cfg_put_string(o, k, *(char *const *)(const void *)
	    ((const char *)o->c + k->off));
}

/* preview.token: whether it is set, never what it is */
static void
cfg_print_token(struct cfg_out *o, const struct cfg_key *k)
{
	if (o->c->preview.token == NULL)
		cfg_put_unset(o, k);
	else
		fprintf(o->fp, "%*s# %s = (set, not shown);\n", o->depth * 2,
		    "", k->name);
}

static void
cfg_print_admin_http(struct cfg_out *o, const struct cfg_key *k)
{
	cfg_put_string(o, k, o->c->admin_http != NULL ?
	    o->c->admin_http->text : NULL);
}

static void
cfg_print_level(struct cfg_out *o, const struct cfg_key *k)
{
	cfg_put_string(o, k, log_level_name(o->c->log_level));
}

static void
cfg_print_access(struct cfg_out *o, const struct cfg_key *k)
{
	cfg_put_string(o, k, accesslog_format_name(o->c->log_access));
}

static void
cfg_print_bool(struct cfg_out *o, const struct cfg_key *k)
{
	cfg_put_key(o, k);
	fprintf(o->fp, "%s;\n", *(const bool *)(const void *)
	    ((const char *)o->c + k->off) ? "true" : "false");
}

static void
cfg_print_bytes(struct cfg_out *o, const struct cfg_key *k)
{
	long long	v = o->c->max_body_bytes;

	cfg_put_key(o, k);
	/* libconfig wraps a literal past INT_MAX without the L */
	fprintf(o->fp, "%lld%s;\n", v, v > INT_MAX ? "L" : "");
}

static void
cfg_print_hstr(struct cfg_out *o, const struct cfg_key *k)
{
	cfg_put_string(o, k, (const char *)cfg_out_health(o) + k->off);
}

static void
cfg_print_hnum(struct cfg_out *o, const struct cfg_key *k)
{
	cfg_put_key(o, k);
	fprintf(o->fp, "%u;\n", *(const unsigned *)(const void *)
	    ((const char *)cfg_out_health(o) + k->off));
}

static void
cfg_print_hbool(struct cfg_out *o, const struct cfg_key *k)
{
	cfg_put_key(o, k);
	fprintf(o->fp, "%s;\n", *(const bool *)(const void *)
	    ((const char *)cfg_out_health(o) + k->off) ? "true" : "false");
}

static void
cfg_print_expect(struct cfg_out *o, const struct cfg_key *k)
{
	const struct check_expect	*e = &cfg_out_health(o)->expect;

	cfg_put_key(o, k);
	putc('"', o->fp);
	for (unsigned i = 0; i < e->n; i++) {
		fprintf(o->fp, "%s%u", i > 0 ? "," : "", e->r[i].lo);
		if (e->r[i].hi != e->r[i].lo)
			fprintf(o->fp, "-%u", e->r[i].hi);
	}
	fputs("\";\n", o->fp);
}

static void
cfg_print_min(struct cfg_out *o, const struct cfg_key *k)
{
	const struct check_min	*m = &o->c->min_healthy;

	cfg_put_key(o, k);
	if (m->count > 0)
		fprintf(o->fp, "%u;\n", m->count);
	else if (m->percent > 0)
		fprintf(o->fp, "\"%u%%\";\n", m->percent);
	else
		fputs("\"all\";\n", o->fp);
}

static void
cfg_print_trusted(struct cfg_out *o, const struct cfg_key *k)
{
	char	net[ADDR_TEXT_MAX];

	cfg_put_key(o, k);
	fputs("[", o->fp);
	for (size_t i = 0; i < o->c->fwd.ntrusted; i++) {
		addr_cidr_format(&o->c->fwd.trusted[i], net, sizeof(net));
		fputs(i > 0 ? ", " : " ", o->fp);
		cfg_put_str(o, net);
	}
	fputs(" ];\n", o->fp);
}

/* Writes c as a file config_load() reads back to the same configuration. */
void
config_print(const struct config *c, FILE *fp)
{
	struct cfg_out	o = { .fp = fp, .c = c, .pool = -1 };

	fputs("# cutover -T: the effective configuration, defaults filled "
	    "in\n", fp);
	cfg_print_keys(&o, top_keys);
}

static void
cfg_print_methods(struct cfg_out *o, const struct cfg_key *k)
{
	bool	first = true;

	cfg_put_key(o, k);
	fputs("[", o->fp);
	for (size_t j = 0; j < CFG_NMETHODS; j++) {
		if (!(o->c->mirror.methods & 1ULL << cfg_methods[j].method))
			continue;
		fputs(first ? " " : ", ", o->fp);
		cfg_put_str(o, cfg_methods[j].name);
		first = false;
	}
	fputs(" ];\n", o->fp);
}

/* Adds an owner to c (not NULL); returns c. */
struct config *
config_ref(struct config *c)
{
	c->refcnt++;
	return (c);
}

/* Drops one owner of c; the last frees c and all it owns.  NULL: no-op. */
void
config_free(struct config *c)
{
	if (c == NULL || --c->refcnt > 0)
		return;
	for (int i = 0; i < POOL_COUNT; i++) {
		free(c->pools[i].members);
		free(c->pools[i].dns);
		free(c->pools[i].dns_name);
	}
	free(c->dns.nameservers);
	free(c->dns.resolv_conf);
	free(c->listen);
	free(c->admin_socket);
	free(c->state_file);
	free(c->admin_socket_group);
	free(c->admin_readonly_socket);
	free(c->admin_http);
	free(c->fwd.trusted);
	free(c->preview.header);
	free(c->preview.cookie);
	free(c->preview.token);
	free(c->shift_cookie);
	free(c->path);
	free(c);
}
