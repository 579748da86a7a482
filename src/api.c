/* api.c - the control protocol: slirp4netns's JSON requests and replies
 * (add_hostfwd, list_hostfwd, remove_hostfwd) and ours, with json-glib. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>
#include <json-glib/json-glib.h>

#include "api.h"
#include "fwdjson.h"
#include "log.h"
#include "notify.h"
#include "version.h"

/* How much of a request --debug shows. */
#define API_LOG_MAX 200

/* ---- requests and replies ---- */

bool sn_api_request_parses(const char *buf, gsize len)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();

	return json_parser_load_from_data(parser, buf, (gssize)len, NULL);
}

/* builder_to_reply() - the builder's document as compact JSON */
static char *builder_to_reply(JsonBuilder *b)
{
	g_autoptr(JsonNode) root = json_builder_get_root(b);
	g_autoptr(JsonGenerator) gen = json_generator_new();

	json_generator_set_root(gen, root);
	return json_generator_to_data(gen, NULL);
}

/* reply_error() - {"error":{"desc":"bad request: @what"}} */
static char *reply_error(const char *what)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autofree char *desc = g_strconcat("bad request: ", what, NULL);

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "error");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "desc");
	json_builder_add_string_value(b, desc);
	json_builder_end_object(b);
	json_builder_end_object(b);
	return builder_to_reply(b);
}

/* reply_return() - {"return":{"id":@id}}, or {"return":{}} if @id < 0 */
static char *reply_return(int id)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "return");
	json_builder_begin_object(b);
	if (id >= 0) {
		json_builder_set_member_name(b, "id");
		json_builder_add_int_value(b, id);
	}
	json_builder_end_object(b);
	json_builder_end_object(b);
	return builder_to_reply(b);
}

/* arg() - member @name of @args; NULL if @args is NULL, or it is absent/null */
static JsonNode *arg(JsonObject *args, const char *name)
{
	JsonNode *n;

	if (!args)
		return NULL;
	n = json_object_get_member(args, name);
	if (!n || JSON_NODE_HOLDS_NULL(n))
		return NULL;
	return n;
}

/*
 * node_int() - the integer @n holds, if it is one within [@min, @max]
 * A number with a fraction (1.5), a string ("80") or a boolean is refused.
 */
static bool node_int(JsonNode *n, gint64 min, gint64 max, gint64 *out)
{
	GType type;
	double d;

	if (!n || !JSON_NODE_HOLDS_VALUE(n))
		return false;
	type = json_node_get_value_type(n);
	if (type == G_TYPE_INT64) {
		*out = json_node_get_int(n);
		return *out >= min && *out <= max;
	}
	if (type != G_TYPE_DOUBLE)
		return false;
	/* no libm: the range check also refuses NaN and infinities */
	d = json_node_get_double(n);
	if (!(d >= (double)min && d <= (double)max))
		return false;
	*out = (gint64)d;
	return (double)*out == d;
}

/* arg_port() - member @name as a port number, 1 to 65535 */
static bool arg_port(JsonObject *args, const char *name, uint16_t *port)
{
	gint64 v;

	if (!node_int(arg(args, name), 1, 65535, &v))
		return false;
	*port = (uint16_t)v;
	return true;
}

/*
 * arg_addr() - member @name as dotted IPv4; @dflt if absent, null or ""
 * Return: false if it is there but no IPv4 address (or no string)
 */
static bool arg_addr(JsonObject *args, const char *name, struct in_addr dflt,
		     struct in_addr *out)
{
	JsonNode *n = arg(args, name);
	const char *s = sn_json_str(n);

	*out = dflt;
	if (!n)
		return true;
	if (!s)
		return false;
	if (!*s)
		return true;
	return inet_pton(AF_INET, s, out) == 1;
}

/*
 * arg_host() - member "host_addr": IPv4 or IPv6; 0.0.0.0 if absent or ""
 * Return: false if it is there but no address
 */
static bool arg_host(JsonObject *args, struct sn_fwd_spec *spec)
{
	struct in_addr any = { .s_addr = htonl(INADDR_ANY) };
	const char *s = sn_json_str(arg(args, "host_addr"));

	spec->host_family = AF_INET;
	if (s && inet_pton(AF_INET6, s, &spec->host_addr6) == 1) {
		spec->host_family = AF_INET6;
		return true;
	}
	return arg_addr(args, "host_addr", any, &spec->host_addr);
}

/* arg_mode() - member "mode" (sn_fwd_mode_parse()); AUTO if absent */
static bool arg_mode(JsonObject *args, enum sn_fwd_mode *mode)
{
	JsonNode *n = arg(args, "mode");

	*mode = SN_FWD_MODE_AUTO;
	return !n || sn_fwd_mode_parse(sn_json_str(n), mode);
}

