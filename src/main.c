/* main.c - slirpnetd's entry point: parse the options, make tap0 in the
 * target namespace, run libslirp and the control socket until told to stop. */
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon.h"
#include "guard.h"
#include "jsonmod.h"
#include "log.h"
#include "notify.h"
#include "sandbox.h"
#include "seccompfilter.h"
#include "splice.h"
#include "version.h"

/* print_version() - slirp4netns's --version layout (tools parse it) */
static void print_version(void)
{
	printf("slirpnetd version %s\ncommit: %s\nlibslirp: %s\n"
	       "SLIRP_CONFIG_VERSION_MAX: %d\n",
	       SN_VERSION, SN_COMMIT, slirp_version_string(),
	       SLIRP_CONFIG_VERSION_MAX);
}

/* daemon_stop() - leave the main loop with @status */
static void daemon_stop(struct sn_daemon *d, int status, const char *why)
{
	g_message("%s; exiting", why);
	sn_notify_stopping();
	d->exit_status = status;
	g_main_loop_quit(d->loop);
}

/* on_signal() - SIGTERM, SIGINT, SIGHUP (read from the signalfd): exit */
static gboolean on_signal(int fd, GIOCondition cond, gpointer data)
{
	struct sn_daemon *d = data;
	struct signalfd_siginfo si;
	g_autofree char *why = NULL;

	(void)cond;
	if (read(fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return G_SOURCE_CONTINUE;
	why = g_strdup_printf("received a termination signal (SIG%s)",
			      sigabbrev_np((int)si.ssi_signo));
	daemon_stop(d, 0, why);
	return G_SOURCE_CONTINUE;
}

/* on_exit_fd() - --exit-fd: exit once the other end is closed */
static gboolean on_exit_fd(int fd, GIOCondition cond, gpointer data)
{
	struct sn_daemon *d = data;
	char buf[64];
	ssize_t n;

	if (cond & G_IO_IN) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
			return G_SOURCE_CONTINUE;
	}
	d->exit_watch = 0;
	daemon_stop(d, 0, "the exit fd was closed");
	return G_SOURCE_REMOVE;
}

/* on_target_exit() - the target process (and with it the netns) is gone */
static gboolean on_target_exit(int fd, GIOCondition cond, gpointer data)
{
	struct sn_daemon *d = data;
	g_autofree char *why =
	    g_strdup_printf("target process %d exited", (int)d->cfg.target_pid);

	(void)fd;
	(void)cond;
	d->pid_watch = 0;
	daemon_stop(d, 0, why);
	return G_SOURCE_REMOVE;
}

/* on_stack_fatal() - the tap device failed for good */
static void on_stack_fatal(const char *why, void *opaque)
{
	daemon_stop(opaque, 0, why);
}

/* check_fd_open() - is the descriptor named by @flag usable? */
static bool check_fd_open(int fd, const char *flag, GError **err)
{
	if (fd < 0 || fcntl(fd, F_GETFD) >= 0)
		return true;
	g_set_error(err, SN_CLI_ERROR, 0,
		    "%s=%d: the descriptor is not open (%s); the program that "
		    "starts slirpnetd must pass it",
		    flag, fd, g_strerror(errno));
	return false;
}

/* on_helper_exit() - the namespace helper kept from start-up (sandbox,
 * seccomp) died: the daemon can no longer join the namespace to make
 * sockets there, so forwards are broken; exit with an error so that
 * whoever started slirpnetd (systemd, podman) can tell and restart. (A
 * helper started on demand is started again by the next request.) */
static gboolean on_helper_exit(int fd, GIOCondition cond, gpointer data)
{
	struct sn_daemon *d = data;
	g_autofree char *how = sn_nshelper_exit_cause(d->nsh);
	g_autofree char *why = g_strdup_printf(
	    "the namespace helper (PID %d) ended (%s); forwards cannot "
	    "reach the namespace any more",
	    (int)sn_nshelper_pid(d->nsh), how);

	(void)fd;
	(void)cond;
	d->helper_watch = 0;
	g_warning("%s", why);
	daemon_stop(d, 1, why);
	return G_SOURCE_REMOVE;
}

/* watch_helper() - exit when a helper kept from start-up does */
static void watch_helper(struct sn_daemon *d)
{
	if (!sn_nshelper_pid(d->nsh))
		return; /* none: started when a forward needs it */
	d->helper_pidfd =
	    (int)syscall(SYS_pidfd_open, sn_nshelper_pid(d->nsh), 0);
	if (d->helper_pidfd < 0) {
		g_warning("cannot watch the namespace helper (pidfd_open: %s)",
			  g_strerror(errno));
		return;
	}
	d->helper_watch =
	    g_unix_fd_add(d->helper_pidfd, G_IO_IN, on_helper_exit, d);
}

/* watch_target() - exit when the target process exits (PID mode) */
static bool watch_target(struct sn_daemon *d, GError **err)
{
	if (d->cfg.netns_type != SN_NETNS_PID)
		return true;
	d->pidfd = (int)syscall(SYS_pidfd_open, d->cfg.target_pid, 0);
	if (d->pidfd < 0 && errno == ESRCH) {
		g_set_error(err, SN_CLI_ERROR, 0,
			    "target process %d exited "
			    "during start-up",
			    (int)d->cfg.target_pid);
		return false;
	}
	if (d->pidfd < 0) {
		g_warning("cannot watch process %d (pidfd_open: %s); use "
			  "--exit-fd to stop slirpnetd with it",
			  (int)d->cfg.target_pid, g_strerror(errno));
		return true;
	}
	d->pid_watch = g_unix_fd_add(d->pidfd, G_IO_IN, on_target_exit, d);
	return true;
}

/*
 * watch_signals() - SIGTERM, SIGINT, SIGHUP end the main loop cleanly.
 * They are blocked and read from a signalfd, before any thread starts
 * (threads inherit the mask): glib's g_unix_signal_add() would start a
 * thread of its own just to catch them.
 */
static bool watch_signals(struct sn_daemon *d, GError **err)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
	    (d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		g_set_error(err, SN_CLI_ERROR, 0,
			    "cannot watch for termination signals: %s",
			    g_strerror(errno));
		return false;
	}
	d->sig_watch = g_unix_fd_add(d->sigfd, G_IO_IN, on_signal, d);
	return true;
}

