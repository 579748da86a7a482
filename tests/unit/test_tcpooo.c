/* test_tcpooo.c - unit tests for src/tcpooo.c: the out-of-order queue's
 * order, repeats, budgets, wrap-around and FINs. */
#include <check.h>
#include <glib.h>
#include <string.h>

#include "ckrun.h"
#include "tcpooo.h"

#define BASE 1000u

/* seg() - a segment of @len bytes at @data, at @seq, with a FIN if @fin */
static struct sn_tcpseg seg(uint32_t seq, const uint8_t *data, size_t len,
			    bool fin)
{
	struct sn_tcpseg s = { .seq = seq, .data = data, .dlen = len };

	s.flags = SN_TH_ACK | (fin ? SN_TH_FIN : 0);
	return s;
}

/* the data of the segments held */
static uint8_t buf[SN_TCPOOO_CONN_MAX];

/* A queue under test, its pool, and what take() found last. */
struct oq {
	struct sn_tcpooo_pool p;
	struct sn_tcpooo q;
	uint8_t first; /* the first byte of the segment taken */
	size_t len;
	bool fin;
};

/* hold() - sn_tcpooo_hold() of a segment made by seg(), @rcv_nxt expected */
static bool hold(struct oq *o, uint32_t seq, size_t len, bool fin,
		 uint32_t rcv_nxt)
{
	struct sn_tcpseg s = seg(seq, buf, len, fin);

	return sn_tcpooo_hold(&o->p, &o->q, &s, rcv_nxt);
}

/* take() - the next segment @rcv_nxt reached, popped: its sequence number
 * (its first byte, length and FIN in @o), -1 if none */
static int64_t take(struct oq *o, uint32_t rcv_nxt)
{
	struct sn_tcpseg s = { .flags = SN_TH_ACK };

	if (!sn_tcpooo_next(&o->p, &o->q, rcv_nxt, &s))
		return -1;
	o->first = s.dlen ? s.data[0] : 0;
	o->len = s.dlen;
	o->fin = (s.flags & SN_TH_FIN) != 0;
	ck_assert(s.flags & SN_TH_ACK); /* the other flags stay */
	sn_tcpooo_pop(&o->p, &o->q);
	return s.seq;
}

START_TEST(held_in_order_of_sequence)
{
	struct oq o = { 0 };

	memset(buf, 'c', 100);
	ck_assert(hold(&o, BASE + 200, 100, false, BASE));
	memset(buf, 'b', 100);
	ck_assert(hold(&o, BASE + 100, 100, false, BASE));
	ck_assert_uint_eq(o.p.held, 2);
	ck_assert_uint_eq(o.q.bytes, o.p.bytes);
	/* nothing before the gap is filled */
	ck_assert_int_eq(take(&o, BASE), -1);
	ck_assert_int_eq(take(&o, BASE + 100), BASE + 100);
	ck_assert_uint_eq(o.first, 'b');
	ck_assert_uint_eq(o.len, 100);
	ck_assert(!o.fin);
	ck_assert_int_eq(take(&o, BASE + 200), BASE + 200);
	ck_assert_uint_eq(o.first, 'c');
	ck_assert_ptr_null(o.q.head);
	ck_assert_uint_eq(o.p.bytes, 0);
	ck_assert_uint_eq(o.q.bytes, 0);
}
END_TEST

/* A segment the guest sends again is held once. */
START_TEST(repeat_held_once)
{
	struct oq o = { 0 };
	size_t bytes;

	ck_assert(hold(&o, BASE + 10, 50, false, BASE));
	bytes = o.p.bytes;
	ck_assert(hold(&o, BASE + 10, 50, false, BASE));
	ck_assert(hold(&o, BASE + 10, 20, false, BASE)); /* one inside it */
	ck_assert_uint_eq(o.p.bytes, bytes);
	ck_assert_uint_eq(o.p.held, 1);
	sn_tcpooo_clear(&o.p, &o.q);
	ck_assert_uint_eq(o.p.bytes, 0);
}
END_TEST

/* What came again meanwhile is freed on the way; a segment that is partly
 * new comes out whole, for the caller to cut. */
START_TEST(old_freed_partial_whole)
{
	struct oq o = { 0 };

	ck_assert(hold(&o, BASE + 10, 10, false, BASE));
	ck_assert(hold(&o, BASE + 30, 40, false, BASE));
	/* the gap filled with data past both starts: the first is old */
	ck_assert_int_eq(take(&o, BASE + 50), BASE + 30);
	ck_assert_uint_eq(o.len, 40);
	ck_assert_uint_eq(o.p.bytes, 0);
}
END_TEST

