/* tcp.c - the TCP flow engine: each TCP connection the guest opens is ended
 * here and carried on by a host kernel socket; libslirp never sees it. */
#include <errno.h>
#include <linux/sock_diag.h>
#include <linux/virtio_net.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fastfwd.h"
#include "log.h"
#include "tcp.h"
#include "tcpooo.h"
#include "tcpseg.h"

/*
 * Theory of operation
 *
 * The guest's TCP peer is a host kernel socket; slirpnetd keeps only the
 * sequence numbers between the two, and no stream buffer of its own.
 *
 * - Forwards. A connection a forward accepted on the host, from a client
 *   that is to be seen as it is, comes with its socket (sn_tcp_accept()):
 *   the engine sends the guest a SYN from the client's address and port
 *   (retransmitted as a SYN-ACK is), and the guest's SYN-ACK establishes
 *   it; the guest's RST resets the client. From then on it is one
 *   connection like the others.
 *
 * - Opening. A SYN (without ACK) from the guest to an address the engine
 *   takes (below) creates a connection and a non-blocking socket whose
 *   connect() starts at once. The guest hears nothing until connect() is
 *   over: then a SYN-ACK (with our MSS, from the MTU, and window scaling if
 *   the guest offered it), or, if it failed, an RST, so the guest's
 *   program sees ECONNREFUSED as the peer gave it. The guest's ACK of the
 *   SYN-ACK establishes the connection.
 *
 * - Guest -> socket. An in-order segment's data is written to the socket
 *   at once, with one send() whatever its size (the guest's 64 KiB TSO
 *   frames too). Only what send() took is acknowledged, so what the socket
 *   refused is retransmitted by the guest; an old segment is answered
 *   with an ACK. A segment past a gap (frames reordered on the guest's
 *   way to the tap, or one lost) is held in the connection's out-of-order
 *   queue (tcpooo.c) and written once the gap is filled; each brings a
 *   pure duplicate ACK at the flush while the gap stays open, all with
 *   the same window, so that the guest, which has neither SACK nor
 *   timestamps here, retransmits what is missing at once and not after
 *   a timeout that doubles. The window advertised is the socket's free
 *   send buffer (SO_MEMINFO), but at least the window of the socket's
 *   peer (TCP_INFO) while the socket takes everything (see sock_wnd()),
 *   scaled if negotiated. ACKs are sent once a batch, one a
 *   connection, at the flush; data the socket took whole is acknowledged
 *   at the flush if a segment was full (one of the guest's 64 KiB frames
 *   is dozens of its wire segments: holding its ACK back slows the
 *   guest's sending) or two segments' worth came, else it waits up to
 *   SN_TCP_DELACK_MS for the socket's answer to carry it, as a
 *   request's does: a round trip costs one
 *   frame to the guest, not two; so does a FIN, for the peer's FIN (as
 *   Linux does). When the socket took less than the guest
 *   sent, the ACKs that follow its next EPOLLOUT are sent four times: a
 *   window update, then three duplicates for the guest's fast retransmit.
 *   A FIN from the guest, in order, becomes shutdown(SHUT_WR).
 *
 * - Socket -> guest. Data waits in the socket until the guest acknowledges
 *   it: it is read with MSG_PEEK past what is in flight (SO_PEEK_OFF keeps
 *   the offset, Linux 6.9 and later; before, the bytes in flight are
 *   peeked again into a discard buffer), cut into segments of the guest's
 *   window, and dropped from the socket with recv(MSG_TRUNC) once the
 *   guest has acknowledged it (at the flush: one call for a batch of
 *   ACKs; not later: what the socket holds closes its window to the
 *   peer). With a virtio-net header on the tap, segments go
 *   as frames of up to 64 KiB (GSO, the checksum left to the guest's
 *   kernel); without, as frames of the MSS with their checksums. The
 *   socket's end of file becomes a FIN after the data.
 *
 * - Retransmission. Go-back-N: on a timeout (SN_TCP_RTO_MS, doubling up to
 *   SN_TCP_RTO_MAX_MS) or on three duplicate ACKs, everything past the
 *   guest's last ACK is sent again from the socket. SN_TCP_RETRIES_MAX
 *   timeouts without progress reset both ends. A zero window is probed on
 *   the same timer; a connection quiet for SN_TCP_IDLE_MS gets keep-alive
 *   probes, and is reset when SN_TCP_PROBES_MAX go unanswered. The host
 *   side has the kernel's own keep-alive (SO_KEEPALIVE).
 *
 * - Closing. When both FINs have been sent and acknowledged the connection
 *   is freed and the socket closed (the kernel sends what it still holds).
 *   An RST from the guest closes the socket with an RST to its peer
 *   (SO_LINGER 0); a socket error becomes an RST to the guest.
 *
 * - What the engine takes: IPv4 and IPv6 TCP, not fragmented, to any
 *   address but the DNS address and the rest of the virtual network
 *   (libslirp's), the gateway meaning the host's loopback (with
 *   --disable-host-loopback the gateway is left to libslirp, which refuses
 *   it as it always has). A segment of no connection of the engine's that
 *   is not a SYN is libslirp's: libslirp's own connections (forwards in
 *   "slirp" mode) go on working.
 *
 * - State. A connection is a set of event bits (SYN-ACK sent, established,
 *   FINs each way) and sequence numbers named by direction. Connections
 *   are found from frames by a hash of the address pair with a random key,
 *   and from socket events by the epoll data. Timers are a deadline per
 *   connection on one list; the list is scanned when its earliest
 *   deadline is due. Delayed ACKs, all of one length, wait on a list of
 *   their own in the order they were made, so only its head is looked
 *   at. The idle sweep runs once a minute while there are connections:
 *   an idle engine sets no timer at all.
 *
 * - Limits. SN_TCP_CONNS_MAX connections, SN_TCP_HALF_OPEN_MAX of them
 *   not established yet (connecting, or waiting for the guest's ACK of the
 *   SYN-ACK: what a SYN flood makes); past either a SYN gets an RST and a
 * rate-limited warning. Nothing else grows with the guest's input: the scratch
 * buffer is one SN_TCP_PEEK_MAX for all connections, and the out-of-order
 * queues hold at most SN_TCPOOO_CONN_MAX bytes a connection and
 * SN_TCPOOO_MAX in all (past either, a segment is dropped and sent again).
 */

#define TICK_SWEEP_MS	 (60 * 1000)
#define HASH_BUCKETS	 4096 /* a power of two */
#define EVENTS_BATCH	 128
#define WS_TO_GUEST	 7 /* 8 MiB windows and more */
#define MSS_DEFAULT	 536
#define DUP_ACKS	 3
#define DUPS_MAX	 8 /* duplicate ACKs for segments past a gap, a flush */
#define WWATCH_MAX_MS	 256
#define DISCARD_MAX	 (4 * SN_TCP_PEEK_MAX)
#define GSO_PAYLOAD_MAX4 (65535 - 20 - 20)
#define GSO_PAYLOAD_MAX6 (65535 - 20)

/* A connection's event bits: what has happened so far. */
enum {
	C_CONNECTING = 1 << 0,	/* SYN from the guest, connect() going on */
	C_SYNACK_SENT = 1 << 1, /* connect() done, SYN-ACK sent */
	C_ESTABLISHED = 1 << 2, /* the guest acknowledged the SYN-ACK */
	C_GUEST_FIN = 1 << 3,	/* the guest's FIN: socket shut for writing */
	C_SOCK_EOF = 1 << 4,	/* the socket's end of file read */
	C_FIN_SENT = 1 << 5,	/* our FIN is in flight to the guest */
	C_FIN_ACKED = 1 << 6,	/* the guest acknowledged it */
	C_SYN_SENT = 1 << 7,	/* a forward's: our SYN sent to the guest, its
				 * SYN-ACK not come yet */
};

