/* netbytes.h - big-endian (network order) 16- and 32-bit fields read and
 * written at any alignment in a frame, for the code that parses frames. */
#ifndef SN_NETBYTES_H
#define SN_NETBYTES_H

#include <stdint.h>

/* sn_get16() - the big-endian 16-bit value at @p */
static inline uint16_t sn_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* sn_get32() - the big-endian 32-bit value at @p */
static inline uint32_t sn_get32(const uint8_t *p)
{
	return (uint32_t)sn_get16(p) << 16 | sn_get16(p + 2);
}

/* sn_put16() - store @v big-endian at @p */
static inline void sn_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

#endif
