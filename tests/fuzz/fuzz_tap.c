/* fuzz_tap.c - libFuzzer target for the tap's frames: each input is frames
 * read from an offloading tap (offload.c, guard.c), and sent (runs, offload.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "offload.h"

/*
 * Input: frames, each a 16-bit little-endian length and that many bytes (the
 * virtio-net header, then the Ethernet frame), as many as the input holds.
 * One guard sees them all, so IPv4 fragments meet across frames. The frames
 * after the header go to a batch of segments too, as if libslirp sent them,
 * and every run it makes must be a frame the guest's kernel takes.
 */

/* inject() - the guard's own frames: read them whole, as libslirp would */
static void inject(const uint8_t *frame, size_t len, void *opaque)
{
	volatile uint8_t sink = 0;
	size_t i;

	(void)opaque;
	for (i = 0; i < len; i++)
		sink ^= frame[i];
}

/* check_completed() - a completed checksum must verify: the sum from
 * csum_start to the end, the stored checksum in it, is all ones */
static void check_completed(const uint8_t *buf, size_t len)
{
	struct virtio_net_hdr h;

	memcpy(&h, buf, sizeof(h));
	if (!(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return;
	buf += SN_VNET_HLEN + h.csum_start;
	len -= SN_VNET_HLEN + h.csum_start;
	if (sn_csum_fold(sn_csum_add(buf, len, 0)) != 0)
		abort();
}

/* check_run() - a run sent as one frame: IPv4 length and header checksum
 * right, and the partial TCP checksum, completed, verifies (one segment goes
 * as it came) */
static void check_run(const uint8_t *out, size_t len)
{
	uint8_t *copy;

	if (out[1] != VIRTIO_NET_HDR_GSO_TCPV4)
		return;
	if (len < SN_VNET_HLEN + 14 + 40 ||
	    ((size_t)out[SN_VNET_HLEN + 16] << 8 | out[SN_VNET_HLEN + 17]) !=
		len - SN_VNET_HLEN - 14 ||
	    sn_csum_fold(sn_csum_add(out + SN_VNET_HLEN + 14, 20, 0)) != 0)
		abort();
	copy = malloc(len);
	memcpy(copy, out, len);
	if (sn_offload_rx(copy, len) != SN_OFFLOAD_OK)
		abort();
	check_completed(copy, len);
	free(copy);
}

/* send_frame() - what stack.c does with a frame libslirp sends */
static void send_frame(struct sn_gso_batch *b, const uint8_t *f, size_t len)
{
	const uint8_t *out;
	size_t n;

	if (sn_gso_add(b, f, len))
		return;
	out = sn_gso_frame(b, &n);
	if (out)
		check_run(out, n);
	sn_gso_add(b, f, len);
}

/* one_frame() - what stack.c does with a frame read from the tap fd */
static void one_frame(struct sn_guard *g, struct sn_gso_batch *b,
		      const uint8_t *data, size_t len)
{
	/* a buffer of the frame's own size, for ASan to catch overreads */
	uint8_t *buf = malloc(len ? len : 1);

	memcpy(buf, data, len);
	if (sn_offload_rx(buf, len) == SN_OFFLOAD_OK) {
		check_completed(buf, len);
		sn_guard_frame(g, buf + SN_VNET_HLEN, len - SN_VNET_HLEN);
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
