#!/bin/bash
# test_offload.sh - tap offloads: with them the guest sends 64 KiB IPv4 TCP segments at MTU 1500 and
# leaves checksums to slirpnetd, and gets runs of segments as one frame (IPv4 and IPv6 TCP both ways,
# UDP), all byte-exact; at MTU 65520 only for the TCP flow engine; none with --disable-offload.
. "$(dirname "$0")/lib.sh"
sn_sandbox "$@"

MIB=16
head -c ${MIB}M /dev/urandom >"$SN_WORK/data"
SUM=$(sn_sha256 <"$SN_WORK/data")

# tx_frames, rx_frames: frames the guest has handed tap0 so far, and taken from it
tx_frames() { nsx awk -F"[: ]+" '$2 == "tap0" { print $12 }' /proc/net/dev; }
rx_frames() { nsx awk -F"[: ]+" '$2 == "tap0" { print $4 }' /proc/net/dev; }

# transfer up|down HOW PORT LISTEN CONNECT: the data from the container to a socat LISTEN address (on
# PORT) on the host through CONNECT (up), or from that address to the container (down); fail unless
# it arrives byte-exact. Sets FRAMES to the frames tap0 carried that way meanwhile.
transfer() {
	local dir=$1 how=$2 port=$3 listen=$4 connect=$5 before l file="$SN_WORK/got" count=tx_frames
	rm -f "$file"
	if [ "$dir" = up ]; then
		socat -u "$listen" "CREATE:$file" &
	else
		socat -u "OPEN:$SN_WORK/data" "$listen" &
		count=rx_frames
	fi
	l=$!
	SN_PIDS+=("$l")
	wait_for bash -c "ss -Htln 'sport = :$port' | grep -q ." || fail "$how: listener did not start"
	before=$($count)
	if [ "$dir" = up ]; then
		nsx timeout 60 socat -u "OPEN:$SN_WORK/data" "$connect" || fail "$how: the transfer failed"
	else
		nsx timeout 60 socat -u "$connect" "CREATE:$file" || fail "$how: the transfer failed"
	fi
	sn_wait_exit "$l" 30
	FRAMES=$(($($count) - before))
	[ "$SN_RC" = 0 ] || fail "$how: host side exit status $SN_RC"
	[ "$(sn_sha256 <"$file")" = "$SUM" ] || fail "$how: got $(stat -c %s "$file") bytes with another sha256"
	ok "$how: $MIB MiB byte-exact in $FRAMES frames"
}

# udp_echo HOW SIZE HOST PORT: SIZE random bytes as one datagram to a UDP echo server at HOST:PORT, byte-exact back
udp_echo() {
	local how=$1 want got
	head -c "$2" /dev/urandom >"$SN_WORK/dgram"
	want=$(sn_sha256 <"$SN_WORK/dgram")
	got=$(nsx timeout 60 python3 "$UDPPEER" send --whole "$3" "$4" <"$SN_WORK/dgram" | sn_sha256)
	[ "$got" = "$want" ] || fail "$how: a $2-byte datagram did not come back byte-exact"
	ok "$how: $2-byte datagram echoed byte-exact"
}

python3 "$UDPPEER" echo 7102 --bind 127.0.0.1 &
SN_PIDS+=($!)
wait_for bash -c "ss -Huln 'sport = :7102' | grep -q ." || fail "UDP echo server did not start"

# Offloads on (the default), MTU 1500
sn_container
sn_start -c -6 "$CPID"
nsx ip -d link show tap0 | grep -q 'vnet_hdr on' || fail "tap0 has no virtio-net header: $(nsx ip -d link show tap0)"
ok "tap0 carries the virtio-net header"

transfer up "IPv4 TCP, MTU 1500, offloads" 7101 TCP-LISTEN:7101,bind=127.0.0.1,reuseaddr TCP:10.0.2.2:7101
# 16 MiB in 1460-byte segments (libslirp uses no TCP timestamps) is 11492 frames; segmentation
# offload sends up to 64 KiB in one (400-650 frames seen, under memcheck too). Below 6000 frames,
# the frames average two segments or more; the bound leaves room for a loaded machine, where the
# guest's kernel, sending slowly, sizes its segments smaller (TSO autosizing).
[ "$FRAMES" -lt 6000 ] || fail "the guest sent $FRAMES frames for $MIB MiB: no segmentation offload"
ok "the guest's kernel left segmentation to slirpnetd ($FRAMES frames, not 11492 or more)"

