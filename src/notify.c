/* notify.c - READY=1, STATUS= and STOPPING=1 for systemd's Type=notify,
 * through libsystemd's sd_notify(); without libsystemd, nothing is sent. */
#include <glib.h>

#include "notify.h"

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>

/* notify() - send @state; a failure is worth a debug line only, as
 * NOTIFY_SOCKET is unset outside a Type=notify service */
static void notify(const char *state)
{
	int rc = sd_notify(0, state);

	if (rc < 0)
		g_debug("sd_notify: %s", g_strerror(-rc));
}
#else
static void notify(const char *state)
{
	if (g_getenv("NOTIFY_SOCKET"))
		g_debug("built without libsystemd: not sending %s", state);
}
#endif

void sn_notify_ready(unsigned int forwards)
{
	g_autofree char *s = g_strdup_printf(
		"READY=1\nSTATUS=ready, %u forward%s\n", forwards,
		forwards == 1 ? "" : "s");

	notify(s);
}

void sn_notify_status(unsigned int forwards)
{
	g_autofree char *s = g_strdup_printf("STATUS=ready, %u forward%s\n",
					     forwards, forwards == 1 ? "" : "s");

	notify(s);
}

void sn_notify_stopping(void)
{
	notify("STOPPING=1\nSTATUS=stopping\n");
}
