# lib.sh - shared helpers for slirpnetd's integration tests (sourced).
# Each test runs in its own "host": a user+net+mount+pid namespace made with
# unshare, with lo up, so tests never touch the real host's network, can bind
# any port, and run in parallel. The "container" is a network namespace made
# inside it. Everything started is killed by PID on exit, and whatever is
# left dies with the PID namespace.
set -euo pipefail

: "${SLIRPNETD:?SLIRPNETD must name the slirpnetd binary}"
# The hardened pass (meson test --setup=hardened): the same tests, the
# daemon always run with --enable-sandbox --enable-seccomp.
# SN_REAL is the binary itself, whose PIDs show it as their exe (kept from
# before the re-run in the sandbox, where SLIRPNETD is the wrapper already).
SN_REAL=${SN_REAL:-$(realpath "$SLIRPNETD")}
if [ -n "${SN_HARDENED:-}" ]; then
	SLIRPNETD=${SN_HARDENED_WRAPPER:?the hardened pass needs the wrapper}
fi
SLIRPNETD=$(realpath "$SLIRPNETD")
TESTNAME=$(basename "$0" .sh)
SN_PIDS=()
SN_TESTDIR=$(cd "$(dirname "$0")" && pwd)
# the UDP peers (see udppeer.py): each datagram its own sendto()
UDPPEER="$SN_TESTDIR/udppeer.py"

# fail MSG: print the failure (with the daemon's log if any) and exit 1
fail() {
	echo "FAIL: $TESTNAME: $*" >&2
	if [ -n "${SN_LOG:-}" ] && [ -s "$SN_LOG" ]; then
		echo "--- slirpnetd log:" >&2
		tail -n 40 "$SN_LOG" >&2
	fi
	exit 1
}

# ok MSG: record a passing check
ok() { echo "ok: $*"; }

# sn_running PID: true while PID exists and is not a zombie
sn_running() {
	kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1" | cut -c1)" != Z ]
}

