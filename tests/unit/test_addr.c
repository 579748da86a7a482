/* test_addr.c - unit tests for src/addr.c: the address plan derived from
 * --cidr, MAC parsing and --outbound-addr resolution. */
#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>

#include "addr.h"
#include "ckrun.h"

/* ip() - dotted quad of @a, in a static buffer per call site argument */
static const char *ip(struct in_addr a, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

START_TEST(default_cidr)
{
	struct sn_addrs a;
	char b[INET_ADDRSTRLEN];

	ck_assert(sn_addrs_from_cidr("10.0.2.0/24", &a, NULL));
	ck_assert_str_eq(ip(a.network, b), "10.0.2.0");
	ck_assert_str_eq(ip(a.netmask, b), "255.255.255.0");
	ck_assert_uint_eq(a.prefix, 24);
	ck_assert_str_eq(ip(a.gateway, b), "10.0.2.2");
	ck_assert_str_eq(ip(a.dns, b), "10.0.2.3");
	ck_assert_str_eq(ip(a.guest, b), "10.0.2.100");
	/* slirp4netns's plan: leases from .15, -c and forwards at .100 */
	ck_assert_str_eq(ip(a.dhcp_start, b), "10.0.2.15");
}
END_TEST

START_TEST(other_cidrs)
{
	struct sn_addrs a;
	char b[INET_ADDRSTRLEN];

	ck_assert(sn_addrs_from_cidr("192.168.77.0/25", &a, NULL));
	ck_assert_str_eq(ip(a.guest, b), "192.168.77.100");
	ck_assert_str_eq(ip(a.netmask, b), "255.255.255.128");
	ck_assert_str_eq(ip(a.dhcp_start, b), "192.168.77.15");
	ck_assert(sn_addrs_from_cidr("10.8.0.0/16", &a, NULL));
	ck_assert_str_eq(ip(a.network, b), "10.8.0.0");
	ck_assert_str_eq(ip(a.gateway, b), "10.8.0.2");
	ck_assert_str_eq(ip(a.guest, b), "10.8.0.100");
	ck_assert_str_eq(ip(a.dhcp_start, b), "10.8.0.15");
	ck_assert(sn_addrs_from_cidr("10.0.0.0/8", &a, NULL));
	ck_assert_str_eq(ip(a.dns, b), "10.0.0.3");
}
END_TEST

START_TEST(ipv6_plan)
{
	struct sn_addrs a;
	char b[INET6_ADDRSTRLEN];

	ck_assert(sn_addrs_from_cidr("10.0.2.0/24", &a, NULL));
	ck_assert_str_eq(inet_ntop(AF_INET6, &a.prefix6, b, sizeof(b)),
			 "fd00::");
	ck_assert_uint_eq(a.prefix6_len, 64);
	ck_assert_str_eq(inet_ntop(AF_INET6, &a.gateway6, b, sizeof(b)),
			 "fd00::2");
	ck_assert_str_eq(inet_ntop(AF_INET6, &a.dns6, b, sizeof(b)), "fd00::3");
}
END_TEST

/* Each refusal starts with slirp4netns's words for the same input (as
 * slirp4netns 1.2 prints them), then names the --cidr it refuses. */
START_TEST(bad_cidrs)
{
	static const struct {
		const char *cidr, *s4nn;
	} bad[] = {
		{ "", "invalid CIDR: " },
		{ "10.0.2.0", "invalid CIDR: 10.0.2.0 " },
		{ "10.0.2.0/", "invalid CIDR: 10.0.2.0/ " },
		{ "10.0.2.0/123", "invalid CIDR: 10.0.2.0/123 " },
		{ "10.0.2/24", "invalid CIDR: 10.0.2/24 " },
		{ "foo/24", "invalid CIDR: foo/24 " },
		{ "bogus", "invalid CIDR: bogus " },
		{ "10.0.2.0/a", "invalid CIDR: 10.0.2.0/a " },
		{ "10.0.2.0/24/1", "invalid CIDR: 10.0.2.0/24/1 " },
		{ "10.0.2.0/-1", "invalid CIDR: 10.0.2.0/-1 " },
		{ "::1/64", "invalid CIDR: ::1/64 " },
		{ "10.0.2.0/ 24", "invalid CIDR: 10.0.2.0/ 24 " },
		{ "300.0.2.0/24", "invalid network address: 300.0.2.0 " },
		{ "10.0.2.0/33", "prefix length needs to be 1-25 " },
		{ "10.0.2.0/26", "prefix length needs to be 1-25 " },
		{ "10.0.2.0/0", "prefix length needs to be 1-25 " },
		{ "10.0.2.1/24", "CIDR needs to be a network address like "
				 "10.0.2.0/24, not like 10.0.2.100/24 " },
		{ "10.8.5.77/16", "CIDR needs to be a network address like " },
	};
	struct sn_addrs a;
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(bad); i++) {
		GError *err = NULL;

		ck_assert_msg(!sn_addrs_from_cidr(bad[i].cidr, &a, &err), "%s",
			      bad[i].cidr);
		ck_assert_ptr_nonnull(err);
		ck_assert_msg(g_str_has_prefix(err->message, bad[i].s4nn),
			      "\"%s\" does not start with \"%s\"", err->message,
			      bad[i].s4nn);
		if (*bad[i].cidr)
			ck_assert_msg(strstr(err->message, bad[i].cidr), "%s",
				      err->message);
		g_error_free(err);
	}
}
END_TEST

