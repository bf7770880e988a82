/*
 * test_config.c — config_load(): defaults, every setting, every error and
 * its "FILE:LINE: " prefix, the shipped configurations, reference counts.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <llhttp.h>

#include "config.h"
#include "config_scan.h"
#include "sha256.h"

/* Two pools, nothing else: the smallest valid file (lines 1-4). */
#define POOLS \
	"pools = {\n" \
	"  blue = { members = [ \"127.0.0.1:9001\" ]; };\n" \
	"  green = { members = [ \"127.0.0.1:9002\" ]; };\n" \
	"};\n"

struct fixture {
	char	dir[64];
	char	path[128];
	char	err[512];
	char	want[512];
	char	msg[512];
};

static int
setup(void **state)
{
	struct fixture	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (-1);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_config.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return (-1);
	}
	snprintf(f->path, sizeof(f->path), "%s/cutover.conf", f->dir);
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	char		 p[192];

	unlink(f->path);
	snprintf(p, sizeof(p), "%s/inc.conf", f->dir);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return (0);
}

static void
write_conf(struct fixture *f, const char *text)
{
	FILE	*fp;

	fp = fopen(f->path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static struct config *
load_ok(struct fixture *f, const char *text)
{
	struct config	*c;

	write_conf(f, text);
	c = config_load(f->path, f->err, sizeof(f->err));
	if (c == NULL)
		fail_msg("config_load failed: %s", f->err);
	return (c);
}

/* Loading text fails with exactly "PATH:line: msg". */
static void
load_fails(struct fixture *f, const char *text, int line, const char *msg)
{
	write_conf(f, text);
	assert_null(config_load(f->path, f->err, sizeof(f->err)));
	snprintf(f->want, sizeof(f->want), "%s:%d: %s", f->path, line, msg);
	assert_string_equal(f->err, f->want);
}

static void
assert_defaults(const struct config *c)
{
	assert_int_equal(c->nlisten, 1);
	assert_string_equal(c->listen[0].text, CONFIG_DEFAULT_LISTEN);
	assert_int_equal(c->active, POOL_BLUE);
	assert_string_equal(c->admin_socket, DEFAULT_ADMIN_SOCKET);
	assert_int_equal(c->admin_socket_mode, CONFIG_DEFAULT_SOCKET_MODE);
	assert_int_equal(c->connect_ms, CONFIG_DEFAULT_CONNECT_MS);
	assert_int_equal(c->client_header_ms, CONFIG_DEFAULT_CLIENT_HEADER_MS);
	assert_int_equal(c->idle_ms, CONFIG_DEFAULT_IDLE_MS);
	assert_int_equal(c->upstream_ms, CONFIG_DEFAULT_UPSTREAM_MS);
	assert_int_equal(c->grace_ms, CONFIG_DEFAULT_GRACE_MS);
	assert_int_equal(c->log_level, LL_INFO);
	assert_int_equal(c->log_access, ACCESSLOG_OFF);
}

/* ---------------------------------------------------------- success */

static void
test_config_minimal_file_gets_defaults(void **state)
{
	struct fixture	*f = *state;
	struct config	*c = load_ok(f, POOLS);

	assert_int_equal(c->refcnt, 1);
	assert_string_equal(c->path, f->path);
	assert_defaults(c);
	assert_int_equal(c->pools[POOL_BLUE].nmembers, 1);
	assert_string_equal(c->pools[POOL_BLUE].members[0].text,
	    "127.0.0.1:9001");
	assert_int_equal(c->pools[POOL_GREEN].nmembers, 1);
	assert_string_equal(c->pools[POOL_GREEN].members[0].text,
	    "127.0.0.1:9002");
	config_free(c);
}

static void
test_config_full_file_sets_everything(void **state)
{
	struct fixture	*f = *state;
	struct config	*c = load_ok(f,
	    "listen = ( \"127.0.0.1:0\", \"[::1]:8443\" );\n"
	    "active = \"green\";\n"
	    "pools = {\n"
	    "  blue = { members = ( \"10.0.0.1:80\", \"10.0.0.2:80\" ); };\n"
	    "  green = { members = [ \"[2001:db8::1]:8080\" ]; };\n"
	    "};\n"
	    "admin = { socket = \"/tmp/x.sock\"; socket_mode = \"0660\"; };\n"
	    "timeouts = { connect_ms = 1; client_header_ms = 2;\n"
	    "  idle_ms = 3; upstream_ms = 86400000L; };\n"
	    "shutdown = { grace_ms = 0; };\n"
	    "log = { level = \"debug\"; access = true; };\n");

	assert_int_equal(c->nlisten, 2);
	assert_string_equal(c->listen[0].text, "127.0.0.1:0");
	assert_string_equal(c->listen[1].text, "[::1]:8443");
	assert_int_equal(c->active, POOL_GREEN);
	assert_int_equal(c->pools[POOL_BLUE].nmembers, 2);
	assert_string_equal(c->pools[POOL_BLUE].members[1].text,
	    "10.0.0.2:80");
	assert_int_equal(c->pools[POOL_GREEN].nmembers, 1);
	assert_string_equal(c->pools[POOL_GREEN].members[0].text,
	    "[2001:db8::1]:8080");
	assert_string_equal(c->admin_socket, "/tmp/x.sock");
	assert_int_equal(c->admin_socket_mode, 0660);
	assert_int_equal(c->connect_ms, 1);
	assert_int_equal(c->client_header_ms, 2);
	assert_int_equal(c->idle_ms, 3);
	assert_int_equal(c->upstream_ms, CONFIG_TIMEOUT_MAX_MS);
	assert_int_equal(c->grace_ms, 0);
	assert_int_equal(c->log_level, LL_DEBUG);
	assert_int_equal(c->log_access, ACCESSLOG_TEXT);
	config_free(c);
}

static void
test_config_mirror_defaults_and_values(void **state)
{
	struct fixture	*f = *state;
	struct config	*c = load_ok(f, POOLS);

	assert_int_equal(c->mirror.percent, 0);	/* off */
	assert_true(c->mirror.methods == (1ULL << HTTP_GET |
	    1ULL << HTTP_HEAD | 1ULL << HTTP_OPTIONS));
	assert_int_equal(c->mirror.max_body, CONFIG_DEFAULT_MIRROR_MAX_BODY);
	assert_int_equal(c->mirror.timeout_ms,
	    CONFIG_DEFAULT_MIRROR_TIMEOUT_MS);
	assert_int_equal(c->mirror.max_inflight,
	    CONFIG_DEFAULT_MIRROR_MAX_INFLIGHT);
	config_free(c);
	c = load_ok(f, POOLS "mirror = { percent = 100; methods = "
	    "[ \"POST\", \"GET\" ]; max_body = 0; timeout_ms = 1; "
	    "max_inflight = 65536; };\n");
	assert_int_equal(c->mirror.percent, 100);
	assert_true(c->mirror.methods == (1ULL << HTTP_GET |
	    1ULL << HTTP_POST));
	assert_int_equal(c->mirror.max_body, 0);
	assert_int_equal(c->mirror.timeout_ms, 1);
	assert_int_equal(c->mirror.max_inflight, 65536);
	config_free(c);
}

static void
test_config_mirror_bad_values_rejected(void **state)
{
	struct fixture	*f = *state;

	load_fails(f, POOLS "mirror = { methods = [ \"GET\", \"get\" ]; };\n",
	    5, "mirror.methods[1]: unknown method \"get\" (GET, HEAD, "
	    "OPTIONS, TRACE, POST, PUT, PATCH or DELETE, in capitals)");
	load_fails(f, POOLS "mirror = { methods = [ ]; };\n", 5,
	    "mirror.methods: no method: to mirror nothing, set "
	    "mirror.percent = 0");
	load_fails(f, POOLS "mirror = { methods = [ 1 ]; };\n", 5,
	    "mirror.methods[0]: expected a method such as \"GET\"");
	write_conf(f, POOLS "mirror = { percent = 101; };\n");
	assert_null(config_load(f->path, f->err, sizeof(f->err)));
	assert_non_null(strstr(f->err, "mirror.percent"));
	write_conf(f, POOLS "mirror = { max_inflight = 0; };\n");
	assert_null(config_load(f->path, f->err, sizeof(f->err)));
	assert_non_null(strstr(f->err, "mirror.max_inflight"));
}

static void
test_config_same_member_in_both_pools_accepted(void **state)
{
	struct fixture	*f = *state;
	struct config	*c = load_ok(f,
	    "pools = {\n"
	    "  blue = { members = [ \"127.0.0.1:9001\" ]; };\n"
	    "  green = { members = [ \"127.0.0.1:9001\" ]; };\n"
	    "};\n");

	config_free(c);
}

static void
test_config_include_is_relative_to_file(void **state)
{
	struct fixture	*f = *state;
	struct config	*c;
	char		 inc[192];
	FILE		*fp;

	snprintf(inc, sizeof(inc), "%s/inc.conf", f->dir);
	assert_non_null(fp = fopen(inc, "w"));
	fputs("active = \"green\";\n", fp);
	fclose(fp);
	c = load_ok(f, POOLS "@include \"inc.conf\"\n");
	assert_int_equal(c->active, POOL_GREEN);
	config_free(c);
}

static void
load_shipped(const char *name, struct config **out)
{
	const char	*src = getenv("CUTOVER_SRCDIR");
	char		 path[1024], err[512];

	if (src != NULL)
		snprintf(path, sizeof(path), "%s/conf/%s", src, name);
	else
		snprintf(path, sizeof(path), "conf/%s", name);
	*out = config_load(path, err, sizeof(err));
	if (*out == NULL)
		fail_msg("%s", err);
}

static void
test_config_reference_file_loads_with_defaults(void **state)
{
	struct config	*c;

	load_shipped("cutover.conf", &c);
	assert_defaults(c);
	assert_string_equal(c->pools[POOL_BLUE].members[0].text,
	    "127.0.0.1:9001");
	assert_string_equal(c->pools[POOL_GREEN].members[0].text,
	    "127.0.0.1:9002");
	config_free(c);
}

static void
test_config_demo_file_loads(void **state)
{
	struct config	*c;

	load_shipped("demo.conf", &c);
	assert_string_equal(c->listen[0].text, "127.0.0.1:8080");
	assert_int_equal(c->active, POOL_BLUE);
	assert_int_equal(c->log_access, ACCESSLOG_TEXT);
	config_free(c);
}

static void
test_config_ref_then_free_twice_frees(void **state)
{
	struct fixture	*f = *state;
	struct config	*c = load_ok(f, POOLS);

	assert_ptr_equal(config_ref(c), c);
	assert_int_equal(c->refcnt, 2);
	config_free(c);
	assert_int_equal(c->refcnt, 1);
	assert_string_equal(c->pools[POOL_BLUE].members[0].text,
	    "127.0.0.1:9001");
	config_free(c);		/* the last: valgrind/ASan check the rest */
	config_free(NULL);
}

/* ------------------------------------------------------ file errors */

static void
test_config_missing_file_cannot_read(void **state)
{
	struct fixture	*f = *state;

	assert_null(config_load(f->path, f->err, sizeof(f->err)));
	snprintf(f->want, sizeof(f->want), "%s: cannot read: %s", f->path,
	    strerror(ENOENT));
	assert_string_equal(f->err, f->want);
}

static void
test_config_directory_cannot_read(void **state)
{
	struct fixture	*f = *state;

	assert_null(config_load(f->dir, f->err, sizeof(f->err)));
	snprintf(f->want, sizeof(f->want), "%s: cannot read: %s", f->dir,
	    strerror(EISDIR));
	assert_string_equal(f->err, f->want);
}

static void
test_config_syntax_error_names_line(void **state)
{
	load_fails(*state, POOLS "active = \"blue\";\nlisten = [ ;\n", 6,
	    "syntax error");
}

static void
test_config_duplicate_setting_names_line(void **state)
{
	load_fails(*state, POOLS "active = \"blue\";\nactive = \"green\";\n",
	    6, "active: duplicate setting name (first set on line 5)");
}

/* libconfig names only the line; the key is found from the file. */
static void
test_config_duplicate_nested_named_by_path(void **state)
{
	load_fails(*state,
	    "pools = {\n"
	    "  blue = { members = [ \"127.0.0.1:9001\" ]; # a = { b\n"
	    "    health = { path = \"/{\"; /* rise = {\n */ rise = 2;\n"
	    "      rise = 3; };\n"
	    "  };\n"
	    "  green = { members = [ \"127.0.0.1:9002\" ]; };\n"
	    "};\n", 5, "pools.blue.health.rise: duplicate setting name (first "
	    "set on line 4)");
}

/* Braces and comment marks inside strings do not mislead the search. */
static void
test_config_duplicate_after_strings_named_by_path(void **state)
{
	load_fails(*state, POOLS
	    "admin = { socket = \"/tmp/{x\"; };\n"
	    "log = { level = \"info\"; };\n"
	    "state_file = \"/tmp/a/*b\";\n"
	    "timeouts = {\n  connect_ms = 1;\n  connect_ms = 2;\n};\n", 10,
	    "timeouts.connect_ms: duplicate setting name (first set on line "
	    "9)");
}

/* ---------------------------------------------------- unknown names */

static void
test_config_unknown_top_level_rejected(void **state)
{
	load_fails(*state, POOLS "\nhealthcheck = { path = \"/\"; };\n", 6,
	    "healthcheck: unknown setting");
}

static void
test_config_unknown_nested_rejected(void **state)
{
	load_fails(*state, POOLS "timeouts = {\n  idle_ms = 5;\n"
	    "  conect_ms = 5;\n};\n", 7, "timeouts.conect_ms: unknown setting "
	    "(did you mean 'connect_ms'?)");
}

static void
test_config_unknown_far_from_any_no_suggestion(void **state)
{
	load_fails(*state, POOLS "timeouts = {\n  frobnicate = 5;\n};\n", 6,
	    "timeouts.frobnicate: unknown setting");
}

static void
test_config_unknown_pool_close_to_one_suggested(void **state)
{
	load_fails(*state,
	    "pools = {\n"
	    "  blue = { members = [ \"127.0.0.1:9001\" ]; };\n"
	    "  gren = { members = [ \"127.0.0.1:9002\" ]; };\n"
	    "};\n", 3, "pools.gren: unknown pool (did you mean 'green'?)");
}

static void
test_config_unknown_in_pool_rejected(void **state)
{
	load_fails(*state,
	    "pools = {\n"
	    "  blue = { members = [ \"127.0.0.1:9001\" ];\n"
	    "    weight = 3; };\n"
	    "  green = { members = [ \"127.0.0.1:9002\" ]; };\n"
	    "};\n", 3, "pools.blue.weight: unknown setting");
}

static void
test_config_unknown_pool_rejected(void **state)
{
	load_fails(*state,
	    "pools = {\n"
	    "  blue = { members = [ \"127.0.0.1:9001\" ]; };\n"
	    "  green = { members = [ \"127.0.0.1:9002\" ]; };\n"
	    "  red = { members = [ \"127.0.0.1:9003\" ]; };\n"
	    "};\n", 4,
	    "pools.red: unknown pool (expected \"blue\" or \"green\")");
}

/* ---------------------------------------------------- missing pools */

static void
test_config_no_pools_rejected_at_line_1(void **state)
{
	load_fails(*state, "\nactive = \"blue\";\n", 1,
	    "pools: missing (both pools, blue and green, must be defined)");
}

static void
test_config_missing_pool_rejected_at_group_line(void **state)
{
	load_fails(*state,
	    "active = \"blue\";\n"
	    "pools = {\n"
	    "  blue = { members = [ \"127.0.0.1:9001\" ]; };\n"
	    "};\n", 2,
	    "pools.green: missing (both pools, blue and green, "
	    "must be defined)");
}

static void
test_config_pool_without_members_rejected(void **state)
{
	load_fails(*state,
	    "pools = {\n"
	    "  blue = { members = [ \"127.0.0.1:9001\" ]; };\n"
	    "  green = { };\n"
	    "};\n", 3,
	    "pools.green.members: missing (pool green needs members, a dns "
	    "name, or both)");
}

static void
test_config_empty_pool_rejected(void **state)
{
	load_fails(*state,
	    "pools = {\n"
	    "  blue = { members = [ ]; };\n"
	    "  green = { members = [ \"127.0.0.1:9002\" ]; };\n"
	    "};\n", 2,
	    "pools.blue.members: empty: pool blue needs at least one member");
}

static void
test_config_pool_not_group_rejected(void **state)
{
	load_fails(*state,
	    "pools = {\n"
	    "  blue = [ \"127.0.0.1:9001\" ];\n"
	    "  green = { members = [ \"127.0.0.1:9002\" ]; };\n"
	    "};\n", 2,
	    "pools.blue: expected a group: blue = { members = [ ... ]; };");
}

static void
test_config_pools_not_group_rejected(void **state)
{
	load_fails(*state, "pools = \"blue\";\n", 1,
	    "pools: expected a group: pools = { blue = { ... }; "
	    "green = { ... }; };");
}

/* ---------------------------------------------------------- members */

static void
test_config_member_missing_port_rejected(void **state)
{
	load_fails(*state,
	    "pools = {\n"
	    "  blue = { members = [\n"
	    "    \"10.0.0.2:80\",\n"
	    "    \"10.0.0.1\"\n"
	    "  ]; };\n"
	    "  green = { members = [ \"127.0.0.1:9002\" ]; };\n"
	    "};\n", 4,
	    "pools.blue.members[1]: \"10.0.0.1\": missing port "
	    "(expected host:port)");
}

static void
test_config_member_bad_port_rejected(void **state)
{
	load_fails(*state,
	    "pools = {\n"
	    "  blue = { members = [ \"127.0.0.1:9001\" ]; };\n"
	    "  green = {\n"
	    "    members = [\n"
	    "      \"127.0.0.1:0\" ];\n"
	    "  };\n"
	    "};\n", 5,
	    "pools.green.members[0]: \"0\": bad port (1-65535)");
}

static void
test_config_member_name_rejected(void **state)
{
	load_fails(*state,
	    "pools = {\n"
	    "  blue = { members = [ \"localhost:9001\" ]; };\n"
	    "  green = { members = [ \"127.0.0.1:9002\" ]; };\n"
	    "};\n", 2,
	    "pools.blue.members[0]: \"localhost\": not a numeric IP address "
	    "(IPv6 goes in brackets: [::1]:8080)");
}

static void
test_config_duplicate_member_rejected_first_repeat_named(void **state)
{
	/* found by sorting: the first line that repeats an address is named,
	 * with the earlier one it repeats */
	load_fails(*state,
	    "pools = {\n"
	    "  blue = { members = [ \"127.0.0.9:1\", \"127.0.0.3:1\",\n"
	    "    \"127.0.0.5:1\",\n"
	    "    \"127.0.0.3:1\",\n"
	    "    \"127.0.0.9:1\" ]; };\n"
	    "  green = { members = [ \"127.0.0.1:9002\" ]; };\n"
	    "};\n", 4,
	    "pools.blue.members[3]: \"127.0.0.3:1\": duplicate (same "
	    "address as [1])");
}

static void
test_config_duplicate_member_rejected(void **state)
{
	load_fails(*state,
	    "pools = {\n"
	    "  blue = { members = [ \"127.0.0.1:9001\",\n"
	    "    \"127.0.0.1:9003\",\n"
	    "    \"127.0.0.1:9001\" ]; };\n"
	    "  green = { members = [ \"127.0.0.1:9002\" ]; };\n"
	    "};\n", 4,
	    "pools.blue.members[2]: \"127.0.0.1:9001\": duplicate (same "
	    "address as [0])");
}

static void
test_config_member_not_string_rejected(void **state)
{
	load_fails(*state,
	    "pools = {\n"
	    "  blue = { members = ( \"127.0.0.1:9001\", 9002 ); };\n"
	    "  green = { members = [ \"127.0.0.1:9002\" ]; };\n"
	    "};\n", 2,
	    "pools.blue.members[1]: expected a \"host:port\" string");
}

static void
test_config_members_not_list_rejected(void **state)
{
	load_fails(*state,
	    "pools = {\n"
	    "  blue = { members = \"127.0.0.1:9001\"; };\n"
	    "  green = { members = [ \"127.0.0.1:9002\" ]; };\n"
	    "};\n", 2,
	    "pools.blue.members: expected a list of \"host:port\" strings: "
	    "[ \"127.0.0.1:9001\", ... ]");
}

/* ----------------------------------------------------------- listen */

static void
test_config_listen_port_zero_accepted(void **state)
{
	struct fixture	*f = *state;
	struct config	*c = load_ok(f, POOLS "listen = [ \"*:0\" ];\n");

	assert_int_equal(c->nlisten, 1);
	assert_string_equal(c->listen[0].text, "0.0.0.0:0");
	config_free(c);
}

static void
test_config_listen_empty_rejected(void **state)
{
	load_fails(*state, POOLS "listen = [ ];\n", 5,
	    "listen: must not be empty");
}

static void
test_config_listen_duplicate_rejected(void **state)
{
	load_fails(*state, POOLS "listen = ( \"127.0.0.1:80\",\n"
	    "  \"127.0.0.1:80\" );\n", 6,
	    "listen[1]: \"127.0.0.1:80\": duplicate (same address as [0])");
}

static void
test_config_listen_string_rejected(void **state)
{
	load_fails(*state, POOLS "listen = \"0.0.0.0:80\";\n", 5,
	    "listen: expected a list of \"host:port\" strings: "
	    "[ \"127.0.0.1:9001\", ... ]");
}

static void
test_config_listen_missing_port_rejected(void **state)
{
	load_fails(*state, POOLS "listen = [ \"0.0.0.0\" ];\n", 5,
	    "listen[0]: \"0.0.0.0\": missing port (expected host:port)");
}

/* ----------------------------------------------------------- active */

static void
test_config_active_unknown_rejected(void **state)
{
	load_fails(*state, POOLS "active = \"purple\";\n", 5,
	    "active: \"purple\": expected \"blue\" or \"green\"");
}

static void
test_config_active_not_string_rejected(void **state)
{
	load_fails(*state, "active = 1;\n" POOLS, 1,
	    "active: expected a pool name");
}

/* ------------------------------------------------------------ admin */

static void
test_config_socket_mode_not_octal_rejected(void **state)
{
	load_fails(*state, POOLS "admin = {\n  socket_mode = \"0689\";\n};\n",
	    6, "admin.socket_mode: expected a string of octal digits such "
	    "as \"0660\" (libconfig has no octal numbers)");
}

static void
test_config_socket_mode_integer_rejected(void **state)
{
	load_fails(*state, POOLS "admin = { socket_mode = 0660; };\n", 5,
	    "admin.socket_mode: expected a string of octal digits such "
	    "as \"0660\" (libconfig has no octal numbers)");
}

static void
test_config_socket_mode_too_large_rejected(void **state)
{
	load_fails(*state, POOLS "admin = { socket_mode = \"1777\"; };\n", 5,
	    "admin.socket_mode: \"1777\": mode out of range (0000-0777)");
}

static void
test_config_socket_empty_rejected(void **state)
{
	load_fails(*state, POOLS "admin = { socket = \"\"; };\n", 5,
	    "admin.socket: must not be empty");
}

static void
test_config_socket_too_long_rejected(void **state)
{
	struct fixture	*f = *state;
	char		 text[512], msg[128];
	char		 longpath[109];

	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	snprintf(text, sizeof(text), POOLS "admin = { socket = \"%s\"; };\n",
	    longpath);
	snprintf(msg, sizeof(msg), "admin.socket: path too long (108 bytes, "
	    "at most 107)");
	load_fails(f, text, 5, msg);
}

static void
test_config_socket_not_string_rejected(void **state)
{
	load_fails(*state, POOLS "admin = { socket = 5; };\n", 5,
	    "admin.socket: expected a path string");
}

static void
test_config_admin_not_group_rejected(void **state)
{
	load_fails(*state, POOLS "admin = \"/run/x.sock\";\n", 5,
	    "admin: expected a group: admin = { ... };");
}

static void
test_config_admin_http_off_unless_set(void **state)
{
	struct fixture	*f = *state;
	struct config	*c = load_ok(f, POOLS);

	assert_null(c->admin_http);
	config_free(c);
	c = load_ok(f, POOLS "admin = { http = \"127.0.0.1:9901\"; };\n");
	assert_non_null(c->admin_http);
	assert_string_equal(c->admin_http->text, "127.0.0.1:9901");
	config_free(c);
}

static void
test_config_admin_http_bad_address_rejected(void **state)
{
	load_fails(*state, POOLS "admin = {\n  http = \"localhost\";\n};\n",
	    6, "admin.http: \"localhost\": missing port (expected host:port)");
	load_fails(*state, POOLS "admin = { http = 9901; };\n", 5,
	    "admin.http: expected a \"host:port\" string");
}

static void
test_config_admin_http_same_as_listen_rejected(void **state)
{
	load_fails(*state, "listen = [ \"127.0.0.1:8080\", "
	    "\"127.0.0.1:9901\" ];\n" POOLS
	    "admin = { http = \"127.0.0.1:9901\"; };\n", 6,
	    "admin.http: \"127.0.0.1:9901\": must differ from listen[1] "
	    "(never share a queue with client traffic)");
}

/* --------------------------------------------------------- timeouts */

static void
test_config_timeout_zero_rejected(void **state)
{
	load_fails(*state, POOLS "timeouts = {\n  idle_ms = 0;\n};\n", 6,
	    "timeouts.idle_ms: 0 out of range (1-86400000)");
}

static void
test_config_timeout_above_max_rejected(void **state)
{
	load_fails(*state, POOLS "timeouts = { upstream_ms = 86400001; };\n",
	    5, "timeouts.upstream_ms: 86400001 out of range (1-86400000)");
}

static void
test_config_timeout_int64_above_max_rejected(void **state)
{
	load_fails(*state, POOLS "timeouts = { connect_ms = 5000000000L; };\n",
	    5, "timeouts.connect_ms: 5000000000 out of range (1-86400000)");
}

static void
test_config_timeout_string_rejected(void **state)
{
	load_fails(*state, POOLS "timeouts = {\n\n  connect_ms = \"5000\";\n};\n",
	    7, "timeouts.connect_ms: expected an integer number of "
	    "milliseconds");
}

static void
test_config_timeout_float_rejected(void **state)
{
	load_fails(*state, POOLS "timeouts = { connect_ms = 1.5; };\n", 5,
	    "timeouts.connect_ms: expected an integer number of "
	    "milliseconds");
}

static void
test_config_grace_negative_rejected(void **state)
{
	load_fails(*state, POOLS "shutdown = { grace_ms = -1; };\n", 5,
	    "shutdown.grace_ms: -1 out of range (0-86400000)");
}

/* switch.guard and guard: off by default; the limits as written. */
static void
test_config_guard(void **state)
{
	struct fixture	*f = *state;
	struct config	*c = load_ok(f, POOLS);

	assert_int_equal(c->guard_s, 0);
	assert_true(c->guard.max_error_ratio == 0.05);
	assert_int_equal(c->guard.max_p99_ms, 0);
	assert_int_equal(c->guard.min_requests, 20);
	config_free(c);
	c = load_ok(f, POOLS "switch = { guard = 60; };\nguard = { "
	    "max_error_ratio = 1; max_p99_ms = 250; min_requests = 1; };\n");
	assert_int_equal(c->guard_s, 60);
	assert_true(c->guard.max_error_ratio == 1);
	assert_int_equal(c->guard.max_p99_ms, 250);
	assert_int_equal(c->guard.min_requests, 1);
	config_free(c);
}

/* A share is in (0, 1]; the others are integers in range. */
static void
test_config_guard_bad_rejected(void **state)
{
	load_fails(*state, POOLS "guard = { max_error_ratio = 0.0; };\n", 5,
	    "guard.max_error_ratio: 0 out of range: a share is greater than "
	    "0 and at most 1 (0.05 is 5%)");
	load_fails(*state, POOLS "guard = { max_error_ratio = 1.5; };\n", 5,
	    "guard.max_error_ratio: 1.5 out of range: a share is greater "
	    "than 0 and at most 1 (0.05 is 5%)");
	load_fails(*state, POOLS "guard = { max_error_ratio = \"5%\"; };\n",
	    5, "guard.max_error_ratio: expected a share, a number greater "
	    "than 0 and at most 1 (0.05 is 5%)");
	load_fails(*state, POOLS "guard = { min_requests = 0; };\n", 5,
	    "guard.min_requests: 0 out of range (1-100000000)");
	load_fails(*state, POOLS "switch = { guard = 3601; };\n", 5,
	    "switch.guard: 3601 out of range (0-3600)");
}

static void
test_config_timeouts_not_group_rejected(void **state)
{
	load_fails(*state, POOLS "timeouts = 5000;\n", 5,
	    "timeouts: expected a group: timeouts = { ... };");
}

/* --------------------------------------------------- preview and shift */

static void
test_config_preview_defaults_and_values(void **state)
{
	struct fixture	*f = *state;
	struct config	*c = load_ok(f, POOLS);

	assert_string_equal(c->preview.header, "X-Cutover-Pool");
	assert_null(c->preview.cookie);
	assert_null(c->preview.token);
	assert_null(c->shift_cookie);
	config_free(c);
	c = load_ok(f, POOLS "preview = { header = \"\"; cookie = \"cv\"; "
	    "token = \"0123456789abcdef\"; };\nshift = { cookie = "
	    "\"session_id\"; };\n");
	assert_string_equal(c->preview.header, "");
	assert_string_equal(c->preview.cookie, "cv");
	assert_string_equal(c->preview.token, "0123456789abcdef");
	assert_string_equal(c->shift_cookie, "session_id");
	config_free(c);
}

static void
test_config_preview_bad_values_rejected(void **state)
{
	struct fixture	*f = *state;

	load_fails(f, POOLS "preview = { header = \"X Pool\"; };\n", 5,
	    "preview.header: 'X Pool' is not a valid name: letters, digits "
	    "and !#$%&'*+-.^_`|~ only");
	load_fails(f, POOLS "preview = { cookie = \"\"; };\n", 5,
	    "preview.cookie: must not be empty");
	load_fails(f, POOLS "preview = { cookie = \"a;b\"; };\n", 5,
	    "preview.cookie: 'a;b' is not a valid name: letters, digits "
	    "and !#$%&'*+-.^_`|~ only");
	load_fails(f, POOLS "preview = { token = \"short\"; };\n", 5,
	    "preview.token: must be 8 to 256 characters long");
	load_fails(f, POOLS "preview = { token = \"has a space\"; };\n", 5,
	    "preview.token: printable ASCII without spaces only (it is a "
	    "header's value)");
	load_fails(f, POOLS "preview = { token = 12345678; };\n", 5,
	    "preview.token: expected a string");
	load_fails(f, POOLS "shift = { cookie = \"\"; };\n", 5,
	    "shift.cookie: must not be empty");
}

/* -------------------------------------------------------- forwarded */

static void
test_config_forwarded_trusts_nobody_by_default(void **state)
{
	struct fixture	*f = *state;
	struct config	*c = load_ok(f, POOLS);
	struct addr_ip	 ip;
	struct addr	 a;
	char		 why[128];

	assert_int_equal(c->fwd.ntrusted, 0);
	assert_int_equal(addr_parse("127.0.0.1:1", &a, false, why,
	    sizeof(why)), 0);
	addr_ip_from_sockaddr(&ip, (struct sockaddr *)&a.ss);
	assert_false(addr_cidr_has(c->fwd.trusted, c->fwd.ntrusted, &ip));
	assert_true(c->fwd.xff && c->fwd.proto && c->fwd.host);
	config_free(c);
}

/* Whether "ip:port" is in c's forwarded.trusted. */
static bool
trusted(const struct config *c, const char *text)
{
	struct addr	a;
	struct addr_ip	ip;
	char		why[128];

	assert_int_equal(addr_parse(text, &a, false, why, sizeof(why)), 0);
	addr_ip_from_sockaddr(&ip, (struct sockaddr *)&a.ss);
	return (addr_cidr_has(c->fwd.trusted, c->fwd.ntrusted, &ip));
}

static void
test_config_forwarded_trusted_networks_match(void **state)
{
	struct fixture	*f = *state;
	struct config	*c = load_ok(f, POOLS
	    "forwarded = { trusted = [ \"10.244.0.0/16\", \"192.0.2.7\",\n"
	    "  \"fd00:1::/32\", \"2001:db8::1\", \"::ffff:198.51.100.0/120\" "
	    "]; };\n");

	assert_int_equal(c->fwd.ntrusted, 5);
	assert_true(trusted(c, "10.244.0.1:5"));
	assert_true(trusted(c, "10.244.255.255:5"));
	assert_false(trusted(c, "10.245.0.1:5"));
	assert_true(trusted(c, "192.0.2.7:5"));
	assert_false(trusted(c, "192.0.2.8:5"));
	assert_true(trusted(c, "[fd00:1:ffff::9]:5"));
	assert_false(trusted(c, "[fd00:2::9]:5"));
	assert_true(trusted(c, "[2001:db8::1]:5"));
	assert_false(trusted(c, "[2001:db8::2]:5"));
	/* a dual-stack listener sees IPv4 clients mapped */
	assert_true(trusted(c, "[::ffff:10.244.3.4]:5"));
	assert_true(trusted(c, "198.51.100.77:5"));
	assert_false(trusted(c, "198.51.101.77:5"));
	config_free(c);
}

static void
test_config_forwarded_everything_and_nothing(void **state)
{
	struct fixture	*f = *state;
	struct config	*c = load_ok(f, POOLS
	    "forwarded = { trusted = [ \"0.0.0.0/0\" ]; };\n");

	assert_true(trusted(c, "203.0.113.9:5"));
	assert_false(trusted(c, "[2001:db8::1]:5"));	/* IPv4 only */
	config_free(c);
	c = load_ok(f, POOLS "forwarded = { trusted = [ ]; };\n");
	assert_int_equal(c->fwd.ntrusted, 0);
	assert_false(trusted(c, "127.0.0.1:5"));
	config_free(c);
}

static void
test_config_forwarded_bad_networks_rejected(void **state)
{
	struct fixture	*f = *state;

	load_fails(f, POOLS "forwarded = {\n  trusted = [ \"10.0.0.0/8\",\n"
	    "    \"10.244.1.0/16\" ];\n};\n", 7, "forwarded.trusted[1]: "
	    "\"10.244.1.0/16\": address has bits set past the prefix (the "
	    "network is 10.244.0.0/16)");
	load_fails(f, POOLS "forwarded = { trusted = [ \"10.0.0.0/33\" ]; };\n",
	    5, "forwarded.trusted[0]: \"10.0.0.0/33\": prefix length must be "
	    "0-32");
	load_fails(f, POOLS "forwarded = { trusted = [ \"fd00::/129\" ]; };\n",
	    5, "forwarded.trusted[0]: \"fd00::/129\": prefix length must be "
	    "0-128");
	load_fails(f, POOLS "forwarded = { trusted = [ \"10.0.0.0/\" ]; };\n",
	    5, "forwarded.trusted[0]: \"10.0.0.0/\": prefix length must be "
	    "0-32");
	load_fails(f, POOLS "forwarded = { trusted = [ \"ingress\" ]; };\n",
	    5, "forwarded.trusted[0]: \"ingress\": expected a numeric IPv4 or "
	    "IPv6 address or network (\"10.244.0.0/16\", \"fd00::/8\")");
	load_fails(f, POOLS "forwarded = { trusted = [ \"10.0.0.1:80\" ]; };\n",
	    5, "forwarded.trusted[0]: \"10.0.0.1:80\": expected a numeric "
	    "IPv4 or IPv6 address or network (\"10.244.0.0/16\", "
	    "\"fd00::/8\")");
	load_fails(f, POOLS "forwarded = { trusted = \"10.0.0.0/8\"; };\n",
	    5, "forwarded.trusted: expected a list of networks: [ "
	    "\"10.244.0.0/16\", \"fd00::/8\", ... ]");
	load_fails(f, POOLS "forwarded = { trusted = [ 10 ]; };\n", 5,
	    "forwarded.trusted[0]: expected a network string such as "
	    "\"10.244.0.0/16\"");
}

/* The old switch trusted every client: refused, never ignored. */
static void
test_config_forwarded_trust_incoming_replaced(void **state)
{
	struct fixture	*f = *state;

	load_fails(f, POOLS "forwarded = {\n  trust_incoming = true;\n};\n",
	    6, "forwarded.trust_incoming: replaced by forwarded.trusted = "
	    "[ \"CIDR\", ... ], the sources whose forwarding headers are "
	    "kept (default: none); see cutover.conf(5)");
	load_fails(f, POOLS "forwarded = { trust_incoming = false; };\n",
	    5, "forwarded.trust_incoming: replaced by forwarded.trusted = "
	    "[ \"CIDR\", ... ], the sources whose forwarding headers are "
	    "kept (default: none); see cutover.conf(5)");
}

/* -------------------------------------------------------------- log */

static void
test_config_log_level_unknown_rejected(void **state)
{
	load_fails(*state, POOLS "log = { level = \"verbose\"; };\n", 5,
	    "log.level: \"verbose\": expected \"error\", \"warning\", "
	    "\"info\" or \"debug\"");
}

static void
test_config_log_access_json_loads(void **state)
{
	struct config	*c = load_ok(*state, POOLS
	    "log = { access = \"json\"; };\n");

	assert_int_equal(c->log_access, ACCESSLOG_JSON);
	config_free(c);
}

static void
test_config_log_access_text_loads(void **state)
{
	struct config	*c = load_ok(*state, POOLS
	    "log = { access = \"text\"; };\n");

	assert_int_equal(c->log_access, ACCESSLOG_TEXT);
	config_free(c);
}

static void
test_config_log_access_off_loads(void **state)
{
	struct config	*c = load_ok(*state, POOLS
	    "log = { access = \"off\"; };\n");

	assert_int_equal(c->log_access, ACCESSLOG_OFF);
	config_free(c);
}

static void
test_config_log_access_false_is_off(void **state)
{
	struct config	*c = load_ok(*state, POOLS
	    "log = { access = false; };\n");

	assert_int_equal(c->log_access, ACCESSLOG_OFF);
	config_free(c);
}

static void
test_config_log_access_unknown_rejected(void **state)
{
	load_fails(*state, POOLS "log = { access = \"yes\"; };\n", 5,
	    "log.access: \"yes\": expected \"off\", \"text\" or \"json\"");
}

static void
test_config_log_access_number_rejected(void **state)
{
	load_fails(*state, POOLS "log = { access = 1; };\n", 5,
	    "log.access: expected \"off\", \"text\" or \"json\"");
}

/* ----------------------------------------------------------- health */

static void
test_config_health_defaults_and_pool_override(void **state)
{
	struct fixture		*f = *state;
	struct config		*c;
	const struct check_config *b, *g;

	c = load_ok(f, "health = { interval_ms = 500; expect = \"200\"; };\n"
	    "pools = {\n"
	    "  blue = { members = [ \"127.0.0.1:9001\" ];\n"
	    "           health = { path = \"/ready\"; rise = 1; }; };\n"
	    "  green = { members = [ \"127.0.0.1:9002\" ]; };\n"
	    "};\n");
	b = &c->pools[POOL_BLUE].health;
	g = &c->pools[POOL_GREEN].health;
	assert_string_equal(b->path, "/ready");
	assert_int_equal(b->rise, 1);
	assert_int_equal(b->interval_ms, 500);		/* from the global */
	assert_string_equal(g->path, "/");		/* the default */
	assert_int_equal(g->rise, 2);
	assert_int_equal(g->fall, 3);
	assert_int_equal(g->timeout_ms, 1000);
	assert_int_equal(g->interval_ms, 500);
	assert_true(check_expect_match(&b->expect, 200));
	assert_false(check_expect_match(&b->expect, 204));
	assert_null(c->state_file);
	assert_int_equal(c->min_healthy.count, 0);
	assert_int_equal(c->min_healthy.percent, 0);
	config_free(c);
}

static void
test_config_health_panic_default_global_and_pool_override(void **state)
{
	struct fixture	*f = *state;
	struct config	*c;

	c = load_ok(f, POOLS);
	assert_true(c->health.panic);			/* on by default */
	assert_true(c->pools[POOL_BLUE].health.panic);
	assert_true(c->pools[POOL_GREEN].health.panic);
	config_free(c);
	/* off globally, back on for blue alone */
	c = load_ok(f, "health = { panic = false; };\n"
	    "pools = {\n"
	    "  blue = { members = [ \"127.0.0.1:9001\" ];\n"
	    "           health = { panic = true; }; };\n"
	    "  green = { members = [ \"127.0.0.1:9002\" ]; };\n"
	    "};\n");
	assert_false(c->health.panic);
	assert_true(c->pools[POOL_BLUE].health.panic);
	assert_false(c->pools[POOL_GREEN].health.panic);
	config_free(c);
}

static void
test_config_health_bad_values_rejected(void **state)
{
	load_fails(*state, POOLS "health = { path = \"healthz\"; };\n", 5,
	    "health.path: \"healthz\": must start with /");
	load_fails(*state, POOLS "health = { rise = 0; };\n", 5,
	    "health.rise: 0 out of range (1-100)");
	load_fails(*state, POOLS "health = { expect = \"2xx\"; };\n", 5,
	    "health.expect: \"2xx\": expected status codes (100-599) and "
	    "ranges such as \"200-399\" or \"200,204,300-399\"");
	load_fails(*state, POOLS "health = { interval = 5; };\n", 5,
	    "health.interval: unknown setting");
	load_fails(*state, POOLS "health = { panic = \"yes\"; };\n", 5,
	    "health.panic: expected true or false");
	load_fails(*state, POOLS "health = { panic = 1; };\n", 5,
	    "health.panic: expected true or false");
}

static void
test_config_pool_health_error_names_pool(void **state)
{
	load_fails(*state, "pools = {\n"
	    "  blue = { members = [ \"127.0.0.1:9001\" ];\n"
	    "           health = { timeout_ms = 5; }; };\n"
	    "  green = { members = [ \"127.0.0.1:9002\" ]; };\n"
	    "};\n", 3,
	    "pools.blue.health.timeout_ms: 5 out of range (10-86400000)");
}

static void
test_config_min_healthy_count_or_percentage(void **state)
{
	struct fixture	*f = *state;
	struct config	*c;

	c = load_ok(f, POOLS "switch = { min_healthy = 1; };\n");
	assert_int_equal(c->min_healthy.count, 1);
	config_free(c);
	c = load_ok(f, POOLS "switch = { min_healthy = \"all\"; };\n");
	assert_int_equal(c->min_healthy.count, 0);
	assert_int_equal(c->min_healthy.percent, 0);
	config_free(c);
	c = load_ok(f, POOLS "switch = { min_healthy = \"50%\"; };\n");
	assert_int_equal(c->min_healthy.percent, 50);
	config_free(c);
	load_fails(f, POOLS "switch = { min_healthy = 0; };\n", 5,
	    "switch.min_healthy: 0 out of range (1-100000)");
	load_fails(f, POOLS "switch = { min_healthy = \"half\"; };\n", 5,
	    "switch.min_healthy: \"half\": expected a count (1 or more), a "
	    "percentage (1%-100%) such as \"50%\", or \"all\"");
}

/* A count no pool can reach would refuse every switch: named at -t. */
static void
test_config_min_healthy_above_pool_size_rejected(void **state)
{
	load_fails(*state,
	    "switch = { min_healthy = 2; };\n"
	    "pools = {\n"
	    "  blue = { members = [ \"127.0.0.1:9001\", \"127.0.0.1:9003\" ]; };\n"
	    "  green = { members = [ \"127.0.0.1:9002\" ]; };\n"
	    "};\n", 1, "switch.min_healthy: 2, but pool green has 1 member(s): "
	    "every switch to it would be refused");
}

static void
test_config_socket_group_unknown_has_line(void **state)
{
	load_fails(*state, POOLS "admin = {\n"
	    "  socket_group = \"no-such-group-x7\";\n};\n", 6,
	    "admin.socket_group: no group named 'no-such-group-x7'");
}

static void
test_config_readonly_socket_must_differ(void **state)
{
	load_fails(*state, POOLS "admin = { socket = \"/tmp/a.sock\";\n"
	    "  readonly_socket = \"/tmp/a.sock\"; };\n", 5,
	    "admin.readonly_socket: must differ from admin.socket");
}

static void
test_config_nul_byte_rejected_before_libconfig(void **state)
{
	struct fixture	*f = *state;
	FILE		*fp;

	assert_non_null(fp = fopen(f->path, "w"));
	fwrite(POOLS "x = \"a\0b\";\n", 1, sizeof(POOLS "x = \"a\0b\";\n") - 1,
	    fp);
	fclose(fp);
	assert_null(config_load(f->path, f->err, sizeof(f->err)));
	snprintf(f->want, sizeof(f->want), "%s:5: NUL byte in the file",
	    f->path);
	assert_string_equal(f->err, f->want);
}

static void
test_config_include_of_directory_rejected(void **state)
{
	/* libconfig 1.5 would exit() reading a directory: a reload must not
	 * kill the daemon */
	struct fixture	*f = *state;

	snprintf(f->msg, sizeof(f->msg), "@include: %s/: cannot read: Is a "
	    "directory", f->dir);
	load_fails(f, POOLS "@include \"\"\n", 5, f->msg);
}

/*
 * Not a regular file: refused at once, without reading (a FIFO would block
 * the control thread for ever, /dev/zero would be read for ever).
 */
static void
test_config_fifo_refused_without_blocking(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(mkfifo(f->path, 0600), 0);
	assert_null(config_load(f->path, f->err, sizeof(f->err)));
	snprintf(f->want, sizeof(f->want), "%s: cannot read: a FIFO, not a "
	    "regular file", f->path);
	assert_string_equal(f->err, f->want);
}

static void
test_config_device_refused(void **state)
{
	struct fixture	*f = *state;
	char		 hex[SHA256_HEX_LEN + 1];

	assert_int_equal(symlink("/dev/zero", f->path), 0);
	assert_null(config_load(f->path, f->err, sizeof(f->err)));
	snprintf(f->want, sizeof(f->want), "%s: cannot read: a character "
	    "device, not a regular file", f->path);
	assert_string_equal(f->err, f->want);
	assert_int_equal(config_hash(f->path, hex, f->err, sizeof(f->err)),
	    -1);
	assert_string_equal(f->err, f->want);
}

/* A (sparse) file above the cap is refused without being read. */
static void
test_config_too_large_refused(void **state)
{
	struct fixture	*f = *state;
	char		 hex[SHA256_HEX_LEN + 1];

	write_conf(f, POOLS);
	assert_int_equal(truncate(f->path, CONFIG_FILE_MAX + 1), 0);
	assert_null(config_load(f->path, f->err, sizeof(f->err)));
	snprintf(f->want, sizeof(f->want), "%s: cannot read: larger than %d "
	    "bytes (16 MiB), too large for a configuration file", f->path,
	    CONFIG_FILE_MAX);
	assert_string_equal(f->err, f->want);
	assert_int_equal(config_hash(f->path, hex, f->err, sizeof(f->err)),
	    -1);
	assert_string_equal(f->err, f->want);
}

static void
test_config_include_of_fifo_rejected(void **state)
{
	struct fixture	*f = *state;
	char		 inc[192];

	snprintf(inc, sizeof(inc), "%s/inc.conf", f->dir);
	assert_int_equal(mkfifo(inc, 0600), 0);
	snprintf(f->msg, sizeof(f->msg), "@include: %s: cannot read: a FIFO, "
	    "not a regular file", inc);
	load_fails(f, POOLS "@include \"inc.conf\"\n", 5, f->msg);
}

/* The hash is that of the bytes parsed, and config_hash agrees. */
static void
test_config_hash_of_bytes_parsed(void **state)
{
	struct fixture	*f = *state;
	struct config	*c;
	char		 hex[SHA256_HEX_LEN + 1], want[SHA256_HEX_LEN + 1];

	c = load_ok(f, POOLS "active = \"green\";\n");
	sha256_hex(POOLS "active = \"green\";\n",
	    sizeof(POOLS "active = \"green\";\n") - 1, want);
	assert_string_equal(c->sha256, want);
	assert_int_equal(config_hash(f->path, hex, f->err, sizeof(f->err)),
	    0);
	assert_string_equal(hex, want);
	config_free(c);
	unlink(f->path);
	assert_int_equal(config_hash(f->path, hex, f->err, sizeof(f->err)),
	    -1);
	snprintf(f->want, sizeof(f->want), "%s: cannot read: %s", f->path,
	    strerror(ENOENT));
	assert_string_equal(f->err, f->want);
}

/*
 * generation: 0 (none) to 2147483647, as the state file and the admin
 * `gen`; libconfig 1.5 wraps a literal beyond 32 bits without a word
 * (4294967298 reads as 2), which must be refused, not read as 2.
 */
static void
test_config_generation_range(void **state)
{
	struct fixture	*f = *state;
	struct config	*c;
	const char	*bad[] = { "2147483648", "4294967298", "4294967301",
	    "0x100000002", "99999999999999999999", "-1" };
	char		 text[256], msg[128];

	c = load_ok(f, POOLS "generation = 2147483647;\n");
	assert_int_equal(c->generation, 2147483647);
	config_free(c);
	c = load_ok(f, POOLS "generation = 7; # 4294967298\n");
	assert_int_equal(c->generation, 7);
	config_free(c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), POOLS "generation = %s;\n",
		    bad[i]);
		snprintf(msg, sizeof(msg), "generation: %s out of range "
		    "(0-2147483647)", bad[i]);
		load_fails(f, text, 5, msg);
	}
	/* the same check guards every integer setting */
	load_fails(f, POOLS "workers : 4294967298;\n", 5,
	    "workers: 4294967298 out of range (0-256)");
}