# sn_stop_gently: with SN_CLEANUP_TERM set (the memcheck runs), end the
# daemons with SIGTERM and give each up to 20 s to exit through its own
# shutdown path, so that a leak checker sees every exit
sn_stop_gently() {
	local p i
	[ -n "${SN_CLEANUP_TERM:-}" ] || return 0
	for p in "${SN_PIDS[@]}"; do
		[ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$SN_REAL" ] ||
			grep -qs "valgrind" "/proc/$p/cmdline" || continue
		kill -TERM "$p" 2>/dev/null || continue
		for i in $(seq 400); do
			sn_running "$p" || break
			sleep 0.05
		done
	done
}

# sn_cleanup [RC]: kill everything started (and their children), remove the
# work directory; in the hardened pass, fail if any daemon log shows a call
# seccomp blocked; exit with RC, or the status the script was exiting with.
# A test's own EXIT trap must pass its first $? on: by the time it calls
# this, its own commands have replaced it.
sn_cleanup() {
	local p rc=${1:-$?} blocked=
	sn_stop_gently
	for p in "${SN_PIDS[@]}"; do
		pkill -KILL -P "$p" 2>/dev/null || true
		kill -9 "$p" 2>/dev/null || true
	done
	# the test user last: the next test that runs as sntest may start now
	if [ -n "${SN_USER_LOCK_PID:-}" ]; then
		pkill -KILL -P "$SN_USER_LOCK_PID" 2>/dev/null || true
		kill -9 "$SN_USER_LOCK_PID" 2>/dev/null || true
	fi
	wait 2>/dev/null || true
	if [ -n "${SN_HARDENED:-}" ] && [ -n "${SN_WORK:-}" ]; then
		blocked=$(grep -rIh "seccomp: blocked system call" "$SN_WORK" 2>/dev/null | sort -u || true)
	fi
	if [ -n "$blocked" ]; then
		echo "FAIL: $TESTNAME: seccomp blocked calls the daemon made:" >&2
		echo "$blocked" >&2
		rc=1
	fi
	[ -z "${SN_WORK:-}" ] || rm -rf "$SN_WORK"
	exit "$rc"
}

# sn_setup_host_tools: one-time machine set-up shared by the tests (as root):
# /dev/net/tun usable by unprivileged users (as desktop distributions ship
# it), and the unprivileged test user with subordinate id ranges.
sn_setup_host_tools() {
	[ "$(id -u)" = 0 ] || return 0
	[ -z "${SN_IN_SANDBOX:-}" ] || return 0
	(
		flock 9
		chmod 0666 /dev/net/tun
		if ! id sntest >/dev/null 2>&1; then
			useradd --create-home --shell /bin/bash sntest
		fi
		grep -q '^sntest:' /etc/subuid || echo 'sntest:200000:65536' >>/etc/subuid
		grep -q '^sntest:' /etc/subgid || echo 'sntest:200000:65536' >>/etc/subgid
	) 9>/tmp/slirpnetd-test-setup.lock
}

# sn_user_lock: wait until no other test runs as the unprivileged test user,
# then keep it until sn_cleanup. The tests that run as sntest (docker,
# podman, rootlesskit, unprivileged) share its processes, its subordinate
# ids and ports of the real host, so they take turns: within a pass, and
# across the passes tests/ci-extra.sh runs side by side. The lock is held
# by a process of its own (flock -o), not by what the test starts, so that
# a process the test leaves behind cannot keep the next one waiting; it
# lets go when sn_cleanup ends it, or at the latest a second after the
# test's shell is gone, however that ended. The wait is bounded (240 s);
# the meson timeouts of these tests leave room for it.
sn_user_lock() {
	local fifo="$SN_WORK/user-lock.$RANDOM" r= fd
	mkfifo "$fifo"
	flock -o -w 240 /tmp/slirpnetd-sntest.lock \
		sh -c 'echo held; while kill -0 "$1" 2>/dev/null; do sleep 1; done' sh "$$" \
		>"$fifo" 2>/dev/null &
	SN_USER_LOCK_PID=$!
	# (EOF if flock gives up first)
	exec {fd}<"$fifo"
	rm -f "$fifo"
	read -r -t 250 r <&"$fd" || true
	exec {fd}<&-
	[ "$r" = held ] || fail "another test kept the test user sntest for 240 s"
}

# sn_python_first: from here on, python3 (on PATH, for every command the
# test starts) is the one the README installs, /usr/bin/python3, when there,
# else the interpreter behind PATH's python3, by a link in SN_WORK/bin put
# first on PATH. A version manager's shim on PATH runs scripts before each
# start, and its interpreter may load site hooks: 180 ms of CPU a start
# here, against 18 for /usr/bin/python3, and the tests start python3
# dozens of times each.
sn_python_first() {
	local py=/usr/bin/python3
	[ -x "$py" ] || py=$(python3 -c 'import sys; print(sys.executable)') || return 0
	mkdir -p "$SN_WORK/bin"
	ln -s "$py" "$SN_WORK/bin/python3"
	PATH="$SN_WORK/bin:$PATH"
}

# sn_sandbox "$@": re-run the calling script inside fresh user, net, mount
# and PID namespaces (the test's private host), with lo up. Call first thing.
sn_sandbox() {
	if [ -z "${SN_IN_SANDBOX:-}" ]; then
		sn_setup_host_tools
		export SN_IN_SANDBOX=1 SLIRPNETD SN_REAL
		exec unshare --user --map-root-user --net --mount --pid \
			--mount-proc --fork bash "$0" "$@"
	fi
	mount --make-rprivate /
	ip link set lo up
	SN_WORK=$(mktemp -d /tmp/sntest.XXXXXX)
	chmod 755 "$SN_WORK"
	trap sn_cleanup EXIT
	sn_python_first
}

# sn_container: start a process in a new network namespace; sets CPID
sn_container() {
	unshare --net --fork sleep 3600 &
	SN_PIDS+=($!)
	local i
	for i in $(seq 100); do
		CPID=$(pgrep -P "$!" -x sleep || true)
		[ -n "$CPID" ] && break
		sleep 0.05
	done
	[ -n "$CPID" ] || fail "container process did not start"
	SN_PIDS+=("$CPID")
}

# nsx CMD...: run CMD in the container's network namespace
nsx() { nsenter --target "$CPID" --net -- "$@"; }

# sn_start ARGS...: start slirpnetd with a ready fd and wait until ready.
# Sets SN_PID and SN_LOG. ARGS must end with the target (e.g. "$CPID").
# The ready fd is a fifo whose only writer is the daemon, so the wait ends
# when it writes "1", or at EOF if it exits first; the 60 s bound is for a
# daemon that hangs (a sanitizer build on a loaded machine starts in
# seconds, not milliseconds).
sn_start() {
	local fifo="$SN_WORK/ready.$RANDOM" r=
	SN_LOG="$SN_WORK/slirpnetd.log"
	mkfifo "$fifo"
	(
		exec {w}>"$fifo"
		exec "$SLIRPNETD" -r "$w" ${SN_TCP_PATH:+--tcp-path="$SN_TCP_PATH"} "$@"
	) >"$SN_LOG" 2>&1 &
	SN_PID=$!
	SN_PIDS+=("$SN_PID")
	exec {SN_READY}<"$fifo"
	rm -f "$fifo"
	read -r -t 60 -N 1 r <&"$SN_READY" || true
	exec {SN_READY}<&-
	[ "$r" = 1 ] || fail "slirpnetd did not signal ready (args: $*): $(sn_running "$SN_PID" &&
		echo "no \"1\" on the ready fd within 60 s" || echo "it exited first")"
}

