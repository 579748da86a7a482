#!/bin/bash
# test_guard.sh - TCP urgent data from the guest is neutralized before
# libslirp: the bytes arrive in line and intact, none out of band, over IPv4
# and IPv6; the daemon keeps running and counts what it cleared. IPv4
# fragments that crash libslirp 4.7.0 (a lone last fragment, a burst of
# fragmented UDP) leave the daemon running, and fragmented UDP still works.
. "$(dirname "$0")/lib.sh"
sn_sandbox "$@"

# listening PORT: a TCP socket listens on PORT
listening() { ss -Hltn "sport = :$1" | grep -q .; }
# global6: tap0 has a usable (DAD done) address in fd00::/64
global6() { nsx ip -6 addr show dev tap0 scope global -tentative | grep -q 'inet6 fd00::'; }

# receiver ADDR PORT OUT: on the host, accept one connection and write to
# OUT the bytes read in line, then "oob=yes" or "oob=no": whether the
# socket ever signalled urgent data (select's exceptional set) or holds an
# urgent byte at the end. Sets RECV_PID once it listens.
receiver() {
	python3 - "$@" <<'EOF' &
import errno, select, socket, sys
addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
l = socket.socket(fam, socket.SOCK_STREAM)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((addr, port))
l.listen(1)
l.settimeout(30)
c, _ = l.accept()
data, oob = b"", False
while True:
    r, _, x = select.select([c], [], [c], 30)
    if x:
        oob = True
    if not r:
        if not x:
            break
        continue
    chunk = c.recv(65536)
    if not chunk:
        break
    data += chunk
try:
    c.recv(1, socket.MSG_OOB | socket.MSG_DONTWAIT)
    oob = True
except OSError as e:
    if e.errno not in (errno.EINVAL, errno.EAGAIN):
        raise
with open(out, "wb") as f:
    f.write(data + b"\noob=" + (b"yes" if oob else b"no") + b"\n")
EOF
	RECV_PID=$!
	SN_PIDS+=("$RECV_PID")
	wait_for listening "$2" || fail "receiver on $1:$2 did not start"
}

# send_urgent ADDR PORT: from the guest, send "before-", "U" as urgent data
# (MSG_OOB sets URG and the urgent pointer), then "-after", each in a
# segment of its own: the next is sent once the last is acknowledged (the
# socket's send queue, SIOCOUTQ, is empty)
send_urgent() {
	nsx timeout 60 perl -MIO::Socket::IP -MSocket=:DEFAULT,IPPROTO_TCP,TCP_NODELAY -e '
		my $s = IO::Socket::IP->new(PeerHost => $ARGV[0], PeerPort => $ARGV[1],
			Proto => "tcp") or die "connect: $@\n";
		setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1) or die "nodelay: $!\n";
		sub acked {
			for (1 .. 5000) {
				my $n = pack("i", 0);
				ioctl($s, 0x5411, $n) or die "SIOCOUTQ: $!\n";
				return if unpack("i", $n) == 0;
				select(undef, undef, undef, 0.01);
			}
			die "data not acknowledged within 50 s\n";
		}
		$s->send("before-") or die "send: $!\n";
		acked();
		$s->send("U", MSG_OOB) or die "send MSG_OOB: $!\n";
		acked();
		$s->send("-after") or die "send: $!\n";
		shutdown($s, 1);
		1 while sysread($s, my $buf, 4096);
	' "$1" "$2"
}

# check_urgent HOW HOSTADDR GUESTADDR PORT: one connection with urgent data
check_urgent() {
	local how=$1 out="$SN_WORK/recv.$4" got
	receiver "$2" "$4" "$out"
	send_urgent "$3" "$4" || fail "$how: the sender in the guest failed"
	sn_wait_exit "$RECV_PID" 60
	[ "$SN_RC" = 0 ] || fail "$how: the receiver failed (exit status $SN_RC)"
	got=$(cat "$out")
	[ "$got" = $'before-U-after\noob=no' ] ||
		fail "$how: the host received '$got', not 'before-U-after' in line with no urgent data"
	kill -0 "$SN_PID" 2>/dev/null || fail "$how: slirpnetd died"
	ok "$how: 'before-U-after' arrived in line and intact, no urgent data on the host"
}

# The guard protects libslirp's TCP: the guest's TCP goes through it here
sn_container
sn_start -c -6 --debug --tcp-path=slirp "$CPID"
grep -q '^libslirp [0-9]' "$SN_LOG" || fail "the log does not name the libslirp version"
ok "start-up: $(grep -m1 '^libslirp [0-9]' "$SN_LOG")"

check_urgent "IPv4" 127.0.0.1 10.0.2.2 7101
grep -q 'guard: TCP urgent data cleared in [1-9][0-9]* segments' "$SN_LOG" ||
	fail "the log does not count the segments whose urgent data was cleared"
ok "the log counts them: $(grep -m1 'guard: TCP urgent data cleared' "$SN_LOG")"

wait_for global6 || fail "no fd00::/64 address on tap0 within 10 s: $(nsx ip -6 addr show dev tap0)"
check_urgent "IPv6" ::1 fd00::2 7102

