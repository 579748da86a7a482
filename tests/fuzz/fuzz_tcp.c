/* fuzz_tcp.c - libFuzzer target for the TCP flow engine: frames from the
 * guest, socket events and timers, against real sockets on loopback. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "csum.h"
#include "tcp.h"
#include "tcpseg.h"

/*
 * The target moves into a network namespace of its own, with only lo up,
 * where the engine's connect()s meet listeners of the target's (on
 * 127.0.0.1 and ::1, the gateway's addresses) and nothing else: any other
 * address is unreachable. Without such a namespace it refuses to run.
 *
 * Input: a configuration byte (bit 0: virtio-net header on the tap; bit 1:
 * MTU 65520, else 1500; bit 2: act as without SO_PEEK_OFF), then records,
 * each an opcode byte whose low three bits say what it is:
 *
 *   0 RAW	16-bit little-endian length, that many bytes: a frame
 *   1 SYN	4 bytes: [conn | IPv6 << 2] [server | address << 3]
 *		[MSS choice | WS present << 3 | WS << 4] [ISN choice]
 *   2 SEG	7 bytes: [conn] [TCP flags] [seq delta] [ack delta] (int8s)
 *		[data length, 16-bit LE] [window choice]
 *   3 ACK	1 byte: [conn | window choice << 2 | FIN << 4 | RST << 5 |
 *		100 bytes of data << 6]
 *   4 RESEND	3 bytes: [conn] [data length, 16-bit LE], from the
 *		engine's last ACK of the guest's data
 *   5 INBOUND	1 byte: [conn | IPv6 << 2 | client << 3 | address << 6]:
 *		a forward's connection to the guest's port 40000 + conn
 *		(sn_tcp_accept()), its client's end served like a
 *		listener's connection of that kind (echo, close, reset,
 *		bulk, silent), seen by the guest from that kind's port
 *   6-7	nothing: time passes
 *
 * The guest's side of four connections (ports 40000-40003) is kept from
 * the frames the engine sends: SEG, ACK and RESEND build a segment whose
 * sequence and acknowledgment numbers are relative to it, so the fuzzer
 * makes progress past the engine's random ISN. After each record the
 * listeners' connections are served, then the engine's socket events,
 * timers (a clock that moves by a step chosen by the opcode's high five
 * bits, up to hours) and flush run, as stack.c runs them. Every frame the
 * engine sends must be well formed: lengths, the IPv4 header checksum, the
 * TCP checksum (complete, or partial and then completing to one that
 * verifies), the MTU, GSO fields. The engine is freed after each input,
 * and every descriptor it opened must be closed by then.
 */

#define CONNS	   4
#define GPORT	   40000
#define SRV_MAX	   64
#define BULK_BYTES (256 * 1024)
#define FRAME_MAX  (sizeof(struct virtio_net_hdr) + SN_TCPSEG_HLEN_MAX + 65535)

enum srv_kind { ECHO, CLOSE, RESET, BULK, SILENT };
#define BULK_PORT 19

static const struct {
	uint16_t port;
	enum srv_kind kind;
} servers[] = {
	{ 7, ECHO }, { 9, CLOSE }, { 13, RESET }, { 19, BULK }, { 21, SILENT }
};

/* What SYN's server byte picks: a listener, or a port nobody listens on */
static const uint16_t ports[8] = { 7, 9, 13, 19, 21, 1, 7, 19 };

/* A connection the target accepted. */
struct srv {
	int fd;
	enum srv_kind kind;
	size_t sent;
	bool eof;
};

/* The guest's end of a connection. */
struct guest {
	bool used, have_rcv;
	bool have_isn; /* the engine's SYN-ACK seen: @isn is right */
	uint32_t isn;
	int af;
	uint16_t dport;
	uint8_t daddr[16];
	uint32_t snd_nxt; /* next sequence number the guest sends */
	uint32_t rcv_nxt; /* next in order from the engine */
	uint32_t eng_ack; /* the engine's last ACK */
	int ws;
};

static struct {
	int listeners[2][G_N_ELEMENTS(servers)];
	bool trace; /* FUZZ_TCP_TRACE set: print each frame to the guest */
	uint8_t pattern[65535];
	uint8_t frame[FRAME_MAX], check[FRAME_MAX];
} g;

