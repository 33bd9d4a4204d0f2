#!/bin/sh
# lint.sh: every man page is clean under mandoc -T lint at level warning
# (STYLE notes such as "referenced manual not found" depend on what is
# installed on the machine and are not counted).
set -eu
command -v mandoc >/dev/null || { echo "mandoc missing (apt-get install mandoc)"; exit 1; }
n=0
for f in "$SRC"/man/*.[158]; do
	mandoc -T lint -W warning "$f"
	n=$((n + 1))
done
[ "$n" -ge 9 ] || { echo "only $n man pages in $SRC/man"; exit 1; }
echo "$n pages lint-clean"
