#!/bin/sh
# bench/xdp.sh: nts-responder's AF_XDP mode against its socket mode and
# chronyd, over a veth pair between two network namespaces (native XDP on
# the server's end, copy mode: veth has no zero-copy). Server processes on
# CPU 0, nts-bench on CPU 1. Two parts:
#
# 1. Throughput: nts-bench --max, plain and NTS (AEAD 15), 3 trials per
#    server; responses per server-process CPU-second and per machine
#    CPU-second (both cores busy time from /proc/stat: softirq, the
#    generator and the veth's receive work included), median and range.
#    Over veth the receive side's kernel work (the XDP program, or the UDP
#    stack in socket mode) runs in softirq on the sender's CPU, i.e. the
#    generator's: the per-process figure leaves it out in every mode,
#    the machine figure counts it.
# 2. Receive timestamp error (docs/xdp.md): paced plain requests carrying
#    the client's send time; client and server share CLOCK_REALTIME, so
#    T2 - T1 shows where each mode takes T2.
# 3. Client-observed offset at 50 % load (bench/xdp_offset.py): socket mode
#    and AF_XDP mode on the same veth pair, each at half its own
#    saturation rate, plain and NTS, REPS interleaved trials with kernel T1
#    and T4 (nts-bench --tx-timestamps); median and range.
#
# Parts 1 and 2 write between the xdp markers of docs/benchmarks.md, part 3
# between the xdp-offset markers of docs/xdp.md. PARTS picks parts.
#   bench/xdp.sh          (root)
#   BUILD=build-bench DUR=5 REPS=3 N=2000 bench/xdp.sh
#   PARTS=offset OFFSET_DUR=3 bench/xdp.sh
set -eu
cd "$(dirname "$0")/.."
SRC=$PWD
BUILD=${BUILD:-$SRC/build}
export BUILD SRC
REPS=${REPS:-3}
N=${N:-2000}
PARTS=${PARTS:-throughput tserr offset}
export REPS
has_part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
export DUR=${DUR:-5}
. "$SRC/tests/e2e/lib.sh"
command -v chronyd >/dev/null || skip "no chronyd"
BENCHBIN=$BUILD/tools/nts-bench
add_host srv
add_host cl
link_pair srv cl
plain_keys
make_pki ke "IP:10.89.0.1"
cat >"$T/ke.conf" <<CONF
listen 10.89.0.1:4460
cert $T/ke.pem $T/ke.key
keyfile $T/ke.keys
deployment $T/keyhost/deployment.pub
ntpserver4 10.89.0.1
workers 1
maxpersource 10000
metrics 127.0.0.1:9125
loglevel warning
CONF
bg srv ke taskset -c 0 "$KESERVER" -c "$T/ke.conf"
wait_metrics srv 9125
mkdir -p "$T/chrony"
chmod 777 "$T/chrony"
cat >"$T/chrony.conf" <<CONF
port 1123
ntsport 14460
bindaddress 10.89.0.1
ntsserverkey $T/ke.key
ntsservercert $T/ke.pem
ntsprocesses 0
local stratum 1
allow 10.89.0.0/24
pidfile $T/chrony/chronyd.pid
driftfile $T/chrony/drift
ntsdumpdir $T/chrony
cmdport 0
CONF
BENCH="taskset -c 1 ip netns exec $P-cl $BENCHBIN"
export BENCH
: >"$T/runs.json"
resp_start() { # MODE [PORT METRICS]
	{
		echo "listen 10.89.0.1:${2:-123}"
		echo "workers 1"
		echo "keyfile $T/responder.keys"
		echo "deployment $T/keyhost/deployment.pub"
		echo "syncsource static 1 BNCH"
		echo "metrics 127.0.0.1:${3:-9124}"
		echo "loglevel warning"
		[ "$1" = xdp ] && echo "xdp eth0"
	} >"$T/resp-$1.conf"
	bg srv "resp-$1" taskset -c 0 "$RESPONDER" -c "$T/resp-$1.conf"
	RP=$LAST
	wait_metrics srv "${3:-9124}"
}
has_part throughput || REPS_TP=0
for rep in $(seq "${REPS_TP:-$REPS}"); do
	for mode in socket xdp; do
		resp_start $mode
		python3 "$SRC/bench/xdp_bench.py" "$mode" "$RP" 10.89.0.1:123 10.89.0.1:4460 >>"$T/runs.json"
		kill "$RP"
		wait "$RP" 2>/dev/null || :
	done
	bg srv chronyd taskset -c 0 chronyd -x -u root -d -f "$T/chrony.conf"
	CP=$LAST
	i=0
	until nsx cl "$BENCHBIN" ke --allow-nonloopback 10.89.0.0/24 --count 1 --timeout 1 10.89.0.1:14460 >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 50 ] && fail "chronyd's NTS-KE server did not come up"
		sleep 0.2
	done
	CPID=$(cat "$T/chrony/chronyd.pid")
	python3 "$SRC/bench/xdp_bench.py" chronyd "$CPID" 10.89.0.1:1123 10.89.0.1:14460 >>"$T/runs.json"
	kill "$CP"
	wait "$CP" 2>/dev/null || :
