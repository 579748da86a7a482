/* test_api.c - unit tests for src/api.c and src/forward.c: slirp4netns's
 * replies byte for byte on a real libslirp, and the control socket server. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api.h"
#include "slirpstub.h"
#include "ckrun.h"

/* Guard against a hang only; no test relies on timing. */
#define HANG_GUARD_US (20 * G_USEC_PER_SEC)

struct env {
	Slirp *slirp;
	struct sn_fwd_table fwds;
	struct in_addr guest;
	struct sn_api_ctx api_ctx;
	GMainContext *ctx; /* thread-default while the test runs */
	char *dir;
	char *path;
};

/* ip() - parse dotted IPv4 @s */
static struct in_addr ip(const char *s)
{
	struct in_addr a;

	ck_assert_int_eq(inet_pton(AF_INET, s, &a), 1);
	return a;
}

/* env_new() - a slirp on 10.0.2.0/24, its forward table, a private
 * thread-default main context and a temporary directory */
static struct env *env_new(void)
{
	struct env *e = g_new0(struct env, 1);

	e->slirp = sn_test_slirp_new();
	ck_assert_ptr_nonnull(e->slirp);
	sn_fwd_table_init(&e->fwds, e->slirp, NULL);
	e->guest = ip("10.0.2.100");
	e->api_ctx =
	    (struct sn_api_ctx){ .fwds = &e->fwds, .default_guest = e->guest };
	e->ctx = g_main_context_new();
	g_main_context_push_thread_default(e->ctx);
	e->dir = g_dir_make_tmp("slirpnetd-test-api-XXXXXX", NULL);
	ck_assert_ptr_nonnull(e->dir);
	e->path = g_build_filename(e->dir, "api.sock", NULL);
	return e;
}

/* env_free() - undo env_new(); the socket file must be gone by now */
static void env_free(struct env *e)
{
	sn_fwd_table_clear(&e->fwds);
	slirp_cleanup(e->slirp);
	g_main_context_pop_thread_default(e->ctx);
	g_main_context_unref(e->ctx);
	ck_assert_int_eq(g_rmdir(e->dir), 0);
	g_free(e->dir);
	g_free(e->path);
	g_free(e);
}

/* free_port() - a 127.0.0.1 port of socket @type nobody uses right now */
static unsigned int free_port(int type)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	sin.sin_addr = ip("127.0.0.1");
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

/* request_len() - the reply to the @len bytes at @req */
static char *request_len(struct env *e, const char *req, gsize len)
{
	return sn_api_handle_request(&e->api_ctx, req, len);
}

/* request() - the reply to the string @req */
static char *request(struct env *e, const char *req)
{
	return request_len(e, req, strlen(req));
}

/* expect() - assert that @req gets exactly @reply */
static void expect(struct env *e, const char *req, const char *reply)
{
	g_autofree char *got = request(e, req);

	ck_assert_str_eq(got, reply);
}

/* expect_prefix() - assert that @req gets a reply starting with @prefix */
static void expect_prefix(struct env *e, const char *req, const char *prefix)
{
	g_autofree char *got = request(e, req);

	ck_assert_msg(g_str_has_prefix(got, prefix), "reply %s lacks %s", got,
		      prefix);
}

/* expect_prefix_printf() - expect_prefix(), the request built from @fmt */
static void G_GNUC_PRINTF(3, 4)
    expect_prefix_printf(struct env *e, const char *prefix, const char *fmt,
			 ...)
{
	g_autofree char *req = NULL;
	va_list ap;

	va_start(ap, fmt);
	req = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	expect_prefix(e, req, prefix);
}

/* expect_printf() - expect(), with the request built from @fmt */
static void G_GNUC_PRINTF(3, 4)
    expect_printf(struct env *e, const char *reply, const char *fmt, ...)
{
	g_autofree char *req = NULL;
	va_list ap;

	va_start(ap, fmt);
	req = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	expect(e, req, reply);
}

