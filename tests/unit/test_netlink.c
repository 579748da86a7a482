/* test_netlink.c - unit tests for netlink.c: the request builders, parsed
 * back with libmnl, and sn_netlink_configure() in a fresh network namespace. */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <net/if.h>

#include "netlink.h"
#include "ckrun.h"

#define TAP_NAME  "sntest0"
#define NOIF_NAME "sn-noexist0"

static const uint8_t test_mac[6] = { 0x02, 0x53, 0x4e, 0x00, 0x00, 0x01 };

/* Big enough for a dump's worth of messages (libmnl >= 1.0.5 has this) */
#ifndef MNL_SOCKET_DUMP_SIZE
#define MNL_SOCKET_DUMP_SIZE 32768
#endif

/* Attributes of one message, indexed by type */
struct attrs {
	const struct nlattr *tb[128];
	int max;
};

G_STATIC_ASSERT(IFLA_MAX < 128 && IFA_MAX < 128 && RTA_MAX < 128);

/* Message buffers, aligned for struct nlmsghdr */
static alignas(NLMSG_ALIGNTO) char buf[MNL_SOCKET_DUMP_SIZE];
static alignas(NLMSG_ALIGNTO) char rbuf[MNL_SOCKET_DUMP_SIZE];

/**
 * attr_cb() - store each attribute up to @a->max in @a->tb
 */
static int attr_cb(const struct nlattr *attr, void *data)
{
	struct attrs *a = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, a->max) < 0)
		return MNL_CB_OK;
	ck_assert_ptr_null(a->tb[type]);
	a->tb[type] = attr;
	return MNL_CB_OK;
}

/**
 * parse() - check the message is well formed and collect its attributes
 */
static void parse(const struct nlmsghdr *nlh, size_t hdrlen, int max,
		  struct attrs *a)
{
	memset(a, 0, sizeof(*a));
	a->max = max;
	ck_assert_uint_le(nlh->nlmsg_len, MNL_SOCKET_DUMP_SIZE);
	ck_assert(mnl_nlmsg_ok(nlh, nlh->nlmsg_len));
	ck_assert_uint_ge(mnl_nlmsg_get_payload_len(nlh), hdrlen);
	ck_assert_int_eq(mnl_attr_parse(nlh, hdrlen, attr_cb, a), MNL_CB_OK);
}

/**
 * assert_in_addr() - the attribute is an IPv4 address equal to @want
 */
static void assert_in_addr(const struct nlattr *attr, const char *want)
{
	struct in_addr a, w;

	ck_assert_ptr_nonnull(attr);
	ck_assert_uint_eq(mnl_attr_get_payload_len(attr), sizeof(a));
	memcpy(&a, mnl_attr_get_payload(attr), sizeof(a));
	ck_assert_int_eq(inet_pton(AF_INET, want, &w), 1);
	ck_assert_msg(a.s_addr == w.s_addr, "got %s, want %s", inet_ntoa(a),
		      want);
}

/**
 * ip() - parse a dotted quad
 */
static struct in_addr ip(const char *s)
{
	struct in_addr a;

	ck_assert_int_eq(inet_pton(AF_INET, s, &a), 1);
	return a;
}

