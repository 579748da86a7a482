/* forward.c - the table of host port forwards: ids, duplicate and limit
 * checks, and what carries each: a fast forwarder or libslirp's hostfwd. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "forward.h"
#include "splice.h"
#include "udpfwd.h"
#include "udptap.h"

G_DEFINE_QUARK(sn - fwd - error - quark, sn_fwd_error)

/* host_any() - does @s listen on every address of its family? */
static bool host_any(const struct sn_fwd_spec *s)
{
	if (s->host_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&s->host_addr6);
	return s->host_addr.s_addr == htonl(INADDR_ANY);
}

/* host_same() - the same host address, family included */
static bool host_same(const struct sn_fwd_spec *a, const struct sn_fwd_spec *b)
{
	if (a->host_family != b->host_family)
		return false;
	if (a->host_family == AF_INET6)
		return IN6_ARE_ADDR_EQUAL(&a->host_addr6, &b->host_addr6);
	return a->host_addr.s_addr == b->host_addr.s_addr;
}

/* specs_overlap() - would @a and @b listen on the same host socket?
 * IPv6 sockets are IPV6_V6ONLY: "::" and "0.0.0.0" do not overlap. */
static bool specs_overlap(const struct sn_fwd_spec *a,
			  const struct sn_fwd_spec *b)
{
	if (a->proto != b->proto || a->host_port != b->host_port ||
	    a->host_family != b->host_family)
		return false;
	return host_same(a, b) || host_any(a) || host_any(b);
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
	g_autofree char *where = NULL;

	if (!slirp)
		return;
	if (slirp_remove_hostfwd(slirp, s->proto == SN_FWD_UDP, s->host_addr,
				 s->host_port) >= 0)
		return;
	where = sn_fwd_spec_host(s);
	g_warning("forward %d: libslirp had no listener on %s", f->id, where);
}

/* fast_stop() - in the forwarders' thread: close @data's forwarder */
static void fast_stop(void *data)
{
	struct sn_fwd *f = data;

	sn_splice_close(f->tcp);
	sn_udpfwd_free(f->udp);
}

/* fwd_stop() - stop what carries @f, and free it */
static void fwd_stop(struct sn_fwd_table *t, struct sn_fwd *f)
{
	if (f->spec.mode == SN_FWD_MODE_SLIRP)
		slirp_remove(t->slirp, f);
	else if (t->env && (f->tcp || f->udp))
		sn_evloop_call(t->env->ev, fast_stop, f);
	sn_udptap_fwd_free(f->utap);
	if (f->tap)
		g_atomic_rc_box_release(f->tap);
	g_free(f);
}

void sn_fwd_table_init(struct sn_fwd_table *t, Slirp *slirp,
		       struct sn_fwd_env *env)
{
	t->slirp = slirp;
	t->env = env;
	t->default_mode = !env		    ? SN_FWD_MODE_SLIRP
			  : env->tap_accept ? SN_FWD_MODE_AUTO
					    : SN_FWD_MODE_SPLICE;
	t->fwds = g_ptr_array_new();
	t->next_id = 1;
	t->save = NULL;
	t->save_data = NULL;
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
		fwd_stop(t, g_ptr_array_index(t->fwds, i));
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
	g_autofree char *want = NULL, *have = NULL;

	if (!f)
		return true;
	want = sn_fwd_spec_host(spec);
	have = sn_fwd_spec_host(&f->spec);
	g_set_error(err, SN_FWD_ERROR, SN_FWD_ERROR_BACKEND,
		    "cannot listen on %s: forward %d already uses %s", want,
		    f->id, have);
	return false;
}

/* check_mode() - refuse what @spec's mode cannot do */
static bool check_mode(const struct sn_fwd_table *t,
		       const struct sn_fwd_spec *spec, GError **err)
{
	const char *why = NULL;

	if (spec->proxy_protocol && spec->proto != SN_FWD_TCP)
		why = "proxy_protocol is for TCP forwards only";
	else if (spec->mode == SN_FWD_MODE_SPLICE && !t->env)
		why = "mode splice is not available in this daemon";
	else if (spec->mode == SN_FWD_MODE_TAP && spec->proto == SN_FWD_TCP &&
		 (!t->env || !t->env->tap_accept))
		why = "mode tap needs the TCP flow engine, which this daemon "
		      "runs without (--tcp-path=slirp): use mode splice or "
		      "slirp";
	else if (spec->mode == SN_FWD_MODE_TAP && spec->proto == SN_FWD_UDP &&
		 (!t->env || !t->env->udp_tap))
		why = "mode tap is not available in this daemon";
	else if (spec->mode == SN_FWD_MODE_TAP &&
		 (spec->proxy_protocol || spec->source_ip))
		why = "mode tap keeps the client's address by itself: no "
		      "proxy_protocol or source_ip with it";
	else if (spec->mode == SN_FWD_MODE_SLIRP &&
		 (spec->proxy_protocol || spec->source_ip))
		why = "mode slirp cannot keep the client's address "
		      "(proxy_protocol, source_ip): use mode splice";
	else if (spec->mode == SN_FWD_MODE_SLIRP &&
		 spec->host_family != AF_INET)
		why = "mode slirp listens on IPv4 host addresses only";
	if (!why)
		return true;
	g_set_error_literal(err, SN_FWD_ERROR, SN_FWD_ERROR_INVALID, why);
	return false;
}

