# ops_config.sh: configuration and signals as an operator meets them.
# --check finds typos with FILE:LINE and a non-zero exit; SIGHUP applies
# reloadable directives, logs the others as needing a restart and refuses a
# broken file; SIGTERM drains (KE: a handshake in flight still gets its
# answer) and exits 0 within a bound.
. "$SRC/tests/interop/lib.sh"
make_pki
make_keys
KESRV=$BUILD/ke-server/nts-ke-server
RESP=$BUILD/ntp-responder/nts-responder
NTP=$(free_port)
KE=$(free_port)
start_responder $NTP
start_ke $KE $NTP "deadline 3s"

# --check: good files pass, a typo is reported as FILE:LINE
$KESRV -c "$T/ke.conf" --check >"$T/check.out" 2>&1 || fail "--check refused a good KE file: $(cat "$T/check.out")"
$RESP -c "$T/responder.conf" --check >"$T/check.out" 2>&1 || fail "--check refused a good responder file: $(cat "$T/check.out")"
# --check warns when a listen address covers the syncsource (the responder
# would poll itself); the shipped example does not
printf 'syncsource ntp 127.0.0.1:123\n' >"$T/selfpoll.conf"
$RESP -c "$T/selfpoll.conf" --check >"$T/check.out" 2>&1 || fail "--check refused a self-polling file"
grep -q "^$T/selfpoll.conf: warning: syncsource ntp 127.0.0.1:123: that is this responder's own listen address" "$T/check.out" ||
	fail "--check did not warn about a syncsource on the wildcard listen: $(cat "$T/check.out")"
printf 'listen 127.0.0.2:123\nsyncsource ntp 127.0.0.1:123\n' >"$T/selfpoll.conf"
$RESP -c "$T/selfpoll.conf" --check >"$T/check.out" 2>&1 || fail "--check refused a specific listen"
grep -q "warning" "$T/check.out" && fail "--check warned on another address: $(cat "$T/check.out")"
printf 'listen [::]:123\nsyncsource ntp [::1]:123\n' >"$T/selfpoll.conf"
$RESP -c "$T/selfpoll.conf" --check >"$T/check.out" 2>&1 || fail "--check refused an IPv6 self-poll"
grep -q "warning: syncsource ntp \[::1\]:123" "$T/check.out" || fail "--check did not warn for IPv6: $(cat "$T/check.out")"
$RESP -c "$SRC/deploy/examples/nts-responder.conf" --check >"$T/check.out" 2>&1 ||
	fail "--check refused the example: $(cat "$T/check.out")"
grep -q "warning" "$T/check.out" && fail "the example polls itself: $(cat "$T/check.out")"
expect_check() { # BINARY FILE LINE WHAT
	if "$1" -c "$2" --check >"$T/check.out" 2>&1; then
		fail "$(basename "$1") --check accepted $4"
	fi
	grep -q "^$2:$3: " "$T/check.out" || fail "$(basename "$1") --check on $4 said: $(cat "$T/check.out")"
}
for bin in KESRV RESP; do
	eval b=\$$bin
	[ $bin = KESRV ] && base=$T/ke.conf || base=$T/responder.conf
	n=$(($(wc -l <"$base") + 1))
	{ cat "$base"; echo "workres 2"; } >"$T/typo.conf"
	expect_check "$b" "$T/typo.conf" $n "an unknown directive"
	{ cat "$base"; echo "loglevel chatty"; } >"$T/typo.conf"
	expect_check "$b" "$T/typo.conf" $n "a bad log level"
	{ cat "$base"; echo "metrics 127.0.0.1:99999"; } >"$T/typo.conf"
	expect_check "$b" "$T/typo.conf" $n "a bad port"
	{ cat "$base"; echo "workers"; } >"$T/typo.conf"
	expect_check "$b" "$T/typo.conf" $n "a missing argument"
	{ echo "workers 1"; cat "$base"; } >"$T/typo.conf"
	expect_check "$b" "$T/typo.conf" $(($(grep -n '^workers' "$T/typo.conf" | tail -1 | cut -d: -f1))) "a repeated directive"
	"$b" -c "$T/ke.conf" extra >/dev/null 2>&1 && fail "$(basename "$b") accepted a stray argument"
