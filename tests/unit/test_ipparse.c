/* test_ipparse.c - unit tests for src/ipparse.c: the IPv4 and IPv6 headers
 * of the guest's frames parsed, every length checked against the frame. */
#include <check.h>
#include <glib.h>
#include <string.h>
#include <sys/socket.h>

#include "ckrun.h"
#include "ipparse.h"

#define ETH	    14
#define IP4	    20
#define IP6	    40
#define FRAG6	    8
#define PROTO_TCP   6
#define PROTO_UDP   17
#define PROTO_FRAG6 44
#define FRAME_MAX   256

static const uint8_t src4[4] = { 10, 0, 2, 100 };
static const uint8_t dst4[4] = { 192, 0, 2, 7 };
static const uint8_t src6[16] = { 0xfd, 0, [14] = 0x01, [15] = 0x00 };
static const uint8_t dst6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x07 };

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* eth() - an Ethernet header of @type at @f */
static void eth(uint8_t *f, uint16_t type)
{
	memset(f, 0, ETH);
	memset(f, 0x52, 6);
	memset(f + 6, 0x02, 6);
	put16(f + 12, type);
}

/* payload() - @n bytes 0, 1, 2, ... at @p */
static void payload(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)i;
}

/*
 * mk4() - an IPv4 frame in @f: @proto, @opt bytes of IP options (a
 * multiple of 4), @plen bytes of L4 header and payload
 *
 * Return: its length
 */
static size_t mk4(uint8_t *f, uint8_t proto, size_t opt, size_t plen)
{
	uint8_t *ip = f + ETH;

	eth(f, 0x0800);
	memset(ip, 0, IP4 + opt);
	ip[0] = (uint8_t)(0x40 | (IP4 + opt) / 4);
	put16(ip + 2, (uint16_t)(IP4 + opt + plen));
	put16(ip + 4, 0xbeef);
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, src4, 4);
	memcpy(ip + 16, dst4, 4);
	memset(ip + IP4, 1, opt); /* NOPs */
	payload(ip + IP4 + opt, plen);
	return ETH + IP4 + opt + plen;
}

/* mk6() - an IPv6 frame in @f: next header @nh, @plen bytes of payload;
 * its length */
static size_t mk6(uint8_t *f, uint8_t nh, size_t plen)
{
	uint8_t *ip = f + ETH;

	eth(f, 0x86dd);
	memset(ip, 0, IP6);
	ip[0] = 0x60;
	put16(ip + 4, (uint16_t)plen);
	ip[6] = nh;
	ip[7] = 64;
	memcpy(ip + 8, src6, 16);
	memcpy(ip + 24, dst6, 16);
	payload(ip + IP6, plen);
	return ETH + IP6 + plen;
}

/* mk6frag() - an IPv6 fragment of @proto in @f: @off and @more in the
 * fragment header, @dlen bytes of data after it; its length */
static size_t mk6frag(uint8_t *f, uint8_t proto, uint16_t off, bool more,
		      size_t dlen)
{
	size_t len = mk6(f, PROTO_FRAG6, FRAG6 + dlen);
	uint8_t *fh = f + ETH + IP6;

	fh[0] = proto;
	fh[1] = 0;
	put16(fh + 2, (uint16_t)(off | (more ? 1 : 0)));
	put16(fh + 4, 0x1234);
	put16(fh + 6, 0x5678);
	payload(fh + FRAG6, dlen);
	return len;
}

/* parse_exact() - sn_ip_parse() on a copy of @len bytes of @f in a buffer
 * of that size (a read past it is caught by ASan), which it must leave as
 * it was; pointers in @ip rebased onto @f */
static enum sn_ip_verdict parse_exact(const uint8_t *f, size_t len,
				      struct sn_ip *ip)
{
	uint8_t *copy = len ? g_memdup2(f, len) : NULL;
	const uint8_t **p[] = { &ip->frame, &ip->hdr, &ip->saddr, &ip->daddr,
				&ip->l4 };

