# xdp.sh: nts-responder's AF_XDP fast path (docs/xdp.md) over a veth pair
# between two namespaces, native XDP on the server's end, copy mode.
#   srv: eth0 10.89.0.1 fd89::1, lo 10.89.9.9 fd89:9::9 (anycast style)
#   cl:  eth0 10.89.0.2 fd89::2
# Checks: NTS (nts-query) and plain NTP answered through the XDP path over
# IPv4 and IPv6, to the interface and the lo address; ping, the KE port and
# another UDP port still work while attached; hostile frames sent with
# AF_PACKET (truncated headers, wrong IHL / lengths, fragments, options,
# extension headers) never reach our parser; NAKs, silence and response
# sizes as in socket mode; clear refusals (no interface, queue mismatch)
# and xdpfallback; the program is gone after stop and after kill -9, and
# a stale one attached by netlink is replaced at start.
# Skipped (77) if the kernel refuses native XDP on veth.
. "$SRC/tests/e2e/lib.sh"
[ -x "$RESPONDER" ] || skip "no nts-responder"
# xdp_active reads the metric of a started responder; an nts-responder
# built without AF_XDP refuses the directive with a message
add_host srv
add_host cl
link_pair srv cl
ip -n "$P-srv" addr add 10.89.9.9/32 dev lo
ip -n "$P-srv" addr add fd89:9::9/128 dev lo nodad
ip -n "$P-cl" route add 10.89.9.9/32 via 10.89.0.1
ip -n "$P-cl" -6 route add fd89:9::9/128 via fd89::1
nsx cl ping -c1 -W2 10.89.0.1 >/dev/null || fail "no connectivity over the veth pair"
plain_keys
make_pki ke "IP:10.89.0.1,IP:fd89::1,IP:10.89.9.9,IP:fd89:9::9"
cat >"$T/ke.conf" <<CONF
listen 0.0.0.0:4460
listen [::]:4460
cert $T/ke.pem $T/ke.key
keyfile $T/ke.keys
deployment $T/keyhost/deployment.pub
ntpserver4 10.89.9.9
ntpserver6 fd89:9::9
workers 1
metrics 127.0.0.1:9125
CONF
bg srv ke "$KESERVER" -c "$T/ke.conf"
wait_metrics srv 9125

resp_conf() { # extra lines
	cat >"$T/resp.conf" <<CONF
listen 10.89.0.1:123
listen 10.89.9.9:123
listen [fd89::1]:123
listen [fd89:9::9]:123
workers 2
keyfile $T/responder.keys
deployment $T/keyhost/deployment.pub
syncsource static 2 XDP
metrics 127.0.0.1:9124
$*
CONF
}
xdp_attached() { ip -n "$P-srv" link show dev eth0 | grep -q 'prog/xdp'; }

# ---- clear refusals ----
resp_conf "xdp nosuch0"
if nsx srv timeout 20 "$RESPONDER" -c "$T/resp.conf" >"$T/refuse1.log" 2>&1; then fail "started on a missing interface"; fi
grep -q "built without AF_XDP" "$T/refuse1.log" && skip "nts-responder built without AF_XDP (-Dxdp)"
grep -q "no interface 'nosuch0'" "$T/refuse1.log" || fail "no clear message for a missing interface: $(cat "$T/refuse1.log")"
resp_conf "xdp eth0 5"
if nsx srv timeout 20 "$RESPONDER" -c "$T/resp.conf" >"$T/refuse2.log" 2>&1; then fail "started with a queue the interface lacks"; fi
grep -q "eth0 has 1 receive queue (0-0), not queue 5" "$T/refuse2.log" ||
	fail "no clear message for a queue mismatch: $(cat "$T/refuse2.log")"
xdp_attached && fail "a refused start left a program attached"

# ---- fallback: loud, and serving from sockets ----
resp_conf "xdp nosuch0
xdpfallback yes"
bg srv resp-fb "$RESPONDER" -c "$T/resp.conf"
FB=$LAST
wait_metrics srv 9124
grep -q "serving from sockets only (xdpfallback yes)" "$T/resp-fb.log" || fail "fallback not logged"
[ "$(nsmetric srv 9124 '^nts_responder_xdp_fallback ')" = 1 ] || fail "fallback metric not 1"
nsx cl "$QUERY" --plain 10.89.0.1 --json >/dev/null || fail "plain query in fallback mode"
kill "$FB"
wait "$FB" 2>/dev/null || :

