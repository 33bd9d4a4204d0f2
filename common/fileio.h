/*
 * fileio.h: general file I/O shared by the daemons and the tools: read a
 * small file whole, replace a file atomically (the key files, the health
 * file, nts-query's session file).
 */
#ifndef NTS_FILEIO_H
#define NTS_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/compiler.h"

/* fileio_slurp reads at most |cap| bytes of |path| into |buf|. On failure
 * errno says why: EFBIG if the file is larger than |cap|. */
int fileio_slurp(uint8_t *buf, size_t cap, size_t *out_len, const char *path) NTS_WUR;

/* fileio_write_atomic writes |len| bytes to |path| with mode |mode| via a
 * temporary file, fsync and rename, so readers see the old or the new
 * file, never a partial one. The temporary file has an unpredictable name
 * in the same directory and is created O_EXCL|O_NOFOLLOW, and the rename
 * replaces a symlink at |path| rather than following it, so links planted
 * by another user are never written through. On failure errno says why. */
int fileio_write_atomic(const char *path, const uint8_t *data, size_t len, unsigned mode) NTS_WUR;

/* fileio_write_atomic_owned is fileio_write_atomic that also gives the
 * file to |uid|:|gid| (before it appears under |path|); (uid_t)-1 and
 * (gid_t)-1 leave either unchanged. */
int fileio_write_atomic_owned(const char *path, const uint8_t *data, size_t len, unsigned mode,
                              uid_t uid, gid_t gid) NTS_WUR;

/* fileio_dirname writes the directory part of |path| to |out|: what comes
 * before the last '/' ("" for a file in /), "." if there is none. A |path|
 * longer than |out_len| - 1 is cut first. */
void fileio_dirname(char *out, size_t out_len, const char *path);

#endif
