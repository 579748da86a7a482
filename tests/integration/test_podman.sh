#!/bin/bash
# test_podman.sh - rootless podman, unchanged, with slirpnetd as its
# slirp4netns (containers.conf's network_cmd_path), run by the unprivileged
# user sntest: a busybox container with --network
# slirp4netns:port_handler=slirp4netns and -p carries data byte-exact through
# the forwarded port; podman's default --disable-host-loopback keeps the
# host's loopback out of reach, and allow_host_loopback=true lets it in;
# the container's lookups through 10.0.2.3 reach the host's resolver.
. "$(dirname "$0")/lib.sh"
# No sn_sandbox: rootless podman needs real subordinate ids (newuidmap), so
# it runs as sntest on the real host's users and files, with its storage,
# runtime and config directories all inside this test's work directory,
# but in a network, mount and PID namespace of the test's own
# (sn_private_net): nothing can leave this machine, and the host's
# resolv.conf names the test's stub resolver. The host side uses
# 127.0.0.1; the container lives in the namespaces podman makes.
sn_require_client podman
sn_private_net "$@"
sn_host_setup
sn_user_binary
sn_private_dns
U=$SN_USERDIR
FWD_PORT=47201       # forwarded host port
HOST_ECHO_PORT=47202 # echo server on the host's 127.0.0.1
GUEST_PORT=8080      # echo server in the container
IMAGE=localhost/slirpnetd-test-busybox:latest
CTR=slirpnetd-test
PM_ENV=() # podman's environment, once written

# cleanup: remove the containers, then kill, by PID, whatever sntest still
# runs for this test (podman's pause process, conmon, slirpnetd): those
# whose command line or environment names the work directory
cleanup() {
	local rc=$? p
	if [ "${#PM_ENV[@]}" -gt 0 ]; then
		timeout 30 runuser -u sntest -- env "${PM_ENV[@]}" podman rm -a -f -t 0 >/dev/null 2>&1 || true
	fi
	for p in $(pgrep -u sntest || true); do
		if grep -qsF "$SN_WORK" "/proc/$p/cmdline" "/proc/$p/environ"; then
			kill -9 "$p" 2>/dev/null || true
		fi
	done
	sn_cleanup "$rc"
}
trap cleanup EXIT

# podman's own files, all under $U; XDG_RUNTIME_DIR stays short (podman's
# socket paths under it must fit in 108 bytes)
mkdir -p "$U/home" "$U/config" "$U/run" "$U/storage"
cat >"$U/containers.conf" <<EOF
[engine]
network_cmd_path = "$SN_RUN"
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$U/events.log"
static_dir = "$U/storage/libpod"
tmp_dir = "$U/run/libpod"
volume_path = "$U/storage/volumes"
[containers]
# no pids cgroup limit: a rootless user may have no cgroup delegated to it
pids_limit = 0
EOF
# vfs: no fuse or overlay mounts needed; the image is a few MiB
cat >"$U/storage.conf" <<EOF
[storage]
driver = "vfs"
runroot = "$U/run/storage"
graphroot = "$U/storage"
rootless_storage_path = "$U/storage"
EOF
cat >"$U/env" <<EOF
HOME=$U/home
XDG_CONFIG_HOME=$U/config
XDG_DATA_HOME=$U/home/.local/share
XDG_RUNTIME_DIR=$U/run
CONTAINERS_CONF=$U/containers.conf
CONTAINERS_STORAGE_CONF=$U/storage.conf
EOF
chmod 700 "$U/run"

# the image: busybox (with the libraries it links, if any) and its applets
sn_rootfs "$U/rootfs"
head -c 4M /dev/urandom >"$U/data"
chown -R sntest:sntest "$U"

# pm ARGS...: podman as sntest with the test's configuration
mapfile -t PM_ENV <"$U/env"
pm() { timeout 90 runuser -u sntest -- env "${PM_ENV[@]}" podman "$@"; }

