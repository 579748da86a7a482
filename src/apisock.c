/* apisock.c - the control socket server: a Unix socket (0600; peers of
 * the daemon's uid and root only), one request per connection, answered by
 * api.c. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>

#include "api.h"
#include "jsonmod.h"
#include "log.h"

#define API_BACKLOG 128
/* Pause after accept() fails for lack of fds or memory. */
#define API_BACKOFF_MS 100
/* Reads of unread input discarded before close, so the peer gets no RST. */
#define API_DRAIN_READS 16

struct sn_api_client {
	struct sn_api *api;
	int fd;
	GSource *io;	/* G_IO_IN while reading, G_IO_OUT while writing */
	GSource *timer; /* SN_API_CLIENT_TIMEOUT_MS for each of the two */
	char *reply;	/* NULL while reading */
	char *refusal;	/* the reply to a peer that may not use the socket */
	gsize reply_len;
	gsize reply_off;
	gsize len;
	char buf[SN_API_MAX_REQUEST];
};

struct sn_api {
	char *path;
	dev_t dev; /* of the socket file, to unlink only ours */
	ino_t ino;
	int fd;
	GMainContext *ctx;
	GSource *listen_src; /* NULL while full or backing off */
	GSource *backoff_src;
	bool closing;
	struct sn_api_ctx req_ctx;	   /* what requests act on */
	const struct sn_json_module *json; /* NULL until the first request */
	GPtrArray *clients;		   /* struct sn_api_client * */
	struct sn_ratelimit rl_accept;
	struct sn_ratelimit rl_client;
};

/* ---- the socket server ---- */

static void api_resume(struct sn_api *api);

/* warn_limited() - g_warning, unless @rl held it back */
static void G_GNUC_PRINTF(2, 3)
    warn_limited(struct sn_ratelimit *rl, const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	unsigned int held = 0;
	va_list ap;

	if (!sn_ratelimit_ok(rl, &held))
		return;
	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (held)
		g_warning("%s (%u similar messages suppressed)", msg, held);
	else
		g_warning("%s", msg);
}

/* source_drop() - destroy and release *@src, if any */
static void source_drop(GSource **src)
{
	if (!*src)
		return;
	g_source_destroy(*src);
	g_source_unref(*src);
	*src = NULL;
}

/* watch_fd() - call @fn when @fd is ready for @cond, in @ctx */
static GSource *watch_fd(GMainContext *ctx, int fd, GIOCondition cond,
			 GUnixFDSourceFunc fn, void *data)
{
	GSource *s = g_unix_fd_source_new(fd, cond);

	g_source_set_callback(s, G_SOURCE_FUNC(fn), data, NULL);
	g_source_attach(s, ctx);
	return s;
}

/* watch_timeout() - call @fn after @ms milliseconds, in @ctx */
static GSource *watch_timeout(GMainContext *ctx, guint ms, GSourceFunc fn,
			      void *data)
{
	GSource *s = g_timeout_source_new(ms);

	g_source_set_callback(s, fn, data, NULL);
	g_source_attach(s, ctx);
	return s;
}

/* drain() - discard what @fd has queued, a bounded number of reads */
static void drain(int fd, char *buf, gsize size)
{
	for (int i = 0; i < API_DRAIN_READS; i++)
		if (recv(fd, buf, size, MSG_DONTWAIT) <= 0)
			return;
}

/* client_close() - end the connection and forget the client */
static void client_close(struct sn_api_client *c)
{
	struct sn_api *api = c->api;

	source_drop(&c->io);
	source_drop(&c->timer);
	shutdown(c->fd, SHUT_RDWR);
	drain(c->fd, c->buf, sizeof(c->buf));
	close(c->fd);
	g_free(c->reply);
	g_free(c->refusal);
	g_ptr_array_remove_fast(api->clients, c);
	g_free(c);
	api_resume(api);
}

/* client_send() - write what is left of the reply. Return: 1 done, 0 later,
 * -1 on error (the peer went away) */
