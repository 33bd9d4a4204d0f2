# ke_keyless_renewal.sh: a certbot-style renewal with a new key in keyless
# mode (issue 18). The KE server must notice that nts-signer does not hold
# the new certificate's key: the reload (file watch and SIGHUP) is refused,
# the old chain stays and handshakes keep working, and the log says what
# to do. --check and a fresh start refuse the same configuration. Once the
# key is added to the signer and the signer reloaded, the KE server takes
# the new chain.
. "$SRC/tests/interop/lib.sh"
NTS_KEYLESS=1 start_stack
serial() {
	echo | openssl s_client -connect 127.0.0.1:$KE -tls1_3 -alpn ntske/1 2>/dev/null |
		openssl x509 -noout -serial 2>/dev/null
}
s1=$(serial)
[ -n "$s1" ] || fail "no certificate served"
$QUERY --ca "$T/ca.pem" localhost:$KE >/dev/null || fail "query before the renewal"
# the renewal: a new key, the chain replaced in place (the signer has only the old key)
make_cert renewed
cp "$T/renewed.pem" "$T/server.pem.new" && mv "$T/server.pem.new" "$T/server.pem"
sleep 1.5
kill -HUP $KE_PID
i=0
until [ "$(metric $KE_METRICS 'reloads_total.*result="failed"' || echo 0)" -ge 1 ] &&
	grep -q "reload the signer" "$T/ke.log"; do
	i=$((i + 1))
	[ $i -gt 50 ] && fail "renewal with a key the signer lacks was not refused"
	sleep 0.1
done
grep "does not hold the private key" "$T/ke.log" | grep -qi "add the new key to nts-signer.conf" ||
	fail "the log does not say what to do: $(grep certificates "$T/ke.log" | tail -2)"
[ "$(serial)" = "$s1" ] || fail "the old chain was not kept"
$QUERY --ca "$T/ca.pem" localhost:$KE >/dev/null || fail "handshakes fail after a refused renewal"
kill -0 $KE_PID || fail "KE server died"
# --check and a fresh start refuse the configuration as it stands
KESRV=$BUILD/ke-server/nts-ke-server
$KESRV -c "$T/ke.conf" --check >"$T/check.out" 2>&1 && fail "--check accepted a certificate whose key the signer lacks"
grep -q "does not hold the private key" "$T/check.out" || fail "--check said: $(cat "$T/check.out")"
KE2=$(free_port)
M2=$(free_port)
sed -e "s|^listen 127.0.0.1:.*|listen 127.0.0.1:$KE2|" -e "/^listen \[::1\]/d" \
	-e "s|^metrics .*|metrics 127.0.0.1:$M2|" "$T/ke.conf" >"$T/ke2.conf"
if timeout 20 "$KESRV" -c "$T/ke2.conf" >"$T/ke2.out" 2>&1; then
	fail "a KE server started with a certificate whose key the signer lacks"
fi
grep -q "does not hold the private key" "$T/ke2.out" || fail "start-up said: $(tail -3 "$T/ke2.out")"
# the operator follows the advice: the new key in the signer, the signer reloaded
echo "key $T/renewed.key" >>"$T/signer.conf"
kill -HUP $SIGNER_PID
sleep 1
kill -HUP $KE_PID
i=0
until [ "$(serial)" != "$s1" ]; do
	i=$((i + 1))
	[ $i -gt 50 ] && fail "new chain not taken after the signer got its key"
	sleep 0.2
done
$QUERY --ca "$T/ca.pem" localhost:$KE >/dev/null || fail "query with the renewed certificate"
echo "ke_keyless_renewal: ok"
