/* log.c - logging to stderr through glib's structured log writer.
 * Messages are plain lines ("WARNING: ..." for warnings), debug with --debug.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"

/* log_prefix() - the line prefix for a glib log level ("" for info) */
static const char *log_prefix(GLogLevelFlags level)
{
	if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
		return "ERROR: ";
	if (level & G_LOG_LEVEL_WARNING)
		return "WARNING: ";
	if (level & G_LOG_LEVEL_DEBUG)
		return "debug: ";
	return "";
}

/* log_writer() - glib log writer: one line on stderr per message */
static GLogWriterOutput log_writer(GLogLevelFlags level,
				   const GLogField *fields, gsize n_fields,
				   gpointer user_data)
{
	bool debug = GPOINTER_TO_INT(user_data);
	const char *msg = NULL;
	gsize i;

	if ((level & G_LOG_LEVEL_DEBUG) && !debug)
		return G_LOG_WRITER_HANDLED;
	for (i = 0; i < n_fields; i++) {
		if (!strcmp(fields[i].key, "MESSAGE")) {
			msg = fields[i].value;
			break;
		}
	}
	if (!msg)
		return G_LOG_WRITER_UNHANDLED;
	fprintf(stderr, "%s%s\n", log_prefix(level), msg);
	return G_LOG_WRITER_HANDLED;
}

/* sn_log_init() - route glib's log to stderr; debug messages if @debug */
void sn_log_init(bool debug)
{
	g_log_set_writer_func(log_writer, GINT_TO_POINTER(debug), NULL);
	setvbuf(stderr, NULL, _IOLBF, 0);
}

/* sn_ratelimit_ok() - may a rate-limited message be logged now? */
bool sn_ratelimit_ok(struct sn_ratelimit *rl, unsigned int *suppressed)
{
	gint64 now = g_get_monotonic_time();

	if (rl->last_us && now - rl->last_us < SN_RATELIMIT_INTERVAL_US) {
		rl->suppressed++;
		return false;
	}
	if (suppressed)
		*suppressed = rl->suppressed;
	rl->suppressed = 0;
	rl->last_us = now;
	return true;
}
