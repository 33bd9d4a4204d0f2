# ke_signer_stall.sh: a stalled signer must not let one client grow the KE
# server without bound (issue 12 item 2). The signer is stopped (SIGSTOP);
# one client sends a ClientHello and then 24 MB more while the server waits
# for the signature. The server must stop reading meanwhile: its RSS may
# grow by less than 4 MB (the old code buffered all 24 MB). After SIGCONT a
# new NTS-KE must succeed.
. "$SRC/tests/interop/lib.sh"
NTS_KEYLESS=1 start_stack "deadline 60s
signerdeadline 60s"
$QUERY --ca "$T/ca.pem" localhost:$KE >/dev/null || fail "first query"
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/$KE_PID/status; }
kill -STOP $SIGNER_PID
before=$(rss)
python3 - "$KE" "$T/ca.pem" "$KE_PID" >"$T/client.out" <<'PY' || fail "flooding client: $(cat "$T/client.out")"
import os, socket, sys, time
sys.path.insert(0, os.environ["SRC"] + "/tests/faults")
from tlsmem import client
port, ca, pid = int(sys.argv[1]), sys.argv[2], sys.argv[3]
tls, inc, out = client(ca)
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(out.read())
time.sleep(0.5)  # the server has asked the (stopped) signer by now
s.settimeout(3)
junk = b"\x17\x03\x03\x40\x00" + bytes(16384)  # records TLS cannot read yet
sent = 0
try:
    while sent < 24 << 20:
        sent += s.send(junk)
except (socket.timeout, OSError):
    pass
time.sleep(1)
rss = [l for l in open("/proc/%s/status" % pid) if l.startswith("VmRSS")][0].split()[1]
print(sent, rss)
s.close()
PY
read -r sent during <"$T/client.out"
grown=$((during - before))
echo "signer stopped: client sent $sent bytes; KE RSS $before kB -> $during kB (+$grown kB)"
kill -CONT $SIGNER_PID
[ "$grown" -lt 4096 ] || fail "KE server grew by $grown kB while the signer was stopped"
kill -0 $KE_PID 2>/dev/null || fail "KE server died"
i=0
until $QUERY --ca "$T/ca.pem" localhost:$KE >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 20 ] && fail "no NTS-KE after the signer came back"
	sleep 0.5
done
echo "ke_signer_stall: ok"
