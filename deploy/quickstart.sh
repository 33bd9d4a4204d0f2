#!/bin/sh
# quickstart.sh: build and run the whole system on this machine.
#
#   deploy/quickstart.sh            build, make keys and a throwaway CA, start a
#                                   KE server and a responder on 127.0.0.1, run an
#                                   NTS query against them, stay in the foreground
#   deploy/quickstart.sh --detach   the same, but exit 0 once the servers answer
#   deploy/quickstart.sh --stop     stop servers started with --detach
#
# Ports: KE_PORT (default 4460), NTP_PORT (default 4123). Everything lives in
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
	meson setup "$BUILD" --buildtype=release >/dev/null
fi
ninja -C "$BUILD" >/dev/null

missing=""
for b in ke-server/nts-ke-server ntp-responder/nts-responder tools/nts-keyctl tools/nts-query; do
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
