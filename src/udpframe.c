/* udpframe.c - UDP datagrams on tap0 for forwards through it: the guest's
 * frames parsed with every length checked, frames to it built. */
#include <string.h>
#include <sys/socket.h>

#include "csum.h"
#include "netbytes.h"
#include "udpframe.h"

#define ETH_HLEN     14
#define ETH_P_IPV4   0x0800
#define ETH_P_IPV6   0x86dd
#define IP_PROTO_UDP 17
#define IP6_FRAG     44
#define IP4_MF	     0x2000
#define UDP_HLEN     8

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

/* sn_udpframe_parse() - UDP in an IPv4 or IPv6 packet parsed */
enum sn_udpframe_verdict sn_udpframe_parse(const struct sn_ip *ip,
					   struct sn_udpframe *u)
{
	/* fragments are reassembled by libslirp (and watched by guard.c);
	 * UDP after IPv6 extension headers is libslirp's too */
	if (!sn_ip_whole(ip, IP_PROTO_UDP))
		return SN_UDPFRAME_NOT_UDP;
	if (ip->verdict != SN_IP_OK)
		return SN_UDPFRAME_MALFORMED;
	u->af = ip->af;
	sn_ip_addrs(ip, u->saddr, u->daddr);
	return parse_udp(ip->l4, ip->l4len, u);
}

/* sn_udpfrag_parse() - a fragment of UDP in an IPv4 or IPv6 packet parsed */
bool sn_udpfrag_parse(const struct sn_ip *ip, struct sn_udpfrag *fr)
{
	if (ip->verdict != SN_IP_OK || !ip->frag || ip->proto != IP_PROTO_UDP)
		return false;
	fr->af = ip->af;
	sn_ip_addrs(ip, fr->saddr, fr->daddr);
	fr->id = ip->id;
	fr->off = ip->frag_off;
	fr->more = ip->more;
	fr->data = ip->l4;
	fr->len = ip->l4len;
	return !(fr->more && fr->len % 8) && fr->off + fr->len <= 65535;
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
