/* offload.c - tap offloads: checksums and TCP segments the guest's kernel
 * leaves to slirpnetd; runs of libslirp's segments sent to it as one. */
#include <errno.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>

#include "csum.h"
#include "netbytes.h"
#include "offload.h"
#include "tap.h"

/*
 * Theory of operation
 *
 * Without offloads, the guest's kernel cuts every TCP send into segments
 * of the MTU and checksums each, in software, often in slirpnetd's own
 * time (a write of an ACK to the tap runs the guest's TCP, which sends the
 * next segments). libslirp then pays per segment: a read, an ACK written
 * back, a send() to the host. At the default MTU of 1500 that is a
 * system call per 500 bytes.
 *
 * With IFF_VNET_HDR and TUNSETOFFLOAD (TUN_F_CSUM, TUN_F_TSO4) the guest
 * hands over IPv4 TCP segments of up to 64 KiB whatever the MTU, and every
 * checksum left partial: the header says where the sum starts and where it
 * goes, and that field holds the pseudo-header's sum. libslirp checks every
 * checksum and takes an IPv4 TCP segment of any length (its receive window
 * is at most 64 KiB: it does no window scaling), so the frame is passed on
 * whole once its checksum is completed here: one segment, one ACK, one
 * send() to the host for 64 KiB.
 *
 * With libslirp's TCP, IPv6 gets the checksum offload only: libslirp
 * answers an IPv6 packet longer than its MTU with "packet too big", so the
 * guest's kernel cuts IPv6 TCP into MTU-sized segments itself (without
 * copying them, the tap taking scattered buffers now). The flow engine
 * (tcp.c) takes IPv6 TCP segments of any size: TSO6 is offered for it.
 *
 * At large MTUs the guest's segments are large already: there, offloads
 * only move the copying and checksumming from the guest's kernel into
 * slirpnetd, and they are not used (SN_OFFLOAD_MTU_BELOW).
 *
 * Every frame to the guest carries a header too. A frame as libslirp made
 * it says that its checksums are good, which spares the guest checking
 * them. And libslirp sends the guest's downloads as segments of the MTU,
 * each a write to the tap and each taken in by the guest's stack one by
 * one, which acknowledges every other one: so a run of one connection's
 * data segments, in order and of one size but the last, goes as one frame
 * of up to 64 KiB (VIRTIO_NET_HDR_GSO_TCPV4, the TCP checksum partial), as
 * a host's NIC hands a guest the segments it coalesced. The guest's kernel
 * takes it as one segment, and cuts it up again only if it forwards it.
 */

#define TAP_OFFLOADS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN)

/* sn_offload_wanted() - always for tcp.c's frames; with libslirp's TCP,
 * small MTUs only (see SN_OFFLOAD_MTU_BELOW) */
bool sn_offload_wanted(bool disabled, bool slirp_tcp, unsigned int mtu)
{
	return !disabled && (!slirp_tcp || mtu < SN_OFFLOAD_MTU_BELOW);
}

/* sn_offload_enable() - the header size, then the offloads offered */
bool sn_offload_enable(int fd, bool tso6, GError **err)
{
	unsigned long offloads = TAP_OFFLOADS | (tso6 ? TUN_F_TSO6 : 0);
	int hlen = (int)SN_VNET_HLEN, e;

	if (ioctl(fd, TUNSETVNETHDRSZ, &hlen) == 0 &&
	    ioctl(fd, TUNSETOFFLOAD, offloads) == 0)
		return true;
	e = errno;
	g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e),
		    "cannot enable the tap device's offloads: %s (start with "
		    "--disable-offload to run without them)",
		    g_strerror(e));
	errno = e;
	return false;
}

/* gso_ok() - the segmentation types the guest may use: TAP_OFFLOADS's,
 * and IPv6 TCP, offered for tcp.c (whose frames do not come here; one of
 * libslirp's over its MTU is answered with "packet too big") */
