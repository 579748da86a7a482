/* fastfwd.c - what the fast forwarders share: host listening sockets with
 * errors a user can act on, the pipe pool, sockets made in the namespace. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fastfwd.h"
#include "udpfwd.h"

/* Empty pipes kept for reuse; more are closed. */
#define SN_PIPE_POOL_MAX 16
/* Pipe buffer asked for (F_SETPIPE_SZ); the kernel caps it at
 * /proc/sys/fs/pipe-max-size for unprivileged users (1 MiB by default). */
#define SN_PIPE_SIZE	  (1024 * 1024)
#define SN_LISTEN_BACKLOG 4096

struct pipe_pair {
	int fd[2];
};

void sn_fwd_env_init(struct sn_fwd_env *env, struct sn_evloop *ev,
		     struct sn_nshelper *nsh)
{
	*env = (struct sn_fwd_env){ .ev = ev, .nsh = nsh };
	env->pipes = g_array_new(FALSE, FALSE, sizeof(struct pipe_pair));
	env->pipe_size = SN_PIPE_SIZE;
	env->udp_idle_s = SN_UDP_IDLE_S;
}

void sn_fwd_env_clear(struct sn_fwd_env *env)
{
	if (!env->pipes)
		return;
	g_clear_pointer(&env->dgram, g_free);
	for (guint i = 0; i < env->pipes->len; i++) {
		struct pipe_pair *p =
		    &g_array_index(env->pipes, struct pipe_pair, i);

		close(p->fd[0]);
		close(p->fd[1]);
	}
	g_clear_pointer(&env->pipes, g_array_unref);
}

int sn_fwd_pipe_get(struct sn_fwd_env *env, int p[2])
{
	if (env->pipes->len) {
		struct pipe_pair *last = &g_array_index(
		    env->pipes, struct pipe_pair, env->pipes->len - 1);

		p[0] = last->fd[0];
		p[1] = last->fd[1];
		g_array_set_size(env->pipes, env->pipes->len - 1);
		return 0;
	}
	if (!sn_fwd_fds_take(env, 2))
		return -EMFILE;
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) {
		sn_fwd_fds_give(env, 2);
		return -errno;
	}
	/* Best effort: a smaller pipe only means more system calls. */
	if (fcntl(p[0], F_SETPIPE_SZ, env->pipe_size) < 0)
		fcntl(p[0], F_SETPIPE_SZ, 64 * 1024);
	return 0;
}

void sn_fwd_pipe_put(struct sn_fwd_env *env, int p[2])
{
	if (p[0] < 0)
		return;
	if (env->pipes && env->pipes->len < SN_PIPE_POOL_MAX) {
		struct pipe_pair q = { { p[0], p[1] } };

		g_array_append_val(env->pipes, q);
	} else {
		close(p[0]);
		close(p[1]);
		sn_fwd_fds_give(env, 2);
	}
	p[0] = p[1] = -1;
}

/* count_open_fds() - how many fds this process has open now; in the
 * sandbox, without /proc, by asking about each of the first @limit */
static unsigned int count_open_fds(unsigned int limit)
{
	g_autoptr(GDir) d = g_dir_open("/proc/self/fd", 0, NULL);
	unsigned int n = 0, fd;

	if (!d) {
		for (fd = 0; fd < MIN(limit, 65536u); fd++)
			n += fcntl((int)fd, F_GETFD) >= 0;
		return n;
	}
	while (g_dir_read_name(d))
		n++;
	return n;
}

void sn_fwd_fds_init(struct sn_fwd_env *env)
{
	struct rlimit rl;
	unsigned int used;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		rl.rlim_cur = 1u << 20;
	used = count_open_fds((unsigned int)rl.rlim_cur) + SN_FD_RESERVE;
	env->fds_max =
	    rl.rlim_cur > used ? (unsigned int)rl.rlim_cur - used : 0;
	env->fds_used = 0;
}

bool sn_fwd_fds_take(struct sn_fwd_env *env, unsigned int n)
{
	if (env->fds_used + n > env->fds_max)
		return false;
	env->fds_used += n;
	return true;
}

void sn_fwd_fds_give(struct sn_fwd_env *env, unsigned int n)
{
	env->fds_used -= MIN(n, env->fds_used);
}

char *sn_fwd_spec_host(const struct sn_fwd_spec *spec)
{
	char a[INET6_ADDRSTRLEN];
	const char *proto = spec->proto == SN_FWD_UDP ? "udp" : "tcp";

	if (spec->host_family == AF_INET6) {
		inet_ntop(AF_INET6, &spec->host_addr6, a, sizeof(a));
		return g_strdup_printf("[%s]:%u/%s", a, spec->host_port, proto);
	}
	inet_ntop(AF_INET, &spec->host_addr, a, sizeof(a));
	return g_strdup_printf("%s:%u/%s", a, spec->host_port, proto);
}

/* unprivileged_port_start() - net.ipv4.ip_unprivileged_port_start, or -1 */
static int unprivileged_port_start(void)
{
	g_autofree char *s = NULL;

	if (!g_file_get_contents(
		"/proc/sys/net/ipv4/ip_unprivileged_port_start", &s, NULL,
		NULL))
		return -1;
	return atoi(s);
}

