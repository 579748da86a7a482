#!/bin/bash
# test_forward.sh - the fast forwarders end to end: TCP (splice) and UDP
# forwards byte-exact both ways, half-close each way, a refused guest port,
# removal with connections open, IPv6 host addresses, PROXY v2, source_ip
# (loopback, a second loopback address, a non-local client), get_stats/info.
. "$(dirname "$0")/lib.sh"
sn_sandbox "$@"
: "${FWDTOOL:?FWDTOOL must name the fwdtool test peer}"

# children PID: the processes whose parent is PID ("" if none)
children() { pgrep -P "$1" | tr '\n' ' ' || true; }

# --- an idle daemon has no other process: the namespace helper is started
# by the first forward (in the hardened pass it is kept from start-up)
if [ -z "${SN_HARDENED:-}" ]; then
	sn_container
	sn_start -c "$CPID"
	sleep 0.2
	[ -z "$(children "$SN_PID")" ] || fail "a daemon without -a has children: $(children "$SN_PID")"
	kill -TERM "$SN_PID"
	sn_wait_exit "$SN_PID" 10
fi
sn_container
SN_API="$SN_WORK/api.sock"
sn_start -c -a "$SN_API" "$CPID"
if [ -z "${SN_HARDENED:-}" ]; then
	sleep 0.2
	[ -z "$(children "$SN_PID")" ] || fail "an idle daemon with -a has children: $(children "$SN_PID")"
	ok "idle, with -a and without: no process but the daemon"
else
	pgrep -P "$SN_PID" -x slirpnetd-ns >/dev/null || fail "no namespace helper kept under --enable-sandbox"
fi

