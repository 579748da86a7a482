#!/bin/bash
# test_rootlesskit.sh - rootlesskit, unchanged, with slirpnetd as its
# slirp4netns (--slirp4netns-binary) and its slirp4netns port driver, run by
# the unprivileged user sntest: tap0 is set up, the guest reaches the host's
# loopback through 10.0.2.2, and rootlessctl's add-ports, list-ports and
# remove-ports drive forwards that carry data byte-exact.
. "$(dirname "$0")/lib.sh"
# No sn_sandbox: rootlesskit needs real subordinate ids (newuidmap), so it
# runs on the real host as sntest. The host side uses 127.0.0.1 only; the
# guest lives in the namespaces rootlesskit makes.
sn_require_client rootlesskit rootlessctl
sn_host_setup
sn_user_binary
U=$SN_USERDIR
STATE="$U/rk"
HOST_ECHO_PORT=47101 # echo server on the host's 127.0.0.1
FWD_PORT=47102       # forwarded host port
GUEST_PORT=8080      # echo server in the guest
SN_LOG="$SN_WORK/rootlesskit.log" # rootlesskit --debug relays slirpnetd's output
RUNUSER_PID=

# descendants PID: PID's descendants, deepest first
descendants() {
	local c
	for c in $(pgrep -P "$1" || true); do
		descendants "$c"
		echo "$c"
	done
}

# cleanup: ask the guest to finish, then kill whatever is left, by PID
cleanup() {
	local rc=$? p
	touch "$U/stop" 2>/dev/null || true
	if [ -n "$RUNUSER_PID" ] && kill -0 "$RUNUSER_PID" 2>/dev/null; then
		sleep 0.5
		for p in $(descendants "$RUNUSER_PID") "$RUNUSER_PID"; do
			kill -9 "$p" 2>/dev/null || true
		done
	fi
	sn_cleanup "$rc"
}
trap cleanup EXIT

# child_of PID NAME: the PID of PID's child running NAME (waits up to 10 s)
child_of() {
	local c
	for _ in $(seq 200); do
		c=$(pgrep -P "$1" -x "$2" || true)
		[ -n "$c" ] && { echo "$c"; return 0; }
		sleep 0.05
	done
	return 1
}

head -c 4M /dev/urandom >"$SN_WORK/data"
sn_echo_server "$HOST_ECHO_PORT" "$SN_WORK/echo.log"
sn_port_free "$FWD_PORT"

# rootlesskit as sntest; its command (root in the new user namespace) runs
# an echo server on the guest's GUEST_PORT until $U/stop appears
runuser -u sntest -- rootlesskit --debug --net=slirp4netns \
	--slirp4netns-binary="$SN_RUN" --port-driver=slirp4netns --state-dir="$STATE" \
	sh -c 'socat -t 30 "TCP-LISTEN:$2,reuseaddr,fork" EXEC:cat &
		while [ ! -e "$1/stop" ]; do sleep 0.1; done
		kill $!' sh "$U" "$GUEST_PORT" >"$SN_LOG" 2>&1 &
RUNUSER_PID=$!
wait_for test -s "$STATE/child_pid" || fail "rootlesskit did not start (no $STATE/child_pid)"
CPID=$(cat "$STATE/child_pid")
RK_PID=$(child_of "$RUNUSER_PID" rootlesskit) || fail "cannot find rootlesskit's PID"
DPID=$(child_of "$RK_PID" "$(basename "$SN_BIN" | cut -c1-15)") || fail "rootlesskit did not start slirpnetd"
[ "$(readlink "/proc/$DPID/exe")" = "$(realpath "$SN_BIN")" ] ||
	fail "rootlesskit's helper $DPID is $(readlink "/proc/$DPID/exe"), not $SN_BIN"
[ "$(ps -o uid= -p "$DPID" | tr -d ' ')" = "$(id -u sntest)" ] || fail "slirpnetd does not run as sntest"
ok "rootlesskit (as sntest) runs slirpnetd: $(tr '\0' ' ' <"/proc/$DPID/cmdline" | sed 's/ $//')"

wait_for bash -c "nsenter --target $CPID --net ss -Htln 'sport = :$GUEST_PORT' | grep -q ." ||
	fail "the guest's echo server did not start"

# (a) the namespace: tap0 with 10.0.2.100, and TCP out to the host's loopback
nsx ip -4 addr show tap0 | grep -q 'inet 10.0.2.100/24' || fail "tap0 not configured: $(nsx ip addr)"
nsx ip -4 route show default | grep -q 'default via 10.0.2.2 dev tap0' || fail "no default route: $(nsx ip route)"
ok "the guest has tap0 with 10.0.2.100/24, default via 10.0.2.2"
sn_echo_check "guest -> 10.0.2.2:$HOST_ECHO_PORT (the host's 127.0.0.1)" "$SN_WORK/data" \
	nsenter --target "$CPID" --net socat -t 30 - "TCP:10.0.2.2:$HOST_ECHO_PORT"
