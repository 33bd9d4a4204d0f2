#!/usr/bin/env python3
"""bench/compare.py: the measurement half of bench/compare.sh (which starts
the servers and exports their ports and PIDs). Runs the same nts-bench loads
against ours and chronyd, trials interleaved (ours, chronyd, ours, ...),
prints a markdown table with medians, ranges and ratios and rewrites its own
part of docs/benchmarks.md (between the compare:begin/compare:end markers;
the other sections are kept). Not meant to be run by hand."""
import json
import os
import platform
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import time

E = os.environ
BENCH = shlex.split(E["BENCH"])
SRC = E["SRC"]
REPS = int(E.get("TRIALS", "3"))  # TRIALS=1 for a quick trial of the script
DUR = E.get("DUR", "2")
LOADS = (0.5, 0.9)  # offset runs: fractions of each server's own capacity
KE_CONC = "64"
PORTS = "64"
SERVERS = {
    "ours": {"ke": "127.0.0.1:" + E["KE"], "ntp": "127.0.0.1:" + E["NTP"],
             "pid": E["RESP_PID"], "ke_pid": E["KE_PID"]},
    "chronyd": {"ke": "127.0.0.1:" + E["CKE"], "ntp": "127.0.0.1:" + E["CNTP"],
                "pid": E["CHRONY_PID"], "ke_pid": E["CHRONY_PID"]},
}
commands = []      # every nts-bench command line, for the document
failures = {"ours": 0, "chronyd": 0, "keyless": 0}
gen_cpu = []


