/*
 * admin_cmd.c — the admin command table: parsing a command line, running
 * its handler, and writing its reply; also the checks of pending waits.
 *
 * A reply is "ok" or "error: reason", then body lines, then one empty line.
 * Handlers fill a request (body or error text); admin_reply() alone writes
 * the reply, so no handler can break its shape.
 *
 * The reason's first word classifies an error for tools (cutoverctl's exit
 * status): "usage:" the command line was wrong (unknown command or pool,
 * bad arguments), "timeout:" a wait-* command ran out of time; any other
 * reason is a refusal or failure of what was asked.  Clients that only
 * know "error: " still read every reply.
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "admin.h"
#include "admin_cmd.h"
#include "config.h"
#include "cutover.h"
#include "log.h"
#include "pool.h"
#include "status.h"
#include "suggest.h"

#define ADMIN_WORDS_MAX		8		/* words in one command line */
#define ADMIN_MSG_MAX		2048		/* a cutover_* message */
#define ADMIN_ECHO_MAX		40		/* user text echoed in errors */
#define ADMIN_COND_MAX		1024		/* a wait condition's message */
#define ADMIN_PENDING		1		/* handler: reply comes later */
#define ADMIN_BAD_ARG		(-2)		/* handler: answer the usage */
#define ADMIN_HELP_COL		29		/* usage column width in help */

/* A condition a wait-* command waits for: cutover_healthy(), ... */
typedef int (*admin_cond)(struct cutover *, const char *, char *, size_t);

/* A wait-* command whose reply is pending. */
struct admin_wait {
	admin_cond	 cond;
	char		*pool;
	long		 seconds;
	struct timespec	 deadline;		/* CLOCK_MONOTONIC */
};

/* One command being run: its words, its caller, and what it answers. */
struct admin_req {
	struct cutover	*cx;
	const char	*peer;		/* for the log; NULL when not a client */
	enum admin_access access;	/* what the caller may run */
	const char	*cmd;		/* the words, printable, for the log */
	int		 argc;
	char		**argv;
	struct evbuffer	*body;		/* body lines of an ok reply */
	char		 err[ADMIN_MSG_MAX];	/* reason of an error reply */
	bool		 quit;		/* close the connection after this */
	admin_cond	 cond;		/* pending: what to wait for */
	long		 seconds;
};

typedef int (*admin_handler)(struct admin_req *);

/* What a command does to cutover: a read-only socket runs only readers. */
enum admin_effect {
	ADMIN_READS,		/* changes nothing */
	ADMIN_WRITES,		/* changes state: full access only */
};

struct admin_cmd {
	const char	*name;
	enum admin_effect effect;
	int		 min_args;	/* words after the command's own */
	int		 max_args;
	const char	*usage;
	const char	*help;
	admin_handler	 handler;
};

static int	cmd_status(struct admin_req *);
static int	cmd_metrics(struct admin_req *);
static int	cmd_switch(struct admin_req *);
static int	cmd_cancel(struct admin_req *);
static int	cmd_rollback(struct admin_req *);
static int	cmd_shift(struct admin_req *);
static int	cmd_member(struct admin_req *);
static int	cmd_wait_healthy(struct admin_req *);
static int	cmd_wait_drained(struct admin_req *);
static int	cmd_reload(struct admin_req *);
static int	cmd_version(struct admin_req *);
static int	cmd_help(struct admin_req *);
static int	cmd_quit(struct admin_req *);

