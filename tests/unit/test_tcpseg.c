/* test_tcpseg.c - unit tests for src/tcpseg.c: sequence arithmetic, frames
 * from the guest parsed and bounds-checked, trimming, frames to it built. */
#include <check.h>
#include <glib.h>
#include <string.h>
#include <sys/socket.h>

#include "ckrun.h"
#include "refsum.h"
#include "tcpseg.h"

#define ETH	  14
#define IP4	  20
#define IP6	  40
#define TCP	  20
#define PROTO_TCP 6
#define BIG	  (ETH + IP6 + 65535 + 64)

static const uint8_t gw_mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };
static const uint8_t guest_mac[6] = { 0x02, 0x00, 0x0a, 0x00, 0x02, 0x64 };
static const uint8_t guest4[4] = { 10, 0, 2, 100 };
static const uint8_t remote4[4] = { 192, 0, 2, 7 };
static const uint8_t guest6[16] = { 0xfd, 0, [14] = 0x01, [15] = 0x00 };
static const uint8_t remote6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x07 };

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* What a test frame from the guest holds; mkframe() fills the rest. */
struct spec {
	int af;
	uint8_t flags;
	const uint8_t *opt; /* TCP options, a multiple of 4 bytes */
	size_t optlen;
	size_t dlen; /* data: bytes 0, 1, 2, ... */
};

/*
 * mkframe() - a well-formed frame from the guest (40000 -> 80, seq
 * 0x01020304, ack 0x0a0b0c0d, window 0x7654) in @f
 *
 * Return: its length; the TCP header is at mk_th()
 */
static size_t mkframe(uint8_t *f, const struct spec *s)
{
	size_t iph = s->af == AF_INET ? IP4 : IP6, i;
	size_t tcplen = TCP + s->optlen + s->dlen;
	uint8_t *ip = f + ETH, *th = ip + iph;

	memset(f, 0, ETH + iph + TCP);
	memcpy(f, gw_mac, 6);
	memcpy(f + 6, guest_mac, 6);
	if (s->af == AF_INET) {
		put16(f + 12, 0x0800);
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(IP4 + tcplen));
		ip[6] = 0x40; /* DF */
		ip[8] = 64;
		ip[9] = PROTO_TCP;
		memcpy(ip + 12, guest4, 4);
		memcpy(ip + 16, remote4, 4);
	} else {
		put16(f + 12, 0x86dd);
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)tcplen);
		ip[6] = PROTO_TCP;
		ip[7] = 64;
		memcpy(ip + 8, guest6, 16);
		memcpy(ip + 24, remote6, 16);
	}
	put16(th, 40000);
	put16(th + 2, 80);
	put32(th + 4, 0x01020304);
	put32(th + 8, 0x0a0b0c0d);
	th[12] = (uint8_t)(((TCP + s->optlen) / 4) << 4);
	th[13] = s->flags;
	put16(th + 14, 0x7654);
	if (s->optlen)
		memcpy(th + TCP, s->opt, s->optlen);
	for (i = 0; i < s->dlen; i++)
		th[TCP + s->optlen + i] = (uint8_t)i;
	return ETH + iph + tcplen;
}

static uint8_t *mk_th(uint8_t *f, int af)
{
	return f + ETH + (af == AF_INET ? IP4 : IP6);
}

/* parse_exact() - parse a copy of @len bytes of @f in a buffer of exactly
 * that size, so that a read past it is caught (ASan, valgrind) */
static enum sn_tcpseg_verdict parse_exact(const uint8_t *f, size_t len,
					  struct sn_tcpseg *seg)
{
	g_autofree uint8_t *copy = g_memdup2(f, len ? len : 1);
	struct sn_ip ip;
	enum sn_tcpseg_verdict v;

	sn_ip_parse(copy, len, &ip);
	v = sn_tcpseg_parse(&ip, seg);

	if (v == SN_TCPSEG_OK) /* data points into the copy: rebase it */
		seg->data = f + (seg->data - copy);
	return v;
}

/* ---- sequence arithmetic ---- */

START_TEST(seq_compare_wraps)
{
	ck_assert(sn_seq_lt(1, 2));
	ck_assert(!sn_seq_lt(2, 1));
	ck_assert(!sn_seq_lt(5, 5));
	ck_assert(sn_seq_le(5, 5));
	ck_assert(sn_seq_le(4, 5));
	ck_assert(!sn_seq_le(6, 5));
	/* across 2^32 */
	ck_assert(sn_seq_lt(0xffffffffu, 0));
	ck_assert(!sn_seq_lt(0, 0xffffffffu));
	ck_assert(sn_seq_lt(0xfffffff0u, 0x10));
	ck_assert(sn_seq_le(0xfffffff0u, 0x10));
	ck_assert(!sn_seq_le(0x10, 0xfffffff0u));
	ck_assert(sn_seq_le(0xffffffffu, 0xffffffffu));
	/* up to 2^31 - 1 ahead is ahead */
	ck_assert(sn_seq_lt(0, 0x7fffffffu));
	ck_assert(sn_seq_lt(0x80000001u, 0));
	ck_assert(!sn_seq_lt(0x7fffffffu, 0));
	ck_assert(sn_seq_lt(0x90000000u, 0x10000000u));
}
END_TEST

/* ---- parsing ---- */

START_TEST(parse_ipv4_fields)
{
	uint8_t f[256];
	struct spec s = { .af = AF_INET,
			  .flags = SN_TH_ACK | SN_TH_PSH,
			  .dlen = 33 };
	size_t len = mkframe(f, &s);
	struct sn_tcpseg seg;

	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_OK);
	ck_assert_int_eq(seg.af, AF_INET);
	ck_assert_mem_eq(seg.saddr, guest4, 4);
	ck_assert_mem_eq(seg.daddr, remote4, 4);
	ck_assert_mem_eq(seg.smac, guest_mac, 6);
	ck_assert_mem_eq(seg.dmac, gw_mac, 6);
	ck_assert_uint_eq(seg.sport, 40000);
	ck_assert_uint_eq(seg.dport, 80);
	ck_assert_uint_eq(seg.seq, 0x01020304);
	ck_assert_uint_eq(seg.ack, 0x0a0b0c0d);
	ck_assert_uint_eq(seg.flags, SN_TH_ACK | SN_TH_PSH);
	ck_assert_uint_eq(seg.win, 0x7654);
	ck_assert_uint_eq(seg.mss, 0);
	ck_assert_int_eq(seg.ws, -1);
	ck_assert_uint_eq(seg.dlen, 33);
	ck_assert_ptr_eq(seg.data, f + ETH + IP4 + TCP);
}
END_TEST