static int client_send(struct sn_api_client *c)
{
	while (c->reply_off < c->reply_len) {
		ssize_t n = send(c->fd, c->reply + c->reply_off,
				 c->reply_len - c->reply_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return -1;
		c->reply_off += (gsize)n;
	}
	return 1;
}

/* client_writable() - the peer reads again: send more of the reply */
static gboolean client_writable(int fd, GIOCondition cond, void *data)
{
	struct sn_api_client *c = data;

	(void)fd;
	(void)cond;
	if (!client_send(c))
		return G_SOURCE_CONTINUE;
	client_close(c);
	return G_SOURCE_REMOVE;
}

static gboolean client_timeout(void *data);

/* client_reply() - stop reading, send @reply (taken), then close */
static void client_reply(struct sn_api_client *c, char *reply)
{
	struct sn_api *api = c->api;

	source_drop(&c->io);
	source_drop(&c->timer);
	c->reply = reply;
	c->reply_len = strlen(reply);
	if (client_send(c)) {
		client_close(c);
		return;
	}
	c->io = watch_fd(api->ctx, c->fd, G_IO_OUT, client_writable, c);
	c->timer = watch_timeout(api->ctx, SN_API_CLIENT_TIMEOUT_MS,
				 client_timeout, c);
}

/* json_of() - the JSON module, loaded at the first request; NULL (logged)
 * if it cannot be */
static const struct sn_json_module *json_of(struct sn_api *api)
{
	g_autoptr(GError) err = NULL;

	if (!api->json && !(api->json = sn_jsonmod(&err)))
		warn_limited(&api->rl_client, "api: %s", err->message);
	return api->json;
}

/* client_respond() - handle what the client sent and reply to it (or
 * close, without the module that answers) */
static void client_respond(struct sn_api_client *c)
{
	struct sn_api *api = c->api;
	const struct sn_json_module *json;
	char *refusal = c->refusal;

	if (refusal) {
		c->refusal = NULL;
		client_reply(c, refusal);
		return;
	}
	json = json_of(api);
	if (!json) {
		client_close(c);
		return;
	}
	client_reply(c, json->handle_request(&api->req_ctx, c->buf, c->len));
}

/* client_timeout() - reading or writing took too long */
static gboolean client_timeout(void *data)
{
	struct sn_api_client *c = data;

	if (c->reply || (!c->len && !c->refusal))
		client_close(c);
	else
		client_respond(c);
	return G_SOURCE_REMOVE;
}

/* is_json_space() - JSON's insignificant whitespace */
static bool is_json_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/*
 * request_ready() - should the buffered bytes be answered now?
 * Yes if they parse as JSON, tried only when they end in '}' or ']' so
 * that a request trickling in is not parsed at every byte; yes too if they
 * hold a NUL, which no more bytes can make valid, or if there is no module
 * to parse them.
 */
static bool request_ready(struct sn_api *api, const char *buf, gsize len)
{
	const struct sn_json_module *json;
	gsize end = len;

	if (memchr(buf, '\0', len))
		return true;
	while (end && is_json_space(buf[end - 1]))
		end--;
	if (!end || (buf[end - 1] != '}' && buf[end - 1] != ']'))
		return false;
	json = json_of(api);
	return !json || json->request_parses(buf, len);
}

/* client_readable() - read more of the request; answer it once complete */
static gboolean client_readable(int fd, GIOCondition cond, void *data)
{
	struct sn_api_client *c = data;
	ssize_t n = read(fd, c->buf + c->len, sizeof(c->buf) - c->len);

	(void)cond;
	if (n < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return G_SOURCE_CONTINUE;
	if (n < 0 || (n == 0 && !c->len && !c->refusal)) {
		client_close(c);
		return G_SOURCE_REMOVE;
	}
	c->len += (gsize)n;
	if (n && c->len < sizeof(c->buf) &&
	    !request_ready(c->api, c->buf, c->len))
		return G_SOURCE_CONTINUE;
	client_respond(c); /* complete, at EOF, or too large */
	return G_SOURCE_REMOVE;
}

/*
 * peer_refusal() - NULL if the peer may use the socket: its uid is the
 * daemon's, or root's (slirp4netns answers root too, and an administrator
 * types "sudo slirpnetd-ctl"); else the error reply that says why (logged)
 *
 * Uids are as the daemon's user namespace sees them: one that does not map
 * root (a sandbox of its own, an engine's namespace) shows root as the
 * overflow uid, refused like any other.
 */
static char *peer_refusal(struct sn_api *api, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		warn_limited(&api->rl_client, "api: SO_PEERCRED: %s",
			     g_strerror(errno));
		return g_strdup("{\"error\":{\"desc\":\"bad request: "
				"cannot tell who is connecting "
				"(SO_PEERCRED failed)\"}}");
	}
	if (cred.uid == geteuid() || cred.uid == 0)
		return NULL;
	warn_limited(&api->rl_client,
		     "api: refusing a connection from uid %u (pid %d): only "
		     "uid %u and root are served",
		     (unsigned int)cred.uid, (int)cred.pid,
		     (unsigned int)geteuid());
	return g_strdup_printf(
	    "{\"error\":{\"desc\":\"bad request: permission denied: uid %u "
	    "may not use this socket; slirpnetd serves only its own user "
	    "(uid %u) and root\"}}",
	    (unsigned int)cred.uid, (unsigned int)geteuid());
}

/* client_new() - serve the connection on @fd (taken); a peer that may not
 * use the socket is read as any other (so that it is not cut off while it
 * writes), then answered with the reason instead of its request */
static void client_new(struct sn_api *api, int fd)
{
	struct sn_api_client *c;

	c = g_new0(struct sn_api_client, 1);
	c->api = api;
	c->fd = fd;
	c->refusal = peer_refusal(api, fd);
	g_ptr_array_add(api->clients, c);
	c->io = watch_fd(api->ctx, fd, G_IO_IN, client_readable, c);
	c->timer = watch_timeout(api->ctx, SN_API_CLIENT_TIMEOUT_MS,
				 client_timeout, c);
}

/* api_backoff_done() - the pause after an accept() failure is over */
static gboolean api_backoff_done(void *data)
{
	struct sn_api *api = data;

	source_drop(&api->backoff_src);
	api_resume(api);
	return G_SOURCE_REMOVE;
}

/* api_accept_failed() - log @err; pause accepting so the loop won't spin */
static void api_accept_failed(struct sn_api *api, int err)
{
	warn_limited(&api->rl_accept, "api: accept: %s%s", g_strerror(err),
		     err == EMFILE || err == ENFILE ? " (out of fds)" : "");
	source_drop(&api->listen_src);
	api->backoff_src =
	    watch_timeout(api->ctx, API_BACKOFF_MS, api_backoff_done, api);
}

/* api_acceptable() - take new connections, up to SN_API_MAX_CLIENTS */
static gboolean api_acceptable(int fd, GIOCondition cond, void *data)
{
	struct sn_api *api = data;

	(void)cond;
	for (int i = 0; i < SN_API_MAX_CLIENTS; i++) {
		int cfd;

		if (api->clients->len >= SN_API_MAX_CLIENTS) {
			/* full: the backlog holds the rest until one ends */
			source_drop(&api->listen_src);
			return G_SOURCE_REMOVE;
		}
		cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd >= 0) {
			client_new(api, cfd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		api_accept_failed(api, errno);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

/* api_resume() - watch the listening socket again, if nothing stops us */
static void api_resume(struct sn_api *api)
{
	if (api->closing || api->listen_src || api->backoff_src ||
	    api->clients->len >= SN_API_MAX_CLIENTS)
		return;
	api->listen_src =
	    watch_fd(api->ctx, api->fd, G_IO_IN, api_acceptable, api);
}

/* socket_addr() - @path as a sockaddr_un, if it fits in sun_path */
static bool socket_addr(const char *path, struct sockaddr_un *sun, GError **err)
{
	gsize len = strlen(path);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (!len) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "the API socket path is empty");
		return false;
	}
	if (len >= sizeof(sun->sun_path)) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NAMETOOLONG,
			    "API socket path %s is too long (%zu bytes, the "
			    "limit is %zu)",
			    path, len, sizeof(sun->sun_path) - 1);
		return false;
	}
	memcpy(sun->sun_path, path, len);
	return true;
}

