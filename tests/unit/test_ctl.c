/* test_ctl.c - unit tests for src/ctl.c: forward specs and commands with
 * every refusal, the exact JSON requests, and replies turned into tables. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ckrun.h"

static const struct ctl_add_opts no_opts;

/* fwd_ok() - parse "add @proto @spec" with @opts; it must succeed */
static struct ctl_fwd fwd_ok(const char *proto, const char *spec,
			     const struct ctl_add_opts *opts)
{
	g_autoptr(GError) err = NULL;
	struct ctl_fwd f;

	ck_assert_msg(ctl_parse_fwd(proto, spec, opts, &f, &err),
		      "%s %s refused: %s", proto, spec,
		      err ? err->message : "?");
	return f;
}

/* expect_fwd_error() - "add @proto @spec" is refused with @needle */
static void expect_fwd_error(const char *proto, const char *spec,
			     const struct ctl_add_opts *opts,
			     const char *needle)
{
	g_autoptr(GError) err = NULL;
	struct ctl_fwd f;

	ck_assert_msg(!ctl_parse_fwd(proto, spec, opts, &f, &err),
		      "accepted: %s %s", proto, spec);
	ck_assert_int_eq(err->code, CTL_USAGE);
	ck_assert_msg(strstr(err->message, needle), "%s %s: \"%s\" lacks %s",
		      proto, spec, err->message, needle);
}

START_TEST(spec_forms)
{
	struct ctl_add_opts guest = { .guest_addr = "10.0.2.15" };
	struct ctl_add_opts udp_slirp = { .slirp = true, .source_ip = true };
	struct ctl_fwd f;

	f = fwd_ok("tcp", "8080:80", &no_opts);
	ck_assert(!f.udp && !f.mode && !f.proxy_protocol && !f.source_ip);
	ck_assert_str_eq(f.host_addr, "0.0.0.0");
	ck_assert_uint_eq(f.host_port, 8080);
	ck_assert_str_eq(f.guest_addr, "");
	ck_assert_uint_eq(f.guest_port, 80);

	f = fwd_ok("tcp", "127.0.0.1:1:65535", &guest);
	ck_assert_str_eq(f.host_addr, "127.0.0.1");
	ck_assert_uint_eq(f.host_port, 1);
	ck_assert_uint_eq(f.guest_port, 65535);
	ck_assert_str_eq(f.guest_addr, "10.0.2.15");

	f = fwd_ok("tcp", "[::1]:8080:80", &no_opts);
	ck_assert_str_eq(f.host_addr, "::1");
	f = fwd_ok("tcp", "[::]:8080:80", &no_opts);
	ck_assert_str_eq(f.host_addr, "::");
	/* written the long way, sent canonical */
	f = fwd_ok("tcp", "[0:0:0:0:0:0:0:1]:8080:80", &no_opts);
	ck_assert_str_eq(f.host_addr, "::1");

	/* --slirp is fine with udp */
	f = fwd_ok("udp", "5353:53", &udp_slirp);
	ck_assert(f.udp && !g_strcmp0(f.mode, "slirp") && f.source_ip &&
		  !f.proxy_protocol);
}
END_TEST

/* --mode: the four modes by name, --slirp as --mode slirp, and clashes */
START_TEST(modes)
{
	static const char *const names[] = { "auto", "splice", "slirp", "tap" };
	struct ctl_add_opts both = { .mode = "slirp", .slirp = true };
	struct ctl_add_opts clash = { .mode = "tap", .slirp = true };
	struct ctl_add_opts bad = { .mode = "fast" };
	struct ctl_cmd cmd = { .verb = CTL_ADD };
	g_autofree char *req = NULL;
	struct ctl_fwd f;

	for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
		struct ctl_add_opts o = { .mode = names[i] };

		f = fwd_ok("tcp", "8080:80", &o);
		ck_assert_str_eq(f.mode, names[i]);
	}
	f = fwd_ok("tcp", "8080:80", &both);
	ck_assert_str_eq(f.mode, "slirp");
	expect_fwd_error("tcp", "8080:80", &clash,
			 "--slirp and --mode tap disagree");
	expect_fwd_error("tcp", "8080:80", &bad,
			 "unknown mode \"fast\": give auto, splice, slirp or "
			 "tap");
	/* the request names the mode only when one was given */
	cmd.fwd = fwd_ok("tcp", "8080:80", &no_opts);
	req = ctl_request(&cmd);
	ck_assert_ptr_null(strstr(req, "mode"));
	g_free(req);
	cmd.fwd.mode = "tap";
	req = ctl_request(&cmd);
	ck_assert_ptr_nonnull(strstr(req, "\"mode\":\"tap\""));
}
END_TEST

