/* test_guard.c - unit tests for src/guard.c: TCP urgent data cleared with a
 * checksum that still verifies, everything else left byte for byte; IPv4
 * fragments kept safe for libslirp's reassembly; version comparison. */
#include <check.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "ckrun.h"
#include "ipparse.h"

#define ETH	   14
#define FRAME_MAX  256
#define TH_FIN	   0x01
#define TH_PSH	   0x08
#define TH_ACK	   0x10
#define TH_URG	   0x20
#define PROTO_TCP  6
#define PROTO_UDP  17
#define PROTO_ICMP 1

/* One frame under test and what it was built from. */
struct frame {
	uint8_t b[FRAME_MAX];
	size_t len;
	size_t l3;  /* offset of the IP header */
	size_t l4;  /* offset of the TCP (or other) header */
	size_t end; /* end of the IP packet (the rest is padding) */
	bool v6;
};

/* What to build. */
struct spec {
	bool v6;
	uint8_t proto;
	size_t ip_opt;	/* IPv4 option bytes (multiple of 4) */
	size_t tcp_opt; /* TCP option bytes (multiple of 4) */
	uint8_t flags;
	uint16_t urp;
	const char *payload;
	size_t pad; /* Ethernet padding after the packet */
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* inspect() - sn_guard_inspect() on the frame @b, parsed */
static enum sn_guard_verdict inspect(uint8_t *b, size_t len)
{
	struct sn_ip ip;

