/* splice.c - the fast TCP forwarder: host connections relayed to sockets
 * made inside the namespace, with splice() through pipes, kernel to kernel. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxyproto.h"
#include "splice.h"

/*
 * Theory of operation
 *
 * Each accepted host connection gets a peer socket from the namespace
 * helper, connected (non-blocking) to the guest's address and port. Both
 * sockets sit in the epoll set, edge-triggered, for input, output and the
 * peer's shutdown; an event runs pump() on the directions it concerns
 * (event_dirs()), each moved as far as it goes:
 *
 *   src --splice--> pipe --splice--> dst
 *
 * A direction reads while it has not seen EOF and writes while its pipe
 * holds data; it stops when both steps would block. splice() into a pipe
 * also says EAGAIN when the pipe has no free slot, but then the pipe is not
 * empty and the write step runs next: once it drains, reading resumes, so
 * an edge is never lost. A direction that saw EOF and drained its pipe
 * shuts its destination down for writing (half-close); the connection ends
 * when both directions have. Any error (a reset, EPIPE) resets both sockets
 * (SO_LINGER 0), so each client sees what the other end did.
 *
 * Pipes come from a shared pool and are held only while data is in them:
 * thousands of idle connections cost two sockets each, no pipes. One pump
 * moves at most SN_SPLICE_BUDGET pipes' worth per direction, then defers
 * itself, so that a fast connection cannot starve the others.
 *
 * A connection that the forward's mode carries through tap0 (enum
 * sn_fwd_mode) is handed to env->tap_accept as soon as it is accepted.
 *
 * Removing a forward closes its listening socket only: connections already
 * open carry on until their ends close them, as with libslirp's forwards.
 */

#define SN_SPLICE_BUDGET 16
#define SN_ACCEPT_BATCH	 64

struct sn_splice_fwd {
	struct sn_ev ev;
	int fd; /* listening; -1 once closed */
	struct sn_fwd_env *env;
	struct sn_fwd_spec spec;
	struct sn_fwd_stats stats;
	struct sn_fwd_stats *tap; /* connections through tap0: a reference */
	struct sockaddr_storage guest;
	unsigned int refs;    /* 1 while listening, plus one per connection */
	struct sn_ev backoff; /* timer while accept() pauses */
	bool paused;
	GQueue conns; /* struct conn, by its link */
	GList link;   /* in env->splices */
};

/* One direction: bytes from src, through the pipe, to dst. */
struct half {
	int pipe[2]; /* -1 while no data is in flight */
	size_t inpipe;
	bool eof;  /* src ended its stream */
	bool shut; /* dst was shut down for writing */
};

struct conn;

struct end {
	struct sn_ev ev;
	struct conn *c;
	int fd;
	bool want_out; /* EPOLLOUT is in its epoll events */
};

struct conn {
	struct end end[2];   /* 0: the host client, 1: inside the namespace */
	struct half half[2]; /* 0: client to guest, 1: guest to client */
	struct sn_splice_fwd *f;
	struct sockaddr_storage peer;
	GList link; /* in f->conns */
	bool connecting;
	bool closed;
};

static void fwd_unref(struct sn_splice_fwd *f);

/* ---- connections ---- */

static void conn_free(struct sn_ev *ev)
{
	struct conn *c = SN_CONTAINER_OF(ev, struct conn, end[0].ev);

	fwd_unref(c->f);
	g_free(c);
}

/* conn_close() - close both sockets (with RST if @reset), free later */
static void conn_close(struct conn *c, bool reset)
{
	struct sn_fwd_env *env = c->f->env;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (c->closed)
		return;
	c->closed = true;
	for (int i = 0; i < 2; i++) {
		if (c->end[i].fd < 0)
			continue;
		if (reset)
			setsockopt(c->end[i].fd, SOL_SOCKET, SO_LINGER, &lg,
				   sizeof(lg));
		sn_ev_del(env->ev, c->end[i].fd);
		close(c->end[i].fd);
		c->end[i].ev.dead = true;
		/* A pipe with data left is not empty: never back to the pool */
		if (c->half[i].inpipe && c->half[i].pipe[0] >= 0) {
			close(c->half[i].pipe[0]);
			close(c->half[i].pipe[1]);
			c->half[i].pipe[0] = -1;
		}
		sn_fwd_pipe_put(env, c->half[i].pipe);
	}
	if (reset)
		c->f->stats.errors++;
	c->f->stats.conns_open--;
	sn_fwd_fds_give(env, 2);
	g_queue_unlink(&c->f->conns, &c->link);
	sn_ev_release(env->ev, &c->end[0].ev, conn_free);
}