/* A connection's flags: what is to be done. */
enum {
	F_ACK_NOW = 1 << 0,    /* an ACK at the flush */
	F_WAIT_SPACE = 1 << 1, /* the socket took less than the guest sent */
	F_DUP_ACKS = 1 << 2,   /* the next ACK goes with three duplicates */
	F_SOCK_HUP = 1 << 3,   /* the peer's end of file is in the socket */
	F_SOCK_DRY = 1 << 4,   /* the last peek found all there was: no new
				* one until the socket reports input */
	F_UNHELD = 1 << 5,     /* a segment past a gap could not be held */
};

/* A doubly linked list node; a list is a node of its own (empty: itself). */
struct node {
	struct node *prev, *next;
};

/* Who is talking to whom: the guest's end, then the remote end. */
struct conn_key {
	uint8_t gaddr[16], raddr[16];
	uint16_t gport, rport;
	uint8_t af;
};

struct conn {
	struct conn *hnext; /* hash chain */
	struct node timer;  /* on t->timers while a deadline is set */
	struct node pend;   /* on t->pending while the flush has work */
	struct node wwatch; /* on t->wwatch while its window is small */
	struct node delack; /* on t->delacks while an ACK is held back */
	int fd;
	uint8_t events, flags;
	uint8_t ws_from_guest, ws_to_guest;
	uint8_t retries, dupacks, probes;
	uint8_t dups; /* segments past a gap this batch: duplicate ACKs owed */
	uint16_t mss; /* segment payload to the guest */
	uint32_t seq_init_to_guest;
	uint32_t seq_to_guest;	     /* next sequence number to the guest */
	uint32_t seq_max_to_guest;   /* the highest sent, before a go-back */
	uint32_t seq_fin_to_guest;   /* our FIN's, once C_SOCK_EOF */
	uint32_t seq_rel_to_guest;   /* acknowledged data up to here is gone
				      * from the socket (released at the
				      * flush, once for a batch of ACKs) */
	uint32_t seq_ack_from_guest; /* the guest's last ACK */
	uint32_t seq_from_guest;     /* next byte expected from the guest */
	uint32_t seq_acked_to_guest; /* the last ACK number sent to it */
	uint32_t wnd_from_guest;     /* its window, scaled */
	uint32_t rto_ms;
	int64_t room; /* the socket's room when last asked, less what was
		       * written since: it only grows otherwise */
	gint64 deadline_ms, last_ms;
	gint64 delack_ms;	  /* when the held-back ACK is due */
	struct sn_fwd_stats *fst; /* a forward's counters (a reference of
				   * g_atomic_rc_box), or NULL */
	struct sn_tcpooo ooo;	  /* the guest's segments past a gap */
	struct conn_key key;
	struct sn_tcpseg_tmpl tmpl;
};

struct sn_tcp {
	struct sn_tcp_config cfg;
	sn_tcp_tap_fn tap;
	void *opaque;
	int epfd;
	struct conn **buckets;
	uint64_t hkey[2];
	unsigned int n_conns, n_half_open;
	struct node timers, pending, wwatch, delacks;
	gint64 next_timer_ms, next_sweep_ms;
	gint64 next_wwatch_ms, wwatch_ms; /* window watch: next, interval */
	bool no_peek_off; /* the kernel has no SO_PEEK_OFF for TCP */
	unsigned int drop_count;
	unsigned int reorder_count; /* tests: cfg.reorder_every */
	uint8_t *late;		    /* tests: the frame held back, or NULL */
	size_t late_len;
	bool late_now; /* tests: that frame is being taken */
	struct sn_tcp_stats stats;
	struct sn_tcpooo_pool ooo; /* what all connections' queues hold */
	uint8_t gw_mac[6]; /* libslirp's: 52:55 and the gateway's address */
	struct sn_ratelimit rl_full, rl_sock;
	uint8_t *scratch; /* SN_TCP_PEEK_MAX, on first use */
	uint8_t *discard; /* DISCARD_MAX, on first use, without SO_PEEK_OFF */
};

#define CONN_OF(n, field)                                                      \
	((struct conn *)(void *)((char *)(n)-offsetof(struct conn, field)))

/* ---- lists ---- */

static void node_init(struct node *n)
{
	n->prev = n->next = n;
}

static bool node_linked(const struct node *n)
{
	return n->next != n;
}

static void node_add(struct node *list, struct node *n)
{
	n->prev = list->prev;
	n->next = list;
	list->prev->next = n;
	list->prev = n;
}

static void node_del(struct node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	node_init(n);
}

/* ---- the table ---- */

/* key_hash() - the bucket of @k: a keyed multiply-xorshift mix, so that
 * the guest cannot choose addresses that share one bucket */
static unsigned int key_hash(const struct sn_tcp *t, const struct conn_key *k)
{
	uint64_t h = t->hkey[0] ^ k->af ^ ((uint64_t)k->gport << 16) ^
		     ((uint64_t)k->rport << 32);
	uint64_t w;
	size_t i;

	for (i = 0; i < sizeof(k->gaddr) * 2; i += 8) {
		memcpy(&w, (const uint8_t *)k + i, sizeof(w));
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
		h += t->hkey[1];
	}
	h *= 0xbf58476d1ce4e5b9ULL;
	return (unsigned int)(h >> 40) & (HASH_BUCKETS - 1);
}

static bool key_eq(const struct conn_key *a, const struct conn_key *b)
{
	return a->af == b->af && a->gport == b->gport && a->rport == b->rport &&
	       !memcmp(a->gaddr, b->gaddr, 16) &&
	       !memcmp(a->raddr, b->raddr, 16);
}

/* key_of() - the key of a segment from the guest */
static void key_of(struct conn_key *k, const struct sn_tcpseg *seg)
{
	memset(k, 0, sizeof(*k));
	k->af = (uint8_t)seg->af;
	memcpy(k->gaddr, seg->saddr, seg->af == AF_INET ? 4 : 16);
	memcpy(k->raddr, seg->daddr, seg->af == AF_INET ? 4 : 16);
	k->gport = seg->sport;
	k->rport = seg->dport;
}

static struct conn *lookup(const struct sn_tcp *t, const struct conn_key *k)
{
	struct conn *c;

	if (!t->buckets)
		return NULL;
	for (c = t->buckets[key_hash(t, k)]; c; c = c->hnext)
		if (key_eq(&c->key, k))
			return c;
	return NULL;
}

static void hash_add(struct sn_tcp *t, struct conn *c)
{
	unsigned int b = key_hash(t, &c->key);

	c->hnext = t->buckets[b];
	t->buckets[b] = c;
}

static void hash_del(struct sn_tcp *t, struct conn *c)
{
	struct conn **p = &t->buckets[key_hash(t, &c->key)];

	while (*p && *p != c)
		p = &(*p)->hnext;
	if (*p)
		*p = c->hnext;
}

/* ---- timers and the flush list ---- */

static gint64 now_ms(void)
{
	return g_get_monotonic_time() / 1000;
}

/* arm() - @c's deadline @ms from now */
static void arm(struct sn_tcp *t, struct conn *c, uint32_t ms)
{
	c->deadline_ms = now_ms() + ms;
	if (!node_linked(&c->timer))
		node_add(&t->timers, &c->timer);
	if (t->next_timer_ms < 0 || c->deadline_ms < t->next_timer_ms)
		t->next_timer_ms = c->deadline_ms;
}

static void disarm(struct conn *c)
{
	if (node_linked(&c->timer))
		node_del(&c->timer);
}

/* pend() - give @c to the next flush */
static void pend(struct sn_tcp *t, struct conn *c, uint8_t flags)
{
	c->flags |= flags;
	if (!node_linked(&c->pend))
		node_add(&t->pending, &c->pend);
}

/* ack_later() - acknowledge @c's data within SN_TCP_DELACK_MS, or with
 * the next segment to the guest, whichever comes first */
static void ack_later(struct sn_tcp *t, struct conn *c)
{
	if (node_linked(&c->delack))
		return;
	c->delack_ms = now_ms() + SN_TCP_DELACK_MS;
	node_add(&t->delacks, &c->delack); /* in deadline order */
}

