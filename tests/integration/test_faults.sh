#!/bin/bash
# test_faults.sh - the daemon under failure: its namespace helper killed, the
# container gone with forwards open, a low fd limit with clients piling in,
# and a guest flooding the gateway while a forward carries data.
. "$(dirname "$0")/lib.sh"
sn_sandbox "$@"
: "${FWDTOOL:?FWDTOOL must name the fwdtool test peer}"

# add SPEC: add_hostfwd, expecting success
add() {
	local r
	r=$(api "{\"execute\":\"add_hostfwd\",\"arguments\":{$1}}")
	[[ $r == '{"return":{"id":'* ]] || fail "add {$1}: $r"
}
echo_server() {
	nsx "$FWDTOOL" echo-server 7000 &
	SN_PIDS+=($!)
	wait_for sh -c "nsenter -t $CPID -n ss -Htln | grep -q ':7000 '" || fail "no echo server"
}

# --- the namespace helper is killed. Started on demand (the default), it
# is started again for the next connection, and that is logged; kept from
# start-up (--enable-sandbox, --enable-seccomp: the hardened pass), it
# cannot be replaced, so the daemon exits 1 with a clear message, no hang.
sn_container
echo_server
SN_API="$SN_WORK/a.sock"
sn_start -c -a "$SN_API" "$CPID"
add '"proto":"tcp","host_addr":"127.0.0.1","host_port":17000,"guest_port":7000'
HELPER=$(pgrep -P "$SN_PID" || true)
[ -n "$HELPER" ] && [ "$(cat /proc/"$HELPER"/comm)" = slirpnetd-ns ] || fail "no namespace helper under $SN_PID"
kill -9 "$HELPER"
if [ -z "${SN_HARDENED:-}" ]; then
	[ "$(echo again | timeout 60 socat -t 30 - TCP:127.0.0.1:17000)" = again ] ||
		fail "no echo through the forward once the helper was killed"
	grep -q "namespace helper (PID $HELPER) ended (killed by signal 9.*); starting a new one" "$SN_LOG" ||
		fail "no message naming the helper: $(tail -3 "$SN_LOG")"
	NEW=$(pgrep -P "$SN_PID" -x slirpnetd-ns) && [ "$NEW" != "$HELPER" ] || fail "no new helper"
	kill -0 "$SN_PID" || fail "the daemon exited"
	ok "helper killed: a new one carried the next connection, \"$(grep -m1 -o 'the namespace helper.*' "$SN_LOG")\""
	kill -TERM "$SN_PID"
	sn_wait_exit "$SN_PID"
else
	sn_wait_exit "$SN_PID"
	[ "$SN_RC" = 1 ] || fail "exit status $SN_RC after the helper was killed, not 1"
	grep -q "namespace helper (PID $HELPER) ended (killed by signal 9" "$SN_LOG" || fail "no message naming the helper: $(tail -3 "$SN_LOG")"
	ok "helper killed: exit 1, \"$(grep -m1 -o 'the namespace helper.*' "$SN_LOG")\""
fi
[ ! -e "$SN_API" ] || fail "the API socket was left behind"

# --- the container goes away with a forward and a connection open
sn_container
echo_server
SN_API="$SN_WORK/b.sock"
sn_start -c -a "$SN_API" "$CPID"
add '"proto":"tcp","host_addr":"127.0.0.1","host_port":17001,"guest_port":7000'
coproc CONN { timeout 30 socat - TCP:127.0.0.1:17001; }
SN_PIDS+=($CONN_PID)
echo ping >&"${CONN[1]}"
read -r -t 30 line <&"${CONN[0]}" && [ "$line" = ping ] || fail "no echo before the container went"
kill -9 "$CPID"
sn_wait_exit "$SN_PID"
[ "$SN_RC" = 0 ] || fail "exit status $SN_RC when the container went, not 0"
[ ! -e "$SN_API" ] || fail "the API socket was left behind"
ok "container gone with a connection open: clean exit, socket removed"

