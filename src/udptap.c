/* udptap.c - UDP forwards through tap0: datagrams from a forward's clients
 * enter the guest from the client's own address, its replies go back. */
#include <string.h>
#include <unistd.h>

#include "netbytes.h"
#include "stack.h"
#include "udpframe.h"
#include "udpfwd.h"
#include "udptap.h"

/*
 * Theory of operation
 *
 * A UDP forward in mode auto (for clients not on the host's loopback) or
 * tap (for all) hands each datagram its host socket received, in the
 * forwarders' thread, to sn_udptap_queue(): a copy joins one queue, under
 * a mutex, and the first datagram of an empty queue makes the main
 * thread's wake source ready (g_source_set_ready_time(), which wakes the
 * main loop once). The main thread takes the whole queue at once, so a
 * burst costs one wake-up, not one per datagram. The queue holds at most
 * SN_UDPTAP_QUEUE_MAX datagrams and SN_UDPTAP_QUEUE_BYTES_MAX bytes: past
 * that, datagrams are dropped and counted as the forward's errors.
 *
 * In the main thread, the client's address and port pick its flow, made
 * on first sight: the frames' ends as the guest sees them (stack.c: the
 * client's own address, the gateway's for the host's loopback; the
 * guest's IPv6 address for an IPv6 client) and the address the client
 * sent to. Each datagram goes to the guest as a UDP frame from the client
 * to the forward's guest address and port (IP fragments past the MTU).
 *
 * The guest's replies, UDP frames from that address and port to the
 * client, are taken from the tap input before libslirp (their checksums
 * completed by then) and sent from the forward's host socket to the
 * client, from the address it sent to (IP_PKTINFO). The main thread sends
 * through a dup of the host socket of its own, closed when the forward is
 * removed, so no thread uses an fd another closed. Frames of no flow go to
 * libslirp.
 *
 * A reply the guest fragmented (longer than the MTU) is put together
 * first: its first fragment names the flow, the others must follow in
 * order (as the guest's kernel sends them), in one of SN_UDPTAP_REASM
 * slots (the oldest gives way, counted as an error).
 *
 * A forward has at most SN_UDP_FLOWS_MAX flows; a flow that moved nothing
 * for --udp-timeout is closed (a timer looks every quarter of that while
 * flows exist). Removing a forward drops its queued datagrams and ends its
 * flows at once. Counters go to the forward's "tap" stats, written by the
 * main thread only.
 */

/* A flow as the guest sees it: the key of its reply frames. */
struct flow_key {
	uint8_t af;
	uint16_t cport, gport;
	uint8_t caddr[16], gaddr[16];
};

struct flow {
	struct flow_key key;
	struct sockaddr_storage peer;  /* the client, on the host */
	struct sockaddr_storage local; /* the address the client sent to */
	struct sn_udptap_fwd *uf;
	struct sn_udpframe_tmpl tmpl; /* frames to the guest */
	gint64 last_us;
};

struct sn_udptap_fwd {
	struct sn_udptap *ut;
	int fd; /* the main thread's dup of the host socket */
	struct sn_fwd_spec spec;
	struct sn_fwd_stats *fst; /* a reference */
	GHashTable *by_peer;	  /* struct sockaddr_storage * -> flow */
	GList link;		  /* in ut->fwds */
	unsigned int dropped;	  /* queue full (under ut->lock) */
};

/* A reply the guest fragmented, being put together. */
struct sn_udptap_reasm {
	struct flow *fl; /* NULL: a free slot */
	int af;
	uint8_t saddr[16], daddr[16];
	uint32_t id;
	uint8_t *buf; /* ulen bytes: the UDP header and data */
	size_t ulen, have;
	uint64_t seq; /* when it started, for giving way */
};

/* One datagram on its way to the main thread. */
struct dgram {
	GList link;
	struct sn_udptap_fwd *uf;
	struct sockaddr_storage peer, local;
	size_t len;
	uint8_t data[];
};

/* ---- flows ---- */

/* key_hash(), key_equal() - struct flow_key as a GHashTable key (its
 * padding zeroed by key_of()) */
static guint key_hash(gconstpointer p)
{
	const struct flow_key *k = p;
	guint h = (guint)k->af * 31u + k->cport;

	h = h * 31u + k->gport;
	for (int i = 0; i < 16; i++)
		h = h * 31u + k->caddr[i];
	return h;
}

static gboolean key_equal(gconstpointer a, gconstpointer b)
{
	return !memcmp(a, b, sizeof(struct flow_key));
}

