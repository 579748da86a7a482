#!/bin/bash
# test_lifecycle.sh - start-up and shut-down: --ready-fd, --exit-fd, signals,
# the target's end, --version/--help, podman's and rootlesskit's command lines.
. "$(dirname "$0")/lib.sh"
sn_sandbox "$@"

SN_LOG="$SN_WORK/slirpnetd.log"

# now_ms: a monotonic-enough clock in milliseconds
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# exit_fifo: make a fifo whose only writer is the test (fd EXITW, opened
# read-write so that the open does not block); sets EXIT_FIFO
exit_fifo() {
	EXIT_FIFO="$SN_WORK/exit.$RANDOM"
	mkfifo "$EXIT_FIFO"
	exec {EXITW}<>"$EXIT_FIFO"
}

# ready_fifo: make a fifo for --ready-fd whose writer is only the daemon;
# sets READY_FIFO
ready_fifo() {
	READY_FIFO="$SN_WORK/ready.$RANDOM"
	mkfifo "$READY_FIFO"
}

# read_ready: read READY_FIFO until EOF (bounded: no EOF within 60 s fails);
# sets READY to what was read, each byte shown by od -c
read_ready() {
	local rc=0
	timeout 60 cat "$READY_FIFO" >"$READY_FIFO.out" || rc=$?
	[ "$rc" = 0 ] || fail "the ready fd did not reach EOF (timeout/cat status $rc)"
	READY=$(od -An -c "$READY_FIFO.out" | tr -d ' \n')
}

# api_answers: does the API socket at $SN_API answer list_hostfwd (in 30 s)?
api_answers() {
	printf '%s' '{"execute": "list_hostfwd"}' | timeout 30 socat -t 30 - "UNIX-CONNECT:$SN_API" |
		grep -q '"entries"'
}

# --- ready fd: exactly "1", then EOF; the interface exists by then
sn_container
ready_fifo
"$SLIRPNETD" -r 3 "$CPID" 3>"$READY_FIFO" >"$SN_LOG" 2>&1 &
SN_PID=$!
SN_PIDS+=("$SN_PID")
read_ready
[ "$READY" = 1 ] || fail "ready fd gave \"$READY\", not exactly \"1\" then EOF"
ok "ready fd: exactly \"1\", then closed (EOF)"
kill -0 "$SN_PID" 2>/dev/null || fail "slirpnetd died after signalling ready"
nsx ip link show tap0 >/dev/null 2>&1 || fail "tap0 missing once ready"
ok "tap0 exists once ready"
kill -TERM "$SN_PID"
sn_wait_exit "$SN_PID"
[ "$SN_RC" = 0 ] || fail "SIGTERM exit status $SN_RC, not 0"

# --- a failed start: the ready fd is closed with nothing written, exit 1
sn_container
ready_fifo
"$SLIRPNETD" -r 3 "$CPID" lo 3>"$READY_FIFO" >"$SN_LOG" 2>&1 &
SN_PID=$!
SN_PIDS+=("$SN_PID")
read_ready
[ -z "$READY" ] || fail "a failed start wrote \"$READY\" to the ready fd"
sn_wait_exit "$SN_PID"
[ "$SN_RC" = 1 ] || fail "a failed start (tap name lo): exit status $SN_RC, not 1"
ok "failed start: ready fd closed with nothing written, exit 1"

# --- exit fd (a fifo): closing the test's write end stops the daemon
sn_container
exit_fifo
ready_fifo
SN_API="$SN_WORK/exitfd.sock"
"$SLIRPNETD" -e 3 -r 4 -a "$SN_API" "$CPID" 3<"$EXIT_FIFO" 4>"$READY_FIFO" \
	{EXITW}>&- >"$SN_LOG" 2>&1 &
SN_PID=$!
SN_PIDS+=("$SN_PID")
read_ready
[ "$READY" = 1 ] || fail "not ready with -e 3 -r 4"
[ -S "$SN_API" ] || fail "no API socket at $SN_API"
api_answers || fail "the API does not answer list_hostfwd"
echo "data is not EOF" >&"$EXITW"
sleep 0.5
kill -0 "$SN_PID" 2>/dev/null || fail "slirpnetd exited while the exit fd was open"
api_answers || fail "the API stopped answering after data on the exit fd"
ok "-e: keeps running while the exit fd's write end is open, even with data"
t0=$(now_ms)
exec {EXITW}>&-
sn_wait_exit "$SN_PID"
t1=$(now_ms)
[ "$SN_RC" = 0 ] || fail "exit status $SN_RC after closing the exit fd, not 0"
[ ! -e "$SN_API" ] || fail "API socket $SN_API left behind after the exit fd closed"
grep -q 'the exit fd was closed' "$SN_LOG" || fail "log does not say the exit fd was closed"
ok "-e: exit 0 $((t1 - t0)) ms after the exit fd closed; API socket removed"

