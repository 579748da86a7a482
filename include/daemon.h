/* daemon.h - the one struct that owns a running slirpnetd's state, from
 * the parsed options to the stack, the forwards and the control socket. */
#ifndef SN_DAEMON_H
#define SN_DAEMON_H

#include <glib.h>

#include "api.h"
#include "cli.h"
#include "evloop.h"
#include "fastfwd.h"
#include "forward.h"
#include "fwdtap.h"
#include "nshelper.h"
#include "stack.h"
#include "udptap.h"

struct sn_daemon {
	struct sn_config cfg;
	GMainLoop *loop;
	struct sn_nshelper *nsh; /* makes sockets inside the namespace */
	struct sn_stack *stack;
	struct sn_evloop *ev; /* the fast forwarders' epoll set */
	struct sn_fwd_env env;
	struct sn_fwdtap fwdtap; /* forwards' connections through tap0 */
	struct sn_udptap udptap; /* forwards' datagrams through tap0 */
	struct sn_fwd_table fwds;
	struct sn_api *api;
	gint64 start_us;

	int pidfd;	  /* the target process, in PID mode; else -1 */
	guint exit_watch; /* --exit-fd */
	guint pid_watch;  /* pidfd */
	int helper_pidfd; /* the namespace helper; -1 if none */
	guint helper_watch;
	int sigfd; /* SIGTERM, SIGINT, SIGHUP */
	guint sig_watch;
	int exit_status;
};

#endif
