/* ctl.c - slirpnetd-ctl's logic, apart from its socket: commands and forward
 * specs checked, JSON requests built and replies turned into tables. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "ctl.h"

/* ctl_error_quark() - the error domain CTL_ERROR */
GQuark ctl_error_quark(void)
{
	return g_quark_from_static_string("slirpnetd-ctl-error");
}

/* fail() - set @err to @code and the message; always returns false */
static bool fail(GError **err, enum ctl_status code, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static bool fail(GError **err, enum ctl_status code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_propagate_error(err, g_error_new_valist(CTL_ERROR, code, fmt, ap));
	va_end(ap);
	return false;
}

/* ---- the command line ---- */

#define SPEC_FORM "[HOSTADDR:]HOSTPORT:GUESTPORT"

/* parse_port() - @s as a port, 1 to 65535; @what names it in errors */
static bool parse_port(const char *what, const char *s, uint16_t *port,
		       GError **err)
{
	unsigned long v;
	char *end;

	if (!*s)
		return fail(err, CTL_USAGE,
			    "the %s is missing: expected " SPEC_FORM
			    ", e.g. 8080:80",
			    what);
	errno = 0;
	v = strtoul(s, &end, 10);
	if (!g_ascii_isdigit(*s) || *end)
		return fail(err, CTL_USAGE,
			    "the %s \"%s\" is not a number: give a port from 1 "
			    "to 65535",
			    what, s);
	if (errno || v < 1 || v > 65535)
		return fail(
		    err, CTL_USAGE,
		    "the %s %s is out of range: ports go from 1 to 65535", what,
		    s);
	*port = (uint16_t)v;
	return true;
}

/* parse_host() - @s (brackets removed if @bracketed) as the host address */
static bool parse_host(const char *s, bool bracketed, struct ctl_fwd *fwd,
		       GError **err)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (bracketed) {
		if (inet_pton(AF_INET6, s, &a6) != 1)
			return fail(err, CTL_USAGE,
				    "bad host address [%s]: brackets hold an "
				    "IPv6 address such as [::1] or [::]",
				    s);
		inet_ntop(AF_INET6, &a6, fwd->host_addr,
			  sizeof(fwd->host_addr));
		return true;
	}
	if (inet_pton(AF_INET, s, &a4) != 1)
		return fail(
		    err, CTL_USAGE,
		    "bad host address \"%s\": expected an IPv4 address such as "
		    "127.0.0.1, or an IPv6 address in brackets such as [::1]",
		    s);
	inet_ntop(AF_INET, &a4, fwd->host_addr, sizeof(fwd->host_addr));
	return true;
}

/* parse_bracketed() - "[ADDR]:HOSTPORT:GUESTPORT" */
static bool parse_bracketed(const char *spec, struct ctl_fwd *fwd, GError **err)
{
	const char *close = strchr(spec, ']');
	g_autofree char *addr = NULL;
	g_auto(GStrv) ports = NULL;

	if (!close)
		return fail(err, CTL_USAGE,
			    "\"%s\": the '[' of the host address is not "
			    "closed: write e.g. [::1]:8080:80",
			    spec);
	if (close[1] != ':')
		return fail(err, CTL_USAGE,
			    "\"%s\": expected ':' and the host port after the "
			    "']' of the host address, e.g. [::1]:8080:80",
			    spec);
	addr = g_strndup(spec + 1, (gsize)(close - spec - 1));
	ports = g_strsplit(close + 2, ":", -1);
	if (g_strv_length(ports) != 2)
		return fail(err, CTL_USAGE,
			    "\"%s\": expected " SPEC_FORM
			    " after the host address, e.g. [::1]:8080:80",
			    spec);
	return parse_host(addr, true, fwd, err) &&
	       parse_port("host port", ports[0], &fwd->host_port, err) &&
	       parse_port("guest port", ports[1], &fwd->guest_port, err);
}

