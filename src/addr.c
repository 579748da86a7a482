/* addr.c - the virtual network's address plan, derived from --cidr, and
 * MAC address parsing for --macaddress. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cli.h"

/* host_addr() - @net with host part @n (host byte order arithmetic) */
static struct in_addr host_addr(struct in_addr net, uint32_t n)
{
	struct in_addr a = { .s_addr = htonl(ntohl(net.s_addr) + n) };

	return a;
}

/* parse_prefix() - parse a decimal prefix length 0..32; false if invalid */
static bool parse_prefix(const char *s, unsigned int *prefix)
{
	char *end;
	unsigned long v;

	if (!g_ascii_isdigit(*s))
		return false;
	v = strtoul(s, &end, 10);
	if (*end || v > 32)
		return false;
	*prefix = (unsigned int)v;
	return true;
}

/* fill_ipv6() - libslirp's fd00::/64 plan: gateway ::2, DNS ::3 */
static void fill_ipv6(struct sn_addrs *out)
{
	inet_pton(AF_INET6, "fd00::", &out->prefix6);
	out->prefix6_len = 64;
	inet_pton(AF_INET6, "fd00::2", &out->gateway6);
	inet_pton(AF_INET6, "fd00::3", &out->dns6);
}

/* sn_addrs_from_cidr() - derive the address plan from "A.B.C.D/N" */
bool sn_addrs_from_cidr(const char *cidr, struct sn_addrs *out, GError **err)
{
	g_auto(GStrv) parts = g_strsplit(cidr, "/", 2);
	struct in_addr ip;
	unsigned int prefix;
	uint32_t mask;

	if (!parts[0] || !parts[1] || inet_pton(AF_INET, parts[0], &ip) != 1) {
		g_set_error(err, SN_CLI_ERROR, 0,
			    "--cidr=%s: expected an IPv4 network such as %s",
			    cidr, SN_DEFAULT_CIDR);
		return false;
	}
	if (!parse_prefix(parts[1], &prefix)) {
		g_set_error(err, SN_CLI_ERROR, 0,
			    "--cidr=%s: bad prefix length \"%s\" (0 to 32)",
			    cidr, parts[1]);
		return false;
	}
	if (prefix > SN_CIDR_MAX_PREFIX || prefix < 1) {
		g_set_error(err, SN_CLI_ERROR, 0,
			    "--cidr=%s: the prefix must be from /1 to /%d, so "
			    "that the network holds the guest address .%d",
			    cidr, SN_CIDR_MAX_PREFIX, SN_GUEST_HOST_PART);
		return false;
	}
	mask = prefix ? ~0u << (32 - prefix) : 0;
	memset(out, 0, sizeof(*out));
	out->netmask.s_addr = htonl(mask);
	out->network.s_addr = ip.s_addr & out->netmask.s_addr;
	out->prefix = prefix;
	out->gateway = host_addr(out->network, 2);
	out->dns = host_addr(out->network, 3);
	out->guest = host_addr(out->network, SN_GUEST_HOST_PART);
	out->dhcp_start = out->guest;
	fill_ipv6(out);
	return true;
}

/* sn_parse_mac() - parse "aa:bb:cc:dd:ee:ff"; false unless unicast */
bool sn_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;
	int i;

	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6)
		return false;
	for (i = 0; i < 6; i++) {
		if (!g_ascii_isxdigit(s[i * 3]) ||
		    !g_ascii_isxdigit(s[i * 3 + 1]))
			return false;
		mac[i] = (uint8_t)b[i];
	}
	/* Multicast (and broadcast) addresses cannot name an interface. */
	return !(mac[0] & 1);
}

/* first_if_addr() - the first @family address of interface @name */
static bool first_if_addr(const char *name, int family,
			  struct sockaddr_storage *out)
{
	struct ifaddrs *list, *i;
	bool found = false;

	if (getifaddrs(&list) < 0)
		return false;
	for (i = list; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != family ||
		    strcmp(i->ifa_name, name))
			continue;
		memcpy(out, i->ifa_addr,
		       family == AF_INET ? sizeof(struct sockaddr_in)
					 : sizeof(struct sockaddr_in6));
		found = true;
	}
	freeifaddrs(list);
	return found;
}

/* sn_outbound_addr() - resolve --outbound-addr(6) to a socket address */
bool sn_outbound_addr(const char *spec, int family,
		      struct sockaddr_storage *out, GError **err)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)out;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
	const char *flag =
	    family == AF_INET ? "--outbound-addr" : "--outbound-addr6";

	memset(out, 0, sizeof(*out));
	out->ss_family = family;
	if (inet_pton(family, spec,
		      family == AF_INET ? (void *)&sin->sin_addr
					: (void *)&sin6->sin6_addr) == 1)
		return true;
	if (first_if_addr(spec, family, out)) {
		if (family == AF_INET)
			sin->sin_port = 0;
		else
			sin6->sin6_port = 0;
		return true;
	}
	g_set_error(err, SN_CLI_ERROR, 0,
		    "%s=%s: neither an %s address nor an interface with one",
		    flag, spec, family == AF_INET ? "IPv4" : "IPv6");
	return false;
}
