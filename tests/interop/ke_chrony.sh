# ke_chrony.sh: Debian's chronyd as an NTS client gets authenticated time
# through our KE server and responder on loopback.
. "$SRC/tests/interop/lib.sh"
command -v chronyd >/dev/null || fail "chronyd not installed"
start_stack
chrony_conf "$T/c.conf" "server localhost port $NTP nts ntsport $KE iburst maxpoll 4" \
	"ntstrustedcerts $T/ca.pem" "port 0"
timeout 40 chronyd -Q -x -u root -f "$T/c.conf" -t 30 >"$T/chronyd.log" 2>&1 || true
grep -q "System clock wrong by" "$T/chronyd.log" || fail "chronyd got no NTS sample"
off=$(sed -n 's/.*System clock wrong by \(-\{0,1\}[0-9.]*\) seconds.*/\1/p' "$T/chronyd.log")
python3 -c "import sys; sys.exit(0 if abs(float('$off')) < 0.001 else 1)" ||
	fail "offset $off s not below 1 ms"
[ "$(metric $KE_METRICS 'outcome="ok"')" -ge 1 ] || fail "KE server counted no handshake"
[ "$(metric $RESP_METRICS 'responses_total\{kind="nts"')" -ge 1 ] || fail "no NTS response counted"
for r in unknown_key expired_key bad_cookie bad_auth no_keys; do
	[ "$(metric $RESP_METRICS "reason=\"$r\"")" = 0 ] || fail "NAK $r counted"
done
echo "ke_chrony: chronyd NTS sample offset $off s via our KE + responder"
