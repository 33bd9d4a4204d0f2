#!/bin/sh
# nts-health-check.sh: announce this responder host's anycast prefixes
# through BIRD only while the local nts-responder is healthy.
#
# Every NTS_HC_INTERVAL seconds it checks
#   1. the responder's health file ("healthfile" in nts-responder.conf,
#      rewritten every second): it must say "ok" (clock synchronised, cookie
#      keys loaded and current, every worker up) and be fresh (a responder
#      that died or hangs stops rewriting it). A file, not HTTP /health: a
#      local user who floods the metrics port cannot make this check fail
#      and withdraw the route.
#   2. an actual NTP query to each anycast address on this host, through the
#      responder's sockets (nts-query --plain; a host-local route, so it
#      works whether or not the prefix is announced). This needs "plain
#      yes" in nts-responder.conf (the default); with "plain no", leave
#      NTS_HC_ADDRS empty and rely on the health file.
# NTS_HC_FALL failed checks in a row withdraw the prefixes (birdc disable
# of the static protocols that originate them); NTS_HC_RISE good checks in
# a row announce them again (birdc enable). The state BIRD is in is compared
# with the wanted state on every change and every NTS_HC_RECONCILE rounds,
# so a restarted BIRD (whose anycast protocols start "disabled yes") is put
# right within that many intervals.
# A drain file (NTS_HC_DRAIN) withdraws at once: maintenance without a gap.
# On SIGTERM/SIGINT the prefixes are withdrawn before exiting (fail safe:
# nobody checks this host any more).
#
#   nts-health-check.sh            run forever (systemd: nts-health-check.service)
#   nts-health-check.sh --once     one check, exit 0 if healthy (monitoring)
#
# Settings (environment, or the file NTS_HC_CONF, default
# /etc/nts/health-check.conf, sourced if it exists):
#   NTS_HC_HEALTHFILE the responder's healthfile        (/run/nts/responder.health)
#   NTS_HC_STALE      seconds after which an unchanged
#                     health file counts as failed      (5)
#   NTS_HC_ADDRS      anycast addresses to query        (none: health file only)
#                     e.g. "203.0.113.123 [2001:db8:123::123]"
#   NTS_HC_PORT       NTP port of the responder         (123)
#   NTS_HC_PROTOCOLS  BIRD protocols to enable/disable  (anycast4 anycast6)
#   NTS_HC_BIRDC      birdc command                     (birdc)
#   NTS_HC_INTERVAL   seconds between checks            (1)
#   NTS_HC_TIMEOUT    seconds per NTP query             (1)
#   NTS_HC_FALL       failures in a row to withdraw     (3)
#   NTS_HC_RISE       successes in a row to announce    (5)
#   NTS_HC_RECONCILE  rounds between BIRD state checks  (10)
#   NTS_HC_DRAIN      drain file                        (/etc/nts/drain)
#   NTS_QUERY         nts-query                         (nts-query)
set -u
conf=${NTS_HC_CONF:-/etc/nts/health-check.conf}
# shellcheck disable=SC1090
[ -r "$conf" ] && . "$conf"
healthfile=${NTS_HC_HEALTHFILE:-/run/nts/responder.health}
stale=${NTS_HC_STALE:-5}
addrs=${NTS_HC_ADDRS:-}
port=${NTS_HC_PORT:-123}
protocols=${NTS_HC_PROTOCOLS:-anycast4 anycast6}
birdc=${NTS_HC_BIRDC:-birdc}
interval=${NTS_HC_INTERVAL:-1}
tmo=${NTS_HC_TIMEOUT:-1}
fall=${NTS_HC_FALL:-3}
rise=${NTS_HC_RISE:-5}
reconcile=${NTS_HC_RECONCILE:-10}
drain=${NTS_HC_DRAIN:-/etc/nts/drain}
query=${NTS_QUERY:-nts-query}

log() {
	echo "nts-health-check: $*" >&2
	command -v logger >/dev/null 2>&1 && logger -t nts-health-check -- "$*" 2>/dev/null
	return 0
}

# check: 0 if healthy; the reason otherwise in $why
check() {
	why=""
	if [ -e "$drain" ]; then
		why="drain file $drain exists"
		return 1
	fi
	if ! mtime=$(stat -c %Y "$healthfile" 2>/dev/null) || ! body=$(head -n 1 "$healthfile" 2>/dev/null); then
		why="cannot read $healthfile (responder not running, or no healthfile directive?)"
		return 1
	fi
	age=$(($(date +%s) - mtime))
	if [ "$age" -gt "$stale" ]; then
		why="$healthfile not rewritten for $age s (responder stopped or hanging)"
		return 1
	fi
	if [ "$body" != ok ]; then
		why="$healthfile: ${body:-empty}"
		return 1
	fi
	for a in $addrs; do
		if ! out=$($query --plain --timeout "$tmo" "$a:$port" 2>&1); then
			why="NTP query to $a port $port: $out"
			return 1
		fi
	done
	return 0
}

# bird_state: "up" if every protocol is up, "down" if every one is down,
# "mixed" or "unknown" otherwise
bird_state() {
	st=""
	for p in $protocols; do
		s=$($birdc show protocols "$p" 2>/dev/null | awk -v p="$p" '$1 == p { print $4 }')
		case $s in
		up | down) ;;
		*) s=unknown ;;
		esac
		[ -z "$st" ] && st=$s
		[ "$st" != "$s" ] && st=mixed
	done
	echo "${st:-unknown}"
}

set_bird() { # enable|disable
	ok=0
	for p in $protocols; do
		out=$($birdc "$1" "$p" 2>&1) || ok=1
		case $out in
		*"enabled"* | *"disabled"* | *"already"*) ;;
		*)
			ok=1
			log "birdc $1 $p: $out"
			;;
		esac
	done
	return $ok
}

if [ "${1:-}" = --once ]; then
	if check; then
		echo "healthy"
		exit 0
	fi
	echo "unhealthy: $why"
	exit 1
fi

want=down # announce nothing until the responder has proven itself
good=0
bad=0
round=0
stopping() {
	log "stopping: withdrawing $protocols"
	set_bird disable
	exit 0
}
trap stopping TERM INT
log "checking $healthfile${addrs:+ and $addrs port $port} every ${interval}s (withdraw after $fall, announce after $rise)"
while :; do
	if check; then
		good=$((good + 1))
		bad=0
		if [ $want = down ] && [ $good -ge "$rise" ]; then
			want=up
			log "healthy $good times in a row: announcing $protocols"
		fi
	else
		bad=$((bad + 1))
		good=0
		if [ $want = up ] && { [ $bad -ge "$fall" ] || [ -e "$drain" ]; }; then
			want=down
			log "unhealthy ($why) $bad times in a row: withdrawing $protocols"
		elif [ $bad = 1 ]; then
			log "check failed: $why"
		fi
	fi
	# ask BIRD (two birdc runs) only on a change and every $reconcile rounds
	round=$((round + 1))
	if [ "$want" != "${last_want:-}" ] || [ $round -ge "$reconcile" ]; then
		have=$(bird_state)
		round=0
	else
		have=$want
	fi
	last_want=$want
	if [ "$have" != $want ]; then
		# on failure (BIRD not running yet?) look again next round
		if [ $want = up ]; then
			set_bird enable || { log "cannot announce (BIRD state $have)"; last_want=; }
		else
			set_bird disable || { log "cannot withdraw (BIRD state $have)"; last_want=; }
		fi
	fi
	sleep "$interval" &
	wait $! # interruptible by the trap
done