/* link_set_all() - RTM_NEWLINK with MTU, MAC and IFF_UP */
START_TEST(link_set_all)
{
	struct nlmsghdr *nlh = sn_nl_link_set(buf, 42, 7, 9000, test_mac, true);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct attrs a;

	ck_assert_ptr_eq(nlh, (void *)buf);
	ck_assert_uint_eq(nlh->nlmsg_type, RTM_NEWLINK);
	ck_assert_uint_eq(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	ck_assert_uint_eq(nlh->nlmsg_seq, 42);
	parse(nlh, sizeof(*ifi), IFLA_MAX, &a);

	ck_assert_uint_eq(ifi->ifi_family, AF_UNSPEC);
	ck_assert_int_eq(ifi->ifi_index, 7);
	ck_assert_uint_eq(ifi->ifi_change, IFF_UP);
	ck_assert_uint_eq(ifi->ifi_flags, IFF_UP);

	ck_assert_ptr_nonnull(a.tb[IFLA_MTU]);
	ck_assert_int_ge(mnl_attr_validate(a.tb[IFLA_MTU], MNL_TYPE_U32), 0);
	ck_assert_uint_eq(mnl_attr_get_u32(a.tb[IFLA_MTU]), 9000);

	ck_assert_ptr_nonnull(a.tb[IFLA_ADDRESS]);
	ck_assert_uint_eq(mnl_attr_get_payload_len(a.tb[IFLA_ADDRESS]), 6);
	ck_assert_mem_eq(mnl_attr_get_payload(a.tb[IFLA_ADDRESS]), test_mac, 6);
}
END_TEST

/* link_set_up_only() - RTM_NEWLINK bringing the link up, nothing else */
START_TEST(link_set_up_only)
{
	struct nlmsghdr *nlh = sn_nl_link_set(buf, 1, 3, 0, NULL, true);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct attrs a;

	ck_assert_uint_eq(nlh->nlmsg_type, RTM_NEWLINK);
	ck_assert_uint_eq(nlh->nlmsg_seq, 1);
	parse(nlh, sizeof(*ifi), IFLA_MAX, &a);

	ck_assert_int_eq(ifi->ifi_index, 3);
	ck_assert_uint_eq(ifi->ifi_change, IFF_UP);
	ck_assert_uint_eq(ifi->ifi_flags, IFF_UP);
	ck_assert_ptr_null(a.tb[IFLA_MTU]);
	ck_assert_ptr_null(a.tb[IFLA_ADDRESS]);
	ck_assert_uint_eq(nlh->nlmsg_len,
			  mnl_nlmsg_size(MNL_ALIGN(sizeof(*ifi))));
}
END_TEST

/* link_set_params_down() - MTU or MAC alone, flags untouched */
START_TEST(link_set_params_down)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct attrs a;

	/* Stale content must not leak into the message */
	memset(buf, 0xa5, sizeof(buf));
	nlh = sn_nl_link_set(buf, 0xdeadbeef, 12, 1500, NULL, false);
	ifi = mnl_nlmsg_get_payload(nlh);

	ck_assert_uint_eq(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	ck_assert_uint_eq(nlh->nlmsg_seq, 0xdeadbeef);
	ck_assert_uint_eq(nlh->nlmsg_pid, 0);
	parse(nlh, sizeof(*ifi), IFLA_MAX, &a);

	ck_assert_uint_eq(ifi->ifi_family, AF_UNSPEC);
	ck_assert_int_eq(ifi->ifi_index, 12);
	ck_assert_uint_eq(ifi->ifi_change, 0);
	ck_assert_uint_eq(ifi->ifi_flags, 0);
	ck_assert_ptr_nonnull(a.tb[IFLA_MTU]);
	ck_assert_uint_eq(mnl_attr_get_u32(a.tb[IFLA_MTU]), 1500);
	ck_assert_ptr_null(a.tb[IFLA_ADDRESS]);

	nlh = sn_nl_link_set(buf, 2, 12, 0, test_mac, false);
	parse(nlh, sizeof(*ifi), IFLA_MAX, &a);
	ck_assert_ptr_null(a.tb[IFLA_MTU]);
	ck_assert_ptr_nonnull(a.tb[IFLA_ADDRESS]);
	ck_assert_mem_eq(mnl_attr_get_payload(a.tb[IFLA_ADDRESS]), test_mac, 6);
}
END_TEST

/* addr4_24() - RTM_NEWADDR for 10.0.2.100/24 */
START_TEST(addr4_24)
{
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	struct attrs a;

	memset(buf, 0xa5, sizeof(buf));
	nlh = sn_nl_addr4_add(buf, 77, 5, ip("10.0.2.100"), 24);
	ifa = mnl_nlmsg_get_payload(nlh);

	ck_assert_uint_eq(nlh->nlmsg_type, RTM_NEWADDR);
	ck_assert_uint_eq(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK |
						NLM_F_CREATE | NLM_F_EXCL);
	ck_assert_uint_eq(nlh->nlmsg_seq, 77);
	parse(nlh, sizeof(*ifa), IFA_MAX, &a);

	ck_assert_uint_eq(ifa->ifa_family, AF_INET);
	ck_assert_uint_eq(ifa->ifa_prefixlen, 24);
	ck_assert_uint_eq(ifa->ifa_scope, RT_SCOPE_UNIVERSE);
	ck_assert_uint_eq(ifa->ifa_flags, 0);
	ck_assert_uint_eq(ifa->ifa_index, 5);

	assert_in_addr(a.tb[IFA_LOCAL], "10.0.2.100");
	assert_in_addr(a.tb[IFA_ADDRESS], "10.0.2.100");
	assert_in_addr(a.tb[IFA_BROADCAST], "10.0.2.255");
}
END_TEST

/* addr4_broadcast() - broadcast address per prefix length, none for /31, /32 */
START_TEST(addr4_broadcast)
{
	static const struct {
		const char *addr;
		unsigned int prefix;
		const char *bcast; /* NULL: none */
	} cases[] = {
		{ "10.0.2.100", 8, "10.255.255.255" },
		{ "192.168.7.100", 25, "192.168.7.127" },
		{ "172.16.0.5", 30, "172.16.0.7" },
		{ "10.0.2.100", 31, NULL },
		{ "10.0.2.100", 32, NULL },
		{ "10.0.2.100", 0, "255.255.255.255" },
	};
	struct ifaddrmsg *ifa;
	struct nlmsghdr *nlh;
	struct attrs a;
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		nlh = sn_nl_addr4_add(buf, i, 9, ip(cases[i].addr),
				      cases[i].prefix);
		ifa = mnl_nlmsg_get_payload(nlh);
		parse(nlh, sizeof(*ifa), IFA_MAX, &a);

		ck_assert_uint_eq(ifa->ifa_prefixlen, cases[i].prefix);
		assert_in_addr(a.tb[IFA_LOCAL], cases[i].addr);
		assert_in_addr(a.tb[IFA_ADDRESS], cases[i].addr);
		if (cases[i].bcast)
			assert_in_addr(a.tb[IFA_BROADCAST], cases[i].bcast);
		else
			ck_assert_ptr_null(a.tb[IFA_BROADCAST]);
	}
}
END_TEST

