/* test_state.c - unit tests for src/state.c: the state file's text, reading
 * it back (whole, cut short, damaged, of another version) and atomic writes. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "state.h"
#include "ckrun.h"

/* A forward of the sample table, by its members' values. */
struct sample {
	int id;
	enum sn_fwd_proto proto;
	const char *host;
	uint16_t host_port;
	const char *guest;
	uint16_t guest_port;
	enum sn_fwd_mode mode;
	bool proxy_protocol, source_ip;
};

static const struct sample samples[] = {
	{ 1, SN_FWD_TCP, "127.0.0.1", 8080, "10.0.2.100", 80,
	  SN_FWD_MODE_SPLICE, false, false },
	{ 3, SN_FWD_UDP, "::1", 5353, "10.0.2.100", 53, SN_FWD_MODE_SPLICE,
	  false, true },
	{ 4, SN_FWD_TCP, "0.0.0.0", 2222, "10.0.2.15", 22, SN_FWD_MODE_SLIRP,
	  false, false },
	{ 6, SN_FWD_TCP, "::", 8443, "10.0.2.100", 443, SN_FWD_MODE_SPLICE,
	  true, true },
	{ 7, SN_FWD_TCP, "0.0.0.0", 8081, "10.0.2.100", 81, SN_FWD_MODE_AUTO,
	  false, false },
	{ 8, SN_FWD_TCP, "::", 8082, "10.0.2.100", 82, SN_FWD_MODE_TAP, false,
	  false },
};

/* spec_of() - the spec @s describes */
static struct sn_fwd_spec spec_of(const struct sample *s)
{
	struct sn_fwd_spec spec = {
		.proto = s->proto,
		.mode = s->mode,
		.host_port = s->host_port,
		.guest_port = s->guest_port,
		.proxy_protocol = s->proxy_protocol,
		.source_ip = s->source_ip,
	};

	spec.host_family = strchr(s->host, ':') ? AF_INET6 : AF_INET;
	if (spec.host_family == AF_INET6)
		ck_assert_int_eq(inet_pton(AF_INET6, s->host, &spec.host_addr6),
				 1);
	else
		ck_assert_int_eq(inet_pton(AF_INET, s->host, &spec.host_addr),
				 1);
	ck_assert_int_eq(inet_pton(AF_INET, s->guest, &spec.guest_addr), 1);
	return spec;
}

/*
 * table_push() - put forward @id with @spec straight into @t's array, as
 * if it were running: serialising needs no listening socket
 */
static void table_push(struct sn_fwd_table *t, int id,
		       const struct sn_fwd_spec *spec)
{
	struct sn_fwd *f = g_new0(struct sn_fwd, 1);

	f->id = id;
	f->spec = *spec;
	g_ptr_array_add(t->fwds, f);
}

/* sample_table() - a table holding the samples, next_id 9; no backends */
static void sample_table(struct sn_fwd_table *t)
{
	sn_fwd_table_init(t, NULL, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(samples); i++) {
		struct sn_fwd_spec spec = spec_of(&samples[i]);

		table_push(t, samples[i].id, &spec);
	}
	t->next_id = 9;
}

/* specs_equal() - assert that @a and @b are the same forward */
static void specs_equal(const struct sn_fwd_spec *a,
			const struct sn_fwd_spec *b)
{
	ck_assert_int_eq(a->proto, b->proto);
	ck_assert_int_eq(a->mode, b->mode);
	ck_assert_int_eq(a->host_family, b->host_family);
	if (a->host_family == AF_INET6)
		ck_assert(IN6_ARE_ADDR_EQUAL(&a->host_addr6, &b->host_addr6));
	else
		ck_assert_uint_eq(a->host_addr.s_addr, b->host_addr.s_addr);
	ck_assert_uint_eq(a->host_port, b->host_port);
	ck_assert_uint_eq(a->guest_addr.s_addr, b->guest_addr.s_addr);
	ck_assert_uint_eq(a->guest_port, b->guest_port);
	ck_assert_int_eq(a->proxy_protocol, b->proxy_protocol);
	ck_assert_int_eq(a->source_ip, b->source_ip);
}

