# resp_nts.sh: NTS queries with nts-query against our KE server and
# responder: authenticated time (stratum and offset of the static source),
# then NAKs for garbage cookies (key id kept: bad_cookie; key id random: a
# NAK for an unknown, expired or future key), and the session keys still work after a NAK.
. "$SRC/tests/interop/lib.sh"
start_stack
$QUERY --ca "$T/ca.pem" --json --count 3 --save "$T/sess" localhost:$KE >"$T/q.json" ||
	fail "query: $(cat "$T/q.json")"
python3 - "$T/q.json" <<'PY' || fail "not authenticated time: $(cat "$T/q.json")"
import json, sys
for line in open(sys.argv[1]):
    j = json.loads(line)
    assert j["ok"] and j["authenticated"] and j["stratum"] == 2, j
    assert abs(j["offset"]) < 0.1 and 0 <= j["delay"] < 0.5, j
PY
ok0=$(metric $RESP_METRICS 'responses_total\{kind="nts"')
[ "$ok0" -ge 3 ] || fail "responder counted $ok0 NTS responses, expected 3"
# garble COOKIEMODE: rewrite every cookie of the saved session into $T/bad
# (keep: same key id, garbage after it; random: all garbage)
garble() {
	python3 - "$T/sess" "$T/bad" "$1" <<'PY'
import os, struct, sys
b = open(sys.argv[1], "rb").read()
aead = struct.unpack(">H", b[8:10])[0]
kl = {15: 32, 30: 16, 17: 64}[aead]
p = 10 + 2 * kl
p += 1 + b[p]  # server name
p += 2  # port
n = b[p]
out, p = bytearray(b[:p + 1]), p + 1
for _ in range(n):
    ln = struct.unpack(">H", b[p:p + 2])[0]
    ck = b[p + 2:p + 2 + ln]
    bad = (ck[:4] if sys.argv[3] == "keep" else os.urandom(4)) + os.urandom(ln - 4)
    out += struct.pack(">H", ln) + bad
    p += 2 + ln
assert p == len(b) and n > 0
open(sys.argv[2], "wb").write(out)
PY
}
nak() { # REASON: the responder's NAK count for REASON
	metric $RESP_METRICS "naks_total\\{reason=\"$1\""
}
naks() { # all NAKs, whatever the reason
	n=0
	for r in unknown_key expired_key future_key bad_cookie bad_auth no_keys; do
		n=$((n + $(nak $r)))
	done
	echo $n
}
for mode in keep random; do
	garble $mode
	bc0=$(nak bad_cookie)
	all0=$(naks)
	set +e
	$QUERY --load "$T/bad" --json >"$T/nak.json" 2>&1
	rc=$?
	set -e
	[ $rc = 4 ] || fail "garbage cookie ($mode key id): exit $rc, expected 4 (NAK): $(cat "$T/nak.json")"
	bc1=$(nak bad_cookie)
	[ "$(naks)" -gt "$all0" ] || fail "garbage cookie ($mode): no NAK counted"
	if [ $mode = keep ]; then
		[ "$bc1" -gt "$bc0" ] || fail "garbage cookie with a good key id not counted as bad_cookie"
	fi
done
# the untouched session still gets authenticated time
$QUERY --load "$T/sess" --json | grep -q '"authenticated":true' || fail "saved session after NAKs"
echo "resp_nts: authenticated time, NAKs for garbage cookies (bad_cookie $(nak bad_cookie), all $(naks))"
