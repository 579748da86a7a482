/* guard.c - frames from the guest made harmless before libslirp parses
 * them (TCP urgent data), and the start-up check of libslirp's version. */
#include <glib.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <slirp/libslirp.h>

#include "guard.h"
#include "log.h"

/*
 * Theory of operation
 *
 * Distributions ship libslirp releases that miss later security fixes.
 * Where the input that triggers a known hole can be recognized cheaply,
 * the tap input path neutralizes it before slirp_input() sees the frame,
 * so slirpnetd is safe with the old library too.
 *
 * TCP urgent data (fixed in libslirp SN_GUARD_LIBSLIRP_FIXED): in every
 * IPv4 and IPv6 TCP segment from the guest with URG set or a non-zero
 * urgent pointer, both are cleared and the TCP checksum is updated
 * incrementally (RFC 1624, eqn. 3): nothing else changes. The urgent byte
 * then reaches the host in line, as any other; urgent data is rare today
 * (telnet, FTP's ABOR) and nothing relies on it arriving out of band.
 *
 * What libslirp parses is what is checked, within the frame's length:
 *
 * - Ethernet: IPv4 and IPv6 by EtherType. libslirp reads no 802.1Q tag
 *   (a tagged frame is not IP to it), so neither does the guard.
 * - IPv4: IHL honoured (options). libslirp reassembles fragments, so the
 *   TCP header it parses can come from any fragment that covers its first
 *   20 bytes: offset 0 (checked like a whole segment) or offset 8 or 16
 *   (the overlapping "tiny fragment" trick of RFC 1858, RFC 3128). Those,
 *   and first fragments too short to hold a TCP header, are dropped: no
 *   TCP stack sends them. Later fragments carry no header and pass.
 * - IPv6: the fixed header, next header TCP. libslirp 4.7.0 drops every
 *   packet with an extension header, so those pass untouched.
 * - A TCP packet whose IP length claims more than the frame holds, or too
 *   little for a TCP header, is dropped: libslirp drops such IPv4 packets
 *   itself, but reads IPv6 ones as far as the payload length says.
 *
 * Frames that are not TCP, or too short or malformed for libslirp to get
 * as far as TCP, pass untouched: libslirp drops them itself.
 *
 * Counters and the log's rate limit are file-scope: the tap input path
 * runs on the main loop only.
 */

#define ETH_HLEN       14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define IP4_HLEN_MIN   20
#define IP4_OFFMASK    0x1fff
#define IP6_HLEN       40
#define TCP_HLEN_MIN   20
/* In the TCP header's 16-bit word at offset 12 (data offset, flags). */
#define TCP_URG 0x0020