done
TS=""
for mode in socket xdp; do
	has_part tserr || break
	resp_start $mode
	TS="$TS$mode: $(nsx cl taskset -c 1 python3 "$SRC/bench/xdp_tserr.py" 10.89.0.1 "$N")
"
	kill "$RP"
	wait "$RP" 2>/dev/null || :
done
printf '%s' "$TS"
INFO="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r), $(date -u +%Y-%m-%d), load average before: $LOADAVG"
if has_part offset; then
	# both at once on the same veth: AF_XDP on port 123, sockets on 1124
	# (the program passes that port to the kernel), both on CPU 0
	resp_start xdp 123 9124
	XP=$RP
	resp_start socket 1124 9127
	SP=$RP
	python3 "$SRC/bench/xdp_offset.py" 10.89.0.1:1124 10.89.0.1:123 10.89.0.1:4460 >"$T/offset.json"
	[ "$(nsmetric srv 9124 'xdp_packets_total\{dir="rx"')" -gt 0 ] || fail "the AF_XDP responder saw no packets"
	# which T2 the AF_XDP responder's packets got (per packet, over the run)
	T2SRC=""
	for s in hardware program batch; do
		T2SRC="$T2SRC${T2SRC:+, }$s $(nsmetric srv 9124 "rx_timestamps_total\\{source=\"$s\"")"
	done
	# and why the batch time, where any
	for r in no_metadata no_timestamp program; do
		n=$(nsmetric srv 9124 "rx_timestamp_batch_total\\{reason=\"$r\"")
		[ "$n" = 0 ] || T2SRC="$T2SRC (reason $r: $n)"
	done
	export T2SRC
	kill "$XP" "$SP"
	wait "$XP" "$SP" 2>/dev/null || :
	python3 - "$T/offset.json" "$SRC/docs/xdp.md" "$INFO, $(date -u +%H:%M) UTC" "$REPS" "${OFFSET_DUR:-3}" <<'PY'
import json, os, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
doc, info, reps, dur = sys.argv[2:6]
m = statistics.median
def get(part, mode, kind):
    return [r["step"] for r in runs if r["part"] == part and r["mode"] == mode and r["kind"] == kind]
def rng(v, f="%.1f"):
    return (f + " (" + f + " to " + f + ")") % (m(v), min(v), max(v))