/* acked() - a segment to the guest carried ACK number @ack */
static void acked(struct conn *c, uint32_t ack)
{
	c->seq_acked_to_guest = ack;
	if (ack == c->seq_from_guest && node_linked(&c->delack))
		node_del(&c->delack);
}

/* ---- frames to the guest ---- */

/* in_flight() - bytes sent to the guest and not acknowledged, FIN included */
static uint32_t in_flight(const struct conn *c)
{
	return c->seq_to_guest - c->seq_ack_from_guest;
}

/* sock_room() - what the socket's send buffer still takes, a quarter
 * kept back for the kernel's own overhead */
static int64_t sock_room(const struct conn *c)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);
	int64_t room;

	if (getsockopt(c->fd, SOL_SOCKET, SO_MEMINFO, mem, &len) < 0 ||
	    len < sizeof(mem))
		return 65535;
	room = (int64_t)mem[SK_MEMINFO_SNDBUF] - mem[SK_MEMINFO_WMEM_QUEUED];
	return room - room / 4;
}

/*
 * sock_wnd() - the window to advertise: the socket's room, so that the
 * guest never sends what the socket would refuse. A small one is watched
 * (t->wwatch): nothing but the guest's zero window probes would open it
 * again when the socket drains. The kernel reports room (EPOLLOUT), and
 * grows the send buffer (autotuning), only once a write or a poll found
 * the socket full: poll() here tells it that; and for a buffer too small
 * to count as full, sn_tcp_timers() checks the room.
 */
static uint32_t sock_wnd(struct sn_tcp *t, struct conn *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLOUT };
	int64_t room = c->room;

	if (room < SN_TCP_WND_FLOOR)
		room = c->room = sock_room(c);

	if (room < SN_TCP_WND_FLOOR && !node_linked(&c->wwatch)) {
		node_add(&t->wwatch, &c->wwatch);
		poll(&p, 1, 0);
	}
	if (room <= 0)
		return 0;
	return (uint32_t)MIN(room, (int64_t)65535 << c->ws_to_guest);
}

/* send_frame() - one segment of @c (@o) to the tap */
static void send_frame(struct sn_tcp *t, const struct conn *c,
		       const struct sn_tcpseg_out *o)
{
	uint8_t hdr[SN_TCPSEG_HLEN_MAX];
	struct virtio_net_hdr vh = { 0 };
	struct iovec iov[3];
	size_t hlen;
	int n = 0;

	hlen = sn_tcpseg_build(hdr, &c->tmpl, o, !t->cfg.vnet);
	if (t->cfg.vnet) {
		vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh.csum_start = (uint16_t)(c->tmpl.hlen - 20);
		vh.csum_offset = SN_TCPSEG_CSUM_OFF;
		if (o->dlen > c->mss) {
			vh.gso_type = c->key.af == AF_INET
					  ? VIRTIO_NET_HDR_GSO_TCPV4
					  : VIRTIO_NET_HDR_GSO_TCPV6;
			vh.gso_size = c->mss;
			vh.hdr_len = (uint16_t)hlen;
		}
		iov[n++] = (struct iovec){ &vh, sizeof(vh) };
	}
	iov[n++] = (struct iovec){ hdr, hlen };
	if (o->dlen) {
		if (t->cfg.drop_every && !(++t->drop_count % t->cfg.drop_every))
			return;
		iov[n++] = (struct iovec){ (void *)o->data, o->dlen };
	}
	t->tap(iov, n, t->opaque);
}

/* send_flags() - a segment without data: @flags at @seq */
static void send_flags(struct sn_tcp *t, struct conn *c, uint8_t flags,
		       uint32_t seq)
{
	struct sn_tcpseg_out o = {
		.seq = seq,
		.ack = c->seq_from_guest,
		.flags = flags,
		.ws = -1,
	};

	if (!(flags & SN_TH_RST))
		o.win = (uint16_t)(sock_wnd(t, c) >> c->ws_to_guest);
	send_frame(t, c, &o);
	acked(c, o.ack);
}

/* send_acks() - @n identical ACKs: duplicates count only if the window
 * does not change */
static void send_acks(struct sn_tcp *t, struct conn *c, unsigned int n)
{
	struct sn_tcpseg_out o = {
		.seq = c->seq_to_guest,
		.ack = c->seq_from_guest,
		.flags = SN_TH_ACK,
		.ws = -1,
	};

	o.win = (uint16_t)(sock_wnd(t, c) >> c->ws_to_guest);
	while (n--)
		send_frame(t, c, &o);
	acked(c, o.ack);
}

/* send_syn() - our SYN-ACK, or a forward's SYN, again on a retransmission */
static void send_syn(struct sn_tcp *t, struct conn *c)
{
	unsigned int ip = c->key.af == AF_INET ? 20 : 40;
	bool fwd = c->events & C_SYN_SENT;
	struct sn_tcpseg_out o = {
		.seq = c->seq_init_to_guest,
		.ack = fwd ? 0 : c->seq_from_guest,
		.flags = fwd ? SN_TH_SYN : SN_TH_SYN | SN_TH_ACK,
		.win = (uint16_t)MIN(sock_wnd(t, c), 65535),
		.mss = (uint16_t)MIN(t->cfg.mtu - ip - 20, 65535 - ip - 20),
		.ws = c->ws_to_guest ? c->ws_to_guest : -1,
	};

	send_frame(t, c, &o);
	if (!fwd)
		c->seq_acked_to_guest = o.ack;
}

/* reset_reply() - an RST for @seg, which has no connection (RFC 793) */
static void reset_reply(struct sn_tcp *t, const struct sn_tcpseg *seg)
{
	struct conn c = { .key.af = (uint8_t)seg->af, .ws_to_guest = 0 };
	struct sn_tcpseg_out o = { .ws = -1 };

	if (seg->flags & SN_TH_RST)
		return;
	sn_tcpseg_tmpl_init(&c.tmpl, seg);
	if (seg->flags & SN_TH_ACK) {
		o.seq = seg->ack;
		o.flags = SN_TH_RST;
	} else {
		o.ack = seg->seq + (uint32_t)seg->dlen +
			!!(seg->flags & SN_TH_SYN) + !!(seg->flags & SN_TH_FIN);
		o.flags = SN_TH_RST | SN_TH_ACK;
	}
	send_frame(t, &c, &o);
}

/* ---- connections ---- */

/* unreleased() - the data the guest acknowledged still in @c's socket */
static uint32_t unreleased(const struct conn *c)
{
	uint32_t end = c->seq_ack_from_guest;

	if (!(c->events & C_ESTABLISHED))
		return 0;
	if (c->events & C_FIN_ACKED)
		end = c->seq_fin_to_guest; /* the FIN is no data */
	return end - c->seq_rel_to_guest;
}

/* conn_free() - close the socket (with an RST to its peer if @rst_peer),
 * forget @c */
static void conn_free(struct sn_tcp *t, struct conn *c, bool rst_peer)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	uint32_t n = unreleased(c);

	if (rst_peer)
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	else if (n) /* its ACK came in this batch: without this read,
		     * close() would reset the peer */
		recv(c->fd, NULL, n, MSG_TRUNC | MSG_DONTWAIT);
	close(c->fd);
	sn_tcpooo_clear(&t->ooo, &c->ooo);
	disarm(c);
	if (node_linked(&c->delack))
		node_del(&c->delack);
	if (node_linked(&c->pend))
		node_del(&c->pend);
	if (node_linked(&c->wwatch))
		node_del(&c->wwatch);
	hash_del(t, c);
	if (!(c->events & (C_ESTABLISHED | C_SYN_SENT)))
		t->n_half_open--;
	t->n_conns--;
	t->stats.open--;
	if (c->fst) {
		c->fst->conns_open--;
		g_atomic_rc_box_release(c->fst);
	}
	g_free(c);
}

/* conn_reset() - RST to the guest and, if @rst_peer, to the socket's peer */
static void conn_reset(struct sn_tcp *t, struct conn *c, bool rst_peer)
{
	t->stats.resets++;
	if (c->fst)
		c->fst->errors++;
	send_flags(t, c, SN_TH_RST | SN_TH_ACK, c->seq_to_guest);
	conn_free(t, c, rst_peer);
}

