/* udpfwd.c - the fast UDP forwarder: a flow per client address, each with a
 * socket inside the namespace connected to the guest; idle flows expire. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "udpfwd.h"

/*
 * Datagrams to the host port are read in batches; the sender's address
 * picks its flow, made on first sight: a UDP socket from the namespace
 * helper that sends to the guest's address and port. What comes back on it
 * goes out of the host socket to that sender. The socket is not connected:
 * a guest service bound to 0.0.0.0 may answer from another of its
 * addresses (to 127.0.0.2 it answers from 127.0.0.1), as it would to any
 * client. A flow that moved nothing for --udp-timeout (SN_UDP_IDLE_S by
 * default) is closed (a timer
 * sweeps every quarter of that while flows exist).
 *
 * With source_ip, the flow's socket is transparent and bound to the
 * client's own address and port. Replies to a loopback client are local in
 * the namespace too; for any other client a routing rule matching exactly
 * the flow's reply (to the client's address and port, from the guest's
 * port, UDP) sends them to the local table, and goes with the flow.
 *
 * A datagram the forward's mode carries through tap0 (enum sn_fwd_mode)
 * goes to env->udp_tap instead, with the address it was sent to.
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
	GHashTable *flows;  /* struct sockaddr_storage * -> struct flow * */
	struct sn_ev sweep; /* timer while flows exist */
	void *tap;	    /* the forward's side through tap0, or NULL */
};

struct flow {
	struct sn_ev ev;
	struct sn_udp_fwd *f;
	int fd;
	struct sockaddr_storage peer;
	struct sockaddr_storage local; /* the address the client sent to */
	gint64 last_us;
	bool rule; /* a source_ip routing rule is in place for it */
};

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
	sn_fwd_fds_give(f->env, 1);
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
		if (sn_fwd_send_from(f->fd, buf, (size_t)n, &fl->peer,
				     &fl->local) == n)
			f->stats.bytes_from_guest += (uint64_t)n;
		else
			f->stats.errors++;
	}
}

static void sweep(struct sn_ev *ev, uint32_t events);

/* sweep_ms() - how often idle flows are looked for: a quarter of the
 * timeout, so a flow lives at most 1.25 times it */
static unsigned int sweep_ms(const struct sn_fwd_env *env)
{
	return env->udp_idle_s * 1000 / 4 ?: 1;
}

/* flow_open() - a flow for a new client; NULL (logged) on failure */
static struct flow *flow_open(struct sn_udp_fwd *f,
			      const struct sockaddr_storage *peer)
{
	g_autoptr(GError) err = NULL;
	struct flow *fl;
	struct sn_nl_rule r;
	unsigned int held = 0;
	int fd;

	if (g_hash_table_size(f->flows) >= SN_UDP_FLOWS_MAX) {
		g_set_error(&err, G_FILE_ERROR, G_FILE_ERROR_NOSPC,
			    "%d clients already (the limit); dropping "
			    "datagrams from new ones until flows expire",
			    SN_UDP_FLOWS_MAX);
		goto fail;
	}
	if (!sn_fwd_fds_take(f->env, 1)) {
		g_set_error(
		    &err, G_FILE_ERROR, G_FILE_ERROR_MFILE,
		    "too many open files (the forwarders hold %u of the "
		    "fd limit; raise it with ulimit -n)",
		    f->env->fds_used);
		goto fail;
	}
	fd =
	    sn_fwd_ns_socket(f->env, SOCK_DGRAM, f->spec.source_ip, peer, &err);
	if (fd < 0) {
		sn_fwd_fds_give(f->env, 1);
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
			sn_fwd_fds_give(f->env, 1);
			g_free(fl);
			goto fail;
		}
		fl->rule = true;
	}
	sn_ev_add(f->env->ev, &fl->ev, flow_event, fd, EPOLLIN);
	g_hash_table_insert(f->flows, &fl->peer, fl);
	f->stats.conns_open++;
	f->stats.conns_total++;
	if (!f->sweep.due_us)
		sn_ev_timer(f->env->ev, &f->sweep, sweep, sweep_ms(f->env));
	return fl;
