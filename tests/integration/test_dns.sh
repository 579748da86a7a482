#!/bin/bash
# test_dns.sh - 10.0.2.3 forwards to the host's resolv.conf nameserver (a stub
# resolver on 127.0.0.1 that answers one name itself); --disable-dns turns it off.
. "$(dirname "$0")/lib.sh"
sn_sandbox "$@"

# The sandbox's own resolv.conf (private mount namespace): only 127.0.0.1
echo 'nameserver 127.0.0.1' >"$SN_WORK/resolv.conf"
mount --bind "$SN_WORK/resolv.conf" /etc/resolv.conf || fail "cannot bind-mount over /etc/resolv.conf"

# dnsstub.pl answers probe.slirpnetd.test itself and never forwards anywhere.
perl "$(dirname "$0")/dnsstub.pl" 127.0.0.1 53 probe.slirpnetd.test 10.9.8.7 \
	>"$SN_WORK/dns.log" 2>&1 &
DNS=$!
SN_PIDS+=($DNS)
udp53() { ss -Hlun 'sport = :53' | grep -q .; }
wait_for udp53 || fail "the stub resolver is not listening on 127.0.0.1:53: $(cat "$SN_WORK/dns.log" 2>/dev/null)"

# lookup SERVER [SECONDS]: ask SERVER for probe.slirpnetd.test's A record
# from the container (30 s at most, or SECONDS: where no answer is the
# expected outcome)
lookup() { nsx timeout "${2:-30}" busybox nslookup -type=a probe.slirpnetd.test "$1" 2>&1; }
# answered OUTPUT: the answer is the stub's 10.9.8.7
answered() { grep -Eq '^Address:[[:space:]]+10\.9\.8\.7$' <<<"$1"; }

out=$(timeout 30 busybox nslookup -type=a probe.slirpnetd.test 127.0.0.1 2>&1) && answered "$out" || fail "the stub itself does not answer: $out"
ok "the stub resolver answers probe.slirpnetd.test on 127.0.0.1"

sn_container
C1=$CPID
sn_start -c "$CPID"
out=$(lookup 10.0.2.3) && answered "$out" ||
	fail "no answer 10.9.8.7 through 10.0.2.3: $out; resolver log: $(cat "$SN_WORK/dns.log")"
ok "10.0.2.3 resolves probe.slirpnetd.test to 10.9.8.7 through the host's nameserver"

# --disable-dns, in a second container
sn_container
sn_start -c --disable-dns "$CPID"
grep -q 'DNS: *(disabled)' "$SN_LOG" || fail "the banner does not show DNS disabled"
if out=$(lookup 10.0.2.3 5); then
	fail "--disable-dns: the query to 10.0.2.3 succeeded: $out"
fi
answered "$out" && fail "--disable-dns: 10.0.2.3 still answered: $out"
ok "--disable-dns: no answer from 10.0.2.3"
# ... while the resolver still answers the first container
kill -0 "$DNS" 2>/dev/null || fail "the stub resolver died"
out=$(CPID=$C1 lookup 10.0.2.3) && answered "$out" ||
	fail "the first container no longer resolves through 10.0.2.3: $out"
ok "the first container still resolves through 10.0.2.3"
sn_done