/* One input's state. */
struct fz {
	struct sn_tcp *t;
	bool vnet;
	unsigned int mtu;
	gint64 now;
	struct guest conns[CONNS];
	struct srv srv[SRV_MAX];
	unsigned int n_srv;
};

static const uint8_t guest_mac[6] = { 0x02, 0x00, 0x0a, 0x00, 0x02, 0x64 };
static const uint8_t gw_mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };
static const uint8_t guest4[4] = { 10, 0, 2, 100 };
static const uint8_t guest6[16] = { 0xfd, 0, [14] = 0x01 };
/* the gateway, an address no route reaches, the DNS address */
static const uint8_t dst4[4][4] = {
	{ 10, 0, 2, 2 }, { 10, 0, 2, 2 }, { 192, 0, 2, 1 }, { 10, 0, 2, 3 }
};
static const uint8_t dst6[4][16] = { { 0xfd, 0, [15] = 2 },
				     { 0xfd, 0, [15] = 2 },
				     { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 },
				     { 0xfd, 0, [15] = 3 } };

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

/* log_writer() - drop messages; a critical or an error is a crash */
static GLogWriterOutput log_writer(GLogLevelFlags level, const GLogField *f,
				   gsize n, gpointer data)
{
	(void)data;
	if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)) {
		g_log_writer_standard_streams(level, f, n, NULL);
		abort();
	}
	return G_LOG_WRITER_HANDLED;
}

/* ---- the namespace and the listeners ---- */

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

