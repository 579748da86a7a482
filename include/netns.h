/* netns.h - reaching into the target namespaces: the user namespace when
 * needed, then the network namespace (used by the namespace helper). */
#ifndef SN_NETNS_H
#define SN_NETNS_H

#include <glib.h>
#include <stdbool.h>

#include "cli.h"

/* The target's namespaces, opened once at start-up: joining them later
 * needs neither /proc nor the target's PID (which may have been reused). */
struct sn_netns_fds {
	int net;
	int user; /* --userns-path, or the target's in PID mode; else -1 */
};

/*
 * sn_netns_open() - open the namespace files of @cfg
 * Return: true, or false with @err naming the file and what to do
 */
bool sn_netns_open(const struct sn_config *cfg, struct sn_netns_fds *ns,
		   GError **err);

/* sn_netns_close() - close what sn_netns_open() opened (-1 skipped) */
void sn_netns_close(struct sn_netns_fds *ns);

/*
 * sn_netns_join() - join the namespaces @ns (in the calling process)
 * Joins the user namespace first when --userns-path names one, or when the
 * target is a PID in another user namespace and we are not root (the owner
 * of a child user namespace already holds every capability in it).
 * Must be called from a single-threaded process.
 *
 * Return: true on success, false with @err naming the namespace and cause
 */
bool sn_netns_join(const struct sn_config *cfg, const struct sn_netns_fds *ns,
		   GError **err);

#endif