/* route4_default() - RTM_NEWROUTE: default route via the gateway */
START_TEST(route4_default)
{
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	struct attrs a;

	memset(buf, 0xa5, sizeof(buf));
	nlh = sn_nl_route4_default(buf, 1234, 4, ip("10.0.2.2"));
	rtm = mnl_nlmsg_get_payload(nlh);

	ck_assert_uint_eq(nlh->nlmsg_type, RTM_NEWROUTE);
	ck_assert_uint_eq(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK |
						NLM_F_CREATE | NLM_F_REPLACE);
	ck_assert_uint_eq(nlh->nlmsg_seq, 1234);
	parse(nlh, sizeof(*rtm), RTA_MAX, &a);

	ck_assert_uint_eq(rtm->rtm_family, AF_INET);
	ck_assert_uint_eq(rtm->rtm_dst_len, 0);
	ck_assert_uint_eq(rtm->rtm_src_len, 0);
	ck_assert_uint_eq(rtm->rtm_tos, 0);
	ck_assert_uint_eq(rtm->rtm_table, RT_TABLE_MAIN);
	ck_assert_uint_eq(rtm->rtm_protocol, RTPROT_BOOT);
	ck_assert_uint_eq(rtm->rtm_scope, RT_SCOPE_UNIVERSE);
	ck_assert_uint_eq(rtm->rtm_type, RTN_UNICAST);
	ck_assert_uint_eq(rtm->rtm_flags, 0);

	assert_in_addr(a.tb[RTA_GATEWAY], "10.0.2.2");
	ck_assert_ptr_nonnull(a.tb[RTA_OIF]);
	ck_assert_int_ge(mnl_attr_validate(a.tb[RTA_OIF], MNL_TYPE_U32), 0);
	ck_assert_uint_eq(mnl_attr_get_u32(a.tb[RTA_OIF]), 4);
	ck_assert_ptr_null(a.tb[RTA_DST]);
}
END_TEST