tar -C "$U/rootfs" -cf "$U/rootfs.tar" . || fail "cannot tar the image's files"
out=$(pm import "$U/rootfs.tar" "$IMAGE" 2>&1) || fail "podman import: $out"
[ "$(pm info --format '{{.Store.GraphRoot}} {{.Host.OCIRuntime.Name}}')" = "$U/storage runc" ] ||
	fail "podman does not use the test's storage and runc: $(pm info 2>&1 | head -n 40)"
ok "image $IMAGE imported into $U/storage"

sn_echo_server "$HOST_ECHO_PORT" "$SN_WORK/echo.log"
sn_port_free "$FWD_PORT"

# the container: an echo server (busybox nc, one cat per connection)
out=$(pm run -d --name "$CTR" --network slirp4netns:port_handler=slirp4netns \
	-p "127.0.0.1:$FWD_PORT:$GUEST_PORT" \
	"$IMAGE" nc -ll -p "$GUEST_PORT" -e /bin/cat 2>&1) || fail "podman run: $out"
CID=$(tail -n1 <<<"$out")
[[ "$CID" =~ ^[0-9a-f]{64}$ ]] || fail "podman run printed \"$out\", not a container id"
ok "podman run -d --network slirp4netns:port_handler=slirp4netns -p 127.0.0.1:$FWD_PORT:$GUEST_PORT: ${CID:0:12}"

# podman ran slirpnetd, as sntest, with its command line for this container
DPID=
for p in $(pgrep -u sntest -x "$(basename "$SN_BIN" | cut -c1-15)" || true); do
	grep -qF "$CID" "/proc/$p/cmdline" 2>/dev/null && DPID=$p
done
[ -n "$DPID" ] || fail "no slirpnetd process for container $CID: $(ps -u sntest -o pid,args)"
[ "$(readlink "/proc/$DPID/exe")" = "$(realpath "$SN_BIN")" ] ||
	fail "podman's helper $DPID is $(readlink "/proc/$DPID/exe"), not $SN_BIN"
CMDLINE=$(tr '\0' ' ' <"/proc/$DPID/cmdline" | sed 's/ $//')
for arg in --disable-host-loopback --mtu=65520 --enable-ipv6 ' -c ' '-e 3' '-r 4' \
	"--api-socket $U/run/libpod/$CID.net" '--netns-type=path' ' tap0 '; do
	grep -qF -- "$arg" <<<"$CMDLINE " || fail "podman's slirpnetd command line lacks \"$arg\": $CMDLINE"
done
ok "podman runs slirpnetd: $CMDLINE"

# tap0, configured by slirpnetd (-c)
out=$(pm exec "$CTR" ip -4 addr show tap0 2>&1) || fail "podman exec ip addr: $out"
grep -q 'inet 10.0.2.100/24' <<<"$out" || fail "tap0 in the container: $out"
out=$(pm exec "$CTR" ip -4 route 2>&1) || fail "podman exec ip route: $out"
grep -q 'default via 10.0.2.2 dev tap0' <<<"$out" || fail "no default route in the container: $out"
ok "the container has tap0 10.0.2.100/24, default via 10.0.2.2"

# the forward is slirpnetd's: its API socket lists it; data round-trips
out=$(printf '%s' '{"execute": "list_hostfwd"}' |
	runuser -u sntest -- timeout 10 ncat -U "$U/run/libpod/$CID.net") || fail "slirpnetd's API did not answer"
grep -q "\"host_addr\":\"127.0.0.1\",\"host_port\":$FWD_PORT,\"guest_addr\":\"10.0.2.100\",\"guest_port\":$GUEST_PORT}" <<<"$out" ||
	fail "slirpnetd's list_hostfwd does not show podman's forward: $out"
ok "slirpnetd's list_hostfwd: $out"
wait_for bash -c "echo | timeout 5 socat -t 5 - TCP:127.0.0.1:$FWD_PORT" ||
	fail "the container's echo server does not answer on 127.0.0.1:$FWD_PORT"
sn_echo_check "host 127.0.0.1:$FWD_PORT -> container :$GUEST_PORT" "$U/data" \
	socat -t 30 - "TCP:127.0.0.1:$FWD_PORT"

