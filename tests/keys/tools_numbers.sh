#!/bin/sh
# tools_numbers.sh: numbers on the tools' command lines are parsed strictly:
# garbage, trailing bytes, signs and out-of-range values are usage errors
# (exit 2) before anything is done. nts-keyctl --now/--activation used to
# turn garbage into 0 (1970) and carry on.
set -eu
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
K=$BUILD/tools/nts-keyctl
Q=$BUILD/tools/nts-query
B=$BUILD/tools/nts-bench

# usage2 CMD...: CMD must exit 2 and do nothing else
usage2() {
	rc=0
	"$@" >"$T/out" 2>&1 || rc=$?
	[ $rc = 2 ] || { cat "$T/out"; fail "exit $rc, expected 2: $*"; }
}

now=1764000000
for bad in garbage "" 12x -5 " 1" +1 1.5 99999999999999999999; do
	usage2 $K init --dir "$T/k0" --now "$bad"
	[ ! -e "$T/k0" ] || fail "init --now '$bad' created the key directory"
done
$K init --dir "$T/kh" --now $now >/dev/null
head -c 32 /dev/urandom >"$T/m"
before=$($K show --dir "$T/kh" --now $now)
for bad in garbage "" 1e3 -1 0x10; do
	usage2 $K import --dir "$T/kh" --master "$T/m" --activation "$bad" --now $now
done
[ "$before" = "$($K show --dir "$T/kh" --now $now)" ] || fail "a refused import changed the state"
usage2 $K rotate --dir "$T/kh" --lead 5x --now $now

for a in "--count 0" "--count 101" "--count 3x" "--timeout 0" "--timeout x" \
	"--timeout 1e2" "--placeholders -1" "--placeholders 9999" "--placeholders 1x"; do
	# shellcheck disable=SC2086
	usage2 $Q $a 127.0.0.1:1
done
for a in "--duration 0" "--duration 1s" "--duration 3601" "--timeout -1" "--timeout 2x" \
	"--drain 61" "--drain x" "--count 0" "--count -1"; do
	# shellcheck disable=SC2086
	usage2 $B ke $a 127.0.0.1:1
done
for cidr in 127.0.0.0/x 127.0.0.0/ 127.0.0.0/8x 127.0.0.0/-8; do
	usage2 $B ntp --max --duration 1 --allow-nonloopback "$cidr" 192.0.2.1:123
done
echo "tools-numbers: ok"
