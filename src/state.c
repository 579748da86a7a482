/* state.c - the state file (--state-file): the forward table in JSON with
 * json-glib, written atomically, read back (what survives of it) at start. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "fwdjson.h"
#include "state.h"

G_DEFINE_QUARK(sn - state - error - quark, sn_state_error)

/*
 * Theory of operation
 *
 * The file is one JSON object: {"version":1,"next_id":N,"forwards":[...]}.
 * It is written with the header on the first line and one forward a line,
 * so that a file cut short (a full disk, an edit gone wrong) can still be
 * read line by line: the header closed with "]}", then each line, without
 * its trailing comma, as one forward. Each piece is parsed by json-glib.
 *
 * Writing goes to PATH.tmp, is fsync()ed, renamed over PATH and the
 * directory fsync()ed: at every moment PATH holds either the old table or
 * the new one. The table calls sn_state_save() after each change and
 * undoes the change if it fails, so no acknowledged forward is lost.
 */

void sn_state_init(struct sn_state *st)
{
	st->found = false;
	st->next_id = 1;
	st->fwds = g_array_new(FALSE, TRUE, sizeof(struct sn_state_fwd));
	st->problems = g_ptr_array_new_with_free_func(g_free);
}

void sn_state_clear(struct sn_state *st)
{
	g_clear_pointer(&st->fwds, g_array_unref);
	g_clear_pointer(&st->problems, g_ptr_array_unref);
}

/* ---- writing ---- */

/* fwd_json() - forward @f as one line of compact JSON */
static char *fwd_json(const struct sn_fwd *f)
{
	const struct sn_fwd_spec *s = &f->spec;
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	sn_fwd_json_members(b, f);
	sn_json_add_str(b, "mode", sn_fwd_mode_name(s->mode));
	sn_json_add_bool(b, "proxy_protocol", s->proxy_protocol);
	sn_json_add_bool(b, "source_ip", s->source_ip);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	return json_generator_to_data(gen, NULL);
}

char *sn_state_to_json(const struct sn_fwd_table *t)
{
	GString *s = g_string_new(NULL);

	g_string_append_printf(s,
			       "{\"version\":%d,\"next_id\":%d,"
			       "\"forwards\":[",
			       SN_STATE_VERSION, t->next_id);
	for (guint i = 0; t->fwds && i < t->fwds->len; i++) {
		g_autofree char *line = fwd_json(g_ptr_array_index(t->fwds, i));

		g_string_append(s, i ? ",\n" : "\n");
		g_string_append(s, line);
	}
	g_string_append(s, "\n]}\n");
	return g_string_free(s, FALSE);
}

/* write_error() - "cannot write the state file PATH: errno (STEP FILE)" */
static bool write_error(GError **err, int errnum, const char *path,
			const char *step, const char *file)
{
	g_set_error(err, SN_STATE_ERROR, SN_STATE_ERROR_IO,
		    "cannot write the state file %s: %s (%s %s)", path,
		    g_strerror(errnum), step, file);
	return false;
}

/* write_all() - all of @len bytes at @buf to @fd. Return: 0 or -errno */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* write_tmp() - @text to @tmp (0600), on disk; @tmp is gone on failure */
static bool write_tmp(const char *path, const char *tmp, const char *text,
		      GError **err)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int r;

	if (fd < 0)
		return write_error(err, errno, path, "creating", tmp);
	r = write_all(fd, text, strlen(text));
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r && errno != EINTR)
		r = -errno;
	if (!r)
		return true;
	unlink(tmp);
	return write_error(err, -r, path, "writing", tmp);
}

