/* forward.h - the table of host port forwards behind the API: ids, specs,
 * and what carries each one (the fast forwarders, or libslirp's hostfwd). */
#ifndef SN_FORWARD_H
#define SN_FORWARD_H

#include <glib.h>
#include <netinet/in.h>
#include <slirp/libslirp.h>
#include <stdbool.h>
#include <stdint.h>

#include "fastfwd.h"

struct sn_splice_fwd;
struct sn_udp_fwd;
struct sn_udptap_fwd;

struct sn_fwd {
	int id; /* from 1, never reused while the daemon runs */
	struct sn_fwd_spec spec;    /* mode AUTO only if the table's default */
	struct sn_splice_fwd *tcp;  /* TCP in modes SPLICE, AUTO and TAP */
	struct sn_udp_fwd *udp;	    /* UDP in modes SPLICE, AUTO and TAP */
	struct sn_udptap_fwd *utap; /* UDP through tap0: the main thread's
				     * side, or NULL */
	struct sn_fwd_stats *tap;   /* through tap0 (g_atomic_rc_box: TCP
				     * connections hold references), or NULL */
};

/* Hard cap on forwards, so that an API client cannot exhaust memory/fds. */
#define SN_FWD_MAX 4096

struct sn_fwd_table;

/*
 * sn_fwd_save_fn - keeps a copy of the table somewhere (--state-file):
 * called after each change, before it is acknowledged
 * Return: true, or false with @err, and the change is undone
 */
typedef bool (*sn_fwd_save_fn)(const struct sn_fwd_table *t, void *data,
			       GError **err);

struct sn_fwd_table {
	Slirp *slirp;
	struct sn_fwd_env *env;	       /* NULL: libslirp's hostfwd only */
	enum sn_fwd_mode default_mode; /* what a request naming none gets */
	bool default_source_ip;	       /* --keep-source-ip */
	GPtrArray *fwds; /* struct sn_fwd *, in the order they were added */
	int next_id;
	sn_fwd_save_fn save; /* NULL: changes are kept nowhere else */
	void *save_data;
};

#define SN_FWD_ERROR (sn_fwd_error_quark())
GQuark sn_fwd_error_quark(void);
enum sn_fwd_error {
	SN_FWD_ERROR_NOT_FOUND, /* no forward with that id */
	SN_FWD_ERROR_BACKEND,	/* the host socket could not be had */
	SN_FWD_ERROR_LIMIT,	/* SN_FWD_MAX reached */
	SN_FWD_ERROR_INVALID,	/* a combination the mode cannot do */
	SN_FWD_ERROR_SAVE,	/* t->save failed: the change was undone */
};

/*
 * sn_fwd_table_init() - an empty table; forwards go to the fast forwarders
 * of @env by default, or to @slirp's hostfwd when @env is NULL
 */
void sn_fwd_table_init(struct sn_fwd_table *t, Slirp *slirp,
		       struct sn_fwd_env *env);
/* sn_fwd_table_clear() - remove every forward; call before slirp_cleanup() */
void sn_fwd_table_clear(struct sn_fwd_table *t);

/*
 * sn_fwd_add() - start forwarding @spec; on success *@id is its new id
 * If t->save fails, the forward is stopped again (SN_FWD_ERROR_SAVE).
 * Return: true on success, false with @err (SN_FWD_ERROR_*)
 */
bool sn_fwd_add(struct sn_fwd_table *t, const struct sn_fwd_spec *spec, int *id,
		GError **err);

/*
 * sn_fwd_add_with_id() - sn_fwd_add() keeping id @id (from 1, unused), as
 * when forwards are restored; next_id moves past it
 * Return: true on success, false with @err (SN_FWD_ERROR_*)
 */
bool sn_fwd_add_with_id(struct sn_fwd_table *t, const struct sn_fwd_spec *spec,
			int id, GError **err);

/*
 * sn_fwd_remove() - stop forward @id; it keeps running if t->save fails
 * Return: true, or false with @err
 */
bool sn_fwd_remove(struct sn_fwd_table *t, int id, GError **err);

/*
 * sn_fwd_stats() - every forward's counters at once (one call into the
 * forwarders' thread): @out[i] and @has[i] for t->fwds[i], @has[i] false
 * for libslirp's forwards, which keep none. Both hold t->fwds->len entries.
 */
void sn_fwd_stats(const struct sn_fwd_table *t, struct sn_fwd_stats *out,
		  bool *has);

#endif