/* key_of() - the key of frames between @caddr:@cport and @gaddr:@gport */
static void key_of(struct flow_key *k, int af, const uint8_t *caddr,
		   uint16_t cport, const uint8_t *gaddr, uint16_t gport)
{
	size_t alen = af == AF_INET ? 4 : 16;

	memset(k, 0, sizeof(*k));
	k->af = (uint8_t)af;
	k->cport = cport;
	k->gport = gport;
	memcpy(k->caddr, caddr, alen);
	memcpy(k->gaddr, gaddr, alen);
}

/* reasm_free() - free @ra's slot */
static void reasm_free(struct sn_udptap_reasm *ra)
{
	g_clear_pointer(&ra->buf, g_free);
	ra->fl = NULL;
}

/* flow_close() - end @fl, and a reply of it being put together */
static void flow_close(struct flow *fl)
{
	struct sn_udptap_fwd *uf = fl->uf;

	for (int i = 0; i < SN_UDPTAP_REASM; i++)
		if (uf->ut->reasm[i].fl == fl)
			reasm_free(&uf->ut->reasm[i]);
	g_hash_table_remove(uf->ut->flows, &fl->key);
	g_hash_table_remove(uf->by_peer, &fl->peer);
	uf->fst->conns_open--;
	g_free(fl);
}

/* close_all() - close the flows in @flows' values idle since before
 * @idle_before_us (G_MAXINT64: all) */
static void close_all(GHashTable *flows, gint64 idle_before_us)
{
	g_autoptr(GPtrArray) gone = g_ptr_array_new();
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, flows);
	while (g_hash_table_iter_next(&it, NULL, &v))
		if (((struct flow *)v)->last_us < idle_before_us)
			g_ptr_array_add(gone, v);
	for (guint i = 0; i < gone->len; i++)
		flow_close(g_ptr_array_index(gone, i));
}

/* sweep() - the timer: close idle flows; it stops with the last one */
static gboolean sweep(gpointer data)
{
	struct sn_udptap *ut = data;

	close_all(ut->flows,
		  g_get_monotonic_time() - (gint64)ut->idle_s * G_USEC_PER_SEC);
	if (g_hash_table_size(ut->flows))
		return G_SOURCE_CONTINUE;
	g_clear_pointer(&ut->sweep, g_source_unref);
	return G_SOURCE_REMOVE;
}

/* sweep_arm() - look for idle flows every quarter of the timeout, so a
 * flow lives at most 1.25 times it */
static void sweep_arm(struct sn_udptap *ut)
{
	if (ut->sweep)
		return;
	ut->sweep = g_timeout_source_new(ut->idle_s * 1000 / 4 ?: 1);
	g_source_set_callback(ut->sweep, sweep, ut, NULL);
	g_source_attach(ut->sweep, g_main_context_get_thread_default());
}

/* flow_make() - a flow for a new client at @peer; NULL with @err */
static struct flow *flow_make(struct sn_udptap_fwd *uf,
			      const struct sockaddr_storage *peer, GError **err)
{
	struct sn_stack_ends e;
	struct flow_key k;
	struct flow *fl;

	if (g_hash_table_size(uf->by_peer) >= SN_UDP_FLOWS_MAX) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOSPC,
			    "%d clients already (the limit); dropping "
			    "datagrams from new ones until flows expire",
			    SN_UDP_FLOWS_MAX);
		return NULL;
	}
	if (!sn_stack_ends(uf->ut->stack, peer, uf->spec.guest_addr, &e, err))
		return NULL;
	key_of(&k, e.af, e.client, e.client_port, e.guest, uf->spec.guest_port);
	if (g_hash_table_contains(uf->ut->flows, &k)) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_EXIST,
			    "the guest has a flow between its port %u and the "
			    "client's port %u already (another client that "
			    "appears as the gateway?)",
			    uf->spec.guest_port, e.client_port);
		return NULL;
	}
	fl = g_new0(struct flow, 1);
	fl->key = k;
	fl->peer = *peer;
	fl->uf = uf;
	fl->tmpl = (struct sn_udpframe_tmpl){ .af = e.af,
					      .sport = e.client_port,
					      .dport = uf->spec.guest_port,
					      .mtu = e.mtu };
	memcpy(fl->tmpl.smac, e.gw_mac, 6);
	memcpy(fl->tmpl.dmac, e.guest_mac, 6);
	memcpy(fl->tmpl.saddr, e.client, sizeof(e.client));
	memcpy(fl->tmpl.daddr, e.guest, sizeof(e.guest));
	return fl;
}

