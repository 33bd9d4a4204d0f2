# packages.sh: the Debian packages, end to end. Builds them from a clean
# checkout (git archive of HEAD) with dpkg-buildpackage, runs lintian (no
# errors allowed), installs them with dpkg -i, checks that binaries, units,
# man pages and examples are where the packages say and that the services
# are not enabled, runs the installed binaries (--version; the daemons from
# their installed paths with configurations made from the installed
# examples, answering an NTS query), then purges them and checks that they
# are gone. Needs root (it installs packages: a throwaway CI machine);
# skipped otherwise, and in the sanitizer build (the packages build their
# own tree).
. "$SRC/tests/interop/lib.sh"
[ -n "${NTS_PKG_SKIP:-}" ] && skip "$NTS_PKG_SKIP"
[ "$(id -u)" = 0 ] || skip "needs root (installs packages)"
for c in dpkg-buildpackage dh lintian git; do
	command -v $c >/dev/null || skip "$c missing (deploy/deps.sh NTS_TEST_PKGS)"
done
git -C "$SRC" rev-parse HEAD >/dev/null 2>&1 || skip "$SRC is not a git checkout"
PKGS="nts-common nts-ke-server nts-responder nts-signer nts-tools"
for p in $PKGS; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed; then
		skip "$p is installed on this machine already: not touching it"
	fi
done
purge() { dpkg --purge $PKGS >/dev/null 2>&1 || true; }
trap 'purge; cleanup' EXIT INT TERM

