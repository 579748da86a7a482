/* api.h - the control socket: slirp4netns's JSON API (add_hostfwd,
 * list_hostfwd, remove_hostfwd) and ours (get_stats, get_info), on a Unix
 * socket, one request a connection (api.c answers, apisock.c serves). */
#ifndef SN_API_H
#define SN_API_H

#include <glib.h>
#include <netinet/in.h>

#include "cli.h"
#include "forward.h"
#include "tcp.h"

/* slirp4netns's cap: a request of this many bytes or more is refused. */
#define SN_API_MAX_REQUEST 4096
/* Connections served at once; more wait in the listen backlog. */
#define SN_API_MAX_CLIENTS 64
/* A client that sends no complete request in this time is closed. */
#define SN_API_CLIENT_TIMEOUT_MS 5000

struct sn_api;

/* What requests act on and report. */
struct sn_api_ctx {
	struct sn_fwd_table *fwds;
	struct in_addr default_guest; /* guest_addr when a request has none */
	const struct sn_config *cfg;  /* for get_info; NULL: not reported */
	gint64 start_us;	      /* monotonic start time, for uptime */
	/* the TCP flow engine's counters; NULL: TCP through libslirp */
	const struct sn_tcp_stats *tcp;
};

/*
 * sn_api_handle_request() - run one request, return the reply (g_free it)
 * @ctx:       the forward table and what get_info reports
 * @req, @len: the request bytes, not NUL-terminated
 *
 * Replies are byte for byte those of slirp4netns, e.g. {"return":{"id":1}}
 * or {"error":{"desc":"bad request: ..."}}. A request of SN_API_MAX_REQUEST
 * bytes or more gets "too large message" without being parsed.
 */
char *sn_api_handle_request(const struct sn_api_ctx *ctx, const char *req,
			    gsize len);

/* sn_api_request_parses() - are @buf's @len bytes one whole JSON value? */
bool sn_api_request_parses(const char *buf, gsize len);

/*
 * sn_api_new() - listen on @path (mode 0600) in the thread-default main
 * context. A stale socket file (no listener) is replaced; a live one, or a
 * file that is not a socket, is refused.
 *
 * Return: the server, or NULL with @err (G_FILE_ERROR) naming path and cause
 */
struct sn_api *sn_api_new(const char *path, const struct sn_api_ctx *ctx,
			  GError **err);

/* sn_api_free() - stop listening, close clients, unlink the socket file */
void sn_api_free(struct sn_api *api);

#endif