/* get16() - the big-endian 16-bit value at @p */
static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* put16() - store @v big-endian at @p */
static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* csum_update() - checksum @hc after a 16-bit word changed from @old to
 * @new (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')) */
static uint16_t csum_update(uint16_t hc, uint16_t old, uint16_t new)
{
	uint32_t sum = (uint32_t)(uint16_t)~hc + (uint16_t)~old + new;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* tcp_clear_urg() - clear URG and the urgent pointer of the TCP header at
 * @th (TCP_HLEN_MIN bytes), keeping its checksum right */
static enum sn_guard_verdict tcp_clear_urg(uint8_t *th)
{
	uint16_t flags = get16(th + 12), urp = get16(th + 18);
	uint16_t sum = get16(th + 16);

	if (!(flags & TCP_URG) && !urp)
		return SN_GUARD_PASS;
	sum = csum_update(sum, flags, flags & (uint16_t)~TCP_URG);
	sum = csum_update(sum, urp, 0);
	put16(th + 12, flags & (uint16_t)~TCP_URG);
	put16(th + 16, sum);
	put16(th + 18, 0);
	return SN_GUARD_CLEANED;
}

/* guard_ip4() - the IPv4 packet at @ip, @len bytes of frame left */
static enum sn_guard_verdict guard_ip4(uint8_t *ip, size_t len)
{
	size_t hl, tot, off;

	if (len < IP4_HLEN_MIN || ip[0] >> 4 != 4 || ip[9] != IPPROTO_TCP)
		return SN_GUARD_PASS;
	hl = (size_t)(ip[0] & 0x0f) * 4;
	if (hl < IP4_HLEN_MIN || hl > len)
		return SN_GUARD_PASS;
	tot = get16(ip + 2);
	if (tot < hl || tot > len)
		return SN_GUARD_DROP;
	/* A later fragment: harmless unless it overlaps the TCP header. */
	off = (size_t)(get16(ip + 6) & IP4_OFFMASK) * 8;
	if (off)
		return off < TCP_HLEN_MIN ? SN_GUARD_DROP : SN_GUARD_PASS;
	if (tot - hl < TCP_HLEN_MIN)
		return SN_GUARD_DROP;
	return tcp_clear_urg(ip + hl);
}

/* guard_ip6() - the IPv6 packet at @ip, @len bytes of frame left */
static enum sn_guard_verdict guard_ip6(uint8_t *ip, size_t len)
{
	size_t plen;

	if (len < IP6_HLEN || ip[0] >> 4 != 6 || ip[6] != IPPROTO_TCP)
		return SN_GUARD_PASS;
	plen = get16(ip + 4);
	if (plen < TCP_HLEN_MIN || plen > len - IP6_HLEN)
		return SN_GUARD_DROP;
	return tcp_clear_urg(ip + IP6_HLEN);
}

/* sn_guard_inspect() - neutralize TCP urgent data in one Ethernet frame */
enum sn_guard_verdict sn_guard_inspect(uint8_t *frame, size_t len)
{
	if (!frame || len < ETH_HLEN)
		return SN_GUARD_PASS;
	switch (get16(frame + 12)) {
	case ETHERTYPE_IPV4:
		return guard_ip4(frame + ETH_HLEN, len - ETH_HLEN);
	case ETHERTYPE_IPV6:
		return guard_ip6(frame + ETH_HLEN, len - ETH_HLEN);
	default:
		return SN_GUARD_PASS;
	}
}

/* log_totals() - what the guard did so far (debug, rate-limited) */
static void log_totals(struct sn_guard *g)
{
	if (!sn_ratelimit_ok(&g->rl, NULL))
		return;
	g_debug("guard: TCP urgent data cleared in %" PRIu64 " segments from "
		"the guest so far, %" PRIu64 " malformed TCP packets dropped",
		g->stats.cleaned, g->stats.dropped);
}

/* sn_guard_frame() - sn_guard_inspect(), counted and logged */
bool sn_guard_frame(struct sn_guard *g, uint8_t *frame, size_t len)
{
	enum sn_guard_verdict v = sn_guard_inspect(frame, len);

	if (v == SN_GUARD_PASS)
		return true;
	if (v == SN_GUARD_CLEANED)
		g->stats.cleaned++;
	else
		g->stats.dropped++;
	log_totals(g);
	return v == SN_GUARD_CLEANED;
}

/* parse_num() - a decimal number of at most 6 digits at @s into @n
 * Return: the end of it, or NULL if there is none */
static const char *parse_num(const char *s, unsigned int *n)
{
	unsigned int v = 0;
	int digits = 0;

	while (g_ascii_isdigit(*s)) {
		if (++digits > 6)
			return NULL;
		v = v * 10 + (unsigned int)(*s++ - '0');
	}
	if (!digits)
		return NULL;
	*n = v;
	return s;
}

/* sn_guard_version_parse() - "MAJOR.MINOR.MICRO" into @v */
bool sn_guard_version_parse(const char *s, unsigned int v[3])
{
	int i;

	v[0] = v[1] = v[2] = 0;
	if (!s)
		return false;
	for (i = 0; i < 3; i++) {
		s = parse_num(s, &v[i]);
		if (!s)
			return false;
		if (*s != '.' || i == 2)
			break;
		s++;
	}
	return true;
}

/* sn_guard_version_cmp() - order two version strings */
int sn_guard_version_cmp(const char *a, const char *b)
{
	unsigned int va[3], vb[3];
	bool ok_a = sn_guard_version_parse(a, va);
	bool ok_b = sn_guard_version_parse(b, vb);
	int i;

	if (!ok_a || !ok_b)
		return (int)ok_a - (int)ok_b;
	for (i = 0; i < 3; i++)
		if (va[i] != vb[i])
			return va[i] < vb[i] ? -1 : 1;
	return 0;
}

/* sn_guard_libslirp_note() - the start-up line about libslirp @version */
char *sn_guard_libslirp_note(const char *version)
{
	unsigned int v[3];

	if (!sn_guard_version_parse(version, v))
		return g_strdup_printf(
		    "libslirp \"%s\": cannot read its version; "
		    "libslirp " SN_GUARD_LIBSLIRP_FIXED
		    " fixes " SN_GUARD_LIBSLIRP_FIX
		    ", and slirpnetd neutralizes that input itself",
		    version ? version : "");
	if (sn_guard_version_cmp(version, SN_GUARD_LIBSLIRP_FIXED) < 0)
		return g_strdup_printf(
		    "libslirp %s is older than " SN_GUARD_LIBSLIRP_FIXED
		    ", which fixes " SN_GUARD_LIBSLIRP_FIX "; slirpnetd "
		    "neutralizes that input itself, but update libslirp "
		    "when you can",
		    version);
	return g_strdup_printf("libslirp %s", version);
}

/* sn_guard_report_libslirp() - log that line for the libslirp in use */
void sn_guard_report_libslirp(void)
{
	g_autofree char *note = sn_guard_libslirp_note(slirp_version_string());

	g_message("%s", note);
}
