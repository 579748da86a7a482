#!/bin/bash
# test_tcp.sh - the guest's own TCP to the host through the TCP flow engine (the default
# --tcp-path=kernel): bulk transfers both ways over IPv4 and IPv6, at MTU 1500 and 65520, with and
# without offloads, byte-exact; half-close each way; RST each way; a refused port; the gateway
# under --disable-host-loopback as with libslirp; --outbound-addr; 2000 connections at once; a
# guest, then a host, that stops reading and resumes; a SYN flood from the guest that leaves the
# rest working; retransmission with frames dropped, and frames from the guest reordered (the
# SN_TEST_KNOBS build); the guest's keep-alive probes answered; a SYN from a port the guest holds
# in TIME_WAIT.
. "$(dirname "$0")/lib.sh"
sn_sandbox "$@"
: "${FWDTOOL:?FWDTOOL must name the fwdtool test peer}"
: "${SLIRPNETD_KNOBS:?SLIRPNETD_KNOBS must name the daemon built with SN_TEST_KNOBS}"
PEER="$(dirname "$(realpath "$0")")/tcppeer.py"
# the interpreter itself, once: python3 may be a version manager's shim, slow to start each time
PY=$(python3 -c 'import sys; print(sys.executable)')
# This test is the flow engine's: the daemon's default TCP path, whatever the setup asks of the
# other tests; libslirp's path only where compared with it by name.
unset SN_TCP_PATH
ulimit -n "$(ulimit -Hn)"

# listening PORT: a TCP socket listens on PORT (in this, the host's, namespace)
listening() { ss -Hltn "sport = :$1" | grep -q .; }
# global6: tap0 has a usable (DAD done) address in fd00::/64
global6() { nsx ip -6 addr show dev tap0 scope global -tentative | grep -q 'inet6 fd00::[0-9a-f:]*/64 '; }
# wait_long SECONDS CMD...: wait_for with another bound, in seconds however loaded the machine
wait_long() {
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.05
	done
}
# stop_daemon: end the running daemon, which must still be alive; keep its log (the hardened
# pass looks for calls seccomp blocked in every one)
stop_daemon() {
	sn_running "$SN_PID" || fail "the daemon died: $(wait "$SN_PID" || echo "exit status $?")"
	kill "$SN_PID"
	sn_wait_exit "$SN_PID" 10
	mv "$SN_LOG" "$SN_WORK/slirpnetd.$SN_PID.log"
}
# gone PID: PID has exited
gone() { ! sn_running "$1"; }
# sockets PORT: the state of the guest's and the host's sockets on PORT, for a failure message
sockets() {
	echo "guest: $(nsx ss -Htnoi "( sport = :$1 or dport = :$1 )" | tr -s '\n\t ' ' ')"
	echo "host: $(ss -Htnoi "( sport = :$1 or dport = :$1 )" | tr -s '\n\t ' ' ')"
}
# data MIB: a file of MIB random MiB, $SN_WORK/data.MIB, made once; sets DATA and SUM
data() {
	DATA=$SN_WORK/data.$1
	if [ ! -e "$DATA" ]; then
		head -c "${1}M" /dev/urandom >"$DATA"
		sn_sha256 <"$DATA" >"$DATA.sum"
	fi
	SUM=$(cat "$DATA.sum")
}

