#!/bin/bash
# test_docker.sh - rootless Docker, unchanged (Debian's docker.io and its
# dockerd-rootless.sh, which runs dockerd inside rootlesskit), with
# slirpnetd as its slirp4netns, run by the unprivileged user sntest the way
# the README says: once with the README's DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS
# lines and rootlesskit's builtin port driver, once with the README's PATH
# lines (a slirp4netns symlink, as -Dslirp4netns_alias installs) and the
# slirp4netns port driver. Each time: dockerd becomes ready with slirpnetd
# as its helper; a container reaches a listener on the host byte-exact; on
# a user-defined network docker's embedded DNS resolves another container
# by name and other names through slirpnetd's 10.0.2.3, and outbound TCP
# works, but not to the host's loopback; published TCP and UDP ports carry data byte-exact, from the
# host's loopback and from its other address; with the slirp4netns port driver the container sees a client
# that is not on the loopback as itself; docker rm frees the port for a new publish; stopping dockerd leaves
# no helper behind.
. "$(dirname "$0")/lib.sh"
# rootlesskit runs slirpnetd with --enable-sandbox --enable-seccomp itself
# (checked below): the hardened pass would repeat the plain one
if [ -n "${SN_HARDENED:-}" ]; then
	echo "SKIP: $TESTNAME: rootlesskit already runs slirpnetd sandboxed, as the plain pass checks"
	exit 77
fi
# No sn_sandbox: rootlesskit needs real subordinate ids (newuidmap), so it
# runs as sntest on the real host's users and files, but in a network,
# mount and PID namespace of the test's own (sn_private_net): nothing can
# leave this machine, lookups go to the test's stub resolver, and whatever
# is left dies with the PID namespace.
DOCKERD_ROOTLESS=/usr/share/docker.io/contrib/dockerd-rootless.sh
DOCKER=/usr/bin/docker # docker.io's client, whatever else is on PATH
sn_require_client dockerd rootlesskit "$DOCKERD_ROOTLESS" "$DOCKER"
sn_private_net "$@"
sn_host_setup
sn_user_binary
sn_private_dns
U=$SN_USERDIR
README="$(dirname "$0")/../../README.md"
HOST_ECHO_PORT=47301 # echo server on the host's SN_NET_ADDR
LOOP_ECHO_PORT=47302 # echo server on the host's 127.0.0.1
PUB_PORT=47310       # published port, TCP and UDP
ADDR_PORT=47311      # published port whose service tells the client's address
TCP_PORT=8080        # echo servers in the containers
UDP_PORT=8081
IMAGE=slirpnetd-test-busybox:latest
S4NN=$(realpath "$(command -v slirp4netns || echo /usr/bin/slirp4netns)" 2>/dev/null || true)
USER_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUNUSER_PID=
STATE=

# stop_dockerd: SIGTERM to rootlesskit (what systemd sends the unit's main
# process); up to 30 s for it, dockerd and slirpnetd to go
stop_dockerd() {
	local p
	for p in $(pgrep -u sntest -x rootlesskit || true); do
		kill -TERM "$p" 2>/dev/null || true
	done
	[ -z "$RUNUSER_PID" ] || sn_wait_exit "$RUNUSER_PID" 30
	RUNUSER_PID=
}

# cleanup: stop dockerd if it runs (SIGTERM to rootlesskit, up to 15 s),
# then kill whatever sntest still runs (in this PID namespace, only what
# this test started), and wait for it to be gone before the work
# directory is removed
cleanup() {
	local rc=$? p
	for p in $(pgrep -u sntest -x rootlesskit || true); do
		kill -TERM "$p" 2>/dev/null || true
	done
	for _ in $(seq 150); do
		pgrep -u sntest -x rootlesskit >/dev/null || break
		sleep 0.1
	done
	for p in $(pgrep -u sntest || true); do
		kill -9 "$p" 2>/dev/null || true
	done
	for _ in $(seq 100); do
		pgrep -u sntest >/dev/null || break
		sleep 0.1
	done
	sn_cleanup "$rc"
}
trap cleanup EXIT

