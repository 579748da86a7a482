/* tap.h - the tap device: creating it inside the namespace (via the helper
 * child in netns.c) and the frame size it carries. */
#ifndef SN_TAP_H
#define SN_TAP_H

#include <glib.h>
#include <stdbool.h>

/* Ethernet header in front of every frame on the tap fd (IFF_NO_PI). */
#define SN_ETH_HLEN 14

/*
 * sn_tap_open() - create/attach tap device @name in the current namespace
 * The fd is non-blocking and close-on-exec.
 * @offload: with the virtio-net header and offloads (see offload.h)
 * @tso6: IPv6 TCP segmentation offload too (for tcp.c)
 * @err: set with the cause and, for /dev/net/tun problems, how to fix them
 *
 * Return: the fd, or -1 with @err set
 */
int sn_tap_open(const char *name, bool offload, bool tso6, GError **err);

#endif
