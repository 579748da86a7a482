/* guard.h - guest input that released libslirp versions mishandle, made
 * harmless on the tap input path; the libslirp version check at start-up. */
#ifndef SN_GUARD_H
#define SN_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

/* The newest libslirp release with a fix slirpnetd knows of, and the fix. */
#define SN_GUARD_LIBSLIRP_FIXED "4.9.2"
#define SN_GUARD_LIBSLIRP_FIX	"CVE-2026-9539 (TCP urgent data)"

/* What the guard did with a frame from the guest. */
enum sn_guard_verdict {
	SN_GUARD_PASS,	  /* untouched: hand it to libslirp */
	SN_GUARD_CLEANED, /* URG and the urgent pointer cleared: hand it on */
	SN_GUARD_DROP,	  /* malformed TCP that could slip a header past the
			   * guard: never hand it to libslirp */
};

/* Totals since start-up. */
struct sn_guard_stats {
	uint64_t cleaned;      /* TCP segments whose urgent data was cleared */
	uint64_t dropped;      /* malformed TCP packets dropped */
	uint64_t frag_dropped; /* IPv4 fragments dropped (see guard.c) */
	uint64_t frag_primed;  /* first fragments handed to libslirp again */
};

/* IPv4 datagrams whose first fragment the guard remembers at once. */
#define SN_GUARD_FRAGS 32
/* Payload bytes of a first fragment kept, and replayed, with its header. */
#define SN_GUARD_PRIME_DATA 8
/* Largest IPv4 header (options included). */
#define SN_GUARD_IP4_HLEN_MAX 60

/* A remembered first fragment: its IPv4 header (total length cut to the
 * kept payload, checksum redone) and SN_GUARD_PRIME_DATA payload bytes. */
struct sn_guard_frag {
	uint32_t seq; /* when it was stored, for replacing the oldest */
	uint8_t hlen; /* IPv4 header length; 0: the slot is free */
	uint8_t ip[SN_GUARD_IP4_HLEN_MAX + SN_GUARD_PRIME_DATA];
};

/* Hands libslirp a frame the guard made itself. */
typedef void (*sn_guard_inject_fn)(const uint8_t *frame, size_t len,
				   void *opaque);

/* What one stack's guard keeps: set it up with sn_guard_init(). Zeroed
 * instead, it works but drops the last fragment of every IPv4 datagram. */
struct sn_guard {
	struct sn_guard_stats stats;
	struct sn_ratelimit rl;	     /* for the --debug totals */
	struct sn_ratelimit rl_frag; /* for the fragment drop warning */
	sn_guard_inject_fn inject;
	void *inject_opaque;
	uint32_t frag_seq;
	struct sn_guard_frag frags[SN_GUARD_FRAGS];
};

/*
 * sn_guard_init() - a fresh guard for one stack
 * @inject:	hands libslirp a frame, as slirp_input() does (see guard.c)
 * @opaque:	for @inject
 */
void sn_guard_init(struct sn_guard *g, sn_guard_inject_fn inject, void *opaque);

struct sn_ip;

/*
 * sn_guard_frame() - sn_guard_inspect() @frame, then keep libslirp's IPv4
 * reassembly safe (may call g->inject first); count it all in @g
 * Return: true to hand the (maybe cleaned) frame to libslirp, false to drop
 */
bool sn_guard_frame(struct sn_guard *g, uint8_t *frame, const struct sn_ip *ip);

/*
 * sn_guard_inspect() - neutralize TCP urgent data in one Ethernet frame
 * @frame:	the frame, modified in place (only URG, the urgent pointer
 *		and the TCP checksum)
 * @ip:		@frame as sn_ip_parse() found it; nothing past its length
 *		is read
 *
 * Stateless: libslirp's IPv4 reassembly is sn_guard_frame()'s business.
 *
 * Return: the verdict; on SN_GUARD_PASS and SN_GUARD_DROP the frame is
 * unchanged
 */
enum sn_guard_verdict sn_guard_inspect(uint8_t *frame, const struct sn_ip *ip);

/*
 * sn_guard_version_parse() - "MAJOR.MINOR.MICRO" into @v; MINOR and MICRO
 * may be left out (0), and anything after MICRO is ignored ("4.7.0-rc1")
 *
 * Return: true, or false if @s does not start that way
 */
bool sn_guard_version_parse(const char *s, unsigned int v[3]);

/*
 * sn_guard_version_cmp() - order two version strings
 *
 * Return: <0, 0 or >0 as @a is older than, the same as, or newer than @b;
 * a string that does not parse is older than any that does
 */
int sn_guard_version_cmp(const char *a, const char *b);

/*
 * sn_guard_libslirp_note() - the start-up line about libslirp @version:
 * the version, and a warning if it lacks SN_GUARD_LIBSLIRP_FIXED's fix
 *
 * Return: the line, to be freed with g_free()
 */
char *sn_guard_libslirp_note(const char *version);

/* sn_guard_report_libslirp() - log that line for the libslirp in use */
void sn_guard_report_libslirp(void);

#endif
