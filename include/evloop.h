/* evloop.h - the forwarders' thread: one epoll set, each ready socket calling
 * its own handler, timers, and calls from the main thread run in order. */
#ifndef SN_EVLOOP_H
#define SN_EVLOOP_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The struct of @type whose @member @ptr points to. */
#define SN_CONTAINER_OF(ptr, type, member)                                     \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

struct sn_evloop;
struct sn_ev;

/* @events: EPOLL* bits from epoll, or SN_EV_DEFERRED for sn_ev_defer() */
typedef void (*sn_ev_fn)(struct sn_ev *ev, uint32_t events);
/* Frees the object holding @ev, once no event can reach it any more. */
typedef void (*sn_ev_free_fn)(struct sn_ev *ev);

#define SN_EV_DEFERRED (1u << 31)

/* Embed one per watched fd (or per object with deferred work or a timer). */
struct sn_ev {
	sn_ev_fn fn;
	struct sn_ev *next; /* on the deferred list */
	gint64 due_us;	    /* armed timer: monotonic time; else 0 */
	bool deferred;
	bool dead;
};

/*
 * sn_evloop_new() - the forwarders' epoll set, empty; its thread is started
 * by sn_evloop_start()
 * @spin_us: after events, poll this long without sleeping (0: never). On
 *           virtual machines waking a halted CPU costs tens of microseconds
 *           per message; an idle loop sleeps either way.
 */
struct sn_evloop *sn_evloop_new(unsigned int spin_us, GError **err);

/*
 * sn_evloop_start() - start the thread, if not yet (main thread only)
 * Return: true, or false with @err
 */
bool sn_evloop_start(struct sn_evloop *l, GError **err);

/* sn_evloop_free() - stop and join the thread (call from the main thread) */
void sn_evloop_free(struct sn_evloop *l);

/*
 * sn_evloop_call() - run @fn(@data) in the forwarders' thread and wait for
 * it: everything below that touches forwarders' state runs there. Before
 * sn_evloop_start(), @fn runs at once in the calling thread.
 */
void sn_evloop_call(struct sn_evloop *l, void (*fn)(void *data), void *data);

/* The rest is for the forwarders' thread only. */

/*
 * sn_ev_add() - watch @fd for @events (EPOLLIN, EPOLLOUT, EPOLLET, ...)
 * Return: 0, or -errno (e.g. ENOMEM, ENOSPC past max_user_watches)
 */
int sn_ev_add(struct sn_evloop *l, struct sn_ev *ev, sn_ev_fn fn, int fd,
	      uint32_t events);
int sn_ev_mod(struct sn_evloop *l, struct sn_ev *ev, int fd, uint32_t events);
void sn_ev_del(struct sn_evloop *l, int fd);

/* sn_ev_defer() - call @ev's handler with SN_EV_DEFERRED on the next turn */
void sn_ev_defer(struct sn_evloop *l, struct sn_ev *ev);

/*
 * sn_ev_timer() - call @fn(@ev, SN_EV_DEFERRED) in @ms milliseconds (0:
 * disarm). @ev is a timer only (not also an fd's or deferred).
 */
void sn_ev_timer(struct sn_evloop *l, struct sn_ev *ev, sn_ev_fn fn,
		 unsigned int ms);

/*
 * sn_ev_release() - no more calls to @ev's handler; @free_fn runs after the
 * batch of events being dispatched, which may still name @ev
 */
void sn_ev_release(struct sn_evloop *l, struct sn_ev *ev, sn_ev_free_fn fn);

#endif
