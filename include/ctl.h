/* ctl.h - slirpnetd-ctl, the control socket's command-line client: commands,
 * forward specs, the JSON requests they make and the tables replies become. */
#ifndef SN_CTL_H
#define SN_CTL_H

#include <arpa/inet.h>
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* The daemon refuses a request of this many bytes or more (slirp4netns's). */
#define CTL_MAX_REQUEST 4096
/* Replies longer than this are not read: a full list of 4096 forwards is
 * well under 1 MiB. */
#define CTL_MAX_REPLY (4 * 1024 * 1024)
/* The whole exchange (connect, send, reply) must end within this. */
#define CTL_TIMEOUT_S 10

/* Exit statuses, which are also the codes of CTL_ERROR. */
enum ctl_status {
	CTL_OK = 0,
	CTL_REFUSED = 1, /* the daemon answered with an error */
	CTL_USAGE = 2,	 /* bad command line */
	CTL_UNREACHABLE =
	    3, /* no daemon, no reply, or a reply not understood */
};

#define CTL_ERROR (ctl_error_quark())
GQuark ctl_error_quark(void);

enum ctl_verb { CTL_ADD, CTL_LIST, CTL_REMOVE, CTL_STATS, CTL_INFO };

/* A forward to add, checked: what add_hostfwd's arguments will say. */
struct ctl_fwd {
	bool udp;
	char host_addr[INET6_ADDRSTRLEN]; /* canonical; "0.0.0.0" by default */
	uint16_t host_port;
	char guest_addr[INET_ADDRSTRLEN]; /* "": the daemon's default */
	uint16_t guest_port;
	const char *mode;    /* "mode" (a static string), NULL: the daemon's
			      * default */
	bool proxy_protocol; /* TCP only */
	bool source_ip;
};

/* The options of add, as the command line gave them (any command may carry
 * them; only add accepts them). */
struct ctl_add_opts {
	const char *guest_addr; /* NULL if not given */
	const char *mode;	/* --mode, NULL if not given */
	bool slirp;		/* --slirp: --mode slirp */
	bool proxy_protocol;
	bool source_ip;
};

/* One command: its verb and what it acts on. */
struct ctl_cmd {
	enum ctl_verb verb;
	int id;		    /* CTL_REMOVE */
	struct ctl_fwd fwd; /* CTL_ADD */
};

/*
 * ctl_parse_fwd() - the forward "add @proto @spec" and @opts describe
 * @proto: "tcp" or "udp"
 * @spec:  [HOSTADDR:]HOSTPORT:GUESTPORT, an IPv6 HOSTADDR in brackets
 * @opts:  --guest-addr, --mode, --slirp, --proxy-protocol, --source-ip
 *
 * Return: true, or false with @err (CTL_USAGE) naming what is wrong
 */
bool ctl_parse_fwd(const char *proto, const char *spec,
		   const struct ctl_add_opts *opts, struct ctl_fwd *fwd,
		   GError **err);

/*
 * ctl_parse_id() - a forward id: a decimal integer from 1 to INT_MAX
 * Return: true, or false with @err (CTL_USAGE)
 */
bool ctl_parse_id(const char *s, int *id, GError **err);

/*
 * ctl_parse_cmd() - the command the arguments left after options make
 * @argc, @argv: the command word and its arguments, no program name; an
 *               option the parser did not know is refused here, and a
 *               "--" ends options (as in "remove -- 5")
 * @opts:        add's options, refused with any other command
 *
 * Return: true, or false with @err (CTL_USAGE) naming what is wrong
 */
bool ctl_parse_cmd(int argc, char **argv, const struct ctl_add_opts *opts,
		   struct ctl_cmd *cmd, GError **err);

/* ctl_request() - @cmd's JSON request, compact, one line (g_free it) */
char *ctl_request(const struct ctl_cmd *cmd);

/*
 * ctl_check_reply() - whether @reply (@len bytes) is a success for @verb
 *
 * Return: true, or false with @err: CTL_REFUSED whose message is the
 * daemon's "desc", or CTL_UNREACHABLE if the reply is not what the
 * protocol says (not JSON, or members missing)
 */
bool ctl_check_reply(enum ctl_verb verb, const char *reply, gsize len,
		     GError **err);

/*
 * ctl_format_reply() - the human-readable output for @reply to @verb
 *
 * add gives the new id, remove nothing, list and stats aligned tables,
 * info "key: value" lines in the order the daemon sent them.
 *
 * Return: the text (g_free it; "" for remove), or NULL with @err as for
 * ctl_check_reply()
 */
char *ctl_format_reply(enum ctl_verb verb, const char *reply, gsize len,
		       GError **err);

/* ctl_human_bytes() - @n as "512 B", "1.5 KiB", "1.2 MiB", ... (g_free) */
char *ctl_human_bytes(guint64 n);

/* ctl_execute_name() - the "execute" of @verb's request, e.g. "get_stats" */
const char *ctl_execute_name(enum ctl_verb verb);

#endif
