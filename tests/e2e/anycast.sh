# anycast.sh: the multi-host deployment end to end, hosts as network
# namespaces:
#
#   key host (10.88.1.2)    nts-keyctl + deploy/cron/nts-rotate.sh, pushes
#                           sealed per-host key files (copy transport)
#   KE host  (10.88.2.2)    nts-ke-server (Server record: the anycast address)
#   resp A   (10.88.3.2)    nts-responder + BIRD + nts-health-check.sh, all
#   resp B   (10.88.4.2)    holding 203.0.113.123 and 2001:db8:123::123
#   router   (.1 on each)   BIRD: eBGP with A (preferred) and B, kernel routes
#   client   (10.88.5.2)    nts-query in a loop on one session, and chronyd
#
# Events while the client queries continuously: (1) responder A crashes: its
# health check withdraws the route, B answers the same session's cookies
# with no new NTS-KE (failover gap measured); A comes back and takes over
# again without a failed query; (2) a master key rotation with a 60 s epoch
# is run and its generation switch-over happens with zero NAKs and zero
# failed queries; (3) chronyd keeps authenticated samples through both.
# Responder A runs in AF_XDP mode (xdp eth0) where the kernel allows it.
# Without BIRD the route is switched with `ip route` (said in the output).
. "$SRC/tests/e2e/lib.sh"
for c in chronyd curl openssl python3; do
	command -v $c >/dev/null || fail "$c not installed (deploy/deps.sh NTS_TEST_PKGS)"
done
USE_BIRD=1
command -v bird >/dev/null && command -v birdc >/dev/null || USE_BIRD=0
ANY4=203.0.113.123
ANY6=2001:db8:123::123
REFID_A=52535041 # "RSPA"
REFID_B=52535042 # "RSPB"
t_start=$(now_ms)

# ---- topology ----
for h in rt key ke ra rb cl; do add_host $h; done
nsx rt sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
link_to_router key 1
link_to_router ke 2
link_to_router ra 3
link_to_router rb 4
link_to_router cl 5
# the anycast addresses on lo (a dummy interface works too, where the
# kernel has the module; containers often do not)
for h in ra rb; do
	ip -n "$P-$h" addr add $ANY4/32 dev lo
	ip -n "$P-$h" addr add $ANY6/128 dev lo nodad
done

# ---- key host: init with 60 s epochs, hosts' sealing keys, first push ----
for h in ke ra rb; do mkdir -p "$T/hosts/$h/etc/nts"; done
mkdir -p "$T/keyhost/hosts"
nsx key "$KEYCTL" init --dir "$T/keyhost" --epoch-length 60 >/dev/null
for h in ke ra rb; do
	$KEYCTL genbox --out-secret "$T/hosts/$h/etc/nts/host.box" \
		--out-public "$T/keyhost/hosts/$h.pub" >/dev/null
	cp "$T/keyhost/deployment.pub" "$T/hosts/$h/etc/nts/deployment.pub"
done
rotate() { # extra environment for nts-rotate.sh, run on the key host
	nsx key env NTS_ROTATE_CONF=/nonexistent NTS_KEYDIR="$T/keyhost" NTS_KEYCTL="$KEYCTL" \
		NTS_PUSH=copy NTS_KE_HOSTS="$T/hosts/ke" NTS_RESPONDER_HOSTS="$T/hosts/ra $T/hosts/rb" \
		NTS_KE_DEST=etc/nts/ke.keys NTS_RESPONDER_DEST=etc/nts/responder.keys "$@" \
		sh "$SRC/deploy/cron/nts-rotate.sh" 2>>"$T/rotate.log"
}
rotate || fail "first rotation run"
grep -q "pushed responder keys .*/rb:.* (sealed)" "$T/rotate.log" || fail "responder B's file not sealed"