/* install_watches() - --exit-fd and the target process */
static bool install_watches(struct sn_daemon *d, GError **err)
{
	if (d->cfg.exit_fd >= 0)
		d->exit_watch =
		    g_unix_fd_add(d->cfg.exit_fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
				  on_exit_fd, d);
	watch_helper(d);
	return watch_target(d, err);
}

/* signal_ready() - --ready-fd: write "1" and close it */
static void signal_ready(struct sn_daemon *d)
{
	ssize_t n;

	if (d->cfg.ready_fd < 0)
		return;
	do
		n = write(d->cfg.ready_fd, "1", 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		g_warning("cannot write to the ready fd %d: %s",
			  d->cfg.ready_fd, g_strerror(errno));
	close(d->cfg.ready_fd);
	d->cfg.ready_fd = -1;
}

/*
 * raise_fd_limit() - soft RLIMIT_NOFILE up to the hard limit: every
 * forwarded connection holds two sockets
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		g_debug("cannot raise the open file limit: %s",
			g_strerror(errno));
}

/*
 * start_forwarding() - the fast forwarders, the table (with the forwards
 * of --state-file, before anyone is told we are ready) and the API
 */
static bool start_forwarding(struct sn_daemon *d, GError **err)
{
	struct sn_config *cfg = &d->cfg;
	struct sn_api_ctx ctx;

	d->ev = sn_evloop_new(cfg->busy_poll_us, err);
	if (!d->ev)
		return false;
	sn_fwd_env_init(&d->env, d->ev, d->nsh);
	sn_fwd_fds_init(&d->env);
	d->env.udp_idle_s = cfg->udp_timeout_s;
	if (sn_stack_tcp_stats(d->stack)) {
		/* the flow engine runs: forwards may go through tap0 */
		sn_fwdtap_init(&d->fwdtap, d->stack);
		d->env.tap_accept = sn_fwdtap_accept;
		d->env.tap_opaque = &d->fwdtap;
		d->env.tap_net = cfg->addrs.network;
		d->env.tap_mask = cfg->addrs.netmask;
		d->env.tap_prefix6 = cfg->addrs.prefix6;
		d->env.tap_ipv6 = cfg->enable_ipv6;
	}
	sn_udptap_init(&d->udptap, d->stack, cfg->udp_timeout_s);
	d->env.udp_tap = sn_udptap_queue;
	d->env.udp_tap_opaque = &d->udptap;
	sn_fwd_table_init(&d->fwds, sn_stack_slirp(d->stack), &d->env);
	d->fwds.default_source_ip = cfg->keep_source_ip;
	if (cfg->state_file) {
		const struct sn_json_module *json = sn_jsonmod(err);

		if (!json ||
		    !json->state_restore(cfg->state_file, &d->fwds, err))
			return false;
	}
	if (!cfg->api_socket)
		return true;
	ctx = (struct sn_api_ctx){ .fwds = &d->fwds,
				   .default_guest = cfg->addrs.guest,
				   .cfg = cfg,
				   .start_us = d->start_us,
				   .tcp = sn_stack_tcp_stats(d->stack) };
	d->api = sn_api_new(cfg->api_socket, &ctx, err);
	return d->api != NULL;
}

#ifdef __SANITIZE_ADDRESS__
/*
 * LeakSanitizer's hook, in sanitizer builds only: its check at exit stops
 * the world with ptrace() and reads /proc, which --enable-seccomp and
 * --enable-sandbox take away; it is skipped for such a daemon (the same
 * code is leak-checked in runs without them). The hook takes no argument,
 * hence the one file-scope variable.
 */
static int lsan_off;
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return lsan_off;
}
#define LSAN_OFF() (lsan_off = 1)
#else
#define LSAN_OFF() ((void)0)
#endif

