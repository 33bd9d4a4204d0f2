/*
 * fileio.c: whole-file reads and atomic replacement (see fileio.h).
 */
#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

int fileio_slurp(uint8_t *buf, size_t cap, size_t *out_len, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n = 0;

	if (fd < 0) {
		return 0;
	}
	while (len < cap && (n = read(fd, buf + len, cap - len)) > 0) {
		len += (size_t)n;
	}
	/* one more byte means the file is larger than |cap| */
	int saved = n < 0 ? errno : 0;
	uint8_t extra;
	int too_big = len == cap && read(fd, &extra, 1) > 0;
	close(fd);
	if (too_big || saved != 0) {
		errno = too_big ? EFBIG : saved;
		return 0;
	}
	*out_len = len;
	return 1;
}

void fileio_dirname(char *out, size_t out_len, const char *path)
{
	snprintf(out, out_len, "%s", path);
	char *slash = strrchr(out, '/');
	if (slash != NULL) {
		*slash = '\0';
	} else {
		snprintf(out, out_len, ".");
	}
}

/* open_temp creates a new file next to |path| under an unpredictable name
 * (|path|.tmp.<16 random hex digits>), O_EXCL|O_NOFOLLOW: a file or a
 * symlink someone planted there makes it fail, never write through it. */
static int open_temp(char *tmp, size_t tmp_len, const char *path)
{
	for (int tries = 0; tries < 8; tries++) {
		uint8_t rnd[8];
		char hex[2 * sizeof(rnd) + 1];
		randombytes_buf(rnd, sizeof(rnd));
		sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
		if ((size_t)snprintf(tmp, tmp_len, "%s.tmp.%s", path, hex) >= tmp_len) {
			errno = ENAMETOOLONG;
			return -1;
		}
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST) {
			return fd;
		}
	}
	return -1;
}

int fileio_write_atomic(const char *path, const uint8_t *data, size_t len, unsigned mode)
{
	return fileio_write_atomic_owned(path, data, len, mode, (uid_t)-1, (gid_t)-1);
}

int fileio_write_atomic_owned(const char *path, const uint8_t *data, size_t len, unsigned mode,
                              uid_t uid, gid_t gid)
{
	char tmp[4096];
	int fd, ok = 0, saved;

	fd = open_temp(tmp, sizeof(tmp), path);
	if (fd < 0) {
		return 0;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n <= 0) {
			if (n < 0 && errno == EINTR) {
				continue;
			}
			if (n == 0) {
				errno = EIO;
			}
			goto out;
		}
		off += (size_t)n;
	}
	ok = (uid == (uid_t)-1 && gid == (gid_t)-1 ? 1 : fchown(fd, uid, gid) == 0) &&
	     fchmod(fd, (mode_t)mode) == 0 && fsync(fd) == 0;
out:
	saved = errno;
	if (close(fd) != 0 && ok) {
		ok = 0;
		saved = errno;
	}
	/* rename replaces whatever is at |path|, a symlink included, and
	 * never follows it */
	if (!ok || rename(tmp, path) != 0) {
		if (ok) {
			saved = errno;
		}
		unlink(tmp);
		errno = saved;
		return 0;
	}
	/* make the rename durable */
	char dir[4096];
	fileio_dirname(dir, sizeof(dir), path);
	int dfd = open(dir[0] != '\0' ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 1;
}