/* add_req() - an add_hostfwd request for 127.0.0.1:@port to guest port 80 */
static char *add_req(const char *proto, unsigned int port)
{
	return g_strdup_printf("{\"execute\":\"add_hostfwd\",\"arguments\":"
			       "{\"proto\":\"%s\",\"host_addr\":\"127.0.0.1\","
			       "\"host_port\":%u,\"guest_port\":80}}",
			       proto, port);
}

/* expect_add() - assert that adding @proto 127.0.0.1:@port gets id @id */
static void expect_add(struct env *e, const char *proto, unsigned int port,
		       int id)
{
	g_autofree char *req = add_req(proto, port);
	g_autofree char *want = g_strdup_printf("{\"return\":{\"id\":%d}}", id);

	expect(e, req, want);
}

#define E_PARSE	    "{\"error\":{\"desc\":\"bad request: cannot parse JSON\"}}"
#define E_OBJECT    "{\"error\":{\"desc\":\"bad request: json_object() failed\"}}"
#define E_NOEXEC    "{\"error\":{\"desc\":\"bad request: no execute found\"}}"
#define E_UNKNOWN   "{\"error\":{\"desc\":\"bad request: unknown execute\"}}"
#define E_LARGE	    "{\"error\":{\"desc\":\"bad request: too large message\"}}"
#define E_ADD_START "{\"error\":{\"desc\":\"bad request: add_hostfwd: "
#define E_ADD(what)                                                            \
	"{\"error\":{\"desc\":\"bad request: add_hostfwd: " what "\"}}"
/* slirp4netns's words, then ours saying why */
#define E_FAILED                                                               \
	"{\"error\":{\"desc\":\"bad request: add_hostfwd: "                    \
	"slirp_add_hostfwd failed: cannot listen on "
#define E_PROTO	     E_ADD("bad arguments.proto")
#define E_HOST_ADDR  E_ADD("bad arguments.host_addr")
#define E_HOST_PORT  E_ADD("bad arguments.host_port")
#define E_GUEST_ADDR E_ADD("bad arguments.guest_addr")
#define E_GUEST_PORT E_ADD("bad arguments.guest_port")
#define E_ID                                                                   \
	"{\"error\":{\"desc\":\"bad request: remove_hostfwd: bad "             \
	"arguments.id\"}}"
#define R_EMPTY "{\"return\":{}}"
#define LIST	"{\"execute\":\"list_hostfwd\"}"
#define REMOVE(id)                                                             \
	"{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":" id "}}"

START_TEST(add_list_remove)
{
	struct env *e = env_new();
	unsigned int tport = free_port(SOCK_STREAM);
	unsigned int uport = free_port(SOCK_DGRAM);
	g_autofree char *list = NULL;
	g_autofree char *want = NULL;

	expect(e, LIST, "{\"entries\":[]}");
	expect_add(e, "tcp", tport, 1);
	expect_add(e, "udp", uport, 2);
	want = g_strdup_printf(
	    "{\"entries\":[{\"id\":1,\"proto\":\"tcp\",\"host_addr\":"
	    "\"127.0.0.1\",\"host_port\":%u,\"guest_addr\":\"10.0.2.100\","
	    "\"guest_port\":80},{\"id\":2,\"proto\":\"udp\",\"host_addr\":"
	    "\"127.0.0.1\",\"host_port\":%u,\"guest_addr\":\"10.0.2.100\","
	    "\"guest_port\":80}]}",
	    tport, uport);
	list = request(e, LIST);
	ck_assert_str_eq(list, want);
	expect(e, REMOVE("1"), R_EMPTY);
	expect(e, REMOVE("1"), E_ID);
	/* ids are never reused */
	expect_add(e, "tcp", tport, 3);
	expect(e, REMOVE("2"), R_EMPTY);
	expect(e, REMOVE("3"), R_EMPTY);
	expect(e, LIST, "{\"entries\":[]}");
	env_free(e);
}
END_TEST