/* needs_json() - will the daemon read JSON (API requests, a state file)? */
static bool needs_json(const struct sn_config *cfg)
{
	return cfg->api_socket || cfg->state_file;
}

/*
 * enter_sandbox() - --enable-sandbox, while there is a single thread;
 * what must be loaded from outside it is loaded first. The JSON module is
 * loaded under either flag: the sandbox has no /usr, and its libraries'
 * start-up calls must come before the seccomp filter.
 */
static bool enter_sandbox(struct sn_daemon *d, GError **err)
{
	const struct sn_config *cfg = &d->cfg;

	if (!cfg->enable_sandbox && !cfg->enable_seccomp)
		return true;
	LSAN_OFF();
	if (needs_json(cfg) && !sn_jsonmod(err))
		return false;
	if (!cfg->enable_sandbox)
		return true;
	sn_notify_preload();
	return sn_sandbox_enter(cfg, err);
}

/* nothing() - a call that only proves the forwarders' thread runs */
static void nothing(void *data)
{
	(void)data;
}

/* enter_seccomp() - --enable-seccomp, once every thread exists and has
 * got past its own start-up (whose calls, e.g. the sanitizers' in their
 * builds, are not the running daemon's) */
static bool enter_seccomp(struct sn_daemon *d, GError **err)
{
	if (!d->cfg.enable_seccomp)
		return true;
	/* The filter allows no new thread: start the forwarders' now. */
	if (!sn_evloop_start(d->ev, err))
		return false;
	sn_evloop_call(d->ev, nothing, NULL);
	return sn_seccomp_apply(err);
}

