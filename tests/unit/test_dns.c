/*
 * test_dns.c — the resolver's pure parts: when a name is asked again,
 * which configuration changes make a new resolver, what resolv.conf says
 * and the order of a name's search candidates.  (The lookups
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

/* Every candidate of name, joined by spaces. */
static void
candidates(const char *name, const struct dns_resolv *rc, char *out,
    size_t len)
{
	char	buf[256];

	out[0] = '\0';
	for (size_t i = 0; dns_candidate(name, rc, i, buf, sizeof(buf)); i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%s",
		    i > 0 ? " " : "", buf[0] != '\0' ? buf : "(too long)");
}

static void
test_dns_candidates_in_glibc_order(void **state)
{
	static const char	 conf[] = "nameserver 10.96.0.10\n"
				    "search prod.svc.cluster.local "
				    "svc.cluster.local cluster.local\n"
				    "options ndots:2 attempts:3 timeout:1\n";
	struct dns_resolv	 rc;
	char			 out[1024], warn[256], longname[260];

	dns_resolv_parse(&rc, conf, strlen(conf), warn, sizeof(warn));
	assert_string_equal(warn, "");
	/* fewer dots than ndots: the search domains first */
	candidates("app", &rc, out, sizeof(out));
	assert_string_equal(out, "app.prod.svc.cluster.local "
	    "app.svc.cluster.local app.cluster.local app");
	candidates("app.prod", &rc, out, sizeof(out));
	assert_string_equal(out, "app.prod.prod.svc.cluster.local "
	    "app.prod.svc.cluster.local app.prod.cluster.local app.prod");
	/* at least ndots: as it is first */
	candidates("app.prod.svc", &rc, out, sizeof(out));
	assert_string_equal(out, "app.prod.svc "
	    "app.prod.svc.prod.svc.cluster.local "
	    "app.prod.svc.svc.cluster.local app.prod.svc.cluster.local");
	/* a final dot: only the name itself */
	candidates("app.", &rc, out, sizeof(out));
	assert_string_equal(out, "app");
	/* no search list: the name alone */
	dns_resolv_parse(&rc, "", 0, warn, sizeof(warn));
	candidates("app", &rc, out, sizeof(out));
	assert_string_equal(out, "app");
	/* a candidate too long to ask is empty (passed over) */
	dns_resolv_parse(&rc, conf, strlen(conf), warn, sizeof(warn));
	memset(longname, 'a', 250);
	longname[250] = '\0';
	candidates(longname, &rc, out, sizeof(out));
	assert_int_equal(strncmp(out, "(too long) (too long) (too long) aaa",
	    36), 0);
	assert_int_equal(strlen(out), 33 + 250);
}

static void
test_dns_resolv_parse(void **state)
{
	static const char	 conf[] = "# Kubernetes\n"
				    "nameserver 10.96.0.10\n"
				    "nameserver fd00::a ; comment\n"
				    "nameserver 127.0.0.1:5353\n"
				    "nameserver dns.example\n"
				    "domain corp.example\n"
				    "search a.example. b.example\n"
				    "sortlist 10.0.0.0/8\n"
				    "options rotate ndots:99 attempts:0\n";
	struct dns_resolv	 rc;
	char			 warn[256];

	dns_resolv_parse(&rc, conf, strlen(conf), warn, sizeof(warn));
	assert_int_equal(rc.nns, 3);
	assert_string_equal(rc.ns[0].text, "10.96.0.10:53");
	assert_string_equal(rc.ns[1].text, "[fd00::a]:53");
	assert_string_equal(rc.ns[2].text, "127.0.0.1:5353");
	assert_string_equal(warn, "nameserver dns.example: not a numeric "
	    "address, ignored");
	/* the last search or domain line wins; a final dot is dropped */
	assert_int_equal(rc.nsearch, 2);
	assert_string_equal(rc.search[0], "a.example");
	assert_string_equal(rc.search[1], "b.example");
	/* glibc's bounds */
	assert_int_equal(rc.ndots, DNS_NDOTS_MAX);
	assert_int_equal(rc.attempts, 1);
	/* the defaults, and a line without its newline */
	dns_resolv_parse(&rc, "options ndots:5", 15, warn, sizeof(warn));
	assert_int_equal(rc.nns, 0);
	assert_int_equal(rc.nsearch, 0);
	assert_int_equal(rc.ndots, 5);
	assert_int_equal(rc.attempts, 2);
	dns_resolv_parse(&rc, "domain x.example\nsearch\n", 24, warn,
	    sizeof(warn));
	assert_int_equal(rc.nsearch, 0);
}

static void
test_dns_resolv_parse_drops_a_line_too_long(void **state)
{
	char			 conf[1200], warn[256];
	struct dns_resolv	 rc;
	int			 n;

	/* a search list cut at 1023 bytes would end in another domain */
	n = snprintf(conf, sizeof(conf), "search ");
	while (n < 1010)
		n += snprintf(conf + n, sizeof(conf) - n, "a%d.example ", n);
	n += snprintf(conf + n, sizeof(conf) - n, "zz.example.com\n"
	    "nameserver 10.0.0.1\n");
	dns_resolv_parse(&rc, conf, (size_t)n, warn, sizeof(warn));
	assert_int_equal(rc.nsearch, 0);
	assert_int_equal(rc.nns, 1);	/* the next line is read */
	assert_non_null(strstr(warn, "a line longer than 1023 bytes "
	    "ignored"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dns_next_ms_refresh_unless_ttl_is_shorter),
		cmocka_unit_test(test_dns_same_only_when_names_and_settings_are),
		cmocka_unit_test(test_dns_candidates_in_glibc_order),
		cmocka_unit_test(test_dns_resolv_parse),
		cmocka_unit_test(test_dns_resolv_parse_drops_a_line_too_long),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