	sn_ip_parse(copy, len, ip);
	if (len)
		ck_assert_mem_eq(copy, f, len);
	for (size_t i = 0; i < G_N_ELEMENTS(p); i++)
		if (*p[i])
			*p[i] = f + (*p[i] - copy);
	g_free(copy);
	return ip->verdict;
}

/* ---- well-formed packets ---- */

START_TEST(ipv4_fields)
{
	uint8_t f[FRAME_MAX];
	size_t len = mk4(f, PROTO_TCP, 0, 33);
	struct sn_ip ip;

	ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_OK);
	ck_assert_ptr_eq(ip.frame, f);
	ck_assert_uint_eq(ip.len, len);
	ck_assert_int_eq(ip.af, AF_INET);
	ck_assert_uint_eq(ip.proto, PROTO_TCP);
	ck_assert_ptr_eq(ip.hdr, f + ETH);
	ck_assert_mem_eq(ip.saddr, src4, 4);
	ck_assert_mem_eq(ip.daddr, dst4, 4);
	ck_assert_uint_eq(ip.hlen, IP4);
	ck_assert_ptr_eq(ip.l4, f + ETH + IP4);
	ck_assert_uint_eq(ip.l4len, 33);
	ck_assert(!ip.frag);
	ck_assert(!ip.more);
	ck_assert_uint_eq(ip.frag_off, 0);
	ck_assert_uint_eq(ip.id, 0xbeef);
	ck_assert_uint_eq(sn_ip_parsed_len(&ip), ETH + IP4);
	ck_assert(sn_ip_whole(&ip, PROTO_TCP));
	ck_assert(!sn_ip_whole(&ip, PROTO_UDP));
}
END_TEST

START_TEST(ipv4_options)
{
	uint8_t f[FRAME_MAX];
	size_t len = mk4(f, PROTO_UDP, 40, 12);
	struct sn_ip ip;

	ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_OK);
	ck_assert_uint_eq(ip.hlen, IP4 + 40);
	ck_assert_ptr_eq(ip.l4, f + ETH + IP4 + 40);
	ck_assert_uint_eq(ip.l4len, 12);
	ck_assert_uint_eq(ip.l4[11], 11);
	ck_assert_uint_eq(sn_ip_parsed_len(&ip), ETH + IP4 + 40);
}
END_TEST

START_TEST(ipv6_fields)
{
	uint8_t f[FRAME_MAX];
	size_t len = mk6(f, PROTO_UDP, 21);
	struct sn_ip ip;

	ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_OK);
	ck_assert_int_eq(ip.af, AF_INET6);
	ck_assert_uint_eq(ip.proto, PROTO_UDP);
	ck_assert_ptr_eq(ip.hdr, f + ETH);
	ck_assert_mem_eq(ip.saddr, src6, 16);
	ck_assert_mem_eq(ip.daddr, dst6, 16);
	ck_assert_uint_eq(ip.hlen, IP6);
	ck_assert_ptr_eq(ip.l4, f + ETH + IP6);
	ck_assert_uint_eq(ip.l4len, 21);
	ck_assert(!ip.frag);
	ck_assert_uint_eq(sn_ip_parsed_len(&ip), ETH + IP6);
	ck_assert(sn_ip_whole(&ip, PROTO_UDP));
}
END_TEST

/* Ethernet pads short frames: the IP lengths say where the packet ends */
START_TEST(padding_ignored)
{
	uint8_t f[FRAME_MAX];
	struct sn_ip ip;
	size_t len;

	len = mk4(f, PROTO_TCP, 0, 6);
	memset(f + len, 0xee, 20);
	ck_assert_int_eq(parse_exact(f, len + 20, &ip), SN_IP_OK);
	ck_assert_uint_eq(ip.l4len, 6);
	len = mk6(f, PROTO_TCP, 6);
	memset(f + len, 0xee, 20);
	ck_assert_int_eq(parse_exact(f, len + 20, &ip), SN_IP_OK);
	ck_assert_uint_eq(ip.l4len, 6);
}
END_TEST

