/* test_udpframe.c - unit tests for src/udpframe.c: UDP frames to the guest
 * built (whole or fragmented), and the guest's frames parsed, bounds-checked.
 */
#include <check.h>
#include <glib.h>
#include <string.h>
#include <sys/socket.h>

#include "ckrun.h"
#include "refsum.h"
#include "udpframe.h"

#define ETH 14
#define BIG (ETH + 48 + 65536)

static const uint8_t gw_mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };
static const uint8_t guest_mac[6] = { 0x02, 0x00, 0x0a, 0x00, 0x02, 0x64 };
static const uint8_t guest4[4] = { 10, 0, 2, 100 };
static const uint8_t client4[4] = { 198, 51, 100, 7 };
static const uint8_t guest6[16] = { 0xfd, 0, [14] = 0x01, [15] = 0x00 };
static const uint8_t client6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x07 };

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* parse() - the UDP datagram in the frame @f, parsed */
static enum sn_udpframe_verdict parse(const uint8_t *f, size_t len,
				      struct sn_udpframe *u)
{
	struct sn_ip ip;

	sn_ip_parse(f, len, &ip);
	return sn_udpframe_parse(&ip, u);
}

/* frag() - the fragment of a UDP datagram in the frame @f, parsed */
static bool frag(const uint8_t *f, size_t len, struct sn_udpfrag *fr)
{
	struct sn_ip ip;

	sn_ip_parse(f, len, &ip);
	return sn_udpfrag_parse(&ip, fr);
}

/* The frames one build emitted, each copied whole. */
struct frames {
	unsigned int n;
	size_t len[64];
	uint8_t *f[64];
};

