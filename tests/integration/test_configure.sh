#!/bin/bash
# test_configure.sh - -c configures tap0 inside the namespace over netlink:
# address, default route, MTU, lo up; --macaddress and --cidr take effect.
. "$(dirname "$0")/lib.sh"
sn_sandbox "$@"

sn_container
sn_start -c --mtu=65520 "$CPID"
nsx ip -4 addr show tap0 | grep -q 'inet 10.0.2.100/24' || fail "tap0 lacks 10.0.2.100/24: $(nsx ip addr show tap0)"
ok "tap0 has 10.0.2.100/24"
nsx ip -4 route show default | grep -q 'default via 10.0.2.2 dev tap0' || fail "no default route: $(nsx ip route)"
ok "default route via 10.0.2.2"
[ "$(nsx cat /sys/class/net/tap0/mtu 2>/dev/null || nsx ip -o link show tap0 | sed 's/.*mtu \([0-9]*\).*/\1/')" = 65520 ] ||
	nsx ip -o link show tap0 | grep -q 'mtu 65520' || fail "MTU is not 65520: $(nsx ip link show tap0)"
ok "MTU 65520"
nsx ip -o link show tap0 | grep -q 'state UP\|,UP' || fail "tap0 not up"
nsx ip -o link show lo | grep -q ',UP' || fail "lo not up"
ok "tap0 and lo up"
grep -q 'MTU:             65520' "$SN_LOG" || fail "banner lacks the MTU"
kill "$SN_PID"
sn_wait_exit "$SN_PID"
[ "$SN_RC" = 0 ] || fail "SIGTERM exit status $SN_RC, not 0"

# --macaddress and --cidr, in a second container
sn_container
sn_start -c --macaddress=02:12:34:56:78:9a --cidr=10.77.0.0/16 "$CPID" tap1
nsx ip -o link show tap1 | grep -q 'link/ether 02:12:34:56:78:9a' || fail "MAC not set: $(nsx ip link show tap1)"
ok "--macaddress set 02:12:34:56:78:9a"
nsx ip -4 addr show tap1 | grep -q 'inet 10.77.0.100/16' || fail "--cidr address: $(nsx ip addr show tap1)"
nsx ip -4 route show default | grep -q 'via 10.77.0.2 dev tap1' || fail "--cidr route: $(nsx ip route)"
ok "--cidr 10.77.0.0/16 gives 10.77.0.100 via 10.77.0.2"
nsx ping -c 1 -W 5 10.77.0.2 >/dev/null || fail "cannot ping the --cidr gateway 10.77.0.2"
ok "gateway 10.77.0.2 answers ping"

# Without -c the interface exists but is left alone (rootlesskit configures it).
sn_container
sn_start "$CPID"
nsx ip link show tap0 >/dev/null || fail "tap0 missing without -c"
nsx ip -4 addr show tap0 | grep -q inet && fail "tap0 has an address without -c"
ok "without -c: tap0 exists, unconfigured"
sn_done
