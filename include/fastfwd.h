/* fastfwd.h - what the fast forwarders (TCP splice, UDP flows) share: the
 * environment they run in, their counters, and host listening sockets. */
#ifndef SN_FASTFWD_H
#define SN_FASTFWD_H

#include <glib.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "evloop.h"
#include "log.h"
#include "nshelper.h"

enum sn_fwd_proto { SN_FWD_TCP, SN_FWD_UDP };

/*
 * How a forward carries its connections:
 * - SN_FWD_MODE_AUTO: clients on the host's loopback by splice (TCP) or
 *   the UDP forwarder's flows, others through tap0 from their own address
 *   (TCP by the flow engine, UDP by udptap.c). With proxy_protocol or
 *   source_ip, or without the flow engine (--tcp-path=slirp), all by
 *   splice or the UDP forwarder.
 * - SN_FWD_MODE_SPLICE: sockets made in the namespace, splice() between.
 * - SN_FWD_MODE_SLIRP: libslirp's hostfwd.
 * - SN_FWD_MODE_TAP: every client through tap0 (loopback ones appear as
 *   the gateway, as with libslirp's forwards).
 * A request that names none gets the table's default.
 */
enum sn_fwd_mode {
	SN_FWD_MODE_AUTO,
	SN_FWD_MODE_SPLICE,
	SN_FWD_MODE_SLIRP,
	SN_FWD_MODE_TAP,
};

struct sn_fwd_spec {
	enum sn_fwd_proto proto;
	enum sn_fwd_mode mode;
	int host_family;	    /* AF_INET (host_addr) or AF_INET6 */
	struct in_addr host_addr;   /* 0.0.0.0 for all */
	struct in6_addr host_addr6; /* :: for all */
	uint16_t host_port;
	struct in_addr guest_addr;
	uint16_t guest_port;
	bool proxy_protocol; /* TCP: a PROXY v2 header first */
	bool source_ip;	     /* the guest sees the client's own address */
};

/* Counters of one forward (get_stats). */
struct sn_fwd_stats {
	uint64_t conns_open; /* TCP connections, or live UDP flows */
	uint64_t conns_total;
	uint64_t bytes_to_guest;
	uint64_t bytes_from_guest;
	uint64_t errors; /* failed connects, resets, refused sockets */
};

/*
 * sn_fwd_tap_fn - in the forwarders' thread: carry @fd, accepted from
 * @peer by the TCP forward @spec, through tap0; @fd is the callee's.
 * @fst: the forward's counters for that path (g_atomic_rc_box)
 */
typedef void (*sn_fwd_tap_fn)(void *opaque, int fd,
			      const struct sockaddr_storage *peer,
			      const struct sn_fwd_spec *spec,
			      struct sn_fwd_stats *fst);

/*
 * sn_fwd_udp_tap_fn - in the forwarders' thread: carry the datagram @buf,
 * sent by @peer to @local, through tap0; @fwd_tap: the forward's side of
 * that path (struct sn_udptap_fwd)
 */
typedef void (*sn_fwd_udp_tap_fn)(void *fwd_tap,
				  const struct sockaddr_storage *peer,
				  const struct sockaddr_storage *local,
				  const void *buf, size_t len);

/* Shared by every fast forward of a daemon. */
struct sn_fwd_env {
	sn_fwd_tap_fn tap_accept; /* NULL: no TCP through tap0 */
	void *tap_opaque;
	/* the guest's networks: a client in one of them cannot be shown to
	 * the guest as itself (its replies would stay on the link), nor an
	 * IPv6 one without tap_ipv6; in mode auto those are spliced (TCP)
	 * or keep the UDP forwarder's flows */
	struct in_addr tap_net, tap_mask;
	struct in6_addr tap_prefix6; /* a /64 */
	bool tap_ipv6;
	sn_fwd_udp_tap_fn udp_tap; /* NULL: no UDP through tap0 */
	void *udp_tap_opaque;	   /* struct sn_udptap */
	struct sn_evloop *ev;
	struct sn_nshelper *nsh;
	GArray *pipes; /* empty pipes (fd pairs), ready for reuse */
	unsigned int pipe_size;
	bool srcip_ready; /* the namespace's mark rule and table are set */
	GQueue splices;	  /* TCP forwards alive: listening, or with conns */
	char *dgram;	  /* SN_UDP_DGRAM_MAX bytes for the UDP forwarders */
	unsigned int udp_idle_s; /* UDP flows idle this long are closed */
	unsigned int fds_max;	 /* fds the forwarders may hold at once */
	unsigned int fds_used;
	struct sn_ratelimit rl_accept; /* accept() failures */
	struct sn_ratelimit rl_conn;   /* connections to the guest not made */
	struct sn_ratelimit rl_flow;   /* UDP flows that could not be made */
};

/* The largest UDP datagram. */
#define SN_UDP_DGRAM_MAX 65536