/**
 * assert_noif() - configuring a missing interface fails before any change
 */
static void assert_noif(void)
{
	struct sn_ifconf conf = {
		.ifname = NOIF_NAME,
		.mtu = 1500,
		.addr = ip("10.0.2.100"),
		.prefix = 24,
		.gateway = ip("10.0.2.2"),
	};
	GError *err = NULL;

	errno = 0;
	ck_assert(!sn_netlink_configure(&conf, &err));
	ck_assert_int_eq(errno, ENODEV);
	ck_assert_ptr_nonnull(err);
	ck_assert_uint_eq(err->domain,
			  g_quark_from_static_string("sn-netlink-error-quark"));
	ck_assert_int_eq(err->code, ENODEV);
	ck_assert_str_eq(err->message, "no interface named " NOIF_NAME
				       " in this network namespace");
	g_error_free(err);
}

/* configure_noif() - a missing interface is reported as such */
START_TEST(configure_noif)
{
	assert_noif();
}
END_TEST

/* configure_bad_prefix() - a prefix length over 32 is refused up front */
START_TEST(configure_bad_prefix)
{
	struct sn_ifconf conf = {
		.ifname = "lo",
		.addr = ip("10.0.2.100"),
		.prefix = 33,
		.gateway = ip("10.0.2.2"),
	};
	GError *err = NULL;

	ck_assert(!sn_netlink_configure(&conf, &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, EINVAL);
	ck_assert_ptr_nonnull(strstr(err->message, "33"));
	g_error_free(err);
}
END_TEST

/**
 * write_file() - write @s to @path
 */
static bool write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s);
}

/**
 * enter_netns() - move this (forked) test process to a fresh netns
 *
 * Return: true on success, false (after saying why) to skip
 */
static bool enter_netns(void)
{
	const char *fork_mode = getenv("CK_FORK");
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];

	if (fork_mode && !strcmp(fork_mode, "no")) {
		fprintf(stderr,
			"SKIP: CK_FORK=no, not leaving the namespace\n");
		return false;
	}

	if (!uid) {
		if (!unshare(CLONE_NEWNET))
			return true;
		fprintf(stderr, "SKIP: unshare(CLONE_NEWNET): %s\n",
			strerror(errno));
		return false;
	}

	if (unshare(CLONE_NEWUSER | CLONE_NEWNET)) {
		fprintf(stderr,
			"SKIP: unshare(CLONE_NEWUSER|CLONE_NEWNET): %s\n",
			strerror(errno));
		return false;
	}
	write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "0 %u 1", (unsigned int)uid);
	if (!write_file("/proc/self/uid_map", map))
		fprintf(stderr, "cannot write uid_map: %s\n", strerror(errno));
	snprintf(map, sizeof(map), "0 %u 1", (unsigned int)gid);
	if (!write_file("/proc/self/gid_map", map))
		fprintf(stderr, "cannot write gid_map: %s\n", strerror(errno));
	return true;
}

/**
 * tap_create() - create tap device @name (fixture only: uses ioctl)
 *
 * Return: the fd, or -1 after saying why
 */
