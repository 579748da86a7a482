/* tcp.h - the TCP flow engine: the guest's TCP connections terminated in
 * slirpnetd and carried on by host kernel sockets, without libslirp's TCP. */
#ifndef SN_TCP_H
#define SN_TCP_H

#include <glib.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Connections at once; past it a new SYN gets an RST (logged, limited). */
#define SN_TCP_CONNS_MAX 16384
/* Of those the guest opened, not established yet: connect() in progress,
 * or the SYN-ACK not acknowledged by the guest (a SYN flood). */
#define SN_TCP_HALF_OPEN_MAX 4096
/* First retransmission timeout; it doubles up to SN_TCP_RTO_MAX_MS. */
#define SN_TCP_RTO_MS	  200
#define SN_TCP_RTO_MAX_MS 10000
/* Retransmissions without progress before both ends are reset. */
#define SN_TCP_RETRIES_MAX 12
/* A connection quiet this long gets keep-alive probes to the guest; one
 * that answers none of SN_TCP_PROBES_MAX of them is reset. */
#define SN_TCP_IDLE_MS	  (2 * 3600 * 1000)
#define SN_TCP_PROBES_MAX 4
/* The least window advertised while the socket takes all it is given. */
#define SN_TCP_WND_FLOOR (64 * 1024)
/* Data from the guest the socket took whole is acknowledged at once for a
 * full segment or two segments' worth; else within this, or with the
 * socket's answer. */
#define SN_TCP_DELACK_MS 2
/* Bytes read from a socket at once, cut into frames to the guest. */
#define SN_TCP_PEEK_MAX (256 * 1024)

/* What the engine needs to know of the address plan and the tap. */
struct sn_tcp_config {
	struct in_addr network, netmask, gateway, dns;
	bool ipv6;
	struct in6_addr prefix6, gateway6, dns6;
	unsigned int prefix6_len;
	bool disable_host_loopback;
	const struct sockaddr_in *out4;	 /* --outbound-addr, or NULL */
	const struct sockaddr_in6 *out6; /* --outbound-addr6, or NULL */
	unsigned int mtu;
	bool vnet; /* the tap fd carries a virtio-net header: frames to the
		    * guest go as 64 KiB segmentation frames, checksum left
		    * to the guest's kernel */
	/* tests only (SN_TEST_KNOBS builds) */
	unsigned int drop_every;    /* drop every Nth data frame to the guest */
	unsigned int reorder_every; /* take every Nth data frame from the
				     * guest after the frame that follows */
	bool no_peek_off;	    /* act as on a kernel without SO_PEEK_OFF */
};

/* Counters since start-up, reported by get_info. */
struct sn_tcp_stats {
	uint64_t open;	       /* connections now */
	uint64_t total;	       /* connections ever accepted from the guest */
	uint64_t refused;      /* connect() failed: RST to the guest */
	uint64_t resets;       /* other RSTs, either way */
	uint64_t retransmits;  /* go-back-N retransmissions to the guest */
	uint64_t table_full;   /* SYNs refused at a cap */
	uint64_t out_of_order; /* segments past a gap held until it filled */
	uint64_t out_of_order_dropped; /* not held: past SN_TCPOOO_*MAX */
};

struct sn_fwd_stats;

/* Writes one frame (virtio-net header first when cfg.vnet) to the tap. */
typedef void (*sn_tcp_tap_fn)(const struct iovec *iov, int iovcnt,
			      void *opaque);

struct sn_tcp;

/*
 * sn_tcp_new() - an engine with no connection; its epoll fd, to be
 * watched for input, is sn_tcp_fd()
 *
 * Return: the engine, or NULL with @err
 */
struct sn_tcp *sn_tcp_new(const struct sn_tcp_config *cfg, sn_tcp_tap_fn tap,
			  void *opaque, GError **err);

/* sn_tcp_free() - reset every connection (RST to both ends), free it all */
void sn_tcp_free(struct sn_tcp *t);

/* sn_tcp_fd() - the epoll fd of the engine's sockets */
int sn_tcp_fd(const struct sn_tcp *t);

struct sn_ip;

/*
 * sn_tcp_input() - a frame from the guest (Ethernet first, after the
 * virtio-net header, whose checksum need not be complete), parsed
 * (sn_ip_parse())
 *
 * Return: true if the engine took it; false to hand it to libslirp (not
 * TCP, a SYN the engine leaves to libslirp, a segment of no connection
 * of the engine's)
 */
bool sn_tcp_input(struct sn_tcp *t, const struct sn_ip *ip);

/* sn_tcp_sock_events() - handle what the epoll fd reports */
void sn_tcp_sock_events(struct sn_tcp *t);

/*
 * sn_tcp_flush() - after a batch of frames or socket events: the ACKs the
 * batch made (one a connection) and the data the guest's window now takes
 */
void sn_tcp_flush(struct sn_tcp *t);

/* sn_tcp_timeout_ms() - ms until sn_tcp_timers() is due, -1 if never */
gint64 sn_tcp_timeout_ms(const struct sn_tcp *t, gint64 now_ms);

/* sn_tcp_timers() - retransmissions, probes, idle connections */
void sn_tcp_timers(struct sn_tcp *t, gint64 now_ms);

/* A connection a forward accepted, to be carried to the guest. Addresses
 * in network order (IPv4 in the first four bytes), ports in host order. */
struct sn_tcp_inbound {
	int fd; /* connected, non-blocking: the engine's once accepted */
	int af; /* AF_INET or AF_INET6 */
	uint8_t client[16]; /* the source the guest sees */
	uint8_t guest[16];
	uint16_t client_port, guest_port;
	uint8_t guest_mac[6];
	struct sn_fwd_stats *fst; /* the forward's counters, allocated with
				   * g_atomic_rc_box (a reference is taken),
				   * or NULL */
};

/*
 * sn_tcp_accept() - carry @in to the guest: a SYN from the client's
 * address and port to the guest's; the engine owns @in->fd on success
 *
 * Return: true, or false with @err (a table cap reached, the address pair
 * in use): the caller then resets and closes the socket
 */
bool sn_tcp_accept(struct sn_tcp *t, const struct sn_tcp_inbound *in,
		   GError **err);

/* sn_tcp_stats() - the counters */
const struct sn_tcp_stats *sn_tcp_stats(const struct sn_tcp *t);

#endif