/* tmp_dir() - a new private directory (remove it with rm_dir()) */
static char *tmp_dir(void)
{
	char *dir = g_dir_make_tmp("slirpnetd-test-state-XXXXXX", NULL);

	ck_assert_ptr_nonnull(dir);
	return dir;
}

/* rm_dir() - remove @dir and the files a test left in it */
static void rm_dir(char *dir)
{
	const char *names[] = { "state.json", "state.json.tmp" };

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree char *p = g_build_filename(dir, names[i], NULL);

		g_unlink(p);
	}
	ck_assert_int_eq(g_rmdir(dir), 0);
	g_free(dir);
}

/* put_file() - a state file holding @text in @dir; returns its path */
static char *put_file(const char *dir, const char *text)
{
	char *path = g_build_filename(dir, "state.json", NULL);

	ck_assert(g_file_set_contents(path, text, -1, NULL));
	return path;
}

/* has_problem() - does one of @st's problems contain both @a and @b? */
static bool has_problem(const struct sn_state *st, const char *a, const char *b)
{
	for (guint i = 0; i < st->problems->len; i++) {
		const char *p = st->problems->pdata[i];

		if (strstr(p, a) && strstr(p, b))
			return true;
	}
	return false;
}

/* dump_problems() - the problems as one string, for failure messages */
static char *dump_problems(const struct sn_state *st)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < st->problems->len; i++)
		g_string_append_printf(s, "[%s] ",
				       (char *)st->problems->pdata[i]);
	return g_string_free(s, FALSE);
}

/* expect_problem() - assert has_problem(), showing them all if not */
static void expect_problem(const struct sn_state *st, const char *a,
			   const char *b)
{
	g_autofree char *all = dump_problems(st);

	ck_assert_msg(has_problem(st, a, b),
		      "no problem with \"%s\" and \"%s\": %s", a, b, all);
}

/* fwd_at() - the @i-th forward read */
static const struct sn_state_fwd *fwd_at(const struct sn_state *st, guint i)
{
	ck_assert_uint_lt(i, st->fwds->len);
	return &g_array_index(st->fwds, struct sn_state_fwd, i);
}

START_TEST(round_trip)
{
	struct sn_fwd_table t, back;
	g_autofree char *text = NULL, *again = NULL, *path = NULL;
	g_auto(GStrv) lines = NULL;
	char *dir = tmp_dir();
	struct sn_state st;
	GError *err = NULL;

	sample_table(&t);
	text = sn_state_to_json(&t);
	lines = g_strsplit(text, "\n", -1);
	/* the header, one line a forward, the closing line, "" after \n */
	ck_assert_uint_eq(g_strv_length(lines), G_N_ELEMENTS(samples) + 3);
	ck_assert_str_eq(lines[0],
			 "{\"version\":1,\"next_id\":9,\"forwards\":[");
	ck_assert_str_eq(lines[1],
			 "{\"id\":1,\"proto\":\"tcp\",\"host_addr\":"
			 "\"127.0.0.1\",\"host_port\":8080,\"guest_addr\":"
			 "\"10.0.2.100\",\"guest_port\":80,\"mode\":"
			 "\"splice\",\"proxy_protocol\":false,"
			 "\"source_ip\":false},");
	ck_assert_str_eq(lines[G_N_ELEMENTS(samples) + 1], "]}");

	path = put_file(dir, text);
	ck_assert_msg(sn_state_load(path, &st, &err), "%s",
		      err ? err->message : "");
	ck_assert(st.found);
	ck_assert_uint_eq(st.problems->len, 0);
	ck_assert_int_eq(st.next_id, 9);
	ck_assert_uint_eq(st.fwds->len, G_N_ELEMENTS(samples));
	sn_fwd_table_init(&back, NULL, NULL);
	for (guint i = 0; i < st.fwds->len; i++) {
		struct sn_fwd_spec want = spec_of(&samples[i]);

		ck_assert_int_eq(fwd_at(&st, i)->id, samples[i].id);
		ck_assert_uint_eq(fwd_at(&st, i)->line, i + 2);
		specs_equal(&fwd_at(&st, i)->spec, &want);
		table_push(&back, fwd_at(&st, i)->id, &fwd_at(&st, i)->spec);
	}
	back.next_id = st.next_id;
	again = sn_state_to_json(&back);
	ck_assert_str_eq(again, text);
	sn_state_clear(&st);
	sn_fwd_table_clear(&t);
	sn_fwd_table_clear(&back);
	rm_dir(dir);
}
END_TEST

