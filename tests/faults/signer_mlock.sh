# signer_mlock.sh: nts-signer keeps everything it maps locked in memory,
# also what it maps after start (keys loaded again on SIGHUP, buffers of
# later handshakes): mlockall(MCL_CURRENT | MCL_FUTURE). Checked from
# /proc/PID/status: after handshakes and a reload VmLck still covers VmSize
# (with MCL_CURRENT alone it stays at its start-up value while VmSize grows).
. "$SRC/tests/interop/lib.sh"
# ASan reserves terabytes of shadow address space: mlockall fails there
[ "${SANITIZED:-0}" = 1 ] && skip "mlockall cannot lock an ASan process's shadow memory"
NTS_KEYLESS=1 start_stack
grep -q "cannot lock memory" "$T/signer.log" && skip "mlockall not allowed here (RLIMIT_MEMLOCK)"
vm() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" /proc/$SIGNER_PID/status; }
lck0=$(vm VmLck)
for i in 1 2 3 4 5 6 7 8; do
	$QUERY --ca "$T/ca.pem" localhost:$KE >/dev/null || fail "query $i"
done
kill -HUP $SIGNER_PID
sleep 1
for i in 1 2 3 4 5 6 7 8; do
	$QUERY --ca "$T/ca.pem" localhost:$KE >/dev/null || fail "query $i after SIGHUP"
done
lck=$(vm VmLck)
size=$(vm VmSize)
echo "signer: VmLck $lck0 kB at start, $lck kB of VmSize $size kB after 16 handshakes and a reload"
[ "$lck" -gt "$lck0" ] || fail "VmLck did not grow with what the signer mapped later"
# all of it, but for pages mapped and not yet faulted in between the reads
[ $((lck * 100)) -ge $((size * 98)) ] || fail "only $lck of $size kB locked"
echo "signer_mlock: ok"
