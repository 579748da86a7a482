/* udpframe.c - UDP datagrams on tap0 for forwards through it: the guest's
 * frames parsed with every length checked, frames to it built. */
#include <string.h>
#include <sys/socket.h>

#include "csum.h"
#include "netbytes.h"
#include "udpframe.h"

#define ETH_HLEN      14
#define ETH_P_IPV4    0x0800
#define ETH_P_IPV6    0x86dd
#define IP_PROTO_UDP  17
#define IP6_FRAG      44
#define IP4_MF	      0x2000
#define IP4_FRAG_MASK 0x3fff /* MF and the offset: a fragment */
#define UDP_HLEN      8

/* ---- parsing ---- */

/* parse_udp() - the UDP header at @uh, @len bytes of IP payload */
static enum sn_udpframe_verdict parse_udp(const uint8_t *uh, size_t len,
					  struct sn_udpframe *u)
{
	size_t ulen;

	if (len < UDP_HLEN)
		return SN_UDPFRAME_MALFORMED;
	ulen = sn_get16(uh + 4);
	if (ulen < UDP_HLEN || ulen > len)
		return SN_UDPFRAME_MALFORMED;
	u->sport = sn_get16(uh);
	u->dport = sn_get16(uh + 2);
	u->data = uh + UDP_HLEN;
	u->dlen = ulen - UDP_HLEN;
	return SN_UDPFRAME_OK;
}

/* parse_ip4() - an IPv4 packet of @len bytes at @ip */
static enum sn_udpframe_verdict parse_ip4(const uint8_t *ip, size_t len,
					  struct sn_udpframe *u)
{
	size_t hlen, tot;

	if (len < 20 || (ip[0] >> 4) != 4 || ip[9] != IP_PROTO_UDP)
		return SN_UDPFRAME_NOT_UDP;
	/* fragments are reassembled by libslirp (and watched by guard.c) */
	if (sn_get16(ip + 6) & IP4_FRAG_MASK)
		return SN_UDPFRAME_NOT_UDP;
	hlen = (size_t)(ip[0] & 0x0f) * 4;
	tot = sn_get16(ip + 2);
	if (hlen < 20 || tot < hlen || tot > len)
		return SN_UDPFRAME_MALFORMED;
	u->af = AF_INET;
	memcpy(u->saddr, ip + 12, 4);
	memcpy(u->daddr, ip + 16, 4);
	return parse_udp(ip + hlen, tot - hlen, u);
}

/* parse_ip6() - an IPv6 packet of @len bytes at @ip; UDP right after the
 * fixed header only */
static enum sn_udpframe_verdict parse_ip6(const uint8_t *ip, size_t len,
					  struct sn_udpframe *u)
{
	size_t plen;

	if (len < 40 || (ip[0] >> 4) != 6 || ip[6] != IP_PROTO_UDP)
		return SN_UDPFRAME_NOT_UDP;
	plen = sn_get16(ip + 4);
	if (plen > len - 40)
		return SN_UDPFRAME_MALFORMED;
	u->af = AF_INET6;
	memcpy(u->saddr, ip + 8, 16);
	memcpy(u->daddr, ip + 24, 16);
	return parse_udp(ip + 40, plen, u);
}

enum sn_udpframe_verdict sn_udpframe_parse(const uint8_t *f, size_t len,
					   struct sn_udpframe *u)
{
	if (len < ETH_HLEN)
		return SN_UDPFRAME_NOT_UDP;
	switch (sn_get16(f + 12)) {
	case ETH_P_IPV4:
		return parse_ip4(f + ETH_HLEN, len - ETH_HLEN, u);
	case ETH_P_IPV6:
		return parse_ip6(f + ETH_HLEN, len - ETH_HLEN, u);
	default:
		return SN_UDPFRAME_NOT_UDP;
	}
}