# ---- KE host ----
make_pki ke "DNS:ke.nts.test,IP:10.88.2.2,IP:2001:db8:88:2::2"
H=$T/hosts/ke/etc/nts
if [ -x "$SIGNER" ]; then
	# keyless: the TLS key stays with nts-signer (same host here)
	printf 'socket %s\nkey %s\nallowuser root\nmetrics 127.0.0.1:9126\n' \
		"$H/signer.sock" "$T/ke.key" >"$H/nts-signer.conf"
	bg ke signer "$SIGNER" -c "$H/nts-signer.conf"
	wait_metrics ke 9126
	CERT_LINES="signer $H/signer.sock
cert $T/ke.pem"
	KE_MODE="keyless (nts-signer)"
else
	CERT_LINES="cert $T/ke.pem $T/ke.key"
	KE_MODE="in-process TLS key"
fi
cat >"$H/nts-ke-server.conf" <<EOF
listen 0.0.0.0:4460
listen [::]:4460
$CERT_LINES
keyfile $H/ke.keys
deployment $H/deployment.pub
boxkey $H/host.box
ntpserver4 $ANY4
ntpserver6 $ANY6
workers 1
metrics 127.0.0.1:9125
EOF
# readiness as under systemd's Type=notify: READY=1 once it serves
notify_listener ke
bg ke ke env NOTIFY_SOCKET="$T/ke.notify" "$KESERVER" -c "$H/nts-ke-server.conf"
KE_PID=$LAST
wait_metrics ke 9125

# ---- responders: daemon, BIRD, health check ----
start_responder() { # ROLE REFID
	H=$T/hosts/$1/etc/nts
	cat >"$H/nts-responder.conf" <<EOF
listen $ANY4:123
listen [$ANY6]:123
workers 1
keyfile $H/responder.keys
deployment $H/deployment.pub
boxkey $H/host.box
syncsource static 2 $2
metrics 127.0.0.1:9124
healthfile $H/responder.health
EOF
	# responder A serves through the AF_XDP fast path (docs/xdp.md) on its
	# uplink; where the kernel or the build cannot, it says so and uses sockets
	if [ "$1" = ra ]; then
		printf 'xdp eth0\nxdpfallback yes\n' >>"$H/nts-responder.conf"
	fi
	notify_listener "resp-$1"
	bg "$1" "resp-$1" env NOTIFY_SOCKET="$T/resp-$1.notify" "$RESPONDER" -c "$H/nts-responder.conf"
	eval "RESP_PID_$1=\$LAST"
	wait_metrics "$1" 9124
}
start_responder ra RSPA
start_responder rb RSPB
for d in ke resp-ra resp-rb; do
	ready() { [ -s "$T/$d.ready" ]; }
	wait_for 5 ready || fail "$d sent no readiness notification"
	[ "$(cat "$T/$d.ready")" = READY=1 ] || fail "$d notified '$(cat "$T/$d.ready")'"
done

