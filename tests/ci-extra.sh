#!/bin/bash
# ci-extra.sh - checks beyond the test suite, run by CI after it: the
# integration tests again with the daemon sandboxed, the tests whose guest
# opens TCP with --tcp-path=slirp, the tests again under ASan+UBSan, the
# integration tests with the daemon in memcheck, the libFuzzer targets for a
# while, and the install of the slirp4netns name.
#
# The tests spend most of their time waiting on namespaces, daemons and
# timers, not on the CPU. So once the sanitizer build is done (alone, with
# every core), three lanes run side by side: the sandboxed pass then the
# slirp pass, the sanitizer pass, and the memcheck tests, with the fuzzers'
# build at the lowest priority beside them; each lane's output is shown
# once it has ended, in that order. The fuzzers then run alone, with every
# core to themselves, as before; the install check last.
#
# Usage: tests/ci-extra.sh (from anywhere; as root, like the test suite)
#   FUZZ_SECONDS  how long each fuzzer runs (default 60; all run at once)
#   FUZZ_BUILD    clang build directory for the fuzzers (default build-fuzz)
#   ASAN_BUILD    build directory with -Db_sanitize=address,undefined
#                 (default build-asan)
#   BUILD         the plain build whose daemon memcheck runs (default build)
#
# Every check runs even if one before it failed. The unit and integration
# tests print meson's own summary; the other checks are summed up at the end
# in the same form, so that CI's closing line counts them all. A fuzzer's
# crash is kept in FUZZ_BUILD/fuzz-artifacts/ and its path printed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
ASAN_BUILD=${ASAN_BUILD:-build-asan}
BUILD=${BUILD:-build}

work=$(mktemp -d /tmp/slirpnetd-ci-extra.XXXXXX)
chmod 755 "$work" # the daemon also runs as the unprivileged test user
passed=0
failed=0
suite_failed=0 # the meson passes: meson counts their tests
declare -A lane_pid=()

pass() {
	echo "ci-extra: PASS: $*"
	passed=$((passed + 1))
}

flunk() {
	echo "ci-extra: FAIL: $*"
	failed=$((failed + 1))
}

# descendants PID: PID's descendants, deepest first
descendants() {
	local c
	for c in $(pgrep -P "$1" || true); do
		descendants "$c"
		echo "$c"
	done
}

# stop_lanes: on an early exit, end the lanes still running, each with
# everything it started, by PID
stop_lanes() {
	local p
	for p in "${lane_pid[@]}"; do
		kill -0 "$p" 2>/dev/null || continue
		kill $(descendants "$p") "$p" 2>/dev/null || true
	done
}
trap 'stop_lanes; rm -rf "$work"' EXIT

# ---- lanes: checks that run side by side ----

# in_session NICE CMD...: run CMD in a session of its own, at NICE (below 0
# only as root). The kernel shares the CPU between sessions first (its
# autogroups), then between the processes of each, and meson runs each test
# in a session of its own: what runs in ci-extra's session shares one
# test's part with everything else there. NICE is set for the session's
# group, and for CMD should autogroups be off.
in_session() {
	setsid -w sh -c 'echo "$1" >/proc/self/autogroup 2>/dev/null
		n=$1
		shift
		exec nice -n "$n" "$@"' sh "$@"
}

# lane NAME FUNCTION: run FUNCTION in the background, its output in
# $work/lane-NAME.log, its exit status in $work/lane-NAME.rc, the seconds it
# took in $work/lane-NAME.secs
lane() {
	{
		"$2" >"$work/lane-$1.log" 2>&1
		echo $? >"$work/lane-$1.rc"
		echo "$SECONDS" >"$work/lane-$1.secs"
	} &
	lane_pid[$1]=$!
}

# lane_report NAME: wait for lane NAME and print its output; count the
# checks it passed and failed (its "ci-extra:" lines), and a meson pass
# in it that failed (its exit status)
lane_report() {
	local log="$work/lane-$1.log" n
	wait "${lane_pid[$1]}"
	cat "$log"
	echo "ci-extra: $1 lane done $(cat "$work/lane-$1.secs") s after ci-extra started"
	n=$(grep -c '^ci-extra: PASS: ' "$log")
	passed=$((passed + n))
	n=$(grep -c '^ci-extra: FAIL: ' "$log")
	failed=$((failed + n))
	[ "$(cat "$work/lane-$1.rc" 2>/dev/null)" = 0 ] || suite_failed=1
}

# ---- the plain build, once: its passes below run side by side ----
if ! ninja -C "$BUILD" >"$work/build.log" 2>&1; then
	cat "$work/build.log"
	flunk "the plain build ($BUILD) failed"
fi

# ---- the integration tests again, the daemon sandboxed; then with the
# guest's TCP through libslirp (--tcp-path=slirp) ----

