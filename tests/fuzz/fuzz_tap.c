/* fuzz_tap.c - libFuzzer target for the tap's frames: each input is frames
 * read from an offloading tap (ipparse.c, offload.c, udpframe.c, guard.c),
 * and sent (runs, offload.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csum.h"
#include "guard.h"
#include "ipparse.h"
#include "offload.h"
#include "udpframe.h"

/*
 * Input: frames, each a 16-bit little-endian length and that many bytes (the
 * virtio-net header, then the Ethernet frame), as many as the input holds.
 * One guard sees them all, so IPv4 fragments meet across frames. The frames
 * after the header go to a batch of segments too, as if libslirp sent them,
 * and every run it makes must be a frame the guest's kernel takes. A frame
 * that parses as UDP, or as a fragment of it (udpframe.c, as forwards
 * through tap0 take replies), must lie within the frame; a datagram, built
 * again as frames to the guest at a small MTU, must come back the same from
 * their fragments. Each frame is parsed once before its checksum is
 * completed, and again after only where stack.c does so: that parse must
 * be what the frame holds then.
 */

/* inject() - the guard's own frames: read them whole, as libslirp would */
static void inject(const uint8_t *frame, size_t len, void *opaque)
{
	uint8_t x = 0;
	size_t i;

	(void)opaque;
	for (i = 0; i < len; i++)
		x ^= frame[i];
	/* keep the reads: an empty asm that takes the result */
	__asm__ volatile("" : : "r"(x));
}

/* field() - the 16-bit field at @off in the frame in @buf, as stored */
static uint16_t field(const uint8_t *buf, size_t off)
{
	uint16_t v;

	memcpy(&v, buf + SN_VNET_HLEN + off, sizeof(v));
	return v;
}

/* rx_checked() - sn_offload_rx() on @buf; a checksum it completed must
 * verify with what the field held before, the pseudo-header's sum: the
 * sum of that, the segment and the new checksum is all ones */
static enum sn_offload_verdict rx_checked(uint8_t *buf, size_t len)
{
	struct virtio_net_hdr h;
	enum sn_offload_verdict v;
	size_t start;
	uint16_t pseudo = 0;