# --- a low fd limit: new clients are refused or wait, the open connection
# and the API keep working, the cause is logged once, and it recovers
sn_container
echo_server
SN_API="$SN_WORK/c.sock"
REAL=$SLIRPNETD
SLIRPNETD="$SN_WORK/lowfd"
printf '#!/bin/sh\nulimit -n 64\nexec %s "$@"\n' "$REAL" >"$SLIRPNETD"
chmod +x "$SLIRPNETD"
sn_start -c -a "$SN_API" "$CPID"
SLIRPNETD=$REAL
[ "$(awk '/open files/ { print $4 }' /proc/"$SN_PID"/limits)" = 64 ] || fail "the fd limit is not 64"
add '"proto":"tcp","host_addr":"127.0.0.1","host_port":17002,"guest_port":7000'
coproc KEEP { timeout 60 socat - TCP:127.0.0.1:17002; }
SN_PIDS+=($KEEP_PID)
echo first >&"${KEEP[1]}"
read -r -t 30 line <&"${KEEP[0]}" && [ "$line" = first ] || fail "no echo on the first connection"
pile=()
for i in $(seq 60); do
	exec {fd}<>/dev/tcp/127.0.0.1/17002 || break
	pile+=("$fd")
done
wait_for grep -qi 'too many open files' "$SN_LOG" || fail "the fd shortage was not logged"
kill -0 "$SN_PID" || fail "the daemon died at the fd limit"
echo second >&"${KEEP[1]}"
read -r -t 30 line <&"${KEEP[0]}" && [ "$line" = second ] || fail "the open connection stopped at the fd limit"
api '{"execute":"list_hostfwd"}' | grep -q '"entries"' || fail "the API stopped answering at the fd limit"
n=$(grep -c 'Too many open files\|too many open files' "$SN_LOG" || true)
[ "$n" -ge 1 ] && [ "$n" -le 3 ] || fail "the fd shortage was logged $n times: $(tail -5 "$SN_LOG")"
for fd in "${pile[@]}"; do exec {fd}>&-; done
wait_for sh -c '[ "$(echo back | timeout 15 socat -t 10 - TCP:127.0.0.1:17002)" = back ]' ||
	fail "no recovery once fds were free"
ok "fd limit 64: ${#pile[@]} clients piled in, logged $n time(s), the open connection and the API kept working, recovered"

# --- the guest floods the gateway (UDP, and connections to a closed port)
# (datagrams below the MTU: test_guard.sh sends a burst of fragmented ones,
# which crashes libslirp 4.7.0 unguarded, slirp4netns with it)
# while a forward carries 16 MiB: the data arrives intact, the API answers
# within 10 s (a bound for a starved API, not a measurement: a sanitizer
# build on a loaded machine takes a good part of a second)
sn_container
echo_server
SN_API="$SN_WORK/d.sock"
sn_start -c -a "$SN_API" "$CPID"
add '"proto":"tcp","host_addr":"127.0.0.1","host_port":17003,"guest_port":7000'
nsx timeout 20 socat -b 1000 -u /dev/zero UDP:10.0.2.2:9 2>/dev/null &
SN_PIDS+=($!)
nsx timeout 20 bash -c 'while :; do (exec 3<>/dev/tcp/10.0.2.2/1) 2>/dev/null; done' &
SN_PIDS+=($!)
head -c 16M /dev/urandom >"$SN_WORK/data"
want=$(sn_sha256 <"$SN_WORK/data")
got=$(timeout 60 socat -t 30 TCP:127.0.0.1:17003 - <"$SN_WORK/data" | sn_sha256)
[ "$got" = "$want" ] || fail "16 MiB through the forward differ under the flood"
t0=$(date +%s%N)
api '{"execute":"get_stats"}' | grep -q '"bytes_to_guest":16777216' || fail "get_stats under the flood: $(api '{"execute":"get_stats"}')"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 10000 ] || fail "the API took $ms ms under the flood"
kill -0 "$SN_PID" || fail "the daemon died under the flood"
ok "flood at 10.0.2.2: 16 MiB intact, the API answered in $ms ms"
sn_done
