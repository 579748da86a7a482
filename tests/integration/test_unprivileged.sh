#!/bin/bash
# test_unprivileged.sh - the rootless case for real: slirpnetd runs as an
# unprivileged user and joins that user's container (its own user namespace).
. "$(dirname "$0")/lib.sh"
# No sn_sandbox: the daemon must run as a real unprivileged user, not as root
# in a user namespace. Everything it touches stays on loopback or in the
# namespaces made here.
[ "$(id -u)" = 0 ] || { echo "SKIP: $TESTNAME needs root (to become sntest)"; exit 77; }
sn_setup_host_tools
SN_WORK=$(mktemp -d /tmp/sntest.XXXXXX)
chmod 755 "$SN_WORK"
trap sn_cleanup EXIT
sn_python_first
sn_user_lock
SN_LOG="$SN_WORK/slirpnetd.log"
U="$SN_WORK/u"
mkdir "$U"
chown sntest:sntest "$U"
SNUID=$(id -u sntest)

# the binary must be reachable by sntest (a copy if the tree is private)
sn_user_binary
BIN=$SN_RUN

# child_of PID NAME: the PID of PID's child running NAME (waits up to 30 s)
child_of() {
	local c
	for _ in $(seq 600); do
		c=$(pgrep -P "$1" -x "$2" || true)
		[ -n "$c" ] && { echo "$c"; return 0; }
		sleep 0.05
	done
	return 1
}

# the container: sntest's own user namespace (root mapped to sntest) + netns
runuser -u sntest -- unshare --user --map-root-user --net --fork \
	sh -c 'echo $$ >"$1.tmp" && mv "$1.tmp" "$1" && exec sleep 600' sh "$U/cpid" &
SN_PIDS+=($!)
wait_for test -s "$U/cpid" || fail "container did not start"
CPID=$(cat "$U/cpid")
SN_PIDS+=("$CPID")
[ "$(stat -c %u "/proc/$CPID")" = "$SNUID" ] || fail "container does not run as sntest"
[ "$(readlink "/proc/$CPID/ns/user")" != "$(readlink /proc/self/ns/user)" ] ||
	fail "container is not in a user namespace of its own"
nsc() { nsenter --target "$CPID" --net -- "$@"; }

# start_as_sntest ARGS...: slirpnetd as sntest (under runuser, which stays
# as its parent) with a ready fd; waits for "1". The fd is a fifo whose
# only writers are runuser and the daemon, so the wait also ends, at EOF,
# if they exit first; 60 s bounds a hang (a sanitizer build on a loaded
# machine takes seconds to start). Sets RUNUSER_PID and DPID (the daemon).
start_as_sntest() {
	local fifo="$SN_WORK/ready.$RANDOM" r="" R
	mkfifo "$fifo"
	runuser -u sntest -- "$BIN" -r 3 "$@" 3>"$fifo" >"$SN_LOG" 2>&1 &
	RUNUSER_PID=$!
	SN_PIDS+=("$RUNUSER_PID")
	exec {R}<"$fifo"
	rm -f "$fifo"
	read -r -t 60 -N 1 r <&"$R" || true
	exec {R}<&-
	[ "$r" = 1 ] || fail "slirpnetd as sntest did not signal ready (args: $*): $(sn_running "$RUNUSER_PID" &&
		echo "no \"1\" on the ready fd within 60 s" || echo "it exited first")"
	DPID=$(child_of "$RUNUSER_PID" slirpnetd) || fail "cannot find the daemon's PID"
	SN_PIDS+=("$DPID")
}

# stop_daemon: SIGTERM; the daemon (and so runuser) must exit 0
stop_daemon() {
	kill -TERM "$DPID"
	sn_wait_exit "$RUNUSER_PID" 60
	[ "$SN_RC" = 0 ] || fail "SIGTERM exit status $SN_RC, not 0"
	if kill -0 "$DPID" 2>/dev/null; then fail "daemon $DPID still running"; fi
}

# the daemon, as sntest: it must join the container's user namespace itself
SN_API="$U/api.sock"
start_as_sntest -c -a "$SN_API" "$CPID"
ok "ready as sntest"

