#!/bin/bash
# test_api.sh - the control socket end to end: slirp4netns's replies, and
# forwards that carry data from the host's loopback into the container.
. "$(dirname "$0")/lib.sh"
sn_sandbox "$@"

sn_container
SN_API="$SN_WORK/api.sock"
sn_start -c -a "$SN_API" "$CPID"
[ "$(stat -c %a "$SN_API")" = 600 ] || fail "socket mode $(stat -c %a "$SN_API"), not 600"
ok "API socket is mode 0600"

# Servers inside the container: a TCP echo on 80, a UDP echo on 53.
nsx socat -t 30 TCP-LISTEN:80,reuseaddr,fork EXEC:cat &
SN_PIDS+=($!)
nsx python3 "$UDPPEER" echo 53 &
SN_PIDS+=($!)
wait_for nsx sh -c 'ss -ltn | grep -q ":80 "' || fail "TCP server did not start"
wait_for nsx sh -c 'ss -Hlun | grep -q ":53 "' || fail "UDP server did not start"

r=$(api '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":8080,"guest_port":80}}')
[ "$r" = '{"return":{"id":1}}' ] || fail "add tcp: $r"
r=$(api '{"execute":"add_hostfwd","arguments":{"proto":"udp","host_port":5353,"guest_addr":"10.0.2.100","guest_port":53}}')
[ "$r" = '{"return":{"id":2}}' ] || fail "add udp: $r"
r=$(api '{"execute":"list_hostfwd"}')
want='{"entries":[{"id":1,"proto":"tcp","host_addr":"127.0.0.1","host_port":8080,"guest_addr":"10.0.2.100","guest_port":80},{"id":2,"proto":"udp","host_addr":"0.0.0.0","host_port":5353,"guest_addr":"10.0.2.100","guest_port":53}]}'
[ "$r" = "$want" ] || fail "list: $r"
ok "add_hostfwd and list_hostfwd replies as slirp4netns's"

r=$(echo hello-tcp | timeout 60 socat -t 30 -T 30 - TCP:127.0.0.1:8080)
[ "$r" = hello-tcp ] || fail "TCP through the forward: '$r'"
r=$(echo hello-udp | timeout 60 python3 "$UDPPEER" send 127.0.0.1 5353)
[ "$r" = hello-udp ] || fail "UDP through the forward: '$r'"
ok "TCP and UDP round trips through the forwards"

head -c 16M /dev/urandom >"$SN_WORK/big"
nsx_recv=$(timeout 60 socat -t 30 -T 30 - TCP:127.0.0.1:8080 <"$SN_WORK/big" | sn_sha256)
[ "$nsx_recv" = "$(sn_sha256 <"$SN_WORK/big")" ] || fail "16 MiB echoed through the forward differs"
ok "16 MiB echoed byte-exact through the TCP forward"

# Bad requests get slirp4netns's errors and change nothing.
r=$(api 'garbage')
[ "$r" = '{"error":{"desc":"bad request: cannot parse JSON"}}' ] || fail "garbage: $r"
r=$(api '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":8080,"guest_port":80}}')
# slirp4netns's words, then ours naming the clash
case $r in '{"error":{"desc":"bad request: add_hostfwd: slirp_add_hostfwd failed: cannot listen on 127.0.0.1:8080/tcp: forward 1 already uses 127.0.0.1:8080/tcp"}}') ;;
*) fail "duplicate: $r" ;; esac
r=$(api '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_port":70000,"guest_port":80}}')
[ "$r" = '{"error":{"desc":"bad request: add_hostfwd: bad arguments.host_port"}}' ] || fail "port 70000: $r"
r=$(head -c 5000 /dev/zero | tr '\0' ' ' | timeout 10 ncat -U "$SN_API" || true)
[ "$r" = '{"error":{"desc":"bad request: too large message"}}' ] || fail "too large: $r"
# A client that connects and sends nothing, and one that sends half a request.
timeout 10 ncat -U "$SN_API" </dev/null >/dev/null || true
printf '{"execute":"list_ho' | timeout 10 ncat -U "$SN_API" >/dev/null || true
[ "$(api '{"execute":"list_hostfwd"}')" = "$want" ] || fail "forwards changed by bad requests"
r=$(echo still-here | timeout 60 socat -t 30 -T 30 - TCP:127.0.0.1:8080)
[ "$r" = still-here ] || fail "forward broken after bad requests"
ok "bad requests refused; forwards intact"

# 100 clients at once all get their answer: one process connects all 100,
# then sends each its request, then reads every reply (100 processes of a
# client would measure how fast they start, not the daemon)
bad=$(timeout 60 python3 -c '
import socket, sys
path, req, want = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()
socks = []
for _ in range(100):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(path)
    socks.append(s)
for s in socks:
    s.sendall(req)
bad = 0
for s in socks:
    got = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += d
    bad += got != want
print(bad)
' "$SN_API" '{"execute":"list_hostfwd"}' "$want") || fail "100 concurrent API clients: the client failed"
[ "$bad" = 0 ] || fail "$bad of 100 concurrent clients got a wrong reply"
ok "100 concurrent API clients answered"

r=$(api '{"execute":"remove_hostfwd","arguments":{"id":1}}')
[ "$r" = '{"return":{}}' ] || fail "remove: $r"
r=$(api '{"execute":"remove_hostfwd","arguments":{"id":1}}')
[ "$r" = '{"error":{"desc":"bad request: remove_hostfwd: bad arguments.id"}}' ] || fail "remove again: $r"
timeout 5 socat -T2 - TCP:127.0.0.1:8080 </dev/null 2>/dev/null && fail "port 8080 still forwarded after remove"
r=$(api '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":8080,"guest_port":80}}')
[ "$r" = '{"return":{"id":3}}' ] || fail "re-add after remove: $r (ids are never reused)"
ok "remove_hostfwd stops the forward; ids are not reused"
sn_done