grep -q 'accepting connection from AF=2 127.0.0.1:' "$SN_WORK/echo.log" ||
	fail "the host's echo server did not log a connection from 127.0.0.1: $(cat "$SN_WORK/echo.log")"

# (b) rootlessctl: add-ports, list-ports, a transfer, remove-ports
rctl() { runuser -u sntest -- timeout 20 rootlessctl --socket "$STATE/api.sock" "$@"; }
out=$(rctl add-ports "127.0.0.1:$FWD_PORT:$GUEST_PORT/tcp" 2>&1) || fail "rootlessctl add-ports: $out"
ID=$(tr -d ' \n' <<<"$out")
[[ "$ID" =~ ^[0-9]+$ ]] || fail "rootlessctl add-ports printed \"$out\", not an id"
ok "rootlessctl add-ports 127.0.0.1:$FWD_PORT:$GUEST_PORT/tcp: id $ID"
out=$(rctl list-ports 2>&1) || fail "rootlessctl list-ports: $out"
# columns ID PROTO PARENTIP PARENTPORT CHILDIP CHILDPORT, CHILDIP empty
line=$(awk -v id="$ID" -v hp="$FWD_PORT" -v gp="$GUEST_PORT" \
	'$1 == id && $2 == "tcp" && $3 == "127.0.0.1" && $4 == hp && $NF == gp' <<<"$out")
[ -n "$line" ] || fail "rootlessctl list-ports does not show the forward: $out"
ok "rootlessctl list-ports: $(tr -s ' \t' ' ' <<<"$line")"
# the forward is slirpnetd's: its own API (rootlesskit's .s4nn.sock) lists it
out=$(printf '%s' '{"execute": "list_hostfwd"}' |
	runuser -u sntest -- timeout 10 ncat -U "$STATE/.s4nn.sock") || fail "slirpnetd's API did not answer"
grep -q "\"host_addr\":\"127.0.0.1\",\"host_port\":$FWD_PORT,\"guest_addr\":\"10.0.2.100\",\"guest_port\":$GUEST_PORT}" <<<"$out" ||
	fail "slirpnetd's list_hostfwd does not show the forward: $out"
ok "slirpnetd's list_hostfwd shows it: $out"
sn_echo_check "host 127.0.0.1:$FWD_PORT -> guest :$GUEST_PORT" "$SN_WORK/data" \
	socat -t 30 - "TCP:127.0.0.1:$FWD_PORT"
out=$(rctl remove-ports "$ID" 2>&1) || fail "rootlessctl remove-ports $ID: $out"
out=$(rctl list-ports 2>&1) || fail "rootlessctl list-ports after remove-ports: $out"
if grep -Eq "[[:space:]]${FWD_PORT}[[:space:]]" <<<"$out"; then fail "list-ports still shows the forward: $out"; fi
if ss -Htln "sport = :$FWD_PORT" | grep -q .; then fail "127.0.0.1:$FWD_PORT still listens after remove-ports"; fi
if echo x | timeout 10 socat - "TCP:127.0.0.1:$FWD_PORT" >/dev/null 2>&1; then
	fail "127.0.0.1:$FWD_PORT still accepts connections after remove-ports"
fi
ok "rootlessctl remove-ports $ID: gone from list-ports, 127.0.0.1:$FWD_PORT refused"

# the end: the guest's command exits, rootlesskit exits 0, slirpnetd is gone
touch "$U/stop"
sn_wait_exit "$RUNUSER_PID" 20
[ "$SN_RC" = 0 ] || fail "rootlesskit exit status $SN_RC, not 0"
wait_for bash -c "! kill -0 $DPID 2>/dev/null || [ \"\$(ps -o stat= -p $DPID | cut -c1)\" = Z ]" || fail "slirpnetd $DPID still runs after rootlesskit exited"
ok "rootlesskit exits 0 with its command; slirpnetd gone"

# slirpnetd's log (relayed by rootlesskit --debug) and rootlesskit's own
grep -q 'network/slirp4netns: ' "$SN_LOG" || fail "no slirpnetd output in rootlesskit's debug log"
if grep 'network/slirp4netns: ' "$SN_LOG" | grep -Ei 'error|fail|critical' >&2; then
	fail "slirpnetd logged errors (above)"
fi
if grep -E 'level=(error|fatal|panic)' "$SN_LOG" >&2; then fail "rootlesskit logged errors (above)"; fi
ok "no errors in slirpnetd's or rootlesskit's log"
sn_done