/* set_errno_error() - @err from errno, as "@what @path: strerror" */
static void set_errno_error(GError **err, int errnum, const char *what,
			    const char *path)
{
	g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errnum),
		    "%s %s: %s", what, path, g_strerror(errnum));
}

/*
 * probe_socket() - is someone listening on the socket file at @sun?
 * Return: 1 yes, 0 no (stale, or gone), -1 with @err if we can't tell
 */
static int probe_socket(const struct sockaddr_un *sun, GError **err)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int ret, errnum;

	if (fd < 0) {
		set_errno_error(err, errno, "cannot create a socket to check",
				sun->sun_path);
		return -1;
	}
	ret = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	errnum = errno;
	close(fd);
	if (!ret || errnum == EAGAIN) /* EAGAIN: listening, backlog full */
		return 1;
	if (errnum == ECONNREFUSED || errnum == ENOENT)
		return 0;
	set_errno_error(err, errnum, "cannot check", sun->sun_path);
	return -1;
}

/* clear_stale() - make room at @sun: remove a dead socket, refuse the rest */
static bool clear_stale(const struct sockaddr_un *sun, GError **err)
{
	const char *path = sun->sun_path;
	struct stat st;
	int live;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return true;
		set_errno_error(err, errno, "cannot check", path);
		return false;
	}
	if (!S_ISSOCK(st.st_mode)) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_EXIST,
			    "%s exists and is not a socket; not replacing it",
			    path);
		return false;
	}
	live = probe_socket(sun, err);
	if (live < 0)
		return false;
	if (live) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_EXIST,
			    "another process is already serving %s", path);
		return false;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		set_errno_error(err, errno, "cannot remove stale socket", path);
		return false;
	}
	g_debug("api: removed stale socket %s", path);
	return true;
}

