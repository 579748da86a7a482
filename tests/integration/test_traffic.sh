#!/bin/bash
# test_traffic.sh - traffic through the gateway 10.0.2.2 (the host's 127.0.0.1):
# ping, TCP and UDP echo, 32 MiB both ways byte-exact; --disable-host-loopback.
. "$(dirname "$0")/lib.sh"
sn_sandbox "$@"

# listening OPT PORT: a socket of kind OPT (-t or -u) is bound to PORT
listening() { ss -Hln "$1" "sport = :$2" | grep -q .; }

# tcp_echo ADDR:PORT MSG: send MSG over TCP from the container, print the reply
tcp_echo() { printf '%s\n' "$2" | nsx timeout 60 socat -t 30 -T 30 - "TCP:$1"; }

sn_container
C1=$CPID
sn_start -c "$CPID"

nsx ping -c 1 -W 5 10.0.2.2 >/dev/null || fail "cannot ping the gateway 10.0.2.2"
ok "ping 10.0.2.2"

# TCP echo
socat -t 30 TCP-LISTEN:7001,bind=127.0.0.1,reuseaddr,fork EXEC:cat &
SN_PIDS+=($!)
wait_for listening -t 7001 || fail "TCP echo server did not start"
msg="tcp-$RANDOM-$RANDOM"
out=$(tcp_echo 10.0.2.2:7001 "$msg") || fail "TCP round trip via 10.0.2.2:7001 failed"
[ "$out" = "$msg" ] || fail "TCP echo: sent '$msg', got '$out'"
ok "TCP echo round trip via 10.0.2.2"

# UDP echo: the client waits for the reply (30 s at most)
python3 "$UDPPEER" echo 7002 --bind 127.0.0.1 &
SN_PIDS+=($!)
wait_for listening -u 7002 || fail "UDP echo server did not start"
msg="udp-$RANDOM-$RANDOM"
out=$(printf '%s\n' "$msg" | nsx timeout 60 python3 "$UDPPEER" send 10.0.2.2 7002) || fail "UDP round trip via 10.0.2.2:7002 failed"
[ "$out" = "$msg" ] || fail "UDP echo: sent '$msg', got '$out'"
ok "UDP echo round trip via 10.0.2.2"

# 32 MiB container -> host
head -c 32M /dev/urandom >"$SN_WORK/data"
sum=$(sn_sha256 <"$SN_WORK/data")
socat -u TCP-LISTEN:7003,bind=127.0.0.1,reuseaddr "CREATE:$SN_WORK/up" &
L=$!
SN_PIDS+=($L)
wait_for listening -t 7003 || fail "upload listener did not start"
nsx timeout 30 socat -u "OPEN:$SN_WORK/data" TCP:10.0.2.2:7003 || fail "upload to 10.0.2.2:7003 failed"
sn_wait_exit "$L" 20
[ "$SN_RC" = 0 ] || fail "upload listener exit status $SN_RC"
[ "$(stat -c %s "$SN_WORK/up")" = $((32 << 20)) ] || fail "upload: got $(stat -c %s "$SN_WORK/up") bytes, not 32 MiB"
[ "$(sn_sha256 <"$SN_WORK/up")" = "$sum" ] || fail "upload: sha256 differs"
ok "32 MiB container -> host byte-exact"

# 32 MiB host -> container
socat -u "OPEN:$SN_WORK/data" TCP-LISTEN:7004,bind=127.0.0.1,reuseaddr &
L=$!
SN_PIDS+=($L)
wait_for listening -t 7004 || fail "download listener did not start"
nsx timeout 30 socat -u TCP:10.0.2.2:7004 "CREATE:$SN_WORK/down" || fail "download from 10.0.2.2:7004 failed"
sn_wait_exit "$L" 20
[ "$SN_RC" = 0 ] || fail "download sender exit status $SN_RC"
[ "$(stat -c %s "$SN_WORK/down")" = $((32 << 20)) ] || fail "download: got $(stat -c %s "$SN_WORK/down") bytes, not 32 MiB"
[ "$(sn_sha256 <"$SN_WORK/down")" = "$sum" ] || fail "download: sha256 differs"
ok "32 MiB host -> container byte-exact"
rm -f "$SN_WORK/data" "$SN_WORK/up" "$SN_WORK/down"

# --disable-host-loopback, in a second container, while the echo server is up
sn_container
sn_start -c --disable-host-loopback "$CPID"
out=$(echo alive | timeout 60 socat -t 30 - TCP:127.0.0.1:7001) && [ "$out" = alive ] || fail "TCP echo server on 127.0.0.1:7001 is down"
msg="tcp-$RANDOM-$RANDOM"
if out=$(tcp_echo 10.0.2.2:7001 "$msg" 2>&1); then
	fail "--disable-host-loopback: connection to 10.0.2.2:7001 succeeded: '$out'"
fi
case $out in *"$msg"*) fail "--disable-host-loopback: the echo server answered: '$out'" ;; esac
ok "--disable-host-loopback: TCP to 10.0.2.2:7001 fails"
nsx ping -c 1 -W 5 10.0.2.2 >/dev/null || fail "--disable-host-loopback: cannot ping the gateway 10.0.2.2"
ok "--disable-host-loopback: ping 10.0.2.2 still works"
# ... and the first container still reaches the same server
msg="tcp-$RANDOM-$RANDOM"
out=$(CPID=$C1 tcp_echo 10.0.2.2:7001 "$msg") &&
	[ "$out" = "$msg" ] || fail "the first container lost the echo server: '$out'"
ok "the first container still reaches 10.0.2.2:7001"
sn_done