START_TEST(empty_table_and_missing_file)
{
	struct sn_fwd_table t;
	g_autofree char *text = NULL, *path = NULL;
	char *dir = tmp_dir();
	struct sn_state st;
	GError *err = NULL;

	sn_fwd_table_init(&t, NULL, NULL);
	text = sn_state_to_json(&t);
	ck_assert_str_eq(text,
			 "{\"version\":1,\"next_id\":1,\"forwards\":[\n]}\n");
	path = g_build_filename(dir, "state.json", NULL);
	ck_assert(sn_state_load(path, &st, &err));
	ck_assert(!st.found);
	ck_assert_uint_eq(st.fwds->len, 0);
	ck_assert_uint_eq(st.problems->len, 0);
	sn_state_clear(&st);
	g_free(put_file(dir, text));
	ck_assert(sn_state_load(path, &st, &err));
	ck_assert(st.found);
	ck_assert_uint_eq(st.fwds->len, 0);
	ck_assert_uint_eq(st.problems->len, 0);
	sn_state_clear(&st);
	g_free(put_file(dir, ""));
	ck_assert(sn_state_load(path, &st, &err));
	ck_assert_uint_eq(st.fwds->len, 0);
	expect_problem(&st, path, "the file is empty");
	sn_state_clear(&st);
	sn_fwd_table_clear(&t);
	rm_dir(dir);
}
END_TEST

START_TEST(corrupt_json)
{
	static const char text[] =
	    "{\"version\":1,\"next_id\":5,\"forwards\":[\n"
	    "{\"id\":1,\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\","
	    "\"host_port\":8080,\"guest_addr\":\"10.0.2.100\","
	    "\"guest_port\":80},\n"
	    "{\"id\":2,\"proto\":tcp,\"host_addr\":\"127.0.0.1\"},\n"
	    "{\"id\":4,\"proto\":\"udp\",\"host_addr\":\"127.0.0.1\","
	    "\"host_port\":5353,\"guest_addr\":\"10.0.2.100\","
	    "\"guest_port\":53}\n"
	    "]}\n";
	g_autofree char *path = NULL, *at3 = NULL;
	char *dir = tmp_dir();
	struct sn_state st;
	GError *err = NULL;

	path = put_file(dir, text);
	at3 = g_strdup_printf("%s:3:", path);
	ck_assert(sn_state_load(path, &st, &err));
	/* json-glib's complaint, with the path and line; then line 3 */
	expect_problem(&st, at3, "Parse error");
	expect_problem(&st, at3, "not a complete JSON object");
	ck_assert_uint_eq(st.fwds->len, 2);
	ck_assert_int_eq(fwd_at(&st, 0)->id, 1);
	ck_assert_int_eq(fwd_at(&st, 1)->id, 4);
	ck_assert_int_eq(fwd_at(&st, 1)->spec.proto, SN_FWD_UDP);
	ck_assert_int_eq(st.next_id, 5);
	sn_state_clear(&st);

	/* nothing like the layout: nothing read, and said so */
	g_free(put_file(dir,
			"{\"version\":1,\"next_id\":2,\"forwards\":[{\"id\""));
	ck_assert(sn_state_load(path, &st, &err));
	ck_assert_uint_eq(st.fwds->len, 0);
	expect_problem(&st, path, "Parse error");
	expect_problem(&st, path, "no forwards restored");
	sn_state_clear(&st);

	g_free(put_file(dir, "[1,2]"));
	ck_assert(sn_state_load(path, &st, &err));
	ck_assert_uint_eq(st.fwds->len, 0);
	expect_problem(&st, path, "not a JSON object");
	sn_state_clear(&st);
	rm_dir(dir);
}
END_TEST

