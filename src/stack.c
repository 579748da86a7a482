/* stack.c - libslirp on the glib main loop: frames between the tap fd and
 * libslirp, libslirp's host sockets and timers driven by one GSource. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "guard.h"
#include "ipparse.h"
#include "log.h"
#include "offload.h"
#include "stack.h"
#include "tap.h"
#include "tcp.h"

/*
 * Theory of operation
 *
 * One custom GSource carries the whole packet path:
 *
 * - prepare(): libslirp's slirp_pollfds_fill() names the host sockets it
 *   wants watched and for what. Each fd has one GPollFD slot, registered with
 *   the source once and kept while libslirp keeps asking for that fd; only its
 *   events change from one iteration to the next, so the steady state makes no
 *   allocation and no glib list edit. Slots libslirp stopped asking for are
 *   unregistered in the same pass. The poll timeout is the smaller of
 *   libslirp's (TCP fast/slow timers) and our next libslirp timer.
 *
 * - check(): always true. libslirp expects slirp_pollfds_poll() after every
 *   poll, ready fds or not, because it runs its TCP timers there.
 *
 * - dispatch(): frames from the tap fd, read in a batch until EAGAIN or
 *   SN_TAP_BATCH frames. Each is parsed once (ipparse.c: Ethernet and IP
 *   headers, every length checked), and the parse goes with it: to tcp.c,
 *   which takes the guest's TCP as it is; then the frame is completed by
 *   offload.c (the checksum the guest left partial; should the guest have
 *   put that inside the headers parsed, they are parsed again, so what
 *   follows sees what libslirp will), offered to the UDP input hook
 *   (replies of UDP forwards through tap0, udptap.c), checked by guard.c
 *   (TCP urgent data cleared, malformed TCP dropped, IPv4 reassembly kept
 *   safe: it may hand libslirp a frame of its own first) and handed to
 *   slirp_input(); then slirp_pollfds_poll() with the revents of this
 *   iteration (indices from this iteration's fill: sockets libslirp
 *   creates meanwhile start with no index and are not looked up, and
 *   closed ones leave its lists); then expired timers.
 *
 * Frames from libslirp (send_packet) are written straight to the tap fd, but
 * for TCP data segments when the tap offloads: a run of one connection's
 * segments is held back and goes to the guest as one frame (offload.c) at
 * the end of the dispatch, or before any other frame. The tap fd is
 * non-blocking: when the guest's queue is full the frame is dropped
 * and counted, as libslirp allows (TCP retransmits); never an error to
 * libslirp, which would log every one.
 *
 * A tap fd that fails for good (the device went away with its namespace)
 * ends the stack through the fatal callback, once.
 */

/* Frames read from the tap fd per wake-up, before yielding to the loop. */
#define SN_TAP_BATCH 64
/* Largest frame on the tap fd: a 64 KiB segment (TCP segmentation offload;
 * more than the largest MTU) and the Ethernet header, after the virtio-net
 * header. */
#define SN_FRAME_MAX (SN_VNET_HLEN + SN_ETH_HLEN + 65536)
/* Number of DHCP leases libslirp hands out (NB_BOOTP_CLIENTS). */
#define SN_DHCP_LEASES 16

struct sn_timer {
	struct sn_stack *s;
	SlirpTimerCb cb; /* timer_new() style, or NULL */
	SlirpTimerId id; /* timer_new_opaque() style */
	void *cb_opaque;
	gint64 expire_ms; /* on libslirp's clock; -1 when not armed */
};

/* One watched host socket: the GPollFD glib reads, and when we last saw it. */
struct pfd_slot {
	GPollFD pfd;
	guint gen;
	bool registered;
};

struct stack_source {
	GSource source;
	struct sn_stack *s;
};

struct sn_stack {
	Slirp *slirp;
	struct stack_source *src;
	int tapfd;
	size_t vnet_hlen; /* virtio-net header on the tap fd, or 0 */
	gpointer tap_tag;
	sn_stack_fatal_fn fatal;
	void *fatal_opaque;
	bool failed;
	struct sn_guard guard; /* what the tap input path cleaned or dropped */
	struct sn_tcp *tcp; /* the guest's TCP (tcp.c), or NULL: libslirp's */
	gpointer tcp_tag;
	struct sn_addrs addrs;
	bool ipv6;
	unsigned int mtu;
	sn_stack_input_fn udp_input; /* forwards' UDP through tap0, or NULL */
	void *udp_opaque;

