#!/bin/sh
# metrics_flood: one local user floods a daemon's metrics port with idle
# connections (reopened as soon as they are closed) and slowloris ones
# (a byte at a time, never finishing the request); /health and /metrics must
# still answer, within 2 s, every time they are asked.
. "$SRC/tests/interop/lib.sh"
make_keys
NTP=$(free_port)
start_responder "$NTP"
M=$RESP_METRICS

python3 - "$M" <<'PY' || fail "the metrics endpoint did not hold up under the flood"
import socket, sys, threading, time

port = int(sys.argv[1])
IDLE, SLOW = 320, 16  # more than the daemon's table (256): it must evict
stop = threading.Event()
opened = [0]

def connect():
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    opened[0] += 1
    return s

def alive(s):
    try:
        return s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False

def flood():
    idle = [connect() for _ in range(IDLE)]
    slow = [[connect(), 0] for _ in range(SLOW)]
    trickle = b"GET /metrics HTTP/1.0\r\n" + b"X-Slow: " + b"a" * 4000
    while not stop.is_set():
        for i, s in enumerate(idle):
            if not alive(s):
                s.close()
                idle[i] = connect()
        for e in slow:
            s, n = e
            try:
                s.send(trickle[n % len(trickle):n % len(trickle) + 1])
                e[1] = n + 1
            except (BlockingIOError, OSError):
                if not alive(s):
                    s.close()
                    e[0], e[1] = connect(), 0
        time.sleep(0.02)
    for s in idle:
        s.close()
    for s, _ in slow:
        s.close()

def get(path):
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.settimeout(2)
        s.sendall(b"GET " + path.encode() + b" HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
            if time.monotonic() - t0 > 2:
                break
        s.close()
    except OSError as e:
        return None, "%s (%.2f s)" % (e, time.monotonic() - t0)
    took = time.monotonic() - t0
    if took > 2:
        return None, "took %.2f s" % took
    return data, "%.3f s" % took

base, _ = get("/health")
assert base is not None and base.startswith(b"HTTP/1.0 200"), base
th = threading.Thread(target=flood)
th.start()
time.sleep(1.0)  # let the flood fill the table
bad = 0
try:
    for i in range(12):
        for path, want in (("/health", b"HTTP/1.0 200"), ("/metrics", b"HTTP/1.0 200")):
            data, how = get(path)
            ok = data is not None and data.startswith(want) and \
                (path != "/metrics" or b"nts_" in data)
            print("%-8s %s %s" % (path, "ok  " if ok else "FAIL", how))
            if not ok:
                bad += 1
        time.sleep(0.25)
finally:
    stop.set()
    th.join()
print("flood opened %d connections" % opened[0])
if opened[0] < IDLE + SLOW:
    print("the flood did not run")
    sys.exit(1)
sys.exit(1 if bad else 0)
PY
# The daemon is still there and still answers after the flood.
kill -0 "$RESP_PID" || fail "nts-responder died"
metric "$M" . >/dev/null || fail "no /metrics after the flood"
echo "PASS: /health and /metrics answered through the flood"
