/*
 * testutil.h: typed checks that print both operands, shared by unit tests.
 */
#ifndef NTS_TESTUTIL_H
#define NTS_TESTUTIL_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int test_failures;

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);      \
			test_failures++;                                                           \
		}                                                                                  \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                   \
		if (a_ != b_) {                                                                    \
			fprintf(stderr, "%s:%d: %s == %" PRIu64 ", expected %s == %" PRIu64 "\n",  \
			        __FILE__, __LINE__, #a, a_, #b, b_);                               \
			test_failures++;                                                           \
		}                                                                                  \
	} while (0)

#define CHECK_STR_EQ(a, b)                                                                         \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		if (strcmp(a_, b_) != 0) {                                                         \
			fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__,        \
			        __LINE__, #a, a_, b_);                                             \
			test_failures++;                                                           \
		}                                                                                  \
	} while (0)

static inline void test_hexdump(const char *what, const uint8_t *p, size_t n)
{
	fprintf(stderr, "  %s (%zu): ", what, n);
	for (size_t i = 0; i < n && i < 64; i++) {
		fprintf(stderr, "%02x", p[i]);
	}
	fprintf(stderr, "%s\n", n > 64 ? "..." : "");
}

#define CHECK_MEM(a, alen, b, blen)                                                                \
	do {                                                                                       \
		size_t al_ = (alen), bl_ = (blen);                                                 \
		if (al_ != bl_ || memcmp((a), (b), al_) != 0) {                                    \
			fprintf(stderr, "%s:%d: %s != %s\n", __FILE__, __LINE__, #a, #b);          \
			test_hexdump(#a, (a), al_);                                                \
			test_hexdump(#b, (b), bl_);                                                \
			test_failures++;                                                           \
		}                                                                                  \
	} while (0)

static inline int test_summary(const char *name)
{
	if (test_failures > 0) {
		fprintf(stderr, "%s: %d check(s) failed\n", name, test_failures);
		return 1;
	}
	printf("%s: ok\n", name);
	return 0;
}

#endif