/* slirp_add() - ask libslirp to listen for @spec */
static bool slirp_add(Slirp *slirp, const struct sn_fwd_spec *spec,
		      GError **err)
{
	g_autofree char *msg = NULL;

	if (slirp_add_hostfwd(slirp, spec->proto == SN_FWD_UDP, spec->host_addr,
			      spec->host_port, spec->guest_addr,
			      spec->guest_port) >= 0)
		return true;
	/* libslirp keeps bind()'s errno from us: 0 asks for a guess */
	msg = sn_fwd_port_error(spec, 0);
	g_set_error_literal(err, SN_FWD_ERROR, SN_FWD_ERROR_BACKEND, msg);
	return false;
}

struct fast_add_call {
	struct sn_fwd_env *env;
	struct sn_fwd *f;
	int dupfd; /* UDP through tap0: the main thread's host socket */
	GError **err;
};

/* udp_add() - in the forwarders' thread: the UDP forwarder of @c, and a
 * dup of its host socket for the main thread if it uses tap0 */
static void udp_add(struct fast_add_call *c)
{
	struct sn_fwd *f = c->f;
	int e;

	f->udp = sn_udpfwd_new(c->env, &f->spec, f->utap, c->err);
	if (!f->udp || !f->utap)
		return;
	c->dupfd = sn_udpfwd_dup(f->udp);
	if (c->dupfd >= 0)
		return;
	e = errno;
	g_set_error(c->err, G_FILE_ERROR, g_file_error_from_errno(e),
		    "cannot duplicate the host socket: %s", g_strerror(e));
	g_clear_pointer(&f->udp, sn_udpfwd_free);
}

/* fast_add_in_thread() - in the forwarders' thread: start @data's */
static void fast_add_in_thread(void *data)
{
	struct fast_add_call *c = data;
	struct sn_fwd *f = c->f;

	/* Its connections will need sockets from the namespace: join it now
	 * (here, while the main thread waits) rather than at the first. */
	if (f->spec.mode != SN_FWD_MODE_TAP &&
	    !sn_nshelper_ensure(c->env->nsh, c->err))
		return;
	if (f->spec.source_ip && !sn_fwd_srcip_ready(c->env, c->err))
		return;
	if (f->spec.proto == SN_FWD_UDP)
		udp_add(c);
	else
		f->tcp = sn_splice_new(c->env, &f->spec, f->tap, c->err);
}

/* udp_tap_wanted() - may a UDP forward of @spec carry clients through
 * tap0? (mode auto with source_ip keeps the UDP forwarder's flows) */
static bool udp_tap_wanted(const struct sn_fwd_table *t,
			   const struct sn_fwd_spec *spec)
{
	if (spec->proto != SN_FWD_UDP || !t->env->udp_tap)
		return false;
	return spec->mode == SN_FWD_MODE_TAP ||
	       (spec->mode == SN_FWD_MODE_AUTO && !spec->source_ip);
}

/* fast_add() - start the fast forwarder for @f->spec */
static bool fast_add(struct sn_fwd_table *t, struct sn_fwd *f, GError **err)
{
	struct fast_add_call c = {
		.env = t->env, .f = f, .dupfd = -1, .err = err
	};

	if (!sn_evloop_start(t->env->ev, err))
		return false;
	if (f->spec.proto == SN_FWD_TCP && t->env->tap_accept &&
	    (f->spec.mode == SN_FWD_MODE_AUTO ||
	     f->spec.mode == SN_FWD_MODE_TAP))
		f->tap = g_atomic_rc_box_new0(struct sn_fwd_stats);
	if (udp_tap_wanted(t, &f->spec)) {
		f->tap = g_atomic_rc_box_new0(struct sn_fwd_stats);
		f->utap =
		    sn_udptap_fwd_new(t->env->udp_tap_opaque, &f->spec, f->tap);
	}
	sn_evloop_call(t->env->ev, fast_add_in_thread, &c);
	if (f->utap && c.dupfd >= 0)
		sn_udptap_fwd_set_fd(f->utap, c.dupfd);
	return f->udp || f->tcp;
}

