/* seccompfilter.c - --enable-seccomp: a libseccomp allow-list for the daemon's
 * threads; attackers' favourite calls kill, anything else fails and logs. */
#include <errno.h>
#include <malloc.h>
#include <seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <ucontext.h>
#include <unistd.h>

#include "cli.h"
#include "seccompfilter.h"

/*
 * What the main loop, libslirp, the TCP flow engine, the forwarders'
 * thread, glib's worker thread, the control socket, the state file and
 * sd_notify call once
 * start-up is over (every thread already exists by then). Names a libc
 * on another architecture does not have are skipped.
 */
static const char *const allowed[] = {
	/* memory */
	"brk",
	"mmap",
	"munmap",
	"mremap",
	"mprotect",
	"madvise",
	/* descriptors and files: state file, resolv.conf, socket file */
	"read",
	"write",
	"readv",
	"writev",
	"pread64",
	"pwrite64",
	"close",
	"dup",
	"dup3",
	"fcntl",
	"fstat",
	"newfstatat",
	"statx",
	"lseek",
	"openat",
	"unlink",
	"unlinkat",
	"rename",
	"renameat",
	"renameat2",
	"fsync",
	"fdatasync",
	"faccessat",
	"faccessat2",
	/* waiting */
	"poll",
	"ppoll",
	"epoll_create1",
	"epoll_ctl",
	"epoll_wait",
	"epoll_pwait",
	"eventfd2",
	"pipe2",
	"nanosleep",
	"clock_nanosleep",
	"clock_gettime",
	"clock_getres",
	"gettimeofday",
	"futex",
	"sched_yield",
	"restart_syscall",
	"set_robust_list",
	"rseq",
	/* signals */
	"rt_sigaction",
	"rt_sigprocmask",
	"rt_sigreturn",
	"sigaltstack",
	"kill",
	"tgkill",
	"tkill",
	/* sockets: the host side, the API, the helper's SCM_RIGHTS */
	"socket",
	"bind",
	"listen",
	"accept",
	"accept4",
	"connect",
	"getsockname",
	"getpeername",
	"getsockopt",
	"setsockopt",
	"sendto",
	"recvfrom",
	"sendmsg",
	"recvmsg",
	"sendmmsg",
	"recvmmsg",
	"shutdown",
	"splice",
	/* the process */
	"exit",
	"exit_group",
	"getpid",
	"gettid",
	"getppid",
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"getrandom",
	"prlimit64",
	"getrlimit",
	"wait4",
	"waitid",
	NULL,
};

/* ioctl() requests: libslirp's FIONREAD and FIONBIO, stdio's TCGETS, the
 * guest's MAC for forwards through tap0 (SIOCGIFHWADDR on the tap fd); the
 * helper's if_nametoindex() (SIOCGIFINDEX). 0 ends each list. */
static const unsigned long ioctls[] = { FIONREAD, FIONBIO, TCGETS,
					SIOCGIFHWADDR, 0 };
static const unsigned long helper_ioctls[] = { SIOCGIFINDEX, 0 };

/* Calls the daemon never makes once running, and exploit code does. */
static const char *const killed[] = {
	"execve",
	"execveat",
	"ptrace",
	"process_vm_readv",
	"process_vm_writev",
	"mount",
	"umount2",
	"pivot_root",
	"chroot",
	"setns",
	"unshare",
	"mount_setattr",
	"fsopen",
	"fsmount",
	"move_mount",
	"open_tree",
	"init_module",
	"finit_module",
	"delete_module",
	"kexec_load",
	"kexec_file_load",
	"bpf",
	"perf_event_open",
	"userfaultfd",
	"keyctl",
	"add_key",
	"request_key",
	"open_by_handle_at",
	"name_to_handle_at",
	"personality",
	"reboot",
	"swapon",
	"swapoff",
	"acct",
	"iopl",
	"ioperm",
	"fork",
	"vfork",
	NULL,
};

/*
 * The namespace helper (slirpnetd-ns), once it has handed over tap0: it
 * reads requests, makes sockets in the namespace, writes one sysctl and
 * routing rules over rtnetlink (libmnl), and answers with SCM_RIGHTS.
 */
static const char *const helper_allowed[] = {
	"brk",		 "mmap",	"munmap",	"mremap",
	"madvise",	 "read",	"write",	"openat",
	"close",	 "fstat",	"newfstatat",	"socket",
	"bind",		 "getsockname", "setsockopt",	"sendto",
	"recvfrom",	 "sendmsg",	"recvmsg",	"futex",
	"clock_gettime", "getpid",	"rt_sigreturn", "restart_syscall",
	"exit",		 "exit_group",	NULL,
};

const char *const *sn_seccomp_allowed(void)
{
	return allowed;
}

const char *const *sn_seccomp_helper_allowed(void)
{
	return helper_allowed;
}

const char *const *sn_seccomp_killed(void)
{
	return killed;
}

#if defined(__x86_64__) || defined(__aarch64__)
#define SN_SECCOMP_TRAP 1
/* Blocked calls logged; after that many, they only fail. */
#define SN_SECCOMP_LOG_MAX 16