START_TEST(parse_ipv6_fields)
{
	uint8_t f[256];
	struct spec s = { .af = AF_INET6, .flags = SN_TH_FIN, .dlen = 7 };
	size_t len = mkframe(f, &s);
	struct sn_tcpseg seg;

	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_OK);
	ck_assert_int_eq(seg.af, AF_INET6);
	ck_assert_mem_eq(seg.saddr, guest6, 16);
	ck_assert_mem_eq(seg.daddr, remote6, 16);
	ck_assert_mem_eq(seg.smac, guest_mac, 6);
	ck_assert_mem_eq(seg.dmac, gw_mac, 6);
	ck_assert_uint_eq(seg.sport, 40000);
	ck_assert_uint_eq(seg.dport, 80);
	ck_assert_uint_eq(seg.seq, 0x01020304);
	ck_assert_uint_eq(seg.ack, 0x0a0b0c0d);
	ck_assert_uint_eq(seg.flags, SN_TH_FIN);
	ck_assert_uint_eq(seg.win, 0x7654);
	ck_assert_uint_eq(seg.dlen, 7);
	ck_assert_ptr_eq(seg.data, f + ETH + IP6 + TCP);
	ck_assert_uint_eq(seg.data[6], 6);
}
END_TEST

/* parse_opts() - the MSS and window scale that @opt gives a SYN (in both
 * address families, which must agree) */
static void parse_opts(const uint8_t *opt, size_t optlen, uint8_t flags,
		       uint16_t *mss, int *ws)
{
	uint8_t f[256];
	struct spec s = { .af = AF_INET,
			  .flags = flags,
			  .opt = opt,
			  .optlen = optlen,
			  .dlen = 3 };
	struct sn_tcpseg seg;
	size_t len = mkframe(f, &s);

	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_OK);
	/* options are never data */
	ck_assert_uint_eq(seg.dlen, 3);
	ck_assert_ptr_eq(seg.data, f + ETH + IP4 + TCP + optlen);
	*mss = seg.mss;
	*ws = seg.ws;
	s.af = AF_INET6;
	len = mkframe(f, &s);
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_OK);
	ck_assert_uint_eq(seg.mss, *mss);
	ck_assert_int_eq(seg.ws, *ws);
	ck_assert_uint_eq(seg.dlen, 3);
}

START_TEST(parse_syn_options)
{
	/* Linux's SYN: MSS, SACK permitted, timestamps, NOP, window scale */
	static const uint8_t linux_syn[] = { 2,	 4, 0x05, 0xb4, 4, 2, 8,
					     10, 1, 2,	  3,	4, 5, 6,
					     7,	 8, 1,	  3,	3, 7 };
	static const uint8_t mss_only[] = { 2, 4, 0xff, 0xd7 };
	static const uint8_t ws_only[] = { 1, 3, 3, 0 };
	static const uint8_t nops[] = { 1, 1, 1, 1, 1, 1, 1, 1 };
	uint16_t mss;
	int ws;

	parse_opts(linux_syn, sizeof(linux_syn), SN_TH_SYN, &mss, &ws);
	ck_assert_uint_eq(mss, 1460);
	ck_assert_int_eq(ws, 7);
	parse_opts(linux_syn, sizeof(linux_syn), SN_TH_SYN | SN_TH_ACK, &mss,
		   &ws);
	ck_assert_uint_eq(mss, 1460);
	ck_assert_int_eq(ws, 7);
	parse_opts(mss_only, sizeof(mss_only), SN_TH_SYN, &mss, &ws);
	ck_assert_uint_eq(mss, 65495);
	ck_assert_int_eq(ws, -1);
	parse_opts(ws_only, sizeof(ws_only), SN_TH_SYN, &mss, &ws);
	ck_assert_uint_eq(mss, 0);
	ck_assert_int_eq(ws, 0);
	parse_opts(nops, sizeof(nops), SN_TH_SYN, &mss, &ws);
	ck_assert_uint_eq(mss, 0);
	ck_assert_int_eq(ws, -1);
	/* a segment without SYN: its options are not read */
	parse_opts(linux_syn, sizeof(linux_syn), SN_TH_ACK, &mss, &ws);
	ck_assert_uint_eq(mss, 0);
	ck_assert_int_eq(ws, -1);
}
END_TEST

START_TEST(parse_ws_clamped)
{
	uint8_t opt[] = { 1, 3, 3, 0 };
	static const uint8_t shifts[][2] = {
		{ 13, 13 }, { 14, 14 }, { 15, 14 }, { 16, 14 }, { 255, 14 }
	};
	uint16_t mss;
	size_t i;
	int ws;

	for (i = 0; i < G_N_ELEMENTS(shifts); i++) {
		opt[3] = shifts[i][0];
		parse_opts(opt, sizeof(opt), SN_TH_SYN, &mss, &ws);
		ck_assert_int_eq(ws, shifts[i][1]);
		ck_assert_int_le(ws, SN_TCP_WS_MAX);
	}
}
END_TEST

