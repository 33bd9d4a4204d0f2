# signer_recovery.sh: a keyless KE server under a steady handshake load
# while its signer is stopped (slow: requests time out after 'signerdeadline'),
# killed (down: refused at once) and started again. Failures must be fast
# (well under the 2 s KE deadline), end with a TLS internal_error alert and
# be counted as signer_failure; after the
# restart handshakes succeed again without restarting the KE server.
. "$SRC/tests/interop/lib.sh"
NTS_KEYLESS=1 start_stack "signerdeadline 300ms"
KE_FIRST_PID=$KE_PID
$QUERY --ca "$T/ca.pem" localhost:$KE >/dev/null || fail "first query"
python3 "$SRC/tests/interop/keload.py" --port $KE --ca "$T/ca.pem" --seconds 9 \
	--out "$T/load.txt" --ready "$T/load.ready" >"$T/load.summary" 2>&1 &
LOAD=$!
PIDS="$PIDS $LOAD"
i=0
until [ -f "$T/load.ready" ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "load generator did not start"
	sleep 0.1
done
t0=$(cat "$T/load.ready")
sleep 1.5
kill -STOP $SIGNER_PID
sleep 1.5
kill -CONT $SIGNER_PID
sleep 0.5
kill -9 $SIGNER_PID
wait $SIGNER_PID 2>/dev/null || true
sleep 2
t_restart=$(date +%s.%N)
start_signer
wait $LOAD || fail "load generator"
kill -0 $KE_FIRST_PID 2>/dev/null || fail "the KE server died"
[ "$KE_PID" = "$KE_FIRST_PID" ] || fail "the KE server was restarted"
python3 - "$T/load.txt" "$(echo "$t_restart - $t0" | bc)" <<'PY' || fail "load results"
import sys
rows = [l.split() for l in open(sys.argv[1])]
reasons = set(r[3] for r in rows if r[2] == "fail")
rows = [(float(r[0]), float(r[1]), r[2] == "ok") for r in rows]
restart = float(sys.argv[2])
fails = [r for r in rows if not r[2]]
before = [r for r in rows if r[0] < 1.2]
after = [r for r in rows if r[0] > restart + 1.5]
print("attempts %d, failed %d (slowest failure %.3f s), ok before %d/%d, ok after restart %d/%d"
      % (len(rows), len(fails), max((r[1] for r in fails), default=0),
         sum(r[2] for r in before), len(before), sum(r[2] for r in after), len(after)))
assert before and all(r[2] for r in before), "handshakes failed before the signer stopped"
assert len(fails) >= 3, "no failures while the signer was stopped or down"
assert max(r[1] for r in fails) < 1.0, "a failure took 1 s or more (KE deadline is 2 s)"
assert reasons == {"alert_internal_error"}, "failures without a TLS alert: %s" % reasons
assert len(after) >= 5 and all(r[2] for r in after), "handshakes fail after the restart"
PY
cat "$T/load.summary"
nfail=$(grep -c fail "$T/load.txt")
sf=$(metric $KE_METRICS 'outcome="signer_failure"')
[ "$sf" -ge "$nfail" ] || fail "signer_failure $sf < $nfail failed handshakes"
[ "$(metric $KE_METRICS 'nts_ke_signer_connected')" = 2 ] || fail "workers not reconnected"
echo "signer_recovery: ok ($nfail fast failures counted as signer_failure=$sf)"
