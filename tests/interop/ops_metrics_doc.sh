# ops_metrics_doc.sh: docs/metrics.md cannot drift from the code. Scrapes
# all three daemons (the KE server keyless, so that the signer and the KE
# server's signer metrics are there too) and fails if a metric family is undocumented, documented
# with another type, documented but not exposed, or if a label value seen
# in a scrape is not listed where the documentation lists values.
. "$SRC/tests/interop/lib.sh"
NTS_KEYLESS=1
start_stack
# some traffic, so that every kind of sample has been produced once
$QUERY --ca "$T/ca.pem" localhost:$KE >/dev/null || fail "query"
python3 - "$SRC/docs/metrics.md" "$KE_METRICS" "$RESP_METRICS" "$SIGNER_METRICS" <<'PY' || fail "docs/metrics.md and the scrapes disagree"
import re, sys, urllib.request
doc, ports = sys.argv[1], sys.argv[2:]
documented = {}  # name -> (type, {label: set(values) or None})
for line in open(doc):
    m = re.match(r"\|\s*`(nts_[a-z0-9_]+)`\s*\|\s*(\w+)\s*\|([^|]*)\|", line)
    if not m:
        continue
    labels = {}
    for lm in re.finditer(r"`(\w+)`:([^;]*?)(?=(?:`\w+`:)|$)", m.group(3).strip()):
        vals = set(re.findall(r"`([^`]+)`", lm.group(2)))
        labels[lm.group(1)] = vals or None
    documented[m.group(1)] = (m.group(2), labels)
assert len(documented) > 20, "could not read the metric tables in %s" % doc
errors, seen = [], set()
for port in ports:
    body = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port, timeout=2).read().decode()
    types = {}
    for line in body.splitlines():
        m = re.match(r"# TYPE (\S+) (\S+)$", line)
        if m:
            types[m.group(1)] = m.group(2)
            continue
        if line.startswith("#") or not line:
            continue
        m = re.match(r"([a-z0-9_]+)(?:\{(.*)\})? \S+$", line)
        if not m:
            errors.append("unparsable sample: %s" % line)
            continue
        name = m.group(1)
        fam = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        if fam not in types:
            errors.append("sample without a TYPE line: %s" % line)
            continue
        if fam not in documented:
            continue  # reported once below
        for k, v in re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""):
            if k == "le" and types[fam] == "histogram":
                continue
            doc_labels = documented[fam][1]
            if k not in doc_labels:
                errors.append("%s: label %s not documented" % (fam, k))
            elif doc_labels[k] is not None and v not in doc_labels[k]:
                errors.append("%s: label value %s=%s not documented" % (fam, k, v))
    for fam, t in types.items():
        seen.add(fam)
        if fam not in documented:
            errors.append("%s (%s) is not in docs/metrics.md" % (fam, t))
        elif documented[fam][0] != t:
            errors.append("%s is a %s, documented as %s" % (fam, t, documented[fam][0]))
for fam in sorted(set(documented) - seen):
    errors.append("%s is documented but no daemon exposes it" % fam)
if errors:
    print("\n".join(errors))
    sys.exit(1)
print("%d metric families documented and exposed" % len(seen))
PY
echo "ops_metrics_doc: ok"
