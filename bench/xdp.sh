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
#
# Writes the results between the xdp markers of docs/benchmarks.md.
#   bench/xdp.sh          (root)
#   BUILD=build-bench DUR=5 REPS=3 N=2000 bench/xdp.sh
set -eu
cd "$(dirname "$0")/.."
SRC=$PWD
BUILD=${BUILD:-$SRC/build}
export BUILD SRC
REPS=${REPS:-3}
N=${N:-2000}
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
resp_start() { # MODE
	{
		echo "listen 10.89.0.1:123"
		echo "workers 1"
		echo "keyfile $T/responder.keys"
		echo "deployment $T/keyhost/deployment.pub"
		echo "syncsource static 1 BNCH"
		echo "metrics 127.0.0.1:9124"
		echo "loglevel warning"
		[ "$1" = xdp ] && echo "xdp eth0"
	} >"$T/resp-$1.conf"
	bg srv "resp-$1" taskset -c 0 "$RESPONDER" -c "$T/resp-$1.conf"
	RP=$LAST
	wait_metrics srv 9124
}
for rep in $(seq "$REPS"); do
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
	resp_start $mode
	TS="$TS$mode: $(nsx cl taskset -c 1 python3 "$SRC/bench/xdp_tserr.py" 10.89.0.1 "$N")
"
	kill "$RP"
	wait "$RP" 2>/dev/null || :
done
printf '%s' "$TS"
INFO="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r), $(date -u +%Y-%m-%d), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
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
    ] + rows + [
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
