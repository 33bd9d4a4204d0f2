/*
 * keywatch.h: the daemons' key-file glue on the libuv control loop: load at
 * start, reload when the file changes on disk (libuv fs events on its
 * directory, so atomic renames are seen) and on request (SIGHUP), advance
 * the ratchet every second, and log each loaded generation's fingerprint.
 */
#ifndef NTS_KEYWATCH_H
#define NTS_KEYWATCH_H

#include <uv.h>

#include "common/compiler.h"
#include "common/keyring.h"

struct keywatch {
	struct keyring_holder *holder;
	struct keyfile_trust trust; /* its secret in guarded memory */
	char path[1024];
	char pub_path[1024];
	char box_path[1024]; /* empty: no sealing key */
	int trust_warned;    /* the last re-read of the trust files failed */
	char dir[1024];
	char base[256];
	uv_fs_event_t fsev;
	uv_timer_t debounce;
	uv_timer_t tick;
	int started;
};

/* keywatch_start loads |path| once (a failure is logged; the daemon then
 * runs without keys, failing closed) and starts watching. Returns 0 only
 * if the trust files cannot be read. */
int keywatch_start(struct keywatch *kw, uv_loop_t *loop, struct keyring_holder *holder,
                   const char *path, const char *pub_path, const char *box_path);

/* keywatch_reload reloads now (SIGHUP). Every load (this, or the file
 * changing on disk) reads deployment.pub and the sealing key again first,
 * so a replaced host.box or deployment.pub needs no restart; if they
 * cannot be read, the ones in use stay and the failure is logged. */
void keywatch_reload(struct keywatch *kw);

void keywatch_stop(struct keywatch *kw);

/* keywatch_check loads |path| once as a daemon would (for --check): the
 * trust files, signature, role and validity window. Returns 0 with
 * |*out_err| set. Needs smem_init. */
int keywatch_check(const char *path, const char *pub_path, const char *box_path, int expected_role,
                   const char **out_err) NTS_WUR;

#endif