# DNS: 10.0.2.3 forwards to the host's resolv.conf nameserver, here the
# test's stub resolver, which answers the name itself
out=$(pm exec "$CTR" nslookup -type=a "$SN_DNS_NAME" 10.0.2.3 2>&1) ||
	fail "podman exec nslookup $SN_DNS_NAME 10.0.2.3: $out; stub: $(cat "$SN_DNS_LOG")"
grep -Eq "^Address:[[:space:]]+${SN_DNS_ANSWER//./\\.}\$" <<<"$out" ||
	fail "$SN_DNS_NAME does not resolve to $SN_DNS_ANSWER through 10.0.2.3: $out"
ok "the container resolves $SN_DNS_NAME to $SN_DNS_ANSWER through 10.0.2.3 (the stub resolver)"

# the host's loopback: podman passes --disable-host-loopback unless the
# network option allow_host_loopback=true is given, so 10.0.2.2 must not
# reach the host's 127.0.0.1 from this container
rc=0
out=$(pm exec "$CTR" sh -c "echo probe | nc -w 5 10.0.2.2 $HOST_ECHO_PORT" 2>&1) || rc=$?
[ "$rc" != 0 ] || fail "the container reached the host's 127.0.0.1:$HOST_ECHO_PORT despite --disable-host-loopback: $out"
if grep -q 'accepting connection' "$SN_WORK/echo.log"; then
	fail "the host's echo server got a connection despite --disable-host-loopback: $(cat "$SN_WORK/echo.log")"
fi
ok "podman's default (--disable-host-loopback): 10.0.2.2:$HOST_ECHO_PORT unreachable ($out)"

# ... and with allow_host_loopback=true it is reachable, byte-exact
want=$(sha256sum <"$U/data" | cut -d' ' -f1)
out=$(pm run --rm --network slirp4netns:allow_host_loopback=true -v "$U/data:/data:ro" \
	"$IMAGE" sh -c "nc -w 10 10.0.2.2 $HOST_ECHO_PORT </data | sha256sum" 2>&1) ||
	fail "podman run with allow_host_loopback=true: $out"
[ "$(tail -n1 <<<"$out" | cut -d' ' -f1)" = "$want" ] ||
	fail "allow_host_loopback=true: sha256 of the echo is \"$out\", not $want"
grep -q 'accepting connection from AF=2 127.0.0.1:' "$SN_WORK/echo.log" ||
	fail "the host's echo server did not log a connection from 127.0.0.1: $(cat "$SN_WORK/echo.log")"
ok "allow_host_loopback=true: 4096 KiB echoed by the host's 127.0.0.1:$HOST_ECHO_PORT via 10.0.2.2, byte-exact"

# slirpnetd's log: podman sends its output to a file it unlinks once the
# helper is ready; the daemon's stderr still holds it
LOG_TEXT=$(cat "/proc/$DPID/fd/2" 2>/dev/null) || fail "cannot read slirpnetd's stderr"
if grep -Ei 'error|fail|critical' <<<"$LOG_TEXT" >&2; then fail "slirpnetd logged errors (above)"; fi
ok "no errors in slirpnetd's log ($(wc -l <<<"$LOG_TEXT") lines)"

# podman rm: podman closes the exit fd, slirpnetd leaves, the socket goes
out=$(pm rm -f -t 0 "$CTR" 2>&1) || fail "podman rm: $out"
wait_for bash -c "! kill -0 $DPID 2>/dev/null || [ \"\$(ps -o stat= -p $DPID | cut -c1)\" = Z ]" ||
	fail "slirpnetd $DPID still runs after podman rm"
[ ! -e "$U/run/libpod/$CID.net" ] || fail "slirpnetd's API socket left behind after podman rm"
if ss -Htln "sport = :$FWD_PORT" | grep -q .; then fail "127.0.0.1:$FWD_PORT still listens after podman rm"; fi
ok "podman rm: slirpnetd gone, its API socket removed, 127.0.0.1:$FWD_PORT closed"
sn_private_net_check
sn_done