/* table_save() - t->save, if any; its error becomes SN_FWD_ERROR_SAVE */
static bool table_save(struct sn_fwd_table *t, const char *undone, GError **err)
{
	g_autoptr(GError) e = NULL;

	if (!t->save || t->save(t, t->save_data, &e))
		return true;
	g_set_error(err, SN_FWD_ERROR, SN_FWD_ERROR_SAVE, "%s; %s", e->message,
		    undone);
	return false;
}

/* fwd_start() - check @spec, resolve its defaults and start carrying it */
static struct sn_fwd *fwd_start(struct sn_fwd_table *t,
				const struct sn_fwd_spec *spec, GError **err)
{
	struct sn_fwd *f = g_new0(struct sn_fwd, 1);
	bool ok;

	f->spec = *spec;
	if (!f->spec.host_family)
		f->spec.host_family = AF_INET;
	if (f->spec.mode == SN_FWD_MODE_AUTO)
		f->spec.mode = t->default_mode;
	ok = check_room(t, err) && check_mode(t, &f->spec, err) &&
	     check_overlap(t, &f->spec, err);
	if (ok && f->spec.mode == SN_FWD_MODE_SLIRP)
		ok = slirp_add(t->slirp, &f->spec, err);
	else if (ok)
		ok = fast_add(t, f, err);
	if (!ok) {
		sn_udptap_fwd_free(f->utap);
		if (f->tap)
			g_atomic_rc_box_release(f->tap);
		g_clear_pointer(&f, g_free);
	}
	return f;
}

/* fwd_insert() - start @spec as forward @id, saved (or undone) */
static bool fwd_insert(struct sn_fwd_table *t, const struct sn_fwd_spec *spec,
		       int id, GError **err)
{
	struct sn_fwd *f = fwd_start(t, spec, err);

	if (!f)
		return false;
	f->id = id;
	if (id >= t->next_id)
		t->next_id = id + 1;
	g_ptr_array_add(t->fwds, f);
	if (table_save(t, "the forward was not added", err))
		return true;
	g_ptr_array_remove_index(t->fwds, t->fwds->len - 1);
	fwd_stop(t, f);
	return false;
}

bool sn_fwd_add(struct sn_fwd_table *t, const struct sn_fwd_spec *spec, int *id,
		GError **err)
{
	int want = t->next_id;

	if (!fwd_insert(t, spec, want, err))
		return false;
	*id = want;
	return true;
}

bool sn_fwd_add_with_id(struct sn_fwd_table *t, const struct sn_fwd_spec *spec,
			int id, GError **err)
{
	if (id < 1 || id == INT_MAX) {
		g_set_error(err, SN_FWD_ERROR, SN_FWD_ERROR_INVALID,
			    "id %d is out of range (1 to %d)", id, INT_MAX - 1);
		return false;
	}
	if (find_index(t, id) >= 0) {
		g_set_error(err, SN_FWD_ERROR, SN_FWD_ERROR_INVALID,
			    "id %d is already in use", id);
		return false;
	}
	return fwd_insert(t, spec, id, err);
}

bool sn_fwd_remove(struct sn_fwd_table *t, int id, GError **err)
{
	int i = find_index(t, id);
	struct sn_fwd *f;

	if (i < 0) {
		g_set_error(err, SN_FWD_ERROR, SN_FWD_ERROR_NOT_FOUND,
			    "no forward with id %d", id);
		return false;
	}
	/* out of the table, but still running until the change is saved */
	f = g_ptr_array_steal_index(t->fwds, (guint)i);
	if (!table_save(t, "the forward was kept", err)) {
		g_ptr_array_insert(t->fwds, i, f);
		return false;
	}
	fwd_stop(t, f);
	return true;
}

struct stats_call {
	const struct sn_fwd_table *t;
	struct sn_fwd_stats *out;
	bool *has;
};

/* stats_in_thread() - in the forwarders' thread: copy every counter */
static void stats_in_thread(void *data)
{
	struct stats_call *c = data;

	for (guint i = 0; i < c->t->fwds->len; i++) {
		const struct sn_fwd *f = g_ptr_array_index(c->t->fwds, i);

		c->has[i] = f->tcp || f->udp;
		if (f->tcp)
			c->out[i] = *sn_splice_stats(f->tcp);
		else if (f->udp)
			c->out[i] = *sn_udpfwd_stats(f->udp);
	}
}

void sn_fwd_stats(const struct sn_fwd_table *t, struct sn_fwd_stats *out,
		  bool *has)
{
	struct stats_call c = { .t = t, .out = out, .has = has };

	memset(has, 0, t->fwds->len * sizeof(*has));
	if (t->env)
		sn_evloop_call(t->env->ev, stats_in_thread, &c);
}
