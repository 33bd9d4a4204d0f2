# ops_counters.sh: hostile and odd traffic against a KE server and a
# responder, and each counter docs/troubleshooting.md describes must move
# by exactly the expected amount (the others must not move).
. "$SRC/tests/interop/lib.sh"
start_stack "deadline 1s
maxconnections 4"
# a real session (AEAD 30: 68-byte cookies) for the responder cases
$QUERY --ca "$T/ca.pem" --aead 30 --save "$T/sess" localhost:$KE >/dev/null || fail "first query"
python3 - "$KE" "$NTP" "$KE_METRICS" "$RESP_METRICS" "$T/ca.pem" "$T/sess" "$QUERY" <<'PY' || fail "counters"
import socket, ssl, struct, subprocess, sys, time, urllib.request
ke, ntp, kem, rm, ca, sess, query = sys.argv[1:8]
ke, ntp = int(ke), int(ntp)

def scrape(port):
    body = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port, timeout=2).read().decode()
    out = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out

def check(port, action, expect, settle=0.0):
    """run action(), then require every sample in |expect| to have moved by
    exactly that much and every other counter (_total) not to have moved"""
    before = scrape(port)
    action()
    deadline = time.monotonic() + 3.0 + settle
    while True:
        after = scrape(port)
        bad = []
        for k in set(before) | set(after):
            d = after.get(k, 0) - before.get(k, 0)
            want = expect.get(k, 0)
            if k in expect or (k.split("{")[0].endswith("_total") and d != 0):
                if d != want:
                    bad.append("%s moved by %g, expected %g" % (k, d, want))
        if not bad:
            return
        if time.monotonic() > deadline:
            raise SystemExit("%s:\n  %s" % (action.__name__, "\n  ".join(sorted(bad))))
        time.sleep(0.1)

# ---- NTS-KE ----
C = 0x8000
def rec(t, body=b""): return struct.pack(">HH", t, len(body)) + body
NP, EOM = rec(C | 1, b"\0\0"), rec(C | 0)
def aead(*ids): return rec(C | 4, b"".join(struct.pack(">H", i) for i in ids))

def tls(alpn=True):
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.load_verify_locations(ca)
    c.minimum_version = ssl.TLSVersion.TLSv1_3
    if alpn:
        c.set_alpn_protocols(["ntske/1"])
    s = socket.create_connection(("127.0.0.1", ke), timeout=5)
    return c.wrap_socket(s, server_hostname="localhost")

def ke_session(payload, alpn=True):
    t = tls(alpn)
    t.sendall(payload)
    data = b""
    try:
        while True:
            d = t.recv(65536)
            if not d:
                break
            data += d
    except (ssl.SSLError, OSError):
        pass
    t.close()
    return data

def o(name): return 'nts_ke_handshakes_total{outcome="%s"}' % name
ACC = "nts_ke_connections_accepted_total"
LAT = "nts_ke_handshake_seconds_count"

def ke_ok():
    assert len(ke_session(NP + aead(15) + EOM)) > 400
check(kem, ke_ok, {o("ok"): 1, ACC: 1, LAT: 1, "nts_ke_cookies_total": 8,
                   'nts_ke_aead_total{aead="15"}': 1})
def ke_no_alpn():
    assert ke_session(NP + aead(15) + EOM, alpn=False) == b""