# bird_conf IN OUT sed-expressions...: a shipped config with its defines set
bird_conf() {
	in=$1 out=$2
	shift 2
	# and timers for a shared, oversubscribed CI machine: the first BGP
	# connect after 1 s instead of 5 s, BFD tolerating 5 s of starvation
	# (not 1 s), and a reconnect 1-5 s after an error instead of 60 s
	sed -e "s|^log syslog all;|log \"$out.log\" all;|" \
		-e 's|^\tkeepalive time 3;|&\n\tconnect delay time 1;\n\terror wait time 1, 5;|' \
		-e 's|min \([rt]x\) interval 200 ms;|min \1 interval 500 ms;|' \
		-e 's|multiplier 5;|multiplier 10;|' "$in" | sed "$@" >"$out"
	grep -q "connect delay time 1" "$out" || fail "cannot adapt $in"
	bird -p -c "$out" || fail "bird rejects $out"
}
if [ $USE_BIRD = 1 ]; then
	for x in "ra 3 65011" "rb 4 65012"; do
		set -- $x
		bird_conf "$SRC/deploy/anycast/bird.conf" "$T/bird-$1.conf" \
			-e "s|^define ROUTER_ID .*|define ROUTER_ID = 10.88.$2.2;|" \
			-e "s|^define LOCAL_AS .*|define LOCAL_AS = $3;|" \
			-e "s|^define PEER4 .*|define PEER4 = 10.88.$2.1;|" \
			-e "s|^define LOCAL4 .*|define LOCAL4 = 10.88.$2.2;|" \
			-e "s|^define PEER6 .*|define PEER6 = 2001:db8:88:$2::1;|" \
			-e "s|^define LOCAL6 .*|define LOCAL6 = 2001:db8:88:$2::2;|"
		bg "$1" "bird-$1" bird -f -c "$T/bird-$1.conf" -s "$T/bird-$1.ctl" -P "$T/bird-$1.pid"
	done
	bird_conf "$SRC/deploy/anycast/bird-router.conf" "$T/bird-rt.conf" \
		-e "s|^define ROUTER_ID .*|define ROUTER_ID = 10.88.0.1;|" \
		-e "s|^define RESP_A4 .*|define RESP_A4 = 10.88.3.2; define RESP_A6 = 2001:db8:88:3::2; define RESP_A_AS = 65011;|" \
		-e "s|^define RESP_B4 .*|define RESP_B4 = 10.88.4.2; define RESP_B6 = 2001:db8:88:4::2; define RESP_B_AS = 65012;|"
	bg rt bird-rt bird -f -c "$T/bird-rt.conf" -s "$T/bird-rt.ctl" -P "$T/bird-rt.pid"
	for h in ra rb; do
		bg "$h" "health-$h" env NTS_HC_CONF=/nonexistent NTS_HC_BIRDC="birdc -s $T/bird-$h.ctl" \
			NTS_HC_HEALTHFILE="$T/hosts/$h/etc/nts/responder.health" \
			NTS_HC_ADDRS="$ANY4 [$ANY6]" NTS_HC_INTERVAL=0.2 NTS_HC_TIMEOUT=0.5 NTS_HC_FALL=2 \
			NTS_HC_RISE=3 NTS_HC_DRAIN="$T/drain-$h" NTS_QUERY="$QUERY" \
			sh "$SRC/deploy/anycast/nts-health-check.sh"
		eval "HC_PID_$h=\$LAST"
	done
	ROUTING="BGP (BIRD 2) with nts-health-check.sh withdrawing"
else
	nsx rt ip route add $ANY4/32 via 10.88.3.2
	nsx rt ip -6 route add $ANY6/128 via 2001:db8:88:3::2
	ROUTING="ip route switched by the test (BIRD 2 not installed)"
fi
route_via() { # the router's next hop for the anycast IPv4/IPv6 address
	nsx rt ip $1 route show "$2" | sed -n 's/.* via \([^ ]*\).*/\1/p' | head -n 1
}
wait_route() { # FAMILY-FLAG ADDRESS NEXTHOP SECONDS
	i=0
	while [ "$(route_via "$1" "$2")" != "$3" ]; do
		i=$((i + 1))
		[ $i -gt $(($4 * 10)) ] && fail "router: $2 not via $3 after $4 s (now: $(route_via "$1" "$2"))"
		sleep 0.1
	done
}
wait_route -4 $ANY4 10.88.3.2 30
wait_route -6 $ANY6 2001:db8:88:3::2 30
if [ $USE_BIRD = 1 ]; then
	# BFD (sub-second detection of a dead host or link) is up on all four sessions
	bfd_up() { [ "$(nsx rt birdc -s "$T/bird-rt.ctl" show bfd sessions | grep -c ' Up ')" = 4 ]; }
	wait_for 10 bfd_up || fail "BFD sessions not up: $(nsx rt birdc -s "$T/bird-rt.ctl" show bfd sessions)"
fi
if [ $USE_BIRD = 1 ]; then
	# the health check reads the responder's healthfile, not HTTP /health
	grep -q "checking $T/hosts/ra/etc/nts/responder.health" "$T/health-ra.log" ||
		fail "the health check does not read the healthfile: $(head -n 1 "$T/health-ra.log")"
