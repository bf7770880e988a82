/*
 * test_suggest.c — "did you mean": which name is offered for a word, and
 * when none is.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "suggest.h"

static const char *const commands[] = {
	"switch", "rollback", "status", "reload", "member", "wait-healthy",
	"wait-drained", "metrics", "help",
};
#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

static void
test_suggest_finds_typos(void **state)
{
	assert_string_equal(suggest("swtich", commands, NCOMMANDS), "switch");
	assert_string_equal(suggest("rolback", commands, NCOMMANDS),
	    "rollback");
	assert_string_equal(suggest("STATUS", commands, NCOMMANDS), "status");
	assert_string_equal(suggest("stats", commands, NCOMMANDS), "status");
	assert_string_equal(suggest("wait-healty", commands, NCOMMANDS),
	    "wait-healthy");
	assert_string_equal(suggest("hlep", commands, NCOMMANDS), "help");
}

static void
test_suggest_offers_nothing_far(void **state)
{
	const char	*far[] = { "", "x", "deploy", "restart", "hello-world",
			    "sw", "metricsmetrics" };

	for (size_t i = 0; i < sizeof(far) / sizeof(far[0]); i++)
		assert_null(suggest(far[i], commands, NCOMMANDS));
}

static void
test_suggest_prefers_the_closest(void **state)
{
	const char *const	pools[] = { "blue", "green" };
	const char *const	keys[] = { "timeout_ms", "timeouts", "time" };

	assert_string_equal(suggest("gren", pools, 2), "green");
	assert_string_equal(suggest("bleu", pools, 2), "blue");
	assert_null(suggest("red", pools, 2));
	assert_string_equal(suggest("timeout", keys, 3), "timeouts");
}

static void
test_suggest_append_formats(void **state)
{
	char	buf[64] = "unknown command 'swtich'";
	char	small[30] = "unknown command 'swtich'";
	char	none[64] = "unknown command 'deploy'";

	assert_string_equal(suggest_append(buf, sizeof(buf), "swtich",
	    commands, NCOMMANDS),
	    "unknown command 'swtich' (did you mean 'switch'?)");
	/* truncated as snprintf truncates, and still a string */
	suggest_append(small, sizeof(small), "swtich", commands, NCOMMANDS);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_string_equal(suggest_append(none, sizeof(none), "deploy",
	    commands, NCOMMANDS), "unknown command 'deploy'");
}

static void
test_suggest_skips_long_and_null_names(void **state)
{
	char		 longname[200];
	const char	*names[2];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	names[0] = NULL;
	names[1] = longname;
	assert_null(suggest("aaaa", names, 2));
	assert_null(suggest(longname, commands, NCOMMANDS));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suggest_finds_typos),
		cmocka_unit_test(test_suggest_offers_nothing_far),
		cmocka_unit_test(test_suggest_prefers_the_closest),
		cmocka_unit_test(test_suggest_append_formats),
		cmocka_unit_test(test_suggest_skips_long_and_null_names),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