/* The truth about commands: help, usage errors and the man page follow it. */
static const struct admin_cmd admin_cmds[] = {
	{ "status", ADMIN_READS, 0, 1, "status [json]",
	    "show the active pool, pools and counters", cmd_status },
	{ "metrics", ADMIN_READS, 0, 0, "metrics",
	    "show the counters in Prometheus' text format", cmd_metrics },
	{ "switch", ADMIN_WRITES, 1, 8,
	    "switch <pool> [force] [at <unix-ms>] [gen <n>] [guard <seconds>]",
	    "send new requests to pool (force: even if unhealthy; at: at "
	    "that wall-clock instant, within 60 s; gen: the release "
	    "generation it makes; guard: roll back by itself if pool fails "
	    "within that many seconds, 0: not)", cmd_switch },
	{ "cancel", ADMIN_WRITES, 0, 0, "cancel",
	    "cancel the scheduled switch, if any", cmd_cancel },
	{ "rollback", ADMIN_WRITES, 0, 1, "rollback [force]",
	    "switch back to the previous pool (force: even if unhealthy)",
	    cmd_rollback },
	{ "shift", ADMIN_WRITES, 2, 3, "shift <pool> <percent> [force]",
	    "send percent (0-100) of the clients to pool, sticky per client "
	    "(0, switch or rollback: end it; force: even if unhealthy)",
	    cmd_shift },
	{ "member", ADMIN_WRITES, 3, 4,
	    "member <pool> <host:port> ready|drain|maint [force]",
	    "set a member's admin state (force: even the last usable one)",
	    cmd_member },
	{ "wait-healthy", ADMIN_READS, 2, 2, "wait-healthy <pool> <seconds>",
	    "reply once pool is healthy enough to switch to",
	    cmd_wait_healthy },
	{ "wait-drained", ADMIN_READS, 2, 2, "wait-drained <pool> <seconds>",
	    "reply once no request is in flight on pool", cmd_wait_drained },
	{ "reload", ADMIN_WRITES, 0, 0, "reload",
	    "re-read the configuration file (a bad file changes nothing)",
	    cmd_reload },
	{ "version", ADMIN_READS, 0, 0, "version",
	    "show the version of cutover", cmd_version },
	{ "help", ADMIN_READS, 0, 1, "help [command]",
	    "list the commands, or show one's usage", cmd_help },
	{ "quit", ADMIN_READS, 0, 0, "quit", "close this connection",
	    cmd_quit },
};

#define ADMIN_NCMDS	(sizeof(admin_cmds) / sizeof(admin_cmds[0]))

/* The reason prefixes of the error classes (see the top of the file). */
#define ADMIN_USAGE		"usage: "
#define ADMIN_TIMEOUT		"timeout: "

/* ------------------------------------------------------------- replies */

/* Copies user text for an error or a log line: printable, bounded. */
static void
admin_printable(char *dst, size_t dstlen, const char *src, size_t max)
{
	size_t	i;

	for (i = 0; src[i] != '\0' && i < max && i + 1 < dstlen; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
	if (src[i] != '\0' && i + 4 < dstlen)
		strcpy(dst + i, "...");
}

/* Appends the non-empty lines of text to out, each ending in LF. */
static void
admin_put_lines(struct evbuffer *out, const char *text, size_t len)
{
	const char	*p = text, *end = text + len, *nl;
	size_t		 n;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > 0) {
			evbuffer_add(out, p, n);
			evbuffer_add(out, "\n", 1);
		}
		p = nl + 1;
	}
}

/*
 * Writes a reply to out: the one place that knows the reply's shape.  An
 * ok reply carries body (bodylen bytes); an error reply the reason err,
 * whose first line goes on the "error: " line and the rest in the body.
 */
static void
admin_reply(struct evbuffer *out, int rc, const char *body, size_t bodylen,
    const char *err)
{
	const char	*nl;
	size_t		 len;

	if (rc == 0) {
		evbuffer_add(out, "ok\n", 3);
		if (bodylen > 0)
			admin_put_lines(out, body, bodylen);
	} else {
		if (err[0] == '\0')
			err = "failed";
		if ((nl = strchr(err, '\n')) == NULL)
			nl = err + strlen(err);
		len = (size_t)(nl - err);
		if (len > 0 && err[len - 1] == '\r')
			len--;
		evbuffer_add_printf(out, "error: %.*s\n", (int)len, err);
		if (*nl != '\0')
			admin_put_lines(out, nl + 1, strlen(nl + 1));
	}
	evbuffer_add(out, "\n", 1);
}

/*
 * The end of a state-changing command, or of its refusal: logs it with its
 * peer and fills the reply.
 */
