/* ipparse.h - the IPv4 and IPv6 headers of a frame from the guest, parsed
 * once with every length checked, for each part that reads the frame. */
#ifndef SN_IPPARSE_H
#define SN_IPPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What sn_ip_parse() made of a frame. */
enum sn_ip_verdict {
	SN_IP_OK,	/* the headers and the lengths fit the frame */
	SN_IP_NOT_IP,	/* shorter than Ethernet and a fixed IP header, of
			 * another EtherType (802.1Q too: libslirp reads no
			 * tag), or of another IP version than its EtherType
			 * says */
	SN_IP_BAD_HLEN, /* IPv4 whose header length is below 20 or past the
			 * frame */
	SN_IP_BAD_LEN,	/* IPv4 whose total length is below its header
			 * length or past the frame; IPv6 whose payload
			 * length is past the frame, or too short for the
			 * fragment header it announces */
};

/*
 * An Ethernet frame from the guest, parsed as far as its IP headers.
 * Pointers point into the frame. On SN_IP_NOT_IP only @frame, @len and
 * @verdict are set; on SN_IP_BAD_HLEN and SN_IP_BAD_LEN all but @l4 and
 * @l4len, and an IPv6 fragment header is not read (@proto is 44).
 */
struct sn_ip {
	const uint8_t *frame;
	size_t len;
	enum sn_ip_verdict verdict;
	int af;			      /* AF_INET or AF_INET6 */
	uint8_t proto;		      /* IPv4's protocol; IPv6's next header,
				       * the one after a fragment header */
	const uint8_t *hdr;	      /* the IP header, after Ethernet's */
	const uint8_t *saddr, *daddr; /* 4 or 16 bytes */
	size_t hlen; /* IPv4's header length; IPv6's 40, 48 with a fragment
		      * header right after the fixed one */
	const uint8_t *l4; /* at @hdr + @hlen: the L4 header and payload, */
	size_t l4len;	   /* as long as the IP lengths say */
	bool frag;	   /* a fragment: IPv4 MF or an offset; an IPv6
			    * fragment header */
	bool more;	   /* MF: a fragment but the last */
	size_t frag_off;   /* of the fragment's data in the datagram */
	uint32_t id;	   /* of the datagram: IPv4's 16 bits, IPv6's 32 */
};

/*
 * sn_ip_parse() - parse the Ethernet frame @f from the guest: the IPv4
 * header (options skipped), or IPv6's fixed header and a fragment header
 * right after it; other extension headers are left as @proto
 * @f, @len:	the frame; nothing past @len is read, nothing written
 * @ip:		filled as enum sn_ip_verdict says
 *
 * Return: @ip->verdict
 */
enum sn_ip_verdict sn_ip_parse(const uint8_t *f, size_t len, struct sn_ip *ip);

/*
 * sn_ip_parsed_len() - how many bytes at the start of @ip->frame its parse
 * depends on: a change past them leaves it as it is
 *
 * Return: the Ethernet and IP headers' length on SN_IP_OK, else the
 * frame's length
 */
size_t sn_ip_parsed_len(const struct sn_ip *ip);

/* sn_ip_addrs() - @ip's source and destination addresses (not on
 * SN_IP_NOT_IP) copied to @saddr and @daddr: 4 bytes each for IPv4, 16
 * for IPv6 */
void sn_ip_addrs(const struct sn_ip *ip, uint8_t *saddr, uint8_t *daddr);

/* sn_ip_whole() - is @ip a packet of L4 protocol @proto that is not a
 * fragment (its lengths may still be malformed)? */
static inline bool sn_ip_whole(const struct sn_ip *ip, uint8_t proto)
{
	return ip->verdict != SN_IP_NOT_IP && ip->proto == proto && !ip->frag;
}

#endif
