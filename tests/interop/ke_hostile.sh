# ke_hostile.sh: what an NTS-KE server on the internet meets: no ALPN, the
# wrong ALPN, TLS 1.2, garbage before the handshake, a record running past
# the data, no End of Message, a 64 KiB request, RFC error cases, and 1000
# idle connections while valid clients keep succeeding. The client side is
# Python's ssl module (OpenSSL), independent of our code.
. "$SRC/tests/interop/lib.sh"
start_stack "maxconnections 300
maxpersource 8
deadline 2s"
python3 - "$KE" "$T/ca.pem" "$QUERY" <<'PY' || fail "hostile cases"
import resource, socket, ssl, struct, subprocess, sys, time
port, ca, query = int(sys.argv[1]), sys.argv[2], sys.argv[3]
C = 0x8000
def rec(t, body=b""): return struct.pack(">HH", t, len(body)) + body
NP, AEAD15, EOM = rec(C | 1, b"\0\0"), rec(C | 4, b"\0\x0f"), rec(C | 0)

def ctx(alpn=("ntske/1",), ver=ssl.TLSVersion.TLSv1_3):
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.load_verify_locations(ca)
    c.minimum_version = c.maximum_version = ver
    if alpn:
        c.set_alpn_protocols(list(alpn))
    return c

def session(payload, c=None, wait=5.0):
    """-> (handshake_ok, response bytes, seconds until the server closed)"""
    c = c or ctx()
    s = socket.create_connection(("127.0.0.1", port), timeout=wait)
    t0 = time.monotonic()
    try:
        t = c.wrap_socket(s, server_hostname="localhost")
    except (ssl.SSLError, OSError):
        return False, b"", time.monotonic() - t0
    data = b""
    try:
        if payload:
            t.sendall(payload)
        while True:
            d = t.recv(65536)
            if not d:
                break
            data += d
    except (ssl.SSLError, OSError):
        pass
    return True, data, time.monotonic() - t0

def records(data):
    out = []
    while len(data) >= 4:
        t, l = struct.unpack(">HH", data[:4]); out.append((t, data[4:4 + l])); data = data[4 + l:]
    return out

ok, data, _ = session(NP + AEAD15 + EOM)
r = records(data)
assert ok and sum(1 for t, _ in r if t & 0x7fff == 5) == 8, "valid request: %r" % r[:3]
assert (C | 4, b"\0\x0f") in r and r[-1] == (C | 0, b""), "AEAD/EOM records"

ok, data, _ = session(NP + AEAD15 + EOM, ctx(alpn=None))
assert ok and data == b"", "no ALPN must get no NTS-KE response"
ok, data, _ = session(NP + AEAD15 + EOM, ctx(alpn=("http/1.1",)))
assert not ok, "wrong ALPN must fail the handshake"
ok, data, _ = session(NP + AEAD15 + EOM, ctx(ver=ssl.TLSVersion.TLSv1_2))
assert not ok, "TLS 1.2 must fail"

s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 4)
t0 = time.monotonic(); junk = b""
try:
    while True:
        d = s.recv(4096)
        if not d: break
        junk += d
except OSError:
    pass
assert time.monotonic() - t0 < 2.5 and len(junk) < 64, "garbage: %r" % junk[:40]

ok, data, secs = session(NP + struct.pack(">HH", C | 4, 200) + b"\0\x0f")
assert ok and data == b"" and secs < 3.0, "record past the data: %r after %.1fs" % (data, secs)
ok, data, secs = session(NP + AEAD15)
assert ok and data == b"" and secs < 3.0, "no EOM: %r after %.1fs" % (data, secs)
ok, data, secs = session(rec(0x1234, b"x" * 60000) + NP + AEAD15 + EOM)
assert data == b"" and secs < 3.0, "64 KiB request answered"

ok, data, _ = session(rec(C | 0x4321) + NP + AEAD15 + EOM)
assert records(data)[0] == (C | 2, b"\0\0"), "unknown critical: %r" % data
ok, data, _ = session(NP + EOM)
assert records(data)[0] == (C | 2, b"\0\1"), "missing AEAD: %r" % data
ok, data, _ = session(NP + NP + AEAD15 + EOM)
assert records(data)[0] == (C | 2, b"\0\1"), "duplicate NP: %r" % data
ok, data, _ = session(rec(0x4321, b"ignored") + NP + AEAD15 + EOM)
assert sum(1 for t, _ in records(data) if t & 0x7fff == 5) == 8, "unknown non-critical"
ok, data, _ = session(NP + rec(C | 4, b"\0\x10") + EOM)
r = records(data)
assert (C | 4, b"") in r and not any(t & 0x7fff == 5 for t, _ in r), "no common AEAD: %r" % r

# 1000 idle connections (from 1000 source addresses, each one byte into a
# ClientHello) while valid clients keep getting served
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
idle = []
for i in range(1000):
    s = socket.socket()
    s.bind(("127.0.%d.%d" % (1 + i // 250, 1 + i % 250), 0))
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    idle.append(s)
time.sleep(0.2)
for s in idle:
    try: s.send(b"\x16")
    except OSError: pass
time.sleep(0.3)
good = 0
for i in range(5):
    r = subprocess.run([query, "--ca", ca, "--timeout", "2", "localhost:%d" % port],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    good += r.returncode == 0
for s in idle:
    s.close()
assert good == 5, "only %d of 5 valid clients served next to 1000 idle connections" % good
print("hostile cases ok")
PY
[ "$(metric $KE_METRICS 'outcome="alpn_missing"')" -ge 1 ] || fail "alpn_missing not counted"
[ "$(metric $KE_METRICS 'outcome="tls_error"')" -ge 2 ] || fail "tls errors not counted"
[ "$(metric $KE_METRICS 'outcome="timeout"')" -ge 2 ] || fail "timeouts not counted"
[ "$(metric $KE_METRICS 'outcome="unrecognized_critical"')" -ge 1 ] || fail "Error 0 not counted"
[ "$(metric $KE_METRICS 'outcome="overload_shed"')" -ge 1 ] || fail "no shedding under 1000 idle connections"
kill -0 $KE_PID || fail "KE server died"
grep -qi "info.*handshake\|ALPN" "$T/ke.log" && fail "per-handshake logging at info level"
echo "ke_hostile: ok (shed $(metric $KE_METRICS 'outcome="overload_shed"'), timeouts $(metric $KE_METRICS 'outcome="timeout"'))"
