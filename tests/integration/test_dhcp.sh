#!/bin/bash
# test_dhcp.sh - libslirp's DHCP server, with tap0 left unconfigured (no -c):
# busybox udhcpc gets 10.0.2.15/24 (slirp4netns's first lease), router .2,
# DNS .3; --cidr moves them. The banner says so as slirp4netns's does.
. "$(dirname "$0")/lib.sh"
sn_sandbox "$@"

# udhcpc runs this with the lease in its environment; keep the "bound" one
cat >"$SN_WORK/dhcp-script" <<EOF
#!/bin/sh
[ "\$1" = bound ] || exit 0
printf 'ip=%s\nsubnet=%s\nmask=%s\nrouter=%s\ndns=%s\n' \\
	"\$ip" "\$subnet" "\$mask" "\$router" "\$dns" >"$SN_WORK/lease.tmp"
mv "$SN_WORK/lease.tmp" "$SN_WORK/lease"
EOF
chmod +x "$SN_WORK/dhcp-script"

# lease TAP: run udhcpc in the container until bound (or it gives up after
# 20 discovers 3 s apart)
lease() {
	rm -f "$SN_WORK/lease"
	nsx ip link set "$1" up
	nsx timeout 90 busybox udhcpc -i "$1" -n -q -f -t 20 -T 3 -s "$SN_WORK/dhcp-script" \
		>"$SN_WORK/udhcpc.log" 2>&1 || fail "udhcpc got no lease on $1: $(cat "$SN_WORK/udhcpc.log")"
	[ -s "$SN_WORK/lease" ] || fail "the udhcpc script did not record a lease: $(cat "$SN_WORK/udhcpc.log")"
}

# banner BEGIN END RECOMMENDED: the start-up banner's DHCP and guest lines
# are slirp4netns's for the same --cidr
banner() {
	local want
	want=$(printf '* DHCP begin:      %s\n* DHCP end:        %s\n* Recommended IP:  %s' "$@")
	grep -qF -- "$want" "$SN_LOG" || fail "banner: expected
$want
in: $(cat "$SN_LOG")"
}

# expect KEY VALUE: the recorded lease has KEY=VALUE
expect() {
	grep -qx "$1=$2" "$SN_WORK/lease" || fail "lease: expected $1=$2, got: $(tr '\n' ' ' <"$SN_WORK/lease")"
}

sn_container
sn_start "$CPID"
banner 10.0.2.15 10.0.2.30 10.0.2.100
nsx ip -4 addr show tap0 | grep -q inet && fail "tap0 has an address before DHCP"
lease tap0
expect ip 10.0.2.15
expect subnet 255.255.255.0
expect mask 24
expect router 10.0.2.2
expect dns 10.0.2.3
ok "DHCP lease 10.0.2.15/24 (255.255.255.0), router 10.0.2.2, DNS 10.0.2.3; banner as slirp4netns's"

# --cidr, in a second container
sn_container
sn_start --cidr=10.66.0.0/16 "$CPID"
banner 10.66.0.15 10.66.0.30 10.66.0.100
lease tap0
expect ip 10.66.0.15
expect subnet 255.255.0.0
expect mask 16
expect router 10.66.0.2
expect dns 10.66.0.3
ok "--cidr=10.66.0.0/16: lease 10.66.0.15/16, router 10.66.0.2, DNS 10.66.0.3"
sn_done
