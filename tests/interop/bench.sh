# bench.sh: nts-bench against our KE server and responder for about a
# second per mode: no failure of any kind, non-zero rates, responses
# verified; non-loopback targets refused.
. "$SRC/tests/interop/lib.sh"
BENCH=$BUILD/tools/nts-bench
start_stack
# check FILE EXPR: a Python expression over the JSON object j must hold
check() {
	python3 - "$1" "$2" <<'PY' || fail "$2: $(cat "$1")"
import json, sys
j = json.load(open(sys.argv[1]))
s = j.get("steps", [{}])
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
}
$BENCH ke --json --duration 1 --concurrency 8 --ca "$T/ca.pem" --sni localhost 127.0.0.1:$KE >"$T/ke.json" ||
	fail "ke: exit $? $(cat "$T/ke.json")"
check "$T/ke.json" 'j["failures"] == 0 and j["handshakes"] > 0 and j["handshakes_per_s"] > 0 and j["latency_us"]["p99"] > 0'
$BENCH ntp --json --duration 1 --rate 2000 127.0.0.1:$NTP >"$T/ntp.json" || fail "ntp: exit $?"
check "$T/ntp.json" 's[0]["bad"] == 0 and s[0]["nak"] == 0 and s[0]["responses_per_s"] > 500 and s[0]["proc_us"]["p50"] > 0'
$BENCH nts --json --duration 1 --rate 2000 --placeholders 2 --sessions 2 --ports 4 \
	--src-addrs 16 127.0.0.1:$KE >"$T/nts.json" || fail "nts: exit $?"
check "$T/nts.json" 'j["replayed"] and j["sessions"] == 2 and s[0]["bad"] == 0 and s[0]["nak"] == 0 and s[0]["verify_failed"] == 0 and s[0]["verified"] == s[0]["valid"] and s[0]["responses_per_s"] > 500'
# client-observed offset and delay: one sample per checked plain response,
# per verified NTS one; T4 from the kernel, T1 from the kernel's transmit
# timestamp with --tx-timestamps; same clock, so every offset is within the
# round trip of 0 and the delay is not negative
check "$T/ntp.json" 's[0]["timestamp_samples"] == s[0]["valid"] and s[0]["t4"] == "kernel" and s[0]["t1"] == "user" and abs(s[0]["offset_us"]["p50"]) <= s[0]["rtt_us"]["p50"] and s[0]["offset_us"]["p1"] <= s[0]["offset_us"]["p50"] <= s[0]["offset_us"]["p99"]'
$BENCH ntp --json --duration 1 --rate 2000 --tx-timestamps 127.0.0.1:$NTP >"$T/ntp-tx.json" || fail "ntp --tx-timestamps: exit $?"
check "$T/ntp-tx.json" 's[0]["bad"] == 0 and s[0]["timestamp_samples"] == s[0]["valid"] > 0 and s[0]["t1"] == "kernel" and s[0]["t4"] == "kernel" and s[0]["delay_us"]["p50"] >= 0 and abs(s[0]["offset_us"]["p50"]) <= s[0]["rtt_us"]["p50"]'
$BENCH nts --json --duration 1 --rate 2000 --verify-every 2 --tx-timestamps 127.0.0.1:$KE >"$T/nts-tx.json" ||
	fail "nts --tx-timestamps: exit $?"
check "$T/nts-tx.json" 's[0]["bad"] == 0 and s[0]["timestamp_samples"] == s[0]["verified"] > 0 and s[0]["t1"] == "kernel" and abs(s[0]["offset_us"]["p50"]) <= s[0]["rtt_us"]["p50"]'
# stepped rates and max throughput (no loss requirement under a full machine)
$BENCH nts --json --duration 0.5 --rates 1000,3000 --verify-every 4 127.0.0.1:$KE >"$T/steps.json" ||
	fail "nts steps: exit $?"
check "$T/steps.json" 'len(s) == 2 and s[1]["target_rate"] == 3000 and all(x["bad"] == 0 for x in s)'
$BENCH ntp --json --duration 0.5 --max --ports 8 127.0.0.1:$NTP >"$T/max.json" || fail "ntp max: exit $?"
check "$T/max.json" 's[0]["target_rate"] == "max" and s[0]["valid"] > 0 and s[0]["bad"] == 0'
# responses really are checked: the plain-NTP port of the responder is not
# an NTS-KE server (KE fails: exit 4), and a port nobody answers gives exit 5
set +e
$BENCH nts --rate 100 --duration 0.3 --timeout 1 127.0.0.1:$NTP >/dev/null 2>&1
rc=$?
[ $rc = 4 ] || fail "nts against a non-KE port: exit $rc, expected 4"
$BENCH ntp --rate 100 --duration 0.3 --drain 0.1 127.0.0.1:$(free_port) >/dev/null 2>&1
rc=$?
[ $rc = 5 ] || fail "ntp against a closed port: exit $rc, expected 5"
$BENCH ntp --rate 100 --count 1 192.0.2.1:123 >/dev/null 2>&1
rc=$?
[ $rc = 3 ] || fail "non-loopback target: exit $rc, expected 3"
$BENCH ntp --rate 100 --count 1 --allow-nonloopback 198.51.100.0/24 192.0.2.1:123 >/dev/null 2>&1
rc=$?
[ $rc = 3 ] || fail "target outside --allow-nonloopback: exit $rc, expected 3"
$BENCH ntp --rate 100 --count 1 --allow-nonloopback 0.0.0.0/0 192.0.2.1:123 >/dev/null 2>&1
rc=$?
[ $rc = 2 ] || fail "--allow-nonloopback 0/0 must be refused: exit $rc, expected 2"
$BENCH ntp --bogus 127.0.0.1:1 >/dev/null 2>&1
rc=$?
[ $rc = 2 ] || fail "usage error: exit $rc, expected 2"
set -e
echo "bench: $(cat "$T/ke.json")"
