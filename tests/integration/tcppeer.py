#!/usr/bin/env python3
"""tcppeer.py - both ends of a TCP conversation for test_tcp.sh, run as a
list of steps, each reporting on stdout one line the test compares.

tcppeer.py listen ADDR PORT STEP...	accept one connection; "peer ADDR PORT"
tcppeer.py connect ADDR PORT [src=LADDR] [from=LPORT] STEP...
					connect (from address LADDR, port
					LPORT); "connected",
					or "connect-error ENAME SECONDS", exit 1
tcppeer.py synflood SRC DST N PORT...	N SYNs from SRC, random source ports
					below the kernel's ephemeral range, to
					DST's PORTs in turn (raw socket);
					"flooding" after the first tenth
tcppeer.py syn SRC SPORT DST DPORT	one SYN from SRC:SPORT to DST:DPORT

Steps:
  send=N	send N random bytes; "sent N SHA256"
  eof		read until end of file; "eof N SHA256"
  say=WORD	send WORD and a newline
  line		read a line; "line WORD"
  shut		shutdown(SHUT_WR)
  rst		SO_LINGER 0 and close: an RST to the peer
  close		close
  keepalive=S	keep-alive probes after S s idle, every S s, 3 unanswered fatal
  err		read until an error; "err ENAME", or "eof N SHA256" at end
		of file
  flood=N	send N random bytes without blocking; "blocked SENT" the
		first time the socket takes no more, "sent N SHA256" at the end
  wait=FIFO	read a line from FIFO (the test says when to go on)
  echo=FIFO	round trips of 16 KiB, each checked, until FIFO has a line;
		"echoing" after the first, "echoed ROUNDS" at the end

Any other failure: "error STEP ENAME" on stdout, exit status 1. Each
socket operation times out after 60 s.
"""
import errno
import hashlib
import os
import random
import select
import socket
import struct
import sys
import time

TIMEOUT = 60


def say(*words):
    print(*words, flush=True)


def ename(e):
    return errno.errorcode.get(e.errno, str(e.errno)) if e.errno else type(e).__name__


def recv_eof(s):
    h, n = hashlib.sha256(), 0
    while True:
        b = s.recv(1 << 20)
        if not b:
            return n, h.hexdigest()
        h.update(b)
        n += len(b)


def send_random(s, n):
    h, left = hashlib.sha256(), n
    while left:
        b = os.urandom(min(left, 1 << 20))
        s.sendall(b)
        h.update(b)
        left -= len(b)
    return h.hexdigest()


def flood(s, n):
    """n random bytes through a non-blocking socket; report the first block"""
    h, left, blocked = hashlib.sha256(), n, False
    buf, off = b"", 0
    s.setblocking(False)
    while left or off < len(buf):
        if off == len(buf):
            buf, off = os.urandom(min(left, 1 << 20)), 0
            h.update(buf)
            left -= len(buf)
        try:
            off += s.send(buf[off:])
            continue
        except BlockingIOError:
            pass
        if not blocked:
            blocked = True
            say("blocked", n - left - (len(buf) - off))
        if not select.select([], [s], [], TIMEOUT)[1]:
            raise TimeoutError("the socket took nothing for %d s" % TIMEOUT)
    s.setblocking(True)
    s.settimeout(TIMEOUT)
    return h.hexdigest()


def recv_line(s):
    b = b""
    while not b.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            raise EOFError("end of file before a whole line")
        b += c
    return b.decode().strip()


def echo_loop(s, fifo):
    stop = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    rounds = 0
    while True:
        data = os.urandom(16384)
        s.sendall(data)
        got = b""
        while len(got) < len(data):
            b = s.recv(len(data) - len(got))
            if not b:
                raise EOFError("end of file in round %d" % rounds)
            got += b
        if got != data:
            raise ValueError("round %d came back different" % rounds)
        rounds += 1
        if rounds == 1:
            say("echoing")
        if select.select([stop], [], [], 0)[0] and os.read(stop, 64):
            return rounds


def run(s, steps):
    for step in steps:
        name, _, arg = step.partition("=")
        try:
            if name == "send":
                say("sent", arg, send_random(s, int(arg)))
            elif name == "eof":
                say("eof", *recv_eof(s))
            elif name == "say":
                s.sendall(arg.encode() + b"\n")
            elif name == "line":
                say("line", recv_line(s))
            elif name == "shut":
                s.shutdown(socket.SHUT_WR)
            elif name == "rst":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
                s.close()
            elif name == "close":
                s.close()
            elif name == "keepalive":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, int(arg))
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, int(arg))
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
            elif name == "err":
                try:
                    say("eof", *recv_eof(s))
                except OSError as e:
                    say("err", ename(e))
            elif name == "flood":
                say("sent", arg, flood(s, int(arg)))
            elif name == "wait":
                with open(arg) as f:
                    f.readline()
            elif name == "echo":
                say("echoed", echo_loop(s, arg))
            else:
                raise ValueError("unknown step " + step)
        except (OSError, EOFError, ValueError) as e:
            say("error", step, ename(e) if isinstance(e, OSError) else e)
            sys.exit(1)


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def listen(addr, port, steps):
    ls = socket.socket(family(addr), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, int(port)))
    ls.listen(1)
    ls.settimeout(TIMEOUT)
    s, peer = ls.accept()
    ls.close()
    s.settimeout(TIMEOUT)
    say("peer", peer[0], peer[1])
    run(s, steps)


def connect(addr, port, steps):
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    src, sport = "", 0
    while steps and steps[0].split("=")[0] in ("src", "from"):
        name, arg = steps.pop(0).split("=", 1)
        if name == "src":
            src = arg
        else:
            sport = int(arg)
    if src or sport:
        s.bind((src, sport))
    t = time.monotonic()
    try:
        s.connect((addr, int(port)))
    except OSError as e:
        say("connect-error", ename(e), "%.3f" % (time.monotonic() - t))
        sys.exit(1)
    say("connected")
    run(s, steps)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def synflood(src, dst, n, ports, sport=None):
    """n bare SYNs, random source ports (or sport) and sequence numbers"""
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    sa, da = socket.inet_aton(src), socket.inet_aton(dst)
    for i in range(n):
        # by default not the guest's own ports, which its sockets answer
        sp = sport or random.randint(1024, 32767)
        dport = int(ports[i % len(ports)])
        hdr = struct.pack("!HHIIBBHHH", sp, dport,
                          random.getrandbits(32), 0, 5 << 4, 0x02, 64240, 0, 0)
        pseudo = sa + da + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(hdr))
        hdr = hdr[:16] + struct.pack("!H", csum(pseudo + hdr)) + hdr[18:]
        s.sendto(hdr, (dst, 0))
        if i == n // 10 and n > 1:
            say("flooding")
    say("sent", n, "SYNs")


def main(argv):
    if len(argv) >= 3 and argv[0] == "listen":
        listen(argv[1], argv[2], argv[3:])
    elif len(argv) >= 3 and argv[0] == "connect":
        connect(argv[1], argv[2], argv[3:])
    elif len(argv) >= 5 and argv[0] == "synflood":
        synflood(argv[1], argv[2], int(argv[3]), argv[4:])
    elif len(argv) == 5 and argv[0] == "syn":
        synflood(argv[1], argv[3], 1, [argv[4]], int(argv[2]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