# libslirp's segments to the guest go in runs of up to 64 KiB, one frame each
transfer down "IPv4 TCP download, MTU 1500, offloads" 7106 TCP-LISTEN:7106,bind=127.0.0.1,reuseaddr \
	TCP:10.0.2.2:7106
[ "$FRAMES" -lt 6000 ] || fail "the guest took $FRAMES frames for $MIB MiB: segments were not sent as runs"
ok "slirpnetd sent the guest runs of segments as one frame ($FRAMES frames, not 11492 or more)"

wait_for bash -c "nsenter --target $CPID --net ip -6 addr show dev tap0 scope global -tentative | grep -q fd00" ||
	fail "no IPv6 address on tap0"
# IPv6: checksum offload only (libslirp takes no IPv6 packet over its MTU), segments one by one
transfer up "IPv6 TCP, MTU 1500, offloads" 7103 'TCP6-LISTEN:7103,bind=[::1],reuseaddr' 'TCP6:[fd00::2]:7103'
transfer down "IPv6 TCP download, MTU 1500, offloads" 7107 'TCP6-LISTEN:7107,bind=[::1],reuseaddr' \
	'TCP6:[fd00::2]:7107'

# UDP: the checksum the guest left partial is completed (libslirp drops a wrong one); 8000 bytes
# are fragmented by the guest, which checksums before fragmenting
for n in 1 1000 1472 8000; do udp_echo "UDP, offloads" "$n" 10.0.2.2 7102; done
nsx ping -c 1 -W 5 10.0.2.2 >/dev/null || fail "ping through an offloading tap failed"
ok "ping through an offloading tap"
grep -q "dropped a frame" "$SN_LOG" && fail "frames were dropped: $(grep 'dropped a frame' "$SN_LOG")"
kill "$SN_PID"
sn_wait_exit "$SN_PID"

# MTU 65520 with libslirp's TCP: the guest's segments are large already, no offloads
sn_container
sn_start -c --mtu 65520 --tcp-path=slirp "$CPID"
nsx ip -d link show tap0 | grep -q 'vnet_hdr off' || fail "MTU 65520: tap0 has the virtio-net header"
ok "MTU 65520, --tcp-path=slirp: tap0 carries no virtio-net header"
transfer up "IPv4 TCP, MTU 65520, no offloads" 7105 TCP-LISTEN:7105,bind=127.0.0.1,reuseaddr TCP:10.0.2.2:7105
kill "$SN_PID"
sn_wait_exit "$SN_PID"

# MTU 65520 with the TCP flow engine: offloads at every MTU (its frames need no checksum from us)
sn_container
sn_start -c --mtu 65520 --tcp-path=kernel "$CPID"
nsx ip -d link show tap0 | grep -q 'vnet_hdr on' || fail "MTU 65520, --tcp-path=kernel: tap0 has no virtio-net header"
ok "MTU 65520, --tcp-path=kernel: tap0 carries the virtio-net header"
transfer up "IPv4 TCP, MTU 65520, offloads" 7109 TCP-LISTEN:7109,bind=127.0.0.1,reuseaddr TCP:10.0.2.2:7109
transfer down "IPv4 TCP download, MTU 65520, offloads" 7110 TCP-LISTEN:7110,bind=127.0.0.1,reuseaddr \
	TCP:10.0.2.2:7110
udp_echo "UDP, MTU 65520, offloads" 8000 10.0.2.2 7102
kill "$SN_PID"
sn_wait_exit "$SN_PID" 10

# --disable-offload: no header, MTU-sized segments, the same bytes
sn_container
sn_start -c --disable-offload "$CPID"
nsx ip -d link show tap0 | grep -q 'vnet_hdr off' || fail "--disable-offload: tap0 has the virtio-net header"
ok "--disable-offload: tap0 carries no virtio-net header"
transfer up "IPv4 TCP, MTU 1500, --disable-offload" 7104 TCP-LISTEN:7104,bind=127.0.0.1,reuseaddr TCP:10.0.2.2:7104
[ "$FRAMES" -ge 11492 ] || fail "--disable-offload: $FRAMES frames for $MIB MiB, fewer than MTU-sized segments"
transfer down "IPv4 TCP download, MTU 1500, --disable-offload" 7108 TCP-LISTEN:7108,bind=127.0.0.1,reuseaddr \
	TCP:10.0.2.2:7108
[ "$FRAMES" -ge 11492 ] || fail "--disable-offload: the guest took $FRAMES frames for $MIB MiB"
udp_echo "UDP, --disable-offload" 1000 10.0.2.2 7102
sn_done
