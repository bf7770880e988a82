/*
 * sha256.h — SHA-256 (FIPS 180-4), for the fingerprint of the loaded
 * configuration file that `status` shows.  Layer 0 (leaf): libc only.
 */
#ifndef CUTOVER_SHA256_H
#define CUTOVER_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN	32
#define SHA256_HEX_LEN	(2 * SHA256_LEN)	/* without the NUL */

struct sha256 {
	uint32_t	h[8];
	uint64_t	len;		/* bytes hashed so far */
	uint8_t		buf[64];
	size_t		nbuf;
};

void	sha256_init(struct sha256 *c);
void	sha256_update(struct sha256 *c, const void *data, size_t len);
void	sha256_final(struct sha256 *c, uint8_t out[SHA256_LEN]);

/* The digest of data in lowercase hex: hex has SHA256_HEX_LEN + 1 bytes. */
void	sha256_hex(const void *data, size_t len, char *hex);

#endif