	sn_ip_parse(b, len, &ip);
	return sn_guard_inspect(b, &ip);
}

/* guard() - sn_guard_frame() on the frame @b, parsed */
static bool guard(struct sn_guard *g, uint8_t *b, size_t len)
{
	struct sn_ip ip;

	sn_ip_parse(b, len, &ip);
	return sn_guard_frame(g, b, &ip);
}

/* sum16() - one's complement sum of @n bytes at @p into @sum, unfolded */
static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += get16(p + i);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* pseudo_sum() - the pseudo-header of the TCP segment in @f, of @seg_len */
static uint32_t pseudo_sum(const struct frame *f, size_t seg_len)
{
	const uint8_t *ip = f->b + f->l3;
	uint32_t sum;

	if (f->v6)
		sum = sum16(0, ip + 8, 32);
	else
		sum = sum16(0, ip + 12, 8);
	return sum + PROTO_TCP + (uint32_t)seg_len;
}

/* tcp_verify() - the one's complement sum over pseudo-header and segment
 * of @seg_len bytes, its checksum included (0xffff when it verifies) */
static uint16_t tcp_verify(const struct frame *f, size_t seg_len)
{
	return fold(sum16(pseudo_sum(f, seg_len), f->b + f->l4, seg_len));
}

/* tcp_fresh() - the TCP checksum of @f computed from scratch */
static uint16_t tcp_fresh(const struct frame *f, size_t seg_len)
{
	uint8_t seg[FRAME_MAX];

	memcpy(seg, f->b + f->l4, seg_len);
	put16(seg + 16, 0);
	return (uint16_t)~fold(sum16(pseudo_sum(f, seg_len), seg, seg_len));
}

/* build_l4() - the TCP header (or a stand-in for other protocols) and the
 * payload at f->l4; returns the segment length */
static size_t build_l4(struct frame *f, const struct spec *s)
{
	uint8_t *th = f->b + f->l4;
	size_t hl = s->proto == PROTO_TCP ? 20 + s->tcp_opt : 20;
	size_t plen = strlen(s->payload);
	size_t i;

	/* Non-TCP headers get the same bytes, URG "set" where TCP has it. */
	put16(th, 40000);
	put16(th + 2, 7101);
	put16(th + 4, 0x1234);
	put16(th + 6, 0x5678);
	put16(th + 8, 0x9abc);
	put16(th + 10, 0xdef0);
	th[12] = (uint8_t)((hl / 4) << 4);
	th[13] = s->proto == PROTO_TCP ? s->flags : 0xff;
	put16(th + 14, 64240);
	put16(th + 16, 0);
	put16(th + 18, s->proto == PROTO_TCP ? s->urp : 0xffff);
	for (i = 20; i < hl; i++)
		th[i] = i + 4 == hl ? 0 : 1; /* NOPs, then EOL */
	memcpy(th + hl, s->payload, plen);
	return hl + plen;
}

/* build() - an Ethernet frame for @s into @f, checksums right */
static void build(struct frame *f, const struct spec *s)
{
	uint8_t *ip;
	size_t seg;

	memset(f, 0, sizeof(*f));
	memset(f->b, 0xaa, sizeof(f->b));
	memcpy(f->b, "\x52\x55\x0a\x00\x02\x02\x02\x11\x22\x33\x44\x55", 12);
	put16(f->b + 12, s->v6 ? 0x86dd : 0x0800);
	f->v6 = s->v6;
	f->l3 = ETH;
	ip = f->b + f->l3;
	f->l4 = f->l3 + (s->v6 ? 40 : 20 + s->ip_opt);
	seg = build_l4(f, s);
	f->end = f->l4 + seg;
	f->len = f->end + s->pad;
	if (s->v6) {
		memcpy(ip, "\x60\x00\x00\x00", 4);
		put16(ip + 4, (uint16_t)seg);
		ip[6] = s->proto;
		ip[7] = 64;
		memcpy(ip + 8, "\xfd\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x64", 16);
		memcpy(ip + 24, "\xfd\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x02", 16);
	} else {
		ip[0] = (uint8_t)(0x40 | (20 + s->ip_opt) / 4);
		ip[1] = 0;
		put16(ip + 2, (uint16_t)(f->end - f->l3));
		put16(ip + 4, 0x4242);
		put16(ip + 6, 0x4000); /* DF */
		ip[8] = 64;
		ip[9] = s->proto;
		put16(ip + 10, 0);
		memcpy(ip + 12, "\x0a\x00\x02\x64\x0a\x00\x02\x02", 8);
		memset(ip + 20, 1, s->ip_opt); /* NOP options */
		put16(ip + 10, (uint16_t)~fold(sum16(0, ip, 20 + s->ip_opt)));
	}
	if (s->proto == PROTO_TCP)
		put16(f->b + f->l4 + 16, tcp_fresh(f, seg));
}

/* ip4_refrag() - set @f's fragment field and total length, fix the IP
 * checksum, and cut the frame there */
static void ip4_refrag(struct frame *f, uint16_t frag, size_t tot)
{
	uint8_t *ip = f->b + f->l3;
	size_t hl = (size_t)(ip[0] & 0x0f) * 4;

	put16(ip + 6, frag);
	put16(ip + 2, (uint16_t)tot);
	put16(ip + 10, 0);
	put16(ip + 10, (uint16_t)~fold(sum16(0, ip, hl)));
	f->end = f->l3 + tot;
	f->len = f->end;
}

/* expect_cleaned() - guard @f and check it came out as @f with URG and the
 * urgent pointer cleared and the checksum a fresh one over @seg_len */
static void expect_cleaned(struct frame *f, size_t seg_len)
{
	struct frame want = *f;
	uint8_t *th = want.b + want.l4;

	th[13] &= (uint8_t)~TH_URG;
	put16(th + 18, 0);
	put16(th + 16, 0);
	put16(th + 16, tcp_fresh(&want, seg_len));
	ck_assert_int_eq(inspect(f->b, f->len), SN_GUARD_CLEANED);
	ck_assert_mem_eq(f->b, want.b, f->len);
	ck_assert_uint_eq(f->b[f->l4 + 13] & TH_URG, 0);
	ck_assert_uint_eq(get16(f->b + f->l4 + 18), 0);
	ck_assert_uint_eq(tcp_verify(f, seg_len), 0xffff);
}

/* expect_untouched() - guard @f: verdict @v and not one byte changed */
static void expect_untouched(struct frame *f, enum sn_guard_verdict v)
{
	uint8_t before[FRAME_MAX];

	memcpy(before, f->b, sizeof(before));
	ck_assert_int_eq(inspect(f->b, f->len), v);
	ck_assert_mem_eq(f->b, before, sizeof(before));
}

/* The urgent cases: URG and pointer, pointer alone, URG alone. */
static const struct {
	uint8_t flags;
	uint16_t urp;
} urgent[] = {
	{ TH_ACK | TH_PSH | TH_URG, 1 },
	{ TH_ACK | TH_PSH | TH_URG, 0xffff },
	{ TH_ACK, 7 },
	{ TH_ACK | TH_URG, 0 },
	{ TH_ACK | TH_URG | TH_FIN, 3 },
};

START_TEST(ipv4_urgent_cleared)
{
	static const size_t ip_opt[] = { 0, 4, 12, 40 };
	static const size_t tcp_opt[] = { 0, 12, 40 };
	static const char *const payload[] = { "", "X", "hello urgent!" };
	struct frame f;
	size_t u, i, t, p;

	for (u = 0; u < G_N_ELEMENTS(urgent); u++)
		for (i = 0; i < G_N_ELEMENTS(ip_opt); i++)
			for (t = 0; t < G_N_ELEMENTS(tcp_opt); t++)
				for (p = 0; p < G_N_ELEMENTS(payload); p++) {
					struct spec s = {
						.proto = PROTO_TCP,
						.ip_opt = ip_opt[i],
						.tcp_opt = tcp_opt[t],
						.flags = urgent[u].flags,
						.urp = urgent[u].urp,
						.payload = payload[p],
						.pad = p == 0 ? 6 : 0,
					};
					build(&f, &s);
					expect_cleaned(&f, f.end - f.l4);
				}
}
END_TEST

START_TEST(ipv6_urgent_cleared)
{
	static const size_t tcp_opt[] = { 0, 20 };
	static const char *const payload[] = { "", "X", "hello urgent!" };
	struct frame f;
	size_t u, t, p;

	for (u = 0; u < G_N_ELEMENTS(urgent); u++)
		for (t = 0; t < G_N_ELEMENTS(tcp_opt); t++)
			for (p = 0; p < G_N_ELEMENTS(payload); p++) {
				struct spec s = { .v6 = true,
						  .proto = PROTO_TCP,
						  .tcp_opt = tcp_opt[t],
						  .flags = urgent[u].flags,
						  .urp = urgent[u].urp,
						  .payload = payload[p],
						  .pad = p * 3 };
				build(&f, &s);
				expect_cleaned(&f, f.end - f.l4);
			}
}
END_TEST

START_TEST(no_urgent_untouched)
{
	static const uint8_t flags[] = { TH_ACK, TH_ACK | TH_PSH, 0x02, 0xdf };
	struct frame f;
	size_t i, v6;

	for (v6 = 0; v6 < 2; v6++)
		for (i = 0; i < G_N_ELEMENTS(flags); i++) {
			struct spec s = { .v6 = v6,
					  .proto = PROTO_TCP,
					  .ip_opt = v6 ? 0 : 8,
					  .flags = flags[i],
					  .payload = "plain data",
					  .pad = 4 };
			build(&f, &s);
			ck_assert_uint_eq(tcp_verify(&f, f.end - f.l4), 0xffff);
			expect_untouched(&f, SN_GUARD_PASS);
		}
}
END_TEST

START_TEST(ipv4_fragments)
{
	struct spec s = { .proto = PROTO_TCP,
			  .flags = TH_ACK | TH_URG,
			  .urp = 5,
			  .payload = "0123456789abcdef0123456789abcdef" };
	struct frame f, whole, want;
	uint16_t sum;

	/* First fragment (MF, offset 0): cleaned, and its checksum is the
	 * one of the whole cleaned segment. */
	build(&whole, &s);
	want = whole;
	want.b[want.l4 + 13] &= (uint8_t)~TH_URG;
	put16(want.b + want.l4 + 18, 0);
	sum = tcp_fresh(&want, want.end - want.l4);
	f = whole;
	ip4_refrag(&f, 0x2000, 20 + 24);
	ck_assert_int_eq(inspect(f.b, f.len), SN_GUARD_CLEANED);
	ck_assert_uint_eq(get16(f.b + f.l4 + 16), sum);
	ck_assert_uint_eq(f.b[f.l4 + 13] & TH_URG, 0);
	ck_assert_uint_eq(get16(f.b + f.l4 + 18), 0);

	/* A first fragment too short for a TCP header: dropped. */
	f = whole;
	ip4_refrag(&f, 0x2000, 20 + 16);
	expect_untouched(&f, SN_GUARD_DROP);

	/* Offsets 8 and 16 overlap the TCP header: dropped, whatever MF. */
	f = whole;
	ip4_refrag(&f, 0x2001, 20 + 24);
	expect_untouched(&f, SN_GUARD_DROP);
	f = whole;
	ip4_refrag(&f, 0x0002, 20 + 24);
	expect_untouched(&f, SN_GUARD_DROP);

	/* From offset 24 on fragments carry no TCP header: untouched, even
	 * where their bytes look like one with URG set. */
	f = whole;
	ip4_refrag(&f, 0x2003, 20 + 24);
	expect_untouched(&f, SN_GUARD_PASS);
	f = whole;
	ip4_refrag(&f, 0x0100, 20 + 32);
	expect_untouched(&f, SN_GUARD_PASS);

	/* Other protocols' fragments are not the guard's business. */
	s.proto = PROTO_UDP;
	build(&f, &s);
	ip4_refrag(&f, 0x2001, 20 + 8);
	expect_untouched(&f, SN_GUARD_PASS);
}
END_TEST

START_TEST(not_tcp_untouched)
{
	static const uint8_t protos[] = { PROTO_UDP, PROTO_ICMP, 0, 58, 44 };
	struct frame f;
	size_t i, v6;

	for (v6 = 0; v6 < 2; v6++)
		for (i = 0; i < G_N_ELEMENTS(protos); i++) {
			struct spec s = { .v6 = v6,
					  .proto = protos[i],
					  .payload = "not tcp" };
			build(&f, &s);
			expect_untouched(&f, SN_GUARD_PASS);
		}

	/* ARP, and TCP behind an 802.1Q tag (libslirp reads neither as IP). */
	{
		struct spec s = { .proto = PROTO_TCP,
				  .flags = TH_ACK | TH_URG,
				  .urp = 1,
				  .payload = "x" };
		build(&f, &s);
		put16(f.b + 12, 0x0806);
		expect_untouched(&f, SN_GUARD_PASS);
		build(&f, &s);
		memmove(f.b + 16, f.b + 12, f.len - 12);
		put16(f.b + 12, 0x8100);
		put16(f.b + 14, 5);
		f.len += 4;
		expect_untouched(&f, SN_GUARD_PASS);
	}
}
END_TEST

START_TEST(malformed)
{
	struct spec s = { .proto = PROTO_TCP,
			  .flags = TH_ACK | TH_URG,
			  .urp = 1,
			  .payload = "urgent" };
	struct frame f;

	/* IPv4 total length beyond the frame, below the header, or too short
	 * for a TCP header: dropped. */
	build(&f, &s);
	put16(f.b + f.l3 + 2, (uint16_t)(f.len - f.l3 + 1));
	expect_untouched(&f, SN_GUARD_DROP);
	put16(f.b + f.l3 + 2, 19);
	expect_untouched(&f, SN_GUARD_DROP);
	put16(f.b + f.l3 + 2, 20 + 19);
	expect_untouched(&f, SN_GUARD_DROP);
	/* Not IPv4 inside, or an IHL libslirp refuses: left to libslirp. */
	build(&f, &s);
	f.b[f.l3] = 0x55;
	expect_untouched(&f, SN_GUARD_PASS);
	f.b[f.l3] = 0x44;
	expect_untouched(&f, SN_GUARD_PASS);
	f.b[f.l3] = 0x4f; /* 60-byte header, longer than the frame's rest */
	f.len = f.l3 + 40;
	expect_untouched(&f, SN_GUARD_PASS);

	/* IPv6 payload length beyond the frame or too short: dropped. */
	s.v6 = true;
	build(&f, &s);
	put16(f.b + f.l3 + 4, (uint16_t)(f.len - f.l4 + 1));
	expect_untouched(&f, SN_GUARD_DROP);
	put16(f.b + f.l3 + 4, 0xffff);
	expect_untouched(&f, SN_GUARD_DROP);
	put16(f.b + f.l3 + 4, 19);
	expect_untouched(&f, SN_GUARD_DROP);
	put16(f.b + f.l3 + 4, 0);
	expect_untouched(&f, SN_GUARD_DROP);
	build(&f, &s);
	f.b[f.l3] = 0x40;
	expect_untouched(&f, SN_GUARD_PASS);

	ck_assert_int_eq(inspect(NULL, 0), SN_GUARD_PASS);
}
END_TEST

/* truncations() - every prefix of @f, in a buffer of exactly that size (so
 * that a read past it is caught by valgrind or ASan): never cleaned, never
 * changed */
static void truncations(const struct frame *f)
{
	size_t l;

	for (l = 0; l < f->len; l++) {
		uint8_t *b = l ? g_memdup2(f->b, l) : NULL;

		ck_assert_int_ne(inspect(b, l), SN_GUARD_CLEANED);
		if (l)
			ck_assert_mem_eq(b, f->b, l);
		g_free(b);
	}
}

START_TEST(truncated)
{
	struct spec s = { .proto = PROTO_TCP,
			  .ip_opt = 12,
			  .tcp_opt = 8,
			  .flags = TH_ACK | TH_URG,
			  .urp = 2,
			  .payload = "urgent payload" };
	struct frame f;

	build(&f, &s);
	truncations(&f);
	ip4_refrag(&f, 0x2000, 32 + 32);
	truncations(&f);
	s.v6 = true;
	build(&f, &s);
	truncations(&f);
	s.v6 = false;
	s.proto = PROTO_UDP;
	build(&f, &s);
	truncations(&f);
}
END_TEST

START_TEST(frame_counts)
{
	struct spec s = { .proto = PROTO_TCP,
			  .flags = TH_ACK | TH_URG,
			  .urp = 1,
			  .payload = "x" };
	struct sn_guard g = { 0 };
	struct sn_guard_stats before, after;
	struct frame f;

	before = g.stats;
	build(&f, &s);
	ck_assert(guard(&g, f.b, f.len));
	ck_assert(guard(&g, f.b, f.len)); /* cleaned already */
	ip4_refrag(&f, 0x2001, 20 + 24);
	ck_assert(!guard(&g, f.b, f.len));
	s.flags = TH_ACK;
	s.urp = 0;
	build(&f, &s);
	ck_assert(guard(&g, f.b, f.len));
	after = g.stats;
	ck_assert_uint_eq(after.cleaned - before.cleaned, 1);
	ck_assert_uint_eq(after.dropped - before.dropped, 1);
}
END_TEST

/* ---- IPv4 fragments: sn_guard_frame() with state ---- */

/* What the guard handed libslirp of its own: the last frame, and how many. */
struct injected {
	int n;
	uint8_t b[FRAME_MAX];
	size_t len;
};

static void record(const uint8_t *frame, size_t len, void *opaque)
{
	struct injected *inj = opaque;

	ck_assert_uint_le(len, sizeof(inj->b));
	memcpy(inj->b, frame, len);
	inj->len = len;
	inj->n++;
}

/* A UDP datagram: 20 bytes of stand-in header, 60 of payload. */
static const struct spec udp_dgram = {
	.proto = PROTO_UDP,
	.payload =
	    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX",
};

/* frag() - a fragment of datagram @s, IPv4 ID @id, into @f: flags and
 * offset @frag_field, @data bytes after the IPv4 header */
static void frag(struct frame *f, const struct spec *s, uint16_t id,
		 uint16_t frag_field, size_t data)
{
	size_t hl = 20 + s->ip_opt;

	build(f, s);
	put16(f->b + f->l3 + 4, id);
	ip4_refrag(f, frag_field, hl + data);
}

/* pass() - the guard lets @f through untouched */
static void pass(struct sn_guard *g, struct frame *f)
{
	uint8_t before[FRAME_MAX];

	memcpy(before, f->b, sizeof(before));
	ck_assert(guard(g, f->b, f->len));
	ck_assert_mem_eq(f->b, before, sizeof(before));
}

/* dropped() - the guard drops @f, counts it, and leaves it alone */
static void dropped(struct sn_guard *g, struct frame *f)
{
	uint64_t before = g->stats.frag_dropped;
	uint8_t copy[FRAME_MAX];

	memcpy(copy, f->b, sizeof(copy));
	ck_assert(!guard(g, f->b, f->len));
	ck_assert_mem_eq(f->b, copy, sizeof(copy));
	ck_assert_uint_eq(g->stats.frag_dropped, before + 1);
}

/* expect_copy() - @inj holds the first fragment @first, cut to 8 bytes of
 * payload, behind the Ethernet header of @last: a fragment libslirp takes */
static void expect_copy(const struct injected *inj, const struct frame *first,
			const struct frame *last)
{
	size_t hl = first->l4 - first->l3;
	const uint8_t *ip = inj->b + ETH;

	ck_assert_uint_eq(inj->len, ETH + hl + 8);
	ck_assert_mem_eq(inj->b, last->b, ETH);
	ck_assert_uint_eq(get16(ip + 2), hl + 8);
	ck_assert_uint_eq(get16(ip + 6), 0x2000); /* MF, offset 0 */
	ck_assert_uint_eq(fold(sum16(0, ip, hl)), 0xffff);
	ck_assert_mem_eq(ip, first->b + first->l3, 2);
	ck_assert_mem_eq(ip + 4, first->b + first->l3 + 4, 2);
	ck_assert_mem_eq(ip + 8, first->b + first->l3 + 8, 2);
	ck_assert_mem_eq(ip + 12, first->b + first->l3 + 12, hl - 12);
	ck_assert_mem_eq(ip + hl, first->b + first->l4, 8);
}

START_TEST(frag_in_order)
{
	struct injected inj = { 0 };
	struct sn_guard g;
	struct frame first, mid, last;
	size_t opt;

	for (opt = 0; opt <= 8; opt += 8) {
		struct spec s = udp_dgram;

		s.ip_opt = opt;
		sn_guard_init(&g, record, &inj);
		inj.n = 0;
		frag(&first, &s, 7, 0x2000, 32);
		frag(&mid, &s, 7, 0x2000 | 4, 32);
		frag(&last, &s, 7, 8, 16);
		memset(last.b, 0x5a, 6); /* tell its Ethernet header apart */

		/* First and middle fragments pass as they are, alone. */
		pass(&g, &first);
		pass(&g, &mid);
		ck_assert_int_eq(inj.n, 0);

		/* The last one passes after a copy of the first's start. */
		pass(&g, &last);
		ck_assert_int_eq(inj.n, 1);
		expect_copy(&inj, &first, &last);
		ck_assert_uint_eq(g.stats.frag_primed, 1);
		ck_assert_uint_eq(g.stats.frag_dropped, 0);

		/* That datagram is done: the same last fragment again would
		 * start a queue of its own. */
		dropped(&g, &last);
		ck_assert_int_eq(inj.n, 1);
	}
}
END_TEST

START_TEST(frag_lone_last)
{
	struct injected inj = { 0 };
	struct spec s = udp_dgram;
	struct sn_guard g;
	struct frame first, last, other;

	/* A last fragment with no first one seen: dropped. */
	sn_guard_init(&g, record, &inj);
	frag(&last, &s, 9, 5, 16);
	dropped(&g, &last);
	ck_assert_int_eq(inj.n, 0);

	/* After a first fragment, the last ones of other datagrams still
	 * are: another ID, source, destination or protocol. */
	frag(&first, &s, 9, 0x2000, 40);
	pass(&g, &first);
	frag(&other, &s, 10, 5, 16);
	dropped(&g, &other);
	frag(&other, &s, 9, 5, 16);
	other.b[other.l3 + 15] ^= 1;
	dropped(&g, &other);
	frag(&other, &s, 9, 5, 16);
	other.b[other.l3 + 19] ^= 1;
	dropped(&g, &other);
	frag(&other, &s, 9, 5, 16);
	other.b[other.l3 + 9] = PROTO_ICMP;
	dropped(&g, &other);
	ck_assert_int_eq(inj.n, 0);
	/* Logged once: the other four wait for the next interval. */
	ck_assert_uint_eq(g.rl_frag.suppressed, 4);

	/* ... and its own passes. */
	pass(&g, &last);
	ck_assert_int_eq(inj.n, 1);
	expect_copy(&inj, &first, &last);
}
END_TEST

START_TEST(frag_short_first)
{
	struct injected inj = { 0 };
	struct spec s = udp_dgram;
	struct sn_guard g;
	struct frame f;
	size_t data;

	/* Fewer than 8 bytes: dropped, and its datagram's end with it. */
	sn_guard_init(&g, record, &inj);
	for (data = 0; data < 8; data++) {
		frag(&f, &s, 11, 0x2000, data);
		dropped(&g, &f);
	}
	frag(&f, &s, 11, 1, 16);
	dropped(&g, &f);

	/* 8 are enough. */
	frag(&f, &s, 11, 0x2000, 8);
	pass(&g, &f);
	frag(&f, &s, 11, 1, 16);
	pass(&g, &f);
	ck_assert_int_eq(inj.n, 1);
}
END_TEST

START_TEST(frag_not_kept)
{
	struct injected inj = { 0 };
	struct spec s = udp_dgram;
	struct sn_guard g;
	struct frame f;

	/* What ip_input() drops before reassembly passes and is not kept:
	 * TTL 0, a total length beyond the frame or below the header, a
	 * header length below 20. */
	sn_guard_init(&g, record, &inj);
	frag(&f, &s, 12, 0x2000, 32);
	f.b[f.l3 + 8] = 0;
	pass(&g, &f);
	frag(&f, &s, 12, 0x2000, 32);
	f.len--;
	pass(&g, &f);
	frag(&f, &s, 12, 0x2000, 32);
	put16(f.b + f.l3 + 2, 19);
	pass(&g, &f);
	frag(&f, &s, 12, 0x2000, 32);
	f.b[f.l3] = 0x44;
	pass(&g, &f);
	frag(&f, &s, 12, 4, 16);
	dropped(&g, &f);

	/* Malformed last fragments pass too: libslirp drops them. */
	frag(&f, &s, 13, 4, 16);
	f.len--;
	pass(&g, &f);
	ck_assert_int_eq(inj.n, 0);
	ck_assert_uint_eq(g.stats.frag_dropped, 1);

	/* Middle fragments pass, first fragment or not. */
	frag(&f, &s, 14, 0x2000 | 4, 16);
	pass(&g, &f);
	ck_assert_int_eq(inj.n, 0);
}
END_TEST

START_TEST(frag_table_full)
{
	struct injected inj = { 0 };
	struct spec s = udp_dgram;
	struct sn_guard g;
	struct frame f;
	uint16_t id;

	/* One first fragment more than the guard keeps: the oldest goes. */
	sn_guard_init(&g, record, &inj);
	for (id = 100; id <= 100 + SN_GUARD_FRAGS; id++) {
		frag(&f, &s, id, 0x2000, 32);
		pass(&g, &f);
	}
	frag(&f, &s, 100, 4, 16);
	dropped(&g, &f);
	for (id = 101; id <= 100 + SN_GUARD_FRAGS; id++) {
		frag(&f, &s, id, 4, 16);
		pass(&g, &f);
	}
	ck_assert_int_eq(inj.n, SN_GUARD_FRAGS);

	/* A first fragment seen twice takes one slot: the newest copy. */
	frag(&f, &s, 200, 0x2000, 32);
	pass(&g, &f);
	frag(&f, &s, 200, 0x2000, 40);
	f.b[f.l4] ^= 0xff;
	pass(&g, &f);
	frag(&f, &s, 200, 5, 16);
	pass(&g, &f);
	ck_assert_uint_eq(inj.b[ETH + 20], f.b[f.l4] ^ 0xff);
	dropped(&g, &f);
}
END_TEST

START_TEST(frag_unwired)
{
	struct spec s = udp_dgram;
	struct sn_guard g = { 0 };
	struct frame f;

	/* No way to hand libslirp the copy: last fragments are dropped. */
	frag(&f, &s, 15, 0x2000, 32);
	pass(&g, &f);
	frag(&f, &s, 15, 4, 16);
	dropped(&g, &f);
}
END_TEST

START_TEST(frag_others_untouched)
{
	static const uint16_t flags[] = { 0, 0x4000 };
	struct injected inj = { 0 };
	struct spec s = udp_dgram;
	struct sn_guard g;
	struct frame f;
	size_t i;

	/* Whole IPv4 datagrams, DF or not, and IPv6 frames: untouched,
	 * nothing kept, nothing handed on. */
	sn_guard_init(&g, record, &inj);
	for (i = 0; i < G_N_ELEMENTS(flags); i++) {
		frag(&f, &s, 16, flags[i], 80);
		pass(&g, &f);
	}
	s.v6 = true;
	build(&f, &s);
	pass(&g, &f);
	ck_assert_int_eq(inj.n, 0);
	ck_assert_uint_eq(g.frag_seq, 0);
	ck_assert(guard(&g, NULL, 0));
}
END_TEST

START_TEST(version_parse)
{
	unsigned int v[3];

	ck_assert(sn_guard_version_parse("4.7.0", v));
	ck_assert(v[0] == 4 && v[1] == 7 && v[2] == 0);
	ck_assert(sn_guard_version_parse("4.10.12-rc1", v));
	ck_assert(v[0] == 4 && v[1] == 10 && v[2] == 12);
	ck_assert(sn_guard_version_parse("5", v));
	ck_assert(v[0] == 5 && v[1] == 0 && v[2] == 0);
	ck_assert(sn_guard_version_parse("4.9", v));
	ck_assert(v[0] == 4 && v[1] == 9 && v[2] == 0);
	ck_assert(sn_guard_version_parse("4.9.2.7", v));
	ck_assert(v[0] == 4 && v[1] == 9 && v[2] == 2);
	ck_assert(!sn_guard_version_parse("", v));
	ck_assert(!sn_guard_version_parse("v4.7.0", v));
	ck_assert(!sn_guard_version_parse("4..0", v));
	ck_assert(!sn_guard_version_parse("4.7.", v));
	ck_assert(!sn_guard_version_parse("-4.7.0", v));
	ck_assert(!sn_guard_version_parse("4.9999999.0", v));
	ck_assert(!sn_guard_version_parse(NULL, v));
}
END_TEST

START_TEST(version_cmp)
{
	ck_assert_int_lt(sn_guard_version_cmp("4.7.0", "4.9.2"), 0);
	ck_assert_int_lt(sn_guard_version_cmp("4.9.1", "4.9.2"), 0);
	ck_assert_int_lt(sn_guard_version_cmp("4.8.9", "4.9.2"), 0);
	ck_assert_int_lt(sn_guard_version_cmp("3.99.99", "4.9.2"), 0);
	ck_assert_int_eq(sn_guard_version_cmp("4.9.2", "4.9.2"), 0);
	ck_assert_int_eq(sn_guard_version_cmp("4.9.2-dirty", "4.9.2"), 0);
	ck_assert_int_gt(sn_guard_version_cmp("4.9.3", "4.9.2"), 0);
	ck_assert_int_gt(sn_guard_version_cmp("4.10.0", "4.9.2"), 0);
	ck_assert_int_gt(sn_guard_version_cmp("5.0.0", "4.9.2"), 0);
	ck_assert_int_gt(sn_guard_version_cmp("4.9.10", "4.9.2"), 0);
	ck_assert_int_lt(sn_guard_version_cmp("junk", "4.9.2"), 0);
	ck_assert_int_gt(sn_guard_version_cmp("4.9.2", "junk"), 0);
	ck_assert_int_eq(sn_guard_version_cmp("junk", NULL), 0);
}
END_TEST

START_TEST(libslirp_note)
{
	g_autofree char *old = sn_guard_libslirp_note("4.7.0");
	g_autofree char *cur = sn_guard_libslirp_note(SN_GUARD_LIBSLIRP_FIXED);
	g_autofree char *newer = sn_guard_libslirp_note("5.0.1");
	g_autofree char *odd = sn_guard_libslirp_note("git-abc");

	ck_assert_str_eq(old, "libslirp 4.7.0 is older than 4.9.2, which fixes "
			      "CVE-2026-9539 (TCP urgent data); slirpnetd "
			      "neutralizes that input itself, but update "
			      "libslirp when you can");
	ck_assert_str_eq(cur, "libslirp " SN_GUARD_LIBSLIRP_FIXED);
	ck_assert_str_eq(newer, "libslirp 5.0.1");
	ck_assert_ptr_nonnull(strstr(odd, "\"git-abc\""));
	ck_assert_ptr_nonnull(strstr(odd, "neutralizes"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("guard");
	TCase *tc = tcase_create("guard");

	tcase_add_test(tc, ipv4_urgent_cleared);
	tcase_add_test(tc, ipv6_urgent_cleared);
	tcase_add_test(tc, no_urgent_untouched);
	tcase_add_test(tc, ipv4_fragments);
	tcase_add_test(tc, not_tcp_untouched);
	tcase_add_test(tc, malformed);
	tcase_add_test(tc, truncated);
	tcase_add_test(tc, frame_counts);
	tcase_add_test(tc, frag_in_order);
	tcase_add_test(tc, frag_lone_last);
	tcase_add_test(tc, frag_short_first);
	tcase_add_test(tc, frag_not_kept);
	tcase_add_test(tc, frag_table_full);
	tcase_add_test(tc, frag_unwired);
	tcase_add_test(tc, frag_others_untouched);
	tcase_add_test(tc, version_parse);
	tcase_add_test(tc, version_cmp);
	tcase_add_test(tc, libslirp_note);
	suite_add_tcase(s, tc);
	return sn_ck_run(s, CK_NORMAL);
}