/* arg_proto() - member @name: "tcp" or "udp", nothing else */
static bool arg_proto(JsonObject *args, const char *name,
		      enum sn_fwd_proto *proto)
{
	const char *s = sn_json_str(arg(args, name));

	if (!g_strcmp0(s, "tcp"))
		*proto = SN_FWD_TCP;
	else if (!g_strcmp0(s, "udp"))
		*proto = SN_FWD_UDP;
	else
		return false;
	return true;
}

/* parse_add_args() - the spec of an add_hostfwd, or the reply refusing it */
static char *parse_add_args(JsonObject *args, struct in_addr default_guest,
			    struct sn_fwd_spec *spec)
{
	if (!arg_proto(args, "proto", &spec->proto))
		return reply_error("add_hostfwd: bad arguments.proto");
	if (!arg_host(args, spec))
		return reply_error("add_hostfwd: bad arguments.host_addr");
	if (!arg_port(args, "host_port", &spec->host_port))
		return reply_error("add_hostfwd: bad arguments.host_port");
	if (!arg_addr(args, "guest_addr", default_guest, &spec->guest_addr))
		return reply_error("add_hostfwd: bad arguments.guest_addr");
	if (!arg_port(args, "guest_port", &spec->guest_port))
		return reply_error("add_hostfwd: bad arguments.guest_port");
	if (!arg_mode(args, &spec->mode))
		return reply_error("add_hostfwd: bad arguments.mode "
				   "(" SN_FWD_MODE_NAMES ")");
	if (!sn_json_bool(arg(args, "proxy_protocol"), &spec->proxy_protocol))
		return reply_error("add_hostfwd: bad arguments.proxy_protocol "
				   "(true or false)");
	if (!sn_json_bool(arg(args, "source_ip"), &spec->source_ip))
		return reply_error("add_hostfwd: bad arguments.source_ip "
				   "(true or false)");
	return NULL;
}

/* handle_add() - execute add_hostfwd */
static char *handle_add(struct sn_fwd_table *fwds, struct in_addr default_guest,
			JsonObject *args)
{
	g_autoptr(GError) err = NULL;
	struct sn_fwd_spec spec = { 0 };
	char *bad = parse_add_args(args, default_guest, &spec);
	int id;

	if (bad)
		return bad;
	/* --keep-source-ip: the default where the mode can keep it */
	if (!arg(args, "source_ip") && spec.mode != SN_FWD_MODE_SLIRP &&
	    spec.mode != SN_FWD_MODE_TAP &&
	    fwds->default_mode != SN_FWD_MODE_SLIRP)
		spec.source_ip = fwds->default_source_ip;
	if (!sn_fwd_add(fwds, &spec, &id, &err)) {
		/* slirp4netns's words first, for clients that match them;
		 * a state file that could not be written is not libslirp's */
		bool saving =
		    g_error_matches(err, SN_FWD_ERROR, SN_FWD_ERROR_SAVE);
		g_autofree char *what = g_strconcat(
		    saving ? "add_hostfwd: "
			   : "add_hostfwd: slirp_add_hostfwd failed: ",
		    err->message, NULL);

		g_warning("api: %s", what);
		return reply_error(what);
	}
	sn_notify_status(fwds->fwds->len);
	return reply_return(id);
}

/*
 * add_extras() - the members our additions set, only where not default, so
 * that a slirp4netns client's requests get slirp4netns's replies exactly
 */
static void add_extras(JsonBuilder *b, const struct sn_fwd_table *t,
		       const struct sn_fwd *f)
{
	if (f->spec.mode != t->default_mode)
		sn_json_add_str(b, "mode", sn_fwd_mode_name(f->spec.mode));
	if (f->spec.proxy_protocol)
		sn_json_add_bool(b, "proxy_protocol", true);
	if (f->spec.source_ip)
		sn_json_add_bool(b, "source_ip", true);
}

/* add_entry() - one forward of list_hostfwd's "entries" */
static void add_entry(JsonBuilder *b, const struct sn_fwd_table *t,
		      const struct sn_fwd *f)
{
	json_builder_begin_object(b);
	sn_fwd_json_members(b, f);
	add_extras(b, t, f);
	json_builder_end_object(b);
}

/* handle_list() - execute list_hostfwd: {"entries":[...]}, no "return" */
static char *handle_list(struct sn_fwd_table *fwds)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "entries");
	json_builder_begin_array(b);
	for (guint i = 0; fwds->fwds && i < fwds->fwds->len; i++)
		add_entry(b, fwds, g_ptr_array_index(fwds->fwds, i));
	json_builder_end_array(b);
	json_builder_end_object(b);
	return builder_to_reply(b);
}

