/* addr.h - the virtual network's address plan, derived from a --cidr.
 * Gateway .2, DNS .3, DHCP pool from .15, guest (-c, forwards) .100;
 * IPv6 fd00::/64. The same plan as slirp4netns's. */
#ifndef SN_ADDR_H
#define SN_ADDR_H

#include <glib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stdint.h>

#define SN_DEFAULT_CIDR "10.0.2.0/24"
/* The guest's host part: 10.0.2.100 in the default network, what -c
 * configures and where forwards go by default (slirp4netns's "Recommended
 * IP"). */
#define SN_GUEST_HOST_PART 100
/* The first DHCP lease's host part: 10.0.2.15, as slirp4netns hands out
 * (libslirp's own default, 16 leases from there). */
#define SN_DHCP_START_HOST_PART 15
/* The largest prefix that still leaves room for host part .100. */
#define SN_CIDR_MAX_PREFIX 25

struct sn_addrs {
	struct in_addr network; /* host bits cleared */
	struct in_addr netmask;
	unsigned int prefix;
	struct in_addr gateway;	   /* .2: the host as the guest sees it */
	struct in_addr dns;	   /* .3: libslirp's DNS forwarder */
	struct in_addr guest;	   /* .100: what -c configures */
	struct in_addr dhcp_start; /* .15: the first DHCP lease */
	/* IPv6 (with --enable-ipv6): libslirp's fd00::/64 */
	struct in6_addr prefix6;
	unsigned int prefix6_len;
	struct in6_addr gateway6; /* fd00::2 */
	struct in6_addr dns6;	  /* fd00::3 */
};

/*
 * sn_addrs_from_cidr() - derive the address plan from "A.B.C.D/N"
 * @cidr: the network, e.g. "10.0.2.0/24", with no host bits set
 * @out:  filled on success
 * @err:  set on failure, naming what is wrong with @cidr
 *
 * Return: true on success
 */
bool sn_addrs_from_cidr(const char *cidr, struct sn_addrs *out, GError **err);

/*
 * sn_parse_mac() - parse "aa:bb:cc:dd:ee:ff"
 * Return: true if @s is a unicast MAC address, false otherwise
 */
bool sn_parse_mac(const char *s, uint8_t mac[6]);

/*
 * sn_outbound_addr() - resolve --outbound-addr(6): an address literal of
 * @family, or the name of an interface whose first @family address is used
 * @out: a sockaddr_in or sockaddr_in6 (port 0)
 *
 * Return: true on success, false with @err naming @spec and the cause
 */
bool sn_outbound_addr(const char *spec, int family,
		      struct sockaddr_storage *out, GError **err);

#endif