/* parse_spec() - [HOSTADDR:]HOSTPORT:GUESTPORT into @fwd */
static bool parse_spec(const char *spec, struct ctl_fwd *fwd, GError **err)
{
	g_auto(GStrv) parts = NULL;
	guint n;

	if (spec[0] == '[')
		return parse_bracketed(spec, fwd, err);
	parts = g_strsplit(spec, ":", -1);
	n = g_strv_length(parts);
	if (n > 3)
		return fail(err, CTL_USAGE,
			    "\"%s\" has too many ':': write an IPv6 host "
			    "address in brackets, e.g. [::1]:8080:80",
			    spec);
	if (n < 2)
		return fail(err, CTL_USAGE,
			    "\"%s\": expected " SPEC_FORM
			    ", e.g. 8080:80 or 127.0.0.1:8080:80",
			    spec);
	if (n == 3 && !*parts[0])
		return fail(
		    err, CTL_USAGE,
		    "\"%s\": the host address before the first ':' is empty; "
		    "leave it out (with its ':') to listen on every address",
		    spec);
	if (n == 3 && !parse_host(parts[0], false, fwd, err))
		return false;
	return parse_port("host port", parts[n - 2], &fwd->host_port, err) &&
	       parse_port("guest port", parts[n - 1], &fwd->guest_port, err);
}

/* parse_guest_addr() - --guest-addr: an IPv4 address */
static bool parse_guest_addr(const char *s, struct ctl_fwd *fwd, GError **err)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		inet_ntop(AF_INET, &a4, fwd->guest_addr,
			  sizeof(fwd->guest_addr));
		return true;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1)
		return fail(err, CTL_USAGE,
			    "--guest-addr %s: forwards reach the guest over "
			    "IPv4; give its IPv4 address, e.g. 10.0.2.100",
			    s);
	return fail(err, CTL_USAGE,
		    "--guest-addr \"%s\" is not an IPv4 address: give the "
		    "guest's, e.g. 10.0.2.100",
		    s);
}

/* parse_mode() - --mode and --slirp, into @fwd->mode */
static bool parse_mode(const struct ctl_add_opts *opts, struct ctl_fwd *fwd,
		       GError **err)
{
	static const char *const modes[] = { "auto", "splice", "slirp", "tap" };

	if (opts->slirp && opts->mode && strcmp(opts->mode, "slirp") != 0)
		return fail(err, CTL_USAGE,
			    "--slirp and --mode %s disagree: give one of them",
			    opts->mode);
	if (opts->slirp) {
		fwd->mode = "slirp";
		return true;
	}
	for (gsize i = 0; opts->mode && i < G_N_ELEMENTS(modes); i++)
		if (!strcmp(opts->mode, modes[i]))
			fwd->mode = modes[i];
	if (opts->mode && !fwd->mode)
		return fail(err, CTL_USAGE,
			    "unknown mode \"%s\": give auto, splice, slirp or "
			    "tap (see slirpnetd(1), PORT FORWARDING)",
			    opts->mode);
	return true;
}

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
		   GError **err)
{
	*fwd = (struct ctl_fwd){ 0 };
	if (!strcmp(proto, "udp"))
		fwd->udp = true;
	else if (strcmp(proto, "tcp") != 0)
		return fail(err, CTL_USAGE,
			    "unknown protocol \"%s\": expected tcp or udp",
			    proto);
	g_strlcpy(fwd->host_addr, "0.0.0.0", sizeof(fwd->host_addr));
	if (!parse_spec(spec, fwd, err))
		return false;
	if (opts->guest_addr && !parse_guest_addr(opts->guest_addr, fwd, err))
		return false;
	if (opts->proxy_protocol && fwd->udp)
		return fail(
		    err, CTL_USAGE,
		    "--proxy-protocol is for TCP forwards only (the PROXY "
		    "header starts a stream); drop it, or forward tcp");
	if (!parse_mode(opts, fwd, err))
		return false;
	fwd->proxy_protocol = opts->proxy_protocol;
	fwd->source_ip = opts->source_ip;
	return true;
}

/*
 * ctl_parse_id() - a forward id: a decimal integer from 1 to INT_MAX
 * Return: true, or false with @err (CTL_USAGE)
 */
bool ctl_parse_id(const char *s, int *id, GError **err)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!g_ascii_isdigit(*s) || *end || errno || v < 1 || v > INT_MAX)
		return fail(err, CTL_USAGE,
			    "the ID \"%s\" is not a positive integer: give a "
			    "forward's ID as list shows it",
			    s);
	*id = (int)v;
	return true;
}

/* A command word, and what its arguments are called in errors. */
struct verb_info {
	const char *name;
	enum ctl_verb verb;
	const char *args[2]; /* NULL-padded */
	const char *usage;
};

