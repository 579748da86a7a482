/* proxyproto.c - the PROXY protocol v2 header that gives a guest service
 * the client's real address: binary, TCP over IPv4 or IPv6, no TLVs. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "proxyproto.h"

static const uint8_t sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
				 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

/* as_v6() - @ss's address and port as IPv6 (v4-mapped for IPv4) */
static void as_v6(const struct sockaddr_storage *ss, uint8_t addr[16],
		  uint16_t *port)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET6) {
		memcpy(addr, &a6->sin6_addr, 16);
		*port = a6->sin6_port;
		return;
	}
	memset(addr, 0, 10);
	addr[10] = addr[11] = 0xff;
	memcpy(addr + 12, &a4->sin_addr, 4);
	*port = a4->sin_port;
}

size_t sn_proxy_v2(uint8_t buf[SN_PROXY_V2_MAX],
		   const struct sockaddr_storage *src,
		   const struct sockaddr_storage *dst)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)src;
	const struct sockaddr_in *d4 = (const struct sockaddr_in *)dst;
	uint8_t *p = buf + 16;
	uint16_t sport, dport, len;

	memcpy(buf, sig, sizeof(sig));
	buf[12] = 0x21; /* version 2, PROXY */
	if (src->ss_family == AF_INET && dst->ss_family == AF_INET) {
		buf[13] = 0x11; /* TCP over IPv4 */
		memcpy(p, &s4->sin_addr, 4);
		memcpy(p + 4, &d4->sin_addr, 4);
		memcpy(p + 8, &s4->sin_port, 2);
		memcpy(p + 10, &d4->sin_port, 2);
		len = 12;
	} else {
		buf[13] = 0x21; /* TCP over IPv6 */
		as_v6(src, p, &sport);
		as_v6(dst, p + 16, &dport);
		memcpy(p + 32, &sport, 2);
		memcpy(p + 34, &dport, 2);
		len = 36;
	}
	buf[14] = (uint8_t)(len >> 8);
	buf[15] = (uint8_t)len;
	return 16 + len;
}
