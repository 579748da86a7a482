/* netns.c - reaching into the target namespaces: join the user namespace
 * when needed, then the network namespace, with errors a user can act on. */
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

#include "netns.h"

/* ns_open() - open a namespace file, explaining a missing /proc/PID
 * @pid: the PID @path was derived from, or 0 if the user named @path
 *
 * Messages start as slirp4netns's do, "PATH: strerror", or for a network
 * namespace path that does not exist "existing path expected when
 * --netns-type=path: strerror"; what to do follows in parentheses.
 */
static int ns_open(pid_t pid, const char *path, const char *what, GError **err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int e = errno;

	if (fd >= 0)
		return fd;
	if (e == ENOENT && pid > 0)
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e),
			    "%s: %s (cannot open the %s namespace: no process "
			    "with PID %d)",
			    path, g_strerror(e), what, (int)pid);
	else if (e == ENOENT && !strcmp(what, "network"))
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e),
			    "existing path expected when --netns-type=path: "
			    "%s (cannot open network namespace %s)",
			    g_strerror(e), path);
	else if ((e == EACCES || e == EPERM) && pid > 0)
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e),
			    "%s: %s (cannot open the %s namespace: PID %d "
			    "belongs to another user; run slirpnetd as the "
			    "user who started the container, or as root)",
			    path, g_strerror(e), what, (int)pid);
	else
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e),
			    "%s: %s (cannot open the %s namespace)", path,
			    g_strerror(e), what);
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

/* userns_path() - where the user namespace of the target is (for messages) */
static char *userns_path(const struct sn_config *cfg)
{
	if (cfg->userns_path)
		return g_strdup(cfg->userns_path);
	return g_strdup_printf("/proc/%d/ns/user", (int)cfg->target_pid);
}

/* join_userns() - setns() into the user namespace @fd (opened from @path) */
static bool join_userns(int fd, const char *path, GError **err)
{
	int e;

	if (same_userns(fd))
		return true;
	if (!setns(fd, CLONE_NEWUSER))
		return true;
	e = errno;
	g_set_error(
	    err, G_FILE_ERROR, g_file_error_from_errno(e),
	    "setns(CLONE_NEWUSER): %s (cannot join user namespace %s%s)",
	    g_strerror(e), path,
	    e == EINVAL ? ": not a user namespace, or one we "
			  "cannot enter"
			: "");
	errno = e;
	return false;
}

/* netns_error() - explain a failed setns(CLONE_NEWNET) */
static void netns_error(const struct sn_config *cfg, int e, GError **err)
{
	const char *hint = "";

	if (e == EINVAL)
		hint = ": the file is not a network namespace";
	else if (e == EPERM && !cfg->userns_path)
		hint = ": we hold no privilege over it; pass --userns-path "
		       "with the user namespace that owns it, or run "
		       "slirpnetd as its owner";
	else if (e == EPERM)
		hint = ": --userns-path does not own this network namespace";
	g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e),
		    "setns(CLONE_NEWNET): %s (cannot join network namespace "
		    "%s%s)",
		    g_strerror(e), cfg->netns_path, hint);
}

bool sn_netns_open(const struct sn_config *cfg, struct sn_netns_fds *ns,
		   GError **err)
{
	pid_t pid = cfg->netns_type == SN_NETNS_PID ? cfg->target_pid : 0;
	g_autofree char *user = NULL;

	ns->net = ns_open(pid, cfg->netns_path, "network", err);
	ns->user = -1;
	if (ns->net < 0)
		return false;
	if (!cfg->userns_path && !pid)
		return true;
	/* In PID mode the user namespace is needed only if the network
	 * namespace refuses us, but it is opened now all the same: later the
	 * PID may belong to another process. */
	user = userns_path(cfg);
	ns->user = ns_open(cfg->userns_path ? 0 : pid, user, "user", err);
	if (ns->user >= 0)
		return true;
	sn_netns_close(ns);
	return false;
}

void sn_netns_close(struct sn_netns_fds *ns)
{
	if (ns->net >= 0)
		close(ns->net);
	if (ns->user >= 0)
		close(ns->user);
	ns->net = ns->user = -1;
}

bool sn_netns_join(const struct sn_config *cfg, const struct sn_netns_fds *ns,
		   GError **err)
{
	g_autofree char *user = userns_path(cfg);

	if (cfg->userns_path && !join_userns(ns->user, user, err))
		return false;
	if (!setns(ns->net, CLONE_NEWNET))
		return true;
	/* Not privileged over the target: enter its user namespace first. */
	if (errno != EPERM || cfg->userns_path || ns->user < 0) {
		netns_error(cfg, errno, err);
		return false;
	}
	if (!join_userns(ns->user, user, err))
		return false;
	if (setns(ns->net, CLONE_NEWNET) < 0) {
		netns_error(cfg, errno, err);
		return false;
	}
	return true;
}
