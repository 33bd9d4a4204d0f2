#!/bin/sh
# quickstart.sh: build and run the whole system on this machine.
#
#   deploy/quickstart.sh            build, make keys and a throwaway CA, start a
#                                   signer, a keyless KE server and a responder on
#                                   127.0.0.1, run an NTS query against them, stay
#                                   in the foreground
#   deploy/quickstart.sh --detach   the same, but exit 0 once the servers answer
#   deploy/quickstart.sh --stop     stop servers started with --detach
#
# Ports: KE_PORT (default 4460), NTP_PORT (default 4123), metrics on
# KE_METRICS_PORT (9125), RESP_METRICS_PORT (9124), SIGNER_METRICS_PORT (9126).
# The TLS private key stays in nts-signer (keyless mode, docs/signer.md);
# the KE server signs through it. Everything lives in
# run/local/ (the CA certificate is run/local/ca.pem). Needs root on a fresh
# Debian 12 machine only to apt-get install missing packages.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUN=$ROOT/run/local
KE_PORT=${KE_PORT:-4460}
NTP_PORT=${NTP_PORT:-4123}
BUILD=${BUILD:-$ROOT/build}
mode=foreground
case "${1:-}" in
--detach) mode=detach ;;
--stop) mode=stop ;;
"") ;;
*)
	echo "usage: $0 [--detach | --stop]" >&2
	exit 2
	;;
esac

stop_all() {
	for p in nts-ke-server nts-responder nts-signer; do
		if [ -f "$RUN/$p.pid" ]; then
			pid=$(cat "$RUN/$p.pid")
			if kill "$pid" 2>/dev/null; then
				i=0
				while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
					sleep 0.1
					i=$((i + 1))
				done
				echo "stopped $p (pid $pid)"
			fi
			rm -f "$RUN/$p.pid"
		fi
	done
}

if [ $mode = stop ]; then
	stop_all
	exit 0
fi

. deploy/deps.sh
# shellcheck disable=SC2086
nts_install_missing $NTS_BUILD_PKGS openssl

if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" --buildtype=debugoptimized >/dev/null
fi
ninja -C "$BUILD" >/dev/null

missing=""
for b in signer/nts-signer ke-server/nts-ke-server ntp-responder/nts-responder tools/nts-keyctl tools/nts-query; do
	[ -x "$BUILD/$b" ] || missing="$missing $(basename $b)"
done
if [ -n "$missing" ]; then
	echo "built into $BUILD; not there yet:$missing"
	exit 0
fi

stop_all
mkdir -p "$RUN"
chmod 700 "$RUN"

# A throwaway CA and a server certificate for localhost / 127.0.0.1.
if [ ! -f "$RUN/ca.pem" ] || [ ! -f "$RUN/server.pem" ]; then
	(
		cd "$RUN"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
			-subj "/CN=nts quickstart CA" -keyout ca.key -out ca.pem \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
			2>/dev/null
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
			-keyout server.key -out server.csr 2>/dev/null
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
			-extfile server.ext -out server.pem 2>/dev/null
		rm -f server.csr server.ext ca.srl
		chmod 600 ca.key server.key
	)
	echo "made a throwaway CA: $RUN/ca.pem"
fi

# Cookie keys: a key host directory and one file per role. A fresh
# deployment each time keeps the throwaway setup self-contained.
KEYCTL=$BUILD/tools/nts-keyctl
rm -rf "$RUN/keyhost"
$KEYCTL init --dir "$RUN/keyhost" >/dev/null
$KEYCTL export --dir "$RUN/keyhost" --role ke --out "$RUN/ke.keys" >/dev/null
$KEYCTL export --dir "$RUN/keyhost" --role responder --out "$RUN/responder.keys" >/dev/null

