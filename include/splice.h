/* splice.h - the fast TCP forwarder: a host listening socket whose
 * connections are relayed to a socket made inside the namespace, with
 * splice() through pipes, both directions, half-close and resets kept. */
#ifndef SN_SPLICE_H
#define SN_SPLICE_H

#include <glib.h>

#include "fastfwd.h"

struct sn_splice_fwd;

/*
 * sn_splice_new() - listen on the host side of @spec and relay each
 * connection to @spec's guest address and port, or hand it to
 * env->tap_accept with @tap (a reference is kept) where @spec's mode says
 * it goes through tap0
 * Return: the forward, or NULL with @err (see sn_fwd_listen())
 */
struct sn_splice_fwd *sn_splice_new(struct sn_fwd_env *env,
				    const struct sn_fwd_spec *spec,
				    struct sn_fwd_stats *tap, GError **err);

/*
 * sn_splice_close() - stop listening. Open connections carry on until
 * either end closes them; the forward's memory goes with the last one.
 */
void sn_splice_close(struct sn_splice_fwd *f);

/* sn_splice_shutdown() - reset every connection of every forward, at exit;
 * the listening sockets stay for sn_splice_close() */
void sn_splice_shutdown(struct sn_fwd_env *env);

const struct sn_fwd_stats *sn_splice_stats(const struct sn_splice_fwd *f);

#endif