static int
admin_done(struct admin_req *r, int rc, const char *msg)
{
	char	 flat[ADMIN_MSG_MAX];
	size_t	 i, n = 0;

	/* one log line: the message's lines joined with "; " */
	for (i = 0; msg[i] != '\0' && n + 3 < sizeof(flat); i++) {
		if (msg[i] == '\r')
			continue;
		if (msg[i] != '\n')
			flat[n++] = msg[i];
		else if (n > 0 && flat[n - 1] != ' ' && msg[i + 1] != '\0') {
			flat[n++] = ';';
			flat[n++] = ' ';
		}
	}
	flat[n] = '\0';
	log_info("admin: %s%s%s -> %s: %s", r->peer ? r->peer : "",
	    r->peer ? ": " : "", r->cmd, rc == 0 ? "ok" : "error", flat);
	if (rc == 0)
		admin_put_lines(r->body, msg, strlen(msg));
	else
		snprintf(r->err, sizeof(r->err), "%s", msg);
	return (rc == 0 ? 0 : -1);
}

/* The names of the commands, for "did you mean". */
static const char *const *
admin_cmd_names(void)
{
	static const char	*names[ADMIN_NCMDS];

	for (size_t i = 0; i < ADMIN_NCMDS; i++)
		names[i] = admin_cmds[i].name;
	return (names);
}

/*
 * Answers a word that names no command with a usage error that suggests
 * the closest command, else 'help'.  Returns -1.
 */
static int
admin_unknown_cmd(struct admin_req *r, const char *word)
{
	char	echo[ADMIN_ECHO_MAX + 8];
	size_t	len;

	admin_printable(echo, sizeof(echo), word, ADMIN_ECHO_MAX);
	len = (size_t)snprintf(r->err, sizeof(r->err),
	    ADMIN_USAGE "unknown command '%s'", echo);
	suggest_append(r->err, sizeof(r->err), word, admin_cmd_names(),
	    ADMIN_NCMDS);
	if (strlen(r->err) == len)
		strncat(r->err, " (try 'help')", sizeof(r->err) - len - 1);
	return (-1);
}

/*
 * Parses r's argument word as a pool name: 0, or -1 after a usage error
 * that suggests the closest pool.
 */
static int
admin_pool(struct admin_req *r, const char *word)
{
	const char	*names[POOL_COUNT];
	char		 echo[ADMIN_ECHO_MAX + 8];
	enum pool_id	 id;

	if (pool_parse(word, &id) == 0)
		return (0);
	for (int i = 0; i < POOL_COUNT; i++)
		names[i] = pool_name((enum pool_id)i);
	admin_printable(echo, sizeof(echo), word, ADMIN_ECHO_MAX);
	snprintf(r->err, sizeof(r->err), ADMIN_USAGE "no pool named '%s'",
	    echo);
	if (suggest(word, names, POOL_COUNT) != NULL)
		suggest_append(r->err, sizeof(r->err), word, names,
		    POOL_COUNT);
	else {
		snprintf(r->err + strlen(r->err), sizeof(r->err) -
		    strlen(r->err), " (pools:");
		for (int i = 0; i < POOL_COUNT; i++)
			snprintf(r->err + strlen(r->err), sizeof(r->err) -
			    strlen(r->err), "%s %s", i ? "," : "", names[i]);
		strncat(r->err, ")", sizeof(r->err) - strlen(r->err) - 1);
	}
	return (-1);
}

/* ------------------------------------------------------------ commands */

static int
cmd_status(struct admin_req *r)
{
	bool	json = false;

	if (r->argc == 2) {
		if (strcmp(r->argv[1], "json") != 0)
			return (ADMIN_BAD_ARG);
		json = true;
	}
	status_report(r->cx, r->body, json);
	return (0);
}

static int
cmd_metrics(struct admin_req *r)
{
	status_metrics(r->cx, r->body);
	return (0);
}

/* Parses a positive decimal number of at most 18 digits; 0 or -1. */
static int
admin_number(const char *s, long long *v)
{
	size_t	n = strspn(s, "0123456789");

	if (n == 0 || n > 18 || s[n] != '\0')
		return (-1);
	*v = strtoll(s, NULL, 10);
	return (*v > 0 ? 0 : -1);
}

/* Parses a release generation, 1..CONFIG_GENERATION_MAX (the range a
 * configuration file and the state file hold too); 0 or -1. */
static int
admin_gen(const char *s, long long *v)
{
	if (strspn(s, "0123456789") > 10 || admin_number(s, v) == -1 ||
	    *v > CONFIG_GENERATION_MAX)
		return (-1);
	return (0);
}