/*
 * The wrap check does not depend on how the literal is written: on the
 * line after its name, after a decoy "name=N" in a string, in hex, in an
 * included file (found beside the configuration, whatever the cwd).
 */
static void
test_config_wrapped_literal_found_anywhere(void **state)
{
	struct fixture	*f = *state;
	char		 inc[192], cwd[PATH_MAX];
	FILE		*fp;

	load_fails(f, POOLS "dns = { refresh_ms =\n 4294968296; };\n", 5,
	    "dns.refresh_ms: 4294968296 out of range (100-86400000)");
	load_fails(f, POOLS "admin = { socket = \"/tmp/refresh_ms=1000\"; }; "
	    "dns = { refresh_ms = 4294968296; };\n", 5,
	    "dns.refresh_ms: 4294968296 out of range (100-86400000)");
	load_fails(f, POOLS "generation = 0x80000000;\n", 5,
	    "generation: 0x80000000 out of range (0-2147483647)");
	load_fails(f, POOLS "shutdown = { grace_ms = -3000000000; };\n", 5,
	    "shutdown.grace_ms: -3000000000 out of range (0-86400000)");
	/* in range for the setting: the L is what is missing */
	load_fails(f, POOLS "limits = { max_body_bytes = 4294967296; };\n", 5,
	    "limits.max_body_bytes: 4294967296: a number this large is "
	    "written with an L (4294967296L), or libconfig reads it wrapped "
	    "to 0");

	snprintf(inc, sizeof(inc), "%s/inc.conf", f->dir);
	assert_non_null(fp = fopen(inc, "w"));
	fputs("generation = 4294967298;\n", fp);
	assert_int_equal(fclose(fp), 0);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir("/"), 0);
	write_conf(f, POOLS "@include \"inc.conf\"\n");
	assert_null(config_load(f->path, f->err, sizeof(f->err)));
	assert_int_equal(chdir(cwd), 0);
	snprintf(f->want, sizeof(f->want), "%s:1: generation: 4294967298 out "
	    "of range (0-2147483647)", inc);
	assert_string_equal(f->err, f->want);
}

