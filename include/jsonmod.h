/* jsonmod.h - the daemon's JSON (the API's requests and replies, the state
 * file) as a module, slirpnetd-json.so, loaded the first time it is needed. */
#ifndef SN_JSONMOD_H
#define SN_JSONMOD_H

#include <glib.h>
#include <stdbool.h>

#include "api.h"
#include "forward.h"

/*
 * json-glib brings gio, gobject, libmount, libselinux and more: loading them
 * costs a daemon about a third of its start-up time and over 1 MiB of
 * memory for as long as it runs, though most daemons never see a request
 * (podman's default port handler uses no API socket). So api.c, fwdjson.c
 * and state.c are built as a module that the daemon loads at the first
 * request or at start with --state-file, and keeps. Programs that link
 * that code themselves (the unit tests, the fuzzers) use it directly.
 */

/* The module's file name, looked for beside the executable (a build
 * tree), then in SN_JSONMOD_DIR (where meson installs it). */
#define SN_JSONMOD_FILE "slirpnetd-json.so"

/* What the module offers; its one exported symbol is sn_json_module. */
struct sn_json_module {
	const char *build; /* SN_VERSION "+" SN_COMMIT: must be the daemon's */
	char *(*handle_request)(const struct sn_api_ctx *ctx, const char *req,
				gsize len);
	bool (*request_parses)(const char *buf, gsize len);
	bool (*state_restore)(const char *path, struct sn_fwd_table *t,
			      GError **err);
};

/* The build string both sides compare. */
#define SN_JSONMOD_BUILD SN_VERSION "+" SN_COMMIT

/*
 * sn_jsonmod() - the module: linked in, loaded already, or loaded now (and
 * kept for the daemon's life). Return: it, or NULL with @err naming the
 * file and the cause (not found, not loadable, from another build)
 */
const struct sn_json_module *sn_jsonmod(GError **err);

/*
 * sn_jsonmod_find() - at start-up, without loading it: fail with @err
 * unless the module is linked in or its file can be read, so that a
 * missing file stops the daemon at once rather than at the first request
 */
bool sn_jsonmod_find(GError **err);

#endif
