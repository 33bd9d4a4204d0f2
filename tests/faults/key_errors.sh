# key_errors.sh: key-file errors an operator meets in a deployment say
# what to do (issue 18): the file that failed, the OS error, the user the
# daemon runs as; which of missing or too large; both deployment ids for
# another deployment's file. genbox keeps an existing sealing key unless
# --force, gives it to a user with --owner, and says why a write failed. A
# host.box replaced on a running responder is picked up without a restart.
. "$SRC/tests/interop/lib.sh"
make_keys
cp "$T/keyhost/deployment.pub" "$T/dep.pub"
chmod 644 "$T/dep.pub"
RESP=$BUILD/ntp-responder/nts-responder
conf() { # FILE KEYFILE [BOXKEY]
	{
		echo "listen 127.0.0.1:$(free_port)"
		echo "keyfile $2"
		echo "deployment $T/dep.pub"
		echo "syncsource static 2 TEST"
		[ $# -gt 2 ] && echo "boxkey $3"
	} >"$1"
	chmod 644 "$1"
}
expect() { # FILE PATTERN WHAT
	grep -q -- "$2" "$1" || { cat "$1"; fail "$3: no \"$2\""; }
}

# genbox: --owner, an existing key kept without --force, the OS error
id nobody >/dev/null 2>&1 || skip "no user nobody"
$KEYCTL genbox --out-secret "$T/host.box" --out-public "$T/host.pub" --owner nobody >"$T/out" ||
	fail "genbox --owner"
[ "$(stat -c %U:%a "$T/host.box")" = "nobody:600" ] || fail "genbox --owner: $(stat -c %U:%a "$T/host.box")"
cp "$T/host.box" "$T/host.box.orig"
if $KEYCTL genbox --out-secret "$T/host.box" --out-public "$T/host.pub" 2>"$T/err"; then
	fail "genbox replaced an existing sealing key without --force"
fi
expect "$T/err" "host.box exists.*--force" "genbox over an existing key"
cmp -s "$T/host.box" "$T/host.box.orig" || fail "genbox changed the existing key"
if $KEYCTL genbox --out-secret "$T/nodir/host.box" --out-public "$T/x.pub" 2>"$T/err"; then
	fail "genbox wrote into a missing directory"
fi
expect "$T/err" "cannot write $T/nodir/host.box: No such file or directory" "genbox write error"

# a sealing key the daemon's user cannot read: that file, the OS error and
# the user, not deployment.pub (run as nobody; root reads anything)
$KEYCTL genbox --out-secret "$T/root.box" --out-public "$T/root.pub" >/dev/null
chmod 600 "$T/root.box"
conf "$T/r1.conf" "$T/responder.keys" "$T/root.box"
if setpriv --reuid=nobody --regid=nogroup --clear-groups "$RESP" -c "$T/r1.conf" --check \
	>"$T/out" 2>"$T/err"; then
	fail "--check passed with an unreadable sealing key"
fi
expect "$T/err" "cannot read host sealing key $T/root.box: Permission denied" "unreadable host.box"
expect "$T/err" "runs as user nobody" "unreadable host.box: the user"
grep -q "deployment.pub\|dep.pub" "$T/err" && { cat "$T/err"; fail "unreadable host.box blamed on deployment.pub"; }

# the key file: missing, or too large (which one, with the path)
conf "$T/r2.conf" "$T/none.keys"
"$RESP" -c "$T/r2.conf" --check 2>"$T/err" && fail "--check passed with no key file"
expect "$T/err" "cannot read key file $T/none.keys: No such file or directory" "missing key file"
head -c 70000 /dev/zero >"$T/big.keys"
conf "$T/r3.conf" "$T/big.keys"
"$RESP" -c "$T/r3.conf" --check 2>"$T/err" && fail "--check passed with a huge key file"
expect "$T/err" "key file $T/big.keys is larger than 65536 bytes" "too large key file"

# another deployment's deployment.pub: both ids
$KEYCTL init --dir "$T/other" >/dev/null
ours=$(cut -d' ' -f2 "$T/keyhost/deployment.pub")
theirs=$(cut -d' ' -f2 "$T/other/deployment.pub")
cp "$T/other/deployment.pub" "$T/dep.pub"
conf "$T/r4.conf" "$T/responder.keys"
"$RESP" -c "$T/r4.conf" --check 2>"$T/err" && fail "--check passed with another deployment"
expect "$T/err" "bad signature.*the file names deployment $ours; deployment.pub is $theirs" \
	"another deployment"
cp "$T/keyhost/deployment.pub" "$T/dep.pub"

# a sealing key replaced on a running responder: the next key file, sealed
# to the new key, loads without a restart
$KEYCTL export --dir "$T/keyhost" --role responder --out "$T/responder.keys" \
	--seal-to "$T/root.pub" >/dev/null
NTP=$(free_port)
start_responder $NTP "boxkey $T/root.box"
ok0=$(metric $RESP_METRICS 'result="ok"')
$KEYCTL genbox --force --out-secret "$T/root.box" --out-public "$T/root.pub" >/dev/null
$KEYCTL export --dir "$T/keyhost" --role responder --out "$T/responder.keys" \
	--seal-to "$T/root.pub" >/dev/null
i=0
until [ "$(metric $RESP_METRICS 'result="ok"')" -gt "$ok0" ]; do
	i=$((i + 1))
	[ $i -gt 50 ] && fail "the file sealed to the new host.box was not loaded without a restart"
	sleep 0.2
done
expect "$T/responder.log" "changed; using the new one" "host.box change logged"
# and a file sealed to some other key names this host's public key
$KEYCTL genbox --out-secret "$T/third.box" --out-public "$T/third.pub" >/dev/null
$KEYCTL export --dir "$T/keyhost" --role responder --out "$T/responder.keys" \
	--seal-to "$T/third.pub" >/dev/null
i=0
until grep -q "not sealed to this host's sealing key" "$T/responder.log"; do
	i=$((i + 1))
	[ $i -gt 50 ] && { cat "$T/responder.log"; fail "no seal error for a file sealed to another host"; }
	sleep 0.2
done
kill -0 $RESP_PID || fail "the responder died"
echo "key_errors: ok"
