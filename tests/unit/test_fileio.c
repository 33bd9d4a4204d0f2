/* test_fileio.c: whole-file reads at the size edge, atomic replacement,
 * the directory part of a path. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"

#include "tests/unit/testutil.h"

static void dirname_is(const char *path, const char *want)
{
	char out[64];
	fileio_dirname(out, sizeof(out), path);
	CHECK_STR_EQ(out, want);
}

int main(void)
{
	char dir[] = "/tmp/test_fileio.XXXXXX", path[128];
	uint8_t data[64], buf[64];
	size_t len = 0;
	struct stat st;

	dirname_is("a/b/c", "a/b");
	dirname_is("c", ".");
	dirname_is("/c", "");
	dirname_is("a/", "a");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/f", dir);
	for (size_t i = 0; i < sizeof(data); i++) {
		data[i] = (uint8_t)i;
	}
	CHECK(fileio_write_atomic(path, data, 32, 0640));
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
	/* exactly |cap| bytes: read; one more: EFBIG */
	CHECK(fileio_slurp(buf, 32, &len, path));
	CHECK_EQ(len, 32);
	CHECK(memcmp(buf, data, 32) == 0);
	errno = 0;
	CHECK(!fileio_slurp(buf, 31, &len, path));
	CHECK_EQ(errno, EFBIG);
	/* replaced whole; an empty file reads as 0 bytes */
	CHECK(fileio_write_atomic(path, data, 0, 0600));
	CHECK(fileio_slurp(buf, sizeof(buf), &len, path));
	CHECK_EQ(len, 0);
	CHECK(unlink(path) == 0);
	errno = 0;
	CHECK(!fileio_slurp(buf, sizeof(buf), &len, path));
	CHECK_EQ(errno, ENOENT);
	CHECK(rmdir(dir) == 0); /* no temporary file left behind */
	return test_summary("fileio");
}
