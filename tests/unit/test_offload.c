/* test_offload.c - unit tests for src/offload.c: partial checksums
 * completed so that they verify as libslirp verifies them, every malformed
 * virtio-net header dropped, runs of segments sent as one frame. */
#include <check.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "ckrun.h"
#include "csum.h"
#include "offload.h"
#include "refsum.h"

#define ETH	  14
#define IP4_HLEN  20
#define TCP_HLEN  20
#define PROTO_TCP 6
#define BIG	  (SN_VNET_HLEN + ETH + 65535)

/* One IPv4 TCP frame with the virtio-net header in front, its checksum
 * left partial as the guest's kernel leaves it. */
struct tcp_frame {
	uint8_t *b;
	size_t len; /* header + frame */
	uint8_t *ip, *th;
	size_t seg; /* TCP header + payload */
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* pseudo_sum() - the IPv4 pseudo-header's sum (host order, folded) */
static uint16_t pseudo_sum(const struct tcp_frame *f)
{
	uint8_t ph[12];

	memcpy(ph, f->ip + 12, 8);
	ph[8] = 0;
	ph[9] = PROTO_TCP;
	put16(ph + 10, (uint16_t)f->seg);
	return ref_sum(ph, sizeof(ph), 0);
}

/* tcp_frame_new() - @payload bytes of data, gso type @gso */
static struct tcp_frame tcp_frame_new(size_t payload, uint8_t gso)
{
	struct tcp_frame f = { .seg = TCP_HLEN + payload };
	struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = gso,
		.gso_size = gso ? 1460 : 0,
		.csum_start = ETH + IP4_HLEN,
		.csum_offset = 16,
	};

	f.len = SN_VNET_HLEN + ETH + IP4_HLEN + f.seg;
	f.b = g_malloc0(f.len);
	memcpy(f.b, &h, sizeof(h));
	f.ip = f.b + SN_VNET_HLEN + ETH;
	f.th = f.ip + IP4_HLEN;
	put16(f.b + SN_VNET_HLEN + 12, 0x0800);
	f.ip[0] = 0x45;
	put16(f.ip + 2, (uint16_t)(IP4_HLEN + f.seg));
	f.ip[8] = 64;
	f.ip[9] = PROTO_TCP;
	memcpy(f.ip + 12, (uint8_t[]){ 10, 0, 2, 100, 10, 0, 2, 2 }, 8);
	put16(f.th, 40000);
	put16(f.th + 2, 5201);
	f.th[12] = 5 << 4;
	f.th[13] = 0x18;
	fill(f.th + TCP_HLEN, payload, (unsigned int)payload);
	/* the kernel's partial checksum: the pseudo-header's sum */
	put16(f.th + 16, pseudo_sum(&f));
	return f;
}

/* verifies() - the check libslirp makes: the sum over the pseudo-header
 * and the segment, stored checksum included, is all ones */
static bool verifies(const struct tcp_frame *f)
{
	return ref_sum(f->th, f->seg, pseudo_sum(f)) == 0xffff;
}

START_TEST(tcp_partial_completed)
{
	struct tcp_frame f = tcp_frame_new(1000, VIRTIO_NET_HDR_GSO_NONE);
	g_autofree uint8_t *before = g_memdup2(f.b, f.len);

	ck_assert(!verifies(&f));
	ck_assert_int_eq(sn_offload_rx(f.b, f.len), SN_OFFLOAD_OK);
	ck_assert(verifies(&f));
	ck_assert_uint_eq(sn_offload_csum_at(f.b), ETH + IP4_HLEN + 16);
	/* nothing but the checksum changed */
	ck_assert_mem_eq(f.b, before, (size_t)(f.th + 16 - f.b));
	ck_assert_mem_eq(f.th + 18, before + (f.th + 18 - f.b),
			 (size_t)(f.b + f.len - f.th - 18));
	g_free(f.b);
}
END_TEST