/* More wrapped literals than the scan keeps a note of: still refused. */
static void
test_config_many_wrapped_literals(void **state)
{
	struct fixture	*f = *state;
	char		 text[2048];
	size_t		 n;

	n = (size_t)snprintf(text, sizeof(text), "%s", POOLS);
	for (int i = 0; i < CONFIG_SCAN_WIDE_MAX + 2; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    "x%d = 4294967298;\n", i);
	load_fails(f, text, 5, "x0: 4294967298 does not fit in 32 bits, and "
	    "libconfig would wrap it: a 64-bit number is written with an L "
	    "(4294967298L)");
}

/* A duplicate is named by its full path, even on one line with its twin,
 * and in an included file by that file's path. */
static void
test_config_duplicate_named_exactly(void **state)
{
	struct fixture	*f = *state;
	char		 inc[192];
	FILE		*fp;

	load_fails(f, POOLS "timeouts = { idle_ms = 5; connect_ms = 1; "
	    "connect_ms = 2; };\n", 5, "timeouts.connect_ms: duplicate setting "
	    "name (first set on line 5)");
	load_fails(f, "listen = [ \"127.0.0.1:0\" ];\npools = {\n"
	    "  blue = { members = [ \"127.0.0.1:9001\" ]; members = "
	    "[ \"127.0.0.1:9003\" ]; };\n"
	    "  green = { members = [ \"127.0.0.1:9002\" ]; };\n};\n", 3,
	    "pools.blue.members: duplicate setting name (first set on line 3)");
	/* a key name longer than 63 characters is named whole */
	load_fails(f, POOLS "timeouts = { a123456789b123456789c123456789d12345"
	    "6789e123456789f123456789g123456789 = 1;\n a123456789b123456789c1"
	    "23456789d123456789e123456789f123456789g123456789 = 2; };\n", 6,
	    "timeouts.a123456789b123456789c123456789d123456789e123456789f1234"
	    "56789g123456789: duplicate setting name (first set on line 5)");

	snprintf(inc, sizeof(inc), "%s/inc.conf", f->dir);
	assert_non_null(fp = fopen(inc, "w"));
	fputs("# included\ngeneration = 2;\n", fp);
	assert_int_equal(fclose(fp), 0);
	write_conf(f, POOLS "generation = 1;\n  @include \"inc.conf\"  # c\n");
	assert_null(config_load(f->path, f->err, sizeof(f->err)));
	snprintf(f->want, sizeof(f->want), "%s:2: generation: duplicate "
	    "setting name (first set at %s:5)", inc, f->path);
	assert_string_equal(f->err, f->want);
}