/* Past a connection's budget, or the pool's, nothing is held. */
START_TEST(budgets)
{
	struct oq o = { 0 };
	struct sn_tcpooo qs[SN_TCPOOO_MAX / SN_TCPOOO_CONN_MAX + 1], q2 = { 0 };
	struct sn_tcpseg s;
	uint32_t seq = BASE + 1;
	unsigned int i, n = 0;

	while (hold(&o, seq, 64 * 1024, false, BASE)) {
		n++;
		seq += 64 * 1024;
	}
	ck_assert_uint_eq(n, SN_TCPOOO_CONN_MAX / (64 * 1024) - 1);
	ck_assert_uint_le(o.q.bytes, SN_TCPOOO_CONN_MAX);
	ck_assert_uint_eq(o.p.refused, 1);
	ck_assert(hold(&o, seq, 100, false, BASE)); /* a smaller one fits */
	/* the pool: many connections' queues */
	memset(qs, 0, sizeof(qs));
	s = seg(BASE + 1, buf, 64 * 1024, false);
	for (i = 0; i < G_N_ELEMENTS(qs); i++)
		while (sn_tcpooo_hold(&o.p, &qs[i], &s, BASE))
			s.seq += 64 * 1024;
	ck_assert_uint_le(o.p.bytes, SN_TCPOOO_MAX);
	/* what is left of the pool, in small pieces to a new queue: it is
	 * the pool that refuses, long before that queue's own budget */
	s = seg(BASE + 1, buf, 100, false);
	while (sn_tcpooo_hold(&o.p, &q2, &s, BASE))
		s.seq += 100;
	ck_assert_uint_le(o.p.bytes, SN_TCPOOO_MAX);
	ck_assert_uint_lt(q2.bytes, 64 * 1024 + 1024);
	ck_assert_uint_gt(o.p.bytes + 1024, SN_TCPOOO_MAX);
	sn_tcpooo_clear(&o.p, &q2);
	for (i = 0; i < G_N_ELEMENTS(qs); i++)
		sn_tcpooo_clear(&o.p, &qs[i]);
	sn_tcpooo_clear(&o.p, &o.q);
	ck_assert_uint_eq(o.p.bytes, 0);
}
END_TEST

/* Far past the next byte expected is not held: no window is that big. */
START_TEST(far_offset_refused)
{
	struct oq o = { 0 };

	ck_assert(!hold(&o, BASE + (1u << 30), 10, false, BASE));
	ck_assert_ptr_null(o.q.head);
	ck_assert_uint_eq(o.p.refused, 1);
}
END_TEST

/* Sequence numbers that wrap around 2^32 keep their order. */
START_TEST(wraps)
{
	struct oq o = { 0 };
	uint32_t rcv = 0xffffff00u;

	memset(buf, 'z', 10);
	ck_assert(hold(&o, 0x10u, 10, false, rcv)); /* past the wrap */
	memset(buf, 'y', 10);
	ck_assert(hold(&o, 0xffffff80u, 10, false, rcv)); /* before it */
	ck_assert_int_eq(take(&o, 0xffffff80u), 0xffffff80u);
	ck_assert_uint_eq(o.first, 'y');
	ck_assert_int_eq(take(&o, 0xffffff8au), -1);
	ck_assert_int_eq(take(&o, 0x10u), 0x10u);
	ck_assert_uint_eq(o.first, 'z');
}
END_TEST

/* A FIN is held with its data, and alone; a FIN-less copy of a segment
 * held with its FIN is a repeat, not the other way round. */
START_TEST(fin_kept)
{
	struct oq o = { 0 };

	ck_assert(hold(&o, BASE + 10, 5, false, BASE));
	ck_assert(hold(&o, BASE + 10, 5, true, BASE));
	ck_assert_uint_eq(o.p.held, 2);
	ck_assert(hold(&o, BASE + 15, 0, true, BASE));
	ck_assert(hold(&o, BASE + 15, 0, false, BASE)); /* nothing to keep */
	ck_assert_uint_eq(o.p.held, 3);
	ck_assert_int_eq(take(&o, BASE + 10), BASE + 10);
	ck_assert(!o.fin);
	ck_assert_int_eq(take(&o, BASE + 10), BASE + 10);
	ck_assert(o.fin);
	ck_assert_uint_eq(o.len, 5);
	ck_assert_int_eq(take(&o, BASE + 15), BASE + 15);
	ck_assert(o.fin);
	ck_assert_uint_eq(o.len, 0);
	/* past its FIN, a FIN segment is old */
	ck_assert(hold(&o, BASE + 20, 0, true, BASE));
	ck_assert_int_eq(take(&o, BASE + 21), -1);
	ck_assert_uint_eq(o.p.bytes, 0);
}
END_TEST

static Suite *tcpooo_suite(void)
{
	Suite *s = suite_create("tcpooo");
	TCase *tc = tcase_create("queue");

	tcase_add_test(tc, held_in_order_of_sequence);
	tcase_add_test(tc, repeat_held_once);
	tcase_add_test(tc, old_freed_partial_whole);
	tcase_add_test(tc, budgets);
	tcase_add_test(tc, far_offset_refused);
	tcase_add_test(tc, wraps);
	tcase_add_test(tc, fin_kept);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return sn_ck_run(tcpooo_suite(), CK_NORMAL);
}
