#!/bin/sh
# nts-rotate.sh: what cron runs on the key host. Rotates the master key
# generation when due (idempotent), exports exactly what each role needs,
# and pushes each host its file. Logs every step (to syslog via logger
# when available, and to stderr) and exits non-zero if any host could not
# be updated, so cron reports it.
#
# Settings (environment, or a file named by NTS_ROTATE_CONF, default
# /etc/nts/rotate.conf, sourced if it exists):
#   NTS_KEYDIR             key host state directory      (/var/lib/nts/keyhost)
#   NTS_KE_HOSTS           KE server hosts, space separated
#   NTS_RESPONDER_HOSTS    responder hosts, space separated
#   NTS_KE_DEST            path of the key file on KE hosts        (/etc/nts/ke.keys)
#   NTS_RESPONDER_DEST     path of the key file on responders      (/etc/nts/responder.keys)
#   NTS_PUSH               rsync (default: rsync over ssh) or copy (each "host"
#                          is a local directory; for tests and shared storage)
#   NTS_SSH                ssh command for rsync                   (ssh -oBatchMode=yes)
#                          connect and keep-alive time-outs are appended
#                          (ConnectTimeout=10, ServerAliveInterval=15,
#                          ServerAliveCountMax=3; options given in NTS_SSH
#                          come first and win)
#   NTS_RSYNC_TIMEOUT      rsync --timeout: seconds without I/O    (60)
#   NTS_LOCK_TIMEOUT       seconds to wait for an earlier run that (300)
#                          still holds $NTS_KEYDIR/rotate.lock; then this
#                          run fails and says so (runs never overlap)
#   NTS_LEAD, NTS_EVERY    rotation lead and interval in epochs    (2, 24)
#   NTS_KEYCTL             path of nts-keyctl                      (nts-keyctl)
#   NTS_NOW                pretend time (unix seconds), for tests
# A host whose sealing public key exists at $NTS_KEYDIR/hosts/HOST.pub gets
# its file sealed to it (nts-keyctl genbox on that host makes the pair).
set -u
conf=${NTS_ROTATE_CONF:-/etc/nts/rotate.conf}
# shellcheck disable=SC1090
[ -r "$conf" ] && . "$conf"
keydir=${NTS_KEYDIR:-/var/lib/nts/keyhost}
keyctl=${NTS_KEYCTL:-nts-keyctl}
push=${NTS_PUSH:-rsync}
ssh_cmd="${NTS_SSH:-ssh -oBatchMode=yes} -oConnectTimeout=10 -oServerAliveInterval=15 -oServerAliveCountMax=3"
rsync_timeout=${NTS_RSYNC_TIMEOUT:-60}
now_opt=""
[ -n "${NTS_NOW:-}" ] && now_opt="--now $NTS_NOW"

log() {
	echo "nts-rotate: $*" >&2
	command -v logger >/dev/null 2>&1 && logger -t nts-rotate -- "$*" 2>/dev/null
	return 0
}

# one run at a time: an hourly run that finds the previous one still
# pushing waits for it, within bounds (every push has time-outs too). The
# lock is on fd 9, closed for every command run below, so nothing the run
# leaves behind (an ssh master, say) can hold it.
if ! exec 9>>"$keydir/rotate.lock"; then
	log "cannot open $keydir/rotate.lock"
	exit 1
fi
if ! flock -w "${NTS_LOCK_TIMEOUT:-300}" 9; then
	log "another nts-rotate run still holds $keydir/rotate.lock after ${NTS_LOCK_TIMEOUT:-300} s; giving up"
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/nts-rotate.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
umask 077

# shellcheck disable=SC2086
if ! out=$($keyctl rotate --dir "$keydir" --lead "${NTS_LEAD:-2}" --every "${NTS_EVERY:-24}" $now_opt 2>&1 9>&-); then
	log "rotate failed: $out"
	exit 1
fi
log "$out"

failed=0
deliver() { # role host dest
	role=$1 host=$2 dest=$3
	file=$work/$role-$(echo "$host" | tr '/:' '__').keys
	seal=""
	hostpub=$keydir/hosts/$(basename "$host").pub
	[ -f "$hostpub" ] && seal="--seal-to $hostpub"
	# shellcheck disable=SC2086
	if ! out=$($keyctl export --dir "$keydir" --role "$role" --out "$file" $seal $now_opt 2>&1 9>&-); then
		log "export for $host failed: $out"
		failed=1
		return
	fi
	case $push in
	copy)
		# "host" is a directory; write next to the target, then rename
		if mkdir -p "$host/$(dirname "$dest")" && cp "$file" "$host/$dest.new" &&
			chmod 600 "$host/$dest.new" && mv -f "$host/$dest.new" "$host/$dest"; then
			log "pushed $role keys to $host:$dest${seal:+ (sealed)}"
		else
			log "push to $host failed"
			failed=1
		fi
		;;
	rsync)
		# rsync writes a temporary file and renames it into place
		if rsync -q --timeout="$rsync_timeout" --chmod=F600 -e "$ssh_cmd" "$file" "$host:$dest" 9>&-; then
			log "pushed $role keys to $host:$dest${seal:+ (sealed)}"
		else
			log "push to $host failed (rsync exit $?)"
			failed=1
		fi
		;;
	*)
		log "unknown NTS_PUSH=$push"
		failed=1
		;;
	esac
}

for h in ${NTS_KE_HOSTS:-}; do
	deliver ke "$h" "${NTS_KE_DEST:-/etc/nts/ke.keys}"
done
for h in ${NTS_RESPONDER_HOSTS:-}; do
	deliver responder "$h" "${NTS_RESPONDER_DEST:-/etc/nts/responder.keys}"
done
[ $failed = 0 ] && log "done" || log "finished with failures"
exit $failed
