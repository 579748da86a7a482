/* test_tcpooo.c - unit tests for src/tcpooo.c: the out-of-order queue's
 * order, repeats, budgets, wrap-around and FINs. */
#include <check.h>
#include <glib.h>
#include <string.h>

#include "ckrun.h"
#include "tcpooo.h"

#define BASE 1000u

/* seg() - a segment of @len bytes of @fill at @seq, with a FIN if @fin */
static struct sn_tcpseg seg(uint32_t seq, const uint8_t *data, size_t len,
			    bool fin)
{
	struct sn_tcpseg s = { .seq = seq, .data = data, .dlen = len };

	s.flags = SN_TH_ACK | (fin ? SN_TH_FIN : 0);
	return s;
}

static uint8_t buf[SN_TCPOOO_CONN_MAX];

/* take() - the next segment @rcv_nxt reached: its sequence number (its
 * first byte in @first, its length in @len), popped; -1 if none */
static int64_t take(struct sn_tcpooo_pool *p, struct sn_tcpooo *q,
		    uint32_t rcv_nxt, uint8_t *first, size_t *len, bool *fin)
{
	struct sn_tcpseg s = { .flags = SN_TH_ACK };
	uint32_t seq;

	if (!sn_tcpooo_next(p, q, rcv_nxt, &s))
		return -1;
	seq = s.seq;
	*first = s.dlen ? s.data[0] : 0;
	*len = s.dlen;
	*fin = (s.flags & SN_TH_FIN) != 0;
	ck_assert(s.flags & SN_TH_ACK); /* the other flags stay */
	sn_tcpooo_pop(p, q);
	return seq;
}

START_TEST(held_in_order_of_sequence)
{
	struct sn_tcpooo_pool p = { 0 };
	struct sn_tcpooo q = { 0 };
	struct sn_tcpseg s;
	uint8_t first;
	size_t len;
	bool fin;

	memset(buf, 'c', 100);
	s = seg(BASE + 200, buf, 100, false);
	ck_assert(sn_tcpooo_hold(&p, &q, &s, BASE));
	memset(buf, 'b', 100);
	s = seg(BASE + 100, buf, 100, false);
	ck_assert(sn_tcpooo_hold(&p, &q, &s, BASE));
	ck_assert_uint_eq(p.held, 2);
	ck_assert_uint_eq(q.bytes, p.bytes);
	/* nothing before the gap is filled */
	ck_assert_int_eq(take(&p, &q, BASE, &first, &len, &fin), -1);
	ck_assert_int_eq(take(&p, &q, BASE + 100, &first, &len, &fin),
			 BASE + 100);
	ck_assert_uint_eq(first, 'b');
	ck_assert_uint_eq(len, 100);
	ck_assert(!fin);
	ck_assert_int_eq(take(&p, &q, BASE + 200, &first, &len, &fin),
			 BASE + 200);
	ck_assert_uint_eq(first, 'c');
	ck_assert_ptr_null(q.head);
	ck_assert_uint_eq(p.bytes, 0);
	ck_assert_uint_eq(q.bytes, 0);
}
END_TEST

/* A segment the guest sends again is held once. */
START_TEST(repeat_held_once)
{
	struct sn_tcpooo_pool p = { 0 };
	struct sn_tcpooo q = { 0 };
	struct sn_tcpseg s = seg(BASE + 10, buf, 50, false);
	size_t bytes;

	ck_assert(sn_tcpooo_hold(&p, &q, &s, BASE));
	bytes = p.bytes;
	ck_assert(sn_tcpooo_hold(&p, &q, &s, BASE));
	s.dlen = 20; /* a shorter one inside it too */
	ck_assert(sn_tcpooo_hold(&p, &q, &s, BASE));
	ck_assert_uint_eq(p.bytes, bytes);
	ck_assert_uint_eq(p.held, 1);
	sn_tcpooo_clear(&p, &q);
	ck_assert_uint_eq(p.bytes, 0);
}
END_TEST

/* What came again meanwhile is freed on the way; a segment that is partly
 * new comes out whole, for the caller to cut. */
START_TEST(old_freed_partial_whole)
{
	struct sn_tcpooo_pool p = { 0 };
	struct sn_tcpooo q = { 0 };
	struct sn_tcpseg s;
	uint8_t first;
	size_t len;
	bool fin;

	s = seg(BASE + 10, buf, 10, false);
	ck_assert(sn_tcpooo_hold(&p, &q, &s, BASE));
	s = seg(BASE + 30, buf, 40, false);
	ck_assert(sn_tcpooo_hold(&p, &q, &s, BASE));
	/* the gap filled with data past both starts: the first is old */
	ck_assert_int_eq(take(&p, &q, BASE + 50, &first, &len, &fin),
			 BASE + 30);
	ck_assert_uint_eq(len, 40);
	ck_assert_uint_eq(p.bytes, 0);
}
END_TEST