	/* Host sockets: slots by fd number, the registered fds, and this
	 * iteration's slirp index -> slot. */
	struct pfd_slot **slots;
	guint n_slots;
	GArray *registered; /* int fds with a registered slot */
	GPtrArray *active;  /* struct pfd_slot *, by slirp poll index */
	guint gen;

	GPtrArray *timers; /* struct sn_timer * */

	struct sockaddr_storage out4, out6;
	struct sn_ratelimit rl_drop, rl_guest, rl_offload;
	guint64 tap_drops, offload_drops;
	struct sn_gso_batch gso; /* segments to the guest held back */
	uint8_t frame[SN_FRAME_MAX];
};

/* ---- libslirp callbacks ---- */

/* tap_writev() - one frame to the tap fd, in @iovcnt pieces */
static void tap_writev(struct sn_stack *s, const struct iovec *iov, int iovcnt)
{
	unsigned int held;
	ssize_t n;

	do
		n = writev(s->tapfd, iov, iovcnt);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		s->tap_drops++;
		if (errno != EAGAIN && sn_ratelimit_ok(&s->rl_drop, &held))
			g_warning("tap: dropped a frame to the guest: %s "
				  "(%u more dropped since the last report)",
				  g_strerror(errno), held);
	}
}

/* tap_write() - one frame to the tap fd, after @hdr (@hlen bytes) */
static void tap_write(struct sn_stack *s, const void *hdr, size_t hlen,
		      const void *buf, size_t len)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)hdr, .iov_len = hlen },
		{ .iov_base = (void *)buf, .iov_len = len },
	};

	tap_writev(s, iov, 2);
}

/* gso_flush() - the run of segments held back, to the guest as one frame */
static void gso_flush(struct sn_stack *s)
{
	const uint8_t *frame;
	size_t len;

	frame = sn_gso_frame(&s->gso, &len);
	if (frame)
		tap_write(s, NULL, 0, frame, len);
}

/* tcp_tap() - tcp.c -> guest: a frame, its virtio-net header included */
static void tcp_tap(const struct iovec *iov, int iovcnt, void *opaque)
{
	tap_writev(opaque, iov, iovcnt);
}

/* cb_send_packet() - libslirp -> guest: a TCP data segment joins the run
 * held back (offload.c), anything else goes to the tap fd after it */
static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	static const struct virtio_net_hdr hdr = SN_VNET_HDR_TX;
	struct sn_stack *s = opaque;

	enum sn_gso_verdict v = SN_GSO_NOT_DATA;

	if (s->vnet_hlen)
		v = sn_gso_add(&s->gso, buf, len);
	if (v == SN_GSO_TAKEN)
		return (ssize_t)len;
	gso_flush(s);
	if (v == SN_GSO_NEW_RUN)
		sn_gso_add(&s->gso, buf, len); /* an empty batch takes it */
	else
		tap_write(s, &hdr, s->vnet_hlen, buf, len);
	return (ssize_t)len;
}

/* cb_guest_error() - libslirp found the guest misbehaving */
static void cb_guest_error(const char *msg, void *opaque)
{
	struct sn_stack *s = opaque;

	if (sn_ratelimit_ok(&s->rl_guest, NULL))
		g_debug("guest error: %s", msg);
}

/* cb_clock_get_ns() - libslirp's clock: monotonic, nanoseconds */
static int64_t cb_clock_get_ns(void *opaque)
{
	(void)opaque;
	return g_get_monotonic_time() * 1000;
}

/* timer_add() - a new, disarmed timer owned by the stack */
static struct sn_timer *timer_add(struct sn_stack *s, SlirpTimerCb cb,
				  SlirpTimerId id, void *cb_opaque)
{
	struct sn_timer *t = g_new0(struct sn_timer, 1);

	t->s = s;
	t->cb = cb;
	t->id = id;
	t->cb_opaque = cb_opaque;
	t->expire_ms = -1;
	g_ptr_array_add(s->timers, t);
	return t;
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	return timer_add(opaque, cb, 0, cb_opaque);
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	return timer_add(opaque, NULL, id, cb_opaque);
}

/* cb_timer_free() - libslirp drops a timer */
static void cb_timer_free(void *timer, void *opaque)
{
	struct sn_stack *s = opaque;

	g_ptr_array_remove_fast(s->timers, timer);
	g_free(timer);
}

/* cb_timer_mod() - arm a timer for @expire_ms on libslirp's clock */
static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct sn_timer *t = timer;

	(void)opaque;
	t->expire_ms = expire_ms;
}