START_TEST(add_defaults_and_guest_addr)
{
	struct env *e = env_new();
	unsigned int port = free_port(SOCK_STREAM);
	g_autofree char *list = NULL;
	g_autofree char *want = NULL;

	/* host_addr "" means 0.0.0.0: refused as overlapping, never bound */
	expect_add(e, "tcp", port, 1);
	expect_prefix_printf(
	    e, E_FAILED,
	    "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":"
	    "\"tcp\",\"host_addr\":\"\",\"host_port\":%u,"
	    "\"guest_port\":80}}",
	    port);
	expect_prefix_printf(
	    e, E_FAILED,
	    "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":"
	    "\"tcp\",\"host_port\":%u,\"guest_port\":80}}",
	    port);
	expect(e, REMOVE("1"), R_EMPTY);
	expect_printf(e, "{\"return\":{\"id\":2}}",
		      "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":"
		      "\"tcp\",\"host_addr\":\"127.0.0.1\",\"host_port\":%u,"
		      "\"guest_addr\":\"10.0.2.15\",\"guest_port\":8080}}",
		      port);
	want = g_strdup_printf(
	    "{\"entries\":[{\"id\":2,\"proto\":\"tcp\",\"host_addr\":"
	    "\"127.0.0.1\",\"host_port\":%u,\"guest_addr\":\"10.0.2.15\","
	    "\"guest_port\":8080}]}",
	    port);
	list = request(e, LIST);
	ck_assert_str_eq(list, want);
	env_free(e);
}
END_TEST

START_TEST(add_duplicate)
{
	struct env *e = env_new();
	unsigned int tport = free_port(SOCK_STREAM);
	unsigned int uport = free_port(SOCK_DGRAM);
	g_autofree char *tcp = add_req("tcp", tport);
	g_autofree char *udp = add_req("udp", uport);

	expect_add(e, "tcp", tport, 1);
	expect_prefix(e, tcp, E_FAILED);
	expect_add(e, "udp", uport, 2);
	expect_prefix(e, udp, E_FAILED);
	/* a failed add uses up no id */
	expect(e, REMOVE("2"), R_EMPTY);
	expect_add(e, "udp", uport, 3);
	env_free(e);
}
END_TEST

START_TEST(add_bad_arguments)
{
	static const char *const bad_ports[] = {
		"70000", "-1",	  "1.5",   "\"80\"",
		"0",	 "65536", "true",  "null",
		"{}",	 "[]",	  "1e400", "99999999999999999999",
	};
	struct env *e = env_new();

	expect(e, "{\"execute\":\"add_hostfwd\"}", E_PROTO);
	expect(e, "{\"execute\":\"add_hostfwd\",\"arguments\":[1]}", E_PROTO);
	expect(e, "{\"execute\":\"add_hostfwd\",\"arguments\":{}}", E_PROTO);
	expect(e,
	       "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":"
	       "\"sctp\",\"host_port\":1,\"guest_port\":1}}",
	       E_PROTO);
	expect(e,
	       "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":"
	       "\"TCP\"}}",
	       E_PROTO);
	expect(e,
	       "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":"
	       "\"tcp\",\"host_addr\":\"127.1\"}}",
	       E_HOST_ADDR);
	expect(e,
	       "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":"
	       "\"tcp\",\"host_addr\":\"::g\"}}",
	       E_HOST_ADDR);
	expect(e,
	       "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":"
	       "\"tcp\",\"host_addr\":7}}",
	       E_HOST_ADDR);
	expect(e,
	       "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":"
	       "\"udp\",\"host_addr\":\"127.0.0.1\"}}",
	       E_HOST_PORT);
	for (gsize i = 0; i < G_N_ELEMENTS(bad_ports); i++)
		expect_printf(e, E_HOST_PORT,
			      "{\"execute\":\"add_hostfwd\",\"arguments\":"
			      "{\"proto\":\"tcp\",\"host_port\":%s,"
			      "\"guest_port\":80}}",
			      bad_ports[i]);
	expect(e,
	       "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":"
	       "\"tcp\",\"host_port\":1,\"guest_addr\":\"10.0.2\"}}",
	       E_GUEST_ADDR);
	expect(e,
	       "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":"
	       "\"tcp\",\"host_port\":1}}",
	       E_GUEST_PORT);
	for (gsize i = 0; i < G_N_ELEMENTS(bad_ports); i++)
		expect_printf(e, E_GUEST_PORT,
			      "{\"execute\":\"add_hostfwd\",\"arguments\":"
			      "{\"proto\":\"tcp\",\"host_port\":1,"
			      "\"guest_port\":%s}}",
			      bad_ports[i]);
	expect(e, LIST, "{\"entries\":[]}");
	env_free(e);
}
END_TEST

