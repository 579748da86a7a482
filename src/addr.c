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

/* digits() - the number of decimal digits at the start of @s */
static size_t digits(const char *s)
{
	size_t n = 0;

	while (g_ascii_isdigit(s[n]))
		n++;
	return n;
}

/* cidr_shape() - is @s shaped like "D.D.D.D/P" (D: 1 to 3 digits, P: 1 or
 * 2), the shape slirp4netns accepts before it reads the numbers? */
static bool cidr_shape(const char *s)
{
	size_t n;
	int i;

	for (i = 0; i < 4; i++) {
		n = digits(s);
		if (n < 1 || n > 3 || s[n] != (i < 3 ? '.' : '/'))
			return false;
		s += n + 1;
	}
	n = digits(s);
	return n >= 1 && n <= 2 && !s[n];
}

/* fill_ipv6() - libslirp's fd00::/64 plan: gateway ::2, DNS ::3 */
static void fill_ipv6(struct sn_addrs *out)
{
	inet_pton(AF_INET6, "fd00::", &out->prefix6);
	out->prefix6_len = 64;
	inet_pton(AF_INET6, "fd00::2", &out->gateway6);
	inet_pton(AF_INET6, "fd00::3", &out->dns6);
}

/*
 * sn_addrs_from_cidr() - derive the address plan from "A.B.C.D/N"
 *
 * Each refusal begins with slirp4netns's words for it ("invalid CIDR: ...",
 * "invalid network address: ...", "prefix length needs to be 1-25"), which
 * scripts match, and goes on to say what --cidr takes.
 */
bool sn_addrs_from_cidr(const char *cidr, struct sn_addrs *out, GError **err)
{
	g_auto(GStrv) parts = NULL;
	struct in_addr ip;
	unsigned int prefix;
	uint32_t mask;

	if (!cidr_shape(cidr)) {
		g_set_error(err, SN_CLI_ERROR, 0,
			    "invalid CIDR: %s (--cidr takes an IPv4 network "
			    "such as %s)",
			    cidr, SN_DEFAULT_CIDR);
		return false;
	}
	parts = g_strsplit(cidr, "/", 2);
	if (inet_pton(AF_INET, parts[0], &ip) != 1) {
		g_set_error(err, SN_CLI_ERROR, 0,
			    "invalid network address: %s (--cidr=%s: each of "
			    "the four numbers is 0 to 255)",
			    parts[0], cidr);
		return false;
	}
	prefix = (unsigned int)strtoul(parts[1], NULL, 10);
	if (prefix > SN_CIDR_MAX_PREFIX || prefix < 1) {
		g_set_error(err, SN_CLI_ERROR, 0,
			    "prefix length needs to be 1-%d (--cidr=%s: a "
			    "longer prefix leaves no room for the guest "
			    "address .%d)",
			    SN_CIDR_MAX_PREFIX, cidr, SN_GUEST_HOST_PART);
		return false;
	}
	mask = ~0u << (32 - prefix);
	if (ip.s_addr & ~htonl(mask)) {
		g_set_error(err, SN_CLI_ERROR, 0,
			    "CIDR needs to be a network address like "
			    "10.0.2.0/24, not like 10.0.2.100/24 (--cidr=%s "
			    "has bits set past its /%u)",
			    cidr, prefix);
		return false;
	}
	memset(out, 0, sizeof(*out));
	out->netmask.s_addr = htonl(mask);
	out->network = ip;
	out->prefix = prefix;
	out->gateway = host_addr(out->network, 2);
	out->dns = host_addr(out->network, 3);
	out->guest = host_addr(out->network, SN_GUEST_HOST_PART);
	out->dhcp_start = host_addr(out->network, SN_DHCP_START_HOST_PART);
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
	/* slirp4netns's words for both flags, its misspelling for
	 * --outbound-addr6 included, since scripts match them */
	g_set_error(err, SN_CLI_ERROR, 0,
		    "outbound-addr has to be valid ipv4 address or %s name. "
		    "(%s=%s: neither an %s address nor an interface with one)",
		    family == AF_INET ? "interface" : "iterface", flag, spec,
		    family == AF_INET ? "IPv4" : "IPv6");
	return false;
}