[ "$(ps -o uid= -p "$DPID" | tr -d ' ')" = "$SNUID" ] || fail "daemon euid is not sntest's $SNUID"
[ "$(ps -o ruid= -p "$DPID" | tr -d ' ')" = "$SNUID" ] || fail "daemon ruid is not sntest's $SNUID"
grep -q '^CapEff:[[:space:]]*0*$' "/proc/$DPID/status" || fail "daemon has capabilities: $(grep Cap "/proc/$DPID/status")"
[ "$(readlink "/proc/$DPID/ns/net")" = "$(readlink /proc/self/ns/net)" ] ||
	fail "the daemon itself is not in the host network namespace"
ok "daemon runs as uid $SNUID with no capabilities, in the host netns"

nsc ip -4 addr show tap0 | grep -q 'inet 10.0.2.100/24' || fail "tap0 not configured: $(nsc ip addr)"
nsc ip -4 route show default | grep -q 'default via 10.0.2.2 dev tap0' || fail "no default route: $(nsc ip route)"
ok "tap0 10.0.2.100/24, default via 10.0.2.2"

nsc ping -c 1 -W 30 10.0.2.2 >/dev/null || fail "cannot ping 10.0.2.2 from the container"
ok "ping 10.0.2.2"

# TCP to the host's 127.0.0.1 through 10.0.2.2: a one-shot echo server on a
# free port (bound to port 0, so no race for the number)
timeout 90 python3 -c '
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
__import__("os").rename(sys.argv[1] + ".tmp", sys.argv[1])
s.settimeout(85)
c, _ = s.accept()
c.settimeout(10)
data = b""
while not data.endswith(b"\n"):
    d = c.recv(100)
    if not d:
        break
    data += d
c.sendall(b"echo:" + data)
c.close()
' "$SN_WORK/port" &
SN_PIDS+=($!)
wait_for test -s "$SN_WORK/port" || fail "echo server did not start"
PORT=$(cat "$SN_WORK/port")
reply=$(nsc timeout 30 bash -c 'exec 3<>"/dev/tcp/10.0.2.2/$1" && echo "hello $1" >&3 &&
	read -r l <&3 && echo "$l"' sh "$PORT") || fail "TCP to 10.0.2.2:$PORT failed"
[ "$reply" = "echo:hello $PORT" ] || fail "TCP reply \"$reply\", not \"echo:hello $PORT\""
ok "TCP round trip to the host's 127.0.0.1:$PORT via 10.0.2.2"

[ -S "$SN_API" ] || fail "no API socket at $SN_API"
[ "$(stat -c '%a %U' "$SN_API")" = "600 sntest" ] || fail "API socket is $(stat -c '%a %U' "$SN_API"), not 600 sntest"
reply=$(runuser -u sntest -- timeout 30 ncat -U "$SN_API" <<<'{"execute": "list_hostfwd"}') || fail "sntest cannot use the API"
grep -q '"entries"' <<<"$reply" || fail "API reply to sntest: $reply"
chmod 755 "$U" # traversable: only the socket's mode keeps others out
rc=0
runuser -u nobody -- timeout 30 ncat -U "$SN_API" <<<'{"execute": "list_hostfwd"}' >"$SN_WORK/out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "another user (nobody) can use the API socket: $(cat "$SN_WORK/out")"
grep -q 'Permission denied' "$SN_WORK/out" || fail "nobody: not refused by permissions: $(cat "$SN_WORK/out")"
ok "API socket: mode 0600, owned by sntest, usable by sntest only"

# root is served (slirp4netns answers root; an administrator types "sudo
# slirpnetd-ctl list"), raw and through slirpnetd-ctl. Under
# --enable-sandbox an unprivileged daemon lives in a user namespace of its
# own that maps only its uid: root, unmapped there, is the overflow uid like
# any other user, and is refused with the reason (slirpnetd(1)).
reply=$(timeout 30 ncat -U "$SN_API" <<<'{"execute": "list_hostfwd"}') || fail "root cannot use the API"
if [ -n "${SN_HARDENED:-}" ]; then
	OVERFLOW=$(cat /proc/sys/kernel/overflowuid)
	[ "$reply" = "{\"error\":{\"desc\":\"bad request: permission denied: uid $OVERFLOW may not use this socket; slirpnetd serves only its own user (uid $SNUID) and root\"}}" ] ||
		fail "API reply to root, sandboxed daemon: $reply"
	ok "root, unmapped in the sandboxed daemon's user namespace, is refused with the reason: $reply"
else
	[ "$reply" = '{"entries":[]}' ] || fail "API reply to root: $reply"
	if [ -n "${SLIRPNETD_CTL:-}" ]; then
		out=$(timeout 30 "$SLIRPNETD_CTL" -a "$SN_API" --json list 2>&1) || fail "slirpnetd-ctl list as root: $out"
		[ "$out" = '{"entries":[]}' ] || fail "slirpnetd-ctl list as root printed: $out"
	fi
	# a third uid that gets past the file mode (made 0666 for the moment) is
	# refused by the daemon itself, which says why
	chmod 666 "$SN_API"
	NOBODY=$(id -u nobody)
	reply=$(runuser -u nobody -- timeout 30 ncat -U "$SN_API" <<<'{"execute": "list_hostfwd"}' 2>&1) || true
	chmod 600 "$SN_API"
	want="{\"error\":{\"desc\":\"bad request: permission denied: uid $NOBODY may not use this socket; slirpnetd serves only its own user (uid $SNUID) and root\"}}"
	[ "$reply" = "$want" ] || fail "uid $NOBODY past the file mode: got \"$reply\", not \"$want\""
	grep -qF "refusing a connection from uid $NOBODY" "$SN_LOG" || fail "the refusal is not logged: $(tail -5 "$SN_LOG")"
	ok "root is served (list_hostfwd, slirpnetd-ctl list); uid $NOBODY, let past the file mode, is refused: $reply"
fi

# a privileged host port: the reply says why and what to do, in words
start=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)
if [ "$start" -gt 80 ]; then
	reply=$(runuser -u sntest -- timeout 30 ncat -U "$SN_API" <<<'{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":80,"guest_port":80}}')
	for want in "slirp_add_hostfwd failed" "port 80 is privileged" \
		"net.ipv4.ip_unprivileged_port_start is $start" "a port >= $start" \
		"sysctl -w net.ipv4.ip_unprivileged_port_start=80"; do
		grep -qF "$want" <<<"$reply" || fail "privileged port: \"$want\" missing in $reply"
	done
	reply=$(runuser -u sntest -- timeout 30 ncat -U "$SN_API" <<<'{"execute":"add_hostfwd","arguments":{"proto":"udp","host_addr":"127.0.0.1","host_port":53,"guest_port":53,"mode":"slirp"}}')
	grep -qF "port 53 is privileged" <<<"$reply" || fail "privileged port, mode slirp: $reply"
	ok "privileged port 80 as sntest: $reply"