/* Pause after accept() fails for lack of fds or memory. */
#define SN_FWD_BACKOFF_MS 100

void sn_fwd_env_init(struct sn_fwd_env *env, struct sn_evloop *ev,
		     struct sn_nshelper *nsh);
void sn_fwd_env_clear(struct sn_fwd_env *env);

/*
 * The forwarders keep to an fd budget: the open file limit, less what the
 * daemon held when they started, less SN_FD_RESERVE for the control socket
 * and libslirp. At the budget, new TCP connections are refused (reset) and
 * new UDP clients dropped, with one message per interval; existing ones and
 * the API keep working.
 */
#define SN_FD_RESERVE 32

/* sn_fwd_fds_init() - set the budget from RLIMIT_NOFILE, after raising it */
void sn_fwd_fds_init(struct sn_fwd_env *env);
/* sn_fwd_fds_take() - reserve @n fds; false when over the budget */
bool sn_fwd_fds_take(struct sn_fwd_env *env, unsigned int n);
void sn_fwd_fds_give(struct sn_fwd_env *env, unsigned int n);

/* sn_fwd_pipe_get() - an empty non-blocking pipe. Return: 0 or -errno */
int sn_fwd_pipe_get(struct sn_fwd_env *env, int p[2]);
/* sn_fwd_pipe_put() - give back an empty pipe (kept for reuse or closed) */
void sn_fwd_pipe_put(struct sn_fwd_env *env, int p[2]);

/*
 * sn_fwd_listen() - the host socket of @spec: bound, and listening for TCP
 * Errors name the address and say what to do: a privileged port (with the
 * net.ipv4.ip_unprivileged_port_start value and the sysctl that would
 * allow it), a port in use, an address this host does not have.
 *
 * Return: the non-blocking fd, or -1 with @err
 */
int sn_fwd_listen(const struct sn_fwd_spec *spec, GError **err);

/*
 * sn_fwd_port_error() - the message for a host bind() of @spec that failed
 * with @errnum (shared with the libslirp mode, whose errno we infer)
 */
char *sn_fwd_port_error(const struct sn_fwd_spec *spec, int errnum);

/* sn_fwd_srcip_ready() - set up the namespace for source_ip, once */
bool sn_fwd_srcip_ready(struct sn_fwd_env *env, GError **err);

/*
 * sn_fwd_ns_socket() - a socket in the namespace for a client at @peer:
 * transparent and bound to @peer's IPv4 address when @source_ip
 */
int sn_fwd_ns_socket(struct sn_fwd_env *env, int type, bool source_ip,
		     const struct sockaddr_storage *peer, GError **err);

/* sn_fwd_spec_host() - "ADDR:PORT/proto" of the host side, for messages */
char *sn_fwd_spec_host(const struct sn_fwd_spec *spec);

/* sn_fwd_peer_loopback() - is @peer on the host's loopback? */
bool sn_fwd_peer_loopback(const struct sockaddr_storage *peer);

/* sn_fwd_peer_tap_ok() - can @peer be shown to the guest as itself? */
bool sn_fwd_peer_tap_ok(const struct sn_fwd_env *env,
			const struct sockaddr_storage *peer);

/* sn_fwd_peer_v4() - @peer as IPv4 (also from v4-mapped IPv6), if it is */
bool sn_fwd_peer_v4(const struct sockaddr_storage *peer,
		    struct sockaddr_in *out);

/* sn_fwd_peer_hash(), sn_fwd_peer_equal() - a UDP client's address and
 * port (struct sockaddr_storage) as a GHashTable key */
guint sn_fwd_peer_hash(gconstpointer p);
gboolean sn_fwd_peer_equal(gconstpointer a, gconstpointer b);
/* sn_fwd_peer_len() - the length of @ss's sockaddr for its family */
socklen_t sn_fwd_peer_len(const struct sockaddr_storage *ss);

/* Control data for the address a datagram was sent to (or is sent from). */
#define SN_FWD_PKTINFO_SPACE                                                   \
	(CMSG_SPACE(sizeof(struct in6_pktinfo)) +                              \
	 CMSG_SPACE(sizeof(struct in_pktinfo)))

/* sn_fwd_pktinfo_on() - ask for each datagram's destination address on
 * @fd, a UDP host socket of @family */
void sn_fwd_pktinfo_on(int fd, int family);
/* sn_fwd_local_of() - the destination address in @msg's control data, or
 * AF_UNSPEC */
void sn_fwd_local_of(struct msghdr *msg, struct sockaddr_storage *local);
/*
 * sn_fwd_send_from() - sendmsg() @len bytes to @peer from @local (the
 * address the client sent to: a socket bound to 0.0.0.0 or :: must answer
 * from it, or a connected client drops the answer), without blocking
 * Return: what sendmsg() returned
 */
ssize_t sn_fwd_send_from(int fd, const void *buf, size_t len,
			 const struct sockaddr_storage *peer,
			 const struct sockaddr_storage *local);

#endif