START_TEST(tso_segment_completed_whole)
{
	/* 64 KiB as one TCP segmentation frame, ECN allowed with it */
	struct tcp_frame f =
	    tcp_frame_new(65535 - IP4_HLEN - TCP_HLEN,
			  VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN);

	ck_assert_uint_eq(f.len, BIG);
	ck_assert_int_eq(sn_offload_rx(f.b, f.len), SN_OFFLOAD_OK);
	ck_assert(verifies(&f));
	g_free(f.b);
}
END_TEST

START_TEST(odd_lengths_completed)
{
	size_t n;

	for (n = 0; n < 40; n++) {
		struct tcp_frame f = tcp_frame_new(n, VIRTIO_NET_HDR_GSO_TCPV4);

		ck_assert_int_eq(sn_offload_rx(f.b, f.len), SN_OFFLOAD_OK);
		ck_assert(verifies(&f));
		g_free(f.b);
	}
}
END_TEST

START_TEST(zero_sum_sent_as_ffff)
{
	/* the words sum to 0xffff: the checksum computes to 0, which UDP
	 * reserves for "none", so 0xffff (the same sum) is stored */
	uint8_t b[SN_VNET_HLEN + ETH + 4] = { 0 };
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				    .csum_start = ETH,
				    .csum_offset = 2 };

	memcpy(b, &h, sizeof(h));
	b[SN_VNET_HLEN + ETH] = 0xff;
	b[SN_VNET_HLEN + ETH + 1] = 0xff;
	ck_assert_int_eq(sn_offload_rx(b, sizeof(b)), SN_OFFLOAD_OK);
	ck_assert_uint_eq(b[SN_VNET_HLEN + ETH + 2], 0xff);
	ck_assert_uint_eq(b[SN_VNET_HLEN + ETH + 3], 0xff);
	ck_assert_uint_eq(sn_offload_csum_at(b), ETH + 2);
}
END_TEST

START_TEST(complete_frame_untouched)
{
	struct tcp_frame f = tcp_frame_new(100, VIRTIO_NET_HDR_GSO_NONE);
	g_autofree uint8_t *before = NULL;

	f.b[0] = 0; /* no NEEDS_CSUM: the checksum is the guest's own */
	before = g_memdup2(f.b, f.len);
	ck_assert_int_eq(sn_offload_rx(f.b, f.len), SN_OFFLOAD_OK);
	ck_assert_mem_eq(f.b, before, f.len);
	ck_assert_uint_eq(sn_offload_csum_at(f.b), SIZE_MAX);
	g_free(f.b);
}
END_TEST

/* verdict_with() - sn_offload_rx() on a TCP frame whose header is @h */
static enum sn_offload_verdict verdict_with(struct virtio_net_hdr h,
					    size_t payload)
{
	struct tcp_frame f = tcp_frame_new(payload, VIRTIO_NET_HDR_GSO_NONE);
	enum sn_offload_verdict v;

	memcpy(f.b, &h, sizeof(h));
	v = sn_offload_rx(f.b, f.len);
	g_free(f.b);
	return v;
}

/* The frame verdict_with() builds: 10 bytes of payload, the segment ending
 * at SEG_END. */
#define SEG_END (ETH + IP4_HLEN + TCP_HLEN + 10)
#define NC	VIRTIO_NET_HDR_F_NEEDS_CSUM

