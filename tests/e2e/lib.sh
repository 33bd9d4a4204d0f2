# lib.sh: helpers for the e2e tests (sourced). Hosts are network
# namespaces named $P-ROLE with a per-run prefix, so parallel runs do not
# collide; everything (processes, namespaces, /etc/netns entries, the temp
# directory) is removed on exit.
set -eu
: "${BUILD:?}" "${SRC:?}"

skip() {
	echo "SKIP: $*"
	exit 77
}
[ -n "${NTS_E2E_SKIP:-}" ] && skip "$NTS_E2E_SKIP"
[ "$(id -u)" = 0 ] || skip "e2e tests need root (network namespaces)"
command -v ip >/dev/null || skip "no ip command (iproute2)"
P=nts$$
ip netns add "$P-probe" 2>/dev/null || skip "ip netns does not work here (no CAP_SYS_ADMIN or no netns support)"
if ! ip netns exec "$P-probe" ip link set lo up 2>/dev/null; then
	ip netns del "$P-probe" 2>/dev/null
	skip "cannot run commands in a network namespace here"
fi
ip netns del "$P-probe"

T=$(mktemp -d /tmp/nts-e2e.XXXXXX)
chmod 755 "$T"
NAMESPACES=""
PIDS=""
cleanup() {
	set +e
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	# anything else still inside our namespaces was started by this test
	for n in $NAMESPACES; do
		for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	done
	for n in $NAMESPACES; do
		ip netns del "$n" 2>/dev/null
		rm -rf "/etc/netns/$n"
	done
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() {
	echo "FAIL: $*" >&2
	for f in "$T"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -15 "$f" >&2; }; done
	exit 1
}
KEYCTL=$BUILD/tools/nts-keyctl
QUERY=$BUILD/tools/nts-query
RESPONDER=$BUILD/ntp-responder/nts-responder
KESERVER=$BUILD/ke-server/nts-ke-server
SIGNER=$BUILD/signer/nts-signer

# nsx ROLE CMD...: run CMD in host ROLE
nsx() {
	n=$1
	shift
	ip netns exec "$P-$n" "$@"
}
# bg ROLE NAME CMD...: start CMD in host ROLE in the background, output in
# $T/NAME.log; its PID is in $LAST (ip netns exec execs the command)
bg() {
	n=$1 name=$2
	shift 2
	ip netns exec "$P-$n" "$@" >"$T/$name.log" 2>&1 &
	LAST=$!
	PIDS="$LAST $PIDS" # newest first: health checks stop before BIRD
}

add_host() {
	ip netns add "$P-$1"
	NAMESPACES="$NAMESPACES $P-$1"
	nsx "$1" ip link set lo up
	nsx "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
}
# link_to_router ROLE N: a veth between ROLE (eth0, 10.88.N.2, 2001:db8:88:N::2)
# and the router (vROLE, .1), default routes via the router
link_to_router() {
	ip -n "$P-rt" link add "v$1" type veth peer name eth0 netns "$P-$1"
	ip -n "$P-rt" addr add "10.88.$2.1/24" dev "v$1"
	ip -n "$P-rt" addr add "2001:db8:88:$2::1/64" dev "v$1" nodad
	ip -n "$P-rt" link set "v$1" up
	ip -n "$P-$1" addr add "10.88.$2.2/24" dev eth0
	ip -n "$P-$1" addr add "2001:db8:88:$2::2/64" dev eth0 nodad
	ip -n "$P-$1" link set eth0 up
	ip -n "$P-$1" route add default via "10.88.$2.1"
	ip -n "$P-$1" -6 route add default via "2001:db8:88:$2::1"
}

