#!/usr/bin/env python3
"""bench/compare.py: the measurement half of bench/compare.sh (which starts
the servers and exports their ports and PIDs). Runs the same nts-bench loads
against ours and chronyd, prints a markdown table with ratios and rewrites
docs/benchmarks.md. Not meant to be run by hand."""
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time

E = os.environ
BENCH = shlex.split(E["BENCH"])
SRC = E["SRC"]
REPS = 3
DUR = "2"
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
        R[s][kind + "_eff"] = med([x["valid"] / x["server_cpu_s"] if x["server_cpu_s"] else 0
                                   for x in runs[s]])
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

# latency at half of each server's own maximum
for kind in ("ntp", "nts"):
    for s, v in SERVERS.items():
        rate = "%d" % max(1, R[s][kind + "_max"] / 2)
        if kind == "ntp":
            args = ["ntp", "--rate", rate, "--duration", DUR, "--ports", PORTS, v["ntp"]]
        else:
            args = ["nts", "--rate", rate, "--duration", DUR, "--ports", PORTS, "--sessions", "8",
                    "--verify-every", "4", "--aead", "15", v["ke"]]
        x = bench(s, args)["steps"][0]
        R[s][kind + "_half"] = x
        R[s][kind + "_half_rate"] = int(rate)
    log("%s at half load: T3-T2 p99 ours %.1f us, chronyd %.1f us" % (
        kind, R["ours"][kind + "_half"]["proc_us"]["p99"],
        R["chronyd"][kind + "_half"]["proc_us"]["p99"]))


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
    ("Plain responses per server CPU-second (server CPU %%: ours %.0f, chronyd %.0f)" %
     (o["ntp_cpu"], c["ntp_cpu"]), "%.0f" % o["ntp_eff"], "%.0f" % c["ntp_eff"],
     ratio(o["ntp_eff"], c["ntp_eff"]), ""),
    ("NTS responses per server CPU-second (server CPU %%: ours %.0f, chronyd %.0f)" %
     (o["nts_cpu"], c["nts_cpu"]), "%.0f" % o["nts_eff"], "%.0f" % c["nts_eff"],
     ratio(o["nts_eff"], c["nts_eff"]), ""),
    ("NTS responses/s, max, ours with AEAD 30 (what chrony 4.4+ clients negotiate with us)",
     "%.0f" % med(o["nts30_runs"]), "", ratio(med(o["nts30_runs"]), c["nts_max"]), ""),
]
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


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, shell=True).stdout.strip()
    except OSError:
        return "?"


cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
machine = [
    "- CPUs: %s (%s)" % (sh("nproc"), cpu),
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
gen = ", ".join("%s %d%%" % g for g in gen_cpu)
runs = ("Flood medians: plain ours %.0f, chronyd %.0f; NTS ours %.0f, chronyd %.0f. "
        % (o["ntp_flood"], c["ntp_flood"], o["nts_flood"], c["nts_flood"]) +
        "KE handshakes/s per run: ours %s, chronyd %s. Plain max per run: ours %s, chronyd %s. "
        "NTS max per run (AEAD 15): ours %s, chronyd %s; ours with AEAD 30: %s." % (
            o["ke_runs"], c["ke_runs"], o["ntp_runs"], c["ntp_runs"], o["nts_runs"],
            c["nts_runs"], [round(x) for x in o["nts30_runs"]]))

doc = """# Benchmarks

Generated by `bench/compare.sh`; do not edit by hand (re-run the script).

Our `nts-ke-server` (1 worker) and `nts-responder` (1 worker, `syncsource static`) and
Debian's `chronyd` (`-x`, NTS server in its main process with `ntsprocesses 0`, no
`ratelimit`, `local stratum 1`) run on the same machine in the same run, each pinned to
CPU 0 with `taskset`; the load generator `nts-bench` is pinned to CPU 1. Every load is
the same for both servers. Throughput figures are medians of {reps} runs of {dur} s,
servers interleaved run by run.

## Results

{table}

- NTS-KE: full TLS 1.3 handshakes (X25519, no resumption, ALPN `ntske/1`), every response
  validated (records, AEAD, exactly 8 cookies, key export); certificates not verified by
  the generator (same for both).
- NTS: AEAD 15 (AES-SIV-CMAC-256) for both servers, since chronyd 4.3 chooses it; {sessions} NTS-KE sessions, {templates} pre-built requests **replayed** (stateless
  responders answer replays); every response matched to its request by Unique Identifier
  and 1 in 16 (max) or 1 in 4 (half load) fully verified (S2C authenticator opened,
  cookies counted, origin timestamp). Plain: every response checked.
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
           chrony_curve=curve_table("chronyd"), ours_curve=curve_table("ours"),
           chrony_nts_curve=curve_table("chronyd", "nts"), ours_nts_curve=curve_table("ours", "nts"),
           commands="\n".join(commands), machine="\n".join(machine))

with open(os.path.join(SRC, "docs", "benchmarks.md"), "w") as f:
    f.write(doc)
print(table)
print()
print("chronyd plain NTP loss curve:")
print(curve_table("chronyd"))
print()
print("docs/benchmarks.md rewritten (%.0f s)" % (time.time() - float(E["START"])))
