# ke_ratelimit.sh: the KE server's handshake rate limit and access list
# close connections right after accept, before any TLS work
# (docs/config-ke-server.md, ratelimit, allow, deny).
. "$SRC/tests/interop/lib.sh"
start_stack "ratelimit yes
ratelimitinterval 1h
ratelimitburst 3
deny ::1"
ok=0
for i in 1 2 3 4 5; do
	if $QUERY --ca "$T/ca.pem" --timeout 2 "127.0.0.1:$KE" >"$T/q$i.log" 2>&1; then
		ok=$((ok + 1))
	fi
done
[ "$ok" = 3 ] || fail "burst 3: $ok of 5 handshakes succeeded"
[ "$(metric $KE_METRICS 'outcome="rate_limited"')" = 2 ] || fail "rate_limited not counted"
# before TLS: the client sees the connection closed without a ServerHello
python3 - "$KE" <<'PY' || fail "a limited connection got TLS bytes"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
# a ClientHello-sized junk record: a server doing TLS would answer with an alert
s.sendall(b"\x16\x03\x01\x00\x05hello")
try:
    data = s.recv(100)
except ConnectionResetError:
    data = b""
assert data == b"", "got %r" % data
PY
[ "$(metric $KE_METRICS 'outcome="rate_limited"')" = 3 ] || fail "rate_limited not counted"
[ "$(metric $KE_METRICS 'outcome="tls_error"')" = 0 ] || fail "TLS work on a limited connection"
# the access list: ::1 is denied, also before TLS
! $QUERY --ca "$T/ca.pem" --timeout 2 "[::1]:$KE" >"$T/q6.log" 2>&1 || fail "denied source served"
[ "$(metric $KE_METRICS 'outcome="denied"')" = 1 ] || fail "denied not counted"
[ "$(metric $KE_METRICS 'outcome="ok"')" = 3 ] || fail "ok count"
# SIGHUP: a larger burst applies to the buckets kept
sed -i 's/^ratelimitburst 3$/ratelimitburst 4/' "$T/ke.conf"
kill -HUP "$KE_PID"
sleep 1
$QUERY --ca "$T/ca.pem" --timeout 2 "127.0.0.1:$KE" >"$T/q7.log" 2>&1 || fail "burst 4 after reload"
! $QUERY --ca "$T/ca.pem" --timeout 2 "127.0.0.1:$KE" >"$T/q8.log" 2>&1 ||
	fail "the bucket was not kept across the reload"
echo "ke_ratelimit: ok"
