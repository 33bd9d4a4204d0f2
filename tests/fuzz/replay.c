/*
 * replay.c: main() for fuzz targets built without libFuzzer. Feeds every
 * file of each directory (or each file) named on the command line to
 * LLVMFuzzerTestOneInput once, so the checked-in corpora run in every build.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;
	int ret = 0;

	if (f == NULL) {
		perror(path);
		return 0;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		goto err;
	}
	/* A heap copy of exactly the input's size lets ASan see overreads. */
	buf = malloc(len > 0 ? (size_t)len : 1);
	if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		goto err;
	}
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	ret = 1;
err:
	if (!ret) {
		fprintf(stderr, "replay: cannot read %s\n", path);
	}
	free(buf);
	fclose(f);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned long n = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (!run_file(argv[i])) {
				return 1;
			}
			n++;
			continue;
		}
		DIR *d = opendir(argv[i]);
		if (d == NULL) {
			perror(argv[i]);
			return 1;
		}
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			char path[4096];
			if (de->d_name[0] == '.') {
				continue;
			}
			snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
			if (!run_file(path)) {
				closedir(d);
				return 1;
			}
			n++;
		}
		closedir(d);
	}
	printf("replayed %lu inputs\n", n);
	return n > 0 ? 0 : 1;
}
