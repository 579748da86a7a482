/* tcpooo.h - the flow engine's out-of-order queue: the guest's segments that
 * came past a gap, held (within a byte budget) until the gap is filled. */
#ifndef SN_TCPOOO_H
#define SN_TCPOOO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcpseg.h"

/* Bytes held for all connections at once, and for one connection. */
#define SN_TCPOOO_MAX	   (2 * 1024 * 1024)
#define SN_TCPOOO_CONN_MAX (512 * 1024)

struct sn_tcpooo_seg;

/* The budget all connections' queues share. */
struct sn_tcpooo_pool {
	size_t bytes;	  /* held now */
	uint64_t held;	  /* segments ever held */
	uint64_t refused; /* segments not held: past a budget */
};

/* One connection's queue, sorted by sequence number. */
struct sn_tcpooo {
	struct sn_tcpooo_seg *head;
	size_t bytes;
};

/*
 * sn_tcpooo_hold() - keep a copy of @seg (data and FIN), which starts past
 * the next byte expected, @rcv_nxt, and was trimmed to the window
 *
 * Return: false if it was not kept: over a budget (the guest will send it
 * again); true if kept, or already held
 */
bool sn_tcpooo_hold(struct sn_tcpooo_pool *p, struct sn_tcpooo *q,
		    const struct sn_tcpseg *seg, uint32_t rcv_nxt);

/*
 * sn_tcpooo_next() - the first held segment that @rcv_nxt has reached: its
 * sequence number, data and FIN into @seg (the rest of @seg untouched),
 * the data held until sn_tcpooo_pop(); segments wholly before @rcv_nxt
 * are freed on the way
 *
 * Return: false if none has been reached (or the queue is empty)
 */
bool sn_tcpooo_next(struct sn_tcpooo_pool *p, struct sn_tcpooo *q,
		    uint32_t rcv_nxt, struct sn_tcpseg *seg);

/* sn_tcpooo_pop() - free the segment sn_tcpooo_next() returned */
void sn_tcpooo_pop(struct sn_tcpooo_pool *p, struct sn_tcpooo *q);

/* sn_tcpooo_clear() - free every segment of @q */
void sn_tcpooo_clear(struct sn_tcpooo_pool *p, struct sn_tcpooo *q);

#endif
