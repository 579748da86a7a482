/* test_csum.c - unit tests for src/csum.c: the checksum against a plain
 * RFC 1071 sum at every tail length and alignment, and with every carry. */
#include <arpa/inet.h>
#include <check.h>
#include <glib.h>
#include <string.h>

#include "ckrun.h"
#include "csum.h"
#include "refsum.h"

/* ours() - sn_csum_add()'s sum, folded, uncomplemented, in host order */
static uint16_t ours(const uint8_t *p, size_t len)
{
	return ntohs((uint16_t)~sn_csum_fold(sn_csum_add(p, len, 0)));
}

START_TEST(csum_matches_reference)
{
	g_autofree uint8_t *buf = g_malloc(65536 + 8);
	size_t len, off;

	fill(buf, 65536 + 8, 1);
	/* every tail length and alignment, then frame sizes */
	for (off = 0; off < 8; off++)
		for (len = 0; len < 200; len++)
			ck_assert_uint_eq(ours(buf + off, len),
					  ref_sum(buf + off, len, 0));
	for (len = 1000; len <= 65536; len += 997)
		ck_assert_uint_eq(ours(buf + 3, len), ref_sum(buf + 3, len, 0));
	ck_assert_uint_eq(ours(buf, 65536), ref_sum(buf, 65536, 0));
}
END_TEST

START_TEST(csum_all_ones)
{
	/* the largest words everywhere: every carry must come back in */
	g_autofree uint8_t *buf = g_malloc(65536);

	memset(buf, 0xff, 65536);
	ck_assert_uint_eq(ours(buf, 65536), ref_sum(buf, 65536, 0));
	ck_assert_uint_eq(ours(buf, 65533), ref_sum(buf, 65533, 0));
	ck_assert_uint_eq(sn_csum_fold(sn_csum_add(buf, 65536, 0)), 0);
}
END_TEST

static Suite *csum_suite(void)
{
	Suite *s = suite_create("csum");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, csum_matches_reference);
	tcase_add_test(tc, csum_all_ones);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return sn_ck_run(csum_suite(), CK_NORMAL);
}