START_TEST(spec_errors)
{
	struct ctl_add_opts pp = { .proxy_protocol = true };
	struct ctl_add_opts g6 = { .guest_addr = "fd00::100" };
	struct ctl_add_opts gbad = { .guest_addr = "10.0.2" };
	struct ctl_add_opts gempty = { .guest_addr = "" };

	expect_fwd_error("icmp", "8080:80", &no_opts,
			 "unknown protocol \"icmp\": expected tcp or udp");
	expect_fwd_error("TCP", "8080:80", &no_opts, "unknown protocol");
	expect_fwd_error("tcp", "0:80", &no_opts,
			 "the host port 0 is out of range: ports go from 1 "
			 "to 65535");
	expect_fwd_error("tcp", "8080:0", &no_opts,
			 "the guest port 0 is out of range");
	expect_fwd_error("tcp", "8080:65536", &no_opts,
			 "the guest port 65536 is out of range");
	expect_fwd_error("udp", "99999999999999999999999:80", &no_opts,
			 "host port 99999999999999999999999 is out of range");
	expect_fwd_error("tcp", "abc:80", &no_opts,
			 "the host port \"abc\" is not a number");
	expect_fwd_error("tcp", "+80:80", &no_opts, "is not a number");
	expect_fwd_error("tcp", " 80:80", &no_opts, "is not a number");
	expect_fwd_error("tcp", "80:80x", &no_opts,
			 "the guest port \"80x\" is not a number");
	expect_fwd_error("tcp", "-1:80", &no_opts, "is not a number");
	expect_fwd_error("tcp", "8080:", &no_opts, "the guest port is missing");
	expect_fwd_error("tcp", ":80", &no_opts, "the host port is missing");
	expect_fwd_error("tcp", "8080", &no_opts,
			 "expected [HOSTADDR:]HOSTPORT:GUESTPORT");
	expect_fwd_error("tcp", "", &no_opts, "expected [HOSTADDR:]");
	expect_fwd_error("tcp", ":8080:80", &no_opts,
			 "the host address before the first ':' is empty");
	expect_fwd_error("tcp", "::1:8080:80", &no_opts,
			 "too many ':': write an IPv6 host address in "
			 "brackets");
	expect_fwd_error("tcp", "localhost:8080:80", &no_opts,
			 "bad host address \"localhost\"");
	expect_fwd_error("tcp", "1.2.3:8080:80", &no_opts,
			 "bad host address \"1.2.3\"");
	expect_fwd_error("tcp", "256.0.0.1:8080:80", &no_opts,
			 "bad host address");
	expect_fwd_error("tcp", "[::1:8080:80", &no_opts, "is not closed");
	expect_fwd_error("tcp", "[::1]8080:80", &no_opts,
			 "expected ':' and the host port after the ']'");
	expect_fwd_error("tcp", "[::1]:8080", &no_opts,
			 "expected [HOSTADDR:]HOSTPORT:GUESTPORT after");
	expect_fwd_error("tcp", "[::1]:8080:80:1", &no_opts, "after");
	expect_fwd_error("tcp", "[127.0.0.1]:8080:80", &no_opts,
			 "brackets hold an IPv6 address");
	expect_fwd_error("tcp", "[]:8080:80", &no_opts, "bad host address");
	expect_fwd_error("tcp", "[::1]:0:80", &no_opts,
			 "the host port 0 is out of range");
	expect_fwd_error("tcp", "8080:80", &g6,
			 "--guest-addr fd00::100: forwards reach the guest "
			 "over IPv4");
	expect_fwd_error("tcp", "8080:80", &gbad,
			 "--guest-addr \"10.0.2\" is not an IPv4 address");
	expect_fwd_error("tcp", "8080:80", &gempty, "is not an IPv4 address");
	expect_fwd_error("udp", "5353:53", &pp,
			 "--proxy-protocol is for TCP forwards only");
	/* with tcp it is fine */
	ck_assert(fwd_ok("tcp", "8080:80", &pp).proxy_protocol);
}
END_TEST

