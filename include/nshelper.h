/* nshelper.h - the namespace helper: a child process that joins the target's
 * namespaces to make tap0 at start-up, and sockets there for the forwards. */
#ifndef SN_NSHELPER_H
#define SN_NSHELPER_H

#include <glib.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cli.h"
#include "netlink.h"

/* The mark and routing table that bring replies back to transparent
 * sockets bound to a client's address ("SN" in ASCII). */
#define SN_SRCIP_MARK  0x534e
#define SN_SRCIP_TABLE 0x534e
/* Priority of the per-flow rules of UDP forwards keeping the source. */
#define SN_SRCIP_FLOW_PRIO 101

struct sn_nshelper;

/* What a socket made inside the namespace should be. */
struct sn_nsh_sock {
	int type;		 /* SOCK_STREAM or SOCK_DGRAM */
	bool transparent;	 /* IP_TRANSPARENT, SO_MARK SN_SRCIP_MARK */
	struct sockaddr_in bind; /* sin_family 0: left unbound */
};

/*
 * sn_nshelper_start() - open the namespace files of @cfg and fork a child
 * that joins them, creates (and with cfg->configure, configures) the tap
 * device and sends its fd. With --enable-sandbox or --enable-seccomp that
 * child stays as the helper, serving requests until the daemon closes its
 * end or dies; otherwise it exits, and the first request (or
 * sn_nshelper_ensure()) forks the helper anew from the namespace fds.
 * @cfg: kept, must outlive the helper
 * @tapfd: set to the tap device's fd in this process
 *
 * Return: the helper, or NULL with @err set to the child's own message
 */
struct sn_nshelper *sn_nshelper_start(const struct sn_config *cfg, int *tapfd,
				      GError **err);

/*
 * sn_nshelper_reap_starter() - wait for the child that made tap0, when it
 * does not stay: it exits once tap0 is handed over, and is reaped after
 * the daemon said it is ready rather than before
 */
void sn_nshelper_reap_starter(struct sn_nshelper *h);

/*
 * sn_nshelper_ensure() - have a helper running: fork one if none runs
 * (a forward that will need it is being added). One thread only (the
 * forwarders') may call this and the requests below.
 *
 * Return: true, or false with @err (why the namespaces cannot be joined)
 */
bool sn_nshelper_ensure(struct sn_nshelper *h, GError **err);

/*
 * sn_nshelper_socket() - a non-blocking socket made inside the namespace
 * Return: its fd, or -1 with @err (and errno) set
 */
int sn_nshelper_socket(struct sn_nshelper *h, const struct sn_nsh_sock *s,
		       GError **err);

/* sn_nshelper_srcip_setup() - the mark rule and local table (once) */
bool sn_nshelper_srcip_setup(struct sn_nshelper *h, GError **err);

/* sn_nshelper_rule() - add or delete a routing rule in the namespace */
bool sn_nshelper_rule(struct sn_nshelper *h, bool add,
		      const struct sn_nl_rule *r, GError **err);

/* sn_nshelper_exit_cause() - how the helper ended, for a message */
char *sn_nshelper_exit_cause(const struct sn_nshelper *h);

/* sn_nshelper_pid() - the helper's PID, or 0 while none runs */
pid_t sn_nshelper_pid(const struct sn_nshelper *h);

/* sn_nshelper_free() - close the channel, kill and reap the helper */
void sn_nshelper_free(struct sn_nshelper *h);

#endif
