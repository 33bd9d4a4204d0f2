# lib.sh: helpers for the interop tests (sourced). Needs BUILD and SRC.
# Every test gets its own directory, its own ports and cleans up after
# itself; daemons are killed on exit.
set -eu
: "${BUILD:?}" "${SRC:?}"
T=$(mktemp -d /tmp/nts-interop.XXXXXX)
chmod 755 "$T"
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	sleep 0.2
	for p in $PIDS; do kill -9 "$p" 2>/dev/null || true; done
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT INT TERM
fail() {
	echo "FAIL: $*" >&2
	for f in "$T"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done
	exit 1
}
KEYCTL=$BUILD/tools/nts-keyctl
QUERY=$BUILD/tools/nts-query

# free_port: an unused TCP and UDP port on loopback
# Ports come from 10000 up to the start of the kernel's ephemeral range, so
# that no client socket (ours, chronyd's, nts-bench's many) can be given
# the port between this check and the daemon's bind. Ports already handed
# out in this test are not handed out again.
EPH_LOW=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
[ "$EPH_LOW" -gt 12000 ] 2>/dev/null || EPH_LOW=32768
free_port() {
	while :; do
		p=$(( $(od -An -N2 -tu2 /dev/urandom) % (EPH_LOW - 10000) + 10000 ))
		grep -qx "$p" "$T/.ports" 2>/dev/null && continue
		if ! ss -Htuan "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p" >>"$T/.ports"
			echo $p
			return
		fi
	done
}

# make_pki: a throwaway CA and a server certificate for localhost,
# 127.0.0.1 and ::1 ($T/ca.pem, $T/server.pem, $T/server.key)
make_pki() {
	(
		cd "$T"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
			-subj "/CN=nts test CA" -keyout ca.key -out ca.pem \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
		make_cert server
	)
}
make_cert() { # NAME: a certificate signed by the test CA, in $T
	(
		cd "$T"
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
			-keyout "$1.key" -out "$1.csr" 2>/dev/null
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$1.ext"
		openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
			-extfile "$1.ext" -out "$1.pem" 2>/dev/null
		rm -f "$1.csr" "$1.ext"
	)
}

# make_keys: a key host and the two role files
make_keys() {
	$KEYCTL init --dir "$T/keyhost" >/dev/null
	$KEYCTL export --dir "$T/keyhost" --role ke --out "$T/ke.keys" >/dev/null
	$KEYCTL export --dir "$T/keyhost" --role responder --out "$T/responder.keys" >/dev/null
}