cat >"$RUN/nts-responder.conf" <<CONF
# written by deploy/quickstart.sh; see deploy/examples/nts-responder.conf
listen 127.0.0.1:$NTP_PORT
listen [::1]:$NTP_PORT
workers 2
keyfile $RUN/responder.keys
deployment $RUN/keyhost/deployment.pub
# a lab setup: this machine's clock may not be synchronised by a daemon
syncsource static 2 LOCL
metrics 127.0.0.1:${RESP_METRICS_PORT:-9124}
healthfile $RUN/responder.health
CONF
cat >"$RUN/nts-signer.conf" <<CONF
# written by deploy/quickstart.sh; see deploy/examples/nts-signer.conf
socket $RUN/signer.sock
key $RUN/server.key
# the KE server below runs as this same user
allowuser $(id -un)
metrics 127.0.0.1:${SIGNER_METRICS_PORT:-9126}
CONF
cat >"$RUN/nts-ke-server.conf" <<CONF
# written by deploy/quickstart.sh; see deploy/examples/nts-ke-server.conf
listen 127.0.0.1:$KE_PORT
listen [::1]:$KE_PORT
# keyless: the private key is in nts-signer, not in this process
cert $RUN/server.pem
signer $RUN/signer.sock
keyfile $RUN/ke.keys
deployment $RUN/keyhost/deployment.pub
ntpserver 127.0.0.1
ntpport $NTP_PORT
workers 2
metrics 127.0.0.1:${KE_METRICS_PORT:-9125}
CONF

start() { # name binary config
	"$BUILD/$2" -c "$RUN/$3" >>"$RUN/$1.log" 2>&1 &
	echo $! >"$RUN/$1.pid"
}
start nts-signer signer/nts-signer nts-signer.conf
start nts-responder ntp-responder/nts-responder nts-responder.conf
start nts-ke-server ke-server/nts-ke-server nts-ke-server.conf

# wait until both answer, then prove it with an NTS query
i=0
until "$BUILD/tools/nts-query" --ca "$RUN/ca.pem" --timeout 1 "localhost:$KE_PORT" >"$RUN/query.out" 2>&1; do
	i=$((i + 1))
	if [ $i -gt 50 ]; then
		cat "$RUN/query.out" "$RUN/nts-signer.log" "$RUN/nts-ke-server.log" \
			"$RUN/nts-responder.log" >&2
		stop_all
		echo "quickstart: the servers did not answer" >&2
		exit 1
	fi
	sleep 0.2
done
echo "NTS-KE server:  localhost:$KE_PORT, keyless   (log $RUN/nts-ke-server.log)"
echo "signer:         $RUN/signer.sock   (log $RUN/nts-signer.log)"
echo "NTS responder:  127.0.0.1:$NTP_PORT, [::1]:$NTP_PORT   (log $RUN/nts-responder.log)"
echo "CA certificate: $RUN/ca.pem"
echo
"$BUILD/tools/nts-query" --ca "$RUN/ca.pem" --count 3 "localhost:$KE_PORT"
echo
echo "try:  $BUILD/tools/nts-query --ca $RUN/ca.pem localhost:$KE_PORT"
echo "      curl -s 127.0.0.1:${KE_METRICS_PORT:-9125}/metrics; curl -s 127.0.0.1:${RESP_METRICS_PORT:-9124}/health"
echo "      curl -s 127.0.0.1:${SIGNER_METRICS_PORT:-9126}/metrics"

if [ $mode = detach ]; then
	echo "servers left running; stop them with: $0 --stop"
	exit 0
fi
echo "running in the foreground; Ctrl-C stops everything"
trap 'stop_all; exit 0' INT TERM
while kill -0 "$(cat "$RUN/nts-ke-server.pid")" 2>/dev/null &&
	kill -0 "$(cat "$RUN/nts-responder.pid")" 2>/dev/null &&
	kill -0 "$(cat "$RUN/nts-signer.pid")" 2>/dev/null; do
	sleep 1
done
echo "a server exited; see the logs in $RUN" >&2
stop_all
exit 1
