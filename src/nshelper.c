/* nshelper.c - the namespace helper: a child that joins the target's
 * namespaces, makes tap0, and then makes sockets there on request. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netns.h"
#include "nshelper.h"
#include "offload.h"
#include "seccompfilter.h"
#include "tap.h"

/*
 * Sockets belong to the network namespace they were created in, and only a
 * single-threaded process can change user namespace. So the daemon opens
 * the target's namespace files first thing (struct sn_netns_fds), and forks
 * a child that joins them, creates tap0 and sends its fd back. Then:
 *
 * - By default that child exits, and a daemon without forwards has no
 *   other process. The first fast forward (added over the API or restored
 *   from the state file) forks the helper again, from the forwarders'
 *   thread, which alone talks to it: it joins the namespaces through the
 *   fds kept open, whatever became of the target's PID and of /proc, and
 *   stays, answering requests on a SOCK_SEQPACKET pair, one message each
 *   way: a socket (sent with SCM_RIGHTS) or a routing change. A helper
 *   found dead when a request is sent (the channel closed) is reaped,
 *   logged with its exit cause, and started again for that request.
 * - With --enable-sandbox or --enable-seccomp the child stays from the
 *   start, as the daemon could not join the namespaces later: the sandbox
 *   drops the capabilities (or moves the daemon to a user namespace of its
 *   own) and the filter kills setns(). Such a helper cannot be replaced,
 *   and the daemon exits when it dies (main.c).
 *
 * Requests are synchronous and short (a socket(), maybe a bind()), a few
 * microseconds; the helper blocks in recvmsg() the rest of the time. Its
 * first answer says whether it joined (and carries tap0 at start-up).
 *
 * The forked child holds only stdin, stdout, stderr, its end of the pair
 * and the namespace fds: a listening socket it inherited would keep a
 * removed forward's port open. A child forked after the daemon's threads
 * exist runs nothing that takes a lock on its success paths but malloc's,
 * which glibc makes safe across fork().
 */

enum nsh_op {
	NSH_JOINED = 1, /* the first answer, unrequested (with tap0 at start) */
	NSH_SOCKET,
	NSH_SRCIP_SETUP,
	NSH_RULE_ADD,
	NSH_RULE_DEL,
};

struct nsh_req {
	uint32_t op;
	struct sn_nsh_sock sock;
	struct sn_nl_rule rule;
};

/* The answer: 0 (and an fd for tap0 and NSH_SOCKET) or an errno and a
 * message. */
struct nsh_rep {
	int32_t error;
	char msg[480];
};

struct sn_nshelper {
	const struct sn_config *cfg;
	struct sn_netns_fds ns; /* closed when the helper stays from start-up */
	bool stays;		/* forked at start-up, kept, never replaced */
	pid_t pid;		/* 0 while none runs */
	int sock;		/* our end of the pair, or -1 */
	pid_t starter;		/* the child that made tap0, exiting; or 0 */
};

/* What a forked child does once it has joined the namespaces. */
enum nsh_role {
	NSH_TAP_ONLY, /* make tap0, send it, exit */
	NSH_TAP_STAY, /* make tap0, send it, serve */
	NSH_SERVE,    /* serve */
};

/* ---- the helper's side ---- */

