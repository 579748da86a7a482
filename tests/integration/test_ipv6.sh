#!/bin/bash
# test_ipv6.sh - -6: the guest autoconfigures in fd00::/64 from the router
# advertisement, pings fd00::2 and reaches the host's [::1]; none without -6.
. "$(dirname "$0")/lib.sh"
sn_sandbox "$@"

# global6: tap0 has a usable (DAD done) address in fd00::/64
global6() { nsx ip -6 addr show dev tap0 scope global -tentative | grep -q 'inet6 fd00::[0-9a-f:]*/64 '; }
# listening PORT: a TCP socket listens on PORT
listening() { ss -Hltn "sport = :$1" | grep -q .; }
# linklocal6: tap0 has a usable link-local address (so it has solicited routers)
linklocal6() { nsx ip -6 addr show dev tap0 scope link -tentative | grep -q 'inet6 fe80::'; }

sn_container
sn_start -c -6 "$CPID"
wait_for global6 || fail "no fd00::/64 address on tap0 within 10 s: $(nsx ip -6 addr show dev tap0)"
ok "tap0 autoconfigured $(nsx ip -6 addr show dev tap0 scope global | grep -o 'fd00::[0-9a-f:]*/64')"
nsx ip -6 route show default | grep -q '^default via fe80::[0-9a-f:]* dev tap0 ' ||
	fail "no IPv6 default route via a link-local router: $(nsx ip -6 route)"
ok "IPv6 default route via the router's link-local address"
nsx ping -6 -c 1 -W 5 fd00::2 >/dev/null || fail "cannot ping the IPv6 gateway fd00::2"
ok "ping fd00::2"

socat -t 30 'TCP6-LISTEN:7006,bind=[::1],reuseaddr,fork' EXEC:cat &
SN_PIDS+=($!)
wait_for listening 7006 || fail "TCP6 echo server did not start"
msg="tcp6-$RANDOM-$RANDOM"
out=$(printf '%s\n' "$msg" | nsx timeout 60 socat -t 30 -T 30 - 'TCP6:[fd00::2]:7006') ||
	fail "TCP round trip via [fd00::2]:7006 failed"
[ "$out" = "$msg" ] || fail "TCP6 echo: sent '$msg', got '$out'"
ok "TCP echo round trip to the host's [::1] via [fd00::2]"

# Without -6, in a second container: IPv6 is up on tap0, but no router answers
sn_container
sn_start -c "$CPID"
wait_for linklocal6 || fail "tap0 has no link-local IPv6 address: $(nsx ip -6 addr show dev tap0)"
sleep 3
nsx ip -6 addr show dev tap0 | grep -q 'inet6 fd00:' && fail "fd00:: address without -6: $(nsx ip -6 addr show dev tap0)"
nsx ip -6 route show default | grep -q . && fail "IPv6 default route without -6: $(nsx ip -6 route)"
ok "without -6: no fd00:: address and no IPv6 default route after 3 s"
sn_done
