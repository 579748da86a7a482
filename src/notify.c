/* notify.c - READY=1, STATUS= and STOPPING=1 for systemd's Type=notify,
 * through libsystemd's sd_notify(); without libsystemd, nothing is sent. */
#include <errno.h>
#include <glib.h>

#include "notify.h"

#ifdef HAVE_LIBSYSTEMD
#include <dlfcn.h>
#include <systemd/sd-daemon.h>

/*
 * libsystemd is loaded only when a service manager listens (NOTIFY_SOCKET
 * set): linked in, it and what it needs (libgcrypt, liblzma, libzstd, ...)
 * would cost every daemon some 900 KiB of memory for a handful of messages.
 * RTLD_NODELETE keeps it loaded after the first message.
 */
typedef int (*sd_notify_fn)(int unset_environment, const char *state);

/* load() - libsystemd, loaded once and kept (RTLD_NODELETE) */
static void *load(void)
{
	void *lib =
	    dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);

	if (!lib)
		g_debug("cannot load libsystemd: %s", dlerror());
	return lib;
}

void sn_notify_preload(void)
{
	void *lib;

	if (g_getenv("NOTIFY_SOCKET") && (lib = load()))
		dlclose(lib);
}

/* notify() - send @state; failures are worth a debug line only */
static void notify(const char *state)
{
	void *lib;
	sd_notify_fn fn;
	int rc;

	if (!g_getenv("NOTIFY_SOCKET"))
		return;
	lib = load();
	if (!lib)
		return;
	fn = (sd_notify_fn)dlsym(lib, "sd_notify");
	rc = fn ? fn(0, state) : -ENOSYS;
	if (rc < 0)
		g_debug("sd_notify: %s", g_strerror(-rc));
	dlclose(lib);
}
#else
void sn_notify_preload(void)
{
}

static void notify(const char *state)
{
	if (g_getenv("NOTIFY_SOCKET"))
		g_debug("built without libsystemd: not sending %s", state);
}
#endif

void sn_notify_ready(unsigned int forwards)
{
	g_autofree char *s =
	    g_strdup_printf("READY=1\nSTATUS=ready, %u forward%s\n", forwards,
			    forwards == 1 ? "" : "s");

	notify(s);
}

void sn_notify_status(unsigned int forwards)
{
	g_autofree char *s = g_strdup_printf(
	    "STATUS=ready, %u forward%s\n", forwards, forwards == 1 ? "" : "s");

	notify(s);
}

void sn_notify_stopping(void)
{
	notify("STOPPING=1\nSTATUS=stopping\n");
}