/* send_rep() - send an answer, with @fd attached if >= 0 */
static void send_rep(int sock, int fd, const GError *error)
{
	struct nsh_rep r = { 0 };
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &r, .iov_len = sizeof(r) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;

	if (error) {
		r.error = error->code > 0 ? error->code : EIO;
		g_strlcpy(r.msg, error->message, sizeof(r.msg));
	}
	if (fd >= 0) {
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}
	while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

/* make_tap() - create and configure tap0 (in the joined namespace);
 * return its fd */
static int make_tap(const struct sn_config *cfg, GError **err)
{
	struct sn_ifconf conf = {
		.ifname = cfg->tapname,
		.mtu = cfg->mtu,
		.mac = cfg->has_mac ? cfg->mac : NULL,
		.addr = cfg->addrs.guest,
		.prefix = cfg->addrs.prefix,
		.gateway = cfg->addrs.gateway,
	};
	int fd = sn_tap_open(
	    cfg->tapname,
	    sn_offload_wanted(cfg->disable_offload, cfg->tcp_slirp, cfg->mtu),
	    !cfg->tcp_slirp, err);
	if (fd < 0)
		return -1;
	if (cfg->configure && !sn_netlink_configure(&conf, err)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* sock_fail() - set @err from errno for step @what, close @fd */
static int sock_fail(int fd, const char *what, GError **err)
{
	int e = errno;

	g_set_error(err, G_FILE_ERROR, e, "%s inside the namespace: %s", what,
		    g_strerror(e));
	if (fd >= 0)
		close(fd);
	errno = e;
	return -1;
}

/* make_socket() - the socket @s asks for, in this (the target's) netns */
static int make_socket(const struct sn_nsh_sock *s, GError **err)
{
	int fd = socket(AF_INET, s->type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1, mark = SN_SRCIP_MARK;

	if (fd < 0)
		return sock_fail(-1, "socket", err);
	if (s->transparent &&
	    (setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one)) < 0 ||
	     setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0))
		return sock_fail(fd, "IP_TRANSPARENT", err);
	if (s->bind.sin_family &&
	    bind(fd, (const struct sockaddr *)&s->bind, sizeof(s->bind)) < 0)
		return sock_fail(fd, "bind to the client's address", err);
	return fd;
}

/* srcip_setup() - the sysctl, rule and table for transparent sockets */
static bool srcip_setup(GError **err)
{
	int fd =
	    open("/proc/sys/net/ipv4/tcp_fwmark_accept", O_WRONLY | O_CLOEXEC);

	/* Accepted TCP sockets take the SYN's mark, so their replies follow
	 * the mark rule back to the transparent socket. */
	if (fd < 0 || write(fd, "1", 1) != 1) {
		sock_fail(fd, "net.ipv4.tcp_fwmark_accept=1", err);
		return false;
	}
	close(fd);
	return sn_netlink_local_table(SN_SRCIP_MARK, SN_SRCIP_TABLE, err);
}

/* serve() - answer one request */
static void serve(int sock, const struct nsh_req *req)
{
	g_autoptr(GError) error = NULL;
	int fd = -1;

	switch (req->op) {
	case NSH_SOCKET:
		fd = make_socket(&req->sock, &error);
		break;
	case NSH_SRCIP_SETUP:
		srcip_setup(&error);
		break;
	case NSH_RULE_ADD:
	case NSH_RULE_DEL:
		sn_netlink_rule(req->op == NSH_RULE_ADD, &req->rule, &error);
		break;
	default:
		g_set_error(&error, G_FILE_ERROR, EINVAL, "unknown request %u",
			    req->op);
	}
	send_rep(sock, fd, error);
	if (fd >= 0)
		close(fd);
}

/* close_others() - close every fd above stderr but @keep's (-1 skipped) */
static void close_others(const int keep[3])
{
	unsigned int from = 3, k[3];
	int i, j, n = 0;

	for (i = 0; i < 3; i++) {
		if (keep[i] < 3)
			continue;
		for (j = n++; j > 0 && k[j - 1] > (unsigned int)keep[i]; j--)
			k[j] = k[j - 1];
		k[j] = (unsigned int)keep[i];
	}
	for (i = 0; i < n; from = k[i++] + 1)
		if (k[i] > from)
			syscall(SYS_close_range, from, k[i] - 1, 0);
	syscall(SYS_close_range, from, ~0u, 0);
}

/* helper_main() - the child's whole life; never returns */
static G_GNUC_NORETURN void helper_main(const struct sn_config *cfg,
					struct sn_netns_fds *ns, int sock,
					enum nsh_role role)
{
	g_autoptr(GError) error = NULL;
	const int keep[3] = { sock, ns->net, ns->user };
	struct nsh_req req;
	ssize_t n;
	int fd = -1;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, "slirpnetd-ns");
	/* The daemon alone holds the tap, the sockets, the ready and exit
	 * fds. */
	close_others(keep);
	if (sn_netns_join(cfg, ns, &error) && role != NSH_SERVE)
		fd = make_tap(cfg, &error);
	sn_netns_close(ns);
	send_rep(sock, fd, error);
	if (error)
		_exit(1);
	if (fd >= 0)
		close(fd);
	if (role == NSH_TAP_ONLY)
		_exit(0);
	if (cfg->enable_seccomp && !sn_seccomp_apply_helper(&error)) {
		fprintf(stderr, "slirpnetd-ns: %s\n", error->message);
		_exit(1);
	}
	/* Freed pages of the daemon's heap, copied or not, are of no use
	 * here: give them back (the helper lives as long as the daemon). */
	malloc_trim(0);
	for (;;) {
		n = recv(sock, &req, sizeof(req), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(req))
			_exit(n == 0 ? 0 : 1);
		serve(sock, &req);
	}
}

/* ---- the daemon's side ---- */

/* exit_cause() - how the helper ended ("killed by signal 9"), or NULL
 * while it runs; peeks with WNOWAIT, sn_nshelper_free() reaps it */
static char *exit_cause(const struct sn_nshelper *h)
{
	siginfo_t si = { 0 };

	if (h->pid <= 0 ||
	    waitid(P_PID, (id_t)h->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
	    si.si_pid != h->pid)
		return NULL;
	if (si.si_code == CLD_EXITED)
		return g_strdup_printf("exit status %d", si.si_status);
	return g_strdup_printf("killed by signal %d (%s)", si.si_status,
			       g_strsignal(si.si_status));
}

/* helper_gone() - set @err: the helper died */
static void helper_gone(struct sn_nshelper *h, GError **err)
{
	g_autofree char *how = exit_cause(h);

	g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
		    "the namespace helper is gone (%s)",
		    how ? how : "its channel closed");
	errno = EPIPE;
}

char *sn_nshelper_exit_cause(const struct sn_nshelper *h)
{
	char *how = exit_cause(h);

	return how ? how : g_strdup("its channel closed");
}

/*
 * recv_rep() - read one answer; the fd attached (or -1) in *@fd
 * Return: 1 on success, 0 for an error answer (@err set), -1 when the
 * helper is gone (@err untouched)
 */
static int recv_rep(struct sn_nshelper *h, int *fd, GError **err)
{
	struct nsh_rep r = { 0 };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &r, .iov_len = sizeof(r) };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cmsg;
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(h->sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	cmsg = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (cmsg && cmsg->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(cmsg), sizeof(int));
	if (n != (ssize_t)sizeof(r)) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -1;
	}
	if (!r.error && (msg.msg_flags & MSG_CTRUNC)) {
		/* The kernel had no fd number for us: EMFILE on our side. */
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_MFILE,
			    "no file descriptor left for a socket from the "
			    "namespace (too many open files; raise the limit "
			    "with ulimit -n)");
		errno = EMFILE;
		return 0;
	}
	if (!r.error)
		return 1;
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	r.msg[sizeof(r.msg) - 1] = '\0';
	g_set_error_literal(err, G_FILE_ERROR, g_file_error_from_errno(r.error),
			    r.msg);
	errno = r.error;
	return 0;
}