# sn_wait_exit PID [TIMEOUT]: wait for child PID to exit (up to TIMEOUT
# seconds, 60 by default); sets SN_RC to its exit status (not in a
# subshell: only the parent shell can reap it)
sn_wait_exit() {
	local pid=$1 t=${2:-60} i
	SN_RC=0
	for i in $(seq $((t * 20))); do
		sn_running "$pid" || break
		sleep 0.05
	done
	! sn_running "$pid" || fail "process $pid still running after ${t}s"
	wait "$pid" 2>/dev/null || SN_RC=$?
}

# api JSON: send one request to the daemon's API socket, print the reply.
# The client is socat, which shuts down its sending side after the request
# and reads the reply to its end, as ncat does: ncat takes some 110 ms of
# CPU to start, socat 6, which counts in the loops that poll get_stats.
api() { printf '%s' "$1" | timeout 30 socat -t 30 - "UNIX-CONNECT:$SN_API"; }

# wait_for CMD...: retry CMD until it succeeds, for up to 30 s
wait_for() {
	local i
	for i in $(seq 600); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

# sn_done: the closing line meson shows
sn_done() { echo "PASS: $TESTNAME"; }

# --- helpers for the tests that run real clients (rootlesskit, podman) as
# the unprivileged user sntest on the real host, outside any sandbox

# sn_require_client CMD...: exit 77 (meson's skip) if a client is missing
sn_require_client() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			{ echo "SKIP: $TESTNAME: $c is not installed"; exit 77; }
	done
}

# The private network of the real-client tests: an address of the test's
# own (SN_NET_ADDR, on a veth pair both ends of which stay in the
# namespace), a default route that leads only into that pair, and a rule
# that drops and counts every packet sent that way to anything but the
# test's own subnet: nothing can leave this machine, and anything that
# tried shows in the counter (sn_private_net_check).
SN_NET_ADDR=10.199.0.1
SN_NET_PREFIX=10.199.0.0/24
# What the stub resolver (dnsstub.pl) answers itself
SN_DNS_NAME=probe.slirpnetd.test
SN_DNS_ANSWER=10.9.8.7

# sn_private_net "$@": re-run the calling script, as root, in a network,
# mount and PID namespace of its own (users and files stay the real
# host's, so rootless engines get their subordinate ids): lo up, the veth
# pair, the dead-end default route and the counting rule; every process
# the test starts dies with the PID namespace at the latest. Call first
# thing, then sn_host_setup.
sn_private_net() {
	if [ -z "${SN_IN_PRIVNET:-}" ]; then
		[ "$(id -u)" = 0 ] || { echo "SKIP: $TESTNAME needs root (to become sntest)"; exit 77; }
		[ -z "${SN_IN_SANDBOX:-}" ] || fail "must run on the real host, not in the sandbox"
		export SN_IN_PRIVNET=1 SN_REAL
		exec unshare --net --mount --pid --mount-proc --fork bash "$0" "$@"
	fi
	mount --make-rprivate /
	ip link set lo up
	ip link add sn-host type veth peer name sn-end || fail "cannot create a veth pair"
	# no IPv6 on the pair: no router solicitations or DAD to count
	sysctl -qw net.ipv6.conf.sn-host.disable_ipv6=1 net.ipv6.conf.sn-end.disable_ipv6=1
	ip addr add "$SN_NET_ADDR/24" dev sn-host
	ip link set sn-host up
	ip link set sn-end up
	ip route add default via 10.199.0.254 dev sn-host
	iptables -w -A OUTPUT -o sn-host ! -d "$SN_NET_PREFIX" -j DROP ||
		fail "cannot add the rule counting packets that try to leave"
}

