#!/bin/bash
# test_sandbox.sh - --enable-sandbox and --enable-seccomp as root (in the
# test's user namespace): what the daemon can still see, hold and do.
. "$(dirname "$0")/lib.sh"
sn_sandbox "$@"

sn_container
mkdir "$SN_WORK/api" "$SN_WORK/state"
echo "not for the daemon" >"$SN_WORK/secret"
SN_API="$SN_WORK/api/api.sock"
STATE="$SN_WORK/state/forwards.json"
sn_start -c -a "$SN_API" --state-file="$STATE" --enable-sandbox --enable-seccomp "$CPID"
st="/proc/$SN_PID/status"

# --- privileges: root keeps CAP_NET_BIND_SERVICE (bit 10) and nothing else
grep -q '^Seccomp:[[:space:]]*2$' "$st" || fail "no seccomp filter: $(grep Seccomp "$st")"
grep -q '^NoNewPrivs:[[:space:]]*1$' "$st" || fail "no_new_privs not set"
for c in CapEff CapPrm CapBnd; do
	grep -q "^$c:[[:space:]]*0*400$" "$st" || fail "$c is not CAP_NET_BIND_SERVICE alone: $(grep "^$c" "$st")"
done
[ "$(readlink "/proc/$SN_PID/ns/user")" = "$(readlink /proc/self/ns/user)" ] ||
	fail "as root the daemon needs no user namespace of its own"
HPID=$(pgrep -P "$SN_PID" -x slirpnetd-ns) || fail "no namespace helper"
grep -q '^Seccomp:[[:space:]]*2$' "/proc/$HPID/status" || fail "the helper has no seccomp filter"
ok "Seccomp: 2 (and in the helper), NoNewPrivs: 1, capabilities: CAP_NET_BIND_SERVICE only"

# --- the view: a read-only tmpfs with /etc, /run, the sysctl and its dirs
[ "$(readlink "/proc/$SN_PID/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] || fail "no mount namespace of its own"
R="/proc/$SN_PID/root"
view=$(cd "$R" && ls -A | tr '\n' ' ')
[ "$view" = "etc proc run tmp " ] || fail "/ holds: $view"
[ "$(cd "$R$SN_WORK" && ls -A | tr '\n' ' ')" = "api state " ] ||
	fail "$SN_WORK in the sandbox holds: $(ls -A "$R$SN_WORK")"
[ ! -e "$R$SN_WORK/secret" ] || fail "the sandbox shows $SN_WORK/secret"
[ "$(ls -A "$R/proc/sys/net/ipv4")" = ip_unprivileged_port_start ] ||
	fail "the sandbox's /proc holds more than the sysctl: $(ls -A "$R/proc/sys/net/ipv4")"
[ ! -e "$R/usr" ] || fail "the sandbox has /usr"
cmp -s "$R/etc/resolv.conf" /etc/resolv.conf || fail "resolv.conf differs in the sandbox"
mnt() { awk -v p="$1" '$5 == p { print $6 }' "/proc/$SN_PID/mountinfo" | tail -n 1; }
[[ ,$(mnt /), == *,ro,* ]] || fail "/ is mounted $(mnt /), not read-only"
[[ ,$(mnt /etc), == *,ro,* ]] || fail "/etc is mounted $(mnt /etc), not read-only"
[[ ,$(mnt /run), == *,ro,* ]] || fail "/run is mounted $(mnt /run), not read-only"
[[ ,$(mnt "$SN_WORK/state"), == *,rw,* ]] || fail "the state directory is mounted $(mnt "$SN_WORK/state")"
[[ ,$(mnt "$SN_WORK/state"), == *,noexec* ]] || fail "the state directory is executable: $(mnt "$SN_WORK/state")"
ok "/ is a read-only tmpfs: $view; $SN_WORK shows only api/ and state/ (writable, noexec)"

# --- everything still works: DNS config, forwards, the state file
r=$(api '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":18080,"guest_port":8080}}')
[ "$r" = '{"return":{"id":1}}' ] || fail "add_hostfwd: $r"
jq -e '.. | objects | select(.host_port? == 18080)' "$STATE" >/dev/null ||
	fail "the state file does not hold the forward: $(cat "$STATE")"
nsx socat -t 30 TCP-LISTEN:8080,reuseaddr EXEC:cat &
SN_PIDS+=($!)
wait_for bash -c "nsenter --target $CPID --net ss -Htln 'sport = :8080' | grep -q ."
reply=$(timeout 60 socat -t 30 - TCP:127.0.0.1:18080 <<<"through the sandbox")
[ "$reply" = "through the sandbox" ] || fail "forward reply: \"$reply\""
nsx ping -c 1 -W 5 10.0.2.2 >/dev/null || fail "cannot ping 10.0.2.2"
ok "the API, the state file, a TCP forward and ping work in the sandbox"

kill -TERM "$SN_PID"
sn_wait_exit "$SN_PID"
[ "$SN_RC" = 0 ] || fail "exit status $SN_RC after SIGTERM"
[ ! -e "$SN_API" ] || fail "API socket left behind"
ok "SIGTERM: exit 0, API socket removed"
echo "PASS: $TESTNAME"
