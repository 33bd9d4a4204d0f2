# roles.sh: the tests run what the docs ship. Every role starts from its
# shipped files, deploy/examples/roles/*, deploy/anycast/* and
# deploy/systemd/*.service, with only addresses, ports and paths substituted
# (role_file and run_unit in lib.sh refuse anything else), as the users the
# units name, with their groups, capabilities and umask, seccomp on (the
# role files leave it at its default, yes):
#
#   key host  (10.88.1.2)  nts-keyctl as nts; nts-rotate.sh with the shipped
#                          rotate.conf and ssh_config (nts-rotate.service)
#   KE host   (10.88.2.2)  nts-signer (nts-signer), nts-ke-server (nts-ke,
#                          keyless), certificate for nts.example.net
#   responder (10.88.3.2)  nts-responder (nts, CAP_NET_BIND_SERVICE) on
#                          203.0.113.123 and 2001:db8:123::123 with
#                          "syncsource ntp 127.0.0.1:123" polling a real
#                          chronyd there; BIRD (bird.conf) and
#                          nts-health-check.sh (nts-health, group bird)
#                          reading the responder's healthfile
#   upstream  (10.88.4.2)  chronyd, the responder host's time source
#   client    (10.88.5.2)  nts-query: nts.example.net for NTS-KE, Server
#                          record 203.0.113.123 (time.example.net)
#   router    (.1 on each) static routes for the anycast addresses
#
# The synchronised path without touching the machine's clock: both chronyds
# run with -x (no clock control) and without CAP_SYS_TIME; the upstream one
# serves its free-running clock as "local stratum 2", the responder host's
# one synchronises to it (stratum 3) and answers the responder's polls. No
# daemon in this test can step or slew the machine's clock. The kernel's own
# state cannot be faked per network namespace: if it carries STA_UNSYNC (as
# test machines without a time daemon do), the responder would rightly serve
# stratum 16 / leap 3, so the responder process alone then gets the faults
# suite's fake_adjtime.so preloaded (tests/faults/fake_adjtime.c), which
# answers its read-only ntp_adjtime() with a synchronised kernel state. The
# test says which way it ran.
#
# The key push: rsync over ssh needs sshd and rsync on every host, which a
# test machine need not have. A stand-in for rsync (first on nts-rotate.sh's
# PATH) asks ssh which user the shipped ssh_config logs in as ("ssh -G"),
# and the file is then written as that user into the host's
# /var/lib/nts/keys, where rrsync would have put it.
. "$SRC/tests/e2e/lib.sh"
for c in chronyd curl openssl python3 setpriv useradd ssh; do
	command -v $c >/dev/null || fail "$c not installed (deploy/deps.sh NTS_TEST_PKGS)"
done
USE_BIRD=1
command -v bird >/dev/null && command -v birdc >/dev/null && getent group bird >/dev/null || USE_BIRD=0
ANY4=203.0.113.123
ANY6=2001:db8:123::123
ROLES=$SRC/deploy/examples/roles
t_start=$(now_ms)

# ---- users, as docs/deploy.md section 2 and the units name them ----
for u in nts nts-ke nts-signer nts-health; do ensure_user $u; done

# ---- topology ----
for h in rt key ke resp up cl; do add_host $h; done
nsx rt sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
link_to_router key 1
link_to_router ke 2
link_to_router resp 3
link_to_router up 4
link_to_router cl 5
ip -n "$P-resp" addr add $ANY4/32 dev lo
ip -n "$P-resp" addr add $ANY6/128 dev lo nodad
nsx rt ip route add $ANY4/32 via 10.88.3.2
nsx rt ip -6 route add $ANY6/128 via 2001:db8:88:3::2
# names: the KE name and the NTP (anycast) name are distinct
for h in cl key; do
	mkdir -p "/etc/netns/$P-$h"
	cat >"/etc/netns/$P-$h/hosts" <<EOF