START_TEST(parse_bad_options)
{
	/* each ends the list before the window scale that follows it */
	static const uint8_t len0[] = { 5, 0, 1, 1, 1, 3, 3, 7 };
	static const uint8_t len1[] = { 5, 1, 1, 1, 1, 3, 3, 7 };
	static const uint8_t eol[] = { 0, 1, 1, 1, 1, 3, 3, 7 };
	static const uint8_t past_end[] = { 1, 1, 1, 3, 3,  7, 1, 1,
					    1, 1, 1, 2, 40, 0, 0, 0 };
	/* the MSS cut by the header's end: kind and length in, value out */
	static const uint8_t mss_cut[] = { 1, 1, 2, 4 };
	/* a kind in the last byte, no room for its length */
	static const uint8_t kind_last[] = { 1, 1, 1, 2 };
	/* wrong lengths for MSS and window scale: skipped, not taken */
	static const uint8_t wrong_len[] = { 2, 5, 5, 0xb4, 0, 3, 4, 9,
					     0, 1, 3, 3,    5, 1, 1, 1 };
	/* an unknown option and a MSS after it */
	static const uint8_t unknown[] = {
		30, 6, 1, 2, 3, 4, 2, 4, 2, 0, 1, 1
	};
	uint16_t mss;
	int ws;

	parse_opts(len0, sizeof(len0), SN_TH_SYN, &mss, &ws);
	ck_assert_int_eq(ws, -1);
	parse_opts(len1, sizeof(len1), SN_TH_SYN, &mss, &ws);
	ck_assert_int_eq(ws, -1);
	parse_opts(eol, sizeof(eol), SN_TH_SYN, &mss, &ws);
	ck_assert_int_eq(ws, -1);
	/* the WS before it counts; the option claiming 40 bytes does not */
	parse_opts(past_end, sizeof(past_end), SN_TH_SYN, &mss, &ws);
	ck_assert_int_eq(ws, 7);
	ck_assert_uint_eq(mss, 0);
	parse_opts(mss_cut, sizeof(mss_cut), SN_TH_SYN, &mss, &ws);
	ck_assert_uint_eq(mss, 0);
	ck_assert_int_eq(ws, -1);
	parse_opts(kind_last, sizeof(kind_last), SN_TH_SYN, &mss, &ws);
	ck_assert_uint_eq(mss, 0);
	ck_assert_int_eq(ws, -1);
	parse_opts(wrong_len, sizeof(wrong_len), SN_TH_SYN, &mss, &ws);
	ck_assert_uint_eq(mss, 0);
	ck_assert_int_eq(ws, 5);
	parse_opts(unknown, sizeof(unknown), SN_TH_SYN, &mss, &ws);
	ck_assert_uint_eq(mss, 512);
	ck_assert_int_eq(ws, -1);
}
END_TEST

/* The options of a SYN whose data offset leaves the last one outside the
 * header, inside the data: the option is not read. */
START_TEST(parse_options_end_at_data_offset)
{
	static const uint8_t opt[] = { 1, 1, 1, 1, 1, 3, 3, 9 };
	uint8_t f[256];
	struct spec s = {
		.af = AF_INET, .flags = SN_TH_SYN, .opt = opt, .optlen = 8
	};
	struct sn_tcpseg seg;
	size_t len = mkframe(f, &s);

	mk_th(f, AF_INET)[12] = 6 << 4; /* the header ends after the NOPs */
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_OK);
	ck_assert_int_eq(seg.ws, -1);
	ck_assert_uint_eq(seg.dlen, 4);
}
END_TEST

START_TEST(parse_short_frames)
{
	uint8_t f[256];
	struct spec s = { .af = AF_INET, .flags = SN_TH_ACK };
	struct sn_tcpseg seg;
	size_t len, i;

	/* shorter than Ethernet */
	for (i = 0; i < ETH; i++)
		ck_assert_int_eq(parse_exact(f, i, &seg), SN_TCPSEG_NOT_TCP);
	/* Ethernet, and less than an IPv4 header / an IPv6 header */
	mkframe(f, &s);
	for (i = ETH; i < ETH + IP4; i++)
		ck_assert_int_eq(parse_exact(f, i, &seg), SN_TCPSEG_NOT_TCP);
	s.af = AF_INET6;
	mkframe(f, &s);
	for (i = ETH; i < ETH + IP6; i++)
		ck_assert_int_eq(parse_exact(f, i, &seg), SN_TCPSEG_NOT_TCP);
	/* every cut of a frame with options and data: never OK, never a
	 * read past the cut */
	for (s.af = AF_INET; s.af; s.af = s.af == AF_INET ? AF_INET6 : 0) {
		static const uint8_t opt[] = { 2, 4, 5, 0xb4, 1, 3, 3, 7 };

		s.flags = SN_TH_SYN;
		s.opt = opt;
		s.optlen = sizeof(opt);
		s.dlen = 10;
		len = mkframe(f, &s);
		for (i = 0; i < len; i++)
			ck_assert_int_ne(parse_exact(f, i, &seg), SN_TCPSEG_OK);
		ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_OK);
		ck_assert_uint_eq(seg.mss, 1460);
	}
}
END_TEST

START_TEST(parse_ipv4_bounds)
{
	uint8_t f[256], *ip = f + ETH;
	struct spec s = { .af = AF_INET, .flags = SN_TH_ACK, .dlen = 8 };
	struct sn_tcpseg seg;
	size_t len = mkframe(f, &s);
	unsigned int ihl;

	/* header length below 20 */
	for (ihl = 0; ihl < 5; ihl++) {
		ip[0] = (uint8_t)(0x40 | ihl);
		ck_assert_int_eq(parse_exact(f, len, &seg),
				 SN_TCPSEG_MALFORMED);
	}
	/* header length past the total length */
	ip[0] = 0x4f; /* 60 bytes; total length 48 */
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_MALFORMED);
	/* header length within, but no room for TCP's 20 bytes after it */
	ip[0] = 0x48; /* 32 bytes, 16 left of 48 */
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_MALFORMED);
	ip[0] = 0x45;
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_OK);
	/* total length past the frame */
	put16(ip + 2, (uint16_t)(len - ETH + 1));
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_MALFORMED);
	put16(ip + 2, 0xffff);
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_MALFORMED);
	/* total length shorter than a TCP header */
	put16(ip + 2, IP4 + TCP - 1);
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_MALFORMED);
	put16(ip + 2, 0);
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_MALFORMED);
	/* exactly a header: no data */
	put16(ip + 2, IP4 + TCP);
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_OK);
	ck_assert_uint_eq(seg.dlen, 0);
}
END_TEST

/* IP options: the TCP header follows them */
START_TEST(parse_ipv4_options)
{
	uint8_t f[256], g[256];
	struct spec s = { .af = AF_INET, .flags = SN_TH_ACK, .dlen = 8 };
	size_t len = mkframe(f, &s);
	struct sn_tcpseg seg;

	memcpy(g, f, ETH + IP4);
	memset(g + ETH + IP4, 1, 8); /* two words of NOP options */
	memcpy(g + ETH + IP4 + 8, f + ETH + IP4, len - ETH - IP4);
	g[ETH] = 0x47;
	put16(g + ETH + 2, (uint16_t)(len - ETH + 8));
	ck_assert_int_eq(parse_exact(g, len + 8, &seg), SN_TCPSEG_OK);
	ck_assert_uint_eq(seg.sport, 40000);
	ck_assert_uint_eq(seg.seq, 0x01020304);
	ck_assert_uint_eq(seg.dlen, 8);
	ck_assert_ptr_eq(seg.data, g + ETH + IP4 + 8 + TCP);
}
END_TEST