/* The headers alone: no L4 bytes at all */
START_TEST(empty_payload)
{
	uint8_t f[FRAME_MAX];
	struct sn_ip ip;

	ck_assert_int_eq(parse_exact(f, mk4(f, PROTO_TCP, 0, 0), &ip),
			 SN_IP_OK);
	ck_assert_uint_eq(ip.l4len, 0);
	ck_assert_ptr_eq(ip.l4, f + ETH + IP4);
	ck_assert_int_eq(parse_exact(f, mk6(f, PROTO_TCP, 0), &ip), SN_IP_OK);
	ck_assert_uint_eq(ip.l4len, 0);
	ck_assert_ptr_eq(ip.l4, f + ETH + IP6);
}
END_TEST

/* ---- not IP ---- */

START_TEST(short_ethernet)
{
	uint8_t f[FRAME_MAX];
	struct sn_ip ip;

	mk4(f, PROTO_TCP, 0, 8);
	for (size_t l = 0; l < ETH; l++) {
		ck_assert_int_eq(parse_exact(f, l, &ip), SN_IP_NOT_IP);
		ck_assert_uint_eq(ip.len, l);
		ck_assert_int_eq(ip.af, 0);
		ck_assert_ptr_null(ip.l4);
		ck_assert_uint_eq(sn_ip_parsed_len(&ip), l);
	}
	ck_assert_int_eq(sn_ip_parse(NULL, 0, &ip), SN_IP_NOT_IP);
}
END_TEST

START_TEST(short_ip_headers)
{
	uint8_t f[FRAME_MAX];
	struct sn_ip ip;

	mk4(f, PROTO_TCP, 0, 8);
	for (size_t l = ETH; l < ETH + IP4; l++)
		ck_assert_int_eq(parse_exact(f, l, &ip), SN_IP_NOT_IP);
	mk6(f, PROTO_TCP, 8);
	for (size_t l = ETH; l < ETH + IP6; l++)
		ck_assert_int_eq(parse_exact(f, l, &ip), SN_IP_NOT_IP);
}
END_TEST

START_TEST(other_ethertypes)
{
	static const uint16_t types[] = { 0x0806, 0x8100, 0x88a8, 0x86de,
					  0x0801, 0x0000, 0xffff };
	uint8_t f[FRAME_MAX];
	struct sn_ip ip;
	size_t len = mk4(f, PROTO_TCP, 0, 8);

	for (size_t i = 0; i < G_N_ELEMENTS(types); i++) {
		put16(f + 12, types[i]);
		ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_NOT_IP);
		ck_assert_int_eq(ip.af, 0);
	}
}
END_TEST

/* An 802.1Q tag in front of a well-formed IPv4 packet: libslirp reads no
 * tag, and neither does the parser */
START_TEST(vlan_not_read)
{
	uint8_t f[FRAME_MAX], g[FRAME_MAX];
	struct sn_ip ip;
	size_t len = mk4(f, PROTO_UDP, 0, 8);

	memcpy(g, f, 12);
	put16(g + 12, 0x8100);
	put16(g + 14, 5);
	memcpy(g + 16, f + 12, len - 12);
	ck_assert_int_eq(parse_exact(g, len + 4, &ip), SN_IP_NOT_IP);
}
END_TEST

START_TEST(version_not_ethertype)
{
	uint8_t f[FRAME_MAX];
	struct sn_ip ip;
	size_t len = mk4(f, PROTO_TCP, 0, 40);

	for (unsigned int v = 0; v < 16; v++) {
		f[ETH] = (uint8_t)(v << 4 | 5);
		ck_assert_int_eq(parse_exact(f, len, &ip),
				 v == 4 ? SN_IP_OK : SN_IP_NOT_IP);
	}
	len = mk6(f, PROTO_TCP, 40);
	for (unsigned int v = 0; v < 16; v++) {
		f[ETH] = (uint8_t)(v << 4);
		ck_assert_int_eq(parse_exact(f, len, &ip),
				 v == 6 ? SN_IP_OK : SN_IP_NOT_IP);
	}
}
END_TEST