127.0.0.1 localhost
10.88.2.2 nts.example.net
2001:db8:88:2::2 ke1.example.net
$ANY4 time.example.net
10.88.3.2 ntp-ams1.example.net
EOF
done

# ---- each host's file tree, with the installed binaries ----
for h in key ke resp; do
	R=$T/$h
	mkdir -p "$R/usr/local/bin" "$R/usr/local/lib/nts" "$R/etc/nts" "$R/run" "$R/var/lib/nts"
	for b in "$KEYCTL" "$QUERY" "$RESPONDER" "$KESERVER" "$SIGNER"; do ln -s "$b" "$R/usr/local/bin/"; done
	ln -s "$SRC/deploy/cron/nts-rotate.sh" "$R/usr/local/lib/nts/nts-rotate.sh"
	ln -s "$SRC/deploy/anycast/nts-health-check.sh" "$R/usr/local/lib/nts/nts-health-check.sh"
done
K=$T/key R_KE=$T/ke R_RESP=$T/resp

# ---- key host (docs/deploy.md section 3) ----
install -d -m 700 -o nts -g nts "$K/var/lib/nts/keyhost"
keyhost() { nsx key runuser -u nts -- "$@"; }
keyhost "$KEYCTL" init --dir "$K/var/lib/nts/keyhost" >"$T/keyctl.log" 2>&1 || fail "nts-keyctl init as nts"
install -d -m 700 -o nts -g nts "$K/var/lib/nts/keyhost/hosts" "$K/var/lib/nts/keyhost/ssh"
# one KE host and one responder here: the other names in the host lists
# point at them too (a second push to the same host)
role_file "$ROLES/key-host/rotate.conf" "$K/etc/nts/rotate.conf" "$K" ke2.example.net=ke1.example.net \
	ntp-fra1.example.net=ntp-ams1.example.net ntp-lhr1.example.net=ntp-ams1.example.net >"$T/substitutions.txt"
role_file "$ROLES/key-host/ssh_config" "$K/var/lib/nts/keyhost/ssh_config" "$K" >>"$T/substitutions.txt"
chown nts "$K/var/lib/nts/keyhost/ssh_config"
# host sealing keys and deployment.pub on the KE host (user nts-ke) and the
# responder (user nts)
for x in "ke nts-ke ke1.example.net" "resp nts ntp-ams1.example.net"; do
	set -- $x
	R=$T/$1
	install -d -m 700 -o "$2" -g "$2" "$R/var/lib/nts/keys"
	nsx "$1" "$KEYCTL" genbox --out-secret "$R/etc/nts/host.box" --out-public "$T/$1-host.pub" \
		>>"$T/keyctl.log" 2>&1 || fail "genbox on $1"
	chown "$2" "$R/etc/nts/host.box"
	chmod 600 "$R/etc/nts/host.box"
	install -m 644 -o nts "$T/$1-host.pub" "$K/var/lib/nts/keyhost/hosts/$3.pub"
	install -m 644 "$K/var/lib/nts/keyhost/deployment.pub" "$R/etc/nts/deployment.pub"
	echo "$3 $R" >>"$T/hostmap"
done
# the rsync stand-in: what rrsync -wo /var/lib/nts/keys would receive
mkdir -p "$T/bin" "$T/spool"
chmod 1777 "$T/spool"
cat >"$T/bin/rsync" <<EOF
#!/bin/sh
# rsync -q --chmod=F600 -e "SSH" FILE HOST:DEST, from nts-rotate.sh
ssh_cmd= file= target=
while [ \$# -gt 0 ]; do
	case \$1 in
	-e) ssh_cmd=\$2; shift ;;
	-*) ;;
	*) if [ -z "\$file" ]; then file=\$1; else target=\$1; fi ;;
	esac
	shift