# upload HOW MIB LISTEN CONNECT PORT: MIB MiB from the guest to a listener on the host (socat
# address LISTEN, on PORT) through CONNECT, byte-exact
upload() {
	local how=$1 mib=$2 listen=$3 connect=$4 port=$5 l g got
	data "$mib"
	{ socat -u "$listen" - | sn_sha256 >"$SN_WORK/up.sum"; } &
	l=$!
	SN_PIDS+=("$l")
	wait_for listening "$port" || fail "$how: the upload's listener did not start"
	nsx timeout 90 socat -u "OPEN:$DATA" "$connect" &
	g=$!
	SN_PIDS+=("$g")
	wait_long 60 gone "$g" || fail "$how: the upload stalled: $(sockets "$port")"
	sn_wait_exit "$g" 1
	[ "$SN_RC" = 0 ] || fail "$how: the upload failed: exit status $SN_RC"
	sn_wait_exit "$l" 30
	got=$(cat "$SN_WORK/up.sum")
	[ "$got" = "$SUM" ] || fail "$how: the host got sha256 $got, not $SUM"
}
# download HOW MIB LISTEN CONNECT PORT: the same from the host to the guest
download() {
	local how=$1 mib=$2 listen=$3 connect=$4 port=$5 l g got
	data "$mib"
	socat -u "OPEN:$DATA" "$listen" &
	l=$!
	SN_PIDS+=("$l")
	wait_for listening "$port" || fail "$how: the download's listener did not start"
	{ nsx timeout 90 socat -u "$connect" - | sn_sha256 >"$SN_WORK/down.sum"; } &
	g=$!
	SN_PIDS+=("$g")
	wait_long 60 gone "$g" || fail "$how: the download stalled: $(sockets "$port")"
	sn_wait_exit "$g" 1
	[ "$SN_RC" = 0 ] || fail "$how: the download failed: exit status $SN_RC"
	got=$(cat "$SN_WORK/down.sum")
	sn_wait_exit "$l" 30
	[ "$SN_RC" = 0 ] || fail "$how: the download's sender exit status $SN_RC"
	[ "$got" = "$SUM" ] || fail "$how: the guest got sha256 $got, not $SUM"
}
# bulk HOW MIB LISTEN CONNECT PORT: upload, then download
bulk() {
	local t0=$EPOCHREALTIME
	upload "$@"
	download "$@"
	ok "$1: $2 MiB each way byte-exact ($(echo "$EPOCHREALTIME - $t0" | bc) s)"
}

# converse HOW PORT HOST_STEP... -- GUEST_STEP...: tcppeer.py listening on the host's
# 127.0.0.1:PORT, and connecting from the guest to 10.0.2.2:PORT, each running its steps; their
# outputs in $SN_WORK/host.out and $SN_WORK/guest.out
converse() {
	local how=$1 port=$2 l hs=()
	shift 2
	while [ "$1" != -- ]; do
		hs+=("$1")
		shift
	done
	shift
	timeout 90 "$PY" "$PEER" listen 127.0.0.1 "$port" "${hs[@]}" >"$SN_WORK/host.out" 2>&1 &
	l=$!
	SN_PIDS+=("$l")
	wait_for listening "$port" || fail "$how: the host's peer did not start"
	nsx timeout 90 "$PY" "$PEER" connect 10.0.2.2 "$port" "$@" >"$SN_WORK/guest.out" 2>&1 || true
	sn_wait_exit "$l" 60
}
# outputs: both ends' outputs, for a failure message
outputs() { echo "host: $(tr '\n' ';' <"$SN_WORK/host.out") guest: $(tr '\n' ';' <"$SN_WORK/guest.out")"; }
# same_bytes FROM TO: what end FROM (host or guest) sent, end TO read to its end of file
same_bytes() {
	local sent
	sent=$(grep '^sent ' "$SN_WORK/$1.out") || return 1
	grep -qx "eof ${sent#sent }" "$SN_WORK/$2.out"
}
# has END LINE: END's output has LINE
has() { grep -qx "$2" "$SN_WORK/$1.out"; }
# counter FILE TABLE NAME: the guest kernel's counter NAME in TABLE of /proc/net/FILE
counter() {
	nsx awk -v t="$2:" -v n="$3" '$1 == t {
		if (!h) { for (i = 2; i <= NF; i++) f[i] = $i; h = 1; next }
		for (i = 2; i <= NF; i++) if (f[i] == n) print $i }' "/proc/net/$1"
}
tcpext() { counter netstat TcpExt "$1"; }
# tx_dropped: frames the guest's tap0 dropped on their way to slirpnetd (its queue full)
tx_dropped() { nsx awk -F'[: ]+' '$2 == "tap0" { print $14 }' /proc/net/dev; }
# daemon_fds: the fds the daemon holds; few_fds: fewer than 64 (no connection left open)
daemon_fds() { ls "/proc/$SN_PID/fd" | wc -l; }
few_fds() { [ "$(daemon_fds)" -lt 64 ]; }

