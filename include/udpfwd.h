/* udpfwd.h - the fast UDP forwarder: datagrams to a host port relayed to
 * the guest through one socket per client made inside the namespace. */
#ifndef SN_UDPFWD_H
#define SN_UDPFWD_H

#include <glib.h>

#include "cli.h"
#include "fastfwd.h"

/* A flow that carried nothing either way for this long is closed (the
 * default of --udp-timeout). */
#define SN_UDP_IDLE_S SN_UDP_TIMEOUT_DEFAULT
/* Clients tracked at once per forward; datagrams from more are dropped. */
#define SN_UDP_FLOWS_MAX 4096

struct sn_udp_fwd;

/*
 * sn_udpfwd_new() - bind @spec's host port and relay its datagrams
 * @tap: the forward's side through tap0 (for env->udp_tap), or NULL: the
 *       datagrams its mode carries through tap0 go there
 */
struct sn_udp_fwd *sn_udpfwd_new(struct sn_fwd_env *env,
				 const struct sn_fwd_spec *spec, void *tap,
				 GError **err);

/* sn_udpfwd_dup() - a dup of the host socket (close-on-exec), or -1 */
int sn_udpfwd_dup(const struct sn_udp_fwd *f);

/* sn_udpfwd_free() - close the host socket and every flow */
void sn_udpfwd_free(struct sn_udp_fwd *f);

const struct sn_fwd_stats *sn_udpfwd_stats(const struct sn_udp_fwd *f);

#endif
