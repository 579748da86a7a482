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
	uint64_t cleaned; /* TCP segments whose urgent data was cleared */
	uint64_t dropped; /* malformed TCP packets dropped */
};

/*
 * sn_guard_inspect() - neutralize TCP urgent data in one Ethernet frame
 * @frame:	the frame, modified in place (only URG, the urgent pointer
 *		and the TCP checksum)
 * @len:	its length; nothing past it is read
 *
 * Return: the verdict; on SN_GUARD_PASS and SN_GUARD_DROP the frame is
 * unchanged
 */
/* What one stack's guard counts; zero it to start. */
struct sn_guard {
	struct sn_guard_stats stats;
	struct sn_ratelimit rl; /* for the --debug totals */
};

/*
 * sn_guard_frame() - sn_guard_inspect() @frame, count it in @g
 * Return: true to hand the (maybe cleaned) frame to libslirp, false to drop
 */
bool sn_guard_frame(struct sn_guard *g, uint8_t *frame, size_t len);

enum sn_guard_verdict sn_guard_inspect(uint8_t *frame, size_t len);

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
