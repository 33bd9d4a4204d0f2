# privsep.sh: all three daemons started as root with 'user nobody': they
# bind and load as root, then run as nobody with every uid/gid changed, no
# supplementary groups and the dumpable flag off (so /proc/PID/mem stays
# root's); the keyless KE server, now nobody, is served by the signer
# because nobody is its allowuser, and a client gets NTS time through it.
. "$SRC/tests/interop/lib.sh"
[ "$(id -u)" = 0 ] || { echo "privsep: needs root, skipped"; exit 77; }
id nobody >/dev/null 2>&1 || { echo "privsep: no user nobody, skipped"; exit 77; }
make_pki
make_keys
chmod 644 "$T"/*.keys
NTP=$(free_port)
KE=$(free_port)
SIGNER_METRICS=$(free_port)
{
	echo "socket $T/signer.sock"
	echo "key $T/server.key"
	echo "allowuser nobody"
	echo "user nobody"
	echo "metrics 127.0.0.1:$SIGNER_METRICS"
} >"$T/signer.conf"
chmod 600 "$T/server.key"
"$BUILD/signer/nts-signer" -c "$T/signer.conf" >"$T/signer.log" 2>&1 &
SIGNER_PID=$!
PIDS="$PIDS $SIGNER_PID"
wait_metrics $SIGNER_METRICS
start_responder $NTP "user nobody"
NTS_KEYLESS=1 start_ke $KE $NTP "user nobody"
$QUERY --ca "$T/ca.pem" --count 2 localhost:$KE >/dev/null || fail "query through privilege-separated daemons"
nobody_uid=$(id -u nobody)
nobody_gid=$(id -g nobody)
for p in $SIGNER_PID $RESP_PID $KE_PID; do
	name=$(cat /proc/$p/comm)
	uids=$(awk '/^Uid:/ {print $2, $3, $4, $5}' /proc/$p/status)
	gids=$(awk '/^Gid:/ {print $2, $3, $4, $5}' /proc/$p/status)
	groups=$(awk '/^Groups:/ {print $2}' /proc/$p/status)
	[ "$uids" = "$nobody_uid $nobody_uid $nobody_uid $nobody_uid" ] || fail "$name uids: $uids"
	[ "$gids" = "$nobody_gid $nobody_gid $nobody_gid $nobody_gid" ] || fail "$name gids: $gids"
	[ -z "$groups" ] || fail "$name supplementary groups: $groups"
	# not dumpable: the kernel keeps /proc/PID/mem owned by root
	[ "$(stat -c %u /proc/$p/mem)" = 0 ] || fail "$name is dumpable after the drop"
	for t in /proc/$p/task/*; do
		grep -q '^Seccomp:[[:space:]]*2' $t/status || fail "$name thread $t without seccomp filter"
	done
	grep -q '^NoNewPrivs:[[:space:]]*1' /proc/$p/status || fail "$name without no_new_privs"
	echo "$name: uid/gid $nobody_uid/$nobody_gid, no groups, not dumpable, seccomp on every thread"
done
[ "$(metric $SIGNER_METRICS 'reason="peer_refused"')" = 0 ] || fail "the KE server was refused"
echo "privsep: ok"