done
host=\${target%%:*} dest=\${target#*:}
user=\$(\$ssh_cmd -G "\$host" 2>/dev/null | awk '\$1 == "user" { print \$2 }')
[ -n "\$user" ] || exit 12
cp "\$file" "$T/spool/\$host \$user \$dest" || exit 11
EOF
chmod 755 "$T/bin/rsync"
push() { # deliver what the stand-in received, as the login user
	for f in "$T/spool"/*; do
		[ -e "$f" ] || continue
		set -- $(basename "$f")
		R=$(awk -v h="$1" '$1 == h { print $2 }' "$T/hostmap")
		[ -n "$R" ] || fail "push to unknown host $1"
		case $3 in */* | ..*) fail "rrsync would refuse $3" ;; esac
		setpriv --reuid "$2" --regid "$2" --clear-groups sh -c \
			'umask 077 && cat >"$1.tmp" && mv -f "$1.tmp" "$1"' sh "$R/var/lib/nts/keys/$3" <"$f" ||
			fail "cannot write $R/var/lib/nts/keys/$3 as $2"
		echo "pushed $3 to $1 as $2" >>"$T/push.log"
		rm -f "$f"
	done
}
rotate_unit() {
	run_unit fg key "$K" nts-rotate rotate NTS_ROTATE_CONF="$K/etc/nts/rotate.conf" PATH="$T/bin:$PATH" ||
		fail "nts-rotate.service: $(tail -5 "$T/rotate.log")"
	push
}
rotate_unit
grep -q "pushed ke keys to ke1.example.net:ke.keys (sealed)" "$T/rotate.log" || fail "KE file not pushed sealed"
grep -q "pushed ke.keys to ke1.example.net as nts-ke" "$T/push.log" || fail "ssh_config: KE host login not nts-ke"
grep -q "pushed responder.keys to ntp-ams1.example.net as nts" "$T/push.log" ||
	fail "ssh_config: responder login not nts"

# ---- time: an upstream chronyd and the responder host's chronyd ----
chrony_run() { # ROLE NAME CONFIG-LINES...
	n=$1 name=$2
	shift 2
	mkdir -p "$T/$name"
	chmod 700 "$T/$name"
	{
		printf '%s\n' "$@"
		echo "pidfile $T/$name/chronyd.pid"
		echo "cmdport 0"
	} >"$T/$name/chrony.conf"
	# -x and no CAP_SYS_TIME: it can never touch the machine's clock
	bg "$n" "$name" setpriv --bounding-set=-sys_time --inh-caps=-sys_time \
		chronyd -x -d -u root -f "$T/$name/chrony.conf"
}
UP_STRATUM=2
chrony_run up chrony-up "local stratum $UP_STRATUM" "allow 10.88.0.0/16"
# the responder host's chrony.conf: the lines docs/deploy.md section 5 gives
# (taken from the page), plus an upstream polled fast, so the test need not
# wait minutes
DOC_CHRONY=$(awk '/\/etc\/chrony\/chrony.conf/ { f = 1; next } f && /^```/ { if (b) exit; b = 1; next } b' \
	"$SRC/docs/deploy.md")
case $DOC_CHRONY in *"bindaddress 127.0.0.1"*) ;; *) fail "no chrony.conf lines in docs/deploy.md: $DOC_CHRONY" ;; esac
chrony_run resp chrony-resp "server 10.88.4.2 iburst minpoll -2 maxpoll -2" "$DOC_CHRONY"
chrony_synced() {
	out=$(nsx resp "$QUERY" --plain --json --timeout 0.5 127.0.0.1 2>/dev/null) &&
		case $out in *"\"stratum\":$((UP_STRATUM + 1)),\"leap\":0"*) true ;; *) false ;; esac
}
wait_for 30 chrony_synced || fail "the responder host's chronyd did not synchronise: $out"