# link_pair A B: a veth between hosts A (eth0, 10.89.0.1, fd89::1) and B
# (eth0, .2), no router (tests/e2e/xdp.sh, bench/xdp.sh)
link_pair() {
	ip -n "$P-$1" link add eth0 type veth peer name eth0 netns "$P-$2"
	ip -n "$P-$1" addr add 10.89.0.1/24 dev eth0
	ip -n "$P-$1" addr add fd89::1/64 dev eth0 nodad
	ip -n "$P-$2" addr add 10.89.0.2/24 dev eth0
	ip -n "$P-$2" addr add fd89::2/64 dev eth0 nodad
	ip -n "$P-$1" link set eth0 up
	ip -n "$P-$2" link set eth0 up
}
# plain_keys: a key host in $T/keyhost and its KE and responder key files
# $T/ke.keys and $T/responder.keys, unsealed (single-host tests)
plain_keys() {
	$KEYCTL init --dir "$T/keyhost" >/dev/null
	$KEYCTL export --dir "$T/keyhost" --role ke --out "$T/ke.keys" >/dev/null
	$KEYCTL export --dir "$T/keyhost" --role responder --out "$T/responder.keys" >/dev/null
}
# wait_gone PID: until PID has exited (5 s at most)
wait_gone() {
	i=0
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 50 ] && fail "process $1 did not stop"
		sleep 0.1
	done
}

now_ms() { date +%s%3N; }

# nsmetric ROLE PORT REGEX: sum of the samples matching REGEX (0 if none)
nsmetric() {
	nsx "$1" curl -sf --max-time 2 "http://127.0.0.1:$2/metrics" |
		awk -v re="$3" '!/^#/ && $0 ~ re { s += $NF } END { printf "%d\n", s }'
}
wait_metrics() { # ROLE PORT
	i=0
	until nsx "$1" curl -sf --max-time 1 "http://127.0.0.1:$2/metrics" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 100 ] && fail "daemon in $1 with metrics port $2 did not start"
		sleep 0.1
	done
}

# make_pki NAME SAN: throwaway CA ($T/ca.pem) and a certificate $T/NAME.pem/.key
make_pki() {
	(
		cd "$T"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
			-subj "/CN=nts e2e CA" -keyout ca.key -out ca.pem \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
			-keyout "$1.key" -out "$1.csr" 2>/dev/null
		printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$2" >"$1.ext"
		openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
			-extfile "$1.ext" -out "$1.pem" 2>/dev/null
		rm -f "$1.csr" "$1.ext"
	)
}

# notify_listener NAME: a stand-in for systemd's notify socket at
# $T/NAME.notify; the first datagram received lands in $T/NAME.ready
notify_listener() {
	rm -f "$T/$1.notify" "$T/$1.ready"
	python3 - "$T/$1.notify" "$T/$1.ready" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
try:
    msg = s.recv(4096)
except OSError:
    msg = b"(nothing)"
open(sys.argv[2], "wb").write(msg)
PY
	PIDS="$! $PIDS"
	wait_for 5 test -S "$T/$1.notify" || fail "notify listener $1 did not start"
	# daemons that run as their unit's user must be able to send to it
	chmod 666 "$T/$1.notify"
}

# wait_for SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds;
# fails (returns 1) after SECONDS
wait_for() {
	lim=$1
	shift
	i=0
	until "$@"; do
		i=$((i + 1))
		[ $i -gt $((lim * 10)) ] && return 1
		sleep 0.1
	done
}

# syslog_listener: a stand-in for journald's /dev/log at $T/syslog.sock,
# every message appended to $T/syslog.log (run_unit gives each unit a
# private /dev with it as /dev/log: the shipped role files say "syslog yes")
syslog_listener() {
	[ -S "$T/syslog.sock" ] && return 0
	python3 - "$T/syslog.sock" "$T/syslog.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "ab", buffering=0)
while True:
    out.write(s.recv(8192).rstrip(b"\n") + b"\n")
PY
	PIDS="$PIDS $!" # oldest last: it stops after the daemons
	wait_for 5 test -S "$T/syslog.sock" || fail "syslog listener did not start"
	chmod 666 "$T/syslog.sock"
}