/* sync_dir() - fsync the directory holding @path, so the rename lasts */
static bool sync_dir(const char *path, GError **err)
{
	g_autofree char *dir = g_path_get_dirname(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return write_error(err, errno, path, "opening", dir);
	/* some file systems cannot sync a directory, and need not */
	if (fsync(fd) < 0 && errno != EINVAL)
		r = errno;
	close(fd);
	return !r || write_error(err, r, path, "syncing", dir);
}

bool sn_state_write(const char *path, const char *text, GError **err)
{
	g_autofree char *tmp = g_strconcat(path, ".tmp", NULL);
	int r;

	if (!write_tmp(path, tmp, text, err))
		return false;
	if (rename(tmp, path) < 0) {
		r = errno;
		unlink(tmp);
		return write_error(err, r, path, "renaming", tmp);
	}
	/* If this fails the new table is in place but may not last a power
	 * loss; the caller undoes its change, and the next save corrects. */
	return sync_dir(path, err);
}

bool sn_state_save(const struct sn_fwd_table *t, void *path, GError **err)
{
	g_autofree char *text = sn_state_to_json(t);

	return sn_state_write(path, text, err);
}

/* ---- reading ---- */

/* problem() - record what could not be read at @path:@line (0: no line) */
static void G_GNUC_PRINTF(4, 5) problem(struct sn_state *st, const char *path,
					unsigned int line, const char *fmt, ...)
{
	g_autofree char *what = NULL;
	va_list ap;

	va_start(ap, fmt);
	what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (line)
		g_ptr_array_add(st->problems,
				g_strdup_printf("%s:%u: %s", path, line, what));
	else
		g_ptr_array_add(st->problems,
				g_strdup_printf("%s: %s", path, what));
}

/* member_int() - member @name of @o, if it is an integer in [min, max] */
static bool member_int(JsonObject *o, const char *name, gint64 min, gint64 max,
		       gint64 *out)
{
	JsonNode *n = json_object_get_member(o, name);

	if (!n || !JSON_NODE_HOLDS_VALUE(n) ||
	    json_node_get_value_type(n) != G_TYPE_INT64)
		return false;
	*out = json_node_get_int(n);
	return *out >= min && *out <= max;
}

/* member_str() - member @name of @o if it is a string, else NULL */
static const char *member_str(JsonObject *o, const char *name)
{
	return sn_json_str(json_object_get_member(o, name));
}

/* member_bool() - member @name of @o: true or false; false if absent */
static bool member_bool(JsonObject *o, const char *name, bool *out)
{
	return sn_json_bool(json_object_get_member(o, name), out);
}

/* member_port() - member @name of @o as a port, 1 to 65535 */
static bool member_port(JsonObject *o, const char *name, uint16_t *port)
{
	gint64 v;

	if (!member_int(o, name, 1, 65535, &v))
		return false;
	*port = (uint16_t)v;
	return true;
}

/* member_host() - "host_addr": an IPv4 or IPv6 address */
static bool member_host(JsonObject *o, struct sn_fwd_spec *s)
{
	const char *a = member_str(o, "host_addr");

	if (!a)
		return false;
	s->host_family = strchr(a, ':') ? AF_INET6 : AF_INET;
	if (s->host_family == AF_INET6)
		return inet_pton(AF_INET6, a, &s->host_addr6) == 1;
	return inet_pton(AF_INET, a, &s->host_addr) == 1;
}

/* fwd_where() - the id, proto and addresses of a forward. Return: why not */
static const char *fwd_where(JsonObject *o, struct sn_state_fwd *sf)
{
	struct sn_fwd_spec *s = &sf->spec;
	const char *proto = member_str(o, "proto");
	const char *guest = member_str(o, "guest_addr");
	gint64 id;

	if (!member_int(o, "id", 1, INT_MAX - 1, &id))
		return "\"id\" is missing or not an integer from 1";
	sf->id = (int)id;
	if (!g_strcmp0(proto, "tcp") || !g_strcmp0(proto, "udp"))
		s->proto = !strcmp(proto, "udp") ? SN_FWD_UDP : SN_FWD_TCP;
	else
		return "\"proto\" is not \"tcp\" or \"udp\"";
	if (!member_host(o, s))
		return "\"host_addr\" is not an IPv4 or IPv6 address";
	if (!member_port(o, "host_port", &s->host_port))
		return "\"host_port\" is not a port number (1 to 65535)";
	if (!guest || inet_pton(AF_INET, guest, &s->guest_addr) != 1)
		return "\"guest_addr\" is not an IPv4 address";
	if (!member_port(o, "guest_port", &s->guest_port))
		return "\"guest_port\" is not a port number (1 to 65535)";
	return NULL;
}

/* fwd_options() - mode, proxy_protocol, source_ip. Return: why not */
static const char *fwd_options(JsonObject *o, struct sn_fwd_spec *s)
{
	const char *mode = member_str(o, "mode");

	s->mode = SN_FWD_MODE_AUTO;
	if (json_object_has_member(o, "mode") &&
	    !sn_fwd_mode_parse(mode, &s->mode))
		return "\"mode\" is not " SN_FWD_MODE_NAMES;
	if (!member_bool(o, "proxy_protocol", &s->proxy_protocol))
		return "\"proxy_protocol\" is not true or false";
	if (!member_bool(o, "source_ip", &s->source_ip))
		return "\"source_ip\" is not true or false";
	return NULL;
}

/* read_fwd() - one entry of "forwards", kept, or recorded as a problem */
static void read_fwd(struct sn_state *st, const char *path, JsonNode *n,
		     unsigned int line)
{
	struct sn_state_fwd sf = { .line = line };
	const char *why = "not a JSON object";

	if (JSON_NODE_HOLDS_OBJECT(n)) {
		why = fwd_where(json_node_get_object(n), &sf);
		if (!why)
			why = fwd_options(json_node_get_object(n), &sf.spec);
	}
	if (!why) {
		g_array_append_val(st->fwds, sf);
		return;
	}
	if (sf.id)
		problem(st, path, line, "forward %d left out: %s", sf.id, why);
	else
		problem(st, path, line, "a forward left out: %s", why);
}

/* read_header() - "version" (which must be ours) and "next_id" */
static bool read_header(struct sn_state *st, const char *path, JsonObject *o,
			unsigned int line, GError **err)
{
	gint64 v;

	if (!member_int(o, "version", G_MININT64, G_MAXINT64, &v))
		problem(st, path, line,
			"\"version\" is missing or not an integer; read as "
			"version %d",
			SN_STATE_VERSION);
	else if (v != SN_STATE_VERSION) {
		g_set_error(err, SN_STATE_ERROR, SN_STATE_ERROR_VERSION,
			    "state file %s: version %" G_GINT64_FORMAT
			    " is not one this slirpnetd reads (it reads "
			    "version %d); move the file away to start without "
			    "its forwards",
			    path, v, SN_STATE_VERSION);
		return false;
	}
	if (member_int(o, "next_id", 1, INT_MAX, &v))
		st->next_id = (int)v;
	else
		problem(st, path, line,
			"\"next_id\" is missing or not a positive integer; "
			"new ids follow the highest one read");
	return true;
}

/* on_element() - the parser's "array-element": note where elements end */
static void on_element(JsonParser *parser, JsonArray *array, gint index,
		       gpointer lines)
{
	g_hash_table_insert(
	    lines, json_array_get_element(array, (guint)index),
	    GUINT_TO_POINTER(json_parser_get_current_line(parser)));
}

/* read_doc() - a parsed file: the header, then each forward */
static bool read_doc(struct sn_state *st, const char *path, JsonNode *root,
		     GHashTable *lines, GError **err)
{
	JsonObject *o = json_node_get_object(root);
	JsonNode *fwds = json_object_get_member(o, "forwards");
	JsonArray *a;

	if (!read_header(st, path, o, 0, err))
		return false;
	if (!fwds || !JSON_NODE_HOLDS_ARRAY(fwds)) {
		problem(st, path, 0, "\"forwards\" is missing or not an array");
		return true;
	}
	a = json_node_get_array(fwds);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *n = json_array_get_element(a, i);
		gpointer line = g_hash_table_lookup(lines, n);

		read_fwd(st, path, n, GPOINTER_TO_UINT(line));
	}
	return true;
}

