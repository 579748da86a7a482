/* udpfwd.c - the fast UDP forwarder: a flow per client address, each with a
 * socket inside the namespace connected to the guest; idle flows expire. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "udpfwd.h"

/*
 * Datagrams to the host port are read in batches; the sender's address
 * picks its flow, made on first sight: a UDP socket from the namespace
 * helper, connected to the guest's address and port, so that the guest's
 * replies come back on it alone and go out of the host socket to that
 * sender. A flow that moved nothing for SN_UDP_IDLE_S is closed (a timer
 * sweeps every quarter of that while flows exist).
 *
 * With source_ip, the flow's socket is transparent and bound to the
 * client's own address and port. Replies to a loopback client are local in
 * the namespace too; for any other client a routing rule matching exactly
 * the flow's reply (to the client's address and port, from the guest's
 * port, UDP) sends them to the local table, and goes with the flow.
 *
 * Removing a forward closes its flows at once: replies have no other way
 * out than the host socket, which goes with it.
 */

#define SN_UDP_BATCH 64

struct sn_udp_fwd {
	struct sn_ev ev;
	int fd;
	struct sn_fwd_env *env;
	struct sn_fwd_spec spec;
	struct sn_fwd_stats stats;
	struct sockaddr_in guest;
	GHashTable *flows; /* struct sockaddr_storage * -> struct flow * */
	guint sweep;
};

struct flow {
	struct sn_ev ev;
	struct sn_udp_fwd *f;
	int fd;
	struct sockaddr_storage peer;
	gint64 last_us;
	bool rule; /* a source_ip routing rule is in place for it */
};

/* ---- flow keys ---- */

static guint peer_hash(gconstpointer p)
{
	const struct sockaddr_storage *ss = p;
	const struct sockaddr_in *a4 = p;
	const struct sockaddr_in6 *a6 = p;
	guint h;

	if (ss->ss_family == AF_INET)
		return a4->sin_addr.s_addr * 2654435761u ^ a4->sin_port;
	h = a6->sin6_port;
	for (int i = 0; i < 16; i++)
		h = h * 31 + a6->sin6_addr.s6_addr[i];
	return h;
}

static gboolean peer_equal(gconstpointer a, gconstpointer b)
{
	const struct sockaddr_storage *x = a, *y = b;
	const struct sockaddr_in *x4 = a, *y4 = b;
	const struct sockaddr_in6 *x6 = a, *y6 = b;

	if (x->ss_family != y->ss_family)
		return FALSE;
	if (x->ss_family == AF_INET)
		return x4->sin_addr.s_addr == y4->sin_addr.s_addr &&
		       x4->sin_port == y4->sin_port;
	return IN6_ARE_ADDR_EQUAL(&x6->sin6_addr, &y6->sin6_addr) &&
	       x6->sin6_port == y6->sin6_port;
}

static socklen_t peer_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                 : sizeof(struct sockaddr_in);
}

/* ---- flows ---- */

/* flow_rule() - the routing rule that brings @fl's replies back, if any */
static bool flow_rule(const struct flow *fl, struct sn_nl_rule *r)
{
	struct sockaddr_in v4;

	if (!fl->f->spec.source_ip || !sn_fwd_peer_v4(&fl->peer, &v4))
		return false;
	/* 127.0.0.0/8 is local in the namespace: replies find it anyway */
	if ((ntohl(v4.sin_addr.s_addr) >> 24) == 127)
		return false;
	*r = (struct sn_nl_rule){
	    .priority = SN_SRCIP_FLOW_PRIO,
	    .table = SN_SRCIP_TABLE,
	    .to = v4.sin_addr,
	    .ipproto = IPPROTO_UDP,
	    .sport = fl->f->spec.guest_port,
	    .dport = ntohs(v4.sin_port),
	};
	return true;
}

static void flow_free(struct sn_ev *ev)
{
	g_free(SN_CONTAINER_OF(ev, struct flow, ev));
}

/* flow_close() - close @fl's socket and rule; the table entry goes too */
static void flow_close(struct flow *fl)
{
	struct sn_udp_fwd *f = fl->f;
	struct sn_nl_rule r;
	g_autoptr(GError) err = NULL;

	if (fl->rule && flow_rule(fl, &r) &&
	    !sn_nshelper_rule(f->env->nsh, false, &r, &err))
		g_warning("udp forward: %s", err->message);
	sn_ev_del(f->env->ev, fl->fd);
	close(fl->fd);
	f->stats.conns_open--;
	sn_ev_release(f->env->ev, &fl->ev, flow_free);
}

/* flow_event() - the guest answered: send it to the flow's client */
static void flow_event(struct sn_ev *ev, uint32_t events)
{
	struct flow *fl = SN_CONTAINER_OF(ev, struct flow, ev);
	struct sn_udp_fwd *f = fl->f;
	char *buf = f->env->dgram;

	(void)events;
	for (int i = 0; i < SN_UDP_BATCH; i++) {
		ssize_t n = recv(fl->fd, buf, SN_UDP_DGRAM_MAX, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) { /* ICMP from the guest: port closed, ... */
			f->stats.errors++;
			continue;
		}
		fl->last_us = g_get_monotonic_time();
		if (sendto(f->fd, buf, (size_t)n, MSG_DONTWAIT,
		           (struct sockaddr *)&fl->peer,
		           peer_len(&fl->peer)) == n)
			f->stats.bytes_from_guest += (uint64_t)n;
		else
			f->stats.errors++;
	}
}

static gboolean sweep(gpointer data);