# role_file SRC DST ROOT [OLD=NEW...]: a shipped file as it runs on a test
# host: every absolute path under /etc, /var, /run or /usr gets ROOT in
# front (the host's directory tree), and each OLD (an IP address, a host
# name or a port, as a whole token) becomes NEW of the same kind. Nothing
# else can change: an OLD that is not an address, name or port, or that the
# file does not contain (the shipped file changed), fails the test. The
# changed lines (but comments) are printed: the log shows what was substituted.
role_file() {
	python3 - "$@" <<'PY' || fail "role_file $*"
import difflib, re, sys
src, dst, root = sys.argv[1:4]
pairs = [a.split("=", 1) for a in sys.argv[4:]]
ip4 = r"\d{1,3}(?:\.\d{1,3}){3}"
kinds = {
    "address": re.compile(r"(?:%s|[0-9a-fA-F:]*:[0-9a-fA-F:.]+)(?:/\d+)?" % ip4),
    "name": re.compile(r"(?=.*[a-z])[a-z0-9-]+(?:\.[a-z0-9-]+)+"),
    "port": re.compile(r"\d{1,5}"),
}
def kind(s):
    for k, r in kinds.items():
        if r.fullmatch(s):
            return k
    return None
text = open(src).read()
out = re.sub(r"(?<![\w./~-])/(?:etc|var|run|usr)(?=/|\b)", lambda m: root + m.group(0), text)
for p in pairs:
    if len(p) != 2 or kind(p[0]) is None or kind(p[0]) != kind(p[1]):
        sys.exit("role_file: %r: only addresses, names and ports may be substituted" % "=".join(p))
    pat = r"(?<![\w.:-])%s(?![\w:-]|\.\w)" % re.escape(p[0])
    out, n = re.subn(pat, lambda m: p[1], out)
    if n == 0:
        sys.exit("role_file: %s does not contain %s (the shipped file changed?)" % (src, p[0]))
open(dst, "w").write(out)
for l in difflib.unified_diff(text.splitlines(), out.splitlines(), src, dst, n=0, lineterm=""):
    if not l.startswith(("---", "+++", "@@", "-#", "+#")):  # comments: paths only
        print("  " + l)
PY
}

# ensure_user NAME: a system user with its own group, as the docs'
# "adduser --system --group" makes it; created only if missing (and left in
# place: the next run finds it)
ensure_user() {
	getent passwd "$1" >/dev/null && return 0
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$1" || fail "cannot create user $1"
}