START_TEST(remove_bad_id)
{
	struct env *e = env_new();

	expect(e, "{\"execute\":\"remove_hostfwd\"}", E_ID);
	expect(e, "{\"execute\":\"remove_hostfwd\",\"arguments\":{}}", E_ID);
	expect(e, REMOVE("9"), E_ID);
	expect(e, REMOVE("0"), E_ID);
	expect(e, REMOVE("-1"), E_ID);
	expect(e, REMOVE("\"1\""), E_ID);
	expect(e, REMOVE("1e300"), E_ID);
	expect(e, REMOVE("4294967297"), E_ID);
	env_free(e);
}
END_TEST

START_TEST(malformed_requests)
{
	static const char nul_req[] = "{\"execute\":\"list_hostfwd\"}\0";
	struct env *e = env_new();
	g_autofree char *reply = NULL;

	expect(e, "", E_PARSE);
	expect(e, "  \n", E_PARSE);
	expect(e, "garbage", E_PARSE);
	expect(e, "{\"execute\":", E_PARSE);
	expect(e, "NaN", E_PARSE);
	expect(e, "{\"execute\":\"list_hostfwd\"", E_PARSE);
	expect(e, "\"\xff\"", E_PARSE);
	expect(e, "[1]", E_OBJECT);
	expect(e, "1", E_OBJECT);
	expect(e, "null", E_OBJECT);
	expect(e, "{}", E_NOEXEC);
	expect(e, "{\"execute\":1}", E_NOEXEC);
	expect(e, "{\"execute\":null}", E_NOEXEC);
	expect(e, "{\"execute\":{\"a\":1}}", E_NOEXEC);
	expect(e, "{\"execute\":\"reboot\"}", E_UNKNOWN);
	expect(e, "{\"execute\":\"\"}", E_UNKNOWN);
	expect(e, LIST "\n", "{\"entries\":[]}");
	reply = request_len(e, nul_req, sizeof(nul_req) - 1);
	ck_assert_str_eq(reply, E_PARSE);
	g_free(reply);
	reply = request_len(e, nul_req, 5);
	ck_assert_str_eq(reply, E_PARSE);
	env_free(e);
}
END_TEST

/* nested() - @depth times @open, then @depth times @close if given */
static char *nested(gsize depth, const char *open, const char *close)
{
	GString *s = g_string_new(NULL);

	for (gsize i = 0; i < depth; i++)
		g_string_append(s, open);
	for (gsize i = 0; close && i < depth; i++)
		g_string_append(s, close);
	return g_string_free(s, FALSE);
}

