/* fwdtap.c - forwards through tap0: connections the forwarders' thread
 * accepted, handed to the main thread, where tcp.c carries them. */
#include <sys/socket.h>
#include <unistd.h>

#include "fwdtap.h"
#include "stack.h"

/* One accepted connection on its way to the main thread. */
struct handoff {
	struct sn_fwdtap *ft;
	int fd; /* -1 once the engine has it */
	struct sockaddr_storage peer;
	struct sn_fwd_spec spec;
	struct sn_fwd_stats *fst; /* a reference */
};

/* reset_close() - close @fd with an RST to the client */
static void reset_close(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* handoff_run() - in the main thread: the engine takes the connection */
static gboolean handoff_run(gpointer data)
{
	struct handoff *h = data;
	g_autoptr(GError) err = NULL;
	g_autofree char *where = NULL;
	unsigned int held = 0;

	if (sn_stack_tcp_accept(h->ft->stack, h->fd, &h->peer,
				h->spec.guest_addr, h->spec.guest_port, h->fst,
				&err)) {
		h->fd = -1;
		return G_SOURCE_REMOVE;
	}
	h->fst->errors++;
	if (sn_ratelimit_ok(&h->ft->rl, &held)) {
		where = sn_fwd_spec_host(&h->spec);
		g_warning("forward %s: cannot carry a connection through "
			  "tap0: %s (%u similar messages suppressed)",
			  where, err->message, held);
	}
	return G_SOURCE_REMOVE;
}

static void handoff_free(gpointer data)
{
	struct handoff *h = data;

	if (h->fd >= 0)
		reset_close(h->fd);
	g_atomic_rc_box_release(h->fst);
	g_free(h);
}

void sn_fwdtap_accept(void *opaque, int fd, const struct sockaddr_storage *peer,
		      const struct sn_fwd_spec *spec, struct sn_fwd_stats *fst)
{
	struct handoff *h = g_new0(struct handoff, 1);

	h->ft = opaque;
	h->fd = fd;
	h->peer = *peer;
	h->spec = *spec;
	h->fst = g_atomic_rc_box_acquire(fst);
	g_main_context_invoke_full(h->ft->ctx, G_PRIORITY_DEFAULT, handoff_run,
				   h, handoff_free);
}

void sn_fwdtap_init(struct sn_fwdtap *ft, struct sn_stack *stack)
{
	ft->ctx = g_main_context_ref_thread_default();
	ft->stack = stack;
	ft->rl = (struct sn_ratelimit){ 0 };
}

void sn_fwdtap_clear(struct sn_fwdtap *ft)
{
	g_clear_pointer(&ft->ctx, g_main_context_unref);
}