def cpu_ticks(pid):
    """utime + stime of a process (all its threads), in clock ticks."""
    with open("/proc/%s/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


TICK = os.sysconf("SC_CLK_TCK")


def cpu_ticks_all(pids):
    return sum(cpu_ticks(p) for p in pids)


def bench(server, args):
    """Runs nts-bench with |args| (--json added); returns the parsed object
    with "server_cpu_s": the CPU time the serving process used meanwhile."""
    cmd = BENCH + args + ["--json"]
    shown = " ".join(["nts-bench"] + args + ["--json", "  #", server])
    if shown not in commands:
        commands.append(shown)
    if server == "keyless":
        pids = [E["KLKE_PID"], E["SIGNER_PID"]]
    else:
        pids = [SERVERS[server]["ke_pid" if args[0] == "ke" else "pid"]]
    t0 = cpu_ticks_all(pids)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    cpu = (cpu_ticks_all(pids) - t0) / float(TICK)
    if p.returncode not in (0, 1):
        sys.exit("compare: %s failed (exit %d): %s%s" % (" ".join(cmd), p.returncode,
                                                        p.stdout, p.stderr))
    j = json.loads(p.stdout.strip().splitlines()[-1])
    j["server_cpu_s"] = cpu
    if p.returncode == 1:
        failures[server] += 1
        print("  ! validation failures in: %s" % shown, file=sys.stderr)
    return j


def rss_kib(pid):
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def log(msg):
    print("[%5.1fs] %s" % (time.time() - float(E["START"]), msg), file=sys.stderr, flush=True)


def med(xs):
    return statistics.median(xs)


def rng(xs, fmt="%.0f"):
    """median (min-max) of |xs|"""
    if len(xs) == 1:
        return fmt % xs[0]
    return (fmt + " (" + fmt + "-" + fmt + ")") % (med(xs), min(xs), max(xs))


def ratios(a, b):
    """per-trial ratios of interleaved pairs"""
    return [x / y for x, y in zip(a, b) if y]


R = {s: {} for s in SERVERS}

# RSS with one client, before anything else reached the responders
for s, v in SERVERS.items():
    j = bench(s, ["nts", "--rate", "10", "--count", "1", "--ports", "1", "--aead", "15",
                  v["ke"]])
    R[s]["aead"] = j["aead"]
    R[s]["rss1"] = rss_kib(v["pid"])
log("RSS with one client: ours %d KiB, chronyd %d KiB; AEAD ours %d, chronyd %d" %
    (R["ours"]["rss1"], R["chronyd"]["rss1"], R["ours"]["aead"], R["chronyd"]["aead"]))

# NTS-KE handshakes/s at the same concurrency, servers interleaved per round
# (and ours keyless: the same KE server with its TLS key in nts-signer)
ke = {s: [] for s in SERVERS}
kl = []
for rep in range(REPS):
    for s, v in SERVERS.items():
        j = bench(s, ["ke", "--concurrency", KE_CONC, "--duration", DUR, v["ke"]])
        ke[s].append(j)
    kl.append(bench("keyless", ["ke", "--concurrency", KE_CONC, "--duration", DUR,
                                "127.0.0.1:" + E["KLKE"]]))
KL = {"ke": med([j["handshakes_per_s"] for j in kl]),
      "ke_eff": med([j["handshakes"] / j["server_cpu_s"] if j["server_cpu_s"] else 0
                     for j in kl]),
      "ke_cpu": med([100 * j["server_cpu_s"] / j["elapsed_s"] for j in kl]),
      "ke_gen": med([j["generator_cpu_pct"] for j in kl]),
      "ke_p50": med([j["latency_us"]["p50"] for j in kl]),
      "ke_p99": med([j["latency_us"]["p99"] for j in kl]),
      "ke_runs": [round(j["handshakes_per_s"]) for j in kl]}
for s in SERVERS:
    R[s]["ke"] = med([j["handshakes_per_s"] for j in ke[s]])
    R[s]["ke_p50"] = med([j["latency_us"]["p50"] for j in ke[s]])
    R[s]["ke_p99"] = med([j["latency_us"]["p99"] for j in ke[s]])
    R[s]["ke_fail"] = sum(j["failures"] for j in ke[s])
    R[s]["ke_runs"] = [round(j["handshakes_per_s"]) for j in ke[s]]
    # handshakes per CPU-second of the server: meaningful even when the
    # generator, not the server, is the limit
    R[s]["ke_eff"] = med([j["handshakes"] / j["server_cpu_s"] if j["server_cpu_s"] else 0
                          for j in ke[s]])
    R[s]["ke_cpu"] = med([100 * j["server_cpu_s"] / j["elapsed_s"] for j in ke[s]])
    R[s]["ke_gen"] = med([j["generator_cpu_pct"] for j in ke[s]])
    gen_cpu.append(("ke " + s, max(j["generator_cpu_pct"] for j in ke[s])))
log("KE handshakes/s: ours %s, chronyd %s, ours keyless %s" % (R["ours"]["ke_runs"],
                                                             R["chronyd"]["ke_runs"],
                                                             KL["ke_runs"]))

# maximum throughput, plain and NTS
for kind in ("ntp", "nts"):
    runs = {s: [] for s in SERVERS}
    for rep in range(REPS):
        for s, v in SERVERS.items():
            if kind == "ntp":
                args = ["ntp", "--max", "--duration", DUR, "--ports", PORTS, v["ntp"]]
            else:
                args = ["nts", "--max", "--duration", DUR, "--ports", PORTS, "--sessions", "8",
                        "--verify-every", "16", "--aead", "15", v["ke"]]
            j = bench(s, args)
            j["steps"][0]["server_cpu_s"] = j["server_cpu_s"]
            runs[s].append(j["steps"][0])
            if kind == "nts" and s == "ours":
                # what chrony 4.4+ clients get from us: AEAD 30
                args[-2] = "30"
                R[s].setdefault("nts30_runs", []).append(
                    bench(s, args)["steps"][0]["responses_per_s"])
    for s in SERVERS:
        R[s][kind + "_max"] = med([x["responses_per_s"] for x in runs[s]])
        R[s][kind + "_runs"] = [round(x["responses_per_s"]) for x in runs[s]]
        R[s][kind + "_sent"] = med([x["sent_per_s"] for x in runs[s]])
        R[s][kind + "_loss"] = med([x["loss_pct"] for x in runs[s]])
        R[s][kind + "_effs"] = [x["valid"] / x["server_cpu_s"] if x["server_cpu_s"] else 0
                                for x in runs[s]]
        R[s][kind + "_eff"] = med(R[s][kind + "_effs"])
        R[s][kind + "_cpu"] = med([100 * x["server_cpu_s"] / x["elapsed_s"] for x in runs[s]])
        gen_cpu.append(("%s max %s" % (kind, s), max(x["generator_cpu_pct"] for x in runs[s])))
    log("%s max responses/s: ours %s, chronyd %s" % (kind, R["ours"][kind + "_runs"],
                                                    R["chronyd"][kind + "_runs"]))

# loss curves from a quarter to three times each server's flood maximum and
# up to the generator's flood send rate
# (plain NTP: shown in the document; NTS too). A server may answer more
# when paced than when flooded, so the throughput rows take the better of
# the flood median and the best paced step.
FACTORS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
for kind in ("ntp", "nts"):
    for s, v in SERVERS.items():
        m = R[s][kind + "_max"]
        steps = [m * f for f in FACTORS]
        # plus the generator's own flood send rate, so that the curve goes
        # past what the server answers even if a noisy flood run made |m|
        # too low
        if R[s][kind + "_sent"] > steps[-1] * 1.1:
            steps.append(R[s][kind + "_sent"])
        rates = ",".join("%d" % x for x in steps)
        if kind == "ntp":
            args = ["ntp", "--rates", rates, "--duration", "1", "--ports", PORTS, v["ntp"]]
        else:
            args = ["nts", "--rates", rates, "--duration", "1", "--ports", PORTS, "--sessions",
                    "8", "--verify-every", "16", "--aead", "15", v["ke"]]
        R[s][kind + "_curve"] = bench(s, args)["steps"]
        R[s][kind + "_flood"] = m
        best = max(x["responses_per_s"] for x in R[s][kind + "_curve"])
        R[s][kind + "_max"] = max(m, best)
log("loss curves done")

# client-observed offset and delay (and T3-T2, RTT) at 50% and 90% of each
# server's own capacity, trials interleaved
def load_args(kind, v, rate):
    if kind == "ntp":
        return ["ntp", "--rate", rate, "--duration", DUR, "--ports", PORTS, "--tx-timestamps",
                v["ntp"]]
    return ["nts", "--rate", rate, "--duration", DUR, "--ports", PORTS, "--sessions", "8",
            "--verify-every", "4", "--aead", "15", "--tx-timestamps", v["ke"]]


OFF = {s: {} for s in SERVERS}
for rep in range(REPS):
    for kind in ("nts", "ntp"):
        for load in LOADS:
            for s, v in SERVERS.items():
                rate = "%d" % max(1, R[s][kind + "_max"] * load)
                x = bench(s, load_args(kind, v, rate))["steps"][0]
                OFF[s].setdefault((kind, load), []).append(x)
for s in SERVERS:
    for kind in ("nts", "ntp"):
        xs = OFF[s][(kind, 0.5)]
        R[s][kind + "_half"] = {
            "proc_us": {p: med([x["proc_us"][p] for x in xs]) for p in ("p50", "p99")},
            "rtt_us": {p: med([x["rtt_us"][p] for x in xs]) for p in ("p50", "p99")},
            "loss_pct": med([x["loss_pct"] for x in xs])}
        R[s][kind + "_half_rate"] = int(xs[0]["target_rate"])
for kind in ("nts", "ntp"):
    log("%s offset p50/p99 at half load (median of %d): ours %.1f/%.1f us, chronyd %.1f/%.1f us"
        % (kind, REPS, *[med([x["offset_us"][p] for x in OFF[s][(kind, 0.5)]])
                         for s in SERVERS for p in ("p50", "p99")]))


# the same plain NTP flood from an independent generator: trafgen
# (netsniff-ng) on CPU 1 injects one hand-built NTPv4 client packet
# through a packet socket on lo, as fast as it can; responses land on a
# sink socket that never reads (the kernel counts what it drops), so
# answered = dropped + still queued. Packets that enter lo from a packet
# socket take the input route lookup, which drops a 127.0.0.1 source unless
# lo has route_localnet and accept_local: both set for these runs only.
TRAFGEN = shutil.which("trafgen") or ("/usr/sbin/trafgen" if os.path.exists("/usr/sbin/trafgen")
                                      else None)
TG = {s: [] for s in SERVERS}
TG_WHY = ""


def sink_count(sock):
    """datagrams the sink received: the kernel's drop count plus the queue"""
    ino = os.fstat(sock.fileno()).st_ino
    drops = 0
    with open("/proc/net/udp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[9] == str(ino):
                drops = int(fields[-1])
    queued = 0
    sock.setblocking(False)
    try:
        while True:
            sock.recv(2048)
            queued += 1
    except BlockingIOError:
        pass
    return drops + queued


def trafgen_run(s, port, seconds):
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sink.bind(("127.0.0.1", 0))
    sport = sink.getsockname()[1]
    cfg = os.path.join(E["T"], "trafgen.cfg")
    with open(cfg, "w") as f:
        # only the fork pinned to CPU 1 sends (trafgen pins fork i to CPU i)
        f.write("cpu(1): { eth(da=00:00:00:00:00:00, sa=00:00:00:00:00:00, type=0x0800), "
                "ipv4(saddr=127.0.0.1, daddr=127.0.0.1, ttl=64, df), "
                "udp(sp=%d, dp=%d), 0x23, 0x00, 0x06, 0x20, fill(0x00, 36), "
                "fill(0x5a, 8) }\n" % (sport, port))
    cmd = ["timeout", "-s", "INT", str(seconds), TRAFGEN, "-o", "lo", "-i", cfg, "-P", "2"]
    shown = "trafgen -o lo -i trafgen.cfg -P 2  # %s, %d s (see bench/compare.py)" % (s, seconds)
    if shown not in commands:
        commands.append(shown)
    pid = SERVERS[s]["pid"]
    t0 = cpu_ticks(pid)
    p = subprocess.run(cmd, capture_output=True, text=True)
    time.sleep(0.2)  # responses still in flight
    cpu = (cpu_ticks(pid) - t0) / float(TICK)
    answered = sink_count(sink)
    sink.close()
    sent = 0
    for line in p.stdout.splitlines() + p.stderr.splitlines():
        if "packets outgoing" in line:
            sent = int(line.split()[0])
    return {"answered": answered, "sent": sent, "cpu": cpu, "seconds": seconds,
            "eff": answered / cpu if cpu else 0}


def sysctl(name, value=None):
    path = "/proc/sys/" + name.replace(".", "/")
    with open(path) as f:
        old = f.read().strip()
    if value is not None:
        with open(path, "w") as f:
            f.write(value)
    return old


if TRAFGEN is None:
    TG_WHY = "trafgen (Debian package netsniff-ng) is not installed"
elif os.geteuid() != 0:
    TG_WHY = "trafgen needs root (a packet socket and two sysctls on lo)"
else:
    saved = {n: sysctl(n) for n in ("net.ipv4.conf.lo.route_localnet",
                                    "net.ipv4.conf.lo.accept_local")}
    try:
        for n in saved:
            sysctl(n, "1")
        for rep in range(REPS):
            for s, v in SERVERS.items():
                TG[s].append(trafgen_run(s, int(v["ntp"].rsplit(":", 1)[1]), 3))
    finally:
        for n, val in saved.items():
            sysctl(n, val)
    if min(x["answered"] for s in SERVERS for x in TG[s]) == 0:
        TG_WHY = "trafgen ran but a server answered nothing (see the log)"
    log("trafgen plain responses per server CPU-second: ours %s, chronyd %s" % (
        [round(x["eff"]) for x in TG["ours"]], [round(x["eff"]) for x in TG["chronyd"]]))


# where our responder's time goes at saturation (perf, cpu-clock: works
# without hardware counters), outside the trials
def profile(kind):
    data = os.path.join(E["T"], "perf-%s.data" % kind)
    rec = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-g", "-p",
                            SERVERS["ours"]["pid"], "-o", data, "--", "sleep", "3"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    v = SERVERS["ours"]
    if kind == "ntp":
        args = ["ntp", "--max", "--duration", "4", "--ports", PORTS, v["ntp"]]
    else:
        args = ["nts", "--max", "--duration", "4", "--ports", PORTS, "--sessions", "8",
                "--verify-every", "16", "--aead", "15", v["ke"]]
    subprocess.run(BENCH + args, capture_output=True)
    rec.wait()
    rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "symbol",
                          "-q", "--stdio", "-g", "none"], capture_output=True, text=True).stdout
    rows = []
    for line in rep.splitlines():
        f = line.split()
        if len(f) >= 3 and f[0].endswith("%") and f[1] in ("[k]", "[.]"):
            rows.append((float(f[0][:-1]), f[1], f[2]))
    return rows