# start_responder NTPPORT [extra config lines]
start_responder() {
	RESP_METRICS=$(free_port)
	{
		echo "listen 127.0.0.1:$1"
		echo "listen [::1]:$1"
		echo "workers 2"
		echo "keyfile $T/responder.keys"
		echo "deployment $T/keyhost/deployment.pub"
		echo "syncsource static 2 TEST"
		echo "metrics 127.0.0.1:$RESP_METRICS"
		[ $# -gt 1 ] && printf '%s\n' "$2"
	} >"$T/responder.conf"
	"$BUILD/ntp-responder/nts-responder" -c "$T/responder.conf" >"$T/responder.log" 2>&1 &
	PIDS="$PIDS $!"
	RESP_PID=$!
	wait_metrics $RESP_METRICS
}

# start_signer [KEYFILE] [extra config lines]: nts-signer with the server key
# on $T/signer.sock ($SIGNER_PID, $SIGNER_METRICS)
start_signer() {
	SIGNER_METRICS=${SIGNER_METRICS:-$(free_port)}
	{
		echo "socket $T/signer.sock"
		echo "key ${1:-$T/server.key}"
		echo "allowuser $(id -un)"
		echo "metrics 127.0.0.1:$SIGNER_METRICS"
		[ $# -gt 1 ] && printf '%s\n' "$2"
	} >"$T/signer.conf"
	"$BUILD/signer/nts-signer" -c "$T/signer.conf" >>"$T/signer.log" 2>&1 &
	PIDS="$PIDS $!"
	SIGNER_PID=$!
	wait_metrics $SIGNER_METRICS
}

# start_ke KEPORT NTPPORT [extra config lines]. With NTS_KEYLESS=1 the
# server is keyless: a signer holds the key (started here if not running).
start_ke() {
	KE_METRICS=$(free_port)
	if [ "${NTS_KEYLESS:-0}" = 1 ]; then
		[ -n "${SIGNER_PID:-}" ] || start_signer
		ke_cert="cert $T/server.pem
signer $T/signer.sock"
	else
		ke_cert="cert $T/server.pem $T/server.key"
	fi
	{
		echo "listen 127.0.0.1:$1"
		echo "listen [::1]:$1"
		echo "$ke_cert"
		echo "keyfile $T/ke.keys"
		echo "deployment $T/keyhost/deployment.pub"
		echo "ntpserver 127.0.0.1"
		echo "ntpport $2"
		echo "workers 2"
		echo "metrics 127.0.0.1:$KE_METRICS"
		[ $# -gt 2 ] && printf '%s\n' "$3"
	} >"$T/ke.conf"
	"$BUILD/ke-server/nts-ke-server" -c "$T/ke.conf" >"$T/ke.log" 2>&1 &
	PIDS="$PIDS $!"
	KE_PID=$!
	wait_metrics $KE_METRICS
}

# start_stack [KE config lines]: the usual set-up of a test: a throwaway CA
# and certificate, keys, a responder and a KE server on fresh ports ($NTP,
# $KE, and what start_responder and start_ke set). NTS_KEYLESS=1 as for
# start_ke.
start_stack() {
	make_pki
	make_keys
	NTP=$(free_port)
	KE=$(free_port)
	start_responder $NTP
	start_ke $KE $NTP "$@"
}

wait_metrics() {
	i=0
	until metric $1 . >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 100 ] && fail "daemon with metrics port $1 did not start"
		sleep 0.1
	done
}

# metric PORT REGEX: the value of the first sample matching REGEX
metric() {
	python3 - "$1" "$2" <<'PY'
import sys, urllib.request, re
body = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=2).read().decode()
for line in body.splitlines():
    if not line.startswith("#") and re.search(sys.argv[2], line):
        print(line.rsplit(" ", 1)[1]); break
else:
    sys.exit(1)
PY
}

# chrony_conf FILE LINES...: a chronyd configuration that stays out of the
# system's way (no clock control with -x, no command socket, own files)
chrony_conf() {
	f=$1
	shift
	mkdir -p "$T/chrony"
	chmod 777 "$T/chrony"
	{
		printf '%s\n' "$@"
		echo "pidfile $T/chrony/chronyd.pid"
		echo "driftfile $T/chrony/drift"
		echo "ntsdumpdir $T/chrony"
		echo "cmdport 0"
	} >"$f"
}

skip() {
	echo "SKIP: $*"
	exit 77
}

# NTPsec (Debian's ntpsec 1.2.x), an independent NTS client and server.
# deploy/deps.sh unpacks the package into $NTS_NTPSEC_ROOT rather than
# installing it (it conflicts with chrony and would start a system ntpd);
# an installed NTPsec ntpd is used if there is no unpacked one.
#
# ntpd always binds UDP port 123 and its NTS-KE server TCP port 4460 (1.2.2
# has no option for either), so the NTPsec tests run whole, our daemons
# included, in a network namespace of their own: ntpsec_netns re-runs the
# test script there. It also finds ntpd and ntpq ($NTPD, $NTPQ) or skips.
ntpsec_netns() {
	NTPSEC_ROOT=${NTS_NTPSEC_ROOT:-/opt/nts-peers/ntpsec}
	if [ -x "$NTPSEC_ROOT/usr/sbin/ntpd" ]; then
		NTPD=$NTPSEC_ROOT/usr/sbin/ntpd
		NTPQ=$NTPSEC_ROOT/usr/bin/ntpq
	elif command -v ntpd >/dev/null && ntpd -V 2>&1 | grep -q ntpsec; then
		NTPD=$(command -v ntpd)
		NTPQ=$(command -v ntpq || echo /usr/bin/ntpq)
	else
		skip "NTPsec's ntpd not found (deploy/deps.sh nts_unpack_ntpsec puts it in $NTPSEC_ROOT)"
	fi
	NTPSEC_VERSION=$("$NTPD" -V 2>&1) || skip "$NTPD does not run: $NTPSEC_VERSION"
	echo "$NTPSEC_VERSION" | grep -q '^ntpd ntpsec-1\.' || skip "not NTPsec 1.x: $NTPSEC_VERSION"
	"$NTPQ" --version >/dev/null 2>&1 || skip "ntpq does not run (python3-ntp missing?)"
	command -v setpriv >/dev/null || skip "setpriv (util-linux) missing"
	if [ "${NTS_IN_NETNS:-0}" = 1 ]; then
		[ "$(ip -o link show | wc -l)" = 1 ] || fail "not in a private network namespace"
		ip link set lo up || fail "cannot bring up lo in the namespace"
		return 0
	fi
	unshare -n true 2>/dev/null || skip "cannot create a network namespace (unshare -n needs CAP_SYS_ADMIN)"
	rm -rf "$T"
	trap - EXIT INT TERM
	NTS_IN_NETNS=1 exec unshare -n sh "$0"
}

# ntpsec_start LINES...: NTPsec's ntpd in the foreground (-n) with its own
# configuration, log, statistics and cookie-key files in $T; nothing under
# /etc or /var. It can never touch the clock: it runs without CAP_SYS_TIME
# (removed from the bounding and inheritable sets by setpriv, so every
# clock_settime/adjtimex that would change the clock fails with EPERM; the
# test checks the capability is gone), and "disable ntp" and
# "disable kernel" open the clock discipline loop besides.
# ntpsec_alive: fails, with ntpd's exit status (128+N: killed by signal N),
# if ntpd is no longer running
ntpsec_alive() {
	kill -0 $NTPD_PID 2>/dev/null && return 0
	rc=0
	wait $NTPD_PID || rc=$?
	fail "ntpd exited with status $rc"
}

ntpsec_start() {
	{
		printf '%s\n' "$@"
		echo "nts cookie $T/ntpsec-cookie-keys"
		echo "disable ntp"
		echo "disable kernel"
		echo "logfile $T/ntpd.log"
		echo "statsdir $T/"
		echo "restrict 127.0.0.1"
		echo "restrict ::1"
	} >"$T/ntp.conf"
	setpriv --bounding-set=-sys_time --inh-caps=-sys_time \
		"$NTPD" -n -c "$T/ntp.conf" >"$T/ntpd-stderr.log" 2>&1 &
	PIDS="$PIDS $!"
	NTPD_PID=$!
	i=0
	until "$NTPQ" -c "rv 0 version" 127.0.0.1 2>/dev/null | grep -q ntpsec; do
		i=$((i + 1))
		[ $i -gt 50 ] && fail "ntpd did not answer ntpq"
		ntpsec_alive
		sleep 0.2
	done
	# CAP_SYS_TIME is capability 25
	eff=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/$NTPD_PID/status)
	[ $(((0x$eff >> 25) & 1)) = 0 ] || fail "ntpd has CAP_SYS_TIME (CapEff $eff)"
}