/*
 * bind_listen() - a non-blocking socket listening at @sun, mode 0600
 * The mode is set on the socket before bind() (Linux creates the file with
 * it, so there is no window where others may connect) and on the file
 * after, in case that did not hold.
 *
 * Return: the fd, or -1 with @err
 */
static int bind_listen(const struct sockaddr_un *sun, GError **err)
{
	const char *path = sun->sun_path;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		set_errno_error(err, errno, "cannot create socket for", path);
		return -1;
	}
	if (fchmod(fd, 0600) < 0 ||
	    bind(fd, (const struct sockaddr *)sun, sizeof(*sun)) < 0) {
		set_errno_error(err, errno, "cannot bind", path);
		close(fd);
		return -1;
	}
	if (chmod(path, 0600) < 0 || listen(fd, API_BACKLOG) < 0) {
		set_errno_error(err, errno, "cannot listen on", path);
		unlink(path);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * sn_api_new() - listen on @path (mode 0600) in the thread-default context
 * A stale socket file (no listener) is replaced; a live one is refused, and
 * so is anything that is not a socket.
 *
 * Return: the server, or NULL with @err (G_FILE_ERROR) naming the path
 */
struct sn_api *sn_api_new(const char *path, const struct sn_api_ctx *ctx,
			  GError **err)
{
	struct sockaddr_un sun;
	struct sn_api *api;
	struct stat st;
	int fd;

	if (!socket_addr(path, &sun, err) || !clear_stale(&sun, err))
		return NULL;
	fd = bind_listen(&sun, err);
	if (fd < 0)
		return NULL;
	api = g_new0(struct sn_api, 1);
	api->path = g_strdup(path);
	if (stat(path, &st) == 0) {
		api->dev = st.st_dev;
		api->ino = st.st_ino;
	}
	api->fd = fd;
	api->ctx = g_main_context_ref_thread_default();
	api->req_ctx = *ctx;
	api->clients = g_ptr_array_new();
	api_resume(api);
	g_debug("api: listening on %s", path);
	return api;
}

/* unlink_ours() - remove the socket file, unless it is no longer ours */
static void unlink_ours(const struct sn_api *api)
{
	struct stat st;

	if (lstat(api->path, &st) < 0 || st.st_dev != api->dev ||
	    st.st_ino != api->ino)
		return;
	if (unlink(api->path) < 0)
		g_warning("api: cannot remove %s: %s", api->path,
			  g_strerror(errno));
}

/* sn_api_free() - stop listening, close clients, unlink the socket file */
void sn_api_free(struct sn_api *api)
{
	if (!api)
		return;
	api->closing = true;
	source_drop(&api->listen_src);
	source_drop(&api->backoff_src);
	while (api->clients->len)
		client_close(g_ptr_array_index(api->clients, 0));
	g_ptr_array_unref(api->clients);
	close(api->fd);
	unlink_ours(api);
	g_main_context_unref(api->ctx);
	g_free(api->path);
	g_free(api);
}