PROF = {}
if shutil.which("perf") and os.geteuid() == 0:
    for kind in ("nts", "ntp"):
        PROF[kind] = profile(kind)
    log("profiles recorded")


# RSS after 1,048,576 distinct clients: 64 source ports x 16384 source
# addresses, 64 NTS sessions (512 distinct cookies), at 80% of the server's
# NTS maximum so that nearly every client reaches it
NCLIENTS = 64 * 16384
for s, v in SERVERS.items():
    # (at least 60k/s and at most 20 s, so a slow machine stays within the
    # time budget; the sent/answered counts are reported)
    rate = "%d" % max(60000, 0.8 * R[s]["nts_max"])
    x = bench(s, ["nts", "--rate", rate, "--count", str(NCLIENTS), "--duration", "20",
                  "--ports", "64", "--src-addrs", "16384", "--sessions", "64",
                  "--verify-every", "16", "--aead", "15", v["ke"]])["steps"][0]
    R[s]["rss1m"] = rss_kib(v["pid"])
    R[s]["rss1m_sent"] = x["sent"]
    R[s]["rss1m_recv"] = x["received"]
log("RSS after %d clients: ours %d KiB, chronyd %d KiB" % (NCLIENTS, R["ours"]["rss1m"],
                                                         R["chronyd"]["rss1m"]))


