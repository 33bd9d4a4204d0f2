# resp_syncsource_ntp.sh: nts-responder as shipped (syncsource ntp, seccomp
# on by default) against a real chronyd on loopback. Issue 18: the first
# poll of the local daemon ran libuv's lazy sendmmsg probe, which creates a
# socket, and the seccomp filter killed the responder right after start.
# Asserts that it stays up across several polls, answers plain and NTS
# queries, takes its stratum from chronyd's (chronyd "local stratum 7": the
# responder serves the same clock, so 7 too), and that the poll socket is
# connected to the source.
#
# The machine's kernel clock usually carries STA_UNSYNC (chronyd -x never
# disciplines it), so the responder runs with the fake_adjtime.so shim
# (LD_PRELOAD), which answers its read-only ntp_adjtime with a synchronised
# state. The machine's clock is never set.
. "$SRC/tests/interop/lib.sh"
command -v chronyd >/dev/null || fail "chronyd not installed"
[ -f "${FAKE_ADJTIME:-}" ] || fail "FAKE_ADJTIME not built"
make_pki
make_keys
CHRONY=$(free_port)
NTP=$(free_port)
KE=$(free_port)
chrony_conf "$T/c.conf" "port $CHRONY" "bindaddress 127.0.0.1" "local stratum 7" "allow 127.0.0.1"
chronyd -x -u root -d -f "$T/c.conf" >"$T/chronyd.log" 2>&1 &
PIDS="$PIDS $!"
start_ke $KE $NTP
RESP_METRICS=$(free_port)
cat >"$T/responder.conf" <<CONF
listen 127.0.0.1:$NTP
workers 2
keyfile $T/responder.keys
deployment $T/keyhost/deployment.pub
syncsource ntp 127.0.0.1:$CHRONY
metrics 127.0.0.1:$RESP_METRICS
CONF
grep -q seccomp "$T/responder.conf" && fail "the test must run the default (seccomp yes)"
LD_PRELOAD=$FAKE_ADJTIME "$BUILD/ntp-responder/nts-responder" -c "$T/responder.conf" \
	>"$T/responder.log" 2>&1 &
PIDS="$PIDS $!"
RESP_PID=$!
wait_metrics $RESP_METRICS
grep -q "seccomp allow-list active" "$T/responder.log" || fail "seccomp not active"

# chronyd needs a moment before it answers as a synchronised stratum-7 server;
# the responder polls at start and every 16 s: wait for a synchronised state
i=0
until [ "$(metric $RESP_METRICS '^nts_responder_synchronised ' 2>/dev/null)" = 1 ]; do
	kill -0 $RESP_PID 2>/dev/null || fail "nts-responder died: $(tail -3 "$T/responder.log")"
	i=$((i + 1))
	[ $i -gt 400 ] && fail "never synchronised from chronyd (40 s)"
	sleep 0.1
done
polls=$(metric $RESP_METRICS '^nts_responder_sync_polls_total ')
replies=$(metric $RESP_METRICS '^nts_responder_sync_replies_total ')
[ "$replies" -ge 1 ] || fail "no reply from chronyd counted"

$QUERY --plain 127.0.0.1:$NTP >"$T/plain.out" || fail "plain query: $(cat "$T/plain.out")"
grep -q "stratum 7 " "$T/plain.out" || fail "plain: stratum not chronyd's: $(cat "$T/plain.out")"
grep -q "leap 0 " "$T/plain.out" || fail "plain: leap: $(cat "$T/plain.out")"
$QUERY --ca "$T/ca.pem" --json localhost:$KE >"$T/nts.json" || fail "NTS query: $(cat "$T/nts.json")"
grep -q '"authenticated":true' "$T/nts.json" || fail "NTS: not authenticated: $(cat "$T/nts.json")"
grep -q '"stratum":7' "$T/nts.json" || fail "NTS: stratum: $(cat "$T/nts.json")"

# the poll socket is connected to chronyd (item 15): ss shows the peer
ss -Hunp "dport = :$CHRONY" 2>/dev/null | grep -q "pid=$RESP_PID," ||
	fail "the poll socket is not connected to 127.0.0.1:$CHRONY: $(ss -Hunap | grep "pid=$RESP_PID,")"

# still up after at least one more poll (the 16 s timer), with seccomp on
i=0
until [ "$(metric $RESP_METRICS '^nts_responder_sync_polls_total ')" -gt "$polls" ]; do
	kill -0 $RESP_PID 2>/dev/null || fail "nts-responder died: $(tail -3 "$T/responder.log")"
	i=$((i + 1))
	[ $i -gt 250 ] && fail "no second poll within 25 s"
	sleep 0.1
done
sleep 0.5
kill -0 $RESP_PID 2>/dev/null || fail "nts-responder died after the second poll"
$QUERY --plain 127.0.0.1:$NTP | grep -q "stratum 7 " || fail "plain after the second poll"
grep -q "seccomp: syscall" "$T/responder.log" && fail "seccomp refused a call: $(grep seccomp "$T/responder.log")"
echo "resp_syncsource_ntp: up with seccomp, $(metric $RESP_METRICS '^nts_responder_sync_polls_total ') polls, stratum 7 as chronyd"