# ---- KE host (docs/deploy.md section 4): signer, then the KE server ----
make_pki nts "DNS:nts.example.net,DNS:ke1.example.net"
install -d -m 700 -o nts-signer -g nts-signer "$R_KE/etc/nts/signer"
install -m 600 -o nts-signer "$T/nts.key" "$R_KE/etc/nts/signer/privkey.pem"
install -d -m 755 "$R_KE/etc/nts/tls"
install -m 644 "$T/nts.pem" "$R_KE/etc/nts/tls/fullchain.pem"
role_file "$ROLES/ke-host/nts-signer.conf" "$R_KE/etc/nts/nts-signer.conf" "$R_KE" >>"$T/substitutions.txt"
role_file "$ROLES/ke-host/nts-ke-server.conf" "$R_KE/etc/nts/nts-ke-server.conf" "$R_KE" >>"$T/substitutions.txt"
notify_listener signer
run_unit bg ke "$R_KE" nts-signer signer NOTIFY_SOCKET="$T/signer.notify"
SIGNER_PID=$LAST
wait_metrics ke 9126
notify_listener ke
run_unit bg ke "$R_KE" nts-ke-server ke NOTIFY_SOCKET="$T/ke.notify"
KE_PID=$LAST
wait_metrics ke 9125

# ---- responder host (docs/deploy.md section 5) ----
role_file "$ROLES/responder-host/nts-responder.conf" "$R_RESP/etc/nts/nts-responder.conf" "$R_RESP" \
	>>"$T/substitutions.txt"
grep -q "^syncsource ntp 127.0.0.1:123$" "$R_RESP/etc/nts/nts-responder.conf" ||
	fail "the shipped responder role no longer polls chronyd on 127.0.0.1:123"
if python3 -c 'import ctypes, sys
class T(ctypes.Structure): _fields_ = [("modes", ctypes.c_uint), ("l", ctypes.c_long * 4), ("status", ctypes.c_int), ("pad", ctypes.c_long * 40)]
t = T()
ctypes.CDLL(None).adjtimex(ctypes.byref(t))
sys.exit(0 if t.status & 0x40 else 1)'; then
	SHIM=$BUILD/tests/faults/fake_adjtime.so
	[ -f "$SHIM" ] || fail "$SHIM not built"
	PRELOAD="LD_PRELOAD=$SHIM"
	KERNEL="the kernel clock carries STA_UNSYNC: responder preloads fake_adjtime.so"
else
	PRELOAD="NTS_E2E_KERNEL=synced"
	KERNEL="the kernel clock is synchronised: responder reads it as is"