/* cb_poll_fd() - register/unregister hooks: prepare() tracks fds itself */
static void cb_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

/* cb_notify() - single-threaded: the next iteration refills anyway */
static void cb_notify(void *opaque)
{
	(void)opaque;
}

static const SlirpCb stack_callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_poll_fd,
	.unregister_poll_fd = cb_poll_fd,
	.notify = cb_notify,
	.timer_new_opaque = cb_timer_new_opaque,
};

/* ---- host socket polling ---- */

/* slot_for() - the slot of @fd, created on first use */
static struct pfd_slot *slot_for(struct sn_stack *s, int fd)
{
	guint n;

	if ((guint)fd >= s->n_slots) {
		n = MAX((guint)fd + 1, s->n_slots * 2);
		s->slots = g_renew(struct pfd_slot *, s->slots, n);
		memset(s->slots + s->n_slots, 0,
		       (n - s->n_slots) * sizeof(*s->slots));
		s->n_slots = n;
	}
	if (!s->slots[fd]) {
		s->slots[fd] = g_new0(struct pfd_slot, 1);
		s->slots[fd]->pfd.fd = fd;
	}
	return s->slots[fd];
}

/* slirp_events_to_glib() - SLIRP_POLL_* to G_IO_* */
static gushort slirp_events_to_glib(int ev)
{
	return (ev & SLIRP_POLL_IN ? G_IO_IN : 0) |
	       (ev & SLIRP_POLL_OUT ? G_IO_OUT : 0) |
	       (ev & SLIRP_POLL_PRI ? G_IO_PRI : 0) |
	       (ev & SLIRP_POLL_ERR ? G_IO_ERR : 0) |
	       (ev & SLIRP_POLL_HUP ? G_IO_HUP : 0);
}

/* cb_add_poll() - slirp_pollfds_fill() asks for @fd to be watched */
static int cb_add_poll(int fd, int events, void *opaque)
{
	struct sn_stack *s = opaque;
	struct pfd_slot *slot = slot_for(s, fd);

	slot->pfd.events = slirp_events_to_glib(events);
	slot->pfd.revents = 0;
	if (!slot->registered) {
		g_source_add_poll(&s->src->source, &slot->pfd);
		slot->registered = true;
		g_array_append_val(s->registered, fd);
	}
	slot->gen = s->gen;
	g_ptr_array_add(s->active, slot);
	return (int)s->active->len - 1;
}

/* cb_get_revents() - slirp_pollfds_poll() asks what happened to index @idx */
static int cb_get_revents(int idx, void *opaque)
{
	struct sn_stack *s = opaque;
	struct pfd_slot *slot;
	gushort r;

	if (idx < 0 || (guint)idx >= s->active->len)
		return 0;
	slot = g_ptr_array_index(s->active, idx);
	r = slot->pfd.revents;
	return (r & G_IO_IN ? SLIRP_POLL_IN : 0) |
	       (r & G_IO_OUT ? SLIRP_POLL_OUT : 0) |
	       (r & G_IO_PRI ? SLIRP_POLL_PRI : 0) |
	       (r & G_IO_ERR ? SLIRP_POLL_ERR : 0) |
	       (r & G_IO_HUP ? SLIRP_POLL_HUP : 0);
}

/* sweep_slots() - unregister the fds libslirp did not ask for this time */
static void sweep_slots(struct sn_stack *s)
{
	guint i = 0;
	int fd;

	while (i < s->registered->len) {
		fd = g_array_index(s->registered, int, i);
		if (s->slots[fd]->gen == s->gen) {
			i++;
			continue;
		}
		g_source_remove_poll(&s->src->source, &s->slots[fd]->pfd);
		s->slots[fd]->registered = false;
		g_array_remove_index_fast(s->registered, i);
	}
}

/* next_timer_ms() - ms until the earliest armed timer, or -1 if none */
static gint64 next_timer_ms(struct sn_stack *s, gint64 now_ms)
{
	gint64 best = -1;
	guint i;

	for (i = 0; i < s->timers->len; i++) {
		struct sn_timer *t = g_ptr_array_index(s->timers, i);

		if (t->expire_ms < 0)
			continue;
		if (best < 0 || t->expire_ms < best)
			best = t->expire_ms;
	}
	return best < 0 ? -1 : MAX(best - now_ms, 0);
}

