# query_chrony.sh: nts-query against Debian's chronyd as an NTS server (an
# independent implementation of both NTS-KE and NTS for NTPv4).
. "$SRC/tests/interop/lib.sh"
command -v chronyd >/dev/null || fail "chronyd not installed"
make_pki
NTP=$(free_port)
KE=$(free_port)
chrony_conf "$T/s.conf" "port $NTP" "ntsport $KE" "ntsserverkey $T/server.key" \
	"ntsservercert $T/server.pem" "local stratum 10" "allow 127.0.0.1" "bindcmdaddress /"
chronyd -x -u root -d -f "$T/s.conf" >"$T/chronyd-server.log" 2>&1 &
PIDS="$PIDS $!"
i=0
until $QUERY --ca "$T/ca.pem" --json localhost:$KE >"$T/q.json" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 50 ] && fail "nts-query never succeeded against chronyd: $(cat "$T/q.json")"
	sleep 0.2
done
grep -q '"authenticated":true' "$T/q.json" || fail "not authenticated"
grep -q '"stratum":10' "$T/q.json" || fail "unexpected stratum: $(cat "$T/q.json")"
$QUERY --ca "$T/ca.pem" --placeholders 3 --count 2 localhost:$KE >/dev/null || fail "placeholders"
$QUERY --plain 127.0.0.1:$NTP | grep -q "stratum 10" || fail "plain"
echo "query_chrony: $(cat "$T/q.json")"
