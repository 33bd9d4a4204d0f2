#!/bin/sh
# tests/run.sh: the one test command. Installs what is missing, builds the
# normal (gcc) and the sanitizer (clang, ASan+UBSan, libFuzzer) configurations
# and runs every meson suite in both. Exits non-zero on any failure.
#
#   tests/run.sh                 everything
#   tests/run.sh --suite unit    only one suite (any meson test args pass through)
set -eu
cd "$(dirname "$0")/.."
. deploy/deps.sh
# shellcheck disable=SC2086
nts_install_missing $NTS_BUILD_PKGS $NTS_TEST_PKGS
nts_unpack_ntpsec || echo "ntpsec not available: the NTPsec interop tests will skip"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

setup() {
	dir=$1
	shift
	# --reconfigure picks up test and source files added since the last run
	# (the meson lists skip files that do not exist yet).
	if [ -f "$dir/build.ninja" ]; then
		set -- --reconfigure "$@"
	fi
	meson setup "$dir" "$@" >"build-logs/$dir.setup.log" 2>&1 || { cat "build-logs/$dir.setup.log"; exit 1; }
}
mkdir -p build-logs
setup build --buildtype=debugoptimized -Dwerror=true
CC=clang setup build-asan --buildtype=debug -Dwerror=true -Db_sanitize=address,undefined \
	-Db_lundef=false -Dfuzzing=enabled -Dc_args=-fno-sanitize-recover=undefined

status=0
total_ok=0
total_fail=0
for dir in build build-asan; do
	echo "=== $dir: build"
	ninja -C "$dir" >"build-logs/$dir.ninja.log" 2>&1 || { cat "build-logs/$dir.ninja.log"; exit 1; }
	echo "=== $dir: test"
	dir_status=0
	meson test -C "$dir" --print-errorlogs --num-processes 2 "$@" >"build-logs/$dir.test.log" 2>&1 || dir_status=1
	[ $dir_status = 0 ] || status=1
	grep -E '^ *[0-9]+/[0-9]+ ' "build-logs/$dir.test.log" || true
	sed -n '/^Ok:/,/^Timeout:/p' "build-logs/$dir.test.log"
	ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "build-logs/$dir.test.log")
	fl=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "build-logs/$dir.test.log")
	to=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "build-logs/$dir.test.log")
	total_ok=$((total_ok + ${ok:-0}))
	total_fail=$((total_fail + ${fl:-0} + ${to:-0}))
	if [ $dir_status != 0 ]; then
		sed -n '/Summary of Failures/,$p' "build-logs/$dir.test.log"
		# The output of each failed test (its last lines), so that a CI
		# log alone says why.
		python3 - "$dir/meson-logs/testlog.json" <<-'EOF'
			import json, sys
			for line in open(sys.argv[1]):
			    t = json.loads(line)
			    if t["result"] not in ("OK", "SKIP", "EXPECTEDFAIL"):
			        out = ((t.get("stdout") or "") + (t.get("stderr") or "")).splitlines()
			        print("--- %s: %s, last %d lines of output" % (t["name"], t["result"], min(len(out), 80)))
			        print("\n".join(out[-80:]))
		EOF
	fi
done
echo "$total_ok passed, $total_fail failed"
if [ "$total_ok" = 0 ]; then
	echo "no test ran" >&2
	exit 1
fi
exit $status