/* flow_open() - a flow for a new client; NULL (counted, logged) if none */
static struct flow *flow_open(struct sn_udptap_fwd *uf,
			      const struct sockaddr_storage *peer)
{
	struct sn_udptap *ut = uf->ut;
	g_autoptr(GError) err = NULL;
	unsigned int held = 0;
	struct flow *fl = flow_make(uf, peer, &err);

	if (!fl) {
		uf->fst->errors++;
		if (sn_ratelimit_ok(&ut->rl, &held)) {
			g_autofree char *where = sn_fwd_spec_host(&uf->spec);

			g_warning("forward %s: no flow through tap0 for a new "
				  "client: %s (%u similar messages suppressed)",
				  where, err->message, held);
		}
		return NULL;
	}
	g_hash_table_insert(uf->by_peer, &fl->peer, fl);
	g_hash_table_insert(ut->flows, &fl->key, fl);
	uf->fst->conns_open++;
	uf->fst->conns_total++;
	sweep_arm(ut);
	return fl;
}

/* ---- to the guest ---- */

/* emit() - an sn_udpframe_emit_fn: a frame to the guest */
static void emit(const struct iovec *iov, int iovcnt, void *opaque)
{
	sn_stack_guest_writev(opaque, iov, iovcnt);
}

/* deliver() - in the main thread: @d to the guest, through its flow */
static void deliver(struct sn_udptap *ut, const struct dgram *d)
{
	struct sn_udptap_fwd *uf = d->uf;
	struct flow *fl = g_hash_table_lookup(uf->by_peer, &d->peer);

	if (!fl && !(fl = flow_open(uf, &d->peer)))
		return;
	fl->local = d->local;
	fl->last_us = g_get_monotonic_time();
	if (sn_udpframe_build(&fl->tmpl, d->data, d->len, ut->ip_id++, emit,
			      ut->stack))
		uf->fst->bytes_to_guest += d->len;
	else
		uf->fst->errors++; /* larger than its family carries */
}

/* count_drops() - the datagrams the queue had no room for, as errors */
static void count_drops(struct sn_udptap *ut)
{
	unsigned int held = 0;

	for (GList *l = ut->fwds.head; l; l = l->next) {
		struct sn_udptap_fwd *uf = l->data;
		g_autofree char *where = NULL;

		if (!uf->dropped)
			continue;
		uf->fst->errors += uf->dropped;
		if (sn_ratelimit_ok(&ut->rl, &held)) {
			where = sn_fwd_spec_host(&uf->spec);
			g_warning("forward %s: dropped %u datagrams: the queue "
				  "to the guest is full (%u similar messages "
				  "suppressed)",
				  where, uf->dropped, held);
		}
		uf->dropped = 0;
	}
	ut->dropped = false;
}

/* drain() - every queued datagram to the guest */
static void drain(struct sn_udptap *ut)
{
	GQueue batch;
	GList *l;

	g_mutex_lock(&ut->lock);
	batch = ut->queue;
	g_queue_init(&ut->queue);
	ut->queued_bytes = 0;
	if (ut->dropped)
		count_drops(ut);
	g_mutex_unlock(&ut->lock);
	while ((l = g_queue_pop_head_link(&batch))) {
		deliver(ut, l->data);
		g_free(l->data);
	}
}

struct wake_source {
	GSource source;
	struct sn_udptap *ut;
};

