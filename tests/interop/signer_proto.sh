# signer_proto.sh: nts-signer's protocol checked from a direct client
# (tests/interop/signer_proto.py): real signatures, many in flight,
# refusals by status, malformed requests end the connection, peers checked
# with SO_PEERCRED; the counters match.
. "$SRC/tests/interop/lib.sh"
make_pki
chmod 755 "$T"
start_signer
python3 "$SRC/tests/interop/signer_proto.py" "$T/signer.sock" "$T/server.key" \
	"$T/server.pem" "$T" || fail "signer protocol"
sleep 0.2
for r in unknown_key bad_algorithm bad_input expired malformed peer_refused; do
	v=$(metric $SIGNER_METRICS "reason=\"$r\"")
	[ "$v" -ge 1 ] || fail "failure reason $r not counted ($v)"
done
[ "$(metric $SIGNER_METRICS 'reason="bad_algorithm"')" = 3 ] || fail "bad_algorithm count"
[ "$(metric $SIGNER_METRICS 'nts_signer_requests_total')" -ge 73 ] || fail "requests count"
# configuration errors name FILE:LINE
printf 'socket %s\nkey %s\nbogus 1\n' "$T/x.sock" "$T/server.key" >"$T/bad.conf"
"$BUILD/signer/nts-signer" -c "$T/bad.conf" --check 2>"$T/bad.err" && fail "bad config accepted"
grep -q "bad.conf:3" "$T/bad.err" || fail "no FILE:LINE: $(cat "$T/bad.err")"
printf 'socket %s\nkey %s\nallowuser root\n' "$T/x.sock" "$T/ca.pem" >"$T/bad2.conf"
"$BUILD/signer/nts-signer" -c "$T/bad2.conf" --check 2>/dev/null && fail "a certificate taken as key"
# SIGHUP reloads the keys: a renewal's new key next to the old one is
# loaded and signs; a broken key file keeps the running set
make_cert renewed
echo "key $T/renewed.key" >>"$T/signer.conf"
kill -HUP $SIGNER_PID
i=0
until [ "$(metric $SIGNER_METRICS '^nts_signer_keys ')" = 2 ]; do
	i=$((i + 1))
	[ $i -gt 50 ] && fail "SIGHUP did not load the second key"
	sleep 0.1
done
python3 "$SRC/tests/interop/signer_proto.py" "$T/signer.sock" "$T/renewed.key" \
	"$T/renewed.pem" "$T" || fail "signing with the reloaded key"
sed -i "s|^key $T/renewed.key|key $T/ca.pem|" "$T/signer.conf"
kill -HUP $SIGNER_PID
i=0
until grep -q "keeping the running keys" "$T/signer.log"; do
	i=$((i + 1))
	[ $i -gt 50 ] && fail "a broken key file on SIGHUP was not reported"
	sleep 0.1
done
kill -0 $SIGNER_PID || fail "signer died on a bad reload"
[ "$(metric $SIGNER_METRICS '^nts_signer_keys ')" = 2 ] || fail "bad reload changed the key set"
python3 "$SRC/tests/interop/signer_proto.py" "$T/signer.sock" "$T/renewed.key" \
	"$T/renewed.pem" "$T" || fail "the kept key set does not sign"
echo "signer_proto: ok"
