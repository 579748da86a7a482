/* test_udptap.c - unit tests for src/udptap.c: the queue from the
 * forwarders' thread bounded in datagrams and bytes, drops counted, a
 * removed forward's datagrams dropped. */
#include <arpa/inet.h>
#include <check.h>
#include <glib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ckrun.h"
#include "cli.h"
#include "stack.h"
#include "udptap.h"

/* A stack whose "tap" is one end of a socketpair: no MAC to read, so no
 * flow can be made and every datagram that reaches the main thread is
 * counted as an error too. */
struct fixture {
	struct sn_config cfg;
	struct sn_stack *stack;
	struct sn_udptap ut;
	struct sn_fwd_stats *fst;
	struct sn_udptap_fwd *uf;
	struct sockaddr_storage peer, local;
};

static void setup(struct fixture *fx)
{
	char *argv[] = { "slirpnetd", "1", "tap0", NULL };
	struct sn_fwd_spec spec = { .proto = SN_FWD_UDP,
				    .mode = SN_FWD_MODE_AUTO,
				    .host_family = AF_INET,
				    .host_port = 5300,
				    .guest_port = 53 };
	struct sockaddr_in *p = (struct sockaddr_in *)&fx->peer;
	GError *err = NULL;
	int sp[2];

	memset(fx, 0, sizeof(*fx));
	ck_assert(sn_cli_parse(3, argv, &fx->cfg, &err));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sp),
			 0);
	close(sp[1]);
	fx->stack = sn_stack_new(&fx->cfg, sp[0], NULL, NULL, &err);
	ck_assert_msg(fx->stack, "%s", err ? err->message : "");
	sn_udptap_init(&fx->ut, fx->stack, 60);
	fx->fst = g_atomic_rc_box_new0(struct sn_fwd_stats);
	inet_pton(AF_INET, "10.0.2.100", &spec.guest_addr);
	fx->uf = sn_udptap_fwd_new(&fx->ut, &spec, fx->fst);
	p->sin_family = AF_INET;
	p->sin_port = htons(42000);
	inet_pton(AF_INET, "198.51.100.7", &p->sin_addr);
	fx->local.ss_family = AF_UNSPEC;
}

static void teardown(struct fixture *fx)
{
	sn_udptap_clear(&fx->ut);
	g_atomic_rc_box_release(fx->fst);
	sn_stack_free(fx->stack);
	sn_config_clear(&fx->cfg);
}

/* turns() - run the main context a few times, without blocking */
static void turns(void)
{
	for (int i = 0; i < 3; i++)
		g_main_context_iteration(NULL, FALSE);
}

START_TEST(queue_count_bounded)
{
	struct fixture fx;

	setup(&fx);
	for (int i = 0; i < SN_UDPTAP_QUEUE_MAX + 6; i++)
		sn_udptap_queue(fx.uf, &fx.peer, &fx.local, "x", 1);
	ck_assert_uint_eq(fx.ut.queue.length, SN_UDPTAP_QUEUE_MAX);
	ck_assert_uint_eq(fx.ut.queued_bytes, SN_UDPTAP_QUEUE_MAX);
	turns();
	/* all taken at once: the 6 dropped, and the rest, which found no flow
	 */
	ck_assert_uint_eq(fx.ut.queue.length, 0);
	ck_assert_uint_eq(fx.ut.queued_bytes, 0);
	ck_assert_uint_eq(fx.fst->errors, SN_UDPTAP_QUEUE_MAX + 6);
	ck_assert_uint_eq(fx.fst->conns_open, 0);
	/* and the queue takes datagrams again */
	sn_udptap_queue(fx.uf, &fx.peer, &fx.local, "x", 1);
	ck_assert_uint_eq(fx.ut.queue.length, 1);
	teardown(&fx);
}
END_TEST

START_TEST(queue_bytes_bounded)
{
	struct fixture fx;
	size_t big = 65536, fit = SN_UDPTAP_QUEUE_BYTES_MAX / big;
	char *buf = g_malloc0(big);

	setup(&fx);
	for (size_t i = 0; i < fit + 3; i++)
		sn_udptap_queue(fx.uf, &fx.peer, &fx.local, buf, big);
	ck_assert_uint_eq(fx.ut.queue.length, fit);
	ck_assert_uint_eq(fx.ut.queued_bytes, fit * big);
	/* a small one still fits */
	sn_udptap_queue(fx.uf, &fx.peer, &fx.local, buf, 0);
	ck_assert_uint_eq(fx.ut.queue.length, fit + 1);
	turns();
	ck_assert_uint_eq(fx.fst->errors, fit + 1 + 3);
	teardown(&fx);
	g_free(buf);
}
END_TEST

START_TEST(removed_forward_unqueued)
{
	struct fixture fx;

	setup(&fx);
	for (int i = 0; i < 10; i++)
		sn_udptap_queue(fx.uf, &fx.peer, &fx.local, "xy", 2);
	ck_assert_uint_eq(fx.ut.queue.length, 10);
	sn_udptap_fwd_free(fx.uf);
	ck_assert_uint_eq(fx.ut.queue.length, 0);
	ck_assert_uint_eq(fx.ut.queued_bytes, 0);
	turns(); /* nothing left that names the freed forward */
	ck_assert_uint_eq(fx.fst->errors, 0);
	teardown(&fx);
}
END_TEST

static Suite *udptap_suite(void)
{
	Suite *s = suite_create("udptap");
	TCase *tc = tcase_create("queue");

	tcase_add_test(tc, queue_count_bounded);
	tcase_add_test(tc, queue_bytes_bounded);
	tcase_add_test(tc, removed_forward_unqueued);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return sn_ck_run(udptap_suite(), CK_NORMAL);
}
