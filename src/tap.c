/* tap.c - creating the tap device (IFF_TAP | IFF_NO_PI, and IFF_VNET_HDR for
 * offloads) in the current network namespace, with errors saying what to do. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "offload.h"
#include "tap.h"

#define TUN_PATH "/dev/net/tun"

/* tun_open_error() - explain why /dev/net/tun could not be opened */
static void tun_open_error(int e, GError **err)
{
	const char *hint = "";

	if (e == ENOENT)
		hint = ": load the tun module with \"modprobe tun\", or create "
		       "the node with \"mknod /dev/net/tun c 10 200\"";
	else if (e == EACCES || e == EPERM)
		hint = ": make it usable by unprivileged users with \"chmod "
		       "0666 /dev/net/tun\", as desktop distributions ship it";
	/* slirp4netns's words first: open("/dev/net/tun"): strerror */
	g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e),
		    "open(\"%s\"): %s (cannot open %s%s)", TUN_PATH,
		    g_strerror(e), TUN_PATH, hint);
}

/* sn_tap_open() - create/attach tap device @name in the current namespace */
int sn_tap_open(const char *name, bool offload, bool tso6, GError **err)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd, e;

	fd = open(TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		tun_open_error(errno, err);
		return -1;
	}
	if (offload)
		ifr.ifr_flags |= IFF_VNET_HDR;
	g_strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		close(fd);
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e),
			    "ioctl(TUNSETIFF): %s (cannot create tap device "
			    "%s%s)",
			    g_strerror(e), name,
			    e == EPERM	 ? ": CAP_NET_ADMIN is needed in the "
					   "namespace's user namespace"
			    : e == EBUSY ? ": a device of that name exists "
					   "and is in use"
					 : "");
		errno = e;
		return -1;
	}
	if (offload && !sn_offload_enable(fd, tso6, err)) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}
