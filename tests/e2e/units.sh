# units.sh: the systemd units in deploy/systemd pass `systemd-analyze
# verify` (executables replaced by /bin/true and man: Documentation lines,
# which verify runs man(1) on, left out, since nothing is installed)
# and keep a low `systemd-analyze security` exposure score.
set -eu
: "${SRC:?}"
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
for f in "$SRC"/deploy/systemd/*.service "$SRC"/deploy/systemd/*.timer; do
	sed -e 's|/usr/local/bin/nts-[a-z-]*|/bin/true|g' \
		-e 's|/usr/local/lib/nts/nts-[a-z-]*\.sh|/bin/true|g' -e '/^Documentation=man:/d' "$f" >"$T/${f##*/}"
done
if ! out=$(systemd-analyze verify "$T"/*.service "$T"/*.timer 2>&1) || [ -n "$out" ]; then
	echo "FAIL: systemd-analyze verify:" >&2
	echo "$out" >&2
	exit 1
fi
for u in nts-responder nts-ke-server nts-signer; do
	line=$(systemd-analyze security --offline=true "$T/$u.service" 2>&1 | tail -n 1)
	score=$(echo "$line" | sed -n 's/.*: \([0-9.]*\) .*/\1/p')
	[ -n "$score" ] || { echo "FAIL: no security score for $u: $line" >&2; exit 1; }
	awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' || { echo "FAIL: $u exposure $score > 2.5" >&2; exit 1; }
	echo "$u: exposure $score"
done
# the responder's drop-in for xdp (deploy/systemd/nts-responder.service.d,
# installed by the operator): systemd knows its capabilities, merges it
# (the report then grants BPF, network administration and netlink) and
# the unit stays verified and within the same exposure bound
d=$SRC/deploy/systemd/nts-responder.service.d/xdp.conf
mkdir -p "$T/xdp/nts-responder.service.d"
cp "$T/nts-responder.service" "$T/xdp/"
cp "$d" "$T/xdp/nts-responder.service.d/"
for c in $(sed -n 's/^\(AmbientCapabilities\|CapabilityBoundingSet\)=//p' "$d"); do
	systemd-analyze capability "$c" >/dev/null 2>&1 || { echo "FAIL: xdp.conf: systemd does not know $c" >&2; exit 1; }
done
if ! out=$(systemd-analyze verify "$T/xdp/nts-responder.service" 2>&1) || [ -n "$out" ]; then
	echo "FAIL: systemd-analyze verify with the xdp drop-in: $out" >&2
	exit 1
fi
# its commented-out lines for a PTP clock are valid settings too
mkdir -p "$T/xdp-ptp/nts-responder.service.d"
cp "$T/nts-responder.service" "$T/xdp-ptp/"
sed 's/^#\(PrivateDevices\|DeviceAllow\)=/\1=/' "$d" >"$T/xdp-ptp/nts-responder.service.d/xdp.conf"
grep -q '^DeviceAllow=' "$T/xdp-ptp/nts-responder.service.d/xdp.conf" || { echo "FAIL: xdp.conf has no PTP lines" >&2; exit 1; }
if ! out=$(systemd-analyze verify "$T/xdp-ptp/nts-responder.service" 2>&1) || [ -n "$out" ]; then
	echo "FAIL: systemd-analyze verify with the xdp drop-in's PTP lines: $out" >&2
	exit 1
fi
rep=$(systemd-analyze security --offline=true "$T/xdp/nts-responder.service" 2>&1)
for w in "CapabilityBoundingSet=~CAP_BPF .*may load BPF" "CapabilityBoundingSet=~CAP_NET_ADMIN .*has network configuration" \
	"RestrictAddressFamilies=~AF_NETLINK .*may allocate netlink"; do
	echo "$rep" | grep -q "$w" || { echo "FAIL: the xdp drop-in is not merged ($w)" >&2; exit 1; }
done
score=$(echo "$rep" | tail -n 1 | sed -n 's/.*: \([0-9.]*\) .*/\1/p')
awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' || { echo "FAIL: nts-responder with xdp.conf: exposure $score > 2.5" >&2; exit 1; }
echo "nts-responder with xdp.conf: exposure $score"
# Documentation= names files that meson install puts there (docs/*.md,
# install_subdir in meson.build, default prefix /usr/local; man/*.[158])
for f in "$SRC"/deploy/systemd/*.service; do
	for d in $(sed -n 's/^Documentation=//p' "$f"); do
		case $d in
		file:/usr/local/share/doc/nts/*) [ -f "$SRC/docs/${d##*/}" ] ||
			{ echo "FAIL: ${f##*/}: $d is not a file of docs/" >&2; exit 1; } ;;
		man:*) p=${d#man:}; [ -f "$SRC/man/${p%(*}.$(echo "$p" | tr -dc 0-9)" ] ||
			{ echo "FAIL: ${f##*/}: $d is not a page of man/" >&2; exit 1; } ;;
		*) echo "FAIL: ${f##*/}: Documentation=$d is not an installed file" >&2; exit 1 ;;
		esac
	done
done
# BIRD's control socket is out of reach of the internet-facing daemons
# (issue 12 item 5): their units hide /run/bird, none of them runs in group
# bird, and the health check that drives birdc has its own user
for u in nts-responder nts-ke-server; do
	f=$SRC/deploy/systemd/$u.service
	grep -Eq '^InaccessiblePaths=(.* )?-?/run/bird( |$)' "$f" ||
		{ echo "FAIL: $u.service has no InaccessiblePaths= covering /run/bird" >&2; exit 1; }
	! grep -Eq '^(Group|SupplementaryGroups)=.*\bbird\b' "$f" ||
		{ echo "FAIL: $u.service runs in group bird" >&2; exit 1; }
done
hc_user=$(sed -n 's/^User=//p' "$SRC/deploy/systemd/nts-health-check.service")
case $hc_user in
nts | nts-ke | "") echo "FAIL: nts-health-check.service runs as '$hc_user', a daemon's user" >&2; exit 1 ;;
esac
# and no documented step puts a daemon's user into group bird
if grep -rEn '(adduser|gpasswd -a|usermod .*-a?G) +(nts|nts-ke)( .*)? bird\b|usermod .*-a?G +bird +(nts|nts-ke)\b' \
	"$SRC/docs" "$SRC/deploy" "$SRC/README.md" >&2; then
	echo "FAIL: a documented step adds a daemon's user to group bird (above)" >&2
	exit 1
fi
echo "units: ok"
