#!/bin/bash
# test_ctl.sh - slirpnetd-ctl against the real daemon: add, list, remove,
# stats and info, --json, every exit status, and data through its forwards.
. "$(dirname "$0")/lib.sh"
: "${SLIRPNETD_CTL:?SLIRPNETD_CTL must name the slirpnetd-ctl binary}"
SLIRPNETD_CTL=$(realpath "$SLIRPNETD_CTL")
export SLIRPNETD_CTL
sn_sandbox "$@"
unset SLIRPNETD_API_SOCKET

# ctl ARGS...: run slirpnetd-ctl; sets OUT, ERR and RC
ctl() {
	RC=0
	OUT=$(timeout 30 "$SLIRPNETD_CTL" "$@" 2>"$SN_WORK/ctl.err") || RC=$?
	ERR=$(cat "$SN_WORK/ctl.err")
}
# expect RC ARGS...: slirpnetd-ctl ARGS must exit with RC
expect() {
	local want=$1
	shift
	ctl "$@"
	[ "$RC" = "$want" ] ||
		fail "slirpnetd-ctl $*: exit $RC, not $want (stdout: '$OUT', stderr: '$ERR')"
}
# expect_err RC NEEDLE ARGS...: exit RC and "slirpnetd-ctl: ...NEEDLE..."
# on stderr, nothing on stdout
expect_err() {
	local want=$1 needle=$2
	shift 2
	expect "$want" "$@"
	[[ $ERR == "slirpnetd-ctl: "*"$needle"* ]] ||
		fail "slirpnetd-ctl $*: stderr '$ERR' lacks '$needle'"
	[ -z "$OUT" ] || fail "slirpnetd-ctl $*: stdout '$OUT' on an error"
}
# bg CMD...: run CMD in the background, killed at exit
bg() { "$@" & SN_PIDS+=($!); }

# --- without a daemon: help, version, usage errors (2), no socket (3)
expect 0 --help
for w in "add tcp|udp" "remove ID" stats info SLIRPNETD_API_SOCKET "Exit status" Examples; do
	[[ $OUT == *"$w"* ]] || fail "--help lacks '$w'"
done
expect 0 --version
[[ $OUT == "slirpnetd-ctl version "* ]] || fail "--version: $OUT"
ok "--help documents commands, environment and exit status; --version"

expect_err 2 "no control socket given" list
expect_err 2 "no command given" -a "$SN_WORK/x.sock"
expect_err 2 'unknown command "frob"' -a "$SN_WORK/x.sock" frob
expect_err 2 'list: unexpected argument "x"' -a "$SN_WORK/x.sock" list x
expect_err 2 "the host port 0 is out of range" -a "$SN_WORK/x.sock" add tcp 0:80
expect_err 2 "the guest port 65536 is out of range" -a "$SN_WORK/x.sock" add tcp 80:65536
expect_err 2 "is not closed" -a "$SN_WORK/x.sock" add tcp '[::1:80:80'
expect_err 2 "too many ':'" -a "$SN_WORK/x.sock" add tcp ::1:80:80
expect_err 2 "--proxy-protocol is for TCP" -a "$SN_WORK/x.sock" add udp 53:53 --proxy-protocol
expect_err 2 "--slirp only applies to add" -a "$SN_WORK/x.sock" list --slirp
expect_err 2 'the ID "abc" is not a positive integer' -a "$SN_WORK/x.sock" remove abc
expect_err 2 'the ID "-3" is not a positive integer' -a "$SN_WORK/x.sock" remove -3
expect_err 2 "unknown option --bogus" -a "$SN_WORK/x.sock" list --bogus
ok "usage errors exit 2 with a message naming the problem"

expect_err 3 "cannot connect to $SN_WORK/none.sock: No such file or directory (is slirpnetd running" \
	-a "$SN_WORK/none.sock" list