else
	echo "note: net.ipv4.ip_unprivileged_port_start is $start; port 80 is not privileged here"
fi

# a forward added while the daemon runs: the namespace helper it starts
# (kept from start-up in the hardened pass) joins the container's user and
# network namespaces as sntest
FPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
nsc timeout 30 socat TCP-LISTEN:8080,reuseaddr EXEC:cat &
SN_PIDS+=($!)
wait_for bash -c "nsenter --target $CPID --net ss -Htln | grep -q ':8080 '" || fail "no echo server in the container"
reply=$(runuser -u sntest -- timeout 10 ncat -U "$SN_API" <<<"{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\",\"host_port\":$FPORT,\"guest_port\":8080}}")
[[ $reply == '{"return":{"id":'* ]] || fail "add_hostfwd as sntest: $reply"
HPID=$(child_of "$DPID" slirpnetd-ns) || fail "no namespace helper once a forward was added"
[ "$(readlink "/proc/$HPID/ns/user")" = "$(readlink "/proc/$CPID/ns/user")" ] &&
	[ "$(readlink "/proc/$HPID/ns/net")" = "$(readlink "/proc/$CPID/ns/net")" ] ||
	fail "the helper is not in the container's namespaces"
got=$(echo "through the forward" | timeout 10 socat -t 5 - "TCP:127.0.0.1:$FPORT") || true
[ "$got" = "through the forward" ] || fail "forward 127.0.0.1:$FPORT as sntest: \"$got\""
ok "as sntest, a forward added while running: the helper joined the container's namespaces, the echo came back"

