# resp_ratelimit.sh: the responder's rate limit and access list against
# real clients on loopback (docs/config-responder.md, ratelimit and allow/deny):
# - plain requests over the limit get KoD RATE of the right form (LI 3,
#   stratum 0, refid RATE, 48 bytes, origin = the request's transmit);
# - a denied source gets nothing;
# - chronyd polling every 1/64 s (minpoll -6) receives RATE and backs off;
# - chronyd as an NTS client over the limit is never NAKed.
. "$SRC/tests/interop/lib.sh"
command -v chronyd >/dev/null || fail "chronyd not installed"
make_pki
make_keys
NTP=$(free_port)
KE=$(free_port)
start_responder $NTP "ratelimit yes
ratelimitinterval 1s
ratelimitburst 4
ratelimitleak 100
deny 127.0.0.2/32
denyaction silent"
start_ke $KE $NTP

python3 - "$NTP" <<'PY' || fail "KoD form or access list"
import socket, struct, sys, os
port = int(sys.argv[1])
def client(src):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0)); s.settimeout(0.3)
    return s
def ask(s):
    req = bytearray(48); req[0] = (4 << 3) | 3; req[2] = 5
    tx = os.urandom(8); req[40:48] = tx
    s.sendto(bytes(req), ("127.0.0.1", port))
    try: return tx, s.recv(2048)
    except socket.timeout: return tx, None
s = client("127.0.0.1")
answers = [ask(s) for _ in range(12)]
normal = [r for _, r in answers if r is not None and r[1] != 0]
kods = [(tx, r) for tx, r in answers if r is not None and r[1] == 0]
assert len(normal) == 4, "burst 4: %d normal answers" % len(normal)
assert len(kods) == 8, "leak 100: %d KoDs for 8 over the limit" % len(kods)
for tx, r in kods:
    assert len(r) == 48, "KoD of %d bytes" % len(r)
    assert r[0] == (3 << 6) | (4 << 3) | 4, "KoD LI/VN/mode %#x" % r[0]
    assert r[12:16] == b"RATE", "kiss code %r" % r[12:16]
    assert r[24:32] == tx, "KoD origin is not the request's transmit"
d = client("127.0.0.2")
assert all(ask(d)[1] is None for _ in range(5)), "a denied source got an answer"
print("plain: 4 answers, 8 KoD RATE; denied: silence")
PY
[ "$(metric $RESP_METRICS 'nts_responder_denied_total')" = 5 ] || fail "denied not counted"
[ "$(metric $RESP_METRICS 'code="RATE"')" = 8 ] || fail "KoD RATE not counted"

# chronyd, plain and NTS, each from its own source address, polling 64
# times a second
chrony_conf "$T/plain.conf" "server 127.0.0.1 port $NTP minpoll -6 maxpoll -6" \
	"bindacqaddress 127.0.0.3" "port 0"
sed -i "s|$T/chrony/|$T/chrony/p-|" "$T/plain.conf"
chrony_conf "$T/nts.conf" "server localhost port $NTP nts ntsport $KE minpoll -6 maxpoll -6" \
	"bindacqaddress 127.0.0.4" "ntstrustedcerts $T/ca.pem" "port 0"
sed -i "s|$T/chrony/|$T/chrony/n-|" "$T/nts.conf"
chronyd -d -x -u root -f "$T/plain.conf" >"$T/chronyd-plain.log" 2>&1 &
C1=$!
chronyd -d -x -u root -f "$T/nts.conf" >"$T/chronyd-nts.log" 2>&1 &
C2=$!
PIDS="$PIDS $C1 $C2"
sleep 8
p1=$(metric $RESP_METRICS 'requests_total\{kind="plain"')
sleep 8
p2=$(metric $RESP_METRICS 'requests_total\{kind="plain"')
rate=$(( (p2 - p1) / 8 ))
echo "chronyd plain: $(( p2 - p1 )) requests in the last 8 s (${rate}/s; minpoll -6 is 64/s)"
grep -i "kod\|rate" "$T/chronyd-plain.log" | head -3
[ "$rate" -le 8 ] || fail "chronyd did not back off after KoD RATE: $rate requests/s"
[ "$(metric $RESP_METRICS 'code="RATE"')" -gt 8 ] || fail "chronyd got no KoD RATE"
[ "$(metric $RESP_METRICS 'responses_total\{kind="nts"')" -ge 1 ] || fail "chronyd: no NTS response"
kill $C1 $C2
sleep 0.5
# NTS requests over the limit: five a second from nts-query, which stops at
# the first one unanswered; none is NAKed
q1=$(metric $RESP_METRICS 'requests_total\{kind="nts"')
l1=$(metric $RESP_METRICS 'nts_responder_ratelimited_total')
r1=$(metric $RESP_METRICS 'responses_total\{kind="nts"')
$QUERY --ca "$T/ca.pem" --ntp "127.0.0.1:$NTP" --count 15 --timeout 0.3 "localhost:$KE" \
	>"$T/query.log" 2>&1 || true
q2=$(metric $RESP_METRICS 'requests_total\{kind="nts"')
l2=$(metric $RESP_METRICS 'nts_responder_ratelimited_total')
r2=$(metric $RESP_METRICS 'responses_total\{kind="nts"')
echo "nts-query: $((q2 - q1)) NTS requests answered ($((r2 - r1)) responses), then $((l2 - l1)) limited"
[ $((r2 - r1)) -ge 4 ] && [ $((q2 - q1)) = $((r2 - r1)) ] && [ $((l2 - l1)) = 1 ] ||
	fail "nts-query: $((q2 - q1)) requests, $((r2 - r1)) answered, $((l2 - l1)) limited"
grep -q "no response within" "$T/query.log" || fail "nts-query was not met with silence"
! grep -qi "nak\|NTSN" "$T/query.log" || fail "nts-query saw a NAK"
[ "$(metric $RESP_METRICS 'nts_responder_ratelimited_total')" -gt 8 ] || fail "nothing limited"
for r in unknown_key expired_key future_key bad_cookie bad_auth no_keys; do
	[ "$(metric $RESP_METRICS "reason=\"$r\"")" = 0 ] || fail "NAK $r sent"
done
echo "resp_ratelimit: ok"
