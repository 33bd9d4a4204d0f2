# ke_reload.sh: certificate renewal on disk (certbot-style replacement) is
# picked up without a restart and without dropping service; a bad new
# certificate is refused and the old one kept; SIGHUP reloads too.
. "$SRC/tests/interop/lib.sh"
start_stack
serial() {
	echo | openssl s_client -connect 127.0.0.1:$KE -tls1_3 -alpn ntske/1 2>/dev/null |
		openssl x509 -noout -serial
}
s1=$(serial)
make_cert renewed
cp "$T/renewed.key" "$T/server.key.new" && cp "$T/renewed.pem" "$T/server.pem.new"
mv "$T/server.key.new" "$T/server.key" && mv "$T/server.pem.new" "$T/server.pem"
i=0
until [ "$(serial)" != "$s1" ]; do
	i=$((i + 1))
	[ $i -gt 30 ] && fail "renewed certificate not picked up"
	sleep 0.2
done
$QUERY --ca "$T/ca.pem" localhost:$KE >/dev/null || fail "query after renewal"
s2=$(serial)
# a broken renewal: refused, the running certificate stays
echo "not a certificate" >"$T/server.pem.new" && mv "$T/server.pem.new" "$T/server.pem"
sleep 1.2
[ "$(metric $KE_METRICS 'result="failed"')" -ge 1 ] || fail "bad certificate not refused"
[ "$(serial)" = "$s2" ] || fail "bad certificate replaced the good one"
$QUERY --ca "$T/ca.pem" localhost:$KE >/dev/null || fail "service lost after a bad renewal"
kill -HUP $KE_PID
sleep 0.3
$QUERY --ca "$T/ca.pem" localhost:$KE >/dev/null || fail "after SIGHUP"
kill -0 $KE_PID || fail "KE server died"
echo "ke_reload: ok"
