#!/bin/bash
# test_fwdtap.sh - TCP forwards through tap0, keeping the client's address:
# a service in the namespace sees a non-loopback client's own address and
# port (IPv4 and IPv6), loopback clients keep the splice path in mode auto
# and appear as the gateway in mode tap; bulk both ways byte-exact; the
# guest changing tap0's MAC and back; a port nothing listens on; a DNAT
# rule to a second namespace behind a bridge (what Docker builds), with
# mode splice for comparison; 5000 connections at once; removal with a
# connection open; a restart from the state file; a client inside the
# guest's own network, and an IPv6 client without --enable-ipv6, spliced
# in mode auto.
# UDP forwards the same way: the client's own address and port (IPv4 and
# IPv6), datagrams byte-exact with their boundaries, some past the MTU,
# DNAT to the backend, loopback clients, clients that cannot be shown to the
# guest as themselves, counters, flow expiry, removal.
. "$(dirname "$0")/lib.sh"
sn_sandbox "$@"
: "${FWDTOOL:?FWDTOOL must name the fwdtool test peer}"
PEER="$(dirname "$(realpath "$0")")/tcppeer.py"
PY=$(python3 -c 'import sys; print(sys.executable)')
# the flow engine carries these connections: the daemon's default TCP path
unset SN_TCP_PATH
ulimit -n "$(ulimit -Hn)"
# SN_TCP_MIB_DIV divides the sizes, and the 5000 connections by 5, for a
# daemon in memcheck
DIV=${SN_TCP_MIB_DIV:-1}
BIG=$((8388608 / DIV)) MID=$((1048576 / DIV)) CONNS=$((DIV > 1 ? 1000 : 5000))

# The host's non-loopback addresses: a "server" address the forwards
# listen on, and a client's, both on lo of the test's own namespace.
ip addr add 198.51.100.1/32 dev lo
ip addr add 198.51.100.7/32 dev lo
ip -6 addr add 2001:db8::1/128 dev lo nodad
ip -6 addr add 2001:db8::7/128 dev lo nodad
# and a client whose address lies in the guest's own network
ip addr add 10.0.2.50/32 dev lo

sn_container
SN_API=$SN_WORK/api.sock
STATE=$SN_WORK/state.json
sn_start -c --enable-ipv6 --api-socket "$SN_API" --state-file "$STATE" "$CPID" tap0

