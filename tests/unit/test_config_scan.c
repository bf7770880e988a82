/*
 * test_config_scan.c — the pass before libconfig: which literals it would
 * wrap, how duplicates and wide literals are named (paths through groups,
 * lists, strings, comments and includes), and what it refuses at once.
 * Included files come from a table, not the disk.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config_scan.h"

/* The files an @include may name: "DIR/name" and their text. */
static const char *const files[][2] = {
	{ "d/a.conf", "generation = 2;\n" },
	{ "d/wide.conf", "x = {\n  y = 0x1FFFFFFFF;\n};\n" },
	{ "d/loop.conf", "@include \"loop.conf\"\n" },
	{ "d/open.conf", "a = 1;\n/* never closed\n" },
	/* each includes the next twice: 2^7 files in all */
	{ "d/x0.conf", "@include \"x1.conf\"\n@include \"x1.conf\"\n" },
	{ "d/x1.conf", "@include \"x2.conf\"\n@include \"x2.conf\"\n" },
	{ "d/x2.conf", "@include \"x3.conf\"\n@include \"x3.conf\"\n" },
	{ "d/x3.conf", "@include \"x4.conf\"\n@include \"x4.conf\"\n" },
	{ "d/x4.conf", "@include \"x5.conf\"\n@include \"x5.conf\"\n" },
	{ "d/x5.conf", "@include \"x6.conf\"\n@include \"x6.conf\"\n" },
	{ "d/x6.conf", "# leaf\n" },
};

static int
read_table(const char *path, char **text, size_t *len, char *err,
    size_t errlen)
{
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (strcmp(path, files[i][0]) == 0) {
			*text = strdup(files[i][1]);
			*len = strlen(files[i][1]);
			return (*text != NULL ? 0 : -1);
		}
	snprintf(err, errlen, "%s: cannot read: No such file or directory",
	    path);
	return (-1);
}

static int
scan(struct config_scan *sc, const char *text, char *err, size_t errlen)
{
	return (config_scan(sc, "main.conf", text, strlen(text), "d",
	    read_table, err, errlen));
}

static void
test_literal_wide(void **state)
{
	const char	*wide[] = { "2147483648", "4294967298", "-2147483649",
	    "+2147483648", "0x80000000", "0xFFFFFFFF", "0x100000002",
	    "99999999999999999999999", "0x1000000000000000000" };
	const char	*fits[] = { "0", "2147483647", "-2147483648",
	    "+2147483647", "0x7FFFFFFF", "4294967298L", "0xFFFFFFFFL",
	    "99999999999999999999LL", "1.5e10", "4294967298.0", "1e+30",
	    "abc", "-", "0x" };

	(void)state;
	for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++)
		if (!config_scan_literal_wide(wide[i], strlen(wide[i])))
			fail_msg("%s: not seen as wide", wide[i]);
	for (size_t i = 0; i < sizeof(fits) / sizeof(fits[0]); i++)
		if (config_scan_literal_wide(fits[i], strlen(fits[i])))
			fail_msg("%s: seen as wide", fits[i]);
}

/* Wide literals are named by the path of their setting or element,
 * whatever strings and comments stand around them. */
static void
test_wide_paths(void **state)
{
	struct config_scan	sc;
	char			err[256];

	(void)state;
	assert_int_equal(scan(&sc,
	    "a = { b = \"x = 4294967298 {\"; /* c = 4294967298 */\n"
	    "  # d = 4294967298\n  // e = 4294967298\n"
	    "  c =\n 4294967298; };\n"
	    "l = ( 1, { m = [ 5, 6, 0x80000000 ]; }, -3000000000 );\n"
	    "f = 1.0e12; g = 5000000000L;\n", err, sizeof(err)), 0);
	assert_int_equal(sc.nwide, 3);
	assert_string_equal(sc.wide[0].path, "a.c");
	assert_string_equal(sc.wide[0].lit, "4294967298");
	assert_string_equal(sc.wide[0].where, "main.conf:5");
	assert_string_equal(sc.wide[1].path, "l[1].m[2]");
	assert_string_equal(sc.wide[1].lit, "0x80000000");
	assert_string_equal(sc.wide[2].path, "l[2]");
	assert_string_equal(sc.wide[2].lit, "-3000000000");
	assert_string_equal(sc.dup, "");
}

/* An included file is read in place: its settings belong to the group
 * the @include stands in, and its lines are its own. */
static void
test_include_in_place(void **state)
{
	struct config_scan	sc;
	char			err[256];

	(void)state;
	assert_int_equal(scan(&sc, "generation = 1;\n@include \"a.conf\"\n",
	    err, sizeof(err)), 0);
	assert_string_equal(sc.dup, "d/a.conf:1: generation: duplicate "
	    "setting name (first set at main.conf:1)");
	assert_int_equal(scan(&sc, "p = {\n  @include \"wide.conf\" # c\n"
	    "  q = 1;\n};\n", err, sizeof(err)), 0);
	assert_int_equal(sc.nwide, 1);
	assert_string_equal(sc.wide[0].path, "p.x.y");
	assert_string_equal(sc.wide[0].where, "d/wide.conf:2");
	/* not at the start of a line: not an include (libconfig agrees) */
	assert_int_equal(scan(&sc, "s = \"a\"; @include \"nope.conf\"\n",
	    err, sizeof(err)), 0);
}

