#!/bin/bash
# idle.sh - what an idle container costs with slirpnetd and with slirp4netns:
# proportional memory (PSS) per instance with N instances up at once, and
# start-to-ready over STARTS starts of each, interleaved start by start.
#
# usage: bench/idle.sh [path/to/slirpnetd [extra flags for it]]
# env:   N (instances per binary, default 50), STARTS (default 50),
#        MTU (default 65520), OUT (TSV, default bench/results/idle.tsv),
#        S4N_FLAGS (extra flags for slirp4netns, e.g. the same
#        "--enable-sandbox --enable-seccomp" as given to ours)
#
# Each instance is `-c --mtu MTU -r FD PID tap0` against its own
# `unshare -Urn sleep infinity`: no API socket, no forward. The instances of
# one binary are started one after another (each waited for on its ready
# fd); once all N are up, Pss from /proc/PID/smaps_rollup is summed over
# each instance and its children, and the sum over all N divided by N is
# the figure. Then they are stopped and the other binary's N go up. Shared
# pages are split between the processes that map them, so the figure
# depends on N: compare the two binaries at the same N, in the same run.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-50}
STARTS=${STARTS:-50}
MTU=${MTU:-65520}
OUT=${OUT:-$ROOT/bench/results/idle.tsv}
PIDS=()

die() { echo "idle.sh: $*" >&2; exit 1; }
log() { echo "idle.sh: $*" >&2; }

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -z "${W:-}" ] || rm -rf "$W"
}

# bg CMD...: start CMD in the background, killed at exit; sets LAST
bg() {
	"$@" >>"$W/helper.log" 2>&1 &
	LAST=$!
	PIDS+=("$LAST")
}

# stop PID...: kill and reap
stop() {
	local p
	for p in "$@"; do
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

# ns_new: a fresh user+network namespace held by a sleep; sets NS
ns_new() {
	local c="" i
	bg unshare -Urn sleep infinity
	NS=$LAST
	for i in $(seq 500); do
		read -r c 2>/dev/null <"/proc/$NS/comm" || true
		[ "$c" = sleep ] && return 0
		kill -0 "$NS" 2>/dev/null || die "unshare -Urn failed (are user namespaces enabled?)"
		sleep 0.005
	done
	die "unshare -Urn did not start"
}

# spawn KIND: start KIND (slirp4netns or ours) on NS; sets HP
spawn() {
	case $1 in
	slirp4netns) bg slirp4netns "${S4N[@]}" -c --mtu "$MTU" -r "$RFD" "$NS" tap0 ;;
	ours) bg "$BIN" "${EXTRA[@]}" -c --mtu "$MTU" -r "$RFD" "$NS" tap0 ;;
	esac
	HP=$LAST
}

# ready: the byte on the ready fd
ready() {
	local c=""
	read -r -N 1 -t 10 -u "$RFD" c || return 1
	[ "$c" = 1 ]
}

# tree PID: PID and its descendants
tree() {
	local c
	echo "$1"
	for c in $(pgrep -P "$1" || true); do tree "$c"; done
}

# pss_of PID FIELD: FIELD (Pss, Pss_Anon, Pss_File) of PID's smaps_rollup
pss_of() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0
}

# median: of the numbers on stdin
median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit 1
		if (NR % 2) printf "%.2f\n", v[(NR + 1) / 2]
		else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# mem KIND: N instances of KIND up at once; prints "pss anon file procs"