# global6: tap0 has a usable (DAD done) address in fd00::/64
global6() { nsx ip -6 addr show dev tap0 scope global -tentative | grep -q 'inet6 fd00::'; }
# add PROTO-ARGS...: add_hostfwd with these arguments (a JSON fragment);
# prints the id
add() {
	local r
	r=$(api "{\"execute\":\"add_hostfwd\",\"arguments\":{$1}}")
	[[ "$r" =~ ^\{\"return\":\{\"id\":([0-9]+)\}\}$ ]] || fail "add_hostfwd $1: $r"
	echo "${BASH_REMATCH[1]}"
}
# guest_listen PORT OUT STEP...: a tcppeer listener in the namespace on
# PORT (IPv6 and IPv4), its lines to OUT; waits until it listens
guest_listen() {
	local port=$1 out=$2
	shift 2
	nsx timeout 120 "$PY" "$PEER" listen :: "$port" "$@" >"$out" 2>&1 &
	SN_PIDS+=($!)
	wait_for nsx sh -c "ss -Hltn 'sport = :$port' | grep -q ." ||
		fail "the guest's listener on $port did not start: $(cat "$out")"
}
# sums OUT: the SHA256s a tcppeer printed, in order
sums() { awk '$1 == "sent" || $1 == "eof" { print $NF }' "$1"; }
# peer_of OUT: the "ADDR PORT" the guest's listener saw
peer_of() { awk '$1 == "peer" { sub(/^::ffff:/, "", $2); print $2, $3 }' "$1"; }
# seen_as HOW GPORT WANT ADDR PORT [src=A] [from=P]: a client connects to
# ADDR:PORT and sends 4 KiB; the guest's listener on GPORT must see it as
# WANT ("ADDR PORT", or an address alone)
seen_as() {
	local how=$1 gport=$2 want=$3 got
	shift 3
	guest_listen "$gport" "$SN_WORK/g.out" eof
	timeout 60 "$PY" "$PEER" connect "$@" send=4096 close >"$SN_WORK/h.out" 2>&1 ||
		fail "$how: $(cat "$SN_WORK/h.out")"
	wait_for grep -q '^eof' "$SN_WORK/g.out" || fail "$how: the guest read nothing"
	got=$(peer_of "$SN_WORK/g.out")
	[[ $want == *" "* ]] || got=${got% *}
	[ "$got" = "$want" ] || fail "$how: the guest saw $got, not $want"
}

# --- IPv4: a client at 198.51.100.7, port 41000; 8 MiB each way
id4=$(add '"proto":"tcp","host_addr":"0.0.0.0","host_port":8080,"guest_port":80')
guest_listen 80 "$SN_WORK/g.out" eof send=$BIG
timeout 120 "$PY" "$PEER" connect 198.51.100.1 8080 src=198.51.100.7 from=41000 \
	send=$BIG shut eof >"$SN_WORK/h.out" 2>&1 || fail "IPv4 client: $(cat "$SN_WORK/h.out")"
wait_for grep -q '^sent' "$SN_WORK/g.out" || fail "IPv4: the guest's side did not finish: $(cat "$SN_WORK/g.out")"
[ "$(peer_of "$SN_WORK/g.out")" = "198.51.100.7 41000" ] ||
	fail "IPv4: the guest saw $(peer_of "$SN_WORK/g.out"), not 198.51.100.7 41000"
[ "$(sums "$SN_WORK/h.out" | sed -n 1p)" = "$(sums "$SN_WORK/g.out" | sed -n 1p)" ] &&
	[ "$(sums "$SN_WORK/h.out" | sed -n 2p)" = "$(sums "$SN_WORK/g.out" | sed -n 2p)" ] ||
	fail "IPv4: bytes differ: host $(cat "$SN_WORK/h.out") guest $(cat "$SN_WORK/g.out")"
ok "IPv4: the guest saw the client as 198.51.100.7 port 41000; $BIG bytes each way byte-exact"

# --- IPv6: a client at 2001:db8::7 to a forward on "::"
wait_for global6 || fail "tap0 got no IPv6 address"
add '"proto":"tcp","host_addr":"::","host_port":8081,"guest_port":81' >/dev/null
guest_listen 81 "$SN_WORK/g6.out" eof send=$MID
timeout 120 "$PY" "$PEER" connect 2001:db8::1 8081 src=2001:db8::7 from=41001 \
	send=$MID shut eof >"$SN_WORK/h6.out" 2>&1 || fail "IPv6 client: $(cat "$SN_WORK/h6.out")"
wait_for grep -q '^sent' "$SN_WORK/g6.out" || fail "IPv6: the guest's side did not finish"
[ "$(peer_of "$SN_WORK/g6.out")" = "2001:db8::7 41001" ] ||
	fail "IPv6: the guest saw $(peer_of "$SN_WORK/g6.out"), not 2001:db8::7 41001"
[ "$(sums "$SN_WORK/h6.out" | tr '\n' ' ')" = "$(sums "$SN_WORK/g6.out" | tr '\n' ' ')" ] ||
	fail "IPv6: bytes differ: host $(cat "$SN_WORK/h6.out") guest $(cat "$SN_WORK/g6.out")"
ok "IPv6: the guest saw the client as 2001:db8::7 port 41001; $MID bytes each way byte-exact"

# --- a loopback client in mode auto keeps the splice path: the guest sees
# its own address, as before
seen_as "a loopback client, mode auto" 80 10.0.2.100 127.0.0.1 8080
ok "a loopback client in mode auto goes by splice (the guest sees 10.0.2.100)"

# --- mode tap: a loopback client appears as the gateway, as with libslirp
add '"proto":"tcp","host_addr":"127.0.0.1","host_port":8082,"guest_port":82,"mode":"tap"' >/dev/null
seen_as "a loopback client, mode tap" 82 "10.0.2.2 41002" 127.0.0.1 8082 from=41002
r=$(api '{"execute":"list_hostfwd"}')
[ "$(jq -c '[.entries[] | .mode]' <<<"$r")" = '[null,null,"tap"]' ] ||
	fail "list_hostfwd: modes: $r"
ok "mode tap: a loopback client appears as 10.0.2.2 port 41002; list_hostfwd names the mode only where not the default"

# --- the guest gives tap0 another MAC, then its own again: the next
# client through tap0 reaches the guest at it, though the guest has sent
# nothing since (tap0's MAC is read for each connection)
mac=$(nsx ip -j link show dev tap0 | jq -r '.[0].address')
port=41010
for m in 02:00:0a:00:02:65 "$mac"; do
	nsx ip link set tap0 address "$m"
	seen_as "tap0's MAC $m" 80 "198.51.100.7 $port" 198.51.100.1 8080 \
		src=198.51.100.7 from=$port
	port=$((port + 1))
done
ok "tap0's MAC changed and back: clients through tap0 reach the guest at each"

# --- a client inside the guest's own network (10.0.2.50) cannot be shown
# to it as itself (the guest would look for it on tap0's link): mode auto
# splices it, mode tap refuses it with the reason
seen_as "a client in 10.0.2.0/24, mode auto" 80 10.0.2.100 198.51.100.1 8080 src=10.0.2.50
add '"proto":"tcp","host_addr":"0.0.0.0","host_port":8087,"guest_port":82,"mode":"tap"' >/dev/null
out=$(timeout 60 "$PY" "$PEER" connect 198.51.100.1 8087 src=10.0.2.50 err 2>&1) || true
[ "$out" = $'connected\nerr ECONNRESET' ] || [ "${out% *}" = "connect-error ECONNRESET" ] ||
	fail "a client in 10.0.2.0/24, mode tap: $out"
wait_for grep -q "in the guest's own network" "$SN_LOG" || fail "mode tap: no reason logged for 10.0.2.50"
ok "a client in the guest's network: spliced in mode auto; reset in mode tap, with the reason logged"

# --- nothing listens on the guest's port: the client is reset
add '"proto":"tcp","host_addr":"198.51.100.1","host_port":8083,"guest_port":83' >/dev/null
out=$(timeout 60 "$PY" "$PEER" connect 198.51.100.1 8083 src=198.51.100.7 err 2>&1) || true
# (the RST may come before the client's connect() returns, or after)
[ "$out" = $'connected\nerr ECONNRESET' ] || [ "${out% *}" = "connect-error ECONNRESET" ] ||
	fail "a closed guest port: $out"
ok "a closed guest port: the client got ECONNRESET"

# --- DNAT inside the namespace to a backend behind a bridge
nsx ip link add br0 type bridge
nsx ip addr add 172.30.0.1/24 dev br0
nsx ip link set br0 up
unshare --net --fork sleep 3600 &
SN_PIDS+=($!)
wait_for pgrep -P "$!" -x sleep || fail "the backend's namespace did not start"
BPID=$(pgrep -P "$!" -x sleep)
SN_PIDS+=("$BPID")
nsx ip link add vb0 type veth peer name eth0 netns "/proc/$BPID/ns/net"
nsx ip link set vb0 master br0 up
bx() { nsenter --target "$BPID" --net -- "$@"; }
bx ip link set lo up
bx ip addr add 172.30.0.2/24 dev eth0
bx ip link set eth0 up
bx ip route add default via 172.30.0.1
nsx sysctl -qw net.ipv4.ip_forward=1
for chain in PREROUTING OUTPUT; do
	nsx iptables -t nat -A "$chain" -d 10.0.2.100 -p tcp --dport 84 -j DNAT --to-destination 172.30.0.2:80
done
bx timeout 120 "$PY" "$PEER" listen 0.0.0.0 80 eof send=$MID >"$SN_WORK/b.out" 2>&1 &
SN_PIDS+=($!)
wait_for bx sh -c "ss -Hltn 'sport = :80' | grep -q ." || fail "the backend did not listen"
add '"proto":"tcp","host_addr":"198.51.100.1","host_port":8084,"guest_port":84' >/dev/null
timeout 60 "$PY" "$PEER" connect 198.51.100.1 8084 src=198.51.100.7 from=41004 send=$MID shut eof \
	>"$SN_WORK/h.out" 2>&1 || fail "DNAT: $(cat "$SN_WORK/h.out")"
wait_for grep -q '^sent' "$SN_WORK/b.out" || fail "DNAT: the backend did not finish: $(cat "$SN_WORK/b.out")"
[ "$(peer_of "$SN_WORK/b.out")" = "198.51.100.7 41004" ] ||
	fail "DNAT: the backend saw $(peer_of "$SN_WORK/b.out"), not 198.51.100.7 41004"
[ "$(sums "$SN_WORK/h.out" | tr '\n' ' ')" = "$(sums "$SN_WORK/b.out" | tr '\n' ' ')" ] ||
	fail "DNAT: bytes differ: $(cat "$SN_WORK/h.out") / $(cat "$SN_WORK/b.out")"
ok "DNAT to a backend behind a bridge: it saw 198.51.100.7 port 41004, its replies came back ($MID bytes each way)"

# the same with mode splice: the backend sees the namespace's own address
bx timeout 120 "$PY" "$PEER" listen 0.0.0.0 80 eof >"$SN_WORK/b.out" 2>&1 &
SN_PIDS+=($!)
wait_for bx sh -c "ss -Hltn 'sport = :80' | grep -q ." || fail "the backend did not listen again"
add '"proto":"tcp","host_addr":"198.51.100.1","host_port":8085,"guest_port":84,"mode":"splice"' >/dev/null
timeout 60 "$PY" "$PEER" connect 198.51.100.1 8085 src=198.51.100.7 send=4096 close \
	>"$SN_WORK/h.out" 2>&1 || fail "DNAT, splice: $(cat "$SN_WORK/h.out")"
wait_for grep -q '^eof' "$SN_WORK/b.out" || fail "DNAT, splice: the backend read nothing"
[ "$(peer_of "$SN_WORK/b.out" | cut -d' ' -f1)" = 10.0.2.100 ] ||
	fail "DNAT, mode splice: the backend saw $(peer_of "$SN_WORK/b.out")"
ok "DNAT, mode splice: the backend saw 10.0.2.100 (splice does not keep the client's address)"

# --- 5000 connections at once from a non-loopback client, each echoed
# (its source address is the one it connects to, 198.51.100.1)
nsx "$FWDTOOL" echo-server 85 &
SN_PIDS+=($!)
wait_for nsx sh -c "ss -Hltn 'sport = :85' | grep -q ." || fail "the guest's echo server did not start"
idn=$(add '"proto":"tcp","host_addr":"198.51.100.1","host_port":8086,"guest_port":85')
timeout 170 "$FWDTOOL" storm 198.51.100.1 8086 "$CONNS" 2048 >"$SN_WORK/storm" 2>&1 || true
grep -qx "connected $CONNS" "$SN_WORK/storm" || fail "$CONNS connections: $(cat "$SN_WORK/storm")"
grep -qx "echoed $CONNS" "$SN_WORK/storm" || fail "$CONNS connections: not all echoed: $(cat "$SN_WORK/storm")"
r=$(api '{"execute":"get_stats"}')
tapn=$(jq ".return.entries[] | select(.id == $idn) | .tap.connections_total" <<<"$r")
[ "$tapn" = "$CONNS" ] || fail "get_stats: $tapn connections through tap0, not $CONNS: $r"
ok "$CONNS connections at once from 198.51.100.1, each echoed byte-exact; get_stats counted $CONNS through tap0"

# --- removal with a connection open: it carries on; new ones are refused
mkfifo "$SN_WORK/go"
guest_listen 80 "$SN_WORK/g.out" "wait=$SN_WORK/go" eof
timeout 90 "$PY" "$PEER" connect 198.51.100.1 8080 src=198.51.100.7 send=$MID close \
	>"$SN_WORK/h.out" 2>&1 &
h=$!
SN_PIDS+=("$h")
wait_for grep -q '^peer' "$SN_WORK/g.out" || fail "removal: the guest did not accept"
[ "$(api "{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":$id4}}")" = '{"return":{}}' ] ||
	fail "remove_hostfwd $id4"
timeout 10 sh -c "echo go >'$SN_WORK/go'" || fail "removal: the guest's reader is gone"
sn_wait_exit "$h" 60
wait_for grep -q '^eof' "$SN_WORK/g.out" || fail "removal: the guest did not read to the end"
[ "$(sums "$SN_WORK/h.out")" = "$(sums "$SN_WORK/g.out")" ] ||
	fail "removal: bytes differ: $(cat "$SN_WORK/h.out") / $(cat "$SN_WORK/g.out")"
out=$(timeout 30 "$PY" "$PEER" connect 198.51.100.1 8080 2>&1) && fail "removal: still listening: $out"
ok "removed with a connection open: its $MID bytes arrived byte-exact; the port no longer listens"

# --- a restart from the state file keeps the forwards and their modes
want=$(api '{"execute":"list_hostfwd"}')
kill "$SN_PID"
sn_wait_exit "$SN_PID" 30
sn_start -c --enable-ipv6 --api-socket "$SN_API" --state-file "$STATE" "$CPID" tap0
got=$(api '{"execute":"list_hostfwd"}')
[ "$got" = "$want" ] || fail "after a restart: $got, not $want"
seen_as "after a restart, mode tap" 82 "10.0.2.2 41005" 127.0.0.1 8082 from=41005
ok "restarted from the state file: the same forwards and modes; mode tap still carries the client's port"

# --- without --enable-ipv6 the guest has no IPv6 address to be reached at:
# mode auto splices an IPv6 client
kill "$SN_PID"
sn_wait_exit "$SN_PID" 30
sn_start -c --api-socket "$SN_API" --state-file "$STATE" "$CPID" tap0
seen_as "an IPv6 client without --enable-ipv6" 81 10.0.2.100 2001:db8::1 8081 src=2001:db8::7
ok "without --enable-ipv6, mode auto splices an IPv6 client (the guest sees 10.0.2.100)"

# --- UDP through tap0, with a short --udp-timeout for the expiry check
kill "$SN_PID"
sn_wait_exit "$SN_PID" 30
sn_start -c --enable-ipv6 --udp-timeout=2 --api-socket "$SN_API" --state-file "$STATE" "$CPID" tap0
# the guest's UDP services: each datagram answered with its sender and
# itself (port 53), or with its sender, length and SHA256 (port 54)
nsx python3 "$UDPPEER" echo 53 --bind :: --from >"$SN_WORK/e53.out" 2>&1 &
SN_PIDS+=($!)
nsx python3 "$UDPPEER" echo 54 --bind :: --sum >"$SN_WORK/e54.out" 2>&1 &
SN_PIDS+=($!)
for p in 53 54; do
	wait_for nsx sh -c "ss -Hlun 'sport = :$p' | grep -q ." || fail "the guest's UDP service on $p did not start"
done
# ustat ID PATH: one counter of forward ID from get_stats (jq PATH)
ustat() { api '{"execute":"get_stats"}' | jq -r ".return.entries[] | select(.id == $1) | $2"; }
# uask ADDR PORT SRC SPORT: each line of stdin one datagram from SRC:SPORT
# to ADDR:PORT, on a connected socket (replies from elsewhere are not
# taken); the replies on stdout
uask() { timeout 60 python3 "$UDPPEER" send "$1" "$2" --bind "$3" --bind-port "$4" --connect; }
# usend SRC SPORT ADDR PORT: one datagram, no reply awaited
usend() {
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.sendto(b"x\n", (sys.argv[3], int(sys.argv[4])))' "$@" || fail "cannot send from $1"
}
LINES=$'one\ntwo two\nthree three three\n'

u4=$(add '"proto":"udp","host_addr":"0.0.0.0","host_port":5300,"guest_port":53')
got=$(uask 198.51.100.1 5300 198.51.100.7 42000 <<<"${LINES%$'\n'}" 2>&1) || fail "UDP, IPv4: $got"
want=$'198.51.100.7 42000 one\n198.51.100.7 42000 two two\n198.51.100.7 42000 three three three'
[ "$got" = "$want" ] || fail "UDP, IPv4: the replies were: $got"
ok "UDP, IPv4: the guest saw 198.51.100.7 port 42000; three datagrams and their replies byte-exact, one by one"

head -c 20000 /dev/urandom >"$SN_WORK/big"
add '"proto":"udp","host_addr":"198.51.100.1","host_port":5301,"guest_port":54' >/dev/null
got=$(timeout 60 python3 "$UDPPEER" send 198.51.100.1 5301 --bind 198.51.100.7 --bind-port 42001 \
	--connect --whole <"$SN_WORK/big" 2>&1) || fail "UDP, 20000 bytes: $got"
[ "$got" = "198.51.100.7 42001 20000 $(sha256sum <"$SN_WORK/big" | cut -d' ' -f1)" ] ||
	fail "UDP, 20000 bytes: the guest answered: $got"
ok "UDP: a datagram of 20000 bytes (past the MTU: fragments) reached the guest whole from 198.51.100.7 port 42001"

wait_for global6 || fail "tap0 got no IPv6 address after the restart"
u6=$(add '"proto":"udp","host_addr":"::","host_port":5302,"guest_port":53')
got=$(uask 2001:db8::1 5302 2001:db8::7 42002 <<<"${LINES%$'\n'}" 2>&1) || fail "UDP, IPv6: $got"
[ "$got" = "${want//198.51.100.7 42000/2001:db8::7 42002}" ] || fail "UDP, IPv6: the replies were: $got"
[ "$(ustat "$u6" .tap.connections_total)" = 1 ] || fail "UDP, IPv6: $(ustat "$u6" .)"
ok "UDP, IPv6: the guest saw 2001:db8::7 port 42002; the datagrams and replies byte-exact"

# replies past the MTU: the guest's kernel fragments them, and they are
# put together before they go to the client
long=$(head -c 3000 /dev/zero | tr '\0' x)
add '"proto":"udp","host_addr":"198.51.100.1","host_port":5304,"guest_port":53' >/dev/null
got=$(uask 198.51.100.1 5304 198.51.100.7 42005 <<<"$long" 2>&1) || fail "UDP, a long reply: ${got:0:300}"
[ "$got" = "198.51.100.7 42005 $long" ] || fail "UDP, a long reply: ${got:0:300}..."
got=$(uask 2001:db8::1 5302 2001:db8::7 42006 <<<"$long" 2>&1) || fail "UDP, IPv6, a long reply: ${got:0:300}"
[ "$got" = "2001:db8::7 42006 $long" ] || fail "UDP, IPv6, a long reply: ${got:0:300}..."
ok "UDP: replies of 3020 bytes (the guest fragments them) reached the clients whole, IPv4 and IPv6"

# DNAT in the namespace to the backend behind the bridge: it sees the client
bx python3 "$UDPPEER" echo 53 --from >"$SN_WORK/be53.out" 2>&1 &
SN_PIDS+=($!)
wait_for bx sh -c "ss -Hlun 'sport = :53' | grep -q ." || fail "the backend's UDP service did not start"
nsx iptables -t nat -A PREROUTING -d 10.0.2.100 -p udp --dport 55 -j DNAT --to-destination 172.30.0.2:53
add '"proto":"udp","host_addr":"198.51.100.1","host_port":5305,"guest_port":55' >/dev/null
got=$(uask 198.51.100.1 5305 198.51.100.7 42007 <<<one 2>&1) || fail "UDP, DNAT: $got"
[ "$got" = "198.51.100.7 42007 one" ] || fail "UDP, DNAT: the backend answered: $got"
ok "UDP, DNAT to a backend behind a bridge: it saw 198.51.100.7 port 42007, its reply came back"

# a client in the guest's own network (10.0.2.50): mode auto keeps it on the
# UDP forwarder's flows; mode tap drops its datagrams, counted, the reason logged
got=$(uask 198.51.100.1 5304 10.0.2.50 42010 <<<one 2>&1) || fail "UDP, a client in 10.0.2.0/24: $got"
[ "${got%% *}" = 10.0.2.100 ] || fail "UDP, a client in 10.0.2.0/24, mode auto: the guest saw $got"
un=$(add '"proto":"udp","host_addr":"198.51.100.1","host_port":5306,"guest_port":53,"mode":"tap"')
usend 10.0.2.50 42011 198.51.100.1 5306
tap_err1() { [ "$(ustat "$un" .tap.errors)" = 1 ]; }
wait_for tap_err1 || fail "UDP, a client in 10.0.2.0/24, mode tap: not counted: $(ustat "$un" .)"
grep -q "no flow through tap0 for a new client: the client's address is in the guest's own network" "$SN_LOG" ||
	fail "UDP, a client in 10.0.2.0/24, mode tap: no reason logged"
ok "UDP, a client in the guest's network: the UDP forwarder's flows in mode auto; dropped in mode tap, counted, the reason logged"

got=$(uask 127.0.0.1 5300 127.0.0.1 42003 <<<one 2>&1) || fail "UDP, loopback client: $got"
[ "${got%% *}" = 10.0.2.100 ] || fail "UDP, loopback client in mode auto: the guest saw $got"
ok "UDP: a loopback client in mode auto goes by the UDP forwarder's flows (the guest sees 10.0.2.100)"

ut=$(add '"proto":"udp","host_addr":"127.0.0.1","host_port":5303,"guest_port":53,"mode":"tap"')
got=$(uask 127.0.0.1 5303 127.0.0.1 42004 <<<one 2>&1) || fail "UDP, mode tap: $got"
[ "$got" = "10.0.2.2 42004 one" ] || fail "UDP, mode tap, loopback client: the guest saw $got"
ok "UDP, mode tap: a loopback client appears as 10.0.2.2 port 42004"

# counters: the IPv4 forward had one client through tap0 and one by the
# UDP forwarder; 30 bytes in three datagrams, and their replies
r=$(ustat "$u4" .)
want_from=$((${#want} + 1))
[ "$(jq -c '.tap | [.connections_total, .bytes_to_guest, .bytes_from_guest, .errors]' <<<"$r")" = "[1,30,$want_from,0]" ] &&
	[ "$(jq .connections_total <<<"$r")" = 2 ] ||
	fail "get_stats for the IPv4 UDP forward: $r (want tap: 1 flow, 30 bytes in, $want_from out)"
ok "get_stats: tap0 counted 1 flow, 30 bytes to the guest and $want_from back; 2 flows in all"

# expiry: --udp-timeout=2 closes the idle flows; the next datagram opens one
expired() { [ "$(ustat "$u4" .tap.connections_open)" = 0 ]; }
wait_for expired || fail "UDP: the idle flow is still open: $(ustat "$u4" .)"
got=$(uask 198.51.100.1 5300 198.51.100.7 42000 <<<again 2>&1) || fail "UDP after expiry: $got"
[ "$got" = "198.51.100.7 42000 again" ] || fail "UDP after expiry: $got"
[ "$(ustat "$u4" '.tap | [.connections_open, .connections_total]' | jq -c .)" = "[1,2]" ] ||
	fail "UDP after expiry: $(ustat "$u4" .)"
ok "UDP: the idle flow expired (--udp-timeout=2); the client's next datagram opened another"

# removal ends the flows and closes the host socket (the main thread's
# copy too): the port refuses, and a new forward can bind it at once
got=$(uask 127.0.0.1 5303 127.0.0.1 42004 <<<one 2>&1) || fail "UDP, mode tap, before removal: $got"
[ "$(ustat "$ut" .tap.connections_open)" = 1 ] || fail "UDP, mode tap: no flow open: $(ustat "$ut" .)"
[ "$(api "{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":$ut}}")" = '{"return":{}}' ] ||
	fail "remove_hostfwd $ut"
got=$(uask 127.0.0.1 5303 127.0.0.1 42004 <<<one 2>&1) && fail "UDP: still forwarded after removal: $got"
grep -q "ConnectionRefusedError" <<<"$got" || fail "UDP after removal: $got"
ut=$(add '"proto":"udp","host_addr":"127.0.0.1","host_port":5303,"guest_port":53,"mode":"tap"')
[ "$(ustat "$ut" '.tap | [.connections_open, .connections_total]' | jq -c .)" = "[0,0]" ] ||
	fail "UDP: the new forward has flows: $(ustat "$ut" .)"
got=$(uask 127.0.0.1 5303 127.0.0.1 42004 <<<one 2>&1) || fail "UDP, added again: $got"
[ "$got" = "10.0.2.2 42004 one" ] || fail "UDP, added again: $got"
ok "UDP: removal ended the flow and closed the port (refused); added again, it binds and carries a new flow"
# --- restarted without --enable-ipv6: the UDP forwards and their modes
# come back; mode auto keeps an IPv6 client on the UDP forwarder's flows,
# mode tap drops its datagrams, counted, the reason logged
want=$(api '{"execute":"list_hostfwd"}')
kill "$SN_PID"
sn_wait_exit "$SN_PID" 30
sn_start -c --udp-timeout=2 --api-socket "$SN_API" --state-file "$STATE" "$CPID" tap0
got=$(api '{"execute":"list_hostfwd"}')
[ "$got" = "$want" ] || fail "after a restart: $got, not $want"
got=$(uask 127.0.0.1 5303 127.0.0.1 42009 <<<one 2>&1) || fail "UDP, mode tap, after a restart: $got"
[ "$got" = "10.0.2.2 42009 one" ] || fail "UDP, mode tap, after a restart: $got"
got=$(uask 2001:db8::1 5302 2001:db8::7 42008 <<<one 2>&1) || fail "UDP, IPv6 without --enable-ipv6: $got"
[ "${got%% *}" = 10.0.2.100 ] || fail "UDP, IPv6 without --enable-ipv6, mode auto: the guest saw $got"
u6t=$(add '"proto":"udp","host_addr":"::","host_port":5307,"guest_port":53,"mode":"tap"')
usend 2001:db8::7 42012 2001:db8::1 5307
v6err() { [ "$(ustat "$u6t" .tap.errors)" = 1 ]; }
wait_for v6err || fail "UDP, IPv6 client without --enable-ipv6, mode tap: not counted: $(ustat "$u6t" .)"
grep -q "no flow through tap0 for a new client: an IPv6 client, and the guest has no IPv6" "$SN_LOG" ||
	fail "UDP, IPv6 client without --enable-ipv6, mode tap: no reason logged"
ok "restarted without --enable-ipv6: UDP forwards and modes kept; an IPv6 client goes by the UDP forwarder in mode auto, is dropped, counted and reported in mode tap"
sn_done
