/* state.h - the state file (--state-file): the forward table as JSON, saved
 * atomically before each change is acknowledged and restored at start-up. */
#ifndef SN_STATE_H
#define SN_STATE_H

#include <glib.h>
#include <stdbool.h>

#include "forward.h"

/* The file format's version; a file naming another one is refused. */
#define SN_STATE_VERSION 1

/* One forward as the file has it. */
struct sn_state_fwd {
	int id;
	struct sn_fwd_spec spec; /* mode AUTO if the file names none */
	unsigned int line;	 /* where the file has it; 0 if unknown */
};

/* What a state file held. */
struct sn_state {
	bool found;	     /* false: no file (a first start) */
	int next_id;	     /* at least 1 */
	GArray *fwds;	     /* struct sn_state_fwd, in the file's order */
	GPtrArray *problems; /* char *: what could not be read, and where */
};

#define SN_STATE_ERROR (sn_state_error_quark())
GQuark sn_state_error_quark(void);
enum sn_state_error {
	SN_STATE_ERROR_IO,	/* the file could not be read or written */
	SN_STATE_ERROR_VERSION, /* a version this slirpnetd cannot read */
};

/* sn_state_init() - empty: no forwards, next_id 1, no problems */
void sn_state_init(struct sn_state *st);
/* sn_state_clear() - free what @st holds */
void sn_state_clear(struct sn_state *st);

/*
 * sn_state_to_json() - @t as the file's text: {"version":1,"next_id":N,
 * "forwards":[...]}, one forward a line, so that a damaged file can still be
 * read line by line. Return: the text, g_free it
 */
char *sn_state_to_json(const struct sn_fwd_table *t);

/*
 * sn_state_load() - read the state file at @path into @st (initialised here)
 * A missing file is no error (st->found is false). A damaged one gives what
 * could be read: each problem, with the path and line, is in st->problems.
 *
 * Return: true, or false with @err if the file cannot be read at all or
 * names another version (SN_STATE_ERROR_VERSION)
 */
bool sn_state_load(const char *path, struct sn_state *st, GError **err);

/*
 * sn_state_write() - replace @path by @text atomically: PATH.tmp (0600),
 * fsync, rename over @path, fsync the directory
 * Return: true, or false with @err naming the path and the cause
 */
bool sn_state_write(const char *path, const char *text, GError **err);

/*
 * sn_state_save() - write @t to the state file at @path (a const char *):
 * the table's save hook (sn_fwd_save_fn)
 */
bool sn_state_save(const struct sn_fwd_table *t, void *path, GError **err);

/*
 * sn_state_restore() - start the forwards of the state file at @path in @t,
 * keeping their ids; then rewrite the file and keep it in step with @t
 * (t->save) from then on. What cannot be read or started again is logged
 * and left out. @path must outlive @t.
 *
 * Return: true, or false with @err (another version, or the file cannot be
 * read or written)
 */
bool sn_state_restore(const char *path, struct sn_fwd_table *t, GError **err);

#endif
