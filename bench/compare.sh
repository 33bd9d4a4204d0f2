#!/bin/sh
# bench/compare.sh: our nts-ke-server + nts-responder against Debian's
# chronyd, same loads from nts-bench in the same run, each server pinned to
# CPU 0 and the generator to CPU 1, 3 trials of each measurement with the
# servers interleaved. Prints a markdown table with medians, ranges and
# ratios and regenerates its section of docs/benchmarks.md (between
# <!-- compare:begin --> and <!-- compare:end -->; the other sections stay).
# Also a plain NTP flood from trafgen (Debian's netsniff-ng: an independent
# generator) and, if perf works, a profile of our responder. Takes about
# 4-5 minutes (plus a build).
#
#   bench/compare.sh            run everything, rewrite docs/benchmarks.md
#   BENCH_QUIET="TEXT" bench/compare.sh
#                               TEXT goes into the document's machine notes;
#                               starting with "noisy" it is also shown on top
#   TRIALS=1 DUR=1 bench/compare.sh
#                               a quick check of the script (not for the doc)
#   KEEP=1 bench/compare.sh     keep the temporary directory and logs
#   BENCH_RT=1 bench/compare.sh also run servers and generator SCHED_FIFO
#                               (chrt -f 10): steadier figures on a machine
#                               that other work shares, at that work's expense
#
# Needs root only to install missing packages. Builds build-bench/
# (meson, --buildtype=release) if needed.
set -eu
cd "$(dirname "$0")/.."
SRC=$PWD
START=$(date +%s)
. deploy/deps.sh
# shellcheck disable=SC2086
nts_install_missing $NTS_BUILD_PKGS chrony openssl python3 procps iproute2 util-linux netsniff-ng
[ "$(nproc)" -ge 2 ] || { echo "compare.sh: needs 2 CPUs (server on 0, generator on 1)" >&2; exit 1; }

RT=""
if [ "${BENCH_RT:-0}" = 1 ]; then
	RT="chrt -f 10"
fi
BUILD=$SRC/build-bench
if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" --buildtype=release >/dev/null
fi
nice -n 5 ninja -C "$BUILD" >/dev/null
export BUILD SRC
. "$SRC/tests/interop/lib.sh" # make_pki, make_keys, free_port, wait_metrics, cleanup trap

make_pki
make_keys

# ours: one KE worker and one responder worker, both pinned to CPU 0
NTP=$(free_port)
KE=$(free_port)
RESP_METRICS=$(free_port)
KE_METRICS=$(free_port)
cat >"$T/responder.conf" <<CONF
listen 127.0.0.1:$NTP
workers 1
keyfile $T/responder.keys
deployment $T/keyhost/deployment.pub
syncsource static 1 BNCH
metrics 127.0.0.1:$RESP_METRICS
loglevel warning
CONF
cat >"$T/ke.conf" <<CONF
listen 127.0.0.1:$KE
cert $T/server.pem $T/server.key
keyfile $T/ke.keys
deployment $T/keyhost/deployment.pub
ntpserver 127.0.0.1
ntpport $NTP
workers 1
maxpersource 10000
metrics 127.0.0.1:$KE_METRICS
loglevel warning
CONF
$RT taskset -c 0 "$BUILD/ntp-responder/nts-responder" -c "$T/responder.conf" >"$T/responder.log" 2>&1 &
RESP_PID=$!
PIDS="$PIDS $RESP_PID"
$RT taskset -c 0 "$BUILD/ke-server/nts-ke-server" -c "$T/ke.conf" >"$T/ke.log" 2>&1 &
KE_PID=$!
PIDS="$PIDS $KE_PID"
wait_metrics $RESP_METRICS
wait_metrics $KE_METRICS

# ours, keyless: a second KE server (one worker) whose TLS key is held by
# nts-signer; both on CPU 0, its CPU cost is the sum of the two processes
SIGNER_METRICS=$(free_port)
KLKE=$(free_port)
KLKE_METRICS=$(free_port)
cat >"$T/signer.conf" <<CONF
socket $T/signer.sock
key $T/server.key
allowuser $(id -un)
metrics 127.0.0.1:$SIGNER_METRICS
loglevel warning
CONF
sed -e "s|^listen .*|listen 127.0.0.1:$KLKE|" -e "s|^metrics .*|metrics 127.0.0.1:$KLKE_METRICS|" \
	-e "s|^cert .*|cert $T/server.pem\nsigner $T/signer.sock|" "$T/ke.conf" >"$T/ke-keyless.conf"
$RT taskset -c 0 "$BUILD/signer/nts-signer" -c "$T/signer.conf" >"$T/signer.log" 2>&1 &
SIGNER_PID=$!
PIDS="$PIDS $SIGNER_PID"
wait_metrics $SIGNER_METRICS
$RT taskset -c 0 "$BUILD/ke-server/nts-ke-server" -c "$T/ke-keyless.conf" >"$T/ke-keyless.log" 2>&1 &
KLKE_PID=$!
PIDS="$PIDS $KLKE_PID"
wait_metrics $KLKE_METRICS

# chronyd: NTS server in its main process (ntsprocesses 0), one core
CNTP=$(free_port)
CKE=$(free_port)
chrony_conf "$T/chrony.conf" "port $CNTP" "ntsport $CKE" "bindaddress 127.0.0.1" \
	"ntsserverkey $T/server.key" "ntsservercert $T/server.pem" "ntsprocesses 0" \
	"local stratum 1" "allow 127.0.0.0/8"
$RT taskset -c 0 chronyd -x -u root -d -f "$T/chrony.conf" >"$T/chronyd.log" 2>&1 &
CHRONY_PID=$!
PIDS="$PIDS $CHRONY_PID"
i=0
until "$BUILD/tools/nts-bench" ke --count 1 --timeout 1 127.0.0.1:$CKE >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 50 ] && fail "chronyd's NTS-KE server did not come up"
	sleep 0.2
done

LOADAVG=$(cut -d" " -f1-3 /proc/loadavg)
export T NTP KE CNTP CKE RESP_PID KE_PID CHRONY_PID START LOADAVG KLKE KLKE_PID SIGNER_PID
export BENCH="$RT taskset -c 1 $BUILD/tools/nts-bench" BENCH_RT="${BENCH_RT:-0}"
export BENCH_QUIET="${BENCH_QUIET:-}" TRIALS="${TRIALS:-3}" DUR="${DUR:-2}"
if [ -n "${BENCH_EXPERIMENT:-}" ]; then
	. "$BENCH_EXPERIMENT" # bench/settle.sh: the same servers, another measurement
else
	python3 "$SRC/bench/compare.py"
fi
