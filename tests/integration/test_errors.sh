#!/bin/bash
# test_errors.sh - bad options and failing start-ups exit 1 with a message
# naming the problem, never hang, and leave no socket file or process behind.
. "$(dirname "$0")/lib.sh"
sn_sandbox "$@"

OUT="$SN_WORK/out"
SOCK="$SN_WORK/err.sock"
MYUSERNS=$(readlink /proc/self/ns/user)

# our_daemons: PIDs of slirpnetd processes (or their namespace helpers) in
# this test's user namespace; other tests' sandboxes are not visible to us
our_daemons() {
	local p
	for p in /proc/[0-9]*; do
		# by name: a sandboxed daemon's exe is outside our view
		case "$(cat "$p/comm" 2>/dev/null)" in
		slirpnetd | slirpnetd-ns) ;;
		*) continue ;;
		esac
		[ "$(readlink "$p/ns/user" 2>/dev/null)" = "$MYUSERNS" ] || continue
		echo "${p#/proc/}"
	done
}

# lingering: our slirpnetd processes, except the live daemon kept on purpose
# lingering: those, except the daemon kept on purpose and its helper
lingering() {
	local p
	for p in $(our_daemons); do
		[ "$p" = "${KEEP_PID:-none}" ] && continue
		[ "$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null)" = "${KEEP_PID:-none}" ] && continue
		echo "$p"
	done
}

# run_fail DESC PATTERN CMD...: CMD must exit 1 within 60 s with PATTERN
# (fixed string) in its output, leave no $SOCK behind and no process running
run_fail() {
	local desc=$1 pattern=$2 rc=0 left
	shift 2
	rm -f "$SOCK"
	timeout -k 2 60 "$@" </dev/null >"$OUT" 2>&1 || rc=$?
	[ "$rc" != 124 ] && [ "$rc" != 137 ] || fail "$desc: still running after 60 s (killed): $(cat "$OUT")"
	[ "$rc" = 1 ] || fail "$desc: exit status $rc, not 1: $(cat "$OUT")"
	grep -qF -- "$pattern" "$OUT" || fail "$desc: message lacks \"$pattern\": $(cat "$OUT")"
	[ ! -e "$SOCK" ] || fail "$desc: API socket $SOCK left behind"
	left=$(lingering)
	[ -z "$left" ] || fail "$desc: slirpnetd processes left running: $left"
	ok "$desc: exit 1, \"$(grep -F -m1 -- "$pattern" "$OUT")\""
}

# s4nn WORDS: the last run_fail's output has a line that starts with WORDS,
# slirp4netns's own message for the same failure (as slirp4netns 1.2
# prints it), which scripts match
s4nn() {
	awk -v w="$1" 'index($0, w) == 1 { found = 1 } END { exit !found }' "$OUT" ||
		fail "no line starts with slirp4netns's \"$1\": $(cat "$OUT")"
	ok "  ... in slirp4netns's words: \"$1\""
}

# api_t JSON: api from lib.sh, bounded to 30 s
api_t() { printf '%s' "$1" | timeout 30 socat -t 30 - "UNIX-CONNECT:$SN_API"; }

# SN: slirpnetd with an API socket, so that every case checks its cleanup
SN=("$SLIRPNETD" -a "$SOCK")

sn_container

# --- the target
sleep 0 &
gone=$!
wait "$gone" || true
kill -0 "$gone" 2>/dev/null && fail "PID $gone still exists"
run_fail "reaped PID" "no process with PID $gone" "${SN[@]}" "$gone"
s4nn "/proc/$gone/ns/net: No such file or directory"
run_fail "PID 0" "is not a PID" "${SN[@]}" 0
s4nn "PID must be a positive integer"
run_fail "non-numeric PID" "is not a PID" "${SN[@]}" notapid
s4nn "PID must be a positive integer"
run_fail "no target" "PID|PATH" "${SN[@]}"
run_fail "too many arguments" "got 3" "${SN[@]}" "$CPID" tap0 extra
s4nn "too many arguments"
run_fail "--netns-type=path to a regular file" "not a network namespace" \
	"${SN[@]}" --netns-type=path /etc/hostname
run_fail "--netns-path to a regular file" "not a network namespace" \
	"${SN[@]}" --netns-path=/etc/hostname
run_fail "--netns-type=path to a user namespace" "not a network namespace" \
	"${SN[@]}" --netns-type=path "/proc/$CPID/ns/user"
run_fail "nonexistent namespace path" "$SN_WORK/no/such/netns" \
	"${SN[@]}" --netns-type=path "$SN_WORK/no/such/netns"
