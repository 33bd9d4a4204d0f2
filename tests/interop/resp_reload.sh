# resp_reload.sh: key files re-exported and replaced (atomically, as the
# cron job does) while clients query continuously: no request with a valid
# cookie is refused; a corrupted file is refused and the old keys stay.
. "$SRC/tests/interop/lib.sh"
start_stack
$QUERY --ca "$T/ca.pem" --save "$T/sess" localhost:$KE >/dev/null || fail "first query"
(
	for i in $(seq 1 12); do
		$KEYCTL export --dir "$T/keyhost" --role responder --out "$T/responder.keys" >/dev/null
		sleep 0.3
	done
) &
EXPORTER=$!
PIDS="$PIDS $EXPORTER"
n=0
while kill -0 $EXPORTER 2>/dev/null; do
	$QUERY --load "$T/sess" --save "$T/sess" --count 2 >/dev/null || fail "query $n refused during reload"
	n=$((n + 1))
done
[ "$(metric $RESP_METRICS 'result="ok"')" -ge 3 ] || fail "the responder did not reload"
# a corrupted file is refused; the keys in use stay
printf 'garbage' >"$T/responder.keys.new" && mv "$T/responder.keys.new" "$T/responder.keys"
sleep 0.6
[ "$(metric $RESP_METRICS 'result="failed"')" -ge 1 ] || fail "corrupted file not refused"
$QUERY --load "$T/sess" --count 2 >/dev/null || fail "old keys not kept"
kill -HUP $RESP_PID
sleep 0.3
$QUERY --load "$T/sess" >/dev/null || fail "after SIGHUP"
for r in unknown_key expired_key bad_cookie bad_auth no_keys; do
	[ "$(metric $RESP_METRICS "reason=\"$r\"")" = 0 ] || fail "NAK $r during reloads"
done
echo "resp_reload: $n query rounds across $(metric $RESP_METRICS 'result="ok"') reloads, no NAK"