/* frag4() - an IPv4 fragment of @len bytes at @ip */
static bool frag4(const uint8_t *ip, size_t len, struct sn_udpfrag *fr)
{
	size_t hlen, tot;
	uint16_t fo;

	if (len < 20 || (ip[0] >> 4) != 4 || ip[9] != IP_PROTO_UDP)
		return false;
	fo = sn_get16(ip + 6);
	hlen = (size_t)(ip[0] & 0x0f) * 4;
	tot = sn_get16(ip + 2);
	if (!(fo & IP4_FRAG_MASK) || hlen < 20 || tot < hlen || tot > len)
		return false;
	fr->af = AF_INET;
	memcpy(fr->saddr, ip + 12, 4);
	memcpy(fr->daddr, ip + 16, 4);
	fr->id = sn_get16(ip + 4);
	fr->off = (size_t)(fo & 0x1fff) * 8;
	fr->more = fo & IP4_MF;
	fr->data = ip + hlen;
	fr->len = tot - hlen;
	return true;
}

/* frag6() - an IPv6 fragment of @len bytes at @ip */
static bool frag6(const uint8_t *ip, size_t len, struct sn_udpfrag *fr)
{
	const uint8_t *fh = ip + 40;
	size_t plen;
	uint16_t om;

	if (len < 48 || (ip[0] >> 4) != 6 || ip[6] != IP6_FRAG)
		return false;
	plen = sn_get16(ip + 4);
	if (plen < 8 || plen > len - 40 || fh[0] != IP_PROTO_UDP)
		return false;
	om = sn_get16(fh + 2);
	fr->af = AF_INET6;
	memcpy(fr->saddr, ip + 8, 16);
	memcpy(fr->daddr, ip + 24, 16);
	fr->id = sn_get32(fh + 4);
	fr->off = om & ~7u;
	fr->more = om & 1;
	fr->data = fh + 8;
	fr->len = plen - 8;
	return true;
}

bool sn_udpfrag_parse(const uint8_t *f, size_t len, struct sn_udpfrag *fr)
{
	bool ok = false;

	if (len < ETH_HLEN)
		return false;
	if (sn_get16(f + 12) == ETH_P_IPV4)
		ok = frag4(f + ETH_HLEN, len - ETH_HLEN, fr);
	else if (sn_get16(f + 12) == ETH_P_IPV6)
		ok = frag6(f + ETH_HLEN, len - ETH_HLEN, fr);
	return ok && !(fr->more && fr->len % 8) && fr->off + fr->len <= 65535;
}

/* ---- building ---- */

/* put32() - store @v big-endian at @p */
static void put32(uint8_t *p, uint32_t v)
{
	sn_put16(p, (uint16_t)(v >> 16));
	sn_put16(p + 2, (uint16_t)v);
}

/* udp_header() - @t's UDP header for @data in @uh, checksum complete */
static void udp_header(uint8_t *uh, const struct sn_udpframe_tmpl *t,
		       const uint8_t *data, size_t dlen)
{
	size_t ulen = UDP_HLEN + dlen;
	uint8_t tail[8] = { 0 };
	uint64_t sum;
	uint16_t c;

	sn_put16(uh, t->sport);
	sn_put16(uh + 2, t->dport);
	sn_put16(uh + 4, (uint16_t)ulen);
	sn_put16(uh + 6, 0);
	if (t->af == AF_INET) {
		tail[5] = IP_PROTO_UDP;
		sn_put16(tail + 6, (uint16_t)ulen);
		sum = sn_csum_add(t->saddr, 4, 0);
		sum = sn_csum_add(t->daddr, 4, sum);
		sum = sn_csum_add(tail + 4, 4, sum);
	} else {
		put32(tail, (uint32_t)ulen);
		tail[7] = IP_PROTO_UDP;
		sum = sn_csum_add(t->saddr, 16, 0);
		sum = sn_csum_add(t->daddr, 16, sum);
		sum = sn_csum_add(tail, 8, sum);
	}
	sum = sn_csum_add(uh, UDP_HLEN, sum);
	if (dlen)
		sum = sn_csum_add(data, dlen, sum);
	c = sn_csum_fold(sum);
	/* 0 means "no checksum" (IPv4), and is not allowed (IPv6) */
	if (!c)
		c = 0xffff;
	memcpy(uh + 6, &c, sizeof(c));
}

/*
 * ip_header() - Ethernet and IP headers in @h for @n bytes of UDP
 * (header included) from offset @off of the datagram; a fragment if
 * @frag, the last one unless @more. Return: their length.
 */
