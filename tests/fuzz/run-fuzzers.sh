#!/bin/sh
# run-fuzzers.sh SECONDS [TARGET...]: run each libFuzzer target (ASan+UBSan,
# clang) for SECONDS, starting from the checked-in corpus. New inputs go to
# build-fuzz/corpus-work/TARGET (merge the useful ones into
# tests/fuzz/corpus/TARGET with -merge=1 by hand). Prints executions per
# target; exits non-zero if any target found a crash (saved in
# tests/fuzz/crashes/).
set -eu
cd "$(dirname "$0")/../.."
secs=${1:-60}
shift || true
if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang meson setup build-fuzz --buildtype=debugoptimized -Db_sanitize=address,undefined \
		-Db_lundef=false -Dfuzzing=enabled -Dc_args=-fno-sanitize-recover=undefined >/dev/null
fi
ninja -C build-fuzz >/dev/null
targets=${*:-$(ls tests/fuzz/fuzz_*.c | sed 's,.*/fuzz_\(.*\)\.c,\1,')}
mkdir -p tests/fuzz/crashes
status=0
for t in $targets; do
	work=build-fuzz/corpus-work/$t
	mkdir -p "$work"
	log=build-fuzz/fuzz-$t.log
	if ./build-fuzz/tests/fuzz/fuzz_$t -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix=tests/fuzz/crashes/$t- "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
		res=ok
	else
		res=FAILED
		status=1
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	echo "$t: $res, ${execs:-?} executions in ${secs}s (log $log)"
done
exit $status
