# ke_query.sh: nts-query against our KE server and responder: both AEADs,
# 0..7 placeholders, IPv6, saved sessions, and NAKs for foreign cookies.
. "$SRC/tests/interop/lib.sh"
start_stack
$QUERY --ca "$T/ca.pem" --json --count 2 localhost:$KE >"$T/q30.json" || fail "query (30)"
grep -q '"authenticated":true,"ke":true,"server":"127.0.0.1","port":'$NTP',"aead":30' "$T/q30.json" ||
	fail "AEAD 30 session: $(cat "$T/q30.json")"
$QUERY --ca "$T/ca.pem" --aead 15 --json localhost:$KE | grep -q '"aead":15' || fail "AEAD 15 session"
for n in 0 1 3 7; do
	out=$($QUERY --ca "$T/ca.pem" --aead 15 --placeholders $n --json localhost:$KE) ||
		fail "placeholders $n"
	echo "$out" | grep -q "\"new_cookies\":$((n + 1))" || fail "placeholders $n: $out"
done
$QUERY --ca "$T/ca.pem" --ntp "[::1]:$NTP" "[::1]:$KE" >/dev/null || fail "IPv6"
$QUERY --ca "$T/ca.pem" --sni localhost 127.0.0.1:$KE >/dev/null || fail "IP literal with SNI"
# a saved session queries without a new handshake
$QUERY --ca "$T/ca.pem" --save "$T/sess" localhost:$KE >/dev/null || fail "save"
hs=$(metric $KE_METRICS 'outcome="ok"')
$QUERY --load "$T/sess" --count 3 >/dev/null || fail "load"
[ "$(metric $KE_METRICS 'outcome="ok"')" = "$hs" ] || fail "load did a handshake"
# cookies of another deployment: NAK (exit 4)
mv "$T/keyhost" "$T/keyhost.orig"
$KEYCTL init --dir "$T/keyhost" >/dev/null
$KEYCTL export --dir "$T/keyhost" --role ke --out "$T/other-ke.keys" >/dev/null
cp "$T/ke.conf" "$T/other-ke.conf"
KE2=$(free_port)
sed -i "s|$T/ke.keys|$T/other-ke.keys|; s|^listen 127.0.0.1:$KE|listen 127.0.0.1:$KE2|; /^listen \[::1\]/d; /^metrics/d" "$T/other-ke.conf"
echo "metrics off" >>"$T/other-ke.conf"
"$BUILD/ke-server/nts-ke-server" -c "$T/other-ke.conf" >"$T/other-ke.log" 2>&1 &
PIDS="$PIDS $!"
sleep 0.5
set +e
$QUERY --ca "$T/ca.pem" localhost:$KE2 >/dev/null 2>&1
rc=$?
set -e
[ $rc = 4 ] || fail "foreign cookie: exit $rc, expected 4 (NAK)"
# same key id (generation 0, this epoch), other key: the cookie fails to open
[ "$(metric $RESP_METRICS 'reason="bad_cookie"')" -ge 1 ] || fail "NAK reason not counted"
echo "ke_query: ok"
