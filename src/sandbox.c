/* sandbox.c - --enable-sandbox: pivot_root into an empty tmpfs that holds
 * only /etc, /run and the daemon's own directories, then drop privileges. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"

/* Read when a forward's port turns out to be privileged (fastfwd.c). */
#define PORT_SYSCTL "/proc/sys/net/ipv4/ip_unprivileged_port_start"
/* Where the new root is built before pivot_root; any directory would do,
 * as every kept path is bound from an fd opened before it is covered. */
#define SCRATCH "/tmp"

/* A host path kept in the sandbox, at the same place. */
struct keep {
	char *path; /* canonical */
	bool writable;
	bool file;
	int fd; /* O_PATH, opened before anything is mounted */
};

/* sandbox_error() - fail with @what and errno's text */
static bool sandbox_error(GError **err, int errnum, const char *what)
{
	g_set_error(err, SN_CLI_ERROR, 0, "--enable-sandbox: %s: %s", what,
		    g_strerror(errnum));
	return false;
}

/* resolv_conf_target() - where /etc/resolv.conf leads, even if nothing
 * is there (yet); NULL if there is no such file or link */
static char *resolv_conf_target(void)
{
	char *real = realpath("/etc/resolv.conf", NULL);
	g_autofree char *link = NULL;

	if (real)
		return real;
	link = g_file_read_link("/etc/resolv.conf", NULL);
	if (!link)
		return NULL;
	return g_path_is_absolute(link) ? g_steal_pointer(&link)
					: g_build_filename("/etc", link, NULL);
}

/* check_resolv_conf() - DNS needs resolv.conf inside /etc or /run */
static bool check_resolv_conf(GError **err)
{
	g_autofree char *real = resolv_conf_target();

	if (!real)
		return true; /* none: libslirp falls back, as without us */
	if (g_str_has_prefix(real, "/etc/") || g_str_has_prefix(real, "/run/"))
		return true;
	g_set_error(err, SN_CLI_ERROR, 0,
		    "--enable-sandbox: /etc/resolv.conf resolves to %s, "
		    "outside /etc and /run, the only host directories the "
		    "sandbox keeps, so DNS through the gateway would fail; "
		    "make it point into /etc or /run, or run without "
		    "--enable-sandbox",
		    real);
	return false;
}

/* absolute_in_dir() - @path with its directory made canonical, so that it
 * names the same file after pivot_root and a chdir to / */
static bool absolute_in_dir(char **path, const char *flag, GError **err)
{
	g_autofree char *dir = g_path_get_dirname(*path);
	g_autofree char *base = g_path_get_basename(*path);
	g_autofree char *real = NULL;

	if (!**path)
		return true; /* refused later, as without the sandbox */
	real = realpath(dir, NULL);
	if (!real) {
		g_set_error(err, SN_CLI_ERROR, 0,
			    "%s=%s: cannot use directory %s (%s); with "
			    "--enable-sandbox it must exist at start-up",
			    flag, *path, dir, g_strerror(errno));
		return false;
	}
	if (!strcmp(real, "/")) {
		g_set_error(err, SN_CLI_ERROR, 0,
			    "%s=%s: the sandbox would have to keep all of / "
			    "writable; put the file in a directory of its own",
			    flag, *path);
		return false;
	}
	g_free(*path);
	*path = g_build_filename(real, base, NULL);
	return true;
}

bool sn_sandbox_check(struct sn_config *cfg, GError **err)
{
	if (!check_resolv_conf(err))
		return false;
	if (cfg->api_socket &&
	    !absolute_in_dir(&cfg->api_socket, "--api-socket", err))
		return false;
	return !cfg->state_file ||
	       absolute_in_dir(&cfg->state_file, "--state-file", err);
}

/* keep_add() - keep @path (if it exists) unless it already is */
static void keep_add(GArray *keeps, const char *path, bool writable)
{
	struct keep k = { .writable = writable, .fd = -1 };
	struct stat st;
	guint i;

	if (stat(path, &st) < 0)
		return;
	for (i = 0; i < keeps->len; i++) {
		struct keep *o = &g_array_index(keeps, struct keep, i);

		if (!strcmp(o->path, path)) {
			o->writable |= writable;
			return;
		}
	}
	k.path = g_strdup(path);
	k.file = !S_ISDIR(st.st_mode);
	g_array_append_val(keeps, k);
}

/* keep_parent() - keep the directory holding @file */
static void keep_parent(GArray *keeps, const char *file, bool writable)
{
	g_autofree char *dir = NULL;

	if (!file || file[0] != '/')
		return;
	dir = g_path_get_dirname(file);
	keep_add(keeps, dir, writable);
}