START_TEST(deep_and_large)
{
	struct env *e = env_new();
	g_autofree char *open10k = nested(10000, "[", NULL);
	g_autofree char *open4k = nested(SN_API_MAX_REQUEST - 1, "[", NULL);
	g_autofree char *arrays = nested(2000, "[", "]");
	g_autofree char *objs = nested(500, "{\"a\":", "}");
	g_autofree char *objs_open = nested(500, "{\"a\":", NULL);
	g_autofree char *objs_close = nested(500, "}", NULL);
	g_autofree char *objs_ok =
	    g_strconcat(objs_open, "1", objs_close, NULL);
	g_autofree char *in_obj =
	    g_strdup_printf("{\"a\":%s,\"execute\":1}", arrays);
	g_autofree char *big = g_strnfill(SN_API_MAX_REQUEST, ' ');

	/* one short of well-formed: the innermost value is missing */
	expect(e, objs, E_PARSE);
	expect(e, objs_ok, E_NOEXEC);
	expect(e, open10k, E_LARGE);
	expect(e, open4k, E_PARSE);
	expect(e, arrays, E_OBJECT);
	expect(e, in_obj, E_NOEXEC);
	expect(e, big, E_LARGE);
	big[SN_API_MAX_REQUEST - 1] = '\0';
	expect(e, big, E_PARSE);
	env_free(e);
}
END_TEST

/* Our additions: bad values refused by name, replies only where used. */
START_TEST(additions)
{
	struct env *e = env_new();
	unsigned int port = free_port(SOCK_STREAM);
	g_autofree char *want = NULL;
	g_autofree char *got = NULL;

	expect(e,
	       "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":"
	       "\"tcp\",\"host_port\":1,\"guest_port\":1,\"mode\":\"fast\"}}",
	       E_ADD("bad arguments.mode (\\\"auto\\\", \\\"splice\\\", "
		     "\\\"slirp\\\" or \\\"tap\\\")"));
	expect(e,
	       "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":"
	       "\"tcp\",\"host_port\":1,\"guest_port\":1,"
	       "\"proxy_protocol\":\"yes\"}}",
	       E_ADD("bad arguments.proxy_protocol (true or false)"));
	expect(e,
	       "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":"
	       "\"tcp\",\"host_port\":1,\"guest_port\":1,\"source_ip\":1}}",
	       E_ADD("bad arguments.source_ip (true or false)"));
	/* this table has no fast forwarders: splice is refused, with why */
	expect_prefix(e,
		      "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":"
		      "\"tcp\",\"host_port\":1,\"guest_port\":1,"
		      "\"mode\":\"splice\"}}",
		      E_ADD_START "slirp_add_hostfwd failed: mode splice is "
				  "not available");
	expect_prefix(e,
		      "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":"
		      "\"udp\",\"host_port\":1,\"guest_port\":1,"
		      "\"proxy_protocol\":true}}",
		      E_ADD_START "slirp_add_hostfwd failed: proxy_protocol is "
				  "for TCP forwards only");
	/* the default mode named explicitly: listed as slirp4netns lists it */
	want = g_strdup_printf(
	    "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":"
	    "\"tcp\",\"host_addr\":\"127.0.0.1\",\"host_port\":%u,"
	    "\"guest_port\":80,\"mode\":\"slirp\"}}",
	    port);
	expect(e, want, "{\"return\":{\"id\":1}}");
	g_free(want);
	want = g_strdup_printf(
	    "{\"entries\":[{\"id\":1,\"proto\":\"tcp\",\"host_addr\":"
	    "\"127.0.0.1\",\"host_port\":%u,\"guest_addr\":\"10.0.2.100\","
	    "\"guest_port\":80}]}",
	    port);
	expect(e, "{\"execute\":\"list_hostfwd\"}", want);
	/* libslirp keeps no counters: the entry says so by leaving them out */
	expect(e, "{\"execute\":\"get_stats\"}",
	       "{\"return\":{\"entries\":[{\"id\":1,\"proto\":\"tcp\","
	       "\"mode\":\"slirp\"}]}}");
	got = request(e, "{\"execute\":\"get_info\"}");
	ck_assert_msg(g_str_has_prefix(
			  got, "{\"return\":{\"version\":\"" SN_VERSION "\","),
		      "get_info: %s", got);
	ck_assert_ptr_nonnull(strstr(got, "\"forwards\":1}}"));
	env_free(e);
}
END_TEST

