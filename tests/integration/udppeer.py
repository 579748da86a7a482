#!/usr/bin/env python3
"""udppeer.py - the integration tests' UDP peers, whose datagrams do not
depend on timing: each datagram is made by one sendto() of this program,
never by a relay reading a pipe.

  udppeer.py send HOST PORT [--bind ADDR [--bind-port PORT]] [--whole]
                  [--wait SECONDS] [--connect]
      Each line of stdin, its newline kept, is one datagram; it is sent once
      the previous one's reply has come (and the line has), and each reply is
      written to stdout as it comes, so a coprocess can go step by step. --whole sends all of stdin as one datagram instead. Exits
      1, saying so on stderr, if a reply does not come within --wait seconds
      (default 30). With --connect the socket is connected first: replies
      from any other address or port are not taken.

  udppeer.py echo PORT [--bind ADDR] [--prefix TEXT] [--peer | --from | --sum]
      Answers each datagram with TEXT followed by the datagram, or with
      --peer with the sender's "ADDR:PORT\\n", with --from with "ADDR PORT "
      followed by the datagram, with --sum with "ADDR PORT LENGTH SHA256\\n"
      (ADDR without an IPv4-mapped prefix). Runs until killed.
"""
import argparse
import hashlib
import socket
import sys


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def send(args):
    fam = family_of(args.host)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if args.bind:
        s.bind((args.bind, args.bind_port))
    dest = (args.host, args.port)
    if args.connect:
        s.connect(dest)
    if args.whole:
        dgrams = [sys.stdin.buffer.read()]
    else:
        dgrams = iter(sys.stdin.buffer.readline, b"")
    out = sys.stdout.buffer
    for d in dgrams:
        if args.connect:
            s.send(d)
        else:
            s.sendto(d, dest)
        s.settimeout(args.wait)
        try:
            reply = s.recv(65536)
        except socket.timeout:
            sys.stderr.write("udppeer: no reply to %r from %s:%d within %g s\n"
                             % (d[:40], args.host, args.port, args.wait))
            return 1
        out.write(reply)
        out.flush()
    return 0


def echo(args):
    fam = family_of(args.bind)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((args.bind, args.port))
    prefix = args.prefix.encode()
    while True:
        d, peer = s.recvfrom(65536)
        addr = peer[0][7:] if peer[0].startswith("::ffff:") else peer[0]
        if args.peer:
            out = ("%s:%d\n" % (peer[0], peer[1])).encode()
        elif args.sum:
            out = ("%s %d %d %s\n" % (addr, peer[1], len(d),
                                      hashlib.sha256(d).hexdigest())).encode()
        elif getattr(args, "from"):
            out = ("%s %d " % (addr, peer[1])).encode() + d
        else:
            out = prefix + d
        s.sendto(out, peer)


def main():
    p = argparse.ArgumentParser(description="UDP test peers")
    sub = p.add_subparsers(dest="cmd", required=True)
    ps = sub.add_parser("send")
    ps.add_argument("host")
    ps.add_argument("port", type=int)
    ps.add_argument("--bind")
    ps.add_argument("--bind-port", type=int, default=0)
    ps.add_argument("--whole", action="store_true")
    ps.add_argument("--wait", type=float, default=30)
    ps.add_argument("--connect", action="store_true")
    pe = sub.add_parser("echo")
    pe.add_argument("port", type=int)
    pe.add_argument("--bind", default="0.0.0.0")
    pe.add_argument("--prefix", default="")
    pe.add_argument("--peer", action="store_true")
    pe.add_argument("--from", action="store_true")
    pe.add_argument("--sum", action="store_true")
    args = p.parse_args()
    return send(args) if args.cmd == "send" else echo(args)


if __name__ == "__main__":
    sys.exit(main())