# run_hardened: every integration test, the daemon always started with
# --enable-sandbox --enable-seccomp (tests/integration/hardened.sh.in); a
# call the filter blocks fails the test that made it. Then the tests whose
# guest opens TCP connections, with the daemon started with
# --tcp-path=slirp (lib.sh's SN_TCP_PATH), so that the path kept for those
# who need it keeps working. meson prints its own summary for each.
run_hardened() {
	local rc=0
	echo "ci-extra: integration tests with --enable-sandbox --enable-seccomp"
	meson test -C "$BUILD" --no-rebuild --print-errorlogs --setup=hardened \
		--suite integration || rc=1
	echo "ci-extra: integration tests with --tcp-path=slirp"
	meson test -C "$BUILD" --no-rebuild --print-errorlogs --setup=slirptcp \
		traffic.sh ipv6.sh dns.sh offload.sh configure.sh forward.sh || rc=1
	return "$rc"
}

# ---- the tests under AddressSanitizer and UndefinedBehaviorSanitizer ----

# Reports go to files (one per process, the daemon's included, also when it
# runs as the unprivileged test user), read after the run.
sanlogs="$work/sanitizer-logs"
mkdir -m 1777 "$sanlogs"
# No leak is suppressed; the file is where one would be, with its reason.
: >"$work/lsan.supp"
chmod 644 "$work/lsan.supp"

# asan_build: configure (once) and build ASAN_BUILD
asan_build() {
	{ [ -f "$ASAN_BUILD/build.ninja" ] ||
		meson setup "$ASAN_BUILD" -Db_sanitize=address,undefined; } &&
		ninja -C "$ASAN_BUILD"
}

# run_asan: the unit and integration tests of ASAN_BUILD; fails if meson's
# pass did
run_asan() {
	local reports f rc
	echo "ci-extra: unit and integration tests under ASan+UBSan"
	# meson prints its own summary (Ok:, Fail:, ...) for these
	ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$sanlogs/asan" \
	UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$sanlogs/ubsan" \
	LSAN_OPTIONS="suppressions=$work/lsan.supp" \
		meson test -C "$ASAN_BUILD" --no-rebuild --print-errorlogs --suite unit \
		--suite integration
	rc=$?
	# (a file with only "Suppressions used" is no report)
	reports=$(grep -lE 'ERROR: |runtime error:' -r "$sanlogs" | sort)
	if [ -z "$reports" ]; then
		pass "no sanitizer report from any process of the tests"
	else
		for f in $reports; do
			echo "--- $f:"
			cat "$f"
		done
		flunk "sanitizer reports (above): $(echo "$reports" | wc -l)"
	fi
	return "$rc"
}

# ---- valgrind memcheck on the daemon, through the integration tests ----

# Each test below runs with the daemon in memcheck, and with SN_CLEANUP_TERM
# set, so that its clean-up ends every daemon with SIGTERM and memcheck also
# checks each exit for leaks. tests/valgrind.supp holds the system calls
# memcheck misreads, each with why. Left out, each for its reason:
#   lifecycle, faults     valgrind 3.19 lacks pidfd_open()
#   sandbox               memcheck cannot run under the seccomp filter
#   errors, unprivileged  they find the daemon by its executable's name
#   rootlesskit, podman, docker, systemd, man: the real clients and the
#                         units, not the daemon's own code paths
# The longest first (about 70, 40, 20, 17, 16 and 14 s here), so that none
# is left running alone at the end.
vgtests="tcp fwdtap forward state offload ctl dns ipv6 guard configure api traffic scale dhcp"
vglogs="$work/valgrind-logs" # one directory per test in it
mkdir -m 1777 "$vglogs"
vgerrors='^==[0-9]+== (Invalid |Conditional jump|Use of uninitialised|Syscall param|Mismatched |Source and destination overlap|Argument |.* definitely lost in loss record)'
# vg_test T: test_T.sh with the daemon in memcheck; its output in
# $work/vg-T.log, its exit status in $work/vg-T.rc
vg_test() {
	local t=$1
	mkdir -m 1777 "$vglogs/$t"
	cat >"$work/slirpnetd-vg-$t" <<EOF
#!/bin/sh
exec valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite \\
	--errors-for-leak-kinds=definite --log-file=$vglogs/$t/vg.%p \\
	--suppressions=$(realpath tests/valgrind.supp) \\
	$(realpath "$BUILD/src/slirpnetd") "\$@"
EOF
	chmod 755 "$work/slirpnetd-vg-$t"
	# (test_tcp's and test_fwdtap's transfers a sixteenth the size:
	# memcheck runs the daemon some twenty times slower)
	SLIRPNETD="$work/slirpnetd-vg-$t" SN_CLEANUP_TERM=1 \
		SN_TCP_MIB_DIV=16 \
		FWDTOOL="$BUILD/tests/fwdtool" \
		SLIRPNETD_CTL="$BUILD/src/slirpnetd-ctl" \
		SLIRPNETD_KNOBS="$BUILD/tests/slirpnetd-knobs" \
		in_session 0 timeout 300 "tests/integration/test_$t.sh" >"$work/vg-$t.log" 2>&1
	echo $? >"$work/vg-$t.rc"
}