/* run_timers() - fire the timers whose time has come */
static void run_timers(struct sn_stack *s)
{
	gint64 now_ms = g_get_monotonic_time() / 1000;
	guint i;

	for (i = 0; i < s->timers->len; i++) {
		struct sn_timer *t = g_ptr_array_index(s->timers, i);

		if (t->expire_ms < 0 || t->expire_ms > now_ms)
			continue;
		t->expire_ms = -1;
		/* The callback may re-arm or free timers: start over. */
		if (t->cb)
			t->cb(t->cb_opaque);
		else
			slirp_handle_timer(s->slirp, t->id, t->cb_opaque);
		i = (guint)-1;
	}
}

/* ---- the tap fd ---- */

/* stack_fail() - report a fatal tap error once */
static void stack_fail(struct sn_stack *s, const char *why)
{
	if (s->failed)
		return;
	s->failed = true;
	g_source_remove_unix_fd(&s->src->source, s->tap_tag);
	s->tap_tag = NULL;
	if (s->fatal)
		s->fatal(why, s->fatal_opaque);
}

/* guard_inject() - a frame guard.c made, to libslirp */
static void guard_inject(const uint8_t *frame, size_t len, void *opaque)
{
	struct sn_stack *s = opaque;

	slirp_input(s->slirp, frame, (int)len);
}

/* reparse() - parse @ip's frame again if the checksum sn_offload_rx()
 * completed lies in the headers it was parsed from: a guest can point the
 * field there and make them others, and what follows must see what
 * libslirp will */
static void reparse(const struct sn_stack *s, struct sn_ip *ip)
{
	if (sn_offload_csum_at(s->frame) < sn_ip_parsed_len(ip))
		sn_ip_parse(ip->frame, ip->len, ip);
}

/* offload_rx() - the frame's checksum completed, @ip up to date with it;
 * false to drop it */
static bool offload_rx(struct sn_stack *s, struct sn_ip *ip)
{
	enum sn_offload_verdict v;
	unsigned int held;

	if (!s->vnet_hlen)
		return true;
	v = sn_offload_rx(s->frame, s->vnet_hlen + ip->len);
	if (v == SN_OFFLOAD_OK) {
		reparse(s, ip);
		return true;
	}
	s->offload_drops++;
	if (sn_ratelimit_ok(&s->rl_offload, &held))
		g_warning("tap: dropped a frame from the guest: %s (%u more "
			  "since the last report)",
			  sn_offload_why(v), held);
	return false;
}

/* frame_input() - one frame read from the tap fd, parsed once: TCP to
 * tcp.c (whose frames need no checksum completed), the rest to libslirp */
static void frame_input(struct sn_stack *s, size_t n)
{
	uint8_t *frame = s->frame + s->vnet_hlen;
	struct sn_ip ip;

	if (n < s->vnet_hlen)
		return;
	n -= s->vnet_hlen;
	sn_ip_parse(frame, n, &ip);
	if (s->tcp && sn_tcp_input(s->tcp, &ip))
		return;
	if (!offload_rx(s, &ip))
		return;
	if (s->udp_input && s->udp_input(&ip, s->udp_opaque))
		return;
	if (sn_guard_frame(&s->guard, frame, &ip))
		slirp_input(s->slirp, frame, (int)n);
}

