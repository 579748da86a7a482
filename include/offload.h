/* offload.h - tap offloads: the virtio-net header in front of each frame on
 * the tap fd, and the checksums and segments it leaves to slirpnetd. */
#ifndef SN_OFFLOAD_H
#define SN_OFFLOAD_H

#include <glib.h>
#include <stdbool.h>
#include <linux/virtio_net.h>
#include <stddef.h>
#include <stdint.h>

/*
 * With TCP through libslirp (--tcp-path=slirp), offloads are used below
 * this MTU. At larger ones the guest's own segments
 * are large already, and offloads only move copying and checksumming from
 * the guest's kernel into slirpnetd: measured per GB moved against the
 * same daemon without them, offloads cost half the CPU at MTU 9000 (a
 * fifth at 1500), but a fifth more at 16000.
 */
#define SN_OFFLOAD_MTU_BELOW 12288

/* The header on every frame read from or written to an offloading tap. */
#define SN_VNET_HLEN sizeof(struct virtio_net_hdr)

/* The header in front of frames to the guest: libslirp's checksums are
 * complete and right, so the guest's kernel need not check them again. */
#define SN_VNET_HDR_TX                                                         \
	{                                                                      \
		.flags = VIRTIO_NET_HDR_F_DATA_VALID                           \
	}

/*
 * A run of libslirp's IPv4 TCP segments of one connection, in order, all of
 * one size but the last, going to the guest as one segmentation frame
 * (VIRTIO_NET_HDR_GSO_TCPV4), as a host's NIC hands a guest the segments it
 * coalesced. Zero it to start; sn_gso_add() fills it, sn_gso_frame() ends
 * it. The frame is built in place, header first.
 */
struct sn_gso_batch {
	size_t len;  /* bytes in buf after the virtio-net header, 0: none */
	size_t hlen; /* Ethernet, IPv4 and TCP headers of the first */
	size_t mss;  /* payload of the first segment */
	uint32_t next_seq; /* the sequence number that continues the run */
	bool push;	   /* a segment had PSH */
	bool closed;	   /* a shorter segment ended the run */
	uint8_t buf[SN_VNET_HLEN + 14 + 65535];
};

/* What sn_gso_add() did with a frame. */
enum sn_gso_verdict {
	SN_GSO_TAKEN,	 /* it started or continued the run */
	SN_GSO_NEW_RUN,	 /* a data segment of another run: send the run held,
			  * then add it again to start its own */
	SN_GSO_NOT_DATA, /* not a plain IPv4 TCP data segment: send the run
			  * held, then the frame by itself */
};

/* sn_gso_add() - take @frame (@len bytes, from libslirp) into @b: start the
 * run if @b is empty, or continue it */
enum sn_gso_verdict sn_gso_add(struct sn_gso_batch *b, const uint8_t *frame,
			       size_t len);

/*
 * sn_gso_frame() - end the run in @b and give the frame to write to the tap
 * fd (header first) in *@len; @b is empty after it
 *
 * Return: the frame, or NULL (and *@len 0) if @b held none
 */
const uint8_t *sn_gso_frame(struct sn_gso_batch *b, size_t *len);

/* What sn_offload_rx() made of a frame from the guest. */
enum sn_offload_verdict {
	SN_OFFLOAD_OK,	     /* checksum complete: hand the frame on */
	SN_OFFLOAD_SHORT,    /* shorter than the header and an Ethernet one */
	SN_OFFLOAD_BAD_CSUM, /* checksum start or field outside the frame */
	SN_OFFLOAD_BAD_GSO,  /* a segmentation type that was not offered */
};

/*
 * sn_offload_wanted() - are offloads used for @mtu, unless @disabled
 * (--disable-offload)? With TCP through tcp.c (not @slirp_tcp) at every
 * MTU: its frames to the guest leave the checksum to the guest's kernel,
 * and the guest's own need none completed.
 */
bool sn_offload_wanted(bool disabled, bool slirp_tcp, unsigned int mtu);

/*
 * sn_offload_enable() - offer the guest's kernel checksum offload and IPv4
 * TCP segmentation offload on @fd, a tap opened with IFF_VNET_HDR
 *
 * Return: true, or false with @err and errno set
 */
bool sn_offload_enable(int fd, bool tso6, GError **err);

/*
 * sn_offload_rx() - make the frame in @buf (@len bytes, read from the tap
 * fd, header first) a frame libslirp can take: the checksum the guest left
 * partial is completed in place. An IPv4 TCP segmentation frame (up to
 * 64 KiB) is kept whole: libslirp takes one segment of any size, and
 * acknowledges it once. The frame starts at @buf + SN_VNET_HLEN.
 *
 * Return: SN_OFFLOAD_OK, or why the frame must be dropped
 */
enum sn_offload_verdict sn_offload_rx(uint8_t *buf, size_t len);

/*
 * sn_offload_csum_at() - where sn_offload_rx() wrote in @buf, a frame it
 * took (SN_OFFLOAD_OK): the 16-bit checksum field it completed, which the
 * guest may have put anywhere past the Ethernet header
 *
 * Return: the field's offset from the start of the frame (past the
 * virtio-net header), or SIZE_MAX if the guest left no checksum to
 * complete: no byte before the offset differs from what the guest sent
 */
size_t sn_offload_csum_at(const uint8_t *buf);

/* sn_offload_why() - a verdict in words, for the log */
const char *sn_offload_why(enum sn_offload_verdict v);

#endif