# ---- the XDP path ----
resp_conf "xdp eth0"
bg srv resp "$RESPONDER" -c "$T/resp.conf"
RESP=$LAST
i=0
until nsx srv curl -sf --max-time 1 http://127.0.0.1:9124/metrics >/dev/null 2>&1; do
	i=$((i + 1))
	if ! kill -0 "$RESP" 2>/dev/null; then
		if grep -q "no native XDP\|kernel refused the XDP program" "$T/resp.log"; then
			skip "the kernel refuses XDP here: $(tail -1 "$T/resp.log")"
		fi
		fail "responder in XDP mode did not start"
	fi
	[ $i -gt 100 ] && fail "responder in XDP mode did not start"
	sleep 0.1
done
xdp_attached || fail "no XDP program on eth0 while running"
[ "$(nsmetric srv 9124 '^nts_responder_xdp_active ')" = 1 ] || fail "xdp_active not 1"
[ "$(nsmetric srv 9124 'xdp_sockets\{mode="copy"')" = 1 ] || fail "expected one copy-mode socket on veth"
# receive timestamps: the device-bound program with the kfunc loads (veth
# has bpf_xdp_metadata_rx_timestamp), but veth has no PTP clock
grep -q "receive timestamps: the XDP program's time (no hardware timestamps: no PTP hardware clock on eth0)" "$T/resp.log" ||
	fail "no log line saying which receive timestamps are used: $(grep timestamps "$T/resp.log")"
[ "$(nsmetric srv 9124 'rx_timestamp_setup\{part="kfunc"')" = 1 ] || fail "the device-bound program did not load"
[ "$(nsmetric srv 9124 'rx_timestamp_setup\{part="phc"')" = 0 ] || fail "a PHC on veth?"
tsrc() { nsmetric srv 9124 "rx_timestamps_total\\{source=\"$1\""; }
tbatch() { nsmetric srv 9124 "rx_timestamp_batch_total\\{reason=\"$1\""; }
xrx() { nsmetric srv 9124 'xdp_packets_total\{dir="rx"'; }
xtx() { nsmetric srv 9124 'xdp_packets_total\{dir="tx"'; }

# NTS and plain, IPv4 and IPv6, interface and lo addresses
rx0=$(xrx)
for ke in 10.89.0.1 "[fd89::1]"; do
	nsx cl "$QUERY" --ca "$T/ca.pem" --json --count 2 --save "$T/sess" "$ke" >"$T/q.json" ||
		fail "NTS query via $ke: $(cat "$T/q.json")"
	grep -q '"authenticated":true' "$T/q.json" || fail "not authenticated via $ke: $(cat "$T/q.json")"
done
cp "$T/sess" "$T/sess6"
for a in 10.89.0.1 10.89.9.9 "[fd89::1]" "[fd89:9::9]"; do
	nsx cl "$QUERY" --plain "$a" --json >"$T/p.json" || fail "plain query to $a: $(cat "$T/p.json")"
	grep -q '"stratum":2' "$T/p.json" || fail "plain answer from $a: $(cat "$T/p.json")"
	# one host, one clock: a T2 from the program's time converted wrongly
	# (say, CLOCK_MONOTONIC as it is) shows as an offset far from 0
	off=$(grep -o '"offset":[-0-9.e]*' "$T/p.json" | cut -d: -f2)
	awk -v o="$off" 'BEGIN { exit !(o > -0.01 && o < 0.01) }' ||
		fail "offset $off s from $a on one host: T2 wrong?"
done
rx1=$(xrx)
[ $((rx1 - rx0)) -ge 8 ] || fail "only $((rx1 - rx0)) packets through XDP for 8 queries"
# every packet got the program's time (veth gives no hardware timestamp:
# veth_xdp_rx_timestamp returns 0 with a zero time for a packet from its
# peer), none the batch time: the metadata arrived and every program time
# converted within its bounds
[ "$(tsrc hardware)" = 0 ] || fail "hardware timestamps on veth: $(tsrc hardware)"
[ "$(tsrc program)" = "$rx1" ] || fail "program timestamps $(tsrc program), packets $rx1"
[ "$(tsrc batch)" = 0 ] || fail "batch timestamps $(tsrc batch) (program $(tbatch program), no_metadata $(tbatch no_metadata), no_timestamp $(tbatch no_timestamp))"
[ "$(xtx)" -ge 8 ] || fail "responses not sent through XDP"