START_TEST(ids)
{
	static const char *const bad[] = {
		"0",  "-1", "abc", "1.5",	 "",
		" 1", "+1", "1x",  "2147483648", "99999999999999999999999"
	};
	int id = 0;

	ck_assert(ctl_parse_id("1", &id, NULL));
	ck_assert_int_eq(id, 1);
	ck_assert(ctl_parse_id("2147483647", &id, NULL));
	ck_assert_int_eq(id, 2147483647);
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) err = NULL;

		ck_assert_msg(!ctl_parse_id(bad[i], &id, &err), "accepted %s",
			      bad[i]);
		ck_assert_int_eq(err->code, CTL_USAGE);
		ck_assert_msg(strstr(err->message, "is not a positive integer"),
			      "%s: %s", bad[i], err->message);
	}
}
END_TEST

/* parse_cmd() - ctl_parse_cmd() on a NULL-terminated argument list */
static bool parse_cmd(const struct ctl_add_opts *opts, struct ctl_cmd *cmd,
		      GError **err, char **argv)
{
	return ctl_parse_cmd((int)g_strv_length(argv), argv, opts, cmd, err);
}

/* expect_cmd_error() - the arguments (a NULL-terminated char *[]) are
 * refused as a usage error containing @needle */
static void expect_cmd_error(const struct ctl_add_opts *opts, char **argv,
			     const char *needle)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *args = g_strjoinv(" ", argv);
	struct ctl_cmd cmd;

	ck_assert_msg(!parse_cmd(opts, &cmd, &err, argv), "accepted: %s", args);
	ck_assert_int_eq(err->code, CTL_USAGE);
	ck_assert_msg(strstr(err->message, needle), "%s: \"%s\" lacks %s", args,
		      err->message, needle);
}

#define ARGS(...) ((char *[]){ __VA_ARGS__, NULL })

START_TEST(commands)
{
	struct ctl_add_opts slirp = { .slirp = true };
	struct ctl_cmd cmd;

	ck_assert(parse_cmd(&no_opts, &cmd, NULL, ARGS("list")));
	ck_assert_int_eq(cmd.verb, CTL_LIST);
	ck_assert(parse_cmd(&no_opts, &cmd, NULL, ARGS("stats")));
	ck_assert_int_eq(cmd.verb, CTL_STATS);
	ck_assert(parse_cmd(&no_opts, &cmd, NULL, ARGS("info")));
	ck_assert_int_eq(cmd.verb, CTL_INFO);
	ck_assert(parse_cmd(&no_opts, &cmd, NULL, ARGS("remove", "42")));
	ck_assert_int_eq(cmd.verb, CTL_REMOVE);
	ck_assert_int_eq(cmd.id, 42);
	ck_assert(parse_cmd(&slirp, &cmd, NULL, ARGS("add", "udp", "53:53")));
	ck_assert_int_eq(cmd.verb, CTL_ADD);
	ck_assert(cmd.fwd.udp && !g_strcmp0(cmd.fwd.mode, "slirp"));
	ck_assert_uint_eq(cmd.fwd.host_port, 53);
	/* "--" ends options, wherever it is */
	ck_assert(parse_cmd(&no_opts, &cmd, NULL, ARGS("--", "remove", "9")));
	ck_assert_int_eq(cmd.verb, CTL_REMOVE);
	ck_assert_int_eq(cmd.id, 9);
	ck_assert(parse_cmd(&no_opts, &cmd, NULL, ARGS("remove", "--", "8")));
	ck_assert_int_eq(cmd.id, 8);
}
END_TEST