/* A value's control characters reach a message escaped, and a health
 * path or host with one is refused (it would be sent in a probe). */
static void
test_config_control_characters(void **state)
{
	struct fixture	*f = *state;

	load_fails(f, POOLS "active = \"bl\r\nue\";\n", 5,
	    "active: \"bl\\r\\nue\": expected \"blue\" or \"green\"");
	load_fails(f, POOLS "health = { path = \"/a\r\nX: y\"; };\n", 5,
	    "health.path: \"/a\\r\\nX: y\": must be shorter than 256 bytes, "
	    "without spaces or control characters");
	load_fails(f, POOLS "health = { host = \"h\\x01\"; };\n", 5,
	    "health.host: \"h\\x01\": must be shorter than 256 bytes, "
	    "without spaces or control characters");
}

static void
test_config_state_file(void **state)
{
	struct fixture	*f = *state;
	struct config	*c;

	c = load_ok(f, POOLS "state_file = \"/var/lib/cutover/active\";\n");
	assert_string_equal(c->state_file, "/var/lib/cutover/active");
	config_free(c);
	load_fails(f, POOLS "state_file = \"\";\n", 5,
	    "state_file: must not be empty");
}


/* ---------------------------------------------------------------- dns */

#define DNS_POOLS(blue) \
	"pools = {\n" \
	"  blue = { " blue " };\n" \
	"  green = { members = [ \"127.0.0.1:9002\" ]; };\n" \
	"};\n"

