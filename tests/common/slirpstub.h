/* slirpstub.h - a libslirp instance for tests that need one without a
 * guest: 10.0.2.0/24, frames to the guest dropped, timers that never fire. */
#ifndef SN_TEST_SLIRPSTUB_H
#define SN_TEST_SLIRPSTUB_H

#include <slirp/libslirp.h>

/* sn_test_slirp_new() - slirp on 10.0.2.0/24 (host .2, DNS .3, guest .100,
 * MTU 1500), or NULL if libslirp refused; free it with slirp_cleanup() */
Slirp *sn_test_slirp_new(void);

#endif