/* ---- IPv4 lengths ---- */

/* bad_but_read() - @ip is malformed, yet its fixed header was read */
static void bad_but_read(const struct sn_ip *ip, const uint8_t *f, size_t len,
			 uint8_t proto)
{
	ck_assert_int_eq(ip->af, AF_INET);
	ck_assert_uint_eq(ip->proto, proto);
	ck_assert_ptr_eq(ip->saddr, f + ETH + 12);
	ck_assert_ptr_null(ip->l4);
	ck_assert_uint_eq(ip->l4len, 0);
	ck_assert_uint_eq(sn_ip_parsed_len(ip), len);
}

START_TEST(ihl_below_5)
{
	uint8_t f[FRAME_MAX];
	struct sn_ip ip;
	size_t len = mk4(f, PROTO_TCP, 0, 40);

	for (unsigned int ihl = 0; ihl < 5; ihl++) {
		f[ETH] = (uint8_t)(0x40 | ihl);
		ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_BAD_HLEN);
		bad_but_read(&ip, f, len, PROTO_TCP);
		ck_assert_uint_eq(ip.hlen, ihl * 4);
	}
}
END_TEST

START_TEST(ihl_past_frame)
{
	uint8_t f[FRAME_MAX];
	struct sn_ip ip;
	size_t len = mk4(f, PROTO_UDP, 0, 20);

	/* 40 bytes of packet: a 44-byte header is past the frame */
	f[ETH] = 0x4b;
	ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_BAD_HLEN);
	bad_but_read(&ip, f, len, PROTO_UDP);
	/* 40 bytes exactly: within, and the total length still fits */
	f[ETH] = 0x4a;
	ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_OK);
	ck_assert_uint_eq(ip.l4len, 0);
	/* within the frame but past the total length: the total length's
	 * fault */
	f[ETH] = 0x4c;
	memset(f + len, 0, 8);
	ck_assert_int_eq(parse_exact(f, len + 8, &ip), SN_IP_BAD_LEN);
	ck_assert_uint_eq(ip.hlen, 48);
}
END_TEST

START_TEST(total_length)
{
	uint8_t f[FRAME_MAX];
	struct sn_ip ip;
	size_t len = mk4(f, PROTO_TCP, 4, 30), pkt = len - ETH;

	/* past the frame */
	put16(f + ETH + 2, (uint16_t)(pkt + 1));
	ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_BAD_LEN);
	bad_but_read(&ip, f, len, PROTO_TCP);
	put16(f + ETH + 2, 0xffff);
	ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_BAD_LEN);
	/* below the header (24 bytes with its options) */
	put16(f + ETH + 2, IP4 + 3);
	ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_BAD_LEN);
	put16(f + ETH + 2, 0);
	ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_BAD_LEN);
	/* the header exactly, the frame exactly */
	put16(f + ETH + 2, IP4 + 4);
	ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_OK);
	ck_assert_uint_eq(ip.l4len, 0);
	put16(f + ETH + 2, (uint16_t)pkt);
	ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_OK);
	ck_assert_uint_eq(ip.l4len, 30);
}
END_TEST

START_TEST(ipv4_fragments)
{
	static const struct {
		uint16_t field;
		bool frag, more;
		size_t off;
	} cases[] = {
		{ 0x0000, false, false, 0 },	{ 0x4000, false, false, 0 },
		{ 0x2000, true, true, 0 },	{ 0x0001, true, false, 8 },
		{ 0x00b9, true, false, 1480 },	{ 0x20b9, true, true, 1480 },
		{ 0x1fff, true, false, 65528 }, { 0x6001, true, true, 8 },
		{ 0x8000, false, false, 0 },
	};
	uint8_t f[FRAME_MAX];
	struct sn_ip ip;
	size_t len = mk4(f, PROTO_UDP, 0, 16);

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		put16(f + ETH + 6, cases[i].field);
		ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_OK);
		ck_assert(ip.frag == cases[i].frag);
		ck_assert(ip.more == cases[i].more);
		ck_assert_uint_eq(ip.frag_off, cases[i].off);
		ck_assert_uint_eq(ip.id, 0xbeef);
		ck_assert(sn_ip_whole(&ip, PROTO_UDP) == !cases[i].frag);
	}
	/* a fragment says so even when its lengths are nonsense */
	put16(f + ETH + 6, 0x2000);
	put16(f + ETH + 2, 0xffff);
	ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_BAD_LEN);
	ck_assert(ip.frag);
	f[ETH] = 0x43;
	ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_BAD_HLEN);
	ck_assert(ip.frag);
}
END_TEST

