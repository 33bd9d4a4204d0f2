# bench_keyless.sh: NTS-KE handshakes/s of a keyless KE server (key in
# nts-signer) against the same server signing in-process, on this machine.
# Not part of the test suite (it burns CPU): run by hand,
#   BUILD=build SRC=. sh tests/interop/bench_keyless.sh [SECONDS] [ROUNDS] [CLIENTS]
# Each round measures both modes back to back (order alternating) with
# CLIENTS keload.py processes; prints per-round rates and the medians.
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
NTS_KEYLESS=1 start_ke $KE_KL $NTP "maxpersource 10000
loglevel error"
load() { # PORT: total handshakes/s of CLIENTS processes
	i=0
	while [ $i -lt "$CLIENTS" ]; do
		python3 "$SRC/tests/interop/keload.py" --port "$1" --ca "$T/ca.pem" \
			--seconds "$SECS" >"$T/load.$i" 2>&1 &
		i=$((i + 1))
	done
	wait
	cat "$T"/load.* | awk '{ok += $4; fail += $6} END {printf "%.1f %d\n", ok / '"$SECS"', fail}'
	rm -f "$T"/load.*
}
: >"$T/rates"
r=1
while [ $r -le "$ROUNDS" ]; do
	if [ $((r % 2)) = 1 ]; then
		a=$(load $KE_IN)
		b=$(load $KE_KL)
	else
		b=$(load $KE_KL)
		a=$(load $KE_IN)
	fi
	echo "round $r: in-process ${a% *}/s (failed ${a#* }), keyless ${b% *}/s (failed ${b#* })"
	echo "${a% *} ${b% *}" >>"$T/rates"
	r=$((r + 1))
done
python3 - "$T/rates" <<'PY'
import statistics, sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
a = statistics.median(r[0] for r in rows)
b = statistics.median(r[1] for r in rows)
ratios = [r[1] / r[0] for r in rows]
print("median in-process %.0f/s, keyless %.0f/s: keyless/in-process %.1f%% "
      "(per-round ratios %s)" % (a, b, 100 * b / a, " ".join("%.2f" % x for x in ratios)))
PY