static void collect(const struct iovec *iov, int iovcnt, void *opaque)
{
	struct frames *fr = opaque;
	size_t len = 0;

	ck_assert_uint_lt(fr->n, 64);
	fr->f[fr->n] = g_malloc(BIG);
	for (int i = 0; i < iovcnt; i++) {
		memcpy(fr->f[fr->n] + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	fr->len[fr->n++] = len;
}

static void frames_free(struct frames *fr)
{
	for (unsigned int i = 0; i < fr->n; i++)
		g_free(fr->f[i]);
}

static struct sn_udpframe_tmpl tmpl(int af, unsigned int mtu)
{
	struct sn_udpframe_tmpl t = {
		.af = af, .sport = 41000, .dport = 53, .mtu = mtu
	};

	memcpy(t.smac, gw_mac, 6);
	memcpy(t.dmac, guest_mac, 6);
	memcpy(t.saddr, af == AF_INET ? client4 : client6,
	       af == AF_INET ? 4 : 16);
	memcpy(t.daddr, af == AF_INET ? guest4 : guest6,
	       af == AF_INET ? 4 : 16);
	return t;
}

/* udp_ok() - the UDP checksum over @udp (@ulen bytes) verifies */
static bool udp_ok(int af, const uint8_t *ip, const uint8_t *udp, size_t ulen)
{
	uint8_t ph[40] = { 0 };
	size_t alen = af == AF_INET ? 4 : 16;
	uint32_t s;

	memcpy(ph, ip + (af == AF_INET ? 12 : 8), 2 * alen);
	/* IPv4: zero, protocol, 16-bit length; IPv6: 32-bit length, 0 0 0 17 */
	if (af == AF_INET) {
		ph[8] = 0;
		ph[9] = 17;
		ph[10] = (uint8_t)(ulen >> 8);
		ph[11] = (uint8_t)ulen;
		s = ref_sum(ph, 12, 0);
	} else {
		memset(ph + 32, 0, 8);
		ph[34] = (uint8_t)(ulen >> 8);
		ph[35] = (uint8_t)ulen;
		ph[39] = 17;
		s = ref_sum(ph, 40, 0);
	}
	return ref_sum(udp, ulen, s) == 0xffff;
}

/* one() - a datagram of @dlen bytes that fits one frame, checked whole */
static void one(int af, size_t dlen)
{
	struct sn_udpframe_tmpl t = tmpl(af, 1500);
	uint8_t *data = g_malloc(dlen + 1);
	struct frames fr = { 0 };
	struct sn_udpframe u;
	size_t iph = af == AF_INET ? 20 : 40;
	const uint8_t *ip;

	fill(data, dlen, 7);
	ck_assert_uint_eq(sn_udpframe_build(&t, data, dlen, 5, collect, &fr),
			  1);
	ck_assert_uint_eq(fr.len[0], ETH + iph + 8 + dlen);
	ck_assert_mem_eq(fr.f[0], guest_mac, 6);
	ck_assert_mem_eq(fr.f[0] + 6, gw_mac, 6);
	ip = fr.f[0] + ETH;
	if (af == AF_INET) {
		ck_assert_uint_eq(ref_sum(ip, 20, 0), 0xffff);
		ck_assert_uint_eq(get16(ip + 2), 20 + 8 + dlen);
		ck_assert_uint_eq(get16(ip + 6), 0);
	} else {
		ck_assert_uint_eq(get16(ip + 4), 8 + dlen);
	}
	ck_assert(udp_ok(af, ip, ip + iph, 8 + dlen));
	/* read back: the same ends, the same bytes */
	ck_assert_int_eq(parse(fr.f[0], fr.len[0], &u), SN_UDPFRAME_OK);
	ck_assert_int_eq(u.af, af);
	ck_assert_uint_eq(u.sport, 41000);
	ck_assert_uint_eq(u.dport, 53);
	ck_assert_mem_eq(u.saddr, t.saddr, af == AF_INET ? 4 : 16);
	ck_assert_mem_eq(u.daddr, t.daddr, af == AF_INET ? 4 : 16);
	ck_assert_uint_eq(u.dlen, dlen);
	if (dlen)
		ck_assert_mem_eq(u.data, data, dlen);
	frames_free(&fr);
	g_free(data);
}

START_TEST(build_one4)
{
	one(AF_INET, 1000);
	one(AF_INET, 1500 - 28);
	one(AF_INET, 1);
}
END_TEST

START_TEST(build_one6)
{
	one(AF_INET6, 1000);
	one(AF_INET6, 1500 - 48);
	one(AF_INET6, 3);
}
END_TEST

START_TEST(build_empty)
{
	one(AF_INET, 0);
	one(AF_INET6, 0);
}
END_TEST

/*
 * frags() - a datagram of @dlen bytes at @mtu: every packet within the
 * MTU, offsets contiguous, MF on all but the last, one identification,
 * and the reassembled datagram whole with its checksum right
 */
static void frags(int af, size_t dlen, unsigned int mtu, unsigned int want)
{
	struct sn_udpframe_tmpl t = tmpl(af, mtu);
	uint8_t *data = g_malloc(dlen), *re = g_malloc0(8 + dlen);
	struct frames fr = { 0 };
	size_t iph = af == AF_INET ? 20 : 48, at = 0;

	fill(data, dlen, 9);
	ck_assert_uint_eq(
	    sn_udpframe_build(&t, data, dlen, 0x12345678, collect, &fr), want);
	ck_assert_uint_eq(fr.n, want);
	for (unsigned int i = 0; i < fr.n; i++) {
		const uint8_t *ip = fr.f[i] + ETH;
		size_t n = fr.len[i] - ETH - iph, off;
		bool more;

		ck_assert_uint_le(fr.len[i] - ETH, mtu);
		if (af == AF_INET) {
			ck_assert_uint_eq(ref_sum(ip, 20, 0), 0xffff);
			ck_assert_uint_eq(get16(ip + 2), 20 + n);
			ck_assert_uint_eq(get16(ip + 4), 0x5678);
			off = (size_t)(get16(ip + 6) & 0x1fff) * 8;
			more = get16(ip + 6) & 0x2000;
		} else {
			ck_assert_uint_eq(ip[6], 44);
			ck_assert_uint_eq(ip[40], 17);
			ck_assert_uint_eq(get16(ip + 4), 8 + n);
			ck_assert_uint_eq(get16(ip + 44), 0x1234);
			ck_assert_uint_eq(get16(ip + 46), 0x5678);
			off = get16(ip + 42) & ~7u;
			more = get16(ip + 42) & 1;
		}
		ck_assert_uint_eq(off, at);
		ck_assert(more == (i + 1 < fr.n));
		ck_assert(!more || n % 8 == 0);
		/* a fragment is no datagram to the parser */
		{
			struct sn_udpframe u;

			ck_assert_int_eq(parse(fr.f[i], fr.len[i], &u),
					 SN_UDPFRAME_NOT_UDP);
		}
		memcpy(re + at, ip + iph, n);
		at += n;
	}
	ck_assert_uint_eq(at, 8 + dlen);
	ck_assert_uint_eq(get16(re + 4), 8 + dlen);
	ck_assert_mem_eq(re + 8, data, dlen);
	ck_assert(udp_ok(af, fr.f[0] + ETH, re, 8 + dlen));
	frames_free(&fr);
	g_free(data);
	g_free(re);
}

START_TEST(build_frags4)
{
	frags(AF_INET, 4000, 1500, 3);
	frags(AF_INET, 1500 - 28 + 1, 1500, 2);
	frags(AF_INET, SN_UDPFRAME_DMAX4, 1500, 45);
	frags(AF_INET, SN_UDPFRAME_DMAX4, 65520, 2);
}
END_TEST

START_TEST(build_frags6)
{
	frags(AF_INET6, 4000, 1500, 3);
	frags(AF_INET6, 1500 - 48 + 1, 1500, 2);
	frags(AF_INET6, SN_UDPFRAME_DMAX6, 1280, 54);
}
END_TEST

START_TEST(build_too_big)
{
	struct sn_udpframe_tmpl t4 = tmpl(AF_INET, 1500),
				t6 = tmpl(AF_INET6, 1500);
	uint8_t *data = g_malloc0(SN_UDPFRAME_DMAX6 + 1);
	struct frames fr = { 0 };

	ck_assert_uint_eq(sn_udpframe_build(&t4, data, SN_UDPFRAME_DMAX4 + 1, 0,
					    collect, &fr),
			  0);
	ck_assert_uint_eq(sn_udpframe_build(&t6, data, SN_UDPFRAME_DMAX6 + 1, 0,
					    collect, &fr),
			  0);
	t4.mtu = 27;
	ck_assert_uint_eq(sn_udpframe_build(&t4, data, 100, 0, collect, &fr),
			  0);
	ck_assert_uint_eq(fr.n, 0);
	g_free(data);
}
END_TEST

/* good() - a well-formed frame of @af with @dlen data bytes, in @f */
static size_t good(uint8_t *f, int af, size_t dlen)
{
	struct sn_udpframe_tmpl t = tmpl(af, 65535);
	uint8_t data[2048];
	struct frames fr = { 0 };
	size_t len;

	fill(data, dlen, 3);
	sn_udpframe_build(&t, data, dlen, 0, collect, &fr);
	len = fr.len[0];
	memcpy(f, fr.f[0], len);
	frames_free(&fr);
	return len;
}

START_TEST(parse_truncated)
{
	int afs[2] = { AF_INET, AF_INET6 };
	uint8_t f[4096];
	struct sn_udpframe u;

	for (int a = 0; a < 2; a++) {
		size_t len = good(f, afs[a], 100);

		ck_assert_int_eq(parse(f, len, &u), SN_UDPFRAME_OK);
		/* every shorter frame: never read past it, never OK */
		for (size_t l = 0; l < len; l++) {
			uint8_t *cut = g_malloc(l + 1);

			memcpy(cut, f, l);

			ck_assert_int_ne(parse(cut, l, &u), SN_UDPFRAME_OK);
			g_free(cut);
		}
	}
}
END_TEST

START_TEST(parse_bad_lengths)
{
	uint8_t f[4096];
	struct sn_udpframe u;
	size_t len = good(f, AF_INET, 100);

	f[ETH + 20 + 4] = 0; /* UDP length 7: shorter than its header */
	f[ETH + 20 + 5] = 7;
	ck_assert_int_eq(parse(f, len, &u), SN_UDPFRAME_MALFORMED);
	f[ETH + 20 + 5] = 109; /* one past the IP payload */
	ck_assert_int_eq(parse(f, len, &u), SN_UDPFRAME_MALFORMED);
	f[ETH + 20 + 5] = 58; /* shorter than the payload: the UDP length */
	ck_assert_int_eq(parse(f, len, &u), SN_UDPFRAME_OK);
	ck_assert_uint_eq(u.dlen, 50);
	f[ETH] = 0x44; /* IHL 4 */
	ck_assert_int_eq(parse(f, len, &u), SN_UDPFRAME_MALFORMED);
	f[ETH] = 0x4f; /* IHL 15: past the total length */
	f[ETH + 3] = 40;
	f[ETH + 2] = 0;
	ck_assert_int_eq(parse(f, len, &u), SN_UDPFRAME_MALFORMED);

	len = good(f, AF_INET6, 100);
	f[ETH + 5] = 109; /* payload length past the frame */
	ck_assert_int_eq(parse(f, len, &u), SN_UDPFRAME_MALFORMED);
	f[ETH + 5] = 4; /* shorter than a UDP header */
	ck_assert_int_eq(parse(f, len, &u), SN_UDPFRAME_MALFORMED);
}
END_TEST

START_TEST(parse_padding)
{
	uint8_t f[4096];
	struct sn_udpframe u;
	size_t len = good(f, AF_INET, 2);

	/* Ethernet pads short frames: the IP total length rules */
	memset(f + len, 0xee, 20);
	ck_assert_int_eq(parse(f, len + 20, &u), SN_UDPFRAME_OK);
	ck_assert_uint_eq(u.dlen, 2);
}
END_TEST

START_TEST(parse_not_udp)
{
	uint8_t f[4096];
	struct sn_udpframe u;
	size_t len = good(f, AF_INET, 100);

	f[ETH + 9] = 6; /* TCP */
	ck_assert_int_eq(parse(f, len, &u), SN_UDPFRAME_NOT_UDP);
	f[ETH + 9] = 17;
	f[ETH + 6] = 0x20; /* MF: a first fragment */
	ck_assert_int_eq(parse(f, len, &u), SN_UDPFRAME_NOT_UDP);
	f[ETH + 6] = 0;
	f[12] = 0x08;
	f[13] = 0x06; /* ARP */
	ck_assert_int_eq(parse(f, len, &u), SN_UDPFRAME_NOT_UDP);
	f[13] = 0x00;
	f[ETH] = 0x65; /* version 6 in an IPv4 frame */
	ck_assert_int_eq(parse(f, len, &u), SN_UDPFRAME_NOT_UDP);

	len = good(f, AF_INET6, 100);
	f[ETH + 6] = 0; /* a hop-by-hop header first */
	ck_assert_int_eq(parse(f, len, &u), SN_UDPFRAME_NOT_UDP);
}
END_TEST

/* reasm() - the datagram of @dlen bytes built at @mtu, its fragments
 * parsed and put together again: pieces in order, all within their frame */
static void reasm(int af, size_t dlen, unsigned int mtu)
{
	struct sn_udpframe_tmpl t = tmpl(af, mtu);
	uint8_t *data = g_malloc(dlen), *re = g_malloc0(8 + dlen);
	struct frames fr = { 0 };
	struct sn_udpfrag p;
	size_t at = 0;

	fill(data, dlen, 11);
	ck_assert_uint_gt(
	    sn_udpframe_build(&t, data, dlen, 0xabcd1234, collect, &fr), 1);
	for (unsigned int i = 0; i < fr.n; i++) {
		ck_assert(frag(fr.f[i], fr.len[i], &p));
		ck_assert_int_eq(p.af, af);
		ck_assert_uint_eq(p.id, af == AF_INET ? 0x1234 : 0xabcd1234);
		ck_assert_mem_eq(p.saddr, t.saddr, af == AF_INET ? 4 : 16);
		ck_assert_uint_eq(p.off, at);
		ck_assert(p.more == (i + 1 < fr.n));
		ck_assert(p.data > fr.f[i] &&
			  p.data + p.len == fr.f[i] + fr.len[i]);
		memcpy(re + at, p.data, p.len);
		at += p.len;
	}
	ck_assert_uint_eq(at, 8 + dlen);
	ck_assert_mem_eq(re + 8, data, dlen);
	frames_free(&fr);
	g_free(data);
	g_free(re);
}

START_TEST(frag_parse)
{
	reasm(AF_INET, 4000, 1500);
	reasm(AF_INET6, 4000, 1500);
	reasm(AF_INET, SN_UDPFRAME_DMAX4, 1500);
	reasm(AF_INET6, SN_UDPFRAME_DMAX6, 1280);
}
END_TEST

START_TEST(frag_parse_bad)
{
	struct sn_udpframe_tmpl t4 = tmpl(AF_INET, 1500),
				t6 = tmpl(AF_INET6, 1500);
	uint8_t data[4000] = { 0 };
	struct frames fr = { 0 };
	struct sn_udpfrag p;
	uint8_t f[4096];

	/* a whole datagram is no fragment */
	ck_assert(!frag(f, good(f, AF_INET, 10), &p));
	ck_assert(!frag(f, good(f, AF_INET6, 10), &p));
	sn_udpframe_build(&t4, data, sizeof(data), 1, collect, &fr);
	sn_udpframe_build(&t6, data, sizeof(data), 1, collect, &fr);
	/* every shorter frame: never read past it, never a piece past it */
	for (unsigned int i = 0; i < fr.n; i++)
		for (size_t l = 0; l < fr.len[i]; l++) {
			uint8_t *cut = g_malloc(l + 1);

			memcpy(cut, fr.f[i], l);
			ck_assert(!frag(cut, l, &p) ||
				  p.data + p.len <= cut + l);
			g_free(cut);
		}
	/* a piece that is not the last must be a multiple of 8 bytes */
	memcpy(f, fr.f[0], fr.len[0]);
	f[ETH + 3]--;
	ck_assert(!frag(f, fr.len[0], &p));
	/* IPv6: the fragment header must say UDP next */
	memcpy(f, fr.f[3], fr.len[3]);
	ck_assert(frag(f, fr.len[3], &p));
	f[ETH + 40] = 6;
	ck_assert(!frag(f, fr.len[3], &p));
	/* nor end past 65535 */
	memcpy(f, fr.f[1], fr.len[1]);
	f[ETH + 6] = 0x3f; /* IPv4: offset 8191 * 8 */
	f[ETH + 7] = 0xff;
	ck_assert(!frag(f, fr.len[1], &p));
	frames_free(&fr);
}
END_TEST

static Suite *udpframe_suite(void)
{
	Suite *s = suite_create("udpframe");
	TCase *tc = tcase_create("build");

	tcase_add_test(tc, build_one4);
	tcase_add_test(tc, build_one6);
	tcase_add_test(tc, build_empty);
	tcase_add_test(tc, build_frags4);
	tcase_add_test(tc, build_frags6);
	tcase_add_test(tc, build_too_big);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_test(tc, parse_truncated);
	tcase_add_test(tc, parse_bad_lengths);
	tcase_add_test(tc, parse_padding);
	tcase_add_test(tc, parse_not_udp);
	tcase_add_test(tc, frag_parse);
	tcase_add_test(tc, frag_parse_bad);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return sn_ck_run(udpframe_suite(), CK_NORMAL);
}