# bg CMD...: run CMD in the background, killed at exit
bg() { "$@" & SN_PIDS+=($!); }
# add ARGS: add_hostfwd with the JSON members ARGS; prints the new id
add() {
	local r
	r=$(api "{\"execute\":\"add_hostfwd\",\"arguments\":{$1}}")
	[[ $r =~ ^\{\"return\":\{\"id\":([0-9]+)\}\}$ ]] || fail "add {$1}: $r"
	echo "${BASH_REMATCH[1]}"
}
# listening PORT [udp]: wait until something in the container listens
listening() {
	local flag=-tln
	[ "${2:-}" = udp ] && flag=-uln
	wait_for sh -c "nsenter -t $CPID -n ss -H $flag | grep -q ':$1 '" ||
		fail "nothing listens on port $1 in the container"
}
# stat_of ID MEMBER: one counter of forward ID from get_stats
stat_of() {
	api '{"execute":"get_stats"}' | jq -r ".return.entries[] | select(.id == $1) | .$2"
}

# A UDP server in the container answering each datagram with "echo:" and
# the datagram ("peer" answers with the sender's address instead).
udp_server() {
	if [ "${2:-}" = peer ]; then
		nsx python3 "$UDPPEER" echo "$1" --peer
	else
		nsx python3 "$UDPPEER" echo "$1" --prefix echo:
	fi
}

# udp_ask SRC SPORT PORT: from SRC:SPORT, one datagram to SRC:PORT; print
# the first reply, and nothing if none comes within 30 s. Sent again every
# 5 s until then, each time noted: it is the first datagram of a flow,
# whose reply route the daemon sets up as it arrives.
udp_ask() {
	timeout 60 python3 -c '
import socket, sys, time
src, sport, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, sport))
s.connect((src, port))
end = time.monotonic() + 30
while time.monotonic() < end:
    s.send(b"x\n")
    s.settimeout(5)
    try:
        print(s.recv(65536).decode().strip())
        break
    except socket.timeout:
        print("note: no reply within 5 s", file=sys.stderr)
' "$@"
}

# --- TCP: 32 MiB each way, byte-exact
bg nsx socat -t 30 TCP-LISTEN:8080,fork,reuseaddr EXEC:cat
listening 8080
ECHO=$(add '"proto":"tcp","host_addr":"127.0.0.1","host_port":18080,"guest_port":8080')
head -c 32M /dev/urandom >"$SN_WORK/big"
want=$(sn_sha256 <"$SN_WORK/big")
got=$(timeout 60 socat -t 30 TCP:127.0.0.1:18080 - <"$SN_WORK/big" | sn_sha256)
[ "$got" = "$want" ] || fail "32 MiB echo through the TCP forward differs"
[ "$(stat_of "$ECHO" bytes_to_guest)" = $((32 << 20)) ] || fail "bytes_to_guest: $(stat_of "$ECHO" bytes_to_guest)"
[ "$(stat_of "$ECHO" bytes_from_guest)" = $((32 << 20)) ] || fail "bytes_from_guest: $(stat_of "$ECHO" bytes_from_guest)"
HELPER=$(pgrep -P "$SN_PID" -x slirpnetd-ns) || fail "no namespace helper once a forward was added"
[ "$(readlink "/proc/$HELPER/ns/net")" = "$(readlink "/proc/$CPID/ns/net")" ] ||
	fail "the helper is not in the container's network namespace"
ok "TCP: 32 MiB echoed byte-exact; get_stats counted both ways; the first forward started the helper"

# --- half-close, client first: the guest reads to EOF, then answers
bg nsx socat -t 30 TCP-LISTEN:8081,fork,reuseaddr SYSTEM:sha256sum
listening 8081
add '"proto":"tcp","host_addr":"127.0.0.1","host_port":18081,"guest_port":8081' >/dev/null
got=$(timeout 30 socat -t 20 TCP:127.0.0.1:18081 - <"$SN_WORK/big" | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "half-close (client first): the guest's answer after EOF was \"$got\""
ok "half-close, client first: the guest saw EOF and its answer came back"

# --- half-close, guest first: it says hello, shuts down writing, then
# counts what the client still sends
bg nsx perl -MIO::Socket::INET -e '
	my $l = IO::Socket::INET->new(LocalPort => 8082, Listen => 5, ReuseAddr => 1) or die;
	while (my $c = $l->accept) {
		print $c "hello\n"; $c->shutdown(1);
		my $n = 0; while (my $r = sysread($c, my $b, 65536)) { $n += $r }
		open(my $f, ">", $ARGV[0]) or die; print $f "$n\n"; close $f; close $c;
	}' "$SN_WORK/count"
listening 8082
add '"proto":"tcp","host_addr":"127.0.0.1","host_port":18082,"guest_port":8082' >/dev/null
# the client reads to the guest's EOF, and only then sends its 1 MiB
got=$(timeout 60 python3 -c '
import socket
s = socket.create_connection(("127.0.0.1", 18082), timeout=50)
got = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    got += d
s.sendall(bytes(1 << 20))
s.shutdown(socket.SHUT_WR)
print(got.decode().strip())
')
[ "$got" = hello ] || fail "half-close (guest first): got \"$got\""
wait_for test -s "$SN_WORK/count" || fail "the guest never finished counting"
[ "$(cat "$SN_WORK/count")" = 1048576 ] || fail "the guest counted $(cat "$SN_WORK/count") bytes after its shutdown, not 1048576"
ok "half-close, guest first: its EOF reached the client, which kept sending 1 MiB"

# --- a guest port nobody listens on: the client is reset at once (while
# its own side is still open), and it counts as an error
REF=$(add '"proto":"tcp","host_addr":"127.0.0.1","host_port":18089,"guest_port":9')
out=$(timeout 20 perl -MIO::Socket::INET -e '
	my $s = IO::Socket::INET->new("127.0.0.1:18089") or die "connect: $!";
	my $n = sysread($s, my $b, 10);
	print defined $n ? "read $n bytes" : "error: $!";')
[ "$out" = "error: Connection reset by peer" ] || fail "connection to a closed guest port: $out"
[ "$(stat_of "$REF" errors)" -ge 1 ] || fail "no error counted for the refused connect"
ok "a closed guest port: the client's connection is reset, errors=$(stat_of "$REF" errors)"

# --- removal with a connection open: it carries on; new ones are refused
coproc CONN { timeout 60 socat - TCP:127.0.0.1:18080; }
SN_PIDS+=($CONN_PID)
echo one >&"${CONN[1]}"
read -r -t 30 line <&"${CONN[0]}" && [ "$line" = one ] || fail "open connection: no echo before removal"
r=$(api "{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":$ECHO}}")
[ "$r" = '{"return":{}}' ] || fail "remove_hostfwd: $r"
echo two >&"${CONN[1]}"
read -r -t 30 line <&"${CONN[0]}" && [ "$line" = two ] || fail "the open connection died with its forward"
if timeout 5 socat - TCP:127.0.0.1:18080 <<<x >/dev/null 2>&1; then fail "a new connection got through a removed forward"; fi
[ "$(api '{"execute":"list_hostfwd"}' | jq ".entries[] | select(.id == $ECHO)")" = "" ] || fail "removed forward still listed"
exec {CONN[1]}>&-
ok "removal: the open connection still echoes; new connections are refused"

# --- UDP: several clients at once, each gets its own replies
bg udp_server 5353
listening 5353 udp
UDP=$(add '"proto":"udp","host_addr":"127.0.0.1","host_port":15353,"guest_port":5353')
clients=()
# (a socket each; udppeer.py sends each line as a datagram of its own and
# waits for its reply: socat would send lines that queued while it started
# as one datagram)
for i in 1 2 3 4 5 6; do
	printf 'client %s datagram %s\n' "$i" 1 "$i" 2 "$i" 3 |
		timeout 100 python3 "$UDPPEER" send 127.0.0.1 15353 >"$SN_WORK/udp.$i" &
	clients+=($!)
done
for c in "${clients[@]}"; do
	wait "$c" || fail "a UDP client failed (status $?)"
done
for i in 1 2 3 4 5 6; do
	printf 'echo:client %s datagram %s\n' "$i" 1 "$i" 2 "$i" 3 | cmp -s - "$SN_WORK/udp.$i" ||
		fail "UDP client $i got: $(cat "$SN_WORK/udp.$i")"
done
[ "$(stat_of "$UDP" connections_total)" = 6 ] || fail "UDP flows: $(stat_of "$UDP" connections_total), not 6"
ok "UDP: 6 clients, 3 datagrams each, every reply to its own client; 6 flows"

# --- IPv6 host address, and the same port on both families
bg nsx socat -t 30 TCP-LISTEN:8090,fork,reuseaddr SYSTEM:'echo guest'
listening 8090
add '"proto":"tcp","host_addr":"::1","host_port":18090,"guest_port":8090' >/dev/null
add '"proto":"tcp","host_addr":"0.0.0.0","host_port":18090,"guest_port":8090' >/dev/null
[ "$(timeout 60 socat -t 30 - 'TCP6:[::1]:18090' </dev/null)" = guest ] || fail "no answer through [::1]:18090"
[ "$(timeout 60 socat -t 30 - TCP4:127.0.0.1:18090 </dev/null)" = guest ] || fail "no answer through 127.0.0.1:18090"
api '{"execute":"list_hostfwd"}' | jq -e '.entries[] | select(.host_addr == "::1" and .host_port == 18090)' >/dev/null ||
	fail "list_hostfwd does not show [::1]:18090"
ok "IPv6 host address [::1] and 0.0.0.0 on the same port both forward"

# --- PROXY protocol v2
bg nsx "$FWDTOOL" proxy-server 8083
listening 8083
add '"proto":"tcp","host_addr":"127.0.0.1","host_port":18083,"guest_port":8083,"proxy_protocol":true' >/dev/null
got=$(timeout 60 socat -t 30 - TCP:127.0.0.1:18083,bind=127.0.0.1:40001 </dev/null)
[ "$got" = "PROXY v2 127.0.0.1:40001 127.0.0.1:18083" ] || fail "PROXY header: $got"
r=$(api '{"execute":"add_hostfwd","arguments":{"proto":"udp","host_port":18084,"guest_port":1,"proxy_protocol":true}}')
grep -q "TCP forwards only" <<<"$r" || fail "proxy_protocol on UDP: $r"
ok "PROXY v2: the guest reads \"$got\"; refused for UDP"

# --- source_ip: the guest sees the client's own address
# a host address outside 127.0.0.0/8, which the namespace does not have
ip addr add 198.51.100.1/32 dev lo
bg nsx socat -t 30 TCP-LISTEN:8085,fork,reuseaddr SYSTEM:'echo $SOCAT_PEERADDR $SOCAT_PEERPORT'
listening 8085
add '"proto":"tcp","host_port":18085,"guest_port":8085,"source_ip":true' >/dev/null
add '"proto":"tcp","host_port":18086,"guest_port":8085' >/dev/null
for src in 127.0.0.1 127.0.0.2 198.51.100.1; do
	got=$(timeout 60 socat -t 30 - TCP:$src:18085,bind=$src:40002 </dev/null)
	[ "$got" = "$src 40002" ] || fail "source_ip TCP from $src: the guest saw \"$got\""
done
got=$(timeout 60 socat -t 30 - TCP:127.0.0.2:18086,bind=127.0.0.2 </dev/null)
[ "${got%% *}" = 10.0.2.100 ] || fail "without source_ip the guest saw \"$got\", not 10.0.2.100"
bg udp_server 5354 peer
listening 5354 udp
add '"proto":"udp","host_port":15354,"guest_port":5354,"source_ip":true' >/dev/null
for src in 127.0.0.2 198.51.100.1; do
	got=$(udp_ask "$src" 40003 15354)
	[ "$got" = "$src:40003" ] ||
		fail "source_ip UDP from $src: the guest saw \"$got\"; $(api '{"execute":"get_stats"}')"
done
ok "source_ip: TCP and UDP clients at 127.0.0.1, 127.0.0.2 and 198.51.100.1 seen as themselves"

# --- get_info
info=$(api '{"execute":"get_info"}')
[ "$(jq -r .return.guest <<<"$info")" = 10.0.2.100 ] && [ "$(jq -r .return.mtu <<<"$info")" = 1500 ] &&
	[ "$(jq -r .return.tap <<<"$info")" = tap0 ] && [ "$(jq -r .return.pid <<<"$info")" = "$SN_PID" ] &&
	[ "$(jq -r .return.forwards <<<"$info")" -ge 8 ] || fail "get_info: $info"
ok "get_info: $info"

# --- --keep-source-ip makes source_ip the default; --busy-poll spins only
# while traffic flows
FIRST_PID=$SN_PID FIRST_API=$SN_API
sn_container
SN_API="$SN_WORK/api2.sock"
SN_LOG="$SN_WORK/slirpnetd2.log"
sn_start -c --keep-source-ip --busy-poll=200 --udp-timeout=1 -a "$SN_API" "$CPID"
bg nsx socat -t 30 TCP-LISTEN:8085,fork,reuseaddr SYSTEM:'echo $SOCAT_PEERADDR $SOCAT_PEERPORT'
listening 8085
add '"proto":"tcp","host_port":28085,"guest_port":8085' >/dev/null
got=$(timeout 60 socat -t 30 - TCP:127.0.0.2:28085,bind=127.0.0.2:40004 </dev/null)
[ "$got" = "127.0.0.2 40004" ] || fail "--keep-source-ip: the guest saw \"$got\""
api '{"execute":"list_hostfwd"}' | jq -e '.entries[0].source_ip == true' >/dev/null || fail "--keep-source-ip: not listed"
# A spinning thread would use all 2 s (200 ticks at 100 Hz). A tick is
# charged to whatever runs when the timer fires, so the guest kernel's own
# packets at start-up (IPv6 router solicitations) may cost one: allow 2.
sleep 0.5
t0=$(awk '{ print $14 + $15 }' /proc/"$SN_PID"/stat)
sleep 2
t1=$(awk '{ print $14 + $15 }' /proc/"$SN_PID"/stat)
[ $((t1 - t0)) -le 2 ] || fail "--busy-poll: the idle daemon used $((t1 - t0)) ticks of CPU in 2 s"
ok "--keep-source-ip: the guest saw $got; with --busy-poll=200 the idle daemon used $((t1 - t0)) ticks in 2 s"

# --udp-timeout: an idle flow is closed, and the client's next datagram
# opens a new one
bg udp_server 5355
listening 5355 udp
UDP2=$(add '"proto":"udp","host_addr":"127.0.0.1","host_port":25355,"guest_port":5355')
coproc UDPC { timeout 90 python3 "$UDPPEER" send 127.0.0.1 25355 --bind 127.0.0.1 --bind-port 40005; }
SN_PIDS+=($UDPC_PID)
echo first >&"${UDPC[1]}"
read -r -t 30 line <&"${UDPC[0]}" && [ "$line" = echo:first ] || fail "--udp-timeout: no first reply"
# (opened: counted in connections_total; whether it is still open depends
# on how long this check takes, as the flow may idle out after 1 s)
[ "$(stat_of "$UDP2" connections_total)" = 1 ] || fail "--udp-timeout: flows opened: $(stat_of "$UDP2" connections_total), not 1"
wait_for sh -c "[ \"\$(printf '%s' '{\"execute\":\"get_stats\"}' | timeout 5 socat -t 5 - 'UNIX-CONNECT:$SN_API' |
	jq '.return.entries[] | select(.id == $UDP2) | .connections_open')\" = 0 ]" ||
	fail "--udp-timeout=1: the idle flow is still open after 30 s"
echo second >&"${UDPC[1]}"
read -r -t 30 line <&"${UDPC[0]}" && [ "$line" = echo:second ] || fail "--udp-timeout: no reply after the flow expired"
[ "$(stat_of "$UDP2" connections_total)" = 2 ] || fail "--udp-timeout: flows opened: $(stat_of "$UDP2" connections_total), not 2"
exec {UDPC[1]}>&-
ok "--udp-timeout=1: the idle flow closed; the client's next datagram opened another"
SN_PID=$FIRST_PID SN_API=$FIRST_API SN_LOG="$SN_WORK/slirpnetd.log"

kill -0 "$SN_PID" || fail "the daemon died"
grep -E 'CRITICAL|assert' "$SN_LOG" && fail "the daemon logged a critical message"
sn_done
