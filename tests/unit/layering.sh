#!/bin/sh
# layering.sh: common/ is the layer below proto/ and must not include it.
# Fails, naming each line, on any #include "proto/..." under common/.
set -u
src=${SRC:-$(dirname "$0")/../..}
if [ ! -d "$src/common" ]; then
	echo "layering.sh: no common/ under $src" >&2
	exit 1
fi
hits=$(grep -rn '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]proto/' "$src/common")
if [ -n "$hits" ]; then
	echo "common/ includes proto/ (common is the lower layer):" >&2
	echo "$hits" >&2
	exit 1
fi
echo "common/: no proto/ includes in $(ls "$src"/common/*.[ch] | wc -l) files"