START_TEST(table_errors)
{
	struct env *e = env_new();
	struct sn_fwd_spec spec = {
		.proto = SN_FWD_UDP,
		.host_addr = ip("127.0.0.1"),
		.host_port = (uint16_t)free_port(SOCK_DGRAM),
		.guest_addr = e->guest,
		.guest_port = 53,
	};
	struct sn_fwd_spec any = spec;
	g_autoptr(GError) err = NULL;
	int id = 0;

	ck_assert(!sn_fwd_remove(&e->fwds, 9, &err));
	ck_assert(g_error_matches(err, SN_FWD_ERROR, SN_FWD_ERROR_NOT_FOUND));
	ck_assert_str_eq(err->message, "no forward with id 9");
	g_clear_error(&err);
	ck_assert(sn_fwd_add(&e->fwds, &spec, &id, &err));
	ck_assert_int_eq(id, 1);
	/* libslirp would bind the same UDP port twice: the table refuses */
	ck_assert(!sn_fwd_add(&e->fwds, &spec, &id, &err));
	ck_assert(g_error_matches(err, SN_FWD_ERROR, SN_FWD_ERROR_BACKEND));
	g_clear_error(&err);
	any.host_addr.s_addr = htonl(INADDR_ANY);
	ck_assert(!sn_fwd_add(&e->fwds, &any, &id, &err));
	ck_assert(g_error_matches(err, SN_FWD_ERROR, SN_FWD_ERROR_BACKEND));
	ck_assert_ptr_nonnull(strstr(err->message, "0.0.0.0"));
	g_clear_error(&err);
	/* the same port on the other protocol is no clash */
	any.proto = SN_FWD_TCP;
	spec.proto = SN_FWD_TCP;
	ck_assert(sn_fwd_add(&e->fwds, &spec, &id, &err));
	ck_assert_int_eq(id, 2);
	ck_assert_uint_eq(e->fwds.fwds->len, 2);
	env_free(e);
}
END_TEST

/* ---- the socket server ---- */

/* pump() - run what is ready in the test's main context, a few rounds */
static void pump(struct env *e)
{
	for (int i = 0; i < 20; i++)
		g_main_context_iteration(e->ctx, FALSE);
}

/* client_connect() - a non-blocking connection to @path */
static int client_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/* client_send() - send all of @s */
static void client_send(int fd, const char *s, gsize len)
{
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		ck_assert_int_gt(n, 0);
		s += n;
		len -= (gsize)n;
	}
}

/* no_reply_yet() - assert that the server has not answered (nor closed) */
static void no_reply_yet(struct env *e, int fd)
{
	char ch;

	pump(e);
	ck_assert_int_eq(recv(fd, &ch, 1, MSG_DONTWAIT), -1);
	ck_assert_int_eq(errno, EAGAIN);
}

/* client_reply() - run the server until it closes @fd; what it sent */
static char *client_reply(struct env *e, int fd)
{
	GString *s = g_string_new(NULL);
	gint64 guard = g_get_monotonic_time() + HANG_GUARD_US;
	char buf[512];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		pump(e);
		poll(&p, 1, 10);
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			g_string_append_len(s, buf, n);
			continue;
		}
		if (!n)
			break;
		ck_assert_msg(errno == EAGAIN, "recv: %s", g_strerror(errno));
		ck_assert_msg(g_get_monotonic_time() < guard, "no reply");
	}
	close(fd);
	return g_string_free(s, FALSE);
}

/* roundtrip() - send @req in one go, return the reply */
static char *roundtrip(struct env *e, const char *req)
{
	int fd = client_connect(e->path);

	client_send(fd, req, strlen(req));
	return client_reply(e, fd);
}