static void
test_config_dns_defaults(void **state)
{
	struct config	*c;

	c = load_ok(*state, DNS_POOLS("dns = \"app-blue.prod.svc.cluster.local:"
	    "8080\";"));
	assert_string_equal(c->pools[POOL_BLUE].dns,
	    "app-blue.prod.svc.cluster.local:8080");
	assert_string_equal(c->pools[POOL_BLUE].dns_name,
	    "app-blue.prod.svc.cluster.local");
	assert_int_equal(c->pools[POOL_BLUE].dns_port, 8080);
	assert_int_equal(c->pools[POOL_BLUE].nmembers, 0);
	assert_null(c->pools[POOL_GREEN].dns);
	assert_int_equal(c->dns.nnameservers, 0);
	assert_int_equal(c->dns.refresh_ms, CONFIG_DEFAULT_DNS_REFRESH_MS);
	assert_int_equal(c->dns.timeout_ms, CONFIG_DEFAULT_DNS_TIMEOUT_MS);
	assert_string_equal(c->dns.resolv_conf, CONFIG_DEFAULT_RESOLV_CONF);
	config_free(c);
}

static void
test_config_dns_every_setting(void **state)
{
	struct config	*c;

	c = load_ok(*state, DNS_POOLS("members = [ \"10.0.0.1:80\" ]; "
	    "dns = \"app.example.:80\";")
	    "dns = { nameservers = [ \"127.0.0.1:5353\", \"[::1]:53\" ];\n"
	    "  refresh_ms = 300; timeout_ms = 150;\n"
	    "  resolv_conf = \"/nonexistent/resolv.conf\"; };\n");
	assert_int_equal(c->pools[POOL_BLUE].nmembers, 1);
	assert_string_equal(c->pools[POOL_BLUE].dns_name, "app.example.");
	assert_int_equal(c->pools[POOL_BLUE].dns_port, 80);
	assert_int_equal(c->dns.nnameservers, 2);
	assert_string_equal(c->dns.nameservers[0].text, "127.0.0.1:5353");
	assert_string_equal(c->dns.nameservers[1].text, "[::1]:53");
	assert_int_equal(c->dns.refresh_ms, 300);
	assert_int_equal(c->dns.timeout_ms, 150);
	assert_string_equal(c->dns.resolv_conf, "/nonexistent/resolv.conf");
	config_free(c);
	/* an empty list: resolv_conf's nameservers */
	c = load_ok(*state, DNS_POOLS("dns = \"a_b-c.d:1\";")
	    "dns = { nameservers = [ ]; };\n");
	assert_int_equal(c->dns.nnameservers, 0);
	config_free(c);
}

