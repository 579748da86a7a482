/* netlink.c - configuring lo and the tap device inside the namespace over
 * rtnetlink with libmnl: link up, MTU, MAC, IPv4 address, default route. */

#include <errno.h>
#include <net/if.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "netlink.h"

#define SN_ETH_ALEN 6

/* At least MNL_SOCKET_BUFFER_SIZE, which is at most 8192 */
#define SN_NL_BUFSIZE 8192

/* One rtnetlink socket and the state of the request in flight */
struct sn_nl {
	struct mnl_socket *sock;
	unsigned int portid;
	uint32_t seq;
	char extack[256]; /* kernel's explanation of the last error */
	alignas(NLMSG_ALIGNTO) char buf[SN_NL_BUFSIZE];
};

/* The GError domain; codes are errno values */
/* clang-format would put spaces into the quark's name */
/* clang-format off */
G_DEFINE_QUARK(sn-netlink-error-quark, sn_netlink_error)
/* clang-format on */

/**
 * sn_nl_link_set() - build an RTM_NEWLINK setting MTU, MAC and IFF_UP
 */
struct nlmsghdr *sn_nl_link_set(void *buf, uint32_t seq, int ifindex,
				unsigned int mtu, const uint8_t *mac, bool up)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;

	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (up) {
		ifi->ifi_change = IFF_UP;
		ifi->ifi_flags = IFF_UP;
	}

	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	if (mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, SN_ETH_ALEN, mac);

	return nlh;
}

/**
 * sn_nl_prefix_mask() - netmask in network order for @prefix (clamped to 32)
 */
static in_addr_t sn_nl_prefix_mask(unsigned int prefix)
{
	if (!prefix)
		return 0;
	if (prefix >= 32)
		return htonl(UINT32_MAX);
	return htonl(UINT32_MAX << (32 - prefix));
}

/**
 * sn_nl_addr4_add() - build an RTM_NEWADDR for @addr/@prefix on @ifindex
 */
struct nlmsghdr *sn_nl_addr4_add(void *buf, uint32_t seq, int ifindex,
				 struct in_addr addr, unsigned int prefix)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;

	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags =
	    NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
	nlh->nlmsg_seq = seq;

	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = ifindex;

	mnl_attr_put(nlh, IFA_LOCAL, sizeof(addr), &addr);
	mnl_attr_put(nlh, IFA_ADDRESS, sizeof(addr), &addr);

	/* /31 (RFC 3021) and /32 have no broadcast address */
	if (prefix < 31) {
		struct in_addr bcast = {
			.s_addr = addr.s_addr | ~sn_nl_prefix_mask(prefix),
		};

		mnl_attr_put(nlh, IFA_BROADCAST, sizeof(bcast), &bcast);
	}

	return nlh;
}

/**
 * sn_nl_route4_default() - build an RTM_NEWROUTE: default via @gw
 */
struct nlmsghdr *sn_nl_route4_default(void *buf, uint32_t seq, int ifindex,
				      struct in_addr gw)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = RTM_NEWROUTE;
	/* REPLACE: a re-run finds its own default route there already */
	nlh->nlmsg_flags =
	    NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
	nlh->nlmsg_seq = seq;

	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 0;
	rtm->rtm_src_len = 0;
	rtm->rtm_tos = 0;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;

	mnl_attr_put(nlh, RTA_GATEWAY, sizeof(gw), &gw);
	mnl_attr_put_u32(nlh, RTA_OIF, ifindex);

	return nlh;
}

/**
 * sn_nl_rule4() - build an RTM_NEWRULE or RTM_DELRULE from @r
 */
struct nlmsghdr *sn_nl_rule4(void *buf, uint32_t seq, bool add,
			     const struct sn_nl_rule *r)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct fib_rule_hdr *frh;

	nlh->nlmsg_type = add ? RTM_NEWRULE : RTM_DELRULE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	if (add)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
	nlh->nlmsg_seq = seq;

	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = AF_INET;
	frh->action = FR_ACT_TO_TBL;
	frh->table = RT_TABLE_UNSPEC;
	mnl_attr_put_u32(nlh, FRA_TABLE, r->table);
	mnl_attr_put_u32(nlh, FRA_PRIORITY, r->priority);
	if (r->fwmark) {
		mnl_attr_put_u32(nlh, FRA_FWMARK, r->fwmark);
		mnl_attr_put_u32(nlh, FRA_FWMASK, UINT32_MAX);
	}
	if (r->to.s_addr != htonl(INADDR_ANY)) {
		frh->dst_len = 32;
		mnl_attr_put(nlh, FRA_DST, sizeof(r->to), &r->to);
	}
	if (r->ipproto)
		mnl_attr_put_u8(nlh, FRA_IP_PROTO, r->ipproto);
	if (r->sport) {
		struct fib_rule_port_range pr = { r->sport, r->sport };

		mnl_attr_put(nlh, FRA_SPORT_RANGE, sizeof(pr), &pr);
	}
	if (r->dport) {
		struct fib_rule_port_range pr = { r->dport, r->dport };

		mnl_attr_put(nlh, FRA_DPORT_RANGE, sizeof(pr), &pr);
	}
	return nlh;
}

