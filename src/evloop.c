/* evloop.c - the forwarders' thread: one epoll set whose ready sockets call
 * their handlers, a few timers, and calls queued by the main thread. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "evloop.h"

/*
 * Theory of operation
 *
 * Forwarded traffic moves in a thread of its own, so that libslirp's loop
 * (the main thread) and the forwarders use both cores and never wait for
 * each other. The thread blocks in epoll_wait() on one epoll set holding
 * every forwarder socket and an eventfd; nothing else.
 *
 * The thread is started by sn_evloop_start(), when the first fast forward
 * is added (or before the seccomp filter, which allows no new thread): a
 * daemon without forwards does without its stack and its share of the
 * allocator. Until then a call runs in the caller's thread, there being
 * no other to touch the forwarders' state.
 *
 * The main thread (the API) never touches forwarder state: it queues a call
 * with sn_evloop_call(), kicks the eventfd, and waits until the thread ran
 * it. Calls are short (bind a socket, copy counters), so the API stays as
 * fast as before and no forwarder structure needs a lock.
 *
 * Handlers run edge- or level-triggered as they registered. An object freed
 * while events for it may still sit in the batch being dispatched is marked
 * dead and freed after the batch (sn_ev_release()). Timers are a short list
 * scanned per turn: there are few (an accept back-off, a UDP sweep per
 * forward).
 */

#define SN_EV_BATCH 128
/* The thread's stack: handlers are shallow, and idle memory counts. */
#define SN_EV_STACK (256 * 1024)

struct call {
	void (*fn)(void *data);
	void *data;
	bool done;
};

/* A released object and the function that frees it. */
struct released {
	struct sn_ev *ev;
	sn_ev_free_fn fn;
};

struct sn_evloop {
	int epfd;
	int kick; /* eventfd: calls are queued, or stop */
	struct sn_ev kick_ev;
	pthread_t thread;
	bool started; /* the thread runs (set and read by the main thread) */
	bool stop;
	gint64 spin_us;
	gint64 hot_until_us;

	GMutex lock; /* calls and done flags */
	GCond cond;
	GQueue calls; /* struct call *, queued by the main thread */

	struct sn_ev *deferred; /* handlers to call on the next turn */
	struct sn_ev **deferred_tail;
	GArray *released;  /* struct released: to free after this batch */
	GPtrArray *timers; /* armed struct sn_ev * */
};

/* ---- calls from the main thread ---- */

static void run_calls(struct sn_evloop *l)
{
	struct call *c;

	g_mutex_lock(&l->lock);
	while ((c = g_queue_pop_head(&l->calls))) {
		g_mutex_unlock(&l->lock);
		c->fn(c->data);
		g_mutex_lock(&l->lock);
		c->done = true;
	}
	g_cond_broadcast(&l->cond);
	g_mutex_unlock(&l->lock);
}

