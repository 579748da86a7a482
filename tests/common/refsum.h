/* refsum.h - the Internet checksum the slow, obvious way (RFC 1071), and
 * reproducible bytes to sum: what the unit tests check csum.c against. */
#ifndef SN_TESTS_REFSUM_H
#define SN_TESTS_REFSUM_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

/* ref_sum() - RFC 1071 the slow way: 16-bit words in network order */
static inline uint16_t ref_sum(const uint8_t *p, size_t len, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* fill() - reproducible bytes */
static inline void fill(uint8_t *p, size_t len, unsigned int seed)
{
	GRand *r = g_rand_new_with_seed(seed);
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)g_rand_int(r);
	g_rand_free(r);
}

#endif
