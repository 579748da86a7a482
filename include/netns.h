/* netns.h - reaching into the target namespaces: a child process joins the
 * user and network namespaces, makes tap0 there and hands its fd back. */
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

/*
 * sn_netns_open_tap() - fork a child that joins the namespaces, creates the
 * tap device (and configures it when cfg->configure), and sends its fd back
 * over SCM_RIGHTS. Waits for the child.
 *
 * Return: the tap fd in this process, or -1 with @err set to the child's
 * own error message
 */
int sn_netns_open_tap(const struct sn_config *cfg, GError **err);

#endif
