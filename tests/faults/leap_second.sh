# leap_second.sh: the leap second at the end of 2016-12-31 on running
# responders (issue 12 item 6). Their wall clock is moved with libfaketime
# to 23:59:52 (only theirs: the machine's clock is not touched) and the
# fake_adjtime.so shim reports a synchronised kernel clock. Two cases:
#   A  the local daemon (a fake NTP server here) keeps answering "insert"
#      after midnight, as a cached answer up to 16 s old would
#   B  the kernel still has STA_INS set after midnight, the daemon says 0
# Plain queries every 0.2 s from 23:59:5x to 00:00:03 (by the responder's
# own transmit timestamp): before midnight and during 23:59:59 the insert is
# announced (LI 1), from 00:00:00 on never.
. "$SRC/tests/interop/lib.sh"
# libfaketime hangs at start in an ASan-instrumented process (seen with
# Debian's faketime 0.9.10 and clang's static ASan runtime); the leap logic
# runs under ASan in the unit test responder (test_leap)
[ "${SANITIZED:-0}" = 1 ] && skip "libfaketime hangs in ASan builds; see unit test responder"
FT=""
for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 \
	/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1; do
	[ -f "$f" ] && { FT=$f; break; }
done
[ -n "$FT" ] || skip "libfaketime not installed (Debian package faketime)"
[ -f "${FAKE_ADJTIME:-}" ] || fail "FAKE_ADJTIME not built"
SRCA=$(free_port)
SRCB=$(free_port)
NTPA=$(free_port)
NTPB=$(free_port)

# the local "time daemon": answers every client request with LI as given
python3 - "$SRCA" 1 "$SRCB" 0 "$T/fake-daemon.ready" >"$T/fake-daemon.log" 2>&1 <<'PY' &
import socket, select, struct, sys
socks = []
for port, li in zip(sys.argv[1:-1:2], sys.argv[2:-1:2]):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", int(port)))
    socks.append((s, int(li)))
open(sys.argv[-1], "w").close()
while True:
    r, _, _ = select.select([s for s, _ in socks], [], [])
    for s, li in socks:
        if s in r:
            req, peer = s.recvfrom(2048)
            if len(req) < 48 or req[0] & 7 != 3:
                continue
            h = bytes([(li << 6) | (4 << 3) | 4, 2, 6, 0xec]) + struct.pack(">II", 0x100, 0x200)
            h += b"\x7f\x00\x00\x01" + b"\0" * 8 + req[40:48] + b"\0" * 16
            s.sendto(h, peer)
PY
PIDS="$PIDS $!"
i=0
until [ -f "$T/fake-daemon.ready" ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "the fake time daemon did not start"
	sleep 0.1
done

start_at() { # NAME NTPPORT SRCPORT KERNEL: a responder with its clock at 23:59:52
	port=$(free_port)
	printf 'listen 127.0.0.1:%s\nworkers 1\nsyncsource ntp 127.0.0.1:%s\nmetrics 127.0.0.1:%s\n' \
		"$2" "$3" "$port" >"$T/$1.conf"
	NTS_FAKE_KERNEL=$4 LD_PRELOAD="$FAKE_ADJTIME $FT" FAKETIME="@2016-12-31 23:59:52" \
		FAKETIME_DONT_FAKE_MONOTONIC=1 \
		"$BUILD/ntp-responder/nts-responder" -c "$T/$1.conf" >"$T/$1.log" 2>&1 &
	PIDS="$PIDS $!"
	eval "METRICS_$1=$port"
}
start_at a $NTPA $SRCA ok
start_at b $NTPB $SRCB ins
for m in $METRICS_a $METRICS_b; do
	wait_metrics $m
	i=0
	until [ "$(metric $m '^nts_responder_synchronised ')" = 1 ]; do
		i=$((i + 1))
		[ $i -gt 50 ] && fail "responder (metrics $m) never synchronised"
		sleep 0.1
	done
done

python3 - "$NTPA" "$NTPB" <<'PY' || fail "leap indicator wrong around midnight (see above)"
import socket, struct, sys, time
MIDNIGHT = 3692217600  # 2017-01-01 00:00:00 UTC in NTP seconds
ports = [int(p) for p in sys.argv[1:]]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(1.0)
seen = {p: [] for p in ports}
deadline = time.monotonic() + 40
done = set()
bad = []
while len(done) < len(ports) and time.monotonic() < deadline:
    for p in ports:
        if p in done:
            continue
        u.sendto(bytes([0x23]) + b"\0" * 39 + b"\x11" * 8, ("127.0.0.1", p))
        try:
            r = u.recv(512)
        except socket.timeout:
            bad.append("port %d: no answer" % p)
            continue
        li = r[0] >> 6
        sec, frac = struct.unpack(">II", r[40:48])
        t3 = sec + frac / 2**32 - MIDNIGHT
        seen[p].append((t3, li))
        want = 1 if t3 < 0 else 0
        if li != want:
            bad.append("port %d: LI %d at %+.3f s from midnight" % (p, li, t3))
        if t3 > 3:
            done.add(p)
    time.sleep(0.2)
for p in ports:
    s = seen[p]
    print("port %d: %d answers, %s" % (p, len(s), " ".join("%+.1f:%d" % x for x in s)))
    if not any(t < -2 for t, _ in s):
        bad.append("port %d: no answer well before midnight" % p)
    if not any(-1 <= t < 0 for t, _ in s):
        bad.append("port %d: no answer during 23:59:59" % p)
    if sum(1 for t, _ in s if t >= 0) < 5:
        bad.append("port %d: too few answers after midnight" % p)
for b in bad:
    print("BAD:", b)
sys.exit(1 if bad else 0)
PY
echo "leap_second: insert announced up to 23:59:59.x, never from 00:00:00 (daemon and kernel cases)"