SLIRPNETD_API_SOCKET="$SN_WORK/env.sock" expect_err 3 "cannot connect to $SN_WORK/env.sock" list
touch "$SN_WORK/plain"
expect_err 3 "the file is not a socket" -a "$SN_WORK/plain" list
# a socket file whose listener is gone
socat UNIX-LISTEN:"$SN_WORK/stale.sock" - </dev/null >/dev/null 2>&1 &
STALE=$!
SN_PIDS+=("$STALE")
wait_for test -S "$SN_WORK/stale.sock" || fail "stale socket not made"
kill -9 "$STALE"
wait "$STALE" 2>/dev/null || true
expect_err 3 "Connection refused (nothing listens there" -a "$SN_WORK/stale.sock" list
ok "an unreachable daemon exits 3, naming the socket and the cause"

# --- peers that are not slirpnetd: a reply that is no JSON, and none at all
bg socat -t 30 UNIX-LISTEN:"$SN_WORK/garbage.sock",fork SYSTEM:'cat >/dev/null; echo garbage'
wait_for test -S "$SN_WORK/garbage.sock" || fail "garbage server did not start"
expect_err 3 "the daemon's reply is not valid: not JSON" -a "$SN_WORK/garbage.sock" list
bg socat -t 30 UNIX-LISTEN:"$SN_WORK/mute.sock",fork SYSTEM:'sleep 60'
wait_for test -S "$SN_WORK/mute.sock" || fail "mute server did not start"
t0=$(date +%s)
expect_err 3 "no answer within 10 s" -a "$SN_WORK/mute.sock" info
t=$(($(date +%s) - t0))
[ "$t" -ge 9 ] && [ "$t" -le 30 ] || fail "timed out after ${t}s, not 10 (plus start-up, at most 20 s on a loaded machine)"
ok "an invalid reply and a silent peer (after ${t}s) exit 3"

# --- the daemon, with a TCP echo on 80 and a UDP echo on 53 in the container
sn_container
SN_API="$SN_WORK/api.sock"
sn_start -c -a "$SN_API" "$CPID"
bg nsx socat -t 30 TCP-LISTEN:80,reuseaddr,fork EXEC:cat
bg nsx python3 "$UDPPEER" echo 53
wait_for nsx sh -c 'ss -Hltn | grep -q ":80 "' || fail "TCP server did not start"
wait_for nsx sh -c 'ss -Hlun | grep -q ":53 "' || fail "UDP server did not start"

expect 0 -a "$SN_API" add tcp 127.0.0.1:8080:80
[ "$OUT" = 1 ] || fail "add with -a printed '$OUT', not 1"
SLIRPNETD_API_SOCKET=$SN_API expect 0 add udp 5353:53 --guest-addr 10.0.2.100
[ "$OUT" = 2 ] || fail "add with SLIRPNETD_API_SOCKET printed '$OUT', not 2"
# options after the command, -a winning over the environment
SLIRPNETD_API_SOCKET="$SN_WORK/none.sock" expect 0 add tcp '[::1]:8081:80' -a "$SN_API"
[ "$OUT" = 3 ] || fail "add [::1] printed '$OUT'"
expect 0 -a "$SN_API" add tcp 8082:80 --slirp
[ "$OUT" = 4 ] || fail "add --slirp printed '$OUT'"
expect 0 --json -a "$SN_API" add tcp 127.0.0.1:8083:80 --proxy-protocol --source-ip
[ "$OUT" = '{"return":{"id":5}}' ] || fail "add --json printed '$OUT'"
ok "add with -a and with SLIRPNETD_API_SOCKET, IPv6, --slirp, --json"

expect 0 -a "$SN_API" list
want="ID  PROTO  HOST            GUEST          MODE
 1  tcp    127.0.0.1:8080  10.0.2.100:80  default
 2  udp    0.0.0.0:5353    10.0.2.100:53  default
 3  tcp    [::1]:8081      10.0.2.100:80  default
 4  tcp    0.0.0.0:8082    10.0.2.100:80  slirp
 5  tcp    127.0.0.1:8083  10.0.2.100:80  default,proxy-protocol,source-ip"
