/* csum.h - the Internet checksum (RFC 1071): sums of buffers in the byte
 * order they are stored in, folded to the 16 bits a header holds. */
#ifndef SN_CSUM_H
#define SN_CSUM_H

#include <stddef.h>
#include <stdint.h>

/*
 * sn_csum_add() - the Internet checksum's one's complement sum (RFC 1071)
 * of @len bytes at @p, added to @sum; fold it with sn_csum_fold()
 */
uint64_t sn_csum_add(const void *p, size_t len, uint64_t sum);

/* sn_csum_fold() - @sum folded to 16 bits and complemented, in the byte
 * order it is stored in */
uint16_t sn_csum_fold(uint64_t sum);

#endif
