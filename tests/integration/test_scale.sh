#!/bin/bash
# test_scale.sh - one forward holds thousands of connections at once: 5000
# clients connect through a single TCP forward, all are established before
# any sends, then each sends its own bytes and must get exactly them back.
. "$(dirname "$0")/lib.sh"
sn_sandbox "$@"
: "${FWDTOOL:?FWDTOOL must name the fwdtool test peer}"
N=${SN_SCALE_CONNS:-5000}

# Each connection costs the daemon two fds, the echo server and the client
# one each: raise the soft limits to the hard one for all of them.
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -gt $((2 * N + 100)) ] || fail "the fd limit $(ulimit -n) is too low for $N connections"

sn_container
SN_API="$SN_WORK/api.sock"
sn_start -c -a "$SN_API" "$CPID"
nsx "$FWDTOOL" echo-server 7000 &
SN_PIDS+=($!)
wait_for sh -c "nsenter -t $CPID -n ss -Htln | grep -q ':7000 '" || fail "the echo server did not start"
r=$(api '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":17000,"guest_port":7000}}')
[ "$r" = '{"return":{"id":1}}' ] || fail "add_hostfwd: $r"

timeout 170 "$FWDTOOL" storm 127.0.0.1 17000 "$N" 4096 >"$SN_WORK/storm" 2>&1 || true
grep -qx "connected $N" "$SN_WORK/storm" || fail "not all connected: $(cat "$SN_WORK/storm")"
grep -qx "echoed $N" "$SN_WORK/storm" || fail "not all echoed: $(cat "$SN_WORK/storm")"
stats=$(api '{"execute":"get_stats"}')
[ "$(jq '.return.entries[0].connections_total' <<<"$stats")" = "$N" ] || fail "get_stats: $stats"
[ "$(jq '.return.entries[0].errors' <<<"$stats")" = 0 ] || fail "errors counted: $stats"
ok "$N connections held at once through one forward, each echoed byte-exact ($stats)"

# They close; the daemon drops them all and keeps serving.
wait_for sh -c "[ \"\$(printf '%s' '{\"execute\":\"get_stats\"}' | timeout 5 socat -t 5 - 'UNIX-CONNECT:$SN_API' | jq .return.entries[0].connections_open)\" = 0 ]" ||
	fail "connections still open after the clients left: $(api '{"execute":"get_stats"}')"
[ "$(echo hi | timeout 60 socat -t 30 - TCP:127.0.0.1:17000)" = hi ] || fail "no echo after the storm"
fds=$(ls /proc/"$SN_PID"/fd | wc -l)
[ "$fds" -lt 64 ] || fail "the daemon holds $fds fds after all connections closed"
ok "all closed: connections_open 0, $fds fds left, the forward still echoes"
sn_done