# vg_report T: pass or fail test T from its exit status and memcheck's logs
vg_report() {
	local t=$1 runs bad f
	echo "ci-extra: tests/integration/test_$t.sh, the daemon in memcheck"
	if [ "$(cat "$work/vg-$t.rc")" != 0 ]; then
		tail -n 40 "$work/vg-$t.log"
		flunk "test_$t.sh with the daemon in memcheck"
		return
	fi
	# errors are logged as they happen; the summary (and the leak check)
	# only by a process that exits
	runs=$(grep -l 'ERROR SUMMARY:' "$vglogs/$t"/vg.* 2>/dev/null | wc -l)
	bad=$(grep -lE "$vgerrors" "$vglogs/$t"/vg.* 2>/dev/null)
	if [ -n "$bad" ]; then
		for f in $bad; do
			echo "--- $f:"
			grep -v '^--[0-9]*-- ' "$f"
		done
		flunk "test_$t.sh: memcheck errors (above)"
	elif [ "$runs" = 0 ]; then
		flunk "test_$t.sh: no daemon exit was leak-checked"
	else
		pass "test_$t.sh, the daemon in memcheck: no error, no definite leak in $runs exits"
	fi
}

# run_memcheck: the tests above, two at a time (memcheck runs all of a
# process's threads on one core), then each reported
run_memcheck() {
	local t
	if [ ! -x "$BUILD/src/slirpnetd" ] || ! command -v valgrind >/dev/null; then
		flunk "memcheck: needs valgrind and $BUILD/src/slirpnetd"
		return 0
	fi
	echo "ci-extra: $(wc -w <<<"$vgtests") integration tests with the daemon in memcheck, two at a time"
	for t in $vgtests; do
		while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n || true; done
		vg_test "$t" &
	done
	wait
	for t in $vgtests; do vg_report "$t"; done
}

# ---- libFuzzer targets ----

# fuzz_build: configure (once) and build the fuzzers with clang, at the
# lowest priority (beside the lanes, it takes only the CPU they leave)
fuzz_build() {
	if [ -f "$FUZZ_BUILD/build.ninja" ]; then
		in_session 19 meson configure "$FUZZ_BUILD" -Dfuzz=true -Dtests=disabled
	else
		CC=clang in_session 19 meson setup "$FUZZ_BUILD" -Dfuzz=true -Dtests=disabled
	fi && in_session 19 ninja -C "$FUZZ_BUILD" tests/fuzz/fuzz_api \
		tests/fuzz/fuzz_cli tests/fuzz/fuzz_tap tests/fuzz/fuzz_tcp
}

# fuzz_run NAME ARGS...: run fuzz_NAME for FUZZ_SECONDS on a copy of its
# corpus (the repository is left as it is); log in $work/fuzz-NAME.log
fuzz_run() {
	local name=$1 art="$FUZZ_BUILD/fuzz-artifacts/$1/"
	shift
	mkdir -p "$art" && cp -r "tests/fuzz/corpus/$name" "$work/corpus-$name"
	"$FUZZ_BUILD/tests/fuzz/fuzz_$name" -max_total_time="$FUZZ_SECONDS" \
		-timeout=10 -print_final_stats=1 -artifact_prefix="$art" \
		"$@" "$work/corpus-$name" >"$work/fuzz-$name.log" 2>&1
}

# fuzz_report NAME RC: pass or fail fuzz_NAME from its exit status and log
fuzz_report() {
	local name=$1 rc=$2 log="$work/fuzz-$1.log" runs unit
	runs=$(awk '/^stat::number_of_executed_units:/ { print $2 }' "$log")
	if [ "$rc" = 0 ]; then
		pass "fuzz_$name: ${runs:-?} inputs in ${FUZZ_SECONDS} s, no crash"
		return
	fi
	echo "--- fuzz_$name log (end):"
	tail -n 60 "$log"
	unit=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
	if [ -n "$unit" ]; then
		flunk "fuzz_$name: crash; reproducer: $unit" \
			"(run: $FUZZ_BUILD/tests/fuzz/fuzz_$name $unit)"
	else
		flunk "fuzz_$name: exit status $rc, no reproducer written"
	fi
}

# ---- the lanes, side by side; then the fuzzers alone ----