/* Headers and what sn_offload_rx() must make of them. */
static const struct {
	const char *what;
	struct virtio_net_hdr h;
	enum sn_offload_verdict v;
} headers[] = {
	{ "sum starting in the Ethernet header",
	  { .flags = NC, .csum_start = 4 },
	  SN_OFFLOAD_BAD_CSUM },
	{ "sum starting past the end",
	  { .flags = NC, .csum_start = 65535, .csum_offset = 65534 },
	  SN_OFFLOAD_BAD_CSUM },
	{ "field's last byte past the end",
	  { .flags = NC,
	    .csum_start = ETH + 1,
	    .csum_offset = SEG_END - ETH - 2 },
	  SN_OFFLOAD_BAD_CSUM },
	{ "field in the last two bytes",
	  { .flags = NC, .csum_start = ETH, .csum_offset = SEG_END - ETH - 2 },
	  SN_OFFLOAD_OK },
	{ "field at an odd offset",
	  { .flags = NC, .csum_start = ETH + IP4_HLEN, .csum_offset = 15 },
	  SN_OFFLOAD_BAD_CSUM },
	{ "IPv6 TCP segmentation (offered for tcp.c)",
	  { .gso_type = VIRTIO_NET_HDR_GSO_TCPV6 },
	  SN_OFFLOAD_OK },
	{ "UDP segmentation",
	  { .gso_type = VIRTIO_NET_HDR_GSO_UDP },
	  SN_OFFLOAD_BAD_GSO },
	{ "ECN without segmentation",
	  { .gso_type = VIRTIO_NET_HDR_GSO_ECN },
	  SN_OFFLOAD_BAD_GSO },
	{ "unknown segmentation type",
	  { .gso_type = 0x42 },
	  SN_OFFLOAD_BAD_GSO },
};

START_TEST(malformed_dropped)
{
	struct tcp_frame f = tcp_frame_new(10, VIRTIO_NET_HDR_GSO_NONE);
	size_t i;

	/* too short for the header and an Ethernet header */
	ck_assert_int_eq(sn_offload_rx(f.b, 0), SN_OFFLOAD_SHORT);
	ck_assert_int_eq(sn_offload_rx(f.b, SN_VNET_HLEN + ETH - 1),
			 SN_OFFLOAD_SHORT);
	g_free(f.b);
	for (i = 0; i < G_N_ELEMENTS(headers); i++)
		ck_assert_msg(verdict_with(headers[i].h, 10) == headers[i].v,
			      "%s: verdict %d, not %d", headers[i].what,
			      verdict_with(headers[i].h, 10), headers[i].v);
}
END_TEST

START_TEST(wanted_below_threshold)
{
	ck_assert(sn_offload_wanted(false, true, 1500));
	ck_assert(sn_offload_wanted(false, true, 9000));
	ck_assert(sn_offload_wanted(false, true, SN_OFFLOAD_MTU_BELOW - 1));
	ck_assert(!sn_offload_wanted(false, true, SN_OFFLOAD_MTU_BELOW));
	ck_assert(!sn_offload_wanted(false, true, 65520));
	ck_assert(!sn_offload_wanted(true, true, 1500));
	/* tcp.c's path: every MTU, unless disabled */
	ck_assert(sn_offload_wanted(false, false, 1500));
	ck_assert(sn_offload_wanted(false, false, 65520));
	ck_assert(!sn_offload_wanted(true, false, 65520));
}
END_TEST

START_TEST(verdicts_in_words)
{
	ck_assert_str_ne(sn_offload_why(SN_OFFLOAD_SHORT),
			 sn_offload_why(SN_OFFLOAD_BAD_CSUM));
	ck_assert_str_ne(sn_offload_why(SN_OFFLOAD_BAD_CSUM),
			 sn_offload_why(SN_OFFLOAD_BAD_GSO));
	ck_assert_ptr_nonnull(
	    strstr(sn_offload_why(SN_OFFLOAD_BAD_GSO), "segmentation"));
}
END_TEST

/* ---- runs of segments to the guest ---- */

/* A segment as libslirp sends it: Ethernet, IPv4, TCP, no virtio-net
 * header, complete checksums. */
struct seg {
	uint8_t b[ETH + IP4_HLEN + TCP_HLEN + 1500];
	size_t len;
};

/* seg_make() - @payload bytes from sequence number @seq, TCP flags @flags */
static struct seg seg_make(uint32_t seq, size_t payload, uint8_t flags)
{
	struct seg g = { .len = ETH + IP4_HLEN + TCP_HLEN + payload };
	uint8_t *ip = g.b + ETH, *th = ip + IP4_HLEN;
	struct tcp_frame f = { .ip = ip, .th = th, .seg = TCP_HLEN + payload };
	size_t i;