START_TEST(parse_tcp_data_offset)
{
	uint8_t f[256], *th;
	struct spec s = { .af = AF_INET, .flags = SN_TH_ACK, .dlen = 8 };
	struct sn_tcpseg seg;
	size_t len;
	unsigned int doff;
	int af;

	for (af = AF_INET; af; af = af == AF_INET ? AF_INET6 : 0) {
		s.af = af;
		len = mkframe(f, &s);
		th = mk_th(f, af);
		for (doff = 0; doff < 5; doff++) {
			th[12] = (uint8_t)(doff << 4);
			ck_assert_int_eq(parse_exact(f, len, &seg),
					 SN_TCPSEG_MALFORMED);
		}
		/* 28 bytes of segment: 7 words fit, 8 do not */
		th[12] = 7 << 4;
		ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_OK);
		ck_assert_uint_eq(seg.dlen, 0);
		th[12] = 8 << 4;
		ck_assert_int_eq(parse_exact(f, len, &seg),
				 SN_TCPSEG_MALFORMED);
		th[12] = 15 << 4;
		ck_assert_int_eq(parse_exact(f, len, &seg),
				 SN_TCPSEG_MALFORMED);
		/* the low bits of the byte are reserved: ignored */
		th[12] = 5 << 4 | 0x0f;
		ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_OK);
		ck_assert_uint_eq(seg.dlen, 8);
	}
}
END_TEST

START_TEST(parse_ipv6_bounds)
{
	uint8_t f[256], *ip = f + ETH;
	struct spec s = { .af = AF_INET6, .flags = SN_TH_ACK, .dlen = 8 };
	struct sn_tcpseg seg;
	size_t len = mkframe(f, &s);

	/* payload length past the frame */
	put16(ip + 4, (uint16_t)(len - ETH - IP6 + 1));
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_MALFORMED);
	put16(ip + 4, 0xffff);
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_MALFORMED);
	/* shorter than a TCP header */
	put16(ip + 4, TCP - 1);
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_MALFORMED);
	put16(ip + 4, 0);
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_MALFORMED);
	put16(ip + 4, TCP);
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_OK);
	ck_assert_uint_eq(seg.dlen, 0);
	/* an IPv6 header without its full 40 bytes */
	ck_assert_int_eq(parse_exact(f, ETH + IP6 - 1, &seg),
			 SN_TCPSEG_NOT_TCP);
}
END_TEST

START_TEST(parse_not_tcp)
{
	static const uint8_t ext6[] = { 0, 43, 44, 50, 51, 60, 135, 17, 58 };
	uint8_t f[256], *ip = f + ETH;
	struct spec s = { .af = AF_INET, .flags = SN_TH_ACK, .dlen = 8 };
	struct sn_tcpseg seg;
	size_t len = mkframe(f, &s), i;

	/* other EtherTypes: ARP, VLAN */
	put16(f + 12, 0x0806);
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_NOT_TCP);
	put16(f + 12, 0x8100);
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_NOT_TCP);
	put16(f + 12, 0x0800);
	/* UDP, ICMP */
	ip[9] = 17;
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_NOT_TCP);
	ip[9] = 1;
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_NOT_TCP);
	ip[9] = PROTO_TCP;
	/* not version 4 in an IPv4 frame */
	ip[0] = 0x65;
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_NOT_TCP);
	ip[0] = 0x45;
	/* fragments: more fragments, an offset, both; DF alone is not one */
	put16(ip + 6, 0x2000);
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_NOT_TCP);
	put16(ip + 6, 0x0001);
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_NOT_TCP);
	put16(ip + 6, 0x1fff);
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_NOT_TCP);
	put16(ip + 6, 0x6001);
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_NOT_TCP);
	put16(ip + 6, 0x4000);
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_OK);
	/* a fragment is not TCP even when its lengths are nonsense */
	put16(ip + 6, 0x2000);
	put16(ip + 2, 0xffff);
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_NOT_TCP);

	/* IPv6: extension headers and other next headers */
	s.af = AF_INET6;
	len = mkframe(f, &s);
	for (i = 0; i < G_N_ELEMENTS(ext6); i++) {
		ip[6] = ext6[i];
		ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_NOT_TCP);
	}
	ip[6] = PROTO_TCP;
	ip[0] = 0x40;
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_NOT_TCP);
	ip[0] = 0x60;
	ck_assert_int_eq(parse_exact(f, len, &seg), SN_TCPSEG_OK);
}
END_TEST

START_TEST(parse_ignores_padding)
{
	uint8_t f[256];
	struct spec s = { .af = AF_INET, .flags = SN_TH_ACK, .dlen = 0 };
	struct sn_tcpseg seg;
	size_t len;
	int af;

	/* a bare ACK is 54 bytes: Ethernet pads it to 60 (and some NICs
	 * and bridges pad further) */
	for (af = AF_INET; af; af = af == AF_INET ? AF_INET6 : 0) {
		s.af = af;
		len = mkframe(f, &s);
		memset(f + len, 0xee, 40);
		ck_assert_int_eq(parse_exact(f, len + 6, &seg), SN_TCPSEG_OK);
		ck_assert_uint_eq(seg.dlen, 0);
		ck_assert_int_eq(parse_exact(f, len + 40, &seg), SN_TCPSEG_OK);
		ck_assert_uint_eq(seg.dlen, 0);
		s.dlen = 5;
		len = mkframe(f, &s);
		memset(f + len, 0xee, 40);
		ck_assert_int_eq(parse_exact(f, len + 40, &seg), SN_TCPSEG_OK);
		ck_assert_uint_eq(seg.dlen, 5);
		ck_assert_uint_eq(seg.data[4], 4);
		s.dlen = 0;
	}
}
END_TEST

/* ---- trimming ---- */

