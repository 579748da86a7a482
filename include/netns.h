/* netns.h - reaching into the target namespaces: the user namespace when
 * needed, then the network namespace (used by the namespace helper). */
#ifndef SN_NETNS_H
#define SN_NETNS_H

#include <glib.h>
#include <stdbool.h>

#include "cli.h"

/*
 * sn_netns_join() - join the target's namespaces (in the calling process)
 * Joins the user namespace first when --userns-path names one, or when the
 * target is a PID in another user namespace and we are not root (the owner
 * of a child user namespace already holds every capability in it).
 * Must be called from a single-threaded process.
 *
 * Return: true on success, false with @err naming the namespace and cause
 */
bool sn_netns_join(const struct sn_config *cfg, GError **err);

#endif
