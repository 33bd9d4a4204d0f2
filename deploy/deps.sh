#!/bin/sh
# deps.sh: install the Debian 12 packages needed to build and test, if any
# is missing. Sourced by deploy/quickstart.sh and tests/run.sh.
# Runtime: libuv1, libsodium23, android-libboringssl. The rest is build and
# test tooling (chrony and ntpsec are independent NTS peers for interop;
# bird2 and curl run the anycast e2e test).
NTS_BUILD_PKGS="meson ninja-build pkg-config gcc libc6-dev libuv1-dev libsodium-dev android-libboringssl-dev libseccomp-dev"
NTS_TEST_PKGS="clang libclang-rt-14-dev llvm chrony iproute2 procps openssl python3 bird2 curl"

nts_install_missing() {
	missing=""
	for p in "$@"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
			missing="$missing $p"
		fi
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "missing packages:$missing (run as root or install them)" >&2
		return 1
	fi
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $missing >/dev/null
}
