/* sandbox.h - --enable-sandbox: a mount namespace holding only what the
 * running daemon reads or writes, no capabilities, no new privileges. */
#ifndef SN_SANDBOX_H
#define SN_SANDBOX_H

#include <glib.h>
#include <stdbool.h>

#include "cli.h"

/*
 * sn_sandbox_check() - can the sandbox serve @cfg? Checked before anything
 * is started, so a refusal leaves no trace: /etc/resolv.conf must resolve
 * inside /etc or /run (the only host trees the sandbox keeps), and the
 * directories of --api-socket and --state-file must exist. Makes those two
 * paths absolute, so that they still name the same files inside.
 *
 * Return: true, or false with @err saying what to change
 */
bool sn_sandbox_check(struct sn_config *cfg, GError **err);

/*
 * sn_sandbox_enter() - from here on, see only the sandbox
 *
 * Must run while the process has a single thread (a new mount namespace
 * and user namespace apply to the whole process only then), after every
 * resource outside it is held (the tap fd, the namespace helper).
 * Without CAP_SYS_ADMIN, first enters a new user namespace mapping only
 * the caller's own uid and gid. Then: a new mount namespace whose root is
 * a read-only tmpfs holding /etc and /run (read-only),
 * /proc/sys/net/ipv4/ip_unprivileged_port_start (read-only), and the
 * directories of --api-socket and --state-file (writable) and of
 * NOTIFY_SOCKET (read-only); pivot_root
 * into it; no_new_privs; every capability dropped, except
 * CAP_NET_BIND_SERVICE when started as root.
 *
 * Return: true, or false with @err naming the step that failed and why
 */
bool sn_sandbox_enter(const struct sn_config *cfg, GError **err);

#endif