static size_t ip_header(uint8_t *h, const struct sn_udpframe_tmpl *t, size_t n,
			size_t off, bool frag, bool more, uint32_t id)
{
	uint8_t *ip = h + ETH_HLEN;
	uint16_t c;

	memcpy(h, t->dmac, 6);
	memcpy(h + 6, t->smac, 6);
	if (t->af == AF_INET) {
		sn_put16(h + 12, ETH_P_IPV4);
		memset(ip, 0, 20);
		ip[0] = 0x45;
		sn_put16(ip + 2, (uint16_t)(20 + n));
		sn_put16(ip + 4, (uint16_t)id);
		sn_put16(ip + 6, (uint16_t)(off / 8 | (more ? IP4_MF : 0)));
		ip[8] = 64;
		ip[9] = IP_PROTO_UDP;
		memcpy(ip + 12, t->saddr, 4);
		memcpy(ip + 16, t->daddr, 4);
		c = sn_csum_fold(sn_csum_add(ip, 20, 0));
		memcpy(ip + 10, &c, sizeof(c));
		return ETH_HLEN + 20;
	}
	sn_put16(h + 12, ETH_P_IPV6);
	memset(ip, 0, 8);
	ip[0] = 0x60;
	sn_put16(ip + 4, (uint16_t)(n + (frag ? 8 : 0)));
	ip[6] = frag ? IP6_FRAG : IP_PROTO_UDP;
	ip[7] = 64;
	memcpy(ip + 8, t->saddr, 16);
	memcpy(ip + 24, t->daddr, 16);
	if (!frag)
		return ETH_HLEN + 40;
	ip[40] = IP_PROTO_UDP;
	ip[41] = 0;
	sn_put16(ip + 42, (uint16_t)(off | (more ? 1 : 0)));
	put32(ip + 44, id);
	return ETH_HLEN + 48;
}

/* build_one() - the whole datagram in one frame */
static unsigned int build_one(const struct sn_udpframe_tmpl *t,
			      const uint8_t *uh, const uint8_t *data,
			      size_t dlen, sn_udpframe_emit_fn emit,
			      void *opaque)
{
	uint8_t h[SN_UDPFRAME_HLEN_MAX];
	size_t hl = ip_header(h, t, UDP_HLEN + dlen, 0, false, false, 0);
	struct iovec iov[2] = { { h, hl + UDP_HLEN }, { (void *)data, dlen } };

	memcpy(h + hl, uh, UDP_HLEN);
	emit(iov, dlen ? 2 : 1, opaque);
	return 1;
}

unsigned int sn_udpframe_build(const struct sn_udpframe_tmpl *t,
			       const uint8_t *data, size_t dlen, uint32_t id,
			       sn_udpframe_emit_fn emit, void *opaque)
{
	size_t iphl = t->af == AF_INET ? 20 : 40;
	size_t fraghl = t->af == AF_INET ? 0 : 8;
	size_t ulen = UDP_HLEN + dlen, fragsz, off, n, hl;
	uint8_t uh[UDP_HLEN], h[SN_UDPFRAME_HLEN_MAX];
	unsigned int frames = 0;

	if (dlen > (t->af == AF_INET ? SN_UDPFRAME_DMAX4 : SN_UDPFRAME_DMAX6))
		return 0;
	udp_header(uh, t, data, dlen);
	if (iphl + ulen <= t->mtu)
		return build_one(t, uh, data, dlen, emit, opaque);
	if (t->mtu < iphl + fraghl + UDP_HLEN)
		return 0;
	fragsz = (t->mtu - iphl - fraghl) & ~(size_t)7;
	for (off = 0; off < ulen; off += n, frames++) {
		struct iovec iov[2];

		n = ulen - off < fragsz ? ulen - off : fragsz;
		hl = ip_header(h, t, n, off, true, off + n < ulen, id);
		if (!off) {
			memcpy(h + hl, uh, UDP_HLEN);
			iov[0] = (struct iovec){ h, hl + UDP_HLEN };
			iov[1] = (struct iovec){ (void *)data, n - UDP_HLEN };
		} else {
			iov[0] = (struct iovec){ h, hl };
			iov[1] =
			    (struct iovec){ (void *)(data + off - UDP_HLEN),
					    n };
		}
		emit(iov, iov[1].iov_len ? 2 : 1, opaque);
	}
	return frames;
}
