/* netns.c - reaching into the target namespaces: a short-lived child joins
 * the user and network namespaces, creates tap0 there and sends its fd back. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netlink.h"
#include "netns.h"
#include "tap.h"

/* The child's answer: 0 and the tap fd, or an errno and a message. */
struct tap_reply {
	int32_t error;
	char msg[480];
};

/* ns_open() - open a namespace file, explaining a missing /proc/PID
 * @pid: the PID @path was derived from, or 0 if the user named @path
 */
static int ns_open(pid_t pid, const char *path, const char *what,
		   GError **err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int e = errno;

	if (fd >= 0)
		return fd;
	if (e == ENOENT && pid > 0)
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e),
			    "no process with PID %d (cannot open %s)",
			    (int)pid, path);
	else
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e),
			    "cannot open %s namespace %s: %s", what, path,
			    g_strerror(e));
	errno = e;
	return -1;
}

/* same_userns() - is @fd the user namespace we are in already? */
static bool same_userns(int fd)
{
	struct stat a, b;

	return !fstat(fd, &a) && !stat("/proc/self/ns/user", &b) &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* join_userns() - setns() into the user namespace at @path (of @pid, or 0) */
static bool join_userns(pid_t pid, const char *path, GError **err)
{
	int fd = ns_open(pid, path, "user", err);
	int rc, e;

	if (fd < 0)
		return false;
	if (same_userns(fd)) {
		close(fd);
		return true;
	}
	rc = setns(fd, CLONE_NEWUSER);
	e = errno;
	close(fd);
	if (rc < 0) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e),
			    "cannot join user namespace %s: %s%s", path,
			    g_strerror(e),
			    e == EINVAL ? " (not a user namespace, or one we "
					  "cannot enter)"
					: "");
		errno = e;
		return false;
	}
	return true;
}

/* netns_error() - explain a failed setns(CLONE_NEWNET) */
static void netns_error(const struct sn_config *cfg, int e, GError **err)
{
	const char *hint = "";

	if (e == EINVAL)
		hint = " (the file is not a network namespace)";
	else if (e == EPERM && !cfg->userns_path)
		hint = " (we hold no privilege over it: pass --userns-path "
		       "with the user namespace that owns it, or run "
		       "slirpnetd as its owner)";
	else if (e == EPERM)
		hint = " (--userns-path does not own this network namespace)";
	g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e),
		    "cannot join network namespace %s: %s%s", cfg->netns_path,
		    g_strerror(e), hint);
}

/* sn_netns_join() - join the target's namespaces (in the calling process) */
bool sn_netns_join(const struct sn_config *cfg, GError **err)
{
	g_autofree char *pid_userns = NULL;
	pid_t pid = cfg->netns_type == SN_NETNS_PID ? cfg->target_pid : 0;
	int fd = ns_open(pid, cfg->netns_path, "network", err);
	int e;

	if (fd < 0)
		return false;
	if (cfg->userns_path && !join_userns(0, cfg->userns_path, err))
		goto fail;
	if (!setns(fd, CLONE_NEWNET))
		goto done;
	/* Not privileged over the target: enter its user namespace first. */
	if (errno != EPERM || cfg->userns_path ||
	    cfg->netns_type != SN_NETNS_PID) {
		netns_error(cfg, errno, err);
		goto fail;
	}
	pid_userns = g_strdup_printf("/proc/%d/ns/user", (int)cfg->target_pid);
	if (!join_userns(pid, pid_userns, err))
		goto fail;
	if (setns(fd, CLONE_NEWNET) < 0) {
		netns_error(cfg, errno, err);
		goto fail;
	}
done:
	close(fd);
	return true;
fail:
	e = errno;
	close(fd);
	errno = e;
	return false;
}

/* send_reply() - send the child's answer, with @fd attached if >= 0 */
static void send_reply(int sock, int fd, const GError *error)
{
	struct tap_reply r = { 0 };
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &r, .iov_len = sizeof(r) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;

	if (error) {
		r.error = error->code ? error->code : EIO;
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

/* child_make_tap() - in the child: join, create, configure; return the fd */
static int child_make_tap(const struct sn_config *cfg, GError **err)
{
	struct sn_ifconf conf = {
		.ifname = cfg->tapname,
		.mtu = cfg->mtu,
		.mac = cfg->has_mac ? cfg->mac : NULL,
		.addr = cfg->addrs.guest,
		.prefix = cfg->addrs.prefix,
		.gateway = cfg->addrs.gateway,
	};
	int fd;

	if (!sn_netns_join(cfg, err))
		return -1;
	fd = sn_tap_open(cfg->tapname, err);
	if (fd < 0)
		return -1;
	if (cfg->configure && !sn_netlink_configure(&conf, err)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* child_main() - the helper child's whole life; never returns */
static G_GNUC_NORETURN void child_main(const struct sn_config *cfg, int sock)
{
	g_autoptr(GError) error = NULL;
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fd = child_make_tap(cfg, &error);
	send_reply(sock, fd, error);
	_exit(fd < 0);
}

/* recv_reply() - read the child's answer; the fd or -1 with @err */
static int recv_reply(int sock, GError **err)
{
	struct tap_reply r = { 0 };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &r, .iov_len = sizeof(r) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cmsg;
	ssize_t n;
	int fd = -1;

	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	cmsg = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (cmsg && cmsg->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	if (n != (ssize_t)sizeof(r)) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
			    "the namespace helper died before answering");
	} else if (r.error || fd < 0) {
		r.msg[sizeof(r.msg) - 1] = '\0';
		g_set_error_literal(err, G_FILE_ERROR,
				    g_file_error_from_errno(r.error), r.msg);
	} else {
		return fd;
	}
	if (fd >= 0)
		close(fd);
	return -1;
}

/* sn_netns_open_tap() - fork the helper, return the tap fd it sends back */
int sn_netns_open_tap(const struct sn_config *cfg, GError **err)
{
	int sv[2], fd, status;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "socketpair: %s", g_strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "cannot fork the namespace helper: %s",
			    g_strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		child_main(cfg, sv[1]);
	}
	close(sv[1]);
	fd = recv_reply(sv[0], err);
	close(sv[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return fd;
}
