#!/usr/bin/env python3
"""keload.py: NTS-KE handshakes in a loop, for tests and a rough benchmark.

Each attempt: TCP connect, TLS 1.3 with ALPN ntske/1 (verified against
--ca), an NTS-KE request (NTPv4, AEAD 30), the response read to the end and
checked for cookies. With --out, one line per attempt is written:
"START_S DURATION_S ok|fail REASON" (start relative to the beginning;
REASON alert_internal_error, tls_error, io_error or no_cookies). At the end
prints "attempts N ok N fail N seconds S rate R/s".

  keload.py --port P --ca CA [--host H] [--seconds S] [--threads N] [--out FILE]
            [--ready FILE]
"""
import argparse
import os
import socket
import ssl
import struct
import sys
import threading
import time

REQUEST = (struct.pack(">HHH", 0x8001, 2, 0) +  # Next Protocol: NTPv4
           struct.pack(">HHH", 0x8004, 2, 30) +  # AEAD: AES-128-GCM-SIV
           struct.pack(">HH", 0x8000, 0))  # End of Message


def has_cookie(resp):
    off = 0
    while off + 4 <= len(resp):
        rtype, rlen = struct.unpack(">HH", resp[off:off + 4])
        if rtype & 0x7FFF == 5:
            return True
        off += 4 + rlen
    return False


def attempt(ctx, host, port, timeout):
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(REQUEST)
                resp = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    resp += chunk
                return (True, "") if has_cookie(resp) else (False, "no_cookies")
    except ssl.SSLError as e:
        return False, "alert_internal_error" if "INTERNAL_ERROR" in str(e) else "tls_error"
    except OSError:
        return False, "io_error"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=5)
    ap.add_argument("--out")
    ap.add_argument("--ready", help="file that gets the wall-clock start time")
    a = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(a.ca)
    ctx.set_alpn_protocols(["ntske/1"])
    t0 = time.monotonic()
    if a.ready:
        with open(a.ready + ".tmp", "w") as f:
            f.write("%.6f\n" % time.time())
        os.rename(a.ready + ".tmp", a.ready)
    end = t0 + a.seconds
    lock = threading.Lock()
    results = []

    def loop():
        while time.monotonic() < end:
            s = time.monotonic()
            ok, why = attempt(ctx, a.host, a.port, a.timeout)
            d = time.monotonic() - s
            with lock:
                results.append((s - t0, d, ok, why))

    threads = [threading.Thread(target=loop) for _ in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    results.sort()
    if a.out:
        with open(a.out, "w") as f:
            for s, d, ok, why in results:
                f.write("%.4f %.4f %s\n" % (s, d, "ok" if ok else "fail " + why))
    n_ok = sum(1 for r in results if r[2])
    print("attempts %d ok %d fail %d seconds %.2f rate %.1f/s" %
          (len(results), n_ok, len(results) - n_ok, elapsed, n_ok / elapsed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