stop_daemon
[ ! -e "$SN_API" ] || fail "API socket left behind"
if nsc ip link show tap0 >/dev/null 2>&1; then fail "tap0 still exists after the daemon left"; fi
ok "SIGTERM: exit 0, API socket removed, tap0 gone"

# path mode names no process, so the user namespace must be given
start_as_sntest -c --netns-type=path --userns-path="/proc/$CPID/ns/user" \
	"/proc/$CPID/ns/net" tap1
nsc ip -4 addr show tap1 | grep -q 'inet 10.0.2.100/24' || fail "tap1 not configured: $(nsc ip addr)"
nsc ping -c 1 -W 30 10.0.2.2 >/dev/null || fail "cannot ping 10.0.2.2 via tap1"
ok "as sntest, --netns-type=path with --userns-path: ready, tap1 works"
stop_daemon

# --- --enable-sandbox --enable-seccomp as sntest: without CAP_SYS_ADMIN the
# daemon builds its sandbox in a user namespace of its own, mapping only
# sntest, and keeps no capability there
start_as_sntest -c -a "$SN_API" --enable-sandbox --enable-seccomp "$CPID"
st="/proc/$DPID/status"
kill -0 "$DPID" 2>/dev/null || fail "the sandboxed daemon exited after it was ready"
grep -q '^Seccomp:[[:space:]]*2$' "$st" || fail "sandboxed daemon: no seccomp filter: $(grep Seccomp "$st")"
grep -q '^NoNewPrivs:[[:space:]]*1$' "$st" || fail "sandboxed daemon: no_new_privs not set"
grep -q '^CapEff:[[:space:]]*0*$' "$st" && grep -q '^CapBnd:[[:space:]]*0*$' "$st" ||
	fail "sandboxed daemon keeps capabilities: $(grep Cap "$st")"
DUSERNS=$(readlink "/proc/$DPID/ns/user" || true)
[ "$DUSERNS" != "$(readlink /proc/self/ns/user)" ] && [ "$DUSERNS" != "$(readlink "/proc/$CPID/ns/user")" ] ||
	fail "sandboxed daemon is not in a user namespace of its own: $DUSERNS"
[ "$(awk '{ print $1, $2, $3 }' "/proc/$DPID/uid_map")" = "$SNUID $SNUID 1" ] ||
	fail "its user namespace maps $(cat "/proc/$DPID/uid_map"), not only sntest"
[ "$(readlink "/proc/$DPID/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] || fail "no mount namespace of its own"
view=$(cd "/proc/$DPID/root" && ls -A | tr '\n' ' ') || true
[ "$view" = "etc proc run tmp " ] || fail "the sandbox's / holds: $view"
[ -S "/proc/$DPID/root$SN_API" ] && [ ! -e "/proc/$DPID/root$SN_WORK/slirpnetd.log" ] ||
	fail "the sandbox shows more of $SN_WORK than the API socket's directory"
nsc ping -c 1 -W 30 10.0.2.2 >/dev/null || fail "sandboxed: cannot ping 10.0.2.2"
reply=$(runuser -u sntest -- timeout 30 ncat -U "$SN_API" <<<'{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":80,"guest_port":80}}')
if [ "$start" -gt 80 ]; then
	grep -qF "net.ipv4.ip_unprivileged_port_start is $start" <<<"$reply" ||
		fail "sandboxed: the privileged-port reply lacks the sysctl's value: $reply"
fi
ok "as sntest with --enable-sandbox --enable-seccomp: own user namespace mapping uid $SNUID only, / holds $view, no capabilities, seccomp on; ping and the API work"
stop_daemon
[ ! -e "$SN_API" ] || fail "sandboxed: API socket left behind"
ok "sandboxed, SIGTERM: exit 0, API socket removed"

# --- failures as sntest
# reason FILE: the daemon's error in FILE (past the libslirp version warning)
reason() { grep -v -m1 '^libslirp ' "$1" || true; }

# root's namespaces (PID 1): refused with a message saying what to do
rc=0
timeout -k 2 60 runuser -u sntest -- "$BIN" -a "$U/fail.sock" 1 >"$SN_WORK/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "PID 1 as sntest: exit status $rc, not 1: $(cat "$SN_WORK/out")"
grep -q '^/proc/1/ns/net: Permission denied (cannot open the network namespace' "$SN_WORK/out" &&
	grep -qF 'run slirpnetd as the user who started the container, or as root' "$SN_WORK/out" ||
	fail "PID 1 as sntest: no namespace message with its remedy: $(cat "$SN_WORK/out")"
