#!/bin/bash
# bench/run.sh: benchmark slirpnetd against slirp4netns and pasta on the same workloads in one run.
# Prints a table of medians and ratios, and writes them as TSV and as an SVG chart (see bench/README.md).
#
# Usage (as root): bench/run.sh [path/to/slirpnetd [EXTRA FLAGS FOR IT...]]
# Env: REPEAT (rounds, default 3), T (seconds per iperf3/sockperf run, default 5),
#      STARTS (starts per round for start_ms, default 50), MTU (default 65520),
#      OUT (TSV path, default bench/results/latest.tsv), SVG (default OUT with .svg),
#      KINDS (helpers to run, default "slirp4netns pasta ours"),
#      ONLY (workloads to run, default all: start out in out6 cps obr fwd rev xfwd xrev p100 out_rr fwd_rr udp
#      mem),
#      FWDTOOL (the tests' fwdtool, for cps; default build/tests/fwdtool).
# It runs in a network namespace of its own (lo, and a veth pair routed to TEST-NET-2, so that pasta
# finds a default route to copy); every helper's namespace is made inside it with unshare -Urn. All
# traffic stays in those namespaces: the machine's own network is not touched.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FWDTOOL=${FWDTOOL:-$ROOT/build/tests/fwdtool}
REPEAT=${REPEAT:-3}
T=${T:-5}
STARTS=${STARTS:-50}
MTU=${MTU:-65520}
OUT=${OUT:-$ROOT/bench/results/latest.tsv}
SVG=${SVG:-${OUT%.tsv}.svg}
TO=$((T * 3 + 30))          # hard limit (s) on any single client run
read -r -a HELPERS <<<"${KINDS:-slirp4netns pasta ours}"
read -r -a WORKLOADS <<<"${ONLY:-start out in out6 cps obr fwd rev xfwd xrev p100 out_rr fwd_rr udp mem}"

# Metric name, unit, direction (higher/lower is better), description; the order of the table.
METRICS=(
	"out_gbps|Gbit/s|higher|ns->host TCP via the gateway (iperf3)"
	"in_gbps|Gbit/s|higher|host->ns TCP via the gateway (iperf3 -R)"
	"out6_gbps|Gbit/s|higher|ns->host TCP over IPv6 via the gateway (iperf3)"
	"cps|conn/s|higher|ns->host TCP connections a second via the gateway, 8 clients (open, a byte each way, close)"
	"obr_gbps|Gbit/s|higher|ns->host TCP via the gateway from a container behind a bridge in the namespace (iperf3)"
	"fwd_gbps|Gbit/s|higher|host->ns TCP via a forwarded port (iperf3)"
	"rev_gbps|Gbit/s|higher|ns->host TCP via a forwarded port (iperf3 -R)"
	"xfwd_gbps|Gbit/s|higher|host->ns TCP via a forwarded port, client not on loopback (iperf3)"
	"xrev_gbps|Gbit/s|higher|ns->host TCP via a forwarded port, client not on loopback (iperf3 -R)"
	"p100_gbps|Gbit/s|higher|100 forwarded TCP connections, host->ns (iperf3 -P 100)"
	"out_rr_us|us|lower|TCP round trip ns->host via the gateway (sockperf pp)"
	"fwd_rr_us|us|lower|TCP round trip host->ns via a forward (sockperf pp)"
	"udp_rps|replies/s|higher|UDP request/reply rate host->ns via a forward (sockperf pp)"
	"start_ms|ms|lower|spawn to ready, median of STARTS starts"
	"rss_kb|KiB|lower|VmRSS of the helper's process tree after the load"
	"pss_kb|KiB|lower|Pss of the helper's process tree after the load"
	"out_cpu_ms_gb|ms/GB|lower|helper CPU per GB received, out_gbps run"
	"in_cpu_ms_gb|ms/GB|lower|helper CPU per GB received, in_gbps run"
	"out6_cpu_ms_gb|ms/GB|lower|helper CPU per GB received, out6_gbps run"
	"obr_cpu_ms_gb|ms/GB|lower|helper CPU per GB received, obr_gbps run"
	"fwd_cpu_ms_gb|ms/GB|lower|helper CPU per GB received, fwd_gbps run"
	"rev_cpu_ms_gb|ms/GB|lower|helper CPU per GB received, rev_gbps run"
	"xfwd_cpu_ms_gb|ms/GB|lower|helper CPU per GB received, xfwd_gbps run"
	"xrev_cpu_ms_gb|ms/GB|lower|helper CPU per GB received, xrev_gbps run"
	"p100_cpu_ms_gb|ms/GB|lower|helper CPU per GB received, p100_gbps run"
)

