/* fwdtap.h - forwards through tap0: connections the forwarders' thread
 * accepted, carried to the guest from the client's own address by tcp.c. */
#ifndef SN_FWDTAP_H
#define SN_FWDTAP_H

#include <glib.h>
#include <sys/socket.h>

#include "fastfwd.h"
#include "log.h"

struct sn_stack;

/* The main thread's side: where the engine runs. */
struct sn_fwdtap {
	GMainContext *ctx; /* the main thread's */
	struct sn_stack *stack;
	struct sn_ratelimit rl; /* connections that could not be carried */
};

/* sn_fwdtap_init() - connections go to @stack's engine, in the calling
 * (main) thread's context */
void sn_fwdtap_init(struct sn_fwdtap *ft, struct sn_stack *stack);
void sn_fwdtap_clear(struct sn_fwdtap *ft);

/*
 * sn_fwdtap_accept() - an sn_fwd_tap_fn (@opaque: struct sn_fwdtap): in
 * the forwarders' thread, hand @fd to the main thread, where the engine
 * sends the guest its SYN; a connection it cannot take is reset, with a
 * rate-limited message naming why
 */
void sn_fwdtap_accept(void *opaque, int fd, const struct sockaddr_storage *peer,
		      const struct sn_fwd_spec *spec, struct sn_fwd_stats *fst);

#endif