s4nn "existing path expected when --netns-type=path: No such file or directory"
run_fail "--userns-path to a network namespace" "cannot join user namespace" \
	"${SN[@]}" --userns-path="/proc/$CPID/ns/net" "$CPID"
s4nn "setns(CLONE_NEWUSER): Invalid argument"

# --- option values
for mtu in 0 67 70000 65522 abc -5 ''; do
	run_fail "--mtu=$mtu" "--mtu=$mtu" "${SN[@]}" --mtu="$mtu" "$CPID"
	s4nn "MTU must be a positive integer (< 65522)"
done
run_fail "--mtu=1200 with IPv6" "too small for IPv6" "${SN[@]}" --mtu=1200 --enable-ipv6 "$CPID"
run_fail "--cidr=10.0.2.0/33" "--cidr=10.0.2.0/33" "${SN[@]}" --cidr=10.0.2.0/33 "$CPID"
s4nn "prefix length needs to be 1-25"
run_fail "--cidr=foo" "foo" "${SN[@]}" --cidr=foo "$CPID"
s4nn "invalid CIDR: foo"
run_fail "--cidr=10.0.2.0/31" "--cidr=10.0.2.0/31" "${SN[@]}" --cidr=10.0.2.0/31 "$CPID"
s4nn "prefix length needs to be 1-25"
run_fail "--cidr=300.0.2.0/24" "--cidr=300.0.2.0/24" "${SN[@]}" --cidr=300.0.2.0/24 "$CPID"
s4nn "invalid network address: 300.0.2.0"
run_fail "--cidr=10.0.2.1/24" "--cidr=10.0.2.1/24" "${SN[@]}" --cidr=10.0.2.1/24 "$CPID"
s4nn "CIDR needs to be a network address like 10.0.2.0/24, not like 10.0.2.100/24"
run_fail "--netns-type=bogus" "--netns-type=bogus" "${SN[@]}" --netns-type=bogus "$CPID"
run_fail "--target-type=bess" "not supported" "${SN[@]}" --target-type=bess "$CPID"
run_fail "--target-type=foo" "--target-type=foo" "${SN[@]}" --target-type=foo "$CPID"
s4nn "--target-type must be either \"netns\" or \"bess\""
# --enable-sandbox keeps only /etc and /run: a resolv.conf that points
# elsewhere is refused (slirp4netns's rule), with an /etc holding only that
# link bound over the real one for the moment
mkdir "$SN_WORK/etc"
ln -s /opt/elsewhere/resolv.conf "$SN_WORK/etc/resolv.conf"
mount --bind "$SN_WORK/etc" /etc
run_fail "--enable-sandbox, resolv.conf outside /etc and /run" \
	"/etc/resolv.conf resolves to /opt/elsewhere/resolv.conf" \
	"${SN[@]}" --enable-sandbox "$CPID"
umount /etc
run_fail "--enable-sandbox, --api-socket in a missing directory" \
	"with --enable-sandbox it must exist" \
	"$SLIRPNETD" --enable-sandbox -a "$SN_WORK/nodir/api.sock" "$CPID"
run_fail "unknown flag" "--no-such-flag" "${SN[@]}" --no-such-flag "$CPID"
grep -qF -- "--help" "$OUT" || fail "unknown flag: no pointer to --help: $(cat "$OUT")"
run_fail "--macaddress without -c" "needs -c" \
	"${SN[@]}" --macaddress=02:00:00:00:00:01 "$CPID"
s4nn "--macaddr cannot be specified when --configure or -c is not specified"
run_fail "--macaddress=zz" "--macaddress" "${SN[@]}" -c --macaddress=zz "$CPID"
s4nn '"zz" is an invalid MAC address.'
run_fail "multicast --macaddress" "unicast" "${SN[@]}" -c --macaddress=01:00:5e:00:00:01 "$CPID"
s4nn '"01:00:5e:00:00:01" is an invalid MAC address.'
run_fail "tap name with a slash" "not a valid interface name" "${SN[@]}" "$CPID" a/b
run_fail "tap name too long" "not a valid interface name" "${SN[@]}" "$CPID" abcdefghijklmnopq
run_fail "--outbound-addr=1.2.3.4.5" "--outbound-addr=1.2.3.4.5" \
	"${SN[@]}" --outbound-addr=1.2.3.4.5 "$CPID"
s4nn "outbound-addr has to be valid ipv4 address or interface name."
run_fail "--outbound-addr6=nosuchif0" "--outbound-addr6=nosuchif0" \
	"${SN[@]}" --outbound-addr6=nosuchif0 "$CPID"
s4nn "outbound-addr has to be valid ipv4 address or iterface name."