/* listen_on() - a non-blocking listener on the loopback address of @af */
static int listen_on(int af, uint16_t port)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6,
				   .sin6_port = htons(port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(af, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (af == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if ((af == AF_INET
		 ? bind(fd, (struct sockaddr *)&s4, sizeof(s4))
		 : bind(fd, (struct sockaddr *)&s6, sizeof(s6))) < 0 ||
	    listen(fd, 64) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* count_fds() - descriptors open in this process */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		abort();
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own */
}

/* ---- the listeners' side ---- */

/* close_rst() - close @fd with an RST to its peer */
static void close_rst(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* serve() - what @s does when polled: echo, send its bulk, read to EOF */
static void serve(struct srv *s)
{
	uint8_t buf[16384];
	ssize_t n;

	/* the bulk stream: byte k is pattern[k % 65535], then the FIN */
	if (s->kind == BULK && s->sent < BULK_BYTES) {
		while (s->sent < BULK_BYTES) {
			size_t at = s->sent % sizeof(g.pattern);

			n = send(
			    s->fd, g.pattern + at,
			    MIN(sizeof(g.pattern) - at, BULK_BYTES - s->sent),
			    MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n <= 0)
				break;
			s->sent += (size_t)n;
		}
		if (s->sent >= BULK_BYTES)
			shutdown(s->fd, SHUT_WR);
	}
	while (!s->eof) {
		n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			return;
		if (n == 0) {
			s->eof = true;
			if (s->kind != BULK)
				shutdown(s->fd, SHUT_WR);
			return;
		}
		if (s->kind == ECHO)
			send(s->fd, buf, (size_t)n,
			     MSG_DONTWAIT | MSG_NOSIGNAL);
	}
}

/* serve_all() - accept what the listeners hold, serve every connection */
static void serve_all(struct fz *z)
{
	unsigned int i, af;
	int fd;

	for (af = 0; af < 2; af++) {
		for (i = 0; i < G_N_ELEMENTS(servers); i++) {
			if (servers[i].kind == SILENT)
				continue;
			while ((fd = accept4(g.listeners[af][i], NULL, NULL,
					     SOCK_NONBLOCK | SOCK_CLOEXEC)) >=
			       0) {
				if (servers[i].kind == CLOSE) {
					close(fd);
				} else if (servers[i].kind == RESET ||
					   z->n_srv == SRV_MAX) {
					close_rst(fd);
				} else {
					z->srv[z->n_srv++] =
					    (struct srv){ .fd = fd,
							  .kind =
							      servers[i].kind };
				}
			}
		}
	}
	for (i = 0; i < z->n_srv; i++)
		serve(&z->srv[i]);
}

/* drain() - the end of an input: every connection of the listeners gone */
static void drain(struct fz *z)
{
	unsigned int i, af;
	int fd;

	for (i = 0; i < z->n_srv; i++)
		close_rst(z->srv[i].fd);
	z->n_srv = 0;
	for (af = 0; af < 2; af++)
		for (i = 0; i < G_N_ELEMENTS(servers); i++)
			while ((fd = accept4(g.listeners[af][i], NULL, NULL,
					     SOCK_CLOEXEC)) >= 0)
				close_rst(fd);
}

/* ---- frames to the guest ---- */

/* verifies() - does the TCP checksum of @th (@tcp_len bytes) verify with
 * the pseudo-header of the IP header at @ip? */
static bool verifies(const uint8_t *ip, int af, const uint8_t *th,
		     size_t tcp_len)
{
	uint8_t ph[40] = { 0 };
	size_t n;

	if (af == AF_INET) {
		memcpy(ph, ip + 12, 8);
		ph[9] = 6;
		put16(ph + 10, (uint16_t)tcp_len);
		n = 12;
	} else {
		memcpy(ph, ip + 8, 32);
		put32(ph + 32, (uint32_t)tcp_len);
		ph[39] = 6;
		n = 40;
	}
	return sn_csum_fold(sn_csum_add(th, tcp_len, sn_csum_add(ph, n, 0))) ==
	       0;
}

/* check_bulk() - the bulk listener's data and FIN, where they belong in
 * its stream: whatever the guest did, each byte the engine sends is the
 * one at its sequence number */
static void check_bulk(const struct guest *c, const struct sn_tcpseg *seg)
{
	uint32_t off = seg->seq - (c->isn + 1);
	size_t i;

	if (seg->flags & SN_TH_SYN)
		return;
	if (seg->dlen && (off > BULK_BYTES || seg->dlen > BULK_BYTES - off)) {
		fprintf(stderr, "fuzz_tcp: bulk data at %u+%zu, past its end\n",
			off, seg->dlen);
		abort();
	}
	for (i = 0; i < seg->dlen; i++) {
		if (seg->data[i] != g.pattern[(off + i) % sizeof(g.pattern)]) {
			fprintf(stderr,
				"fuzz_tcp: bulk byte %zu of %u+%zu is wrong\n",
				i, off, seg->dlen);
			abort();
		}
	}
	if ((seg->flags & SN_TH_FIN) && off + seg->dlen != BULK_BYTES) {
		fprintf(stderr, "fuzz_tcp: bulk FIN at %zu, not %u\n",
			off + seg->dlen, BULK_BYTES);
		abort();
	}
}

/* learn() - the guest's side of what @seg, from the engine, says */
static void learn(struct fz *z, const struct sn_tcpseg *seg)
{
	struct guest *c;
	uint32_t end;

	if (seg->dport < GPORT || seg->dport >= GPORT + CONNS)
		return;
	c = &z->conns[seg->dport - GPORT];
	/* the whole address pair: a connection the model has let go of may
	 * still send from the same ports (an older one of the same slot) */
	if (!c->used || c->af != seg->af || seg->sport != c->dport ||
	    memcmp(seg->saddr, c->daddr, c->af == AF_INET ? 4 : 16) != 0)
		return;
	if (seg->flags & SN_TH_ACK)
		c->eng_ack = seg->ack;
	if (seg->flags & SN_TH_RST)
		return;
	end = seg->seq + (uint32_t)seg->dlen +
	      !!(seg->flags & (SN_TH_SYN | SN_TH_FIN));
	if (c->have_isn && c->dport == BULK_PORT)
		check_bulk(c, seg);
	if (seg->flags & SN_TH_SYN) {
		c->rcv_nxt = end;
		c->have_rcv = true;
		c->isn = seg->seq;
		c->have_isn = true;
	} else if (c->have_rcv && sn_seq_le(seg->seq, c->rcv_nxt) &&
		   sn_seq_lt(c->rcv_nxt, end)) {
		c->rcv_nxt = end;
	}
}

/* tap() - a frame from the engine: check it whole, learn from it */
static void tap(const struct iovec *iov, int iovcnt, void *opaque)
{
	struct fz *z = opaque;
	struct virtio_net_hdr vh = { 0 };
	size_t len = 0, off = 0, flen, iph, tcp_len, thlen, dlen;
	const uint8_t *f, *ip, *th;
	struct sn_tcpseg seg;
	struct sn_ip pkt;
	uint8_t *ck;
	uint16_t c;
	int af, i;

	for (i = 0; i < iovcnt; i++) {
		if (len + iov[i].iov_len > sizeof(g.frame))
			abort();
		memcpy(g.frame + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	if (z->vnet) {
		if (len < sizeof(vh))
			abort();
		memcpy(&vh, g.frame, sizeof(vh));
		off = sizeof(vh);
	}
	f = g.frame + off;
	flen = len - off;
	if (flen < 14)
		abort();
	ip = f + 14;
	if (get16(f + 12) == 0x0800) {
		af = AF_INET;
		iph = 20;
		if (flen < 14 + 20 || ip[0] != 0x45 || ip[9] != 6 ||
		    get16(ip + 2) != flen - 14 || get16(ip + 6) != 0x4000 ||
		    sn_csum_fold(sn_csum_add(ip, 20, 0)) != 0)
			abort();
	} else if (get16(f + 12) == 0x86dd) {
		af = AF_INET6;
		iph = 40;
		if (flen < 14 + 40 || ip[0] >> 4 != 6 || ip[6] != 6 ||
		    get16(ip + 4) != flen - 14 - 40)
			abort();
	} else {
		abort();
	}
	th = ip + iph;
	tcp_len = flen - 14 - iph;
	thlen = (size_t)(th[12] >> 4) * 4;
	if (tcp_len < 20 || thlen < 20 || thlen > tcp_len)
		abort();
	dlen = tcp_len - thlen;
	/* options only on a SYN or SYN-ACK, which always has the MSS first */
	if (thlen > 20 && !(th[13] & SN_TH_SYN))
		abort();
	if ((th[13] & SN_TH_SYN) &&
	    (thlen < 24 || th[20] != 2 || th[21] != 4 ||
	     get16(th + 22) + iph + 20 > z->mtu || (th[13] & SN_TH_RST)))
		abort();
	if (!z->vnet) {
		if (flen - 14 > z->mtu || !verifies(ip, af, th, tcp_len))
			abort();
	} else {
		if (vh.flags != VIRTIO_NET_HDR_F_NEEDS_CSUM ||
		    vh.csum_start != 14 + iph ||
		    vh.csum_offset != SN_TCPSEG_CSUM_OFF)
			abort();
		if (vh.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
			if (flen - 14 > z->mtu)
				abort();
		} else if (vh.gso_type != (af == AF_INET
					       ? VIRTIO_NET_HDR_GSO_TCPV4
					       : VIRTIO_NET_HDR_GSO_TCPV6) ||
			   !vh.gso_size || vh.hdr_len != 14 + iph + thlen ||
			   dlen <= vh.gso_size ||
			   vh.gso_size + iph + 20 > z->mtu) {
			abort();
		}
		/* complete the checksum as the guest's kernel does */
		memcpy(g.check, th, tcp_len);
		ck = g.check;
		c = sn_csum_fold(sn_csum_add(ck, tcp_len, 0));
		memcpy(ck + SN_TCPSEG_CSUM_OFF, &c, sizeof(c));
		if (!verifies(ip, af, ck, tcp_len))
			abort();
	}
	/* what the engine sends parses as TCP */
	sn_ip_parse(f, flen, &pkt);
	if (sn_tcpseg_parse(&pkt, &seg) != SN_TCPSEG_OK || seg.dlen != dlen)
		abort();
	if (g.trace)
		fprintf(stderr,
			"to guest port %u: flags %02x seq %u ack %u win %u len "
			"%zu%s\n",
			seg.dport, seg.flags, seg.seq, seg.ack, seg.win,
			seg.dlen, z->vnet && vh.gso_type ? " (GSO)" : "");
	learn(z, &seg);
}

/* ---- frames from the guest ---- */

/* input() - the frame @f from the guest, parsed, to the engine */
static void input(struct sn_tcp *t, const uint8_t *f, size_t len)
{
	struct sn_ip ip;

	sn_ip_parse(f, len, &ip);
	sn_tcp_input(t, &ip);
}

/* guest_frame() - a segment of @c to the engine, in a buffer of its own
 * size */
static void guest_frame(struct fz *z, const struct guest *c, unsigned int idx,
			uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win,
			const uint8_t *opt, size_t optlen, size_t dlen)
{
	size_t iph = c->af == AF_INET ? 20 : 40, len;
	size_t max = 65535 - (c->af == AF_INET ? 20 : 0) - 20 - optlen;
	uint8_t *f, *ip, *th;

	dlen = MIN(dlen, max);
	len = 14 + iph + 20 + optlen + dlen;
	f = calloc(1, len);
	ip = f + 14;
	memcpy(f, gw_mac, 6);
	memcpy(f + 6, guest_mac, 6);
	if (c->af == AF_INET) {
		put16(f + 12, 0x0800);
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(len - 14));
		ip[6] = 0x40;
		ip[8] = 64;
		ip[9] = 6;
		memcpy(ip + 12, guest4, 4);
		memcpy(ip + 16, c->daddr, 4);
	} else {
		put16(f + 12, 0x86dd);
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)(len - 14 - 40));
		ip[6] = 6;
		ip[7] = 64;
		memcpy(ip + 8, guest6, 16);
		memcpy(ip + 24, c->daddr, 16);
	}
	th = ip + iph;
	put16(th, (uint16_t)(GPORT + idx));
	put16(th + 2, c->dport);
	put32(th + 4, seq);
	put32(th + 8, ack);
	th[12] = (uint8_t)(((20 + optlen) / 4) << 4);
	th[13] = flags;
	put16(th + 14, win);
	if (optlen)
		memcpy(th + 20, opt, optlen);
	memcpy(th + 20 + optlen, g.pattern, dlen);
	input(z->t, f, len);
	free(f);
}

/* rec_syn() - a new connection from the guest's side */
static void rec_syn(struct fz *z, const uint8_t *r)
{
	static const uint16_t mss[8] = {
		0, 1, 64, 536, 1460, 8960, 65495, 65535
	};
	static const uint32_t isn[5] = { 0, 0xffffffffu, 0xfffffff0u,
					 0x7fffffffu, 0x80000000u };
	unsigned int idx = r[0] & 3;
	struct guest *c = &z->conns[idx];
	uint8_t opt[8];
	size_t optlen = 0;

	*c = (struct guest){ .used = true,
			     .af = (r[0] & 4) ? AF_INET6 : AF_INET,
			     .dport = ports[r[1] & 7],
			     .ws = -1 };
	if (c->af == AF_INET)
		memcpy(c->daddr, dst4[(r[1] >> 3) & 3], 4);
	else
		memcpy(c->daddr, dst6[(r[1] >> 3) & 3], 16);
	if (mss[r[2] & 7]) {
		opt[optlen++] = 2;
		opt[optlen++] = 4;
		put16(opt + optlen, mss[r[2] & 7]);
		optlen += 2;
	}
	if (r[2] & 8) {
		c->ws = r[2] >> 4;
		opt[optlen++] = 1;
		opt[optlen++] = 3;
		opt[optlen++] = 3;
		opt[optlen++] = (uint8_t)c->ws;
	}
	c->snd_nxt = r[3] < 5 ? isn[r[3]] : r[3] * 0x01010101u;
	guest_frame(z, c, idx, SN_TH_SYN, c->snd_nxt, 0, 65535, opt, optlen, 0);
	c->snd_nxt++;
}

/* pair() - a connected pair on loopback: the accepted end (non-blocking)
 * in @afd, the client's returned; -1 if the kernel refused */
static int pair(int af, int *afd)
{
	struct sockaddr_storage sa = { .ss_family = (sa_family_t)af };
	socklen_t len = af == AF_INET ? sizeof(struct sockaddr_in)
				      : sizeof(struct sockaddr_in6);
	int lfd = socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0), cfd = -1;

	if (af == AF_INET)
		((struct sockaddr_in *)&sa)->sin_addr.s_addr =
		    htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&sa)->sin6_addr = in6addr_loopback;
	*afd = -1;
	if (lfd < 0)
		return -1;
	if (!bind(lfd, (struct sockaddr *)&sa, len) && !listen(lfd, 1) &&
	    !getsockname(lfd, (struct sockaddr *)&sa, &len)) {
		cfd = socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (cfd >= 0 && !connect(cfd, (struct sockaddr *)&sa, len))
			*afd = accept4(lfd, NULL, NULL,
				       SOCK_NONBLOCK | SOCK_CLOEXEC);
	}
	close(lfd);
	if (*afd < 0 && cfd >= 0) {
		close(cfd);
		cfd = -1;
	}
	return cfd;
}

/* rec_inbound() - a forward's connection toward the guest */
static void rec_inbound(struct fz *z, uint8_t r)
{
	unsigned int idx = r & 3, k = ((r >> 3) & 7) % G_N_ELEMENTS(servers);
	struct guest *c = &z->conns[idx];
	struct sn_tcp_inbound in = { .guest_port = (uint16_t)(GPORT + idx) };
	int cfd, afd;

	in.af = (r & 4) ? AF_INET6 : AF_INET;
	if (z->n_srv == SRV_MAX || (cfd = pair(in.af, &afd)) < 0)
		return;
	*c = (struct guest){ .used = true,
			     .af = in.af,
			     .dport = servers[k].port,
			     .ws = -1,
			     .snd_nxt = 0xfffffff0u };
	if (in.af == AF_INET) {
		memcpy(c->daddr, dst4[r >> 6], 4);
		memcpy(in.guest, guest4, 4);
	} else {
		memcpy(c->daddr, dst6[r >> 6], 16);
		memcpy(in.guest, guest6, 16);
	}
	memcpy(in.client, c->daddr, 16);
	in.client_port = c->dport;
	in.fd = afd;
	memcpy(in.guest_mac, guest_mac, 6);
	if (!sn_tcp_accept(z->t, &in, NULL)) {
		close(afd);
		close(cfd);
		c->used = false;
		return;
	}
	if (servers[k].kind == RESET) {
		close_rst(cfd);
		return;
	}
	z->srv[z->n_srv++] = (struct srv){ .fd = cfd, .kind = servers[k].kind };
	if (servers[k].kind == CLOSE)
		shutdown(cfd, SHUT_WR);
}

/* window() - a window field from a choice byte */
static uint16_t window(uint8_t b)
{
	static const uint16_t w[8] = {
		0, 1, 2, 100, 1460, 16384, 65535, 32768
	};

	return b < 8 ? w[b] : (uint16_t)(b * 257);
}

/* rec_seg() - a segment relative to the guest's state */
static void rec_seg(struct fz *z, const uint8_t *r)
{
	unsigned int idx = r[0] & 3;
	struct guest *c = &z->conns[idx];
	uint8_t flags = r[1];
	int8_t dseq = (int8_t)r[2], dack = (int8_t)r[3];
	size_t dlen = (size_t)r[4] | (size_t)r[5] << 8;

	if (!c->used)
		return;
	guest_frame(z, c, idx, flags, c->snd_nxt + (uint32_t)dseq,
		    c->rcv_nxt + (uint32_t)dack, window(r[6]), NULL, 0, dlen);
	if (!dseq && !(flags & SN_TH_RST))
		c->snd_nxt += (uint32_t)dlen + !!(flags & SN_TH_SYN) +
			      !!(flags & SN_TH_FIN);
}

/* rec_ack() - what a well-behaved guest sends: an ACK of all it got */
static void rec_ack(struct fz *z, uint8_t r)
{
	static const uint16_t w[4] = { 65535, 0, 1000, 8 };
	unsigned int idx = r & 3;
	struct guest *c = &z->conns[idx];
	uint8_t flags = SN_TH_ACK;
	size_t dlen = (r & 0x40) ? 100 : 0;

	if (!c->used)
		return;
	if (r & 0x10)
		flags |= SN_TH_FIN;
	if (r & 0x20)
		flags |= SN_TH_RST;
	guest_frame(z, c, idx, flags, c->snd_nxt, c->rcv_nxt, w[(r >> 2) & 3],
		    NULL, 0, dlen);
	if (!(flags & SN_TH_RST))
		c->snd_nxt += (uint32_t)dlen + !!(flags & SN_TH_FIN);
}

/* rec_resend() - data again from what the engine last acknowledged */
static void rec_resend(struct fz *z, const uint8_t *r)
{
	unsigned int idx = r[0] & 3;
	struct guest *c = &z->conns[idx];
	size_t dlen = (size_t)r[1] | (size_t)r[2] << 8;
	uint32_t end;

	if (!c->used)
		return;
	guest_frame(z, c, idx, SN_TH_ACK | SN_TH_PSH, c->eng_ack, c->rcv_nxt,
		    65535, NULL, 0, dlen);
	end = c->eng_ack + (uint32_t)dlen;
	if (sn_seq_lt(c->snd_nxt, end))
		c->snd_nxt = end;
}

/* step() - what the main loop does after a batch: serve the listeners'
 * connections, then the engine's sockets, timers and flush */
static void step(struct fz *z, uint8_t op)
{
	static const gint64 ms[32] = {
		0,	0,	 0,	  0,	   1,	    10,	     100,
		150,	200,	 250,	  400,	   800,	    1600,    3200,
		6400,	10000,	 20000,	  30000,   60000,   60001,   120000,
		300000, 3600000, 7200000, 7200001, 7260000, 7320000, 0,
		0,	1,	 2,	  5
	};
	gint64 left;

	serve_all(z);
	sn_tcp_sock_events(z->t);
	z->now += ms[op >> 3];
	sn_tcp_timers(z->t, z->now);
	sn_tcp_flush(z->t);
	left = sn_tcp_timeout_ms(z->t, z->now);
	if (left < -1 || sn_tcp_stats(z->t)->open > SN_TCP_CONNS_MAX)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsigned int i, af;
	size_t k;

	(void)argc;
	(void)argv;
	g_log_set_writer_func(log_writer, NULL, NULL);
	if ((unshare(CLONE_NEWNET) < 0 &&
	     unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) ||
	    !lo_up()) {
		fprintf(stderr,
			"fuzz_tcp: no network namespace of its own (%s): the "
			"engine would connect to the host's addresses\n",
			strerror(errno));
		exit(1);
	}
	for (af = 0; af < 2; af++) {
		for (i = 0; i < G_N_ELEMENTS(servers); i++) {
			g.listeners[af][i] =
			    listen_on(af ? AF_INET6 : AF_INET, servers[i].port);
			if (g.listeners[af][i] < 0) {
				fprintf(stderr, "fuzz_tcp: cannot listen: %s\n",
					strerror(errno));
				exit(1);
			}
		}
	}
	for (k = 0; k < sizeof(g.pattern); k++)
		g.pattern[k] = (uint8_t)(k * 7 + (k >> 8));
	g.trace = getenv("FUZZ_TCP_TRACE") != NULL;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz z;
	struct sn_tcp_config cfg = {
		.network.s_addr = htonl(0x0a000200),
		.netmask.s_addr = htonl(0xffffff00),
		.gateway.s_addr = htonl(0x0a000202),
		.dns.s_addr = htonl(0x0a000203),
		.ipv6 = true,
		.prefix6_len = 64,
	};
	size_t n;
	uint8_t op;
	int fds;

	if (!size)
		return 0;
	/* counted at each input: libFuzzer opens pipes to its symbolizer
	 * between inputs */
	fds = count_fds();
	memcpy(cfg.prefix6.s6_addr, dst6[0], 8);
	memcpy(cfg.gateway6.s6_addr, dst6[0], 16);
	memcpy(cfg.dns6.s6_addr, dst6[3], 16);
	cfg.vnet = data[0] & 1;
	cfg.mtu = (data[0] & 2) ? 65520 : 1500;
	cfg.no_peek_off = data[0] & 4;
	memset(&z, 0, sizeof(z));
	z.vnet = cfg.vnet;
	z.mtu = cfg.mtu;
	z.now = g_get_monotonic_time() / 1000;
	z.t = sn_tcp_new(&cfg, tap, &z, NULL);
	if (!z.t)
		abort();
	data++;
	size--;
	while (size) {
		op = *data++;
		size--;
		switch (op & 7) {
		case 0:
			if (size < 2) {
				size = 0;
				break;
			}
			n = MIN((size_t)data[0] | (size_t)data[1] << 8,
				size - 2);
			{
				uint8_t *f = malloc(n ? n : 1);

				memcpy(f, data + 2, n);
				input(z.t, f, n);
				free(f);
			}
			data += 2 + n;
			size -= 2 + n;
			break;
		case 1:
			if (size < 4) {
				size = 0;
				break;
			}
			rec_syn(&z, data);
			data += 4;
			size -= 4;
			break;
		case 2:
			if (size < 7) {
				size = 0;
				break;
			}
			rec_seg(&z, data);
			data += 7;
			size -= 7;
			break;
		case 3:
			if (size < 1)
				break;
			rec_ack(&z, data[0]);
			data++;
			size--;
			break;
		case 4:
			if (size < 3) {
				size = 0;
				break;
			}
			rec_resend(&z, data);
			data += 3;
			size -= 3;
			break;
		case 5:
			if (size < 1)
				break;
			rec_inbound(&z, data[0]);
			data++;
			size--;
			break;
		default:
			break;
		}
		step(&z, op);
	}
	sn_tcp_free(z.t);
	drain(&z);
	if (count_fds() != fds) {
		fprintf(stderr, "fuzz_tcp: %d descriptors open, %d before\n",
			count_fds(), fds);
		abort();
	}
	return 0;
}