/* Past a connection's budget, or the pool's, nothing is held. */
START_TEST(budgets)
{
	struct sn_tcpooo_pool p = { 0 };
	struct sn_tcpooo q = { 0 }, q2 = { 0 };
	struct sn_tcpseg s;
	uint32_t seq = BASE + 1;
	unsigned int i, n = 0;

	s = seg(seq, buf, 64 * 1024, false);
	while (sn_tcpooo_hold(&p, &q, &s, BASE)) {
		n++;
		s.seq += 64 * 1024;
	}
	ck_assert_uint_eq(n, SN_TCPOOO_CONN_MAX / (64 * 1024) - 1);
	ck_assert_uint_le(q.bytes, SN_TCPOOO_CONN_MAX);
	ck_assert_uint_eq(p.refused, 1);
	/* a smaller one still fits */
	s.dlen = 100;
	ck_assert(sn_tcpooo_hold(&p, &q, &s, BASE));
	/* the pool: many connections' queues */
	struct sn_tcpooo qs[SN_TCPOOO_MAX / SN_TCPOOO_CONN_MAX + 1];
	memset(qs, 0, sizeof(qs));
	s = seg(BASE + 1, buf, 64 * 1024, false);
	for (i = 0; i < G_N_ELEMENTS(qs); i++)
		while (sn_tcpooo_hold(&p, &qs[i], &s, BASE))
			s.seq += 64 * 1024;
	ck_assert_uint_le(p.bytes, SN_TCPOOO_MAX);
	/* what is left of the pool, in small pieces to a new queue: it is
	 * the pool that refuses, long before that queue's own budget */
	s = seg(BASE + 1, buf, 100, false);
	while (sn_tcpooo_hold(&p, &q2, &s, BASE))
		s.seq += 100;
	ck_assert_uint_le(p.bytes, SN_TCPOOO_MAX);
	ck_assert_uint_lt(q2.bytes, 64 * 1024 + 1024);
	ck_assert_uint_gt(p.bytes + 1024, SN_TCPOOO_MAX);
	sn_tcpooo_clear(&p, &q2);
	for (i = 0; i < G_N_ELEMENTS(qs); i++)
		sn_tcpooo_clear(&p, &qs[i]);
	sn_tcpooo_clear(&p, &q);
	ck_assert_uint_eq(p.bytes, 0);
}
END_TEST

/* Far past the next byte expected is not held: no window is that big. */
START_TEST(far_offset_refused)
{
	struct sn_tcpooo_pool p = { 0 };
	struct sn_tcpooo q = { 0 };
	struct sn_tcpseg s = seg(BASE + (1u << 30), buf, 10, false);

	ck_assert(!sn_tcpooo_hold(&p, &q, &s, BASE));
	ck_assert_ptr_null(q.head);
	ck_assert_uint_eq(p.refused, 1);
}
END_TEST

/* Sequence numbers that wrap around 2^32 keep their order. */
START_TEST(wraps)
{
	struct sn_tcpooo_pool p = { 0 };
	struct sn_tcpooo q = { 0 };
	uint32_t rcv = 0xffffff00u;
	struct sn_tcpseg s;
	uint8_t first;
	size_t len;
	bool fin;

	memset(buf, 'z', 10);
	s = seg(0x10u, buf, 10, false); /* past the wrap */
	ck_assert(sn_tcpooo_hold(&p, &q, &s, rcv));
	memset(buf, 'y', 10);
	s = seg(0xffffff80u, buf, 10, false); /* before it */
	ck_assert(sn_tcpooo_hold(&p, &q, &s, rcv));
	ck_assert_int_eq(take(&p, &q, 0xffffff80u, &first, &len, &fin),
			 0xffffff80u);
	ck_assert_uint_eq(first, 'y');
	ck_assert_int_eq(take(&p, &q, 0xffffff8au, &first, &len, &fin), -1);
	ck_assert_int_eq(take(&p, &q, 0x10u, &first, &len, &fin), 0x10u);
	ck_assert_uint_eq(first, 'z');
}
END_TEST

/* A FIN is held with its data, and alone; a FIN-less copy of a segment
 * held with its FIN is a repeat, not the other way round. */
START_TEST(fin_kept)
{
	struct sn_tcpooo_pool p = { 0 };
	struct sn_tcpooo q = { 0 };
	struct sn_tcpseg s;
	uint8_t first;
	size_t len;
	bool fin;

	s = seg(BASE + 10, buf, 5, false);
	ck_assert(sn_tcpooo_hold(&p, &q, &s, BASE));
	s = seg(BASE + 10, buf, 5, true);
	ck_assert(sn_tcpooo_hold(&p, &q, &s, BASE));
	ck_assert_uint_eq(p.held, 2);
	s = seg(BASE + 15, buf, 0, true);
	ck_assert(sn_tcpooo_hold(&p, &q, &s, BASE));
	s = seg(BASE + 15, buf, 0, false); /* a bare ACK: nothing to keep */
	ck_assert(sn_tcpooo_hold(&p, &q, &s, BASE));
	ck_assert_uint_eq(p.held, 3);
	ck_assert_int_eq(take(&p, &q, BASE + 10, &first, &len, &fin),
			 BASE + 10);
	ck_assert_int_eq(take(&p, &q, BASE + 10, &first, &len, &fin),
			 BASE + 10);
	ck_assert(fin);
	ck_assert_uint_eq(len, 5);
	ck_assert_int_eq(take(&p, &q, BASE + 15, &first, &len, &fin),
			 BASE + 15);
	ck_assert(fin);
	ck_assert_uint_eq(len, 0);
	/* past its FIN, a FIN segment is old */
	s = seg(BASE + 20, buf, 0, true);
	ck_assert(sn_tcpooo_hold(&p, &q, &s, BASE));
	ck_assert_int_eq(take(&p, &q, BASE + 21, &first, &len, &fin), -1);
	ck_assert_uint_eq(p.bytes, 0);
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
