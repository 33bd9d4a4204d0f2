#!/bin/sh
# keys_lock.sh: nts-keyctl's state changes (init, rotate, import) are
# serialised by a lock on DIR/lock. A run that finds the lock held waits
# (up to --lock-timeout) or fails with a clear message; concurrent imports
# never lose an update (every import that says it succeeded is in the
# state, each under its own generation id).
set -eu
K=$BUILD/tools/nts-keyctl
T=$(mktemp -d)
HOLDER=
trap '[ -n "$HOLDER" ] && kill $HOLDER 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v flock >/dev/null || { echo "SKIP: flock (util-linux) missing"; exit 77; }

now=1764000000
$K init --dir "$T/kh" --now $now >/dev/null

# the lock held elsewhere (as an overlapping run would): a short timeout
# fails cleanly and changes nothing; a longer one waits for the holder
flock "$T/kh/lock" sleep 4 &
HOLDER=$!
i=0
while flock -n "$T/kh/lock" true; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "the holder never took the lock"
	sleep 0.1
done
before=$($K show --dir "$T/kh" --now $now)
if $K rotate --dir "$T/kh" --now $((now + 22 * 3600)) --lock-timeout 1 2>"$T/err"; then
	fail "rotate ran while the lock was held"
fi
grep -q "held by another nts-keyctl.*gave up after 1 s" "$T/err" || { cat "$T/err"; fail "unclear lock error"; }
[ "$before" = "$($K show --dir "$T/kh" --now $now)" ] || fail "state changed by a refused rotate"
start=$(date +%s)
$K rotate --dir "$T/kh" --now $((now + 22 * 3600)) --lock-timeout 30 >"$T/out" 2>&1 ||
	{ cat "$T/out"; fail "rotate did not wait for the lock"; }
waited=$(($(date +%s) - start))
grep -q "announced generation 1" "$T/out" || fail "the waiting rotate did not rotate"
[ $waited -ge 1 ] || fail "rotate did not wait for the holder ($waited s)"
wait $HOLDER 2>/dev/null || true
HOLDER=

# ten imports at once, activations in increasing order: those that come
# after a later one are refused; every one that succeeds must be in the
# state, with distinct generation ids
base=$((now / 3600 + 100))
i=0
while [ $i -lt 10 ]; do
	head -c 32 /dev/urandom >"$T/m$i"
	$K import --dir "$T/kh" --master "$T/m$i" --activation $((base + i)) --now $now \
		>"$T/imp$i" 2>&1 &
	i=$((i + 1))
done
wait
ok=$(cat "$T"/imp* | grep -c "^imported generation" || true)
ids=$(cat "$T"/imp* | sed -n 's/^imported generation \([0-9]*\),.*/\1/p' | sort -u | wc -l)
gens=$($K show --dir "$T/kh" --now $now | grep -c "generation ")
[ "$ok" -ge 1 ] || fail "no import succeeded"
[ "$ids" = "$ok" ] || fail "$ok imports reported success but only $ids distinct generation ids (lost update)"
[ "$gens" = $((2 + ok)) ] || fail "$ok imports reported success but the state holds $gens generations (expected $((2 + ok)))"
echo "keys-lock: ok (a held lock: refused after 1 s, waited $waited s; $ok of 10 concurrent imports, all kept)"
