/* ipparse.c - the IPv4 and IPv6 headers of a frame from the guest, parsed
 * once with every length checked against the frame before it is used. */
#include <string.h>
#include <sys/socket.h>

#include "ipparse.h"
#include "netbytes.h"

#define ETH_HLEN      14
#define ETH_P_IPV4    0x0800
#define ETH_P_IPV6    0x86dd
#define IP4_HLEN      20
#define IP4_MF	      0x2000
#define IP4_OFFMASK   0x1fff
#define IP6_HLEN      40
#define IP6_FRAG      44
#define IP6_FRAG_HLEN 8

/* fixed() - the fixed IP header of family @af at @p: L4 protocol @proto,
 * the source address @saddr bytes in, the destination right after it */
static void fixed(struct sn_ip *ip, int af, const uint8_t *p, uint8_t proto,
		  size_t saddr)
{
	ip->af = af;
	ip->proto = proto;
	ip->hdr = p;
	ip->saddr = p + saddr;
	ip->daddr = ip->saddr + (af == AF_INET ? 4 : 16);
}

/* parse_ip4() - the IPv4 packet at @p, @len bytes of frame left */
static enum sn_ip_verdict parse_ip4(const uint8_t *p, size_t len,
				    struct sn_ip *ip)
{
	uint16_t fo;
	size_t tot;

	if (len < IP4_HLEN || p[0] >> 4 != 4)
		return SN_IP_NOT_IP;
	fo = sn_get16(p + 6);
	fixed(ip, AF_INET, p, p[9], 12);
	ip->hlen = (size_t)(p[0] & 0x0f) * 4;
	ip->frag = fo & (IP4_MF | IP4_OFFMASK);
	ip->more = fo & IP4_MF;
	ip->frag_off = (size_t)(fo & IP4_OFFMASK) * 8;
	ip->id = sn_get16(p + 4);
	if (ip->hlen < IP4_HLEN || ip->hlen > len)
		return SN_IP_BAD_HLEN;
	tot = sn_get16(p + 2);
	if (tot < ip->hlen || tot > len)
		return SN_IP_BAD_LEN;
	ip->l4 = p + ip->hlen;
	ip->l4len = tot - ip->hlen;
	return SN_IP_OK;
}

/* parse_frag6() - the IPv6 fragment header at @fh, first of @plen bytes
 * of payload (all within the frame) */
static enum sn_ip_verdict parse_frag6(const uint8_t *fh, size_t plen,
				      struct sn_ip *ip)
{
	uint16_t om;

	if (plen < IP6_FRAG_HLEN)
		return SN_IP_BAD_LEN;
	om = sn_get16(fh + 2);
	ip->proto = fh[0];
	ip->hlen += IP6_FRAG_HLEN;
	ip->frag = true;
	ip->more = om & 1;
	ip->frag_off = om & ~7u;
	ip->id = sn_get32(fh + 4);
	ip->l4 = fh + IP6_FRAG_HLEN;
	ip->l4len = plen - IP6_FRAG_HLEN;
	return SN_IP_OK;
}

/* parse_ip6() - the IPv6 packet at @p, @len bytes of frame left */
static enum sn_ip_verdict parse_ip6(const uint8_t *p, size_t len,
				    struct sn_ip *ip)
{
	size_t plen;

	if (len < IP6_HLEN || p[0] >> 4 != 6)
		return SN_IP_NOT_IP;
	plen = sn_get16(p + 4);
	fixed(ip, AF_INET6, p, p[6], 8);
	ip->hlen = IP6_HLEN;
	if (plen > len - IP6_HLEN)
		return SN_IP_BAD_LEN;
	if (ip->proto == IP6_FRAG)
		return parse_frag6(p + IP6_HLEN, plen, ip);
	ip->l4 = p + IP6_HLEN;
	ip->l4len = plen;
	return SN_IP_OK;
}

/* sn_ip_parse() - Ethernet, then IPv4 or IPv6 */
enum sn_ip_verdict sn_ip_parse(const uint8_t *f, size_t len, struct sn_ip *ip)
{
	uint16_t type = len >= ETH_HLEN ? sn_get16(f + 12) : 0;

	*ip = (struct sn_ip){ .frame = f, .len = len };
	if (type == ETH_P_IPV4)
		ip->verdict = parse_ip4(f + ETH_HLEN, len - ETH_HLEN, ip);
	else if (type == ETH_P_IPV6)
		ip->verdict = parse_ip6(f + ETH_HLEN, len - ETH_HLEN, ip);
	else
		ip->verdict = SN_IP_NOT_IP;
	return ip->verdict;
}

/* sn_ip_parsed_len() - the bytes a change in which may change the parse */
size_t sn_ip_parsed_len(const struct sn_ip *ip)
{
	return ip->verdict == SN_IP_OK ? (size_t)(ip->l4 - ip->frame) : ip->len;
}

/* sn_ip_addrs() - the addresses, copied */
void sn_ip_addrs(const struct sn_ip *ip, uint8_t *saddr, uint8_t *daddr)
{
	size_t alen = ip->af == AF_INET ? 4 : 16;

	memcpy(saddr, ip->saddr, alen);
	memcpy(daddr, ip->daddr, alen);
}