# --- exit fd from a process substitution: EOF when it ends, which is when
# the test says (a line on a fifo), once the daemon is up
sn_container
GATE="$SN_WORK/gate"
mkfifo "$GATE"
exec {GATEW}<>"$GATE"
"$SLIRPNETD" -e 3 "$CPID" 3< <(read -r _ <"$GATE") >"$SN_LOG" 2>&1 &
SN_PID=$!
SN_PIDS+=("$SN_PID")
wait_for nsx ip link show tap0 || fail "tap0 never appeared with -e 3 3< <(...)"
sn_running "$SN_PID" || fail "exited while the process substitution still ran"
t0=$(now_ms)
echo end >&"$GATEW"
sn_wait_exit "$SN_PID"
t1=$(now_ms)
exec {GATEW}>&-
[ "$SN_RC" = 0 ] || fail "exit status $SN_RC with -e 3 3< <(...), not 0"
grep -q 'the exit fd was closed' "$SN_LOG" || fail "log does not say the exit fd was closed"
ok "-e 3 3< <(...): running until the substitution ended, then exit 0 after $((t1 - t0)) ms"

# --- SIGTERM and SIGINT: exit 0, API socket removed
for sig in TERM INT; do
	sn_container
	SN_API="$SN_WORK/api-$sig.sock"
	sn_start -a "$SN_API" "$CPID"
	[ -S "$SN_API" ] || fail "no API socket at $SN_API once ready"
	api_answers || fail "the API does not answer list_hostfwd"
	kill -"$sig" "$SN_PID"
	sn_wait_exit "$SN_PID"
	[ "$SN_RC" = 0 ] || fail "SIG$sig exit status $SN_RC, not 0"
	[ ! -e "$SN_API" ] || fail "API socket left behind after SIG$sig"
	grep -q 'received a termination signal' "$SN_LOG" || fail "log does not mention SIG$sig"
	if nsx ip link show tap0 >/dev/null 2>&1; then fail "tap0 still exists after SIG$sig"; fi
	ok "SIG$sig: exit 0, API socket removed, tap0 gone"
done

# --- the target process dies: the daemon follows, exit 0
sn_container
SN_API="$SN_WORK/dying.sock"
sn_start -a "$SN_API" "$CPID"
[ -S "$SN_API" ] || fail "no API socket at $SN_API once ready"
kill -9 "$CPID"
sn_wait_exit "$SN_PID"
[ "$SN_RC" = 0 ] || fail "exit status $SN_RC after the target died, not 0"
[ ! -e "$SN_API" ] || fail "API socket left behind after the target died"
grep -q "target process $CPID exited" "$SN_LOG" || fail "log does not say the target process exited"
ok "target killed: exit 0, API socket removed, logged"

# --- the tap device is deleted under the daemon: it stops, exit 0
sn_container
SN_API="$SN_WORK/tapdel.sock"
sn_start -a "$SN_API" "$CPID"
nsx ip link del tap0
sn_wait_exit "$SN_PID"
[ "$SN_RC" = 0 ] || fail "exit status $SN_RC after tap0 was deleted, not 0"
[ ! -e "$SN_API" ] || fail "API socket left behind after tap0 was deleted"
grep -q 'the tap device went away' "$SN_LOG" || fail "log does not say the tap device went away"
ok "tap0 deleted: exit 0, API socket removed"

# --- --version and --help
out=$("$SLIRPNETD" --version) || fail "--version exit status $?, not 0"
for prefix in 'slirpnetd version ' 'commit: ' 'libslirp: ' 'SLIRP_CONFIG_VERSION_MAX: '; do
	grep -q "^$prefix" <<<"$out" || fail "--version lacks a line starting \"$prefix\": $out"