# per instance (KiB, the last the mean number of processes)
mem() {
	local kind=$1 i p hps=() nss=() pss=0 anon=0 file=0 procs=0
	for i in $(seq "$N"); do
		ns_new
		spawn "$kind"
		ready || { tail -n 5 "$W/helper.log" >&2; die "$kind instance $i not ready"; }
		hps+=("$HP")
		nss+=("$NS")
	done
	sleep 1 # anything that runs at start-up has run
	for i in "${hps[@]}"; do
		for p in $(tree "$i"); do
			pss=$((pss + $(pss_of "$p" Pss)))
			anon=$((anon + $(pss_of "$p" Pss_Anon)))
			file=$((file + $(pss_of "$p" Pss_File)))
			procs=$((procs + 1))
		done
	done
	stop "${hps[@]}" "${nss[@]}"
	awk -v n="$N" -v a="$pss" -v b="$anon" -v c="$file" -v d="$procs" \
		'BEGIN { printf "%.0f %.0f %.0f %.2f\n", a / n, b / n, c / n, d / n }'
}

# starts: STARTS starts of each, interleaved; prints the two medians (ms)
starts() {
	local i k t0 t1 s4n=() ours=()
	for i in $(seq "$STARTS"); do
		for k in slirp4netns ours; do
			ns_new
			t0=$EPOCHREALTIME
			spawn "$k"
			ready || { tail -n 5 "$W/helper.log" >&2; die "$k not ready on start $i"; }
			t1=$EPOCHREALTIME
			if [ "$k" = ours ]; then
				ours+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) * 1000 }')")
			else
				s4n+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) * 1000 }')")
			fi
			stop "$HP" "$NS"
		done
	done
	echo "$(printf '%s\n' "${s4n[@]}" | median) $(printf '%s\n' "${ours[@]}" | median)"
}

main() {
	[ "$(id -u)" = 0 ] || die "run as root (targets are made with unshare -Urn)"
	command -v slirp4netns >/dev/null || die "slirp4netns is missing: apt-get install slirp4netns"
	BIN=${1:-$ROOT/build/src/slirpnetd}
	shift || true
	EXTRA=("$@")
	read -r -a S4N <<<"${S4N_FLAGS:-}"
	[ -x "$BIN" ] || die "no executable $BIN (build it: ninja -C build)"
	BIN=$(realpath "$BIN")
	W=$(mktemp -d /tmp/slirpnetd-idle.XXXXXX)
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	mkfifo "$W/ready"
	exec {RFD}<>"$W/ready"

	log "N=$N STARTS=$STARTS MTU=$MTU; ours: $BIN ${EXTRA[*]}; slirp4netns ${S4N[*]}"
	local m4 mo st
	m4=$(mem slirp4netns)
	mo=$(mem ours)
	st=$(starts)
	mkdir -p "$(dirname "$OUT")"
	{
		echo "# bench/idle.sh, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) CPUs, N=$N STARTS=$STARTS MTU=$MTU"
		echo "# $("$BIN" --version 2>&1 | head -n 1)${EXTRA[*]:+ ${EXTRA[*]}}; $(slirp4netns --version 2>&1 | head -n 1)${S4N[*]:+ ${S4N[*]}}"
		printf 'metric\tunit\tslirp4netns\tours\n'
		printf 'pss_per_instance\tKiB\t%s\t%s\n' "$(cut -d' ' -f1 <<<"$m4")" "$(cut -d' ' -f1 <<<"$mo")"
		printf 'pss_anon_per_instance\tKiB\t%s\t%s\n' "$(cut -d' ' -f2 <<<"$m4")" "$(cut -d' ' -f2 <<<"$mo")"
		printf 'pss_file_per_instance\tKiB\t%s\t%s\n' "$(cut -d' ' -f3 <<<"$m4")" "$(cut -d' ' -f3 <<<"$mo")"
		printf 'processes_per_instance\tcount\t%s\t%s\n' "$(cut -d' ' -f4 <<<"$m4")" "$(cut -d' ' -f4 <<<"$mo")"
		printf 'start_to_ready_median\tms\t%s\t%s\n' "$(cut -d' ' -f1 <<<"$st")" "$(cut -d' ' -f2 <<<"$st")"
	} >"$OUT"
	grep '^#' "$OUT" >&2
	grep -v '^#' "$OUT" | column -t -s $'\t' | sed 's/^/  /' >&2
	log "written to $OUT"
}

main "$@"