/* api_new() - sn_api_new() on the env's path, which must succeed */
static struct sn_api *api_new(struct env *e)
{
	g_autoptr(GError) err = NULL;
	struct sn_api *api = sn_api_new(e->path, &e->api_ctx, &err);

	ck_assert_msg(api != NULL, "sn_api_new: %s", err ? err->message : "?");
	return api;
}

START_TEST(server_requests)
{
	struct env *e = env_new();
	struct sn_api *api = api_new(e);
	unsigned int port = free_port(SOCK_STREAM);
	g_autofree char *add = add_req("tcp", port);
	g_autofree char *want = g_strdup_printf(
	    "{\"entries\":[{\"id\":1,\"proto\":\"tcp\",\"host_addr\":"
	    "\"127.0.0.1\",\"host_port\":%u,\"guest_addr\":\"10.0.2.100\","
	    "\"guest_port\":80}]}",
	    port);
	g_autofree char *reply = NULL;
	struct stat st;
	int fd;

	ck_assert_int_eq(stat(e->path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0600);

	reply = roundtrip(e, add);
	ck_assert_str_eq(reply, "{\"return\":{\"id\":1}}");
	g_free(reply);

	/* split in two writes, the first one handled on its own */
	fd = client_connect(e->path);
	client_send(fd, "{\"execute\":\"list_", 17);
	no_reply_yet(e, fd);
	client_send(fd, "hostfwd\"}\n", 10);
	reply = client_reply(e, fd);
	ck_assert_str_eq(reply, want);
	g_free(reply);

	/* a half-close answers what arrived */
	fd = client_connect(e->path);
	client_send(fd, "[1", 2);
	no_reply_yet(e, fd);
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	reply = client_reply(e, fd);
	ck_assert_str_eq(reply, E_PARSE);
	g_free(reply);

	/* nothing sent: closed without a reply */
	fd = client_connect(e->path);
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	reply = client_reply(e, fd);
	ck_assert_str_eq(reply, "");

	sn_api_free(api);
	ck_assert_int_eq(access(e->path, F_OK), -1);
	env_free(e);
}
END_TEST

START_TEST(server_too_large)
{
	struct env *e = env_new();
	struct sn_api *api = api_new(e);
	g_autofree char *big = g_strnfill(SN_API_MAX_REQUEST + 1000, '[');
	g_autofree char *reply = roundtrip(e, big);

	/* and then EOF, not a reset: the rest of the input was drained */
	ck_assert_str_eq(reply, E_LARGE);
	sn_api_free(api);
	env_free(e);
}
END_TEST

START_TEST(server_nul)
{
	struct env *e = env_new();
	struct sn_api *api = api_new(e);
	int fd = client_connect(e->path);
	g_autofree char *reply = NULL;

	client_send(fd, "{\"exec\0", 7);
	reply = client_reply(e, fd);
	ck_assert_str_eq(reply, E_PARSE);
	sn_api_free(api);
	env_free(e);
}
END_TEST

START_TEST(server_max_clients)
{
	struct env *e = env_new();
	struct sn_api *api = api_new(e);
	int idle[SN_API_MAX_CLIENTS];
	g_autofree char *reply = NULL;
	int fd;

	for (int i = 0; i < SN_API_MAX_CLIENTS; i++)
		idle[i] = client_connect(e->path);
	pump(e);
	/* one more waits in the backlog, not accepted and dropped */
	fd = client_connect(e->path);
	client_send(fd, LIST, strlen(LIST));
	no_reply_yet(e, fd);
	close(idle[0]);
	reply = client_reply(e, fd);
	ck_assert_str_eq(reply, "{\"entries\":[]}");
	for (int i = 1; i < SN_API_MAX_CLIENTS; i++)
		close(idle[i]);
	sn_api_free(api);
	env_free(e);
}
END_TEST

START_TEST(server_live_stale_and_files)
{
	struct env *e = env_new();
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	g_autoptr(GError) err = NULL;
	g_autofree char *reply = NULL;
	struct sn_api *api = api_new(e);
	int fd;

	/* a live server is not replaced */
	ck_assert_ptr_null(sn_api_new(e->path, &e->api_ctx, &err));
	ck_assert_ptr_nonnull(strstr(err->message, "already serving"));
	ck_assert_ptr_nonnull(strstr(err->message, e->path));
	g_clear_error(&err);
	reply = roundtrip(e, LIST);
	ck_assert_str_eq(reply, "{\"entries\":[]}");
	sn_api_free(api);
	ck_assert_int_eq(access(e->path, F_OK), -1);

	/* a stale socket file is */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_strlcpy(sun.sun_path, e->path, sizeof(sun.sun_path));
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	ck_assert_int_eq(access(e->path, F_OK), 0);
	api = api_new(e);
	g_free(reply);
	reply = roundtrip(e, LIST);
	ck_assert_str_eq(reply, "{\"entries\":[]}");
	sn_api_free(api);

	/* a file that is no socket is left alone */
	ck_assert(g_file_set_contents(e->path, "mine", -1, NULL));
	ck_assert_ptr_null(sn_api_new(e->path, &e->api_ctx, &err));
	ck_assert_ptr_nonnull(strstr(err->message, "not a socket"));
	g_clear_error(&err);
	g_free(reply);
	ck_assert(g_file_get_contents(e->path, &reply, NULL, NULL));
	ck_assert_str_eq(reply, "mine");
	ck_assert_int_eq(unlink(e->path), 0);
	env_free(e);
}
END_TEST

START_TEST(server_path_too_long)
{
	struct env *e = env_new();
	g_autofree char *name = g_strnfill(120, 'x');
	g_autofree char *path = g_build_filename(e->dir, name, NULL);
	g_autoptr(GError) err = NULL;

	ck_assert_ptr_null(sn_api_new(path, &e->api_ctx, &err));
	ck_assert(g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NAMETOOLONG));
	ck_assert_ptr_nonnull(strstr(err->message, path));
	ck_assert_ptr_nonnull(strstr(err->message, "107"));
	env_free(e);
}
END_TEST

