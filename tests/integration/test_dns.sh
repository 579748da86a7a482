#!/bin/bash
# test_dns.sh - 10.0.2.3 forwards to the host's resolv.conf nameserver (a local
# dnsmasq on 127.0.0.1 that answers one name itself); --disable-dns turns it off.
. "$(dirname "$0")/lib.sh"
sn_sandbox "$@"

command -v dnsmasq >/dev/null || fail "dnsmasq is not installed (apt-get install dnsmasq-base)"

# The sandbox's own resolv.conf (private mount namespace): only 127.0.0.1
echo 'nameserver 127.0.0.1' >"$SN_WORK/resolv.conf"
mount --bind "$SN_WORK/resolv.conf" /etc/resolv.conf || fail "cannot bind-mount over /etc/resolv.conf"

# dnsmasq answers probe.slirpnetd.test from --address and never forwards
# (--no-resolv, no --server); all its files stay in $SN_WORK. --no-daemon
# also keeps it from dropping privileges: setgroups() is denied in the sandbox.
dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts \
	--listen-address=127.0.0.1 --bind-interfaces --port=53 \
	--address=/probe.slirpnetd.test/10.9.8.7 --user=root \
	--pid-file="$SN_WORK/dnsmasq.pid" --log-facility=- --log-queries \
	>"$SN_WORK/dnsmasq.log" 2>&1 &
DNSMASQ=$!
SN_PIDS+=($DNSMASQ)
udp53() { ss -Hlun 'sport = :53' | grep -q .; }
wait_for udp53 || fail "dnsmasq is not listening on 127.0.0.1:53: $(cat "$SN_WORK/dnsmasq.log" 2>/dev/null)"

# lookup SERVER: ask SERVER for probe.slirpnetd.test's A record from the
# container (5 s at most)
lookup() { nsx timeout 5 busybox nslookup -type=a probe.slirpnetd.test "$1" 2>&1; }
# answered OUTPUT: the answer is dnsmasq's 10.9.8.7
answered() { grep -Eq '^Address:[[:space:]]+10\.9\.8\.7$' <<<"$1"; }

out=$(timeout 5 busybox nslookup -type=a probe.slirpnetd.test 127.0.0.1 2>&1) && answered "$out" || fail "dnsmasq itself does not answer: $out"
ok "dnsmasq answers probe.slirpnetd.test on 127.0.0.1"

sn_container
C1=$CPID
sn_start -c "$CPID"
out=$(lookup 10.0.2.3) && answered "$out" ||
	fail "no answer 10.9.8.7 through 10.0.2.3: $out; dnsmasq log: $(cat "$SN_WORK/dnsmasq.log")"
ok "10.0.2.3 resolves probe.slirpnetd.test to 10.9.8.7 through the host's nameserver"

# --disable-dns, in a second container
sn_container
sn_start -c --disable-dns "$CPID"
grep -q 'DNS: *(disabled)' "$SN_LOG" || fail "the banner does not show DNS disabled"
if out=$(lookup 10.0.2.3); then
	fail "--disable-dns: the query to 10.0.2.3 succeeded: $out"
fi
answered "$out" && fail "--disable-dns: 10.0.2.3 still answered: $out"
ok "--disable-dns: no answer from 10.0.2.3"
# ... while dnsmasq still answers the first container
kill -0 "$DNSMASQ" 2>/dev/null || fail "dnsmasq died"
out=$(CPID=$C1 lookup 10.0.2.3) && answered "$out" ||
	fail "the first container no longer resolves through 10.0.2.3: $out"
ok "the first container still resolves through 10.0.2.3"
sn_done