/* sock_failed() - the socket reported error @e: tell the guest */
static void sock_failed(struct sn_tcp *t, struct conn *c, int e)
{
	g_debug("tcp: connection from guest port %u: socket error: %s",
		c->key.gport, g_strerror(e));
	conn_reset(t, c, false);
}

/* peek_off_init() - peeks of @c's socket keep their offset, if they can */
static void peek_off_init(struct sn_tcp *t, struct conn *c)
{
	int zero = 0;

	if (!t->no_peek_off && setsockopt(c->fd, SOL_SOCKET, SO_PEEK_OFF, &zero,
					  sizeof(zero)) < 0) {
		g_debug("tcp: no SO_PEEK_OFF for TCP (%s): data in flight is "
			"peeked again each time",
			g_strerror(errno));
		t->no_peek_off = true;
	}
}

/* connected() - connect() is over: SYN-ACK, or RST if it failed */
static void connected(struct sn_tcp *t, struct conn *c)
{
	int e = 0;
	socklen_t len = sizeof(e);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		e = errno;
	if (e) {
		t->stats.refused++;
		/* the SYN was never answered: RST with an ACK of it */
		c->seq_to_guest = 0;
		send_flags(t, c, SN_TH_RST | SN_TH_ACK, 0);
		conn_free(t, c, false);
		return;
	}
	peek_off_init(t, c);
	c->events = (uint8_t)((c->events & ~C_CONNECTING) | C_SYNACK_SENT);
	send_syn(t, c);
	c->seq_to_guest = c->seq_max_to_guest = c->seq_ack_from_guest + 1;
	arm(t, c, c->rto_ms);
}

/* dest_addr() - where the engine connects for @seg, in @sa; false if the
 * SYN is libslirp's to answer */
static bool dest_addr(const struct sn_tcp *t, const struct sn_tcpseg *seg,
		      struct sockaddr_storage *sa, socklen_t *salen)
{
	const struct sn_tcp_config *cf = &t->cfg;

	memset(sa, 0, sizeof(*sa));
	if (seg->af == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
		uint32_t d;

		memcpy(&d, seg->daddr, 4);
		if (IN_MULTICAST(ntohl(d)) || d == INADDR_BROADCAST ||
		    !(ntohl(d) >> 24) || (ntohl(d) >> 24) == 127)
			return false;
		if (d == cf->gateway.s_addr && !cf->disable_host_loopback)
			d = htonl(INADDR_LOOPBACK);
		else if ((d & cf->netmask.s_addr) == cf->network.s_addr)
			return false; /* DNS, and the rest of the network */
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = d;
		s4->sin_port = htons(seg->dport);
		*salen = sizeof(*s4);
		return true;
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
	struct in6_addr d;

	memcpy(&d, seg->daddr, 16);
	if (!cf->ipv6 || IN6_IS_ADDR_MULTICAST(&d) ||
	    IN6_IS_ADDR_LINKLOCAL(&d) || IN6_IS_ADDR_LOOPBACK(&d) ||
	    IN6_IS_ADDR_UNSPECIFIED(&d) || IN6_IS_ADDR_V4MAPPED(&d))
		return false;
	if (IN6_ARE_ADDR_EQUAL(&d, &cf->gateway6) && !cf->disable_host_loopback)
		d = in6addr_loopback;
	else if (!memcmp(&d, &cf->prefix6, 8)) /* a /64: DNS, the rest */
		return false;
	s6->sin6_family = AF_INET6;
	s6->sin6_addr = d;
	s6->sin6_port = htons(seg->dport);
	*salen = sizeof(*s6);
	return true;
}

/* open_socket() - a non-blocking socket for @sa, bound to the outbound
 * address, connect() started; -1 with errno on failure */
static int open_socket(const struct sn_tcp *t,
		       const struct sockaddr_storage *sa, socklen_t salen)
{
	const struct sockaddr *out = sa->ss_family == AF_INET
					 ? (const struct sockaddr *)t->cfg.out4
					 : (const struct sockaddr *)t->cfg.out6;
	socklen_t outlen = sa->ss_family == AF_INET
			       ? sizeof(struct sockaddr_in)
			       : sizeof(struct sockaddr_in6);
	int fd, one = 1, e;

	fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    IPPROTO_TCP);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	if ((out && bind(fd, out, outlen) < 0) ||
	    (connect(fd, (const struct sockaddr *)sa, salen) < 0 &&
	     errno != EINPROGRESS)) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* refuse() - an RST for a SYN the engine cannot take, with why, limited */
static void refuse(struct sn_tcp *t, const struct sn_tcpseg *seg,
		   const char *why)
{
	unsigned int held;

	if (sn_ratelimit_ok(&t->rl_full, &held))
		g_warning("tcp: refused a connection from the guest: %s (%u "
			  "more since the last report)",
			  why, held);
	reset_reply(t, seg);
}

/* table_full() - why the table takes no new connection now, or NULL */
static const char *table_full(const struct sn_tcp *t)
{
	if (t->n_conns >= SN_TCP_CONNS_MAX)
		return "the connection table is full (" G_STRINGIFY(
		    SN_TCP_CONNS_MAX) " connections)";
	if (t->n_half_open >= SN_TCP_HALF_OPEN_MAX)
		return "too many connections are being opened at once "
		       "(" G_STRINGIFY(SN_TCP_HALF_OPEN_MAX) ")";
	return NULL;
}

/*
 * conn_add() - a connection of @fd for the address pair @k, its frames to
 * the guest made from @seg (a segment from the guest, or as the guest
 * would send one), with our initial sequence number; not established
 *
 * Return: the connection, or NULL with errno (epoll refused the fd)
 */
static struct conn *conn_add(struct sn_tcp *t, int fd, const struct conn_key *k,
			     const struct sn_tcpseg *seg)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP |
					    EPOLLET };
	struct conn *c = g_new0(struct conn, 1);

	ev.data.ptr = c;
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		g_free(c);
		return NULL;
	}
	if (!t->buckets)
		t->buckets = g_new0(struct conn *, HASH_BUCKETS);
	node_init(&c->timer);
	node_init(&c->pend);
	node_init(&c->wwatch);
	node_init(&c->delack);
	c->fd = fd;
	c->key = *k;
	sn_tcpseg_tmpl_init(&c->tmpl, seg);
	c->seq_init_to_guest = g_random_int();
	c->seq_to_guest = c->seq_ack_from_guest = c->seq_init_to_guest;
	c->seq_max_to_guest = c->seq_init_to_guest;
	c->rto_ms = SN_TCP_RTO_MS;
	c->last_ms = now_ms();
	hash_add(t, c);
	t->n_conns++;
	t->stats.total++;
	t->stats.open++;
	if (t->next_sweep_ms < 0)
		t->next_sweep_ms = c->last_ms + TICK_SWEEP_MS;
	return c;
}

/* mss_of() - the payload of a segment to the guest, for its MSS option */
static uint16_t mss_of(const struct sn_tcp *t, int af, uint16_t mss)
{
	unsigned int ip = af == AF_INET ? 20 : 40;

	mss = (uint16_t)MIN(mss ? mss : MSS_DEFAULT, t->cfg.mtu - ip - 20);
	return MAX(mss, 64);
}

/* conn_open() - a SYN from the guest: a connection and its socket */
static void conn_open(struct sn_tcp *t, const struct sn_tcpseg *seg,
		      const struct conn_key *k,
		      const struct sockaddr_storage *sa, socklen_t salen)
{
	const char *full = table_full(t);
	struct conn *c;
	int fd;

	if (full) {
		t->stats.table_full++;
		refuse(t, seg, full);
		return;
	}
	fd = open_socket(t, sa, salen);
	if (fd < 0) {
		t->stats.refused++;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM)
			refuse(t, seg,
			       errno == EMFILE
				   ? "out of file descriptors (raise the "
				     "limit: ulimit -n)"
				   : g_strerror(errno));
		else
			reset_reply(t, seg);
		return;
	}
	c = conn_add(t, fd, k, seg);
	if (!c) {
		refuse(t, seg, g_strerror(errno));
		close(fd);
		return;
	}
	c->events = C_CONNECTING;
	t->n_half_open++;
	c->seq_from_guest = seg->seq + 1;
	c->mss = mss_of(t, seg->af, seg->mss);
	if (seg->ws >= 0) {
		c->ws_from_guest = (uint8_t)MIN(seg->ws, SN_TCP_WS_MAX);
		c->ws_to_guest = WS_TO_GUEST;
	}
	c->wnd_from_guest = seg->win;
}

