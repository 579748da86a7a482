#!/bin/bash
# test_state.sh - --state-file: forwards (TCP, UDP, mode slirp) survive a
# SIGKILL mid-transfer with their ids, a state file that cannot be written
# undoes the change, and a damaged one costs only what it no longer holds.
. "$(dirname "$0")/lib.sh"
sn_sandbox "$@"

sn_container
SN_API="$SN_WORK/api.sock"
SDIR="$SN_WORK/state"
STATE="$SDIR/forwards.json"
mkdir "$SDIR"

# bg CMD...: run CMD in the background, killed at exit
bg() { "$@" & SN_PIDS+=($!); }
# add ARGS: add_hostfwd with the JSON members ARGS; prints the new id
add() {
	local r
	r=$(api "{\"execute\":\"add_hostfwd\",\"arguments\":{$1}}")
	[[ $r =~ ^\{\"return\":\{\"id\":([0-9]+)\}\}$ ]] || fail "add {$1}: $r"
	echo "${BASH_REMATCH[1]}"
}
remove() { api "{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":$1}}"; }
list() { api '{"execute":"list_hostfwd"}'; }
# listening PORT [udp]: wait until something in the container listens
listening() {
	local flag=-tln
	[ "${2:-}" = udp ] && flag=-uln
	wait_for sh -c "nsenter -t $CPID -n ss -H $flag | grep -q ':$1 '" ||
		fail "nothing listens on port $1 in the container"
}
# ids: the ids in the state file, on one line
ids() { jq -c '[.forwards[].id]' "$STATE"; }
# restart ARGS...: SIGKILL the daemon, wait for tap0 to go, start it again
restart() {
	kill -9 "$SN_PID"
	wait "$SN_PID" 2>/dev/null || true
	wait_for sh -c "! nsenter -t $CPID -n ip link show tap0" ||
		fail "tap0 outlived the killed daemon"
	sn_start -c -a "$SN_API" --state-file="$STATE" "$@" "$CPID"
}
# check_tcp PORT WANT: a new connection to 127.0.0.1:PORT answers WANT
# (tried a few times: libslirp's first connection over a new tap0 can fail
# while the machine is busy)
check_tcp() {
	local got i
	for i in 1 2 3 4 5; do
		got=$(echo ping | timeout 30 socat -t 20 - TCP:127.0.0.1:$1 2>/dev/null) || true
		[ "$got" = "$2" ] && return 0
		sleep 1
	done
	fail "TCP 127.0.0.1:$1: got \"$got\", not \"$2\""
}
# check_udp: a datagram through 127.0.0.1:15353 comes back prefixed
check_udp() {
	local got
	got=$(echo ping | timeout 60 python3 "$UDPPEER" send 127.0.0.1 15353) || true
	[ "$got" = echo:ping ] || fail "UDP 127.0.0.1:15353: got \"$got\""
}

# The guest's services: a TCP echo, a UDP echo, two fixed answers.
bg nsx socat -t 30 TCP-LISTEN:8080,fork,reuseaddr EXEC:cat
bg nsx perl -MIO::Socket::INET -e '
	my $s = IO::Socket::INET->new(LocalPort => 5353, Proto => "udp") or die "$!";
	while (1) { my $peer = $s->recv(my $d, 65536) // next; $s->send("echo:$d", 0, $peer); }'
bg nsx socat -t 30 TCP-LISTEN:8081,fork,reuseaddr SYSTEM:'echo slirp'
bg nsx socat -t 30 TCP-LISTEN:8082,fork,reuseaddr SYSTEM:'echo gone'
listening 8080
listening 5353 udp
listening 8081
listening 8082

# --- a first start: an empty file; then every change is in it at once
sn_start -c -a "$SN_API" --state-file="$STATE" "$CPID"
[ "$(jq -c . "$STATE")" = '{"version":1,"next_id":1,"forwards":[]}' ] ||
	fail "first start: the state file is $(cat "$STATE")"
[ "$(stat -c %a "$STATE")" = 600 ] || fail "the state file's mode is $(stat -c %a "$STATE")"
T=$(add '"proto":"tcp","host_addr":"127.0.0.1","host_port":18080,"guest_port":8080')
U=$(add '"proto":"udp","host_addr":"127.0.0.1","host_port":15353,"guest_port":5353')
S=$(add '"proto":"tcp","host_addr":"127.0.0.1","host_port":18081,"guest_port":8081,"mode":"slirp"')
G=$(add '"proto":"tcp","host_addr":"127.0.0.1","host_port":18082,"guest_port":8082')
[ "$(ids)" = "[$T,$U,$S,$G]" ] || fail "after four adds the file holds $(ids)"
[ "$(remove "$G")" = '{"return":{}}' ] || fail "remove_hostfwd $G"
[ "$(ids)" = "[$T,$U,$S]" ] && [ "$(jq .next_id "$STATE")" = 5 ] ||
	fail "after the removal the file holds $(ids), next_id $(jq .next_id "$STATE")"
[ ! -e "$STATE.tmp" ] || fail "$STATE.tmp left behind"
check_tcp 18080 ping
check_udp
check_tcp 18081 slirp
before=$(list)
ok "adds and a removal are in the state file as they are acknowledged: $(ids)"

# --- SIGKILL in the middle of a transfer, and a restart
# /dev/zero both ways: socat sends zeros and throws the echo away
bg timeout 90 socat /dev/zero TCP:127.0.0.1:18080
wait_for sh -c "[ \$(printf '%s' '{\"execute\":\"get_stats\"}' | timeout 5 socat -t 5 - 'UNIX-CONNECT:$SN_API' |
	jq '.return.entries[] | select(.id == $T) | .bytes_from_guest') -ge 4194304 ]" ||
	fail "the transfer through 127.0.0.1:18080 did not get going"
restart
after=$(list)
[ "$after" = "$before" ] || fail "list_hostfwd after the restart: $after; before: $before"
check_tcp 18080 ping
check_udp
check_tcp 18081 slirp
if timeout 5 socat - TCP:127.0.0.1:18082 <<<x >/dev/null 2>&1; then
	fail "the removed forward came back"
fi
N=$(add '"proto":"tcp","host_addr":"127.0.0.1","host_port":18083,"guest_port":8080')
[ "$N" = 5 ] || fail "the first id after the restart is $N, not 5"
check_tcp 18083 ping
ok "killed mid-transfer (4 MiB echoed so far) and restarted: list_hostfwd byte-identical ($after); every forward carries new connections; ids go on at $N"

# --- a state file that cannot be written: the change is undone and said so.
# A directory where the temporary file goes makes every save fail, and is
# seen by a daemon in its own mount namespace (--enable-sandbox) too.
mkdir "$STATE.tmp"
r=$(api '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":18084,"guest_port":8080}}')
[[ $r == *"cannot write the state file $STATE: Is a directory"*"not added"* ]] ||
	fail "add with a read-only state directory: $r"
if timeout 5 socat - TCP:127.0.0.1:18084 <<<x >/dev/null 2>&1; then
	fail "the forward whose save failed listens"
fi
r=$(remove "$T")
[[ $r == *"cannot write the state file $STATE"*"kept"* ]] || fail "remove with a read-only state directory: $r"
[ "$(list)" = "$(jq -c '.entries += [{"id":5,"proto":"tcp","host_addr":"127.0.0.1","host_port":18083,"guest_addr":"10.0.2.100","guest_port":8080}]' <<<"$before")" ] ||
	fail "after the failed saves list_hostfwd is $(list)"
check_tcp 18080 ping
rmdir "$STATE.tmp"
[ "$(ids)" = "[$T,$U,$S,$N]" ] || fail "the state file holds $(ids) after the failed saves"
ok "unwritable state file: add and remove refused with the reason, nothing changed"

# --- a file cut short in its last forward, and a port taken meanwhile
size=$(head -n 4 "$STATE" | wc -c)
restart_trunc() {
	kill -9 "$SN_PID"
	wait "$SN_PID" 2>/dev/null || true
	truncate -s $((size + 20)) "$STATE"
	bg socat -u UDP-RECV:15353,bind=127.0.0.1 /dev/null
	wait_for sh -c "ss -Huln 'sport = :15353' | grep -q ." || fail "could not take UDP port 15353"
	wait_for sh -c "! nsenter -t $CPID -n ip link show tap0" || fail "tap0 outlived the killed daemon"
	sn_start -c -a "$SN_API" --state-file="$STATE" "$CPID"
}
restart_trunc
grep -q "$STATE:5:.*not a complete JSON object" "$SN_LOG" || fail "the log does not name $STATE:5"
grep -q "forward $U (127.0.0.1:15353/udp to 10.0.2.100:5353) dropped: .*in use" "$SN_LOG" ||
	fail "the log does not say why forward $U was dropped"
[ "$(list | jq -c '[.entries[].id]')" = "[$T,$S]" ] || fail "after the damaged file: $(list)"
[ "$(ids)" = "[$T,$S]" ] && [ "$(jq .next_id "$STATE")" = 6 ] ||
	fail "the rewritten state file holds $(ids), next_id $(jq .next_id "$STATE")"
check_tcp 18080 ping
check_tcp 18081 slirp
ok "damaged file: started with forwards $(ids); the log says: $(grep -c WARNING "$SN_LOG") warnings"
grep WARNING "$SN_LOG" | sed 's/^/    /'

kill -0 "$SN_PID" || fail "the daemon died"
grep -E 'CRITICAL|assert' "$SN_LOG" && fail "the daemon logged a critical message"
sn_done