static void kick(struct sn_evloop *l)
{
	uint64_t one = 1;

	while (write(l->kick, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

static void kick_event(struct sn_ev *ev, uint32_t events)
{
	struct sn_evloop *l = SN_CONTAINER_OF(ev, struct sn_evloop, kick_ev);
	uint64_t n;

	(void)events;
	while (read(l->kick, &n, sizeof(n)) < 0 && errno == EINTR)
		;
	run_calls(l);
}

void sn_evloop_call(struct sn_evloop *l, void (*fn)(void *data), void *data)
{
	struct call c = { .fn = fn, .data = data };

	if (!l->started) {
		fn(data);
		return;
	}
	g_mutex_lock(&l->lock);
	g_queue_push_tail(&l->calls, &c);
	g_mutex_unlock(&l->lock);
	kick(l);
	g_mutex_lock(&l->lock);
	while (!c.done)
		g_cond_wait(&l->cond, &l->lock);
	g_mutex_unlock(&l->lock);
}

/* ---- the thread ---- */

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

/* run_timers() - fire the due ones; return ms to the next, or -1 */
static int run_timers(struct sn_evloop *l)
{
	gint64 now, next = G_MAXINT64;

	/* The common case, on every turn of the packet path: no timer */
	if (!l->timers->len)
		return -1;
	now = g_get_monotonic_time();
	for (guint i = 0; i < l->timers->len;) {
		struct sn_ev *t = g_ptr_array_index(l->timers, i);

		if (t->due_us > now) {
			next = MIN(next, t->due_us);
			i++;
			continue;
		}
		t->due_us = 0;
		g_ptr_array_remove_index_fast(l->timers, i);
		if (!t->dead)
			t->fn(t, SN_EV_DEFERRED);
		i = 0; /* the handler may have armed or disarmed others */
		now = g_get_monotonic_time();
		next = G_MAXINT64;
	}
	if (next == G_MAXINT64)
		return -1;
	return (int)MIN((next - now + 999) / 1000, G_MAXINT);
}

/*
 * free_released() - free what handlers released during this batch; one
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

/* wait_timeout() - how long epoll_wait() may sleep */
static int wait_timeout(struct sn_evloop *l, int timer_ms)
{
	if (l->deferred)
		return 0;
	if (l->spin_us && g_get_monotonic_time() < l->hot_until_us)
		return 0;
	return timer_ms;
}

static void *loop_thread(void *data)
{
	struct sn_evloop *l = data;
	struct epoll_event evs[SN_EV_BATCH];

	while (!l->stop) {
		int n = epoll_wait(l->epfd, evs, SN_EV_BATCH,
				   wait_timeout(l, run_timers(l)));

		if (n > 0 && l->spin_us)
			l->hot_until_us = g_get_monotonic_time() + l->spin_us;
		for (int i = 0; i < n; i++) {
			struct sn_ev *ev = evs[i].data.ptr;

			if (!ev->dead)
				ev->fn(ev, evs[i].events);
		}
		run_deferred(l);
		free_released(l);
	}
	return NULL;
}

/* ---- set-up ---- */

static void stop_call(void *data)
{
	((struct sn_evloop *)data)->stop = true;
}

bool sn_evloop_start(struct sn_evloop *l, GError **err)
{
	pthread_attr_t attr;
	sigset_t all, old;
	int rc;

	if (l->started)
		return true;
	/* Signals are the main loop's business: block them all here, but
	 * SIGSYS, by which --enable-seccomp reports a call off its list. */
	sigfillset(&all);
	sigdelset(&all, SIGSYS);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, SN_EV_STACK);
	rc = pthread_create(&l->thread, &attr, loop_thread, l);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(rc),
			    "cannot start the forwarders' thread: %s",
			    g_strerror(rc));
		return false;
	}
	pthread_setname_np(l->thread, "slirpnetd-fwd");
	l->started = true;
	return true;
}

struct sn_evloop *sn_evloop_new(unsigned int spin_us, GError **err)
{
	struct sn_evloop *l = g_new0(struct sn_evloop, 1);

	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->epfd < 0 || l->kick < 0 ||
	    sn_ev_add(l, &l->kick_ev, kick_event, l->kick, EPOLLIN) < 0) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "cannot set up the forwarders' epoll set: %s",
			    g_strerror(errno));
		goto fail;
	}
	l->spin_us = spin_us;
	l->deferred_tail = &l->deferred;
	l->released = g_array_new(FALSE, FALSE, sizeof(struct released));
	l->timers = g_ptr_array_new();
	g_mutex_init(&l->lock);
	g_cond_init(&l->cond);
	return l;
fail:
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->kick >= 0)
		close(l->kick);
	g_free(l);
	return NULL;
}

void sn_evloop_free(struct sn_evloop *l)
{
	if (!l)
		return;
	if (l->started) {
		sn_evloop_call(l, stop_call, l);
		pthread_join(l->thread, NULL);
	}
	free_released(l);
	for (guint i = 0; i < l->released->len; i++) {
		struct released *r =
		    &g_array_index(l->released, struct released, i);

		r->fn(r->ev);
	}
	g_array_unref(l->released);
	g_ptr_array_unref(l->timers);
	g_mutex_clear(&l->lock);
	g_cond_clear(&l->cond);
	close(l->epfd);
	close(l->kick);
	g_free(l);
}

/* ---- for the thread's handlers ---- */

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

void sn_ev_timer(struct sn_evloop *l, struct sn_ev *ev, sn_ev_fn fn,
		 unsigned int ms)
{
	if (ev->due_us)
		g_ptr_array_remove_fast(l->timers, ev);
	ev->due_us = 0;
	if (!ms)
		return;
	ev->fn = fn;
	ev->dead = false;
	ev->due_us = g_get_monotonic_time() + (gint64)ms * 1000;
	g_ptr_array_add(l->timers, ev);
}

void sn_ev_release(struct sn_evloop *l, struct sn_ev *ev, sn_ev_free_fn fn)
{
	struct released r = { .ev = ev, .fn = fn };

	ev->dead = true;
	if (ev->due_us)
		sn_ev_timer(l, ev, NULL, 0);
	g_array_append_val(l->released, r);
}
