/* seccompfilter.h - --enable-seccomp: the allow-list of system calls the
 * running daemon makes, installed on all its threads after start-up. */
#ifndef SN_SECCOMPFILTER_H
#define SN_SECCOMPFILTER_H

#include <glib.h>
#include <stdbool.h>

/*
 * sn_seccomp_apply() - install the filter on every thread of the process
 *
 * Calls on the allow-list run; calls that only an attacker would make
 * (execve, ptrace, mount, setns, module and key management, ...) kill the
 * process; any other call fails with EPERM and is logged with its number
 * (the first few), so that a call missing from the list shows up in the
 * log instead of as a mystery.
 *
 * Return: true, or false with @err
 */
bool sn_seccomp_apply(GError **err);

/* sn_seccomp_apply_helper() - the same for the namespace helper, with its
 * own, shorter list (ioctl() for SIOCGIFINDEX only) */
bool sn_seccomp_apply_helper(GError **err);

/* sn_seccomp_allowed() - the allow-list's names, NULL-terminated */
const char *const *sn_seccomp_allowed(void);

/* sn_seccomp_helper_allowed() - the helper's allow-list, NULL-terminated */
const char *const *sn_seccomp_helper_allowed(void);

/* sn_seccomp_killed() - the calls that kill, NULL-terminated */
const char *const *sn_seccomp_killed(void);

#endif