/* tap_input() - guest -> libslirp: read a batch of frames */
static void tap_input(struct sn_stack *s)
{
	g_autofree char *why = NULL;
	ssize_t n;
	int i;

	for (i = 0; i < SN_TAP_BATCH; i++) {
		n = read(s->tapfd, s->frame, sizeof(s->frame));
		if (n > 0) {
			frame_input(s, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		why =
		    g_strdup_printf("reading the tap device failed: %s",
				    n < 0 ? g_strerror(errno) : "end of file");
		stack_fail(s, why);
		return;
	}
}

/* ---- the GSource ---- */

/* tcp_dispatch() - tcp.c's sockets and timers, then the ACKs and data the
 * guest's frames and those made due */
static void tcp_dispatch(struct sn_stack *s, bool tap_in)
{
	/* after the guest's frames, their sockets' answers may be there
	 * already (a host on loopback answers in microseconds): look now,
	 * and they leave with this flush rather than after another poll */
	if (tap_in ||
	    (g_source_query_unix_fd(&s->src->source, s->tcp_tag) & G_IO_IN))
		sn_tcp_sock_events(s->tcp);
	sn_tcp_timers(s->tcp, g_get_monotonic_time() / 1000);
	sn_tcp_flush(s->tcp);
}

static gboolean src_prepare(GSource *source, gint *timeout)
{
	struct sn_stack *s = ((struct stack_source *)source)->s;
	uint32_t slirp_ms = UINT32_MAX;
	gint64 timer_ms, now_ms = g_get_monotonic_time() / 1000, tcp_ms;

	gso_flush(s);
	s->gen++;
	g_ptr_array_set_size(s->active, 0);
	slirp_pollfds_fill(s->slirp, &slirp_ms, cb_add_poll, s);
	sweep_slots(s);
	timer_ms = next_timer_ms(s, now_ms);
	tcp_ms = s->tcp ? sn_tcp_timeout_ms(s->tcp, now_ms) : -1;
	if (tcp_ms >= 0 && (timer_ms < 0 || tcp_ms < timer_ms))
		timer_ms = tcp_ms;
	if (slirp_ms == UINT32_MAX && timer_ms < 0)
		*timeout = -1;
	else if (timer_ms < 0 ||
		 (slirp_ms != UINT32_MAX && slirp_ms < timer_ms))
		*timeout = (gint)MIN(slirp_ms, G_MAXINT);
	else
		*timeout = (gint)MIN(timer_ms, G_MAXINT);
	return *timeout == 0;
}

static gboolean src_check(GSource *source)
{
	(void)source;
	return TRUE;
}

static gboolean src_dispatch(GSource *source, GSourceFunc cb, gpointer data)
{
	struct sn_stack *s = ((struct stack_source *)source)->s;
	GIOCondition tap = 0;

	(void)cb;
	(void)data;
	if (s->tap_tag)
		tap = g_source_query_unix_fd(source, s->tap_tag);
	if (tap & G_IO_IN)
		tap_input(s);
	else if (tap & (G_IO_ERR | G_IO_HUP | G_IO_NVAL))
		stack_fail(s, "the tap device went away (deleted, or its "
			      "network namespace is gone)");
	if (s->tcp)
		tcp_dispatch(s, tap & G_IO_IN);
	/* After the guest's frames: an ARP reply among them lets the frames
	 * that waited for it leave now (libslirp's if_start() runs here),
	 * not at the next timeout. */
	slirp_pollfds_poll(s->slirp, 0, cb_get_revents, s);
	run_timers(s);
	gso_flush(s);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs stack_source_funcs = {
	.prepare = src_prepare,
	.check = src_check,
	.dispatch = src_dispatch,
};

/* ---- set-up ---- */

/* print_banner() - slirp4netns's start-up summary, on stdout */
static void print_banner(const struct sn_config *cfg)
{
	const struct sn_addrs *a = &cfg->addrs;
	char net[INET_ADDRSTRLEN], mask[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
	char dns[INET_ADDRSTRLEN], first[INET_ADDRSTRLEN],
	    last[INET_ADDRSTRLEN], guest[INET_ADDRSTRLEN];
	struct in_addr end = { .s_addr = htonl(ntohl(a->dhcp_start.s_addr) +
					       SN_DHCP_LEASES - 1) };

	inet_ntop(AF_INET, &a->network, net, sizeof(net));
	inet_ntop(AF_INET, &a->netmask, mask, sizeof(mask));
	inet_ntop(AF_INET, &a->gateway, gw, sizeof(gw));
	inet_ntop(AF_INET, &a->dns, dns, sizeof(dns));
	inet_ntop(AF_INET, &a->dhcp_start, first, sizeof(first));
	inet_ntop(AF_INET, &end, last, sizeof(last));
	inet_ntop(AF_INET, &a->guest, guest, sizeof(guest));
	printf("Starting slirp\n* MTU:             %u\n"
	       "* Network:         %s\n* Netmask:         %s\n"
	       "* Gateway:         %s\n* DNS:             %s\n"
	       "* DHCP begin:      %s\n* DHCP end:        %s\n"
	       "* Recommended IP:  %s\n",
	       cfg->mtu, net, mask, gw, cfg->disable_dns ? "(disabled)" : dns,
	       first, last, guest);
	if (!cfg->disable_host_loopback)
		printf("WARNING: 127.0.0.1:* on the host is accessible as %s "
		       "(set --disable-host-loopback to prohibit connecting to "
		       "127.0.0.1:*)\n",
		       gw);
	fflush(stdout);
}

/* slirp_config() - the SlirpConfig for @cfg; outbound addresses in @s */
static bool slirp_config(struct sn_stack *s, const struct sn_config *cfg,
			 SlirpConfig *sc, GError **err)
{
	const struct sn_addrs *a = &cfg->addrs;

	*sc = (SlirpConfig){
		.version = SLIRP_CONFIG_VERSION_MAX,
		.in_enabled = true,
		.vnetwork = a->network,
		.vnetmask = a->netmask,
		.vhost = a->gateway,
		.in6_enabled = cfg->enable_ipv6,
		.vprefix_addr6 = a->prefix6,
		.vprefix_len = (uint8_t)a->prefix6_len,
		.vhost6 = a->gateway6,
		.vdhcp_start = a->dhcp_start,
		.vnameserver = a->dns,
		.vnameserver6 = a->dns6,
		.if_mtu = cfg->mtu,
		.if_mru = cfg->mtu,
		.disable_host_loopback = cfg->disable_host_loopback,
		.disable_dns = cfg->disable_dns,
	};
	if (cfg->outbound_addr) {
		if (!sn_outbound_addr(cfg->outbound_addr, AF_INET, &s->out4,
				      err))
			return false;
		sc->outbound_addr = (struct sockaddr_in *)&s->out4;
	}
	if (cfg->outbound_addr6) {
		if (!sn_outbound_addr(cfg->outbound_addr6, AF_INET6, &s->out6,
				      err))
			return false;
		sc->outbound_addr6 = (struct sockaddr_in6 *)&s->out6;
	}
	return true;
}

#ifdef SN_TEST_KNOBS
/* knob() - (tests) the number in environment variable @name, 0 if unset */
static unsigned int knob(const char *name)
{
	const char *v = g_getenv(name);

	return v ? (unsigned int)g_ascii_strtoull(v, NULL, 10) : 0;
}
#endif

/* tcp_start() - tcp.c for the guest's TCP, unless --tcp-path=slirp */
static bool tcp_start(struct sn_stack *s, const struct sn_config *cfg,
		      const SlirpConfig *sc, GError **err)
{
	const struct sn_addrs *a = &cfg->addrs;
	struct sn_tcp_config tc = {
		.network = a->network,
		.netmask = a->netmask,
		.gateway = a->gateway,
		.dns = a->dns,
		.ipv6 = cfg->enable_ipv6,
		.prefix6 = a->prefix6,
		.gateway6 = a->gateway6,
		.dns6 = a->dns6,
		.prefix6_len = a->prefix6_len,
		.disable_host_loopback = cfg->disable_host_loopback,
		.out4 = sc->outbound_addr,
		.out6 = sc->outbound_addr6,
		.mtu = cfg->mtu,
		.vnet = s->vnet_hlen != 0,
	};

#ifdef SN_TEST_KNOBS
	tc.drop_every = knob("SN_TEST_DROP_EVERY");
	tc.no_peek_off = g_getenv("SN_TEST_NO_PEEK_OFF") != NULL;
	tc.reorder_every = knob("SN_TEST_REORDER_EVERY");
#endif
	if (cfg->tcp_slirp)
		return true;
	s->tcp = sn_tcp_new(&tc, tcp_tap, s, err);
	return s->tcp != NULL;
}

/* sn_stack_new() - create the slirp instance and attach it to the loop */
struct sn_stack *sn_stack_new(const struct sn_config *cfg, int tapfd,
			      sn_stack_fatal_fn fatal, void *opaque,
			      GError **err)
{
	struct sn_stack *s = g_new0(struct sn_stack, 1);
	SlirpConfig sc;

	s->tapfd = tapfd;
	s->addrs = cfg->addrs;
	s->ipv6 = cfg->enable_ipv6;
	s->mtu = cfg->mtu;
	s->vnet_hlen =
	    sn_offload_wanted(cfg->disable_offload, cfg->tcp_slirp, cfg->mtu)
		? SN_VNET_HLEN
		: 0;
	sn_guard_init(&s->guard, guard_inject, s);
	s->fatal = fatal;
	s->fatal_opaque = opaque;
	s->registered = g_array_new(FALSE, FALSE, sizeof(int));
	s->active = g_ptr_array_new();
	s->timers = g_ptr_array_new();
	if (!slirp_config(s, cfg, &sc, err)) {
		sn_stack_free(s);
		return NULL;
	}
	if (!tcp_start(s, cfg, &sc, err)) {
		sn_stack_free(s);
		return NULL;
	}
	s->slirp = slirp_new(&sc, &stack_callbacks, s);
	if (!s->slirp) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
			    "libslirp refused the configuration (MTU %u, "
			    "--cidr with prefix /%u)",
			    cfg->mtu, cfg->addrs.prefix);
		sn_stack_free(s);
		return NULL;
	}
	s->src = (struct stack_source *)g_source_new(
	    &stack_source_funcs, sizeof(struct stack_source));
	s->src->s = s;
	g_source_set_name(&s->src->source, "slirp");
	/* Otherwise glib removes and re-adds every poll of the source around
	 * each dispatch, and each edit wakes the loop: a busy loop. Nothing
	 * in dispatch iterates the main context, so recursion cannot occur. */
	g_source_set_can_recurse(&s->src->source, TRUE);
	s->tap_tag = g_source_add_unix_fd(&s->src->source, tapfd, G_IO_IN);
	if (s->tcp)
		s->tcp_tag = g_source_add_unix_fd(&s->src->source,
						  sn_tcp_fd(s->tcp), G_IO_IN);
	g_source_attach(&s->src->source, g_main_context_get_thread_default());
	print_banner(cfg);
	return s;
}

/* sn_stack_free() - detach, free libslirp, close the tap fd */
void sn_stack_free(struct sn_stack *s)
{
	guint i;

	if (!s)
		return;
	if (s->src) {
		g_source_destroy(&s->src->source);
		g_source_unref(&s->src->source);
	}
	sn_tcp_free(s->tcp);
	if (s->slirp)
		slirp_cleanup(s->slirp);
	for (i = 0; i < s->n_slots; i++)
		g_free(s->slots[i]);
	g_free(s->slots);
	g_array_unref(s->registered);
	g_ptr_array_unref(s->active);
	/* slirp_cleanup() freed its timers through cb_timer_free(). */
	g_ptr_array_set_free_func(s->timers, g_free);
	g_ptr_array_unref(s->timers);
	if (s->tapfd >= 0)
		close(s->tapfd);
	g_free(s);
}

/* sn_stack_tcp_stats() - tcp.c's counters, for get_info */
const struct sn_tcp_stats *sn_stack_tcp_stats(struct sn_stack *s)
{
	return s->tcp ? sn_tcp_stats(s->tcp) : NULL;
}

/* sn_stack_slirp() - the libslirp instance, for the forward table */
Slirp *sn_stack_slirp(struct sn_stack *s)
{
	return s->slirp;
}

/* guest_mac() - tap0's MAC address, the guest's */
static bool guest_mac(struct sn_stack *s, uint8_t mac[6], GError **err)
{
	struct ifreq ifr = { 0 };

	if (ioctl(s->tapfd, SIOCGIFHWADDR, &ifr) < 0) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "cannot read tap0's MAC address: %s",
			    g_strerror(errno));
		return false;
	}
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return true;
}