/* ---- IPv6 lengths and the fragment header ---- */

START_TEST(payload_length)
{
	uint8_t f[FRAME_MAX];
	struct sn_ip ip;
	size_t len = mk6(f, PROTO_TCP, 24);

	put16(f + ETH + 4, 25);
	ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_BAD_LEN);
	ck_assert_int_eq(ip.af, AF_INET6);
	ck_assert_uint_eq(ip.proto, PROTO_TCP);
	ck_assert_ptr_eq(ip.daddr, f + ETH + 24);
	ck_assert_ptr_null(ip.l4);
	ck_assert_uint_eq(sn_ip_parsed_len(&ip), len);
	put16(f + ETH + 4, 0xffff);
	ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_BAD_LEN);
	put16(f + ETH + 4, 24);
	ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_OK);
	ck_assert_uint_eq(ip.l4len, 24);
	put16(f + ETH + 4, 0);
	ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_OK);
	ck_assert_uint_eq(ip.l4len, 0);
}
END_TEST

START_TEST(ipv6_fragments)
{
	uint8_t f[FRAME_MAX];
	struct sn_ip ip;
	size_t len = mk6frag(f, PROTO_UDP, 1232, true, 16);

	ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_OK);
	ck_assert_uint_eq(ip.proto, PROTO_UDP);
	ck_assert_uint_eq(ip.hlen, IP6 + FRAG6);
	ck_assert_ptr_eq(ip.l4, f + ETH + IP6 + FRAG6);
	ck_assert_uint_eq(ip.l4len, 16);
	ck_assert(ip.frag);
	ck_assert(ip.more);
	ck_assert_uint_eq(ip.frag_off, 1232);
	ck_assert_uint_eq(ip.id, 0x12345678);
	ck_assert_uint_eq(sn_ip_parsed_len(&ip), ETH + IP6 + FRAG6);
	ck_assert(!sn_ip_whole(&ip, PROTO_UDP));
	/* the last, the reserved bits ignored; an atomic fragment */
	len = mk6frag(f, PROTO_TCP, 8, false, 0);
	f[ETH + IP6 + 3] |= 6;
	ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_OK);
	ck_assert(!ip.more);
	ck_assert_uint_eq(ip.frag_off, 8);
	ck_assert_uint_eq(ip.l4len, 0);
	len = mk6frag(f, PROTO_TCP, 0, false, 4);
	ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_OK);
	ck_assert(ip.frag);
	ck_assert_uint_eq(ip.proto, PROTO_TCP);
}
END_TEST

/* A fragment header the payload length leaves no room for, or past the
 * frame: not read */
START_TEST(ipv6_fragment_header_bounds)
{
	uint8_t f[FRAME_MAX];
	struct sn_ip ip;
	size_t len = mk6frag(f, PROTO_UDP, 0, true, 8);

	for (uint16_t plen = 0; plen < FRAG6; plen++) {
		put16(f + ETH + 4, plen);
		ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_BAD_LEN);
		ck_assert_uint_eq(ip.proto, PROTO_FRAG6);
		ck_assert(!ip.frag);
		ck_assert_uint_eq(ip.hlen, IP6);
	}
	put16(f + ETH + 4, FRAG6);
	for (size_t l = ETH + IP6; l < ETH + IP6 + FRAG6; l++) {
		ck_assert_int_eq(parse_exact(f, l, &ip), SN_IP_BAD_LEN);
		ck_assert_uint_eq(ip.proto, PROTO_FRAG6);
		ck_assert(!ip.frag);
	}
	ck_assert_int_eq(parse_exact(f, ETH + IP6 + FRAG6, &ip), SN_IP_OK);
	ck_assert(ip.frag);
	ck_assert_uint_eq(ip.l4len, 0);
}
END_TEST