/* Parses a guard's seconds, 0 (none) to CONFIG_GUARD_MAX_S; 0 or -1. */
static int
admin_guard(const char *s, long long *v)
{
	size_t	n = strspn(s, "0123456789");

	if (n == 0 || n > 5 || s[n] != '\0')
		return (-1);
	*v = strtoll(s, NULL, 10);
	return (*v <= CONFIG_GUARD_MAX_S ? 0 : -1);
}

/*
 * switch POOL [force] [at UNIX_MS] [gen N] [guard S], the options in any
 * order, each once.  An instant that has passed, or lies more than
 * CUTOVER_SCHED_MAX_MS ahead, is a usage error: the caller's clock or
 * arithmetic is wrong, and no retry with force would help.
 */
static int
cmd_switch(struct admin_req *r)
{
	char		msg[ADMIN_MSG_MAX] = "";
	bool		force = false, has_at = false, has_gen = false;
	long long	at = 0, gen = 0, now, guard = -1;
	char		echo[ADMIN_ECHO_MAX + 8];
	int		rc;

	for (int i = 2; i < r->argc; i++) {
		if (strcmp(r->argv[i], "force") == 0 && !force)
			force = true;
		else if (strcmp(r->argv[i], "at") == 0 && !has_at &&
		    i + 1 < r->argc && admin_number(r->argv[i + 1], &at) == 0)
			has_at = true, i++;
		else if (strcmp(r->argv[i], "gen") == 0 && !has_gen &&
		    i + 1 < r->argc) {
			if (admin_gen(r->argv[++i], &gen) == -1) {
				admin_printable(echo, sizeof(echo), r->argv[i],
				    ADMIN_ECHO_MAX);
				snprintf(r->err, sizeof(r->err), ADMIN_USAGE
				    "gen %s: a generation is a number from 1 "
				    "to %d", echo, CONFIG_GENERATION_MAX);
				return (-1);
			}
			has_gen = true;
		} else if (strcmp(r->argv[i], "guard") == 0 && guard == -1 &&
		    i + 1 < r->argc) {
			if (admin_guard(r->argv[++i], &guard) == -1) {
				admin_printable(echo, sizeof(echo), r->argv[i],
				    ADMIN_ECHO_MAX);
				snprintf(r->err, sizeof(r->err), ADMIN_USAGE
				    "guard %s: a number of seconds from 0 "
				    "(none) to %d", echo, CONFIG_GUARD_MAX_S);
				return (-1);
			}
		} else
			return (ADMIN_BAD_ARG);
	}
	if (admin_pool(r, r->argv[1]) == -1)
		return (-1);
	if (has_at && ((now = cutover_now_ms()) >= at ||
	    at - now > CUTOVER_SCHED_MAX_MS)) {
		snprintf(r->err, sizeof(r->err), ADMIN_USAGE "at %lld is %s "
		    "(now %lld): the instant must lie within the next %d ms",
		    at, at <= now ? "past" : "too far ahead", now,
		    CUTOVER_SCHED_MAX_MS);
		return (-1);
	}
	if (!has_at && !has_gen && guard == -1)
		rc = cutover_switch(r->cx, r->argv[1], force, r->peer, msg,
		    sizeof(msg));
	else
		rc = cutover_switch_gen(r->cx, r->argv[1], force, at,
		    (uint64_t)gen, (int)guard, r->peer, msg, sizeof(msg));
	return (admin_done(r, rc, msg));
}

static int
cmd_cancel(struct admin_req *r)
{
	char	msg[ADMIN_MSG_MAX] = "";

	return (admin_done(r, cutover_cancel(r->cx, r->peer, msg,
	    sizeof(msg)), msg));
}

static int
cmd_rollback(struct admin_req *r)
{
	char	msg[ADMIN_MSG_MAX] = "";
	bool	force = false;
	int	rc;

	if (r->argc == 2) {
		if (strcmp(r->argv[1], "force") != 0)
			return (ADMIN_BAD_ARG);
		force = true;
	}
	rc = cutover_rollback(r->cx, force, r->peer, msg, sizeof(msg));
	return (admin_done(r, rc, msg));
}

