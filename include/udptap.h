/* udptap.h - UDP forwards through tap0: datagrams from a forward's clients
 * enter the guest from the client's own address, its replies go back. */
#ifndef SN_UDPTAP_H
#define SN_UDPTAP_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "fastfwd.h"
#include "log.h"

struct sn_stack;
struct sn_udptap_fwd;
struct sn_udptap_reasm;

/* Datagrams waiting for the main thread, at most (and their bytes). */
#define SN_UDPTAP_QUEUE_MAX	  1024
#define SN_UDPTAP_QUEUE_BYTES_MAX (4 * 1024 * 1024)
/* Replies the guest fragmented, put together at once, at most. */
#define SN_UDPTAP_REASM 8

/* The main thread's side, but for the queue, which both threads use. */
struct sn_udptap {
	struct sn_stack *stack;
	unsigned int idle_s; /* flows idle this long are closed */
	GSource *wake;	     /* ready while datagrams are queued */
	GSource *sweep;	     /* a timer while flows exist */
	GHashTable *flows;   /* by the guest's view of them (reply frames) */
	GQueue fwds;	     /* struct sn_udptap_fwd, by link */
	uint32_t ip_id;	     /* for fragments */
	struct sn_udptap_reasm *reasm; /* SN_UDPTAP_REASM slots */
	uint64_t reasm_seq;
	struct sn_ratelimit rl;

	GMutex lock; /* the queue, and each forward's drop count */
	GQueue queue;
	size_t queued_bytes;
	bool dropped; /* some forward has drops to count */
};

/*
 * sn_udptap_init() - datagrams go to @stack's guest, in the calling (main)
 * thread's context; its replies are taken from @stack's tap input. Flows
 * idle for @idle_s seconds are closed.
 */
void sn_udptap_init(struct sn_udptap *ut, struct sn_stack *stack,
		    unsigned int idle_s);
/* sn_udptap_clear() - after every forward's side is freed */
void sn_udptap_clear(struct sn_udptap *ut);

/*
 * sn_udptap_fwd_new() - in the main thread: the side of the UDP forward
 * @spec, counted in @fst (g_atomic_rc_box, a reference is taken)
 */
struct sn_udptap_fwd *sn_udptap_fwd_new(struct sn_udptap *ut,
					const struct sn_fwd_spec *spec,
					struct sn_fwd_stats *fst);

/* sn_udptap_fwd_set_fd() - replies leave through @fd, a dup of the
 * forward's host socket (taken) */
void sn_udptap_fwd_set_fd(struct sn_udptap_fwd *uf, int fd);

/*
 * sn_udptap_fwd_free() - in the main thread, once the forwarders' thread
 * queues nothing more for @uf: its queued datagrams are dropped, its flows
 * end, its fd is closed
 */
void sn_udptap_fwd_free(struct sn_udptap_fwd *uf);

/*
 * sn_udptap_queue() - an sn_fwd_udp_tap_fn (@fwd_tap: the forward's
 * struct sn_udptap_fwd): in the forwarders' thread, queue the datagram
 * @buf from @peer, sent to @local, for the main thread; dropped and
 * counted when the queue is full
 */
void sn_udptap_queue(void *fwd_tap, const struct sockaddr_storage *peer,
		     const struct sockaddr_storage *local, const void *buf,
		     size_t len);

#endif
