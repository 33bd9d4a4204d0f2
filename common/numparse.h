/*
 * numparse.h: numbers typed by a person (command-line options), parsed
 * strictly: no empty input, no leading space or '+', no trailing bytes, no
 * overflow, and a range check. The tools turn a 0 into a usage error.
 */
#ifndef NTS_NUMPARSE_H
#define NTS_NUMPARSE_H

#include <stdint.h>

#include "common/compiler.h"

/* num_parse_i64 sets |*out| to the decimal integer |s| ("-" then digits, or
 * digits) and returns 1 if it lies in [|lo|, |hi|]; otherwise returns 0 and
 * leaves |*out| alone. */
int num_parse_i64(int64_t *out, const char *s, int64_t lo, int64_t hi) NTS_WUR;

/* num_parse_int is num_parse_i64 for an int. */
int num_parse_int(int *out, const char *s, int lo, int hi) NTS_WUR;

/* num_parse_u64 is num_parse_i64 for unsigned values (digits only). */
int num_parse_u64(uint64_t *out, const char *s, uint64_t lo, uint64_t hi) NTS_WUR;

/* num_parse_double sets |*out| to the decimal number |s| (an optional "-",
 * digits, then optionally "." and more digits: no exponent, hex, "inf" or
 * "nan") and returns 1 if it lies in [|lo|, |hi|]; otherwise returns 0. */
int num_parse_double(double *out, const char *s, double lo, double hi) NTS_WUR;

#endif