fi
echo "topology up after $(($(now_ms) - t_start)) ms; routing: $ROUTING; KE: $KE_MODE"

# ---- client: NTS-KE over IPv4 and IPv6, then the query loop and chronyd ----
nsx cl "$QUERY" --ca "$T/ca.pem" --save "$T/sess" --json 10.88.2.2 >"$T/first.json" ||
	fail "NTS-KE + first query from the client"
grep -q "\"server\":\"$ANY4\".*\"refid\":\"$REFID_A\"" "$T/first.json" ||
	fail "first query not answered by responder A at the anycast address: $(cat "$T/first.json")"
nsx cl "$QUERY" --ca "$T/ca.pem" --save "$T/sess6" --json "[2001:db8:88:2::2]" >"$T/first6.json" ||
	fail "NTS-KE over IPv6"
grep -q "\"server\":\"$ANY6\".*\"refid\":\"52535041\"" "$T/first6.json" ||
	fail "IPv6 query not answered by A: $(cat "$T/first6.json")"
if [ "$(nsmetric ra 9124 '^nts_responder_xdp_active ')" = 1 ]; then
	[ "$(nsmetric ra 9124 'xdp_packets_total\{dir="tx"')" -ge 2 ] ||
		fail "responder A is in AF_XDP mode but answered the first queries from sockets"
	XDP_MODE="responder A in AF_XDP mode"
else
	XDP_MODE="responder A in socket mode ($(grep -m1 'xdp:' "$T/resp-ra.log" || echo "xdp not active"))"
fi
echo "$XDP_MODE"

# the query loop, one line per query: start_ms exit_code refid handshake
# (no subprocess but the query between queries: tight on a busy machine)
cat >"$T/loop.sh" <<'EOF'
T=$1 QUERY=$2
while [ ! -e "$T/stop" ]; do
	t=$(date +%s%3N)
	if out=$("$QUERY" --load "$T/sess" --save "$T/sess" --timeout 0.3 --json 2>&1); then
		r=${out#*\"refid\":\"}
		case $out in *'"ke":true'*) k=1 ;; *) k=0 ;; esac
		echo "$t 0 ${r%%\"*} $k"
	else
		echo "$t $? - 0"
	fi
	sleep 0.02
done
EOF
bg cl queries sh "$T/loop.sh" "$T" "$QUERY"
LOOP_PID=$LAST

mkdir -p "$T/chrony"
chmod 700 "$T/chrony"
cat >"$T/chrony/chrony.conf" <<EOF
server 10.88.2.2 nts iburst minpoll 0 maxpoll 0
ntstrustedcerts $T/ca.pem
ntsdumpdir $T/chrony
pidfile $T/chrony/chronyd.pid
driftfile $T/chrony/drift
logdir $T/chrony
log rawmeasurements
cmdport 0
bindcmdaddress /
port 0
EOF
bg cl chronyd chronyd -x -d -u root -f "$T/chrony/chrony.conf"
CHRONY_PID=$LAST

# count_q FROM_MS TO_MS FIELD VALUE: queries started in [FROM, TO) whose FIELD is VALUE
count_q() {
	awk -v a="$1" -v b="$2" -v f="$3" -v v="$4" '$1 >= a && $1 < b && $f == v { n++ } END { print n + 0 }' "$T/queries.log"
}
chrony_samples() { # REFID: authenticated (test 5 passed) samples from the anycast address
	awk -v r="$1" -v a="$ANY4" '$3 == a && substr($7, 1, 1) == "1" && $17 == r { n++ } END { print n + 0 }' \
		"$T/chrony/measurements.log" 2>/dev/null || echo 0
}
has_chrony_a() { [ "$(chrony_samples $REFID_A)" -ge 3 ]; }
wait_for 20 has_chrony_a || fail "chronyd got no authenticated samples from responder A"
KE_OK_BEFORE=$(nsmetric ke 9125 'outcome="ok"')
sleep 1

