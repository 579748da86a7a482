/* slirpstub.c - a libslirp instance for tests and fuzzers that drive its
 * forwards and API without a guest: every callback is a no-op. */
#include <arpa/inet.h>
#include <glib.h>

#include "slirpstub.h"

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	(void)buf;
	(void)opaque;
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	(void)msg;
	(void)opaque;
}

static int64_t cb_clock_get_ns(void *opaque)
{
	(void)opaque;
	return g_get_monotonic_time() * 1000;
}

/* cb_timer_new() - a timer that never fires */
static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	(void)cb;
	(void)cb_opaque;
	(void)opaque;
	return g_new0(char, 1);
}

static void cb_timer_free(void *timer, void *opaque)
{
	(void)opaque;
	g_free(timer);
}

static void cb_timer_mod(void *timer, int64_t expire_time, void *opaque)
{
	(void)timer;
	(void)expire_time;
	(void)opaque;
}

static void cb_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

static void cb_notify(void *opaque)
{
	(void)opaque;
}

static const SlirpCb stub_cb = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_fd,
	.unregister_poll_fd = cb_fd,
	.notify = cb_notify,
};

/* addr() - dotted IPv4 @s, which is valid */
static struct in_addr addr(const char *s)
{
	struct in_addr a = { 0 };

	inet_pton(AF_INET, s, &a);
	return a;
}

Slirp *sn_test_slirp_new(void)
{
	SlirpConfig cfg = {
		.version = 4,
		.in_enabled = true,
		.vnetwork = addr("10.0.2.0"),
		.vnetmask = addr("255.255.255.0"),
		.vhost = addr("10.0.2.2"),
		.vnameserver = addr("10.0.2.3"),
		.vdhcp_start = addr("10.0.2.15"),
		.if_mtu = 1500,
	};

	return slirp_new(&cfg, &stub_cb, NULL);
}
