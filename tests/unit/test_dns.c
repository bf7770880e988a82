/*
 * test_dns.c — the resolver's pure parts: when a name is asked again, and
 * which configuration changes make a new resolver.  (The lookups
 * themselves run against a real nameserver in
 * tests/integration/test_dns.py.)
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "dns.h"

static void
test_dns_next_ms_refresh_unless_ttl_is_shorter(void **state)
{
	assert_int_equal(dns_next_ms(5000, 30), 5000);
	assert_int_equal(dns_next_ms(5000, 2), 2000);
	/* a refresh shorter than the floor stands: the floor is the TTL's */
	assert_int_equal(dns_next_ms(250, 1), 250);
	assert_int_equal(dns_next_ms(250, 0), 250);
	/* a TTL of 0 does not spin */
	assert_int_equal(dns_next_ms(5000, 0), DNS_REFRESH_FLOOR_MS);
	assert_int_equal(dns_next_ms(86400000, UINT32_MAX), 86400000);
}

static struct config *
load(const char *text)
{
	char		 path[] = "/tmp/test_dns.XXXXXX", err[512];
	struct config	*cf;
	FILE		*fp;
	int		 fd;

	assert_true((fd = mkstemp(path)) != -1);
	assert_non_null(fp = fdopen(fd, "w"));
	fputs(text, fp);
	fclose(fp);
	cf = config_load(path, err, sizeof(err));
	unlink(path);
	if (cf == NULL)
		fail_msg("%s", err);
	return (cf);
}

#define POOLS(green) \
	"pools = { blue = { members = [ \"127.0.0.1:9001\" ]; };\n" \
	"  green = { " green " }; };\n"

static void
test_dns_same_only_when_names_and_settings_are(void **state)
{
	struct config	*a, *b;

	a = load(POOLS("dns = \"app.example:80\";")
	    "dns = { nameservers = [ \"127.0.0.1:53\" ]; };\n");
	assert_true(dns_wanted(a));
	/* static members may change: the resolver stays */
	b = load(POOLS("members = [ \"127.0.0.1:9002\" ]; "
	    "dns = \"app.example:80\";")
	    "dns = { nameservers = [ \"127.0.0.1:53\" ]; };\n");
	assert_true(dns_same(a, b));
	config_free(b);
	b = load(POOLS("dns = \"app.example:81\";")
	    "dns = { nameservers = [ \"127.0.0.1:53\" ]; };\n");
	assert_false(dns_same(a, b));
	config_free(b);
	b = load(POOLS("dns = \"app.example:80\";")
	    "dns = { nameservers = [ \"127.0.0.1:54\" ]; };\n");
	assert_false(dns_same(a, b));
	config_free(b);
	b = load(POOLS("dns = \"app.example:80\";")
	    "dns = { nameservers = [ \"127.0.0.1:53\" ]; refresh_ms = 1000; };\n");
	assert_false(dns_same(a, b));
	config_free(b);
	b = load(POOLS("members = [ \"127.0.0.1:9002\" ];"));
	assert_false(dns_wanted(b));
	assert_false(dns_same(a, b));
	config_free(b);
	config_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dns_next_ms_refresh_unless_ttl_is_shorter),
		cmocka_unit_test(test_dns_same_only_when_names_and_settings_are),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