/* sn_tcp_accept() - a forward's connection: our SYN to the guest */
bool sn_tcp_accept(struct sn_tcp *t, const struct sn_tcp_inbound *in,
		   GError **err)
{
	size_t alen = in->af == AF_INET ? 4 : 16;
	const char *why = t->n_conns < SN_TCP_CONNS_MAX ? NULL : table_full(t);
	struct sn_tcpseg g = { .af = in->af, .ws = -1 };
	struct conn_key k = { .af = (uint8_t)in->af };
	struct conn *c;

	if (why) {
		t->stats.table_full++;
		g_set_error_literal(err, G_FILE_ERROR, G_FILE_ERROR_NOSPC, why);
		return false;
	}
	memcpy(k.gaddr, in->guest, alen);
	memcpy(k.raddr, in->client, alen);
	k.gport = in->guest_port;
	k.rport = in->client_port;
	if (lookup(t, &k)) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_EXIST,
			    "the guest already has a connection from its port "
			    "%u to the client's port %u",
			    in->guest_port, in->client_port);
		return false;
	}
	/* the frames the guest will send: from it to the client */
	memcpy(g.saddr, in->guest, alen);
	memcpy(g.daddr, in->client, alen);
	g.sport = in->guest_port;
	g.dport = in->client_port;
	memcpy(g.smac, in->guest_mac, 6);
	memcpy(g.dmac, t->gw_mac, 6);
	c = conn_add(t, in->fd, &k, &g);
	if (!c) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "cannot watch the connection: %s",
			    g_strerror(errno));
		return false;
	}
	c->events = C_SYN_SENT;
	c->mss = mss_of(t, in->af, 0);
	c->ws_to_guest = WS_TO_GUEST; /* offered; kept if the guest agrees */
	if (in->fst) {
		c->fst = g_atomic_rc_box_acquire(in->fst);
		c->fst->conns_open++;
		c->fst->conns_total++;
	}
	send_syn(t, c);
	c->seq_to_guest = c->seq_max_to_guest = c->seq_init_to_guest + 1;
	arm(t, c, c->rto_ms);
	return true;
}

/* release() - drop the data the guest acknowledged from the socket (the
 * peek offset goes back by as much); false if @c was freed */
static bool release(struct sn_tcp *t, struct conn *c)
{
	uint32_t n = unreleased(c);
	ssize_t r;

	if (!n)
		return true;
	r = recv(c->fd, NULL, n, MSG_TRUNC | MSG_DONTWAIT);
	if (r < 0 && errno != EAGAIN) {
		sock_failed(t, c, errno);
		return false;
	}
	if (c->fst && r > 0)
		c->fst->bytes_to_guest += (uint64_t)r;
	c->seq_rel_to_guest += n;
	return true;
}

/* retransmit() - go back to the guest's last ACK: the next peek starts
 * there */
static void retransmit(struct sn_tcp *t, struct conn *c)
{
	int off = (int)(c->seq_ack_from_guest - c->seq_rel_to_guest);

	t->stats.retransmits++;
	c->seq_to_guest = c->seq_ack_from_guest;
	c->flags &= (uint8_t)~F_SOCK_DRY; /* what was sent is there again */
	if ((c->events & (C_FIN_SENT | C_FIN_ACKED)) == C_FIN_SENT)
		c->events &= (uint8_t)~C_FIN_SENT;
	if (!t->no_peek_off)
		setsockopt(c->fd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off));
	c->dupacks = 0;
	pend(t, c, 0);
}

/* conn_ack() - the ACK and window of @seg, for an established @c; false
 * if the segment is to be dropped (it acknowledges what was never sent) */
static bool conn_ack(struct sn_tcp *t, struct conn *c,
		     const struct sn_tcpseg *seg)
{
	uint32_t wnd = (uint32_t)seg->win << c->ws_from_guest;

	if (sn_seq_lt(c->seq_max_to_guest, seg->ack)) {
		pend(t, c, F_ACK_NOW); /* acknowledges what we never sent */
		return false;
	}
	if (!in_flight(c))
		c->retries = 0; /* an answer to a probe */
	if (sn_seq_lt(c->seq_ack_from_guest, seg->ack)) {
		if ((c->events & C_SOCK_EOF) &&
		    seg->ack == c->seq_fin_to_guest + 1)
			c->events |= C_FIN_SENT | C_FIN_ACKED;
		c->seq_ack_from_guest = seg->ack;
		/* after a go-back, an ACK of what was sent before it */
		if (sn_seq_lt(c->seq_to_guest, seg->ack))
			c->seq_to_guest = seg->ack;
		c->retries = 0;
		c->dupacks = 0;
		c->rto_ms = SN_TCP_RTO_MS;
		if (in_flight(c))
			arm(t, c, c->rto_ms);
		else
			disarm(c);
	} else if (seg->ack == c->seq_ack_from_guest && !seg->dlen &&
		   !(seg->flags & SN_TH_FIN) && wnd == c->wnd_from_guest &&
		   in_flight(c) && ++c->dupacks == DUP_ACKS) {
		retransmit(t, c);
	}
	c->wnd_from_guest = wnd;
	pend(t, c, 0);
	return true;
}

/*
 * to_sock() - @seg's data, trimmed to start at the next byte expected, and
 * its FIN to the socket
 *
 * Return: 1 if the socket took it all, 0 if less (the ACK says what), -1
 * if @c was freed
 */
static int to_sock(struct sn_tcp *t, struct conn *c,
		   const struct sn_tcpseg *seg)
{
	ssize_t n;

	if (seg->dlen) {
		n = send(c->fd, seg->data, seg->dlen,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN) {
			sock_failed(t, c, errno);
			return -1;
		}
		n = MAX(n, 0);
		if (c->fst)
			c->fst->bytes_from_guest += (uint64_t)n;
		c->seq_from_guest += (uint32_t)n;
		c->room -= n;
		if ((size_t)n < seg->dlen) {
			c->room = 0; /* ask again */
			pend(t, c, F_ACK_NOW | F_WAIT_SPACE);
			return 0;
		}
	}
	if (seg->flags & SN_TH_FIN) {
		shutdown(c->fd, SHUT_WR);
		c->seq_from_guest++;
		c->events |= C_GUEST_FIN;
	}
	return 1;
}

/* past_gap() - @seg starts past the next byte expected: held if it can
 * be, and a duplicate ACK owed at the flush (the guest's fast retransmit
 * of what is missing) */
static void past_gap(struct sn_tcp *t, struct conn *c,
		     const struct sn_tcpseg *seg)
{
	if (!sn_tcpooo_hold(&t->ooo, &c->ooo, seg, c->seq_from_guest))
		c->flags |= F_UNHELD;
	t->stats.out_of_order = t->ooo.held;
	t->stats.out_of_order_dropped = t->ooo.refused;
	if (c->dups < DUPS_MAX)
		c->dups++;
	pend(t, c, F_ACK_NOW);
}

/* held_to_sock() - the held segments that the data just written reached;
 * the duplicate ACKs are not owed once the gap is closed */