static void
test_config_dns_bad_names_rejected(void **state)
{
	struct fixture	*f = *state;
	char		 label[70], text[512], want[512];

	load_fails(f, DNS_POOLS("dns = \"app.example\";"), 2,
	    "pools.blue.dns: \"app.example\": missing port (expected "
	    "name:port)");
	load_fails(f, DNS_POOLS("dns = \"app.example:\";"), 2,
	    "pools.blue.dns: \"app.example:\": missing port (expected "
	    "name:port)");
	load_fails(f, DNS_POOLS("dns = \"app.example:0\";"), 2,
	    "pools.blue.dns: \"0\": bad port (1-65535)");
	load_fails(f, DNS_POOLS("dns = \"app.example:65536\";"), 2,
	    "pools.blue.dns: \"65536\": bad port (1-65535)");
	load_fails(f, DNS_POOLS("dns = \"app.example:+80\";"), 2,
	    "pools.blue.dns: \"+80\": bad port (1-65535)");
	load_fails(f, DNS_POOLS("dns = \"app..example:80\";"), 2,
	    "pools.blue.dns: \"app..example\": not a DNS name: labels "
	    "(between dots) must be 1-63 bytes");
	load_fails(f, DNS_POOLS("dns = \".app:80\";"), 2,
	    "pools.blue.dns: \".app\": not a DNS name: labels (between dots) "
	    "must be 1-63 bytes");
	load_fails(f, DNS_POOLS("dns = \"app example:80\";"), 2,
	    "pools.blue.dns: \"app example\": not a DNS name: ' ' in a name "
	    "(letters, digits, '-', '_' and dots only)");
	load_fails(f, DNS_POOLS("dns = \":80\";"), 2,
	    "pools.blue.dns: \"\": not a DNS name: a name of 1-253 bytes");
	load_fails(f, DNS_POOLS("dns = \"10.0.0.1:80\";"), 2,
	    "pools.blue.dns: \"10.0.0.1:80\": a numeric address (list it in "
	    "members)");
	load_fails(f, DNS_POOLS("dns = 80;"), 2,
	    "pools.blue.dns: expected a \"name:port\" string such as "
	    "\"app-green.default.svc.cluster.local:8080\"");
	memset(label, 'a', 64);
	label[64] = '\0';
	snprintf(text, sizeof(text), DNS_POOLS("dns = \"%s.example:80\";"),
	    label);
	snprintf(want, sizeof(want), "pools.blue.dns: \"%s.example\": not a "
	    "DNS name: labels (between dots) must be 1-63 bytes", label);
	load_fails(f, text, 2, want);
	/* 63 bytes is a label; 255 in all is not a name */
	label[63] = '\0';
	snprintf(text, sizeof(text), DNS_POOLS("dns = \"%s.example:80\";"),
	    label);
	config_free(load_ok(f, text));
	snprintf(text, sizeof(text), DNS_POOLS("dns = \"%s.%s.%s.%s.:80\";"),
	    label, label, label, label);
	snprintf(want, sizeof(want), "pools.blue.dns: \"%s.%s.%s.%s.\": not "
	    "a DNS name: a name of 1-253 bytes", label, label, label, label);
	load_fails(f, text, 2, want);
}

