/* csum.c - the Internet checksum (RFC 1071) over a buffer, 32 bytes a step,
 * for the checksums slirpnetd completes or writes into frames. */
#include <string.h>

#include "csum.h"

/* Two 64-bit lanes (GCC vector extension: SSE2 registers on x86-64). */
typedef uint64_t csum_vec __attribute__((vector_size(16)));

/* lanes_sum() - a vector's lanes, each folded to 32 bits, added up */
static uint64_t lanes_sum(csum_vec v)
{
	return (v[0] & 0xffffffffu) + (v[0] >> 32) + (v[1] & 0xffffffffu) +
	       (v[1] >> 32);
}

/* csum_bulk() - 32 bytes a step, two vectors of two 64-bit words: each
 * word's 32-bit halves summed in separate lanes, so no carry is lost;
 * each lane takes at most 2^32 - 1 a step, no overflow below 2^32 steps */
static uint64_t csum_bulk(const uint8_t *b, size_t steps)
{
	const csum_vec low = { 0xffffffffu, 0xffffffffu };
	csum_vec lo0 = { 0 }, hi0 = { 0 }, lo1 = { 0 }, hi1 = { 0 }, w0, w1;

	for (; steps; steps--, b += 2 * sizeof(csum_vec)) {
		memcpy(&w0, b, sizeof(w0));
		memcpy(&w1, b + sizeof(w0), sizeof(w1));
		lo0 += w0 & low;
		hi0 += w0 >> 32;
		lo1 += w1 & low;
		hi1 += w1 >> 32;
	}
	return lanes_sum(lo0) + lanes_sum(hi0) + lanes_sum(lo1) +
	       lanes_sum(hi1);
}

/* sn_csum_add() - the bulk 32 bytes at a time, then the tail */
uint64_t sn_csum_add(const void *p, size_t len, uint64_t sum)
{
	const uint8_t *b = p;
	uint32_t w32;
	uint16_t w16 = 0;

	sum += csum_bulk(b, len / (2 * sizeof(csum_vec)));
	b += len & ~(2 * sizeof(csum_vec) - 1);
	len &= 2 * sizeof(csum_vec) - 1;
	for (; len >= 4; b += 4, len -= 4) {
		memcpy(&w32, b, 4);
		sum += w32;
	}
	if (len >= 2) {
		memcpy(&w16, b, 2);
		sum += w16;
		b += 2;
		len -= 2;
	}
	if (len) {
		/* The odd byte is the first of a 16-bit word padded with 0. */
		w16 = 0;
		memcpy(&w16, b, 1);
		sum += w16;
	}
	return sum;
}

/* sn_csum_fold() - 64 bits to 16, complemented */
uint16_t sn_csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}