/* guest_addr6() - the guest's address in the /64 of --enable-ipv6, as its
 * kernel makes it by default from tap0's MAC (modified EUI-64, RFC 4291) */
static void guest_addr6(const struct sn_stack *s, const uint8_t mac[6],
			uint8_t out[16])
{
	memcpy(out, &s->addrs.prefix6, 8);
	out[8] = mac[0] ^ 0x02;
	out[9] = mac[1];
	out[10] = mac[2];
	out[11] = 0xff;
	out[12] = 0xfe;
	out[13] = mac[3];
	out[14] = mac[4];
	out[15] = mac[5];
}

/* client_addr() - the source the guest sees for @peer: its own address,
 * but the gateway's for the host's loopback (as libslirp's forwards do) */
static void client_addr(const struct sn_stack *s,
			const struct sockaddr_storage *peer, uint8_t client[16],
			uint16_t *port)
{
	if (peer->ss_family == AF_INET) {
		const struct sockaddr_in *p4 = (const void *)peer;
		struct in_addr a = p4->sin_addr;

		if ((ntohl(a.s_addr) >> 24) == 127)
			a = s->addrs.gateway;
		memcpy(client, &a, 4);
		*port = ntohs(p4->sin_port);
		return;
	}
	const struct sockaddr_in6 *p6 = (const void *)peer;
	struct in6_addr a6 = p6->sin6_addr;

	if (IN6_IS_ADDR_LOOPBACK(&a6))
		a6 = s->addrs.gateway6;
	memcpy(client, &a6, 16);
	*port = ntohs(p6->sin6_port);
}

