/* cli.c - command-line parsing with GOptionContext: every slirp4netns 1.3
 * flag with its meaning and default, checked with messages that say what to do.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"

G_DEFINE_QUARK(sn - cli - error - quark, sn_cli_error)

#define SN_SUMMARY                                                             \
	"User-mode networking for unprivileged network namespaces: a "         \
	"drop-in\n"                                                            \
	"replacement for slirp4netns. PID is a process whose network "         \
	"namespace\n"                                                          \
	"gets the tap device; with --netns-type=path (or --netns-path) PATH "  \
	"is\n"                                                                 \
	"a network namespace file instead. TAPNAME defaults to tap0."

#define SN_DESCRIPTION                                                         \
	"The guest network is 10.0.2.0/24 unless --cidr says otherwise: the\n" \
	"host (gateway) is .2, DNS .3, the guest .100 (also the first DHCP\n"  \
	"lease). With --enable-ipv6 the guest autoconfigures in fd00::/64\n"   \
	"(gateway fd00::2, DNS fd00::3).\n\n"                                  \
	"Exit status: 0 when stopped by --exit-fd, SIGTERM/SIGINT or the end " \
	"of\n"                                                                 \
	"the target; 1 on a bad option or a failure to start.\n\n"             \
	"See slirpnetd(1) for the control socket API and examples."

/* cli_error() - set a parse error; always returns FALSE for callbacks */
static gboolean cli_error(GError **err, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);
static gboolean cli_error(GError **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_propagate_error(err, g_error_new_valist(SN_CLI_ERROR, 0, fmt, ap));
	va_end(ap);
	return FALSE;
}

/* parse_uint() - strict decimal parse into 0..@max; false if invalid */
static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (!g_ascii_isdigit(*s))
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return !*end && !errno && *out <= max;
}

/* opt_fd() - --exit-fd/--ready-fd: a non-negative descriptor number */
static gboolean opt_fd(const char *name, const char *value, gpointer data,
		       GError **err)
{
	struct sn_config *cfg = data;
	bool exit_fd = !strcmp(name, "-e") || !strcmp(name, "--exit-fd");
	unsigned long v;

	if (!parse_uint(value, INT_MAX, &v))
		return cli_error(err,
				 "%s must be a non-negative integer (%s=%s: "
				 "expected a file descriptor number)",
				 exit_fd ? "exit-fd" : "ready-fd", name, value);
	if (exit_fd)
		cfg->exit_fd = (int)v;
	else
		cfg->ready_fd = (int)v;
	return TRUE;
}

/* opt_mtu() - --mtu: range-checked later, once -6 is known */
static gboolean opt_mtu(const char *name, const char *value, gpointer data,
			GError **err)
{
	struct sn_config *cfg = data;
	unsigned long v;

	if (!parse_uint(value, UINT_MAX, &v) || v < SN_MTU_MIN ||
	    v > SN_MTU_MAX)
		return cli_error(err,
				 "MTU must be a positive integer (< 65522) "
				 "(%s=%s: slirpnetd takes %d to %d, default "
				 "%d)",
				 name, value, SN_MTU_MIN, SN_MTU_MAX,
				 SN_MTU_DEFAULT);
	cfg->mtu = (unsigned int)v;
	return TRUE;
}

/* opt_busy_poll() - --busy-poll: microseconds, 0 to SN_BUSY_POLL_MAX */
static gboolean opt_busy_poll(const char *name, const char *value,
			      gpointer data, GError **err)
{
	struct sn_config *cfg = data;
	unsigned long v;

	if (!parse_uint(value, SN_BUSY_POLL_MAX, &v))
		return cli_error(err,
				 "%s=%s: expected microseconds, an integer "
				 "from 0 (off, the default) to %d",
				 name, value, SN_BUSY_POLL_MAX);
	cfg->busy_poll_us = (unsigned int)v;
	return TRUE;
}

