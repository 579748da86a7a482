/* evloop.c - one epoll set as one GSource: the forwarders' sockets cost glib
 * a single fd whatever their number, and each ready one calls its handler. */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "evloop.h"

/* Events taken from the kernel per epoll_wait(). */
#define SN_EV_BATCH 128

struct sn_evloop {
	GSource source;
	int epfd;
	gpointer tag;
	struct sn_ev *deferred; /* handlers to call on the next turn */
	struct sn_ev **deferred_tail;
	GArray *released;    /* struct released: to free after this batch */
	gint64 spin_us;	     /* poll without sleeping this long after events */
	gint64 hot_until_us; /* monotonic; 0 when idle */
};

/* A released object and the function that frees it. */
struct released {
	struct sn_ev *ev;
	sn_ev_free_fn fn;
};

/* prepare(): no timeout of our own, unless deferred work waits */
static gboolean ev_prepare(GSource *src, gint *timeout)
{
	struct sn_evloop *l = (struct sn_evloop *)src;

	/* Busy: poll again without sleeping, see sn_evloop_set_spin() */
	*timeout =
	    l->deferred || g_get_monotonic_time() < l->hot_until_us ? 0 : -1;
	return l->deferred != NULL;
}

static gboolean ev_check(GSource *src)
{
	struct sn_evloop *l = (struct sn_evloop *)src;

	return l->deferred || g_source_query_unix_fd(src, l->tag);
}

/* run_deferred() - call the handlers deferred before this turn */
static void run_deferred(struct sn_evloop *l)
{
	struct sn_ev *ev = l->deferred;

	l->deferred = NULL;
	l->deferred_tail = &l->deferred;
	while (ev) {
		struct sn_ev *next = ev->next;

		ev->deferred = false;
		ev->next = NULL;
		if (!ev->dead)
			ev->fn(ev, SN_EV_DEFERRED);
		ev = next;
	}
}

/*
 * free_released() - free what handlers released during this dispatch; one
 * still on the deferred list waits until run_deferred() has unlinked it
 */
static void free_released(struct sn_evloop *l)
{
	GArray *a = l->released;
	guint kept = 0;

	for (guint i = 0; i < a->len; i++) {
		struct released r = g_array_index(a, struct released, i);

		if (r.ev->deferred)
			g_array_index(a, struct released, kept++) = r;
		else
			r.fn(r.ev);
	}
	g_array_set_size(a, kept);
}

static gboolean ev_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
	struct sn_evloop *l = (struct sn_evloop *)src;
	struct epoll_event evs[SN_EV_BATCH];
	int n;

	(void)cb;
	(void)data;
	run_deferred(l);
	n = epoll_wait(l->epfd, evs, SN_EV_BATCH, 0);
	if (n > 0 && l->spin_us)
		l->hot_until_us = g_get_monotonic_time() + l->spin_us;
	for (int i = 0; i < n; i++) {
		struct sn_ev *ev = evs[i].data.ptr;

		if (!ev->dead)
			ev->fn(ev, evs[i].events);
	}
	free_released(l);
	return G_SOURCE_CONTINUE;
}

static void ev_finalize(GSource *src)
{
	struct sn_evloop *l = (struct sn_evloop *)src;

	for (guint i = 0; i < l->released->len; i++) {
		struct released *r =
		    &g_array_index(l->released, struct released, i);

		r->fn(r->ev);
	}
	g_array_unref(l->released);
	close(l->epfd);
}

static GSourceFuncs ev_funcs = {
	.prepare = ev_prepare,
	.check = ev_check,
	.dispatch = ev_dispatch,
	.finalize = ev_finalize,
};

/* sn_evloop_new() - an epoll set attached to the thread-default context */
struct sn_evloop *sn_evloop_new(GError **err)
{
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	struct sn_evloop *l;

	if (epfd < 0) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "epoll_create1: %s", g_strerror(errno));
		return NULL;
	}
	l = (struct sn_evloop *)g_source_new(&ev_funcs, sizeof(*l));
	g_source_set_name(&l->source, "slirpnetd forwarders");
	/* Handlers may run nested loops' iterations; never block ourselves. */
	g_source_set_can_recurse(&l->source, TRUE);
	l->epfd = epfd;
	l->deferred_tail = &l->deferred;
	l->released = g_array_new(FALSE, FALSE, sizeof(struct released));
	l->tag = g_source_add_unix_fd(&l->source, epfd, G_IO_IN);
	g_source_attach(&l->source, g_main_context_get_thread_default());
	return l;
}

void sn_evloop_free(struct sn_evloop *l)
{
	if (!l)
		return;
	g_source_destroy(&l->source);
	g_source_unref(&l->source);
}

int sn_ev_add(struct sn_evloop *l, struct sn_ev *ev, sn_ev_fn fn, int fd,
	      uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = ev };

	ev->fn = fn;
	ev->dead = false;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &e) < 0)
		return -errno;
	return 0;
}

int sn_ev_mod(struct sn_evloop *l, struct sn_ev *ev, int fd, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = ev };

	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &e) < 0)
		return -errno;
	return 0;
}

void sn_ev_del(struct sn_evloop *l, int fd)
{
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
}

void sn_ev_defer(struct sn_evloop *l, struct sn_ev *ev)
{
	if (ev->deferred || ev->dead)
		return;
	ev->deferred = true;
	ev->next = NULL;
	*l->deferred_tail = ev;
	l->deferred_tail = &ev->next;
}

void sn_ev_release(struct sn_evloop *l, struct sn_ev *ev, sn_ev_free_fn fn)
{
	struct released r = { .ev = ev, .fn = fn };

	ev->dead = true;
	g_array_append_val(l->released, r);
}

void sn_evloop_set_spin(struct sn_evloop *l, unsigned int us)
{
	l->spin_us = us;
}