# ---- event 1: responder A crashes ----
t_kill=$(now_ms)
kill -9 "$RESP_PID_ra"
wait_route -4 $ANY4 10.88.4.2 20
t_route=$(now_ms)
answered_by_b() { [ "$(count_q "$t_kill" 99999999999999 3 $REFID_B)" -ge 5 ]; }
wait_for 20 answered_by_b || fail "responder B never took over"
t_b=$(awk -v a="$t_kill" -v r=$REFID_B '$1 >= a && $3 == r { print $1; exit }' "$T/queries.log")
last_a=$(awk -v a="$t_kill" -v r=$REFID_A '$1 < a && $3 == r { t = $1 } END { print t }' "$T/queries.log")
GAP=$((t_b - last_a))
FAIL_GAP=$(awk -v a="$last_a" -v b="$t_b" '$1 > a && $1 < b && $2 != 0 { n++ } END { print n + 0 }' "$T/queries.log")
wait_route -6 $ANY6 2001:db8:88:4::2 10
nsx cl "$QUERY" --load "$T/sess6" --save "$T/sess6" --json >"$T/b6.json" || fail "IPv6 query after failover"
grep -q '"refid":"52535042"' "$T/b6.json" || fail "IPv6 not answered by B after failover: $(cat "$T/b6.json")"
chrony_has_b() { [ "$(chrony_samples $REFID_B)" -ge 2 ]; }
wait_for 20 chrony_has_b || fail "chronyd got no authenticated samples from responder B"
echo "failover: A killed, B answered the same session after a gap of $GAP ms from A's last answer" \
	"($((t_b - t_kill)) ms after the kill, router switched after $((t_route - t_kill)) ms;" \
	"$FAIL_GAP queries failed in the gap)"

# A comes back: the health check announces it again after NTS_HC_RISE good
# checks and traffic returns to A without a failed query (B serves until then)
t_back=$(now_ms)
start_responder ra RSPA
answered_by_a() { [ "$(count_q "$t_back" 99999999999999 3 $REFID_A)" -ge 3 ]; }
wait_for 20 answered_by_a || fail "traffic did not return to A"
t_a_again=$(awk -v a="$t_back" -v r=$REFID_A '$1 >= a && $3 == r { print $1; exit }' "$T/queries.log")
FAIL_BACK=$(awk -v a="$t_back" '$1 >= a && $2 != 0 { n++ } END { print n + 0 }' "$T/queries.log")
[ "$FAIL_BACK" = 0 ] || fail "$FAIL_BACK queries failed while A came back"
echo "failback: A announced again $((t_a_again - t_back)) ms after its restart, no failed query"

# planned maintenance: the drain file withdraws A's route while A still
# serves, so the move to B loses nothing; removing it brings A back
if [ $USE_BIRD = 1 ]; then
	t_drain=$(now_ms)
	touch "$T/drain-ra"
	wait_route -4 $ANY4 10.88.4.2 10
	drained() { [ "$(count_q "$t_drain" 99999999999999 3 $REFID_B)" -ge 3 ]; }
	wait_for 10 drained || fail "drain: traffic did not move to B"
	t_drained=$(now_ms)
	rm -f "$T/drain-ra"
	undrained() { [ "$(count_q "$t_drained" 99999999999999 3 $REFID_A)" -ge 3 ]; }
	wait_for 20 undrained || fail "drain: traffic did not return to A"
	FAIL_DRAIN=$(awk -v a="$t_drain" '$1 >= a && $2 != 0 { n++ } END { print n + 0 }' "$T/queries.log")
	[ "$FAIL_DRAIN" = 0 ] || fail "$FAIL_DRAIN queries failed during the drain"
	echo "drain: A drained to B and back, $(awk -v a="$t_drain" '$1 >= a { n++ } END { print n + 0 }' "$T/queries.log") queries, none failed"