[ "$OUT" = "$want" ] || fail "list table:
$OUT
not:
$want"
expect 0 -a "$SN_API" --json list
[ "$OUT" = "$(api '{"execute":"list_hostfwd"}')" ] || fail "--json list is not the daemon's reply: $OUT"
[ "$(jq '.entries | length' <<<"$OUT")" = 5 ] || fail "--json list: $OUT"
[ "$(jq -r '.entries[] | select(.id == 3) | .host_addr' <<<"$OUT")" = ::1 ] || fail "--json list: $OUT"
[ "$(jq '.entries[] | select(.id == 5) | .proxy_protocol and .source_ip' <<<"$OUT")" = true ] ||
	fail "--json list: $OUT"
ok "list: the table, and --json verbatim"

# --- data through the forwards added above
r=$(echo hello-tcp | timeout 60 socat -t 30 -T 30 - TCP:127.0.0.1:8080)
[ "$r" = hello-tcp ] || fail "TCP through forward 1: '$r'"
r=$(echo hello-udp | timeout 60 python3 "$UDPPEER" send 127.0.0.1 5353)
[ "$r" = hello-udp ] || fail "UDP through forward 2: '$r'"
r=$(echo hello-ip6 | timeout 60 socat -t 30 -T 30 - 'TCP:[::1]:8081')
[ "$r" = hello-ip6 ] || fail "TCP through forward 3 ([::1]): '$r'"
r=$(echo hello-slirp | timeout 60 socat -t 30 -T 30 - TCP:127.0.0.1:8082)
[ "$r" = hello-slirp ] || fail "TCP through forward 4 (slirp): '$r'"
head -c 4M /dev/urandom >"$SN_WORK/big"
sn_echo_check "4 MiB through forward 1" "$SN_WORK/big" socat -t 30 -T 30 - TCP:127.0.0.1:8080
ok "TCP, UDP, IPv6 and slirp-mode forwards added by slirpnetd-ctl carry data"

# --- stats and info (daemons older than get_stats/get_info refuse them)
ctl -a "$SN_API" stats
if [ "$RC" = 1 ] && [[ $ERR == *"unknown execute"* ]]; then
	echo "note: this slirpnetd has no get_stats; stats checks skipped"
else
	[ "$RC" = 0 ] || fail "stats: exit $RC: $ERR"
	head=$(head -n1 <<<"$OUT")
	[[ $head =~ ^ID\ +PROTO\ +MODE\ +OPEN\ +TOTAL\ +TO-GUEST\ +FROM-GUEST\ +ERRORS$ ]] ||
		fail "stats heading: $head"
	[ "$(wc -l <<<"$OUT")" = 6 ] || fail "stats rows: $OUT"
	grep -Eq '^ +4 +tcp +slirp +- +- +- +- +-$' <<<"$OUT" ||
		fail "stats: forward 4 (slirp) should show no counters: $OUT"
	# forward 1 carried 10 bytes, then 4 MiB, each way
	grep -Eq '^ +1 +tcp +[a-z]+ +[0-9]+ +[0-9]+ +4\.0 MiB +4\.0 MiB +0$' <<<"$OUT" ||
		fail "stats: forward 1 should show 4.0 MiB each way: $OUT"
	expect 0 -a "$SN_API" stats --json
	b=$(jq '.return.entries[] | select(.id == 1) | .bytes_to_guest' <<<"$OUT")
	[ "$b" = $((4 * 1024 * 1024 + 10)) ] || fail "--json stats: bytes_to_guest $b: $OUT"
	ok "stats: the counters table, '-' for slirp mode, and --json"
fi

ctl -a "$SN_API" info
if [ "$RC" = 1 ] && [[ $ERR == *"unknown execute"* ]]; then
	echo "note: this slirpnetd has no get_info; info checks skipped"