/* seg_of() - a segment at @seq with @dlen bytes (data at @buf), @flags */
static struct sn_tcpseg seg_of(const uint8_t *buf, uint32_t seq, size_t dlen,
			       uint8_t flags)
{
	return (struct sn_tcpseg){ .af = AF_INET,
				   .seq = seq,
				   .flags = (uint8_t)(flags | SN_TH_ACK),
				   .data = buf,
				   .dlen = dlen,
				   .ws = -1 };
}

START_TEST(trim_in_order)
{
	uint8_t buf[100];
	struct sn_tcpseg seg = seg_of(buf, 1000, 100, 0);

	ck_assert_int_eq(sn_tcpseg_trim(&seg, 1000, 65535), SN_TCPSEG_NEW);
	ck_assert_uint_eq(seg.seq, 1000);
	ck_assert_ptr_eq(seg.data, buf);
	ck_assert_uint_eq(seg.dlen, 100);
	ck_assert_uint_eq(seg.flags, SN_TH_ACK);
}
END_TEST

START_TEST(trim_old)
{
	uint8_t buf[100];
	struct sn_tcpseg seg;

	/* all of it received before */
	seg = seg_of(buf, 900, 100, 0);
	ck_assert_int_eq(sn_tcpseg_trim(&seg, 1000, 65535), SN_TCPSEG_OLD);
	seg = seg_of(buf, 500, 100, 0);
	ck_assert_int_eq(sn_tcpseg_trim(&seg, 1000, 65535), SN_TCPSEG_OLD);
	/* a bare ACK, a keep-alive probe (one byte before) */
	seg = seg_of(buf, 1000, 0, 0);
	ck_assert_int_eq(sn_tcpseg_trim(&seg, 1000, 65535), SN_TCPSEG_OLD);
	seg = seg_of(buf, 999, 0, 0);
	ck_assert_int_eq(sn_tcpseg_trim(&seg, 1000, 65535), SN_TCPSEG_OLD);
	seg = seg_of(buf, 999, 1, 0);
	ck_assert_int_eq(sn_tcpseg_trim(&seg, 1000, 65535), SN_TCPSEG_OLD);
	/* data and FIN, both received before */
	seg = seg_of(buf, 899, 100, SN_TH_FIN);
	ck_assert_int_eq(sn_tcpseg_trim(&seg, 1000, 65535), SN_TCPSEG_OLD);
}
END_TEST

START_TEST(trim_future)
{
	uint8_t buf[100];
	struct sn_tcpseg seg = seg_of(buf, 1001, 100, 0);

	ck_assert_int_eq(sn_tcpseg_trim(&seg, 1000, 65535), SN_TCPSEG_FUTURE);
	seg = seg_of(buf, 1001, 0, SN_TH_FIN);
	ck_assert_int_eq(sn_tcpseg_trim(&seg, 1000, 65535), SN_TCPSEG_FUTURE);
	seg = seg_of(buf, 1000u + 0x7fffffffu, 100, 0);
	ck_assert_int_eq(sn_tcpseg_trim(&seg, 1000, 65535), SN_TCPSEG_FUTURE);
	ck_assert_uint_eq(seg.dlen, 100);
}
END_TEST

START_TEST(trim_overlap_front)
{
	uint8_t buf[100];
	struct sn_tcpseg seg = seg_of(buf, 970, 100, SN_TH_PSH);

	ck_assert_int_eq(sn_tcpseg_trim(&seg, 1000, 65535), SN_TCPSEG_NEW);
	ck_assert_uint_eq(seg.seq, 1000);
	ck_assert_ptr_eq(seg.data, buf + 30);
	ck_assert_uint_eq(seg.dlen, 70);
	ck_assert_uint_eq(seg.flags, SN_TH_ACK | SN_TH_PSH);
	/* one new byte */
	seg = seg_of(buf, 901, 100, 0);
	ck_assert_int_eq(sn_tcpseg_trim(&seg, 1000, 65535), SN_TCPSEG_NEW);
	ck_assert_ptr_eq(seg.data, buf + 99);
	ck_assert_uint_eq(seg.dlen, 1);
}
END_TEST

START_TEST(trim_window_tail)
{
	uint8_t buf[100];
	struct sn_tcpseg seg = seg_of(buf, 1000, 100, 0);

	ck_assert_int_eq(sn_tcpseg_trim(&seg, 1000, 40), SN_TCPSEG_NEW);
	ck_assert_ptr_eq(seg.data, buf);
	ck_assert_uint_eq(seg.dlen, 40);
	/* the FIN past the window goes with the data cut */
	seg = seg_of(buf, 1000, 100, SN_TH_FIN);
	ck_assert_int_eq(sn_tcpseg_trim(&seg, 1000, 40), SN_TCPSEG_NEW);
	ck_assert_uint_eq(seg.dlen, 40);
	ck_assert_uint_eq(seg.flags & SN_TH_FIN, 0);
	/* both ends cut */
	seg = seg_of(buf, 950, 100, SN_TH_FIN);
	ck_assert_int_eq(sn_tcpseg_trim(&seg, 1000, 10), SN_TCPSEG_NEW);
	ck_assert_uint_eq(seg.seq, 1000);
	ck_assert_ptr_eq(seg.data, buf + 50);
	ck_assert_uint_eq(seg.dlen, 10);
	ck_assert_uint_eq(seg.flags & SN_TH_FIN, 0);
	/* a closed window takes nothing: the segment is old news */
	seg = seg_of(buf, 1000, 100, SN_TH_FIN);
	ck_assert_int_eq(sn_tcpseg_trim(&seg, 1000, 0), SN_TCPSEG_OLD);
	/* data within the window keeps its FIN */
	seg = seg_of(buf, 1000, 100, SN_TH_FIN);
	ck_assert_int_eq(sn_tcpseg_trim(&seg, 1000, 101), SN_TCPSEG_NEW);
	ck_assert_uint_eq(seg.dlen, 100);
	ck_assert_uint_eq(seg.flags & SN_TH_FIN, SN_TH_FIN);
}
END_TEST