fail:
	f->stats.errors++;
	if (sn_ratelimit_ok(&f->env->rl_flow, &held)) {
		g_autofree char *where = sn_fwd_spec_host(&f->spec);

		g_warning("forward %s: no flow for a new client: %s (%u "
			  "similar messages suppressed)",
			  where, err->message, held);
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

static void sweep(struct sn_ev *ev, uint32_t events)
{
	struct sn_udp_fwd *f = SN_CONTAINER_OF(ev, struct sn_udp_fwd, sweep);
	gint64 cutoff = g_get_monotonic_time() -
			(gint64)f->env->udp_idle_s * G_USEC_PER_SEC;

	(void)events;
	g_hash_table_foreach_remove(f->flows, expired, &cutoff);
	if (g_hash_table_size(f->flows))
		sn_ev_timer(f->env->ev, &f->sweep, sweep, sweep_ms(f->env));
}

/* through_tap() - does a datagram from @peer go through tap0? */
static bool through_tap(const struct sn_udp_fwd *f,
			const struct sockaddr_storage *peer)
{
	if (!f->tap)
		return false;
	if (f->spec.mode == SN_FWD_MODE_TAP)
		return true;
	return !f->spec.source_ip && !sn_fwd_peer_loopback(peer) &&
	       sn_fwd_peer_tap_ok(f->env, peer);
}

/* host_event() - datagrams from clients: each to its flow */
static void host_event(struct sn_ev *ev, uint32_t events)
{
	struct sn_udp_fwd *f = SN_CONTAINER_OF(ev, struct sn_udp_fwd, ev);
	char *buf = f->env->dgram;

	(void)events;
	for (int i = 0; i < SN_UDP_BATCH; i++) {
		struct sockaddr_storage peer = { 0 };
		char cbuf[SN_FWD_PKTINFO_SPACE];
		struct iovec iov = { .iov_base = buf,
				     .iov_len = SN_UDP_DGRAM_MAX };
		struct msghdr msg = { .msg_name = &peer,
				      .msg_namelen = sizeof(peer),
				      .msg_iov = &iov,
				      .msg_iovlen = 1,
				      .msg_control = cbuf,
				      .msg_controllen = sizeof(cbuf) };
		ssize_t n = recvmsg(f->fd, &msg, MSG_DONTWAIT);
		struct flow *fl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;
		if (through_tap(f, &peer)) {
			struct sockaddr_storage local;

			sn_fwd_local_of(&msg, &local);
			f->env->udp_tap(f->tap, &peer, &local, buf, (size_t)n);
			continue;
		}
		fl = g_hash_table_lookup(f->flows, &peer);
		if (!fl && !(fl = flow_open(f, &peer)))
			continue;
		sn_fwd_local_of(&msg, &fl->local);
		fl->last_us = g_get_monotonic_time();
		if (sendto(fl->fd, buf, (size_t)n, MSG_DONTWAIT,
			   (struct sockaddr *)&f->guest, sizeof(f->guest)) == n)
			f->stats.bytes_to_guest += (uint64_t)n;
		else
			f->stats.errors++;
	}
}

struct sn_udp_fwd *sn_udpfwd_new(struct sn_fwd_env *env,
				 const struct sn_fwd_spec *spec, void *tap,
				 GError **err)
{
	struct sn_udp_fwd *f;
	int fd = sn_fwd_listen(spec, err), rc;

	if (fd < 0)
		return NULL;
	if (!env->dgram)
		env->dgram = g_malloc(SN_UDP_DGRAM_MAX);
	sn_fwd_pktinfo_on(fd, spec->host_family);
	f = g_new0(struct sn_udp_fwd, 1);
	f->fd = fd;
	f->env = env;
	f->spec = *spec;
	f->tap = env->udp_tap ? tap : NULL;
	f->guest.sin_family = AF_INET;
	f->guest.sin_addr = spec->guest_addr;
	f->guest.sin_port = htons(spec->guest_port);
	f->flows = g_hash_table_new(sn_fwd_peer_hash, sn_fwd_peer_equal);
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
	sn_ev_timer(f->env->ev, &f->sweep, NULL, 0);
	g_hash_table_foreach_remove(f->flows, expired, &all);
	g_hash_table_unref(f->flows);
	sn_ev_del(f->env->ev, f->fd);
	close(f->fd);
	sn_ev_release(f->env->ev, &f->ev, host_free);
}

int sn_udpfwd_dup(const struct sn_udp_fwd *f)
{
	return fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
}

const struct sn_fwd_stats *sn_udpfwd_stats(const struct sn_udp_fwd *f)
{
	return &f->stats;
}