char *sn_fwd_port_error(const struct sn_fwd_spec *spec, int errnum)
{
	g_autofree char *where = sn_fwd_spec_host(spec);
	int start = unprivileged_port_start();

	bool denied = errnum == EACCES || errnum == EPERM ||
		      (errnum == 0 && geteuid() != 0);

	if (denied && start >= 0 && spec->host_port < start)
		return g_strdup_printf(
		    "cannot listen on %s: port %u is privileged "
		    "(net.ipv4.ip_unprivileged_port_start is %d); choose "
		    "a port >= %d, or allow it as root with: sysctl -w "
		    "net.ipv4.ip_unprivileged_port_start=%u",
		    where, spec->host_port, start, start, spec->host_port);
	if (errnum == EADDRINUSE)
		return g_strdup_printf("cannot listen on %s: the address is "
				       "already in use by another program",
				       where);
	if (errnum == EADDRNOTAVAIL)
		return g_strdup_printf("cannot listen on %s: no interface of "
				       "this host has that address",
				       where);
	if (errnum == 0)
		return g_strdup_printf("cannot listen on %s: the address is in "
				       "use or not available (libslirp does "
				       "not say which)",
				       where);
	return g_strdup_printf("cannot listen on %s: %s", where,
			       g_strerror(errnum));
}

/* listen_fail() - set @err for the failed step, close @fd, keep errno */
static int listen_fail(const struct sn_fwd_spec *spec, int fd, GError **err)
{
	int e = errno;
	g_autofree char *msg = sn_fwd_port_error(spec, e);

	g_set_error_literal(err, G_FILE_ERROR, g_file_error_from_errno(e), msg);
	if (fd >= 0)
		close(fd);
	errno = e;
	return -1;
}

/* host_sockaddr() - the address @spec listens on, in @ss */
static socklen_t host_sockaddr(const struct sn_fwd_spec *spec,
			       struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (spec->host_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = spec->host_addr6;
		a->sin6_port = htons(spec->host_port);
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	a->sin_addr = spec->host_addr;
	a->sin_port = htons(spec->host_port);
	return sizeof(*a);
}

int sn_fwd_listen(const struct sn_fwd_spec *spec, GError **err)
{
	int type = spec->proto == SN_FWD_UDP ? SOCK_DGRAM : SOCK_STREAM;
	struct sockaddr_storage ss;
	socklen_t len = host_sockaddr(spec, &ss);
	int one = 1;
	int fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return listen_fail(spec, -1, err);
	/* "::" and "0.0.0.0" on one port are two forwards, as with pasta. */
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		return listen_fail(spec, fd, err);
	if (type == SOCK_STREAM && listen(fd, SN_LISTEN_BACKLOG) < 0)
		return listen_fail(spec, fd, err);
	return fd;
}

bool sn_fwd_srcip_ready(struct sn_fwd_env *env, GError **err)
{
	if (env->srcip_ready)
		return true;
	if (!sn_nshelper_srcip_setup(env->nsh, err))
		return false;
	env->srcip_ready = true;
	return true;
}

bool sn_fwd_peer_loopback(const struct sockaddr_storage *peer)
{
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)peer;
	struct sockaddr_in a4;

	if (sn_fwd_peer_v4(peer, &a4))
		return (ntohl(a4.sin_addr.s_addr) >> 24) == 127;
	return peer->ss_family == AF_INET6 &&
	       IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
}

bool sn_fwd_peer_tap_ok(const struct sn_fwd_env *env,
			const struct sockaddr_storage *peer)
{
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)peer;
	struct sockaddr_in a4;

	if (sn_fwd_peer_v4(peer, &a4))
		return (a4.sin_addr.s_addr & env->tap_mask.s_addr) !=
		       env->tap_net.s_addr;
	return env->tap_ipv6 && peer->ss_family == AF_INET6 &&
	       memcmp(&a6->sin6_addr, &env->tap_prefix6, 8) != 0;
}

bool sn_fwd_peer_v4(const struct sockaddr_storage *peer,
		    struct sockaddr_in *out)
{
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)peer;

	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	if (peer->ss_family == AF_INET) {
		*out = *(const struct sockaddr_in *)peer;
		return true;
	}
	if (peer->ss_family != AF_INET6 ||
	    !IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr))
		return false;
	memcpy(&out->sin_addr, &a6->sin6_addr.s6_addr[12], 4);
	out->sin_port = a6->sin6_port;
	return true;
}

int sn_fwd_ns_socket(struct sn_fwd_env *env, int type, bool source_ip,
		     const struct sockaddr_storage *peer, GError **err)
{
	struct sn_nsh_sock s = { .type = type };

	/* An IPv6 client cannot be shown to an IPv4 guest: no source then. */
	if (source_ip && sn_fwd_peer_v4(peer, &s.bind))
		s.transparent = true;
	else
		s.bind.sin_family = 0;
	return sn_nshelper_socket(env->nsh, &s, err);
}

/* ---- UDP clients: flow keys, and the addresses they sent to ---- */

guint sn_fwd_peer_hash(gconstpointer p)
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

gboolean sn_fwd_peer_equal(gconstpointer a, gconstpointer b)
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

socklen_t sn_fwd_peer_len(const struct sockaddr_storage *ss)
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

/* pktinfo_on() - ask for the destination address of each datagram */
void sn_fwd_pktinfo_on(int fd, int family)
{
	int one = 1;

	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
			   sizeof(one));
	else
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
}

/* local_of() - the destination address in @msg's control data, if any */
void sn_fwd_local_of(struct msghdr *msg, struct sockaddr_storage *local)
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
ssize_t sn_fwd_send_from(int fd, const void *buf, size_t len,
			 const struct sockaddr_storage *peer,
			 const struct sockaddr_storage *local)
{
	char cbuf[SN_FWD_PKTINFO_SPACE] = { 0 };
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_name = (void *)peer,
			      .msg_namelen = sn_fwd_peer_len(peer),
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