# sn_private_dns: the stub resolver (dnsstub.pl: answers SN_DNS_NAME with
# SN_DNS_ANSWER, NXDOMAIN for the rest, never forwards) on
# SN_NET_ADDR:53, and /etc/resolv.conf, in this mount namespace only,
# bound to a file naming it; queries are logged to SN_DNS_LOG
sn_private_dns() {
	[ -n "${SN_IN_PRIVNET:-}" ] || fail "sn_private_dns needs sn_private_net"
	SN_DNS_LOG="$SN_WORK/dns.log"
	echo "nameserver $SN_NET_ADDR" >"$SN_WORK/resolv.conf"
	chmod 644 "$SN_WORK/resolv.conf"
	mount --bind "$SN_WORK/resolv.conf" /etc/resolv.conf ||
		fail "cannot bind-mount over /etc/resolv.conf"
	perl "$(dirname "$0")/dnsstub.pl" "$SN_NET_ADDR" 53 "$SN_DNS_NAME" "$SN_DNS_ANSWER" \
		>"$SN_DNS_LOG" 2>&1 &
	SN_PIDS+=($!)
	wait_for bash -c "ss -Hlun 'src $SN_NET_ADDR:53' | grep -q ." ||
		fail "the stub resolver is not listening on $SN_NET_ADDR:53: $(cat "$SN_DNS_LOG")"
}

# sn_private_net_check: fail if anything tried to leave the namespace (the
# counting rule's packets), or if the stub resolver got no query for
# SN_DNS_NAME (the engine's lookups did not come to it)
sn_private_net_check() {
	local n
	n=$(iptables -w -L OUTPUT -v -n -x | awk '$3 == "DROP" && $7 == "sn-host" { print $1 }')
	[ "$n" = 0 ] || fail "$n packets tried to leave the test's network namespace: $(iptables -w -L OUTPUT -v -n -x)"
	n=$(grep -c "^query $SN_DNS_NAME type 1 " "$SN_DNS_LOG" || true)
	[ "$n" -gt 0 ] || fail "the stub resolver got no query for $SN_DNS_NAME: $(cat "$SN_DNS_LOG")"
	ok "nothing tried to leave the test's network namespace (0 packets dropped); the stub resolver answered $n queries for $SN_DNS_NAME"
}

# sn_host_setup: as root on the real host: the test user, a work directory
# (SN_WORK, removed on exit), the test user to this test alone
# (sn_user_lock), and SN_USERDIR inside SN_WORK owned by sntest
sn_host_setup() {
	[ "$(id -u)" = 0 ] || { echo "SKIP: $TESTNAME needs root (to become sntest)"; exit 77; }
	[ -z "${SN_IN_SANDBOX:-}" ] || fail "must run on the real host, not in the sandbox"
	sn_setup_host_tools
	SN_WORK=$(mktemp -d /tmp/sntest.XXXXXX)
	chmod 755 "$SN_WORK"
	trap sn_cleanup EXIT
	sn_python_first
	sn_user_lock
	SN_USERDIR="$SN_WORK/u"
	mkdir "$SN_USERDIR"
	chown sntest:sntest "$SN_USERDIR"
}

# sn_copy_binary BIN: copy BIN, and the JSON module beside it, into
# SN_WORK (mode 755 both); print the copy's path
sn_copy_binary() {
	local mod
	mod="$(dirname "$1")/slirpnetd-json.so"
	install -m 755 "$1" "$SN_WORK/slirpnetd"
	[ ! -e "$mod" ] || install -m 755 "$mod" "$SN_WORK/slirpnetd-json.so"
	echo "$SN_WORK/slirpnetd"
}

