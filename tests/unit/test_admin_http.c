/*
 * test_admin_http.c — the HTTP listener's route decisions: which path
 * answers what, that the query is ignored, and that every method but GET
 * and HEAD is refused (405) whatever the path, so nothing on the listener
 * can change state.  The answers themselves are tested against the real
 * daemon (tests/integration/test_admin_http.py).
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <llhttp.h>

#include "admin_http.h"

static enum admin_http_route
route(uint8_t method, const char *target)
{
	return (admin_http_route(method, target, strlen(target)));
}

static void
test_admin_http_route_paths_known(void **state)
{
	assert_int_equal(route(HTTP_GET, "/healthz"), ADMIN_HTTP_HEALTHZ);
	assert_int_equal(route(HTTP_GET, "/readyz"), ADMIN_HTTP_READYZ);
	assert_int_equal(route(HTTP_GET, "/status"), ADMIN_HTTP_STATUS);
	assert_int_equal(route(HTTP_GET, "/metrics"), ADMIN_HTTP_METRICS);
	assert_int_equal(route(HTTP_HEAD, "/healthz"), ADMIN_HTTP_HEALTHZ);
	assert_int_equal(route(HTTP_HEAD, "/status"), ADMIN_HTTP_STATUS);
}

static void
test_admin_http_route_query_ignored(void **state)
{
	assert_int_equal(route(HTTP_GET, "/readyz?verbose=1"),
	    ADMIN_HTTP_READYZ);
	assert_int_equal(route(HTTP_GET, "/healthz?"), ADMIN_HTTP_HEALTHZ);
}

static void
test_admin_http_route_unknown_not_found(void **state)
{
	assert_int_equal(route(HTTP_GET, "/"), ADMIN_HTTP_NOT_FOUND);
	assert_int_equal(route(HTTP_GET, "/healthz/"), ADMIN_HTTP_NOT_FOUND);
	assert_int_equal(route(HTTP_GET, "/healthzz"), ADMIN_HTTP_NOT_FOUND);
	assert_int_equal(route(HTTP_GET, "/health"), ADMIN_HTTP_NOT_FOUND);
	assert_int_equal(route(HTTP_GET, "/STATUS"), ADMIN_HTTP_NOT_FOUND);
	assert_int_equal(route(HTTP_GET, "http://x/status"),
	    ADMIN_HTTP_NOT_FOUND);
	assert_int_equal(admin_http_route(HTTP_GET, "/status", 0),
	    ADMIN_HTTP_NOT_FOUND);
}

static void
test_admin_http_route_other_methods_refused(void **state)
{
	static const uint8_t	methods[] = { HTTP_POST, HTTP_PUT,
	    HTTP_DELETE, HTTP_PATCH, HTTP_OPTIONS, HTTP_CONNECT, HTTP_TRACE };

	for (size_t i = 0; i < sizeof(methods); i++) {
		assert_int_equal(route(methods[i], "/status"),
		    ADMIN_HTTP_BAD_METHOD);
		assert_int_equal(route(methods[i], "/nowhere"),
		    ADMIN_HTTP_BAD_METHOD);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_admin_http_route_paths_known),
		cmocka_unit_test(test_admin_http_route_query_ignored),
		cmocka_unit_test(test_admin_http_route_unknown_not_found),
		cmocka_unit_test(test_admin_http_route_other_methods_refused),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