START_TEST(truncated)
{
	struct sn_fwd_table t;
	g_autofree char *text = NULL, *path = NULL, *at4 = NULL;
	char *dir = tmp_dir();
	struct sn_state st;
	GError *err = NULL;
	char *cut;

	sample_table(&t);
	text = sn_state_to_json(&t);
	/* cut in the middle of the third forward (line 4) */
	cut = strstr(text, "\"id\":4,");
	ck_assert_ptr_nonnull(cut);
	cut[10] = '\0';
	path = put_file(dir, text);
	at4 = g_strdup_printf("%s:4:", path);
	ck_assert(sn_state_load(path, &st, &err));
	expect_problem(&st, at4, "not a complete JSON object");
	ck_assert_uint_eq(st.fwds->len, 2);
	ck_assert_int_eq(fwd_at(&st, 0)->id, 1);
	ck_assert_int_eq(fwd_at(&st, 1)->id, 3);
	ck_assert_int_eq(st.next_id, 9);
	sn_state_clear(&st);

	/* cut in the header: nothing to go on */
	g_free(put_file(dir, "{\"version\":1,\"nex"));
	ck_assert(sn_state_load(path, &st, &err));
	ck_assert_uint_eq(st.fwds->len, 0);
	expect_problem(&st, path, "no forwards restored");
	sn_state_clear(&st);
	sn_fwd_table_clear(&t);
	rm_dir(dir);
}
END_TEST

START_TEST(wrong_types)
{
	static const char text[] =
	    "{\"version\":1,\"next_id\":\"7\",\"forwards\":[\n"
	    "{\"id\":\"1\",\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\","
	    "\"host_port\":8080,\"guest_addr\":\"10.0.2.100\","
	    "\"guest_port\":80},\n"
	    "{\"id\":2,\"proto\":\"sctp\",\"host_addr\":\"127.0.0.1\","
	    "\"host_port\":8080,\"guest_addr\":\"10.0.2.100\","
	    "\"guest_port\":80},\n"
	    "{\"id\":3,\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\","
	    "\"host_port\":70000,\"guest_addr\":\"10.0.2.100\","
	    "\"guest_port\":80},\n"
	    "{\"id\":4,\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\","
	    "\"host_port\":8084,\"guest_addr\":\"10.0.2.100\","
	    "\"guest_port\":80,\"source_ip\":\"yes\"},\n"
	    "{\"id\":5,\"proto\":\"tcp\",\"host_addr\":\"localhost\","
	    "\"host_port\":8085,\"guest_addr\":\"10.0.2.100\","
	    "\"guest_port\":80},\n"
	    "[6],\n"
	    "{\"id\":8,\"proto\":\"udp\",\"host_addr\":\"127.0.0.1\","
	    "\"host_port\":8088,\"guest_addr\":\"10.0.2.100\","
	    "\"guest_port\":80,\"colour\":\"blue\",\"mode\":\"slirp\"}\n"
	    "],\"comment\":{\"unknown\":[1,2]}}\n";
	g_autofree char *path = NULL;
	char *dir = tmp_dir();
	struct sn_state st;
	GError *err = NULL;

	path = put_file(dir, text);
	ck_assert(sn_state_load(path, &st, &err));
	ck_assert_uint_eq(st.fwds->len, 1);
	ck_assert_int_eq(fwd_at(&st, 0)->id, 8);
	ck_assert_int_eq(fwd_at(&st, 0)->spec.mode, SN_FWD_MODE_SLIRP);
	ck_assert_uint_eq(fwd_at(&st, 0)->line, 8);
	ck_assert_int_eq(st.next_id, 1);
	expect_problem(&st, path, "\"next_id\"");
	expect_problem(&st, ":2: a forward left out", "\"id\"");
	expect_problem(&st, ":3: forward 2 left out", "\"proto\"");
	expect_problem(&st, ":4: forward 3 left out", "\"host_port\"");
	expect_problem(&st, ":5: forward 4 left out", "\"source_ip\"");
	expect_problem(&st, ":6: forward 5 left out", "\"host_addr\"");
	expect_problem(&st, ":7: a forward left out", "not a JSON object");
	ck_assert_uint_eq(st.problems->len, 7);
	sn_state_clear(&st);
	rm_dir(dir);
}
END_TEST