/* shift POOL PERCENT [force] */
static int
cmd_shift(struct admin_req *r)
{
	char		msg[ADMIN_MSG_MAX] = "", echo[ADMIN_ECHO_MAX + 8];
	bool		force = false;
	long long	percent;
	int		rc;

	if (r->argc == 4) {
		if (strcmp(r->argv[3], "force") != 0)
			return (ADMIN_BAD_ARG);
		force = true;
	}
	if (admin_pool(r, r->argv[1]) == -1)
		return (-1);
	/* admin_number takes 1 and up: 0 ends a shift */
	if (strcmp(r->argv[2], "0") == 0)
		percent = 0;
	else if (strspn(r->argv[2], "0123456789") > 3 ||
	    admin_number(r->argv[2], &percent) == -1 || percent > 100) {
		admin_printable(echo, sizeof(echo), r->argv[2],
		    ADMIN_ECHO_MAX);
		snprintf(r->err, sizeof(r->err), ADMIN_USAGE "percent %s: a "
		    "whole number from 0 to 100", echo);
		return (-1);
	}
	rc = cutover_shift(r->cx, r->argv[1], (unsigned)percent, force,
	    r->peer, msg, sizeof(msg));
	return (admin_done(r, rc, msg));
}

static int
cmd_member(struct admin_req *r)
{
	enum member_admin	state;
	char			msg[ADMIN_MSG_MAX] = "";
	bool			force = false;
	int			rc;

	if (member_admin_parse(r->argv[3], &state) == -1)
		return (ADMIN_BAD_ARG);
	if (r->argc == 5) {
		if (strcmp(r->argv[4], "force") != 0)
			return (ADMIN_BAD_ARG);
		force = true;
	}
	if (admin_pool(r, r->argv[1]) == -1)
		return (-1);
	rc = cutover_member(r->cx, r->argv[1], r->argv[2], r->argv[3], force,
	    msg + strlen(ADMIN_USAGE), sizeof(msg) - strlen(ADMIN_USAGE));
	/* no such member: the command was wrong, not refused */
	if (rc == -2)
		memcpy(msg, ADMIN_USAGE, strlen(ADMIN_USAGE));
	return (admin_done(r, rc, rc == -2 ? msg : msg +
	    strlen(ADMIN_USAGE)));
}

/* Parses SECONDS: decimal digits only, 0..ADMIN_WAIT_MAX. */
static int
admin_seconds(const char *s, long *seconds)
{
	size_t	n = strspn(s, "0123456789");

	if (n == 0 || n > 5 || s[n] != '\0')
		return (-1);
	*seconds = strtol(s, NULL, 10);
	return (*seconds <= ADMIN_WAIT_MAX ? 0 : -1);
}

/*
 * A wait-* command: decided at once when the condition holds (ok), can
 * never hold, or SECONDS is 0 (errors); otherwise pending.
 */
static int
cmd_wait(struct admin_req *r, admin_cond cond)
{
	char	msg[ADMIN_COND_MAX] = "";
	long	seconds;
	int	rc;

	if (admin_seconds(r->argv[2], &seconds) == -1)
		return (ADMIN_BAD_ARG);
	if (admin_pool(r, r->argv[1]) == -1)
		return (-1);
	rc = cond(r->cx, r->argv[1], msg, sizeof(msg));
	if (rc == 1) {
		admin_put_lines(r->body, msg, strlen(msg));
		return (0);
	}
	if (rc == 0 && seconds > 0) {
		r->cond = cond;
		r->seconds = seconds;
		return (ADMIN_PENDING);
	}
	if (rc == 0)
		snprintf(r->err, sizeof(r->err), ADMIN_TIMEOUT "after 0 s: "
		    "%s", msg);
	else
		snprintf(r->err, sizeof(r->err), "%s", msg);
	return (-1);
}

static int
cmd_wait_healthy(struct admin_req *r)
{
	return (cmd_wait(r, cutover_healthy));
}

static int
cmd_wait_drained(struct admin_req *r)
{
	return (cmd_wait(r, cutover_drained));
}

static int
cmd_reload(struct admin_req *r)
{
	char	msg[ADMIN_MSG_MAX] = "";

	return (admin_done(r, cutover_reload(r->cx, msg, sizeof(msg)), msg));
}

