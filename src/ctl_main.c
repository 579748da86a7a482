/* ctl_main.c - slirpnetd-ctl's entry point: options, one request over the
 * daemon's control socket, the reply printed, the outcome as exit status. */
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "version.h"

#define ENV_SOCKET "SLIRPNETD_API_SOCKET"

#define CTL_SUMMARY                                                            \
	"Control a running slirpnetd through its control socket (the PATH "    \
	"of\n"                                                                 \
	"slirpnetd -a PATH): add, list and remove port forwards, show their\n" \
	"counters and the daemon's state. Options may come before or after\n"  \
	"the command.\n"                                                       \
	"\n"                                                                   \
	"Commands:\n"                                                          \
	"  add tcp|udp [HOSTADDR:]HOSTPORT:GUESTPORT\n"                        \
	"      Forward HOSTPORT on the host's HOSTADDR (default 0.0.0.0: "     \
	"every\n"                                                              \
	"      IPv4 address) to GUESTPORT on the guest (the daemon's guest\n"  \
	"      address, 10.0.2.100 by default, unless --guest-addr). An "      \
	"IPv6\n"                                                               \
	"      HOSTADDR goes in brackets: [::1]:8080:80, [::]:8080:80. By\n"   \
	"      default (--mode auto) a TCP client on the host's loopback is\n" \
	"      spliced by the kernel, any other reaches the guest through\n"   \
	"      tap0 from its own address. Prints the new forward's ID.\n"      \
	"  list\n"                                                             \
	"      The forwards: ID, PROTO, HOST, GUEST and MODE (the mode, or\n"  \
	"      \"default\", then proxy-protocol and source-ip if set).\n"      \
	"  remove ID\n"                                                        \
	"      Stop the forward ID (as list shows it). Prints nothing.\n"      \
	"  stats\n"                                                            \
	"      Each forward's counters: connections (UDP: flows) open and "    \
	"in\n"                                                                 \
	"      total, bytes to and from the guest, errors. \"-\" for "         \
	"forwards\n"                                                           \
	"      in slirp mode, which libslirp runs without counters.\n"         \
	"  info\n"                                                             \
	"      The daemon's state as \"key: value\" lines: version, "          \
	"libslirp,\n"                                                          \
	"      PID, network namespace, tap device, MTU, addresses, uptime,\n"  \
	"      number of forwards."

#define CTL_DESCRIPTION                                                        \
	"Environment:\n"                                                       \
	"  " ENV_SOCKET "  the control socket when -a is not given\n"          \
	"\n"                                                                   \
	"Exit status:\n"                                                       \
	"  0  success\n"                                                       \
	"  1  the daemon refused the request; its reason is printed on "       \
	"stderr\n"                                                             \
	"     as \"slirpnetd-ctl: REASON\"\n"                                  \
	"  2  usage error: a bad command, argument or option, or no socket\n"  \
	"  3  the daemon cannot be reached (no such socket, permission\n"      \
	"     denied, no reply within 10 s) or its reply is not valid\n"       \
	"\n"                                                                   \
	"Examples:\n"                                                          \
	"  slirpnetd -c -a /run/user/1000/sn.sock $PID &\n"                    \
	"  export " ENV_SOCKET "=/run/user/1000/sn.sock\n"                     \
	"  slirpnetd-ctl add tcp 8080:80              # host *:8080 -> guest " \
	"80\n"                                                                 \
	"  slirpnetd-ctl add tcp 127.0.0.1:2222:22    # loopback only\n"       \
	"  slirpnetd-ctl add tcp [::1]:8443:443 --proxy-protocol\n"            \
	"  slirpnetd-ctl add udp 5353:53 --guest-addr 10.0.2.100\n"            \
	"  slirpnetd-ctl list\n"                                               \
	"  slirpnetd-ctl --json list | jq '.entries[].id'\n"                   \
	"  slirpnetd-ctl remove 1\n"                                           \
	"  slirpnetd-ctl -a /run/user/1000/sn.sock stats"

/* What the options set. GOptionContext writes gboolean (int), not bool. */
struct ctl_opts {
	char *socket;
	gboolean json;
	gboolean version;
	char *guest_addr;
	char *mode;
	gboolean slirp;
	gboolean proxy_protocol;
	gboolean source_ip;
};

/* opts_clear() - free what GOptionContext allocated */
static void opts_clear(struct ctl_opts *o)
{
	g_free(o->socket);
	g_free(o->guest_addr);
	g_free(o->mode);
}

