/* stack.h - libslirp on the glib main loop: frames from the tap fd into
 * slirp, slirp's frames out to the tap fd, slirp's sockets and timers. */
#ifndef SN_STACK_H
#define SN_STACK_H

#include <glib.h>
#include <slirp/libslirp.h>

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

#endif