# readme_lines MARKER: the shell lines of the README's code block after
# <!-- MARKER -->
readme_lines() {
	awk -v m="<!-- $1 -->" '
		$0 == m { found = 1; next }
		found && /^```/ { if (inblock) exit; inblock = 1; next }
		inblock { print }' "$README"
}

# the image: busybox, and socat for a UDP echo server (busybox has none)
sn_rootfs "$U/rootfs" "$(command -v socat)"
head -c 1M /dev/urandom >"$U/data"
mkdir -p "$U/home" "$U/run" "$U/alias"
chmod 700 "$U/run"
# what -Dslirp4netns_alias installs, for the README's PATH lines
ln -s "$SN_RUN" "$U/alias/slirp4netns"
chown -R sntest:sntest "$U"
tar -C "$U/rootfs" -cf "$U/rootfs.tar" . || fail "cannot tar the image's files"

# dk ARGS...: docker.io's client as sntest, to the test's dockerd
dk() {
	timeout 90 runuser -u sntest -- env -i PATH="$USER_PATH" HOME="$U/home" \
		DOCKER_HOST="unix://$U/run/docker.sock" "$DOCKER" "$@"
}

# udp_echo_check HOW ADDR PORT: 64 datagrams of 1200 random bytes, one at
# a time, each must come back unchanged (sent again up to 4 times if the
# reply is late: UDP may drop while a flow is set up; a late reply to an
# earlier datagram is passed over)
udp_echo_check() {
	local out
	out=$(python3 - "$2" "$3" <<'EOF' 2>&1
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], int(sys.argv[2])))
s.settimeout(2)
n = 0
sent = set()
for i in range(64):
    msg = os.urandom(1200)
    for attempt in range(5):
        s.send(msg)
        try:
            got = s.recv(65536)
            while got in sent:
                got = s.recv(65536)
        except (socket.timeout, ConnectionRefusedError):
            continue
        if got != msg:
            sys.exit(f"datagram {i}: {len(got)} bytes came back, not the {len(msg)} sent")
        n += 1
        sent.add(msg)
        break
    else:
        sys.exit(f"datagram {i}: no reply after 5 attempts")
print(n * 1200)
EOF
	) || fail "$1: $out"
	ok "$1: 64 datagrams ($out bytes) echoed back byte-exact"
}

# start_dockerd HOW MARKER DRIVER: run the README's lines after <!-- MARKER
# --> as sntest, slirpnetd's path in place of the README's, with
# DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER=DRIVER; the test adds only
# rootlesskit's --state-dir (to find its sockets) and --debug (so its log
# carries slirpnetd's); wait until dockerd answers. Sets DPID, the helper.
start_dockerd() {
	local how=$1 marker=$2 driver=$3 lines script="$U/start-$2.sh" out rk p
	STATE="$U/run/rk-$marker"
	DLOG="$SN_WORK/dockerd-$marker.log"
	lines=$(readme_lines "$marker")
	[ -n "$lines" ] || fail "no <!-- $marker --> block in $README"
	tail -n1 <<<"$lines" | grep -q '^[^ =]*dockerd-rootless\.sh$' ||
		fail "the README's <!-- $marker --> block does not end with dockerd-rootless.sh: $lines"
	{
		echo 'set -e'
		head -n -1 <<<"$lines" |
			sed -e "s|/usr/local/bin/slirpnetd|$SN_RUN|g" \
				-e "s|/usr/local/libexec/slirpnetd/bin|$U/alias|g"
		echo "export DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER=$driver"
		echo "export DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS=\"\${DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS:-} --state-dir=$STATE --debug\""
		echo "exec $(tail -n1 <<<"$lines" | sed "s|^/usr/share/docker.io/contrib/dockerd-rootless.sh$|$DOCKERD_ROOTLESS|")"
	} >"$script"
	chmod 755 "$script"
	runuser -u sntest -- env -i PATH="$USER_PATH" HOME="$U/home" XDG_RUNTIME_DIR="$U/run" \
		sh "$script" >"$DLOG" 2>&1 &
	RUNUSER_PID=$!
	SN_LOG=$DLOG # what fail() shows
	for _ in $(seq 120); do
		dk info >/dev/null 2>&1 && break
		sn_running "$RUNUSER_PID" || fail "$how: dockerd-rootless.sh exited: $(tail -n 30 "$DLOG")"
		sleep 0.5
	done
	out=$(dk info --format '{{.Driver}} {{.SecurityOptions}}' 2>&1) ||
		fail "$how: dockerd did not become ready in 60 s: $out"
	grep -q '^overlay2 .*name=rootless' <<<"$out" || fail "$how: dockerd is not rootless on overlay2: $out"
	ok "$how: dockerd ready (rootless, overlay2)"

	# rootlesskit runs slirpnetd, as sntest, with its usual command line
	# (in this PID namespace rootlesskit is the only one)
	rk=$(pgrep -u sntest -x rootlesskit) || fail "$how: no rootlesskit process"
	DPID=
	for p in $(pgrep -P "$rk" || true); do
		[ "$(readlink "/proc/$p/exe")" = "$(realpath "$SN_BIN")" ] && DPID=$p
	done
	[ -n "$DPID" ] || fail "$how: rootlesskit runs no slirpnetd: $(ps -o pid,args --ppid "$rk")"
	# ... and not the distribution's slirp4netns (the alias's processes are
	# named slirp4netns too: their executable tells)
	for p in $(pgrep -u sntest || true); do
		[ -z "$S4NN" ] || [ "$(readlink "/proc/$p/exe")" != "$S4NN" ] ||
			fail "$how: slirp4netns runs: $(ps -o pid=,args= -p "$p")"
	done
	CMDLINE=$(tr '\0' ' ' <"/proc/$DPID/cmdline" | sed 's/ $//')
	for arg in '--mtu 65520' '-r 3' --disable-host-loopback --enable-sandbox --enable-seccomp ' tap0 '; do
		grep -qF -- "$arg" <<<"$CMDLINE " || fail "$how: slirpnetd's command line lacks \"$arg\": $CMDLINE"
	done
	if [ "$driver" = slirp4netns ]; then
		grep -qF -- "--api-socket $STATE/.s4nn.sock" <<<"$CMDLINE" ||
			fail "$how: slirpnetd's command line lacks --api-socket: $CMDLINE"
	fi
	ok "$how: rootlesskit runs slirpnetd: $CMDLINE"
}

# hostfwd_ports: the host ports of slirpnetd's forwards (its list_hostfwd,
# on the API socket rootlesskit gives it), as "proto:port" lines
hostfwd_ports() {
	printf '%s' '{"execute": "list_hostfwd"}' |
		runuser -u sntest -- timeout 10 ncat -U "$STATE/.s4nn.sock" |
		jq -r '.entries[] | "\(.proto):\(.host_port)"'
}

# listening PORT: true while a TCP or UDP socket of the host's listens on PORT
listening() { ss -Htuln "sport = :$1" | grep -q .; }

# client_address_check HOW: with rootlesskit's slirp4netns port driver, a
# published port's service sees a client that is not on the host's loopback
# as itself (slirpnetd carries it through tap0, Docker's DNAT rule inside
# takes it to the container), as with slirp4netns
client_address_check() {
	local how=$1 out
	sn_port_free "$ADDR_PORT"
	out=$(dk run -d --name "sn-addr" --stop-timeout 1 -p "$ADDR_PORT:$TCP_PORT/tcp" "$IMAGE" \
		socat "TCP-LISTEN:$TCP_PORT,fork,reuseaddr" 'SYSTEM:echo peer=$SOCAT_PEERADDR' 2>&1) ||
		fail "$how: docker run -p $ADDR_PORT: $out"
	wait_for bash -c "timeout 5 socat -t 5 - TCP:$SN_NET_ADDR:$ADDR_PORT </dev/null | grep -q peer=" ||
		fail "$how: the container's address service does not answer on $SN_NET_ADDR:$ADDR_PORT"
	out=$(timeout 30 socat -t 10 - "TCP:$SN_NET_ADDR:$ADDR_PORT,bind=$SN_NET_ADDR" </dev/null 2>&1) || true
	[ "$out" = "peer=$SN_NET_ADDR" ] ||
		fail "$how: a client at $SN_NET_ADDR was seen in the container as \"$out\", not peer=$SN_NET_ADDR"
	out=$(dk rm -f sn-addr 2>&1) || fail "$how: docker rm -f sn-addr: $out"
	ok "$how: the container saw the client at $SN_NET_ADDR as itself (published port $ADDR_PORT)"
}

# run_checks HOW DRIVER: the containers' checks against the running dockerd
run_checks() {
	local how=$1 driver=$2 net="sn-net-$2" peer="sn-peer-$2" client="sn-client-$2" pub="sn-pub-$2"
	local out want peer_ip

	out=$(dk import "$U/rootfs.tar" "$IMAGE" 2>&1) || fail "$how: docker import: $out"
	ok "$how: image $IMAGE imported from busybox"

	# (a) a container on the default bridge reaches the host's listener
	# through slirpnetd (the host is 10.0.2.2 inside, but rootlesskit's
	# --disable-host-loopback keeps 127.0.0.1 out of reach, so the listener
	# is on an address of the host's own)
	want=$(sha256sum <"$U/data" | cut -d' ' -f1)
	out=$(dk run --rm -v "$U/data:/data:ro" "$IMAGE" \
		sh -c "nc -w 10 $SN_NET_ADDR $HOST_ECHO_PORT </data | sha256sum" 2>&1) ||
		fail "$how: docker run (to the host's listener): $out"
	[ "$(tail -n1 <<<"$out" | cut -d' ' -f1)" = "$want" ] ||
		fail "$how: container -> $SN_NET_ADDR:$HOST_ECHO_PORT: sha256 of the echo is \"$out\", not $want"
	ok "$how: container -> host $SN_NET_ADDR:$HOST_ECHO_PORT: 1024 KiB echoed back byte-exact"

	# (b) a user-defined network: docker's embedded DNS (127.0.0.11)
	# resolves a container by name, and other names through 10.0.2.3 to
	# the stub resolver; outbound TCP from it
	out=$(dk network create "$net" 2>&1) || fail "$how: docker network create: $out"
	out=$(dk run -d --name "$peer" --network "$net" --stop-timeout 1 "$IMAGE" \
		nc -ll -p "$TCP_PORT" -e /bin/cat 2>&1) || fail "$how: docker run $peer: $out"
	out=$(dk run -d --name "$client" --network "$net" --stop-timeout 1 -v "$U/data:/data:ro" \
		"$IMAGE" sleep 3600 2>&1) || fail "$how: docker run $client: $out"
	peer_ip=$(dk inspect -f "{{(index .NetworkSettings.Networks \"$net\").IPAddress}}" "$peer") ||
		fail "$how: docker inspect $peer"
	out=$(dk exec "$client" nslookup -type=a "$peer" 2>&1) || fail "$how: nslookup $peer: $out"
	grep -Eq "^Address:[[:space:]]+$peer_ip\$" <<<"$out" ||
		fail "$how: the embedded DNS does not resolve $peer to $peer_ip: $out"
	ok "$how: on network $net, the embedded DNS resolves $peer to $peer_ip"
	out=$(dk exec "$client" sh -c "echo hello-$driver | nc -w 5 $peer $TCP_PORT" 2>&1) || true
	[ "$out" = "hello-$driver" ] || fail "$how: $client -> $peer:$TCP_PORT by name: \"$out\""
	ok "$how: $client reaches $peer:$TCP_PORT by name"
	# (dockerd forwards what it does not know to the nameservers of its
	# resolv.conf, which rootlesskit writes: slirpnetd's 10.0.2.3 only)
	out=$(grep '^nameserver' "/proc/$(cat "$STATE/child_pid")/root/etc/resolv.conf" 2>&1) || true
	[ "$out" = "nameserver 10.0.2.3" ] || fail "$how: dockerd's resolv.conf names \"$out\", not 10.0.2.3 alone"
	out=$(dk exec "$client" nslookup -type=a "$SN_DNS_NAME" 2>&1) || fail "$how: nslookup $SN_DNS_NAME: $out"
	grep -Eq "^Address:[[:space:]]+${SN_DNS_ANSWER//./\\.}\$" <<<"$out" ||
		fail "$how: $SN_DNS_NAME does not resolve to $SN_DNS_ANSWER: $out; stub: $(cat "$SN_DNS_LOG")"
	ok "$how: the embedded DNS resolves $SN_DNS_NAME to $SN_DNS_ANSWER through 10.0.2.3 and the stub resolver"
	out=$(dk exec "$client" sh -c "nc -w 10 $SN_NET_ADDR $HOST_ECHO_PORT </data | sha256sum" 2>&1) ||
		fail "$how: $client -> $SN_NET_ADDR:$HOST_ECHO_PORT: $out"
	[ "$(cut -d' ' -f1 <<<"$out")" = "$want" ] ||
		fail "$how: $client -> $SN_NET_ADDR:$HOST_ECHO_PORT: sha256 of the echo is \"$out\", not $want"
	ok "$how: $client (network $net) -> host $SN_NET_ADDR:$HOST_ECHO_PORT: 1024 KiB echoed back byte-exact"
	# ... but not the host's loopback through 10.0.2.2: rootlesskit passes
	# --disable-host-loopback
	out=$(dk exec "$client" sh -c "echo probe | nc -w 5 10.0.2.2 $LOOP_ECHO_PORT" 2>&1) &&
		fail "$how: $client reached the host's 127.0.0.1:$LOOP_ECHO_PORT through 10.0.2.2: $out"
	if grep -q 'accepting connection' "$SN_WORK/loop-echo.log"; then
		fail "$how: the host's 127.0.0.1 echo server got a connection: $(cat "$SN_WORK/loop-echo.log")"
	fi
	ok "$how: 10.0.2.2:$LOOP_ECHO_PORT (the host's 127.0.0.1) unreachable ($out)"

	# (c) published ports, TCP and UDP: echo servers in the container
	sn_port_free "$PUB_PORT"
	out=$(dk run -d --name "$pub" --stop-timeout 1 -p "$PUB_PORT:$TCP_PORT/tcp" -p "$PUB_PORT:$UDP_PORT/udp" \
		"$IMAGE" sh -c "nc -ll -p $TCP_PORT -e /bin/cat & exec socat UDP-LISTEN:$UDP_PORT,fork,reuseaddr PIPE" 2>&1) ||
		fail "$how: docker run -p: $out"
	if [ "$driver" = slirp4netns ]; then
		out=$(hostfwd_ports) || fail "$how: slirpnetd's API did not answer"
		grep -qx "tcp:$PUB_PORT" <<<"$out" && grep -qx "udp:$PUB_PORT" <<<"$out" ||
			fail "$how: slirpnetd's list_hostfwd does not show the published port: $out"
		ok "$how: slirpnetd forwards tcp and udp $PUB_PORT (list_hostfwd)"
	fi
	wait_for bash -c "echo | timeout 5 socat -t 5 - TCP:127.0.0.1:$PUB_PORT" ||
		fail "$how: the container's echo server does not answer on 127.0.0.1:$PUB_PORT"
	sn_echo_check "$how: host 127.0.0.1:$PUB_PORT/tcp -> container :$TCP_PORT" "$U/data" \
		socat -t 30 - "TCP:127.0.0.1:$PUB_PORT"
	sn_echo_check "$how: host $SN_NET_ADDR:$PUB_PORT/tcp -> container :$TCP_PORT" "$U/data" \
		socat -t 30 - "TCP:$SN_NET_ADDR:$PUB_PORT"
	udp_echo_check "$how: host 127.0.0.1:$PUB_PORT/udp -> container :$UDP_PORT" 127.0.0.1 "$PUB_PORT"
	udp_echo_check "$how: host $SN_NET_ADDR:$PUB_PORT/udp -> container :$UDP_PORT" "$SN_NET_ADDR" "$PUB_PORT"
	[ "$driver" != slirp4netns ] || client_address_check "$how"

	# (d) docker rm frees the port, and it can be published again
	out=$(dk rm -f "$pub" 2>&1) || fail "$how: docker rm -f $pub: $out"
	wait_for bash -c "! ss -Htuln 'sport = :$PUB_PORT' | grep -q ." ||
		fail "$how: port $PUB_PORT still open after docker rm: $(ss -Htulnp "sport = :$PUB_PORT")"
	if [ "$driver" = slirp4netns ]; then
		out=$(hostfwd_ports) || fail "$how: slirpnetd's API did not answer"
		if grep -q ":$PUB_PORT\$" <<<"$out"; then fail "$how: slirpnetd still forwards $PUB_PORT after docker rm: $out"; fi
	fi
	out=$(dk run -d --name "$pub" --stop-timeout 1 -p "$PUB_PORT:$TCP_PORT/tcp" "$IMAGE" \
		nc -ll -p "$TCP_PORT" -e /bin/cat 2>&1) || fail "$how: docker run -p $PUB_PORT again: $out"
	wait_for bash -c "echo | timeout 5 socat -t 5 - TCP:127.0.0.1:$PUB_PORT" ||
		fail "$how: the new container's echo server does not answer on 127.0.0.1:$PUB_PORT"
	sn_echo_check "$how: after docker rm, $PUB_PORT published again" "$U/data" \
		socat -t 30 - "TCP:127.0.0.1:$PUB_PORT"
}

# finish HOW: stop dockerd with its containers still running: nothing of
# it is left, slirpnetd included, and neither logged an error
finish() {
	local how=$1 left
	stop_dockerd
	left=$(ps -u sntest -o pid=,args= || true)
	[ -z "$left" ] || fail "$how: still running after dockerd stopped: $left"
	if listening "$PUB_PORT"; then fail "$how: port $PUB_PORT still open after dockerd stopped"; fi
	grep -q 'network/slirp4netns: ' "$DLOG" || fail "$how: no slirpnetd output in rootlesskit's debug log"
	if grep 'network/slirp4netns: ' "$DLOG" | grep -Ei 'error|fail|critical' >&2; then
		fail "$how: slirpnetd logged errors (above)"
	fi
	ok "$how: dockerd stopped (SIGTERM to rootlesskit): no dockerd, containerd or slirpnetd left"
}

sn_echo_server "$HOST_ECHO_PORT" "$SN_WORK/echo.log" "$SN_NET_ADDR"
sn_echo_server "$LOOP_ECHO_PORT" "$SN_WORK/loop-echo.log"

HOW="FLAGS lines, builtin port driver"
start_dockerd "$HOW" docker builtin
run_checks "$HOW" builtin
finish "$HOW"

HOW="PATH lines, slirp4netns port driver"
start_dockerd "$HOW" docker-path slirp4netns
run_checks "$HOW" slirp4netns
finish "$HOW"

sn_private_net_check
sn_done
