/*
 * version.h: the build's version string (git describe at build time, or the
 * meson project version), for --version and the build_info metric.
 */
#ifndef NTS_COMMON_VERSION_H
#define NTS_COMMON_VERSION_H

/* nts_version is e.g. "0.1.0-123-gabcdef" or "0.1.0". */
extern const char nts_version[];

/* version_handle_arg prints "NAME VERSION" and exits 0 if --version is among
 * the options of |argv| (before any "--"); otherwise it returns. */
void version_handle_arg(int argc, char **argv, const char *name);

struct metrics_buf;

/* version_metric writes the gauge |family| (e.g. "nts_ke_build_info") with
 * the value 1 and the label version="VERSION". */
void version_metric(struct metrics_buf *b, const char *family);

#endif