static int tap_create(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "SKIP: /dev/net/tun: %s\n", strerror(errno));
		return -1;
	}
	g_strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		fprintf(stderr, "SKIP: TUNSETIFF %s: %s\n", name,
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/**
 * netns_tap() - fresh netns with tap TAP_NAME in it
 *
 * Return: the tap fd, or -1 if the test is to be skipped
 */
static int netns_tap(void)
{
	if (!enter_netns())
		return -1;
	return tap_create(TAP_NAME);
}

/**
 * skip() - the namespace is out of reach: check what needs none, at least
 */
static void skip(void)
{
	assert_noif();
}

/* What the dumps found about the configured interfaces */
struct state {
	int lo, tap; /* ifindexes */
	bool lo_up, tap_up;
	uint32_t tap_mtu;
	uint8_t tap_mac[6];
	bool tap_mac_found;
	bool addr_found;
	unsigned int prefix;
	struct in_addr local, bcast;
	bool bcast_found;
	int routes; /* IPv4 default routes, main table */
	struct in_addr gw;
	uint32_t oif;
	uint8_t proto;
};

/**
 * link_cb() - RTM_NEWLINK from the dump: flags, MTU and MAC
 */
static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct state *s = data;
	struct attrs a;

	parse(nlh, sizeof(*ifi), IFLA_MAX, &a);
	if (ifi->ifi_index == s->lo)
		s->lo_up = ifi->ifi_flags & IFF_UP;
	if (ifi->ifi_index != s->tap)
		return MNL_CB_OK;

	s->tap_up = ifi->ifi_flags & IFF_UP;
	if (a.tb[IFLA_MTU])
		s->tap_mtu = mnl_attr_get_u32(a.tb[IFLA_MTU]);
	if (a.tb[IFLA_ADDRESS] &&
	    mnl_attr_get_payload_len(a.tb[IFLA_ADDRESS]) == 6) {
		memcpy(s->tap_mac, mnl_attr_get_payload(a.tb[IFLA_ADDRESS]), 6);
		s->tap_mac_found = true;
	}
	return MNL_CB_OK;
}

/**
 * addr_cb() - RTM_NEWADDR from the dump: the tap's IPv4 address
 */
static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct state *s = data;
	struct attrs a;

	parse(nlh, sizeof(*ifa), IFA_MAX, &a);
	if (ifa->ifa_family != AF_INET || (int)ifa->ifa_index != s->tap)
		return MNL_CB_OK;
	ck_assert(!s->addr_found);
	s->addr_found = true;
	s->prefix = ifa->ifa_prefixlen;
	if (a.tb[IFA_LOCAL])
		memcpy(&s->local, mnl_attr_get_payload(a.tb[IFA_LOCAL]), 4);
	if (a.tb[IFA_BROADCAST]) {
		memcpy(&s->bcast, mnl_attr_get_payload(a.tb[IFA_BROADCAST]), 4);
		s->bcast_found = true;
	}
	return MNL_CB_OK;
}

/**
 * route_cb() - RTM_NEWROUTE from the dump: IPv4 default routes
 */
static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct state *s = data;
	struct attrs a;

	parse(nlh, sizeof(*rtm), RTA_MAX, &a);
	if (rtm->rtm_family != AF_INET || rtm->rtm_dst_len ||
	    rtm->rtm_table != RT_TABLE_MAIN)
		return MNL_CB_OK;
	s->routes++;
	s->proto = rtm->rtm_protocol;
	if (a.tb[RTA_GATEWAY])
		memcpy(&s->gw, mnl_attr_get_payload(a.tb[RTA_GATEWAY]), 4);
	if (a.tb[RTA_OIF])
		s->oif = mnl_attr_get_u32(a.tb[RTA_OIF]);
	return MNL_CB_OK;
}

/**
 * dump() - run an rtnetlink dump of @type, @family through @cb
 * @hdrlen:	size of the family header (all start with the family)
 */
static void dump(uint16_t type, uint8_t family, size_t hdrlen, mnl_cb_t cb,
		 void *data)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtgenmsg *g;
	unsigned int portid;
	ssize_t n;
	int ret;

	ck_assert_ptr_nonnull(nl);
	ck_assert_int_eq(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID), 0);
	portid = mnl_socket_get_portid(nl);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = time(NULL);
	g = mnl_nlmsg_put_extra_header(nlh, hdrlen);
	g->rtgen_family = family;
	ck_assert_int_ge(mnl_socket_sendto(nl, nlh, nlh->nlmsg_len), 0);

	do {
		n = mnl_socket_recvfrom(nl, rbuf, sizeof(rbuf));
		ck_assert_int_gt(n, 0);
		ret = mnl_cb_run(rbuf, n, nlh->nlmsg_seq, portid, cb, data);
		ck_assert_int_ge(ret, 0);
	} while (ret > MNL_CB_STOP);

	mnl_socket_close(nl);
}

