/* tcpooo.c - the flow engine's out-of-order queue: the guest's segments that
 * came past a gap, held (within a byte budget) until the gap is filled. */
#include <glib.h>
#include <string.h>

#include "tcpooo.h"

/*
 * Frames from a guest can reach the tap out of order: a container behind a
 * bridge in the guest has its segments forwarded on whichever CPU it ran
 * on, and a 64 KiB frame can pass a small one. Without a queue every such
 * frame would be dropped, and the guest, which is offered neither SACK nor
 * timestamps, would have to send it again after a timeout that doubles each
 * time. So a segment past a gap is copied here (the frame it came in is
 * reused), and written to the socket once the gap is filled. Segments are
 * kept sorted by where they start; overlaps are allowed, and cut when a
 * segment is taken. Nothing is acknowledged before the socket took it.
 */

/* Offsets past the next byte expected that are held at all. */
#define OFFSET_MAX (16u * 1024 * 1024)

struct sn_tcpooo_seg {
	struct sn_tcpooo_seg *next;
	uint32_t seq;
	uint32_t len;
	bool fin;
	uint8_t data[];
};

static size_t cost(size_t len)
{
	return sizeof(struct sn_tcpooo_seg) + len;
}

bool sn_tcpooo_hold(struct sn_tcpooo_pool *p, struct sn_tcpooo *q,
		    const struct sn_tcpseg *seg, uint32_t rcv_nxt)
{
	uint32_t off = seg->seq - rcv_nxt;
	bool fin = (seg->flags & SN_TH_FIN) != 0;
	struct sn_tcpooo_seg **at = &q->head, *s;
	size_t c = cost(seg->dlen);

	if (!seg->dlen && !fin)
		return true; /* nothing to keep */
	for (; *at && (uint32_t)((*at)->seq - rcv_nxt) <= off;
	     at = &(*at)->next)
		if ((*at)->seq == seg->seq && (*at)->len >= seg->dlen &&
		    ((*at)->fin || !fin))
			return true; /* a repeat */
	if (off >= OFFSET_MAX || seg->dlen > OFFSET_MAX ||
	    q->bytes + c > SN_TCPOOO_CONN_MAX || p->bytes + c > SN_TCPOOO_MAX) {
		p->refused++;
		return false;
	}
	s = g_malloc(c);
	s->seq = seg->seq;
	s->len = (uint32_t)seg->dlen;
	s->fin = fin;
	memcpy(s->data, seg->data, seg->dlen);
	s->next = *at;
	*at = s;
	q->bytes += c;
	p->bytes += c;
	p->held++;
	return true;
}

/* pop() - free the head of @q */
static void pop(struct sn_tcpooo_pool *p, struct sn_tcpooo *q)
{
	struct sn_tcpooo_seg *s = q->head;
	size_t c = cost(s->len);

	q->head = s->next;
	q->bytes -= c;
	p->bytes -= c;
	g_free(s);
}

bool sn_tcpooo_next(struct sn_tcpooo_pool *p, struct sn_tcpooo *q,
		    uint32_t rcv_nxt, struct sn_tcpseg *seg)
{
	struct sn_tcpooo_seg *s;

	while ((s = q->head)) {
		if (sn_seq_lt(rcv_nxt, s->seq))
			return false; /* the gap before it is still open */
		if (sn_seq_lt(rcv_nxt, s->seq + s->len + (s->fin ? 1u : 0u)))
			break;
		pop(p, q); /* all of it came again meanwhile */
	}
	if (!s)
		return false;
	seg->seq = s->seq;
	seg->data = s->data;
	seg->dlen = s->len;
	seg->flags =
	    (uint8_t)((seg->flags & ~SN_TH_FIN) | (s->fin ? SN_TH_FIN : 0));
	return true;
}

void sn_tcpooo_pop(struct sn_tcpooo_pool *p, struct sn_tcpooo *q)
{
	if (q->head)
		pop(p, q);
}

void sn_tcpooo_clear(struct sn_tcpooo_pool *p, struct sn_tcpooo *q)
{
	while (q->head)
		pop(p, q);
}
