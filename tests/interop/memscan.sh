# memscan.sh: signer + keyless KE server + responder with a known TLS key
# and a known master (nts-keyctl import); after handshakes and queries, the
# memory of each process is scanned (tests/interop/memscan.py): the TLS
# private key only in the signer, the master nowhere, no responder key of an
# epoch outside its window. An in-process KE server is scanned too: there
# the scan must find the key (it proves it can see keys held by BoringSSL).
. "$SRC/tests/interop/lib.sh"
make_pki
EPOCH=3600
WINDOW=3
NOW=$(date +%s)
head -c 32 /dev/urandom >"$T/master"
# generation 0 from 10 epochs ago, then the known master as generation 1
# from 8 epochs ago: epochs n-8 .. n-4 of it are outside the window
$KEYCTL init --dir "$T/keyhost" --epoch-length $EPOCH --window $WINDOW \
	--now $((NOW - 10 * EPOCH)) >/dev/null
ACT=$((NOW / EPOCH - 8))
$KEYCTL import --dir "$T/keyhost" --master "$T/master" --activation $ACT >/dev/null ||
	fail "import"
$KEYCTL export --dir "$T/keyhost" --role ke --out "$T/ke.keys" >/dev/null
$KEYCTL export --dir "$T/keyhost" --role responder --out "$T/responder.keys" >/dev/null
NTP=$(free_port)
KE=$(free_port)
KE2=$(free_port)
start_responder $NTP
NTS_KEYLESS=1 start_ke $KE $NTP
grep -q "$T/server.key" "$T/ke.conf" && fail "keyless KE configured with the key"
for i in 1 2 3 4 5; do
	$QUERY --ca "$T/ca.pem" --count 2 localhost:$KE >/dev/null || fail "query $i (keyless)"
done
$QUERY --ca "$T/ca.pem" --aead 15 --count 2 localhost:$KE >/dev/null || fail "query AEAD 15"
KEYLESS_PID=$KE_PID
[ "$(metric $SIGNER_METRICS 'nts_signer_requests_total')" -ge 6 ] || fail "the signer did not sign"
# the weaker mode for contrast
NTS_KEYLESS=0 start_ke $KE2 $NTP
$QUERY --ca "$T/ca.pem" localhost:$KE2 >/dev/null || fail "query (in-process)"
python3 "$SRC/tests/interop/memscan.py" --signer $SIGNER_PID --ke $KEYLESS_PID \
	--responder $RESP_PID --ke-has-key $KE_PID --tls-key "$T/server.key" \
	--master "$T/master" --deployment "$T/keyhost/deployment.pub" --gen 1 \
	--activation $ACT --epoch-len $EPOCH --window $WINDOW --now $NOW >"$T/scan.out" 2>&1 ||
	{ cat "$T/scan.out"; fail "memory scan"; }
cat "$T/scan.out"
echo "memscan: ok"