/* in_guest_net() - is @client (of family @af; not the gateway) an address
 * of the guest's network, which the guest would look for on tap0's link?
 * Return: true, with @err saying so */
static bool in_guest_net(const struct sn_stack *s, int af,
			 const uint8_t client[16], GError **err)
{
	struct in_addr a;
	bool in;

	if (af == AF_INET6) {
		in = !memcmp(client, &s->addrs.prefix6, 8) &&
		     memcmp(client, &s->addrs.gateway6, 16) != 0;
	} else {
		memcpy(&a, client, 4);
		in = (a.s_addr & s->addrs.netmask.s_addr) ==
			 s->addrs.network.s_addr &&
		     a.s_addr != s->addrs.gateway.s_addr;
	}
	if (in)
		g_set_error_literal(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
				    "the client's address is in the guest's "
				    "own network, where the guest would look "
				    "for it: use mode auto or splice for "
				    "such clients");
	return in;
}

/* sn_stack_tcp_accept() - a forward's connection, to the guest on tap0 */
bool sn_stack_tcp_accept(struct sn_stack *s, int fd,
			 const struct sockaddr_storage *peer,
			 struct in_addr guest, uint16_t guest_port,
			 struct sn_fwd_stats *fst, GError **err)
{
	struct sn_tcp_inbound in = {
		.fd = fd,
		.af = peer->ss_family,
		.guest_port = guest_port,
		.fst = fst,
	};