START_TEST(prefix_limit_message)
{
	struct sn_addrs a;
	GError *err = NULL;

	ck_assert(!sn_addrs_from_cidr("10.0.2.0/26", &a, &err));
	ck_assert_ptr_nonnull(strstr(err->message, "1-25"));
	ck_assert_ptr_nonnull(strstr(err->message, "guest address .100"));
	g_error_free(err);
}
END_TEST

START_TEST(mac_parsing)
{
	uint8_t m[6];

	ck_assert(sn_parse_mac("02:00:00:00:00:01", m));
	ck_assert_uint_eq(m[0], 0x02);
	ck_assert_uint_eq(m[5], 0x01);
	ck_assert(sn_parse_mac("0A:bC:de:F0:12:34", m));
	ck_assert_uint_eq(m[1], 0xbc);
	ck_assert(!sn_parse_mac("01:00:5e:00:00:01", m)); /* multicast */
	ck_assert(!sn_parse_mac("ff:ff:ff:ff:ff:ff", m)); /* broadcast */
	ck_assert(!sn_parse_mac("02:00:00:00:00", m));
	ck_assert(!sn_parse_mac("02:00:00:00:00:01:02", m));
	ck_assert(!sn_parse_mac("02-00-00-00-00-01", m));
	ck_assert(!sn_parse_mac("zz:00:00:00:00:01", m));
	ck_assert(!sn_parse_mac("2:0:0:0:0:1xxxxx", m));
	ck_assert(!sn_parse_mac("", m));
}
END_TEST

START_TEST(outbound_literal_and_interface)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	char b[INET6_ADDRSTRLEN];
	GError *err = NULL;

	ck_assert(sn_outbound_addr("127.0.0.1", AF_INET, &ss, NULL));
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_str_eq(inet_ntop(AF_INET, &sin->sin_addr, b, sizeof(b)),
			 "127.0.0.1");
	/* lo always has 127.0.0.1 where it is up; in a fresh netns it is
	 * down and has none, so only check the interface path when it does. */
	if (sn_outbound_addr("lo", AF_INET, &ss, NULL))
		ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr) >> 24, 127);
	ck_assert(sn_outbound_addr("::1", AF_INET6, &ss, NULL));
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert(!sn_outbound_addr("1.2.3.4.5", AF_INET, &ss, &err));
	ck_assert_ptr_nonnull(
	    strstr(err->message, "--outbound-addr=1.2.3.4.5"));
	g_clear_error(&err);
	ck_assert(!sn_outbound_addr("10.0.0.1", AF_INET6, &ss, &err));
	ck_assert_ptr_nonnull(strstr(err->message, "--outbound-addr6"));
	g_clear_error(&err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("addr");

	tcase_add_test(tc, default_cidr);
	tcase_add_test(tc, other_cidrs);
	tcase_add_test(tc, ipv6_plan);
	tcase_add_test(tc, bad_cidrs);
	tcase_add_test(tc, prefix_limit_message);
	tcase_add_test(tc, mac_parsing);
	tcase_add_test(tc, outbound_literal_and_interface);
	suite_add_tcase(s, tc);
	return sn_ck_run(s, CK_NORMAL);
}