/* Other extension headers are not walked: their type is the protocol */
START_TEST(ipv6_other_extensions)
{
	static const uint8_t ext[] = { 0, 43, 50, 51, 60, 135 };
	uint8_t f[FRAME_MAX];
	struct sn_ip ip;
	size_t len = mk6(f, 0, 24);

	for (size_t i = 0; i < G_N_ELEMENTS(ext); i++) {
		f[ETH + 6] = ext[i];
		f[ETH + IP6] = PROTO_TCP; /* its next header */
		ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_OK);
		ck_assert_uint_eq(ip.proto, ext[i]);
		ck_assert_uint_eq(ip.hlen, IP6);
		ck_assert(!ip.frag);
		ck_assert(!sn_ip_whole(&ip, PROTO_TCP));
	}
}
END_TEST

/* ---- every cut ---- */

/* cuts() - every frame shorter than @f's @len bytes: never OK, nothing
 * it points at past the cut */
static void cuts(const uint8_t *f, size_t len)
{
	struct sn_ip ip;

	ck_assert_int_eq(parse_exact(f, len, &ip), SN_IP_OK);
	for (size_t l = 0; l < len; l++) {
		ck_assert_int_ne(parse_exact(f, l, &ip), SN_IP_OK);
		if (ip.verdict == SN_IP_NOT_IP)
			continue;
		ck_assert(ip.hdr + (ip.af == AF_INET ? IP4 : IP6) <= f + l);
		ck_assert(ip.daddr + (ip.af == AF_INET ? 4 : 16) <= f + l);
	}
}

START_TEST(every_cut)
{
	uint8_t f[FRAME_MAX];

	cuts(f, mk4(f, PROTO_TCP, 0, 30));
	cuts(f, mk4(f, PROTO_UDP, 12, 9));
	cuts(f, mk6(f, PROTO_UDP, 30));
	cuts(f, mk6frag(f, PROTO_UDP, 16, true, 24));
}
END_TEST

static Suite *ipparse_suite(void)
{
	Suite *s = suite_create("ipparse");
	TCase *tc = tcase_create("well-formed");

	tcase_add_test(tc, ipv4_fields);
	tcase_add_test(tc, ipv4_options);
	tcase_add_test(tc, ipv6_fields);
	tcase_add_test(tc, padding_ignored);
	tcase_add_test(tc, empty_payload);
	suite_add_tcase(s, tc);

	tc = tcase_create("not IP");
	tcase_add_test(tc, short_ethernet);
	tcase_add_test(tc, short_ip_headers);
	tcase_add_test(tc, other_ethertypes);
	tcase_add_test(tc, vlan_not_read);
	tcase_add_test(tc, version_not_ethertype);
	suite_add_tcase(s, tc);

	tc = tcase_create("IPv4");
	tcase_add_test(tc, ihl_below_5);
	tcase_add_test(tc, ihl_past_frame);
	tcase_add_test(tc, total_length);
	tcase_add_test(tc, ipv4_fragments);
	suite_add_tcase(s, tc);

	tc = tcase_create("IPv6");
	tcase_add_test(tc, payload_length);
	tcase_add_test(tc, ipv6_fragments);
	tcase_add_test(tc, ipv6_fragment_header_bounds);
	tcase_add_test(tc, ipv6_other_extensions);
	suite_add_tcase(s, tc);

	tc = tcase_create("cuts");
	tcase_add_test(tc, every_cut);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return sn_ck_run(ipparse_suite(), CK_NORMAL);
}