# --- bulk: IPv4 (10.0.2.2 -> 127.0.0.1) and IPv6 (fd00::2 -> ::1), at MTU 1500 and 65520, with
# and without offloads, 64 MiB each way. IPv4 goes first, while the guest's IPv6 address is
# still tentative. SN_TCP_MIB_DIV divides the sizes, for a daemon in memcheck
# (tests/ci-extra.sh).
port=7200
for conf in "1500 64" "65520 64" "1500 64 --disable-offload" "65520 64 --disable-offload"; do
	set -- $conf
	mtu=$1 mib=$(($2 / ${SN_TCP_MIB_DIV:-1}))
	shift 2
	sn_container
	sn_start -c -6 --mtu "$mtu" "$@" "$CPID"
	port=$((port + 1))
	bulk "IPv4, MTU $mtu${1:+, $1}" "$mib" "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr" \
		"TCP:10.0.2.2:$port" "$port"
	wait_for global6 || fail "no fd00::/64 address on tap0: $(nsx ip -6 addr show dev tap0)"
	port=$((port + 1))
	bulk "IPv6, MTU $mtu${1:+, $1}" "$mib" "TCP6-LISTEN:$port,bind=[::1],reuseaddr" \
		"TCP6:[fd00::2]:$port" "$port"
	stop_daemon
done

# --- one daemon, the defaults, for the rest of the engine's behaviour
sn_container
SN_API="$SN_WORK/api.sock"
sn_start -c -a "$SN_API" "$CPID"

# half-close: the guest shuts down writing, the host reads to the end, then answers; and the host
# shuts down writing, the guest reads to the end, then answers. 4 MiB each, more than a window.
converse "half-close by the guest" 7300 eof send=4194304 close -- send=4194304 shut eof
same_bytes guest host && same_bytes host guest ||
	fail "half-close by the guest: $(outputs)"
ok "half-close by the guest: the host read its 4 MiB to the end, then sent 4 MiB it received"
converse "half-close by the host" 7301 send=4194304 shut eof -- eof send=4194304 close
same_bytes host guest && same_bytes guest host ||
	fail "half-close by the host: $(outputs)"
ok "half-close by the host: the guest read its 4 MiB to the end, then sent 4 MiB it received"

# RST: the guest closes with SO_LINGER 0, the host's peer sees ECONNRESET; and the other way
converse "RST from the guest" 7302 say=ready err -- line rst
has guest "line ready" && has host "err ECONNRESET" || fail "RST from the guest: $(outputs)"
ok "RST from the guest (SO_LINGER 0): the host's peer got ECONNRESET"
converse "RST from the host" 7303 line rst -- say=go err
has host "line go" && has guest "err ECONNRESET" || fail "RST from the host: $(outputs)"
ok "RST from the host's peer: the guest got ECONNRESET"

