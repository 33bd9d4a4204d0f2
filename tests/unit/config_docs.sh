#!/bin/sh
# config_docs: every directive a daemon accepts (its rows, listed by the
# hidden --list-directives option) is in the directive table of its doc, and
# every directive there is accepted; for nts-ke-server and nts-responder the
# table's reload column says what the row says.
set -eu
: "${BUILD:?}" "${SRC:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# doc_rows DOC RELOAD_COLUMN: "NAME RELOAD" (or "NAME") for each row of the
# tables whose header starts with "| directive |" (NAME: the first word in
# backticks; RELOAD: the first word of that column)
doc_rows() {
	awk -v col="$2" '
		/^\| directive \|/ { intable = 1; next }
		intable && /^\| ---/ { next }
		intable && !/^\|/ { intable = 0 }
		intable {
			n = split($0, f, "|")
			if (!match(f[2], /`[a-z0-9]+/)) {
				next
			}
			name = substr(f[2], RSTART + 1, RLENGTH - 1)
			reload = ""
			if (col > 0) {
				reload = f[col + 1]
				gsub(/^ +| +$/, "", reload)
				split(reload, w, " ")
				reload = " " w[1]
			}
			print name reload
		}' "$1" | sort -u
}

check() { # NAME BINARY DOC RELOAD_COLUMN
	"$BUILD/$2" --list-directives | if [ "$4" -gt 0 ]; then cat; else cut -d' ' -f1; fi |
		sort -u >"$tmp/$1.code"
	doc_rows "$SRC/$3" "$4" >"$tmp/$1.doc"
	if ! diff -u "$tmp/$1.code" "$tmp/$1.doc" >"$tmp/$1.diff"; then
		echo "FAIL: $1: the directive rows (-) and $3 (+) differ:"
		cat "$tmp/$1.diff"
		fail=1
	else
		echo "ok: $1: $(wc -l <"$tmp/$1.code") directives match $3"
	fi
}

check ke-server ke-server/nts-ke-server docs/config-ke-server.md 3
check responder ntp-responder/nts-responder docs/config-responder.md 3
check signer signer/nts-signer docs/signer.md 0
# the two that were once missing from the docs
for d in signerdeadline seccomp; do
	grep -q "^$d " "$tmp/ke-server.doc" || { echo "FAIL: $d not in docs/config-ke-server.md"; fail=1; }
done
exit $fail
