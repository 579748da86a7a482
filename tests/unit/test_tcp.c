/* test_tcp.c - unit tests for src/tcp.c: the engine against real sockets on
 * loopback, in a network namespace of the test's own; frames built here. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <glib.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ckrun.h"
#include "fastfwd.h"
#include "tcp.h"
#include "tcpseg.h"

/*
 * Each test is a guest (frames built here, given to sn_tcp_input()) and a
 * peer (a listener on 127.0.0.1, the gateway 10.0.2.2 as the engine sees
 * it), with the engine between them, its frames to the guest parsed into
 * a log.
 */

#define FRAMES_MAX 64
#define GUEST_ISN  0xfffffff0u

static const uint8_t gw_mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };
static const uint8_t guest_mac[6] = { 0x02, 0x00, 0x0a, 0x00, 0x02, 0x64 };

/* A frame the engine sent to the guest, parsed. */
struct out {
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win;
	size_t dlen;
	uint8_t data[64];
};

static struct {
	struct out f[FRAMES_MAX];
	unsigned int n;
} log_;

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

/* tap() - keep what the engine sends, parsed */
static void tap(const struct iovec *iov, int iovcnt, void *opaque)
{
	uint8_t buf[SN_TCPSEG_HLEN_MAX + 65535];
	struct sn_tcpseg seg;
	struct sn_ip ip;
	struct out *o;
	size_t len = 0;
	int i;

	(void)opaque;
	for (i = 0; i < iovcnt; i++) {
		ck_assert_uint_le(len + iov[i].iov_len, sizeof(buf));
		memcpy(buf + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	sn_ip_parse(buf, len, &ip);
	ck_assert_int_eq(sn_tcpseg_parse(&ip, &seg), SN_TCPSEG_OK);
	ck_assert_uint_lt(log_.n, FRAMES_MAX);
	o = &log_.f[log_.n++];
	o->flags = seg.flags;
	o->seq = seg.seq;
	o->ack = seg.ack;
	o->win = seg.win;
	o->dlen = seg.dlen;
	memcpy(o->data, seg.data, MIN(seg.dlen, sizeof(o->data)));
}

/* engine() - an engine for the address plan 10.0.2.0/24, no virtio-net
 * header; @no_peek_off: as on kernels before 6.9 */
static struct sn_tcp *engine(bool no_peek_off)
{
	struct sn_tcp_config cfg = {
		.network.s_addr = htonl(0x0a000200),
		.netmask.s_addr = htonl(0xffffff00),
		.gateway.s_addr = htonl(0x0a000202),
		.dns.s_addr = htonl(0x0a000203),
		.mtu = 1500,
		.no_peek_off = no_peek_off,
	};
	struct sn_tcp *t = sn_tcp_new(&cfg, tap, NULL, NULL);

	ck_assert_ptr_nonnull(t);
	log_.n = 0;
	return t;
}

/* listener() - a listener on 127.0.0.1; its port in @port */
static int listener(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* A segment's address pair. */
struct pair {
	uint32_t saddr, daddr;
	uint16_t sport, dport;
};

/* input() - the frame @f from the guest, parsed, to the engine */
static bool input(struct sn_tcp *t, const uint8_t *f, size_t len)
{
	struct sn_ip ip;

	sn_ip_parse(f, len, &ip);
	return sn_tcp_input(t, &ip);
}

static void segment(struct sn_tcp *t, const struct pair *p, uint8_t flags,
		    uint32_t seq, uint32_t ack, const char *data);

/* guest() - a segment from 10.0.2.100:40000 to 10.0.2.2:@port */
static void guest(struct sn_tcp *t, uint16_t port, uint8_t flags, uint32_t seq,
		  uint32_t ack, const char *data)
{
	const struct pair p = { 0x0a000264, 0x0a000202, 40000, port };

	segment(t, &p, flags, seq, ack, data);
}

/* segment() - a segment from the guest, for the engine to take */
static void segment(struct sn_tcp *t, const struct pair *p, uint8_t flags,
		    uint32_t seq, uint32_t ack, const char *data)
{
	size_t dlen = data ? strlen(data) : 0;

	ck_assert_uint_le(dlen, 1460);
	uint8_t f[14 + 20 + 20 + 1460] = { 0 }, *ip = f + 14, *th = ip + 20;

	memcpy(f, gw_mac, 6);
	memcpy(f + 6, guest_mac, 6);
	put16(f + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(40 + dlen));
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = 6;
	put32(ip + 12, p->saddr);
	put32(ip + 16, p->daddr);
	put16(th, p->sport);
	put16(th + 2, p->dport);
	put32(th + 4, seq);
	put32(th + 8, ack);
	th[12] = 5 << 4;
	th[13] = flags;
	put16(th + 14, 65535);
	memcpy(th + 20, data ? data : "", dlen);
	ck_assert(input(t, f, 14 + 40 + dlen));
}

/* pump() - wait up to @ms for the engine's sockets, then run it */
static void pump(struct sn_tcp *t, int ms)
{
	struct pollfd p = { .fd = sn_tcp_fd(t), .events = POLLIN };

	poll(&p, 1, ms);
	sn_tcp_sock_events(t);
	sn_tcp_timers(t, g_get_monotonic_time() / 1000);
	sn_tcp_flush(t);
}

/* find() - the first frame logged from @from with @flags set */
static const struct out *find(unsigned int from, uint8_t flags)
{
	unsigned int i;

	for (i = from; i < log_.n; i++)
		if ((log_.f[i].flags & flags) == flags)
			return &log_.f[i];
	return NULL;
}

/* handshake() - SYN, SYN-ACK, ACK with the listener at @port; the
 * engine's ISN. With @close_first the peer closes its end before the
 * engine has seen the connect() complete. */
static uint32_t handshake(struct sn_tcp *t, int lfd, uint16_t port, int *afd,
			  bool close_first)
{
	const struct out *o;
	int i;

	guest(t, port, SN_TH_SYN, GUEST_ISN, 0, NULL);
	/* loopback: the kernel has completed the handshake already */
	*afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(*afd, 0);
	if (close_first) {
		close(*afd);
		*afd = -1;
	}
	for (i = 0; i < 50 && !find(0, SN_TH_SYN | SN_TH_ACK); i++)
		pump(t, 20);
	o = find(0, SN_TH_SYN | SN_TH_ACK);
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(o->ack, GUEST_ISN + 1);
	guest(t, port, SN_TH_ACK, GUEST_ISN + 1, o->seq + 1, NULL);
	return o->seq;
}

/* fin_after_close() - the peer closes: the guest gets a FIN right after
 * the SYN-ACK's sequence number */
static void fin_after_close(bool no_peek_off, bool close_first)
{
	struct sn_tcp *t = engine(no_peek_off);
	uint16_t port;
	int lfd = listener(&port), afd, i;
	const struct out *fin;
	uint32_t isn;

	isn = handshake(t, lfd, port, &afd, close_first);
	if (afd >= 0)
		close(afd);
	for (i = 0; i < 25 && !find(0, SN_TH_FIN); i++)
		pump(t, 20);
	fin = find(0, SN_TH_FIN);
	ck_assert_msg(fin, "no FIN to the guest after the peer closed");
	ck_assert_uint_eq(fin->seq, isn + 1);
	ck_assert_uint_eq(fin->dlen, 0);
	sn_tcp_free(t);
	close(lfd);
}

START_TEST(fin_after_peer_close)
{
	fin_after_close(false, false);
}
END_TEST

START_TEST(fin_after_peer_close_no_peek_off)
{
	fin_after_close(true, false);
}
END_TEST

START_TEST(fin_peer_closed_while_connecting)
{
	fin_after_close(false, true);
}
END_TEST

/* Without SO_PEEK_OFF (kernels before 6.9), a peer that closes before the
 * engine handles the end of connect(): the EPOLLRDHUP comes in the same
 * event as EPOLLOUT, and F_SOCK_HUP, all peek() has to tell the end of file
 * from "no new data", must be kept from it, or the guest gets no FIN. */
START_TEST(fin_peer_closed_while_connecting_no_peek_off)
{
	fin_after_close(true, true);
}
END_TEST

/* echo() - a request from the guest reaches the peer, its answer the
 * guest, in order */
static void echo(bool no_peek_off)
{
	struct sn_tcp *t = engine(no_peek_off);
	uint16_t port;
	int lfd = listener(&port), afd, i;
	char buf[16] = { 0 };
	const struct out *o;
	unsigned int from;
	uint32_t isn;

	isn = handshake(t, lfd, port, &afd, false);
	guest(t, port, SN_TH_ACK | SN_TH_PSH, GUEST_ISN + 1, isn + 1, "ping");
	pump(t, 0);
	ck_assert_int_eq(recv(afd, buf, sizeof(buf), 0), 4);
	ck_assert_str_eq(buf, "ping");
	ck_assert_int_eq(send(afd, "pong!", 5, 0), 5);
	from = log_.n;
	for (i = 0; i < 25 && !find(from, SN_TH_PSH); i++)
		pump(t, 20);
	o = find(from, SN_TH_PSH);
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(o->seq, isn + 1);
	ck_assert_uint_eq(o->ack, GUEST_ISN + 5);
	ck_assert_uint_eq(o->dlen, 5);
	ck_assert_mem_eq(o->data, "pong!", 5);
	/* acknowledged: the next data follows it, not a copy of it */
	guest(t, port, SN_TH_ACK, GUEST_ISN + 5, isn + 6, NULL);
	pump(t, 0);
	ck_assert_int_eq(send(afd, "more", 4, 0), 4);
	from = log_.n;
	for (i = 0; i < 25 && !find(from, SN_TH_PSH); i++)
		pump(t, 20);
	o = find(from, SN_TH_PSH);
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(o->seq, isn + 6);
	ck_assert_mem_eq(o->data, "more", 4);
	close(afd);
	sn_tcp_free(t);
	close(lfd);
}

/* A connection set up for a test: the engine, the listener, the accepted
 * socket and the engine's ISN. */
struct fx {
	struct sn_tcp *t;
	uint16_t port;
	int lfd, afd;
	uint32_t isn;
};

static void fx_up(struct fx *f)
{
	f->t = engine(false);
	f->lfd = listener(&f->port);
	f->isn = handshake(f->t, f->lfd, f->port, &f->afd, false);
	pump(f->t, 0);
}

static void fx_down(struct fx *f)
{
	close(f->afd);
	sn_tcp_free(f->t);
	close(f->lfd);
}

/* sock_read() - what the peer has of the guest's data so far */
static ssize_t sock_read(const struct fx *f, char *buf, size_t len)
{
	ssize_t n = recv(f->afd, buf, len - 1, MSG_DONTWAIT);

	buf[MAX(n, 0)] = 0;
	return n;
}

/* pump_sockets() - the socket's events only, until a frame with @flags
 * comes from @from on (at most 20 s): no timer runs, so no retransmission
 * or held-back ACK counts, however long this takes */
static const struct out *pump_sockets(struct sn_tcp *t, unsigned int from,
				      uint8_t flags)
{
	struct pollfd p = { .fd = sn_tcp_fd(t), .events = POLLIN };
	int i;

	for (i = 0; i < 20 && !find(from, flags); i++) {
		poll(&p, 1, 1000);
		sn_tcp_sock_events(t);
		sn_tcp_flush(t);
	}
	return find(from, flags);
}

/* gap_closed() - since frame @from: one ACK of "aaaa" and "bbbb", which
 * the peer has read in that order */
static void gap_closed(const struct fx *f, unsigned int from)
{
	char buf[32];

	ck_assert_uint_eq(log_.n, from + 1);
	ck_assert_uint_eq(log_.f[from].ack, GUEST_ISN + 9);
	ck_assert_int_eq(sock_read(f, buf, sizeof(buf)), 8);
	ck_assert_str_eq(buf, "aaaabbbb");
}

/* A segment past a gap is held, and written once the gap is filled, with
 * an ACK of both at once; the gap brought one pure duplicate ACK. */
START_TEST(reorder_held_then_written)
{
	struct fx f;
	char buf[32];
	unsigned int from;

	fx_up(&f);
	from = log_.n;
	guest(f.t, f.port, SN_TH_ACK, GUEST_ISN + 5, f.isn + 1, "bbbb");
	sn_tcp_flush(f.t);
	ck_assert_uint_eq(log_.n, from + 1);
	ck_assert_uint_eq(log_.f[from].flags, SN_TH_ACK);
	ck_assert_uint_eq(log_.f[from].ack, GUEST_ISN + 1);
	ck_assert_uint_eq(log_.f[from].dlen, 0);
	ck_assert_int_eq(sock_read(&f, buf, sizeof(buf)), -1);
	ck_assert_uint_eq(sn_tcp_stats(f.t)->out_of_order, 1);

	from = log_.n;
	guest(f.t, f.port, SN_TH_ACK, GUEST_ISN + 1, f.isn + 1, "aaaa");
	sn_tcp_flush(f.t); /* at once: no delayed ACK for a filled gap */
	gap_closed(&f, from);
	fx_down(&f);
}
END_TEST

/* Each segment past the gap in a batch brings a duplicate ACK, all alike:
 * no data, the same window, so that the guest counts three. */
START_TEST(dup_ack_per_segment_past_gap)
{
	struct fx f;
	unsigned int from, i;

	fx_up(&f);
	from = log_.n;
	guest(f.t, f.port, SN_TH_ACK, GUEST_ISN + 5, f.isn + 1, "bbbb");
	guest(f.t, f.port, SN_TH_ACK, GUEST_ISN + 9, f.isn + 1, "cccc");
	guest(f.t, f.port, SN_TH_ACK, GUEST_ISN + 13, f.isn + 1, "dddd");
	sn_tcp_flush(f.t);
	ck_assert_uint_eq(log_.n, from + 3);
	for (i = from; i < from + 3; i++) {
		ck_assert_uint_eq(log_.f[i].flags, SN_TH_ACK);
		ck_assert_uint_eq(log_.f[i].ack, GUEST_ISN + 1);
		ck_assert_uint_eq(log_.f[i].dlen, 0);
		ck_assert_uint_eq(log_.f[i].win, log_.f[from].win);
	}
	ck_assert_uint_eq(sn_tcp_stats(f.t)->out_of_order, 3);
	fx_down(&f);
}
END_TEST

/* A gap filled in the batch that opened it costs the guest nothing: one
 * ACK of all of it, no duplicate. */
START_TEST(gap_filled_in_batch)
{
	struct fx f;
	unsigned int from;

	fx_up(&f);
	from = log_.n;
	guest(f.t, f.port, SN_TH_ACK, GUEST_ISN + 5, f.isn + 1, "bbbb");
	guest(f.t, f.port, SN_TH_ACK, GUEST_ISN + 1, f.isn + 1, "aaaa");
	sn_tcp_flush(f.t);
	gap_closed(&f, from);
	fx_down(&f);
}
END_TEST

/* A held FIN comes out after its data: the socket is shut for writing. */
START_TEST(held_fin_after_data)
{
	struct fx f;
	char buf[32];

	fx_up(&f);
	guest(f.t, f.port, SN_TH_ACK | SN_TH_FIN, GUEST_ISN + 5, f.isn + 1,
	      "bb");
	guest(f.t, f.port, SN_TH_ACK, GUEST_ISN + 1, f.isn + 1, "aaaa");
	sn_tcp_flush(f.t);
	ck_assert_uint_eq(log_.f[log_.n - 1].ack, GUEST_ISN + 8);
	ck_assert_int_eq(recv(f.afd, buf, sizeof(buf), 0), 6);
	ck_assert_int_eq(recv(f.afd, buf, sizeof(buf), 0), 0); /* its FIN */
	fx_down(&f);
}
END_TEST

START_TEST(echo_peek_off)
{
	echo(false);
}
END_TEST

START_TEST(echo_no_peek_off)
{
	echo(true);
}
END_TEST

/* tcpext() - the TcpExt counter @name of this network namespace */
static uint64_t tcpext(const char *name)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	unsigned int i, j;

	ck_assert(g_file_get_contents("/proc/net/netstat", &text, NULL, NULL));
	lines = g_strsplit(text, "\n", -1);
	for (i = 0; lines[i] && lines[i + 1]; i++) {
		g_auto(GStrv) names = g_strsplit(lines[i], " ", -1);
		g_auto(GStrv) values = g_strsplit(lines[i + 1], " ", -1);

		if (strcmp(names[0], "TcpExt:") || strcmp(values[0], "TcpExt:"))
			continue;
		for (j = 1; names[j] && values[j]; j++)
			if (!strcmp(names[j], name))
				return g_ascii_strtoull(values[j], NULL, 10);
	}
	ck_abort_msg("no TcpExt counter %s", name);
	return 0;
}

/* The ACK of a request waits for the answer, which carries it: one frame
 * to the guest for the round trip */
START_TEST(ack_rides_answer)
{
	struct fx f;
	char buf[16] = { 0 };
	const struct out *o;
	unsigned int from;

	fx_up(&f);
	from = log_.n;
	guest(f.t, f.port, SN_TH_ACK | SN_TH_PSH, GUEST_ISN + 1, f.isn + 1,
	      "ping");
	sn_tcp_flush(f.t);
	ck_assert_int_eq(recv(f.afd, buf, sizeof(buf), 0), 4);
	ck_assert_uint_eq(log_.n, from); /* no ACK of its own */
	ck_assert_int_eq(send(f.afd, "pong!", 5, 0), 5);
	pump_sockets(f.t, from, SN_TH_PSH);
	ck_assert_uint_eq(log_.n, from + 1);
	o = &log_.f[from];
	ck_assert_uint_eq(o->flags, SN_TH_ACK | SN_TH_PSH);
	ck_assert_uint_eq(o->ack, GUEST_ISN + 5);
	ck_assert_mem_eq(o->data, "pong!", 5);
	fx_down(&f);
}
END_TEST

/* Unanswered, the ACK goes on its own once SN_TCP_DELACK_MS is over */
START_TEST(ack_delayed_alone)
{
	struct fx f;
	char buf[16] = { 0 };
	unsigned int from;
	gint64 now;

	fx_up(&f);
	from = log_.n;
	guest(f.t, f.port, SN_TH_ACK | SN_TH_PSH, GUEST_ISN + 1, f.isn + 1,
	      "ping");
	now = g_get_monotonic_time() / 1000;
	ck_assert_int_le(sn_tcp_timeout_ms(f.t, now), SN_TCP_DELACK_MS);
	sn_tcp_flush(f.t);
	ck_assert_uint_eq(log_.n, from);
	ck_assert_int_eq(recv(f.afd, buf, sizeof(buf), 0), 4);
	sn_tcp_timers(f.t, now + SN_TCP_DELACK_MS);
	sn_tcp_flush(f.t);
	ck_assert_uint_eq(log_.n, from + 1);
	ck_assert_uint_eq(log_.f[from].flags, SN_TH_ACK);
	ck_assert_uint_eq(log_.f[from].ack, GUEST_ISN + 5);
	ck_assert_uint_eq(log_.f[from].dlen, 0);
	/* and nothing more is due: what is left is the minute's sweep */
	ck_assert_int_gt(sn_tcp_timeout_ms(f.t, now + SN_TCP_DELACK_MS),
			 50 * 1000);
	fx_down(&f);
}
END_TEST

/* A full segment (the guest's MSS is 536 here: its SYN named none) is
 * acknowledged at the flush: the guest's 64 KiB frames are dozens of its
 * wire segments each. A smaller one waits for an answer to carry it. */
START_TEST(ack_full_segment_at_once)
{
	struct fx f;
	char seg[537];
	unsigned int from;

	memset(seg, 'x', 536);
	seg[536] = 0;
	fx_up(&f);
	from = log_.n;
	guest(f.t, f.port, SN_TH_ACK, GUEST_ISN + 1, f.isn + 1, seg);
	sn_tcp_flush(f.t);
	ck_assert_uint_eq(log_.n, from + 1);
	ck_assert_uint_eq(log_.f[from].ack, GUEST_ISN + 537);
	seg[100] = 0;
	guest(f.t, f.port, SN_TH_ACK, GUEST_ISN + 537, f.isn + 1, seg);
	sn_tcp_flush(f.t);
	ck_assert_uint_eq(log_.n, from + 1);
	fx_down(&f);
}
END_TEST

/* The peer's last data and its end of file go to the guest together: the
 * FIN does not wait for the guest to acknowledge the data */
START_TEST(fin_follows_last_data)
{
	struct fx f;
	const struct out *o;
	unsigned int from;

	fx_up(&f);
	from = log_.n;
	ck_assert_int_eq(send(f.afd, "bye", 3, 0), 3);
	ck_assert_int_eq(shutdown(f.afd, SHUT_WR), 0);
	o = pump_sockets(f.t, from, SN_TH_FIN);
	ck_assert_msg(o, "no FIN to the guest until it acknowledges the data");
	ck_assert_uint_eq(o->seq, f.isn + 4);
	o = find(from, SN_TH_PSH);
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(o->seq, f.isn + 1);
	ck_assert_mem_eq(o->data, "bye", 3);
	fx_down(&f);
}
END_TEST

/* What the guest acknowledged leaves the socket at the flush; when the
 * connection is dropped before (here: the guest closes it and opens another
 * on the same ports in one batch) it is read first, so that the close is
 * not one with unread data, which resets the peer */
START_TEST(close_in_the_batch_of_the_ack)
{
	struct sn_tcp *t = engine(false);
	uint64_t aborts = tcpext("TCPAbortOnClose");
	uint16_t port;
	int lfd = listener(&port), afd, bfd, i;
	char buf[16];
	unsigned int from;
	uint32_t isn;

	isn = handshake(t, lfd, port, &afd, false);
	from = log_.n;
	ck_assert_int_eq(send(afd, "bye", 3, 0), 3);
	for (i = 0; i < 25 && !find(from, SN_TH_PSH); i++)
		pump(t, 20);
	ck_assert_ptr_nonnull(find(from, SN_TH_PSH));
	/* the guest acknowledges it, closes its end, and opens a new
	 * connection from the same port, which drops the old one */
	guest(t, port, SN_TH_ACK | SN_TH_FIN, GUEST_ISN + 1, isn + 4, NULL);
	ck_assert_int_eq(recv(afd, buf, sizeof(buf), 0), 0);
	guest(t, port, SN_TH_SYN, GUEST_ISN + 100000, 0, NULL);
	bfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(bfd, 0);
	ck_assert_uint_eq(sn_tcp_stats(t)->total, 2);
	ck_assert_uint_eq(sn_tcp_stats(t)->open, 1);
	ck_assert_uint_eq(tcpext("TCPAbortOnClose"), aborts);
	close(afd);
	close(bfd);
	sn_tcp_free(t);
	close(lfd);
}
END_TEST

/* A segment whose ACK acknowledges what the engine never sent is answered
 * with an ACK and dropped whole, data included, as RFC 9293 (3.10.7.4) and
 * Linux do. */
START_TEST(ack_of_unsent_drops_segment)
{
	struct sn_tcp *t = engine(false);
	uint16_t port;
	int lfd = listener(&port), afd;
	char buf[16] = { 0 };
	uint32_t isn;

	isn = handshake(t, lfd, port, &afd, false);
	guest(t, port, SN_TH_ACK | SN_TH_PSH, GUEST_ISN + 1, isn + 1000,
	      "bogus");
	pump(t, 0);
	ck_assert_int_eq(recv(afd, buf, sizeof(buf), MSG_DONTWAIT), -1);
	/* and it was answered with an ACK of what the engine has */
	ck_assert_uint_eq(log_.f[log_.n - 1].flags, SN_TH_ACK);
	ck_assert_uint_eq(log_.f[log_.n - 1].ack, GUEST_ISN + 1);
	close(afd);
	sn_tcp_free(t);
	close(lfd);
}
END_TEST

/* Once the guest's FIN is in, a copy of it (the guest did not get our ACK)
 * is acknowledged again, as old data and old FINs are (RFC 9293,
 * 3.10.7.4); else the guest repeats its FIN until it gives up. */
START_TEST(fin_again_acknowledged)
{
	struct sn_tcp *t = engine(false);
	uint16_t port;
	int lfd = listener(&port), afd;
	const struct out *o;
	unsigned int from;
	char c;
	uint32_t isn;

	isn = handshake(t, lfd, port, &afd, false);
	from = log_.n;
	guest(t, port, SN_TH_ACK | SN_TH_FIN, GUEST_ISN + 1, isn + 1, NULL);
	ck_assert_int_eq(recv(afd, &c, 1, 0), 0); /* the peer reads its EOF */
	/* its ACK waits for the peer's own FIN to carry it, then goes */
	sn_tcp_flush(t);
	ck_assert_ptr_null(find(from, SN_TH_ACK));
	sn_tcp_timers(t, g_get_monotonic_time() / 1000 + SN_TCP_DELACK_MS);
	sn_tcp_flush(t);
	o = find(from, SN_TH_ACK);
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(o->ack, GUEST_ISN + 2);
	/* that ACK was lost: the guest sends its FIN again, and this time
	 * the ACK goes at once */
	from = log_.n;
	guest(t, port, SN_TH_ACK | SN_TH_FIN, GUEST_ISN + 1, isn + 1, NULL);
	sn_tcp_flush(t);
	o = find(from, SN_TH_ACK);
	ck_assert_msg(o, "the guest's FIN, sent again, is not acknowledged");
	ck_assert_uint_eq(o->ack, GUEST_ISN + 2);
	close(afd);
	sn_tcp_free(t);
	close(lfd);
}
END_TEST

START_TEST(refused)
{
	struct sn_tcp *t = engine(false);
	uint16_t port;
	int lfd = listener(&port), i;
	const struct out *o;

	close(lfd); /* nobody listens on @port now */
	guest(t, port, SN_TH_SYN, GUEST_ISN, 0, NULL);
	for (i = 0; i < 25 && !find(0, SN_TH_RST); i++)
		pump(t, 20);
	o = find(0, SN_TH_RST | SN_TH_ACK);
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(o->ack, GUEST_ISN + 1);
	ck_assert_uint_eq(sn_tcp_stats(t)->refused, 1);
	ck_assert_uint_eq(sn_tcp_stats(t)->open, 0);
	sn_tcp_free(t);
}
END_TEST

/* ---- a forward's connection: our SYN to the guest ---- */

/* The guest's service at 10.0.2.100:80, the client at 198.51.100.7:41000 */
static const struct pair to_client = { 0x0a000264, 0xc6336407, 80, 41000 };

/*
 * inbound() - a connected pair on loopback; the accepted end handed to the
 * engine as a forward's connection from 198.51.100.7:41000 to the guest's
 * port 80. Return: the client's end; the SYN logged
 */
static int inbound(struct sn_tcp *t, struct sn_fwd_stats *fst)
{
	uint16_t port;
	int lfd = listener(&port), cfd, afd;
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sn_tcp_inbound in = {
		.af = AF_INET,
		.client_port = 41000,
		.guest_port = 80,
		.fst = fst,
	};
	GError *err = NULL;

	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	ck_assert_int_ge(afd, 0);
	close(lfd);
	in.fd = afd;
	put32(in.client, 0xc6336407);
	put32(in.guest, 0x0a000264);
	memcpy(in.guest_mac, guest_mac, 6);
	ck_assert_msg(sn_tcp_accept(t, &in, &err), "%s",
		      err ? err->message : "");
	ck_assert_uint_eq(log_.n, 1);
	ck_assert_uint_eq(log_.f[0].flags, SN_TH_SYN);
	ck_assert_uint_eq(log_.f[0].dlen, 0);
	return cfd;
}

/* The guest answers the SYN: data goes both ways, counted per forward */
START_TEST(inbound_established)
{
	struct sn_fwd_stats *fst = g_atomic_rc_box_new0(struct sn_fwd_stats);
	struct sn_tcp *t = engine(false);
	int cfd = inbound(t, fst), i;
	uint32_t isn = log_.f[0].seq;
	char buf[16] = { 0 };
	const struct out *o;

	ck_assert_uint_eq(fst->conns_open, 1);
	segment(t, &to_client, SN_TH_SYN | SN_TH_ACK, GUEST_ISN, isn + 1, NULL);
	pump(t, 0);
	o = find(1, SN_TH_ACK);
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(o->seq, isn + 1);
	ck_assert_uint_eq(o->ack, GUEST_ISN + 1);
	ck_assert_int_eq(send(cfd, "hello", 5, 0), 5);
	for (i = 0; i < 25 && !find(1, SN_TH_PSH); i++)
		pump(t, 20);
	o = find(1, SN_TH_PSH);
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(o->seq, isn + 1);
	ck_assert_mem_eq(o->data, "hello", 5);
	segment(t, &to_client, SN_TH_ACK | SN_TH_PSH, GUEST_ISN + 1, isn + 6,
		"world");
	pump(t, 0);
	ck_assert_int_eq(recv(cfd, buf, sizeof(buf), 0), 5);
	ck_assert_str_eq(buf, "world");
	pump(t, 0); /* the release of what the guest acknowledged */
	ck_assert_uint_eq(fst->bytes_to_guest, 5);
	ck_assert_uint_eq(fst->bytes_from_guest, 5);
	close(cfd);
	sn_tcp_free(t);
	/* the engine gave its reference back */
	ck_assert_uint_eq(fst->conns_open, 0);
	ck_assert_uint_eq(fst->conns_total, 1);
	g_atomic_rc_box_release(fst);
}
END_TEST

/* The guest's RST (nothing listens on the port): the client is reset */
START_TEST(inbound_refused)
{
	struct sn_tcp *t = engine(false);
	int cfd = inbound(t, NULL);
	uint32_t isn = log_.f[0].seq;
	struct pollfd p = { .fd = cfd, .events = POLLIN };
	char c;

	/* an ACK of something else is answered with an RST, and ignored */
	segment(t, &to_client, SN_TH_SYN | SN_TH_ACK, GUEST_ISN, isn + 7, NULL);
	ck_assert_uint_eq(log_.n, 2);
	ck_assert_uint_eq(log_.f[1].flags, SN_TH_RST);
	ck_assert_uint_eq(log_.f[1].seq, isn + 7);
	ck_assert_uint_eq(sn_tcp_stats(t)->open, 1);
	segment(t, &to_client, SN_TH_RST | SN_TH_ACK, 0, isn + 1, NULL);
	ck_assert_uint_eq(sn_tcp_stats(t)->open, 0);
	ck_assert_uint_eq(sn_tcp_stats(t)->refused, 1);
	ck_assert_int_eq(poll(&p, 1, 5000), 1);
	ck_assert_int_eq(recv(cfd, &c, 1, 0), -1);
	ck_assert_int_eq(errno, ECONNRESET);
	close(cfd);
	sn_tcp_free(t);
}
END_TEST

/* No answer: the SYN again after the retransmission timeout */
START_TEST(inbound_syn_again)
{
	struct sn_tcp *t = engine(false);
	int cfd = inbound(t, NULL), i;
	uint32_t isn = log_.f[0].seq;

	ck_assert_int_le(sn_tcp_timeout_ms(t, g_get_monotonic_time() / 1000),
			 SN_TCP_RTO_MS);
	for (i = 0; i < 50 && log_.n < 2; i++)
		pump(t, 20);
	ck_assert_uint_ge(log_.n, 2);
	ck_assert_uint_eq(log_.f[1].flags, SN_TH_SYN);
	ck_assert_uint_eq(log_.f[1].seq, isn);
	close(cfd);
	sn_tcp_free(t);
}
END_TEST

static bool lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	ok = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
	ifr.ifr_flags |= IFF_UP;
	ok = ok && ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
	close(fd);
	return ok;
}

static Suite *tcp_suite(void)
{
	Suite *s = suite_create("tcp");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, fin_after_peer_close);
	tcase_add_test(tc, fin_after_peer_close_no_peek_off);
	tcase_add_test(tc, fin_peer_closed_while_connecting);
	tcase_add_test(tc, echo_peek_off);
	tcase_add_test(tc, echo_no_peek_off);
	tcase_add_test(tc, refused);
	tcase_add_test(tc, fin_peer_closed_while_connecting_no_peek_off);
	tcase_add_test(tc, ack_of_unsent_drops_segment);
	tcase_add_test(tc, fin_again_acknowledged);
	tcase_add_test(tc, inbound_established);
	tcase_add_test(tc, inbound_refused);
	tcase_add_test(tc, inbound_syn_again);
	tcase_add_test(tc, ack_rides_answer);
	tcase_add_test(tc, ack_delayed_alone);
	tcase_add_test(tc, ack_full_segment_at_once);
	tcase_add_test(tc, fin_follows_last_data);
	tcase_add_test(tc, close_in_the_batch_of_the_ack);
	tcase_add_test(tc, reorder_held_then_written);
	tcase_add_test(tc, dup_ack_per_segment_past_gap);
	tcase_add_test(tc, gap_filled_in_batch);
	tcase_add_test(tc, held_fin_after_data);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	/* the engine connects to what the guest asks: only to a loopback of
	 * our own */
	if ((unshare(CLONE_NEWNET) < 0 &&
	     unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) ||
	    !lo_up()) {
		fprintf(stderr,
			"test_tcp: no network namespace (%s): skipped\n",
			strerror(errno));
		return 77;
	}
	return sn_ck_run(tcp_suite(), CK_NORMAL);
}
