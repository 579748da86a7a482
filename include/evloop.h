/* evloop.h - one epoll set as one GSource: the forwarders' many sockets cost
 * glib a single fd, and each ready socket calls its own handler. */
#ifndef SN_EVLOOP_H
#define SN_EVLOOP_H

#include <glib.h>
#include <stddef.h>
#include <stdbool.h>
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

/* Embed one per watched fd (or per object with deferred work). */
struct sn_ev {
	sn_ev_fn fn;
	struct sn_ev *next; /* on the deferred or the released list */
	bool deferred;
	bool dead;
};

/* sn_evloop_new() - an epoll set attached to the thread-default context */
struct sn_evloop *sn_evloop_new(GError **err);
void sn_evloop_free(struct sn_evloop *l);

/*
 * sn_ev_add() - watch @fd for @events (EPOLLIN, EPOLLOUT, EPOLLET, ...)
 * Return: 0, or -errno (e.g. ENOMEM, ENOSPC past max_user_watches)
 */
int sn_ev_add(struct sn_evloop *l, struct sn_ev *ev, sn_ev_fn fn, int fd,
	      uint32_t events);
int sn_ev_mod(struct sn_evloop *l, struct sn_ev *ev, int fd, uint32_t events);
void sn_ev_del(struct sn_evloop *l, int fd);

/*
 * sn_evloop_set_spin() - after events, keep polling without sleeping for
 * @us microseconds (0: never). On virtual machines waking a halted CPU
 * costs tens of microseconds; a short spin while traffic flows saves that
 * on every message, and an idle loop still sleeps.
 */
void sn_evloop_set_spin(struct sn_evloop *l, unsigned int us);

/* sn_ev_defer() - call @ev's handler with SN_EV_DEFERRED on the next turn */
void sn_ev_defer(struct sn_evloop *l, struct sn_ev *ev);

/*
 * sn_ev_release() - no more calls to @ev's handler; @free_fn runs after the
 * batch of events being dispatched, which may still name @ev
 */
void sn_ev_release(struct sn_evloop *l, struct sn_ev *ev, sn_ev_free_fn fn);

#endif