fi

# ---- event 2: master key rotation, switch-over at the next epoch boundary ----
now=$(date +%s)
to_boundary=$((60 - now % 60))
lead=1
[ $to_boundary -lt 12 ] && lead=2
t_switch=$(((now / 60 + lead) * 60))
t_rot=$(now_ms)
rotate NTS_LEAD=$lead NTS_EVERY=0 || fail "rotation run"
grep -q "announced generation 1" "$T/rotate.log" || fail "no new generation announced"
echo "rotation: generation 1 announced and pushed, switch-over in $((t_switch - $(date +%s))) s"
for h in ke ra rb; do
	case $h in ke) port=9125 m=nts_ke_key_reloads_total ;; *) port=9124 m=nts_responder_key_reloads_total ;; esac
	reloaded() { [ "$(nsmetric $h $port "$m.*ok")" -ge 2 ]; }
	wait_for 5 reloaded || fail "$h did not reload the pushed key file"
done
[ "$(nsmetric ke 9125 '^nts_ke_key_generation')" = 0 ] || fail "KE switched before the activation epoch"
while [ "$(date +%s)" -lt $((t_switch + 3)) ]; do sleep 0.5; done
[ "$(nsmetric ke 9125 '^nts_ke_key_generation')" = 1 ] || fail "KE does not mint with generation 1 after the switch"
nsx cl "$QUERY" --ca "$T/ca.pem" --save "$T/sess-new" --json 10.88.2.2 >/dev/null || fail "new NTS-KE after the switch"
sleep 2
touch "$T/stop"
wait $LOOP_PID 2>/dev/null || true
t_end=$(now_ms)
FAIL_ROT=$(awk -v a="$t_rot" '$1 >= a && $2 != 0 { n++ } END { print n + 0 }' "$T/queries.log")
[ "$FAIL_ROT" = 0 ] || fail "$FAIL_ROT queries failed across the rotation"
POST=$(awk -v a="$((t_switch * 1000))" '$1 >= a && $2 == 0 { n++ } END { print n + 0 }' "$T/queries.log")
[ "$POST" -ge 10 ] || fail "only $POST queries after the switch-over"
# the loop's session (cookies from generation 0) now receives generation-1 cookies
gens=$(python3 - "$T/sess" <<'PY'
import sys, struct
b = open(sys.argv[1], "rb").read()
aead = struct.unpack(">H", b[8:10])[0]
kl = {15: 32, 16: 48, 17: 64, 30: 16, 31: 32}[aead]
o = 10 + 2 * kl
o += 1 + b[o]
o += 2
n = b[o]; o += 1
g = []
for _ in range(n):
    l = struct.unpack(">H", b[o:o + 2])[0]
    g.append(b[o + 2]); o += 2 + l
print(" ".join(map(str, g)))
PY
)
case " $gens " in
*" 1 "*) ;;
*)
	tail -n 5 "$T/queries.log" >&2
	for h in ra rb; do echo "$h: $(nsx $h curl -s http://127.0.0.1:9124/metrics | grep -E 'key_gen|keys_usable|reloads|responses_total')" >&2; done
	fail "session holds no generation-1 cookie after the switch (generations: $gens)"
	;;
esac

# ---- totals ----
Q=$(wc -l <"$T/queries.log")
FAILED=$(awk '$2 != 0 { n++ } END { print n + 0 }' "$T/queries.log")
NAKS_CLIENT=$(awk '$2 == 4 { n++ } END { print n + 0 }' "$T/queries.log")
HANDSHAKES=$(awk '$4 != 0 { n++ } END { print n + 0 }' "$T/queries.log")
NAKS=0
for h in ra rb; do NAKS=$((NAKS + $(nsmetric $h 9124 nts_responder_naks_total))); done
[ "$NAKS_CLIENT" = 0 ] || fail "the client got $NAKS_CLIENT NAKs"
[ "$NAKS" = 0 ] || fail "responders sent $NAKS NAKs"
[ "$HANDSHAKES" = 0 ] || fail "the query loop did a new NTS-KE"
[ "$FAILED" = "$FAIL_GAP" ] || fail "$FAILED failed queries, $FAIL_GAP of them in the failover gap"
# the only handshake since chronyd's is the deliberate one after the switch
KE_OK_AFTER=$(nsmetric ke 9125 'outcome="ok"')
[ "$KE_OK_AFTER" = $((KE_OK_BEFORE + 1)) ] ||
	fail "NTS-KE handshakes went from $KE_OK_BEFORE to $KE_OK_AFTER (chronyd or the loop re-keyed)"