	memcpy(&h, buf, len < sizeof(h) ? len : sizeof(h));
	start = h.csum_start;
	if (len >= sizeof(h) && len >= SN_VNET_HLEN + start + h.csum_offset + 2)
		pseudo = field(buf, start + h.csum_offset);
	v = sn_offload_rx(buf, len);
	if (v != SN_OFFLOAD_OK || !(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return v;
	if (sn_csum_fold(sn_csum_add(buf + SN_VNET_HLEN + start,
				     len - SN_VNET_HLEN - start, pseudo)) != 0)
		abort();
	return v;
}

/* check_run() - a run sent as one frame: IPv4 length and header checksum
 * right, and the TCP checksum left partial with the pseudo-header's sum
 * for these addresses and this length, so that it verifies once completed
 * (one segment goes as it came) */
static void check_run(const uint8_t *out, size_t len)
{
	const uint8_t *ip = out + SN_VNET_HLEN + 14;
	uint8_t pseudo[12], *copy;
	uint16_t want;

	if (out[1] != VIRTIO_NET_HDR_GSO_TCPV4)
		return;
	if (len < SN_VNET_HLEN + 14 + 40 ||
	    ((size_t)ip[2] << 8 | ip[3]) != len - SN_VNET_HLEN - 14 ||
	    sn_csum_fold(sn_csum_add(ip, 20, 0)) != 0)
		abort();
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = 6;
	pseudo[10] = (uint8_t)((len - SN_VNET_HLEN - 34) >> 8);
	pseudo[11] = (uint8_t)(len - SN_VNET_HLEN - 34);
	want = (uint16_t)~sn_csum_fold(sn_csum_add(pseudo, sizeof(pseudo), 0));
	if (field(out, 34 + 16) != want)
		abort();
	copy = malloc(len);
	memcpy(copy, out, len);
	if (rx_checked(copy, len) != SN_OFFLOAD_OK)
		abort();
	free(copy);
}

/* send_frame() - what stack.c does with a frame libslirp sends */
static void send_frame(struct sn_gso_batch *b, const uint8_t *f, size_t len)
{
	enum sn_gso_verdict v = sn_gso_add(b, f, len);
	const uint8_t *out;
	size_t n;

	if (v == SN_GSO_TAKEN)
		return;
	out = sn_gso_frame(b, &n);
	if (out)
		check_run(out, n);
	if (v == SN_GSO_NEW_RUN && sn_gso_add(b, f, len) != SN_GSO_TAKEN)
		abort(); /* an empty batch takes any data segment */
}

/* The datagram rebuilt from the frames udpframe.c built. */
struct rebuilt {
	uint8_t data[65536 + 8];
	size_t len;
	unsigned int frames;
};

/* collect() - a built frame: its IP payload, fragment or whole, appended
 * (fragments come in order), its lengths checked */
static void collect(const struct iovec *iov, int iovcnt, void *opaque)
{
	struct rebuilt *r = opaque;
	const uint8_t *h = iov[0].iov_base;
	size_t hl = h[12] == 0x08     ? 14 + 20
		    : h[14 + 6] == 44 ? 14 + 48
				      : 14 + 40;

	if (iov[0].iov_len < hl)
		abort();
	memcpy(r->data + r->len, h + hl, iov[0].iov_len - hl);
	r->len += iov[0].iov_len - hl;
	if (iovcnt == 2) {
		memcpy(r->data + r->len, iov[1].iov_base, iov[1].iov_len);
		r->len += iov[1].iov_len;
	}
	r->frames++;
}

/* udp_checked() - sn_udpframe_parse(), and a datagram it finds built again */
static void udp_checked(const struct sn_ip *ip)
{
	static struct rebuilt r;
	struct sn_udpframe u;
	struct sn_udpframe_tmpl t = { .sport = 1, .dport = 2, .mtu = 1280 };
	const uint8_t *f = ip->frame;
	struct sn_udpfrag fr;

	if (sn_udpfrag_parse(ip, &fr) &&
	    (fr.data < f || fr.data + fr.len > f + ip->len ||
	     fr.off + fr.len > 65535))
		abort();
	if (sn_udpframe_parse(ip, &u) != SN_UDPFRAME_OK)
		return;
	if (u.data < f || u.data + u.dlen > f + ip->len)
		abort();
	t.af = u.af;
	memcpy(t.saddr, u.daddr, 16);
	memcpy(t.daddr, u.saddr, 16);
	r.len = 0;
	r.frames = 0;
	if (!sn_udpframe_build(&t, u.data, u.dlen, 7, collect, &r) ||
	    r.len != 8 + u.dlen || memcmp(r.data + 8, u.data, u.dlen))
		abort();
}

/* same() - do two parses of one frame agree? */
static bool same(const struct sn_ip *a, const struct sn_ip *b)
{
	return a->verdict == b->verdict && a->af == b->af &&
	       a->proto == b->proto && a->hdr == b->hdr &&
	       a->saddr == b->saddr && a->daddr == b->daddr &&
	       a->hlen == b->hlen && a->l4 == b->l4 && a->l4len == b->l4len &&
	       a->frag == b->frag && a->more == b->more &&
	       a->frag_off == b->frag_off && a->id == b->id;
}

/* reparse_checked() - @ip, parsed before sn_offload_rx() took the frame
 * in @buf, parsed again as stack.c does: only if the checksum completed
 * lies in what the parse depends on. Either way it must be what a parse
 * of the frame as it is now makes of it. */
static void reparse_checked(const uint8_t *buf, struct sn_ip *ip)
{
	struct sn_ip now;

	sn_ip_parse(ip->frame, ip->len, &now);
	if (sn_offload_csum_at(buf) < sn_ip_parsed_len(ip))
		sn_ip_parse(ip->frame, ip->len, ip);
	if (!same(ip, &now))
		abort();
}

/* one_frame() - what stack.c does with a frame read from the tap fd */
static void one_frame(struct sn_guard *g, struct sn_gso_batch *b,
		      const uint8_t *data, size_t len)
{
	/* a buffer of the frame's own size, for ASan to catch overreads */
	uint8_t *buf = malloc(len ? len : 1);
	struct sn_ip ip = { 0 };

	memcpy(buf, data, len);
	if (len >= SN_VNET_HLEN)
		sn_ip_parse(buf + SN_VNET_HLEN, len - SN_VNET_HLEN, &ip);
	if (rx_checked(buf, len) == SN_OFFLOAD_OK) {
		reparse_checked(buf, &ip);
		udp_checked(&ip);
		sn_guard_frame(g, buf + SN_VNET_HLEN, &ip);
	}
	if (len > SN_VNET_HLEN)
		send_frame(b, data + SN_VNET_HLEN, len - SN_VNET_HLEN);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sn_gso_batch *b = calloc(1, sizeof(*b)); /* 64 KiB */
	const uint8_t *out;
	struct sn_guard g;
	size_t n;

	sn_guard_init(&g, inject, NULL);
	while (size >= 2) {
		n = (size_t)data[0] | (size_t)data[1] << 8;
		data += 2;
		size -= 2;
		if (n > size)
			n = size;
		one_frame(&g, b, data, n);
		data += n;
		size -= n;
	}
	out = sn_gso_frame(b, &n);
	if (out)
		check_run(out, n);
	free(b);
	return 0;
}
