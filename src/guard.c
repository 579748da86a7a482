/* guard.c - frames from the guest made harmless before libslirp parses
 * them (TCP urgent data, IPv4 fragments), and libslirp's version check. */
#include <arpa/inet.h>
#include <glib.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <slirp/libslirp.h>
#include <string.h>

#include "csum.h"
#include "guard.h"
#include "ipparse.h"
#include "log.h"
#include "netbytes.h"

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
 * What libslirp parses is what is checked, within the frame's length (the
 * Ethernet and IP headers as sn_ip_parse() found them, the TCP header
 * read here):
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
 * IPv4 fragments (libslirp 4.7.0 as Debian 12 ships it): ip_reass() in
 * ip_input.c links a datagram's fragments (struct ipasfrag) in a ring whose
 * head is the queue header (struct ipq), read and written through both
 * types. Type-based alias analysis lets the compiler assume those accesses
 * never alias, and Debian's build reads the head's first link before
 * ip_enq() stores the new fragment there: a fragment that lands in an empty
 * queue is not seen by the completeness loop. If it is a last fragment (MF
 * clear, offset > 0), the empty datagram counts as complete, the queue
 * header itself as its first fragment: the payload is copied over that
 * header and then followed as a pointer, and written through. One frame
 * from the guest kills the daemon (its payload picks the address); a burst
 * of fragmented UDP does when the tap queue drops some datagram's earlier
 * fragments. Upstream's later ip_reass() uses one type (struct ipas).
 *
 * A fragment lands in an empty queue when there is none for its datagram,
 * or when it covers every fragment queued. A last fragment does neither if
 * the queue holds a fragment at offset 0: nothing trims or removes that one,
 * and it sorts first. So the guard keeps the header and first
 * SN_GUARD_PRIME_DATA bytes of each datagram's first fragment (of the last
 * SN_GUARD_FRAGS datagrams, by ID, protocol, source and destination, as
 * ip_input() matches them) and hands them to libslirp again, as a fragment
 * of their own, right before the datagram's last fragment. libslirp drops
 * that copy as a duplicate if the queue holds the first fragment, or
 * starts a queue with it if the queue timed out, was freed or never got the
 * first fragment: whatever happened meanwhile, the last fragment finds a
 * fragment at offset 0 ahead of it. The cost: one small frame more per
 * fragmented datagram, none for other frames.
 *
 * Dropped, and logged at most once per interval:
 * - a last fragment of a datagram whose first fragment the guard does not
 *   keep (never seen, or SN_GUARD_FRAGS newer ones since): senders send
 *   fragments in order, and libslirp would crash on it;
 * - a first fragment carrying fewer than SN_GUARD_PRIME_DATA bytes (all
 *   but the last carry multiples of 8, RFC 791): any fragment at offset 0
 *   libslirp queues must cover the copy, or the copy could complete a
 *   datagram and free the queue the last fragment needs.
 * Middle fragments (MF set, offset > 0) pass: libslirp never counts a
 * datagram complete on one. So do fragments whose IHL or lengths
 * ip_input() refuses before reassembly, and first fragments with TTL 0,
 * which it drops there too: those are not kept.
 *
 * Counters, rate limits and kept fragments live in struct sn_guard, one
 * per stack: the tap input path runs on the main loop only.
 */

#define ETH_HLEN     14
#define IP4_OFFMASK  0x1fff
#define TCP_HLEN_MIN 20
/* In the TCP header's 16-bit word at offset 12 (data offset, flags). */
#define TCP_URG 0x0020

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
	uint16_t flags = sn_get16(th + 12), urp = sn_get16(th + 18);
	uint16_t sum = sn_get16(th + 16);

	if (!(flags & TCP_URG) && !urp)
		return SN_GUARD_PASS;
	sum = csum_update(sum, flags, flags & (uint16_t)~TCP_URG);
	sum = csum_update(sum, urp, 0);
	sn_put16(th + 12, flags & (uint16_t)~TCP_URG);
	sn_put16(th + 16, sum);
	sn_put16(th + 18, 0);
	return SN_GUARD_CLEANED;
}

/* sn_guard_inspect() - neutralize TCP urgent data in one Ethernet frame */
enum sn_guard_verdict sn_guard_inspect(uint8_t *frame, const struct sn_ip *ip)
{
	/* not TCP to libslirp, which drops IPv6 with extension headers */
	if (ip->verdict == SN_IP_NOT_IP || ip->proto != IPPROTO_TCP ||
	    (ip->af == AF_INET6 && ip->frag))
		return SN_GUARD_PASS;
	if (ip->verdict == SN_IP_BAD_HLEN)
		return SN_GUARD_PASS; /* libslirp drops it */
	if (ip->verdict == SN_IP_BAD_LEN)
		return SN_GUARD_DROP;
	/* A later fragment: harmless unless it overlaps the TCP header. */
	if (ip->frag_off)
		return ip->frag_off < TCP_HLEN_MIN ? SN_GUARD_DROP
						   : SN_GUARD_PASS;
	if (ip->l4len < TCP_HLEN_MIN)
		return SN_GUARD_DROP;
	return tcp_clear_urg(frame + ETH_HLEN + ip->hlen);
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

/* frag_find() - the kept first fragment of the datagram of the IPv4
 * header at @ip (ID, protocol, source, destination), or NULL */
static struct sn_guard_frag *frag_find(struct sn_guard *g, const uint8_t *ip)
{
	struct sn_guard_frag *k;

