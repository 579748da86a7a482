/* log.h - logging to stderr through glib's structured log writer, with
 * --debug, and rate limiting for messages a peer can trigger at will. */
#ifndef SN_LOG_H
#define SN_LOG_H

#include <glib.h>
#include <stdbool.h>

/* sn_log_init() - route glib's log to stderr; debug messages if @debug.
 * glib allows this once per process: call it once, after option parsing. */
void sn_log_init(bool debug);

/* Allow one message per interval; count the ones held back. */
#define SN_RATELIMIT_INTERVAL_US (5 * G_USEC_PER_SEC)

struct sn_ratelimit {
	gint64 last_us;
	unsigned int suppressed;
};

/*
 * sn_ratelimit_ok() - may a rate-limited message be logged now?
 * On true, *@suppressed (if not NULL) is the number held back since.
 */
bool sn_ratelimit_ok(struct sn_ratelimit *rl, unsigned int *suppressed);

#endif