	put16(g.b + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(IP4_HLEN + f.seg));
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = PROTO_TCP;
	memcpy(ip + 12, (uint8_t[]){ 10, 0, 2, 2, 10, 0, 2, 100 }, 8);
	put16(th, 5201);
	put16(th + 2, 40000);
	th[4] = (uint8_t)(seq >> 24);
	th[5] = (uint8_t)(seq >> 16);
	th[6] = (uint8_t)(seq >> 8);
	th[7] = (uint8_t)seq;
	th[11] = 7; /* ACK 7 */
	th[12] = 5 << 4;
	th[13] = flags;
	put16(th + 14, 65535);
	for (i = 0; i < payload; i++)
		th[TCP_HLEN + i] = (uint8_t)(seq + i);
	put16(th + 16, (uint16_t)~ref_sum(th, f.seg, pseudo_sum(&f)));
	put16(ip + 10, (uint16_t)~ref_sum(ip, IP4_HLEN, 0));
	return g;
}

/* taken() - did sn_gso_add() take @frame into the run? */
static bool taken(struct sn_gso_batch *b, const uint8_t *frame, size_t len)
{
	return sn_gso_add(b, frame, len) == SN_GSO_TAKEN;
}

/* add() - taken() of a segment made by seg_make() */
static bool add(struct sn_gso_batch *b, uint32_t seq, size_t payload,
		uint8_t flags)
{
	struct seg g = seg_make(seq, payload, flags);

	return taken(b, g.b, g.len);
}