/* half_read() - src into the pipe. Return: bytes, 0 at EOF, -errno */
static ssize_t half_read(struct sn_fwd_env *env, struct half *h, int src)
{
	ssize_t n;
	int rc;

	if (h->pipe[0] < 0 && (rc = sn_fwd_pipe_get(env, h->pipe)) < 0)
		return rc;
	n = splice(src, NULL, h->pipe[1], NULL, env->pipe_size,
		   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	return n < 0 ? -errno : n;
}

/* half_write() - the pipe into dst. Return: bytes or -errno */
static ssize_t half_write(struct half *h, int dst)
{
	ssize_t n = splice(h->pipe[0], NULL, dst, NULL, h->inpipe,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

	return n < 0 ? -errno : n;
}

/* half_step() - one read and one write. Return: 1 progress, 0 blocked,
 * -errno on an error that ends the connection */
static int half_step(struct conn *c, int dir, uint64_t *moved)
{
	struct half *h = &c->half[dir];
	struct sn_fwd_env *env = c->f->env;
	int src = c->end[dir].fd, dst = c->end[!dir].fd;
	bool progress = false;
	ssize_t n;

	if (!h->eof) {
		n = half_read(env, h, src);
		if (n > 0)
			h->inpipe += (size_t)n;
		else if (n == 0)
			h->eof = true;
		else if (n != -EAGAIN)
			return (int)n;
		progress = n >= 0;
	}
	if (h->inpipe) {
		n = half_write(h, dst);
		if (n < 0 && n != -EAGAIN)
			return (int)n;
		if (n > 0) {
			h->inpipe -= (size_t)n;
			*moved += (uint64_t)n;
			progress = true;
		}
	}
	if (!h->inpipe)
		sn_fwd_pipe_put(env, h->pipe);
	if (h->eof && !h->inpipe && !h->shut) {
		shutdown(dst, SHUT_WR);
		h->shut = true;
	}
	return progress;
}

/* half_pump() - move one direction until blocked or out of budget.
 * Return: 1 budget spent, 0 blocked or done, -errno on error */
static int half_pump(struct conn *c, int dir)
{
	struct sn_fwd_stats *st = &c->f->stats;
	uint64_t *moved = dir ? &st->bytes_from_guest : &st->bytes_to_guest;

	for (int i = 0; i < SN_SPLICE_BUDGET; i++) {
		int rc;

		if (c->half[dir].shut)
			return 0;
		rc = half_step(c, dir, moved);
		if (rc <= 0)
			return rc;
	}
	return 1;
}

#define SN_END_EVENTS (EPOLLIN | EPOLLRDHUP | EPOLLET)

/*
 * watch_out() - ask for EPOLLOUT on each end only while a write to it is
 * blocked: left on, every ACK that frees send buffer would wake us up
 */
static void watch_out(struct conn *c)
{
	for (int i = 0; i < 2; i++) {
		struct end *e = &c->end[i];
		bool want = c->half[!i].inpipe || (i == 1 && c->connecting);

		if (want == e->want_out)
			continue;
		e->want_out = want;
		sn_ev_mod(c->f->env->ev, &e->ev, e->fd,
			  SN_END_EVENTS | (want ? EPOLLOUT : 0));
	}
}

/* The directions a pump moves: bit 0 client to guest, bit 1 the reverse */
#define SN_PUMP_BOTH 3

/* pump() - the directions in @dirs; close when done, defer when out of
 * budget (a deferred pump moves both) */
static void pump(struct conn *c, unsigned int dirs)
{
	int a = dirs & 1 ? half_pump(c, 0) : 0;
	int b = a < 0 || !(dirs & 2) ? 0 : half_pump(c, 1);

	if (a < 0 || b < 0) {
		conn_close(c, true);
		return;
	}
	if (c->half[0].shut && c->half[1].shut) {
		conn_close(c, false);
		return;
	}
	if (a > 0 || b > 0)
		sn_ev_defer(c->f->env->ev, &c->end[0].ev);
	watch_out(c);
}

/* send_proxy_header() - PROXY v2 first thing on the guest's side */
static bool send_proxy_header(struct conn *c)
{
	uint8_t hdr[SN_PROXY_V2_MAX];
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	size_t n;

	if (getsockname(c->end[0].fd, (struct sockaddr *)&local, &len) < 0)
		return false;
	n = sn_proxy_v2(hdr, &c->peer, &local);
	/* A fresh socket's send buffer takes it whole. */
	return send(c->end[1].fd, hdr, n, MSG_NOSIGNAL) == (ssize_t)n;
}

/* connected() - the guest's side answered the connect (or refused it) */
static void connected(struct conn *c)
{
	int e = 0;
	socklen_t len = sizeof(e);

	if (getsockopt(c->end[1].fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		e = errno;
	if (e == EINPROGRESS || e == EALREADY)
		return;
	if (!e && c->f->spec.proxy_protocol && !send_proxy_header(c))
		e = errno ? errno : EIO;
	if (e) {
		g_autofree char *where = sn_fwd_spec_host(&c->f->spec);

		if (sn_ratelimit_ok(&c->f->env->rl_conn, NULL))
			g_message("forward %s: connecting to the guest's "
				  "port %u failed: %s",
				  where, c->f->spec.guest_port, g_strerror(e));
		conn_close(c, true);
		return;
	}
	c->connecting = false;
	pump(c, SN_PUMP_BOTH);
}

/*
 * event_dirs() - the directions an event on end @i concerns: input (data,
 * EOF) feeds the direction reading from it, room to write drains the one
 * writing to it. Errors, hang-ups and deferred pumps move both.
 */
static unsigned int event_dirs(int i, uint32_t events)
{
	unsigned int dirs = 0;

	if (events == SN_EV_DEFERRED || (events & (EPOLLERR | EPOLLHUP)))
		return SN_PUMP_BOTH;
	if (events & (EPOLLIN | EPOLLRDHUP))
		dirs |= 1u << i;
	if (events & EPOLLOUT)
		dirs |= 1u << !i;
	return dirs;
}

static void conn_event(struct sn_ev *ev, uint32_t events)
{
	struct end *end = SN_CONTAINER_OF(ev, struct end, ev);
	struct conn *c = end->c;

	if (c->closed)
		return;
	if (c->connecting) {
		if (end == &c->end[1])
			connected(c);
		return;
	}
	pump(c, event_dirs(end == &c->end[1], events));
}

/* guest_connect() - the namespace socket for @c, connecting */
static bool guest_connect(struct conn *c, GError **err)
{
	struct sn_splice_fwd *f = c->f;
	int fd = sn_fwd_ns_socket(f->env, SOCK_STREAM, f->spec.source_ip,
				  &c->peer, err);

	if (fd < 0)
		return false;
	c->end[1].fd = fd;
	if (connect(fd, (struct sockaddr *)&f->guest,
		    sizeof(struct sockaddr_in)) < 0 &&
	    errno != EINPROGRESS) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "connect: %s", g_strerror(errno));
		return false;
	}
	return true;
}

/* conn_watch() - both sockets into the epoll set */
static int conn_watch(struct conn *c)
{
	struct sn_evloop *l = c->f->env->ev;
	int rc = sn_ev_add(l, &c->end[0].ev, conn_event, c->end[0].fd,
			   SN_END_EVENTS);

	if (rc < 0)
		return rc;
	/* EPOLLOUT on the guest's side tells when the connect is done */
	c->end[1].want_out = true;
	rc = sn_ev_add(l, &c->end[1].ev, conn_event, c->end[1].fd,
		       SN_END_EVENTS | EPOLLOUT);
	if (rc < 0)
		sn_ev_del(l, c->end[0].fd);
	return rc;
}

/* conn_new() - relay the accepted @fd from @peer; closes @fd on failure */
static void conn_new(struct sn_splice_fwd *f, int fd,
		     const struct sockaddr_storage *peer)
{
	g_autoptr(GError) err = NULL;
	struct conn *c = g_new0(struct conn, 1);
	int rc;

	c->f = f;
	c->peer = *peer;
	c->link.data = c;
	g_queue_push_tail_link(&f->conns, &c->link);
	c->connecting = true;
	for (int i = 0; i < 2; i++) {
		c->end[i].c = c;
		c->half[i].pipe[0] = c->half[i].pipe[1] = -1;
	}
	c->end[0].fd = fd;
	c->end[1].fd = -1;
	f->refs++;
	f->stats.conns_open++;
	f->stats.conns_total++;
	if (!guest_connect(c, &err)) {
		g_autofree char *where = sn_fwd_spec_host(&f->spec);

		if (sn_ratelimit_ok(&f->env->rl_conn, NULL))
			g_warning("forward %s: no socket to the guest: %s",
				  where, err->message);
		conn_close(c, true);
		return;
	}
	rc = conn_watch(c);
	if (rc < 0) {
		if (sn_ratelimit_ok(&f->env->rl_conn, NULL))
			g_warning("cannot watch a forwarded connection: %s",
				  g_strerror(-rc));
		conn_close(c, true);
	}
}

/* ---- the listening socket ---- */

static void listener_event(struct sn_ev *ev, uint32_t events);

static void listener_resume(struct sn_ev *ev, uint32_t events)
{
	struct sn_splice_fwd *f =
	    SN_CONTAINER_OF(ev, struct sn_splice_fwd, backoff);

	(void)events;
	f->paused = false;
	if (f->fd >= 0)
		sn_ev_add(f->env->ev, &f->ev, listener_event, f->fd, EPOLLIN);
}

/* accept_failed() - out of fds or memory: say so once, pause a moment */
static void accept_failed(struct sn_splice_fwd *f, int e)
{
	g_autofree char *where = sn_fwd_spec_host(&f->spec);
	unsigned int held = 0;

	f->stats.errors++;
	if (sn_ratelimit_ok(&f->env->rl_accept, &held))
		g_warning("forward %s: cannot accept connections: %s; "
			  "pausing it for %d ms (%u similar messages "
			  "suppressed)",
			  where, g_strerror(e), SN_FWD_BACKOFF_MS, held);
	if (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM)
		return;
	sn_ev_del(f->env->ev, f->fd);
	f->paused = true;
	sn_ev_timer(f->env->ev, &f->backoff, listener_resume,
		    SN_FWD_BACKOFF_MS);
}

/*
 * refuse() - at the fd budget: take the next connection off the queue and
 * reset it (an fd of the reserve, for a moment), so that clients learn at
 * once rather than wait. Return: false when the queue is empty.
 */
static bool refuse(struct sn_splice_fwd *f)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int fd = accept4(f->fd, NULL, NULL, SOCK_CLOEXEC);
	unsigned int held = 0;
	g_autofree char *where = NULL;

	if (fd < 0)
		return errno == EINTR || errno == ECONNABORTED;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	f->stats.errors++;
	if (!sn_ratelimit_ok(&f->env->rl_accept, &held))
		return true;
	where = sn_fwd_spec_host(&f->spec);
	g_warning("forward %s: refusing connections: too many open files "
		  "(the forwarders hold %u of the fd limit; raise it with "
		  "ulimit -n) (%u similar messages suppressed)",
		  where, f->env->fds_used, held);
	return true;
}

/* through_tap() - is a connection from @peer carried through tap0? */
static bool through_tap(const struct sn_splice_fwd *f,
			const struct sockaddr_storage *peer)
{
	const struct sn_fwd_spec *s = &f->spec;

	if (!f->env->tap_accept || !f->tap)
		return false;
	if (s->mode == SN_FWD_MODE_TAP)
		return true;
	return s->mode == SN_FWD_MODE_AUTO && !s->proxy_protocol &&
	       !s->source_ip && !sn_fwd_peer_loopback(peer) &&
	       sn_fwd_peer_tap_ok(f->env, peer);
}

static void listener_event(struct sn_ev *ev, uint32_t events)
{
	struct sn_splice_fwd *f = SN_CONTAINER_OF(ev, struct sn_splice_fwd, ev);

	(void)events;
	for (int i = 0; i < SN_ACCEPT_BATCH && f->fd >= 0 && !f->paused; i++) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int fd;

		if (!sn_fwd_fds_take(f->env, 2)) {
			if (!refuse(f))
				return;
			continue;
		}
		fd = accept4(f->fd, (struct sockaddr *)&peer, &len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0 && through_tap(f, &peer)) {
			sn_fwd_fds_give(f->env, 2);
			f->env->tap_accept(f->env->tap_opaque, fd, &peer,
					   &f->spec, f->tap);
			continue;
		}
		if (fd >= 0) {
			conn_new(f, fd, &peer);
			continue;
		}
		sn_fwd_fds_give(f->env, 2);
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno != EINTR && errno != ECONNABORTED)
			accept_failed(f, errno);
	}
}

