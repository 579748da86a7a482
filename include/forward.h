/* forward.h - the table of host port forwards behind the API: ids, specs,
 * and the libslirp hostfwd that carries each one. */
#ifndef SN_FORWARD_H
#define SN_FORWARD_H

#include <glib.h>
#include <netinet/in.h>
#include <slirp/libslirp.h>
#include <stdbool.h>
#include <stdint.h>

enum sn_fwd_proto { SN_FWD_TCP, SN_FWD_UDP };

struct sn_fwd_spec {
	enum sn_fwd_proto proto;
	struct in_addr host_addr; /* 0.0.0.0 for all */
	uint16_t host_port;
	struct in_addr guest_addr;
	uint16_t guest_port;
};

struct sn_fwd {
	int id; /* from 1, never reused while the daemon runs */
	struct sn_fwd_spec spec;
};

/* Hard cap on forwards, so that an API client cannot exhaust memory/fds. */
#define SN_FWD_MAX 4096

struct sn_fwd_table {
	Slirp *slirp;
	GPtrArray *fwds; /* struct sn_fwd *, in the order they were added */
	int next_id;
};

#define SN_FWD_ERROR (sn_fwd_error_quark())
GQuark sn_fwd_error_quark(void);
enum sn_fwd_error {
	SN_FWD_ERROR_NOT_FOUND, /* no forward with that id */
	SN_FWD_ERROR_BACKEND,   /* libslirp refused (port in use, ...) */
	SN_FWD_ERROR_LIMIT,     /* SN_FWD_MAX reached */
};

void sn_fwd_table_init(struct sn_fwd_table *t, Slirp *slirp);
/* sn_fwd_table_clear() - remove every forward; call before slirp_cleanup() */
void sn_fwd_table_clear(struct sn_fwd_table *t);

/*
 * sn_fwd_add() - start forwarding @spec; on success *@id is its new id
 * Return: true on success, false with @err (SN_FWD_ERROR_*)
 */
bool sn_fwd_add(struct sn_fwd_table *t, const struct sn_fwd_spec *spec,
		int *id, GError **err);

/* sn_fwd_remove() - stop forward @id. Return: true, or false with @err */
bool sn_fwd_remove(struct sn_fwd_table *t, int id, GError **err);

#endif