# --- descriptors
exec 9>&-
run_fail "-r 9, fd 9 not open" "not open" "${SN[@]}" -r 9 "$CPID"
grep -qF -- "--ready-fd=9" "$OUT" || fail "-r 9: the flag is not named: $(cat "$OUT")"
run_fail "-e 9, fd 9 not open" "not open" "${SN[@]}" -e 9 "$CPID"
grep -qF -- "--exit-fd=9" "$OUT" || fail "-e 9: the flag is not named: $(cat "$OUT")"
run_fail "-r x" "expected a file descriptor number" "${SN[@]}" -r x "$CPID"
s4nn "ready-fd must be a non-negative integer"
run_fail "-e x" "expected a file descriptor number" "${SN[@]}" -e x "$CPID"
s4nn "exit-fd must be a non-negative integer"
run_fail "-e same as -r" "must be different" "${SN[@]}" -e 2 -r 2 "$CPID"

# --- the API socket
run_fail "--api-socket in a missing directory" "$SN_WORK/nodir/api.sock" \
	"$SLIRPNETD" -a "$SN_WORK/nodir/api.sock" "$CPID"
[ ! -e "$SN_WORK/nodir" ] || fail "the missing directory was created"
if nsx ip link show tap0 >/dev/null 2>&1; then fail "tap0 left in the container after the API failed"; fi
long="$SN_WORK/$(printf 'x%.0s' $(seq 120))"
run_fail "--api-socket path too long" "at most" "$SLIRPNETD" -a "$long" "$CPID"
run_fail "--api-socket empty" "empty" "$SLIRPNETD" -a "" "$CPID"

# a regular file is refused and left as it was
echo "precious" >"$SN_WORK/regular"
touch -d '2001-01-01 00:00' "$SN_WORK/regular"
before=$(stat -c '%i %s %Y %a' "$SN_WORK/regular")
run_fail "--api-socket on a regular file" "not a socket" \
	"$SLIRPNETD" -a "$SN_WORK/regular" "$CPID"
[ "$(cat "$SN_WORK/regular")" = precious ] || fail "the regular file was modified"
[ "$(stat -c '%i %s %Y %a' "$SN_WORK/regular")" = "$before" ] || fail "the regular file was replaced or changed"
ok "the regular file is untouched"

# a live daemon's socket is refused, and that daemon keeps serving
SN_API="$SN_WORK/live.sock"
sn_start -a "$SN_API" "$CPID"
KEEP_PID=$SN_PID
LIVE_CPID=$CPID
our_daemons | grep -x "$KEEP_PID" >/dev/null || fail "the process check cannot see our own daemon $KEEP_PID"
api_t '{"execute": "list_hostfwd"}' | grep -q '"entries"' || fail "the first daemon's API does not answer"
sn_container
run_fail "--api-socket of a live daemon" "already" "$SLIRPNETD" -a "$SN_API" "$CPID"
grep -qF "$SN_API" "$OUT" || fail "the path is not named: $(cat "$OUT")"
[ -S "$SN_API" ] || fail "the live daemon's socket file was removed"
kill -0 "$KEEP_PID" 2>/dev/null || fail "the first daemon died"
reply=$(api_t '{"execute": "list_hostfwd"}') || fail "the first daemon's API is gone"
grep -q '"entries"' <<<"$reply" || fail "the first daemon's API answers oddly: $reply"
ok "the first daemon still answers list_hostfwd"
# a stale socket (no listener) is replaced, not refused
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$SN_WORK/stale.sock"
[ -S "$SN_WORK/stale.sock" ] || fail "could not make a stale socket"
SN_LOG="$SN_WORK/stale.log"
sn_start -a "$SN_WORK/stale.sock" "$CPID"
SN_API="$SN_WORK/stale.sock" api_t '{"execute": "list_hostfwd"}' | grep -q '"entries"' ||
	fail "the stale socket was not replaced by a live one"
kill -TERM "$SN_PID"
sn_wait_exit "$SN_PID"
[ "$SN_RC" = 0 ] && [ ! -e "$SN_WORK/stale.sock" ] || fail "stale-socket daemon: status $SN_RC, socket left"
ok "a stale socket file is replaced"
SN_LOG=

# --- /dev/net/tun
# missing: an empty tmpfs over /dev/net, in a mount namespace of its own
run_fail "/dev/net/tun missing" "/dev/net/tun" unshare --mount -- \
	sh -c 'mount -t tmpfs none /dev/net && exec "$@"' sh \
	"$SLIRPNETD" -a "$SOCK" "$CPID"
