#!/bin/sh
# deps.sh: install the Debian 12 packages needed to build and test, if any
# is missing. Sourced by deploy/quickstart.sh and tests/run.sh.
# Runtime: libuv1, libsodium23, android-libboringssl. The rest is build and
# test tooling (chrony and NTPsec are independent NTS peers for interop;
# bird2 and curl run the anycast e2e test).
# NTPsec's ntpd is not installed but unpacked (nts_unpack_ntpsec): Debian's
# ntpsec and chrony packages conflict (both provide time-daemon), and the
# package would enable a system ntpd on port 123. python3-ntp (ntpq's
# library, no conflicts) and ntpd's shared libraries are installed normally.
# libxdp-dev, libbpf-dev and clang (for the XDP program) are optional: the
# responder's AF_XDP mode (meson -Dxdp=auto) is built when they are there;
# runtime libxdp1 and libbpf1 then.
NTS_BUILD_PKGS="meson ninja-build pkg-config gcc libc6-dev libuv1-dev libsodium-dev android-libboringssl-dev libseccomp-dev libxdp-dev libbpf-dev"
NTS_TEST_PKGS="clang iputils-ping libclang-rt-14-dev llvm chrony iproute2 procps openssl python3 python3-ntp libbsd0 libcap2 libssl3 util-linux bird2 curl faketime python3-cryptography mandoc dpkg-dev debhelper lintian"
# Where nts_unpack_ntpsec puts the ntpsec package's files (usr/sbin/ntpd,
# usr/bin/ntpq); tests/interop/lib.sh looks there.
NTS_NTPSEC_ROOT="${NTS_NTPSEC_ROOT:-/opt/nts-peers/ntpsec}"

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

# nts_unpack_ntpsec: fetch Debian's ntpsec package with apt and unpack it
# into $NTS_NTPSEC_ROOT, without installing it (no maintainer scripts, no
# service, chrony stays). Returns 1 if it cannot; the NTPsec interop tests
# then skip.
nts_unpack_ntpsec() {
	[ -x "$NTS_NTPSEC_ROOT/usr/sbin/ntpd" ] && return 0
	[ "$(id -u)" = 0 ] || return 1
	d=$(mktemp -d /tmp/nts-ntpsec.XXXXXX) || return 1
	chmod 755 "$d"
	if ! (cd "$d" && apt-get download -qq ntpsec >/dev/null 2>&1); then
		apt-get update -qq >/dev/null 2>&1
		(cd "$d" && apt-get download -qq ntpsec >/dev/null 2>&1) || { rm -rf "$d"; return 1; }
	fi
	mkdir -p "$NTS_NTPSEC_ROOT" && dpkg-deb -x "$d"/ntpsec_*.deb "$NTS_NTPSEC_ROOT"
	rc=$?
	rm -rf "$d"
	[ $rc = 0 ] && echo "unpacked ntpsec into $NTS_NTPSEC_ROOT"
	return $rc
}
