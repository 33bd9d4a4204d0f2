# ke_reload_uaf.sh: a certificate reload in the middle of a slow handshake
# (issue 12 item 1). Two certificates (so the SNI callback walks the set),
# deadline 60s; a client sends the first 100 bytes of its ClientHello,
# the server reloads its certificates (SIGHUP), and the client sends the
# rest 36 s later, past the 30 s after which the old code freed the retired
# set while connections made from it were still open. The handshake must
# complete on the set the connection started with, and the server must
# still answer a fresh NTS-KE. Under ASan the old code stops here with a
# heap-use-after-free in the SNI callback.
. "$SRC/tests/interop/lib.sh"
make_pki
make_keys
( cd "$T" && make_cert other )
NTP=$(free_port)
KE=$(free_port)
start_responder $NTP
start_ke $KE $NTP "cert $T/other.pem $T/other.key
deadline 60s"
WAIT=${UAF_WAIT:-36}
python3 - "$KE" "$T/ca.pem" "$KE_PID" "$WAIT" <<'PY' || fail "slow handshake across a reload"
import os, signal, socket, ssl, sys, time
sys.path.insert(0, os.environ["SRC"] + "/tests/faults")
from tlsmem import CRITICAL as C, client, read_to_end, record as rec
port, ca, pid, wait = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
tls, inc, out = client(ca, tls13_only=True)
hello = out.read()
assert len(hello) > 200, len(hello)
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(hello[:100])
time.sleep(1.0)  # accepted, SSL object made from the first set
os.kill(pid, signal.SIGHUP)
print("SIGHUP sent; waiting %.0f s" % wait, flush=True)
time.sleep(wait)
s.sendall(hello[100:])
done = False
t0 = time.monotonic()
while not done:
    d = s.recv(65536)
    assert d, "server closed the connection during the handshake"
    inc.write(d)
    try:
        tls.do_handshake()
        done = True
    except ssl.SSLWantReadError:
        pass
    o = out.read()
    if o:
        s.sendall(o)
    assert time.monotonic() - t0 < 10, "handshake did not finish"
assert tls.selected_alpn_protocol() == "ntske/1"
tls.write(rec(C | 1, b"\0\0") + rec(C | 4, b"\0\x0f") + rec(C | 0))
s.sendall(out.read())
data = read_to_end(s, tls, inc)
assert data.endswith(rec(C | 0)) and len(data) > 100, "NTS-KE response: %r" % data[:40]
print("slow handshake finished after the reload")
PY
kill -0 $KE_PID 2>/dev/null || fail "KE server died"
$QUERY --ca "$T/ca.pem" localhost:$KE >/dev/null || fail "fresh NTS-KE after the reload"
[ "$(metric $KE_METRICS 'reloads_total.*result="ok"')" -ge 1 ] || fail "reload not counted"
echo "ke_reload_uaf: ok"
