#!/bin/bash
# test_systemd.sh - the user units: systemd-analyze verify passes on each,
# and slirpnetd@.service's ExecStart, run by hand with a NOTIFY_SOCKET this
# test listens on (under no_new_privs and umask 0077, as the unit sets),
# sends READY=1 with its status once ready, runs sandboxed with seccomp on,
# STATUS= as forwards come and go, and STOPPING=1 on SIGTERM.
. "$(dirname "$0")/lib.sh"
: "${SN_UNIT_DIR:?SN_UNIT_DIR must name the generated units}"
: "${SN_UNIT_SRC:?SN_UNIT_SRC must name the unit sources}"
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
sn_sandbox "$@"

# --- systemd-analyze verify: no complaint at all on any unit
V="$SN_WORK/units"
mkdir "$V"
sed "s#^ExecStart=[^ ]*/slirpnetd #ExecStart=$SLIRPNETD #" "$SN_UNIT_DIR/slirpnetd@.service" >"$V/slirpnetd@.service"
cp "$SN_UNIT_SRC/container-example.service" "$V/"
ln -s slirpnetd@.service "$V/slirpnetd@run-user-1000-netns-web.service"
out=$(cd "$V" && XDG_RUNTIME_DIR=$SN_WORK systemd-analyze --user --man=no verify \
	./slirpnetd@run-user-1000-netns-web.service ./container-example.service 2>&1) ||
	fail "systemd-analyze verify failed: $out"
[ -z "$out" ] || fail "systemd-analyze verify complains: $out"
ok "systemd-analyze verify: slirpnetd@.service and container-example.service are clean"

# --- ExecStart by hand, as the user manager would run it
sn_container
NETNS=/proc/$CPID/ns/net
INST=$(systemd-escape --path "$NETNS")
RT="$SN_WORK/rt"
mkdir -p "$RT/slirpnetd"
cmd=$(sed -n '/^ExecStart=/,/[^\\]$/p' "$SN_UNIT_DIR/slirpnetd@.service" | sed 's/^ExecStart=//; s/\\$//' | tr -d '\n\t')
cmd=${cmd//%I/$NETNS}
cmd=${cmd//%i/$INST}
cmd=${cmd//%t/$RT}
cmd=${cmd//\$SLIRPNETD_ARGS/}
cmd=${cmd/#*\/slirpnetd /$SLIRPNETD }
echo "ExecStart: $cmd"

NOTIFY_SOCKET="$SN_WORK/notify.sock"
socat -u UNIX-RECV:"$NOTIFY_SOCKET" OPEN:"$SN_WORK/notified",creat,append &
SN_PIDS+=($!)
wait_for test -S "$NOTIFY_SOCKET" || fail "the notify socket did not appear"
SN_LOG="$SN_WORK/slirpnetd.log"
# as the unit's NoNewPrivileges= and UMask= would start it
(umask 0077 && NOTIFY_SOCKET=$NOTIFY_SOCKET exec setpriv --no-new-privs $cmd) >"$SN_LOG" 2>&1 &
SN_PID=$!
SN_PIDS+=($SN_PID)
wait_for grep -q 'READY=1' "$SN_WORK/notified" || fail "no READY=1 on NOTIFY_SOCKET: $(cat "$SN_WORK/notified")"
grep -q 'STATUS=ready, 0 forwards' "$SN_WORK/notified" || fail "no STATUS with READY=1: $(cat "$SN_WORK/notified")"
nsx ip -4 addr show tap0 | grep -q 10.0.2.100/24 || fail "READY=1 came before tap0 was configured"
SN_API="$RT/slirpnetd/$INST.sock"
[ -S "$SN_API" ] || fail "no API socket at $SN_API when READY=1 came"
ok "READY=1 and \"STATUS=ready, 0 forwards\" once tap0 is configured and $SN_API listens"
grep -q '^Seccomp:[[:space:]]*2$' "/proc/$SN_PID/status" &&
	[ "$(readlink "/proc/$SN_PID/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] ||
	fail "the unit's daemon is not sandboxed with seccomp on"
ok "the unit's daemon runs in its sandbox with its seccomp filter (no_new_privs, umask 0077 given)"

r=$(api '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":18080,"guest_port":80}}')
[ "$r" = '{"return":{"id":1}}' ] || fail "add_hostfwd: $r"
wait_for grep -q 'STATUS=ready, 1 forward$' "$SN_WORK/notified" || fail "no STATUS after add: $(cat "$SN_WORK/notified")"
ok "STATUS=ready, 1 forward after add_hostfwd"

kill -TERM "$SN_PID"
sn_wait_exit "$SN_PID"
[ "$SN_RC" = 0 ] || fail "exit status $SN_RC after SIGTERM"
wait_for grep -q 'STOPPING=1' "$SN_WORK/notified" || fail "no STOPPING=1: $(cat "$SN_WORK/notified")"
ok "SIGTERM: STOPPING=1, exit 0"
sn_done
