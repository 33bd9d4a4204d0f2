# clock_step.sh: the wall clock of a running daemon steps forward and back
# (a shared upstream that jumps), one daemon at a time, moved at run time by
# libfaketime (Debian's faketime package) through a file it re-reads on
# every call; the monotonic clock is left alone, as a real step leaves it.
#   KE server +2 h: it mints cookies the responder (right clock) refuses as
#     future ones (this shows the step took); back: fresh NTS-KE sessions
#     get cookies and answers again (before the fix: Error 2 for every
#     client until the next key push).
#   responder +2 days: it NAKs every real cookie (expired by its clock);
#     back: the session from before the step works again (before the fix:
#     every cookie NAKed for good).
. "$SRC/tests/interop/lib.sh"
FT_LIB=
for d in /usr/lib/x86_64-linux-gnu/faketime /usr/lib/faketime /usr/local/lib/faketime; do
	[ -f "$d/libfaketimeMT.so.1" ] && FT_LIB=$d/libfaketimeMT.so.1 && break
done
[ -n "$FT_LIB" ] || skip "libfaketime not installed (Debian package faketime, deploy/deps.sh)"
# Under ASan the daemons hang at start with libfaketime preloaded: its
# constructor looks up symbols this glibc lacks (__ftime), and the failed
# dlsym allocates while ASan's allocator is still being set up (a futex wait
# that never returns; seen with clang 14 and libfaketime 0.9.10). The same
# steps run under ASan+UBSan in tests/unit/test_keyring.c (injected clock).
[ "${SANITIZED:-0}" = 1 ] &&
	skip "libfaketime deadlocks in ASan-instrumented daemons; the unit test covers the steps under ASan"
make_pki
make_keys
NTP=$(free_port)
KE=$(free_port)

# Each daemon's clock moves by the offset in its own file, $T/NAME.ft
# (libfaketime re-reads it on every call; the monotonic clock stays real).
# The variables are set for the start_* call only (the helpers' own
# commands see offset +0). Under ASan the preloaded library comes first.
printf '+0\n' >"$T/ke.ft"
printf '+0\n' >"$T/resp.ft"
LD_PRELOAD=$FT_LIB FAKETIME_TIMESTAMP_FILE=$T/resp.ft FAKETIME_NO_CACHE=1 \
	FAKETIME_DONT_FAKE_MONOTONIC=1 start_responder $NTP
LD_PRELOAD=$FT_LIB FAKETIME_TIMESTAMP_FILE=$T/ke.ft FAKETIME_NO_CACHE=1 \
	FAKETIME_DONT_FAKE_MONOTONIC=1 start_ke $KE $NTP
[ -z "${LD_PRELOAD:-}" ] || fail "LD_PRELOAD leaked into the test shell"
grep -q faketime /proc/$RESP_PID/maps || fail "libfaketime not loaded in the responder"
grep -q faketime /proc/$KE_PID/maps || fail "libfaketime not loaded in the KE server"

# step FILE OFFSET: move a daemon's clock; two keyring ticks (1 s each)
# see it, with margin for a loaded machine
step() {
	printf '%s\n' "$2" >"$T/$1.ft"
	sleep 3
}
q() { $QUERY --ca "$T/ca.pem" --timeout 5 "$@"; }

q --save "$T/sess" localhost:$KE >/dev/null || fail "query before any step"

# KE server +2 h
step ke +2h
if q localhost:$KE >"$T/q.out" 2>&1; then
	cat "$T/q.out"
	fail "the KE clock did not move (its cookies should be 2 epochs ahead)"
fi
future=$(metric $RESP_METRICS 'reason="future_key"')
[ "$future" -ge 1 ] || fail "no future_key NAK while the KE clock was 2 h ahead"
step ke +0
for i in 1 2 3; do
	q --count 2 localhost:$KE >"$T/q.out" 2>&1 || { cat "$T/q.out"; fail "NTS query $i after the KE clock came back"; }
done
echo "KE +2 h and back: $future future-key NAKs during the step, queries ok after"

# responder +2 days
refused() { echo $(($(metric $RESP_METRICS 'reason="expired_key"') + $(metric $RESP_METRICS 'reason="unknown_key"'))); }
before=$(refused)
step resp +2d
if q --load "$T/sess" >"$T/q.out" 2>&1; then
	cat "$T/q.out"
	fail "the responder clock did not move (the cookie should be expired for it)"
fi
# The responder judges a cookie by the kernel's receive timestamp of the
# request (SO_TIMESTAMPNS), which libfaketime cannot move, while its keyring
# follows the faked clock: the ring built for +2 days no longer holds the
# request's epoch, so the NAK is counted as unknown_key rather than
# expired_key (with a real step both move and it is expired_key).
expired=$(($(refused) - before))
[ "$expired" -ge 1 ] || fail "no expired_key or unknown_key NAK while the responder was 2 days ahead"
step resp +0
q --load "$T/sess" --count 2 >"$T/q.out" 2>&1 || { cat "$T/q.out"; fail "the session from before the steps after the responder came back"; }
q --count 2 localhost:$KE >"$T/q.out" 2>&1 || { cat "$T/q.out"; fail "a new session after the responder came back"; }
echo "responder +2 days and back: $expired cookie NAKs during the step, old and new sessions ok after"

# both daemons still alive
kill -0 $KE_PID && kill -0 $RESP_PID || fail "a daemon died"
echo "clock_step: ok"