static int held_to_sock(struct sn_tcp *t, struct conn *c, struct sn_tcpseg *seg)
{
	int r = 1;

	while (!(c->events & C_GUEST_FIN) &&
	       sn_tcpooo_next(&t->ooo, &c->ooo, c->seq_from_guest, seg)) {
		if (sn_tcpseg_trim(seg, c->seq_from_guest, 1u << 30) ==
		    SN_TCPSEG_NEW)
			r = to_sock(t, c, seg);
		if (r <= 0)
			return r; /* a part taken stays held, cut next time */
		sn_tcpooo_pop(&t->ooo, &c->ooo);
	}
	if (!c->ooo.head && !(c->flags & F_UNHELD))
		c->dups = 0;
	return r;
}

/* conn_data() - @seg's data and FIN to the socket, and what it let through
 * of the held segments; false if @c was freed */
static bool conn_data(struct sn_tcp *t, struct conn *c, struct sn_tcpseg *seg)
{
	bool filled, full;
	int r;

	if (c->events & C_GUEST_FIN) {
		pend(t, c, F_ACK_NOW); /* nothing comes after a FIN: say so */
		return true;
	}
	switch (sn_tcpseg_trim(seg, c->seq_from_guest, 1u << 30)) {
	case SN_TCPSEG_FUTURE:
		past_gap(t, c, seg);
		return true;
	case SN_TCPSEG_OLD:
		pend(t, c, F_ACK_NOW); /* a repeat: say where we are */
		return true;
	case SN_TCPSEG_NEW:
		break;
	}
	filled = c->ooo.head != NULL;
	full = seg->dlen >= c->mss;
	r = to_sock(t, c, seg);
	if (r > 0)
		r = held_to_sock(t, c, seg);
	if (r <= 0)
		return r == 0;
	if (filled) { /* at once, as RFC 5681, 4.2 asks */
		pend(t, c, F_ACK_NOW);
		return true;
	}
	if (full || c->seq_from_guest - c->seq_acked_to_guest >= 2u * c->mss)
		pend(t, c, F_ACK_NOW);
	else
		ack_later(t, c);
	return true;
}

/* conn_handshake() - the guest's ACK of our SYN-ACK */
static void conn_handshake(struct sn_tcp *t, struct conn *c,
			   const struct sn_tcpseg *seg)
{
	/* an ACK of something else, e.g. from a socket the guest still
	 * holds in TIME_WAIT on this address pair: RST (RFC 9293, 3.10.7.4) */
	if (seg->ack != c->seq_init_to_guest + 1) {
		send_flags(t, c, SN_TH_RST, seg->ack);
		return;
	}
	c->events |= C_ESTABLISHED;
	t->n_half_open--;
	c->seq_ack_from_guest = c->seq_rel_to_guest = seg->ack;
	c->wnd_from_guest = (uint32_t)seg->win << c->ws_from_guest;
	c->retries = 0;
	c->rto_ms = SN_TCP_RTO_MS;
	disarm(c);
	pend(t, c, 0);
}

/* rst_ok() - is @seg's RST in @c's window (RFC 5961, 3.2, loosely)? */
static bool rst_ok(const struct conn *c, const struct sn_tcpseg *seg)
{
	return !(c->events & (C_SYNACK_SENT | C_ESTABLISHED)) ||
	       (uint32_t)(seg->seq - c->seq_from_guest) <= (1u << 30);
}

/*
 * conn_synack() - a segment for a forward's @c in SYN-SENT: the guest's
 * SYN-ACK establishes it; its RST (nothing listens) resets the client;
 * an ACK of anything else gets an RST (RFC 9293, 3.10.7.3)
 */
static void conn_synack(struct sn_tcp *t, struct conn *c,
			const struct sn_tcpseg *seg)
{
	if (!(seg->flags & SN_TH_ACK))
		return;
	if (seg->ack != c->seq_init_to_guest + 1) {
		if (!(seg->flags & SN_TH_RST))
			send_flags(t, c, SN_TH_RST, seg->ack);
		return;
	}
	if (seg->flags & SN_TH_RST) {
		t->stats.refused++;
		if (c->fst)
			c->fst->errors++;
		conn_free(t, c, true);
		return;
	}
	if (!(seg->flags & SN_TH_SYN))
		return;
	peek_off_init(t, c);
	c->events = C_ESTABLISHED;
	c->seq_from_guest = seg->seq + 1;
	c->mss = mss_of(t, c->key.af, seg->mss);
	if (seg->ws >= 0)
		c->ws_from_guest = (uint8_t)MIN(seg->ws, SN_TCP_WS_MAX);
	else
		c->ws_to_guest = 0;
	c->wnd_from_guest = seg->win; /* never scaled in a SYN */
	c->seq_ack_from_guest = c->seq_rel_to_guest = seg->ack;
	c->retries = 0;
	c->rto_ms = SN_TCP_RTO_MS;
	disarm(c);
	pend(t, c, F_ACK_NOW);
}

/* conn_segment() - a segment for @c */
static void conn_segment(struct sn_tcp *t, struct conn *c,
			 struct sn_tcpseg *seg)
{
	c->last_ms = now_ms();
	c->probes = 0;
	if (c->events & C_SYN_SENT) {
		conn_synack(t, c, seg);
		return;
	}
	if (seg->flags & SN_TH_RST) {
		if (rst_ok(c, seg)) {
			t->stats.resets++;
			conn_free(t, c, true);
		}
		return;
	}
	if (seg->flags & SN_TH_SYN) {
		/* the guest did not hear our SYN-ACK yet, or lost its state:
		 * what it needs is our SYN-ACK again, or an ACK */
		if ((c->events & (C_SYNACK_SENT | C_ESTABLISHED)) ==
		    C_SYNACK_SENT)
			send_syn(t, c);
		else if (c->events & C_ESTABLISHED)
			pend(t, c, F_ACK_NOW);
		return;
	}
	if ((c->events & C_CONNECTING) || !(seg->flags & SN_TH_ACK))
		return;
	if (!(c->events & C_ESTABLISHED)) {
		conn_handshake(t, c, seg);
		if (!(c->events & C_ESTABLISHED))
			return;
	} else if (!conn_ack(t, c, seg)) {
		return;
	}
	if (seg->dlen || (seg->flags & SN_TH_FIN))
		conn_data(t, c, seg);
	else if (sn_seq_lt(seg->seq, c->seq_from_guest))
		pend(t, c, F_ACK_NOW); /* a keep-alive or window probe */
}

/* hold_back() - (tests) keep every cfg.reorder_every'th data segment's
 * frame, to take it after the next frame of the batch: the guest's frames
 * reordered */
static bool hold_back(struct sn_tcp *t, const struct sn_ip *ip,
		      const struct sn_tcpseg *seg)
{
	if (!seg->dlen || t->late || t->late_now ||
	    ++t->reorder_count % t->cfg.reorder_every)
		return false;
	t->late = g_memdup2(ip->frame, ip->len);
	t->late_len = ip->len;
	return true;
}

/* late_frame() - (tests) the frame hold_back() kept, now */
static void late_frame(struct sn_tcp *t)
{
	g_autofree uint8_t *f = t->late;
	struct sn_ip ip;

	t->late = NULL;
	t->late_now = true;
	sn_ip_parse(f, t->late_len, &ip);
	sn_tcp_input(t, &ip);
	t->late_now = false;
}

/* sn_tcp_input() - sort: the engine's segments, new SYNs it takes, the
 * rest to libslirp */
bool sn_tcp_input(struct sn_tcp *t, const struct sn_ip *ip)
{
	struct sockaddr_storage sa;
	struct sn_tcpseg seg;
	socklen_t salen;
	struct conn_key k;
	struct conn *c;

	switch (sn_tcpseg_parse(ip, &seg)) {
	case SN_TCPSEG_NOT_TCP:
		return false;
	case SN_TCPSEG_MALFORMED:
		return true; /* dropped: no stack would take it */
	case SN_TCPSEG_OK:
		break;
	}
	key_of(&k, &seg);
	c = lookup(t, &k);
	/* a new connection on the address pair of one both sides closed */
	if (c && (seg.flags & (SN_TH_SYN | SN_TH_ACK)) == SN_TH_SYN &&
	    (c->events & C_GUEST_FIN)) {
		conn_free(t, c, false);
		c = NULL;
	}
	if (c) {
		if (t->cfg.reorder_every && hold_back(t, ip, &seg))
			return true;
		conn_segment(t, c, &seg);
		if (t->late && !t->late_now)
			late_frame(t);
		return true;
	}
	if ((seg.flags & (SN_TH_SYN | SN_TH_ACK | SN_TH_RST | SN_TH_FIN)) !=
	    SN_TH_SYN)
		return false; /* none of ours: libslirp's own, or stale */
	if (!dest_addr(t, &seg, &sa, &salen))
		return false;
	conn_open(t, &seg, &k, &sa, salen);
	return true;
}