[ ! -e "$U/fail.sock" ] || fail "PID 1 as sntest: API socket left behind"
ok "PID 1 as sntest: exit 1, \"$(reason "$SN_WORK/out")\""

# an API socket where sntest may not write: refused, naming the path
rc=0
timeout -k 2 60 runuser -u sntest -- "$BIN" -a "$SN_WORK/root-owned.sock" "$CPID" \
	>"$SN_WORK/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "API socket in a root-owned directory: exit status $rc, not 1: $(cat "$SN_WORK/out")"
grep -qF "$SN_WORK/root-owned.sock: Permission denied" "$SN_WORK/out" ||
	fail "API socket in a root-owned directory: $(cat "$SN_WORK/out")"
[ ! -e "$SN_WORK/root-owned.sock" ] || fail "a socket appeared in the root-owned directory"
if nsc ip link show tap0 >/dev/null 2>&1; then fail "tap0 left behind after the API failed"; fi
ok "as sntest, API socket in a root-owned directory: exit 1, \"$(grep -F -m1 root-owned.sock "$SN_WORK/out")\""

# path mode without --userns-path: EPERM, with a hint
rc=0
timeout -k 2 60 runuser -u sntest -- "$BIN" -a "$U/fail.sock" --netns-type=path \
	"/proc/$CPID/ns/net" >"$SN_WORK/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "path mode without --userns-path: exit status $rc, not 1: $(cat "$SN_WORK/out")"
grep -q '^setns(CLONE_NEWNET): Operation not permitted (cannot join network namespace' "$SN_WORK/out" &&
	grep -qF -- '--userns-path' "$SN_WORK/out" ||
	fail "path mode without --userns-path: $(cat "$SN_WORK/out")"
[ ! -e "$U/fail.sock" ] || fail "path mode without --userns-path: API socket left behind"
ok "as sntest, path mode without --userns-path: exit 1, \"$(reason "$SN_WORK/out")\""

# /dev/net/tun 0600 (root's): in a private mount namespace, a copy of the
# node with that mode over /dev/net/tun; the real node stays 0666. Then the
# same copy made 0666 works, so the failure was the mode.
mkdir "$SN_WORK/tunmnt"
rc=0
timeout -k 2 120 unshare --mount -- bash -c '
	set -e
	mnt=$1 out=$2 out2=$3 bin=$4
	shift 4
	mount -t tmpfs -o mode=755 none "$mnt"
	mknod "$mnt/tun" c 10 200
	chmod 600 "$mnt/tun"
	mount --bind "$mnt/tun" /dev/net/tun
	rc=0
	runuser -u sntest -- "$bin" "$@" >"$out" 2>&1 || rc=$?
	[ "$rc" = 1 ] || { echo "0600: exit status $rc, not 1"; exit 2; }
	chmod 666 /dev/net/tun
	runuser -u sntest -- "$bin" -e 3 "$@" 3</dev/null >"$out2" 2>&1 ||
		{ echo "0666: exit status $?, not 0"; exit 3; }
' sh "$SN_WORK/tunmnt" "$SN_WORK/out" "$SN_WORK/out2" "$BIN" -a "$U/fail.sock" "$CPID" \
	>"$SN_WORK/outer" 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "/dev/net/tun 0600: $(cat "$SN_WORK/outer" "$SN_WORK/out" "$SN_WORK/out2" 2>/dev/null)"
grep -q '^open("/dev/net/tun"): Permission denied (cannot open /dev/net/tun' "$SN_WORK/out" || fail "/dev/net/tun 0600: $(cat "$SN_WORK/out")"
grep -qF 'chmod 0666' "$SN_WORK/out" || fail "/dev/net/tun 0600: no chmod hint: $(cat "$SN_WORK/out")"
[ ! -e "$U/fail.sock" ] || fail "/dev/net/tun 0600: API socket left behind"
[ "$(stat -c %a /dev/net/tun)" = 666 ] || fail "the real /dev/net/tun changed mode"
ok "/dev/net/tun 0600 as sntest: exit 1, \"$(reason "$SN_WORK/out")\"; 0666 works"
sn_done
