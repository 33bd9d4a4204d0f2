# query_ntpsec.sh: nts-query and nts-bench against Debian's NTPsec ntpd as
# an NTS server (an independent implementation of NTS-KE and NTS for NTPv4).
# NTPsec's KE server is on TCP 4460 and its NTP on UDP 123, fixed in 1.2.2,
# so this runs in a private network namespace (see ntpsec_netns in lib.sh).
# NTPsec has no time source here, so it answers unsynchronised (leap 3).
. "$SRC/tests/interop/lib.sh"
ntpsec_netns
make_pki
ntpsec_start "nts enable" "nts cert $T/server.pem" "nts key $T/server.key"
i=0
until $QUERY --ca "$T/ca.pem" --json localhost:4460 >"$T/q.json" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 50 ] && fail "nts-query never succeeded against NTPsec: $(cat "$T/q.json")"
	sleep 0.2
done
grep -q '"ok":true,"authenticated":true,"ke":true' "$T/q.json" || fail "not authenticated: $(cat "$T/q.json")"
# NTPsec picks AES-SIV-CMAC-256 from our offer (30,15) and sends no Port record
grep -q '"port":123,"aead":15,' "$T/q.json" || fail "unexpected port or AEAD: $(cat "$T/q.json")"
grep -q '"leap":3' "$T/q.json" || fail "NTPsec has no source, expected leap 3: $(cat "$T/q.json")"
grep -q '"new_cookies":1,"cookies_left":8' "$T/q.json" || fail "cookie accounting: $(cat "$T/q.json")"
# IPv6, placeholders (7 placeholders: 8 new cookies), several requests on one KE
$QUERY --ca "$T/ca.pem" --aead 15 --json "[::1]:4460" >"$T/q6.json" || fail "IPv6: $(cat "$T/q6.json")"
grep -q '"authenticated":true' "$T/q6.json" || fail "IPv6 not authenticated"
$QUERY --ca "$T/ca.pem" --placeholders 7 --count 3 --json localhost:4460 >"$T/qp.json" ||
	fail "placeholders: $(cat "$T/qp.json")"
[ "$(grep -c '"authenticated":true.*"new_cookies":8,' "$T/qp.json")" = 3 ] ||
	fail "7 placeholders did not give 8 cookies 3 times: $(cat "$T/qp.json")"
# cookies saved, then used by a new process without NTS-KE
$QUERY --ca "$T/ca.pem" --save "$T/session" localhost:4460 >/dev/null || fail "save"
$QUERY --load "$T/session" --count 2 --json >"$T/ql.json" || fail "load: $(cat "$T/ql.json")"
[ "$(grep -c '"authenticated":true,"ke":false' "$T/ql.json")" = 2 ] || fail "saved cookies: $(cat "$T/ql.json")"
# AES-SIV-CMAC-512 (17) against an independent implementation
$QUERY --ca "$T/ca.pem" --aead 17 --json localhost:4460 >"$T/q17.json" || fail "AEAD 17: $(cat "$T/q17.json")"
grep -q '"authenticated":true.*"aead":17,' "$T/q17.json" || fail "AEAD 17: $(cat "$T/q17.json")"
# NTPsec answers an offer of 30 alone with its default AEAD 15 (RFC 8915
# s4.1.5 wants one from the offer, or an empty record): refused, exit 3
rc=0
$QUERY --ca "$T/ca.pem" --aead 30 --json localhost:4460 >"$T/q30.json" || rc=$?
[ $rc = 3 ] && grep -q '"error":"no common AEAD"' "$T/q30.json" ||
	fail "AEAD 30 alone: exit $rc $(cat "$T/q30.json")"
# NTPsec would honour 16 (AES-SIV-CMAC-384), which we do not implement: not offered
rc=0
$QUERY --ca "$T/ca.pem" --aead 16 localhost:4460 >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "offering AEAD 16: exit $rc, expected a usage error"
# a wrong CA must fail
$QUERY --ca "$T/server.pem" localhost:4460 >/dev/null 2>&1 && fail "accepted a server the CA did not sign"
# NTS-KE load: 10 handshakes, every response validated by nts-bench
$BUILD/tools/nts-bench ke --count 10 --concurrency 4 --ca "$T/ca.pem" --json localhost:4460 \
	>"$T/bench.json" 2>"$T/bench.log" || fail "nts-bench ke: $(cat "$T/bench.json" "$T/bench.log")"
grep -q '"handshakes":10,.*"failures":0,.*"verified":"every response"' "$T/bench.json" ||
	fail "nts-bench ke: $(cat "$T/bench.json")"
hs=$(sed -n 's/.*"handshakes_per_s":\([0-9.]*\).*/\1/p' "$T/bench.json")

# NTPsec's own counters: 16 good KE serves (1 + 1 + 1 + 1 + 1 + 1 + 10; the wrong-CA
# client closes before its request), good NTS requests, none in error
"$NTPQ" -c ntsinfo 127.0.0.1 >"$T/ntsinfo.txt" 2>&1 || fail "ntpq ntsinfo"
stat() { sed -n "s/^$1:[[:space:]]*\([0-9]*\)\$/\1/p" "$T/ntsinfo.txt"; }
[ "$(stat "NTS KE serves good")" = 16 ] || fail "NTPsec KE serves: $(cat "$T/ntsinfo.txt")"
[ "$(stat "NTS server recvs good")" -ge 8 ] || fail "NTPsec NTS requests: $(cat "$T/ntsinfo.txt")"
[ "$(stat "NTS server recvs w error")" = 0 ] || fail "NTPsec NTS errors: $(cat "$T/ntsinfo.txt")"
[ "$(stat "NTS decode cookies error")" = 0 ] || fail "NTPsec cookie errors: $(cat "$T/ntsinfo.txt")"
echo "query_ntpsec: $NTPSEC_VERSION: $(cat "$T/q.json"); nts-bench ke 10 handshakes, $hs/s"