# The sanitizer build first, alone with every core (about 35 s here): its
# pass is the longest lane, and beside the other lanes, whose tests each
# get a share of the CPU as large as its own, it took twice as long.
echo "ci-extra: building with -Db_sanitize=address,undefined ($ASAN_BUILD)"
asan_built=0
if asan_build >"$work/asan-build.log" 2>&1; then
	asan_built=1
	if grep -q libasan <<<"$(ldd "$ASAN_BUILD/src/slirpnetd")"; then
		pass "the daemon of $ASAN_BUILD runs under ASan"
	else
		flunk "$ASAN_BUILD/src/slirpnetd is not linked with libasan"
	fi
else
	cat "$work/asan-build.log"
	flunk "the sanitizer build failed"
fi

echo "ci-extra: side by side: the sandboxed and slirp passes, the sanitizer" \
	"pass, memcheck; the fuzzers' build beside them"
lane hardened run_hardened
[ "$asan_built" = 0 ] || lane asan run_asan
lane memcheck run_memcheck
fuzz_build >"$work/fuzz-build.log" 2>&1 &
lane_pid[fuzz-build]=$! # (for stop_lanes)
lane_report hardened
[ "$asan_built" = 0 ] || lane_report asan
lane_report memcheck
# the fuzzers' build, if not done yet, at the usual priority from now on
# (at nice 19 beside other work, such as a loaded machine's, it would
# hardly move)
for p in $(descendants "${lane_pid[fuzz-build]}"); do
	echo 0 >"/proc/$p/autogroup" 2>/dev/null
	renice -n 0 -p "$p" >/dev/null 2>&1
done

echo "ci-extra: the fuzzers, built beside the lanes (clang, $FUZZ_BUILD)"
if wait "${lane_pid[fuzz-build]}"; then
	echo "ci-extra: fuzzing, ${FUZZ_SECONDS} s each, all at once"
	declare -A fuzz_args=([api]="-dict=tests/fuzz/api.dict -max_len=4200"
		[cli]="-max_len=1024" [tap]="-max_len=70000" [tcp]="-max_len=70000")
	declare -A fuzz_pid
	for f in api cli tap tcp; do
		# shellcheck disable=SC2086 # the arguments, split
		fuzz_run "$f" ${fuzz_args[$f]} &
		fuzz_pid[$f]=$!
	done
	for f in api cli tap tcp; do
		rc=0
		wait "${fuzz_pid[$f]}" || rc=$?
		fuzz_report "$f" "$rc"
	done
else
	cat "$work/fuzz-build.log"
	flunk "the fuzzers did not build (clang and libclang-rt-14-dev?)"
fi

# ---- the slirp4netns name (-Dslirp4netns_alias), installed ----

# meson install of the plain build with the option on, into a scratch
# DESTDIR: LIBEXECDIR/slirpnetd/bin/slirp4netns must name BINDIR/slirpnetd,
# which must be there, and BINDIR must hold no slirp4netns of ours.
echo "ci-extra: -Dslirp4netns_alias, installed into a scratch DESTDIR"
dest="$work/destdir"
if meson configure "$BUILD" -Dslirp4netns_alias=true >"$work/alias.log" 2>&1 &&
	meson install -C "$BUILD" --destdir "$dest" >>"$work/alias.log" 2>&1; then
	prefix=$(meson introspect "$BUILD" --buildoptions |
		jq -r '.[] | select(.name == "prefix") | .value')
	bindir=$(meson introspect "$BUILD" --buildoptions |
		jq -r '.[] | select(.name == "bindir") | .value')
	libexec=$(meson introspect "$BUILD" --buildoptions |
		jq -r '.[] | select(.name == "libexecdir") | .value')
	link="$dest$prefix/$libexec/slirpnetd/bin/slirp4netns"
	target=$(readlink "$link")
	if [ "$target" = "$prefix/$bindir/slirpnetd" ] &&
		[ -x "$dest$target" ] && [ ! -e "$dest$prefix/$bindir/slirp4netns" ] &&
		"$dest$target" --version | grep -q '^slirpnetd version'; then
		pass "-Dslirp4netns_alias: $prefix/$libexec/slirpnetd/bin/slirp4netns -> $target"
	else
		ls -lR "$dest" | tail -n 30
		flunk "-Dslirp4netns_alias: $link -> '${target}'"
	fi
	meson configure "$BUILD" -Dslirp4netns_alias=false >>"$work/alias.log" 2>&1
else
	cat "$work/alias.log"
	flunk "-Dslirp4netns_alias: meson install failed"
fi

# ---- summary of the checks above that are not meson tests ----
echo
echo "ci-extra: $passed passed, $failed failed (besides the tests above)"
printf 'Ok:                 %d\n' "$passed"
printf 'Fail:               %d\n' "$failed"
[ "$failed" = 0 ] && [ "$suite_failed" = 0 ]