/* handle_remove() - execute remove_hostfwd */
static char *handle_remove(struct sn_fwd_table *fwds, JsonObject *args)
{
	g_autoptr(GError) err = NULL;
	gint64 id;

	if (!node_int(arg(args, "id"), 1, INT_MAX, &id))
		return reply_error("remove_hostfwd: bad arguments.id");
	if (!sn_fwd_remove(fwds, (int)id, &err)) {
		g_autofree char *what = NULL;

		if (!g_error_matches(err, SN_FWD_ERROR, SN_FWD_ERROR_SAVE))
			return reply_error("remove_hostfwd: bad arguments.id");
		what = g_strconcat("remove_hostfwd: ", err->message, NULL);
		g_warning("api: %s", what);
		return reply_error(what);
	}
	sn_notify_status(fwds->fwds->len);
	return reply_return(-1);
}

/* add_counters() - the five counters of @st */
static void add_counters(JsonBuilder *b, const struct sn_fwd_stats *st)
{
	sn_json_add_int(b, "connections_open", (gint64)st->conns_open);
	sn_json_add_int(b, "connections_total", (gint64)st->conns_total);
	sn_json_add_int(b, "bytes_to_guest", (gint64)st->bytes_to_guest);
	sn_json_add_int(b, "bytes_from_guest", (gint64)st->bytes_from_guest);
	sn_json_add_int(b, "errors", (gint64)st->errors);
}

/* add_stats_entry() - one forward's counters (none for libslirp's): all
 * its connections, then, for a forward that may use it, those through
 * tap0 on their own ("tap") */
static void add_stats_entry(JsonBuilder *b, const struct sn_fwd *f,
			    const struct sn_fwd_stats *st)
{
	struct sn_fwd_stats all;

	json_builder_begin_object(b);
	sn_json_add_int(b, "id", f->id);
	sn_json_add_str(b, "proto",
			f->spec.proto == SN_FWD_UDP ? "udp" : "tcp");
	sn_json_add_str(b, "mode", sn_fwd_mode_name(f->spec.mode));
	if (st) {
		all = *st;
		if (f->tap) {
			all.conns_open += f->tap->conns_open;
			all.conns_total += f->tap->conns_total;
			all.bytes_to_guest += f->tap->bytes_to_guest;
			all.bytes_from_guest += f->tap->bytes_from_guest;
			all.errors += f->tap->errors;
		}
		add_counters(b, &all);
	}
	if (f->tap) {
		json_builder_set_member_name(b, "tap");
		json_builder_begin_object(b);
		add_counters(b, f->tap);
		json_builder_end_object(b);
	}
	json_builder_end_object(b);
}

/* handle_stats() - execute get_stats: {"return":{"entries":[...]}} */
static char *handle_stats(struct sn_fwd_table *fwds)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	guint n = fwds->fwds ? fwds->fwds->len : 0;
	g_autofree struct sn_fwd_stats *st = g_new0(struct sn_fwd_stats, n + 1);
	g_autofree bool *has = g_new0(bool, n + 1);

	if (n)
		sn_fwd_stats(fwds, st, has);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "return");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "entries");
	json_builder_begin_array(b);
	for (guint i = 0; i < n; i++)
		add_stats_entry(b, g_ptr_array_index(fwds->fwds, i),
				has[i] ? &st[i] : NULL);
	json_builder_end_array(b);
	json_builder_end_object(b);
	json_builder_end_object(b);
	return builder_to_reply(b);
}

/* add_addr() - "name": dotted IPv4 */
static void add_addr(JsonBuilder *b, const char *name, struct in_addr a)
{
	char s[INET_ADDRSTRLEN];

	sn_json_add_str(b, name, inet_ntop(AF_INET, &a, s, sizeof(s)));
}

/* add_config_info() - what get_info reports from the command line */
static void add_config_info(JsonBuilder *b, const struct sn_config *cfg)
{
	g_autofree char *net = NULL;
	char s[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &cfg->addrs.network, s, sizeof(s));
	net = g_strdup_printf("%s/%u", s, cfg->addrs.prefix);
	sn_json_add_str(b, "netns", cfg->netns_path);
	sn_json_add_str(b, "tap", cfg->tapname);
	sn_json_add_int(b, "mtu", cfg->mtu);
	sn_json_add_str(b, "network", net);
	add_addr(b, "gateway", cfg->addrs.gateway);
	add_addr(b, "dns", cfg->addrs.dns);
	add_addr(b, "guest", cfg->addrs.guest);
	sn_json_add_bool(b, "ipv6", cfg->enable_ipv6);
}