static const struct verb_info verbs[] = {
	{ "add",
	  CTL_ADD,
	  { "the protocol (tcp or udp)", "the ports (" SPEC_FORM ")" },
	  "add tcp|udp " SPEC_FORM
	  " [--guest-addr ADDR] [--mode MODE] [--proxy-protocol]"
	  " [--source-ip]" },
	{ "list", CTL_LIST, { NULL, NULL }, "list" },
	{ "remove",
	  CTL_REMOVE,
	  { "the forward's ID (as list shows it)", NULL },
	  "remove ID" },
	{ "stats", CTL_STATS, { NULL, NULL }, "stats" },
	{ "info", CTL_INFO, { NULL, NULL }, "info" },
};

/* find_verb() - the command word @name, or NULL */
static const struct verb_info *find_verb(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(verbs); i++)
		if (!strcmp(verbs[i].name, name))
			return &verbs[i];
	return NULL;
}

/* check_arity() - @v takes exactly the @n arguments given */
static bool check_arity(const struct verb_info *v, int n, char **args,
			GError **err)
{
	int want = (v->args[0] != NULL) + (v->args[1] != NULL);

	if (n < want)
		return fail(err, CTL_USAGE,
			    "%s: missing %s (usage: slirpnetd-ctl %s)", v->name,
			    v->args[n], v->usage);
	if (n > want)
		return fail(
		    err, CTL_USAGE,
		    "%s: unexpected argument \"%s\" (usage: slirpnetd-ctl %s)",
		    v->name, args[want], v->usage);
	return true;
}

/* check_add_opts() - add's options are refused with @v, any other command */
static bool check_add_opts(const struct verb_info *v,
			   const struct ctl_add_opts *opts, GError **err)
{
	const char *opt = opts->guest_addr	 ? "--guest-addr"
			  : opts->slirp		 ? "--slirp"
			  : opts->mode		 ? "--mode"
			  : opts->proxy_protocol ? "--proxy-protocol"
			  : opts->source_ip	 ? "--source-ip"
						 : NULL;

	if (opt)
		return fail(err, CTL_USAGE, "%s only applies to add, not to %s",
			    opt, v->name);
	return true;
}

/* parse_words() - the command word and its arguments, options removed */
static bool parse_words(int argc, char **argv, const struct ctl_add_opts *opts,
			struct ctl_cmd *cmd, GError **err)
{
	const struct verb_info *v;

	if (argc < 1)
		return fail(err, CTL_USAGE,
			    "no command given: expected add, list, remove, "
			    "stats or info (see slirpnetd-ctl --help)");
	v = find_verb(argv[0]);
	if (!v)
		return fail(err, CTL_USAGE,
			    "unknown command \"%s\": expected add, list, "
			    "remove, stats or info",
			    argv[0]);
	cmd->verb = v->verb;
	if (!check_arity(v, argc - 1, argv + 1, err))
		return false;
	if (v->verb == CTL_ADD)
		return ctl_parse_fwd(argv[1], argv[2], opts, &cmd->fwd, err);
	if (!check_add_opts(v, opts, err))
		return false;
	if (v->verb == CTL_REMOVE)
		return ctl_parse_id(argv[1], &cmd->id, err);
	return true;
}

/* is_option() - "-x" or "--xyz"; a negative number is left for the
 * command to refuse with its own message */
static bool is_option(const char *arg)
{
	return arg[0] == '-' && arg[1] && !g_ascii_isdigit(arg[1]);
}

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
		   struct ctl_cmd *cmd, GError **err)
{
	g_autoptr(GPtrArray) words = g_ptr_array_new();
	bool options = true;

	*cmd = (struct ctl_cmd){ 0 };
	for (int i = 0; i < argc; i++) {
		if (options && !strcmp(argv[i], "--")) {
			options = false;
			continue;
		}
		if (options && is_option(argv[i]))
			return fail(
			    err, CTL_USAGE,
			    "unknown option %s (see slirpnetd-ctl --help)",
			    argv[i]);
		g_ptr_array_add(words, argv[i]);
	}
	return parse_words((int)words->len, (char **)words->pdata, opts, cmd,
			   err);
}

/* ---- requests ---- */

