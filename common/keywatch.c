/*
 * keywatch.c: key-file loading and reloading on a libuv loop.
 */
#include "common/keywatch.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include <sodium.h>

/* reread_trust reads the trust files again; on failure the old ones stay
 * (logged once until they can be read again). */
static void reread_trust(struct keywatch *kw)
{
	struct keyfile_trust fresh;
	const char *err;
	if (!keyfile_trust_load(&fresh, kw->pub_path, kw->box_path[0] != '\0' ? kw->box_path : NULL,
	                        &err)) {
		if (!kw->trust_warned) {
			log_warn("keys: %s (keeping the one read before)", err);
		}
		kw->trust_warned = 1;
		return;
	}
	if (kw->trust_warned) {
		log_info("keys: trust files readable again");
	}
	kw->trust_warned = 0;
	if (fresh.has_box != kw->trust.has_box ||
	    sodium_memcmp(fresh.box_pk, kw->trust.box_pk, sizeof(fresh.box_pk)) != 0 ||
	    sodium_memcmp(fresh.sign_pk, kw->trust.sign_pk, sizeof(fresh.sign_pk)) != 0 ||
	    sodium_memcmp(fresh.deployment, kw->trust.deployment, sizeof(fresh.deployment)) != 0) {
		log_info("keys: %s or %s changed; using the new one", kw->pub_path,
		         kw->box_path[0] != '\0' ? kw->box_path : "(no sealing key)");
	}
	keyfile_trust_cleanup(&kw->trust);
	kw->trust = fresh; /* the secret's guarded buffer moves with it */
}

static void load(struct keywatch *kw)
{
	const char *err;
	char desc[1024];
	if (kw->started) {
		reread_trust(kw);
	}
	if (!keyring_holder_load(kw->holder, kw->path, &kw->trust, (int64_t)time(NULL), &err)) {
		/* read errors name the file already */
		int named = strstr(err, kw->path) != NULL;
		log_err("keys: %s%s%s%s", named ? "" : kw->path, named ? "" : ": ", err,
		        keyring_holder_get(kw->holder) != NULL ? " (keeping the keys in use)" : "");
		return;
	}
	keyring_describe(keyring_holder_get(kw->holder), desc, sizeof(desc));
	log_info("keys: loaded %s: %s", kw->path, desc);
}

void keywatch_reload(struct keywatch *kw)
{
	load(kw);
}

static void on_debounce(uv_timer_t *t)
{
	load(t->data);
}

static void on_fsev(uv_fs_event_t *h, const char *filename, int events, int status)
{
	struct keywatch *kw = h->data;
	(void)events;
	if (status < 0 || filename == NULL || strcmp(filename, kw->base) != 0) {
		return;
	}
	/* editors and rsync write in steps: settle for 200 ms */
	uv_timer_start(&kw->debounce, on_debounce, 200, 0);
}

static void on_tick(uv_timer_t *t)
{
	struct keywatch *kw = t->data;
	keyring_holder_tick(kw->holder, (int64_t)time(NULL));
}

int keywatch_start(struct keywatch *kw, uv_loop_t *loop, struct keyring_holder *holder,
                   const char *path, const char *pub_path, const char *box_path)
{
	const char *err;

	kw->holder = holder;
	keyfile_note_identity();
	if (!keyfile_trust_load(&kw->trust, pub_path, box_path, &err)) {
		log_err("keys: %s", err);
		return 0;
	}
	snprintf(kw->pub_path, sizeof(kw->pub_path), "%s", pub_path);
	snprintf(kw->box_path, sizeof(kw->box_path), "%s", box_path != NULL ? box_path : "");
	snprintf(kw->path, sizeof(kw->path), "%s", path);
	snprintf(kw->dir, sizeof(kw->dir), "%s", path);
	char *slash = strrchr(kw->dir, '/');
	if (slash != NULL) {
		snprintf(kw->base, sizeof(kw->base), "%s", slash + 1);
		*slash = '\0';
		if (kw->dir[0] == '\0') {
			strcpy(kw->dir, "/");
		}
	} else {
		snprintf(kw->base, sizeof(kw->base), "%s", path);
		strcpy(kw->dir, ".");
	}
	load(kw);
	uv_timer_init(loop, &kw->debounce);
	kw->debounce.data = kw;
	uv_timer_init(loop, &kw->tick);
	kw->tick.data = kw;
	uv_timer_start(&kw->tick, on_tick, 1000, 1000);
	uv_fs_event_init(loop, &kw->fsev);
	kw->fsev.data = kw;
	if (uv_fs_event_start(&kw->fsev, on_fsev, kw->dir, 0) != 0) {
		log_warn("keys: cannot watch %s; reload with SIGHUP", kw->dir);
	}
	kw->started = 1;
	return 1;
}

void keywatch_stop(struct keywatch *kw)
{
	if (!kw->started) {
		return;
	}
	uv_fs_event_stop(&kw->fsev);
	uv_close((uv_handle_t *)&kw->fsev, NULL);
	uv_timer_stop(&kw->debounce);
	uv_close((uv_handle_t *)&kw->debounce, NULL);
	uv_timer_stop(&kw->tick);
	uv_close((uv_handle_t *)&kw->tick, NULL);
	keyfile_trust_cleanup(&kw->trust);
	kw->started = 0;
}

int keywatch_check(const char *path, const char *pub_path, const char *box_path, int expected_role,
                   const char **out_err)
{
	struct keyfile_trust trust;
	struct keyring_holder h;
	int ok = 0;

	keyfile_note_identity();
	if (!keyfile_trust_load(&trust, pub_path, box_path, out_err)) {
		goto err;
	}
	keyring_holder_init(&h, expected_role);
	ok = keyring_holder_load(&h, path, &trust, (int64_t)time(NULL), out_err);
	if (ok && !keyring_holder_get(&h)) {
		*out_err = "no keys";
		ok = 0;
	}
	if (ok) {
		struct keyring_status ks;
		keyring_status(keyring_holder_get(&h), (int64_t)time(NULL), &ks);
		if (!ks.usable) {
			*out_err = "loaded, but no key is usable now (expired or not yet active)";
			ok = 0;
		}
	}
	keyring_holder_cleanup(&h);
	keyfile_trust_cleanup(&trust);
err:
	return ok;
}
