# resp_large_request.sh: requests over 1280 bytes (issue 12 item 10). An
# AEAD 17 (AES-SIV-CMAC-512) session has 164-byte cookies, so a request
# with 6 placeholders is 1300 bytes and with 7 it is 1468: nts-responder
# used to drop everything over 1280 bytes, and such clients never got an
# answer. Both must be answered and authenticated, with 1 + N fresh cookies,
# and never with more bytes than the request (nts-query fails with
# "response longer than the request" otherwise). A datagram over the
# responder's limit (4096 bytes) is still dropped and counted as too_large.
. "$SRC/tests/interop/lib.sh"
make_pki
make_keys
NTP=$(free_port)
KE=$(free_port)
start_ke $KE $NTP "aead 30 15 17"
start_responder $NTP
for ph in 6 7; do
	$QUERY --ca "$T/ca.pem" --aead 17 --placeholders $ph --json localhost:$KE >"$T/q$ph.json" ||
		fail "AEAD 17 with $ph placeholders: $(cat "$T/q$ph.json")"
	grep -q '"authenticated":true' "$T/q$ph.json" || fail "$ph placeholders: $(cat "$T/q$ph.json")"
	grep -q '"aead":17' "$T/q$ph.json" || fail "$ph placeholders: not AEAD 17: $(cat "$T/q$ph.json")"
	grep -q "\"new_cookies\":$((ph + 1))," "$T/q$ph.json" ||
		fail "$ph placeholders: not $((ph + 1)) cookies: $(cat "$T/q$ph.json")"
done
resp=$(metric $RESP_METRICS '^nts_responder_responses_total\{kind="nts"\}')
[ "$resp" -ge 2 ] || fail "NTS responses counted: $resp"

# over the limit: dropped without an answer, counted
python3 - "$NTP" <<'PY' || fail "a 4097-byte datagram was answered"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
s.sendto(bytes([0x23]) + bytes(4096), ("127.0.0.1", int(sys.argv[1])))
try:
    s.recv(8192)
    sys.exit(1)
except socket.timeout:
    pass
PY
big=$(metric $RESP_METRICS '^nts_responder_drops_total\{reason="too_large"\}')
[ "$big" = 1 ] || fail "too_large drops: $big"
echo "resp_large_request: AEAD 17 with 6 and 7 placeholders answered; 4097 bytes dropped"