/* add_tcp_info() - "tcp_path", and the flow engine's counters ("tcp") */
static void add_tcp_info(JsonBuilder *b, const struct sn_tcp_stats *t)
{
	sn_json_add_str(b, "tcp_path", t ? "kernel" : "slirp");
	if (!t)
		return;
	json_builder_set_member_name(b, "tcp");
	json_builder_begin_object(b);
	sn_json_add_int(b, "connections_open", (gint64)t->open);
	sn_json_add_int(b, "connections_total", (gint64)t->total);
	sn_json_add_int(b, "refused", (gint64)t->refused);
	sn_json_add_int(b, "resets", (gint64)t->resets);
	sn_json_add_int(b, "retransmits", (gint64)t->retransmits);
	sn_json_add_int(b, "table_full", (gint64)t->table_full);
	sn_json_add_int(b, "out_of_order", (gint64)t->out_of_order);
	sn_json_add_int(b, "out_of_order_dropped",
			(gint64)t->out_of_order_dropped);
	json_builder_end_object(b);
}

/* handle_info() - execute get_info: version, namespace, addresses, ... */
static char *handle_info(const struct sn_api_ctx *ctx)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	gint64 up = (g_get_monotonic_time() - ctx->start_us) / G_USEC_PER_SEC;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "return");
	json_builder_begin_object(b);
	sn_json_add_str(b, "version", SN_VERSION);
	sn_json_add_str(b, "commit", SN_COMMIT);
	sn_json_add_str(b, "libslirp", slirp_version_string());
	sn_json_add_int(b, "pid", getpid());
	if (ctx->cfg) {
		add_config_info(b, ctx->cfg);
		add_tcp_info(b, ctx->tcp);
	}
	sn_json_add_int(b, "uptime_s", ctx->start_us ? up : 0);
	sn_json_add_int(b, "forwards",
			ctx->fwds->fwds ? ctx->fwds->fwds->len : 0);
	json_builder_end_object(b);
	json_builder_end_object(b);
	return builder_to_reply(b);
}

/* log_request() - g_debug the start of @req, non-printables escaped */
static void log_request(const char *req, gsize len)
{
	gsize n = MIN(len, API_LOG_MAX), i = 0;
	g_autoptr(GString) s = g_string_sized_new(n * 4 + 1);

	while (i < n) {
		const char *nul = memchr(req + i, '\0', n - i);
		gsize seg = nul ? (gsize)(nul - (req + i)) : n - i;
		g_autofree char *raw = g_strndup(req + i, seg);
		g_autofree char *esc = g_strescape(raw, "\"");

		g_string_append(s, esc);
		i += seg;
		if (nul) {
			g_string_append(s, "\\000");
			i++;
		}
	}
	g_debug("api: got request: %s%s", s->str, len > n ? "..." : "");
}

/* parse_request() - the request's root node in @parser, or the error reply */
static char *parse_request(JsonParser *parser, const char *req, gsize len,
			   JsonNode **root)
{
	if (len >= SN_API_MAX_REQUEST) {
		g_warning("api: request too large (>= %d bytes)",
			  SN_API_MAX_REQUEST);
		return reply_error("too large message");
	}
	if (!len || memchr(req, '\0', len) ||
	    !json_parser_load_from_data(parser, req, (gssize)len, NULL))
		return reply_error("cannot parse JSON");
	*root = json_parser_get_root(parser);
	if (!*root) /* json-glib takes blank input as empty, not an error */
		return reply_error("cannot parse JSON");
	if (!JSON_NODE_HOLDS_OBJECT(*root))
		return reply_error("json_object() failed");
	return NULL;
}

/*
 * sn_api_handle_request() - run one request, return the reply (g_free it)
 * @ctx:       the forward table and what get_info reports
 * @req, @len: the request bytes, not NUL-terminated
 *
 * Replies are byte for byte those of slirp4netns. Requests of
 * SN_API_MAX_REQUEST bytes or more are refused before parsing, which also
 * bounds how deep json-glib (a recursive parser) nests.
 */
char *sn_api_handle_request(const struct sn_api_ctx *ctx, const char *req,
			    gsize len)
{
	struct sn_fwd_table *fwds = ctx->fwds;
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	JsonNode *root = NULL, *args_node;
	JsonObject *obj, *args = NULL;
	const char *exec;
	char *bad;

	log_request(req, len);
	bad = parse_request(parser, req, len, &root);
	if (bad)
		return bad;
	obj = json_node_get_object(root);
	exec = sn_json_str(json_object_get_member(obj, "execute"));
	if (!exec)
		return reply_error("no execute found");
	args_node = json_object_get_member(obj, "arguments");
	if (args_node && JSON_NODE_HOLDS_OBJECT(args_node))
		args = json_node_get_object(args_node);
	if (!strcmp(exec, "add_hostfwd"))
		return handle_add(fwds, ctx->default_guest, args);
	if (!strcmp(exec, "list_hostfwd"))
		return handle_list(fwds);
	if (!strcmp(exec, "remove_hostfwd"))
		return handle_remove(fwds, args);
	if (!strcmp(exec, "get_stats"))
		return handle_stats(fwds);
	if (!strcmp(exec, "get_info"))
		return handle_info(ctx);
	return reply_error("unknown execute");
}