rows = ["| load | mode | saturation/s | offered/s | loss % | offset p1 (us) | offset p50 (us) | "
        "offset p99 (us) | delay p50 / p99 (us) | T3-T2 p50 / p99 (us) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
src = set()
for kind in ("plain", "nts"):
    for mode in ("socket", "xdp"):
        c, o = get("cap", mode, kind), get("offset", mode, kind)
        src |= {"T1 %s, T4 %s" % (x["t1"], x["t4"]) for x in o}
        rows.append("| %s 50%% | %s | %.0f | %.0f | %.2f | %s | %s | %s | %.1f / %.1f | %.1f / %.0f |" % (
            "NTS" if kind == "nts" else "plain",
            {"socket": "sockets (kernel T2)", "xdp": "AF_XDP (T2 below)"}[mode],
            m([x["responses_per_s"] for x in c]), m([x["target_rate"] for x in o]),
            m([x["loss_pct"] for x in o]),
            rng([x["offset_us"]["p1"] for x in o]), rng([x["offset_us"]["p50"] for x in o]),
            rng([x["offset_us"]["p99"] for x in o]),
            m([x["delay_us"]["p50"] for x in o]), m([x["delay_us"]["p99"] for x in o]),
            m([x["proc_us"]["p50"] for x in o]), m([x["proc_us"]["p99"] for x in o])))
text = "\n".join([
    "<!-- xdp-offset:begin -->",
    "Generated by `bench/xdp.sh` (part 3; %s). Both responders at once on the same veth pair "
    "(AF_XDP mode on port 123, socket mode on 1124, which the program passes to the kernel), "
    "pinned to CPU 0, nts-bench on CPU 1; each mode at half of its own saturation rate "
    "(nts-bench --max, median of %s trials), %s interleaved trials of %s s, median (range over "
    "the trials). Sources: %s (`--tx-timestamps`); the AF_XDP responder's T2, packets by "
    "source (nts_responder_xdp_rx_timestamps_total): %s. %s" % (
        info, reps, reps, dur, "; ".join(sorted(src)), os.environ.get("T2SRC", "?"),
        "The machine was shared with other work (NTS_BENCH_BUSY=1)." if
        os.environ.get("NTS_BENCH_BUSY") == "1" else
        "Nothing else ran on the machine."),
    "",
    ] + rows + ["<!-- xdp-offset:end -->"])
d = open(doc).read()
B, N = "<!-- xdp-offset:begin -->", "<!-- xdp-offset:end -->"
if B in d and N in d:
    d = d[:d.index(B)] + text + d[d.index(N) + len(N):]
else:
    d = d.rstrip("\n") + "\n\n" + text + "\n"
open(doc, "w").write(d)
print(text)
PY
fi
has_part throughput || exit 0
python3 - "$T/runs.json" "$SRC/docs/benchmarks.md" "$INFO" "$TS" "$REPS" "$DUR" <<'PY'
import json, os, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
doc, info, ts, reps, dur = sys.argv[2:7]
def fmt(v):
    return "%.0f (%.0f-%.0f)" % (statistics.median(v), min(v), max(v))
rows = ["| server | load | responses/s | per server-process CPU-s | per machine CPU-s | server CPU % |",
        "|---|---|---|---|---|---|"]
for kind in ("plain", "nts"):
    for s in ("xdp", "socket", "chronyd"):
        r = [x for x in runs if x["server"] == s and x["kind"] == kind]
        if not r:
            continue
        rows.append("| %s | %s | %s | %s | %s | %.0f |" % (
            {"xdp": "nts-responder, AF_XDP", "socket": "nts-responder, sockets",
             "chronyd": "chronyd"}[s], kind,
            fmt([x["responses_per_s"] for x in r]),
            fmt([x["valid"] / x["server_cpu_s"] if x["server_cpu_s"] else 0 for x in r]),
            fmt([x["valid"] / x["machine_cpu_s"] if x["machine_cpu_s"] else 0 for x in r]),
            statistics.median([100 * x["server_cpu_s"] / x["elapsed_s"] for x in r])))
# ratios against chronyd per server-process CPU-second: of the medians, and
# the range of the per-trial ratios (trial i of each server ran in round i)
def per_cpu(x):
    return x["valid"] / x["server_cpu_s"] if x["server_cpu_s"] else 0
ratios = ["", "| per server-process CPU-s against chronyd | plain | nts |", "|---|---|---|"]
for s in ("xdp", "socket"):
    cells = []
    for kind in ("plain", "nts"):
        ours = [per_cpu(x) for x in runs if x["server"] == s and x["kind"] == kind]
        theirs = [per_cpu(x) for x in runs if x["server"] == "chronyd" and x["kind"] == kind]
        pairs = [a / b for a, b in zip(ours, theirs) if b]
        if not pairs:
            cells.append("")
            continue
        cells.append("%.2fx (%.2f-%.2f)" % (statistics.median(ours) / statistics.median(theirs),
                                            min(pairs), max(pairs)))
    ratios.append("| %s | %s | %s |" % (
        {"xdp": "nts-responder, AF_XDP", "socket": "nts-responder, sockets"}[s], *cells))
text = "\n".join([
    "<!-- xdp:begin -->",
    "## AF_XDP mode (bench/xdp.sh)",
    "",
    "%s. veth pair between two network namespaces, native XDP on the server's end (copy mode), "
    "servers pinned to CPU 0, nts-bench --max on CPU 1, %s trials of %s s each, median "
    "(range). %s Over veth the receive side's kernel work (the XDP program or the UDP stack) runs "
    "in softirq on the generator's CPU, so the per-process column leaves it out in every mode; "
    "the per-machine column (both cores' busy time, generator included) counts everything." %
    (info, reps, dur,
     "The machine was shared with other work and noisy (NTS_BENCH_BUSY=1): treat differences "
     "under ~30 % as noise." if os.environ.get("NTS_BENCH_BUSY") == "1" else
     "Nothing else ran on the machine; the ranges are this VM's trial-to-trial noise."),
    "",
    ] + rows + ratios + [
    "",
    "Receive timestamp (paced plain requests, T2 - T1 = server receive timestamp minus client "
    "send time, same clock; see docs/xdp.md):",
    "",
    "```",
    ts.strip(),
    "```",
    "<!-- xdp:end -->"])
d = open(doc).read()
if "<!-- xdp:begin -->" in d:
    a = d.index("<!-- xdp:begin -->")
    b = d.index("<!-- xdp:end -->") + len("<!-- xdp:end -->")
    d = d[:a] + text + d[b:]
else:
    d = d.rstrip("\n") + "\n\n" + text + "\n"
open(doc, "w").write(d)
print(text)
PY
