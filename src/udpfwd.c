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

/* ---- the host socket's addresses ----
 *
 * A host socket bound to 0.0.0.0 or :: must answer each client from the
 * address that client sent to (127.0.0.2, say), or a connected client
 * drops the answer: IP_PKTINFO tells it on receipt and sets it on send.
 */

#define SN_PKTINFO_SPACE                                                       \
	(CMSG_SPACE(sizeof(struct in6_pktinfo)) +                              \
	 CMSG_SPACE(sizeof(struct in_pktinfo)))

/* pktinfo_on() - ask for the destination address of each datagram */
static void pktinfo_on(int fd, int family)
{
	int one = 1;

	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
			   sizeof(one));
	else
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
}

/* local_of() - the destination address in @msg's control data, if any */
static void local_of(struct msghdr *msg, struct sockaddr_storage *local)
{
	struct cmsghdr *c;

	local->ss_family = AF_UNSPEC;
	for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			struct sockaddr_in *a = (struct sockaddr_in *)local;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			a->sin_family = AF_INET;
			a->sin_addr = pi.ipi_addr;
		} else if (c->cmsg_level == IPPROTO_IPV6 &&
			   c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)local;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			a->sin6_family = AF_INET6;
			a->sin6_addr = pi.ipi6_addr;
		}
	}
}

/* send_from() - sendto() @peer with @local as the source address */
static ssize_t send_from(int fd, const void *buf, size_t len,
			 const struct sockaddr_storage *peer,
			 const struct sockaddr_storage *local)
{
	char cbuf[SN_PKTINFO_SPACE] = { 0 };
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_name = (void *)peer,
			      .msg_namelen = peer_len(peer),
			      .msg_iov = &iov,
			      .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (local->ss_family == AF_INET || local->ss_family == AF_INET6) {
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&msg);
	} else {
		return sendmsg(fd, &msg, MSG_DONTWAIT);
	}
	if (local->ss_family == AF_INET) {
		struct in_pktinfo pi = {
			.ipi_spec_dst =
			    ((const struct sockaddr_in *)local)->sin_addr
		};

		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi = {
			.ipi6_addr =
			    ((const struct sockaddr_in6 *)local)->sin6_addr
		};

		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
	msg.msg_controllen = c->cmsg_len;
	return sendmsg(fd, &msg, MSG_DONTWAIT);
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
		if (send_from(f->fd, buf, (size_t)n, &fl->peer, &fl->local) ==
		    n)
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

/* host_event() - datagrams from clients: each to its flow */
static void host_event(struct sn_ev *ev, uint32_t events)
{
	struct sn_udp_fwd *f = SN_CONTAINER_OF(ev, struct sn_udp_fwd, ev);
	char *buf = f->env->dgram;

	(void)events;
	for (int i = 0; i < SN_UDP_BATCH; i++) {
		struct sockaddr_storage peer = { 0 };
		char cbuf[SN_PKTINFO_SPACE];
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
		fl = g_hash_table_lookup(f->flows, &peer);
		if (!fl && !(fl = flow_open(f, &peer)))
			continue;
		local_of(&msg, &fl->local);
		fl->last_us = g_get_monotonic_time();
		if (sendto(fl->fd, buf, (size_t)n, MSG_DONTWAIT,
			   (struct sockaddr *)&f->guest, sizeof(f->guest)) == n)
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
	pktinfo_on(fd, spec->host_family);
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
	sn_ev_timer(f->env->ev, &f->sweep, NULL, 0);
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
