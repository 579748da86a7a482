/* cli.h - command-line options: slirp4netns's flags, same meaning and defaults,
 * plus slirpnetd's own (--netns-path, --debug, --keep-source-ip, ...). */
#ifndef SN_CLI_H
#define SN_CLI_H

#include <glib.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"

#define SN_MTU_DEFAULT 1500
#define SN_MTU_MAX     65521
/* The smallest MTU IPv4 allows on a link (RFC 791); 1280 with IPv6. */
#define SN_MTU_MIN	68
#define SN_MTU_MIN_IPV6 1280
/* Longest --busy-poll, in microseconds. */
#define SN_BUSY_POLL_MAX 10000
/* --udp-timeout: default and longest, in seconds. */
#define SN_UDP_TIMEOUT_DEFAULT 60
#define SN_UDP_TIMEOUT_MAX     86400

enum sn_netns_type { SN_NETNS_PID, SN_NETNS_PATH };

/* What the command line asked for; owned by struct sn_daemon. Flags that
 * GOptionContext sets directly are gboolean (int-sized), not bool. */
struct sn_config {
	/* Target */
	enum sn_netns_type netns_type;
	pid_t target_pid;  /* SN_NETNS_PID */
	char *netns_path;  /* always set: /proc/PID/ns/net or the PATH */
	char *userns_path; /* --userns-path, or NULL */
	char *tapname;	   /* default "tap0" */

	/* Interface */
	gboolean configure; /* -c */
	unsigned int mtu;
	struct sn_addrs addrs;
	bool has_mac;
	uint8_t mac[6];

	/* Stack */
	gboolean enable_ipv6;
	gboolean disable_host_loopback;
	gboolean disable_dns;
	char *outbound_addr;  /* IPv4 address or interface name, or NULL */
	char *outbound_addr6; /* IPv6 address or interface name, or NULL */

	gboolean disable_offload; /* --disable-offload */
	bool tcp_slirp; /* --tcp-path=slirp: TCP through libslirp, not tcp.c */

	/* Process */
	int ready_fd; /* -1 if none */
	int exit_fd;  /* -1 if none */
	char *api_socket;
	gboolean debug;
	gboolean enable_sandbox; /* --enable-sandbox */
	gboolean enable_seccomp; /* --enable-seccomp */

	/* Forwarders (ours) */
	gboolean keep_source_ip;    /* source_ip's default */
	unsigned int busy_poll_us;  /* --busy-poll */
	unsigned int udp_timeout_s; /* --udp-timeout */
	char *state_file; /* --state-file: forwards kept here, or NULL */

	/* Actions that end parsing */
	gboolean show_help;
	gboolean show_version;
};

/* Error domain for option errors; the message says what to do. */
#define SN_CLI_ERROR (sn_cli_error_quark())
GQuark sn_cli_error_quark(void);

/*
 * sn_cli_parse() - parse argv into @cfg
 * @argc, @argv: as given to main(); not modified
 * @cfg:  zeroed or stale; set to defaults first, then filled
 * @err:  set with a message naming the bad flag or value
 *
 * Return: true on success (including -h and -v, see cfg->show_*)
 */
bool sn_cli_parse(int argc, char **argv, struct sn_config *cfg, GError **err);

/* sn_cli_help() - the --help text (every flag by its long name); g_free it */
char *sn_cli_help(void);

/* sn_config_clear() - free what @cfg owns and zero it */
void sn_config_clear(struct sn_config *cfg);

#endif
