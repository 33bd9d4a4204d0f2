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
echo "signer_proto: ok"
