/* test_cli.c - unit tests for src/cli.c: every flag with its default and
 * effect, and every bad value with its message. */
#include <arpa/inet.h>
#include <check.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ckrun.h"

/* parse() - parse a NULL-terminated argument list after "slirpnetd" */
static bool parse(struct sn_config *cfg, GError **err, ...)
{
	GPtrArray *argv = g_ptr_array_new();
	const char *a;
	va_list ap;
	bool ok;

	g_ptr_array_add(argv, "slirpnetd");
	va_start(ap, err);
	while ((a = va_arg(ap, const char *)))
		g_ptr_array_add(argv, (gpointer)a);
	va_end(ap);
	g_ptr_array_add(argv, NULL);
	ok = sn_cli_parse((int)argv->len - 1, (char **)argv->pdata, cfg, err);
	g_ptr_array_free(argv, TRUE);
	return ok;
}

/* expect_error() - parsing fails and the message contains @needle */
#define expect_error(needle, ...)                                              \
	do {                                                                   \
		struct sn_config c_;                                           \
		GError *e_ = NULL;                                             \
		ck_assert_msg(!parse(&c_, &e_, __VA_ARGS__, NULL),             \
			      "accepted: %s", #__VA_ARGS__);                   \
		ck_assert_ptr_nonnull(e_);                                     \
		ck_assert_msg(strstr(e_->message, needle), "\"%s\" lacks %s",  \
			      e_->message, needle);                            \
		g_error_free(e_);                                              \
		sn_config_clear(&c_);                                          \
	} while (0)

START_TEST(defaults)
{
	struct sn_config c;
	char b[INET_ADDRSTRLEN];

	ck_assert(parse(&c, NULL, "1234", NULL));
	ck_assert_int_eq(c.netns_type, SN_NETNS_PID);
	ck_assert_int_eq(c.target_pid, 1234);
	ck_assert_str_eq(c.netns_path, "/proc/1234/ns/net");
	ck_assert_str_eq(c.tapname, "tap0");
	ck_assert(!c.configure);
	ck_assert_uint_eq(c.mtu, 1500);
	ck_assert_int_eq(c.ready_fd, -1);
	ck_assert_int_eq(c.exit_fd, -1);
	ck_assert(!c.enable_ipv6 && !c.disable_host_loopback && !c.disable_dns);
	ck_assert_ptr_null(c.api_socket);
	ck_assert_ptr_null(c.state_file);
	ck_assert_ptr_null(c.userns_path);
	ck_assert_ptr_null(c.outbound_addr);
	ck_assert(!c.has_mac);
	ck_assert(!c.keep_source_ip);
	ck_assert(!c.disable_offload);
	ck_assert_uint_eq(c.busy_poll_us, 0);
	ck_assert_uint_eq(c.udp_timeout_s, 60);
	ck_assert_str_eq(inet_ntop(AF_INET, &c.addrs.guest, b, sizeof(b)),
			 "10.0.2.100");
	sn_config_clear(&c);
}
END_TEST

START_TEST(podman_command_line)
{
	struct sn_config c;

	/* As podman 4.x starts slirp4netns. */
	ck_assert(parse(&c, NULL, "--disable-host-loopback", "--mtu=65520",
			"--enable-sandbox", "--enable-seccomp", "--enable-ipv6",
			"-c", "-e", "3", "-r", "4", "--api-socket",
			"/run/x/api.sock", "--netns-type=path",
			"/run/user/1000/netns/cni-1", "tap0", NULL));
	ck_assert(c.disable_host_loopback && c.enable_ipv6 && c.configure);
	ck_assert(c.enable_sandbox && c.enable_seccomp);
	ck_assert_uint_eq(c.mtu, 65520);
	ck_assert_int_eq(c.exit_fd, 3);
	ck_assert_int_eq(c.ready_fd, 4);
	ck_assert_str_eq(c.api_socket, "/run/x/api.sock");
	ck_assert_int_eq(c.netns_type, SN_NETNS_PATH);
	ck_assert_str_eq(c.netns_path, "/run/user/1000/netns/cni-1");
	ck_assert_str_eq(c.tapname, "tap0");
	sn_config_clear(&c);
}
END_TEST

START_TEST(rootlesskit_command_line)
{
	struct sn_config c;

	ck_assert(parse(&c, NULL, "--mtu", "65520", "-r", "3",
			"--disable-host-loopback", "--netns-type=pid",
			"--userns-path=/proc/42/ns/user", "42", "tap0", NULL));
	ck_assert(!c.configure);
	ck_assert_str_eq(c.userns_path, "/proc/42/ns/user");
	ck_assert_int_eq(c.target_pid, 42);
	sn_config_clear(&c);
}
END_TEST

START_TEST(every_flag)
{
	struct sn_config c;
	char b[INET_ADDRSTRLEN];

	ck_assert(parse(&c, NULL, "--configure", "--exit-fd=7", "--ready-fd=8",
			"-m", "9000", "-6", "-a", "/tmp/s.sock",
			"--cidr=10.9.0.0/16", "--disable-dns",
			"--outbound-addr=127.0.0.1", "--outbound-addr6=::1",
			"--macaddress=02:00:00:00:00:07", "--target-type=netns",
			"--debug", "--keep-source-ip", "--busy-poll=150",
			"--udp-timeout=5", "--state-file=/var/lib/s.json",
			"--disable-offload", "99", "eth7", NULL));
	ck_assert_str_eq(c.state_file, "/var/lib/s.json");
	ck_assert(c.configure && c.enable_ipv6 && c.disable_dns && c.debug);
	ck_assert(c.keep_source_ip && c.disable_offload);
	ck_assert_uint_eq(c.busy_poll_us, 150);
	ck_assert_uint_eq(c.udp_timeout_s, 5);
	ck_assert_int_eq(c.exit_fd, 7);
	ck_assert_int_eq(c.ready_fd, 8);
	ck_assert_uint_eq(c.mtu, 9000);
	ck_assert_str_eq(inet_ntop(AF_INET, &c.addrs.gateway, b, sizeof(b)),
			 "10.9.0.2");
	ck_assert_str_eq(c.outbound_addr, "127.0.0.1");
	ck_assert_str_eq(c.outbound_addr6, "::1");
	ck_assert(c.has_mac);
	ck_assert_uint_eq(c.mac[5], 7);
	ck_assert_str_eq(c.tapname, "eth7");
	sn_config_clear(&c);
}
END_TEST

START_TEST(netns_path_spelling)
{
	struct sn_config c;

	ck_assert(parse(&c, NULL, "--netns-path=/run/netns/a", NULL));
	ck_assert_int_eq(c.netns_type, SN_NETNS_PATH);
	ck_assert_str_eq(c.netns_path, "/run/netns/a");
	ck_assert_str_eq(c.tapname, "tap0");
	sn_config_clear(&c);
	ck_assert(
	    parse(&c, NULL, "--netns-path", "/run/netns/a", "tap1", NULL));
	ck_assert_str_eq(c.tapname, "tap1");
	sn_config_clear(&c);
}
END_TEST

START_TEST(help_and_version)
{
	struct sn_config c;
	static const char *const flags[] = {
		"--configure",
		"--exit-fd",
		"--ready-fd",
		"--mtu",
		"--enable-ipv6",
		"--api-socket",
		"--cidr",
		"--disable-host-loopback",
		"--netns-type",
		"--userns-path",
		"--netns-path",
		"--outbound-addr",
		"--outbound-addr6",
		"--disable-dns",
		"--macaddress",
		"--target-type",
		"--help",
		"--version",
		"--debug",
		"--state-file",
		"--disable-offload",
	};
	char *help = sn_cli_help();
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(flags); i++)
		ck_assert_msg(strstr(help, flags[i]), "help lacks %s",
			      flags[i]);
	/* podman passes these exactly when --help lists them. */
	ck_assert_ptr_nonnull(strstr(help, "--enable-sandbox"));
	ck_assert_ptr_nonnull(strstr(help, "--enable-seccomp"));
	g_free(help);
	ck_assert(parse(&c, NULL, "-h", NULL));
	ck_assert(c.show_help);
	sn_config_clear(&c);
	ck_assert(parse(&c, NULL, "--version", NULL));
	ck_assert(c.show_version);
	sn_config_clear(&c);
	ck_assert(parse(&c, NULL, "-v", NULL));
	ck_assert(c.show_version);
	sn_config_clear(&c);
}
END_TEST

