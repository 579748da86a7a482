/* netlink.h - configuring tap0 and lo inside the namespace over rtnetlink,
 * with libmnl: link up, MTU, MAC, IPv4 address, default route. */
#ifndef SN_NETLINK_H
#define SN_NETLINK_H

#include <glib.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

/* Error domain: the code is the errno of the step that failed. */
#define SN_NETLINK_ERROR (sn_netlink_error_quark())
GQuark sn_netlink_error_quark(void);

/* What sn_netlink_configure() applies to the interface. */
struct sn_ifconf {
	const char *ifname;
	unsigned int mtu;
	const uint8_t *mac; /* NULL: keep the kernel's random one */
	struct in_addr addr;
	unsigned int prefix;
	struct in_addr gateway;
};

/*
 * Request builders. Each writes one request into @buf, which must hold at
 * least MNL_SOCKET_BUFFER_SIZE bytes, and returns the message header. They
 * ask for an ACK (NLM_F_ACK) so that the caller learns the kernel's verdict.
 */

/* RTM_NEWLINK: set @mtu (0: leave), @mac (NULL: leave) and IFF_UP if @up */
struct nlmsghdr *sn_nl_link_set(void *buf, uint32_t seq, int ifindex,
				unsigned int mtu, const uint8_t *mac, bool up);
/* RTM_NEWADDR: @addr/@prefix on @ifindex, with its broadcast address */
struct nlmsghdr *sn_nl_addr4_add(void *buf, uint32_t seq, int ifindex,
				 struct in_addr addr, unsigned int prefix);
/* RTM_NEWROUTE: default route via @gw on @ifindex, main table */
struct nlmsghdr *sn_nl_route4_default(void *buf, uint32_t seq, int ifindex,
				      struct in_addr gw);

/* A policy routing rule (RTM_NEWRULE/RTM_DELRULE), IPv4 only. */
struct sn_nl_rule {
	uint32_t priority;
	uint32_t table;
	uint32_t fwmark;   /* 0: any mark */
	struct in_addr to; /* INADDR_ANY: any destination, else a /32 */
	uint8_t ipproto;   /* 0: any */
	uint16_t sport;	   /* host order; 0: any */
	uint16_t dport;
};

/* RTM_NEWRULE (@add) or RTM_DELRULE: lookup @r->table for matches */
struct nlmsghdr *sn_nl_rule4(void *buf, uint32_t seq, bool add,
			     const struct sn_nl_rule *r);
/* RTM_NEWROUTE: "local 0.0.0.0/0 dev @lo table @table", everything local */
struct nlmsghdr *sn_nl_route4_local_all(void *buf, uint32_t seq, uint32_t table,
					int lo);

/*
 * sn_netlink_local_table() - make @table deliver every destination locally
 * and send traffic marked @fwmark through it (idempotent). Run inside the
 * namespace. This is what lets a transparent socket bound to a client's
 * address receive the replies sent to that address.
 */
bool sn_netlink_local_table(uint32_t fwmark, uint32_t table, GError **err);

/* sn_netlink_rule() - add or delete one rule. Return: true, or @err */
bool sn_netlink_rule(bool add, const struct sn_nl_rule *r, GError **err);

/*
 * sn_netlink_configure() - bring lo up and configure @conf->ifname
 * Must run inside the target network namespace.
 * @err: set naming the step that failed and the kernel's error
 *
 * Return: true on success
 */
bool sn_netlink_configure(const struct sn_ifconf *conf, GError **err);

#endif