START_TEST(trim_fin_only)
{
	uint8_t buf[100];
	struct sn_tcpseg seg = seg_of(buf, 1000, 0, SN_TH_FIN);

	ck_assert_int_eq(sn_tcpseg_trim(&seg, 1000, 65535), SN_TCPSEG_NEW);
	ck_assert_uint_eq(seg.dlen, 0);
	ck_assert_uint_eq(seg.flags & SN_TH_FIN, SN_TH_FIN);
	/* the FIN again, once received */
	seg = seg_of(buf, 1000, 0, SN_TH_FIN);
	ck_assert_int_eq(sn_tcpseg_trim(&seg, 1001, 65535), SN_TCPSEG_OLD);
	/* data received before, its FIN not: the FIN alone is new */
	seg = seg_of(buf, 900, 100, SN_TH_FIN);
	ck_assert_int_eq(sn_tcpseg_trim(&seg, 1000, 65535), SN_TCPSEG_NEW);
	ck_assert_uint_eq(seg.seq, 1000);
	ck_assert_uint_eq(seg.dlen, 0);
	ck_assert_ptr_eq(seg.data, buf + 100);
	ck_assert_uint_eq(seg.flags & SN_TH_FIN, SN_TH_FIN);
}
END_TEST

START_TEST(trim_wraps)
{
	uint8_t buf[0x40];
	struct sn_tcpseg seg = seg_of(buf, 0xfffffff0u, 0x40, 0);

	/* starts before 2^32, the next byte expected after it */
	ck_assert_int_eq(sn_tcpseg_trim(&seg, 0x10, 65535), SN_TCPSEG_NEW);
	ck_assert_uint_eq(seg.seq, 0x10);
	ck_assert_ptr_eq(seg.data, buf + 0x20);
	ck_assert_uint_eq(seg.dlen, 0x20);
	/* in order, across 2^32 */
	seg = seg_of(buf, 0xffffffe0u, 0x40, SN_TH_FIN);
	ck_assert_int_eq(sn_tcpseg_trim(&seg, 0xffffffe0u, 65535),
			 SN_TCPSEG_NEW);
	ck_assert_uint_eq(seg.dlen, 0x40);
	/* ends at 2^32 exactly: old */
	seg = seg_of(buf, 0xffffffc0u, 0x40, 0);
	ck_assert_int_eq(sn_tcpseg_trim(&seg, 0, 65535), SN_TCPSEG_OLD);
	/* past 2^32 while the receiver is before it: future */
	seg = seg_of(buf, 0x10, 0x40, 0);
	ck_assert_int_eq(sn_tcpseg_trim(&seg, 0xfffffff0u, 65535),
			 SN_TCPSEG_FUTURE);
	/* the window cut across 2^32 */
	seg = seg_of(buf, 0xfffffff8u, 0x40, SN_TH_FIN);
	ck_assert_int_eq(sn_tcpseg_trim(&seg, 0xfffffffcu, 0x10),
			 SN_TCPSEG_NEW);
	ck_assert_uint_eq(seg.seq, 0xfffffffcu);
	ck_assert_ptr_eq(seg.data, buf + 4);
	ck_assert_uint_eq(seg.dlen, 0x10);
	ck_assert_uint_eq(seg.flags & SN_TH_FIN, 0);
}
END_TEST

/* ---- building ---- */

/* guest_seg() - a parsed segment from the guest, for a template */
static struct sn_tcpseg guest_seg(int af)
{
	uint8_t f[256];
	struct spec s = { .af = af, .flags = SN_TH_SYN };
	struct sn_tcpseg seg;
	struct sn_ip ip;

	sn_ip_parse(f, mkframe(f, &s), &ip);
	ck_assert_int_eq(sn_tcpseg_parse(&ip, &seg), SN_TCPSEG_OK);
	seg.data = NULL;
	return seg;
}

/* pseudo() - the pseudo-header's sum (host order, folded) for @tcp_len
 * bytes of TCP in the frame @f, written out the long way */
static uint16_t pseudo(const uint8_t *f, int af, size_t tcp_len)
{
	uint8_t ph[40];

	if (af == AF_INET) {
		memcpy(ph, f + ETH + 12, 8);
		ph[8] = 0;
		ph[9] = PROTO_TCP;
		put16(ph + 10, (uint16_t)tcp_len);
		return ref_sum(ph, 12, 0);
	}
	memcpy(ph, f + ETH + 8, 32);
	put32(ph + 32, (uint32_t)tcp_len);
	memset(ph + 36, 0, 3);
	ph[39] = PROTO_TCP;
	return ref_sum(ph, 40, 0);
}

/* build() - @o as a whole frame in @f (BIG bytes): headers, then data;
 * checks the lengths the IP header gives */
static size_t build(uint8_t *f, int af, const struct sn_tcpseg_out *o,
		    bool full)
{
	struct sn_tcpseg seg = guest_seg(af);
	struct sn_tcpseg_tmpl t;
	size_t hlen;

	sn_tcpseg_tmpl_init(&t, &seg);
	ck_assert_int_eq(t.af, af);
	ck_assert_uint_eq(t.hlen,
			  af == AF_INET ? SN_TCPSEG_HLEN4 : SN_TCPSEG_HLEN6);
	/* the headers are written whatever the buffer held */
	memset(f, 0xa5, SN_TCPSEG_HLEN_MAX);
	hlen = sn_tcpseg_build(f, &t, o, full);
	ck_assert_uint_le(hlen, SN_TCPSEG_HLEN_MAX);
	ck_assert_uint_eq(hlen,
			  t.hlen + ((size_t)(mk_th(f, af)[12] >> 4) * 4 - TCP));
	if (o->dlen)
		memcpy(f + hlen, o->data, o->dlen);
	if (af == AF_INET)
		ck_assert_uint_eq(get16(f + ETH + 2), hlen - ETH + o->dlen);
	else
		ck_assert_uint_eq(get16(f + ETH + 4),
				  hlen - ETH - IP6 + o->dlen);
	return hlen + o->dlen;
}