# other traffic to the same addresses still works
nsx cl ping -c1 -W2 10.89.0.1 >/dev/null || fail "ping (IPv4) while attached"
nsx cl ping -c1 -W2 fd89::1 >/dev/null || fail "ping (IPv6) while attached"
nsx srv python3 - <<'PY' &
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.89.0.1", 5353))
s.settimeout(10)
d, a = s.recvfrom(100)
s.sendto(b"echo:" + d, a)
PY
ECHO=$!
sleep 0.3
nsx cl python3 - <<'PY' || fail "another UDP port while attached"
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(b"x", ("10.89.0.1", 5353))
assert s.recv(100) == b"echo:x"
PY
wait $ECHO || :

# a burst: more responses in one batch than the kernel sends per transmit
# kick in copy mode (32) all go out at once, none waits for a later request
nsx cl python3 - <<'PY' || fail "burst through XDP"
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
req = bytes([0x23]) + bytes(47)
for rnd in range(5):
    for _ in range(300):
        s.sendto(req, ("10.89.0.1", 123))
    got, end = 0, time.time() + 1.0
    s.settimeout(0.2)
    while got < 300 and time.time() < end:
        try:
            s.recv(100)
            got += 1
        except socket.timeout:
            break
    assert got == 300, "round %d: %d of 300 answered" % (rnd, got)
PY
# the rules of the socket path: silence, sizes, NAKs
rx0=$(xrx)
nsx cl python3 - <<'PY' || fail "NTP rules through XDP"
import socket, struct
def ask(fam, addr, pkt):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(0.5)
    s.sendto(pkt, (addr, 123))
    try:
        return s.recv(2048)
    except socket.timeout:
        return None
req = bytes([0x23]) + bytes(47)                # v4 client
for fam, a in ((socket.AF_INET, "10.89.0.1"), (socket.AF_INET6, "fd89::1")):
    r = ask(fam, a, req)
    assert r is not None and len(r) == 48 and r[0] & 7 == 4, r
    assert ask(fam, a, bytes([0x16]) + bytes(11)) is None  # mode 6: silence
    assert ask(fam, a, req[:47]) is None                   # short: silence
    # unknown extension field, 4 + 12 bytes: no answer larger than the request
    big = req + struct.pack(">HH", 0x7777, 16) + bytes(12)
    r = ask(fam, a, big)
    assert r is None or len(r) <= len(big), len(r)
PY
[ $(($(xrx) - rx0)) -ge 8 ] || fail "rule checks did not go through XDP"
# garbage cookies: NAK through the XDP path
python3 - "$T/sess" "$T/bad" <<'PY'
import os, struct, sys
b = open(sys.argv[1], "rb").read()
aead = struct.unpack(">H", b[8:10])[0]
kl = {15: 32, 30: 16, 17: 64}[aead]
p = 10 + 2 * kl
p += 1 + b[p]
p += 2
n = b[p]
out, p = bytearray(b[:p + 1]), p + 1
for _ in range(n):
    ln = struct.unpack(">H", b[p:p + 2])[0]
    out += struct.pack(">H", ln) + b[p + 2:p + 6] + os.urandom(ln - 4)
    p += 2 + ln
open(sys.argv[2], "wb").write(out)
PY
set +e
nsx cl "$QUERY" --load "$T/bad" --json >"$T/nak.json" 2>&1
rc=$?
set -e
[ $rc = 4 ] || fail "garbage cookie through XDP: exit $rc, expected 4 (NAK): $(cat "$T/nak.json")"
[ "$(nsmetric srv 9124 'naks_total\{reason="bad_cookie"')" -ge 1 ] || fail "NAK not counted"