START_TEST(command_errors)
{
	struct ctl_add_opts slirp = { .slirp = true };
	struct ctl_add_opts guest = { .guest_addr = "10.0.2.15" };
	struct ctl_add_opts pp = { .proxy_protocol = true };
	struct ctl_add_opts sip = { .source_ip = true };
	char *none[] = { NULL };

	expect_cmd_error(&no_opts, none,
			 "no command given: expected add, "
			 "list, remove, stats or info");
	expect_cmd_error(&no_opts, ARGS("frob"), "unknown command \"frob\"");
	expect_cmd_error(&no_opts, ARGS("List"), "unknown command");
	expect_cmd_error(&no_opts, ARGS("list", "x"),
			 "list: unexpected argument \"x\" (usage: "
			 "slirpnetd-ctl list)");
	expect_cmd_error(&no_opts, ARGS("info", "1"), "unexpected argument");
	expect_cmd_error(&no_opts, ARGS("stats", "1"), "unexpected argument");
	expect_cmd_error(&no_opts, ARGS("remove"),
			 "remove: missing the forward's ID");
	expect_cmd_error(&no_opts, ARGS("remove", "1", "2"),
			 "remove: unexpected argument \"2\"");
	expect_cmd_error(&no_opts, ARGS("remove", "0"),
			 "the ID \"0\" is not a positive integer");
	expect_cmd_error(&no_opts, ARGS("remove", "-1"),
			 "the ID \"-1\" is not a positive integer");
	expect_cmd_error(&no_opts, ARGS("add"),
			 "add: missing the protocol (tcp or udp)");
	expect_cmd_error(&no_opts, ARGS("add", "tcp"),
			 "add: missing the ports ([HOSTADDR:]HOSTPORT:"
			 "GUESTPORT)");
	expect_cmd_error(&no_opts, ARGS("add", "tcp", "1:2", "3"),
			 "add: unexpected argument \"3\"");
	expect_cmd_error(&no_opts, ARGS("add", "tcp", "1:0"),
			 "guest port 0 is out of range");
	expect_cmd_error(&no_opts, ARGS("list", "--bogus"),
			 "unknown option --bogus");
	expect_cmd_error(&no_opts, ARGS("-x", "list"), "unknown option -x");
	expect_cmd_error(&no_opts, ARGS("remove", "--", "-1"),
			 "the ID \"-1\" is not a positive integer");
	expect_cmd_error(&no_opts, ARGS("remove", "--", "--", "1"),
			 "remove: unexpected argument \"1\"");
	expect_cmd_error(&slirp, ARGS("list"),
			 "--slirp only applies to add, not to list");
	expect_cmd_error(&guest, ARGS("remove", "1"),
			 "--guest-addr only applies to add");
	expect_cmd_error(&pp, ARGS("stats"), "--proxy-protocol only applies");
	expect_cmd_error(&sip, ARGS("info"), "--source-ip only applies");
}
END_TEST

/* request_of() - the request of the command in @argv, with @opts */
static char *request_of(const struct ctl_add_opts *opts, char **argv)
{
	struct ctl_cmd cmd;

	ck_assert(parse_cmd(opts, &cmd, NULL, argv));
	return ctl_request(&cmd);
}

/* expect_request() - @argv with @opts makes exactly @want */
static void expect_request(const struct ctl_add_opts *opts, char **argv,
			   const char *want)
{
	g_autofree char *req = request_of(opts, argv);

	ck_assert_str_eq(req, want);
	ck_assert_uint_lt(strlen(req), CTL_MAX_REQUEST);
}

START_TEST(requests)
{
	struct ctl_add_opts all = { .guest_addr = "10.0.2.15",
				    .slirp = true,
				    .proxy_protocol = true,
				    .source_ip = true };
	struct ctl_add_opts sip = { .source_ip = true };

	expect_request(&no_opts, ARGS("list"),
		       "{\"execute\":\"list_hostfwd\"}");
	expect_request(&no_opts, ARGS("stats"), "{\"execute\":\"get_stats\"}");
	expect_request(&no_opts, ARGS("info"), "{\"execute\":\"get_info\"}");
	expect_request(&no_opts, ARGS("remove", "7"),
		       "{\"execute\":\"remove_hostfwd\","
		       "\"arguments\":{\"id\":7}}");
	expect_request(&no_opts, ARGS("add", "tcp", "8080:80"),
		       "{\"execute\":\"add_hostfwd\",\"arguments\":{"
		       "\"proto\":\"tcp\",\"host_addr\":\"0.0.0.0\","
		       "\"host_port\":8080,\"guest_port\":80}}");
	expect_request(&sip, ARGS("add", "udp", "127.0.0.1:5353:53"),
		       "{\"execute\":\"add_hostfwd\",\"arguments\":{"
		       "\"proto\":\"udp\",\"host_addr\":\"127.0.0.1\","
		       "\"host_port\":5353,\"guest_port\":53,"
		       "\"source_ip\":true}}");
	expect_request(&all, ARGS("add", "tcp", "[::1]:8443:443"),
		       "{\"execute\":\"add_hostfwd\",\"arguments\":{"
		       "\"proto\":\"tcp\",\"host_addr\":\"::1\","
		       "\"host_port\":8443,\"guest_addr\":\"10.0.2.15\","
		       "\"guest_port\":443,\"mode\":\"slirp\","
		       "\"proxy_protocol\":true,\"source_ip\":true}}");
	/* the longest address there is stays far under the daemon's cap */
	expect_request(
	    &all,
	    ARGS("add", "tcp",
		 "[ffff:ffff:ffff:ffff:ffff:ffff:"
		 "255.255.255.255]:65535:65535"),
	    "{\"execute\":\"add_hostfwd\",\"arguments\":{"
	    "\"proto\":\"tcp\",\"host_addr\":\"ffff:ffff:ffff:ffff:ffff:ffff:"
	    "ffff:ffff\",\"host_port\":65535,\"guest_addr\":\"10.0.2.15\","
	    "\"guest_port\":65535,\"mode\":\"slirp\","
	    "\"proxy_protocol\":true,\"source_ip\":true}}");
}
END_TEST

