# symlink_write.sh: a local user who can write to a directory we write
# files into plants symlinks at the temporary name the writer used to pick
# (PATH.tmp.PID, predictable) and at the target itself, pointing at a
# victim file. Every atomic write (fileio_write_atomic: nts-keyctl export,
# genbox, the key host's state, the responder's health file) must leave the
# victims untouched: a fresh temporary name opened O_EXCL|O_NOFOLLOW, and a
# rename that replaces a symlink at the target rather than following it.
# Each writer is started with `exec` from a shell that planted the links, so
# it runs with the PID the links name.
. "$SRC/tests/interop/lib.sh"
make_keys
mkdir "$T/shared"
chmod 1777 "$T/shared"
printf 'victim\n' >"$T/victim"
printf 'victim2\n' >"$T/victim2"
chmod 666 "$T/victim" "$T/victim2"
check_victims() {
	[ "$(cat "$T/victim")" = victim ] || fail "$1: written through the temporary-name symlink"
	[ "$(cat "$T/victim2")" = victim2 ] || fail "$1: written through the target symlink"
}

# nts-keyctl export: links at OUT.tmp.PID and at OUT
OUT=$T/shared/responder.keys
ln -s "$T/victim2" "$OUT"
sh -c 'ln -s "$1" "$2.tmp.$$" && exec "$3" export --dir "$4" --role responder --out "$2"' \
	sh "$T/victim" "$OUT" "$KEYCTL" "$T/keyhost" >/dev/null 2>"$T/export.err" ||
	{ cat "$T/export.err"; fail "export did not write its file"; }
check_victims "nts-keyctl export"
[ -f "$OUT" ] && [ ! -L "$OUT" ] || fail "export: the target is not a regular file"
for f in "$OUT".tmp.*; do
	[ -L "$f" ] || [ ! -e "$f" ] || fail "export left a temporary file: $f"
done

# nts-keyctl genbox: the secret sealing key
rm -f "$T/shared"/*
ln -s "$T/victim2" "$T/shared/host.box"
sh -c 'ln -s "$1" "$2.tmp.$$" && exec "$3" genbox --force --out-secret "$2" --out-public "$4"' \
	sh "$T/victim" "$T/shared/host.box" "$KEYCTL" "$T/shared/host.pub" >/dev/null 2>"$T/genbox.err" ||
	{ cat "$T/genbox.err"; fail "genbox did not write its files"; }
check_victims "nts-keyctl genbox"
grep -q '^nts-box-secret-v1 ' "$T/shared/host.box" || fail "genbox: no secret key written"

# the key host's state (nts-keyctl rotate rewrites it)
sh -c 'ln -s "$1" "$2/state.tmp.$$" && exec "$3" rotate --dir "$2"' \
	sh "$T/victim" "$T/keyhost" "$KEYCTL" >/dev/null 2>"$T/rotate.err" ||
	{ cat "$T/rotate.err"; fail "rotate failed"; }
check_victims "nts-keyctl rotate"

# the responder's health file, rewritten every few seconds
rm -f "$T/shared"/*
HEALTH=$T/shared/health
ln -s "$T/victim2" "$HEALTH"
NTP=$(free_port)
RESP_METRICS=$(free_port)
{
	echo "listen 127.0.0.1:$NTP"
	echo "keyfile $T/responder.keys"
	echo "deployment $T/keyhost/deployment.pub"
	echo "syncsource static 2 TEST"
	echo "metrics 127.0.0.1:$RESP_METRICS"
	echo "healthfile $HEALTH"
} >"$T/responder.conf"
sh -c 'ln -s "$1" "$2.tmp.$$" && exec "$3" -c "$4"' sh "$T/victim" "$HEALTH" \
	"$BUILD/ntp-responder/nts-responder" "$T/responder.conf" >"$T/responder.log" 2>&1 &
PIDS="$PIDS $!"
RESP_PID=$!
wait_metrics $RESP_METRICS
i=0
until [ -f "$HEALTH" ] && [ ! -L "$HEALTH" ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && { check_victims "responder health file"; fail "no health file written"; }
	sleep 0.1
done
sleep 2
check_victims "responder health file"
kill -0 $RESP_PID || fail "the responder died"
echo "symlink_write: ok (export, genbox, rotate, health file)"