/* wake_dispatch() - datagrams are queued: disarm, and take them all */
static gboolean wake_dispatch(GSource *source, GSourceFunc cb, gpointer data)
{
	(void)cb;
	(void)data;
	g_source_set_ready_time(source, -1);
	drain(((struct wake_source *)source)->ut);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs wake_funcs = { .dispatch = wake_dispatch };

void sn_udptap_queue(void *fwd_tap, const struct sockaddr_storage *peer,
		     const struct sockaddr_storage *local, const void *buf,
		     size_t len)
{
	struct sn_udptap_fwd *uf = fwd_tap;
	struct sn_udptap *ut = uf->ut;
	struct dgram *d = g_malloc(sizeof(*d) + len);

	d->link = (GList){ .data = d };
	d->uf = uf;
	d->peer = *peer;
	d->local = *local;
	d->len = len;
	memcpy(d->data, buf, len);
	g_mutex_lock(&ut->lock);
	if (ut->queue.length >= SN_UDPTAP_QUEUE_MAX ||
	    ut->queued_bytes + len > SN_UDPTAP_QUEUE_BYTES_MAX) {
		uf->dropped++;
		ut->dropped = true;
		g_mutex_unlock(&ut->lock);
		g_free(d);
		return;
	}
	g_queue_push_tail_link(&ut->queue, &d->link);
	ut->queued_bytes += len;
	if (ut->queue.length == 1)
		g_source_set_ready_time(ut->wake, 0);
	g_mutex_unlock(&ut->lock);
}

/* ---- from the guest ---- */

/* send_reply() - @dlen bytes from the guest to @fl's client */
static void send_reply(struct flow *fl, const uint8_t *data, size_t dlen)
{
	fl->last_us = g_get_monotonic_time();
	if (sn_fwd_send_from(fl->uf->fd, data, dlen, &fl->peer, &fl->local) ==
	    (ssize_t)dlen)
		fl->uf->fst->bytes_from_guest += dlen;
	else
		fl->uf->fst->errors++;
}

/* reasm_find() - the slot putting together the datagram of @fr, if any */
static struct sn_udptap_reasm *reasm_find(struct sn_udptap *ut,
					  const struct sn_udpfrag *fr)
{
	size_t alen = fr->af == AF_INET ? 4 : 16;

	for (int i = 0; i < SN_UDPTAP_REASM; i++) {
		struct sn_udptap_reasm *ra = &ut->reasm[i];

		if (ra->fl && ra->af == fr->af && ra->id == fr->id &&
		    !memcmp(ra->saddr, fr->saddr, alen) &&
		    !memcmp(ra->daddr, fr->daddr, alen))
			return ra;
	}
	return NULL;
}

/* reasm_slot() - a free slot, or the oldest's, its datagram dropped */
static struct sn_udptap_reasm *reasm_slot(struct sn_udptap *ut)
{
	struct sn_udptap_reasm *old = &ut->reasm[0];

	for (int i = 0; i < SN_UDPTAP_REASM; i++) {
		if (!ut->reasm[i].fl)
			return &ut->reasm[i];
		if (ut->reasm[i].seq < old->seq)
			old = &ut->reasm[i];
	}
	old->fl->uf->fst->errors++;
	reasm_free(old);
	return old;
}

/* reasm_start() - a first fragment: put its datagram together if it is a
 * flow's reply. Return: true if it is */
static bool reasm_start(struct sn_udptap *ut, const struct sn_udpfrag *fr)
{
	struct sn_udptap_reasm *ra;
	struct flow_key k;
	struct flow *fl;
	size_t ulen;

	if (fr->off || !fr->more || fr->len < 8)
		return false;
	ulen = sn_get16(fr->data + 4);
	key_of(&k, fr->af, fr->daddr, sn_get16(fr->data + 2), fr->saddr,
	       sn_get16(fr->data));
	fl = g_hash_table_lookup(ut->flows, &k);
	if (!fl)
		return false;
	if (ulen <= fr->len) { /* no room for the other fragments */
		fl->uf->fst->errors++;
		return true;
	}
	ra = reasm_slot(ut);
	*ra = (struct sn_udptap_reasm){ .fl = fl,
					.af = fr->af,
					.id = fr->id,
					.ulen = ulen,
					.have = fr->len,
					.seq = ++ut->reasm_seq };
	memcpy(ra->saddr, fr->saddr, sizeof(ra->saddr));
	memcpy(ra->daddr, fr->daddr, sizeof(ra->daddr));
	ra->buf = g_malloc(ulen);
	memcpy(ra->buf, fr->data, fr->len);
	return true;
}

/* frag_input() - a fragment from the guest. Return: true if it was part
 * of a flow's reply */
static bool frag_input(struct sn_udptap *ut, const struct sn_udpfrag *fr)
{
	struct sn_udptap_reasm *ra = reasm_find(ut, fr);

	if (!ra)
		return reasm_start(ut, fr);
	if (fr->off != ra->have || fr->off + fr->len > ra->ulen ||
	    (!fr->more && fr->off + fr->len != ra->ulen)) {
		ra->fl->uf->fst->errors++; /* out of order, or lengths lie */
		reasm_free(ra);
		return true;
	}
	memcpy(ra->buf + ra->have, fr->data, fr->len);
	ra->have += fr->len;
	if (fr->more)
		return true;
	send_reply(ra->fl, ra->buf + 8, ra->ulen - 8);
	reasm_free(ra);
	return true;
}

/* reply() - an sn_stack_input_fn: a flow's reply to its client */
static bool reply(const struct sn_ip *ip, void *opaque)
{
	struct sn_udptap *ut = opaque;
	struct sn_udpframe u;
	struct sn_udpfrag fr;
	struct flow_key k;
	struct flow *fl;

	if (!g_hash_table_size(ut->flows))
		return false;
	switch (sn_udpframe_parse(ip, &u)) {
	case SN_UDPFRAME_OK:
		break;
	case SN_UDPFRAME_NOT_UDP:
		return sn_udpfrag_parse(ip, &fr) && frag_input(ut, &fr);
	default:
		return false;
	}
	key_of(&k, u.af, u.daddr, u.dport, u.saddr, u.sport);
	fl = g_hash_table_lookup(ut->flows, &k);
	if (!fl)
		return false;
	send_reply(fl, u.data, u.dlen);
	return true;
}

/* ---- forwards ---- */

struct sn_udptap_fwd *sn_udptap_fwd_new(struct sn_udptap *ut,
					const struct sn_fwd_spec *spec,
					struct sn_fwd_stats *fst)
{
	struct sn_udptap_fwd *uf = g_new0(struct sn_udptap_fwd, 1);

	uf->ut = ut;
	uf->fd = -1;
	uf->spec = *spec;
	uf->fst = g_atomic_rc_box_acquire(fst);
	uf->by_peer = g_hash_table_new(sn_fwd_peer_hash, sn_fwd_peer_equal);
	uf->link.data = uf;
	g_queue_push_tail_link(&ut->fwds, &uf->link);
	return uf;
}

void sn_udptap_fwd_set_fd(struct sn_udptap_fwd *uf, int fd)
{
	if (uf->fd >= 0)
		close(uf->fd);
	uf->fd = fd;
}

/* unqueue() - drop @uf's datagrams from the queue */
static void unqueue(struct sn_udptap_fwd *uf)
{
	struct sn_udptap *ut = uf->ut;
	GList *l, *next;

	g_mutex_lock(&ut->lock);
	for (l = ut->queue.head; l; l = next) {
		struct dgram *d = l->data;

		next = l->next;
		if (d->uf != uf)
			continue;
		g_queue_unlink(&ut->queue, l);
		ut->queued_bytes -= d->len;
		g_free(d);
	}
	g_mutex_unlock(&ut->lock);
}

void sn_udptap_fwd_free(struct sn_udptap_fwd *uf)
{
	if (!uf)
		return;
	unqueue(uf);
	close_all(uf->by_peer, G_MAXINT64);
	g_hash_table_unref(uf->by_peer);
	if (uf->fd >= 0)
		close(uf->fd);
	g_queue_unlink(&uf->ut->fwds, &uf->link);
	g_atomic_rc_box_release(uf->fst);
	g_free(uf);
}

/* ---- set-up ---- */

void sn_udptap_init(struct sn_udptap *ut, struct sn_stack *stack,
		    unsigned int idle_s)
{
	*ut = (struct sn_udptap){ .stack = stack, .idle_s = idle_s };
	ut->flows = g_hash_table_new(key_hash, key_equal);
	ut->reasm = g_new0(struct sn_udptap_reasm, SN_UDPTAP_REASM);
	g_mutex_init(&ut->lock);
	ut->wake = g_source_new(&wake_funcs, sizeof(struct wake_source));
	((struct wake_source *)ut->wake)->ut = ut;
	g_source_set_name(ut->wake, "udp through tap0");
	g_source_attach(ut->wake, g_main_context_get_thread_default());
	sn_stack_set_udp_input(stack, reply, ut);
}

void sn_udptap_clear(struct sn_udptap *ut)
{
	GList *l;

	if (!ut->flows)
		return;
	sn_stack_set_udp_input(ut->stack, NULL, NULL);
	while ((l = ut->fwds.head))
		sn_udptap_fwd_free(l->data);
	while ((l = g_queue_pop_head_link(&ut->queue)))
		g_free(l->data);
	if (ut->sweep) {
		g_source_destroy(ut->sweep);
		g_clear_pointer(&ut->sweep, g_source_unref);
	}
	g_source_destroy(ut->wake);
	g_clear_pointer(&ut->wake, g_source_unref);
	g_clear_pointer(&ut->flows, g_hash_table_unref);
	g_clear_pointer(&ut->reasm, g_free);
	g_mutex_clear(&ut->lock);
}