# sn_user_binary: set SN_BIN to a slirpnetd that sntest can run: $SN_REAL,
# or a copy in $SN_WORK if the tree holding it is private; and SN_RUN to
# what engines are told to run: SN_BIN, or in the hardened pass a wrapper
# adding --enable-sandbox --enable-seccomp
sn_user_binary() {
	SN_BIN=$SN_REAL
	if ! runuser -u sntest -- test -x "$SN_BIN"; then
		SN_BIN=$(sn_copy_binary "$SN_REAL")
		echo "note: $SN_REAL is not executable by sntest; using a copy"
	fi
	SN_RUN=$SN_BIN
	if [ -n "${SN_HARDENED:-}" ]; then
		SN_RUN="$SN_WORK/slirpnetd-hardened"
		printf '#!/bin/sh\nexec %s --enable-sandbox --enable-seccomp "$@"\n' \
			"$SN_BIN" >"$SN_RUN"
		chmod 755 "$SN_RUN"
	fi
}

# sn_rootfs DIR [BIN...]: the files of a container image in DIR, to tar
# and import: busybox as /bin/busybox with its applets as symlinks, and
# each BIN at its own path; each with the libraries it links (Debian's
# busybox is dynamically linked), so no registry is needed
sn_rootfs() {
	local dir=$1 busybox bin lib applet
	shift
	busybox=$(command -v busybox) || fail "busybox is not installed"
	mkdir -p "$dir/bin" "$dir/tmp"
	cp "$busybox" "$dir/bin/busybox"
	for bin in "$busybox" "$@"; do
		[ "$bin" = "$busybox" ] || install -D "$bin" "$dir$bin"
		for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*' || true); do
			[ -e "$dir$lib" ] || { mkdir -p "$dir$(dirname "$lib")" && cp -L "$lib" "$dir$lib"; }
		done
	done
	for applet in $("$busybox" --list); do
		[ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
	done
}

# sn_port_free PORT: fail unless nothing listens on TCP PORT on the host
sn_port_free() {
	if ss -Htln "sport = :$1" | grep -q .; then
		fail "TCP port $1 is already in use on this host: $(ss -Htlnp "sport = :$1")"
	fi
}

# sn_echo_server PORT LOG [ADDR]: a TCP echo server on the host's
# ADDR:PORT (127.0.0.1 unless given; socat, one child per connection, each
# connection logged to LOG); waits until it listens and sets ECHO_PID
sn_echo_server() {
	local addr=${3:-127.0.0.1}
	sn_port_free "$1"
	socat -d -d -t 30 "TCP-LISTEN:$1,bind=$addr,reuseaddr,fork" EXEC:cat 2>"$2" &
	ECHO_PID=$!
	SN_PIDS+=("$ECHO_PID")
	wait_for bash -c "ss -Htln 'sport = :$1' | grep -q ." ||
		fail "echo server on $addr:$1 did not start: $(cat "$2")"
}

# sn_sha256: the SHA-256 of stdin, in hex (sha256sum's first field).
# Python's hashlib is OpenSSL's code, which uses the CPU's SHA instructions:
# a sixth of coreutils' time here (256 MiB: 0.25 s against 1.5 s), and a
# pass of the tests hashes over a GiB.
sn_sha256() {
	python3 -c 'import hashlib, sys
h = hashlib.sha256()
while b := sys.stdin.buffer.read(1 << 20):
    h.update(b)
print(h.hexdigest())'
}

# sn_echo_check HOW FILE CMD...: send FILE through CMD (a TCP client reading
# stdin and writing what comes back to stdout, e.g. socat to an echo
# server) and fail unless exactly FILE comes back; HOW names the path
sn_echo_check() {
	local how=$1 file=$2 want got
	shift 2
	want=$(sn_sha256 <"$file")
	got=$(timeout 60 "$@" <"$file" | sn_sha256) ||
		fail "$how: the transfer failed"
	[ "$got" = "$want" ] || fail "$how: sha256 of what came back is $got, not $want"
	ok "$how: $(($(stat -c %s "$file") / 1024)) KiB echoed back byte-exact (sha256 $want)"
}
