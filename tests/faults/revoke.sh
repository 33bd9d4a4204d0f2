# revoke.sh: immediate revocation under load (issue 16). A loop of full
# nts-query runs (NTS-KE, then an NTS query) and a loop of plain NTP queries
# run against a KE server and a responder; the key host revokes the
# generation that mints now (nts-keyctl revoke: a new generation replaces it
# from the current epoch), exports both roles and pushes them (responder
# first, then KE server; the daemons reload on the file change). Checks:
# - a session saved before the revocation is NAKed after the push;
# - the KE server mints with the new generation and new sessions work;
# - the load loop never sees an NTS-KE failure, only NAKs while the files
#   travel (a client holding old cookies), and nothing but successes once
#   both daemons have loaded them; plain NTP never fails;
# - nts-keyctl refuses an unknown generation.
. "$SRC/tests/interop/lib.sh"
start_stack
[ "$(metric $KE_METRICS '^nts_ke_key_generation ')" = 0 ] || fail "KE server does not mint with generation 0"

$QUERY --ca "$T/ca.pem" --save "$T/old.session" localhost:$KE >/dev/null || fail "first session"
$QUERY --load "$T/old.session" --ntp 127.0.0.1:$NTP >/dev/null || fail "saved session before the revocation"

# load: full sessions and plain queries, one exit status per line
: >"$T/nts.rc"
: >"$T/plain.rc"
(while [ ! -e "$T/stop" ]; do
	rc=0
	$QUERY --ca "$T/ca.pem" --count 1 --timeout 2 localhost:$KE >/dev/null 2>&1 || rc=$?
	echo $rc >>"$T/nts.rc"
done) &
PIDS="$PIDS $!"
(while [ ! -e "$T/stop" ]; do
	rc=0
	$QUERY --plain 127.0.0.1:$NTP >/dev/null 2>&1 || rc=$?
	echo $rc >>"$T/plain.rc"
done) &
PIDS="$PIDS $!"
i=0
until [ "$(wc -l <"$T/nts.rc")" -ge 5 ]; do
	i=$((i + 1)); [ $i -gt 300 ] && fail "load loop does not run"; sleep 0.1
done

$KEYCTL revoke --dir "$T/keyhost" 7 >"$T/revoke-unknown.out" 2>&1 && fail "revoke of an unknown generation succeeded"
grep -q "not kept" "$T/revoke-unknown.out" || fail "unclear message for an unknown generation: $(cat "$T/revoke-unknown.out")"
$KEYCTL revoke --dir "$T/keyhost" 0 >"$T/revoke.out" || fail "revoke"
cat "$T/revoke.out"
grep -q "generation 1 mints" "$T/revoke.out" || fail "no replacement generation announced"
resp_ok=$(metric $RESP_METRICS 'nts_responder_key_reloads_total\{result="ok"')
ke_ok=$(metric $KE_METRICS 'nts_ke_key_reloads_total\{result="ok"')
echo PUSH >>"$T/nts.rc"
$KEYCTL export --dir "$T/keyhost" --role responder --out "$T/responder.keys" >/dev/null || fail "export responder"
$KEYCTL export --dir "$T/keyhost" --role ke --out "$T/ke.keys" >/dev/null || fail "export ke"
i=0
until [ "$(metric $RESP_METRICS 'nts_responder_key_reloads_total\{result="ok"')" -gt "$resp_ok" ] &&
	[ "$(metric $KE_METRICS 'nts_ke_key_reloads_total\{result="ok"')" -gt "$ke_ok" ]; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "the daemons did not reload the pushed files"; sleep 0.1
done
[ "$(metric $KE_METRICS '^nts_ke_key_generation ')" = 1 ] || fail "KE server does not mint with generation 1"
echo SETTLED >>"$T/nts.rc"
n0=$(wc -l <"$T/nts.rc")
i=0
until [ "$(wc -l <"$T/nts.rc")" -ge $((n0 + 10)) ]; do
	i=$((i + 1)); [ $i -gt 600 ] && fail "load loop stalled after the push"; sleep 0.1
done

set +e
$QUERY --load "$T/old.session" --ntp 127.0.0.1:$NTP >"$T/old.out" 2>&1
rc=$?
set -e
[ $rc = 4 ] || fail "a session from the revoked generation got exit $rc, not a NAK (4): $(cat "$T/old.out")"
$QUERY --ca "$T/ca.pem" --count 2 localhost:$KE >/dev/null || fail "new session after the revocation"
touch "$T/stop"
sleep 0.5

python3 - "$T/nts.rc" "$T/plain.rc" <<'PY' || fail "load disturbed by the revocation"
import sys
phase, counts, bad = "before", {}, []
for line in open(sys.argv[1]):
    line = line.strip()
    if line in ("PUSH", "SETTLED"):
        phase = line.lower()
        continue
    counts.setdefault(phase, {}).setdefault(line, 0)
    counts[phase][line] += 1
    allowed = ("0", "4") if phase == "push" else ("0",)
    if line not in allowed:
        bad.append("%s: exit %s" % (phase, line))
plain = [l.strip() for l in open(sys.argv[2]) if l.strip()]
print("nts-query exits by phase:", counts)
print("plain queries: %d, failed %d" % (len(plain), sum(1 for x in plain if x != "0")))
if any(x != "0" for x in plain):
    bad.append("plain NTP failed")
if counts.get("settled", {}).get("0", 0) < 10:
    bad.append("fewer than 10 sessions after the push")
for b in sorted(set(bad)):
    print(b)
sys.exit(1 if bad else 0)
PY
echo OK
