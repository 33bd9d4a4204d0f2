#!/usr/bin/env python3
"""xdp_bench.py: run by bench/xdp.sh (which sets up the namespaces and the
servers). For each server in $SERVERS (name=pid=ntp_addr=ke_addr, the
responder's mode switched by bench/xdp.sh between runs via $MODE_CMD),
runs nts-bench --max for plain and NTS, $REPS trials, and prints one JSON
line per run: responses, elapsed, the server process's CPU seconds and the
busy CPU seconds of the whole machine (/proc/stat: both cores, softirq
included, the generator too)."""
import json, os, shlex, subprocess, sys

E = os.environ
BENCH = shlex.split(E["BENCH"])
TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    with open("/proc/%s/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return int(v[11]) + int(v[12])


def machine_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4]  # all but idle and iowait


def run(name, pid, args):
    c0, m0 = proc_cpu(pid), machine_busy()
    out = subprocess.run(BENCH + args[:1] + ["--allow-nonloopback", "10.89.0.0/24"] + args[1:] + ["--json"], capture_output=True, text=True, check=True)
    c1, m1 = proc_cpu(pid), machine_busy()
    j = json.loads(out.stdout.strip().splitlines()[-1])
    s = j["steps"][0]
    return {"server": name, "valid": s["valid"], "elapsed_s": s["elapsed_s"],
            "responses_per_s": s["responses_per_s"], "server_cpu_s": (c1 - c0) / TICK,
            "machine_cpu_s": (m1 - m0) / TICK, "generator_cpu_pct": s["generator_cpu_pct"]}


name, pid, ntp, ke = sys.argv[1:5]
dur = E.get("DUR", "5")
for kind in ("plain", "nts"):
    if kind == "plain":
        args = ["ntp", "--max", "--duration", dur, "--ports", "16", ntp]
    else:
        args = ["nts", "--max", "--duration", dur, "--ports", "16", "--sessions", "8",
                "--verify-every", "16", "--aead", "15", "--ntp", ntp, ke]
    r = run(name, pid, args)
    r["kind"] = kind
    print(json.dumps(r), flush=True)
