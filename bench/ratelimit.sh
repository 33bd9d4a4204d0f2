#!/bin/sh
# bench/ratelimit.sh: what the responder's rate limiting costs, and what it
# does under a flood (docs/config-responder.md, ratelimit). Plain NTP from
# nts-bench; the responder (one worker) pinned to CPU 1, the generator to
# CPU 0. Writes its results into docs/benchmarks.md between the
# "ratelimit:begin" and "ratelimit:end" markers. About 2 minutes.
#
#   1. Throughput at saturation (nts-bench --max) and server CPU per
#      response, rate limiting off and on (a limit no benchmark client
#      reaches: 4,096 source addresses, each well under 1,000/s), TRIALS
#      interleaved trials (off, on, off, on, ...): median and range.
#   2. RSS after 1,040,384 distinct source addresses x 2 ports (2,080,768
#      clients, the most nts-bench makes), off and on (default table).
#   3. Flood: one source at 10x the limit while 1,000 other sources query
#      once a second each; the others must lose nothing, the flooder gets
#      the limit plus ratelimitleak per cent of the excess as KoD RATE.
#
#   BUILD=DIR bench/ratelimit.sh   another build (default build-bench, else build)
#   TRIALS=N DURATION=S            (default 3 trials of 3 s)
#   KEEP=1                         keep the temporary directory
set -eu
cd "$(dirname "$0")/.."
SRC=$PWD
if [ -z "${BUILD:-}" ]; then
	BUILD=$SRC/build-bench
	[ -x "$BUILD/ntp-responder/nts-responder" ] || BUILD=$SRC/build
fi
export BUILD SRC
. "$SRC/tests/interop/lib.sh" # free_port, wait_metrics, metric, cleanup trap
[ "$(nproc)" -ge 2 ] || fail "needs 2 CPUs (generator on 0, server on 1)"
TRIALS=${TRIALS:-3}
DURATION=${DURATION:-3}
BENCH=$BUILD/tools/nts-bench

# resp NAME EXTRA: a responder pinned to CPU 1; sets NAME_PORT, NAME_METRICS, NAME_PID
resp() {
	port=$(free_port)
	mport=$(free_port)
	{
		echo "listen 127.0.0.1:$port"
		echo "workers 1"
		echo "syncsource static 1 BNCH"
		echo "metrics 127.0.0.1:$mport"
		echo "loglevel warning"
		printf '%s\n' "$2"
	} >"$T/$1.conf"
	taskset -c 1 "$BUILD/ntp-responder/nts-responder" -c "$T/$1.conf" >"$T/$1.log" 2>&1 &
	PIDS="$PIDS $!"
	eval "${1}_PORT=$port ${1}_METRICS=$mport ${1}_PID=$!"
	wait_metrics $mport
}
cputicks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

resp off "ratelimit no"
resp on "ratelimit yes
ratelimitinterval 1ms
ratelimitburst 1000"
# 10x the limit: 100/s allowed (burst 10), the flooder sends 1000/s
resp flood "ratelimit yes
ratelimitinterval 10ms
ratelimitburst 10
ratelimitleak 25"

R=$T/results
: >"$R"
echo "throughput: $TRIALS interleaved trials of $DURATION s, off and on"
for i in $(seq "$TRIALS"); do
	for mode in off on; do
		eval "port=\$${mode}_PORT pid=\$${mode}_PID"
		c0=$(cputicks "$pid")
		taskset -c 0 "$BENCH" ntp --max --duration "$DURATION" --src-addrs 4096 --json \
			"127.0.0.1:$port" >"$T/tp-$mode-$i.json" || true
		c1=$(cputicks "$pid")
		echo "tp $mode $i $((c1 - c0)) $T/tp-$mode-$i.json" >>"$R"
	done
done
echo "RSS: 2,080,768 clients from 1,040,384 addresses"
for mode in off on; do
	eval "port=\$${mode}_PORT pid=\$${mode}_PID"
	# below saturation, so that (nearly) every address reaches the server
	taskset -c 0 "$BENCH" ntp --rate 100000 --ports 2 --src-addrs 1040384 --count 2080768 \
		--duration 30 --json "127.0.0.1:$port" >"$T/rss-$mode.json" || true
	echo "rss $mode $(rss_kib "$pid") $T/rss-$mode.json" >>"$R"
done
evictions=$(metric $on_METRICS 'nts_responder_ratelimit_evictions_total')
echo "evictions on $evictions" >>"$R"

echo "flood: 1 source at 1000/s (10x the limit) + 1,000 sources at 1/s each, 10 s"
r0=$(metric $flood_METRICS 'responses_total\{kind="plain"')
taskset -c 0 "$BENCH" ntp --rate 1000 --ports 1 --duration 10 --json \
	"127.0.0.1:$flood_PORT" >"$T/flooder.json" &
fl=$!
taskset -c 0 "$BENCH" ntp --rate 1000 --ports 1 --src-addrs 1000 --duration 10 --json \
	"127.0.0.1:$flood_PORT" >"$T/normal.json" || true
