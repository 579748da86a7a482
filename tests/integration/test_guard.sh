#!/bin/bash
# test_guard.sh - TCP urgent data from the guest is neutralized before
# libslirp: the bytes arrive in line and intact, none out of band, over IPv4
# and IPv6; the daemon keeps running and counts what it cleared.
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
# (MSG_OOB sets URG and the urgent pointer), then "-after", each flushed
send_urgent() {
	nsx timeout 20 perl -MIO::Socket::IP -MSocket=:DEFAULT,IPPROTO_TCP,TCP_NODELAY -e '
		my $s = IO::Socket::IP->new(PeerHost => $ARGV[0], PeerPort => $ARGV[1],
			Proto => "tcp") or die "connect: $@\n";
		setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1) or die "nodelay: $!\n";
		$s->send("before-") or die "send: $!\n";
		select(undef, undef, undef, 0.2);
		$s->send("U", MSG_OOB) or die "send MSG_OOB: $!\n";
		select(undef, undef, undef, 0.2);
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
	sn_wait_exit "$RECV_PID" 20
	[ "$SN_RC" = 0 ] || fail "$how: the receiver failed (exit status $SN_RC)"
	got=$(cat "$out")
	[ "$got" = $'before-U-after\noob=no' ] ||
		fail "$how: the host received '$got', not 'before-U-after' in line with no urgent data"
	kill -0 "$SN_PID" 2>/dev/null || fail "$how: slirpnetd died"
	ok "$how: 'before-U-after' arrived in line and intact, no urgent data on the host"
}

sn_container
sn_start -c -6 --debug "$CPID"
grep -q '^libslirp [0-9]' "$SN_LOG" || fail "the log does not name the libslirp version"
ok "start-up: $(grep -m1 '^libslirp [0-9]' "$SN_LOG")"

check_urgent "IPv4" 127.0.0.1 10.0.2.2 7101
grep -q 'guard: TCP urgent data cleared in [1-9][0-9]* segments' "$SN_LOG" ||
	fail "the log does not count the segments whose urgent data was cleared"
ok "the log counts them: $(grep -m1 'guard: TCP urgent data cleared' "$SN_LOG")"

wait_for global6 || fail "no fd00::/64 address on tap0 within 10 s: $(nsx ip -6 addr show dev tap0)"
check_urgent "IPv6" ::1 fd00::2 7102

# ... and ordinary traffic still flows
socat TCP-LISTEN:7103,bind=127.0.0.1,reuseaddr,fork EXEC:cat &
SN_PIDS+=($!)
wait_for listening 7103 || fail "echo server did not start"
msg="plain-$RANDOM"
out=$(printf '%s\n' "$msg" | nsx timeout 15 socat -t 5 -T 10 - TCP:10.0.2.2:7103) ||
	fail "TCP echo via 10.0.2.2 failed after the urgent data"
[ "$out" = "$msg" ] || fail "TCP echo: sent '$msg', got '$out'"
kill -0 "$SN_PID" 2>/dev/null || fail "slirpnetd is not running"
grep -E 'CRITICAL|assert' "$SN_LOG" && fail "the daemon logged a critical message"
ok "the daemon runs on and ordinary TCP still works"
sn_done