else
	[ "$RC" = 0 ] || fail "info: exit $RC: $ERR"
	grep -qx "pid: $SN_PID" <<<"$OUT" || fail "info lacks pid: $SN_PID: $OUT"
	grep -qx "forwards: 5" <<<"$OUT" || fail "info lacks forwards: 5: $OUT"
	grep -qx "tap: tap0" <<<"$OUT" || fail "info lacks tap: tap0: $OUT"
	grep -qx "ipv6: false" <<<"$OUT" || fail "info lacks ipv6: false: $OUT"
	# every member, in the daemon's order (uptime may tick in between)
	human=$(grep -v '^uptime_s: ' <<<"$OUT")
	expect 0 --json info -a "$SN_API"
	viajq=$(jq -r '.return | to_entries[] | "\(.key): \(.value)"' <<<"$OUT" | grep -v '^uptime_s: ')
	[ "$human" = "$viajq" ] || fail "info: '$human' is not the reply '$viajq'"
	ok "info: every member as key: value, in order"
fi

# --- refusals exit 1 with the daemon's reason
expect_err 1 "bad request: remove_hostfwd: bad arguments.id" -a "$SN_API" remove 999
[ "$ERR" = "slirpnetd-ctl: bad request: remove_hostfwd: bad arguments.id" ] || fail "remove 999: $ERR"
expect 1 -a "$SN_API" --json remove 999
[ "$OUT" = '{"error":{"desc":"bad request: remove_hostfwd: bad arguments.id"}}' ] ||
	fail "--json remove 999 printed '$OUT'"
expect_err 1 "already uses 127.0.0.1:8083/tcp" -a "$SN_API" add tcp 127.0.0.1:8083:80
ok "refused requests exit 1 with the daemon's reason"

# --- remove
expect 0 -a "$SN_API" remove 1
[ -z "$OUT" ] || fail "remove printed '$OUT'"
SLIRPNETD_API_SOCKET=$SN_API expect 0 remove 4
expect 0 -a "$SN_API" --json list
[ "$(jq -c '[.entries[].id]' <<<"$OUT")" = '[2,3,5]' ] || fail "after remove: $OUT"
timeout 5 socat -T2 - TCP:127.0.0.1:8080 </dev/null 2>/dev/null && fail "port 8080 still forwarded after remove"
r=$(echo still-here | timeout 60 socat -t 30 -T 30 - 'TCP:[::1]:8081')
[ "$r" = still-here ] || fail "forward 3 broken by removing others: '$r'"
ok "remove stops the forward, leaves the others"

# --- --mode: named in the request, shown by list; an unknown mode refused
expect 0 -a "$SN_API" add tcp 127.0.0.1:8086:80 --mode tap
id=$OUT
expect 0 -a "$SN_API" list
grep -Eq "^ +$id +tcp +127\.0\.0\.1:8086 +10\.0\.2\.100:80 +tap\$" <<<"$OUT" || fail "list: no tap row: $OUT"
r=$(echo hello-tap | timeout 60 socat -t 30 -T 30 - TCP:127.0.0.1:8086)
[ "$r" = hello-tap ] || fail "TCP through a forward in mode tap: '$r'"
expect 0 -a "$SN_API" add udp 127.0.0.1:5354:53 --mode tap
id=$OUT
expect 0 -a "$SN_API" list
grep -Eq "^ +$id +udp +127\.0\.0\.1:5354 +10\.0\.2\.100:53 +tap\$" <<<"$OUT" || fail "list: no UDP tap row: $OUT"
expect_err 2 'unknown mode "fast"' -a "$SN_API" add tcp 8087:80 --mode fast
ok "add --mode tap: listed as tap (TCP and UDP), carries data; a bad mode refused"

# --- the daemon gone: its socket with it
kill -TERM "$SN_PID"
sn_wait_exit "$SN_PID"
expect_err 3 "cannot connect to $SN_API" -a "$SN_API" list
ok "after the daemon exits, exit 3"
sn_done