wait $fl || true # nts-bench fails a run with KoDs (counted as "nak")
{
	echo "flood responses $(($(metric $flood_METRICS 'responses_total\{kind="plain"') - r0))"
	echo "flood limited $(metric $flood_METRICS 'nts_responder_ratelimited_total')"
	echo "flood kod $(metric $flood_METRICS 'code="RATE"')"
	echo "flood files $T/flooder.json $T/normal.json"
} >>"$R"

python3 - "$R" "$SRC/docs/benchmarks.md" "$(getconf CLK_TCK)" "$TRIALS" "$DURATION" <<'PY'
import json, os, platform, re, statistics, subprocess, sys, time
res, doc, hz, trials, dur = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
step = lambda f: json.load(open(f))["steps"][0]
tp = {"off": [], "on": []}
rss, flood = {}, {}
for line in open(res):
    w = line.split()
    if w[0] == "tp":
        s = step(w[4])
        tp[w[1]].append((s["responses_per_s"], int(w[3]) / hz / max(s["received"], 1) * 1e6))
    elif w[0] == "rss":
        rss[w[1]] = (int(w[2]), step(w[3]))
    elif w[0] == "evictions":
        evictions = int(w[2])
    elif w[0] == "flood":
        flood[w[1]] = w[2:] if w[1] == "files" else int(w[2])
def stat(xs, fmt):
    return "%s (%s to %s)" % (fmt % statistics.median(xs), fmt % min(xs), fmt % max(xs))
rows = []
for mode in ("off", "on"):
    rows.append("| %s | %s | %s |" % (mode, stat([t for t, _ in tp[mode]], "%.0f"),
                                      stat([c for _, c in tp[mode]], "%.2f")))
tput = statistics.median(t for t, _ in tp["on"]) / statistics.median(t for t, _ in tp["off"])
cpu = statistics.median(c for _, c in tp["on"]) / statistics.median(c for _, c in tp["off"])
fl, nm = step(flood["files"][0]), step(flood["files"][1])
nm_lost = nm["sent"] - nm["valid"]
fl_answers = flood["responses"] - nm["valid"]
cpu_model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                  if l.startswith("model name")), platform.processor())
load = open("/proc/loadavg").read().split()[:3]
# NTS_BENCH_BUSY=1: the caller knows other work shared the machine
noise = ("**The machine was shared and busy (other work on both CPUs): treat the throughput and "
         "CPU figures as rough.**" if os.environ.get("NTS_BENCH_BUSY") == "1" else
         "Nothing else ran on the machine; trial-to-trial ranges are the noise of this VM.")
out = f"""Measured by `bench/ratelimit.sh` on {time.strftime('%Y-%m-%d', time.gmtime())}: {cpu_model},
Linux {platform.release()}, load average {' '.join(load)} at the end (the benchmark's own
load included). {noise} Plain NTP, one
responder worker pinned to CPU 1, nts-bench on CPU 0, {trials} interleaved trials of {dur} s at
saturation (`--max`, 16 ports x 4,096 source addresses, each address far below the limit of
`ratelimitinterval 1ms`, `ratelimitburst 1000`).

| rate limiting | responses/s: median (range) | server CPU µs per response: median (range) |
| --- | --- | --- |
{chr(10).join(rows)}

On/off: throughput {tput:.3f}, CPU per response {cpu:.3f}.

RSS after 2,080,768 clients (2 ports x 1,040,384 source addresses, nts-bench's maximum, each
address twice, at 100,000/s: {rss['on'][1]['valid']:,} answered with rate limiting on; the
limiter keys by address, so up to 1,040,384 prefixes): **{rss['off'][0] / 1024:.1f} MiB** off,
**{rss['on'][0] / 1024:.1f} MiB** on with the default `ratelimittable 65536` (1 MiB), which
replaced entries {evictions:,} times (`nts_responder_ratelimit_evictions_total`). Bound: 16 MiB.

Flood (10 s, limit `ratelimitinterval 10ms`, `ratelimitburst 10`: 100/s, `ratelimitleak 25`):
one source sends {fl['sent']:,} requests (1,000/s, 10x the limit) while 1,000 other source
addresses send 1 a second each ({nm['sent']:,} in all).

| | sent | answered (time) | KoD RATE | silence |
| --- | --- | --- | --- | --- |
| the 1,000 normal sources | {nm['sent']:,} | {nm['valid']:,} | 0 | {nm_lost:,} lost |
| the flooder | {fl['sent']:,} | {fl_answers:,} (nts-bench: {fl['valid']:,}; limit: {10 + 100 * 10:,}) | {flood['kod']:,} ({100 * flood['kod'] / max(flood['limited'], 1):.1f} % of {flood['limited']:,} over the limit; configured 25 %) | {flood['limited'] - flood['kod']:,} |
"""
print(out)
text = open(doc).read()
begin, end = "<!-- ratelimit:begin -->", "<!-- ratelimit:end -->"
if begin not in text:
    text = text.rstrip("\n") + "\n\n## Rate limiting\n\n" + begin + "\n" + end + "\n"
a, b = text.index(begin) + len(begin), text.index(end)
open(doc, "w").write(text[:a] + "\n" + out + text[b:])
print("wrote", doc)
PY