/* by_length() - parents before what they contain */
static gint by_length(gconstpointer a, gconstpointer b)
{
	return (gint)strlen(((const struct keep *)a)->path) -
	       (gint)strlen(((const struct keep *)b)->path);
}

/* keep_free() - GArray clear function */
static void keep_free(gpointer data)
{
	struct keep *k = data;

	if (k->fd >= 0)
		close(k->fd);
	g_free(k->path);
}

/* keeps_new() - what the sandbox holds, each with an O_PATH fd */
static GArray *keeps_new(const struct sn_config *cfg, GError **err)
{
	g_autoptr(GArray) keeps = g_array_new(FALSE, TRUE, sizeof(struct keep));
	guint i;

	g_array_set_clear_func(keeps, keep_free);
	keep_add(keeps, "/etc", false);
	keep_add(keeps, "/run", false);
	keep_add(keeps, PORT_SYSCTL, false);
	keep_parent(keeps, cfg->api_socket, true);
	keep_parent(keeps, cfg->state_file, true);
	/* sd_notify() connects to it (an abstract name needs nothing) */
	keep_parent(keeps, g_getenv("NOTIFY_SOCKET"), false);
	g_array_sort(keeps, by_length);
	for (i = 0; i < keeps->len; i++) {
		struct keep *k = &g_array_index(keeps, struct keep, i);

		k->fd = open(k->path, O_PATH | O_CLOEXEC);
		if (k->fd < 0) {
			g_autofree char *what =
			    g_strdup_printf("cannot open %s", k->path);
			sandbox_error(err, errno, what);
			return NULL;
		}
	}
	return g_steal_pointer(&keeps);
}

/* single_threaded() - a mount or user namespace change reaches every
 * thread only if there is just one */
static bool single_threaded(GError **err)
{
	g_autofree char *status = NULL;
	const char *t;

	if (!g_file_get_contents("/proc/self/status", &status, NULL, NULL))
		return true; /* unshare() fails on its own then */
	t = strstr(status, "\nThreads:");
	if (!t || atoi(t + 9) == 1)
		return true;
	g_set_error(err, SN_CLI_ERROR, 0,
		    "--enable-sandbox: the process already runs %d threads; "
		    "the sandbox must be entered before any is started",
		    atoi(t + 9));
	return false;
}

