#!/bin/bash
# test_man.sh - the man pages: mandoc finds nothing wrong in them, and every
# long option that slirpnetd --help and slirpnetd-ctl --help print is
# documented in the OPTIONS section of its page (and every option documented
# there exists), so the pages cannot fall behind the code unnoticed.
# Needs no root and no namespace; skips (77) only without mandoc.
set -euo pipefail

: "${SLIRPNETD:?SLIRPNETD must name the slirpnetd binary}"
: "${SLIRPNETD_CTL:?SLIRPNETD_CTL must name the slirpnetd-ctl binary}"
: "${SN_MAN_SLIRPNETD:?SN_MAN_SLIRPNETD must name the generated slirpnetd.1}"
: "${SN_MAN_SLIRPNETD_CTL:?SN_MAN_SLIRPNETD_CTL must name the generated slirpnetd-ctl.1}"

fail() {
	echo "FAIL: man: $*" >&2
	exit 1
}
ok() { echo "ok: $*"; }

if ! command -v mandoc >/dev/null 2>&1; then
	echo "SKIP: mandoc is not installed (Debian package mandoc)"
	exit 77
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# lint PAGE: mandoc -T lint at warning level reports nothing. scdoc emits an
# empty .P before and after every .SH and .SS, and between paragraphs; mandoc
# drops each with a "skipping paragraph macro" warning. Those three exact
# messages are the generator's, not the page's, and are the only ones let
# through: any other warning or error fails.
lint() {
	local page=$1 rc=0
	[ -s "$page" ] || fail "$page is missing or empty"
	mandoc -T lint -W warning "$page" >"$WORK/lint" 2>&1 || rc=$?
	[ "$rc" -lt 5 ] || fail "mandoc could not check $page (exit $rc): $(cat "$WORK/lint")"
	grep -vE ': WARNING: skipping paragraph macro: PP (empty|after SH|after SS)$' \
		"$WORK/lint" >"$WORK/lint.rest" || true
	if [ -s "$WORK/lint.rest" ]; then
		cat "$WORK/lint.rest" >&2
		fail "mandoc -T lint -W warning $page: $(wc -l <"$WORK/lint.rest") message(s) (above)"
	fi
	ok "mandoc -T lint -W warning $(basename "$page"): clean"
}

# options_section PAGE: the page's OPTIONS section as plain text, one
# paragraph a line (a width no line reaches, so no option is hyphenated)
options_section() {
	mandoc -T ascii -O width=1000 "$1" | sed "s/.\x08//g" |
		awk '/^OPTIONS$/ { on = 1; next } /^[A-Z][A-Z ]*$/ { on = 0 } on'
}

# long_options: the long options in a --help text on stdin, sorted, unique
long_options() {
	grep -oE -- '--[a-z0-9][a-z0-9-]*' | sort -u
}

# check_options NAME BINARY PAGE [HIDDEN...]: every long option BINARY
# --help prints is in PAGE's OPTIONS section, and every long option that
# section documents is in --help, except HIDDEN ones (refused, not listed)
check_options() {
	local name=$1 bin=$2 page=$3 opt n=0
	shift 3
	"$bin" --help >"$WORK/help" || fail "$name --help exited $?"
	long_options <"$WORK/help" >"$WORK/help.opts"
	[ -s "$WORK/help.opts" ] || fail "$name --help lists no long options"
	options_section "$page" >"$WORK/section"
	[ -s "$WORK/section" ] || fail "$(basename "$page") has no OPTIONS section"
	while read -r opt; do
		grep -qE -- "(^|[^a-z0-9-])${opt}([^a-z0-9-]|\$)" "$WORK/section" ||
			fail "$name --help lists $opt, but the OPTIONS section of $(basename "$page") does not document it"
		n=$((n + 1))
	done <"$WORK/help.opts"
	ok "$name: all $n long options of --help are in $(basename "$page")"
	# Only the items' tags: lines that start with an option
	grep -E '^ +-' "$WORK/section" | long_options >"$WORK/page.opts" || true
	while read -r opt; do
		grep -qxF -- "$opt" "$WORK/help.opts" && continue
		printf '%s\n' "$@" | grep -qxF -- "$opt" ||
			fail "$(basename "$page") documents $opt, which $name --help does not list"
	done <"$WORK/page.opts"
	ok "$(basename "$page"): every option it documents is in $name --help (or hidden: ${*:-none})"
}

lint "$SN_MAN_SLIRPNETD"
lint "$SN_MAN_SLIRPNETD_CTL"

check_options slirpnetd "$SLIRPNETD" "$SN_MAN_SLIRPNETD"
check_options slirpnetd-ctl "$SLIRPNETD_CTL" "$SN_MAN_SLIRPNETD_CTL"
