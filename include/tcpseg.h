/* tcpseg.h - TCP segments of the flow engine: frames from the guest parsed
 * with every field bounds-checked, sequence arithmetic, frames to it built. */
#ifndef SN_TCPSEG_H
#define SN_TCPSEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipparse.h"

#define SN_TH_FIN 0x01
#define SN_TH_SYN 0x02
#define SN_TH_RST 0x04
#define SN_TH_PSH 0x08
#define SN_TH_ACK 0x10
#define SN_TH_URG 0x20

/* Ethernet, IPv4 and TCP headers without options; IPv6 likewise. */
#define SN_TCPSEG_HLEN4 (14 + 20 + 20)
#define SN_TCPSEG_HLEN6 (14 + 40 + 20)
/* The longest headers the engine writes: IPv6 and a SYN's options. */
#define SN_TCPSEG_HLEN_MAX (SN_TCPSEG_HLEN6 + 8)

/* Largest window scale (RFC 7323). */
#define SN_TCP_WS_MAX 14

/* seq_lt() and friends - comparisons modulo 2^32 (RFC 793, 3.3) */
static inline bool sn_seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline bool sn_seq_le(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

/* A TCP segment from the guest, parsed. Addresses are in network order,
 * IPv4 ones in the first four bytes. */
struct sn_tcpseg {
	int af; /* AF_INET or AF_INET6 */
	uint8_t saddr[16], daddr[16];
	uint8_t smac[6], dmac[6];
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win; /* as sent: unscaled */
	uint16_t mss; /* the MSS option, 0 if none */
	int ws;	      /* the window scale option, -1 if none */
	const uint8_t *data;
	size_t dlen;
};

/* What sn_tcpseg_parse() made of a frame. */
enum sn_tcpseg_verdict {
	SN_TCPSEG_OK,	     /* a TCP segment, in @seg */
	SN_TCPSEG_NOT_TCP,   /* not for the engine: not TCP, a fragment, IPv6
			      * extension headers: libslirp's business */
	SN_TCPSEG_MALFORMED, /* TCP whose lengths do not fit the frame */
};

/*
 * sn_tcpseg_parse() - the TCP segment in a frame from the guest
 * @ip:		the frame, parsed (sn_ip_parse())
 * @seg:	filled on SN_TCPSEG_OK; @seg->data points into the frame
 *
 * Return: the verdict
 */
enum sn_tcpseg_verdict sn_tcpseg_parse(const struct sn_ip *ip,
				       struct sn_tcpseg *seg);

/* What part of a segment's data is new to a receiver. */
enum sn_tcpseg_fit {
	SN_TCPSEG_NEW,	  /* starts at or before the next byte expected, and
			   * brings something new: trimmed to start there */
	SN_TCPSEG_OLD,	  /* nothing new: a retransmission, a keep-alive */
	SN_TCPSEG_FUTURE, /* starts past the next byte expected: a gap */
};

/*
 * sn_tcpseg_trim() - fit @seg's data (and FIN) to a receiver expecting
 * @rcv_nxt next, with @wnd bytes of window: the part already received is
 * cut from the front, and what lies past the window from the back (a FIN
 * past it is dropped with it)
 *
 * Return: the fit; @seg->data, dlen and the FIN flag updated on
 * SN_TCPSEG_NEW
 */
enum sn_tcpseg_fit sn_tcpseg_trim(struct sn_tcpseg *seg, uint32_t rcv_nxt,
				  uint32_t wnd);

/* The fixed part of a connection's frames to the guest, made once. */
struct sn_tcpseg_tmpl {
	int af;
	size_t hlen; /* Ethernet, IP and TCP headers without options */
	uint8_t hdr[SN_TCPSEG_HLEN6];
};

/*
 * sn_tcpseg_tmpl_init() - the template of segments from @seg's destination
 * to its source (the reverse of a segment from the guest)
 */
void sn_tcpseg_tmpl_init(struct sn_tcpseg_tmpl *t, const struct sn_tcpseg *seg);

/* One segment to the guest, from a template. */
struct sn_tcpseg_out {
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win; /* as sent: already scaled down */
	uint16_t mss; /* SYN: the MSS option; else 0 */
	int ws;	      /* SYN: the window scale option, -1 for none */
	const uint8_t *data;
	size_t dlen;
};

/*
 * sn_tcpseg_build() - the headers of @o in @buf (SN_TCPSEG_HLEN_MAX bytes)
 * @csum_full:	true: the TCP checksum complete (over @o->data too); false:
 *		the pseudo-header's sum only, for the guest's kernel to
 *		complete (VIRTIO_NET_HDR_F_NEEDS_CSUM)
 *
 * Return: the length of the headers; @o->data follows them in the frame
 */
size_t sn_tcpseg_build(uint8_t *buf, const struct sn_tcpseg_tmpl *t,
		       const struct sn_tcpseg_out *o, bool csum_full);

/* sn_tcpseg_csum_offset() - where the TCP checksum field is in a frame of
 * @t, from the start of the TCP header */
#define SN_TCPSEG_CSUM_OFF 16

#endif