/* format() - ctl_format_reply() on a string; it must succeed */
static char *format(enum ctl_verb verb, const char *reply)
{
	g_autoptr(GError) err = NULL;
	char *out = ctl_format_reply(verb, reply, strlen(reply), &err);

	ck_assert_msg(out, "refused %s: %s", reply, err ? err->message : "?");
	ck_assert(ctl_check_reply(verb, reply, strlen(reply), NULL));
	return out;
}

/* expect_format() - @reply to @verb prints exactly @want */
static void expect_format(enum ctl_verb verb, const char *reply,
			  const char *want)
{
	g_autofree char *out = format(verb, reply);

	ck_assert_str_eq(out, want);
}

#define LIST_ENTRIES                                                           \
	"[{\"id\":1,\"proto\":\"tcp\",\"host_addr\":\"0.0.0.0\","              \
	"\"host_port\":8080,\"guest_addr\":\"10.0.2.100\",\"guest_port\":80}," \
	"{\"id\":12,\"proto\":\"udp\",\"host_addr\":\"::1\","                  \
	"\"host_port\":5353,\"guest_addr\":\"10.0.2.100\",\"guest_port\":53,"  \
	"\"mode\":\"slirp\"},"                                                 \
	"{\"id\":3,\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\","             \
	"\"host_port\":443,\"guest_addr\":\"10.0.2.15\",\"guest_port\":8443,"  \
	"\"proxy_protocol\":true,\"source_ip\":true}]"

#define LIST_TABLE                                                             \
	"ID  PROTO  HOST           GUEST           MODE\n"                     \
	" 1  tcp    0.0.0.0:8080   10.0.2.100:80   default\n"                  \
	"12  udp    [::1]:5353     10.0.2.100:53   slirp\n"                    \
	" 3  tcp    127.0.0.1:443  10.0.2.15:8443  default,proxy-protocol,"    \
	"source-ip\n"

START_TEST(format_list)
{
	/* as the daemon (and slirp4netns) sends it, and in "return" */
	expect_format(CTL_LIST, "{\"entries\":" LIST_ENTRIES "}", LIST_TABLE);
	expect_format(CTL_LIST, "{\"return\":{\"entries\":" LIST_ENTRIES "}}",
		      LIST_TABLE);
	expect_format(CTL_LIST, "{\"entries\":[]}",
		      "ID  PROTO  HOST  GUEST  MODE\n");
	/* members it does not know are ignored */
	expect_format(CTL_LIST,
		      "{\"entries\":[{\"id\":5,\"proto\":\"tcp\",\"host_addr\":"
		      "\"::\",\"host_port\":1,\"guest_addr\":\"10.0.2.100\","
		      "\"guest_port\":2,\"mode\":\"splice\",\"new\":[1]}]}\n",
		      "ID  PROTO  HOST    GUEST         MODE\n"
		      " 5  tcp    [::]:1  10.0.2.100:2  splice\n");
}
END_TEST

