/* ckrun.h - the one way the unit tests run their check suite: run it, free
 * the runner, and turn the failures into the process's exit status. */
#ifndef SN_TESTS_CKRUN_H
#define SN_TESTS_CKRUN_H

#include <check.h>
#include <stdlib.h>

/* sn_ck_run() - run @s (its runner owns it now) with @mode; EXIT_* status */
static inline int sn_ck_run(Suite *s, enum print_output mode)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, mode);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