/* parse_piece() - @text (one line, or the header closed) as JSON */
static JsonNode *parse_piece(const char *text)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	JsonNode *root;

	if (!json_parser_load_from_data(parser, text, -1, NULL))
		return NULL;
	root = json_parser_get_root(parser);
	return root ? json_node_ref(root) : NULL;
}

/* recover_header() - line 1, closed with "]}": version and next_id */
static bool recover_header(struct sn_state *st, const char *path,
			   const char *line, bool *ok, GError **err)
{
	g_autofree char *closed = g_strconcat(line, "]}", NULL);
	g_autoptr(JsonNode) root = parse_piece(closed);

	*ok = root && JSON_NODE_HOLDS_OBJECT(root);
	if (!*ok) {
		problem(st, path, 1,
			"the header cannot be read either; no "
			"forwards restored");
		return true;
	}
	return read_header(st, path, json_node_get_object(root), 1, err);
}

/* recover_line() - line @n (a forward, a comma after it) if it reads */
static void recover_line(struct sn_state *st, const char *path, char *line,
			 unsigned int n)
{
	g_autoptr(JsonNode) root = NULL;
	gsize len;

	g_strstrip(line);
	len = strlen(line);
	if (!len || line[0] == ']')
		return;
	if (line[len - 1] == ',')
		line[len - 1] = '\0';
	root = parse_piece(line);
	if (root)
		read_fwd(st, path, root, n);
	else
		problem(st, path, n,
			"a forward left out: not a complete JSON object (the "
			"file is cut short or damaged here)");
}

