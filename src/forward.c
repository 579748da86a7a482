/* forward.c - the table of host port forwards: ids, duplicate and limit
 * checks, and the libslirp hostfwd that carries each forward. */
#include <arpa/inet.h>
#include <limits.h>

#include "forward.h"

G_DEFINE_QUARK(sn-fwd-error-quark, sn_fwd_error)

/* proto_name() - "tcp" or "udp" */
static const char *proto_name(enum sn_fwd_proto proto)
{
	return proto == SN_FWD_UDP ? "udp" : "tcp";
}

/* addr_str() - @a as dotted IPv4 in @buf, which it returns */
static const char *addr_str(struct in_addr a, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* specs_overlap() - would @a and @b listen on the same host socket? */
static bool specs_overlap(const struct sn_fwd_spec *a,
			  const struct sn_fwd_spec *b)
{
	if (a->proto != b->proto || a->host_port != b->host_port)
		return false;
	return a->host_addr.s_addr == b->host_addr.s_addr ||
	       a->host_addr.s_addr == htonl(INADDR_ANY) ||
	       b->host_addr.s_addr == htonl(INADDR_ANY);
}

/* find_overlap() - the forward whose host socket @spec would clash with */
static const struct sn_fwd *find_overlap(const struct sn_fwd_table *t,
					 const struct sn_fwd_spec *spec)
{
	for (guint i = 0; i < t->fwds->len; i++) {
		const struct sn_fwd *f = g_ptr_array_index(t->fwds, i);

		if (specs_overlap(&f->spec, spec))
			return f;
	}
	return NULL;
}

/* find_index() - position of forward @id in the table, or -1 */
static int find_index(const struct sn_fwd_table *t, int id)
{
	for (guint i = 0; i < t->fwds->len; i++) {
		const struct sn_fwd *f = g_ptr_array_index(t->fwds, i);

		if (f->id == id)
			return (int)i;
	}
	return -1;
}

/* slirp_remove() - tell libslirp to stop forward @f; warn if it had none */
static void slirp_remove(Slirp *slirp, const struct sn_fwd *f)
{
	const struct sn_fwd_spec *s = &f->spec;
	char host[INET_ADDRSTRLEN];

	if (!slirp)
		return;
	if (slirp_remove_hostfwd(slirp, s->proto == SN_FWD_UDP, s->host_addr,
				 s->host_port) >= 0)
		return;
	g_warning("forward %d: libslirp had no listener on %s:%u/%s", f->id,
		  addr_str(s->host_addr, host), s->host_port,
		  proto_name(s->proto));
}

/* sn_fwd_table_init() - an empty table adding forwards to @slirp */
void sn_fwd_table_init(struct sn_fwd_table *t, Slirp *slirp)
{
	t->slirp = slirp;
	t->fwds = g_ptr_array_new_with_free_func(g_free);
	t->next_id = 1;
}

/*
 * sn_fwd_table_clear() - remove every forward and free the table
 * Call it while t->slirp is still alive (before slirp_cleanup()), or set
 * t->slirp to NULL first; calling it again is harmless.
 */
void sn_fwd_table_clear(struct sn_fwd_table *t)
{
	if (!t->fwds)
		return;
	for (guint i = 0; i < t->fwds->len; i++)
		slirp_remove(t->slirp, g_ptr_array_index(t->fwds, i));
	g_clear_pointer(&t->fwds, g_ptr_array_unref);
}

/* check_room() - refuse a new forward once SN_FWD_MAX (or the ids) ran out */
static bool check_room(const struct sn_fwd_table *t, GError **err)
{
	if (t->fwds->len < SN_FWD_MAX && t->next_id < INT_MAX)
		return true;
	g_set_error(err, SN_FWD_ERROR, SN_FWD_ERROR_LIMIT,
		    "too many forwards (the limit is %d)", SN_FWD_MAX);
	return false;
}

/* check_overlap() - refuse @spec if an existing forward has its socket */
static bool check_overlap(const struct sn_fwd_table *t,
			  const struct sn_fwd_spec *spec, GError **err)
{
	const struct sn_fwd *f = find_overlap(t, spec);
	char host[INET_ADDRSTRLEN], other[INET_ADDRSTRLEN];

	if (!f)
		return true;
	g_set_error(err, SN_FWD_ERROR, SN_FWD_ERROR_BACKEND,
		    "cannot listen on %s:%u/%s: forward %d already uses "
		    "%s:%u/%s",
		    addr_str(spec->host_addr, host), spec->host_port,
		    proto_name(spec->proto), f->id,
		    addr_str(f->spec.host_addr, other), f->spec.host_port,
		    proto_name(f->spec.proto));
	return false;
}

/* slirp_add() - ask libslirp to listen for @spec */
static bool slirp_add(Slirp *slirp, const struct sn_fwd_spec *spec,
		      GError **err)
{
	char host[INET_ADDRSTRLEN];

	if (slirp_add_hostfwd(slirp, spec->proto == SN_FWD_UDP, spec->host_addr,
			      spec->host_port, spec->guest_addr,
			      spec->guest_port) >= 0)
		return true;
	g_set_error(err, SN_FWD_ERROR, SN_FWD_ERROR_BACKEND,
		    "cannot listen on %s:%u/%s: address in use or not "
		    "permitted (libslirp does not say which)",
		    addr_str(spec->host_addr, host), spec->host_port,
		    proto_name(spec->proto));
	return false;
}

/*
 * sn_fwd_add() - start forwarding @spec; on success *@id is its new id
 * Return: true on success, false with @err (SN_FWD_ERROR_*)
 */
bool sn_fwd_add(struct sn_fwd_table *t, const struct sn_fwd_spec *spec,
		int *id, GError **err)
{
	struct sn_fwd *f;

	if (!check_room(t, err) || !check_overlap(t, spec, err) ||
	    !slirp_add(t->slirp, spec, err))
		return false;
	f = g_new0(struct sn_fwd, 1);
	f->id = t->next_id++;
	f->spec = *spec;
	g_ptr_array_add(t->fwds, f);
	*id = f->id;
	return true;
}

/* sn_fwd_remove() - stop forward @id. Return: true, or false with @err */
bool sn_fwd_remove(struct sn_fwd_table *t, int id, GError **err)
{
	int i = find_index(t, id);

	if (i < 0) {
		g_set_error(err, SN_FWD_ERROR, SN_FWD_ERROR_NOT_FOUND,
			    "no forward with id %d", id);
		return false;
	}
	slirp_remove(t->slirp, g_ptr_array_index(t->fwds, i));
	g_ptr_array_remove_index(t->fwds, (guint)i);
	return true;
}