grep -qF "modprobe tun" "$OUT" || fail "/dev/net/tun missing: no modprobe hint: $(cat "$OUT")"
s4nn 'open("/dev/net/tun"): No such file or directory'
# not usable: the real node, bind-mounted nodev (open gives EACCES)
touch "$SN_WORK/tun"
run_fail "/dev/net/tun not accessible (nodev)" "chmod 0666" unshare --mount -- \
	sh -c 'mount --bind /dev/net/tun "$1" && mount -o remount,bind,nodev "$1" &&
		mount --bind "$1" /dev/net/tun && shift && exec "$@"' sh "$SN_WORK/tun" \
	"$SLIRPNETD" -a "$SOCK" "$CPID"
grep -qF "/dev/net/tun" "$OUT" || fail "/dev/net/tun not accessible: path not named: $(cat "$OUT")"
s4nn 'open("/dev/net/tun"): Permission denied'

# --- the tap name is taken by a device that is not a tap
run_fail "tap name lo" "cannot create tap device lo" "${SN[@]}" "$CPID" lo
s4nn "ioctl(TUNSETIFF): "
nsx ip -o link show lo | grep -q 'LOOPBACK' || fail "lo in the container was changed"
nsx ip link add br0 type bridge
run_fail "tap name of a bridge" "cannot create tap device br0" "${SN[@]}" "$CPID" br0
nsx ip tuntap add tun5 mode tun
run_fail "tap name of a tun (not tap) device" "cannot create tap device tun5" "${SN[@]}" "$CPID" tun5
run_fail "tap name held by the live daemon" "in use" "${SN[@]}" "$LIVE_CPID" tap0
nsenter --target "$LIVE_CPID" --net ip link show tap0 >/dev/null || fail "the live daemon's tap0 is gone"

# the survivor is still fine, and stops cleanly
SN_API="$SN_WORK/live.sock"
api_t '{"execute": "list_hostfwd"}' | grep -q '"entries"' || fail "the first daemon's API stopped answering"
kill -TERM "$KEEP_PID"
sn_wait_exit "$KEEP_PID"
[ "$SN_RC" = 0 ] || fail "the first daemon's exit status $SN_RC, not 0"
[ ! -e "$SN_API" ] || fail "the first daemon left its socket"
KEEP_PID=
[ -z "$(lingering)" ] || fail "slirpnetd processes left: $(lingering)"
ok "no slirpnetd process left"

# --- the JSON module (slirpnetd-json.so, beside the binary in a build
# tree, else where meson installs it): without it, -a refuses to start,
# naming the file and the remedy; a daemon without -a or --state-file
# needs no module
mkdir "$SN_WORK/nomod"
cp "$SN_REAL" "$SN_WORK/nomod/slirpnetd"
run_fail "no JSON module (is one installed on this machine? it would be found)" \
	"slirpnetd-json.so, the module that answers the API socket and reads the state file" \
	"$SN_WORK/nomod/slirpnetd" -a "$SOCK" "$CPID"
grep -qF "reinstall slirpnetd" "$OUT" || fail "no JSON module: no remedy: $(cat "$OUT")"
SN_LOG="$SN_WORK/nomod.log"
# (its ready fd, not nomod0, says it has started: the tap is there before
# the daemon takes SIGTERM as a request to exit, and a signal kills it until
# then, as main.c's daemon_start() says)
mkfifo "$SN_WORK/nomod.ready"
"$SN_WORK/nomod/slirpnetd" -r 3 "$CPID" nomod0 3>"$SN_WORK/nomod.ready" >"$SN_LOG" 2>&1 &
NOMOD_PID=$!
SN_PIDS+=("$NOMOD_PID")
ready=
read -r -t 60 -N 1 ready <"$SN_WORK/nomod.ready" || true
[ "$ready" = 1 ] && nsenter --target "$CPID" --net ip link show nomod0 >/dev/null ||
	fail "without -a, a daemon with no JSON module did not start"
kill -TERM "$NOMOD_PID"
sn_wait_exit "$NOMOD_PID"
[ "$SN_RC" = 0 ] || fail "without -a and the module: exit status $SN_RC, not 0"
SN_LOG=
ok "without the module and without -a the daemon runs"

# --- last, as it fails with slirpnetd 0.1.0: a missing --userns-path file is
# reported as "no process with PID" although the process exists
run_fail "--userns-path nonexistent" "$SN_WORK/nouserns" \
	"${SN[@]}" --userns-path="$SN_WORK/nouserns" "$CPID"
s4nn "userns path doesn't exist: $SN_WORK/nouserns"
kill -0 "$CPID" || fail "the container died"
if grep -qF "no process with PID" "$OUT"; then
	fail "--userns-path nonexistent: blames the (live) target process: $(cat "$OUT")"
fi
ok "--userns-path nonexistent: the message blames the path, not the PID"
sn_done
