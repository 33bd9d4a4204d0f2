#!/usr/bin/env python3
"""xdp_tserr.py ADDR N: N plain requests, one every 2 ms, each carrying the
client's send time (CLOCK_REALTIME, which the server in the other network
namespace shares) as its transmit timestamp. Prints the median, 90th and
99th percentile of T2 - T1 (server receive timestamp minus client send
time) and of T3 - T2, in microseconds."""
import socket, struct, sys, time

addr, n = sys.argv[1], int(sys.argv[2])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(1)
EPOCH = 2208988800


def ntp_ns(b):
    sec, frac = struct.unpack(">II", b)
    return (sec - EPOCH) * 10**9 + (frac * 10**9 >> 32)


d12, d23 = [], []
for _ in range(n):
    t1 = time.time_ns()
    pkt = bytes([0x23]) + bytes(39) + struct.pack(
        ">II", t1 // 10**9 + EPOCH, ((t1 % 10**9) << 32) // 10**9)
    s.sendto(pkt, (addr, 123))
    try:
        r = s.recv(100)
    except socket.timeout:
        continue
    t2, t3 = ntp_ns(r[32:40]), ntp_ns(r[40:48])
    d12.append((t2 - t1) / 1000)
    d23.append((t3 - t2) / 1000)
    time.sleep(0.002)


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]


print("n=%d t2-t1 median %.1f p90 %.1f p99 %.1f us; t3-t2 median %.1f p99 %.1f us" %
      (len(d12), pct(d12, .5), pct(d12, .9), pct(d12, .99), pct(d23, .5), pct(d23, .99)))