/**
 * sn_nl_route4_local_all() - build "local 0.0.0.0/0 dev @lo table @table"
 */
struct nlmsghdr *sn_nl_route4_local_all(void *buf, uint32_t seq, uint32_t table,
					int lo)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags =
	    NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
	nlh->nlmsg_seq = seq;

	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_table = RT_TABLE_UNSPEC;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_HOST;
	rtm->rtm_type = RTN_LOCAL;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	mnl_attr_put_u32(nlh, RTA_OIF, lo);
	return nlh;
}

/**
 * sn_nl_extack_attr_cb() - keep the kernel's error message, if any
 */
static int sn_nl_extack_attr_cb(const struct nlattr *attr, void *data)
{
	struct sn_nl *nl = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
		g_strlcpy(nl->extack, mnl_attr_get_str(attr),
			  sizeof(nl->extack));

	return MNL_CB_OK;
}

/**
 * sn_nl_extack() - parse extended ACK attributes of an NLMSG_ERROR
 */
static void sn_nl_extack(const struct nlmsghdr *nlh, const struct nlmsgerr *e,
			 struct sn_nl *nl)
{
	size_t off = sizeof(*e);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;

	/* Without NETLINK_CAP_ACK, the request follows, then the TLVs */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < sizeof(struct nlmsghdr))
			return;
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	}
	if (off > mnl_nlmsg_get_payload_len(nlh))
		return;

	mnl_attr_parse(nlh, off, sn_nl_extack_attr_cb, nl);
}

/**
 * sn_nl_error_cb() - NLMSG_ERROR: error 0 is the ACK, else the errno
 */
static int sn_nl_error_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (!e->error)
		return MNL_CB_STOP;

	sn_nl_extack(nlh, e, data);
	errno = e->error < 0 ? -e->error : e->error;
	return MNL_CB_ERROR;
}

/**
 * sn_nl_open() - open and bind the rtnetlink socket
 *
 * Return: 0 on success, negative error code on failure
 */
static int sn_nl_open(struct sn_nl *nl)
{
	int one = 1;

	nl->sock = mnl_socket_open(NETLINK_ROUTE);
	if (!nl->sock)
		return -errno;

	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int ret = -errno;

		mnl_socket_close(nl->sock);
		nl->sock = NULL;
		return ret;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = time(NULL);

	/* Best effort: older kernels give no explanation and echo requests */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));

	return 0;
}

/**
 * sn_nl_close() - close the socket, if open, keeping errno
 */
static void sn_nl_close(struct sn_nl *nl)
{
	int errno_save = errno;

	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
	errno = errno_save;
}

/**
 * sn_nl_ack() - wait for the ACK to request @seq
 *
 * Return: 0 on ACK, negative error code from the kernel or the socket
 */
static int sn_nl_ack(struct sn_nl *nl, uint32_t seq)
{
	mnl_cb_t ctl[NLMSG_ERROR + 1] = { [NLMSG_ERROR] = sn_nl_error_cb };
	ssize_t n;
	int ret;

	for (;;) {
		n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;

		ret = mnl_cb_run2(nl->buf, n, seq, nl->portid, NULL, nl, ctl,
				  G_N_ELEMENTS(ctl));
		if (ret < 0)
			return -errno;
		if (ret == MNL_CB_STOP)
			break;
	}

	return 0;
}

/**
 * sn_nl_do() - send the request built in @nl->buf and wait for its ACK
 *
 * Return: 0 on success, negative error code on failure
 */
static int sn_nl_do(struct sn_nl *nl, const struct nlmsghdr *nlh)
{
	uint32_t seq = nlh->nlmsg_seq;

	nl->extack[0] = '\0';
	while (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0) {
		if (errno != EINTR)
			return -errno;
	}

	return sn_nl_ack(nl, seq);
}

/**
 * sn_nl_s4nn_fail() - set @err to "<s4nn>: <error> (<step>[: <kernel's
 * explanation>])", for the steps slirp4netns also takes: its words for
 * them first, as scripts match them
 * @s4nn:	slirp4netns's words for the step, e.g. "cannot set device up"
 * @errnum:	positive error code, also the GError code and errno
 * @fmt:	describes the step that failed
 */
