# lib.sh: helpers for the e2e tests (sourced). Hosts are network
# namespaces named $P-ROLE with a per-run prefix, so parallel runs do not
# collide; everything (processes, namespaces, /etc/netns entries, the temp
# directory) is removed on exit.
set -eu
: "${BUILD:?}" "${SRC:?}"

skip() {
	echo "SKIP: $*"
	exit 77
}
[ -n "${NTS_E2E_SKIP:-}" ] && skip "$NTS_E2E_SKIP"
[ "$(id -u)" = 0 ] || skip "e2e tests need root (network namespaces)"
command -v ip >/dev/null || skip "no ip command (iproute2)"
P=nts$$
ip netns add "$P-probe" 2>/dev/null || skip "ip netns does not work here (no CAP_SYS_ADMIN or no netns support)"
if ! ip netns exec "$P-probe" ip link set lo up 2>/dev/null; then
	ip netns del "$P-probe" 2>/dev/null
	skip "cannot run commands in a network namespace here"
fi
ip netns del "$P-probe"

T=$(mktemp -d /tmp/nts-e2e.XXXXXX)
chmod 755 "$T"
NAMESPACES=""
PIDS=""
cleanup() {
	set +e
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	# anything else still inside our namespaces was started by this test
	for n in $NAMESPACES; do
		for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	done
	for n in $NAMESPACES; do
		ip netns del "$n" 2>/dev/null
		rm -rf "/etc/netns/$n"
	done
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() {
	echo "FAIL: $*" >&2
	for f in "$T"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -15 "$f" >&2; }; done
	exit 1
}
KEYCTL=$BUILD/tools/nts-keyctl
QUERY=$BUILD/tools/nts-query
RESPONDER=$BUILD/ntp-responder/nts-responder
KESERVER=$BUILD/ke-server/nts-ke-server
SIGNER=$BUILD/signer/nts-signer

# nsx ROLE CMD...: run CMD in host ROLE
nsx() {
	n=$1
	shift
	ip netns exec "$P-$n" "$@"
}
# bg ROLE NAME CMD...: start CMD in host ROLE in the background, output in
# $T/NAME.log; its PID is in $LAST (ip netns exec execs the command)
bg() {
	n=$1 name=$2
	shift 2
	ip netns exec "$P-$n" "$@" >"$T/$name.log" 2>&1 &
	LAST=$!
	PIDS="$LAST $PIDS" # newest first: health checks stop before BIRD
}

add_host() {
	ip netns add "$P-$1"
	NAMESPACES="$NAMESPACES $P-$1"
	nsx "$1" ip link set lo up
	nsx "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
}
# link_to_router ROLE N: a veth between ROLE (eth0, 10.88.N.2, 2001:db8:88:N::2)
# and the router (vROLE, .1), default routes via the router
link_to_router() {
	ip -n "$P-rt" link add "v$1" type veth peer name eth0 netns "$P-$1"
	ip -n "$P-rt" addr add "10.88.$2.1/24" dev "v$1"
	ip -n "$P-rt" addr add "2001:db8:88:$2::1/64" dev "v$1" nodad
	ip -n "$P-rt" link set "v$1" up
	ip -n "$P-$1" addr add "10.88.$2.2/24" dev eth0
	ip -n "$P-$1" addr add "2001:db8:88:$2::2/64" dev eth0 nodad
	ip -n "$P-$1" link set eth0 up
	ip -n "$P-$1" route add default via "10.88.$2.1"
	ip -n "$P-$1" -6 route add default via "2001:db8:88:$2::1"
}

now_ms() { date +%s%3N; }

# nsmetric ROLE PORT REGEX: sum of the samples matching REGEX (0 if none)
nsmetric() {
	nsx "$1" curl -sf --max-time 2 "http://127.0.0.1:$2/metrics" |
		awk -v re="$3" '!/^#/ && $0 ~ re { s += $NF } END { printf "%d\n", s }'
}
wait_metrics() { # ROLE PORT
	i=0
	until nsx "$1" curl -sf --max-time 1 "http://127.0.0.1:$2/metrics" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 100 ] && fail "daemon in $1 with metrics port $2 did not start"
		sleep 0.1
	done
}

# make_pki NAME SAN: throwaway CA ($T/ca.pem) and a certificate $T/NAME.pem/.key
make_pki() {
	(
		cd "$T"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
			-subj "/CN=nts e2e CA" -keyout ca.key -out ca.pem \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
			-keyout "$1.key" -out "$1.csr" 2>/dev/null
		printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$2" >"$1.ext"
		openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
			-extfile "$1.ext" -out "$1.pem" 2>/dev/null
		rm -f "$1.csr" "$1.ext"
	)
}

# notify_listener NAME: a stand-in for systemd's notify socket at
# $T/NAME.notify; the first datagram received lands in $T/NAME.ready
notify_listener() {
	rm -f "$T/$1.notify" "$T/$1.ready"
	python3 - "$T/$1.notify" "$T/$1.ready" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
try:
    msg = s.recv(4096)
except OSError:
    msg = b"(nothing)"
open(sys.argv[2], "wb").write(msg)
PY
	PIDS="$! $PIDS"
	i=0
	until [ -S "$T/$1.notify" ]; do
		i=$((i + 1))
		[ $i -gt 50 ] && fail "notify listener $1 did not start"
		sleep 0.1
	done
}