static int
cmd_version(struct admin_req *r)
{
	evbuffer_add_printf(r->body, "cutover %s\n", PACKAGE_VERSION);
	return (0);
}

/* Whether r's caller may run c. */
static bool
admin_cmd_is_allowed(const struct admin_req *r, const struct admin_cmd *c)
{
	return (r->access == ADMIN_ACCESS_FULL || c->effect == ADMIN_READS);
}

static const struct admin_cmd *
admin_lookup(const char *name)
{
	for (size_t i = 0; i < ADMIN_NCMDS; i++)
		if (strcmp(admin_cmds[i].name, name) == 0)
			return (&admin_cmds[i]);
	return (NULL);
}

static int
cmd_help(struct admin_req *r)
{
	const struct admin_cmd	*c;

	if (r->argc == 2) {
		if ((c = admin_lookup(r->argv[1])) == NULL)
			return (admin_unknown_cmd(r, r->argv[1]));
		evbuffer_add_printf(r->body, "usage: %s\n%s\n", c->usage,
		    c->help);
		return (0);
	}
	/* a longer usage pushes its help text right, on the same line */
	for (size_t i = 0; i < ADMIN_NCMDS; i++)
		if (admin_cmd_is_allowed(r, &admin_cmds[i]))
			evbuffer_add_printf(r->body, "%-*s  %s\n",
			    ADMIN_HELP_COL, admin_cmds[i].usage,
			    admin_cmds[i].help);
	return (0);
}

static int
cmd_quit(struct admin_req *r)
{
	r->quit = true;
	return (0);
}

/* ------------------------------------------------------------ dispatch */

/* Splits line into words at spaces and tabs; -1 if there are too many. */
static int
admin_split(char *line, char **argv, int *argc)
{
	char	*p = line;

	*argc = 0;
	for (;;) {
		p += strspn(p, " \t");
		if (*p == '\0')
			return (0);
		if (*argc == ADMIN_WORDS_MAX)
			return (-1);
		argv[(*argc)++] = p;
		p += strcspn(p, " \t");
		if (*p != '\0')
			*p++ = '\0';
	}
}

/* Finds and runs the command in r's words: 0 ok, -1 error, 1 pending. */
static int
admin_dispatch(struct admin_req *r)
{
	const struct admin_cmd	*c;
	char			 msg[ADMIN_MSG_MAX];
	int			 rc;

	if (r->argc == 0) {
		snprintf(r->err, sizeof(r->err),
		    ADMIN_USAGE "empty command (try 'help')");
		return (-1);
	}
	if ((c = admin_lookup(r->argv[0])) == NULL)
		return (admin_unknown_cmd(r, r->argv[0]));
	if (!admin_cmd_is_allowed(r, c)) {
		/* before the arity check: whatever its words, it is refused */
		snprintf(msg, sizeof(msg), "read-only socket: '%s' changes "
		    "state", c->name);
		return (admin_done(r, -1, msg));
	}
	if (r->argc - 1 < c->min_args || r->argc - 1 > c->max_args ||
	    (rc = c->handler(r)) == ADMIN_BAD_ARG) {
		snprintf(r->err, sizeof(r->err), ADMIN_USAGE "%s", c->usage);
		return (-1);
	}
	return (rc == 0 || rc == ADMIN_PENDING ? rc : -1);
}

/* Makes the wait for r's pending command; NULL when out of memory. */
static struct admin_wait *
admin_wait_new(const struct admin_req *r)
{
	struct admin_wait	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->pool = strdup(r->argv[1])) == NULL) {
		free(w);
		return (NULL);
	}
	w->cond = r->cond;
	w->seconds = r->seconds;
	clock_gettime(CLOCK_MONOTONIC, &w->deadline);
	w->deadline.tv_sec += r->seconds;
	return (w);
}

/*
 * Splits line into r's words, kept in buf (ADMIN_LINE_MAX + 1 bytes), and
 * writes them, printable, to cmd (cmdlen bytes) for the log.
 */