# ---- report ----
def ratio(a, b):
    return "%.2fx" % (a / b) if b else "n/a"


def ratio_cell(a, b):
    """ratio of the medians, and the range of the per-trial ratios"""
    r = ratios(a, b)
    cell = ratio(med(a), med(b))
    if len(r) > 1:
        cell += " (%.2f-%.2f)" % (min(r), max(r))
    return cell


def rate_cell(r, kind):
    """A max-throughput cell; when the server answered nearly everything the
    generator could send, the generator was the limit: a lower bound."""
    v = "%.0f" % r[kind + "_max"]
    return (">= " + v + " (generator-bound)") if r[kind + "_loss"] < 5 else v


def ke_cell(r):
    v = "%.0f" % r["ke"]
    return (v + " (generator-bound)") if r["ke_gen"] >= 90 and r["ke_cpu"] < 90 else v


def mib(k):
    return "%.1f" % (k / 1024.0)


o, c = R["ours"], R["chronyd"]
rows = [
    ("NTS-KE handshakes/s (concurrency %s; median of %d)" % (KE_CONC, REPS),
     ke_cell(o), ke_cell(c), ratio(o["ke"], c["ke"]), ""),
    ("NTS-KE handshakes per server CPU-second (server / generator CPU %%: ours %.0f / %.0f, "
     "chronyd %.0f / %.0f)" % (o["ke_cpu"], o["ke_gen"], c["ke_cpu"], c["ke_gen"]),
     "%.0f" % o["ke_eff"], "%.0f" % c["ke_eff"], ratio(o["ke_eff"], c["ke_eff"]), ""),
    ("NTS-KE handshakes/s, ours keyless (TLS key in nts-signer; ratio: keyless / in-process)",
     ke_cell(KL), "", ratio(KL["ke"], o["ke"]), ">= 85% of in-process"),
    ("NTS-KE handshakes per CPU-second, ours keyless (KE server + signer CPU %.0f%%; ratio: "
     "keyless / in-process)" % KL["ke_cpu"],
     "%.0f" % KL["ke_eff"], "", ratio(KL["ke_eff"], o["ke_eff"]), ">= 85% of in-process"),
    ("NTS-KE latency p50 / p99 (ms)", "%.1f / %.1f" % (o["ke_p50"] / 1e3, o["ke_p99"] / 1e3),
     "%.1f / %.1f" % (c["ke_p50"] / 1e3, c["ke_p99"] / 1e3), "", ""),
    ("Plain NTP responses/s, max (flood median of %d or best paced step)" % REPS, rate_cell(o, "ntp"),
     rate_cell(c, "ntp"), ratio(o["ntp_max"], c["ntp_max"]), ">= 2.5x"),
    ("NTS responses/s, max (AEAD 15 both, 0 placeholders; flood median of %d or best paced "
     "step)" % REPS,
     rate_cell(o, "nts"), rate_cell(c, "nts"), ratio(o["nts_max"], c["nts_max"]), ">= 3x"),
    ("Plain responses per server CPU-second, median (range) of %d (server CPU %%: ours %.0f, "
     "chronyd %.0f)" % (REPS, o["ntp_cpu"], c["ntp_cpu"]), rng(o["ntp_effs"]), rng(c["ntp_effs"]),
     ratio_cell(o["ntp_effs"], c["ntp_effs"]), ">= 1.45x"),
    ("NTS responses per server CPU-second, median (range) of %d (server CPU %%: ours %.0f, "
     "chronyd %.0f)" % (REPS, o["nts_cpu"], c["nts_cpu"]), rng(o["nts_effs"]), rng(c["nts_effs"]),
     ratio_cell(o["nts_effs"], c["nts_effs"]), ">= 1.6x"),
    ("NTS responses/s, max, ours with AEAD 30 (what chrony 4.4+ clients negotiate with us)",
     "%.0f" % med(o["nts30_runs"]), "", ratio(med(o["nts30_runs"]), c["nts_max"]), ""),
]
if TG["ours"] and not TG_WHY:
    rows.append(("Plain responses per server CPU-second, **independent generator** (trafgen "
                 "flood), median (range) of %d" % REPS,
                 rng([x["eff"] for x in TG["ours"]]), rng([x["eff"] for x in TG["chronyd"]]),
                 ratio_cell([x["eff"] for x in TG["ours"]], [x["eff"] for x in TG["chronyd"]]),
                 ">= 1.45x"))