static void fwd_free(struct sn_ev *ev)
{
	struct sn_splice_fwd *f = SN_CONTAINER_OF(ev, struct sn_splice_fwd, ev);

	g_queue_unlink(&f->env->splices, &f->link);
	if (f->tap)
		g_atomic_rc_box_release(f->tap);
	g_free(f);
}

static void fwd_unref(struct sn_splice_fwd *f)
{
	if (--f->refs == 0)
		sn_ev_release(f->env->ev, &f->ev, fwd_free);
}

struct sn_splice_fwd *sn_splice_new(struct sn_fwd_env *env,
				    const struct sn_fwd_spec *spec,
				    struct sn_fwd_stats *tap, GError **err)
{
	struct sn_splice_fwd *f;
	struct sockaddr_in *g;
	int fd = sn_fwd_listen(spec, err), rc;

	if (fd < 0)
		return NULL;
	f = g_new0(struct sn_splice_fwd, 1);
	f->fd = fd;
	f->env = env;
	f->spec = *spec;
	f->tap = tap ? g_atomic_rc_box_acquire(tap) : NULL;
	f->refs = 1;
	f->link.data = f;
	g = (struct sockaddr_in *)&f->guest;
	g->sin_family = AF_INET;
	g->sin_addr = spec->guest_addr;
	g->sin_port = htons(spec->guest_port);
	rc = sn_ev_add(env->ev, &f->ev, listener_event, fd, EPOLLIN);
	if (rc < 0) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(-rc),
			    "cannot watch the listening socket: %s",
			    g_strerror(-rc));
		close(fd);
		if (f->tap)
			g_atomic_rc_box_release(f->tap);
		g_free(f);
		return NULL;
	}
	g_queue_push_tail_link(&env->splices, &f->link);
	return f;
}

void sn_splice_close(struct sn_splice_fwd *f)
{
	if (!f || f->fd < 0)
		return;
	sn_ev_timer(f->env->ev, &f->backoff, NULL, 0);
	sn_ev_del(f->env->ev, f->fd);
	close(f->fd);
	f->fd = -1;
	fwd_unref(f);
}

const struct sn_fwd_stats *sn_splice_stats(const struct sn_splice_fwd *f)
{
	return &f->stats;
}

void sn_splice_shutdown(struct sn_fwd_env *env)
{
	GList *l = env->splices.head;

	while (l) {
		struct sn_splice_fwd *f = l->data;

		l = l->next;
		/* A reference of our own, so that the last conn_close() does
		 * not free it under us; a forward still listening keeps its
		 * table's reference, dropped by sn_splice_close() */
		f->refs++;
		while (f->conns.head)
			conn_close(f->conns.head->data, true);
		fwd_unref(f);
	}
}