/**
 * request() - send one request with libmnl and return the kernel's verdict
 */
static int request(const struct nlmsghdr *nlh)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	int ret;

	ck_assert_ptr_nonnull(nl);
	ck_assert_int_eq(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID), 0);
	ck_assert_int_ge(mnl_socket_sendto(nl, nlh, nlh->nlmsg_len), 0);
	ret = mnl_socket_recvfrom(nl, rbuf, sizeof(rbuf));
	ck_assert_int_gt(ret, 0);
	ret = mnl_cb_run(rbuf, ret, nlh->nlmsg_seq, mnl_socket_get_portid(nl),
			 NULL, NULL);
	ret = ret < 0 ? -errno : 0;
	mnl_socket_close(nl);
	return ret;
}

/**
 * state_get() - dump links, addresses and routes
 */
static void state_get(struct state *s)
{
	memset(s, 0, sizeof(*s));
	s->lo = if_nametoindex("lo");
	s->tap = if_nametoindex(TAP_NAME);
	ck_assert_int_gt(s->lo, 0);
	ck_assert_int_gt(s->tap, 0);

	dump(RTM_GETLINK, AF_UNSPEC, sizeof(struct ifinfomsg), link_cb, s);
	dump(RTM_GETADDR, AF_INET, sizeof(struct ifaddrmsg), addr_cb, s);
	dump(RTM_GETROUTE, AF_INET, sizeof(struct rtmsg), route_cb, s);
}

/**
 * conf_default() - the configuration the namespace tests apply
 */
static struct sn_ifconf conf_default(void)
{
	struct sn_ifconf conf = {
		.ifname = TAP_NAME,
		.mtu = 9000,
		.mac = test_mac,
		.addr = ip("10.0.2.100"),
		.prefix = 24,
		.gateway = ip("10.0.2.2"),
	};

	return conf;
}

/* netns_configure() - lo and tap configured as asked, checked with dumps */
START_TEST(netns_configure)
{
	struct sn_ifconf conf = conf_default();
	GError *err = NULL;
	struct state s;
	int fd = netns_tap();

	if (fd < 0) {
		skip();
		return;
	}

	state_get(&s);
	ck_assert(!s.lo_up);
	ck_assert(!s.tap_up);
	ck_assert_uint_ne(s.tap_mtu, 9000);
	ck_assert(!s.addr_found);
	ck_assert_int_eq(s.routes, 0);

	ck_assert_msg(sn_netlink_configure(&conf, &err), "configure: %s",
		      err ? err->message : "?");
	ck_assert_ptr_null(err);

	state_get(&s);
	ck_assert(s.lo_up);
	ck_assert(s.tap_up);
	ck_assert_uint_eq(s.tap_mtu, 9000);
	ck_assert(s.tap_mac_found);
	ck_assert_mem_eq(s.tap_mac, test_mac, 6);

	ck_assert(s.addr_found);
	ck_assert_uint_eq(s.prefix, 24);
	ck_assert_str_eq(inet_ntoa(s.local), "10.0.2.100");
	ck_assert(s.bcast_found);
	ck_assert_str_eq(inet_ntoa(s.bcast), "10.0.2.255");

	ck_assert_int_eq(s.routes, 1);
	ck_assert_str_eq(inet_ntoa(s.gw), "10.0.2.2");
	ck_assert_uint_eq(s.oif, (uint32_t)s.tap);
	ck_assert_uint_eq(s.proto, RTPROT_BOOT);

	/* The same default route again: replaced, not refused, not doubled */
	ck_assert_int_eq(
	    request(sn_nl_route4_default(buf, 99, s.tap, conf.gateway)), 0);
	state_get(&s);
	ck_assert_int_eq(s.routes, 1);

	close(fd);
}
END_TEST