PIDS=()      # background processes started by this shell that may still need killing
W=""         # scratch directory
NS=""        # pid of the current namespace holder (sleep under unshare -Urn)
HP=""        # pid of the current helper
GW=""        # the host as seen from the namespace
GW6=""       # the same over IPv6
XADDR=198.51.100.1 # the host's address that is not loopback (own_netns): the x* workloads' client and forward
NSX=()       # command prefix that runs a command inside the namespace
RES=""       # file collecting "metric value" lines for the current helper and round

# want WORKLOAD: true if WORKLOAD is in ONLY.
want() { [[ " ${WORKLOADS[*]} " == *" $1 "* ]]; }

# want_load: true if ONLY names a workload that needs a running helper (any but start).
want_load() {
	local w
	for w in "${WORKLOADS[@]}"; do [ "$w" = start ] || return 0; done
	return 1
}

# die MSG...: print an error and exit (the EXIT trap cleans up).
die() { echo "run.sh: error: $*" >&2; exit 1; }

# log MSG...: progress message on stderr.
log() { echo "[$(date +%T)] $*" >&2; }

# check_tools: make sure every tool is there, naming the Debian package to install otherwise.
check_tools() {
	local t pkg missing=()
	[ -x "$FWDTOOL" ] || die "no $FWDTOOL (build the tests: ninja -C build), or set FWDTOOL"
	for t in iperf3:iperf3 sockperf:sockperf pasta:passt slirp4netns:slirp4netns gnuplot:gnuplot-nox \
		jq:jq ncat:ncat unshare:util-linux nsenter:util-linux timeout:coreutils awk:mawk; do
		pkg=${t#*:}; t=${t%%:*}
		command -v "$t" >/dev/null 2>&1 || missing+=("$t (Debian package $pkg)")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		printf 'run.sh: missing tool: %s\n' "${missing[@]}" >&2
		die "install them with: apt-get install -y iperf3 sockperf passt slirp4netns gnuplot-nox jq ncat"
	fi
}

# is_ours PID: true if PID is alive (or a zombie) and a direct child of this shell.
is_ours() {
	local st
	[ -r "/proc/$1/stat" ] || return 1
	read -r st 2>/dev/null <"/proc/$1/stat" || return 1
	st=${st##*) }
	set -- $st
	[ "$2" = "$$" ]
}

# tree PID: print PID and all its descendants, one per line.
tree() {
	local f st pid ppid
	local -A kids=()
	for f in /proc/[0-9]*/stat; do
		read -r st 2>/dev/null <"$f" || continue
		pid=${st%% *}; st=${st##*) }; ppid=${st#* }; ppid=${ppid%% *}
		kids[$ppid]+=" $pid"
	done
	local queue=("$1") p
	while [ ${#queue[@]} -gt 0 ]; do
		p=${queue[0]}; queue=("${queue[@]:1}")
		echo "$p"
		for pid in ${kids[$p]:-}; do queue+=("$pid"); done
	done
}

# running PID: true if PID exists and is not a zombie.
running() {
	local st
	read -r st 2>/dev/null <"/proc/$1/stat" || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

# stop PID: kill PID's process tree if PID is still our child, reap it, and forget it.
stop() {
	local p=$1 all i
	if is_ours "$p"; then
		all=$(tree "$p")
		kill -TERM $all 2>/dev/null || true
		for i in $(seq 100); do running "$p" || break; sleep 0.02; done
		for i in $all; do running "$i" && kill -KILL "$i" 2>/dev/null; done
	fi
	wait "$p" 2>/dev/null || true
	local keep=()
	for i in "${PIDS[@]}"; do [ "$i" = "$p" ] || keep+=("$i"); done
	PIDS=("${keep[@]}")
}

# cleanup: on exit, kill every process still running and remove the scratch directory.
cleanup() {
	local p
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do stop "$p"; done
	[ -n "$W" ] && rm -rf "$W"
}

# bg CMD...: start CMD in the background (output to $W/procs.log, or to file BGLOG if set),
# remember its pid in PIDS and in LAST.
bg() { "$@" >>"${BGLOG:-$W/procs.log}" 2>&1 & LAST=$!; PIDS+=("$LAST"); }

# capture FILE CMD...: run CMD as a tracked job (stdout to FILE, stderr to FILE.err) and wait for it;
# waiting in the background lets a signal stop the run at once (the EXIT trap kills CMD).
capture() {
	local f=$1
	shift
	"$@" >"$f" 2>"$f.err" &
	LAST=$!; PIDS+=("$LAST")
	wait "$LAST" || true
	stop "$LAST"
}

# port_open NETPID PROTO PORT: true if something listens (tcp) / is bound (udp) on PORT in NETPID's netns.
port_open() {
	local hex st=0A f=tcp
	printf -v hex '%04X' "$3"
	[ "$2" = udp ] && st=07 f=udp
	awk -v p=":$hex" -v s=$st '$2 ~ p"$" && $4 == s {f = 1} END {exit !f}' \
		"/proc/$1/net/$f" "/proc/$1/net/${f}6" 2>/dev/null
}

# wait_port NETPID PROTO PORT: wait up to 10 s for port_open.
wait_port() {
	local i
	for i in $(seq 500); do port_open "$@" && return 0; sleep 0.02; done
	echo "run.sh: warning: nothing on $2 port $3 after 10 s" >&2
	return 1
}

# free_base: pick a random base port whose 6 ports are free, below the ephemeral range (so that no
# client's own port can take one).
free_base() {
	local b p ok lo
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
	[ "$lo" -gt 10010 ] || die "ip_local_port_range starts at $lo: no room below it for the benchmark's ports"
	for _ in $(seq 100); do
		b=$((10000 + RANDOM % (lo - 10006))); ok=1
		for p in $b $((b + 1)) $((b + 2)) $((b + 3)) $((b + 4)) $((b + 5)) $((b + 6)); do
			if port_open $$ tcp $p || port_open $$ udp $p; then ok=0; break; fi
		done
		[ $ok = 1 ] && { echo $b; return; }
	done
	die "no free port range found"
}

# ns_new: make a fresh user+network namespace held by a sleep; sets NS and NSX.
ns_new() {
	local c=""
	bg unshare -Urn sleep 100000
	NS=$LAST
	for _ in $(seq 500); do
		read -r c 2>/dev/null <"/proc/$NS/comm" || true
		[ "$c" = sleep ] && break
		kill -0 "$NS" 2>/dev/null || die "unshare -Urn failed (are user namespaces enabled?)"
		sleep 0.005
	done
	[ "$c" = sleep ] || die "unshare -Urn did not start"
	NSX=(nsenter -t "$NS" -U -n --preserve-credentials)
}

# has_default_route NETPID: true once NETPID's netns has an IPv4 default route (no fork: /proc/PID/net/route).
has_default_route() {
	local ifc dst rest
	while read -r ifc dst rest; do [ "$dst" = 00000000 ] && return 0; done <"/proc/$1/net/route"
	return 1
}

# spawn KIND API: start helper KIND on namespace NS (API socket path API, slirp4netns CLI only); sets HP.
# Every forward keeps its port number (127.0.0.1:P -> namespace port P) because Debian 12's pasta loses
# the replies of UDP forwards from 127.0.0.1 whose namespace port differs; the same for all three.
spawn() {
	local BGLOG=$W/helper.log
	case $1 in
	pasta)
		bg pasta --runas 0 --config-net --mtu "$MTU" -q -f -T none -U none \
			-t "127.0.0.1/$P_FWD" -t "127.0.0.1/$P_FWDRR" -u "127.0.0.1/$P_FWDUDP" \
			-t "$XADDR/$P_XFWD" \
			--netns "/proc/$NS/ns/net" --userns "/proc/$NS/ns/user" ;;
	slirp4netns)
		bg slirp4netns -c -6 --mtu "$MTU" -a "$2" -r "$RFD" "$NS" tap0 ;;
	ours)
		bg "$BIN" "${EXTRA[@]}" -c -6 --mtu "$MTU" -a "$2" -r "$RFD" "$NS" tap0 ;;
	esac
	HP=$LAST
}

# wait_ready KIND: wait until helper HP is ready: a byte on the ready fd (slirp4netns CLI) or,
# for pasta, which has no ready fd, the default route appearing in the namespace (polled every 0.2 ms).
wait_ready() {
	local c="" i
	if [ "$1" = pasta ]; then
		for i in $(seq 50000); do
			has_default_route "$NS" && return 0
			read -r -t 0.0002 -u "$SLP" c || true
			[ $((i % 500)) = 0 ] && ! kill -0 "$HP" 2>/dev/null && return 1
		done
		return 1
	fi
	read -r -N 1 -t 10 -u "$RFD" c || return 1
	[ "$c" = 1 ]
}

# start_bench KIND: spawn-to-ready time over STARTS starts, each on a fresh namespace; records start_ms (median).
# The clock starts just before the fork of the helper and stops when it reports ready (see wait_ready);
# both mean "interface configured, default route in place". Namespace creation is not timed.
start_bench() {
	local kind=$1 i t0 t1 ms=()
	for i in $(seq "$STARTS"); do
		ns_new
		rm -f "$W/api.sock"
		t0=$EPOCHREALTIME
		spawn "$kind" "$W/api.sock"
		if wait_ready "$kind"; then
			t1=$EPOCHREALTIME
			ms+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", (b - a) * 1000}')")
		else
			echo "run.sh: warning: $kind not ready on start $i (see below)" >&2; tail -n 5 "$W/helper.log" >&2
		fi
		stop "$HP"; stop "$NS"
	done
	[ ${#ms[@]} -gt 0 ] && echo "start_ms $(printf '%s\n' "${ms[@]}" | median)" >>"$RES"
	return 0
}

# api JSON: send one request to the API socket of the current helper; fail unless it answers "return".
api() {
	local r="" i
	for i in $(seq 20); do
		r=$(printf '%s\n' "$1" | timeout 5 ncat -U "$W/api.sock" 2>/dev/null) || true
		[[ $r == *'"return"'* ]] && return 0
		sleep 0.05
	done
	die "API request $1 answered: ${r:-nothing}"
}

# fwd PROTO HOSTPORT GUESTPORT [HOSTADDR]: add a forward of HOSTADDR:HOSTPORT (127.0.0.1 unless
# given) to the namespace through the API.
fwd() {
	api "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"$1\",\"host_addr\":\"${4:-127.0.0.1}\",\"host_port\":$2,\"guest_port\":$3}}"
}

# helper_up KIND: fresh namespace, helper KIND with the forwards in place; sets NS, HP and GW.
helper_up() {
	local kind=$1
	ns_new
	rm -f "$W/api.sock"
	spawn "$kind" "$W/api.sock"
	wait_ready "$kind" || { tail -n 20 "$W/helper.log" >&2; die "$kind did not become ready"; }
	if [ "$kind" = pasta ]; then
		# pasta copies the host's addresses and routes; its gateway address is mapped to the host's
		# loopback (the default, no --no-map-gw), so GW reaches the host's 127.0.0.1 like 10.0.2.2.
		GW=$("${NSX[@]}" ip -4 route show default | awk '{print $3; exit}')
		[ -n "$GW" ] || die "pasta: no default route in the namespace"
		GW6=$("${NSX[@]}" ip -6 route show default | awk '{print $3; exit}')
		wait_port $$ tcp "$P_FWD" || die "pasta did not bind 127.0.0.1:$P_FWD"
	else
		GW=10.0.2.2 GW6=fd00::2
		fwd tcp "$P_FWD" "$P_FWD"
		fwd tcp "$P_FWDRR" "$P_FWDRR"
		fwd udp "$P_FWDUDP" "$P_FWDUDP"
		fwd tcp "$P_XFWD" "$P_XFWD" "$XADDR"
	fi
}

# tree_cpu PID: user+system CPU of PID's process tree (including reaped children), in ms.
tree_cpu() {
	local p st sum=0
	for p in $(tree "$1"); do
		read -r st 2>/dev/null <"/proc/$p/stat" || continue
		st=${st##*) }; set -- $st
		sum=$((sum + ${12} + ${13} + ${14} + ${15}))
	done
	echo $((sum * 1000 / HZ))
}

# median: median of the numbers on stdin (NA and empty lines ignored); NA if none.
median() {
	grep -E '^-?[0-9.]+(e[-+]?[0-9]+)?$' | sort -g |
		awk '{v[NR] = $1} END {if (!NR) print "NA"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}' || true
}

# run_iperf NAME WHERE SERVERSIDE PORT ARGS...: iperf3 server on SERVERSIDE (host|ns) port PORT, client on the
# other side with ARGS; records NAME_gbps and NAME_cpu_ms_gb (helper tree CPU / GB received).
run_iperf() {
	local name=$1 srv=$2 port=$3 spid c0 c1 j bytes bps
	shift 3
	if [ "$srv" = host ] || [ "$srv" = host6 ]; then
		bg iperf3 -s -1 -B "$([ "$srv" = host ] && echo 127.0.0.1 || echo ::1)" -p "$port"; spid=$LAST
		wait_port $$ tcp "$port" || true
	else
		bg "${NSX[@]}" iperf3 -s -1 -p "$port"; spid=$LAST
		wait_port "$NS" tcp "$port" || true
	fi
	c0=$(tree_cpu "$HP")
	if [ "$srv" != ns ]; then
		capture "$W/client" timeout -k 5 "$TO" "${NSX[@]}" iperf3 -J -t "$T" "$@"
	else
		capture "$W/client" timeout -k 5 "$TO" iperf3 -J -t "$T" "$@"
	fi
	c1=$(tree_cpu "$HP")
	j=$(cat "$W/client")
	stop "$spid"
	bytes=$(jq -r '.end.sum_received.bytes // empty' <<<"$j" 2>/dev/null) || true
	bps=$(jq -r '.end.sum_received.bits_per_second // empty' <<<"$j" 2>/dev/null) || true
	if [ -z "$bytes" ] || [ "$bytes" = 0 ]; then
		echo "run.sh: warning: $name failed: $(jq -r '.error // empty' <<<"$j" 2>/dev/null | head -c 200)" >&2
		return 0
	fi
	awk -v n="$name" -v b="$bytes" -v r="$bps" -v c=$((c1 - c0)) 'BEGIN {
		printf "%s_gbps %.3f\n%s_cpu_ms_gb %.1f\n", n, r / 1e9, n, c / (b / 1e9) }' >>"$RES"
}

# run_sockperf NAME WHERE PORT CLIENTADDR CLIENTPORT [--tcp]: sockperf server on WHERE (host|ns) at PORT,
# ping-pong client from the other side to CLIENTADDR:CLIENTPORT; records NAME (round trip in us,
# or for a name ending in _rps replies per second over sockperf's valid duration).
run_sockperf() {
	local name=$1 srv=$2 port=$3 addr=$4 cport=$5 proto=udp spid out v
	shift 5
	[ "${1:-}" = --tcp ] && proto=tcp
	if [ "$srv" = host ]; then
		bg sockperf sr "$@" -i 127.0.0.1 -p "$port"; spid=$LAST
		wait_port $$ "$proto" "$port" || true
		capture "$W/client" timeout -k 5 "$TO" "${NSX[@]}" sockperf pp "$@" --full-rtt -i "$addr" -p "$cport" -t "$T"
	else
		bg "${NSX[@]}" sockperf sr "$@" -i 0.0.0.0 -p "$port"; spid=$LAST
		wait_port "$NS" "$proto" "$port" || true
		capture "$W/client" timeout -k 5 "$TO" sockperf pp "$@" --full-rtt -i "$addr" -p "$cport" -t "$T"
	fi
	out=$(cat "$W/client" "$W/client.err")
	stop "$spid"
	if [[ $name == *_rps ]]; then
		v=$(sed -n 's/.*\[Valid Duration\] RunTime=\([0-9.]*\) sec;.*ReceivedMessages=\([0-9]*\).*/\1 \2/p' <<<"$out" |
			awk '$1 > 0 {printf "%.0f", $2 / $1}')
	else
		v=$(sed -n 's/.*Summary: Round trip is \([0-9.]*\) usec.*/\1/p' <<<"$out")
	fi
	if [ -n "$v" ]; then echo "$name $v" >>"$RES"; else echo "run.sh: warning: $name failed" >&2; fi
}

# global6: true once the namespace has a global IPv6 address past duplicate address detection.
global6() {
	"${NSX[@]}" ip -6 addr show scope global -tentative 2>/dev/null | grep -q inet6
}

# run_out6: out over IPv6, once the namespace has its address (router advertisement, DAD).
run_out6() {
	local i
	for i in $(seq 100); do global6 && break; sleep 0.1; done
	if [ -z "$GW6" ] || ! global6; then
		echo "run.sh: warning: out6: no IPv6 address or gateway in the namespace" >&2
		return 0
	fi
	run_iperf out6 host6 "$P_OUT" -c "$GW6" -p "$P_OUT"
}

# run_bridged: out, from a container behind a bridge in the namespace, as rootless Docker runs one
# (docker0): a network namespace of its own inside NS, on a veth pair of MTU 1500 whose other end is
# on a bridge, its traffic masqueraded out of the namespace. Its frames can reach the helper's tap
# out of order (the bridge forwards each on the CPU its sender ran on).
run_bridged() {
	local c="" cx
	bg "${NSX[@]}" unshare -n sleep 100000
	c=$LAST
	for _ in $(seq 500); do
		read -r cx 2>/dev/null <"/proc/$c/comm" || true
		[ "$cx" = sleep ] && break
		sleep 0.005
	done
	if ! "${NSX[@]}" sh -c "ip link add br0 type bridge && ip addr add 172.31.0.1/16 dev br0 &&
		ip link set br0 up && ip link add vh0 mtu 1500 type veth peer name vc0 &&
		ip link set vh0 master br0 && ip link set vh0 up && ip link set vc0 netns $c &&
		sysctl -qw net.ipv4.ip_forward=1 &&
		iptables -w -t nat -A POSTROUTING -s 172.31.0.0/16 ! -o br0 -j MASQUERADE" >>"$W/procs.log" 2>&1 ||
		! nsenter -t "$c" -U -n --preserve-credentials sh -c "ip link set lo up &&
		ip link set vc0 name eth0 && ip addr add 172.31.0.2/16 dev eth0 && ip link set eth0 up &&
		ip route add default via 172.31.0.1" >>"$W/procs.log" 2>&1; then
		echo "run.sh: warning: obr: the bridge in the namespace could not be set up" >&2
		stop "$c"
		return 0
	fi
	local NSX=(nsenter -t "$c" -U -n --preserve-credentials)
	run_iperf obr host "$P_OUT" -c "$GW" -p "$P_OUT"
	stop "$c"
}

# run_cps: connections per second from 8 clients in the namespace to an echo server on the host.
run_cps() {
	local spid v
	bg "$FWDTOOL" echo-server "$P_CPS"; spid=$LAST
	wait_port $$ tcp "$P_CPS" || true
	capture "$W/client" timeout -k 5 "$TO" "${NSX[@]}" "$FWDTOOL" cps "$GW" "$P_CPS" 8 "$T"
	stop "$spid"
	v=$(awk '$1 == "connections" {print $4}' "$W/client")
	if [ -n "$v" ]; then echo "cps $v" >>"$RES"; else echo "run.sh: warning: cps failed: $(head -c 200 "$W/client.err")" >&2; fi
}

# mem_after: records rss_kb and pss_kb summed over the helper's process tree.
mem_after() {
	local p rss=0 pss=0 v
	for p in $(tree "$HP"); do
		v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null) && rss=$((rss + ${v:-0}))
		v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null) && pss=$((pss + ${v:-0}))
	done
	printf 'rss_kb %s\npss_kb %s\n' "$rss" "$pss" >>"$RES"
}

# bench_one KIND ROUND: every workload for helper KIND; results go to $W/res.KIND.ROUND.
bench_one() {
	local kind=$1
	RES="$W/res.$kind.$2"; : >"$RES"
	if want start; then
		log "round $2/$REPEAT $kind: $STARTS starts"
		start_bench "$kind"
	fi
	want_load || return 0
	helper_up "$kind"
	log "round $2/$REPEAT $kind: throughput (gateway $GW)"
	! want out || run_iperf out host "$P_OUT" -c "$GW" -p "$P_OUT"
	! want in || run_iperf in host "$P_OUT" -c "$GW" -p "$P_OUT" -R
	! want out6 || run_out6
	! want cps || run_cps
	! want obr || run_bridged
	! want fwd || run_iperf fwd ns "$P_FWD" -c 127.0.0.1 -p "$P_FWD"
	! want rev || run_iperf rev ns "$P_FWD" -c 127.0.0.1 -p "$P_FWD" -R
	! want xfwd || run_iperf xfwd ns "$P_XFWD" -c "$XADDR" -p "$P_XFWD"
	! want xrev || run_iperf xrev ns "$P_XFWD" -c "$XADDR" -p "$P_XFWD" -R
	! want p100 || run_iperf p100 ns "$P_FWD" -c 127.0.0.1 -p "$P_FWD" -P 100
	log "round $2/$REPEAT $kind: latency"
	! want out_rr || run_sockperf out_rr_us host "$P_OUTRR" "$GW" "$P_OUTRR" --tcp
	! want fwd_rr || run_sockperf fwd_rr_us ns "$P_FWDRR" 127.0.0.1 "$P_FWDRR" --tcp
	! want udp || run_sockperf udp_rps ns "$P_FWDUDP" 127.0.0.1 "$P_FWDUDP"
	! want mem || mem_after
	stop "$HP"; stop "$NS"
}

# value KIND METRIC: median of METRIC for KIND over all rounds.
value() {
	{ cat "$W"/res."$1".* 2>/dev/null || true; } | awk -v m="$2" '$1 == m {print $2}' | median
}

# ratio A B: A/B with 2 decimals, NA if either is missing or B is 0.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {if (a == "NA" || b == "NA" || b + 0 == 0) print "NA"; else printf "%.2f", a / b}'
}

# all_values KIND METRIC: every round's value, comma-separated (for the TSV).
all_values() {
	{ cat "$W"/res."$1".* 2>/dev/null || true; } | awk -v m="$2" '$1 == m {printf "%s%s", s, $2; s = ","} END {if (!s) printf "NA"}'
}

# report: write the TSV, print the table, draw the chart.
report() {
	local m name unit dir desc s p o rs rp
	mkdir -p "$(dirname "$OUT")" "$(dirname "$SVG")"
	{
		echo "# slirpnetd benchmark: medians of $REPEAT rounds, T=${T}s, STARTS=$STARTS, MTU=$MTU"
		echo "# date: $DATE"
		echo "# kernel: $KERNEL"
		echo "# cpu: $CPU ($(nproc) cpus)"
		echo "# ours: $BIN${EXTRA[*]:+ ${EXTRA[*]}} ($VER_OURS)"
		echo "# slirp4netns: $VER_S4N; pasta: $VER_PASTA"
		echo "# ratio = ours / peer; better = which direction is better for the metric"
		printf 'metric\tunit\tbetter\tslirp4netns\tpasta\tours\tours/slirp4netns\tours/pasta\tslirp4netns_rounds\tpasta_rounds\tours_rounds\n'
		for m in "${METRICS[@]}"; do
			IFS='|' read -r name unit dir desc <<<"$m"
			s=$(value slirp4netns "$name"); p=$(value pasta "$name"); o=$(value ours "$name")
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$unit" "$dir" "$s" "$p" "$o" \
				"$(ratio "$o" "$s")" "$(ratio "$o" "$p")" \
				"$(all_values slirp4netns "$name")" "$(all_values pasta "$name")" "$(all_values ours "$name")"
		done
	} >"$OUT"
	echo
	grep '^#' "$OUT" | sed 's/^# //'
	echo
	grep -v '^#' "$OUT" | awk -F'\t' '{printf "%-15s %-9s %-6s %12s %12s %12s %9s %9s\n", $1, $2, $3, $4, $5, $6,
		(NR == 1 ? "ours/s4n" : $7), (NR == 1 ? "ours/pasta" : $8)}'
	chart
	echo
	echo "TSV: $OUT"
	echo "SVG: $SVG"
}