/* write_file() - write @text to /proc/self/@name */
static bool write_file(const char *name, const char *text, GError **err)
{
	g_autofree char *path = g_strdup_printf("/proc/self/%s", name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n = -1;

	if (fd >= 0) {
		n = write(fd, text, strlen(text));
		if (n < 0)
			n = -errno;
		close(fd);
	}
	if (fd >= 0 && n >= 0)
		return true;
	g_autofree char *what = g_strdup_printf("cannot write %s", path);
	return sandbox_error(err, fd < 0 ? errno : (int)-n, what);
}

/*
 * enter_userns() - without CAP_SYS_ADMIN: a user namespace of our own,
 * mapping only our uid and gid to themselves, where we may mount
 */
static bool enter_userns(GError **err)
{
	g_autofree char *uid_map =
	    g_strdup_printf("%u %u 1\n", geteuid(), geteuid());
	g_autofree char *gid_map =
	    g_strdup_printf("%u %u 1\n", getegid(), getegid());

	if (unshare(CLONE_NEWUSER) < 0)
		return sandbox_error(
		    err, errno,
		    "cannot create a user namespace to build the sandbox in "
		    "(are unprivileged user namespaces disabled?)");
	return write_file("setgroups", "deny", err) &&
	       write_file("uid_map", uid_map, err) &&
	       write_file("gid_map", gid_map, err);
}

/* new_mount_ns() - a private mount namespace, in a user namespace of our
 * own if we may not make one here */
static bool new_mount_ns(GError **err)
{
	if (unshare(CLONE_NEWNS) < 0) {
		if (errno != EPERM)
			return sandbox_error(err, errno,
					     "cannot create a mount namespace");
		if (!enter_userns(err))
			return false;
		if (unshare(CLONE_NEWNS) < 0)
			return sandbox_error(err, errno,
					     "cannot create a mount namespace");
	}
	/* Nothing done from here on may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return sandbox_error(err, errno, "cannot make / private");
	return true;
}

/* set_attrs() - nosuid, nodev, noexec and maybe read-only on @path's mount
 * and everything below it */
static bool set_attrs(const char *path, bool rdonly, GError **err)
{
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
			    MOUNT_ATTR_NOEXEC |
			    (rdonly ? MOUNT_ATTR_RDONLY : 0),
	};
	unsigned long flags = MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV |
			      MS_NOEXEC | (rdonly ? MS_RDONLY : 0);

	if (!mount_setattr(AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof(attr)))
		return true;
	/* Before Linux 5.12: the top mount only */
	if (errno == ENOSYS && !mount(NULL, path, NULL, flags, NULL))
		return true;
	g_autofree char *what = g_strdup_printf("cannot restrict %s", path);
	return sandbox_error(err, errno, what);
}

/* make_target() - the mount point for @k under the new root */
static bool make_target(const struct keep *k, const char *target, GError **err)
{
	g_autofree char *dir =
	    k->file ? g_path_get_dirname(target) : g_strdup(target);
	int fd;

	if (g_mkdir_with_parents(dir, 0755) < 0)
		goto fail;
	if (!k->file)
		return true;
	fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
	if (fd >= 0) {
		close(fd);
		return true;
	}
fail:;
	g_autofree char *what = g_strdup_printf("cannot create %s", target);
	return sandbox_error(err, errno, what);
}

/* bind_keep() - bind @k from its fd to the same path under the new root */
static bool bind_keep(const struct keep *k, GError **err)
{
	g_autofree char *target = g_strconcat(SCRATCH, k->path, NULL);
	g_autofree char *source = g_strdup_printf("/proc/self/fd/%d", k->fd);

	if (!make_target(k, target, err))
		return false;
	if (mount(source, target, NULL, MS_BIND | MS_REC, NULL) < 0) {
		g_autofree char *what =
		    g_strdup_printf("cannot bind %s into the sandbox", k->path);
		return sandbox_error(err, errno, what);
	}
	return set_attrs(target, !k->writable, err);
}

/* build_root() - an empty tmpfs at SCRATCH holding @keeps */
static bool build_root(GArray *keeps, GError **err)
{
	guint i;

	if (mount("tmpfs", SCRATCH, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=64k,mode=0755") < 0)
		return sandbox_error(err, errno,
				     "cannot mount a tmpfs on " SCRATCH);
	for (i = 0; i < keeps->len; i++)
		if (!bind_keep(&g_array_index(keeps, struct keep, i), err))
			return false;
	return true;
}

/* switch_root() - make the tmpfs / and forget the old root */
static bool switch_root(GError **err)
{
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };

	if (mkdir(SCRATCH "/.old", 0700) < 0 || chdir(SCRATCH) < 0)
		return sandbox_error(err, errno, "cannot prepare the new root");
	if (syscall(SYS_pivot_root, ".", ".old") < 0)
		return sandbox_error(err, errno, "pivot_root");
	if (chdir("/") < 0 || umount2("/.old", MNT_DETACH) < 0 ||
	    rmdir("/.old") < 0)
		return sandbox_error(err, errno, "cannot detach the old root");
	if (mount_setattr(AT_FDCWD, "/", 0, &ro, sizeof(ro)) < 0 &&
	    mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		return sandbox_error(err, errno, "cannot make / read-only");
	return true;
}

/* drop_privileges() - no_new_privs, and no capability left but
 * CAP_NET_BIND_SERVICE if @keep_bind */
static bool drop_privileges(bool keep_bind, GError **err)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3,
						0 };
	struct __user_cap_data_struct data[2] = { { 0 } };
	const unsigned int bind = CAP_NET_BIND_SERVICE;
	unsigned int cap;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return sandbox_error(err, errno, "cannot set no_new_privs");
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if ((!keep_bind || cap != bind) &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EPERM)
			return sandbox_error(err, errno,
					     "cannot drop a capability");
	if (keep_bind)
		data[0].effective = data[0].permitted = 1u << bind;
	if (syscall(SYS_capset, &hdr, data) < 0)
		return sandbox_error(err, errno, "cannot drop capabilities");
	return true;
}

bool sn_sandbox_enter(const struct sn_config *cfg, GError **err)
{
	bool root = geteuid() == 0;
	g_autoptr(GArray) keeps = NULL;

	if (!single_threaded(err) || !new_mount_ns(err))
		return false;
	/* Opened in the new namespace: a bind's source must be there. */
	keeps = keeps_new(cfg, err);
	if (!keeps || !build_root(keeps, err) || !switch_root(err))
		return false;
	g_debug("sandbox: / is a read-only tmpfs holding %u host path%s",
		keeps->len, keeps->len == 1 ? "" : "s");
	return drop_privileges(root, err);
}
