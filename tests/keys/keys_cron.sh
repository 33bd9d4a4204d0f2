#!/bin/sh
# keys_cron.sh: deploy/cron/nts-rotate.sh end to end, with two local
# directories standing in for a KE host and a responder host.
set -eu
K=$BUILD/tools/nts-keyctl
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

now=1764000000
$K init --dir "$T/keyhost" --now $now >/dev/null
mkdir -p "$T/keyhost/hosts" "$T/ke1" "$T/resp1"
# the responder host has a sealing key; the KE host does not
$K genbox --out-secret "$T/resp1.sec" --out-public "$T/keyhost/hosts/resp1.pub" >/dev/null

run() {
	NTS_ROTATE_CONF=/nonexistent NTS_KEYDIR="$T/keyhost" NTS_KEYCTL="${KEYCTL:-$K}" \
		NTS_PUSH=copy NTS_KE_HOSTS="$T/ke1" NTS_RESPONDER_HOSTS="$T/resp1" \
		NTS_KE_DEST=etc/ke.keys NTS_RESPONDER_DEST=etc/responder.keys NTS_NOW=$1 \
		sh "$SRC/deploy/cron/nts-rotate.sh" 2>"${LOG:-$T/log}"
}

run $now || { cat "$T/log"; fail "first run"; }
grep -q "pushed ke keys" "$T/log" || fail "no KE push logged"
grep -q "pushed responder keys .* (sealed)" "$T/log" || fail "responder file not sealed"
[ "$(stat -c %a "$T/ke1/etc/ke.keys")" = 600 ] || fail "KE file mode"
[ "$(stat -c %a "$T/resp1/etc/responder.keys")" = 600 ] || fail "responder file mode"
$K show --file "$T/ke1/etc/ke.keys" --pub "$T/keyhost/deployment.pub" --now $now | grep -q "KE server key file" ||
	fail "KE file does not verify"
$K show --file "$T/resp1/etc/responder.keys" --pub "$T/keyhost/deployment.pub" \
	--box-secret "$T/resp1.sec" --now $now | grep -q "responder key file" || fail "responder file does not verify"
if $K show --file "$T/resp1/etc/responder.keys" --pub "$T/keyhost/deployment.pub" >/dev/null 2>&1; then
	fail "sealed file opened without the host key"
fi

# idempotent: a second run the same hour changes no generation
before=$($K show --dir "$T/keyhost" --now $now)
run $((now + 60)) || fail "second run"
grep -q "nothing to do\|not due" "$T/log" || fail "second run rotated"
[ "$before" = "$($K show --dir "$T/keyhost" --now $now)" ] || fail "state changed on a no-op run"

# 22 epochs later the next generation is announced and reaches both hosts
run $((now + 22 * 3600)) || fail "rotation run"
grep -q "announced generation 1" "$T/log" || { cat "$T/log"; fail "no rotation"; }
$K show --file "$T/ke1/etc/ke.keys" --pub "$T/keyhost/deployment.pub" --now $((now + 22 * 3600)) |
	grep -q "generation   1  announced" || fail "KE host lacks the announced generation"
run $((now + 22 * 3600 + 60)) || fail "repeat run"
grep -q "already announced" "$T/log" || fail "repeat run was not a no-op"

# a host that cannot be written is reported and makes the run fail
chmod 500 "$T/ke1/etc"
if [ "$(id -u)" != 0 ]; then
	if run $((now + 23 * 3600)); then fail "unwritable host not reported"; fi
fi
chmod 700 "$T/ke1/etc"

# overlapping runs: a run whose nts-keyctl is slow (a stalled push would
# be the same) holds the lock; a run started meanwhile with a 1 s lock
# timeout gives up and says so; one with a longer timeout waits its turn
printf '#!/bin/sh\nsleep 4\nexec "%s" "$@"\n' "$K" >"$T/slowkeyctl"
chmod 755 "$T/slowkeyctl"
KEYCTL="$T/slowkeyctl" LOG="$T/slow.log" run $((now + 23 * 3600)) &
slow=$!
i=0
while flock -n "$T/keyhost/rotate.lock" true; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "the slow run never took the lock"
	sleep 0.1
done
if NTS_LOCK_TIMEOUT=1 run $((now + 23 * 3600)); then
	fail "a run overlapped the one holding the lock"
fi
grep -q "another nts-rotate run still holds .*rotate.lock" "$T/log" || { cat "$T/log"; fail "overlap not reported"; }
NTS_LOCK_TIMEOUT=60 run $((now + 23 * 3600)) || { cat "$T/log"; fail "the waiting run failed"; }
# the slow run logs "done" just before it exits and so releases the lock
grep -q "nts-rotate: done" "$T/slow.log" || fail "the second run did not wait for the first"
wait $slow || { cat "$T/slow.log"; fail "the slow run failed"; }

# rsync pushes carry an I/O time-out and ssh connect and keep-alive
# time-outs (a fake rsync records its arguments and copies the file)
mkdir -p "$T/bin"
cat >"$T/bin/rsync" <<'FAKE'
#!/bin/sh
printf '%s\n' "$@" >>"$RSYNC_ARGS"
for last; do :; done
eval "src=\${$(($# - 1))}"
cp "$src" "$RSYNC_DEST/$(basename "${last#*:}")"
FAKE
chmod 755 "$T/bin/rsync"
mkdir -p "$T/rsyncdest"
PATH="$T/bin:$PATH" RSYNC_ARGS="$T/rsync.args" RSYNC_DEST="$T/rsyncdest" \
	NTS_ROTATE_CONF=/nonexistent NTS_KEYDIR="$T/keyhost" NTS_KEYCTL="$K" NTS_PUSH=rsync \
	NTS_KE_HOSTS="kehost" NTS_RESPONDER_HOSTS="" NTS_KE_DEST=/etc/nts/ke.keys \
	NTS_NOW=$((now + 23 * 3600)) sh "$SRC/deploy/cron/nts-rotate.sh" 2>"$T/log" ||
	{ cat "$T/log"; fail "rsync run"; }
[ -s "$T/rsyncdest/ke.keys" ] || fail "fake rsync did not receive the file"
grep -qx -- "--timeout=60" "$T/rsync.args" || { cat "$T/rsync.args"; fail "rsync without --timeout"; }
for o in ConnectTimeout=10 ServerAliveInterval=15 ServerAliveCountMax=3 BatchMode=yes; do
	grep -q -- "^ssh .*-o$o" "$T/rsync.args" || { cat "$T/rsync.args"; fail "ssh without -o$o"; }
done
echo "keys-cron: ok"