/* put_num() - @v in decimal at @p; returns the end (signal-safe) */
static char *put_num(char *p, long v)
{
	char tmp[24];
	int n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < (int)sizeof(tmp));
	while (n)
		*p++ = tmp[--n];
	return p;
}

/*
 * on_sigsys() - a call off the list: log its number, make it return EPERM.
 * Runs in a signal handler: write(2) and plain stores only. The count is
 * the one piece of process-wide state, as a signal handler gets no data.
 */
static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	static volatile sig_atomic_t logged;
	static const char pre[] = "slirpnetd: seccomp: blocked system call ";
	ucontext_t *uc = ctx;
	char buf[96], *p = buf;

	(void)sig;
	if (logged < SN_SECCOMP_LOG_MAX) {
		logged++;
		memcpy(p, pre, sizeof(pre) - 1);
		p = put_num(p + sizeof(pre) - 1, si->si_syscall);
		memcpy(p, " (EPERM)\n", 9);
		if (write(STDERR_FILENO, buf, (size_t)(p + 9 - buf)) < 0)
			logged = SN_SECCOMP_LOG_MAX;
	}
#if defined(__x86_64__)
	uc->uc_mcontext.gregs[REG_RAX] = -EPERM;
#else
	uc->uc_mcontext.regs[0] = (unsigned long long)-EPERM;
#endif
}

/* trap_install() - SIGSYS to on_sigsys() */
static int trap_install(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys,
				.sa_flags = SA_SIGINFO | SA_RESTART };

	sigemptyset(&sa.sa_mask);
	return sigaction(SIGSYS, &sa, NULL);
}
#else
#define SN_SECCOMP_TRAP 0
static int trap_install(void)
{
	return 0;
}
#endif

/* add_list() - a rule with @action for every name of @names */
static int add_list(scmp_filter_ctx ctx, uint32_t action,
		    const char *const *names)
{
	int nr, rc;

	for (; *names; names++) {
		nr = seccomp_syscall_resolve_name(*names);
		if (nr == __NR_SCMP_ERROR)
			continue;
		rc = seccomp_rule_add(ctx, action, nr, 0);
		if (rc < 0 && rc != -EEXIST)
			return rc;
	}
	return 0;
}

/* add_ioctls() - ioctl() for the requests of @reqs only */
static int add_ioctls(scmp_filter_ctx ctx, const unsigned long *reqs)
{
	int rc;

	for (; *reqs; reqs++) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				      SCMP_A1(SCMP_CMP_EQ, *reqs));
		if (rc < 0)
			return rc;
	}
	return 0;
}

#ifdef __SANITIZE_ADDRESS__
/* What AddressSanitizer's runtime calls when a thread or a process ends
 * (its alternate signal stack, its thread id): in sanitizer builds only,
 * the runtime's own calls, not the daemon's, and not in the lists
 * slirpnetd(1) documents. */
static const char *const sanitizer_calls[] = { "sigaltstack", "gettid", NULL };
#else
static const char *const sanitizer_calls[] = { NULL };
#endif

/* build() - the filter's rules into @ctx: @names allowed, ioctl() for
 * @reqs, killed[] killing */
static int build(scmp_filter_ctx ctx, const char *const *names,
		 const unsigned long *reqs)
{
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);

	if (!rc)
		rc = add_list(ctx, SCMP_ACT_ALLOW, names);
	if (!rc)
		rc = add_list(ctx, SCMP_ACT_ALLOW, sanitizer_calls);
	if (!rc)
		rc = add_ioctls(ctx, reqs);
	if (!rc)
		rc = add_list(ctx, SCMP_ACT_KILL_PROCESS, killed);
	return rc;
}

/* apply() - install the filter of build() on every thread */
static bool apply(const char *const *names, const unsigned long *reqs,
		  GError **err)
{
	uint32_t dflt = SN_SECCOMP_TRAP ? SCMP_ACT_TRAP : SCMP_ACT_ERRNO(EPERM);
	scmp_filter_ctx ctx = seccomp_init(dflt);
	const char *step = "seccomp_init";
	int rc = -ENOMEM;

	if (ctx) {
		step = "building the filter";
		rc = build(ctx, names, reqs);
	}
	if (!rc && trap_install() < 0) {
		step = "installing the SIGSYS handler";
		rc = -errno;
	}
	if (!rc) {
		step = "seccomp_load";
		rc = seccomp_load(ctx);
	}
	seccomp_release(ctx);
	/* Building the filter took and freed tens of KiB: give those pages
	 * back rather than carry them for the process's life. */
	malloc_trim(0);
	if (!rc)
		return true;
	g_set_error(err, SN_CLI_ERROR, 0, "--enable-seccomp: %s: %s", step,
		    g_strerror(-rc));
	return false;
}

bool sn_seccomp_apply(GError **err)
{
	return apply(allowed, ioctls, err);
}

bool sn_seccomp_apply_helper(GError **err)
{
	return apply(helper_allowed, helper_ioctls, err);
}
