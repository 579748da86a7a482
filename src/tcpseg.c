/* tcpseg.c - TCP segments of the flow engine: the guest's frames parsed with
 * every length checked against the frame, and the engine's frames built. */
#include <string.h>
#include <sys/socket.h>

#include "csum.h"
#include "netbytes.h"
#include "tcpseg.h"

#define ETH_HLEN     14
#define ETH_P_IPV4   0x0800
#define ETH_P_IPV6   0x86dd
#define IP_PROTO_TCP 6
#define TCP_OPT_END  0
#define TCP_OPT_NOP  1
#define TCP_OPT_MSS  2
#define TCP_OPT_WS   3

/* parse_opts() - the MSS and window scale options of a SYN; the rest is
 * skipped, a truncated option ends the list */
static void parse_opts(const uint8_t *o, size_t len, struct sn_tcpseg *seg)
{
	size_t i = 0, olen;

	while (i < len) {
		if (o[i] == TCP_OPT_END)
			return;
		if (o[i] == TCP_OPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len)
			return;
		olen = o[i + 1];
		if (olen < 2 || i + olen > len)
			return;
		if (o[i] == TCP_OPT_MSS && olen == 4)
			seg->mss = sn_get16(o + i + 2);
		else if (o[i] == TCP_OPT_WS && olen == 3)
			seg->ws =
			    o[i + 2] > SN_TCP_WS_MAX ? SN_TCP_WS_MAX : o[i + 2];
		i += olen;
	}
}

/* parse_tcp() - the TCP header at @th, @len bytes of TCP in the packet */
static enum sn_tcpseg_verdict parse_tcp(const uint8_t *th, size_t len,
					struct sn_tcpseg *seg)
{
	size_t hlen;

	if (len < 20)
		return SN_TCPSEG_MALFORMED;
	hlen = (size_t)(th[12] >> 4) * 4;
	if (hlen < 20 || hlen > len)
		return SN_TCPSEG_MALFORMED;
	seg->sport = sn_get16(th);
	seg->dport = sn_get16(th + 2);
	seg->seq = sn_get32(th + 4);
	seg->ack = sn_get32(th + 8);
	seg->flags = th[13];
	seg->win = sn_get16(th + 14);
	seg->mss = 0;
	seg->ws = -1;
	if (seg->flags & SN_TH_SYN)
		parse_opts(th + 20, hlen - 20, seg);
	seg->data = th + hlen;
	seg->dlen = len - hlen;
	return SN_TCPSEG_OK;
}

/* sn_tcpseg_parse() - TCP in an IPv4 or IPv6 packet parsed */
enum sn_tcpseg_verdict sn_tcpseg_parse(const struct sn_ip *ip,
				       struct sn_tcpseg *seg)
{
	/* fragments are reassembled by libslirp (and watched by guard.c);
	 * TCP after IPv6 extension headers is libslirp's too */
	if (!sn_ip_whole(ip, IP_PROTO_TCP))
		return SN_TCPSEG_NOT_TCP;
	if (ip->verdict != SN_IP_OK)
		return SN_TCPSEG_MALFORMED;
	seg->af = ip->af;
	memcpy(seg->dmac, ip->frame, 6);
	memcpy(seg->smac, ip->frame + 6, 6);
	sn_ip_addrs(ip, seg->saddr, seg->daddr);
	return parse_tcp(ip->l4, ip->l4len, seg);
}

/* sn_tcpseg_trim() - cut what was received before, and what the window
 * does not take */
enum sn_tcpseg_fit sn_tcpseg_trim(struct sn_tcpseg *seg, uint32_t rcv_nxt,
				  uint32_t wnd)
{
	uint32_t fin = (seg->flags & SN_TH_FIN) ? 1 : 0;
	uint32_t end = seg->seq + (uint32_t)seg->dlen + fin, cut;

	if (sn_seq_lt(rcv_nxt, seg->seq))
		return SN_TCPSEG_FUTURE;
	if (sn_seq_le(end, rcv_nxt))
		return SN_TCPSEG_OLD;
	cut = rcv_nxt - seg->seq; /* < dlen + fin, so <= dlen */
	seg->data += cut;
	seg->dlen -= cut;
	seg->seq = rcv_nxt;
	if (seg->dlen > wnd) {
		seg->dlen = wnd;
		seg->flags &= (uint8_t)~SN_TH_FIN;
	}
	if (!seg->dlen && !(seg->flags & SN_TH_FIN))
		return SN_TCPSEG_OLD;
	return SN_TCPSEG_NEW;
}

