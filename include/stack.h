/* stack.h - libslirp on the glib main loop: frames from the tap fd into
 * slirp, slirp's frames out to the tap fd, slirp's sockets and timers. */
#ifndef SN_STACK_H
#define SN_STACK_H

#include <glib.h>
#include <netinet/in.h>
#include <slirp/libslirp.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "cli.h"

struct sn_stack;

/* Called once when the tap device fails for good (the namespace is gone). */
typedef void (*sn_stack_fatal_fn)(const char *why, void *opaque);

/*
 * sn_stack_new() - create the slirp instance for @cfg and attach it, with
 * @tapfd (ownership taken), to the thread-default main context
 *
 * Return: the stack, or NULL with @err (e.g. a bad --outbound-addr)
 */
struct sn_stack *sn_stack_new(const struct sn_config *cfg, int tapfd,
			      sn_stack_fatal_fn fatal, void *opaque,
			      GError **err);

void sn_stack_free(struct sn_stack *s);

Slirp *sn_stack_slirp(struct sn_stack *s);

struct sn_tcp_stats;

/* sn_stack_tcp_stats() - the TCP flow engine's counters, or NULL when the
 * guest's TCP goes through libslirp (--tcp-path=slirp) */
const struct sn_tcp_stats *sn_stack_tcp_stats(struct sn_stack *s);

struct sn_fwd_stats;

/*
 * sn_stack_tcp_accept() - carry @fd, a forward's connection from @peer,
 * through tap0 to @guest:@guest_port with the TCP flow engine: the guest
 * sees @peer's address and port (the gateway's for the host's loopback).
 * An IPv6 client goes to the guest's IPv6 address made from tap0's MAC.
 * @fst: the forward's counters for this path (g_atomic_rc_box), or NULL
 *
 * Return: true (the engine owns @fd), or false with @err
 */
bool sn_stack_tcp_accept(struct sn_stack *s, int fd,
			 const struct sockaddr_storage *peer,
			 struct in_addr guest, uint16_t guest_port,
			 struct sn_fwd_stats *fst, GError **err);

/* Where a forward's client and the guest meet on tap0, as the guest sees
 * them: addresses in network order (IPv4 in the first four bytes). */
struct sn_stack_ends {
	int af;
	uint8_t client[16], guest[16];
	uint16_t client_port;
	uint8_t guest_mac[6], gw_mac[6];
	unsigned int mtu;
};

/*
 * sn_stack_ends() - the ends for a client at @peer of a forward to @guest
 * (IPv4), or to the guest's IPv6 address made from tap0's MAC for an IPv6
 * client: the client's own address, the gateway's for the host's loopback
 * Return: true, or false with @err (no IPv6 without --enable-ipv6; a
 * client in the guest's own network)
 */
bool sn_stack_ends(struct sn_stack *s, const struct sockaddr_storage *peer,
		   struct in_addr guest, struct sn_stack_ends *e, GError **err);

/* sn_stack_guest_writev() - one frame to the guest, in @iovcnt (at most
 * 4) pieces, its checksums complete; dropped and counted if tap0 is full */
void sn_stack_guest_writev(struct sn_stack *s, const struct iovec *iov,
			   int iovcnt);

struct sn_ip;

/* Takes a frame from the guest, parsed, before libslirp: true if it did. */
typedef bool (*sn_stack_input_fn)(const struct sn_ip *ip, void *opaque);

/*
 * sn_stack_set_udp_input() - frames from the guest, their checksums
 * complete, go to @fn before the guard and libslirp (NULL: none)
 */
void sn_stack_set_udp_input(struct sn_stack *s, sn_stack_input_fn fn,
			    void *opaque);

#endif
