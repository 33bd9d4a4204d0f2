#!/bin/sh
# hardening.sh: every installed binary is built the way Debian builds
# daemons: PIE, full RELRO (a GNU_RELRO segment and BIND_NOW), the stack
# protector, and _FORTIFY_SOURCE in an optimizing build. Needs BUILD and
# OPTIMIZATION (meson's optimization option) and SANITIZE (b_sanitize).
set -eu
: "${BUILD:?}"
command -v readelf >/dev/null || { echo "SKIP: no readelf"; exit 77; }
fortify=1
case "${OPTIMIZATION:-0}" in
0 | plain)
	# glibc's _FORTIFY_SOURCE does nothing without optimization (and warns),
	# so the build leaves it out: nothing to check.
	echo "note: no _FORTIFY_SOURCE check: this build does not optimize (-O${OPTIMIZATION:-0})"
	fortify=0
	;;
esac
if [ "${SANITIZE:-none}" != none ]; then
	# The sanitizers intercept the same calls; the build leaves FORTIFY out.
	echo "note: no _FORTIFY_SOURCE check: sanitized build ($SANITIZE)"
	fortify=0
fi
bad=0
no() {
	echo "FAIL: $1: $2" >&2
	bad=1
	this=1
}
for b in ke-server/nts-ke-server ntp-responder/nts-responder signer/nts-signer \
	tools/nts-keyctl tools/nts-query tools/nts-bench; do
	f=$BUILD/$b
	this=0
	[ -f "$f" ] || { no "$b" "not built"; continue; }
	readelf -h "$f" | grep -Eq 'Type: +DYN' || no "$b" "not PIE (ELF type is not DYN)"
	readelf -lW "$f" | grep -q GNU_RELRO || no "$b" "no GNU_RELRO segment (-Wl,-z,relro)"
	readelf -dW "$f" | grep -Eq '\(BIND_NOW\)|\(FLAGS_1\).*NOW' ||
		no "$b" "no BIND_NOW (-Wl,-z,now)"
	syms=$(readelf -W --dyn-syms "$f")
	echo "$syms" | grep -q '__stack_chk_fail' ||
		no "$b" "__stack_chk_fail not referenced (-fstack-protector-strong)"
	if [ $fortify = 1 ]; then
		echo "$syms" | grep -Eq ' __[a-z_]+_chk(@|$)' ||
			no "$b" "no fortified _chk function (-D_FORTIFY_SOURCE=2)"
	fi
	[ $this = 0 ] && echo "ok: $b"
done
exit $bad