/* ctl_execute_name() - the "execute" of @verb's request, e.g. "get_stats" */
const char *ctl_execute_name(enum ctl_verb verb)
{
	switch (verb) {
	case CTL_ADD:
		return "add_hostfwd";
	case CTL_LIST:
		return "list_hostfwd";
	case CTL_REMOVE:
		return "remove_hostfwd";
	case CTL_STATS:
		return "get_stats";
	case CTL_INFO:
		return "get_info";
	}
	return NULL;
}

/* member_str(), member_int(), member_true(): "name": value */
static void member_str(JsonBuilder *b, const char *name, const char *v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_string_value(b, v);
}

static void member_int(JsonBuilder *b, const char *name, gint64 v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_int_value(b, v);
}

static void member_true(JsonBuilder *b, const char *name)
{
	json_builder_set_member_name(b, name);
	json_builder_add_boolean_value(b, true);
}

/* add_fwd_args() - add_hostfwd's arguments; defaults left to the daemon */
static void add_fwd_args(JsonBuilder *b, const struct ctl_fwd *f)
{
	member_str(b, "proto", f->udp ? "udp" : "tcp");
	member_str(b, "host_addr", f->host_addr);
	member_int(b, "host_port", f->host_port);
	if (f->guest_addr[0])
		member_str(b, "guest_addr", f->guest_addr);
	member_int(b, "guest_port", f->guest_port);
	if (f->mode)
		member_str(b, "mode", f->mode);
	if (f->proxy_protocol)
		member_true(b, "proxy_protocol");
	if (f->source_ip)
		member_true(b, "source_ip");
}

/* ctl_request() - @cmd's JSON request, compact, one line (g_free it) */
char *ctl_request(const struct ctl_cmd *cmd)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	member_str(b, "execute", ctl_execute_name(cmd->verb));
	if (cmd->verb == CTL_ADD || cmd->verb == CTL_REMOVE) {
		json_builder_set_member_name(b, "arguments");
		json_builder_begin_object(b);
		if (cmd->verb == CTL_ADD)
			add_fwd_args(b, &cmd->fwd);
		else
			member_int(b, "id", cmd->id);
		json_builder_end_object(b);
	}
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	return json_generator_to_data(gen, NULL);
}

/* ---- replies ---- */

/* invalid() - CTL_UNREACHABLE: the reply is not what the protocol says */
#define invalid(err, ...)                                                      \
	fail(err, CTL_UNREACHABLE,                                             \
	     "the daemon's reply is not valid: " __VA_ARGS__)