/* exchange() - send @req, wait for the answer; returns as recv_rep() */
static int exchange(struct sn_nshelper *h, const struct nsh_req *req, int *fd,
		    GError **err)
{
	ssize_t n;

	*fd = -1;
	do
		n = send(h->sock, req, sizeof(*req), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(*req))
		return -1;
	return recv_rep(h, fd, err);
}

/* helper_reap() - close the channel, kill and reap the helper, if any */
static void helper_reap(struct sn_nshelper *h)
{
	if (h->sock >= 0)
		close(h->sock);
	h->sock = -1;
	if (h->pid > 0) {
		kill(h->pid, SIGKILL);
		while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	h->pid = 0;
}

/*
 * helper_fork() - fork a child for @role; wait for its first answer
 * @tapfd: for the roles that make tap0, set to its fd
 *
 * Return: true, or false with @err (the child's own message) and no child
 */
static bool helper_fork(struct sn_nshelper *h, enum nsh_role role, int *tapfd,
			GError **err)
{
	int sv[2], fd, rc;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "socketpair: %s", g_strerror(errno));
		return false;
	}
	h->sock = sv[0];
	h->pid = fork();
	if (h->pid < 0) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "cannot fork the namespace helper: %s",
			    g_strerror(errno));
		close(sv[1]);
		h->pid = 0;
		helper_reap(h);
		return false;
	}
	if (h->pid == 0) {
		close(sv[0]);
		helper_main(h->cfg, &h->ns, sv[1], role);
	}
	close(sv[1]);
	rc = recv_rep(h, &fd, err);
	if (rc < 0)
		helper_gone(h, err);
	if (rc <= 0) {
		helper_reap(h);
		return false;
	}
	if (tapfd)
		*tapfd = fd;
	else if (fd >= 0)
		close(fd);
	return true;
}

