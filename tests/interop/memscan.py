#!/usr/bin/env python3
"""memscan.py: which secrets are in which process's memory.

Reads every mapping of each process that has resident or swapped pages
(/proc/PID/smaps) through /proc/PID/mem (needs root or
CAP_SYS_PTRACE: the daemons set PR_SET_DUMPABLE 0) and looks for:

  tls     the TLS private key's secret scalar (openssl pkey -text), in
          big-endian and in reversed (little-endian limb) byte order;
  master  the imported master key of generation G;
  outside K(G, e) and A(G, e) for epochs a_G .. n - W - 1, computed here
          with the HKDF ratchet of docs/keys.md (and the 16-byte halves of
          A, which AES key schedules hold);
  inside  the same for epochs n - W .. n + 1 (the responder's window).

Checks: the TLS key is in the signer and nowhere else (with --ke-has-key
also in that KE server: the in-process mode); no master anywhere; no
outside-window key in the responder; and, so that the scan proves it can
see keys at all, the TLS key in the signer and an inside-window key in the
responder. Exit 0 if all hold; prints what it found either way.
"""
import argparse
import hashlib
import hmac
import re
import struct
import subprocess
import sys

MAX_REGION = 1 << 30  # sanitizer shadow memory is huge and holds nothing of ours
SKIP = ("[vvar]", "[vsyscall]", "[vvar_vclock]")


def hkdf(salt, ikm, info, length=32):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    return hkdf_expand(prk, info, length)


def hkdf_expand(prk, info, length=32):
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


def chain(deployment, master, gen, activation, last):
    """K(gen, e) and A(gen, e) for e = activation .. last (docs/keys.md)."""
    k = hkdf(deployment, master, b"nts-cookie-chain-v1" + struct.pack(">Bq", gen, activation))
    keys = {}
    e = activation
    while True:
        keys[e] = (k, hkdf_expand(k, b"nts-cookie-aead-v1"))
        if e == last:
            return keys
        e += 1
        k = hkdf(deployment, k, b"nts-cookie-ratchet-v1" + struct.pack(">Bq", gen, e))


def tls_scalar(path):
    text = subprocess.run(["openssl", "pkey", "-in", path, "-noout", "-text"],
                          check=True, capture_output=True, text=True).stdout
    m = re.search(r"priv:\s*\n((?:\s+[0-9a-f:]+\n)+)", text)
    if m is None:
        sys.exit("memscan: no private scalar in %s" % path)
    raw = bytes.fromhex(re.sub(r"[\s:]", "", m.group(1)))
    return raw.lstrip(b"\0") if len(raw) > 32 else raw


def mappings(pid):
    """(start, end, name, resident) for every mapping, from smaps: a mapping
    with nothing resident or swapped was never written and reads as zeros."""
    out, cur = [], None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            fields = line.split()
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                start, end = (int(x, 16) for x in fields[0].split("-"))
                cur = [start, end, fields[5] if len(fields) > 5 else "", 0]
                out.append(cur)
            elif fields and fields[0] in ("Rss:", "Swap:"):
                cur[3] += int(fields[1])
    return out


def memory(pid):
    """The bytes of every mapping of |pid| (unreadable pages skipped)."""
    chunks = []
    with open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for start, end, name, resident in mappings(pid):
            if name in SKIP or resident == 0 or end - start > MAX_REGION:
                continue
            try:
                mem.seek(start)
                chunks.append(mem.read(end - start))
            except OSError:
                for page in range(start, end, 4096):  # partly unreadable
                    try:
                        mem.seek(page)
                        chunks.append(mem.read(4096))
                    except OSError:
                        pass
    return b"\x01".join(chunks)


def forms(secret):
    return [secret, secret[::-1]]


def found(blob, secrets):
    return [name for name, s in secrets if any(f in blob for f in forms(s))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--signer", type=int, required=True)
    ap.add_argument("--ke", type=int, required=True)
    ap.add_argument("--responder", type=int, required=True)
    ap.add_argument("--ke-has-key", type=int, help="a KE server in in-process mode")
    ap.add_argument("--tls-key", required=True)
    ap.add_argument("--master", required=True)
    ap.add_argument("--deployment", required=True)
    ap.add_argument("--gen", type=int, required=True)
    ap.add_argument("--activation", type=int, required=True)
    ap.add_argument("--epoch-len", type=int, required=True)
    ap.add_argument("--window", type=int, required=True)
    ap.add_argument("--now", type=int, required=True, help="unix time at the start")
    a = ap.parse_args()

    deployment = bytes.fromhex(open(a.deployment).read().split()[1])
    master = open(a.master, "rb").read()
    assert len(master) == 32 and len(deployment) == 16
    n = a.now // a.epoch_len
    keys = chain(deployment, master, a.gen, a.activation, n + 1)
    outside, inside = [], []
    for e, (k, aead) in keys.items():
        named = [("K(%d,%d)" % (a.gen, e), k), ("A(%d,%d)" % (a.gen, e), aead),
                 ("A(%d,%d)[0:16]" % (a.gen, e), aead[:16]),
                 ("A(%d,%d)[16:32]" % (a.gen, e), aead[16:])]
        # epochs that left the window before the test started (one epoch of
        # margin for a boundary crossed during the test)
        if e < n - a.window:
            outside += named
        elif e >= n - a.window + 1:
            inside += named
    tls = [("tls-scalar", tls_scalar(a.tls_key))]
    secrets_master = [("master", master)]

    procs = [("signer", a.signer), ("ke", a.ke), ("responder", a.responder)]
    if a.ke_has_key:
        procs.append(("ke-inprocess", a.ke_has_key))
    ok = True

    def check(cond, msg):
        nonlocal ok
        print(("ok:   " if cond else "FAIL: ") + msg)
        ok = ok and cond

    print("epoch %d, window %d, generation %d from epoch %d: %d outside-window keys, "
          "%d inside" % (n, a.window, a.gen, a.activation, len(outside) // 4, len(inside) // 4))
    for name, pid in procs:
        blob = memory(pid)
        t = found(blob, tls)
        m = found(blob, secrets_master)
        o = found(blob, outside)
        i = found(blob, inside)
        print("%s (pid %d): %d MiB scanned; TLS key %s; master %s; outside-window %s; "
              "inside-window %s" % (name, pid, len(blob) >> 20, bool(t), bool(m),
                                    o or "none", i or "none"))
        if name in ("signer", "ke-inprocess"):
            check(bool(t), "%s holds the TLS private key (the scan sees keys)" % name)
        else:
            check(not t, "%s does not hold the TLS private key" % name)
        check(not m, "%s does not hold the master key" % name)
        if name == "responder":
            check(not o, "responder holds no key of an epoch outside its window")
            check(bool(i), "responder holds its in-window keys (the scan sees them)")
        else:
            check(not o, "%s holds no key of an epoch before the window" % name)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