else:
    rows.append(("Plain responses per server CPU-second, independent generator", "not run", "",
                 "", TG_WHY))
for kind, name in (("nts", "NTS"), ("ntp", "Plain")):
    oh, ch = o[kind + "_half"], c[kind + "_half"]
    rows.append(("%s T3-T2 p50 / p99 at half load (us)" % name,
                 "%.1f / %.1f" % (oh["proc_us"]["p50"], oh["proc_us"]["p99"]),
                 "%.1f / %.1f" % (ch["proc_us"]["p50"], ch["proc_us"]["p99"]),
                 ratio(oh["proc_us"]["p99"], ch["proc_us"]["p99"]),
                 "<= 20 us" if kind == "nts" else ""))
    rows.append(("%s RTT p50 / p99 at half load (us)" % name,
                 "%.0f / %.0f" % (oh["rtt_us"]["p50"], oh["rtt_us"]["p99"]),
                 "%.0f / %.0f" % (ch["rtt_us"]["p50"], ch["rtt_us"]["p99"]),
                 ratio(oh["rtt_us"]["p99"], ch["rtt_us"]["p99"]), ""))
    rows.append(("%s half load: offered rate / loss" % name,
                 "%d/s / %.2f%%" % (o[kind + "_half_rate"], oh["loss_pct"]),
                 "%d/s / %.2f%%" % (c[kind + "_half_rate"], ch["loss_pct"]), "", ""))
rows += [
    ("RSS after 1 client (MiB)", mib(o["rss1"]), mib(c["rss1"]), ratio(o["rss1"], c["rss1"]),
     "<= 16 MiB"),
    ("RSS after up to %d distinct clients (MiB; clients sent)" % NCLIENTS,
     "%s (%d)" % (mib(o["rss1m"]), o["rss1m_sent"]), "%s (%d)" % (mib(c["rss1m"]), c["rss1m_sent"]),
     ratio(o["rss1m"], c["rss1m"]), "<= 16 MiB, flat"),
    ("runs with validation failures", str(failures["ours"] + failures["keyless"]), str(failures["chronyd"]), "", "0"),
]
table = ["| Measurement | ours | chronyd | ours/chronyd | target |",
         "|---|---:|---:|---:|---|"]
table += ["| %s | %s | %s | %s | %s |" % r for r in rows]
table = "\n".join(table)


