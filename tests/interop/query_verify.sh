# query_verify.sh: nts-query tells why a KE server's certificate did not
# verify: a CA it was not given ("unknown CA (pass --ca FILE?)") is not the
# same message as a certificate for another name ("does not match the name
# HOST"), for DNS names and IP literals alike. Exit code 3 (NTS-KE) both.
. "$SRC/tests/interop/lib.sh"
make_pki
make_keys
# a second certificate from the same CA, for another name only
(
	cd "$T"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=ntp.example" \
		-keyout other.key -out other.csr 2>/dev/null
	printf 'subjectAltName=DNS:ntp.example\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >other.ext
	openssl x509 -req -in other.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile other.ext -out other.pem 2>/dev/null
	# and a CA that signed neither
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=another CA" -keyout other-ca.key -out other-ca.pem \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
)
NTP=$(free_port)
KE=$(free_port)
KE_OTHER=$(free_port)
start_responder $NTP
start_ke $KE $NTP
sed "s|^cert .*|cert $T/other.pem $T/other.key|; s|:$KE\$|:$KE_OTHER|; /^metrics/d" "$T/ke.conf" >"$T/ke-other.conf"
echo "metrics off" >>"$T/ke-other.conf"
"$BUILD/ke-server/nts-ke-server" -c "$T/ke-other.conf" >"$T/ke-other.log" 2>&1 &
PIDS="$PIDS $!"
i=0
until $QUERY --ca "$T/ca.pem" --sni ntp.example localhost:$KE_OTHER >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 50 ] && fail "the KE server with the other certificate did not start"
	sleep 0.1
done
UNKNOWN_CA="certificate signed by an unknown CA (pass --ca FILE?)"
# expect NAME WANT ARGS...: nts-query ARGS exits 3 with WANT in its message
# and neither of the two explanations that do not apply
expect() {
	what=$1
	want=$2
	shift 2
	set +e
	out=$($QUERY "$@" 2>&1)
	rc=$?
	set -e
	[ $rc = 3 ] || fail "$what: exit $rc, expected 3: $out"
	echo "$out" | grep -qF "$want" || fail "$what: no '$want' in: $out"
	case $want in
	*"unknown CA"*) echo "$out" | grep -q "does not match" && fail "$what: also a name mismatch: $out" ;;
	*) echo "$out" | grep -qF "unknown CA" && fail "$what: also an unknown CA: $out" ;;
	esac
	echo "$what: $out"
}
$QUERY --ca "$T/ca.pem" localhost:$KE >/dev/null || fail "the right CA and name do not verify"
expect "CA not passed" "$UNKNOWN_CA" localhost:$KE
expect "another CA" "certificate signed by an unknown CA (not in $T/other-ca.pem)" --ca "$T/other-ca.pem" localhost:$KE
expect "certificate for another name" "certificate does not match the name localhost" \
	--ca "$T/ca.pem" localhost:$KE_OTHER
expect "IP literal not in the certificate" "certificate does not match the name 127.0.0.1" \
	--ca "$T/ca.pem" 127.0.0.1:$KE_OTHER
expect "SNI for another name" "certificate does not match the name ntp.example" \
	--ca "$T/ca.pem" --sni ntp.example localhost:$KE
echo "query_verify: ok"