fi
notify_listener resp
run_unit bg resp "$R_RESP" nts-responder resp NOTIFY_SOCKET="$T/resp.notify" "$PRELOAD"
RESP_PID=$LAST
# died() PID NAME: fail with how PID ended, if it has
died() {
	kill -0 "$1" 2>/dev/null && return 0
	st=0
	wait "$1" || st=$?
	[ $st -gt 128 ] && fail "$2 was killed by signal $((st - 128))$([ $st = 159 ] && echo " (SIGSYS: seccomp)")"
	fail "$2 exited with status $st"
}
resp_up() { died "$RESP_PID" nts-responder && nsx resp curl -sf --max-time 1 http://127.0.0.1:9124/metrics >/dev/null 2>&1; }
wait_for 10 resp_up || fail "nts-responder metrics did not start"
for d in signer ke resp; do
	ready() { [ -s "$T/$d.ready" ]; }
	wait_for 10 ready || fail "$d sent no readiness notification"
	[ "$(cat "$T/$d.ready")" = READY=1 ] || fail "$d notified '$(cat "$T/$d.ready")'"
done
# each daemon runs as its unit's user, under its seccomp filter
for x in "$SIGNER_PID nts-signer" "$KE_PID nts-ke" "$RESP_PID nts"; do
	set -- $x
	runs_as() { [ "$(stat -c %U "/proc/$1")" = "$2" ]; }
	wait_for 5 runs_as "$1" "$2" || true
	[ "$(stat -c %U "/proc/$1")" = "$2" ] || fail "PID $1 runs as $(stat -c %U "/proc/$1"), not $2"
	grep -q '^Seccomp:[[:space:]]*2' "/proc/$1/status" || fail "PID $1 ($2) has no seccomp filter"
done
sgid=$(getent group nts-signer | cut -d: -f3)
grep -Eq "^Groups:.*\b$sgid\b" "/proc/$KE_PID/status" || fail "nts-ke-server is not in group nts-signer"
# the responder has polled chronyd (the first poll is at start, after the
# sandbox is in place) and is still alive
polled() { [ "$(nsmetric resp 9124 '^nts_responder_sync_replies_total')" -ge 1 ]; }
wait_for 10 polled || { died "$RESP_PID" nts-responder; fail "nts-responder got no answer from chronyd"; }
sleep 1
died "$RESP_PID" nts-responder
health_ok() { [ "$(cat "$R_RESP/run/nts/responder.health" 2>/dev/null)" = ok ]; }
wait_for 10 health_ok || fail "responder healthfile: $(cat "$R_RESP/run/nts/responder.health" 2>&1)"

# ---- BIRD and the health check ----
if [ $USE_BIRD = 1 ]; then
	role_file "$SRC/deploy/anycast/bird.conf" "$T/bird.conf" "$R_RESP" \
		192.0.2.11=10.88.3.2 192.0.2.1=10.88.3.1 2001:db8:0:1::1=2001:db8:88:3::1 \
		2001:db8:0:1::11=2001:db8:88:3::2 >>"$T/substitutions.txt"
	install -d -m 775 -o bird -g bird "$R_RESP/run/bird"
	# as Debian's bird.service runs it
	bg resp bird bird -f -u bird -g bird -c "$T/bird.conf" -s "$R_RESP/run/bird/bird.ctl" -P "$R_RESP/run/bird/bird.pid"
	role_file "$ROLES/responder-host/health-check.conf" "$R_RESP/etc/nts/health-check.conf" "$R_RESP" \
		>>"$T/substitutions.txt"
	run_unit bg resp "$R_RESP" nts-health-check health NTS_HC_CONF="$R_RESP/etc/nts/health-check.conf"
	HC_PID=$LAST
	hc_user() { [ "$(stat -c %U "/proc/$HC_PID")" = nts-health ]; }
	wait_for 5 hc_user || fail "the health check does not run as nts-health"
	# it may use BIRD's socket (group bird); the responder may not
	bgid=$(getent group bird | cut -d: -f3)
	grep -Eq "^Groups:.*\b$bgid\b" "/proc/$HC_PID/status" || fail "the health check is not in group bird"
	! grep -Eq "^Groups:.*\b$bgid\b" "/proc/$RESP_PID/status" || fail "nts-responder runs in group bird"
fi

# ---- client: NTS-KE by name, NTS query at the anycast address ----
nsx cl "$QUERY" --ca "$T/ca.pem" --save "$T/sess" --json nts.example.net >"$T/q1.json" 2>"$T/q1.err" ||
	fail "NTS-KE + NTS query: $(cat "$T/q1.err")"
UP_REFID=$(printf '%02x%02x%02x%02x' 10 88 4 2)
grep -q "\"server\":\"$ANY4\"" "$T/q1.json" || fail "not answered at the anycast address: $(cat "$T/q1.json")"
grep -q "\"stratum\":$((UP_STRATUM + 1)),\"leap\":0,\"refid\":\"$UP_REFID\"" "$T/q1.json" ||
	fail "responder answers are not synchronised to chronyd (want stratum $((UP_STRATUM + 1)), leap 0, refid $UP_REFID): $(cat "$T/q1.json")"
# a KE host by its own name, over IPv6: the Server record is then ntpserver6
nsx cl "$QUERY" --ca "$T/ca.pem" --json ke1.example.net >"$T/q6.json" 2>"$T/q6.err" ||
	fail "NTS-KE over IPv6: $(cat "$T/q6.err")"
grep -q "\"server\":\"$ANY6\".*\"stratum\":$((UP_STRATUM + 1)),\"leap\":0" "$T/q6.json" ||
	fail "IPv6: $(cat "$T/q6.json")"

if [ $USE_BIRD = 1 ]; then
	# the health check (healthfile + plain queries) announces after NTS_HC_RISE good checks
	announced() { nsx resp birdc -s "$R_RESP/run/bird/bird.ctl" show protocols anycast4 | grep -q ' up '; }
	wait_for 40 announced || fail "the health check did not announce: $(tail -5 "$T/health.log")"
	grep -q "healthfile\|responder.health" "$T/health.log" || fail "the health check does not read the healthfile"
fi

# ---- a rotation as in docs/deploy.md section 10 ----
keyhost "$KEYCTL" rotate --dir "$K/var/lib/nts/keyhost" --lead 1 --every 0 >>"$T/keyctl.log" 2>&1 ||
	fail "nts-keyctl rotate: $(tail -3 "$T/keyctl.log")"
ke_before=$(nsmetric ke 9125 'nts_ke_key_reloads_total.*ok')
resp_before=$(nsmetric resp 9124 'nts_responder_key_reloads_total.*ok')
rotate_unit
reloaded() {
	[ "$(nsmetric ke 9125 'nts_ke_key_reloads_total.*ok')" -gt "$ke_before" ] &&
		[ "$(nsmetric resp 9124 'nts_responder_key_reloads_total.*ok')" -gt "$resp_before" ]
}
wait_for 10 reloaded || fail "pushed key files not reloaded"
nsx cl "$QUERY" --load "$T/sess" --save "$T/sess" --json >"$T/q2.json" 2>"$T/q2.err" ||
	fail "old cookies after the push: $(cat "$T/q2.err")"
nsx cl "$QUERY" --ca "$T/ca.pem" --json nts.example.net >"$T/q3.json" 2>"$T/q3.err" ||
	fail "NTS-KE after the push: $(cat "$T/q3.err")"
[ "$(nsmetric resp 9124 nts_responder_naks_total)" = 0 ] || fail "the responder sent NAKs"

if [ $USE_BIRD = 1 ]; then
	# the drain file withdraws at once
	touch "$R_RESP/etc/nts/drain"
	withdrawn() { nsx resp birdc -s "$R_RESP/run/bird/bird.ctl" show protocols anycast4 | grep -q ' down '; }
	wait_for 10 withdrawn || fail "drain file did not withdraw"
	rm -f "$R_RESP/etc/nts/drain"
fi
# a responder that hangs stops rewriting its healthfile: the health check
# (file part only, as with "plain no") calls that unhealthy after
# NTS_HC_STALE (5) seconds, not forever "ok"
hc_once() {
	nsx resp env NTS_HC_CONF=/nonexistent NTS_HC_HEALTHFILE="$R_RESP/run/nts/responder.health" \
		NTS_HC_DRAIN="$R_RESP/etc/nts/drain" sh "$SRC/deploy/anycast/nts-health-check.sh" --once 2>&1
}
[ "$(hc_once)" = healthy ] || fail "health check --once: $(hc_once)"
kill -STOP "$RESP_PID"
stale() { case $(hc_once) in "unhealthy: "*"not rewritten"*) true ;; *) false ;; esac; }
wait_for 12 stale || { kill -CONT "$RESP_PID"; fail "a stopped responder's healthfile still counts: $(hc_once)"; }
kill -CONT "$RESP_PID"
wait_for 5 health_ok || fail "responder healthfile after SIGCONT"
died "$SIGNER_PID" nts-signer
died "$KE_PID" nts-ke-server
died "$RESP_PID" nts-responder
echo "substituted in the shipped files:"
cat "$T/substitutions.txt"
echo "e2e roles: NTS-KE via nts.example.net (keyless, signer as nts-signer, KE as nts-ke), NTS answers" \
	"from $ANY4/$ANY6 with stratum $((UP_STRATUM + 1)) leap 0 refid $UP_REFID; rotation pushed and reloaded;" \
	"$KERNEL; BIRD: $([ $USE_BIRD = 1 ] && echo "announce and drain by the health check" || echo "not installed");" \
	"runtime $((($(now_ms) - t_start) / 1000)) s"