# run_unit fg|bg ROLE ROOT UNIT NAME [VAR=VALUE...]: run a shipped unit of
# deploy/systemd the way systemd would, as far as that can be done without
# systemd: its User=, Group=, SupplementaryGroups= (plus the user's own
# groups), AmbientCapabilities=, CapabilityBoundingSet=, NoNewPrivileges=,
# UMask=, LimitMEMLOCK= (lowered only: raising it needs CAP_SYS_RESOURCE)
# and RuntimeDirectory=/RuntimeDirectoryMode=, its ExecStartPre=
# (must succeed) and ExecStart=, with the paths in the command lines under
# ROOT (as role_file does). Drop-ins named in $UNIT_DROPINS are read after
# the unit, as systemd reads UNIT.service.d/*.conf: their capability lists
# add to the unit's, other settings replace. Output goes to $T/NAME.log
# (ExecStartPre to $T/NAME-pre.log); bg leaves the PID in $LAST. The
# sandboxing directives (ProtectSystem= and the like) are checked by
# units.sh, not here.
run_unit() {
	mode=$1 role=$2 root=$3 unit=$SRC/deploy/systemd/$4.service name=$5
	shift 5
	[ -f "$unit" ] || fail "no unit $unit"
	# shellcheck disable=SC2086
	ukey() { cat "$unit" ${UNIT_DROPINS:-} | sed -n "s/^$1=//p" | tail -n 1; }
	# a list setting: every assignment adds, an empty one resets (systemd.exec(5))
	# shellcheck disable=SC2086
	ulist() { cat "$unit" ${UNIT_DROPINS:-} | sed -n "s/^$1=//p" | awk '$0 == "" { l = "" } { l = l " " $0 } END { print l }'; }
	ucmd() { ukey "$1" | sed -E "s#(^| )/(etc|var|run|usr)/#\\1$root/\\2/#g"; }
	u_user=$(ukey User) u_group=$(ukey Group)
	[ -n "$u_user" ] || fail "$unit has no User="
	u_groups=$(
		{
			id -Gn "$u_user" | tr ' ' '\n'
			for g in $(ukey SupplementaryGroups); do echo "$g"; done
		} | sort -u | paste -sd, -
	)
	caps() { # CAP_A CAP_B -> +a,+b
		for c in "$@"; do printf ',+%s' "$(echo "${c#CAP_}" | tr 'A-Z' 'a-z')"; done
	}
	# shellcheck disable=SC2046
	u_amb=$(caps $(ulist AmbientCapabilities))
	# shellcheck disable=SC2046
	u_bound=$(caps $(ulist CapabilityBoundingSet))
	priv="setpriv --reuid $u_user --regid ${u_group:-$u_user} --groups $u_groups"
	u_ml=$(ukey LimitMEMLOCK | sed -e 's/K$/*1024/' -e 's/M$/*1048576/' -e 's/G$/*1073741824/')
	case $u_ml in
	'' | infinity) ;;
	*)
		u_ml=$(($u_ml))
		hard=$(prlimit --memlock --noheadings --raw -o HARD --pid $$)
		if [ "$hard" = unlimited ] || [ "$u_ml" -le "$hard" ]; then
			priv="prlimit --memlock=$u_ml $priv"
		fi
		;;
	esac
	priv="$priv --inh-caps -all$u_amb --ambient-caps -all$u_amb --bounding-set -all$u_bound"
	[ "$(ukey NoNewPrivileges)" = yes ] && priv="$priv --no-new-privs"
	rd=$(ukey RuntimeDirectory)
	if [ -n "$rd" ]; then
		install -d -m "$(ukey RuntimeDirectoryMode | sed 's/^$/0755/')" -o "$u_user" \
			-g "${u_group:-$u_user}" "$root/run/$rd"
	fi
	u_umask=$(ukey UMask)
	syslog_listener
	# a private /dev (as PrivateDevices=yes) whose log is $T/syslog.sock
	dev=$T/dev-$name
	mkdir -p "$dev"
	for x in null zero full random urandom log; do : >"$dev/$x"; done
	wrap="set -e; for x in null zero full random urandom; do mount --bind /dev/\$x $dev/\$x; done"
	wrap="$wrap; mount --bind $T/syslog.sock $dev/log; mount --rbind $dev /dev"
	wrap="$wrap; umask ${u_umask:-0022}; exec \"\$@\""
	pre=$(ucmd ExecStartPre)
	if [ -n "$pre" ]; then
		# shellcheck disable=SC2086
		nsx "$role" env "$@" unshare -m sh -c "$wrap" sh $priv -- $pre >"$T/$name-pre.log" 2>&1 ||
			fail "$4 ExecStartPre ($pre) failed: $(cat "$T/$name-pre.log")"
	fi
	start=$(ucmd ExecStart)
	[ -n "$start" ] || fail "$unit has no ExecStart="
	if [ "$mode" = fg ]; then
		# shellcheck disable=SC2086
		nsx "$role" env "$@" unshare -m sh -c "$wrap" sh $priv -- $start >>"$T/$name.log" 2>&1
	else
		# shellcheck disable=SC2086
		bg "$role" "$name" env "$@" unshare -m sh -c "$wrap" sh $priv -- $start
	fi
}