CA=$(chrony_samples $REFID_A)
CB=$(chrony_samples $REFID_B)
CPOST=$(awk -v a="$ANY4" -v t="$(date -u -d "@$t_switch" +%H:%M:%S)" \
	'$3 == a && $2 > t && substr($7, 1, 1) == "1" { n++ } END { print n + 0 }' "$T/chrony/measurements.log")
CBAD=$(awk -v a="$ANY4" '$3 == a && substr($7, 1, 1) != "1" { n++ } END { print n + 0 }' "$T/chrony/measurements.log")
[ "$CPOST" -ge 2 ] || fail "chronyd: $CPOST authenticated samples after the switch-over"
[ "$CBAD" = 0 ] || fail "chronyd: $CBAD samples failed authentication"
kill -0 $CHRONY_PID 2>/dev/null || fail "chronyd exited"
# ---- rate limits are per responder (docs/config-responder.md) ----
# enabled by SIGHUP on both, a burst of 3 and then KoD RATE: the client
# spends A's bucket, then, routed to B, gets B's full burst (chronyd, on
# the same client address, stops first: its polls would spend the buckets)
kill $CHRONY_PID
for h in ra rb; do
	printf 'ratelimit yes\nratelimitinterval 1h\nratelimitburst 3\nratelimitleak 100\n' \
		>>"$T/hosts/$h/etc/nts/nts-responder.conf"
	eval "kill -HUP \$RESP_PID_$h"
done
for h in ra rb; do
	rl_on() { [ "$(nsmetric $h 9124 'config_reloads_total.*ok')" -ge 1 ]; }
	wait_for 5 rl_on || fail "$h did not reload its configuration"
done
plain_burst() { # five plain requests to the anycast address: stratum/refid of each answer
	nsx cl python3 - $ANY4 <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
out = []
for _ in range(5):
    req = bytearray(48); req[0] = (4 << 3) | 3
    s.sendto(bytes(req), (sys.argv[1], 123))
    try:
        r = s.recv(100); out.append("%d/%s" % (r[1], r[12:16].decode("ascii", "replace")))
    except socket.timeout:
        out.append("-")
print(" ".join(out))
PY
}
got=$(plain_burst)
[ "$got" = "2/RSPA 2/RSPA 2/RSPA 0/RATE 0/RATE" ] || fail "rate limit on A: $got"
if [ $USE_BIRD = 1 ]; then
	touch "$T/drain-ra"
else
	nsx rt ip route replace $ANY4/32 via 10.88.4.2
fi
wait_route -4 $ANY4 10.88.4.2 10
got=$(plain_burst)
[ "$got" = "2/RSPB 2/RSPB 2/RSPB 0/RATE 0/RATE" ] || fail "rate limit on B: $got"
echo "rate limits: A answered 3 then KoD RATE; routed to B, the client got B's own burst of 3"

echo "e2e anycast: $Q queries, $FAILED failed (all in the failover gap), $NAKS NAKs, failover gap $GAP ms," \
	"0 new NTS-KE; chronyd: $CA authenticated samples from A, $CB from B, $CPOST after the key switch-over;" \
	"runtime $(((t_end - t_start) / 1000)) s; routing: $ROUTING; KE: $KE_MODE; $XDP_MODE"