/* opt_udp_timeout() - --udp-timeout: seconds, 1 to a day */
static gboolean opt_udp_timeout(const char *name, const char *value,
				gpointer data, GError **err)
{
	struct sn_config *cfg = data;
	unsigned long v;

	if (!parse_uint(value, SN_UDP_TIMEOUT_MAX, &v) || !v)
		return cli_error(err,
				 "%s=%s: expected seconds, an integer from "
				 "1 to %d (default %d)",
				 name, value, SN_UDP_TIMEOUT_MAX,
				 SN_UDP_TIMEOUT_DEFAULT);
	cfg->udp_timeout_s = (unsigned int)v;
	return TRUE;
}

/* opt_tcp_path() - --tcp-path=kernel|slirp */
static gboolean opt_tcp_path(const char *name, const char *value, gpointer data,
			     GError **err)
{
	struct sn_config *cfg = data;

	if (!strcmp(value, "kernel"))
		cfg->tcp_slirp = false;
	else if (!strcmp(value, "slirp"))
		cfg->tcp_slirp = true;
	else
		return cli_error(err,
				 "%s=%s: expected \"kernel\" (the guest's TCP "
				 "through host sockets, the default) or "
				 "\"slirp\" (through libslirp's TCP)",
				 name, value);
	return TRUE;
}

/* opt_cidr() - --cidr: the guest network */
static gboolean opt_cidr(const char *name, const char *value, gpointer data,
			 GError **err)
{
	struct sn_config *cfg = data;

	(void)name;
	return sn_addrs_from_cidr(value, &cfg->addrs, err);
}

/* opt_mac() - --macaddress: a unicast MAC for the tap device */
static gboolean opt_mac(const char *name, const char *value, gpointer data,
			GError **err)
{
	struct sn_config *cfg = data;

	if (!sn_parse_mac(value, cfg->mac))
		return cli_error(err,
				 "\"%s\" is an invalid MAC address. (%s "
				 "takes a unicast MAC address such as "
				 "02:00:00:00:00:01)",
				 value, name);
	cfg->has_mac = true;
	return TRUE;
}

/* opt_netns_type() - --netns-type=pid|path */
static gboolean opt_netns_type(const char *name, const char *value,
			       gpointer data, GError **err)
{
	struct sn_config *cfg = data;

	if (!strcmp(value, "pid"))
		cfg->netns_type = SN_NETNS_PID;
	else if (!strcmp(value, "path"))
		cfg->netns_type = SN_NETNS_PATH;
	else
		return cli_error(err, "%s=%s: expected \"pid\" or \"path\"",
				 name, value);
	return TRUE;
}

/* opt_target_type() - --target-type: only netns is implemented */
static gboolean opt_target_type(const char *name, const char *value,
				gpointer data, GError **err)
{
	(void)data;
	if (!strcmp(value, "netns"))
		return TRUE;
	if (!strcmp(value, "bess"))
		return cli_error(err,
				 "%s=bess is not supported by slirpnetd; "
				 "only --target-type=netns is",
				 name);
	return cli_error(err,
			 "--target-type must be either \"netns\" or \"bess\" "
			 "(%s=%s; slirpnetd supports netns)",
			 name, value);
}