static void
test_refusals(void **state)
{
	struct config_scan	sc;
	char			err[256];
	const char		nul[] = "a = 1;\nb = \"x\0y\";\n";

	(void)state;
	assert_int_equal(scan(&sc, "a = 1;\n@include \"missing.conf\"\n", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "main.conf:2: @include: d/missing.conf: "
	    "cannot read: No such file or directory");
	assert_int_equal(scan(&sc, "@include \"loop.conf\"\n", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "d/loop.conf:1: @include: nested deeper "
	    "than 10 files");
	assert_int_equal(config_scan(&sc, "main.conf", nul, sizeof(nul) - 1,
	    "d", read_table, err, sizeof(err)), -1);
	assert_string_equal(err, "main.conf:2: NUL byte in the file");
}

/*
 * What libconfig would take silently (a string or comment to the end of a
 * file ends the configuration there) or slowly (an include tree, a group
 * of thousands of names) is refused at once.
 */
static void
test_refused_before_libconfig(void **state)
{
	struct config_scan	 sc;
	char			 err[256], *text;
	size_t			 n = 0;

	(void)state;
	assert_int_equal(scan(&sc, "a = 1;\n\"\nb = 2;\n", err, sizeof(err)),
	    -1);
	assert_string_equal(err, "main.conf:2: unterminated string: it runs "
	    "to the end of the file");
	assert_int_equal(scan(&sc, "a = 1;\n/* x\n\nb = 2;\n", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "main.conf:2: unterminated comment (/* "
	    "without */): it runs to the end of the file");
	/* in an included file, the rest of the including one would go */
	assert_int_equal(scan(&sc, "@include \"open.conf\"\nb = 2;\n", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "d/open.conf:2: unterminated comment (/* "
	    "without */): it runs to the end of the file");
	/* closed ones, and marks inside strings, are fine */
	assert_int_equal(scan(&sc, "a = \"/*\"; /* \" */ b = \"x\\\"\";\n",
	    err, sizeof(err)), 0);

	assert_int_equal(scan(&sc, "@include \"x0.conf\"\n", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, ": @include: more than 64 files included "
	    "in all"));

	assert_non_null(text = malloc((CONFIG_SCAN_GROUP_MAX + 1) * 16 + 64));
	n += (size_t)sprintf(text + n, "g = {\n");
	for (int i = 0; i <= CONFIG_SCAN_GROUP_MAX; i++)
		n += (size_t)sprintf(text + n, "k%d = 1;\n", i);
	sprintf(text + n, "};\n");
	assert_int_equal(scan(&sc, text, err, sizeof(err)), -1);
	assert_string_equal(err, "main.conf:4098: g: more than 4096 settings "
	    "in one group");
	free(text);
}

/* The first duplicate in reading order is reported, by full path, with
 * the line of its first setting; a name may repeat in other groups. */
static void
test_duplicates(void **state)
{
	struct config_scan	sc;
	char			err[256];

	(void)state;
	assert_int_equal(scan(&sc,
	    "t = { a = 1; b = 2; };\nu = { a = 1; };\n"
	    "v = { w = { k = 1;\n k = 2; }; x = 1; x = 2; };\n"
	    "t = 3;\n", err, sizeof(err)), 0);
	assert_string_equal(sc.dup, "main.conf:4: v.w.k: duplicate setting "
	    "name (first set on line 3)");
	/* groups in a list each have names of their own */
	assert_int_equal(scan(&sc, "l = ( { a = 1; }, { a = 2; a = 3; } );\n",
	    err, sizeof(err)), 0);
	assert_string_equal(sc.dup, "main.conf:1: l[1].a: duplicate setting "
	    "name (first set on line 1)");
	/* broken files do not mislead it: libconfig reports those */
	assert_int_equal(scan(&sc, "a = { b = 1; }; } } ] a2 = ( \"x\", {\n",
	    err, sizeof(err)), 0);
	assert_string_equal(sc.dup, "");
}

/* Nothing to scan, or no setting at all: nothing found (and no pointer
 * arithmetic on the names not yet allocated). */
static void
test_empty(void **state)
{
	struct config_scan	sc;
	char			err[256];

	(void)state;
	assert_int_equal(config_scan(&sc, "main.conf", "", 0, "d", read_table,
	    err, sizeof(err)), 0);
	assert_string_equal(sc.dup, "");
	assert_int_equal(sc.nwide, 0);
	assert_int_equal(scan(&sc, "# only a comment\n{ }\n( )\n", err,
	    sizeof(err)), 0);
	assert_string_equal(sc.dup, "");
	assert_int_equal(scan(&sc, "a = { b = 1; };\n", err, sizeof(err)), 0);
	assert_string_equal(sc.dup, "");
}

/* Nesting deeper than the scan follows: no crash, no false duplicate. */
static void
test_deep_nesting(void **state)
{
	struct config_scan	 sc;
	char			 err[256], *text;
	size_t			 n = 0;

	(void)state;
	assert_non_null(text = malloc(100 * 9 + 64));
	for (int i = 0; i < 100; i++)
		n += (size_t)sprintf(text + n, "g = { ");
	n += (size_t)sprintf(text + n, "a = 1; a = 2; ");
	for (int i = 0; i < 100; i++)
		n += (size_t)sprintf(text + n, "}; ");
	assert_int_equal(scan(&sc, text, err, sizeof(err)), 0);
	assert_string_equal(sc.dup, "");
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literal_wide),
		cmocka_unit_test(test_wide_paths),
		cmocka_unit_test(test_include_in_place),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_refused_before_libconfig),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_deep_nesting),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