START_TEST(unknown_version)
{
	g_autofree char *path = NULL;
	char *dir = tmp_dir();
	struct sn_state st;
	GError *err = NULL;

	path =
	    put_file(dir, "{\"version\":2,\"next_id\":1,\"forwards\":[\n]}\n");
	ck_assert(!sn_state_load(path, &st, &err));
	ck_assert(g_error_matches(err, SN_STATE_ERROR, SN_STATE_ERROR_VERSION));
	ck_assert_msg(strstr(err->message, "version 2") &&
			  strstr(err->message, path),
		      "%s", err->message);
	g_clear_error(&err);
	sn_state_clear(&st);

	/* also when the rest of the file is cut short */
	g_free(
	    put_file(dir, "{\"version\":17,\"next_id\":1,\"forwards\":[\n{"));
	ck_assert(!sn_state_load(path, &st, &err));
	ck_assert_msg(strstr(err->message, "version 17"), "%s", err->message);
	g_clear_error(&err);
	sn_state_clear(&st);
	rm_dir(dir);
}
END_TEST

/* set_dac_override() - root's power to write anywhere, on or off */
static void set_dac_override(bool on)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];
	unsigned int bits =
	    (1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH);

	ck_assert_int_eq(syscall(SYS_capget, &h, d), 0);
	if (on)
		d[0].effective |= bits & d[0].permitted;
	else
		d[0].effective &= ~bits;
	ck_assert_int_eq(syscall(SYS_capset, &h, d), 0);
}

START_TEST(atomic_write)
{
	g_autofree char *path = NULL, *tmp = NULL, *got = NULL;
	char *dir = tmp_dir();
	GError *err = NULL;
	struct stat sb;

	path = g_build_filename(dir, "state.json", NULL);
	tmp = g_strconcat(path, ".tmp", NULL);
	ck_assert(sn_state_write(path, "first\n", &err));
	ck_assert(sn_state_write(path, "second\n", &err));
	ck_assert(g_file_get_contents(path, &got, NULL, NULL));
	ck_assert_str_eq(got, "second\n");
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0600);
	ck_assert_int_eq(access(tmp, F_OK), -1);
	ck_assert_int_eq(errno, ENOENT);

	/* a read-only directory: an error naming the file, the old one kept */
	ck_assert_int_eq(chmod(dir, 0555), 0);
	set_dac_override(false);
	ck_assert(!sn_state_write(path, "third\n", &err));
	set_dac_override(true);
	ck_assert_int_eq(chmod(dir, 0700), 0);
	ck_assert(g_error_matches(err, SN_STATE_ERROR, SN_STATE_ERROR_IO));
	ck_assert_msg(strstr(err->message, path) &&
			  strstr(err->message, g_strerror(EACCES)),
		      "%s", err->message);
	g_clear_error(&err);
	g_free(got);
	ck_assert(g_file_get_contents(path, &got, NULL, NULL));
	ck_assert_str_eq(got, "second\n");
	ck_assert_int_eq(access(tmp, F_OK), -1);
	rm_dir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("state");

	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, empty_table_and_missing_file);
	tcase_add_test(tc, corrupt_json);
	tcase_add_test(tc, truncated);
	tcase_add_test(tc, wrong_types);
	tcase_add_test(tc, unknown_version);
	tcase_add_test(tc, atomic_write);
	suite_add_tcase(s, tc);
	return sn_ck_run(s, CK_NORMAL);
}
