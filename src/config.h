/*
 * config.h — the configuration file (libconfig syntax) into struct config.
 *
 * config_load() parses and validates the whole file into a fresh structure;
 * nothing live is touched, so a reload can call it and throw the result
 * away on error.  Every error is "FILE:LINE: message", the same text for the
 * log, `cutover -t` and the admin `reload` reply.
 */
#ifndef CUTOVER_CONFIG_H
#define CUTOVER_CONFIG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "accesslog.h"
#include "addr.h"
#include "check.h"
#include "log.h"
#include "pool.h"

/* Defaults: every setting but the two pools has one. */
#define CONFIG_DEFAULT_LISTEN		"0.0.0.0:8080"
#define CONFIG_DEFAULT_SOCKET_MODE	0600
#define CONFIG_DEFAULT_CONNECT_MS	5000
#define CONFIG_DEFAULT_CLIENT_HEADER_MS	10000
#define CONFIG_DEFAULT_IDLE_MS		60000
#define CONFIG_DEFAULT_UPSTREAM_MS	60000
#define CONFIG_DEFAULT_GRACE_MS		25000
#define CONFIG_DEFAULT_TUNNEL_IDLE_MS	3600000
#define CONFIG_DEFAULT_TUNNEL_FIN_MS	30000
#define CONFIG_DEFAULT_DRAIN_TIMEOUT_MS	30000
#define CONFIG_DEFAULT_DRAIN_SPREAD_MS	2000
#define CONFIG_GUARD_MAX_S		3600	/* switch.guard, `guard S` */
#define CONFIG_DEFAULT_GUARD_RATIO	0.05
#define CONFIG_DEFAULT_GUARD_MIN_REQUESTS 20
#define CONFIG_DEFAULT_CLIENT_BODY_MS	60000
#define CONFIG_DEFAULT_MAX_CONNECTIONS	10000
#define CONFIG_DEFAULT_WARM_IDLE	2	/* per member per worker */
#define CONFIG_DEFAULT_PREVIEW_HEADER	"X-Cutover-Pool"
#define CONFIG_WARM_IDLE_MAX		64
#define CONFIG_DEFAULT_MAX_IDLE		1024	/* per member per worker */
#define CONFIG_MAX_IDLE_MAX		65536
#define CONFIG_DEFAULT_SPLICE_MIN_BYTES	65536
#define CONFIG_DEFAULT_MIRROR_MAX_BODY	65536
#define CONFIG_MIRROR_MAX_BODY_MAX	(16 * 1024 * 1024)
#define CONFIG_DEFAULT_MIRROR_TIMEOUT_MS	5000
#define CONFIG_DEFAULT_MIRROR_MAX_INFLIGHT	64
#define CONFIG_MIRROR_MAX_INFLIGHT_MAX	65536
#define CONFIG_DEFAULT_DNS_REFRESH_MS	5000
#define CONFIG_DEFAULT_DNS_TIMEOUT_MS	2000
#define CONFIG_DEFAULT_RESOLV_CONF	"/etc/resolv.conf"
#define CONFIG_DNS_REFRESH_MIN_MS	100
#define CONFIG_DNS_NAME_MAX		253	/* without the final dot */
#define CONFIG_TIMEOUT_MAX_MS		86400000	/* one day */
#define CONFIG_WORKERS_MAX		256
#define CONFIG_GENERATION_MAX		2147483647	/* libconfig's int */
/* A configuration file (and each file it includes) is read whole into
 * memory, once, on the control thread: a file larger is refused. */
#define CONFIG_FILE_MAX			(16 * 1024 * 1024)

struct config_pool {
	struct addr		*members;	/* static members */
	size_t			 nmembers;
	/* pools.NAME.dns: every address of the name is a member too */
	char			*dns;		/* "name:port" as written;
						   NULL: none */
	char			*dns_name;	/* the name alone */
	unsigned		 dns_port;
	struct check_config	 health;	/* merged with the global one */
};