# ... and ordinary traffic still flows
socat -t 30 TCP-LISTEN:7103,bind=127.0.0.1,reuseaddr,fork EXEC:cat &
SN_PIDS+=($!)
wait_for listening 7103 || fail "echo server did not start"
msg="plain-$RANDOM"
out=$(printf '%s\n' "$msg" | nsx timeout 60 socat -t 30 -T 30 - TCP:10.0.2.2:7103) ||
	fail "TCP echo via 10.0.2.2 failed after the urgent data"
[ "$out" = "$msg" ] || fail "TCP echo: sent '$msg', got '$out'"
kill -0 "$SN_PID" 2>/dev/null || fail "slirpnetd is not running"
grep -E 'CRITICAL|assert' "$SN_LOG" && fail "the daemon logged a critical message"
ok "the daemon runs on and ordinary TCP still works"

# --- IPv4 fragments. libslirp 4.7.0 as Debian builds it crashes on a last
# fragment that starts a reassembly queue: one crafted frame, or a burst of
# fragmented UDP that overflows the tap queue, so that some datagrams lose
# their earlier fragments.

# udp_receiver PORT DIR: on the host's 127.0.0.1:PORT, store each datagram
# as DIR/SHA256; returns once the socket is bound
udp_receiver() {
	mkdir -p "$2"
	python3 - "$@" <<'EOF' &
import hashlib, os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind(("127.0.0.1", int(sys.argv[1])))
open(os.path.join(sys.argv[2], "bound"), "w").close()
while True:
    d = s.recv(65536)
    name = os.path.join(sys.argv[2], hashlib.sha256(d).hexdigest())
    with open(name + ".tmp", "wb") as f:
        f.write(d)
    os.rename(name + ".tmp", name)
EOF
	SN_PIDS+=($!)
	wait_for test -e "$2/bound" || fail "UDP receiver on 127.0.0.1:$1 did not start"
}

# send_dgram FILE PORT: from the guest, FILE as one UDP datagram to
# 10.0.2.2:PORT (fragmented at tap0's MTU)
send_dgram() {
	nsx python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(open(sys.argv[1], "rb").read(), ("10.0.2.2", int(sys.argv[2])))' "$1" "$2"
}

# check_dgram SIZE PORT DIR: a datagram of SIZE random bytes arrives intact
# (sent again, at most twice, should UDP lose it)
check_dgram() {
	local file="$SN_WORK/dgram.$1" want i
	head -c "$1" /dev/urandom >"$file"
	want=$(sn_sha256 <"$file")
	for i in 1 2 3; do
		send_dgram "$file" "$2" || fail "sending $1 bytes from the guest failed"
		wait_for test -e "$3/$want" && break
	done
	[ -e "$3/$want" ] || fail "a $1-byte UDP datagram did not arrive intact at 127.0.0.1:$2"
	ok "a $1-byte UDP datagram, fragmented at MTU $MTU, arrived intact (sha256 $want)"
}

sn_container
SN_API="$SN_WORK/frag.sock"
MTU=1500
sn_start -c -m "$MTU" -a "$SN_API" "$CPID"

# One frame: the last fragment (offset 1480) of a datagram never begun.
nsx python3 - <<'EOF' || fail "could not send the lone last fragment"
import socket, struct
src, dst = socket.inet_aton("10.0.2.100"), socket.inet_aton("10.0.2.2")
h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 800, 4242, 1480 // 8, 64, 17, 0, src, dst)
s = sum(struct.unpack("!10H", h))
s = (s & 0xffff) + (s >> 16)
h = h[:10] + struct.pack("!H", ~((s & 0xffff) + (s >> 16)) & 0xffff) + h[12:]
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
r.sendto(h + b"x" * 800, ("10.0.2.2", 0))
EOF
if ! wait_for grep -qF 'guard: dropped an IPv4 fragment from the guest (10.0.2.100 -> 10.0.2.2, protocol 17, ID 4242, offset 1480): the last fragment of a datagram whose first fragment it did not see' "$SN_LOG"; then
	kill -0 "$SN_PID" 2>/dev/null || fail "slirpnetd died of a lone last fragment"
	fail "no warning about the lone last fragment"
fi
kill -0 "$SN_PID" 2>/dev/null || fail "slirpnetd died of a lone last fragment"
ok "a lone last fragment: dropped and named in the log, the daemon runs on"

# The burst: 2000 datagrams of 8 KiB, as fast as the guest sends them.
udp_receiver 7201 "$SN_WORK/sink"
nsx python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
b = bytes(8192)
for i in range(2000):
    s.sendto(b, ("10.0.2.2", 7201))' || fail "the burst could not be sent"
r=$(api '{"execute":"list_hostfwd"}') || true
kill -0 "$SN_PID" 2>/dev/null || fail "slirpnetd died of a burst of fragmented UDP"
[ "$r" = '{"entries":[]}' ] || fail "the API did not answer after the burst: '$r'"
ok "2000 datagrams of 8 KiB at once: the daemon runs on, the API answers"

udp_receiver 7202 "$SN_WORK/recv"
check_dgram 8192 7202 "$SN_WORK/recv"
check_dgram 61440 7202 "$SN_WORK/recv"
kill -0 "$SN_PID" 2>/dev/null || fail "slirpnetd is not running"
grep -E 'CRITICAL|assert' "$SN_LOG" && fail "the daemon logged a critical message"
sn_done