# chart: grouped bars of ours/slirp4netns and ours/pasta per metric, from 1.0 on a log2 axis, into SVG.
chart() {
	local data="$W/chart.dat"
	grep -v '^#' "$OUT" | awk -F'\t' 'NR > 1 {printf "%d\t%s (%s)\t%s\t%s\n", NR - 2, $1, ($3 == "higher" ? "↑" : "↓"), $7, $8}' >"$data"
	cat >"$W/chart.gp" <<-EOF
	set terminal svg size 1200,640 dynamic noenhanced font "sans,11" background "white"
	set output "$SVG"
	set title "slirpnetd / peer, median of $REPEAT rounds (T=${T}s) — $DATE\nkernel $KERNEL — $CPU ($(nproc) cpus)\n↑ higher is better for ours: ratio > 1 is a win; ↓ lower is better: ratio < 1 is a win"
	set datafile separator "\t"
	set datafile missing "NA"
	set logscale y 2
	set yrange [*:*]
	set ylabel "ratio ours / peer (log scale)"
	set xtics rotate by -35 nomirror
	set xrange [-0.6:$(($(wc -l <"$data") - 1)).6]
	set grid ytics
	set key top right
	set style fill solid 0.85 border -1
	set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb "black"
	w = 0.18
	plot "$data" using (\$1 - w):3:(\$1 - 2*w):(\$1):(1):3:xtic(2) with boxxyerror lc rgb "#1f77b4" title "ours / slirp4netns", \
	     "" using (\$1 + w):4:(\$1):(\$1 + 2*w):(1):4 with boxxyerror lc rgb "#ff7f0e" title "ours / pasta", \
	     "" using (\$1 - w):(\$3 >= 1 ? \$3 : NaN):(sprintf("%.2f", \$3)) with labels offset 0,0.6 font ",8" notitle, \
	     "" using (\$1 + w):(\$4 >= 1 ? \$4 : NaN):(sprintf("%.2f", \$4)) with labels offset 0,0.6 font ",8" notitle, \
	     "" using (\$1 - w):(\$3 < 1 ? \$3 : NaN):(sprintf("%.2f", \$3)) with labels offset 0,-0.6 font ",8" notitle, \
	     "" using (\$1 + w):(\$4 < 1 ? \$4 : NaN):(sprintf("%.2f", \$4)) with labels offset 0,-0.6 font ",8" notitle
	EOF
	gnuplot "$W/chart.gp" 2>"$W/gnuplot.log" || { cat "$W/gnuplot.log" >&2; echo "run.sh: warning: chart failed" >&2; }
}