# 1. build from a clean checkout
mkdir "$T/src"
git -C "$SRC" archive HEAD | tar -x -C "$T/src"
start=$(date +%s)
(cd "$T/src" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1 ||
	fail "dpkg-buildpackage failed"
echo "dpkg-buildpackage: $(($(date +%s) - start)) s"
for p in $PKGS; do
	ls "$T"/${p}_*.deb >/dev/null 2>&1 || fail "no package $p"
done

# 2. lintian: no errors (warnings are listed)
lintian "$T"/nts_*.changes >"$T/lintian.log" 2>&1 || true
cat "$T/lintian.log"
if grep -q '^E:' "$T/lintian.log"; then
	fail "lintian reports errors"
fi

# 3. install, and where everything is
dpkg -i "$T"/nts-common_*.deb "$T"/nts-ke-server_*.deb "$T"/nts-responder_*.deb \
	"$T"/nts-signer_*.deb "$T"/nts-tools_*.deb >"$T/install.log" 2>&1 || fail "dpkg -i failed"
owns() { # PKG PATH
	dpkg -L "$1" | grep -qx "$2" || fail "$1 does not ship $2"
	[ -e "$2" ] || fail "$2 (from $1) is not on disk"
}
for d in nts-ke-server:8 nts-responder:8 nts-signer:8; do
	p=${d%:*}
	owns $p /usr/bin/$p
	owns $p /lib/systemd/system/$p.service
	owns $p /usr/share/man/man8/$p.8.gz
	owns $p /usr/share/man/man5/$p.conf.5.gz
	owns $p /usr/share/doc/$p/examples/$p.conf
	if [ $p = nts-responder ]; then # the drop-in for xdp: an example, not active
		owns $p /usr/share/doc/$p/examples/$p.service.d/xdp.conf
		[ ! -e /lib/systemd/system/$p.service.d/xdp.conf ] || fail "the xdp drop-in is active"
	fi
	grep -q "^ExecStart=/usr/bin/$p " /lib/systemd/system/$p.service || fail "$p.service does not run /usr/bin/$p"
	if command -v systemctl >/dev/null && systemctl is-enabled $p.service >/dev/null 2>&1; then
		fail "$p.service is enabled before it is configured"
	fi
done
owns nts-responder /lib/systemd/system/nts-health-check.service
owns nts-responder /usr/lib/nts/nts-health-check.sh
owns nts-tools /usr/bin/nts-keyctl
owns nts-tools /usr/bin/nts-query
owns nts-tools /usr/bin/nts-bench
owns nts-tools /lib/systemd/system/nts-rotate.timer
owns nts-tools /usr/share/man/man8/nts-keyctl.8.gz
owns nts-tools /usr/share/man/man1/nts-query.1.gz
owns nts-tools /usr/share/man/man1/nts-bench.1.gz
owns nts-common /usr/share/doc/nts/deploy.md
for u in nts nts-ke nts-signer nts-health; do
	getent passwd $u >/dev/null || fail "system user $u not created"
done
for b in nts-ke-server nts-responder nts-signer nts-keyctl nts-query nts-bench; do
	v=$(/usr/bin/$b --version) || fail "$b --version failed"
	echo "$v" | grep -Eq "^$b [0-9]+\.[0-9]+" || fail "$b --version printed '$v'"
	echo "$v"
done

# 4. the installed daemons, started by hand with configurations made from
# the installed examples, serve an NTS query (through the installed
# nts-query). drop DIRECTIVE... FILE: the example without those lines.
drop() {
	f=$1
	shift
	for d in "$@"; do
		sed -i -E "/^[[:space:]]*$d([[:space:]]|\$)/d" "$f"
	done
}
KEYCTL=/usr/bin/nts-keyctl
QUERY=/usr/bin/nts-query
make_pki
make_keys
NTP=$(free_port)
KE=$(free_port)
cp /usr/share/doc/nts-responder/examples/nts-responder.conf "$T/responder.conf"
drop "$T/responder.conf" listen keyfile deployment syncsource metrics user healthfile
cat >>"$T/responder.conf" <<CONF
listen 127.0.0.1:$NTP
keyfile $T/responder.keys
deployment $T/keyhost/deployment.pub
syncsource static 2 PKG
metrics 127.0.0.1:$(free_port)
CONF
cp /usr/share/doc/nts-ke-server/examples/nts-ke-server.conf "$T/ke.conf"
drop "$T/ke.conf" listen cert signer keyfile deployment ntpserver ntpport metrics user
cat >>"$T/ke.conf" <<CONF
listen 127.0.0.1:$KE
cert $T/server.pem $T/server.key
keyfile $T/ke.keys
deployment $T/keyhost/deployment.pub
ntpserver 127.0.0.1
ntpport $NTP
metrics 127.0.0.1:$(free_port)
CONF
/usr/bin/nts-responder -c "$T/responder.conf" --check >/dev/null || fail "responder --check on the example-based file"
/usr/bin/nts-ke-server -c "$T/ke.conf" --check >/dev/null || fail "ke-server --check on the example-based file"
/usr/bin/nts-responder -c "$T/responder.conf" >"$T/responder.log" 2>&1 &
PIDS="$PIDS $!"
/usr/bin/nts-ke-server -c "$T/ke.conf" >"$T/ke.log" 2>&1 &
PIDS="$PIDS $!"
i=0
until $QUERY --ca "$T/ca.pem" --count 2 localhost:$KE >"$T/query.out" 2>&1; do
	i=$((i + 1))
	[ $i -gt 50 ] && { cat "$T/query.out"; fail "installed daemons do not answer an NTS query"; }
	sleep 0.2
done
echo "installed daemons answered nts-query"
for p in $PIDS; do kill "$p"; done
wait

# 5. purge removes everything the packages installed
dpkg --purge $PKGS >"$T/purge.log" 2>&1 || fail "dpkg --purge failed"
for f in /usr/bin/nts-ke-server /usr/bin/nts-responder /usr/bin/nts-signer /usr/bin/nts-keyctl \
	/lib/systemd/system/nts-ke-server.service /usr/share/man/man8/nts-keyctl.8.gz \
	/usr/share/doc/nts /usr/share/doc/nts-responder; do
	[ ! -e "$f" ] || fail "$f is still there after purge"
done
echo "OK"