static bool gso_ok(uint8_t type)
{
	switch (type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return !(type & VIRTIO_NET_HDR_GSO_ECN);
	case VIRTIO_NET_HDR_GSO_TCPV4:
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return true;
	default:
		return false;
	}
}

/* sn_offload_rx() - complete a partial checksum in place */
enum sn_offload_verdict sn_offload_rx(uint8_t *buf, size_t len)
{
	struct virtio_net_hdr h;
	uint8_t *frame = buf + SN_VNET_HLEN;
	size_t flen, start, field;
	uint16_t sum;

	if (len < SN_VNET_HLEN + SN_ETH_HLEN)
		return SN_OFFLOAD_SHORT;
	memcpy(&h, buf, sizeof(h));
	if (!gso_ok(h.gso_type))
		return SN_OFFLOAD_BAD_GSO;
	/* A complete checksum, or none (libslirp checks it either way) */
	if (!(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return SN_OFFLOAD_OK;
	flen = len - SN_VNET_HLEN;
	start = h.csum_start;
	field = start + h.csum_offset;
	/* TCP's and UDP's fields are at even offsets; at an odd one the sum
	 * would land byte-swapped */
	if (start < SN_ETH_HLEN || field + sizeof(sum) > flen ||
	    (h.csum_offset & 1))
		return SN_OFFLOAD_BAD_CSUM;
	sum = sn_csum_fold(sn_csum_add(frame + start, flen - start, 0));
	/* 0 and 0xffff are the same sum; UDP sends 0 as 0xffff (RFC 768) */
	if (!sum)
		sum = 0xffff;
	memcpy(frame + field, &sum, sizeof(sum));
	return SN_OFFLOAD_OK;
}

/* sn_offload_csum_at() - the checksum field sn_offload_rx() completed */
size_t sn_offload_csum_at(const uint8_t *buf)
{
	struct virtio_net_hdr h;

	memcpy(&h, buf, sizeof(h));
	if (!(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return SIZE_MAX;
	return (size_t)h.csum_start + h.csum_offset;
}

/* sn_offload_why() - a verdict in words */
const char *sn_offload_why(enum sn_offload_verdict v)
{
	switch (v) {
	case SN_OFFLOAD_OK:
		return "accepted";
	case SN_OFFLOAD_SHORT:
		return "shorter than its headers";
	case SN_OFFLOAD_BAD_CSUM:
		return "its partial checksum lies outside the frame or at an "
		       "odd offset";
	case SN_OFFLOAD_BAD_GSO:
		return "a segmentation type that was not offered";
	}
	return "unknown";
}

/* ---- frames to the guest: runs of segments as one ---- */

#define ETH_P_IPV4   0x0800
#define IP_PROTO_TCP 6
#define TH_FIN	     0x01
#define TH_SYN	     0x02
#define TH_RST	     0x04
#define TH_PSH	     0x08
#define TH_ACK	     0x10
#define TH_URG	     0x20

/*
 * tcp_data_hlen() - the header length of @f if it is an IPv4 TCP segment
 * that carries data and nothing else (ACK, maybe PSH; no options in the IP
 * header, not a fragment), else 0
 */
static size_t tcp_data_hlen(const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + SN_ETH_HLEN, *th = ip + 20;
	size_t hlen;

	if (len < SN_ETH_HLEN + 40 || sn_get16(f + 12) != ETH_P_IPV4 ||
	    ip[0] != 0x45 || ip[9] != IP_PROTO_TCP ||
	    (sn_get16(ip + 6) & 0x3fff) ||
	    sn_get16(ip + 2) != len - SN_ETH_HLEN)
		return 0;
	hlen = SN_ETH_HLEN + 20 + (size_t)(th[12] >> 4) * 4;
	if ((th[12] >> 4) < 5 || hlen >= len ||
	    (th[13] & (TH_FIN | TH_SYN | TH_RST | TH_URG | TH_ACK)) != TH_ACK)
		return 0;
	return hlen;
}

/* continues() - is @f (header length @hlen) the next segment of @b's run? */
static bool continues(const struct sn_gso_batch *b, const uint8_t *f,
		      size_t hlen, size_t len)
{
	const uint8_t *first = b->buf + SN_VNET_HLEN;
	const size_t ip = SN_ETH_HLEN, th = SN_ETH_HLEN + 20;

	return !b->closed && hlen == b->hlen && len - hlen <= b->mss &&
	       b->len + (len - hlen) <= SN_ETH_HLEN + 65535 &&
	       sn_get32(f + th + 4) == b->next_seq &&
	       /* Ethernet, addresses, ports, ACK, window, options the same */
	       !memcmp(f, first, SN_ETH_HLEN) &&
	       !memcmp(f + ip + 12, first + ip + 12, 8) &&
	       !memcmp(f + th, first + th, 4) &&
	       !memcmp(f + th + 8, first + th + 8, 5) &&
	       !memcmp(f + th + 14, first + th + 14, 2) &&
	       !memcmp(f + th + 20, first + th + 20, hlen - th - 20);
}

/* sn_gso_add() - start or continue the run */
enum sn_gso_verdict sn_gso_add(struct sn_gso_batch *b, const uint8_t *frame,
			       size_t len)
{
	size_t hlen = tcp_data_hlen(frame, len);
	uint8_t *f = b->buf + SN_VNET_HLEN;

	if (!hlen)
		return SN_GSO_NOT_DATA;
	if (!b->len) {
		memcpy(f, frame, len);
		b->len = len;
		b->hlen = hlen;
		b->mss = len - hlen;
		b->push = false;
		b->closed = false;
	} else if (continues(b, frame, hlen, len)) {
		memcpy(f + b->len, frame + hlen, len - hlen);
		b->len += len - hlen;
		b->closed = len - hlen < b->mss;
	} else {
		return SN_GSO_NEW_RUN;
	}
	b->push |= (frame[SN_ETH_HLEN + 33] & TH_PSH) != 0;
	b->next_seq =
	    sn_get32(frame + SN_ETH_HLEN + 24) + (uint32_t)(len - hlen);
	return SN_GSO_TAKEN;
}

/* gso_finish() - headers for the run as one segment: IPv4 length and
 * checksum, PSH if any had it, the TCP checksum left partial (the
 * pseudo-header's sum, as the guest's own stack would leave it) */
static void gso_finish(struct sn_gso_batch *b)
{
	uint8_t *f = b->buf + SN_VNET_HLEN, *ip = f + SN_ETH_HLEN,
		*th = ip + 20;
	size_t tcp_len = b->len - SN_ETH_HLEN - 20;
	uint8_t pseudo[12];
	struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.hdr_len = (uint16_t)b->hlen,
		.gso_size = (uint16_t)b->mss,
		.csum_start = SN_ETH_HLEN + 20,
		.csum_offset = 16,
	};
	uint16_t sum;

	sn_put16(ip + 2, (uint16_t)(b->len - SN_ETH_HLEN));
	sn_put16(ip + 10, 0);
	sum = sn_csum_fold(sn_csum_add(ip, 20, 0));
	memcpy(ip + 10, &sum, sizeof(sum));
	if (b->push)
		th[13] |= TH_PSH;
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = IP_PROTO_TCP;
	sn_put16(pseudo + 10, (uint16_t)tcp_len);
	sum = (uint16_t)~sn_csum_fold(sn_csum_add(pseudo, sizeof(pseudo), 0));
	memcpy(th + 16, &sum, sizeof(sum));
	memcpy(b->buf, &h, sizeof(h));
}

/* sn_gso_frame() - one segment goes as libslirp made it */
const uint8_t *sn_gso_frame(struct sn_gso_batch *b, size_t *len)
{
	static const struct virtio_net_hdr one = SN_VNET_HDR_TX;

	*len = 0;
	if (!b->len)
		return NULL;
	if (b->len > b->hlen + b->mss) /* more than one segment */
		gso_finish(b);
	else
		memcpy(b->buf, &one, sizeof(one));
	*len = SN_VNET_HLEN + b->len;
	b->len = 0;
	return b->buf;
}