START_TEST(format_stats)
{
	const char *reply =
	    "{\"return\":{\"entries\":["
	    "{\"id\":1,\"proto\":\"tcp\",\"mode\":\"splice\","
	    "\"connections_open\":2,\"connections_total\":1234,"
	    "\"bytes_to_guest\":1258291,\"bytes_from_guest\":512,"
	    "\"errors\":0},"
	    "{\"id\":2,\"proto\":\"tcp\",\"mode\":\"slirp\"},"
	    "{\"id\":10,\"proto\":\"udp\",\"mode\":\"splice\","
	    "\"connections_open\":0,\"connections_total\":7,"
	    "\"bytes_to_guest\":5368709120,\"bytes_from_guest\":1536,"
	    "\"errors\":3}]}}";

	expect_format(CTL_STATS, reply,
		      "ID  PROTO  MODE    OPEN  TOTAL  TO-GUEST  FROM-GUEST  "
		      "ERRORS\n"
		      " 1  tcp    splice     2   1234   1.2 MiB       512 B  "
		      "     0\n"
		      " 2  tcp    slirp      -      -         -           -  "
		      "     -\n"
		      "10  udp    splice     0      7   5.0 GiB     1.5 KiB  "
		      "     3\n");
	expect_format(CTL_STATS, "{\"return\":{\"entries\":[]}}",
		      "ID  PROTO  MODE  OPEN  TOTAL  TO-GUEST  FROM-GUEST  "
		      "ERRORS\n");
}
END_TEST

START_TEST(format_info)
{
	/* the daemon's order, whatever it is; values as JSON unless strings */
	expect_format(CTL_INFO,
		      "{\"return\":{\"version\":\"0.1.0\",\"pid\":123,"
		      "\"netns\":\"/proc/123/ns/net\",\"ipv6\":false,"
		      "\"zeta\":{\"a\":[1,2]},\"alpha\":null,"
		      "\"forwards\":2}}",
		      "version: 0.1.0\n"
		      "pid: 123\n"
		      "netns: /proc/123/ns/net\n"
		      "ipv6: false\n"
		      "zeta: {\"a\":[1,2]}\n"
		      "alpha: null\n"
		      "forwards: 2\n");
	expect_format(CTL_INFO, "{\"return\":{}}", "");
}
END_TEST

START_TEST(format_add_remove)
{
	expect_format(CTL_ADD, "{\"return\":{\"id\":3}}", "3\n");
	expect_format(CTL_ADD, "  {\"return\":{\"id\":4096}}\n", "4096\n");
	expect_format(CTL_REMOVE, "{\"return\":{}}", "");
}
END_TEST

/* expect_reply_error() - @reply to @verb is refused with @code, and the
 * message contains @needle */
static void expect_reply_error(enum ctl_verb verb, const char *reply, gsize len,
			       int code, const char *needle)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GError) err2 = NULL;

	ck_assert_msg(!ctl_format_reply(verb, reply, len, &err), "accepted: %s",
		      reply);
	ck_assert_int_eq(err->code, code);
	ck_assert_msg(strstr(err->message, needle), "%s: \"%s\" lacks %s",
		      reply, err->message, needle);
	ck_assert(!ctl_check_reply(verb, reply, len, &err2));
	ck_assert_str_eq(err2->message, err->message);
}

#define expect_bad(verb, reply, needle)                                        \
	expect_reply_error(verb, reply, strlen(reply), CTL_UNREACHABLE,        \
			   "the daemon's reply is not valid: " needle)

START_TEST(error_replies)
{
	g_autoptr(GError) err = NULL;
	const char *e = "{\"error\":{\"desc\":\"bad request: remove_hostfwd: "
			"bad arguments.id\"}}";

	ck_assert(!ctl_format_reply(CTL_REMOVE, e, strlen(e), &err));
	ck_assert_int_eq(err->code, CTL_REFUSED);
	ck_assert_str_eq(err->message,
			 "bad request: remove_hostfwd: bad arguments.id");
	/* an error answers any command the same way */
	expect_reply_error(CTL_ADD, e, strlen(e), CTL_REFUSED,
			   "bad arguments.id");
	/* a daemon without get_stats: the reason, then which request */
	expect_reply_error(
	    CTL_STATS,
	    "{\"error\":{\"desc\":\"bad request: unknown "
	    "execute\"}}",
	    strlen("{\"error\":{\"desc\":\"bad request: unknown execute\"}}"),
	    CTL_REFUSED,
	    "bad request: unknown execute (this daemon does "
	    "not know get_stats");
}
END_TEST

