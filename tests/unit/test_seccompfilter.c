/* test_seccompfilter.c - unit tests for src/seccompfilter.c: what the
 * filters let through, refuse and kill, and that the man page lists it. */
#include <check.h>
#include <errno.h>
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "seccompfilter.h"
#include "ckrun.h"

/* Exit statuses of the child that reports what it saw. */
enum { CHILD_NOT_REFUSED = 2, CHILD_EXEC_RAN = 3, CHILD_NO_FILTER = 4 };

/* filtered_child() - in a child: apply a filter, then a refused call must
 * fail with EPERM, and execve() must kill; returns the wait status */
static int filtered_child(bool (*apply)(GError **err))
{
	char *const argv[] = { "true", NULL };
	pid_t pid = fork();
	int status = 0;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* stderr off: the refused call is logged there */
		if (!freopen("/dev/null", "w", stderr) || !apply(NULL))
			_exit(CHILD_NO_FILTER);
		if (mkdir("/nonexistent-dir/x", 0700) == 0 || errno != EPERM)
			_exit(CHILD_NOT_REFUSED);
		execv("/bin/true", argv);
		_exit(CHILD_EXEC_RAN);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* assert_filter_kills() - under @apply's filter, a refused call fails with
 * EPERM and execve() kills the process with SIGSYS */
static void assert_filter_kills(bool (*apply)(GError **err))
{
	int status = filtered_child(apply);

	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
		      "child ended with status %#x, not killed by SIGSYS",
		      status);
}

START_TEST(daemon_filter)
{
	assert_filter_kills(sn_seccomp_apply);
}
END_TEST

START_TEST(helper_filter)
{
	assert_filter_kills(sn_seccomp_apply_helper);
}
END_TEST

/* documented() - every name of @names is in @page as a word */
static void documented(const char *page, const char *const *names)
{
	for (; *names; names++) {
		g_autofree char *pat =
		    g_strdup_printf("(^|[^a-z0-9_])%s([^a-z0-9_]|$)", *names);

		ck_assert_msg(
		    g_regex_match_simple(pat, page, G_REGEX_MULTILINE, 0),
		    "the man page does not list %s", *names);
	}
}

START_TEST(man_page_lists)
{
	const char *path = g_getenv("SN_MAN_SRC");
	g_autofree char *page = NULL;

	ck_assert_msg(path, "SN_MAN_SRC must name man/slirpnetd.1.scd");
	ck_assert(g_file_get_contents(path, &page, NULL, NULL));
	documented(page, sn_seccomp_allowed());
	documented(page, sn_seccomp_helper_allowed());
	documented(page, sn_seccomp_killed());
}
END_TEST

int main(void)
{
	Suite *s = suite_create("seccompfilter");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, daemon_filter);
	tcase_add_test(tc, helper_filter);
	tcase_add_test(tc, man_page_lists);
	suite_add_tcase(s, tc);
	return sn_ck_run(s, CK_NORMAL);
}