# hostile frames from the client's side of the veth (AF_PACKET): the
# program passes them to the kernel, our parser never sees them
SRV_MAC=$(ip -n "$P-srv" -br link show eth0 | awk '{print $3}')
rx0=$(xrx)
odd0=$(nsmetric srv 9124 'verdict="pass_odd"')
nsx cl python3 - "$SRV_MAC" <<'PY' || fail "sending hostile frames"
import socket, struct, sys
dst = bytes.fromhex(sys.argv[1].replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
src = s.getsockname()[4]
ntp = bytes([0x23]) + bytes(47)
def csum(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16:
        t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
def ip4(payload, ihl=5, frag=0, tot=None, opts=b""):
    tot = tot if tot is not None else 20 + len(opts) + len(payload)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tot, 1, frag, 64, 17, 0,
                    socket.inet_aton("10.89.0.2"), socket.inet_aton("10.89.0.1")) + opts
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload
def udp(payload, ulen=None):
    return struct.pack("!HHHH", 40000, 123, ulen if ulen is not None else 8 + len(payload), 0) + payload
def ip6(nh, payload):
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), nh, 64,
                       socket.inet_pton(socket.AF_INET6, "fd89::2"),
                       socket.inet_pton(socket.AF_INET6, "fd89::1")) + payload
eth4 = dst + src + b"\x08\x00"
eth6 = dst + src + b"\x86\xdd"
frames = [
    dst + src,                                       # truncated Ethernet
    eth4 + ip4(b"")[:12],                            # truncated IPv4
    eth4 + ip4(udp(ntp))[:38],                       # truncated UDP
    eth4 + ip4(udp(ntp), ihl=6, opts=b"\x01\x01\x01\x00"),  # IPv4 options
    eth4 + ip4(udp(ntp), ihl=4),                     # IHL too small
    eth4 + ip4(udp(ntp), frag=0x2000),               # first fragment (MF)
    eth4 + ip4(ntp[:16], frag=0x0003),               # later fragment
    eth4 + ip4(udp(ntp), tot=1400),                  # IP length beyond the frame
    eth4 + ip4(udp(ntp, ulen=200)),                  # UDP length too large
    eth4 + ip4(udp(ntp, ulen=20)),                   # UDP length too small
    eth6 + ip6(0, struct.pack("!BBHI", 17, 0, 0, 0) + udp(ntp)),  # hop-by-hop header
    eth6 + ip6(44, struct.pack("!BBHI", 17, 0, 1, 7) + udp(ntp)),  # fragment header
    eth6 + ip6(17, udp(ntp))[:50],                   # truncated IPv6 + UDP
    eth6 + ip6(17, udp(ntp, ulen=30)),               # UDP length mismatch
]
for f in frames:
    try:
        s.send(f)
    except OSError as e:  # the kernel may refuse a runt Ethernet header
        print("not sent (%d bytes): %s" % (len(f), e))
PY
sleep 0.5
[ "$(xrx)" = "$rx0" ] || fail "hostile frames reached the AF_XDP socket ($rx0 -> $(xrx))"
odd1=$(nsmetric srv 9124 'verdict="pass_odd"')
# 9 of them are UDP the program parses far enough to count
[ $((odd1 - odd0)) -ge 9 ] || fail "the program passed only $((odd1 - odd0)) odd UDP frames"
# and a well-formed frame sent the same way does go through
nsx cl "$QUERY" --plain 10.89.0.1 --json >/dev/null || fail "plain query after hostile frames"
[ "$(xrx)" -gt "$rx0" ] || fail "XDP path dead after hostile frames"

# KE port (TCP) while attached: a new NTS session over IPv6 end to end
nsx cl "$QUERY" --ca "$T/ca.pem" --json "[fd89::1]" >"$T/q6.json" || fail "KE/NTS over IPv6 after hostile frames"

# reload keeps serving; health endpoint answers
# ... and applies an access list on the XDP path, judged by the frame's
# source address
echo "deny fd89::2" >>"$T/resp.conf"
den0=$(nsmetric srv 9124 '^nts_responder_denied_total')
kill -HUP "$RESP"
sleep 0.5
nsx cl "$QUERY" --plain 10.89.9.9 --json >/dev/null || fail "plain query after SIGHUP"
rx0=$(xrx)
if nsx cl "$QUERY" --plain "[fd89:9::9]" --json >"$T/denied.json" 2>&1; then
	fail "a denied client was answered through XDP: $(cat "$T/denied.json")"
fi
[ "$(xrx)" -gt "$rx0" ] || fail "the denied request did not come through XDP"
[ "$(nsmetric srv 9124 '^nts_responder_denied_total')" -gt "$den0" ] || fail "denial not counted"
nsx srv curl -sf --max-time 2 http://127.0.0.1:9124/health | grep -q ok || fail "health not ok in XDP mode"

