/* udpframe.h - UDP datagrams on tap0 for forwards through it: the guest's
 * frames parsed with every length checked, and frames to it built. */
#ifndef SN_UDPFRAME_H
#define SN_UDPFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "ipparse.h"

/* The largest datagram each family carries (IPv6 without jumbograms). */
#define SN_UDPFRAME_DMAX4 (65535 - 20 - 8)
#define SN_UDPFRAME_DMAX6 (65535 - 8)

/* A UDP datagram from the guest, parsed. Addresses are in network order,
 * IPv4 ones in the first four bytes. */
struct sn_udpframe {
	int af; /* AF_INET or AF_INET6 */
	uint8_t saddr[16], daddr[16];
	uint16_t sport, dport;
	const uint8_t *data;
	size_t dlen;
};

/* What sn_udpframe_parse() made of a frame. */
enum sn_udpframe_verdict {
	SN_UDPFRAME_OK,	       /* a UDP datagram, in @u */
	SN_UDPFRAME_NOT_UDP,   /* not UDP, a fragment, IPv6 extension headers */
	SN_UDPFRAME_MALFORMED, /* UDP whose lengths do not fit the frame */
};

/*
 * sn_udpframe_parse() - the UDP datagram in a frame from the guest
 * @ip:		the frame, parsed (sn_ip_parse())
 * @u:		filled on SN_UDPFRAME_OK; @u->data points into the frame
 *
 * Return: the verdict
 */
enum sn_udpframe_verdict sn_udpframe_parse(const struct sn_ip *ip,
					   struct sn_udpframe *u);

/* A fragment of a UDP datagram from the guest. */
struct sn_udpfrag {
	int af;
	uint8_t saddr[16], daddr[16];
	uint32_t id; /* the IP identification */
	size_t off;  /* of the piece in the datagram, UDP header included */
	bool more;   /* not the last piece */
	const uint8_t *data; /* the piece, in the frame */
	size_t len;
};

/*
 * sn_udpfrag_parse() - is the frame parsed in @ip a fragment of a UDP
 * datagram: IPv4 with MF or an offset, or IPv6 with a fragment header
 * right after the fixed one, UDP next? Its lengths fit the frame (@ip is
 * SN_IP_OK); pieces but the last are multiples of 8 bytes, none ends past
 * 65535.
 *
 * Return: true with @fr filled (@fr->data points into the frame), or false
 */
bool sn_udpfrag_parse(const struct sn_ip *ip, struct sn_udpfrag *fr);

/* The fixed part of a flow's frames to the guest. */
struct sn_udpframe_tmpl {
	int af;
	uint8_t smac[6], dmac[6];
	uint8_t saddr[16], daddr[16];
	uint16_t sport, dport;
	unsigned int mtu; /* of the IP packets: larger datagrams fragment */
};

/* Ethernet, IPv6, a fragment header and UDP: the longest headers built. */
#define SN_UDPFRAME_HLEN_MAX (14 + 40 + 8 + 8)

/* sn_udpframe_emit_fn - one frame, in @iovcnt pieces (headers, data) */
typedef void (*sn_udpframe_emit_fn)(const struct iovec *iov, int iovcnt,
				    void *opaque);

/*
 * sn_udpframe_build() - @data as UDP frames of @t to the guest, with the
 * UDP checksum complete: one frame, or IP fragments when the packet would
 * be longer than @t->mtu
 * @id:		the IP identification of the fragments
 * @emit:	called once a frame, in order
 *
 * Return: the number of frames, 0 when @dlen is past what the family
 * carries (SN_UDPFRAME_DMAX4, SN_UDPFRAME_DMAX6) or @t->mtu too small
 */
unsigned int sn_udpframe_build(const struct sn_udpframe_tmpl *t,
			       const uint8_t *data, size_t dlen, uint32_t id,
			       sn_udpframe_emit_fn emit, void *opaque);

#endif