# a refused port: ECONNREFUSED at once, before the guest's first SYN retransmission (1 s)
listening 7304 && fail "something listens on 7304"
out=$(nsx timeout 90 "$PY" "$PEER" connect 10.0.2.2 7304) && fail "connected to a closed port: $out"
[ "${out% *}" = "connect-error ECONNREFUSED" ] || fail "a closed port: $out"
[ "$(echo "${out##* } < 1" | bc)" = 1 ] || fail "a closed port: ECONNREFUSED after ${out##* } s"
ok "a closed port: ECONNREFUSED in ${out##* } s"

# 2000 connections open at once from the guest, each then echoing 4 KiB of its own
"$FWDTOOL" echo-server 7305 &
SN_PIDS+=($!)
wait_for listening 7305 || fail "the echo server did not start"
nsx timeout 170 "$FWDTOOL" storm 10.0.2.2 7305 2000 4096 >"$SN_WORK/storm" 2>&1 || true
grep -qx "connected 2000" "$SN_WORK/storm" || fail "2000 connections: not all connected: $(cat "$SN_WORK/storm")"
grep -qx "echoed 2000" "$SN_WORK/storm" || fail "2000 connections: not all echoed: $(cat "$SN_WORK/storm")"
wait_long 30 few_fds || fail "2000 connections: the daemon still holds $(daemon_fds) fds after they closed"
ok "2000 connections from the guest at once, each echoed byte-exact; all closed, $(daemon_fds) fds left"

# a guest that stops reading: the host sends 32 MiB until its send() would block (the guest's
# window and every buffer between are full), then the guest reads it all
mkfifo "$SN_WORK/go"
zw=$(tcpext TCPToZeroWindowAdv)
timeout 90 "$PY" "$PEER" listen 127.0.0.1 7306 flood=33554432 close >"$SN_WORK/host.out" 2>&1 &
l=$!
SN_PIDS+=("$l")
wait_for listening 7306 || fail "zero window: the host's peer did not start"
nsx timeout 90 "$PY" "$PEER" connect 10.0.2.2 7306 "wait=$SN_WORK/go" eof >"$SN_WORK/guest.out" 2>&1 &
g=$!
SN_PIDS+=("$g")
# A slow daemon (sanitizers, valgrind) blocks the host's send long before the guest's window
# closes, so each condition is waited for on its own: the guest's window closes only once its
# receive queue is full, which it must be in the end, since it reads nothing of the 32 MiB.
guest_recvq() { nsx ss -Htn state established "dst 10.0.2.2:7306" | awk '{ print $1 }'; }
guest_closed_window() { [ "$(tcpext TCPToZeroWindowAdv)" -gt "$zw" ]; }
wait_long 60 grep -q '^blocked' "$SN_WORK/host.out" || fail "zero window: the host's send never blocked: $(outputs)"
wait_long 60 guest_closed_window ||
	fail "zero window: the guest never advertised one ($(guest_recvq) in its queue): $(outputs)"
recvq=$(guest_recvq)
[ "${recvq:-0}" -gt 0 ] || fail "zero window: nothing waits in the guest's receive queue"
timeout 10 sh -c "echo go >'$SN_WORK/go'" || fail "zero window: the guest's reader is gone: $(outputs)"
sn_wait_exit "$g" 60
sn_wait_exit "$l" 60
same_bytes host guest || fail "zero window: $(outputs)"
ok "zero window: the host blocked after $(awk '/^blocked/ { print $2 }' "$SN_WORK/host.out") bytes" \
	"($recvq in the guest's queue, its window closed), then all 32 MiB came byte-exact"

# the other way: the host stops reading until the guest's send() would block, then reads it all
timeout 90 "$PY" "$PEER" listen 127.0.0.1 7309 "wait=$SN_WORK/go" eof >"$SN_WORK/host.out" 2>&1 &
l=$!
SN_PIDS+=("$l")
wait_for listening 7309 || fail "host not reading: the host's peer did not start"
nsx timeout 90 "$PY" "$PEER" connect 10.0.2.2 7309 flood=33554432 close >"$SN_WORK/guest.out" 2>&1 &
g=$!
SN_PIDS+=("$g")
# the guest blocks once every buffer is full; the host's receive queue then holds data
host_recvq() { ss -Htn state established "src 127.0.0.1:7309" | awk '{ s += $1 } END { print s + 0 }'; }
host_queued() { [ "$(host_recvq)" -gt 0 ]; }
wait_long 60 grep -q '^blocked' "$SN_WORK/guest.out" ||
	fail "host not reading: the guest's send never blocked: $(outputs)"
wait_long 60 host_queued || fail "host not reading: nothing waits in the host's receive queue: $(outputs)"
timeout 10 sh -c "echo go >'$SN_WORK/go'" || fail "host not reading: the host's reader is gone: $(outputs)"
sn_wait_exit "$g" 60
sn_wait_exit "$l" 60
same_bytes guest host || fail "host not reading: $(outputs)"
ok "host not reading: the guest blocked after $(awk '/^blocked/ { print $2 }' "$SN_WORK/guest.out") bytes," \
	"then all 32 MiB came byte-exact"

# a SYN flood from the guest (raw socket, random source ports, to an open and a closed port of the
# gateway) while an echo loop runs: the loop, the API and the daemon carry on
r=$(api '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":17000,"guest_port":7000}}')
[ "$r" = '{"return":{"id":1}}' ] || fail "add_hostfwd: $r"
mkfifo "$SN_WORK/stop"
nsx timeout 120 "$PY" "$PEER" connect 10.0.2.2 7305 "echo=$SN_WORK/stop" >"$SN_WORK/guest.out" 2>&1 &
g=$!
SN_PIDS+=("$g")
wait_for grep -qx echoing "$SN_WORK/guest.out" || fail "SYN flood: the echo loop did not start: $(cat "$SN_WORK/guest.out")"
rsts=$(counter snmp Tcp OutRsts) txdrop=$(tx_dropped) t0=$SECONDS
nsx timeout 90 "$PY" "$PEER" synflood 10.0.2.100 10.0.2.2 20000 7305 7307 >"$SN_WORK/flood" 2>&1 &
f=$!
SN_PIDS+=("$f")
wait_for grep -qx flooding "$SN_WORK/flood" || fail "SYN flood: the flood did not start: $(cat "$SN_WORK/flood")"
r=$(api '{"execute":"list_hostfwd"}')
[ "$(jq -c '.entries[0] | [.id, .host_port]' <<<"$r")" = "[1,17000]" ] || fail "SYN flood: list_hostfwd: $r"
sn_wait_exit "$f" 90
[ "$SN_RC" = 0 ] || fail "SYN flood: the flood failed: $(cat "$SN_WORK/flood")"
r=$(api '{"execute":"list_hostfwd"}')
[ "$(jq -c '.entries[0] | [.id, .host_port]' <<<"$r")" = "[1,17000]" ] || fail "SYN flood: list_hostfwd after: $r"
timeout 10 sh -c "echo stop >'$SN_WORK/stop'" || fail "SYN flood: the echo loop is gone: $(cat "$SN_WORK/guest.out")"
sn_wait_exit "$g" 60
[ "$SN_RC" = 0 ] && grep -q '^echoed ' "$SN_WORK/guest.out" ||
	fail "SYN flood: the echo loop failed: $(cat "$SN_WORK/guest.out")"
rounds=$(sed -n 's/^echoed //p' "$SN_WORK/guest.out")
sn_running "$SN_PID" || fail "SYN flood: the daemon died"
# the engine answered the SYNs to the open port with SYN-ACKs, which the guest's kernel, having
# sent none of those SYNs, reset. Most SYNs never reach slirpnetd: the guest's tap0 queue (1000
# frames) overflows while slirpnetd opens a socket for each SYN it reads; how many got through
# depends on the machine's speed, a few thousand here.
rsts=$(($(counter snmp Tcp OutRsts) - rsts)) txdrop=$(($(tx_dropped) - txdrop))
[ "$rsts" -ge 500 ] || fail "SYN flood: the guest reset only $rsts SYN-ACKs ($txdrop SYNs dropped by tap0)"
wait_long 30 few_fds || fail "SYN flood: the daemon still holds $(daemon_fds) fds after it"
converse "after the SYN flood" 7308 eof send=65536 close -- send=65536 shut eof
same_bytes guest host && same_bytes host guest || fail "after the SYN flood: $(outputs)"
ok "SYN flood: 20000 SYNs in $((SECONDS - t0)) s ($txdrop dropped by the guest's full tap0 queue), $rsts SYN-ACKs to" \
	"them reset by the guest; the echo loop went on" \
	"($rounds rounds checked), list_hostfwd answered during and after, $(daemon_fds) fds left," \
	"a new connection works"
stop_daemon

# --- --disable-host-loopback: the gateway refused as libslirp refuses it, by the engine and by
# libslirp's own TCP
socat -d -d TCP-LISTEN:7310,bind=127.0.0.1,reuseaddr,fork EXEC:cat 2>"$SN_WORK/lo.log" &
SN_PIDS+=($!)
wait_for listening 7310 || fail "--disable-host-loopback: the listener did not start"
for path in kernel slirp; do
	sn_container
	sn_start -c --disable-host-loopback --tcp-path=$path "$CPID"
	out=$(nsx timeout 90 "$PY" "$PEER" connect 10.0.2.2 7310) &&
		fail "--disable-host-loopback, --tcp-path=$path: connected to the host's loopback"
	declare "refused_$path=${out% *}"
	stop_daemon
done
grep -q accepting "$SN_WORK/lo.log" && fail "--disable-host-loopback: the host's listener saw a connection"
[ "${refused_kernel#connect-error }" = "${refused_slirp#connect-error }" ] ||
	fail "--disable-host-loopback: the engine gives $refused_kernel, libslirp $refused_slirp"
ok "--disable-host-loopback: 10.0.2.2 refused with ${refused_kernel#connect-error }, as libslirp refuses it"

# --- --outbound-addr: to an address of the host that is not its loopback, the connection comes
# from the outbound address
ip addr add 198.51.100.1/32 dev lo
ip addr add 198.51.100.2/32 dev lo
ip -6 addr add 2001:db8::1/128 dev lo nodad
ip -6 addr add 2001:db8::2/128 dev lo nodad
sn_container
sn_start -c -6 --outbound-addr=198.51.100.2 --outbound-addr6=2001:db8::2 "$CPID"
wait_for global6 || fail "no fd00::/64 address on tap0: $(nsx ip -6 addr show dev tap0)"
for pair in "198.51.100.1 198.51.100.2" "2001:db8::1 2001:db8::2"; do
	set -- $pair
	timeout 90 "$PY" "$PEER" listen "$1" 7311 say=hi >"$SN_WORK/host.out" 2>&1 &
	l=$!
	SN_PIDS+=("$l")
	wait_for listening 7311 || fail "--outbound-addr: the listener on $1 did not start"
	nsx timeout 90 "$PY" "$PEER" connect "$1" 7311 line >"$SN_WORK/guest.out" 2>&1 || true
	sn_wait_exit "$l" 60
	grep -q "^peer $2 " "$SN_WORK/host.out" && has guest "line hi" ||
		fail "--outbound-addr: to $1: $(outputs)"
	ok "--outbound-addr: the guest's connection to $1 came from $2"
done
stop_daemon

# --- retransmission, with the test build: every 50th data frame to the guest dropped, 16 MiB
# down; then the same as on a kernel without SO_PEEK_OFF (the bytes in flight peeked again)
knobs=$SLIRPNETD_KNOBS
if [ -n "${SN_HARDENED:-}" ]; then
	knobs=$SN_WORK/slirpnetd-knobs-hardened
	printf '#!/bin/sh\nexec %s --enable-sandbox --enable-seccomp "$@"\n' "$SLIRPNETD_KNOBS" >"$knobs"
	chmod 755 "$knobs"
fi
for peek in "" 1; do
	how="every 50th frame dropped${peek:+, without SO_PEEK_OFF}"
	sn_container
	if [ -n "$peek" ]; then export SN_TEST_NO_PEEK_OFF=1; else unset SN_TEST_NO_PEEK_OFF; fi
	SLIRPNETD=$knobs SN_TEST_DROP_EVERY=50 sn_start -c "$CPID"
	ofo=$(tcpext TCPOFOQueue)
	download "$how" 16 TCP-LISTEN:7312,bind=127.0.0.1,reuseaddr TCP:10.0.2.2:7312 7312
	ofo=$(($(tcpext TCPOFOQueue) - ofo))
	[ "$ofo" -gt 0 ] || fail "$how: the guest saw no gap (TCPOFOQueue did not move): nothing was dropped"
	ok "$how: 16 MiB down byte-exact, the gaps ($ofo segments queued out of order by the guest) filled"
	stop_daemon
done

# --- reordering, with the test build: every 7th data frame from the guest taken after the one
# that follows it, as a bridge in the guest reorders a container's frames. The guest has neither
# SACK nor timestamps here: every frame past a gap that the engine dropped would cost it a
# retransmission timeout that doubles each time, and the upload would stall. 16 MiB up at MTU
# 65520 and 1500, byte-exact; a timeout or two of the guest's is let pass (a loaded machine)
for mtu in 65520 1500; do
	how="MTU $mtu, every 7th frame from the guest late"
	sn_container
	SLIRPNETD=$knobs SN_TEST_REORDER_EVERY=7 sn_start -c "$CPID" --mtu "$mtu"
	rto=$(tcpext TCPTimeouts)
	upload "$how" 16 TCP-LISTEN:7315,bind=127.0.0.1,reuseaddr TCP:10.0.2.2:7315 7315
	rto=$(($(tcpext TCPTimeouts) - rto))
	[ "$rto" -lt 3 ] || fail "$how: the guest's retransmission timer expired $rto times"
	ok "$how: 16 MiB up byte-exact, the gaps filled ($rto retransmission timeouts in the guest)"
	stop_daemon
done

# --- last, as the engine fails them for now; each is tried, then the failures are reported
engine_fails=()

# a segment without data at the sequence number before the next (a keep-alive probe, or a
# zero-window probe: the same segment) is answered with an ACK (RFC 9293, 3.8.4, 3.8.6.1):
# the guest's keep-alive (3 probes 1 s apart after 1 s idle) keeps the connection. A guest whose
# zero-window probes go unanswered waits on its persist timer, backing off to 2 minutes; in
# the uploads above, when the engine advertised a zero window at the end of a burst.
sn_container
sn_start -c "$CPID"
ka=$(tcpext TCPKeepAlive)
mkfifo "$SN_WORK/ka"
timeout 90 "$PY" "$PEER" listen 127.0.0.1 7314 "wait=$SN_WORK/ka" say=alive >"$SN_WORK/host.out" 2>&1 &
l=$!
SN_PIDS+=("$l")
wait_for listening 7314 || fail "keep-alive: the host's peer did not start"
nsx timeout 90 "$PY" "$PEER" connect 10.0.2.2 7314 keepalive=1 line >"$SN_WORK/guest.out" 2>&1 &
g=$!
SN_PIDS+=("$g")
# probed: six probes sent, twice what ends a connection whose probes go unanswered (or the
# guest's peer is gone)
probed() { [ $(($(tcpext TCPKeepAlive) - ka)) -ge 6 ] || gone "$g"; }
wait_long 30 probed ||
	fail "keep-alive: the guest sent $(($(tcpext TCPKeepAlive) - ka)) probes in 30 s"
timeout 10 sh -c "echo go >'$SN_WORK/ka'" || fail "keep-alive: the host's peer is gone: $(outputs)"
sn_wait_exit "$g" 60
sn_wait_exit "$l" 60
if has guest "line alive"; then
	ok "keep-alive: the guest's connection lived through $(($(tcpext TCPKeepAlive) - ka)) probes"
else
	engine_fails+=("keep-alive: the guest's probes went unanswered: $(outputs)")
	echo "FAILED: ${engine_fails[-1]}"
fi
stop_daemon

# a SYN from a port whose last connection the guest
# holds in TIME_WAIT. That socket answers the SYN-ACK with an ACK of its old connection, which a
# SYN-RECEIVED end must answer with an RST (RFC 9293, 3.10.7.4; Linux does): the guest's socket
# goes, the next SYN-ACK is reset by the guest, and the connection made for the SYN is closed at
# once, not kept through every retransmission of the SYN-ACK (75 s).
sn_container
sn_start -c "$CPID"
converse "closing first from the guest" 7313 eof close -- from=40000 shut eof
nsx ss -Htan state time-wait "sport = :40000" | grep -q . ||
	fail "TIME_WAIT: the guest's port 40000 is not in TIME_WAIT: $(outputs)"
timeout 90 "$PY" "$PEER" listen 127.0.0.1 7313 err >"$SN_WORK/host.out" 2>&1 &
l=$!
SN_PIDS+=("$l")
wait_for listening 7313 || fail "TIME_WAIT: the host's peer did not start"
nsx "$PY" "$PEER" syn 10.0.2.100 40000 10.0.2.2 7313 >/dev/null || fail "TIME_WAIT: could not send the SYN"
wait_for grep -q '^peer ' "$SN_WORK/host.out" || fail "TIME_WAIT: the SYN did not reach the host: $(outputs)"
t0=$SECONDS
if wait_long 10 grep -Eq '^(err|eof) ' "$SN_WORK/host.out"; then
	ok "TIME_WAIT: the connection made for a SYN from a port in TIME_WAIT was closed after" \
		"$((SECONDS - t0)) s: $(grep -E '^(err|eof) ' "$SN_WORK/host.out")"
else
	engine_fails+=("TIME_WAIT: 10 s after the SYN, the host's connection is still open and the guest's port 40000 $(nsx ss -Htan state time-wait "sport = :40000" | grep -q . && echo still ||
		echo no longer) in TIME_WAIT: the engine did not reset on the old ACK")
	echo "FAILED: ${engine_fails[-1]}"
fi
stop_daemon
[ "${#engine_fails[@]}" = 0 ] || fail "${#engine_fails[@]} of the last checks failed (above)"
sn_done