struct config {
	atomic_uint		 refcnt;	/* snapshots share a config */
	char			*path;		/* as given to config_load */
	char			 sha256[65];	/* of the bytes parsed (hex) */
	struct addr		*listen;
	size_t			 nlisten;
	unsigned		 workers;	/* 0: one per CPU we may use */
	enum pool_id		 active;
	/*
	 * The release generation the file declares for active (0: none
	 * declared).  A reload applies active only when it is newer than
	 * the one cutover runs (cutover.h).
	 */
	unsigned		 generation;
	bool			 watch_config;	/* reload when the file changes */
	struct config_pool	 pools[POOL_COUNT];
	char			*admin_socket;
	mode_t			 admin_socket_mode;
	char			*admin_socket_group;	/* NULL: ours */
	char			*admin_readonly_socket;	/* NULL: none */
	struct addr		*admin_http;	/* NULL: no HTTP listener */
	unsigned		 connect_ms;
	unsigned		 client_header_ms;
	unsigned		 idle_ms;
	unsigned		 upstream_ms;
	unsigned		 tunnel_idle_ms;
	unsigned		 tunnel_fin_ms;	/* once a direction has ended */
	unsigned		 client_body_ms;
	unsigned		 grace_ms;
	unsigned		 delay_ms;	/* shutdown.delay_ms */
	unsigned		 drain_timeout_ms;
	unsigned		 drain_spread_ms;
	enum log_level		 log_level;
	enum accesslog_format	 log_access;	/* off, text, json */
	struct check_config	 health;	/* the global health group */
	struct check_min	 min_healthy;	/* switch.min_healthy */
	unsigned		 guard_s;	/* switch.guard; 0: none */
	struct config_guard {		/* guard: its limits */
		double		 max_error_ratio;	/* (0, 1] */
		unsigned	 max_p99_ms;	/* 0: none */
		unsigned	 min_requests;
	}			 guard;
	char			*state_file;	/* NULL: none */
	struct config_dns {
		struct addr	*nameservers;	/* none: resolv_conf's */
		size_t		 nnameservers;
		unsigned	 refresh_ms;
		unsigned	 timeout_ms;
		char		*resolv_conf;	/* search, ndots, options */
	}			 dns;
	unsigned		 max_connections;	/* 0: no limit */
	long long		 max_body_bytes;	/* 0: no limit */
	/* upstream.warm_idle: idle connections each worker keeps open to
	 * each healthy member of the inactive pool; 0: none */
	unsigned		 warm_idle;
	/* upstream.max_idle: idle keep-alive connections each worker keeps
	 * per member; one more is closed when its response ends */
	unsigned		 max_idle;
	/* upstream.splice: Content-Length bodies of splice_min_bytes or more
	 * move socket to socket through a pipe (io_splice); request bodies
	 * only with upstream.splice_requests as well */
	bool			 splice;
	bool			 splice_requests;
	unsigned		 splice_min_bytes;
	/* mirror: shadow traffic to the other pool (mirror.h) */
	struct config_mirror {
		unsigned	 percent;	/* of the active pool's requests;
						 * 0: off */
		uint64_t	 methods;	/* bit 1 << llhttp method */
		unsigned	 max_body;	/* bytes; a longer body: skipped */
		unsigned	 timeout_ms;	/* a copy's whole life */
		unsigned	 max_inflight;	/* copies per worker */
	}			 mirror;
	struct {
		bool		 xff;		/* X-Forwarded-For */
		bool		 proto;		/* X-Forwarded-Proto */
		bool		 host;		/* X-Forwarded-Host */
		bool		 via;
		/* sources whose forwarding headers are kept */
		struct addr_cidr *trusted;
		size_t		 ntrusted;
	}			 fwd;
	/* preview routing (pick.h): a request whose header (or cookie)
	 * names a pool goes there, with X-Cutover-Token = token if set */
	struct {
		char		*header;	/* "": off */
		char		*cookie;	/* NULL: none */
		char		*token;		/* NULL: none needed */
	}			 preview;
	char			*shift_cookie;	/* shift.cookie; NULL: the
						 * client's address */
};

/*
 * Reads and validates path.  Returns a new config owned by the caller
 * (config_free), or NULL with "FILE:LINE: message" in err.  The file is
 * read once, and only if it is a regular file of at most CONFIG_FILE_MAX
 * bytes (never blocking: a FIFO or a device in its place is refused);
 * c->sha256 is the hash of the very bytes parsed.
 */
struct config	*config_load(const char *path, char *err, size_t errlen);

/*
 * The SHA-256 (hex) of path, read as config_load reads it: 0, or -1 with
 * the reason in err.
 */
int		 config_hash(const char *path, char *hex, char *err,
		    size_t errlen);

/*
 * Writes c as a configuration file (libconfig syntax) to fp: every
 * setting, defaults filled in, optional ones that are not set as comments.
 * config_load() of the output gives the same configuration.
 */
void		 config_print(const struct config *c, FILE *fp);

/* Looks up group's id (the lookup may block): 0, or -1 with a reason in
 * err ("no group named 'x'"). */
int		 config_group_id(const char *group, gid_t *gid, char *err,
		    size_t errlen);

/* One more owner of c; returns c. */
struct config	*config_ref(struct config *c);

/*
 * Drops one owner (config_load returns a config with one); the last frees c
 * and everything it owns.  NULL is a no-op.
 */
void		 config_free(struct config *c);

#endif