/* ---- socket -> guest ---- */

/* peek() - up to @want new bytes of @c's socket into t->scratch; the
 * bytes read, 0 at end of file, -1 with errno */
static ssize_t peek(struct sn_tcp *t, struct conn *c, size_t want)
{
	uint32_t skip = c->seq_to_guest - c->seq_rel_to_guest;
	struct iovec iov[2];
	struct msghdr mh = { .msg_iov = iov };
	ssize_t n;

	if (!t->scratch)
		t->scratch = g_malloc(SN_TCP_PEEK_MAX);
	if (!t->no_peek_off) {
		iov[0] = (struct iovec){ t->scratch, want };
		mh.msg_iovlen = 1;
		return recvmsg(c->fd, &mh, MSG_PEEK | MSG_DONTWAIT);
	}
	if (!t->discard)
		t->discard = g_malloc(DISCARD_MAX);
	iov[0] = (struct iovec){ t->discard, skip };
	iov[1] = (struct iovec){ t->scratch, want };
	mh.msg_iovlen = 2;
	n = recvmsg(c->fd, &mh, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 || n > (ssize_t)skip)
		return n < 0 ? n : n - (ssize_t)skip;
	if (c->flags & F_SOCK_HUP)
		return 0;
	errno = EAGAIN;
	return -1;
}

/* send_data() - @n bytes in t->scratch to the guest, as frames */
static void send_data(struct sn_tcp *t, struct conn *c, size_t n, uint16_t win)
{
	size_t max = c->mss, off = 0;
	struct sn_tcpseg_out o = {
		.ack = c->seq_from_guest,
		.win = win,
		.ws = -1,
	};

	if (t->cfg.vnet)
		max =
		    c->key.af == AF_INET ? GSO_PAYLOAD_MAX4 : GSO_PAYLOAD_MAX6;
	while (off < n) {
		o.seq = c->seq_to_guest + (uint32_t)off;
		o.data = t->scratch + off;
		o.dlen = MIN(max, n - off);
		off += o.dlen;
		o.flags = SN_TH_ACK | (off == n ? SN_TH_PSH : 0);
		send_frame(t, c, &o);
	}
	c->seq_to_guest += (uint32_t)n;
	if (sn_seq_lt(c->seq_max_to_guest, c->seq_to_guest))
		c->seq_max_to_guest = c->seq_to_guest;
	acked(c, o.ack);
}

/* send_fin() - the socket's end of file, after its data */
static void send_fin(struct sn_tcp *t, struct conn *c)
{
	c->events |= C_SOCK_EOF | C_FIN_SENT;
	c->seq_fin_to_guest = c->seq_to_guest;
	send_flags(t, c, SN_TH_FIN | SN_TH_ACK, c->seq_to_guest);
	c->seq_to_guest++;
	if (sn_seq_lt(c->seq_max_to_guest, c->seq_to_guest))
		c->seq_max_to_guest = c->seq_to_guest;
}

/*
 * to_guest() - what the guest's window takes of the socket's data, then
 * its end of file
 *
 * Return: segments sent, or -1 if @c was freed
 */
static int to_guest(struct sn_tcp *t, struct conn *c)
{
	uint32_t wnd_to = 0;
	size_t avail, want;
	int sent = 0;
	ssize_t n;

	if (!(c->events & C_ESTABLISHED) || (c->events & C_FIN_SENT))
		return 0;
	for (;;) {
		avail = c->wnd_from_guest > in_flight(c)
			    ? c->wnd_from_guest - in_flight(c)
			    : 0;
		if (t->no_peek_off)
			avail = MIN(avail, DISCARD_MAX - (c->seq_to_guest -
							  c->seq_rel_to_guest));
		if (!avail) {
			if (!in_flight(c))
				arm(t, c, c->rto_ms); /* probe it */
			return sent;
		}
		/* (after the peer's end of file, a peek finds it: no event
		 * would say so again) */
		if ((c->flags & (F_SOCK_DRY | F_SOCK_HUP)) == F_SOCK_DRY)
			return sent;
		want = MIN(avail, SN_TCP_PEEK_MAX);
		n = peek(t, c, want);
		if (n < 0 && errno == EAGAIN) {
			c->flags |= F_SOCK_DRY;
			return sent;
		}
		if (n < 0) {
			sock_failed(t, c, errno);
			return -1;
		}
		if (!sent)
			wnd_to = sock_wnd(t, c) >> c->ws_to_guest;
		if (!n) {
			send_fin(t, c);
			arm(t, c, c->rto_ms);
			return sent + 1;
		}
		send_data(t, c, (size_t)n, (uint16_t)MIN(wnd_to, 65535));
		sent++;
		if (!node_linked(&c->timer))
			arm(t, c, c->rto_ms);
		/* after the peer's end of file, the FIN at once */
		if ((size_t)n < want && !(c->flags & F_SOCK_HUP)) {
			c->flags |= F_SOCK_DRY;
			return sent;
		}
	}
}

/* flush_one() - @c's data, then the ACK it owes if no segment carried it */
static void flush_one(struct sn_tcp *t, struct conn *c)
{
	unsigned int acks = 0;
	int sent;

	if (!release(t, c))
		return;
	sent = to_guest(t, c);
	if (sent < 0)
		return;
	if ((c->flags & F_ACK_NOW) && !sent) {
		/* the guest sent what the socket could not take: three
		 * duplicates make it send that again at once */
		acks = 1 + ((c->flags & F_DUP_ACKS) ? DUP_ACKS : 0);
		c->flags &= (uint8_t)~F_DUP_ACKS;
	}
	/* one duplicate for each segment past a gap, as a receiver without
	 * SACK sends them; data segments would not count as duplicates */
	acks = MAX(acks, c->dups);
	if (acks && (c->events & C_ESTABLISHED))
		send_acks(t, c, acks);
	c->dups = 0;
	c->flags &= (uint8_t) ~(F_ACK_NOW | F_UNHELD);
	if ((c->events & (C_GUEST_FIN | C_FIN_ACKED)) ==
	    (C_GUEST_FIN | C_FIN_ACKED))
		conn_free(t, c, false);
}

/* sn_tcp_flush() - every connection with work, once */
void sn_tcp_flush(struct sn_tcp *t)
{
	struct node *n;

	if (t->late) /* (tests) no later frame in this batch */
		late_frame(t);
	while (node_linked(&t->pending)) {
		n = t->pending.next;
		node_del(n);
		flush_one(t, CONN_OF(n, pend));
	}
}

/* conn_event() - what epoll said of @c's socket */
static void conn_event(struct sn_tcp *t, struct conn *c, uint32_t ev)
{
	int e = 0;
	socklen_t len = sizeof(e);

	if (c->events & C_CONNECTING) {
		if (ev & (EPOLLRDHUP | EPOLLHUP))
			c->flags |= F_SOCK_HUP;
		if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			connected(t, c);
		return;
	}
	if (ev & EPOLLERR) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
			e = errno;
		if (e) {
			sock_failed(t, c, e);
			return;
		}
	}
	if (ev & (EPOLLRDHUP | EPOLLHUP))
		c->flags |= F_SOCK_HUP;
	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) {
		c->flags &= (uint8_t)~F_SOCK_DRY;
		pend(t, c, 0);
	}
	if ((ev & EPOLLOUT) && (c->flags & F_WAIT_SPACE)) {
		c->flags &= (uint8_t)~F_WAIT_SPACE;
		pend(t, c, F_ACK_NOW | F_DUP_ACKS);
	}
	if ((ev & EPOLLOUT) && node_linked(&c->wwatch)) {
		node_del(&c->wwatch); /* room again: a window update */
		pend(t, c, F_ACK_NOW);
	}
}