/* helper_ended() - how a helper whose channel closed ended; it is on its
 * way out, so wait a little for its exit status */
static char *helper_ended(const struct sn_nshelper *h)
{
	char *how;
	int i;

	for (i = 0; !(how = exit_cause(h)) && i < 100; i++)
		g_usleep(1000);
	return how ? how : g_strdup("its channel closed");
}

/*
 * request() - send @req, wait for the answer. The helper is started if
 * none runs, and started again (once) if it turns out to have died.
 */
static bool request(struct sn_nshelper *h, const struct nsh_req *req, int *fd,
		    GError **err)
{
	g_autofree char *how = NULL;
	int rc;

	if (!h->pid && !helper_fork(h, NSH_SERVE, NULL, err))
		return false;
	rc = exchange(h, req, fd, err);
	if (rc >= 0)
		return rc == 1;
	if (h->stays) {
		helper_gone(h, err);
		return false;
	}
	how = helper_ended(h);
	g_warning("the namespace helper (PID %d) ended (%s); starting a new "
		  "one",
		  (int)h->pid, how);
	helper_reap(h);
	if (!helper_fork(h, NSH_SERVE, NULL, err))
		return false;
	rc = exchange(h, req, fd, err);
	if (rc < 0)
		helper_gone(h, err);
	return rc == 1;
}

int sn_nshelper_socket(struct sn_nshelper *h, const struct sn_nsh_sock *s,
		       GError **err)
{
	struct nsh_req req = { .op = NSH_SOCKET, .sock = *s };
	int fd;

	if (!request(h, &req, &fd, err))
		return -1;
	return fd;
}

bool sn_nshelper_srcip_setup(struct sn_nshelper *h, GError **err)
{
	struct nsh_req req = { .op = NSH_SRCIP_SETUP };
	int fd;

	return request(h, &req, &fd, err);
}

bool sn_nshelper_rule(struct sn_nshelper *h, bool add,
		      const struct sn_nl_rule *r, GError **err)
{
	struct nsh_req req = { .op = add ? NSH_RULE_ADD : NSH_RULE_DEL,
			       .rule = *r };
	int fd;

	return request(h, &req, &fd, err);
}

bool sn_nshelper_ensure(struct sn_nshelper *h, GError **err)
{
	return h->pid || helper_fork(h, NSH_SERVE, NULL, err);
}

pid_t sn_nshelper_pid(const struct sn_nshelper *h)
{
	return h->pid;
}

struct sn_nshelper *sn_nshelper_start(const struct sn_config *cfg, int *tapfd,
				      GError **err)
{
	struct sn_nshelper *h = g_new0(struct sn_nshelper, 1);

	h->cfg = cfg;
	h->sock = -1;
	h->stays = cfg->enable_sandbox || cfg->enable_seccomp;
	if (!sn_netns_open(cfg, &h->ns, err) ||
	    !helper_fork(h, h->stays ? NSH_TAP_STAY : NSH_TAP_ONLY, tapfd,
			 err)) {
		sn_nshelper_free(h);
		return NULL;
	}
	if (h->stays) {
		/* It holds the namespaces now; nothing else will join them. */
		sn_netns_close(&h->ns);
		return h;
	}
	/* Its work is done and it is exiting: sn_nshelper_reap_starter()
	 * waits for it once the daemon is ready. */
	close(h->sock);
	h->sock = -1;
	h->starter = h->pid;
	h->pid = 0;
	return h;
}

void sn_nshelper_reap_starter(struct sn_nshelper *h)
{
	while (h->starter > 0 && waitpid(h->starter, NULL, 0) < 0 &&
	       errno == EINTR)
		;
	h->starter = 0;
}

void sn_nshelper_free(struct sn_nshelper *h)
{
	if (!h)
		return;
	if (h->starter > 0)
		kill(h->starter, SIGKILL);
	sn_nshelper_reap_starter(h);
	helper_reap(h);
	sn_netns_close(&h->ns);
	g_free(h);
}