/* recover() - a file json-glib refused: read it line by line */
static bool recover(struct sn_state *st, const char *path, const char *text,
		    GError **err)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	bool ok;

	if (!recover_header(st, path, lines[0] ? lines[0] : "", &ok, err))
		return false;
	for (guint i = 1; ok && lines[i]; i++)
		recover_line(st, path, lines[i], i + 1);
	return true;
}

/* read_text() - @path's contents; NULL and no error if it does not exist */
static char *read_text(const char *path, GError **err)
{
	g_autoptr(GError) e = NULL;
	char *text = NULL;

	if (g_file_get_contents(path, &text, NULL, &e))
		return text;
	if (!g_error_matches(e, G_FILE_ERROR, G_FILE_ERROR_NOENT))
		g_set_error(err, SN_STATE_ERROR, SN_STATE_ERROR_IO,
			    "cannot read the state file %s: %s", path,
			    e->message);
	return NULL;
}

/* parse_file() - the whole file; else why not, with path, line, column */
static bool parse_file(JsonParser *parser, const char *path, GHashTable *lines,
		       char **why)
{
	g_autoptr(GError) e = NULL;
	gulong h = g_signal_connect(parser, "array-element",
				    G_CALLBACK(on_element), lines);
	bool ok = json_parser_load_from_file(parser, path, &e);

	g_signal_handler_disconnect(parser, h);
	if (!ok)
		*why = g_strdup(e->message);
	return ok;
}

bool sn_state_load(const char *path, struct sn_state *st, GError **err)
{
	g_autoptr(GError) e = NULL;
	g_autofree char *text = read_text(path, &e);
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	g_autoptr(GHashTable) lines = g_hash_table_new(NULL, NULL);
	g_autofree char *why = NULL;
	JsonNode *root;

	sn_state_init(st);
	if (!text && e) {
		g_propagate_error(err, g_steal_pointer(&e));
		return false;
	}
	if (!text)
		return true;
	st->found = true;
	if (!parse_file(parser, path, lines, &why)) {
		/* json-glib's message starts with the path, line and column */
		g_ptr_array_add(st->problems,
				g_strdup_printf("%s; reading what it can line "
						"by line",
						why));
		return recover(st, path, text, err);
	}
	root = json_parser_get_root(parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		problem(st, path, 0, "%s; no forwards restored",
			root ? "not a JSON object" : "the file is empty");
		return true;
	}
	return read_doc(st, path, root, lines, err);
}

/* ---- restoring ---- */

/* restore_fwds() - start each forward of @st in @t; warn about the rest */
static guint restore_fwds(const char *path, const struct sn_state *st,
			  struct sn_fwd_table *t)
{
	guint n = 0;

	for (guint i = 0; i < st->fwds->len; i++) {
		const struct sn_state_fwd *sf =
		    &g_array_index(st->fwds, struct sn_state_fwd, i);
		g_autoptr(GError) e = NULL;
		g_autofree char *host = NULL;
		char guest[INET_ADDRSTRLEN];

		if (sn_fwd_add_with_id(t, &sf->spec, sf->id, &e)) {
			n++;
			continue;
		}
		host = sn_fwd_spec_host(&sf->spec);
		inet_ntop(AF_INET, &sf->spec.guest_addr, guest, sizeof(guest));
		g_warning("state file %s: forward %d (%s to %s:%u) dropped: %s",
			  path, sf->id, host, guest, sf->spec.guest_port,
			  e->message);
	}
	return n;
}

bool sn_state_restore(const char *path, struct sn_fwd_table *t, GError **err)
{
	struct sn_state st;
	guint n;
	bool ok;

	if (!sn_state_load(path, &st, err)) {
		sn_state_clear(&st);
		return false;
	}
	for (guint i = 0; i < st.problems->len; i++)
		g_warning("state file %s", (char *)st.problems->pdata[i]);
	n = restore_fwds(path, &st, t);
	if (st.next_id > t->next_id)
		t->next_id = st.next_id;
	if (st.found)
		g_message("restored %u of %u forwards from %s", n, st.fwds->len,
			  path);
	sn_state_clear(&st);
	ok = sn_state_save(t, (void *)path, err);
	if (ok) {
		t->save = sn_state_save;
		t->save_data = (void *)path;
	}
	return ok;
}