static void
test_config_dns_group_bad_values_rejected(void **state)
{
	struct fixture	*f = *state;

	load_fails(f, POOLS "dns = { nameservers = [ \"10.96.0.10\" ]; };\n",
	    5, "dns.nameservers[0]: \"10.96.0.10\": missing port (expected "
	    "host:port)");
	load_fails(f, POOLS "dns = { nameservers = \"127.0.0.1:53\"; };\n", 5,
	    "dns.nameservers: expected a list of \"host:port\" strings: [ "
	    "\"127.0.0.1:9001\", ... ]");
	load_fails(f, POOLS "dns = { nameservers = [ \"127.0.0.1:53\",\n"
	    "  \"127.0.0.1:53\" ]; };\n", 6, "dns.nameservers[1]: "
	    "\"127.0.0.1:53\": duplicate (same address as [0])");
	load_fails(f, POOLS "dns = { refresh_ms = 50; };\n", 5,
	    "dns.refresh_ms: 50 out of range (100-86400000)");
	load_fails(f, POOLS "dns = { timeout_ms = \"2s\"; };\n", 5,
	    "dns.timeout_ms: expected an integer number of milliseconds");
	load_fails(f, POOLS "dns = { timeout_ms = 0; };\n", 5,
	    "dns.timeout_ms: 0 out of range (10-600000)");
	load_fails(f, POOLS "dns = { resolv_conf = \"\"; };\n", 5,
	    "dns.resolv_conf: must not be empty");
	load_fails(f, POOLS "dns = { search = [ \"svc\" ]; };\n", 5,
	    "dns.search: unknown setting");
	load_fails(f, POOLS "dns = 5;\n", 5,
	    "dns: expected a group: dns = { ... };");
}