/* daemon_start() - everything between parsing and the main loop */
static bool daemon_start(struct sn_daemon *d, GError **err)
{
	struct sn_config *cfg = &d->cfg;
	int tapfd;

	if (!check_fd_open(cfg->exit_fd, "--exit-fd", err) ||
	    !check_fd_open(cfg->ready_fd, "--ready-fd", err))
		return false;
	if (cfg->enable_sandbox && !sn_sandbox_check(cfg, err))
		return false;
	if (needs_json(cfg) && !sn_jsonmod_find(err))
		return false;
	raise_fd_limit();
	/* A signal until watch_signals() kills the daemon, the helper with
	 * it (PR_SET_PDEATHSIG) and so tap0: nothing is left behind. */
	d->nsh = sn_nshelper_start(cfg, &tapfd, err);
	if (!d->nsh)
		return false;
	g_debug("received tapfd=%d for %s", tapfd, cfg->tapname);
	d->stack = sn_stack_new(cfg, tapfd, on_stack_fatal, d, err);
	if (!d->stack || !enter_sandbox(d, err))
		return false;
	/* From here on, threads: glib's signal thread, the forwarders' */
	if (!watch_signals(d, err) || !start_forwarding(d, err) ||
	    !install_watches(d, err) || !enter_seccomp(d, err))
		return false;
	signal_ready(d);
	sn_notify_ready(d->fwds.fwds ? d->fwds.fwds->len : 0);
	sn_nshelper_reap_starter(d->nsh);
	return true;
}

/* shutdown_forwarders() - in the forwarders' thread: reset connections */
static void shutdown_forwarders(void *env)
{
	sn_splice_shutdown(env);
}

/* daemon_clear() - release everything, in reverse order of creation */
static void daemon_clear(struct sn_daemon *d)
{
	if (d->sig_watch)
		g_source_remove(d->sig_watch);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->exit_watch)
		g_source_remove(d->exit_watch);
	if (d->pid_watch)
		g_source_remove(d->pid_watch);
	if (d->pidfd >= 0)
		close(d->pidfd);
	if (d->helper_watch)
		g_source_remove(d->helper_watch);
	if (d->helper_pidfd >= 0)
		close(d->helper_pidfd);
	sn_api_free(d->api);
	if (d->ev)
		sn_evloop_call(d->ev, shutdown_forwarders, &d->env);
	sn_fwd_table_clear(&d->fwds);
	sn_evloop_free(d->ev);
	sn_fwd_env_clear(&d->env);
	sn_fwdtap_clear(&d->fwdtap);
	sn_udptap_clear(&d->udptap);
	if (d->stack)
		sn_stack_free(d->stack);
	sn_nshelper_free(d->nsh);
	if (d->loop)
		g_main_loop_unref(d->loop);
	sn_config_clear(&d->cfg);
}

/* parse_or_exit() - options; handles -h, -v and bad options itself */
static void parse_or_exit(struct sn_daemon *d, int argc, char **argv)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *help = NULL;

	if (!sn_cli_parse(argc, argv, &d->cfg, &err)) {
		/* the message alone on its line: those slirp4netns also
		 * prints start with its words, which scripts match */
		fprintf(stderr,
			"%s\nTry \"slirpnetd --help\" for the list of "
			"options.\n",
			err->message);
		exit(EXIT_FAILURE);
	}
	if (d->cfg.show_help) {
		help = sn_cli_help();
		fputs(help, stdout);
		exit(EXIT_SUCCESS);
	}
	if (d->cfg.show_version) {
		print_version();
		exit(EXIT_SUCCESS);
	}
}

int main(int argc, char **argv)
{
	struct sn_daemon d = { .pidfd = -1,
			       .helper_pidfd = -1,
			       .sigfd = -1,
			       .start_us = g_get_monotonic_time() };
	g_autoptr(GError) err = NULL;

	parse_or_exit(&d, argc, argv);
	sn_log_init(d.cfg.debug);
	sn_guard_report_libslirp();
	signal(SIGPIPE, SIG_IGN);
	d.loop = g_main_loop_new(NULL, FALSE);
	if (!daemon_start(&d, &err)) {
		fprintf(stderr, "%s\n", err->message);
		daemon_clear(&d);
		return EXIT_FAILURE;
	}
	g_main_loop_run(d.loop);
	daemon_clear(&d);
	return d.exit_status;
}
