/* proxyproto.h - the PROXY protocol v2 header (haproxy's proxy-protocol.txt)
 * that tells a guest service the real client address of a connection. */
#ifndef SN_PROXYPROTO_H
#define SN_PROXYPROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Signature, version/command, family, length, and two IPv6 addresses. */
#define SN_PROXY_V2_MAX (16 + 36)

/*
 * sn_proxy_v2() - write the header for a TCP connection from @src to @dst
 * (both AF_INET, or both AF_INET6; mixed becomes v4-mapped IPv6) in @buf
 * Return: its length
 */
size_t sn_proxy_v2(uint8_t buf[SN_PROXY_V2_MAX],
		   const struct sockaddr_storage *src,
		   const struct sockaddr_storage *dst);

#endif