/* flow_open() - a flow for a new client; NULL (logged) on failure */
static struct flow *flow_open(struct sn_udp_fwd *f,
                              const struct sockaddr_storage *peer)
{
	g_autoptr(GError) err = NULL;
	struct flow *fl;
	struct sn_nl_rule r;
	int fd;

	if (g_hash_table_size(f->flows) >= SN_UDP_FLOWS_MAX) {
		g_set_error(&err, G_FILE_ERROR, G_FILE_ERROR_NOSPC,
		            "%d clients already (the limit); dropping "
		            "datagrams from new ones until flows expire",
		            SN_UDP_FLOWS_MAX);
		goto fail;
	}
	fd =
	    sn_fwd_ns_socket(f->env, SOCK_DGRAM, f->spec.source_ip, peer, &err);
	if (fd < 0)
		goto fail;
	if (connect(fd, (struct sockaddr *)&f->guest, sizeof(f->guest)) < 0) {
		g_set_error(&err, G_FILE_ERROR, g_file_error_from_errno(errno),
		            "connect: %s", g_strerror(errno));
		close(fd);
		goto fail;
	}
	fl = g_new0(struct flow, 1);
	fl->f = f;
	fl->fd = fd;
	fl->peer = *peer;
	fl->last_us = g_get_monotonic_time();
	if (flow_rule(fl, &r)) {
		if (!sn_nshelper_rule(f->env->nsh, true, &r, &err)) {
			close(fd);
			g_free(fl);
			goto fail;
		}
		fl->rule = true;
	}
	sn_ev_add(f->env->ev, &fl->ev, flow_event, fd, EPOLLIN);
	g_hash_table_insert(f->flows, &fl->peer, fl);
	f->stats.conns_open++;
	f->stats.conns_total++;
	if (!f->sweep)
		f->sweep = g_timeout_add_seconds(SN_UDP_IDLE_S / 4, sweep, f);
	return fl;
fail:
	f->stats.errors++;
	if (sn_ratelimit_ok(&f->env->rl_conn, NULL)) {
		g_autofree char *where = sn_fwd_spec_host(&f->spec);

		g_warning("forward %s: no flow for a new client: %s", where,
		          err->message);
	}
	return NULL;
}

/* expired() - GHRFunc: close flows idle since before *@cutoff */
static gboolean expired(gpointer key, gpointer value, gpointer cutoff)
{
	struct flow *fl = value;

	(void)key;
	if (fl->last_us >= *(gint64 *)cutoff)
		return FALSE;
	flow_close(fl);
	return TRUE;
}

static gboolean sweep(gpointer data)
{
	struct sn_udp_fwd *f = data;
	gint64 cutoff = g_get_monotonic_time() - SN_UDP_IDLE_S * G_USEC_PER_SEC;

	g_hash_table_foreach_remove(f->flows, expired, &cutoff);
	if (g_hash_table_size(f->flows))
		return G_SOURCE_CONTINUE;
	f->sweep = 0;
	return G_SOURCE_REMOVE;
}

/* host_event() - datagrams from clients: each to its flow */
static void host_event(struct sn_ev *ev, uint32_t events)
{
	struct sn_udp_fwd *f = SN_CONTAINER_OF(ev, struct sn_udp_fwd, ev);
	char *buf = f->env->dgram;

	(void)events;
	for (int i = 0; i < SN_UDP_BATCH; i++) {
		struct sockaddr_storage peer = {0};
		socklen_t len = sizeof(peer);
		ssize_t n = recvfrom(f->fd, buf, SN_UDP_DGRAM_MAX, MSG_DONTWAIT,
		                     (struct sockaddr *)&peer, &len);
		struct flow *fl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;
		fl = g_hash_table_lookup(f->flows, &peer);
		if (!fl && !(fl = flow_open(f, &peer)))
			continue;
		fl->last_us = g_get_monotonic_time();
		if (send(fl->fd, buf, (size_t)n, MSG_DONTWAIT) == n)
			f->stats.bytes_to_guest += (uint64_t)n;
		else
			f->stats.errors++;
	}
}

struct sn_udp_fwd *sn_udpfwd_new(struct sn_fwd_env *env,
                                 const struct sn_fwd_spec *spec, GError **err)
{
	struct sn_udp_fwd *f;
	int fd = sn_fwd_listen(spec, err), rc;

	if (fd < 0)
		return NULL;
	if (!env->dgram)
		env->dgram = g_malloc(SN_UDP_DGRAM_MAX);
	f = g_new0(struct sn_udp_fwd, 1);
	f->fd = fd;
	f->env = env;
	f->spec = *spec;
	f->guest.sin_family = AF_INET;
	f->guest.sin_addr = spec->guest_addr;
	f->guest.sin_port = htons(spec->guest_port);
	f->flows = g_hash_table_new(peer_hash, peer_equal);
	rc = sn_ev_add(env->ev, &f->ev, host_event, fd, EPOLLIN);
	if (rc < 0) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(-rc),
		            "cannot watch the host socket: %s",
		            g_strerror(-rc));
		g_hash_table_unref(f->flows);
		close(fd);
		g_free(f);
		return NULL;
	}
	return f;
}

static void host_free(struct sn_ev *ev)
{
	g_free(SN_CONTAINER_OF(ev, struct sn_udp_fwd, ev));
}

void sn_udpfwd_free(struct sn_udp_fwd *f)
{
	gint64 all = G_MAXINT64;

	if (!f)
		return;
	if (f->sweep)
		g_source_remove(f->sweep);
	g_hash_table_foreach_remove(f->flows, expired, &all);
	g_hash_table_unref(f->flows);
	sn_ev_del(f->env->ev, f->fd);
	close(f->fd);
	sn_ev_release(f->env->ev, &f->ev, host_free);
}

const struct sn_fwd_stats *sn_udpfwd_stats(const struct sn_udp_fwd *f)
{
	return &f->stats;
}