/* cli_entries() - the option table, bound to @cfg's fields */
static GOptionEntry *cli_entries(struct sn_config *cfg)
{
	const GOptionEntry e[] = {
		{ "configure", 'c', 0, G_OPTION_ARG_NONE, &cfg->configure,
		  "bring up the interface (10.0.2.100/24, default route via "
		  "10.0.2.2, lo up)",
		  NULL },
		{ "exit-fd", 'e', 0, G_OPTION_ARG_CALLBACK, opt_fd,
		  "specify the FD for terminating slirpnetd (exit when it is "
		  "closed)",
		  "FD" },
		{ "ready-fd", 'r', 0, G_OPTION_ARG_CALLBACK, opt_fd,
		  "specify the FD to write to when the network is configured",
		  "FD" },
		{ "mtu", 'm', 0, G_OPTION_ARG_CALLBACK, opt_mtu,
		  "specify MTU (default=1500, max=65521)", "MTU" },
		{ "enable-ipv6", '6', 0, G_OPTION_ARG_NONE, &cfg->enable_ipv6,
		  "enable IPv6 (fd00::/64, router advertisements)", NULL },
		{ "api-socket", 'a', 0, G_OPTION_ARG_FILENAME, &cfg->api_socket,
		  "specify API socket path", "PATH" },
		{ "cidr", 0, 0, G_OPTION_ARG_CALLBACK, opt_cidr,
		  "specify network address CIDR (default=10.0.2.0/24)",
		  "CIDR" },
		{ "disable-host-loopback", 0, 0, G_OPTION_ARG_NONE,
		  &cfg->disable_host_loopback,
		  "prohibit connecting to 127.0.0.1:* on the host namespace",
		  NULL },
		{ "netns-type", 0, 0, G_OPTION_ARG_CALLBACK, opt_netns_type,
		  "specify network namespace type ([path|pid], default=pid)",
		  "TYPE" },
		{ "netns-path", 0, 0, G_OPTION_ARG_FILENAME, &cfg->netns_path,
		  "network namespace file to join (same as --netns-type=path "
		  "with PATH as the argument)",
		  "PATH" },
		{ "userns-path", 0, 0, G_OPTION_ARG_FILENAME, &cfg->userns_path,
		  "specify user namespace path", "PATH" },
		{ "enable-sandbox", 0, 0, G_OPTION_ARG_NONE,
		  &cfg->enable_sandbox,
		  "create a new mount namespace holding only /etc, /run and "
		  "the daemon's own files, and drop all capabilities (but "
		  "CAP_NET_BIND_SERVICE when run as root)",
		  NULL },
		{ "enable-seccomp", 0, 0, G_OPTION_ARG_NONE,
		  &cfg->enable_seccomp,
		  "allow only the system calls the running daemon needs "
		  "(seccomp)",
		  NULL },
		{ "outbound-addr", 0, 0, G_OPTION_ARG_STRING,
		  &cfg->outbound_addr,
		  "sets outbound ipv4 address to bound to (an address or an "
		  "interface name)",
		  "IPv4|IF" },
		{ "outbound-addr6", 0, 0, G_OPTION_ARG_STRING,
		  &cfg->outbound_addr6,
		  "sets outbound ipv6 address to bound to (an address or an "
		  "interface name)",
		  "IPv6|IF" },
		{ "disable-dns", 0, 0, G_OPTION_ARG_NONE, &cfg->disable_dns,
		  "disables 10.0.2.3 (or configured internal ip) to host dns "
		  "redirect",
		  NULL },
		{ "disable-offload", 0, 0, G_OPTION_ARG_NONE,
		  &cfg->disable_offload,
		  "give the tap device no checksum or TCP segmentation "
		  "offload (used below MTU 12288 otherwise)",
		  NULL },
		{ "tcp-path", 0, 0, G_OPTION_ARG_CALLBACK, opt_tcp_path,
		  "how the guest's own TCP connections reach the host: "
		  "\"kernel\" (ended in slirpnetd, carried on by host "
		  "sockets; the default) or \"slirp\" (libslirp's TCP, as "
		  "slirp4netns)",
		  "PATH" },
		{ "macaddress", 0, 0, G_OPTION_ARG_CALLBACK, opt_mac,
		  "specify the MAC address of the TAP (only valid with -c)",
		  "MAC" },
		{ "target-type", 0, 0, G_OPTION_ARG_CALLBACK, opt_target_type,
		  "specify the target type ([netns], default=netns)", "TYPE" },
		{ "keep-source-ip", 0, 0, G_OPTION_ARG_NONE,
		  &cfg->keep_source_ip,
		  "forwards show guests the client's own address, unless a "
		  "request says \"source_ip\": false",
		  NULL },
		{ "busy-poll", 0, 0, G_OPTION_ARG_CALLBACK, opt_busy_poll,
		  "after forwarded traffic, poll this many microseconds before "
		  "sleeping (lower latency, more CPU; default 0)",
		  "USEC" },
		{ "udp-timeout", 0, 0, G_OPTION_ARG_CALLBACK, opt_udp_timeout,
		  "close a forwarded UDP flow idle this many seconds "
		  "(default 60)",
		  "SECONDS" },
		{ "state-file", 0, 0, G_OPTION_ARG_FILENAME, &cfg->state_file,
		  "keep the forwards in this file (JSON), saved before each "
		  "change is acknowledged and restored at start-up",
		  "PATH" },
		{ "debug", 0, 0, G_OPTION_ARG_NONE, &cfg->debug,
		  "log more (API requests, libslirp's guest errors)", NULL },
		{ "help", 'h', 0, G_OPTION_ARG_NONE, &cfg->show_help,
		  "show this help and exit", NULL },
		{ "version", 'v', 0, G_OPTION_ARG_NONE, &cfg->show_version,
		  "show version and exit", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};

	return g_memdup2(e, sizeof(e));
}

/* cli_context() - a GOptionContext whose main group writes into @cfg */
static GOptionContext *cli_context(struct sn_config *cfg)
{
	GOptionContext *ctx = g_option_context_new("PID|PATH [TAPNAME]");
	GOptionGroup *group =
	    g_option_group_new("slirpnetd", "Options", "Options", cfg, NULL);
	g_autofree GOptionEntry *entries = cli_entries(cfg);

	g_option_group_add_entries(group, entries);
	g_option_context_set_main_group(ctx, group);
	g_option_context_set_help_enabled(ctx, FALSE);
	g_option_context_set_summary(ctx, SN_SUMMARY);
	g_option_context_set_description(ctx, SN_DESCRIPTION);
	return ctx;
}

/* sn_cli_help() - the --help text */
char *sn_cli_help(void)
{
	struct sn_config cfg = { 0 };
	GOptionContext *ctx = cli_context(&cfg);
	char *help = g_option_context_get_help(ctx, TRUE, NULL);

	g_option_context_free(ctx);
	return help;
}

/* config_defaults() - slirp4netns's defaults */
static void config_defaults(struct sn_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mtu = SN_MTU_DEFAULT;
	cfg->udp_timeout_s = SN_UDP_TIMEOUT_DEFAULT;
	cfg->ready_fd = -1;
	cfg->exit_fd = -1;
	cfg->netns_type = SN_NETNS_PID;
	sn_addrs_from_cidr(SN_DEFAULT_CIDR, &cfg->addrs, NULL);
}

/* valid_ifname() - would the kernel accept @s as an interface name? */
static bool valid_ifname(const char *s)
{
	size_t len = strlen(s);

	if (!len || len >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++) {
		if (*s == '/' || *s == ':' || g_ascii_isspace(*s))
			return false;
	}
	return true;
}

/* check_target() - PID|PATH [TAPNAME] into netns_path/target_pid/tapname */
static bool check_target(struct sn_config *cfg, char **args, GError **err)
{
	guint n = args ? g_strv_length(args) : 0;
	bool have_path = cfg->netns_path != NULL;
	guint max = have_path ? 1 : 2;
	unsigned long pid;

	if (n > max)
		return cli_error(err,
				 "too many arguments: expected %s; got %u "
				 "(see --help)",
				 have_path ? "[TAPNAME] after --netns-path"
					   : "PID|PATH [TAPNAME]",
				 n);
	if (!have_path && n < 1)
		return cli_error(err,
				 "expected %s; got %u argument%s (see "
				 "--help)",
				 have_path ? "[TAPNAME] after "
					     "--netns-path"
					   : "PID|PATH [TAPNAME]",
				 n, n == 1 ? "" : "s");
	if (have_path) {
		cfg->netns_type = SN_NETNS_PATH;
		cfg->tapname = g_strdup(n ? args[0] : "tap0");
		return true;
	}
	cfg->tapname = g_strdup(n > 1 ? args[1] : "tap0");
	if (cfg->netns_type == SN_NETNS_PATH) {
		cfg->netns_path = g_strdup(args[0]);
		return true;
	}
	if (!parse_uint(args[0], INT_MAX, &pid) || pid == 0)
		return cli_error(err,
				 "PID must be a positive integer (\"%s\" is "
				 "not a PID; to join a network namespace "
				 "file pass --netns-type=path or "
				 "--netns-path=%s)",
				 args[0], args[0]);
	cfg->target_pid = (pid_t)pid;
	cfg->netns_path = g_strdup_printf("/proc/%lu/ns/net", pid);
	return true;
}

/* check_combinations() - checks that need more than one flag */
static bool check_combinations(struct sn_config *cfg, GError **err)
{
	if (!valid_ifname(cfg->tapname))
		return cli_error(err,
				 "\"%s\" is not a valid interface name "
				 "(1 to %d characters, no '/', ':' or spaces)",
				 cfg->tapname, IFNAMSIZ - 1);
	if (cfg->has_mac && !cfg->configure)
		return cli_error(err, "--macaddr cannot be specified when "
				      "--configure or -c is not specified "
				      "(--macaddress needs -c: without it the "
				      "interface is left as it is)");
	if (cfg->userns_path && access(cfg->userns_path, F_OK) < 0)
		return cli_error(err,
				 "userns path doesn't exist: %s (--userns-path "
				 "names the user namespace that owns the "
				 "network namespace, e.g. /proc/PID/ns/user)",
				 cfg->userns_path);
	if (cfg->enable_ipv6 && cfg->mtu < SN_MTU_MIN_IPV6)
		return cli_error(err,
				 "--mtu=%u is too small for IPv6; use at "
				 "least %d with --enable-ipv6",
				 cfg->mtu, SN_MTU_MIN_IPV6);
	if (cfg->api_socket && strlen(cfg->api_socket) >=
				   sizeof(((struct sockaddr_un *)0)->sun_path))
		return cli_error(err,
				 "--api-socket=%s: the path is %zu bytes "
				 "long; a Unix socket path holds at most %zu",
				 cfg->api_socket, strlen(cfg->api_socket),
				 sizeof(((struct sockaddr_un *)0)->sun_path) -
				     1);
	if (cfg->api_socket && !*cfg->api_socket)
		return cli_error(err, "--api-socket: the path is empty");
	if (cfg->state_file && !*cfg->state_file)
		return cli_error(err, "--state-file: the path is empty; name "
				      "the file that keeps the forwards");
	if (cfg->ready_fd >= 0 && cfg->ready_fd == cfg->exit_fd)
		return cli_error(err, "--ready-fd and --exit-fd must be "
				      "different descriptors");
	return true;
}

/* sn_cli_parse() - parse argv into @cfg */
bool sn_cli_parse(int argc, char **argv, struct sn_config *cfg, GError **err)
{
	g_auto(GStrv) args = g_new0(char *, argc + 1);
	g_auto(GStrv) rest = NULL;
	char **argp = args;
	GOptionContext *ctx;
	bool ok;
	int i;

	config_defaults(cfg);
	for (i = 0; i < argc; i++)
		args[i] = g_strdup(argv[i]);
	ctx = cli_context(cfg);
	ok = g_option_context_parse_strv(ctx, &argp, err);
	g_option_context_free(ctx);
	args = argp;
	if (!ok)
		return false;
	if (cfg->show_help || cfg->show_version)
		return true;
	/* args[0] is the program name; the rest are positional. */
	rest = args[0] ? g_strdupv(args + 1) : NULL;
	return check_target(cfg, rest, err) && check_combinations(cfg, err);
}

/* sn_config_clear() - free what @cfg owns and zero it */
void sn_config_clear(struct sn_config *cfg)
{
	g_free(cfg->netns_path);
	g_free(cfg->userns_path);
	g_free(cfg->tapname);
	g_free(cfg->outbound_addr);
	g_free(cfg->outbound_addr6);
	g_free(cfg->api_socket);
	g_free(cfg->state_file);
	memset(cfg, 0, sizeof(*cfg));
}