done
# a key file that does not verify is caught by --check too
printf 'garbage' >"$T/bad.keys"
sed "s|^keyfile .*|keyfile $T/bad.keys|" "$T/responder.conf" >"$T/badkeys.conf"
$RESP -c "$T/badkeys.conf" --check >"$T/check.out" 2>&1 && fail "--check accepted a bad key file"
grep -q "keys:" "$T/check.out" || fail "bad key file: $(cat "$T/check.out")"
# and an unusable certificate
sed "s|^cert .*|cert $T/server.pem $T/ca.key|" "$T/ke.conf" >"$T/badcert.conf"
$KESRV -c "$T/badcert.conf" --check >"$T/check.out" 2>&1 && fail "--check accepted a key that does not match"
grep -q "certificates" "$T/check.out" || fail "bad cert: $(cat "$T/check.out")"
# certificate errors name the file, the OS error and (expired) the notAfter date
kecheck() { # WHAT CERTLINE EXTRA PATTERN
	{ grep -v '^cert ' "$T/ke.conf"; echo "$2"; [ -z "$3" ] || echo "$3"; } >"$T/kc.conf"
	$KESRV -c "$T/kc.conf" --check >"$T/check.out" 2>&1 && fail "--check accepted $1"
	grep -q "$4" "$T/check.out" || fail "--check on $1 said: $(cat "$T/check.out")"
}
kecheck "a missing chain" "cert $T/nochain.pem $T/server.key" "" \
	"$T/nochain.pem: cannot load certificate chain: No such file or directory"
kecheck "a missing key" "cert $T/server.pem $T/nokey.pem" "" \
	"$T/nokey.pem: cannot load private key: No such file or directory"
if command -v faketime >/dev/null; then
	faketime '2020-01-01 00:00:00' openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-nodes -days 1 -subj /CN=localhost -keyout "$T/old.key" -out "$T/old.pem" 2>/dev/null
	kecheck "an expired certificate" "cert $T/old.pem $T/old.key" "" \
		"$T/old.pem: certificate has expired (notAfter 2020-01-02 "
fi
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	# a keyless KE server whose user may not enter the signer's directory
	mkdir -m 0750 "$T/signerdir"
	{ grep -v '^cert ' "$T/ke.conf"; echo "cert $T/server.pem"; echo "signer $T/signerdir/s.sock"; } >"$T/kc.conf"
	setpriv --reuid=nobody --regid=nogroup --clear-groups $KESRV -c "$T/kc.conf" --check >"$T/check.out" 2>&1 &&
		fail "--check as nobody reached the signer"
	grep "cannot connect: Permission denied" "$T/check.out" | grep -q "signer group" ||
		fail "no hint at the signer group: $(cat "$T/check.out")"
fi

# SIGHUP: responder: 'plain no' applies at once, 'workers' needs a restart
$QUERY --plain 127.0.0.1:$NTP >/dev/null || fail "plain query"
{ grep -v '^workers' "$T/responder.conf"; echo "workers 3"; echo "plain no"; } >"$T/r2.conf"
cp "$T/r2.conf" "$T/responder.conf"
kill -HUP $RESP_PID
i=0
until [ "$(metric $RESP_METRICS 'nts_responder_config_reloads_total{result="ok"}')" = 1 ]; do
	i=$((i + 1)); [ $i -gt 50 ] && fail "responder config not reloaded"; sleep 0.1
