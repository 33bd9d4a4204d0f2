#!/usr/bin/env python3
"""drift.py: the man pages cannot drift from the docs and the binaries.

- Every directive in the directive tables of docs/config-ke-server.md,
  docs/config-responder.md and docs/signer.md has an `.It Ic NAME` entry in
  the matching section 5 page, and the reverse. (A separate test keeps the
  docs in step with the code's directive rows: code -> docs -> man.)
- Every option in a binary's usage output appears as `Fl ...` in its page.
Usage: drift.py SRC BUILD
"""
import re
import subprocess
import sys

src, build = sys.argv[1], sys.argv[2]
errors = []

def doc_directives(path):
    names, in_table = set(), False
    for line in open(path):
        if re.match(r"\|\s*directive\s*\|", line):
            in_table = True
            continue
        if in_table:
            if not line.startswith("|"):
                in_table = False
                continue
            m = re.match(r"\|\s*`([a-z0-9]+)", line)
            if m:
                names.add(m.group(1))
    return names

def man_directives(path):
    return set(re.findall(r"^\.It Ic ([a-z0-9]+)", open(path).read(), re.M))

for doc, page in [("docs/config-ke-server.md", "man/nts-ke-server.conf.5"),
                  ("docs/config-responder.md", "man/nts-responder.conf.5"),
                  ("docs/signer.md", "man/nts-signer.conf.5")]:
    d, m = doc_directives(src + "/" + doc), man_directives(src + "/" + page)
    if len(d) < 5:
        errors.append("%s: could not read its directive table" % doc)
    for n in sorted(d - m):
        errors.append("%s: directive %s (in %s) is missing" % (page, n, doc))
    for n in sorted(m - d):
        errors.append("%s: directive %s is not in %s" % (page, n, doc))

for binary, page in [("ke-server/nts-ke-server", "man/nts-ke-server.8"),
                     ("ntp-responder/nts-responder", "man/nts-responder.8"),
                     ("signer/nts-signer", "man/nts-signer.8"),
                     ("tools/nts-keyctl", "man/nts-keyctl.8"),
                     ("tools/nts-query", "man/nts-query.1"),
                     ("tools/nts-bench", "man/nts-bench.1")]:
    r = subprocess.run([build + "/" + binary, "--help"], capture_output=True, text=True)
    usage = r.stdout + r.stderr
    usage = usage[usage.find("usage:"):]
    opts = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", usage))
    if len(opts) < 3:
        errors.append("%s: no options found in its usage output" % binary)
    text = open(src + "/" + page).read()
    flags = set("-" + f for f in re.findall(r"\bFl (-?[a-z][a-z-]*)", text))
    for o in sorted(opts - flags):
        errors.append("%s: option %s of %s is not documented" % (page, o, binary))
    # subcommands
    for cmd in re.findall(r"^\s*(?:usage: )?\S*nts-\w+ +([a-z]+)\b", usage, re.M):
        if not re.search(r"^\.(?:It )?Cm %s\b" % cmd, text, re.M):
            errors.append("%s: command %s is not documented" % (page, cmd))

for e in errors:
    print(e)
sys.exit(1 if errors else 0)