static void G_GNUC_PRINTF(5, 6)
    sn_nl_s4nn_fail(GError **err, const struct sn_nl *nl, const char *s4nn,
		    int errnum, const char *fmt, ...)
{
	g_autofree char *step = NULL;
	va_list ap;

	va_start(ap, fmt);
	step = g_strdup_vprintf(fmt, ap);
	va_end(ap);

	g_set_error(err, sn_netlink_error_quark(), errnum, "%s: %s (%s%s%s)",
		    s4nn, g_strerror(errnum), step,
		    nl && nl->extack[0] ? ": " : "",
		    nl && nl->extack[0] ? nl->extack : "");
	errno = errnum;
}

/**
 * sn_nl_fail() - set @err to "<step>: <error> (<kernel's explanation>)"
 * @errnum:	positive error code, also the GError code and errno
 * @fmt:	describes the step that failed
 */
static void G_GNUC_PRINTF(4, 5) sn_nl_fail(GError **err, const struct sn_nl *nl,
					   int errnum, const char *fmt, ...)
{
	g_autofree char *step = NULL;
	va_list ap;

	va_start(ap, fmt);
	step = g_strdup_vprintf(fmt, ap);
	va_end(ap);

	if (nl && nl->extack[0])
		g_set_error(err, sn_netlink_error_quark(), errnum,
			    "%s: %s (%s)", step, g_strerror(errnum),
			    nl->extack);
	else
		g_set_error(err, sn_netlink_error_quark(), errnum, "%s: %s",
			    step, g_strerror(errnum));
	errno = errnum;
}

/**
 * sn_nl_ifindex() - look up @name in the current namespace
 *
 * Return: the interface index, or 0 with @err set
 */
static int sn_nl_ifindex(const char *name, GError **err)
{
	unsigned int index = if_nametoindex(name);

	if (index)
		return index;

	if (errno == ENODEV || errno == ENXIO || !errno) {
		g_set_error(err, sn_netlink_error_quark(), ENODEV,
			    "no interface named %s in this network namespace",
			    name);
		errno = ENODEV;
	} else {
		sn_nl_fail(err, NULL, errno, "cannot look up interface %s",
			   name);
	}
	return 0;
}

/**
 * sn_nl_up() - set IFF_UP on @ifindex (@name for messages)
 */
static bool sn_nl_up(struct sn_nl *nl, int ifindex, const char *name,
		     GError **err)
{
	struct nlmsghdr *nlh;
	int ret;

	nlh = sn_nl_link_set(nl->buf, ++nl->seq, ifindex, 0, NULL, true);
	ret = sn_nl_do(nl, nlh);
	if (ret < 0) {
		sn_nl_s4nn_fail(err, nl, "cannot set device up", -ret,
				"cannot bring up %s", name);
		return false;
	}
	return true;
}

/**
 * sn_nl_link_params() - set MTU and MAC on the (still down) tap device
 */
static bool sn_nl_link_params(struct sn_nl *nl, int ifindex,
			      const struct sn_ifconf *conf, GError **err)
{
	const uint8_t *m = conf->mac;
	char mtu[32] = "", mac[64] = "";
	struct nlmsghdr *nlh;
	int ret;

	if (!conf->mtu && !conf->mac)
		return true;

	nlh = sn_nl_link_set(nl->buf, ++nl->seq, ifindex, conf->mtu, m, false);
	ret = sn_nl_do(nl, nlh);
	if (ret >= 0)
		return true;

	if (conf->mtu)
		snprintf(mtu, sizeof(mtu), "MTU %u", conf->mtu);
	if (m)
		snprintf(mac, sizeof(mac),
			 "%sMAC address %02x:%02x:%02x:%02x:%02x:%02x",
			 conf->mtu ? " and " : "", m[0], m[1], m[2], m[3], m[4],
			 m[5]);

	/* one request sets both: the kernel refuses an address with
	 * EADDRNOTAVAIL, so that names the MAC, anything else the MTU */
	sn_nl_s4nn_fail(err, nl,
			m && (!conf->mtu || ret == -EADDRNOTAVAIL)
			    ? "cannot set MAC address"
			    : "cannot set MTU",
			-ret, "cannot set %s%s on %s", mtu, mac, conf->ifname);
	return false;
}

/**
 * sn_nl_addr() - add the IPv4 address to the tap device
 */
static bool sn_nl_addr(struct sn_nl *nl, int ifindex,
		       const struct sn_ifconf *conf, GError **err)
{
	char a[INET_ADDRSTRLEN];
	struct nlmsghdr *nlh;
	int ret;

	nlh = sn_nl_addr4_add(nl->buf, ++nl->seq, ifindex, conf->addr,
			      conf->prefix);
	ret = sn_nl_do(nl, nlh);
	if (ret >= 0)
		return true;

	inet_ntop(AF_INET, &conf->addr, a, sizeof(a));
	sn_nl_s4nn_fail(err, nl, "cannot set device address", -ret,
			"cannot add address %s/%u to %s", a, conf->prefix,
			conf->ifname);
	return false;
}