static int
admin_parse(struct admin_req *r, const char *line, char *buf, char *cmd,
    size_t cmdlen)
{
	size_t	len = strlen(line);

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > ADMIN_LINE_MAX) {
		snprintf(r->err, sizeof(r->err), ADMIN_USAGE "line too long "
		    "(max %d bytes)", ADMIN_LINE_MAX);
		return (-1);
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (admin_split(buf, r->argv, &r->argc) == -1) {
		snprintf(r->err, sizeof(r->err), ADMIN_USAGE "too many "
		    "arguments");
		return (-1);
	}
	cmd[0] = '\0';
	for (int i = 0; i < r->argc; i++) {
		if (i > 0)
			strcat(cmd, " ");
		admin_printable(cmd + strlen(cmd), cmdlen - strlen(cmd),
		    r->argv[i], ADMIN_LINE_MAX);
	}
	return (0);
}

/*
 * Runs line for peer (NULL for an in-process caller) and appends its reply
 * to out; a pending command appends nothing and hands its wait to *waitp.
 * See admin_cmd.h.
 */
int
admin_cmd_exec(struct cutover *cx, const char *peer, enum admin_access access,
    const char *line, struct evbuffer *out, bool *quit,
    struct admin_wait **waitp)
{
	struct admin_req	 r;
	char			 buf[ADMIN_LINE_MAX + 2], cmd[ADMIN_LINE_MAX + 8];
	char			*argv[ADMIN_WORDS_MAX];
	size_t			 blen;
	int			 rc = -1;

	memset(&r, 0, sizeof(r));
	r.cx = cx;
	r.peer = peer;
	r.access = access;
	r.argv = argv;
	r.cmd = cmd;
	if ((r.body = evbuffer_new()) == NULL) {
		snprintf(r.err, sizeof(r.err), "out of memory");
		goto fail;
	}
	if (admin_parse(&r, line, buf, cmd, sizeof(cmd)) == -1)
		goto fail;
	rc = admin_dispatch(&r);
	if (rc == ADMIN_PENDING && waitp != NULL &&
	    (*waitp = admin_wait_new(&r)) == NULL) {
		snprintf(r.err, sizeof(r.err), "out of memory");
		rc = -1;
	}
fail:
	if (rc != ADMIN_PENDING) {
		blen = r.body != NULL ? evbuffer_get_length(r.body) : 0;
		admin_reply(out, rc, blen > 0 ?
		    (const char *)evbuffer_pullup(r.body, -1) : NULL, blen,
		    r.err);
	}
	if (quit != NULL)
		*quit = r.quit;
	if (r.body != NULL)
		evbuffer_free(r.body);
	return (rc);
}

/* Re-checks w; appends the reply once it is decided.  See admin_cmd.h. */
int
admin_cmd_wait_check(struct admin_wait *w, struct cutover *cx,
    struct evbuffer *out)
{
	char	msg[ADMIN_COND_MAX] = "", err[ADMIN_MSG_MAX];
	int	rc;

	rc = w->cond(cx, w->pool, msg, sizeof(msg));
	if (rc == 1) {
		admin_reply(out, 0, msg, strlen(msg), NULL);
		return (0);
	}
	if (rc == 0 && admin_cmd_wait_next_ms(w) > 0)
		return (1);
	if (rc == 0)
		snprintf(err, sizeof(err), ADMIN_TIMEOUT "after %ld s: %s",
		    w->seconds, msg);
	else
		snprintf(err, sizeof(err), "%s", msg);
	admin_reply(out, -1, NULL, 0, err);
	return (-1);
}

/*
 * Milliseconds until w is due again: the tick, or what is left until its
 * deadline; 0 once the deadline has passed.
 */
long
admin_cmd_wait_next_ms(const struct admin_wait *w)
{
	struct timespec	now;
	long long	ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(w->deadline.tv_sec - now.tv_sec) * 1000 +
	    (w->deadline.tv_nsec - now.tv_nsec) / 1000000;
	if (ms <= 0)
		return (0);
	return (ms < ADMIN_WAIT_TICK_MS ? (long)ms : ADMIN_WAIT_TICK_MS);
}

/* Frees w; NULL is a no-op. */
void
admin_cmd_wait_free(struct admin_wait *w)
{
	if (w == NULL)
		return;
	free(w->pool);
	free(w);
}