START_TEST(server_timeout)
{
	struct env *e = env_new();
	struct sn_api *api = api_new(e);
	int fd = client_connect(e->path);
	g_autofree char *reply = NULL;

	/* incomplete and left open: answered after SN_API_CLIENT_TIMEOUT_MS */
	client_send(fd, "{\"execute\"", 10);
	reply = client_reply(e, fd);
	ck_assert_str_eq(reply, E_PARSE);
	sn_api_free(api);
	env_free(e);
}
END_TEST

/* main() - run the suite; the exit status says whether all passed */
int main(void)
{
	Suite *s = suite_create("api");
	TCase *req = tcase_create("requests");
	TCase *srv = tcase_create("server");

	tcase_add_test(req, add_list_remove);
	tcase_add_test(req, add_defaults_and_guest_addr);
	tcase_add_test(req, add_duplicate);
	tcase_add_test(req, add_bad_arguments);
	tcase_add_test(req, remove_bad_id);
	tcase_add_test(req, malformed_requests);
	tcase_add_test(req, deep_and_large);
	tcase_add_test(req, additions);
	tcase_add_test(req, table_errors);
	tcase_add_test(srv, server_requests);
	tcase_add_test(srv, server_too_large);
	tcase_add_test(srv, server_nul);
	tcase_add_test(srv, server_max_clients);
	tcase_add_test(srv, server_live_stale_and_files);
	tcase_add_test(srv, server_path_too_long);
	tcase_add_test(srv, server_timeout);
	/* server_timeout waits SN_API_CLIENT_TIMEOUT_MS, past check's 4 s */
	tcase_set_timeout(srv, 30);
	suite_add_tcase(s, req);
	suite_add_tcase(s, srv);
	return sn_ck_run(s, CK_NORMAL);
}