START_TEST(malformed_replies)
{
	expect_bad(CTL_LIST, "", "the daemon closed the connection without");
	expect_bad(CTL_LIST, "garbage", "not JSON");
	expect_bad(CTL_LIST, "{\"entries\":[", "not JSON");
	expect_bad(CTL_LIST, "[1]", "not a JSON object");
	expect_bad(CTL_LIST, "\"x\"", "not a JSON object");
	expect_bad(CTL_ADD, "{\"error\":\"x\"}", "an \"error\" without");
	expect_bad(CTL_ADD, "{\"error\":{}}", "an \"error\" without");
	expect_bad(CTL_ADD, "{\"error\":{\"desc\":5}}", "an \"error\" without");
	expect_bad(CTL_ADD, "{\"return\":5}", "no \"return\" object");
	expect_bad(CTL_ADD, "{}", "no \"return\" object");
	expect_bad(CTL_ADD, "{\"return\":{}}", "no \"id\"");
	expect_bad(CTL_ADD, "{\"return\":{\"id\":\"1\"}}", "no \"id\"");
	expect_bad(CTL_REMOVE, "{\"entries\":[]}", "no \"return\" object");
	expect_bad(CTL_LIST, "{}", "no \"entries\" array");
	expect_bad(CTL_LIST, "{\"entries\":5}", "no \"entries\" array");
	expect_bad(CTL_LIST, "{\"return\":{}}", "no \"entries\" array");
	expect_bad(CTL_LIST, "{\"entries\":[5]}", "entry 1 is not an object");
	expect_bad(CTL_LIST,
		   "{\"entries\":[{\"id\":1,\"proto\":\"tcp\","
		   "\"host_addr\":\"0.0.0.0\",\"host_port\":1,"
		   "\"guest_addr\":\"10.0.2.100\",\"guest_port\":1},"
		   "{\"id\":2}]}",
		   "entry 2 lacks one of id, proto");
	expect_bad(CTL_LIST,
		   "{\"entries\":[{\"id\":1,\"proto\":\"tcp\","
		   "\"host_addr\":\"0.0.0.0\",\"host_port\":\"1\","
		   "\"guest_addr\":\"10.0.2.100\",\"guest_port\":1}]}",
		   "entry 1 lacks");
	expect_bad(CTL_STATS,
		   "{\"return\":{\"entries\":[{\"proto\":\"tcp\"}]}}",
		   "entry 1 lacks id or proto");
	expect_bad(CTL_STATS, "{\"return\":{\"entries\":{}}}",
		   "no \"entries\" array");
	expect_bad(CTL_INFO, "{\"return\":[]}", "no \"return\" object");
	/* a NUL inside the reply */
	expect_reply_error(CTL_REMOVE, "{\"return\":{}}\0x", 15,
			   CTL_UNREACHABLE, "NUL byte");
}
END_TEST

START_TEST(human_bytes)
{
	static const struct {
		guint64 n;
		const char *want;
	} cases[] = {
		{ 0, "0 B" },
		{ 1023, "1023 B" },
		{ 1024, "1.0 KiB" },
		{ 1536, "1.5 KiB" },
		{ 1048575, "1.0 MiB" },
		{ 1258291, "1.2 MiB" },
		{ 5368709120ULL, "5.0 GiB" },
		{ G_MAXUINT64, "16.0 EiB" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *s = ctl_human_bytes(cases[i].n);

		ck_assert_str_eq(s, cases[i].want);
	}
}
END_TEST

/* main() - run the suite; the exit status says whether all passed */
int main(void)
{
	Suite *s = suite_create("ctl");
	TCase *args = tcase_create("arguments");
	TCase *json = tcase_create("json");

	tcase_add_test(args, spec_forms);
	tcase_add_test(args, modes);
	tcase_add_test(args, spec_errors);
	tcase_add_test(args, ids);
	tcase_add_test(args, commands);
	tcase_add_test(args, command_errors);
	tcase_add_test(json, requests);
	tcase_add_test(json, format_list);
	tcase_add_test(json, format_stats);
	tcase_add_test(json, format_info);
	tcase_add_test(json, format_add_remove);
	tcase_add_test(json, error_replies);
	tcase_add_test(json, malformed_replies);
	tcase_add_test(json, human_bytes);
	suite_add_tcase(s, args);
	suite_add_tcase(s, json);
	return sn_ck_run(s, CK_NORMAL);
}
