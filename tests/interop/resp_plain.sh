# resp_plain.sh: chronyd as a plain NTPv4 client of nts-responder, and
# requests that must get silence.
. "$SRC/tests/interop/lib.sh"
make_keys
NTP=$(free_port)
start_responder $NTP
chrony_conf "$T/c.conf" "server 127.0.0.1 port $NTP iburst maxpoll 4" "port 0"
timeout 30 chronyd -Q -x -u root -f "$T/c.conf" -t 20 >"$T/chronyd.log" 2>&1 || true
grep -q "System clock wrong by" "$T/chronyd.log" || fail "chronyd got no plain sample"
$QUERY --plain "[::1]:$NTP" | grep -q "stratum 2" || fail "no IPv6 answer"
python3 - "$NTP" <<'PY' || fail "silence rules"
import socket, sys, struct
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.5)
def ask(pkt):
    s.sendto(pkt, ("127.0.0.1", port))
    try: return s.recv(2048)
    except socket.timeout: return None
base = bytearray(48); base[0] = (4 << 3) | 3
assert ask(bytes(base)) is not None, "plain v4 unanswered"
v3 = bytearray(base); v3[0] = (3 << 3) | 3
assert ask(bytes(v3)) is not None, "v3 unanswered"
# an unknown extension field is no reason to drop a plain request
ef = struct.pack(">HH", 0x7777, 16) + b"\0" * 12
r = ask(bytes(base) + ef); assert r is not None and len(r) == 48, "unknown EF dropped"
for mode in (6, 7, 5, 4, 1):
    p = bytearray(base); p[0] = (4 << 3) | mode
    assert ask(bytes(p)) is None, "mode %d answered" % mode
for vn in (0, 1, 5, 7):
    p = bytearray(base); p[0] = (vn << 3) | 3
    assert ask(bytes(p)) is None, "version %d answered" % vn
assert ask(bytes(base[:47])) is None, "short packet answered"
assert ask(b"\x23" + b"\0" * 2000) is None, "oversized packet answered"
PY
[ "$(metric $RESP_METRICS 'reason="mode"')" -ge 5 ] || fail "mode drops not counted"
[ "$(metric $RESP_METRICS 'reason="short"')" -ge 1 ] || fail "short drops not counted"
echo "resp_plain: ok"
