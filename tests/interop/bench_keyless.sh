# bench_keyless.sh: NTS-KE TLS handshakes/s of a keyless KE server (key in
# nts-signer) against the same server signing in-process, on this machine.
# The interop suite runs it briefly (bench_keyless: 1 s, 1 round, 2 clients);
# for numbers run it by hand,
#   BUILD=build SRC=. sh tests/interop/bench_keyless.sh [SECONDS] [ROUNDS] [CLIENTS]
# Load: CLIENTS parallel `openssl s_time -new -tls1_3` (full TLS 1.3
# handshakes, ECDSA P-256 certificate, no ALPN, so the server counts them as
# outcome alpn_missing after a complete handshake, signature included).
# Each round measures both modes back to back (order alternating) and
# reports handshakes/s (server-side count / wall time) and server CPU per
# handshake (KE server, plus the signer in keyless mode, from /proc/PID/stat).
. "$SRC/tests/interop/lib.sh"
SECS=${1:-5}
ROUNDS=${2:-5}
CLIENTS=${3:-4}
make_pki
make_keys
NTP=$(free_port)
KE_IN=$(free_port)
KE_KL=$(free_port)
start_responder $NTP
NTS_KEYLESS=0 start_ke $KE_IN $NTP "maxpersource 10000
loglevel error"
PID_IN=$KE_PID
M_IN=$KE_METRICS
NTS_KEYLESS=1 start_ke $KE_KL $NTP "maxpersource 10000
loglevel error"
PID_KL=$KE_PID
M_KL=$KE_METRICS
ticks() { # PIDS...: utime + stime of all
	t=0
	for p in "$@"; do
		t=$((t + $(awk '{print $14 + $15}' /proc/$p/stat)))
	done
	echo $t
}
hs() { metric $1 'outcome="alpn_missing"'; }
run() { # PORT METRICS PIDS...: prints "RATE US_PER_HANDSHAKE"
	port=$1
	m=$2
	shift 2
	h0=$(hs $m)
	c0=$(ticks "$@")
	t0=$(date +%s.%N)
	i=0
	while [ $i -lt "$CLIENTS" ]; do
		openssl s_time -connect 127.0.0.1:$port -new -tls1_3 -time "$SECS" >/dev/null 2>&1 &
		i=$((i + 1))
	done
	wait
	t1=$(date +%s.%N)
	h1=$(hs $m)
	c1=$(ticks "$@")
	echo "$h0 $h1 $c0 $c1 $t0 $t1 $(getconf CLK_TCK)" |
		awk '{n = $2 - $1; printf "%.0f %.0f\n", n / ($6 - $5), ($4 - $3) * 1e6 / $7 / n}'
}
: >"$T/rates"
r=1
while [ $r -le "$ROUNDS" ]; do
	if [ $((r % 2)) = 1 ]; then
		a=$(run $KE_IN $M_IN $PID_IN)
		b=$(run $KE_KL $M_KL $PID_KL $SIGNER_PID)
	else
		b=$(run $KE_KL $M_KL $PID_KL $SIGNER_PID)
		a=$(run $KE_IN $M_IN $PID_IN)
	fi
	echo "round $r: in-process ${a% *}/s (${a#* } us CPU each), keyless ${b% *}/s (${b#* } us CPU each, KE + signer)"
	echo "$a $b" >>"$T/rates"
	r=$((r + 1))
done
[ "$(metric $M_KL 'outcome="signer_failure"')" = 0 ] || fail "signer failures during the benchmark"
python3 - "$T/rates" <<'PY' || fail "a mode completed no handshake"
import statistics, sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
a, ca, b, cb = (statistics.median(r[i] for r in rows) for i in range(4))
if min(r[0] for r in rows) <= 0 or min(r[2] for r in rows) <= 0:
    sys.exit("no handshake completed in a round: %s" % rows)
print("median: in-process %.0f handshakes/s (%.0f us CPU each), keyless %.0f/s (%.0f us CPU "
      "each): keyless/in-process %.1f%% by rate, %.1f%% by CPU cost (ratios per round: %s)"
      % (a, ca, b, cb, 100 * b / a, 100 * ca / cb, " ".join("%.2f" % (r[2] / r[0]) for r in rows)))
PY