/* expect_s4nn() - parsing fails and the message starts with @words, what
 * slirp4netns 1.2 prints for the same input (scripts match it), and then
 * contains @needle, ours */
#define expect_s4nn(words, needle, ...)                                        \
	do {                                                                   \
		struct sn_config c_;                                           \
		GError *e_ = NULL;                                             \
		ck_assert_msg(!parse(&c_, &e_, __VA_ARGS__, NULL),             \
			      "accepted: %s", #__VA_ARGS__);                   \
		ck_assert_ptr_nonnull(e_);                                     \
		ck_assert_msg(g_str_has_prefix(e_->message, words),            \
			      "\"%s\" does not start with \"%s\"",             \
			      e_->message, words);                             \
		ck_assert_msg(strstr(e_->message, needle), "\"%s\" lacks %s",  \
			      e_->message, needle);                            \
		g_error_free(e_);                                              \
		sn_config_clear(&c_);                                          \
	} while (0)

#define S4NN_MTU "MTU must be a positive integer (< 65522) ("
#define S4NN_PID "PID must be a positive integer ("

START_TEST(bad_values)
{
	expect_s4nn(S4NN_MTU, "--mtu=0", "--mtu=0", "1");
	expect_s4nn(S4NN_MTU, "65521", "--mtu=65522", "1");
	expect_s4nn(S4NN_MTU, "--mtu=70000", "--mtu=70000", "1");
	expect_s4nn(S4NN_MTU, "--mtu=abc", "--mtu=abc", "1");
	expect_s4nn(S4NN_MTU, "--mtu=-5", "--mtu=-5", "1");
	expect_s4nn(S4NN_MTU, "--mtu=1500x", "--mtu=1500x", "1");
	expect_s4nn(S4NN_MTU, "takes 68 to", "--mtu=67", "1");
	expect_error("too small for IPv6", "--mtu=1000", "-6", "1");
	expect_s4nn("exit-fd must be a non-negative integer (",
		    "file descriptor", "-e", "abc", "1");
	expect_s4nn("exit-fd must be a non-negative integer (", "--exit-fd=-1",
		    "--exit-fd=-1", "1");
	expect_s4nn("ready-fd must be a non-negative integer (",
		    "file descriptor", "-r", "", "1");
	expect_s4nn("ready-fd must be a non-negative integer (",
		    "--ready-fd=99999999999", "--ready-fd=99999999999", "1");
	expect_error("must be different", "-r", "3", "-e", "3", "1");
	expect_s4nn("prefix length needs to be 1-25 (", "--cidr=10.0.2.0/33",
		    "--cidr=10.0.2.0/33", "1");
	expect_s4nn("invalid CIDR: foo (", "10.0.2.0/24", "--cidr=foo", "1");
	expect_s4nn("prefix length needs to be 1-25 (", ".100",
		    "--cidr=10.0.2.0/28", "1");
	expect_s4nn("invalid network address: 10.0.300.0 (",
		    "--cidr=10.0.300.0/24", "--cidr=10.0.300.0/24", "1");
	expect_s4nn("CIDR needs to be a network address like 10.0.2.0/24, not "
		    "like 10.0.2.100/24 (",
		    "--cidr=10.0.2.100/24", "--cidr=10.0.2.100/24", "1");
	expect_error("\"pid\" or \"path\"", "--netns-type=foo", "1");
	expect_error("bess is not supported", "--target-type=bess", "1");
	expect_s4nn("--target-type must be either \"netns\" or \"bess\" (",
		    "--target-type=vm", "--target-type=vm", "1");
	expect_s4nn("\"zz\" is an invalid MAC address. (", "unicast MAC", "-c",
		    "--macaddress=zz", "1");
	expect_s4nn("\"ff:ff:ff:ff:ff:ff\" is an invalid MAC address. (",
		    "unicast MAC", "-c", "--macaddress=ff:ff:ff:ff:ff:ff", "1");
	expect_s4nn("--macaddr cannot be specified when --configure or -c is "
		    "not specified (",
		    "needs -c", "--macaddress=02:00:00:00:00:01", "1");
	expect_s4nn("userns path doesn't exist: /nonexistent/userns (",
		    "--userns-path", "--userns-path=/nonexistent/userns", "1");
	expect_error("expected microseconds", "--busy-poll=-1", "1");
	expect_error("expected microseconds", "--busy-poll=10001", "1");
	expect_error("expected microseconds", "--busy-poll=fast", "1");
	expect_error("expected seconds", "--udp-timeout=0", "1");
	expect_error("expected seconds", "--udp-timeout=86401", "1");
	expect_error("--bogus", "--bogus", "1");
	expect_s4nn(S4NN_PID, "\"abc\" is not a PID", "abc");
	expect_s4nn(S4NN_PID, "\"0\" is not a PID", "0");
	expect_s4nn(S4NN_PID, "is not a PID", "--", "-5");
	expect_error("got 0 arguments", "-c");
	expect_s4nn("too many arguments: ", "got 3", "1", "tap0", "extra");
	expect_s4nn("too many arguments: ", "got 2", "--netns-path=/x", "a",
		    "b");
	expect_error("not a valid interface name", "1",
		     "a-name-much-too-long-for-linux");
	expect_error("not a valid interface name", "1", "ta/p");
	expect_error("not a valid interface name", "1", "");
	expect_error(
	    "a Unix socket path holds at most", "-a",
	    "/tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    ".sock",
	    "1");
	expect_error("the path is empty", "-a", "", "1");
	expect_error("--state-file: the path is empty", "--state-file=", "1");
}
END_TEST

START_TEST(repeated_flags_last_wins)
{
	struct sn_config c;

	ck_assert(parse(&c, NULL, "--mtu=1400", "--mtu=9000", "-a", "/a", "-a",
			"/b", "1", NULL));
	ck_assert_uint_eq(c.mtu, 9000);
	ck_assert_str_eq(c.api_socket, "/b");
	sn_config_clear(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("cli");

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, podman_command_line);
	tcase_add_test(tc, rootlesskit_command_line);
	tcase_add_test(tc, every_flag);
	tcase_add_test(tc, netns_path_spelling);
	tcase_add_test(tc, help_and_version);
	tcase_add_test(tc, bad_values);
	tcase_add_test(tc, repeated_flags_last_wins);
	suite_add_tcase(s, tc);
	return sn_ck_run(s, CK_NORMAL);
}