START_TEST(build_swaps_ends)
{
	g_autofree uint8_t *f = g_malloc(BIG);
	static const uint8_t data[] = { 'h', 'e', 'l', 'l', 'o' };
	struct sn_tcpseg_out o = { .seq = 0xdeadbeef,
				   .ack = 0x01020305,
				   .flags = SN_TH_ACK | SN_TH_PSH,
				   .win = 0x1234,
				   .ws = -1,
				   .data = data,
				   .dlen = sizeof(data) };
	struct sn_tcpseg back;
	size_t len;
	int af;

	for (af = AF_INET; af; af = af == AF_INET ? AF_INET6 : 0) {
		len = build(f, af, &o, true);
		/* what the engine sends parses as a segment to the guest */
		ck_assert_int_eq(parse_exact(f, len, &back), SN_TCPSEG_OK);
		ck_assert_int_eq(back.af, af);
		ck_assert_mem_eq(back.dmac, guest_mac, 6);
		ck_assert_mem_eq(back.smac, gw_mac, 6);
		if (af == AF_INET) {
			ck_assert_mem_eq(back.saddr, remote4, 4);
			ck_assert_mem_eq(back.daddr, guest4, 4);
			ck_assert_uint_eq(f[ETH], 0x45);
			ck_assert_uint_eq(f[ETH + 8], 64); /* TTL */
			ck_assert_uint_eq(f[ETH + 9], PROTO_TCP);
			/* DF, not a fragment */
			ck_assert_uint_eq(get16(f + ETH + 6), 0x4000);
		} else {
			ck_assert_mem_eq(back.saddr, remote6, 16);
			ck_assert_mem_eq(back.daddr, guest6, 16);
			ck_assert_uint_eq(f[ETH] >> 4, 6);
			ck_assert_uint_eq(f[ETH + 6], PROTO_TCP);
			ck_assert_uint_eq(f[ETH + 7], 64); /* hop limit */
		}
		ck_assert_uint_eq(back.sport, 80);
		ck_assert_uint_eq(back.dport, 40000);
		ck_assert_uint_eq(back.seq, 0xdeadbeef);
		ck_assert_uint_eq(back.ack, 0x01020305);
		ck_assert_uint_eq(back.flags, SN_TH_ACK | SN_TH_PSH);
		ck_assert_uint_eq(back.win, 0x1234);
		ck_assert_uint_eq(back.dlen, sizeof(data));
		ck_assert_mem_eq(back.data, data, sizeof(data));
		/* no options: data offset 5; urgent pointer 0 */
		ck_assert_uint_eq(mk_th(f, af)[12], 5 << 4);
		ck_assert_uint_eq(get16(mk_th(f, af) + 18), 0);
	}
}
END_TEST

START_TEST(build_ipv4_header_checksum)
{
	g_autofree uint8_t *f = g_malloc(BIG);
	g_autofree uint8_t *data = g_malloc(65535);
	static const size_t lens[] = { 0, 1, 2, 1459, 1460, 65495 };
	struct sn_tcpseg_out o = { .seq = 1, .flags = SN_TH_ACK, .ws = -1 };
	size_t i;

	fill(data, 65535, 7);
	o.data = data;
	for (i = 0; i < G_N_ELEMENTS(lens); i++) {
		o.dlen = lens[i];
		build(f, AF_INET, &o, i & 1);
		ck_assert_uint_eq(ref_sum(f + ETH, IP4, 0), 0xffff);
	}
	ck_assert_uint_eq(get16(f + ETH + 2), 65535);
}
END_TEST

/* check_full() - build segments of many lengths, each with a TCP checksum
 * that verifies over pseudo-header, header and data */
static void check_full(int af)
{
	g_autofree uint8_t *f = g_malloc(BIG);
	g_autofree uint8_t *data = g_malloc(65535);
	size_t max = af == AF_INET ? 65535 - IP4 - TCP : 65535 - TCP;
	static const uint8_t flags[] = { SN_TH_ACK, SN_TH_ACK | SN_TH_PSH,
					 SN_TH_FIN | SN_TH_ACK,
					 SN_TH_RST | SN_TH_ACK };
	struct sn_tcpseg_out o = { .ws = -1 };
	size_t dlen, len, tcp_len;
	unsigned int n = 0;

	fill(data, 65535, 3);
	o.data = data;
	for (dlen = 0; dlen <= max; dlen += dlen < 64 ? 1 : 4999) {
		o.seq = 0xfffff000u + (uint32_t)dlen * 77;
		o.ack = ~o.seq;
		o.flags = flags[n++ % G_N_ELEMENTS(flags)];
		o.win = (uint16_t)(dlen * 13);
		o.dlen = dlen;
		len = build(f, af, &o, true);
		tcp_len = len - ETH - (af == AF_INET ? IP4 : IP6);
		ck_assert_uint_eq(
		    ref_sum(mk_th(f, af), tcp_len, pseudo(f, af, tcp_len)),
		    0xffff);
	}
	/* the largest, and with every byte 0xff (every carry) */
	memset(data, 0xff, max);
	o.dlen = max;
	len = build(f, af, &o, true);
	tcp_len = len - ETH - (af == AF_INET ? IP4 : IP6);
	ck_assert_uint_eq(tcp_len, max + TCP);
	ck_assert_uint_eq(
	    ref_sum(mk_th(f, af), tcp_len, pseudo(f, af, tcp_len)), 0xffff);
	/* a SYN-ACK: the options are in the sum */
	o = (struct sn_tcpseg_out){ .seq = 5,
				    .ack = 6,
				    .flags = SN_TH_SYN | SN_TH_ACK,
				    .win = 65535,
				    .mss = 1460,
				    .ws = 7 };
	len = build(f, af, &o, true);
	tcp_len = len - ETH - (af == AF_INET ? IP4 : IP6);
	ck_assert_uint_eq(tcp_len, TCP + 8);
	ck_assert_uint_eq(
	    ref_sum(mk_th(f, af), tcp_len, pseudo(f, af, tcp_len)), 0xffff);
}

START_TEST(build_full_checksum4)
{
	check_full(AF_INET);
}
END_TEST

START_TEST(build_full_checksum6)
{
	check_full(AF_INET6);
}
END_TEST

/* check_partial() - with the checksum left partial, the field holds the
 * pseudo-header's sum, and completing it as the guest's kernel does (the
 * sum from csum_start to the end, the field as it is, complemented) gives
 * a checksum that verifies */