	for (k = g->frags; k < g->frags + SN_GUARD_FRAGS; k++)
		if (k->hlen && !memcmp(k->ip + 4, ip + 4, 2) &&
		    k->ip[9] == ip[9] && !memcmp(k->ip + 12, ip + 12, 8))
			return k;
	return NULL;
}

/* frag_slot() - a free slot, or else the one kept longest */
static struct sn_guard_frag *frag_slot(struct sn_guard *g)
{
	struct sn_guard_frag *k, *old = g->frags;

	for (k = g->frags; k < g->frags + SN_GUARD_FRAGS; k++) {
		if (!k->hlen)
			return k;
		if (g->frag_seq - k->seq > g->frag_seq - old->seq)
			old = k;
	}
	return old;
}

/* frag_drop() - count a fragment dropped for reason @why, log it at most
 * once per interval; returns false, the verdict */
static bool frag_drop(struct sn_guard *g, const uint8_t *ip, const char *why)
{
	char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];
	unsigned int held;

	g->stats.frag_dropped++;
	if (!sn_ratelimit_ok(&g->rl_frag, &held))
		return false;
	inet_ntop(AF_INET, ip + 12, src, sizeof(src));
	inet_ntop(AF_INET, ip + 16, dst, sizeof(dst));
	g_warning("guard: dropped an IPv4 fragment from the guest (%s -> %s, "
		  "protocol %u, ID %u, offset %u): %s (%u more dropped since "
		  "the last report)",
		  src, dst, ip[9], sn_get16(ip + 4),
		  (unsigned int)(sn_get16(ip + 6) & IP4_OFFMASK) * 8, why,
		  held);
	return false;
}

/* frag_first() - keep the first fragment at @ip: header @hl bytes, total
 * length @tot */
static bool frag_first(struct sn_guard *g, const uint8_t *ip, size_t hl,
		       size_t tot)
{
	struct sn_guard_frag *k = frag_find(g, ip);
	uint16_t sum;

	if (k)
		k->hlen = 0;
	if (tot - hl < SN_GUARD_PRIME_DATA)
		return frag_drop(g, ip,
				 "a first fragment shorter than 8 bytes, "
				 "which no sender sends and libslirp's "
				 "reassembly cannot be kept safe from");
	if (!ip[8])
		return true; /* TTL 0: ip_input() drops it */
	k = frag_slot(g);
	memcpy(k->ip, ip, hl + SN_GUARD_PRIME_DATA);
	sn_put16(k->ip + 2, (uint16_t)(hl + SN_GUARD_PRIME_DATA));
	sn_put16(k->ip + 10, 0);
	sum = sn_csum_fold(sn_csum_add(k->ip, hl, 0));
	memcpy(k->ip + 10, &sum, sizeof(sum));
	k->hlen = (uint8_t)hl;
	k->seq = ++g->frag_seq;
	return true;
}

/* frag_last() - hand libslirp the kept first fragment of the datagram of
 * the last fragment at @ip in @frame, then let that pass; or drop it */
static bool frag_last(struct sn_guard *g, const uint8_t *frame,
		      const uint8_t *ip)
{
	struct sn_guard_frag *k = frag_find(g, ip);
	uint8_t copy[ETH_HLEN + sizeof(k->ip)];
	size_t n;

	if (!k)
		return frag_drop(g, ip,
				 "the last fragment of a datagram whose first "
				 "fragment it did not see, on which libslirp "
				 "4.7.0 crashes");
	if (!g->inject)
		return frag_drop(g, ip,
				 "a last fragment, and no way to hand libslirp "
				 "the first one again");
	n = k->hlen + SN_GUARD_PRIME_DATA;
	memcpy(copy, frame, ETH_HLEN);
	memcpy(copy + ETH_HLEN, k->ip, n);
	k->hlen = 0;
	g->stats.frag_primed++;
	g->inject(copy, ETH_HLEN + n, g->inject_opaque);
	return true;
}

/* guard_frag() - the IPv4 fragment parsed in @ip, its lengths within the
 * frame */
static bool guard_frag(struct sn_guard *g, const struct sn_ip *ip)
{
	if (!ip->frag_off)
		return frag_first(g, ip->hdr, ip->hlen, ip->hlen + ip->l4len);
	if (ip->more)
		return true;
	return frag_last(g, ip->frame, ip->hdr);
}

/* sn_guard_init() - a fresh guard for one stack */
void sn_guard_init(struct sn_guard *g, sn_guard_inject_fn inject, void *opaque)
{
	memset(g, 0, sizeof(*g));
	g->inject = inject;
	g->inject_opaque = opaque;
}

/* sn_guard_frame() - sn_guard_inspect(), then IPv4 fragments; counted */
bool sn_guard_frame(struct sn_guard *g, uint8_t *frame, const struct sn_ip *ip)
{
	enum sn_guard_verdict v = sn_guard_inspect(frame, ip);

	if (v != SN_GUARD_PASS) {
		if (v == SN_GUARD_CLEANED)
			g->stats.cleaned++;
		else
			g->stats.dropped++;
		log_totals(g);
		if (v == SN_GUARD_DROP)
			return false;
	}
	/* What ip_input() drops before reassembly needs no guarding. */
	if (ip->verdict != SN_IP_OK || ip->af != AF_INET || !ip->frag)
		return true;
	return guard_frag(g, ip);
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