done
grep -Eq '^SLIRP_CONFIG_VERSION_MAX: [0-9]+$' <<<"$out" || fail "SLIRP_CONFIG_VERSION_MAX is not a number: $out"
ok "--version: slirp4netns's layout"
out=$("$SLIRPNETD" --help) || fail "--help exit status $?, not 0"
# podman and rootlesskit pass --enable-sandbox/--enable-seccomp exactly
# when --help lists them
for flag in --netns-type --enable-ipv6 --disable-host-loopback --mtu --api-socket \
	--userns-path --cidr --outbound-addr --exit-fd --ready-fd --configure \
	--enable-sandbox --enable-seccomp; do
	grep -q -- "$flag" <<<"$out" || fail "--help does not list $flag"
done
out=$("$SLIRPNETD" -h) || fail "-h exit status $?, not 0"
grep -q -- --api-socket <<<"$out" || fail "-h does not print the help"
ok "--help: lists the flags, --enable-sandbox and --enable-seccomp too"

# --- podman's command line (path mode, -c, IPv6, exit and ready fds)
sn_container
exit_fifo
ready_fifo
SN_API="$SN_WORK/podman.sock"
"$SLIRPNETD" --disable-host-loopback --mtu=65520 --enable-ipv6 -c -e 3 -r 4 \
	--api-socket "$SN_API" --netns-type=path "/proc/$CPID/ns/net" tap0 \
	3<"$EXIT_FIFO" 4>"$READY_FIFO" {EXITW}>&- >"$SN_LOG" 2>&1 &
SN_PID=$!
SN_PIDS+=("$SN_PID")
read_ready
[ "$READY" = 1 ] || fail "podman's command line did not get ready"
nsx ip -o link show tap0 | grep -q 'mtu 65520' || fail "tap0 MTU is not 65520: $(nsx ip link show tap0)"
nsx ip -4 addr show tap0 | grep -q 'inet 10.0.2.100/24' || fail "tap0 not configured: $(nsx ip addr show tap0)"
api_answers || fail "the API does not answer list_hostfwd"
ok "podman's command line: ready, tap0 10.0.2.100/24 with MTU 65520"
exec {EXITW}>&-
sn_wait_exit "$SN_PID"
[ "$SN_RC" = 0 ] || fail "podman's command line: exit status $SN_RC, not 0"
[ ! -e "$SN_API" ] || fail "podman's command line: API socket left behind"
ok "podman's command line: exit 0 when fd 3 closes, socket removed"

# --- rootlesskit's command line (no -c; --userns-path is our own userns)
sn_container
ready_fifo
"$SLIRPNETD" --mtu 65520 -r 3 --disable-host-loopback --netns-type=pid \
	--userns-path="/proc/$CPID/ns/user" "$CPID" tap0 \
	3>"$READY_FIFO" >"$SN_LOG" 2>&1 &
SN_PID=$!
SN_PIDS+=("$SN_PID")
read_ready
[ "$READY" = 1 ] || fail "rootlesskit's command line did not get ready"
nsx ip link show tap0 >/dev/null 2>&1 || fail "tap0 missing with rootlesskit's command line"
nsx ip -4 addr show tap0 | grep -q inet && fail "tap0 configured without -c"
ok "rootlesskit's command line (--userns-path = own userns): ready, tap0 exists"
kill -TERM "$SN_PID"
sn_wait_exit "$SN_PID"
[ "$SN_RC" = 0 ] || fail "rootlesskit's command line: exit status $SN_RC, not 0"

# --- --userns-path naming a real child user namespace (as rootlesskit's is)
unshare --user --map-root-user --net --fork sleep 3600 &
UPID=$!
SN_PIDS+=("$UPID")
CPID=
for _ in $(seq 100); do
	CPID=$(pgrep -P "$UPID" -x sleep || true)
	[ -n "$CPID" ] && break
	sleep 0.05
done
[ -n "$CPID" ] || fail "child-userns container did not start"
SN_PIDS+=("$CPID")
[ "$(readlink "/proc/$CPID/ns/user")" != "$(readlink /proc/self/ns/user)" ] ||
	fail "the container is not in its own user namespace"
sn_start -c --mtu 65520 --userns-path="/proc/$CPID/ns/user" "$CPID" tap0
nsx ip -o link show tap0 | grep -q 'mtu 65520' || fail "tap0 in the child userns: $(nsx ip link show tap0)"
nsx ping -c 1 -W 5 10.0.2.2 >/dev/null || fail "cannot ping 10.0.2.2 through the child-userns tap0"
ok "--userns-path naming a child user namespace: ready, tap0 works"
kill -TERM "$SN_PID"
sn_wait_exit "$SN_PID"
[ "$SN_RC" = 0 ] || fail "child userns: exit status $SN_RC, not 0"
sn_done