/* sn_tcpseg_tmpl_init() - addresses, ports and MACs swapped */
void sn_tcpseg_tmpl_init(struct sn_tcpseg_tmpl *t, const struct sn_tcpseg *seg)
{
	uint8_t *h = t->hdr, *ip = h + ETH_HLEN, *th;

	memset(t, 0, sizeof(*t));
	t->af = seg->af;
	memcpy(h, seg->smac, 6);
	memcpy(h + 6, seg->dmac, 6);
	if (seg->af == AF_INET) {
		sn_put16(h + 12, ETH_P_IPV4);
		ip[0] = 0x45;
		ip[6] = 0x40; /* DF */
		ip[8] = 64;
		ip[9] = IP_PROTO_TCP;
		memcpy(ip + 12, seg->daddr, 4);
		memcpy(ip + 16, seg->saddr, 4);
		th = ip + 20;
	} else {
		sn_put16(h + 12, ETH_P_IPV6);
		ip[0] = 0x60;
		ip[6] = IP_PROTO_TCP;
		ip[7] = 64;
		memcpy(ip + 8, seg->daddr, 16);
		memcpy(ip + 24, seg->saddr, 16);
		th = ip + 40;
	}
	sn_put16(th, seg->dport);
	sn_put16(th + 2, seg->sport);
	t->hlen = (size_t)(th + 20 - h);
}

/* put32() - store @v big-endian at @p */
static void put32(uint8_t *p, uint32_t v)
{
	sn_put16(p, (uint16_t)(v >> 16));
	sn_put16(p + 2, (uint16_t)v);
}

/* syn_opts() - the SYN's options at @o: MSS, then window scale if any;
 * their length */
static size_t syn_opts(uint8_t *o, const struct sn_tcpseg_out *out)
{
	size_t n = 0;

	if (out->mss) {
		o[n++] = TCP_OPT_MSS;
		o[n++] = 4;
		sn_put16(o + n, out->mss);
		n += 2;
	}
	if (out->ws >= 0) {
		o[n++] = TCP_OPT_NOP;
		o[n++] = TCP_OPT_WS;
		o[n++] = 3;
		o[n++] = (uint8_t)out->ws;
	}
	return n;
}

/* pseudo_sum() - the pseudo-header's sum for @tcp_len bytes of TCP */
static uint64_t pseudo_sum(const uint8_t *ip, int af, size_t tcp_len)
{
	uint8_t tail[8] = { 0 };

	if (af == AF_INET) {
		tail[5] = IP_PROTO_TCP;
		sn_put16(tail + 6, (uint16_t)tcp_len);
		return sn_csum_add(tail + 4, 4, sn_csum_add(ip + 12, 8, 0));
	}
	put32(tail, (uint32_t)tcp_len);
	tail[7] = IP_PROTO_TCP;
	return sn_csum_add(tail, 8, sn_csum_add(ip + 8, 32, 0));
}

/* sn_tcpseg_build() - copy the template, fill lengths, sequence numbers,
 * flags, window, options and checksums */
size_t sn_tcpseg_build(uint8_t *buf, const struct sn_tcpseg_tmpl *t,
		       const struct sn_tcpseg_out *o, bool csum_full)
{
	uint8_t *ip = buf + ETH_HLEN;
	uint8_t *th = buf + t->hlen - 20;
	size_t olen, thlen, tcp_len;
	uint64_t sum;
	uint16_t c;

	memcpy(buf, t->hdr, t->hlen);
	/* each option takes four bytes: no padding */
	olen = (o->flags & SN_TH_SYN) ? syn_opts(th + 20, o) : 0;
	thlen = 20 + olen;
	tcp_len = thlen + o->dlen;
	put32(th + 4, o->seq);
	put32(th + 8, o->ack);
	th[12] = (uint8_t)((thlen / 4) << 4);
	th[13] = o->flags;
	sn_put16(th + 14, o->win);
	if (t->af == AF_INET) {
		sn_put16(ip + 2, (uint16_t)(20 + tcp_len));
		c = sn_csum_fold(sn_csum_add(ip, 20, 0));
		memcpy(ip + 10, &c, sizeof(c));
	} else {
		sn_put16(ip + 4, (uint16_t)tcp_len);
	}
	sum = pseudo_sum(ip, t->af, tcp_len);
	if (csum_full) {
		sum = sn_csum_add(th, thlen, sum);
		/* no data: no pointer to add zero bytes from */
		c = sn_csum_fold(o->dlen ? sn_csum_add(o->data, o->dlen, sum)
					 : sum);
	} else {
		c = (uint16_t)~sn_csum_fold(sum);
	}
	memcpy(th + SN_TCPSEG_CSUM_OFF, &c, sizeof(c));
	return t->hlen + olen;
}