done
$QUERY --plain --timeout 1 127.0.0.1:$NTP >/dev/null 2>&1 && fail "'plain no' not applied"
[ "$(metric $RESP_METRICS 'reason="plain_disabled"')" -ge 1 ] || fail "plain_disabled not counted"
[ "$(metric $RESP_METRICS 'nts_responder_config_restart_needed')" = 1 ] || fail "restart_needed not set"
grep -q "'workers' changed: needs a restart" "$T/responder.log" || fail "workers change not logged"
grep -q "'plain' changed: applied" "$T/responder.log" || fail "plain change not logged"
# a broken file is refused whole; the daemon keeps serving
echo "plain maybe" >>"$T/responder.conf"
kill -HUP $RESP_PID
i=0
until [ "$(metric $RESP_METRICS 'nts_responder_config_reloads_total{result="failed"}')" = 1 ]; do
	i=$((i + 1)); [ $i -gt 50 ] && fail "broken responder config not refused"; sleep 0.1
done
grep -q "responder.conf:[0-9]*: 'plain'" "$T/responder.log" || fail "reload error without FILE:LINE"
kill -0 $RESP_PID || fail "responder died on a broken reload"

# SIGHUP: KE: loglevel and cert apply, ntpport needs a restart
make_cert server2
{
	grep -v '^ntpport\|^cert' "$T/ke.conf"
	echo "cert $T/server2.pem $T/server2.key"
	echo "ntpport 4123"
	echo "loglevel debug"
} >"$T/k2.conf"
cp "$T/k2.conf" "$T/ke.conf"
kill -HUP $KE_PID
i=0
until [ "$(metric $KE_METRICS 'nts_ke_config_reloads_total{result="ok"}')" = 1 ]; do
	i=$((i + 1)); [ $i -gt 50 ] && fail "KE config not reloaded"; sleep 0.1
done
grep -q "'ntpport' changed: needs a restart" "$T/ke.log" || fail "ntpport change not logged"
grep -q "'loglevel' changed: applied" "$T/ke.log" || fail "loglevel change not logged"
grep -q "'cert' changed: applied" "$T/ke.log" || fail "cert change not logged"
metric $KE_METRICS "not_after_seconds.cert=.$T/server2.pem" >/dev/null || fail "new certificate not in use"
[ "$(metric $KE_METRICS 'nts_ke_config_restart_needed')" = 1 ] || fail "KE restart_needed not set"
# the running ntpport stays: clients are still sent to $NTP
$QUERY --ca "$T/ca.pem" localhost:$KE >/dev/null || fail "KE after reload"

# SIGTERM on the KE server: a handshake in flight is answered, new
# connections are refused, exit 0 within the deadline (3 s) plus slack
python3 - "$KE" "$T/ca.pem" "$KE_PID" <<'PY' || fail "KE drain"
import os, signal, socket, ssl, struct, sys, time
port, ca, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
c.load_verify_locations(ca)
c.set_alpn_protocols(["ntske/1"])
t = c.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5), server_hostname="localhost")
os.kill(pid, signal.SIGTERM)
time.sleep(0.5)
for i in range(4):  # any worker: all must have stopped accepting
    try:
        n = c.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=1),
                          server_hostname="localhost")
    except OSError:
        continue
    raise SystemExit("a new connection got a TLS handshake while draining")
rec = lambda ty, b=b"": struct.pack(">HH", ty, len(b)) + b
t.sendall(rec(0x8001, b"\0\0") + rec(0x8004, b"\0\x0f") + rec(0x8000))
data = b""
while True:
    d = t.recv(65536)
    if not d:
        break
    data += d
assert len(data) > 400, "in-flight session not answered while draining: %r" % data[:20]
PY
i=0
while kill -0 $KE_PID 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 40 ] && fail "KE server still running 4 s after SIGTERM"; sleep 0.1
done
rc=0; wait $KE_PID || rc=$?
[ $rc = 0 ] || fail "KE server exited $rc after SIGTERM"
grep -q "draining" "$T/ke.log" || fail "no drain message"

# SIGTERM on the responder: exit 0 within 1 s
t0=$(date +%s%N)
kill -TERM $RESP_PID
rc=0; wait $RESP_PID || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ $rc = 0 ] || fail "responder exited $rc after SIGTERM"
[ $ms -lt 1000 ] || fail "responder took $ms ms to stop"
echo "ops_config: ok (responder stopped in $ms ms)"