static void check_partial(int af)
{
	g_autofree uint8_t *f = g_malloc(BIG);
	g_autofree uint8_t *data = g_malloc(65535);
	size_t max = af == AF_INET ? 65535 - IP4 - TCP : 65535 - TCP;
	static const size_t lens[] = {
		0, 1, 2, 3, 535, 1460, 9000, 65495, 65515
	};
	struct sn_tcpseg_out o = { .seq = 0x80000000u,
				   .ack = 0x7fffffffu,
				   .flags = SN_TH_ACK,
				   .win = 502,
				   .ws = -1 };
	size_t i, len, tcp_len;
	uint8_t *th = mk_th(f, af);
	uint16_t c;

	fill(data, 65535, 11);
	o.data = data;
	for (i = 0; i <= G_N_ELEMENTS(lens); i++) {
		if (i == G_N_ELEMENTS(lens)) { /* and a SYN-ACK */
			o.flags = SN_TH_SYN | SN_TH_ACK;
			o.mss = 65495;
			o.ws = 14;
			o.dlen = 0;
		} else if (lens[i] > max) {
			continue;
		} else {
			o.dlen = lens[i];
		}
		len = build(f, af, &o, false);
		tcp_len = len - ETH - (af == AF_INET ? IP4 : IP6);
		ck_assert_uint_eq(get16(th + SN_TCPSEG_CSUM_OFF),
				  pseudo(f, af, tcp_len));
		/* the IPv4 header's checksum is complete either way */
		if (af == AF_INET)
			ck_assert_uint_eq(ref_sum(f + ETH, IP4, 0), 0xffff);
		c = (uint16_t)~ref_sum(th, tcp_len, 0);
		put16(th + SN_TCPSEG_CSUM_OFF, c);
		ck_assert_uint_eq(ref_sum(th, tcp_len, pseudo(f, af, tcp_len)),
				  0xffff);
	}
}

START_TEST(build_partial_checksum4)
{
	check_partial(AF_INET);
}
END_TEST

START_TEST(build_partial_checksum6)
{
	check_partial(AF_INET6);
}
END_TEST

START_TEST(build_syn_options)
{
	static const uint8_t both[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7 };
	g_autofree uint8_t *f = g_malloc(BIG);
	struct sn_tcpseg_out o = { .seq = 1,
				   .ack = 2,
				   .flags = SN_TH_SYN | SN_TH_ACK,
				   .win = 0xfedc,
				   .mss = 1460,
				   .ws = 7 };
	struct sn_tcpseg back;
	size_t len;
	uint8_t *th;
	int af;

	for (af = AF_INET; af; af = af == AF_INET ? AF_INET6 : 0) {
		th = mk_th(f, af);
		o.mss = 1460;
		o.ws = 7;
		o.flags = SN_TH_SYN | SN_TH_ACK;
		len = build(f, af, &o, true);
		ck_assert_uint_eq(th[12], 7 << 4);
		ck_assert_mem_eq(th + TCP, both, sizeof(both));
		ck_assert_int_eq(parse_exact(f, len, &back), SN_TCPSEG_OK);
		ck_assert_uint_eq(back.mss, 1460);
		ck_assert_int_eq(back.ws, 7);
		ck_assert_uint_eq(back.dlen, 0);
		/* the window as given: a SYN's window is never scaled */
		ck_assert_uint_eq(back.win, 0xfedc);
		/* the MSS alone */
		o.ws = -1;
		len = build(f, af, &o, true);
		ck_assert_uint_eq(th[12], 6 << 4);
		ck_assert_mem_eq(th + TCP, both, 4);
		ck_assert_int_eq(parse_exact(f, len, &back), SN_TCPSEG_OK);
		ck_assert_uint_eq(back.mss, 1460);
		ck_assert_int_eq(back.ws, -1);
		/* the window scale alone, 0 included */
		o.mss = 0;
		o.ws = 0;
		len = build(f, af, &o, true);
		ck_assert_uint_eq(th[12], 6 << 4);
		ck_assert_uint_eq(th[TCP], 1);
		ck_assert_uint_eq(th[TCP + 1], 3);
		ck_assert_uint_eq(th[TCP + 2], 3);
		ck_assert_uint_eq(th[TCP + 3], 0);
		ck_assert_int_eq(parse_exact(f, len, &back), SN_TCPSEG_OK);
		ck_assert_uint_eq(back.mss, 0);
		ck_assert_int_eq(back.ws, 0);
		/* neither */
		o.ws = -1;
		build(f, af, &o, true);
		ck_assert_uint_eq(th[12], 5 << 4);
		/* options only on a SYN: an ACK with mss and ws set has none */
		o.flags = SN_TH_ACK;
		o.mss = 1460;
		o.ws = 7;
		len = build(f, af, &o, true);
		ck_assert_uint_eq(th[12], 5 << 4);
		ck_assert_uint_eq(len, af == AF_INET ? SN_TCPSEG_HLEN4
						     : SN_TCPSEG_HLEN6);
		ck_assert_uint_eq(get16(th + 14), 0xfedc);
	}
}
END_TEST

static Suite *tcpseg_suite(void)
{
	Suite *s = suite_create("tcpseg");
	TCase *tc = tcase_create("seq");

	tcase_add_test(tc, seq_compare_wraps);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_test(tc, parse_ipv4_fields);
	tcase_add_test(tc, parse_ipv6_fields);
	tcase_add_test(tc, parse_syn_options);
	tcase_add_test(tc, parse_ws_clamped);
	tcase_add_test(tc, parse_bad_options);
	tcase_add_test(tc, parse_options_end_at_data_offset);
	tcase_add_test(tc, parse_short_frames);
	tcase_add_test(tc, parse_ipv4_bounds);
	tcase_add_test(tc, parse_ipv4_options);
	tcase_add_test(tc, parse_tcp_data_offset);
	tcase_add_test(tc, parse_ipv6_bounds);
	tcase_add_test(tc, parse_not_tcp);
	tcase_add_test(tc, parse_ignores_padding);
	suite_add_tcase(s, tc);

	tc = tcase_create("trim");
	tcase_add_test(tc, trim_in_order);
	tcase_add_test(tc, trim_old);
	tcase_add_test(tc, trim_future);
	tcase_add_test(tc, trim_overlap_front);
	tcase_add_test(tc, trim_window_tail);
	tcase_add_test(tc, trim_fin_only);
	tcase_add_test(tc, trim_wraps);
	suite_add_tcase(s, tc);

	tc = tcase_create("build");
	tcase_add_test(tc, build_swaps_ends);
	tcase_add_test(tc, build_ipv4_header_checksum);
	tcase_add_test(tc, build_full_checksum4);
	tcase_add_test(tc, build_full_checksum6);
	tcase_add_test(tc, build_partial_checksum4);
	tcase_add_test(tc, build_partial_checksum6);
	tcase_add_test(tc, build_syn_options);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return sn_ck_run(tcpseg_suite(), CK_NORMAL);
}
