# units.sh: the systemd units in deploy/systemd pass `systemd-analyze
# verify` (executables replaced by /bin/true, since nothing is installed)
# and keep a low `systemd-analyze security` exposure score.
set -eu
: "${SRC:?}"
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
for f in "$SRC"/deploy/systemd/*.service "$SRC"/deploy/systemd/*.timer; do
	sed -e 's|/usr/local/bin/nts-[a-z-]*|/bin/true|g' \
		-e 's|/usr/local/lib/nts/nts-[a-z-]*\.sh|/bin/true|g' "$f" >"$T/${f##*/}"
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
echo "units: ok"