/**
 * sn_nl_route() - add the default route via the gateway on the tap device
 */
static bool sn_nl_route(struct sn_nl *nl, int ifindex,
			const struct sn_ifconf *conf, GError **err)
{
	char gw[INET_ADDRSTRLEN];
	struct nlmsghdr *nlh;
	int ret;

	nlh = sn_nl_route4_default(nl->buf, ++nl->seq, ifindex, conf->gateway);
	ret = sn_nl_do(nl, nlh);
	if (ret >= 0)
		return true;

	inet_ntop(AF_INET, &conf->gateway, gw, sizeof(gw));
	sn_nl_s4nn_fail(err, nl, "set route", -ret,
			"cannot add default route via %s on %s", gw,
			conf->ifname);
	return false;
}

/**
 * sn_netlink_configure() - bring lo up and configure @conf->ifname
 */
bool sn_netlink_configure(const struct sn_ifconf *conf, GError **err)
{
	struct sn_nl nl = { 0 };
	int lo, tap, ret;
	bool ok;

	g_return_val_if_fail(conf && conf->ifname, false);
	g_return_val_if_fail(err == NULL || *err == NULL, false);

	if (conf->prefix > 32) {
		g_set_error(err, sn_netlink_error_quark(), EINVAL,
			    "invalid prefix length /%u for %s", conf->prefix,
			    conf->ifname);
		errno = EINVAL;
		return false;
	}

	/* Look both up first: fail before changing anything */
	if (!(lo = sn_nl_ifindex("lo", err)) ||
	    !(tap = sn_nl_ifindex(conf->ifname, err)))
		return false;

	ret = sn_nl_open(&nl);
	if (ret < 0) {
		sn_nl_fail(err, NULL, -ret, "cannot open rtnetlink socket");
		return false;
	}

	ok = sn_nl_up(&nl, lo, "lo", err) &&
	     sn_nl_link_params(&nl, tap, conf, err) &&
	     sn_nl_up(&nl, tap, conf->ifname, err) &&
	     sn_nl_addr(&nl, tap, conf, err) &&
	     sn_nl_route(&nl, tap, conf, err);

	sn_nl_close(&nl);
	return ok;
}

/**
 * sn_nl_run() - open a socket, send the one request @build makes, close
 */
static bool sn_nl_run(struct nlmsghdr *(*build)(struct sn_nl *nl,
						const void *arg),
		      const void *arg, const char *what, GError **err)
{
	struct sn_nl nl = { 0 };
	int ret = sn_nl_open(&nl);

	if (ret < 0) {
		sn_nl_fail(err, NULL, -ret, "cannot open rtnetlink socket");
		return false;
	}
	ret = sn_nl_do(&nl, build(&nl, arg));
	if (ret < 0 && ret != -EEXIST)
		sn_nl_fail(err, &nl, -ret, "%s", what);
	sn_nl_close(&nl);
	return ret >= 0 || ret == -EEXIST;
}

struct rule_req {
	bool add;
	const struct sn_nl_rule *r;
};

static struct nlmsghdr *build_rule(struct sn_nl *nl, const void *arg)
{
	const struct rule_req *rr = arg;

	return sn_nl_rule4(nl->buf, ++nl->seq, rr->add, rr->r);
}

struct local_req {
	uint32_t table;
	int lo;
};

static struct nlmsghdr *build_local(struct sn_nl *nl, const void *arg)
{
	const struct local_req *lr = arg;

	return sn_nl_route4_local_all(nl->buf, ++nl->seq, lr->table, lr->lo);
}

/**
 * sn_netlink_rule() - add or delete one rule (adding an existing one is fine)
 */
bool sn_netlink_rule(bool add, const struct sn_nl_rule *r, GError **err)
{
	struct rule_req rr = { .add = add, .r = r };

	return sn_nl_run(build_rule, &rr,
			 add ? "cannot add routing rule"
			     : "cannot delete routing rule",
			 err);
}

/**
 * sn_netlink_local_table() - @table delivers all locally; @fwmark uses it
 */
bool sn_netlink_local_table(uint32_t fwmark, uint32_t table, GError **err)
{
	struct sn_nl_rule r = { .priority = 100,
				.table = table,
				.fwmark = fwmark };
	struct local_req lr = { .table = table };

	lr.lo = sn_nl_ifindex("lo", err);
	if (!lr.lo)
		return false;
	return sn_nl_run(build_local, &lr,
			 "cannot add local route table for source addresses",
			 err) &&
	       sn_netlink_rule(true, &r, err);
}