/* make_context() - the option parser, bound to @o */
static GOptionContext *make_context(struct ctl_opts *o)
{
	const GOptionEntry entries[] = {
		{ "api-socket", 'a', 0, G_OPTION_ARG_FILENAME, &o->socket,
		  "the control socket (default: $" ENV_SOCKET ")", "PATH" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &o->json,
		  "print the daemon's reply verbatim, one JSON line", NULL },
		{ "guest-addr", 0, 0, G_OPTION_ARG_STRING, &o->guest_addr,
		  "add: the guest's IPv4 address (default: the daemon's)",
		  "ADDR" },
		{ "mode", 0, 0, G_OPTION_ARG_STRING, &o->mode,
		  "add: how the forward carries connections: auto (the "
		  "daemon's default), splice, slirp or tap",
		  "MODE" },
		{ "slirp", 0, 0, G_OPTION_ARG_NONE, &o->slirp,
		  "add: --mode slirp (libslirp runs it, no counters)", NULL },
		{ "proxy-protocol", 0, 0, G_OPTION_ARG_NONE, &o->proxy_protocol,
		  "add, TCP: send the guest a PROXY v2 header first", NULL },
		{ "source-ip", 0, 0, G_OPTION_ARG_NONE, &o->source_ip,
		  "add: the guest sees the client's real address", NULL },
		{ "version", 'v', 0, G_OPTION_ARG_NONE, &o->version,
		  "show version and exit", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	GOptionContext *ctx = g_option_context_new("COMMAND [ARGUMENT...]");

	g_option_context_set_summary(ctx, CTL_SUMMARY);
	g_option_context_set_description(ctx, CTL_DESCRIPTION);
	g_option_context_add_main_entries(ctx, entries, NULL);
	/* "remove -1" reaches the command, to be refused as no valid ID */
	g_option_context_set_ignore_unknown_options(ctx, TRUE);
	return ctx;
}

/* ---- the exchange ---- */

/* set_deadline() - socket timeouts for what is left until @deadline
 * Return: 0, -ETIMEDOUT if it has passed, or setsockopt()'s -errno */
static int set_deadline(int fd, gint64 deadline)
{
	gint64 left = deadline - g_get_monotonic_time();
	struct timeval tv;

	if (left <= 0)
		return -ETIMEDOUT;
	tv.tv_sec = left / G_USEC_PER_SEC;
	tv.tv_usec = left % G_USEC_PER_SEC;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		return -errno;
	return 0;
}

/* io_error() - @err for a failed exchange: "cannot @what @path: ..." */
static void io_error(GError **err, const char *what, const char *path, int e)
{
	if (e == ETIMEDOUT || e == EAGAIN || e == EWOULDBLOCK)
		g_set_error(err, CTL_ERROR, CTL_UNREACHABLE,
			    "cannot %s %s: no answer within %d s (is the "
			    "daemon stopped or overloaded?)",
			    what, path, CTL_TIMEOUT_S);
	else
		g_set_error(err, CTL_ERROR, CTL_UNREACHABLE, "cannot %s %s: %s",
			    what, path, g_strerror(e));
}

/* connect_hint() - what a connect() errno means for the user */
static const char *connect_hint(const char *path, int e)
{
	struct stat st;

	switch (e) {
	case ENOENT:
		return "is slirpnetd running, started with this -a path?";
	case ECONNREFUSED:
		if (!stat(path, &st) && !S_ISSOCK(st.st_mode))
			return "the file is not a socket: check the path";
		return "nothing listens there: the slirpnetd that made it has "
		       "exited";
	case EACCES:
	case EPERM:
		return "the socket is mode 0600: run as the user who started "
		       "slirpnetd";
	case EAGAIN:
	case ETIMEDOUT:
		return "the daemon did not accept the connection in time";
	case ENOTDIR:
		return "part of the path is not a directory";
	}
	return "check the path, and that slirpnetd runs";
}

/* ctl_connect() - a stream socket connected to @path, or -1 with @err */
static int ctl_connect(const char *path, gint64 deadline, GError **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc = 0;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		g_set_error(err, CTL_ERROR, CTL_USAGE,
			    "socket path %s is too long: a Unix socket path "
			    "has at most %zu bytes",
			    path, sizeof(sa.sun_path) - 1);
		return -1;
	}
	g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		rc = -errno;
	else
		rc = set_deadline(fd, deadline);
	if (!rc && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		rc = -errno;
	if (rc) {
		if (fd >= 0)
			close(fd);
		g_set_error(err, CTL_ERROR, CTL_UNREACHABLE,
			    "cannot connect to %s: %s (%s)", path,
			    g_strerror(-rc), connect_hint(path, -rc));
		return -1;
	}
	return fd;
}

/*
 * ctl_send() - all of @req, then the end of our side (SHUT_WR)
 *
 * A daemon that closes early (EPIPE) may still have sent its reason: the
 * reply is read anyway, and if there is none, that is the error.
 */
static bool ctl_send(int fd, const char *path, const char *req, gint64 deadline,
		     GError **err)
{
	gsize len = strlen(req), done = 0;

	while (done < len) {
		int rc = set_deadline(fd, deadline);
		ssize_t n;

		if (rc) {
			io_error(err, "send the request to", path, -rc);
			return false;
		}
		n = send(fd, req + done, len - done, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EPIPE)
			return true;
		if (n < 0) {
			io_error(err, "send the request to", path, errno);
			return false;
		}
		done += (gsize)n;
	}
	shutdown(fd, SHUT_WR);
	return true;
}

/* ctl_recv() - everything the daemon sends until it closes (g_free) */
static char *ctl_recv(int fd, const char *path, gint64 deadline, gsize *len,
		      GError **err)
{
	g_autoptr(GString) s = g_string_new(NULL);
	char buf[4096];

	for (;;) {
		int rc = set_deadline(fd, deadline);
		ssize_t n;

		if (rc) {
			io_error(err, "read the reply from", path, -rc);
			return NULL;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (!n)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			io_error(err, "read the reply from", path, errno);
			return NULL;
		}
		g_string_append_len(s, buf, n);
		if (s->len > (gsize)CTL_MAX_REPLY) {
			g_set_error(err, CTL_ERROR, CTL_UNREACHABLE,
				    "the reply from %s is over %d bytes", path,
				    CTL_MAX_REPLY);
			return NULL;
		}
	}
	*len = s->len;
	return g_string_free(g_steal_pointer(&s), FALSE);
}

/* exchange() - one request to the daemon at @path, its whole reply */
static char *exchange(const char *path, const char *req, gsize *len,
		      GError **err)
{
	gint64 deadline =
	    g_get_monotonic_time() + (gint64)CTL_TIMEOUT_S * G_USEC_PER_SEC;
	int fd = ctl_connect(path, deadline, err);
	char *reply = NULL;

	if (fd < 0)
		return NULL;
	if (ctl_send(fd, path, req, deadline, err))
		reply = ctl_recv(fd, path, deadline, len, err);
	close(fd);
	return reply;
}

/* ---- main ---- */

/* report() - print @err as "slirpnetd-ctl: MESSAGE"; its code is the
 * exit status */
static int report(const GError *err)
{
	fprintf(stderr, "slirpnetd-ctl: %s\n", err->message);
	return err->code;
}

/* socket_path() - -a PATH, else $SLIRPNETD_API_SOCKET; NULL with @err */
static const char *socket_path(const struct ctl_opts *o, GError **err)
{
	const char *env = g_getenv(ENV_SOCKET);

	if (o->socket && *o->socket)
		return o->socket;
	if (env && *env)
		return env;
	g_set_error(
	    err, CTL_ERROR, CTL_USAGE,
	    "no control socket given: pass -a PATH, the socket slirpnetd was "
	    "started with (slirpnetd -a PATH), or set " ENV_SOCKET);
	return NULL;
}

/* print_reply() - @reply as asked: verbatim with --json, else formatted
 * Return: the exit status */
static int print_reply(const struct ctl_opts *o, enum ctl_verb verb,
		       const char *reply, gsize len)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *out = ctl_format_reply(verb, reply, len, &err);

	/* a refusal is valid JSON too: scripts get it on stdout as well */
	if (o->json && (out || err->code == CTL_REFUSED)) {
		while (len && g_ascii_isspace(reply[len - 1]))
			len--;
		printf("%.*s\n", (int)len, reply);
	} else if (out) {
		fputs(out, stdout);
	}
	return out ? CTL_OK : report(err);
}

/* run() - the command in @argv (after options) against the daemon */
static int run(const struct ctl_opts *o, int argc, char **argv)
{
	const struct ctl_add_opts add = {
		.guest_addr = o->guest_addr,
		.mode = o->mode,
		.slirp = o->slirp,
		.proxy_protocol = o->proxy_protocol,
		.source_ip = o->source_ip,
	};
	g_autoptr(GError) err = NULL;
	g_autofree char *req = NULL, *reply = NULL;
	struct ctl_cmd cmd;
	const char *path;
	gsize len = 0;

	if (!ctl_parse_cmd(argc, argv, &add, &cmd, &err))
		return report(err);
	path = socket_path(o, &err);
	if (!path)
		return report(err);
	req = ctl_request(&cmd);
	/* cannot happen with ports and addresses checked; kept as a guard */
	g_assert(strlen(req) < CTL_MAX_REQUEST);
	reply = exchange(path, req, &len, &err);
	if (!reply)
		return report(err);
	return print_reply(o, cmd.verb, reply, len);
}

/* main() - parse the options, run the command; see --help for the status */
int main(int argc, char **argv)
{
	struct ctl_opts o = { 0 };
	g_autoptr(GOptionContext) ctx = make_context(&o);
	g_autoptr(GError) err = NULL;
	int status;

	setlocale(LC_ALL, "");
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		fprintf(stderr,
			"slirpnetd-ctl: %s (see slirpnetd-ctl --help)\n",
			err->message);
		opts_clear(&o);
		return CTL_USAGE;
	}
	if (o.version) {
		printf("slirpnetd-ctl version %s\ncommit: %s\n", SN_VERSION,
		       SN_COMMIT);
		opts_clear(&o);
		return CTL_OK;
	}
	status = run(&o, argc - 1, argv + 1);
	opts_clear(&o);
	return status;
}