/* netns_configure_twice() - a second run fails on the existing address */
START_TEST(netns_configure_twice)
{
	struct sn_ifconf conf = conf_default();
	GError *err = NULL;
	int fd = netns_tap();

	if (fd < 0) {
		skip();
		return;
	}

	ck_assert(sn_netlink_configure(&conf, NULL));
	ck_assert(!sn_netlink_configure(&conf, &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, EEXIST);
	ck_assert_int_eq(errno, EEXIST);
	/* slirp4netns's words first, then the step */
	ck_assert_msg(g_str_has_prefix(err->message,
				       "cannot set device address: File exists "
				       "(cannot add address 10.0.2.100/24 "
				       "to " TAP_NAME),
		      "message: %s", err->message);
	g_error_free(err);
	close(fd);
}
END_TEST

/* netns_mtu_too_big() - the kernel refuses MTU 70000: message names the step */
START_TEST(netns_mtu_too_big)
{
	struct sn_ifconf conf = conf_default();
	GError *err = NULL;
	struct state s;
	int fd = netns_tap();

	if (fd < 0) {
		skip();
		return;
	}

	conf.mtu = 70000;
	conf.mac = NULL;
	ck_assert(!sn_netlink_configure(&conf, &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_uint_eq(err->domain,
			  g_quark_from_static_string("sn-netlink-error-quark"));
	ck_assert_int_eq(err->code, EINVAL);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_msg(g_str_has_prefix(err->message,
				       "cannot set MTU: Invalid argument "
				       "(cannot set MTU 70000 on " TAP_NAME),
		      "message: %s", err->message);
	g_error_free(err);

	/* lo came up before; nothing after the failing step happened */
	state_get(&s);
	ck_assert(s.lo_up);
	ck_assert(!s.tap_up);
	ck_assert(!s.addr_found);
	ck_assert_int_eq(s.routes, 0);
	close(fd);
}
END_TEST

/* netns_bad_mac() - the kernel refuses a multicast MAC address */
START_TEST(netns_bad_mac)
{
	static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	struct sn_ifconf conf = conf_default();
	GError *err = NULL;
	int fd = netns_tap();

	if (fd < 0) {
		skip();
		return;
	}

	conf.mac = mcast;
	ck_assert(!sn_netlink_configure(&conf, &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, EADDRNOTAVAIL);
	ck_assert_msg(
	    g_str_has_prefix(err->message, "cannot set MAC address: "),
	    "message: %s", err->message);
	ck_assert_msg(strstr(err->message,
			     "(cannot set MTU 9000 and MAC address "
			     "01:00:5e:00:00:01 on " TAP_NAME),
		      "message: %s", err->message);
	g_error_free(err);
	close(fd);
}
END_TEST

/* netns_noif() - a missing interface in a fresh namespace */
START_TEST(netns_noif)
{
	int fd = netns_tap();

	if (fd >= 0)
		close(fd);
	assert_noif();
}
END_TEST

/**
 * netlink_suite() - builders, then configuration in a namespace
 */
static Suite *netlink_suite(void)
{
	Suite *s = suite_create("netlink");
	TCase *tc = tcase_create("builders");

	tcase_add_test(tc, link_set_all);
	tcase_add_test(tc, link_set_up_only);
	tcase_add_test(tc, link_set_params_down);
	tcase_add_test(tc, addr4_24);
	tcase_add_test(tc, addr4_broadcast);
	tcase_add_test(tc, route4_default);
	suite_add_tcase(s, tc);

	tc = tcase_create("configure");
	tcase_add_test(tc, configure_noif);
	tcase_add_test(tc, configure_bad_prefix);
	suite_add_tcase(s, tc);

	tc = tcase_create("netns");
	tcase_add_test(tc, netns_configure);
	tcase_add_test(tc, netns_configure_twice);
	tcase_add_test(tc, netns_mtu_too_big);
	tcase_add_test(tc, netns_bad_mac);
	tcase_add_test(tc, netns_noif);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	return sn_ck_run(netlink_suite(), CK_ENV);
}