def curve_table(s, kind="ntp"):
    t = ["| offered/s | sent/s | answered/s | loss % | RTT p99 (us) | T3-T2 p99 (us) |",
         "|---:|---:|---:|---:|---:|---:|"]
    for x in R[s][kind + "_curve"]:
        t.append("| %s | %.0f | %.0f | %.1f | %.0f | %.1f |" % (
            x["target_rate"], x["sent_per_s"], x["responses_per_s"], x["loss_pct"],
            x["rtt_us"]["p99"], x["proc_us"]["p99"]))
    return "\n".join(t)


def offset_table():
    t = ["| load | server | offered/s | loss % | offset p1 / p50 / p99 (us) | offset p1, range "
         "(us) | delay p50 / p99 (us) | T3-T2 p99 (us) |",
         "|---|---|---:|---:|---:|---:|---:|---:|"]
    for kind, name in (("nts", "NTS"), ("ntp", "plain")):
        for load in LOADS:
            for s in SERVERS:
                xs = OFF[s][(kind, load)]

                def m(key, p):
                    return med([x[key][p] for x in xs])
                p1s = [x["offset_us"]["p1"] for x in xs]
                t.append("| %s %d%% | %s | %s | %.2f | %.1f / %.1f / %.1f | %.1f to %.1f | "
                         "%.1f / %.1f | %.0f |" % (
                             name, load * 100, s, xs[0]["target_rate"],
                             med([x["loss_pct"] for x in xs]), m("offset_us", "p1"),
                             m("offset_us", "p50"), m("offset_us", "p99"), min(p1s), max(p1s),
                             m("delay_us", "p50"), m("delay_us", "p99"), m("proc_us", "p99")))
    return "\n".join(t)


def ts_sources(key):
    return ", ".join(sorted(set(x[key] for s in SERVERS for xs in OFF[s].values() for x in xs)))


def profile_text():
    if not PROF:
        return "perf was not available (or not root): no profile in this run."
    out = []
    for kind, name in (("nts", "NTS (AEAD 15)"), ("ntp", "plain NTP")):
        rows = PROF[kind]
        k = sum(r[0] for r in rows if r[1] == "[k]")
        u = sum(r[0] for r in rows if r[1] == "[.]")
        out.append("%s at saturation: kernel %.0f %%, user space %.0f %% of samples; top 15:\n"
                   % (name, k, u))
        out.append("| % of samples | where | symbol |\n|---:|---|---|")
        for r in rows[:15]:
            out.append("| %.2f | %s | `%s` |" % (r[0], "kernel" if r[1] == "[k]" else "user",
                                                 r[2]))
        out.append("")
    return "\n".join(out)


def targets():
    """issue 14's targets against this run"""
    def off(s, p):
        return med([x["offset_us"][p] for x in OFF[s][("nts", 0.5)]])
    nts_r = med(o["nts_effs"]) / med(c["nts_effs"])
    ntp_r = med(o["ntp_effs"]) / med(c["ntp_effs"])
    p50, p1, p99 = off("ours", "p50"), off("ours", "p1"), off("ours", "p99")
    cp50, cp1, cp99 = off("chronyd", "p50"), off("chronyd", "p1"), off("chronyd", "p99")
    spread, cspread = max(abs(p1), abs(p99)), max(abs(cp1), abs(cp99))
    rss = max(o["rss1"], o["rss1m"]) / 1024.0
    flat = abs(o["rss1m"] - o["rss1"]) / 1024.0
    lines = [
        ("NTS responses per server CPU-second >= 1.6x chronyd's", "%.2fx" % nts_r,
         nts_r >= 1.6),
        ("plain responses per server CPU-second >= 1.45x chronyd's", "%.2fx" % ntp_r,
         ntp_r >= 1.45),
        ("NTS offset at 50 % load: |p50| <= 5 us", "%.1f us (chronyd %.1f)" % (p50, cp50),
         abs(p50) <= 5),
        ("NTS offset at 50 % load: p99 <= 50 us (and p1 >= -50 us)",
         "p1 %.1f, p99 %.1f us (chronyd %.1f, %.1f)" % (p1, p99, cp1, cp99), spread <= 50),
        ("NTS offset at 50 % load no worse than chronyd's (|p50| and max(|p1|, |p99|))",
         "%.1f / %.1f us against %.1f / %.1f" % (abs(p50), spread, abs(cp50), cspread),
         abs(p50) <= max(abs(cp50), 1.0) and spread <= cspread),
        ("RSS <= 16 MiB, flat from 1 to %d clients" % NCLIENTS,
         "%.1f MiB (1 client %.1f, after %d %.1f)" % (rss, o["rss1"] / 1024.0, NCLIENTS,
                                                     o["rss1m"] / 1024.0),
         rss <= 16 and flat <= 1),
    ]
    return "\n".join("- %s: %s, **%s**" % (t, v, "met" if ok else "missed")
                     for t, v, ok in lines)


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, shell=True).stdout.strip()
    except OSError:
        return "?"


cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
QUIET = E.get("BENCH_QUIET", "")
machine = [
    "- CPU: %s (%s CPUs online)" % (cpu, sh("nproc")),
    "- kernel: %s" % platform.release(),
    "- chrony: %s" % sh("chronyd --version"),
    "- commit: %s (%s)" % (sh("git -C %s rev-parse --short HEAD" % SRC),
                           "with local changes" if sh("git -C %s status --porcelain -- . ':!docs/benchmarks.md'" % SRC)
                           else "clean"),
    "- date: %s" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    "- load average before the run: %s%s" % (
        E.get("LOADAVG", "?"), "; servers and generator SCHED_FIFO (BENCH_RT=1)"
        if E.get("BENCH_RT") == "1" else ""),
    "- run time: %.0f s" % (time.time() - float(E["START"])),
]
if QUIET:
    machine.append("- machine: %s" % QUIET)
gen = ", ".join("%s %d%%" % g for g in gen_cpu)
runs = ("Flood medians: plain ours %.0f, chronyd %.0f; NTS ours %.0f, chronyd %.0f. "
        % (o["ntp_flood"], c["ntp_flood"], o["nts_flood"], c["nts_flood"]) +
        "KE handshakes/s per run: ours %s, chronyd %s. Plain max per run: ours %s, chronyd %s. "
        "NTS max per run (AEAD 15): ours %s, chronyd %s; ours with AEAD 30: %s." % (
            o["ke_runs"], c["ke_runs"], o["ntp_runs"], c["ntp_runs"], o["nts_runs"],
            c["nts_runs"], [round(x) for x in o["nts30_runs"]]))
if TG["ours"]:
    runs += (" trafgen per run (answered / sent / server CPU s): ours %s, chronyd %s." % (
        ["%d/%d/%.2f" % (x["answered"], x["sent"], x["cpu"]) for x in TG["ours"]],
        ["%d/%d/%.2f" % (x["answered"], x["sent"], x["cpu"]) for x in TG["chronyd"]]))