# stop: the program goes with the process; kill -9 too
kill "$RESP"
wait_gone "$RESP"
xdp_attached && fail "program still attached after stop"
grep -q "stopped" "$T/resp.log" || fail "no clean stop in XDP mode (seccomp?): $(tail -3 "$T/resp.log")"
# ... restarted with hardware timestamps off: the program without the
# kfunc (not device-bound), still with metadata, every packet batch time
echo "xdphwtimestamps no" >>"$T/resp.conf"
bg srv resp2 "$RESPONDER" -c "$T/resp.conf"
R2=$LAST
wait_metrics srv 9124
xdp_attached || fail "not attached after restart"
[ "$(nsmetric srv 9124 'rx_timestamp_setup\{part="kfunc"')" = 0 ] || fail "kfunc program with xdphwtimestamps no"
grep -q "receive timestamps: the XDP program's time (no hardware timestamps: xdphwtimestamps no)" "$T/resp2.log" ||
	fail "xdphwtimestamps no not logged: $(grep timestamps "$T/resp2.log")"
nsx cl "$QUERY" --plain 10.89.0.1 --json >/dev/null || fail "plain query with xdphwtimestamps no"
[ "$(tsrc program)" -ge 1 ] && [ "$(tsrc batch)" = 0 ] && [ "$(tsrc hardware)" = 0 ] ||
	fail "timestamps with xdphwtimestamps no: program $(tsrc program), batch $(tsrc batch)"
kill -9 "$R2"
sleep 0.5
xdp_attached && fail "program still attached after kill -9"
# a stale program attached the old way (netlink, as by hand) is removed at start
ip -n "$P-srv" link set dev eth0 xdpdrv obj "$BUILD/ntp-responder/nts_xdp.bpf.o" sec xdp ||
	fail "cannot attach the program by hand"
bg srv resp3 "$RESPONDER" -c "$T/resp.conf"
R3=$LAST
wait_metrics srv 9124
grep -q "removed a stale nts_xdp program" "$T/resp3.log" || fail "stale program not removed: $(cat "$T/resp3.log")"
nsx cl "$QUERY" --plain 10.89.0.1 --json >/dev/null || fail "plain query after replacing a stale program"
kill "$R3"
wait_gone "$R3"
xdp_attached && fail "program still attached after the stale one was replaced and the responder stopped"

# a queue still bound to another AF_XDP socket (as to the previous run's
# for a moment after a restart: the kernel releases it from a work item
# that waits for the rtnl lock) makes the start wait, not fail
nsx srv python3 - "$T/held" <<'PY' &
import ctypes, mmap, socket, struct, sys, time
AF_XDP, SOL_XDP = 44, 283
libc = ctypes.CDLL(None, use_errno=True)
s = socket.socket(AF_XDP, socket.SOCK_RAW, 0)
area = mmap.mmap(-1, 64 * 2048)
addr = ctypes.addressof(ctypes.c_char.from_buffer(area))
# struct xdp_umem_reg {addr, len, chunk_size, headroom, flags, tx_metadata_len}
s.setsockopt(SOL_XDP, 4, struct.pack("QQIIII", addr, 64 * 2048, 2048, 0, 0, 0))
for opt in (5, 6, 2):  # fill, completion and receive rings
    s.setsockopt(SOL_XDP, opt, struct.pack("I", 64))
# struct sockaddr_xdp {family, flags (XDP_COPY), ifindex, queue 0, shared fd}
sxdp = struct.pack("HHIII", AF_XDP, 2, socket.if_nametoindex("eth0"), 0, 0)
if libc.bind(s.fileno(), sxdp, len(sxdp)) != 0:
    sys.exit("bind: errno %d" % ctypes.get_errno())
open(sys.argv[1], "w").write("bound")
time.sleep(1.5)
PY
HOLDER=$!
held() { [ -s "$T/held" ]; }
wait_for 5 held || fail "could not bind an AF_XDP socket to eth0 queue 0 from python"
bg srv resp5 "$RESPONDER" -c "$T/resp.conf"
R5=$LAST
wait_metrics srv 9124
wait "$HOLDER" || fail "the AF_XDP socket holder failed"
grep -q "queue 0 is still bound to another AF_XDP socket" "$T/resp5.log" ||
	fail "the start did not meet the held queue: $(tail -3 "$T/resp5.log")"
