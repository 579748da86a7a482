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

/* The child's answer: 0 and the tap fd, or an errno and a message. */
struct tap_reply {
	int32_t error;
	char msg[480];
};

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
			    "setns(CLONE_NEWUSER): %s (cannot join user "
			    "namespace %s%s)",
			    g_strerror(e), path,
			    e == EINVAL ? ": not a user namespace, or one we "
					  "cannot enter"
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