#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_config_minimal_file_gets_defaults),
		T(test_config_forwarded_trusts_nobody_by_default),
		T(test_config_forwarded_trusted_networks_match),
		T(test_config_forwarded_everything_and_nothing),
		T(test_config_forwarded_bad_networks_rejected),
		T(test_config_preview_defaults_and_values),
		T(test_config_preview_bad_values_rejected),
		T(test_config_forwarded_trust_incoming_replaced),
		T(test_config_health_defaults_and_pool_override),
		T(test_config_health_panic_default_global_and_pool_override),
		T(test_config_health_bad_values_rejected),
		T(test_config_pool_health_error_names_pool),
		T(test_config_min_healthy_count_or_percentage),
		T(test_config_min_healthy_above_pool_size_rejected),
		T(test_config_socket_group_unknown_has_line),
		T(test_config_state_file),
		T(test_config_dns_defaults),
		T(test_config_dns_every_setting),
		T(test_config_dns_bad_names_rejected),
		T(test_config_dns_group_bad_values_rejected),
		T(test_config_readonly_socket_must_differ),
		T(test_config_nul_byte_rejected_before_libconfig),
		T(test_config_include_of_directory_rejected),
		T(test_config_fifo_refused_without_blocking),
		T(test_config_device_refused),
		T(test_config_too_large_refused),
		T(test_config_include_of_fifo_rejected),
		T(test_config_hash_of_bytes_parsed),
		T(test_config_generation_range),
		T(test_config_full_file_sets_everything),
		T(test_config_mirror_defaults_and_values),
		T(test_config_mirror_bad_values_rejected),
		T(test_config_same_member_in_both_pools_accepted),
		T(test_config_include_is_relative_to_file),
		T(test_config_reference_file_loads_with_defaults),
		T(test_config_demo_file_loads),
		T(test_config_ref_then_free_twice_frees),
		T(test_config_missing_file_cannot_read),
		T(test_config_directory_cannot_read),
		T(test_config_syntax_error_names_line),
		T(test_config_duplicate_setting_names_line),
		T(test_config_duplicate_nested_named_by_path),
		T(test_config_duplicate_named_exactly),
		T(test_config_wrapped_literal_found_anywhere),
		T(test_config_many_wrapped_literals),
		T(test_config_control_characters),
		T(test_config_duplicate_after_strings_named_by_path),
		T(test_config_unknown_far_from_any_no_suggestion),
		T(test_config_unknown_pool_close_to_one_suggested),
		T(test_config_unknown_top_level_rejected),
		T(test_config_unknown_nested_rejected),
		T(test_config_unknown_in_pool_rejected),
		T(test_config_unknown_pool_rejected),
		T(test_config_no_pools_rejected_at_line_1),
		T(test_config_missing_pool_rejected_at_group_line),
		T(test_config_pool_without_members_rejected),
		T(test_config_empty_pool_rejected),
		T(test_config_pool_not_group_rejected),
		T(test_config_pools_not_group_rejected),
		T(test_config_member_missing_port_rejected),
		T(test_config_member_bad_port_rejected),
		T(test_config_member_name_rejected),
		T(test_config_duplicate_member_rejected),
		T(test_config_duplicate_member_rejected_first_repeat_named),
		T(test_config_member_not_string_rejected),
		T(test_config_members_not_list_rejected),
		T(test_config_listen_port_zero_accepted),
		T(test_config_listen_empty_rejected),
		T(test_config_listen_duplicate_rejected),
		T(test_config_listen_string_rejected),
		T(test_config_listen_missing_port_rejected),
		T(test_config_active_unknown_rejected),
		T(test_config_active_not_string_rejected),
		T(test_config_socket_mode_not_octal_rejected),
		T(test_config_socket_mode_integer_rejected),
		T(test_config_socket_mode_too_large_rejected),
		T(test_config_socket_empty_rejected),
		T(test_config_socket_too_long_rejected),
		T(test_config_socket_not_string_rejected),
		T(test_config_admin_not_group_rejected),
		T(test_config_admin_http_off_unless_set),
		T(test_config_admin_http_bad_address_rejected),
		T(test_config_admin_http_same_as_listen_rejected),
		T(test_config_timeout_zero_rejected),
		T(test_config_timeout_above_max_rejected),
		T(test_config_timeout_int64_above_max_rejected),
		T(test_config_timeout_string_rejected),
		T(test_config_timeout_float_rejected),
		T(test_config_grace_negative_rejected),
		T(test_config_guard),
		T(test_config_guard_bad_rejected),
		T(test_config_timeouts_not_group_rejected),
		T(test_config_log_level_unknown_rejected),
		T(test_config_log_access_json_loads),
		T(test_config_log_access_text_loads),
		T(test_config_log_access_off_loads),
		T(test_config_log_access_false_is_off),
		T(test_config_log_access_unknown_rejected),
		T(test_config_log_access_number_rejected),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