	if (!s->tcp) {
		g_set_error_literal(err, G_FILE_ERROR, G_FILE_ERROR_NOSYS,
				    "the TCP flow engine is off "
				    "(--tcp-path=slirp)");
		return false;
	}
	if (in.af == AF_INET6 && !s->ipv6) {
		g_set_error_literal(err, G_FILE_ERROR, G_FILE_ERROR_NOSYS,
				    "an IPv6 client, and the guest has no IPv6 "
				    "(start slirpnetd with --enable-ipv6)");
		return false;
	}
	if (!guest_mac(s, in.guest_mac, err))
		return false;
	client_addr(s, peer, in.client, &in.client_port);
	if (in_guest_net(s, in.af, in.client, err))
		return false;
	if (in.af == AF_INET)
		memcpy(in.guest, &guest, 4);
	else
		guest_addr6(s, in.guest_mac, in.guest);
	return sn_tcp_accept(s->tcp, &in, err);
}

bool sn_stack_ends(struct sn_stack *s, const struct sockaddr_storage *peer,
		   struct in_addr guest, struct sn_stack_ends *e, GError **err)
{
	*e = (struct sn_stack_ends){ .af = peer->ss_family, .mtu = s->mtu };
	if (e->af == AF_INET6 && !s->ipv6) {
		g_set_error_literal(err, G_FILE_ERROR, G_FILE_ERROR_NOSYS,
				    "an IPv6 client, and the guest has no IPv6 "
				    "(start slirpnetd with --enable-ipv6)");
		return false;
	}
	if (e->af != AF_INET && e->af != AF_INET6) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "a client of address family %d", e->af);
		return false;
	}
	if (!guest_mac(s, e->guest_mac, err))
		return false;
	e->gw_mac[0] = 0x52; /* libslirp's: 52:55 and the gateway's address */
	e->gw_mac[1] = 0x55;
	memcpy(e->gw_mac + 2, &s->addrs.gateway.s_addr, 4);
	client_addr(s, peer, e->client, &e->client_port);
	if (in_guest_net(s, e->af, e->client, err))
		return false;
	if (e->af == AF_INET)
		memcpy(e->guest, &guest, 4);
	else
		guest_addr6(s, e->guest_mac, e->guest);
	return true;
}

void sn_stack_guest_writev(struct sn_stack *s, const struct iovec *iov,
			   int iovcnt)
{
	static const struct virtio_net_hdr hdr = SN_VNET_HDR_TX;
	struct iovec all[5] = { { (void *)&hdr, s->vnet_hlen } };

	g_return_if_fail(iovcnt >= 0 && iovcnt <= 4);
	gso_flush(s);
	memcpy(all + 1, iov, (size_t)iovcnt * sizeof(*iov));
	if (s->vnet_hlen)
		tap_writev(s, all, iovcnt + 1);
	else
		tap_writev(s, iov, iovcnt);
}

void sn_stack_set_udp_input(struct sn_stack *s, sn_stack_input_fn fn,
			    void *opaque)
{
	s->udp_input = fn;
	s->udp_opaque = opaque;
}