/* get_str() - string member @name of @o, or NULL */
static const char *get_str(JsonObject *o, const char *name)
{
	JsonNode *n = json_object_get_member(o, name);

	if (!n || !JSON_NODE_HOLDS_VALUE(n) ||
	    json_node_get_value_type(n) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(n);
}

/* get_int() - integer member @name of @o; false if absent or no integer */
static bool get_int(JsonObject *o, const char *name, gint64 *out)
{
	JsonNode *n = json_object_get_member(o, name);

	if (!n || !JSON_NODE_HOLDS_VALUE(n) ||
	    json_node_get_value_type(n) != G_TYPE_INT64)
		return false;
	*out = json_node_get_int(n);
	return true;
}

/* get_true() - whether member @name of @o is the boolean true */
static bool get_true(JsonObject *o, const char *name)
{
	JsonNode *n = json_object_get_member(o, name);

	return n && JSON_NODE_HOLDS_VALUE(n) &&
	       json_node_get_value_type(n) == G_TYPE_BOOLEAN &&
	       json_node_get_boolean(n);
}

/* get_object() - object member @name of @o, or NULL */
static JsonObject *get_object(JsonObject *o, const char *name)
{
	JsonNode *n = json_object_get_member(o, name);

	return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

/* refused() - CTL_REFUSED with the daemon's @desc (and, when it does not
 * know the request, which request that was) */
static bool refused(enum ctl_verb verb, const char *desc, GError **err)
{
	if (strstr(desc, "unknown execute"))
		return fail(err, CTL_REFUSED,
			    "%s (this daemon does not know %s: it is older "
			    "than slirpnetd-ctl)",
			    desc, ctl_execute_name(verb));
	return fail(err, CTL_REFUSED, "%s", desc);
}

/* parse_reply() - @reply's root object, or NULL with @err (a refusal too) */
static JsonObject *parse_reply(JsonParser *p, enum ctl_verb verb,
			       const char *reply, gsize len, GError **err)
{
	g_autoptr(GError) jerr = NULL;
	JsonObject *root, *error;
	JsonNode *node;
	const char *desc;

	if (!len) {
		invalid(err,
			"the daemon closed the connection without a reply");
		return NULL;
	}
	if (memchr(reply, '\0', len)) {
		invalid(err, "it holds a NUL byte");
		return NULL;
	}
	if (!json_parser_load_from_data(p, reply, (gssize)len, &jerr)) {
		invalid(err, "not JSON (%s)", jerr->message);
		return NULL;
	}
	node = json_parser_get_root(p);
	if (!node || !JSON_NODE_HOLDS_OBJECT(node)) {
		invalid(err, "not a JSON object");
		return NULL;
	}
	root = json_node_get_object(node);
	if (!json_object_has_member(root, "error"))
		return root;
	error = get_object(root, "error");
	desc = error ? get_str(error, "desc") : NULL;
	if (!desc) {
		invalid(err, "an \"error\" without a \"desc\" string");
		return NULL;
	}
	refused(verb, desc, err);
	return NULL;
}

/* reply_return() - the reply's "return" object, or NULL with @err */
static JsonObject *reply_return(JsonObject *root, GError **err)
{
	JsonObject *ret = get_object(root, "return");

	if (!ret)
		invalid(err, "no \"return\" object");
	return ret;
}

/* reply_entries() - "entries", at the top (list_hostfwd's, as slirp4netns
 * sends it) or in "return"; NULL with @err if neither */
static JsonArray *reply_entries(JsonObject *root, GError **err)
{
	JsonObject *ret = get_object(root, "return");
	JsonObject *o =
	    json_object_has_member(root, "entries") || !ret ? root : ret;
	JsonNode *n = json_object_get_member(o, "entries");

	if (!n || !JSON_NODE_HOLDS_ARRAY(n)) {
		invalid(err, "no \"entries\" array");
		return NULL;
	}
	return json_node_get_array(n);
}

/* entry_object() - element @i of @entries, which must be an object */
static JsonObject *entry_object(JsonArray *entries, guint i, GError **err)
{
	JsonNode *n = json_array_get_element(entries, i);

	if (!JSON_NODE_HOLDS_OBJECT(n)) {
		invalid(err, "entry %u is not an object", i + 1);
		return NULL;
	}
	return json_node_get_object(n);
}

/* ---- tables ---- */

/* Columns a table has at most (stats has 8). */
#define TABLE_MAX_COLS 8

/* Cells of a table, row by row, the first row the headings. */
struct table {
	guint ncols;	   /* up to TABLE_MAX_COLS */
	const bool *right; /* per column: align right (numbers) */
	GPtrArray *cells;  /* of char *, owned */
};

/* table_init() - a table with @heads (@ncols of them) as its first row */
static void table_init(struct table *t, guint ncols, const char *const *heads,
		       const bool *right)
{
	g_assert(ncols >= 1 && ncols <= TABLE_MAX_COLS);
	t->ncols = ncols;
	t->right = right;
	t->cells = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < ncols; i++)
		g_ptr_array_add(t->cells, g_strdup(heads[i]));
}

/* table_add() - append a cell (taking @cell), row by row */
static void table_add(struct table *t, char *cell)
{
	g_ptr_array_add(t->cells, cell);
}

/* table_width() - the widest cell of column @col */
static gsize table_width(const struct table *t, guint col)
{
	gsize w = 0;

	for (guint i = col; i < t->cells->len; i += t->ncols)
		w = MAX(w, strlen(g_ptr_array_index(t->cells, i)));
	return w;
}

/* table_render() - the table, columns two spaces apart (g_free); frees it */
static char *table_render(struct table *t)
{
	gsize w[TABLE_MAX_COLS] = { 0 };
	GString *s = g_string_new(NULL);
	guint c = 0; /* the column of cell i */

	for (guint i = 0; i < t->ncols; i++)
		w[i] = table_width(t, i);
	for (guint i = 0; i < t->cells->len; i++) {
		const char *cell = g_ptr_array_index(t->cells, i);
		int pad = (int)(w[c] - strlen(cell));
		bool last = c + 1 == t->ncols;

		if (t->right[c])
			g_string_append_printf(s, "%*s%s", pad, "", cell);
		else if (!last)
			g_string_append_printf(s, "%s%*s", cell, pad, "");
		else
			g_string_append(s, cell);
		g_string_append(s, last ? "\n" : "  ");
		c = last ? 0 : c + 1;
	}
	g_ptr_array_free(t->cells, TRUE);
	return g_string_free(s, FALSE);
}

/* endpoint() - "ADDR:PORT", an IPv6 ADDR in brackets (g_free) */
static char *endpoint(const char *addr, gint64 port)
{
	if (strchr(addr, ':'))
		return g_strdup_printf("[%s]:%" G_GINT64_FORMAT, addr, port);
	return g_strdup_printf("%s:%" G_GINT64_FORMAT, addr, port);
}

/* list_mode() - the MODE column: the mode ("default" if the daemon's) and
 * the options set, comma-separated (g_free) */
static char *list_mode(JsonObject *e)
{
	const char *mode = get_str(e, "mode");
	GString *s = g_string_new(mode ? mode : "default");

	if (get_true(e, "proxy_protocol"))
		g_string_append(s, ",proxy-protocol");
	if (get_true(e, "source_ip"))
		g_string_append(s, ",source-ip");
	return g_string_free(s, FALSE);
}

typedef bool (*row_fn)(struct table *t, JsonObject *e, guint i, GError **err);

/* format_entries() - a reply's "entries" as a table, a row each by @row */
static char *format_entries(JsonObject *root, guint ncols,
			    const char *const *heads, const bool *right,
			    row_fn row, GError **err)
{
	JsonArray *entries = reply_entries(root, err);
	struct table t;

	if (!entries)
		return NULL;
	table_init(&t, ncols, heads, right);
	for (guint i = 0; i < json_array_get_length(entries); i++) {
		JsonObject *e = entry_object(entries, i, err);

		if (!e || !row(&t, e, i, err)) {
			g_ptr_array_free(t.cells, TRUE);
			return NULL;
		}
	}
	return table_render(&t);
}

/* list_row() - one forward of list_hostfwd as a table row */
static bool list_row(struct table *t, JsonObject *e, guint i, GError **err)
{
	const char *proto = get_str(e, "proto");
	const char *host = get_str(e, "host_addr");
	const char *guest = get_str(e, "guest_addr");
	gint64 id, hport, gport;

	if (!get_int(e, "id", &id) || !proto || !host || !guest ||
	    !get_int(e, "host_port", &hport) ||
	    !get_int(e, "guest_port", &gport))
		return invalid(err,
			       "entry %u lacks one of id, proto, host_addr, "
			       "host_port, guest_addr, guest_port",
			       i + 1);
	table_add(t, g_strdup_printf("%" G_GINT64_FORMAT, id));
	table_add(t, g_strdup(proto));
	table_add(t, endpoint(host, hport));
	table_add(t, endpoint(guest, gport));
	table_add(t, list_mode(e));
	return true;
}

/* format_list() - list_hostfwd's entries: ID PROTO HOST GUEST MODE */
static char *format_list(JsonObject *root, GError **err)
{
	static const char *const heads[] = { "ID", "PROTO", "HOST", "GUEST",
					     "MODE" };
	static const bool right[] = { true, false, false, false, false };

	return format_entries(root, G_N_ELEMENTS(heads), heads, right, list_row,
			      err);
}

/*
 * ctl_human_bytes() - @n as "512 B", "1.5 KiB", "1.2 MiB", ... (g_free)
 */
char *ctl_human_bytes(guint64 n)
{
	static const char *const units[] = { "KiB", "MiB", "GiB",
					     "TiB", "PiB", "EiB" };
	double v = (double)n / 1024;
	guint u = 0;

	if (n < 1024)
		return g_strdup_printf("%" G_GUINT64_FORMAT " B", n);
	/* 1023.96 KiB would print as "1024.0 KiB" */
	while (v >= 1023.95 && u + 1 < G_N_ELEMENTS(units)) {
		v /= 1024;
		u++;
	}
	return g_strdup_printf("%.1f %s", v, units[u]);
}

/* stats_counter() - a counter cell: the number, in bytes if @bytes, or
 * "-" if absent (forwards run by libslirp have no counters) */
static char *stats_counter(JsonObject *e, const char *name, bool bytes)
{
	gint64 v;

	if (!get_int(e, name, &v) || v < 0)
		return g_strdup("-");
	if (bytes)
		return ctl_human_bytes((guint64)v);
	return g_strdup_printf("%" G_GINT64_FORMAT, v);
}

/* stats_row() - one forward of get_stats as a table row */
static bool stats_row(struct table *t, JsonObject *e, guint i, GError **err)
{
	const char *proto = get_str(e, "proto");
	const char *mode = get_str(e, "mode");
	gint64 id;

	if (!get_int(e, "id", &id) || !proto)
		return invalid(err, "entry %u lacks id or proto", i + 1);
	table_add(t, g_strdup_printf("%" G_GINT64_FORMAT, id));
	table_add(t, g_strdup(proto));
	table_add(t, g_strdup(mode ? mode : "-"));
	table_add(t, stats_counter(e, "connections_open", false));
	table_add(t, stats_counter(e, "connections_total", false));
	table_add(t, stats_counter(e, "bytes_to_guest", true));
	table_add(t, stats_counter(e, "bytes_from_guest", true));
	table_add(t, stats_counter(e, "errors", false));
	return true;
}

/* format_stats() - get_stats's entries:
 * ID PROTO MODE OPEN TOTAL TO-GUEST FROM-GUEST ERRORS */
static char *format_stats(JsonObject *root, GError **err)
{
	static const char *const heads[] = { "ID",	   "PROTO", "MODE",
					     "OPEN",	   "TOTAL", "TO-GUEST",
					     "FROM-GUEST", "ERRORS" };
	static const bool right[] = { true, false, false, true,
				      true, true,  true,  true };

	return format_entries(root, G_N_ELEMENTS(heads), heads, right,
			      stats_row, err);
}

/* info_value() - a get_info member's value as text (g_free) */
static char *info_value(JsonNode *n)
{
	if (JSON_NODE_HOLDS_VALUE(n) &&
	    json_node_get_value_type(n) == G_TYPE_STRING)
		return g_strdup(json_node_get_string(n));
	/* numbers, booleans, null, and anything nested: as JSON */
	return json_to_string(n, FALSE);
}

/* format_info() - get_info's members as "key: value", in the daemon's
 * order, so that members it adds show without a change here */
static char *format_info(JsonObject *root, GError **err)
{
	JsonObject *ret = reply_return(root, err);
	g_autoptr(GList) names = NULL;
	GString *s;

	if (!ret)
		return NULL;
	s = g_string_new(NULL);
	names = json_object_get_members(ret);
	for (GList *l = names; l; l = l->next) {
		g_autofree char *v =
		    info_value(json_object_get_member(ret, l->data));

		g_string_append_printf(s, "%s: %s\n", (char *)l->data, v);
	}
	return g_string_free(s, FALSE);
}

/* format_add() - add_hostfwd's new id, on a line */
static char *format_add(JsonObject *root, GError **err)
{
	JsonObject *ret = reply_return(root, err);
	gint64 id;

	if (!ret)
		return NULL;
	if (!get_int(ret, "id", &id)) {
		invalid(err, "no \"id\" in \"return\"");
		return NULL;
	}
	return g_strdup_printf("%" G_GINT64_FORMAT "\n", id);
}

/*
 * ctl_format_reply() - the human-readable output for @reply to @verb
 *
 * Return: the text (g_free it; "" for remove), or NULL with @err as for
 * ctl_check_reply()
 */
char *ctl_format_reply(enum ctl_verb verb, const char *reply, gsize len,
		       GError **err)
{
	g_autoptr(JsonParser) p = json_parser_new_immutable();
	JsonObject *root = parse_reply(p, verb, reply, len, err);

	if (!root)
		return NULL;
	switch (verb) {
	case CTL_ADD:
		return format_add(root, err);
	case CTL_LIST:
		return format_list(root, err);
	case CTL_REMOVE:
		return reply_return(root, err) ? g_strdup("") : NULL;
	case CTL_STATS:
		return format_stats(root, err);
	case CTL_INFO:
		return format_info(root, err);
	}
	return NULL;
}

/*
 * ctl_check_reply() - whether @reply (@len bytes) is a success for @verb
 *
 * Return: true, or false with @err as for ctl_format_reply()
 */
bool ctl_check_reply(enum ctl_verb verb, const char *reply, gsize len,
		     GError **err)
{
	g_autofree char *out = ctl_format_reply(verb, reply, len, err);

	return out != NULL;
}