grep -q "queue 0 free after" "$T/resp5.log" || fail "no wait for the held queue: $(tail -3 "$T/resp5.log")"
[ "$(nsmetric srv 9124 '^nts_responder_xdp_active ')" = 1 ] || fail "xdp_active not 1 after waiting for the queue"
nsx cl "$QUERY" --plain 10.89.0.1 --json >/dev/null || fail "plain query after waiting for the queue"
kill "$R5"
wait_gone "$R5"

# ---- under the shipped unit (run_unit: its user, capabilities, limits) ----
# nts-responder.service alone cannot attach and says what to do; with the
# drop-in nts-responder.service.d/xdp.conf it attaches and answers; without
# any one of the drop-in's capabilities, or with too little locked memory
# for the UMEM, it refuses again: the drop-in is what AF_XDP needs.
ensure_user nts
U=$T/unit
mkdir -p "$U/usr/local/bin" "$U/etc/nts" "$U/run"
ln -s "$RESPONDER" "$U/usr/local/bin/"
install -o nts -g nts -m 600 "$T/responder.keys" "$U/etc/nts/responder.keys"
install -m 644 "$T/keyhost/deployment.pub" "$U/etc/nts/deployment.pub"
sed -e "s|^keyfile .*|keyfile $U/etc/nts/responder.keys|" \
	-e "s|^deployment .*|deployment $U/etc/nts/deployment.pub|" -e '/^deny /d' \
	"$T/resp.conf" >"$U/etc/nts/nts-responder.conf"
DROPIN=$SRC/deploy/systemd/nts-responder.service.d/xdp.conf
refused() { # NAME WHAT: the unit run NAME refused to start, saying WHAT
	if UNIT_DROPINS=${DROPINS:-} run_unit fg srv "$U" nts-responder "$1"; then
		fail "$1: started"
	fi
	grep -q "$2" "$T/$1.log" || fail "$1: no '$2' in: $(tail -3 "$T/$1.log")"
	xdp_attached && fail "$1: a refused start left a program attached"
	return 0
}
DROPINS="" refused unit-plain "install the drop-in nts-responder.service.d/xdp.conf"
caps=$(sed -n 's/^AmbientCapabilities=//p' "$DROPIN")
[ "$caps" = "$(sed -n 's/^CapabilityBoundingSet=//p' "$DROPIN")" ] ||
	fail "the drop-in's ambient and bounding capabilities differ"
for c in $caps; do
	sed "/^AmbientCapabilities=\|^CapabilityBoundingSet=/s/ *$c//" "$DROPIN" >"$T/without-$c.conf"
	DROPINS="$T/without-$c.conf" refused "unit-no-$c" "CAP_BPF, CAP_NET_ADMIN and CAP_NET_RAW"
done
sed 's/^LimitMEMLOCK=.*/LimitMEMLOCK=4M/' "$DROPIN" >"$T/memlock4M.conf"
DROPINS="$T/memlock4M.conf" refused unit-memlock4M "raise LimitMEMLOCK="
UNIT_DROPINS=$DROPIN run_unit bg srv "$U" nts-responder unit-xdp
R4=$LAST
wait_metrics srv 9124
xdp_attached || fail "not attached under the unit with the drop-in: $(tail -3 "$T/unit-xdp.log")"
[ "$(nsmetric srv 9124 '^nts_responder_xdp_active ')" = 1 ] || fail "xdp_active not 1 under the unit"
[ "$(stat -c %U "/proc/$R4")" = nts ] || fail "the responder runs as $(stat -c %U "/proc/$R4"), not nts"
rx0=$(xrx)
nsx cl "$QUERY" --plain 10.89.0.1 --json >/dev/null || fail "plain query under the unit with the drop-in"
nsx cl "$QUERY" --ca "$T/ca.pem" --json 10.89.0.1 >"$T/qu.json" || fail "NTS query under the unit: $(cat "$T/qu.json")"
[ "$(xrx)" -ge $((rx0 + 2)) ] || fail "queries under the unit did not go through XDP"
kill "$R4"
wait_gone "$R4"
xdp_attached && fail "program still attached after the unit's responder stopped"
grep -q "stopped" "$T/unit-xdp.log" || fail "no clean stop under the unit: $(tail -3 "$T/unit-xdp.log")"
echo "xdp: NTS and plain over IPv4/IPv6 through AF_XDP, other traffic passes, hostile frames to the kernel, clean detach; the unit needs its xdp drop-in ($caps)"