/* sn_tcp_sock_events() - what the epoll fd holds, now */
void sn_tcp_sock_events(struct sn_tcp *t)
{
	struct epoll_event ev[EVENTS_BATCH];
	int n, i;

	do {
		n = epoll_wait(t->epfd, ev, EVENTS_BATCH, 0);
		for (i = 0; i < n; i++)
			conn_event(t, ev[i].data.ptr, ev[i].events);
	} while (n == EVENTS_BATCH);
}

/* ---- timers ---- */

/* conn_timeout() - @c's deadline passed */
static void conn_timeout(struct sn_tcp *t, struct conn *c)
{
	if (++c->retries > SN_TCP_RETRIES_MAX) {
		g_debug("tcp: guest port %u: no answer after %u "
			"retransmissions, resetting",
			c->key.gport, SN_TCP_RETRIES_MAX);
		conn_reset(t, c, true);
		return;
	}
	c->rto_ms = MIN(c->rto_ms * 2, SN_TCP_RTO_MAX_MS);
	if (!(c->events & C_ESTABLISHED)) {
		send_syn(t, c);
		arm(t, c, c->rto_ms);
	} else if (in_flight(c)) {
		retransmit(t, c);
		arm(t, c, c->rto_ms);
	} else if (!c->wnd_from_guest) {
		send_flags(t, c, SN_TH_ACK, c->seq_to_guest - 1);
		arm(t, c, c->rto_ms);
	} else {
		c->retries = 0;
		c->rto_ms = SN_TCP_RTO_MS;
	}
}

/* run_timers() - the connections whose deadline has passed */
static void run_timers(struct sn_tcp *t, gint64 now)
{
	struct node *n, *next, due;
	struct conn *c;

	node_init(&due);
	t->next_timer_ms = -1;
	for (n = t->timers.next; n != &t->timers; n = next) {
		next = n->next;
		c = CONN_OF(n, timer);
		if (c->deadline_ms > now) {
			if (t->next_timer_ms < 0 ||
			    c->deadline_ms < t->next_timer_ms)
				t->next_timer_ms = c->deadline_ms;
			continue;
		}
		node_del(n);
		node_add(&due, n);
	}
	while (node_linked(&due)) {
		n = due.next;
		node_del(n);
		conn_timeout(t, CONN_OF(n, timer)); /* may free or re-arm */
	}
}

/* sweep() - keep-alive probes for quiet connections, the silent reset */
static void sweep(struct sn_tcp *t, gint64 now)
{
	struct conn *c, *next;
	unsigned int b;

	t->next_sweep_ms = t->n_conns ? now + TICK_SWEEP_MS : -1;
	for (b = 0; t->buckets && b < HASH_BUCKETS; b++) {
		for (c = t->buckets[b]; c; c = next) {
			next = c->hnext;
			if (now - c->last_ms < SN_TCP_IDLE_MS)
				continue;
			if (c->probes >= SN_TCP_PROBES_MAX ||
			    !(c->events & C_ESTABLISHED)) {
				conn_reset(t, c, true);
				continue;
			}
			c->probes++;
			send_flags(t, c, SN_TH_ACK, c->seq_to_guest - 1);
		}
	}
}

/* watch_windows() - a window update to each guest whose window was small
 * and whose socket has room again; the watch backs off while none has */
static void watch_windows(struct sn_tcp *t, gint64 now)
{
	struct node *n, *next;
	struct conn *c;
	bool opened = false;

	for (n = t->wwatch.next; n != &t->wwatch; n = next) {
		next = n->next;
		c = CONN_OF(n, wwatch);
		if ((c->events & C_ESTABLISHED) && !(c->events & C_GUEST_FIN) &&
		    sock_room(c) < SN_TCP_WND_FLOOR)
			continue;
		node_del(n);
		if (!(c->events & C_ESTABLISHED) || (c->events & C_GUEST_FIN))
			continue;
		pend(t, c, F_ACK_NOW);
		opened = true;
	}
	t->wwatch_ms = opened ? 1 : MIN(t->wwatch_ms * 2, WWATCH_MAX_MS);
	t->next_wwatch_ms = now + t->wwatch_ms;
}

/* delacks_due() - the held-back ACKs whose time has come, to the flush */
static void delacks_due(struct sn_tcp *t, gint64 now)
{
	struct conn *c;

	while (node_linked(&t->delacks)) {
		c = CONN_OF(t->delacks.next, delack);
		if (c->delack_ms > now)
			return;
		node_del(&c->delack);
		pend(t, c, F_ACK_NOW);
	}
}

/* sn_tcp_timeout_ms() - the next deadline, held-back ACK, window check or
 * sweep */
gint64 sn_tcp_timeout_ms(const struct sn_tcp *t, gint64 now)
{
	gint64 at = t->next_timer_ms, ack;

	if (!node_linked(&t->timers))
		at = -1;
	if (node_linked(&t->delacks)) {
		ack = CONN_OF(t->delacks.next, delack)->delack_ms;
		if (at < 0 || ack < at)
			at = ack;
	}
	if (node_linked(&t->wwatch) && (at < 0 || t->next_wwatch_ms < at))
		at = t->next_wwatch_ms;
	if (t->next_sweep_ms >= 0 && (at < 0 || t->next_sweep_ms < at))
		at = t->next_sweep_ms;
	return at < 0 ? -1 : MAX(at - now, 0);
}

/* sn_tcp_timers() - what is due */
void sn_tcp_timers(struct sn_tcp *t, gint64 now)
{
	if (!node_linked(&t->wwatch))
		t->wwatch_ms = 1;
	else if (now >= t->next_wwatch_ms)
		watch_windows(t, now);
	if (t->next_timer_ms >= 0 && now >= t->next_timer_ms)
		run_timers(t, now);
	if (t->next_sweep_ms >= 0 && now >= t->next_sweep_ms)
		sweep(t, now);
	delacks_due(t, now);
}

/* ---- set-up ---- */

/* sn_tcp_new() - an epoll fd and a random hash key */
struct sn_tcp *sn_tcp_new(const struct sn_tcp_config *cfg, sn_tcp_tap_fn tap,
			  void *opaque, GError **err)
{
	struct sn_tcp *t = g_new0(struct sn_tcp, 1);

	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->epfd < 0) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "cannot create the TCP engine's epoll set: %s",
			    g_strerror(errno));
		g_free(t);
		return NULL;
	}
	t->cfg = *cfg;
	t->tap = tap;
	t->opaque = opaque;
	node_init(&t->timers);
	node_init(&t->pending);
	node_init(&t->wwatch);
	node_init(&t->delacks);
	t->next_timer_ms = t->next_sweep_ms = -1;
	t->no_peek_off = cfg->no_peek_off;
	t->gw_mac[0] = 0x52;
	t->gw_mac[1] = 0x55;
	memcpy(t->gw_mac + 2, &cfg->gateway.s_addr, 4);
	if (getrandom(t->hkey, sizeof(t->hkey), 0) != sizeof(t->hkey))
		t->hkey[0] =
		    (uint64_t)g_get_real_time() * 0x2545f4914f6cdd1dULL;
	return t;
}

/* sn_tcp_free() - RST both ends of every connection */
void sn_tcp_free(struct sn_tcp *t)
{
	unsigned int b;

	if (!t)
		return;
	for (b = 0; t->buckets && b < HASH_BUCKETS; b++)
		while (t->buckets[b])
			conn_reset(t, t->buckets[b], true);
	close(t->epfd);
	g_free(t->late);
	g_free(t->buckets);
	g_free(t->scratch);
	g_free(t->discard);
	g_free(t);
}

int sn_tcp_fd(const struct sn_tcp *t)
{
	return t->epfd;
}

const struct sn_tcp_stats *sn_tcp_stats(const struct sn_tcp *t)
{
	return &t->stats;
}