# own_netns ARGS...: re-run this script in a network namespace of its own: lo up, and a veth pair
# bench0/bench1 with 198.51.100.1/24 (TEST-NET-2) on bench0 and a default route via .254, which no
# one answers; the helpers only need a route to copy (pasta) and every packet stays in here.
own_netns() {
	if [ -z "${SN_BENCH_NETNS:-}" ]; then
		SN_BENCH_NETNS=1 exec unshare --net -- bash "${BASH_SOURCE[0]}" "$@"
	fi
	ip link set lo up
	ip link add bench0 type veth peer name bench1
	ip link set bench1 up
	ip addr add 198.51.100.1/24 dev bench0
	ip link set bench0 up
	ip route add default via 198.51.100.254 dev bench0
	ip -6 addr add 2001:db8::1/64 dev bench0 nodad
	ip -6 route add default via 2001:db8::fe dev bench0
}

# main: check, run every helper REPEAT times interleaved, report.
main() {
	[ "$(id -u)" = 0 ] || die "run as root (it uses unshare -Urn and nsenter)"
	check_tools
	own_netns "$@"
	BIN=${1:-$ROOT/build/src/slirpnetd}
	shift || true
	EXTRA=("$@")
	[ -x "$BIN" ] || die "no executable $BIN (build it: ninja -C build)"
	BIN=$(realpath "$BIN")
	HZ=$(getconf CLK_TCK)
	DATE=$(date '+%Y-%m-%d %H:%M %Z')
	KERNEL=$(uname -r)
	CPU=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
	[ -n "$CPU" ] || CPU=$(lscpu 2>/dev/null | awk -F': *' '/Model name/ {print $2; exit}')
	VER_OURS=$("$BIN" --version 2>&1 | head -n 1) || true
	VER_S4N=$(slirp4netns --version 2>&1 | head -n 1) || true
	VER_PASTA=$(dpkg-query -W -f '${Version}' passt 2>/dev/null || pasta --version 2>&1 | head -n 1) || true

	W=$(mktemp -d /tmp/slirpnetd-bench.XXXXXX)
	trap cleanup EXIT
	trap 'echo "run.sh: interrupted" >&2; exit 130' INT
	trap 'echo "run.sh: terminated" >&2; exit 143' TERM
	mkfifo "$W/ready" "$W/sleep"
	exec {RFD}<>"$W/ready" {SLP}<>"$W/sleep"

	local base
	base=$(free_base)
	P_OUT=$base P_OUTRR=$((base + 1)) P_FWD=$((base + 2)) P_FWDRR=$((base + 3)) P_FWDUDP=$((base + 4))
	P_CPS=$((base + 5)) P_XFWD=$((base + 6))
	log "ports $base-$((base + 6)), REPEAT=$REPEAT T=$T STARTS=$STARTS, KINDS=${HELPERS[*]}, ONLY=${WORKLOADS[*]}"
	log "ours: $BIN ${EXTRA[*]}"

	local r k
	for r in $(seq "$REPEAT"); do
		for k in "${HELPERS[@]}"; do bench_one "$k" "$r"; done
	done
	report
}

main "$@"
