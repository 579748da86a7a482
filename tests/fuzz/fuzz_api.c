/* fuzz_api.c - libFuzzer target for the control socket's requests: arbitrary
 * bytes into sn_api_handle_request(), on a real libslirp and forward table. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api.h"
#include "slirpstub.h"

/*
 * Forwards go to libslirp's hostfwd (no fast forwarders), which binds real
 * sockets. The target first moves into a network namespace of its own, where
 * those binds touch nothing of the host's; each input then meets the same
 * table: two forwards (table_reset()), ids 1 and 2, next id 3. If no
 * namespace can be had, the table stays empty and full (next_id at INT_MAX),
 * so that every add_hostfwd is parsed and checked, then refused before any
 * bind.
 */
static Slirp *slirp;
static struct sn_fwd_table fwds;
static struct sn_config cfg;
static struct sn_api_ctx api_ctx;
static bool isolated;

/* ip() - dotted IPv4 @s, which is known to be valid */
static struct in_addr ip(const char *s)
{
	struct in_addr a = { 0 };

	inet_pton(AF_INET, s, &a);
	return a;
}

/*
 * log_writer() - drop the daemon's messages (a warning per refused forward
 * would slow the fuzzer down), but crash on a critical or an error: they
 * mean glib caught a misuse
 */
static GLogWriterOutput log_writer(GLogLevelFlags level, const GLogField *f,
				   gsize n, gpointer data)
{
	(void)data;
	if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)) {
		g_log_writer_standard_streams(level, f, n, NULL);
		abort();
	}
	return G_LOG_WRITER_HANDLED;
}

/* lo_up() - bring up lo of the current network namespace */
static bool lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	ok = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
	ifr.ifr_flags |= IFF_UP;
	ok = ok && ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
	close(fd);
	return ok;
}

/* isolate() - a network namespace of our own (as root, or in a new user
 * namespace), with lo up; false if neither can be had */
static bool isolate(void)
{
	if (unshare(CLONE_NEWNET) < 0 &&
	    unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) {
		fprintf(stderr,
			"fuzz_api: no network namespace (%s): add_hostfwd "
			"requests are refused before binding\n",
			strerror(errno));
		return false;
	}
	if (!lo_up()) {
		fprintf(stderr, "fuzz_api: cannot bring lo up: %s\n",
			strerror(errno));
		return false;
	}
	return true;
}

/* The forwards every input finds in the table (ids 1 and 2) when isolated. */
#define BASE_FWDS 2

/* table_reset() - the table as every input finds it */
static void table_reset(void)
{
	struct sn_fwd_spec tcp = {
		.proto = SN_FWD_TCP,
		.host_family = AF_INET,
		.host_addr = ip("127.0.0.1"),
		.host_port = 8080,
		.guest_addr = api_ctx.default_guest,
		.guest_port = 80,
	};
	struct sn_fwd_spec udp = {
		.proto = SN_FWD_UDP,
		.host_family = AF_INET,
		.host_addr = ip("0.0.0.0"),
		.host_port = 5353,
		.guest_addr = api_ctx.default_guest,
		.guest_port = 53,
	};
	int id;

	sn_fwd_table_clear(&fwds);
	sn_fwd_table_init(&fwds, slirp, NULL);
	if (!isolated) {
		fwds.next_id = INT_MAX;
		return;
	}
	/* the namespace is ours: nothing else can hold these ports */
	if (!sn_fwd_add(&fwds, &tcp, &id, NULL) ||
	    !sn_fwd_add(&fwds, &udp, &id, NULL))
		abort();
}

/* table_changed() - did the last input add or remove a forward? */
static bool table_changed(void)
{
	if (!isolated)
		return fwds.fwds->len || fwds.next_id != INT_MAX;
	return fwds.fwds->len != BASE_FWDS || fwds.next_id != BASE_FWDS + 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *args[] = { "slirpnetd",
			 "--netns-path=/run/user/1000/netns/fuzz",
			 "-c",
			 "-6",
			 "--cidr=10.0.2.0/24",
			 NULL };
	(void)argc;
	(void)argv;
	g_log_set_writer_func(log_writer, NULL, NULL);
	isolated = isolate();
	if (!sn_cli_parse(G_N_ELEMENTS(args) - 1, args, &cfg, NULL))
		abort();
	slirp = sn_test_slirp_new();
	if (!slirp)
		abort();
	api_ctx = (struct sn_api_ctx){ .fwds = &fwds,
				       .default_guest = ip("10.0.2.100"),
				       .cfg = &cfg,
				       .start_us = g_get_monotonic_time() };
	sn_fwd_table_init(&fwds, slirp, NULL);
	table_reset();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* @data is exactly @size bytes: ASan sees any read past them */
	char *reply = sn_api_handle_request(&api_ctx, (const char *)data, size);

	/* every reply is one JSON object: {"return"..., {"error"..., or
	 * list_hostfwd's {"entries"... */
	if (!reply || reply[0] != '{' || reply[strlen(reply) - 1] != '}')
		abort();
	g_free(reply);
	if (table_changed())
		table_reset();
	return 0;
}
