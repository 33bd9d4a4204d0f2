#!/bin/sh
# bench/xdp.sh: the AF_XDP receive timestamp's error (docs/xdp.md). Two
# network namespaces over a veth pair, the responder in socket mode, then in
# XDP mode (native XDP on veth, copy mode), each answering the same paced
# plain requests from bench/xdp_tserr.py. Both sides share CLOCK_REALTIME, so
# T2 - T1 (server receive timestamp minus the client's send time) shows
# where each mode takes T2: socket mode's is the kernel's (SO_TIMESTAMPNS),
# XDP mode's the moment the worker takes the batch from the ring.
#
#   bench/xdp.sh [N]    (root; N requests per mode, default 2000)
#   BUILD=build bench/xdp.sh
set -eu
cd "$(dirname "$0")/.."
SRC=$PWD
BUILD=${BUILD:-$SRC/build}
export BUILD SRC
N=${1:-2000}
. "$SRC/tests/e2e/lib.sh"
add_host srv
add_host cl
ip -n "$P-srv" link add eth0 type veth peer name eth0 netns "$P-cl"
ip -n "$P-srv" addr add 10.89.0.1/24 dev eth0
ip -n "$P-cl" addr add 10.89.0.2/24 dev eth0
ip -n "$P-srv" link set eth0 up
ip -n "$P-cl" link set eth0 up
for mode in socket xdp; do
	{
		echo "listen 10.89.0.1:123"
		echo "workers 1"
		echo "syncsource static 2 BNCH"
		echo "metrics 127.0.0.1:9124"
		[ $mode = xdp ] && echo "xdp eth0"
	} >"$T/resp-$mode.conf"
	bg srv "resp-$mode" taskset -c 0 "$RESPONDER" -c "$T/resp-$mode.conf"
	R=$LAST
	wait_metrics srv 9124
	printf '%s: ' "$mode"
	nsx cl taskset -c 1 python3 "$SRC/bench/xdp_tserr.py" 10.89.0.1 "$N"
	kill "$R"
	wait "$R" 2>/dev/null || :
done
echo "($(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%Y-%m-%d))"
