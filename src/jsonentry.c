/* jsonentry.c - the JSON module's one exported symbol: the entry points of
 * api.c and state.c for the daemon that loads it (see jsonmod.h). */
#include "jsonmod.h"
#include "state.h"
#include "version.h"

const struct sn_json_module sn_json_module = {
	.build = SN_JSONMOD_BUILD,
	.handle_request = sn_api_handle_request,
	.request_parses = sn_api_request_parses,
	.state_restore = sn_state_restore,
};