check(kem, ke_no_alpn, {o("alpn_missing"): 1, ACC: 1})
def ke_garbage():
    s = socket.create_connection(("127.0.0.1", ke), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()
check(kem, ke_garbage, {o("tls_error"): 1, ACC: 1})
def ke_bad_request():
    assert ke_session(NP + EOM)[:6] == rec(C | 2, b"\0\1")
check(kem, ke_bad_request, {o("bad_request"): 1, ACC: 1, LAT: 1})
def ke_no_common_aead():
    r = ke_session(NP + aead(16) + EOM)
    assert aead() in r, r
check(kem, ke_no_common_aead, {o("no_common_aead"): 1, ACC: 1, LAT: 1})
def ke_unrecognized():
    assert ke_session(rec(C | 0x4321) + NP + aead(15) + EOM)[:6] == rec(C | 2, b"\0\0")
check(kem, ke_unrecognized, {o("unrecognized_critical"): 1, ACC: 1, LAT: 1})
def ke_timeout():
    t = tls()  # handshake done, no request: the 1 s deadline closes it
    time.sleep(1.5)
    t.close()
check(kem, ke_timeout, {o("timeout"): 1, ACC: 1})

# open connections: a gauge; 6 idle connections against maxconnections 4
# shed exactly 2
def gauge(): return scrape(kem)["nts_ke_open_connections"]
idle = []
def ke_overload():
    for i in range(6):
        s = socket.create_connection(("127.0.0.1", ke), timeout=5)
        s.sendall(b"\x16")  # past TCP_DEFER_ACCEPT
        idle.append(s)
        time.sleep(0.05)
    time.sleep(0.3)
    assert gauge() == 4, "open connections %g, expected 4" % gauge()
check(kem, ke_overload, {o("overload_shed"): 2, ACC: 6, o("timeout"): 4}, settle=1.5)
for s in idle:
    s.close()
assert gauge() == 0, "open connections after the timeouts: %g" % gauge()

# ---- responder ----
buf = open(sess, "rb").read()
assert buf[:8] == b"NTSQSES1"
aead_id = struct.unpack(">H", buf[8:10])[0]
kl = {15: 32, 30: 16, 17: 64}[aead_id]
p = 10 + 2 * kl
p += 1 + buf[p]
p += 2
n = buf[p]; p += 1
cookies = []
for i in range(n):
    l = struct.unpack(">H", buf[p:p + 2])[0]
    cookies.append(buf[p + 2:p + 2 + l]); p += 2 + l
cookie = cookies[0]
nonce_len = 12 if aead_id == 30 else 16

def ef(t, body):
    body += b"\0" * (-len(body) % 4)
    return struct.pack(">HH", t, 4 + len(body)) + body
def header(mode=3, vn=4): return bytes([(vn << 3) | mode]) + b"\0" * 39 + b"\x11" * 8
def nts(ck, placeholders=0, auth=True):
    pkt = header() + ef(0x0104, b"\x55" * 32) + ef(0x0204, ck)
    pkt += b"".join(ef(0x0304, b"\0" * len(ck)) for _ in range(placeholders))
    if auth:
        pkt += ef(0x0404, struct.pack(">HH", nonce_len, 16) + b"\x01" * nonce_len + b"\x02" * 16)
    return pkt
kid = struct.unpack(">I", cookie[:4])[0]
def with_kid(k): return struct.pack(">I", k & 0xffffffff) + cookie[4:]
gen, epoch = kid >> 24, kid & 0xffffff

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(0.5)
def ask(pkt):
    u.sendto(pkt, ("127.0.0.1", ntp))
    try:
        return u.recv(2048)
    except socket.timeout:
        return None
def silent(pkt):
    r = ask(pkt)
    assert r is None, "answered: %r" % r[:8]
def is_nak(r): return r is not None and r[1] == 0 and r[12:16] == b"NTSN"

RX = "nts_responder_packets_received_total"
def d(reason): return 'nts_responder_drops_total{reason="%s"}' % reason
def k(reason): return 'nts_responder_naks_total{reason="%s"}' % reason
REQN, REQP = 'nts_responder_requests_total{kind="nts"}', 'nts_responder_requests_total{kind="plain"}'
PROC = "nts_responder_processing_seconds_count"

def short(): silent(header()[:47])
check(rm, short, {RX: 1, d("short"): 1})
def mode67():
    silent(header(mode=6) + b"\0" * 12); silent(header(mode=7))
check(rm, mode67, {RX: 2, d("mode"): 2})
def version(): silent(header(vn=1))
check(rm, version, {RX: 1, d("version"): 1})
def malformed(): silent(nts(cookie, auth=False))
check(rm, malformed, {RX: 1, REQN: 1, d("malformed"): 1})
def placeholders(): silent(nts(cookie, placeholders=8))
check(rm, placeholders, {RX: 1, REQN: 1, d("placeholder_cap"): 1})
def too_large(): silent(header() + ef(0x7777, b"x" * 4100))
check(rm, too_large, {RX: 1, d("too_large"): 1})
def bad_extension():
    # RFC 7822: a length not a multiple of 4, shorter than 16, past the end
    silent(header() + b"\x77\x77\x00\x12" + b"\0" * 14)
    silent(header() + b"\x77\x77\x00\x0c" + b"\0" * 8 + b"\0" * 28)
    silent(header() + ef(0x7777, b"x" * 28)[:-4])
check(rm, bad_extension, {RX: 3, d("bad_extension"): 3})
def legacy_mac():  # a key id and a 16- or 20-byte digest: still a MAC, answered
    for n in (16, 20):
        r = ask(header() + b"\0\0\0\1" + b"\xaa" * n)
        assert r is not None and len(r) == 48
check(rm, legacy_mac, {RX: 2, REQP: 2, 'nts_responder_responses_total{kind="plain"}': 2, PROC: 2})
def nak_unknown(): assert is_nak(ask(nts(with_kid(((gen ^ 0x5a) << 24) | epoch))))
check(rm, nak_unknown, {RX: 1, REQN: 1, k("unknown_key"): 1})
def nak_expired(): assert is_nak(ask(nts(with_kid((gen << 24) | ((epoch - 1000) & 0xffffff)))))
check(rm, nak_expired, {RX: 1, REQN: 1, k("expired_key"): 1})
def nak_future(): assert is_nak(ask(nts(with_kid((gen << 24) | ((epoch + 1000) & 0xffffff)))))
check(rm, nak_future, {RX: 1, REQN: 1, k("future_key"): 1})
def nak_bad_cookie(): assert is_nak(ask(nts(cookie[:-1] + bytes([cookie[-1] ^ 1]))))
check(rm, nak_bad_cookie, {RX: 1, REQN: 1, k("bad_cookie"): 1})
def nak_bad_auth(): assert is_nak(ask(nts(cookie)))
check(rm, nak_bad_auth, {RX: 1, REQN: 1, k("bad_auth"): 1})
def plain():
    r = ask(header())
    assert r is not None and len(r) == 48
check(rm, plain, {RX: 1, REQP: 1, 'nts_responder_responses_total{kind="plain"}': 1, PROC: 1})
def nts_ok():
    subprocess.run([query, "--load", sess, "--ntp", "127.0.0.1:%d" % ntp], check=True,
                   stdout=subprocess.DEVNULL)
check(rm, nts_ok, {RX: 1, REQN: 1, 'nts_responder_responses_total{kind="nts"}': 1, PROC: 1})
r = scrape(rm)
assert r["nts_responder_synchronised"] == 1 and r["nts_responder_stratum"] == 2, r
assert r["nts_responder_healthy"] == 1 and r["nts_responder_keys_usable"] == 1
assert r["nts_responder_key_generations"] >= 1
print("counters ok")
PY
kill -0 $KE_PID || fail "KE server died"
kill -0 $RESP_PID || fail "responder died"
echo "ops_counters: ok"
