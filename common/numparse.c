/*
 * numparse.c: strict decimal numbers for command-line options.
 */
#include "common/numparse.h"

#include <errno.h>
#include <stdlib.h>

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* digits reports whether |s| is one or more decimal digits and nothing else. */
static int digits(const char *s)
{
	if (*s == '\0') {
		return 0;
	}
	for (; *s != '\0'; s++) {
		if (!is_digit(*s)) {
			return 0;
		}
	}
	return 1;
}

int num_parse_i64(int64_t *out, const char *s, int64_t lo, int64_t hi)
{
	if (!digits(s[0] == '-' ? s + 1 : s)) {
		return 0;
	}
	errno = 0;
	long long v = strtoll(s, NULL, 10);
	if (errno != 0 || v < lo || v > hi) {
		return 0;
	}
	*out = (int64_t)v;
	return 1;
}

int num_parse_int(int *out, const char *s, int lo, int hi)
{
	int64_t v;
	if (!num_parse_i64(&v, s, lo, hi)) {
		return 0;
	}
	*out = (int)v;
	return 1;
}

int num_parse_u64(uint64_t *out, const char *s, uint64_t lo, uint64_t hi)
{
	if (!digits(s)) {
		return 0;
	}
	errno = 0;
	unsigned long long v = strtoull(s, NULL, 10);
	if (errno != 0 || v < lo || v > hi) {
		return 0;
	}
	*out = (uint64_t)v;
	return 1;
}

int num_parse_double(double *out, const char *s, double lo, double hi)
{
	const char *p = s[0] == '-' ? s + 1 : s;
	if (!is_digit(*p)) {
		return 0;
	}
	while (is_digit(*p)) {
		p++;
	}
	if (*p == '.') {
		p++;
		if (!digits(p)) {
			return 0;
		}
	} else if (*p != '\0') {
		return 0;
	}
	errno = 0;
	double v = strtod(s, NULL);
	/* ERANGE: overflow to HUGE_VAL or underflow; "v >= lo" is false for NaN */
	if (errno != 0 || !(v >= lo && v <= hi)) {
		return 0;
	}
	*out = v;
	return 1;
}
