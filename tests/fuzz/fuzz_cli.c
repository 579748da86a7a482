/* fuzz_cli.c - libFuzzer target for the command line: the input split into
 * words at NUL bytes, after "slirpnetd", through sn_cli_parse(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* log_writer() - crash on a critical or an error (glib caught a misuse) */
static GLogWriterOutput log_writer(GLogLevelFlags level, const GLogField *f,
				   gsize n, gpointer data)
{
	(void)data;
	if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)) {
		g_log_writer_standard_streams(level, f, n, NULL);
		abort();
	}
	return G_LOG_WRITER_HANDLED;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	g_log_set_writer_func(log_writer, NULL, NULL);
	return 0;
}

/*
 * split_words() - "slirpnetd", then the words of @data: each NUL ends one,
 * so "-c\0" is one word and "a\0\0b" is three, the middle one empty
 * Return: a NULL-terminated vector (g_strfreev it), its length in *@argc
 */
static char **split_words(const uint8_t *data, size_t size, int *argc)
{
	GPtrArray *words = g_ptr_array_new();
	size_t start = 0;

	g_ptr_array_add(words, g_strdup("slirpnetd"));
	for (size_t i = 0; i <= size; i++) {
		if (i < size && data[i])
			continue;
		if (i == size && i == start)
			break; /* no unterminated last word */
		g_ptr_array_add(
		    words, g_strndup((const char *)data + start, i - start));
		start = i + 1;
	}
	*argc = (int)words->len;
	g_ptr_array_add(words, NULL);
	return (char **)g_ptr_array_free(words, FALSE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int argc;
	char **argv = split_words(data, size, &argc);
	char **copy = g_strdupv(argv);
	g_autoptr(GError) err = NULL;
	struct sn_config cfg;
	bool ok = sn_cli_parse(argc, argv, &cfg, &err);

	/* an error, and only then; argv left as it was */
	if (ok == (err != NULL) || (err && !*err->message))
		abort();
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], copy[i]))
			abort();
	}
	/* what parsed is a usable configuration */
	if (ok && !cfg.show_help && !cfg.show_version &&
	    (!cfg.netns_path || !cfg.tapname || !*cfg.tapname))
		abort();
	sn_config_clear(&cfg);
	g_strfreev(copy);
	g_strfreev(argv);
	return 0;
}
