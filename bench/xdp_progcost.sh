#!/bin/sh
# bench/xdp_progcost.sh: what the XDP program costs per packet with and
# without the receive timestamp kfunc (docs/xdp.md, Timestamps), measured
# by the kernel (kernel.bpf_stats_enabled: run_time_ns / run_cnt of the
# program, read from the responder's program fd in /proc/PID/fdinfo), over
# the veth pair of bench/xdp.sh. REPS trials of each, alternating;
# N plain requests per trial, in bursts of 100.
#   bench/xdp_progcost.sh          (root)
#   BUILD=$PWD/build REPS=5 N=20000 bench/xdp_progcost.sh
# bpf_stats_enabled is global and costs every BPF program on the machine a
# little while on: it is on only during the trials and restored after.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
export SRC BUILD="${BUILD:-$SRC/build}"
. "$SRC/tests/e2e/lib.sh"
add_host srv
add_host cl
link_pair srv cl
plain_keys
STATS0=$(sysctl -n kernel.bpf_stats_enabled)
trap 'sysctl -qw kernel.bpf_stats_enabled="$STATS0"; cleanup' EXIT
run() { # yes|no: one trial, prints ns per program run
	cat >"$T/resp.conf" <<CONF
listen 10.89.0.1:123
workers 1
keyfile $T/responder.keys
deployment $T/keyhost/deployment.pub
syncsource static 1 BNCH
metrics 127.0.0.1:9124
loglevel warning
xdp eth0
xdphwtimestamps $1
CONF
	bg srv resp "$RESPONDER" -c "$T/resp.conf"
	RP=$LAST
	wait_metrics srv 9124
	nsx cl python3 - "${N:-20000}" <<'PY'
import socket, sys
n = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.2)
req = bytes([0x23]) + bytes(47)
for _ in range(n // 100):
    for _ in range(100):
        s.sendto(req, ("10.89.0.1", 123))
    try:
        for _ in range(100):
            s.recv(100)
    except socket.timeout:
        pass
PY
	# the program fd of the responder (prog_type 6: XDP)
	for f in /proc/"$RP"/fdinfo/*; do
		if grep -q '^prog_type:[[:space:]]*6' "$f" 2>/dev/null; then
			awk '/^run_time_ns/ { t = $2 } /^run_cnt/ { c = $2 }
			     END { if (c) printf "%.1f ns/run over %d runs\n", t / c, c }' "$f"
			break
		fi
	done
	kill "$RP"
	wait "$RP" 2>/dev/null || :
}
sysctl -qw kernel.bpf_stats_enabled=1
for rep in $(seq "${REPS:-5}"); do
	for mode in yes no; do
		echo "xdphwtimestamps $mode: $(run $mode)"
	done
done
sysctl -qw kernel.bpf_stats_enabled="$STATS0"
echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r), $(date -u '+%Y-%m-%d %H:%M') UTC, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
