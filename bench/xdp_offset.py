#!/usr/bin/env python3
"""xdp_offset.py: run by bench/xdp.sh (part 3). The client-observed offset
at 50 % load, socket mode against AF_XDP mode on the same veth pair: both
responders run at once (AF_XDP on NTP_XDP, sockets on NTP_SOCK, the XDP
program passing that port to the kernel), pinned to the same CPU. First
each mode's own saturation rate (nts-bench --max, median of $REPS trials,
modes and kinds interleaved), then $REPS interleaved trials at half of it
with kernel T1/T4 timestamps (--tx-timestamps). Prints one JSON line per
trial: {"part": "cap"|"offset", "mode", "kind", "step"}."""
import json, os, shlex, statistics, subprocess, sys

E = os.environ
BENCH = shlex.split(E["BENCH"])
REPS = int(E.get("REPS", "3"))
DUR = E.get("OFFSET_DUR", "3")
ntp = {"socket": sys.argv[1], "xdp": sys.argv[2]}
ke = sys.argv[3]


def run(mode, kind, rate):
    if kind == "plain":
        args = ["ntp", "--allow-nonloopback", "10.89.0.0/24", "--ports", "16", ntp[mode]]
    else:
        args = ["nts", "--allow-nonloopback", "10.89.0.0/24", "--ports", "16", "--sessions",
                "8", "--verify-every", "4", "--aead", "15", "--ntp", ntp[mode], ke]
    args[1:1] = ["--duration", DUR] + (["--max"] if rate is None else
                                        ["--rate", "%d" % rate, "--tx-timestamps"])
    out = subprocess.run(BENCH + args + ["--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["steps"][0]


cap = {}
for rep in range(REPS):
    for kind in ("plain", "nts"):
        for mode in ("socket", "xdp"):
            s = run(mode, kind, None)
            cap.setdefault((mode, kind), []).append(s["responses_per_s"])
            print(json.dumps({"part": "cap", "mode": mode, "kind": kind, "step": s}), flush=True)
for rep in range(REPS):
    for kind in ("plain", "nts"):
        for mode in ("socket", "xdp"):
            rate = statistics.median(cap[(mode, kind)]) / 2
            s = run(mode, kind, rate)
            print(json.dumps({"part": "offset", "mode": mode, "kind": kind, "step": s}),
                  flush=True)