doc = """Generated by `bench/compare.sh` between the `compare:begin` and `compare:end` markers;
do not edit this part by hand (re-run the script). The sections after the end marker are
kept as they are.

Our `nts-ke-server` (1 worker) and `nts-responder` (1 worker, `syncsource static`) and
Debian's `chronyd` (`-x`, NTS server in its main process with `ntsprocesses 0`, no
`ratelimit`, `local stratum 1`) run on the same machine in the same run, each pinned to
CPU 0 with `taskset`; the load generator `nts-bench` is pinned to CPU 1. Every load is
the same for both servers. Each measurement is {reps} trials of {dur} s, servers
interleaved trial by trial (ours, chronyd, ours, ...); cells give the median and, where
it says so, the range (min-max) of the trials; a ratio's range is that of the per-trial
ratios (each trial of ours against the chronyd trial next to it).
{quiet}
## Results

{table}

### Issue 14's targets in this run

{targets}

- NTS-KE: full TLS 1.3 handshakes (X25519, no resumption, ALPN `ntske/1`), every response
  validated (records, AEAD, exactly 8 cookies, key export); certificates not verified by
  the generator (same for both).
- NTS: AEAD 15 (AES-SIV-CMAC-256) for both servers, since chronyd 4.3 chooses it; {sessions} NTS-KE sessions, {templates} pre-built requests **replayed** (stateless
  responders answer replays); every response matched to its request by Unique Identifier
  and 1 in 16 (max) or 1 in 4 (50 % and 90 % load) fully verified (S2C authenticator
  opened, cookies counted, origin timestamp). Plain: every response checked.
- Max throughput: open loop, as fast as the generator sends ({ports} source ports), on
  `sendmmsg`/`recvmmsg` batches of 64; "answered/s" counts valid responses. A server
  that answers nearly all (loss < 5%) of what one generator core sends is marked
  "generator-bound" (its figure is a lower bound; on loopback the sending core also pays
  for the kernel's receive path of every request). Generator
  send rates in the max runs: plain ours {ours_ntp_sent:.0f}/s, chronyd
  {chr_ntp_sent:.0f}/s; NTS ours {ours_nts_sent:.0f}/s, chronyd {chr_nts_sent:.0f}/s.
- Per server CPU-second: valid responses (or handshakes) divided by the CPU time the
  serving process used during the run (`/proc/PID/stat`), which still compares the servers
  when the generator is the limit (NTS-KE: client handshakes cost about as much as server
  ones, so one generator core may not saturate one server core). Kernel work done on the
  generator's core for the server (loopback delivery) is not in it, for either server.
- Independent generator: `trafgen` from Debian's netsniff-ng (not our code) floods one
  hand-built NTPv4 client request through a packet socket on `lo` from CPU 1; the
  responses go to a sink socket that never reads, and the kernel's drop count on it plus
  what is queued is the number answered. Plain NTP only: trafgen cannot do NTS-KE or
  authenticate. Debian has no ntpperf, and chronyd as a load generator is not practical.
- T3-T2 is the server's own processing time from the response (transmit minus receive
  timestamp); RTT is measured by the generator (user space to user space).
- RSS: `VmRSS` of the NTP-serving process (`nts-responder`; chronyd's single process)
  after one client, and after {nclients} distinct clients: 64 source ports x 16384 source
  addresses in 127.16.0.0/12 (one request each), 64 NTS sessions (512 distinct cookies),
  sent at 80% of each server's NTS maximum (at least 60000/s, at most 20 s; ours:
  {o_sent} sent / {o_recv} answered; chronyd: {c_sent} sent / {c_recv} answered). Our
  responder keeps no per-client state, so its RSS cannot grow with clients; chronyd keeps
  a bounded client log (`clientloglimit`, 512 KiB by default).
- {runs}
- Generator CPU (share of its core, highest run): {gen}.

## Client-observed offset and delay under load

What a client computes from each response: offset ((T2 - T1) + (T3 - T4)) / 2 and delay
(T4 - T1) - (T3 - T2), over every checked plain response and every fully verified NTS
response (1 in 4), at 50 % and 90 % of each server's own capacity (the "max" rows above).
The generator and the servers read the same clock, so the true offset is 0: what is left
is the server's timestamp error plus the generator's own. T1 is the kernel's software
transmit timestamp of the request (`nts-bench --tx-timestamps`: `SO_TIMESTAMPING`, taken
where loopback hands the packet to the receive path) and T4 the kernel's receive timestamp
of the response (`SO_TIMESTAMPNS`), so the generator's own delays (a request late in a
`sendmmsg` batch, a preemption) stay out; sources in this run: T1 {t1}, T4 {t4}. What is
left is the server's: T2 is its kernel receive timestamp, so a request's wait in the
socket buffer is in neither offset nor delay (only in T3-T2), and a server that reads T3
and then holds the response (for a batch, or descheduled) or takes long to hand it to the
kernel shows a negative offset of half that time, so the tail is at p1. Medians of {reps}
trials; the p1 range is over the trials.

{offsets}

## Profile of our responder at saturation

`perf record -e cpu-clock -g` on `nts-responder` for 3 s of an `nts-bench --max` run
(outside the trials; the VM has no hardware counters), `perf report --no-children --sort
symbol`.

{profile}
## Loss curve: chronyd, plain NTP

Offered rates from a quarter to three times chronyd's measured flood maximum, then the
generator's own flood send rate: `nts-bench` keeps sending at the offered rate while
chronyd's answers level off.

{chrony_curve}

## Loss curve: ours, plain NTP

{ours_curve}

## Loss curves, NTS (AEAD 15, 0 placeholders)

chronyd:

{chrony_nts_curve}

ours:

{ours_nts_curve}

## Command

```
bench/compare.sh
```

which runs (ports are chosen per run; `--json` output parsed by `bench/compare.py`):

```
{commands}
```

## Machine

{machine}
""".format(reps=REPS, dur=DUR, table=table, sessions="8 (64 for the RSS run)",
           templates=8192, ports=PORTS, ours_ntp_sent=o["ntp_sent"],
           chr_ntp_sent=c["ntp_sent"], ours_nts_sent=o["nts_sent"], chr_nts_sent=c["nts_sent"],
           nclients=NCLIENTS, o_sent=o["rss1m_sent"], o_recv=o["rss1m_recv"],
           c_sent=c["rss1m_sent"], c_recv=c["rss1m_recv"], runs=runs, gen=gen,
           targets=targets(), offsets=offset_table(), t1=ts_sources("t1"), t4=ts_sources("t4"),
           profile=profile_text(),
           quiet=("\n**%s**\n" % QUIET) if QUIET.startswith("noisy") else "",
           chrony_curve=curve_table("chronyd"), ours_curve=curve_table("ours"),
           chrony_nts_curve=curve_table("chronyd", "nts"), ours_nts_curve=curve_table("ours", "nts"),
           commands="\n".join(commands), machine="\n".join(machine))

BEGIN, END = "<!-- compare:begin -->", "<!-- compare:end -->"


def splice(old, part):
    """|old| with its compare section replaced by |part|; every other
    section (hand-run ones, other scripts' marked sections) is kept"""
    if BEGIN in old and END in old:
        i, j = old.index(BEGIN), old.index(END) + len(END)
        return old[:i] + BEGIN + "\n" + part + END + old[j:]
    # no markers yet: everything before the first section this script
    # does not write was its own
    keep = len(old)
    for head in ("\n## nts-microbench", "\n<!-- "):
        k = old.find(head)
        if k >= 0:
            keep = min(keep, k + 1)
    rest = old[keep:]
    return "# Benchmarks\n\n" + BEGIN + "\n" + part + END + ("\n\n" + rest if rest else "\n")


path = os.path.join(SRC, "docs", "benchmarks.md")
try:
    with open(path) as f:
        old = f.read()
except FileNotFoundError:
    old = ""
with open(path, "w") as f:
    f.write(splice(old, doc))
print(table)
print()
print(targets())
print()
print(offset_table())
print()
print("docs/benchmarks.md: compare section rewritten (%.0f s)" % (time.time() - float(E["START"])))