START_TEST(run_sent_as_one)
{
	g_autofree struct sn_gso_batch *b = g_new0(struct sn_gso_batch, 1);
	struct virtio_net_hdr h;
	struct tcp_frame f;
	const uint8_t *out;
	g_autofree uint8_t *copy = NULL;
	size_t len, i;

	ck_assert(add(b, 1000, 1460, 0x10));
	ck_assert(add(b, 2460, 1460, 0x18)); /* PSH in the middle */
	ck_assert(add(b, 3920, 500, 0x10));
	out = sn_gso_frame(b, &len);
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(len, SN_VNET_HLEN + ETH + IP4_HLEN + TCP_HLEN + 3420);
	memcpy(&h, out, sizeof(h));
	ck_assert_uint_eq(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	ck_assert_uint_eq(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	ck_assert_uint_eq(h.gso_size, 1460);
	ck_assert_uint_eq(h.hdr_len, ETH + IP4_HLEN + TCP_HLEN);
	ck_assert_uint_eq(h.csum_start, ETH + IP4_HLEN);
	ck_assert_uint_eq(h.csum_offset, 16);
	/* headers: the IPv4 length and checksum, PSH, the first sequence */
	copy = g_memdup2(out, len);
	f.ip = copy + SN_VNET_HLEN + ETH;
	f.th = f.ip + IP4_HLEN;
	f.seg = TCP_HLEN + 3420;
	ck_assert_uint_eq(f.ip[2] << 8 | f.ip[3], IP4_HLEN + TCP_HLEN + 3420);
	ck_assert_uint_eq(ref_sum(f.ip, IP4_HLEN, 0), 0xffff);
	ck_assert_uint_eq(f.th[13], 0x18);
	ck_assert_uint_eq(f.th[6] << 8 | f.th[7], 1000);
	/* the payload is the segments' in order */
	for (i = 0; i < 3420; i++)
		ck_assert_uint_eq(f.th[TCP_HLEN + i], (uint8_t)(1000 + i));
	/* the checksum is partial as the guest's kernel expects it: once
	 * completed, it verifies */
	ck_assert(!verifies(&f));
	ck_assert_int_eq(sn_offload_rx(copy, len), SN_OFFLOAD_OK);
	ck_assert(verifies(&f));
	/* and the batch is empty again */
	ck_assert_ptr_null(sn_gso_frame(b, &len));
	ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(one_segment_as_it_came)
{
	g_autofree struct sn_gso_batch *b = g_new0(struct sn_gso_batch, 1);
	struct seg g = seg_make(5, 700, 0x18);
	struct virtio_net_hdr h;
	const uint8_t *out;
	size_t len;

	ck_assert(taken(b, g.b, g.len));
	out = sn_gso_frame(b, &len);
	ck_assert_uint_eq(len, SN_VNET_HLEN + g.len);
	memcpy(&h, out, sizeof(h));
	ck_assert_uint_eq(h.flags, VIRTIO_NET_HDR_F_DATA_VALID);
	ck_assert_uint_eq(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	ck_assert_mem_eq(out + SN_VNET_HLEN, g.b, g.len);
}
END_TEST

START_TEST(run_ends_where_it_must)
{
	g_autofree struct sn_gso_batch *b = g_new0(struct sn_gso_batch, 1);
	struct seg g = seg_make(0, 1460, 0x10);
	uint32_t seq = 0;
	unsigned int n = 0;
	size_t len;

	/* not data, or not plain: SYN, FIN, RST, URG, no ACK, no payload */
	ck_assert(!add(b, 0, 100, 0x12));
	ck_assert(!add(b, 0, 100, 0x11));
	ck_assert(!add(b, 0, 100, 0x14));
	ck_assert(!add(b, 0, 100, 0x30));
	ck_assert(!add(b, 0, 100, 0x08));
	ck_assert(!add(b, 0, 0, 0x10));
	/* not IPv4 TCP: a fragment, IP options, IPv6, a short frame */
	g.b[ETH + 6] = 0x20;
	ck_assert(!taken(b, g.b, g.len));
	g = seg_make(0, 1460, 0x10);
	g.b[ETH] = 0x46;
	ck_assert(!taken(b, g.b, g.len));
	g = seg_make(0, 1460, 0x10);
	g.b[12] = 0x86;
	g.b[13] = 0xdd;
	ck_assert(!taken(b, g.b, g.len));
	ck_assert(!taken(b, g.b, ETH + 30));
	ck_assert_ptr_null(sn_gso_frame(b, &len));

	/* a gap, another connection, another ACK, a larger segment */
	ck_assert(add(b, 0, 1000, 0x10));
	ck_assert(!add(b, 1001, 1000, 0x10));
	g = seg_make(1000, 1000, 0x10);
	g.b[ETH + IP4_HLEN + 1]++;
	ck_assert(!taken(b, g.b, g.len));
	g = seg_make(1000, 1000, 0x10);
	g.b[ETH + IP4_HLEN + 11]++;
	ck_assert(!taken(b, g.b, g.len));
	ck_assert(!add(b, 1000, 1001, 0x10));
	/* a shorter one ends the run */
	ck_assert(add(b, 1000, 999, 0x10));
	ck_assert(!add(b, 1999, 1000, 0x10));
	sn_gso_frame(b, &len);

	/* 64 KiB of IPv4 packet at most: 44 segments of 1460 */
	while (add(b, seq, 1460, 0x10)) {
		seq += 1460;
		n++;
	}
	ck_assert_uint_eq(n, 44);
	sn_gso_frame(b, &len);
	ck_assert_uint_eq(len,
			  SN_VNET_HLEN + ETH + IP4_HLEN + TCP_HLEN + 44 * 1460);
}
END_TEST

static Suite *offload_suite(void)
{
	Suite *s = suite_create("offload");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, tcp_partial_completed);
	tcase_add_test(tc, tso_segment_completed_whole);
	tcase_add_test(tc, odd_lengths_completed);
	tcase_add_test(tc, zero_sum_sent_as_ffff);
	tcase_add_test(tc, complete_frame_untouched);
	tcase_add_test(tc, malformed_dropped);
	tcase_add_test(tc, wanted_below_threshold);
	tcase_add_test(tc, run_sent_as_one);
	tcase_add_test(tc, one_segment_as_it_came);
	tcase_add_test(tc, run_ends_where_it_must);
	tcase_add_test(tc, verdicts_in_words);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return sn_ck_run(offload_suite(), CK_NORMAL);
}
